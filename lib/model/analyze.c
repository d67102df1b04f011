/* One trace.dat in, one analysis out: trace reader -> parse_kmem / parse_percpu -> churn and
 * percpu models. Never a partial analysis: any failure frees everything and returns an error.
 *
 * Iteration: the reader's direct ring-buffer path (lib/tracedat/ringbuf_decode.c) or its merge over
 * tracecmd_read_data (see lib/tracedat/trace_reader.c). Per record here: one tep_data_type()
 * (type field read), an array increment for event_counts, a few integer compares in
 * pcp_kmem_decode, and the model calls; no allocation, no string compare. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event-parse.h>
#include "model/analyze.h"
#include "tracedat/buffer_choice.h"
#include "common/error.h"
#include "tracedat/event_loss.h"
#include "model/infer_gap.h"
#include "model/lock_hold.h"
#include "model/lifecycle.h"
#include "meta/meta.h"
#include "model/pair_events.h"
#include "events/parse_kmem.h"
#include "model/percpu.h"
#include "tracedat/time_base.h"
#include "tracedat/trace_reader.h"
#include "model/zone_map.h"
#include "model/lock_cause.h"
#include "model/lifecycle_feed.h"
#include "model/churn_feed.h"
#include "events/parse_stack.h"
#include "model/analysis_filter.h"
#include "model/timeline_sink.h"

void pcp_analyze_opts_default(struct pcp_analyze_opts *o)
{
	o->churn_window_ns = 1000000;
	o->bucket_ns = 10000000;
	o->top_n = 100;
	o->infer_gap_ns = PCP_INFER_GAP_AUTO;
	o->refill_source = PCP_REFILL_AUTO;
	o->buffer = NULL;
	o->filter = NULL;
	o->sink = NULL;
	o->jobs = 1;
}

static int count_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pcp_event_count *)a)->name, ((const struct pcp_event_count *)b)->name);
}

/* event_counts rows from the per-id counters: names are resolved here, once per event type. */
static int build_counts(struct tep_handle *tep, const uint64_t *counts, int nr_ids, struct pcp_analysis *a)
{
	size_t n = 0;

	for (int id = 0; id < nr_ids; id++)
		n += counts[id] != 0;
	a->event_counts = calloc(n ? n : 1, sizeof(*a->event_counts));
	if (!a->event_counts)
		return PCP_ERR_NOMEM;
	for (int id = 0; id < nr_ids; id++) {
		struct tep_event *ev;
		if (!counts[id])
			continue;
		ev = tep_find_event(tep, id);
		if (asprintf(&a->event_counts[a->nr_event_counts].name, "%s:%s",
			     ev ? ev->system : "unknown", ev ? ev->name : "unknown") < 0) {
			a->event_counts[a->nr_event_counts].name = NULL;
			return PCP_ERR_NOMEM;
		}
		a->event_counts[a->nr_event_counts++].count = counts[id];
	}
	qsort(a->event_counts, a->nr_event_counts, sizeof(*a->event_counts), count_cmp);
	return PCP_OK;
}

/* Records reach the churn model CHURN_PIPE inputs after they are decoded, in the same order:
 * meanwhile the prefetch of their PFN slot is on its way (the table outgrows the caches on long
 * traces; -45% of the model's time measured on a 287k-PFN recording). */
#define CHURN_PIPE 8

struct churn_input {
	struct pcp_event ev;
	int64_t missed;                 /* the record's missed-events mark (0: none) */
	int has_event;                  /* 0: the mark only (an IGNORED record) */
};

/* common_type, read in place for a host-order file (tep_data_type otherwise). A record too
 * short to hold it gets -1: damaged data. */
static inline int event_id(const struct tep_record *rec, int off, int size)
{
	uint16_t v16;
	uint32_t v32;

	if (rec->size < off + size)
		return -1;
	if (size == 2) {
		memcpy(&v16, (const char *)rec->data + off, 2);
		return v16;
	}
	memcpy(&v32, (const char *)rec->data + off, 4);
	return (int)v32;
}

static inline void churn_feed(struct pcp_churn_model *churn, struct pcp_lock_cause_model *lc,
			      const struct churn_input *in)
{
	if (in->missed)
		pcp_churn_missed(churn, in->ev.cpu, in->missed);
	if (in->has_event) {
		pcp_churn_event(churn, &in->ev);
		if (lc)
			pcp_lock_cause_event(lc, churn, &in->ev);
	}
}

/* Where every record's event id (common_type) lies, when the file is in the host's byte order:
 * read in place (event_id()) instead of through tep_data_type(), a library call per record
 * (11 % of the learning pass's analysis thread at -j 2). 0 when it cannot be read so. */
static int common_type_at(struct tep_handle *tep, int *off, int *size)
{
	struct tep_event **events = tep_list_events(tep, TEP_EVENT_SORT_ID);
	struct tep_format_field *f;

	if (!events || !events[0] || !(f = tep_find_common_field(events[0], "common_type")) ||
	    (f->size != 2 && f->size != 4) || tep_is_file_bigendian(tep) != tep_is_local_bigendian(tep))
		return 0;
	*off = f->offset;
	*size = f->size;
	return 1;
}

/* --infer-gap auto: a first pass over the start of the trace, until each kind has its samples
 * (or the trace ends), learns the gaps (lib/model/infer_gap.c). Only when locks are inferred. */
