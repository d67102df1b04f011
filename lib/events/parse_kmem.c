/* kmem event parser: resolves event ids and fields by name once, decodes records into
 * struct pcp_event. Modes and event roles: docs/METRICS.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event-parse.h>
#include "common/error.h"
#include "events/parse_kmem.h"

/* A field resolved once: offset/size copied out of its tep_format_field. */
struct kfield {
	int offset, size;
};

struct kevent {
	int id;                     /* -1: absent from the trace */
	struct kfield f[4];
	int page_key;               /* block events: F_PFN is the 'page' pointer field */
};

/* Fields per role, in struct kevent.f order. */
enum { F_PFN = 0, F_ORDER, F_MIGRATETYPE, F_PERCPU_REFILL };
enum { F_NID = 0, F_ZID, F_NR_PAGES };

struct pcp_kmem_parser {
	struct tep_handle *tep;
	int host_order;                /* the file's byte order is the host's */
	enum pcp_refill_source source;
	int native_locks;
	enum pcp_block_key block_key;
	enum pcp_refill_flag refill_flag;
	uint64_t no_page;              /* alloc_zone_locked's F_PFN value for "no page" */
	struct kevent drain;           /* mm_page_pcpu_drain */
	struct kevent refill;          /* mm_page_pcpu_refill (native) */
	struct kevent alloc_locked;    /* mm_page_alloc_zone_locked (fallback refill) */
	struct kevent refill_lock;     /* mm_page_pcpu_refill_zone_locked */
	struct kevent drain_lock;      /* mm_page_pcpu_drain_zone_locked */
	int ignored_ids[3];            /* patch events in fallback mode (-1 unused) */
	struct kfield pid;             /* common_pid; size 0: the trace has none (pid -1) */
	/* Lifecycle events (pcp_kmem_parser_enable_lifecycle; id -1 until then). */
	struct kevent page_alloc;      /* mm_page_alloc */
	struct kevent page_free;       /* mm_page_free */
	struct kevent zone_locked;     /* mm_page_alloc_zone_locked in native mode */
	uint64_t alloc_no_page;        /* mm_page_alloc's F_PFN value of a failed allocation */
	int lifecycle;
};

static int resolve(struct tep_handle *tep, const char *name, const char *const *fields, int nr_fields,
		   struct kevent *ke, char *errbuf, size_t errlen)
{
	struct tep_event *ev = tep_find_event_by_name(tep, "kmem", name);

	ke->id = -1;
	if (!ev)
		return PCP_OK;
	for (int i = 0; i < nr_fields; i++) {
		struct tep_format_field *f = tep_find_field(ev, fields[i]);
		if (!f) {
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "event kmem:%s has no field '%s'", name, fields[i]);
			return PCP_ERR_CORRUPT;
		}
		if (f->size != 1 && f->size != 2 && f->size != 4 && f->size != 8) {
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "event kmem:%s field '%s' has size %d", name, fields[i], f->size);
			return PCP_ERR_CORRUPT;
		}
		ke->f[i].offset = f->offset;
		ke->f[i].size = f->size;
	}
	ke->id = ev->id;
	return PCP_OK;
}

/* A page-block event (pfn, order, migratetype[, percpu_refill]). Older kernels' formats
 * (docs/METRICS.md, "Older kernels' formats"): before Linux 4.1 the events carry 'struct page
 * *page' instead of 'pfn' (the block is then keyed by that pointer); before 5.19
 * mm_page_alloc_zone_locked has no percpu_refill field (f[F_PERCPU_REFILL].size is then 0 and
 * the flag is derived from the order). */
static int resolve_block(struct tep_handle *tep, const char *name, int with_refill, struct kevent *ke,
			 char *errbuf, size_t errlen)
{
	static const char *const by_pfn[] = { "pfn", "order", "migratetype", "percpu_refill" };
	static const char *const by_page[] = { "page", "order", "migratetype", "percpu_refill" };
	struct tep_event *ev = tep_find_event_by_name(tep, "kmem", name);
	const char *const *fields = by_pfn;
	int has_refill, err;

	ke->id = -1;
	ke->page_key = 0;
	if (!ev)
		return PCP_OK;
	if (!tep_find_field(ev, "pfn") && tep_find_field(ev, "page")) {
		fields = by_page;
		ke->page_key = 1;
	}
	has_refill = with_refill && tep_find_field(ev, "percpu_refill");
	if ((err = resolve(tep, name, fields, has_refill ? 4 : 3, ke, errbuf, errlen)))
		return err;
	if (ke->page_key && ke->f[F_PFN].size != 4 && ke->f[F_PFN].size != 8)
		return pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT,
				  "event kmem:%s field 'page' has size %d: not a pointer", name,
				  ke->f[F_PFN].size);
	if (!has_refill)
		ke->f[F_PERCPU_REFILL].offset = ke->f[F_PERCPU_REFILL].size = 0;
	return PCP_OK;
}

