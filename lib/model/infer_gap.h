/* --infer-gap auto: the pause that separates two inferred bulk operations, learnt from the trace
 * (docs/METRICS.md). Blocks inside one bulk operation are traced back to back; how far apart
 * depends on the machine (about 1 us on bare metal, several us under emulation). */
#ifndef PCPTRACE_INFER_GAP_H
#define PCPTRACE_INFER_GAP_H

#include <stdint.h>
#include "model/churn.h"
#include "events/event.h"

#define PCP_INFER_GAP_SAMPLES 65536u     /* per kind */
#define PCP_INFER_GAP_MIN_SAMPLES 1000u
#define PCP_INFER_GAP_DEFAULT_NS 2000u

struct pcp_gap_sampler {
	uint32_t nr_cpus;
	struct pcp_gap_prev { uint64_t ts; uint8_t kind; } *prev;  /* kind: PCP_EV_* or 0 (none) */
	uint64_t hist[2][64];                                     /* [pcp_lock_kind][log2 bucket] */
	uint32_t samples[2];
};

int pcp_gap_sampler_init(struct pcp_gap_sampler *s, uint32_t nr_cpus);
void pcp_gap_sampler_release(struct pcp_gap_sampler *s);
/* One considered record (never an IGNORED one) of cpu, with the missed-events mark that came
 * before it (0: none). kind is the record's PCP_EV_* kind. */
void pcp_gap_sampler_feed(struct pcp_gap_sampler *s, uint32_t cpu, int kind, uint64_t ts, int64_t missed);
/* A missed-events mark on an IGNORED record still separates its neighbours. */
void pcp_gap_sampler_mark(struct pcp_gap_sampler *s, uint32_t cpu);
/* 1 when both kinds have all the samples they can use: the pre-pass may stop. */
int pcp_gap_sampler_full(const struct pcp_gap_sampler *s);
/* The gap for one kind: the valley after the histogram's mode, or the default. */
uint64_t pcp_gap_sampler_choose(const struct pcp_gap_sampler *s, enum pcp_lock_kind kind);

#endif
