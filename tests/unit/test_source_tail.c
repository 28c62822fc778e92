/*
 * Unit tests for the followed-files stage (src/source_tail.c): a file
 * that appears later, appends, rotation by rename with the old file still
 * written, truncation and rewriting in place, directories with new files
 * and folders, a rename inside a directory, idle close and reopen,
 * deletion, excluded names, and a rotated file found again by its inode.
 * The callbacks record what each file delivered.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "source_tail.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

#define NREC	32

/* What one followed file delivered. */
struct rec {
	char		 name[256];
	char		 data[4096];
	size_t		 len;
	int		 opens;
	int		 resets;
	int		 closes;
	int		 forgotten;
};

static struct rec	recs[NREC];
static int		nrecs;

static void
on_open(struct tail_file *f, int reset, void *arg)
{
	struct rec	*r = f->user;

	(void)arg;
	if (r == NULL) {
		if (nrecs == NREC)
			abort();
		r = &recs[nrecs++];
		memset(r, 0, sizeof(*r));
		f->user = r;
	}
	snprintf(r->name, sizeof(r->name), "%s", f->name);
	r->opens++;
	if (reset) {
		r->resets++;
		r->len = 0;
	}
	f->pos = r->len;	/* go on where we stopped */
}

static void
on_data(struct tail_file *f, const void *buf, size_t len, void *arg)
{
	struct rec	*r = f->user;

	(void)arg;
	if (r->len + len < sizeof(r->data)) {
		memcpy(r->data + r->len, buf, len);
		r->len += len;
		r->data[r->len] = '\0';
	}
}

static void
on_close(struct tail_file *f, int forget, void *arg)
{
	struct rec	*r = f->user;

	(void)arg;
	if (r == NULL)
		return;
	r->closes++;
	r->forgotten += forget;
	if (forget)
		f->user = NULL;
}

/* The record of the file that was last named name, or NULL. */
static struct rec *
rec_of(const char *name)
{
	int	i;

	for (i = nrecs - 1; i >= 0; i--)
		if (strcmp(recs[i].name, name) == 0)
			return (&recs[i]);
	return (NULL);
}

static const char *
data_of(const char *name)
{
	struct rec	*r = rec_of(name);

	return (r != NULL ? r->data : "(none)");
}

