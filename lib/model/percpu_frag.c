/* Percpu fragmentation (issue 16): the before/after percpu_stats snapshots compared chunk by
 * chunk, the fragmentation metrics, and the run's surviving allocations per chunk.
 * Definitions: docs/METRICS.md, "Percpu fragmentation". Runs once per analysis (not per event). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "meta/percpu_stats.h"
#include "model/percpu.h"
#include "model/percpu_frag.h"

const char *const pcp_frag_chunk_keys[PCP_FRAG_NR_CHUNK_KEYS] = {
	"free_bytes", "contig_bytes", "sum_frag", "max_frag", "empty_pop_pages", "nr_alloc",
	"cur_min_alloc", "cur_med_alloc", "cur_max_alloc",
};
const char *const pcp_frag_global_keys[PCP_FRAG_NR_GLOBAL_KEYS] = {
	"nr_chunks", "nr_max_chunks", "empty_pop_pages", "nr_cur_alloc", "nr_max_alloc",
};
enum { GKEY_EMPTY_POP_PAGES = 2 }; /* index of empty_pop_pages in pcp_frag_global_keys */

const char *pcp_frag_kind_name(enum pcp_frag_kind k)
{
	switch (k) {
	case PCP_FRAG_KIND_FIRST: return "first";
	case PCP_FRAG_KIND_RESERVED: return "reserved";
	default: return "dynamic";
	}
}

const char *pcp_frag_status_name(enum pcp_frag_status s)
{
	switch (s) {
	case PCP_FRAG_MATCHED: return "matched";
	case PCP_FRAG_CREATED: return "created";
	case PCP_FRAG_DESTROYED: return "destroyed";
	default: return "unmatched";
	}
}

/* ---- the run's survivors per chunk ---- */

static int cmp_by_chunk(const void *a, const void *b)
{
	const struct pcp_percpu_outstanding *x = *(const struct pcp_percpu_outstanding *const *)a;
	const struct pcp_percpu_outstanding *y = *(const struct pcp_percpu_outstanding *const *)b;
	if (x->base_addr != y->base_addr)
		return x->base_addr < y->base_addr ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

static int cmp_run_chunk(const void *a, const void *b)
{
	const struct pcp_percpu_run_chunk *x = a, *y = b;
	if (x->unit_bytes != y->unit_bytes)
		return x->unit_bytes > y->unit_bytes ? -1 : 1;
	return x->base_addr < y->base_addr ? -1 : x->base_addr > y->base_addr;
}

/* The live lifetime of base at the end of the trace: the last row of base not destroyed. */
static const struct pcp_percpu_chunk *live_chunk(const struct pcp_percpu_results *r,
						 uint64_t base)
{
	for (size_t i = r->nr_chunks; i-- > 0;)
		if (r->chunks[i].base_addr == base)
			return r->chunks[i].has_destroyed ? NULL : &r->chunks[i];
	return NULL;
}

int pcp_percpu_run_chunks(struct pcp_percpu_results *r)
{
	const struct pcp_percpu_outstanding **v;
	size_t n = 0, nchunks = 0;

	r->run_chunks = NULL;
	r->nr_run_chunks = 0;
	if (!r->nr_outstanding)
		return PCP_OK;
	v = malloc(r->nr_outstanding * sizeof(*v));
	if (!v)
		return PCP_ERR_NOMEM;
	for (size_t i = 0; i < r->nr_outstanding; i++)
		if (r->outstanding[i].base_addr) /* base 0 is never a chunk */
			v[n++] = &r->outstanding[i];
	qsort(v, n, sizeof(*v), cmp_by_chunk);
	for (size_t i = 0; i < n; i++)
		nchunks += i == 0 || v[i]->base_addr != v[i - 1]->base_addr;
	if (nchunks && !(r->run_chunks = calloc(nchunks, sizeof(*r->run_chunks)))) {
		free(v);
		return PCP_ERR_NOMEM;
	}
	struct pcp_percpu_run_chunk *c = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct pcp_percpu_outstanding *o = v[i];
		/* offsets are non-negative in a chunk; a negative one (damaged) counts as 0 */
		uint64_t lo = o->off > 0 ? (uint64_t)o->off : 0, hi = lo + o->size;

		if (!c || c->base_addr != o->base_addr) {
			c = &r->run_chunks[r->nr_run_chunks++];
			c->base_addr = o->base_addr;
			c->lo_off = lo;
			c->hi_off = hi;
			const struct pcp_percpu_chunk *live = live_chunk(r, o->base_addr);
			if (live && live->has_created) {
				c->has_created = 1;
				c->created_ns = live->created_ns;
			}
		} else if (lo > c->hi_off) {
			/* a gap no survivor covers: sorted by off, hi_off is the covered end */
			uint64_t gap = lo - c->hi_off;
			c->holes++;
			c->hole_bytes += gap;
			if (gap > c->max_hole_bytes)
				c->max_hole_bytes = gap;
		}
		if (hi > c->hi_off)
			c->hi_off = hi;
		c->allocs++;
		c->unit_bytes += o->size;
		c->bytes_alloc += o->bytes_alloc;
		c->span_bytes = c->hi_off - c->lo_off;
	}
	free(v);
	if (r->nr_run_chunks > 1)
		qsort(r->run_chunks, r->nr_run_chunks, sizeof(*r->run_chunks), cmp_run_chunk);
	return PCP_OK;
}

