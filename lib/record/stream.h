/*
 * Per-CPU streaming of the instance's ring buffers while tracing runs (the shape of trace-cmd's
 * recorder): one thread per recorded CPU moves every whole sub-buffer the kernel hands out of
 * per_cpu/cpuN/trace_pipe_raw into an unlinked spool file (splice through a pipe; read() where
 * the kernel or the spool's file system refuses splice); after tracing stopped, a flush adds
 * what is left, the partly filled sub-buffer included. A spool file is whole sub-buffers, as
 * the trace.dat's per-CPU data section will hold them.
 */
#ifndef PCPTRACE_RECORD_STREAM_H
#define PCPTRACE_RECORD_STREAM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct tracefs_instance;
struct tracefs_cpu;
struct pcp_rec_streams;

/* One CPU's reader. */
struct pcp_rec_stream {
	struct pcp_rec_streams *set;
	int cpu;
	int opened;                 /* its files are open: the CPU is recorded */
	int raw_fd;                 /* per_cpu/cpuN/trace_pipe_raw, O_NONBLOCK */
	struct tracefs_cpu *tcpu;   /* around raw_fd: reads the last, partial sub-buffers */
	int spool_fd;               /* unlinked file of whole sub-buffers */
	int pipe[2];                /* splice: raw_fd -> pipe -> spool_fd */
	size_t pipe_size;
	int use_read;               /* splice refused: read() whole sub-buffers instead */
	pthread_t thread;
	int thread_started;
	int err_no;                 /* first failure of the reader thread */
	uint64_t bytes;             /* spooled so far */
	void *page;                 /* one sub-buffer, for read() */
};

/* Every CPU's reader, and what stops them. */
struct pcp_rec_streams {
	int nr_cpus;
	unsigned int subbuf_size;
	struct pcp_rec_stream *cpu; /* nr_cpus entries */
	int stop_pipe[2];
	atomic_int stopping;
};

/* Allocates nr_cpus readers, nothing opened. PCP_ERR_NOMEM. */
int pcp_rec_streams_init(struct pcp_rec_streams *s, int nr_cpus);
/* Opens the stop pipe, then the trace_pipe_raw, spool file (in spool_dir) and pipe of every
 * CPU with selected[cpu] set. PCP_ERR_TRACEFS, PCP_ERR_IO, PCP_ERR_NOMEM (errbuf says which
 * CPU file); the CPUs opened before an error stay opened. */
int pcp_rec_streams_open(struct pcp_rec_streams *s, struct tracefs_instance *inst,
			 const char *inst_name, const unsigned char *selected,
			 unsigned int subbuf_size, const char *spool_dir, char *errbuf,
			 size_t errlen);
/* Starts one thread per opened CPU, created with all signals blocked. */
int pcp_rec_streams_run(struct pcp_rec_streams *s, char *errbuf, size_t errlen);
/* Tells the threads to stop and joins them. Idempotent. */
void pcp_rec_streams_join(struct pcp_rec_streams *s);
/* After tracing went off and the threads were joined: every opened CPU's reader error, then
 * what is left in its buffer. The first error (PCP_ERR_IO) is returned; all CPUs are flushed. */
int pcp_rec_streams_flush(struct pcp_rec_streams *s, char *errbuf, size_t errlen);
/* Joins and closes the trace_pipe_raw files (before the instance goes); spools stay. */
void pcp_rec_streams_close_readers(struct pcp_rec_streams *s);
/* Closes and frees everything. Fine on a zeroed struct. */
void pcp_rec_streams_free(struct pcp_rec_streams *s);

#endif
