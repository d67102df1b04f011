/* The recorder (record.h): its plan (options, CPUs), and the steps create → start → stop →
 * remove the instance → write → destroy, each done by its stage: record/instance.c (tracefs),
 * record/stream.c (per-CPU spooling), record/cpu_stats.c, record/event_count.c,
 * record/output.c (the trace.dat). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event-parse.h>
#include <tracefs.h>
#include "common/error.h"
#include "record/cpu_stats.h"
#include "record/event_count.h"
#include "record/instance.h"
#include "record/output.h"
#include "record/record.h"
#include "record/stack_trigger.h"
#include "record/stream.h"

struct pcp_record {
	struct tracefs_instance *inst;
	struct pcp_record_hooks hooks;          /* around tracing on/off, see record.h */
	void *hook_ctx;
	char name[64];
	int nr_cpus;
	unsigned char *selected;
	struct pcp_rec_instance_setup setup;    /* buffer size, sub-buffer size, clock */
	uint32_t tsc2nsec_mult, tsc2nsec_shift;   /* pcp_record_set_tsc2nsec; mult 0 = none */
	const char *tsc2nsec_source;
	struct pcp_rec_events ev;
	struct pcp_rec_stack_triggers stacks;   /* --stacks (stack_trigger.h) */
	char *spool_dir;
	int file_version;           /* of the trace.dat (tracedat.h) */
	const char *compression;    /* "zstd", "zlib" or NULL (none) */
	struct pcp_rec_streams streams;
	struct pcp_record_cpu *cpus;
	struct pcp_record_event_count *counts;
	size_t nr_counts;
	uint64_t mark_ns;           /* pcp_record_mark_now(): trace clock, 0 = none */
	uint64_t *counts_since_mark; /* per ev.names index, events at or after mark_ns */
	int started, stopped;
	int lifecycle;              /* opts.lifecycle: the meta's recording.lifecycle */
};

static int parse_cpulist(const char *s, unsigned char *sel, int nr_cpus)
{
	const char *p = s;

	if (!*p)
		return -1;
	while (*p) {
		char *end;
		long a, b;

		errno = 0;
		a = strtol(p, &end, 10);
		if (end == p || errno || a < 0)
			return -1;
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			b = strtol(p, &end, 10);
			if (end == p || errno || b < a)
				return -1;
			p = end;
		}
		if (b >= nr_cpus)
			return -1;
		for (; a <= b; a++)
			sel[a] = 1;
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	return 0;
}

/* The trace.dat format is checked before recording, not after a recording it could not be
 * written for. */
static int check_format(const struct pcp_record_opts *o, char *errbuf, size_t errlen)
{
	if ((o->file_version && o->file_version != 6 && o->file_version != 7) ||
	    (o->compression && strcmp(o->compression, "none") &&
	     (o->file_version != 7 || (strcmp(o->compression, "zstd") && strcmp(o->compression, "zlib")))))
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE, "trace.dat version %d with %s compression is not supported",
			       o->file_version ? o->file_version : 6, o->compression ? o->compression : "no");
	return PCP_OK;
}

/* The recorder's memory and its plan: CPUs, spool directory, trace.dat format. */
static int plan(struct pcp_record *r, const struct pcp_record_opts *o, char *errbuf, size_t errlen)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	int i;

	r->nr_cpus = n > 0 ? (int)n : 1;
	r->selected = calloc((size_t)r->nr_cpus, 1);
	pcp_rec_streams_init(&r->streams, r->nr_cpus);
	r->cpus = calloc((size_t)r->nr_cpus, sizeof(*r->cpus));
	r->spool_dir = strdup(o->spool_dir ? o->spool_dir : ".");
	r->file_version = o->file_version;
	r->compression = !o->compression || !strcmp(o->compression, "none") ? NULL
			 : !strcmp(o->compression, "zstd") ? "zstd" : "zlib";
	if (!r->selected || !r->streams.cpu || !r->cpus || !r->spool_dir)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	for (i = 0; i < r->nr_cpus; i++)
		r->cpus[i].cpu = i;
	if (!o->cpulist) {
		memset(r->selected, 1, (size_t)r->nr_cpus);
		return PCP_OK;
	}
	if (parse_cpulist(o->cpulist, r->selected, r->nr_cpus))
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
			       "-C %s: not a list of CPUs between 0 and %d", o->cpulist,
			       r->nr_cpus - 1);
	return PCP_OK;
}

