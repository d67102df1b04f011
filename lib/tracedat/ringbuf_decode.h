/*
 * Direct reader of a trace.dat's per-CPU ring-buffer data: the reader's fast path.
 *
 * Walks each CPU section's sub-buffer pages (windowed mmap of the file for uncompressed data;
 * one chunk at a time, decompressed with libzstd / zlib, for v7 compressed data): page headers
 * through libtraceevent's kbuffer, events inline as kbuffer walks them; merges the CPUs with a
 * small heap, ties to the lower section index. No allocation per record: the record handed
 * out lives in the decoder and stays valid until the next call. Records, their order,
 * timestamps and missed-event marks are those libtracecmd gives for the same file
 * (tests/test_fast_reader.c compares both record by record); what it cannot reproduce exactly
 * it refuses at open (PCP_ERR_MODE), and the caller falls back to libtracecmd. Unlike
 * libtracecmd, damaged data is an error (PCP_ERR_CORRUPT), never an early end. Memory: a
 * window or a chunk per CPU section, whatever the trace's length.
 *
 * With decode threads (params.workers), the threads read, decompress and walk each CPU's
 * blocks ahead of the merge into a bounded ring per CPU (8 batches: a 256 KB window or one
 * chunk, and its records' places); the caller's thread only merges. Memory then: the ring
 * per CPU section; the records, their order and errors are those of one thread.
 */
#ifndef PCPTRACE_RINGBUF_DECODE_H
#define PCPTRACE_RINGBUF_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct tep_record;

/* One CPU's data, in merge order (ties between equal timestamps go to the earlier section). */
struct pcp_rbdec_section {
	uint32_t cpu;               /* the CPU id records carry */
	uint64_t offset;            /* file offset of the pages, or of the chunk table if compressed */
	uint64_t size;              /* bytes as declared by the file (compressed: the chunks) */
};

struct pcp_rbdec_params {
	int fd;                     /* the trace.dat, open for reading (not closed by the decoder) */
	uint64_t file_size;
	uint32_t page_size;         /* sub-buffer size from the file header */
	int long_size;              /* 4 or 8: the header page's commit field */
	int big_endian;             /* the file's byte order */
	int old_format;             /* tep_is_old_format() */
	const char *compression;    /* NULL, "" or "none"; "zstd"; "zlib" */
	uint32_t tsc2nsec_mult;     /* TSC2NSEC option: ts = (ts * mult) >> shift as libtracecmd
				     * does (before merging); 0 = timestamps as they are */
	uint32_t tsc2nsec_shift;    /* <= 32 (the reader refuses more) */
	unsigned workers;           /* decode threads ahead of the merge (0: the caller's thread
				     * decodes); the records are the same either way */
	int chunks_checked;         /* compressed: the chunk tables were checked by an earlier
				     * open of the same sections (a rewind): not scanned again */
	int helper;                 /* workers 0: batches decoded ahead by whichever thread calls
				     * pcp_rbdec_help() (another model's thread when it is idle)
				     * or, when it needs one first, by the merging thread */
};

struct pcp_rbdec;

/* PCP_OK; PCP_ERR_MODE when the data is laid out in a way only libtracecmd reproduces
 * (errbuf says why: fall back); PCP_ERR_CORRUPT, PCP_ERR_IO, PCP_ERR_NOMEM. */
int pcp_rbdec_open(const struct pcp_rbdec_params *p, const struct pcp_rbdec_section *secs, size_t n,
		   struct pcp_rbdec **out, char *errbuf, size_t errlen);
void pcp_rbdec_close(struct pcp_rbdec *d);

/* Hot path. The next record in timestamp order, NULL at the end or on error (see status).
 * data/size/ts/cpu/missed_events/record_size are set; offset is the record's page-relative
 * offset. Valid until the next call. */
struct tep_record *pcp_rbdec_next(struct pcp_rbdec *d);

/* Helper mode (params.helper): decodes one batch ahead on the calling thread, which must not
 * be the one calling pcp_rbdec_next(); 1 if it did, 0 if no stream has room (or not helper
 * mode). Safe to call until pcp_rbdec_close(). */
int pcp_rbdec_help(struct pcp_rbdec *d);
/* Helper mode: pcp_rbdec_help() in a loop on the calling thread, sleeping while every ring is
 * full, until pcp_rbdec_help_stop() (from another thread; before pcp_rbdec_close()). */
void pcp_rbdec_help_loop(struct pcp_rbdec *d);
void pcp_rbdec_help_stop(struct pcp_rbdec *d);

/* PCP_OK, or the error that ended the records early (errbuf gets a one-line reason). */
int pcp_rbdec_status(const struct pcp_rbdec *d, char *errbuf, size_t errlen);

#endif
