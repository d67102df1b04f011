/*
 * The recorder's own count of what it spooled: events per type, events and missed-event marks
 * per CPU, and events at or after a mark in time (pcp_record_mark_now). Printed by pcprecord and
 * stored in the meta file, so that tests can hold trace-cmd report to it. The spooled
 * sub-buffers are walked with the one ring-buffer reader (tracedat/ringbuf_decode.h), the one
 * pcpanalyze reads trace.dat files with.
 */
#ifndef PCPTRACE_RECORD_EVENT_COUNT_H
#define PCPTRACE_RECORD_EVENT_COUNT_H

#include <stddef.h>
#include <stdint.h>
#include "record/record.h"

struct tep_handle;
struct tracefs_instance;

/* One CPU's spool: whole sub-buffers of page_size bytes. */
struct pcp_rec_spool {
	int fd;
	uint64_t bytes;
};

/* What the walk is asked. */
struct pcp_rec_count_query {
	struct tep_handle *tep;     /* header page and the events' formats parsed */
	char *const *events;        /* "system:event": counted by name; others as "(other)" */
	size_t nr_events;
	unsigned int page_size;     /* sub-buffer size */
	uint64_t mark_ns;           /* events at or after it are also counted; 0 = none */
};

/* Tallies, by index into events; [nr_events] is every other type. */
struct pcp_rec_tally {
	uint64_t *counts;           /* nr_events + 1 */
	uint64_t *since_mark;       /* nr_events + 1 */
};

/* A tep with the host's events/header_page and the events' formats as the instance has them.
 * NULL with errbuf set (PCP_ERR_TRACEFS, PCP_ERR_NOMEM in *err). */
struct tep_handle *pcp_rec_count_tep(struct tracefs_instance *inst, char *const *events,
				     size_t nr_events, int *err, char *errbuf, size_t errlen);

/* Walks the spools of the CPUs with cpus[i].recorded (nr_cpus entries each) with the
 * ring-buffer reader: cpus[i].events, missed_in_file and missed_unknown grow, and t's arrays
 * (zeroed by the caller). PCP_ERR_IO or PCP_ERR_CORRUPT (errbuf names the CPU), PCP_ERR_NOMEM. */
int pcp_rec_count_spools(const struct pcp_rec_count_query *q, const struct pcp_rec_spool *spools,
			 struct pcp_record_cpu *cpus, int nr_cpus, struct pcp_rec_tally *t,
			 char *errbuf, size_t errlen);

/* The tallies as named counts, sorted by name, types with 0 left out. PCP_ERR_NOMEM. */
int pcp_rec_count_named(char *const *events, size_t nr_events, const uint64_t *counts,
			struct pcp_record_event_count **out, size_t *nr_out);

#endif
