/* Atomic output files: write beside the target, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pcptrace/error.h"
#include <jansson.h>
#include "pcptrace/outfile.h"

static void outfile_release(struct pcp_outfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->tmp_path);
	free(f->target);
	f->tmp_path = NULL;
	f->target = NULL;
}

int pcp_outfile_open(struct pcp_outfile *f, const char *target, char *errbuf, size_t errlen)
{
	char *dup_dir = NULL, *dup_base = NULL;
	struct stat st;
	mode_t mask;
	int err = PCP_OK;

	f->fd = -1;
	f->tmp_path = NULL;
	f->target = strdup(target);
	dup_dir = strdup(target);
	dup_base = strdup(target);
	if (!f->target || !dup_dir || !dup_base) {
		snprintf(errbuf, errlen, "%s", pcp_strerror(PCP_ERR_NOMEM));
		err = PCP_ERR_NOMEM;
		goto out;
	}
	/* Refuse early what rename would refuse late: a directory in the target's place. */
	if (stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(errbuf, errlen, "is a directory");
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

int pcp_outfile_commit(struct pcp_outfile *f, char *errbuf, size_t errlen)
{
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
	int rc = close(f->fd);
	f->fd = -1;
	if (rc != 0) {
		snprintf(errbuf, errlen, "cannot write: %s", strerror(errno));
		pcp_outfile_abort(f);
		return PCP_ERR_IO;
	}
	if (rename(f->tmp_path, f->target) != 0) {
		snprintf(errbuf, errlen, "cannot rename temporary file into place: %s",
			 strerror(errno));
		pcp_outfile_abort(f);
		return PCP_ERR_IO;
	}
	outfile_release(f);
	return PCP_OK;
}

void pcp_outfile_abort(struct pcp_outfile *f)
{
	if (f->tmp_path) {
		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		unlink(f->tmp_path);
	}
	outfile_release(f);
}

int pcp_json_write(const char *path, json_t *root)
{
	const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
	struct pcp_outfile out;
	char reason[256];
	FILE *fp;
	int err = PCP_OK;

	if (!strcmp(path, "-")) {
		if (json_dumpf(root, stdout, flags) != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
			return PCP_ERR_IO;
		return PCP_OK;
	}
	if ((err = pcp_outfile_open(&out, path, reason, sizeof(reason))))
		return err;
	fp = fdopen(out.fd, "w");
	if (!fp) {
		pcp_outfile_abort(&out);
		return PCP_ERR_IO;
	}
	out.fd = -1; /* owned by fp now */
	if (json_dumpf(root, fp, flags) != 0 || fputc('\n', fp) == EOF)
		err = PCP_ERR_IO;
	if (fclose(fp) != 0 && !err)
		err = PCP_ERR_IO;
	if (err) {
		pcp_outfile_abort(&out);
		return err;
	}
	return pcp_outfile_commit(&out, reason, sizeof(reason));
}
