/*
 * Following files with inotify, and by polling where inotify cannot be
 * used (see source_tail.h for the semantics).  Each followed path is a
 * watch; each file being read is a tfile, whose public part the caller
 * sees.  Positions are byte offsets read with pread(2), so moving a file
 * back (tail_seek()) is only a number.
 *
 * The surprising part is identity.  A path is only a name: every check
 * compares the inode at the path with the one open, and the head of the
 * open file (a hash of its first TAIL_HEAD_MAX bytes) with the one it had,
 * so a rename, a copytruncate and a rewrite in place each look different
 * and are handled as what they are.
 *
 * Inotify only says when to look.  An event makes a path due for the same
 * check a poll makes (stat, walk), or, when it names a file already
 * followed, for a check of that one file; what is true is always read
 * from the file system, never from the events, so a lost event (queue
 * overflow) costs a full check and nothing else.  Directories are watched
 * rather than files: a watch on a file would follow it when it is renamed
 * away, and rotation is a rename.
 *
 * A pattern is a watch that makes others: each path it matches becomes a
 * watch of its own, as if given by name (its kid), and a kid whose path
 * is gone and no longer matches is dropped.  The pattern, not each kid,
 * watches the directories its matches are in, so one event there costs
 * one name match, whatever the number of kids.
 */
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
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
 * make room, and when none is, opening waits for the next tail_poll().
 */
#define TAIL_OPEN_MAX	256
#define TAIL_WATCH_MAX	8192	/* inotify watches, past it: polling */
/* With every path watched, a full check this often still (or poll_ns). */
#define TAIL_RESCAN_NS	(10 * NS_PER_SEC)
/* Events wake tail_wait() no sooner than this: a burst is one round. */
#define TAIL_BATCH_NS	(10 * 1000 * 1000)
/* A directory walked because of events is walked again no sooner. */
#define TAIL_WALK_GAP_NS	(100 * 1000 * 1000)
#define TAIL_EVENT_BUF	16384	/* bytes per read(2) of events */
#define TAIL_IN_MASK	(IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | \
	    IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
	    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

enum watch_kind {
	W_PATH,			/* a file, or a directory once it exists */
	W_GLOB,			/* a pattern: each match is a W_PATH kid */
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
	int		 check;		/* an event named it: stat it */
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
	int		 due;		/* an event: check it at the next poll */
	int		 polled;	/* inotify does not cover all of it */
	int		 remote;	/* the directory is on a remote fs */
	int		 remote_said;	/* ... and the log said so */
	int64_t		 walk_ns;	/* monotonic: the last check */
	/* a pattern's */
	const char	*base;		/* its last component, in path */
	struct watch	**kids;		/* the matches' watches, by path */
	size_t		 nkids;
	/* a kid's */
	struct watch	*glob;		/* the pattern that made it */
	int		 matched;	/* by the pattern's last expansion */
};

/*
 * A directory watched with inotify for one followed path (one kernel
 * watch may serve several).  An event's name is read as prefix + name:
 * the path exactly as dir_walk() builds it, so it can be looked up.
 */
struct inw {
	int		 wd;
	struct watch	*w;
	char		*prefix;	/* "dir/", or "" for "." */
	size_t		 prefix_len;	/* bytes */
	uint64_t	 key;		/* inw_key(w, prefix) */
	uint64_t	 device;	/* the directory's, for excludes */
	uint64_t	 inode;
	int		 is_parent;	/* holds w's path, not part of w's tree */
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
	int			 ifd;		/* inotify; -1: polling only */
	struct inw		**by_wd;	/* sorted by wd */
	struct inw		**by_key;	/* sorted by key */
	size_t			 ninw;
	size_t			 sinw;		/* slots in each */
	int			 due;		/* events were lost: check all */
	int			 pending;	/* files have check set */
	int			 ino_said;	/* a watch failure was logged */
};

/*
 * File systems where inotify misses what another machine, or a FUSE
 * daemon, changes (statfs(2) f_type): paths there are polled.
 */
