/* The public record group (pcp_recording(3)): options gathered in a handle, then the
 * recorder's own sequence (lib/record/record.h): check the system, create the instance, start,
 * stop, remove the instance, write the trace.dat, destroy. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "common/error.h"
#include "record/record.h"
#include "tracedat/time_base.h"
#include "tracedat/tsc2nsec.h"

struct pcp_recording_opts {
	size_t buffer_kb;
	char *cpulist, *clock, *output, *compression;
	int file_version;
	int force_clock;
	int lifecycle;
	char **events;
	size_t nr_events;
};

/* FAILED: stopping failed, the data is incomplete: only destroy is left. */
enum recording_state { REC_CREATED, REC_STARTED, REC_STOPPED, REC_FAILED };

/* How an x86-tsc recording gets its TSC2NSEC option (as pcprecord): the kernel's conversion,
 * else the TSC rate measured between create and stop, else none (forced: no time base). */
enum tsc_way { TSC_NO, TSC_PERF, TSC_MEASURE };

struct pcp_recording {
	struct pcp_record *rec;
	char *output;
	enum recording_state state;
	enum tsc_way tsc;
	uint32_t tsc_mult, tsc_shift;
	struct pcp_tsc_sample tsc_start;
};

PCP_API struct pcp_recording_opts *pcp_recording_opts_new(void)
{
	struct pcp_recording_opts *o = calloc(1, sizeof(*o));

	if (!o) {
		pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
		return NULL;
	}
	o->file_version = 6;
	return o;
}

PCP_API void pcp_recording_opts_free(struct pcp_recording_opts *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nr_events; i++)
		free(o->events[i]);
	free(o->events);
	free(o->cpulist);
	free(o->clock);
	free(o->output);
	free(o->compression);
	free(o);
}

/* *dst = a copy of src (NULL stays NULL). */
static int replace_string(char **dst, const char *src)
{
	char *copy = NULL;

	if (src && !(copy = strdup(src)))
		return pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	free(*dst);
	*dst = copy;
	return PCP_OK;
}

PCP_API int pcp_recording_opts_add_event(struct pcp_recording_opts *o, const char *event)
{
	char **grown;

	if (!o || !event || !strchr(event, ':') || event[0] == ':')
		return pcp_api_failf(PCP_ERR_USAGE, NULL, "event %s: expects system:event or system:*",
				     event ? event : "(null)");
	if (!(grown = realloc(o->events, (o->nr_events + 1) * sizeof(*o->events))))
		return pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	o->events = grown;
	if (!(o->events[o->nr_events] = strdup(event)))
		return pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	o->nr_events++;
	return PCP_OK;
}

PCP_API int pcp_recording_opts_set_buffer_kb(struct pcp_recording_opts *o, size_t kb)
{
	if (!o)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "recording options are NULL");
	o->buffer_kb = kb;
	return PCP_OK;
}

PCP_API int pcp_recording_opts_set_lifecycle(struct pcp_recording_opts *o, int on)
{
	if (!o)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "recording options are NULL");
	o->lifecycle = on != 0;
	return PCP_OK;
}

PCP_API int pcp_recording_opts_set_cpus(struct pcp_recording_opts *o, const char *cpulist)
{
	if (!o || (cpulist && !*cpulist))
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "cpus: expects a CPU list such as 0-3,6");
	return replace_string(&o->cpulist, cpulist);
}

PCP_API int pcp_recording_opts_set_clock(struct pcp_recording_opts *o, const char *clock, int force)
{
	if (!o || (clock && !*clock))
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "clock: expects a trace clock name");
	o->force_clock = force != 0;
	return replace_string(&o->clock, clock);
}

PCP_API int pcp_recording_opts_set_output(struct pcp_recording_opts *o, const char *path,
					  int version, const char *compression)
{
	int err;

	if (!o || !path || !*path)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "output: expects a file name");
	if (version != 6 && version != 7)
		return pcp_api_failf(PCP_ERR_USAGE, path, "trace.dat version %d: expects 6 or 7", version);
	if (compression && strcmp(compression, "none") && (version != 7 ||
	    (strcmp(compression, "zstd") && strcmp(compression, "zlib"))))
		return pcp_api_failf(PCP_ERR_USAGE, path, "compression %s: expects none, or zstd or "
				     "zlib with version 7", compression);
	if ((err = replace_string(&o->output, path)) || (err = replace_string(&o->compression, compression)))
		return err;
	o->file_version = version;
	return PCP_OK;
}

/* The recorder's options from ours; spool beside the output (same file system). */
static void recording_opts_fill(const struct pcp_recording_opts *o, char *spool_dir,
				struct pcp_record_opts *ro)
{
	memset(ro, 0, sizeof(*ro));
	ro->buffer_kb = o->buffer_kb;
	ro->cpulist = o->cpulist;
	ro->clock = o->clock;
	ro->lifecycle = o->lifecycle;
	ro->extra_events = (const char *const *)o->events;
	ro->nr_extra_events = o->nr_events;
	ro->spool_dir = dirname(spool_dir);
	ro->file_version = o->file_version;
	ro->compression = o->compression;
}

PCP_API void pcp_recording_destroy(struct pcp_recording *r)
{
	if (!r)
		return;
	pcp_record_destroy(r->rec);   /* stops, removes the instance, frees */
	free(r->output);
	free(r);
}

/* pcprecord's clock check: a clock without a time base is refused unless forced; x86-tsc
 * needs a TSC-to-ns conversion (the kernel's, or a TSC that can be measured). */
