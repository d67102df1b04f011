/* The runs of a comparison, loaded side by side (run_load.h, side_by_side.h). */
#include <stdlib.h>
#include "common/error.h"
#include "compare/run_load.h"
#include "compare/side_by_side.h"

static void load_one(size_t i, const struct pcp_analyze_opts *share, void *ctx)
{
	struct pcp_run_request *q = &((struct pcp_run_request *)ctx)[i];

	q->reason[0] = '\0';
	q->err = pcp_run_load(q->path, share, q->run, q->reason, sizeof(q->reason));
}

void pcp_runs_load(struct pcp_run_request *req, size_t n, const struct pcp_analyze_opts *opts)
{
	const char **paths = calloc(n ? n : 1, sizeof(*paths));

	if (!paths) {   /* one after the other (each analysis probes its file before its threads) */
		for (size_t i = 0; i < n; i++)
			load_one(i, opts, req);
		return;
	}
	for (size_t i = 0; i < n; i++)
		paths[i] = req[i].path;
	pcp_side_by_side(paths, n, opts, load_one, req);
	free(paths);
}
