/* The one reader of the meta file: JSON -> struct pcp_meta (meta.h). The file comes from the
 * recording machine like the trace: it is found by the trace's name as given on the command
 * line, and nothing in it (trace_file, workload, command_line, ...) is ever used as a path or run
 * as a command; its values reach SQLite only as bound parameters (store.c). A member of another
 * type than documented reads as absent, as the analysis always treated it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/error.h"
#include "meta/meta.h"

/* A string member copied; *ok cleared when out of memory. NULL when absent or not a string. */
static char *get_str(const json_t *o, const char *key, int *ok)
{
	const char *s = json_string_value(json_object_get(o, key));
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*ok = 0;
	return d;
}

/* 1 when o[key] is an integer (into *v). */
static int get_int(const json_t *o, const char *key, int64_t *v)
{
	const json_t *x = json_object_get(o, key);

	if (!json_is_integer(x))
		return 0;
	*v = (int64_t)json_integer_value(x);
	return 1;
}

static enum pcp_meta_presence presence(const json_t *o, const char *key)
{
	const json_t *x = json_object_get(o, key);

	return !x ? PCP_META_ABSENT : json_is_null(x) ? PCP_META_NULL : PCP_META_SET;
}

/* The string elements of an array (others are left out). */
static int get_strings(const json_t *a, struct pcp_meta_strings *out)
{
	size_t i;
	const json_t *e;

	if (!json_is_array(a))
		return PCP_OK;
	out->present = 1;
	if (!json_array_size(a))
		return PCP_OK;
	if (!(out->v = calloc(json_array_size(a), sizeof(*out->v))))
		return PCP_ERR_NOMEM;
	json_array_foreach(a, i, e)
		if (json_is_string(e) && !(out->v[out->n++] = strdup(json_string_value(e))))
			return PCP_ERR_NOMEM;
	return PCP_OK;
}

