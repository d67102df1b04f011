/* pcpstat --prometheus FILE: the counts so far in Prometheus's text exposition format
 * (node_exporter's textfile collector), FILE rewritten atomically (temp file + rename). Names
 * and labels: pcpstat(1), PROMETHEUS. */
#ifndef PCPTRACE_PROM_TEXT_H
#define PCPTRACE_PROM_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include "live/live.h"

/* /proc/zoneinfo's pageset counts now, one per (zone, CPU). */
struct pcp_prom_pcp_list {
	uint32_t cpu;
	int32_t nid, zid;
	char zone[16];
	int64_t count;
};
struct pcp_prom_pcp_lists {
	struct pcp_prom_pcp_list *v;
	size_t n;
};

struct pcp_prom_percpu {
	int present;                 /* the recording has percpu events */
	uint64_t outstanding_bytes;
};

/* recorded: nr_cpus flags (CPUs pcpstat watches); lists, lc_occupancy may be NULL. */
int pcp_prom_write(const char *path, struct pcp_live *l, const unsigned char *recorded,
		   const struct pcp_prom_pcp_lists *lists, const int64_t *lc_occupancy,
		   const struct pcp_prom_percpu *pc, char *errbuf, size_t errlen);

#endif
