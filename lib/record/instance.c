/* The recorder's tracefs instance: set-up, events, removal, stale-instance clean-up
 * (record/instance.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tracefs.h>
#include "common/error.h"
#include "record/instance.h"

/* The events pcptrace analyzes; whichever exist are enabled (issue 3). */
static const char *const pcp_kmem_events[] = {
	"mm_page_pcpu_refill",
	"mm_page_pcpu_drain",
	"mm_page_pcpu_refill_zone_locked",
	"mm_page_pcpu_drain_zone_locked",
	"mm_page_alloc_zone_locked", /* the fallback refill source (percpu_refill=1) */
};
static const char *const lifecycle_events[] = { "mm_page_alloc", "mm_page_free" };

/* The reader wakes up when the buffer is this full (percent), and at least every
 * READER_POLL_MS (record/stream.c): early enough that a small buffer does not overflow while
 * it sleeps. */
#define READER_BUFFER_PERCENT "25"

int pcp_record_check_system(char *errbuf, size_t errlen)
{
	const char *dir = NULL;

	if (geteuid() != 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOT_ROOT,
			       "recording kernel events needs root (effective uid is %u)",
			       (unsigned)geteuid());
	/* mounts tracefs (or debugfs/tracing) when it is not mounted yet */
	if (tracefs_tracing_dir_is_mounted(true, &dir) < 0 || !tracefs_tracing_dir())
		return pcp_errorf(errbuf, errlen, PCP_ERR_NO_TRACEFS,
			       "tracefs is not mounted and cannot be mounted (%s)",
			       strerror(errno ? errno : ENODEV));
	if (!tracefs_dir_exists(NULL, "instances"))
		return pcp_errorf(errbuf, errlen, PCP_ERR_NO_TRACEFS,
			       "%s has no instances directory", tracefs_tracing_dir());
	return PCP_OK;
}

int pcp_rec_instance_create(const char *name, struct tracefs_instance **out, char *errbuf,
			    size_t errlen)
{
	struct tracefs_instance *inst = tracefs_instance_create(name);

	*out = NULL;
	if (!inst)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot create tracefs instance %s: %s",
			       name, strerror(errno));
	if (!tracefs_instance_is_new(inst)) {
		/* Not ours: never touch it. */
		tracefs_instance_free(inst);
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "tracefs instance %s already exists",
			       name);
	}
	*out = inst;
	return PCP_OK;
}

static int push_name(char ***list, size_t *nr, const char *sys, const char *ev)
{
	char **nl = realloc(*list, (*nr + 1) * sizeof(**list));

	if (!nl)
		return PCP_ERR_NOMEM;
	*list = nl;
	if (asprintf(&nl[*nr], "%s:%s", sys, ev) < 0)
		return PCP_ERR_NOMEM;
	(*nr)++;
	return PCP_OK;
}

int pcp_rec_event_split(const char *full, char *sys, size_t syslen, const char **ev)
{
	const char *colon = strchr(full, ':');

	if (!colon || (size_t)(colon - full) >= syslen)
		return -1;
	memcpy(sys, full, (size_t)(colon - full));
	sys[colon - full] = '\0';
	*ev = colon + 1;
	return 0;
}

static int has_event(const struct pcp_rec_events *e, const char *sys, const char *ev)
{
	size_t i, sl = strlen(sys);

	for (i = 0; i < e->nr; i++)
		if (!strncmp(e->names[i], sys, sl) && e->names[i][sl] == ':' &&
		    !strcmp(e->names[i] + sl + 1, ev))
			return 1;
	return 0;
}

static int enable_one(struct tracefs_instance *inst, struct pcp_rec_events *e, const char *sys,
		      const char *ev, int *enabled)
{
	*enabled = 0;
	if (has_event(e, sys, ev)) {
		*enabled = 1;
		return PCP_OK;
	}
	if (!tracefs_event_file_exists(inst, sys, ev, "enable"))
		return PCP_OK;
	if (tracefs_event_enable(inst, sys, ev) < 0)
		return PCP_ERR_TRACEFS;
	*enabled = 1;
	return push_name(&e->names, &e->nr, sys, ev);
}

/* Every event of a system; *found = 0 when the system does not exist. */
static int enable_system(struct tracefs_instance *inst, struct pcp_rec_events *e, const char *sys,
			 int *found)
{
	char **evs = tracefs_system_events(NULL, sys);
	int err = PCP_OK, en;
	size_t i;

	*found = 0;
	if (!evs)
		return PCP_OK;
	for (i = 0; evs[i] && err == PCP_OK; i++) {
		err = enable_one(inst, e, sys, evs[i], &en);
		*found |= en;
	}
	tracefs_list_free(evs);
	return err;
}

