/*
 * state.c: the state directory (see state.h).
 */
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

unsigned long xo_fsync_count;
volatile sig_atomic_t xo_lock_interrupted;

static int state_fd = -1;
static char *state_dir;

static const char *const layout[] = { "VM", "name", "staging", "tasks", "updates", "pool", "sim",
	NULL };

/* real (a resolved path, modified) and every directory above it, above the state
 * directory dir: owned by root or us, writable by others only with the sticky bit */
static int above_check(char *real, const char *dir, xo_err *e)
{
	struct stat st;

	for (;;) {
		const char *p = real[0] ? real : "/";
		if (stat(p, &st) < 0)
			return xo_err_sys(e, errno, "unable to check '%s' above state directory '%s'", p, dir);
		if (st.st_uid != 0 && st.st_uid != geteuid())
			return xo_errf(e, XO_E_SYSTEM, "unsafe state directory '%s': '%s' above it is "
				       "owned by uid %u", dir, p, (unsigned)st.st_uid);
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
			return xo_errf(e, XO_E_SYSTEM, "unsafe state directory '%s': '%s' above it is "
				       "writable by %s", dir, p, st.st_mode & S_IWOTH ? "others" : "its group");
		char *slash = strrchr(real, '/');
		if (!slash || !real[0])
			return 0;
		*slash = '\0';
	}
}

/* the state directory, opened: owned by root or by us and not writable by group or
 * others, and the directories above it safe (above_check) */
