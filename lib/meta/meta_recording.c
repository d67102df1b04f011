/* The meta of a recording pcprecord just made: its run, this system, the recorder's recording
 * member and snapshots, into one struct pcp_meta and out through the one writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "meta/meta.h"

static int copy_strings(int n, char **v, struct pcp_meta_strings *out)
{
	out->present = 1;
	if (n <= 0)
		return PCP_OK;
	if (!(out->v = calloc((size_t)n, sizeof(*out->v))))
		return PCP_ERR_NOMEM;
	for (; out->n < (size_t)n; out->n++)
		if (!(out->v[out->n] = strdup(v[out->n])))
			return PCP_ERR_NOMEM;
	return PCP_OK;
}

/* A copy, or NULL for NULL; *ok cleared when out of memory. */
static char *dup_or_null(const char *s, int *ok)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*ok = 0;
	return d;
}

static int fill_run(struct pcp_meta *m, const struct pcp_meta_recording_run *run)
{
	int ok = 1;

	m->format = dup_or_null("pcptrace-meta", &ok);
	m->has_version = 1;
	m->version = 1;
	m->tool = dup_or_null(run->tool, &ok);
	m->trace_file = dup_or_null(run->trace_file, &ok);
	m->workload = run->workload_argc >= 0 ? PCP_META_SET : PCP_META_NULL;
	m->start_time = dup_or_null(run->start_time, &ok);
	m->stop_time = dup_or_null(run->stop_time, &ok);
	m->has_duration = 1;
	m->duration_s = run->duration_s;
	m->stop_reason = dup_or_null(run->stop_reason, &ok);
	m->exit_status = run->have_status ? PCP_META_SET : PCP_META_NULL;
	m->exit_status_value = run->exit_status;
	m->workload_user = run->user_name ? PCP_META_SET : PCP_META_NULL;
	m->user_name = dup_or_null(run->user_name, &ok);
	m->user_uid = run->user_uid;
	m->user_gid = run->user_gid;
	if (!ok || copy_strings(run->argc, run->argv, &m->command_line) ||
	    (run->workload_argc >= 0 &&
	     copy_strings(run->workload_argc, run->workload, &m->workload_argv)))
		return PCP_ERR_NOMEM;
	return PCP_OK;
}

int pcp_meta_write_recording(const char *trace_path, const struct pcp_meta_recording_run *run,
			     char *errbuf, size_t errlen)
{
	struct pcp_meta *m = calloc(1, sizeof(*m));
	int err;

	if (!m || !run->recording || !run->before || !run->after || (err = fill_run(m, run)) || (err = pcp_meta_set_system(m)) ||
	    (err = pcp_meta_recording_from_json(run->recording, &m->recording)) ||
	    (err = pcp_meta_snapshot_from_json(run->before, &m->before)) ||
	    (err = pcp_meta_snapshot_from_json(run->after, &m->after))) {
		pcp_meta_free(m);
		snprintf(errbuf, errlen, "%s", pcp_strerror(PCP_ERR_NOMEM));
		return PCP_ERR_NOMEM;
	}
	err = pcp_meta_write(trace_path, m, errbuf, errlen);
	pcp_meta_free(m);
	return err;
}
