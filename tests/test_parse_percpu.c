/* parse_percpu on the real percpu:* formats of Linux 6.18 (tests/fixtures/formats/) and on an
 * older shape without call_site/ptr/bytes_alloc/gfp_flags (formats/percpu_noptr/). Records are
 * built by hand at the offsets printed in those format files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <traceevent/event-parse.h>
#include "common/error.h"
#include "model/percpu.h"
#include "check_helpers.h"

static char *slurp(const char *rel, size_t *len)
{
	return check_read_fixture("..", "formats", rel, len);
}

static void load(struct tep_handle *tep, const char *rel)
{
	size_t len;
	char *buf = slurp(rel, &len);
	ck_assert_int_eq(tep_parse_event(tep, buf, len, "percpu"), 0);
	free(buf);
}

static struct tep_handle *new_tep(void)
{
	struct tep_handle *tep = tep_alloc();
	ck_assert_ptr_nonnull(tep);
	tep_set_long_size(tep, 8);
	tep_set_file_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
	return tep;
}

static struct tep_handle *tep_6_18(void)
{
	struct tep_handle *tep = new_tep();
	load(tep, "percpu.percpu_alloc_percpu.format");
	load(tep, "percpu.percpu_free_percpu.format");
	load(tep, "percpu.percpu_alloc_percpu_fail.format");
	load(tep, "percpu.percpu_create_chunk.format");
	load(tep, "percpu.percpu_destroy_chunk.format");
	return tep;
}

/* little-endian stores (the formats above are from an x86_64 machine) */
static void put(unsigned char *d, int off, uint64_t v, int size)
{
	for (int i = 0; i < size; i++)
		d[off + i] = (unsigned char)(v >> (8 * i));
}

static int id_of(struct tep_handle *tep, const char *name)
{
	struct tep_event *e = tep_find_event_by_name(tep, "percpu", name);
	ck_assert_ptr_nonnull(e);
	return e->id;
}

START_TEST(alloc_6_18)
{
	struct tep_handle *tep = tep_6_18();
	struct pcp_percpu_parser *p;
	unsigned char d[80] = {0};
	struct tep_record rec = { .data = d, .size = sizeof(d) };
	struct pcp_event ev = {0};

	ck_assert_int_eq(pcp_percpu_parser_new(tep, &p), PCP_OK);
	ck_assert_int_eq(pcp_percpu_parser_present(p), 1);
	ck_assert_int_eq(pcp_percpu_parser_synthetic_ptr(p), 0);
	/* call_site=mm_init+0x2bf reserved=0 is_atomic=1 size=16 align=8
	 * base_addr=0xffffe8ffffc00000 off=78704 ptr=0x60795bb0c370 bytes_alloc=64 gfp=0xcc0 */
	put(d, 0, 645, 2);
	put(d, 8, 0xffffffff810002bfULL, 8);
	put(d, 16, 0, 1);
	put(d, 17, 1, 1);
	put(d, 24, 16, 8);
	put(d, 32, 8, 8);
	put(d, 40, 0xffffe8ffffc00000ULL, 8);
	put(d, 48, 78704, 4);
	put(d, 56, 0x60795bb0c370ULL, 8);
	put(d, 64, 64, 8);
	put(d, 72, 0xcc0, 8);
	put(d, 4, 2718, 4);                     /* common_pid, offset 4 in the 6.18 format */
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 645, &ev), PCP_EV_PERCPU_ALLOC);
	ck_assert_int_eq(ev.kind, PCP_EV_PERCPU_ALLOC);
	ck_assert_int_eq(ev.pid, 2718);
	ck_assert_uint_eq(ev.percpu.call_site, 0xffffffff810002bfULL);
	ck_assert_uint_eq(ev.percpu.reserved, 0);
	ck_assert_uint_eq(ev.percpu.is_atomic, 1);
	ck_assert_uint_eq(ev.percpu.size, 16);
	ck_assert_uint_eq(ev.percpu.align, 8);
	ck_assert_uint_eq(ev.percpu.base_addr, 0xffffe8ffffc00000ULL);
	ck_assert_int_eq(ev.percpu.off, 78704);
	ck_assert_uint_eq(ev.percpu.ptr, 0x60795bb0c370ULL);
	ck_assert_uint_eq(ev.percpu.bytes_alloc, 64);
	ck_assert_uint_eq(ev.percpu.gfp_flags, 0xcc0);
	pcp_percpu_parser_free(p);
	tep_free(tep);
}
END_TEST

