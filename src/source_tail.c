/*
 * Following files by polling (see source_tail.h for the semantics).  Each
 * followed path is a watch; each file being read is a tfile, whose public
 * part the caller sees.  Positions are byte offsets read with pread(2),
 * so moving a file back (tail_seek()) is only a number.
 *
 * The surprising part is identity.  A path is only a name: every poll
 * compares the inode at the path with the one open, and the head of the
 * open file (a hash of its first TAIL_HEAD_MAX bytes) with the one it had,
 * so a rename, a copytruncate and a rewrite in place each look different
 * and are handled as what they are.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hmap.h"
#include "log.h"
#include "source.h"
#include "source_tail.h"
#include "util.h"
#include "xmalloc.h"

#define TAIL_DEPTH_MAX	32	/* directory levels walked */
/*
 * Descriptors held at once.  Past half of it a file found with nothing to
 * read is closed at once; at the cap, files at their end are closed to
 * make room, and when none is, opening waits for a later poll.
 */
#define TAIL_OPEN_MAX	256

enum watch_kind {
	W_PATH,			/* a file, or a directory once it exists */
	W_STDIN
};

struct watch;

struct tfile {
	struct tail_file pub;		/* the caller's view */
	char		*path;		/* pub.path */
	char		*name;		/* pub.name */
	int		 fd;		/* -1: closed */
	int64_t		 mtime_ns;	/* at the last stat */
	int64_t		 active_ns;	/* monotonic: opened or last read */
	int		 at_eof;	/* the last read found no more */
	int		 in_dir;	/* found by walking a directory */
	int		 seen;		/* by the current walk */
	int		 problem;	/* errno reported, 0: none */
	int		 dead;		/* forgotten: freed by the next sweep */
	struct watch	*w;		/* NULL for rotated files found later */
	struct tfile	*next_hash;	/* same hash in w->map */
};

struct watch {
	char		*path;
	enum watch_kind	 kind;
	int		 is_dir;	/* the path is a directory */
	struct tfile	*cur;		/* a file path: the file there now */
	int		 problem;	/* errno reported, 0: none */
	struct hmap	*map;		/* a directory: hash64(path) -> tfile */
};

/* Names not to follow: those starting with prefix in directory (dev, ino). */
struct exclude {
	uint64_t		 device;
	uint64_t		 inode;
	char			*prefix;
};

struct tail {
	struct tail_config	 cfg;
	struct exclude		*excludes;
	size_t			 nexcludes;
	struct watch		**watches;
	size_t			 nwatches;
	struct tfile		**files;
	size_t			 nfiles;
	size_t			 sfiles;
	int64_t			 next_poll_ns;	/* monotonic */
	int			 swept;		/* files were removed */
	size_t			 nopen;		/* descriptors held */
	char			*buf;		/* SOURCE_CHUNK bytes */
};

static int64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec);
}

static int64_t
mtime_of(const struct stat *st)
{
	return ((int64_t)st->st_mtim.tv_sec * NS_PER_SEC +
	    st->st_mtim.tv_nsec);
}

struct tail *
tail_new(const struct tail_config *cfg)
{
	struct tail	*t;

	t = xcalloc(1, sizeof(*t));
	t->cfg = *cfg;
	t->buf = xmalloc(SOURCE_CHUNK);
	return (t);
}

static struct tfile *
tfile_new(struct tail *t, struct watch *w, const char *path,
    const char *name)
{
	struct tfile	*f;

	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->name = xstrdup(name);
	f->pub.path = f->path;
	f->pub.name = f->name;
	f->fd = -1;
	f->w = w;
	if (t->nfiles == t->sfiles) {
		t->sfiles = t->sfiles == 0 ? 16 : t->sfiles * 2;
		t->files = xreallocarray(t->files, t->sfiles,
		    sizeof(*t->files));
	}
	t->files[t->nfiles++] = f;
	return (f);
}

