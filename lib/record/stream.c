/* Per-CPU streaming of ring-buffer sub-buffers into spool files (record/stream.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <tracefs.h>
#include "common/io.h"
#include "common/error.h"
#include "record/stream.h"

/* A reader wakes up at least this often (besides the instance's buffer_percent wake-ups). */
#define READER_POLL_MS 100

int pcp_rec_streams_init(struct pcp_rec_streams *s, int nr_cpus)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	s->nr_cpus = nr_cpus;
	s->cpu = calloc((size_t)nr_cpus, sizeof(*s->cpu));
	if (!s->cpu)
		return PCP_ERR_NOMEM;
	for (i = 0; i < nr_cpus; i++) {
		s->cpu[i].set = s;
		s->cpu[i].cpu = i;
		s->cpu[i].raw_fd = s->cpu[i].spool_fd = -1;
		s->cpu[i].pipe[0] = s->cpu[i].pipe[1] = -1;
	}
	return PCP_OK;
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

/* Moves n bytes that sit in the reader's pipe to its spool file. */
static int pipe_to_spool(struct pcp_rec_stream *c, size_t n)
{
	while (n) {
		ssize_t m = splice(c->pipe[0], NULL, c->spool_fd, NULL, n, SPLICE_F_MOVE);

		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0 && (errno == EINVAL || errno == ENOSYS)) {
			/* the spool's file system does not take splice: copy through memory */
			ssize_t k = read(c->pipe[0], c->page,
					 n < c->set->subbuf_size ? n : c->set->subbuf_size);

			if (k <= 0 || pcp_io_write_all(c->spool_fd, c->page, (size_t)k))
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

/* One read() of a whole sub-buffer into the spool. Bytes read, 0 none ready, -1 (errno). */
static ssize_t read_one_page(struct pcp_rec_stream *c)
{
	unsigned int ps = c->set->subbuf_size;
	ssize_t n;

	do
		n = read(c->raw_fd, c->page, ps);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return n;
	memset((char *)c->page + n, 0, ps - (size_t)n);
	if (pcp_io_write_all(c->spool_fd, c->page, ps))
		return -1;
	c->bytes += ps;
	return n;
}

/* Moves every whole sub-buffer the kernel has ready to the spool file. Returns bytes moved
 * or -1 (errno set). */
static long long drain_full_pages(struct pcp_rec_stream *c)
{
	long long moved = 0;

	for (;;) {
		ssize_t n;

		if (c->use_read) {
			n = read_one_page(c);
			if (n <= 0)
				return n < 0 ? -1 : moved;
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
	struct pcp_rec_stream *c = arg;
	struct pcp_rec_streams *s = c->set;

	while (!atomic_load(&s->stopping)) {
		struct pollfd p[2] = { { c->raw_fd, POLLIN, 0 }, { s->stop_pipe[0], POLLIN, 0 } };
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

static int open_stream(struct pcp_rec_stream *c, struct tracefs_instance *inst,
		       const char *inst_name, const char *spool_dir, char *errbuf, size_t errlen)
{
	unsigned int ps = c->set->subbuf_size;
	char path[64];
	int sz;

	snprintf(path, sizeof(path), "per_cpu/cpu%d/trace_pipe_raw", c->cpu);
	c->raw_fd = tracefs_instance_file_open(inst, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->raw_fd < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot open %s/%s: %s", inst_name,
			       path, strerror(errno));
	c->tcpu = tracefs_cpu_alloc_fd(c->raw_fd, (int)ps, true);
	c->page = calloc(1, ps);
	if (!c->tcpu || !c->page)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	c->spool_fd = open_spool(spool_dir);
	if (c->spool_fd < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "cannot create a spool file in %s: %s",
			       spool_dir, strerror(errno));
	if (pipe2(c->pipe, O_CLOEXEC) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "pipe: %s", strerror(errno));
	/* a bigger pipe moves more sub-buffers per wake-up; the default is fine too */
	fcntl(c->pipe[1], F_SETPIPE_SZ, 1 << 20);
	sz = fcntl(c->pipe[1], F_GETPIPE_SZ);
	c->pipe_size = sz > 0 ? (size_t)sz : 65536;
	return PCP_OK;
}

int pcp_rec_streams_open(struct pcp_rec_streams *s, struct tracefs_instance *inst,
			 const char *inst_name, const unsigned char *selected,
			 unsigned int subbuf_size, const char *spool_dir, char *errbuf,
			 size_t errlen)
{
	int i, err;

	s->subbuf_size = subbuf_size;
	if (pipe2(s->stop_pipe, O_CLOEXEC) < 0)
		return pcp_errorf(errbuf, errlen, PCP_ERR_IO, "pipe: %s", strerror(errno));
	for (i = 0; i < s->nr_cpus; i++) {
		if (!selected[i])
			continue;
		err = open_stream(&s->cpu[i], inst, inst_name, spool_dir, errbuf, errlen);
		if (err != PCP_OK)
			return err;
		s->cpu[i].opened = 1;
	}
	return PCP_OK;
}

int pcp_rec_streams_run(struct pcp_rec_streams *s, char *errbuf, size_t errlen)
{
	sigset_t all, old;
	int i;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < s->nr_cpus; i++) {
		struct pcp_rec_stream *c = &s->cpu[i];

		if (!c->opened)
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

void pcp_rec_streams_join(struct pcp_rec_streams *s)
{
	int i;

	atomic_store(&s->stopping, 1);
	if (s->stop_pipe[1] >= 0) {
		char b = 1;

		if (write(s->stop_pipe[1], &b, 1) < 0) {
			/* the flag alone stops them within READER_POLL_MS */
		}
	}
	for (i = 0; i < s->nr_cpus; i++)
		if (s->cpu[i].thread_started) {
			pthread_join(s->cpu[i].thread, NULL);
			s->cpu[i].thread_started = 0;
		}
}

/* What is left after tracing stopped, including the partly filled sub-buffer. */
static int flush_stream(struct pcp_rec_stream *c)
{
	unsigned int ps = c->set->subbuf_size;

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
		if (pcp_io_write_all(c->spool_fd, c->page, ps))
			return -1;
		c->bytes += ps;
	}
}

int pcp_rec_streams_flush(struct pcp_rec_streams *s, char *errbuf, size_t errlen)
{
	int i, err = PCP_OK;

	for (i = 0; i < s->nr_cpus; i++) {
		struct pcp_rec_stream *c = &s->cpu[i];

		if (!c->opened)
			continue;
		if (c->err_no && err == PCP_OK)
			err = pcp_errorf(errbuf, errlen, PCP_ERR_IO, "reading the buffer of CPU %d: %s",
				      i, strerror(c->err_no));
		if (flush_stream(c) < 0 && err == PCP_OK)
			err = pcp_errorf(errbuf, errlen, PCP_ERR_IO,
				      "flushing the buffer of CPU %d: %s", i, strerror(errno));
	}
	return err;
}

void pcp_rec_streams_close_readers(struct pcp_rec_streams *s)
{
	int i;

	if (!s->cpu)
		return;
	pcp_rec_streams_join(s);
	for (i = 0; i < s->nr_cpus; i++) {
		struct pcp_rec_stream *c = &s->cpu[i];

		if (c->tcpu) {
			tracefs_cpu_free_fd(c->tcpu); /* leaves raw_fd open */
			c->tcpu = NULL;
		}
		if (c->raw_fd >= 0)
			close(c->raw_fd);
		c->raw_fd = -1;
	}
}

void pcp_rec_streams_free(struct pcp_rec_streams *s)
{
	int i;

	for (i = 0; s->cpu && i < s->nr_cpus; i++) {
		struct pcp_rec_stream *c = &s->cpu[i];

		if (c->spool_fd >= 0)
			close(c->spool_fd);
		if (c->pipe[0] >= 0)
			close(c->pipe[0]);
		if (c->pipe[1] >= 0)
			close(c->pipe[1]);
		free(c->page);
	}
	if (s->stop_pipe[0] >= 0)
		close(s->stop_pipe[0]);
	if (s->stop_pipe[1] >= 0)
		close(s->stop_pipe[1]);
	free(s->cpu);
	s->cpu = NULL;
}
