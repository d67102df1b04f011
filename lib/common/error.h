/* One error list for the whole library; tools map codes to exit statuses. */
#ifndef PCPTRACE_ERROR_H
#define PCPTRACE_ERROR_H

#include <stddef.h>

enum pcp_err {
	PCP_OK = 0,
	PCP_ERR_USAGE,          /* bad option or argument */
	PCP_ERR_NOMEM,          /* out of memory */
	PCP_ERR_IO,             /* read/write failure (errno says more) */
	PCP_ERR_NOFILE,         /* input file does not exist or cannot be opened */
	PCP_ERR_EMPTY,          /* input file is empty */
	PCP_ERR_NOT_TRACE,      /* not a trace.dat file */
	PCP_ERR_TRUNCATED,      /* trace.dat ends before its declared data */
	PCP_ERR_CORRUPT,        /* trace.dat is damaged in another way */
	PCP_ERR_NO_EVENTS,      /* no event that pcptrace analyzes */
	PCP_ERR_MODE,           /* requested mode impossible for this trace */
	PCP_ERR_DB,             /* SQLite failure */
	PCP_ERR_JSON,           /* JSON failure */
	PCP_ERR_SCHEMA,         /* results database of another schema version */
	PCP_ERR_MODE_MISMATCH,  /* compared runs use different refill sources */
	PCP_ERR_BAD_META,       /* damaged trace.dat.meta.json or percpu_stats text */
	PCP_ERR_NOT_ROOT,       /* recording needs root */
	PCP_ERR_NO_TRACEFS,     /* tracefs cannot be found or mounted */
	PCP_ERR_NO_EVENT_AVAIL, /* none of the requested events exists */
	PCP_ERR_TRACEFS,        /* other tracefs failure */
	PCP_ERR_EXEC,           /* workload could not be started */
	PCP_ERR_EXEC_NOT_FOUND, /* workload command not found (the shell's 127) */
	PCP_ERR_INTERNAL,       /* a bug: please report */
	PCP_ERR_LOSSY,          /* compare: a run lost events (not comparable without --allow-lossy) */
	PCP_ERR__COUNT
};

/* A short lower-case description, e.g. "file is truncated". Never NULL. */
const char *pcp_strerror(int err);

/* Formats a one-line reason into errbuf (if any) and returns err: for `return pcp_errorf(...)`. */
int pcp_errorf(char *errbuf, size_t errlen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The process exit status a tool uses for err (0 for PCP_OK). See pcpanalyze(1), pcprecord(1). */
int pcp_exit_code(int err);

#endif
