/*
 * Unit tests for the entry reader (src/entry.c): framings, which objects
 * are entries, field extraction, the message order, resync after bad
 * input, caps, resume at an offset, and -- the property everything rests
 * on -- that any chunking of the input gives the same entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "tap.h"
#include "util.h"

/* What a test keeps of each entry and problem. */
struct got {
	char		 digest[1 << 20];	/* one line per entry */
	size_t		 len;
	int		 n;
	int		 problems[PROBLEM_KIND_COUNT];
	uint64_t	 problem_line[8];
	uint64_t	 problem_off[8];
	int		 nproblems;
	uint64_t	 skipped;
	struct log_entry last;		/* strings copied below */
	char		 msg[ENTRY_MESSAGE_MAX + 64];
	char		 svc[256], rev[256], iid[256], proj[256];
	uint64_t	 end_offsets[64];
};

static int
on_entry(const struct log_entry *e, void *arg)
{
	struct got	*g = arg;
	char		 ts[40];
	int		 n;

	time_format(e->timestamp_ns, ts, sizeof(ts));
	n = snprintf(g->digest + g->len, sizeof(g->digest) - g->len,
	    "%.*s|%s|%.*s|%.*s|%.*s|%d|%d|%d|%llu|%llu|%llu|%.*s\n",
	    (int)e->insert_id.len, e->insert_id.p, ts, (int)e->project.len,
	    e->project.p, (int)e->service.len, e->service.p,
	    (int)e->revision.len, e->revision.p, e->severity, e->http_status,
	    (int)e->kind, (unsigned long long)e->offset,
	    (unsigned long long)e->end_offset, (unsigned long long)e->line,
	    (int)e->message.len, e->message.p);
	if (n > 0 && (size_t)n < sizeof(g->digest) - g->len)
		g->len += (size_t)n;
	if (g->n < 64)
		g->end_offsets[g->n] = e->end_offset;
	g->n++;
	g->last = *e;
	memcpy(g->msg, e->message.p, e->message.len);
	g->msg[e->message.len] = '\0';
	g->last.message.p = g->msg;
	snprintf(g->svc, sizeof(g->svc), "%.*s", (int)e->service.len,
	    e->service.p);
	snprintf(g->rev, sizeof(g->rev), "%.*s", (int)e->revision.len,
	    e->revision.p);
	snprintf(g->iid, sizeof(g->iid), "%.*s", (int)e->insert_id.len,
	    e->insert_id.p);
	snprintf(g->proj, sizeof(g->proj), "%.*s", (int)e->project.len,
	    e->project.p);
	return (0);
}

static void
on_problem(const struct entry_problem *p, void *arg)
{
	struct got	*g = arg;

	g->problems[p->kind]++;
	if (p->kind == PROBLEM_SKIPPED_TEXT)
		g->skipped += p->count;
	if (g->nproblems < 8) {
		g->problem_line[g->nproblems] = p->line;
		g->problem_off[g->nproblems] = p->offset;
	}
	g->nproblems++;
}

/*
 * Read buf through a new reader in chunks: chunk 0 means random sizes
 * from 1 to 4096 (seeded), else fixed.  Returns the framing.
 */
static enum entry_framing
read_chunked(const char *buf, size_t len, size_t chunk, struct got *g,
    const struct entry_reader_config *base, int *rv)
{
	struct entry_reader_config	 cfg;
	struct entry_reader		*r;
	enum entry_framing		 f;
	size_t				 at = 0, n;
	unsigned			 seed = 12345;
	int				 x = 0;

	memset(g, 0, sizeof(*g));
	if (base != NULL)
		cfg = *base;
	else
		memset(&cfg, 0, sizeof(cfg));
	cfg.on_entry = on_entry;
	cfg.arg = g;
	cfg.on_problem = on_problem;
	cfg.problem_arg = g;
	r = entry_reader_new(&cfg);
	while (at < len && x == 0) {
		if (chunk == 0) {
			seed = seed * 1103515245 + 12345;
			n = 1 + (seed >> 8) % 4096;
		} else
			n = chunk;
		if (n > len - at)
			n = len - at;
		x = entry_reader_feed(r, buf + at, n);
		at += n;
	}
	if (x == 0)
		x = entry_reader_finish(r);
	if (rv != NULL)
		*rv = x;
	f = entry_reader_framing(r);
	entry_reader_free(r);
	return (f);
}

