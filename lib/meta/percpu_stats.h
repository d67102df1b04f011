/* Parser of the /sys/kernel/debug/percpu_stats text (mm/percpu-stats.c): allocation info,
 * global stats and per-chunk stats as (section, chunk, key, value) entries in text order. */
#ifndef PCPTRACE_PERCPU_STATS_H
#define PCPTRACE_PERCPU_STATS_H

#include <stddef.h>
#include <stdint.h>

enum pcp_percpu_stats_section {
	PCP_PSTATS_ALLOC_INFO = 0,  /* "Allocation Info:" (chunk -1) */
	PCP_PSTATS_GLOBAL,          /* "Global Stats:" (chunk -1) */
	PCP_PSTATS_CHUNK,           /* "Per Chunk Stats:" (chunk 0, 1, ... in text order) */
};

struct pcp_percpu_stats_entry {
	enum pcp_percpu_stats_section section;
	int32_t chunk;              /* -1 for allocation info and global stats */
	char key[32];
	int64_t value;
};

struct pcp_percpu_stats_chunk {
	char label[48];             /* text after "Chunk" on its header, e.g. "<- First Chunk", "" */
};

struct pcp_percpu_stats {
	struct pcp_percpu_stats_entry *entries;
	size_t nr_entries;
	struct pcp_percpu_stats_chunk *chunks;
	size_t nr_chunks;
};

/*
 * Parses len bytes of text. PCP_ERR_BAD_META when the text is not a percpu_stats listing or is
 * damaged: missing title or section header, sections out of order, a line that is not
 * "key : integer", an integer out of range, a duplicate key in one section or chunk, a NUL
 * byte, no chunk, a chunk whose keys differ from the first chunk's or fewer chunks than the
 * global nr_chunks (a text cut short), or a global section lacking nr_alloc / nr_dealloc. A cut
 * inside the digits of the very last value cannot be seen. Unknown keys are kept (newer kernels add some);
 * a missing final newline is fine when the last line is complete. PCP_ERR_NOMEM on allocation
 * failure.
 */
int pcp_percpu_stats_parse(const char *text, size_t len, struct pcp_percpu_stats **out);
void pcp_percpu_stats_free(struct pcp_percpu_stats *s);

/* Value of key in section (chunk ignored unless section is CHUNK). 1 found, 0 not found. */
int pcp_percpu_stats_get(const struct pcp_percpu_stats *s, enum pcp_percpu_stats_section section,
			 int32_t chunk, const char *key, int64_t *value);

#endif
