/* The Trace Event Format timeline (perfetto.h). Bounded size: counters are per bucket (the
 * model's timeline and occupancy tables, percpu per bucket here), only zone-lock acquisitions
 * are single slices, and those are capped (max_slices). Timestamps are the trace's own (µs with
 * ns decimals, as the format wants), so the tracks line up with trace-cmd / perf of the run. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event-parse.h>
#include "output/perfetto.h"
#include "common/error.h"
#include "common/json_text.h"
#include "events/event.h"
#include "model/lifecycle.h"
#include "model/lock_hold.h"

/* Synthetic processes holding pcptrace's tracks: above any pid_max (2^22). */
#define PID_CPUS   1000000001
#define PID_ZONES  1000000002
#define PID_PERCPU 1000000003

struct percpu_bucket {
	uint64_t k;                 /* bucket index from the first percpu event */
	uint64_t allocs, frees, fails;
	uint64_t last_ts, outstanding;
};

struct pid_name {
	int32_t pid;
	char comm[32];
};

struct pcp_perfetto {
	struct pcp_timeline_sink sink;
	size_t max_slices;
	uint64_t bucket_ns;
	struct pcp_lock_hold_acq *acq;
	size_t nr_acq, cap_acq;
	uint64_t dropped;
	int err;
	uint64_t percpu_t0;
	int percpu_seen;
	struct percpu_bucket *pb;
	size_t nr_pb, cap_pb;
	struct pid_name *names;
	size_t nr_names;
};

static int grow(void **arr, size_t *cap, size_t elem, size_t need)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 1024;
	while (ncap < need)
		ncap *= 2;
	if (!(p = realloc(*arr, ncap * elem)))
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

static void on_acquisition(void *ctx, const struct pcp_lock_hold_acq *acq)
{
	struct pcp_perfetto *p = ctx;

	if (p->nr_acq >= p->max_slices) {
		p->dropped++;
		return;
	}
	/* amortized growth per completed acquisition, not per record */
	if (grow((void **)&p->acq, &p->cap_acq, sizeof(*p->acq), p->nr_acq + 1)) {
		p->err = PCP_ERR_NOMEM;
		p->dropped++;
		return;
	}
	p->acq[p->nr_acq++] = *acq;
}

