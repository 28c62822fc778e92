/*
 * The entry reader: Cloud Logging JSON (or plain text) in arbitrary chunks
 * -> one struct log_entry per complete LogEntry, through yajl's callback
 * parser, never a document tree.
 *
 * Which objects are entries: an object at the top level, or in an array at
 * the top level, or in a value of a key that no LogEntry has (a collector's
 * {"fetch_time": ..., "raw_logs": [...]}) is a candidate; it is an entry
 * when it ends holding insertId and one of logName, resource, timestamp.
 * Everything inside a candidate's known keys (jsonPayload above all, which
 * nests its own "timestamp", "labels", even "textPayload") is payload and
 * never a candidate, so nested fields never override the entry's own.
 *
 * Surprising part: a yajl handle that has failed stays failed.  After a
 * malformed entry or a non-JSON line, the reader scans for the next line
 * whose first non-blank byte is '{' (no deeper than the broken entry's own
 * '{'), frees the handle and starts a new one there -- fed a synthetic '['
 * first when the break happened inside an array, so the ",{...}" that
 * follows still parses.
 *
 * Memory: each field is capped (entry.h); yajl buffers one token at a time,
 * so a token that grows past ENTRY_TOKEN_MAX without a callback is cut off
 * by dropping the handle; nesting deeper than ENTRY_DEPTH_MAX is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_parse.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "entry.h"
#include "util.h"
#include "xmalloc.h"

/* Fields of interest; everything else is F_NONE and costs one compare. */
enum field {
	F_NONE,
	F_UNKNOWN,		/* a key no LogEntry has: may hold entries */
	F_INSERT_ID, F_LOG_NAME, F_TIMESTAMP, F_RECEIVE_TS, F_SEVERITY,
	F_RESOURCE, F_HTTP, F_LABELS, F_TRACE, F_TEXT_PAYLOAD,
	F_JSON_PAYLOAD, F_PROTO_PAYLOAD,
	F_RES_TYPE, F_RES_LABELS,
	F_RL_PROJECT, F_RL_LOCATION, F_RL_SERVICE, F_RL_REVISION, F_RL_JOB,
	F_RL_ZONE, F_RL_REGION,
	F_HTTP_STATUS, F_HTTP_METHOD, F_HTTP_URL, F_HTTP_LATENCY,
	F_LBL_COMMIT, F_LBL_BUILD,
	F_JP_MESSAGE, F_JP_MSG, F_JP_ERROR, F_JP_EXCEPTION, F_JP_EVENT,
	F_PP_METHOD, F_PP_STATUS, F_PPS_MESSAGE
};

/* String slots of a builder. */
enum slot {
	S_INSERT_ID, S_LOG_NAME, S_RES_TYPE, S_PROJECT, S_LOCATION, S_SERVICE,
	S_REVISION, S_JOB, S_ZONE, S_REGION, S_TRACE, S_COMMIT, S_BUILD,
	S_METHOD, S_URL, S_PP_METHOD, S_RECEIVE_TS, S_COUNT
};

/* Message sources, best first (logaudit(1), "The message"). */
enum msg_prio {
	P_TEXT = 1, P_JP_MESSAGE, P_JP_MSG, P_JP_ERROR, P_JP_EXCEPTION,
	P_JP_EVENT, P_PP_STATUS, P_PP_METHOD, P_PAYLOAD, P_HTTP, P_NONE
};

/* A head-and-tail accumulator: keeps the first and last bytes of a value. */
#define HT_HEAD	(ENTRY_MESSAGE_MAX - ENTRY_MESSAGE_TAIL - 64)
struct headtail {
	char		 head[HT_HEAD];
	size_t		 head_len;
	char		 tail[ENTRY_MESSAGE_TAIL];	/* ring */
	size_t		 tail_pos;
	uint64_t	 total;		/* bytes appended */
};

/* One candidate object being read. */
struct builder {
	char		 s[S_COUNT][ENTRY_FIELD_MAX];
	uint16_t	 s_len[S_COUNT];
	unsigned	 has_insert_id:1, has_log_name:1, has_resource:1,
			 has_timestamp:1, has_children:1, has_http:1,
			 has_payload:1, bad_timestamp:1;
	int64_t		 timestamp_ns;
	int		 severity;
	int		 http_status;
	int64_t		 latency_ns;
	enum msg_prio	 msg_prio;
	struct headtail	 msg;
	/* raw JSON of the payload, for serialised messages */
	char		 cap[ENTRY_MESSAGE_MAX];
	size_t		 cap_len;
	int		 cap_depth;	/* frame depth of the captured container,
					   -1 when not capturing */
	size_t		 cap_from;	/* start in the current parse buffer */
	size_t		 msg_obj_from;	/* jsonPayload.message object in cap */
	size_t		 msg_obj_to;
	int		 msg_obj_depth;
	uint64_t	 offset;	/* of its '{' */
	uint64_t	 line;
	int		 col;		/* column of its '{', -1 unknown */
	int		 parent_is_array;
	int		 depth;		/* frame index of its own map */
};

#define BUILDER_MAX	4

enum role {
	R_FREE,			/* outside any candidate: maps here are candidates */
	R_ENTRY,		/* the candidate's own map */
	R_IN			/* inside a candidate */
};

struct frame {
	unsigned char	 is_array;
	unsigned char	 role;
	unsigned char	 field;		/* what this container is, for R_IN */
};

enum mode {
	M_DETECT,		/* collecting lookahead */
	M_JSON,
	M_SEP,			/* resuming in an array: skip "," and blanks */
	M_SKIP,			/* resyncing: looking for a line starting '{' */
	M_TEXT,
	M_DEAD			/* refused (YAML) */
};

struct entry_reader {
	struct entry_reader_config cfg;
	struct entry_stats	 stats;
	enum entry_framing	 framing;
	enum mode		 mode;
	yajl_handle		 h;
	int			 stop;		/* on_entry asked to stop */
	int			 cancel_oversize;
	const char		*cancel_why;	/* why a callback cancelled */
	int			 ndjson;	/* the last entry fitted on one
						   line: entries do not span
						   lines here */

	/* the buffer yajl is parsing now */
	const unsigned char	*cur;
	size_t			 cur_len;
	uint64_t		 cur_base;	/* absolute offset of cur[0] */
	int			 synthetic;	/* parsing our own "[" */
	uint64_t		 ncb;		/* callbacks so far */
	uint64_t		 silent;	/* bytes parsed without a callback */

	/* line counting: lines are counted up to lc_abs */
	uint64_t		 lc_abs;
	uint64_t		 lc_line;
	/* state of the last line of the previous buffer */
	int			 tail_ws_only;
	int			 tail_col;

	struct frame		 frames[ENTRY_DEPTH_MAX];
	int			 depth;		/* open containers */
	enum field		 key;		/* field of the pending value */
	struct builder		*b[BUILDER_MAX];
	int			 nb;		/* open builders */

	/* resync */
	int			 sk_col_limit;	/* -1: any column */
	int			 sk_text;	/* skipped lines count as text */
	int			 sk_in_array;	/* prime the new handle with '[' */
	int			 sk_top;	/* failed outside any value: an
						   array may start a line too */
	int			 sk_ws_only;
	int			 sk_col;
	int			 sk_nonblank;
	int			 sk_punct_only;
	uint64_t		 sk_lines;	/* text lines skipped this time */
	uint64_t		 sk_first_line;
	uint64_t		 sk_from;	/* where the skip began */
	uint64_t		 last_restart;

	/* detection */
	char			*look;
	size_t			 look_len;

	/* text mode */
	struct headtail		*line;
	int			 line_open;
	uint64_t		 line_offset;
	uint64_t		 line_no;

	/* resume point after the last delivered entry */
	uint64_t		 resume_offset;
	int			 resume_in_array;
	uint64_t		 resume_line;

	/* the entry handed out, and its message */
	struct log_entry	 e;
	char			 out_msg[ENTRY_MESSAGE_MAX + 64];
};

static const char *log_kind_names[LOG_KIND_COUNT] = {
	"requests", "stdout", "stderr", "system", "audit", "other"
};

const char *
log_kind_name(enum log_kind k)
{
	return (k < LOG_KIND_COUNT ? log_kind_names[k] : "other");
}

