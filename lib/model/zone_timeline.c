/* Zone-lock acquisitions per bucket and zone row (zone_timeline.h). */
#include <stdlib.h>
#include "common/error.h"
#include "model/zone_timeline.h"

void pcp_zone_timeline_add(struct pcp_zone_timeline *t, uint64_t bucket_start_ns, int32_t nid,
			   int32_t zid, enum pcp_lock_kind kind, uint64_t n)
{
	struct pcp_zone_timeline_row *r;

	if (!n || t->err)
		return;
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;

		r = realloc(t->rows, cap * sizeof(*r));
		if (!r) {
			t->err = PCP_ERR_NOMEM;
			return;
		}
		t->rows = r;
		t->cap = cap;
	}
	r = &t->rows[t->nr++];
	r->bucket_start_ns = bucket_start_ns;
	r->nid = nid;
	r->zid = zid;
	r->kind = kind;
	r->acquisitions = n;
}

static int cmp_row(const void *pa, const void *pb)
{
	const struct pcp_zone_timeline_row *a = pa, *b = pb;

	if (a->bucket_start_ns != b->bucket_start_ns)
		return a->bucket_start_ns < b->bucket_start_ns ? -1 : 1;
	if (a->nid != b->nid)
		return a->nid < b->nid ? -1 : 1;
	if (a->zid != b->zid)
		return a->zid < b->zid ? -1 : 1;
	return (a->kind > b->kind) - (a->kind < b->kind);
}

int pcp_zone_timeline_take(struct pcp_zone_timeline *t, struct pcp_zone_timeline_row **rows,
			   size_t *nr)
{
	*rows = NULL;
	*nr = 0;
	if (t->err)
		return t->err;
	if (t->nr)
		qsort(t->rows, t->nr, sizeof(*t->rows), cmp_row);
	*rows = t->rows;
	*nr = t->nr;
	t->rows = NULL;
	t->nr = t->cap = 0;
	return PCP_OK;
}

void pcp_zone_timeline_free(struct pcp_zone_timeline *t)
{
	free(t->rows);
	t->rows = NULL;
	t->nr = t->cap = 0;
}
