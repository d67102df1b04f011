/* The percpu_stats parser on real snapshots (cat /sys/kernel/debug/percpu_stats on Linux 6.18,
 * tests/fixtures/snapshots/) and on damaged ones. Expected values are read off the files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "meta/percpu_stats.h"
#include "check_helpers.h"

static char *slurp(const char *name, size_t *len)
{
	return check_read_fixture("..", "snapshots", name, len);
}

static int64_t get(const struct pcp_percpu_stats *s, enum pcp_percpu_stats_section sec,
		   int chunk, const char *key)
{
	int64_t v = -999;
	ck_assert_msg(pcp_percpu_stats_get(s, sec, chunk, key, &v), "%s missing", key);
	return v;
}

/* Parses text (copied into an exact-size buffer so ASan sees any overread). */
static int parse_exact(const char *text, size_t len, struct pcp_percpu_stats **out)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, text, len);
	int rc = pcp_percpu_stats_parse(copy, len, out);
	free(copy);
	return rc;
}

START_TEST(real_snapshot)
{
	size_t len;
	char *t = slurp("percpu_stats_before_fork.txt", &len);
	struct pcp_percpu_stats *s;

	ck_assert_int_eq(parse_exact(t, len, &s), PCP_OK);
	ck_assert_int_eq(get(s, PCP_PSTATS_ALLOC_INFO, -1, "unit_size"), 1048576);
	ck_assert_int_eq(get(s, PCP_PSTATS_ALLOC_INFO, -1, "static_size"), 185560);
	ck_assert_int_eq(get(s, PCP_PSTATS_ALLOC_INFO, -1, "alloc_size"), 2097152);
	ck_assert_int_eq(get(s, PCP_PSTATS_GLOBAL, -1, "nr_alloc"), 67028);
	ck_assert_int_eq(get(s, PCP_PSTATS_GLOBAL, -1, "nr_dealloc"), 65552);
	ck_assert_int_eq(get(s, PCP_PSTATS_GLOBAL, -1, "nr_chunks"), 2);
	ck_assert_int_eq(get(s, PCP_PSTATS_GLOBAL, -1, "max_alloc_size"), 4096);
	ck_assert_uint_eq(s->nr_chunks, 2);
	ck_assert_str_eq(s->chunks[0].label, "<- First Chunk");
	ck_assert_str_eq(s->chunks[1].label, "");
	ck_assert_int_eq(get(s, PCP_PSTATS_CHUNK, 0, "nr_alloc"), 522);
	ck_assert_int_eq(get(s, PCP_PSTATS_CHUNK, 0, "free_bytes"), 16);
	ck_assert_int_eq(get(s, PCP_PSTATS_CHUNK, 1, "nr_alloc"), 954);
	/* 6 allocation info + 9 global + 2 chunks x 11 */
	ck_assert_uint_eq(s->nr_entries, 6 + 9 + 2 * 11);
	ck_assert_int_eq(s->entries[0].chunk, -1);
	ck_assert_int_eq(s->entries[6 + 9].chunk, 0);
	ck_assert_int_eq(s->entries[6 + 9 + 11].chunk, 1);
	int64_t v;
	ck_assert_int_eq(pcp_percpu_stats_get(s, PCP_PSTATS_CHUNK, 2, "nr_alloc", &v), 0);
	pcp_percpu_stats_free(s);
	free(t);

	t = slurp("percpu_stats_after_fork.txt", &len);
	ck_assert_int_eq(parse_exact(t, len, &s), PCP_OK);
	ck_assert_int_eq(get(s, PCP_PSTATS_GLOBAL, -1, "nr_alloc"), 67236);
	ck_assert_int_eq(get(s, PCP_PSTATS_GLOBAL, -1, "nr_dealloc"), 65760);
	pcp_percpu_stats_free(s);
	free(t);

	t = slurp("percpu_stats.txt", &len);
	ck_assert_int_eq(parse_exact(t, len, &s), PCP_OK);
	ck_assert_int_eq(get(s, PCP_PSTATS_GLOBAL, -1, "nr_alloc"), 80242);
	ck_assert_int_eq(get(s, PCP_PSTATS_GLOBAL, -1, "nr_dealloc"), 78731);
	pcp_percpu_stats_free(s);
	free(t);
}
END_TEST

START_TEST(damaged_fixture)
{
	size_t len;
	char *t = slurp("percpu_stats_damaged.txt", &len); /* "nr_alloc : 12x4", cut short */
	struct pcp_percpu_stats *s = (void *)1;

	ck_assert_int_eq(parse_exact(t, len, &s), PCP_ERR_BAD_META);
	ck_assert_ptr_null(s);
	free(t);
}
END_TEST

/* Replace the first occurrence of from by to in the real text; parse; expect rc. */
static void expect_edit(const char *from, const char *to, int rc)
{
	size_t len;
	char *t = slurp("percpu_stats_before_fork.txt", &len);
	char *at = strstr(t, from);
	struct pcp_percpu_stats *s;

	ck_assert_msg(at != NULL, "%s not in fixture", from);
	size_t nlen = len - strlen(from) + strlen(to);
	char *n = malloc(nlen + 1);
	size_t pre = (size_t)(at - t);
	memcpy(n, t, pre);
	memcpy(n + pre, to, strlen(to));
	memcpy(n + pre + strlen(to), at + strlen(from), len - pre - strlen(from));
	n[nlen] = '\0';
	int got = parse_exact(n, nlen, &s);
	ck_assert_msg(got == rc, "edit '%s' -> '%s': got %d want %d", from, to, got, rc);
	if (got == PCP_OK)
		pcp_percpu_stats_free(s);
	free(n);
	free(t);
}