static int state_dir_check(int fd, const char *dir, xo_err *e)
{
	char proc[64], real[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return xo_err_sys(e, errno, "unable to check state directory '%s'", dir);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return xo_errf(e, XO_E_SYSTEM, "unsafe state directory '%s': owned by uid %u, "
			       "not by root or by this user", dir, (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return xo_errf(e, XO_E_SYSTEM, "unsafe state directory '%s': writable by %s", dir,
			       st.st_mode & S_IWOTH ? "others" : "its group");
	/* above the directory we opened, not above what the name says now */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, sizeof(real) - 1);
	if (n <= 0 || real[0] != '/')
		return xo_err_sys(e, n < 0 ? errno : ENOENT, "unable to check state directory '%s'", dir);
	real[n] = '\0';
	*strrchr(real, '/') = '\0';
	return above_check(real, dir, e);
}

/* a missing state directory: only its last component is made, in a parent that exists
 * and is safe (a typo in XO_STATE_DIR does not grow a tree); the default's parent
 * /run/nonpersistent, which a stock system lacks, is the one exception */
static int state_dir_create(const char *dir, xo_err *e)
{
	char *parent = xstrdup(dir), real[PATH_MAX];
	int r = -1;

	*strrchr(parent, '/') = '\0';
	const char *p = parent[0] ? parent : "/";
	if (!realpath(p, real) && errno == ENOENT && strcmp(dir, XO_DEFAULT_STATE_DIR) == 0 &&
	    (mkdir(p, 0755) == 0 || errno == EEXIST))
		realpath(p, real);
	if (!realpath(p, real)) {
		if (errno == ENOENT)
			xo_errf(e, XO_E_SYSTEM, "unable to create state directory '%s': its parent '%s' "
				"does not exist", dir, p);
		else
			xo_err_sys(e, errno, "unable to create state directory '%s'", dir);
		goto out;
	}
	if (strcmp(real, "/") == 0)
		real[0] = '\0';
	if (above_check(real, dir, e) < 0)
		goto out;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		xo_err_sys(e, errno, "unable to create state directory '%s'", dir);
		goto out;
	}
	r = 0;
out:
	free(parent);
	return r;
}

int xo_state_open(xo_err *e)
{
	const char *dir;
	int fd;

	if (state_fd >= 0)
		return state_fd;
	dir = getenv("XO_STATE_DIR");
	if (!dir || !*dir)
		dir = XO_DEFAULT_STATE_DIR;
	if (dir[0] != '/')
		return xo_errf(e, XO_E_SYSTEM, "invalid state directory '%s': not an absolute path", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (state_dir_create(dir, e) < 0)
			return -1;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return xo_err_sys(e, errno, "unable to open state directory '%s'", dir);
	if (state_dir_check(fd, dir, e) < 0) {
		close(fd);
		return -1;
	}
	/* a directory we cannot list is unusable, even for reading */
	if (faccessat(fd, ".", R_OK | X_OK, AT_EACCESS) < 0) {
		int err = errno;
		close(fd);
		return xo_err_sys(e, err, "unable to read state directory '%s'", dir);
	}
	for (const char *const *l = layout; *l; l++) {
		if (mkdirat(fd, *l, 0755) < 0 && errno != EEXIST && errno != EROFS &&
		    errno != EACCES) {
			int err = errno;
			close(fd);
			return xo_err_sys(e, err, "unable to create '%s/%s'", dir, *l);
		}
	}
	state_fd = fd;
	state_dir = xstrdup(dir);
	return fd;
}

static struct {
	char name[16];
	int fd;
} subdirs[8];

int xo_state_subdir(const char *name, xo_err *e)
{
	size_t i;
	int sfd, fd;

	for (i = 0; i < XO_ARRAY_SIZE(subdirs) && subdirs[i].name[0]; i++)
		if (strcmp(subdirs[i].name, name) == 0)
			return subdirs[i].fd;
	if ((sfd = xo_state_open(e)) < 0)
		return -1;
	if (mkdirat(sfd, name, 0755) < 0 && errno != EEXIST)
		return xo_err_sys(e, errno, "unable to create '%s/%s'", xo_state_dir(), name);
	fd = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return xo_err_sys(e, errno, "unable to open '%s/%s'", xo_state_dir(), name);
	if (i < XO_ARRAY_SIZE(subdirs)) {
		xo_strlcpy(subdirs[i].name, name, sizeof(subdirs[i].name));
		subdirs[i].fd = fd;
	}
	return fd;
}

static int inotify_fd = -1;
static struct {
	char name[16];
	uint32_t mask;
} watched[8];

int xo_state_inotify(const char *subdir, uint32_t mask, xo_err *e)
{
	size_t i;

	if (inotify_fd < 0) {
		inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (inotify_fd < 0)
			return xo_err_sys(e, errno, "inotify");
	}
	for (i = 0; i < XO_ARRAY_SIZE(watched) && watched[i].name[0]; i++)
		if (strcmp(watched[i].name, subdir) == 0 && (watched[i].mask & mask) == mask)
			return inotify_fd;
	if (xo_state_subdir(subdir, e) < 0)
		return -1;
	char *path = xo_state_path(subdir);
	/* IN_MASK_ADD: a second caller's events add to the first one's */
	int w = inotify_add_watch(inotify_fd, path, mask | IN_MASK_ADD);
	free(path);
	if (w < 0)
		return xo_err_sys(e, errno, "unable to watch '%s/%s'", xo_state_dir(), subdir);
	if (i < XO_ARRAY_SIZE(watched)) {
		xo_strlcpy(watched[i].name, subdir, sizeof(watched[i].name));
		watched[i].mask |= mask;
	}
	return inotify_fd;
}

static unsigned state_gen;

unsigned xo_state_gen(void)
{
	return state_gen;
}

void xo_state_forget(void)
{
	state_gen++;
	inotify_fd = -1;
	memset(watched, 0, sizeof(watched));
	state_fd = -1;
	memset(subdirs, 0, sizeof(subdirs));
}

int xo_state_fd(void)
{
	return state_fd;
}

const char *xo_state_dir(void)
{
	return state_dir ? state_dir : XO_DEFAULT_STATE_DIR;
}

char *xo_state_path(const char *rel)
{
	return xasprintf("%s/%s", xo_state_dir(), rel);
}

static int do_fsync(int fd)
{
	xo_fsync_count++;
	return fsync(fd);
}

int xo_fsync_dir(int dirfd)
{
	return do_fsync(dirfd);
}

static int write_error(xo_err *e, int err, int dirfd, const char *name)
{
	(void)dirfd;
	if (err == EROFS || err == EACCES || err == EPERM)
		return xo_err_sys(e, err, "unable to write '%s' in state directory '%s'", name,
				  xo_state_dir());
	if (err == ENOSPC || err == EDQUOT)
		return xo_err_sys(e, err, "unable to write '%s' (state directory '%s' is full)",
				  name, xo_state_dir());
	return xo_err_sys(e, err, "unable to write '%s'", name);
}

/* a temporary name: ".tmp.<writer>.<random>", the writer (xo_writer_id) so that a
 * leftover of a dead writer can be told from a live one's (xo_tmp_clean); random per
 * process (seeded once, and again in a forked child), then a counter through
 * splitmix64; O_EXCL catches the unlikely clash */
static void tmp_name(char *buf, size_t size)
{
	static uint64_t state;
	static unsigned gen;
	static bool seeded;

	if (!seeded || gen != xo_fork_gen()) {
		xo_random_bytes(&state, sizeof(state));
		gen = xo_fork_gen();
		seeded = true;
	}
	uint64_t z = (state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	snprintf(buf, size, ".tmp.%s.%08llx", xo_writer_id(), (unsigned long long)(z & 0xffffffffull));
}

void xo_tmp_clean(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		unsigned long pid;
		unsigned long long start;
		const char *rest;
		if (strncmp(de->d_name, ".tmp.", 5) != 0 ||
		    xo_writer_parse(de->d_name + 5, &pid, &start, &rest) < 0 || *rest != '.')
			continue;
		if (!xo_writer_alive(pid, start))
			unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

int xo_atomic_write(int dirfd, const char *name, const void *data, size_t len, unsigned flags,
		    xo_err *e)
{
	char tmp[NAME_MAX + 1];
	int fd, err;

	for (int i = 0;; i++) {
		tmp_name(tmp, sizeof(tmp));
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST || i == 8)
			break;
	}
	if (fd < 0)
		return write_error(e, errno, dirfd, name);
	if (xo_write_all(fd, data, len) < 0 || (!(flags & XO_WRITE_NOSYNC) && do_fsync(fd) < 0)) {
		err = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return write_error(e, err, dirfd, name);
	}
	if (close(fd) < 0) {
		err = errno;
		unlinkat(dirfd, tmp, 0);
		return write_error(e, err, dirfd, name);
	}
	if (flags & XO_WRITE_EXCL) {
		if (linkat(dirfd, tmp, dirfd, name, 0) < 0) {
			err = errno;
			unlinkat(dirfd, tmp, 0);
			if (err == EEXIST)
				return xo_errf(e, XO_E_EXISTS, "'%s' already exists", name);
			return write_error(e, err, dirfd, name);
		}
		unlinkat(dirfd, tmp, 0);
	} else if (renameat(dirfd, tmp, dirfd, name) < 0) {
		err = errno;
		unlinkat(dirfd, tmp, 0);
		return write_error(e, err, dirfd, name);
	}
	if ((flags & XO_WRITE_DIRSYNC) && do_fsync(dirfd) < 0)
		return write_error(e, errno, dirfd, name);
	return 0;
}

int xo_read_file(int dirfd, const char *name, char **out, size_t *len, xo_err *e)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return xo_errf(e, XO_E_NOT_FOUND, "'%s' does not exist", name);
		return xo_err_sys(e, errno, "unable to open '%s'", name);
	}
	if (xo_read_all(fd, out, len) < 0) {
		int err = errno;
		close(fd);
		return xo_err_sys(e, err, "unable to read '%s'", name);
	}
	close(fd);
	return 0;
}

int xo_unlink(int dirfd, const char *name, xo_err *e)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return write_error(e, errno, dirfd, name);
	return 0;
}

