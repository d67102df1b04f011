/* Lock causes from kernel stacks (model/lock_cause.h; docs/METRICS.md, "Lock causes").
 *
 * Per event: a stack record is interned (hash of its addresses; the table grows, nothing else
 * allocates) and given to the operation the churn model says the CPU's latest record belongs
 * to; a refill/drain/zone-lock record opens (or adds pages to) the CPU's current operation of
 * its kind. A finished operation is counted under (kind, nid, zid, stack, pid). Symbols,
 * causes and folded stacks are made once per distinct stack at finish. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <traceevent/event-parse.h>
#include "common/error.h"
#include "model/lock_cause.h"

#define NO_STACK UINT32_MAX

/* ---- the rules: per kind, in priority order; the first rule with a frame in its list wins.
 * Names of 6.1 (lab) and 6.18 (this machine) together; docs/METRICS.md has the table. ---- */

struct cause_rule {
	enum pcp_lock_kind kind;
	const char *cause;
	const char *const *frames;          /* NULL-terminated */
};

static const char *const drain_cpu_offline[] = { "page_alloc_cpu_dead", NULL };
static const char *const drain_decay[] = { "decay_pcp_high", "drain_zone_pages", NULL };
static const char *const drain_explicit[] = { "drain_pages_zone", "drain_pages", "drain_local_pages",
	"drain_local_pages_wq", "__drain_all_pages", "drain_all_pages", NULL };
static const char *const drain_free_high[] = { "free_frozen_page_commit", "free_unref_page_commit",
	"free_unref_folios", "free_unref_page_list", "free_unref_page", "free_frozen_pages", NULL };

static const char *const refill_thp[] = { "do_huge_pmd_anonymous_page", "vma_alloc_anon_folio_pmd",
	"__do_huge_pmd_anonymous_page", "collapse_huge_page", "khugepaged", NULL };
static const char *const refill_hugetlb[] = { "alloc_pool_huge_folio", "only_alloc_fresh_hugetlb_folio",
	"alloc_buddy_hugetlb_folio", "alloc_surplus_hugetlb_folio", "alloc_pool_huge_page",
	"alloc_fresh_huge_page", "alloc_buddy_huge_page", "alloc_surplus_huge_page", NULL };
static const char *const refill_kernel_stack[] = { "alloc_thread_stack_node", "dup_task_struct", NULL };
static const char *const refill_page_table[] = { "__pte_alloc", "pte_alloc_one", "__pmd_alloc",
	"pmd_alloc_one", "__pud_alloc", "__p4d_alloc", "pgd_alloc", NULL };
static const char *const refill_slab[] = { "allocate_slab", "new_slab", "___slab_alloc",
	"__slab_alloc", "__kmalloc_large_node_noprof", "___kmalloc_large_node", "kmalloc_large",
	"kmalloc_order", NULL };
static const char *const refill_page_cache[] = { "__filemap_get_folio", "filemap_alloc_folio",
	"filemap_alloc_folio_noprof", "__page_cache_alloc", "page_cache_ra_unbounded",
	"page_cache_ra_order", "grab_cache_page_write_begin", "shmem_write_begin", NULL };
static const char *const refill_vmalloc[] = { "__vmalloc_node_range_noprof", "__vmalloc_node_range",
	"__vmalloc_area_node", "vm_area_alloc_pages", NULL };
static const char *const refill_mmu_gather[] = { "tlb_next_batch", "tlb_remove_table",
	"__tlb_remove_page_size", NULL };
static const char *const refill_pipe[] = { "anon_pipe_write", "pipe_write", NULL };
static const char *const refill_trace_buffer[] = { "ring_buffer_alloc_read_page", NULL };
static const char *const refill_page_fault[] = { "do_anonymous_page",
	"wp_page_copy", "do_wp_page", "do_cow_fault", "__handle_mm_fault", "handle_mm_fault", NULL };

