/* Unit tests of the models' table memory (lib/model/table_mem.c): zeroed small and large
 * tables, huge-page alignment of large ones, and the release of a consumed range (a growth
 * gives its old table back part by part): released entries read as zero, the others keep their
 * values, and the process's resident memory falls by about the released size. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "model/table_mem.h"
#include "check_helpers.h"

/* Resident pages of this process (statm's second field), in bytes; 0 when unknown. */
static uint64_t resident_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * 4096;
}

START_TEST(small_and_large_zeroed)
{
	static const size_t counts[] = { 1, 1000, 100000, 3000000 };

	for (unsigned k = 0; k < 4; k++) {
		uint64_t *p = pcp_table_zalloc(counts[k], sizeof(uint64_t));
		uint64_t nonzero = 0;

		ck_assert_ptr_nonnull(p);
		for (size_t i = 0; i < counts[k]; i++)
			nonzero += p[i] != 0;
		ck_assert_uint_eq(nonzero, 0);
		if (counts[k] * sizeof(uint64_t) >= ((size_t)2 << 20))
			ck_assert_uint_eq((uintptr_t)p % ((size_t)2 << 20), 0);
		p[counts[k] - 1] = 7;   /* the last entry is writable */
		pcp_table_free(p, counts[k], sizeof(uint64_t));
	}
	pcp_table_free(NULL, 5, 8);
	ck_assert_ptr_null(pcp_table_zalloc(SIZE_MAX / 4, 8));
}
END_TEST

START_TEST(release_consumed_range)
{
	const size_t n = 8u << 20;      /* 64 MiB of uint64_t */
	uint64_t *p = pcp_table_zalloc(n, sizeof(uint64_t));
	uint64_t before, after, bad = 0;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = i + 1;
	before = resident_bytes();
	/* entries [1000, n/2 + 3) back: whole pages inside it read as zero afterwards */
	pcp_table_release(p, n, sizeof(uint64_t), 1000, n / 2 + 3);
	after = resident_bytes();
	for (size_t i = 0; i < n; i++) {
		uint64_t page_lo = 1000 * 8 / 4096 + 1, page_hi = (n / 2 + 3) * 8 / 4096;
		uint64_t page = i * 8 / 4096;

		if (page >= page_lo && page < page_hi)
			bad += p[i] != 0;
		else if (i < 1000 || i >= n / 2 + 3)
			bad += p[i] != i + 1;
	}
	ck_assert_uint_eq(bad, 0);
	if (before && after)    /* about 32 MiB fewer resident bytes (allow 4 MiB of other noise) */
		ck_assert_msg(before - after >= (28u << 20), "resident %llu -> %llu",
			      (unsigned long long)before, (unsigned long long)after);
	pcp_table_free(p, n, sizeof(uint64_t));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("table_mem");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, small_and_large_zeroed);
	tcase_add_test(tc, release_consumed_range);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
