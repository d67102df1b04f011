/* The direct ring-buffer path against libtracecmd, record by record, on every fixture: same
 * records (timestamp, CPU, size, payload bytes), same order, same missed-event marks. And a
 * damaged compressed chunk is PCP_ERR_CORRUPT on the direct path. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event-parse.h>
#include "common/error.h"
#include "tracedat/trace_reader.h"
#include "check_helpers.h"

static char tmpdir[] = "/tmp/pcp_fast_reader_test.XXXXXX";

static const char *src_dir(void)
{
	return check_source_dir(".");
}

static const char *fixture(const char *name)
{
	return check_fixture_path(".", NULL, name);
}

/* Both paths over path; returns the number of records. */
static unsigned long long compare_paths(const char *path)
{
	struct pcp_reader *slow, *fast;
	struct tep_record *a, *b;
	char err[256] = "";
	unsigned long long n = 0;

	ck_assert_msg(pcp_reader_open_path(path, PCP_READER_LIBTRACECMD, &slow, err, sizeof(err)) == PCP_OK,
		      "%s: %s", path, err);
	ck_assert_msg(pcp_reader_open_path(path, PCP_READER_DIRECT, &fast, err, sizeof(err)) == PCP_OK,
		      "%s: direct path refused: %s", path, err);
	ck_assert_int_eq(pcp_reader_direct(fast), 1);
	ck_assert_int_eq(pcp_reader_direct(slow), 0);
	for (;;) {
		a = pcp_reader_next(slow);
		b = pcp_reader_next(fast);
		if (!a || !b)
			break;
		ck_assert_msg(a->ts == b->ts && a->cpu == b->cpu && a->size == b->size &&
			      a->missed_events == b->missed_events,
			      "%s: record %llu differs: ts %llu/%llu cpu %d/%d size %d/%d missed %lld/%lld", path, n,
			      a->ts, b->ts, a->cpu, b->cpu, a->size, b->size, (long long)a->missed_events, (long long)b->missed_events);
		ck_assert_msg(!memcmp(a->data, b->data, (size_t)a->size), "%s: record %llu payload differs", path, n);
		n++;
	}
	ck_assert_msg(!a && !b, "%s: one path ends early at record %llu (%s)", path, n, a ? "direct" : "libtracecmd");
	ck_assert_int_eq(pcp_reader_status(fast, err, sizeof(err)), PCP_OK);
	ck_assert_uint_eq(pcp_reader_records(slow), pcp_reader_records(fast));
	for (uint32_t c = 0; c < pcp_reader_layout(slow)->nr_cpus; c++) {
		uint64_t k1, u1, k2, u2;
		pcp_reader_missed(slow, c, &k1, &u1);
		pcp_reader_missed(fast, c, &k2, &u2);
		ck_assert_uint_eq(k1, k2);
		ck_assert_uint_eq(u1, u2);
	}
	pcp_reader_close(slow);
	pcp_reader_close(fast);
	return n;
}

START_TEST(same_v7_zstd)
{
	ck_assert_uint_gt(compare_paths(fixture("fallback-basic.dat")), 1000);
}
END_TEST

