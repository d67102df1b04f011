/* The recorder's snapshot file beside a trace: <trace>.meta.json (issue 3). */
#ifndef PCPTRACE_META_H
#define PCPTRACE_META_H

#include <jansson.h>

/* Loads "<trace_path>.meta.json". *out = NULL and PCP_OK when the file does not exist;
 * PCP_ERR_BAD_META when it exists but is not valid. Caller json_decref()s. */
int pcp_meta_load(const char *trace_path, json_t **out);

/* The raw /sys/kernel/debug/percpu_stats text of a snapshot, when = "before" or "after"
 * (pcprecord(1), META FILE). NULL when meta is NULL or the snapshot has no such text. */
const char *pcp_meta_percpu_stats_text(const json_t *meta, const char *when);

#endif
