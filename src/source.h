/*
 * Stage 1: bytes from a file or stdin, in fixed chunks.  The chunk size is
 * the one read loop of the project (the benchmark's floor uses the same).
 */
#ifndef SOURCE_H
#define SOURCE_H

#include <signal.h>
#include <stddef.h>

#define SOURCE_CHUNK	(64 * 1024)	/* bytes per read(2) */

/* Called per chunk; return 0 to go on, -1 to stop reading. */
typedef int	(*source_chunk_fn)(const void *buf, size_t len, void *arg);

/*
 * Read path ("-" is stdin) to its end, handing each chunk to fn.  Returns
 * 0 at end of file, 1 when fn stopped or *interrupted became non-zero, or
 * -1 with *cause (caller frees) when the file cannot be opened or read.
 */
int	source_file_read(const char *path, source_chunk_fn fn, void *arg,
	    volatile sig_atomic_t *interrupted, char **cause);

#endif
