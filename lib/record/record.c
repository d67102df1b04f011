/* Recording with libtracefs: own instance, PCP/percpu events, per-CPU streaming, stats. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <kbuffer.h>
#include <event-parse.h>
#include <tracefs.h>
#include <stdbool.h>
#include "common/error.h"
#include "record/record.h"
#include "tracedat/tracedat.h"

#ifndef PCPTRACE_VERSION
#define PCPTRACE_VERSION "0.1.0"
#endif

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
 * READER_POLL_MS: early enough that a small buffer does not overflow while it sleeps. */
#define READER_BUFFER_PERCENT "25"
#define READER_POLL_MS 100

struct cpu_reader {
	struct pcp_record *r;
	int cpu;
	int raw_fd;                 /* per_cpu/cpuN/trace_pipe_raw, O_NONBLOCK */
	struct tracefs_cpu *tcpu;   /* around raw_fd: reads the last, partial sub-buffers */
	int spool_fd;               /* unlinked file of whole sub-buffers */
	int pipe[2];                /* splice: raw_fd -> pipe -> spool_fd */
	size_t pipe_size;
	int use_read;               /* splice refused: read() whole sub-buffers instead */
	pthread_t thread;
	int thread_started;
	int err_no;                 /* first failure of the reader thread */
	uint64_t bytes;
	void *page;                 /* one sub-buffer, for read() */
};

struct pcp_record {
	struct tracefs_instance *inst;
	struct pcp_record_hooks hooks;          /* around tracing on/off, see record.h */
	void *hook_ctx;
	char name[64];
	int nr_cpus;
	unsigned char *selected;
	char *clock;
	uint32_t tsc2nsec_mult, tsc2nsec_shift;   /* pcp_record_set_tsc2nsec; mult 0 = none */
	const char *tsc2nsec_source;
	size_t buffer_kb;
	unsigned int subbuf_size;
	char **events;              /* "system:event" */
	size_t nr_events;
	char **missing;
	size_t nr_missing;
	int native_refill;
	char *spool_dir;
	int file_version;           /* of the trace.dat (tracedat.h) */
	const char *compression;    /* "zstd", "zlib" or NULL (none) */
	struct cpu_reader *readers; /* nr_cpus entries */
	struct pcp_record_cpu *cpus;
	struct pcp_record_event_count *counts;
	size_t nr_counts;
	uint64_t mark_ns;           /* pcp_record_mark_now(): trace clock, 0 = none */
	uint64_t *counts_since_mark; /* per r->events index, events at or after mark_ns */
	int stop_pipe[2];
	atomic_int stopping;
	int started, stopped;
};

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

static int has_event(const struct pcp_record *r, const char *sys, const char *ev)
{
	size_t i, sl = strlen(sys);

	for (i = 0; i < r->nr_events; i++)
		if (!strncmp(r->events[i], sys, sl) && r->events[i][sl] == ':' &&
		    !strcmp(r->events[i] + sl + 1, ev))
			return 1;
	return 0;
}

static int enable_one(struct pcp_record *r, const char *sys, const char *ev, int *enabled)
{
	*enabled = 0;
	if (has_event(r, sys, ev)) {
		*enabled = 1;
		return PCP_OK;
	}
	if (!tracefs_event_file_exists(r->inst, sys, ev, "enable"))
		return PCP_OK;
	if (tracefs_event_enable(r->inst, sys, ev) < 0)
		return PCP_ERR_TRACEFS;
	*enabled = 1;
	return push_name(&r->events, &r->nr_events, sys, ev);
}

/* Every event of a system; *found = 0 when the system does not exist. */
static int enable_system(struct pcp_record *r, const char *sys, int *found)
{
	char **evs = tracefs_system_events(NULL, sys);
	int err = PCP_OK, en;
	size_t i;

	*found = 0;
	if (!evs)
		return PCP_OK;
	for (i = 0; evs[i] && err == PCP_OK; i++) {
		err = enable_one(r, sys, evs[i], &en);
		*found |= en;
	}
	tracefs_list_free(evs);
	return err;
}

static int parse_cpulist(const char *s, unsigned char *sel, int nr_cpus)
{
	const char *p = s;

	if (!*p)
		return -1;
	while (*p) {
		char *end;
		long a, b;

		errno = 0;
		a = strtol(p, &end, 10);
		if (end == p || errno || a < 0)
			return -1;
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			b = strtol(p, &end, 10);
			if (end == p || errno || b < a)
				return -1;
			p = end;
		}
		if (b >= nr_cpus)
			return -1;
		for (; a <= b; a++)
			sel[a] = 1;
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	return 0;
}