/* Every block event present must key blocks the same way, or pairs would never match. */
static int settle_block_key(struct pcp_kmem_parser *p, char *errbuf, size_t errlen)
{
	const struct kevent *ev[] = { &p->drain, &p->refill, &p->alloc_locked };
	const char *names[] = { "mm_page_pcpu_drain", "mm_page_pcpu_refill", "mm_page_alloc_zone_locked" };
	int first = -1;

	for (int i = 0; i < 3; i++) {
		if (ev[i]->id < 0)
			continue;
		if (first < 0)
			first = i;
		else if (ev[i]->page_key != ev[first]->page_key)
			return pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT,
					  "kmem:%s has a '%s' field but kmem:%s a '%s' field: blocks "
					  "cannot be paired", names[first], ev[first]->page_key ? "page" : "pfn",
					  names[i], ev[i]->page_key ? "page" : "pfn");
	}
	p->block_key = first >= 0 && ev[first]->page_key ? PCP_BLOCK_KEY_PAGE_POINTER : PCP_BLOCK_KEY_PFN;
	return PCP_OK;
}

/* "No page" in a block event's key field: a NULL pointer, or pfn -1UL of the field's width
 * (4 bytes on 32-bit). */
static uint64_t no_page_of(const struct kevent *ke)
{
	if (ke->page_key)
		return 0;
	if (ke->f[F_PFN].size < 8)
		return (UINT64_C(1) << (8 * ke->f[F_PFN].size)) - 1;
	return ~UINT64_C(0);
}

/* common_pid, looked up by name in the first of the events that the trace has. */
static void resolve_pid(struct pcp_kmem_parser *p, const struct kevent *const *evs, int n)
{
	for (int i = 0; i < n && !p->pid.size; i++) {
		struct tep_event *ev = evs[i]->id >= 0 ? tep_find_event(p->tep, evs[i]->id) : NULL;
		struct tep_format_field *f = ev ? tep_find_common_field(ev, "common_pid") : NULL;

		if (f && f->size == 4) {
			p->pid.offset = f->offset;
			p->pid.size = f->size;
		}
	}
}

int pcp_kmem_parser_new(struct tep_handle *tep, enum pcp_refill_source requested,
			struct pcp_kmem_parser **out, char *errbuf, size_t errlen)
{
	static const char *const lock[] = { "nid", "zid", "nr_pages" };
	struct pcp_kmem_parser *p;
	int err;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return PCP_ERR_NOMEM;
	p->tep = tep;
	p->page_alloc.id = p->page_free.id = p->zone_locked.id = -1;
	p->host_order = tep_is_file_bigendian(tep) == tep_is_local_bigendian(tep);
	if ((err = resolve_block(tep, "mm_page_pcpu_drain", 0, &p->drain, errbuf, errlen)) ||
	    (err = resolve_block(tep, "mm_page_pcpu_refill", 0, &p->refill, errbuf, errlen)) ||
	    (err = resolve(tep, "mm_page_pcpu_refill_zone_locked", lock, 3, &p->refill_lock, errbuf, errlen)) ||
	    (err = resolve(tep, "mm_page_pcpu_drain_zone_locked", lock, 3, &p->drain_lock, errbuf, errlen)))
		goto fail;

