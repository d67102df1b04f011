/* pcpstat's incremental analysis over a running recording's spools (live/live.h). */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <event-parse.h>
#include "common/error.h"
#include "events/parse_kmem.h"
#include "live/live.h"
#include "meta/meta.h"
#include "model/analyze.h"
#include "model/infer_gap.h"
#include "model/lifecycle.h"
#include "model/percpu.h"
#include "model/zone_map.h"
#include "record/record.h"
#include "tracedat/ringbuf_decode.h"

#define PCP_LIVE_BUCKET_NS (60ull * 1000000000ull)

/* One CPU's spool as read so far. */
struct src {
	int fd;                     /* -1: CPU not recorded */
	uint64_t consumed;          /* bytes handed to decoders (whole sub-buffers) */
	uint64_t punched;           /* bytes given back to the file system (opts.punch) */
	struct pcp_rbdec *dec;      /* over [consumed of its opening, consumed) */
	struct tep_record *head;    /* the next record of this CPU, not fed yet */
	uint64_t last_ts;           /* the latest record taken from it */
	int dry;                    /* no record left in this poll */
	int refilled;               /* a decoder was opened in this poll: one per poll, so that
				     * a poll ends even when the kernel writes faster than we read */
	int limited;                /* dry by that rule: more is there, not read yet */
};

/* The models and where they stand: rebuilt whole when the learnt gaps replace provisional
 * ones. */
struct engine {
	struct src *src;
	struct pcp_kmem_parser *kmem;
	struct pcp_percpu_parser *percpu;
	int percpu_present;
	struct pcp_churn_model *churn;
	struct pcp_percpu_model *pmodel;
	struct pcp_lifecycle_model *lc;
	uint64_t emitted, last_fed_ts;
	struct pcp_live_counts *own;        /* per CPU: percpu ops, records */
	struct pcp_live_counts *prev;       /* cumulative at the last window's close */
	uint64_t win_index, win_start, win_end;
	int started;                        /* win_* set */
};

struct pcp_live {
	struct pcp_record *rec;
	struct pcp_live_opts o;
	struct tep_handle *tep;
	uint32_t nr_cpus;
	unsigned int page_size;
	uint64_t origin;
	int lifecycle, native_locks;
	enum pcp_refill_source refill_source;
	struct pcp_zone_map *zone_map;
	int64_t *start_pages;               /* the before snapshot's, NULL: none */
	/* inferred locks: gaps learnt (auto) as pcpanalyze learns them */
	struct pcp_kmem_parser *skmem;      /* without the lifecycle kinds, as analyze.c's pass */
	struct pcp_gap_sampler sampler;
	int learning, gaps_final;
	uint64_t gaps[2];
	uint64_t late;
	int unbounded;                      /* this pass reads every sub-buffer there is */
	struct engine *eng;
	/* window scratch */
	struct pcp_churn_live_cpu *peek;
	struct pcp_live_counts *cur, *row;
	int64_t *occ;
};

static void engine_free(struct engine *e, uint32_t nr_cpus)
{
	if (!e)
		return;
	for (uint32_t c = 0; e->src && c < nr_cpus; c++)
		pcp_rbdec_close(e->src[c].dec);
	free(e->src);
	pcp_kmem_parser_free(e->kmem);
	if (e->percpu)
		pcp_percpu_parser_free(e->percpu);
	if (e->churn)
		pcp_churn_free(e->churn);
	if (e->pmodel)
		pcp_percpu_model_free(e->pmodel);
	pcp_lifecycle_free(e->lc);
	free(e->own);
	free(e->prev);
	free(e);
}