static void free_strings(struct pcp_meta_strings *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* ---- recording ---- */

static void read_cpu_row(const json_t *row, struct pcp_meta_cpu *c)
{
	get_int(row, "cpu", &c->cpu);
	c->recorded = json_is_true(json_object_get(row, "recorded"));
	get_int(row, "bytes", &c->bytes);
	get_int(row, "events", &c->events);
	get_int(row, "overrun", &c->overrun);
	get_int(row, "commit_overrun", &c->commit_overrun);
	get_int(row, "dropped", &c->dropped);
	get_int(row, "read_events", &c->read_events);
	get_int(row, "missed_in_file", &c->missed_in_file);
	get_int(row, "missed_unknown_pages", &c->missed_unknown_pages);
}

/* cpus[]: rows without an integer "cpu" say nothing about any CPU and are left out. */
static int read_cpu_rows(const json_t *cpus, struct pcp_meta_recording *rec)
{
	size_t i;
	const json_t *row;

	if (!json_is_array(cpus) || !json_array_size(cpus))
		return PCP_OK;
	if (!(rec->cpus = calloc(json_array_size(cpus), sizeof(*rec->cpus))))
		return PCP_ERR_NOMEM;
	json_array_foreach(cpus, i, row)
		if (json_is_integer(json_object_get(row, "cpu")))
			read_cpu_row(row, &rec->cpus[rec->nr_cpu_rows++]);
	return PCP_OK;
}

static int read_recorded_cpus(const json_t *a, struct pcp_meta_recording *rec)
{
	size_t i;
	const json_t *e;

	if (!json_is_array(a) || !json_array_size(a))
		return PCP_OK;
	if (!(rec->recorded_cpus = calloc(json_array_size(a), sizeof(*rec->recorded_cpus))))
		return PCP_ERR_NOMEM;
	json_array_foreach(a, i, e)
		if (json_is_integer(e))
			rec->recorded_cpus[rec->nr_recorded_cpus++] = json_integer_value(e);
	return PCP_OK;
}

static int read_event_counts(const json_t *o, struct pcp_meta_recording *rec)
{
	const char *name;
	const json_t *v;

	if (!json_is_object(o) || !json_object_size(o))
		return PCP_OK;
	if (!(rec->event_counts = calloc(json_object_size(o), sizeof(*rec->event_counts))))
		return PCP_ERR_NOMEM;
	json_object_foreach((json_t *)o, name, v) {
		struct pcp_meta_event_count *e = &rec->event_counts[rec->nr_event_counts];

		if (!json_is_integer(v))
			continue;
		if (!(e->name = strdup(name)))
			return PCP_ERR_NOMEM;
		e->count = json_integer_value(v);
		rec->nr_event_counts++;
	}
	return PCP_OK;
}

int pcp_meta_recording_from_json(const json_t *o, struct pcp_meta_recording *rec)
{
	const json_t *tsc = json_object_get(o, "tsc2nsec");
	int ok = 1, err;

	memset(rec, 0, sizeof(*rec));
	if (!json_is_object(o))
		return PCP_OK;
	rec->present = 1;
	rec->instance = get_str(o, "instance", &ok);
	rec->clock = get_str(o, "clock", &ok);
	get_int(o, "buffer_kb", &rec->buffer_kb);
	get_int(o, "subbuf_size", &rec->subbuf_size);
	get_int(o, "nr_cpus", &rec->nr_cpus);
	rec->refill_source = get_str(o, "refill_source", &ok);
	get_int(o, "events_total", &rec->events_total);
	get_int(o, "lost_events", &rec->lost_events);
	get_int(o, "lost_unknown_pages", &rec->lost_unknown_pages);
	if (json_is_object(tsc)) {
		rec->has_tsc2nsec = 1;
		get_int(tsc, "mult", &rec->tsc2nsec_mult);
		get_int(tsc, "shift", &rec->tsc2nsec_shift);
		rec->tsc2nsec_source = get_str(tsc, "source", &ok);
	}
	if (json_is_boolean(json_object_get(o, "lifecycle"))) {
		rec->lifecycle = PCP_META_SET;
		rec->lifecycle_on = json_is_true(json_object_get(o, "lifecycle"));
	}
	if (!ok || (err = read_recorded_cpus(json_object_get(o, "recorded_cpus"), rec)) ||
	    (err = get_strings(json_object_get(o, "events"), &rec->events)) ||
	    (err = get_strings(json_object_get(o, "missing_events"), &rec->missing_events)) ||
	    (err = read_event_counts(json_object_get(o, "event_counts"), rec)) ||
	    (err = read_cpu_rows(json_object_get(o, "cpus"), rec)))
		return PCP_ERR_NOMEM;
	return PCP_OK;
}

static void free_recording(struct pcp_meta_recording *rec)
{
	free(rec->instance);
	free(rec->clock);
	free(rec->recorded_cpus);
	free(rec->refill_source);
	free_strings(&rec->events);
	free_strings(&rec->missing_events);
	for (size_t i = 0; i < rec->nr_event_counts; i++)
		free(rec->event_counts[i].name);
	free(rec->event_counts);
	free(rec->cpus);
	free(rec->tsc2nsec_source);
}

/* ---- snapshots ---- */

static void read_pageset(const json_t *o, struct pcp_meta_pageset *p)
{
	get_int(o, "cpu", &p->cpu);
	p->has |= get_int(o, "count", &p->count) ? PCP_META_PAGESET_COUNT : 0;
	p->has |= get_int(o, "high", &p->high) ? PCP_META_PAGESET_HIGH : 0;
	p->has |= get_int(o, "batch", &p->batch) ? PCP_META_PAGESET_BATCH : 0;
	p->has |= get_int(o, "high_min", &p->high_min) ? PCP_META_PAGESET_HIGH_MIN : 0;
	p->has |= get_int(o, "high_max", &p->high_max) ? PCP_META_PAGESET_HIGH_MAX : 0;
	p->has |= get_int(o, "vm_stats_threshold", &p->vm_stats_threshold)
		  ? PCP_META_PAGESET_VM_STATS_THRESHOLD : 0;
}

/* The zone map needs node, zid, start_pfn and spanned as non-negative integers whenever the
 * zone has a start_pfn (zones without one are unpopulated: no PFN is theirs). */
static int span_damaged(const json_t *zone)
{
	static const char *const keys[] = { "node", "zid", "start_pfn", "spanned" };

	if (!json_object_get(zone, "start_pfn"))
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *x = json_object_get(zone, keys[i]);

		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return 1;
	}
	return json_integer_value(json_object_get(zone, "node")) > INT32_MAX ||
	       json_integer_value(json_object_get(zone, "zid")) > INT32_MAX;
}