static int clock_available(struct tracefs_instance *inst, const char *clock)
{
	char *all = tracefs_instance_file_read(inst, "trace_clock", NULL), *tok, *save = NULL;
	int ok = 0;

	if (!all)
		return 0;
	for (tok = strtok_r(all, " \n[]", &save); tok; tok = strtok_r(NULL, " \n[]", &save))
		if (!strcmp(tok, clock))
			ok = 1;
	free(all);
	return ok;
}

int pcp_rec_instance_setup(struct tracefs_instance *inst, const char *name,
			   const struct pcp_record_opts *o, struct pcp_rec_instance_setup *out,
			   char *errbuf, size_t errlen)
{
	long long subbuf_kb = 0;
	ssize_t kb;

	if (tracefs_trace_off(inst) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot turn tracing off in %s: %s",
			       name, strerror(errno));
	if (o->buffer_kb && tracefs_instance_set_buffer_size(inst, o->buffer_kb, -1) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
			       "cannot set the buffer of %s to %zu KB per CPU: %s", name,
			       o->buffer_kb, strerror(errno));
	kb = tracefs_instance_get_buffer_size(inst, 0);
	/* alloc/free multiply the event rate: a default that loses events is no default */
	if (!o->buffer_kb && o->lifecycle && kb >= 0 && (size_t)kb < PCP_RECORD_LIFECYCLE_BUFFER_KB) {
		if (tracefs_instance_set_buffer_size(inst, PCP_RECORD_LIFECYCLE_BUFFER_KB, -1) < 0)
			return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
				       "cannot set the buffer of %s to %d KB per CPU (--lifecycle's "
				       "default): %s", name, PCP_RECORD_LIFECYCLE_BUFFER_KB,
				       strerror(errno));
		kb = tracefs_instance_get_buffer_size(inst, 0);
	}
	out->buffer_kb = kb > 0 ? (size_t)kb : o->buffer_kb;
	if (o->clock) {
		if (!clock_available(inst, o->clock))
			return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
				       "trace clock '%s' is not offered by this kernel", o->clock);
		if (tracefs_instance_file_write(inst, "trace_clock", o->clock) < 0)
			return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
				       "cannot set trace clock '%s': %s", o->clock,
				       strerror(errno));
	}
	out->clock = tracefs_get_clock(inst); /* the "[local] global ..." text's selected name */
	if (!out->clock)
		out->clock = strdup("local");
	if (o->cpulist && tracefs_instance_set_affinity(inst, o->cpulist) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot set tracing_cpumask to %s",
			       o->cpulist);
	/* Optional knob: older kernels lack it and wake readers at their own pace. */
	if (tracefs_file_exists(inst, "buffer_percent"))
		tracefs_instance_file_write(inst, "buffer_percent", READER_BUFFER_PERCENT);
	if (tracefs_instance_file_read_number(inst, "buffer_subbuf_size_kb", &subbuf_kb) == 0 &&
	    subbuf_kb > 0)
		out->subbuf_size = (unsigned int)subbuf_kb * 1024;
	else
		out->subbuf_size = (unsigned int)getpagesize();
	return PCP_OK;
}

/* Each of names in sys, the ones that do not exist listed as missing. */
static int enable_wanted(struct tracefs_instance *inst, struct pcp_rec_events *e, const char *sys,
			 const char *const *names, size_t n, int *first_enabled)
{
	size_t i;
	int en, err = PCP_OK;

	for (i = 0; i < n && err == PCP_OK; i++) {
		err = enable_one(inst, e, sys, names[i], &en);
		if (err == PCP_OK && !en)
			err = push_name(&e->missing, &e->nr_missing, sys, names[i]);
		if (i == 0 && first_enabled)
			*first_enabled = err == PCP_OK && en;
	}
	return err;
}

/* One -e spec, "system:event" or "system:*"; *usage = 1 when the error is the spec's. */
static int enable_extra(struct tracefs_instance *inst, struct pcp_rec_events *e, const char *spec,
			char *errbuf, size_t errlen, int *usage)
{
	char sys[128];
	const char *colon = strchr(spec, ':');
	size_t sl = colon ? (size_t)(colon - spec) : 0;
	int en, err;

	*usage = 1;
	if (!colon || !sl || sl >= sizeof(sys) || !colon[1] || strchr(colon + 1, ':') ||
	    strchr(spec, '/'))
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
			       "-e %s: expected system:event or system:*", spec);
	memcpy(sys, spec, sl);
	sys[sl] = '\0';
	*usage = 0;
	if (!strcmp(colon + 1, "*"))
		err = enable_system(inst, e, sys, &en);
	else
		err = enable_one(inst, e, sys, colon + 1, &en);
	if (err != PCP_OK)
		return err;
	*usage = 1;
	if (!en)
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
			       "-e %s: no such event on this kernel", spec);
	*usage = 0;
	return PCP_OK;
}

