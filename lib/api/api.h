/* What the public API's groups (trace, analysis, compare, record) share: the thread's last
 * error message behind pcp_last_error(), atomic text output, refusing an input as output. */
#ifndef PCPTRACE_API_H
#define PCPTRACE_API_H

#include <stddef.h>
#include <stdio.h>
#include "pcptrace.h"

/* Sets pcp_last_error() to "<file>: <reason>" (file NULL: the reason alone; reason NULL or "":
 * pcp_strerror(err)) and returns err: for `return pcp_api_fail(...)`. */
int pcp_api_fail(int err, const char *file, const char *reason);
/* The same with a printf format for the reason. */
int pcp_api_failf(int err, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes what emit() prints to path atomically (a temp file beside it, renamed when
 * complete), or to stdout for "-". PCP_ERR_IO (pcp_last_error() set) on any failure. */
typedef void (*pcp_api_emit_fn)(FILE *out, const void *ctx);
int pcp_api_write_text(const char *path, pcp_api_emit_fn emit, const void *ctx);

/* PCP_ERR_USAGE (pcp_last_error() set) when writing output would replace input or its meta
 * file <input>.meta.json, as the tools refuse it; else PCP_OK. */
int pcp_api_check_output(const char *output, const char *input);

/* For compare (lib/api/compare.c): the internal options behind an options handle, and a copy
 * of a handle (NULL: the defaults; NULL returned when out of memory). */
struct pcp_analyze_opts;
const struct pcp_analyze_opts *pcp_api_analyze_opts(const struct pcp_analysis_opts *opts);
struct pcp_analysis_opts *pcp_api_analysis_opts_dup(const struct pcp_analysis_opts *opts);

#endif
