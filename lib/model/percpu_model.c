/* The percpu allocator model: pairs frees with allocations by ptr, per call site totals, size
 * histogram, outstanding allocations, chunk lifetimes, failures, metrics.
 * Definitions: docs/METRICS.md, "Percpu". Per event: hash lookups only; tables grow by
 * doubling (amortized), never one allocation per event. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <traceevent/event-parse.h>
#include "common/error.h"
#include "model/percpu.h"
#include "model/percpu_frag.h"

#define SIZE_BUCKETS 65 /* [0,1), [1,2), [2,4), ... [2^63, 2^64) */

struct open_alloc {             /* one slot of the ptr table (linear probing) */
	uint64_t ptr;
	uint64_t size, bytes, ts_ns;
	uint64_t base_addr;         /* its chunk and offset (issue 16: where survivors lie) */
	int32_t off;
	uint32_t site;              /* index into sites */
	uint8_t used;
};

struct index_slot {             /* u64 key -> row index (call sites, chunks); never deleted */
	uint64_t key;
	uint32_t row;
	uint8_t used;
};

struct index_table {
	struct index_slot *slots;
	size_t cap, len;            /* cap: power of two */
};

struct pcp_percpu_model {
	int oom;                    /* an amortized growth failed: finish reports NOMEM */

	struct open_alloc *open;
	size_t open_cap, open_len;

	struct index_table site_index;
	struct pcp_percpu_callsite *sites;
	size_t nr_sites, cap_sites;

	struct index_table chunk_index;  /* base_addr -> latest chunk row */
	struct pcp_percpu_chunk *chunks;
	size_t nr_chunks, cap_chunks;

	struct pcp_percpu_fail *fails;
	size_t nr_fails, cap_fails;

	uint64_t size_hist[SIZE_BUCKETS];
	uint64_t allocs, frees, nfails, unmatched_frees, replaced_allocs, atomic_allocs;
	uint64_t bytes_alloc, bytes_freed, chunks_created, chunks_destroyed;
	uint64_t open_bytes;        /* bytes of the open allocations (the timeline's counter) */
};

static inline size_t hash64(uint64_t k, size_t mask)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return (size_t)k & mask;
}

static int grow(void **arr, size_t *cap, size_t elem, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- u64 -> row index table ---- */

static int index_rehash(struct index_table *t, size_t ncap)
{
	struct index_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].used)
			continue;
		size_t j = hash64(t->slots[i].key, ncap - 1);
		while (ns[j].used)
			j = (j + 1) & (ncap - 1);
		ns[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

/* Slot for key: existing (used) or the empty one to fill. NULL on allocation failure. */
static struct index_slot *index_slot(struct index_table *t, uint64_t key)
{
	if ((t->len + 1) * 4 > t->cap * 3 && index_rehash(t, t->cap ? t->cap * 2 : 64))
		return NULL;
	size_t j = hash64(key, t->cap - 1);
	while (t->slots[j].used && t->slots[j].key != key)
		j = (j + 1) & (t->cap - 1);
	return &t->slots[j];
}

static void index_fill(struct index_table *t, struct index_slot *s, uint64_t key, uint32_t row)
{
	if (!s->used)
		t->len++;
	s->used = 1;
	s->key = key;
	s->row = row;
}

/* ---- ptr table with backward-shift deletion (no tombstones) ---- */

static int open_rehash(struct pcp_percpu_model *m, size_t ncap)
{
	struct open_alloc *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < m->open_cap; i++) {
		if (!m->open[i].used)
			continue;
		size_t j = hash64(m->open[i].ptr, ncap - 1);
		while (ns[j].used)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->open[i];
	}
	free(m->open);
	m->open = ns;
	m->open_cap = ncap;
	return 0;
}

static struct open_alloc *open_find(struct pcp_percpu_model *m, uint64_t ptr)
{
	if (!m->open_cap)
		return NULL;
	size_t mask = m->open_cap - 1, j = hash64(ptr, mask);
	while (m->open[j].used) {
		if (m->open[j].ptr == ptr)
			return &m->open[j];
		j = (j + 1) & mask;
	}
	return NULL;
}

