/*
 * logaudit pull: read a project's Cloud Run logs from the Cloud Logging
 * API (POST v2/entries:list) and count them exactly as ingest would.
 * Each response page streams through the entry reader (the entries sit
 * in a wrapped array) while a second small parser picks out
 * nextPageToken; each page is committed with the high-water mark of the
 * project and filter, so a rerun resumes from it.  Entries reach Cloud
 * Logging late, so the window ends --lag before now and starts --overlap
 * before the mark: insertId dedup absorbs what is read twice.
 *
 * The access token lives only in this process's memory and the
 * Authorization header: never in argv, the environment of children, a
 * log line or the store.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "catalogue.h"
#include "cmd.h"
#include "count.h"
#include "entry.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define PULL_API_DEFAULT	"https://logging.googleapis.com"
#define PULL_FILTER_DEFAULT	"resource.type=\"cloud_run_revision\""
#define PULL_PAGE_SIZE		1000
#define PULL_LAG_DEFAULT	(120LL * NS_PER_SEC)
#define PULL_OVERLAP_DEFAULT	(600LL * NS_PER_SEC)
#define PULL_FIRST_DEFAULT	(3600LL * NS_PER_SEC)	/* no mark: last hour */
#define PULL_TRIES_MAX		10
#define PULL_BACKOFF_MS		1000	/* first wait; LOGAUDIT_BACKOFF_MS */
#define PULL_BACKOFF_CAP_MS	60000
#define PULL_TOKEN_MAX		4096	/* bytes of an access token */
#define PULL_PAGE_TOKEN_MAX	4096	/* bytes of a nextPageToken */
#define PULL_METADATA_BODY_MAX	(64 * 1024)

enum auth_source {
	AUTH_FILE,
	AUTH_ENV,
	AUTH_COMMAND,
	AUTH_METADATA
};

struct pull_auth {
	enum auth_source	 source;
	const char		*file;		/* --token-file */
	const char		*command;	/* --token-command */
	char			*token;		/* the current token */
};

struct pull {
	const char		*name;		/* "projects/P" */
	const char		*ca_file;	/* --ca-file, or NULL */
	struct counter		*counter;
	struct store		*st;
	struct store_progress	 prog;
	struct entry_reader	*r;		/* of the page being read */
	unsigned		 problems_shown;
	uint64_t		 page_bytes;	/* of the page being read */
	int64_t			 page_start;	/* offset of its first
						   non-blank byte, or -1 */
	int			 failed;	/* a database error happened */
	int64_t			 max_ts;	/* ns; TIME_NONE before any */

	/* the page scanner: nextPageToken at depth 1 */
	yajl_handle		 scan;
	int			 depth;
	int			 at_token_key;
	char			*next_token;	/* NULL: the last page */
	int			 token_too_long;
};

static void
pull_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit pull --project P [--filter F] [--since T]\n"
	    "                     [--db PATH] [--api-url URL] [--lag D]\n"
	    "                     [--overlap D] [--token-file F]\n"
	    "                     [--token-command CMD] [--ca-file F]\n"
	    "                     [--patterns DIR]... [-q]\n"
	    "\n"
	    "Read a project's logs from the Cloud Logging API (entries.list)\n"
	    "and count them per revision as ingest does.  The window ends\n"
	    "--lag before now and starts --overlap before the latest entry\n"
	    "counted by the last pull of this project and filter (the last\n"
	    "hour on a first pull); entries read twice are not counted twice.\n"
	    "\n"
	    "  --project P         the Google Cloud project id\n"
	    "  --filter F          Logging query (default\n"
	    "                      resource.type=\"cloud_run_revision\"),\n"
	    "                      ANDed with the time bounds\n"
	    "  --since T           start at T (RFC 3339 or a duration ago)\n"
	    "  --db PATH           database (default $LOGAUDIT_DB or ./logaudit.db)\n"
	    "  --api-url URL       endpoint (default %s)\n"
	    "  --lag D             leave the last D out (default 2m)\n"
	    "  --overlap D         re-read D before the mark (default 10m)\n"
	    "  --token-file F      access token: F's first line\n"
	    "  --token-command CMD access token: the first line CMD prints\n"
	    "                      (run by /bin/sh; again on HTTP 401)\n"
	    "  --ca-file F         CA certificates to verify the server with\n"
	    "  --patterns DIR      catalogue directory (repeatable)\n"
	    "  -q, --quiet         no summary\n"
	    "\n"
	    "Without --token-file, LOGAUDIT_ACCESS_TOKEN or --token-command,\n"
	    "the token comes from the metadata server ($GCE_METADATA_HOST).\n"
	    "LOGAUDIT_BACKOFF_MS sets the first retry wait (tests; default\n"
	    "1000).\n", PULL_API_DEFAULT);
}

