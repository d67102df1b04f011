/* One trace.dat in, one analysis out: trace reader -> parse_kmem / parse_percpu -> churn and
 * percpu models. Never a partial analysis: any failure frees everything and returns an error.
 *
 * Iteration: the reader's direct ring-buffer path (lib/tracedat/ringbuf_decode.c) or its merge over
 * tracecmd_read_data (see lib/tracedat/trace_reader.c). Per record here: one tep_data_type()
 * (type field read), an array increment for event_counts, a few integer compares in
 * pcp_kmem_decode, and the model calls; no allocation, no string compare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event-parse.h>
#include "model/analyze.h"
#include "tracedat/buffer_choice.h"
#include "common/error.h"
#include "tracedat/event_loss.h"
#include "model/infer_gap.h"
#include "meta/meta.h"
#include "model/pair_events.h"
#include "events/parse_kmem.h"
#include "model/percpu.h"
#include "tracedat/time_base.h"
#include "tracedat/trace_reader.h"
#include "model/zone_map.h"

void pcp_analyze_opts_default(struct pcp_analyze_opts *o)
{
	o->churn_window_ns = 1000000;
	o->bucket_ns = 10000000;
	o->top_n = 100;
	o->infer_gap_ns = PCP_INFER_GAP_AUTO;
	o->refill_source = PCP_REFILL_AUTO;
	o->buffer = NULL;
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

static inline void churn_feed(struct pcp_churn_model *churn, const struct churn_input *in)
{
	if (in->missed)
		pcp_churn_missed(churn, in->ev.cpu, in->missed);
	if (in->has_event)
		pcp_churn_event(churn, &in->ev);
}

/* --infer-gap auto: a first pass over the start of the trace, until each kind has its samples
 * (or the trace ends), learns the gaps (lib/model/infer_gap.c). Only when locks are inferred. */
