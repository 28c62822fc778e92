/*
 * Stage 1: the Cloud Logging API (POST v2/entries:list) as a source of
 * entries.  Each response page streams through the entry reader (the
 * entries sit in a wrapped array) while a second small parser picks out
 * nextPageToken; each page is committed with the high-water mark of the
 * project and filter, so the next read resumes from it.  Entries reach
 * Cloud Logging late, so a window ends the lag before now and starts the
 * overlap before the mark: insertId dedup absorbs what is read twice.
 *
 * The one surprising part: an attempt cut short (a network error, a reply
 * cut off) has already counted the entries it parsed, into the store's
 * pending batch; the retry of the page finds them as duplicates, and the
 * page's commit writes them once.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "count.h"
#include "entry.h"
#include "http.h"
#include "log.h"
#include "redact.h"
#include "source_api.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define API_PAGE_SIZE		1000	/* entries a page, the API's most */
#define API_FIRST_DEFAULT	(3600LL * NS_PER_SEC)	/* no mark: last hour */
#define API_TRIES_MAX		10
#define API_BACKOFF_MS		1000	/* first wait; LOGAUDIT_BACKOFF_MS */
#define API_BACKOFF_CAP_MS	60000
#define API_TOKEN_MAX		4096	/* bytes of an access token */
#define API_PAGE_TOKEN_MAX	4096	/* bytes of a nextPageToken */
#define API_METADATA_BODY_MAX	(64 * 1024)
#define API_PAGE_BODY_MAX	HTTP_BODY_MAX	/* bytes of one page */
/*
 * When a token is fetched again before it expires: Google's access tokens
 * last an hour, so one whose lifetime is not known (--token-command
 * without a second line, a metadata reply without expires_in) is fetched
 * again at 50 minutes; one that says it lasts L seconds at L minus
 * min(60 s, L / 2).  A 401 fetches one at once whatever its age.
 */
#define API_TOKEN_REFRESH_SEC	3000
#define API_TOKEN_MARGIN_SEC	60
#define API_TOKEN_LIFETIME_MAX	(7LL * 86400)	/* seconds; longer is an
						   error of the source */
#define API_TOKEN_RETRY_SEC	10	/* after an early refresh failed */

enum api_auth_source {
	AUTH_FILE,
	AUTH_ENV,
	AUTH_COMMAND,
	AUTH_METADATA
};

struct api_auth {
	enum api_auth_source	 source;
	char			*file;		/* --token-file */
	char			*command;	/* --token-command */
	char			*token;		/* the current token, or NULL */
	int64_t			 refresh_ns;	/* wall clock, ns: fetch the
						   token again from then on;
						   0: only on a 401 */
	struct stat		 file_sb;	/* --token-file when last read:
						   read again once it changes */
};

/* How one attempt at one page ended. */
enum api_outcome {
	API_PAGE_OK,
	API_RETRY,
	API_TOO_LARGE,	/* page_size halved: ask again */
	API_FAIL,	/* see api_source->status */
};

struct api_source {
	char			*project;
	char			*name;		/* "projects/P" */
	char			*user_filter;	/* the query without bounds */
	char			*url;		/* .../v2/entries:list */
	char			*ca_file;	/* or NULL */
	char			*since;		/* or NULL; the first window */
	char			*key;		/* meta key of the mark */
	int64_t			 lag_ns;
	int64_t			 overlap_ns;
	volatile sig_atomic_t	*stop;
	void			(*report_problem)(const char *,
				    const struct entry_problem *, unsigned *);
	void			(*on_commit)(int, void *);
	void			*commit_arg;
	struct store		*st;
	struct counter		*counter;
	struct api_auth		 auth;

	/* the window of the next read */
	int			 has_window;
	char			*filter;	/* with the time bounds */
	char			 tfrom[64];
	char			 tto[64];

	/* the read under way */
	struct store_progress	*prog;		/* the caller's */
	struct store_progress	 committed;	/* *prog at the last commit */
	enum api_status		 status;	/* of an API_FAIL */
	int			 failed;	/* a database error happened */
	int64_t			 max_ts;	/* ns; TIME_NONE before any */
	unsigned		 problems_shown;