static void
tfile_close(struct tail *t, struct tfile *f, int forget)
{
	if (f->dead)
		return;
	if (f->fd != -1 && f->fd != STDIN_FILENO) {
		close(f->fd);
		t->nopen--;
	}
	f->fd = -1;
	if (f->pub.user != NULL || forget)
		t->cfg.cb.close(&f->pub, forget, t->cfg.cb.arg);
	if (forget) {
		f->dead = 1;
		f->pub.user = NULL;
		t->swept = 1;
	}
}

/* Say once what is wrong with a path (err 0: it recovered). */
static void
report(int *problem, const char *name, int err, const char *what)
{
	if (err == *problem)
		return;
	if (err == 0 && *problem == ENOENT)
		log_warnx("%s: there now", name);
	else if (err == 0)
		log_warnx("%s: readable again", name);
	else
		log_warnx("%s: %s%s", name, what != NULL ? what :
		    strerror(err), err == ENOENT ? ": waiting for it" :
		    ": retrying");
	*problem = err;
}

/* Hash the first len bytes of an open file. */
static int
head_hash(int fd, uint32_t len, uint64_t *h)
{
	char		 buf[TAIL_HEAD_MAX];
	ssize_t		 n;
	size_t		 got = 0;

	while (got < len) {
		n = pread(fd, buf + got, len - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		got += (size_t)n;
	}
	*h = hash64(buf, len, 0);
	return (0);
}

int
tail_head(struct tail_file *pub, uint32_t len, uint64_t *h)
{
	struct tfile	*f = (struct tfile *)pub;

	if (f->fd == -1 || pub->is_stdin || len > TAIL_HEAD_MAX)
		return (-1);
	return (head_hash(f->fd, len, h));
}

/* Fingerprint the head as far as it goes now. */
static void
fingerprint(struct tfile *f)
{
	uint32_t	len;

	len = f->pub.size < TAIL_HEAD_MAX ? (uint32_t)f->pub.size :
	    TAIL_HEAD_MAX;
	if (head_hash(f->fd, len, &f->pub.fingerprint) == 0)
		f->pub.fingerprint_len = len;
}

/* Is (device, inode) open as another file already? */
static struct tfile *
open_elsewhere(struct tail *t, const struct tfile *self, const struct stat *st)
{
	size_t	i;

	for (i = 0; i < t->nfiles; i++) {
		struct tfile	*o = t->files[i];

		if (o != self && !o->dead && o->pub.user != NULL &&
		    !o->pub.is_stdin &&
		    o->pub.device == (uint64_t)st->st_dev &&
		    o->pub.inode == (uint64_t)st->st_ino)
			return (o);
	}
	return (NULL);
}

/* The file was truncated or rewritten: read it again from 0. */
static void
tfile_reset(struct tail *t, struct tfile *f)
{
	log_warnx("%s: truncated or rewritten: reading it again from the "
	    "start", f->name);
	f->pub.pos = 0;
	f->pub.fingerprint_len = 0;
	fingerprint(f);
	f->at_eof = 0;
	t->cfg.cb.open(&f->pub, 1, t->cfg.cb.arg);
}

/* Under TAIL_OPEN_MAX descriptors, closing files at their end if need be. */
static int
tail_room(struct tail *t)
{
	size_t	i;

	for (i = 0; i < t->nfiles && t->nopen >= TAIL_OPEN_MAX; i++) {
		struct tfile	*f = t->files[i];

		if (f->fd != -1 && !f->dead && !f->pub.is_stdin &&
		    (f->in_dir || f->pub.is_rotated) &&
		    f->pub.pos >= f->pub.size)
			tfile_close(t, f, f->pub.is_rotated);
	}
	return (t->nopen < TAIL_OPEN_MAX ? 0 : -1);
}

/*
 * Open f's name.  A file that is another inode than the one known under
 * it replaced it while it was closed: the old one is forgotten.
 */
static void
tfile_open(struct tail *t, struct tfile *f)
{
	struct stat	 st;
	struct tfile	*o;
	uint64_t	 h;
	uint32_t	 old_len = f->pub.fingerprint_len;
	uint64_t	 old_fp = f->pub.fingerprint;
	int		 fd, reset = 0;

	if (tail_room(t) == -1)
		return;		/* every descriptor busy: a later poll */
	if ((fd = open(f->name, O_RDONLY | O_CLOEXEC)) == -1) {
		report(&f->problem, f->name, errno, NULL);
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		report(&f->problem, f->name, errno != 0 ? errno : EINVAL,
		    "not a regular file");
		close(fd);
		return;
	}
	if ((o = open_elsewhere(t, f, &st)) != NULL) {
		/* one file under two names: read it once */
		report(&f->problem, f->name, EEXIST, "already followed");
		close(fd);
		return;
	}
	report(&f->problem, f->name, 0, NULL);
	if (f->pub.user != NULL && (f->pub.device != (uint64_t)st.st_dev ||
	    f->pub.inode != (uint64_t)st.st_ino)) {
		/* replaced while closed: what we knew is gone */
		t->cfg.cb.close(&f->pub, 1, t->cfg.cb.arg);
		f->pub.user = NULL;
		old_len = 0;
	}
	f->fd = fd;
	t->nopen++;
	f->pub.device = (uint64_t)st.st_dev;
	f->pub.inode = (uint64_t)st.st_ino;
	f->pub.size = (uint64_t)st.st_size;
	f->mtime_ns = mtime_of(&st);
	f->active_ns = mono_ns();
	f->at_eof = 0;
	if (f->pub.user != NULL && old_len > 0 &&
	    (head_hash(fd, old_len, &h) == -1 || h != old_fp))
		reset = 1;
	f->pub.fingerprint_len = 0;
	fingerprint(f);
	f->pub.pos = 0;
	if (reset)
		log_warnx("%s: rewritten while closed: reading it again from "
		    "the start", f->name);
	t->cfg.cb.open(&f->pub, reset, t->cfg.cb.arg);
	if (f->pub.pos > f->pub.size)
		f->pub.pos = f->pub.size;
	/* an old shard with nothing new holds no descriptor */
	if (f->in_dir && f->pub.pos >= f->pub.size &&
	    t->nopen > TAIL_OPEN_MAX / 2)
		tfile_close(t, f, 0);
}

/*
 * An open file, same inode as at its path: has it grown, shrunk, or
 * changed its head?
 */
static void
tfile_check(struct tail *t, struct tfile *f, const struct stat *st)
{
	uint64_t	h;
	uint64_t	size = (uint64_t)st->st_size;

	if (size < f->pub.pos) {
		/* shorter than what we read: copytruncate */
		f->pub.size = size;
		f->mtime_ns = mtime_of(st);
		tfile_reset(t, f);
		return;
	}
	if (size != f->pub.size || mtime_of(st) != f->mtime_ns) {
		if (f->pub.fingerprint_len > 0 &&
		    (head_hash(f->fd, f->pub.fingerprint_len, &h) == -1 ||
		    h != f->pub.fingerprint)) {
			f->pub.size = size;
			f->mtime_ns = mtime_of(st);
			tfile_reset(t, f);
			return;
		}
		f->pub.size = size;
		f->mtime_ns = mtime_of(st);
		if (f->pub.fingerprint_len < TAIL_HEAD_MAX &&
		    size > f->pub.fingerprint_len)
			fingerprint(f);
	}
}

/* The path holds another inode than f's: f was rotated away. */
static void
tfile_rotated(struct tfile *f)
{
	char	*name;

	if (f->pub.is_rotated)
		return;
	f->pub.is_rotated = 1;
	xasprintf(&name, "%s (rotated)", f->path);
	free(f->name);
	f->name = name;
	f->pub.name = name;
	log_info("%s: draining", f->name);
}

/* What the path of file f says now; st is the path's. */
static void
tfile_seen_at(struct tail *t, struct tfile *f, const struct stat *st)
{
	if (f->fd == -1) {
		if (f->pub.user == NULL || f->problem != 0 ||
		    f->pub.device != (uint64_t)st->st_dev ||
		    f->pub.inode != (uint64_t)st->st_ino ||
		    f->pub.size != (uint64_t)st->st_size ||
		    f->mtime_ns != mtime_of(st))
			tfile_open(t, f);
		return;
	}
	tfile_check(t, f, st);
}

static void
watch_file(struct tail *t, struct watch *w, const struct stat *st)
{
	struct tfile	*f = w->cur;

	if (f != NULL && f->fd != -1 &&
	    (f->pub.device != (uint64_t)st->st_dev ||
	    f->pub.inode != (uint64_t)st->st_ino)) {
		/* inode changed: rotated; the old fd drains meanwhile */
		tfile_rotated(f);
		f = w->cur = NULL;
	}
	if (f == NULL)
		f = w->cur = tfile_new(t, w, w->path, w->path);
	tfile_seen_at(t, f, st);
}

static struct tfile *
dir_lookup(struct watch *w, const char *path, uint64_t *hp)
{
	struct tfile	**head, *f;
	uint64_t	  h = hash64(path, strlen(path), 0);

	*hp = h;
	if ((head = hmap_get(w->map, &h)) == NULL)
		return (NULL);
	for (f = *head; f != NULL; f = f->next_hash)
		if (!f->dead && !f->pub.is_rotated &&
		    strcmp(f->path, path) == 0)
			return (f);
	return (NULL);
}

static void	dir_rehash(struct tail *, struct watch *);

/*
 * A file of the directory known under another name with st's inode, whose
 * old name is gone: it was renamed.
 */
static struct tfile *
dir_renamed(struct tail *t, struct watch *w, const struct stat *st)
{
	struct stat	 old;
	size_t		 i;

	for (i = 0; i < t->nfiles; i++) {
		struct tfile	*f = t->files[i];

		if (f->w != w || f->dead || f->pub.user == NULL ||
		    f->pub.device != (uint64_t)st->st_dev ||
		    f->pub.inode != (uint64_t)st->st_ino)
			continue;
		if (!f->pub.is_rotated && lstat(f->path, &old) == 0 &&
		    old.st_dev == st->st_dev && old.st_ino == st->st_ino)
			return (NULL);	/* a second link: read it once */
		return (f);
	}
	return (NULL);
}

static void
dir_file(struct tail *t, struct watch *w, const char *path,
    const struct stat *st)
{
	struct tfile	*f, **head;
	uint64_t	 h;
	int		 is_new;

	if ((f = dir_lookup(w, path, &h)) != NULL && f->fd != -1 &&
	    (f->pub.device != (uint64_t)st->st_dev ||
	    f->pub.inode != (uint64_t)st->st_ino)) {
		tfile_rotated(f);
		f = NULL;
	}
	if (f == NULL && (f = dir_renamed(t, w, st)) != NULL) {
		/* renamed inside the directory: same file, new name */
		log_info("%s: renamed to %s", f->name, path);
		free(f->path);
		free(f->name);
		f->path = xstrdup(path);
		f->name = xstrdup(path);
		f->pub.path = f->path;
		f->pub.name = f->name;
		f->pub.is_rotated = 0;
		dir_rehash(t, w);
	} else if (f == NULL) {
		f = tfile_new(t, w, path, path);
		f->in_dir = 1;
		head = hmap_put(w->map, &h, &is_new);
		f->next_hash = is_new ? NULL : *head;
		*head = f;
	}
	f->seen = 1;
	tfile_seen_at(t, f, st);
}

/* Is name, in the directory open as d, excluded? */
static int
excluded(const struct tail *t, const struct stat *dst, const char *name)
{
	size_t	i;

	for (i = 0; i < t->nexcludes; i++)
		if (t->excludes[i].device == (uint64_t)dst->st_dev &&
		    t->excludes[i].inode == (uint64_t)dst->st_ino &&
		    strncmp(name, t->excludes[i].prefix,
		    strlen(t->excludes[i].prefix)) == 0)
			return (1);
	return (0);
}

static void
dir_walk(struct tail *t, struct watch *w, const char *dir, int depth)
{
	struct dirent	*de;
	struct stat	 st, dst;
	DIR		*d;
	char		*path;
	int		 has_dst;

	if ((d = opendir(dir)) == NULL) {
		if (depth == 0)
			report(&w->problem, dir, errno, NULL);
		else
			log_info("%s: %s", dir, strerror(errno));
		return;
	}
	if (depth == 0)
		report(&w->problem, dir, 0, NULL);
	has_dst = t->nexcludes > 0 && fstat(dirfd(d), &dst) == 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (has_dst && excluded(t, &dst, de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1)
			continue;	/* gone meanwhile */
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (S_ISDIR(st.st_mode) && depth < TAIL_DEPTH_MAX)
			dir_walk(t, w, path, depth + 1);
		else if (S_ISREG(st.st_mode))
			dir_file(t, w, path, &st);
		free(path);
	}
	closedir(d);
}

/* Rebuild a directory's map from the files still there. */
static void
dir_rehash(struct tail *t, struct watch *w)
{
	struct tfile	**head, *f;
	size_t		  i;
	uint64_t	  h;
	int		  is_new;

	hmap_clear(w->map);
	for (i = 0; i < t->nfiles; i++) {
		f = t->files[i];
		if (f->w != w || f->dead || f->pub.is_rotated)
			continue;
		h = hash64(f->path, strlen(f->path), 0);
		head = hmap_put(w->map, &h, &is_new);
		f->next_hash = is_new ? NULL : *head;
		*head = f;
	}
}

static void
watch_dir(struct tail *t, struct watch *w)
{
	size_t	i;
	int	gone = 0;

	if (w->map == NULL)
		w->map = hmap_new(sizeof(uint64_t), sizeof(struct tfile *));
	for (i = 0; i < t->nfiles; i++)
		if (t->files[i]->w == w)
			t->files[i]->seen = 0;
	dir_walk(t, w, w->path, 0);
	if (w->problem != 0)
		return;		/* unreadable: keep what we know */
	for (i = 0; i < t->nfiles; i++) {
		struct tfile	*f = t->files[i];

		if (f->w != w || f->seen || f->dead || f->pub.is_rotated)
			continue;
		/* deleted: drain what is open, forget the rest */
		gone = 1;
		if (f->fd != -1)
			tfile_rotated(f);
		else
			tfile_close(t, f, 1);
	}
	if (gone)
		dir_rehash(t, w);
}

static void
watch_poll(struct tail *t, struct watch *w)
{
	struct stat	st;

	if (w->kind == W_STDIN)
		return;
	if (stat(w->path, &st) == -1) {
		if (w->cur != NULL && w->cur->fd != -1)
			tfile_rotated(w->cur);	/* gone: drain it */
		else if (w->cur != NULL)
			tfile_close(t, w->cur, 1);
		w->cur = NULL;
		report(&w->problem, w->path, errno, NULL);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		w->is_dir = 1;
		watch_dir(t, w);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		report(&w->problem, w->path, EINVAL, "not a regular file or "
		    "directory");
		return;
	}
	report(&w->problem, w->path, 0, NULL);
	watch_file(t, w, &st);
}

/* Drop forgotten files from the list. */
static void
tail_sweep(struct tail *t)
{
	size_t	i, k;

	if (!t->swept)
		return;
	for (i = k = 0; i < t->nfiles; i++) {
		struct tfile	*f = t->files[i];

		if (f->dead) {
			free(f->path);
			free(f->name);
			free(f);
		} else
			t->files[k++] = f;
	}
	t->nfiles = k;
	t->swept = 0;
	for (i = 0; i < t->nwatches; i++)
		if (t->watches[i]->map != NULL)
			dir_rehash(t, t->watches[i]);
}

void
tail_poll(struct tail *t, int force)
{
	int64_t	 now = mono_ns();
	size_t	 i;

	if (!force && now < t->next_poll_ns)
		return;
	t->next_poll_ns = now + t->cfg.poll_ns;
	for (i = 0; i < t->nwatches; i++)
		watch_poll(t, t->watches[i]);
	/* rotated files: their growth; idle files: close */
	for (i = 0; i < t->nfiles; i++) {
		struct tfile	*f = t->files[i];
		struct stat	 st;

		if (f->dead || f->fd == -1 || f->pub.is_stdin)
			continue;
		if (f->pub.is_rotated && fstat(f->fd, &st) == 0 &&
		    (uint64_t)st.st_size > f->pub.size)
			f->pub.size = (uint64_t)st.st_size;
		if ((f->in_dir || f->pub.is_rotated) && f->at_eof &&
		    f->pub.pos >= f->pub.size &&
		    now - f->active_ns >= t->cfg.idle_ns)
			tfile_close(t, f, f->pub.is_rotated);
	}
	tail_sweep(t);
}

void
tail_add(struct tail *t, const char *path)
{
	struct watch	*w;
	struct tfile	*f;

	w = xcalloc(1, sizeof(*w));
	w->path = xstrdup(path);
	w->kind = strcmp(path, "-") == 0 ? W_STDIN : W_PATH;
	t->watches = xreallocarray(t->watches, t->nwatches + 1,
	    sizeof(*t->watches));
	t->watches[t->nwatches++] = w;
	if (w->kind != W_STDIN)
		return;
	f = tfile_new(t, w, "-", "(stdin)");
	f->pub.is_stdin = 1;
	f->fd = STDIN_FILENO;
	t->cfg.cb.open(&f->pub, 0, t->cfg.cb.arg);
	f->pub.pos = 0;
}

void
tail_exclude(struct tail *t, const char *path)
{
	struct stat	 st;
	struct exclude	*x;
	char		*dir, *slash;
	const char	*base;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		base = path + (slash - dir) + 1;
		*(slash == dir ? slash + 1 : slash) = '\0';
	} else {
		base = path;
		free(dir);
		dir = xstrdup(".");
	}
	if (*base != '\0' && stat(dir, &st) == 0) {
		t->excludes = xreallocarray(t->excludes, t->nexcludes + 1,
		    sizeof(*t->excludes));
		x = &t->excludes[t->nexcludes++];
		x->device = (uint64_t)st.st_dev;
		x->inode = (uint64_t)st.st_ino;
		x->prefix = xstrdup(base);
	}
	free(dir);
}

