/* Names of modes as they appear in trace_info, JSON and the text summary. */
#include "events/event.h"

const char *pcp_refill_source_name(enum pcp_refill_source s)
{
	switch (s) {
	case PCP_REFILL_NATIVE: return "native";
	case PCP_REFILL_FALLBACK: return "fallback";
	default: return "auto";
	}
}

const char *pcp_lock_source_name(enum pcp_lock_source s)
{
	switch (s) {
	case PCP_LOCK_NATIVE: return "native";
	case PCP_LOCK_INFERRED: return "inferred";
	default: return "none";
	}
}

const char *pcp_block_key_name(enum pcp_block_key k)
{
	return k == PCP_BLOCK_KEY_PAGE_POINTER ? "page_pointer" : "pfn";
}

const char *pcp_refill_flag_name(enum pcp_refill_flag f)
{
	return f == PCP_REFILL_FLAG_DERIVED ? "derived" : "field";
}