static int learn_infer_gaps(struct pcp_reader *reader, const struct pcp_kmem_parser *kmem,
			    int stack_id, uint32_t nr_cpus, struct pcp_filter *filter, uint64_t gaps[2],
			    char *errbuf, size_t errlen)
{
	struct tep_handle *tep = pcp_reader_tep(reader);
	struct pcp_gap_sampler sampler;
	struct tep_record *rec;
	int err, type_off = 0, type_size = 0, type_host = common_type_at(tep, &type_off, &type_size);

	if ((err = pcp_gap_sampler_init(&sampler, nr_cpus)))
		return pcp_errorf(errbuf, errlen, err, "out of memory");
	while (!pcp_gap_sampler_full(&sampler) && (rec = pcp_reader_next(reader))) {
		struct pcp_event ev;
		int id = type_host ? event_id(rec, type_off, type_size) : tep_data_type(tep, rec), kind;

		if (id < 0 || rec->cpu < 0 || (uint32_t)rec->cpu >= nr_cpus)
			continue;   /* the main pass reports damaged data */
		if (filter) {   /* the gaps of the records the analysis keeps (analysis_filter.h) */
			pcp_filter_start(filter, rec->ts);
			if (!pcp_filter_keep(filter, rec->data, rec->size, rec->ts, rec->cpu)) {
				if (rec->missed_events && pcp_filter_in_window(filter, rec->ts, rec->cpu))
					pcp_gap_sampler_mark(&sampler, (uint32_t)rec->cpu);
				continue;
			}
		}
		if (id == stack_id) {
			/* inside the bulk operation, as the churn model sees it; a mark still counts */
			if (rec->missed_events)
				pcp_gap_sampler_mark(&sampler, (uint32_t)rec->cpu);
			continue;
		}
		kind = pcp_kmem_decode(kmem, rec, id, &ev);
		if (kind == PCP_EV_IGNORED) {
			if (rec->missed_events)
				pcp_gap_sampler_mark(&sampler, (uint32_t)rec->cpu);
			continue;
		}
		pcp_gap_sampler_feed(&sampler, (uint32_t)rec->cpu, kind, rec->ts, rec->missed_events);
	}
	gaps[PCP_LOCK_KIND_REFILL] = pcp_gap_sampler_choose(&sampler, PCP_LOCK_KIND_REFILL);
	gaps[PCP_LOCK_KIND_DRAIN] = pcp_gap_sampler_choose(&sampler, PCP_LOCK_KIND_DRAIN);
	pcp_gap_sampler_release(&sampler);
	return PCP_OK;
}

/* What one analysis holds while it runs; run_release frees whatever is left of it. */
struct analyze_run {
	const char *path;
	struct pcp_analyze_opts opts;
	char *errbuf;
	size_t errlen;
	char *buffer;                   /* the buffer read, until the analysis takes it */
	const char *buffer_why;
	unsigned nr_data_buffers;
	uint32_t nr_cpus;
	struct pcp_reader *reader;
	struct tep_handle *tep;
	struct pcp_kmem_parser *kmem;
	struct pcp_percpu_parser *percpu;
	int percpu_present;
	struct pcp_stack_parser *stack;
	int stack_id;                   /* ftrace:kernel_stack, -1 absent */
	struct pcp_lock_cause_model *lcause;
	/* event ids: dense per-id counters; common_type read in place (see event_id()) */
	int nr_ids, type_host, type_off, type_size;
	uint64_t *counts;
	uint8_t *has_format;            /* per id: a record of an id without a format is damage */
	struct pcp_churn_opts copts;
	struct pcp_zone_map *zone_map;
	struct pcp_churn_model *churn;
	struct pcp_percpu_model *pmodel;
	struct pcp_lifecycle_model *lc;         /* only with mm_page_alloc and mm_page_free formats */
	struct pcp_filter *filter;              /* --from/--to/--cpus/--pid/--comm; NULL: none */
	uint64_t analyzable, pcp_blocks;
	struct pcp_analysis *a;
};

/* One buffer only: merged buffers would count every event once per buffer. */
static int run_open_trace(struct analyze_run *r)
{
	int err = pcp_choose_buffer(r->path, r->opts.buffer, &r->buffer, &r->buffer_why,
				    &r->nr_data_buffers, r->errbuf, r->errlen);

	if (!err)
		err = pcp_reader_open_buffer(r->path, PCP_READER_AUTO, r->buffer, &r->reader, r->errbuf,
					     r->errlen);
	if (err)
		return err;
	r->tep = pcp_reader_tep(r->reader);
	r->nr_cpus = pcp_reader_layout(r->reader)->nr_cpus;
	if (pcp_reader_buffer(r->reader) && pcp_reader_buffer(r->reader)->nr_cpus)
		r->nr_cpus = pcp_reader_buffer(r->reader)->nr_cpus;   /* that buffer's CPUs */
	return PCP_OK;
}

/* The window and filter resolved for this trace, and their description for every output. */
static int run_new_filter(struct analyze_run *r)
{
	char desc[1024];

	pcp_filter_spec_describe(r->opts.filter, desc, sizeof(desc));
	if (!(r->a->filter = strdup(desc)))
		return pcp_errorf(r->errbuf, r->errlen, PCP_ERR_NOMEM, "out of memory");
	if (!pcp_filter_spec_active(r->opts.filter))
		return PCP_OK;
	if (!(r->filter = malloc(sizeof(*r->filter))))
		return pcp_errorf(r->errbuf, r->errlen, PCP_ERR_NOMEM, "out of memory");
	if (pcp_filter_init(r->filter, r->opts.filter, r->tep))
		return pcp_errorf(r->errbuf, r->errlen, PCP_ERR_MODE,
				  "--pid/--comm need a common_pid field of 4 bytes in the trace's byte order");
	r->a->filtered = 1;
	return PCP_OK;
}

