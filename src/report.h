/*
 * Stage 6 plumbing: JSON through yajl_gen (escaping done right, UTF-8
 * repaired first) and aligned text tables.  Reports build on these.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <yajl/yajl_gen.h>

enum report_format {
	FORMAT_TEXT,
	FORMAT_JSON
};

/* "text" or "json" -> format; -1 when neither. */
int		 report_format_parse(const char *s, enum report_format *f);

/* A generator; pretty for reports, compact for JSON Lines. */
yajl_gen	 report_json_new(int pretty);
/* Write what g holds to f, ending in exactly one newline, and clear it. */
void		 report_json_flush(yajl_gen g, FILE *f);

void		 rj_str(yajl_gen g, const char *s, size_t len);
void		 rj_cstr(yajl_gen g, const char *s);	/* NULL -> null */
void		 rj_key(yajl_gen g, const char *key);
void		 rj_int(yajl_gen g, long long v);
void		 rj_key_cstr(yajl_gen g, const char *key, const char *s);
void		 rj_key_int(yajl_gen g, const char *key, long long v);
/* RFC 3339 time, or null for TIME_NONE. */
void		 rj_key_time(yajl_gen g, const char *key, int64_t ns);

/*
 * A finding's fields as the keys and values of an open map: the record of
 * findings --format json and of a json webhook alert.
 */
struct store_finding_row;
void		 rj_finding_fields(yajl_gen g, const struct store_finding_row *f,
		    int acknowledged);

/*
 * A text table: add rows of cells (copied), then print with each column
 * padded to its widest cell.  The last column is never padded.
 */
struct table;
struct table	*table_new(size_t ncols);
void		 table_add(struct table *, const char *const *cells);
void		 table_print(const struct table *, FILE *f);
void		 table_free(struct table *);

#endif