static char *
slurp(const char *name, size_t *len)
{
	const char	*dir = getenv("TEST_SRCDIR");
	char		 path[1024];
	FILE		*f;
	char		*buf;
	long		 n;

	snprintf(path, sizeof(path), "%s/data/real/%s",
	    dir != NULL ? dir : "tests", name);
	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return (buf);
}

static struct got g1, g2;

static const char *real_files[] = {
	"netra_gcloud-read_frontend-auth_100-entries.json",
	"cerberus_console-copy_concatenated-objects.txt",
	"cityhelper_console-copy_summary-lines-mixed.txt",
	"plaso_testdata_gcp-logging_ndjson.jsonl",
	"cloudrunslackbot_audit-log_pubsub-data.ndjson",
	"amilia_console-copy_request-log-502.json",
	NULL
};

static void
test_chunking(void)
{
	size_t	 len, i;
	char	*buf, name[256];

	for (i = 0; real_files[i] != NULL; i++) {
		if ((buf = slurp(real_files[i], &len)) == NULL) {
			ok(0, real_files[i]);
			continue;
		}
		read_chunked(buf, len, len, &g1, NULL, NULL);
		read_chunked(buf, len, 0, &g2, NULL, NULL);
		snprintf(name, sizeof(name), "%s: random chunks = whole",
		    real_files[i]);
		ok(g1.n > 0 && g1.len == g2.len &&
		    memcmp(g1.digest, g2.digest, g1.len) == 0 &&
		    g1.skipped == g2.skipped && g1.nproblems == g2.nproblems,
		    name);
		read_chunked(buf, len, 1, &g2, NULL, NULL);
		snprintf(name, sizeof(name), "%s: byte at a time = whole",
		    real_files[i]);
		ok(g1.len == g2.len && memcmp(g1.digest, g2.digest,
		    g1.len) == 0 && g1.skipped == g2.skipped, name);
		free(buf);
	}
	/* the netra file: 100 entries in gcloud's array */
	buf = slurp(real_files[0], &len);
	if (buf != NULL) {
		is_int(read_chunked(buf, len, 7, &g1, NULL, NULL),
		    FRAMING_ARRAY, "netra: array framing");
		is_int(g1.n, 100, "netra: 100 entries");
		free(buf);
	}
	buf = slurp(real_files[1], &len);
	if (buf != NULL) {
		is_int(read_chunked(buf, len, 100, &g1, NULL, NULL),
		    FRAMING_STREAM, "cerberus: concatenated objects");
		is_int(g1.n, 31, "cerberus: 31 entries");
		free(buf);
	}
	buf = slurp(real_files[2], &len);
	if (buf != NULL) {
		read_chunked(buf, len, 4096, &g1, NULL, NULL);
		is_int(g1.n, 4, "cityhelper mixed: 4 JSON entries");
		ok(g1.skipped > 0, "cityhelper mixed: text lines skipped");
		is_int(g1.problems[PROBLEM_BAD_ENTRY], 0,
		    "cityhelper mixed: no bad entry");
		free(buf);
	}
}

static void
feed_str(const char *s, struct got *g, const struct entry_reader_config *c)
{
	read_chunked(s, strlen(s), 0, g, c, NULL);
}

