/*
 * Synthetic traces: builds a real trace.dat from a small text script and a directory of tracefs
 * format files, for events no kernel we run has (the seed patch's) and for exact test cases.
 *
 * Formats directory: header_page and header_event (tracefs events/header_page, header_event) and
 * one "<system>.<event>.format" file per event (exactly the text of events/<system>/<event>/format).
 * Record layouts come from parsing these with libtraceevent; the sub-buffer size and long size
 * come from header_page.
 *
 * Script, one statement per line ('#' starts a comment):
 *   cpus <n>                      CPUs the trace declares (default: highest CPU used + 1)
 *   comm <pid> <name>             saved cmdline (pid -> command name)
 *   formats all|used              store every format of the directory (default) or only those of
 *                                 events the script uses
 *   clock <name>                  the trace clock the file names (default local)
 *   tsc2nsec <mult> <shift>       write a TSC2NSEC option (timestamps are then cycles)
 *   missed <cpu> <count>          events were lost on <cpu> before its next event (count > 0, or
 *                                 -1 for an unknown count); the next event starts a new page
 *                                 that carries the mark
 *   <ts_ns> <cpu> <system>:<event> [field=value ...]
 *                                 one event; values are decimal (may be negative) or 0x hex;
 *                                 any field of the format may be set, common_* included
 *                                 (common_type is always the event's id); unset fields are 0;
 *                                 fixed char arrays take a string without spaces.
 * Timestamps must not decrease within one CPU; CPUs may interleave in any order.
 */
#ifndef PCPTRACE_SYNTH_H
#define PCPTRACE_SYNTH_H

#include <stddef.h>
#include <stdint.h>

struct pcp_synth_opts {
	const char *formats_dir;
	const char *script_path;  /* must be a regular (seekable) file: it is read twice */
	const char *out_path;
	int only_used_formats;    /* like "formats used" in the script */
	int file_version;         /* trace.dat version, 6 or 7; 0 = 6 */
	const char *compression;  /* version 7: "none" or "zstd"; NULL = "none" */
};

struct pcp_synth_stats {
	int nr_cpus;
	uint64_t events;
	uint64_t pages;
	uint64_t missed_marks;
};

/*
 * Builds out_path (atomically: temp file + rename). Returns PCP_OK or a pcp_err code; on error
 * msg (if not NULL) gets one line naming the file (and script line) and the problem.
 * stats may be NULL.
 */
int pcp_synth_build(const struct pcp_synth_opts *o, struct pcp_synth_stats *stats, char *msg,
		    size_t msglen);

#endif