int pcp_record_create(const struct pcp_record_opts *o, struct pcp_record **out, char *errbuf,
		      size_t errlen)
{
	struct pcp_record *r;
	int err;

	*out = NULL;
	err = check_format(o, errbuf, errlen);
	if (err != PCP_OK)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	r->lifecycle = o->lifecycle != 0;
	err = plan(r, o, errbuf, errlen);
	if (err == PCP_OK) {
		snprintf(r->name, sizeof(r->name), "%s-%d",
			 o->instance_prefix ? o->instance_prefix : "pcprecord", (int)getpid());
		err = pcp_rec_instance_create(r->name, &r->inst, errbuf, errlen);
	}
	if (err == PCP_OK)
		err = pcp_rec_instance_setup(r->inst, r->name, o, &r->setup, errbuf, errlen);
	if (err == PCP_OK)
		err = pcp_rec_instance_enable_events(r->inst, r->name, o, &r->ev, errbuf, errlen);
	if (err == PCP_OK && o->stacks)
		err = pcp_rec_stack_triggers_arm(r->inst, r->name, &r->ev, o->stacks, &r->stacks,
						 errbuf, errlen);
	if (err != PCP_OK) {
		pcp_record_destroy(r);
		return err;
	}
	*out = r;
	return PCP_OK;
}

const char *pcp_record_instance_name(const struct pcp_record *r) { return r->name; }
const char *pcp_record_clock(const struct pcp_record *r) { return r->setup.clock; }

void pcp_record_set_tsc2nsec(struct pcp_record *r, uint32_t mult, uint32_t shift, const char *source)
{
	r->tsc2nsec_mult = mult;
	r->tsc2nsec_shift = shift;
	r->tsc2nsec_source = source;
}
size_t pcp_record_buffer_kb(const struct pcp_record *r) { return r->setup.buffer_kb; }
int pcp_record_nr_cpus(const struct pcp_record *r) { return r->nr_cpus; }

size_t pcp_record_enabled_events(const struct pcp_record *r, const char *const **names)
{
	*names = (const char *const *)r->ev.names;
	return r->ev.nr;
}

size_t pcp_record_missing_events(const struct pcp_record *r, const char *const **names)
{
	*names = (const char *const *)r->ev.missing;
	return r->ev.nr_missing;
}

const char *pcp_record_refill_source(const struct pcp_record *r)
{
	return r->ev.native_refill ? "native" : "fallback";
}

/* The calling thread at SCHED_FIFO for a few system calls: on a busy machine a preemption
 * between a snapshot and the tracing switch would open a window of milliseconds in which other
 * processes' percpu operations are counted but not traced (or the reverse). Best effort. */
struct realtime {
	int policy;
	struct sched_param param;
	int raised;
};

static void realtime_enter(struct realtime *rt)
{
	struct sched_param fifo = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };

	rt->raised = 0;
	rt->policy = sched_getscheduler(0);
	if (rt->policy < 0 || sched_getparam(0, &rt->param) != 0)
		return;
	rt->raised = sched_setscheduler(0, SCHED_FIFO, &fifo) == 0;
}

static void realtime_leave(struct realtime *rt)
{
	if (rt->raised)
		sched_setscheduler(0, rt->policy, &rt->param);
}

/* Tracing on, with the hooks around it; retried from an empty buffer while after_on says the
 * switch raced (the reader threads do not run yet, the workload is still held). */
