/* pcpanalyze: trace.dat -> PCP churn / zone-lock / percpu metrics in SQLite, text and JSON.
 * Only parses options and calls the library (lib/model/analyze.c, lib/output/store.c, lib/output/report.c). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model/analyze.h"
#include "compare/compare.h"
#include "compare/compare_html.h"
#include "common/error.h"
#include "common/util.h"
#include "output/html_report.h"
#include "output/outfile.h"
#include "output/report.h"
#include "output/store.h"
#include "output/perfetto.h"
#include "model/analysis_filter.h"

#ifndef PCPTRACE_VERSION
#define PCPTRACE_VERSION "unknown"
#endif

static const char usage_text[] =
	"usage: pcpanalyze [options] trace.dat\n"
	"       pcpanalyze compare ...   (compare runs)\n"
	"       pcpanalyze merge ...     (runs in one database: results databases, trace.dat files)\n"
	"       pcpanalyze report ...    (draw a results database as HTML)\n"
	"\n"
	"Analyzes PCP refill/drain churn, imbalance, zone-lock and percpu activity in a trace.dat\n"
	"and writes the results to SQLite.\n"
	"\n"
	"  -o, --output FILE         results database (default: the trace's name with .db)\n"
	"      --json FILE|-         also write the JSON document (- = stdout; the text summary\n"
	"                            is then not printed)\n"
	"      --html FILE           also write the HTML report (one self-contained file, plots\n"
	"                            drawn from the results database)\n"
	"      --churn-window NS     round trips up to NS count as fast churn (default 1000000)\n"
	"      --bucket NS           window for peak lock rates and the timeline (default 10000000)\n"
	"      --top N               PFNs kept in pfn_cycles, acquisitions in zone_lock_longest\n"
	"                            (default 100)\n"
	"      --refill-source SRC   native|fallback (default: native if the trace has\n"
	"                            kmem:mm_page_pcpu_refill, else fallback)\n"
	"      --infer-gap auto|NS   inferred zone locks: a pause longer than NS between two\n"
	"                            blocks starts a new bulk operation (0 = off; default auto:\n"
	"                            learnt per kind from the trace)\n"
	"      --buffer NAME         the trace buffer to analyze (trace-cmd's -B NAME; top = the\n"
	"                            top-level one); needed when several hold analyzable events\n"
	"      --from T, --to T      analyze the window [T, T): seconds from the trace's first\n"
	"                            record (1.5), or absolute trace time with @ (@5123.000125)\n"
	"      --cpus LIST           only these CPUs (0-3,8)\n"
	"      --pid PID[,PID...]    only records of these pids (common_pid)\n"
	"      --comm NAME           only records of the pids the trace's cmdlines name NAME\n"
	"                            (the rule for blocks crossing the edges: pcpanalyze(1))\n"
	"      --perfetto FILE       also write a Perfetto / Chrome JSON timeline\n"
	"      --perfetto-max-slices N  zone-lock acquisitions drawn as slices (default 200000)\n"
	"  -j, --jobs N              threads (default: the CPUs this process may run on);\n"
	"                            -j 1 = one thread; the results are the same\n"
	"  -q, --quiet               no text summary\n"
	"  -h, --help                this help\n"
	"  -V, --version             version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 cannot open, 4 empty, 5 not a trace.dat, 6 truncated,\n"
	"7 corrupt, 8 no analyzable event, 9 mode impossible (also --pid/--comm on a trace without\n"
	"common_pid), 10 database, 11 JSON, 14 bad meta,\n"
	"70 out of memory, 74 I/O, 125 internal error; see pcpanalyze(1).\n";

static void err_line(const char *file, const char *problem)
{
	fprintf(stderr, "pcpanalyze: %s: %s\n", file, problem);
}

static int usage_error(const char *what, const char *problem)
{
	fprintf(stderr, "pcpanalyze: %s: %s (see pcpanalyze --help)\n", what, problem);
	return pcp_exit_code(PCP_ERR_USAGE);
}

/* An output that is one of the inputs (the trace, its meta file beside it: lib/meta/meta_read.c) would
 * replace it at the end: refuse before any work. 1 = refused (the line is printed). */