static void open_remove(struct pcp_percpu_model *m, struct open_alloc *slot)
{
	size_t mask = m->open_cap - 1, i = (size_t)(slot - m->open), j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (!m->open[j].used)
			break;
		size_t home = hash64(m->open[j].ptr, mask);
		/* Move j back into the hole at i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->open[i] = m->open[j];
			i = j;
		}
	}
	m->open[i].used = 0;
	m->open_len--;
}

/* ---- rows ---- */

static int site_row(struct pcp_percpu_model *m, uint64_t call_site, uint32_t *row)
{
	struct index_slot *s = index_slot(&m->site_index, call_site);
	if (!s)
		return -1;
	if (s->used) {
		*row = s->row;
		return 0;
	}
	if (grow((void **)&m->sites, &m->cap_sites, sizeof(*m->sites), m->nr_sites + 1))
		return -1;
	memset(&m->sites[m->nr_sites], 0, sizeof(*m->sites));
	m->sites[m->nr_sites].call_site = call_site;
	index_fill(&m->site_index, s, call_site, (uint32_t)m->nr_sites);
	*row = (uint32_t)m->nr_sites++;
	return 0;
}

static struct pcp_percpu_chunk *chunk_new(struct pcp_percpu_model *m, struct index_slot *s,
					  uint64_t base_addr)
{
	if (grow((void **)&m->chunks, &m->cap_chunks, sizeof(*m->chunks), m->nr_chunks + 1))
		return NULL;
	struct pcp_percpu_chunk *c = &m->chunks[m->nr_chunks];
	memset(c, 0, sizeof(*c));
	c->base_addr = base_addr;
	index_fill(&m->chunk_index, s, base_addr, (uint32_t)m->nr_chunks++);
	return c;
}

/* The live chunk row of base_addr for an alloc or free: a new row (lifetime unknown) when the
 * address was never seen or its latest row was destroyed. NULL: no chunk (base 0) or OOM. */
static struct pcp_percpu_chunk *chunk_live(struct pcp_percpu_model *m, uint64_t base_addr)
{
	if (!base_addr)
		return NULL;
	struct index_slot *s = index_slot(&m->chunk_index, base_addr);
	if (!s) {
		m->oom = 1;
		return NULL;
	}
	if (s->used && !m->chunks[s->row].has_destroyed)
		return &m->chunks[s->row];
	struct pcp_percpu_chunk *c = chunk_new(m, s, base_addr);
	if (!c)
		m->oom = 1;
	return c;
}

static unsigned size_bucket(uint64_t size)
{
	return size ? 64u - (unsigned)__builtin_clzll(size) : 0u;
}

int pcp_percpu_model_new(struct pcp_percpu_model **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? PCP_OK : PCP_ERR_NOMEM;
}

static void on_alloc(struct pcp_percpu_model *m, const struct pcp_event *ev)
{
	const struct pcp_percpu_op *op = &ev->percpu;
	/* bytes_alloc is 0 only when the kernel's format lacks it: fall back to size. */
	uint64_t bytes = op->bytes_alloc ? op->bytes_alloc : op->size;
	uint32_t row;

	m->allocs++;
	m->bytes_alloc += bytes;
	m->size_hist[size_bucket(op->size)]++;
	if (op->is_atomic)
		m->atomic_allocs++;
	if (site_row(m, op->call_site, &row)) {
		m->oom = 1;
		return;
	}
	struct pcp_percpu_callsite *site = &m->sites[row];
	site->allocs++;
	site->bytes_alloc += bytes;
	if (op->is_atomic)
		site->atomic_allocs++;
	struct pcp_percpu_chunk *c = chunk_live(m, op->base_addr);
	if (c)
		c->allocs++;

	struct open_alloc *slot = open_find(m, op->ptr);
	if (slot) {
		m->replaced_allocs++; /* its free was not traced: drop the old one */
		m->open_bytes -= slot->bytes;
	} else {
		if ((m->open_len + 1) * 4 > m->open_cap * 3 &&
		    open_rehash(m, m->open_cap ? m->open_cap * 2 : 1024)) {
			m->oom = 1;
			return;
		}
		size_t mask = m->open_cap - 1, j = hash64(op->ptr, mask);
		while (m->open[j].used)
			j = (j + 1) & mask;
		slot = &m->open[j];
		m->open_len++;
	}
	slot->used = 1;
	slot->ptr = op->ptr;
	slot->size = op->size;
	slot->bytes = bytes;
	m->open_bytes += bytes;
	slot->ts_ns = ev->ts_ns;
	slot->base_addr = op->base_addr;
	slot->off = op->off;
	slot->site = row;
}

static void on_free(struct pcp_percpu_model *m, const struct pcp_event *ev)
{
	const struct pcp_percpu_op *op = &ev->percpu;

	m->frees++;
	struct pcp_percpu_chunk *c = chunk_live(m, op->base_addr);
	if (c)
		c->frees++;
	struct open_alloc *slot = open_find(m, op->ptr);
	if (!slot) {
		/* Allocated before the trace (or its alloc was lost): call site 0 takes it. */
		uint32_t row;
		m->unmatched_frees++;
		if (site_row(m, 0, &row))
			m->oom = 1;
		else
			m->sites[row].frees++;
		return;
	}
	struct pcp_percpu_callsite *site = &m->sites[slot->site];
	site->frees++;
	site->bytes_freed += slot->bytes;
	m->bytes_freed += slot->bytes;
	m->open_bytes -= slot->bytes;
	open_remove(m, slot);
}

static void on_fail(struct pcp_percpu_model *m, const struct pcp_event *ev)
{
	const struct pcp_percpu_op *op = &ev->percpu;
	uint32_t row;

	m->nfails++;
	if (site_row(m, op->call_site, &row) ||
	    grow((void **)&m->fails, &m->cap_fails, sizeof(*m->fails), m->nr_fails + 1)) {
		m->oom = 1;
		return;
	}
	m->sites[row].fails++;
	m->fails[m->nr_fails++] = (struct pcp_percpu_fail){
		.ts_ns = ev->ts_ns, .cpu = ev->cpu, .call_site = op->call_site,
		.size = op->size, .align = op->align,
		.reserved = op->reserved, .is_atomic = op->is_atomic,
	};
}

static void on_chunk(struct pcp_percpu_model *m, const struct pcp_event *ev, int create)
{
	uint64_t base = ev->percpu.base_addr;
	struct index_slot *s = index_slot(&m->chunk_index, base);
	struct pcp_percpu_chunk *c = NULL;

	if (create)
		m->chunks_created++;
	else
		m->chunks_destroyed++;
	if (!s) {
		m->oom = 1;
		return;
	}
	/* A create always starts a new lifetime; a destroy ends the live one, or is a lifetime
	 * whose creation was not traced. */
	if (!create && s->used && !m->chunks[s->row].has_destroyed)
		c = &m->chunks[s->row];
	else if (!(c = chunk_new(m, s, base))) {
		m->oom = 1;
		return;
	}
	if (create) {
		c->has_created = 1;
		c->created_ns = ev->ts_ns;
	} else {
		c->has_destroyed = 1;
		c->destroyed_ns = ev->ts_ns;
	}
}

void pcp_percpu_model_event(struct pcp_percpu_model *m, const struct pcp_event *ev)
{
	switch (ev->kind) {
	case PCP_EV_PERCPU_ALLOC: on_alloc(m, ev); break;
	case PCP_EV_PERCPU_FREE: on_free(m, ev); break;
	case PCP_EV_PERCPU_FAIL: on_fail(m, ev); break;
	case PCP_EV_PERCPU_CHUNK_CREATE: on_chunk(m, ev, 1); break;
	case PCP_EV_PERCPU_CHUNK_DESTROY: on_chunk(m, ev, 0); break;
	default: break;
	}
}

uint64_t pcp_percpu_model_open_bytes(const struct pcp_percpu_model *m)
{
	return m->open_bytes;
}

/* ---- finish ---- */

/* What trace-cmd report prints for %pS: "function+0xoff" through the trace's kallsyms, else
 * the address in hex. Call site 0 (unknown) has none: *out = NULL. -1 on allocation failure. */
static int symbolize(struct tep_handle *tep, uint64_t addr, char **out)
{
	const char *fn = tep && addr ? tep_find_function(tep, addr) : NULL;
	int n;

	*out = NULL;
	if (!addr)
		return 0;
	if (fn)
		n = asprintf(out, "%s+0x%llx", fn,
			     (unsigned long long)addr - tep_find_function_address(tep, addr));
	else
		n = asprintf(out, "0x%llx", (unsigned long long)addr);
	if (n < 0) {
		*out = NULL;
		return -1;
	}
	return 0;
}

static int cmp_site(const void *a, const void *b)
{
	const struct pcp_percpu_callsite *x = a, *y = b;
	if (x->outstanding_bytes != y->outstanding_bytes)
		return x->outstanding_bytes > y->outstanding_bytes ? -1 : 1;
	if (x->outstanding_allocs != y->outstanding_allocs)
		return x->outstanding_allocs > y->outstanding_allocs ? -1 : 1;
	if (x->allocs != y->allocs)
		return x->allocs > y->allocs ? -1 : 1;
	return x->call_site < y->call_site ? -1 : x->call_site > y->call_site;
}

static int cmp_outstanding(const void *a, const void *b)
{
	const struct pcp_percpu_outstanding *x = a, *y = b;
	if (x->bytes_alloc != y->bytes_alloc)
		return x->bytes_alloc > y->bytes_alloc ? -1 : 1;
	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

int pcp_percpu_model_finish(struct pcp_percpu_model *m, struct tep_handle *tep,
			    struct pcp_percpu_results **out)
{
	struct pcp_percpu_results *r;

	*out = NULL;
	if (m->oom)
		return PCP_ERR_NOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		return PCP_ERR_NOMEM;
	r->allocs = m->allocs;
	r->frees = m->frees;
	r->fails = m->nfails;
	r->unmatched_frees = m->unmatched_frees;
	r->replaced_allocs = m->replaced_allocs;
	r->atomic_allocs = m->atomic_allocs;
	r->bytes_alloc = m->bytes_alloc;
	r->bytes_freed = m->bytes_freed;
	r->chunks_created = m->chunks_created;
	r->chunks_destroyed = m->chunks_destroyed;

	/* Call sites are copied to the results (symbols resolved once, here), then charged with
	 * what is left in the ptr table (by unsorted row), then sorted. */
	if (m->nr_sites) {
		r->callsites = calloc(m->nr_sites, sizeof(*r->callsites));
		if (!r->callsites)
			goto nomem;
		for (size_t i = 0; i < m->nr_sites; i++) {
			r->callsites[i] = m->sites[i];
			r->callsites[i].symbol = NULL;
			r->nr_callsites++;
			if (symbolize(tep, m->sites[i].call_site, &r->callsites[i].symbol))
				goto nomem;
		}
	}
	if (m->open_len) {
		r->outstanding = calloc(m->open_len, sizeof(*r->outstanding));
		if (!r->outstanding)
			goto nomem;
	}
	for (size_t i = 0; i < m->open_cap; i++) {
		const struct open_alloc *o = &m->open[i];
		if (!o->used)
			continue;
		struct pcp_percpu_callsite *site = &r->callsites[o->site];
		site->outstanding_allocs++;
		site->outstanding_bytes += o->bytes;
		r->outstanding[r->nr_outstanding++] = (struct pcp_percpu_outstanding){
			.ptr = o->ptr, .call_site = site->call_site, .size = o->size,
			.bytes_alloc = o->bytes, .ts_ns = o->ts_ns,
			.base_addr = o->base_addr, .off = o->off,
		};
		r->outstanding_allocs++;
		r->outstanding_bytes += o->bytes;
	}
	if (r->nr_outstanding)
		qsort(r->outstanding, r->nr_outstanding, sizeof(*r->outstanding), cmp_outstanding);

	if (r->nr_callsites)
		qsort(r->callsites, r->nr_callsites, sizeof(*r->callsites), cmp_site);

	size_t nb = 0;
	for (unsigned b = 0; b < SIZE_BUCKETS; b++)
		nb += m->size_hist[b] != 0;
	if (nb) {
		r->size_hist = calloc(nb, sizeof(*r->size_hist));
		if (!r->size_hist)
			goto nomem;
		for (unsigned b = 0; b < SIZE_BUCKETS; b++) {
			if (!m->size_hist[b])
				continue;
			struct pcp_percpu_size_bucket *sb = &r->size_hist[r->nr_size_hist++];
			sb->lo_bytes = b ? 1ULL << (b - 1) : 0;
			/* the last bucket's hi (2^64) saturates at UINT64_MAX */
			sb->hi_bytes = b == 0 ? 1 : b == 64 ? UINT64_MAX : 1ULL << b;
			sb->allocs = m->size_hist[b];
		}
	}

	if (m->nr_chunks) {
		r->chunks = malloc(m->nr_chunks * sizeof(*r->chunks));
		if (!r->chunks)
			goto nomem;
		memcpy(r->chunks, m->chunks, m->nr_chunks * sizeof(*r->chunks));
		r->nr_chunks = m->nr_chunks;
	}
	if (pcp_percpu_run_chunks(r))
		goto nomem;
	if (m->nr_fails) {
		r->failures = malloc(m->nr_fails * sizeof(*r->failures));
		if (!r->failures)
			goto nomem;
		memcpy(r->failures, m->fails, m->nr_fails * sizeof(*r->failures));
		r->nr_failures = m->nr_fails;
	}

	/* metrics, by id (metric_table.h: names, units and order come from there) */
	double v[PCP_METRIC_COUNT];
	for (size_t i = 0; i < PCP_METRIC_COUNT; i++)
		v[i] = NAN;
	v[PCP_METRIC_PERCPU_ALLOCS] = (double)r->allocs;
	v[PCP_METRIC_PERCPU_FREES] = (double)r->frees;
	v[PCP_METRIC_PERCPU_FAILS] = (double)r->fails;
	v[PCP_METRIC_PERCPU_OUTSTANDING_ALLOCS] = (double)r->outstanding_allocs;
	v[PCP_METRIC_PERCPU_OUTSTANDING_BYTES] = (double)r->outstanding_bytes;
	v[PCP_METRIC_PERCPU_CHUNKS_CREATED] = (double)r->chunks_created;
	v[PCP_METRIC_PERCPU_CHUNKS_DESTROYED] = (double)r->chunks_destroyed;
	v[PCP_METRIC_PERCPU_UNMATCHED_FREES] = (double)r->unmatched_frees;
	v[PCP_METRIC_PERCPU_REPLACED_ALLOCS] = (double)r->replaced_allocs;
	/* the fragmentation metrics stay undefined until pcp_percpu_attach_meta has snapshots */
	if (pcp_metric_rows(PCP_METRIC_GROUP_PERCPU, v, &r->metrics, &r->nr_metrics))
		goto nomem;

	*out = r;
	return PCP_OK;
nomem:
	pcp_percpu_results_free(r);
	return PCP_ERR_NOMEM;
}

void pcp_percpu_model_free(struct pcp_percpu_model *m)
{
	if (!m)
		return;
	free(m->open);
	free(m->site_index.slots);
	free(m->sites);
	free(m->chunk_index.slots);
	free(m->chunks);
	free(m->fails);
	free(m);
}

void pcp_percpu_results_free(struct pcp_percpu_results *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nr_callsites; i++)
		free(r->callsites[i].symbol);
	free(r->callsites);
	free(r->size_hist);
	free(r->outstanding);
	free(r->chunks);
	free(r->failures);
	free(r->metrics);
	free(r->run_chunks);
	pcp_percpu_frag_free(r->frag);
	free(r);
}

void pcp_percpu_model_peek(const struct pcp_percpu_model *m, struct pcp_percpu_live *out)
{
	out->allocs = m->allocs;
	out->frees = m->frees;
	out->fails = m->nfails;
	out->outstanding_allocs = m->open_len;
	out->outstanding_bytes = 0;
	for (size_t i = 0; i < m->open_cap; i++)
		if (m->open[i].used)
			out->outstanding_bytes += m->open[i].bytes;
}
