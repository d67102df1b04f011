/* The lock-cause model (lib/model/lock_cause.c): the cause rules against docs/METRICS.md's
 * table (every frame name listed there classifies as its row's cause), attribution of stacks
 * to inferred acquisitions of the real churn model, unsampled / extra / unattributed counts,
 * folded stacks and the metrics. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "model/churn.h"
#include "model/lock_cause.h"
#include "check_helpers.h"

#define DOC_HEADER "| kind | cause | frames 6.18 (this machine) | frames 6.1 (lab) |"

START_TEST(test_rules_match_doc)
{
	char path[1024], *text, *line, *save = NULL;
	int in_table = 0, rows = 0, names = 0;

	snprintf(path, sizeof(path), "%s/docs/METRICS.md", check_source_dir(".."));
	text = check_read_file(path, NULL);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kind[16], cause[32];
		const char *p;

		if (!strcmp(line, DOC_HEADER)) {
			in_table = 1;
			continue;
		}
		if (line[0] != '|') {
			in_table = 0;
			continue;
		}
		if (!in_table || !strncmp(line, "|---", 4))
			continue;
		ck_assert_int_eq(sscanf(line, "| %15s | %31s |", kind, cause), 2);
		rows++;
		/* every `name` in the row */
		for (p = strchr(line, '`'); p; p = strchr(p, '`')) {
			const char *end = strchr(p + 1, '`');
			char name[96];
			const char *one[1] = { name };

			ck_assert_ptr_nonnull(end);
			snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
			ck_assert_str_eq(pcp_lock_cause_classify(strcmp(kind, "drain") ? PCP_LOCK_KIND_REFILL
							       : PCP_LOCK_KIND_DRAIN, one, 1), cause);
			names++;
			p = end + 1;
		}
	}
	free(text);
	ck_assert_int_ge(rows, 12);
	ck_assert_int_ge(names, 60);
}
END_TEST

START_TEST(test_classify_order_and_irq)
{
	/* explicit before free_high; an interrupt's interrupted context is not read */
	const char *expl[] = { "trace_event_raw_event_mm_page_pcpu_drain", "free_pcppages_bulk",
			       "drain_pages_zone", "__drain_all_pages", "free_frozen_page_commit" };
	const char *irq[] = { "free_pcppages_bulk", "free_frozen_page_commit.constprop.0",
			      "rcu_core", "handle_softirqs", "irq_exit_rcu", "do_anonymous_page" };
	const char *irq_refill[] = { "__rmqueue_pcplist", "get_page_from_freelist", "page_pool_alloc_pages",
				     "net_rx_action", "handle_softirqs", "do_anonymous_page" };
	const char *none[] = { "__rmqueue_pcplist", "get_free_pages_noprof", "bpf_map_alloc_pages" };
	const char *gather[] = { "__rmqueue_pcplist", "get_free_pages_noprof", "tlb_next_batch",
				 "__tlb_remove_folio_pages", "unmap_page_range" };

	ck_assert_str_eq(pcp_lock_cause_classify(PCP_LOCK_KIND_DRAIN, expl, 5), "explicit");
	ck_assert_str_eq(pcp_lock_cause_classify(PCP_LOCK_KIND_DRAIN, irq, 6), "free_high");
	ck_assert_str_eq(pcp_lock_cause_classify(PCP_LOCK_KIND_REFILL, irq_refill, 6), PCP_CAUSE_OTHER);
	ck_assert_str_eq(pcp_lock_cause_classify(PCP_LOCK_KIND_REFILL, none, 3), PCP_CAUSE_OTHER);
	ck_assert_str_eq(pcp_lock_cause_classify(PCP_LOCK_KIND_REFILL, gather, 5), "mmu_gather");
	/* a drain rule does not classify a refill */
	ck_assert_str_eq(pcp_lock_cause_classify(PCP_LOCK_KIND_REFILL, expl, 5), PCP_CAUSE_OTHER);
}
END_TEST

struct feed {
	struct pcp_churn_model *churn;
	struct pcp_lock_cause_model *lc;
	uint64_t ts;
};