static void on_percpu(void *ctx, const struct pcp_event *ev, uint64_t outstanding)
{
	struct pcp_perfetto *p = ctx;
	struct percpu_bucket *b;
	uint64_t k;

	if (!p->percpu_seen) {
		p->percpu_seen = 1;
		p->percpu_t0 = ev->ts_ns;
	}
	k = ev->ts_ns >= p->percpu_t0 ? (ev->ts_ns - p->percpu_t0) / p->bucket_ns : 0;
	if (!p->nr_pb || p->pb[p->nr_pb - 1].k != k) {
		if (grow((void **)&p->pb, &p->cap_pb, sizeof(*p->pb), p->nr_pb + 1)) {
			p->err = PCP_ERR_NOMEM;
			return;
		}
		memset(&p->pb[p->nr_pb], 0, sizeof(*p->pb));
		p->pb[p->nr_pb++].k = k;
	}
	b = &p->pb[p->nr_pb - 1];
	b->allocs += ev->kind == PCP_EV_PERCPU_ALLOC;
	b->frees += ev->kind == PCP_EV_PERCPU_FREE;
	b->fails += ev->kind == PCP_EV_PERCPU_FAIL;
	b->last_ts = ev->ts_ns;
	b->outstanding = outstanding;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* The comms of the tasks that took the zone locks, from the trace's cmdlines. */
static void on_names(void *ctx, struct tep_handle *tep)
{
	struct pcp_perfetto *p = ctx;
	int32_t *pids = malloc((p->nr_acq ? p->nr_acq : 1) * sizeof(*pids));
	size_t n = 0;

	if (!pids) {
		p->err = PCP_ERR_NOMEM;
		return;
	}
	for (size_t i = 0; i < p->nr_acq; i++)
		if (p->acq[i].pid >= 0)
			pids[n++] = p->acq[i].pid;
	qsort(pids, n, sizeof(*pids), cmp_i32);
	free(p->names);
	p->nr_names = 0;
	if (!(p->names = calloc(n ? n : 1, sizeof(*p->names)))) {
		p->err = PCP_ERR_NOMEM;
		free(pids);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *comm;

		if (p->nr_names && p->names[p->nr_names - 1].pid == pids[i])
			continue;
		comm = tep_is_pid_registered(tep, pids[i]) ? tep_data_comm_from_pid(tep, pids[i]) : NULL;
		p->names[p->nr_names].pid = pids[i];
		snprintf(p->names[p->nr_names].comm, sizeof(p->names[0].comm), "%s",
			 comm ? comm : (pids[i] == 0 ? "<idle>" : "<...>"));
		p->nr_names++;
	}
	free(pids);
}

int pcp_perfetto_new(size_t max_slices, uint64_t bucket_ns, struct pcp_perfetto **out)
{
	struct pcp_perfetto *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return PCP_ERR_NOMEM;
	if (!bucket_ns) {
		free(p);
		return PCP_ERR_USAGE;
	}
	p->max_slices = max_slices;
	p->bucket_ns = bucket_ns;
	p->sink = (struct pcp_timeline_sink){ .ctx = p, .acquisition = on_acquisition,
					      .percpu = on_percpu, .names = on_names };
	*out = p;
	return PCP_OK;
}

const struct pcp_timeline_sink *pcp_perfetto_sink(struct pcp_perfetto *p)
{
	return &p->sink;
}

uint64_t pcp_perfetto_dropped(const struct pcp_perfetto *p)
{
	return p->dropped;
}

void pcp_perfetto_free(struct pcp_perfetto *p)
{
	if (!p)
		return;
	free(p->acq);
	free(p->pb);
	free(p->names);
	free(p);
}

/* ---- writing ---- */

struct writer {
	FILE *fp;
	int first;
};

/* ns -> µs with the ns as decimals, exact */
static void put_us(FILE *fp, const char *key, uint64_t ns)
{
	fprintf(fp, "\"%s\":%" PRIu64 ".%03u", key, ns / 1000, (unsigned)(ns % 1000));
}

/* A JSON string of s: UTF-8 as JSON requires, a byte that does not start a valid sequence (a
 * task may name itself with any bytes) written as U+FFFD, as pcp_json_text does. */
static void put_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (size_t n; *s; s += n) {
		unsigned char c = (unsigned char)*s;

		n = pcp_utf8_len(s);
		if (!n) {
			fputs("\\ufffd", fp);
			n = 1;
		} else if (c == '"' || c == '\\') {
			fprintf(fp, "\\%c", c);
		} else if (c < 0x20) {
			fprintf(fp, "\\u%04x", c);
		} else {
			fwrite(s, 1, n, fp);
		}
	}
	fputc('"', fp);
}

static void begin(struct writer *w)
{
	fputs(w->first ? "\n" : ",\n", w->fp);
	w->first = 0;
}

static void meta_name(struct writer *w, const char *what, int64_t pid, int64_t tid, const char *name)
{
	begin(w);
	fprintf(w->fp, "{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%" PRId64 ",\"tid\":%" PRId64
		",\"args\":{\"name\":", what, pid, tid);
	put_str(w->fp, name);
	fputs("}}", w->fp);
}

static void counter(struct writer *w, int64_t pid, const char *name, const char *series,
		    uint64_t ts, int64_t value)
{
	begin(w);
	fprintf(w->fp, "{\"ph\":\"C\",\"pid\":%" PRId64 ",\"name\":", pid);
	put_str(w->fp, name);
	fputc(',', w->fp);
	put_us(w->fp, "ts", ts);
	fprintf(w->fp, ",\"args\":{\"%s\":%" PRId64 "}}", series, value);
}

