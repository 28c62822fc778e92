/*
 * logaudit fingerprint: messages on stdin, one per line, -> one template id
 * per line on stdout, in order (with --templates the template's text
 * instead).  For the Loghub evaluation and for trying the grouping on your
 * own logs; it reads no entries, no catalogue and no database.
 *
 * A line longer than ENTRY_MESSAGE_MAX keeps its head and its last
 * ENTRY_MESSAGE_TAIL bytes, as the entry reader does, so memory stays
 * bounded.  --templates prints each line's *final* text -- a template may
 * widen after a line joined it -- so it holds one id per line and one text
 * per template until the input ends.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "entry.h"
#include "fingerprint.h"
#include "hmap.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define LINE_HEAD	(ENTRY_MESSAGE_MAX - ENTRY_MESSAGE_TAIL)
#define READ_SIZE	(64 * 1024)

/* One message being read: the head, then a ring of the tail when cut. */
struct fpline {
	char	 buf[ENTRY_MESSAGE_MAX];
	size_t	 len;		/* bytes in buf */
	size_t	 ring;		/* next write in the tail */
	int	 cut;
};

struct fpcmd {
	struct fp_table	*fp;
	int		 templates;	/* --templates */
	uint64_t	*ids;		/* --templates: per line */
	size_t		 nids, ids_size;
	struct hmap	*texts;		/* hash -> its text */
	uint64_t	 lines;
};

static void
fingerprint_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit fingerprint [--templates] [-z] [--cap N]\n"
	    "\n"
	    "Read messages from stdin, one per line, and print the template\n"
	    "each one belongs to, one per line in the same order: its id\n"
	    "(tpl- and 16 hex digits), or with --templates its text with <*>\n"
	    "for what varies.  Python tracebacks are keyed by exception type\n"
	    "and innermost application frames (use -z to feed them whole).\n"
	    "\n"
	    "  --templates     print the final template text, not the id\n"
	    "  -z, --null      messages end at NUL bytes, not at newlines\n"
	    "  --cap N         hold at most N templates (default %d)\n",
	    FP_CAP_DEFAULT);
}

static void
line_add(struct fpline *l, const char *p, size_t n)
{
	size_t	k;

	if (!l->cut) {
		k = sizeof(l->buf) - l->len;
		if (k > n)
			k = n;
		memcpy(l->buf + l->len, p, k);
		l->len += k;
		p += k;
		n -= k;
		if (n == 0)
			return;
		l->cut = 1;
		l->ring = 0;
	}
	if (n > ENTRY_MESSAGE_TAIL) {
		p += n - ENTRY_MESSAGE_TAIL;
		n = ENTRY_MESSAGE_TAIL;
	}
	while (n > 0) {
		k = ENTRY_MESSAGE_TAIL - l->ring;
		if (k > n)
			k = n;
		memcpy(l->buf + LINE_HEAD + l->ring, p, k);
		l->ring = (l->ring + k) % ENTRY_MESSAGE_TAIL;
		p += k;
		n -= k;
	}
}

/* Put a cut line's tail ring in order. */
static void
line_finish(struct fpline *l)
{
	char	tmp[ENTRY_MESSAGE_TAIL];
	char	*t = l->buf + LINE_HEAD;

	if (!l->cut || l->ring == 0)
		return;
	memcpy(tmp, t + l->ring, ENTRY_MESSAGE_TAIL - l->ring);
	memcpy(tmp + ENTRY_MESSAGE_TAIL - l->ring, t, l->ring);
	memcpy(t, tmp, ENTRY_MESSAGE_TAIL);
}

