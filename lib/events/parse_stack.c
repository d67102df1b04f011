/* ftrace:kernel_stack records -> return addresses (events/parse_stack.h). */
#include <stdlib.h>
#include <traceevent/event-parse.h>
#include "common/error.h"
#include "events/parse_stack.h"

struct pcp_stack_parser {
	struct tep_handle *tep;
	int id;                     /* -1: absent */
	int size_off, size_size;
	int caller_off, long_size;
	int pid_off, pid_size;      /* common_pid; size 0: absent */
};

int pcp_stack_parser_new(struct tep_handle *tep, struct pcp_stack_parser **out)
{
	struct pcp_stack_parser *p = calloc(1, sizeof(*p));
	struct tep_event *ev = tep ? tep_find_event_by_name(tep, "ftrace", "kernel_stack") : NULL;
	struct tep_format_field *size = ev ? tep_find_field(ev, "size") : NULL;
	struct tep_format_field *caller = ev ? tep_find_field(ev, "caller") : NULL;

	*out = NULL;
	if (!p)
		return PCP_ERR_NOMEM;
	p->tep = tep;
	p->id = -1;
	if (size && caller && (caller->flags & TEP_FIELD_IS_ARRAY) &&
	    !(size->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_DYNAMIC)) &&
	    (size->size == 4 || size->size == 8)) {
		int ls = caller->elementsize ? (int)caller->elementsize : tep_get_long_size(tep);

		if (ls == 4 || ls == 8) {
			p->id = ev->id;
			p->size_off = size->offset;
			p->size_size = size->size;
			p->caller_off = caller->offset;
			p->long_size = ls;
		}
		size = tep_find_common_field(ev, "common_pid");
		if (size && (size->size == 4 || size->size == 2)) {
			p->pid_off = size->offset;
			p->pid_size = size->size;
		}
	}
	*out = p;
	return PCP_OK;
}

void pcp_stack_parser_free(struct pcp_stack_parser *p)
{
	free(p);
}

int pcp_stack_parser_present(const struct pcp_stack_parser *p)
{
	return p && p->id >= 0;
}

int pcp_stack_event_id(const struct pcp_stack_parser *p)
{
	return p ? p->id : -1;
}

unsigned pcp_stack_decode(const struct pcp_stack_parser *p, const struct tep_record *rec,
			  uint64_t *frames, int32_t *pid)
{
	const char *data = rec->data;
	unsigned long long declared;
	unsigned n, room, i, out = 0;

	*pid = -1;
	if (p->pid_size && rec->size >= p->pid_off + p->pid_size)
		*pid = (int32_t)tep_read_number(p->tep, data + p->pid_off, p->pid_size);
	if (rec->size < p->size_off + p->size_size || rec->size < p->caller_off)
		return 0;
	declared = tep_read_number(p->tep, data + p->size_off, p->size_size);
	room = (unsigned)(rec->size - p->caller_off) / (unsigned)p->long_size;
	n = declared < room ? (unsigned)declared : room;
	for (i = 0; i < n && out < PCP_STACK_MAX_FRAMES; i++) {
		uint64_t a = tep_read_number(p->tep, data + p->caller_off + (size_t)i * p->long_size,
					     p->long_size);
		/* ULONG_MAX ends the stack on older kernels; zeros pad it */
		if (!a || a == (p->long_size == 8 ? UINT64_MAX : UINT32_MAX))
			break;
		frames[out++] = a;
	}
	return out;
}
