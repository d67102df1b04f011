/*
 * Allocator state around a recording (issue 3): /sys/kernel/debug/percpu_stats, the per-CPU
 * pagesets of /proc/zoneinfo and /proc/vmstat, as Jansson values for the recorder's
 * <trace>.meta.json (shape: pcprecord(1), "META FILE"; read and written by meta/meta.h).
 *
 * The parsers take text so that tests feed them captured files. A text they cannot make sense
 * of gives PCP_ERR_BAD_META (and a one-line reason in errbuf), never a partial value.
 */
#ifndef PCPTRACE_SNAPSHOT_H
#define PCPTRACE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* [{"node":0,"zone":"DMA32","zid":1,"spanned":..,"start_pfn":..,
 *   "pagesets":[{"cpu":0,"count":..,"high":..,"batch":..,
 *   "high_min":..,"high_max":..,"vm_stats_threshold":..}, ...]}, ...]
 * zid = the zone's position in its node (0 first, empty zones counted). spanned and
 * start_pfn only when the kernel prints them (no start_pfn for unpopulated zones);
 * high_min/high_max/vm_stats_threshold likewise. Zones without pagesets (unpopulated) have an
 * empty array. */
int pcp_snapshot_parse_zoneinfo(const char *text, json_t **out, char *errbuf, size_t errlen);

/* {"nr_free_pages":..., ...} in the file's order. */
int pcp_snapshot_parse_vmstat(const char *text, json_t **out, char *errbuf, size_t errlen);

/*
 * Reads the live files (mounting debugfs at /sys/kernel/debug if percpu_stats needs it) into
 * {"time":"<ISO 8601 UTC>","time_ns":<CLOCK_REALTIME ns>,
 *  "percpu_stats":{"available":true,"text":"...","parsed":{...}} or
 *                 {"available":false,"reason":"..."[,"text":"..."]},
 *  "zoneinfo":[...], "vmstat":{...}}
 * "parsed" is the text as the one percpu_stats parser reads it (pcp_meta_percpu_stats_json).
 * A file that is missing or damaged is reported inside the snapshot ("zoneinfo_error",
 * "vmstat_error"), so a recording is never lost to a snapshot. Only PCP_ERR_NOMEM fails.
 */
int pcp_snapshot_take(json_t **out);

/* The same with percpu_stats read first (FIRST, as pcp_snapshot_take: right after tracing went
 * off) or last (LAST: right before tracing goes on), next to the tracing switch. */
enum pcp_snapshot_order { PCP_SNAPSHOT_PERCPU_STATS_FIRST, PCP_SNAPSHOT_PERCPU_STATS_LAST };
int pcp_snapshot_take_ordered(json_t **out, enum pcp_snapshot_order order);

/* percpu_stats' global nr_alloc and nr_dealloc now: one read of the file, which the kernel
 * prints under pcpu_lock, through the one parser. PCP_ERR_IO (cannot read), PCP_ERR_BAD_META
 * (not a percpu_stats listing). */
int pcp_snapshot_percpu_counts(int64_t *nr_alloc, int64_t *nr_dealloc);

/* Records in snap's percpu_stats the counters read on the other side of a tracing switch
 * ("tracing_switch": {when: switch_name ("went on", "went off"), nr_alloc, nr_dealloc,
 * attempts}). When they differ from the snapshot's own (a percpu operation happened between
 * the snapshot and the switch, so the trace may or may not hold it), or could not be read
 * (read_ok 0), the snapshot's percpu_stats is marked "available": false with a reason: the
 * consistency check then gives no verdict instead of a false one. PCP_ERR_NOMEM only. */
int pcp_snapshot_mark_switch(json_t *snap, const char *switch_name, int read_ok, int64_t nr_alloc,
			     int64_t nr_dealloc, int attempts);

#endif
