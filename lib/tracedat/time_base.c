/* Which trace clocks count nanoseconds. The kernel's trace_clocks[] table (kernel/trace/trace.c)
 * marks local, global, perf (local_clock), mono, mono_raw, boot and tai as ns; counter counts
 * events, uptime counts jiffies and x86-tsc counts TSC cycles. trace-cmd converts TSC cycles to
 * ns with the TSC2NSEC option (multiplier, shift from the kernel's perf mmap page), and so do
 * we (lib/tracedat/ringbuf_decode.c, or libtracecmd). Without a time base no rate or duration is given:
 * a rate from a tick counter is a confident wrong number. */
#include <string.h>
#include "tracedat/time_base.h"

static const char *const ns_clocks[] = { "local", "global", "perf", "mono", "mono_raw", "boot", "tai" };

enum pcp_time_base pcp_time_base_of(const char *clock, int has_tsc2nsec, const char **why)
{
	const char *reason;

	if (why)
		*why = NULL;
	/* trace-cmd applies TSC2NSEC whatever the clock says: the timestamps we read are ns */
	if (has_tsc2nsec)
		return PCP_TIME_TSC2NSEC;
	if (!clock || !clock[0])
		return PCP_TIME_NS;
	for (size_t i = 0; i < sizeof(ns_clocks) / sizeof(ns_clocks[0]); i++)
		if (!strcmp(clock, ns_clocks[i]))
			return PCP_TIME_NS;
	if (!strcmp(clock, "counter"))
		reason = "clock counter counts events, not time";
	else if (!strcmp(clock, "uptime"))
		reason = "clock uptime counts jiffies (HZ unknown)";
	else if (!strcmp(clock, "x86-tsc") || !strcmp(clock, "tsc2nsec"))
		reason = "clock x86-tsc counts TSC cycles and the file has no TSC2NSEC option";
	else
		reason = "clock with no known time base";
	if (why)
		*why = reason;
	return PCP_TIME_NONE;
}

const char *pcp_time_base_name(enum pcp_time_base tb)
{
	switch (tb) {
	case PCP_TIME_TSC2NSEC: return "tsc2nsec";
	case PCP_TIME_NONE: return "none";
	default: return "ns";
	}
}
