/* Shared by the public API's groups: the thread's last error message, atomic text output,
 * refusing an output that is an input. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "api/api.h"
#include "common/error.h"
#include "output/outfile.h"

/* Per thread, so that a wrapper calling from several threads gets its own call's reason. */
static _Thread_local char last_error[1024];

PCP_API const char *pcp_last_error(void)
{
	return last_error;
}

int pcp_api_fail(int err, const char *file, const char *reason)
{
	if (!reason || !*reason)
		reason = pcp_strerror(err);
	if (file)
		snprintf(last_error, sizeof(last_error), "%s: %s", file, reason);
	else
		snprintf(last_error, sizeof(last_error), "%s", reason);
	return err;
}

int pcp_api_failf(int err, const char *file, const char *fmt, ...)
{
	char reason[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return pcp_api_fail(err, file, reason);
}

static int emit_to(FILE *fp, pcp_api_emit_fn emit, const void *ctx)
{
	errno = 0;
	emit(fp, ctx);
	return fflush(fp) != 0 || ferror(fp) ? PCP_ERR_IO : PCP_OK;
}

int pcp_api_write_text(const char *path, pcp_api_emit_fn emit, const void *ctx)
{
	struct pcp_outfile out;
	char reason[512] = "";
	FILE *fp;
	int err, fd;

	if (!strcmp(path, "-")) {
		if (emit_to(stdout, emit, ctx))
			return pcp_api_failf(PCP_ERR_IO, "stdout", "cannot write: %s", strerror(errno));
		return PCP_OK;
	}
	if ((err = pcp_outfile_open(&out, path, reason, sizeof(reason))))
		return pcp_api_fail(err, path, reason);
	/* The outfile keeps its descriptor (finish fsyncs it): the stream writes through a copy. */
	fd = dup(out.fd);
	fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!fp) {
		if (fd >= 0)
			close(fd);
		pcp_outfile_abort(&out);
		return pcp_api_failf(PCP_ERR_IO, path, "cannot write: %s", strerror(errno));
	}
	err = emit_to(fp, emit, ctx);
	if (fclose(fp) != 0)
		err = PCP_ERR_IO;
	if (err) {
		pcp_outfile_abort(&out);
		return pcp_api_failf(PCP_ERR_IO, path, "cannot write: %s", strerror(errno ? errno : EIO));
	}
	if ((err = pcp_outfile_commit(&out, reason, sizeof(reason))))
		return pcp_api_fail(err, path, reason);
	return PCP_OK;
}

int pcp_api_check_output(const char *output, const char *input)
{
	char *meta = NULL;
	int clash;

	if (!output || !input || !strcmp(output, "-"))
		return PCP_OK;
	clash = pcp_same_file(output, input);
	if (!clash && asprintf(&meta, "%s.meta.json", input) >= 0) {
		clash = pcp_same_file(output, meta);
		free(meta);
	}
	if (clash)
		return pcp_api_fail(PCP_ERR_USAGE, output, "the output is an input (or its meta file)");
	return PCP_OK;
}