static void
test_framings(void)
{
	struct got	*g = &g1;
	int		 rv;

	is_int(read_chunked("[]\n", 3, 0, g, NULL, NULL), FRAMING_ARRAY,
	    "[] is an array");
	is_int(g->n, 0, "[] has no entries");
	is_int(g->nproblems, 0, "[] has no problems");
	is_int(read_chunked("", 0, 0, g, NULL, NULL), FRAMING_UNKNOWN,
	    "empty input");

	feed_str("{\"insertId\":\"a\",\"timestamp\":\"2025-01-01T00:00:00Z\"}\n"
	    "{\"insertId\":\"b\",\"timestamp\":\"2025-01-01T00:00:01Z\"}", g,
	    NULL);
	is_int(g->n, 2, "NDJSON without a final newline: 2 entries");

	feed_str("{\"fetch_time\": \"2025-01-01\", \"raw_logs\": [\n"
	    "  {\"insertId\":\"a\",\"logName\":\"projects/p/logs/x\","
	    "\"timestamp\":\"2025-01-01T00:00:00Z\"},\n"
	    "  {\"insertId\":\"b\",\"logName\":\"projects/p/logs/x\","
	    "\"timestamp\":\"2025-01-01T00:00:01Z\"}]}\n", g, NULL);
	is_int(g->n, 2, "wrapped array: 2 entries");
	is_int(g->nproblems, 0, "wrapped array: the wrapper is no problem");
	is_str(g->proj, "p", "project from logName");

	/* a killed gcloud logging tail */
	feed_str("[\n  {\"insertId\":\"a\",\"timestamp\":\"2025-01-01T00:00:00Z\"},\n"
	    "  {\"insertId\":\"b\",\"timestamp\":\"2025-01-01T00:00:01Z\"},\n"
	    "  {\"insertId\":\"c\",\"textPayload\":\"cut he", g, NULL);
	is_int(g->n, 2, "truncated array: complete entries counted");
	is_int(g->problems[PROBLEM_TRUNCATED], 1,
	    "truncated array: the cut entry reported");
	is_int(g->problem_line[0], 4, "truncated array: its line");

	read_chunked("httpRequest:\n  status: 200\ninsertId: x\n", 40, 0, g,
	    NULL, &rv);
	is_int(rv, -1, "YAML refused");
	is_int(read_chunked("---\ninsertId: x\n", 16, 0, g, NULL, NULL),
	    FRAMING_YAML, "YAML with --- detected");

	feed_str("Initializing tail session.\n[\n  {\"insertId\":\"a\","
	    "\"timestamp\":\"2025-01-01T00:00:00Z\"},\n"
	    "Suppressed 3 entries due to Logging API backend rate limit.\n"
	    "  {\"insertId\":\"b\",\"timestamp\":\"2025-01-01T00:00:01Z\"}\n]\n",
	    g, NULL);
	is_int(g->n, 2, "stderr notices in a tail: entries counted");
	is_int(g->skipped, 2, "stderr notices in a tail: 2 lines skipped");
	is_int(g->problems[PROBLEM_BAD_ENTRY], 0, "no bad entry");
}

