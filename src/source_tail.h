/*
 * Stage 1 for the daemon: bytes from followed files, directories and
 * stdin, with tail -F semantics.  A followed file is stat()ed at every
 * check: appended bytes are read; a new inode at the path is a rotation
 * (the old descriptor is drained to its end, then closed after an idle
 * period, while the new file is read from its start); a file shorter than
 * what was read, or whose head changed, was truncated or rewritten and is
 * read again from the start; a file that does not exist yet is waited
 * for.  A directory is walked at every check, recursively, and every
 * regular file in it is followed the same way; a file idle at its end for
 * the idle period is closed, so old shards hold no descriptors.  A
 * pattern (a path with *, ? or [ in it, glob(7)) is expanded at every
 * check, and each path it matches, file or directory, is followed as if
 * given; a match that is gone and no longer matches is forgotten.
 *
 * When to check is told by inotify where it can be used: the directory
 * holding each followed file, and every directory of a followed tree,
 * are watched, and a change in them makes the path it concerns due at
 * once (a file written to: that file alone; a name created, renamed or
 * deleted: its path, or its tree walked again).  Everything is still
 * checked every max(poll_ns, 10 s) in case an event was missed.  Where
 * inotify cannot be used -- disabled (no_inotify) or unavailable, a
 * remote file system (NFS, SMB, FUSE and the like, whose changes made
 * elsewhere raise no event here), the watches exhausted, a directory not
 * there yet, a followed file that is a symbolic link (its target's
 * directory is not watched) -- the paths are checked every poll_ns, by
 * polling, as a whole.  Open files are read whenever tail_read() is
 * called, either way.
 *
 * This module knows files, not entries: the caller says where to start
 * reading each file (open callback), gets its bytes (data callback), and
 * may move a file back (tail_seek()) when what it counted was lost.
 */
#ifndef SOURCE_TAIL_H
#define SOURCE_TAIL_H

#include <stddef.h>
#include <stdint.h>

#define TAIL_HEAD_MAX	4096	/* bytes of a file's head that identify it */

/* One file being followed, as the caller sees it. */
struct tail_file {
	const char	*path;		/* the followed path it belongs to: the
					   file's own, or a rotated file's old
					   one; "-" for stdin */
	const char	*name;		/* for messages: where it is now */
	uint64_t	 device;	/* st_dev */
	uint64_t	 inode;		/* st_ino */
	uint64_t	 fingerprint;	/* hash64 of its head, seed 0 */
	uint32_t	 fingerprint_len;	/* bytes, <= TAIL_HEAD_MAX */
	uint64_t	 size;		/* bytes, at the last stat */
	uint64_t	 pos;		/* offset of the next byte to read */
	int		 is_stdin;
	int		 is_rotated;	/* no longer at its path: drained, then
					   forgotten */
	void		*user;		/* the caller's, NULL at first open */
};

struct tail_callbacks {
	/*
	 * f was opened: for the first time (f->user is NULL), again after
	 * an idle close, or again from its start because it was truncated
	 * or rewritten (reset = 1, f->pos is 0).  Set f->pos to the offset
	 * to read from.
	 */
	void	(*open)(struct tail_file *f, int reset, void *arg);
	/* len bytes were read; they end at f->pos. */
	void	(*data)(struct tail_file *f, const void *buf, size_t len,
		    void *arg);
	/*
	 * f's descriptor is closed.  forget = 0: idle, it may open again;
	 * forget = 1: gone for good (a rotated file drained, a file deleted
	 * from a followed directory, stdin at its end), and f is freed when
	 * this returns.
	 */
	void	(*close)(struct tail_file *f, int forget, void *arg);
	void	*arg;
};

struct tail_config {
	int64_t			 poll_ns;	/* stat and walk this often
						   where inotify is not used */
	int64_t			 idle_ns;	/* close a file idle at its end
						   this long (directories and
						   rotated files) */
	struct tail_callbacks	 cb;
	int			 no_inotify;	/* poll every path */
};

struct tail;

/* With inotify unless cfg says no_inotify, or it cannot start (logged). */
struct tail	*tail_new(const struct tail_config *);
/* Close every file (close(forget = 0)) and free.  NULL ok. */
void		 tail_free(struct tail *);

/*
 * Follow path: "-" for stdin, a directory (every regular file under it,
 * recursively, but names starting with '.'), a file, which need not
 * exist yet, or a pattern (tail_is_pattern()), which need match nothing
 * yet.  Nothing is opened before the first tail_poll() (the directory, or
 * the one holding the file or the pattern's matches, is watched at once).
 */
void		 tail_add(struct tail *, const char *path);

/* Is path a pattern to expand: does it hold *, ? or [ ? */
int		 tail_is_pattern(const char *path);

/*
 * Never follow files whose name starts with path's last component in
 * path's directory, when they are found by walking a directory: the
 * database, its -wal and -shm files, a pidfile.
 */
void		 tail_exclude(struct tail *, const char *path);

/*
 * Look in path's directory for the file (device, inode) -- rotated away
 * from path, e.g. renamed to path.1 -- and, when it is there and is not
 * the file at path now, follow it as a rotated file of path: read to its
 * end from where the open callback says, then forget it.  Returns 1 when
 * found, 0 when not.
 */
int		 tail_add_rotated(struct tail *, const char *path,
		    uint64_t device, uint64_t inode);

/*
 * Check what is due: the paths and files that events named since the last
 * call, and every path when a full check is due (force: now) -- stat
 * files, walk directories, notice rotations, truncations, new and deleted
 * files.  Idle files are closed at every call.  Problems (a path that
 * vanished or cannot be read) are logged once each, and the path retried
 * at every check.
 */
void		 tail_poll(struct tail *, int force);

/*
 * Read what the open files hold beyond their position, at most budget
 * bytes from each.  Returns the bytes read.
 */
size_t		 tail_read(struct tail *, size_t budget);

/*
 * Sleep up to ms, less when stdin has input, a signal comes, or an event
 * names something followed (then at least 10 ms, so that a burst of
 * events is one round).
 */
void		 tail_wait(struct tail *, int ms);

/*
 * 1 when inotify covers every followed file and directory (stdin needs
 * none), so that full checks are only a safety net; 0 when some path is
 * polled every poll_ns.  Before the first tail_poll() it says what
 * tail_add() found; afterwards, what the last checks found, as a
 * directory that appears, goes or runs out of watches changes it.
 */
int		 tail_uses_inotify(const struct tail *);

/* Is anything left to follow?  0 once stdin, followed alone, ended. */
int		 tail_active(const struct tail *);

/* Call fn for every file known. */
void		 tail_each(struct tail *, void (*fn)(struct tail_file *,
		    void *), void *arg);

/* Read f again from pos: what was read after it is read once more. */
void		 tail_seek(struct tail_file *f, uint64_t pos);

/*
 * hash64 of f's first len bytes (seed 0) into *h.  Returns 0, or -1
 * when f is closed, shorter than len, or cannot be read.
 */
int		 tail_head(struct tail_file *f, uint32_t len, uint64_t *h);

#endif
