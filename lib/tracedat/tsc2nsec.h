/* TSC cycles -> ns for recordings with the x86-tsc trace clock (trace-cmd's TSC2NSEC option:
 * ns = cycles * mult >> shift). */
#ifndef PCPTRACE_TSC2NSEC_H
#define PCPTRACE_TSC2NSEC_H

#include <stddef.h>
#include <stdint.h>

/* The kernel's own conversion, as trace-cmd record reads it: the time_mult / time_shift of a
 * perf event's mmap page (a dummy software event on every CPU; all must agree). PCP_OK, or
 * PCP_ERR_MODE with the reason in why (no perf_event_open, cap_user_time 0: the kernel does not
 * publish it, e.g. under a paravirtual clocksource such as kvm-clock). */
int pcp_tsc2nsec_from_perf(uint32_t *mult, uint32_t *shift, char *why, size_t len);

/* A TSC reading with CLOCK_MONOTONIC_RAW around it (the midpoint). */
struct pcp_tsc_sample {
	uint64_t tsc, ns;
};

/* PCP_OK; PCP_ERR_MODE (why) when this is not x86 or the TSC is not invariant (constant_tsc and
 * nonstop_tsc in /proc/cpuinfo): its rate would not be a time base. */
int pcp_tsc_sample(struct pcp_tsc_sample *s, char *why, size_t len);

/* The TSC rate measured between two samples (the recording's start and stop) as mult/shift
 * with shift as large as keeps mult below 2^31. PCP_ERR_MODE when the samples are too close
 * (< 10 ms) or do not advance. */
int pcp_tsc2nsec_calibrate(const struct pcp_tsc_sample *a, const struct pcp_tsc_sample *b,
			   uint32_t *mult, uint32_t *shift, char *why, size_t len);

#endif