int
tail_add_rotated(struct tail *t, const char *path, uint64_t device,
    uint64_t inode)
{
	struct dirent	*de;
	struct stat	 st, cur;
	struct tfile	*f;
	DIR		*d;
	char		*dir, *slash, *name;
	int		 found = 0;

	if (stat(path, &cur) == 0 && (uint64_t)cur.st_dev == device &&
	    (uint64_t)cur.st_ino == inode)
		return (0);	/* still there: not rotated */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else {
		free(dir);
		dir = xstrdup(".");
	}
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return (0);
	}
	while (!found && (de = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_dev != device ||
		    (uint64_t)st.st_ino != inode)
			continue;
		if (open_elsewhere(t, NULL, &st) != NULL)
			break;
		xasprintf(&name, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ?
		    "" : "/", de->d_name);
		f = tfile_new(t, NULL, path, name);
		free(name);
		tfile_open(t, f);
		if (f->fd == -1)
			f->dead = t->swept = 1;
		else {
			tfile_rotated(f);	/* never opened again */
			found = 1;
		}
	}
	closedir(d);
	free(dir);
	tail_sweep(t);
	return (found);
}

static size_t
read_stdin(struct tail *t, struct tfile *f, size_t budget)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	size_t		 total = 0;

	while (total < budget) {
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) <= 0)
			break;
		n = read(STDIN_FILENO, t->buf, SOURCE_CHUNK);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			break;
		if (n <= 0) {
			if (n == -1)
				log_warnx("(stdin): %s", strerror(errno));
			tfile_close(t, f, 1);
			break;
		}
		f->pub.pos += (uint64_t)n;
		f->pub.size = f->pub.pos;
		total += (size_t)n;
		t->cfg.cb.data(&f->pub, t->buf, (size_t)n, t->cfg.cb.arg);
	}
	return (total);
}

