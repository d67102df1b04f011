/* parse_kmem on teps built from real (6.18), seed-patch and older kernels' event formats
 * (formats/linux-3.6: struct page * instead of pfn; formats/linux-5.15: no percpu_refill). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event-parse.h>
#include "common/error.h"
#include "events/parse_kmem.h"
#include "check_helpers.h"

static char *slurp(const char *name, size_t *len)
{
	return check_read_fixture(".", "formats", name, len);
}

static void add_format_text(struct tep_handle *tep, const char *text, size_t len)
{
	ck_assert_int_eq(tep_parse_event(tep, text, len, "kmem"), 0);
}

static void add_format(struct tep_handle *tep, const char *name)
{
	size_t len;
	char *text = slurp(name, &len);
	add_format_text(tep, text, len);
	free(text);
}

static struct tep_handle *new_tep(int patched)
{
	struct tep_handle *tep = tep_alloc();
	tep_set_file_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_long_size(tep, 8);
	add_format(tep, "kmem.mm_page_pcpu_drain.format");
	add_format(tep, "kmem.mm_page_alloc_zone_locked.format");
	add_format(tep, "kmem.mm_page_alloc.format");
	if (patched) {
		add_format(tep, "kmem.mm_page_pcpu_refill.format");
		add_format(tep, "kmem.mm_page_pcpu_refill_zone_locked.format");
		add_format(tep, "kmem.mm_page_pcpu_drain_zone_locked.format");
	}
	return tep;
}

static int event_id(struct tep_handle *tep, const char *name)
{
	struct tep_event *ev = tep_find_event_by_name(tep, "kmem", name);
	ck_assert_msg(ev != NULL, "no %s", name);
	return ev->id;
}

/* A record payload built with the fields' real offsets (looked up here independently). */
struct fake {
	unsigned char data[64];
	struct tep_record rec;
};

static void put(struct tep_handle *tep, struct fake *f, const char *event, const char *field, uint64_t v)
{
	struct tep_event *ev = tep_find_event_by_name(tep, "kmem", event);
	struct tep_format_field *fl = tep_find_field(ev, field);
	ck_assert_ptr_nonnull(fl);
	memcpy(f->data + fl->offset, &v, (size_t)fl->size); /* little-endian host */
}

static void fake_init(struct tep_handle *tep, struct fake *f, const char *event)
{
	uint16_t id = (uint16_t)event_id(tep, event);
	memset(f, 0, sizeof(*f));
	memcpy(f->data, &id, 2);
	f->rec.data = f->data;
	f->rec.size = sizeof(f->data);
}

START_TEST(fallback_auto_on_real_formats)
{
	struct tep_handle *tep = new_tep(0);
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	struct fake f;
	char err[256] = "";

	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_refill_source(p), PCP_REFILL_FALLBACK);
	ck_assert_int_eq(pcp_kmem_native_locks(p), 0);

	fake_init(tep, &f, "mm_page_alloc_zone_locked");
	put(tep, &f, "mm_page_alloc_zone_locked", "pfn", 0x12345);
	put(tep, &f, "mm_page_alloc_zone_locked", "order", 3);
	put(tep, &f, "mm_page_alloc_zone_locked", "migratetype", 1);
	put(tep, &f, "mm_page_alloc_zone_locked", "percpu_refill", 1);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_alloc_zone_locked"), &ev), PCP_EV_REFILL);
	ck_assert_int_eq(ev.kind, PCP_EV_REFILL);
	ck_assert_uint_eq(ev.block.pfn, 0x12345);
	ck_assert_uint_eq(ev.block.order, 3);
	ck_assert_int_eq(ev.block.migratetype, 1);

	put(tep, &f, "mm_page_alloc_zone_locked", "percpu_refill", 0);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_alloc_zone_locked"), &ev), PCP_EV_OTHER);

	fake_init(tep, &f, "mm_page_pcpu_drain");
	put(tep, &f, "mm_page_pcpu_drain", "pfn", 0xabcdef);
	put(tep, &f, "mm_page_pcpu_drain", "order", 0);
	put(tep, &f, "mm_page_pcpu_drain", "migratetype", (uint32_t)-1);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_drain"), &ev), PCP_EV_DRAIN);
	ck_assert_uint_eq(ev.block.pfn, 0xabcdef);
	ck_assert_int_eq(ev.block.migratetype, -1);   /* sign-extended */

	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_alloc"), &ev), PCP_EV_OTHER);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