/* Pagesets are rows with an integer "cpu"; anything else in the array is left out. */
static int read_zone(const json_t *o, struct pcp_meta_zone *z)
{
	const json_t *sets = json_object_get(o, "pagesets"), *e;
	int ok = 1;
	size_t i;

	z->node = -1;
	z->has |= get_int(o, "node", &z->node) ? PCP_META_ZONE_NODE : 0;
	z->name = get_str(o, "zone", &ok);
	z->has |= get_int(o, "zid", &z->zid) ? PCP_META_ZONE_ZID : 0;
	z->has |= get_int(o, "spanned", &z->spanned) ? PCP_META_ZONE_SPANNED : 0;
	z->has |= get_int(o, "start_pfn", &z->start_pfn) ? PCP_META_ZONE_START_PFN : 0;
	z->span_damaged = span_damaged(o);
	if (!ok)
		return PCP_ERR_NOMEM;
	if (!json_is_array(sets) || !json_array_size(sets))
		return PCP_OK;
	if (!(z->pagesets = calloc(json_array_size(sets), sizeof(*z->pagesets))))
		return PCP_ERR_NOMEM;
	json_array_foreach(sets, i, e)
		if (json_is_integer(json_object_get(e, "cpu")))
			read_pageset(e, &z->pagesets[z->nr_pagesets++]);
	return PCP_OK;
}

/* zoneinfo: zones are objects with a string "zone" (the name every use needs). */
static int read_zoneinfo(const json_t *a, struct pcp_meta_snapshot *s)
{
	size_t i;
	const json_t *e;
	int err;

	if (!json_is_array(a))
		return PCP_OK;
	s->has_zoneinfo = 1;
	if (!json_array_size(a))
		return PCP_OK;
	if (!(s->zones = calloc(json_array_size(a), sizeof(*s->zones))))
		return PCP_ERR_NOMEM;
	json_array_foreach(a, i, e) {
		if (!json_is_object(e))
			continue;
		if ((err = read_zone(e, &s->zones[s->nr_zones++])))
			return err;
	}
	return PCP_OK;
}

static int read_vmstat(const json_t *o, struct pcp_meta_snapshot *s)
{
	const char *name;
	const json_t *v;

	if (!json_is_object(o))
		return PCP_OK;
	s->has_vmstat = 1;
	if (!json_object_size(o))
		return PCP_OK;
	if (!(s->vmstat = calloc(json_object_size(o), sizeof(*s->vmstat))))
		return PCP_ERR_NOMEM;
	json_object_foreach((json_t *)o, name, v) {
		if (!json_is_integer(v))
			continue;
		if (!(s->vmstat[s->nr_vmstat].name = strdup(name)))
			return PCP_ERR_NOMEM;
		s->vmstat[s->nr_vmstat++].value = json_integer_value(v);
	}
	return PCP_OK;
}

static void read_switch(const json_t *sw, struct pcp_meta_percpu_stats *p, int *ok)
{
	const json_t *after = json_object_get(sw, "traced_after_read");

	if (!json_is_object(sw))
		return;
	p->has_switch = 1;
	p->switch_when = get_str(sw, "when", ok);
	get_int(sw, "nr_alloc", &p->switch_nr_alloc);
	get_int(sw, "nr_dealloc", &p->switch_nr_dealloc);
	get_int(sw, "attempts", &p->switch_attempts);
	if (json_is_object(after)) {
		p->has_traced_after_read = 1;
		get_int(after, "allocs", &p->traced_allocs);
		get_int(after, "frees", &p->traced_frees);
	}
}

/* The text is parsed here, once, by the one percpu_stats parser; the file's "parsed" member
 * is that parse as the recorder wrote it out, so it is not read. */
static int read_percpu_stats(const json_t *o, struct pcp_meta_percpu_stats *p)
{
	int ok = 1, err;

	if (!json_is_object(o))
		return PCP_OK;
	p->present = 1;
	p->available = json_is_true(json_object_get(o, "available"));
	p->reason = get_str(o, "reason", &ok);
	p->text = get_str(o, "text", &ok);
	read_switch(json_object_get(o, "tracing_switch"), p, &ok);
	if (!ok)
		return PCP_ERR_NOMEM;
	if (!p->text)
		return PCP_OK;
	err = pcp_percpu_stats_parse(p->text, strlen(p->text), &p->parsed);
	if (err == PCP_ERR_BAD_META)
		p->text_damaged = 1;
	return err == PCP_ERR_NOMEM ? err : PCP_OK;
}

