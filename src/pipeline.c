/*
 * The reader/consumer hand-off.  A record is the entry's numbers followed
 * by its strings, packed into a byte ring; a record that does not fit
 * before the ring's end starts again at 0 (a zero length word marks the
 * jump).  The producer publishes its write position in batches, so the
 * lock is taken once per PUBLISH_EVERY entries, not per entry.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "xmalloc.h"

#define PUBLISH_EVERY	64

/* The strings of a log_entry, in record order. */
#define NSTR	16

struct record {
	uint32_t	 len;		/* bytes of the whole record, 0: wrap */
	uint32_t	 slen[NSTR];
	int64_t		 timestamp_ns;
	int64_t		 receive_ns;
	int64_t		 http_latency_ns;
	uint64_t	 offset;
	uint64_t	 end_offset;
	uint64_t	 line;
	int32_t		 severity;
	int32_t		 http_status;
	int32_t		 kind;
	int32_t		 message_cut;
	int32_t		 is_text;
	int32_t		 pad;
};

struct pipeline {
	entry_cb	 consume;
	void		*arg;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 more;		/* producer -> consumer */
	pthread_cond_t	 room;		/* consumer -> producer */
	unsigned char	*ring;
	/* under lock */
	size_t		 published;	/* consumer may read up to here */
	size_t		 consumed;	/* producer may reuse up to here */
	uint64_t	 pushed_count;	/* entries published */
	uint64_t	 done_count;	/* entries consumed */
	int		 stopped;	/* the consumer returned -1; atomic */
	int		 closing;
	/* producer only */
	size_t		 wpos;
	size_t		 unpublished;
	size_t		 known_free_to;	/* a consumed position seen lately */
};

static struct str *
entry_strs(const struct log_entry *e, struct str *s)
{
	s[0] = e->insert_id;
	s[1] = e->log_name;
	s[2] = e->resource_type;
	s[3] = e->project;
	s[4] = e->location;
	s[5] = e->service;
	s[6] = e->revision;
	s[7] = e->trace;
	s[8] = e->commit_sha;
	s[9] = e->build_id;
	s[10] = e->http_method;
	s[11] = e->http_url;
	s[12] = e->message;
	s[13].p = "";
	s[13].len = 0;
	s[14] = s[13];
	s[15] = s[13];
	return (s);
}

static void
entry_set_strs(struct log_entry *e, const struct str *s)
{
	e->insert_id = s[0];
	e->log_name = s[1];
	e->resource_type = s[2];
	e->project = s[3];
	e->location = s[4];
	e->service = s[5];
	e->revision = s[6];
	e->trace = s[7];
	e->commit_sha = s[8];
	e->build_id = s[9];
	e->http_method = s[10];
	e->http_url = s[11];
	e->message = s[12];
}

static void *
pipeline_main(void *arg)
{
	struct pipeline		*pl = arg;
	struct record		 rec;
	struct log_entry	 e;
	struct str		 s[NSTR];
	size_t			 rpos, end, i, n;
	unsigned char		*p;
	uint64_t		 count;
	int			 stopped = 0;

	pthread_mutex_lock(&pl->lock);
	for (;;) {
		while (pl->published == pl->consumed && !pl->closing)
			pthread_cond_wait(&pl->more, &pl->lock);
		if (pl->published == pl->consumed && pl->closing)
			break;
		rpos = pl->consumed;
		end = pl->published;
		pthread_mutex_unlock(&pl->lock);

		count = 0;
		while (rpos != end) {
			/* the length first: a wrap marker may stand closer
			 * to the ring's end than a whole record */
			memcpy(&rec.len, pl->ring + rpos, sizeof(rec.len));
			if (rec.len == 0) {
				rpos = 0;	/* the producer wrapped */
				continue;
			}
			memcpy(&rec, pl->ring + rpos, sizeof(rec));
			count++;
			if (stopped) {
				rpos += rec.len;
				if (rpos == PIPELINE_RING)
					rpos = 0;
				continue;
			}
			memset(&e, 0, sizeof(e));
			p = pl->ring + rpos + sizeof(rec);
			for (i = 0; i < NSTR; i++) {
				s[i].p = (const char *)p;
				s[i].len = rec.slen[i];
				p += rec.slen[i];
			}
			entry_set_strs(&e, s);
			e.timestamp_ns = rec.timestamp_ns;
			e.receive_ns = rec.receive_ns;
			e.http_latency_ns = rec.http_latency_ns;
			e.offset = rec.offset;
			e.end_offset = rec.end_offset;
			e.line = rec.line;
			e.severity = rec.severity;
			e.http_status = rec.http_status;
			e.kind = (enum log_kind)rec.kind;
			e.message_cut = rec.message_cut;
			e.is_text = rec.is_text;
			if (pl->consume(&e, pl->arg) == -1) {
				stopped = 1;
				__atomic_store_n(&pl->stopped, 1,
				    __ATOMIC_RELEASE);
			}
			rpos += rec.len;
			if (rpos == PIPELINE_RING)
				rpos = 0;
		}
		n = rpos;
		pthread_mutex_lock(&pl->lock);
		pl->consumed = n;
		pl->done_count += count;
		pthread_cond_broadcast(&pl->room);
	}
	pthread_mutex_unlock(&pl->lock);
	return (NULL);
}

