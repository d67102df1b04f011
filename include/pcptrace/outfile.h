/* Output files that appear complete or not at all: a temp file beside the target, renamed
 * over it at the end. Used by the store (SQLite) and the JSON report. */
#ifndef PCPTRACE_OUTFILE_H
#define PCPTRACE_OUTFILE_H

#include <stddef.h>

struct pcp_outfile {
	char *target;     /* final path */
	char *tmp_path;   /* "<dir>/.<base>.XXXXXX", created with mode 0666 & ~umask */
	int fd;           /* open on tmp_path; -1 once closed */
};

/* Creates the temp file in target's directory. On failure writes a one-line reason (without
 * the target's name) to errbuf and returns PCP_ERR_IO (or PCP_ERR_NOMEM). */
int pcp_outfile_open(struct pcp_outfile *f, const char *target, char *errbuf, size_t errlen);
/* fsyncs and closes the temp file (if still open) and renames it over the target. On failure
 * the temp file is removed and the target is untouched. */
int pcp_outfile_commit(struct pcp_outfile *f, char *errbuf, size_t errlen);
/* Removes the temp file; the target is untouched. Safe to call after commit (no-op). */
void pcp_outfile_abort(struct pcp_outfile *f);

/* Writes root (indented, members in order, newline at the end) to path atomically, or to
 * stdout for "-". Does not take the reference. PCP_ERR_IO on any write failure. */
typedef struct json_t json_t;
int pcp_json_write(const char *path, json_t *root);

#endif