START_TEST(damaged_edits)
{
	expect_edit("Percpu Memory Statistics\n", "", PCP_ERR_BAD_META);          /* no title */
	expect_edit("Percpu Memory", "Percpu Memori", PCP_ERR_BAD_META);
	expect_edit("Global Stats:\n", "", PCP_ERR_BAD_META);                     /* section lost */
	expect_edit("Per Chunk Stats:\n", "", PCP_ERR_BAD_META);
	expect_edit("Allocation Info:", "Global Stats:", PCP_ERR_BAD_META);      /* order */
	expect_edit("        67028", " 67028garbage", PCP_ERR_BAD_META);
	expect_edit("        67028", "            ", PCP_ERR_BAD_META);          /* no value */
	expect_edit("        67028", " 99999999999999999999", PCP_ERR_BAD_META);  /* overflow */
	expect_edit("  nr_alloc            :", "  nr_alloc             ", PCP_ERR_BAD_META);
	expect_edit("  nr_alloc            :        67028\n", "", PCP_ERR_BAD_META); /* required */
	expect_edit("  nr_dealloc          :", "  nr_alloc            :", PCP_ERR_BAD_META); /* dup */
	expect_edit("  first_bit           :         3028\n", "", PCP_ERR_BAD_META); /* keys differ */
	expect_edit("  unit_size", "unit_size", PCP_ERR_BAD_META);                /* not indented */
	expect_edit("\nChunk:\n", "\nChunk:\nstray text\n", PCP_ERR_BAD_META);
	expect_edit("  dyn_size ", "  dyn\001size ", PCP_ERR_BAD_META);
	/* not damage: other chunk headers of newer kernels, negative values, an extra key in
	 * the global section, CRLF-free trailing blanks */
	expect_edit("Chunk:\n", "Chunk (sidelined):\n", PCP_OK);
	expect_edit("Chunk: <- First Chunk\n", "Chunk: <- Reserved Chunk\n", PCP_OK);
	expect_edit("        67028", "       -67028", PCP_OK);
	expect_edit("  nr_chunks ", "  nr_future_key      :            7\n  nr_chunks ", PCP_OK);
	/* a whole chunk missing: fewer chunks than the global nr_chunks */
	expect_edit("  nr_chunks           :            2", "  nr_chunks           :            3",
		    PCP_ERR_BAD_META);
}
END_TEST

START_TEST(nul_and_empty)
{
	size_t len;
	char *t = slurp("percpu_stats_before_fork.txt", &len);
	struct pcp_percpu_stats *s;

	t[100] = '\0';
	ck_assert_int_eq(parse_exact(t, len, &s), PCP_ERR_BAD_META);
	ck_assert_int_eq(parse_exact("", 0, &s), PCP_ERR_BAD_META);
	ck_assert_int_eq(parse_exact("\n\n", 2, &s), PCP_ERR_BAD_META);
	ck_assert_int_eq(pcp_percpu_stats_parse(NULL, 0, &s), PCP_ERR_BAD_META);
	ck_assert_int_eq(parse_exact("{\"json\": 1}", 11, &s), PCP_ERR_BAD_META);
	free(t);
}
END_TEST

/* Every prefix of a real snapshot: damage is reported, except a cut inside the last line
 * "  cur_max_alloc       :         2288\n\n" after its first digit, which cannot be seen:
 * the prefixes ending "2", "22", "228", "2288", "2288\n" parse (5 of them), all with both
 * chunks complete. */
START_TEST(every_truncation)
{
	size_t len;
	char *t = slurp("percpu_stats_before_fork.txt", &len);
	size_t ok = 0;

	for (size_t cut = 0; cut < len; cut++) {
		struct pcp_percpu_stats *s;
		int rc = parse_exact(t, cut, &s);
		ck_assert(rc == PCP_OK || rc == PCP_ERR_BAD_META);
		if (rc != PCP_OK)
			continue;
		ok++;
		ck_assert_uint_ge(cut, len - 5);
		ck_assert_uint_eq(s->nr_chunks, 2);
		ck_assert_uint_eq(s->nr_entries, 6 + 9 + 2 * 11);
		pcp_percpu_stats_free(s);
	}
	ck_assert_uint_eq(ok, 5);
	free(t);
}
END_TEST

START_TEST(no_final_newline)
{
	const char *txt = "Percpu Memory Statistics\nAllocation Info:\n  unit_size : 1\n"
			  "Global Stats:\n  nr_alloc : 5\n  nr_dealloc : 3\n"
			  "Per Chunk Stats:\nChunk: <- First Chunk\n  nr_alloc : 2";
	struct pcp_percpu_stats *s;

	ck_assert_int_eq(parse_exact(txt, strlen(txt), &s), PCP_OK);
	ck_assert_int_eq(get(s, PCP_PSTATS_CHUNK, 0, "nr_alloc"), 2);
	ck_assert_int_eq(get(s, PCP_PSTATS_GLOBAL, -1, "nr_alloc"), 5);
	pcp_percpu_stats_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("percpu_stats");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, real_snapshot);
	tcase_add_test(tc, damaged_fixture);
	tcase_add_test(tc, damaged_edits);
	tcase_add_test(tc, nul_and_empty);
	tcase_add_test(tc, every_truncation);
	tcase_add_test(tc, no_final_newline);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