const char *
entry_framing_name(enum entry_framing f)
{
	switch (f) {
	case FRAMING_ARRAY:
		return ("array");
	case FRAMING_STREAM:
		return ("stream");
	case FRAMING_WRAPPED:
		return ("wrapped array");
	case FRAMING_TEXT:
		return ("text");
	case FRAMING_YAML:
		return ("yaml");
	default:
		return ("empty");
	}
}

/* ---- head and tail ---------------------------------------------------- */

static void
ht_reset(struct headtail *ht)
{
	ht->head_len = 0;
	ht->tail_pos = 0;
	ht->total = 0;
}

static void
ht_append(struct headtail *ht, const char *p, size_t len)
{
	size_t	n;

	ht->total += len;
	if (ht->head_len < HT_HEAD) {
		n = HT_HEAD - ht->head_len;
		if (n > len)
			n = len;
		memcpy(ht->head + ht->head_len, p, n);
		ht->head_len += n;
		p += n;
		len -= n;
	}
	if (len >= ENTRY_MESSAGE_TAIL) {
		memcpy(ht->tail, p + len - ENTRY_MESSAGE_TAIL,
		    ENTRY_MESSAGE_TAIL);
		ht->tail_pos = ENTRY_MESSAGE_TAIL;
		return;
	}
	while (len > 0) {
		size_t	at = ht->tail_pos % ENTRY_MESSAGE_TAIL;

		n = ENTRY_MESSAGE_TAIL - at;
		if (n > len)
			n = len;
		memcpy(ht->tail + at, p, n);
		ht->tail_pos += n;
		p += n;
		len -= n;
	}
}

/*
 * Write the value into dst (room for ENTRY_MESSAGE_MAX + 64): whole when it
 * fitted, else its head, a marker and its tail, cut at UTF-8 boundaries.
 * Returns the length; *cut says whether anything was left out.
 */
static size_t
ht_render(const struct headtail *ht, char *dst, int *cut)
{
	size_t	 o, n, tn, start, i;

	if (ht->total <= HT_HEAD) {
		memcpy(dst, ht->head, ht->head_len);
		*cut = 0;
		return (ht->head_len);
	}
	if (ht->total <= HT_HEAD + ENTRY_MESSAGE_TAIL &&
	    ht->tail_pos <= ENTRY_MESSAGE_TAIL) {
		memcpy(dst, ht->head, ht->head_len);
		memcpy(dst + ht->head_len, ht->tail, ht->tail_pos);
		*cut = 0;
		return (ht->head_len + ht->tail_pos);
	}
	*cut = 1;
	n = ht->head_len;
	/* back off an incomplete UTF-8 sequence at the end of the head */
	for (i = 0; i < 4 && n > 0 &&
	    ((unsigned char)ht->head[n - 1] & 0xc0) == 0x80; i++)
		n--;
	if (n > 0 && ((unsigned char)ht->head[n - 1] & 0xc0) == 0xc0)
		n--;
	memcpy(dst, ht->head, n);
	o = n;
	memcpy(dst + o, " [...] ", 7);
	o += 7;
	tn = ht->tail_pos < ENTRY_MESSAGE_TAIL ? ht->tail_pos :
	    ENTRY_MESSAGE_TAIL;
	start = ht->tail_pos < ENTRY_MESSAGE_TAIL ? 0 :
	    ht->tail_pos % ENTRY_MESSAGE_TAIL;
	for (i = 0; i < tn; i++) {
		unsigned char	c = ht->tail[(start + i) % ENTRY_MESSAGE_TAIL];

		/* skip continuation bytes at the start of the tail */
		if (o == n + 7 && (c & 0xc0) == 0x80)
			continue;
		dst[o++] = (char)c;
	}
	return (o);
}

/* ---- line counting ---------------------------------------------------- */

/*
 * Newlines in p[0..len).  Line numbers cost a pass over every byte, so it
 * must stay far below the parse: SSE2 compares sixteen bytes at a time
 * and adds the matches bytewise (255 rounds at most), else a word-at-a-
 * time fallback.
 */
static uint64_t
count_newlines(const unsigned char *p, size_t len)
{
	uint64_t	 n = 0;
	size_t		 i = 0;
#ifdef __SSE2__
	const __m128i	 nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
	__m128i		 acc, sad;
	size_t		 round;

	while (i + 16 <= len) {
		acc = zero;
		/* four vectors a round: 63 rounds keep each byte below 256 */
		for (round = 0; round < 63 && i + 64 <= len; round++,
		    i += 64) {
			__m128i	a, b;

			a = _mm_add_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(
			    (const __m128i *)(p + i)), nl), _mm_cmpeq_epi8(
			    _mm_loadu_si128((const __m128i *)(p + i + 16)), nl));
			b = _mm_add_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(
			    (const __m128i *)(p + i + 32)), nl), _mm_cmpeq_epi8(
			    _mm_loadu_si128((const __m128i *)(p + i + 48)), nl));
			acc = _mm_sub_epi8(acc, _mm_add_epi8(a, b));
		}
		for (; round < 255 && i + 16 <= len && i + 64 > len; round++,
		    i += 16)
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(
			    _mm_loadu_si128((const __m128i *)(p + i)), nl));
		sad = _mm_sad_epu8(acc, zero);
		n += (uint64_t)_mm_cvtsi128_si64(sad) +
		    (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sad, sad));
	}
#else
	const uint64_t	 ones = 0x0101010101010101ULL;
	const uint64_t	 nlw = ones * '\n', low7 = ones * 0x7f;
	uint64_t	 w, t;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		w ^= nlw;
		/* a byte of t has its top bit set iff that byte of w is 0;
		 * the multiply adds the eight 0/1 bytes into the top byte */
		t = ~(((w & low7) + low7) | w | low7);
		n += ((t >> 7) * ones) >> 56;
	}
#endif
	for (; i < len; i++)
		n += p[i] == '\n';
	return (n);
}

/* The line of absolute offset abs, which lies in the current buffer. */
static uint64_t
line_at(struct entry_reader *r, uint64_t abs)
{
	if (abs > r->lc_abs && abs <= r->cur_base + r->cur_len &&
	    r->lc_abs >= r->cur_base) {
		r->lc_line += count_newlines(r->cur + (r->lc_abs - r->cur_base),
		    abs - r->lc_abs);
		r->lc_abs = abs;
	}
	return (r->lc_line);
}

/*
 * Column of cur[at] and whether only blanks precede it on its line; -1 when
 * the line start is too far back to tell cheaply.
 */
static int
column_at(const struct entry_reader *r, size_t at, int *ws_only)
{
	size_t	 i, lim = at > 256 ? at - 256 : 0;
	int	 ws = 1;

	for (i = at; i > lim; i--) {
		unsigned char	c = r->cur[i - 1];

		if (c == '\n') {
			*ws_only = ws;
			return ((int)(at - i));
		}
		if (c != ' ' && c != '\t' && c != '\r')
			ws = 0;
	}
	if (i == 0) {
		/* the line began in an earlier buffer */
		*ws_only = ws && r->tail_ws_only;
		return (r->tail_col < 0 ? -1 : r->tail_col + (int)at);
	}
	*ws_only = 0;
	return (-1);
}

