/* lib/outfile.c: pcp_same_file (an output that is an input), two-phase writes (finished temp
 * files renamed only on commit), JSON write errors with their cause. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "check_helpers.h"
#include "common/error.h"
#include "output/outfile.h"

static char dir[] = "/tmp/pcp_outfile_test.XXXXXX";

static void setup(void)
{
	strcpy(dir, "/tmp/pcp_outfile_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	check_remove_tree(dir);
}

/* dir/name in buf */
static const char *in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_same_file)
{
	char a[256], link_path[256], hard[256], other[256], dot[256], new1[256], new2[256];

	write_text(in_dir(a, sizeof(a), "a.dat"), "a");
	write_text(in_dir(other, sizeof(other), "b.dat"), "a"); /* same content, another file */
	in_dir(link_path, sizeof(link_path), "link.dat");
	in_dir(hard, sizeof(hard), "hard.dat");
	ck_assert_int_eq(symlink(a, link_path), 0);
	ck_assert_int_eq(link(a, hard), 0);
	snprintf(dot, sizeof(dot), "%s/./a.dat", dir);
	ck_assert(pcp_same_file(a, a));
	ck_assert(pcp_same_file(a, dot));
	ck_assert(pcp_same_file(link_path, a));
	ck_assert(pcp_same_file(a, hard));
	ck_assert(!pcp_same_file(a, other));
	/* Neither exists: the same name in the same directory, or not. */
	in_dir(new1, sizeof(new1), "new.db");
	snprintf(new2, sizeof(new2), "%s/./new.db", dir);
	ck_assert(pcp_same_file(new1, new2));
	in_dir(new2, sizeof(new2), "new.json");
	ck_assert(!pcp_same_file(new1, new2));
	/* One exists, the other not: different. */
	ck_assert(!pcp_same_file(a, new1));
}
END_TEST

START_TEST(test_prepare_then_abort_keeps_target)
{
	char path[256], errbuf[256] = "";
	struct pcp_outfile out;
	json_t *doc = json_pack("{s:i}", "new", 1);
	char *text;

	write_text(in_dir(path, sizeof(path), "keep.json"), "old\n");
	ck_assert_int_eq(pcp_json_prepare(&out, path, doc, errbuf, sizeof(errbuf)), PCP_OK);
	ck_assert(out.finished);
	ck_assert_int_eq(check_dir_entries(dir), 2); /* the target and the finished temp file */
	text = check_read_file(path, NULL);
	ck_assert_str_eq(text, "old\n");
	free(text);
	pcp_outfile_abort(&out);
	ck_assert_int_eq(check_dir_entries(dir), 1);
	text = check_read_file(path, NULL);
	ck_assert_str_eq(text, "old\n");
	free(text);

	ck_assert_int_eq(pcp_json_prepare(&out, path, doc, errbuf, sizeof(errbuf)), PCP_OK);
	ck_assert_int_eq(pcp_outfile_commit(&out, errbuf, sizeof(errbuf)), PCP_OK);
	ck_assert_int_eq(check_dir_entries(dir), 1);
	text = check_read_file(path, NULL);
	ck_assert_str_eq(text, "{\n  \"new\": 1\n}\n");
	free(text);
	json_decref(doc);
}
END_TEST

START_TEST(test_json_errors_say_why)
{
	char path[256], errbuf[256] = "";
	json_t *doc = json_pack("{s:s}", "x", "y");

	ck_assert_int_eq(pcp_json_write("/dev/full", doc, errbuf, sizeof(errbuf)), PCP_ERR_IO);
	ck_assert_msg(strstr(errbuf, strerror(ENOSPC)), "%s", errbuf);
	{
		struct stat st;
		ck_assert_int_eq(stat("/dev/full", &st), 0);
		ck_assert(S_ISCHR(st.st_mode)); /* written into, never renamed over */
	}
	in_dir(path, sizeof(path), "missing/out.json");
	errbuf[0] = '\0';
	ck_assert_int_eq(pcp_json_write(path, doc, errbuf, sizeof(errbuf)), PCP_ERR_IO);
	ck_assert_msg(strstr(errbuf, strerror(ENOENT)), "%s", errbuf);
	ck_assert_int_eq(pcp_json_write(dir, doc, errbuf, sizeof(errbuf)), PCP_ERR_IO);
	ck_assert_str_eq(errbuf, "is a directory");
	ck_assert_int_eq(check_dir_entries(dir), 0);
	json_decref(doc);
}
END_TEST

START_TEST(test_symlink_target_replaced)
{
	char target[256], link_path[256], errbuf[256] = "";
	json_t *doc = json_pack("{s:i}", "v", 2);
	struct stat st;
	char *text;

	write_text(in_dir(target, sizeof(target), "target.json"), "old\n");
	ck_assert_int_eq(symlink(target, in_dir(link_path, sizeof(link_path), "link.json")), 0);
	ck_assert_int_eq(pcp_json_write(link_path, doc, errbuf, sizeof(errbuf)), PCP_OK);
	ck_assert_int_eq(lstat(link_path, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	text = check_read_file(target, NULL);
	ck_assert_str_eq(text, "{\n  \"v\": 2\n}\n");
	free(text);
	json_decref(doc);
}
END_TEST

START_TEST(test_non_regular_target_refused)
{
	char fifo[256], errbuf[256] = "";
	struct pcp_outfile out;
	struct stat st;

	ck_assert_int_eq(mkfifo(in_dir(fifo, sizeof(fifo), "pipe"), 0600), 0);
	ck_assert_int_eq(pcp_outfile_open(&out, fifo, errbuf, sizeof(errbuf)), PCP_ERR_IO);
	ck_assert_str_eq(errbuf, "not a regular file");
	ck_assert_int_eq(stat(fifo, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(check_dir_entries(dir), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outfile");
	TCase *tc = tcase_create("outfile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_same_file);
	tcase_add_test(tc, test_prepare_then_abort_keeps_target);
	tcase_add_test(tc, test_json_errors_say_why);
	tcase_add_test(tc, test_symlink_target_replaced);
	tcase_add_test(tc, test_non_regular_target_refused);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
