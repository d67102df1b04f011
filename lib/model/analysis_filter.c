/* Analysis windows and filters: option parsing, the canonical description, resolution against
 * a trace (analysis_filter.h; the rule: docs/METRICS.md, "Windows and filters"). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event-parse.h>
#include "model/analysis_filter.h"

int pcp_filter_spec_active(const struct pcp_filter_spec *s)
{
	return s && (s->from.set || s->to.set || s->has_cpus || s->nr_pids || s->comm[0]);
}

/* "S[.FFFFFFFFF]" seconds, exactly in ns (no floating point); "@S[.F]" absolute trace time. */
int pcp_filter_parse_time(const char *arg, struct pcp_filter_time *t)
{
	struct pcp_filter_time v = { .set = 1 };
	const char *p = arg;
	uint64_t sec = 0, frac = 0;
	int digits = 0, fdigits = 0;

	if (!p)
		return -1;
	if (*p == '@') {
		v.absolute = 1;
		p++;
	}
	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (sec > (UINT64_MAX / 1000000000ull - 9) / 10)
			return -1;
		sec = sec * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, fdigits++) {
			if (fdigits >= 9)
				return -1;      /* below a nanosecond */
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
	}
	if (*p || (!digits && !fdigits))
		return -1;
	for (int i = fdigits; i < 9; i++)
		frac *= 10;
	v.ns = sec * 1000000000ull + frac;
	*t = v;
	return 0;
}

/* "0-3,8,10-11" */
int pcp_filter_parse_cpus(const char *arg, struct pcp_filter_spec *s)
{
	uint64_t map[PCP_FILTER_MAX_CPUS / 64] = { 0 };
	const char *p = arg;

	if (!p || !*p)
		return -1;
	while (*p) {
		char *end;
		unsigned long lo, hi;

		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -1;
			hi = strtoul(end + 1, &end, 10);
		}
		if (errno || hi < lo || hi >= PCP_FILTER_MAX_CPUS)
			return -1;
		for (unsigned long c = lo; c <= hi; c++)
			map[c / 64] |= 1ull << (c % 64);
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -1;
		p = end;
	}
	memcpy(s->cpus, map, sizeof(map));
	s->has_cpus = 1;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* "17,42": sorted, duplicates removed */
int pcp_filter_parse_pids(const char *arg, struct pcp_filter_spec *s)
{
	int32_t pids[PCP_FILTER_MAX_PIDS];
	size_t n = 0;
	const char *p = arg;

	if (!p || !*p)
		return -1;
	while (*p) {
		char *end;
		long v;

		if (!isdigit((unsigned char)*p) || n == PCP_FILTER_MAX_PIDS)
			return -1;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || v > INT32_MAX)
			return -1;
		pids[n++] = (int32_t)v;
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -1;
		p = end;
	}
	qsort(pids, n, sizeof(*pids), cmp_pid);
	s->nr_pids = 0;
	for (size_t i = 0; i < n; i++)
		if (!s->nr_pids || s->pids[s->nr_pids - 1] != pids[i])
			s->pids[s->nr_pids++] = pids[i];
	return 0;
}

static size_t put(char *buf, size_t len, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t put(char *buf, size_t len, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (at >= len)
		return at;
	va_start(ap, fmt);
	n = vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
	return n < 0 ? at : at + (size_t)n;
}

static size_t put_time(char *buf, size_t len, size_t at, const char *key,
		       const struct pcp_filter_time *t)
{
	return put(buf, len, at, "%s%s=%c%llu.%09llus", at ? " " : "", key, t->absolute ? '@' : '+',
		   (unsigned long long)(t->ns / 1000000000ull),
		   (unsigned long long)(t->ns % 1000000000ull));
}

void pcp_filter_spec_describe(const struct pcp_filter_spec *s, char *buf, size_t len)
{
	size_t at = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (!pcp_filter_spec_active(s)) {
		snprintf(buf, len, "none");
		return;
	}
	if (s->from.set)
		at = put_time(buf, len, at, "from", &s->from);
	if (s->to.set)
		at = put_time(buf, len, at, "to", &s->to);
	if (s->has_cpus) {
		int first = 1;

		at = put(buf, len, at, "%scpus=", at ? " " : "");
		for (int c = 0; c < PCP_FILTER_MAX_CPUS; c++) {
			int e = c;

			if (!(s->cpus[c / 64] >> (c % 64) & 1))
				continue;
			while (e + 1 < PCP_FILTER_MAX_CPUS && (s->cpus[(e + 1) / 64] >> ((e + 1) % 64) & 1))
				e++;
			at = e > c ? put(buf, len, at, "%s%d-%d", first ? "" : ",", c, e)
				   : put(buf, len, at, "%s%d", first ? "" : ",", c);
			first = 0;
			c = e;
		}
	}
	for (size_t i = 0; i < s->nr_pids; i++)
		at = put(buf, len, at, "%s%d", i ? "," : (at ? " pid=" : "pid="), s->pids[i]);
	if (s->comm[0])
		at = put(buf, len, at, "%scomm=%s", at ? " " : "", s->comm);
}

int pcp_filter_init(struct pcp_filter *f, const struct pcp_filter_spec *s, struct tep_handle *tep)
{
	memset(f, 0, sizeof(*f));
	f->spec = *s;
	f->to_ns = UINT64_MAX;
	f->by_pid = s->nr_pids || s->comm[0];
	memcpy(f->pids, s->pids, s->nr_pids * sizeof(*s->pids));
	f->nr_pids = s->nr_pids;
	if (s->comm[0]) {
		struct tep_cmdline *cl = NULL;

		while ((cl = tep_data_pid_from_comm(tep, s->comm, cl)) &&
		       f->nr_pids < sizeof(f->pids) / sizeof(f->pids[0]))
			f->pids[f->nr_pids++] = tep_cmdline_pid(tep, cl);
		qsort(f->pids, f->nr_pids, sizeof(*f->pids), cmp_pid);
	}
	if (f->by_pid) {
		struct tep_event **events = tep_list_events(tep, TEP_EVENT_SORT_ID);
		struct tep_format_field *fld = events && events[0]
			? tep_find_common_field(events[0], "common_pid") : NULL;

		if (!fld || fld->size != 4 || tep_is_file_bigendian(tep) != tep_is_local_bigendian(tep))
			return -1;
		f->pid_off = fld->offset;
		f->pid_size = fld->size;
	}
	return 0;
}

void pcp_filter_start(struct pcp_filter *f, uint64_t first_ts)
{
	const struct pcp_filter_spec *s = &f->spec;

	if (f->started)
		return;
	f->started = 1;
	if (s->from.set)
		f->from_ns = s->from.absolute ? s->from.ns
			   : (first_ts > UINT64_MAX - s->from.ns ? UINT64_MAX : first_ts + s->from.ns);
	if (s->to.set)
		f->to_ns = s->to.absolute ? s->to.ns
			 : (first_ts > UINT64_MAX - s->to.ns ? UINT64_MAX : first_ts + s->to.ns);
}

int pcp_filter_pid_selected(const struct pcp_filter *f, int32_t pid)
{
	size_t lo = 0, hi = f->nr_pids;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->pids[mid] == pid)
			return 1;
		if (f->pids[mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}
