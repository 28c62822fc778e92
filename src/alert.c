/*
 * Webhook alerts (see alert.h): the targets file, the payloads, and the
 * alerter that works through the store's queue.
 *
 * The one rule that shapes this file: a URL is a secret.  It is read into
 * memory, handed to libcurl, and otherwise only ever used to redact
 * messages; errors about a target name the target, and libcurl's messages
 * go through redact_with() before they are logged or stored.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#include "alert.h"
#include "http.h"
#include "log.h"
#include "redact.h"
#include "report.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define ALERT_FILE_MAX		(64 * 1024)	/* bytes of a targets file */
#define ALERT_NAME_MAX		64
#define ALERT_URL_MAX		4096
#define ALERT_DUE_BATCH		100	/* alerts read from the queue at once */
#define ALERT_ERROR_SHOWN	200	/* bytes of a refusal's body kept */
#define ALERT_TICK_MS		1000	/* the thread looks this often */

/*
 * One target's deliveries: its own thread and database connection, so a
 * slow or dead target (10 s a request) holds up no other.
 */
struct alert_worker {
	struct alerter		*a;
	const struct alert_target *tg;
	struct store		*st;
	char			*names_json;	/* ["its name"] */
	int			 failing;	/* in a failure episode: said */
	pthread_t		 thread;
	int			 kicked;	/* under a->mu */
};

struct alerter {
	const struct alert_targets *t;
	struct store		*st;		/* the queue as a whole */
	char			*ca_file;
	struct alert_worker	*w;		/* one per target */
	int			 orphans_told;

	int			 running;	/* the threads */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	volatile sig_atomic_t	 stop;		/* the threads' */
};

/* ---- targets ---------------------------------------------------------- */

static int
name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > ALERT_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) == NULL)
			return (0);
	return (1);
}

/* Split s at blanks into at most max words; returns the count, max+1 when
 * there are more. */
static size_t
words(char *s, char **w, size_t max)
{
	size_t	n = 0;

	for (;;) {
		s += strspn(s, " \t\r");
		if (*s == '\0')
			return (n);
		if (n == max)
			return (max + 1);
		w[n++] = s;
		s += strcspn(s, " \t\r");
		if (*s != '\0')
			*s++ = '\0';
	}
}

/* One "name url [format]" line; where names it in messages. */
static int
target_parse(struct alert_targets *t, char *line, const char *where,
    char **cause)
{
	struct alert_target	*tg;
	char			*w[3];
	size_t			 n, i;

	line += strspn(line, " \t\r");
	if (*line == '\0' || *line == '#')
		return (0);
	if ((n = words(line, w, 3)) < 2 || n > 3) {
		xasprintf(cause, "%s: expected \"name url [slack|json]\"",
		    where);
		return (-1);
	}
	if (!name_ok(w[0], strlen(w[0]))) {
		xasprintf(cause, "%s: a target name is 1 to %d letters, digits "
		    "and _ . -", where, ALERT_NAME_MAX);
		return (-1);
	}
	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, w[0]) == 0) {
			xasprintf(cause, "%s: target %s named twice", where,
			    w[0]);
			return (-1);
		}
	if ((strncasecmp(w[1], "https://", 8) != 0 &&
	    strncasecmp(w[1], "http://", 7) != 0) ||
	    strlen(w[1]) > ALERT_URL_MAX) {
		/* never quote it: it may be a secret in the wrong column */
		xasprintf(cause, "%s: target %s: the URL must start with "
		    "https:// or http:// (and be at most %d bytes)", where,
		    w[0], ALERT_URL_MAX);
		return (-1);
	}
	if (n == 3 && strcmp(w[2], "slack") != 0 && strcmp(w[2], "json") != 0) {
		xasprintf(cause, "%s: target %s: format slack or json, not "
		    "\"%.32s\"", where, w[0], w[2]);
		return (-1);
	}
	if (t->n == ALERT_TARGETS_MAX) {
		xasprintf(cause, "%s: more than %d targets", where,
		    ALERT_TARGETS_MAX);
		return (-1);
	}
	t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
	tg = &t->v[t->n++];
	tg->name = xstrdup(w[0]);
	tg->url = xstrdup(w[1]);
	if (n == 3)
		tg->format = strcmp(w[2], "slack") == 0 ? ALERT_SLACK :
		    ALERT_JSON;
	else	/* Slack's own URLs want Slack's payload */
		tg->format = strcasestr(w[1], "://hooks.slack.com/") != NULL ?
		    ALERT_SLACK : ALERT_JSON;
	return (0);
}

