/* The page lifecycle model: a per-block state machine over the decoded kmem events, exactly as
 * docs/METRICS.md, "Lifecycle", defines it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "model/histogram.h"
#include "model/lifecycle.h"
#include "model/pair_events.h"      /* pcp_pair_home(): the same block hashing */
#include "model/table_mem.h"

#define MIN_GROUPS 128          /* 1024 blocks */
#define BLOCKS_RELEASE_BYTES ((size_t)2 << 20)
#define LOAD_NUM 7
#define LOAD_DEN 10

enum lc_state { LC_UNKNOWN = 0, LC_ON_PCP, LC_IN_USE, LC_IN_BUDDY };
enum lc_entry { LC_BY_REFILL = 0, LC_BY_FREE };

/* 48 bytes (static_assert below), three in two cache lines where the previous layout had one
 * per line: the hot state and the open round trip only. The last free of an open round trip is
 * not stored: when the drain closes a round trip that can be split, the block is on a list
 * since that free, so since_ns holds its time (rt_close). An entry is created by the first
 * event of its block and never removed. */
struct lc_block {
	uint64_t pfn;
	uint64_t since_ns;              /* ON_PCP: when it entered the list; IN_USE with an open
					 * round trip: when that use began */
	/* the open round trip (a refill not yet drained, as pair_events.c pairs them) */
	uint64_t rt_refill_ts, rt_first_alloc_ts, rt_in_use_ns;
	uint32_t owner_cpu;             /* ON_PCP: the CPU whose list held it */
	uint8_t order;
	uint8_t state;                  /* enum lc_state */
	uint8_t flags;                  /* LC_F_* */
	uint8_t rt_uses;                /* allocs in the open round trip, saturating at 2: only
					 * 0, 1 and more than 1 matter */
};

enum {
	LC_F_USED = 1,                  /* the slot holds a block */
	LC_F_BY_FREE = 2,               /* ON_PCP: entered by a free (else by a refill) */
	LC_F_RT_OPEN = 4,
	LC_F_RT_IN_USE = 8,
	LC_F_RT_BROKEN = 16,
};

_Static_assert(sizeof(struct lc_block) == 48, "48 bytes per block");

struct lc_task_slot {
	struct pcp_lc_task t;
	uint8_t used;
};

/* Occupancy areas (pages x ns) are integers, summed exactly in 128 bits. The long double sums
 * they replace were exact below 2^64 (the same means, bit for bit, on every trace below that)
 * and cost an x87 load and store of 10 bytes per change, which the next change read back
 * (the lifecycle thread's hottest instructions on a recorded trace). Unsigned arithmetic
 * (modulo 2^128: the two's complement bits of the signed sum) so that no input, however
 * damaged, overflows a signed type; area_value() reads the sum as signed. */
__extension__ typedef unsigned __int128 lc_area;

static inline lc_area area_of(int64_t occ, uint64_t ns)
{
	return (lc_area)occ * (lc_area)ns;
}

static inline long double area_value(lc_area a)
{
	__extension__ typedef __int128 lc_signed_area;

	return (long double)(lc_signed_area)a;
}

struct lc_cpu {
	struct pcp_lc_cpu_flow flow;
	int64_t occ;                    /* pages on this CPU's lists now */
	uint64_t occ_ts;                /* time of the last change (or of the first event) */
	lc_area occ_area;               /* integral of occ over time, pages x ns */
	uint64_t zl_pfn;                /* the most recent zone_locked block on this CPU */
	uint8_t zl_valid, zl_refill;
	/* occupancy timeline: the bucket this CPU last changed in (its row is open) */
	uint8_t tl_open;
	uint64_t tl_bucket, tl_changes, tl_ts;
	int64_t tl_min, tl_max;
	lc_area tl_area;
};

struct exit_hist {
	uint64_t stays[LOG2_BUCKETS], pages[LOG2_BUCKETS];
	uint64_t fine[FINE_BUCKETS];
	uint64_t n, max;
};

struct phase_hist {
	uint64_t n[LOG2_BUCKETS];
	uint64_t fine[FINE_BUCKETS];
	uint64_t count, max;
};

/* Events reach the model LC_PIPE events after pcp_lifecycle_event() is given them: meanwhile
 * the prefetch of their block's slot is on its way (the table outgrows the caches; a block's
 * first event is a miss nearly every time). Only the fields the model reads are kept. */
#define LC_PIPE 8

struct pcp_lifecycle_model {
	uint32_t nr_cpus;
	struct pcp_event pipe[LC_PIPE];
	uint64_t nr_in, nr_done;        /* events given, events processed */
	struct pcp_lifecycle_opts opts;
	int64_t *start_pages, *end_pages;
	int err;

	struct lc_cpu *cpus;
	struct lc_block *blocks;
	size_t nr_groups, used;         /* capacity = 8 * nr_groups, any number of groups */
	struct lc_task_slot *tasks;
	size_t task_mask, nr_tasks;

	uint64_t events_seen, first_ts, last_ts;
	struct pcp_lifecycle_results tot;       /* the totals as counted (no arrays) */
	uint64_t native_locks[2];
	struct exit_hist hist[PCP_LC_NR_EXITS];
	struct phase_hist *phases;      /* PCP_LC_NR_PHASES, allocated once */
	uint64_t rt_split, rt_unused, rt_unsplit;
	struct pcp_lc_occ_row *timeline;
	size_t nr_timeline, cap_timeline;

	/* a PFN shard (pcp_lifecycle_new_shard): the blocks whose shard_of() is shard; its
	 * occupancy changes go to delta_out (the event's, set per event) */
	int is_shard;
	unsigned shard, shard_mask;
	struct pcp_lc_delta *delta_out;
};

void pcp_lifecycle_opts_default(struct pcp_lifecycle_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->page_shift = 12;
	o->bucket_ns = 10000000;
}

int pcp_lifecycle_pcp_allowed_order(uint32_t order, unsigned page_shift)
{
	/* PAGE_ALLOC_COSTLY_ORDER is 3; the PMD maps 2^(page_shift - 3) pages (8-byte entries) */
	return order <= 3 || (page_shift > 3 && order == page_shift - 3);
}

static int blocks_alloc(struct pcp_lifecycle_model *m, size_t nr_groups)
{
	struct lc_block *b;

	if (nr_groups > UINT32_MAX || !(b = pcp_table_zalloc(nr_groups << PCP_PFN_GROUP_BITS, sizeof(*b))))
		return PCP_ERR_NOMEM;
	m->blocks = b;
	m->nr_groups = nr_groups;
	return PCP_OK;
}

static inline size_t blocks_cap(const struct pcp_lifecycle_model *m)
{
	return m->nr_groups << PCP_PFN_GROUP_BITS;
}

/* The same hashing and home slots as the churn model's pair table (pair_events.h). */
static inline struct lc_block *probe_in(struct lc_block *blocks, size_t nr_groups, uint64_t pfn)
{
	size_t s = pcp_pair_home(pcp_pfn_hash(pfn), pfn, nr_groups), cap = nr_groups << PCP_PFN_GROUP_BITS;

	for (;;) {
		struct lc_block *e = &blocks[s];

		if (!e->flags || e->pfn == pfn)
			return e;
		if (++s == cap)
			s = 0;
	}
}

