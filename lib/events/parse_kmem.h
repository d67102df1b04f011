/* Parser of the kmem page-allocator events pcptrace analyzes (docs/METRICS.md, "Events and
 * modes"). Event ids and field handles are resolved by name once per trace; decoding one
 * record is a few integer compares and tep_read_number() calls. */
#ifndef PCPTRACE_PARSE_KMEM_H
#define PCPTRACE_PARSE_KMEM_H

#include <stddef.h>
#include "events/event.h"

struct tep_handle;
struct tep_record;

struct pcp_kmem_parser;

/* Resolves the kmem events in tep and decides the refill source: `requested` AUTO picks
 * native when kmem:mm_page_pcpu_refill's format is present, else fallback. Errors:
 * PCP_ERR_MODE (native forced, event absent), PCP_ERR_CORRUPT (an event format lacks a field
 * we need, or block events keyed differently), PCP_ERR_NOMEM; errbuf says which event/field.
 * Older kernels' formats are accepted: 'page' instead of 'pfn', no percpu_refill. */
int pcp_kmem_parser_new(struct tep_handle *tep, enum pcp_refill_source requested,
			struct pcp_kmem_parser **out, char *errbuf, size_t errlen);
void pcp_kmem_parser_free(struct pcp_kmem_parser *p);

/* NATIVE or FALLBACK. */
enum pcp_refill_source pcp_kmem_refill_source(const struct pcp_kmem_parser *p);
/* 1 when refill_source is native and both zone_locked formats are present: lock_source is then
 * native. Otherwise the caller uses inferred (if any refill/drain record was seen) or none. */
int pcp_kmem_native_locks(const struct pcp_kmem_parser *p);

/* How blocks are keyed (pfn, or the page pointer of older kernels' formats) and, in fallback
 * mode, whether percpu_refill is a field or derived (docs/METRICS.md). */
enum pcp_block_key pcp_kmem_block_key(const struct pcp_kmem_parser *p);
enum pcp_refill_flag pcp_kmem_refill_flag(const struct pcp_kmem_parser *p);

/* Opt-in, after pcp_kmem_parser_new: also decode kmem:mm_page_alloc (PAGE_ALLOC; a failed
 * allocation, no page, stays OTHER), kmem:mm_page_free (PAGE_FREE) and the
 * mm_page_alloc_zone_locked records that are not refills (ZONE_LOCKED; in native mode every
 * such record) for the lifecycle model (lib/model/lifecycle.h). Without it the parser decodes
 * exactly what it did before. Errors: PCP_ERR_CORRUPT (a field missing, blocks keyed
 * differently); the parser is then unchanged. */
int pcp_kmem_parser_enable_lifecycle(struct pcp_kmem_parser *p, char *errbuf, size_t errlen);
/* 1 when enabled and the trace has both mm_page_alloc and mm_page_free. */
int pcp_kmem_has_lifecycle(const struct pcp_kmem_parser *p);

/* Hot path. If event_id is one of our kmem events, fills ev's kind and payload and returns the
 * kind (REFILL, DRAIN, REFILL_LOCK, DRAIN_LOCK, IGNORED for the patch events in fallback mode,
 * OTHER for mm_page_alloc_zone_locked records that are not refills / not used in native mode;
 * with the lifecycle enabled also PAGE_ALLOC, PAGE_FREE, ZONE_LOCKED), and ev->pid from
 * common_pid (-1 without that field). Returns PCP_EV_OTHER and leaves ev alone for every other
 * event. Does not touch ts/cpu. */
int pcp_kmem_decode(const struct pcp_kmem_parser *p, const struct tep_record *rec, int event_id,
		    struct pcp_event *ev);

#endif