START_TEST(native_auto_on_patch_formats)
{
	struct tep_handle *tep = new_tep(1);
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	struct fake f;
	char err[256] = "";

	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_refill_source(p), PCP_REFILL_NATIVE);
	ck_assert_int_eq(pcp_kmem_native_locks(p), 1);

	fake_init(tep, &f, "mm_page_pcpu_refill");
	put(tep, &f, "mm_page_pcpu_refill", "pfn", 777);
	put(tep, &f, "mm_page_pcpu_refill", "order", 2);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_refill"), &ev), PCP_EV_REFILL);
	ck_assert_uint_eq(ev.block.pfn, 777);
	ck_assert_uint_eq(ev.block.order, 2);

	fake_init(tep, &f, "mm_page_pcpu_refill_zone_locked");
	put(tep, &f, "mm_page_pcpu_refill_zone_locked", "nid", 1);
	put(tep, &f, "mm_page_pcpu_refill_zone_locked", "zid", 2);
	put(tep, &f, "mm_page_pcpu_refill_zone_locked", "nr_pages", 31);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_refill_zone_locked"), &ev),
			 PCP_EV_REFILL_LOCK);
	ck_assert_int_eq(ev.lock.nid, 1);
	ck_assert_int_eq(ev.lock.zid, 2);
	ck_assert_uint_eq(ev.lock.nr_pages, 31);

	fake_init(tep, &f, "mm_page_pcpu_drain_zone_locked");
	put(tep, &f, "mm_page_pcpu_drain_zone_locked", "nr_pages", 5);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_drain_zone_locked"), &ev),
			 PCP_EV_DRAIN_LOCK);
	ck_assert_uint_eq(ev.lock.nr_pages, 5);

	/* native mode: a percpu_refill alloc is just another event */
	fake_init(tep, &f, "mm_page_alloc_zone_locked");
	put(tep, &f, "mm_page_alloc_zone_locked", "percpu_refill", 1);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_alloc_zone_locked"), &ev), PCP_EV_OTHER);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

START_TEST(forced_fallback_ignores_patch_events)
{
	struct tep_handle *tep = new_tep(1);
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	struct fake f;
	char err[256] = "";

	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_FALLBACK, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_refill_source(p), PCP_REFILL_FALLBACK);
	ck_assert_int_eq(pcp_kmem_native_locks(p), 0);
	fake_init(tep, &f, "mm_page_pcpu_refill");
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_refill"), &ev), PCP_EV_IGNORED);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_refill_zone_locked"), &ev), PCP_EV_IGNORED);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_drain_zone_locked"), &ev), PCP_EV_IGNORED);
	fake_init(tep, &f, "mm_page_alloc_zone_locked");
	put(tep, &f, "mm_page_alloc_zone_locked", "percpu_refill", 1);
	put(tep, &f, "mm_page_alloc_zone_locked", "pfn", 42);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_alloc_zone_locked"), &ev), PCP_EV_REFILL);
	ck_assert_uint_eq(ev.block.pfn, 42);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

START_TEST(forced_native_without_event_is_mode_error)
{
	struct tep_handle *tep = new_tep(0);
	struct pcp_kmem_parser *p = (void *)1;
	char err[256] = "";

	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_NATIVE, &p, err, sizeof(err)), PCP_ERR_MODE);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err, "mm_page_pcpu_refill") != NULL, "message: %s", err);
	tep_free(tep);
}
END_TEST

START_TEST(missing_field_is_clear_error)
{
	struct tep_handle *tep = tep_alloc();
	struct pcp_kmem_parser *p = (void *)1;
	size_t len;
	char err[256] = "";
	char *text = slurp("kmem.mm_page_alloc_zone_locked.format", &len);
	char *line = strstr(text, "\tfield:int migratetype;");

	ck_assert_ptr_nonnull(line);
	/* rename the field: the format is still valid, the field we need is gone (a missing
	 * percpu_refill is an older kernel's format, not an error: see old_* below) */
	memcpy(strstr(line, "migratetype"), "migratetxxx", 11);
	add_format_text(tep, text, len);
	free(text);
	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_ERR_CORRUPT);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err, "migratetype") && strstr(err, "mm_page_alloc_zone_locked"), "message: %s", err);
	tep_free(tep);
}
END_TEST

