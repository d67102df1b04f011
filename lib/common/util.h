/* Small shared helpers: file kind sniffing, grouped digits. */
#ifndef PCPTRACE_UTIL_H
#define PCPTRACE_UTIL_H

#include <stddef.h>
#include <stdint.h>

enum pcp_file_kind {
	PCP_FILE_OTHER = 0,
	PCP_FILE_TRACE_DAT,     /* PCP_TRACEDAT_MAGIC (tracedat/tracedat_format.h) */
	PCP_FILE_SQLITE,        /* "SQLite format 3\0" */
};

/* The kind of file at path by its magic; -errno when it cannot be opened. */
int pcp_file_kind(const char *path);

/* 1234567 -> "1,234,567" in buf (cut to len - 1 characters); returns buf. */
const char *pcp_group_digits(char *buf, size_t len, uint64_t v);

#endif
