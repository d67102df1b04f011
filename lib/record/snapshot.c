/* Allocator state snapshots for the recorder: percpu_stats, zoneinfo pagesets, vmstat. The meta
 * file they go into is the meta module's (meta/meta.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "common/io.h"
#include "common/error.h"
#include "meta/meta.h"
#include "meta/percpu_stats.h"
#include "record/snapshot.h"

#define PERCPU_STATS_PATH "/sys/kernel/debug/percpu_stats"
#define DEBUGFS_DIR "/sys/kernel/debug"

static int fail(char *errbuf, size_t errlen, int line, const char *what)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "line %d: %s", line, what);
	return PCP_ERR_BAD_META;
}

static const char *skip_blank(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* A whole decimal number (optionally negative) followed only by blanks. */
static int parse_number(const char *s, long long *v)
{
	char *end;

	s = skip_blank(s);
	if (!*s || (!isdigit((unsigned char)*s) && *s != '-'))
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	end = (char *)skip_blank(end);
	return *end ? -1 : 0;
}

/* Copies the next line of *text (without its newline) into buf; 0 at the end. */
static int next_line(const char **text, char *buf, size_t size)
{
	const char *s = *text, *nl;
	size_t len;

	if (!*s)
		return 0;
	nl = strchr(s, '\n');
	len = nl ? (size_t)(nl - s) : strlen(s);
	if (len >= size)
		len = size - 1; /* longer lines are never meaningful here */
	memcpy(buf, s, len);
	buf[len] = '\0';
	*text = nl ? nl + 1 : s + strlen(s);
	return 1;
}

/* "key: value" with a numeric value; key copied without blanks. */
static int split_key_value(const char *line, char *key, size_t keylen, const char **value)
{
	const char *colon = strchr(line, ':');
	const char *k = skip_blank(line);
	size_t n;

	if (!colon)
		return -1;
	n = (size_t)(colon - k);
	while (n && (k[n - 1] == ' ' || k[n - 1] == '\t'))
		n--;
	if (!n || n >= keylen)
		return -1;
	memcpy(key, k, n);
	key[n] = '\0';
	*value = colon + 1;
	return 0;
}

/* zoneinfo parse state: the zone being read, its pagesets array and the pageset (cpu) being
 * filled. in_pagesets: between a zone's "pagesets" line and its trailer. */
struct zoneinfo_parser {
	json_t *zones, *zone, *sets, *cpu;
	int in_pagesets, lineno;
	char *errbuf;
	size_t errlen;
};

static int zi_fail(struct zoneinfo_parser *p, const char *what)
{
	return fail(p->errbuf, p->errlen, p->lineno, what);
}

/* A pageset is complete once it has count, high and batch (no pageset at all is fine). */
static int zi_pageset_complete(const struct zoneinfo_parser *p)
{
	return !p->cpu || (json_object_get(p->cpu, "count") && json_object_get(p->cpu, "high") &&
			   json_object_get(p->cpu, "batch"));
}

/* Ends the current pageset: the next one starts with a "cpu" line. */
static int zi_end_pageset(struct zoneinfo_parser *p, const char *what)
{
	if (!zi_pageset_complete(p))
		return zi_fail(p, what);
	p->cpu = NULL;
	return PCP_OK;
}

/* "Node N, zone NAME" starts a zone. zid: the zone's position in its node; zoneinfo prints
 * every zone of a node (empty ones too) in the kernel's zone_type order. */
static int zi_zone_header(struct zoneinfo_parser *p, const char *line)
{
	char name[64];
	int node, zid = 0, err;

	if ((err = zi_end_pageset(p, "pageset without count/high/batch")))
		return err;
	if (sscanf(line, "Node %d, zone %63s", &node, name) != 2 || node < 0)
		return zi_fail(p, "bad zone header");
	for (size_t i = 0; i < json_array_size(p->zones); i++)
		zid += json_integer_value(json_object_get(json_array_get(p->zones, i), "node")) == node;
	p->zone = json_pack("{s:i,s:s,s:i,s:[]}", "node", node, "zone", name, "zid", zid,
			    "pagesets");
	if (!p->zone || json_array_append_new(p->zones, p->zone))
		return PCP_ERR_NOMEM;
	p->sets = json_object_get(p->zone, "pagesets");
	p->in_pagesets = 0;
	return PCP_OK;
}