/* Where pfn's probe begins. */
static inline const struct lc_block *block_probe_home(const struct pcp_lifecycle_model *m, uint64_t pfn)
{
	return &m->blocks[pcp_pair_home(pcp_pfn_hash(pfn), pfn, m->nr_groups)];
}

static inline struct lc_block *block_probe(const struct pcp_lifecycle_model *m, uint64_t pfn)
{
	return probe_in(m->blocks, m->nr_groups, pfn);
}

/* 1.5 times as large, the old table given back part by part as it is read (as pair_events.c's
 * table_grow: homes keep the hash order, the new table fills front to back). */
static int blocks_grow(struct pcp_lifecycle_model *m)
{
	struct lc_block *old = m->blocks, *nb;
	size_t old_groups = m->nr_groups, old_cap = blocks_cap(m), z = 0, next;
	size_t per = BLOCKS_RELEASE_BYTES / sizeof(*old), groups = old_groups + old_groups / 2;

	if (groups > SIZE_MAX / 2 / sizeof(*old) >> PCP_PFN_GROUP_BITS || blocks_alloc(m, groups)) {
		m->blocks = old;
		m->nr_groups = old_groups;
		return PCP_ERR_NOMEM;
	}
	nb = m->blocks;
	while (z < old_cap && old[z].flags)
		z++;
	next = (z + per - 1) / per * per;       /* the first part wholly at or after z */
	for (size_t k = 0; k < old_cap; k++) {
		size_t i = z + k < old_cap ? z + k : z + k - old_cap;

		if (old[i].flags)
			*probe_in(nb, groups, old[i].pfn) = old[i];
		if (i >= z && i + 1 == next + per) {
			pcp_table_release(old, old_cap, sizeof(*old), next, next + per);
			next += per;
		}
	}
	pcp_table_free(old, old_cap, sizeof(*old));
	return PCP_OK;
}

/* The block's entry, created (state UNKNOWN) if new; NULL when growth failed. */
static struct lc_block *block_get(struct pcp_lifecycle_model *m, uint64_t pfn)
{
	struct lc_block *e = block_probe(m, pfn);

	if (e->flags)
		return e;
	if ((m->used + 1) * LOAD_DEN > blocks_cap(m) * LOAD_NUM) {
		if (blocks_grow(m)) {
			m->err = PCP_ERR_NOMEM;
			return NULL;
		}
		e = block_probe(m, pfn);
	}
	memset(e, 0, sizeof(*e));
	e->pfn = pfn;
	e->flags = LC_F_USED;
	m->used++;
	return e;
}

