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
#include "record/record.h"
#include "record/run_as_user.h"
#include "tracedat/tracedat.h"
#include "record/snapshot.h"
#include "tracedat/time_base.h"
#include "tracedat/tsc2nsec.h"

#define PCPRECORD_VERSION "0.1.0"

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
		"                 [--force-clock] [--lifecycle] [-e SYSTEM:EVENT]...\n"
		"                 [--format FMT [--force-format]] [-q] [--user USER] [-- COMMAND [ARG]...]\n"
		"  -o, --output FILE     trace.dat to write (default trace.dat) and FILE.meta.json\n"
		"      --format FMT      trace.dat format: v6 (default), v7, v7-zstd (zstd-compressed)\n"
		"                        or v7-zlib (zlib-compressed: refused where libtracecmd lacks\n"
		"                        zlib, as pcpanalyze could not read it)\n"
		"      --force-format    write such a format anyway (with a warning)\n"
		"  -b, --buffer KB       ring buffer size per CPU (default: the kernel's)\n"
		"  -C, --cpus CPULIST    record only these CPUs, e.g. 0-3,6\n"
		"      --duration S      stop after S seconds (the command, if any, gets SIGINT)\n"
		"      --clock CLOCK     trace clock (default: the instance's, normally local); x86-tsc\n"
		"                        gets a TSC2NSEC option; a clock with no time base (counter,\n"
		"                        uptime) is refused\n"
		"      --force-clock     record with such a clock anyway (no rates in the analysis)\n"
		"      --lifecycle       also kmem:mm_page_alloc and kmem:mm_page_free\n"
		"  -e, --event SYS:EVENT also this event (SYS:* for a whole system); repeatable\n"
		"      --user USER       run the command as USER (uid, groups, HOME...), not root\n"
		"  -q, --quiet           only warnings, lost events and errors\n"
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

