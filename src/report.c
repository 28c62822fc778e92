/*
 * JSON and table helpers for every report.  Text from logs may hold
 * invalid UTF-8 or NUL bytes; it is repaired here, where it leaves
 * logaudit, so JSON output is always valid.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

int
report_format_parse(const char *s, enum report_format *f)
{
	if (strcmp(s, "text") == 0)
		*f = FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*f = FORMAT_JSON;
	else
		return (-1);
	return (0);
}

yajl_gen
report_json_new(int pretty)
{
	yajl_gen	g;

	g = yajl_gen_alloc(NULL);
	if (g == NULL) {
		fprintf(stderr, "logaudit: out of memory\n");
		abort();
	}
	yajl_gen_config(g, yajl_gen_beautify, pretty);
	if (pretty)
		yajl_gen_config(g, yajl_gen_indent_string, "  ");
	return (g);
}

void
report_json_flush(yajl_gen g, FILE *f)
{
	const unsigned char	*buf;
	size_t			 len;

	yajl_gen_get_buf(g, &buf, &len);
	fwrite(buf, 1, len, f);
	/* one value per line: pretty output ends in a newline, compact
	 * output (JSON Lines) does not */
	if (len == 0 || buf[len - 1] != '\n')
		fputc('\n', f);
	yajl_gen_clear(g);
	/* ready for the next value: JSON Lines write one per entry */
	yajl_gen_reset(g, NULL);
}

void
rj_str(yajl_gen g, const char *s, size_t len)
{
	char	 small[512], *buf = small;
	size_t	 size = len * 3 + 1, n;

	if (size > sizeof(small))
		buf = xmalloc(size);
	n = utf8_repair(buf, size, s, len);
	yajl_gen_string(g, (const unsigned char *)buf, n);
	if (buf != small)
		free(buf);
}

void
rj_cstr(yajl_gen g, const char *s)
{
	if (s == NULL)
		yajl_gen_null(g);
	else
		rj_str(g, s, strlen(s));
}

void
rj_key(yajl_gen g, const char *key)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

void
rj_int(yajl_gen g, long long v)
{
	yajl_gen_integer(g, v);
}

void
rj_key_cstr(yajl_gen g, const char *key, const char *s)
{
	rj_key(g, key);
	rj_cstr(g, s);
}

void
rj_key_int(yajl_gen g, const char *key, long long v)
{
	rj_key(g, key);
	yajl_gen_integer(g, v);
}

void
rj_key_time(yajl_gen g, const char *key, int64_t ns)
{
	char	buf[40];

	rj_key(g, key);
	if (ns == TIME_NONE)
		yajl_gen_null(g);
	else
		rj_cstr(g, time_format(ns, buf, sizeof(buf)));
}

struct table {
	size_t	  ncols;
	size_t	  nrows;
	char	**cells;	/* nrows * ncols */
};

struct table *
table_new(size_t ncols)
{
	struct table	*t;

	t = xcalloc(1, sizeof(*t));
	t->ncols = ncols;
	return (t);
}

void
table_add(struct table *t, const char *const *cells)
{
	size_t	i;

	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof(*t->cells));
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] =
		    xstrdup(cells[i] != NULL ? cells[i] : "");
	t->nrows++;
}

/*
 * Display width: count UTF-8 lead bytes, not bytes, and nothing of a
 * control sequence (ESC [ ... final byte; colours end in m), which takes no
 * column.
 */
static size_t
display_width(const char *s)
{
	size_t	w = 0;

	for (; *s != '\0'; s++) {
		if (s[0] == '\033' && s[1] == '[') {
			/* to the final byte, @ to ~ (m for colours) */
			for (s += 2; *s != '\0' && (*s < '@' || *s > '~');
			    s++)
				;
			if (*s == '\0')
				break;
			continue;
		}
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	}
	return (w);
}

void
table_print(const struct table *t, FILE *f)
{
	size_t	*w, r, c, cw;

	w = xcalloc(t->ncols, sizeof(*w));
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			cw = display_width(t->cells[r * t->ncols + c]);
			if (cw > w[c])
				w[c] = cw;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char	*cell = t->cells[r * t->ncols + c];

			fputs(cell, f);
			if (c + 1 < t->ncols)
				fprintf(f, "%*s", (int)(w[c] -
				    display_width(cell) + 2), "");
		}
		fputc('\n', f);
	}
	free(w);
}

void
table_free(struct table *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void
rj_finding_fields(yajl_gen g, const struct store_finding_row *f,
    int acknowledged)
{
	rj_key_time(g, "time", f->found_ns);
	rj_key_cstr(g, "project", f->project);
	rj_key_cstr(g, "location", f->location);
	rj_key_cstr(g, "service", f->service);
	rj_key_cstr(g, "revision", f->revision);
	rj_key_cstr(g, "pattern", f->pattern);
	rj_key_cstr(g, "kind", f->kind);
	rj_key_cstr(g, "class", f->class);
	rj_key_cstr(g, "level", f->level);
	rj_key_int(g, "count", (long long)f->count);
	rj_key_cstr(g, "sample", f->sample);
	rj_key_cstr(g, "insert_id", f->insert_id);
	rj_key_time(g, "entry_time", f->entry_ns);
	rj_key(g, "acknowledged");
	yajl_gen_bool(g, acknowledged);
}