int xo_mkdir(int dirfd, const char *name, xo_err *e)
{
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return write_error(e, errno, dirfd, name);
	return 0;
}

int xo_rmtree(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR)
			xo_rmtree(fd, de->d_name);
		else if (unlinkat(fd, de->d_name, 0) < 0 && errno == EISDIR)
			xo_rmtree(fd, de->d_name);
	}
	closedir(d);
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

int xo_staging_create(const char *kind, const char *uuid, const char *what, char *name,
		      size_t size, xo_err *e)
{
	int sfd, fd;

	if ((sfd = xo_state_open(e)) < 0)
		return -1;
	snprintf(name, size, "staging/%s.%s.%s", kind, uuid, xo_writer_id());
	if (mkdirat(sfd, name, 0755) < 0)
		return xo_err_sys(e, errno, "unable to create %s in '%s'", what, xo_state_dir());
	fd = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		xo_rmtree(sfd, name);
		return xo_err_sys(e, err, "unable to open '%s'", name);
	}
	return fd;
}

void xo_staging_clean(void (*before)(int fd, const char *kind, const char *uuid))
{
	int sfd = xo_state_fd(), fd;
	DIR *d;
	struct dirent *de;

	if (sfd < 0 || (fd = openat(sfd, "staging", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		char kind[16], uuid[XO_UUID_LEN + 1];
		unsigned long pid;
		unsigned long long start;
		const char *dot = strchr(de->d_name, '.'), *rest;
		if (!dot || dot == de->d_name || (size_t)(dot - de->d_name) >= sizeof(kind) ||
		    strlen(dot + 1) < XO_UUID_LEN + 2 || dot[1 + XO_UUID_LEN] != '.')
			continue;
		xo_strlcpy(kind, de->d_name, (size_t)(dot - de->d_name) + 1);
		xo_strlcpy(uuid, dot + 1, sizeof(uuid));
		if (!xo_uuid_valid(uuid) ||
		    xo_writer_parse(dot + 2 + XO_UUID_LEN, &pid, &start, &rest) < 0 || *rest ||
		    xo_writer_alive(pid, start))
			continue;
		/* dead by its name; and nobody holds it (a writer whose pid we cannot see) */
		int efd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (efd < 0)
			continue;
		if (flock(efd, LOCK_EX | LOCK_NB) == 0) {
			if (before)
				before(efd, kind, uuid);
			xo_rmtree(fd, de->d_name);
		}
		close(efd);
	}
	closedir(d);
}

int xo_vm_resolve(const char *ref, char uuid[XO_UUID_LEN + 1], xo_err *e)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (xo_state_open(e) < 0)
		return -1;
	if (xo_uuid_valid(ref)) {
		snprintf(path, sizeof(path), "VM/%s/config", ref);
		if (fstatat(state_fd, path, &st, 0) == 0) {
			xo_strlcpy(uuid, ref, XO_UUID_LEN + 1);
			return 0;
		}
		if (errno != ENOENT)
			return xo_err_sys(e, errno, "unable to look up vm %s", ref);
		/* fall through: a name may look like a uuid */
	}
	if (xo_name_check(ref, "vm name", NULL) < 0)
		return xo_errf(e, XO_E_NOT_FOUND, "vm '%s' does not exist", ref);
	snprintf(path, sizeof(path), "name/%s", ref);
	n = readlinkat(state_fd, path, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT)
			return xo_errf(e, XO_E_NOT_FOUND, "vm '%s' does not exist", ref);
		return xo_err_sys(e, errno, "unable to look up vm '%s'", ref);
	}
	target[n] = '\0';
	/* "../VM/<uuid>" */
	const char *u = strrchr(target, '/');
	u = u ? u + 1 : target;
	if (!xo_uuid_valid(u))
		return xo_errf(e, XO_E_INTERNAL, "corrupt name index entry '%s' -> '%s'", ref, target);
	snprintf(path, sizeof(path), "VM/%s/config", u);
	if (fstatat(state_fd, path, &st, 0) < 0)
		return xo_errf(e, XO_E_NOT_FOUND, "vm '%s' does not exist", ref);
	xo_strlcpy(uuid, u, XO_UUID_LEN + 1);
	return 0;
}

