/*
 * pcpload: a small load generator that provokes what pcpanalyze looks for (pcpload(1)).
 *   burst  allocate, touch and free many pages at once, far above a PCP list's high mark
 *   cross  a thread pinned on one CPU allocates, a thread pinned on another frees
 *          (refills on one CPU, drains on the other)
 *   fork   fork/exit storm (percpu allocations of new mm/task structures)
 *   mix    all three at once
 *   saturate  every thread allocates and frees order-0 pages as fast as the kernel can
 *          (populated in the kernel, no user-space touch): more events per second than a
 *          recorder keeps, to find its ceiling; --rate caps it (pages/s) for a ramp
 * Only libc and pthreads: it also runs in a minimal guest.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#ifndef PCPTRACE_VERSION
#define PCPTRACE_VERSION "unknown"
#endif
#define CROSS_CHUNK_BYTES (1u << 20) /* one hand-over between the CPUs of a pair */

enum role { ROLE_BURST, ROLE_CROSS_ALLOC, ROLE_CROSS_FREE, ROLE_FORK, ROLE_SATURATE };

struct handoff {                     /* chunks in flight from one CPU to another */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void **slots;
	size_t cap, head, len;
	int closed;
};

struct worker {
	pthread_t thread;
	enum role role;
	int cpu;
	struct handoff *ho;
	uint64_t pages, ops;             /* pages touched/freed; bursts, chunks or forks */
	int err_no;
};

static atomic_int stop_flag;
static size_t page_size;
static size_t burst_bytes;
static size_t cross_inflight;
static double worker_rate;           /* --rate: pages/s per worker; 0 = as fast as possible */
static double start_s;               /* when the workers started */

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* best effort: an offline or forbidden CPU only weakens the pattern */
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Anonymous memory with every page faulted in (one page allocation each). */
static void *alloc_touched(size_t bytes, uint64_t *pages)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t off;

	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_NOHUGEPAGE
	madvise(p, bytes, MADV_NOHUGEPAGE); /* order-0 pages: the PCP lists' main traffic */
#endif
	for (off = 0; off < bytes; off += page_size)
		p[off] = (char)off;
	*pages += bytes / page_size;
	return p;
}

static void *burst_main(struct worker *w)
{
	while (!atomic_load(&stop_flag)) {
		void *p = alloc_touched(burst_bytes, &w->pages);

		if (!p) {
			w->err_no = errno;
			break;
		}
		munmap(p, burst_bytes); /* one big free: the PCP list overflows and drains */
		w->ops++;
	}
	return NULL;
}

/* Order-0 pages of bytes, allocated by the kernel in one call where it can
 * (MADV_POPULATE_WRITE, Linux 5.14): no fault per page, so page allocations and frees are
 * most of the work. */
static void *alloc_populated(size_t bytes, uint64_t *pages)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_NOHUGEPAGE
	madvise(p, bytes, MADV_NOHUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0) {
		*pages += bytes / page_size;
		return p;
	}
#endif
	for (size_t off = 0; off < bytes; off += page_size)
		p[off] = (char)off;
	*pages += bytes / page_size;
	return p;
}

/* --rate: sleeps until this worker's pages are due (its share of the rate since the start). */
static void pace(const struct worker *w)
{
	double due, now;

	if (worker_rate <= 0)
		return;
	due = start_s + (double)w->pages / worker_rate;
	while (!atomic_load(&stop_flag) && (now = now_s()) < due) {
		double left = due - now > 0.05 ? 0.05 : due - now;
		struct timespec ts = { 0, (long)(left * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static void *saturate_main(struct worker *w)
{
	while (!atomic_load(&stop_flag)) {
		void *p = alloc_populated(burst_bytes, &w->pages);

		if (!p) {
			w->err_no = errno;
			break;
		}
		munmap(p, burst_bytes);
		w->ops++;
		pace(w);
	}
	return NULL;
}

static void *cross_alloc_main(struct worker *w)
{
	struct handoff *h = w->ho;

	while (!atomic_load(&stop_flag)) {
		void *p = alloc_touched(CROSS_CHUNK_BYTES, &w->pages);

		if (!p) {
			w->err_no = errno;
			break;
		}
		pthread_mutex_lock(&h->lock);
		while (h->len == h->cap && !atomic_load(&stop_flag)) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&h->cond, &h->lock, &ts);
		}
		if (h->len == h->cap) { /* stopping */
			pthread_mutex_unlock(&h->lock);
			munmap(p, CROSS_CHUNK_BYTES);
			break;
		}
		h->slots[(h->head + h->len) % h->cap] = p;
		h->len++;
		w->ops++;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->lock);
	}
	pthread_mutex_lock(&h->lock);
	h->closed = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void *cross_free_main(struct worker *w)
{
	struct handoff *h = w->ho;

	for (;;) {
		void *p;

		pthread_mutex_lock(&h->lock);
		while (h->len == 0 && !h->closed)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->len == 0) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		p = h->slots[h->head];
		h->head = (h->head + 1) % h->cap;
		h->len--;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->lock);
		munmap(p, CROSS_CHUNK_BYTES); /* pages go to this CPU's PCP list */
		w->pages += CROSS_CHUNK_BYTES / page_size;
		w->ops++;
	}
	return NULL;
}

