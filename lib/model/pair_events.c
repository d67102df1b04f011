/* The open[pfn] table: refill/drain pairing per PFN (docs/METRICS.md, "Pairing"). */
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "model/pair_events.h"
#include "model/table_mem.h"

#define PAIR_MIN_CAPACITY 1024
/* Grow before the load factor passes 7/10: linear probing stays short. */
#define PAIR_LOAD_NUM 7
#define PAIR_LOAD_DEN 10

static unsigned log2_pow2(size_t cap)
{
	unsigned b = 0;

	while (((size_t)1 << b) < cap)
		b++;
	return b;
}

/* Large tables are huge-page aligned and mapped directly (model/table_mem.h): probes land
 * anywhere in the table, and with 4 KiB pages nearly each one also missed the TLB (measured: the
 * table's share of pcpanalyze's time fell by a third on a 287k-PFN recording). */
static int table_alloc(struct pcp_pair_table *t, size_t cap)
{
	void *p = pcp_table_zalloc(cap, sizeof(*t->slots));

	if (!p)
		return PCP_ERR_NOMEM;
	t->slots = p;
	t->mask = cap - 1;
	t->hash_shift = 64 - log2_pow2(cap);
	return PCP_OK;
}

int pcp_pair_table_init(struct pcp_pair_table *t, size_t expected_pfns)
{
	size_t cap = PAIR_MIN_CAPACITY;

	memset(t, 0, sizeof(*t));
	while (cap / PAIR_LOAD_DEN * PAIR_LOAD_NUM < expected_pfns && cap < ((size_t)1 << 40))
		cap <<= 1;
	return table_alloc(t, cap);
}

void pcp_pair_table_destroy(struct pcp_pair_table *t)
{
	pcp_table_free(t->slots, t->mask + 1, sizeof(*t->slots));
	t->slots = NULL;
	t->mask = 0;
	t->used = t->nr_open = 0;
}

static int table_grow(struct pcp_pair_table *t)
{
	struct pcp_pair_table bigger = *t;
	size_t old_cap = t->mask + 1;

	if (old_cap > SIZE_MAX / 2 / sizeof(*t->slots))
		return PCP_ERR_NOMEM;
	if (table_alloc(&bigger, old_cap * 2))
		return PCP_ERR_NOMEM;
	for (size_t i = 0; i < old_cap; i++) {
		const struct pcp_pfn_entry *e = &t->slots[i];
		size_t s;

		if (!(e->flags & PCP_PFN_USED))
			continue;
		for (s = pcp_pfn_slot(e->pfn, bigger.hash_shift); bigger.slots[s].flags; s = (s + 1) & bigger.mask)
			;
		bigger.slots[s] = *e;
	}
	pcp_table_free(t->slots, old_cap, sizeof(*t->slots));
	*t = bigger;
	return PCP_OK;
}

/* The slot holding pfn, or the empty slot where it would go. */
static inline struct pcp_pfn_entry *probe(const struct pcp_pair_table *t, uint64_t pfn)
{
	size_t s = pcp_pfn_slot(pfn, t->hash_shift);

	for (;;) {
		struct pcp_pfn_entry *e = &t->slots[s];

		if (!e->flags || e->pfn == pfn)
			return e;
		s = (s + 1) & t->mask;
	}
}

int pcp_pair_refill(struct pcp_pair_table *t, uint64_t pfn, uint32_t order, uint32_t cpu,
		    uint64_t ts_ns)
{
	struct pcp_pfn_entry *e = probe(t, pfn);

	if (!e->flags) {
		if ((t->used + 1) * PAIR_LOAD_DEN > (t->mask + 1) * PAIR_LOAD_NUM) {
			if (table_grow(t))
				return PCP_ERR_NOMEM;
			e = probe(t, pfn);
		}
		e->pfn = pfn;
		e->flags = PCP_PFN_USED;
		t->used++;
	}
	if (e->flags & PCP_PFN_OPEN)
		t->refill_overwritten++;
	else
		t->nr_open++;
	e->flags |= PCP_PFN_OPEN;
	e->refill_ts_ns = ts_ns;
	e->refill_cpu = cpu;
	e->order = (uint8_t)order;
	return PCP_OK;
}

