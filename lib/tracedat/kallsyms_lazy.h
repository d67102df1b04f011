/* kallsyms loaded when the first address is resolved, not at open (lib/tracedat/kallsyms_lazy.c). */
#ifndef PCPTRACE_KALLSYMS_LAZY_H
#define PCPTRACE_KALLSYMS_LAZY_H

#include <stddef.h>
#include <stdint.h>

struct tep_handle;

/* Where a trace.dat keeps its kallsyms, as the layout walk found it. */
enum pcp_ksyms_where {
	PCP_KSYMS_NONE,          /* no kallsyms (v7 without the section): nothing to defer */
	PCP_KSYMS_PLAIN,         /* u32 length, then the text, at off */
	PCP_KSYMS_ZSTD,          /* v7 section data at off, size bytes: a zstd chunk of the above */
	PCP_KSYMS_UNSUPPORTED,   /* compressed otherwise: libtracecmd parses it at open */
};

struct pcp_ksyms_loc {
	enum pcp_ksyms_where where;
	uint64_t off, size;
	uint64_t section;        /* v7: the section header's offset; 0 in v6 */
	int big_endian;
};

/* A byte range the header copy leaves out (per-CPU ring-buffer data). */
struct pcp_ksyms_hole {
	uint64_t off, size;
};

/* A sparse in-memory copy of the file (memfd) with the same offsets, for libtracecmd's header
 * parse: every byte but the holes and the kallsyms text, which reads as empty (v6 and plain v7:
 * zeros, a string of length 0 for tep_parse_kallsyms; zstd v7: the section rewritten
 * uncompressed with length 0). *out_fd: the memfd (close it), or -1 with an error. */
int pcp_ksyms_header_copy(int src_fd, uint64_t file_size, const struct pcp_ksyms_loc *loc,
			  const struct pcp_ksyms_hole *holes, size_t nr_holes, int *out_fd);

/* Makes tep resolve addresses through the file's kallsyms, read and parsed the first time
 * tep_find_function()/tep_find_function_address() is called on tep (a libtraceevent function
 * resolver; names and start addresses are those libtracecmd's parse would give). One thread
 * at a time per tep, as libtraceevent's own lookups. Free with pcp_ksyms_free() after tep. */
struct pcp_ksyms;
int pcp_ksyms_attach(struct tep_handle *tep, const char *path, const struct pcp_ksyms_loc *loc,
		     struct pcp_ksyms **out);
void pcp_ksyms_free(struct pcp_ksyms *k);
/* Starts reading and parsing the kallsyms now, on a thread of its own, so that the first
 * lookup finds them ready (pcpanalyze -j 2 and more: the parse is otherwise serial work at the
 * end of an analysis). Lookups wait for it; pcp_ksyms_free() joins it. Results are the same as
 * without it: pcp_ksyms_status() reports a load error only once an address was looked up. */
void pcp_ksyms_preload(struct pcp_ksyms *k);
/* The same load on the calling thread, now (a thread with nothing else to do). */
void pcp_ksyms_load_now(struct pcp_ksyms *k);
/* The load's result once an address was looked up (PCP_OK before any lookup). */
int pcp_ksyms_status(struct pcp_ksyms *k);

/* The functions of a /proc/kallsyms text (taken: modified in place, freed with the map),
 * parsed in the order and with the rules of libtraceevent 1.7.1's tep_parse_kallsyms(): lines
 * split on '\n' (empty ones skipped), "ADDR TYPE NAME[\t[MODULE]]", the first unparsable line
 * ends the parse, '$' names and absolute ('A', 'a') symbols skipped. NULL: out of memory.
 * Our code, so no child guards it. */
struct pcp_ksyms_map;
struct pcp_ksyms_map *pcp_ksyms_map_parse(char *text);
/* The function that contains addr, as tep_find_function() on a tep that parsed the same text
 * answers (and *start as tep_find_function_address()), or NULL. */
const char *pcp_ksyms_map_find(const struct pcp_ksyms_map *m, uint64_t addr, uint64_t *start);
void pcp_ksyms_map_free(struct pcp_ksyms_map *m);

#endif
