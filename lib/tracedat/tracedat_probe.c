/* A test parse of a trace.dat's headers in a child process, before libtracecmd parses them in
 * ours.
 *
 * Why: libtraceevent 1.7.1's event-format parser crashes on some damaged formats that are still
 * plain text. A bit flipped inside a zstd-compressed v7 formats section can decompress cleanly
 * into a print fmt like `((unsigned long)(REC->ew_setting;))`, and tep_parse_event() then reads
 * through a NULL pointer. Our own checks (trace_reader.c) refuse what they can name, but they
 * cannot foresee every parser bug of another library. So the headers (formats, kallsyms,
 * printk, cmdlines) are parsed once by tracecmd_open_head() in a child: a child that dies or
 * does not finish in time makes the file damaged (PCP_ERR_CORRUPT), and only a file whose
 * headers a child parsed to the end reaches libtracecmd in this process. The cost is one more
 * header parse per trace (a few ms to tens of ms), not per record. Where the reader hands
 * libtracecmd a copy of the headers without kallsyms (kallsyms_lazy.c), the child parses that
 * copy: the same bytes, and the kallsyms text is parsed later by our own code, not libtraceevent. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <trace-cmd/trace-cmd.h>
#include "common/error.h"
#include "tracedat/trace_reader.h"
#include "tracedat/tracedat_probe.h"

/* Built with a sanitizer (the fuzz and ASan builds), this exists; elsewhere it is NULL. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* The child's limits. CPU time, not wall time: on a loaded machine (load 20 on 2 cores, an
 * ASan build) a sound file's header parse took 25-29 s of wall time for a few s of CPU, and a
 * wall-clock limit then called a sound file damaged. Real files need well under 1 s of CPU (a
 * whole valgrind run of a 5.7 MB pcprecord trace with its kallsyms takes 11 s); a parser caught
 * in a loop spends CPU and meets PROBE_CPU_SECONDS. The wall-clock alarm is only a backstop
 * for a child that waits without spending CPU. */
#define PROBE_CPU_SECONDS 20   /* below the fuzz harness's 30 s per input */
#define PROBE_WALL_SECONDS 900

/* The answers of pcp_tracedat_probe_ahead(), until pcp_tracedat_probe_forget(). A file is the
 * same file while its device, inode, size and modification time are. */
struct probe_answer {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int copy;                  /* 1: the answer for its header copy without kallsyms */
	int err;
	char reason[200];
};

static pthread_mutex_t answers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct probe_answer *answers;
static size_t nr_answers;
static int threads_may_run;        /* from the end of probe_ahead to probe_forget: no fork */

static int same_file(const struct probe_answer *a, const struct stat *st)
{
	return a->dev == st->st_dev && a->ino == st->st_ino && a->size == st->st_size &&
	       a->mtime.tv_sec == st->st_mtim.tv_sec && a->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* 1 and the remembered answer when there is one for this file, else 0. */
static int remembered(const char *path, int copy, int *err, char *errbuf, size_t errlen)
{
	struct stat st;
	int found = 0;

	if (stat(path, &st))
		return 0;
	pthread_mutex_lock(&answers_lock);
	for (size_t i = 0; i < nr_answers && !found; i++) {
		if (!same_file(&answers[i], &st) || answers[i].copy != copy)
			continue;
		found = 1;
		*err = answers[i].err;
		if (*err)
			pcp_errorf(errbuf, errlen, *err, "%s", answers[i].reason);
	}
	pthread_mutex_unlock(&answers_lock);
	return found;
}

static pid_t probe_start(const char *path);
static int probe_wait(pid_t pid, char *errbuf, size_t errlen);

static int probe_in_child(const char *path, char *errbuf, size_t errlen)
{
	return probe_wait(probe_start(path), errbuf, errlen);
}

/* A file without a remembered answer while other threads of ours may run: no child (see
 * tracedat_probe.h), so no check, so the file is not opened. Reached only by a file that
 * changed (or could not be probed) after pcp_tracedat_probe_ahead(). */
static int no_fork_now(char *errbuf, size_t errlen)
{
	int refuse;

	pthread_mutex_lock(&answers_lock);
	refuse = threads_may_run;
	pthread_mutex_unlock(&answers_lock);
	return refuse ? pcp_errorf(errbuf, errlen, PCP_ERR_IO, "its headers were not checked before "
				   "the analyses side by side started (changed since?), and cannot be "
				   "while they run: analyze it alone") : PCP_OK;
}

int pcp_tracedat_probe_headers(const char *path, char *errbuf, size_t errlen)
{
	int err;

	if (remembered(path, 0, &err, errbuf, errlen))
		return err;
	if ((err = no_fork_now(errbuf, errlen)))
		return err;
	return probe_in_child(path, errbuf, errlen);
}

/* The child opens the copy by its /proc/self/fd name: it inherits the descriptor. */
static const char *copy_name(char name[64], int copy_fd)
{
	snprintf(name, 64, "/proc/self/fd/%d", copy_fd);
	return name;
}

int pcp_tracedat_probe_copy(const char *path, int copy_fd, char *errbuf, size_t errlen)
{
	char name[64];
	int err;

	if (remembered(path, 1, &err, errbuf, errlen))
		return err;
	if ((err = no_fork_now(errbuf, errlen)))
		return err;
	return probe_in_child(copy_name(name, copy_fd), errbuf, errlen);
}

/* Remembers a's answer for path unless the file changed since before (the child read another
 * file: not remembered). */
static void remember(const char *path, struct probe_answer *a, const struct stat *before)
{
	struct stat after;

	if (stat(path, &after) || !S_ISREG(after.st_mode))
		return;
	a->dev = after.st_dev;
	a->ino = after.st_ino;
	a->size = after.st_size;
	a->mtime = after.st_mtim;
	if (!same_file(a, before))
		return;
	pthread_mutex_lock(&answers_lock);
	struct probe_answer *grown = realloc(answers, (nr_answers + 1) * sizeof(*answers));
	if (grown) {
		answers = grown;
		answers[nr_answers++] = *a;
	}
	pthread_mutex_unlock(&answers_lock);
}

void pcp_tracedat_probe_ahead(const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct probe_answer whole = { 0 }, copy = { .copy = 1 };
		struct stat before;
		int copy_fd = -1, dummy;
		pid_t whole_pid = 0, copy_pid = 0;
		char name[64];

		/* What pcp_reader_open() will parse: the header copy where it makes one, and the file
		 * itself, which the reader parses after the copy when the direct path declines the
		 * file (libtracecmd reads the records, kallsyms and all) and without a copy. Both
		 * children at once: the second answer costs little wall time. */
		if (stat(paths[i], &before) || pcp_tracedat_header_copy(paths[i], &copy_fd))
			continue;
		if (copy_fd >= 0 && !remembered(paths[i], 1, &dummy, NULL, 0))
			copy_pid = probe_start(copy_name(name, copy_fd));
		if (!remembered(paths[i], 0, &dummy, NULL, 0))
			whole_pid = probe_start(paths[i]);
		if (copy_pid) {
			copy.err = probe_wait(copy_pid, copy.reason, sizeof(copy.reason));
			remember(paths[i], &copy, &before);
		}
		if (whole_pid) {
			whole.err = probe_wait(whole_pid, whole.reason, sizeof(whole.reason));
			remember(paths[i], &whole, &before);
		}
		if (copy_fd >= 0)
			close(copy_fd);
	}
	pthread_mutex_lock(&answers_lock);
	threads_may_run = 1;
	pthread_mutex_unlock(&answers_lock);
}

