/* The recording's trace.dat through the tracedat writer (record/output.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <tracefs.h>
#include "common/io.h"
#include "common/error.h"
#include "record/instance.h"
#include "record/output.h"
#include "record/record.h"
#include "tracedat/tracedat.h"

#ifndef PCPTRACE_VERSION
#define PCPTRACE_VERSION "0.1.0"
#endif

/* A top-level tracefs file into the writer; a file this kernel lacks is left out. */
static int add_top_file(struct pcp_tdw *w, const char *file,
			int (*set)(struct pcp_tdw *, const char *, size_t))
{
	int len = 0, err;
	char *text = tracefs_instance_file_read(NULL, file, &len);

	if (!text)
		return PCP_OK; /* optional */
	err = set(w, text, (size_t)len);
	free(text);
	return err;
}

/* A top-level tracefs file the trace cannot be read without. */
static int add_needed_top_file(struct pcp_tdw *w, const char *file,
			       int (*set)(struct pcp_tdw *, const char *, size_t))
{
	int len = 0, err;
	char *text = tracefs_instance_file_read(NULL, file, &len);

	err = text ? set(w, text, (size_t)len) : PCP_ERR_TRACEFS;
	free(text);
	return err;
}

/* The whole file, or NULL (procfs files report size 0: read to their end). */
static char *slurp(const char *path, size_t *len)
{
	char *text;

	return pcp_io_read_file(path, &text, len) == PCP_OK ? text : NULL;
}

/* The ftrace formats (readers need them) and the recorded events' formats. */
static int add_formats(const struct pcp_rec_output *o, struct pcp_tdw *w)
{
	char **ftrace = tracefs_system_events(NULL, "ftrace");
	int err = PCP_OK, len;
	size_t k;

	for (k = 0; ftrace && ftrace[k] && err == PCP_OK; k++) {
		char *text = tracefs_event_file_read(NULL, "ftrace", ftrace[k], "format", &len);

		if (text)
			err = pcp_tdw_add_ftrace_format(w, text, (size_t)len);
		free(text);
	}
	tracefs_list_free(ftrace);
	for (k = 0; k < o->nr_events && err == PCP_OK; k++) {
		char sys[128], *text;
		const char *ev;

		if (pcp_rec_event_split(o->events[k], sys, sizeof(sys), &ev))
			continue;
		text = tracefs_event_file_read(NULL, sys, ev, "format", &len);
		if (!text)
			return PCP_ERR_TRACEFS;
		err = pcp_tdw_add_event_format(w, sys, text, (size_t)len);
		free(text);
	}
	return err;
}

static int add_kallsyms(struct pcp_tdw *w)
{
	size_t klen;
	char *kallsyms = slurp("/proc/kallsyms", &klen);
	int err = kallsyms ? pcp_tdw_set_kallsyms(w, kallsyms, klen) : PCP_OK;

	free(kallsyms);
	return err;
}

/* Clock, TSC2NSEC, uname, version. */
static int add_system(const struct pcp_rec_output *o, struct pcp_tdw *w)
{
	char uname_text[512];
	struct utsname u;
	int err = pcp_tdw_set_trace_clock(w, o->clock);

	if (err == PCP_OK && o->tsc2nsec_mult)   /* TSC cycles: readers convert to ns */
		err = pcp_tdw_set_tsc2nsec(w, o->tsc2nsec_mult, o->tsc2nsec_shift, 0);
	if (err == PCP_OK && uname(&u) == 0) {
		snprintf(uname_text, sizeof(uname_text), "%s %s %s %s %s", u.sysname, u.nodename,
			 u.release, u.version, u.machine);
		err = pcp_tdw_set_uname(w, uname_text);
	}
	if (err == PCP_OK)
		err = pcp_tdw_set_version(w, "pcptrace pcprecord " PCPTRACE_VERSION);
	return err;
}

/* Every CPU's CPUSTAT, then the data of the CPUs that have some. */
static int add_cpus(const struct pcp_rec_output *o, struct pcp_tdw *w)
{
	int i, err = PCP_OK;

	for (i = 0; i < o->nr_cpus && err == PCP_OK; i++) {
		char empty[64];

		if (o->cpus[i].stats_text) {
			err = pcp_tdw_add_cpustat(w, o->cpus[i].stats_text);
		} else {
			snprintf(empty, sizeof(empty), "CPU: %d\n", i);
			err = pcp_tdw_add_cpustat(w, empty);
		}
	}
	for (i = 0; i < o->nr_cpus && err == PCP_OK; i++)
		if (o->cpus[i].spool_fd >= 0)
			err = pcp_tdw_set_cpu_data_fd(w, i, o->cpus[i].spool_fd);
	return err;
}

int pcp_rec_output_write(const char *path, const struct pcp_rec_output *o, char *errbuf,
			 size_t errlen)
{
	struct pcp_tdw_params p = { .nr_cpus = o->nr_cpus, .page_size = o->subbuf_size,
				    .file_version = o->file_version, .compression = o->compression };
	struct pcp_tdw *w = NULL;
	int err;

	err = pcp_tdw_create(path, &p, &w);
	if (err != PCP_OK)
		return pcp_errorf(errbuf, errlen, err, "cannot create: %s",
			       err == PCP_ERR_IO ? strerror(errno) : pcp_strerror(err));
	err = add_needed_top_file(w, "events/header_page", pcp_tdw_set_header_page);
	if (err == PCP_OK)
		err = add_needed_top_file(w, "events/header_event", pcp_tdw_set_header_event);
	if (err == PCP_OK)
		err = add_formats(o, w);
	if (err == PCP_OK)
		err = add_kallsyms(w);
	if (err == PCP_OK)
		err = add_top_file(w, "printk_formats", pcp_tdw_set_printk_formats);
	if (err == PCP_OK)
		err = add_top_file(w, "saved_cmdlines", pcp_tdw_set_cmdlines);
	if (err == PCP_OK)
		err = add_system(o, w);
	if (err == PCP_OK)
		err = add_cpus(o, w);
	if (err != PCP_OK) {
		pcp_tdw_abort(w);
		return pcp_errorf(errbuf, errlen, err, "cannot write: %s",
			       err == PCP_ERR_IO ? strerror(errno) : pcp_strerror(err));
	}
	err = pcp_tdw_commit(w);
	if (err != PCP_OK)
		return pcp_errorf(errbuf, errlen, err, "cannot write: %s",
			       err == PCP_ERR_IO ? strerror(errno) : pcp_strerror(err));
	return PCP_OK;
}

/* libtracecmd's own answer: exported by libtracecmd since compression came (1.0, trace-cmd
 * 3.0), though declared only in its private header. */
extern bool tracecmd_compress_is_supported(const char *name, const char *version);

int pcp_record_compression_readable(const char *name)
{
	if (!name || !*name || !strcmp(name, "none"))
		return 1;
	return tracecmd_compress_is_supported(name, NULL) ? 1 : 0;
}