static int output_is_input(const char *cmd, const char *opt, const char *output,
			   char *const *inputs, size_t nr_inputs)
{
	char *meta = NULL;
	int clash = 0;

	if (!output || !strcmp(output, "-"))
		return 0;
	for (size_t i = 0; i < nr_inputs && !clash; i++) {
		clash = pcp_same_file(output, inputs[i]);
		if (!clash && asprintf(&meta, "%s.meta.json", inputs[i]) >= 0) {
			clash = pcp_same_file(output, meta) ? 2 : 0;
			free(meta);
		}
	}
	if (clash)
		fprintf(stderr, "%s: %s: the output (%s) is %s; choose another output file\n", cmd,
			output, opt, clash == 2 ? "an input's meta file" : "also an input");
	return clash;
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

/* The window and filter options' spec (one per process: one analysis or one compare). */
static struct pcp_filter_spec filter_spec;

/* --from/--to/--cpus/--pid/--comm. 1 = it was one of them (an error already printed: -1). */
static int filter_option(const char *name, const char *arg, struct pcp_analyze_opts *opts)
{
	int bad = 0;

	if (!strcmp(name, "from"))
		bad = pcp_filter_parse_time(arg, &filter_spec.from) ? -1 : 0;
	else if (!strcmp(name, "to"))
		bad = pcp_filter_parse_time(arg, &filter_spec.to) ? -1 : 0;
	else if (!strcmp(name, "cpus"))
		bad = pcp_filter_parse_cpus(arg, &filter_spec) ? -1 : 0;
	else if (!strcmp(name, "pid"))
		bad = pcp_filter_parse_pids(arg, &filter_spec) ? -1 : 0;
	else if (!strcmp(name, "comm")) {
		if (!*arg || strlen(arg) >= sizeof(filter_spec.comm))
			bad = -1;
		else
			snprintf(filter_spec.comm, sizeof(filter_spec.comm), "%s", arg);
	} else
		return 0;
	if (bad) {
		usage_error(!strcmp(name, "from") ? "--from" : !strcmp(name, "to") ? "--to"
			    : !strcmp(name, "cpus") ? "--cpus" : !strcmp(name, "pid") ? "--pid" : "--comm",
			    !strcmp(name, "from") || !strcmp(name, "to")
			    ? "expects seconds from the start (1.5) or @absolute trace time (@5123.000125)"
			    : !strcmp(name, "cpus") ? "expects a CPU list (0-3,8)"
			    : !strcmp(name, "pid") ? "expects pids (17,42; at most 64)"
			    : "expects a task name (at most 63 characters)");
		return -1;
	}
	opts->filter = &filter_spec;
	return 1;
}

/* An empty window of one kind of time is a usage error (relative vs absolute: the trace says). */
static int window_error(void)
{
	if (filter_spec.from.set && filter_spec.to.set &&
	    filter_spec.from.absolute == filter_spec.to.absolute && filter_spec.to.ns <= filter_spec.from.ns)
		return usage_error("--to", "must be after --from");
	return 0;
}

/* -j's default: the CPUs this process may run on. */
static unsigned default_jobs(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? (unsigned)n : 1;
}

/* Applies one of the analysis options shared by `pcpanalyze` and `pcpanalyze compare`
 * (compare analyzes trace.dat inputs on the fly with the same options). 0 = handled. */
static int analysis_option(const char *name, const char *arg, struct pcp_analyze_opts *opts)
{
	uint64_t v;
	int f = filter_option(name, arg, opts);

	if (f)
		return f < 0 ? -1 : 0;
	if (!strcmp(name, "jobs")) {
		if (parse_u64(arg, &v) || v == 0 || v > 1024)
			return usage_error("--jobs", "expects a number of threads from 1 to 1024");
		opts->jobs = (unsigned)v;
	} else if (!strcmp(name, "churn-window")) {
		if (parse_u64(arg, &v))
			return usage_error("--churn-window", "expects a number of nanoseconds");
		opts->churn_window_ns = v;
	} else if (!strcmp(name, "bucket")) {
		if (parse_u64(arg, &v) || v == 0)
			return usage_error("--bucket", "expects a positive number of nanoseconds");
		opts->bucket_ns = v;
	} else if (!strcmp(name, "top")) {
		if (parse_u64(arg, &v) || v > 100000000)
			return usage_error("--top", "expects a count");
		opts->top_n = (unsigned)v;
	} else if (!strcmp(name, "infer-gap")) {
		if (!strcmp(arg, "auto"))
			opts->infer_gap_ns = PCP_INFER_GAP_AUTO;
		else if (parse_u64(arg, &v) || v == PCP_INFER_GAP_AUTO)
			return usage_error("--infer-gap", "expects auto or a number of nanoseconds (0 = off)");
		else
			opts->infer_gap_ns = v;
	} else if (!strcmp(name, "refill-source")) {
		if (!strcmp(arg, "native"))
			opts->refill_source = PCP_REFILL_NATIVE;
		else if (!strcmp(arg, "fallback"))
			opts->refill_source = PCP_REFILL_FALLBACK;
		else
			return usage_error("--refill-source", "expects native or fallback");
	} else if (!strcmp(name, "buffer")) {
		if (!*arg)
			return usage_error("--buffer", "expects a buffer name (top for the top-level one)");
		opts->buffer = arg;
	}
	return 0;
}

static const char compare_usage_text[] =
	"usage: pcpanalyze compare [options] BASE... -- NEW...\n"
	"       pcpanalyze compare [options] BASE NEW\n"
	"\n"
	"Compares the metrics of base and new runs (results databases or trace.dat files, the\n"
	"latter analyzed on the fly) and gives a verdict per metric: better, worse, same,\n"
	"regression (or changed, for metrics without a direction).\n"
	"\n"
	"      --threshold NAME=PCT  noise threshold for one metric, in percent (repeatable)\n"
	"      --only NAME[,NAME...] compare only these metrics\n"
	"      --fail-on WHAT        regression (default) or worse: what makes the exit status 1\n"
	"      --allow-mode-mismatch compare runs with different refill sources anyway\n"
	"      --allow-lossy         compare runs that lost events anyway (the output names them)\n"
	"      --allow-different-windows  compare runs analyzed with different --from/--to/--cpus/\n"
	"                            --pid/--comm anyway\n"
	"      --json FILE|-         write the comparison as JSON (- = stdout, no text table)\n"
	"      --junit FILE          write JUnit XML: one test case per metric\n"
	"      --html FILE           write the comparison as a self-contained HTML page\n"
	"      --churn-window NS, --bucket NS, --top N, --refill-source SRC, --infer-gap auto|NS,\n"
	"      --buffer NAME, --from T, --to T, --cpus LIST, --pid PIDS, --comm NAME\n"
	"                            analysis options for trace.dat inputs (see pcpanalyze --help)\n"
	"  -j, --jobs N              threads: trace.dat inputs analyzed side by side (default: the\n"
	"                            CPUs this process may run on; 1 = one after the other)\n"
	"  -q, --quiet               no text table\n"
	"  -h, --help                this help\n"
	"\n"
	"Exit status: 0 no regression, 1 at least one regression (or worse with --fail-on worse),\n"
	"2 the inputs could not be compared, 15 runs analyzed with different windows or filters.\n";

static int compare_usage_error(const char *what, const char *problem)
{
	fprintf(stderr, "pcpanalyze compare: %s: %s (see pcpanalyze compare --help)\n", what, problem);
	return 2;
}

/* Comma-separated list into a NULL-terminated array of pointers into s (modified). */
static char **split_commas(char *s, size_t *n)
{
	size_t cap = 1;
	char **list, *tok, *save = NULL;

	for (const char *p = s; *p; p++)
		cap += *p == ',';
	list = calloc(cap + 1, sizeof(*list));
	*n = 0;
	for (tok = list ? strtok_r(s, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save))
		list[(*n)++] = tok;
	return list;
}

enum { OPT_C_THRESHOLD = 300, OPT_C_ONLY, OPT_C_FAIL_ON, OPT_C_ALLOW_MISMATCH, OPT_C_JSON,
       OPT_C_JUNIT, OPT_C_ANALYSIS, OPT_C_ALLOW_LOSSY, OPT_C_ALLOW_WINDOWS, OPT_C_HTML };

static int cmd_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threshold", required_argument, NULL, OPT_C_THRESHOLD },
		{ "only", required_argument, NULL, OPT_C_ONLY },
		{ "fail-on", required_argument, NULL, OPT_C_FAIL_ON },
		{ "allow-mode-mismatch", no_argument, NULL, OPT_C_ALLOW_MISMATCH },
		{ "allow-lossy", no_argument, NULL, OPT_C_ALLOW_LOSSY },
		{ "json", required_argument, NULL, OPT_C_JSON },
		{ "junit", required_argument, NULL, OPT_C_JUNIT },
		{ "html", required_argument, NULL, OPT_C_HTML },
		{ "churn-window", required_argument, NULL, OPT_C_ANALYSIS },
		{ "bucket", required_argument, NULL, OPT_C_ANALYSIS },
		{ "top", required_argument, NULL, OPT_C_ANALYSIS },
		{ "refill-source", required_argument, NULL, OPT_C_ANALYSIS },
		{ "infer-gap", required_argument, NULL, OPT_C_ANALYSIS },
		{ "buffer", required_argument, NULL, OPT_C_ANALYSIS },
		{ "from", required_argument, NULL, OPT_C_ANALYSIS },
		{ "to", required_argument, NULL, OPT_C_ANALYSIS },
		{ "cpus", required_argument, NULL, OPT_C_ANALYSIS },
		{ "pid", required_argument, NULL, OPT_C_ANALYSIS },
		{ "comm", required_argument, NULL, OPT_C_ANALYSIS },
		{ "allow-different-windows", no_argument, NULL, OPT_C_ALLOW_WINDOWS },
		{ "jobs", required_argument, NULL, OPT_C_ANALYSIS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pcp_compare_opts opts = { 0 };
	struct pcp_compare_result *r = NULL;
	const char *json_path = NULL, *junit_path = NULL, *html_path = NULL;
	char **base, **new_, errbuf[1024] = "";
	size_t nr_base, nr_new;
	int quiet = 0, c, idx, sep, status = 2, err, json_pending = 0, html_pending = 0;
	struct pcp_outfile json_out, html_out;
	json_t *json_doc = NULL;

	pcp_analyze_opts_default(&opts.analyze);
	opts.analyze.jobs = default_jobs();
	/* Options end at "--"; what follows it are the new runs. */
	for (sep = 1; sep < argc && strcmp(argv[sep], "--"); sep++)
		;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(sep, argv, ":j:qh", longopts, &idx)) != -1) {
		switch (c) {
		case OPT_C_THRESHOLD: {
			char *eq = strchr(optarg, '='), *end;
			double pct;
			void *grown;
			if (!eq || eq == optarg)
				return compare_usage_error("--threshold", "expects NAME=PCT");
			pct = strtod(eq + 1, &end);
			if (end == eq + 1 || *end || pct < 0)
				return compare_usage_error("--threshold", "expects a non-negative percentage");
			grown = realloc(opts.thresholds, (opts.nr_thresholds + 1) * sizeof(*opts.thresholds));
			if (!grown)
				return 2;
			opts.thresholds = grown;
			*eq = '\0';
			opts.thresholds[opts.nr_thresholds].name = optarg;
			opts.thresholds[opts.nr_thresholds++].pct = pct;
			break;
		}
		case OPT_C_ONLY:
			free(opts.only);
			opts.only = split_commas(optarg, &opts.nr_only);
			if (!opts.only || !opts.nr_only)
				return compare_usage_error("--only", "expects metric names");
			break;
		case OPT_C_FAIL_ON:
			if (!strcmp(optarg, "worse"))
				opts.fail_on_worse = 1;
			else if (!strcmp(optarg, "regression"))
				opts.fail_on_worse = 0;
			else
				return compare_usage_error("--fail-on", "expects worse or regression");
			break;
		case OPT_C_ALLOW_MISMATCH: opts.allow_mode_mismatch = 1; break;
		case OPT_C_ALLOW_LOSSY: opts.allow_lossy = 1; break;
		case OPT_C_ALLOW_WINDOWS: opts.allow_different_windows = 1; break;
		case OPT_C_JSON: json_path = optarg; break;
		case OPT_C_JUNIT: junit_path = optarg; break;
		case OPT_C_HTML: html_path = optarg; break;
		case OPT_C_ANALYSIS:
			if (analysis_option(longopts[idx].name, optarg, &opts.analyze))
				return 2;
			break;
		case 'j':
			if (analysis_option("jobs", optarg, &opts.analyze))
				return 2;
			break;
		case 'q': quiet = 1; break;
		case 'h': fputs(compare_usage_text, stdout); return 0;
		case ':': return compare_usage_error(argv[optind - 1], "needs an argument");
		default: return compare_usage_error(argv[optind - 1], "unknown option");
		}
	}
	/* getopt permuted the operands before "--" to the end of argv[0..sep). */
	if (sep < argc) {
		base = argv + optind;
		nr_base = (size_t)(sep - optind);
		new_ = argv + sep + 1;
		nr_new = (size_t)(argc - sep - 1);
	} else if (argc - optind == 2) {
		base = argv + optind;
		new_ = argv + optind + 1;
		nr_base = nr_new = 1;
	} else {
		return compare_usage_error("arguments", "expects BASE NEW or BASE... -- NEW...");
	}
	if (!nr_base || !nr_new)
		return compare_usage_error("arguments", "needs at least one base and one new run");
	if (window_error())
		return 2;
	if (output_is_input("pcpanalyze compare", "--json", json_path, base, nr_base) ||
	    output_is_input("pcpanalyze compare", "--json", json_path, new_, nr_new) ||
	    output_is_input("pcpanalyze compare", "--junit", junit_path, base, nr_base) ||
	    output_is_input("pcpanalyze compare", "--junit", junit_path, new_, nr_new) ||
	    output_is_input("pcpanalyze compare", "--html", html_path, base, nr_base) ||
	    output_is_input("pcpanalyze compare", "--html", html_path, new_, nr_new))
		goto out;
	if (html_path && ((json_path && strcmp(json_path, "-") && pcp_same_file(json_path, html_path)) ||
			  (junit_path && pcp_same_file(junit_path, html_path)))) {
		compare_usage_error("--html", "must differ from the --json and --junit files");
		goto out;
	}
	if (json_path && junit_path && strcmp(json_path, "-") && pcp_same_file(json_path, junit_path)) {
		compare_usage_error("--junit", "must differ from the --json file");
		goto out;
	}

	err = pcp_compare_runs(base, nr_base, new_, nr_new, &opts, &r, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "pcpanalyze compare: %s\n", errbuf[0] ? errbuf : pcp_strerror(err));
		if (err == PCP_ERR_WINDOW_MISMATCH)
			status = pcp_exit_code(err);   /* 15: its own status (pcpanalyze(1)) */
		goto out;
	}
	if (!quiet && !(json_path && !strcmp(json_path, "-")))
		pcp_compare_report_text(stdout, r, isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
	/* The JSON file is made complete first and renamed only once the JUnit file is in place:
	 * after a failure neither output has changed (or only the JUnit file, if that rename was
	 * the last step to fail). */
	if (json_path && !(json_doc = pcp_compare_report_json(r))) {
		fprintf(stderr, "pcpanalyze compare: %s\n", pcp_strerror(PCP_ERR_NOMEM));
		goto out;
	}
	if (json_doc && strcmp(json_path, "-") &&
	    pcp_json_prepare(&json_out, json_path, json_doc, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "pcpanalyze compare: %s: %s\n", json_path, errbuf);
		goto out;
	}
	json_pending = json_doc && strcmp(json_path, "-");
	if (html_path && pcp_compare_html_prepare(&html_out, html_path, r, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "pcpanalyze compare: %s: %s\n", html_path, errbuf);
		goto out;
	}
	html_pending = html_path != NULL;
	if (junit_path && pcp_compare_write_junit(junit_path, r)) {
		fprintf(stderr, "pcpanalyze compare: %s: cannot write JUnit XML\n", junit_path);
		goto out;
	}
	if (json_pending) {
		json_pending = 0;
		if (pcp_outfile_commit(&json_out, errbuf, sizeof(errbuf))) {
			fprintf(stderr, "pcpanalyze compare: %s: %s\n", json_path, errbuf);
			goto out;
		}
	} else if (json_doc && pcp_json_write_stdout(json_doc, errbuf, sizeof(errbuf))) {
		fprintf(stderr, "pcpanalyze compare: stdout: %s\n", errbuf);
		goto out;
	}
	if (html_pending) {
		html_pending = 0;
		if (pcp_outfile_commit(&html_out, errbuf, sizeof(errbuf))) {
			fprintf(stderr, "pcpanalyze compare: %s: %s\n", html_path, errbuf);
			goto out;
		}
	}
	status = r->failed ? 1 : 0;
out:
	if (json_pending)
		pcp_outfile_abort(&json_out);
	if (html_pending)
		pcp_outfile_abort(&html_out);
	json_decref(json_doc);
	pcp_compare_result_free(r);
	free(opts.thresholds);
	free(opts.only);
	return status;
}

