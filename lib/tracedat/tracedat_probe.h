/* A test parse of a trace.dat's headers in a child process (see lib/tracedat/tracedat_probe.c). */
#ifndef PCPTRACE_TRACEDAT_PROBE_H
#define PCPTRACE_TRACEDAT_PROBE_H

#include <stddef.h>

/* PCP_OK when a child process parsed the headers with tracecmd_open_head() without crashing
 * or hanging (or libtracecmd refused them cleanly), PCP_ERR_CORRUPT when it crashed or hung,
 * PCP_ERR_IO when no child could be made. errbuf gets a one-line reason. */
int pcp_tracedat_probe_headers(const char *path, char *errbuf, size_t errlen);

#endif