static size_t
read_file(struct tail *t, struct tfile *f, size_t budget)
{
	ssize_t		 n;
	size_t		 total = 0;

	while (total < budget && f->fd != -1) {
		n = pread(f->fd, t->buf, SOURCE_CHUNK, (off_t)f->pub.pos);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			report(&f->problem, f->name, errno, NULL);
			tfile_close(t, f, f->pub.is_rotated);
			break;
		}
		if (n == 0) {
			f->at_eof = 1;
			break;
		}
		f->at_eof = 0;
		f->active_ns = mono_ns();
		f->pub.pos += (uint64_t)n;
		if (f->pub.pos > f->pub.size)
			f->pub.size = f->pub.pos;
		total += (size_t)n;
		t->cfg.cb.data(&f->pub, t->buf, (size_t)n, t->cfg.cb.arg);
	}
	return (total);
}

size_t
tail_read(struct tail *t, size_t budget)
{
	size_t	i, total = 0;

	for (i = 0; i < t->nfiles; i++) {
		struct tfile	*f = t->files[i];

		if (f->dead || f->fd == -1)
			continue;
		if (f->pub.is_stdin)
			total += read_stdin(t, f, budget);
		else
			total += read_file(t, f, budget);
	}
	tail_sweep(t);
	return (total);
}