/* Remember how the buffer's last line looks, for the next buffer. */
static void
note_buffer_tail(struct entry_reader *r, const unsigned char *p, size_t len)
{
	const unsigned char	*nl;
	size_t			 i, from;

	if (len == 0)
		return;
	nl = memrchr(p, '\n', len);
	if (nl == NULL) {
		from = 0;
	} else {
		from = (size_t)(nl - p) + 1;
		r->tail_ws_only = 1;
		r->tail_col = 0;
	}
	for (i = from; i < len && r->tail_ws_only; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			r->tail_ws_only = 0;
	if (r->tail_col >= 0) {
		if (len - from > 4096 || r->tail_col > 4096)
			r->tail_col = -1;
		else
			r->tail_col += (int)(len - from);
	}
}

/* ---- problems --------------------------------------------------------- */

static void
problem(struct entry_reader *r, enum entry_problem_kind kind, uint64_t off,
    uint64_t line, uint64_t count, const char *detail)
{
	struct entry_problem	p;

	if (kind == PROBLEM_SKIPPED_TEXT)
		r->stats.skipped_lines += count;
	else
		r->stats.problems[kind]++;
	if (r->cfg.on_problem == NULL)
		return;
	p.kind = kind;
	p.offset = off;
	p.line = line;
	p.count = count;
	p.detail = detail != NULL ? detail : "";
	r->cfg.on_problem(&p, r->cfg.problem_arg);
}

/* ---- field dispatch --------------------------------------------------- */

#define KEY_IS(k, l, lit) ((l) == sizeof(lit) - 1 && memcmp((k), lit, (l)) == 0)

static enum field
field_top(const unsigned char *k, size_t l)
{
	switch (k[0]) {
	case 'a':
		if (KEY_IS(k, l, "apphub") || KEY_IS(k, l, "apphubDestination") ||
		    KEY_IS(k, l, "apphubSource") ||
		    KEY_IS(k, l, "apphub_destination") ||
		    KEY_IS(k, l, "apphub_source"))
			return (F_NONE);
		break;
	case 'e':
		if (KEY_IS(k, l, "errorGroups") || KEY_IS(k, l, "error_groups"))
			return (F_NONE);
		break;
	case 'h':
		if (KEY_IS(k, l, "httpRequest") || KEY_IS(k, l, "http_request"))
			return (F_HTTP);
		break;
	case 'i':
		if (KEY_IS(k, l, "insertId") || KEY_IS(k, l, "insert_id"))
			return (F_INSERT_ID);
		break;
	case 'j':
		if (KEY_IS(k, l, "jsonPayload") || KEY_IS(k, l, "json_payload"))
			return (F_JSON_PAYLOAD);
		break;
	case 'l':
		if (KEY_IS(k, l, "logName") || KEY_IS(k, l, "log_name"))
			return (F_LOG_NAME);
		if (KEY_IS(k, l, "labels"))
			return (F_LABELS);
		break;
	case 'm':
		if (KEY_IS(k, l, "metadata"))
			return (F_NONE);
		break;
	case 'o':
		if (KEY_IS(k, l, "operation") || KEY_IS(k, l, "otel"))
			return (F_NONE);
		break;
	case 'p':
		if (KEY_IS(k, l, "protoPayload") || KEY_IS(k, l, "proto_payload"))
			return (F_PROTO_PAYLOAD);
		break;
	case 'r':
		if (KEY_IS(k, l, "resource"))
			return (F_RESOURCE);
		if (KEY_IS(k, l, "receiveTimestamp") ||
		    KEY_IS(k, l, "receive_timestamp"))
			return (F_RECEIVE_TS);
		break;
	case 's':
		if (KEY_IS(k, l, "severity"))
			return (F_SEVERITY);
		if (KEY_IS(k, l, "spanId") || KEY_IS(k, l, "span_id") ||
		    KEY_IS(k, l, "sourceLocation") ||
		    KEY_IS(k, l, "source_location") || KEY_IS(k, l, "split"))
			return (F_NONE);
		break;
	case 't':
		if (KEY_IS(k, l, "timestamp"))
			return (F_TIMESTAMP);
		if (KEY_IS(k, l, "textPayload") || KEY_IS(k, l, "text_payload"))
			return (F_TEXT_PAYLOAD);
		if (KEY_IS(k, l, "trace"))
			return (F_TRACE);
		if (KEY_IS(k, l, "traceSampled") || KEY_IS(k, l, "trace_sampled"))
			return (F_NONE);
		break;
	}
	return (F_UNKNOWN);
}

static enum field
field_of(enum field container, const unsigned char *k, size_t l)
{
	switch (container) {
	case F_RESOURCE:
		if (KEY_IS(k, l, "type"))
			return (F_RES_TYPE);
		if (KEY_IS(k, l, "labels"))
			return (F_RES_LABELS);
		break;
	case F_RES_LABELS:
		if (KEY_IS(k, l, "project_id"))
			return (F_RL_PROJECT);
		if (KEY_IS(k, l, "location"))
			return (F_RL_LOCATION);
		if (KEY_IS(k, l, "service_name"))
			return (F_RL_SERVICE);
		if (KEY_IS(k, l, "revision_name"))
			return (F_RL_REVISION);
		if (KEY_IS(k, l, "job_name"))
			return (F_RL_JOB);
		if (KEY_IS(k, l, "zone"))
			return (F_RL_ZONE);
		if (KEY_IS(k, l, "region"))
			return (F_RL_REGION);
		break;
	case F_HTTP:
		if (KEY_IS(k, l, "status"))
			return (F_HTTP_STATUS);
		if (KEY_IS(k, l, "requestMethod") ||
		    KEY_IS(k, l, "request_method") || KEY_IS(k, l, "method"))
			return (F_HTTP_METHOD);
		if (KEY_IS(k, l, "requestUrl") || KEY_IS(k, l, "request_url") ||
		    KEY_IS(k, l, "url"))
			return (F_HTTP_URL);
		if (KEY_IS(k, l, "latency"))
			return (F_HTTP_LATENCY);
		break;
	case F_LABELS:
		if (KEY_IS(k, l, "commit-sha"))
			return (F_LBL_COMMIT);
		if (KEY_IS(k, l, "gcb-build-id"))
			return (F_LBL_BUILD);
		break;
	case F_JSON_PAYLOAD:
		if (KEY_IS(k, l, "message"))
			return (F_JP_MESSAGE);
		if (KEY_IS(k, l, "msg"))
			return (F_JP_MSG);
		if (KEY_IS(k, l, "error"))
			return (F_JP_ERROR);
		if (KEY_IS(k, l, "exception"))
			return (F_JP_EXCEPTION);
		if (KEY_IS(k, l, "event"))
			return (F_JP_EVENT);
		break;
	case F_PROTO_PAYLOAD:
		if (KEY_IS(k, l, "methodName") || KEY_IS(k, l, "method_name"))
			return (F_PP_METHOD);
		if (KEY_IS(k, l, "status"))
			return (F_PP_STATUS);
		break;
	case F_PP_STATUS:
		if (KEY_IS(k, l, "message"))
			return (F_PPS_MESSAGE);
		break;
	default:
		break;
	}
	return (F_NONE);
}

/* ---- builders --------------------------------------------------------- */

static void
slot_set(struct builder *b, enum slot s, const unsigned char *v, size_t l)
{
	if (l > ENTRY_FIELD_MAX)
		l = ENTRY_FIELD_MAX;
	memcpy(b->s[s], v, l);
	b->s_len[s] = (uint16_t)l;
}

static void
builder_reset(struct builder *b)
{
	memset(b->s_len, 0, sizeof(b->s_len));
	b->has_insert_id = b->has_log_name = b->has_resource = 0;
	b->has_timestamp = b->has_children = b->has_http = 0;
	b->has_payload = b->bad_timestamp = 0;
	b->timestamp_ns = TIME_NONE;
	b->severity = 0;
	b->http_status = 0;
	b->latency_ns = -1;
	b->msg_prio = P_NONE;
	ht_reset(&b->msg);
	b->cap_len = 0;
	b->cap_depth = -1;
	b->msg_obj_depth = -1;
	b->msg_obj_from = b->msg_obj_to = 0;
}

static struct builder *
builder_top(struct entry_reader *r)
{
	return (r->nb > 0 ? r->b[r->nb - 1] : NULL);
}

static void
msg_offer(struct builder *b, enum msg_prio p, const unsigned char *v,
    size_t l)
{
	if (p >= b->msg_prio)
		return;
	b->msg_prio = p;
	ht_reset(&b->msg);
	ht_append(&b->msg, (const char *)v, l);
}

/* Append cur[from..to) to every capture that is open. */
static void
capture_flush(struct entry_reader *r, size_t to)
{
	struct builder	*b;
	size_t		 n;
	int		 i;

	for (i = 0; i < r->nb; i++) {
		b = r->b[i];
		if (b->cap_depth < 0 || to <= b->cap_from)
			continue;
		n = to - b->cap_from;
		if (n > sizeof(b->cap) - b->cap_len)
			n = sizeof(b->cap) - b->cap_len;
		memcpy(b->cap + b->cap_len, r->cur + b->cap_from, n);
		b->cap_len += n;
		b->cap_from = to;
	}
}

/* Parse "0.014146236s" into ns; -1 if malformed. */
static int64_t
parse_latency(const unsigned char *v, size_t l)
{
	int64_t	 sec = 0, frac = 0, scale = NS_PER_SEC / 10;
	size_t	 i = 0;

	if (l < 2 || v[l - 1] != 's')
		return (-1);
	l--;
	for (; i < l && v[i] >= '0' && v[i] <= '9'; i++)
		sec = sec * 10 + (v[i] - '0');
	if (i < l && v[i] == '.')
		for (i++; i < l && v[i] >= '0' && v[i] <= '9'; i++) {
			frac += (v[i] - '0') * scale;
			scale /= 10;
		}
	return (i == l && sec < 1000000000LL ? sec * NS_PER_SEC + frac : -1);
}

static int
parse_int(const unsigned char *v, size_t l)
{
	int	 n = 0;
	size_t	 i;

	for (i = 0; i < l && i < 9; i++) {
		if (v[i] < '0' || v[i] > '9')
			break;
		n = n * 10 + (v[i] - '0');
	}
	return (n);
}

/* A scalar value for the pending key (strings and numbers alike). */
static void
scalar(struct entry_reader *r, const unsigned char *v, size_t l, int is_str)
{
	struct builder	*b = builder_top(r);
	enum field	 f = r->key;

	r->key = F_NONE;
	if (f == F_NONE || f == F_UNKNOWN || b == NULL)
		return;
	switch (f) {
	case F_INSERT_ID:
		if (!is_str)
			break;
		slot_set(b, S_INSERT_ID, v, l);
		b->has_insert_id = 1;
		break;
	case F_LOG_NAME:
		slot_set(b, S_LOG_NAME, v, l);
		b->has_log_name = 1;
		break;
	case F_TIMESTAMP:
		b->has_timestamp = 1;
		if (time_parse_rfc3339((const char *)v, l, &b->timestamp_ns)) {
			b->timestamp_ns = TIME_NONE;
			b->bad_timestamp = 1;
		}
		break;
	case F_RECEIVE_TS:
		/* parsed only if timestamp is missing: most entries have
		 * it, and a time parse per field is measurable */
		slot_set(b, S_RECEIVE_TS, v, l);
		break;
	case F_SEVERITY: {
		int	sev = severity_parse((const char *)v, l);

		b->severity = sev < 0 ? 0 : sev;
		break;
	}
	case F_TRACE:
		slot_set(b, S_TRACE, v, l);
		break;
	case F_TEXT_PAYLOAD:
		b->has_payload = 1;
		if (is_str)
			msg_offer(b, P_TEXT, v, l);
		break;
	case F_RES_TYPE:
		slot_set(b, S_RES_TYPE, v, l);
		break;
	case F_RL_PROJECT:
		slot_set(b, S_PROJECT, v, l);
		break;
	case F_RL_LOCATION:
		slot_set(b, S_LOCATION, v, l);
		break;
	case F_RL_SERVICE:
		slot_set(b, S_SERVICE, v, l);
		break;
	case F_RL_REVISION:
		slot_set(b, S_REVISION, v, l);
		break;
	case F_RL_JOB:
		slot_set(b, S_JOB, v, l);
		break;
	case F_RL_ZONE:
		slot_set(b, S_ZONE, v, l);
		break;
	case F_RL_REGION:
		slot_set(b, S_REGION, v, l);
		break;
	case F_HTTP_STATUS:
		b->http_status = parse_int(v, l);
		break;
	case F_HTTP_METHOD:
		slot_set(b, S_METHOD, v, l);
		break;
	case F_HTTP_URL:
		slot_set(b, S_URL, v, l);
		break;
	case F_HTTP_LATENCY:
		b->latency_ns = parse_latency(v, l);
		break;
	case F_LBL_COMMIT:
		slot_set(b, S_COMMIT, v, l);
		break;
	case F_LBL_BUILD:
		slot_set(b, S_BUILD, v, l);
		break;
	case F_JP_MESSAGE:
		msg_offer(b, P_JP_MESSAGE, v, l);
		break;
	case F_JP_MSG:
		if (is_str)
			msg_offer(b, P_JP_MSG, v, l);
		break;
	case F_JP_ERROR:
		if (is_str)
			msg_offer(b, P_JP_ERROR, v, l);
		break;
	case F_JP_EXCEPTION:
		if (is_str)
			msg_offer(b, P_JP_EXCEPTION, v, l);
		break;
	case F_JP_EVENT:
		if (is_str)
			msg_offer(b, P_JP_EVENT, v, l);
		break;
	case F_PP_METHOD:
		slot_set(b, S_PP_METHOD, v, l);
		break;
	case F_PPS_MESSAGE:
		if (is_str)
			msg_offer(b, P_PP_STATUS, v, l);
		break;
	default:
		break;
	}
}

/* ---- finishing an entry ----------------------------------------------- */

static struct str
bstr(const struct builder *b, enum slot s)
{
	struct str	v;

	v.p = b->s[s];
	v.len = b->s_len[s];
	return (v);
}

static struct str
cstr(const char *s)
{
	struct str	v;

	v.p = s != NULL ? s : "";
	v.len = s != NULL ? strlen(s) : 0;
	return (v);
}

static int
str_eq(struct str s, const char *lit)
{
	return (s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0);
}

static enum log_kind
log_kind_of(struct str name)
{
	const char	*p;
	size_t		 n;

	/* "projects/P/logs/ID": the id follows the second '/' */
	p = name.len > 9 ? memchr(name.p + 9, '/', name.len - 9) : NULL;
	if (p == NULL || (size_t)(name.p + name.len - p) < 6 ||
	    memcmp(p, "/logs/", 6) != 0) {
		p = memmem(name.p, name.len, "/logs/", 6);
		if (p == NULL)
			return (LOG_OTHER);
	}
	p += 6;
	n = name.len - (size_t)(p - name.p);
#define LOG_IS(lit) (n == sizeof(lit) - 1 && memcmp(p, lit, n) == 0)
	if (LOG_IS("run.googleapis.com%2Frequests") ||
	    LOG_IS("run.googleapis.com/requests"))
		return (LOG_REQUESTS);
	if (LOG_IS("run.googleapis.com%2Fstdout") ||
	    LOG_IS("run.googleapis.com/stdout"))
		return (LOG_STDOUT);
	if (LOG_IS("run.googleapis.com%2Fstderr") ||
	    LOG_IS("run.googleapis.com/stderr"))
		return (LOG_STDERR);
	if (LOG_IS("run.googleapis.com%2Fvarlog%2Fsystem") ||
	    LOG_IS("run.googleapis.com/varlog/system"))
		return (LOG_SYSTEM);
#undef LOG_IS
	if (n >= 25 && memcmp(p, "cloudaudit.googleapis.com", 25) == 0)
		return (LOG_AUDIT);
	return (LOG_OTHER);
}

/* "projects/P/logs/..." -> P */
static struct str
project_of_log(struct str name)
{
	struct str	 v = { "", 0 };
	const char	*slash;

	if (name.len < 10 || memcmp(name.p, "projects/", 9) != 0)
		return (v);
	v.p = name.p + 9;
	slash = memchr(v.p, '/', name.len - 9);
	v.len = slash != NULL ? (size_t)(slash - v.p) : name.len - 9;
	return (v);
}

/* Remove blanks outside strings: the captured payload, compacted. */
static size_t
json_compact(char *dst, const char *src, size_t len)
{
	size_t	 i, o = 0;
	int	 in_str = 0, esc = 0;

	for (i = 0; i < len; i++) {
		char	c = src[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"')
			in_str = 1;
		else if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
			continue;
		dst[o++] = c;
	}
	return (o);
}

/* Append a space (unless at 0) and w to dst at n; returns the new n. */
static size_t
append_word(char *dst, size_t n, const char *w, size_t len)
{
	if (len == 0)
		return (n);
	if (n > 0)
		dst[n++] = ' ';
	memcpy(dst + n, w, len);
	return (n + len);
}

/* Build r->e from b and hand it to the callback.  Returns 0 or -1 (stop). */
static int
builder_emit(struct entry_reader *r, struct builder *b, uint64_t end)
{
	struct log_entry	*e = &r->e;
	struct str		 type;
	size_t			 n;
	int			 cut = 0;

	memset(e, 0, sizeof(*e));
	e->insert_id = bstr(b, S_INSERT_ID);
	e->log_name = bstr(b, S_LOG_NAME);
	e->kind = log_kind_of(e->log_name);
	e->timestamp_ns = b->timestamp_ns;
	e->receive_ns = TIME_NONE;
	if (b->s_len[S_RECEIVE_TS] > 0 && !b->has_timestamp &&
	    time_parse_rfc3339(b->s[S_RECEIVE_TS], b->s_len[S_RECEIVE_TS],
	    &e->receive_ns) == 0)
		e->timestamp_ns = e->receive_ns;
	e->severity = b->severity;
	e->resource_type = type = bstr(b, S_RES_TYPE);
	e->project = bstr(b, S_PROJECT);
	if (e->project.len == 0)
		e->project = project_of_log(e->log_name);
	if (str_eq(type, "cloud_run_revision")) {
		e->location = bstr(b, S_LOCATION);
		e->service = bstr(b, S_SERVICE);
		e->revision = bstr(b, S_REVISION);
	} else if (str_eq(type, "cloud_run_job")) {
		e->location = bstr(b, S_LOCATION);
		e->service = bstr(b, S_JOB);
		e->revision = cstr("");
	} else {
		e->location = bstr(b, S_LOCATION);
		if (e->location.len == 0)
			e->location = bstr(b, S_ZONE);
		if (e->location.len == 0)
			e->location = bstr(b, S_REGION);
		e->service = r->cfg.default_service != NULL ?
		    cstr(r->cfg.default_service) : type;
		e->revision = cstr(r->cfg.default_revision);
	}
	e->trace = bstr(b, S_TRACE);
	e->commit_sha = bstr(b, S_COMMIT);
	e->build_id = bstr(b, S_BUILD);
	e->http_status = b->http_status;
	e->http_method = bstr(b, S_METHOD);
	e->http_url = bstr(b, S_URL);
	e->http_latency_ns = b->latency_ns;

	/* The message, by the order in logaudit(1). */
	n = 0;
	if (b->msg_prio == P_JP_MESSAGE && b->msg_obj_to > b->msg_obj_from) {
		/* an object or array: its compact serialisation */
		n = json_compact(r->out_msg, b->cap + b->msg_obj_from,
		    b->msg_obj_to - b->msg_obj_from);
		cut = b->cap_len == sizeof(b->cap);
	} else if (b->msg_prio == P_PP_STATUS && b->s_len[S_PP_METHOD] > 0) {
		size_t	ml = b->s_len[S_PP_METHOD];

		memcpy(r->out_msg, b->s[S_PP_METHOD], ml);
		memcpy(r->out_msg + ml, ": ", 2);
		n = ml + 2;
		n += ht_render(&b->msg, r->out_msg + n, &cut);
		if (n > ENTRY_MESSAGE_MAX)
			n = ENTRY_MESSAGE_MAX;
	} else if (b->msg_prio < P_NONE) {
		n = ht_render(&b->msg, r->out_msg, &cut);
	} else if (b->s_len[S_PP_METHOD] > 0) {
		n = b->s_len[S_PP_METHOD];
		memcpy(r->out_msg, b->s[S_PP_METHOD], n);
	} else if (b->cap_len > 0) {
		n = json_compact(r->out_msg, b->cap, b->cap_len);
		cut = b->cap_len == sizeof(b->cap);
	} else if (!b->has_payload && b->has_http) {
		/* "METHOD URL STATUS", each part when present */
		n = append_word(r->out_msg, 0, b->s[S_METHOD],
		    b->s_len[S_METHOD]);
		n = append_word(r->out_msg, n, b->s[S_URL], b->s_len[S_URL]);
		if (b->http_status > 0 && b->http_status < 1000) {
			char	st[3];

			st[0] = (char)('0' + b->http_status / 100);
			st[1] = (char)('0' + b->http_status / 10 % 10);
			st[2] = (char)('0' + b->http_status % 10);
			n = append_word(r->out_msg, n, st, 3);
		}
	}
	e->message.p = r->out_msg;
	e->message.len = n;
	e->message_cut = cut;
	e->offset = b->offset;
	e->end_offset = end;
	e->line = b->line;

	/* A timestamp that is there but unreadable is bad data, not a
	 * reason to fall back on receiveTimestamp: the dedup key would
	 * change with the reader's mood. */
	if (e->timestamp_ns == TIME_NONE || b->bad_timestamp) {
		problem(r, PROBLEM_BAD_TIMESTAMP, b->offset, b->line, 0,
		    b->bad_timestamp ? "timestamp is not RFC 3339" :
		    b->s_len[S_RECEIVE_TS] > 0 ? "no timestamp, and "
		    "receiveTimestamp is not RFC 3339" :
		    "entry has neither timestamp nor receiveTimestamp");
		return (0);
	}
	r->stats.entries++;
	if (r->cfg.on_entry(e, r->cfg.arg) == -1) {
		r->stop = 1;
		return (-1);
	}
	return (0);
}

/* ---- yajl callbacks --------------------------------------------------- */

static size_t
consumed(const struct entry_reader *r)
{
	return (yajl_get_bytes_consumed(r->h));
}

static int
push_frame(struct entry_reader *r, int is_array, enum role role,
    enum field field)
{
	if (r->depth >= ENTRY_DEPTH_MAX) {
		r->cancel_oversize = 1;
		r->cancel_why = "nested deeper than 256 levels";
		return (0);
	}
	r->frames[r->depth].is_array = (unsigned char)is_array;
	r->frames[r->depth].role = (unsigned char)role;
	r->frames[r->depth].field = (unsigned char)field;
	r->depth++;
	return (1);
}

/* The role a new container gets from where it stands. */
static enum role
role_for(struct entry_reader *r, int is_map, enum field *field)
{
	const struct frame	*parent;
	struct builder		*b = builder_top(r);
	enum field		 k = r->key;

	r->key = F_NONE;
	*field = F_NONE;
	if (r->depth == 0)
		return (is_map ? R_ENTRY : R_FREE);
	parent = &r->frames[r->depth - 1];
	if (parent->role == R_FREE)
		return (is_map ? R_ENTRY : R_FREE);
	/* inside a candidate */
	if (parent->role == R_ENTRY && k == F_UNKNOWN && b != NULL &&
	    !b->has_insert_id)
		return (is_map ? R_ENTRY : R_FREE);
	*field = k;
	return (R_IN);
}

static int
cb_start_map(void *ctx)
{
	struct entry_reader	*r = ctx;
	struct builder		*b;
	enum field		 f;
	enum role		 role;
	size_t			 at;
	int			 ws_only;

	r->ncb++;
	role = role_for(r, 1, &f);
	if (role == R_ENTRY && r->nb == BUILDER_MAX)
		role = R_IN;	/* nested too deep to be an entry */
	if (r->ndjson && r->nb > 0 && !r->synthetic) {
		/* "{...,"timestamp":\n{next entry}": a line was cut short,
		 * and its successor must not become its value. */
		at = consumed(r) - 1;
		if (at > 0 ? r->cur[at - 1] == '\n' :
		    r->tail_col == 0 && r->tail_ws_only) {
			r->cancel_why = "entry ends before its line does";
			return (0);
		}
	}
	if (!push_frame(r, 0, role, f))
		return (0);
	b = builder_top(r);
	if (role == R_ENTRY) {
		if (r->b[r->nb] == NULL)
			r->b[r->nb] = xmalloc(sizeof(struct builder));
		b = r->b[r->nb++];
		builder_reset(b);
		at = consumed(r) - 1;
		b->offset = r->cur_base + at;
		b->line = line_at(r, b->offset);
		b->col = column_at(r, at, &ws_only);
		if (!ws_only)
			b->col = -1;
		b->depth = r->depth - 1;
		b->parent_is_array = b->depth > 0 &&
		    r->frames[b->depth - 1].is_array;
		return (1);
	}
	if (b == NULL || r->synthetic)
		return (1);
	switch (f) {
	case F_RESOURCE:
		b->has_resource = 1;
		break;
	case F_HTTP:
		b->has_http = 1;
		break;
	case F_JSON_PAYLOAD:
	case F_PROTO_PAYLOAD:
		b->has_payload = 1;
		if (b->cap_depth < 0 && b->cap_len == 0) {
			b->cap_depth = r->depth - 1;
			b->cap_from = consumed(r) - 1;
		}
		break;
	case F_JP_MESSAGE:
		if (b->cap_depth >= 0 && P_JP_MESSAGE < b->msg_prio) {
			capture_flush(r, consumed(r) - 1);
			b->msg_obj_from = b->cap_len;
			b->msg_obj_depth = r->depth - 1;
			b->msg_prio = P_JP_MESSAGE;
		}
		break;
	default:
		break;
	}
	return (1);
}

static int
cb_start_array(void *ctx)
{
	struct entry_reader	*r = ctx;
	struct builder		*b;
	enum field		 f;
	enum role		 role;

	r->ncb++;
	role = role_for(r, 0, &f);
	if (!push_frame(r, 1, role, f))
		return (0);
	b = builder_top(r);
	if (role == R_IN && f == F_JP_MESSAGE && b != NULL &&
	    b->cap_depth >= 0 && P_JP_MESSAGE < b->msg_prio) {
		capture_flush(r, consumed(r) - 1);
		b->msg_obj_from = b->cap_len;
		b->msg_obj_depth = r->depth - 1;
		b->msg_prio = P_JP_MESSAGE;
	}
	return (1);
}

/* Close the container at r->depth - 1 (a map or an array). */
static int
end_container(struct entry_reader *r)
{
	struct frame	*fr;
	struct builder	*b;
	uint64_t	 end;

	r->ncb++;
	if (r->depth == 0)
		return (1);
	fr = &r->frames[--r->depth];
	b = builder_top(r);
	if (b == NULL || r->synthetic)
		return (1);
	if (b->msg_obj_depth == r->depth) {
		capture_flush(r, consumed(r));
		b->msg_obj_to = b->cap_len;
		b->msg_obj_depth = -1;
	}
	if (b->cap_depth == r->depth) {
		capture_flush(r, consumed(r));
		b->cap_depth = -1;
	}
	if (fr->role != R_ENTRY || b->depth != r->depth)
		return (1);

	/* the candidate is complete */
	r->nb--;
	end = r->cur_base + consumed(r);
	if (b->has_children)
		return (1);	/* a wrapper of entries, not one itself */
	if (b->has_insert_id &&
	    (b->has_log_name || b->has_resource || b->has_timestamp)) {
		if (r->nb > 0)
			r->b[r->nb - 1]->has_children = 1;
		if (r->framing == FRAMING_UNKNOWN ||
		    r->framing == FRAMING_STREAM ||
		    r->framing == FRAMING_ARRAY)
			r->framing = b->depth == 0 ? FRAMING_STREAM :
			    (b->depth == 1 && b->parent_is_array) ?
			    FRAMING_ARRAY : FRAMING_WRAPPED;
		r->resume_offset = end;
		r->resume_in_array = b->parent_is_array;
		r->resume_line = line_at(r, end);
		r->ndjson = b->depth == 0 && r->resume_line == b->line;
		if (builder_emit(r, b, end) == -1)
			return (0);
		return (1);
	}
	/* Objects nested in other objects may be anything; only report
	 * those that stand where entries stand. */
	if (b->depth == 0 || (b->depth == 1 && b->parent_is_array))
		problem(r, PROBLEM_NOT_AN_ENTRY, b->offset, b->line, 0,
		    "object is not a LogEntry (no insertId with logName, "
		    "resource or timestamp)");
	return (1);
}

static int
cb_end_map(void *ctx)
{
	return (end_container(ctx));
}

static int
cb_end_array(void *ctx)
{
	return (end_container(ctx));
}

static int
cb_map_key(void *ctx, const unsigned char *k, size_t l)
{
	struct entry_reader	*r = ctx;
	const struct frame	*fr;

	r->ncb++;
	fr = &r->frames[r->depth - 1];
	if (fr->role == R_ENTRY)
		r->key = l > 0 ? field_top(k, l) : F_UNKNOWN;
	else if (fr->role == R_IN && fr->field != F_NONE)
		r->key = field_of((enum field)fr->field, k, l);
	else
		r->key = F_NONE;
	return (1);
}

static int
cb_string(void *ctx, const unsigned char *v, size_t l)
{
	struct entry_reader	*r = ctx;

	r->ncb++;
	if (r->key != F_NONE)
		scalar(r, v, l, 1);
	return (1);
}

static int
cb_number(void *ctx, const char *v, size_t l)
{
	struct entry_reader	*r = ctx;

	r->ncb++;
	if (r->key != F_NONE)
		scalar(r, (const unsigned char *)v, l, 0);
	return (1);
}

static int
cb_null(void *ctx)
{
	struct entry_reader	*r = ctx;

	r->ncb++;
	r->key = F_NONE;
	return (1);
}

static int
cb_boolean(void *ctx, int v)
{
	struct entry_reader	*r = ctx;

	r->ncb++;
	if (r->key != F_NONE)
		scalar(r, (const unsigned char *)(v ? "true" : "false"),
		    v ? 4 : 5, 0);
	return (1);
}

static const yajl_callbacks entry_callbacks = {
	cb_null, cb_boolean, NULL, NULL, cb_number, cb_string,
	cb_start_map, cb_map_key, cb_end_map, cb_start_array, cb_end_array
};

/* ---- the parser's life ------------------------------------------------ */

static void
json_reset(struct entry_reader *r)
{
	if (r->h != NULL)
		yajl_free(r->h);
	r->h = yajl_alloc(&entry_callbacks, NULL, r);
	yajl_config(r->h, yajl_allow_multiple_values, 1);
	yajl_config(r->h, yajl_allow_partial_values, 1);
	/* UTF-8 is repaired where text leaves logaudit, not refused here */
	yajl_config(r->h, yajl_dont_validate_strings, 1);
	r->depth = 0;
	r->nb = 0;
	r->key = F_NONE;
	r->silent = 0;
}

/* Start a handle that believes it is inside an array. */
static void
json_start_in_array(struct entry_reader *r)
{
	const unsigned char	*save = r->cur;

	r->synthetic = 1;
	r->cur = (const unsigned char *)"[";
	yajl_parse(r->h, r->cur, 1);
	r->cur = save;
	r->synthetic = 0;
}

/*
 * The handle failed (or was cancelled) at absolute offset at.  Report what
 * was lost and switch to resync.
 */
static void
json_failed(struct entry_reader *r, uint64_t at, const char *why)
{
	struct builder	*b = NULL;
	int		 i, ws_only;
	size_t		 rel = (size_t)(at - r->cur_base);

	r->sk_top = r->depth == 0;

	/* the innermost candidate standing where entries stand */
	for (i = r->nb - 1; i >= 0; i--) {
		struct builder	*c = r->b[i];

		if (c->depth == 0 || c->parent_is_array) {
			b = c;
			break;
		}
	}
	if (b != NULL) {
		problem(r, r->cancel_oversize ? PROBLEM_OVERSIZE :
		    PROBLEM_BAD_ENTRY, b->offset, b->line, 0, why);
		r->sk_text = 0;
		r->sk_col_limit = b->col;
		r->sk_in_array = b->parent_is_array;
	} else {
		r->sk_text = 1;
		r->sk_col_limit = -1;
		r->sk_in_array = r->depth > 0 && r->frames[0].is_array &&
		    r->depth == 1;
	}
	r->cancel_oversize = 0;
	r->mode = M_SKIP;
	r->sk_from = at;
	r->sk_lines = 0;
	r->sk_first_line = line_at(r, at);
	/* What precedes the error on its line was parsed as JSON: the
	 * text, if any, starts here. */
	r->sk_col = column_at(r, rel, &ws_only);
	r->sk_ws_only = ws_only;
	r->sk_nonblank = 0;
	r->sk_punct_only = 1;
	if (r->sk_col < 0)
		r->sk_col = 0;
	yajl_free(r->h);
	r->h = NULL;
	r->depth = 0;
	r->nb = 0;
}

/* Count a finished skipped line. */
static void
skip_line_done(struct entry_reader *r)
{
	if (r->sk_nonblank && !r->sk_punct_only && r->sk_text)
		r->sk_lines++;
	r->sk_ws_only = 1;
	r->sk_col = 0;
	r->sk_nonblank = 0;
	r->sk_punct_only = 1;
}

static void
skip_report(struct entry_reader *r)
{
	if (r->sk_lines > 0)
		problem(r, PROBLEM_SKIPPED_TEXT, r->sk_from, r->sk_first_line,
		    r->sk_lines, "not JSON");
	r->sk_lines = 0;
}

/*
 * Scan cur[from..len) for a line whose first non-blank byte is '{' within
 * the column limit.  Returns the index to restart at, or len.
 */
static size_t
skip_scan(struct entry_reader *r, size_t from, size_t len)
{
	const unsigned char	*p = r->cur;
	size_t			 i = from;
	unsigned char		 c;

	while (i < len) {
		c = p[i];
		if (c == '\n') {
			skip_line_done(r);
			i++;
			continue;
		}
		if (r->sk_ws_only) {
			/* NUL padding (a preallocated or crashed writer's
			 * file) is blank here */
			if (c == ' ' || c == '\t' || c == '\r' || c == '\0') {
				/* a line of NULs alone is junk to count */
				if (c == '\0') {
					r->sk_nonblank = 1;
					r->sk_punct_only = 0;
				}
				r->sk_col++;
				i++;
				continue;
			}
			if (c == '{' && r->cur_base + i != r->last_restart &&
			    (r->sk_col_limit < 0 ||
			    r->sk_col <= r->sk_col_limit))
				return (i);
			if (c == '[' && r->sk_top && r->sk_text &&
			    r->cur_base + i != r->last_restart) {
				/* text before gcloud's array: "Initializing
				 * tail session." */
				r->sk_in_array = 0;
				return (i);
			}
			r->sk_ws_only = 0;
		}
		r->sk_nonblank = 1;
		if (r->sk_punct_only && c != ' ' && c != '\t' && c != '\r' &&
		    c != ']' && c != '}' && c != ',')
			r->sk_punct_only = 0;
		if (!r->sk_punct_only || !r->sk_text) {
			/* nothing on this line can matter: jump to its end */
			const unsigned char	*nl;

			nl = memchr(p + i, '\n', len - i);
			i = nl != NULL ? (size_t)(nl - p) : len;
			continue;
		}
		i++;
	}
	return (len);
}

/* Feed cur[0..cur_len) to the JSON machinery. */
static int
json_feed(struct entry_reader *r)
{
	size_t		 at = 0, n, len = r->cur_len;
	yajl_status	 st;
	uint64_t	 ncb;
	int		 i;

	while (at < len) {
		if (r->mode == M_SKIP) {
			at = skip_scan(r, at, len);
			if (at == len)
				break;
			skip_report(r);
			r->last_restart = r->cur_base + at;
			json_reset(r);
			if (r->sk_in_array)
				json_start_in_array(r);
			r->mode = M_JSON;
			continue;
		}
		if (r->mode == M_SEP) {
			while (at < len && strchr(" \t\r\n", r->cur[at]) != NULL)
				at++;
			if (at == len)
				break;
			if (r->cur[at] == ',')
				at++;
			r->mode = M_JSON;
			continue;
		}
		/* yajl's offsets are relative to the buffer it is given */
		if (at > 0) {
			line_at(r, r->cur_base + at);
			r->cur += at;
			r->cur_base += at;
			r->cur_len -= at;
			len -= at;
			at = 0;
		}
		ncb = r->ncb;
		st = yajl_parse(r->h, r->cur, len);
		if (st == yajl_status_ok) {
			capture_flush(r, len);
			for (i = 0; i < r->nb; i++)
				r->b[i]->cap_from = 0;	/* the next buffer */
			r->silent = r->ncb == ncb ? r->silent + len : 0;
			if (r->silent > ENTRY_TOKEN_MAX) {
				r->cancel_oversize = 1;
				json_failed(r, r->cur_base + len,
				    "a value is longer than 1 MiB");
				r->sk_ws_only = 0;
			}
			break;
		}
		if (r->stop)
			return (-1);
		n = consumed(r);
		n = n > 0 ? n - 1 : 0;
		if (st == yajl_status_client_canceled) {
			json_failed(r, r->cur_base + n, r->cancel_why);
			r->cancel_why = NULL;
		} else {
			unsigned char	*msg = yajl_get_error(r->h, 0, NULL, 0);
			char		 why[160];
			char		*nl;

			snprintf(why, sizeof(why), "%s", (char *)msg);
			yajl_free_error(r->h, msg);
			if ((nl = strchr(why, '\n')) != NULL)
				*nl = '\0';
			json_failed(r, r->cur_base + n, why);
		}
		at = n;
	}
	return (0);
}

/* ---- text mode -------------------------------------------------------- */

static int
text_emit(struct entry_reader *r)
{
	struct log_entry	*e = &r->e;
	size_t			 n;
	int			 cut, blank = 1;
	size_t			 i;

	r->line_open = 0;
	n = ht_render(r->line, r->out_msg, &cut);
	while (n > 0 && (r->out_msg[n - 1] == '\r' || r->out_msg[n - 1] == ' '))
		n--;
	for (i = 0; i < n && blank; i++)
		if (r->out_msg[i] != ' ' && r->out_msg[i] != '\t')
			blank = 0;
	if (blank)
		return (0);
	memset(e, 0, sizeof(*e));
	e->is_text = 1;
	e->kind = LOG_OTHER;
	if (time_parse_leading(r->out_msg, n, &e->timestamp_ns) == -1)
		e->timestamp_ns = time_now_ns();	/* when it was read */
	e->receive_ns = TIME_NONE;
	e->service = cstr(r->cfg.default_service != NULL ?
	    r->cfg.default_service : "unknown");
	e->revision = cstr(r->cfg.default_revision);
	e->project = e->location = e->resource_type = cstr("");
	e->http_latency_ns = -1;
	e->message.p = r->out_msg;
	e->message.len = n;
	e->message_cut = cut;
	e->offset = r->line_offset;
	e->end_offset = r->line_offset + r->line->total;
	e->line = r->line_no;
	r->resume_offset = e->end_offset;
	r->resume_line = r->line_no;
	r->stats.entries++;
	if (r->cfg.on_entry(e, r->cfg.arg) == -1) {
		r->stop = 1;
		return (-1);
	}
	return (0);
}

static int
text_feed(struct entry_reader *r, const unsigned char *p, size_t len,
    uint64_t base)
{
	const unsigned char	*nl;
	size_t			 at = 0, n;

	while (at < len) {
		if (!r->line_open) {
			ht_reset(r->line);
			r->line_open = 1;
			r->line_offset = base + at;
			r->line_no++;
		}
		nl = memchr(p + at, '\n', len - at);
		n = nl != NULL ? (size_t)(nl - (p + at)) : len - at;
		ht_append(r->line, (const char *)p + at, n);
		at += n;
		if (nl != NULL) {
			at++;
			if (text_emit(r) == -1)
				return (-1);
		}
	}
	return (0);
}

/* ---- detection -------------------------------------------------------- */

static const char *yaml_keys[] = {
	"httpRequest", "insertId", "jsonPayload", "labels", "logName",
	"protoPayload", "receiveTimestamp", "resource", "severity",
	"textPayload", "timestamp", "trace", "spanId", "insert_id",
	"log_name", "text_payload", "json_payload", "http_request", NULL
};

/* Does this line open a YAML LogEntry ("---", "insertId: ...")? */
static int
is_yaml_line(const char *p, size_t n)
{
	size_t	 i, k;

	/* a document start alone on its line: "--- Logging error ---"
	 * from Python is a text line */
	if (n >= 3 && memcmp(p, "---", 3) == 0) {
		for (i = 3; i < n && (p[i] == ' ' || p[i] == '\r'); i++)
			;
		return (i == n);
	}
	for (i = 0; yaml_keys[i] != NULL; i++) {
		k = strlen(yaml_keys[i]);
		if (n > k && memcmp(p, yaml_keys[i], k) == 0 && p[k] == ':')
			return (1);
	}
	return (0);
}

/*
 * Decide the framing from the lookahead.  Returns 1 when decided, 0 when
 * more input is needed (and eof is false).
 */
static int
detect(struct entry_reader *r, int eof)
{
	const char	*p = r->look, *end = r->look + r->look_len, *nl, *q;
	int		 first = 1;

	if (r->cfg.force_text) {
		r->mode = M_TEXT;
		r->framing = FRAMING_TEXT;
		return (1);
	}
	/* a UTF-8 byte order mark is not text */
	if (r->look_len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL && !eof && r->look_len < ENTRY_LOOKAHEAD_MAX)
			return (0);	/* wait for the whole line */
		if (nl == NULL && !eof && first) {
			/* A first line longer than the lookahead is no log
			 * line: read JSON, skipping what is not. */
			r->mode = M_JSON;
			return (1);
		}
		if (nl == NULL)
			nl = end;
		for (q = p; q < nl && (*q == ' ' || *q == '\t' || *q == '\r');
		    q++)
			;
		if (q < nl) {
			if (first && is_yaml_line(q, (size_t)(nl - q))) {
				r->mode = M_DEAD;
				r->framing = FRAMING_YAML;
				return (1);
			}
			first = 0;
			if (*q == '{' || (*q == '[' && (q + 1 == nl ||
			    strchr(" \t\r{[]", q[1]) != NULL))) {
				r->mode = M_JSON;
				r->framing = *q == '[' && p == r->look ?
				    FRAMING_ARRAY : FRAMING_UNKNOWN;
				return (1);
			}
		}
		p = nl + 1;
	}
	if (!eof && r->look_len < ENTRY_LOOKAHEAD_MAX)
		return (0);
	if (first && r->look_len == 0) {
		r->mode = M_JSON;	/* empty input: nothing to read */
		return (1);
	}
	r->mode = M_TEXT;
	r->framing = FRAMING_TEXT;
	return (1);
}

/* ---- public ----------------------------------------------------------- */

struct entry_reader *
entry_reader_new(const struct entry_reader_config *cfg)
{
	struct entry_reader	*r;

	r = xcalloc(1, sizeof(*r));
	r->cfg = *cfg;
	r->mode = M_DETECT;
	r->framing = FRAMING_UNKNOWN;
	r->cur_base = r->lc_abs = cfg->start_offset;
	r->lc_line = cfg->start_line > 0 ? cfg->start_line : 1;
	r->line_no = r->lc_line - 1;
	r->tail_ws_only = 1;
	r->tail_col = 0;
	r->resume_offset = cfg->start_offset;
	r->resume_in_array = cfg->start_in_array;
	r->resume_line = r->lc_line;
	r->last_restart = UINT64_MAX;
	r->line = xmalloc(sizeof(*r->line));
	if (cfg->start_offset > 0 || cfg->start_in_array) {
		/* resuming: the framing was decided by the first run */
		if (cfg->force_text) {
			r->mode = M_TEXT;
			r->framing = FRAMING_TEXT;
		} else {
			json_reset(r);
			r->mode = M_JSON;
			if (cfg->start_in_array) {
				json_start_in_array(r);
				r->mode = M_SEP;
				r->framing = FRAMING_ARRAY;
			}
		}
	}
	return (r);
}

void
entry_reader_free(struct entry_reader *r)
{
	int	i;

	if (r == NULL)
		return;
	if (r->h != NULL)
		yajl_free(r->h);
	for (i = 0; i < BUILDER_MAX; i++)
		free(r->b[i]);
	free(r->look);
	free(r->line);
	free(r);
}

/* Feed a buffer once the mode is known. */
static int
feed_known(struct entry_reader *r, const unsigned char *p, size_t len)
{
	int	rv = 0;

	if (r->mode == M_DEAD)
		return (-1);
	if (r->mode == M_TEXT) {
		rv = text_feed(r, p, len, r->cur_base);
		r->cur_base += len;
		r->lc_abs = r->cur_base;
		return (rv);
	}
	if (r->h == NULL && r->mode != M_SKIP)
		json_reset(r);
	r->cur = p;
	r->cur_len = len;
	rv = json_feed(r);
	/* count the rest of the buffer's lines, remember its last line */
	line_at(r, r->cur_base + r->cur_len);
	note_buffer_tail(r, r->cur, r->cur_len);
	r->cur_base += r->cur_len;
	r->cur_len = 0;
	return (rv);
}

int
entry_reader_feed(struct entry_reader *r, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 n;
	int			 rv;

	r->stats.bytes += len;
	if (r->stop)
		return (-1);
	if (r->mode != M_DETECT)
		return (feed_known(r, p, len));
	while (len > 0 && r->mode == M_DETECT) {
		if (r->look == NULL)
			r->look = xmalloc(ENTRY_LOOKAHEAD_MAX);
		n = ENTRY_LOOKAHEAD_MAX - r->look_len;
		if (n > len)
			n = len;
		memcpy(r->look + r->look_len, p, n);
		r->look_len += n;
		p += n;
		len -= n;
		if (detect(r, 0)) {
			rv = feed_known(r, (unsigned char *)r->look,
			    r->look_len);
			free(r->look);
			r->look = NULL;
			r->look_len = 0;
			if (rv == -1)
				return (-1);
		}
	}
	if (len > 0)
		return (feed_known(r, p, len));
	return (r->mode == M_DEAD ? -1 : 0);
}

int
entry_reader_finish(struct entry_reader *r)
{
	struct builder	*b;
	int		 i;

	if (r->stop)
		return (-1);
	if (r->mode == M_DETECT) {
		detect(r, 1);
		if (r->mode == M_DEAD)
			return (-1);
		if (feed_known(r, (unsigned char *)r->look, r->look_len) == -1)
			return (-1);
		free(r->look);
		r->look = NULL;
		r->look_len = 0;
	}
	switch (r->mode) {
	case M_DEAD:
		return (-1);
	case M_TEXT:
		if (r->line_open)
			return (text_emit(r));
		return (0);
	case M_SKIP:
		if (r->sk_nonblank)
			skip_line_done(r);
		skip_report(r);
		return (0);
	default:
		break;
	}
	if (r->h == NULL)
		return (0);
	r->cur = (const unsigned char *)"";
	r->cur_len = 0;
	if (yajl_complete_parse(r->h) != yajl_status_ok) {
		if (r->stop)
			return (-1);
	}
	if (r->stop)
		return (-1);
	/* An entry whose closing brace never came: a killed tail. */
	for (i = 0; i < r->nb; i++) {
		b = r->b[i];
		if (b->depth == 0 || b->parent_is_array) {
			problem(r, PROBLEM_TRUNCATED, b->offset, b->line, 0,
			    "input ends inside this entry");
			break;
		}
	}
	r->nb = 0;
	return (0);
}

enum entry_framing
entry_reader_framing(const struct entry_reader *r)
{
	return (r->framing);
}

const struct entry_stats *
entry_reader_stats(const struct entry_reader *r)
{
	return (&r->stats);
}

uint64_t
entry_reader_resume_offset(const struct entry_reader *r, int *in_array,
    uint64_t *line)
{
	if (in_array != NULL)
		*in_array = r->resume_in_array;
	if (line != NULL)
		*line = r->resume_line;
	return (r->resume_offset);
}

/* ---- classification ---------------------------------------------------- */

/* Does w (wl bytes, lower case) start at p, in any case? */
static inline int
word_at(const char *p, const char *end, const char *w, size_t wl)
{
	return ((size_t)(end - p) >= wl && (p[1] | 0x20) == w[1] &&
	    strncasecmp(p, w, wl) == 0);
}

/*
 * Does the text hold one of the words that make a severity-less line a
 * problem, in any case, anywhere?  One pass, a byte that starts no word
 * passed at once: this runs on every DEFAULT-severity line no pattern
 * knew, and eight passes, one a word, cost 10% of ingest's throughput on
 * one thread.
 */
static int
has_problem_word(const char *s, size_t len)
{
	const char	*p, *end = s + len;

	for (p = s; p < end; p++) {
		switch (*p | 0x20) {
		case 'd':
			if (word_at(p, end, "denied", 6))
				return (1);
			break;
		case 'e':
			if (word_at(p, end, "error", 5) ||
			    word_at(p, end, "exception", 9))
				return (1);
			break;
		case 'f':
			if (word_at(p, end, "failed", 6) ||
			    word_at(p, end, "fatal", 5))
				return (1);
			break;
		case 'p':
			if (word_at(p, end, "panic", 5))
				return (1);
			break;
		case 'r':
			if (word_at(p, end, "refused", 7))
				return (1);
			break;
		case 't':
			if (word_at(p, end, "traceback", 9))
				return (1);
			break;
		}
	}
	return (0);
}

/* An access line's status: '" 404 ' after the request line's quote. */
static int
access_status(const char *s, size_t len)
{
	const char	*q = s, *end = s + len;

	while ((q = memchr(q, '"', (size_t)(end - q))) != NULL) {
		q++;
		if (end - q >= 5 && q[0] == ' ' && q[1] >= '1' && q[1] <= '5' &&
		    q[2] >= '0' && q[2] <= '9' && q[3] >= '0' && q[3] <= '9' &&
		    (q + 4 == end || q[4] == ' ' || q[4] == '\n'))
			return ((q[1] - '0') * 100 + (q[2] - '0') * 10 +
			    (q[3] - '0'));
	}
	return (0);
}

int
entry_is_problem(const struct log_entry *e, int min_severity)
{
	const char	*m = e->message.p;
	size_t		 len = e->message.len;

	if (e->http_status >= 500)
		return (1);
	if (e->severity > 0)
		return (e->severity >= min_severity);
	if (e->kind != LOG_STDOUT && e->kind != LOG_STDERR && !e->is_text)
		return (0);
	if (has_problem_word(m, len))
		return (1);
	return (access_status(m, len) >= 400);
}
