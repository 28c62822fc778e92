/*
 * logaudit trend: counts and rates of patterns over time (minute, hour,
 * day) or across a service's revisions, from the store, as a table, JSON
 * or CSV.  Rates are per 1000 entries of the bucket, all logs together.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "report.h"
#include "store.h"
#include "util.h"

enum trend_format {
	TREND_TEXT,
	TREND_JSON,
	TREND_CSV
};

static void
trend_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit trend [--db PATH] [--project P] [--location L]\n"
	    "                      [--service S] [--pattern ID]\n"
	    "                      [--by minute|hour|day|revision]\n"
	    "                      [--since T] [--until T]\n"
	    "                      [--format text|json|csv]\n"
	    "\n"
	    "Counts of patterns and templates per minute, hour, day (UTC, of\n"
	    "entry time; default hour) or revision, with the bucket's entries\n"
	    "and requests and the count per 1000 entries.\n"
	    "\n"
	    "  --pattern ID  one pattern or template (default: all)\n"
	    "  --since T, --until T  RFC 3339, or a duration ago (2h, 7d)\n"
	    "  --format F    text (default), json or csv\n");
}

static double
per_1k(uint64_t count, uint64_t entries)
{
	return (entries > 0 ? 1000.0 * (double)count / (double)entries : 0);
}

/* A bucket's label: its start, or by revision the revision. */
static const char *
bucket_label(const struct store_trend_row *t, int by_rev, char *buf,
    size_t size)
{
	if (by_rev) {
		snprintf(buf, size, "%s", t->revision);
		return (buf);
	}
	return (time_format(t->bucket_ns, buf, size));
}

static void
trend_csv_field(const char *s)
{
	/* RFC 4180: quote, double the quotes */
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void
trend_render(const struct store_trend_row *v, size_t n, int by_rev,
    enum trend_format format)
{
	static const char	*head[] = { "BUCKET", "PATTERN", "COUNT",
	    "ENTRIES", "REQUESTS", "PER_1K" };
	struct table		*t;
	const char		*cells[6];
	char			 c[4][32], label[64];
	yajl_gen		 g;
	size_t			 i;

	if (format == TREND_JSON) {
		g = report_json_new(1);
		yajl_gen_map_open(g);
		rj_key_int(g, "schema_version", 1);
		rj_key_cstr(g, "by", by_rev ? "revision" : "time");
		rj_key(g, "trend");
		yajl_gen_array_open(g);
		for (i = 0; i < n; i++) {
			yajl_gen_map_open(g);
			if (by_rev) {
				rj_key_cstr(g, "service", v[i].service);
				rj_key_cstr(g, "revision", v[i].revision);
			} else
				rj_key_time(g, "bucket", v[i].bucket_ns);
			rj_key_cstr(g, "pattern", v[i].pattern);
			rj_key_int(g, "count", (long long)v[i].count);
			rj_key_int(g, "entries", (long long)v[i].entries);
			rj_key_int(g, "requests", (long long)v[i].requests);
			rj_key(g, "per_1k_entries");
			yajl_gen_double(g, per_1k(v[i].count, v[i].entries));
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
		report_json_flush(g, stdout);
		yajl_gen_free(g);
		return;
	}
	if (format == TREND_CSV) {
		printf("%s,pattern,count,entries,requests,per_1k_entries\n",
		    by_rev ? "service,revision" : "bucket");
		for (i = 0; i < n; i++) {
			if (by_rev) {
				trend_csv_field(v[i].service);
				putchar(',');
			}
			trend_csv_field(bucket_label(&v[i], by_rev, label,
			    sizeof(label)));
			putchar(',');
			trend_csv_field(v[i].pattern);
			printf(",%llu,%llu,%llu,%.3f\n",
			    (unsigned long long)v[i].count,
			    (unsigned long long)v[i].entries,
			    (unsigned long long)v[i].requests,
			    per_1k(v[i].count, v[i].entries));
		}
		return;
	}
	if (n == 0) {
		printf("no counts in that range\n");
		return;
	}
	t = table_new(6);
	table_add(t, head);
	for (i = 0; i < n; i++) {
		snprintf(c[0], sizeof(c[0]), "%llu",
		    (unsigned long long)v[i].count);
		snprintf(c[1], sizeof(c[1]), "%llu",
		    (unsigned long long)v[i].entries);
		snprintf(c[2], sizeof(c[2]), "%llu",
		    (unsigned long long)v[i].requests);
		snprintf(c[3], sizeof(c[3]), "%.3g",
		    per_1k(v[i].count, v[i].entries));
		cells[0] = bucket_label(&v[i], by_rev, label, sizeof(label));
		cells[1] = v[i].pattern;
		cells[2] = c[0];
		cells[3] = c[1];
		cells[4] = c[2];
		cells[5] = c[3];
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

int
cmd_trend(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "project", required_argument, NULL, 'P' },
		{ "location", required_argument, NULL, 'L' },
		{ "service", required_argument, NULL, 's' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "by", required_argument, NULL, 'b' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_trend_query	 q;
	struct store_trend_row		*v;
	struct store			*st;
	enum trend_format		 format = TREND_TEXT;
	const char			*db = NULL;
	char				*cause = NULL;
	size_t				 n;
	int64_t				 now = time_now_ns();
	int				 ch;

	memset(&q, 0, sizeof(q));
	q.bucket_minutes = 60;
	q.from_ns = INT64_MIN;
	q.to_ns = INT64_MAX;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'P':
			q.project = optarg;
			break;
		case 'L':
			q.location = optarg;
			break;
		case 's':
			q.service = optarg;
			break;
		case 'p':
			q.pattern = optarg;
			break;
		case 'b':
			if (strcmp(optarg, "minute") == 0)
				q.bucket_minutes = 1;
			else if (strcmp(optarg, "hour") == 0)
				q.bucket_minutes = 60;
			else if (strcmp(optarg, "day") == 0)
				q.bucket_minutes = 1440;
			else if (strcmp(optarg, "revision") == 0)
				q.bucket_minutes = 0;
			else {
				log_warnx("--by: minute, hour, day or revision, "
				    "not \"%s\"", optarg);
				return (EXIT_ERROR);
			}
			break;
		case 'S':
		case 'U':
			if (time_parse_option(optarg, now, ch == 'S' ?
			    &q.from_ns : &q.to_ns) == -1) {
				log_warnx("--%s: not a time or duration: \"%s\"",
				    ch == 'S' ? "since" : "until", optarg);
				return (EXIT_ERROR);
			}
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				format = TREND_TEXT;
			else if (strcmp(optarg, "json") == 0)
				format = TREND_JSON;
			else if (strcmp(optarg, "csv") == 0)
				format = TREND_CSV;
			else {
				log_warnx("--format: text, json or csv, not "
				    "\"%s\"", optarg);
				return (EXIT_ERROR);
			}
			break;
		case 'h':
			trend_usage(stdout);
			return (EXIT_OK);
		default:
			trend_usage(stderr);
			return (EXIT_ERROR);
		}
	}
	if (optind != argc) {
		trend_usage(stderr);
		return (EXIT_ERROR);
	}
	if ((st = cmd_store_existing(db)) == NULL)
		return (EXIT_ERROR);
	if (store_trend(st, &q, &v, &n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		store_close(st);
		return (EXIT_ERROR);
	}
	trend_render(v, n, q.bucket_minutes == 0, format);
	store_trend_free(v, n);
	store_close(st);
	return (EXIT_OK);
}
