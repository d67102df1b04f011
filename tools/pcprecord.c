/* pcprecord: record the PCP and percpu events around a command into trace.dat (pcprecord(1)). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "common/error.h"
#include "record/progress.h"
#include "record/record.h"
#include "record/run_as_user.h"
#include "tracedat/tracedat.h"
#include "record/snapshot.h"
#include "tracedat/time_base.h"
#include "tracedat/tsc2nsec.h"

#include "meta/meta.h" /* the meta file: its struct and writer */

#define PCPRECORD_VERSION "0.1.0"
/* --stacks without =N: one stack per 16 blocks in fallback mode (pcprecord(1), overhead) */
#define PCPRECORD_STACKS_DEFAULT 16

static volatile sig_atomic_t stop_signal;    /* SIGINT/SIGTERM/SIGHUP received */
static volatile sig_atomic_t deadline_hit;   /* --duration elapsed */
static volatile pid_t child_pid;

/* Only flags and kill(): everything else happens in main. */
static void on_stop_signal(int sig, siginfo_t *si, void *uc)
{
	pid_t c = child_pid;

	(void)uc;
	stop_signal = sig;
	/* A terminal's Ctrl-C already reached the workload (same process group): forward only
	 * what was sent to us alone. */
	if (c > 0 && !(sig == SIGINT && si && si->si_code == SI_KERNEL))
		kill(c, sig == SIGHUP ? SIGTERM : sig);
}

static void on_alarm(int sig)
{
	pid_t c = child_pid;

	(void)sig;
	deadline_hit = 1;
	if (c > 0)
		kill(c, SIGINT);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pcprecord [-o FILE] [-b KB] [-C CPULIST] [--duration SECONDS] [--clock CLOCK]\n"
		"                 [--force-clock] [--lifecycle] [--stacks[=N]] [-e SYSTEM:EVENT]...\n"
		"                 [--format FMT [--force-format]] [-q] [--user USER] [-- COMMAND [ARG]...]\n"
		"  -o, --output FILE     trace.dat to write (default trace.dat) and FILE.meta.json\n"
		"      --format FMT      trace.dat format: v6 (default), v7, v7-zstd (zstd-compressed)\n"
		"                        or v7-zlib (zlib-compressed: refused where libtracecmd lacks\n"
		"                        zlib, as pcpanalyze could not read it)\n"
		"      --force-format    write such a format anyway (with a warning)\n"
		"  -b, --buffer KB       ring buffer size per CPU (default: the kernel's; at least\n"
		"                        4096 with --lifecycle)\n"
		"  -C, --cpus CPULIST    record only these CPUs, e.g. 0-3,6\n"
		"      --duration S      stop after S seconds (the command, if any, gets SIGINT)\n"
		"      --clock CLOCK     trace clock (default: the instance's, normally local); x86-tsc\n"
		"                        gets a TSC2NSEC option; a clock with no time base (counter,\n"
		"                        uptime) is refused\n"
		"      --force-clock     record with such a clock anyway (no rates in the analysis)\n"
		"      --lifecycle       also kmem:mm_page_alloc and kmem:mm_page_free (every page\n"
		"                        allocation and free: the lifecycle model's events)\n"
		"      --stacks[=N]      kernel stacks of the refills and drains (stacktrace triggers):\n"
		"                        each zone-locked event, or 1 block in N (PFN multiple of N;\n"
		"                        power of two, default 16) in fallback mode\n"
		"  -e, --event SYS:EVENT also this event (SYS:* for a whole system); repeatable\n"
		"      --user USER       run the command as USER (uid, groups, HOME...), not root\n"
		"  -q, --quiet           only warnings, lost events and errors (no status line)\n"
		"  -h, --help            this help\n"
		"  -V, --version         version\n"
		"Without a command, records system-wide until Ctrl-C or --duration.\n"
		"Exit: the command's status (128+N if killed by signal N, or if signal N stopped the\n"
		"recording before it started), 0 without a command; 2 usage, 70 out of memory,\n"
		"74 I/O error, 121 not root, 122 no tracefs, 123 no event available, 124 other tracefs\n"
		"error, 125 internal error, 126 command cannot run, 127 command not found.\n");
}

static void iso_time(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03ldZ", ts->tv_nsec / 1000000);
}

/* Forks the command stopped before exec: it runs only once tracing is on. With run_as, it gives
 * up root first or is not run at all. */