/* The "[local] global ..." text's selected name. */
static char *selected_clock(struct tracefs_instance *inst)
{
	return tracefs_get_clock(inst);
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

static int setup_instance(struct pcp_record *r, const struct pcp_record_opts *o, char *errbuf,
			  size_t errlen)
{
	long long subbuf_kb = 0;
	ssize_t kb;

	if (tracefs_trace_off(r->inst) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot turn tracing off in %s: %s",
			       r->name, strerror(errno));
	if (o->buffer_kb && tracefs_instance_set_buffer_size(r->inst, o->buffer_kb, -1) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
			       "cannot set the buffer of %s to %zu KB per CPU: %s", r->name,
			       o->buffer_kb, strerror(errno));
	kb = tracefs_instance_get_buffer_size(r->inst, 0);
	r->buffer_kb = kb > 0 ? (size_t)kb : o->buffer_kb;
	if (o->clock) {
		if (!clock_available(r->inst, o->clock))
			return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
				       "trace clock '%s' is not offered by this kernel", o->clock);
		if (tracefs_instance_file_write(r->inst, "trace_clock", o->clock) < 0)
			return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
				       "cannot set trace clock '%s': %s", o->clock,
				       strerror(errno));
	}
	r->clock = selected_clock(r->inst);
	if (!r->clock)
		r->clock = strdup("local");
	if (o->cpulist && tracefs_instance_set_affinity(r->inst, o->cpulist) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot set tracing_cpumask to %s",
			       o->cpulist);
	/* Optional knob: older kernels lack it and wake readers at their own pace. */
	if (tracefs_file_exists(r->inst, "buffer_percent"))
		tracefs_instance_file_write(r->inst, "buffer_percent", READER_BUFFER_PERCENT);
	if (tracefs_instance_file_read_number(r->inst, "buffer_subbuf_size_kb", &subbuf_kb) == 0 &&
	    subbuf_kb > 0)
		r->subbuf_size = (unsigned int)subbuf_kb * 1024;
	else
		r->subbuf_size = (unsigned int)getpagesize();
	return PCP_OK;
}

static int enable_events(struct pcp_record *r, const struct pcp_record_opts *o, char *errbuf,
			 size_t errlen)
{
	size_t i;
	int en, err;

	for (i = 0; i < sizeof(pcp_kmem_events) / sizeof(pcp_kmem_events[0]); i++) {
		err = enable_one(r, "kmem", pcp_kmem_events[i], &en);
		if (err == PCP_OK && !en)
			err = push_name(&r->missing, &r->nr_missing, "kmem", pcp_kmem_events[i]);
		if (err != PCP_OK)
			goto fail;
		if (en && i == 0)
			r->native_refill = 1;
	}
	err = enable_system(r, "percpu", &en);
	if (err == PCP_OK && !en)
		err = push_name(&r->missing, &r->nr_missing, "percpu", "*");
	if (err != PCP_OK)
		goto fail;
	if (o->lifecycle)
		for (i = 0; i < 2; i++) {
			err = enable_one(r, "kmem", lifecycle_events[i], &en);
			if (err == PCP_OK && !en)
				err = push_name(&r->missing, &r->nr_missing, "kmem",
						lifecycle_events[i]);
			if (err != PCP_OK)
				goto fail;
		}
	for (i = 0; i < o->nr_extra_events; i++) {
		char sys[128];
		const char *spec = o->extra_events[i], *colon = strchr(spec, ':');
		size_t sl = colon ? (size_t)(colon - spec) : 0;

		if (!colon || !sl || sl >= sizeof(sys) || !colon[1] || strchr(colon + 1, ':') ||
		    strchr(spec, '/'))
			return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
				       "-e %s: expected system:event or system:*", spec);
		memcpy(sys, spec, sl);
		sys[sl] = '\0';
		if (!strcmp(colon + 1, "*"))
			err = enable_system(r, sys, &en);
		else
			err = enable_one(r, sys, colon + 1, &en);
		if (err != PCP_OK)
			goto fail;
		if (!en)
			return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
				       "-e %s: no such event on this kernel", spec);
	}
	if (r->nr_events == 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NO_EVENT_AVAIL,
			       "none of the PCP or percpu events exists on this kernel");
	return PCP_OK;
fail:
	if (err == PCP_ERR_NOMEM)
		return pcp_errorf(errbuf, errlen, err, "%s", pcp_strerror(err));
	return pcp_errorf(errbuf, errlen, err, "cannot enable events in %s: %s", r->name,
		       strerror(errno));
}

