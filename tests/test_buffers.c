/* Several trace buffers in one file (fixtures written by trace-cmd extract: -a -t, -B a -B b),
 * the CPUSTAT options per buffer, and the lost-event rule (docs/METRICS.md "Lost events").
 * Record counts are checked against the kernel's own counter: each buffer's CPUSTAT "read
 * events" (what trace-cmd extract read from that buffer; "entries" left behind are 0). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event-parse.h>
#include <jansson.h>
#include "model/analyze.h"
#include "tracedat/buffer_choice.h"
#include "model/churn.h"
#include "common/error.h"
#include "tracedat/event_loss.h"
#include "tracedat/trace_reader.h"
#include "check_helpers.h"

static char tmpdir[] = "/tmp/pcp_buffers_test.XXXXXX";

static const char *fixture(const char *name)
{
	return check_fixture_path(".", NULL, name);
}

/* Records of one buffer on one path; missed marks summed into *missed. */
static unsigned long long count_records(const char *path, enum pcp_reader_path how, const char *buffer,
					unsigned long long *ts_sum)
{
	struct pcp_reader *r;
	struct tep_record *rec;
	char err[256] = "";
	unsigned long long n = 0;

	ck_assert_msg(pcp_reader_open_buffer(path, how, buffer, &r, err, sizeof(err)) == PCP_OK, "%s %s: %s",
		      path, buffer ? buffer : "(all)", err);
	*ts_sum = 0;
	while ((rec = pcp_reader_next(r))) {
		n++;
		*ts_sum += rec->ts;
	}
	ck_assert_int_eq(pcp_reader_status(r, err, sizeof(err)), PCP_OK);
	pcp_reader_close(r);
	return n;
}

START_TEST(buffer_table_and_records)
{
	const char *path = fixture("buffers-all.dat");
	struct pcp_trace_buffer *b;
	size_t nr;
	char err[256] = "", names[128];
	unsigned long long all_ts, total = 0, sum_ts = 0;

	ck_assert_int_eq(pcp_tracedat_buffers(path, &b, &nr, err, sizeof(err)), PCP_OK);
	ck_assert_uint_eq(nr, 3);
	pcp_trace_buffer_names(b, nr, 1, names, sizeof(names));
	ck_assert_str_eq(names, "top, pcptrace_a, pcptrace_b");
	ck_assert_int_eq(b[0].top, 1);
	for (size_t i = 0; i < nr; i++) {
		unsigned long long read = 0, ts1, ts2, n1, n2;

		ck_assert_uint_eq(b[i].nr_cpus, 2);
		for (uint32_t c = 0; c < b[i].nr_cpus; c++) {
			ck_assert_int_eq(b[i].cpustat[c].present, 1);
			ck_assert_uint_eq(b[i].cpustat[c].entries, 0);
			read += b[i].cpustat[c].read_events;
		}
		n1 = count_records(path, PCP_READER_DIRECT, b[i].name, &ts1);
		n2 = count_records(path, PCP_READER_LIBTRACECMD, b[i].name, &ts2);
		ck_assert_msg(n1 == read, "%s: %llu records, CPUSTAT read events %llu", b[i].name, n1, read);
		ck_assert_uint_eq(n1, n2);
		ck_assert_uint_eq(ts1, ts2);
		total += n1;
		sum_ts += ts1;
	}
	/* no buffer chosen: every buffer merged, as before */
	ck_assert_uint_eq(count_records(path, PCP_READER_AUTO, NULL, &all_ts), total);
	ck_assert_uint_eq(all_ts, sum_ts);
	pcp_trace_buffers_free(b, nr);
}
END_TEST

START_TEST(choice)
{
	char *chosen = NULL, err[512] = "";
	const char *why = NULL;
	unsigned with_data = 0;

	/* two buffers with kmem events: refused, both named */
	ck_assert_int_eq(pcp_choose_buffer(fixture("buffers-ab.dat"), NULL, &chosen, &why, &with_data, err,
					   sizeof(err)), PCP_ERR_MODE);
	ck_assert_ptr_null(chosen);
	ck_assert_ptr_nonnull(strstr(err, "pcptrace_a"));
	ck_assert_ptr_nonnull(strstr(err, "pcptrace_b"));
	ck_assert_ptr_nonnull(strstr(err, "--buffer"));
	/* a name the file does not have */
	ck_assert_int_eq(pcp_choose_buffer(fixture("buffers-ab.dat"), "nope", &chosen, &why, &with_data, err,
					   sizeof(err)), PCP_ERR_MODE);
	ck_assert_ptr_nonnull(strstr(err, "'nope'"));
	ck_assert_ptr_nonnull(strstr(err, "top, "));
	/* b holds only sched events: a is the one */
	ck_assert_int_eq(pcp_choose_buffer(fixture("buffers-other.dat"), NULL, &chosen, &why, &with_data, err,
					   sizeof(err)), PCP_OK);
	ck_assert_str_eq(chosen, "pcptrace_a");
	ck_assert_str_eq(why, "only buffer with analyzable events");
	ck_assert_uint_eq(with_data, 2);
	free(chosen);
	/* extract -B X: the top buffer is empty */
	ck_assert_int_eq(pcp_choose_buffer(fixture("dropped.dat"), NULL, &chosen, &why, &with_data, err,
					   sizeof(err)), PCP_OK);
	ck_assert_str_eq(chosen, "pcptrace_a");
	ck_assert_uint_eq(with_data, 1);
	free(chosen);
	/* "top" names the top-level buffer */
	ck_assert_int_eq(pcp_choose_buffer(fixture("buffers-top.dat"), "top", &chosen, &why, &with_data, err,
					   sizeof(err)), PCP_OK);
	ck_assert_str_eq(chosen, "top");
	free(chosen);
}
END_TEST