/* ---- the snapshots compared ---- */

enum { K_FREE_BYTES = 0, K_SUM_FRAG = 2, K_MAX_FRAG = 3, K_NR_ALLOC = 5 };

/* Dynamic chunks beyond this (per snapshot or trace) are left unmatched: real machines have
 * tens; the bound keeps a forged meta file from making the matching slow. */
#define MATCH_MAX_CHUNKS 4096

/* One snapshot's chunks as a table, built in one pass over its entries. */
struct snap {
	size_t n;
	enum pcp_frag_kind *kind;
	int64_t (*v)[PCP_FRAG_NR_CHUNK_KEYS];
	uint8_t (*has)[PCP_FRAG_NR_CHUNK_KEYS];
	size_t nr_dynamic;
};

static void snap_free(struct snap *t)
{
	free(t->kind);
	free(t->v);
	free(t->has);
}

static int snap_build(const struct pcp_percpu_stats *s, struct snap *t)
{
	size_t n = s->nr_chunks ? s->nr_chunks : 1;

	memset(t, 0, sizeof(*t));
	t->kind = calloc(n, sizeof(*t->kind));
	t->v = calloc(n, sizeof(*t->v));
	t->has = calloc(n, sizeof(*t->has));
	if (!t->kind || !t->v || !t->has) {
		snap_free(t);
		return PCP_ERR_NOMEM;
	}
	t->n = s->nr_chunks;
	for (size_t i = 0; i < t->n; i++) {
		const char *l = s->chunks[i].label;
		t->kind[i] = strstr(l, "First Chunk") ? PCP_FRAG_KIND_FIRST :
			     strstr(l, "Reserved Chunk") ? PCP_FRAG_KIND_RESERVED :
			     PCP_FRAG_KIND_DYNAMIC;
		t->nr_dynamic += t->kind[i] == PCP_FRAG_KIND_DYNAMIC;
	}
	for (size_t e = 0; e < s->nr_entries; e++) {
		const struct pcp_percpu_stats_entry *x = &s->entries[e];
		if (x->section != PCP_PSTATS_CHUNK || x->chunk < 0 || (size_t)x->chunk >= t->n)
			continue;
		for (size_t k = 0; k < PCP_FRAG_NR_CHUNK_KEYS; k++)
			if (!strcmp(x->key, pcp_frag_chunk_keys[k])) {
				t->v[x->chunk][k] = x->value;
				t->has[x->chunk][k] = 1;
			}
	}
	return PCP_OK;
}

static void fill_side(struct pcp_frag_chunk *c, const struct snap *t, int32_t idx, int after)
{
	for (size_t k = 0; k < PCP_FRAG_NR_CHUNK_KEYS; k++) {
		if (!t->has[idx][k])
			continue;
		if (after) {
			c->v[k].has_after = 1;
			c->v[k].after = t->v[idx][k];
		} else {
			c->v[k].has_before = 1;
			c->v[k].before = t->v[idx][k];
		}
	}
	if (after)
		c->after_chunk = idx;
	else
		c->before_chunk = idx;
}