/*
 * Check and keep the first line of s[0..len) as the token.  Returns 0, or
 * -1 with *cause (which never quotes the token).
 */
static int
auth_set(struct pull_auth *a, const char *s, size_t len, const char *from,
    char **cause)
{
	size_t	 i, n;

	n = strcspn(s, "\r\n");
	if (n > len)
		n = len;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0) {
		xasprintf(cause, "%s: no access token", from);
		return (-1);
	}
	if (n > PULL_TOKEN_MAX) {
		xasprintf(cause, "%s: access token longer than %d bytes", from,
		    PULL_TOKEN_MAX);
		return (-1);
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127) {
			xasprintf(cause, "%s: the access token holds a "
			    "character a header cannot carry", from);
			return (-1);
		}
	if (a->token != NULL)
		explicit_bzero(a->token, strlen(a->token));
	free(a->token);
	a->token = xstrndup(s, n);
	return (0);
}

static int
auth_from_file(struct pull_auth *a, char **cause)
{
	FILE	*f;
	char	 buf[PULL_TOKEN_MAX + 2];
	size_t	 n;
	int	 rv;

	if ((f = fopen(a->file, "r")) == NULL) {
		xasprintf(cause, "--token-file %s: %s", a->file,
		    strerror(errno));
		return (-1);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rv = auth_set(a, buf, n, a->file, cause);
	explicit_bzero(buf, sizeof(buf));
	return (rv);
}

static int
auth_from_command(struct pull_auth *a, char **cause)
{
	FILE	*f;
	char	 buf[PULL_TOKEN_MAX + 2];
	size_t	 n;
	int	 status, rv;

	fflush(NULL);
	if ((f = popen(a->command, "r")) == NULL) {
		xasprintf(cause, "--token-command: %s", strerror(errno));
		return (-1);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	/* drain the rest so the command does not die of SIGPIPE */
	while (fgetc(f) != EOF)
		;
	status = pclose(f);
	buf[n] = '\0';
	if (status != 0) {
		explicit_bzero(buf, sizeof(buf));
		xasprintf(cause, "--token-command failed (status %d)", status);
		return (-1);
	}
	rv = auth_set(a, buf, n, "--token-command", cause);
	explicit_bzero(buf, sizeof(buf));
	return (rv);
}

struct grow {
	char	*p;
	size_t	 len;	/* bytes */
	size_t	 max;	/* bytes */
};

static int
grow_body(const void *buf, size_t len, void *arg)
{
	struct grow	*g = arg;

	if (g->len + len > g->max)
		return (-1);
	g->p = xreallocarray(g->p, 1, g->len + len + 1);
	memcpy(g->p + g->len, buf, len);
	g->len += len;
	g->p[g->len] = '\0';
	return (0);
}

static int
auth_from_metadata(struct pull_auth *a, char **cause)
{
	static const char	*path[] = { "access_token", NULL };
	static const char	*headers[] = {
		"Metadata-Flavor: Google", NULL
	};
	struct http_request	 req;
	struct http_response	 res;
	struct grow		 g;
	const char		*host, *tok;
	char			*url, *c = NULL;
	yajl_val		 root = NULL, v;
	int			 rv = -1;

	if ((host = getenv("GCE_METADATA_HOST")) == NULL || *host == '\0')
		host = "metadata.google.internal";
	xasprintf(&url, "http://%s/computeMetadata/v1/instance/"
	    "service-accounts/default/token", host);
	memset(&req, 0, sizeof(req));
	memset(&g, 0, sizeof(g));
	g.max = PULL_METADATA_BODY_MAX;
	req.method = "GET";
	req.url = url;
	req.headers = headers;
	req.on_body = grow_body;
	req.arg = &g;
	if (http_request(&req, &res, &c) == -1) {
		xasprintf(cause, "no access token: no --token-file, "
		    "LOGAUDIT_ACCESS_TOKEN or --token-command, and the "
		    "metadata server failed (%s)", c);
		free(c);
		goto out;
	}
	if (res.status != 200) {
		xasprintf(cause, "metadata server %s: HTTP %ld", host,
		    res.status);
		goto out;
	}
	if (g.p == NULL || (root = yajl_tree_parse(g.p, NULL, 0)) == NULL ||
	    (v = yajl_tree_get(root, path, yajl_t_string)) == NULL ||
	    (tok = YAJL_GET_STRING(v)) == NULL) {
		xasprintf(cause, "metadata server %s: no access_token in its "
		    "reply", host);
		goto out;
	}
	rv = auth_set(a, tok, strlen(tok), "metadata server", cause);
out:
	yajl_tree_free(root);
	if (g.p != NULL)
		explicit_bzero(g.p, g.len);
	free(g.p);
	http_response_clear(&res);
	free(url);
	return (rv);
}

/* Get a token, or a fresh one (refresh), from a->source. */
static int
auth_fetch(struct pull_auth *a, char **cause)
{
	const char	*env;

	switch (a->source) {
	case AUTH_FILE:
		return (auth_from_file(a, cause));
	case AUTH_ENV:
		if ((env = getenv("LOGAUDIT_ACCESS_TOKEN")) == NULL)
			env = "";
		return (auth_set(a, env, strlen(env),
		    "LOGAUDIT_ACCESS_TOKEN", cause));
	case AUTH_COMMAND:
		return (auth_from_command(a, cause));
	case AUTH_METADATA:
		return (auth_from_metadata(a, cause));
	}
	return (-1);
}

static void
auth_clear(struct pull_auth *a)
{
	if (a->token != NULL)
		explicit_bzero(a->token, strlen(a->token));
	free(a->token);
	a->token = NULL;
}

/* The page scanner's callbacks: track depth, keep nextPageToken. */
static int
scan_value(void *arg)
{
	struct pull	*p = arg;

	p->at_token_key = 0;
	return (1);
}

static int
scan_bool(void *arg, int b)
{
	(void)b;
	return (scan_value(arg));
}

static int
scan_number(void *arg, const char *s, size_t len)
{
	(void)s;
	(void)len;
	return (scan_value(arg));
}

static int
scan_string(void *arg, const unsigned char *s, size_t len)
{
	struct pull	*p = arg;

	if (p->at_token_key) {
		free(p->next_token);
		p->next_token = NULL;
		if (len > PULL_PAGE_TOKEN_MAX)
			p->token_too_long = 1;
		else
			p->next_token = xstrndup((const char *)s, len);
	}
	p->at_token_key = 0;
	return (1);
}

static int
scan_open(void *arg)
{
	struct pull	*p = arg;

	p->at_token_key = 0;
	p->depth++;
	return (1);
}

static int
scan_close(void *arg)
{
	struct pull	*p = arg;

	p->depth--;
	return (1);
}

static int
scan_key(void *arg, const unsigned char *s, size_t len)
{
	struct pull	*p = arg;

	p->at_token_key = p->depth == 1 && len == 13 &&
	    memcmp(s, "nextPageToken", 13) == 0;
	return (1);
}

static const yajl_callbacks scan_callbacks = {
	scan_value, scan_bool, NULL, NULL, scan_number, scan_string,
	scan_open, scan_key, scan_close, scan_open, scan_close
};

static int
pull_entry(const struct log_entry *e, void *arg)
{
	struct pull		*p = arg;
	struct count_stats	 cs;
	char			*cause = NULL;

	memset(&cs, 0, sizeof(cs));
	if (counter_add(p->counter, e, &cs, &cause) == STORE_ERROR) {
		log_warnx("%s", cause);
		free(cause);
		p->failed = 1;
		return (-1);
	}
	p->prog.entries += cs.entries;
	p->prog.counted += cs.counted;
	p->prog.duplicates += cs.duplicates;
	p->prog.too_old += cs.too_old;
	if (e->timestamp_ns != TIME_NONE && e->timestamp_ns > p->max_ts)
		p->max_ts = e->timestamp_ns;
	return (0);
}

static void
pull_problem(const struct entry_problem *pr, void *arg)
{
	struct pull	*p = arg;

	/* a page without entries: the wrapper itself is no LogEntry */
	if (pr->kind == PROBLEM_NOT_AN_ENTRY &&
	    (int64_t)pr->offset == p->page_start)
		return;
	p->prog.bad++;
	cmd_report_problem(p->name, pr, &p->problems_shown);
}

/* A 2xx body piece: to the entry reader and the page scanner. */
static int
pull_body(const void *buf, size_t len, void *arg)
{
	struct pull	*p = arg;
	const char	*s = buf;
	size_t		 i;

	for (i = 0; p->page_start == -1 && i < len; i++)
		if (strchr(" \t\r\n", s[i]) == NULL)
			p->page_start = (int64_t)(p->page_bytes + i);
	p->page_bytes += len;
	p->prog.bytes += len;
	if (entry_reader_feed(p->r, buf, len) == -1)
		return (-1);
	if (yajl_parse(p->scan, buf, len) != yajl_status_ok) {
		log_warnx("%s: the API's reply is not JSON", p->name);
		return (-1);
	}
	return (0);
}

/* The entries:list request body; caller frees. */
static char *
pull_request_body(const char *project, const char *filter,
    const char *page_token)
{
	yajl_gen		 g;
	const unsigned char	*buf;
	size_t			 len;
	char			*s;

	if ((g = yajl_gen_alloc(NULL)) == NULL) {
		log_warnx("out of memory");
		abort();
	}
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"resourceNames", 13);
	yajl_gen_array_open(g);
	xasprintf(&s, "projects/%s", project);
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	free(s);
	yajl_gen_array_close(g);
	yajl_gen_string(g, (const unsigned char *)"filter", 6);
	yajl_gen_string(g, (const unsigned char *)filter, strlen(filter));
	yajl_gen_string(g, (const unsigned char *)"orderBy", 7);
	yajl_gen_string(g, (const unsigned char *)"timestamp asc", 13);
	yajl_gen_string(g, (const unsigned char *)"pageSize", 8);
	yajl_gen_integer(g, PULL_PAGE_SIZE);
	if (page_token != NULL) {
		yajl_gen_string(g, (const unsigned char *)"pageToken", 9);
		yajl_gen_string(g, (const unsigned char *)page_token,
		    strlen(page_token));
	}
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &buf, &len);
	s = xstrndup((const char *)buf, len);
	yajl_gen_free(g);
	return (s);
}