static const uint32_t remote_fs[] = {
	0x6969,		/* NFS */
	0x517b,		/* SMB */
	0xff534d42,	/* CIFS */
	0xfe534d42,	/* SMB2 */
	0x65735546,	/* FUSE */
	0x5346414f,	/* AFS */
	0x00c36400,	/* Ceph */
	0x01021997,	/* 9P */
	0x73757245,	/* Coda */
	0x01161970,	/* GFS2 */
	0x7461636f,	/* OCFS2 */
	0x0bd00bd0	/* Lustre */
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
	t->ifd = -1;
	if (!cfg->no_inotify &&
	    (t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		log_info("inotify: %s: polling every path", strerror(errno));
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

	if (tail_room(t) == -1) {
		/*
		 * Every descriptor busy: try again at the next poll, by now
		 * files read to their end can make room; not at the next full
		 * check, which with inotify can be a long way off.
		 */
		if (f->in_dir) {
			f->check = 1;
			t->pending = 1;
		} else if (f->w != NULL)
			f->w->due = 1;
		return;
	}
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
	/*
	 * Idle from now: a writer that still holds it may write more, and
	 * inotify tells of a rename as it happens, before those writes.
	 */
	f->active_ns = mono_ns();
	f->at_eof = 0;
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

static void	dir_rehash(struct tail *, struct watch *);

/*
 * The file st, drained as rotated away from another followed path, is at
 * w's path, which is followed too (app.log renamed to app.log.1, both
 * matched by app.log*): it is w's file now, from where it stands.  Else,
 * once drained and forgotten, w would read it again from its start.
 */
static struct tfile *
tfile_adopt(struct tail *t, struct watch *w, const struct stat *st)
{
	struct tfile	*f;
	struct watch	*was;
	size_t		 i;

	for (i = 0; i < t->nfiles; i++) {
		f = t->files[i];
		if (f->dead || !f->pub.is_rotated || f->fd == -1 ||
		    f->pub.device != (uint64_t)st->st_dev ||
		    f->pub.inode != (uint64_t)st->st_ino)
			continue;
		log_info("%s: renamed to %s", f->name, w->path);
		free(f->path);
		free(f->name);
		f->path = xstrdup(w->path);
		f->name = xstrdup(w->path);
		f->pub.path = f->path;
		f->pub.name = f->name;
		f->pub.is_rotated = 0;
		f->in_dir = 0;
		was = f->w;
		f->w = w;
		if (was != NULL && was->map != NULL)
			dir_rehash(t, was);
		return (f);
	}
	return (NULL);
}

static void
watch_file(struct tail *t, struct watch *w, const struct stat *st)
{
	struct tfile	*f = w->cur, *o;

	if (f != NULL && f->fd != -1 &&
	    (f->pub.device != (uint64_t)st->st_dev ||
	    f->pub.inode != (uint64_t)st->st_ino)) {
		/* inode changed: rotated; the old fd drains meanwhile */
		tfile_rotated(f);
		f = w->cur = NULL;
	}
	/* one never opened ("already followed") gives way too */
	if ((f == NULL || (f->fd == -1 && f->pub.user == NULL)) &&
	    (o = tfile_adopt(t, w, st)) != NULL) {
		if (f != NULL)
			tfile_close(t, f, 1);
		f = w->cur = o;
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

/* Is name, in the directory (device, inode), excluded? */
static int
excluded(const struct tail *t, uint64_t device, uint64_t inode,
    const char *name)
{
	size_t	i;

	for (i = 0; i < t->nexcludes; i++)
		if (t->excludes[i].device == device &&
		    t->excludes[i].inode == inode &&
		    strncmp(name, t->excludes[i].prefix,
		    strlen(t->excludes[i].prefix)) == 0)
			return (1);
	return (0);
}

static int
fs_is_remote(const struct statfs *sfs)
{
	size_t	i;

	for (i = 0; i < sizeof(remote_fs) / sizeof(remote_fs[0]); i++)
		if ((uint32_t)sfs->f_type == remote_fs[i])
			return (1);
	return (0);
}

static uint64_t
inw_key(const struct watch *w, const char *prefix)
{
	return (hash64(prefix, strlen(prefix), (uint64_t)(uintptr_t)w));
}

/* The first slot of by_wd whose wd is not below wd. */
static size_t
inw_by_wd(const struct tail *t, int wd)
{
	size_t	lo = 0, hi = t->ninw, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->by_wd[mid]->wd < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* The first slot of by_key whose key is not below key. */
static size_t
inw_by_key(const struct tail *t, uint64_t key)
{
	size_t	lo = 0, hi = t->ninw, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->by_key[mid]->key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

static struct inw *
inw_find(const struct tail *t, const struct watch *w, const char *prefix)
{
	uint64_t	key = inw_key(w, prefix);
	size_t		i;

	for (i = inw_by_key(t, key); i < t->ninw &&
	    t->by_key[i]->key == key; i++)
		if (t->by_key[i]->w == w &&
		    strcmp(t->by_key[i]->prefix, prefix) == 0)
			return (t->by_key[i]);
	return (NULL);
}

static void
inw_add(struct tail *t, struct inw *iw)
{
	size_t	at;

	if (t->ninw == t->sinw) {
		t->sinw = t->sinw == 0 ? 16 : t->sinw * 2;
		t->by_wd = xreallocarray(t->by_wd, t->sinw,
		    sizeof(*t->by_wd));
		t->by_key = xreallocarray(t->by_key, t->sinw,
		    sizeof(*t->by_key));
	}
	at = inw_by_wd(t, iw->wd);
	memmove(&t->by_wd[at + 1], &t->by_wd[at],
	    (t->ninw - at) * sizeof(*t->by_wd));
	t->by_wd[at] = iw;
	at = inw_by_key(t, iw->key);
	memmove(&t->by_key[at + 1], &t->by_key[at],
	    (t->ninw - at) * sizeof(*t->by_key));
	t->by_key[at] = iw;
	t->ninw++;
}

/* Take iw out of both arrays and free it. */
static void
inw_del(struct tail *t, struct inw *iw)
{
	size_t	i;

	for (i = inw_by_key(t, iw->key); t->by_key[i] != iw; i++)
		;	/* it is there: at most a few equal keys */
	memmove(&t->by_key[i], &t->by_key[i + 1],
	    (t->ninw - i - 1) * sizeof(*t->by_key));
	for (i = inw_by_wd(t, iw->wd); t->by_wd[i] != iw; i++)
		;
	memmove(&t->by_wd[i], &t->by_wd[i + 1],
	    (t->ninw - i - 1) * sizeof(*t->by_wd));
	t->ninw--;
	free(iw->prefix);
	free(iw);
}

/* Watch wd is gone (or given up): forget it, and check what it served. */
static void
inw_drop(struct tail *t, int wd)
{
	size_t	i;

	while ((i = inw_by_wd(t, wd)) < t->ninw && t->by_wd[i]->wd == wd) {
		t->by_wd[i]->w->due = 1;
		inw_del(t, t->by_wd[i]);
	}
}

/* Say once why something is not watched: it is polled instead. */
static void
ino_failed(struct tail *t, const char *dir, int err)
{
	if (t->ino_said)
		return;
	t->ino_said = 1;
	if (err == 0)
		log_warnx("%s: inotify: %d directories watched already: "
		    "polling what is not watched", dir, TAIL_WATCH_MAX);
	else if (err == ENOSPC)
		log_warnx("%s: inotify: out of watches (sysctl "
		    "fs.inotify.max_user_watches): polling what is not "
		    "watched", dir);
	else
		log_warnx("%s: inotify: %s: polling what is not watched", dir,
		    strerror(err));
}

/*
 * Watch directory dir (open as dfd, or -1) for w, its events naming
 * prefix + name.  is_parent: dir holds w's path, it is not part of a
 * followed tree.  Returns 1 when newly watched, 0 when watched already,
 * -1 when not (no inotify, gone, out of watches: w must be polled), -2
 * when dir is on a remote file system.
 */
static int
ino_watch(struct tail *t, struct watch *w, const char *dir, int dfd,
    const char *prefix, int is_parent)
{
	struct statfs	 sfs;
	struct stat	 st;
	struct inw	*iw;
	size_t		 i;
	int		 wd;

	if (t->ifd == -1)
		return (-1);
	if (inw_find(t, w, prefix) != NULL)
		return (0);
	if ((dfd != -1 ? fstatfs(dfd, &sfs) : statfs(dir, &sfs)) == -1)
		return (-1);	/* not there (yet): polled meanwhile */
	if (fs_is_remote(&sfs)) {
		if (!w->remote_said)
			log_info("%s: on a network or FUSE file system, where "
			    "inotify misses changes made elsewhere: polling "
			    "it", dir);
		w->remote_said = 1;
		return (-2);
	}
	if (t->ninw >= TAIL_WATCH_MAX) {
		ino_failed(t, dir, 0);
		return (-1);
	}
	if ((wd = inotify_add_watch(t->ifd, dir, TAIL_IN_MASK)) == -1) {
		if (errno != ENOENT && errno != ENOTDIR)
			ino_failed(t, dir, errno);
		return (-1);
	}
	if ((dfd != -1 ? fstat(dfd, &st) : stat(dir, &st)) == -1)
		memset(&st, 0, sizeof(st));
	/* the same directory known under an old name: renamed */
	for (i = inw_by_wd(t, wd); i < t->ninw && t->by_wd[i]->wd == wd; i++)
		if (t->by_wd[i]->w == w &&
		    t->by_wd[i]->is_parent == is_parent) {
			inw_del(t, t->by_wd[i]);
			break;
		}
	iw = xcalloc(1, sizeof(*iw));
	iw->wd = wd;
	iw->w = w;
	iw->prefix = xstrdup(prefix);
	iw->prefix_len = strlen(prefix);
	iw->key = inw_key(w, prefix);
	iw->device = (uint64_t)st.st_dev;
	iw->inode = (uint64_t)st.st_ino;
	iw->is_parent = is_parent;
	inw_add(t, iw);
	return (1);
}

/*
 * Watch the directory that holds w's path, to see the path appear, be
 * renamed, replaced or written.  Returns as ino_watch().
 */
static int
ino_watch_parent(struct tail *t, struct watch *w)
{
	char	*prefix, *dir, *slash;
	int	 rv;

	prefix = xstrdup(w->path);
	if ((slash = strrchr(prefix, '/')) == NULL) {
		prefix[0] = '\0';
		dir = xstrdup(".");
	} else {
		slash[1] = '\0';
		dir = xstrndup(prefix, slash == prefix ? 1 :
		    (size_t)(slash - prefix));
	}
	rv = ino_watch(t, w, dir, -1, prefix, 1);
	free(prefix);
	free(dir);
	return (rv);
}

static struct watch	*glob_kid(const struct watch *, const char *);

/*
 * An event in a directory where pattern w is matched: a name it matches
 * makes that match due, and the pattern too when the name comes or goes
 * (expanded first, it drops a match that is gone before the match's own
 * check calls it missing).  Returns 1 if anything.
 */
static int
glob_event(struct watch *w, const struct inw *iw,
    const struct inotify_event *ev)
{
	struct watch	*kid;
	char		*path;

	if (ev->len == 0 || ev->name[0] == '\0') {
		w->due = 1;	/* the directory itself */
		return (1);
	}
	if (fnmatch(w->base, ev->name, FNM_PERIOD) != 0)
		return (0);
	xasprintf(&path, "%s%s", iw->prefix, ev->name);
	kid = glob_kid(w, path);
	free(path);
	if (kid != NULL)
		kid->due = 1;
	if (kid == NULL || (ev->mask & (IN_CREATE | IN_DELETE |
	    IN_MOVED_FROM | IN_MOVED_TO)) != 0)
		w->due = 1;
	return (1);
}

/* An event of iw's directory: what it makes due.  Returns 1 if anything. */
static int
ino_event(struct tail *t, struct inw *iw, const struct inotify_event *ev)
{
	struct watch	*w = iw->w;
	struct tfile	*f;
	char		*path;
	uint64_t	 h;

	if (ev->len == 0 || ev->name[0] == '\0') {
		w->due = 1;	/* the directory itself */
		return (1);
	}
	if (iw->is_parent && w->kind == W_GLOB)
		return (glob_event(w, iw, ev));
	if (iw->is_parent) {
		/* a directory of other files: only w's name matters */
		if (strcmp(w->path + iw->prefix_len, ev->name) != 0)
			return (0);
		w->due = 1;
		return (1);
	}
	if (ev->name[0] == '.' ||
	    excluded(t, iw->device, iw->inode, ev->name))
		return (0);	/* never followed: the database, temp files */
	if ((ev->mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB)) != 0 &&
	    w->map != NULL) {
		xasprintf(&path, "%s%s", iw->prefix, ev->name);
		f = dir_lookup(w, path, &h);
		free(path);
		if (f != NULL) {
			/* written to: that file alone */
			f->check = 1;
			t->pending = 1;
			return (1);
		}
	}
	w->due = 1;	/* created, renamed, deleted, or not known yet */
	return (1);
}

/*
 * Read the pending events, without acting on them: mark the paths and
 * files they name as due for tail_poll().  Returns 1 when one of them
 * matters.
 */
static int
ino_drain(struct tail *t)
{
	union {
		struct inotify_event	ev;	/* aligns buf */
		char			buf[TAIL_EVENT_BUF];
	} u;
	const struct inotify_event	*ev;
	ssize_t				 n;
	size_t				 off, i;
	int				 any = 0;

	if (t->ifd == -1)
		return (0);
	for (;;) {
		n = read(t->ifd, u.buf, sizeof(u.buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* EAGAIN: nothing more */
		for (off = 0; off + sizeof(*ev) <= (size_t)n;
		    off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(u.buf + off);
			if ((ev->mask & IN_Q_OVERFLOW) != 0) {
				t->due = any = 1;	/* events lost */
				continue;
			}
			if ((ev->mask & IN_IGNORED) != 0) {
				inw_drop(t, ev->wd);
				any = 1;
				continue;
			}
			if ((ev->mask & IN_MOVE_SELF) != 0) {
				/*
				 * Its prefix is wrong now: let it go; a walk
				 * watches it again under its new name.
				 */
				(void)inotify_rm_watch(t->ifd, ev->wd);
				inw_drop(t, ev->wd);
				any = 1;
				continue;
			}
			for (i = inw_by_wd(t, ev->wd); i < t->ninw &&
			    t->by_wd[i]->wd == ev->wd; i++)
				any |= ino_event(t, t->by_wd[i], ev);
		}
	}
	return (any);
}

/*
 * Watch the directory open as d before reading it, so that what appears
 * in it afterwards raises an event, and what was there before is read.
 */
static void
dir_watch(struct tail *t, struct watch *w, const char *dir, DIR *d,
    int depth)
{
	char	*prefix;
	int	 rv;

	if (w->remote) {
		w->polled = 1;	/* the whole tree, found at its top */
		return;
	}
	xasprintf(&prefix, "%s/", dir);
	rv = ino_watch(t, w, dir, dirfd(d), prefix, 0);
	free(prefix);
	if (rv < 0)
		w->polled = 1;
	if (rv == -2 && depth == 0)
		w->remote = 1;
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
		if (depth == 0) {
			report(&w->problem, dir, errno, NULL);
			w->polled = 1;	/* unwatched until it opens */
		} else
			log_info("%s: %s", dir, strerror(errno));
		return;
	}
	if (depth == 0)
		report(&w->problem, dir, 0, NULL);
	dir_watch(t, w, dir, d, depth);
	has_dst = t->nexcludes > 0 && fstat(dirfd(d), &dst) == 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (has_dst && excluded(t, (uint64_t)dst.st_dev,
		    (uint64_t)dst.st_ino, de->d_name))
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
	w->remote = 0;
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

/*
 * A path that is not a directory (a file, or nothing yet): watch where it
 * would be.  A watch new since the path was looked at may have missed
 * it appearing: look again at the next poll.
 */
static void
watch_parent(struct tail *t, struct watch *w)
{
	struct stat	st;

	/* a pattern's match: the pattern watches the directory */
	switch (w->glob != NULL ? 0 : ino_watch_parent(t, w)) {
	case 1:
		w->due = 1;
		break;
	case 0:
		break;
	default:
		w->polled = 1;
		break;
	}
	/* a symbolic link: what its target's directory sees raises nothing */
	if (lstat(w->path, &st) == 0 && S_ISLNK(st.st_mode))
		w->polled = 1;
}

static struct watch *
watch_new(struct tail *t, const char *path)
{
	struct watch	*w;

	w = xcalloc(1, sizeof(*w));
	w->path = xstrdup(path);
	w->kind = W_PATH;
	t->watches = xreallocarray(t->watches, t->nwatches + 1,
	    sizeof(*t->watches));
	t->watches[t->nwatches++] = w;
	return (w);
}

int
tail_is_pattern(const char *path)
{
	return (strpbrk(path, "*?[") != NULL);
}

static int
kid_cmp(const void *key, const void *elem)
{
	const struct watch	*const *kid = elem;

	return (strcmp(key, (*kid)->path));
}

/* Pattern w's match at path, or NULL. */
static struct watch *
glob_kid(const struct watch *w, const char *path)
{
	struct watch	**kid;

	if (w->nkids == 0)
		return (NULL);
	kid = bsearch(path, w->kids, w->nkids, sizeof(*w->kids), kid_cmp);
	return (kid != NULL ? *kid : NULL);
}

/* A new match of w: a watch of its own, checked at this poll. */
static struct watch *
glob_kid_new(struct tail *t, struct watch *w, const char *path)
{
	struct watch	*kid;
	size_t		 at;

	for (at = 0; at < w->nkids && strcmp(w->kids[at]->path, path) < 0;
	    at++)
		;
	kid = watch_new(t, path);
	kid->glob = w;
	kid->due = 1;
	w->kids = xreallocarray(w->kids, w->nkids + 1, sizeof(*w->kids));
	memmove(&w->kids[at + 1], &w->kids[at],
	    (w->nkids - at) * sizeof(*w->kids));
	w->kids[at] = kid;
	w->nkids++;
	log_info("%s: matches %s", w->path, path);
	return (kid);
}

/* Take iw out, and the kernel's watch with the last one to use it. */
static void
ino_unwatch(struct tail *t, struct inw *iw)
{
	int	wd = iw->wd;
	size_t	i;

	inw_del(t, iw);
	if ((i = inw_by_wd(t, wd)) >= t->ninw || t->by_wd[i]->wd != wd)
		(void)inotify_rm_watch(t->ifd, wd);
}

/*
 * Drop kid, a pattern's match that is gone and no longer matches, as a
 * file deleted from a followed directory: what is open drains, the rest
 * is forgotten.  Only from its pattern's glob_poll(): kids come after
 * their pattern in t->watches, so tail_poll()'s walk of it holds.
 */
static void
watch_drop(struct tail *t, struct watch *kid)
{
	size_t	i;

	for (i = 0; i < t->nfiles; i++) {
		struct tfile	*f = t->files[i];

		if (f->w != kid || f->dead)
			continue;
		if (f->fd != -1)
			tfile_rotated(f);
		else
			tfile_close(t, f, 1);
		f->w = NULL;
	}
	for (i = t->ninw; i-- > 0;)
		if (t->by_wd[i]->w == kid)
			ino_unwatch(t, t->by_wd[i]);
	for (i = 0; t->watches[i] != kid; i++)
		;
	memmove(&t->watches[i], &t->watches[i + 1],
	    (t->nwatches - i - 1) * sizeof(*t->watches));
	t->nwatches--;
	log_info("%s: gone", kid->path);
	hmap_free(kid->map);
	free(kid->path);
	free(kid);
}

/* Watch dir, where pattern w's last component is matched. */
static void
glob_watch_dir(struct tail *t, struct watch *w, const char *dir,
    const char *prefix)
{
	if (ino_watch(t, w, dir, -1, prefix, 1) < 0)
		w->polled = 1;	/* not there yet, remote, no watches left */
}

/*
 * Watch the directories where w's last component is matched: the one its
 * path names, or with wildcards in it, each that matches now (one that
 * appears later is found by the next full check; while none does, w is
 * polled, as a path whose directory is not there yet).
 */
static void
glob_watch_dirs(struct tail *t, struct watch *w)
{
	glob_t	 g;
	char	*dir, *prefix;
	size_t	 i, len;
	int	 found = 0;

	if (w->base == w->path) {
		glob_watch_dir(t, w, ".", "");
		return;
	}
	prefix = xstrndup(w->path, (size_t)(w->base - w->path));
	if (strpbrk(prefix, "*?[\\") == NULL) {
		dir = xstrndup(prefix, prefix[1] == '\0' ? 1 :
		    strlen(prefix) - 1);
		glob_watch_dir(t, w, dir, prefix);
		free(dir);
		free(prefix);
		return;
	}
	/* GLOB_MARK: a directory's name ends in '/', a prefix already */
	memset(&g, 0, sizeof(g));
	if (glob(prefix, GLOB_MARK | GLOB_NOSORT, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++) {
			len = strlen(g.gl_pathv[i]);
			if (len < 2 || g.gl_pathv[i][len - 1] != '/')
				continue;
			dir = xstrndup(g.gl_pathv[i], len - 1);
			glob_watch_dir(t, w, dir, g.gl_pathv[i]);
			free(dir);
			found = 1;
		}
	}
	if (!found)
		w->polled = 1;
	globfree(&g);
	free(prefix);
}

/* Is path, matched by a pattern, one never to follow (tail_exclude())? */
static int
glob_excluded(const struct tail *t, const char *path)
{
	struct stat	 st;
	const char	*slash;
	char		*dir;
	int		 rv;

	if (t->nexcludes == 0)
		return (0);
	if ((slash = strrchr(path, '/')) == NULL)
		dir = xstrdup(".");
	else
		dir = xstrndup(path, slash == path ? 1 :
		    (size_t)(slash - path));
	rv = stat(dir, &st) == 0 && excluded(t, (uint64_t)st.st_dev,
	    (uint64_t)st.st_ino, slash != NULL ? slash + 1 : path);
	free(dir);
	return (rv);
}

static int
path_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * Expand pattern w: a path it matches and that is not a kid yet becomes
 * one, checked at this poll; a kid it no longer matches whose path is gone
 * is dropped (one still there but unlisted -- its directory unreadable --
 * stays, and its own check says what is wrong).
 */
static void
glob_poll(struct tail *t, struct watch *w)
{
	struct stat	 st;
	struct watch	*kid;
	glob_t		 g;
	size_t		 i;
	int		 rv;

	w->polled = 0;
	w->walk_ns = mono_ns();
	glob_watch_dirs(t, w);
	memset(&g, 0, sizeof(g));
	if ((rv = glob(w->path, GLOB_NOSORT, NULL, &g)) == GLOB_NOSPACE) {
		log_warnx("%s: out of memory expanding it: retrying", w->path);
		globfree(&g);
		return;		/* keep what we know */
	}
	for (i = 0; i < w->nkids; i++)
		w->kids[i]->matched = 0;
	if (rv == 0)	/* in order, so that kids are added in order */
		qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), path_cmp);
	for (i = 0; rv == 0 && i < g.gl_pathc; i++) {
		if (glob_excluded(t, g.gl_pathv[i]))
			continue;
		if ((kid = glob_kid(w, g.gl_pathv[i])) == NULL)
			kid = glob_kid_new(t, w, g.gl_pathv[i]);
		kid->matched = 1;
	}
	globfree(&g);
	for (i = 0; i < w->nkids;) {
		kid = w->kids[i];
		if (kid->matched || stat(kid->path, &st) == 0 ||
		    (errno != ENOENT && errno != ENOTDIR)) {
			i++;
			continue;
		}
		memmove(&w->kids[i], &w->kids[i + 1],
		    (w->nkids - i - 1) * sizeof(*w->kids));
		w->nkids--;
		watch_drop(t, kid);
	}
	if (w->nkids == 0 && w->problem == 0)
		log_warnx("%s: no match: waiting for one", w->path);
	else if (w->nkids > 0 && w->problem != 0)
		log_warnx("%s: matches %zu path%s now", w->path, w->nkids,
		    w->nkids == 1 ? "" : "s");
	w->problem = w->nkids == 0 ? ENOENT : 0;
}

static void
watch_poll(struct tail *t, struct watch *w)
{
	struct stat	st;
	int		err;

	if (w->kind == W_STDIN)
		return;
	if (w->kind == W_GLOB) {
		glob_poll(t, w);
		return;
	}
	w->polled = 0;
	w->walk_ns = mono_ns();
	if (stat(w->path, &st) == -1) {
		err = errno;
		if (w->cur != NULL && w->cur->fd != -1)
			tfile_rotated(w->cur);	/* gone: drain it */
		else if (w->cur != NULL)
			tfile_close(t, w->cur, 1);
		w->cur = NULL;
		/* a match gone is the pattern's to drop, not to wait for */
		if (w->glob == NULL || err != ENOENT)
			report(&w->problem, w->path, err, NULL);
		watch_parent(t, w);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		w->is_dir = 1;
		watch_dir(t, w);
		return;
	}
	watch_parent(t, w);
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

/* Does some followed path rely on polling? */
static int
tail_polled(const struct tail *t)
{
	size_t	i;

	for (i = 0; i < t->nwatches; i++)
		if (t->watches[i]->kind != W_STDIN &&
		    (t->ifd == -1 || t->watches[i]->polled))
			return (1);
	return (0);
}

/* How long until the next full check. */
static int64_t
tail_interval(const struct tail *t)
{
	if (tail_polled(t) || t->cfg.poll_ns >= TAIL_RESCAN_NS)
		return (t->cfg.poll_ns);
	return (TAIL_RESCAN_NS);	/* in case an event was missed */
}

/* The files events named: what their paths say now. */
static void
tail_check_files(struct tail *t)
{
	struct stat	 st;
	char		*path;
	size_t		 i;

	t->pending = 0;
	for (i = 0; i < t->nfiles; i++) {
		struct tfile	*f = t->files[i];

		if (!f->check)
			continue;
		f->check = 0;
		if (f->dead || f->pub.is_rotated || f->w == NULL)
			continue;
		if (lstat(f->path, &st) == -1 || !S_ISREG(st.st_mode)) {
			f->w->due = 1;	/* gone or replaced: a walk says */
			continue;
		}
		path = xstrdup(f->path);	/* dir_file() may rename f */
		dir_file(t, f->w, path, &st);
		free(path);
	}
}

/*
 * Close files idle at their end: at every call, as it costs no system
 * call, so they close in time whatever the interval of full checks.
 * full: also see how far rotated files have grown.
 */
static void
tail_close_idle(struct tail *t, int64_t now, int full)
{
	struct stat	st;
	size_t		i;

	for (i = 0; i < t->nfiles; i++) {
		struct tfile	*f = t->files[i];

		if (f->dead || f->fd == -1 || f->pub.is_stdin)
			continue;
		if (full && f->pub.is_rotated && fstat(f->fd, &st) == 0 &&
		    (uint64_t)st.st_size > f->pub.size)
			f->pub.size = (uint64_t)st.st_size;
		if ((f->in_dir || f->pub.is_rotated) && f->at_eof &&
		    f->pub.pos >= f->pub.size &&
		    now - f->active_ns >= t->cfg.idle_ns)
			tfile_close(t, f, f->pub.is_rotated);
	}
}

void
tail_poll(struct tail *t, int force)
{
	struct watch	*w;
	int64_t		 now, next;
	size_t		 i;
	int		 full;

	(void)ino_drain(t);
	if (t->pending)
		tail_check_files(t);
	now = mono_ns();
	full = force || t->due || now >= t->next_poll_ns;
	t->due = 0;
	for (i = 0; i < t->nwatches; i++) {
		w = t->watches[i];
		/* a tree is walked again after a gap, not at every event */
		if (full || (w->due && (!w->is_dir ||
		    now - w->walk_ns >= TAIL_WALK_GAP_NS))) {
			w->due = 0;
			watch_poll(t, w);
		}
	}
	/* sooner when a path lost its watch */
	next = now + tail_interval(t);
	if (full || next < t->next_poll_ns)
		t->next_poll_ns = next;
	tail_close_idle(t, now, full);
	tail_sweep(t);
}

void
tail_add(struct tail *t, const char *path)
{
	struct stat	 st;
	struct watch	*w;
	struct tfile	*f;
	char		*prefix;

	w = watch_new(t, path);
	if (strcmp(path, "-") == 0)
		w->kind = W_STDIN;
	else if (tail_is_pattern(path)) {
		w->kind = W_GLOB;
		w->base = strrchr(w->path, '/') != NULL ?
		    strrchr(w->path, '/') + 1 : w->path;
		glob_watch_dirs(t, w);
		return;
	}
	if (w->kind != W_STDIN) {
		/*
		 * Watch now, opening nothing: tail_uses_inotify() can tell
		 * before the first poll whether it will poll.
		 */
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			xasprintf(&prefix, "%s/", path);
			w->polled = ino_watch(t, w, path, -1, prefix, 0) < 0;
			free(prefix);
		} else
			watch_parent(t, w);
		return;
	}
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
	struct pollfd	pfd[2];
	nfds_t		n = 0;
	size_t		i;
	int64_t		start, end, now;
	int		has_stdin = 0, rv;

	for (i = 0; i < t->nfiles; i++) {
		if (t->files[i]->pub.is_stdin && !t->files[i]->dead) {
			pfd[n].fd = STDIN_FILENO;
			pfd[n].events = POLLIN;
			n++;
			has_stdin = 1;
			break;
		}
	}
	if (t->ifd != -1) {
		pfd[n].fd = t->ifd;
		pfd[n].events = POLLIN;
		n++;
	}
	start = mono_ns();
	end = start + (int64_t)ms * 1000000;
	while ((now = mono_ns()) < end) {
		rv = poll(n > 0 ? pfd : NULL, n,
		    (int)((end - now + 999999) / 1000000));
		if (rv <= 0)
			return;	/* the time is up, or a signal */
		if (has_stdin && pfd[0].revents != 0)
			return;
		/* events that name nothing followed do not end the wait */
		if (ino_drain(t) && end > start + TAIL_BATCH_NS)
			end = start + TAIL_BATCH_NS;
	}
}

int
tail_uses_inotify(const struct tail *t)
{
	return (t->ifd != -1 && !tail_polled(t));
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
	while (t->ninw > 0)
		inw_del(t, t->by_wd[t->ninw - 1]);
	free(t->by_wd);
	free(t->by_key);
	if (t->ifd != -1)
		close(t->ifd);
	for (i = 0; i < t->nwatches; i++) {
		hmap_free(t->watches[i]->map);
		free(t->watches[i]->kids);
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
