/* A ring buffer's per-CPU statistics as tracefs prints them (per_cpu/cpuN/stats) and as
 * trace-cmd and pcprecord store them in a trace.dat's CPUSTAT options. */
#ifndef PCPTRACE_CPUSTAT_H
#define PCPTRACE_CPUSTAT_H

#include <stdint.h>

struct pcp_cpustat {
	int present;                /* the file has stats for this CPU */
	uint64_t entries;           /* events still in the ring buffer (not in the file) */
	uint64_t overrun;           /* overwritten before read (overwrite mode) */
	uint64_t commit_overrun;    /* lost to nested writes that filled a sub-buffer */
	uint64_t dropped;           /* "dropped events": refused when full (non-overwrite) */
	uint64_t read_events;
};

/* Parses "key: value" lines of one CPU's stats text (NUL-terminated) into *out (present = 1;
 * missing keys stay 0). Returns the CPU of a "CPU: N" line (trace-cmd adds it), else -1. */
int pcp_cpustat_parse(const char *text, struct pcp_cpustat *out);

#endif