/* Models with the gaps given, sources at the spools' start. */
static int engine_new(struct pcp_live *l, const uint64_t gaps[2], struct engine **out,
		      char *errbuf, size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	struct pcp_churn_opts copts;
	int err;

	*out = NULL;
	if (!e)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	e->src = calloc(l->nr_cpus, sizeof(*e->src));
	e->own = calloc(l->nr_cpus, sizeof(*e->own));
	e->prev = calloc(l->nr_cpus, sizeof(*e->prev));
	if (!e->src || !e->own || !e->prev) {
		engine_free(e, l->nr_cpus);
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	}
	for (uint32_t c = 0; c < l->nr_cpus; c++)
		e->src[c].fd = pcp_record_spool_fd(l->rec, (int)c);
	err = pcp_kmem_parser_new(l->tep, PCP_REFILL_AUTO, &e->kmem, errbuf, errlen);
	if (!err && l->lifecycle)
		err = pcp_kmem_parser_enable_lifecycle(e->kmem, errbuf, errlen);
	if (!err && (err = pcp_percpu_parser_new(l->tep, &e->percpu)))
		pcp_errorf(errbuf, errlen, err, "cannot resolve the percpu events");
	if (err) {
		engine_free(e, l->nr_cpus);
		return err;
	}
	e->percpu_present = pcp_percpu_parser_present(e->percpu);
	pcp_churn_opts_default(&copts);
	copts.lock_source = l->native_locks ? PCP_LOCK_NATIVE : PCP_LOCK_INFERRED;
	copts.infer_gap_ns[0] = gaps[0];
	copts.infer_gap_ns[1] = gaps[1];
	copts.zone_map = l->zone_map;
	copts.meta = l->o.meta;
	/* buckets only serve the timeline and peak rates, which pcpstat does not show: long ones
	 * keep a watch of days small (the timeline grows per bucket and CPU) */
	copts.bucket_ns = PCP_LIVE_BUCKET_NS;
	if ((err = pcp_churn_new(l->nr_cpus, &copts, &e->churn)) ||
	    (e->percpu_present && (err = pcp_percpu_model_new(&e->pmodel)))) {
		engine_free(e, l->nr_cpus);
		return pcp_errorf(errbuf, errlen, err, "cannot create the models");
	}
	if (pcp_kmem_has_lifecycle(e->kmem)) {
		struct pcp_lifecycle_opts lo;
		int ps = tep_get_page_size(l->tep);

		pcp_lifecycle_opts_default(&lo);
		if (ps > 0 && (ps & (ps - 1)) == 0)
			lo.page_shift = (unsigned)__builtin_ctz((unsigned)ps);
		lo.start_pages = l->start_pages;
		lo.bucket_ns = PCP_LIVE_BUCKET_NS;
		if ((err = pcp_lifecycle_new(l->nr_cpus, &lo, &e->lc))) {
			engine_free(e, l->nr_cpus);
			return pcp_errorf(errbuf, errlen, err, "cannot create the lifecycle model");
		}
	}
	*out = e;
	return PCP_OK;
}

/* The next record of s: from its decoder, else from the sub-buffers appended since. */
static int src_fill(struct pcp_live *l, struct src *s, uint32_t cpu, char *errbuf, size_t errlen)
{
	char why[200];
	struct stat st;
	int err;

	while (!s->head && !s->dry && s->fd >= 0) {
		uint64_t avail;

		if (s->dec && (s->head = pcp_rbdec_next(s->dec)))
			return PCP_OK;
		if (s->dec) {
			err = pcp_rbdec_status(s->dec, why, sizeof(why));
			pcp_rbdec_close(s->dec);
			s->dec = NULL;
			if (err)
				return pcp_errorf(errbuf, errlen, err, "the spool of CPU %u: %s", cpu, why);
		}
		if (s->refilled) {
			s->dry = s->limited = 1;
			break;
		}
		if (fstat(s->fd, &st) < 0)
			return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "the spool of CPU %u: cannot stat it", cpu);
		/* sub-buffers read for good (no replay can need them) leave the disk: a watch
		 * without -o runs for days */
		if (l->o.punch && !l->learning && s->consumed > s->punched &&
		    fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			      (off_t)s->consumed) == 0)
			s->punched = s->consumed;
		avail = (uint64_t)st.st_size / l->page_size * l->page_size;
		if (avail <= s->consumed) {
			s->dry = 1;
			break;
		}
		{
			const struct pcp_rbdec_params p = {
				.fd = s->fd, .file_size = avail, .page_size = l->page_size,
				.long_size = (int)sizeof(long),
				.big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__,
			};
			const struct pcp_rbdec_section sec = { .cpu = cpu, .offset = s->consumed,
							       .size = avail - s->consumed };

			err = pcp_rbdec_open(&p, &sec, 1, &s->dec, why, sizeof(why));
			if (err)
				return pcp_errorf(errbuf, errlen, err, "the spool of CPU %u: %s", cpu, why);
			s->consumed = avail;
			s->refilled = !l->unbounded;
		}
	}
	return PCP_OK;
}