int pcp_record_create(const struct pcp_record_opts *o, struct pcp_record **out, char *errbuf,
		      size_t errlen)
{
	struct pcp_record *r;
	long n;
	int err, i;

	*out = NULL;
	/* The trace.dat format is checked now, not after a recording it could not be written for. */
	if ((o->file_version && o->file_version != 6 && o->file_version != 7) ||
	    (o->compression && strcmp(o->compression, "none") &&
	     (o->file_version != 7 || (strcmp(o->compression, "zstd") && strcmp(o->compression, "zlib")))))
		return pcp_errorf(errbuf, errlen, PCP_ERR_USAGE, "trace.dat version %d with %s compression is not supported",
			       o->file_version ? o->file_version : 6, o->compression ? o->compression : "no");
	r = calloc(1, sizeof(*r));
	if (!r)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	r->stop_pipe[0] = r->stop_pipe[1] = -1;
	n = sysconf(_SC_NPROCESSORS_CONF);
	r->nr_cpus = n > 0 ? (int)n : 1;
	r->selected = calloc((size_t)r->nr_cpus, 1);
	r->readers = calloc((size_t)r->nr_cpus, sizeof(*r->readers));
	r->cpus = calloc((size_t)r->nr_cpus, sizeof(*r->cpus));
	r->spool_dir = strdup(o->spool_dir ? o->spool_dir : ".");
	r->file_version = o->file_version;
	r->compression = !o->compression || !strcmp(o->compression, "none") ? NULL
			 : !strcmp(o->compression, "zstd") ? "zstd" : "zlib";
	if (!r->selected || !r->readers || !r->cpus || !r->spool_dir) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
		goto fail;
	}
	for (i = 0; i < r->nr_cpus; i++) {
		r->readers[i].r = r;
		r->readers[i].cpu = i;
		r->readers[i].raw_fd = r->readers[i].spool_fd = -1;
		r->readers[i].pipe[0] = r->readers[i].pipe[1] = -1;
		r->cpus[i].cpu = i;
	}
	if (o->cpulist) {
		if (parse_cpulist(o->cpulist, r->selected, r->nr_cpus)) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_USAGE,
				      "-C %s: not a list of CPUs between 0 and %d", o->cpulist,
				      r->nr_cpus - 1);
			goto fail;
		}
	} else {
		memset(r->selected, 1, (size_t)r->nr_cpus);
	}
	snprintf(r->name, sizeof(r->name), "pcprecord-%d", (int)getpid());
	r->inst = tracefs_instance_create(r->name);
	if (!r->inst) {
		err = pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot create tracefs instance %s: %s",
			      r->name, strerror(errno));
		goto fail;
	}
	if (!tracefs_instance_is_new(r->inst)) {
		/* Not ours: never touch it. */
		tracefs_instance_free(r->inst);
		r->inst = NULL;
		err = pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "tracefs instance %s already exists",
			      r->name);
		goto fail;
	}
	err = setup_instance(r, o, errbuf, errlen);
	if (err == PCP_OK)
		err = enable_events(r, o, errbuf, errlen);
	if (err != PCP_OK)
		goto fail;
	*out = r;
	return PCP_OK;
fail:
	pcp_record_destroy(r);
	return err;
}

const char *pcp_record_instance_name(const struct pcp_record *r) { return r->name; }
const char *pcp_record_clock(const struct pcp_record *r) { return r->clock; }

void pcp_record_set_tsc2nsec(struct pcp_record *r, uint32_t mult, uint32_t shift, const char *source)
{
	r->tsc2nsec_mult = mult;
	r->tsc2nsec_shift = shift;
	r->tsc2nsec_source = source;
}
size_t pcp_record_buffer_kb(const struct pcp_record *r) { return r->buffer_kb; }
int pcp_record_nr_cpus(const struct pcp_record *r) { return r->nr_cpus; }

size_t pcp_record_enabled_events(const struct pcp_record *r, const char *const **names)
{
	*names = (const char *const *)r->events;
	return r->nr_events;
}

size_t pcp_record_missing_events(const struct pcp_record *r, const char *const **names)
{
	*names = (const char *const *)r->missing;
	return r->nr_missing;
}

const char *pcp_record_refill_source(const struct pcp_record *r)
{
	return r->native_refill ? "native" : "fallback";
}

/* An unlinked file in dir: nothing is left behind however the process ends. */
static int open_spool(const char *dir)
{
	char *tmpl = NULL;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (asprintf(&tmpl, "%s/.pcprecord-spool.XXXXXX", dir) < 0)
		return -1;
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	free(tmpl);
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Moves n bytes that sit in the reader's pipe to its spool file. */
static int pipe_to_spool(struct cpu_reader *c, size_t n)
{
	while (n) {
		ssize_t m = splice(c->pipe[0], NULL, c->spool_fd, NULL, n, SPLICE_F_MOVE);

		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0 && (errno == EINVAL || errno == ENOSYS)) {
			/* the spool's file system does not take splice: copy through memory */
			ssize_t k = read(c->pipe[0], c->page,
					 n < c->r->subbuf_size ? n : c->r->subbuf_size);

			if (k <= 0 || write_all(c->spool_fd, c->page, (size_t)k))
				return -1;
			m = k;
		}
		if (m <= 0)
			return -1;
		n -= (size_t)m;
		c->bytes += (uint64_t)m;
	}
	return 0;
}

/* Moves every whole sub-buffer the kernel has ready to the spool file. Returns bytes moved
 * or -1 (errno set). */
static long long drain_full_pages(struct cpu_reader *c)
{
	long long moved = 0;

	for (;;) {
		ssize_t n;

		if (c->use_read) {
			n = read(c->raw_fd, c->page, c->r->subbuf_size);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return moved;
			if (n < 0)
				return -1;
			if (n == 0)
				return moved;
			memset((char *)c->page + n, 0, c->r->subbuf_size - (size_t)n);
			if (write_all(c->spool_fd, c->page, c->r->subbuf_size))
				return -1;
			c->bytes += c->r->subbuf_size;
			moved += n;
			continue;
		}
		n = splice(c->raw_fd, NULL, c->pipe[1], NULL, c->pipe_size,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return moved;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS) && moved == 0) {
			c->use_read = 1; /* a kernel without splice on trace_pipe_raw */
			continue;
		}
		if (n < 0)
			return -1;
		if (n == 0)
			return moved;
		if (pipe_to_spool(c, (size_t)n))
			return -1;
		moved += n;
	}
}

