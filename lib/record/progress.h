/*
 * pcprecord's progress (issue 15) and loss report (issue 14): a thread that samples the running
 * recording once a second (record/live_stats.c) and shows a status line on a terminal (elapsed,
 * events, bytes written, events lost: loud when non-zero), a one-line notice when events are
 * first lost (on any stderr), and at the end the per-CPU buffer that would have kept the lost
 * events. The formatting and the advice are pure functions of the numbers they are given.
 */
#ifndef PCPTRACE_RECORD_PROGRESS_H
#define PCPTRACE_RECORD_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "record/record.h"

/* What the status line shows. */
struct pcp_progress_figures {
	double elapsed_s;
	uint64_t events, bytes, lost;
};

/* n with thousands separators ("1,234,567") into buf. Returns buf. */
char *pcp_progress_group(char *buf, size_t len, uint64_t n);

/* The status line, without "\r" or newline: "pcprecord: 12.3 s, 1,234,567 events, 45.6 MB
 * written, lost 0"; with loss "LOST 1,234", in bold red when color. snprintf's return. */
int pcp_progress_format(char *buf, size_t len, const struct pcp_progress_figures *f, int color);

/* One CPU's figures at the end of a recording (struct pcp_record_cpu's). */
struct pcp_advice_cpu {
	uint64_t events;   /* kept (found in its sub-buffers) */
	uint64_t bytes;    /* spooled: what the kept events took in the ring buffer */
	uint64_t lost;     /* overrun + commit overrun + dropped */
	uint64_t sampled_lost; /* lost as of the last live sample (0: none taken) */
	uint64_t peak_lost;    /* the most lost between two samples (a second) */
};

/* The per-CPU buffer (-b) that would have kept the lost events: per CPU, the buffer it had plus
 * the events it lost in its worst second (the most between two live samples, or after the last
 * one; all of them without samples) at its measured bytes per event (bytes / events; the
 * recording's average on a CPU that kept none), rounded up to a power of two KB; the largest
 * over the CPUs. A reader that catches up at every wake-up (10 a second) then loses nothing.
 * The whole run's loss instead of the worst second's gives need_run_kb: what a reader that
 * never caught up would have needed for a run this long. */
struct pcp_buffer_advice {
	int defined;             /* 0: no event was kept anywhere, bytes per event unknown */
	int cpu;                 /* the CPU that needs the largest buffer */
	uint64_t lost_total;     /* over all CPUs */
	uint64_t lost;           /* that CPU's, in its worst second */
	double bytes_per_event;  /* that CPU's */
	double events_per_s;     /* that CPU's written rate (kept + lost) over the recording;
				  * NAN without a duration */
	uint64_t exact_kb;       /* buffer_kb + ceil(lost * bytes_per_event / 1024) */
	uint64_t need_kb;        /* exact_kb rounded up to a power of two: the -b to give */
	uint64_t need_run_kb;    /* the same from each CPU's whole loss (largest over CPUs) */
};

/* 0 when nothing was lost (*out zeroed but lost_total), 1 when *out holds the advice. */
int pcp_progress_advise(uint64_t buffer_kb, const struct pcp_advice_cpu *cpus, int nr_cpus,
			double secs, struct pcp_buffer_advice *out);

/* The advice as one line, without newline (pcprecord(1), LOST EVENTS). snprintf's return. */
int pcp_progress_format_advice(char *buf, size_t len, uint64_t buffer_kb,
			       const struct pcp_buffer_advice *a);

/* Loss in at least 3 of 4 samples (of 3 or more): the reader fell behind for the whole run, so
 * the advice holds for a run of this length only. */
int pcp_progress_loss_sustained(unsigned lossy_samples, unsigned samples);

/* The sampling thread. */
struct pcp_progress_opts {
	FILE *out;                 /* stderr */
	int status_line;           /* show the status line (a terminal, not -q) */
	int color;                 /* bold red loss on the status line */
	double interval_s;         /* between samples; 0 = 1 s */
	struct timespec start;     /* CLOCK_MONOTONIC when tracing went on */
};

/* What the samples saw, for the last lines. */
struct pcp_progress_result {
	unsigned samples;          /* samples read */
	unsigned lossy_samples;    /* samples in which the lost count grew */
	int noticed;               /* the loss notice was printed */
	int nr_cpus;               /* entries of the arrays (0: none) */
	uint64_t *sampled_lost;    /* per CPU: lost as of the last sample */
	uint64_t *peak_lost;       /* per CPU: the most lost between two samples */
};
/* Frees the arrays. */
void pcp_progress_result_release(struct pcp_progress_result *res);

struct pcp_progress;

/* Starts sampling rec (started) every interval, in a thread created with all signals blocked.
 * PCP_ERR_NOMEM or PCP_ERR_INTERNAL (no thread); *out NULL then. */
int pcp_progress_start(const struct pcp_record *rec, const struct pcp_progress_opts *o,
		       struct pcp_progress **out);

/* Before tracing goes off: one last sample (a loss not yet noticed is noticed), the thread
 * joined, the status line cleared; *res filled (if not NULL), p freed. NULL p: *res zeroed. */
void pcp_progress_finish(struct pcp_progress *p, struct pcp_progress_result *res);

#endif
