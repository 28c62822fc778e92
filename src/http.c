/*
 * HTTP through libcurl, one blocking request at a time (see http.h).  The
 * surprising part: a 2xx body streams to the caller as it arrives, while
 * a non-2xx body is kept (capped) for its error message -- libcurl knows
 * the status by the time the first body byte is written.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#include "http.h"
#include "redact.h"
#include "xmalloc.h"

#define HTTP_USER_AGENT	"logaudit/" PACKAGE_VERSION

struct http_xfer {
	CURL			*curl;
	const struct http_request *req;
	struct http_response	*res;
	size_t			 error_len;	/* bytes in res->error_body */
	size_t			 body_len;	/* bytes of a 2xx body so far */
	size_t			 body_max;	/* bytes: past it, abort */
	int			 stopped;	/* on_body returned -1 */
};

void
http_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
http_write(char *p, size_t size, size_t n, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 len = size * n, room;
	long			 status = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		if (len > x->body_max - x->body_len) {
			x->res->is_too_large = 1;
			return (0);	/* libcurl aborts the transfer */
		}
		x->body_len += len;
		if (x->req->on_body != NULL &&
		    x->req->on_body(p, len, x->req->arg) == -1) {
			x->stopped = 1;
			return (0);	/* libcurl aborts the transfer */
		}
		return (len);
	}
	if (x->res->error_body == NULL)
		x->res->error_body = xcalloc(1, HTTP_ERROR_BODY_MAX + 1);
	room = HTTP_ERROR_BODY_MAX - x->error_len;
	if (len < room)
		room = len;
	memcpy(x->res->error_body + x->error_len, p, room);
	x->error_len += room;
	return (len);
}

/* Abort the transfer once the caller's stop flag is set. */
static int
http_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_xfer	*x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (x->req->stop != NULL && *x->req->stop) {
		x->stopped = 1;
		return (1);
	}
	return (0);
}

int
http_request(const struct http_request *req, struct http_response *res,
    char **cause)
{
	struct http_xfer	 x;
	struct curl_slist	*hl = NULL, *t;
	char			 errbuf[CURL_ERROR_SIZE];
	CURLcode		 rc;
	size_t			 i;
	int			 rv = -1;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	x.req = req;
	x.res = res;
	x.body_max = req->body_max > 0 ? req->body_max : HTTP_BODY_MAX;
	if ((x.curl = curl_easy_init()) == NULL) {
		xasprintf(cause, "%s: cannot start libcurl", req->url);
		return (-1);
	}
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		if ((t = curl_slist_append(hl, req->headers[i])) == NULL) {
			xasprintf(cause, "%s: out of memory", req->url);
			goto out;
		}
		hl = t;
	}
	errbuf[0] = '\0';
	curl_easy_setopt(x.curl, CURLOPT_URL, req->url);
	curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(x.curl, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(x.curl, CURLOPT_CONNECTTIMEOUT,
	    (long)HTTP_CONNECT_TIMEOUT_SEC);
	curl_easy_setopt(x.curl, CURLOPT_TIMEOUT, req->timeout_sec > 0 ?
	    req->timeout_sec : (long)HTTP_TIMEOUT_SEC);
	curl_easy_setopt(x.curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x.curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL)
		curl_easy_setopt(x.curl, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(x.curl, CURLOPT_NOSIGNAL, 1L);
	/* never send the Authorization header to another host */
	curl_easy_setopt(x.curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(x.curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(x.curl, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(x.curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(x.curl, CURLOPT_WRITEDATA, &x);
	if (req->stop != NULL) {
		curl_easy_setopt(x.curl, CURLOPT_XFERINFOFUNCTION,
		    http_progress);
		curl_easy_setopt(x.curl, CURLOPT_XFERINFODATA, &x);
		curl_easy_setopt(x.curl, CURLOPT_NOPROGRESS, 0L);
	}
	if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(x.curl, CURLOPT_POST, 1L);
		curl_easy_setopt(x.curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->body_len);
		curl_easy_setopt(x.curl, CURLOPT_POSTFIELDS,
		    req->body != NULL ? req->body : "");
	}
	rc = curl_easy_perform(x.curl);
	curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &res->status);
	if (x.stopped) {
		xasprintf(cause, "%s: stopped", req->url);
		goto out;
	}
	if (res->is_too_large) {
		xasprintf(cause, "%s: the reply is larger than %zu bytes (%zu "
		    "MiB): not read", req->url, x.body_max, x.body_max >> 20);
		goto out;
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE) {
		res->is_tls_unverified = 1;
		xasprintf(cause, "%s: the server's TLS certificate could not "
		    "be verified: %s", req->url, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc));
		goto out;
	}
	if (rc != CURLE_OK) {
		xasprintf(cause, "%s: %s", req->url, errbuf[0] != '\0' ?
		    errbuf : curl_easy_strerror(rc));
		goto out;
	}
	rv = 0;
out:
	if (rv == -1)
		http_response_clear(res);
	curl_slist_free_all(hl);
	curl_easy_cleanup(x.curl);
	return (rv);
}

void
http_response_clear(struct http_response *res)
{
	if (res == NULL)
		return;
	free(res->error_body);
	res->error_body = NULL;
}

char *
http_api_error_message(const char *body, const char *secret)
{
	static const char	*path[] = { "error", "message", NULL };
	yajl_val		 root, v;
	char			*msg = NULL;

	if (body == NULL || (root = yajl_tree_parse(body, NULL, 0)) == NULL)
		return (NULL);
	if ((v = yajl_tree_get(root, path, yajl_t_string)) != NULL &&
	    YAJL_GET_STRING(v) != NULL)
		msg = redact_with(YAJL_GET_STRING(v), secret);
	yajl_tree_free(root);
	return (msg);
}