/* Whether percpu_stats comes after zoneinfo/vmstat among the snapshot's members. */
static int percpu_stats_last(const json_t *o)
{
	const char *key;
	const json_t *v;
	int seen_slow = 0;

	json_object_foreach((json_t *)o, key, v) {
		if (!strcmp(key, "percpu_stats"))
			return seen_slow;
		seen_slow |= !strncmp(key, "zoneinfo", 8) || !strncmp(key, "vmstat", 6);
	}
	return 0;
}

int pcp_meta_snapshot_from_json(const json_t *o, struct pcp_meta_snapshot *s)
{
	int ok = 1, err;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o))
		return PCP_OK;
	s->present = 1;
	s->time = get_str(o, "time", &ok);
	s->has_time_ns = get_int(o, "time_ns", &s->time_ns);
	s->percpu_stats_last = percpu_stats_last(o);
	s->zoneinfo_error = get_str(o, "zoneinfo_error", &ok);
	if (json_is_object(json_object_get(o, "pageset_timing"))) {
		const json_t *t = json_object_get(o, "pageset_timing");

		s->has_pageset_timing = 1;
		get_int(t, "read_ns", &s->pageset_read_ns);
		get_int(t, "switch_gap_ns", &s->pageset_switch_gap_ns);
	}
	s->vmstat_error = get_str(o, "vmstat_error", &ok);
	if (!ok || (err = read_percpu_stats(json_object_get(o, "percpu_stats"), &s->percpu_stats)) ||
	    (err = read_zoneinfo(json_object_get(o, "zoneinfo"), s)) ||
	    (err = read_vmstat(json_object_get(o, "vmstat"), s)))
		return PCP_ERR_NOMEM;
	return PCP_OK;
}

static void free_snapshot(struct pcp_meta_snapshot *s)
{
	struct pcp_meta_percpu_stats *p = &s->percpu_stats;

	free(s->time);
	free(p->reason);
	free(p->text);
	pcp_percpu_stats_free(p->parsed);
	free(p->switch_when);
	for (size_t i = 0; i < s->nr_zones; i++) {
		free(s->zones[i].name);
		free(s->zones[i].pagesets);
	}
	free(s->zones);
	free(s->zoneinfo_error);
	for (size_t i = 0; i < s->nr_vmstat; i++)
		free(s->vmstat[i].name);
	free(s->vmstat);
	free(s->vmstat_error);
}

/* ---- the whole file ---- */

static int read_top(const json_t *o, struct pcp_meta *m)
{
	const json_t *user = json_object_get(o, "workload_user");
	int ok = 1;

	m->format = get_str(o, "format", &ok);
	m->has_version = get_int(o, "version", &m->version);
	m->tool = get_str(o, "tool", &ok);
	m->trace_file = get_str(o, "trace_file", &ok);
	m->workload = presence(o, "workload");
	m->kernel_release = get_str(o, "kernel_release", &ok);
	m->kernel_version = get_str(o, "kernel_version", &ok);
	m->machine = get_str(o, "machine", &ok);
	m->hostname = get_str(o, "hostname", &ok);
	m->start_time = get_str(o, "start_time", &ok);
	m->stop_time = get_str(o, "stop_time", &ok);
	m->has_duration = json_is_number(json_object_get(o, "duration_s"));
	m->duration_s = json_number_value(json_object_get(o, "duration_s"));
	m->stop_reason = get_str(o, "stop_reason", &ok);
	m->exit_status = presence(o, "exit_status");
	if (m->exit_status == PCP_META_SET && !get_int(o, "exit_status", &m->exit_status_value))
		m->exit_status = PCP_META_ABSENT;
	m->workload_user = presence(o, "workload_user");
	if (json_is_object(user)) {
		m->user_name = get_str(user, "name", &ok);
		get_int(user, "uid", &m->user_uid);
		get_int(user, "gid", &m->user_gid);
	} else if (m->workload_user == PCP_META_SET) {
		m->workload_user = PCP_META_ABSENT;
	}
	if (!ok || get_strings(json_object_get(o, "command_line"), &m->command_line) ||
	    get_strings(json_object_get(o, "workload"), &m->workload_argv))
		return PCP_ERR_NOMEM;
	return PCP_OK;
}

