/*
 * The benchmark's floor: the least work any reader of Cloud Logging JSON
 * built on yajl has to do.  It reads the file exactly as logaudit's
 * source_file.c does (read(2), 64 KiB at a time, sequential advice), feeds
 * yajl's callback parser with the options logaudit's entry reader sets
 * (multiple values, no UTF-8 validation) and counts the entries: objects at
 * the top level (NDJSON, concatenated objects) or directly inside a
 * top-level array (gcloud's output).  Only the map and array callbacks are
 * installed, so yajl lexes every byte but calls back for nothing else.
 *
 * `make bench` times logaudit against this on the same bytes; the ratio says
 * what extraction, matching and storing cost on top of the parse.  The
 * count printed is the number of entries the throughput figures use.
 *
 *	floor FILE	prints "<entries>\n"; exit 0, 1 on a read or parse
 *			error, 2 on usage
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_parse.h>

#define FLOOR_CHUNK	(64 * 1024)	/* bytes per read(2): SOURCE_CHUNK */

struct floor_state {
	unsigned	depth;		/* containers open, maps and arrays */
	int		top_is_array;	/* the current top-level value is [ */
	uint64_t	entries;	/* maps closed at entry depth */
};

static int
floor_start_map(void *arg)
{
	struct floor_state	*st = arg;

	st->depth++;
	return (1);
}

static int
floor_end_map(void *arg)
{
	struct floor_state	*st = arg;

	st->depth--;
	if (st->depth == (st->top_is_array ? 1U : 0U))
		st->entries++;
	return (1);
}

static int
floor_start_array(void *arg)
{
	struct floor_state	*st = arg;

	if (st->depth == 0)
		st->top_is_array = 1;
	st->depth++;
	return (1);
}

static int
floor_end_array(void *arg)
{
	struct floor_state	*st = arg;

	st->depth--;
	if (st->depth == 0)
		st->top_is_array = 0;
	return (1);
}

static const yajl_callbacks floor_callbacks = {
	NULL, NULL, NULL, NULL, NULL, NULL,
	floor_start_map, NULL, floor_end_map, floor_start_array, floor_end_array
};

/* Print yajl's description of the error at the end of buf. */
static void
floor_parse_error(yajl_handle h, const char *path, const unsigned char *buf,
    size_t len, uint64_t chunk_offset)
{
	unsigned char	*msg;

	msg = yajl_get_error(h, 0, buf, len);
	fprintf(stderr, "floor: %s: near byte %" PRIu64 ": %s", path,
	    chunk_offset + yajl_get_bytes_consumed(h), (const char *)msg);
	yajl_free_error(h, msg);
}

int
main(int argc, char **argv)
{
	struct floor_state	 st;
	yajl_handle		 h;
	unsigned char		*buf;
	uint64_t		 offset = 0;
	ssize_t			 n;
	int			 fd, rv = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: floor FILE\n");
		return (2);
	}
	if ((fd = open(argv[1], O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "floor: %s: %s\n", argv[1], strerror(errno));
		return (1);
	}
#ifdef POSIX_FADV_SEQUENTIAL
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	if ((buf = malloc(FLOOR_CHUNK)) == NULL) {
		fprintf(stderr, "floor: out of memory\n");
		return (1);
	}
	memset(&st, 0, sizeof(st));
	if ((h = yajl_alloc(&floor_callbacks, NULL, &st)) == NULL) {
		fprintf(stderr, "floor: yajl_alloc failed\n");
		return (1);
	}
	yajl_config(h, yajl_allow_multiple_values, 1);
	yajl_config(h, yajl_dont_validate_strings, 1);

	for (;;) {
		n = read(fd, buf, FLOOR_CHUNK);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "floor: %s: %s\n", argv[1],
			    strerror(errno));
			rv = 1;
			goto done;
		}
		if (yajl_parse(h, buf, (size_t)n) != yajl_status_ok) {
			floor_parse_error(h, argv[1], buf, (size_t)n, offset);
			rv = 1;
			goto done;
		}
		offset += (uint64_t)n;
	}
	if (yajl_complete_parse(h) != yajl_status_ok) {
		floor_parse_error(h, argv[1], buf, 0, offset);
		rv = 1;
		goto done;
	}
	printf("%" PRIu64 "\n", st.entries);
done:
	yajl_free(h);
	free(buf);
	close(fd);
	return (rv);
}
