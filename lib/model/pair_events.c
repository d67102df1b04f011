/* The open[pfn] table: refill/drain pairing per PFN (docs/METRICS.md, "Pairing"). */
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "model/pair_events.h"
#include "model/table_mem.h"

#define PAIR_MIN_GROUPS 128      /* 1024 slots */
/* Grow before the load factor passes 7/10: linear probing stays short. */
#define PAIR_LOAD_NUM 7
#define PAIR_LOAD_DEN 10
/* a growth gives the old table back in parts of this many bytes as it consumes them */
#define PAIR_RELEASE_BYTES ((size_t)2 << 20)

static size_t table_cap(const struct pcp_pair_table *t)
{
	return t->nr_groups << PCP_PFN_GROUP_BITS;
}

/* Large tables are huge-page aligned and mapped directly (model/table_mem.h): probes land
 * anywhere in the table, and with 4 KiB pages nearly each one also missed the TLB (measured: the
 * table's share of pcpanalyze's time fell by a third on a 287k-PFN recording). */
static int table_alloc(struct pcp_pair_table *t, size_t nr_groups)
{
	void *p;

	if (nr_groups > (SIZE_MAX / 2 / sizeof(*t->slots) >> PCP_PFN_GROUP_BITS) ||
	    nr_groups > UINT32_MAX ||
	    !(p = pcp_table_zalloc(nr_groups << PCP_PFN_GROUP_BITS, sizeof(*t->slots))))
		return PCP_ERR_NOMEM;
	t->slots = p;
	t->nr_groups = nr_groups;
	return PCP_OK;
}

int pcp_pair_table_init(struct pcp_pair_table *t, size_t expected_pfns)
{
	size_t groups = PAIR_MIN_GROUPS;

	memset(t, 0, sizeof(*t));
	while ((groups << PCP_PFN_GROUP_BITS) / PAIR_LOAD_DEN * PAIR_LOAD_NUM < expected_pfns &&
	       groups < ((size_t)1 << 31))
		groups += groups / 2;
	return table_alloc(t, groups);
}

void pcp_pair_table_destroy(struct pcp_pair_table *t)
{
	pcp_table_free(t->slots, table_cap(t), sizeof(*t->slots));
	t->slots = NULL;
	t->nr_groups = 0;
	free(t->stats);
	t->stats = NULL;
	t->cap_stats = 0;
	t->used = t->nr_open = 0;
}

/* The slot holding pfn (hash h), or the empty slot where it would go. */
static inline struct pcp_pfn_slot *probe(struct pcp_pfn_slot *slots, size_t nr_groups, uint64_t h,
					 uint64_t pfn)
{
	size_t s = pcp_pair_home(h, pfn, nr_groups), cap = nr_groups << PCP_PFN_GROUP_BITS;

	for (;;) {
		struct pcp_pfn_slot *e = &slots[s];

		if (!e->id || e->pfn == pfn)
			return e;
		if (++s == cap)
			s = 0;
	}
}

/* 1.5 times as large. The old table is read from the first empty slot on (so that the cluster
 * wrapped around its end is read last) and every whole part of it read is given back at once:
 * homes keep the hash order, so the new table fills front to back meanwhile and the growth
 * peaks near the new size. Any insertion order gives a valid linear-probing table. */
static int table_grow(struct pcp_pair_table *t)
{
	struct pcp_pair_table bigger = *t;
	struct pcp_pfn_slot *old = t->slots;
	size_t old_cap = table_cap(t), z = 0, per = PAIR_RELEASE_BYTES / sizeof(*old), next;

	if (table_alloc(&bigger, t->nr_groups + t->nr_groups / 2))
		return PCP_ERR_NOMEM;
	while (z < old_cap && old[z].id)
		z++;
	next = (z + per - 1) / per * per;       /* the first part wholly at or after z */
	for (size_t k = 0; k < old_cap; k++) {
		size_t i = z + k < old_cap ? z + k : z + k - old_cap;

		if (old[i].id)
			*probe(bigger.slots, bigger.nr_groups, pcp_pfn_hash(old[i].pfn), old[i].pfn) = old[i];
		if (i >= z && i + 1 == next + per) {
			pcp_table_release(old, old_cap, sizeof(*old), next, next + per);
			next += per;
		}
	}
	pcp_table_free(old, old_cap, sizeof(*old));
	t->slots = bigger.slots;
	t->nr_groups = bigger.nr_groups;
	return PCP_OK;
}

/* Room for one more statistics entry (amortized: realloc by 1.5x, in place for large ones). */
static int stats_reserve(struct pcp_pair_table *t)
{
	size_t cap = t->cap_stats ? t->cap_stats + t->cap_stats / 2 : 1024;
	struct pcp_pfn_stats *s;

	if (t->used < t->cap_stats)
		return PCP_OK;
	if (t->used >= UINT32_MAX - 1 || cap > SIZE_MAX / 2 / sizeof(*s) ||
	    !(s = realloc(t->stats, cap * sizeof(*s))))
		return PCP_ERR_NOMEM;
	t->stats = s;
	t->cap_stats = cap;
	return PCP_OK;
}