/* The analysis with what the file says of itself: buffer, version, CPUs, clock, time base. */
static int run_new_analysis(struct analyze_run *r)
{
	const struct pcp_tracedat_layout *lay = pcp_reader_layout(r->reader);
	struct pcp_analysis *a = r->a = calloc(1, sizeof(*a));

	if (!a || !(a->trace_file = strdup(r->path)))
		return pcp_errorf(r->errbuf, r->errlen, PCP_ERR_NOMEM, "out of memory");
	a->opts = r->opts;
	a->opts.buffer = NULL;   /* the caller's string: a->buffer is ours */
	a->buffer = r->buffer;
	r->buffer = NULL;
	a->buffer_why = r->buffer_why;
	a->nr_data_buffers = r->nr_data_buffers;
	a->file_version = lay->file_version;
	a->nr_cpus = r->nr_cpus;
	if (lay->trace_clock[0] && !(a->trace_clock = strdup(lay->trace_clock)))
		return pcp_errorf(r->errbuf, r->errlen, PCP_ERR_NOMEM, "out of memory");
	a->time_base = pcp_time_base_of(a->trace_clock, lay->tsc2nsec_mult != 0, &a->time_base_reason);
	a->opts.filter = NULL;   /* the caller's: a->filter describes it */
	a->opts.sink = NULL;
	return run_new_filter(r);
}

/* Whether the lifecycle model runs on a thread of its own (run_read_records). Asked before
 * the lifecycle part is enabled too (the learning pass ends by choosing the main pass's
 * decoding): the formats decide it, as in run_open_parsers. */
static int lifecycle_thread(const struct analyze_run *r)
{
	return r->opts.jobs > 1 && r->nr_cpus <= 65536 &&
	       tep_find_event_by_name(r->tep, "kmem", "mm_page_alloc") &&
	       tep_find_event_by_name(r->tep, "kmem", "mm_page_free");
}

/* How the main pass spends its -j threads besides the analysis thread (bench/RESULTS.md):
 * - the lifecycle model's thread (traces with alloc/free);
 * - the churn model's thread (with the lock-cause model's per-event part), when two or more
 *   are left and no timeline sink (--perfetto) is called from the churn model: the analysis
 *   thread keeps the merge, the parse and one copy of each event, read by both model threads;
 * - the lifecycle model's PFN shards (lifecycle_feed.h), 2 from -j 7, 4 from -j 16: the
 *   lifecycle thread keeps the order part (counts, occupancy) and the shards the blocks;
 * - the pairing's PFN shards (pair_shards.h): half of what is left, at least 1, at most
 *   PAIR_THREADS_MAX, a power of two (the analysis thread, which routes every block to them,
 *   does more than one shard: more shards would wait for it);
 * - decode threads: the rest.
 * When none is left to decode, the lifecycle thread (or else the first pairing thread) decodes
 * ahead whenever it waits for events and the analysis thread decodes what it needs first
 * itself: two busy threads on two cores. A third thread (a decode thread beside them) cost
 * more CPU than it saved on a 2-core machine: context switches and cache lines handed between
 * cores. */
#define PAIR_THREADS_MAX 4

#define LC_SHARDS_FROM_JOBS 7
#define LC_SHARDS_4_FROM_JOBS 16

struct thread_plan {
	unsigned lifecycle, churn, lc_shards, pair, decode;
	int helper;                     /* a model thread decodes when it waits (pcp_reader_help) */
};

static void plan_threads(const struct analyze_run *r, struct thread_plan *p)
{
	unsigned left = r->opts.jobs > 1 ? r->opts.jobs - 1 : 0;

	memset(p, 0, sizeof(*p));
	if (left && lifecycle_thread(r)) {
		p->lifecycle = 1;
		left--;
	}
	if (left >= 2 && r->nr_cpus <= 65536 && !r->opts.sink) {
		p->churn = 1;
		left--;
	}
	if (p->lifecycle && p->churn && r->opts.jobs >= LC_SHARDS_FROM_JOBS) {
		p->lc_shards = r->opts.jobs >= LC_SHARDS_4_FROM_JOBS ? 4 : 2;
		left -= p->lc_shards;
	}
	if (left && r->nr_cpus <= 65536) {
		p->pair = left / 2 > PAIR_THREADS_MAX ? PAIR_THREADS_MAX : left / 2 ? left / 2 : 1;
		while (p->pair & (p->pair - 1))   /* a power of two (pair_shards.h) */
			p->pair &= p->pair - 1;
		left -= p->pair;
	}
	p->decode = left;
	p->helper = !p->decode && (p->lifecycle || p->churn || p->pair);
	_Static_assert(1 + 4 + 1 <= PCP_FEED_MAX_CONSUMERS, "the feed's consumers");
}

static int set_main_pass_decoding(struct analyze_run *r, int rewind)
{
	struct thread_plan plan;

	plan_threads(r, &plan);
	return pcp_reader_set_decoding(r->reader, plan.decode, plan.helper, rewind, r->errbuf,
				       r->errlen);
}

/* -j 2's helper during the learning pass (run_learn_infer_gaps). */
struct learn_helper {
	pthread_t thread;
	struct pcp_reader *reader;
};

static void *learn_helper_main(void *arg)
{
	struct learn_helper *h = arg;

	pthread_setname_np(pthread_self(), "pcp-helper");   /* perf --sort comm, top -H */
	pcp_reader_load_kallsyms(h->reader);
	pcp_reader_help_loop(h->reader);
	return NULL;
}

/* Learn the infer gaps first, then start over: the direct path rewinds in place; the
 * libtracecmd path cannot, so the file is opened again (with a new kmem parser). */