static int switch_on(struct pcp_record *r, char *errbuf, size_t errlen)
{
	int attempt;

	for (attempt = 1;; attempt++) {
		struct realtime rt;
		int raced = 0;

		realtime_enter(&rt);
		if (r->hooks.before_on)
			r->hooks.before_on(r->hook_ctx);
		if (tracefs_trace_on(r->inst) < 0) {
			realtime_leave(&rt);
			return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
				       "cannot turn tracing on in %s: %s", r->name, strerror(errno));
		}
		if (r->hooks.after_on)
			raced = r->hooks.after_on(r->hook_ctx) != 0;
		realtime_leave(&rt);
		if (!raced || attempt >= PCP_RECORD_ON_ATTEMPTS)
			return PCP_OK;
		if (tracefs_trace_off(r->inst) < 0 || tracefs_instance_file_clear(r->inst, "trace") < 0)
			return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
				       "cannot turn tracing off and clear %s to start again: %s",
				       r->name, strerror(errno));
		/* let the burst of activity that raced us pass (1 ms, growing to 20 ms) */
		{
			long ms = attempt < 20 ? attempt : 20;
			struct timespec ts = { 0, ms * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* Tracing off, with the hooks around it. */
static void switch_off(struct pcp_record *r)
{
	struct realtime rt;

	realtime_enter(&rt);
	if (r->hooks.before_off)
		r->hooks.before_off(r->hook_ctx);
	tracefs_trace_off(r->inst);
	if (r->hooks.after_off)
		r->hooks.after_off(r->hook_ctx);
	realtime_leave(&rt);
}

void pcp_record_set_hooks(struct pcp_record *r, const struct pcp_record_hooks *hooks, void *ctx)
{
	memset(&r->hooks, 0, sizeof(r->hooks));
	if (hooks)
		r->hooks = *hooks;
	r->hook_ctx = ctx;
}

int pcp_record_start(struct pcp_record *r, char *errbuf, size_t errlen)
{
	int i, err;

	if (r->started)
		return pcp_errorf(errbuf, errlen, PCP_ERR_INTERNAL, "recording started twice");
	err = pcp_rec_streams_open(&r->streams, r->inst, r->name, r->selected, r->setup.subbuf_size,
				   r->spool_dir, errbuf, errlen);
	for (i = 0; i < r->nr_cpus; i++)
		r->cpus[i].recorded = r->streams.cpu[i].opened;
	if (err != PCP_OK)
		return err;
	r->started = 1;
	err = switch_on(r, errbuf, errlen);
	if (err != PCP_OK)
		return err;
	return pcp_rec_streams_run(&r->streams, errbuf, errlen);
}

/* Every CPU's kernel stats; the bytes spooled go with the stats that could be read. */
static void read_cpu_stats(struct pcp_record *r)
{
	int i;

	for (i = 0; i < r->nr_cpus; i++)
		if (pcp_rec_cpu_stats_read(r->inst, i, &r->cpus[i]) == 0)
			r->cpus[i].bytes = r->streams.cpu[i].bytes;
}

/* Events per type and CPU in the spools, and those at or after the mark. */
static int count_events(struct pcp_record *r, char *errbuf, size_t errlen)
{
	struct pcp_rec_count_query q = { .events = r->ev.names, .nr_events = r->ev.nr,
					 .page_size = r->setup.subbuf_size, .mark_ns = r->mark_ns };
	struct pcp_rec_tally t = { calloc(r->ev.nr + 1, sizeof(uint64_t)),
				   calloc(r->ev.nr + 1, sizeof(uint64_t)) };
	struct pcp_rec_spool *spools = calloc((size_t)r->nr_cpus, sizeof(*spools));
	int i, err = PCP_OK;

	if (!t.counts || !t.since_mark || !spools)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	if (err == PCP_OK)
		q.tep = pcp_rec_count_tep(r->inst, r->ev.names, r->ev.nr, &err, errbuf, errlen);
	for (i = 0; err == PCP_OK && i < r->nr_cpus; i++) {
		spools[i].fd = r->streams.cpu[i].spool_fd;
		spools[i].bytes = r->streams.cpu[i].bytes;
	}
	if (err == PCP_OK)
		err = pcp_rec_count_spools(&q, spools, r->cpus, r->nr_cpus, &t, errbuf, errlen);
	if (err == PCP_OK &&
	    pcp_rec_count_named(r->ev.names, r->ev.nr, t.counts, &r->counts, &r->nr_counts))
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	if (err == PCP_OK && r->mark_ns) {
		r->counts_since_mark = t.since_mark;
		t.since_mark = NULL;
	}
	if (q.tep)
		tep_free(q.tep);
	free(spools);
	free(t.counts);
	free(t.since_mark);
	return err;
}

int pcp_record_stop(struct pcp_record *r, char *errbuf, size_t errlen)
{
	int err;

	if (!r->started || r->stopped)
		return PCP_OK;
	r->stopped = 1;
	switch_off(r);
	pcp_rec_streams_join(&r->streams);
	err = pcp_rec_streams_flush(&r->streams, errbuf, errlen);
	read_cpu_stats(r);
	if (err == PCP_OK)
		err = count_events(r, errbuf, errlen);
	return err;
}

int pcp_record_mark_now(struct pcp_record *r)
{
	r->mark_ns = pcp_rec_cpu_stats_now_ns(r->inst);
	return r->mark_ns ? 0 : -1;
}

int pcp_record_count_since_mark(const struct pcp_record *r, const char *name, uint64_t *n)
{
	size_t k;

	if (!r->counts_since_mark)
		return -1;
	for (k = 0; k < r->ev.nr; k++)
		if (!strcmp(r->ev.names[k], name)) {
			*n = r->counts_since_mark[k];
			return 0;
		}
	*n = 0;
	return 0;
}

struct tracefs_instance *pcp_record_tracefs(const struct pcp_record *r) { return r->inst; }

int pcp_record_remove_instance(struct pcp_record *r)
{
	if (!r || !r->inst)
		return 0;
	pcp_rec_streams_close_readers(&r->streams);
	return pcp_rec_instance_remove(&r->inst);
}

const struct pcp_record_cpu *pcp_record_cpus(const struct pcp_record *r, int *nr)
{
	*nr = r->nr_cpus;
	return r->cpus;
}

const struct pcp_record_event_count *pcp_record_event_counts(const struct pcp_record *r,
							      size_t *nr)
{
	*nr = r->nr_counts;
	return r->counts;
}

uint64_t pcp_record_lost_events(const struct pcp_record *r)
{
	uint64_t lost = 0;
	int i;

	for (i = 0; i < r->nr_cpus; i++)
		lost += r->cpus[i].overrun + r->cpus[i].commit_overrun + r->cpus[i].dropped;
	return lost;
}

static json_t *string_array(char *const *names, size_t n)
{
	json_t *a = json_array();
	size_t k;

	for (k = 0; a && k < n; k++)
		if (json_array_append_new(a, json_string(names[k]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *pcp_record_describe(const struct pcp_record *r)
{
	json_t *o, *cpus = json_array(), *recorded = json_array(), *counts = json_object();
	uint64_t total = 0, unknown = 0;
	size_t k;
	int i;

	if (!cpus || !recorded || !counts)
		goto fail;
	for (i = 0; i < r->nr_cpus; i++) {
		const struct pcp_record_cpu *c = &r->cpus[i];
		json_t *row = json_pack("{s:i,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "cpu", i,
					"recorded", c->recorded, "bytes", (json_int_t)c->bytes,
					"events", (json_int_t)c->events, "overrun",
					(json_int_t)c->overrun, "commit_overrun",
					(json_int_t)c->commit_overrun, "dropped",
					(json_int_t)c->dropped, "read_events",
					(json_int_t)c->read_events, "missed_in_file",
					(json_int_t)c->missed_in_file, "missed_unknown_pages",
					(json_int_t)c->missed_unknown);

		if (!row || json_array_append_new(cpus, row))
			goto fail;
		if (c->recorded && json_array_append_new(recorded, json_integer(i)))
			goto fail;
		total += c->events;
		unknown += c->missed_unknown;
	}
	for (k = 0; k < r->nr_counts; k++)
		if (json_object_set_new(counts, r->counts[k].name,
					json_integer((json_int_t)r->counts[k].count)))
			goto fail;
	o = json_pack("{s:s,s:s,s:I,s:i,s:i,s:o,s:s,s:o,s:o,s:I,s:o,s:I,s:I,s:o}",
		      "instance", r->name, "clock", r->setup.clock ? r->setup.clock : "local",
		      "buffer_kb", (json_int_t)r->setup.buffer_kb, "subbuf_size",
		      (int)r->setup.subbuf_size, "nr_cpus", r->nr_cpus, "recorded_cpus", recorded,
		      "refill_source", pcp_record_refill_source(r),
		      "events", string_array(r->ev.names, r->ev.nr),
		      "missing_events", string_array(r->ev.missing, r->ev.nr_missing),
		      "events_total", (json_int_t)total, "event_counts", counts,
		      "lost_events", (json_int_t)pcp_record_lost_events(r),
		      "lost_unknown_pages", (json_int_t)unknown, "cpus", cpus);
	if (o && r->tsc2nsec_mult &&
	    json_object_set_new(o, "tsc2nsec", json_pack("{s:I,s:I,s:s}", "mult",
				(json_int_t)r->tsc2nsec_mult, "shift", (json_int_t)r->tsc2nsec_shift,
				"source", r->tsc2nsec_source ? r->tsc2nsec_source : ""))) {
		json_decref(o);
		return NULL;
	}
	/* asked for, so that the analysis tells "not recorded" from "recorded, none happened" */
	if (o && json_object_set_new(o, "lifecycle", json_boolean(r->lifecycle))) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(cpus);
	json_decref(recorded);
	json_decref(counts);
	return NULL;
}

int pcp_record_write_trace(struct pcp_record *r, const char *path, char *errbuf, size_t errlen)
{
	struct pcp_rec_output_cpu *cpus = calloc((size_t)r->nr_cpus, sizeof(*cpus));
	const struct pcp_rec_output o = {
		.nr_cpus = r->nr_cpus, .subbuf_size = r->setup.subbuf_size,
		.file_version = r->file_version, .compression = r->compression,
		.clock = r->setup.clock, .tsc2nsec_mult = r->tsc2nsec_mult,
		.tsc2nsec_shift = r->tsc2nsec_shift, .events = r->ev.names, .nr_events = r->ev.nr,
		.cpus = cpus,
	};
	int i, err;

	if (!cpus)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "cannot write: %s",
			       pcp_strerror(PCP_ERR_NOMEM));
	for (i = 0; i < r->nr_cpus; i++) {
		const struct pcp_rec_stream *s = &r->streams.cpu[i];

		cpus[i].stats_text = r->cpus[i].stats_text;
		cpus[i].spool_fd = r->cpus[i].recorded && s->bytes ? s->spool_fd : -1;
	}
	err = pcp_rec_output_write(path, &o, errbuf, errlen);
	free(cpus);
	return err;
}

void pcp_record_destroy(struct pcp_record *r)
{
	size_t k;
	int i;

	if (!r)
		return;
	pcp_record_remove_instance(r);
	pcp_rec_streams_free(&r->streams);
	if (r->cpus)
		for (i = 0; i < r->nr_cpus; i++)
			free(r->cpus[i].stats_text);
	pcp_rec_events_free(&r->ev);
	pcp_rec_stack_triggers_free(&r->stacks);
	for (k = 0; k < r->nr_counts; k++)
		free(r->counts[k].name);
	free(r->counts);
	free(r->counts_since_mark);
	free(r->cpus);
	free(r->selected);
	free(r->setup.clock);
	free(r->spool_dir);
	free(r);
}

int pcp_record_spool_fd(const struct pcp_record *r, int cpu)
{
	if (cpu < 0 || cpu >= r->nr_cpus || !r->streams.cpu || !r->streams.cpu[cpu].opened)
		return -1;
	return r->streams.cpu[cpu].spool_fd;
}

unsigned int pcp_record_subbuf_size(const struct pcp_record *r) { return r->setup.subbuf_size; }

struct tep_handle *pcp_record_new_tep(const struct pcp_record *r, int *err, char *errbuf,
				      size_t errlen)
{
	*err = PCP_OK;
	return pcp_rec_count_tep(r->inst, r->ev.names, r->ev.nr, err, errbuf, errlen);
}

uint64_t pcp_record_now_ns(const struct pcp_record *r)
{
	return r->inst ? pcp_rec_cpu_stats_now_ns(r->inst) : 0;
}
