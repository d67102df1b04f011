/* trace.dat version 7 output of the writer (uncompressed, zstd, zlib): the same script built as
 * v6, v7 and v7-zstd reads back to the same records (timestamp, CPU, size, payload, missed-event
 * marks) on both reader paths (libtracecmd, and the direct path that decompresses the chunks
 * itself); CPU data spanning several chunks and a CPU without data; the file's own header and
 * chunk table; bad version/compression combinations are refused.
 * v7-zlib: libtracecmd 3.1.6 as packaged here has no zlib (trace-cmd list -c: zstd only) and
 * refuses the file's header, so the reader cannot open it: that must be a clear error naming
 * zlib. The direct decoder's zlib path (ringbuf_decode.c) is checked on its own, over the CPU
 * sections of the file's BUFFER option, against the v6 file's records; and whichever the
 * libtracecmd, a damaged zlib chunk is PCP_ERR_CORRUPT. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event-parse.h>
#include <zlib.h>
#include <zstd.h>

#include "common/error.h"
#include "tracedat/ringbuf_decode.h"
#include "synth/synth.h"
#include "tracedat/trace_reader.h"
#include "tracedat/tracedat.h"
#include "tracedat/tracedat_format.h"

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

/* Decompresses one block as the format's plugin does; the decompressed size or -1. */
typedef long (*decompress_fn)(void *dst, size_t cap, const void *src, size_t n);

static long zstd_block(void *dst, size_t cap, const void *src, size_t n)
{
	size_t got = ZSTD_decompress(dst, cap, src, n);
	return ZSTD_isError(got) ? -1 : (long)got;
}

static long zlib_block(void *dst, size_t cap, const void *src, size_t n)
{
	uLongf got = (uLongf)cap;
	return uncompress(dst, &got, src, (uLong)n) == Z_OK ? (long)got : -1;
}

/* The BUFFER option's data in a v7 file f (options sections chained from the file header), or
 * NULL; *opt_sections gets the options sections walked. */
static const unsigned char *buffer_option(const unsigned char *f, size_t len, int *opt_sections)
{
	size_t pos = 18 + strlen((const char *)f + 18) + 1;   /* after the compression name */
	const unsigned char *found = NULL;
	uint64_t opt;

	pos += strlen((const char *)f + pos) + 1;              /* and its version */
	memcpy(&opt, f + pos, 8);
	*opt_sections = 0;
	for (int sections = 0; opt; sections++) {
		uint16_t id;
		uint32_t size;
		ck_assert_int_lt(sections, 10);
		ck_assert_uint_lt(opt + 16, len);
		ck_assert_uint_eq(f[opt] | f[opt + 1] << 8, PCP_TRACEDAT_SEC_OPTIONS);
		ck_assert_uint_eq(f[opt + 2] | f[opt + 3] << 8, 0); /* not compressed */
		(*opt_sections)++;
		pos = opt + 16;
		for (;;) {
			memcpy(&id, f + pos, 2);
			memcpy(&size, f + pos + 2, 4);
			ck_assert_uint_le(pos + 6 + size, len);
			if (id == PCP_TRACEDAT_OPT_DONE) {
				ck_assert_uint_eq(size, 8);
				memcpy(&opt, f + pos + 6, 8);
				break;
			}
			if (id == PCP_TRACEDAT_OPT_BUFFER)
				found = f + pos + 6;
			pos += 6 + size;
		}
	}
	return found;
}

/* The CPU sections the BUFFER option of f declares, for the direct decoder. Returns their count. */
static size_t buffer_sections(const unsigned char *f, size_t len, struct pcp_rbdec_section *secs,
			      size_t max)
{
	int nopt;
	const unsigned char *b = buffer_option(f, len, &nopt);
	uint32_t nr;

	ck_assert_ptr_nonnull(b);
	memcpy(&nr, b + 19, 4);
	ck_assert_uint_le(nr, max);
	for (uint32_t i = 0; i < nr; i++) {
		memcpy(&secs[i].cpu, b + 23 + 20 * i, 4);
		memcpy(&secs[i].offset, b + 27 + 20 * i, 8);
		memcpy(&secs[i].size, b + 35 + 20 * i, 8);
	}
	return nr;
}

/* A v7 compressed file's own bytes: header with the compression name and library version,
 * the metadata sections (each flagged compressed, one block that decompresses to its declared
 * size; the first holds header_page), the options chain to the BUFFER option, and each CPU's
 * chunk table: chunks of whole pages, at most 10, each a block that decompresses to its
 * declared size; together the pages pcpsynth wrote. */
