/* Small shared helpers: file kind sniffing. */
#ifndef PCPTRACE_UTIL_H
#define PCPTRACE_UTIL_H

enum pcp_file_kind {
	PCP_FILE_OTHER = 0,
	PCP_FILE_TRACE_DAT,     /* "\x17\x08\x44tracing" */
	PCP_FILE_SQLITE,        /* "SQLite format 3\0" */
};

/* The kind of file at path by its magic; -errno when it cannot be opened. */
int pcp_file_kind(const char *path);

#endif
