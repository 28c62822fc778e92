/*
 * Reading a file or stdin with read(2) in SOURCE_CHUNK pieces.  No stdio:
 * the entry reader takes any chunking, so the simplest loop is the fastest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source.h"
#include "xmalloc.h"

int
source_file_read(const char *path, source_chunk_fn fn, void *arg,
    volatile sig_atomic_t *interrupted, char **cause)
{
	char	*buf;
	ssize_t	 n;
	int	 fd, rv = 0;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
#ifdef POSIX_FADV_SEQUENTIAL
	if (fd != STDIN_FILENO)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	buf = xmalloc(SOURCE_CHUNK);
	for (;;) {
		if (interrupted != NULL && *interrupted) {
			rv = 1;
			break;
		}
		n = read(fd, buf, SOURCE_CHUNK);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(cause, "%s: %s", path, strerror(errno));
			rv = -1;
			break;
		}
		if (fn(buf, (size_t)n, arg) == -1) {
			rv = 1;
			break;
		}
	}
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return (rv);
}
