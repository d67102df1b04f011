/* Whether a trace's timestamps are nanoseconds: from its trace clock and TSC2NSEC option. */
#ifndef PCPTRACE_TIME_BASE_H
#define PCPTRACE_TIME_BASE_H

enum pcp_time_base {
	PCP_TIME_NS = 0,        /* the clock counts ns (local, global, perf, mono*, boot, tai) */
	PCP_TIME_TSC2NSEC,      /* TSC cycles, converted to ns with the file's TSC2NSEC option */
	PCP_TIME_NONE,          /* no time base (counter, uptime, TSC without TSC2NSEC, unknown) */
};

/* clock: the trace's clock name ("" or NULL when the file does not say: trace-cmd's default,
 * local, is assumed); has_tsc2nsec: the file has a usable TSC2NSEC option (multiplier != 0).
 * *why (may be NULL) gets a one-line reason for PCP_TIME_NONE, else NULL. */
enum pcp_time_base pcp_time_base_of(const char *clock, int has_tsc2nsec, const char **why);
/* "ns", "tsc2nsec", "none" (trace_info time_base). */
const char *pcp_time_base_name(enum pcp_time_base tb);

#endif