/* The zone's PFN span, which maps a PFN to its zone: "spanned  N" (no colon) among the
 * watermarks, "start_pfn: N" in the trailer (populated zones only, it ends the pagesets).
 * 1 when t was neither line. */
static int zi_span(struct zoneinfo_parser *p, const char *t, int *err)
{
	long long v;

	*err = PCP_OK;
	if (!strncmp(t, "spanned", 7) && (t[7] == ' ' || t[7] == '\t')) {
		if (parse_number(t + 7, &v) || v < 0)
			*err = zi_fail(p, "bad spanned");
		else if (json_object_set_new(p->zone, "spanned", json_integer(v)))
			*err = PCP_ERR_NOMEM;
		return 0;
	}
	if (strncmp(t, "start_pfn:", 10))
		return 1;
	if ((*err = zi_end_pageset(p, "pageset without count/high/batch")))
		return 0;
	if (parse_number(t + 10, &v) || v < 0)
		*err = zi_fail(p, "bad start_pfn");
	else if (json_object_set_new(p->zone, "start_pfn", json_integer(v)))
		*err = PCP_ERR_NOMEM;
	p->in_pagesets = 0;
	return 0;
}

/* "cpu: N" starts a pageset. */
static int zi_pageset_cpu(struct zoneinfo_parser *p, const char *value)
{
	long long v;
	int err;

	if ((err = zi_end_pageset(p, "pageset without count/high/batch")))
		return err;
	if (parse_number(value, &v) || v < 0)
		return zi_fail(p, "bad cpu number");
	p->cpu = json_pack("{s:I}", "cpu", (json_int_t)v);
	if (!p->cpu || json_array_append_new(p->sets, p->cpu))
		return PCP_ERR_NOMEM;
	return PCP_OK;
}

static int zi_is_pageset_key(const char *key)
{
	static const char *const keys[] = { "count", "high", "batch", "high_min", "high_max" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i]))
			return 1;
	return 0;
}

/* One "key: value" line inside the pagesets. Another key ends them (the zone's trailer). */
static int zi_pageset_field(struct zoneinfo_parser *p, const char *key, const char *value)
{
	long long v;

	if (!strcmp(key, "cpu"))
		return zi_pageset_cpu(p, value);
	if (!strcmp(key, "vm stats threshold")) {
		if (!p->cpu || parse_number(value, &v))
			return zi_fail(p, "bad vm stats threshold");
		json_object_set_new(p->cpu, "vm_stats_threshold", json_integer(v));
		return PCP_OK;
	}
	if (!zi_is_pageset_key(key)) {
		p->in_pagesets = 0;
		return zi_end_pageset(p, "pageset without count/high/batch");
	}
	if (!p->cpu)
		return zi_fail(p, "pageset field before any cpu");
	if (parse_number(value, &v) || v < 0)
		return zi_fail(p, "pageset field is not a number");
	return json_object_set_new(p->cpu, key, json_integer(v)) ? PCP_ERR_NOMEM : PCP_OK;
}

/* One line of the text, in its place: a zone header, a span, the pagesets' start or a line
 * inside them. Lines of a zone outside its pagesets (watermarks, counters) say nothing to us. */
