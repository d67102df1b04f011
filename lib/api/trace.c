/* The public trace group (pcp_trace(3)): a trace.dat's decoded PCP and percpu events through
 * the trace reader and the kmem / percpu parsers, the same path pcp_analyze_file() takes. */
#include <stdlib.h>
#include <string.h>
#include <event-parse.h>
#include "api/api.h"
#include "common/error.h"
#include "events/event.h"
#include "events/parse_kmem.h"
#include "model/percpu.h"
#include "tracedat/buffer_choice.h"
#include "tracedat/time_base.h"
#include "tracedat/trace_reader.h"

/* The public kinds are the internal ones: an event's kind is handed out unchanged. */
_Static_assert((int)PCP_EVENT_REFILL == (int)PCP_EV_REFILL &&
	       (int)PCP_EVENT_DRAIN == (int)PCP_EV_DRAIN &&
	       (int)PCP_EVENT_REFILL_LOCK == (int)PCP_EV_REFILL_LOCK &&
	       (int)PCP_EVENT_DRAIN_LOCK == (int)PCP_EV_DRAIN_LOCK &&
	       (int)PCP_EVENT_PERCPU_ALLOC == (int)PCP_EV_PERCPU_ALLOC &&
	       (int)PCP_EVENT_PERCPU_FREE == (int)PCP_EV_PERCPU_FREE &&
	       (int)PCP_EVENT_PERCPU_FAIL == (int)PCP_EV_PERCPU_FAIL &&
	       (int)PCP_EVENT_PERCPU_CHUNK_CREATE == (int)PCP_EV_PERCPU_CHUNK_CREATE &&
	       (int)PCP_EVENT_PERCPU_CHUNK_DESTROY == (int)PCP_EV_PERCPU_CHUNK_DESTROY,
	       "enum pcp_event_type follows enum pcp_event_kind");

struct pcp_trace_event {
	struct pcp_event ev;
};

struct pcp_trace {
	char *path;
	char *buffer;                     /* chosen buffer, NULL: the file has no buffer table */
	struct pcp_reader *reader;
	struct pcp_kmem_parser *kmem;
	struct pcp_percpu_parser *percpu; /* NULL when the trace has no percpu event */
	uint32_t nr_cpus;
	enum pcp_time_base time_base;
	int ended;                        /* the reader returned its last record */
	struct pcp_trace_event current;   /* what pcp_trace_next() handed out last */
};

PCP_API void pcp_trace_close(struct pcp_trace *t)
{
	if (!t)
		return;
	if (t->percpu)
		pcp_percpu_parser_free(t->percpu);
	pcp_kmem_parser_free(t->kmem);
	pcp_reader_close(t->reader);
	free(t->buffer);
	free(t->path);
	free(t);
}

/* The buffer, the reader on it and its CPUs, as pcp_analyze_file() chooses them. */
static int trace_open_reader(struct pcp_trace *t, const char *buffer, char *errbuf, size_t errlen)
{
	const struct pcp_tracedat_layout *layout;
	const char *why;
	unsigned nr_with_data;
	int err;

	err = pcp_choose_buffer(t->path, buffer, &t->buffer, &why, &nr_with_data, errbuf, errlen);
	if (!err)
		err = pcp_reader_open_buffer(t->path, PCP_READER_AUTO, t->buffer, &t->reader, errbuf, errlen);
	if (err)
		return err;
	layout = pcp_reader_layout(t->reader);
	t->nr_cpus = layout->nr_cpus;
	if (pcp_reader_buffer(t->reader) && pcp_reader_buffer(t->reader)->nr_cpus)
		t->nr_cpus = pcp_reader_buffer(t->reader)->nr_cpus;
	t->time_base = pcp_time_base_of(layout->trace_clock, layout->tsc2nsec_mult != 0, NULL);
	return PCP_OK;
}

/* The kmem parser in pcpanalyze's default mode, and the percpu parser if there are such events. */
static int trace_open_parsers(struct pcp_trace *t, char *errbuf, size_t errlen)
{
	struct tep_handle *tep = pcp_reader_tep(t->reader);
	int err;

	if ((err = pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &t->kmem, errbuf, errlen)))
		return err;
	if ((err = pcp_percpu_parser_new(tep, &t->percpu)))
		return pcp_errorf(errbuf, errlen, err, "cannot resolve the percpu events");
	if (!pcp_percpu_parser_present(t->percpu)) {
		pcp_percpu_parser_free(t->percpu);
		t->percpu = NULL;
	}
	return PCP_OK;
}