static int run_learn_infer_gaps(struct analyze_run *r)
{
	struct pcp_analysis *a = r->a;
	int err;

	if (r->opts.infer_gap_ns != PCP_INFER_GAP_AUTO) {
		a->infer_gap_ns[0] = a->infer_gap_ns[1] = r->opts.infer_gap_ns;
		return PCP_OK;
	}
	/* -j 2: one helper thread beside this pass, which parses the kallsyms first (when the
	 * trace resolves addresses) and then decodes ahead; the analysis thread decodes what it
	 * needs first itself. A decode thread plus a kallsyms thread beside it (three threads)
	 * made the pass slower than -j 1 on two cores (bench/RESULTS.md). */
	if (r->opts.jobs == 2) {
		struct learn_helper h = { .reader = r->reader };
		int started;

		if ((err = pcp_reader_set_decoding(r->reader, 0, 1, 0, r->errbuf, r->errlen)))
			return err;
		started = !pthread_create(&h.thread, NULL, learn_helper_main, &h);
		err = learn_infer_gaps(r->reader, r->kmem, r->stack_id, r->nr_cpus, r->filter,
				       a->infer_gap_ns, r->errbuf, r->errlen);
		if (started) {
			pcp_reader_help_stop(r->reader);
			pthread_join(h.thread, NULL);
		} else {
			pcp_reader_preload_kallsyms(r->reader);
		}
	} else {
		err = pcp_reader_set_decoding(r->reader, r->opts.jobs > 1 ? r->opts.jobs - 1 : 0, 0, 0,
					      r->errbuf, r->errlen);
		if (!err)
			err = learn_infer_gaps(r->reader, r->kmem, r->stack_id, r->nr_cpus, r->filter,
					       a->infer_gap_ns, r->errbuf, r->errlen);
	}
	if (err)
		return err;
	/* start over, decoding as the main pass will */
	err = set_main_pass_decoding(r, 1);
	if (err != PCP_ERR_MODE)
		return err;
	pcp_kmem_parser_free(r->kmem);
	r->kmem = NULL;
	pcp_reader_close(r->reader);
	r->reader = NULL;
	if ((err = pcp_reader_open_buffer(r->path, PCP_READER_AUTO, a->buffer, &r->reader, r->errbuf,
					  r->errlen)))
		return err;
	r->tep = pcp_reader_tep(r->reader);
	return pcp_kmem_parser_new(r->tep, r->opts.refill_source, &r->kmem, r->errbuf, r->errlen);
}

/* The kmem and percpu parsers (and the infer gaps when zone locks are inferred). */
static int run_open_parsers(struct analyze_run *r)
{
	int err, learning;

	if ((err = pcp_kmem_parser_new(r->tep, r->opts.refill_source, &r->kmem, r->errbuf, r->errlen)))
		return err;
	if ((err = pcp_stack_parser_new(r->tep, &r->stack)))
		return pcp_errorf(r->errbuf, r->errlen, err, "out of memory");
	r->stack_id = pcp_stack_event_id(r->stack);
	/* with a core to spare, the kallsyms parse (tens of ms, serial at the end otherwise) runs
	 * beside the analysis: on a thread of its own, or first thing on the learning pass's
	 * helper at -j 2 */
	learning = !pcp_kmem_native_locks(r->kmem) && r->opts.infer_gap_ns == PCP_INFER_GAP_AUTO;
	if (r->opts.jobs > 1 && !(learning && r->opts.jobs == 2))
		pcp_reader_preload_kallsyms(r->reader);
	if (!pcp_kmem_native_locks(r->kmem) && (err = run_learn_infer_gaps(r)))
		return err;
	/* the learning pass may have opened the file again: the parser of the tep now read */
	pcp_stack_parser_free(r->stack);
	if ((err = pcp_stack_parser_new(r->tep, &r->stack)))
		return pcp_errorf(r->errbuf, r->errlen, err, "out of memory");
	if ((err = pcp_percpu_parser_new(r->tep, &r->percpu)))
		return pcp_errorf(r->errbuf, r->errlen, err, "cannot resolve the percpu events");
	r->percpu_present = pcp_percpu_parser_present(r->percpu);
	/* The lifecycle part only for traces recorded with alloc/free (pcprecord --lifecycle):
	 * any other trace is decoded exactly as before. After the infer-gap pass, which it must
	 * not change. */
	if (tep_find_event_by_name(r->tep, "kmem", "mm_page_alloc") &&
	    tep_find_event_by_name(r->tep, "kmem", "mm_page_free") &&
	    (err = pcp_kmem_parser_enable_lifecycle(r->kmem, r->errbuf, r->errlen)))
		return err;
	r->a->refill_source = pcp_kmem_refill_source(r->kmem);
	r->a->block_key = pcp_kmem_block_key(r->kmem);
	r->a->refill_flag = pcp_kmem_refill_flag(r->kmem);
	return PCP_OK;
}

/* Dense per-id counters: event ids are small kernel-assigned integers. */
static int run_index_event_ids(struct analyze_run *r)
{
	struct tep_event **events = tep_list_events(r->tep, TEP_EVENT_SORT_ID);

	r->type_host = common_type_at(r->tep, &r->type_off, &r->type_size);
	for (int i = 0; events && events[i]; i++)
		if (events[i]->id + 1 > r->nr_ids)
			r->nr_ids = events[i]->id + 1;
	r->counts = calloc((size_t)r->nr_ids + 1, sizeof(*r->counts));
	r->has_format = calloc((size_t)r->nr_ids + 1, 1);
	for (int i = 0; r->has_format && events && events[i]; i++)
		if (events[i]->id >= 0)
			r->has_format[events[i]->id] = 1;
	if (!r->counts || !r->has_format)
		return pcp_errorf(r->errbuf, r->errlen, PCP_ERR_NOMEM, "out of memory");
	return PCP_OK;
}