static struct pcp_frag_chunk *add_row(struct pcp_percpu_frag *f, enum pcp_frag_kind kind,
				      enum pcp_frag_status status)
{
	struct pcp_frag_chunk *c = &f->chunks[f->nr_chunks++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->status = status;
	c->before_chunk = c->after_chunk = -1;
	return c;
}

/* The chunk of kind (first or reserved: at most one in each text) in t, or -1. */
static int32_t find_kind(const struct snap *t, enum pcp_frag_kind kind)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->kind[i] == kind)
			return (int32_t)i;
	return -1;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return a < b ? -1 : a > b;
}

/* How many of the sorted values v[0..n) equal x. */
static size_t count_eq(const int64_t *v, size_t n, int64_t x)
{
	size_t lo = 0, hi = n, c = 0;

	while (lo < hi) {               /* first index with v >= x */
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + c < n && v[lo + c] == x)
		c++;
	return c;
}

/* 1 if v is one of the sorted nets of the persisting trace chunks (0: a chunk the trace never
 * saw, possible while fewer chunks than could persist were seen). */
static int net_known(const int64_t *nets, size_t n, size_t slots, int64_t v)
{
	return count_eq(nets, n, v) > 0 || (n < slots && v == 0);
}

/*
 * Several dynamic chunks lived through the run: before chunk i and after chunk j are the same
 * chunk when after.nr_alloc - before.nr_alloc is a persisting chunk's traced allocs - frees
 * (its nr_alloc change), for exactly one j per i and one i per j, and the changes so matched
 * are, as a multiset, among the traced ones (those of the chunks the trace saw neither created
 * nor destroyed, the first and reserved chunk's included, padded with 0 for chunks without an
 * event). Otherwise none is matched. Allocation failure: none matched either (a missing match
 * is never wrong).
 */
