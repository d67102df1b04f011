/* Lost events from every source a trace has (docs/METRICS.md, "Lost events"): the
 * missed-event marks in the ring-buffer pages, the file's CPUSTAT (overrun, commit overrun,
 * dropped events) and the recorder's meta (pcprecord's per-CPU counts). */
#ifndef PCPTRACE_EVENT_LOSS_H
#define PCPTRACE_EVENT_LOSS_H

#include <stddef.h>
#include <stdint.h>
#include "tracedat/cpustat.h"

struct pcp_churn_results;
struct pcp_meta;

/* Per CPU: lost = max(known marks, overrun + commit overrun + dropped from CPUSTAT, the same
 * sum from the meta's recording.cpus). Sets c's per-CPU lost_events, events_lost, the
 * events_lost metric and lossy (any source says loss, or a mark of unknown count). meta may be
 * NULL (not this buffer's recorder). source gets the sources that report a loss, comma
 * separated in a fixed order (missed_marks, cpustat_overrun, cpustat_commit_overrun,
 * cpustat_dropped, meta), or "none". */
void pcp_event_loss_apply(struct pcp_churn_results *c, const struct pcp_cpustat *cpustat,
			  uint32_t nr_cpustat, const struct pcp_meta *meta, char *source, size_t len);

#endif