START_TEST(same_v6)
{
	char path[1100], cmd[2400];
	snprintf(path, sizeof(path), "%s/v6.dat", tmpdir);
	snprintf(cmd, sizeof(cmd), "xz -dc '%s' > '%s'", fixture("fallback-v6.dat.xz"), path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_uint_gt(compare_paths(path), 1000);
}
END_TEST

START_TEST(same_overrun)
{
	struct pcp_reader *r;
	char err[256];
	uint64_t k, u, lost = 0;

	compare_paths(fixture("overrun.dat"));
	ck_assert_int_eq(pcp_reader_open_path(fixture("overrun.dat"), PCP_READER_DIRECT, &r, err, sizeof(err)), PCP_OK);
	while (pcp_reader_next(r))
		;
	for (uint32_t c = 0; c < pcp_reader_layout(r)->nr_cpus; c++) {
		pcp_reader_missed(r, c, &k, &u);
		lost += k + u;
	}
	ck_assert_msg(lost > 0, "overrun.dat has lost events");
	pcp_reader_close(r);
}
END_TEST

START_TEST(same_percpu_fork)
{
	ck_assert_uint_gt(compare_paths(fixture("percpu-fork.dat")), 0);
}
END_TEST

/* TSC2NSEC: the direct path converts cycles to ns as libtracecmd does (compare_paths), before
 * merging. The first record of native-tsc2nsec is at 13,000,000,000 cycles (above 2^32: both
 * halves of the conversion) with multiplier 6452775, shift 24:
 * (lo * mult >> 24) + (hi * mult << 8) = 4,999,999,701 ns (python: trace-cmd report agrees). */
START_TEST(tsc2nsec_converted)
{
	const char *build = getenv("PCP_BUILD_DIR");
	struct pcp_reader *r;
	struct tep_record *rec;
	char out[1200], cmd[4000], err[256] = "";

	ck_assert_ptr_nonnull(build);
	snprintf(out, sizeof(out), "%s/tsc.dat", tmpdir);
	snprintf(cmd, sizeof(cmd), "'%s/pcpsynth' -q -o '%s' --formats '%s/tests/fixtures/formats' '%s'",
		 build, out, src_dir(), fixture("native-tsc2nsec.synth"));
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
	ck_assert_int_eq(pcp_reader_open_path(out, PCP_READER_AUTO, &r, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_reader_direct(r), 1);   /* no longer left to libtracecmd */
	ck_assert_uint_eq(pcp_reader_layout(r)->tsc2nsec_mult, 6452775);
	ck_assert_uint_eq(pcp_reader_layout(r)->tsc2nsec_shift, 24);
	rec = pcp_reader_next(r);
	ck_assert_ptr_nonnull(rec);
	ck_assert_uint_eq(rec->ts, 4999999701ULL);
	pcp_reader_close(r);
}
END_TEST

/* A TSC2NSEC shift above 32 makes libtracecmd's conversion undefined (a shift by a negative
 * count): refused as corrupt before either path reads a record. */
START_TEST(tsc2nsec_bad_shift_refused)
{
	const char *build = getenv("PCP_BUILD_DIR");
	static const unsigned char option[8] = { 0x27, 0x76, 0x62, 0x00, 24, 0, 0, 0 }; /* 6452775, 24 */
	struct pcp_reader *r = NULL;
	char out[1200], cmd[4000], err[256] = "";
	unsigned char *buf;
	long size, at = -1;
	FILE *f;

	ck_assert_ptr_nonnull(build);
	snprintf(out, sizeof(out), "%s/tsc-bad.dat", tmpdir);
	snprintf(cmd, sizeof(cmd), "'%s/pcpsynth' -q -o '%s' --formats '%s/tests/fixtures/formats' '%s'",
		 build, out, src_dir(), fixture("native-tsc2nsec.synth"));
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
	f = fopen(out, "r+b");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	buf = malloc((size_t)size);
	ck_assert_ptr_nonnull(buf);
	fseek(f, 0, SEEK_SET);
	ck_assert_int_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	for (long i = 0; i + 8 <= size && at < 0; i++)
		if (!memcmp(buf + i, option, sizeof(option)))
			at = i;
	ck_assert_msg(at > 0, "no TSC2NSEC option in %s", out);
	fseek(f, at + 4, SEEK_SET);
	fputc(40, f);   /* shift 40 */
	fclose(f);
	free(buf);
	ck_assert_int_eq(pcp_reader_open_path(out, PCP_READER_AUTO, &r, err, sizeof(err)), PCP_ERR_CORRUPT);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err, "TSC2NSEC option with shift 40"), "%s", err);
}
END_TEST

START_TEST(same_synthetic)
{
	static const char *const scripts[] = { "native-lost", "native-nolock", "native-numa", "native-order",
					       "native-overwrite", "native-roundtrip",
					       "native-tsc2nsec", "native-counter" };
	const char *build = getenv("PCP_BUILD_DIR");
	char out[1200], cmd[4000];

	ck_assert_ptr_nonnull(build);
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		snprintf(out, sizeof(out), "%s/%s.dat", tmpdir, scripts[i]);
		snprintf(cmd, sizeof(cmd), "'%s/pcpsynth' -q -o '%s' --formats '%s/tests/fixtures/formats' '%s'",
			 build, out, src_dir(), fixture(strcat(strcpy((char[64]){ 0 }, scripts[i]), ".synth")));
		ck_assert_msg(system(cmd) == 0, "%s", cmd);
		ck_assert_uint_gt(compare_paths(out), 0);
	}
}
END_TEST

/* Damages the header of the last zstd frame that follows a chunk header (compressed size,
 * uncompressed size in whole pages): CPU data, not a metadata section. */