/* 0 .. n-1 in cmp's order (cmp reads the rows the caller pointed its static at); NULL when out
 * of memory. */
static size_t *sorted_index(size_t n, int (*cmp)(const void *, const void *))
{
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	if (n)
		qsort(idx, n, sizeof(*idx), cmp);
	return idx;
}

/* A per-bucket counter's value at the bucket's start, and 0 one bucket later unless the series
 * goes on in the next bucket (an idle gap or its end). */
static void bucket_counter(struct writer *w, int64_t pid, const char *name, const char *series,
			   uint64_t ts, uint64_t bucket, int64_t value, int goes_on)
{
	counter(w, pid, name, series, ts, value);
	if (!goes_on)
		counter(w, pid, name, series, ts + bucket, 0);
}

static const struct pcp_timeline_row *tl_rows;

static int cmp_tl(const void *a, const void *b)
{
	const struct pcp_timeline_row *x = &tl_rows[*(const size_t *)a], *y = &tl_rows[*(const size_t *)b];

	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return (x->bucket_start_ns > y->bucket_start_ns) - (x->bucket_start_ns < y->bucket_start_ns);
}

/* Per CPU: refill and drain pages per bucket, at the bucket's start, 0 after an idle gap. */
static int write_flow_counters(struct writer *w, const struct pcp_analysis *a)
{
	const struct pcp_churn_results *c = a->churn;
	uint64_t bucket = a->opts.bucket_ns;
	size_t *idx;
	char name[64];

	tl_rows = c->timeline;
	if (!(idx = sorted_index(c->nr_timeline, cmp_tl)))
		return PCP_ERR_NOMEM;
	for (int kind = 0; kind < 2; kind++) {
		for (size_t i = 0; i < c->nr_timeline; i++) {
			const struct pcp_timeline_row *r = &c->timeline[idx[i]];
			const struct pcp_timeline_row *next = i + 1 < c->nr_timeline ? &c->timeline[idx[i + 1]] : NULL;

			snprintf(name, sizeof(name), "cpu%u %s", r->cpu, kind ? "drain" : "refill");
			bucket_counter(w, PID_CPUS, name, "pages", c->first_ts_ns + r->bucket_start_ns, bucket,
				       (int64_t)(kind ? r->drain_pages : r->refill_pages),
				       next && next->cpu == r->cpu &&
				       next->bucket_start_ns == r->bucket_start_ns + bucket);
		}
	}
	free(idx);
	return PCP_OK;
}

static const struct pcp_zone_timeline_row *zt_rows;

static int cmp_zt(const void *a, const void *b)
{
	const struct pcp_zone_timeline_row *x = &zt_rows[*(const size_t *)a];
	const struct pcp_zone_timeline_row *y = &zt_rows[*(const size_t *)b];

	if (x->nid != y->nid)
		return x->nid < y->nid ? -1 : 1;
	if (x->zid != y->zid)
		return x->zid < y->zid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->bucket_start_ns > y->bucket_start_ns) - (x->bucket_start_ns < y->bucket_start_ns);
}

/* Per zone and kind: acquisitions per bucket (zone_lock_timeline), at the bucket's start, 0
 * after an idle gap; complete even when the slices are capped. */