START_TEST(short_record_is_not_decoded)
{
	struct tep_handle *tep = new_tep(0);
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	struct fake f;
	char err[256] = "";

	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	fake_init(tep, &f, "mm_page_pcpu_drain");
	f.rec.size = 12;   /* pfn fits, order does not */
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_drain"), &ev), PCP_EV_OTHER);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

static struct tep_handle *old_tep(const char *era, int long_size)
{
	char name[128];
	struct tep_handle *tep = tep_alloc();
	tep_set_file_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_long_size(tep, long_size);
	snprintf(name, sizeof(name), "%s/kmem.mm_page_pcpu_drain.format", era);
	add_format(tep, name);
	snprintf(name, sizeof(name), "%s/kmem.mm_page_alloc_zone_locked.format", era);
	add_format(tep, name);
	return tep;
}

static int decode_alloc_locked(struct tep_handle *tep, struct pcp_kmem_parser *p, const char *key,
			       uint64_t block, uint32_t order, struct pcp_event *ev)
{
	struct fake f;
	fake_init(tep, &f, "mm_page_alloc_zone_locked");
	put(tep, &f, "mm_page_alloc_zone_locked", key, block);
	put(tep, &f, "mm_page_alloc_zone_locked", "order", order);
	put(tep, &f, "mm_page_alloc_zone_locked", "migratetype", 1);
	return pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_alloc_zone_locked"), ev);
}

/* Linux 3.6: 'struct page *page', no pfn and no percpu_refill field. Blocks are keyed by the
 * pointer; a refill is order == 0, as the print fmt computed percpu_refill. */
START_TEST(old_page_pointer_formats)
{
	struct tep_handle *tep = old_tep("linux-3.6", 8);
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	struct fake f;
	char err[256] = "";

	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_refill_source(p), PCP_REFILL_FALLBACK);
	ck_assert_int_eq(pcp_kmem_block_key(p), PCP_BLOCK_KEY_PAGE_POINTER);
	ck_assert_int_eq(pcp_kmem_refill_flag(p), PCP_REFILL_FLAG_DERIVED);

	ck_assert_int_eq(decode_alloc_locked(tep, p, "page", 0xffffea0000040040ULL, 0, &ev), PCP_EV_REFILL);
	ck_assert_uint_eq(ev.block.pfn, 0xffffea0000040040ULL);
	ck_assert_uint_eq(ev.block.order, 0);
	/* order > 0: percpu_refill=0 in that kernel's print fmt, a direct buddy allocation */
	ck_assert_int_eq(decode_alloc_locked(tep, p, "page", 0xffffea0000040080ULL, 1, &ev), PCP_EV_OTHER);
	/* NULL page: no block */
	ck_assert_int_eq(decode_alloc_locked(tep, p, "page", 0, 0, &ev), PCP_EV_OTHER);

	fake_init(tep, &f, "mm_page_pcpu_drain");
	put(tep, &f, "mm_page_pcpu_drain", "page", 0xffffea0000040040ULL);
	put(tep, &f, "mm_page_pcpu_drain", "order", 0);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_drain"), &ev), PCP_EV_DRAIN);
	ck_assert_uint_eq(ev.block.pfn, 0xffffea0000040040ULL);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

/* Linux 5.15: pfn, but mm_page_alloc_zone_locked has no percpu_refill field. */
START_TEST(old_no_percpu_refill_format)
{
	struct tep_handle *tep = old_tep("linux-5.15", 8);
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	char err[256] = "";

	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_block_key(p), PCP_BLOCK_KEY_PFN);
	ck_assert_int_eq(pcp_kmem_refill_flag(p), PCP_REFILL_FLAG_DERIVED);
	ck_assert_int_eq(decode_alloc_locked(tep, p, "pfn", 0x1234, 0, &ev), PCP_EV_REFILL);
	ck_assert_uint_eq(ev.block.pfn, 0x1234);
	ck_assert_int_eq(decode_alloc_locked(tep, p, "pfn", 0x1238, 3, &ev), PCP_EV_OTHER);
	ck_assert_int_eq(decode_alloc_locked(tep, p, "pfn", ~0ULL, 0, &ev), PCP_EV_OTHER);
	pcp_kmem_parser_free(p);
	tep_free(tep);

	/* the current format: the field decides, and says so */
	tep = new_tep(0);
	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_block_key(p), PCP_BLOCK_KEY_PFN);
	ck_assert_int_eq(pcp_kmem_refill_flag(p), PCP_REFILL_FLAG_FIELD);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