static int zi_line(struct zoneinfo_parser *p, const char *line)
{
	const char *t = skip_blank(line), *value;
	char key[64];
	int err;

	if (!strncmp(line, "Node ", 5))
		return zi_zone_header(p, line);
	if (!p->zone)
		return *t ? zi_fail(p, "text before the first zone") : PCP_OK;
	if (!strcmp(t, "pagesets")) {
		p->in_pagesets = 1;
		return PCP_OK;
	}
	if (!zi_span(p, t, &err))
		return err;
	if (!p->in_pagesets || !*t)
		return PCP_OK;
	if (split_key_value(t, key, sizeof(key), &value)) {
		p->in_pagesets = 0; /* an unknown line ends the pagesets (the zone's trailer) */
		return PCP_OK;
	}
	return zi_pageset_field(p, key, value);
}

int pcp_snapshot_parse_zoneinfo(const char *text, json_t **out, char *errbuf, size_t errlen)
{
	struct zoneinfo_parser p = { .zones = json_array(), .errbuf = errbuf, .errlen = errlen };
	char line[512];
	int err = PCP_OK;

	*out = NULL;
	if (!p.zones)
		return PCP_ERR_NOMEM;
	while (err == PCP_OK && next_line(&text, line, sizeof(line))) {
		p.lineno++;
		err = zi_line(&p, line);
	}
	if (err == PCP_OK && !zi_pageset_complete(&p))
		err = zi_fail(&p, "text ends inside a pageset");
	if (err == PCP_OK && json_array_size(p.zones) == 0)
		err = zi_fail(&p, "no zone");
	if (err != PCP_OK) {
		json_decref(p.zones);
		return err;
	}
	*out = p.zones;
	return PCP_OK;
}

int pcp_snapshot_parse_vmstat(const char *text, json_t **out, char *errbuf, size_t errlen)
{
	json_t *root = json_object();
	char line[512], name[128];
	int lineno = 0;

	*out = NULL;
	if (!root)
		return PCP_ERR_NOMEM;
	while (next_line(&text, line, sizeof(line))) {
		long long v;
		int used = 0;

		lineno++;
		if (!*skip_blank(line))
			continue;
		if (sscanf(line, "%127s%n", name, &used) != 1 || parse_number(line + used, &v)) {
			json_decref(root);
			return fail(errbuf, errlen, lineno, "not a \"name value\" line");
		}
		if (json_object_set_new(root, name, json_integer(v))) {
			json_decref(root);
			return PCP_ERR_NOMEM;
		}
	}
	if (json_object_size(root) == 0) {
		json_decref(root);
		return fail(errbuf, errlen, lineno, "empty vmstat text");
	}
	*out = root;
	return PCP_OK;
}

/* Whole file as a NUL-terminated string (procfs/debugfs files report size 0), with the errno
 * that stopped it. */
static char *read_text(const char *path, int *err_no)
{
	char *text;
	size_t len;

	*err_no = 0;
	if (pcp_io_read_file(path, &text, &len) != PCP_OK)
		*err_no = errno ? errno : EIO;
	return text;
}

static int debugfs_mounted(void)
{
	struct stat st;

	return stat(DEBUGFS_DIR "/tracing", &st) == 0 || stat(PERCPU_STATS_PATH, &st) == 0 ||
	       stat(DEBUGFS_DIR "/bdi", &st) == 0;
}

/* The text parsed by the one percpu_stats parser (meta/percpu_stats.h), written out as the
 * meta's "parsed" member by the meta writer. */
