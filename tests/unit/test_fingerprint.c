/*
 * Unit tests for the template table (src/fingerprint.c): masking of each
 * kind of variable, grouping and widening with stable ids, Python
 * tracebacks, restoring templates with fp_load(), the cap and its
 * eviction, and messages at the size limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "tap.h"

static char	mbuf[FP_TEXT_MAX * 4];

static const char *
mask(const char *s)
{
	fp_mask(s, strlen(s), mbuf, sizeof(mbuf));
	return (mbuf);
}

/* The id fp_add() gives s, copied. */
static char	idbuf[8][FP_ID_LEN];
static int	idn;

static const char *
add_id(struct fp_table *t, const char *s)
{
	char	*b = idbuf[idn++ % 8];

	memcpy(b, fp_add(t, s, strlen(s))->id, FP_ID_LEN);
	return (b);
}

static void
test_mask_values(void)
{
	is_str(mask("took 12ms, retry 3 of -5 at 0.5s"),
	    "took <*>, retry <*> of <*> at <*>", "numbers, durations");
	is_str(mask("flags 0x1f id 7f3a9c0d12ee deadbeef"),
	    "flags <*> id <*> deadbeef", "hex; no digit: a word");
	is_str(mask("request 3f2b6c1e-8d4a-4e2f-9b1a-1c2d3e4f5a6b done"),
	    "request <*> done", "UUID");
	is_str(mask("Connection to 10.1.2.3:5432 refused"),
	    "Connection to <*> refused", "IPv4 with port");
	is_str(mask("from fe80::1ff:fe23:4567:890a and [::1]:8080"),
	    "from <*> and [<*>]:<*>", "IPv6");
	is_str(mask("dial tcp db.internal:5432: i/o timeout"),
	    "dial tcp db.internal:<*>: i/o timeout",
	    "a host name is kept, its port masked");
	is_str(mask("Received block blk_-5078186985701364847 of size 67108864"),
	    "Received block <*> of size <*>", "block id");
	is_str(mask("size=67108864 user=root pid=12,"),
	    "size=<*> user=root pid=<*>,", "key=value: variable values");
	is_str(mask("mail alice@example.com now"), "mail <*> now", "email");
	is_str(mask("psycopg2.OperationalError from boto3 over http2"),
	    "psycopg2.OperationalError from boto3 over http2",
	    "names with a number stay");
	is_str(mask("loaded core.4900 via python3.11"),
	    "loaded core.<*> via python3.<*>", "numbered parts of a word");
	is_str(mask("  a\t\tb \n c  "), "a b c", "whitespace collapses");
	is_str(mask(""), "", "empty");
	is_str(mask("interrupt: illegal instruction......0"),
	    "interrupt: illegal instruction.....<*>",
	    "an ellipsis is punctuation (\".0\" a number)");
}

static void
test_mask_structure(void)
{
	is_str(mask("GET /api/users/123/orders?page=2&sort=asc HTTP/1.1"),
	    "GET /api/users/<*>/orders?<*> HTTP/<*>",
	    "a path keeps its shape; the query goes");
	is_str(mask("calling https://api.stripe.com/v1/charges?limit=3)"),
	    "calling https://api.stripe.com/<*>/charges?<*>)",
	    "URL; closing punctuation stays");
	is_str(mask("Are you sure? yes"), "Are you sure? yes",
	    "a question mark outside a path");
	is_str(mask("ValueError: invalid literal for int() with base 10: "
	    "'ab c'"),
	    "ValueError: invalid literal for int() with base <*>: '<*>'",
	    "a quoted phrase is a value");
	is_str(mask("KeyError: 'user_id'"), "KeyError: 'user_id'",
	    "a short quoted word is structure");
	is_str(mask("relation \"users\" does not exist"),
	    "relation \"users\" does not exist", "double quotes too");
	is_str(mask("open '/tmp/upload_123.json' failed"),
	    "open '/tmp/<*>.json' failed", "a quoted path is masked inside");
	is_str(mask("127.0.0.1:5 - \"GET /x/7 HTTP/1.1\" 500"),
	    "<*> - \"GET /x/<*> HTTP/<*>\" <*>",
	    "an HTTP request line in quotes stays a request line");
	is_str(mask("can't get client's address"),
	    "can't get client's address", "apostrophes are no quotes");
	is_str(mask("say 'a b' and 'c d'"), "say '<*>' and '<*>'",
	    "two quoted phrases");
	is_str(mask("a 'b c"), "a 'b c", "an unclosed quote is a character");
}

