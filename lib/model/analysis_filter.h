/* Analysis windows and filters (issue 13): --from/--to, --cpus, --pid, --comm. The spec is what
 * the command line says; the filter is the spec resolved against one trace (comm -> pids, the
 * window's relative times -> trace time). The rule (docs/METRICS.md, "Windows and filters"):
 * the analysis is the analysis of the records the filter keeps, as if the trace held nothing
 * else; a missed-events mark counts when its record is inside the window on a selected CPU. */
#ifndef PCPTRACE_ANALYSIS_FILTER_H
#define PCPTRACE_ANALYSIS_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tep_handle;
struct tep_record;

#define PCP_FILTER_MAX_PIDS 64
#define PCP_FILTER_MAX_CPUS 4096

/* A time: ns from the trace's first record (relative), or ns of trace time (absolute, "@"). */
struct pcp_filter_time {
	int set;
	int absolute;
	uint64_t ns;
};

struct pcp_filter_spec {
	struct pcp_filter_time from, to;            /* [from, to) */
	int has_cpus;
	uint64_t cpus[PCP_FILTER_MAX_CPUS / 64];    /* bitmap */
	size_t nr_pids;
	int32_t pids[PCP_FILTER_MAX_PIDS];
	char comm[64];                              /* "" = none */
};

/* 1 when the spec restricts anything. */
int pcp_filter_spec_active(const struct pcp_filter_spec *s);
/* Parsers of the options' values; -1 = malformed (the spec unchanged). */
int pcp_filter_parse_time(const char *arg, struct pcp_filter_time *t);
int pcp_filter_parse_cpus(const char *arg, struct pcp_filter_spec *s);
int pcp_filter_parse_pids(const char *arg, struct pcp_filter_spec *s);
/* The spec in one canonical line, the same for equal specs ("none" when inactive): what
 * trace_info's filter key, the JSON and the text summary say, and what compare compares, e.g.
 * "from=+1.500000000s to=@123.000000000s cpus=0-3 pid=17,42 comm=cc1". */
void pcp_filter_spec_describe(const struct pcp_filter_spec *s, char *buf, size_t len);

/* The spec resolved for one trace. Hot path: pcp_filter_keep (no allocation, no string). */
struct pcp_filter {
	struct pcp_filter_spec spec;
	int started;                /* the window is resolved (first record seen) */
	uint64_t from_ns, to_ns;    /* trace time, [from, to); to = UINT64_MAX: open */
	int by_pid;                 /* --pid or --comm */
	size_t nr_pids;             /* --pid's and --comm's pids, sorted */
	int32_t pids[PCP_FILTER_MAX_PIDS + 256];
	int pid_off, pid_size;      /* common_pid in the record (host order) */
	uint64_t kept, dropped;
};

/* Resolves the spec for a trace (comm -> its pids in the trace's cmdlines; none is not an
 * error: nothing is kept). -1: common_pid cannot be read in place (a --pid/--comm filter on a
 * file of another byte order or without common_pid). */
int pcp_filter_init(struct pcp_filter *f, const struct pcp_filter_spec *s, struct tep_handle *tep);
/* The window starts from the trace's first record (ts): relative times become trace time. */
void pcp_filter_start(struct pcp_filter *f, uint64_t first_ts);
/* 1 when the record is inside the window on a selected CPU (marks: these records' count). */
static inline int pcp_filter_in_window(const struct pcp_filter *f, uint64_t ts, int cpu)
{
	if (ts < f->from_ns || ts >= f->to_ns)
		return 0;
	if (f->spec.has_cpus && (cpu < 0 || cpu >= PCP_FILTER_MAX_CPUS ||
				 !(f->spec.cpus[cpu / 64] >> (cpu % 64) & 1)))
		return 0;
	return 1;
}
int pcp_filter_pid_selected(const struct pcp_filter *f, int32_t pid);
/* 1 when the record is kept: in the window, on a selected CPU, of a selected pid. */
static inline int pcp_filter_keep(const struct pcp_filter *f, const void *data, int size,
				  uint64_t ts, int cpu)
{
	if (!pcp_filter_in_window(f, ts, cpu))
		return 0;
	if (f->by_pid) {
		int32_t pid;

		if (size < f->pid_off + f->pid_size || f->pid_size != 4)
			return 0;
		memcpy(&pid, (const char *)data + f->pid_off, 4);
		return pcp_filter_pid_selected(f, pid);
	}
	return 1;
}

#endif