static void check_layout(const char *format, const char *name, const char *version, decompress_fn dec)
{
	/* the man page's bytes, deliberately not PCP_TRACEDAT_MAGIC: a check of that definition */
	static const unsigned char magic[] = { 0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g', '7', 0 };
	char script[1100], vz[1100];
	struct pcp_synth_stats st;
	unsigned char *f, *buf, *meta;
	const unsigned char *b;
	size_t len, pos;
	uint32_t page, nr, bpage, max_chunks = 0, meta_sections = 0;
	uint64_t opt, total = 0;
	int nopt;

	snprintf(script, sizeof(script), "%s/big.synth", tmpdir);
	snprintf(vz, sizeof(vz), "%s/layout-%s.dat", tmpdir, format);
	write_script(script, 20000);
	build_stats(script, vz, format, &st);
	f = slurp(vz, &len);
	ck_assert_int_eq(memcmp(f, magic, sizeof(magic)), 0);
	ck_assert_uint_eq(f[13], sizeof(long));
	memcpy(&page, f + 14, 4);
	ck_assert_str_eq((char *)f + 18, name);
	pos = 18 + strlen(name) + 1;
	ck_assert_str_eq((char *)f + pos, version);
	buf = malloc((size_t)page * 10);
	ck_assert_ptr_nonnull(buf);

	/* Metadata sections: the offsets in the second options section (header info .. cmdlines). */
	pos += strlen(version) + 1;
	memcpy(&opt, f + pos, 8);
	for (int sec = 0; opt && sec < 10; sec++) {
		uint64_t next = 0;
		pos = opt + 16;
		for (;;) {
			uint16_t id;
			uint32_t size;
			memcpy(&id, f + pos, 2);
			memcpy(&size, f + pos + 2, 4);
			if (id == PCP_TRACEDAT_OPT_DONE) {
				memcpy(&next, f + pos + 6, 8);
				break;
			}
			if (id >= PCP_TRACEDAT_OPT_HEADER_INFO && id <= PCP_TRACEDAT_OPT_CMDLINES) {
				uint64_t soff, ssize;
				uint32_t cs, us;
				long got;
				memcpy(&soff, f + pos + 6, 8);
				ck_assert_uint_eq(f[soff] | f[soff + 1] << 8, id);
				ck_assert_uint_eq(f[soff + 2] | f[soff + 3] << 8, PCP_TRACEDAT_SEC_FLAG_COMPRESSED);
				memcpy(&ssize, f + soff + 8, 8);
				memcpy(&cs, f + soff + 16, 4);
				memcpy(&us, f + soff + 20, 4);
				ck_assert_uint_eq(ssize, 8 + (uint64_t)cs);
				meta = malloc(us ? us : 1);
				ck_assert_ptr_nonnull(meta);
				got = dec(meta, us, f + soff + 24, cs);
				ck_assert_int_eq(got, (long)us);
				if (id == PCP_TRACEDAT_SEC_HEADER_INFO)
					ck_assert_int_eq(memcmp(meta, "header_page", 12), 0);
				free(meta);
				meta_sections++;
			}
			pos += 6 + size;
		}
		opt = next;
	}
	ck_assert_uint_eq(meta_sections, 6);

	b = buffer_option(f, len, &nopt);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(nopt, 3);
	ck_assert_str_eq((const char *)b + 8, "");
	ck_assert_str_eq((const char *)b + 9, "local");
	memcpy(&bpage, b + 15, 4);
	ck_assert_uint_eq(bpage, page);
	memcpy(&nr, b + 19, 4);
	ck_assert_uint_eq(nr, 2);
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
			ck_assert_int_eq(dec(buf, (size_t)page * 10, f + p + 8, cs), (long)us);
			total += us;
			p += 8 + cs;
		}
		ck_assert_uint_eq(p, off + 4 + dsize);
	}
	ck_assert_uint_gt(max_chunks, 1);
	ck_assert_uint_eq(total, st.pages * page);
	free(buf);
	free(f);
}

START_TEST(v7_zstd_layout)
{
	check_layout("v7-zstd", "zstd", ZSTD_versionString(), zstd_block);
}
END_TEST

START_TEST(v7_zlib_layout)
{
	check_layout("v7-zlib", "zlib", zlibVersion(), zlib_block);
}
END_TEST

