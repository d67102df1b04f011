/* kallsyms loaded at the first lookup (lib/tracedat/kallsyms_lazy.c) answers as libtracecmd's
 * parse at open does: our parser against libtraceevent's tep_parse_kallsyms on tricky text and
 * on this machine's /proc/kallsyms, and a reader's lazy tep against the libtracecmd path's
 * (tracecmd_open_head on the file itself) on traces with a full kallsyms, v6 and v7-zstd. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <traceevent/event-parse.h>
#include "check_helpers.h"
#include "common/error.h"
#include "common/io.h"
#include "tracedat/kallsyms_lazy.h"
#include "tracedat/trace_reader.h"

static char tmpdir[] = "/tmp/pcp-ksyms-XXXXXX";

static const char *fixture(const char *name)
{
	return check_fixture_path("..", NULL, name);
}

/* Same function name (or none) and start address from both handles for addr. */
static void same_lookup(struct tep_handle *want, struct tep_handle *got, unsigned long long addr)
{
	const char *a = tep_find_function(want, addr), *b = tep_find_function(got, addr);

	ck_assert_msg((a == NULL) == (b == NULL), "0x%llx: %s vs %s", addr, a ? a : "(none)", b ? b : "(none)");
	if (a) {
		ck_assert_str_eq(a, b);
		ck_assert_uint_eq(tep_find_function_address(want, addr), tep_find_function_address(got, addr));
	}
}

/* The same from libtraceevent's map and ours. */
static void same_map_lookup(struct tep_handle *want, const struct pcp_ksyms_map *got, unsigned long long addr)
{
	uint64_t start = 0;
	const char *a = tep_find_function(want, addr), *b = pcp_ksyms_map_find(got, addr, &start);

	ck_assert_msg((a == NULL) == (b == NULL), "0x%llx: %s vs %s", addr, a ? a : "(none)", b ? b : "(none)");
	if (a) {
		ck_assert_str_eq(a, b);
		ck_assert_uint_eq(tep_find_function_address(want, addr), start);
	}
}

/* Both parsers over text; lookups at every listed address, one byte either side, and between. */
static void compare_parsers(const char *text, const unsigned long long *addrs, size_t n)
{
	struct tep_handle *want = tep_alloc();
	struct pcp_ksyms_map *got;
	char *copy = strdup(text);

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(copy);
	tep_set_loglevel(TEP_LOG_NONE);
	tep_parse_kallsyms(want, text);
	got = pcp_ksyms_map_parse(copy);   /* takes copy */
	ck_assert_ptr_nonnull(got);
	for (size_t i = 0; i < n; i++) {
		same_map_lookup(want, got, addrs[i]);
		same_map_lookup(want, got, addrs[i] - 1);
		same_map_lookup(want, got, addrs[i] + 1);
		same_map_lookup(want, got, addrs[i] + 0x100);
	}
	pcp_ksyms_map_free(got);
	tep_free(want);
}

START_TEST(parses_as_libtraceevent)
{
	static const char *const texts[] = {
		"ffffffff81000000 T _stext\nffffffff81000100 t helper\n\n\nffffffff81000200 T dup\n"
		"ffffffff81000200 T dup_alias\nffffffff81000300 A absolute_sym\n0000000000001000 a per_cpu\n"
		"ffffffff81000400 t $a\nffffffffc0000000 t mod_fn\t[mymod]\nffffffffc0000100 T mod_fn2\t[m2]\n",
		/* a bad line ends the parse; what came before stays */
		"ffffffff81000000 T first\nnot a symbol line\nffffffff81000100 T after_bad\n",
		"ffffffff81000000 T\nffffffff81000100 T named\n",   /* no name: the parse stops */
		"ffffffff81000000 T x\t[unterminated\n",
		"",
		/* forms the fast path leaves to sscanf, and what it must read as sscanf does */
		"0xffffffff81000000 T hexprefix\nFFFFFFFF81000100 T upper\n  ffffffff81000200 T lead\n"
		"ffffffff81000300  T twospaces\nffffffff81000400 T  twoafter\nffffffff81000500 T tab\t\n"
		"ffffffff81000600 T modsp\t[ m]\nffffffff81000700 T modempty\t[]\nffffffff81000800 T cr\r\n"
		"ffffffff81000900 T notab [m]\nffffffff81000a00 T tabnobracket\tm]\n"
		"ffffffff81000b00 T v\v\nffffffff81000c00\tT tabsep\n1 t one\n00000000000000001 T seventeen\n",
		"+ffffffff81000000 T plus\nffffffff81000100 T after_plus\n",
		"ffffffff81000000 \n",
		/* many equal addresses: which one answers is the binary search's choice */
		"ffffffff81000000 T a0\nffffffff81000000 T a1\nffffffff81000000 T a2\nffffffff81000000 T a3\n"
		"ffffffff81000100 T b0\nffffffff81000100 T b1\nffffffff81000100 T b2\nffffffff81000200 T c\n"
		"ffffffff81000000 T a4\nffffffff81000300 T d0\nffffffff81000300 T d1\nffffffff81000100 T b3\n"
		"ffffffff81000400 T e\nffffffff81000400 T e1\nffffffff81000400 T e2\nffffffff81000400 T e3\n"
		"ffffffff81000400 T e4\nffffffff81000200 T c1\n",
	};
	static const unsigned long long addrs[] = { 0xffffffff81000000ULL, 0xffffffff81000100ULL,
		0xffffffff81000200ULL, 0xffffffff81000300ULL, 0xffffffff81000400ULL,
		0xffffffffc0000000ULL, 0xffffffffc0000100ULL, 0x1000, 0, 1, 0xffffffff81000500ULL,
		0xffffffff81000600ULL, 0xffffffff81000700ULL, 0xffffffff81000800ULL,
		0xffffffff81000900ULL, 0xffffffff81000a00ULL, 0xffffffff81000b00ULL,
		0xffffffff81000c00ULL, 0xffffffffffffffffULL };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		compare_parsers(texts[i], addrs, sizeof(addrs) / sizeof(addrs[0]));
}
END_TEST