int xo_vm_dir_open(const char *uuid, xo_err *e)
{
	char path[64];
	int fd;

	if (xo_state_open(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "VM/%s", uuid);
	fd = openat(state_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return xo_errf(e, XO_E_NOT_FOUND, "vm %s does not exist", uuid);
		return xo_err_sys(e, errno, "unable to open vm directory %s", uuid);
	}
	return fd;
}

int xo_vm_dir_lock(int vmfd, bool exclusive, xo_err *e)
{
	while (flock(vmfd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR)
			return xo_err_sys(e, errno, "unable to lock vm directory");
	}
	return 0;
}

bool xo_vm_dir_alive(int vmfd, const char *uuid)
{
	struct stat st, here;
	char path[64];

	snprintf(path, sizeof(path), "VM/%s", uuid);
	return fstatat(vmfd, "config", &st, 0) == 0 && fstat(vmfd, &here) == 0 &&
	       fstatat(xo_state_fd(), path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       st.st_dev == here.st_dev && st.st_ino == here.st_ino;
}

int xo_vm_lock(const char *uuid, bool wait, xo_err *e)
{
	char path[64];
	int fd;

	if (xo_state_open(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "VM/%s/lock", uuid);
	fd = openat(state_fd, path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == ENOENT)
			return xo_errf(e, XO_E_NOT_FOUND, "vm %s does not exist", uuid);
		return xo_err_sys(e, errno, "unable to open the lock of vm %s", uuid);
	}
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		int err = errno;
		if (err == EINTR && !xo_lock_interrupted)
			continue;
		close(fd);
		if (err == EWOULDBLOCK)
			return xo_errf(e, XO_E_BUSY, "vm %s is busy (another xo process holds its lock)",
				       uuid);
		return xo_err_sys(e, err, "unable to lock vm %s", uuid);
	}
	return fd;
}