/* Parse text (NUL-terminated, modified): lines split at seps. */
static int
targets_parse(struct alert_targets *t, char *text, const char *seps,
    const char *from, char **cause)
{
	char	*line, *where;
	size_t	 lineno = 0;
	int	 rv = 0;

	while (rv == 0 && (line = strsep(&text, seps)) != NULL) {
		lineno++;
		xasprintf(&where, "%s:%zu", from, lineno);
		rv = target_parse(t, line, where, cause);
		free(where);
	}
	return (rv);
}

static char *
read_small_file(const char *path, char **cause)
{
	struct stat	 sb;
	FILE		*f;
	char		*buf;
	size_t		 n;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	/* group-readable is how a service user's group gets it: fine */
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 004) != 0)
		log_warnx("%s: readable by everyone, and webhook URLs are "
		    "secrets: chmod o-r it", path);
	buf = xmalloc(ALERT_FILE_MAX + 1);
	n = fread(buf, 1, ALERT_FILE_MAX + 1, f);
	if (ferror(f) || n > ALERT_FILE_MAX) {
		xasprintf(cause, "%s: %s", path, ferror(f) ? strerror(errno) :
		    "larger than 64 KiB");
		fclose(f);
		free(buf);
		return (NULL);
	}
	fclose(f);
	buf[n] = '\0';
	return (buf);
}

int
alert_targets_load(const char *file, struct alert_targets **out,
    char **cause)
{
	struct alert_targets	*t;
	yajl_gen		 g;
	const unsigned char	*buf;
	const char		*env;
	char			*text;
	size_t			 i, len;
	int			 rv;

	*out = NULL;
	if (file != NULL) {
		if ((text = read_small_file(file, cause)) == NULL)
			return (-1);
	} else if ((env = getenv("LOGAUDIT_WEBHOOKS")) != NULL && *env != '\0')
		text = xstrdup(env);
	else
		return (0);
	t = xcalloc(1, sizeof(*t));
	rv = targets_parse(t, text, file != NULL ? "\n" : "\n;",
	    file != NULL ? file : "LOGAUDIT_WEBHOOKS", cause);
	explicit_bzero(text, strlen(text));
	free(text);
	if (rv == -1 || t->n == 0) {
		alert_targets_free(t);
		return (rv);
	}
	t->names = xcalloc(t->n, sizeof(*t->names));
	g = report_json_new(0);
	yajl_gen_array_open(g);
	for (i = 0; i < t->n; i++) {
		t->names[i] = t->v[i].name;
		rj_cstr(g, t->v[i].name);
	}
	yajl_gen_array_close(g);
	yajl_gen_get_buf(g, &buf, &len);
	t->names_json = xstrndup((const char *)buf, len);
	yajl_gen_free(g);
	*out = t;
	return (0);
}

void
alert_targets_free(struct alert_targets *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].name);
		explicit_bzero(t->v[i].url, strlen(t->v[i].url));
		free(t->v[i].url);
	}
	free(t->v);
	free(t->names);
	free(t->names_json);
	free(t);
}

/* ---- payloads --------------------------------------------------------- */

/* Append s[0..len) to *d escaped for Slack mrkdwn (&, <, >). */
static void
slack_escape(char **d, size_t *dlen, const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		const char	*rep = NULL;

		if (s[i] == '&')
			rep = "&amp;";
		else if (s[i] == '<')
			rep = "&lt;";
		else if (s[i] == '>')
			rep = "&gt;";
		*d = xreallocarray(*d, 1, *dlen + 6);
		if (rep != NULL) {
			memcpy(*d + *dlen, rep, strlen(rep));
			*dlen += strlen(rep);
		} else
			(*d)[(*dlen)++] = s[i];
	}
	(*d)[*dlen] = '\0';
}