/* A 32-bit kernel: 4-byte pfn; -1UL is 0xffffffff there, still "no page". */
START_TEST(old_32bit_pfn_no_page)
{
	struct tep_handle *tep = tep_alloc();
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	size_t len;
	char err[256] = "";
	char *text = slurp("linux-5.15/kmem.mm_page_alloc_zone_locked.format", &len);
	char *at;

	tep_set_file_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_long_size(tep, 4);
	ck_assert_ptr_nonnull(at = strstr(text, "offset:8;\tsize:8;"));
	memcpy(at, "offset:8;\tsize:4;", 17);
	ck_assert_ptr_nonnull(at = strstr(text, "offset:16;"));
	memcpy(at, "offset:12;", 10);
	ck_assert_ptr_nonnull(at = strstr(text, "offset:20;"));
	memcpy(at, "offset:16;", 10);
	add_format_text(tep, text, len);
	free(text);
	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(decode_alloc_locked(tep, p, "pfn", 0xffffffffULL, 0, &ev), PCP_EV_OTHER);
	ck_assert_int_eq(decode_alloc_locked(tep, p, "pfn", 0x1000, 0, &ev), PCP_EV_REFILL);
	ck_assert_uint_eq(ev.block.pfn, 0x1000);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

/* pfn in one block event, page in another: pairs could never match, refuse. */
START_TEST(mixed_block_keys_refused)
{
	struct tep_handle *tep = tep_alloc();
	struct pcp_kmem_parser *p = (void *)1;
	char err[256] = "";

	tep_set_long_size(tep, 8);
	add_format(tep, "linux-3.6/kmem.mm_page_pcpu_drain.format");
	add_format(tep, "kmem.mm_page_alloc_zone_locked.format");
	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_ERR_CORRUPT);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err, "mm_page_pcpu_drain") && strstr(err, "'page'"), "message: %s", err);
	tep_free(tep);
}
END_TEST

/* tep_data_type() answers -1 for an unreadable record, and -1 is also the id the parser keeps for
 * an event absent from the trace (here the patch events): such a record is never decoded as
 * one (it was decoded with the absent event's zero-size fields: UBSan shift by -1). */
START_TEST(unreadable_type_is_not_an_absent_event)
{
	struct tep_handle *tep = new_tep(0);
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	struct fake f;
	char err[256] = "";

	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_refill_source(p), PCP_REFILL_FALLBACK);
	fake_init(tep, &f, "mm_page_pcpu_drain");
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, -1, &ev), PCP_EV_OTHER);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

/* common_pid is a common field: tep_find_field does not see it. */
static void put_pid(struct tep_handle *tep, struct fake *f, const char *event, int32_t pid)
{
	struct tep_event *ev = tep_find_event_by_name(tep, "kmem", event);
	struct tep_format_field *fl = tep_find_common_field(ev, "common_pid");
	ck_assert_ptr_nonnull(fl);
	ck_assert_int_eq(fl->size, 4);
	memcpy(f->data + fl->offset, &pid, 4);
}

/* The lifecycle events are decoded only after pcp_kmem_parser_enable_lifecycle: before it the
 * parser answers exactly as it always did (the existing tools do not enable it). */
