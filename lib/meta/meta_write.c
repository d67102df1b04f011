/* The one writer of the meta file: struct pcp_meta (meta.h) -> JSON, members in the order the
 * recorder has always written them (pcprecord(1), META FILE), so that a meta file read and
 * written back is the same file. Members the struct marks absent are left out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "common/json_text.h"
#include "common/error.h"
#include "meta/meta.h"
#include "output/outfile.h"

/* Adds key: v to o; a failure (v NULL from no memory, or the set failing) clears *ok. Takes
 * ownership of v. */
static void add(json_t *o, const char *key, json_t *v, int *ok)
{
	if (!v || json_object_set_new(o, key, v))
		*ok = 0;
}

/* A string member, left out when the struct has none. */
static void add_str(json_t *o, const char *key, const char *s, int *ok)
{
	if (s)
		add(o, key, pcp_json_text(s), ok);
}

static json_t *strings_json(const struct pcp_meta_strings *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->n; i++)
		if (json_array_append_new(a, pcp_json_text(s->v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *presence_json(enum pcp_meta_presence p, json_t *v)
{
	if (p == PCP_META_SET)
		return v;
	json_decref(v);
	return json_null();
}

/* ---- percpu_stats ---- */

static const char *chunk_kind(const char *label)
{
	return strstr(label, "First") ? "first" : strstr(label, "Reserved") ? "reserved" : "dynamic";
}

/* The entries of one section (and chunk) into o, in text order. */
static int add_entries(json_t *o, const struct pcp_percpu_stats *s,
		       enum pcp_percpu_stats_section section, int32_t chunk)
{
	int ok = 1;

	for (size_t i = 0; ok && i < s->nr_entries; i++) {
		const struct pcp_percpu_stats_entry *e = &s->entries[i];

		if (e->section == section && (section != PCP_PSTATS_CHUNK || e->chunk == chunk))
			add(o, e->key, json_integer(e->value), &ok);
	}
	return ok;
}

json_t *pcp_meta_percpu_stats_json(const struct pcp_percpu_stats *s)
{
	json_t *root = json_pack("{s:{},s:{},s:[]}", "allocation", "global", "chunks");
	json_t *chunks = json_object_get(root, "chunks");
	int ok = root != NULL;

	ok = ok && add_entries(json_object_get(root, "allocation"), s, PCP_PSTATS_ALLOC_INFO, -1) &&
	     add_entries(json_object_get(root, "global"), s, PCP_PSTATS_GLOBAL, -1);
	for (size_t c = 0; ok && c < s->nr_chunks; c++) {
		json_t *chunk = json_pack("{s:s}", "kind", chunk_kind(s->chunks[c].label));

		ok = chunk && !json_array_append_new(chunks, chunk) &&
		     add_entries(chunk, s, PCP_PSTATS_CHUNK, (int32_t)c);
	}
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static json_t *switch_json(const struct pcp_meta_percpu_stats *p)
{
	json_t *sw = json_pack("{s:s?,s:I,s:I,s:I}", "when", p->switch_when, "nr_alloc",
			       (json_int_t)p->switch_nr_alloc, "nr_dealloc",
			       (json_int_t)p->switch_nr_dealloc, "attempts",
			       (json_int_t)p->switch_attempts);
	int ok = sw != NULL;

	if (ok && p->has_traced_after_read)
		add(sw, "traced_after_read", json_pack("{s:I,s:I}", "allocs",
						       (json_int_t)p->traced_allocs, "frees",
						       (json_int_t)p->traced_frees), &ok);
	if (!ok) {
		json_decref(sw);
		return NULL;
	}
	return sw;
}

/* {available, reason, text} when the text was not parsed (unreadable or refused), else
 * {available, text, parsed, tracing_switch, reason}: the recorder adds the switch and a reason
 * after it parsed the text. */
static json_t *percpu_stats_json(const struct pcp_meta_percpu_stats *p)
{
	json_t *o = json_pack("{s:b}", "available", p->available);
	int ok = o != NULL;

	if (ok && !p->parsed) {
		add_str(o, "reason", p->reason, &ok);
		add_str(o, "text", p->text, &ok);
	} else if (ok) {
		add_str(o, "text", p->text, &ok);
		add(o, "parsed", pcp_meta_percpu_stats_json(p->parsed), &ok);
		if (p->has_switch)
			add(o, "tracing_switch", switch_json(p), &ok);
		add_str(o, "reason", p->reason, &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- zoneinfo and vmstat ---- */

static json_t *pageset_json(const struct pcp_meta_pageset *p)
{
	json_t *o = json_pack("{s:I}", "cpu", (json_int_t)p->cpu);
	int ok = o != NULL;

	if (ok && (p->has & PCP_META_PAGESET_COUNT))
		add(o, "count", json_integer(p->count), &ok);
	if (ok && (p->has & PCP_META_PAGESET_HIGH))
		add(o, "high", json_integer(p->high), &ok);
	if (ok && (p->has & PCP_META_PAGESET_BATCH))
		add(o, "batch", json_integer(p->batch), &ok);
	if (ok && (p->has & PCP_META_PAGESET_HIGH_MIN))
		add(o, "high_min", json_integer(p->high_min), &ok);
	if (ok && (p->has & PCP_META_PAGESET_HIGH_MAX))
		add(o, "high_max", json_integer(p->high_max), &ok);
	if (ok && (p->has & PCP_META_PAGESET_VM_STATS_THRESHOLD))
		add(o, "vm_stats_threshold", json_integer(p->vm_stats_threshold), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {node, zone, zid, pagesets, spanned, start_pfn}: the order the recorder's zoneinfo parser
 * builds them in (the span is added after the zone's pagesets array). */
static json_t *zone_json(const struct pcp_meta_zone *z)
{
	json_t *o = json_object(), *sets = json_array();
	int ok = o && sets;

	if (ok && (z->has & PCP_META_ZONE_NODE))
		add(o, "node", json_integer(z->node), &ok);
	if (ok && z->name)
		add(o, "zone", pcp_json_text(z->name), &ok);
	if (ok && (z->has & PCP_META_ZONE_ZID))
		add(o, "zid", json_integer(z->zid), &ok);
	for (size_t i = 0; ok && i < z->nr_pagesets; i++)
		ok = !json_array_append_new(sets, pageset_json(&z->pagesets[i]));
	if (ok) {
		add(o, "pagesets", sets, &ok);
		sets = NULL;
	}
	if (ok && (z->has & PCP_META_ZONE_SPANNED))
		add(o, "spanned", json_integer(z->spanned), &ok);
	if (ok && (z->has & PCP_META_ZONE_START_PFN))
		add(o, "start_pfn", json_integer(z->start_pfn), &ok);
	json_decref(sets);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void add_zoneinfo(json_t *o, const struct pcp_meta_snapshot *s, int *ok)
{
	json_t *zones;

	add_str(o, "zoneinfo_error", s->zoneinfo_error, ok);
	if (s->has_zoneinfo) {
		zones = json_array();
		for (size_t i = 0; zones && i < s->nr_zones; i++)
			if (json_array_append_new(zones, zone_json(&s->zones[i]))) {
				json_decref(zones);
				zones = NULL;
			}
		add(o, "zoneinfo", zones, ok);
	}
	if (*ok && s->has_pageset_timing)
		add(o, "pageset_timing", json_pack("{s:I,s:I}", "read_ns",
						   (json_int_t)s->pageset_read_ns, "switch_gap_ns",
						   (json_int_t)s->pageset_switch_gap_ns), ok);
}

static void add_vmstat(json_t *o, const struct pcp_meta_snapshot *s, int *ok)
{
	json_t *v;

	add_str(o, "vmstat_error", s->vmstat_error, ok);
	if (!s->has_vmstat)
		return;
	v = json_object();
	for (size_t i = 0; v && i < s->nr_vmstat; i++)
		if (json_object_set_new(v, s->vmstat[i].name, json_integer(s->vmstat[i].value))) {
			json_decref(v);
			v = NULL;
		}
	add(o, "vmstat", v, ok);
}

/* {time, time_ns, percpu_stats, zoneinfo, vmstat}, percpu_stats last when it was read last. */
static json_t *snapshot_json(const struct pcp_meta_snapshot *s)
{
	json_t *o = json_object();
	int ok = o != NULL;

	add_str(o, "time", s->time, &ok);
	if (ok && s->has_time_ns)
		add(o, "time_ns", json_integer(s->time_ns), &ok);
	if (ok && s->percpu_stats.present && !s->percpu_stats_last)
		add(o, "percpu_stats", percpu_stats_json(&s->percpu_stats), &ok);
	if (ok)
		add_zoneinfo(o, s, &ok);
	if (ok)
		add_vmstat(o, s, &ok);
	if (ok && s->percpu_stats.present && s->percpu_stats_last)
		add(o, "percpu_stats", percpu_stats_json(&s->percpu_stats), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- recording ---- */

static json_t *cpu_row_json(const struct pcp_meta_cpu *c)
{
	return json_pack("{s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "cpu", (json_int_t)c->cpu,
			 "recorded", c->recorded, "bytes", (json_int_t)c->bytes, "events",
			 (json_int_t)c->events, "overrun", (json_int_t)c->overrun,
			 "commit_overrun", (json_int_t)c->commit_overrun, "dropped",
			 (json_int_t)c->dropped, "read_events", (json_int_t)c->read_events,
			 "missed_in_file", (json_int_t)c->missed_in_file, "missed_unknown_pages",
			 (json_int_t)c->missed_unknown_pages);
}

static json_t *recording_json(const struct pcp_meta_recording *r)
{
	json_t *recorded = json_array(), *counts = json_object(), *cpus = json_array(), *o;
	int ok = recorded && counts && cpus;

	for (size_t i = 0; ok && i < r->nr_recorded_cpus; i++)
		ok = !json_array_append_new(recorded, json_integer(r->recorded_cpus[i]));
	for (size_t i = 0; ok && i < r->nr_event_counts; i++)
		ok = !json_object_set_new(counts, r->event_counts[i].name,
					  json_integer(r->event_counts[i].count));
	for (size_t i = 0; ok && i < r->nr_cpu_rows; i++)
		ok = !json_array_append_new(cpus, cpu_row_json(&r->cpus[i]));
	if (!ok) {
		json_decref(recorded);
		json_decref(counts);
		json_decref(cpus);
		return NULL;
	}
	o = json_pack("{s:s?,s:s?,s:I,s:I,s:I,s:o,s:s?,s:o,s:o,s:I,s:o,s:I,s:I,s:o}",
		      "instance", r->instance, "clock", r->clock,
		      "buffer_kb", (json_int_t)r->buffer_kb, "subbuf_size", (json_int_t)r->subbuf_size,
		      "nr_cpus", (json_int_t)r->nr_cpus, "recorded_cpus", recorded,
		      "refill_source", r->refill_source, "events", strings_json(&r->events),
		      "missing_events", strings_json(&r->missing_events),
		      "events_total", (json_int_t)r->events_total, "event_counts", counts,
		      "lost_events", (json_int_t)r->lost_events,
		      "lost_unknown_pages", (json_int_t)r->lost_unknown_pages, "cpus", cpus);
	if (o && r->has_tsc2nsec &&
	    json_object_set_new(o, "tsc2nsec", json_pack("{s:I,s:I,s:s?}", "mult",
							 (json_int_t)r->tsc2nsec_mult, "shift",
							 (json_int_t)r->tsc2nsec_shift, "source",
							 r->tsc2nsec_source))) {
		json_decref(o);
		return NULL;
	}
	if (o && r->lifecycle == PCP_META_SET &&
	    json_object_set_new(o, "lifecycle", json_boolean(r->lifecycle_on))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- the whole file ---- */

static void add_workload_user(json_t *o, const struct pcp_meta *m, int *ok)
{
	if (m->workload_user == PCP_META_ABSENT)
		return;
	add(o, "workload_user",
	    presence_json(m->workload_user,
			  json_pack("{s:s?,s:I,s:I}", "name", m->user_name, "uid",
				    (json_int_t)m->user_uid, "gid", (json_int_t)m->user_gid)),
	    ok);
}

static void add_top(json_t *o, const struct pcp_meta *m, int *ok)
{
	add_str(o, "format", m->format, ok);
	if (m->has_version)
		add(o, "version", json_integer(m->version), ok);
	add_str(o, "tool", m->tool, ok);
	add_str(o, "trace_file", m->trace_file, ok);
	if (m->command_line.present)
		add(o, "command_line", strings_json(&m->command_line), ok);
	if (m->workload != PCP_META_ABSENT)
		add(o, "workload", presence_json(m->workload, strings_json(&m->workload_argv)), ok);
	add_str(o, "kernel_release", m->kernel_release, ok);
	add_str(o, "kernel_version", m->kernel_version, ok);
	add_str(o, "machine", m->machine, ok);
	add_str(o, "hostname", m->hostname, ok);
	add_str(o, "start_time", m->start_time, ok);
	add_str(o, "stop_time", m->stop_time, ok);
	if (m->has_duration)
		add(o, "duration_s", json_real(m->duration_s), ok);
	add_str(o, "stop_reason", m->stop_reason, ok);
	if (m->exit_status != PCP_META_ABSENT)
		add(o, "exit_status", presence_json(m->exit_status,
						    json_integer(m->exit_status_value)), ok);
	add_workload_user(o, m, ok);
}

json_t *pcp_meta_to_json(const struct pcp_meta *m)
{
	json_t *o = json_object(), *snaps;
	int ok = o != NULL;

	if (ok)
		add_top(o, m, &ok);
	if (ok && m->recording.present)
		add(o, "recording", recording_json(&m->recording), &ok);
	if (ok && (m->before.present || m->after.present)) {
		snaps = json_object();
		if (snaps && m->before.present)
			add(snaps, "before", snapshot_json(&m->before), &ok);
		if (snaps && m->after.present)
			add(snaps, "after", snapshot_json(&m->after), &ok);
		add(o, "snapshots", snaps, &ok);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int pcp_meta_write(const char *trace_path, const struct pcp_meta *m, char *errbuf, size_t errlen)
{
	json_t *doc = pcp_meta_to_json(m);
	struct pcp_outfile f;
	char *path = NULL;
	int err;

	if (!doc || asprintf(&path, "%s.meta.json", trace_path) < 0) {
		json_decref(doc);
		snprintf(errbuf, errlen, "%s", pcp_strerror(PCP_ERR_NOMEM));
		return PCP_ERR_NOMEM;
	}
	err = pcp_outfile_open(&f, path, errbuf, errlen);
	free(path);
	if (err != PCP_OK) {
		json_decref(doc);
		return err;
	}
	if (json_dumpfd(doc, f.fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
	    write(f.fd, "\n", 1) != 1) {
		snprintf(errbuf, errlen, "cannot write: %s", strerror(errno));
		json_decref(doc);
		pcp_outfile_abort(&f);
		return PCP_ERR_IO;
	}
	json_decref(doc);
	return pcp_outfile_commit(&f, errbuf, errlen);
}

int pcp_meta_set_system(struct pcp_meta *m)
{
	struct utsname u;
	char host[256];

	if (uname(&u) != 0)
		memset(&u, 0, sizeof(u));
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	free(m->kernel_release);
	free(m->kernel_version);
	free(m->machine);
	free(m->hostname);
	m->kernel_release = strdup(u.release);
	m->kernel_version = strdup(u.version);
	m->machine = strdup(u.machine);
	m->hostname = strdup(host);
	return m->kernel_release && m->kernel_version && m->machine && m->hostname ? PCP_OK
										 : PCP_ERR_NOMEM;
}