/* The cumulative counts of the engine, per CPU, into l->cur. */
static void engine_counts(struct pcp_live *l, struct engine *e, struct pcp_live_counts *cur)
{
	pcp_churn_peek(e->churn, l->peek);
	for (uint32_t c = 0; c < l->nr_cpus; c++) {
		const struct pcp_cpu_flow *f = &l->peek[c].flow;

		cur[c] = e->own[c];
		cur[c].refill_pages = f->refill_pages;
		cur[c].drain_pages = f->drain_pages;
		cur[c].refill_locks = f->refill_locks;
		cur[c].drain_locks = f->drain_locks;
		cur[c].lost_events = f->lost_events;
		cur[c].pairs = l->peek[c].pairs;
		cur[c].cross_pairs = l->peek[c].cross_pairs;
	}
}

static void add_counts(struct pcp_live_counts *sum, const struct pcp_live_counts *x)
{
	sum->refill_pages += x->refill_pages;
	sum->drain_pages += x->drain_pages;
	sum->refill_locks += x->refill_locks;
	sum->drain_locks += x->drain_locks;
	sum->pairs += x->pairs;
	sum->cross_pairs += x->cross_pairs;
	sum->lost_events += x->lost_events;
	sum->percpu_allocs += x->percpu_allocs;
	sum->percpu_frees += x->percpu_frees;
	sum->records += x->records;
}

static void sub_counts(struct pcp_live_counts *d, const struct pcp_live_counts *a,
		       const struct pcp_live_counts *b)
{
	memset(d, 0, sizeof(*d));
	d->refill_pages = a->refill_pages - b->refill_pages;
	d->drain_pages = a->drain_pages - b->drain_pages;
	d->refill_locks = a->refill_locks - b->refill_locks;
	d->drain_locks = a->drain_locks - b->drain_locks;
	d->pairs = a->pairs - b->pairs;
	d->cross_pairs = a->cross_pairs - b->cross_pairs;
	d->lost_events = a->lost_events - b->lost_events;
	d->percpu_allocs = a->percpu_allocs - b->percpu_allocs;
	d->percpu_frees = a->percpu_frees - b->percpu_frees;
	d->records = a->records - b->records;
}

static void engine_start_windows(struct pcp_live *l, struct engine *e, uint64_t first_ts)
{
	e->started = 1;
	e->win_index = 1;
	e->win_start = l->origin ? l->origin : first_ts;
	e->win_end = e->win_start + l->o.interval_ns;
}

/* Closes the open window at end (its figures: the counts since the last close). */
static void close_window(struct pcp_live *l, struct engine *e, uint64_t end, pcp_live_window_fn fn,
			 void *ctx)
{
	struct pcp_live_window w = { .index = e->win_index, .start_ns = e->win_start, .end_ns = end,
				     .nr_cpus = l->nr_cpus, .cpu = l->row,
				     .has_percpu = e->percpu_present, .gaps_final = l->gaps_final,
				     .late_records = l->late };

	engine_counts(l, e, l->cur);
	for (uint32_t c = 0; c < l->nr_cpus; c++) {
		sub_counts(&l->row[c], &l->cur[c], &e->prev[c]);
		add_counts(&w.sum, &l->row[c]);
	}
	if (e->pmodel) {
		struct pcp_percpu_live pl;

		pcp_percpu_model_peek(e->pmodel, &pl);
		w.percpu_outstanding_bytes = pl.outstanding_bytes;
		w.percpu_outstanding_allocs = pl.outstanding_allocs;
	}
	if (e->lc) {
		pcp_lifecycle_peek_occupancy(e->lc, l->occ);
		w.lc_occupancy = l->occ;
	}
	if (fn)
		fn(&w, ctx);
	memcpy(e->prev, l->cur, l->nr_cpus * sizeof(*l->cur));
	e->win_index++;
	e->win_start = end;
	e->win_end = end + l->o.interval_ns;
}

static void close_windows_before(struct pcp_live *l, struct engine *e, uint64_t ts,
				 pcp_live_window_fn fn, void *ctx)
{
	while (e->started && e->win_end <= ts &&
	       (!l->o.max_windows || e->win_index < l->o.max_windows))
		close_window(l, e, e->win_end, fn, ctx);
}

