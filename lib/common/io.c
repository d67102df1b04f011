/* Whole reads and writes: short transfers and EINTR handled once (see io.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "common/error.h"
#include "common/io.h"

#define READ_FILE_FIRST 16384   /* first buffer of pcp_io_read_file, doubled as needed */

int pcp_io_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t r = write(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return PCP_ERR_IO;
		}
		p += r;
		len -= (size_t)r;
	}
	return PCP_OK;
}

int pcp_io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t r = pwrite(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return PCP_ERR_IO;
		}
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return PCP_OK;
}

int pcp_io_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return PCP_ERR_IO;
		if (r == 0)
			return PCP_ERR_TRUNCATED;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return PCP_OK;
}

/* Reads fd to its end into a growing buffer with room for the NUL. */
static int read_to_end(int fd, char **text, size_t *len)
{
	size_t cap = READ_FILE_FIRST, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return PCP_ERR_NOMEM;
	for (;;) {
		ssize_t r;
		if (cap - n < 2) {
			char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				return PCP_ERR_NOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			free(buf);
			errno = saved;
			return PCP_ERR_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return PCP_OK;
}

int pcp_io_read_file(const char *path, char **text, size_t *len)
{
	int fd, err, saved;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? PCP_ERR_NOFILE : PCP_ERR_IO;
	err = read_to_end(fd, text, len);
	saved = errno;
	close(fd);
	errno = saved;
	return err;
}