START_TEST(free_fail_chunks_6_18)
{
	struct tep_handle *tep = tep_6_18();
	struct pcp_percpu_parser *p;
	unsigned char d[32];
	struct tep_record rec = { .data = d, .size = sizeof(d) };
	struct pcp_event ev;

	ck_assert_int_eq(pcp_percpu_parser_new(tep, &p), PCP_OK);

	memset(d, 0, sizeof(d));
	memset(&ev, 0, sizeof(ev));
	put(d, 8, 0xffffe8ffffc00000ULL, 8);
	put(d, 16, (uint64_t)-16, 4);            /* a negative off is sign-extended */
	put(d, 24, 0x60795bb0c370ULL, 8);
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 644, &ev), PCP_EV_PERCPU_FREE);
	ck_assert_uint_eq(ev.percpu.base_addr, 0xffffe8ffffc00000ULL);
	ck_assert_int_eq(ev.percpu.off, -16);
	ck_assert_uint_eq(ev.percpu.ptr, 0x60795bb0c370ULL);
	ck_assert_uint_eq(ev.percpu.call_site, 0);
	ck_assert_uint_eq(ev.percpu.size, 0);

	memset(d, 0, sizeof(d));
	put(d, 8, 1, 1);
	put(d, 9, 1, 1);
	put(d, 16, 1 << 20, 8);
	put(d, 24, 4096, 8);
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 643, &ev), PCP_EV_PERCPU_FAIL);
	ck_assert_uint_eq(ev.percpu.reserved, 1);
	ck_assert_uint_eq(ev.percpu.is_atomic, 1);
	ck_assert_uint_eq(ev.percpu.size, 1 << 20);
	ck_assert_uint_eq(ev.percpu.align, 4096);
	ck_assert_uint_eq(ev.percpu.call_site, 0);  /* the fail format has none */
	ck_assert_uint_eq(ev.percpu.ptr, 0);

	memset(d, 0, sizeof(d));
	put(d, 8, 0xffffe8ffff000000ULL, 8);
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 642, &ev), PCP_EV_PERCPU_CHUNK_CREATE);
	ck_assert_uint_eq(ev.percpu.base_addr, 0xffffe8ffff000000ULL);
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 641, &ev), PCP_EV_PERCPU_CHUNK_DESTROY);
	ck_assert_uint_eq(ev.percpu.base_addr, 0xffffe8ffff000000ULL);

	/* ids come from the formats, not from fixed numbers */
	ck_assert_int_eq(id_of(tep, "percpu_create_chunk"), 642);
	pcp_percpu_parser_free(p);
	tep_free(tep);
}
END_TEST

START_TEST(other_ids_untouched)
{
	struct tep_handle *tep = tep_6_18();
	struct pcp_percpu_parser *p;
	unsigned char d[16] = {0};
	struct tep_record rec = { .data = d, .size = sizeof(d) };
	struct pcp_event ev, copy;

	ck_assert_int_eq(pcp_percpu_parser_new(tep, &p), PCP_OK);
	memset(&ev, 0x5a, sizeof(ev));
	copy = ev;
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 999, &ev), PCP_EV_OTHER);
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, -1, &ev), PCP_EV_OTHER);
	ck_assert_int_eq(memcmp(&ev, &copy, sizeof(ev)), 0);
	pcp_percpu_parser_free(p);
	tep_free(tep);
}
END_TEST

START_TEST(short_record_reads_zero)
{
	/* A record shorter than its format: missing fields read 0, nothing is read past the end
	 * (ASan would say so). */
	struct tep_handle *tep = tep_6_18();
	struct pcp_percpu_parser *p;
	unsigned char *d = malloc(20);
	struct tep_record rec = { .data = d, .size = 20 };
	struct pcp_event ev = {0};

	memset(d, 0, 20);
	put(d, 8, 0x1234, 8);
	ck_assert_int_eq(pcp_percpu_parser_new(tep, &p), PCP_OK);
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 645, &ev), PCP_EV_PERCPU_ALLOC);
	ck_assert_uint_eq(ev.percpu.call_site, 0x1234);
	ck_assert_uint_eq(ev.percpu.size, 0);
	ck_assert_uint_eq(ev.percpu.ptr, 0);
	pcp_percpu_parser_free(p);
	free(d);
	tep_free(tep);
}
END_TEST

