/* Stack-trace triggers for pcprecord --stacks (record/stack_trigger.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tracefs.h>
#include "common/error.h"
#include "record/stack_trigger.h"

static int enabled(const struct pcp_rec_events *ev, const char *full)
{
	for (size_t i = 0; i < ev->nr; i++)
		if (!strcmp(ev->names[i], full))
			return 1;
	return 0;
}

static int arm_one(struct tracefs_instance *inst, const char *name, const char *event,
		   const char *text, struct pcp_rec_stack_triggers *out, char *errbuf, size_t errlen)
{
	char **n;

	if (tracefs_event_file_write(inst, "kmem", event, "trigger", text) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
				  "cannot arm '%s' on kmem:%s in %s: %s (a kernel without "
				  "CONFIG_STACKTRACE has no stacktrace trigger)", text, event, name,
				  strerror(errno));
	n = realloc(out->armed, (out->nr + 1) * sizeof(*n));
	if (!n)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	out->armed = n;
	if (asprintf(&n[out->nr], "kmem:%s:%s", event, text) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	out->nr++;
	return PCP_OK;
}

/* Whether kmem:event's format has field (older kernels lack percpu_refill). */
static int has_field(const char *event, const char *field)
{
	char *fmt = tracefs_event_file_read(NULL, "kmem", event, "format", NULL);
	char want[64];
	int yes;

	snprintf(want, sizeof(want), " %s;", field);
	yes = fmt && strstr(fmt, want);
	free(fmt);
	return yes;
}

int pcp_rec_stack_triggers_arm(struct tracefs_instance *inst, const char *name,
			       const struct pcp_rec_events *ev, unsigned sample,
			       struct pcp_rec_stack_triggers *out, char *errbuf, size_t errlen)
{
	char text[160], pfn_filter[48] = "";
	int err = PCP_OK;

	memset(out, 0, sizeof(*out));
	out->sample = sample;
	if (!sample || (sample & (sample - 1)))
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
				  "--stacks=%u: expected a power of two", sample);
	if (enabled(ev, "kmem:mm_page_pcpu_refill_zone_locked") &&
	    enabled(ev, "kmem:mm_page_pcpu_drain_zone_locked")) {
		/* one record per bulk operation: a stack for each */
		err = arm_one(inst, name, "mm_page_pcpu_refill_zone_locked", "stacktrace", out,
			      errbuf, errlen);
		if (!err)
			err = arm_one(inst, name, "mm_page_pcpu_drain_zone_locked", "stacktrace", out,
				      errbuf, errlen);
		return err;
	}
	if (sample > 1)
		snprintf(pfn_filter, sizeof(pfn_filter), "!(pfn & %u)", sample - 1);
	if (enabled(ev, "kmem:mm_page_pcpu_drain")) {
		snprintf(text, sizeof(text), "stacktrace%s%s", sample > 1 ? " if " : "", pfn_filter);
		err = arm_one(inst, name, "mm_page_pcpu_drain", text, out, errbuf, errlen);
	}
	if (!err && enabled(ev, "kmem:mm_page_alloc_zone_locked")) {
		const char *refill = has_field("mm_page_alloc_zone_locked", "percpu_refill")
				     ? "percpu_refill == 1" : "order == 0";

		snprintf(text, sizeof(text), "stacktrace if %s%s%s", refill, sample > 1 ? " && " : "",
			 pfn_filter);
		err = arm_one(inst, name, "mm_page_alloc_zone_locked", text, out, errbuf, errlen);
	}
	if (!err && !out->nr)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
				 "--stacks: none of the PCP refill or drain events exists here");
	return err;
}

void pcp_rec_stack_triggers_free(struct pcp_rec_stack_triggers *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->armed[i]);
	free(t->armed);
	memset(t, 0, sizeof(*t));
}