static void
put(const char *path, const char *mode, const char *s)
{
	FILE	*f;

	if ((f = fopen(path, mode)) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(s, f);
	fclose(f);
}

static struct tail *
new_tail(int64_t idle_ns)
{
	struct tail_config	 c;

	memset(&c, 0, sizeof(c));
	c.poll_ns = 0;
	c.idle_ns = idle_ns;
	c.cb.open = on_open;
	c.cb.data = on_data;
	c.cb.close = on_close;
	return (tail_new(&c));
}

/* A poll, then reading what is there. */
static void
step(struct tail *t)
{
	tail_poll(t, 1);
	tail_read(t, 1 << 20);
}

static void
test_file(const char *dir)
{
	struct tail	*t;
	struct rec	*old;
	char		 p[512], p1[512];
	FILE		*w;

	snprintf(p, sizeof(p), "%s/app.log", dir);
	snprintf(p1, sizeof(p1), "%s/app.log.1", dir);
	t = new_tail(NS_PER_SEC);
	tail_add(t, p);
	step(t);
	is_int(nrecs, 0, "a file that does not exist: nothing opened");
	put(p, "w", "one\n");
	step(t);
	is_str(data_of(p), "one\n", "it appears: read from its start");
	put(p, "a", "two\n");
	tail_read(t, 1 << 20);
	is_str(data_of(p), "one\ntwo\n", "appended: read without a poll");

	/* rotation by rename, the writer still holding the old file */
	w = fopen(p, "a");
	if (rename(p, p1) == -1)
		perror("rename");
	put(p, "w", "new\n");
	fputs("late\n", w);
	fclose(w);
	old = rec_of(p);
	step(t);
	is_str(old->name, p, "rotated: the old file keeps its record");
	is_str(old->data, "one\ntwo\nlate\n",
	    "rotated: the old file drained, written after the rename too");
	ok(rec_of(p) != NULL && rec_of(p) != old && rec_of(p)->opens == 1,
	    "rotated: the new file is another file");
	is_str(recs[1].data, "new\n", "rotated: the new file from its start");
	is_int(old->forgotten, 0, "rotated: the old file not forgotten yet");

	/* truncation in place, then something shorter */
	if (truncate(p, 0) == -1)
		perror("truncate");
	put(p, "a", "xy\n");
	step(t);
	is_int(recs[1].resets, 1, "truncated: read again from the start");
	is_str(recs[1].data, "xy\n", "truncated: the new content");

	/* rewritten in place, longer: the head changed */
	put(p, "w", "XYZ and more\n");
	step(t);
	is_int(recs[1].resets, 2, "rewritten in place: read again");
	is_str(recs[1].data, "XYZ and more\n", "rewritten: the new content");
	tail_free(t);
}

static void
test_dir(const char *dir)
{
	struct tail	*t;
	struct rec	*a;
	char		 d[256], p[512], q[1024], s[512], x[512];
	int		 before;

	nrecs = 0;
	snprintf(d, sizeof(d), "%s/sink", dir);
	mkdir(d, 0755);
	snprintf(p, sizeof(p), "%s/a.json", d);
	put(p, "w", "{\"a\":1}\n");
	snprintf(x, sizeof(x), "%s/db", d);
	put(x, "w", "not a log\n");
	snprintf(x, sizeof(x), "%s/db-wal", d);
	put(x, "w", "not a log either\n");
	snprintf(x, sizeof(x), "%s/.hidden", d);
	put(x, "w", "hidden\n");
	t = new_tail(1);	/* 1 ns: idle files close at the next poll */
	snprintf(x, sizeof(x), "%s/db", d);
	tail_exclude(t, x);
	tail_add(t, d);
	step(t);
	is_int(nrecs, 1, "a folder: one file followed (excluded, hidden not)");
	is_str(data_of(p), "{\"a\":1}\n", "a folder: its file read");
	snprintf(s, sizeof(s), "%s/2025/09/17", d);
	snprintf(x, sizeof(x), "%s/2025", d);
	mkdir(x, 0755);
	snprintf(x, sizeof(x), "%s/2025/09", d);
	mkdir(x, 0755);
	mkdir(s, 0755);
	snprintf(q, sizeof(q), "%s/00:00:00_00:59:59_S0.json", s);
	put(q, "w", "{\"b\":2}\n");
	step(t);
	is_str(data_of(q), "{\"b\":2}\n", "a new day folder and its shard");

	/* idle: closed at the poll after reading to the end */
	a = rec_of(p);
	tail_poll(t, 1);
	is_int(a->closes, 1, "idle at its end: closed");
	is_int(a->forgotten, 0, "idle: not forgotten");
	put(p, "a", "{\"a\":2}\n");
	step(t);
	is_int(a->opens, 2, "grown: opened again");
	is_str(a->data, "{\"a\":1}\n{\"a\":2}\n", "grown: only the new bytes");

	/* renamed inside the folder: the same record, a new name */
	before = nrecs;
	snprintf(x, sizeof(x), "%s/renamed.json", d);
	if (rename(p, x) == -1)
		perror("rename");
	put(x, "a", "{\"a\":3}\n");
	step(t);
	is_int(nrecs, before, "renamed: no new file");
	is_str(a->data, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n",
	    "renamed: read on where it stood");

	/* deleted: forgotten */
	tail_poll(t, 1);
	unlink(q);
	tail_poll(t, 1);
	is_int(rec_of(q)->forgotten, 1, "deleted: forgotten");
	tail_free(t);
}

static void
test_rotated(const char *dir)
{
	struct tail	*t;
	struct stat	 st;
	char		 p[512], p2[512];

	nrecs = 0;
	snprintf(p, sizeof(p), "%s/r.log", dir);
	snprintf(p2, sizeof(p2), "%s/r.log.7", dir);
	put(p, "w", "old\n");
	stat(p, &st);
	if (rename(p, p2) == -1)
		perror("rename");
	put(p, "w", "current\n");
	t = new_tail(NS_PER_SEC);
	ok(tail_add_rotated(t, p, (uint64_t)st.st_dev, (uint64_t)st.st_ino),
	    "a rotated file is found beside its path by its inode");
	tail_read(t, 1 << 20);
	is_str(recs[0].data, "old\n", "... and read");
	stat(p, &st);
	ok(!tail_add_rotated(t, p, (uint64_t)st.st_dev, (uint64_t)st.st_ino),
	    "the file at the path now is not a rotated one");
	tail_free(t);
}

int
main(void)
{
	char	 tmpl[] = "/tmp/test_source_tail.XXXXXX";
	char	*dir, *cmd;

	log_init(0);
	if ((dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	test_file(dir);
	test_dir(dir);
	test_rotated(dir);
	xasprintf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	free(cmd);
	return (done_testing());
}