/* The churn model's options: the caller's, plus how zone locks are known. */
static void run_churn_opts(struct analyze_run *r)
{
	struct pcp_churn_opts *copts = &r->copts;

	struct thread_plan plan;

	pcp_churn_opts_default(copts);
	plan_threads(r, &plan);
	copts->pair_threads = plan.pair;
	copts->churn_window_ns = r->opts.churn_window_ns;
	copts->bucket_ns = r->opts.bucket_ns;
	copts->top_n = r->opts.top_n;
	copts->no_time_base = r->a->time_base == PCP_TIME_NONE;
	/* Inferred is decided before we know whether any refill/drain comes; corrected to none
	 * after the pass if none came (the inference then has nothing to produce anyway). */
	copts->lock_source = pcp_kmem_native_locks(r->kmem) ? PCP_LOCK_NATIVE : PCP_LOCK_INFERRED;
	if (copts->lock_source == PCP_LOCK_INFERRED) {
		copts->infer_gap_ns[0] = r->a->infer_gap_ns[0];
		copts->infer_gap_ns[1] = r->a->infer_gap_ns[1];
	}
}

/* The lifecycle model: page size from the trace, occupancy from the snapshots' per-CPU pageset
 * counts when the meta has them (docs/METRICS.md, "Lifecycle"). */
static int run_open_lifecycle(struct analyze_run *r)
{
	struct pcp_lifecycle_opts lo;
	size_t n = r->nr_cpus ? r->nr_cpus : 1;
	int64_t *start = calloc(n, sizeof(*start)), *end = calloc(n, sizeof(*end));
	int page_size = tep_get_page_size(r->tep), err;

	if (!start || !end) {
		free(start);
		free(end);
		return PCP_ERR_NOMEM;
	}
	pcp_lifecycle_opts_default(&lo);
	if (page_size > 0 && (page_size & (page_size - 1)) == 0)
		lo.page_shift = (unsigned)__builtin_ctz((unsigned)page_size);
	lo.no_time_base = r->a->time_base == PCP_TIME_NONE;
	lo.bucket_ns = r->opts.bucket_ns;
	/* a window or filter: the snapshots bound the whole recording, not what is kept */
	if (!r->filter && r->a->meta && pcp_meta_pcp_pages(&r->a->meta->before, r->nr_cpus, start))
		lo.start_pages = start;
	if (!r->filter && r->a->meta && pcp_meta_pcp_pages(&r->a->meta->after, r->nr_cpus, end))
		lo.end_pages = end;
	err = pcp_lifecycle_new(r->nr_cpus, &lo, &r->lc);
	free(start);
	free(end);
	return err;
}

/* The meta beside the trace (zone spans for inferred locks, percpu_stats snapshots), then the
 * churn model and, when the trace has percpu events, the percpu model. */
static int run_open_models(struct analyze_run *r)
{
	struct pcp_analysis *a = r->a;
	const char *path = r->path;
	char *errbuf = r->errbuf;
	size_t errlen = r->errlen;
	int err;

	run_churn_opts(r);
	if ((err = pcp_meta_load(path, &a->meta)))
		return pcp_errorf(errbuf, errlen, err, "%s.meta.json is not a valid JSON object", path);
	r->copts.meta = a->meta;   /* zone-lock hold: the pageset batch */
	r->copts.sink = r->opts.sink;
	/* Zone spans are PFN ranges: blocks keyed by page pointer have no zone (zone_map n/a). */
	if (r->copts.lock_source == PCP_LOCK_INFERRED && a->block_key == PCP_BLOCK_KEY_PFN) {
		if ((err = pcp_zone_map_from_meta(a->meta, &r->zone_map)))
			return pcp_errorf(errbuf, errlen, err, "%s.meta.json: damaged zoneinfo zone span", path);
		r->copts.zone_map = r->zone_map;
		a->zone_map = r->zone_map != NULL;
	}
	if ((err = pcp_churn_new(r->nr_cpus, &r->copts, &r->churn)))
		return pcp_errorf(errbuf, errlen, err, "cannot create the churn model");
	if (r->percpu_present && (err = pcp_percpu_model_new(&r->pmodel)))
		return pcp_errorf(errbuf, errlen, err, "cannot create the percpu model");
	if (pcp_kmem_has_lifecycle(r->kmem) && (err = run_open_lifecycle(r)))
		return pcp_errorf(errbuf, errlen, err, "cannot create the lifecycle model");
	if (r->stack_id >= 0 && (err = pcp_lock_cause_new(r->nr_cpus, r->opts.top_n, &r->lcause)))
		return pcp_errorf(errbuf, errlen, err, "cannot create the lock-cause model");
	return PCP_OK;
}

/* The pass over every record: decode, count, feed the models (through mf those that run on
 * threads of their own: lc_fed, churn_fed). The hot path: the run's fields are copied to
 * locals first so that the loop keeps them in registers. */