START_TEST(lifecycle_fallback_alloc_free_zone_locked)
{
	struct tep_handle *tep = new_tep(0);
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	struct fake f;
	char err[256] = "";
	int id_alloc, id_free, id_zl;

	add_format(tep, "kmem.mm_page_free.format");
	id_alloc = event_id(tep, "mm_page_alloc");
	id_free = event_id(tep, "mm_page_free");
	id_zl = event_id(tep, "mm_page_alloc_zone_locked");
	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_has_lifecycle(p), 0);

	fake_init(tep, &f, "mm_page_alloc");
	put(tep, &f, "mm_page_alloc", "pfn", 0x4242);
	put(tep, &f, "mm_page_alloc", "order", 1);
	put(tep, &f, "mm_page_alloc", "migratetype", 2);
	put(tep, &f, "mm_page_alloc", "gfp_flags", 0xcc0);
	put_pid(tep, &f, "mm_page_alloc", 4711);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, id_alloc, &ev), PCP_EV_OTHER);   /* not enabled */

	ck_assert_int_eq(pcp_kmem_parser_enable_lifecycle(p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_has_lifecycle(p), 1);
	ck_assert_int_eq(pcp_kmem_refill_source(p), PCP_REFILL_FALLBACK);
	ck_assert_int_eq(pcp_kmem_block_key(p), PCP_BLOCK_KEY_PFN);
	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, id_alloc, &ev), PCP_EV_PAGE_ALLOC);
	ck_assert_int_eq(ev.kind, PCP_EV_PAGE_ALLOC);
	ck_assert_uint_eq(ev.block.pfn, 0x4242);
	ck_assert_uint_eq(ev.block.order, 1);
	ck_assert_int_eq(ev.block.migratetype, 2);
	ck_assert_int_eq(ev.pid, 4711);
	/* a failed allocation (pfn -1UL) touches no block */
	put(tep, &f, "mm_page_alloc", "pfn", UINT64_MAX);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, id_alloc, &ev), PCP_EV_OTHER);

	fake_init(tep, &f, "mm_page_free");
	put(tep, &f, "mm_page_free", "pfn", 0x99);
	put(tep, &f, "mm_page_free", "order", 9);
	put_pid(tep, &f, "mm_page_free", 12);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, id_free, &ev), PCP_EV_PAGE_FREE);
	ck_assert_uint_eq(ev.block.pfn, 0x99);
	ck_assert_uint_eq(ev.block.order, 9);
	ck_assert_int_eq(ev.block.migratetype, -1);
	ck_assert_int_eq(ev.pid, 12);

	/* percpu_refill=0: a direct buddy allocation (ZONE_LOCKED); =1 still a REFILL */
	fake_init(tep, &f, "mm_page_alloc_zone_locked");
	put(tep, &f, "mm_page_alloc_zone_locked", "pfn", 0x500);
	put(tep, &f, "mm_page_alloc_zone_locked", "order", 0);
	put(tep, &f, "mm_page_alloc_zone_locked", "percpu_refill", 0);
	put_pid(tep, &f, "mm_page_alloc_zone_locked", -7);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, id_zl, &ev), PCP_EV_ZONE_LOCKED);
	ck_assert_uint_eq(ev.block.pfn, 0x500);
	ck_assert_int_eq(ev.pid, -7);
	put(tep, &f, "mm_page_alloc_zone_locked", "percpu_refill", 1);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, id_zl, &ev), PCP_EV_REFILL);
	put(tep, &f, "mm_page_alloc_zone_locked", "pfn", UINT64_MAX);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, id_zl, &ev), PCP_EV_OTHER);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

/* Native mode: every mm_page_alloc_zone_locked record is a ZONE_LOCKED event once enabled
 * (the model takes the following mm_page_pcpu_refill for the refill), and the block events
 * carry the pid. */