static int write_zone_counters(struct writer *w, const struct pcp_analysis *a)
{
	const struct pcp_churn_results *c = a->churn;
	uint64_t bucket = a->opts.bucket_ns;
	size_t n = c->nr_zone_timeline, *idx;
	char name[96];

	zt_rows = c->zone_timeline;
	if (!(idx = sorted_index(n, cmp_zt)))
		return PCP_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pcp_zone_timeline_row *r = &c->zone_timeline[idx[i]];
		const struct pcp_zone_timeline_row *next = i + 1 < n ? &c->zone_timeline[idx[i + 1]] : NULL;

		if (r->nid < 0)
			snprintf(name, sizeof(name), "zone->lock zone ? %s per bucket",
				 r->kind == PCP_LOCK_KIND_REFILL ? "refill" : "drain");
		else
			snprintf(name, sizeof(name), "zone->lock node%d zone%d %s per bucket", r->nid, r->zid,
				 r->kind == PCP_LOCK_KIND_REFILL ? "refill" : "drain");
		bucket_counter(w, PID_ZONES, name, "acquisitions", c->first_ts_ns + r->bucket_start_ns,
			       bucket, (int64_t)r->acquisitions,
			       next && next->nid == r->nid && next->zid == r->zid && next->kind == r->kind &&
			       next->bucket_start_ns == r->bucket_start_ns + bucket);
	}
	free(idx);
	return PCP_OK;
}

static const struct pcp_lc_occ_row *occ_rows;

static int cmp_occ(const void *a, const void *b)
{
	const struct pcp_lc_occ_row *x = &occ_rows[*(const size_t *)a], *y = &occ_rows[*(const size_t *)b];

	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return (x->bucket_start_ns > y->bucket_start_ns) - (x->bucket_start_ns < y->bucket_start_ns);
}

/* Per CPU: pages on its PCP lists, the start level, then the level at each changed bucket's
 * end (lifecycle_occupancy.occ_end), when the lifecycle model ran. */
static int write_occupancy(struct writer *w, const struct pcp_analysis *a)
{
	const struct pcp_lifecycle_results *lr = a->lifecycle;
	uint64_t bucket = a->opts.bucket_ns;
	size_t *idx;
	char name[64];

	if (!lr)
		return PCP_OK;
	occ_rows = lr->occ_timeline;
	if (!(idx = sorted_index(lr->nr_occ_timeline, cmp_occ)))
		return PCP_ERR_NOMEM;
	for (uint32_t cpu = 0; cpu < lr->nr_cpus; cpu++) {
		snprintf(name, sizeof(name), "cpu%u occupancy", cpu);
		counter(w, PID_CPUS, name, "pages", lr->first_ts_ns, lr->cpu_flow[cpu].occ_start);
	}
	for (size_t i = 0; i < lr->nr_occ_timeline; i++) {
		const struct pcp_lc_occ_row *r = &lr->occ_timeline[idx[i]];
		uint64_t end = lr->first_ts_ns + r->bucket_start_ns + bucket;

		snprintf(name, sizeof(name), "cpu%u occupancy", r->cpu);
		counter(w, PID_CPUS, name, "pages", end < lr->last_ts_ns ? end : lr->last_ts_ns, r->occ_end);
	}
	free(idx);
	return PCP_OK;
}

/* percpu: allocations, frees and fails per bucket (at its start), outstanding bytes at each
 * bucket's last operation. */
static void write_percpu(struct writer *w, const struct pcp_perfetto *p)
{
	static const char *const names[3] = { "percpu allocs", "percpu frees", "percpu fails" };

	for (int s = 0; s < 3; s++) {
		for (size_t i = 0; i < p->nr_pb; i++) {
			const struct percpu_bucket *b = &p->pb[i];
			uint64_t v = s == 0 ? b->allocs : s == 1 ? b->frees : b->fails;
			uint64_t ts = p->percpu_t0 + b->k * p->bucket_ns;

			counter(w, PID_PERCPU, names[s], "ops", ts, (int64_t)v);
			if (i + 1 == p->nr_pb || p->pb[i + 1].k != b->k + 1)
				counter(w, PID_PERCPU, names[s], "ops", ts + p->bucket_ns, 0);
		}
	}
	for (size_t i = 0; i < p->nr_pb; i++)
		counter(w, PID_PERCPU, "percpu outstanding", "bytes", p->pb[i].last_ts,
			(int64_t)p->pb[i].outstanding);
}

