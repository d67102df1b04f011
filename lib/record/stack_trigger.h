/* pcprecord --stacks (issue 12): ftrace `stacktrace` triggers in the recorder's instance on
 * the events that start or carry a PCP bulk operation, so that each operation's kernel stack
 * (ftrace:kernel_stack, written right after the triggering event) can say why it happened.
 * Native mode (the seed patch's *_zone_locked events, one per operation): every such event.
 * Fallback mode (one event per block): kmem:mm_page_pcpu_drain and the refill records of
 * kmem:mm_page_alloc_zone_locked whose PFN is a multiple of `sample` (an ftrace filter, so the
 * kernel takes 1 stack per `sample` blocks instead of one per block). The triggers live in the
 * instance: its removal (rmdir) removes them, on every exit path. */
#ifndef PCPTRACE_RECORD_STACK_TRIGGER_H
#define PCPTRACE_RECORD_STACK_TRIGGER_H

#include <stddef.h>
#include "record/instance.h"

struct tracefs_instance;

/* The triggers armed: "system:event:trigger text", for the meta file. */
struct pcp_rec_stack_triggers {
	char **armed;
	size_t nr;
	unsigned sample;
};

/* sample: a power of two >= 1 (1: every block). PCP_ERR_USAGE when none of the events
 * exists in the instance, PCP_ERR_TRACEFS when the kernel refuses a trigger (no stacktrace
 * trigger: CONFIG_STACKTRACE off), PCP_ERR_NOMEM. What was armed stays armed until the
 * instance goes. */
int pcp_rec_stack_triggers_arm(struct tracefs_instance *inst, const char *name,
			       const struct pcp_rec_events *ev, unsigned sample,
			       struct pcp_rec_stack_triggers *out, char *errbuf, size_t errlen);
void pcp_rec_stack_triggers_free(struct pcp_rec_stack_triggers *t);

#endif
