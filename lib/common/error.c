/* The library's single error table: message and exit status per code. */
#include <stdarg.h>
#include <stdio.h>
#include "common/error.h"

static const struct {
	const char *message;
	int exit_code;
} pcp_error_table[PCP_ERR__COUNT] = {
	[PCP_OK] = { "success", 0 },
	[PCP_ERR_USAGE] = { "invalid usage", 2 },
	[PCP_ERR_NOMEM] = { "out of memory", 70 },
	[PCP_ERR_IO] = { "input/output error", 74 },
	[PCP_ERR_NOFILE] = { "cannot open file", 3 },
	[PCP_ERR_EMPTY] = { "file is empty", 4 },
	[PCP_ERR_NOT_TRACE] = { "not a trace.dat file", 5 },
	[PCP_ERR_TRUNCATED] = { "file is truncated", 6 },
	[PCP_ERR_CORRUPT] = { "file is corrupt", 7 },
	[PCP_ERR_NO_EVENTS] = { "no event that pcptrace analyzes", 8 },
	[PCP_ERR_MODE] = { "requested mode not possible for this trace", 9 },
	[PCP_ERR_DB] = { "database error", 10 },
	[PCP_ERR_JSON] = { "JSON error", 11 },
	[PCP_ERR_SCHEMA] = { "incompatible schema version", 12 },
	[PCP_ERR_MODE_MISMATCH] = { "runs use different refill sources", 13 },
	[PCP_ERR_BAD_META] = { "damaged metadata", 14 },
	[PCP_ERR_NOT_ROOT] = { "must be run as root", 121 },
	[PCP_ERR_NO_TRACEFS] = { "tracefs unavailable", 122 },
	[PCP_ERR_NO_EVENT_AVAIL] = { "no requested event is available", 123 },
	[PCP_ERR_TRACEFS] = { "tracefs error", 124 },
	[PCP_ERR_EXEC] = { "cannot run the command", 126 },
	[PCP_ERR_EXEC_NOT_FOUND] = { "command not found", 127 },
	[PCP_ERR_INTERNAL] = { "internal error", 125 },
	[PCP_ERR_LOSSY] = { "a run lost events: not comparable", 2 },   /* compare's "cannot compare" */
	[PCP_ERR_WINDOW_MISMATCH] = { "runs analyzed with different windows or filters", 15 },
};

PCP_API const char *pcp_strerror(int err)
{
	if (err < 0 || err >= PCP_ERR__COUNT || !pcp_error_table[err].message)
		return "unknown error";
	return pcp_error_table[err].message;
}

PCP_API int pcp_exit_code(int err)
{
	if (err < 0 || err >= PCP_ERR__COUNT)
		return 125;
	return pcp_error_table[err].exit_code;
}

int pcp_errorf(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
	va_list ap;

	if (errbuf && errlen) {
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

PCP_API const char *pcp_version(void)
{
	return PCPTRACE_VERSION;
}