struct track {
	int32_t nid, zid;
	int kind;
	size_t nr_lanes;
	uint64_t lane_end[64];
};

static int acq_track_cmp(const struct pcp_lock_hold_acq *x, const struct pcp_lock_hold_acq *y)
{
	if (x->nid != y->nid)
		return x->nid < y->nid ? -1 : 1;
	if (x->zid != y->zid)
		return x->zid < y->zid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return 0;
}

static int cmp_acq(const void *a, const void *b)
{
	const struct pcp_lock_hold_acq *x = a, *y = b;
	int t = acq_track_cmp(x, y);

	if (t)
		return t;
	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	return (x->cpu > y->cpu) - (x->cpu < y->cpu);
}

static const char *comm_of(const struct pcp_perfetto *p, int32_t pid)
{
	size_t lo = 0, hi = p->nr_names;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->names[mid].pid == pid)
			return p->names[mid].comm;
		if (p->names[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "";
}

static void track_name(char *buf, size_t len, const struct pcp_lock_hold_acq *q, size_t lane)
{
	char zone[48];

	if (q->nid < 0)
		snprintf(zone, sizeof(zone), "zone ?");
	else
		snprintf(zone, sizeof(zone), "node%d zone%d", q->nid, q->zid);
	if (lane)
		snprintf(buf, len, "zone->lock %s %s (overlap %zu)", zone,
			 q->kind == PCP_LOCK_KIND_REFILL ? "refill" : "drain", lane);
	else
		snprintf(buf, len, "zone->lock %s %s", zone, q->kind == PCP_LOCK_KIND_REFILL ? "refill" : "drain");
}

/* One thread per (zone, kind): its acquisitions as complete slices, in start order. A slice
 * that starts before the previous one ended (measured holds of one lock can overlap: inferred
 * starts, clocks of two CPUs) goes to the first overlap lane free at its start. */
static int write_slices(struct writer *w, struct pcp_perfetto *p)
{
	struct track t = { 0 };
	int64_t tid_base = 0;
	char name[160];

	if (p->nr_acq)   /* no acquisitions: acq is NULL, which qsort must not get (UBSan) */
		qsort(p->acq, p->nr_acq, sizeof(*p->acq), cmp_acq);
	for (size_t i = 0; i < p->nr_acq; i++) {
		const struct pcp_lock_hold_acq *q = &p->acq[i];
		size_t lane;

		if (i == 0 || acq_track_cmp(q, &p->acq[i - 1])) {
			tid_base += 64;
			memset(&t, 0, sizeof(t));
		}
		for (lane = 0; lane < t.nr_lanes && t.lane_end[lane] > q->ts_ns; lane++)
			;
		if (lane == 64)
			lane = 63;      /* 64 overlapping holds: a damaged clock; keep the last lane */
		if (lane == t.nr_lanes) {
			t.nr_lanes++;
			track_name(name, sizeof(name), q, lane);
			meta_name(w, "thread_name", PID_ZONES, tid_base + (int64_t)lane, name);
		}
		t.lane_end[lane] = q->ts_ns + q->hold_ns;
		begin(w);
		fprintf(w->fp, "{\"ph\":\"X\",\"cat\":\"zone_lock\",\"name\":\"%s\",\"pid\":%d,\"tid\":%" PRId64 ",",
			q->kind == PCP_LOCK_KIND_REFILL ? "refill" : "drain", PID_ZONES, tid_base + (int64_t)lane);
		put_us(w->fp, "ts", q->ts_ns);
		fputc(',', w->fp);
		put_us(w->fp, "dur", q->hold_ns);
		fprintf(w->fp, ",\"args\":{\"cpu\":%u,\"pid\":%d,\"comm\":", q->cpu, q->pid);
		put_str(w->fp, comm_of(p, q->pid));
		fprintf(w->fp, ",\"blocks\":%" PRIu64 ",\"pages\":%" PRIu64 ",\"nid\":%d,\"zid\":%d}}",
			q->blocks, q->pages, q->nid, q->zid);
	}
	return PCP_OK;
}

static void write_other_data(FILE *fp, const struct pcp_perfetto *p, const struct pcp_analysis *a)
{
	fputs("\"otherData\":{\"producer\":\"pcptrace " PCPTRACE_VERSION "\",\"trace_file\":", fp);
	put_str(fp, a->trace_file ? a->trace_file : "");
	fputs(",\"trace_clock\":", fp);
	put_str(fp, a->trace_clock ? a->trace_clock : "unknown");
	fputs(",\"filter\":", fp);
	put_str(fp, a->filter ? a->filter : "none");
	fprintf(fp, ",\"bucket_ns\":%" PRIu64 ",\"lock_source\":\"%s\",\"zone_lock_slices\":%zu,"
		"\"zone_lock_slices_dropped\":%" PRIu64 ",\"max_slices\":%zu", a->opts.bucket_ns,
		pcp_lock_source_name(a->lock_source), p->nr_acq, p->dropped, p->max_slices);
	if (p->dropped)
		fprintf(fp, ",\"note\":\"zone-lock slices capped at %zu (--perfetto-max-slices): the %"
			PRIu64 " acquisitions completed later are not drawn; the counters are complete\"",
			p->max_slices, p->dropped);
	fputs("}", fp);
}

int pcp_perfetto_prepare(struct pcp_outfile *out, const char *path, const struct pcp_perfetto *pc,
			 const struct pcp_analysis *a, char *errbuf, size_t errlen)
{
	struct pcp_perfetto *p = (struct pcp_perfetto *)pc;   /* sorted in place */
	struct writer w = { .first = 1 };
	int fd, err = p->err;

	if (err)
		return pcp_errorf(errbuf, errlen, err, "%s", pcp_strerror(err));
	if ((err = pcp_outfile_open(out, path, errbuf, errlen)))
		return err;
	if ((fd = dup(out->fd)) < 0 || !(w.fp = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		pcp_errorf(errbuf, errlen, PCP_ERR_IO, "%s", strerror(errno));
		pcp_outfile_abort(out);
		return PCP_ERR_IO;
	}
	fputs("{\"displayTimeUnit\":\"ns\",\n", w.fp);
	write_other_data(w.fp, p, a);
	fputs(",\n\"traceEvents\":[", w.fp);
	meta_name(&w, "process_name", PID_CPUS, 0, "pcptrace: PCP lists per CPU");
	meta_name(&w, "process_name", PID_ZONES, 0, "pcptrace: zone->lock acquisitions");
	if (p->nr_pb)
		meta_name(&w, "process_name", PID_PERCPU, 0, "pcptrace: percpu allocator");
	/* the tasks that took the locks, named as the trace's cmdlines name them */
	for (size_t i = 0; i < p->nr_names; i++)
		meta_name(&w, "thread_name", p->names[i].pid, p->names[i].pid, p->names[i].comm);
	err = write_flow_counters(&w, a);
	if (!err)
		err = write_occupancy(&w, a);
	if (!err)
		err = write_zone_counters(&w, a);
	if (!err) {
		write_percpu(&w, p);
		err = write_slices(&w, p);
	}
	fputs("\n]}\n", w.fp);
	if (!err && (ferror(w.fp) | fflush(w.fp)))
		err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "%s", strerror(errno));
	if (fclose(w.fp) && !err)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "%s", strerror(errno));
	if (err == PCP_ERR_NOMEM)
		pcp_errorf(errbuf, errlen, err, "%s", pcp_strerror(err));
	if (!err)
		err = pcp_outfile_finish(out, errbuf, errlen);
	if (err)
		pcp_outfile_abort(out);
	return err;
}