/* Sleep ms, waking early when interrupted. */
static void
pull_sleep_ms(int64_t ms)
{
	struct timespec	 ts;

	while (ms > 0 && !cmd_interrupted) {
		ts.tv_sec = 0;
		ts.tv_nsec = (ms > 100 ? 100 : ms) * 1000000L;
		nanosleep(&ts, NULL);
		ms -= 100;
	}
}

/* The wait before retry n (0-based): exponential, capped, jittered. */
static int64_t
pull_backoff_ms(int n)
{
	const char	*env = getenv("LOGAUDIT_BACKOFF_MS");
	int64_t		 base = PULL_BACKOFF_MS, d;
	char		*end;

	if (env != NULL && *env != '\0') {
		d = strtoll(env, &end, 10);
		if (*end == '\0' && d >= 0)
			base = d;
	}
	d = base;
	while (n-- > 0 && d < PULL_BACKOFF_CAP_MS)
		d *= 2;
	if (d > PULL_BACKOFF_CAP_MS)
		d = PULL_BACKOFF_CAP_MS;
	/* half fixed, half random: clients of one quota spread out */
	return (d / 2 + (d > 1 ? random() % (d / 2 + 1) : 0));
}

enum pull_outcome {
	PULL_PAGE_OK,
	PULL_RETRY,
	PULL_FAIL
};

