/* percpu:* events -> struct pcp_percpu_op. Event ids and field handles are resolved once per
 * trace by name; a field the kernel lacks reads as 0 (see event.h). When an alloc or free
 * format lacks ptr, both carry ptr = base_addr + off instead (the chunk address of the area,
 * as unique as ptr), so pairing by ptr still works (docs/METRICS.md, "Percpu"). */
#include <stdlib.h>
#include <traceevent/event-parse.h>
#include "common/error.h"
#include "model/percpu.h"

struct field_ref {
	int present;
	int offset, size, is_signed;
};

struct pcp_percpu_parser {
	struct tep_handle *tep;
	int present;
	int synth_ptr;              /* ptr = base_addr + off on allocs and frees */
	int id_alloc, id_free, id_fail, id_create, id_destroy;
	struct { struct field_ref call_site, reserved, is_atomic, size, align, base_addr, off,
		 ptr, bytes_alloc, gfp_flags; } alloc;
	struct { struct field_ref base_addr, off, ptr; } free;
	struct { struct field_ref call_site, reserved, is_atomic, size, align; } fail;
	struct { struct field_ref base_addr; } create, destroy;
	struct field_ref pid;       /* common_pid, from the first percpu event the trace has */
};

static void resolve(struct tep_event *ev, const char *name, struct field_ref *f)
{
	struct tep_format_field *tf = ev ? tep_find_field(ev, name) : NULL;

	f->present = 0;
	/* Only scalar fields we can read whole; anything else counts as absent. */
	if (!tf || (tf->flags & (TEP_FIELD_IS_ARRAY | TEP_FIELD_IS_DYNAMIC | TEP_FIELD_IS_STRING)))
		return;
	if (tf->size != 1 && tf->size != 2 && tf->size != 4 && tf->size != 8)
		return;
	f->present = 1;
	f->offset = tf->offset;
	f->size = tf->size;
	f->is_signed = !!(tf->flags & TEP_FIELD_IS_SIGNED);
}

static struct tep_event *find(struct tep_handle *tep, const char *name, int *id)
{
	struct tep_event *ev = tep ? tep_find_event_by_name(tep, "percpu", name) : NULL;
	*id = ev ? ev->id : -1;
	return ev;
}

int pcp_percpu_parser_new(struct tep_handle *tep, struct pcp_percpu_parser **out)
{
	struct pcp_percpu_parser *p = calloc(1, sizeof(*p));
	struct tep_event *ev;

	*out = NULL;
	if (!p)
		return PCP_ERR_NOMEM;
	p->tep = tep;

	ev = find(tep, "percpu_alloc_percpu", &p->id_alloc);
	resolve(ev, "call_site", &p->alloc.call_site);
	resolve(ev, "reserved", &p->alloc.reserved);
	resolve(ev, "is_atomic", &p->alloc.is_atomic);
	resolve(ev, "size", &p->alloc.size);
	resolve(ev, "align", &p->alloc.align);
	resolve(ev, "base_addr", &p->alloc.base_addr);
	resolve(ev, "off", &p->alloc.off);
	resolve(ev, "ptr", &p->alloc.ptr);
	resolve(ev, "bytes_alloc", &p->alloc.bytes_alloc);
	resolve(ev, "gfp_flags", &p->alloc.gfp_flags);

	ev = find(tep, "percpu_free_percpu", &p->id_free);
	resolve(ev, "base_addr", &p->free.base_addr);
	resolve(ev, "off", &p->free.off);
	resolve(ev, "ptr", &p->free.ptr);

	ev = find(tep, "percpu_alloc_percpu_fail", &p->id_fail);
	resolve(ev, "call_site", &p->fail.call_site); /* no kernel has it yet; harmless */
	resolve(ev, "reserved", &p->fail.reserved);
	resolve(ev, "is_atomic", &p->fail.is_atomic);
	resolve(ev, "size", &p->fail.size);
	resolve(ev, "align", &p->fail.align);

	ev = find(tep, "percpu_create_chunk", &p->id_create);
	resolve(ev, "base_addr", &p->create.base_addr);
	ev = find(tep, "percpu_destroy_chunk", &p->id_destroy);
	resolve(ev, "base_addr", &p->destroy.base_addr);

	{
		const int ids[] = { p->id_alloc, p->id_free, p->id_fail, p->id_create, p->id_destroy };

		for (int i = 0; i < 5 && !p->pid.present; i++) {
			struct tep_event *e = ids[i] >= 0 ? tep_find_event(tep, ids[i]) : NULL;
			struct tep_format_field *tf = e ? tep_find_common_field(e, "common_pid") : NULL;

			if (tf && tf->size == 4) {
				p->pid.present = 1;
				p->pid.offset = tf->offset;
				p->pid.size = tf->size;
				p->pid.is_signed = 1;
			}
		}
	}

	p->present = p->id_alloc >= 0 || p->id_free >= 0 || p->id_fail >= 0 ||
		     p->id_create >= 0 || p->id_destroy >= 0;
	p->synth_ptr = (p->id_alloc >= 0 && !p->alloc.ptr.present) ||
		       (p->id_free >= 0 && !p->free.ptr.present);
	*out = p;
	return PCP_OK;
}

