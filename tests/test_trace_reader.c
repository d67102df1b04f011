/* Trace reader on the real fixture traces (v7 zstd, v6) and on damaged copies of them.
 * Expected record counts come from `trace-cmd report` text, not from our code. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event-parse.h>
#include "common/error.h"
#include "tracedat/trace_reader.h"
#include "check_helpers.h"

static char tmpdir[] = "/tmp/pcp_reader_test.XXXXXX";

static const char *fixture(const char *name)
{
	return check_fixture_path(".", NULL, name);
}

static unsigned long long sh_count(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	unsigned long long n = 0;
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%llu", &n), 1);
	pclose(p);
	return n;
}

/* trace-cmd report prints one line per record: "... [CPU] TIMESTAMP: event: ..." */
static unsigned long long report_records(const char *path)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "trace-cmd report '%s' 2>/dev/null | grep -cE '\\[[0-9]+\\] +[0-9]+\\.[0-9]+: '", path);
	return sh_count(cmd);
}

static unsigned long long report_lost(const char *path)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "trace-cmd report '%s' 2>/dev/null | grep -oE '\\[[0-9]+ EVENTS DROPPED\\]' | tr -dc '0-9\\n' | "
		 "awk '{s+=$1} END {print s+0}'", path);
	return sh_count(cmd);
}

static void read_all(const char *path, int version)
{
	struct pcp_reader *r;
	struct tep_record *rec;
	char err[256] = "";
	unsigned long long n = 0, prev = 0, lost = 0;

	if (access(path, R_OK) != 0)
		return; /* fixture not there yet */
	ck_assert_msg(pcp_reader_open(path, &r, err, sizeof(err)) == PCP_OK, "%s: %s", path, err);
	ck_assert_int_eq(pcp_reader_layout(r)->file_version, version);
	ck_assert_uint_ge(pcp_reader_layout(r)->nr_cpus, 1);
	while ((rec = pcp_reader_next(r))) {
		ck_assert_msg(rec->ts >= prev, "timestamps go back at record %llu", n);
		ck_assert_int_lt(rec->cpu, (int)pcp_reader_layout(r)->nr_cpus);
		prev = rec->ts;
		n++;
	}
	ck_assert_ptr_null(pcp_reader_next(r));
	ck_assert_uint_eq(n, pcp_reader_records(r));
	ck_assert_uint_eq(n, report_records(path));
	for (uint32_t c = 0; c < pcp_reader_layout(r)->nr_cpus; c++) {
		uint64_t k, u;
		pcp_reader_missed(r, c, &k, &u);
		lost += k;
	}
	ck_assert_uint_eq(lost, report_lost(path));
	pcp_reader_close(r);
}

START_TEST(reads_v7_zstd)
{
	read_all(fixture("fallback-basic.dat"), 7);
}
END_TEST

START_TEST(reads_v6)
{
	char path[1100], cmd[2400];
	if (access(fixture("fallback-v6.dat.xz"), R_OK) != 0)
		return;
	snprintf(path, sizeof(path), "%s/v6.dat", tmpdir);
	snprintf(cmd, sizeof(cmd), "xz -dc '%s' > '%s'", fixture("fallback-v6.dat.xz"), path);
	ck_assert_int_eq(system(cmd), 0);
	read_all(path, 6);
}
END_TEST

START_TEST(counts_missed_events)
{
	struct pcp_reader *r;
	char err[256];
	uint64_t k, u, total = 0, marks = 0;

	if (access(fixture("overrun.dat"), R_OK) != 0)
		return;
	read_all(fixture("overrun.dat"), 7);
	ck_assert_int_eq(pcp_reader_open(fixture("overrun.dat"), &r, err, sizeof(err)), PCP_OK);
	while (pcp_reader_next(r))
		;
	for (uint32_t c = 0; c < pcp_reader_layout(r)->nr_cpus; c++) {
		pcp_reader_missed(r, c, &k, &u);
		total += k;
		marks += u;
	}
	ck_assert_msg(total + marks > 0, "overrun.dat should have lost events");
	pcp_reader_close(r);
}
END_TEST

/* Copies the first n bytes of src to tmpdir/name (n = -1: whole file). */
static const char *derive(const char *src, const char *name, long n)
{
	static char path[1100];
	char cmd[2600];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (n < 0)
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, path);
	else
		snprintf(cmd, sizeof(cmd), "head -c %ld '%s' > '%s'", n, src, path);
	ck_assert_int_eq(system(cmd), 0);
	return path;
}

static int check(const char *path)
{
	struct pcp_tracedat_layout l;
	char err[256] = "";
	int rc = pcp_tracedat_check(path, &l, err, sizeof(err));
	ck_assert_msg(rc == PCP_OK || err[0], "no message for error %d", rc);
	return rc;
}

START_TEST(error_kinds)
{
	const char *src = fixture("fallback-basic.dat");
	struct pcp_tracedat_layout l;
	char err[256];
	long size;
	FILE *f;

	if (access(src, R_OK) != 0)
		return;
	ck_assert_int_eq(pcp_tracedat_check(src, &l, err, sizeof(err)), PCP_OK);
	size = (long)l.file_size;
	ck_assert_int_eq(check("/nonexistent/trace.dat"), PCP_ERR_NOFILE);
	ck_assert_int_eq(check(tmpdir), PCP_ERR_NOFILE);
	ck_assert_int_eq(check(derive(src, "empty.dat", 0)), PCP_ERR_EMPTY);
	ck_assert_int_eq(check(derive("/etc/passwd", "text.dat", 200)), PCP_ERR_NOT_TRACE);
	ck_assert_int_eq(check(derive(src, "magic.dat", 5)), PCP_ERR_TRUNCATED);
	ck_assert_int_eq(check(derive(src, "head.dat", 4000)), PCP_ERR_TRUNCATED);
	ck_assert_int_eq(check(derive(src, "half.dat", size / 2)), PCP_ERR_TRUNCATED);
	ck_assert_int_eq(check(derive(src, "end.dat", size - 1)), PCP_ERR_TRUNCATED);
	/* damaged version string */
	const char *ver = derive(src, "ver.dat", -1);
	f = fopen(ver, "r+b");
	ck_assert_ptr_nonnull(f);
	fseek(f, 10, SEEK_SET);
	fputc('9', f);
	fclose(f);
	ck_assert_int_eq(check(ver), PCP_ERR_CORRUPT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trace_reader");
	TCase *tc = tcase_create("core");
	int status;

	if (!mkdtemp(tmpdir))
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, reads_v7_zstd);
	tcase_add_test(tc, reads_v6);
	tcase_add_test(tc, counts_missed_events);
	tcase_add_test(tc, error_kinds);
	suite_add_tcase(s, tc);
	status = check_run_suite(s);
	check_remove_tree(tmpdir);
	return status;
}