static json_t *percpu_stats_snapshot(void)
{
	struct pcp_percpu_stats *parsed = NULL;
	char reason[256];
	json_t *obj;
	char *text;
	int err_no, err;

	if (!debugfs_mounted() && mount("nodev", DEBUGFS_DIR, "debugfs", 0, NULL) != 0) {
		snprintf(reason, sizeof(reason), "debugfs is not mounted and cannot be: %s",
			 strerror(errno));
		return json_pack("{s:b,s:s}", "available", 0, "reason", reason);
	}
	text = read_text(PERCPU_STATS_PATH, &err_no);
	if (!text) {
		snprintf(reason, sizeof(reason), "%s: %s%s", PERCPU_STATS_PATH, strerror(err_no),
			 err_no == ENOENT ? " (kernel built without CONFIG_PERCPU_STATS)" : "");
		return json_pack("{s:b,s:s}", "available", 0, "reason", reason);
	}
	err = pcp_percpu_stats_parse(text, strlen(text), &parsed);
	if (err == PCP_ERR_NOMEM) {
		obj = NULL;
	} else if (err != PCP_OK) {
		snprintf(reason, sizeof(reason), "%s: not a percpu_stats listing, or damaged",
			 PERCPU_STATS_PATH);
		obj = json_pack("{s:b,s:s,s:s}", "available", 0, "reason", reason, "text", text);
	} else {
		obj = json_pack("{s:b,s:s,s:o}", "available", 1, "text", text, "parsed",
				pcp_meta_percpu_stats_json(parsed));
	}
	pcp_percpu_stats_free(parsed);
	free(text);
	return obj;
}

int64_t pcp_snapshot_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Parses a live file into obj[key]; trouble goes to obj[key "_error"]. t (may be NULL): when
 * the read began and ended. */
static int add_parsed(json_t *obj, const char *key, const char *path,
		      int (*parse)(const char *, json_t **, char *, size_t),
		      struct pcp_snapshot_read_time *t)
{
	char errbuf[160], reason[256], errkey[64];
	json_t *val = NULL;
	char *text;
	int err_no, err;

	snprintf(errkey, sizeof(errkey), "%s_error", key);
	if (t)
		t->start_ns = pcp_snapshot_mono_ns();
	text = read_text(path, &err_no);
	if (t)
		t->end_ns = pcp_snapshot_mono_ns();
	if (!text) {
		snprintf(reason, sizeof(reason), "%s: %s", path, strerror(err_no));
		return json_object_set_new(obj, errkey, json_string(reason)) ? PCP_ERR_NOMEM
									    : PCP_OK;
	}
	err = parse(text, &val, errbuf, sizeof(errbuf));
	free(text);
	if (err == PCP_ERR_NOMEM)
		return err;
	if (err != PCP_OK) {
		snprintf(reason, sizeof(reason), "%s: %s", path, errbuf);
		return json_object_set_new(obj, errkey, json_string(reason)) ? PCP_ERR_NOMEM
									    : PCP_OK;
	}
	return json_object_set_new(obj, key, val) ? PCP_ERR_NOMEM : PCP_OK;
}

static int add_zoneinfo(json_t *snap, struct pcp_snapshot_read_time *t)
{
	return add_parsed(snap, "zoneinfo", "/proc/zoneinfo", pcp_snapshot_parse_zoneinfo, t);
}

static int add_vmstat(json_t *snap)
{
	return add_parsed(snap, "vmstat", "/proc/vmstat", pcp_snapshot_parse_vmstat, NULL);
}

static int add_percpu_stats(json_t *snap)
{
	json_t *pcs = percpu_stats_snapshot();

	return !pcs || json_object_set_new(snap, "percpu_stats", pcs) ? PCP_ERR_NOMEM : PCP_OK;
}

int pcp_snapshot_take_ordered(json_t **out, enum pcp_snapshot_order order,
			      struct pcp_snapshot_read_time *zi)
{
	struct pcp_snapshot_read_time unused;
	struct timespec ts;
	struct tm tm;
	char when[40];
	json_t *snap;
	int err;

