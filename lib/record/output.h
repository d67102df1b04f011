/*
 * The recording's trace.dat (the shape of trace-cmd's output): header page and event formats,
 * kallsyms, printk formats, cmdlines, trace clock, TSC2NSEC, uname, version, every CPU's
 * CPUSTAT and its spooled sub-buffers, written by the tracedat writer (temp file + rename).
 * Reads tracefs' top level (formats, kallsyms and cmdlines are global); writes nothing there.
 */
#ifndef PCPTRACE_RECORD_OUTPUT_H
#define PCPTRACE_RECORD_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

struct pcp_rec_output_cpu {
	const char *stats_text;     /* its per_cpu stats file; NULL: a bare "CPU: N" CPUSTAT */
	int spool_fd;               /* its sub-buffers; -1: no data section */
};

struct pcp_rec_output {
	int nr_cpus;
	unsigned int subbuf_size;
	int file_version;           /* 6 or 7; 0 = 6 */
	const char *compression;    /* "zstd", "zlib" or NULL */
	const char *clock;
	uint32_t tsc2nsec_mult, tsc2nsec_shift;   /* mult 0: no TSC2NSEC option */
	char *const *events;        /* "system:event": their formats go in */
	size_t nr_events;
	const struct pcp_rec_output_cpu *cpus;    /* nr_cpus entries */
};

/* Writes path. On error nothing is left at path (errbuf: "cannot create: ..." or
 * "cannot write: ..."). */
int pcp_rec_output_write(const char *path, const struct pcp_rec_output *o, char *errbuf,
			 size_t errlen);

#endif