/* The direct decoder over path's BUFFER sections (compression as the file says) against the
 * records of the v6 file v6 (direct path): ts, CPU, size, payload, missed marks, per-CPU lost
 * counts. Returns the record count. */
static unsigned long long decoder_same_as_v6(const char *v6, const char *path, const char *compression)
{
	struct pcp_rbdec_section secs[16];
	struct pcp_rbdec_params p = { 0 };
	struct pcp_tracedat_layout lay;
	struct pcp_reader *r;
	struct pcp_rbdec *d;
	struct tep_record *a, *b;
	uint64_t known[16] = { 0 }, unknown[16] = { 0 };
	unsigned long long n = 0;
	unsigned char *f;
	size_t len, nsec;
	char err[256] = "";
	FILE *fp;

	ck_assert_msg(pcp_tracedat_check(path, &lay, err, sizeof(err)) == PCP_OK, "%s: %s", path, err);
	ck_assert_str_eq(lay.compression, compression);
	f = slurp(path, &len);
	nsec = buffer_sections(f, len, secs, 16);
	ck_assert_msg(pcp_reader_open_path(v6, PCP_READER_DIRECT, &r, err, sizeof(err)) == PCP_OK, "%s: %s", v6, err);
	fp = fopen(path, "rb");
	ck_assert_ptr_nonnull(fp);
	p.fd = fileno(fp);
	p.file_size = len;
	memcpy(&p.page_size, f + 14, 4);
	p.long_size = tep_get_header_page_size(pcp_reader_tep(r)); /* the same header_page text */
	p.big_endian = tep_is_file_bigendian(pcp_reader_tep(r));
	p.old_format = tep_is_old_format(pcp_reader_tep(r));
	p.compression = compression;
	ck_assert_msg(pcp_rbdec_open(&p, secs, nsec, &d, err, sizeof(err)) == PCP_OK, "%s: %s", path, err);
	for (;;) {
		a = pcp_reader_next(r);
		b = pcp_rbdec_next(d);
		if (!a || !b)
			break;
		ck_assert_msg(a->ts == b->ts && a->cpu == b->cpu && a->size == b->size &&
			      a->missed_events == b->missed_events,
			      "%s: record %llu differs from v6: ts %llu/%llu cpu %d/%d size %d/%d missed %lld/%lld",
			      path, n, a->ts, b->ts, a->cpu, b->cpu, a->size, b->size,
			      (long long)a->missed_events, (long long)b->missed_events);
		ck_assert_msg(!memcmp(a->data, b->data, (size_t)a->size), "%s: record %llu payload differs", path, n);
		ck_assert_int_lt(b->cpu, 16);
		if (b->missed_events > 0)
			known[b->cpu] += (uint64_t)b->missed_events;
		else if (b->missed_events < 0)
			unknown[b->cpu]++;
		n++;
	}
	ck_assert_msg(!a && !b, "%s: one ends early at record %llu", path, n);
	ck_assert_msg(pcp_rbdec_status(d, err, sizeof(err)) == PCP_OK, "%s: %s", path, err);
	ck_assert_int_eq(pcp_reader_status(r, err, sizeof(err)), PCP_OK);
	for (uint32_t c = 0; c < 16; c++) {
		uint64_t k, u;
		pcp_reader_missed(r, c, &k, &u);
		ck_assert_uint_eq(known[c], k);
		ck_assert_uint_eq(unknown[c], u);
	}
	pcp_rbdec_close(d);
	pcp_reader_close(r);
	fclose(fp);
	free(f);
	return n;
}

/* v7-zlib of the same scripts as v6: the decoder's zlib path gives v6's records; the same
 * harness over v7-zstd agrees with it (and the reader's own direct path is checked on v7-zstd
 * above), so the section walk here is the reader's. The reader itself: if libtracecmd opens the
 * file, its direct path gives v6's records too; if not, a CORRUPT error naming zlib. */