static void
test_mask_dates(void)
{
	is_str(mask("at 2025-08-28T00:23:51.592013Z job"), "at <*> job",
	    "RFC 3339");
	is_str(mask("connection at Fri Jun 17 07:07:00 2005"),
	    "connection at <*>", "ctime date is one <*>");
	is_str(mask("at Sat Jul  9 12:16:49 2005 ok"), "at <*> ok",
	    "ctime date with a padded day");
	is_str(mask("[2025-08-19 20:57:37 +0000] [1] [ERROR] x"),
	    "[<*>] [<*>] [ERROR] x", "gunicorn's prefix");
	is_str(mask("Date: Mon, 02 Jan 2006 15:04:05 GMT"),
	    "Date: <*> GMT", "HTTP date");
	is_str(mask("May I help"), "May I help", "a month name alone stays");
}

static void
test_mask_limits(void)
{
	char	*big, out[64];
	size_t	 n, i;

	n = fp_mask("alpha beta gamma delta", 22, out, 12);
	is_int(n, 10, "cut at a token boundary");
	is_str(out, "alpha beta", "the tokens that fit");
	n = fp_mask("12345 67890", 11, out, 3);
	is_str(out, "", "no half <*>");
	big = malloc(16 * 1024);
	for (i = 0; i < 16 * 1024; i++)
		big[i] = "x1 '\"?:/"[i % 8];
	n = fp_mask(big, 16 * 1024, mbuf, sizeof(mbuf));
	ok(n < sizeof(mbuf) && mbuf[n] == '\0', "16 KiB of punctuation");
	memset(big, '\'', 16 * 1024);
	n = fp_mask(big, 16 * 1024, mbuf, sizeof(mbuf));
	ok(n < sizeof(mbuf), "16 KiB of quotes");
	memset(big, 'a', 16 * 1024);
	n = fp_mask(big, 16 * 1024, mbuf, sizeof(mbuf));
	is_int(n, 0, "a token longer than the output is dropped whole");
	free(big);
}

static void
test_grouping(void)
{
	struct fp_table			*t = fp_new(0);
	const struct fp_template	*tp;
	const char			*a, *b;
	char				 id[FP_ID_LEN];

	a = add_id(t, "Connection to 10.1.2.3:5432 refused");
	b = add_id(t, "Connection to 10.200.7.9:5432 refused");
	is_str(b, a, "two IPs: one template");
	ok(strncmp(a, "tpl-", 4) == 0 && strlen(a) == 20, "id is tpl-<16 hex>");

	a = add_id(t, "User 123 not found");
	b = add_id(t, "Order 456 not found");
	ok(strcmp(a, b) != 0, "User / Order not found: two templates");

	a = add_id(t, "Failed to connect to the database");
	b = add_id(t, "Failed to authenticate to the database");
	ok(strcmp(a, b) == 0, "one word of five differs: joins");
	a = add_id(t, "Failed to connect");
	b = add_id(t, "Failed to authenticate");
	ok(strcmp(a, b) != 0, "one word of three differs: apart");

	tp = fp_add(t, "Invalid user alice from 1.2.3.4", 31);
	memcpy(id, tp->id, FP_ID_LEN);
	ok(tp->is_new && !tp->widened && tp->count == 1, "born");
	is_str(tp->text, "Invalid user alice from <*>", "birth text");
	tp = fp_add(t, "Invalid user bob from 5.6.7.8", 29);
	is_str(tp->id, id, "widened template keeps its id");
	ok(!tp->is_new && tp->widened && tp->count == 2, "widened, counted");
	is_str(tp->text, "Invalid user <*> from <*>", "widened text");
	tp = fp_add(t, "Invalid user carol from 9.9.9.9", 31);
	ok(!tp->widened && tp->count == 3, "joins without widening again");
	tp = fp_add(t, "Invalid user alice from 1.2.3.4", 31);
	is_str(tp->id, id, "the birth message still gets it");

	a = "authentication failure; logname= uid=0 tty=ssh rhost=1.2.3.4 "
	    "user=root";
	tp = fp_add(t, a, strlen(a));
	memcpy(id, tp->id, FP_ID_LEN);
	a = "authentication failure; logname= uid=0 tty=ssh rhost=5.6.7.8 "
	    "user=guest";
	tp = fp_add(t, a, strlen(a));
	is_str(tp->id, id, "key=value: joins");
	is_str(tp->text, "authentication failure; logname= uid=<*> tty=ssh "
	    "rhost=<*> user=<*>", "and widens to key=<*>");

	a = add_id(t, "Received disconnect from 1.2.3.4: 11: Bye Bye "
	    "[preauth]");
	b = add_id(t, "Received disconnect from 1.2.3.4: 11: disconnected "
	    "by user");
	ok(strcmp(a, b) != 0, "a token with a variable is structure");

	a = add_id(t, "");
	b = add_id(t, "   ");
	is_str(b, a, "empty and blank messages: one template");
	fp_free(t);
}

