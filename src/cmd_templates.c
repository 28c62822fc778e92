/*
 * logaudit templates: the errors no catalogue pattern knows, as ingest
 * grouped them -- each template with its count, the revision that first
 * showed it and a sample; `templates promote ID` turns one into a pattern
 * skeleton for a person to review and add to the catalogue.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "fingerprint.h"
#include "log.h"
#include "report.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define SAMPLE_SHOWN	60	/* bytes of a sample in the table */

static void
templates_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit templates [--db PATH] [--service S] [--revision R]\n"
	    "                          [--format text|json]\n"
	    "       logaudit templates [--db PATH] promote ID\n"
	    "\n"
	    "List the templates ingest made of errors no catalogue pattern\n"
	    "knows: id, count, the revision that first showed it, its text\n"
	    "and a sample message (its first line, cut to 60 bytes).\n"
	    "promote prints a catalogue pattern made from a template (its text\n"
	    "as a regex, its samples as examples) for a person to review.\n"
	    "\n"
	    "  --db PATH     database (default $LOGAUDIT_DB or ./logaudit.db)\n"
	    "  --service S   only templates seen in this service\n"
	    "  --revision R  only templates seen in this revision\n"
	    "  --format F    text (default) or json\n");
}

/* One template with the rows of its revisions: rows[first..end). */
static size_t
template_end(const struct store_template_row *rows, size_t n, size_t first)
{
	size_t	i = first;

	while (i < n && strcmp(rows[i].id, rows[first].id) == 0)
		i++;
	return (i);
}