static void
test_entries(void)
{
	struct got			*g = &g1;
	struct entry_reader_config	 c;

	/* nested LogEntry look-alikes inside jsonPayload are payload */
	feed_str("{\"insertId\":\"top\",\"jsonPayload\":{\"message\":\"hi\","
	    "\"inner\":{\"insertId\":\"no\",\"timestamp\":"
	    "\"2030-01-01T00:00:00Z\",\"logName\":\"x\"},"
	    "\"timestamp\":\"2031-01-01T00:00:00Z\",\"labels\":{\"commit-sha\":"
	    "\"bad\"},\"textPayload\":\"not me\"},"
	    "\"timestamp\":\"2025-01-01T00:00:00.5Z\",\"severity\":\"warning\"}",
	    g, NULL);
	is_int(g->n, 1, "nested look-alike is not an entry");
	is_str(g->iid, "top", "the outer entry");
	is_str(g->msg, "hi", "jsonPayload.message, not nested textPayload");
	ok(g->last.timestamp_ns == 1735689600LL * NS_PER_SEC + 500000000,
	    "top-level timestamp wins");
	is_int(g->last.commit_sha.len, 0, "nested labels ignored");
	is_int(g->last.severity, 400, "lower-case severity name");

	/* snake_case from current gcloud logging tail */
	feed_str("{\"insert_id\":\"s1\",\"log_name\":\"projects/p/logs/"
	    "run.googleapis.com%2Frequests\",\"severity\":500,"
	    "\"http_request\":{\"request_method\":\"GET\",\"request_url\":"
	    "\"https://x/y\",\"status\":503},\"resource\":{\"type\":"
	    "\"cloud_run_revision\",\"labels\":{\"service_name\":\"api\","
	    "\"revision_name\":\"api-00002-abc\",\"project_id\":\"p2\"}},"
	    "\"timestamp\":\"2025-01-01T00:00:00Z\",\"labels\":{}}", g, NULL);
	is_int(g->n, 1, "snake_case entry");
	is_int(g->last.severity, 500, "numeric severity");
	is_int(g->last.http_status, 503, "http_request.status");
	is_int(g->last.kind, LOG_REQUESTS, "requests log");
	is_str(g->svc, "api", "service");
	is_str(g->rev, "api-00002-abc", "revision");
	is_str(g->proj, "p2", "project_id wins over logName");
	is_str(g->msg, "GET https://x/y 503", "request message synthesised");

	feed_str("{\"insertId\":\"o\",\"timestamp\":\"2025-01-01T00:00:00Z\","
	    "\"jsonPayload\":{\"message\": {\"a\": [1, 2], \"b\": \"c d\"}}}",
	    g, NULL);
	is_str(g->msg, "{\"a\":[1,2],\"b\":\"c d\"}", "object message serialised");

	feed_str("{\"insertId\":\"m\",\"timestamp\":\"2025-01-01T00:00:00Z\","
	    "\"jsonPayload\":{\"level\":\"x\",\"msg\":\"from msg\"}}", g, NULL);
	is_str(g->msg, "from msg", "jsonPayload.msg");

	feed_str("{\"insertId\":\"p\",\"timestamp\":\"2025-01-01T00:00:00Z\","
	    "\"protoPayload\":{\"status\":{\"code\":10,\"message\":\"boom\"},"
	    "\"methodName\":\"google.cloud.run.v1.Services.ReplaceService\"}}",
	    g, NULL);
	is_str(g->msg, "google.cloud.run.v1.Services.ReplaceService: boom",
	    "audit status message with its method");

	feed_str("{\"insertId\":\"j\",\"timestamp\":\"2025-01-01T00:00:00Z\","
	    "\"resource\":{\"type\":\"cloud_run_job\",\"labels\":{\"job_name\":"
	    "\"nightly\",\"location\":\"eu\"}},\"textPayload\":\"x\"}", g, NULL);
	is_str(g->svc, "nightly", "a job counts under its name");
	is_str(g->rev, "", "a job has no revision");

	memset(&c, 0, sizeof(c));
	c.default_service = "worker";
	feed_str("{\"insertId\":\"g\",\"timestamp\":\"2025-01-01T00:00:00Z\","
	    "\"resource\":{\"type\":\"gce_instance\",\"labels\":{\"zone\":"
	    "\"us-east1-b\"}},\"textPayload\":\"x\"}", g, &c);
	is_str(g->svc, "worker", "--service names other resources");
	feed_str("{\"insertId\":\"g\",\"timestamp\":\"2025-01-01T00:00:00Z\","
	    "\"resource\":{\"type\":\"gce_instance\"},\"textPayload\":\"x\"}",
	    g, NULL);
	is_str(g->svc, "gce_instance", "else the resource type");

	feed_str("{\"insertId\":\"t\",\"timestamp\":\"2025-01-01T00:00:00Z\","
	    "\"textPayload\":\"bad \\u0000 nul and \xff\xfe bytes\"}", g, NULL);
	is_int(g->n, 1, "NUL escape and invalid UTF-8 keep the entry");
	is_int(g->last.message.len, 22, "message keeps every byte");

	feed_str("{\"insertId\":\"x\",\"timestamp\":\"yesterday\"}\n"
	    "{\"insertId\":\"y\",\"timestamp\":\"2025-01-01T00:00:00Z\"}\n", g,
	    NULL);
	is_int(g->n, 1, "bad timestamp: entry not delivered");
	is_int(g->problems[PROBLEM_BAD_TIMESTAMP], 1, "bad timestamp reported");

	feed_str("{\"hello\": 1}\n{\"insertId\":\"y\",\"timestamp\":"
	    "\"2025-01-01T00:00:00Z\"}\n", g, NULL);
	is_int(g->problems[PROBLEM_NOT_AN_ENTRY], 1, "not a LogEntry reported");
	is_int(g->n, 1, "and the next entry read");
}

