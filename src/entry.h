/*
 * Stage 2: the entry reader.  Bytes in arbitrary chunks -> one callback per
 * complete LogEntry.  The reader detects the framing (gcloud's array,
 * newline-delimited or concatenated objects, an array inside a collector's
 * wrapper object, plain text lines), skips what is not JSON, resyncs after
 * a malformed entry, and never holds more than one entry's capped fields:
 * memory is bounded whatever the input.
 */
#ifndef ENTRY_H
#define ENTRY_H

#include <stddef.h>
#include <stdint.h>

/* A view into the reader's buffers: not NUL-terminated, len may be 0. */
struct str {
	const char	*p;
	size_t		 len;
};

/* Which Cloud Run log an entry came from: decides its exposure column. */
enum log_kind {
	LOG_REQUESTS,		/* run.googleapis.com/requests */
	LOG_STDOUT,		/* run.googleapis.com/stdout */
	LOG_STDERR,		/* run.googleapis.com/stderr */
	LOG_SYSTEM,		/* run.googleapis.com/varlog/system */
	LOG_AUDIT,		/* cloudaudit.googleapis.com/... */
	LOG_OTHER,		/* anything else, and plain text lines */
	LOG_KIND_COUNT
};
const char	*log_kind_name(enum log_kind);

/* Caps: what one entry may hold.  Longer values are cut, never refused. */
#define ENTRY_MESSAGE_MAX	(16 * 1024)	/* message kept for matching */
#define ENTRY_MESSAGE_TAIL	(4 * 1024)	/* ... of which the tail */
#define ENTRY_FIELD_MAX		1024		/* ids, names, labels */
#define ENTRY_TOKEN_MAX		(1024 * 1024)	/* one JSON token (yajl buffers it) */
#define ENTRY_DEPTH_MAX		256		/* JSON nesting */
#define ENTRY_LOOKAHEAD_MAX	(1024 * 1024)	/* framing detection */

/*
 * One LogEntry, attributed.  Every struct str points into the reader's
 * buffers and dies when the callback returns: copy what you keep.
 */
struct log_entry {
	struct str	 insert_id;
	struct str	 log_name;
	enum log_kind	 kind;
	int64_t		 timestamp_ns;	/* ns since epoch; receiveTimestamp
					   when absent */
	int64_t		 receive_ns;	/* receiveTimestamp, read only when
					   timestamp is absent; else TIME_NONE */
	int		 severity;	/* 0 (DEFAULT) .. 800 (EMERGENCY) */
	struct str	 resource_type;
	/* attribution: see the table in logaudit(1) */
	struct str	 project;
	struct str	 location;
	struct str	 service;
	struct str	 revision;
	struct str	 trace;
	struct str	 commit_sha;	/* entry label commit-sha */
	struct str	 build_id;	/* entry label gcb-build-id */
	int		 http_status;	/* 0 when there is no httpRequest.status */
	struct str	 http_method;
	struct str	 http_url;
	int64_t		 http_latency_ns;	/* -1 when absent */
	struct str	 message;	/* see logaudit(1): first of textPayload,
					   jsonPayload.message, ... */
	int		 message_cut;	/* 1: head and tail of a longer one */
	int		 is_text;	/* a plain text line: never deduplicated */
	uint64_t	 offset;	/* byte offset of its first byte */
	uint64_t	 end_offset;	/* byte offset just past its last byte */
	uint64_t	 line;		/* 1-based line of its first byte */
};

/* What went wrong with a piece of input.  Reported, counted, skipped. */
enum entry_problem_kind {
	PROBLEM_BAD_ENTRY,	/* malformed JSON inside an entry */
	PROBLEM_NOT_AN_ENTRY,	/* well-formed object that is no LogEntry */
	PROBLEM_SKIPPED_TEXT,	/* non-JSON lines inside JSON input */
	PROBLEM_TRUNCATED,	/* input ended inside an entry */
	PROBLEM_OVERSIZE,	/* a token longer than ENTRY_TOKEN_MAX, or too deep */
	PROBLEM_BAD_TIMESTAMP,	/* a LogEntry whose time cannot be read */
	PROBLEM_KIND_COUNT
};