PCP_API int pcp_trace_open(const char *path, const char *buffer, struct pcp_trace **out)
{
	struct pcp_trace *t;
	char errbuf[512] = "";
	int err;

	if (!out)
		return pcp_api_fail(PCP_ERR_USAGE, path, "no place for the handle (out is NULL)");
	*out = NULL;
	if (!path)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "pcp_trace_open: path is NULL");
	if (!(t = calloc(1, sizeof(*t))) || !(t->path = strdup(path))) {
		free(t);
		return pcp_api_fail(PCP_ERR_NOMEM, path, NULL);
	}
	err = trace_open_reader(t, buffer, errbuf, sizeof(errbuf));
	if (!err)
		err = trace_open_parsers(t, errbuf, sizeof(errbuf));
	if (err) {
		pcp_trace_close(t);
		return pcp_api_fail(err, path, errbuf);
	}
	*out = t;
	return PCP_OK;
}

PCP_API unsigned pcp_trace_nr_cpus(const struct pcp_trace *t)
{
	return t ? t->nr_cpus : 0;
}

PCP_API const char *pcp_trace_clock(const struct pcp_trace *t)
{
	return t && pcp_reader_layout(t->reader)->trace_clock[0] ? pcp_reader_layout(t->reader)->trace_clock
								 : NULL;
}

PCP_API const char *pcp_trace_time_base(const struct pcp_trace *t)
{
	return t ? pcp_time_base_name(t->time_base) : NULL;
}

PCP_API const char *pcp_trace_buffer_name(const struct pcp_trace *t)
{
	return t ? t->buffer : NULL;
}

PCP_API const char *pcp_trace_mode(const struct pcp_trace *t)
{
	return t ? pcp_refill_source_name(pcp_kmem_refill_source(t->kmem)) : NULL;
}

PCP_API int pcp_trace_lost_events(const struct pcp_trace *t, uint64_t *known, uint64_t *unknown)
{
	const struct pcp_trace_buffer *b = t ? pcp_reader_buffer(t->reader) : NULL;
	uint64_t total = 0, marks_total = 0;

	for (uint32_t cpu = 0; t && cpu < t->nr_cpus; cpu++) {
		uint64_t marks, unknown_marks, stat = 0;

		pcp_reader_missed(t->reader, cpu, &marks, &unknown_marks);
		if (b && cpu < b->nr_cpus && b->cpustat[cpu].present)
			stat = b->cpustat[cpu].overrun + b->cpustat[cpu].commit_overrun +
			       b->cpustat[cpu].dropped;
		total += marks > stat ? marks : stat;
		marks_total += unknown_marks;
	}
	if (known)
		*known = total;
	if (unknown)
		*unknown = marks_total;
	return total || marks_total;
}

/* The record as one of our events: its kind, or PCP_EV_OTHER / PCP_EV_IGNORED to skip it. */
static int trace_decode(struct pcp_trace *t, struct tep_record *rec, int id, struct pcp_event *ev)
{
	int kind = pcp_kmem_decode(t->kmem, rec, id, ev);

	if (kind == PCP_EV_OTHER && t->percpu)
		kind = pcp_percpu_decode(t->percpu, rec, id, ev);
	return kind;
}