static void
test_bad_input(void)
{
	struct got	*g = &g1;
	char		*big, *deep;
	size_t		 i, n;

	feed_str("{\"insertId\":\"a\",\"timestamp\":\"2025-01-01T00:00:00Z\"}\n"
	    "{\"insertId\":\"b\",\"timestamp\":\n"
	    "{\"insertId\":\"c\",\"timestamp\":\"2025-01-01T00:00:01Z\"}\n"
	    "{\"insertId\":\"d\", nonsense}\n"
	    "{\"insertId\":\"e\",\"timestamp\":\"2025-01-01T00:00:02Z\"}\n", g,
	    NULL);
	is_int(g->n, 3, "NDJSON: good lines around bad ones counted");
	is_int(g->problems[PROBLEM_BAD_ENTRY], 2, "NDJSON: 2 bad entries");
	is_int(g->problem_line[0], 2, "first bad entry on line 2");
	is_int(g->problem_off[0], 52, "at byte 52, its first");
	is_int(g->problem_line[1], 4, "second bad entry on line 4");

	feed_str("[\n  {\n    \"insertId\": \"a\",\n    \"timestamp\": "
	    "\"2025-01-01T00:00:00Z\"\n  },\n  {\n    \"insertId\": \"b\",\n"
	    "    \"errorGroups\": [\n      {\n        \"id\": \"x\"\n      }\n"
	    "    ],\n    \"timestamp\": 2025-01-01\n  },\n  {\n"
	    "    \"insertId\": \"c\",\n    \"timestamp\": "
	    "\"2025-01-01T00:00:01Z\"\n  }\n]\n", g, NULL);
	is_int(g->n, 2, "pretty array: entries after a bad one counted");
	is_int(g->problems[PROBLEM_BAD_ENTRY], 1,
	    "pretty array: one bad entry, nested '{' lines not restarts");
	is_int(g->problem_line[0], 6, "pretty array: bad entry's line");

	/* a token past ENTRY_TOKEN_MAX */
	n = 3 * ENTRY_TOKEN_MAX;
	big = malloc(n + 256);
	i = (size_t)sprintf(big, "{\"insertId\":\"a\",\"timestamp\":"
	    "\"2025-01-01T00:00:00Z\"}\n{\"insertId\":\"big\",\"textPayload\":\"");
	memset(big + i, 'x', n);
	i += n;
	i += (size_t)sprintf(big + i, "\"}\n{\"insertId\":\"c\",\"timestamp\":"
	    "\"2025-01-01T00:00:01Z\"}\n");
	read_chunked(big, i, 65536, g, NULL, NULL);
	is_int(g->n, 2, "huge token: the entries around it counted");
	is_int(g->problems[PROBLEM_OVERSIZE], 1, "huge token reported");
	free(big);

	n = 10000;
	deep = malloc(2 * n + 256);
	i = (size_t)sprintf(deep, "{\"insertId\":\"d\",\"jsonPayload\":");
	memset(deep + i, '[', n);
	i += n;
	memset(deep + i, ']', n);
	i += n;
	i += (size_t)sprintf(deep + i, "}\n{\"insertId\":\"c\",\"timestamp\":"
	    "\"2025-01-01T00:00:01Z\"}\n");
	read_chunked(deep, i, 0, g, NULL, NULL);
	is_int(g->n, 1, "deep nesting: next entry counted");
	is_int(g->problems[PROBLEM_OVERSIZE], 1, "deep nesting reported");
	free(deep);

	/* head and tail of a long message */
	n = 40000;
	big = malloc(n + 256);
	i = (size_t)sprintf(big, "{\"insertId\":\"l\",\"timestamp\":"
	    "\"2025-01-01T00:00:00Z\",\"textPayload\":\"HEAD");
	memset(big + i, 'm', n);
	i += n;
	i += (size_t)sprintf(big + i, "ValueError: TAIL\"}");
	read_chunked(big, i, 0, g, NULL, NULL);
	is_int(g->n, 1, "long message: entry counted");
	ok(g->last.message_cut, "long message: marked cut");
	ok(g->last.message.len <= ENTRY_MESSAGE_MAX, "long message: capped");
	ok(strncmp(g->msg, "HEADmmm", 7) == 0, "long message: head kept");
	ok(strstr(g->msg, "ValueError: TAIL") != NULL &&
	    strcmp(g->msg + strlen(g->msg) - 16, "ValueError: TAIL") == 0,
	    "long message: tail kept");
	free(big);
}

static void
test_text(void)
{
	struct got			*g = &g1;
	struct entry_reader_config	 c;
	int64_t				 t;

	memset(&c, 0, sizeof(c));
	c.force_text = 1;
	c.default_service = "svc";
	c.default_revision = "svc-00001-abc";
	feed_str("2025-03-01T10:00:00Z ERROR one\n\n[2025-03-01 10:00:01 "
	    "+0000] [1] [INFO] two\nthree without newline", g, &c);
	is_int(g->n, 3, "text: 3 lines, blank skipped");
	is_str(g->svc, "svc", "text: --service");
	is_str(g->rev, "svc-00001-abc", "text: --revision");
	is_str(g->msg, "three without newline", "text: last line");
	ok(g->last.is_text, "text: marked");
	time_parse_rfc3339("2025-03-01T10:00:00Z", 20, &t);
	ok(strstr(g->digest, "2025-03-01T10:00:01.000000Z") != NULL,
	    "text: gunicorn's leading timestamp read");

	memset(&c, 0, sizeof(c));
	feed_str("just some\nplain text\n", g, &c);
	is_int(g->n, 2, "no JSON at all: read as text");
	is_str(g->svc, "unknown", "text without --service: unknown");
}