static json_t *argv_json(int argc, char **argv)
{
	json_t *a = json_array();
	int i;

	for (i = 0; a && i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	return a;
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
	err = pcp_snapshot_take_ordered(&w->before, PCP_SNAPSHOT_PERCPU_STATS_LAST);
	if (err && !w->err)
		w->err = err;
	return 0;
}

/* Nonzero when a percpu operation happened between the before snapshot and tracing on. */
static int check_on(void *ctx)
{
	struct window_snapshots *w = ctx;
	int64_t a, d;

	w->on_attempts++;
	w->on_read = pcp_snapshot_percpu_counts(&w->on_alloc, &w->on_dealloc);
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
	return 0;
}

static int take_after(void *ctx)
{
	struct window_snapshots *w = ctx;
	int err = pcp_snapshot_take_ordered(&w->after, PCP_SNAPSHOT_PERCPU_STATS_FIRST);

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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "buffer", required_argument, NULL, 'b' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "duration", required_argument, NULL, 'd' },
		{ "clock", required_argument, NULL, 'k' },
		{ "force-clock", no_argument, NULL, 'K' },
		{ "lifecycle", no_argument, NULL, 'l' },
		{ "event", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'F' },
		{ "force-format", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct pcp_record_opts ro = { 0 };
	struct pcp_run_as_user run_as = { 0 };
	const char *user = NULL;
	const char *output = "trace.dat", **extra = NULL;
	size_t nr_extra = 0;
	double duration = 0;
	enum tsc_way tsc_way = TSC_NO;
	uint32_t tsc_mult = 0, tsc_shift = 0;
	struct pcp_tsc_sample tsc_start = { 0, 0 }, tsc_stop;
	int force_clock = 0;
	int quiet = 0, opt, err, exit_status = 0, have_status = 0, status = 0, force_format = 0;
	char errbuf[512], *outdup;
	struct pcp_record *rec = NULL;
	json_t *before = NULL, *after = NULL, *meta = NULL, *desc;
	struct window_snapshots snaps = { .err = PCP_OK };
	struct timespec t_start, t_stop, m_start, m_stop;
	struct sigaction sa;
	char **cmd = NULL;
	pid_t pid = -1;
	int go_fd = -1, err_fd = -1;

	while ((opt = getopt_long(argc, argv, "+o:b:C:e:qhV", longopts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'o': output = optarg; break;
		case 'b': {
			unsigned long long kb = strtoull(optarg, &end, 10);

			if (*end || kb == 0 || kb > (1ull << 30)) {
				fprintf(stderr, "pcprecord: -b %s: expected a size in KB > 0\n", optarg);
				free(extra);
				return pcp_exit_code(PCP_ERR_USAGE);
			}
			ro.buffer_kb = (size_t)kb;
			break;
		}
		case 'C': ro.cpulist = optarg; break;
		case 'F': {
			struct pcp_tdw_params p = { 0 };

			if (pcp_tdw_parse_format(optarg, &p) != PCP_OK) {
				fprintf(stderr, "pcprecord: --format %s: expected v6, v7, v7-zstd or v7-zlib\n", optarg);
				free(extra);
				return pcp_exit_code(PCP_ERR_USAGE);
			}
			ro.file_version = p.file_version;
			ro.compression = p.compression;
			break;
		}
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || !(duration > 0) || duration > 1e7) {
				fprintf(stderr, "pcprecord: --duration %s: expected seconds > 0\n",
					optarg);
				free(extra);
				return pcp_exit_code(PCP_ERR_USAGE);
			}
			break;
		case 'f': force_format = 1; break;
		case 'k': ro.clock = optarg; break;
		case 'K': force_clock = 1; break;
		case 'l': ro.lifecycle = 1; break;
		case 'e': {
			const char **n = realloc(extra, (nr_extra + 1) * sizeof(*extra));

			if (!n)
				return pcp_exit_code(PCP_ERR_NOMEM);
			extra = n;
			extra[nr_extra++] = optarg;
			break;
		}
		case 'q': quiet = 1; break;
		case 'u': user = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("pcprecord %s\n", PCPRECORD_VERSION); return 0;
		default: usage(stderr); free(extra); return pcp_exit_code(PCP_ERR_USAGE);
		}
	}
	if (optind < argc)
		cmd = argv + optind;
	/* A file nothing here can read is no recording: v7-zlib where libtracecmd lacks zlib. */
	if (ro.compression && !pcp_record_compression_readable(ro.compression)) {
		if (!force_format) {
			fprintf(stderr, "pcprecord: --format v%d-%s: the installed libtracecmd cannot read "
				"%s-compressed trace.dat files (trace-cmd list -c), so neither pcpanalyze nor "
				"trace-cmd here could read the recording; use v7-zstd, or add --force-format\n",
				ro.file_version, ro.compression, ro.compression);
			free(extra);
			return pcp_exit_code(PCP_ERR_USAGE);
		}
		fprintf(stderr, "pcprecord: warning: --force-format: writing a %s-compressed v%d file "
			"that the libtracecmd here cannot read\n", ro.compression, ro.file_version);
	}
	ro.extra_events = extra;
	ro.nr_extra_events = nr_extra;
	outdup = strdup(output);
	if (!outdup) {
		free(extra);
		return pcp_exit_code(PCP_ERR_NOMEM);
	}
	ro.spool_dir = dirname(outdup); /* spool beside the output: same file system, no tmpfs */
	if (user) { /* looked up before anything is armed: a typo costs nothing */
		err = cmd ? pcp_run_as_user_prepare(user, &run_as, errbuf, sizeof(errbuf))
			  : pcp_errorf(errbuf, sizeof(errbuf), PCP_ERR_USAGE, "--user needs a command");
		if (err != PCP_OK) {
			fprintf(stderr, "pcprecord: %s\n", errbuf);
			free(outdup);
			free(extra);
			return pcp_exit_code(err);
		}
	}

	if ((err = check_clock(ro.clock, force_clock, &tsc_way, &tsc_mult, &tsc_shift, &tsc_start)))
		return err;
	err = pcp_record_check_system(errbuf, sizeof(errbuf));
	if (err != PCP_OK) {
		fprintf(stderr, "pcprecord: %s\n", errbuf);
		free(extra);
		free(outdup);
		return pcp_exit_code(err);
	}

	/* From here on every exit goes through cleanup: the instance must not outlive us. */
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

	if (pcp_record_remove_stale_instances() > 0 && !quiet)
		fprintf(stderr, "pcprecord: removed tracefs instances left by killed recorders\n");

	err = pcp_record_create(&ro, &rec, errbuf, sizeof(errbuf));
	if (err != PCP_OK) {
		fprintf(stderr, "pcprecord: %s\n", errbuf);
		goto out;
	}
	{
		const char *const *names;
		size_t n = pcp_record_missing_events(rec, &names), k;

		if (n && !quiet) {
			fprintf(stderr, "pcprecord: not on this kernel:");
			for (k = 0; k < n; k++)
				fprintf(stderr, "%s %s", k ? "," : "", names[k]);
			fprintf(stderr, "\n");
		}
		if (!quiet) {
			n = pcp_record_enabled_events(rec, &names);
			fprintf(stderr, "pcprecord: instance %s, clock %s, %zu KB/CPU, refills: %s; "
				"events:", pcp_record_instance_name(rec), pcp_record_clock(rec),
				pcp_record_buffer_kb(rec), pcp_record_refill_source(rec));
			for (k = 0; k < n; k++)
				fprintf(stderr, " %s", names[k]);
			fprintf(stderr, "\n");
		}
	}
	if (stop_signal)
		goto interrupted_before_start;

	if (cmd) {
		sigset_t block, old;

		/* a signal between fork and child_pid must still reach the held child */
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGHUP);
		sigprocmask(SIG_BLOCK, &block, &old);
		/* orphans of the workload come to us, to be reaped before the stop */
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		pid = spawn_held(cmd, user ? &run_as : NULL, &go_fd, &err_fd);
		if (pid > 0)
			child_pid = pid;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (pid < 0) {
			fprintf(stderr, "pcprecord: cannot start %s: %s\n", cmd[0], strerror(errno));
			err = PCP_ERR_EXEC;
			goto out;
		}
		if (stop_signal)
			goto interrupted_before_start;
	}
	/* Snapshots hug the traced window: taken by the recorder right before tracing goes on and
	 * right after it goes off, with percpu_stats read next to the switch and again on its
	 * other side (see struct window_snapshots), so that percpu_stats deltas count the traced
	 * allocations only and pcpanalyze's consistency check can hold, or is told it cannot. */
	{
		const struct pcp_record_hooks hooks = { take_before, check_on, quiet_before_off,
							 take_after };

		snaps.rec = rec;
		pcp_record_set_hooks(rec, &hooks, &snaps);
	}
	clock_gettime(CLOCK_REALTIME, &t_start);
	clock_gettime(CLOCK_MONOTONIC, &m_start);
	if (tsc_way == TSC_MEASURE)   /* the rate is measured over the traced window */
		pcp_tsc_sample(&tsc_start, NULL, 0);
	err = pcp_record_start(rec, errbuf, sizeof(errbuf));
	if (err != PCP_OK) {
		fprintf(stderr, "pcprecord: %s\n", errbuf);
		goto out;
	}
	if (duration > 0) {
		struct itimerval it = { { 0, 0 }, { (time_t)duration,
						     (suseconds_t)((duration - (double)(time_t)duration) *
								   1e6) } };

		if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
			it.it_value.tv_usec = 1;
		setitimer(ITIMER_REAL, &it, NULL);
	}
	if (cmd) {
		struct pcp_exec_failure e = { 0, 0 };
		ssize_t n;
		char b = 1;

		if (write(go_fd, &b, 1) != 1) {
			/* the child died before exec (e.g. a signal): waitpid tells */
		}
		close(go_fd);
		go_fd = -1;
		do
			n = read(err_fd, &e, sizeof(e));
		while (n < 0 && errno == EINTR);
		close(err_fd);
		err_fd = -1;
		if (n == (ssize_t)sizeof(e)) {
			if (e.step == PCP_EXEC_STEP_EXEC)
				fprintf(stderr, "pcprecord: cannot run %s: %s\n", cmd[0], strerror(e.err));
			else /* the command was not started: never as root by mistake */
				fprintf(stderr, "pcprecord: cannot run %s as user %s: %s: %s\n", cmd[0],
					run_as.name, pcp_exec_step_name(e.step), strerror(e.err));
			/* the shell's convention: 127 not found, 126 found but cannot run */
			err = e.step == PCP_EXEC_STEP_EXEC && e.err == ENOENT ? PCP_ERR_EXEC_NOT_FOUND : PCP_ERR_EXEC;
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			child_pid = 0;
			goto out;
		}
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "pcprecord: waitpid: %s\n", strerror(errno));
				err = PCP_ERR_INTERNAL;
				break;
			}
		}
		child_pid = 0;
		if (err == PCP_OK) {
			have_status = 1;
			exit_status = WIFEXITED(status) ? WEXITSTATUS(status)
							 : 128 + WTERMSIG(status);
		}
	} else {
		sigset_t block, old;

		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGHUP);
		sigaddset(&block, SIGALRM);
		sigprocmask(SIG_BLOCK, &block, &old);
		if (!quiet)
			fprintf(stderr, "pcprecord: recording%s; Ctrl-C stops\n",
				duration > 0 ? " for the given duration" : "");
		while (!stop_signal && !deadline_hit)
			sigsuspend(&old);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	{
		struct itimerval off = { { 0, 0 }, { 0, 0 } };

		setitimer(ITIMER_REAL, &off, NULL);
	}
	clock_gettime(CLOCK_REALTIME, &t_stop);
	clock_gettime(CLOCK_MONOTONIC, &m_stop);
	if (tsc_way == TSC_MEASURE) {
		char why[160];

		if (pcp_tsc_sample(&tsc_stop, why, sizeof(why)) != PCP_OK ||
		    pcp_tsc2nsec_calibrate(&tsc_start, &tsc_stop, &tsc_mult, &tsc_shift, why,
					   sizeof(why)) != PCP_OK) {
			fprintf(stderr, "pcprecord: warning: x86-tsc: %s: the trace has no time base\n", why);
			tsc_way = TSC_NO;
		}
	}
	if (tsc_way != TSC_NO)
		pcp_record_set_tsc2nsec(rec, tsc_mult, tsc_shift, tsc_way == TSC_PERF ? "perf" : "calibrated");
	settle_workload();
	{
		int stop_err = pcp_record_stop(rec, errbuf, sizeof(errbuf));

		if (stop_err != PCP_OK) {
			fprintf(stderr, "pcprecord: %s\n", errbuf);
			if (err == PCP_OK)
				err = stop_err;
		}
	}
	if (err == PCP_OK && (err = snaps.err) != PCP_OK)
		fprintf(stderr, "pcprecord: snapshot: %s\n", pcp_strerror(err));
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
	before = snaps.before;
	after = snaps.after;
	snaps.before = snaps.after = NULL;
	pcp_record_remove_instance(rec);
	if (err != PCP_OK)
		goto out;
	err = pcp_record_write_trace(rec, output, errbuf, sizeof(errbuf));
	if (err != PCP_OK) {
		fprintf(stderr, "pcprecord: %s: %s\n", output, errbuf);
		goto out;
	}
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
		meta = json_pack("{s:s,s:i,s:s,s:s,s:o,s:o}", "format", "pcptrace-meta", "version", 1,
				 "tool", "pcprecord " PCPRECORD_VERSION, "trace_file", output,
				 "command_line", argv_json(argc, argv),
				 "workload", cmd ? argv_json(argc - optind, cmd) : json_null());
		if (!meta || !desc || pcp_snapshot_add_system(meta) != PCP_OK ||
		    json_object_set_new(meta, "start_time", json_string(t0)) ||
		    json_object_set_new(meta, "stop_time", json_string(t1)) ||
		    json_object_set_new(meta, "duration_s", json_real(secs)) ||
		    json_object_set_new(meta, "stop_reason", json_string(reason)) ||
		    json_object_set_new(meta, "exit_status",
					have_status ? json_integer(exit_status) : json_null()) ||
		    json_object_set_new(meta, "workload_user",
					user ? json_pack("{s:s,s:I,s:I}", "name", run_as.name, "uid",
							 (json_int_t)run_as.uid, "gid",
							 (json_int_t)run_as.gid)
					     : json_null()) ||
		    json_object_set_new(meta, "recording", desc) ||
		    json_object_set_new(meta, "snapshots",
					json_pack("{s:O,s:O}", "before", before, "after", after))) {
			err = PCP_ERR_NOMEM;
			fprintf(stderr, "pcprecord: %s\n", pcp_strerror(err));
			goto out;
		}
		err = pcp_snapshot_write_meta(output, meta, errbuf, sizeof(errbuf));
		if (err != PCP_OK) {
			fprintf(stderr, "pcprecord: %s.meta.json: %s\n", output, errbuf);
			goto out;
		}
		print_summary(rec, secs, quiet);
		if (!quiet)
			fprintf(stderr, "pcprecord: wrote %s and %s.meta.json\n", output, output);
	}
	goto out;

interrupted_before_start:
	fprintf(stderr, "pcprecord: interrupted before recording started; nothing written\n");
	exit_status = 128 + stop_signal;
	have_status = 1;
out:
	if (go_fd >= 0)
		close(go_fd); /* a held child sees EOF and exits without running */
	if (err_fd >= 0)
		close(err_fd);
	if (child_pid > 0) {
		while (waitpid(child_pid, NULL, 0) < 0 && errno == EINTR)
			;
		child_pid = 0;
	}
	pcp_record_destroy(rec); /* removes the instance if an error left it */
	json_decref(before);
	json_decref(after);
	json_decref(snaps.before);
	json_decref(snaps.after);
	json_decref(meta);
	free(extra);
	free(outdup);
	pcp_run_as_user_release(&run_as);
	if (err != PCP_OK)
		return pcp_exit_code(err);
	return have_status ? exit_status : 0;
}
