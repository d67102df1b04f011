/* Combines the loss counts of every source into the analysis' lost events.
 *
 * The sources measure overlapping things: an overwrite-mode loss is counted in CPUSTAT's
 * overrun AND as a missed-event mark in the next page read; a non-overwrite loss only in
 * "dropped events" (the kernel marks nothing); pcprecord's meta repeats the stats it read from
 * tracefs. Summing them would count one loss twice, so per CPU the largest count wins, and
 * CPUs are summed. */
#include <stdio.h>
#include <string.h>
#include "meta/meta.h"
#include "model/churn.h"
#include "tracedat/event_loss.h"

static uint64_t positive(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

/* The meta's per-CPU stats sum for cpu (0 when the meta has no row for it). */
static uint64_t meta_lost(const struct pcp_meta_recording *rec, uint32_t cpu, uint64_t *overrun,
			  uint64_t *dropped)
{
	for (size_t i = 0; i < rec->nr_cpu_rows; i++) {
		const struct pcp_meta_cpu *row = &rec->cpus[i];

		if (row->cpu != (int64_t)cpu)
			continue;
		*overrun = positive(row->overrun) + positive(row->commit_overrun);
		*dropped = positive(row->dropped);
		return *overrun + *dropped;
	}
	*overrun = *dropped = 0;
	return 0;
}

void pcp_event_loss_apply(struct pcp_churn_results *c, const struct pcp_cpustat *cpustat,
			  uint32_t nr_cpustat, const struct pcp_meta *meta, char *source, size_t len)
{
	int marks = c->lost_unknown_marks > 0, overrun = 0, commit = 0, dropped = 0, from_meta = 0;
	uint64_t total = 0;

	for (uint32_t cpu = 0; cpu < c->nr_cpus; cpu++) {
		struct pcp_cpu_flow *f = &c->cpu_flow[cpu];
		uint64_t lost = f->lost_events, stat = 0, m_over = 0, m_drop = 0, m;

		marks |= f->lost_events > 0;
		if (cpu < nr_cpustat && cpustat[cpu].present) {
			const struct pcp_cpustat *s = &cpustat[cpu];
			stat = s->overrun + s->commit_overrun + s->dropped;
			overrun |= s->overrun > 0;
			commit |= s->commit_overrun > 0;
			dropped |= s->dropped > 0;
		}
		m = meta ? meta_lost(&meta->recording, cpu, &m_over, &m_drop) : 0;
		from_meta |= m > 0;
		if (stat > lost)
			lost = stat;
		if (m > lost)
			lost = m;
		f->lost_events = lost;
		total += lost;
	}
	c->events_lost = total;
	c->lossy = total > 0 || c->lost_unknown_marks > 0;
	for (size_t i = 0; i < c->nr_metrics; i++)   /* the metric's value is the same total */
		if (!strcmp(c->metrics[i].name, pcp_metric_def(PCP_METRIC_EVENTS_LOST)->name))
			c->metrics[i].value = (double)total;
	if (source && len) {
		snprintf(source, len, "%s%s%s%s%s", marks ? ",missed_marks" : "",
			 overrun ? ",cpustat_overrun" : "", commit ? ",cpustat_commit_overrun" : "",
			 dropped ? ",cpustat_dropped" : "", from_meta ? ",meta" : "");
		if (source[0])
			memmove(source, source + 1, strlen(source));
		else
			snprintf(source, len, "none");
	}
}
