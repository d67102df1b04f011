/* libFuzzer target over the path of `pcpanalyze -o DB --json J FILE`: the input is written to a
 * trace.dat in a private temp dir, analyzed, the text summary, JSON and database are written
 * there and everything is removed again before the next input (tests/fuzz/README.md).
 *
 * Any sanitizer report, crash or hang is a finding; an error return is the expected answer to a
 * damaged file. Error codes outside the documented reader set abort, so a damaged trace
 * reported as, say, a database error is a finding too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model/analyze.h"
#include "common/error.h"
#include "output/report.h"
#include "output/store.h"

static char dir[64], trace[96], json[96], db[96];
static FILE *devnull;

static void remove_dir(void)
{
	if (dir[0])
		rmdir(dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pcp_fuzz.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	snprintf(trace, sizeof(trace), "%s/in.dat", dir);
	snprintf(json, sizeof(json), "%s/out.json", dir);
	snprintf(db, sizeof(db), "%s/out.db", dir);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	atexit(remove_dir);
}

/* What a damaged or unanalyzable trace may be answered with (pcpanalyze(1) exit codes). */
static int expected_error(int err)
{
	switch (err) {
	case PCP_ERR_EMPTY: case PCP_ERR_NOT_TRACE: case PCP_ERR_TRUNCATED: case PCP_ERR_CORRUPT:
	case PCP_ERR_NO_EVENTS: case PCP_ERR_MODE: case PCP_ERR_NOMEM:
		return 1;
	default:
		return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcp_analysis *a = NULL;
	char errbuf[512];
	FILE *f;
	int err;

	if (!dir[0])
		setup();
	f = fopen(trace, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
		perror(trace);
		abort();
	}
	/* PCP_FUZZ_JOBS=N: the -j N path (decode threads, the lifecycle, churn or pairing threads)
	 * instead of one thread; damaged files must get the same kind of answer there */
	static struct pcp_analyze_opts opts;
	static int opts_set;
	if (!opts_set) {
		const char *jobs = getenv("PCP_FUZZ_JOBS");

		pcp_analyze_opts_default(&opts);
		if (jobs && atoi(jobs) > 1)
			opts.jobs = (unsigned)atoi(jobs);
		opts_set = 1;
	}
	err = pcp_analyze_file(trace, &opts, &a, errbuf, sizeof(errbuf));
	if (err) {
		if (!expected_error(err)) {
			fprintf(stderr, "fuzz: unexpected error %d (%s): %s\n", err, pcp_strerror(err), errbuf);
			abort();
		}
		if (!errbuf[0] || strchr(errbuf, '\n')) {
			fprintf(stderr, "fuzz: error %d without a one-line reason: '%s'\n", err, errbuf);
			abort();
		}
	} else {
		pcp_report_text(devnull, a);
		if ((err = pcp_report_json_write(json, a))) {
			fprintf(stderr, "fuzz: JSON write failed: %s\n", pcp_strerror(err));
			abort();
		}
		if ((err = pcp_store_write(db, a, errbuf, sizeof(errbuf)))) {
			fprintf(stderr, "fuzz: database write failed: %s\n", errbuf);
			abort();
		}
		pcp_analysis_free(a);
	}
	unlink(json);
	unlink(db);
	unlink(trace);
	return 0;
}