static int read_records(struct analyze_run *r, struct pcp_feed *mf, int lc_fed, int churn_fed)
{
	struct pcp_reader *reader = r->reader;
	struct tep_handle *tep = r->tep;
	const struct pcp_kmem_parser *kmem = r->kmem;
	struct pcp_percpu_parser *percpu = r->percpu;
	struct pcp_churn_model *churn = r->churn;
	struct pcp_percpu_model *pmodel = r->pmodel;
	struct pcp_lifecycle_model *lc = lc_fed ? NULL : r->lc;
	struct pcp_feed *lcf = mf;      /* every record goes to the feed once: both read it */
	struct pcp_lock_cause_model *lcause = r->lcause;
	const struct pcp_stack_parser *stack = r->stack;
	const int stack_id = r->stack_id;
	/* inline pairing: its slots prefetched here, or by the churn thread (churn_feed.c) */
	const struct pcp_pair_table *pairs = churn_fed ? NULL : pcp_churn_pair_table(churn);
	uint64_t *counts = r->counts;
	const uint8_t *has_format = r->has_format;
	const int nr_ids = r->nr_ids, type_host = r->type_host, type_off = r->type_off;
	const int type_size = r->type_size, percpu_present = r->percpu_present;
	const uint32_t nr_cpus = r->nr_cpus;
	struct pcp_filter *filter = r->filter;
	const struct pcp_timeline_sink *sink = r->opts.sink && r->opts.sink->percpu ? r->opts.sink : NULL;
	uint64_t analyzable = 0, pcp_blocks = 0, nr_in = 0;
	struct churn_input pipe[CHURN_PIPE];
	struct tep_record *rec;

	while ((rec = pcp_reader_next(reader))) {
		struct churn_input *in = &pipe[nr_in & (CHURN_PIPE - 1)];
		int id = type_host ? event_id(rec, type_off, type_size) : tep_data_type(tep, rec);
		int kind;

		if (id < 0 || id >= nr_ids || !has_format[id] || rec->cpu < 0 || (uint32_t)rec->cpu >= nr_cpus)
			return pcp_errorf(r->errbuf, r->errlen, PCP_ERR_CORRUPT,
					  "record %llu (CPU %d) has an unknown event id %d: damaged data",
					  (unsigned long long)pcp_reader_records(reader), rec->cpu, id);
		/* A window or filter (analysis_filter.h): a record it drops is not in the analysis;
		 * its missed-events mark is, when the record is inside the window on a kept CPU. */
		if (filter) {
			int keep;

			pcp_filter_start(filter, rec->ts);
			keep = pcp_filter_keep(filter, rec->data, rec->size, rec->ts, rec->cpu);
			filter->kept += keep;
			filter->dropped += !keep;
			if (!keep && (!rec->missed_events || !pcp_filter_in_window(filter, rec->ts, rec->cpu)))
				continue;
			if (!keep && churn_fed) {
				pcp_feed_push_missed(mf, (uint32_t)rec->cpu, rec->ts, rec->missed_events);
				continue;
			}
			if (!keep) {
				if (nr_in >= CHURN_PIPE)
					churn_feed(churn, lcause, in);
				in->missed = rec->missed_events;
				in->has_event = 0;
				in->ev.ts_ns = rec->ts;
				in->ev.cpu = (uint32_t)rec->cpu;   /* churn_feed's mark goes to this CPU */
				nr_in++;
				continue;
			}
		}
		counts[id]++;
		/* The slot is reused: its event, CHURN_PIPE inputs old, goes to the model first
		 * (fed: the mark now, the event below, in this order as churn_feed() takes them). */
		if (churn_fed && rec->missed_events)
			pcp_feed_push_missed(mf, (uint32_t)rec->cpu, rec->ts, rec->missed_events);
		else if (!churn_fed && nr_in >= CHURN_PIPE)
			churn_feed(churn, lcause, in);
		in->missed = rec->missed_events;
		in->has_event = 0;
		in->ev.ts_ns = rec->ts;
		in->ev.cpu = (uint32_t)rec->cpu;
		in->ev.kind = PCP_EV_OTHER;
		if (id == stack_id) {
			uint64_t frames[PCP_STACK_MAX_FRAMES];
			unsigned n = pcp_stack_decode(stack, rec, frames, &in->ev.pid);

			pcp_lock_cause_intern(lcause, frames, n, &in->ev);
			in->ev.kind = PCP_EV_STACK;
			in->has_event = 1;
			nr_in++;
			if (lc)         /* a stack record too: it only advances time there */
				pcp_lifecycle_event(lc, &in->ev);
			if (lcf)
				pcp_feed_push(lcf, &in->ev);
			continue;
		}
		kind = pcp_kmem_decode(kmem, rec, id, &in->ev);
		/* IGNORED records still go to the model: first/last timestamps are over all records
		 * (docs/METRICS.md); the model does not let them break inferred runs. */
		if (kind == PCP_EV_OTHER && percpu_present) {
			kind = pcp_percpu_decode(percpu, rec, id, &in->ev);
			if (kind != PCP_EV_OTHER) {
				in->ev.kind = (uint8_t)kind;
				pcp_percpu_model_event(pmodel, &in->ev);
				if (sink)
					sink->percpu(sink->ctx, &in->ev, pcp_percpu_model_open_bytes(pmodel));
				analyzable++;
			}
		} else if (kind != PCP_EV_OTHER) {
			/* An order no kernel has (2^33 pages and up): the record is not what its format
			 * says, and the rest of the trace cannot be trusted more (docs/METRICS.md) */
			if (((1u << kind) & PCP_BLOCK_KINDS) && in->ev.block.order > PCP_MAX_BLOCK_ORDER)
				return pcp_errorf(r->errbuf, r->errlen, PCP_ERR_CORRUPT,
						  "record %llu (CPU %d) holds a page block of order %u (above %d): "
						  "damaged data", (unsigned long long)pcp_reader_records(reader),
						  rec->cpu, in->ev.block.order, PCP_MAX_BLOCK_ORDER);
			/* the lifecycle's own events alone are no analysis (docs/METRICS.md) */
			analyzable += kind != PCP_EV_PAGE_ALLOC && kind != PCP_EV_PAGE_FREE &&
				      kind != PCP_EV_ZONE_LOCKED;
			if (kind == PCP_EV_REFILL || kind == PCP_EV_DRAIN) {
				pcp_blocks++;
				if (pairs)   /* inline pairing (with threads: theirs) */
					pcp_pair_prefetch(pairs, in->ev.block.pfn);
			}
		}
		in->ev.kind = (uint8_t)kind;
		in->has_event = 1;
		nr_in++;
		if (lc)         /* every record: first/last timestamps are over all of them */
			pcp_lifecycle_event(lc, &in->ev);
		if (lcf)
			pcp_feed_push(lcf, &in->ev);
	}
	for (uint64_t i = nr_in > CHURN_PIPE ? nr_in - CHURN_PIPE : 0; !churn_fed && i < nr_in; i++)
		churn_feed(churn, lcause, &pipe[i & (CHURN_PIPE - 1)]);
	r->analyzable = analyzable;
	r->pcp_blocks = pcp_blocks;
	return pcp_reader_status(reader, r->errbuf, r->errlen);
}

