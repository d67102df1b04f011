/* The trace reader: validates a trace.dat (v6, v7; compressed or not) against its own
 * declared layout, lists its buffers (top-level and instances, with their CPUSTAT), opens it
 * with libtracecmd (event formats, kallsyms, cmdlines) and hands out every record of every CPU
 * of one chosen buffer (or of every buffer that carries data), in timestamp order (ties: lower
 * CPU first, as libtracecmd does; the top buffer before instances). Two paths give the same
 * records: the direct ring-buffer reader (ringbuf_decode.h, the fast one) where it reproduces
 * libtracecmd exactly, else libtracecmd's own per-CPU reads. */
#ifndef PCPTRACE_TRACE_READER_H
#define PCPTRACE_TRACE_READER_H

#include <stddef.h>
#include <stdint.h>
#include "tracedat/cpustat.h"

struct tep_handle;
struct tep_record;

/* What the file's own headers declare (read without libtracecmd). */
struct pcp_tracedat_layout {
	int file_version;          /* 6 or 7 */
	uint32_t nr_cpus;          /* CPUs the file declares (max of header count, cpu ids + 1) */
	uint32_t nr_buffers;       /* flyrecord buffers (top + instances) */
	uint32_t nr_cpu_sections;  /* per-CPU data sections over all buffers */
	uint64_t data_bytes;       /* sum of per-CPU data sizes as stored in the file */
	uint64_t file_size;
	int options_compressed;    /* a v7 options section is compressed: layout checked only up
				    * to it, libtracecmd checks the rest */
	char trace_clock[32];      /* "" if the file does not say */
	char compression[32];      /* v7: "none", "zstd", ...; v6: "" */
	/* TSC2NSEC option (id 14): ns = (cycles * mult) >> shift, as libtracecmd applies it;
	 * both reader paths give converted timestamps. mult 0: no (usable) option. */
	uint32_t tsc2nsec_mult, tsc2nsec_shift;
	uint64_t tsc2nsec_offset;  /* as written; libtracecmd 3.1.6 does not apply it */
};

/* Checks that path is a trace.dat whose declared headers and per-CPU data sections all lie
 * inside the file. PCP_ERR_NOFILE, PCP_ERR_EMPTY, PCP_ERR_NOT_TRACE, PCP_ERR_TRUNCATED,
 * PCP_ERR_CORRUPT; errbuf gets a one-line reason without the file name. */
int pcp_tracedat_check(const char *path, struct pcp_tracedat_layout *out, char *errbuf, size_t errlen);
/* Between on and off (this thread), a check of the same unchanged file skips the expensive
 * parts an earlier check of it passed (compressed metadata text, chunk tables): one analysis
 * walks its file twice. Both calls forget what was remembered. */
void pcp_tracedat_verified_scope(int on);

/* One trace buffer of the file: the top-level one ("" in the file; called "top", trace-cmd's
 * -t) or an instance (trace-cmd's -B NAME). */
#define PCP_TOP_BUFFER "top"

struct pcp_trace_buffer {
	char name[64];             /* PCP_TOP_BUFFER for the top-level buffer */
	int top;
	uint32_t nr_cpus;          /* its declared CPU ids + 1 (0: no CPU entry) */
	uint32_t nr_cpu_sections;  /* CPU sections holding data */
	uint64_t data_bytes;
	struct pcp_cpustat *cpustat;   /* nr_cpus entries, from the file's CPUSTAT options
					* (.present = 0 where the file has none for that CPU) */
};

/* The file's buffers, in file order (pcp_tracedat_check first). Free with
 * pcp_trace_buffers_free. */
int pcp_tracedat_buffers(const char *path, struct pcp_trace_buffer **out, size_t *nr,
			 char *errbuf, size_t errlen);
void pcp_trace_buffers_free(struct pcp_trace_buffer *b, size_t nr);
/* The buffer called name ("top" = the top-level one), or NULL. */
const struct pcp_trace_buffer *pcp_trace_buffer_find(const struct pcp_trace_buffer *b, size_t nr,
						      const char *name);
/* "top, a, b" into buf (truncated with "..." if it does not fit). */
void pcp_trace_buffer_names(const struct pcp_trace_buffer *b, size_t nr, int with_data_only,
			    char *buf, size_t len);

/* A sparse memfd copy of path's headers without its kallsyms text (lib/tracedat/
 * kallsyms_lazy.c), as pcp_reader_open() parses them with libtracecmd, or *fd = -1 when it
 * parses the file itself (records only libtracecmd reproduces, kallsyms compressed with another
 * algorithm than zstd). Errors: those of pcp_tracedat_check. */
int pcp_tracedat_header_copy(const char *path, int *fd);

struct pcp_reader;