void
tail_wait(struct tail *t, int ms)
{
	struct pollfd	pfd;
	size_t		i;

	for (i = 0; i < t->nfiles; i++) {
		if (t->files[i]->pub.is_stdin && !t->files[i]->dead) {
			pfd.fd = STDIN_FILENO;
			pfd.events = POLLIN;
			(void)poll(&pfd, 1, ms);
			return;
		}
	}
	(void)poll(NULL, 0, ms);	/* a signal ends it early */
}

int
tail_active(const struct tail *t)
{
	size_t	i;

	for (i = 0; i < t->nwatches; i++)
		if (t->watches[i]->kind != W_STDIN)
			return (1);
	for (i = 0; i < t->nfiles; i++)
		if (!t->files[i]->dead)
			return (1);
	return (0);
}

void
tail_each(struct tail *t, void (*fn)(struct tail_file *, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < t->nfiles; i++)
		if (!t->files[i]->dead)
			fn(&t->files[i]->pub, arg);
}

void
tail_seek(struct tail_file *pub, uint64_t pos)
{
	struct tfile	*f = (struct tfile *)pub;

	if (pub->is_stdin)
		return;
	pub->pos = pos;
	f->at_eof = 0;
}

void
tail_free(struct tail *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nfiles; i++) {
		tfile_close(t, t->files[i], 0);
		free(t->files[i]->path);
		free(t->files[i]->name);
		free(t->files[i]);
	}
	for (i = 0; i < t->nwatches; i++) {
		hmap_free(t->watches[i]->map);
		free(t->watches[i]->path);
		free(t->watches[i]);
	}
	for (i = 0; i < t->nexcludes; i++)
		free(t->excludes[i].prefix);
	free(t->excludes);
	free(t->watches);
	free(t->files);
	free(t->buf);
	free(t);
}
