/* pcprecord's status line, loss notice and buffer advice (record/progress.h). */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/error.h"
#include "record/live_stats.h"
#include "record/progress.h"

#define BOLD_RED "\033[1;31m"
#define RESET "\033[0m"
#define CLEAR_LINE "\r\033[K"

char *pcp_progress_group(char *buf, size_t len, uint64_t n)
{
	char digits[24], out[32];
	int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n), i, o = 0;

	for (i = 0; i < nd; i++) {
		if (i && (nd - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	snprintf(buf, len, "%s", out);
	return buf;
}

/* Bytes in MB (10^6) below 10 GB, else GB: the unit of bench/RESULTS.md's MB/s. */
static void format_bytes(char *buf, size_t len, uint64_t b)
{
	if (b < 10000000000ull)
		snprintf(buf, len, "%.1f MB", (double)b / 1e6);
	else
		snprintf(buf, len, "%.1f GB", (double)b / 1e9);
}

int pcp_progress_format(char *buf, size_t len, const struct pcp_progress_figures *f, int color)
{
	char ev[32], lost[32], bytes[32];

	pcp_progress_group(ev, sizeof(ev), f->events);
	pcp_progress_group(lost, sizeof(lost), f->lost);
	format_bytes(bytes, sizeof(bytes), f->bytes);
	if (!f->lost)
		return snprintf(buf, len, "pcprecord: %.1f s, %s events, %s written, lost 0",
				f->elapsed_s, ev, bytes);
	return snprintf(buf, len, "pcprecord: %.1f s, %s events, %s written, %sLOST %s%s",
			f->elapsed_s, ev, bytes, color ? BOLD_RED : "", lost, color ? RESET : "");
}

static uint64_t round_up_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (p < v && p < (1ull << 62))
		p <<= 1;
	return p;
}

int pcp_progress_advise(uint64_t buffer_kb, const struct pcp_advice_cpu *cpus, int nr_cpus,
			double secs, struct pcp_buffer_advice *out)
{
	uint64_t all_events = 0, all_bytes = 0;
	int i;

	memset(out, 0, sizeof(*out));
	out->cpu = -1;
	out->events_per_s = NAN;
	for (i = 0; i < nr_cpus; i++) {
		out->lost_total += cpus[i].lost;
		all_events += cpus[i].events;
		all_bytes += cpus[i].bytes;
	}
	if (!out->lost_total)
		return 0;
	for (i = 0; i < nr_cpus; i++) {
		const struct pcp_advice_cpu *c = &cpus[i];
		uint64_t worst = c->peak_lost, after = c->lost > c->sampled_lost ? c->lost - c->sampled_lost : 0;
		double bpe;
		uint64_t kb, run_kb;

		if (!c->lost)
			continue;
		if (after > worst) /* after the last sample (or with none: all of it) */
			worst = after;
		/* a CPU that kept nothing: the recording's average size of an event */
		if (c->events && c->bytes)
			bpe = (double)c->bytes / (double)c->events;
		else if (all_events && all_bytes)
			bpe = (double)all_bytes / (double)all_events;
		else
			continue;
		kb = buffer_kb + (uint64_t)ceil((double)worst * bpe / 1024.0);
		run_kb = round_up_pow2(buffer_kb + (uint64_t)ceil((double)c->lost * bpe / 1024.0));
		if (run_kb > out->need_run_kb)
			out->need_run_kb = run_kb;
		if (out->defined && kb <= out->exact_kb)
			continue;
		out->defined = 1;
		out->cpu = i;
		out->lost = worst;
		out->bytes_per_event = bpe;
		out->exact_kb = kb;
		out->need_kb = round_up_pow2(kb);
		out->events_per_s = secs > 0 ? (double)(c->events + c->lost) / secs : NAN;
	}
	return 1;
}

/* "2.10 M" events per second, or "?" when the rate is undefined. */
static void format_rate(char *buf, size_t len, double r)
{
	if (!isfinite(r))
		snprintf(buf, len, "an unknown number of");
	else if (r >= 1e6)
		snprintf(buf, len, "%.2f M", r / 1e6);
	else if (r >= 1e3)
		snprintf(buf, len, "%.1f k", r / 1e3);
	else
		snprintf(buf, len, "%.0f", r);
}

int pcp_progress_format_advice(char *buf, size_t len, uint64_t buffer_kb,
			       const struct pcp_buffer_advice *a)
{
	char total[32], lost[32], rate[32];

	pcp_progress_group(total, sizeof(total), a->lost_total);
	if (!a->defined)
		return snprintf(buf, len, "pcprecord: lost %s events; no event was kept to measure "
				"bytes per event, so no buffer size can be computed: try a much "
				"larger -b than %llu", total, (unsigned long long)buffer_kb);
	pcp_progress_group(lost, sizeof(lost), a->lost);
	format_rate(rate, sizeof(rate), a->events_per_s);
	return snprintf(buf, len, "pcprecord: lost %s events; -b %llu would have kept them "
			"(CPU %d: %llu KB + %s lost in its worst second x %.1f B/event = %llu KB, "
			"rounded up to a power of two; it wrote %s events/s)", total, (unsigned long long)a->need_kb,
			a->cpu, (unsigned long long)buffer_kb, lost, a->bytes_per_event,
			(unsigned long long)a->exact_kb, rate);
}

int pcp_progress_loss_sustained(unsigned lossy_samples, unsigned samples)
{
	return samples >= 3 && 4ull * lossy_samples >= 3ull * samples;
}

struct pcp_progress {
	const struct pcp_record *rec;
	struct pcp_progress_opts o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stopping;
	int line_shown;              /* a status line is on the terminal */
	uint64_t last_lost;
	struct pcp_record_live_cpu *live;   /* per CPU, the sample being read */
	struct pcp_progress_result res;
};

void pcp_progress_result_release(struct pcp_progress_result *res)
{
	free(res->sampled_lost);
	free(res->peak_lost);
	res->sampled_lost = res->peak_lost = NULL;
	res->nr_cpus = 0;
}

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One sample: the notice on the first loss, the status line. Called with lock held. */
static void sample(struct pcp_progress *p)
{
	struct pcp_record_live live;
	struct pcp_progress_figures f;
	char line[256], lost[32];

	if (pcp_record_live_read(p->rec, p->live, &live) != 0)
		return;
	for (int i = 0; i < p->res.nr_cpus; i++) {
		uint64_t l = p->live[i].lost, d = l > p->res.sampled_lost[i] ? l - p->res.sampled_lost[i] : 0;

		if (!p->live[i].recorded)
			continue;
		if (d > p->res.peak_lost[i])
			p->res.peak_lost[i] = d;
		p->res.sampled_lost[i] = l;
	}
	f = (struct pcp_progress_figures){ since(&p->o.start), live.events, live.bytes, live.lost };
	p->res.samples++;
	if (live.lost > p->last_lost)
		p->res.lossy_samples++;
	p->last_lost = live.lost;
	if (live.lost && !p->res.noticed) {
		p->res.noticed = 1;
		fprintf(p->o.out, "%spcprecord: losing events: %s lost on %d CPU%s after %.1f s "
			"(%zu KB per CPU); the last line will say which -b would have kept them\n",
			p->line_shown ? CLEAR_LINE : "", pcp_progress_group(lost, sizeof(lost), live.lost),
			live.lossy_cpus, live.lossy_cpus == 1 ? "" : "s", f.elapsed_s,
			pcp_record_buffer_kb(p->rec));
		p->line_shown = 0;
	}
	if (p->o.status_line) {
		pcp_progress_format(line, sizeof(line), &f, p->o.color);
		fprintf(p->o.out, "\r%s\033[K", line);
		p->line_shown = 1;
	}
	fflush(p->o.out);
}

static void *progress_main(void *arg)
{
	struct pcp_progress *p = arg;
	double iv = p->o.interval_s > 0 ? p->o.interval_s : 1.0;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		next.tv_sec += (time_t)iv;
		next.tv_nsec += (long)((iv - (double)(time_t)iv) * 1e9);
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		while (!p->stopping && pthread_cond_timedwait(&p->cond, &p->lock, &next) == 0)
			;
		if (!p->stopping)
			sample(p);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int pcp_progress_start(const struct pcp_record *rec, const struct pcp_progress_opts *o,
		       struct pcp_progress **out)
{
	struct pcp_progress *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	*out = NULL;
	if (!p)
		return PCP_ERR_NOMEM;
	p->rec = rec;
	p->o = *o;
	p->res.nr_cpus = pcp_record_nr_cpus(rec);
	p->live = calloc((size_t)p->res.nr_cpus, sizeof(*p->live));
	p->res.sampled_lost = calloc((size_t)p->res.nr_cpus, sizeof(uint64_t));
	p->res.peak_lost = calloc((size_t)p->res.nr_cpus, sizeof(uint64_t));
	if (!p->live || !p->res.sampled_lost || !p->res.peak_lost) {
		free(p->live);
		pcp_progress_result_release(&p->res);
		free(p);
		return PCP_ERR_NOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* signals stay with the main thread, which stops the recording */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&p->thread, NULL, progress_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p->live);
		pcp_progress_result_release(&p->res);
		free(p);
		return PCP_ERR_INTERNAL;
	}
	*out = p;
	return PCP_OK;
}

void pcp_progress_finish(struct pcp_progress *p, struct pcp_progress_result *res)
{
	if (!p) {
		if (res)
			memset(res, 0, sizeof(*res));
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	/* the last sample: a loss since the previous one is still noticed while running */
	{
		int shown = p->o.status_line;

		p->o.status_line = 0;
		sample(p);
		p->o.status_line = shown;
	}
	if (p->line_shown) {
		fputs(CLEAR_LINE, p->o.out);
		fflush(p->o.out);
	}
	if (res)
		*res = p->res; /* the arrays go with it */
	else
		pcp_progress_result_release(&p->res);
	free(p->live);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
