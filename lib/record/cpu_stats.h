/* The instance's per_cpu/cpuN/stats, read once tracing stopped and everything was read: the
 * kernel's own counts of lost events (the CPUSTAT option and the meta file carry them), and the
 * trace clock's present time ("now ts"). */
#ifndef PCPTRACE_RECORD_CPU_STATS_H
#define PCPTRACE_RECORD_CPU_STATS_H

#include <stdint.h>
#include "record/record.h"

struct tracefs_instance;

/* CPU cpu's stats file into out->stats_text (kept for the CPUSTAT option) and its overrun,
 * commit_overrun, dropped and read_events. 0 when read, -1 when the file could not be read
 * (out is left as it was). */
int pcp_rec_cpu_stats_read(struct tracefs_instance *inst, int cpu, struct pcp_record_cpu *out);

/* One "key: value" line of a stats text ("entries", "overrun"...); 0 if absent. */
uint64_t pcp_rec_cpu_stats_value(const char *text, const char *key);

/* The trace clock's present time in ns from per_cpu/cpu0/stats' "now ts" (seconds and
 * microseconds), rounded up to the next microsecond; 0 when the clock gives none (counter
 * clocks print no fraction). */
uint64_t pcp_rec_cpu_stats_now_ns(struct tracefs_instance *inst);

#endif
