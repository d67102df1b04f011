/* Why each zone->lock acquisition happened (issue 12): the kernel stacks pcprecord --stacks
 * records (ftrace:kernel_stack, written by the `stacktrace` trigger right after the event that
 * fired it) are attributed to the bulk operation (native acquisition or inferred run, the churn
 * model's) whose record came last on the same CPU, and each operation is classified into a
 * documented cause by the frame names of its stack (docs/METRICS.md, "Lock causes"). An
 * operation without a stack (sampling) counts as `unsampled`; a stack no rule matches as
 * `other`, its frames kept in the top stacks. It computes only. */
#ifndef PCPTRACE_LOCK_CAUSE_H
#define PCPTRACE_LOCK_CAUSE_H

#include <stddef.h>
#include <stdint.h>
#include "events/event.h"
#include "model/churn.h"
#include "model/metric_table.h"

struct tep_handle;

/* Cause names: the rules' (lock_cause.c) plus these two. */
#define PCP_CAUSE_OTHER "other"
#define PCP_CAUSE_UNSAMPLED "unsampled"

struct pcp_lock_cause_row {
	enum pcp_lock_kind kind;
	int32_t nid, zid;                  /* -1 when inferred without a zone map */
	const char *cause;                 /* static */
	uint64_t acquisitions, pages;      /* pages: the blocks' pages the operation moved */
};

/* One stack in folded form (outermost frame first, `;` between frames; the tracing frames
 * above the event are left out) with the task that hit it. */
struct pcp_lock_cause_stack {
	enum pcp_lock_kind kind;
	const char *cause;                 /* static */
	char *folded;
	char *comm;                        /* from the trace's cmdlines; "<...>" when unknown */
	int32_t pid;
	uint64_t acquisitions, pages;
};

struct pcp_lock_cause_results {
	struct pcp_lock_cause_row *rows; size_t nr_rows;         /* by kind, nid, zid, cause */
	struct pcp_lock_cause_stack *stacks; size_t nr_stacks;   /* top_n per (kind, cause), by
								   * acquisitions descending */
	uint64_t stack_events;             /* ftrace:kernel_stack records */
	uint64_t stacks_attributed;        /* gave an operation its cause */
	uint64_t stacks_extra;             /* more stacks for an operation that had one */
	uint64_t stacks_unattributed;      /* no refill/drain/zone-lock record before it on its
					    * CPU (another record came between) */
	uint64_t distinct_stacks;
	struct pcp_metric *metrics; size_t nr_metrics;           /* the lock-cause group */
};

struct pcp_lock_cause_model;

int pcp_lock_cause_new(uint32_t nr_cpus, unsigned top_n, struct pcp_lock_cause_model **out);
void pcp_lock_cause_free(struct pcp_lock_cause_model *m);
/* A stack record's frames (innermost first): interned, ev->stack.id set. Allocation only when
 * the table grows; failure is reported by finish. */
void pcp_lock_cause_intern(struct pcp_lock_cause_model *m, const uint64_t *frames, unsigned n,
			   struct pcp_event *ev);
/* Hot path: every event, right after the churn model has taken it (same order). On the churn
 * model's thread when it has one (churn_feed.h): it shares nothing with the interning above
 * but the stack ids the events carry. */
void pcp_lock_cause_event(struct pcp_lock_cause_model *m, const struct pcp_churn_model *churn,
			  const struct pcp_event *ev);
/* Symbols through tep's kallsyms (and comms through its cmdlines). */
int pcp_lock_cause_finish(struct pcp_lock_cause_model *m, struct tep_handle *tep,
			  struct pcp_lock_cause_results **out);
void pcp_lock_cause_results_free(struct pcp_lock_cause_results *r);

/* The cause of a stack given as frame names, innermost first (the rules of docs/METRICS.md;
 * suffixes from '.' on are ignored): a static name, PCP_CAUSE_OTHER when none matches. */
const char *pcp_lock_cause_classify(enum pcp_lock_kind kind, const char *const *names, size_t n);

#endif