static inline size_t task_home(int32_t pid, size_t mask)
{
	return (size_t)(((uint64_t)(uint32_t)pid * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & mask;
}

static int tasks_grow(struct pcp_lifecycle_model *m)
{
	size_t cap = m->tasks ? (m->task_mask + 1) * 2 : 64;
	struct lc_task_slot *t = calloc(cap, sizeof(*t));

	if (!t)
		return PCP_ERR_NOMEM;
	for (size_t i = 0; m->tasks && i <= m->task_mask; i++) {
		size_t s;

		if (!m->tasks[i].used)
			continue;
		for (s = task_home(m->tasks[i].t.pid, cap - 1); t[s].used; s = (s + 1) & (cap - 1))
			;
		t[s] = m->tasks[i];
	}
	free(m->tasks);
	m->tasks = t;
	m->task_mask = cap - 1;
	return PCP_OK;
}

/* The task's row; NULL when growth failed (the event is then not attributed). */
static struct pcp_lc_task *task_get(struct pcp_lifecycle_model *m, int32_t pid)
{
	size_t s;

	for (s = task_home(pid, m->task_mask); m->tasks[s].used; s = (s + 1) & m->task_mask)
		if (m->tasks[s].t.pid == pid)
			return &m->tasks[s].t;
	if ((m->nr_tasks + 1) * LOAD_DEN > (m->task_mask + 1) * LOAD_NUM) {
		if (tasks_grow(m)) {
			m->err = PCP_ERR_NOMEM;
			return NULL;
		}
		for (s = task_home(pid, m->task_mask); m->tasks[s].used; s = (s + 1) & m->task_mask)
			;
	}
	m->tasks[s].used = 1;
	m->tasks[s].t.pid = pid;
	m->nr_tasks++;
	return &m->tasks[s].t;
}

int pcp_lifecycle_new(uint32_t nr_cpus, const struct pcp_lifecycle_opts *opts,
		      struct pcp_lifecycle_model **out)
{
	struct pcp_lifecycle_model *m;
	size_t n = nr_cpus ? nr_cpus : 1;

	*out = NULL;
	if (opts && opts->bucket_ns == 0)
		return PCP_ERR_USAGE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return PCP_ERR_NOMEM;
	if (opts)
		m->opts = *opts;
	else
		pcp_lifecycle_opts_default(&m->opts);
	m->nr_cpus = nr_cpus;
	m->cpus = calloc(n, sizeof(*m->cpus));
	if (m->opts.start_pages && (m->start_pages = malloc(n * sizeof(int64_t))))
		memcpy(m->start_pages, m->opts.start_pages, nr_cpus * sizeof(int64_t));
	if (m->opts.end_pages && (m->end_pages = malloc(n * sizeof(int64_t))))
		memcpy(m->end_pages, m->opts.end_pages, nr_cpus * sizeof(int64_t));
	m->opts.start_pages = m->opts.end_pages = NULL;
	if (!m->cpus || (opts && opts->start_pages && !m->start_pages) ||
	    (opts && opts->end_pages && !m->end_pages) || blocks_alloc(m, MIN_GROUPS) ||
	    !(m->phases = calloc(PCP_LC_NR_PHASES, sizeof(*m->phases))) ||
	    tasks_grow(m)) {
		pcp_lifecycle_free(m);
		return PCP_ERR_NOMEM;
	}
	for (uint32_t c = 0; c < nr_cpus; c++) {
		struct lc_cpu *cs = &m->cpus[c];

		cs->occ = m->start_pages ? m->start_pages[c] : 0;
		cs->flow.occ_start = cs->flow.occ_min = cs->flow.occ_max = cs->occ;
	}
	*out = m;
	return PCP_OK;
}

void pcp_lifecycle_free(struct pcp_lifecycle_model *m)
{
	if (!m)
		return;
	free(m->cpus);
	pcp_table_free(m->blocks, blocks_cap(m), sizeof(*m->blocks));
	free(m->tasks);
	free(m->start_pages);
	free(m->end_pages);
	free(m->timeline);
	free(m->phases);
	free(m);
}

const char *pcp_lc_phase_name(enum pcp_lc_phase p)
{
	static const char *const names[PCP_LC_NR_PHASES] = {
		"wait_before_alloc", "in_use", "wait_between_uses", "wait_after_free",
	};
	return (unsigned)p < PCP_LC_NR_PHASES ? names[p] : "unknown";
}

const char *pcp_lc_exit_name(enum pcp_lc_exit x)
{
	return x == PCP_LC_EXIT_ALLOC ? "alloc" : x == PCP_LC_EXIT_DRAIN ? "drain" : "unknown";
}

static void phase_add(struct pcp_lifecycle_model *m, enum pcp_lc_phase p, uint64_t ns)
{
	struct phase_hist *h = &m->phases[p];

	h->n[log2_index(ns)]++;
	h->fine[fine_index(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

/* A refill opens the block's round trip (a refill of an open one replaces it, as pairing's
 * refill_overwritten does). */
static void rt_open(struct lc_block *e, uint64_t ts)
{
	e->flags = (uint8_t)((e->flags & ~(LC_F_RT_IN_USE | LC_F_RT_BROKEN)) | LC_F_RT_OPEN);
	e->rt_uses = 0;
	e->rt_refill_ts = ts;
	e->rt_in_use_ns = 0;
}

/* The drain closes it: split into phases when the block went refill -> (alloc -> free)+ ->
 * drain, every alloc a PCP one and every free a free-path entry, with nothing lost between. */
static void rt_close(struct pcp_lifecycle_model *m, struct lc_block *e, uint64_t ts)
{
	uint64_t total, before, after, between;

	if (!(e->flags & LC_F_RT_OPEN))
		return;
	e->flags &= (uint8_t)~LC_F_RT_OPEN;
	if ((e->flags & (LC_F_RT_BROKEN | LC_F_RT_IN_USE)) || ts < e->rt_refill_ts) {
		m->rt_unsplit++;
		return;
	}
	if (e->rt_uses == 0) {
		m->rt_unused++;
		return;
	}
	total = ts - e->rt_refill_ts;
	before = e->rt_first_alloc_ts - e->rt_refill_ts;
	after = ts - e->since_ns;       /* the last free: the block is on a list since then */
	if (before + after + e->rt_in_use_ns > total) {
		m->rt_unsplit++;
		return;
	}
	between = total - before - after - e->rt_in_use_ns;
	m->rt_split++;
	phase_add(m, PCP_LC_PHASE_WAIT_BEFORE_ALLOC, before);
	phase_add(m, PCP_LC_PHASE_IN_USE, e->rt_in_use_ns);
	if (e->rt_uses > 1)
		phase_add(m, PCP_LC_PHASE_WAIT_BETWEEN_USES, between);
	phase_add(m, PCP_LC_PHASE_WAIT_AFTER_FREE, after);
}

static inline uint64_t bucket_of(const struct pcp_lifecycle_model *m, uint64_t ts)
{
	return ts > m->first_ts ? (ts - m->first_ts) / m->opts.bucket_ns : 0;
}

/* Closes cpu's open timeline row at end_ts (its bucket's end, or the trace's last event). */
static void tl_close(struct pcp_lifecycle_model *m, uint32_t cpu, uint64_t end_ts)
{
	struct lc_cpu *cs = &m->cpus[cpu];
	uint64_t start = cs->tl_bucket * m->opts.bucket_ns;   /* relative to first_ts */
	uint64_t span = end_ts - m->first_ts > start ? end_ts - m->first_ts - start : 0;
	struct pcp_lc_occ_row *r;

	cs->tl_open = 0;
	if (end_ts > cs->tl_ts)
		cs->tl_area += area_of(cs->occ, end_ts - cs->tl_ts);
	if (m->nr_timeline == m->cap_timeline) {
		size_t cap = m->cap_timeline ? m->cap_timeline * 2 : 64;
		struct pcp_lc_occ_row *t = realloc(m->timeline, cap * sizeof(*t));

		if (!t) {
			m->err = PCP_ERR_NOMEM;
			return;
		}
		m->timeline = t;
		m->cap_timeline = cap;
	}
	r = &m->timeline[m->nr_timeline++];
	r->bucket_start_ns = start;
	r->cpu = cpu;
	r->changes = cs->tl_changes;
	r->occ_min = cs->tl_min;
	r->occ_max = cs->tl_max;
	r->occ_end = cs->occ;
	r->occ_mean = !m->opts.no_time_base && span ? (double)(area_value(cs->tl_area) / (long double)span) : NAN;
}

/* Occupancy of cpu changes by delta pages at ts: the time-weighted areas first (the whole
 * trace's and the timeline bucket's), then the level. */
static inline void occ_add(struct pcp_lifecycle_model *m, uint32_t cpu, int64_t delta, uint64_t ts)
{
	struct lc_cpu *cs = &m->cpus[cpu];
	uint64_t b = bucket_of(m, ts);

	if (!cs->tl_open || cs->tl_bucket != b) {
		/* rare: the first change of this CPU in a new bucket; the level was constant since
		 * its last change, so the new bucket's area so far is level x time since its start */
		uint64_t bstart = m->first_ts + b * m->opts.bucket_ns;

		if (cs->tl_open)
			tl_close(m, cpu, m->first_ts + (cs->tl_bucket + 1) * m->opts.bucket_ns);
		cs->tl_open = 1;
		cs->tl_bucket = b;
		cs->tl_changes = 0;
		cs->tl_min = cs->tl_max = cs->occ;
		cs->tl_area = ts > bstart ? area_of(cs->occ, ts - bstart) : 0;
	} else if (ts > cs->tl_ts) {
		cs->tl_area += area_of(cs->occ, ts - cs->tl_ts);
	}
	if (ts > cs->tl_ts)
		cs->tl_ts = ts;
	cs->tl_changes++;
	if (ts > cs->occ_ts)
		cs->occ_area += area_of(cs->occ, ts - cs->occ_ts);
	if (ts > cs->occ_ts)
		cs->occ_ts = ts;
	cs->occ += delta;
	if (cs->occ < cs->tl_min)
		cs->tl_min = cs->occ;
	if (cs->occ > cs->tl_max)
		cs->tl_max = cs->occ;
	if (cs->occ < cs->flow.occ_min)
		cs->flow.occ_min = cs->occ;
	if (cs->occ > cs->flow.occ_max)
		cs->flow.occ_max = cs->occ;
}

/* Occupancy of cpu changes by delta pages at ts: at once (one model, or the order part of
 * a sharded one applying a shard's changes), or, in a shard, into the event's delta for the
 * order part to apply in the trace's order (pcp_lifecycle_shard_event). */
static inline void occ_change(struct pcp_lifecycle_model *m, uint32_t cpu, int64_t delta, uint64_t ts)
{
	struct pcp_lc_delta *d = m->delta_out;
	int i;

	if (!d) {
		occ_add(m, cpu, delta, ts);
		return;
	}
	/* at most two changes per event (a block taken back from one list, put on another);
	 * none is 0 pages */
	i = d->pages[0] != 0;
	d->pages[i] = delta;
	d->cpu[i] = cpu;
}

/* The block leaves the list it is on (owner's) at ts by exit kind x: residency and occupancy. */
static void leave_list(struct pcp_lifecycle_model *m, struct lc_block *e, uint64_t ts, enum pcp_lc_exit x)
{
	struct exit_hist *h = &m->hist[x];
	uint64_t pages = UINT64_C(1) << e->order;
	uint64_t r = ts >= e->since_ns ? ts - e->since_ns : 0;
	unsigned i = log2_index(r);

	h->stays[i]++;
	h->pages[i] += pages;
	h->fine[fine_index(r)]++;
	h->n++;
	if (r > h->max)
		h->max = r;
	occ_change(m, e->owner_cpu, -(int64_t)pages, ts);
}

/* The block enters cpu's list at ts. A block the model already has on a list left it unseen
 * (lost events): its occupancy is taken back, its stay is not counted. */
static void enter_list(struct pcp_lifecycle_model *m, struct lc_block *e, uint32_t cpu, uint32_t order,
		       uint64_t ts, enum lc_entry how)
{
	if (e->state == LC_ON_PCP) {
		m->tot.anomalies.refill_while_listed++;
		occ_change(m, e->owner_cpu, -(int64_t)(UINT64_C(1) << e->order), ts);
	}
	e->state = LC_ON_PCP;
	e->owner_cpu = cpu;
	e->since_ns = ts;
	e->flags = (uint8_t)((e->flags & ~LC_F_BY_FREE) | (how == LC_BY_FREE ? LC_F_BY_FREE : 0));
	e->order = (uint8_t)order;
	occ_change(m, cpu, (int64_t)(UINT64_C(1) << order), ts);
}

/* Each event has an order part, which counts per CPU and task and reads the CPU's zone_locked
 * state only, and a block part, which reads and changes the block's state (and the owner's
 * counters, the stays, the round trips). One model runs both; a sharded one (PFN shards,
 * lifecycle_feed.h) runs the block parts in the shards and the order part, with the
 * occupancy changes the shards found, in the trace's order. */

enum alloc_class { ALLOC_PCP, ALLOC_BUDDY, ALLOC_UNCLASSIFIED,
		   ALLOC_BUDDY_UNTRACED /* PCP by the records, buddy by the block (alloc_block) */ };

/* The CPU's zone_locked state (every part keeps its own copy: it depends on that CPU's
 * events only); an alloc's class. A zone_locked record classifies at most one allocation: a
 * later alloc of the same block (after a free to this CPU's list) must not be taken for a
 * buddy one again. */
static enum alloc_class zl_event(struct pcp_lifecycle_model *m, uint32_t cpu, const struct pcp_event *ev)
{
	struct lc_cpu *cs = &m->cpus[cpu];
	int zl_match;

	switch (ev->kind) {
	case PCP_EV_REFILL:
		/* the most recent zone_locked of this CPU is this refill's (fallback: it is the
		 * same record; native: mm_page_pcpu_refill follows its mm_page_alloc_zone_locked) */
		cs->zl_pfn = ev->block.pfn;
		cs->zl_valid = cs->zl_refill = 1;
		break;
	case PCP_EV_ZONE_LOCKED:  /* a direct buddy allocation, unless a refill follows */
		cs->zl_pfn = ev->block.pfn;
		cs->zl_valid = 1;
		cs->zl_refill = 0;
		break;
	case PCP_EV_PAGE_ALLOC:
		zl_match = cs->zl_valid && cs->zl_pfn == ev->block.pfn;
		if (zl_match)
			cs->zl_valid = 0;
		if (!pcp_lifecycle_pcp_allowed_order(ev->block.order, m->opts.page_shift))
			return ALLOC_UNCLASSIFIED;
		return zl_match && !cs->zl_refill ? ALLOC_BUDDY : ALLOC_PCP;
	default:
		break;
	}
	return ALLOC_PCP;
}

static void refill_block(struct pcp_lifecycle_model *m, uint32_t cpu, const struct pcp_event *ev)
{
	struct lc_block *e;

	if ((e = block_get(m, ev->block.pfn))) {
		enter_list(m, e, cpu, ev->block.order, ev->ts_ns, LC_BY_REFILL);
		rt_open(e, ev->ts_ns);
	}
}

static void drain_block(struct pcp_lifecycle_model *m, uint32_t cpu, const struct pcp_event *ev)
{
	const struct pcp_page_block *b = &ev->block;
	struct lc_block *e;

	if (!(e = block_get(m, b->pfn)))
		return;
	if (e->state == LC_ON_PCP) {
		struct lc_cpu *owner = &m->cpus[e->owner_cpu];

		m->tot.drains_owner_known++;
		if (e->owner_cpu != cpu) {
			m->tot.remote_drains++;
			owner->flow.remote_drains++;
		}
		if (!(e->flags & LC_F_BY_FREE)) {
			m->tot.unused_refills++;
			owner->flow.unused_refills++;
		}
		leave_list(m, e, ev->ts_ns, PCP_LC_EXIT_DRAIN);   /* the entry's order: balanced */
	} else {
		/* Not seen entering: on the list when tracing began (UNKNOWN), or its entry was
		 * lost. It left the draining CPU's list: the best guess of the owner. */
		if (e->state != LC_UNKNOWN)
			m->tot.anomalies.drain_not_listed++;
		m->tot.drains_owner_unknown++;
		occ_change(m, cpu, -(int64_t)(UINT64_C(1) << b->order), ev->ts_ns);
	}
	rt_close(m, e, ev->ts_ns);
	e->state = LC_IN_BUDDY;
	e->order = (uint8_t)b->order;
}

/* 1 when an alloc classified PCP by the records is a buddy one: the block is in the buddy
 * allocator (a drain or a buddy free put it there) and no record put it on a list since, so
 * it came from the buddy allocator by a path that writes no zone_locked record: compaction's
 * capture (compaction_capture() hands a block being freed and merged straight to the task
 * compacting for it; __rmqueue_smallest, where mm_page_alloc_zone_locked is, never sees it).
 * Taken from a list, 512 pages of a hugetlb allocation came off a CPU's occupancy each time
 * (lab recordings). Its list occupancy is unchanged. */
static int alloc_block(struct pcp_lifecycle_model *m, uint32_t cpu, const struct pcp_event *ev,
		       enum alloc_class class)
{
	const struct pcp_page_block *b = &ev->block;
	struct lc_block *e;

	if (!(e = block_get(m, b->pfn)))
		return 0;
	if (class == ALLOC_PCP && e->state == LC_IN_BUDDY) {
		if (e->flags & LC_F_RT_OPEN)
			e->flags |= LC_F_RT_BROKEN;
		e->state = LC_IN_USE;
		e->order = (uint8_t)b->order;
		return 1;
	}
	if (class == ALLOC_PCP) {
		if ((e->flags & LC_F_RT_OPEN) && ((e->flags & LC_F_RT_IN_USE) || e->state != LC_ON_PCP))
			e->flags |= LC_F_RT_BROKEN;
		if (e->state == LC_ON_PCP) {
			if (e->owner_cpu != cpu)
				m->tot.anomalies.alloc_other_cpu++;
			leave_list(m, e, ev->ts_ns, PCP_LC_EXIT_ALLOC);
			if ((e->flags & (LC_F_RT_OPEN | LC_F_RT_BROKEN)) == LC_F_RT_OPEN) {
				if (e->rt_uses == 0)
					e->rt_first_alloc_ts = ev->ts_ns;
				if (e->rt_uses < 2)
					e->rt_uses++;
				e->flags |= LC_F_RT_IN_USE;
				e->since_ns = ev->ts_ns;        /* the use begins */
			}
		} else {
			/* on the list when tracing began (or its entry lost): this CPU's list */
			m->tot.allocs_pcp_unseen++;
			occ_change(m, cpu, -(int64_t)(UINT64_C(1) << b->order), ev->ts_ns);
		}
		e->state = LC_IN_USE;
		e->order = (uint8_t)b->order;
		return 0;
	}
	/* buddy or unclassified: a block the model had on a list left it unseen */
	if (e->flags & LC_F_RT_OPEN)
		e->flags |= LC_F_RT_BROKEN;
	if (e->state == LC_ON_PCP) {
		m->tot.anomalies.refill_while_listed++;
		occ_change(m, e->owner_cpu, -(int64_t)(UINT64_C(1) << e->order), ev->ts_ns);
	}
	e->state = LC_IN_USE;
	e->order = (uint8_t)b->order;
	return 0;
}

static void free_block(struct pcp_lifecycle_model *m, uint32_t cpu, const struct pcp_event *ev)
{
	const struct pcp_page_block *b = &ev->block;
	int entry = pcp_lifecycle_pcp_allowed_order(b->order, m->opts.page_shift);
	struct lc_block *e;

	if (!(e = block_get(m, b->pfn)))
		return;
	if (e->state == LC_IN_BUDDY || e->state == LC_ON_PCP)
		m->tot.anomalies.free_not_in_use++;
	if (e->flags & LC_F_RT_OPEN) {
		if (!(e->flags & LC_F_RT_IN_USE) || !entry || ev->ts_ns < e->since_ns) {
			e->flags |= LC_F_RT_BROKEN;
		} else {
			/* the free's time becomes since_ns below (an eligible free enters the list) */
			e->flags &= (uint8_t)~LC_F_RT_IN_USE;
			e->rt_in_use_ns += ev->ts_ns - e->since_ns;
		}
	}
	if (entry) {
		/* assumed: an eligible free goes to the freeing CPU's list (docs/METRICS.md) */
		enter_list(m, e, cpu, b->order, ev->ts_ns, LC_BY_FREE);
	} else {
		if (e->state == LC_ON_PCP)
			occ_change(m, e->owner_cpu, -(int64_t)(UINT64_C(1) << e->order), ev->ts_ns);
		e->state = LC_IN_BUDDY;
		e->order = (uint8_t)b->order;
	}
}

/* The block part of an event of a block kind (its CPU and order valid); 1 for an alloc
 * classified PCP by the records that is a buddy one by its block's state (alloc_block). */
static int block_event(struct pcp_lifecycle_model *m, uint32_t cpu, const struct pcp_event *ev,
		       enum alloc_class class)
{
	switch (ev->kind) {
	case PCP_EV_REFILL:
		refill_block(m, cpu, ev);
		break;
	case PCP_EV_DRAIN:
		drain_block(m, cpu, ev);
		break;
	case PCP_EV_PAGE_ALLOC:
		return alloc_block(m, cpu, ev, class);
	case PCP_EV_PAGE_FREE:
		free_block(m, cpu, ev);
		break;
	default:
		break;
	}
	return 0;
}

/* The order part's counts of a block event. */
static void count_event(struct pcp_lifecycle_model *m, uint32_t cpu, const struct pcp_event *ev,
			enum alloc_class class, struct pcp_lc_task *t)
{
	struct pcp_lc_cpu_flow *f = &m->cpus[cpu].flow;
	uint64_t pages = UINT64_C(1) << ev->block.order;

	switch (ev->kind) {
	case PCP_EV_REFILL:
		f->refill_blocks++;
		f->refill_pages += pages;
		m->tot.refill_blocks++;
		if (t) {
			t->refill_blocks++;
			t->refill_pages += pages;
		}
		break;
	case PCP_EV_DRAIN:
		f->drain_blocks++;
		f->drain_pages += pages;
		m->tot.drain_blocks++;
		if (t) {
			t->drain_blocks++;
			t->drain_pages += pages;
		}
		break;
	case PCP_EV_PAGE_ALLOC:
		m->tot.allocs++;
		if (t)
			t->allocs++;
		if (class == ALLOC_UNCLASSIFIED) {
			f->unclassified_allocs++;
			m->tot.unclassified_allocs++;
		} else if (class == ALLOC_BUDDY || class == ALLOC_BUDDY_UNTRACED) {
			f->buddy_allocs++;
			m->tot.buddy_allocs++;
			m->tot.buddy_allocs_untraced += class == ALLOC_BUDDY_UNTRACED;
			if (t)
				t->buddy_allocs++;
		} else {
			f->pcp_allocs++;
			m->tot.pcp_allocs++;
			if (t)
				t->pcp_allocs++;
		}
		break;
	case PCP_EV_PAGE_FREE:
		m->tot.frees++;
		if (t)
			t->frees++;
		if (pcp_lifecycle_pcp_allowed_order(ev->block.order, m->opts.page_shift)) {
			f->free_entries++;
			m->tot.free_entries++;
			if (t)
				t->free_entries++;
		} else {
			f->buddy_frees++;
			m->tot.buddy_frees++;
		}
		break;
	default:
		break;
	}
}

/* Whether the event is one of a block whose block part runs (a valid CPU and order); counts
 * the invalid ones (order part). */
static int block_kind(uint8_t kind)
{
	return kind == PCP_EV_REFILL || kind == PCP_EV_DRAIN || kind == PCP_EV_PAGE_ALLOC ||
	       kind == PCP_EV_PAGE_FREE || kind == PCP_EV_ZONE_LOCKED;
}

/* The order part: time, counts, tasks, the zone_locked state; the occupancy changes of the
 * block part, run here (d NULL: one model) or found by a shard (d). */
static void order_event(struct pcp_lifecycle_model *m, const struct pcp_event *ev, const struct pcp_lc_delta *d)
{
	uint32_t cpu = ev->cpu;
	struct pcp_lc_task *t = NULL;
	uint64_t ts = ev->ts_ns;
	enum alloc_class class;

	if (cpu >= m->nr_cpus) {
		m->tot.anomalies.bad_cpu++;
		return;
	}
	if (m->events_seen++ == 0) {
		m->first_ts = m->last_ts = ts;
		for (uint32_t c = 0; c < m->nr_cpus; c++)
			m->cpus[c].occ_ts = ts;
	} else {
		if (ts < m->first_ts)
			m->first_ts = ts;
		if (ts > m->last_ts)
			m->last_ts = ts;
	}
	if (ev->kind == PCP_EV_REFILL_LOCK || ev->kind == PCP_EV_DRAIN_LOCK) {
		m->native_locks[ev->kind == PCP_EV_DRAIN_LOCK]++;
		if ((t = task_get(m, ev->pid)))
			t->lock_acquisitions++;
		return;
	}
	if (!block_kind(ev->kind))
		return;
	if (ev->block.order > PCP_MAX_BLOCK_ORDER) {
		m->tot.anomalies.bad_order++;
		return;
	}
	class = zl_event(m, cpu, ev);
	if (ev->kind == PCP_EV_ZONE_LOCKED)
		return;
	t = task_get(m, ev->pid);
	if (!d) {
		if (block_event(m, cpu, ev, class))
			class = ALLOC_BUDDY_UNTRACED;
		count_event(m, cpu, ev, class, t);
		return;
	}
	if (d->buddy_untraced)
		class = ALLOC_BUDDY_UNTRACED;
	count_event(m, cpu, ev, class, t);
	for (int i = 0; i < 2 && d->pages[i]; i++)
		occ_add(m, d->cpu[i], d->pages[i], ts);
}

static void lc_event(struct pcp_lifecycle_model *m, const struct pcp_event *ev)
{
	order_event(m, ev, NULL);
}

_Static_assert(PCP_PFN_GROUP_BITS == 3, "pcp_lc_shard_of's group");

static inline unsigned shard_of(const struct pcp_lifecycle_model *s, uint64_t pfn)
{
	return pcp_lc_shard_of(pfn, s->shard_mask + 1);
}

int pcp_lifecycle_new_shard(const struct pcp_lifecycle_model *m, unsigned shard, unsigned nr_shards,
			    struct pcp_lifecycle_model **out)
{
	struct pcp_lifecycle_opts o = m->opts;
	int err;

	*out = NULL;
	if (!nr_shards || (nr_shards & (nr_shards - 1)) || shard >= nr_shards || m->is_shard)
		return PCP_ERR_USAGE;
	o.start_pages = o.end_pages = NULL;
	if ((err = pcp_lifecycle_new(m->nr_cpus, &o, out)))
		return err;
	(*out)->is_shard = 1;
	(*out)->shard = shard;
	(*out)->shard_mask = nr_shards - 1;
	return PCP_OK;
}

int pcp_lifecycle_is_own(const struct pcp_lifecycle_model *s, const struct pcp_event *ev)
{
	return ev->cpu < s->nr_cpus && (ev->kind == PCP_EV_REFILL || ev->kind == PCP_EV_DRAIN ||
					ev->kind == PCP_EV_PAGE_ALLOC || ev->kind == PCP_EV_PAGE_FREE) &&
	       ev->block.order <= PCP_MAX_BLOCK_ORDER && shard_of(s, ev->block.pfn) == s->shard;
}

void pcp_lifecycle_shard_event(struct pcp_lifecycle_model *s, const struct pcp_event *ev,
			       struct pcp_lc_delta *d)
{
	uint32_t cpu = ev->cpu;
	enum alloc_class class;

	if (cpu >= s->nr_cpus || !block_kind(ev->kind) || ev->block.order > PCP_MAX_BLOCK_ORDER)
		return;
	class = zl_event(s, cpu, ev);   /* every CPU's state, whoever's block it is */
	if (ev->kind == PCP_EV_ZONE_LOCKED || shard_of(s, ev->block.pfn) != s->shard)
		return;
	memset(d, 0, sizeof(*d));
	s->delta_out = d;
	d->buddy_untraced = (uint32_t)block_event(s, cpu, ev, class);
	s->delta_out = NULL;
}

void pcp_lifecycle_order_event(struct pcp_lifecycle_model *m, const struct pcp_event *ev,
			       const struct pcp_lc_delta *d)
{
	static const struct pcp_lc_delta none;

	order_event(m, ev, d ? d : &none);
}

static void hist_merge(struct exit_hist *to, const struct exit_hist *from)
{
	for (unsigned i = 0; i < LOG2_BUCKETS; i++) {
		to->stays[i] += from->stays[i];
		to->pages[i] += from->pages[i];
	}
	for (unsigned i = 0; i < FINE_BUCKETS; i++)
		to->fine[i] += from->fine[i];
	to->n += from->n;
	if (from->max > to->max)
		to->max = from->max;
}

void pcp_lifecycle_merge_shard(struct pcp_lifecycle_model *m, const struct pcp_lifecycle_model *s)
{
	struct pcp_lifecycle_results *t = &m->tot;
	const struct pcp_lifecycle_results *f = &s->tot;

	if (!m->err)
		m->err = s->err;
	/* what the block part counts (refill_block ... free_block): integers, added */
	t->unused_refills += f->unused_refills;
	t->drains_owner_known += f->drains_owner_known;
	t->remote_drains += f->remote_drains;
	t->drains_owner_unknown += f->drains_owner_unknown;
	t->allocs_pcp_unseen += f->allocs_pcp_unseen;
	t->anomalies.refill_while_listed += f->anomalies.refill_while_listed;
	t->anomalies.alloc_other_cpu += f->anomalies.alloc_other_cpu;
	t->anomalies.drain_not_listed += f->anomalies.drain_not_listed;
	t->anomalies.free_not_in_use += f->anomalies.free_not_in_use;
	for (uint32_t c = 0; c < m->nr_cpus && c < s->nr_cpus; c++) {
		m->cpus[c].flow.unused_refills += s->cpus[c].flow.unused_refills;
		m->cpus[c].flow.remote_drains += s->cpus[c].flow.remote_drains;
	}
	for (int x = 0; x < PCP_LC_NR_EXITS; x++)
		hist_merge(&m->hist[x], &s->hist[x]);
	for (int p = 0; p < PCP_LC_NR_PHASES; p++) {
		struct phase_hist *to = &m->phases[p];
		const struct phase_hist *from = &s->phases[p];

		for (unsigned i = 0; i < LOG2_BUCKETS; i++)
			to->n[i] += from->n[i];
		for (unsigned i = 0; i < FINE_BUCKETS; i++)
			to->fine[i] += from->fine[i];
		to->count += from->count;
		if (from->max > to->max)
			to->max = from->max;
	}
	m->rt_split += s->rt_split;
	m->rt_unused += s->rt_unused;
	m->rt_unsplit += s->rt_unsplit;
}

/* The block events' slots are prefetched; every event goes through the pipe in order. */
void pcp_lifecycle_event(struct pcp_lifecycle_model *m, const struct pcp_event *ev)
{
	struct pcp_event *in = &m->pipe[m->nr_in & (LC_PIPE - 1)];

	if (m->nr_in - m->nr_done == LC_PIPE) {
		lc_event(m, in);
		m->nr_done++;
	}
	in->ts_ns = ev->ts_ns;
	in->cpu = ev->cpu;
	in->pid = ev->pid;
	in->kind = ev->kind;
	switch (ev->kind) {
	case PCP_EV_REFILL:
	case PCP_EV_DRAIN:
	case PCP_EV_PAGE_ALLOC:
	case PCP_EV_PAGE_FREE: {
		const char *slot = (const char *)&m->blocks[pcp_pair_home(pcp_pfn_hash(ev->block.pfn),
									  ev->block.pfn, m->nr_groups)];

		__builtin_prefetch(slot, 1, 3);
		__builtin_prefetch(slot + sizeof(struct lc_block) - 1, 1, 3);
	}
		/* fallthrough */
	case PCP_EV_ZONE_LOCKED:
		in->block = ev->block;
		break;
	default:
		break;
	}
	m->nr_in++;
}

void pcp_lifecycle_prefetch(const struct pcp_lifecycle_model *m, uint64_t pfn)
{
	const char *slot = (const char *)block_probe_home(m, pfn);

	__builtin_prefetch(slot, 1, 3);
	__builtin_prefetch(slot + sizeof(struct lc_block) - 1, 1, 3);
}

void pcp_lifecycle_event_now(struct pcp_lifecycle_model *m, const struct pcp_event *ev)
{
	lc_event(m, ev);
}

/* The events still in the pipe; finish calls it (more than once is harmless). */
static void lc_flush(struct pcp_lifecycle_model *m)
{
	for (; m->nr_done < m->nr_in; m->nr_done++)
		lc_event(m, &m->pipe[m->nr_done & (LC_PIPE - 1)]);
}

/* Nearest rank over the fine histogram (churn_model.c's percentile): the last value of the
 * bucket holding rank ceil(p n), capped by the largest value. */
static double percentile(const uint64_t *fine, uint64_t n, uint64_t max, uint64_t num, uint64_t den)
{
	uint64_t rank, cum = 0;

	if (n == 0)
		return NAN;
	rank = n / den * num + (n % den * num + den - 1) / den;
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < FINE_BUCKETS; i++) {
		cum += fine[i];
		if (cum >= rank) {
			uint64_t v = fine_bucket_last(i);

			return (double)(v < max ? v : max);
		}
	}
	return (double)max;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

static int cmp_occ_row(const void *pa, const void *pb)
{
	const struct pcp_lc_occ_row *a = pa, *b = pb;

	if (a->bucket_start_ns != b->bucket_start_ns)
		return a->bucket_start_ns < b->bucket_start_ns ? -1 : 1;
	return (a->cpu > b->cpu) - (a->cpu < b->cpu);
}

static int cmp_task(const void *pa, const void *pb)
{
	const struct pcp_lc_task *a = pa, *b = pb;

	return (a->pid > b->pid) - (a->pid < b->pid);
}

static int results_hist(const struct exit_hist *h, struct pcp_hist_bucket **out, size_t *nr)
{
	size_t n = 0;

	*out = NULL;
	*nr = 0;
	for (unsigned i = 0; i < LOG2_BUCKETS; i++)
		n += h->stays[i] != 0;
	if (!n)
		return PCP_OK;
	if (!(*out = calloc(n, sizeof(**out))))
		return PCP_ERR_NOMEM;
	for (unsigned i = 0; i < LOG2_BUCKETS; i++) {
		struct pcp_hist_bucket *b;

		if (!h->stays[i])
			continue;
		b = &(*out)[(*nr)++];
		b->lo_ns = i ? UINT64_C(1) << (i - 1) : 0;
		b->hi_ns = i == 0 ? 1 : i < 64 ? UINT64_C(1) << i : UINT64_MAX;
		b->pairs = h->stays[i];
		b->pages = h->pages[i];
	}
	return PCP_OK;
}

static int results_phases(const struct pcp_lifecycle_model *m, struct pcp_lifecycle_results *r)
{
	size_t n = 0;

	r->rt_split = m->rt_split;
	r->rt_unused = m->rt_unused;
	r->rt_unsplit = m->rt_unsplit;
	for (int p = 0; p < PCP_LC_NR_PHASES; p++) {
		const struct phase_hist *h = &m->phases[p];

		r->rt_phase_p50_ns[p] = m->opts.no_time_base ? NAN
				      : percentile(h->fine, h->count, h->max, 1, 2);
		for (unsigned i = 0; i < LOG2_BUCKETS; i++)
			n += h->n[i] != 0;
	}
	if (!n)
		return PCP_OK;
	if (!(r->rt_phase_hist = calloc(n, sizeof(*r->rt_phase_hist))))
		return PCP_ERR_NOMEM;
	for (int p = 0; p < PCP_LC_NR_PHASES; p++)
		for (unsigned i = 0; i < LOG2_BUCKETS; i++) {
			struct pcp_lc_phase_bucket *b;

			if (!m->phases[p].n[i])
				continue;
			b = &r->rt_phase_hist[r->nr_rt_phase_hist++];
			b->phase = (uint32_t)p;
			b->lo_ns = i ? UINT64_C(1) << (i - 1) : 0;
			b->hi_ns = i == 0 ? 1 : i < 64 ? UINT64_C(1) << i : UINT64_MAX;
			b->round_trips = m->phases[p].n[i];
		}
	return PCP_OK;
}

static int results_residency_rows(struct pcp_lifecycle_results *r)
{
	size_t n = r->nr_residency_hist[0] + r->nr_residency_hist[1];

	if (!n)
		return PCP_OK;
	if (!(r->residency = calloc(n, sizeof(*r->residency))))
		return PCP_ERR_NOMEM;
	for (int x = 0; x < PCP_LC_NR_EXITS; x++)
		for (size_t i = 0; i < r->nr_residency_hist[x]; i++) {
			const struct pcp_hist_bucket *b = &r->residency_hist[x][i];

			r->residency[r->nr_residency++] = (struct pcp_lc_residency_row){
				(uint32_t)x, b->lo_ns, b->hi_ns, b->pairs, b->pages };
		}
	return PCP_OK;
}

/* The lifecycle group's metric rows; occupancy_error_pages only with both snapshots. */
static int results_metrics(const struct pcp_lifecycle_model *m, struct pcp_lifecycle_results *r)
{
	double v[PCP_METRIC_COUNT];
	size_t keep = 0;
	int err;

	for (size_t i = 0; i < PCP_METRIC_COUNT; i++)
		v[i] = NAN;
	v[PCP_METRIC_BUDDY_ALLOCS] = r->m_buddy_allocs;
	v[PCP_METRIC_PCP_ALLOCS] = r->m_pcp_allocs;
	v[PCP_METRIC_ALLOC_REFILL_RATIO] = r->alloc_refill_ratio;
	v[PCP_METRIC_FREE_DRAIN_RATIO] = r->free_drain_ratio;
	v[PCP_METRIC_UNUSED_REFILL_RATIO] = r->unused_refill_ratio;
	v[PCP_METRIC_FREE_ENTRY_SHARE] = r->free_entry_share;
	v[PCP_METRIC_REMOTE_DRAIN_RATIO] = r->remote_drain_ratio;
	v[PCP_METRIC_PCP_RESIDENCY_P50_NS] = r->pcp_residency_p50_ns;
	v[PCP_METRIC_PCP_RESIDENCY_P99_NS] = r->pcp_residency_p99_ns;
	v[PCP_METRIC_MEAN_PCP_PAGES] = r->mean_pcp_pages;
	v[PCP_METRIC_OCCUPANCY_ERROR_PAGES] = r->occupancy_error_pages;
	if ((err = pcp_metric_rows(PCP_METRIC_GROUP_LIFECYCLE, v, &r->metrics, &r->nr_metrics)))
		return err;
	for (size_t i = 0; i < r->nr_metrics; i++)
		if (strcmp(r->metrics[i].name, "occupancy_error_pages") || (m->start_pages && m->end_pages))
			r->metrics[keep++] = r->metrics[i];
	r->nr_metrics = keep;
	return PCP_OK;
}

static int finish_model(struct pcp_lifecycle_model *m, const struct pcp_churn_results *churn,
			struct pcp_lifecycle_results **out)
{
	struct pcp_lifecycle_results *r;
	uint64_t duration = m->last_ts - m->first_ts;
	int timed = !m->opts.no_time_base && m->events_seen && duration > 0;
	double sum_mean = 0, sum_err = 0;
	uint64_t *fine_all = NULL, n_all, max_all;
	int err;

	*out = NULL;
	/* the open timeline rows end at the trace's last event (once: finish may be called again) */
	for (uint32_t c = 0; c < m->nr_cpus; c++) {
		uint64_t bend;

		if (!m->cpus[c].tl_open)
			continue;
		bend = m->first_ts + (m->cpus[c].tl_bucket + 1) * m->opts.bucket_ns;
		tl_close(m, c, bend < m->last_ts ? bend : m->last_ts);
	}
	if (m->nr_timeline)
		qsort(m->timeline, m->nr_timeline, sizeof(*m->timeline), cmp_occ_row);
	if (m->err)
		return m->err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return PCP_ERR_NOMEM;
	*r = m->tot;
	r->nr_cpus = m->nr_cpus;
	r->page_shift = m->opts.page_shift;
	r->first_ts_ns = m->first_ts;
	r->last_ts_ns = m->last_ts;
	r->occupancy_is_level = m->start_pages != NULL;
	r->cpu_flow = calloc(m->nr_cpus ? m->nr_cpus : 1, sizeof(*r->cpu_flow));
	if (m->nr_timeline && (r->occ_timeline = malloc(m->nr_timeline * sizeof(*r->occ_timeline)))) {
		memcpy(r->occ_timeline, m->timeline, m->nr_timeline * sizeof(*r->occ_timeline));
		r->nr_occ_timeline = m->nr_timeline;
	} else if (m->nr_timeline) {
		err = PCP_ERR_NOMEM;
		goto fail;
	}
	r->tasks = calloc(m->nr_tasks ? m->nr_tasks : 1, sizeof(*r->tasks));
	fine_all = calloc(FINE_BUCKETS, sizeof(*fine_all));
	if (!r->cpu_flow || !r->tasks || !fine_all) {
		err = PCP_ERR_NOMEM;
		goto fail;
	}

	for (uint32_t c = 0; c < m->nr_cpus; c++) {
		struct lc_cpu *cs = &m->cpus[c];
		struct pcp_lc_cpu_flow *f = &r->cpu_flow[c];
		lc_area area = cs->occ_area;

		*f = cs->flow;
		f->occ_end = cs->occ;
		if (m->events_seen && m->last_ts > cs->occ_ts)
			area += area_of(cs->occ, m->last_ts - cs->occ_ts);
		f->occ_mean = timed ? (double)(area_value(area) / (long double)duration) : NAN;
		sum_mean += f->occ_mean;
		if (m->end_pages) {
			f->has_snapshot_end = 1;
			f->snapshot_end = m->end_pages[c];
			f->end_diff = f->occ_end - f->snapshot_end;
			sum_err += (double)f->end_diff;
		}
	}

	for (size_t i = 0; i <= m->task_mask; i++)
		if (m->tasks[i].used)
			r->tasks[r->nr_tasks++] = m->tasks[i].t;
	qsort(r->tasks, r->nr_tasks, sizeof(*r->tasks), cmp_task);

	n_all = max_all = 0;
	for (int x = 0; x < PCP_LC_NR_EXITS; x++) {
		const struct exit_hist *h = &m->hist[x];

		if ((err = results_hist(h, &r->residency_hist[x], &r->nr_residency_hist[x])))
			goto fail;
		r->stays[x] = h->n;
		r->residency_p50_ns[x] = m->opts.no_time_base ? NAN : percentile(h->fine, h->n, h->max, 1, 2);
		r->residency_p99_ns[x] = m->opts.no_time_base ? NAN : percentile(h->fine, h->n, h->max, 99, 100);
		for (unsigned i = 0; i < FINE_BUCKETS; i++)
			fine_all[i] += h->fine[i];
		n_all += h->n;
		if (h->max > max_all)
			max_all = h->max;
	}

	if (churn) {
		r->refill_acquisitions = r->drain_acquisitions = 0;
		for (size_t i = 0; i < churn->nr_zone_lock; i++) {
			if (churn->zone_lock[i].kind == PCP_LOCK_KIND_REFILL)
				r->refill_acquisitions += churn->zone_lock[i].acquisitions;
			else
				r->drain_acquisitions += churn->zone_lock[i].acquisitions;
		}
	} else {
		r->refill_acquisitions = m->native_locks[0];
		r->drain_acquisitions = m->native_locks[1];
	}

	r->m_buddy_allocs = (double)r->buddy_allocs;
	r->m_pcp_allocs = (double)r->pcp_allocs;
	r->alloc_refill_ratio = ratio((double)r->refill_acquisitions, (double)r->pcp_allocs);
	r->free_drain_ratio = ratio((double)r->drain_acquisitions, (double)r->free_entries);
	r->unused_refill_ratio = ratio((double)r->unused_refills, (double)r->refill_blocks);
	r->free_entry_share = ratio((double)r->free_entries, (double)(r->free_entries + r->refill_blocks));
	r->remote_drain_ratio = ratio((double)r->remote_drains, (double)r->drains_owner_known);
	r->pcp_residency_p50_ns = m->opts.no_time_base ? NAN : percentile(fine_all, n_all, max_all, 1, 2);
	r->pcp_residency_p99_ns = m->opts.no_time_base ? NAN : percentile(fine_all, n_all, max_all, 99, 100);
	r->mean_pcp_pages = timed && m->start_pages ? sum_mean : NAN;
	r->occupancy_error_pages = m->start_pages && m->end_pages && m->events_seen ? sum_err : NAN;
	if ((err = results_phases(m, r)) || (err = results_metrics(m, r)) ||
	    (err = results_residency_rows(r)))
		goto fail;
	free(fine_all);
	*out = r;
	return PCP_OK;
fail:
	free(fine_all);
	pcp_lifecycle_results_free(r);
	return err;
}

int pcp_lifecycle_finish(struct pcp_lifecycle_model *m, const struct pcp_churn_results *churn,
			 struct pcp_lifecycle_results **out)
{
	lc_flush(m);    /* first: the pipe's events count in every total and time */
	return finish_model(m, churn, out);
}

void pcp_lifecycle_results_free(struct pcp_lifecycle_results *r)
{
	if (!r)
		return;
	free(r->cpu_flow);
	free(r->tasks);
	free(r->occ_timeline);
	free(r->rt_phase_hist);
	free(r->residency);
	free(r->metrics);
	for (size_t i = 0; r->task_comm && i < r->nr_tasks; i++)
		free(r->task_comm[i]);
	free(r->task_comm);
	for (int x = 0; x < PCP_LC_NR_EXITS; x++)
		free(r->residency_hist[x]);
	free(r);
}

void pcp_lifecycle_peek_occupancy(struct pcp_lifecycle_model *m, int64_t *pages)
{
	lc_flush(m);    /* the prefetch pipe's events count in what a live reader sees */
	for (uint32_t c = 0; c < m->nr_cpus; c++)
		pages[c] = m->cpus[c].occ;
}
