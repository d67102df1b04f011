/* STUB: replaced by the churn model work. */
#include <stdlib.h>
#include "pcptrace/churn.h"
#include "pcptrace/error.h"

struct pcp_churn_model { uint32_t nr_cpus; };

void pcp_churn_opts_default(struct pcp_churn_opts *o)
{
	o->churn_window_ns = 1000000;
	o->bucket_ns = 10000000;
	o->top_n = 100;
	o->lock_source = PCP_LOCK_NONE;
}
int pcp_churn_new(uint32_t nr_cpus, const struct pcp_churn_opts *opts, struct pcp_churn_model **out)
{
	(void)opts;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return PCP_ERR_NOMEM;
	(*out)->nr_cpus = nr_cpus;
	return PCP_OK;
}
void pcp_churn_event(struct pcp_churn_model *m, const struct pcp_event *ev) { (void)m; (void)ev; }
void pcp_churn_missed(struct pcp_churn_model *m, uint32_t cpu, int64_t count) { (void)m; (void)cpu; (void)count; }
int pcp_churn_finish(struct pcp_churn_model *m, struct pcp_churn_results **out)
{
	struct pcp_churn_results *r = calloc(1, sizeof(*r));
	if (!r)
		return PCP_ERR_NOMEM;
	r->nr_cpus = m->nr_cpus;
	r->cpu_flow = calloc(m->nr_cpus ? m->nr_cpus : 1, sizeof(*r->cpu_flow));
	*out = r;
	return PCP_OK;
}
void pcp_churn_free(struct pcp_churn_model *m) { free(m); }
void pcp_churn_results_free(struct pcp_churn_results *r)
{
	if (!r)
		return;
	free(r->cpu_flow);
	free(r);
}