static unsigned long long check_zlib(const char *script, const char *name)
{
	char v6[1100], vz[1100], vs[1100], err[256] = "";
	struct pcp_reader *r = (struct pcp_reader *)1;
	unsigned long long n;
	int rc;

	snprintf(v6, sizeof(v6), "%s/%s-v6.dat", tmpdir, name);
	snprintf(vz, sizeof(vz), "%s/%s-v7-zlib.dat", tmpdir, name);
	snprintf(vs, sizeof(vs), "%s/%s-v7-zstd.dat", tmpdir, name);
	build(script, v6, "v6");
	build(script, vz, "v7-zlib");
	build(script, vs, "v7-zstd");
	n = decoder_same_as_v6(v6, vz, "zlib");
	ck_assert_uint_eq(decoder_same_as_v6(v6, vs, "zstd"), n);
	rc = pcp_reader_open_path(vz, PCP_READER_DIRECT, &r, err, sizeof(err));
	if (rc == PCP_OK) {
		pcp_reader_close(r);
		ck_assert_uint_eq(same_records(v6, PCP_READER_DIRECT, vz, PCP_READER_DIRECT), n);
	} else {
		ck_assert_msg(rc == PCP_ERR_CORRUPT && strstr(err, "zlib compression"), "%s: %d %s", vz, rc, err);
		ck_assert_ptr_null(r);
		r = (struct pcp_reader *)1;
		ck_assert_int_eq(pcp_reader_open_path(vz, PCP_READER_AUTO, &r, err, sizeof(err)), PCP_ERR_CORRUPT);
		ck_assert_ptr_null(r);
		ck_assert_ptr_nonnull(strstr(err, "zlib compression"));
	}
	return n;
}

START_TEST(v7_zlib_same_records)
{
	static const char *const scripts[] = { "native-lost", "native-nolock", "native-numa", "native-order",
					       "native-overwrite", "native-roundtrip" };
	char path[1100];

	snprintf(path, sizeof(path), "%s/big.synth", tmpdir);
	write_script(path, 20000);
	ck_assert_uint_eq(check_zlib(path, "big"), 40000);
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		snprintf(path, sizeof(path), "%s/tests/fixtures/%s.synth", src_dir(), scripts[i]);
		ck_assert_uint_gt(check_zlib(path, scripts[i]), 0);
	}
}
END_TEST

/* A damaged zlib chunk: the layout still holds (chunk table intact), the decoder stops with
 * PCP_ERR_CORRUPT naming the chunk, after fewer records than the intact file; a damaged chunk
 * table is PCP_ERR_CORRUPT at the layout check, before libtracecmd. */
START_TEST(v7_zlib_damaged_chunk)
{
	char script[1100], vz[1100], bad[1100], err[256] = "";
	struct pcp_rbdec_section secs[16];
	struct pcp_rbdec_params p = { 0 };
	struct pcp_tracedat_layout lay;
	struct pcp_reader *r;
	struct pcp_rbdec *d;
	unsigned char *f;
	size_t len, nsec;
	uint32_t cs;
	uint64_t chunk2;
	unsigned long long n = 0;
	FILE *fp;

	snprintf(script, sizeof(script), "%s/big.synth", tmpdir);
	snprintf(vz, sizeof(vz), "%s/damaged-src.dat", tmpdir);
	snprintf(bad, sizeof(bad), "%s/damaged-zlib.dat", tmpdir);
	write_script(script, 20000);
	build(script, vz, "v7-zlib");
	f = slurp(vz, &len);
	nsec = buffer_sections(f, len, secs, 16);
	ck_assert_uint_eq(nsec, 2);
	/* the second chunk of CPU 0: flip a byte in the middle of its deflate data */
	memcpy(&cs, f + secs[0].offset + 4, 4);
	chunk2 = secs[0].offset + 4 + 8 + cs;
	memcpy(&cs, f + chunk2, 4);
	ck_assert_uint_gt(cs, 16);
	f[chunk2 + 8 + cs / 2] ^= 0x5a;
	fp = fopen(bad, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(f, 1, len, fp), len);
	fclose(fp);

	ck_assert_msg(pcp_tracedat_check(bad, &lay, err, sizeof(err)) == PCP_OK, "%s", err);
	fp = fopen(bad, "rb");
	ck_assert_ptr_nonnull(fp);
	p.fd = fileno(fp);
	p.file_size = len;
	memcpy(&p.page_size, f + 14, 4);
	p.long_size = 8;   /* the fixtures' header_page: commit is 8 bytes */
	p.compression = "zlib";
	/* the first chunk of each CPU is decompressed at open: the damaged second one is not */
	ck_assert_msg(pcp_rbdec_open(&p, secs, nsec, &d, err, sizeof(err)) == PCP_OK, "%s", err);
	while (pcp_rbdec_next(d))
		n++;
	ck_assert_int_eq(pcp_rbdec_status(d, err, sizeof(err)), PCP_ERR_CORRUPT);
	ck_assert_msg(strstr(err, "CPU 0") && strstr(err, "does not decompress"), "%s", err);
	ck_assert_uint_lt(n, 40000);
	pcp_rbdec_close(d);
	fclose(fp);

	/* the reader: CORRUPT either way (damaged chunk, or libtracecmd without zlib) */
	r = (struct pcp_reader *)1;
	{
		int rc = pcp_reader_open_path(bad, PCP_READER_AUTO, &r, err, sizeof(err));
		if (rc == PCP_OK) {
			while (pcp_reader_next(r))
				;
			rc = pcp_reader_status(r, err, sizeof(err));
			pcp_reader_close(r);
		}
		ck_assert_msg(rc == PCP_ERR_CORRUPT, "%s: %d %s", bad, rc, err);
	}

	/* a chunk count far beyond the section: the layout check refuses it */
	{
		uint32_t huge = 0x7fffffff;
		memcpy(f + secs[0].offset, &huge, 4);
		fp = fopen(bad, "wb");
		ck_assert_ptr_nonnull(fp);
		ck_assert_uint_eq(fwrite(f, 1, len, fp), len);
		fclose(fp);
		ck_assert_int_eq(pcp_tracedat_check(bad, &lay, err, sizeof(err)), PCP_ERR_CORRUPT);
		ck_assert_ptr_nonnull(strstr(err, "damaged chunk table"));
		ck_assert_int_eq(pcp_reader_open_path(bad, PCP_READER_DIRECT, &r, err, sizeof(err)), PCP_ERR_CORRUPT);
		ck_assert_ptr_nonnull(strstr(err, "damaged chunk table"));
	}
	free(f);
}
END_TEST