int pcp_pair_drain(struct pcp_pair_table *t, uint64_t pfn, uint32_t cpu, uint64_t ts_ns,
		   struct pcp_pair *out)
{
	struct pcp_pfn_entry *e = probe(t, pfn);
	uint64_t rt;

	if (!(e->flags & PCP_PFN_OPEN)) {
		t->unmatched_drains++;
		return 0;
	}
	rt = ts_ns >= e->refill_ts_ns ? ts_ns - e->refill_ts_ns : 0;
	e->flags &= (uint8_t)~PCP_PFN_OPEN;
	t->nr_open--;
	t->pairs++;
	if (e->cycles == 0 || rt < e->min_round_trip_ns)
		e->min_round_trip_ns = rt;
	if (e->cycles == 0 || rt > e->max_round_trip_ns)
		e->max_round_trip_ns = rt;
	if (e->cycles == UINT32_MAX) {
		t->cycles_saturated++;
	} else {
		e->cycles++;
		if (e->refill_cpu != cpu)
			e->cross_cpu_cycles++;
	}
	out->round_trip_ns = rt;
	out->refill_cpu = e->refill_cpu;
	out->order = e->order;
	return 1;
}

const struct pcp_pfn_entry *pcp_pair_find(const struct pcp_pair_table *t, uint64_t pfn)
{
	const struct pcp_pfn_entry *e;

	if (!t->slots)
		return NULL;
	e = probe(t, pfn);
	return e->flags ? e : NULL;
}

/* a ranks before b: more cycles, then lower pfn. */
static int ranks_before(const struct pcp_pfn_cycles *a, const struct pcp_pfn_cycles *b)
{
	if (a->cycles != b->cycles)
		return a->cycles > b->cycles;
	return a->pfn < b->pfn;
}

static int cmp_rank(const void *pa, const void *pb)
{
	const struct pcp_pfn_cycles *a = pa, *b = pb;

	if (ranks_before(a, b))
		return -1;
	return ranks_before(b, a);
}

/* Min-heap on rank: the root is the worst of the kept rows, the one a better row evicts. */
static void heap_sift_down(struct pcp_pfn_cycles *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, worst = i;
		struct pcp_pfn_cycles tmp;

		if (l < n && ranks_before(&h[worst], &h[l]))
			worst = l;
		if (r < n && ranks_before(&h[worst], &h[r]))
			worst = r;
		if (worst == i)
			return;
		tmp = h[i];
		h[i] = h[worst];
		h[worst] = tmp;
		i = worst;
	}
}

static void heap_sift_up(struct pcp_pfn_cycles *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		struct pcp_pfn_cycles tmp;

		if (!ranks_before(&h[parent], &h[i]))
			return;
		tmp = h[i];
		h[i] = h[parent];
		h[parent] = tmp;
		i = parent;
	}
}

int pcp_pair_top_cycles(const struct pcp_pair_table *t, size_t n, struct pcp_pfn_cycles **out,
			size_t *nr_out)
{
	struct pcp_pfn_cycles *heap;
	size_t kept = 0;

	*out = NULL;
	*nr_out = 0;
	if (n > t->used)
		n = t->used;
	if (n == 0 || !t->slots)
		return PCP_OK;
	heap = malloc(n * sizeof(*heap));
	if (!heap)
		return PCP_ERR_NOMEM;
	for (size_t i = 0; i <= t->mask; i++) {
		const struct pcp_pfn_entry *e = &t->slots[i];
		struct pcp_pfn_cycles row;

		if (!e->flags || e->cycles == 0)
			continue;
		row.pfn = e->pfn;
		row.order = e->order;
		row.cycles = e->cycles;
		row.cross_cpu_cycles = e->cross_cpu_cycles;
		row.min_round_trip_ns = e->min_round_trip_ns;
		row.max_round_trip_ns = e->max_round_trip_ns;
		if (kept < n) {
			heap[kept] = row;
			heap_sift_up(heap, kept++);
		} else if (ranks_before(&row, &heap[0])) {
			heap[0] = row;
			heap_sift_down(heap, kept, 0);
		}
	}
	if (kept == 0) {
		free(heap);
		return PCP_OK;
	}
	qsort(heap, kept, sizeof(*heap), cmp_rank);
	*out = heap;
	*nr_out = kept;
	return PCP_OK;
}