static char *
slack_text(const struct store_finding_row *f, int acknowledged)
{
	char	*head, *d = NULL;
	size_t	 dlen = 0, n;

	xasprintf(&head, "logaudit: *%s* %s `%s` (%s) in service *%s*, "
	    "revision `%s` (project %s, location %s)%s: %llu so far.\n>",
	    f->class, strcmp(f->kind, "template") == 0 ? "template" :
	    "pattern", f->pattern, f->level, f->service, f->revision,
	    f->project, f->location, acknowledged ? ", acknowledged" : "",
	    (unsigned long long)f->count);
	slack_escape(&d, &dlen, head, strlen(head));
	free(head);
	/* the sample's first line, cut on a UTF-8 character boundary */
	n = strcspn(f->sample, "\r\n");
	if (n > ALERT_SAMPLE_SHOWN) {
		n = ALERT_SAMPLE_SHOWN;
		while (n > 0 && ((unsigned char)f->sample[n] & 0xC0) == 0x80)
			n--;
	}
	slack_escape(&d, &dlen, f->sample, n);
	if (f->sample[n] != '\0')
		slack_escape(&d, &dlen, "...", 3);
	return (d);
}

char *
alert_payload(enum alert_format format, const struct store_finding_row *f,
    int acknowledged)
{
	yajl_gen		 g = report_json_new(0);
	const unsigned char	*buf;
	char			*text, *s;
	size_t			 len;

	yajl_gen_map_open(g);
	if (format == ALERT_SLACK) {
		text = slack_text(f, acknowledged);
		rj_key_cstr(g, "text", text);
		free(text);
	} else {
		rj_key_int(g, "schema_version", 1);
		rj_finding_fields(g, f, acknowledged);
	}
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &buf, &len);
	s = xstrndup((const char *)buf, len);
	yajl_gen_free(g);
	return (s);
}

/* ---- delivery --------------------------------------------------------- */

struct alerter *
alerter_new(const char *db, const struct alert_targets *t,
    const char *ca_file, char **cause)
{
	struct alerter		*a;
	struct alert_worker	*w;
	yajl_gen		 g;
	const unsigned char	*buf;
	size_t			 i, len;

	a = xcalloc(1, sizeof(*a));
	a->t = t;
	a->w = xcalloc(t->n, sizeof(*a->w));
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if ((a->st = store_open(db, cause)) == NULL)
		goto fail;
	for (i = 0; i < t->n; i++) {
		w = &a->w[i];
		w->a = a;
		w->tg = &t->v[i];
		if ((w->st = store_open(db, cause)) == NULL)
			goto fail;
		g = report_json_new(0);
		yajl_gen_array_open(g);
		rj_cstr(g, w->tg->name);
		yajl_gen_array_close(g);
		yajl_gen_get_buf(g, &buf, &len);
		w->names_json = xstrndup((const char *)buf, len);
		yajl_gen_free(g);
	}
	a->ca_file = ca_file != NULL ? xstrdup(ca_file) : NULL;
	srandom((unsigned)(time_now_ns() ^ getpid()));	/* the jitter */
	return (a);
fail:
	alerter_free(a);
	return (NULL);
}

void
alerter_free(struct alerter *a)
{
	size_t	i;

	if (a == NULL)
		return;
	alerter_stop(a);
	for (i = 0; i < a->t->n; i++) {
		store_close(a->w[i].st);
		free(a->w[i].names_json);
	}
	free(a->w);
	store_close(a->st);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a->ca_file);
	free(a);
}

static void
orphan(const char *target, uint64_t pending, void *arg)
{
	(void)arg;
	log_warnx("webhook %s: %llu alert%s queued for it, but it is no "
	    "longer configured: they wait until it is", target,
	    (unsigned long long)pending, pending == 1 ? "" : "s");
}

enum attempt {
	ATTEMPT_SENT,
	ATTEMPT_RETRY,
	ATTEMPT_REFUSED
};