/* Helper mode (pcpanalyze -j 2 with the lifecycle thread): batches decoded ahead by a thread
 * in pcp_rbdec_help_loop and by the merging thread when it needs one first give exactly the
 * serial decoder's records (ts, CPU, size, payload, missed marks) and, on a damaged chunk, the
 * same records before the same error line. On compressed data that is chunk mode (the batches
 * are decompressed chunks, the merging thread walks them); the large trace turns each
 * stream's ring of chunks over many times. */
static void *help_main(void *arg)
{
	pcp_rbdec_help_loop(arg);
	return NULL;
}

static void helper_same_as_serial(const char *path, const char *compression, int expect_err)
{
	struct pcp_rbdec_section secs[16];
	struct pcp_rbdec_params p = { 0 };
	struct pcp_rbdec *serial, *helped;
	struct tep_record *a, *b;
	unsigned long long n = 0;
	unsigned char *f;
	size_t len, nsec;
	char err1[256] = "", err2[256] = "";
	pthread_t t;
	FILE *fp;

	f = slurp(path, &len);
	nsec = buffer_sections(f, len, secs, 16);
	fp = fopen(path, "rb");
	ck_assert_ptr_nonnull(fp);
	p.fd = fileno(fp);
	p.file_size = len;
	memcpy(&p.page_size, f + 14, 4);
	p.long_size = 8;
	p.compression = compression;
	ck_assert_msg(pcp_rbdec_open(&p, secs, nsec, &serial, err1, sizeof(err1)) == PCP_OK, "%s", err1);
	p.helper = 1;
	ck_assert_msg(pcp_rbdec_open(&p, secs, nsec, &helped, err2, sizeof(err2)) == PCP_OK, "%s", err2);
	ck_assert_int_eq(pthread_create(&t, NULL, help_main, helped), 0);
	for (;;) {
		a = pcp_rbdec_next(serial);
		b = pcp_rbdec_next(helped);
		if (!a || !b)
			break;
		ck_assert_msg(a->ts == b->ts && a->cpu == b->cpu && a->size == b->size &&
			      a->missed_events == b->missed_events && a->offset == b->offset &&
			      a->record_size == b->record_size, "%s: record %llu differs", path, n);
		ck_assert_msg(!memcmp(a->data, b->data, (size_t)a->size), "%s: record %llu payload", path, n);
		n++;
	}
	ck_assert_msg(!a && !b, "%s: one ends early at record %llu", path, n);
	ck_assert_int_eq(pcp_rbdec_status(serial, err1, sizeof(err1)), expect_err);
	ck_assert_int_eq(pcp_rbdec_status(helped, err2, sizeof(err2)), expect_err);
	ck_assert_str_eq(err1, err2);
	pcp_rbdec_help_stop(helped);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	/* nothing to help outside helper mode, and after the end */
	ck_assert_int_eq(pcp_rbdec_help(serial), 0);
	pcp_rbdec_close(serial);
	pcp_rbdec_close(helped);
	fclose(fp);
	free(f);
}