START_TEST(parses_proc_kallsyms_as_libtraceevent)
{
	char *text = NULL;
	size_t len = 0, n = 0, cap = 1024;
	unsigned long long *addrs = malloc(cap * sizeof(*addrs));

	if (pcp_io_read_file("/proc/kallsyms", &text, &len) != PCP_OK || !len) {
		free(addrs);
		return;   /* no procfs here */
	}
	for (char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (n == cap)
			addrs = realloc(addrs, (cap *= 2) * sizeof(*addrs));
		addrs[n++] = strtoull(p, NULL, 16);
	}
	compare_parsers(text, addrs, n);
	free(addrs);
	free(text);
}
END_TEST

/* The reader's tep (lazy on the direct path) against the libtracecmd path's tep. */
static void compare_readers(const char *path)
{
	struct pcp_reader *lazy, *eager;
	char err[256];
	unsigned long long base = 0xffffffff81000000ULL;

	ck_assert_msg(pcp_reader_open_path(path, PCP_READER_AUTO, &lazy, err, sizeof(err)) == PCP_OK, "%s: %s", path, err);
	ck_assert(pcp_reader_direct(lazy));
	ck_assert_msg(pcp_reader_open_path(path, PCP_READER_LIBTRACECMD, &eager, err, sizeof(err)) == PCP_OK, "%s: %s", path, err);
	ck_assert_ptr_nonnull(tep_find_function(pcp_reader_tep(eager), base + 0x100000));
	for (unsigned long long a = base; a < base + (64ULL << 20); a += 4093)
		same_lookup(pcp_reader_tep(eager), pcp_reader_tep(lazy), a);
	pcp_reader_close(lazy);
	pcp_reader_close(eager);
}

START_TEST(reader_resolves_v7_zstd)
{
	compare_readers(fixture("percpu-frag.dat"));
}
END_TEST

START_TEST(reader_resolves_v6)
{
	char path[1100], cmd[2400];

	snprintf(path, sizeof(path), "%s/stacks.dat", tmpdir);
	snprintf(cmd, sizeof(cmd), "xz -dc '%s' > '%s'", fixture("stacks-cpu-offline.dat.xz"), path);
	ck_assert_int_eq(system(cmd), 0);
	compare_readers(path);
}
END_TEST

/* The copy libtracecmd parses keeps every offset and leaves the kallsyms text out. */
START_TEST(header_copy_drops_kallsyms)
{
	int fd = -1;
	char name[64];
	size_t len = 0;
	char *copy, *orig = check_read_file(fixture("percpu-frag.dat"), &len);

	ck_assert_int_eq(pcp_tracedat_header_copy(fixture("percpu-frag.dat"), &fd), PCP_OK);
	ck_assert_int_ge(fd, 0);
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	size_t clen = 0;
	copy = check_read_file(name, &clen);
	ck_assert_uint_eq(clen, len);
	ck_assert(memcmp(copy, orig, 64) == 0);
	ck_assert(memcmp(copy, orig, len) != 0);
	close(fd);
	free(copy);
	free(orig);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kallsyms_lazy");
	TCase *tc = tcase_create("core");
	int status;

	if (!mkdtemp(tmpdir))
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, parses_as_libtraceevent);
	tcase_add_test(tc, parses_proc_kallsyms_as_libtraceevent);
	tcase_add_test(tc, reader_resolves_v7_zstd);
	tcase_add_test(tc, reader_resolves_v6);
	tcase_add_test(tc, header_copy_drops_kallsyms);
	suite_add_tcase(s, tc);
	status = check_run_suite(s);
	check_remove_tree(tmpdir);
	return status;
}
