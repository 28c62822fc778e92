/*
 * Stage 1 and 7 plumbing: one HTTP request at a time through libcurl --
 * the only module that includes curl/curl.h.  TLS peers are always
 * verified (there is no switch to turn it off), the connect and total
 * times are bounded, and a 2xx response body is handed to a callback in
 * the chunks libcurl reads, so memory stays bounded whatever its size;
 * its total is capped all the same (HTTP_BODY_MAX, or the request's
 * body_max), so a server cannot keep a reader busy for ever.  A non-2xx
 * body is kept, capped, for its error message.  Nothing here
 * logs a header: callers pass secrets in headers and redact what they
 * print with redact_with() (redact.h).
 */
#ifndef HTTP_H
#define HTTP_H

#include <signal.h>
#include <stddef.h>

#define HTTP_CONNECT_TIMEOUT_SEC	10
#define HTTP_TIMEOUT_SEC		60
#define HTTP_ERROR_BODY_MAX		(64 * 1024)	/* bytes kept of a
							   non-2xx body */
/*
 * Bytes of a 2xx body past which the transfer is aborted.  An
 * entries:list page of 1000 Cloud Run entries is a few MiB; 64 MiB means
 * entries of 64 KiB on average, or a server that does not stop.
 */
#define HTTP_BODY_MAX			(64 * 1024 * 1024)

/*
 * Called with each piece of a 2xx body; the bytes die when it returns.
 * Return 0 to go on, -1 to abort the transfer (http_request() then
 * returns -1 with cause "stopped").
 */
typedef int	(*http_body_cb)(const void *buf, size_t len, void *arg);

struct http_request {
	const char		*method;	/* "GET" or "POST" */
	const char		*url;
	const char *const	*headers;	/* "Name: value", NULL-ended;
						   may be NULL */
	const void		*body;		/* POST body, may be NULL */
	size_t			 body_len;	/* bytes */
	http_body_cb		 on_body;	/* 2xx body; may be NULL */
	void			*arg;		/* for on_body */
	size_t			 body_max;	/* bytes of a 2xx body; 0:
						   HTTP_BODY_MAX */
	const char		*ca_file;	/* NULL: the system's CAs */
	volatile sig_atomic_t	*stop;		/* when set, abort (may be
						   NULL): a signal flag */
	long			 timeout_sec;	/* whole request; 0:
						   HTTP_TIMEOUT_SEC */
};

struct http_response {
	long	 status;	/* HTTP status; 0 when none was received */
	char	*error_body;	/* non-2xx: the first HTTP_ERROR_BODY_MAX
				   bytes, NUL-terminated; caller frees */
	/* why http_request() returned -1, when it was not the network */
	int	 is_tls_unverified;	/* the peer's certificate failed
					   verification, or the CA file */
	int	 is_too_large;		/* the 2xx body passed body_max */
};

/* Once per process, before any thread starts. */
void	 http_init(void);

/*
 * Perform req.  Returns 0 when a response arrived (any status: see
 * res->status), or -1 with *cause (caller frees, naming req->url) on a
 * network, TLS or timeout error, a 2xx body over body_max
 * (res->is_too_large), a certificate that could not be verified
 * (res->is_tls_unverified: trying again will not help), or when on_body
 * stopped the transfer.
 */
int	 http_request(const struct http_request *req,
	    struct http_response *res, char **cause);
void	 http_response_clear(struct http_response *);

/*
 * The "message" of a Google API error body {"error": {"message": ...}},
 * redacted of secret; NULL when body has none.  Caller frees.
 */
char	*http_api_error_message(const char *body, const char *secret);

#endif