static void
test_same_ids(void)
{
	static const char *const msgs[] = {
		"Invalid user alice from 1.2.3.4",
		"worker 7 timed out after 30s",
		"Invalid user bob from 5.6.7.8",
		"worker 9 timed out after 31s",
		"disk /dev/sda1 full",
		"disk /dev/sdb2 full",
	};
	struct fp_table	*t1 = fp_new(0), *t2 = fp_new(0);
	size_t		 i;
	int		 same = 1;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		same &= strcmp(add_id(t1, msgs[i]), add_id(t2, msgs[i])) == 0;
	ok(same, "two tables, same messages, same order: same ids");
	fp_free(t1);
	fp_free(t2);
}

static const char TB[] =
    "Exception on /api/orders [POST]\n"
    "Traceback (most recent call last):\n"
    "  File \"/usr/local/lib/python3.11/site-packages/flask/app.py\", "
    "line 1455, in wsgi_app\n"
    "    response = self.full_dispatch_request()\n"
    "  File \"/app/app/routes.py\", line 42, in create_order\n"
    "    save(order)\n"
    "  File \"/app/app/db.py\", line 17, in save\n"
    "    raise ValueError(\"bad order %d\" % oid)\n"
    "ValueError: bad order 17\n";

static void
test_traceback(void)
{
	struct fp_table			*t = fp_new(0);
	const struct fp_template	*tp;
	char				 key[256], id[FP_ID_LEN], *moved;
	const char			*p;

	ok(fp_traceback_key(TB, strlen(TB), key, sizeof(key)) > 0, "found");
	is_str(key, "ValueError @ /app/app/db.py:save < "
	    "/app/app/routes.py:create_order", "type and innermost app frames");
	tp = fp_add(t, TB, strlen(TB));
	ok(tp->is_traceback && tp->is_new, "a traceback template");
	is_str(tp->text, key, "its text is the key");
	memcpy(id, tp->id, FP_ID_LEN);

	/* a later revision: every line number moved, the message differs */
	moved = strdup(TB);
	memcpy(strstr(moved, "line 42"), "line 45", 7);
	memcpy(strstr(moved, "line 17"), "line 19", 7);
	memcpy(strstr(moved, "order 17\n"), "order 99\n", 9);
	tp = fp_add(t, moved, strlen(moved));
	is_str(tp->id, id, "line numbers moved: same template");
	is_int(tp->count, 2, "counted");
	free(moved);

	p = "Traceback (most recent call last):\n"
	    "  File \"/usr/local/lib/python3.12/site-packages/sqlalchemy/"
	    "engine/base.py\", line 1960, in _exec_single_context\n"
	    "    self.dialect.do_execute(\n"
	    "psycopg2.errors.UniqueViolation: duplicate key\n"
	    "\n"
	    "The above exception was the direct cause of the following "
	    "exception:\n"
	    "\n"
	    "Traceback (most recent call last):\n"
	    "  File \"/usr/local/lib/python3.12/site-packages/sqlalchemy/"
	    "engine/default.py\", line 924, in do_execute\n"
	    "    cursor.execute(statement, parameters)\n"
	    "sqlalchemy.exc.IntegrityError: (psycopg2.errors.UniqueViolation)";
	fp_traceback_key(p, strlen(p), key, sizeof(key));
	is_str(key, "sqlalchemy.exc.IntegrityError @ "
	    "sqlalchemy/engine/default.py:do_execute",
	    "chained: the last one; library frames when no app frame");
	p = "Traceback (most recent call last): but nothing else";
	is_int(fp_traceback_key(p, strlen(p), key, sizeof(key)), 0,
	    "no frames: no traceback");
	p = "Traceback (most recent call last):\n"
	    "  File \"a.py\", line 1, in f\n";
	is_int(fp_traceback_key(p, strlen(p), key, sizeof(key)), 0,
	    "cut before the exception: no traceback");
	fp_free(t);
}

