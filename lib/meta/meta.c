/* Loads the recorder's snapshot file that sits beside a trace. The file comes from the recording
 * machine like the trace: it is found by the trace's name as given on the command line, and
 * nothing in it (trace_file, workload, command_line, ...) is ever used as a path or run as a
 * command; its values reach SQLite only as bound parameters (store.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "common/error.h"
#include "meta/meta.h"

int pcp_meta_load(const char *trace_path, json_t **out)
{
	char *path = NULL;
	json_error_t jerr;

	*out = NULL;
	if (asprintf(&path, "%s.meta.json", trace_path) < 0)
		return PCP_ERR_NOMEM;
	if (access(path, F_OK) != 0) {
		free(path);
		return PCP_OK;
	}
	*out = json_load_file(path, 0, &jerr);
	free(path);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return PCP_ERR_BAD_META;
	}
	return PCP_OK;
}

const char *pcp_meta_percpu_stats_text(const json_t *meta, const char *when)
{
	json_t *snap, *pcs;

	if (!meta || !when)
		return NULL;
	snap = json_object_get(json_object_get(meta, "snapshots"), when);
	pcs = json_object_get(snap, "percpu_stats");
	if (!json_is_true(json_object_get(pcs, "available")))
		return NULL;
	return json_string_value(json_object_get(pcs, "text"));
}
