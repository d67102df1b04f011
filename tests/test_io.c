/* lib/common/io.c: whole writes and reads at offsets (a read past the end is TRUNCATED, not a
 * short success), whole-file reads of regular files, of procfs files that report size 0, and
 * of larger files than the first buffer; errors for a missing file and a directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_helpers.h"
#include "common/error.h"
#include "common/io.h"

static char dir[] = "/tmp/pcp_io_test.XXXXXX";
static char path[256];

static void setup(void)
{
	strcpy(dir, "/tmp/pcp_io_test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
}

static void teardown(void)
{
	check_remove_tree(dir);
}

START_TEST(test_write_then_read_at_offsets)
{
	char got[8] = "";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pcp_io_write_all(fd, "abcdefgh", 8), PCP_OK);
	ck_assert_int_eq(pcp_io_pwrite_all(fd, "XY", 2, 3), PCP_OK);
	ck_assert_int_eq(pcp_io_pwrite_all(fd, "zz", 2, 9), PCP_OK);   /* a hole at 8 */
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 8);                    /* pwrite left it */
	ck_assert_int_eq(pcp_io_pread_all(fd, got, 5, 1), PCP_OK);
	ck_assert_int_eq(memcmp(got, "bcXYf", 5), 0);
	ck_assert_int_eq(pcp_io_pread_all(fd, got, 3, 8), PCP_OK);
	ck_assert_int_eq(memcmp(got, "\0zz", 3), 0);
	ck_assert_int_eq(pcp_io_pread_all(fd, got, 2, 10), PCP_ERR_TRUNCATED);
	ck_assert_int_eq(pcp_io_pread_all(fd, got, 0, 100), PCP_OK);
	close(fd);
	ck_assert_int_eq(pcp_io_write_all(fd, "a", 1), PCP_ERR_IO);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(pcp_io_pread_all(fd, got, 1, 0), PCP_ERR_IO);
}
END_TEST

START_TEST(test_read_file)
{
	size_t big = 100000, len = 7;
	char *text = (char *)1, *want = malloc(big);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_ptr_nonnull(want);
	for (size_t i = 0; i < big; i++)
		want[i] = (char)('a' + i % 26);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pcp_io_write_all(fd, want, big), PCP_OK);
	close(fd);
	ck_assert_int_eq(pcp_io_read_file(path, &text, &len), PCP_OK);
	ck_assert_uint_eq(len, big);
	ck_assert_int_eq(memcmp(text, want, big), 0);
	ck_assert_int_eq(text[big], '\0');
	free(text);
	free(want);

	/* procfs reports size 0: read to the end all the same */
	ck_assert_int_eq(pcp_io_read_file("/proc/self/status", &text, &len), PCP_OK);
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_ptr_nonnull(strstr(text, "Name:"));
	free(text);

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	close(fd);
	ck_assert_int_eq(pcp_io_read_file(path, &text, &len), PCP_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(text, "");
	free(text);
}
END_TEST

START_TEST(test_read_file_errors)
{
	char missing[300], *text = (char *)1;
	size_t len = 7;

	snprintf(missing, sizeof(missing), "%s/none", dir);
	ck_assert_int_eq(pcp_io_read_file(missing, &text, &len), PCP_ERR_NOFILE);
	ck_assert_ptr_null(text);
	ck_assert_uint_eq(len, 0);
	text = (char *)1;
	ck_assert_int_eq(pcp_io_read_file(dir, &text, &len), PCP_ERR_IO);
	ck_assert_int_eq(errno, EISDIR);
	ck_assert_ptr_null(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("io");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_then_read_at_offsets);
	tcase_add_test(tc, test_read_file);
	tcase_add_test(tc, test_read_file_errors);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
