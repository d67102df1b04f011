/* Shared helpers: file kind sniffing, grouped digits. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/error.h"
#include "common/util.h"
#include "tracedat/tracedat_format.h"

int pcp_file_kind(const char *path)
{
	static const char sqlite_magic[] = "SQLite format 3";
	char head[16] = { 0 };
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n >= (ssize_t)PCP_TRACEDAT_MAGIC_LEN && !memcmp(head, PCP_TRACEDAT_MAGIC, PCP_TRACEDAT_MAGIC_LEN))
		return PCP_FILE_TRACE_DAT;
	if (n == 16 && !memcmp(head, sqlite_magic, 16)) /* includes the terminating NUL */
		return PCP_FILE_SQLITE;
	return PCP_FILE_OTHER;
}

const char *pcp_group_digits(char *buf, size_t len, uint64_t v)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
	size_t o = 0;

	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	if (len)
		buf[o] = '\0';
	return buf;
}
