/*
 * Stage 3b: templates for errors no catalogue pattern knows.
 *
 * A message is masked (numbers, hex ids, UUIDs, IPs and ports, dates and
 * times, emails, URL query strings, quoted phrases, the variable segments
 * of paths become <*>), then grouped Drain-style: messages with the same
 * token count and the same first two constant tokens (at the same
 * positions) share a bucket; within it a message joins the most similar
 * template (FP_SIM_PCT), else it starts a new one.  A message holding a
 * Python traceback is keyed instead by its exception type and innermost
 * application frames.
 *
 * The surprising part: a template's id is the hash of its text at birth
 * and never changes, while its text may widen (a position that varied
 * becomes <*>).  So ids are content-derived: two tables fed the same
 * messages in the same order give the same ids, a message whose masked
 * form equals a birth text always gets that template (even after a
 * restart, or after that template was evicted and is born again), and a
 * process that fp_load()s the stored templates groups later messages into
 * them under the old ids.
 *
 * No global state; a table is not thread-safe.  In the steady state
 * fp_add() allocates nothing: only a new template, a widening or a growing
 * table do.
 */
#ifndef FINGERPRINT_H
#define FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Default cap on templates held by a table.  At the cap the least recently
 * born template seen only once is evicted to make room; templates seen
 * more than once are never evicted.  When every template has been seen
 * more than once no new template is made: the message gets the shared
 * overflow template, FP_OVERFLOW_ID.
 */
#define FP_CAP_DEFAULT	10000

/*
 * What a template keeps of a message: the first FP_TEXT_MAX bytes and
 * FP_TOKEN_MAX tokens of its masked form (messages differing only beyond
 * that share a template).  Widening adds "<*>" to a token at most once, so
 * a template's text is at most FP_WIDE_MAX bytes.  With the default cap a
 * table holds at most about FP_CAP_DEFAULT * (FP_WIDE_MAX + 16 *
 * FP_TOKEN_MAX) bytes, ~35 MB; a typical template takes a few hundred.
 */
#define FP_TEXT_MAX	1024
#define FP_TOKEN_MAX	128
#define FP_WIDE_MAX	(FP_TEXT_MAX + 3 * FP_TOKEN_MAX)

/*
 * fp_add() masks at most the first FP_SCAN_MAX bytes of a message, so a
 * long message costs no more than a short one (the traceback reader alone
 * reads a message to its end, where the exception is).
 */
#define FP_SCAN_MAX	(2 * FP_TEXT_MAX)

/*
 * Join the most similar template in the bucket when >= this percent of its
 * constant tokens equal the message's (tokens holding a variable, like
 * "rhost=<*>" or "(uid=<*>)", do not count, but the message must match
 * them or have a token of their kind there).  Measured on Loghub-2k: GA is
 * flat from 70 to 75, lower at 60 and at 80.
 */
#define FP_SIM_PCT	70

/* Innermost application frames in a traceback key. */
#define FP_TB_FRAMES	2

/*
 * The rules' version: masking, tokens, grouping and the hash.  Ids are
 * hashes of masked text, so new rules may give the same messages new
 * ids; the store records the version that made its templates.  Bump it
 * with any change to what fp_mask() or fp_add() produce.
 */
#define FP_VERSION	1

/* "tpl-" and 16 lowercase hex digits, NUL-terminated. */
#define FP_ID_LEN	21
/* The id of messages refused by a full table: hash 0, never a real id. */
#define FP_OVERFLOW_ID	"tpl-0000000000000000"

/*
 * A template as fp_add() returns it.  Everything here, text included,
 * belongs to the table and is valid until the next fp_add(), fp_load()
 * or fp_free(): copy what you keep.
 */
struct fp_template {
	char		 id[FP_ID_LEN];	/* "tpl-" + hash, for good */
	uint64_t	 hash;		/* the id as a number */
	const char	*text;		/* now, <*> for variables */
	uint64_t	 count;		/* messages, fp_load()'s too */
	int		 is_new;	/* born by this call (also when one
					   evicted earlier is born again, under
					   its old id: upsert, do not insert) */
	int		 widened;	/* text changed by this call */
	int		 is_traceback;	/* keyed by a traceback */
	int		 is_overflow;	/* FP_OVERFLOW_ID: table full */
};

struct fp_stats {
	size_t		 templates;	/* held now */
	uint64_t	 born;		/* templates made by fp_add() */
	uint64_t	 evicted;	/* singletons dropped at the cap */
	uint64_t	 overflowed;	/* messages given FP_OVERFLOW_ID */
};

struct fp_table;

/* A new table holding at most cap templates (0: FP_CAP_DEFAULT). */
struct fp_table	*fp_new(size_t cap);
void		 fp_free(struct fp_table *);	/* NULL is a no-op */

/*
 * Group one message of len bytes (not NUL-terminated, any bytes) and
 * count it.  Returns its template, never NULL; see struct fp_template for
 * how long it lives.
 */
const struct fp_template *fp_add(struct fp_table *, const char *msg,
		    size_t len);

/*
 * Restore a template the store kept (its id, current text and count), so
 * later messages join it under the same id; text is taken as it was
 * stored, not masked again.  The order of loading is the eviction order
 * of those seen once: load them oldest first.  A store holding more than
 * the cap should load those seen more than once first (they are never
 * evicted; the latest seen if not all fit), then the rest.  Loading an id
 * already held replaces its text and count.  Returns 0, or -1 when id is
 * not "tpl-" + 16 lowercase hex digits (or is the overflow id), or when
 * the table is full of templates seen more than once.
 */
int		 fp_load(struct fp_table *, const char *id, const char *text,
		    uint64_t count);

void		 fp_stats(const struct fp_table *, struct fp_stats *);

/*
 * Mask the variable parts of msg (len bytes) into out (outsz >= 1, always
 * NUL-terminated): tokens separated by single spaces, each variable part
 * "<*>".  Output that would not fit is cut at a token boundary.  Returns
 * the bytes written, excluding the NUL.  Pure: for tests and for
 * `templates promote`.  (fp_add() masks into FP_TEXT_MAX + 1 bytes and
 * stops after FP_TOKEN_MAX tokens.)
 */
size_t		 fp_mask(const char *msg, size_t len, char *out,
		    size_t outsz);

/*
 * The traceback key of msg ("ValueError @ app/db.py:save <
 * app/routes.py:create_order": the exception type, then up to
 * FP_TB_FRAMES innermost application frames, innermost first, as
 * path:function; no line numbers) into out (outsz >= 1, NUL-terminated,
 * cut when too long).  Frames under site-packages, dist-packages or
 * lib/pythonX.Y are library code; when there is no other frame the
 * innermost library frames are used, from the package name on.  Of a
 * chained traceback, the last.  Returns the key's length, or 0 when msg
 * holds no complete Python traceback (header, frames, exception line).
 */
size_t		 fp_traceback_key(const char *msg, size_t len, char *out,
		    size_t outsz);

#endif