static void *fork_main(struct worker *w)
{
	while (!atomic_load(&stop_flag)) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			if (errno == EAGAIN) {
				sched_yield();
				continue;
			}
			w->err_no = errno;
			break;
		}
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		w->ops++;
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pin(w->cpu);
	switch (w->role) {
	case ROLE_BURST: return burst_main(w);
	case ROLE_CROSS_ALLOC: return cross_alloc_main(w);
	case ROLE_CROSS_FREE: return cross_free_main(w);
	case ROLE_FORK: return fork_main(w);
	case ROLE_SATURATE: return saturate_main(w);
	}
	return NULL;
}

static int parse_cpus(const char *s, int *cpus, int max)
{
	int n = 0;

	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0 || a >= CPU_SETSIZE)
			return -1;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b >= CPU_SETSIZE)
				return -1;
			s = end;
		}
		for (; a <= b; a++) {
			if (n == max)
				return -1;
			cpus[n++] = (int)a;
		}
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return n;
}

/* "0-3,6" of a CPU set, for messages. */
static void format_cpu_set(const cpu_set_t *set, char *buf, size_t len)
{
	size_t n = 0;
	int a, b;

	buf[0] = '\0';
	for (a = 0; a < CPU_SETSIZE && n < len; a++) {
		if (!CPU_ISSET(a, set))
			continue;
		for (b = a; b + 1 < CPU_SETSIZE && CPU_ISSET(b + 1, set); b++)
			;
		n += (size_t)snprintf(buf + n, len - n, b > a ? "%s%d-%d" : "%s%d", n ? "," : "", a, b);
		a = b;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* Pinning to a CPU that is offline, absent or outside our affinity fails (or was silently
 * ignored): such a list is refused rather than run on other CPUs than asked. Returns the
 * first such CPU, or -1 when all are usable. */
static int first_unusable_cpu(const int *cpus, int n, cpu_set_t *allowed)
{
	int i;

	if (sched_getaffinity(0, sizeof(*allowed), allowed) != 0)
		return -1; /* cannot tell: pinning will say */
	for (i = 0; i < n; i++)
		if (!CPU_ISSET(cpus[i], allowed))
			return cpus[i];
	return -1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pcpload [--pattern burst|cross|fork|mix|saturate] [--threads N]\n"
		"               [--duration SECONDS] [--size MB] [--cpus LIST] [--rate PAGES] [-q]\n"
		"  -p, --pattern P     burst: allocate+touch --size MB, free it, repeat (PCP overflow)\n"
		"                      cross: allocate on one pinned CPU, free on another (refill/drain\n"
		"                             imbalance); --size MB in flight per pair\n"
		"                      fork:  fork/exit storm (percpu allocations)\n"
		"                      mix:   all three at once (default)\n"
		"                      saturate: order-0 pages allocated (populated by the kernel)\n"
		"                             and freed as fast as possible on every thread, --size\n"
		"                             MB at a time (default 4 here): a recorder's ceiling\n"
		"  -t, --threads N     worker threads (default: number of CPUs in --cpus; mix uses >= 4,\n"
		"                      cross >= 2)\n"
		"  -d, --duration S    seconds to run (default 5; fractions allowed)\n"
		"  -s, --size MB       memory per burst / in flight per cross pair (default 64)\n"
		"  -c, --cpus LIST     CPUs to pin workers on, e.g. 0-3,6 (default: allowed CPUs)\n"
		"  -r, --rate PAGES    saturate: at most PAGES page allocations per second in all\n"
		"                      (shared by the threads; default: no limit)\n"
		"  -q, --quiet         no summary line\n"
		"  -h, --help          this help\n"
		"  -V, --version       version\n"
		"Stops early on SIGINT or SIGTERM. Exit: 0 done, 1 a worker failed, 2 usage (also a\n"
		"CPU in --cpus that is not online or not allowed).\n");
}

static const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_BURST: return "burst";
	case ROLE_CROSS_ALLOC: return "cross-alloc";
	case ROLE_CROSS_FREE: return "cross-free";
	case ROLE_FORK: return "fork";
	case ROLE_SATURATE: return "saturate";
	}
	return "?";
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pattern", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pattern = "mix";
	int cpus[CPU_SETSIZE], nr_cpus = 0, threads = 0, quiet = 0, opt, i, nw = 0, npairs = 0;
	int nburst = 0, nfork = 0, failed = 0;
	double duration = 5.0, size_mb = 0, rate = 0, t0, elapsed;
	struct worker *workers;
	struct handoff *hos;
	struct sigaction sa;
	uint64_t pages[5] = { 0 }, ops[5] = { 0 };
	int nsat = 0;

	while ((opt = getopt_long(argc, argv, "p:t:d:s:c:r:qhV", longopts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'p': pattern = optarg; break;
		case 't':
			threads = (int)strtol(optarg, &end, 10);
			if (*end || threads < 1 || threads > 4096) {
				fprintf(stderr, "pcpload: --threads %s: expected 1..4096\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || !(duration > 0) || duration > 1e7) {
				fprintf(stderr, "pcpload: --duration %s: expected seconds > 0\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 's':
			size_mb = strtod(optarg, &end);
			if (*end || !(size_mb >= 1) || size_mb > 1 << 20) {
				fprintf(stderr, "pcpload: --size %s: expected MB >= 1\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			rate = strtod(optarg, &end);
			if (*end || !(rate > 0) || rate > 1e12) {
				fprintf(stderr, "pcpload: --rate %s: expected pages per second > 0\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			nr_cpus = parse_cpus(optarg, cpus, CPU_SETSIZE);
			if (nr_cpus <= 0) {
				fprintf(stderr, "pcpload: --cpus %s: expected a CPU list like 0-3,6\n",
					optarg);
				return EXIT_USAGE;
			}
			{
				cpu_set_t allowed;
				char list[256];
				int bad = first_unusable_cpu(cpus, nr_cpus, &allowed);

				if (bad >= 0) {
					format_cpu_set(&allowed, list, sizeof(list));
					fprintf(stderr, "pcpload: --cpus %s: CPU %d is not online or not "
						"allowed here (usable: %s)\n", optarg, bad, list);
					return EXIT_USAGE;
				}
			}
			break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("pcpload %s\n", PCPTRACE_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "pcpload: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (strcmp(pattern, "burst") && strcmp(pattern, "cross") && strcmp(pattern, "fork") &&
	    strcmp(pattern, "mix") && strcmp(pattern, "saturate")) {
		fprintf(stderr, "pcpload: --pattern %s: expected burst, cross, fork, mix or saturate\n",
			pattern);
		return EXIT_USAGE;
	}
	if (rate > 0 && strcmp(pattern, "saturate")) {
		fprintf(stderr, "pcpload: --rate: only with --pattern saturate\n");
		return EXIT_USAGE;
	}
	if (size_mb == 0) /* saturate: small chunks, so that --rate paces finely */
		size_mb = strcmp(pattern, "saturate") ? 64 : 4;
	if (nr_cpus == 0) {
		cpu_set_t set;

		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			for (i = 0; i < CPU_SETSIZE; i++)
				if (CPU_ISSET(i, &set))
					cpus[nr_cpus++] = i;
		if (nr_cpus == 0)
			cpus[nr_cpus++] = -1; /* unpinned */
	}
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	burst_bytes = ((size_t)(size_mb * 1048576) + page_size - 1) / page_size * page_size;
	cross_inflight = burst_bytes / CROSS_CHUNK_BYTES;
	if (cross_inflight < 1)
		cross_inflight = 1;
	if (!threads)
		threads = nr_cpus;

	/* roles */
	if (!strcmp(pattern, "saturate")) {
		nsat = threads;
	} else if (!strcmp(pattern, "burst")) {
		nburst = threads;
	} else if (!strcmp(pattern, "fork")) {
		nfork = threads;
	} else if (!strcmp(pattern, "cross")) {
		npairs = threads < 2 ? 1 : threads / 2;
	} else {
		if (threads < 4)
			threads = 4;
		nburst = threads / 4;
		nfork = threads / 4;
		npairs = (threads - nburst - nfork) / 2;
	}
	workers = calloc((size_t)(nburst + nfork + nsat + 2 * npairs), sizeof(*workers));
	hos = calloc((size_t)(npairs ? npairs : 1), sizeof(*hos));
	if (!workers || !hos) {
		fprintf(stderr, "pcpload: out of memory\n");
		return 1;
	}
	for (i = 0; i < npairs; i++) {
		struct handoff *h = &hos[i];
		int a = cpus[(2 * i) % nr_cpus], b = cpus[(2 * i + 1) % nr_cpus];

		pthread_mutex_init(&h->lock, NULL);
		pthread_cond_init(&h->cond, NULL);
		h->cap = cross_inflight;
		h->slots = calloc(h->cap, sizeof(*h->slots));
		if (!h->slots) {
			fprintf(stderr, "pcpload: out of memory\n");
			return 1;
		}
		workers[nw++] = (struct worker){ .role = ROLE_CROSS_ALLOC, .cpu = a, .ho = h };
		workers[nw++] = (struct worker){ .role = ROLE_CROSS_FREE, .cpu = b, .ho = h };
	}
	for (i = 0; i < nburst + nfork; i++, nw++)
		workers[nw] = (struct worker){ .role = i < nburst ? ROLE_BURST : ROLE_FORK,
					       .cpu = cpus[nw % nr_cpus] };
	for (i = 0; i < nsat; i++, nw++)
		workers[nw] = (struct worker){ .role = ROLE_SATURATE, .cpu = cpus[nw % nr_cpus] };
	worker_rate = nsat && rate > 0 ? rate / nsat : 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	t0 = start_s = now_s();
	for (i = 0; i < nw; i++)
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			fprintf(stderr, "pcpload: cannot start thread %d\n", i);
			atomic_store(&stop_flag, 1);
			nw = i;
			failed = 1;
			break;
		}
	while (!atomic_load(&stop_flag) && now_s() - t0 < duration) {
		double left = duration - (now_s() - t0);
		struct timespec ts;

		if (left > 0.05)
			left = 0.05;
		if (left < 0)
			left = 0;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop_flag, 1);
	for (i = 0; i < nw; i++) {
		pthread_join(workers[i].thread, NULL);
		pages[workers[i].role] += workers[i].pages;
		ops[workers[i].role] += workers[i].ops;
		if (workers[i].err_no) {
			fprintf(stderr, "pcpload: %s worker on CPU %d failed: %s\n",
				role_name(workers[i].role), workers[i].cpu,
				strerror(workers[i].err_no));
			failed = 1;
		}
	}
	elapsed = now_s() - t0;
	if (!quiet && nsat)
		printf("pcpload: pattern saturate, %.2f s, %d threads on %d CPUs: %llu pages "
		       "allocated and freed (%.0f pages/s%s)\n", elapsed, nw, nr_cpus,
		       (unsigned long long)pages[ROLE_SATURATE],
		       (double)pages[ROLE_SATURATE] / elapsed, rate > 0 ? ", --rate cap" : "");
	else if (!quiet)
		printf("pcpload: pattern %s, %.2f s, %d threads on %d CPUs: %llu bursts (%llu pages),"
		       " %llu cross chunks (%llu pages allocated, %llu freed remotely), %llu forks\n",
		       pattern, elapsed, nw, nr_cpus, (unsigned long long)ops[ROLE_BURST],
		       (unsigned long long)pages[ROLE_BURST],
		       (unsigned long long)ops[ROLE_CROSS_ALLOC],
		       (unsigned long long)pages[ROLE_CROSS_ALLOC],
		       (unsigned long long)pages[ROLE_CROSS_FREE], (unsigned long long)ops[ROLE_FORK]);
	for (i = 0; i < npairs; i++)
		free(hos[i].slots);
	free(hos);
	free(workers);
	return failed ? 1 : 0;
}