/*
 * One attempt at one page.  PULL_RETRY sets *why (caller frees) for the
 * once-per-episode log line.
 */
static enum pull_outcome
pull_attempt(struct pull *p, struct pull_auth *auth, const char *url,
    const char *body, int *refreshed, char **why)
{
	struct http_request	 req;
	struct http_response	 res;
	struct entry_reader_config cfg;
	const char		*headers[3];
	char			*authz, *cause = NULL, *msg;
	enum pull_outcome	 o = PULL_FAIL;
	int			 rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.on_entry = pull_entry;
	cfg.arg = p;
	cfg.on_problem = pull_problem;
	cfg.problem_arg = p;
	p->r = entry_reader_new(&cfg);
	p->scan = yajl_alloc(&scan_callbacks, NULL, p);
	p->depth = p->at_token_key = p->token_too_long = 0;
	p->page_bytes = 0;
	p->page_start = -1;
	free(p->next_token);
	p->next_token = NULL;

	xasprintf(&authz, "Authorization: Bearer %s", auth->token);
	headers[0] = authz;
	headers[1] = "Content-Type: application/json";
	headers[2] = NULL;
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = strlen(body);
	req.on_body = pull_body;
	req.arg = p;
	req.ca_file = p->ca_file;
	req.stop = &cmd_interrupted;
	rc = http_request(&req, &res, &cause);
	explicit_bzero(authz, strlen(authz));
	free(authz);
	if (rc == -1) {
		if (p->failed || cmd_interrupted) {
			free(cause);
			goto out;
		}
		*why = http_redact(cause, auth->token);
		free(cause);
		o = PULL_RETRY;
		goto out;
	}
	msg = http_api_error_message(res.error_body, auth->token);
	switch (res.status) {
	case 200:
		if (yajl_complete_parse(p->scan) != yajl_status_ok) {
			xasprintf(why, "%s: a reply cut short", p->name);
			o = PULL_RETRY;
			break;
		}
		(void)entry_reader_finish(p->r);
		if (p->token_too_long)
			log_warnx("%s: nextPageToken longer than %d bytes",
			    p->name, PULL_PAGE_TOKEN_MAX);
		else
			o = PULL_PAGE_OK;
		break;
	case 400:
		log_warnx("%s: the API refused the request (HTTP 400): %s",
		    p->name, msg != NULL ? msg : "no message");
		break;
	case 401:
		if (*refreshed) {
			log_warnx("%s: the access token was refused (HTTP 401) "
			    "again after a refresh: %s", p->name,
			    msg != NULL ? msg : "no message");
			break;
		}
		*refreshed = 1;
		log_info("%s: HTTP 401, refreshing the access token",
		    p->name);
		if (auth_fetch(auth, &cause) == -1) {
			log_warnx("%s: the access token was refused (HTTP 401)"
			    " and could not be refreshed: %s", p->name, cause);
			free(cause);
			break;
		}
		o = PULL_RETRY;
		break;
	case 403:
		log_warnx("%s: permission denied (HTTP 403): the account needs "
		    "roles/logging.viewer on the project: %s", p->name,
		    msg != NULL ? msg : "no message");
		break;
	case 429:
		xasprintf(why, "%s: HTTP 429, over the read quota (about 60 "
		    "requests a minute per project)", p->name);
		o = PULL_RETRY;
		break;
	default:
		if (res.status >= 500) {
			xasprintf(why, "%s: HTTP %ld: %s", p->name, res.status,
			    msg != NULL ? msg : "no message");
			o = PULL_RETRY;
		} else
			log_warnx("%s: HTTP %ld: %s", p->name, res.status,
			    msg != NULL ? msg : "no message");
		break;
	}
	free(msg);
	http_response_clear(&res);
out:
	entry_reader_free(p->r);
	p->r = NULL;
	yajl_free(p->scan);
	p->scan = NULL;
	return (o);
}

