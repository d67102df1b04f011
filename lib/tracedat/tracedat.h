/*
 * trace.dat writer: produces a standard trace-cmd file that trace-cmd report and libtracecmd
 * read, version 6 (man 5 trace-cmd.dat.v6, the default) or version 7 (man 5 trace-cmd.dat.v7),
 * the latter uncompressed, zstd- or zlib-compressed. Byte order and long size of the file are the
 * host's (the recorder and the synthesizer both run on the traced machine).
 *
 * Version 7 is laid out as trace-cmd 3.1.6 writes it: the header, kallsyms, printk and cmdlines
 * sections (each one compressed block when compressing), an options section with the added
 * options, one with the section offsets and CPUCOUNT, the flyrecord section of the top buffer
 * (each CPU's data page aligned; compressed: a chunk count, then chunks of up to 10 pages, each
 * "compressed size, uncompressed size, block": a zstd frame, or a zlib stream made by compress2()
 * at Z_BEST_COMPRESSION as trace-cmd's zlib plugin does), an options section with the BUFFER
 * option (CPUs without data are left out, as trace-cmd does), and the strings section.
 *
 * Usage: pcp_tdw_create(), set the header texts and formats, hand over each CPU's raw ring-buffer
 * pages (a file descriptor of whole pages, or page by page), then pcp_tdw_commit(). Everything
 * goes to a temporary file beside the target (lib/output/outfile.h: ".<name>.XXXXXX" in its
 * directory; a symlink's target is replaced, the link stays) that is fsynced and renamed into
 * place only when complete: a failed or aborted write never leaves a partial file at <path>,
 * and removes its temporary file. A target that is a directory or another file that is not a
 * regular one is refused at create (errno EISDIR or EINVAL).
 *
 * All functions return PCP_OK or a code of enum pcp_err (pcptrace.h): PCP_ERR_USAGE (bad argument or
 * call order), PCP_ERR_NOMEM, PCP_ERR_IO (errno is left as the failing call set it),
 * PCP_ERR_CORRUPT (CPU data that is not whole pages).
 * Text arguments are copied; len is the text's length in bytes (no terminating NUL needed).
 */
#ifndef PCPTRACE_TRACEDAT_H
#define PCPTRACE_TRACEDAT_H

#include <stddef.h>
#include <stdint.h>
#include "tracedat/tracedat_format.h"

struct pcp_tdw;

struct pcp_tdw_params {
	int nr_cpus;            /* CPUs the file declares (1 .. 4096) */
	unsigned int page_size; /* ring-buffer sub-buffer size in bytes; 0 = the host page size */
	int long_size;          /* kernel long size, 4 or 8; 0 = sizeof(long) */
	int file_version;       /* 6 or 7; 0 = 6 */
	const char *compression; /* "none", "zstd" or "zlib" (version 7 only); NULL = "none" */
};

/* Reads a file format name as the tools take it ("v6", "v7", "v7-zstd", "v7-zlib") into p's file_version
 * and compression (a static string). PCP_ERR_USAGE for anything else. */
int pcp_tdw_parse_format(const char *name, struct pcp_tdw_params *p);

/* trace.dat option ids: enum pcp_tracedat_option (PCP_TRACEDAT_OPT_*) in tracedat_format.h. */

/* Creates the temporary file beside path. *out is NULL on error. */
int pcp_tdw_create(const char *path, const struct pcp_tdw_params *p, struct pcp_tdw **out);

/* Texts of tracefs events/header_page and events/header_event (both required). */
int pcp_tdw_set_header_page(struct pcp_tdw *w, const char *text, size_t len);
int pcp_tdw_set_header_event(struct pcp_tdw *w, const char *text, size_t len);

/* One events/ftrace/<event>/format text (optional, any number). */
int pcp_tdw_add_ftrace_format(struct pcp_tdw *w, const char *text, size_t len);

/* One events/<system>/<event>/format text; systems are grouped in order of first appearance. */
int pcp_tdw_add_event_format(struct pcp_tdw *w, const char *system, const char *text,
			     size_t len);

/* /proc/kallsyms, tracefs printk_formats and saved_cmdlines ("<pid> <comm>\n" lines) texts.
 * Each is optional (empty when not set); setting one again replaces it. */
int pcp_tdw_set_kallsyms(struct pcp_tdw *w, const char *text, size_t len);
int pcp_tdw_set_printk_formats(struct pcp_tdw *w, const char *text, size_t len);
int pcp_tdw_set_cmdlines(struct pcp_tdw *w, const char *text, size_t len);

/* Any option, written in the order added (data is copied as is). */
int pcp_tdw_add_option(struct pcp_tdw *w, uint16_t id, const void *data, size_t len);

/* Convenience options holding a NUL-terminated string, as trace-cmd writes them.
 * clock: the tracefs trace_clock text ("[local] global ...") or a bare name ("local").
 * cpustat: the text of per_cpu/cpuN/stats; add one per CPU, in CPU order. */
int pcp_tdw_set_trace_clock(struct pcp_tdw *w, const char *clock);
int pcp_tdw_add_cpustat(struct pcp_tdw *w, const char *text);
int pcp_tdw_set_uname(struct pcp_tdw *w, const char *text);
int pcp_tdw_set_version(struct pcp_tdw *w, const char *text);
/* TSC2NSEC, as trace-cmd record writes it for a TSC clock: u32 multiplier, u32 shift, u64
 * offset (host byte order, as the file); readers take ns = (cycles * mult) >> shift.
 * PCP_ERR_USAGE for mult 0 or shift > 32. */
int pcp_tdw_set_tsc2nsec(struct pcp_tdw *w, uint32_t mult, uint32_t shift, uint64_t offset);

/*
 * CPU data, either way (not both for one CPU):
 * - set_cpu_data_fd: fd holds the CPU's raw sub-buffer pages (as read from trace_pipe_raw)
 *   from offset 0 to its end; its size must be a multiple of page_size. It is read at commit
 *   (copy_file_range, or read/write) and stays owned by the caller.
 * - add_cpu_page: appends one page of exactly page_size bytes; pages are kept in an unlinked
 *   temporary file beside the target until commit, so memory use does not grow.
 * CPUs without data are declared with zero bytes.
 */
int pcp_tdw_set_cpu_data_fd(struct pcp_tdw *w, int cpu, int fd);
int pcp_tdw_add_cpu_page(struct pcp_tdw *w, int cpu, const void *page);

/* Sub-buffer size and long size in use (after defaults are resolved). */
unsigned int pcp_tdw_page_size(const struct pcp_tdw *w);
int pcp_tdw_long_size(const struct pcp_tdw *w);

/*
 * Writes the file, fsyncs it and renames it to path (then fsyncs the directory). Frees w in
 * every case: on error the temporary file is removed and path is untouched.
 */
int pcp_tdw_commit(struct pcp_tdw *w);

/* Frees w and removes the temporary file. NULL is fine. */
void pcp_tdw_abort(struct pcp_tdw *w);

#endif