static const struct cause_rule rules[] = {
	{ PCP_LOCK_KIND_DRAIN, "cpu_offline", drain_cpu_offline },
	{ PCP_LOCK_KIND_DRAIN, "decay", drain_decay },
	{ PCP_LOCK_KIND_DRAIN, "explicit", drain_explicit },
	{ PCP_LOCK_KIND_DRAIN, "free_high", drain_free_high },
	{ PCP_LOCK_KIND_REFILL, "thp", refill_thp },
	{ PCP_LOCK_KIND_REFILL, "hugetlb", refill_hugetlb },
	{ PCP_LOCK_KIND_REFILL, "kernel_stack", refill_kernel_stack },
	{ PCP_LOCK_KIND_REFILL, "page_table", refill_page_table },
	{ PCP_LOCK_KIND_REFILL, "slab", refill_slab },
	{ PCP_LOCK_KIND_REFILL, "page_cache", refill_page_cache },
	{ PCP_LOCK_KIND_REFILL, "vmalloc", refill_vmalloc },
	{ PCP_LOCK_KIND_REFILL, "mmu_gather", refill_mmu_gather },
	{ PCP_LOCK_KIND_REFILL, "pipe", refill_pipe },
	{ PCP_LOCK_KIND_REFILL, "trace_buffer", refill_trace_buffer },
	{ PCP_LOCK_KIND_REFILL, "page_fault", refill_page_fault },
};
#define NR_RULES (sizeof(rules) / sizeof(rules[0]))

/* Frames from an interrupt or softirq entry on belong to the interrupted context: not read. */
static int is_irq_entry(const char *name)
{
	return !strncmp(name, "asm_sysvec_", 11) || !strcmp(name, "asm_common_interrupt") ||
	       !strcmp(name, "handle_softirqs") || !strcmp(name, "__do_softirq");
}

/* name equals want up to name's first '.' (".constprop.0", ".isra.0", ".part.0", ".cold") */
static int name_is(const char *name, const char *want)
{
	size_t n = strcspn(name, ".");
	return strlen(want) == n && !strncmp(name, want, n);
}

const char *pcp_lock_cause_classify(enum pcp_lock_kind kind, const char *const *names, size_t n)
{
	size_t cut = n;

	for (size_t i = 0; i < n; i++)
		if (names[i] && is_irq_entry(names[i])) {
			cut = i;
			break;
		}
	for (size_t r = 0; r < NR_RULES; r++) {
		if (rules[r].kind != kind)
			continue;
		for (size_t i = 0; i < cut; i++)
			for (const char *const *f = rules[r].frames; names[i] && *f; f++)
				if (name_is(names[i], *f))
					return rules[r].cause;
	}
	return PCP_CAUSE_OTHER;
}

/* ---- the model ---- */

struct stack_ent {
	uint64_t hash;
	size_t off;                         /* into frames */
	uint32_t len;
};

struct op_slot {
	uint64_t seq;                       /* 0: none open */
	int32_t nid, zid, pid;
	uint32_t stack;
	uint64_t pages;
};

struct agg {
	uint8_t used, kind;
	int32_t nid, zid, pid;
	uint32_t stack;
	uint64_t acquisitions, pages;
};

struct pcp_lock_cause_model {
	uint32_t nr_cpus;
	unsigned top_n;
	/* first allocation failure: of the interning (the thread that decodes stack records) and
	 * of the rows (the churn model's thread, churn_feed.h): kept apart, two threads write them */
	int err, agg_err;
	uint64_t *frames; size_t nr_frames, cap_frames;
	struct stack_ent *ents; size_t nr_ents, cap_ents;
	uint32_t *index; size_t cap_index;          /* ents index + 1; 0 empty; power of 2 */
	struct agg *aggs; size_t nr_aggs, cap_aggs; /* open addressing, power of 2 */
	struct op_slot *slots;                      /* [cpu * 2 + kind] */
	uint64_t stack_events, attributed, extra, unattributed;
};

int pcp_lock_cause_new(uint32_t nr_cpus, unsigned top_n, struct pcp_lock_cause_model **out)
{
	struct pcp_lock_cause_model *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m || !(m->slots = calloc((size_t)(nr_cpus ? nr_cpus : 1) * 2, sizeof(*m->slots)))) {
		free(m);
		return PCP_ERR_NOMEM;
	}
	m->nr_cpus = nr_cpus;
	m->top_n = top_n ? top_n : 100;
	*out = m;
	return PCP_OK;
}

