/* Whole reads and writes on file descriptors and whole-file reads, in one place: the loops
 * around short transfers and EINTR that every caller would otherwise repeat.
 * Atomic output files (temporary file + rename) are lib/output/outfile.h's job. */
#ifndef PCPTRACE_IO_H
#define PCPTRACE_IO_H

#include <stddef.h>
#include <stdint.h>

/* Writes all len bytes to fd at its file position. PCP_OK, or PCP_ERR_IO with errno set
 * (EIO for a write that wrote nothing). */
int pcp_io_write_all(int fd, const void *buf, size_t len);

/* Writes all len bytes to fd at offset off (the file position is unchanged). As above. */
int pcp_io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* Reads exactly len bytes of fd at offset off. PCP_OK; PCP_ERR_TRUNCATED when the file ends
 * first (errno untouched); PCP_ERR_IO with errno set. */
int pcp_io_pread_all(int fd, void *buf, size_t len, uint64_t off);

/* The whole file at path in *text, NUL-terminated (*len bytes before the NUL; files that
 * report size 0, as procfs and debugfs do, are read to their end). The caller frees *text.
 * PCP_OK; PCP_ERR_NOFILE if path does not exist, PCP_ERR_IO (errno set), PCP_ERR_NOMEM; on
 * error *text is NULL and *len 0. */
int pcp_io_read_file(const char *path, char **text, size_t *len);

#endif