static void *reader_main(void *arg)
{
	struct cpu_reader *c = arg;
	struct pcp_record *r = c->r;

	while (!atomic_load(&r->stopping)) {
		struct pollfd p[2] = { { c->raw_fd, POLLIN, 0 }, { r->stop_pipe[0], POLLIN, 0 } };
		int pr = poll(p, 2, READER_POLL_MS);
		long long moved;

		if (pr < 0 && errno != EINTR) {
			c->err_no = errno;
			break;
		}
		if (pr > 0 && p[1].revents)
			break;
		moved = drain_full_pages(c);
		if (moved < 0) {
			c->err_no = errno ? errno : EIO;
			break;
		}
		/* readable but no whole sub-buffer yet: do not spin on poll */
		if (pr > 0 && moved == 0) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static int open_reader(struct pcp_record *r, struct cpu_reader *c, char *errbuf, size_t errlen)
{
	char path[64];
	int sz;

	snprintf(path, sizeof(path), "per_cpu/cpu%d/trace_pipe_raw", c->cpu);
	c->raw_fd = tracefs_instance_file_open(r->inst, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->raw_fd < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot open %s/%s: %s", r->name,
			       path, strerror(errno));
	c->tcpu = tracefs_cpu_alloc_fd(c->raw_fd, (int)r->subbuf_size, true);
	c->page = calloc(1, r->subbuf_size);
	if (!c->tcpu || !c->page)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	c->spool_fd = open_spool(r->spool_dir);
	if (c->spool_fd < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "cannot create a spool file in %s: %s",
			       r->spool_dir, strerror(errno));
	if (pipe2(c->pipe, O_CLOEXEC) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "pipe: %s", strerror(errno));
	/* a bigger pipe moves more sub-buffers per wake-up; the default is fine too */
	fcntl(c->pipe[1], F_SETPIPE_SZ, 1 << 20);
	sz = fcntl(c->pipe[1], F_GETPIPE_SZ);
	c->pipe_size = sz > 0 ? (size_t)sz : 65536;
	return PCP_OK;
}

/* The calling thread at SCHED_FIFO for a few system calls: on a busy machine a preemption
 * between a snapshot and the tracing switch would open a window of milliseconds in which other
 * processes' percpu operations are counted but not traced (or the reverse). Best effort. */
struct realtime {
	int policy;
	struct sched_param param;
	int raised;
};

static void realtime_enter(struct realtime *rt)
{
	struct sched_param fifo = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };

	rt->raised = 0;
	rt->policy = sched_getscheduler(0);
	if (rt->policy < 0 || sched_getparam(0, &rt->param) != 0)
		return;
	rt->raised = sched_setscheduler(0, SCHED_FIFO, &fifo) == 0;
}

static void realtime_leave(struct realtime *rt)
{
	if (rt->raised)
		sched_setscheduler(0, rt->policy, &rt->param);
}

/* Tracing on, with the hooks around it; retried from an empty buffer while after_on says the
 * switch raced (the reader threads do not run yet, the workload is still held). */
static int switch_on(struct pcp_record *r, char *errbuf, size_t errlen)
{
	int attempt;

	for (attempt = 1;; attempt++) {
		struct realtime rt;
		int raced = 0;

		realtime_enter(&rt);
		if (r->hooks.before_on)
			r->hooks.before_on(r->hook_ctx);
		if (tracefs_trace_on(r->inst) < 0) {
			realtime_leave(&rt);
			return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
				       "cannot turn tracing on in %s: %s", r->name, strerror(errno));
		}
		if (r->hooks.after_on)
			raced = r->hooks.after_on(r->hook_ctx) != 0;
		realtime_leave(&rt);
		if (!raced || attempt >= PCP_RECORD_ON_ATTEMPTS)
			return PCP_OK;
		if (tracefs_trace_off(r->inst) < 0 || tracefs_instance_file_clear(r->inst, "trace") < 0)
			return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS,
				       "cannot turn tracing off and clear %s to start again: %s",
				       r->name, strerror(errno));
		/* let the burst of activity that raced us pass (1 ms, growing to 20 ms) */
		{
			long ms = attempt < 20 ? attempt : 20;
			struct timespec ts = { 0, ms * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
}

int pcp_record_start(struct pcp_record *r, char *errbuf, size_t errlen)
{
	sigset_t all, old;
	int i, err;

	if (r->started)
		return pcp_errorf(errbuf, errlen, PCP_ERR_INTERNAL, "recording started twice");
	if (pipe2(r->stop_pipe, O_CLOEXEC) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "pipe: %s", strerror(errno));
	for (i = 0; i < r->nr_cpus; i++) {
		if (!r->selected[i])
			continue;
		err = open_reader(r, &r->readers[i], errbuf, errlen);
		if (err != PCP_OK)
			return err;
		r->cpus[i].recorded = 1;
	}
	r->started = 1;
	err = switch_on(r, errbuf, errlen);
	if (err != PCP_OK)
		return err;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < r->nr_cpus; i++) {
		struct cpu_reader *c = &r->readers[i];

		if (!r->cpus[i].recorded)
			continue;
		if (pthread_create(&c->thread, NULL, reader_main, c) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM,
				       "cannot start the reader thread of CPU %d", i);
		}
		c->thread_started = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return PCP_OK;
}

static void join_readers(struct pcp_record *r)
{
	int i;

	atomic_store(&r->stopping, 1);
	if (r->stop_pipe[1] >= 0) {
		char b = 1;

		if (write(r->stop_pipe[1], &b, 1) < 0) {
			/* the flag alone stops them within READER_POLL_MS */
		}
	}
	for (i = 0; i < r->nr_cpus; i++)
		if (r->readers[i].thread_started) {
			pthread_join(r->readers[i].thread, NULL);
			r->readers[i].thread_started = 0;
		}
}

/* What is left after tracing stopped, including the partly filled sub-buffer. */
static int flush_reader(struct cpu_reader *c)
{
	unsigned int ps = c->r->subbuf_size;

	if (drain_full_pages(c) < 0)
		return -1;
	for (;;) {
		int n = tracefs_cpu_flush(c->tcpu, c->page);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		/* read() hands out a whole sub-buffer; pad defensively so the spool stays aligned */
		if ((unsigned int)n < ps)
			memset((char *)c->page + n, 0, ps - (unsigned int)n);
		if (write_all(c->spool_fd, c->page, ps))
			return -1;
		c->bytes += ps;
	}
}

static uint64_t stat_value(const char *text, const char *key)
{
	const char *p = text;
	size_t kl = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':')
			return strtoull(p + kl + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

static int read_stats(struct pcp_record *r)
{
	int i;

	for (i = 0; i < r->nr_cpus; i++) {
		struct pcp_record_cpu *s = &r->cpus[i];
		char path[64];

		snprintf(path, sizeof(path), "per_cpu/cpu%d/stats", i);
		s->stats_text = tracefs_instance_file_read(r->inst, path, NULL);
		if (!s->stats_text)
			continue;
		s->overrun = stat_value(s->stats_text, "overrun");
		s->commit_overrun = stat_value(s->stats_text, "commit overrun");
		s->dropped = stat_value(s->stats_text, "dropped events");
		s->read_events = stat_value(s->stats_text, "read events");
		s->bytes = r->readers[i].bytes;
	}
	return PCP_OK;
}

static char *read_event_file(struct tracefs_instance *inst, const char *sys, const char *ev,
			     int *len)
{
	return tracefs_event_file_read(inst, sys, ev, "format", len);
}

static int split_name(const char *full, char *sys, size_t syslen, const char **ev)
{
	const char *colon = strchr(full, ':');

	if (!colon || (size_t)(colon - full) >= syslen)
		return -1;
	memcpy(sys, full, (size_t)(colon - full));
	sys[colon - full] = '\0';
	*ev = colon + 1;
	return 0;
}

static int cmp_count(const void *a, const void *b)
{
	return strcmp(((const struct pcp_record_event_count *)a)->name,
		      ((const struct pcp_record_event_count *)b)->name);
}

/* Walks the spooled sub-buffers with kbuffer: events per type, missed-event marks. This is
 * the recorder's own count, printed and stored so tests can hold trace-cmd report to it. */
static int count_events(struct pcp_record *r, char *errbuf, size_t errlen)
{
	struct tep_handle *tep = tep_alloc();
	struct kbuffer *kbuf = kbuffer_alloc(KBUFFER_LSIZE_SAME_AS_HOST,
					     KBUFFER_ENDIAN_SAME_AS_HOST);
	int *slot_of_id = NULL, max_id = -1, err = PCP_OK, len, i;
	uint64_t *counts = NULL, *since = NULL;
	char *text;
	size_t k;

	if (!tep || !kbuf || !(counts = calloc(r->nr_events + 1, sizeof(*counts))) ||
	    !(since = calloc(r->nr_events + 1, sizeof(*since)))) {
		err = PCP_ERR_NOMEM;
		goto out;
	}
	text = tracefs_instance_file_read(NULL, "events/header_page", &len);
	if (!text || tep_parse_header_page(tep, text, (unsigned long)len, sizeof(long)) < 0) {
		free(text);
		err = pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot read events/header_page");
		goto out;
	}
	free(text);
	for (k = 0; k < r->nr_events; k++) {
		char sys[128];
		const char *ev;
		struct tep_event *e;

		if (split_name(r->events[k], sys, sizeof(sys), &ev))
			continue;
		text = read_event_file(r->inst, sys, ev, &len);
		if (text && tep_parse_event(tep, text, (unsigned long)len, sys) == 0) {
			e = tep_find_event_by_name(tep, sys, ev);
			if (e && e->id > max_id)
				max_id = e->id;
		}
		free(text);
	}
	slot_of_id = malloc(((size_t)max_id + 2) * sizeof(int));
	if (!slot_of_id) {
		err = PCP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i <= max_id + 1; i++)
		slot_of_id[i] = (int)r->nr_events; /* "other" */
	for (k = 0; k < r->nr_events; k++) {
		char sys[128];
		const char *ev;
		struct tep_event *e;

		if (split_name(r->events[k], sys, sizeof(sys), &ev))
			continue;
		e = tep_find_event_by_name(tep, sys, ev);
		if (e && e->id >= 0 && e->id <= max_id)
			slot_of_id[e->id] = (int)k;
	}
	for (i = 0; i < r->nr_cpus; i++) {
		struct cpu_reader *c = &r->readers[i];
		struct pcp_record_cpu *s = &r->cpus[i];
		off_t off;

		if (!s->recorded)
			continue;
		for (off = 0; (uint64_t)off < c->bytes; off += r->subbuf_size) {
			unsigned long long ts;
			void *data;
			int missed;

			if (pread(c->spool_fd, c->page, r->subbuf_size, off) !=
			    (ssize_t)r->subbuf_size) {
				err = pcp_errorf(errbuf, errlen, PCP_ERR_IO,
					      "cannot read back the spool of CPU %d: %s", i,
					      strerror(errno ? errno : EIO));
				goto out;
			}
			if (kbuffer_load_subbuffer(kbuf, c->page) < 0)
				continue;
			missed = kbuffer_missed_events(kbuf);
			if (missed > 0)
				s->missed_in_file += (uint64_t)missed;
			else if (missed < 0)
				s->missed_unknown++;
			for (data = kbuffer_read_event(kbuf, &ts); data;
			     data = kbuffer_next_event(kbuf, &ts)) {
				struct tep_record rec = { 0 };
				int type;

				rec.data = data;
				rec.size = kbuffer_event_size(kbuf);
				type = tep_data_type(tep, &rec);
				s->events++;
				counts[type >= 0 && type <= max_id ? slot_of_id[type]
								    : (int)r->nr_events]++;
				if (r->mark_ns && ts >= r->mark_ns)
					since[type >= 0 && type <= max_id ? slot_of_id[type]
									  : (int)r->nr_events]++;
			}
		}
	}
	r->counts = calloc(r->nr_events + 1, sizeof(*r->counts));
	if (!r->counts) {
		err = PCP_ERR_NOMEM;
		goto out;
	}
	for (k = 0; k <= r->nr_events; k++) {
		if (!counts[k])
			continue;
		r->counts[r->nr_counts].name = strdup(k < r->nr_events ? r->events[k] : "(other)");
		if (!r->counts[r->nr_counts].name) {
			err = PCP_ERR_NOMEM;
			goto out;
		}
		r->counts[r->nr_counts++].count = counts[k];
	}
	qsort(r->counts, r->nr_counts, sizeof(*r->counts), cmp_count);
	if (r->mark_ns) {
		r->counts_since_mark = since;
		since = NULL;
	}
out:
	if (err == PCP_ERR_NOMEM)
		pcp_errorf(errbuf, errlen, err, "%s", pcp_strerror(err));
	free(since);
	free(counts);
	free(slot_of_id);
	if (kbuf)
		kbuffer_free(kbuf);
	if (tep)
		tep_free(tep);
	return err;
}

void pcp_record_set_hooks(struct pcp_record *r, const struct pcp_record_hooks *hooks, void *ctx)
{
	memset(&r->hooks, 0, sizeof(r->hooks));
	if (hooks)
		r->hooks = *hooks;
	r->hook_ctx = ctx;
}

int pcp_record_stop(struct pcp_record *r, char *errbuf, size_t errlen)
{
	struct realtime rt;
	int i, err = PCP_OK;

	if (!r->started || r->stopped)
		return PCP_OK;
	r->stopped = 1;
	realtime_enter(&rt);
	if (r->hooks.before_off)
		r->hooks.before_off(r->hook_ctx);
	tracefs_trace_off(r->inst);
	if (r->hooks.after_off)
		r->hooks.after_off(r->hook_ctx);
	realtime_leave(&rt);
	join_readers(r);
	for (i = 0; i < r->nr_cpus; i++) {
		struct cpu_reader *c = &r->readers[i];

		if (!r->cpus[i].recorded)
			continue;
		if (c->err_no && err == PCP_OK)
			err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "reading the buffer of CPU %d: %s",
				      i, strerror(c->err_no));
		if (flush_reader(c) < 0 && err == PCP_OK)
			err = pcp_errorf(errbuf, errlen, PCP_ERR_IO,
				      "flushing the buffer of CPU %d: %s", i, strerror(errno));
	}
	read_stats(r);
	if (err == PCP_OK)
		err = count_events(r, errbuf, errlen);
	return err;
}

static void close_readers(struct pcp_record *r)
{
	int i;

	if (!r->readers)
		return;
	join_readers(r);
	for (i = 0; i < r->nr_cpus; i++) {
		struct cpu_reader *c = &r->readers[i];

		if (c->tcpu) {
			tracefs_cpu_free_fd(c->tcpu); /* leaves raw_fd open */
			c->tcpu = NULL;
		}
		if (c->raw_fd >= 0)
			close(c->raw_fd);
		c->raw_fd = -1;
	}
}

int pcp_record_remove_instance(struct pcp_record *r)
{
	int ret = 0;

	if (!r || !r->inst)
		return 0;
	close_readers(r);
	tracefs_trace_off(r->inst);
	/* rmdir also disables the instance's events and frees its buffers */
	if (tracefs_instance_destroy(r->inst) < 0)
		ret = -1;
	tracefs_instance_free(r->inst);
	r->inst = NULL;
	return ret;
}

const struct pcp_record_cpu *pcp_record_cpus(const struct pcp_record *r, int *nr)
{
	*nr = r->nr_cpus;
	return r->cpus;
}

const struct pcp_record_event_count *pcp_record_event_counts(const struct pcp_record *r,
							      size_t *nr)
{
	*nr = r->nr_counts;
	return r->counts;
}

uint64_t pcp_record_lost_events(const struct pcp_record *r)
{
	uint64_t lost = 0;
	int i;

	for (i = 0; i < r->nr_cpus; i++)
		lost += r->cpus[i].overrun + r->cpus[i].commit_overrun + r->cpus[i].dropped;
	return lost;
}

static json_t *string_array(char *const *names, size_t n)
{
	json_t *a = json_array();
	size_t k;

	for (k = 0; a && k < n; k++)
		if (json_array_append_new(a, json_string(names[k]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *pcp_record_describe(const struct pcp_record *r)
{
	json_t *o, *cpus = json_array(), *recorded = json_array(), *counts = json_object();
	uint64_t total = 0, unknown = 0;
	size_t k;
	int i;

	if (!cpus || !recorded || !counts)
		goto fail;
	for (i = 0; i < r->nr_cpus; i++) {
		const struct pcp_record_cpu *c = &r->cpus[i];
		json_t *row = json_pack("{s:i,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "cpu", i,
					"recorded", c->recorded, "bytes", (json_int_t)c->bytes,
					"events", (json_int_t)c->events, "overrun",
					(json_int_t)c->overrun, "commit_overrun",
					(json_int_t)c->commit_overrun, "dropped",
					(json_int_t)c->dropped, "read_events",
					(json_int_t)c->read_events, "missed_in_file",
					(json_int_t)c->missed_in_file, "missed_unknown_pages",
					(json_int_t)c->missed_unknown);

		if (!row || json_array_append_new(cpus, row))
			goto fail;
		if (c->recorded && json_array_append_new(recorded, json_integer(i)))
			goto fail;
		total += c->events;
		unknown += c->missed_unknown;
	}
	for (k = 0; k < r->nr_counts; k++)
		if (json_object_set_new(counts, r->counts[k].name,
					json_integer((json_int_t)r->counts[k].count)))
			goto fail;
	o = json_pack("{s:s,s:s,s:I,s:i,s:i,s:o,s:s,s:o,s:o,s:I,s:o,s:I,s:I,s:o}",
		      "instance", r->name, "clock", r->clock ? r->clock : "local",
		      "buffer_kb", (json_int_t)r->buffer_kb, "subbuf_size", (int)r->subbuf_size,
		      "nr_cpus", r->nr_cpus, "recorded_cpus", recorded,
		      "refill_source", pcp_record_refill_source(r),
		      "events", string_array(r->events, r->nr_events),
		      "missing_events", string_array(r->missing, r->nr_missing),
		      "events_total", (json_int_t)total, "event_counts", counts,
		      "lost_events", (json_int_t)pcp_record_lost_events(r),
		      "lost_unknown_pages", (json_int_t)unknown, "cpus", cpus);
	if (o && r->tsc2nsec_mult &&
	    json_object_set_new(o, "tsc2nsec", json_pack("{s:I,s:I,s:s}", "mult",
				(json_int_t)r->tsc2nsec_mult, "shift", (json_int_t)r->tsc2nsec_shift,
				"source", r->tsc2nsec_source ? r->tsc2nsec_source : ""))) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(cpus);
	json_decref(recorded);
	json_decref(counts);
	return NULL;
}

/* tracefs files are read from the top level (formats, kallsyms, cmdlines are global);
 * reading does not change anything there. */
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

static char *slurp(const char *path, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t k;

		if (cap - n < 65536) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	*len = n;
	return buf;
}

static int add_formats(struct pcp_record *r, struct pcp_tdw *w)
{
	char **ftrace = tracefs_system_events(NULL, "ftrace");
	int err = PCP_OK, len;
	size_t k;

	for (k = 0; ftrace && ftrace[k] && err == PCP_OK; k++) {
		char *text = read_event_file(NULL, "ftrace", ftrace[k], &len);

		if (text)
			err = pcp_tdw_add_ftrace_format(w, text, (size_t)len);
		free(text);
	}
	tracefs_list_free(ftrace);
	for (k = 0; k < r->nr_events && err == PCP_OK; k++) {
		char sys[128], *text;
		const char *ev;

		if (split_name(r->events[k], sys, sizeof(sys), &ev))
			continue;
		text = read_event_file(NULL, sys, ev, &len);
		if (!text)
			return PCP_ERR_TRACEFS;
		err = pcp_tdw_add_event_format(w, sys, text, (size_t)len);
		free(text);
	}
	return err;
}

int pcp_record_write_trace(struct pcp_record *r, const char *path, char *errbuf, size_t errlen)
{
	struct pcp_tdw_params p = { .nr_cpus = r->nr_cpus, .page_size = r->subbuf_size,
				    .file_version = r->file_version, .compression = r->compression };
	struct pcp_tdw *w = NULL;
	struct utsname u;
	char uname_text[512];
	size_t klen;
	char *kallsyms;
	int err, i, len;
	char *hp, *he;

	err = pcp_tdw_create(path, &p, &w);
	if (err != PCP_OK)
		return pcp_errorf(errbuf, errlen, err, "cannot create: %s",
			       err == PCP_ERR_IO ? strerror(errno) : pcp_strerror(err));
	hp = tracefs_instance_file_read(NULL, "events/header_page", &len);
	err = hp ? pcp_tdw_set_header_page(w, hp, (size_t)len) : PCP_ERR_TRACEFS;
	free(hp);
	if (err == PCP_OK) {
		he = tracefs_instance_file_read(NULL, "events/header_event", &len);
		err = he ? pcp_tdw_set_header_event(w, he, (size_t)len) : PCP_ERR_TRACEFS;
		free(he);
	}
	if (err == PCP_OK)
		err = add_formats(r, w);
	if (err == PCP_OK) {
		kallsyms = slurp("/proc/kallsyms", &klen);
		if (kallsyms)
			err = pcp_tdw_set_kallsyms(w, kallsyms, klen);
		free(kallsyms);
	}
	if (err == PCP_OK)
		err = add_top_file(w, "printk_formats", pcp_tdw_set_printk_formats);
	if (err == PCP_OK)
		err = add_top_file(w, "saved_cmdlines", pcp_tdw_set_cmdlines);
	if (err == PCP_OK)
		err = pcp_tdw_set_trace_clock(w, r->clock);
	if (err == PCP_OK && r->tsc2nsec_mult)   /* TSC cycles: readers convert to ns */
		err = pcp_tdw_set_tsc2nsec(w, r->tsc2nsec_mult, r->tsc2nsec_shift, 0);
	if (err == PCP_OK && uname(&u) == 0) {
		snprintf(uname_text, sizeof(uname_text), "%s %s %s %s %s", u.sysname, u.nodename,
			 u.release, u.version, u.machine);
		err = pcp_tdw_set_uname(w, uname_text);
	}
	if (err == PCP_OK)
		err = pcp_tdw_set_version(w, "pcptrace pcprecord " PCPTRACE_VERSION);
	for (i = 0; i < r->nr_cpus && err == PCP_OK; i++) {
		char empty[64];

		if (r->cpus[i].stats_text) {
			err = pcp_tdw_add_cpustat(w, r->cpus[i].stats_text);
		} else {
			snprintf(empty, sizeof(empty), "CPU: %d\n", i);
			err = pcp_tdw_add_cpustat(w, empty);
		}
	}
	for (i = 0; i < r->nr_cpus && err == PCP_OK; i++)
		if (r->cpus[i].recorded && r->readers[i].bytes)
			err = pcp_tdw_set_cpu_data_fd(w, i, r->readers[i].spool_fd);
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

void pcp_record_destroy(struct pcp_record *r)
{
	size_t k;
	int i;

	if (!r)
		return;
	pcp_record_remove_instance(r);
	if (r->readers)
		for (i = 0; i < r->nr_cpus; i++) {
			struct cpu_reader *c = &r->readers[i];

			if (c->spool_fd >= 0)
				close(c->spool_fd);
			if (c->pipe[0] >= 0)
				close(c->pipe[0]);
			if (c->pipe[1] >= 0)
				close(c->pipe[1]);
			free(c->page);
		}
	if (r->cpus)
		for (i = 0; i < r->nr_cpus; i++)
			free(r->cpus[i].stats_text);
	for (k = 0; k < r->nr_events; k++)
		free(r->events[k]);
	for (k = 0; k < r->nr_missing; k++)
		free(r->missing[k]);
	for (k = 0; k < r->nr_counts; k++)
		free(r->counts[k].name);
	if (r->stop_pipe[0] >= 0)
		close(r->stop_pipe[0]);
	if (r->stop_pipe[1] >= 0)
		close(r->stop_pipe[1]);
	free(r->counts);
	free(r->counts_since_mark);
	free(r->events);
	free(r->missing);
	free(r->readers);
	free(r->cpus);
	free(r->selected);
	free(r->clock);
	free(r->spool_dir);
	free(r);
}

int pcp_record_mark_now(struct pcp_record *r)
{
	char *text = r->inst ? tracefs_instance_file_read(r->inst, "per_cpu/cpu0/stats", NULL) : NULL;
	const char *p = text ? strstr(text, "now ts:") : NULL;
	unsigned long long sec, usec;
	int n = 0;

	r->mark_ns = 0;
	/* "now ts: 2641.098286": seconds and microseconds of a nanosecond clock; a counter clock
	 * prints no fraction and gets no mark */
	if (p && sscanf(p, "now ts: %llu.%6llu%n", &sec, &usec, &n) == 2 && n > 0)
		r->mark_ns = sec * 1000000000ull + usec * 1000ull + 1000ull; /* next microsecond */
	free(text);
	return r->mark_ns ? 0 : -1;
}

int pcp_record_count_since_mark(const struct pcp_record *r, const char *name, uint64_t *n)
{
	size_t k;

	if (!r->counts_since_mark)
		return -1;
	for (k = 0; k < r->nr_events; k++)
		if (!strcmp(r->events[k], name)) {
			*n = r->counts_since_mark[k];
			return 0;
		}
	*n = 0;
	return 0;
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

/* Whether pid is a running pcprecord (its comm), so that a recycled PID does not keep a dead
 * recorder's instance alive forever. */
static int pid_is_pcprecord(long pid)
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
	return !strcmp(comm, "pcprecord");
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
		const char *digits = de->d_name + strlen("pcprecord-");
		struct tracefs_instance *inst;
		char *end;
		long pid;

		if (strncmp(de->d_name, "pcprecord-", strlen("pcprecord-")) || !isdigit((unsigned char)*digits))
			continue;
		errno = 0;
		pid = strtol(digits, &end, 10);
		if (errno || *end || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
			if (pid_is_pcprecord(pid))
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