struct entry_problem {
	enum entry_problem_kind	 kind;
	uint64_t		 offset;	/* where it starts */
	uint64_t		 line;		/* 1-based */
	uint64_t		 count;		/* lines, for PROBLEM_SKIPPED_TEXT */
	const char		*detail;	/* short reason, may be "" */
};

/* The framing the reader found. */
enum entry_framing {
	FRAMING_UNKNOWN,	/* nothing but whitespace so far */
	FRAMING_ARRAY,		/* [ {...}, ... ]: gcloud read and tail */
	FRAMING_STREAM,		/* objects one after another: NDJSON, copies */
	FRAMING_WRAPPED,	/* an array of entries inside another object */
	FRAMING_TEXT,		/* plain text lines */
	FRAMING_YAML		/* refused: gcloud's default output */
};
const char	*entry_framing_name(enum entry_framing);

/*
 * Called once per complete LogEntry.  Every string in e points into the
 * reader's buffers and dies when the callback returns: copy what you keep.
 * Return 0 to go on, -1 to stop: entry_reader_feed() then returns -1.
 */
typedef int	(*entry_cb)(const struct log_entry *e, void *arg);
/* Called once per problem; p->detail dies when it returns. */
typedef void	(*entry_problem_cb)(const struct entry_problem *p, void *arg);

struct entry_reader_config {
	entry_cb		 on_entry;
	void			*arg;		/* for on_entry */
	entry_problem_cb	 on_problem;	/* may be NULL */
	void			*problem_arg;	/* for on_problem */
	int			 force_text;	/* --text */
	const char		*default_service;	/* --service, or NULL */
	const char		*default_revision;	/* --revision, or NULL */
	/*
	 * Resume: the first byte fed is at this absolute offset, and
	 * in_array says it lies inside a top-level array (between entries:
	 * a separating comma is skipped).  0/0 for a fresh input.
	 */
	uint64_t		 start_offset;
	int			 start_in_array;
	uint64_t		 start_line;	/* 1-based line at start_offset */
};

struct entry_stats {
	uint64_t	bytes;		/* fed so far */
	uint64_t	entries;	/* delivered to on_entry */
	uint64_t	problems[PROBLEM_KIND_COUNT];
	uint64_t	skipped_lines;	/* non-JSON lines skipped */
};

/*
 * Does e look like a problem worth grouping when no pattern knows it?
 * Severity min_severity and above; request logs with status >= 500; and
 * entries with no severity (what most apps print to stdout/stderr) whose
 * text says so: error, exception, failed, fatal, traceback, panic,
 * refused, denied, or an access line with a 4xx/5xx status.
 */
int		 entry_is_problem(const struct log_entry *e, int min_severity);

struct entry_reader;

/* A new reader; cfg is copied. */
struct entry_reader	*entry_reader_new(const struct entry_reader_config *cfg);
void			 entry_reader_free(struct entry_reader *);	/* NULL ok */

/*
 * Feed the next len bytes.  Returns 0, or -1 when on_entry asked to stop
 * or the input is refused (YAML: entry_reader_framing() says so).
 */
int			 entry_reader_feed(struct entry_reader *,
			    const void *buf, size_t len);

/* End of input: reports a truncated last entry.  Returns 0 or -1. */
int			 entry_reader_finish(struct entry_reader *);

enum entry_framing	 entry_reader_framing(const struct entry_reader *);
const struct entry_stats *entry_reader_stats(const struct entry_reader *);

/*
 * Where the reader could resume after the last delivered entry: the
 * absolute offset just past it, and whether that lies inside an array.
 */
uint64_t		 entry_reader_resume_offset(const struct entry_reader *,
			    int *in_array, uint64_t *line);

#endif