/* One record to the models, as analyze.c's pass feeds them. */
static void engine_feed(struct engine *e, const struct tep_handle *tep, struct tep_record *rec)
{
	struct pcp_event ev = { .ts_ns = rec->ts, .cpu = (uint32_t)rec->cpu, .pid = -1,
				.kind = PCP_EV_OTHER };
	int id = tep_data_type((struct tep_handle *)tep, rec);
	int kind;

	if (rec->missed_events)
		pcp_churn_missed(e->churn, ev.cpu, rec->missed_events);
	kind = pcp_kmem_decode(e->kmem, rec, id, &ev);
	if (kind == PCP_EV_OTHER && e->percpu_present) {
		kind = pcp_percpu_decode(e->percpu, rec, id, &ev);
		if (kind != PCP_EV_OTHER) {
			ev.kind = (uint8_t)kind;
			pcp_percpu_model_event(e->pmodel, &ev);
			if (kind == PCP_EV_PERCPU_ALLOC)
				e->own[ev.cpu].percpu_allocs++;
			else if (kind == PCP_EV_PERCPU_FREE)
				e->own[ev.cpu].percpu_frees++;
		}
	}
	ev.kind = (uint8_t)kind;
	e->own[ev.cpu].records++;
	pcp_churn_event(e->churn, &ev);
	if (e->lc)
		pcp_lifecycle_event(e->lc, &ev);
}

/* The sampler of --infer-gap auto, as analyze.c's first pass. 1 when it is full. */
static int sample(struct pcp_live *l, struct tep_record *rec)
{
	struct pcp_event ev;
	int id = tep_data_type(l->tep, rec);
	int kind = pcp_kmem_decode(l->skmem, rec, id, &ev);

	if (kind == PCP_EV_IGNORED) {
		if (rec->missed_events)
			pcp_gap_sampler_mark(&l->sampler, (uint32_t)rec->cpu);
	} else {
		pcp_gap_sampler_feed(&l->sampler, (uint32_t)rec->cpu, kind, rec->ts, rec->missed_events);
	}
	return pcp_gap_sampler_full(&l->sampler);
}

/*
 * Feeds the engine in timestamp order as far as the order is known (final: everything), up
 * to limit records (0: no limit). sampling: the records go to the gap sampler too; the walk
 * stops when it is full (*full = 1). Windows that close call fn (NULL: quietly).
 */
static int engine_run(struct pcp_live *l, struct engine *e, uint64_t now_ns, int final,
		      uint64_t limit, int sampling, int *full, pcp_live_window_fn fn, void *ctx,
		      char *errbuf, size_t errlen)
{
	uint64_t lagged = now_ns > l->o.lag_ns ? now_ns - l->o.lag_ns : 0;
	uint64_t bound = UINT64_MAX;
	int err;

	for (uint32_t c = 0; c < l->nr_cpus; c++)
		e->src[c].dry = e->src[c].refilled = e->src[c].limited = 0;
	l->unbounded = final || limit;   /* the stop's pass and a replay read to the end */
	for (;;) {
		struct src *best = NULL;

		bound = UINT64_MAX;

		if (limit && e->emitted >= limit)
			break;
		for (uint32_t c = 0; c < l->nr_cpus; c++) {
			struct src *s = &e->src[c];

			if (s->fd < 0)
				continue;
			if ((err = src_fill(l, s, c, errbuf, errlen)))
				return err;
			if (s->head) {
				if (!best || s->head->ts < best->head->ts)
					best = s;
			} else if (!final) {
				/* a CPU with sub-buffers still unread holds the merge at its
				 * last record; only one that handed out nothing newer gets
				 * the lag rule */
				uint64_t b = s->limited || s->last_ts > lagged ? s->last_ts : lagged;

				if (b < bound)
					bound = b;
			}
		}
		if (!best)
			break;
		if (!final && !limit && best->head->ts > bound) {
			/* everything before the bound is fed: windows up to it are complete */
			close_windows_before(l, e, bound, fn, ctx);
			return PCP_OK;
		}
		if (!e->started)
			engine_start_windows(l, e, best->head->ts);
		close_windows_before(l, e, best->head->ts, fn, ctx);
		if (!limit && (best->head->ts < e->last_fed_ts ||
				(e->win_index > 1 && best->head->ts < e->win_start)))
			l->late++;
		if (best->head->ts > e->last_fed_ts)
			e->last_fed_ts = best->head->ts;
		engine_feed(e, l->tep, best->head);
		e->emitted++;
		best->last_ts = best->head->ts;
		if (sampling && sample(l, best->head)) {
			best->head = NULL;
			*full = 1;
			return PCP_OK;
		}
		best->head = NULL;
	}
	if (!final && !limit && bound != UINT64_MAX)
		close_windows_before(l, e, bound, fn, ctx);
	return PCP_OK;
}

