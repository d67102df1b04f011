/* pcpanalyze --perfetto: the analysis as a Chrome/Perfetto Trace Event Format JSON timeline
 * (ui.perfetto.dev, chrome://tracing). A collector is the analysis' timeline sink while it runs
 * (zone-lock acquisitions, percpu operations), then writes the file with the model's tables
 * (per-CPU refill/drain timeline, lifecycle occupancy). Layout: pcpanalyze(1), "PERFETTO". */
#ifndef PCPTRACE_PERFETTO_H
#define PCPTRACE_PERFETTO_H

#include <stddef.h>
#include <stdint.h>
#include "model/analyze.h"
#include "model/timeline_sink.h"
#include "output/outfile.h"

#define PCP_PERFETTO_DEFAULT_MAX_SLICES 200000

struct pcp_perfetto;

/* max_slices: zone-lock acquisitions kept as slices (the first ones to complete); the rest are
 * counted and named in the file's otherData and on stderr by the tool. bucket_ns: the percpu
 * counters' bucket (the analysis' --bucket). */
int pcp_perfetto_new(size_t max_slices, uint64_t bucket_ns, struct pcp_perfetto **out);
const struct pcp_timeline_sink *pcp_perfetto_sink(struct pcp_perfetto *p);
/* Acquisitions not written as slices (over max_slices); 0 after a complete collection. */
uint64_t pcp_perfetto_dropped(const struct pcp_perfetto *p);
/* Writes the timeline to a finished temp file beside path (commit or abort out). PCP_ERR_IO /
 * PCP_ERR_NOMEM with the cause in errbuf. */
int pcp_perfetto_prepare(struct pcp_outfile *out, const char *path, const struct pcp_perfetto *p,
			 const struct pcp_analysis *a, char *errbuf, size_t errlen);
void pcp_perfetto_free(struct pcp_perfetto *p);

#endif