	if (requested == PCP_REFILL_NATIVE && p->refill.id < 0) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "--refill-source native: the trace has no kmem:mm_page_pcpu_refill event");
		err = PCP_ERR_MODE;
		goto fail;
	}
	if (requested == PCP_REFILL_NATIVE || (requested == PCP_REFILL_AUTO && p->refill.id >= 0))
		p->source = PCP_REFILL_NATIVE;
	else
		p->source = PCP_REFILL_FALLBACK;

	p->alloc_locked.id = -1;
	p->ignored_ids[0] = p->ignored_ids[1] = p->ignored_ids[2] = -1;
	if (p->source == PCP_REFILL_FALLBACK) {
		/* percpu_refill is only needed in fallback mode, so only looked up there. */
		if ((err = resolve_block(tep, "mm_page_alloc_zone_locked", 1, &p->alloc_locked, errbuf, errlen)))
			goto fail;
		if (p->alloc_locked.id >= 0 && !p->alloc_locked.f[F_PERCPU_REFILL].size)
			p->refill_flag = PCP_REFILL_FLAG_DERIVED;
		/* As if the kernel lacked the patch: its events are invisible (still counted). */
		p->ignored_ids[0] = p->refill.id;
		p->ignored_ids[1] = p->refill_lock.id;
		p->ignored_ids[2] = p->drain_lock.id;
		p->refill.id = p->refill_lock.id = p->drain_lock.id = -1;
	} else {
		p->native_locks = p->refill_lock.id >= 0 && p->drain_lock.id >= 0;
		if (!p->native_locks)   /* one lock event alone cannot give native lock accounting */
			p->refill_lock.id = p->drain_lock.id = -1;
	}
	if ((err = settle_block_key(p, errbuf, errlen)))
		goto fail;
	/* "No page": a NULL pointer, or pfn -1UL of the field's width (4 bytes on 32-bit). */
	if (p->block_key == PCP_BLOCK_KEY_PAGE_POINTER)
		p->no_page = 0;
	else if (p->alloc_locked.id >= 0 && p->alloc_locked.f[F_PFN].size < 8)
		p->no_page = (UINT64_C(1) << (8 * p->alloc_locked.f[F_PFN].size)) - 1;
	else
		p->no_page = ~UINT64_C(0);
	{
		const struct kevent *const evs[] = { &p->drain, &p->refill, &p->alloc_locked,
						     &p->refill_lock, &p->drain_lock };
		resolve_pid(p, evs, 5);
	}
	*out = p;
	return PCP_OK;
fail:
	free(p);
	return err;
}

/* mm_page_free has no migratetype: (pfn or page, order). */
static int resolve_free(struct tep_handle *tep, struct kevent *ke, char *errbuf, size_t errlen)
{
	static const char *const by_pfn[] = { "pfn", "order" };
	static const char *const by_page[] = { "page", "order" };
	struct tep_event *ev = tep_find_event_by_name(tep, "kmem", "mm_page_free");
	int err;

	ke->id = -1;
	ke->page_key = 0;
	if (!ev)
		return PCP_OK;
	if (!tep_find_field(ev, "pfn") && tep_find_field(ev, "page"))
		ke->page_key = 1;
	if ((err = resolve(tep, "mm_page_free", ke->page_key ? by_page : by_pfn, 2, ke, errbuf, errlen)))
		return err;
	ke->f[F_MIGRATETYPE].offset = ke->f[F_MIGRATETYPE].size = 0;
	return PCP_OK;
}

int pcp_kmem_parser_enable_lifecycle(struct pcp_kmem_parser *p, char *errbuf, size_t errlen)
{
	const struct kevent *blocks[] = { &p->drain, &p->refill, &p->alloc_locked, &p->page_alloc,
					  &p->page_free, &p->zone_locked };
	const char *names[] = { "mm_page_pcpu_drain", "mm_page_pcpu_refill", "mm_page_alloc_zone_locked",
				"mm_page_alloc", "mm_page_free", "mm_page_alloc_zone_locked" };
	int err, first = -1;

	if ((err = resolve_block(p->tep, "mm_page_alloc", 0, &p->page_alloc, errbuf, errlen)) ||
	    (err = resolve_free(p->tep, &p->page_free, errbuf, errlen)))
		goto fail;
	/* Native mode did not resolve it: the lifecycle's buddy-vs-PCP rule needs it there too. */
	if (p->source == PCP_REFILL_NATIVE &&
	    (err = resolve_block(p->tep, "mm_page_alloc_zone_locked", 0, &p->zone_locked, errbuf, errlen)))
		goto fail;
	for (int i = 0; i < 6; i++) {
		if (blocks[i]->id < 0)
			continue;
		if (first < 0)
			first = i;
		else if (blocks[i]->page_key != blocks[first]->page_key) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT,
					 "kmem:%s has a '%s' field but kmem:%s a '%s' field: blocks "
					 "cannot be followed", names[first],
					 blocks[first]->page_key ? "page" : "pfn", names[i],
					 blocks[i]->page_key ? "page" : "pfn");
			goto fail;
		}
	}
	if (first >= 0)
		p->block_key = blocks[first]->page_key ? PCP_BLOCK_KEY_PAGE_POINTER : PCP_BLOCK_KEY_PFN;
	if (p->page_alloc.id >= 0)
		p->alloc_no_page = no_page_of(&p->page_alloc);
	if (p->zone_locked.id >= 0)
		p->no_page = no_page_of(&p->zone_locked);
	resolve_pid(p, blocks, 6);
	p->lifecycle = 1;
	return PCP_OK;
