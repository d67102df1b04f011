/* STUB: replaced by the percpu work (issue 4). */
#include <stdlib.h>
#include "pcptrace/error.h"
#include "pcptrace/percpu.h"

struct pcp_percpu_model { int unused; };
struct pcp_percpu_results { int unused; };

int pcp_percpu_model_new(struct pcp_percpu_model **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? PCP_OK : PCP_ERR_NOMEM;
}
void pcp_percpu_model_event(struct pcp_percpu_model *m, const struct pcp_event *ev) { (void)m; (void)ev; }
int pcp_percpu_model_finish(struct pcp_percpu_model *m, struct tep_handle *tep,
			    struct pcp_percpu_results **out)
{
	(void)m; (void)tep;
	*out = calloc(1, sizeof(**out));
	return *out ? PCP_OK : PCP_ERR_NOMEM;
}
void pcp_percpu_model_free(struct pcp_percpu_model *m) { free(m); }
void pcp_percpu_results_free(struct pcp_percpu_results *r) { free(r); }
int pcp_percpu_store(sqlite3 *db, const struct pcp_percpu_results *r, json_t *meta, int lossy)
{
	(void)db; (void)r; (void)meta; (void)lossy;
	return PCP_OK;
}
void pcp_percpu_report_text(FILE *out, const struct pcp_percpu_results *r) { (void)out; (void)r; }
int pcp_percpu_report_json(json_t *root, const struct pcp_percpu_results *r) { (void)root; (void)r; return PCP_OK; }
