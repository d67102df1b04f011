/* The baseline for bench/run.sh: the cheapest possible full pass over a trace.dat with
 * libtracecmd (open, then tracecmd_iterate_events with a callback that only counts). */
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
	struct tracecmd_input *handle;
	unsigned long long records = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: bare_iterate trace.dat\n");
		return 2;
	}
	handle = tracecmd_open(argv[1], 0);
	if (!handle) {
		fprintf(stderr, "bare_iterate: %s: cannot open\n", argv[1]);
		return 1;
	}
	tracecmd_iterate_events(handle, NULL, 0, count_record, &records);
	printf("%llu\n", records);
	tracecmd_close(handle);
	return 0;
}
