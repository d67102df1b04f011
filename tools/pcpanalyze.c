/* pcpanalyze: trace.dat -> PCP churn / zone-lock / percpu metrics in SQLite, text and JSON.
 * Only parses options and calls the library (lib/analyze.c, lib/store.c, lib/report.c). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pcptrace/analyze.h"
#include "pcptrace/error.h"
#include "pcptrace/report.h"
#include "pcptrace/store.h"

#ifndef PCPTRACE_VERSION
#define PCPTRACE_VERSION "unknown"
#endif

static const char usage_text[] =
	"usage: pcpanalyze [options] trace.dat\n"
	"       pcpanalyze compare ...   (compare runs)\n"
	"       pcpanalyze merge ...     (merge results databases)\n"
	"\n"
	"Analyzes PCP refill/drain churn, imbalance, zone-lock and percpu activity in a trace.dat\n"
	"and writes the results to SQLite.\n"
	"\n"
	"  -o, --output FILE         results database (default: the trace's name with .db)\n"
	"      --json FILE|-         also write the JSON document (- = stdout; the text summary\n"
	"                            is then not printed)\n"
	"      --churn-window NS     round trips up to NS count as fast churn (default 1000000)\n"
	"      --bucket NS           window for peak lock rates and the timeline (default 10000000)\n"
	"      --top N               PFNs kept in pfn_cycles (default 100)\n"
	"      --refill-source SRC   native|fallback (default: native if the trace has\n"
	"                            kmem:mm_page_pcpu_refill, else fallback)\n"
	"  -q, --quiet               no text summary\n"
	"  -h, --help                this help\n"
	"  -V, --version             version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 cannot open, 4 empty, 5 not a trace.dat, 6 truncated,\n"
	"7 corrupt, 8 no analyzable event, 9 mode impossible, 10 database, 11 JSON, 14 bad meta,\n"
	"70 out of memory, 74 I/O; see pcpanalyze(1).\n";

static void err_line(const char *file, const char *problem)
{
	fprintf(stderr, "pcpanalyze: %s: %s\n", file, problem);
}

static int usage_error(const char *what, const char *problem)
{
	fprintf(stderr, "pcpanalyze: %s: %s (see pcpanalyze --help)\n", what, problem);
	return pcp_exit_code(PCP_ERR_USAGE);
}

/* Strict unsigned decimal (no sign, no junk). */
static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

/* TODO(compare/merge owner): replace these stubs with calls into lib/compare.c and lib/merge.c
 * (pcp_compare_runs, pcp_merge_databases) and their own option parsing; main() already
 * dispatches here when the first argument is `compare` or `merge`. */
static int cmd_compare(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "pcpanalyze: compare: not built yet\n");
	return pcp_exit_code(PCP_ERR_USAGE);
}

static int cmd_merge(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "pcpanalyze: merge: not built yet\n");
	return pcp_exit_code(PCP_ERR_USAGE);
}

/* trace.dat -> trace.db; x -> x.db */
static char *default_db_path(const char *trace)
{
	size_t n = strlen(trace);
	char *out;

	if (n > 4 && strcmp(trace + n - 4, ".dat") == 0 && trace[n - 5] != '/')
		n -= 4;
	out = malloc(n + 4);
	if (!out)
		return NULL;
	memcpy(out, trace, n);
	memcpy(out + n, ".db", 4);
	return out;
}

enum { OPT_JSON = 256, OPT_CHURN_WINDOW, OPT_BUCKET, OPT_TOP, OPT_REFILL_SOURCE };

static int cmd_analyze(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "churn-window", required_argument, NULL, OPT_CHURN_WINDOW },
		{ "bucket", required_argument, NULL, OPT_BUCKET },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "refill-source", required_argument, NULL, OPT_REFILL_SOURCE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct pcp_analyze_opts opts;
	struct pcp_analysis *a = NULL;
	const char *db_opt = NULL, *json_path = NULL, *trace;
	char *db_path = NULL;
	char errbuf[512];
	uint64_t v;
	int quiet = 0, c, err;

	pcp_analyze_opts_default(&opts);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': db_opt = optarg; break;
		case OPT_JSON: json_path = optarg; break;
		case OPT_CHURN_WINDOW:
			if (parse_u64(optarg, &v))
				return usage_error("--churn-window", "expects a number of nanoseconds");
			opts.churn_window_ns = v;
			break;
		case OPT_BUCKET:
			if (parse_u64(optarg, &v) || v == 0)
				return usage_error("--bucket", "expects a positive number of nanoseconds");
			opts.bucket_ns = v;
			break;
		case OPT_TOP:
			if (parse_u64(optarg, &v) || v > 100000000)
				return usage_error("--top", "expects a count");
			opts.top_n = (unsigned)v;
			break;
		case OPT_REFILL_SOURCE:
			if (!strcmp(optarg, "native"))
				opts.refill_source = PCP_REFILL_NATIVE;
			else if (!strcmp(optarg, "fallback"))
				opts.refill_source = PCP_REFILL_FALLBACK;
			else
				return usage_error("--refill-source", "expects native or fallback");
			break;
		case 'q': quiet = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("pcpanalyze %s\n", PCPTRACE_VERSION); return 0;
		case ':':
			return usage_error(argv[optind - 1], "needs an argument");
		default:
			return usage_error(optopt ? (char[]){ '-', (char)optopt, 0 } : argv[optind - 1],
					   "unknown option");
		}
	}
	if (optind != argc - 1)
		return usage_error("arguments", optind >= argc ? "expects one trace.dat" : "expects exactly one trace.dat");
	trace = argv[optind];

	db_path = db_opt ? strdup(db_opt) : default_db_path(trace);
	if (!db_path) {
		err_line(trace, pcp_strerror(PCP_ERR_NOMEM));
		return pcp_exit_code(PCP_ERR_NOMEM);
	}
	if (json_path && strcmp(json_path, "-") && !strcmp(json_path, db_path)) {
		free(db_path);
		return usage_error("--json", "must differ from the database path");
	}

	err = pcp_analyze_file(trace, &opts, &a, errbuf, sizeof(errbuf));
	if (err) {
		err_line(trace, errbuf[0] ? errbuf : pcp_strerror(err));
		goto out;
	}
	/* The store writes a temp file beside db_path and renames it: nothing half-written. */
	errbuf[0] = '\0';
	err = pcp_store_write(db_path, a, errbuf, sizeof(errbuf));
	if (err) {
		err_line(db_path, errbuf[0] ? errbuf : pcp_strerror(err));
		goto out;
	}
	if (json_path) {
		err = pcp_report_json_write(json_path, a);
		if (err) {
			err_line(strcmp(json_path, "-") ? json_path : "stdout", pcp_strerror(err));
			unlink(db_path);   /* all outputs or none */
			goto out;
		}
	}
	if (!quiet && !(json_path && !strcmp(json_path, "-"))) {
		pcp_report_text(stdout, a);
		printf("results: %s\n", db_path);
		if (fflush(stdout) != 0) {
			err_line("stdout", strerror(errno));
			err = PCP_ERR_IO;
		}
	}
out:
	pcp_analysis_free(a);
	free(db_path);
	return pcp_exit_code(err);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "compare"))
		return cmd_compare(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "merge"))
		return cmd_merge(argc - 1, argv + 1);
	return cmd_analyze(argc, argv);
}
