/* STUB: replaced by the percpu work (issue 4). */
#include <stdlib.h>
#include "pcptrace/error.h"
#include "pcptrace/percpu.h"

struct pcp_percpu_parser { int present; };

int pcp_percpu_parser_new(struct tep_handle *tep, struct pcp_percpu_parser **out)
{
	(void)tep;
	*out = calloc(1, sizeof(**out));
	return *out ? PCP_OK : PCP_ERR_NOMEM;
}
void pcp_percpu_parser_free(struct pcp_percpu_parser *p) { free(p); }
int pcp_percpu_parser_present(const struct pcp_percpu_parser *p) { return p->present; }
int pcp_percpu_decode(const struct pcp_percpu_parser *p, struct tep_record *rec, int event_id,
		      struct pcp_event *ev)
{
	(void)p; (void)rec; (void)event_id; (void)ev;
	return PCP_EV_OTHER;
}