void pcp_tracedat_probe_forget(void)
{
	pthread_mutex_lock(&answers_lock);
	free(answers);
	answers = NULL;
	nr_answers = 0;
	threads_may_run = 0;
	pthread_mutex_unlock(&answers_lock);
}

/* The child parsing path's headers (its pid), or -errno when none could be made. */
static pid_t probe_start(const char *path)
{
	pid_t pid;

	fflush(NULL);   /* nothing buffered is written twice */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

		/* whatever the libraries or a sanitizer say in the child is not our one line */
		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		/* A crash here is the answer we ask for, not a crash of the process that forked us:
		 * its handlers (a fuzzer's records the parent's current input as a crash of its own,
		 * and the parent then goes on fine) must not run. Default dispositions, and no
		 * sanitizer death callback. */
		static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
		for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
			signal(fatal_signals[i], SIG_DFL);
		if (__sanitizer_set_death_callback)
			__sanitizer_set_death_callback(NULL);
		signal(SIGALRM, SIG_DFL);
		signal(SIGXCPU, SIG_DFL);
		struct rlimit cpu = { .rlim_cur = PROBE_CPU_SECONDS, .rlim_max = PROBE_CPU_SECONDS + 5 };
		struct rlimit now;
		if (!getrlimit(RLIMIT_CPU, &now) && now.rlim_max != RLIM_INFINITY && now.rlim_max < cpu.rlim_max) {
			cpu.rlim_max = now.rlim_max;   /* an unprivileged child cannot raise its hard limit */
			if (cpu.rlim_cur > cpu.rlim_max)
				cpu.rlim_cur = cpu.rlim_max;
		}
		setrlimit(RLIMIT_CPU, &cpu);
		alarm(PROBE_WALL_SECONDS);
		tracecmd_set_loglevel(TEP_LOG_NONE);
		tep_set_loglevel(TEP_LOG_NONE);
		/* no close, no exit handlers: the process ends here, nothing of it is reused */
		_exit(tracecmd_open_head(path, TRACECMD_FL_LOAD_NO_PLUGINS |
						     TRACECMD_FL_LOAD_NO_SYSTEM_PLUGINS) ? 0 : 3);
	}
	return pid;
}

/* The answer of probe_start()'s child. */
static int probe_wait(pid_t pid, char *errbuf, size_t errlen)
{
	int status;
	pid_t got;

	if (pid < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "cannot fork to check its headers: %s",
				  strerror((int)-pid));
	do
		got = waitpid(pid, &status, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "cannot wait for the header check: %s",
				  strerror(errno));
	if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGALRM || WTERMSIG(status) == SIGXCPU ||
				    WTERMSIG(status) == SIGKILL))
		return pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT,
				  "libtracecmd does not finish parsing its headers (event formats, "
				  "kallsyms or printk damaged)");
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
				    WEXITSTATUS(status) != 3))
		return pcp_errorf(errbuf, errlen, PCP_ERR_CORRUPT,
				  "libtracecmd crashes parsing its headers (event formats, kallsyms or "
				  "printk damaged; found in a test process)");
	/* exit 3: libtracecmd refuses the headers; the caller's own open says so as before */
	return PCP_OK;
}