START_TEST(helper_mode_same_records)
{
	char script[1100], vs[1100], vz[1100], bad[1100];
	unsigned char *f;
	size_t len;
	struct pcp_rbdec_section secs[16];
	uint32_t cs;
	uint64_t chunk2;
	FILE *fp;

	snprintf(script, sizeof(script), "%s/helper.synth", tmpdir);
	snprintf(vs, sizeof(vs), "%s/helper-zstd.dat", tmpdir);
	snprintf(vz, sizeof(vz), "%s/helper-zlib.dat", tmpdir);
	snprintf(bad, sizeof(bad), "%s/helper-bad.dat", tmpdir);
	write_script(script, 400000);
	build(script, vs, "v7-zstd");
	helper_same_as_serial(vs, "zstd", PCP_OK);
	write_script(script, 20000);
	build(script, vs, "v7-zstd");
	build(script, vz, "v7-zlib");
	helper_same_as_serial(vs, "zstd", PCP_OK);
	helper_same_as_serial(vz, "zlib", PCP_OK);
	/* CPU 0's second chunk damaged, as v7_zlib_damaged_chunk */
	f = slurp(vz, &len);
	ck_assert_uint_eq(buffer_sections(f, len, secs, 16), 2);
	memcpy(&cs, f + secs[0].offset + 4, 4);
	chunk2 = secs[0].offset + 4 + 8 + cs;
	memcpy(&cs, f + chunk2, 4);
	f[chunk2 + 8 + cs / 2] ^= 0x5a;
	fp = fopen(bad, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(f, 1, len, fp), len);
	fclose(fp);
	free(f);
	helper_same_as_serial(bad, "zlib", PCP_ERR_CORRUPT);
}
END_TEST

/* One analysis walks its file twice; inside a scope the second walk skips the expensive parts
 * the first passed. Outside it, or in a new scope, a file damaged in place (same size) is
 * checked again and refused. */
START_TEST(verified_scope_rechecks)
{
	char script[1100], vs[1100], err[256] = "";
	struct pcp_tracedat_layout lay;
	struct pcp_rbdec_section secs[16];
	unsigned char *f;
	size_t len;
	uint32_t cs;
	FILE *fp;

	snprintf(script, sizeof(script), "%s/scope.synth", tmpdir);
	snprintf(vs, sizeof(vs), "%s/scope.dat", tmpdir);
	write_script(script, 2000);
	build(script, vs, "v7-zstd");
	pcp_tracedat_verified_scope(1);
	ck_assert_msg(pcp_tracedat_check(vs, &lay, err, sizeof(err)) == PCP_OK, "%s", err);
	ck_assert_msg(pcp_tracedat_check(vs, &lay, err, sizeof(err)) == PCP_OK, "%s", err);
	pcp_tracedat_verified_scope(0);
	/* the chunk table of CPU 0 damaged in place: a chunk size past the section */
	f = slurp(vs, &len);
	ck_assert_uint_eq(buffer_sections(f, len, secs, 16), 2);
	cs = 0x7ffffff0;
	memcpy(f + secs[0].offset + 4, &cs, 4);
	fp = fopen(vs, "r+b");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(f, 1, len, fp), len);
	fclose(fp);
	free(f);
	ck_assert_int_ne(pcp_tracedat_check(vs, &lay, err, sizeof(err)), PCP_OK);
	pcp_tracedat_verified_scope(1);
	ck_assert_int_ne(pcp_tracedat_check(vs, &lay, err, sizeof(err)), PCP_OK);
	pcp_tracedat_verified_scope(0);
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
	ck_assert_int_eq(pcp_tdw_parse_format("v7-zlib", &p), PCP_OK);
	ck_assert_int_eq(p.file_version, 7);
	ck_assert_str_eq(p.compression, "zlib");
	p.file_version = 6;
	ck_assert_int_eq(pcp_tdw_create(path, &p, &w), PCP_ERR_USAGE);   /* zlib needs v7 */
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
	tcase_add_test(tc, v7_zlib_layout);
	tcase_add_test(tc, v7_zlib_same_records);
	tcase_add_test(tc, v7_zlib_damaged_chunk);
	tcase_add_test(tc, helper_mode_same_records);
	tcase_add_test(tc, verified_scope_rechecks);
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