/* -j >= 2: the lifecycle model and (-j >= 3) the churn model on threads of their own, fed
 * from the same batches (event_feed.h); inline whatever cannot start. The pairing's threads
 * are the churn model's (pair_shards.h). */
static int run_read_records(struct analyze_run *r)
{
	struct pcp_feed_consumer c[PCP_FEED_MAX_CONSUMERS] = { { 0 } };
	struct pcp_churn_feed cf = { r->churn, r->lcause };
	struct pcp_lc_shards *shards = NULL;
	struct pcp_feed *mf = NULL;
	struct thread_plan plan;
	int err, pair_helps = 0, lc_fed = 0, churn_fed = 0;
	size_t n = 0;

	plan_threads(r, &plan);
	/* the lifecycle consumer first: it is the one that decodes ahead (helper mode); its
	 * shards, if any, next (it waits for them) */
	if (r->lc && plan.lifecycle && plan.lc_shards && !pcp_lc_shards_new(r->lc, plan.lc_shards, &shards)) {
		pcp_lc_shards_consumers(shards, c, 0);
		n += 1 + plan.lc_shards;
	} else if (r->lc && plan.lifecycle) {
		pcp_lc_feed_consumer(r->lc, &c[n++]);
	}
	if (plan.churn)
		pcp_churn_feed_consumer(&cf, &c[n++]);
	if (n && !pcp_feed_start_n(c, n, &mf)) {
		lc_fed = r->lc && plan.lifecycle;
		churn_fed = plan.churn;
	}
	if (!lc_fed && shards) {   /* the model runs inline, whole */
		pcp_lc_shards_end(shards);
		shards = NULL;
	}
	/* after the learning pass this is already so (no second start-over) */
	if ((err = set_main_pass_decoding(r, 0))) {
		pcp_feed_finish(mf);
		pcp_lc_shards_end(shards);
		return err;
	}
	if (plan.helper && mf && (lc_fed || !plan.pair))
		pcp_feed_set_idle(mf, pcp_reader_help, r->reader);
	else if (plan.helper)
		pair_helps = pcp_churn_set_pair_idle(r->churn, pcp_reader_help, r->reader);
	err = read_records(r, mf, lc_fed, churn_fed);
	pcp_feed_finish(mf);
	pcp_lc_shards_end(shards);   /* the shards' sums into the model, before its finish */
	if (pair_helps)   /* the pairing thread lives on until the churn model finishes */
		pcp_churn_set_pair_idle(r->churn, NULL, NULL);
	return err;
}

/* The task names of the longest zone-lock acquisitions, from the trace's cmdlines (as
 * trace-cmd report names them: "<idle>" for pid 0, "<...>" when the file has no name). */
static void lock_hold_comms(struct tep_handle *tep, struct pcp_lock_hold_results *h)
{
	for (size_t i = 0; h && i < h->nr_longest; i++) {
		struct pcp_lock_hold_acq *q = &h->longest[i];
		const char *comm = q->pid >= 0 ? tep_data_comm_from_pid(tep, q->pid) : NULL;

		snprintf(q->comm, sizeof(q->comm), "%s", comm ? comm : "");
	}
}

/* The lifecycle results, kept only when the trace held an alloc or a free; tasks get their
 * comm from the trace's cmdlines. */
static int run_finish_lifecycle(struct analyze_run *r)
{
	struct pcp_lifecycle_results *lr;
	int err = pcp_lifecycle_finish(r->lc, r->a->churn, &lr);

	if (err)
		return err;
	if (lr->allocs + lr->frees == 0) {
		pcp_lifecycle_results_free(lr);
		return PCP_OK;
	}
	if (!(lr->task_comm = calloc(lr->nr_tasks ? lr->nr_tasks : 1, sizeof(*lr->task_comm)))) {
		pcp_lifecycle_results_free(lr);
		return PCP_ERR_NOMEM;
	}
	for (size_t i = 0; i < lr->nr_tasks; i++) {
		const char *comm = lr->tasks[i].pid >= 0 && tep_is_pid_registered(r->tep, lr->tasks[i].pid)
				   ? tep_data_comm_from_pid(r->tep, lr->tasks[i].pid) : NULL;

		if (comm && !(lr->task_comm[i] = strdup(comm))) {
			pcp_lifecycle_results_free(lr);
			return PCP_ERR_NOMEM;
		}
	}
	r->a->lifecycle = lr;
	return PCP_OK;
}

/* After the pass: the models' results, lost events, lock source, event counts, the
 * percpu_stats check; no analyzable event at all is an error of its own. */
