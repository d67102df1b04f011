/* merge over results databases and trace.dat files (compare.h: pcp_merge_files).
 *
 * A trace.dat input is analyzed as `pcpanalyze -o` would (the same options for every trace,
 * as compare does), into a results database in a temporary directory beside the output (the
 * output's file system, which must be writable anyway), and merged from there under its own
 * name: the run table's source is the trace's path. The analyses run side by side
 * (side_by_side.h); the merge itself then reads the databases in input order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/error.h"
#include "common/util.h"
#include "compare/compare.h"
#include "compare/side_by_side.h"
#include "output/outfile.h"
#include "output/store.h"

struct trace_job {
	const char *trace;              /* the input */
	char *db;                       /* where its analysis is written (NULL: a database input) */
	int err;
	char reason[512];
};

struct trace_list {
	struct trace_job *jobs;
	const size_t *index;            /* the trace inputs' indexes in jobs */
};

static void analyze_one(size_t i, const struct pcp_analyze_opts *share, void *ctx)
{
	const struct trace_list *list = ctx;
	struct trace_job *job = &list->jobs[list->index[i]];
	struct pcp_analysis *a = NULL;

	job->reason[0] = '\0';
	job->err = pcp_analyze_file(job->trace, share, &a, job->reason, sizeof(job->reason));
	if (!job->err)
		job->err = pcp_store_write(job->db, a, job->reason, sizeof(job->reason));
	pcp_analysis_free(a);
}

/* "DIR/.pcpmerge.XXXXXX" for the output OUT (DIR: OUT's directory, "." when it has none). */
static char *temp_dir_template(const char *out_path)
{
	const char *slash = strrchr(out_path, '/');
	int dir_len = slash ? (int)(slash - out_path) : 1;
	const char *dir = slash ? out_path : ".";
	char *t = NULL;

	if (slash && dir_len == 0)   /* "/x.db" */
		dir_len = 1;
	if (asprintf(&t, "%.*s/.pcpmerge.XXXXXX", dir_len, dir) < 0)
		return NULL;
	return t;
}

int pcp_merge_files(const char *out_path, char *const *inputs, size_t nr_inputs,
		    const struct pcp_merge_label *labels, size_t nr_labels,
		    const struct pcp_analyze_opts *aopts, char *errbuf, size_t errlen)
{
	struct trace_job *jobs;
	char **db_paths = NULL, *dir = NULL;
	size_t nr_traces = 0;
	int err = PCP_OK;

	for (size_t i = 0; i < nr_inputs; i++)
		nr_traces += pcp_file_kind(inputs[i]) == PCP_FILE_TRACE_DAT;
	if (!nr_traces)
		return pcp_merge_databases(out_path, inputs, nr_inputs, labels, nr_labels, errbuf, errlen);
	/* The output replaces its file at the end: an input there would be lost (checked before
	 * the analyses, which may take long). */
	for (size_t i = 0; i < nr_inputs; i++)
		if (pcp_same_file(out_path, inputs[i]))
			return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
					  "%s: the output (-o) is also an input; choose another output file",
					  out_path);
	jobs = calloc(nr_inputs, sizeof(*jobs));
	db_paths = calloc(nr_inputs, sizeof(*db_paths));
	dir = temp_dir_template(out_path);
	if (!jobs || !db_paths || !dir) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!mkdtemp(dir)) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "%s: cannot make a temporary directory "
				 "beside it: %s", out_path, strerror(errno));
		free(dir);
		dir = NULL;
		goto out;
	}
	for (size_t i = 0; i < nr_inputs; i++) {
		jobs[i].trace = inputs[i];
		db_paths[i] = inputs[i];
		if (pcp_file_kind(inputs[i]) != PCP_FILE_TRACE_DAT)
			continue;
		if (asprintf(&jobs[i].db, "%s/%zu.db", dir, i) < 0) {
			jobs[i].db = NULL;
			err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
			goto out;
		}
		db_paths[i] = jobs[i].db;
	}
	{
		/* the traces only: -j's threads go to the analyses, none to a database input */
		const char **paths = calloc(nr_traces, sizeof(*paths));
		size_t *index = calloc(nr_traces, sizeof(*index)), n = 0;
		struct trace_list list = { jobs, index };

		if (!paths || !index) {
			free(paths);
			free(index);
			err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nr_inputs; i++)
			if (jobs[i].db && n < nr_traces) {
				paths[n] = inputs[i];
				index[n++] = i;
			}
		pcp_side_by_side(paths, n, aopts, analyze_one, &list);
		free(paths);
		free(index);
	}
	/* the first failure in input order, as one analysis after the other would report it */
	for (size_t i = 0; i < nr_inputs && !err; i++)
		if (jobs[i].err)
			err = pcp_errorf(errbuf, errlen, jobs[i].err, "%s: %s", inputs[i],
					 jobs[i].reason[0] ? jobs[i].reason : pcp_strerror(jobs[i].err));
	if (!err)
		err = pcp_merge_databases_as(out_path, db_paths, inputs, nr_inputs, labels, nr_labels,
					     errbuf, errlen);
out:
	for (size_t i = 0; jobs && i < nr_inputs; i++) {
		if (jobs[i].db)
			unlink(jobs[i].db);
		free(jobs[i].db);
	}
	if (dir)
		rmdir(dir);
	free(dir);
	free(jobs);
	free(db_paths);
	return err;
}
