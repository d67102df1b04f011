/* Memory for the models' large open-addressing tables (pair_events.c's PFN table, lifecycle.c's
 * block table): zeroed; from 2 MiB on mapped directly (the kernel's zero pages: no second
 * memset), aligned to and advised for transparent huge pages. Probes land anywhere in such a
 * table; with 4 KiB pages nearly each one also missed the TLB, and every first touch of a
 * fresh 4 KiB page is a page fault (bench/RESULTS.md). */
#ifndef PCPTRACE_TABLE_MEM_H
#define PCPTRACE_TABLE_MEM_H

#include <stddef.h>

/* nmemb * size bytes, zeroed; NULL on overflow or allocation failure. */
void *pcp_table_zalloc(size_t nmemb, size_t size);
/* Frees what pcp_table_zalloc(nmemb, size) returned (the same nmemb and size); NULL is a no-op. */
void pcp_table_free(void *p, size_t nmemb, size_t size);

/* Gives back the memory of entries [from, to) of a table from pcp_table_zalloc(nmemb, size)
 * (whole pages inside that range; nothing for a small, calloc'ed table). They read as zero
 * afterwards: only for entries already consumed (a growth's old table). */
void pcp_table_release(void *p, size_t nmemb, size_t size, size_t from, size_t to);

#endif
