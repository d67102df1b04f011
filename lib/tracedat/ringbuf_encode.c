/* Builds kernel ring-buffer sub-buffer pages from events (see ringbuf_encode.h for the layout). */
#include "tracedat/ringbuf_encode.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define RB_TYPE_TIME_EXTEND 30u
#define RB_MAX_SMALL_DATA 112u          /* 28 * 4: larger payloads carry an explicit length */
#define RB_TS_BITS 27u
#define RB_MAX_DELTA ((1ull << RB_TS_BITS) - 1)
#define RB_MAX_EXTENDED_DELTA ((1ull << (RB_TS_BITS + 32)) - 1)
#define RB_MISSED_EVENTS (1ull << 31)
#define RB_MISSED_STORED (1ull << 30)
#define RB_COMMIT_MASK ((1ull << 27) - 1)

struct pcp_rbenc {
	size_t page_size;
	int long_size;
	size_t header_size;          /* u64 timestamp + long commit */
	unsigned char *page;
	pcp_rbenc_flush_fn flush;
	void *ctx;

	int page_open;               /* the page holds at least one event */
	size_t used;                 /* bytes of event data on the page */
	size_t capacity;             /* bytes of event data the page can hold */
	uint64_t page_ts;
	uint64_t last_ts;            /* timestamp of the latest event, any page */
	int have_last_ts;
	int page_missed;             /* this page carries the missed-events flag */
	long long page_missed_count; /* > 0: stored count; < 0: unknown */

	int missed_pending;          /* a mark waits for the next page */
	long long missed_pending_count;

	uint64_t pages;
	uint64_t events;
};

static uint32_t event_header(unsigned type_len, uint32_t delta)
{
	/* The kernel's bitfield { u32 type_len:5, time_delta:27; } in host bit order. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return ((uint32_t)type_len << RB_TS_BITS) | (delta & RB_MAX_DELTA);
#else
	return (uint32_t)type_len | ((delta & RB_MAX_DELTA) << 5);
#endif
}

static void put_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put_long(const struct pcp_rbenc *e, unsigned char *p, unsigned long long v)
{
	if (e->long_size == 8) {
		uint64_t v64 = v;
		memcpy(p, &v64, 8);
	} else {
		uint32_t v32 = (uint32_t)v;
		memcpy(p, &v32, 4);
	}
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Bytes an event of len payload bytes takes on a page, header included. */
static size_t event_size(size_t len)
{
	return len <= RB_MAX_SMALL_DATA ? 4 + align4(len) : 8 + align4(len);
}

int pcp_rbenc_create(size_t page_size, int long_size, pcp_rbenc_flush_fn flush, void *ctx,
		     struct pcp_rbenc **out)
{
	struct pcp_rbenc *e;

	*out = NULL;
	if ((long_size != 4 && long_size != 8) || !flush || page_size < 64 ||
	    page_size - 8 - (size_t)long_size > RB_COMMIT_MASK)
		return PCP_ERR_USAGE;
	e = calloc(1, sizeof(*e));
	if (!e)
		return PCP_ERR_NOMEM;
	e->page = calloc(1, page_size);
	if (!e->page) {
		free(e);
		return PCP_ERR_NOMEM;
	}
	e->page_size = page_size;
	e->long_size = long_size;
	e->header_size = 8 + (size_t)long_size;
	e->flush = flush;
	e->ctx = ctx;
	*out = e;
	return PCP_OK;
}

static size_t empty_capacity(const struct pcp_rbenc *e, int with_stored_count)
{
	return e->page_size - e->header_size - (with_stored_count ? (size_t)e->long_size : 0);
}

static void open_page(struct pcp_rbenc *e, uint64_t ts)
{
	memset(e->page, 0, e->page_size);
	e->page_open = 1;
	e->used = 0;
	e->page_ts = ts;
	e->page_missed = e->missed_pending;
	e->page_missed_count = e->missed_pending_count;
	e->missed_pending = 0;
	e->missed_pending_count = 0;
	e->capacity = empty_capacity(e, e->page_missed && e->page_missed_count > 0);
}

int pcp_rbenc_flush(struct pcp_rbenc *e)
{
	unsigned long long commit;
	int err;

	if (!e->page_open)
		return PCP_OK;
	commit = e->used;
	if (e->page_missed) {
		commit |= RB_MISSED_EVENTS;
		if (e->page_missed_count > 0) {
			commit |= RB_MISSED_STORED;
			put_long(e, e->page + e->header_size + e->used,
				 (unsigned long long)e->page_missed_count);
		}
	}
	memcpy(e->page, &e->page_ts, 8);
	put_long(e, e->page + 8, commit);
	e->page_open = 0;
	err = e->flush(e->ctx, e->page, e->page_size);
	if (err)
		return err;
	e->pages++;
	return PCP_OK;
}

int pcp_rbenc_add(struct pcp_rbenc *e, uint64_t ts, const void *data, size_t len)
{
	size_t size = event_size(len);
	uint64_t delta = 0;
	int extend = 0;
	unsigned char *p;
	int err;

	if (!len || !data)
		return PCP_ERR_USAGE;
	if (e->have_last_ts && ts < e->last_ts)
		return PCP_ERR_USAGE;
	/* Must fit an empty page, whether or not it carries a stored missed count. */
	if (size > empty_capacity(e, 1))
		return PCP_ERR_USAGE;

	if (e->page_open) {
		delta = ts - e->last_ts;
		extend = delta > RB_MAX_DELTA;
		if (delta > RB_MAX_EXTENDED_DELTA ||
		    e->used + size + (extend ? 8 : 0) > e->capacity) {
			err = pcp_rbenc_flush(e);
			if (err)
				return err;
		}
	}
	if (!e->page_open) {
		open_page(e, ts);
		delta = 0;
		extend = 0;
	}

	p = e->page + e->header_size + e->used;
	if (extend) {
		put_u32(p, event_header(RB_TYPE_TIME_EXTEND, (uint32_t)(delta & RB_MAX_DELTA)));
		put_u32(p + 4, (uint32_t)(delta >> RB_TS_BITS));
		p += 8;
		e->used += 8;
		delta = 0;
	}
	if (len <= RB_MAX_SMALL_DATA) {
		put_u32(p, event_header((unsigned)(align4(len) / 4), (uint32_t)delta));
		memcpy(p + 4, data, len);
	} else {
		put_u32(p, event_header(0, (uint32_t)delta));
		put_u32(p + 4, (uint32_t)(align4(len) + 4));
		memcpy(p + 8, data, len);
	}
	e->used += size;
	e->last_ts = ts;
	e->have_last_ts = 1;
	e->events++;
	return PCP_OK;
}

int pcp_rbenc_mark_missed(struct pcp_rbenc *e, long long count)
{
	int err;

	if (count == 0)
		return PCP_ERR_USAGE;
	err = pcp_rbenc_flush(e);
	if (err)
		return err;
	if (e->missed_pending && (e->missed_pending_count < 0 || count < 0))
		e->missed_pending_count = -1;
	else
		e->missed_pending_count += count;
	e->missed_pending = 1;
	return PCP_OK;
}

int pcp_rbenc_missed_pending(const struct pcp_rbenc *e)
{
	return e->missed_pending;
}

uint64_t pcp_rbenc_pages(const struct pcp_rbenc *e)
{
	return e->pages;
}

uint64_t pcp_rbenc_events(const struct pcp_rbenc *e)
{
	return e->events;
}

void pcp_rbenc_destroy(struct pcp_rbenc *e)
{
	if (!e)
		return;
	free(e->page);
	free(e);
}
