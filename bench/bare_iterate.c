/* The baseline for bench/run.sh: the cheapest possible full pass over a trace.dat with
 * libtracecmd: open, then tracecmd_iterate_events_multi over the top buffer and every buffer
 * instance (`trace-cmd extract -B` and pcprecord files keep their data in an instance; the top
 * buffer then has no CPU data), with a callback that only counts. Prints the record count,
 * which bench/run.sh checks against pcpanalyze's events_total. */
#include <stdio.h>
#include <stdlib.h>
#include <trace-cmd/trace-cmd.h>

static int count_record(struct tracecmd_input *handle, struct tep_record *record, int cpu, void *data)
{
	(void)handle; (void)record; (void)cpu;
	++*(unsigned long long *)data;
	return 0;
}

int main(int argc, char **argv)
{
	struct tracecmd_input *top, **handles;
	unsigned long long records = 0;
	int nr, rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: bare_iterate trace.dat\n");
		return 2;
	}
	tracecmd_set_loglevel(TEP_LOG_NONE);
	top = tracecmd_open(argv[1], 0);
	if (!top) {
		fprintf(stderr, "bare_iterate: %s: cannot open\n", argv[1]);
		return 1;
	}
	nr = tracecmd_buffer_instances(top);
	if (nr < 0)
		nr = 0;
	handles = calloc((size_t)nr + 1, sizeof(*handles));
	if (!handles) {
		fprintf(stderr, "bare_iterate: out of memory\n");
		return 1;
	}
	handles[0] = top;
	for (int i = 0; i < nr; i++) {
		handles[i + 1] = tracecmd_buffer_instance_handle(top, i);
		if (!handles[i + 1]) {
			fprintf(stderr, "bare_iterate: %s: cannot open buffer instance %d\n", argv[1], i);
			return 1;
		}
	}
	if (tracecmd_iterate_events_multi(handles, nr + 1, count_record, &records) < 0)
		rc = 1;
	printf("%llu\n", records);
	for (int i = 1; i <= nr; i++)
		tracecmd_close(handles[i]);
	tracecmd_close(top);
	free(handles);
	return rc;
}