/* The learnt gaps replace the provisional ones: the models again from the spools' start, up
 * to where the old ones stand (windows closed quietly on the way). */
static int rebuild(struct pcp_live *l, int final, char *errbuf, size_t errlen)
{
	struct engine *e2;
	int full = 0, err;

	l->gaps[0] = pcp_gap_sampler_choose(&l->sampler, PCP_LOCK_KIND_REFILL);
	l->gaps[1] = pcp_gap_sampler_choose(&l->sampler, PCP_LOCK_KIND_DRAIN);
	l->learning = 0;
	l->gaps_final = 1;
	if ((err = engine_new(l, l->gaps, &e2, errbuf, errlen)))
		return err;
	err = engine_run(l, e2, 0, final, l->eng->emitted, 0, &full, NULL, NULL, errbuf, errlen);
	if (err) {
		engine_free(e2, l->nr_cpus);
		return err;
	}
	/* the windows the old engine closed stay closed (printed once): the new one's open
	 * window is the old one's */
	if (!e2->started && l->eng->started)
		engine_start_windows(l, e2, l->eng->win_start);
	if (l->eng->started)
		close_windows_before(l, e2, l->eng->win_start, NULL, NULL);
	engine_free(l->eng, l->nr_cpus);
	l->eng = e2;
	return PCP_OK;
}

int pcp_live_poll(struct pcp_live *l, uint64_t now_ns, int final, pcp_live_window_fn fn,
		  void *ctx, char *errbuf, size_t errlen)
{
	int err, full = 0;

	for (;;) {
		err = engine_run(l, l->eng, now_ns, final, 0, l->learning, &full, fn, ctx, errbuf, errlen);
		if (err)
			return err;
		if (!full)
			break;
		full = 0;
		if ((err = rebuild(l, 0, errbuf, errlen)))
			return err;
	}
	if (!final)
		return PCP_OK;
	if (l->learning && (err = rebuild(l, 1, errbuf, errlen)))
		return err;
	{
		struct engine *e = l->eng;
		uint64_t end = now_ns > e->last_fed_ts ? now_ns : e->last_fed_ts + 1;

		if (!e->started)
			engine_start_windows(l, e, l->origin ? l->origin : end);
		/* the last window takes the stop's remainder (with COUNT, the COUNTth window
		 * does; else between half and one and a half intervals long) */
		while (e->win_end + l->o.interval_ns / 2 <= end &&
		       (!l->o.max_windows || e->win_index < l->o.max_windows))
			close_window(l, e, e->win_end, fn, ctx);
		if (end > e->win_start)
			close_window(l, e, end, fn, ctx);
	}
	return PCP_OK;
}

