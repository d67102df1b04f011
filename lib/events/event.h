/* Small typed events: what the parsers hand to the models. Plain data, no pointers. */
#ifndef PCPTRACE_EVENT_H
#define PCPTRACE_EVENT_H

#include <stdint.h>

enum pcp_event_kind {
	PCP_EV_IGNORED = 0,       /* invisible in this mode (patch events in fallback mode) */
	PCP_EV_OTHER,             /* any other record: only its time and CPU matter */
	PCP_EV_REFILL,            /* block put on a PCP list (native or fallback source) */
	PCP_EV_DRAIN,             /* block drained from a PCP list to the buddy allocator */
	PCP_EV_REFILL_LOCK,       /* zone->lock taken for a PCP refill (native) */
	PCP_EV_DRAIN_LOCK,        /* zone->lock taken for a PCP drain (native) */
	PCP_EV_PERCPU_ALLOC,
	PCP_EV_PERCPU_FREE,
	PCP_EV_PERCPU_FAIL,
	PCP_EV_PERCPU_CHUNK_CREATE,
	PCP_EV_PERCPU_CHUNK_DESTROY,
	/* Lifecycle events (lib/model/lifecycle.h): decoded only after
	 * pcp_kmem_parser_enable_lifecycle(), else they are OTHER as before. */
	PCP_EV_PAGE_ALLOC,        /* kmem:mm_page_alloc: a block handed out (block) */
	PCP_EV_PAGE_FREE,         /* kmem:mm_page_free: a block freed (block, migratetype -1) */
	PCP_EV_ZONE_LOCKED,       /* kmem:mm_page_alloc_zone_locked not decoded as a REFILL:
				   * fallback: percpu_refill=0; native: every record (block) */
	PCP_EV_STACK,             /* ftrace:kernel_stack (pcprecord --stacks; lib/model/lock_cause.h):
				   * stack.id names the interned stack; invisible to the churn model */
};

enum pcp_refill_source {
	PCP_REFILL_AUTO = 0,      /* only as a request: native if the trace has it, else fallback */
	PCP_REFILL_NATIVE,        /* kmem:mm_page_pcpu_refill (seed patch) */
	PCP_REFILL_FALLBACK,      /* kmem:mm_page_alloc_zone_locked with percpu_refill=1 */
};

enum pcp_lock_source {
	PCP_LOCK_NONE = 0,
	PCP_LOCK_NATIVE,          /* kmem:mm_page_pcpu_{refill,drain}_zone_locked */
	PCP_LOCK_INFERRED,        /* runs of refills/drains on one CPU, see docs/METRICS.md */
};

/* What identifies a page block (docs/METRICS.md, "Older kernels' formats"). */
enum pcp_block_key {
	PCP_BLOCK_KEY_PFN = 0,            /* the events' pfn field (Linux 4.1 and later) */
	PCP_BLOCK_KEY_PAGE_POINTER,       /* no pfn field: the struct page * 'page' field */
};

/* Where fallback mode's percpu_refill comes from. */
enum pcp_refill_flag {
	PCP_REFILL_FLAG_FIELD = 0,        /* the percpu_refill field (Linux 5.19 and later) */
	PCP_REFILL_FLAG_DERIVED,          /* no such field: order == 0, as the older print fmt */
};

const char *pcp_refill_source_name(enum pcp_refill_source s); /* "native", "fallback", "auto" */
const char *pcp_lock_source_name(enum pcp_lock_source s);     /* "native", "inferred", "none" */
const char *pcp_block_key_name(enum pcp_block_key k);         /* "pfn", "page_pointer" */
const char *pcp_refill_flag_name(enum pcp_refill_flag f);     /* "field", "derived" */

/* The largest block order the models count: 2^32 pages (16 TB of 4 KB pages), far above any
 * kernel's (MAX_PAGE_ORDER is 10 on x86-64; pageblocks reach order 13 on arm64 with 64 KB
 * pages). A larger order is damaged data (the models' bad_order), and 2^order pages stays far
 * inside the 64-bit page sums (occupancy is a signed sum of +-2^order: 2^63 would not negate). */
#define PCP_MAX_BLOCK_ORDER 32

/* The kinds whose event is a page block (pcp_event.block). */
#define PCP_BLOCK_KINDS (1u << PCP_EV_REFILL | 1u << PCP_EV_DRAIN | 1u << PCP_EV_PAGE_ALLOC | \
			 1u << PCP_EV_PAGE_FREE | 1u << PCP_EV_ZONE_LOCKED)

struct pcp_page_block {
	uint64_t pfn;             /* the block id: PFN, or the page pointer (pcp_block_key) */
	uint32_t order;
	int32_t migratetype;
};

struct pcp_zone_lock_op {
	int32_t nid;
	int32_t zid;
	uint64_t nr_pages;
};

/* Fields the kernel may lack are 0 (older kernels lack ptr, bytes_alloc, gfp_flags). */
struct pcp_percpu_op {
	uint64_t call_site;
	uint64_t size;
	uint64_t align;
	uint64_t base_addr;
	uint64_t ptr;
	uint64_t bytes_alloc;
	uint64_t gfp_flags;
	int32_t off;
	uint8_t reserved;
	uint8_t is_atomic;
};

struct pcp_event {
	uint64_t ts_ns;
	uint32_t cpu;
	int32_t pid;              /* common_pid of the record (kmem and percpu events decoded by
				   * the parsers); -1 when the trace has no common_pid field */
	uint8_t kind;             /* enum pcp_event_kind */
	union {
		struct pcp_page_block block;    /* REFILL, DRAIN */
		struct pcp_zone_lock_op lock;   /* REFILL_LOCK, DRAIN_LOCK */
		struct pcp_percpu_op percpu;    /* PERCPU_* */
		struct { uint32_t id; } stack;  /* STACK: lock_cause.h's stack id */
	};
};

#endif