static int recording_check_clock(const struct pcp_recording_opts *o, struct pcp_recording *r)
{
	char why_perf[160] = "", why_tsc[160] = "";
	const char *why;

	r->tsc = TSC_NO;
	if (!o->clock)
		return PCP_OK;
	if (!strcmp(o->clock, "x86-tsc")) {
		if (pcp_tsc2nsec_from_perf(&r->tsc_mult, &r->tsc_shift, why_perf, sizeof(why_perf)) == PCP_OK)
			r->tsc = TSC_PERF;
		else if (pcp_tsc_sample(&r->tsc_start, why_tsc, sizeof(why_tsc)) == PCP_OK)
			r->tsc = TSC_MEASURE;
		else if (!o->force_clock)
			return pcp_api_failf(PCP_ERR_USAGE, NULL, "clock x86-tsc: no TSC-to-ns conversion "
					     "(%s; %s): no rates or durations (force to record anyway)",
					     why_perf, why_tsc);
	} else if (pcp_time_base_of(o->clock, 0, &why) == PCP_TIME_NONE && !o->force_clock) {
		return pcp_api_failf(PCP_ERR_USAGE, NULL, "clock %s: %s: no rates or durations "
				     "(force to record anyway)", o->clock, why);
	}
	return PCP_OK;
}

/* The recorder's instance for r, from the options (spool files beside the output). */
static int recording_create_instance(const struct pcp_recording_opts *o, struct pcp_recording *r)
{
	struct pcp_record_opts ro;
	char errbuf[512] = "", *spool_dir = strdup(o->output);
	int err;

	if (!spool_dir)
		return pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	recording_opts_fill(o, spool_dir, &ro);
	err = pcp_record_create(&ro, &r->rec, errbuf, sizeof(errbuf));
	free(spool_dir);
	if (err)
		return pcp_api_fail(err, NULL, errbuf);
	if (r->tsc == TSC_PERF)
		pcp_record_set_tsc2nsec(r->rec, r->tsc_mult, r->tsc_shift, "perf");
	return PCP_OK;
}

PCP_API int pcp_recording_create(const struct pcp_recording_opts *o, struct pcp_recording **out)
{
	struct pcp_recording *r;
	char errbuf[512] = "";
	int err;

	if (!out)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "no place for the recording (out is NULL)");
	*out = NULL;
	if (!o || !o->output)
		return pcp_api_fail(PCP_ERR_USAGE, NULL, "a recording needs an output (pcp_recording_opts_set_output)");
	if (!(r = calloc(1, sizeof(*r))) || !(r->output = strdup(o->output))) {
		free(r);
		return pcp_api_fail(PCP_ERR_NOMEM, NULL, NULL);
	}
	/* Options first (no root needed to be told), then the system, then the instance. */
	err = recording_check_clock(o, r);
	if (!err && (err = pcp_record_check_system(errbuf, sizeof(errbuf))))
		pcp_api_fail(err, NULL, errbuf);
	if (!err)
		err = recording_create_instance(o, r);
	if (err) {
		pcp_recording_destroy(r);
		return err;
	}
	r->state = REC_CREATED;
	*out = r;
	return PCP_OK;
}

static int check_state(const struct pcp_recording *r, enum recording_state want, const char *what)
{
	static const char *const names[] = { "created", "started", "stopped", "failed" };

	if (!r)
		return pcp_api_failf(PCP_ERR_USAGE, NULL, "%s: the recording is NULL", what);
	if (r->state != want)
		return pcp_api_failf(PCP_ERR_USAGE, NULL, "%s: the recording is %s, not %s", what,
				     names[r->state], names[want]);
	return PCP_OK;
}

PCP_API int pcp_recording_start(struct pcp_recording *r)
{
	char errbuf[512] = "";
	int err = check_state(r, REC_CREATED, "pcp_recording_start");

	if (err)
		return err;
	if ((err = pcp_record_start(r->rec, errbuf, sizeof(errbuf))))
		return pcp_api_fail(err, NULL, errbuf);
	r->state = REC_STARTED;
	return PCP_OK;
}

/* x86-tsc without the kernel's conversion: the TSC rate over the recording. When it cannot be
 * measured (too short) the trace has no time base, as pcprecord's would (it warns). */
static void recording_measure_tsc(struct pcp_recording *r)
{
	struct pcp_tsc_sample stop;
	uint32_t mult, shift;
	char why[160];

	if (r->tsc != TSC_MEASURE || pcp_tsc_sample(&stop, why, sizeof(why)) != PCP_OK)
		return;
	if (pcp_tsc2nsec_calibrate(&r->tsc_start, &stop, &mult, &shift, why, sizeof(why)) == PCP_OK)
		pcp_record_set_tsc2nsec(r->rec, mult, shift, "calibrated");
}

PCP_API int pcp_recording_stop(struct pcp_recording *r)
{
	char errbuf[512] = "";
	int err = check_state(r, REC_STARTED, "pcp_recording_stop");

	if (err)
		return err;
	err = pcp_record_stop(r->rec, errbuf, sizeof(errbuf));
	pcp_record_remove_instance(r->rec);
	r->state = err ? REC_FAILED : REC_STOPPED;
	if (err)
		return pcp_api_fail(err, NULL, errbuf);
	recording_measure_tsc(r);
	return PCP_OK;
}

PCP_API uint64_t pcp_recording_lost_events(const struct pcp_recording *r)
{
	return r && r->state == REC_STOPPED ? pcp_record_lost_events(r->rec) : 0;
}

PCP_API int pcp_recording_write(struct pcp_recording *r)
{
	char errbuf[512] = "";
	int err = check_state(r, REC_STOPPED, "pcp_recording_write");

	if (err)
		return err;
	if ((err = pcp_record_write_trace(r->rec, r->output, errbuf, sizeof(errbuf))))
		return pcp_api_fail(err, r->output, errbuf);
	return PCP_OK;
}
