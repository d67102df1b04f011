/* Output files that appear complete or not at all: a temp file beside the target, renamed
 * over it at the end (then the directory is fsynced). Used by the store (SQLite), the JSON
 * report and the trace.dat writer; the one place that renames an output into place. */
#ifndef PCPTRACE_OUTFILE_H
#define PCPTRACE_OUTFILE_H

#include <stddef.h>

struct pcp_outfile {
	char *target;     /* final path */
	char *tmp_path;   /* "<dir>/.<base>.XXXXXX", created with mode 0666 & ~umask */
	int fd;           /* open on tmp_path; -1 once closed */
	int finished;     /* tmp_path complete and synced: only the rename is left */
	char *data;       /* JSON for a target that is not a regular file (a device, a pipe):
	                   * nothing can be renamed over it, so commit writes this into it */
	size_t data_len;
};

/* Creates the temp file in target's directory (the directory of the file a symlink points to:
 * the link stays). A target that exists and is not a regular file is refused. On failure
 * writes a one-line reason (without the target's name) to errbuf and returns PCP_ERR_IO (or
 * PCP_ERR_NOMEM); errno says why too (EISDIR for a directory, EINVAL for another file that is
 * not a regular one). */
int pcp_outfile_open(struct pcp_outfile *f, const char *target, char *errbuf, size_t errlen);
/* fsyncs and closes the temp file (if still open): it is complete and only the rename is left.
 * Lets a caller finish several outputs and rename them only when all of them succeeded. On
 * failure the temp file is removed (errbuf says why). */
int pcp_outfile_finish(struct pcp_outfile *f, char *errbuf, size_t errlen);
/* Finishes the temp file (if not done yet) and renames it over the target. On failure the
 * temp file is removed and the target is untouched. */
int pcp_outfile_commit(struct pcp_outfile *f, char *errbuf, size_t errlen);
/* Removes the temp file; the target is untouched. Safe to call after commit (no-op). errno is
 * kept: after a failed finish or commit it is the failing call's. */
void pcp_outfile_abort(struct pcp_outfile *f);

typedef struct json_t json_t;
/* Writes root (indented, members in order, newline at the end) to a finished temp file beside
 * path; the caller then commits or aborts out. PCP_ERR_IO with the cause in errbuf. */
int pcp_json_prepare(struct pcp_outfile *out, const char *path, json_t *root, char *errbuf,
		     size_t errlen);
/* The same document to stdout. */
int pcp_json_write_stdout(json_t *root, char *errbuf, size_t errlen);
/* Writes root to path atomically, or to stdout for "-". Does not take the reference.
 * PCP_ERR_IO on any write failure, the cause in errbuf (may be NULL). */
int pcp_json_write(const char *path, json_t *root, char *errbuf, size_t errlen);

/* Whether writing to one path would overwrite the other: the same file (device and inode, so
 * also through a symlink or a hard link) or, when neither exists yet, the same name in the same
 * directory. For refusing an output that is an input before any work. */
int pcp_same_file(const char *a, const char *b);

#endif
