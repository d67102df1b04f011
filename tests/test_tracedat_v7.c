/* trace.dat version 7 output of the writer (uncompressed and zstd): the same script built as
 * v6, v7 and v7-zstd reads back to the same records (timestamp, CPU, size, payload, missed-event
 * marks) on both reader paths (libtracecmd, and the direct path that decompresses the chunks
 * itself); CPU data spanning several chunks and a CPU without data; the file's own header and
 * chunk table; bad version/compression combinations are refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event-parse.h>
#include <zstd.h>

#include "pcptrace/error.h"
#include "pcptrace/synth.h"
#include "pcptrace/trace_reader.h"
#include "pcptrace/tracedat.h"

static char tmpdir[] = "/tmp/pcp_tracedat_v7_test.XXXXXX";

static const char *src_dir(void)
{
	const char *s = getenv("PCP_SOURCE_DIR");
	return s ? s : ".";
}

/* A script of n events per CPU on CPUs 0 and 2 of 3 (CPU 1 has no data): many pages, so the
 * compressed CPU data has several chunks (10 pages each). */
static void write_script(const char *path, int n)
{
	FILE *f = fopen(path, "w");
	unsigned long long ts = 1000000000ull;

	ck_assert_ptr_nonnull(f);
	fprintf(f, "cpus 3\ncomm 1200 pcpload\ncomm 1300 kworker/2:1\n");
	for (int i = 0; i < n; i++) {
		ts += (unsigned long long)(i % 7) * 1000 + (i % 500 == 0 ? 5000000000ull : 0);
		fprintf(f, "%llu 0 kmem:mm_page_pcpu_refill common_pid=1200 pfn=%#x order=0 migratetype=1\n",
			ts, 0x10000 + i);
		fprintf(f, "%llu 2 kmem:mm_page_pcpu_drain common_pid=1300 pfn=%#x order=%d migratetype=%d\n",
			ts + 3, 0x10000 + i, i % 3, i % 5);
		if (i % 1000 == 0)
			fprintf(f, "missed 2 7\n");
	}
	fclose(f);
}

static void build_stats(const char *script, const char *out, const char *format,
			struct pcp_synth_stats *st)
{
	struct pcp_synth_opts o = { 0 };
	struct pcp_tdw_params p = { 0 };
	char fmt_dir[1100], msg[512] = "";

	snprintf(fmt_dir, sizeof(fmt_dir), "%s/tests/fixtures/formats", src_dir());
	ck_assert_int_eq(pcp_tdw_parse_format(format, &p), PCP_OK);
	o.formats_dir = fmt_dir;
	o.script_path = script;
	o.out_path = out;
	o.file_version = p.file_version;
	o.compression = p.compression;
	ck_assert_msg(pcp_synth_build(&o, st, msg, sizeof(msg)) == PCP_OK, "%s: %s", out, msg);
}

static void build(const char *script, const char *out, const char *format)
{
	build_stats(script, out, format, NULL);
}

/* Every record of a and b (opened with the given paths) is the same; returns the count. */
static unsigned long long same_records(const char *pa, enum pcp_reader_path ha, const char *pb,
				       enum pcp_reader_path hb)
{
	struct pcp_reader *ra, *rb;
	struct tep_record *a, *b;
	char err[256] = "";
	unsigned long long n = 0;