static void
message(struct fpcmd *c, struct fpline *l)
{
	const struct fp_template	*t;
	char				**text;
	size_t				  len = l->len;
	int				  is_new;

	line_finish(l);
	if (len > 0 && l->buf[len - 1] == '\r')
		len--;		/* CRLF input */
	t = fp_add(c->fp, l->buf, len);
	c->lines++;
	l->len = 0;
	l->cut = 0;
	if (!c->templates) {
		fputs(t->id, stdout);
		putchar('\n');
		return;
	}
	if (c->nids == c->ids_size) {
		c->ids_size = c->ids_size ? c->ids_size * 2 : 1024;
		c->ids = xreallocarray(c->ids, c->ids_size, sizeof(*c->ids));
	}
	c->ids[c->nids++] = t->hash;
	text = hmap_put(c->texts, &t->hash, &is_new);
	if (is_new || t->is_new || t->widened) {
		free(*text);
		*text = xstrdup(t->text);
	}
}

static void
print_templates(struct fpcmd *c)
{
	char	**text;
	size_t	  i;

	for (i = 0; i < c->nids; i++) {
		text = hmap_get(c->texts, &c->ids[i]);
		puts(text != NULL && *text != NULL ? *text : "");
	}
}

static void
free_texts(struct hmap *texts)
{
	size_t		  iter = 0;
	const void	 *key;
	void		 *val;

	if (texts == NULL)
		return;
	while (hmap_next(texts, &iter, &key, &val))
		free(*(char **)val);
	hmap_free(texts);
}

int
cmd_fingerprint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "templates", no_argument, NULL, 't' },
		{ "null", no_argument, NULL, 'z' },
		{ "cap", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct fpcmd	 c;
	struct fpline	*l;
	struct fp_stats	 st;
	char		*buf, *end;
	const char	*p, *nl;
	uint64_t	 cap = 0;
	ssize_t		 n;
	int		 ch, sep = '\n', rc = EXIT_OK;

	memset(&c, 0, sizeof(c));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hz", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			c.templates = 1;
			break;
		case 'z':
			sep = '\0';
			break;
		case 'c':
			if (count_parse(optarg, &cap) == -1) {
				log_warnx("--cap: a positive number, "
				    "not \"%s\"", optarg);
				return (EXIT_ERROR);
			}
			break;
		case 'h':
			fingerprint_usage(stdout);
			return (EXIT_OK);
		default:
			fingerprint_usage(stderr);
			return (EXIT_ERROR);
		}
	}
	if (optind != argc) {
		fingerprint_usage(stderr);
		return (EXIT_ERROR);
	}
	c.fp = fp_new(cap);
	if (c.templates)
		c.texts = hmap_new(sizeof(uint64_t), sizeof(char *));
	l = xcalloc(1, sizeof(*l));
	buf = xmalloc(READ_SIZE);
	while (!cmd_interrupted) {
		n = read(STDIN_FILENO, buf, READ_SIZE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warnx("stdin: %s", strerror(errno));
			rc = EXIT_ERROR;
			break;
		}
		if (n == 0)
			break;
		end = buf + n;
		for (p = buf; p < end; p = nl + 1) {
			if ((nl = memchr(p, sep, end - p)) == NULL) {
				line_add(l, p, end - p);
				break;
			}
			line_add(l, p, nl - p);
			message(&c, l);
		}
	}
	if (rc == EXIT_OK && l->len > 0)
		message(&c, l);	/* the last line had no newline */
	if (c.templates)
		print_templates(&c);
	if (fflush(stdout) == EOF) {
		log_warnx("stdout: %s", strerror(errno));
		rc = EXIT_ERROR;
	}
	fp_stats(c.fp, &st);
	log_info("fingerprint: %llu messages, %zu templates held, %llu born, "
	    "%llu evicted, %llu overflowed", (unsigned long long)c.lines,
	    st.templates, (unsigned long long)st.born,
	    (unsigned long long)st.evicted, (unsigned long long)st.overflowed);
	if (cmd_interrupted && rc == EXIT_OK)
		rc = EXIT_ERROR;
	free(buf);
	free(l);
	free(c.ids);
	free_texts(c.texts);
	fp_free(c.fp);
	return (rc);
}