static const char merge_usage_text[] =
	"usage: pcpanalyze merge -o OUT.db [--label KEY=VALUE]... [analysis options] INPUT...\n"
	"\n"
	"Copies several results databases (or merged ones) into one: a run table (run, source,\n"
	"trace_file, host, kernel_release, recorded_at, refill_source, labels) and a run column\n"
	"in every table, for SQL across runs. Labels apply to the runs of this invocation. An input\n"
	"may also be a trace.dat file: it is analyzed first (as pcpanalyze -o would), side by side\n"
	"with the other trace.dat inputs.\n"
	"\n"
	"  -o, --output OUT.db       the merged database (required)\n"
	"  -l, --label KEY=VALUE     label the single-run inputs (repeatable, each key once)\n"
	"      --churn-window NS, --bucket NS, --top N, --refill-source SRC, --infer-gap auto|NS,\n"
	"      --buffer NAME, --from T, --to T, --cpus LIST, --pid PIDS, --comm NAME\n"
	"                            analysis options for trace.dat inputs (see pcpanalyze --help)\n"
	"  -j, --jobs N              threads: trace.dat inputs analyzed side by side (default: the\n"
	"                            CPUs this process may run on; 1 = one after the other)\n"
	"  -h, --help                this help\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 cannot open, 10 database, 12 not a results database of\n"
	"schema version 2 (nor a trace.dat file), 70 out of memory, 74 I/O; a trace.dat input that\n"
	"cannot be analyzed: pcpanalyze's status for it (e.g. 7 damaged); see pcpanalyze(1).\n";