	ck_assert_msg(pcp_reader_open_path(pa, ha, &ra, err, sizeof(err)) == PCP_OK, "%s: %s", pa, err);
	ck_assert_msg(pcp_reader_open_path(pb, hb, &rb, err, sizeof(err)) == PCP_OK, "%s: %s", pb, err);
	if (ha == PCP_READER_DIRECT)
		ck_assert_int_eq(pcp_reader_direct(ra), 1);
	if (hb == PCP_READER_DIRECT)
		ck_assert_int_eq(pcp_reader_direct(rb), 1);
	if (hb == PCP_READER_LIBTRACECMD)
		ck_assert_int_eq(pcp_reader_direct(rb), 0);
	for (;;) {
		a = pcp_reader_next(ra);
		b = pcp_reader_next(rb);
		if (!a || !b)
			break;
		ck_assert_msg(a->ts == b->ts && a->cpu == b->cpu && a->size == b->size &&
			      a->missed_events == b->missed_events,
			      "%s/%s: record %llu differs: ts %llu/%llu cpu %d/%d size %d/%d missed %lld/%lld",
			      pa, pb, n, a->ts, b->ts, a->cpu, b->cpu, a->size, b->size,
			      (long long)a->missed_events, (long long)b->missed_events);
		ck_assert_msg(!memcmp(a->data, b->data, (size_t)a->size), "%s/%s: record %llu payload differs",
			      pa, pb, n);
		n++;
	}
	ck_assert_msg(!a && !b, "%s/%s: one ends early at record %llu", pa, pb, n);
	ck_assert_int_eq(pcp_reader_status(ra, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_reader_status(rb, err, sizeof(err)), PCP_OK);
	ck_assert_uint_eq(pcp_reader_layout(ra)->nr_cpus, pcp_reader_layout(rb)->nr_cpus);
	for (uint32_t c = 0; c < pcp_reader_layout(ra)->nr_cpus; c++) {
		uint64_t k1, u1, k2, u2;
		pcp_reader_missed(ra, c, &k1, &u1);
		pcp_reader_missed(rb, c, &k2, &u2);
		ck_assert_uint_eq(k1, k2);
		ck_assert_uint_eq(u1, u2);
	}
	pcp_reader_close(ra);
	pcp_reader_close(rb);
	return n;
}

/* v6 (libtracecmd) against format on both paths; returns the record count. */
static unsigned long long check_format(const char *script, const char *name, const char *format,
				       const char *compression)
{
	char v6[1100], vx[1100], err[256];
	struct pcp_reader *r;
	unsigned long long n;

	snprintf(v6, sizeof(v6), "%s/%s-v6.dat", tmpdir, name);
	snprintf(vx, sizeof(vx), "%s/%s-%s.dat", tmpdir, name, format);
	build(script, v6, "v6");
	build(script, vx, format);
	ck_assert_int_eq(pcp_reader_open_path(vx, PCP_READER_AUTO, &r, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_reader_layout(r)->file_version, 7);
	ck_assert_str_eq(pcp_reader_layout(r)->compression, compression);
	pcp_reader_close(r);
	n = same_records(v6, PCP_READER_LIBTRACECMD, vx, PCP_READER_LIBTRACECMD);
	ck_assert_uint_eq(same_records(v6, PCP_READER_LIBTRACECMD, vx, PCP_READER_DIRECT), n);
	return n;
}

static void check_fixture_scripts(const char *format, const char *compression)
{
	static const char *const scripts[] = { "native-lost", "native-nolock", "native-numa", "native-order",
					       "native-overwrite", "native-roundtrip" };
	char path[1100];

	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		snprintf(path, sizeof(path), "%s/tests/fixtures/%s.synth", src_dir(), scripts[i]);
		ck_assert_uint_gt(check_format(path, scripts[i], format, compression), 0);
	}
}

START_TEST(v7_none_same_records)
{
	char script[1100];

	snprintf(script, sizeof(script), "%s/big.synth", tmpdir);
	write_script(script, 20000);
	ck_assert_uint_eq(check_format(script, "big", "v7", "none"), 40000);
	check_fixture_scripts("v7", "none");
}
END_TEST

START_TEST(v7_zstd_same_records)
{
	char script[1100];

	snprintf(script, sizeof(script), "%s/big.synth", tmpdir);
	write_script(script, 20000);
	ck_assert_uint_eq(check_format(script, "big", "v7-zstd", "zstd"), 40000);
	check_fixture_scripts("v7-zstd", "zstd");
}
END_TEST

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The v7-zstd file's own bytes: header, compression header, the options chain to the BUFFER
 * option, and each CPU's chunk table: chunks of whole pages, at most 10, each a zstd frame that
 * decompresses to its declared size; together the pages pcpsynth wrote. */
START_TEST(v7_zstd_layout)
{
	static const unsigned char magic[] = { 0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g', '7', 0 };
	char script[1100], vz[1100];
	struct pcp_synth_stats st;
	unsigned char *f, *buf;
	size_t len, pos;
	uint32_t page, nr_buffer_cpus = 0, max_chunks = 0;
	uint64_t opt, total = 0;
	int found = 0;

	snprintf(script, sizeof(script), "%s/big.synth", tmpdir);
	snprintf(vz, sizeof(vz), "%s/layout-zstd.dat", tmpdir);
	write_script(script, 20000);
	build_stats(script, vz, "v7-zstd", &st);
	f = slurp(vz, &len);
	ck_assert_int_eq(memcmp(f, magic, sizeof(magic)), 0);
	ck_assert_uint_eq(f[13], sizeof(long));
	memcpy(&page, f + 14, 4);
	ck_assert_str_eq((char *)f + 18, "zstd");
	ck_assert_str_eq((char *)f + 23, ZSTD_versionString());
	pos = 23 + strlen((char *)f + 23) + 1;
	memcpy(&opt, f + pos, 8);
	buf = malloc((size_t)page * 10);
	ck_assert_ptr_nonnull(buf);
	for (int sections = 0; opt; sections++) {
		uint16_t id;
		uint32_t size;
		ck_assert_int_lt(sections, 10);
		ck_assert_uint_lt(opt + 16, len);
		ck_assert_uint_eq(f[opt] | f[opt + 1] << 8, 0); /* an options section, not compressed */
		ck_assert_uint_eq(f[opt + 2] | f[opt + 3] << 8, 0);
		pos = opt + 16;
		for (;;) {
			memcpy(&id, f + pos, 2);
			memcpy(&size, f + pos + 2, 4);
			if (!id) {
				ck_assert_uint_eq(size, 8);
				memcpy(&opt, f + pos + 6, 8);
				break;
			}
			if (id == 3) { /* BUFFER: offset, "" name, clock, page size, CPUs */
				const unsigned char *b = f + pos + 6;
				uint32_t nr, bpage;
				found = 1;
				ck_assert_str_eq((const char *)b + 8, "");
				ck_assert_str_eq((const char *)b + 9, "local");
				memcpy(&bpage, b + 15, 4);
				ck_assert_uint_eq(bpage, page);
				memcpy(&nr, b + 19, 4);
				nr_buffer_cpus = nr;
				for (uint32_t i = 0; i < nr; i++) {
					uint32_t cpu, count;
					uint64_t off, dsize, p;
					memcpy(&cpu, b + 23 + 20 * i, 4);
					memcpy(&off, b + 27 + 20 * i, 8);
					memcpy(&dsize, b + 35 + 20 * i, 8);
					ck_assert_uint_ne(cpu, 1); /* CPU 1 has no data: left out */
					ck_assert_uint_eq(off % page, 0);
					ck_assert_uint_le(off + 4 + dsize, len);
					memcpy(&count, f + off, 4);
					if (count > max_chunks)
						max_chunks = count;
					p = off + 4;
					for (uint32_t c = 0; c < count; c++) {
						uint32_t cs, us;
						memcpy(&cs, f + p, 4);
						memcpy(&us, f + p + 4, 4);
						ck_assert_uint_eq(us % page, 0);
						ck_assert_uint_le(us, page * 10);
						ck_assert_uint_eq(ZSTD_decompress(buf, (size_t)page * 10, f + p + 8, cs), us);
						total += us;
						p += 8 + cs;
					}
					ck_assert_uint_eq(p, off + 4 + dsize);
				}
			}
			pos += 6 + size;
		}
	}
	ck_assert_int_eq(found, 1);
	ck_assert_uint_eq(nr_buffer_cpus, 2);
	ck_assert_uint_gt(max_chunks, 1);
	ck_assert_uint_eq(total, st.pages * page);
	free(buf);
	free(f);
}
END_TEST

START_TEST(bad_params_refused)
{
	struct pcp_tdw_params p = { .nr_cpus = 1 };
	struct pcp_tdw *w = (struct pcp_tdw *)1;
	char path[1100];

	snprintf(path, sizeof(path), "%s/bad.dat", tmpdir);
	p.file_version = 6;
	p.compression = "zstd";
	ck_assert_int_eq(pcp_tdw_create(path, &p, &w), PCP_ERR_USAGE);
	ck_assert_ptr_null(w);
	p.file_version = 8;
	p.compression = NULL;
	ck_assert_int_eq(pcp_tdw_create(path, &p, &w), PCP_ERR_USAGE);
	p.file_version = 7;
	p.compression = "lz4";
	ck_assert_int_eq(pcp_tdw_create(path, &p, &w), PCP_ERR_USAGE);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(pcp_tdw_parse_format("v7-zstd", &p), PCP_OK);
	ck_assert_int_eq(p.file_version, 7);
	ck_assert_str_eq(p.compression, "zstd");
	ck_assert_int_eq(pcp_tdw_parse_format("v7", &p), PCP_OK);
	ck_assert_str_eq(p.compression, "none");
	ck_assert_int_eq(pcp_tdw_parse_format("v6", &p), PCP_OK);
	ck_assert_int_eq(p.file_version, 6);
	ck_assert_ptr_null(p.compression);
	ck_assert_int_eq(pcp_tdw_parse_format("zstd", &p), PCP_ERR_USAGE);
	ck_assert_int_eq(pcp_tdw_parse_format(NULL, &p), PCP_ERR_USAGE);
}
END_TEST

/* A file without any CPU data (BUFFER option with no CPUs) is read as empty, with its CPU count. */
START_TEST(no_cpu_data)
{
	const char *fmts[] = { "v7", "v7-zstd" };

	for (int k = 0; k < 2; k++) {
		struct pcp_tdw_params p = { .nr_cpus = 2 };
		struct pcp_tdw *w;
		struct pcp_reader *r;
		char path[1100], hdr[1100], err[256];
		size_t hp_len, he_len;
		char *hp, *he;

		snprintf(path, sizeof(path), "%s/empty-%s.dat", tmpdir, fmts[k]);
		snprintf(hdr, sizeof(hdr), "%s/tests/fixtures/formats/header_page", src_dir());
		hp = (char *)slurp(hdr, &hp_len);
		snprintf(hdr, sizeof(hdr), "%s/tests/fixtures/formats/header_event", src_dir());
		he = (char *)slurp(hdr, &he_len);
		ck_assert_int_eq(pcp_tdw_parse_format(fmts[k], &p), PCP_OK);
		ck_assert_int_eq(pcp_tdw_create(path, &p, &w), PCP_OK);
		ck_assert_int_eq(pcp_tdw_set_header_page(w, hp, hp_len), PCP_OK);
		ck_assert_int_eq(pcp_tdw_set_header_event(w, he, he_len), PCP_OK);
		ck_assert_int_eq(pcp_tdw_set_trace_clock(w, "[mono] local global"), PCP_OK);
		ck_assert_int_eq(pcp_tdw_commit(w), PCP_OK);
		ck_assert_int_eq(pcp_reader_open_path(path, PCP_READER_LIBTRACECMD, &r, err, sizeof(err)), PCP_OK);
		ck_assert_ptr_null(pcp_reader_next(r));
		ck_assert_uint_eq(pcp_reader_layout(r)->nr_cpus, 2);
		pcp_reader_close(r);
		free(hp);
		free(he);
	}
}
END_TEST

static void remove_tmpdir(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

int main(void)
{
	Suite *s = suite_create("tracedat_v7");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (!mkdtemp(tmpdir))
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, v7_none_same_records);
	tcase_add_test(tc, v7_zstd_same_records);
	tcase_add_test(tc, v7_zstd_layout);
	tcase_add_test(tc, bad_params_refused);
	tcase_add_test(tc, no_cpu_data);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_tmpdir();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
