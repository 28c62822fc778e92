/*
 * Two stages on two threads: the entry reader's thread copies each entry
 * into a bounded ring, a consumer thread rebuilds it and calls the
 * consumer (matching and counting).  Parsing is the floor of the ingest
 * path; this keeps the rest off its core.  Entries reach the consumer in
 * input order, one at a time, so the consumer needs no locking of its own.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include "entry.h"

#define PIPELINE_RING	(4 * 1024 * 1024)	/* bytes of queued entries */

struct pipeline;

/* Start the consumer thread; consume(e, arg) runs on it. */
struct pipeline	*pipeline_start(entry_cb consume, void *arg);

/*
 * An entry_cb for the reader: copies e into the ring, waiting while it is
 * full.  Returns -1 once the consumer has stopped (returned -1).
 */
int		 pipeline_push(const struct log_entry *e, void *pipeline);

/* Hand the consumer what was pushed so far without waiting for a batch. */
void		 pipeline_flush(struct pipeline *);

/*
 * Wait until every pushed entry has been consumed.  Returns 0, or -1 when
 * the consumer stopped.  The consumer's state may be read after this.
 */
int		 pipeline_drain(struct pipeline *);

/* Drain, end the thread and free. */
void		 pipeline_free(struct pipeline *);	/* NULL ok */

#endif