/*
 * Fetch one page, retrying 429, 5xx and network errors with backoff
 * (logged once per episode) and a 401 once after a token refresh.
 * Returns 0 or -1 (said why).
 */
static int
pull_page(struct pull *p, struct pull_auth *auth, const char *url,
    const char *body)
{
	enum pull_outcome	 o;
	char			*why = NULL;
	int			 tries = 0, refreshed = 0, episode = 0;

	for (;;) {
		o = pull_attempt(p, auth, url, body, &refreshed, &why);
		if (o == PULL_PAGE_OK) {
			if (episode)
				log_warnx("%s: recovered after %d retries",
				    p->name, tries);
			return (0);
		}
		if (o == PULL_FAIL || cmd_interrupted)
			break;
		if (why == NULL)	/* a token refresh: retry at once */
			continue;
		if (++tries >= PULL_TRIES_MAX) {
			log_warnx("%s; giving up after %d tries", why, tries);
			break;
		}
		if (!episode)
			log_warnx("%s; retrying with backoff", why);
		else
			log_debug("%s; retry %d", why, tries);
		episode = 1;
		free(why);
		why = NULL;
		pull_sleep_ms(pull_backoff_ms(tries - 1));
	}
	free(why);
	return (-1);
}

/* The meta key of the high-water mark of project and filter. */
static char *
pull_mark_key(const char *project, const char *filter)
{
	char		*s, *key;
	uint64_t	 h;

	xasprintf(&s, "%s\n%s", project, filter);
	h = hash64(s, strlen(s), 0);
	free(s);
	xasprintf(&key, "pull_mark:%016llx", (unsigned long long)h);
	return (key);
}

