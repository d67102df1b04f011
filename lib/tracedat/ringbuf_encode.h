/*
 * Ring-buffer sub-buffer page encoder: turns (timestamp, event data) pairs into the pages the
 * kernel's ftrace ring buffer hands out through trace_pipe_raw, so that a trace.dat built from
 * them reads back with libtracecmd / trace-cmd report exactly like a recorded one.
 *
 * Page layout (tracefs events/header_page, events/header_event):
 *   u64 timestamp            absolute time of the page (ns); the first event's delta is from it
 *   long commit              bytes of event data after the header; bit 31 = events were missed
 *                            before this page, bit 30 = their count is stored as a long right
 *                            after the data (else the count is unknown)
 *   data[]                   events: u32 header (type_len:5, time_delta:27 in host bit order),
 *                            then the payload. type_len 1..28 = payload of type_len*4 bytes;
 *                            type_len 0 = u32 length follows (payload > 112 bytes); 30 = time
 *                            extend (u32 with delta >> 27 follows) for deltas >= 2^27.
 * All numbers are in host byte order (the writer declares host endianness).
 */
#ifndef PCPTRACE_RINGBUF_ENCODE_H
#define PCPTRACE_RINGBUF_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Called with each finished page (exactly page_size bytes). Return PCP_OK or a pcp_err code. */
typedef int (*pcp_rbenc_flush_fn)(void *ctx, const void *page, size_t page_size);

struct pcp_rbenc;

/*
 * page_size: sub-buffer size in bytes (header included, e.g. 4096); long_size: 4 or 8, the
 * kernel's long (size of header_page's commit field). Returns PCP_OK, PCP_ERR_USAGE (bad sizes)
 * or PCP_ERR_NOMEM.
 */
int pcp_rbenc_create(size_t page_size, int long_size, pcp_rbenc_flush_fn flush, void *ctx,
		     struct pcp_rbenc **out);

/*
 * Append one event: data is the whole record (common_type ... last field), len > 0 bytes.
 * Timestamps must not go backwards on one encoder (PCP_ERR_USAGE). Starts a new page (flushing
 * the current one) when the event does not fit. PCP_ERR_USAGE if the event cannot fit even an
 * empty page; any error of the flush callback is returned as is.
 */
int pcp_rbenc_add(struct pcp_rbenc *e, uint64_t ts, const void *data, size_t len);

/*
 * Lost events before the next event: closes the current page; the next page carries the
 * missed-events flag and, when count > 0, the stored count (count < 0 = unknown count).
 * Several marks before the next event add up (any unknown makes it unknown).
 */
int pcp_rbenc_mark_missed(struct pcp_rbenc *e, long long count);

/* 1 when a missed-events mark waits for an event to carry it. */
int pcp_rbenc_missed_pending(const struct pcp_rbenc *e);

/* Flush the current page if it holds any event. */
int pcp_rbenc_flush(struct pcp_rbenc *e);

/* Number of pages flushed so far and events added so far. */
uint64_t pcp_rbenc_pages(const struct pcp_rbenc *e);
uint64_t pcp_rbenc_events(const struct pcp_rbenc *e);

/* Frees e without flushing. NULL is fine. */
void pcp_rbenc_destroy(struct pcp_rbenc *e);

#endif
