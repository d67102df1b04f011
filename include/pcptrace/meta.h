/* The recorder's snapshot file beside a trace: <trace>.meta.json (issue 3). */
#ifndef PCPTRACE_META_H
#define PCPTRACE_META_H

#include <jansson.h>

/* Loads "<trace_path>.meta.json". *out = NULL and PCP_OK when the file does not exist;
 * PCP_ERR_BAD_META when it exists but is not valid. Caller json_decref()s. */
int pcp_meta_load(const char *trace_path, json_t **out);

#endif