static void put(struct feed *f, uint32_t cpu, int kind, uint64_t pfn, uint32_t order)
{
	struct pcp_event ev = { .ts_ns = f->ts += 100, .cpu = cpu, .pid = 42, .kind = (uint8_t)kind };

	if (kind == PCP_EV_REFILL || kind == PCP_EV_DRAIN)
		ev.block = (struct pcp_page_block){ .pfn = pfn, .order = order };
	pcp_churn_event(f->churn, &ev);
	pcp_lock_cause_event(f->lc, f->churn, &ev);
}

static void stack(struct feed *f, uint32_t cpu, const uint64_t *frames, unsigned n, int32_t pid)
{
	struct pcp_event ev = { .ts_ns = f->ts += 10, .cpu = cpu, .pid = pid, .kind = PCP_EV_STACK };

	pcp_lock_cause_intern(f->lc, frames, n, &ev);
	pcp_churn_event(f->churn, &ev);
	pcp_lock_cause_event(f->lc, f->churn, &ev);
}

static const struct pcp_lock_cause_row *row(const struct pcp_lock_cause_results *r, int kind,
					    const char *cause)
{
	for (size_t i = 0; i < r->nr_rows; i++)
		if ((int)r->rows[i].kind == kind && !strcmp(r->rows[i].cause, cause))
			return &r->rows[i];
	return NULL;
}

START_TEST(test_attribution)
{
	struct pcp_churn_opts o;
	struct pcp_churn_results *cr;
	struct pcp_lock_cause_results *r;
	struct feed f = { 0 };
	const uint64_t s1[] = { 0x1000, 0x2000, 0x3000 }, s2[] = { 0x5000, 0x6000 };
	const struct pcp_lock_cause_row *x;

	pcp_churn_opts_default(&o);
	o.lock_source = PCP_LOCK_INFERRED;
	o.infer_gap_ns[0] = o.infer_gap_ns[1] = 1000;
	ck_assert_int_eq(pcp_churn_new(2, &o, &f.churn), PCP_OK);
	ck_assert_int_eq(pcp_lock_cause_new(2, 10, &f.lc), PCP_OK);

	/* drain run 1 on CPU 0 (3 blocks, order 0,0,1): stack s1 after its first block, s2 later */
	put(&f, 0, PCP_EV_DRAIN, 10, 0);
	stack(&f, 0, s1, 3, 7);
	put(&f, 0, PCP_EV_DRAIN, 11, 0);
	stack(&f, 0, s2, 2, 7);              /* extra */
	put(&f, 0, PCP_EV_DRAIN, 12, 1);
	/* another record breaks the run: a stack now has no acquisition */
	put(&f, 0, PCP_EV_OTHER, 0, 0);
	stack(&f, 0, s1, 3, 7);              /* unattributed */
	/* drain run 2 on CPU 0 with the same stack, from another task */
	put(&f, 0, PCP_EV_DRAIN, 20, 0);
	stack(&f, 0, s1, 3, 9);
	/* drain run 3 on CPU 1 without a stack: unsampled */
	put(&f, 1, PCP_EV_DRAIN, 30, 0);
	put(&f, 1, PCP_EV_DRAIN, 31, 0);
	/* a refill run on CPU 1 with stack s2 */
	put(&f, 1, PCP_EV_REFILL, 40, 0);
	stack(&f, 1, s2, 2, 11);

	ck_assert_int_eq(pcp_churn_finish(f.churn, &cr), PCP_OK);
	ck_assert_int_eq(pcp_lock_cause_finish(f.lc, NULL, &r), PCP_OK);
	ck_assert_uint_eq(r->stack_events, 5);
	ck_assert_uint_eq(r->stacks_attributed, 3);
	ck_assert_uint_eq(r->stacks_extra, 1);
	ck_assert_uint_eq(r->stacks_unattributed, 1);
	ck_assert_uint_eq(r->distinct_stacks, 2);
	/* no kallsyms: every stack is other; acquisitions as the churn model's zone_lock */
	x = row(r, PCP_LOCK_KIND_DRAIN, PCP_CAUSE_OTHER);
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(x->acquisitions, 2);
	ck_assert_uint_eq(x->pages, 5);
	ck_assert_int_eq(x->nid, -1);
	x = row(r, PCP_LOCK_KIND_DRAIN, PCP_CAUSE_UNSAMPLED);
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(x->acquisitions, 1);
	ck_assert_uint_eq(x->pages, 2);
	x = row(r, PCP_LOCK_KIND_REFILL, PCP_CAUSE_OTHER);
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(x->acquisitions, 1);
	for (size_t i = 0; i < cr->nr_zone_lock; i++)
		ck_assert_uint_eq(cr->zone_lock[i].acquisitions,
				  cr->zone_lock[i].kind == PCP_LOCK_KIND_DRAIN ? 3 : 1);
	/* stacks: drain other has s1 from pid 7 and from pid 9, one acquisition each; folded is
	 * outermost first */
	ck_assert_uint_eq(r->nr_stacks, 3);
	ck_assert_str_eq(r->stacks[0].folded, "0x6000;0x5000");   /* refill first (kind 0) */
	ck_assert_int_eq(r->stacks[0].pid, 11);
	ck_assert_str_eq(r->stacks[1].folded, "0x3000;0x2000;0x1000");
	ck_assert_int_eq(r->stacks[1].pid, 7);
	ck_assert_uint_eq(r->stacks[1].pages, 4);
	ck_assert_int_eq(r->stacks[2].pid, 9);
	ck_assert_str_eq(r->stacks[2].comm, "<...>");
	/* shares over drains with a stack: all other; coverage 2 of 3 */
	for (size_t i = 0; i < r->nr_metrics; i++) {
		const struct pcp_metric *m = &r->metrics[i];
		if (!strcmp(m->name, "drain_cause_other_share"))
			ck_assert_double_eq(m->value, 1.0);
		else if (!strcmp(m->name, "drain_cause_free_high_share"))
			ck_assert_double_eq(m->value, 0.0);
		else if (!strcmp(m->name, "drain_stack_coverage"))
			ck_assert_double_eq_tol(m->value, 2.0 / 3.0, 1e-12);
		else if (!strcmp(m->name, "refill_stack_coverage"))
			ck_assert_double_eq(m->value, 1.0);
	}
	ck_assert_uint_eq(r->nr_metrics, 7);
	pcp_lock_cause_results_free(r);
	pcp_churn_results_free(cr);
	pcp_lock_cause_free(f.lc);
	pcp_churn_free(f.churn);
}
END_TEST