static pid_t spawn_held(char **cmd, const struct pcp_run_as_user *run_as, int *go_fd, int *err_fd)
{
	int go[2], ep[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		struct pcp_exec_failure f;
		char b;

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(go[1]);
		close(ep[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(127); /* the recorder gave up */
		pcp_exec_as_user(run_as, cmd, &f); /* returns only if cmd was not started */
		if (write(ep[1], &f, sizeof(f)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(ep[1]);
	if (pid < 0) {
		close(go[1]);
		close(ep[0]);
		return -1;
	}
	*go_fd = go[1];
	*err_fd = ep[0];
	return pid;
}

static void print_summary(const struct pcp_record *rec, double secs, int quiet)
{
	const struct pcp_record_event_count *counts;
	const struct pcp_record_cpu *cpus;
	uint64_t total = 0, lost = pcp_record_lost_events(rec);
	size_t n, k;
	int nr, i, recorded = 0;

	counts = pcp_record_event_counts(rec, &n);
	cpus = pcp_record_cpus(rec, &nr);
	for (i = 0; i < nr; i++) {
		total += cpus[i].events;
		recorded += cpus[i].recorded;
	}
	if (!quiet) {
		fprintf(stderr, "pcprecord: recorded %llu events on %d CPUs in %.2f s, lost %llu\n",
			(unsigned long long)total, recorded, secs, (unsigned long long)lost);
		for (k = 0; k < n; k++)
			fprintf(stderr, "pcprecord:   %-40s %llu\n", counts[k].name,
				(unsigned long long)counts[k].count);
	}
	for (i = 0; i < nr; i++) {
		const struct pcp_record_cpu *c = &cpus[i];

		if (c->overrun || c->commit_overrun || c->dropped)
			fprintf(stderr,
				"pcprecord: CPU %d lost events: overrun %llu, commit overrun %llu, "
				"dropped %llu (enlarge -b)\n",
				i, (unsigned long long)c->overrun,
				(unsigned long long)c->commit_overrun, (unsigned long long)c->dropped);
	}
}

/* An exited process's mm, with its percpu counters, is freed only when the last CPU that ran
 * it switches to another mm, which an idle CPU may not do for a long time. Running briefly on
 * every CPU makes that happen while tracing is still on, so those frees are traced too. */
static void visit_every_cpu(void)
{
	cpu_set_t allowed, one;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) == 0)
			sched_yield();
	}
	sched_setaffinity(0, sizeof(allowed), &allowed);
}

/* The snapshots around the traced window (see pcp_record_set_hooks), and percpu_stats' counters
 * read on the other side of each switch: equal counters mean no percpu operation of anyone fell
 * between a snapshot and the switch, so the snapshot brackets the trace exactly. */
struct window_snapshots {
	json_t *before, *after;
	int64_t on_alloc, on_dealloc, off_alloc, off_dealloc;
	int on_read, off_read;  /* PCP_OK when the counters were read */
	int on_attempts;
	struct pcp_record *rec;
	int marked;             /* trace clock marked right after the last read before off */
	int err;
	struct pcp_snapshot_read_time zi_before, zi_after; /* the zoneinfo reads (pagesets) */
	int64_t off_begin_ns;   /* CLOCK_MONOTONIC right before tracing goes off */
};

static int snapshot_global(json_t *snap, const char *key, int64_t *v)
{
	json_t *g = json_object_get(json_object_get(json_object_get(snap, "percpu_stats"), "parsed"),
				    "global");
	json_t *x = json_object_get(g, key);

	if (!json_is_integer(x))
		return -1;
	*v = (int64_t)json_integer_value(x);
	return 0;
}

static int take_before(void *ctx)
{
	struct window_snapshots *w = ctx;
	int err;

	json_decref(w->before); /* an earlier attempt's */
	w->before = NULL;
	err = pcp_snapshot_take_ordered(&w->before, PCP_SNAPSHOT_BEFORE_ON, &w->zi_before);
	if (err && !w->err)
		w->err = err;
	return 0;
}

/* Nonzero when a percpu operation happened between the before snapshot and tracing on. */
static int check_on(void *ctx)
{
	struct window_snapshots *w = ctx;
	int64_t a, d, on_ns = pcp_snapshot_mono_ns();

	w->on_attempts++;
	w->on_read = pcp_snapshot_percpu_counts(&w->on_alloc, &w->on_dealloc);
	/* how far the pageset counts are from tracing on: at most the time since their read */
	if (w->before && pcp_snapshot_set_pageset_timing(w->before, w->zi_before.end_ns -
							 w->zi_before.start_ns,
							 on_ns - w->zi_before.end_ns) && !w->err)
		w->err = PCP_ERR_NOMEM;
	if (w->on_read != PCP_OK || !w->before || snapshot_global(w->before, "nr_alloc", &a) ||
	    snapshot_global(w->before, "nr_dealloc", &d))
		return 0; /* nothing to compare with: no verdict, no retry */
	return a != w->on_alloc || d != w->on_dealloc;
}

/* Waits (at most about a second) until percpu_stats stands still for a millisecond, so that
 * tracing goes off outside a burst of other processes' percpu operations; the last read is the
 * one compared with the after snapshot. */
static int quiet_before_off(void *ctx)
{
	struct window_snapshots *w = ctx;
	int64_t a, d;
	int i;

	w->off_read = pcp_snapshot_percpu_counts(&a, &d);
	for (i = 0; w->off_read == PCP_OK && i < 300; i++) {
		struct timespec ts = { 0, 1000 * 1000 + i * 1000 * 10 };

		nanosleep(&ts, NULL);
		w->off_read = pcp_snapshot_percpu_counts(&w->off_alloc, &w->off_dealloc);
		if (w->off_alloc == a && w->off_dealloc == d)
			break;
		a = w->off_alloc;
		d = w->off_dealloc;
	}
	/* the trace then tells which operations after this read it holds (see main) */
	w->marked = w->off_read == PCP_OK && pcp_record_mark_now(w->rec) == 0;
	w->off_begin_ns = pcp_snapshot_mono_ns();
	return 0;
}

static int take_after(void *ctx)
{
	struct window_snapshots *w = ctx;
	int err = pcp_snapshot_take_ordered(&w->after, PCP_SNAPSHOT_AFTER_OFF, &w->zi_after);

	if (!err && pcp_snapshot_set_pageset_timing(w->after, w->zi_after.end_ns -
						    w->zi_after.start_ns,
						    w->zi_after.start_ns - w->off_begin_ns))
		err = PCP_ERR_NOMEM;
	if (err && !w->err)
		w->err = err;
	return 0;
}

/* The workload's own aftermath goes while tracing is on: descendants that were orphaned (we
 * are their subreaper) are reaped, every CPU is visited (see visit_every_cpu), and an RCU grace
 * period passes (membarrier's global command waits for one), so that frees deferred to RCU
 * callbacks are queued before the stop. */
static void settle_workload(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	visit_every_cpu();
	syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* How an x86-tsc recording gets its TSC2NSEC option. */
enum tsc_way { TSC_NO, TSC_PERF, TSC_MEASURE };

/* A clock without a time base gives a trace with no rates (pcpanalyze(1), TIME BASE): refused
 * unless forced. x86-tsc: the kernel's conversion (as trace-cmd), else the TSC rate measured over
 * the recording. 0 = go on; else the exit status. */
static int check_clock(const char *clock, int force, enum tsc_way *way, uint32_t *mult,
		       uint32_t *shift, struct pcp_tsc_sample *start)
{
	char why_perf[160] = "", why_tsc[160] = "";
	const char *why;

	*way = TSC_NO;
	if (clock && !strcmp(clock, "x86-tsc")) {
		if (pcp_tsc2nsec_from_perf(mult, shift, why_perf, sizeof(why_perf)) == PCP_OK)
			*way = TSC_PERF;
		else if (pcp_tsc_sample(start, why_tsc, sizeof(why_tsc)) == PCP_OK)
			*way = TSC_MEASURE;
		else if (!force) {
			fprintf(stderr, "pcprecord: --clock x86-tsc: no TSC-to-ns conversion (%s; %s): "
				"no rates or durations (--force-clock to record anyway)\n", why_perf, why_tsc);
			return pcp_exit_code(PCP_ERR_USAGE);
		}
	} else if (clock && pcp_time_base_of(clock, 0, &why) == PCP_TIME_NONE && !force) {
		fprintf(stderr, "pcprecord: --clock %s: %s: no rates or durations "
			"(--force-clock to record anyway)\n", clock, why);
		return pcp_exit_code(PCP_ERR_USAGE);
	}
	return 0;
}

/* What the command line asks. */
struct options {
	struct pcp_record_opts ro;
	const char *output;
	const char *user;            /* --user: the workload runs as this user */
	const char **extra;          /* -e specs (ro.extra_events) */
	size_t nr_extra;
	double duration;             /* seconds; 0 = until the command exits or a signal */
	int force_clock, force_format, quiet;
	char **cmd;                  /* the workload; NULL = record system-wide */
};

/* One recording, through its steps: options → plan → start → run workload → stop → write.
 * finish() releases what any step left, on every path. */
struct session {
	struct options o;
	char *outdup;                /* o.output's copy that ro.spool_dir points into */
	struct pcp_run_as_user run_as;
	enum tsc_way tsc_way;
	uint32_t tsc_mult, tsc_shift;
	struct pcp_tsc_sample tsc_start;
	struct pcp_record *rec;
	struct window_snapshots snaps;
	json_t *before, *after;      /* the snapshots, once the recording stopped */
	struct timespec t_start, t_stop, m_start, m_stop;
	pid_t pid;
	int go_fd, err_fd;           /* the held workload's "go" pipe and exec-failure pipe */
	int not_started;             /* the workload could not be run: no stop, no output */
	int exit_status, have_status;
	struct pcp_progress *progress;  /* status line and loss notice while recording */
	struct pcp_progress_result progress_result;
	char errbuf[512];
};

/* 0 = go on; else main returns *exit_code. */
static int parse_options(int argc, char **argv, struct options *o, int *exit_code)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "buffer", required_argument, NULL, 'b' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "duration", required_argument, NULL, 'd' },
		{ "clock", required_argument, NULL, 'k' },
		{ "force-clock", no_argument, NULL, 'K' },
		{ "lifecycle", no_argument, NULL, 'l' },
		{ "stacks", optional_argument, NULL, 'S' },
		{ "event", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'F' },
		{ "force-format", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	o->output = "trace.dat";
	*exit_code = pcp_exit_code(PCP_ERR_USAGE);
	while ((opt = getopt_long(argc, argv, "+o:b:C:e:qhV", longopts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'o': o->output = optarg; break;
		case 'b': {
			unsigned long long kb = strtoull(optarg, &end, 10);

			if (*end || kb == 0 || kb > (1ull << 30)) {
				fprintf(stderr, "pcprecord: -b %s: expected a size in KB > 0\n", optarg);
				return -1;
			}
			o->ro.buffer_kb = (size_t)kb;
			break;
		}
		case 'C': o->ro.cpulist = optarg; break;
		case 'F': {
			struct pcp_tdw_params p = { 0 };

			if (pcp_tdw_parse_format(optarg, &p) != PCP_OK) {
				fprintf(stderr, "pcprecord: --format %s: expected v6, v7, v7-zstd or v7-zlib\n", optarg);
				return -1;
			}
			o->ro.file_version = p.file_version;
			o->ro.compression = p.compression;
			break;
		}
		case 'd':
			o->duration = strtod(optarg, &end);
			if (*end || !(o->duration > 0) || o->duration > 1e7) {
				fprintf(stderr, "pcprecord: --duration %s: expected seconds > 0\n",
					optarg);
				return -1;
			}
			break;
		case 'f': o->force_format = 1; break;
		case 'k': o->ro.clock = optarg; break;
		case 'K': o->force_clock = 1; break;
		case 'l': o->ro.lifecycle = 1; break;
		case 'S': {
			unsigned long n = optarg ? strtoul(optarg, &end, 10) : PCPRECORD_STACKS_DEFAULT;

			if ((optarg && (*end || !*optarg)) || n == 0 || n > 65536 || (n & (n - 1))) {
				fprintf(stderr, "pcprecord: --stacks=%s: expected a power of two from 1 "
					"to 65536\n", optarg);
				return -1;
			}
			o->ro.stacks = (unsigned)n;
			break;
		}
		case 'e': {
			const char **n = realloc(o->extra, (o->nr_extra + 1) * sizeof(*o->extra));

			if (!n) {
				*exit_code = pcp_exit_code(PCP_ERR_NOMEM);
				return -1;
			}
			o->extra = n;
			o->extra[o->nr_extra++] = optarg;
			break;
		}
		case 'q': o->quiet = 1; break;
		case 'u': o->user = optarg; break;
		case 'h': usage(stdout); *exit_code = 0; return -1;
		case 'V': printf("pcprecord %s\n", PCPRECORD_VERSION); *exit_code = 0; return -1;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc)
		o->cmd = argv + optind;
	o->ro.extra_events = o->extra;
	o->ro.nr_extra_events = o->nr_extra;
	return 0;
}

/* A file nothing here can read is no recording: v7-zlib where libtracecmd lacks zlib. */
static int check_format_readable(const struct options *o)
{
	if (!o->ro.compression || pcp_record_compression_readable(o->ro.compression))
		return 0;
	if (!o->force_format) {
		fprintf(stderr, "pcprecord: --format v%d-%s: the installed libtracecmd cannot read "
			"%s-compressed trace.dat files (trace-cmd list -c), so neither pcpanalyze nor "
			"trace-cmd here could read the recording; use v7-zstd, or add --force-format\n",
			o->ro.file_version, o->ro.compression, o->ro.compression);
		return pcp_exit_code(PCP_ERR_USAGE);
	}
	fprintf(stderr, "pcprecord: warning: --force-format: writing a %s-compressed v%d file "
		"that the libtracecmd here cannot read\n", o->ro.compression, o->ro.file_version);
	return 0;
}

/* Everything checked before anything is armed (a typo costs nothing): the format, the spool
 * directory, the user, the clock, root and tracefs. 0 = go on, else the exit status. */
static int plan(struct session *s)
{
	int err, code = check_format_readable(&s->o);

	if (code)
		return code;
	s->outdup = strdup(s->o.output);
	if (!s->outdup)
		return pcp_exit_code(PCP_ERR_NOMEM);
	s->o.ro.spool_dir = dirname(s->outdup); /* spool beside the output: same file system, no tmpfs */
	if (s->o.user) {
		err = s->o.cmd ? pcp_run_as_user_prepare(s->o.user, &s->run_as, s->errbuf, sizeof(s->errbuf))
			       : pcp_errorf(s->errbuf, sizeof(s->errbuf), PCP_ERR_USAGE, "--user needs a command");
		if (err != PCP_OK) {
			fprintf(stderr, "pcprecord: %s\n", s->errbuf);
			return pcp_exit_code(err);
		}
	}
	code = check_clock(s->o.ro.clock, s->o.force_clock, &s->tsc_way, &s->tsc_mult, &s->tsc_shift,
			   &s->tsc_start);
	if (code)
		return code;
	err = pcp_record_check_system(s->errbuf, sizeof(s->errbuf));
	if (err != PCP_OK) {
		fprintf(stderr, "pcprecord: %s\n", s->errbuf);
		return pcp_exit_code(err);
	}
	return 0;
}

/* From here on every exit goes through finish(): the instance must not outlive us. */
static void install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_stop_signal;
	sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: waitpid/pause return on a signal */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void print_events(const struct pcp_record *rec, int quiet)
{
	const char *const *names;
	size_t n = pcp_record_missing_events(rec, &names), k;

	if (quiet)
		return;
	if (n) {
		fprintf(stderr, "pcprecord: not on this kernel:");
		for (k = 0; k < n; k++)
			fprintf(stderr, "%s %s", k ? "," : "", names[k]);
		fprintf(stderr, "\n");
	}
	n = pcp_record_enabled_events(rec, &names);
	fprintf(stderr, "pcprecord: instance %s, clock %s, %zu KB/CPU, refills: %s; "
		"events:", pcp_record_instance_name(rec), pcp_record_clock(rec),
		pcp_record_buffer_kb(rec), pcp_record_refill_source(rec));
	for (k = 0; k < n; k++)
		fprintf(stderr, " %s", names[k]);
	fprintf(stderr, "\n");
}

/* The instance, set up with tracing off (instances of killed recorders removed first). */
static int create_recorder(struct session *s)
{
	int err;

	if (pcp_record_remove_stale_instances() > 0 && !s->o.quiet)
		fprintf(stderr, "pcprecord: removed tracefs instances left by killed recorders\n");
	err = pcp_record_create(&s->o.ro, &s->rec, s->errbuf, sizeof(s->errbuf));
	if (err != PCP_OK) {
		fprintf(stderr, "pcprecord: %s\n", s->errbuf);
		return err;
	}
	print_events(s->rec, s->o.quiet);
	return PCP_OK;
}

/* The command, forked and held before exec until tracing is on. */
static int spawn_workload(struct session *s)
{
	sigset_t block, old;

	/* a signal between fork and child_pid must still reach the held child */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	/* orphans of the workload come to us, to be reaped before the stop */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	s->pid = spawn_held(s->o.cmd, s->o.user ? &s->run_as : NULL, &s->go_fd, &s->err_fd);
	if (s->pid > 0)
		child_pid = s->pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (s->pid < 0) {
		fprintf(stderr, "pcprecord: cannot start %s: %s\n", s->o.cmd[0], strerror(errno));
		return PCP_ERR_EXEC;
	}
	return PCP_OK;
}

/* The status line on a terminal (not with -q), and the loss notice on any stderr: best effort. */
static void start_progress(struct session *s)
{
	const struct pcp_progress_opts po = {
		.out = stderr, .status_line = !s->o.quiet && isatty(STDERR_FILENO),
		.color = isatty(STDERR_FILENO) && !getenv("NO_COLOR"), .interval_s = 1.0,
		.start = s->m_start,
	};

	if (pcp_progress_start(s->rec, &po, &s->progress) != PCP_OK && !s->o.quiet)
		fprintf(stderr, "pcprecord: warning: no progress line or loss notice (no thread)\n");
}

/* Tracing on, between the before snapshot and the readers; the --duration timer armed. */
static int start_recording(struct session *s)
{
	/* Snapshots hug the traced window: taken by the recorder right before tracing goes on and
	 * right after it goes off, with percpu_stats read next to the switch and again on its
	 * other side (see struct window_snapshots), so that percpu_stats deltas count the traced
	 * allocations only and pcpanalyze's consistency check can hold, or is told it cannot. */
	const struct pcp_record_hooks hooks = { take_before, check_on, quiet_before_off,
						 take_after };
	int err;

	s->snaps.rec = s->rec;
	pcp_record_set_hooks(s->rec, &hooks, &s->snaps);
	clock_gettime(CLOCK_REALTIME, &s->t_start);
	clock_gettime(CLOCK_MONOTONIC, &s->m_start);
	if (s->tsc_way == TSC_MEASURE)   /* the rate is measured over the traced window */
		pcp_tsc_sample(&s->tsc_start, NULL, 0);
	err = pcp_record_start(s->rec, s->errbuf, sizeof(s->errbuf));
	if (err != PCP_OK) {
		fprintf(stderr, "pcprecord: %s\n", s->errbuf);
		return err;
	}
	if (s->o.duration > 0) {
		double d = s->o.duration;
		struct itimerval it = { { 0, 0 }, { (time_t)d,
						     (suseconds_t)((d - (double)(time_t)d) * 1e6) } };

		if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
			it.it_value.tv_usec = 1;
		setitimer(ITIMER_REAL, &it, NULL);
	}
	start_progress(s);
	return PCP_OK;
}

/* Lets the held command exec and waits for it. An exec that failed sets s->not_started. */
static int run_command(struct session *s)
{
	struct pcp_exec_failure e = { 0, 0 };
	int err = PCP_OK, status = 0;
	ssize_t n;
	char b = 1;

	if (write(s->go_fd, &b, 1) != 1) {
		/* the child died before exec (e.g. a signal): waitpid tells */
	}
	close(s->go_fd);
	s->go_fd = -1;
	do
		n = read(s->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(s->err_fd);
	s->err_fd = -1;
	if (n == (ssize_t)sizeof(e)) {
		if (e.step == PCP_EXEC_STEP_EXEC)
			fprintf(stderr, "pcprecord: cannot run %s: %s\n", s->o.cmd[0], strerror(e.err));
		else /* the command was not started: never as root by mistake */
			fprintf(stderr, "pcprecord: cannot run %s as user %s: %s: %s\n", s->o.cmd[0],
				s->run_as.name, pcp_exec_step_name(e.step), strerror(e.err));
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
		child_pid = 0;
		s->not_started = 1;
		/* the shell's convention: 127 not found, 126 found but cannot run */
		return e.step == PCP_EXEC_STEP_EXEC && e.err == ENOENT ? PCP_ERR_EXEC_NOT_FOUND : PCP_ERR_EXEC;
	}
	while (waitpid(s->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "pcprecord: waitpid: %s\n", strerror(errno));
			err = PCP_ERR_INTERNAL;
			break;
		}
	}
	child_pid = 0;
	if (err == PCP_OK) {
		s->have_status = 1;
		s->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	return err;
}

/* Without a command: until a signal or --duration. */
static void wait_for_stop(const struct options *o)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!o->quiet)
		fprintf(stderr, "pcprecord: recording%s; Ctrl-C stops\n",
			o->duration > 0 ? " for the given duration" : "");
	while (!stop_signal && !deadline_hit)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static int run_workload(struct session *s)
{
	if (s->o.cmd)
		return run_command(s);
	wait_for_stop(&s->o);
	return PCP_OK;
}

/* The measured TSC rate, when x86-tsc had no kernel conversion. */
static void calibrate_tsc(struct session *s)
{
	struct pcp_tsc_sample tsc_stop;
	char why[160];

	if (s->tsc_way == TSC_MEASURE &&
	    (pcp_tsc_sample(&tsc_stop, why, sizeof(why)) != PCP_OK ||
	     pcp_tsc2nsec_calibrate(&s->tsc_start, &tsc_stop, &s->tsc_mult, &s->tsc_shift, why,
				    sizeof(why)) != PCP_OK)) {
		fprintf(stderr, "pcprecord: warning: x86-tsc: %s: the trace has no time base\n", why);
		s->tsc_way = TSC_NO;
	}
	if (s->tsc_way != TSC_NO)
		pcp_record_set_tsc2nsec(s->rec, s->tsc_mult, s->tsc_shift,
					s->tsc_way == TSC_PERF ? "perf" : "calibrated");
}

/* The snapshots learn how tracing went on and off (pcp_snapshot_mark_switch). */
static int mark_snapshot_switches(struct pcp_record *rec, const struct window_snapshots *w, int err)
{
	const struct window_snapshots snaps = *w;

	{
		/* Operations between the last read before off and tracing off are in the trace,
		 * after the mark: the counters as of the switch are that read plus them. Any
		 * operation after off (or before the mark) then shows as a difference. */
		uint64_t traced_allocs = 0, traced_frees = 0;

		if (!snaps.marked ||
		    pcp_record_count_since_mark(rec, "percpu:percpu_alloc_percpu", &traced_allocs) ||
		    pcp_record_count_since_mark(rec, "percpu:percpu_free_percpu", &traced_frees))
			traced_allocs = traced_frees = 0;
		json_t *sw;

		if (err == PCP_OK && snaps.before && snaps.after &&
		    (pcp_snapshot_mark_switch(snaps.before, "went on", snaps.on_read == PCP_OK,
					      snaps.on_alloc, snaps.on_dealloc, snaps.on_attempts) ||
		     pcp_snapshot_mark_switch(snaps.after, "went off", snaps.off_read == PCP_OK,
					      snaps.off_alloc + (int64_t)traced_allocs,
					      snaps.off_dealloc + (int64_t)traced_frees, 1) ||
		     ((sw = json_object_get(json_object_get(snaps.after, "percpu_stats"),
					    "tracing_switch")) &&
		      json_object_set_new(sw, "traced_after_read",
					  json_pack("{s:I,s:I}", "allocs", (json_int_t)traced_allocs,
						    "frees", (json_int_t)traced_frees))))) {
			err = PCP_ERR_NOMEM;
			fprintf(stderr, "pcprecord: snapshot: %s\n", pcp_strerror(err));
		}
	}
	return err;
}

/* Timer off, the workload's aftermath traced, tracing off, everything read and counted, the
 * snapshots completed, the instance removed. err: the run's error so far (kept if set). */
static int stop_recording(struct session *s, int err)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	int stop_err;

	pcp_progress_finish(s->progress, &s->progress_result);
	s->progress = NULL;
	setitimer(ITIMER_REAL, &off, NULL);
	clock_gettime(CLOCK_REALTIME, &s->t_stop);
	clock_gettime(CLOCK_MONOTONIC, &s->m_stop);
	calibrate_tsc(s);
	settle_workload();
	stop_err = pcp_record_stop(s->rec, s->errbuf, sizeof(s->errbuf));
	if (stop_err != PCP_OK) {
		fprintf(stderr, "pcprecord: %s\n", s->errbuf);
		if (err == PCP_OK)
			err = stop_err;
	}
	if (err == PCP_OK && (err = s->snaps.err) != PCP_OK)
		fprintf(stderr, "pcprecord: snapshot: %s\n", pcp_strerror(err));
	err = mark_snapshot_switches(s->rec, &s->snaps, err);
	s->before = s->snaps.before;
	s->after = s->snaps.after;
	s->snaps.before = s->snaps.after = NULL;
	pcp_record_remove_instance(s->rec);
	return err;
}

/* A lossy recording's last lines: whether the loss lasted the whole run, then the per-CPU buffer
 * that would have kept the lost events (pcprecord(1), LOST EVENTS). */
static void print_buffer_advice(const struct pcp_record *rec, double secs,
				const struct pcp_progress_result *pr)
{
	struct pcp_advice_cpu cpus[CPU_SETSIZE];
	struct pcp_buffer_advice a;
	const struct pcp_record_cpu *rc = pcp_record_cpus(rec, &(int){ 0 });
	int nr = pcp_record_nr_cpus(rec), i;
	char line[512];

	if (nr > CPU_SETSIZE)
		nr = CPU_SETSIZE;
	for (i = 0; i < nr; i++)
		cpus[i] = (struct pcp_advice_cpu){
			rc[i].events, rc[i].bytes, rc[i].overrun + rc[i].commit_overrun + rc[i].dropped,
			i < pr->nr_cpus ? pr->sampled_lost[i] : 0, i < pr->nr_cpus ? pr->peak_lost[i] : 0 };
	if (!pcp_progress_advise(pcp_record_buffer_kb(rec), cpus, nr, secs, &a))
		return;
	if (a.defined && pcp_progress_loss_sustained(pr->lossy_samples, pr->samples))
		fprintf(stderr, "pcprecord: events were lost in %u of %u one-second samples: if the "
			"reader did not merely wake late but could not keep up, only -b %llu (the whole "
			"run's loss) holds a run this long, a longer one more; fewer events (-C, "
			"without --lifecycle) help either way\n", pr->lossy_samples, pr->samples,
			(unsigned long long)a.need_run_kb);
	pcp_progress_format_advice(line, sizeof(line), pcp_record_buffer_kb(rec), &a);
	fprintf(stderr, "%s\n", line);
}

/* FILE.meta.json (pcprecord(1), META FILE), then the summary. */
static int write_meta(const struct session *s, int argc, char **argv)
{
	const char *output = s->o.output, *user = s->o.user;
	const struct pcp_run_as_user run_as = s->run_as;
	struct timespec t_start = s->t_start, t_stop = s->t_stop;
	struct timespec m_start = s->m_start, m_stop = s->m_stop;
	int have_status = s->have_status, exit_status = s->exit_status, quiet = s->o.quiet, err;
	json_t *before = s->before, *after = s->after, *desc;
	struct pcp_record *rec = s->rec;
	char **cmd = s->o.cmd;
	char errbuf[512];

	{
		char t0[40], t1[40];
		double secs = (double)(m_stop.tv_sec - m_start.tv_sec) +
			      (double)(m_stop.tv_nsec - m_start.tv_nsec) / 1e9;
		const char *reason = deadline_hit ? "duration elapsed"
				     : stop_signal ? "signal"
						   : "command exited";

		iso_time(&t_start, t0, sizeof(t0));
		iso_time(&t_stop, t1, sizeof(t1));
		desc = pcp_record_describe(rec);
		struct pcp_meta_recording_run run = {
			.tool = "pcprecord " PCPRECORD_VERSION, .trace_file = output,
			.argc = argc, .argv = argv, .workload_argc = cmd ? argc - optind : -1,
			.workload = cmd, .start_time = t0, .stop_time = t1, .duration_s = secs,
			.stop_reason = reason, .have_status = have_status, .exit_status = exit_status,
			.user_name = user ? run_as.name : NULL, .user_uid = run_as.uid,
			.user_gid = run_as.gid, .recording = desc, .before = before, .after = after,
		};
		err = pcp_meta_write_recording(output, &run, errbuf, sizeof(errbuf));
		json_decref(desc);
		if (err != PCP_OK) {
			fprintf(stderr, "pcprecord: %s.meta.json: %s\n", output, errbuf);
			goto out;
		}
		print_summary(rec, secs, quiet);
		if (!quiet)
			fprintf(stderr, "pcprecord: wrote %s and %s.meta.json\n", output, output);
		print_buffer_advice(rec, secs, &s->progress_result);
	}
out:
	return err;
}

/* The trace.dat, then its meta file. */
static int write_outputs(struct session *s, int argc, char **argv)
{
	int err = pcp_record_write_trace(s->rec, s->o.output, s->errbuf, sizeof(s->errbuf));

	if (err != PCP_OK) {
		fprintf(stderr, "pcprecord: %s: %s\n", s->o.output, s->errbuf);
		return err;
	}
	return write_meta(s, argc, argv);
}

/* A stop signal before tracing went on: nothing recorded, the signal's status. */
static void interrupted_before_start(struct session *s)
{
	fprintf(stderr, "pcprecord: interrupted before recording started; nothing written\n");
	s->exit_status = 128 + stop_signal;
	s->have_status = 1;
}

/* Releases everything (a held child sees EOF and exits without running; the instance is
 * removed if an error left it) and gives the exit status. */
static int finish(struct session *s, int err)
{
	pcp_progress_finish(s->progress, NULL); /* before the instance goes */
	pcp_progress_result_release(&s->progress_result);
	if (s->go_fd >= 0)
		close(s->go_fd);
	if (s->err_fd >= 0)
		close(s->err_fd);
	if (child_pid > 0) {
		while (waitpid(child_pid, NULL, 0) < 0 && errno == EINTR)
			;
		child_pid = 0;
	}
	pcp_record_destroy(s->rec);
	json_decref(s->before);
	json_decref(s->after);
	json_decref(s->snaps.before);
	json_decref(s->snaps.after);
	free(s->o.extra);
	free(s->outdup);
	pcp_run_as_user_release(&s->run_as);
	if (err != PCP_OK)
		return pcp_exit_code(err);
	return s->have_status ? s->exit_status : 0;
}

int main(int argc, char **argv)
{
	struct session s = { .pid = -1, .go_fd = -1, .err_fd = -1, .snaps = { .err = PCP_OK } };
	int code, err;

	if (parse_options(argc, argv, &s.o, &code) || (code = plan(&s))) {
		finish(&s, PCP_OK);
		return code;
	}
	install_signal_handlers();
	err = create_recorder(&s);
	if (err == PCP_OK && !stop_signal && s.o.cmd)
		err = spawn_workload(&s);
	if (err == PCP_OK && stop_signal) {
		interrupted_before_start(&s);
		return finish(&s, PCP_OK);
	}
	if (err == PCP_OK)
		err = start_recording(&s);
	if (err == PCP_OK) {
		err = run_workload(&s);
		if (!s.not_started)
			err = stop_recording(&s, err);
	}
	if (err == PCP_OK)
		err = write_outputs(&s, argc, argv);
	return finish(&s, err);
}
