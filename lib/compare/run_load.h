/* Loads the runs of a comparison (results databases, trace.dat files analyzed on the fly)
 * side by side on up to opts->jobs threads. */
#ifndef PCPTRACE_RUN_LOAD_H
#define PCPTRACE_RUN_LOAD_H

#include <stddef.h>
#include "compare/compare.h"

struct pcp_run_request {
	const char *path;
	struct pcp_run *run;       /* where pcp_run_load() puts it */
	int err;                   /* its result */
	char reason[512];          /* its one-line reason when err */
};

/* Every request is loaded (pcp_run_load), whatever the others give: the caller reports the
 * first failure in its own order, so the messages are those of a one-by-one load. With
 * jobs > 1, min(jobs, n) loads run at once, each analysis on jobs / that many threads. */
void pcp_runs_load(struct pcp_run_request *req, size_t n, const struct pcp_analyze_opts *opts);

#endif