int pcp_pair_refill(struct pcp_pair_table *t, uint64_t pfn, uint32_t order, uint32_t cpu,
		    uint64_t ts_ns)
{
	uint64_t h = pcp_pfn_hash(pfn);
	struct pcp_pfn_slot *e;

	if (cpu > PCP_PAIR_MAX_CPU)
		return PCP_ERR_USAGE;
	e = probe(t->slots, t->nr_groups, h, pfn);
	if (!e->id) {
		if (stats_reserve(t))
			return PCP_ERR_NOMEM;
		if ((t->used + 1) * PAIR_LOAD_DEN > table_cap(t) * PAIR_LOAD_NUM) {
			if (table_grow(t))
				return PCP_ERR_NOMEM;
			e = probe(t->slots, t->nr_groups, h, pfn);
		}
		memset(&t->stats[t->used], 0, sizeof(t->stats[t->used]));
		e->pfn = pfn;
		e->bits = 0;
		t->used++;
		e->id = (uint32_t)t->used;
	}
	if (e->bits & 1)
		t->refill_overwritten++;
	else
		t->nr_open++;
	e->refill_ts_ns = ts_ns;
	e->bits = cpu << 8 | order << 1 | 1;
	return PCP_OK;
}

int pcp_pair_drain(struct pcp_pair_table *t, uint64_t pfn, uint32_t cpu, uint64_t ts_ns,
		   struct pcp_pair *out)
{
	uint64_t h = pcp_pfn_hash(pfn);
	struct pcp_pfn_slot *e = probe(t->slots, t->nr_groups, h, pfn);
	struct pcp_pfn_stats *st;
	uint32_t refill_cpu;
	uint64_t rt;

	if (!(e->bits & 1)) {           /* an empty slot has bits 0 */
		t->unmatched_drains++;
		return 0;
	}
	rt = ts_ns >= e->refill_ts_ns ? ts_ns - e->refill_ts_ns : 0;
	refill_cpu = e->bits >> 8;
	e->bits &= ~UINT32_C(1);
	t->nr_open--;
	t->pairs++;
	st = &t->stats[e->id - 1];
	if (st->cycles == 0 || rt < st->min_round_trip_ns)
		st->min_round_trip_ns = rt;
	if (st->cycles == 0 || rt > st->max_round_trip_ns)
		st->max_round_trip_ns = rt;
	if (st->cycles == UINT32_MAX) {
		t->cycles_saturated++;
	} else {
		st->cycles++;
		if (refill_cpu != cpu)
			st->cross_cpu_cycles++;
	}
	out->round_trip_ns = rt;
	out->refill_cpu = refill_cpu;
	out->order = (e->bits >> 1) & 63;
	return 1;
}

/* The entry as one struct, from its slot and its statistics. */
static void entry_view(const struct pcp_pair_table *t, const struct pcp_pfn_slot *e,
		       struct pcp_pfn_entry *v)
{
	const struct pcp_pfn_stats *st = &t->stats[e->id - 1];

	v->pfn = e->pfn;
	v->refill_ts_ns = e->refill_ts_ns;
	v->min_round_trip_ns = st->min_round_trip_ns;
	v->max_round_trip_ns = st->max_round_trip_ns;
	v->cycles = st->cycles;
	v->cross_cpu_cycles = st->cross_cpu_cycles;
	v->refill_cpu = e->bits >> 8;
	v->order = (uint8_t)((e->bits >> 1) & 63);
	v->flags = (uint8_t)(PCP_PFN_USED | (e->bits & 1 ? PCP_PFN_OPEN : 0));
}

const struct pcp_pfn_entry *pcp_pair_find(const struct pcp_pair_table *t, uint64_t pfn)
{
	const struct pcp_pfn_slot *e;
	struct pcp_pfn_entry *found = (struct pcp_pfn_entry *)&t->found;  /* the table's own */

	if (!t->slots)
		return NULL;
	e = probe(t->slots, t->nr_groups, pcp_pfn_hash(pfn), pfn);
	if (!e->id)
		return NULL;
	entry_view(t, e, found);
	return found;
}

/* a ranks before b: more cycles, then lower pfn. */
static int ranks_before(const struct pcp_pfn_cycles *a, const struct pcp_pfn_cycles *b)
{
	if (a->cycles != b->cycles)
		return a->cycles > b->cycles;
	return a->pfn < b->pfn;
}

int pcp_pfn_cycles_cmp_rank(const void *pa, const void *pb)
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
	if (n == 0)
		return PCP_OK;
	heap = malloc(n * sizeof(*heap));
	if (!heap)
		return PCP_ERR_NOMEM;
	for (size_t i = 0; i < table_cap(t); i++) {
		const struct pcp_pfn_slot *s = &t->slots[i];
		struct pcp_pfn_entry e;
		struct pcp_pfn_cycles row;

		if (!s->id || t->stats[s->id - 1].cycles == 0)
			continue;
		entry_view(t, s, &e);
		row.pfn = e.pfn;
		row.order = e.order;
		row.cycles = e.cycles;
		row.cross_cpu_cycles = e.cross_cpu_cycles;
		row.min_round_trip_ns = e.min_round_trip_ns;
		row.max_round_trip_ns = e.max_round_trip_ns;
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
	qsort(heap, kept, sizeof(*heap), pcp_pfn_cycles_cmp_rank);
	*out = heap;
	*nr_out = kept;
	return PCP_OK;
}