struct pipeline *
pipeline_start(entry_cb consume, void *arg)
{
	struct pipeline	*pl;

	pl = xcalloc(1, sizeof(*pl));
	pl->consume = consume;
	pl->arg = arg;
	pl->ring = xmalloc(PIPELINE_RING);
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->more, NULL);
	pthread_cond_init(&pl->room, NULL);
	if (pthread_create(&pl->thread, NULL, pipeline_main, pl) != 0) {
		free(pl->ring);
		free(pl);
		return (NULL);
	}
	return (pl);
}

/* Make what was written visible to the consumer. */
static void
pipeline_publish(struct pipeline *pl)
{
	pthread_mutex_lock(&pl->lock);
	pl->published = pl->wpos;
	pl->pushed_count += pl->unpublished;
	pl->unpublished = 0;
	pl->known_free_to = pl->consumed;
	pthread_cond_signal(&pl->more);
	pthread_mutex_unlock(&pl->lock);
}

/*
 * Make room for a record of len bytes, contiguous, at pl->wpos: wrapping
 * to 0 (with a marker) when the end is too near, waiting while the
 * consumer has not freed enough.  One byte always stays free, so equal
 * positions mean an empty ring.  Returns 0, or -1 when the consumer
 * stopped.
 */
static int
pipeline_room(struct pipeline *pl, size_t len)
{
	size_t		c;
	uint32_t	zero = 0;

	for (;;) {
		c = pl->known_free_to;
		if (c > pl->wpos) {
			if (c - pl->wpos > len)
				return (0);
		} else {
			if (PIPELINE_RING - pl->wpos > len ||
			    (PIPELINE_RING - pl->wpos == len && c != 0))
				return (0);
			if (c > len) {
				/* the rest of the ring is too short: jump */
				memcpy(pl->ring + pl->wpos, &zero,
				    sizeof(zero));
				pl->wpos = 0;
				return (0);
			}
		}
		pipeline_publish(pl);
		pthread_mutex_lock(&pl->lock);
		while (!pl->stopped && pl->consumed == c &&
		    pl->consumed != pl->published)
			pthread_cond_wait(&pl->room, &pl->lock);
		pl->known_free_to = pl->consumed;
		if (pl->stopped) {
			pthread_mutex_unlock(&pl->lock);
			return (-1);
		}
		pthread_mutex_unlock(&pl->lock);
	}
}

int
pipeline_push(const struct log_entry *e, void *arg)
{
	struct pipeline	*pl = arg;
	struct record	 rec;
	struct str	 s[NSTR];
	size_t		 len, i;
	unsigned char	*p;

	if (__atomic_load_n(&pl->stopped, __ATOMIC_ACQUIRE))
		return (-1);
	entry_strs(e, s);
	memset(&rec, 0, sizeof(rec));
	len = sizeof(rec);
	for (i = 0; i < NSTR; i++) {
		rec.slen[i] = (uint32_t)s[i].len;
		len += s[i].len;
	}
	len = (len + 7) & ~(size_t)7;
	if (pipeline_room(pl, len) == -1)
		return (-1);
	rec.len = (uint32_t)len;
	rec.timestamp_ns = e->timestamp_ns;
	rec.receive_ns = e->receive_ns;
	rec.http_latency_ns = e->http_latency_ns;
	rec.offset = e->offset;
	rec.end_offset = e->end_offset;
	rec.line = e->line;
	rec.severity = e->severity;
	rec.http_status = e->http_status;
	rec.kind = (int32_t)e->kind;
	rec.message_cut = e->message_cut;
	rec.is_text = e->is_text;
	p = pl->ring + pl->wpos;
	memcpy(p, &rec, sizeof(rec));
	p += sizeof(rec);
	for (i = 0; i < NSTR; i++) {
		if (s[i].len > 0)	/* an empty str may have p == NULL */
			memcpy(p, s[i].p, s[i].len);
		p += s[i].len;
	}
	pl->wpos += len;
	if (pl->wpos == PIPELINE_RING)
		pl->wpos = 0;
	if (++pl->unpublished >= PUBLISH_EVERY)
		pipeline_publish(pl);
	return (0);
}

void
pipeline_flush(struct pipeline *pl)
{
	if (pl->unpublished > 0)
		pipeline_publish(pl);
}

int
pipeline_drain(struct pipeline *pl)
{
	int	stopped;

	pipeline_publish(pl);
	pthread_mutex_lock(&pl->lock);
	while (!pl->stopped && pl->done_count < pl->pushed_count)
		pthread_cond_wait(&pl->room, &pl->lock);
	stopped = pl->stopped;
	pthread_mutex_unlock(&pl->lock);
	return (stopped ? -1 : 0);
}

void
pipeline_free(struct pipeline *pl)
{
	if (pl == NULL)
		return;
	pipeline_publish(pl);
	pthread_mutex_lock(&pl->lock);
	pl->closing = 1;
	pthread_cond_signal(&pl->more);
	pthread_mutex_unlock(&pl->lock);
	pthread_join(pl->thread, NULL);
	pthread_mutex_destroy(&pl->lock);
	pthread_cond_destroy(&pl->more);
	pthread_cond_destroy(&pl->room);
	free(pl->ring);
	free(pl);
}
