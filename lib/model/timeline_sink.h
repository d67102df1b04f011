/* The narrow hooks a timeline writer (lib/output/perfetto.c) gets from the models while one
 * analysis runs: acquisitions as the zone-lock hold model closes them, percpu operations with
 * the percpu model's outstanding bytes, and the trace's cmdlines at the end. NULL members are
 * not called; no sink (the default) costs one pointer test. */
#ifndef PCPTRACE_TIMELINE_SINK_H
#define PCPTRACE_TIMELINE_SINK_H

#include <stdint.h>

struct tep_handle;
struct pcp_event;
struct pcp_lock_hold_acq;

struct pcp_timeline_sink {
	void *ctx;
	/* A zone-lock acquisition is complete (lock_hold.c): every one the zone_lock_hold table
	 * counts, empty ones (no attributed block) with blocks = 0 and hold_ns = 0. comm is "". */
	void (*acquisition)(void *ctx, const struct pcp_lock_hold_acq *acq);
	/* A percpu alloc, free or fail went to the percpu model; outstanding_bytes: the model's
	 * open allocations' bytes after it (percpu outstanding_bytes at the end). */
	void (*percpu)(void *ctx, const struct pcp_event *ev, uint64_t outstanding_bytes);
	/* After the pass: the tep whose cmdlines name the pids seen. */
	void (*names)(void *ctx, struct tep_handle *tep);
};

#endif
