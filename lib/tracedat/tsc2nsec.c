/* TSC to ns for x86-tsc recordings. Why two ways: trace-cmd takes the kernel's perf mmap page
 * time_mult/time_shift, but the kernel publishes them only when sched_clock is the native TSC
 * (cap_user_time); under kvm-clock and other paravirtual clocksources they read 0. The TSC that
 * user space reads with rdtsc is the one the trace clock reads (rdtsc_ordered), so its rate can
 * then be measured against CLOCK_MONOTONIC_RAW over the recording itself, provided the TSC is
 * invariant. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "common/error.h"
#include "tracedat/tsc2nsec.h"
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

static int perf_page(int cpu, uint32_t *mult, uint32_t *shift, char *why, size_t len)
{
	struct perf_event_attr attr;
	struct perf_event_mmap_page *pg;
	long page = sysconf(_SC_PAGESIZE);
	int fd, err = PCP_OK;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_DUMMY;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, 0);
	if (fd < 0)
		return pcp_errorf(why, len, PCP_ERR_MODE, "perf_event_open on CPU %d: %s", cpu,
				  strerror(errno));
	pg = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	if (pg == MAP_FAILED) {
		err = pcp_errorf(why, len, PCP_ERR_MODE, "perf mmap on CPU %d: %s", cpu, strerror(errno));
	} else {
		if (!pg->cap_user_time || !pg->time_mult)
			err = pcp_errorf(why, len, PCP_ERR_MODE,
					 "the kernel publishes no TSC conversion (perf cap_user_time 0)");
		*mult = pg->time_mult;
		*shift = pg->time_shift;
		munmap(pg, (size_t)page);
	}
	close(fd);
	return err;
}

int pcp_tsc2nsec_from_perf(uint32_t *mult, uint32_t *shift, char *why, size_t len)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t m0 = 0, s0 = 0;
	int err;

	if ((err = perf_page(0, &m0, &s0, why, len)))
		return err;
	for (long c = 1; c < cpus; c++) {
		uint32_t m, s;

		if ((err = perf_page((int)c, &m, &s, why, len)))
			return err;
		if (m != m0 || s != s0)
			return pcp_errorf(why, len, PCP_ERR_MODE,
					  "CPUs disagree on the TSC conversion (CPU %ld: %u >> %u, CPU 0: %u >> %u)",
					  c, m, s, m0, s0);
	}
	if (s0 > 32)
		return pcp_errorf(why, len, PCP_ERR_MODE, "TSC conversion shift %u above 32", s0);
	*mult = m0;
	*shift = s0;
	return PCP_OK;
}

static int cpu_flag(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "flags", 5))
			continue;
		for (p = strstr(line, flag); p && !found; p = strstr(p + 1, flag))
			found = (p[-1] == ' ' || p[-1] == '\t') &&
				(p[strlen(flag)] == ' ' || p[strlen(flag)] == '\n');
		break;   /* the first CPU's flags */
	}
	fclose(f);
	return found;
}

static uint64_t raw_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int pcp_tsc_sample(struct pcp_tsc_sample *s, char *why, size_t len)
{
#if defined(__x86_64__) || defined(__i386__)
	uint64_t a, b;

	if (!cpu_flag("constant_tsc") || !cpu_flag("nonstop_tsc"))
		return pcp_errorf(why, len, PCP_ERR_MODE,
				  "the TSC is not invariant (no constant_tsc/nonstop_tsc): its rate is no time base");
	a = raw_ns();
	s->tsc = __rdtsc();
	b = raw_ns();
	s->ns = a + (b - a) / 2;
	return PCP_OK;
#else
	(void)s;
	return pcp_errorf(why, len, PCP_ERR_MODE, "not an x86 machine");
#endif
}

int pcp_tsc2nsec_calibrate(const struct pcp_tsc_sample *a, const struct pcp_tsc_sample *b,
			   uint32_t *mult, uint32_t *shift, char *why, size_t len)
{
	double ns_per_cycle;
	int s;

	if (b->ns < a->ns + 10000000ULL || b->tsc <= a->tsc)
		return pcp_errorf(why, len, PCP_ERR_MODE,
				  "recording too short to measure the TSC rate (under 10 ms)");
	ns_per_cycle = (double)(b->ns - a->ns) / (double)(b->tsc - a->tsc);
	/* the largest shift (precision) with mult < 2^31; libtracecmd's shift is at most 32 */
	for (s = 32; s > 0 && ns_per_cycle * (double)(1ULL << s) >= 2147483648.0; s--)
		;
	*mult = (uint32_t)(ns_per_cycle * (double)(1ULL << s) + 0.5);
	*shift = (uint32_t)s;
	if (!*mult)
		return pcp_errorf(why, len, PCP_ERR_MODE, "TSC rate out of range");
	return PCP_OK;
}
