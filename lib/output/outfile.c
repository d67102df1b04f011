/* Atomic output files: write beside the target, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/error.h"
#include "common/io.h"
#include <jansson.h>
#include "output/outfile.h"

static void outfile_release(struct pcp_outfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->tmp_path);
	free(f->target);
	free(f->data);
	f->tmp_path = NULL;
	f->target = NULL;
	f->data = NULL;
}

int pcp_outfile_open(struct pcp_outfile *f, const char *target, char *errbuf, size_t errlen)
{
	char *dup_dir = NULL, *dup_base = NULL;
	struct stat st;
	mode_t mask;
	int err = PCP_OK;

	f->fd = -1;
	f->finished = 0;
	f->data = NULL;
	f->data_len = 0;
	f->tmp_path = NULL;
	/* A symlink to an existing file: replace the file it points to, not the link. */
	f->target = stat(target, &st) == 0 ? realpath(target, NULL) : strdup(target);
	dup_dir = f->target ? strdup(f->target) : NULL;
	dup_base = f->target ? strdup(f->target) : NULL;
	if (!f->target || !dup_dir || !dup_base) {
		snprintf(errbuf, errlen, "%s", pcp_strerror(PCP_ERR_NOMEM));
		err = PCP_ERR_NOMEM;
		goto out;
	}
	/* Refuse early what rename would refuse late: a directory in the target's place; and
	 * what it would destroy: a device or a pipe would be replaced by a plain file. */
	if (stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(errbuf, errlen, "is a directory");
		errno = EISDIR;
		err = PCP_ERR_IO;
		goto out;
	}
	if (stat(target, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "not a regular file");
		errno = EINVAL;
		err = PCP_ERR_IO;
		goto out;
	}
	if (asprintf(&f->tmp_path, "%s/.%s.XXXXXX", dirname(dup_dir), basename(dup_base)) < 0) {
		f->tmp_path = NULL;
		snprintf(errbuf, errlen, "%s", pcp_strerror(PCP_ERR_NOMEM));
		err = PCP_ERR_NOMEM;
		goto out;
	}
	f->fd = mkostemp(f->tmp_path, O_CLOEXEC);
	if (f->fd < 0) {
		snprintf(errbuf, errlen, "cannot create a temporary file beside it: %s",
			 strerror(errno));
		err = PCP_ERR_IO;
		goto out;
	}
	/* mkstemp makes 0600; the result should look like any other file the user creates. */
	mask = umask(0);
	umask(mask);
	if (fchmod(f->fd, 0666 & ~mask) != 0) {
		snprintf(errbuf, errlen, "cannot set mode of temporary file: %s", strerror(errno));
		err = PCP_ERR_IO;
		unlink(f->tmp_path);
	}
out:
	free(dup_dir);
	free(dup_base);
	if (err != PCP_OK)
		outfile_release(f);
	return err;
}

/* Commit of a target that is not a regular file: its content, kept in memory, written
 * straight into it. */
static int write_through(struct pcp_outfile *f, char *errbuf, size_t errlen)
{
	int fd = open(f->target, O_WRONLY | O_CLOEXEC), err = PCP_OK;

	if (fd < 0)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "cannot open: %s", strerror(errno));
	else if (pcp_io_write_all(fd, f->data, f->data_len))
		err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "cannot write: %s", strerror(errno));
	if (fd >= 0 && close(fd) != 0 && !err)
		err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "cannot write: %s", strerror(errno));
	outfile_release(f);
	return err;
}

int pcp_outfile_finish(struct pcp_outfile *f, char *errbuf, size_t errlen)
{
	int rc;

	if (f->finished)
		return PCP_OK;
	if (!f->tmp_path) {
		snprintf(errbuf, errlen, "%s", pcp_strerror(PCP_ERR_INTERNAL));
		return PCP_ERR_INTERNAL;
	}
	if (f->fd < 0)
		f->fd = open(f->tmp_path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || fsync(f->fd) != 0) {
		snprintf(errbuf, errlen, "cannot write: %s", strerror(errno));
		pcp_outfile_abort(f);
		return PCP_ERR_IO;
	}
	rc = close(f->fd);
	f->fd = -1;
	if (rc != 0) {
		snprintf(errbuf, errlen, "cannot write: %s", strerror(errno));
		pcp_outfile_abort(f);
		return PCP_ERR_IO;
	}
	f->finished = 1;
	return PCP_OK;
}