	*out = NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ", ts.tv_nsec / 1000000);
	snap = json_pack("{s:s,s:I}", "time", when,
			 "time_ns", (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
	if (!snap)
		return PCP_ERR_NOMEM;
	if (!zi)
		zi = &unused;
	/* the pageset counts nearest the switch, percpu_stats next (its own check on the other
	 * side of the switch tolerates the zoneinfo read between), vmstat farthest */
	if (order == PCP_SNAPSHOT_BEFORE_ON)
		err = add_vmstat(snap);
	else
		err = add_zoneinfo(snap, zi);
	if (err == PCP_OK)
		err = add_percpu_stats(snap);
	if (err == PCP_OK)
		err = order == PCP_SNAPSHOT_BEFORE_ON ? add_zoneinfo(snap, zi) : add_vmstat(snap);
	if (err != PCP_OK) {
		json_decref(snap);
		return err;
	}
	*out = snap;
	return PCP_OK;
}

int pcp_snapshot_take(json_t **out)
{
	return pcp_snapshot_take_ordered(out, PCP_SNAPSHOT_AFTER_OFF, NULL);
}

int pcp_snapshot_set_pageset_timing(json_t *snap, int64_t read_ns, int64_t switch_gap_ns)
{
	return json_object_set_new(snap, "pageset_timing",
				   json_pack("{s:I,s:I}", "read_ns", (json_int_t)read_ns,
					     "switch_gap_ns", (json_int_t)switch_gap_ns))
	       ? PCP_ERR_NOMEM : PCP_OK;
}

int pcp_snapshot_percpu_counts(int64_t *nr_alloc, int64_t *nr_dealloc)
{
	struct pcp_percpu_stats *parsed;
	char *buf;
	int err_no, err;

	buf = read_text(PERCPU_STATS_PATH, &err_no);
	if (!buf)
		return err_no == ENOMEM ? PCP_ERR_NOMEM : PCP_ERR_IO;
	err = pcp_percpu_stats_parse(buf, strlen(buf), &parsed);
	free(buf);
	if (err != PCP_OK)
		return err;
	/* the parser guarantees both global keys */
	pcp_percpu_stats_get(parsed, PCP_PSTATS_GLOBAL, -1, "nr_alloc", nr_alloc);
	pcp_percpu_stats_get(parsed, PCP_PSTATS_GLOBAL, -1, "nr_dealloc", nr_dealloc);
	pcp_percpu_stats_free(parsed);
	return PCP_OK;
}

int pcp_snapshot_mark_switch(json_t *snap, const char *switch_name, int read_ok, int64_t nr_alloc,
			     int64_t nr_dealloc, int attempts)
{
	json_t *pcs = json_object_get(snap, "percpu_stats");
	json_t *global = json_object_get(json_object_get(pcs, "parsed"), "global");
	json_int_t a = json_integer_value(json_object_get(global, "nr_alloc"));
	json_int_t d = json_integer_value(json_object_get(global, "nr_dealloc"));
	char reason[320];

	if (!json_is_true(json_object_get(pcs, "available")))
		return PCP_OK;
	if (!read_ok) {
		snprintf(reason, sizeof(reason), "percpu_stats could not be read again when tracing %s, "
			 "so the snapshot is not known to bracket the trace", switch_name);
	} else {
		if (json_object_set_new(pcs, "tracing_switch",
					json_pack("{s:s,s:I,s:I,s:i}", "when", switch_name, "nr_alloc",
						  (json_int_t)nr_alloc, "nr_dealloc",
						  (json_int_t)nr_dealloc, "attempts", attempts)))
			return PCP_ERR_NOMEM;
		if (nr_alloc == a && nr_dealloc == d)
			return PCP_OK;
		snprintf(reason, sizeof(reason),
			 "other processes allocated or freed percpu memory while tracing %s "
			 "(nr_alloc %lld vs %lld, nr_dealloc %lld vs %lld, %d attempt%s): the snapshot "
			 "does not bracket the trace exactly", switch_name, (long long)a,
			 (long long)nr_alloc, (long long)d, (long long)nr_dealloc, attempts,
			 attempts == 1 ? "" : "s");
	}
	/* No verdict rather than a false one: pcpanalyze's check needs both snapshots available. */
	if (json_object_set_new(pcs, "available", json_false()) ||
	    json_object_set_new(pcs, "reason", json_string(reason)))
		return PCP_ERR_NOMEM;
	return PCP_OK;
}
