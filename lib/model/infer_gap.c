/* --infer-gap auto: a log2 histogram of the gaps between consecutive same-CPU blocks of one kind,
 * and the valley after its mode (docs/METRICS.md). */
#include <stdlib.h>
#include "common/error.h"
#include "model/infer_gap.h"

int pcp_gap_sampler_init(struct pcp_gap_sampler *s, uint32_t nr_cpus)
{
	*s = (struct pcp_gap_sampler){ .nr_cpus = nr_cpus };
	s->prev = calloc(nr_cpus ? nr_cpus : 1, sizeof(*s->prev));
	return s->prev ? PCP_OK : PCP_ERR_NOMEM;
}

void pcp_gap_sampler_release(struct pcp_gap_sampler *s)
{
	free(s->prev);
	s->prev = NULL;
}

static int block_kind(int kind)
{
	return kind == PCP_EV_REFILL ? PCP_LOCK_KIND_REFILL : kind == PCP_EV_DRAIN ? PCP_LOCK_KIND_DRAIN : -1;
}

void pcp_gap_sampler_mark(struct pcp_gap_sampler *s, uint32_t cpu)
{
	if (cpu < s->nr_cpus)
		s->prev[cpu].kind = 0;
}

void pcp_gap_sampler_feed(struct pcp_gap_sampler *s, uint32_t cpu, int kind, uint64_t ts, int64_t missed)
{
	struct pcp_gap_prev *p;
	int k = block_kind(kind);

	if (cpu >= s->nr_cpus)
		return;
	p = &s->prev[cpu];
	if (missed)
		p->kind = 0;
	if (k >= 0 && p->kind == kind && s->samples[k] < PCP_INFER_GAP_SAMPLES) {
		uint64_t g = ts > p->ts ? ts - p->ts : 0;
		int b = g < 2 ? 0 : 63 - __builtin_clzll(g);
		s->hist[k][b]++;
		s->samples[k]++;
	}
	p->kind = (uint8_t)kind;
	p->ts = ts;
}

int pcp_gap_sampler_full(const struct pcp_gap_sampler *s)
{
	return s->samples[0] >= PCP_INFER_GAP_SAMPLES && s->samples[1] >= PCP_INFER_GAP_SAMPLES;
}

uint64_t pcp_gap_sampler_choose(const struct pcp_gap_sampler *s, enum pcp_lock_kind kind)
{
	const uint64_t *h = s->hist[kind];
	int mode = 0;

	if (s->samples[kind] < PCP_INFER_GAP_MIN_SAMPLES)
		return PCP_INFER_GAP_DEFAULT_NS;
	for (int b = 1; b < 64; b++)
		if (h[b] > h[mode])
			mode = b;
	for (int b = mode + 1; b < 64; b++)
		if (128 * h[b] < h[mode])
			return 1ull << b;
	return PCP_INFER_GAP_DEFAULT_NS;
}