START_TEST(lifecycle_native_zone_locked_and_pid)
{
	struct tep_handle *tep = new_tep(1);
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	struct fake f;
	char err[256] = "";
	int id_zl = event_id(tep, "mm_page_alloc_zone_locked");

	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	fake_init(tep, &f, "mm_page_alloc_zone_locked");
	put(tep, &f, "mm_page_alloc_zone_locked", "pfn", 0x77);
	put(tep, &f, "mm_page_alloc_zone_locked", "percpu_refill", 1);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, id_zl, &ev), PCP_EV_OTHER);
	ck_assert_int_eq(pcp_kmem_parser_enable_lifecycle(p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_has_lifecycle(p), 0);   /* this tep has no mm_page_free */
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, id_zl, &ev), PCP_EV_ZONE_LOCKED);
	ck_assert_uint_eq(ev.block.pfn, 0x77);

	fake_init(tep, &f, "mm_page_pcpu_refill");
	put(tep, &f, "mm_page_pcpu_refill", "pfn", 0x77);
	put_pid(tep, &f, "mm_page_pcpu_refill", 321);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_refill"), &ev), PCP_EV_REFILL);
	ck_assert_int_eq(ev.pid, 321);
	fake_init(tep, &f, "mm_page_pcpu_refill_zone_locked");
	put_pid(tep, &f, "mm_page_pcpu_refill_zone_locked", 322);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_pcpu_refill_zone_locked"), &ev),
			 PCP_EV_REFILL_LOCK);
	ck_assert_int_eq(ev.pid, 322);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

/* Older kernels key mm_page_free by 'page' too: accepted with page-keyed block events,
 * refused (and the parser left as it was) next to pfn-keyed ones. */
START_TEST(lifecycle_block_keys)
{
	struct tep_handle *tep = tep_alloc();
	struct pcp_kmem_parser *p;
	struct pcp_event ev;
	struct fake f;
	char err[256] = "";

	tep_set_file_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_long_size(tep, 8);
	add_format(tep, "linux-3.6/kmem.mm_page_pcpu_drain.format");
	add_format(tep, "linux-3.6/kmem.mm_page_alloc_zone_locked.format");
	add_format(tep, "linux-3.6/kmem.mm_page_free.format");
	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_parser_enable_lifecycle(p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_block_key(p), PCP_BLOCK_KEY_PAGE_POINTER);
	fake_init(tep, &f, "mm_page_free");
	put(tep, &f, "mm_page_free", "page", 0xffffea0000001000ULL);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_free"), &ev), PCP_EV_PAGE_FREE);
	ck_assert_uint_eq(ev.block.pfn, 0xffffea0000001000ULL);
	pcp_kmem_parser_free(p);
	tep_free(tep);

	tep = new_tep(0);
	add_format(tep, "linux-3.6/kmem.mm_page_free.format");
	ck_assert_int_eq(pcp_kmem_parser_new(tep, PCP_REFILL_AUTO, &p, err, sizeof(err)), PCP_OK);
	ck_assert_int_eq(pcp_kmem_parser_enable_lifecycle(p, err, sizeof(err)), PCP_ERR_CORRUPT);
	ck_assert_msg(strstr(err, "mm_page_free") && strstr(err, "'page'"), "message: %s", err);
	ck_assert_int_eq(pcp_kmem_has_lifecycle(p), 0);
	ck_assert_int_eq(pcp_kmem_block_key(p), PCP_BLOCK_KEY_PFN);
	fake_init(tep, &f, "mm_page_alloc");
	put(tep, &f, "mm_page_alloc", "pfn", 5);
	ck_assert_int_eq(pcp_kmem_decode(p, &f.rec, event_id(tep, "mm_page_alloc"), &ev), PCP_EV_OTHER);
	pcp_kmem_parser_free(p);
	tep_free(tep);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parse_kmem");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fallback_auto_on_real_formats);
	tcase_add_test(tc, native_auto_on_patch_formats);
	tcase_add_test(tc, forced_fallback_ignores_patch_events);
	tcase_add_test(tc, forced_native_without_event_is_mode_error);
	tcase_add_test(tc, missing_field_is_clear_error);
	tcase_add_test(tc, short_record_is_not_decoded);
	tcase_add_test(tc, old_page_pointer_formats);
	tcase_add_test(tc, old_no_percpu_refill_format);
	tcase_add_test(tc, old_32bit_pfn_no_page);
	tcase_add_test(tc, mixed_block_keys_refused);
	tcase_add_test(tc, unreadable_type_is_not_an_absent_event);
	tcase_add_test(tc, lifecycle_fallback_alloc_free_zone_locked);
	tcase_add_test(tc, lifecycle_native_zone_locked_and_pid);
	tcase_add_test(tc, lifecycle_block_keys);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
