/* The header checks' children (lib/tracedat/tracedat_probe.c) and threads: between
 * pcp_tracedat_probe_ahead() and pcp_tracedat_probe_forget() (`pcpanalyze compare -j`, the
 * analyses run side by side) no check may fork. Forks are counted with a pthread_atfork()
 * handler. The reader's rare path is the one that forked before: a trace whose header copy
 * (lazy kallsyms) was checked ahead, then the whole file when the direct reader declines it
 * (trace_reader.c: libtracecmd reads the records) - its answer must come from the up-front
 * check too. A file without an answer in that span is refused, not forked for. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_helpers.h"
#include "common/error.h"
#include "tracedat/trace_reader.h"
#include "tracedat/tracedat_probe.h"

static char tmpdir[] = "/tmp/pcp-probe-XXXXXX";
static volatile int forks;

static void count_fork(void)
{
	forks++;
}

static const char *fixture(const char *name)
{
	return check_fixture_path("..", NULL, name);
}

START_TEST(fallback_answered_ahead)
{
	const char *path = fixture("percpu-frag.dat");   /* full kallsyms: the reader makes a copy */
	char errbuf[300] = "";
	int fd = -1, before;

	ck_assert_int_eq(pcp_tracedat_header_copy(path, &fd), PCP_OK);
	ck_assert_int_ge(fd, 0);
	before = forks;
	pcp_tracedat_probe_ahead(&path, 1);
	ck_assert_int_eq(forks - before, 2);   /* the copy, then the whole file */

	before = forks;
	ck_assert_int_eq(pcp_tracedat_probe_copy(path, fd, errbuf, sizeof(errbuf)), PCP_OK);
	/* what the reader asks after the direct path declined the file */
	ck_assert_int_eq(pcp_tracedat_probe_headers(path, errbuf, sizeof(errbuf)), PCP_OK);
	ck_assert_int_eq(forks, before);
	pcp_tracedat_probe_forget();

	/* outside the span the checks fork as before */
	ck_assert_int_eq(pcp_tracedat_probe_headers(path, errbuf, sizeof(errbuf)), PCP_OK);
	ck_assert_int_eq(forks, before + 1);
	close(fd);
}
END_TEST

START_TEST(no_fork_for_a_file_changed_since)
{
	const char *probed = fixture("fallback-basic.dat");
	char changed[1100], cmd[2400], errbuf[300] = "";
	int before;

	snprintf(changed, sizeof(changed), "%s/changed.dat", tmpdir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fixture("fallback-basic.dat"), changed);
	ck_assert_int_eq(system(cmd), 0);
	const char *paths[] = { probed, changed };
	pcp_tracedat_probe_ahead(paths, 2);
	ck_assert_int_eq(truncate(changed, 1000000), 0);   /* another size: another file */

	before = forks;
	ck_assert_int_eq(pcp_tracedat_probe_headers(probed, errbuf, sizeof(errbuf)), PCP_OK);
	ck_assert_int_eq(pcp_tracedat_probe_headers(changed, errbuf, sizeof(errbuf)), PCP_ERR_IO);
	ck_assert_msg(strstr(errbuf, "analyze it alone") != NULL, "%s", errbuf);
	ck_assert_ptr_null(strchr(errbuf, '\n'));
	ck_assert_int_eq(forks, before);
	pcp_tracedat_probe_forget();
	ck_assert_int_eq(pcp_tracedat_probe_headers(changed, errbuf, sizeof(errbuf)), PCP_OK);
	ck_assert_int_eq(forks, before + 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tracedat_probe");
	TCase *tc = tcase_create("core");
	int status;

	if (!mkdtemp(tmpdir) || pthread_atfork(count_fork, NULL, NULL))
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, fallback_answered_ahead);
	tcase_add_test(tc, no_fork_for_a_file_changed_since);
	suite_add_tcase(s, tc);
	status = check_run_suite(s);
	check_remove_tree(tmpdir);
	return status;
}