static void
test_load(void)
{
	struct fp_table			*t = fp_new(0), *t2;
	const struct fp_template	*tp;
	char				 id[FP_ID_LEN], tbid[FP_ID_LEN];
	char				 text[FP_TEXT_MAX + 1], key[256];

	fp_add(t, "Invalid user alice from 1.2.3.4", 31);
	tp = fp_add(t, "Invalid user bob from 5.6.7.8", 29);
	memcpy(id, tp->id, FP_ID_LEN);
	memcpy(text, tp->text, strlen(tp->text) + 1);
	tp = fp_add(t, TB, strlen(TB));
	memcpy(tbid, tp->id, FP_ID_LEN);
	fp_traceback_key(TB, strlen(TB), key, sizeof(key));
	fp_free(t);

	t2 = fp_new(0);
	is_int(fp_load(t2, id, text, 2), 0, "load a widened template");
	is_int(fp_load(t2, tbid, key, 1), 0, "load a traceback template");
	tp = fp_add(t2, "Invalid user carol from 9.9.9.9", 31);
	is_str(tp->id, id, "a new process: the loaded id");
	ok(!tp->is_new && !tp->widened && tp->count == 3, "counted on");
	tp = fp_add(t2, "Invalid user alice from 1.2.3.4", 31);
	is_str(tp->id, id, "its birth message too");
	tp = fp_add(t2, TB, strlen(TB));
	is_str(tp->id, tbid, "the traceback's id");
	ok(tp->is_traceback && tp->count == 2, "as a traceback");

	is_int(fp_load(t2, "tpl-123", "x", 1), -1, "short id refused");
	is_int(fp_load(t2, "tpl-000000000000000g", "x", 1), -1,
	    "not hex refused");
	is_int(fp_load(t2, FP_OVERFLOW_ID, "x", 1), -1, "overflow id refused");
	is_int(fp_load(t2, id, "Invalid user <*> from <*>", 7), 0,
	    "loading again replaces");
	tp = fp_add(t2, "Invalid user dave from 1.1.1.1", 30);
	ok(strcmp(tp->id, id) == 0 && tp->count == 8, "with the new count");
	fp_free(t2);
}

static void
test_cap(void)
{
	struct fp_table			*t = fp_new(3);
	const struct fp_template	*tp;
	struct fp_stats			 st;
	char				 a[FP_ID_LEN];

	memcpy(a, add_id(t, "alpha one"), FP_ID_LEN);
	add_id(t, "bravo two");
	add_id(t, "alpha one");			/* alpha: seen twice */
	add_id(t, "charlie three");
	add_id(t, "delta four");		/* full: evicts bravo */
	fp_stats(t, &st);
	ok(st.templates == 3 && st.evicted == 1, "cap held, one evicted");
	tp = fp_add(t, "alpha one", 9);
	ok(strcmp(tp->id, a) == 0 && tp->count == 3,
	    "a template seen twice is never evicted");
	tp = fp_add(t, "bravo two", 9);
	ok(tp->is_new && tp->count == 1, "the evicted one is born again");
	add_id(t, "charlie three");		/* was evicted by bravo */
	add_id(t, "bravo two");
	add_id(t, "charlie three");		/* now all seen twice */
	tp = fp_add(t, "echo five", 9);
	ok(tp->is_overflow && strcmp(tp->id, FP_OVERFLOW_ID) == 0,
	    "full of recurring templates: the overflow id");
	tp = fp_add(t, "alpha one", 9);
	ok(!tp->is_overflow, "known templates still count");
	fp_stats(t, &st);
	is_int(st.overflowed, 1, "overflow counted");
	fp_free(t);
	fp_free(NULL);
}

static void
test_long(void)
{
	struct fp_table			*t = fp_new(0);
	const struct fp_template	*tp;
	char				*big;
	size_t				 i, n = 16 * 1024;

	big = malloc(n);
	for (i = 0; i < n; i++)
		big[i] = i % 7 == 6 ? ' ' : "abcxdef"[i % 7];
	tp = fp_add(t, big, n);
	ok(strlen(tp->text) <= FP_TEXT_MAX, "a 16 KiB message: capped text");
	big[n - 2] = 'z';
	ok(fp_add(t, big, n)->count == 2, "differing beyond the cap: joins");
	for (i = 0; i < n; i++)
		big[i] = i % 2 ? ' ' : 'a' + (i / 2) % 26;
	tp = fp_add(t, big, n);
	ok(tp->is_new && strlen(tp->text) <= FP_TEXT_MAX,
	    "more tokens than FP_TOKEN_MAX");
	free(big);
	fp_free(t);
}

int
main(void)
{
	test_mask_values();
	test_mask_structure();
	test_mask_dates();
	test_mask_limits();
	test_grouping();
	test_same_ids();
	test_traceback();
	test_load();
	test_cap();
	test_long();
	return (done_testing());
}
