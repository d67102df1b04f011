/* Loads the recorder's snapshot file that sits beside a trace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "pcptrace/error.h"
#include "pcptrace/meta.h"

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