static void
templates_json(const struct store_template_row *rows, size_t n)
{
	yajl_gen	 g = report_json_new(1);
	size_t		 i, end, k;
	uint64_t	 total;

	yajl_gen_map_open(g);
	rj_key_int(g, "schema_version", 1);
	rj_key(g, "templates");
	yajl_gen_array_open(g);
	for (i = 0; i < n; i = end) {
		end = template_end(rows, n, i);
		for (k = i, total = 0; k < end; k++)
			total += rows[k].count;
		yajl_gen_map_open(g);
		rj_key_cstr(g, "id", rows[i].id);
		rj_key_cstr(g, "text", rows[i].text);
		rj_key_int(g, "count", (long long)total);
		rj_key_cstr(g, "first_revision", rows[i].revision);
		rj_key_time(g, "first_seen", rows[i].first_ns);
		rj_key_cstr(g, "sample", rows[i].sample);
		rj_key(g, "revisions");
		yajl_gen_array_open(g);
		for (k = i; k < end; k++) {
			yajl_gen_map_open(g);
			rj_key_cstr(g, "project", rows[k].project);
			rj_key_cstr(g, "location", rows[k].location);
			rj_key_cstr(g, "service", rows[k].service);
			rj_key_cstr(g, "revision", rows[k].revision);
			rj_key_int(g, "count", (long long)rows[k].count);
			rj_key_time(g, "first_seen", rows[k].first_ns);
			rj_key_time(g, "last_seen", rows[k].last_ns);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	report_json_flush(g, stdout);
	yajl_gen_free(g);
}

/*
 * The first line of sample, at most SAMPLE_SHOWN bytes cut at a character
 * boundary, "..." when there is more, control characters as blanks.
 */
static const char *
sample_cell(const char *sample, char *buf, size_t size)
{
	size_t	len, i;

	if (sample == NULL)
		sample = "";
	len = strcspn(sample, "\r\n");
	if (len > SAMPLE_SHOWN) {
		len = SAMPLE_SHOWN;
		while (len > 0 && ((unsigned char)sample[len] & 0xc0) == 0x80)
			len--;
	}
	snprintf(buf, size, "%.*s%s", (int)len, sample,
	    sample[len] != '\0' ? "..." : "");
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	return (buf);
}

static void
templates_text(const struct store_template_row *rows, size_t n)
{
	static const char	*head[] = { "TEMPLATE", "COUNT", "FIRST REVISION",
	    "FIRST SEEN", "TEXT", "SAMPLE" };
	struct table		*t;
	const char		*cells[6];
	char			 count[24], when[40], text[100], sample[96];
	size_t			 i, end, k;
	uint64_t		 total;

	if (n == 0) {
		printf("no templates\n");
		return;
	}
	t = table_new(6);
	table_add(t, head);
	for (i = 0; i < n; i = end) {
		end = template_end(rows, n, i);
		for (k = i, total = 0; k < end; k++)
			total += rows[k].count;
		snprintf(count, sizeof(count), "%llu",
		    (unsigned long long)total);
		/* one line each: the text's first line, cut */
		snprintf(text, sizeof(text), "%.*s",
		    (int)strcspn(rows[i].text, "\n"), rows[i].text);
		cells[0] = rows[i].id;
		cells[1] = count;
		cells[2] = rows[i].revision[0] != '\0' ? rows[i].revision :
		    rows[i].service;
		cells[3] = time_format(rows[i].first_ns, when, sizeof(when));
		cells[4] = text;
		/* the first revision's sample, as the JSON's "sample" */
		cells[5] = sample_cell(rows[i].sample, sample, sizeof(sample));
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

/* Write s as a regex matching itself: metacharacters escaped. */
static void
put_escaped(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (strchr("\\^$.|?*+()[]{}", s[i]) != NULL)
			putchar('\\');
		putchar(s[i]);
	}
}

/*
 * A regex from a template's text: constant tokens as they are, <*> as any
 * run of text, blanks as any blanks.  A traceback key ("ValueError @
 * app/db.py:save < ...") becomes the traceback's header, its innermost
 * frame and its exception.
 */
static void
put_regex(const char *text)
{
	const char	*p = text, *tok, *at, *colon;
	size_t		 len;

	if ((at = strstr(text, " @ ")) != NULL && strchr(text, ' ') == at) {
		printf("(?s)Traceback \\(most recent call last\\):.*");
		colon = strchr(at + 3, ':');
		if (colon != NULL) {
			printf("File \"[^\"]*");
			put_escaped(at + 3, (size_t)(colon - (at + 3)));
			printf("\", line \\d+, in ");
			len = strcspn(colon + 1, " ");
			put_escaped(colon + 1, len);
			printf("\\b.*");
		}
		printf("\\b");
		put_escaped(text, (size_t)(at - text));
		printf("\\b\n");
		return;
	}
	while (*p != '\0') {
		tok = p;
		len = strcspn(p, " ");
		while (len > 0) {
			at = strstr(tok, "<*>");
			if (at == NULL || at >= tok + len) {
				put_escaped(tok, len);
				break;
			}
			put_escaped(tok, (size_t)(at - tok));
			printf(".*?");
			len -= (size_t)(at - tok) + 3;
			tok = at + 3;
		}
		p += strcspn(p, " ");
		if (*p == ' ') {
			printf("\\s+");
			p++;
		}
	}
	putchar('\n');
}

static int
templates_promote(const struct store_template_row *rows, size_t n,
    const char *id)
{
	size_t	i, end, k, shown = 0;

	for (i = 0; i < n && strcmp(rows[i].id, id) != 0; i++)
		;
	if (i == n) {
		log_warnx("no template \"%s\" in the database", id);
		return (EXIT_ERROR);
	}
	end = template_end(rows, n, i);
	printf("# Made by 'logaudit templates promote %s' from the template\n"
	    "# first seen in %s/%s.  Review it: name the pattern, narrow the\n"
	    "# regex, check each example, add counters, then run\n"
	    "# 'logaudit patterns --patterns DIR test'.\n", id,
	    rows[i].service, rows[i].revision);
	printf("[promoted-%.8s]\n", id + 4);
	printf("title    = %.*s\n", (int)strcspn(rows[i].text, "\n"),
	    rows[i].text);
	printf("category = uncatalogued\nlevel    = error\nregex    = ");
	put_regex(rows[i].text);
	for (k = i; k < end && shown < 3; k++) {
		if (rows[k].sample == NULL || rows[k].sample[0] == '\0')
			continue;
		printf("# a sample from %s/%s\nexample  = ", rows[k].service,
		    rows[k].revision);
		for (const char *s = rows[k].sample; *s != '\0'; s++) {
			if (*s == '\n')
				fputs("\\n", stdout);
			else if (*s == '\\')
				fputs("\\\\", stdout);
			else if (*s == '\t')
				fputs("\\t", stdout);
			else if (*s == '\x1b')
				fputs("\\e", stdout);
			else
				putchar(*s);
		}
		putchar('\n');
		shown++;
	}
	return (EXIT_OK);
}

int
cmd_templates(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "service", required_argument, NULL, 's' },
		{ "revision", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct store			*st;
	struct store_template_row	*rows;
	enum report_format		 format = FORMAT_TEXT;
	const char			*db = NULL, *service = NULL;
	const char			*revision = NULL;
	char				*cause = NULL;
	size_t				 n;
	int				 ch, rv = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'r':
			revision = optarg;
			break;
		case 'f':
			if (report_format_parse(optarg, &format) == -1) {
				log_warnx("--format: text or json, not \"%s\"",
				    optarg);
				return (EXIT_ERROR);
			}
			break;
		case 'h':
			templates_usage(stdout);
			return (EXIT_OK);
		default:
			templates_usage(stderr);
			return (EXIT_ERROR);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0 && (argc != 2 || strcmp(argv[0], "promote") != 0)) {
		templates_usage(stderr);
		return (EXIT_ERROR);
	}
	if ((st = cmd_store_existing(db)) == NULL)
		return (EXIT_ERROR);
	if (store_templates(st, argc == 2 ? NULL : service,
	    argc == 2 ? NULL : revision, &rows, &n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		store_close(st);
		return (EXIT_ERROR);
	}
	if (argc == 2)
		rv = templates_promote(rows, n, argv[1]);
	else if (format == FORMAT_JSON)
		templates_json(rows, n);
	else
		templates_text(rows, n);
	store_templates_free(rows, n);
	store_close(st);
	return (rv);
}