static int merge_usage_error(const char *what, const char *problem)
{
	fprintf(stderr, "pcpanalyze merge: %s: %s (see pcpanalyze merge --help)\n", what, problem);
	return pcp_exit_code(PCP_ERR_USAGE);
}

static int cmd_merge(int argc, char **argv)
{
	enum { OPT_M_ANALYSIS = 400 };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "label", required_argument, NULL, 'l' },
		{ "churn-window", required_argument, NULL, OPT_M_ANALYSIS },
		{ "bucket", required_argument, NULL, OPT_M_ANALYSIS },
		{ "top", required_argument, NULL, OPT_M_ANALYSIS },
		{ "refill-source", required_argument, NULL, OPT_M_ANALYSIS },
		{ "infer-gap", required_argument, NULL, OPT_M_ANALYSIS },
		{ "buffer", required_argument, NULL, OPT_M_ANALYSIS },
		{ "from", required_argument, NULL, OPT_M_ANALYSIS },
		{ "to", required_argument, NULL, OPT_M_ANALYSIS },
		{ "cpus", required_argument, NULL, OPT_M_ANALYSIS },
		{ "pid", required_argument, NULL, OPT_M_ANALYSIS },
		{ "comm", required_argument, NULL, OPT_M_ANALYSIS },
		{ "jobs", required_argument, NULL, OPT_M_ANALYSIS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pcp_merge_label *labels = NULL;
	struct pcp_analyze_opts aopts;
	size_t nr_labels = 0;
	const char *out_path = NULL;
	char errbuf[1024] = "";
	int c, idx, err;

	pcp_analyze_opts_default(&aopts);
	aopts.jobs = default_jobs();
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:l:j:h", longopts, &idx)) != -1) {
		switch (c) {
		case 'o': out_path = optarg; break;
		case 'l': {
			char *eq = strchr(optarg, '=');
			void *grown;
			if (!eq || eq == optarg) {
				free(labels);
				return merge_usage_error("--label", "expects KEY=VALUE");
			}
			grown = realloc(labels, (nr_labels + 1) * sizeof(*labels));
			if (!grown) {
				free(labels);
				return pcp_exit_code(PCP_ERR_NOMEM);
			}
			labels = grown;
			*eq = '\0';
			labels[nr_labels].key = optarg;
			labels[nr_labels++].value = eq + 1;
			break;
		}
		case OPT_M_ANALYSIS:
			if (analysis_option(longopts[idx].name, optarg, &aopts)) {
				free(labels);
				return 2;
			}
			break;
		case 'j':
			if (analysis_option("jobs", optarg, &aopts)) {
				free(labels);
				return 2;
			}
			break;
		case 'h': fputs(merge_usage_text, stdout); free(labels); return 0;
		case ':': free(labels); return merge_usage_error(argv[optind - 1], "needs an argument");
		default: free(labels); return merge_usage_error(argv[optind - 1], "unknown option");
		}
	}
	if (!out_path || optind >= argc) {
		free(labels);
		return merge_usage_error("arguments", "expects -o OUT.db and at least one input");
	}
	if (window_error() ||
	    output_is_input("pcpanalyze merge", "-o", out_path, argv + optind, (size_t)(argc - optind))) {
		free(labels);
		return 2;
	}
	err = pcp_merge_files(out_path, argv + optind, (size_t)(argc - optind), labels, nr_labels,
			      &aopts, errbuf, sizeof(errbuf));
	if (err)
		fprintf(stderr, "pcpanalyze merge: %s\n", errbuf[0] ? errbuf : pcp_strerror(err));
	free(labels);
	return pcp_exit_code(err);
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