START_TEST(format_without_ptr_and_bytes_alloc)
{
	struct tep_handle *tep = new_tep();
	struct pcp_percpu_parser *p;
	unsigned char d[48];
	struct tep_record rec = { .data = d, .size = sizeof(d) };
	struct pcp_event ev;

	load(tep, "percpu_noptr/percpu.percpu_alloc_percpu.format");
	load(tep, "percpu_noptr/percpu.percpu_free_percpu.format");
	ck_assert_int_eq(pcp_percpu_parser_new(tep, &p), PCP_OK);
	ck_assert_int_eq(pcp_percpu_parser_present(p), 1);
	ck_assert_int_eq(pcp_percpu_parser_synthetic_ptr(p), 1);

	memset(d, 0, sizeof(d));
	memset(&ev, 0, sizeof(ev));
	put(d, 8, 0, 1);
	put(d, 9, 1, 1);
	put(d, 16, 24, 8);
	put(d, 24, 8, 8);
	put(d, 32, 0xffffe8ffffc00000ULL, 8);
	put(d, 40, 4096, 4);
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 645, &ev), PCP_EV_PERCPU_ALLOC);
	ck_assert_uint_eq(ev.percpu.is_atomic, 1);
	ck_assert_uint_eq(ev.percpu.size, 24);
	ck_assert_uint_eq(ev.percpu.align, 8);
	ck_assert_uint_eq(ev.percpu.call_site, 0);
	ck_assert_uint_eq(ev.percpu.bytes_alloc, 0);
	ck_assert_uint_eq(ev.percpu.gfp_flags, 0);
	ck_assert_uint_eq(ev.percpu.ptr, 0xffffe8ffffc01000ULL); /* base_addr + off */

	memset(d, 0, sizeof(d));
	put(d, 8, 0xffffe8ffffc00000ULL, 8);
	put(d, 16, 4096, 4);
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 644, &ev), PCP_EV_PERCPU_FREE);
	ck_assert_uint_eq(ev.percpu.ptr, 0xffffe8ffffc01000ULL); /* pairs with the alloc */

	/* the two synthetic ptrs pair in the model; bytes fall back to size */
	struct pcp_percpu_model *m;
	struct pcp_percpu_results *r;
	struct pcp_event a = { .ts_ns = 1, .kind = PCP_EV_PERCPU_ALLOC };
	a.percpu = (struct pcp_percpu_op){ .size = 24, .base_addr = 0xffffe8ffffc00000ULL,
		.off = 4096, .ptr = 0xffffe8ffffc01000ULL };
	ck_assert_int_eq(pcp_percpu_model_new(&m), PCP_OK);
	pcp_percpu_model_event(m, &a);
	ev.ts_ns = 2;
	pcp_percpu_model_event(m, &ev);
	ck_assert_int_eq(pcp_percpu_model_finish(m, tep, &r), PCP_OK);
	ck_assert_uint_eq(r->unmatched_frees, 0);
	ck_assert_uint_eq(r->outstanding_allocs, 0);
	ck_assert_uint_eq(r->bytes_freed, 24);
	pcp_percpu_results_free(r);
	pcp_percpu_model_free(m);

	/* the fail and chunk events are absent from this trace: their ids never match */
	ck_assert_int_eq(pcp_percpu_decode(p, &rec, 643, &ev), PCP_EV_OTHER);
	pcp_percpu_parser_free(p);
	tep_free(tep);
}
END_TEST

START_TEST(no_percpu_formats)
{
	struct tep_handle *tep = new_tep();
	struct pcp_percpu_parser *p;

	ck_assert_int_eq(pcp_percpu_parser_new(tep, &p), PCP_OK);
	ck_assert_int_eq(pcp_percpu_parser_present(p), 0);
	ck_assert_int_eq(pcp_percpu_parser_synthetic_ptr(p), 0);
	pcp_percpu_parser_free(p);
	ck_assert_int_eq(pcp_percpu_parser_new(NULL, &p), PCP_OK); /* no tep: nothing present */
	ck_assert_int_eq(pcp_percpu_parser_present(p), 0);
	pcp_percpu_parser_free(p);
	tep_free(tep);
}
END_TEST

START_TEST(only_chunk_formats)
{
	struct tep_handle *tep = new_tep();
	struct pcp_percpu_parser *p;

	load(tep, "percpu.percpu_create_chunk.format");
	ck_assert_int_eq(pcp_percpu_parser_new(tep, &p), PCP_OK);
	ck_assert_int_eq(pcp_percpu_parser_present(p), 1);
	ck_assert_int_eq(pcp_percpu_parser_synthetic_ptr(p), 0);
	pcp_percpu_parser_free(p);
	tep_free(tep);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parse_percpu");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, alloc_6_18);
	tcase_add_test(tc, free_fail_chunks_6_18);
	tcase_add_test(tc, other_ids_untouched);
	tcase_add_test(tc, short_record_reads_zero);
	tcase_add_test(tc, format_without_ptr_and_bytes_alloc);
	tcase_add_test(tc, no_percpu_formats);
	tcase_add_test(tc, only_chunk_formats);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