int pcp_meta_from_json(json_t *root, struct pcp_meta **out)
{
	const json_t *snaps = json_object_get(root, "snapshots");
	struct pcp_meta *m;
	int err;

	*out = NULL;
	if (!json_is_object(root))
		return PCP_ERR_BAD_META;
	if (!(m = calloc(1, sizeof(*m))))
		return PCP_ERR_NOMEM;
	m->json = json_incref(root);
	if ((err = read_top(root, m)) ||
	    (err = pcp_meta_recording_from_json(json_object_get(root, "recording"), &m->recording)) ||
	    (err = pcp_meta_snapshot_from_json(json_object_get(snaps, "before"), &m->before)) ||
	    (err = pcp_meta_snapshot_from_json(json_object_get(snaps, "after"), &m->after))) {
		pcp_meta_free(m);
		return err;
	}
	*out = m;
	return PCP_OK;
}

int pcp_meta_load(const char *trace_path, struct pcp_meta **out)
{
	char *path = NULL;
	json_error_t jerr;
	json_t *root;
	int err;

	*out = NULL;
	if (asprintf(&path, "%s.meta.json", trace_path) < 0)
		return PCP_ERR_NOMEM;
	if (access(path, F_OK) != 0) {
		free(path);
		return PCP_OK;
	}
	root = json_load_file(path, 0, &jerr);
	free(path);
	if (!root)
		return PCP_ERR_BAD_META;
	err = pcp_meta_from_json(root, out);
	json_decref(root);
	return err;
}

int pcp_meta_percpu_stats(const struct pcp_meta_snapshot *s,
			  const struct pcp_percpu_stats **out)
{
	*out = NULL;
	if (!s->percpu_stats.available || !s->percpu_stats.text)
		return PCP_OK;
	if (s->percpu_stats.text_damaged)
		return PCP_ERR_BAD_META;
	*out = s->percpu_stats.parsed;
	return PCP_OK;
}

/* The pageset of cpu in z, or NULL; dup set when cpu is there more than once. */
static const struct pcp_meta_pageset *zone_pageset(const struct pcp_meta_zone *z, int64_t cpu,
						   int *dup)
{
	const struct pcp_meta_pageset *found = NULL;

	for (size_t i = 0; i < z->nr_pagesets; i++)
		if (z->pagesets[i].cpu == cpu) {
			*dup |= found != NULL;
			found = &z->pagesets[i];
		}
	return found;
}

int pcp_meta_pcp_pages(const struct pcp_meta_snapshot *s, uint32_t nr_cpus, int64_t *pages)
{
	const struct pcp_meta_zone *ref = NULL;
	int dup = 0;

	if (!s->present || !s->has_zoneinfo)
		return 0;
	/* every zone with pagesets lists the same CPUs (the first such zone's), each once */
	for (size_t z = 0; z < s->nr_zones; z++) {
		const struct pcp_meta_zone *zone = &s->zones[z];

		if (!zone->nr_pagesets)
			continue;
		if (!ref)
			ref = zone;
		if (zone->nr_pagesets != ref->nr_pagesets)
			return 0;
		for (size_t i = 0; i < zone->nr_pagesets; i++) {
			const struct pcp_meta_pageset *p = &zone->pagesets[i];

			if (!(p->has & PCP_META_PAGESET_COUNT) || p->cpu < 0 ||
			    (uint64_t)p->cpu >= nr_cpus || !zone_pageset(ref, p->cpu, &dup))
				return 0;
			zone_pageset(zone, p->cpu, &dup);
			if (dup)
				return 0;
		}
	}
	if (!ref)
		return 0;
	for (uint32_t c = 0; c < nr_cpus; c++)
		pages[c] = 0;
	for (size_t z = 0; z < s->nr_zones; z++)
		for (size_t i = 0; i < s->zones[z].nr_pagesets; i++)
			pages[s->zones[z].pagesets[i].cpu] += s->zones[z].pagesets[i].count;
	return 1;
}

void pcp_meta_free(struct pcp_meta *m)
{
	if (!m)
		return;
	free(m->format);
	free(m->tool);
	free(m->trace_file);
	free_strings(&m->command_line);
	free_strings(&m->workload_argv);
	free(m->kernel_release);
	free(m->kernel_version);
	free(m->machine);
	free(m->hostname);
	free(m->start_time);
	free(m->stop_time);
	free(m->stop_reason);
	free(m->user_name);
	free_recording(&m->recording);
	free_snapshot(&m->before);
	free_snapshot(&m->after);
	json_decref(m->json);
	free(m);
}