void pcp_lock_cause_free(struct pcp_lock_cause_model *m)
{
	if (!m)
		return;
	free(m->frames);
	free(m->ents);
	free(m->index);
	free(m->aggs);
	free(m->slots);
	free(m);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

static int index_grow(struct pcp_lock_cause_model *m)
{
	size_t cap = m->cap_index ? m->cap_index * 2 : 1024;
	uint32_t *ix = calloc(cap, sizeof(*ix));

	if (!ix)
		return -1;
	for (size_t e = 0; e < m->nr_ents; e++) {
		size_t s = (size_t)m->ents[e].hash & (cap - 1);
		while (ix[s])
			s = (s + 1) & (cap - 1);
		ix[s] = (uint32_t)e + 1;
	}
	free(m->index);
	m->index = ix;
	m->cap_index = cap;
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 256;
	void *np;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	np = realloc(*p, c * size);
	if (!np)
		return -1;
	*p = np;
	*cap = c;
	return 0;
}

void pcp_lock_cause_intern(struct pcp_lock_cause_model *m, const uint64_t *frames, unsigned n,
			   struct pcp_event *ev)
{
	uint64_t h = n;
	size_t s;

	m->stack_events++;
	ev->stack.id = NO_STACK;
	if (m->err)
		return;
	for (unsigned i = 0; i < n; i++)
		h = mix(h, frames[i]);
	if ((m->nr_ents + 1) * 2 > m->cap_index && index_grow(m)) {
		m->err = PCP_ERR_NOMEM;
		return;
	}
	for (s = (size_t)h & (m->cap_index - 1); m->index[s]; s = (s + 1) & (m->cap_index - 1)) {
		const struct stack_ent *e = &m->ents[m->index[s] - 1];
		if (e->hash == h && e->len == n &&
		    !memcmp(m->frames + e->off, frames, n * sizeof(*frames))) {
			ev->stack.id = m->index[s] - 1;
			return;
		}
	}
	if (m->nr_ents >= NO_STACK - 1 ||
	    grow((void **)&m->ents, &m->cap_ents, m->nr_ents + 1, sizeof(*m->ents)) ||
	    grow((void **)&m->frames, &m->cap_frames, m->nr_frames + n + 1, sizeof(*m->frames))) {
		m->err = PCP_ERR_NOMEM;
		return;
	}
	memcpy(m->frames + m->nr_frames, frames, n * sizeof(*frames));
	m->ents[m->nr_ents] = (struct stack_ent){ .hash = h, .off = m->nr_frames, .len = n };
	m->nr_frames += n;
	m->index[s] = (uint32_t)++m->nr_ents;
	ev->stack.id = (uint32_t)(m->nr_ents - 1);
}

static int agg_grow(struct pcp_lock_cause_model *m)
{
	size_t cap = m->cap_aggs ? m->cap_aggs * 2 : 256;
	struct agg *na = calloc(cap, sizeof(*na));

	if (!na)
		return -1;
	for (size_t i = 0; i < m->cap_aggs; i++) {
		const struct agg *a = &m->aggs[i];
		size_t s;

		if (!a->used)
			continue;
		s = (size_t)mix(mix(mix(mix(a->kind, (uint64_t)a->nid), (uint64_t)a->zid), a->stack),
				(uint64_t)a->pid) & (cap - 1);
		while (na[s].used)
			s = (s + 1) & (cap - 1);
		na[s] = *a;
	}
	free(m->aggs);
	m->aggs = na;
	m->cap_aggs = cap;
	return 0;
}

/* A finished operation into its (kind, nid, zid, stack, pid) row. */
static void op_close(struct pcp_lock_cause_model *m, struct op_slot *o, enum pcp_lock_kind kind)
{
	int32_t pid = o->stack == NO_STACK ? -1 : o->pid;
	size_t s;

	if (!o->seq)
		return;
	o->seq = 0;
	if (m->agg_err)
		return;
	if ((m->nr_aggs + 1) * 2 > m->cap_aggs && agg_grow(m)) {
		m->agg_err = PCP_ERR_NOMEM;
		return;
	}
	s = (size_t)mix(mix(mix(mix(kind, (uint64_t)o->nid), (uint64_t)o->zid), o->stack),
			(uint64_t)pid) & (m->cap_aggs - 1);
	for (;; s = (s + 1) & (m->cap_aggs - 1)) {
		struct agg *a = &m->aggs[s];

		if (!a->used) {
			*a = (struct agg){ .used = 1, .kind = (uint8_t)kind, .nid = o->nid, .zid = o->zid,
					   .pid = pid, .stack = o->stack };
			m->nr_aggs++;
		} else if (a->kind != kind || a->nid != o->nid || a->zid != o->zid ||
			   a->stack != o->stack || a->pid != pid) {
			continue;
		}
		a->acquisitions++;
		a->pages += o->pages;
		return;
	}
}

void pcp_lock_cause_event(struct pcp_lock_cause_model *m, const struct pcp_churn_model *churn,
			  const struct pcp_event *ev)
{
	struct pcp_churn_op op;
	struct op_slot *o;

	switch (ev->kind) {
	case PCP_EV_REFILL: case PCP_EV_DRAIN: case PCP_EV_REFILL_LOCK: case PCP_EV_DRAIN_LOCK:
	case PCP_EV_STACK:
		break;
	default:
		return;
	}
	if (ev->cpu >= m->nr_cpus || !pcp_churn_current_op(churn, ev->cpu, &op)) {
		if (ev->kind == PCP_EV_STACK)
			m->unattributed++;
		return;
	}
	o = &m->slots[ev->cpu * 2 + op.kind];
	if (o->seq != op.seq) {
		op_close(m, o, op.kind);
		*o = (struct op_slot){ .seq = op.seq, .nid = op.nid, .zid = op.zid, .pid = ev->pid,
				       .stack = NO_STACK };
	}
	if (ev->kind == PCP_EV_STACK) {
		if (ev->stack.id == NO_STACK) {
			m->unattributed++;
		} else if (o->stack == NO_STACK) {
			o->stack = ev->stack.id;
			o->pid = ev->pid;
			m->attributed++;
		} else {
			m->extra++;
		}
	} else if ((ev->kind == PCP_EV_REFILL || ev->kind == PCP_EV_DRAIN) && ev->block.order <= PCP_MAX_BLOCK_ORDER) {
		o->pages += UINT64_C(1) << ev->block.order;
	}
}

/* ---- finish ---- */

/* Frames the trigger adds above the event's own caller. */
static int is_tracing_frame(const char *name)
{
	return !strncmp(name, "trace_event_raw_event_", 22) || !strncmp(name, "__traceiter_", 12) ||
	       !strncmp(name, "trace_event_buffer_", 19) || !strncmp(name, "event_trigger", 13) ||
	       !strncmp(name, "stacktrace_", 11) || !strncmp(name, "__ftrace_trace_stack", 20) ||
	       !strncmp(name, "__trace_stack", 13) || !strncmp(name, "trace_buffer_unlock_commit", 26);
}

struct stack_info {
	const char **names;                 /* per frame; "" when kallsyms does not know it */
	char *folded;                       /* malloc'ed */
	const char *cause[2];               /* per kind, NULL until asked */
};

static int stack_info_make(struct pcp_lock_cause_model *m, struct tep_handle *tep, uint32_t id,
			   struct stack_info *si)
{
	const struct stack_ent *e = &m->ents[id];
	const uint64_t *fr = m->frames + e->off;
	size_t first = 0, len = 0, cap = 64;
	char *buf, hex[24];

	si->names = calloc(e->len ? e->len : 1, sizeof(*si->names));
	buf = malloc(cap);
	if (!si->names || !buf) {
		free(buf);
		return PCP_ERR_NOMEM;
	}
	for (uint32_t i = 0; i < e->len; i++) {
		const char *fn = tep ? tep_find_function(tep, (unsigned long long)fr[i]) : NULL;
		si->names[i] = fn ? fn : "";
	}
	while (first < e->len && is_tracing_frame(si->names[first]))
		first++;
	buf[0] = '\0';
	for (size_t i = e->len; i-- > first;) {
		const char *nm = si->names[i];
		size_t need;

		if (!nm[0]) {
			snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)fr[i]);
			nm = hex;
		}
		need = len + strlen(nm) + 2;
		if (need > cap) {
			char *nb;
			while (cap < need)
				cap *= 2;
			if (!(nb = realloc(buf, cap))) {
				free(buf);
				return PCP_ERR_NOMEM;
			}
			buf = nb;
		}
		len += (size_t)sprintf(buf + len, "%s%s", len ? ";" : "", nm);
	}
	si->folded = buf;
	return PCP_OK;
}

