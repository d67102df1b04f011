/* A running recording's figures so far, from the kernel's per-CPU ring-buffer stats of the
 * instance (per_cpu/cpuN/stats) and the size of each CPU's spool file: what pcprecord's status
 * line and loss notice show (record/progress.c). Cheap enough to read once a second; not
 * exact to the event (the partial last sub-buffer, events in flight): the summary at the end
 * has the exact counts. */
#ifndef PCPTRACE_RECORD_LIVE_STATS_H
#define PCPTRACE_RECORD_LIVE_STATS_H

#include <stdint.h>
#include "record/record.h"

struct pcp_record_live_cpu {
	int recorded;      /* its stats were read */
	uint64_t events;   /* kept so far: "read events" + "entries" (read, or still to read) */
	uint64_t lost;     /* "overrun" + "commit overrun" + "dropped events" */
	uint64_t bytes;    /* spooled so far (the spool file's size) */
};

struct pcp_record_live {
	uint64_t events, lost, bytes;   /* sums over the recorded CPUs */
	int lossy_cpus;                 /* CPUs with lost > 0 */
};

/* Reads every recorded CPU's stats (cpus: pcp_record_nr_cpus() entries, or NULL for the sums
 * only) into *sum. 0, or -1 when the instance is gone or no CPU's stats could be read. */
int pcp_record_live_read(const struct pcp_record *r, struct pcp_record_live_cpu *cpus,
			 struct pcp_record_live *sum);

#endif