static void
test_resume(void)
{
	struct got			*g = &g1;
	struct entry_reader_config	 c;
	const char			*s;
	size_t				 len;
	uint64_t			 off;
	char				 want[4096];

	s = "[\n  {\"insertId\":\"a\",\"timestamp\":\"2025-01-01T00:00:00Z\"},\n"
	    "  {\"insertId\":\"b\",\"timestamp\":\"2025-01-01T00:00:01Z\"},\n"
	    "  {\"insertId\":\"c\",\"timestamp\":\"2025-01-01T00:00:02Z\"}\n]\n";
	len = strlen(s);
	feed_str(s, g, NULL);
	is_int(g->n, 3, "resume: 3 entries in one pass");
	off = g->end_offsets[0];
	/* the last two lines of the digest are what a resume must give */
	snprintf(want, sizeof(want), "%s", strchr(g->digest, '\n') + 1);
	memset(&c, 0, sizeof(c));
	c.start_offset = off;
	c.start_in_array = 1;
	c.start_line = 2;
	read_chunked(s + off, len - off, 0, &g2, &c, NULL);
	is_int(g2.n, 2, "resume inside the array: the other 2 entries");
	is_str(g2.digest, want, "resume: same entries, offsets and lines");
	is_int(g2.nproblems, 0, "resume: no problems");
}

static void
test_is_problem(void)
{
	struct log_entry	e;

	memset(&e, 0, sizeof(e));
	e.kind = LOG_STDERR;
	e.message.p = "ValueError: boom";
	e.message.len = 16;
	ok(entry_is_problem(&e, 400), "DEFAULT stderr with Error: a problem");
	e.message.p = "Booting worker with pid: 7";
	e.message.len = 26;
	ok(!entry_is_problem(&e, 400), "DEFAULT stderr, no error word: not");
	e.message.p = "INFO:     1.2.3.4:0 - \"GET /x HTTP/1.1\" 404 Not Found";
	e.message.len = strlen(e.message.p);
	ok(entry_is_problem(&e, 400), "a 404 access line: a problem");
	e.message.p = "INFO:     1.2.3.4:0 - \"GET /x HTTP/1.1\" 200 OK";
	e.message.len = strlen(e.message.p);
	ok(!entry_is_problem(&e, 400), "a 200 access line: not");
	{
		/* every word, in any case, at the start, inside, at the end;
		 * a word cut by the end of the message is none */
		static const char *yes[] = { "ERROR", "an Exception", "job FAILED",
		    "Fatal", "Traceback (most", "kernel panic", "conn refused",
		    "access DeNiEd", "xerror", "deniedx" };
		static const char *no[] = { "erro", "denie", "exceptio",
		    "tracebac", "refuse", "fata", "pani", "faile", "" };
		char	name[64];
		size_t	i;

		for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			e.message.p = yes[i];
			e.message.len = strlen(yes[i]);
			snprintf(name, sizeof(name), "problem word: \"%s\"",
			    yes[i]);
			ok(entry_is_problem(&e, 400), name);
		}
		for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
			/* the word cut short by the length, not by a NUL */
			e.message.p = "errordeniedexceptiontracebackrefusedfatal"
			    "panicfailed";
			e.message.p = strstr(e.message.p, no[i][0] != '\0' ?
			    no[i] : "error");
			e.message.len = strlen(no[i]);
			snprintf(name, sizeof(name), "cut short: \"%s\"",
			    no[i]);
			ok(!entry_is_problem(&e, 400), name);
		}
	}
	e.severity = 200;
	e.message.p = "request failed";
	e.message.len = 14;
	ok(!entry_is_problem(&e, 400), "INFO says failed: below the severity");
	e.severity = 400;
	ok(entry_is_problem(&e, 400), "WARNING: a problem");
	ok(!entry_is_problem(&e, 500), "WARNING under --templates-min-severity "
	    "ERROR: not");
	e.severity = 200;
	e.http_status = 503;
	e.kind = LOG_REQUESTS;
	ok(entry_is_problem(&e, 500), "a 503 request: a problem");
	e.http_status = 0;
	e.kind = LOG_SYSTEM;
	e.severity = 0;
	e.message.p = "error";
	e.message.len = 5;
	ok(!entry_is_problem(&e, 400), "DEFAULT outside stdout/stderr: not");
}

int
main(void)
{
	test_chunking();
	test_framings();
	test_entries();
	test_bad_input();
	test_text();
	test_resume();
	test_is_problem();
	return (done_testing());
}