fail:
	p->page_alloc.id = p->page_free.id = p->zone_locked.id = -1;
	return err;
}

int pcp_kmem_has_lifecycle(const struct pcp_kmem_parser *p)
{
	return p->lifecycle && p->page_alloc.id >= 0 && p->page_free.id >= 0;
}

void pcp_kmem_parser_free(struct pcp_kmem_parser *p)
{
	free(p);
}

enum pcp_refill_source pcp_kmem_refill_source(const struct pcp_kmem_parser *p)
{
	return p->source;
}

int pcp_kmem_native_locks(const struct pcp_kmem_parser *p)
{
	return p->native_locks;
}

enum pcp_block_key pcp_kmem_block_key(const struct pcp_kmem_parser *p)
{
	return p->block_key;
}

enum pcp_refill_flag pcp_kmem_refill_flag(const struct pcp_kmem_parser *p)
{
	return p->refill_flag;
}

static inline uint64_t field(const struct pcp_kmem_parser *p, const struct tep_record *rec, const struct kfield *f)
{
	const char *at = (const char *)rec->data + f->offset;

	/* A file in the host's byte order (every local recording): a plain load, inlined. Else
	 * tep_read_number swaps. Sizes are 1, 2, 4 or 8 (checked at resolve). */
	if (p->host_order) {
		switch (f->size) {
		case 8: { uint64_t v; memcpy(&v, at, 8); return v; }
		case 4: { uint32_t v; memcpy(&v, at, 4); return v; }
		case 2: { uint16_t v; memcpy(&v, at, 2); return v; }
		default: return *(const uint8_t *)at;
		}
	}
	return tep_read_number(p->tep, at, f->size);
}

static inline int32_t field_s32(const struct pcp_kmem_parser *p, const struct tep_record *rec, const struct kfield *f)
{
	uint64_t v = field(p, rec, f);
	/* sign-extend from the field's width */
	if (f->size < 8 && (v >> (8 * f->size - 1)) & 1)
		v |= ~0ULL << (8 * f->size);
	return (int32_t)(int64_t)v;
}

/* A field must lie inside the record's payload; a damaged record is decoded as OTHER. */
static inline int fits(const struct tep_record *rec, const struct kfield *f, int n)
{
	for (int i = 0; i < n; i++)
		if (f[i].offset + f[i].size > rec->size)
			return 0;
	return 1;
}

static inline int32_t read_pid(const struct pcp_kmem_parser *p, const struct tep_record *rec)
{
	if (!p->pid.size || !fits(rec, &p->pid, 1))
		return -1;
	return field_s32(p, rec, &p->pid);
}

static inline int decode_block(const struct pcp_kmem_parser *p, const struct tep_record *rec,
			       const struct kevent *ke, int kind, struct pcp_event *ev)
{
	if (!fits(rec, ke->f, 3))
		return PCP_EV_OTHER;
	ev->block.pfn = field(p, rec, &ke->f[F_PFN]);
	ev->block.order = (uint32_t)field(p, rec, &ke->f[F_ORDER]);
	ev->block.migratetype = field_s32(p, rec, &ke->f[F_MIGRATETYPE]);
	ev->pid = read_pid(p, rec);
	ev->kind = (uint8_t)kind;
	return kind;
}

/* mm_page_free: no migratetype (-1). */
static inline int decode_free(const struct pcp_kmem_parser *p, const struct tep_record *rec,
			      struct pcp_event *ev)
{
	const struct kevent *ke = &p->page_free;