static const char *stack_cause(struct stack_info *si, const struct stack_ent *e, enum pcp_lock_kind k)
{
	if (!si->cause[k])
		si->cause[k] = pcp_lock_cause_classify(k, si->names, e->len);
	return si->cause[k];
}

static int cmp_row(const void *pa, const void *pb)
{
	const struct pcp_lock_cause_row *a = pa, *b = pb;

	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	if (a->nid != b->nid)
		return a->nid < b->nid ? -1 : 1;
	if (a->zid != b->zid)
		return a->zid < b->zid ? -1 : 1;
	return strcmp(a->cause, b->cause);
}

/* group order: kind, cause, folded, pid */
static int cmp_stack_group(const void *pa, const void *pb)
{
	const struct pcp_lock_cause_stack *a = pa, *b = pb;
	int c;

	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	if ((c = strcmp(a->cause, b->cause)))
		return c;
	if ((c = strcmp(a->folded, b->folded)))
		return c;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* output order: kind, cause, acquisitions descending, then folded and pid */
static int cmp_stack_top(const void *pa, const void *pb)
{
	const struct pcp_lock_cause_stack *a = pa, *b = pb;
	int c;

	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	if ((c = strcmp(a->cause, b->cause)))
		return c;
	if (a->acquisitions != b->acquisitions)
		return a->acquisitions > b->acquisitions ? -1 : 1;
	if ((c = strcmp(a->folded, b->folded)))
		return c;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int add_row(struct pcp_lock_cause_results *r, size_t *cap, enum pcp_lock_kind kind,
		   int32_t nid, int32_t zid, const char *cause, const struct agg *a)
{
	for (size_t i = 0; i < r->nr_rows; i++) {
		struct pcp_lock_cause_row *x = &r->rows[i];
		if (x->kind == kind && x->nid == nid && x->zid == zid && x->cause == cause) {
			x->acquisitions += a->acquisitions;
			x->pages += a->pages;
			return PCP_OK;
		}
	}
	if (grow((void **)&r->rows, cap, r->nr_rows + 1, sizeof(*r->rows)))
		return PCP_ERR_NOMEM;
	r->rows[r->nr_rows++] = (struct pcp_lock_cause_row){ kind, nid, zid, cause, a->acquisitions,
							     a->pages };
	return PCP_OK;
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : NAN;
}

static int build_metrics(struct pcp_lock_cause_results *r)
{
	static const struct { enum pcp_metric_id id; const char *cause; } drain_shares[] = {
		{ PCP_METRIC_DRAIN_CAUSE_FREE_HIGH_SHARE, "free_high" },
		{ PCP_METRIC_DRAIN_CAUSE_DECAY_SHARE, "decay" },
		{ PCP_METRIC_DRAIN_CAUSE_EXPLICIT_SHARE, "explicit" },
		{ PCP_METRIC_DRAIN_CAUSE_CPU_OFFLINE_SHARE, "cpu_offline" },
		{ PCP_METRIC_DRAIN_CAUSE_OTHER_SHARE, PCP_CAUSE_OTHER },
	};
	double v[PCP_METRIC_COUNT];
	uint64_t all[2] = { 0, 0 }, sampled[2] = { 0, 0 };

	for (size_t i = 0; i < PCP_METRIC_COUNT; i++)
		v[i] = NAN;
	for (size_t i = 0; i < r->nr_rows; i++) {
		const struct pcp_lock_cause_row *x = &r->rows[i];
		all[x->kind] += x->acquisitions;
		if (strcmp(x->cause, PCP_CAUSE_UNSAMPLED))
			sampled[x->kind] += x->acquisitions;
	}
	for (size_t k = 0; k < sizeof(drain_shares) / sizeof(drain_shares[0]); k++) {
		uint64_t n = 0;
		for (size_t i = 0; i < r->nr_rows; i++)
			if (r->rows[i].kind == PCP_LOCK_KIND_DRAIN && !strcmp(r->rows[i].cause, drain_shares[k].cause))
				n += r->rows[i].acquisitions;
		v[drain_shares[k].id] = share(n, sampled[PCP_LOCK_KIND_DRAIN]);
	}
	v[PCP_METRIC_DRAIN_STACK_COVERAGE] = share(sampled[PCP_LOCK_KIND_DRAIN], all[PCP_LOCK_KIND_DRAIN]);
	v[PCP_METRIC_REFILL_STACK_COVERAGE] = share(sampled[PCP_LOCK_KIND_REFILL], all[PCP_LOCK_KIND_REFILL]);
	return pcp_metric_rows(PCP_METRIC_GROUP_LOCK_CAUSE, v, &r->metrics, &r->nr_metrics);
}

static int build(struct pcp_lock_cause_model *m, struct tep_handle *tep,
		 struct pcp_lock_cause_results *r)
{
	struct stack_info *si = calloc(m->nr_ents ? m->nr_ents : 1, sizeof(*si));
	struct pcp_lock_cause_stack *all = NULL;
	size_t nr_all = 0, cap_all = 0, cap_rows = 0, out = 0;
	int err = PCP_OK;

	if (!si)
		return PCP_ERR_NOMEM;
	for (size_t i = 0; i < m->cap_aggs && !err; i++) {
		const struct agg *a = &m->aggs[i];
		enum pcp_lock_kind kind;
		const char *cause;

		if (!a->used)
			continue;
		kind = (enum pcp_lock_kind)a->kind;
		if (a->stack == NO_STACK) {
			err = add_row(r, &cap_rows, kind, a->nid, a->zid, PCP_CAUSE_UNSAMPLED, a);
			continue;
		}
		if (!si[a->stack].folded && (err = stack_info_make(m, tep, a->stack, &si[a->stack])))
			break;
		cause = stack_cause(&si[a->stack], &m->ents[a->stack], kind);
		if ((err = add_row(r, &cap_rows, kind, a->nid, a->zid, cause, a)))
			break;
		if (grow((void **)&all, &cap_all, nr_all + 1, sizeof(*all))) {
			err = PCP_ERR_NOMEM;
			break;
		}
		all[nr_all++] = (struct pcp_lock_cause_stack){ .kind = kind, .cause = cause,
			.folded = si[a->stack].folded, .pid = a->pid, .acquisitions = a->acquisitions,
			.pages = a->pages };
	}
	if (!err) {
		qsort(r->rows, r->nr_rows, sizeof(*r->rows), cmp_row);
		if (nr_all)
			qsort(all, nr_all, sizeof(*all), cmp_stack_group);
		/* merge the same folded stack and pid (stacks differing only in offsets) */
		for (size_t i = 0; i < nr_all; i++) {
			if (out && !cmp_stack_group(&all[out - 1], &all[i])) {
				all[out - 1].acquisitions += all[i].acquisitions;
				all[out - 1].pages += all[i].pages;
			} else {
				all[out++] = all[i];
			}
		}
		if (out)
			qsort(all, out, sizeof(*all), cmp_stack_top);
		r->stacks = calloc(out ? out : 1, sizeof(*r->stacks));
		if (!r->stacks)
			err = PCP_ERR_NOMEM;
	}
	for (size_t i = 0, rank = 0; !err && i < out; i++) {
		struct pcp_lock_cause_stack *s;
		const char *comm;

		rank = i && all[i].kind == all[i - 1].kind && all[i].cause == all[i - 1].cause ? rank + 1 : 0;
		if (rank >= m->top_n)
			continue;
		s = &r->stacks[r->nr_stacks];
		*s = all[i];
		comm = tep ? tep_data_comm_from_pid(tep, s->pid) : NULL;
		s->folded = strdup(all[i].folded);
		s->comm = strdup(comm ? comm : "<...>");
		r->nr_stacks++;
		if (!s->folded || !s->comm)
			err = PCP_ERR_NOMEM;
	}
	for (size_t i = 0; i < m->nr_ents; i++) {
		free(si[i].names);
		free(si[i].folded);
	}
	free(si);
	free(all);
	if (!err)
		err = build_metrics(r);
	return err;
}

int pcp_lock_cause_finish(struct pcp_lock_cause_model *m, struct tep_handle *tep,
			  struct pcp_lock_cause_results **out)
{
	struct pcp_lock_cause_results *r;
	int err;

	*out = NULL;
	for (uint32_t c = 0; c < m->nr_cpus; c++) {
		op_close(m, &m->slots[c * 2], PCP_LOCK_KIND_REFILL);
		op_close(m, &m->slots[c * 2 + 1], PCP_LOCK_KIND_DRAIN);
	}
	if (m->err || m->agg_err)
		return m->err ? m->err : m->agg_err;
	if (!(r = calloc(1, sizeof(*r))))
		return PCP_ERR_NOMEM;
	r->stack_events = m->stack_events;
	r->stacks_attributed = m->attributed;
	r->stacks_extra = m->extra;
	r->stacks_unattributed = m->unattributed;
	r->distinct_stacks = m->nr_ents;
	if ((err = build(m, tep, r))) {
		pcp_lock_cause_results_free(r);
		return err;
	}
	*out = r;
	return PCP_OK;
}

void pcp_lock_cause_results_free(struct pcp_lock_cause_results *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nr_stacks; i++) {
		free(r->stacks[i].folded);
		free(r->stacks[i].comm);
	}
	free(r->stacks);
	free(r->rows);
	free(r->metrics);
	free(r);
}
