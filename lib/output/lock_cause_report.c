/* The lock-cause section of the text summary and the analysis JSON's "lock_cause" member
 * (output/lock_cause_output.h). */
#include <math.h>
#include <string.h>
#include "common/json_text.h"
#include "common/error.h"
#include "output/lock_cause_output.h"

/* Text: per kind and cause over all zones, then the top stacks (a few per cause). */
#define TEXT_STACKS_PER_CAUSE 3

void pcp_lock_cause_report_text(FILE *out, const struct pcp_lock_cause_results *r)
{
	fprintf(out, "\n Lock causes (kernel stacks: %llu, attributed %llu, extra %llu, "
		"unattributed %llu, distinct %llu)\n", (unsigned long long)r->stack_events,
		(unsigned long long)r->stacks_attributed, (unsigned long long)r->stacks_extra,
		(unsigned long long)r->stacks_unattributed, (unsigned long long)r->distinct_stacks);
	fprintf(out, "  %-6s %-14s %14s %14s\n", "kind", "cause", "acquisitions", "pages");
	for (int k = 0; k < 2; k++) {
		/* rows are sorted by kind, zone, cause: sum over zones per cause */
		for (size_t i = 0; i < r->nr_rows; i++) {
			unsigned long long acq = 0, pages = 0;
			int seen = 0;

			if ((int)r->rows[i].kind != k)
				continue;
			for (size_t j = 0; j < i; j++)
				seen |= (int)r->rows[j].kind == k && !strcmp(r->rows[j].cause, r->rows[i].cause);
			if (seen)
				continue;
			for (size_t j = i; j < r->nr_rows; j++)
				if ((int)r->rows[j].kind == k && !strcmp(r->rows[j].cause, r->rows[i].cause)) {
					acq += r->rows[j].acquisitions;
					pages += r->rows[j].pages;
				}
			fprintf(out, "  %-6s %-14s %14llu %14llu\n", pcp_lock_kind_name((enum pcp_lock_kind)k),
				r->rows[i].cause, acq, pages);
		}
	}
	if (r->nr_stacks)
		fprintf(out, "  top stacks (folded, outermost first; task; acquisitions):\n");
	for (size_t i = 0, rank = 0; i < r->nr_stacks; i++) {
		const struct pcp_lock_cause_stack *s = &r->stacks[i];

		rank = i && s->kind == s[-1].kind && s->cause == s[-1].cause ? rank + 1 : 0;
		if (rank >= TEXT_STACKS_PER_CAUSE)
			continue;
		fprintf(out, "  %s %s: %s-%d;%s %llu\n", pcp_lock_kind_name(s->kind), s->cause, s->comm,
			(int)s->pid, s->folded, (unsigned long long)s->acquisitions);
	}
}

static void put(json_t *obj, const char *key, json_t *v, int *ok)
{
	if (!v || json_object_set_new(obj, key, v) != 0)
		*ok = 0;
}

static void push(json_t *arr, json_t *v, int *ok)
{
	if (!v || json_array_append_new(arr, v) != 0)
		*ok = 0;
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

int pcp_lock_cause_report_json(json_t *root, const struct pcp_lock_cause_results *r)
{
	json_t *o = json_object(), *rows = json_array(), *stacks = json_array();
	int ok = o && rows && stacks;

	put(o, "stack_events", jint(r->stack_events), &ok);
	put(o, "stacks_attributed", jint(r->stacks_attributed), &ok);
	put(o, "stacks_extra", jint(r->stacks_extra), &ok);
	put(o, "stacks_unattributed", jint(r->stacks_unattributed), &ok);
	put(o, "distinct_stacks", jint(r->distinct_stacks), &ok);
	for (size_t i = 0; ok && i < r->nr_rows; i++) {
		const struct pcp_lock_cause_row *x = &r->rows[i];
		push(rows, json_pack("{s:s,s:I,s:I,s:s,s:I,s:I}", "kind", pcp_lock_kind_name(x->kind),
				     "nid", (json_int_t)x->nid, "zid", (json_int_t)x->zid, "cause",
				     x->cause, "acquisitions", (json_int_t)x->acquisitions, "pages",
				     (json_int_t)x->pages), &ok);
	}
	for (size_t i = 0; ok && i < r->nr_stacks; i++) {
		const struct pcp_lock_cause_stack *x = &r->stacks[i];
		push(stacks, json_pack("{s:s,s:s,s:o,s:I,s:o,s:I,s:I}", "kind",
				       pcp_lock_kind_name(x->kind), "cause", x->cause, "comm",
				       pcp_json_text(x->comm), "pid", (json_int_t)x->pid, "folded",
				       pcp_json_text(x->folded), "acquisitions",
				       (json_int_t)x->acquisitions, "pages", (json_int_t)x->pages), &ok);
	}
	put(o, "causes", rows, &ok);
	rows = NULL;
	put(o, "stacks", stacks, &ok);
	stacks = NULL;
	if (ok && json_object_set_new(root, "lock_cause", o) == 0)
		return PCP_OK;
	json_decref(o);
	return PCP_ERR_NOMEM;
}