START_TEST(dropped_counts)
{
	struct pcp_analysis *a = NULL;
	struct pcp_analyze_opts o;
	char err[512] = "";
	unsigned long long dropped = 0, read = 0;

	pcp_analyze_opts_default(&o);
	ck_assert_msg(pcp_analyze_file(fixture("dropped.dat"), &o, &a, err, sizeof(err)) == PCP_OK, "%s", err);
	/* the file's own stats: what the kernel refused and what extract read */
	{
		struct pcp_trace_buffer *b;
		size_t nr;
		ck_assert_int_eq(pcp_tracedat_buffers(fixture("dropped.dat"), &b, &nr, err, sizeof(err)), PCP_OK);
		const struct pcp_trace_buffer *x = pcp_trace_buffer_find(b, nr, "pcptrace_a");
		ck_assert_ptr_nonnull(x);
		for (uint32_t c = 0; c < x->nr_cpus; c++) {
			dropped += x->cpustat[c].dropped;
			read += x->cpustat[c].read_events;
			ck_assert_uint_eq(x->cpustat[c].overrun, 0);   /* non-overwrite: no overrun */
		}
		pcp_trace_buffers_free(b, nr);
	}
	ck_assert_uint_gt(dropped, 0);
	ck_assert_uint_eq(a->events_total, read);
	ck_assert_uint_eq(a->churn->events_lost, dropped);
	ck_assert_int_eq(a->churn->lossy, 1);
	ck_assert_uint_eq(a->churn->lost_unknown_marks, 0);
	ck_assert_str_eq(a->events_lost_source, "cpustat_dropped");
	ck_assert_str_eq(a->buffer, "pcptrace_a");
	ck_assert_uint_eq(pcp_churn_metric(a->churn, "events_lost")->value, (double)dropped);
	pcp_analysis_free(a);
}
END_TEST

/* The rule on made-up numbers: per CPU the largest source, summed over CPUs. */
START_TEST(loss_rule)
{
	struct pcp_cpu_flow flow[3] = { { .lost_events = 10 }, { .lost_events = 0 }, { .lost_events = 5 } };
	struct pcp_metric m = { .name = "events_lost" };
	struct pcp_churn_results c = { .nr_cpus = 3, .cpu_flow = flow, .metrics = &m, .nr_metrics = 1 };
	struct pcp_cpustat st[3] = {
		{ .present = 1, .overrun = 10 },            /* the same loss as the marks */
		{ .present = 1, .dropped = 7 },             /* non-overwrite: stats only */
		{ .present = 1, .overrun = 2, .commit_overrun = 1 },
	};
	json_t *meta = json_pack("{s:{s:[{s:i,s:i,s:i,s:i},{s:i,s:i,s:i,s:i}]}}", "recording", "cpus",
				 "cpu", 0, "overrun", 12, "commit_overrun", 0, "dropped", 0,
				 "cpu", 2, "overrun", 0, "commit_overrun", 0, "dropped", 0);
	char src[128];

	pcp_event_loss_apply(&c, st, 3, meta, src, sizeof(src));
	ck_assert_uint_eq(flow[0].lost_events, 12);   /* meta's 12 > marks 10 = overrun 10 */
	ck_assert_uint_eq(flow[1].lost_events, 7);
	ck_assert_uint_eq(flow[2].lost_events, 5);    /* marks 5 > 2 + 1 */
	ck_assert_uint_eq(c.events_lost, 24);
	ck_assert_int_eq(c.lossy, 1);
	ck_assert_double_eq(m.value, 24.0);
	ck_assert_str_eq(src, "missed_marks,cpustat_overrun,cpustat_commit_overrun,cpustat_dropped,meta");
	json_decref(meta);

	/* nothing anywhere */
	memset(flow, 0, sizeof(flow));
	memset(st, 0, sizeof(st));
	c.lossy = 0;
	pcp_event_loss_apply(&c, st, 3, NULL, src, sizeof(src));
	ck_assert_uint_eq(c.events_lost, 0);
	ck_assert_int_eq(c.lossy, 0);
	ck_assert_str_eq(src, "none");
	/* a mark of unknown size alone still makes the trace lossy */
	c.lost_unknown_marks = 1;
	pcp_event_loss_apply(&c, NULL, 0, NULL, src, sizeof(src));
	ck_assert_int_eq(c.lossy, 1);
	ck_assert_str_eq(src, "missed_marks");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buffers");
	TCase *tc = tcase_create("core");
	int status;

	if (!mkdtemp(tmpdir))
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, buffer_table_and_records);
	tcase_add_test(tc, choice);
	tcase_add_test(tc, dropped_counts);
	tcase_add_test(tc, loss_rule);
	suite_add_tcase(s, tc);
	status = check_run_suite(s);
	check_remove_tree(tmpdir);
	return status;
}