static void match_by_counts(const struct snap *b, const struct snap *a,
			    const struct pcp_percpu_results *r, size_t persist,
			    const int *created_after, int32_t *after_of_before,
			    int32_t *before_of_after)
{
	size_t n = 0, nd = 0, slots = persist + (a->n - a->nr_dynamic);
	int64_t *nets = malloc((r->nr_chunks + slots) * sizeof(*nets));
	int64_t *deltas = malloc(persist * sizeof(*deltas));
	int32_t *pick = malloc((b->n ? b->n : 1) * sizeof(*pick));
	uint32_t *cb = calloc(b->n ? b->n : 1, sizeof(*cb)), *ca = calloc(a->n ? a->n : 1,
									   sizeof(*ca));

	if (!nets || !deltas || !pick || !cb || !ca)
		goto out;
	for (size_t x = 0; x < r->nr_chunks; x++)
		if (!r->chunks[x].has_created && !r->chunks[x].has_destroyed)
			nets[n++] = (int64_t)r->chunks[x].allocs - (int64_t)r->chunks[x].frees;
	if (n > slots)
		goto out;
	qsort(nets, n, sizeof(*nets), cmp_i64);
	/* candidates, counted both ways */
	for (size_t i = 0; i < b->n; i++) {
		pick[i] = -1;
		for (size_t j = 0; b->kind[i] == PCP_FRAG_KIND_DYNAMIC && j < a->n; j++) {
			if (a->kind[j] != PCP_FRAG_KIND_DYNAMIC || created_after[j] ||
			    !net_known(nets, n, slots, pcp_frag_sub(a->v[j][K_NR_ALLOC],
								  b->v[i][K_NR_ALLOC])))
				continue;
			pick[i] = (int32_t)j;
			cb[i]++;
			ca[j]++;
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		if (b->kind[i] != PCP_FRAG_KIND_DYNAMIC)
			continue;
		if (cb[i] != 1 || ca[pick[i]] != 1)
			goto out;
		deltas[nd++] = pcp_frag_sub(a->v[pick[i]][K_NR_ALLOC], b->v[i][K_NR_ALLOC]);
	}
	if (nd != persist)
		goto out;
	while (n < slots)
		nets[n++] = 0;
	qsort(nets, n, sizeof(*nets), cmp_i64);
	qsort(deltas, nd, sizeof(*deltas), cmp_i64);
	/* deltas a sub-multiset of nets (both sorted) */
	for (size_t x = 0, y = 0; x < nd; x++, y++) {
		while (y < n && nets[y] < deltas[x])
			y++;
		if (y == n || nets[y] != deltas[x])
			goto out;
	}
	for (size_t i = 0; i < b->n; i++)
		if (pick[i] >= 0 && b->kind[i] == PCP_FRAG_KIND_DYNAMIC) {
			after_of_before[i] = pick[i];
			before_of_after[pick[i]] = (int32_t)i;
		}
out:
	free(nets);
	free(deltas);
	free(pick);
	free(cb);
	free(ca);
}

/*
 * Dynamic chunks carry no identity in the text (the kernel lists them by free-space slot), so
 * they are matched only as far as the trace proves it (docs/METRICS.md):
 *  - counts: P = dynamic before - destroyed_pre = dynamic after - created_alive chunks persist;
 *    other counts (or no usable trace) leave every dynamic chunk unmatched;
 *  - P = 0: every before chunk was destroyed, every after chunk created;
 *  - a created chunk starts empty, so the trace holds all its allocations: the after chunk
 *    whose nr_alloc equals the chunk's traced allocs - frees, when exactly one does and no
 *    other created chunk has that count, is that chunk (its base_addr known);
 *  - with every created chunk placed, no pre-existing chunk destroyed and one dynamic chunk
 *    left on each side, those two are the same chunk; with several, match_by_counts.
 */
static int match_dynamic(struct pcp_percpu_frag *f, const struct snap *b, const struct snap *a,
			 const struct pcp_percpu_results *r, int use_trace,
			 int32_t *after_of_before, int32_t *before_of_after, int *created_after,
			 uint64_t *created_base)
{
	size_t nb = b->nr_dynamic, na = a->nr_dynamic, nc = 0, placed = 0;

	if (!use_trace || nb > MATCH_MAX_CHUNKS || na > MATCH_MAX_CHUNKS ||
	    r->nr_chunks > MATCH_MAX_CHUNKS)
		return PCP_OK;
	for (size_t x = 0; x < r->nr_chunks; x++) {
		const struct pcp_percpu_chunk *c = &r->chunks[x];
		f->created_alive += c->has_created && !c->has_destroyed;
		f->destroyed_pre += !c->has_created && c->has_destroyed;
	}
	if ((uint64_t)nb < f->destroyed_pre || nb - f->destroyed_pre + f->created_alive != na)
		return PCP_OK;
	f->trace_used = 1;
	size_t persist = nb - (size_t)f->destroyed_pre;
	if (persist == 0) {
		for (size_t i = 0; i < b->n; i++)
			if (b->kind[i] == PCP_FRAG_KIND_DYNAMIC)
				after_of_before[i] = -2; /* destroyed */
		for (size_t j = 0; j < a->n; j++)
			if (a->kind[j] == PCP_FRAG_KIND_DYNAMIC)
				created_after[j] = 1;
	}
	/* created chunks by their traced allocation count: sorted counts of both sides */
	int64_t *cnets = malloc((f->created_alive ? f->created_alive : 1) * sizeof(*cnets));
	int64_t *anr = malloc((na ? na : 1) * sizeof(*anr));
	if (!cnets || !anr) {
		free(cnets);
		free(anr);
		return PCP_ERR_NOMEM;
	}
	for (size_t x = 0; x < r->nr_chunks; x++)
		if (r->chunks[x].has_created && !r->chunks[x].has_destroyed)
			cnets[nc++] = (int64_t)r->chunks[x].allocs - (int64_t)r->chunks[x].frees;
	na = 0;
	for (size_t j = 0; j < a->n; j++)
		if (a->kind[j] == PCP_FRAG_KIND_DYNAMIC)
			anr[na++] = a->v[j][K_NR_ALLOC];
	qsort(cnets, nc, sizeof(*cnets), cmp_i64);
	qsort(anr, na, sizeof(*anr), cmp_i64);
	for (size_t x = 0; x < r->nr_chunks; x++) {
		const struct pcp_percpu_chunk *c = &r->chunks[x];
		if (!c->has_created || c->has_destroyed)
			continue;
		int64_t net = (int64_t)c->allocs - (int64_t)c->frees;
		if (count_eq(cnets, nc, net) != 1 || count_eq(anr, na, net) != 1)
			continue;
		for (size_t j = 0; j < a->n; j++)
			if (a->kind[j] == PCP_FRAG_KIND_DYNAMIC && a->v[j][K_NR_ALLOC] == net) {
				created_after[j] = 1;
				created_base[j] = c->base_addr;
				placed++;
			}
	}
	free(cnets);
	free(anr);
	if (persist == 1 && f->destroyed_pre == 0 && placed == f->created_alive) {
		int32_t bi = -1, aj = -1;
		for (size_t i = 0; i < b->n; i++)
			if (b->kind[i] == PCP_FRAG_KIND_DYNAMIC)
				bi = (int32_t)i;
		for (size_t j = 0; j < a->n; j++)
			if (a->kind[j] == PCP_FRAG_KIND_DYNAMIC && !created_after[j])
				aj = (int32_t)j;
		if (bi >= 0 && aj >= 0) {
			after_of_before[bi] = aj;
			before_of_after[aj] = bi;
		}
	} else if (persist >= 2 && f->destroyed_pre == 0 && placed == f->created_alive) {
		match_by_counts(b, a, r, persist, created_after, after_of_before, before_of_after);
	}
	return PCP_OK;
}

static void totals(const struct snap *t, int64_t *free_bytes, int64_t *sum_frag,
		   int64_t *max_frag)
{
	*free_bytes = *sum_frag = 0;
	if (max_frag)
		*max_frag = 0;
	for (size_t i = 0; i < t->n; i++) {
		*free_bytes = pcp_frag_add(*free_bytes, t->v[i][K_FREE_BYTES]);
		*sum_frag = pcp_frag_add(*sum_frag, t->v[i][K_SUM_FRAG]);
		if (max_frag && t->v[i][K_MAX_FRAG] > *max_frag)
			*max_frag = t->v[i][K_MAX_FRAG];
	}
}

int pcp_percpu_frag_compute(const struct pcp_percpu_stats *before,
			    const struct pcp_percpu_stats *after,
			    const struct pcp_percpu_results *r, int lossy,
			    struct pcp_percpu_frag **out)
{
	struct snap b, a;
	struct pcp_percpu_frag *f = NULL;
	int32_t *aob = NULL, *boa = NULL;
	int *created = NULL;
	uint64_t *cbase = NULL;
	int rc;

	*out = NULL;
	if ((rc = snap_build(before, &b)))
		return rc;
	if ((rc = snap_build(after, &a))) {
		snap_free(&b);
		return rc;
	}
	rc = PCP_ERR_NOMEM;
	f = calloc(1, sizeof(*f));
	aob = malloc((b.n ? b.n : 1) * sizeof(*aob));
	boa = malloc((a.n ? a.n : 1) * sizeof(*boa));
	created = calloc(a.n ? a.n : 1, sizeof(*created));
	cbase = calloc(a.n ? a.n : 1, sizeof(*cbase));
	if (!f || !aob || !boa || !created || !cbase ||
	    !(f->chunks = calloc(b.n + a.n ? b.n + a.n : 1, sizeof(*f->chunks))))
		goto out;
	for (size_t k = 0; k < PCP_FRAG_NR_GLOBAL_KEYS; k++) {
		struct pcp_frag_value *g = &f->global[k];
		g->has_before = pcp_percpu_stats_get(before, PCP_PSTATS_GLOBAL, -1,
						     pcp_frag_global_keys[k], &g->before);
		g->has_after = pcp_percpu_stats_get(after, PCP_PSTATS_GLOBAL, -1,
						    pcp_frag_global_keys[k], &g->after);
	}
	for (size_t i = 0; i < b.n; i++)
		aob[i] = -1;
	for (size_t j = 0; j < a.n; j++)
		boa[j] = -1;
	/* the first and the reserved chunk by their label */
	for (enum pcp_frag_kind k = PCP_FRAG_KIND_FIRST; k <= PCP_FRAG_KIND_RESERVED; k++) {
		int32_t i = find_kind(&b, k), j = find_kind(&a, k);
		if (i >= 0 && j >= 0) {
			aob[i] = j;
			boa[j] = i;
		}
	}
	if ((rc = match_dynamic(f, &b, &a, r, r && !lossy, aob, boa, created, cbase)))
		goto out;

	/* rows: first, reserved, then dynamic: before's in text order (matched, destroyed or
	 * unmatched), then after's not matched (created or unmatched) */
	for (enum pcp_frag_kind k = PCP_FRAG_KIND_FIRST; k <= PCP_FRAG_KIND_DYNAMIC; k++) {
		for (size_t i = 0; i < b.n; i++) {
			if (b.kind[i] != k)
				continue;
			enum pcp_frag_status st = aob[i] >= 0 ? PCP_FRAG_MATCHED :
				aob[i] == -2 ? PCP_FRAG_DESTROYED : PCP_FRAG_UNMATCHED;
			struct pcp_frag_chunk *c = add_row(f, k, st);
			fill_side(c, &b, (int32_t)i, 0);
			if (aob[i] >= 0)
				fill_side(c, &a, aob[i], 1);
		}
		for (size_t j = 0; j < a.n; j++) {
			if (a.kind[j] != k || boa[j] >= 0)
				continue;
			struct pcp_frag_chunk *c = add_row(f, k, created[j] ? PCP_FRAG_CREATED
									: PCP_FRAG_UNMATCHED);
			fill_side(c, &a, (int32_t)j, 1);
			if (cbase[j]) {
				c->has_base = 1;
				c->base_addr = cbase[j];
			}
		}
	}
	totals(&b, &f->free_before, &f->sum_frag_before, NULL);
	totals(&a, &f->free_after, &f->sum_frag_after, &f->max_frag_after);
	f->ratio_before = f->free_before ? (double)f->sum_frag_before / (double)f->free_before : 0;
	f->ratio_after = f->free_after ? (double)f->sum_frag_after / (double)f->free_after : 0;
	f->empty_pop_before = f->global[GKEY_EMPTY_POP_PAGES].before;
	f->empty_pop_after = f->global[GKEY_EMPTY_POP_PAGES].after;
	*out = f;
	f = NULL;
	rc = PCP_OK;
out:
	free(aob);
	free(boa);
	free(created);
	free(cbase);
	snap_free(&b);
	snap_free(&a);
	pcp_percpu_frag_free(f);
	return rc;
}

void pcp_percpu_frag_free(struct pcp_percpu_frag *f)
{
	if (!f)
		return;
	free(f->chunks);
	free(f);
}

static void set_metric(struct pcp_percpu_results *r, enum pcp_metric_id id, double v)
{
	const char *name = pcp_metric_def(id)->name;

	for (size_t i = 0; i < r->nr_metrics; i++)
		if (r->metrics[i].name == name)
			r->metrics[i].value = v;
}

void pcp_percpu_frag_metrics(struct pcp_percpu_results *r, const struct pcp_percpu_frag *f)
{
	int ge = f && f->global[GKEY_EMPTY_POP_PAGES].has_before &&
		 f->global[GKEY_EMPTY_POP_PAGES].has_after;

	set_metric(r, PCP_METRIC_PERCPU_FRAG_RATIO, f ? f->ratio_after : NAN);
	set_metric(r, PCP_METRIC_PERCPU_FRAG_RATIO_CHANGE,
		   f ? f->ratio_after - f->ratio_before : NAN);
	set_metric(r, PCP_METRIC_PERCPU_FREE_BYTES_CHANGE,
		   f ? (double)f->free_after - (double)f->free_before : NAN);
	set_metric(r, PCP_METRIC_PERCPU_EMPTY_POP_PAGES_CHANGE,
		   ge ? (double)f->empty_pop_after - (double)f->empty_pop_before : NAN);
	set_metric(r, PCP_METRIC_PERCPU_MAX_FRAG_BYTES, f ? (double)f->max_frag_after : NAN);
}