/* Commit what was counted with the mark; 0 or -1 (said why). */
static int
pull_commit(struct pull *p, const char *key)
{
	char	*cause = NULL;

	if (p->max_ts != TIME_NONE)
		store_meta_stage(p->st, key, p->max_ts);
	if (store_commit(p->st, &p->prog, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		p->failed = 1;
		return (-1);
	}
	return (0);
}

static int
pull_auth_init(struct pull_auth *a)
{
	char	*cause = NULL;

	if (a->file != NULL)
		a->source = AUTH_FILE;
	else if (getenv("LOGAUDIT_ACCESS_TOKEN") != NULL &&
	    *getenv("LOGAUDIT_ACCESS_TOKEN") != '\0')
		a->source = AUTH_ENV;
	else if (a->command != NULL)
		a->source = AUTH_COMMAND;
	else
		a->source = AUTH_METADATA;
	if (auth_fetch(a, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/* Read every page of the window; returns an exit status. */
static int
pull_run(struct pull *p, struct pull_auth *auth, const char *project,
    const char *url, const char *filter, const char *key)
{
	char	*body, *token = NULL, *cause = NULL;
	int	 rv = EXIT_OK, pages = 0;

	if (store_run_begin(p->st, p->name, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (EXIT_ERROR);
	}
	do {
		body = pull_request_body(project, filter, token);
		free(token);
		token = NULL;
		if (pull_page(p, auth, url, body) == -1) {
			free(body);
			rv = EXIT_ERROR;
			break;
		}
		free(body);
		pages++;
		token = p->next_token;
		p->next_token = NULL;
		if (pull_commit(p, key) == -1) {
			rv = EXIT_ERROR;
			break;
		}
	} while (token != NULL && !cmd_interrupted);
	free(token);
	if (cmd_interrupted)
		rv = EXIT_ERROR;
	if (!p->failed && store_run_end(p->st, &p->prog, rv == EXIT_OK ?
	    "ok" : cmd_interrupted ? "interrupted" : "error", NULL,
	    &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		rv = EXIT_ERROR;
	}
	log_info("%s: %d pages, %llu bytes", p->name, pages,
	    (unsigned long long)p->prog.bytes);
	return (rv);
}

/* The window [*from, *to) of this pull; 0, or -1 (said why). */
static int
pull_window(struct pull *p, const char *since, const char *key,
    int64_t lag, int64_t overlap, int64_t *from, int64_t *to)
{
	int64_t	 now = time_now_ns(), mark;
	int	 found;
	char	*cause = NULL;

	*to = now - lag;
	if (since != NULL) {
		if (time_parse_option(since, now, from) == -1) {
			log_warnx("--since: bad time \"%s\" (RFC 3339 or a "
			    "duration, e.g. 2h)", since);
			return (-1);
		}
		return (0);
	}
	if (store_meta_get(p->st, key, &mark, &found, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	*from = found ? mark - overlap : now - PULL_FIRST_DEFAULT;
	return (0);
}

static int
pull_duration(const char *opt, const char *arg, int64_t *ns)
{
	if (duration_parse(arg, ns) == -1 || *ns < 0) {
		log_warnx("%s: bad duration \"%s\" (e.g. 2m, 10m)", opt, arg);
		return (-1);
	}
	return (0);
}

int
cmd_pull(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "project", required_argument, NULL, 'P' },
		{ "filter", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 'S' },
		{ "db", required_argument, NULL, 'd' },
		{ "api-url", required_argument, NULL, 'a' },
		{ "lag", required_argument, NULL, 'l' },
		{ "overlap", required_argument, NULL, 'o' },
		{ "token-file", required_argument, NULL, 'F' },
		{ "token-command", required_argument, NULL, 'C' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "patterns", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_input_opts	 io;
	struct pull		 p;
	struct pull_auth	 auth;
	struct catalogue	*cat;
	const char		*project = NULL, *user_filter = NULL;
	const char		*since = NULL, *db = NULL, *ca_file = NULL;
	const char		*api = PULL_API_DEFAULT;
	char			*cause = NULL, *key = NULL, *url = NULL;
	char			*filter = NULL, *name = NULL;
	char			 tfrom[64], tto[64];
	int64_t			 lag = PULL_LAG_DEFAULT;
	int64_t			 overlap = PULL_OVERLAP_DEFAULT, from, to;
	int			 ch, quiet = 0, rv = EXIT_ERROR;
	size_t			 n;

	memset(&io, 0, sizeof(io));
	memset(&p, 0, sizeof(p));
	memset(&auth, 0, sizeof(auth));
	p.max_ts = TIME_NONE;
	while ((ch = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'P':
			project = optarg;
			break;
		case 'f':
			user_filter = optarg;
			break;
		case 'S':
			since = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'a':
			api = optarg;
			break;
		case 'l':
			if (pull_duration("--lag", optarg, &lag) == -1)
				goto usage_error;
			break;
		case 'o':
			if (pull_duration("--overlap", optarg, &overlap) == -1)
				goto usage_error;
			break;
		case 'F':
			auth.file = optarg;
			break;
		case 'C':
			auth.command = optarg;
			break;
		case 'c':
			ca_file = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			pull_usage(stdout);
			cmd_input_opts_clear(&io);
			return (EXIT_OK);
		default:
			if (cmd_input_option(&io, ch, optarg))
				break;
			pull_usage(stderr);
			goto usage_error;
		}
	}
	if (optind != argc || project == NULL || *project == '\0') {
		log_warnx("pull: --project P is required and takes no other "
		    "arguments");
		goto usage_error;
	}
	p.ca_file = ca_file;
	srandom((unsigned)(time_now_ns() ^ getpid()));
	http_init();

	if ((cat = cmd_catalogue(io.pdirs, io.npdirs)) == NULL)
		goto usage_error;
	cmd_input_opts_clear(&io);
	db = cmd_db_path(db);
	if ((p.st = store_open(db, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		catalogue_free(cat);
		return (EXIT_ERROR);
	}
	if ((p.counter = counter_new(p.st, cat, 1, 400, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		goto out;
	}
	xasprintf(&name, "projects/%s", project);
	p.name = name;
	if (user_filter == NULL || *user_filter == '\0')
		user_filter = PULL_FILTER_DEFAULT;
	key = pull_mark_key(project, user_filter);
	if (pull_window(&p, since, key, lag, overlap, &from, &to) == -1)
		goto out;
	time_format(from, tfrom, sizeof(tfrom));
	time_format(to, tto, sizeof(tto));
	if (from >= to) {
		log_info("%s: nothing to read before %s", p.name, tto);
		rv = EXIT_OK;
		goto out;
	}
	xasprintf(&filter, "(%s) AND timestamp>=\"%s\" AND timestamp<\"%s\"",
	    user_filter, tfrom, tto);
	n = strlen(api);
	while (n > 0 && api[n - 1] == '/')
		n--;
	xasprintf(&url, "%.*s/v2/entries:list", (int)n, api);
	if (pull_auth_init(&auth) == -1)
		goto out;
	log_info("%s: reading %s to %s", p.name, tfrom, tto);
	rv = pull_run(&p, &auth, project, url, filter, key);
	if (!quiet && !p.failed)
		log_warnx("%s: %llu entries, %llu counted, %llu duplicates, "
		    "%llu too old, %llu bad, 0 lines skipped (api)", p.name,
		    (unsigned long long)p.prog.entries,
		    (unsigned long long)p.prog.counted,
		    (unsigned long long)p.prog.duplicates,
		    (unsigned long long)p.prog.too_old,
		    (unsigned long long)p.prog.bad);
out:
	auth_clear(&auth);
	free(p.next_token);
	free(url);
	free(filter);
	free(key);
	free(name);
	counter_free(p.counter);
	store_close(p.st);
	return (rv);
usage_error:
	cmd_input_opts_clear(&io);
	return (EXIT_ERROR);
}