	if (!fits(rec, ke->f, 2))
		return PCP_EV_OTHER;
	ev->block.pfn = field(p, rec, &ke->f[F_PFN]);
	ev->block.order = (uint32_t)field(p, rec, &ke->f[F_ORDER]);
	ev->block.migratetype = -1;
	ev->pid = read_pid(p, rec);
	ev->kind = PCP_EV_PAGE_FREE;
	return PCP_EV_PAGE_FREE;
}

static inline int decode_lock(const struct pcp_kmem_parser *p, const struct tep_record *rec,
			      const struct kevent *ke, int kind, struct pcp_event *ev)
{
	if (!fits(rec, ke->f, 3))
		return PCP_EV_OTHER;
	ev->lock.nid = field_s32(p, rec, &ke->f[F_NID]);
	ev->lock.zid = field_s32(p, rec, &ke->f[F_ZID]);
	ev->lock.nr_pages = field(p, rec, &ke->f[F_NR_PAGES]);
	ev->pid = read_pid(p, rec);
	ev->kind = (uint8_t)kind;
	return kind;
}

int pcp_kmem_decode(const struct pcp_kmem_parser *p, const struct tep_record *rec, int event_id,
		    struct pcp_event *ev)
{
	/* -1 is both tep_data_type()'s "unreadable" and the id of an event absent from the trace */
	if (event_id < 0)
		return PCP_EV_OTHER;
	if (event_id == p->drain.id)
		return decode_block(p, rec, &p->drain, PCP_EV_DRAIN, ev);
	if (event_id == p->alloc_locked.id) {
		const struct kfield *pr = &p->alloc_locked.f[F_PERCPU_REFILL];
		/* percpu_refill == 0: a direct buddy allocation, not a refill; without the field
		 * the kernel's own print fmt said order == 0 (refill_flag derived). */
		int refill;

		if (pr->size) {
			if (!fits(rec, p->alloc_locked.f, 4))
				return PCP_EV_OTHER;
			refill = field(p, rec, pr) != 0;
		} else {
			if (!fits(rec, p->alloc_locked.f, 3))
				return PCP_EV_OTHER;
			refill = field(p, rec, &p->alloc_locked.f[F_ORDER]) == 0;
		}
		/* Not a refill: a direct buddy allocation, seen only by the lifecycle model. */
		if (!refill && !p->lifecycle)
			return PCP_EV_OTHER;
		if (field(p, rec, &p->alloc_locked.f[F_PFN]) == p->no_page)
			return PCP_EV_OTHER;
		return decode_block(p, rec, &p->alloc_locked, refill ? PCP_EV_REFILL : PCP_EV_ZONE_LOCKED, ev);
	}
	if (event_id == p->page_alloc.id) {
		/* a failed allocation (no page) does not touch any block */
		if (!fits(rec, p->page_alloc.f, 3) ||
		    field(p, rec, &p->page_alloc.f[F_PFN]) == p->alloc_no_page)
			return PCP_EV_OTHER;
		return decode_block(p, rec, &p->page_alloc, PCP_EV_PAGE_ALLOC, ev);
	}
	if (event_id == p->page_free.id)
		return decode_free(p, rec, ev);
	if (event_id == p->zone_locked.id) {
		if (!fits(rec, p->zone_locked.f, 3) ||
		    field(p, rec, &p->zone_locked.f[F_PFN]) == p->no_page)
			return PCP_EV_OTHER;
		return decode_block(p, rec, &p->zone_locked, PCP_EV_ZONE_LOCKED, ev);
	}
	if (event_id == p->refill.id)
		return decode_block(p, rec, &p->refill, PCP_EV_REFILL, ev);
	if (event_id == p->refill_lock.id)
		return decode_lock(p, rec, &p->refill_lock, PCP_EV_REFILL_LOCK, ev);
	if (event_id == p->drain_lock.id)
		return decode_lock(p, rec, &p->drain_lock, PCP_EV_DRAIN_LOCK, ev);
	if (event_id == p->ignored_ids[0] || event_id == p->ignored_ids[1] || event_id == p->ignored_ids[2]) {
		if (event_id >= 0) {
			ev->kind = PCP_EV_IGNORED;
			return PCP_EV_IGNORED;
		}
	}
	return PCP_EV_OTHER;
}
