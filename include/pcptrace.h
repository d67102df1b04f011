/* pcptrace: the Linux page allocator's per-CPU page lists and the percpu allocator, observed.
 *
 * The one installed header of libpcptrace (pkg-config: pcptrace). Everything declared here is
 * the library's public interface: opaque handles and object_verb functions; no type of the
 * libraries used inside (libtracecmd, SQLite, Jansson) appears here. See pcptrace(3).
 */
#ifndef PCPTRACE_H
#define PCPTRACE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the exported functions; everything else in the library is hidden (-fvisibility=hidden). */
#if defined(__GNUC__) && !defined(PCP_API)
#define PCP_API __attribute__((visibility("default")))
#elif !defined(PCP_API)
#define PCP_API
#endif

/* Error codes of every library function that returns int (0 = success). */
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

/**
 * pcp_strerror - a short description of an error code
 * @err: a code of enum pcp_err (or any int)
 *
 * Returns a static lower-case string such as "file is truncated"; never NULL.
 */
PCP_API const char *pcp_strerror(int err);

/**
 * pcp_exit_code - the exit status pcptrace's tools use for an error code
 * @err: a code of enum pcp_err
 *
 * Returns 0 for PCP_OK and the documented status of pcpanalyze(1) and pcprecord(1) otherwise,
 * so that a program built on the library can keep the tools' contract.
 */
PCP_API int pcp_exit_code(int err);

/**
 * pcp_version - the library's version
 *
 * Returns the version string, e.g. "0.1.0".
 */
PCP_API const char *pcp_version(void);

#ifdef __cplusplus
}
#endif

#endif
