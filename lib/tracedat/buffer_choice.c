/* Choosing the trace buffer to analyze.
 *
 * A trace.dat can hold several buffers (trace-cmd extract -B a -B b, -a, -t): the top-level
 * one and instances, each with its own per-CPU data. Merged they count every event once per
 * buffer that recorded it, so the analysis reads one. Telling which buffers hold analyzable
 * events costs a scan of their records (the file's event formats are shared by all buffers and
 * say nothing per buffer); it runs only when several buffers hold data, and stops at each
 * buffer's first analyzable event, so a buffer with PCP events costs a page or two and only a
 * buffer without any is read to its end. */
#include <stdlib.h>
#include <string.h>
#include <event-parse.h>
#include "tracedat/buffer_choice.h"
#include "common/error.h"
#include "tracedat/trace_reader.h"

/* The kmem events the PCP model reads (parse_kmem.c); every percpu:* event. */
static const char *const kmem_events[] = {
	"mm_page_pcpu_drain", "mm_page_pcpu_refill", "mm_page_pcpu_refill_zone_locked",
	"mm_page_pcpu_drain_zone_locked", "mm_page_alloc_zone_locked",
};

/* 1 when the buffer has a record of an analyzable event, 0 if not, < 0: error. */
static int has_analyzable(const char *path, const char *buffer, char *errbuf, size_t errlen)
{
	struct pcp_reader *r = NULL;
	struct tep_handle *tep;
	struct tep_event **events;
	struct tep_record *rec;
	unsigned char *wanted = NULL;
	int nr_ids = 0, found = 0, err;

	if ((err = pcp_reader_open_buffer(path, PCP_READER_AUTO, buffer, &r, errbuf, errlen)))
		return -err;
	tep = pcp_reader_tep(r);
	events = tep_list_events(tep, TEP_EVENT_SORT_ID);
	for (int i = 0; events && events[i]; i++)
		if (events[i]->id + 1 > nr_ids)
			nr_ids = events[i]->id + 1;
	wanted = calloc((size_t)nr_ids + 1, 1);
	if (!wanted) {
		pcp_reader_close(r);
		return -pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
	}
	for (int i = 0; events && events[i]; i++) {
		struct tep_event *ev = events[i];
		if (ev->id < 0 || !ev->system)
			continue;
		if (!strcmp(ev->system, "percpu"))
			wanted[ev->id] = 1;
		else if (!strcmp(ev->system, "kmem"))
			for (size_t k = 0; k < sizeof(kmem_events) / sizeof(kmem_events[0]); k++)
				if (!strcmp(ev->name, kmem_events[k]))
					wanted[ev->id] = 1;
	}
	while (!found && (rec = pcp_reader_next(r))) {
		int id = tep_data_type(tep, rec);
		found = id >= 0 && id < nr_ids && wanted[id];
	}
	/* damaged data before any analyzable event: the choice cannot be trusted */
	if (!found && (err = pcp_reader_status(r, errbuf, errlen)))
		found = -err;
	free(wanted);
	pcp_reader_close(r);
	return found;
}

int pcp_choose_buffer(const char *path, const char *requested, char **chosen, const char **why,
		      unsigned *nr_with_data, char *errbuf, size_t errlen)
{
	struct pcp_trace_buffer *bufs = NULL;
	size_t nr = 0, pick = 0;
	unsigned with_data = 0, candidates = 0;
	char names[512] = "";
	int err;

	*chosen = NULL;
	if ((err = pcp_tracedat_buffers(path, &bufs, &nr, errbuf, errlen)))
		return err;
	for (size_t i = 0; i < nr; i++)
		if (bufs[i].nr_cpu_sections && !with_data++)
			pick = i;
	*nr_with_data = with_data;
	if (requested) {
		const struct pcp_trace_buffer *b = pcp_trace_buffer_find(bufs, nr, requested);
		if (!b) {
			pcp_trace_buffer_names(bufs, nr, 0, names, sizeof(names));
			err = pcp_errorf(errbuf, errlen, PCP_ERR_MODE, "no buffer '%s' in the file (it has: %s)",
					 requested, names[0] ? names : "none");
			goto out;
		}
		pick = (size_t)(b - bufs);
		*why = "--buffer";
	} else if (with_data <= 1) {
		*why = "only buffer with data";
	} else {
		size_t first = pick;
		for (size_t i = 0; i < nr; i++) {
			int has;
			if (!bufs[i].nr_cpu_sections)
				continue;
			has = has_analyzable(path, bufs[i].name, errbuf, errlen);
			if (has < 0) {
				err = -has;
				goto out;
			}
			if (!has)
				continue;
			if (!candidates++)
				pick = i;
			size_t used = strlen(names);
			snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", bufs[i].name);
		}
		if (candidates > 1) {
			err = pcp_errorf(errbuf, errlen, PCP_ERR_MODE,
					 "%u buffers hold analyzable events (%s): choose one with --buffer NAME",
					 candidates, names);
			goto out;
		}
		if (!candidates)
			pick = first;   /* the analysis says there is nothing to analyze */
		*why = "only buffer with analyzable events";
	}
	if (nr && !(*chosen = strdup(bufs[pick].name)))
		err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "out of memory");
out:
	pcp_trace_buffers_free(bufs, nr);
	return err;
}