static void damage_last_chunk(const char *path)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	FILE *f = fopen(path, "r+b");
	unsigned char *buf;
	long size, at = -1;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	buf = malloc((size_t)size);
	ck_assert_ptr_nonnull(buf);
	fseek(f, 0, SEEK_SET);
	ck_assert_int_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	for (long i = 8; i + 8 < size; i++) {
		uint32_t csize, usize;
		if (memcmp(buf + i, magic, 4))
			continue;
		memcpy(&csize, buf + i - 8, 4);
		memcpy(&usize, buf + i - 4, 4);
		if (usize && usize % 4096 == 0 && csize > 8 && csize <= (uint32_t)(size - i))
			at = i;
	}
	ck_assert_msg(at > 0, "no compressed CPU chunk found in %s", path);
	/* frame header descriptor with its reserved bit set: no decoder accepts it */
	fseek(f, at + 4, SEEK_SET);
	fputc(0xff, f);
	fclose(f);
	free(buf);
}

/* Rewind: the second pass gives the same records (count, first and last timestamp, lost
 * events) as the first; the libtracecmd path says it cannot rewind. */
START_TEST(rewind_restarts)
{
	struct pcp_reader *r;
	struct tep_record *rec;
	char err[256];
	unsigned long long n[2] = { 0, 0 }, first[2] = { 0, 0 }, last[2] = { 0, 0 };
	uint64_t k, u, lost[2] = { 0, 0 };

	ck_assert_int_eq(pcp_reader_open_path(fixture("overrun.dat"), PCP_READER_DIRECT, &r, err,
					      sizeof(err)), PCP_OK);
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			ck_assert_int_eq(pcp_reader_rewind(r, err, sizeof(err)), PCP_OK);
		while ((rec = pcp_reader_next(r))) {
			if (!n[pass]++)
				first[pass] = rec->ts;
			last[pass] = rec->ts;
		}
		for (uint32_t c = 0; c < pcp_reader_layout(r)->nr_cpus; c++) {
			pcp_reader_missed(r, c, &k, &u);
			lost[pass] += k;
		}
		ck_assert_uint_eq(pcp_reader_records(r), n[pass]);
	}
	ck_assert_uint_gt(n[0], 100);
	ck_assert_uint_eq(n[0], n[1]);
	ck_assert_uint_eq(first[0], first[1]);
	ck_assert_uint_eq(last[0], last[1]);
	ck_assert_uint_gt(lost[0], 0);
	ck_assert_uint_eq(lost[0], lost[1]);
	pcp_reader_close(r);

	ck_assert_int_eq(pcp_reader_open_path(fixture("overrun.dat"), PCP_READER_LIBTRACECMD, &r, err,
					      sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_reader_rewind(r, err, sizeof(err)), PCP_ERR_MODE);
	pcp_reader_close(r);
}
END_TEST

START_TEST(damaged_chunk_is_corrupt)
{
	struct pcp_reader *r;
	char path[1100], cmd[2400], err[256] = "";
	int rc;

	snprintf(path, sizeof(path), "%s/damaged.dat", tmpdir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fixture("fallback-basic.dat"), path);
	ck_assert_int_eq(system(cmd), 0);
	damage_last_chunk(path);
	rc = pcp_reader_open(path, &r, err, sizeof(err));
	if (rc == PCP_OK) {
		ck_assert_int_eq(pcp_reader_direct(r), 1);
		while (pcp_reader_next(r))
			;
		rc = pcp_reader_status(r, err, sizeof(err));
		pcp_reader_close(r);
	}
	ck_assert_msg(rc == PCP_ERR_CORRUPT, "got %d (%s)", rc, err);
	ck_assert_msg(strstr(err, "chunk") != NULL, "message: %s", err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fast_reader");
	TCase *tc = tcase_create("core");
	int status;

	if (!mkdtemp(tmpdir))
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, same_v7_zstd);
	tcase_add_test(tc, same_v6);
	tcase_add_test(tc, same_overrun);
	tcase_add_test(tc, same_percpu_fork);
	tcase_add_test(tc, same_synthetic);
	tcase_add_test(tc, tsc2nsec_converted);
	tcase_add_test(tc, tsc2nsec_bad_shift_refused);
	tcase_add_test(tc, rewind_restarts);
	tcase_add_test(tc, damaged_chunk_is_corrupt);
	suite_add_tcase(s, tc);
	status = check_run_suite(s);
	check_remove_tree(tmpdir);
	return status;
}
