/* pcpstat: vmstat for the PCP lists and the percpu allocator, live (pcpstat(1), issue 15). The
 * recording is pcprecord's (lib/record/), the analysis pcpanalyze's models fed incrementally
 * (lib/live/); this file parses options, prints rows and handles signals. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "common/error.h"
#include "common/io.h"
#include "live/live.h"
#include "live/prom_text.h"
#include "meta/meta.h"
#include "model/analyze.h"
#include "record/record.h"
#include "record/snapshot.h"

#define PCPSTAT_VERSION "0.1.0"
#define POLL_MS 100

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pcpstat [options] [INTERVAL [COUNT]]\n"
		"  INTERVAL              seconds per row (default 1, decimals allowed)\n"
		"  COUNT                 rows, then exit (default: until Ctrl-C)\n"
		"  -C, --cpus LIST       watch these CPUs only (\"0-3,6\"); rows per CPU\n"
		"  -P, --per-cpu         rows per CPU (default: summed over CPUs)\n"
		"      --lifecycle       also mm_page_alloc/mm_page_free: PCP occupancy by the model\n"
		"  -o, --output FILE     record at the same time: FILE (trace.dat) and FILE.meta.json\n"
		"      --prometheus FILE rewrite FILE every interval (node_exporter textfile format)\n"
		"      --infer-gap NS    inferred zone-lock gap (default auto, as pcpanalyze)\n"
		"  -b, --batch           plain lines even on a terminal\n"
		"  -q, --quiet           no rows (with --prometheus or -o)\n"
		"  -h, --help\n"
		"Exit: 0, 2 usage, else pcprecord(1)'s statuses (121 not root, 122 no tracefs, ...).\n");
}

struct options {
	double interval;
	unsigned long count;          /* 0: until a signal */
	const char *cpus, *output, *prom;
	int per_cpu, lifecycle, batch, quiet;
	uint64_t infer_gap_ns;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "cpus", required_argument, NULL, 'C' }, { "per-cpu", no_argument, NULL, 'P' },
		{ "lifecycle", no_argument, NULL, 'L' }, { "output", required_argument, NULL, 'o' },
		{ "prometheus", required_argument, NULL, 'M' },
		{ "infer-gap", required_argument, NULL, 'G' }, { "batch", no_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	int c;
	char *end;

	o->interval = 1.0;
	o->infer_gap_ns = PCP_INFER_GAP_AUTO;
	while ((c = getopt_long(argc, argv, "C:Po:bqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'C': o->cpus = optarg; o->per_cpu = 1; break;
		case 'P': o->per_cpu = 1; break;
		case 'L': o->lifecycle = 1; break;
		case 'o': o->output = optarg; break;
		case 'M': o->prom = optarg; break;
		case 'b': o->batch = 1; break;
		case 'q': o->quiet = 1; break;
		case 'G':
			if (!strcmp(optarg, "auto"))
				break;
			errno = 0;
			o->infer_gap_ns = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end) {
				fprintf(stderr, "pcpstat: --infer-gap %s: not a number of ns or auto\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		o->interval = strtod(argv[optind], &end);
		if (end == argv[optind] || *end || !(o->interval >= 0.01) || o->interval > 86400) {
			fprintf(stderr, "pcpstat: %s: INTERVAL must be seconds between 0.01 and 86400\n", argv[optind]);
			return 2;
		}
		optind++;
	}
	if (optind < argc) {
		errno = 0;
		o->count = strtoul(argv[optind], &end, 10);
		if (errno || end == argv[optind] || *end || o->count == 0) {
			fprintf(stderr, "pcpstat: %s: COUNT must be a positive number\n", argv[optind]);
			return 2;
		}
		optind++;
	}
	if (optind < argc) {
		fprintf(stderr, "pcpstat: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* /proc/zoneinfo's pageset counts now: per (zone, CPU) and summed per CPU. */
struct zoneinfo_now {
	struct pcp_prom_pcp_lists lists;
	int64_t *per_cpu;             /* nr_cpus; -1 unknown */
	int ok;
};

static void zoneinfo_read(struct zoneinfo_now *z, uint32_t nr_cpus)
{
	char *text = NULL, err[200];
	size_t len = 0, cap = 0, zi, pi;
	json_t *zones = NULL, *zone, *ps;

	z->ok = 0;
	z->lists.n = 0;
	for (uint32_t c = 0; c < nr_cpus; c++)
		z->per_cpu[c] = -1;
	if (pcp_io_read_file("/proc/zoneinfo", &text, &len) ||
	    pcp_snapshot_parse_zoneinfo(text, &zones, err, sizeof(err))) {
		free(text);
		return;
	}
	free(text);
	json_array_foreach(zones, zi, zone) {
		json_array_foreach(json_object_get(zone, "pagesets"), pi, ps) {
			json_int_t cpu = json_integer_value(json_object_get(ps, "cpu"));
			json_t *count = json_object_get(ps, "count");
			struct pcp_prom_pcp_list *v;

			if (!json_is_integer(count) || cpu < 0 || (uint64_t)cpu >= nr_cpus)
				continue;
			if (z->lists.n == cap) {
				void *p = realloc(z->lists.v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

				if (!p)
					goto out;
				z->lists.v = p;
			}
			v = &z->lists.v[z->lists.n++];
			v->cpu = (uint32_t)cpu;
			v->nid = (int32_t)json_integer_value(json_object_get(zone, "node"));
			v->zid = (int32_t)json_integer_value(json_object_get(zone, "zid"));
			snprintf(v->zone, sizeof(v->zone), "%s",
				 json_string_value(json_object_get(zone, "zone")) ?: "");
			v->count = json_integer_value(count);
			z->per_cpu[cpu] = (z->per_cpu[cpu] < 0 ? 0 : z->per_cpu[cpu]) + v->count;
		}
	}
	z->ok = 1;
out:
	json_decref(zones);
}

struct view {
	const struct options *o;
	unsigned char *recorded;
	uint32_t nr_cpus;
	int tty;
	struct zoneinfo_now zi;
	const char *lock_header;
	uint64_t windows;
	uint64_t origin;
	struct pcp_live *live;
	uint64_t last_outstanding;
	int has_percpu;
	int64_t *lc_occ;              /* last window's, NULL unarmed */
};

static void fmt_rate(char *b, size_t n, uint64_t v, double secs)
{
	snprintf(b, n, "%.0f", secs > 0 ? (double)v / secs : 0.0);
}

static void print_row(FILE *f, const struct view *v, const struct pcp_live_window *w, double t,
		      const char *cpu, const struct pcp_live_counts *c, int64_t zi, int64_t lc, int sum)
{
	double secs = (double)(w->end_ns - w->start_ns) / 1e9;
	char r[10][24];

	fmt_rate(r[0], 24, c->refill_pages, secs);
	fmt_rate(r[1], 24, c->drain_pages, secs);
	fmt_rate(r[2], 24, c->refill_locks, secs);
	fmt_rate(r[3], 24, c->drain_locks, secs);
	if (c->pairs)
		snprintf(r[4], 24, "%.1f", 100.0 * (double)c->cross_pairs / (double)c->pairs);
	else
		snprintf(r[4], 24, "-");
	if (zi >= 0) snprintf(r[5], 24, "%lld", (long long)zi); else snprintf(r[5], 24, "-");
	if (w->lc_occupancy) snprintf(r[6], 24, "%lld", (long long)lc); else snprintf(r[6], 24, "-");
	if (w->has_percpu) {
		fmt_rate(r[7], 24, c->percpu_allocs, secs);
		fmt_rate(r[8], 24, c->percpu_frees, secs);
	} else {
		snprintf(r[7], 24, "-");
		snprintf(r[8], 24, "-");
	}
	if (w->has_percpu && sum)
		snprintf(r[9], 24, "%llu", (unsigned long long)w->percpu_outstanding_bytes);
	else
		snprintf(r[9], 24, "-");
	fprintf(f, "%8.2f %4s %10s %10s %9s %9s %6s %8s %8s %9s %9s %12s %6llu %5llu%s\n", t, cpu,
		r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		(unsigned long long)c->lost_events, (unsigned long long)w->late_records,
		w->gaps_final ? "" : " ~");
	(void)v;
}

static void print_header(FILE *f, const struct view *v)
{
	fprintf(f, "# pcpstat: zone-lock acquisitions %s; rates per second of trace time; "
		"pcp_pages: /proc/zoneinfo now; ~: provisional inferred gaps\n", v->lock_header);
	fprintf(f, "%8s %4s %10s %10s %9s %9s %6s %8s %8s %9s %9s %12s %6s %5s\n", "time", "cpu",
		"refill_pg", "drain_pg", "zl_refill", "zl_drain", "cross%", "pcp_pg", "lc_pg",
		"pcpu_alloc", "pcpu_free", "pcpu_out_B", "lost", "late");
}

static int cmp_busy_ctx_dummy;
static const struct pcp_live_counts *sort_rows;
static int cmp_busy(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t bx = sort_rows[x].refill_pages + sort_rows[x].drain_pages;
	uint64_t by = sort_rows[y].refill_pages + sort_rows[y].drain_pages;

	(void)cmp_busy_ctx_dummy;
	return bx < by ? 1 : bx > by ? -1 : x < y ? -1 : x > y;
}

static void on_window(const struct pcp_live_window *w, void *ctx)
{
	struct view *v = ctx;
	double t = (double)(w->end_ns - v->origin) / 1e9;
	int64_t zsum = -1, lsum = 0;
	uint32_t order[4096], n = 0;

	v->windows++;
	v->has_percpu = w->has_percpu;
	v->last_outstanding = w->percpu_outstanding_bytes;
	if (w->lc_occupancy && v->lc_occ)
		memcpy(v->lc_occ, w->lc_occupancy, v->nr_cpus * sizeof(*v->lc_occ));
	if (v->o->quiet)
		return;
	zoneinfo_read(&v->zi, v->nr_cpus);
	for (uint32_t c = 0; c < v->nr_cpus; c++) {
		if (!v->recorded[c])
			continue;
		if (v->zi.ok && v->zi.per_cpu[c] >= 0)
			zsum = (zsum < 0 ? 0 : zsum) + v->zi.per_cpu[c];
		if (w->lc_occupancy)
			lsum += w->lc_occupancy[c];
		if (n < 4096)
			order[n++] = c;
	}
	if (v->tty) {
		sort_rows = w->cpu;
		qsort(order, n, sizeof(*order), cmp_busy);
		printf("\033[H\033[2J");
		printf("pcpstat - window %llu, %.2f s, refill source %s; CPUs by refill+drain pages\n",
		       (unsigned long long)w->index, (double)(w->end_ns - w->start_ns) / 1e9,
		       pcp_live_refill_source(v->live));
		print_header(stdout, v);
	} else if (w->index == 1 || (w->index % 20 == 0 && !v->o->per_cpu)) {
		print_header(stdout, v);
	}
	if (v->o->per_cpu || v->tty)
		for (uint32_t k = 0; k < n; k++) {
			char name[16];
			uint32_t c = order[k];

			snprintf(name, sizeof(name), "%u", c);
			print_row(stdout, v, w, t, name, &w->cpu[c], v->zi.ok ? v->zi.per_cpu[c] : -1,
				  w->lc_occupancy ? w->lc_occupancy[c] : 0, 0);
		}
	print_row(stdout, v, w, t, "all", &w->sum, zsum, lsum, 1);
	/* a reader that went away (pcpstat | head) ends the watch as Ctrl-C does */
	if (fflush(stdout) != 0 || ferror(stdout))
		stop_signal = SIGPIPE;
}

static int write_prom(struct view *v, char *errbuf, size_t errlen)
{
	struct pcp_prom_percpu pc = { v->has_percpu, v->last_outstanding };

	zoneinfo_read(&v->zi, v->nr_cpus);
	return pcp_prom_write(v->o->prom, v->live, v->recorded, v->zi.ok ? &v->zi.lists : NULL,
			      v->lc_occ, &pc, errbuf, errlen);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The snapshots around the traced window, for the meta file (and the live zone map). */
struct snaps { json_t *before, *after; };
static int take_before(void *ctx)
{
	struct snaps *s = ctx;

	json_decref(s->before);
	s->before = NULL;
	pcp_snapshot_take_ordered(&s->before, PCP_SNAPSHOT_BEFORE_ON, NULL);
	return 0;
}
static int take_after(void *ctx)
{
	struct snaps *s = ctx;

	pcp_snapshot_take_ordered(&s->after, PCP_SNAPSHOT_AFTER_OFF, NULL);
	return 0;
}

static void iso_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_outputs(struct pcp_record *rec, const struct options *o, struct snaps *s,
			 int argc, char **argv, const char *t0, double secs)
{
	char errbuf[512], t1[40];
	json_t *desc;
	int err;

	if (!s->before || !s->after)
		return pcp_errorf(errbuf, sizeof(errbuf), PCP_ERR_NOMEM, "out of memory");
	/* the percpu_stats snapshots are not checked against the switches here (pcprecord does):
	 * marked unavailable, so that pcpanalyze gives no consistency verdict rather than a
	 * false one */
	pcp_snapshot_mark_switch(s->before, "went on", 0, 0, 0, 1);
	pcp_snapshot_mark_switch(s->after, "went off", 0, 0, 0, 1);
	err = pcp_record_write_trace(rec, o->output, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "pcpstat: %s: %s\n", o->output, errbuf);
		return err;
	}
	iso_now(t1, sizeof(t1));
	desc = pcp_record_describe(rec);
	{
		struct pcp_meta_recording_run run = {
			.tool = "pcpstat " PCPSTAT_VERSION, .trace_file = o->output, .argc = argc,
			.argv = argv, .workload_argc = -1, .start_time = t0, .stop_time = t1,
			.duration_s = secs, .stop_reason = stop_signal ? "signal" : "count reached",
			.recording = desc, .before = s->before, .after = s->after,
		};
		err = pcp_meta_write_recording(o->output, &run, errbuf, sizeof(errbuf));
	}
	json_decref(desc);
	if (err)
		fprintf(stderr, "pcpstat: %s.meta.json: %s\n", o->output, errbuf);
	else if (!o->quiet)
		fprintf(stderr, "pcpstat: wrote %s and %s.meta.json\n", o->output, o->output);
	return err;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct pcp_record_opts ro = { 0 };
	struct pcp_record *rec = NULL;
	struct pcp_live *live = NULL;
	struct pcp_meta *meta = NULL;
	struct snaps snaps = { NULL, NULL };
	struct view v = { 0 };
	struct sigaction sa;
	char errbuf[512], t0[40], *spool = NULL;
	int err, code;
	int64_t m_start, next_prom;

	if ((code = parse_options(argc, argv, &o)))
		return code;
	if (o.quiet && !o.output && !o.prom) {
		fprintf(stderr, "pcpstat: -q needs -o or --prometheus (nothing to do)\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((err = pcp_record_check_system(errbuf, sizeof(errbuf)))) {
		fprintf(stderr, "pcpstat: %s\n", errbuf);
		return pcp_exit_code(err);
	}
	pcp_record_remove_stale_instances();
	ro.cpulist = o.cpus;
	ro.lifecycle = o.lifecycle;
	ro.instance_prefix = "pcpstat";
	if (o.output) {
		spool = strdup(o.output);
		ro.spool_dir = spool ? dirname(spool) : ".";
	} else {
		ro.spool_dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	}
	err = pcp_record_create(&ro, &rec, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "pcpstat: %s\n", errbuf);
		goto out;
	}
	{
		const struct pcp_record_hooks hooks = { take_before, NULL, NULL, take_after };

		pcp_record_set_hooks(rec, &hooks, &snaps);
	}
	if (stop_signal)
		goto out;
	iso_now(t0, sizeof(t0));
	m_start = mono_ns();
	if ((err = pcp_record_start(rec, errbuf, sizeof(errbuf)))) {
		fprintf(stderr, "pcpstat: %s\n", errbuf);
		goto out;
	}
	if (snaps.before) {
		json_t *root = json_pack("{s:{s:O}}", "snapshots", "before", snaps.before);

		if (root && pcp_meta_from_json(root, &meta))
			meta = NULL;
		json_decref(root);
	}
	{
		struct pcp_live_opts lo = { .interval_ns = (uint64_t)(o.interval * 1e9),
					    .lag_ns = (uint64_t)(o.interval * 1e9) + 1000000000ull,
					    .infer_gap_ns = o.infer_gap_ns, .meta = meta,
					    .max_windows = o.count, .punch = !o.output };

		err = pcp_live_new(rec, &lo, &live, errbuf, sizeof(errbuf));
	}
	if (err) {
		fprintf(stderr, "pcpstat: %s\n", errbuf);
		goto out;
	}
	v.o = &o;
	v.live = live;
	v.nr_cpus = pcp_live_nr_cpus(live);
	v.recorded = calloc(v.nr_cpus, 1);
	v.zi.per_cpu = calloc(v.nr_cpus, sizeof(*v.zi.per_cpu));
	v.lc_occ = o.lifecycle ? calloc(v.nr_cpus, sizeof(*v.lc_occ)) : NULL;
	if (!v.recorded || !v.zi.per_cpu || (o.lifecycle && !v.lc_occ)) {
		err = PCP_ERR_NOMEM;
		goto out;
	}
	for (uint32_t c = 0; c < v.nr_cpus; c++)
		v.recorded[c] = pcp_record_spool_fd(rec, (int)c) >= 0;
	v.tty = !o.batch && isatty(STDOUT_FILENO);
	{
		uint64_t g[2];
		static char hdr[128];

		if (pcp_live_lock_source(live) == PCP_LOCK_NATIVE)
			snprintf(hdr, sizeof(hdr), "native (zone_locked events)");
		else if (pcp_live_gaps(live, g))
			snprintf(hdr, sizeof(hdr), "inferred (gaps %llu/%llu ns)", (unsigned long long)g[0],
				 (unsigned long long)g[1]);
		else
			snprintf(hdr, sizeof(hdr), "inferred (gaps learnt as pcpanalyze --infer-gap auto)");
		v.lock_header = hdr;
	}
	v.origin = pcp_record_now_ns(rec);
	pcp_live_set_origin(live, v.origin);
	next_prom = m_start + (int64_t)(o.interval * 1e9);
	while (!stop_signal) {
		struct timespec ts = { 0, POLL_MS * 1000000L };
		int64_t now = mono_ns();

		if (o.count && now - m_start >= (int64_t)((double)o.count * o.interval * 1e9))
			break;
		nanosleep(&ts, NULL);
		if ((err = pcp_live_poll(live, pcp_record_now_ns(rec), 0, on_window, &v, errbuf,
					 sizeof(errbuf)))) {
			fprintf(stderr, "pcpstat: %s\n", errbuf);
			goto out;
		}
		if (o.prom && mono_ns() >= next_prom) {
			next_prom += (int64_t)(o.interval * 1e9);
			if ((err = write_prom(&v, errbuf, sizeof(errbuf)))) {
				fprintf(stderr, "pcpstat: %s: %s\n", o.prom, errbuf);
				goto out;
			}
		}
	}
	{
		uint64_t end_ns = pcp_record_now_ns(rec);

		if ((err = pcp_record_stop(rec, errbuf, sizeof(errbuf)))) {
			fprintf(stderr, "pcpstat: %s\n", errbuf);
			goto out;
		}
		if ((err = pcp_live_poll(live, end_ns, 1, on_window, &v, errbuf, sizeof(errbuf)))) {
			fprintf(stderr, "pcpstat: %s\n", errbuf);
			goto out;
		}
	}
	if (o.prom && (err = write_prom(&v, errbuf, sizeof(errbuf))))
		fprintf(stderr, "pcpstat: %s: %s\n", o.prom, errbuf);
	{
		struct pcp_live_counts sum, *per = calloc(v.nr_cpus, sizeof(*per));
		uint64_t g[2];
		int fin = pcp_live_gaps(live, g);

		if (per) {
			pcp_live_totals(live, per, &sum);
			fprintf(o.quiet ? stderr : stdout,
				"# total: refill_pages %llu drain_pages %llu refill_locks %llu drain_locks %llu "
				"pairs %llu cross_cpu_pairs %llu percpu_allocs %llu percpu_frees %llu lost %llu "
				"percpu_outstanding_bytes %llu late %llu gaps %llu/%llu%s\n",
				(unsigned long long)sum.refill_pages, (unsigned long long)sum.drain_pages,
				(unsigned long long)sum.refill_locks, (unsigned long long)sum.drain_locks,
				(unsigned long long)sum.pairs, (unsigned long long)sum.cross_pairs,
				(unsigned long long)sum.percpu_allocs, (unsigned long long)sum.percpu_frees,
				(unsigned long long)sum.lost_events, (unsigned long long)v.last_outstanding,
				(unsigned long long)pcp_live_late_records(live), (unsigned long long)g[0],
				(unsigned long long)g[1], fin ? "" : " (provisional)");
			free(per);
		}
	}
	pcp_record_remove_instance(rec);
	if (!err && o.output)
		err = write_outputs(rec, &o, &snaps, argc, argv, t0,
				    (double)(mono_ns() - m_start) / 1e9);
out:
	pcp_live_free(live);
	pcp_record_destroy(rec);   /* the instance goes on every path */
	pcp_meta_free(meta);
	json_decref(snaps.before);
	json_decref(snaps.after);
	free(v.recorded);
	free(v.zi.per_cpu);
	free(v.zi.lists.v);
	free(v.lc_occ);
	free(spool);
	if (err)
		return pcp_exit_code(err);
	return 0;   /* also when a signal ended the watch */
}
