/* Helpers shared by the Check unit tests: fixture paths, whole-file reads, scratch directories
 * and running a suite. Header-only (static inline): each tests/test_*.c is its own executable. */
#ifndef PCPTRACE_TEST_CHECK_HELPERS_H
#define PCPTRACE_TEST_CHECK_HELPERS_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PCP_SOURCE_DIR (ctest sets it), else fallback: "." for a run from the source tree, ".." for
 * one from a build directory beside it (the tests were written with either). */
static inline const char *check_source_dir(const char *fallback)
{
	const char *s = getenv("PCP_SOURCE_DIR");
	return s ? s : fallback;
}

/* SOURCE/tests/fixtures/[SUBDIR/]NAME in a static buffer (valid until the next call). */
static inline const char *check_fixture_path(const char *fallback, const char *subdir, const char *name)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s%s%s", check_source_dir(fallback),
		 subdir ? subdir : "", subdir ? "/" : "", name);
	return path;
}

/* The whole file, NUL-terminated (caller frees); its length in *len unless len is NULL. */
static inline char *check_read_file(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	long n;

	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s (set PCP_SOURCE_DIR)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* check_read_file of a fixture (see check_fixture_path). */
static inline char *check_read_fixture(const char *fallback, const char *subdir, const char *name,
				       size_t *len)
{
	return check_read_file(check_fixture_path(fallback, subdir, name), len);
}

/* Entries of dir other than . and .. (to prove nothing is left behind). */
static inline int check_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* rm -rf dir; a failure is reported, not fatal (it is only scratch space). */
static inline void check_remove_tree(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* Runs every test of s (fork mode as CK_FORK says) and frees it; the exit status for main. */
static inline int check_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