/* POST one alert; *why (caller frees, redacted) when not sent. */
static enum attempt
worker_post(struct alert_worker *w, const char *body,
    volatile sig_atomic_t *stop, char **why)
{
	static const char	*headers[] = {
		"Content-Type: application/json", NULL
	};
	struct http_request	 req;
	struct http_response	 res;
	char			*cause = NULL, *raw;
	enum attempt		 o;

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = w->tg->url;
	req.headers = headers;
	req.body = body;
	req.body_len = strlen(body);
	req.ca_file = w->a->ca_file;
	req.stop = stop;
	req.timeout_sec = ALERT_TIMEOUT_SEC;
	if (http_request(&req, &res, &cause) == -1) {
		*why = redact_with(cause, w->tg->url);
		free(cause);
		return (ATTEMPT_RETRY);
	}
	if (res.status >= 200 && res.status < 300)
		o = ATTEMPT_SENT;
	else {
		o = res.status == 429 || res.status == 408 ||
		    res.status >= 500 ? ATTEMPT_RETRY : ATTEMPT_REFUSED;
		xasprintf(&raw, "HTTP %ld%s%.*s", res.status,
		    res.error_body != NULL && *res.error_body != '\0' ?
		    ": " : "", ALERT_ERROR_SHOWN, res.error_body != NULL ?
		    res.error_body : "");
		raw[strcspn(raw, "\r\n")] = '\0';
		*why = redact_with(raw, w->tg->url);
		free(raw);
	}
	http_response_clear(&res);
	return (o);
}

/* Try alert al once and record the outcome; -1 on a store error. */
static int
worker_try(struct alert_worker *w, const struct store_alert *al,
    volatile sig_atomic_t *stop, int *sent)
{
	const struct alert_target	*tg = w->tg;
	enum attempt			 o;
	char				*body, *why = NULL, *cause = NULL;
	const char			*state;
	int64_t				 next = 0;
	int				 acked, tries = al->attempts + 1, rv;

	if ((acked = store_acked(w->st, al->f.project, al->f.location,
	    al->f.service, al->f.revision, al->f.pattern, NULL, &cause)) == -1)
		goto fail;
	if (acked) {
		/* acknowledged while it waited: nobody needs telling */
		if (store_alert_update(w->st, al->id, "skipped", al->attempts,
		    0, "acknowledged before it was sent", &cause) == -1)
			goto fail;
		return (0);
	}
	body = alert_payload(tg->format, &al->f, 0);
	o = worker_post(w, body, stop, &why);
	free(body);
	if (o == ATTEMPT_RETRY && stop != NULL && *stop) {
		free(why);
		return (0);	/* aborted by us: not the target's fault */
	}
	switch (o) {
	case ATTEMPT_SENT:
		state = "sent";
		(*sent)++;
		if (w->failing)
			log_warnx("webhook %s: delivering again", tg->name);
		w->failing = 0;
		log_info("webhook %s: sent %s %s in %s revision %s", tg->name,
		    al->f.class, al->f.pattern, al->f.service, al->f.revision);
		break;
	case ATTEMPT_RETRY:
		if (tries >= ALERT_TRIES_MAX) {
			state = "failed";
			log_warnx("webhook %s: %s; giving up on %s %s in %s "
			    "after %d tries", tg->name, why, al->f.class,
			    al->f.pattern, al->f.revision, tries);
			break;
		}
		state = "pending";
		next = time_now_ns() + backoff_ms(tries - 1,
		    ALERT_BACKOFF_MS, ALERT_BACKOFF_CAP_MS) * 1000000LL;
		if (!w->failing)
			log_warnx("webhook %s: %s; retrying with backoff",
			    tg->name, why);
		w->failing = 1;
		break;
	default:
		state = "failed";
		log_warnx("webhook %s: refused %s %s in %s (%s); not retried",
		    tg->name, al->f.class, al->f.pattern, al->f.revision, why);
		break;
	}
	rv = store_alert_update(w->st, al->id, state, tries, next, why,
	    &cause);
	free(why);
	if (rv == -1)
		goto fail;
	return (0);
fail:
	log_warnx("alerts: %s", cause);
	free(cause);
	return (-1);
}

