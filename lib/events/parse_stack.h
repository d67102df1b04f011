/* Parser of ftrace:kernel_stack, the record the ftrace `stacktrace` trigger writes
 * (pcprecord --stacks): the return addresses, innermost first. The event id and the size and
 * caller fields are resolved by name once per trace; the caller array is read up to the
 * record's end (the format declares 8 entries, the kernel writes `size` of them). */
#ifndef PCPTRACE_PARSE_STACK_H
#define PCPTRACE_PARSE_STACK_H

#include <stdint.h>

struct tep_handle;
struct tep_record;

/* Frames kept per stack: the innermost ones (a deeper stack loses its outermost frames). */
#define PCP_STACK_MAX_FRAMES 64

struct pcp_stack_parser;

/* PCP_ERR_NOMEM, or PCP_OK with *out (present or not: pcp_stack_parser_present). A
 * kernel_stack format without a scalar `size` or an unsigned long `caller` array counts as
 * absent. */
int pcp_stack_parser_new(struct tep_handle *tep, struct pcp_stack_parser **out);
void pcp_stack_parser_free(struct pcp_stack_parser *p);
int pcp_stack_parser_present(const struct pcp_stack_parser *p);
/* The kernel_stack event id, -1 when absent. */
int pcp_stack_event_id(const struct pcp_stack_parser *p);

/* Hot path. The record's addresses into frames (at most PCP_STACK_MAX_FRAMES, innermost
 * first), their number returned (0 for an empty or damaged record); *pid from common_pid, -1
 * without that field. */
unsigned pcp_stack_decode(const struct pcp_stack_parser *p, const struct tep_record *rec,
			  uint64_t *frames, int32_t *pid);

#endif