static int learn_infer_gaps(struct pcp_reader *reader, const struct pcp_kmem_parser *kmem,
			    uint32_t nr_cpus, uint64_t gaps[2], char *errbuf, size_t errlen)
{
	struct tep_handle *tep = pcp_reader_tep(reader);
	struct pcp_gap_sampler sampler;
	struct tep_record *rec;
	int err;

	if ((err = pcp_gap_sampler_init(&sampler, nr_cpus)))
		return pcp_errorf(errbuf, errlen, err, "out of memory");
	while (!pcp_gap_sampler_full(&sampler) && (rec = pcp_reader_next(reader))) {
		struct pcp_event ev;
		int id = tep_data_type(tep, rec), kind;

		if (id < 0 || rec->cpu < 0 || (uint32_t)rec->cpu >= nr_cpus)
			continue;   /* the main pass reports damaged data */
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

int pcp_analyze_file(const char *path, const struct pcp_analyze_opts *opts_in,
		     struct pcp_analysis **out, char *errbuf, size_t errlen)
{
	struct pcp_analyze_opts opts;
	struct pcp_reader *reader = NULL;
	struct pcp_kmem_parser *kmem = NULL;
	struct pcp_percpu_parser *percpu = NULL;
	struct pcp_churn_model *churn = NULL;
	struct pcp_zone_map *zone_map = NULL;
	struct pcp_percpu_model *pmodel = NULL;
	struct pcp_analysis *a = NULL;
	struct pcp_churn_opts copts;
	struct tep_handle *tep;
	struct tep_event **events;
	struct tep_record *rec;
	struct churn_input pipe[CHURN_PIPE];
	const struct pcp_pair_table *pairs;
	uint64_t nr_in = 0;
	uint64_t *counts = NULL;
	uint8_t *has_format = NULL;   /* per id: a record of an id without a format is damage */
	uint64_t analyzable = 0, pcp_blocks = 0;
	uint32_t nr_cpus;
	char *buffer = NULL, lost_source[128];
	const char *buffer_why = NULL;
	unsigned nr_data_buffers = 0;
	int nr_ids = 0, percpu_present, err;
	int type_host = 0, type_off = 0, type_size = 0;   /* see event_id() */

	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (opts_in)
		opts = *opts_in;
	else
		pcp_analyze_opts_default(&opts);

	/* One buffer only: merged buffers would count every event once per buffer. */
	err = pcp_choose_buffer(path, opts.buffer, &buffer, &buffer_why, &nr_data_buffers, errbuf, errlen);
	if (!err)
		err = pcp_reader_open_buffer(path, PCP_READER_AUTO, buffer, &reader, errbuf, errlen);
	if (err) {
		free(buffer);
		return err;
	}
	tep = pcp_reader_tep(reader);
	nr_cpus = pcp_reader_layout(reader)->nr_cpus;
	if (pcp_reader_buffer(reader) && pcp_reader_buffer(reader)->nr_cpus)
		nr_cpus = pcp_reader_buffer(reader)->nr_cpus;   /* that buffer's CPUs */

	a = calloc(1, sizeof(*a));
	if (!a || !(a->trace_file = strdup(path))) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	a->opts = opts;
	a->opts.buffer = NULL;   /* the caller's string: a->buffer is ours */
	a->buffer = buffer;
	buffer = NULL;
	a->buffer_why = buffer_why;
	a->nr_data_buffers = nr_data_buffers;
	a->file_version = pcp_reader_layout(reader)->file_version;
	a->nr_cpus = nr_cpus;
	if (pcp_reader_layout(reader)->trace_clock[0] &&
	    !(a->trace_clock = strdup(pcp_reader_layout(reader)->trace_clock))) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	a->time_base = pcp_time_base_of(a->trace_clock, pcp_reader_layout(reader)->tsc2nsec_mult != 0,
					&a->time_base_reason);

	if ((err = pcp_kmem_parser_new(tep, opts.refill_source, &kmem, errbuf, errlen)))
		goto fail;
	/* Learn the infer gaps first, then start over: the direct path rewinds in place; the
	 * libtracecmd path cannot, so the file is opened again. */
	if (!pcp_kmem_native_locks(kmem)) {
		if (opts.infer_gap_ns != PCP_INFER_GAP_AUTO) {
			a->infer_gap_ns[0] = a->infer_gap_ns[1] = opts.infer_gap_ns;
		} else {
			if ((err = learn_infer_gaps(reader, kmem, nr_cpus, a->infer_gap_ns, errbuf, errlen)))
				goto fail;
			err = pcp_reader_rewind(reader, errbuf, errlen);
			if (err == PCP_ERR_MODE) {
				pcp_kmem_parser_free(kmem);
				kmem = NULL;
				pcp_reader_close(reader);
				reader = NULL;
				if ((err = pcp_reader_open_buffer(path, PCP_READER_AUTO, a->buffer, &reader,
								  errbuf, errlen)))
					goto fail;
				tep = pcp_reader_tep(reader);
				if ((err = pcp_kmem_parser_new(tep, opts.refill_source, &kmem, errbuf, errlen)))
					goto fail;
			} else if (err) {
				goto fail;
			}
		}
	}
	if ((err = pcp_percpu_parser_new(tep, &percpu))) {
		pcp_errorf(errbuf, errlen, err, "cannot resolve the percpu events");
		goto fail;
	}
	percpu_present = pcp_percpu_parser_present(percpu);
	a->refill_source = pcp_kmem_refill_source(kmem);
	a->block_key = pcp_kmem_block_key(kmem);
	a->refill_flag = pcp_kmem_refill_flag(kmem);

	/* Dense per-id counters: event ids are small kernel-assigned integers. */
	events = tep_list_events(tep, TEP_EVENT_SORT_ID);
	if (events && events[0]) {
		struct tep_format_field *f = tep_find_common_field(events[0], "common_type");
		if (f && (f->size == 2 || f->size == 4) &&
		    tep_is_file_bigendian(tep) == tep_is_local_bigendian(tep)) {
			type_host = 1;
			type_off = f->offset;
			type_size = f->size;
		}
	}
	for (int i = 0; events && events[i]; i++)
		if (events[i]->id + 1 > nr_ids)
			nr_ids = events[i]->id + 1;
	counts = calloc((size_t)nr_ids + 1, sizeof(*counts));
	has_format = calloc((size_t)nr_ids + 1, 1);
	for (int i = 0; has_format && events && events[i]; i++)
		if (events[i]->id >= 0)
			has_format[events[i]->id] = 1;
	if (!counts || !has_format) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}

	pcp_churn_opts_default(&copts);
	copts.churn_window_ns = opts.churn_window_ns;
	copts.bucket_ns = opts.bucket_ns;
	copts.top_n = opts.top_n;
	copts.no_time_base = a->time_base == PCP_TIME_NONE;
	/* Inferred is decided before we know whether any refill/drain comes; corrected to none
	 * after the pass if none came (the inference then has nothing to produce anyway). */
	copts.lock_source = pcp_kmem_native_locks(kmem) ? PCP_LOCK_NATIVE : PCP_LOCK_INFERRED;
	if (copts.lock_source == PCP_LOCK_INFERRED) {
		copts.infer_gap_ns[0] = a->infer_gap_ns[0];
		copts.infer_gap_ns[1] = a->infer_gap_ns[1];
	}
	/* The meta beside the trace: zone spans for inferred locks, percpu_stats snapshots. */
	if ((err = pcp_meta_load(path, &a->meta))) {
		pcp_errorf(errbuf, errlen, err, "%s.meta.json is not a valid JSON object", path);
		goto fail;
	}
	/* Zone spans are PFN ranges: blocks keyed by page pointer have no zone (zone_map n/a). */
	if (copts.lock_source == PCP_LOCK_INFERRED && a->block_key == PCP_BLOCK_KEY_PFN) {
		if ((err = pcp_zone_map_from_meta(a->meta, &zone_map))) {
			pcp_errorf(errbuf, errlen, err, "%s.meta.json: damaged zoneinfo zone span", path);
			goto fail;
		}
		copts.zone_map = zone_map;
		a->zone_map = zone_map != NULL;
	}
	if ((err = pcp_churn_new(nr_cpus, &copts, &churn))) {
		pcp_errorf(errbuf, errlen, err, "cannot create the churn model");
		goto fail;
	}
	pairs = pcp_churn_pair_table(churn);
	if (percpu_present && (err = pcp_percpu_model_new(&pmodel))) {
		pcp_errorf(errbuf, errlen, err, "cannot create the percpu model");
		goto fail;
	}

	while ((rec = pcp_reader_next(reader))) {
		struct churn_input *in = &pipe[nr_in & (CHURN_PIPE - 1)];
		int id = type_host ? event_id(rec, type_off, type_size) : tep_data_type(tep, rec);
		int kind;

		if (id < 0 || id >= nr_ids || !has_format[id] || rec->cpu < 0 || (uint32_t)rec->cpu >= nr_cpus) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT,
					 "record %llu (CPU %d) has an unknown event id %d: damaged data",
					 (unsigned long long)pcp_reader_records(reader), rec->cpu, id);
			goto fail;
		}
		counts[id]++;
		/* The slot is reused: its event, CHURN_PIPE inputs old, goes to the model first. */
		if (nr_in >= CHURN_PIPE)
			churn_feed(churn, in);
		in->missed = rec->missed_events;
		in->has_event = 0;
		in->ev.ts_ns = rec->ts;
		in->ev.cpu = (uint32_t)rec->cpu;
		in->ev.kind = PCP_EV_OTHER;
		kind = pcp_kmem_decode(kmem, rec, id, &in->ev);
		/* IGNORED records still go to the model: first/last timestamps are over all records
		 * (docs/METRICS.md); the model does not let them break inferred runs. */
		if (kind == PCP_EV_OTHER && percpu_present) {
			kind = pcp_percpu_decode(percpu, rec, id, &in->ev);
			if (kind != PCP_EV_OTHER) {
				in->ev.kind = (uint8_t)kind;
				pcp_percpu_model_event(pmodel, &in->ev);
				analyzable++;
			}
		} else if (kind != PCP_EV_OTHER) {
			analyzable++;
			if (kind == PCP_EV_REFILL || kind == PCP_EV_DRAIN) {
				pcp_blocks++;
				pcp_pair_prefetch(pairs, in->ev.block.pfn);
			}
		}
		in->ev.kind = (uint8_t)kind;
		in->has_event = 1;
		nr_in++;
	}
	for (uint64_t i = nr_in > CHURN_PIPE ? nr_in - CHURN_PIPE : 0; i < nr_in; i++)
		churn_feed(churn, &pipe[i & (CHURN_PIPE - 1)]);
	if ((err = pcp_reader_status(reader, errbuf, errlen))) {
		goto fail;
	}
	a->events_total = pcp_reader_records(reader);

	if (!analyzable) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NO_EVENTS, "no event that pcptrace analyzes (%s)",
				 a->events_total ? "no PCP refill/drain, zone-lock or percpu record"
						 : "the trace holds no records");
		goto fail;
	}

	if ((err = pcp_churn_finish(churn, &a->churn))) {
		pcp_errorf(errbuf, errlen, err, "churn model failed");
		goto fail;
	}
	/* Losses from every source the file has; the meta describes the recorder's one buffer. */
	pcp_event_loss_apply(a->churn, pcp_reader_buffer(reader) ? pcp_reader_buffer(reader)->cpustat : NULL,
			     pcp_reader_buffer(reader) ? pcp_reader_buffer(reader)->nr_cpus : 0,
			     nr_data_buffers <= 1 ? a->meta : NULL, lost_source, sizeof(lost_source));
	if (!(a->events_lost_source = strdup(lost_source))) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto fail;
	}
	a->lock_source = copts.lock_source;
	if (a->lock_source == PCP_LOCK_INFERRED && !pcp_blocks)
		a->lock_source = PCP_LOCK_NONE;
	a->churn->lock_source = a->lock_source;

	if (pmodel && (err = pcp_percpu_model_finish(pmodel, tep, &a->percpu))) {
		pcp_errorf(errbuf, errlen, err, "percpu model failed");
		goto fail;
	}
	if ((err = build_counts(tep, counts, nr_ids, a))) {
		pcp_errorf(errbuf, errlen, err, "out of memory");
		goto fail;
	}
	/* The percpu_stats before/after check needs the snapshots: keep it with the results so
	 * the text and JSON reports show it, not only the database. */
	if (a->percpu && (err = pcp_percpu_attach_meta(a->percpu, a->meta, a->churn->lossy))) {
		pcp_errorf(errbuf, errlen, err, "%s.meta.json: damaged percpu_stats snapshot", path);
		goto fail;
	}

	*out = a;
	a = NULL;
fail:
	free(counts);
	free(has_format);
	if (pmodel)
		pcp_percpu_model_free(pmodel);
	if (churn)
		pcp_churn_free(churn);
	pcp_zone_map_free(zone_map);
	if (percpu)
		pcp_percpu_parser_free(percpu);
	pcp_kmem_parser_free(kmem);
	pcp_reader_close(reader);
	pcp_analysis_free(a);
	free(buffer);
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
	for (size_t i = 0; i < a->nr_event_counts; i++)
		free(a->event_counts[i].name);
	free(a->event_counts);
	if (a->churn)
		pcp_churn_results_free(a->churn);
	if (a->percpu)
		pcp_percpu_results_free(a->percpu);
	pcp_meta_free(a->meta);
	free(a);
}