PCP_API int pcp_trace_next(struct pcp_trace *t, const struct pcp_trace_event **event)
{
	struct tep_handle *tep;
	struct tep_record *rec;
	char errbuf[512] = "";
	int err;

	if (!event)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "pcp_trace_next: event is NULL");
	*event = NULL;
	if (!t)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "pcp_trace_next: trace is NULL");
	if (t->ended)
		return PCP_OK;
	tep = pcp_reader_tep(t->reader);
	while ((rec = pcp_reader_next(t->reader))) {
		struct pcp_event *ev = &t->current.ev;
		int id = tep_data_type(tep, rec), kind;

		if (id < 0 || rec->cpu < 0 || (uint32_t)rec->cpu >= t->nr_cpus)
			return pcp_api_failf(PCP_ERR_CORRUPT, t->path,
					     "record %llu (CPU %d) has an unknown event id %d: damaged data",
					     (unsigned long long)pcp_reader_records(t->reader), rec->cpu, id);
		memset(ev, 0, sizeof(*ev));
		kind = trace_decode(t, rec, id, ev);
		if (kind == PCP_EV_OTHER || kind == PCP_EV_IGNORED)
			continue;
		ev->kind = (uint8_t)kind;
		ev->ts_ns = rec->ts;
		ev->cpu = (uint32_t)rec->cpu;
		*event = &t->current;
		return PCP_OK;
	}
	t->ended = 1;
	if ((err = pcp_reader_status(t->reader, errbuf, sizeof(errbuf))))
		return pcp_api_fail(err, t->path, errbuf);
	return PCP_OK;
}

PCP_API int pcp_trace_event_kind(const struct pcp_trace_event *e)
{
	return e ? e->ev.kind : 0;
}

PCP_API const char *pcp_trace_event_kind_name(int kind)
{
	static const char *const names[] = {
		[PCP_EVENT_REFILL] = "refill",
		[PCP_EVENT_DRAIN] = "drain",
		[PCP_EVENT_REFILL_LOCK] = "refill_lock",
		[PCP_EVENT_DRAIN_LOCK] = "drain_lock",
		[PCP_EVENT_PERCPU_ALLOC] = "percpu_alloc",
		[PCP_EVENT_PERCPU_FREE] = "percpu_free",
		[PCP_EVENT_PERCPU_FAIL] = "percpu_fail",
		[PCP_EVENT_PERCPU_CHUNK_CREATE] = "percpu_chunk_create",
		[PCP_EVENT_PERCPU_CHUNK_DESTROY] = "percpu_chunk_destroy",
	};

	if (kind < 0 || (size_t)kind >= sizeof(names) / sizeof(names[0]) || !names[kind])
		return "unknown";
	return names[kind];
}

static int is_block(const struct pcp_trace_event *e)
{
	return e && (e->ev.kind == PCP_EV_REFILL || e->ev.kind == PCP_EV_DRAIN);
}

static int is_lock(const struct pcp_trace_event *e)
{
	return e && (e->ev.kind == PCP_EV_REFILL_LOCK || e->ev.kind == PCP_EV_DRAIN_LOCK);
}

static int is_percpu(const struct pcp_trace_event *e)
{
	return e && e->ev.kind >= PCP_EV_PERCPU_ALLOC && e->ev.kind <= PCP_EV_PERCPU_CHUNK_DESTROY;
}

PCP_API unsigned pcp_trace_event_cpu(const struct pcp_trace_event *e)
{
	return e ? e->ev.cpu : 0;
}

PCP_API uint64_t pcp_trace_event_ts(const struct pcp_trace_event *e)
{
	return e ? e->ev.ts_ns : 0;
}

PCP_API uint64_t pcp_trace_event_pfn(const struct pcp_trace_event *e)
{
	return is_block(e) ? e->ev.block.pfn : 0;
}

PCP_API unsigned pcp_trace_event_order(const struct pcp_trace_event *e)
{
	return is_block(e) ? e->ev.block.order : 0;
}

PCP_API int pcp_trace_event_migratetype(const struct pcp_trace_event *e)
{
	return is_block(e) ? e->ev.block.migratetype : -1;
}

PCP_API uint64_t pcp_trace_event_pages(const struct pcp_trace_event *e)
{
	if (is_block(e))
		return e->ev.block.order < 64 ? UINT64_C(1) << e->ev.block.order : 0;
	return is_lock(e) ? e->ev.lock.nr_pages : 0;
}

PCP_API uint64_t pcp_trace_event_percpu_ptr(const struct pcp_trace_event *e)
{
	return is_percpu(e) ? e->ev.percpu.ptr : 0;
}

PCP_API uint64_t pcp_trace_event_percpu_size(const struct pcp_trace_event *e)
{
	return is_percpu(e) ? e->ev.percpu.size : 0;
}

PCP_API uint64_t pcp_trace_event_call_site(const struct pcp_trace_event *e)
{
	return is_percpu(e) ? e->ev.percpu.call_site : 0;
}
