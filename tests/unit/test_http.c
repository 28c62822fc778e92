/*
 * Unit tests for what src/http.c does without a network: reading a Google
 * API error message, redacted; and redact_with(), which its callers use
 * for a token they hold.  Requests are exercised by t_pull.sh against a
 * real server.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "redact.h"
#include "tap.h"

static void
redacted(const char *s, const char *secret, const char *want,
    const char *name)
{
	char	*got = redact_with(s, secret);

	is_str(got, want, name);
	free(got);
}

int
main(void)
{
	char	*m;

	redacted("plain text", NULL, "plain text", "nothing to redact");
	redacted("Authorization: Bearer ya29.a0Af-x_y", NULL,
	    "Authorization: [REDACTED]", "an Authorization header");
	redacted("near bearer abc\"; and more", NULL,
	    "near bearer [REDACTED]\"; and more", "case, and where it ends");
	redacted("token s3cr3t in s3cr3t", "s3cr3t",
	    "token [REDACTED] in [REDACTED]", "every copy of the secret");
	redacted("Bearer ", "", "Bearer ", "an empty secret, nothing after");
	m = http_api_error_message("{\"error\":{\"code\":400,\"message\":"
	    "\"bad filter near Bearer tok\",\"status\":\"INVALID_ARGUMENT\"}}",
	    "tok");
	is_str(m, "bad filter near Bearer [REDACTED]", "API error message");
	free(m);
	ok(http_api_error_message("<html>502</html>", NULL) == NULL,
	    "no message in a non-JSON body");
	ok(http_api_error_message(NULL, NULL) == NULL, "no body");
	ok(http_api_error_message("{\"error\":{\"code\":5}}", NULL) == NULL,
	    "no message field");
	return (done_testing());
}