int pcp_rec_instance_enable_events(struct tracefs_instance *inst, const char *name,
				   const struct pcp_record_opts *o, struct pcp_rec_events *ev,
				   char *errbuf, size_t errlen)
{
	size_t i;
	int en, err, usage = 0;

	err = enable_wanted(inst, ev, "kmem", pcp_kmem_events,
			    sizeof(pcp_kmem_events) / sizeof(pcp_kmem_events[0]), &ev->native_refill);
	if (err == PCP_OK)
		err = enable_system(inst, ev, "percpu", &en);
	if (err == PCP_OK && !en)
		err = push_name(&ev->missing, &ev->nr_missing, "percpu", "*");
	if (err == PCP_OK && o->lifecycle)
		err = enable_wanted(inst, ev, "kmem", lifecycle_events, 2, NULL);
	for (i = 0; i < o->nr_extra_events && err == PCP_OK; i++)
		err = enable_extra(inst, ev, o->extra_events[i], errbuf, errlen, &usage);
	if (usage)
		return err;
	if (err == PCP_ERR_NOMEM)
		return pcp_errorf(errbuf, errlen, err, "%s", pcp_strerror(err));
	if (err != PCP_OK)
		return pcp_errorf(errbuf, errlen, err, "cannot enable events in %s: %s", name,
			       strerror(errno));
	if (ev->nr == 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NO_EVENT_AVAIL,
			       "none of the PCP or percpu events exists on this kernel");
	return PCP_OK;
}

void pcp_rec_events_free(struct pcp_rec_events *ev)
{
	size_t k;

	for (k = 0; k < ev->nr; k++)
		free(ev->names[k]);
	for (k = 0; k < ev->nr_missing; k++)
		free(ev->missing[k]);
	free(ev->names);
	free(ev->missing);
	memset(ev, 0, sizeof(*ev));
}

int pcp_rec_instance_remove(struct tracefs_instance **inst)
{
	int ret = 0;

	if (!*inst)
		return 0;
	tracefs_trace_off(*inst);
	/* rmdir also disables the instance's events and frees its buffers */
	if (tracefs_instance_destroy(*inst) < 0)
		ret = -1;
	tracefs_instance_free(*inst);
	*inst = NULL;
	return ret;
}

/* Whether pid is a running pcprecord (or pcpstat: tool, its comm), so that a recycled PID does
 * not keep a dead recorder's instance alive forever. */
static int pid_is_pcprecord(long pid, const char *tool)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return errno != ENOENT; /* cannot tell: leave it alone */
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, tool);
}

int pcp_record_remove_stale_instances(void)
{
	const char *top = tracefs_tracing_dir();
	char *dir = NULL;
	struct dirent *de;
	int removed = 0;
	DIR *d;

	/* Read the directory ourselves: libtracefs' tracefs_instances() takes a POSIX basic regex
	 * (no '+') and leaks it once something matches. */
	if (!top || asprintf(&dir, "%s/instances", top) < 0)
		return 0;
	d = opendir(dir);
	free(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		/* pcpstat records with the same code into pcpstat-<pid> */
		const char *tool = !strncmp(de->d_name, "pcprecord-", strlen("pcprecord-")) ? "pcprecord"
				   : !strncmp(de->d_name, "pcpstat-", strlen("pcpstat-")) ? "pcpstat" : NULL;
		const char *digits = tool ? de->d_name + strlen(tool) + 1 : NULL;
		struct tracefs_instance *inst;
		char *end;
		long pid;

		if (!tool || !isdigit((unsigned char)*digits))
			continue;
		errno = 0;
		pid = strtol(digits, &end, 10);
		if (errno || *end || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
			if (pid_is_pcprecord(pid, tool))
				continue; /* a live recorder's: never touch it */
		}
		inst = tracefs_instance_alloc(NULL, de->d_name);
		if (inst) {
			tracefs_trace_off(inst);
			if (tracefs_instance_destroy(inst) == 0)
				removed++;
		}
		tracefs_instance_free(inst);
	}
	closedir(d);
	return removed;
}