static int run_finish(struct analyze_run *r)
{
	struct pcp_analysis *a = r->a;
	const struct pcp_trace_buffer *buf = pcp_reader_buffer(r->reader);
	char *errbuf = r->errbuf, lost_source[128];
	size_t errlen = r->errlen;
	int err;

	a->events_total = pcp_reader_records(r->reader);
	if (r->filter) {   /* the analysis is of the kept records (docs/METRICS.md) */
		a->events_total = r->filter->kept;
		a->window_from_ns = r->filter->from_ns;
		a->window_to_ns = r->filter->to_ns;
	}
	if (!r->analyzable && r->filter && !a->events_total)   /* the selection, not the trace */
		return pcp_errorf(errbuf, errlen, PCP_ERR_NO_EVENTS,
				  "no event that pcptrace analyzes (the window and filters keep none of "
				  "the trace's %llu records)", (unsigned long long)pcp_reader_records(r->reader));
	if (!r->analyzable)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NO_EVENTS, "no event that pcptrace analyzes (%s)",
				  a->events_total ? "no PCP refill/drain, zone-lock or percpu record"
						  : "the trace holds no records");
	if ((err = pcp_churn_finish(r->churn, &a->churn)))
		return pcp_errorf(errbuf, errlen, err, "churn model failed");
	lock_hold_comms(r->tep, a->churn->lock_hold);
	/* Losses from every source the file has; the meta describes the recorder's one buffer. */
	pcp_event_loss_apply(a->churn, buf ? buf->cpustat : NULL, buf ? buf->nr_cpus : 0,
			     r->nr_data_buffers <= 1 ? a->meta : NULL, lost_source, sizeof(lost_source));
	if (!(a->events_lost_source = strdup(lost_source)))
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	a->lock_source = r->copts.lock_source;
	if (a->lock_source == PCP_LOCK_INFERRED && !r->pcp_blocks)
		a->lock_source = PCP_LOCK_NONE;
	a->churn->lock_source = a->lock_source;

	if (r->lc && (err = run_finish_lifecycle(r)))
		return pcp_errorf(errbuf, errlen, err, "lifecycle model failed");
	if (r->pmodel && (err = pcp_percpu_model_finish(r->pmodel, r->tep, &a->percpu)))
		return pcp_errorf(errbuf, errlen, err, "percpu model failed");
	/* a trace recorded without --stacks has the kernel_stack format but no record of it */
	if (r->lcause && r->counts[r->stack_id] &&
	    (err = pcp_lock_cause_finish(r->lcause, r->tep, &a->lock_cause)))
		return pcp_errorf(errbuf, errlen, err, "lock-cause model failed");
	/* kallsyms is read at the first address lookup (the two finishes above): a section that
	 * cannot be read then would leave call sites and stacks unnamed, silently */
	if ((err = pcp_reader_ksyms_status(r->reader)))
		return pcp_errorf(errbuf, errlen, err == PCP_ERR_NOMEM ? err : PCP_ERR_CORRUPT,
				  "its kallsyms section cannot be read (%s)", pcp_strerror(err));
	if ((err = build_counts(r->tep, r->counts, r->nr_ids, a)))
		return pcp_errorf(errbuf, errlen, err, "out of memory");
	/* The percpu_stats before/after check needs the snapshots: keep it with the results so
	 * the text and JSON reports show it, not only the database. */
	if (r->opts.sink && r->opts.sink->names)
		r->opts.sink->names(r->opts.sink->ctx, r->tep);
	/* with a window or filter the snapshots do not bound what is analyzed: no check */
	if (a->percpu && r->filter)
		a->percpu->check.state = PCP_PERCPU_CHECK_FILTERED;
	if (a->percpu && !r->filter && (err = pcp_percpu_attach_meta(a->percpu, a->meta, a->churn->lossy)))
		return pcp_errorf(errbuf, errlen, err, "%s.meta.json: damaged percpu_stats snapshot", r->path);
	return PCP_OK;
}

static void run_release(struct analyze_run *r)
{
	free(r->filter);
	free(r->counts);
	free(r->has_format);
	if (r->pmodel)
		pcp_percpu_model_free(r->pmodel);
	pcp_lifecycle_free(r->lc);
	pcp_lock_cause_free(r->lcause);
	pcp_stack_parser_free(r->stack);
	if (r->churn)
		pcp_churn_free(r->churn);
	pcp_zone_map_free(r->zone_map);
	if (r->percpu)
		pcp_percpu_parser_free(r->percpu);
	pcp_kmem_parser_free(r->kmem);
	pcp_reader_close(r->reader);
	pcp_analysis_free(r->a);
	free(r->buffer);
}

int pcp_analyze_file(const char *path, const struct pcp_analyze_opts *opts_in,
		     struct pcp_analysis **out, char *errbuf, size_t errlen)
{
	struct analyze_run r = { .path = path, .errbuf = errbuf, .errlen = errlen, .stack_id = -1 };
	int err;

	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (opts_in)
		r.opts = *opts_in;
	else
		pcp_analyze_opts_default(&r.opts);

	pcp_tracedat_verified_scope(1);   /* the buffer choice and the reader walk the same file */
	err = run_open_trace(&r);
	pcp_tracedat_verified_scope(0);
	if (!err)
		err = run_new_analysis(&r);
	if (!err)
		err = run_open_parsers(&r);
	if (!err)
		err = run_index_event_ids(&r);
	if (!err)
		err = run_open_models(&r);
	if (!err)
		err = run_read_records(&r);
	if (!err)
		err = run_finish(&r);
	if (!err) {
		*out = r.a;
		r.a = NULL;
	}
	run_release(&r);
	return err;
}

void pcp_analysis_free(struct pcp_analysis *a)
{
	if (!a)
		return;
	free(a->trace_file);
	free(a->trace_clock);
	free(a->buffer);
	free(a->events_lost_source);
	free(a->filter);
	for (size_t i = 0; i < a->nr_event_counts; i++)
		free(a->event_counts[i].name);
	free(a->event_counts);
	if (a->churn)
		pcp_churn_results_free(a->churn);
	if (a->percpu)
		pcp_percpu_results_free(a->percpu);
	pcp_lifecycle_results_free(a->lifecycle);
	pcp_lock_cause_results_free(a->lock_cause);
	pcp_meta_free(a->meta);
	free(a);
}