enum { OPT_JSON = 256, OPT_ANALYSIS, OPT_PERFETTO, OPT_PERFETTO_MAX, OPT_HTML };

static int cmd_analyze(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "churn-window", required_argument, NULL, OPT_ANALYSIS },
		{ "bucket", required_argument, NULL, OPT_ANALYSIS },
		{ "top", required_argument, NULL, OPT_ANALYSIS },
		{ "refill-source", required_argument, NULL, OPT_ANALYSIS },
		{ "infer-gap", required_argument, NULL, OPT_ANALYSIS },
		{ "buffer", required_argument, NULL, OPT_ANALYSIS },
		{ "from", required_argument, NULL, OPT_ANALYSIS },
		{ "to", required_argument, NULL, OPT_ANALYSIS },
		{ "cpus", required_argument, NULL, OPT_ANALYSIS },
		{ "pid", required_argument, NULL, OPT_ANALYSIS },
		{ "comm", required_argument, NULL, OPT_ANALYSIS },
		{ "perfetto", required_argument, NULL, OPT_PERFETTO },
		{ "perfetto-max-slices", required_argument, NULL, OPT_PERFETTO_MAX },
		{ "jobs", required_argument, NULL, OPT_ANALYSIS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct pcp_analyze_opts opts;
	struct pcp_analysis *a = NULL;
	const char *db_opt = NULL, *json_path = NULL, *trace, *perfetto_path = NULL;
	uint64_t max_slices = PCP_PERFETTO_DEFAULT_MAX_SLICES;
	struct pcp_perfetto *timeline = NULL;
	struct pcp_outfile perfetto_out;
	int perfetto_pending = 0;
	const char *html_path = NULL;
	char *db_path = NULL;
	char errbuf[512];
	int quiet = 0, c, idx, err, json_pending = 0, html_pending = 0;
	struct pcp_outfile json_out, db_out, html_out;
	json_t *json_doc = NULL;

	pcp_analyze_opts_default(&opts);
	opts.jobs = default_jobs();
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:j:qhV", longopts, &idx)) != -1) {
		switch (c) {
		case 'o': db_opt = optarg; break;
		case OPT_JSON: json_path = optarg; break;
		case OPT_PERFETTO:
			if (!*optarg || !strcmp(optarg, "-"))
				return usage_error("--perfetto", "expects a file name");
			perfetto_path = optarg;
			break;
		case OPT_PERFETTO_MAX:
			if (parse_u64(optarg, &max_slices) || max_slices > 100000000)
				return usage_error("--perfetto-max-slices", "expects a count");
			break;
		case OPT_HTML: html_path = optarg; break;
		case OPT_ANALYSIS:
			if (analysis_option(longopts[idx].name, optarg, &opts))
				return pcp_exit_code(PCP_ERR_USAGE);
			break;
		case 'j':
			if (analysis_option("jobs", optarg, &opts))
				return pcp_exit_code(PCP_ERR_USAGE);
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
	if (window_error())
		return pcp_exit_code(PCP_ERR_USAGE);

	db_path = db_opt ? strdup(db_opt) : default_db_path(trace);
	if (!db_path) {
		err_line(trace, pcp_strerror(PCP_ERR_NOMEM));
		return pcp_exit_code(PCP_ERR_NOMEM);
	}
	if (json_path && strcmp(json_path, "-") && pcp_same_file(json_path, db_path)) {
		free(db_path);
		return usage_error("--json", "must differ from the database path");
	}
	if (perfetto_path && (pcp_same_file(perfetto_path, db_path) ||
			      (json_path && pcp_same_file(perfetto_path, json_path)))) {
		free(db_path);
		return usage_error("--perfetto", "must differ from the database and JSON paths");
	}
	if (html_path && (pcp_same_file(html_path, db_path) ||
			  (json_path && strcmp(json_path, "-") && pcp_same_file(html_path, json_path)))) {
		free(db_path);
		return usage_error("--html", "must differ from the database and JSON paths");
	}
	if (perfetto_path && html_path && pcp_same_file(perfetto_path, html_path)) {
		free(db_path);
		return usage_error("--html", "must differ from the --perfetto path");
	}
	if (output_is_input("pcpanalyze", db_opt ? "-o" : "database", db_path, argv + optind, 1) ||
	    output_is_input("pcpanalyze", "--json", json_path, argv + optind, 1) ||
	    output_is_input("pcpanalyze", "--perfetto", perfetto_path, argv + optind, 1) ||
	    output_is_input("pcpanalyze", "--html", html_path, argv + optind, 1)) {
		free(db_path);
		return pcp_exit_code(PCP_ERR_USAGE);
	}
	if (perfetto_path) {
		if ((err = pcp_perfetto_new((size_t)max_slices, opts.bucket_ns, &timeline))) {
			err_line(trace, pcp_strerror(err));
			free(db_path);
			return pcp_exit_code(err);
		}
		opts.sink = pcp_perfetto_sink(timeline);
	}

	err = pcp_analyze_file(trace, &opts, &a, errbuf, sizeof(errbuf));
	if (err) {
		err_line(trace, errbuf[0] ? errbuf : pcp_strerror(err));
		goto out;
	}
	/* Both outputs are written to finished temp files and renamed only when both succeeded:
	 * after any failure the existing database and JSON are as they were. */
	if (json_path && !(json_doc = pcp_report_json(a))) {
		err = PCP_ERR_NOMEM;
		err_line(strcmp(json_path, "-") ? json_path : "stdout", pcp_strerror(err));
		goto out;
	}
	json_pending = json_doc && strcmp(json_path, "-");
	if (json_pending && (err = pcp_json_prepare(&json_out, json_path, json_doc, errbuf,
						    sizeof(errbuf)))) {
		json_pending = 0;
		err_line(json_path, errbuf);
		goto out;
	}
	if (timeline) {
		if ((err = pcp_perfetto_prepare(&perfetto_out, perfetto_path, timeline, a, errbuf,
						sizeof(errbuf)))) {
			err_line(perfetto_path, errbuf);
			goto out;
		}
		perfetto_pending = 1;
	}
	errbuf[0] = '\0';
	err = pcp_store_prepare(&db_out, db_path, a, errbuf, sizeof(errbuf));
	/* The HTML report is drawn from the finished database, before either is renamed. */
	if (!err && html_path) {
		err = pcp_html_report_prepare(&html_out, html_path, db_out.tmp_path, db_path, -1,
					      errbuf, sizeof(errbuf));
		if (err) {
			pcp_outfile_abort(&db_out);
			err_line(html_path, errbuf);
			goto out;
		}
		html_pending = 1;
	}
	if (!err)
		err = pcp_outfile_commit(&db_out, errbuf, sizeof(errbuf));
	if (err) {
		err_line(db_path, errbuf[0] ? errbuf : pcp_strerror(err));
		goto out;
	}
	if (json_pending) {
		json_pending = 0;
		if ((err = pcp_outfile_commit(&json_out, errbuf, sizeof(errbuf)))) {
			err_line(json_path, errbuf);
			goto out;
		}
	}
	if (perfetto_pending) {
		perfetto_pending = 0;
		if ((err = pcp_outfile_commit(&perfetto_out, errbuf, sizeof(errbuf)))) {
			err_line(perfetto_path, errbuf);
			goto out;
		}
		if (pcp_perfetto_dropped(timeline))
			fprintf(stderr, "pcpanalyze: %s: zone-lock slices capped at %" PRIu64
				" (--perfetto-max-slices); %" PRIu64 " later acquisitions not drawn, counters complete\n",
				perfetto_path, max_slices, pcp_perfetto_dropped(timeline));
	}
	if (html_pending) {
		html_pending = 0;
		if ((err = pcp_outfile_commit(&html_out, errbuf, sizeof(errbuf)))) {
			err_line(html_path, errbuf);
			goto out;
		}
	}
	if (json_doc && !strcmp(json_path, "-") &&
	    (err = pcp_json_write_stdout(json_doc, errbuf, sizeof(errbuf)))) {
		err_line("stdout", errbuf);
		goto out;
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
	if (json_pending)
		pcp_outfile_abort(&json_out);
	if (perfetto_pending)
		pcp_outfile_abort(&perfetto_out);
	pcp_perfetto_free(timeline);
	if (html_pending)
		pcp_outfile_abort(&html_out);
	json_decref(json_doc);
	pcp_analysis_free(a);
	free(db_path);
	return pcp_exit_code(err);
}

static const char report_usage_text[] =
	"usage: pcpanalyze report --html OUT.html [--run N] RESULTS.db\n"
	"\n"
	"Draws a results database (pcpanalyze -o, or one run of a merged one) as the HTML report\n"
	"that pcpanalyze --html writes: one self-contained file, no network.\n"
	"\n"
	"      --html FILE           the report to write (required)\n"
	"      --run N               the run of a merged database (needed when it has several)\n"
	"  -h, --help                this help\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 cannot open, 10 database, 12 not a results database of\n"
	"schema version 2, 70 out of memory, 74 I/O; see pcpanalyze(1).\n";

static int report_usage_error(const char *what, const char *problem)
{
	fprintf(stderr, "pcpanalyze report: %s: %s (see pcpanalyze report --help)\n", what, problem);
	return pcp_exit_code(PCP_ERR_USAGE);
}

static int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "html", required_argument, NULL, 'H' },
		{ "run", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *html_path = NULL;
	long long run = -1;
	uint64_t v;
	char errbuf[1024] = "";
	struct pcp_outfile out;
	int c, err;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': html_path = optarg; break;
		case 'r':
			if (parse_u64(optarg, &v) || v > INT64_MAX)
				return report_usage_error("--run", "expects a run number");
			run = (long long)v;
			break;
		case 'h': fputs(report_usage_text, stdout); return 0;
		case ':': return report_usage_error(argv[optind - 1], "needs an argument");
		default: return report_usage_error(argv[optind - 1], "unknown option");
		}
	}
	if (!html_path || optind != argc - 1)
		return report_usage_error("arguments", "expects --html OUT.html and one results database");
	if (output_is_input("pcpanalyze report", "--html", html_path, argv + optind, 1))
		return pcp_exit_code(PCP_ERR_USAGE);
	if (pcp_file_kind(argv[optind]) == PCP_FILE_TRACE_DAT) {
		fprintf(stderr, "pcpanalyze report: %s: a trace.dat, not a results database (draw it with"
			" pcpanalyze --html OUT.html %s)\n", argv[optind], argv[optind]);
		return pcp_exit_code(PCP_ERR_USAGE);
	}
	err = pcp_html_report_prepare(&out, html_path, argv[optind], NULL, run, errbuf, sizeof(errbuf));
	if (err) {
		/* I/O errors are the output's; the database's are DB, schema or usage errors. */
		fprintf(stderr, "pcpanalyze report: %s: %s\n", err == PCP_ERR_IO ? html_path : argv[optind],
			errbuf[0] ? errbuf : pcp_strerror(err));
		return pcp_exit_code(err);
	}
	err = pcp_outfile_commit(&out, errbuf, sizeof(errbuf));
	if (err)
		fprintf(stderr, "pcpanalyze report: %s: %s\n", html_path, errbuf);
	return pcp_exit_code(err);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "report"))
		return cmd_report(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "compare"))
		return cmd_compare(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "merge"))
		return cmd_merge(argc - 1, argv + 1);
	return cmd_analyze(argc, argv);
}
