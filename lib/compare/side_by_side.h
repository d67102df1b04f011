/* Independent analyses side by side: compare's runs and merge's trace.dat inputs. */
#ifndef PCPTRACE_SIDE_BY_SIDE_H
#define PCPTRACE_SIDE_BY_SIDE_H

#include <stddef.h>
#include "model/analyze.h"

/* One input: i, with the analysis options of its share of the threads. */
typedef void (*pcp_side_by_side_fn)(size_t i, const struct pcp_analyze_opts *share, void *ctx);

/* Calls fn for every i in [0, n) (paths[i] its input), min(opts->jobs, n) at once, each with
 * opts->jobs / that many threads for its own analysis; the caller's thread is one of them.
 * Each call must write only its own i's results. */
void pcp_side_by_side(const char *const *paths, size_t n, const struct pcp_analyze_opts *opts,
		      pcp_side_by_side_fn fn, void *ctx);

#endif