/* One attempt at each of the target's alerts due now. */
static int
worker_deliver(struct alert_worker *w, volatile sig_atomic_t *stop)
{
	struct store_alert	*v;
	char			*cause = NULL;
	size_t			 n, i;
	int			 sent = 0;

	do {
		if (store_alerts_due(w->st, time_now_ns(), w->names_json,
		    ALERT_DUE_BATCH, &v, &n, &cause) == -1) {
			log_warnx("alerts: %s", cause);
			free(cause);
			return (-1);
		}
		for (i = 0; i < n && (stop == NULL || !*stop); i++)
			if (worker_try(w, &v[i], stop, &sent) == -1)
				break;
		store_alerts_free(v, n);
		if (i < n)
			return (stop != NULL && *stop ? sent : -1);
	} while (n == ALERT_DUE_BATCH);
	return (sent);
}

/* Say once which queued alerts no configured target will take. */
static int
alerter_orphans(struct alerter *a)
{
	char	*cause = NULL;

	if (a->orphans_told)
		return (0);
	a->orphans_told = 1;
	if (store_alert_orphans(a->st, a->t->names_json, orphan, NULL,
	    &cause) == -1) {
		log_warnx("alerts: %s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

int
alerter_deliver(struct alerter *a, volatile sig_atomic_t *stop)
{
	size_t	i;
	int	n, sent = 0, rv = 0;

	if (alerter_orphans(a) == -1)
		return (-1);
	for (i = 0; i < a->t->n && (stop == NULL || !*stop); i++) {
		if ((n = worker_deliver(&a->w[i], stop)) == -1)
			rv = -1;
		else
			sent += n;
	}
	return (rv == -1 ? -1 : sent);
}

int
alerter_flush(struct alerter *a, int64_t budget_ns,
    volatile sig_atomic_t *stop)
{
	struct timespec	 ts;
	int64_t		 deadline = time_now_ns() + budget_ns, next;
	char		*cause = NULL;
	int		 n, sent = 0, found;

	for (;;) {
		if ((n = alerter_deliver(a, stop)) == -1)
			return (-1);
		sent += n;
		if (stop != NULL && *stop)
			return (sent);
		if (store_alert_next(a->st, a->t->names_json, &next, &found,
		    &cause) == -1) {
			log_warnx("alerts: %s", cause);
			free(cause);
			return (-1);
		}
		if (!found || next > deadline)
			return (sent);
		while (time_now_ns() < next && (stop == NULL || !*stop)) {
			ts.tv_sec = 0;
			ts.tv_nsec = 100 * 1000000L;
			nanosleep(&ts, NULL);
		}
	}
}

static void *
worker_main(void *arg)
{
	struct alert_worker	*w = arg;
	struct alerter		*a = w->a;
	struct timespec		 ts;

	for (;;) {
		(void)worker_deliver(w, &a->stop);
		pthread_mutex_lock(&a->mu);
		if (!w->kicked && !a->stop) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += ALERT_TICK_MS / 1000;
			(void)pthread_cond_timedwait(&a->cv, &a->mu, &ts);
		}
		w->kicked = 0;
		if (a->stop) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		pthread_mutex_unlock(&a->mu);
	}
	return (NULL);
}

int
alerter_start(struct alerter *a, char **cause)
{
	sigset_t	all, old;
	size_t		i;
	int		err = 0;

	if (alerter_orphans(a) == -1) {
		xasprintf(cause, "alerts: cannot read the queue");
		return (-1);
	}
	/* signals are the main thread's: its poll() must see them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < a->t->n && err == 0; i++)
		if ((err = pthread_create(&a->w[i].thread, NULL, worker_main,
		    &a->w[i])) == 0)
			a->running++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		alerter_stop(a);
		xasprintf(cause, "starting the alert threads: %s",
		    strerror(err));
		return (-1);
	}
	return (0);
}

void
alerter_kick(struct alerter *a)
{
	size_t	i;

	if (a == NULL || a->running == 0)
		return;
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->t->n; i++)
		a->w[i].kicked = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

void
alerter_stop(struct alerter *a)
{
	int	i;

	if (a == NULL || a->running == 0)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	/* threads were started in order: the first a->running of them */
	for (i = 0; i < a->running; i++)
		pthread_join(a->w[i].thread, NULL);
	a->running = 0;
}
