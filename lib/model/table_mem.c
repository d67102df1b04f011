/* Zeroed table memory, mapped and huge-page aligned when large (table_mem.h). */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "model/table_mem.h"

#define HUGE_PAGE ((size_t)2 << 20)

/* Whole small pages: a partial huge page at the end stays small pages (no rounding in RSS). */
static size_t map_bytes(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

void *pcp_table_zalloc(size_t nmemb, size_t size)
{
	size_t bytes, len;
	uint8_t *p, *aligned;

	if (size && nmemb > SIZE_MAX / 2 / size)
		return NULL;
	bytes = nmemb * size;
	if (bytes < HUGE_PAGE)
		return calloc(nmemb ? nmemb : 1, size ? size : 1);
	/* over-map by one huge page, then unmap what lies outside the aligned range */
	len = map_bytes(bytes);
	p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	aligned = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	if (aligned + len < p + len + HUGE_PAGE)
		munmap(aligned + len, (size_t)(p + len + HUGE_PAGE - (aligned + len)));
	madvise(aligned, len, MADV_HUGEPAGE);   /* a hint: ignored where THP is off */
	return aligned;
}

void pcp_table_free(void *p, size_t nmemb, size_t size)
{
	size_t bytes = nmemb * size;

	if (!p)
		return;
	if (bytes < HUGE_PAGE)
		free(p);
	else
		munmap(p, map_bytes(bytes));
}

void pcp_table_release(void *p, size_t nmemb, size_t size, size_t from, size_t to)
{
	uintptr_t lo, hi;

	if (!p || nmemb * size < HUGE_PAGE || from >= to || to > nmemb)
		return;
	lo = ((uintptr_t)p + from * size + 4095) & ~(uintptr_t)4095;
	hi = ((uintptr_t)p + to * size) & ~(uintptr_t)4095;
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}
