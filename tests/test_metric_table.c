/* The metric table (lib/model/metric_table.c) against its contract, docs/METRICS.md: every
 * metric of the table is a row of the document's metric tables with the same unit, direction
 * and threshold, and every row there is a metric of the table, in the same order. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/metric_table.h"
#include "common/error.h"
#include "check_helpers.h"

#define DOC_HEADER "| name | definition | unit | better | threshold |"

struct doc_metric {
	char name[64], unit[32], better[16];
	double threshold;
};

/* Cell k (0-based) of a markdown table row, trimmed, into buf. 0 if the row has fewer. */
static int doc_cell(const char *row, int k, char *buf, size_t len)
{
	const char *p = strchr(row, '|'), *end;
	size_t n;

	for (int i = 0; p && i < k; i++)
		p = strchr(p + 1, '|');
	if (!p || !(end = strchr(p + 1, '|')))
		return 0;
	for (p++; *p == ' '; p++)
		;
	while (end > p && end[-1] == ' ')
		end--;
	n = (size_t)(end - p);
	ck_assert_msg(n < len, "cell too long in: %.80s", row);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 1;
}

/* The rows of every metric table of docs/METRICS.md (tables under DOC_HEADER), in order. */
static size_t doc_metrics(struct doc_metric *out, size_t cap)
{
	char path[1024], *text, *line, *save = NULL, cell[32];
	int in_table = 0;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/docs/METRICS.md", check_source_dir(".."));
	text = check_read_file(path, NULL);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, DOC_HEADER) == 0) {
			in_table = 1;
			continue;
		}
		if (line[0] != '|') {
			in_table = 0;
			continue;
		}
		if (!in_table || strncmp(line, "|---", 4) == 0)
			continue;
		ck_assert_msg(n < cap, "more metric rows in METRICS.md than expected");
		ck_assert(doc_cell(line, 0, out[n].name, sizeof(out[n].name)));
		ck_assert(doc_cell(line, 2, out[n].unit, sizeof(out[n].unit)));
		ck_assert(doc_cell(line, 3, out[n].better, sizeof(out[n].better)));
		ck_assert_msg(doc_cell(line, 4, cell, sizeof(cell)), "no threshold in: %.80s", line);
		out[n].threshold = strtod(cell, NULL);
		n++;
	}
	free(text);
	return n;
}

START_TEST(test_table_rows_complete)
{
	for (int id = 0; id < PCP_METRIC_COUNT; id++) {
		const struct pcp_metric_def *d = pcp_metric_def((enum pcp_metric_id)id);

		ck_assert_msg(d->name && d->unit && d->meaning && d->meaning[0], "row %d is empty", id);
		ck_assert_ptr_eq(pcp_metric_find(d->name), d);   /* names are unique */
		ck_assert(d->threshold_pct >= 0 && isfinite(d->threshold_pct));
		/* the churn group first, then percpu: the output order of the two models */
		if (id > 0)
			ck_assert_int_ge(d->group, pcp_metric_def((enum pcp_metric_id)(id - 1))->group);
	}
	ck_assert_ptr_null(pcp_metric_find("no_such_metric"));
	ck_assert_str_eq(pcp_metric_better_name(PCP_METRIC_BETTER_LOWER), "lower");
	ck_assert_str_eq(pcp_metric_better_name(PCP_METRIC_BETTER_HIGHER), "higher");
	ck_assert_str_eq(pcp_metric_better_name(PCP_METRIC_BETTER_NONE), "none");
}
END_TEST

/* Every metric of the table is in the document with its unit, direction and threshold, at the
 * same place; and the document has no other. */
START_TEST(test_table_matches_metrics_md)
{
	struct doc_metric doc[2 * PCP_METRIC_COUNT];
	size_t n = doc_metrics(doc, sizeof(doc) / sizeof(doc[0]));

	for (int id = 0; id < PCP_METRIC_COUNT; id++) {
		const struct pcp_metric_def *d = pcp_metric_def((enum pcp_metric_id)id);

		ck_assert_msg((size_t)id < n, "%s is not in docs/METRICS.md", d->name);
		ck_assert_str_eq(doc[id].name, d->name);
		ck_assert_msg(!strcmp(doc[id].unit, d->unit), "%s: unit %s in METRICS.md, %s in the table",
			      d->name, doc[id].unit, d->unit);
		ck_assert_msg(!strcmp(doc[id].better, pcp_metric_better_name(d->better)),
			      "%s: better %s in METRICS.md, %s in the table", d->name, doc[id].better,
			      pcp_metric_better_name(d->better));
		ck_assert_msg(doc[id].threshold == d->threshold_pct,
			      "%s: threshold %g in METRICS.md, %g in the table", d->name,
			      doc[id].threshold, d->threshold_pct);
	}
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(pcp_metric_find(doc[i].name) != NULL,
			      "METRICS.md has %s, the metric table has not", doc[i].name);
	ck_assert_uint_eq(n, PCP_METRIC_COUNT);
}
END_TEST

START_TEST(test_rows_of_group_in_table_order)
{
	double v[PCP_METRIC_COUNT];
	struct pcp_metric *rows;
	size_t nr, churn = 0;

	for (int id = 0; id < PCP_METRIC_COUNT; id++)
		v[id] = id;
	ck_assert_int_eq(pcp_metric_rows(PCP_METRIC_GROUP_CHURN, v, &rows, &nr), PCP_OK);
	for (size_t i = 0; i < nr; i++) {
		const struct pcp_metric_def *d = pcp_metric_def((enum pcp_metric_id)i);

		ck_assert_int_eq(d->group, PCP_METRIC_GROUP_CHURN);
		ck_assert_str_eq(rows[i].name, d->name);
		ck_assert_str_eq(rows[i].unit, d->unit);
		ck_assert_str_eq(rows[i].better, pcp_metric_better_name(d->better));
		ck_assert_double_eq(rows[i].value, (double)i);
	}
	churn = nr;
	ck_assert_uint_eq(churn, 24);            /* the PCP metrics of METRICS.md */
	free(rows);
	ck_assert_int_eq(pcp_metric_rows(PCP_METRIC_GROUP_PERCPU, v, &rows, &nr), PCP_OK);
	ck_assert_str_eq(rows[0].name, "percpu_allocs");
	ck_assert_double_eq(rows[0].value, (double)PCP_METRIC_PERCPU_ALLOCS);
	ck_assert_str_eq(rows[nr - 1].name, "percpu_max_frag_bytes"); /* issue 16 last */
	churn += nr;
	free(rows);
	ck_assert_int_eq(pcp_metric_rows(PCP_METRIC_GROUP_LIFECYCLE, v, &rows, &nr), PCP_OK);
	ck_assert_uint_eq(nr, 11);              /* the lifecycle metrics of METRICS.md */
	ck_assert_str_eq(rows[0].name, "buddy_allocs");
	ck_assert_double_eq(rows[0].value, (double)PCP_METRIC_BUDDY_ALLOCS);
	ck_assert_str_eq(rows[nr - 1].name, "occupancy_error_pages");
	free(rows);
	ck_assert_int_eq(pcp_metric_rows(PCP_METRIC_GROUP_LOCK_CAUSE, v, &rows, &nr), PCP_OK);
	ck_assert_uint_eq(churn + 11 + nr, PCP_METRIC_COUNT);
	ck_assert_str_eq(rows[0].name, "drain_cause_free_high_share");
	free(rows);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metric_table");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_table_rows_complete);
	tcase_add_test(tc, test_table_matches_metrics_md);
	tcase_add_test(tc, test_rows_of_group_in_table_order);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