enum pcp_reader_path {
	PCP_READER_AUTO,          /* direct when it can reproduce libtracecmd, else libtracecmd */
	PCP_READER_LIBTRACECMD,   /* libtracecmd's tracecmd_read_data per CPU */
	PCP_READER_DIRECT,        /* direct only: PCP_ERR_MODE (errbuf says why) if it cannot */
};

/* Validates (pcp_tracedat_check) and opens. On error *out is NULL. Damaged ring-buffer data
 * found while opening the direct path is PCP_ERR_CORRUPT. */
int pcp_reader_open(const char *path, struct pcp_reader **out, char *errbuf, size_t errlen);
int pcp_reader_open_path(const char *path, enum pcp_reader_path how, struct pcp_reader **out,
			 char *errbuf, size_t errlen);
/* Only the records of one buffer (NULL: every buffer with data, merged). A name the file does
 * not have is PCP_ERR_MODE (errbuf lists the buffers it has). */
int pcp_reader_open_buffer(const char *path, enum pcp_reader_path how, const char *buffer,
			   struct pcp_reader **out, char *errbuf, size_t errlen);
/* The buffer opened by pcp_reader_open_buffer, NULL when all are read. */
const struct pcp_trace_buffer *pcp_reader_buffer(const struct pcp_reader *r);
/* 1 when the direct path reads the records. */
int pcp_reader_direct(const struct pcp_reader *r);
/* Back to the first record (direct path only: PCP_ERR_MODE on the libtracecmd path, where the
 * caller opens the file again). Record and missed-event counts restart from 0. */
int pcp_reader_rewind(struct pcp_reader *r, char *errbuf, size_t errlen);
void pcp_reader_close(struct pcp_reader *r);
/* How the direct path decodes (the libtracecmd path decodes on one thread): workers decode
 * threads read, decompress and walk the CPUs' pages ahead of the merge (ringbuf_decode.h);
 * workers 0 and helper: batches are decoded ahead by a thread that calls pcp_reader_help(ctx =
 * the reader) when it is idle, and by the merging thread when it needs one first; 0 and 0: the
 * caller's thread does everything. The same records either way. Starts over from the first
 * record when it changes, or always with rewind. */
int pcp_reader_set_decoding(struct pcp_reader *r, unsigned workers, int helper, int rewind,
			    char *errbuf, size_t errlen);
int pcp_reader_help(void *reader);
/* Helper mode: pcp_reader_help() in a loop on the calling thread until
 * pcp_reader_help_stop() (called from another thread, before the reader is rewound or
 * closed). */
void pcp_reader_help_loop(void *reader);
void pcp_reader_help_stop(struct pcp_reader *r);
/* Reads and parses the kallsyms (kallsyms_lazy.h) when the trace has events whose addresses
 * are resolved, for callers with a core to spare: on a thread of its own (preload) or on the
 * calling one (load: not the thread that looks addresses up). Lookups wait for it. */
void pcp_reader_preload_kallsyms(struct pcp_reader *r);
void pcp_reader_load_kallsyms(struct pcp_reader *r);

/* The event parser handle: one per trace, shared by all buffers. */
struct tep_handle *pcp_reader_tep(const struct pcp_reader *r);
/* PCP_OK, or why the kallsyms loaded at the first address lookup could not be read (damaged
 * or unreadable section): addresses then resolve to nothing, and the caller must not report
 * them as if the trace had no symbols (kallsyms_lazy.h). */
int pcp_reader_ksyms_status(const struct pcp_reader *r);
const struct pcp_tracedat_layout *pcp_reader_layout(const struct pcp_reader *r);

/* Hot path. Returns the next record in timestamp order, or NULL at the end. The record stays
 * valid until the next call (the reader frees it). rec->cpu is the CPU id; rec->missed_events
 * is > 0 (known count), < 0 (lost, count unknown) or 0, as libtracecmd reports it; the reader
 * also sums them per CPU (pcp_reader_missed). */
struct tep_record *pcp_reader_next(struct pcp_reader *r);

/* After pcp_reader_next() returned NULL: PCP_OK at the true end, else the error that ended
 * the records early (PCP_ERR_CORRUPT for damaged pages or compressed chunks, PCP_ERR_IO);
 * errbuf gets a one-line reason. The libtracecmd path always says PCP_OK (it cannot tell). */
int pcp_reader_status(const struct pcp_reader *r, char *errbuf, size_t errlen);

/* Records handed out so far, and the missed-event marks seen per CPU. */
uint64_t pcp_reader_records(const struct pcp_reader *r);
/* Known lost-event count on cpu and the number of marks without a count. 0 for cpu out of range. */
void pcp_reader_missed(const struct pcp_reader *r, uint32_t cpu, uint64_t *known, uint64_t *unknown_marks);

#endif
