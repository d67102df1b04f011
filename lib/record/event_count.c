/* Counting the spooled events (record/event_count.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event-parse.h>
#include <tracefs.h>
#include "common/error.h"
#include "record/event_count.h"
#include "record/instance.h"
#include "tracedat/ringbuf_decode.h"

struct tep_handle *pcp_rec_count_tep(struct tracefs_instance *inst, char *const *events,
				     size_t nr_events, int *err, char *errbuf, size_t errlen)
{
	struct tep_handle *tep = tep_alloc();
	char *text;
	size_t k;
	int len;

	if (!tep) {
		*err = pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
		return NULL;
	}
	text = tracefs_instance_file_read(NULL, "events/header_page", &len);
	if (!text || tep_parse_header_page(tep, text, (unsigned long)len, sizeof(long)) < 0) {
		free(text);
		tep_free(tep);
		*err = pcp_errorf(errbuf, errlen, PCP_ERR_TRACEFS, "cannot read events/header_page");
		return NULL;
	}
	free(text);
	for (k = 0; k < nr_events; k++) {
		char sys[128];
		const char *ev;

		if (pcp_rec_event_split(events[k], sys, sizeof(sys), &ev))
			continue;
		text = tracefs_event_file_read(inst, sys, ev, "format", &len);
		if (text)
			tep_parse_event(tep, text, (unsigned long)len, sys);
		free(text);
	}
	*err = PCP_OK;
	return tep;
}

/* Event type id -> index into q->events (q->nr_events for any other type): resolved once. */
struct slots {
	int *of_id;
	int max_id;
};

static int slots_make(const struct pcp_rec_count_query *q, struct slots *s)
{
	struct tep_event *e;
	const char *ev;
	char sys[128];
	size_t k;
	int i;

	/* The highest id of a cleanly parsed event: one whose format libtraceevent only partly
	 * understood counts by name only below it, as the recorder has always counted. */
	s->max_id = -1;
	for (k = 0; k < q->nr_events; k++)
		if (!pcp_rec_event_split(q->events[k], sys, sizeof(sys), &ev) &&
		    (e = tep_find_event_by_name(q->tep, sys, ev)) &&
		    !(e->flags & TEP_EVENT_FL_FAILED) && e->id > s->max_id)
			s->max_id = e->id;
	s->of_id = malloc(((size_t)s->max_id + 2) * sizeof(int));
	if (!s->of_id)
		return PCP_ERR_NOMEM;
	for (i = 0; i <= s->max_id + 1; i++)
		s->of_id[i] = (int)q->nr_events; /* "other" */
	for (k = 0; k < q->nr_events; k++)
		if (!pcp_rec_event_split(q->events[k], sys, sizeof(sys), &ev) &&
		    (e = tep_find_event_by_name(q->tep, sys, ev)) && e->id >= 0 && e->id <= s->max_id)
			s->of_id[e->id] = (int)k;
	return PCP_OK;
}

static inline int slot_of(const struct slots *s, int type, size_t other)
{
	return type >= 0 && type <= s->max_id ? s->of_id[type] : (int)other;
}

/* One event: its CPU's and its type's counts. */
static inline void tally_event(const struct pcp_rec_count_query *q, const struct slots *s,
			       struct tep_record *rec, unsigned long long ts,
			       struct pcp_record_cpu *cpu, struct pcp_rec_tally *t)
{
	int slot = slot_of(s, tep_data_type(q->tep, rec), q->nr_events);

	cpu->events++;
	t->counts[slot]++;
	if (q->mark_ns && ts >= q->mark_ns)
		t->since_mark[slot]++;
}

static inline void tally_missed(int missed, struct pcp_record_cpu *cpu)
{
	if (missed > 0)
		cpu->missed_in_file += (uint64_t)missed;
	else if (missed < 0)
		cpu->missed_unknown++;
}

/* One CPU's spool through the ring-buffer reader (one section: no merge needed). */
static int count_spool(const struct pcp_rec_count_query *q, const struct slots *s, int cpu,
		       const struct pcp_rec_spool *spool, struct pcp_record_cpu *out,
		       struct pcp_rec_tally *t, char *errbuf, size_t errlen)
{
	const struct pcp_rbdec_params p = {
		.fd = spool->fd, .file_size = spool->bytes, .page_size = q->page_size,
		.long_size = (int)sizeof(long),
		.big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__,
	};
	const struct pcp_rbdec_section sec = { .cpu = (uint32_t)cpu, .offset = 0,
					       .size = spool->bytes };
	struct pcp_rbdec *d = NULL;
	struct tep_record *rec;
	char why[200];
	int err;

	err = pcp_rbdec_open(&p, &sec, 1, &d, why, sizeof(why));
	if (err == PCP_OK) {
		/* the reader marks a page's missed events on its first record */
		while ((rec = pcp_rbdec_next(d))) {
			tally_missed(rec->missed_events, out);
			tally_event(q, s, rec, rec->ts, out, t);
		}
		err = pcp_rbdec_status(d, why, sizeof(why));
		pcp_rbdec_close(d);
	}
	if (err == PCP_ERR_NOMEM)
		return pcp_errorf(errbuf, errlen, err, "%s", pcp_strerror(err));
	if (err != PCP_OK)
		return pcp_errorf(errbuf, errlen, err == PCP_ERR_CORRUPT ? err : PCP_ERR_IO,
			       "cannot read back the spool of CPU %d: %s", cpu, why);
	return PCP_OK;
}

int pcp_rec_count_spools(const struct pcp_rec_count_query *q, const struct pcp_rec_spool *spools,
			 struct pcp_record_cpu *cpus, int nr_cpus, struct pcp_rec_tally *t,
			 char *errbuf, size_t errlen)
{
	struct slots s;
	int i, err;

	if (slots_make(q, &s) != PCP_OK)
		return pcp_errorf(errbuf, errlen, PCP_ERR_NOMEM, "%s", pcp_strerror(PCP_ERR_NOMEM));
	for (i = 0, err = PCP_OK; i < nr_cpus && err == PCP_OK; i++)
		if (cpus[i].recorded)
			err = count_spool(q, &s, i, &spools[i], &cpus[i], t, errbuf, errlen);
	free(s.of_id);
	return err;
}

static int cmp_count(const void *a, const void *b)
{
	return strcmp(((const struct pcp_record_event_count *)a)->name,
		      ((const struct pcp_record_event_count *)b)->name);
}

int pcp_rec_count_named(char *const *events, size_t nr_events, const uint64_t *counts,
			struct pcp_record_event_count **out, size_t *nr_out)
{
	struct pcp_record_event_count *c = calloc(nr_events + 1, sizeof(*c));
	size_t k, n = 0;

	*out = c;
	*nr_out = 0;
	if (!c)
		return PCP_ERR_NOMEM;
	for (k = 0; k <= nr_events; k++) {
		if (!counts[k])
			continue;
		c[n].name = strdup(k < nr_events ? events[k] : "(other)");
		if (!c[n].name) {
			*nr_out = n;
			return PCP_ERR_NOMEM;
		}
		c[n++].count = counts[k];
	}
	qsort(c, n, sizeof(*c), cmp_count);
	*nr_out = n;
	return PCP_OK;
}
