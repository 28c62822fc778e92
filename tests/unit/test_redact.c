/*
 * Unit tests for src/redact.c: each shape of secret it knows, in the
 * wording real logs use, and the look-alikes it must leave alone.
 */
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "tap.h"

static void
redacted(const char *s, const char *want, const char *name)
{
	char	*got = redact(s, strlen(s));

	is_str(got, want, name);
	free(got);
}

int
main(void)
{
	static const char	 bin[] = "a\0b token=x\xff\xfe y";
	char			*got;

	/* left alone */
	redacted("plain text", "plain text", "nothing to redact");
	redacted("", "", "empty");
	redacted("WebSocket auth failed: NO_TOKEN", "WebSocket auth failed: "
	    "NO_TOKEN", "the word token without a value");
	redacted("GET /api/v1/users?page=2&limit=50 HTTP/1.1", "GET /api/v1/"
	    "users?page=2&limit=50 HTTP/1.1", "an ordinary query string");
	redacted("connecting to postgresql://db.internal:5432/app",
	    "connecting to postgresql://db.internal:5432/app",
	    "a URL with a port and no password");
	redacted("password must be at least 8 characters", "password must be "
	    "at least 8 characters", "the word password in a sentence");
	redacted("Pydantic V2 deprecation: use model_dump()", "Pydantic V2 "
	    "deprecation: use model_dump()", "a deprecation warning");

	/* headers and bearer tokens */
	redacted("Authorization: Bearer ya29.a0AfB_byC-x_y", "Authorization: "
	    REDACT_MARK, "an Authorization header");
	redacted("headers={'authorization': 'Basic dXNlcjpwYXNz', 'x': 1}",
	    "headers={'authorization': '" REDACT_MARK "', 'x': 1}",
	    "an authorization header in a Python dict");
	redacted("proxy-authorization=Negotiate YII", "proxy-authorization="
	    REDACT_MARK, "Proxy-Authorization");
	redacted("sent bearer abc.def-ghi\"; and more", "sent bearer "
	    REDACT_MARK "\"; and more", "a bearer token, and where it ends");

	/* JWTs */
	redacted("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeK"
	    " rejected", "token " REDACT_MARK " rejected", "a JWT");

	/* key=value, query strings, JSON */
	redacted("GET /cb?code=1&access_token=abc123&state=x", "GET /cb?code="
	    "1&access_token=" REDACT_MARK "&state=x", "access_token in a query");
	redacted("login password=hunter2 user=bob", "login password="
	    REDACT_MARK " user=bob", "password=");
	redacted("{\"user\": \"bob\", \"password\": \"hunter2\"}", "{\"user\": "
	    "\"bob\", \"password\": \"" REDACT_MARK "\"}", "a JSON password");
	redacted("config: {'api_key': 'k-123', 'n': 2}", "config: {'api_key': '"
	    REDACT_MARK "', 'n': 2}", "an api_key in a dict");
	redacted("env DB_PASSWORD=s3cr3t POSTGRES_USER=app", "env DB_PASSWORD="
	    REDACT_MARK " POSTGRES_USER=app", "a prefixed password key");
	redacted("{\"smtp_password\": \"x1\", \"max_tokens\": 5}",
	    "{\"smtp_password\": \"" REDACT_MARK "\", \"max_tokens\": 5}",
	    "a prefixed JSON key; a key merely containing token is left");
	redacted("client_secret: s3cr3t", "client_secret: " REDACT_MARK,
	    "client_secret: in YAML");
	redacted("https://storage.googleapis.com/b/o?X-Goog-Signature=abcd12",
	    "https://storage.googleapis.com/b/o?X-Goog-Signature=" REDACT_MARK,
	    "a signed URL's signature");

	/* passwords in URLs */
	redacted("DATABASE_URL=postgres://app:pa55w0rd@10.0.0.3:5432/db",
	    "DATABASE_URL=postgres://app:" REDACT_MARK "@10.0.0.3:5432/db",
	    "a password in a database URL");
	redacted("redis://:hunter2@cache:6379/0", "redis://:" REDACT_MARK
	    "@cache:6379/0", "a password with no user name");

	/* vendor shapes */
	redacted("key AIzaSyA1234567890abcdefghijklmnopqrstuv used",
	    "key " REDACT_MARK " used", "a Google API key");
	redacted("slack xoxb-1234567890-abcdefghij", "slack " REDACT_MARK,
	    "a Slack bot token");
	redacted("posting to https://hooks.slack.com/services/T0/B0/XyZ failed",
	    "posting to https://hooks.slack.com/" REDACT_MARK " failed",
	    "a Slack webhook URL");
	redacted("ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked",
	    REDACT_MARK " leaked", "a GitHub token");
	redacted("AWS key AKIAIOSFODNN7EXAMPLE", "AWS key " REDACT_MARK,
	    "an AWS access key id");
	redacted("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE "
	    "KEY----- after", "[REDACTED PRIVATE KEY] after", "a PEM key");
	redacted("-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBg", "[REDACTED "
	    "PRIVATE KEY]", "a PEM key cut short");

	/* any bytes */
	got = redact(bin, sizeof(bin) - 1);
	ok(memcmp(got, "a\0b token=" REDACT_MARK " y", 3 + 7 + 10 + 2) == 0,
	    "NUL and invalid UTF-8 bytes: matched byte by byte");
	free(got);

	/* a secret we hold */
	got = redact_with("POST https://example.com/hook/abc failed: timeout",
	    "https://example.com/hook/abc");
	is_str(got, "POST " REDACT_MARK " failed: timeout", "a known secret");
	free(got);
	got = redact_with("t0k and t0k", "t0k");
	is_str(got, REDACT_MARK " and " REDACT_MARK, "every copy of it");
	free(got);
	got = redact_with("nothing", "");
	is_str(got, "nothing", "an empty secret");
	free(got);
	return (done_testing());
}
