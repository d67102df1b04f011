/* pcpsynth: build a real trace.dat from a text script and tracefs format files (pcpsynth(1)). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "synth/synth.h"
#include "tracedat/tracedat.h"

#ifndef PCPTRACE_VERSION
#define PCPTRACE_VERSION "unknown"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pcpsynth -o OUT.dat --formats DIR [--only-used] [--format FMT] [-q] SCRIPT\n"
		"  -o, --output FILE   trace.dat to write (required)\n"
		"  -f, --formats DIR   header_page, header_event and <system>.<event>.format files\n"
		"  -u, --only-used     store only the formats of events the script uses\n"
		"  -F, --format FMT    trace.dat format: v6 (default), v7, v7-zstd, v7-zlib\n"
		"  -q, --quiet         no summary line\n"
		"  -h, --help          this help\n"
		"  -V, --version       version\n"
		"See pcpsynth(1) for the script language.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "formats", required_argument, NULL, 'f' },
		{ "only-used", no_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct pcp_synth_opts o = { 0 };
	struct pcp_synth_stats st;
	char msg[1024];
	int quiet = 0, c, err;

	while ((c = getopt_long(argc, argv, "o:f:uF:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out_path = optarg; break;
		case 'f': o.formats_dir = optarg; break;
		case 'u': o.only_used_formats = 1; break;
		case 'F': {
			struct pcp_tdw_params p = { 0 };
			if (pcp_tdw_parse_format(optarg, &p)) {
				fprintf(stderr, "pcpsynth: --format %s: use v6, v7, v7-zstd or v7-zlib\n", optarg);
				return pcp_exit_code(PCP_ERR_USAGE);
			}
			o.file_version = p.file_version;
			o.compression = p.compression;
			break;
		}
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("pcpsynth %s\n", PCPTRACE_VERSION); return 0;
		default: usage(stderr); return pcp_exit_code(PCP_ERR_USAGE);
		}
	}
	if (!o.out_path || !o.formats_dir || optind != argc - 1) {
		fprintf(stderr, "pcpsynth: -o, --formats and exactly one SCRIPT are required\n");
		usage(stderr);
		return pcp_exit_code(PCP_ERR_USAGE);
	}
	o.script_path = argv[optind];

	err = pcp_synth_build(&o, &st, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "pcpsynth: %s\n", msg[0] ? msg : pcp_strerror(err));
		return pcp_exit_code(err);
	}
	if (!quiet)
		printf("pcpsynth: %s: %d CPUs, %" PRIu64 " events, %" PRIu64 " pages, %" PRIu64
		       " missed-events marks\n",
		       o.out_path, st.nr_cpus, st.events, st.pages, st.missed_marks);
	return 0;
}