/* After a rename: the directory entry reaches the disk too (best effort: the file is in place). */
static void fsync_dir_of(const char *target)
{
	char *copy = strdup(target);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int pcp_outfile_commit(struct pcp_outfile *f, char *errbuf, size_t errlen)
{
	int err = pcp_outfile_finish(f, errbuf, errlen);

	if (err)
		return err;
	if (f->data)
		return write_through(f, errbuf, errlen);
	if (rename(f->tmp_path, f->target) != 0) {
		snprintf(errbuf, errlen, "cannot rename temporary file into place: %s",
			 strerror(errno));
		pcp_outfile_abort(f);
		return PCP_ERR_IO;
	}
	fsync_dir_of(f->target);
	outfile_release(f);
	return PCP_OK;
}

void pcp_outfile_abort(struct pcp_outfile *f)
{
	int saved = errno;   /* the cause of the failure that led here, for the caller's message */

	if (f->tmp_path && !f->data) {
		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		unlink(f->tmp_path);
	}
	outfile_release(f);
	errno = saved;
}

/* For messages: the reason of a failed stdio call, or a generic one if errno is unset. */
static const char *io_reason(int saved_errno)
{
	return saved_errno ? strerror(saved_errno) : pcp_strerror(PCP_ERR_IO);
}

int pcp_json_prepare(struct pcp_outfile *out, const char *path, json_t *root, char *errbuf,
		     size_t errlen)
{
	const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
	char scratch[2];
	FILE *fp;
	int err, saved_errno = 0;

	struct stat st;

	if (!errbuf || !errlen) {
		errbuf = scratch;
		errlen = sizeof(scratch);
	}
	/* A device or a pipe (/dev/stdout, a FIFO) cannot be replaced: the document waits in
	 * memory and the commit writes it into the target. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		memset(out, 0, sizeof(*out));
		out->fd = -1;
		out->finished = 1;
		out->target = strdup(path);
		out->data = json_dumps(root, flags);
		if (!out->target || !out->data) {
			outfile_release(out);
			return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
		}
		out->data_len = strlen(out->data);
		out->data[out->data_len++] = '\n'; /* json_dumps' NUL becomes the final newline */
		return PCP_OK;
	}
	if ((err = pcp_outfile_open(out, path, errbuf, errlen)))
		return err;
	fp = fdopen(out->fd, "w");
	if (!fp) {
		snprintf(errbuf, errlen, "cannot write: %s", strerror(errno));
		pcp_outfile_abort(out);
		return PCP_ERR_IO;
	}
	out->fd = -1; /* owned by fp now */
	errno = 0;
	if (json_dumpf(root, fp, flags) != 0 || fputc('\n', fp) == EOF || fflush(fp) != 0) {
		saved_errno = errno;
		err = PCP_ERR_IO;
	}
	if (fclose(fp) != 0 && !err) {
		saved_errno = errno;
		err = PCP_ERR_IO;
	}
	if (err) {
		snprintf(errbuf, errlen, "cannot write: %s", io_reason(saved_errno));
		pcp_outfile_abort(out);
		return err;
	}
	return pcp_outfile_finish(out, errbuf, errlen);
}

int pcp_json_write_stdout(json_t *root, char *errbuf, size_t errlen)
{
	const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;

	errno = 0;
	if (json_dumpf(root, stdout, flags) != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "cannot write: %s", io_reason(errno));
	return PCP_OK;
}

int pcp_json_write(const char *path, json_t *root, char *errbuf, size_t errlen)
{
	struct pcp_outfile out;
	int err;

	if (!strcmp(path, "-"))
		return pcp_json_write_stdout(root, errbuf, errlen);
	if ((err = pcp_json_prepare(&out, path, root, errbuf, errlen)))
		return err;
	return pcp_outfile_commit(&out, errbuf, errlen);
}

/* Both paths named through their directory: the same name in the same directory. */
static int same_directory_entry(const char *a, const char *b)
{
	char *da = strdup(a), *db = strdup(b), *ba = strdup(a), *bb = strdup(b);
	struct stat sa, sb;
	int same = 0;

	if (da && db && ba && bb && stat(dirname(da), &sa) == 0 && stat(dirname(db), &sb) == 0)
		same = sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino &&
		       !strcmp(basename(ba), basename(bb));
	free(da);
	free(db);
	free(ba);
	free(bb);
	return same;
}

int pcp_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	int has_a = stat(a, &sa) == 0, has_b = stat(b, &sb) == 0;

	if (has_a && has_b)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	if (has_a || has_b)
		return 0;
	return same_directory_entry(a, b);
}