void pcp_percpu_parser_free(struct pcp_percpu_parser *p)
{
	free(p);
}

int pcp_percpu_parser_present(const struct pcp_percpu_parser *p)
{
	return p->present;
}

int pcp_percpu_parser_synthetic_ptr(const struct pcp_percpu_parser *p)
{
	return p->synth_ptr;
}

static inline uint64_t rd(const struct pcp_percpu_parser *p, const struct tep_record *rec,
			  const struct field_ref *f)
{
	if (!f->present || f->offset + f->size > rec->size)
		return 0;
	uint64_t v = tep_read_number(p->tep, (const char *)rec->data + f->offset, f->size);
	if (f->is_signed && f->size < 8) {
		unsigned shift = 64 - 8 * (unsigned)f->size;
		v = (uint64_t)((int64_t)(v << shift) >> shift);
	}
	return v;
}

int pcp_percpu_decode(const struct pcp_percpu_parser *p, struct tep_record *rec, int event_id,
		      struct pcp_event *ev)
{
	struct pcp_percpu_op *op = &ev->percpu;

	if (event_id < 0)
		return PCP_EV_OTHER;
	if (event_id == p->id_alloc) {
		*op = (struct pcp_percpu_op){0};
		op->call_site = rd(p, rec, &p->alloc.call_site);
		op->reserved = rd(p, rec, &p->alloc.reserved) != 0;
		op->is_atomic = rd(p, rec, &p->alloc.is_atomic) != 0;
		op->size = rd(p, rec, &p->alloc.size);
		op->align = rd(p, rec, &p->alloc.align);
		op->base_addr = rd(p, rec, &p->alloc.base_addr);
		op->off = (int32_t)rd(p, rec, &p->alloc.off);
		op->ptr = p->synth_ptr ? op->base_addr + (uint64_t)(int64_t)op->off
				       : rd(p, rec, &p->alloc.ptr);
		op->bytes_alloc = rd(p, rec, &p->alloc.bytes_alloc);
		op->gfp_flags = rd(p, rec, &p->alloc.gfp_flags);
		ev->kind = PCP_EV_PERCPU_ALLOC;
	} else if (event_id == p->id_free) {
		*op = (struct pcp_percpu_op){0};
		op->base_addr = rd(p, rec, &p->free.base_addr);
		op->off = (int32_t)rd(p, rec, &p->free.off);
		op->ptr = p->synth_ptr ? op->base_addr + (uint64_t)(int64_t)op->off
				       : rd(p, rec, &p->free.ptr);
		ev->kind = PCP_EV_PERCPU_FREE;
	} else if (event_id == p->id_fail) {
		*op = (struct pcp_percpu_op){0};
		op->call_site = rd(p, rec, &p->fail.call_site);
		op->reserved = rd(p, rec, &p->fail.reserved) != 0;
		op->is_atomic = rd(p, rec, &p->fail.is_atomic) != 0;
		op->size = rd(p, rec, &p->fail.size);
		op->align = rd(p, rec, &p->fail.align);
		ev->kind = PCP_EV_PERCPU_FAIL;
	} else if (event_id == p->id_create) {
		*op = (struct pcp_percpu_op){0};
		op->base_addr = rd(p, rec, &p->create.base_addr);
		ev->kind = PCP_EV_PERCPU_CHUNK_CREATE;
	} else if (event_id == p->id_destroy) {
		*op = (struct pcp_percpu_op){0};
		op->base_addr = rd(p, rec, &p->destroy.base_addr);
		ev->kind = PCP_EV_PERCPU_CHUNK_DESTROY;
	} else {
		return PCP_EV_OTHER;
	}
	ev->pid = p->pid.present && p->pid.offset + p->pid.size <= (int)rec->size
		  ? (int32_t)rd(p, rec, &p->pid) : -1;
	return ev->kind;
}
