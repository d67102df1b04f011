/* Percpu fragmentation (issue 16): the before/after percpu_stats snapshots compared chunk by
 * chunk, the fragmentation metrics, and where the run's surviving allocations lie in their
 * chunks. Definitions: docs/METRICS.md, "Percpu fragmentation". */
#ifndef PCPTRACE_PERCPU_FRAG_H
#define PCPTRACE_PERCPU_FRAG_H

#include <stddef.h>
#include <stdint.h>

struct pcp_percpu_stats;
struct pcp_percpu_results;

/* Per-chunk keys of percpu_stats compared, in output order. */
enum { PCP_FRAG_NR_CHUNK_KEYS = 9, PCP_FRAG_NR_GLOBAL_KEYS = 5 };
extern const char *const pcp_frag_chunk_keys[PCP_FRAG_NR_CHUNK_KEYS];
extern const char *const pcp_frag_global_keys[PCP_FRAG_NR_GLOBAL_KEYS];

enum pcp_frag_kind {
	PCP_FRAG_KIND_FIRST = 0,            /* "Chunk: <- First Chunk" */
	PCP_FRAG_KIND_RESERVED,             /* "Chunk: <- Reserved Chunk" */
	PCP_FRAG_KIND_DYNAMIC,              /* "Chunk:" */
};

enum pcp_frag_status {
	PCP_FRAG_MATCHED = 0,               /* the same chunk in both snapshots */
	PCP_FRAG_CREATED,                   /* after only: created during the run (trace) */
	PCP_FRAG_DESTROYED,                 /* before only: destroyed during the run (trace) */
	PCP_FRAG_UNMATCHED,                 /* one snapshot's chunk whose counterpart is unknown */
};

struct pcp_frag_value {
	int has_before, has_after;
	int64_t before, after;              /* change = after - before when both */
};

struct pcp_frag_chunk {
	enum pcp_frag_kind kind;
	enum pcp_frag_status status;
	int32_t before_chunk, after_chunk;  /* chunk index in that snapshot's text; -1: not in it */
	int has_base;                       /* created chunks the trace identifies */
	uint64_t base_addr;
	struct pcp_frag_value v[PCP_FRAG_NR_CHUNK_KEYS];
};

struct pcp_percpu_frag {
	struct pcp_frag_value global[PCP_FRAG_NR_GLOBAL_KEYS];
	struct pcp_frag_chunk *chunks;      /* first, reserved, then dynamic (see METRICS.md) */
	size_t nr_chunks;
	int64_t free_before, free_after;    /* sums over every chunk of the snapshot */
	int64_t sum_frag_before, sum_frag_after;
	int64_t empty_pop_before, empty_pop_after; /* the global empty_pop_pages */
	int64_t max_frag_after;             /* largest max_frag over the after snapshot's chunks */
	double ratio_before, ratio_after;   /* sum_frag / free (0 when free is 0) */
	int trace_used;                     /* the trace's chunk events took part in the matching */
	uint64_t created_alive, destroyed_pre; /* trace: created and not destroyed; destroyed
					       * without its creation in the trace */
};

/* Differences and sums of the texts' integers, saturated: a forged meta file's values cannot
 * overflow (the kernel's are far from the limits). */
static inline int64_t pcp_frag_sub(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_sub_overflow(a, b, &r) ? (a > b ? INT64_MAX : INT64_MIN) : r;
}

static inline int64_t pcp_frag_add(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? (a > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* The run's surviving allocations of one chunk at the end of the trace. */
struct pcp_percpu_run_chunk {
	uint64_t base_addr;
	int has_created;                    /* the chunk's create event is in the trace */
	uint64_t created_ns;
	uint64_t allocs, unit_bytes, bytes_alloc; /* unit_bytes: sum of size (one CPU's unit) */
	uint64_t lo_off, hi_off;            /* lowest off, highest off + size */
	uint64_t span_bytes;                /* hi_off - lo_off */
	uint64_t holes, hole_bytes, max_hole_bytes; /* gaps inside the span no survivor covers */
};

/* From r->outstanding (with base_addr, off) and r->chunks: r->run_chunks, largest unit_bytes
 * first. PCP_ERR_NOMEM. */
int pcp_percpu_run_chunks(struct pcp_percpu_results *r);

/* Compares the snapshots (both non-NULL) into *out (allocated; pcp_percpu_frag_free), using
 * the trace's chunk events of r (may be NULL; ignored when lossy) to match dynamic chunks.
 * PCP_ERR_NOMEM. */
int pcp_percpu_frag_compute(const struct pcp_percpu_stats *before,
			    const struct pcp_percpu_stats *after,
			    const struct pcp_percpu_results *r, int lossy,
			    struct pcp_percpu_frag **out);
void pcp_percpu_frag_free(struct pcp_percpu_frag *f);

/* Fills the five fragmentation metrics of r->metrics from f (NULL: undefined, NAN). */
void pcp_percpu_frag_metrics(struct pcp_percpu_results *r, const struct pcp_percpu_frag *f);

const char *pcp_frag_kind_name(enum pcp_frag_kind k);       /* "first", "reserved", "dynamic" */
const char *pcp_frag_status_name(enum pcp_frag_status s);   /* "matched", "created", ... */

#endif