int pcp_live_new(struct pcp_record *rec, const struct pcp_live_opts *o, struct pcp_live **out,
		 char *errbuf, size_t errlen)
{
	struct pcp_live *l = calloc(1, sizeof(*l));
	struct pcp_kmem_parser *probe = NULL;
	int err;

	*out = NULL;
	if (!l)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	l->rec = rec;
	l->o = *o;
	l->nr_cpus = (uint32_t)pcp_record_nr_cpus(rec);
	l->page_size = pcp_record_subbuf_size(rec);
	l->tep = pcp_record_new_tep(rec, &err, errbuf, errlen);
	if (!l->tep)
		goto fail;
	l->peek = calloc(l->nr_cpus, sizeof(*l->peek));
	l->cur = calloc(l->nr_cpus, sizeof(*l->cur));
	l->row = calloc(l->nr_cpus, sizeof(*l->row));
	l->occ = calloc(l->nr_cpus, sizeof(*l->occ));
	if (!l->peek || !l->cur || !l->row || !l->occ) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((err = pcp_kmem_parser_new(l->tep, PCP_REFILL_AUTO, &probe, errbuf, errlen)))
		goto fail;
	l->native_locks = pcp_kmem_native_locks(probe);
	l->refill_source = pcp_kmem_refill_source(probe);
	l->lifecycle = tep_find_event_by_name(l->tep, "kmem", "mm_page_alloc") &&
		       tep_find_event_by_name(l->tep, "kmem", "mm_page_free");
	if (!l->native_locks && pcp_kmem_block_key(probe) == PCP_BLOCK_KEY_PFN &&
	    (err = pcp_zone_map_from_meta(o->meta, &l->zone_map))) {
		pcp_errorf(errbuf, errlen, err, "damaged zoneinfo zone span");
		goto fail;
	}
	if (l->lifecycle && o->meta) {
		l->start_pages = calloc(l->nr_cpus, sizeof(*l->start_pages));
		if (l->start_pages && !pcp_meta_pcp_pages(&o->meta->before, l->nr_cpus, l->start_pages)) {
			free(l->start_pages);
			l->start_pages = NULL;
		}
	}
	if (l->native_locks || o->infer_gap_ns != PCP_INFER_GAP_AUTO) {
		l->gaps[0] = l->gaps[1] = l->native_locks ? 0 : o->infer_gap_ns;
		l->gaps_final = 1;
	} else {
		l->skmem = probe;
		probe = NULL;
		if ((err = pcp_gap_sampler_init(&l->sampler, l->nr_cpus))) {
			pcp_errorf(errbuf, errlen, err, "out of memory");
			goto fail;
		}
		l->learning = 1;
		l->gaps[0] = l->gaps[1] = PCP_INFER_GAP_DEFAULT_NS;   /* provisional */
	}
	if ((err = engine_new(l, l->gaps, &l->eng, errbuf, errlen)))
		goto fail;
	pcp_kmem_parser_free(probe);
	*out = l;
	return PCP_OK;
fail:
	pcp_kmem_parser_free(probe);
	pcp_live_free(l);
	return err ? err : PCP_ERR_NOMEM;
}

void pcp_live_set_origin(struct pcp_live *l, uint64_t origin_ns) { l->origin = origin_ns; }
uint32_t pcp_live_nr_cpus(const struct pcp_live *l) { return l->nr_cpus; }
uint64_t pcp_live_late_records(const struct pcp_live *l) { return l->late; }

void pcp_live_totals(struct pcp_live *l, struct pcp_live_counts *per_cpu, struct pcp_live_counts *sum)
{
	engine_counts(l, l->eng, per_cpu);
	memset(sum, 0, sizeof(*sum));
	for (uint32_t c = 0; c < l->nr_cpus; c++)
		add_counts(sum, &per_cpu[c]);
}

size_t pcp_live_zone_rows(struct pcp_live *l, struct pcp_zone_lock_row *out, size_t cap)
{
	return pcp_churn_peek_zones(l->eng->churn, out, cap);
}

enum pcp_lock_source pcp_live_lock_source(const struct pcp_live *l)
{
	return l->native_locks ? PCP_LOCK_NATIVE : PCP_LOCK_INFERRED;
}

int pcp_live_gaps(const struct pcp_live *l, uint64_t gaps[2])
{
	gaps[0] = l->gaps[0];
	gaps[1] = l->gaps[1];
	return l->gaps_final;
}

const char *pcp_live_refill_source(const struct pcp_live *l)
{
	return l->refill_source == PCP_REFILL_NATIVE ? "native" : "fallback";
}

void pcp_live_free(struct pcp_live *l)
{
	if (!l)
		return;
	engine_free(l->eng, l->nr_cpus);
	if (l->learning || l->sampler.prev)
		pcp_gap_sampler_release(&l->sampler);
	pcp_kmem_parser_free(l->skmem);
	pcp_zone_map_free(l->zone_map);
	if (l->tep)
		tep_free(l->tep);
	free(l->start_pages);
	free(l->peek);
	free(l->cur);
	free(l->row);
	free(l->occ);
	free(l);
}