	/* the page being read */
	int			 page_size;	/* entries asked for: halved
						   after a page too large */
	struct entry_reader	*r;
	uint64_t		 page_bytes;
	int64_t			 page_start;	/* offset of its first
						   non-blank byte, or -1 */

	/* the page scanner: nextPageToken at depth 1 */
	yajl_handle		 scan;
	int			 depth;
	int			 at_token_key;
	char			*next_token;	/* NULL: the last page */
	int			 token_too_long;
};

static int
api_stopped(const struct api_source *src)
{
	return (src->stop != NULL && *src->stop);
}

/* ---- the access token ------------------------------------------------- */

/*
 * Check and keep the first line of s[0..len) as the token.  Returns 0, or
 * -1 with *cause (which never quotes the token).
 */
static int
auth_set(struct api_auth *a, const char *s, size_t len, const char *from,
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
	if (n > API_TOKEN_MAX) {
		xasprintf(cause, "%s: access token longer than %d bytes", from,
		    API_TOKEN_MAX);
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

/*
 * Schedule the next fetch of a token that lasts lifetime_sec seconds from
 * now (<= 0: not known): see API_TOKEN_REFRESH_SEC.
 */
static void
auth_expires_in(struct api_auth *a, int64_t lifetime_sec)
{
	int64_t	 life_ns, margin_ns;

	if (lifetime_sec <= 0) {
		a->refresh_ns = time_now_ns() +
		    API_TOKEN_REFRESH_SEC * NS_PER_SEC;
		return;
	}
	if (lifetime_sec > API_TOKEN_LIFETIME_MAX)
		lifetime_sec = API_TOKEN_LIFETIME_MAX;
	life_ns = lifetime_sec * NS_PER_SEC;
	margin_ns = API_TOKEN_MARGIN_SEC * NS_PER_SEC;
	if (margin_ns > life_ns / 2)
		margin_ns = life_ns / 2;
	a->refresh_ns = time_now_ns() + life_ns - margin_ns;
}

/*
 * The token's lifetime in seconds from the second line of s[0..len), the
 * command's output, when that line is a whole number; else 0.
 */
static int64_t
auth_second_line(const char *s, size_t len)
{
	const char	*p, *end = s + len;
	int64_t		 sec = 0;

	if ((p = memchr(s, '\n', len)) == NULL)
		return (0);
	for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	if (p == end || *p < '0' || *p > '9')
		return (0);
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		if ((sec = sec * 10 + (*p - '0')) > API_TOKEN_LIFETIME_MAX)
			sec = API_TOKEN_LIFETIME_MAX;
	for (; p < end && (*p == ' ' || *p == '\t' || *p == '\r'); p++)
		;
	return (p == end || *p == '\n' ? sec : 0);
}

static int
auth_from_file(struct api_auth *a, char **cause)
{
	FILE	*f;
	char	 buf[API_TOKEN_MAX + 2];
	size_t	 n;
	int	 rv;

	if ((f = fopen(a->file, "r")) == NULL) {
		xasprintf(cause, "--token-file %s: %s", a->file,
		    strerror(errno));
		return (-1);
	}
	/* kept even when the token is bad: a fixed file changes again */
	if (fstat(fileno(f), &a->file_sb) == -1)
		memset(&a->file_sb, 0, sizeof(a->file_sb));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rv = auth_set(a, buf, n, a->file, cause);
	explicit_bzero(buf, sizeof(buf));
	return (rv);
}

static int
auth_from_command(struct api_auth *a, char **cause)
{
	FILE	*f;
	char	 buf[API_TOKEN_MAX + 2];
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
	if ((rv = auth_set(a, buf, n, "--token-command", cause)) == 0)
		auth_expires_in(a, auth_second_line(buf, n));
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
auth_from_metadata(struct api_auth *a, char **cause)
{
	static const char	*path[] = { "access_token", NULL };
	static const char	*path_exp[] = { "expires_in", NULL };
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
	g.max = API_METADATA_BODY_MAX;
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
	if ((rv = auth_set(a, tok, strlen(tok), "metadata server",
	    cause)) == 0) {
		v = yajl_tree_get(root, path_exp, yajl_t_number);
		auth_expires_in(a, v != NULL && YAJL_IS_INTEGER(v) ?
		    YAJL_GET_INTEGER(v) : 0);
	}
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
auth_fetch(struct api_auth *a, char **cause)
{
	const char	*env;
	int		 rv = -1;

	a->refresh_ns = 0;
	switch (a->source) {
	case AUTH_FILE:
		rv = auth_from_file(a, cause);
		break;
	case AUTH_ENV:
		if ((env = getenv("LOGAUDIT_ACCESS_TOKEN")) == NULL)
			env = "";
		rv = auth_set(a, env, strlen(env), "LOGAUDIT_ACCESS_TOKEN",
		    cause);
		break;
	case AUTH_COMMAND:
		rv = auth_from_command(a, cause);
		break;
	case AUTH_METADATA:
		rv = auth_from_metadata(a, cause);
		break;
	}
	/* a failed fetch, early or after a 401, is tried again early */
	if (rv == -1 && a->source != AUTH_FILE)
		a->refresh_ns = time_now_ns() +
		    API_TOKEN_RETRY_SEC * NS_PER_SEC;
	return (rv);
}

/* Whether sb is the --token-file last read, unchanged. */
static int
auth_file_is_same(const struct api_auth *a, const struct stat *sb)
{
	const struct stat	*o = &a->file_sb;

	return (sb->st_dev == o->st_dev && sb->st_ino == o->st_ino &&
	    sb->st_size == o->st_size &&
	    sb->st_mtim.tv_sec == o->st_mtim.tv_sec &&
	    sb->st_mtim.tv_nsec == o->st_mtim.tv_nsec);
}

/*
 * Before each request: fetch the token again when its expiry is near, or
 * read --token-file again once the file has changed (replaced, rewritten).
 * When that fails the token in hand is kept, as it may still be good (a
 * 401 fetches once more); the failure is logged and tried again after
 * API_TOKEN_RETRY_SEC, or the file's next change.
 */
static void
auth_check(struct api_auth *a, const char *name)
{
	struct stat	 sb;
	char		*cause = NULL;
	const char	*why;

	if (a->source == AUTH_FILE) {
		if (stat(a->file, &sb) == -1 || auth_file_is_same(a, &sb))
			return;
		why = "--token-file changed";
	} else if (a->refresh_ns != 0 && time_now_ns() >= a->refresh_ns)
		why = "the access token is about to expire";
	else
		return;
	log_info("%s: %s, fetching it again", name, why);
	if (auth_fetch(a, &cause) == -1) {
		log_warnx("%s: %s, but a new one could not be had: %s; "
		    "going on with the old one", name, why, cause);
		free(cause);
	}
}

/*
 * Keep the token out of core files and from other processes of the user:
 * no core dump (RLIMIT_CORE 0) and, on Linux, not dumpable, which also
 * refuses ptrace and /proc/PID/mem and /proc/PID/environ to all but root.
 * A failure is logged, not fatal.
 */
static void
auth_protect_memory(void)
{
	struct rlimit	 rl;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		log_warnx("setrlimit RLIMIT_CORE: %s", strerror(errno));
#ifdef PR_SET_DUMPABLE
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warnx("prctl PR_SET_DUMPABLE: %s", strerror(errno));
#endif
}

static void
auth_clear(struct api_auth *a)
{
	if (a->token != NULL)
		explicit_bzero(a->token, strlen(a->token));
	free(a->token);
	a->token = NULL;
	free(a->file);
	free(a->command);
}

int
api_source_auth(struct api_source *src, char **cause)
{
	struct api_auth	*a = &src->auth;
	const char	*env = getenv("LOGAUDIT_ACCESS_TOKEN");

	if (a->file != NULL)
		a->source = AUTH_FILE;
	else if (env != NULL && *env != '\0')
		a->source = AUTH_ENV;
	else if (a->command != NULL)
		a->source = AUTH_COMMAND;
	else
		a->source = AUTH_METADATA;
	auth_protect_memory();
	return (auth_fetch(a, cause));
}

/* ---- one page ---------------------------------------------------------- */

/* The page scanner's callbacks: track depth, keep nextPageToken. */
static int
scan_value(void *arg)
{
	struct api_source	*src = arg;

	src->at_token_key = 0;
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
	struct api_source	*src = arg;

	if (src->at_token_key) {
		free(src->next_token);
		src->next_token = NULL;
		if (len > API_PAGE_TOKEN_MAX)
			src->token_too_long = 1;
		else
			src->next_token = xstrndup((const char *)s, len);
	}
	src->at_token_key = 0;
	return (1);
}

static int
scan_open(void *arg)
{
	struct api_source	*src = arg;

	src->at_token_key = 0;
	src->depth++;
	return (1);
}

static int
scan_close(void *arg)
{
	struct api_source	*src = arg;

	src->depth--;
	return (1);
}

static int
scan_key(void *arg, const unsigned char *s, size_t len)
{
	struct api_source	*src = arg;

	src->at_token_key = src->depth == 1 && len == 13 &&
	    memcmp(s, "nextPageToken", 13) == 0;
	return (1);
}

static const yajl_callbacks scan_callbacks = {
	scan_value, scan_bool, NULL, NULL, scan_number, scan_string,
	scan_open, scan_key, scan_close, scan_open, scan_close
};

static int
api_entry(const struct log_entry *e, void *arg)
{
	struct api_source	*src = arg;
	struct count_stats	 cs;
	char			*cause = NULL;

	memset(&cs, 0, sizeof(cs));
	if (counter_add(src->counter, e, &cs, &cause) == STORE_ERROR) {
		log_warnx("%s", cause);
		free(cause);
		src->failed = 1;
		return (-1);
	}
	src->prog->entries += cs.entries;
	src->prog->counted += cs.counted;
	src->prog->duplicates += cs.duplicates;
	src->prog->too_old += cs.too_old;
	if (e->timestamp_ns != TIME_NONE && e->timestamp_ns > src->max_ts)
		src->max_ts = e->timestamp_ns;
	return (0);
}

static void
api_problem(const struct entry_problem *pr, void *arg)
{
	struct api_source	*src = arg;

	/* a page without entries: the wrapper itself is no LogEntry */
	if (pr->kind == PROBLEM_NOT_AN_ENTRY &&
	    (int64_t)pr->offset == src->page_start)
		return;
	src->prog->bad++;
	if (src->report_problem != NULL)
		src->report_problem(src->name, pr, &src->problems_shown);
}

/* A 2xx body piece: to the entry reader and the page scanner. */
static int
api_body(const void *buf, size_t len, void *arg)
{
	struct api_source	*src = arg;
	const char		*s = buf;
	size_t			 i;

	for (i = 0; src->page_start == -1 && i < len; i++)
		if (strchr(" \t\r\n", s[i]) == NULL)
			src->page_start = (int64_t)(src->page_bytes + i);
	src->page_bytes += len;
	src->prog->bytes += len;
	if (entry_reader_feed(src->r, buf, len) == -1)
		return (-1);
	if (yajl_parse(src->scan, buf, len) != yajl_status_ok) {
		log_warnx("%s: the API's reply is not JSON", src->name);
		return (-1);
	}
	return (0);
}

/* The entries:list request body; caller frees. */
static char *
api_request_body(const char *project, const char *filter,
    const char *page_token, int page_size)
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
	yajl_gen_integer(g, page_size);
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

/* Sleep ms, waking early when stopped. */
static void
api_sleep_ms(const struct api_source *src, int64_t ms)
{
	struct timespec	 ts;

	while (ms > 0 && !api_stopped(src)) {
		ts.tv_sec = 0;
		ts.tv_nsec = (ms > 100 ? 100 : ms) * 1000000L;
		nanosleep(&ts, NULL);
		ms -= 100;
	}
}

/*
 * One attempt at one page.  API_RETRY sets *why (caller frees) for the
 * once-per-episode log line, API_TOO_LARGE (page_size halved) for its own;
 * API_FAIL sets src->status.
 */
static enum api_outcome
api_attempt(struct api_source *src, const char *body, int *refreshed,
    char **why)
{
	struct http_request	 req;
	struct http_response	 res;
	struct entry_reader_config cfg;
	const char		*headers[3];
	char			*authz, *cause = NULL, *msg;
	enum api_outcome	 o = API_FAIL;
	int			 rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.on_entry = api_entry;
	cfg.arg = src;
	cfg.on_problem = api_problem;
	cfg.problem_arg = src;
	src->r = entry_reader_new(&cfg);
	src->scan = yajl_alloc(&scan_callbacks, NULL, src);
	src->depth = src->at_token_key = src->token_too_long = 0;
	src->page_bytes = 0;
	src->page_start = -1;
	free(src->next_token);
	src->next_token = NULL;
	src->status = API_FAILED;

	auth_check(&src->auth, src->name);
	xasprintf(&authz, "Authorization: Bearer %s", src->auth.token);
	headers[0] = authz;
	headers[1] = "Content-Type: application/json";
	headers[2] = NULL;
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = src->url;
	req.headers = headers;
	req.body = body;
	req.body_len = strlen(body);
	req.on_body = api_body;
	req.arg = src;
	req.body_max = API_PAGE_BODY_MAX;
	req.ca_file = src->ca_file;
	req.stop = src->stop;
	rc = http_request(&req, &res, &cause);
	explicit_bzero(authz, strlen(authz));
	free(authz);
	if (rc == -1) {
		if (src->failed || api_stopped(src)) {
			free(cause);
			goto out;
		}
		msg = redact_with(cause, src->auth.token);
		free(cause);
		if (res.is_tls_unverified) {
			/* another try meets the same certificate */
			log_warnx("%s: %s (--ca-file names the CA "
			    "certificates of a private endpoint)", src->name,
			    msg);
			src->status = API_REFUSED;
			free(msg);
		} else if (res.is_too_large && src->page_size > 1) {
			/*
			 * Entries of up to 256 KB make a page of 1000 far
			 * larger than the cap: ask for fewer, at once (the
			 * entries read so far are met again and deduplicated).
			 */
			src->page_size /= 2;
			*why = msg;
			o = API_TOO_LARGE;
		} else if (res.is_too_large) {
			log_warnx("%s: %s", src->name, msg);
			free(msg);
		} else {
			*why = msg;
			o = API_RETRY;
		}
		goto out;
	}
	msg = http_api_error_message(res.error_body, src->auth.token);
	switch (res.status) {
	case 200:
		if (yajl_complete_parse(src->scan) != yajl_status_ok) {
			xasprintf(why, "%s: a reply cut short", src->name);
			o = API_RETRY;
			break;
		}
		(void)entry_reader_finish(src->r);
		if (src->token_too_long)
			log_warnx("%s: nextPageToken longer than %d bytes",
			    src->name, API_PAGE_TOKEN_MAX);
		else
			o = API_PAGE_OK;
		break;
	case 400:
		log_warnx("%s: the API refused the request (HTTP 400): %s",
		    src->name, msg != NULL ? msg : "no message");
		src->status = API_REFUSED;
		break;
	case 401:
		if (*refreshed) {
			log_warnx("%s: the access token was refused (HTTP 401) "
			    "again after a refresh: %s", src->name,
			    msg != NULL ? msg : "no message");
			src->status = API_REFUSED;
			break;
		}
		*refreshed = 1;
		log_info("%s: HTTP 401, refreshing the access token",
		    src->name);
		if (auth_fetch(&src->auth, &cause) == -1) {
			log_warnx("%s: the access token was refused (HTTP 401)"
			    " and could not be refreshed: %s", src->name,
			    cause);
			free(cause);
			break;
		}
		o = API_RETRY;
		break;
	case 403:
		log_warnx("%s: permission denied (HTTP 403): the account needs "
		    "roles/logging.viewer on the project: %s", src->name,
		    msg != NULL ? msg : "no message");
		src->status = API_REFUSED;
		break;
	case 429:
		xasprintf(why, "%s: HTTP 429, over the read quota (about 60 "
		    "requests a minute per project)", src->name);
		o = API_RETRY;
		break;
	default:
		if (res.status >= 500) {
			xasprintf(why, "%s: HTTP %ld: %s", src->name,
			    res.status, msg != NULL ? msg : "no message");
			o = API_RETRY;
		} else {
			log_warnx("%s: HTTP %ld: %s", src->name, res.status,
			    msg != NULL ? msg : "no message");
			if (res.status >= 400)
				src->status = API_REFUSED;
		}
		break;
	}
	free(msg);
	http_response_clear(&res);
out:
	if (src->failed)
		src->status = API_STORE;
	entry_reader_free(src->r);
	src->r = NULL;
	yajl_free(src->scan);
	src->scan = NULL;
	return (o);
}

/*
 * Fetch the page of token (NULL: the first), retrying 429, 5xx and network
 * errors with backoff (logged once per episode), a 401 once after a token
 * refresh, and a page too large at once with half as many entries.
 * Returns 0, 1 when the read must start again from the first page (a page
 * token's page too large), or -1 (said why, src->status set).
 */
static int
api_page(struct api_source *src, const char *token)
{
	enum api_outcome	 o;
	char			*why = NULL, *body;
	int			 tries = 0, refreshed = 0, episode = 0;

	for (;;) {
		/* again each time: a page too large asks for fewer entries */
		body = api_request_body(src->project, src->filter, token,
		    src->page_size);
		o = api_attempt(src, body, &refreshed, &why);
		free(body);
		if (o == API_TOO_LARGE) {
			/* a page token holds the page size it was made
			 * with: a smaller one starts from the first page */
			log_warnx("%s: %s; asking for %d entries a page%s",
			    src->name, why, src->page_size, token != NULL ?
			    ", from the first page again" : "");
			free(why);
			why = NULL;
			if (token != NULL)
				return (1);
			continue;
		}
		if (o == API_PAGE_OK) {
			if (episode)
				log_warnx("%s: recovered after %d retries",
				    src->name, tries);
			return (0);
		}
		if (o == API_FAIL || api_stopped(src))
			break;
		if (why == NULL)	/* a token refresh: retry at once */
			continue;
		if (++tries >= API_TRIES_MAX) {
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
		api_sleep_ms(src, backoff_ms(tries - 1, API_BACKOFF_MS,
		    API_BACKOFF_CAP_MS));
	}
	free(why);
	if (src->failed)
		src->status = API_STORE;
	else if (o != API_FAIL)
		src->status = API_FAILED;
	return (-1);
}

/* Commit what was counted with the mark; 0 or -1 (said why). */
static int
api_commit(struct api_source *src)
{
	struct store_progress	*p = src->prog;
	char			*cause = NULL;
	int			 rv = 0;

	if (src->max_ts != TIME_NONE)
		store_meta_stage(src->st, src->key, src->max_ts);
	if (store_commit(src->st, p, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		src->failed = 1;
		/* the batch is gone: its entries will be read again */
		p->entries = src->committed.entries;
		p->counted = src->committed.counted;
		p->duplicates = src->committed.duplicates;
		p->too_old = src->committed.too_old;
		p->bad = src->committed.bad;
		rv = -1;
	} else
		src->committed = *p;
	if (src->on_commit != NULL)
		src->on_commit(rv == 0, src->commit_arg);
	return (rv);
}

/* ---- the source -------------------------------------------------------- */

/* The meta key of the high-water mark of project and filter. */
static char *
api_mark_key(const char *project, const char *filter)
{
	char		*s, *key;
	uint64_t	 h;

	xasprintf(&s, "%s\n%s", project, filter);
	h = hash64(s, strlen(s), 0);
	free(s);
	xasprintf(&key, "pull_mark:%016llx", (unsigned long long)h);
	return (key);
}

struct api_source *
api_source_new(const struct api_config *cfg, struct store *st,
    struct counter *counter)
{
	struct api_source	*src;
	const char		*api, *filter;
	size_t			 n;

	src = xcalloc(1, sizeof(*src));
	src->project = xstrdup(cfg->project);
	xasprintf(&src->name, "projects/%s", cfg->project);
	filter = cfg->filter;
	if (filter == NULL || *filter == '\0')
		filter = API_FILTER_DEFAULT;
	src->user_filter = xstrdup(filter);
	api = cfg->api_url != NULL ? cfg->api_url : API_URL_DEFAULT;
	n = strlen(api);
	while (n > 0 && api[n - 1] == '/')
		n--;
	xasprintf(&src->url, "%.*s/v2/entries:list", (int)n, api);
	if (cfg->ca_file != NULL)
		src->ca_file = xstrdup(cfg->ca_file);
	if (cfg->since != NULL)
		src->since = xstrdup(cfg->since);
	if (cfg->token_file != NULL)
		src->auth.file = xstrdup(cfg->token_file);
	if (cfg->token_command != NULL)
		src->auth.command = xstrdup(cfg->token_command);
	src->key = api_mark_key(cfg->project, src->user_filter);
	src->lag_ns = cfg->lag_ns;
	src->page_size = API_PAGE_SIZE;
	src->overlap_ns = cfg->overlap_ns;
	src->stop = cfg->stop;
	src->report_problem = cfg->report_problem;
	src->on_commit = cfg->on_commit;
	src->commit_arg = cfg->commit_arg;
	src->st = st;
	src->counter = counter;
	src->max_ts = TIME_NONE;
	return (src);
}

void
api_source_free(struct api_source *src)
{
	if (src == NULL)
		return;
	auth_clear(&src->auth);
	free(src->project);
	free(src->name);
	free(src->user_filter);
	free(src->url);
	free(src->ca_file);
	free(src->since);
	free(src->key);
	free(src->filter);
	free(src->next_token);
	free(src);
}

const char *
api_source_name(const struct api_source *src)
{
	return (src->name);
}

int
api_source_window(struct api_source *src)
{
	int64_t	 now = time_now_ns(), from, to, mark;
	int	 found;
	char	*cause = NULL;

	to = now - src->lag_ns;
	if (src->since != NULL) {
		if (time_parse_option(src->since, now, &from) == -1) {
			log_warnx("--since: bad time \"%s\" (RFC 3339 or a "
			    "duration, e.g. 2h)", src->since);
			return (-1);
		}
		/* the first window only: later ones follow the mark */
		free(src->since);
		src->since = NULL;
	} else {
		if (store_meta_get(src->st, src->key, &mark, &found,
		    &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
			return (-1);
		}
		from = found ? mark - src->overlap_ns :
		    now - API_FIRST_DEFAULT;
	}
	time_format(from, src->tfrom, sizeof(src->tfrom));
	time_format(to, src->tto, sizeof(src->tto));
	free(src->filter);
	src->filter = NULL;
	src->has_window = 0;
	if (from >= to) {
		log_info("%s: nothing to read before %s", src->name, src->tto);
		return (0);
	}
	xasprintf(&src->filter, "(%s) AND timestamp>=\"%s\" AND "
	    "timestamp<\"%s\"", src->user_filter, src->tfrom, src->tto);
	src->has_window = 1;
	return (1);
}

enum api_status
api_source_read(struct api_source *src, struct store_progress *prog)
{
	char		*token = NULL, *cause = NULL;
	int		 pages = 0, rv, rc;
	uint64_t	 bytes = prog->bytes;
	enum api_status	 status = API_OK;

	if (!src->has_window) {
		if ((rv = api_source_window(src)) == -1)
			return (API_STORE);
		if (rv == 0)
			return (API_OK);
	}
	src->has_window = 0;
	if (src->auth.token == NULL &&
	    api_source_auth(src, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (API_FAILED);
	}
	src->prog = prog;
	src->committed = *prog;
	src->failed = 0;
	src->max_ts = TIME_NONE;
	log_info("%s: reading %s to %s", src->name, src->tfrom, src->tto);
	/* each read starts with full pages: large entries may have passed */
	src->page_size = API_PAGE_SIZE;
	for (;;) {
		rc = api_page(src, token);
		free(token);
		token = NULL;
		if (rc == -1) {
			status = src->status;
			break;
		}
		if (rc == 1)	/* what was counted is met again, deduplicated */
			continue;
		pages++;
		token = src->next_token;
		src->next_token = NULL;
		if (api_commit(src) == -1) {
			status = API_STORE;
			break;
		}
		if (token == NULL || api_stopped(src))
			break;
	}
	free(token);
	if (status == API_OK && api_stopped(src))
		status = API_FAILED;
	log_info("%s: %d pages, %llu bytes", src->name, pages,
	    (unsigned long long)(prog->bytes - bytes));
	src->prog = NULL;
	return (status);
}
