/*
 * The recorder's tracefs instance (record.h): created new or not at all, tracing off, buffer
 * size, trace clock, CPU mask, reader wake-up percentage, the PCP/percpu events (and -e, and
 * --lifecycle) enabled in it; removal; clean-up of instances left by killed recorders. Only
 * this file writes to tracefs; the top-level buffer and other instances are never written to.
 */
#ifndef PCPTRACE_RECORD_INSTANCE_H
#define PCPTRACE_RECORD_INSTANCE_H

#include <stddef.h>
#include "record/record.h"

struct tracefs_instance;

/* The events enabled in the instance, and the wanted ones this kernel lacks. */
struct pcp_rec_events {
	char **names;               /* "system:event", in the order they were enabled */
	size_t nr;
	char **missing;             /* "system:event" or "system:*" */
	size_t nr_missing;
	int native_refill;          /* kmem:mm_page_pcpu_refill exists */
};

/* What the instance was set to (the kernel's answer, not just what was asked). */
struct pcp_rec_instance_setup {
	size_t buffer_kb;           /* per-CPU ring buffer size */
	unsigned int subbuf_size;   /* bytes per ring-buffer sub-buffer (page) */
	char *clock;                /* trace clock selected (malloc'ed) */
};

/* A new instance called name; PCP_ERR_TRACEFS when it cannot be made or already exists (an
 * existing one is never touched). */
int pcp_rec_instance_create(const char *name, struct tracefs_instance **out, char *errbuf,
			    size_t errlen);
/* Tracing off, buffer size, clock, CPU mask, buffer_percent. PCP_ERR_USAGE for a clock this
 * kernel does not offer, PCP_ERR_TRACEFS. */
int pcp_rec_instance_setup(struct tracefs_instance *inst, const char *name,
			   const struct pcp_record_opts *o, struct pcp_rec_instance_setup *out,
			   char *errbuf, size_t errlen);
/* The PCP and percpu events (+ lifecycle, + -e) that exist, into ev. PCP_ERR_USAGE (bad -e),
 * PCP_ERR_NO_EVENT_AVAIL (none exists), PCP_ERR_TRACEFS, PCP_ERR_NOMEM. */
int pcp_rec_instance_enable_events(struct tracefs_instance *inst, const char *name,
				   const struct pcp_record_opts *o, struct pcp_rec_events *ev,
				   char *errbuf, size_t errlen);
void pcp_rec_events_free(struct pcp_rec_events *ev);
/* "system:event" into sys (syslen bytes) and *ev (points into full); -1 if not of that form. */
int pcp_rec_event_split(const char *full, char *sys, size_t syslen, const char **ev);
/* Tracing off, the instance removed (rmdir disables its events, frees its buffers) and freed;
 * *inst = NULL. -1 if the removal failed. NULL is fine. */
int pcp_rec_instance_remove(struct tracefs_instance **inst);

#endif