START_TEST(test_no_drain_stack_is_undefined)
{
	struct pcp_churn_opts o;
	struct pcp_churn_results *cr;
	struct pcp_lock_cause_results *r;
	struct feed f = { 0 };

	pcp_churn_opts_default(&o);
	o.lock_source = PCP_LOCK_INFERRED;
	ck_assert_int_eq(pcp_churn_new(1, &o, &f.churn), PCP_OK);
	ck_assert_int_eq(pcp_lock_cause_new(1, 10, &f.lc), PCP_OK);
	put(&f, 0, PCP_EV_DRAIN, 10, 0);
	ck_assert_int_eq(pcp_churn_finish(f.churn, &cr), PCP_OK);
	ck_assert_int_eq(pcp_lock_cause_finish(f.lc, NULL, &r), PCP_OK);
	for (size_t i = 0; i < r->nr_metrics; i++) {
		if (!strcmp(r->metrics[i].name, "drain_stack_coverage"))
			ck_assert_double_eq(r->metrics[i].value, 0.0);
		else
			ck_assert(isnan(r->metrics[i].value));   /* no share without a stack */
	}
	pcp_lock_cause_results_free(r);
	pcp_churn_results_free(cr);
	pcp_lock_cause_free(f.lc);
	pcp_churn_free(f.churn);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("lock_cause");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rules_match_doc);
	tcase_add_test(tc, test_classify_order_and_irq);
	tcase_add_test(tc, test_attribution);
	tcase_add_test(tc, test_no_drain_stack_is_undefined);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
