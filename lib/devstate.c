/*
 * devstate.c: active flags and VBD epochs (see devstate.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devstate.h"
#include "state.h"
#include "updates.h"

/* ---------------------------------------------------------------- active flags */

int xo_device_set_active(const char *uuid, const char *kind, const char *id, bool active,
			 xo_err *e)
{
	char p[160];

	if (xo_state_open(e) < 0)
		return -1;
	snprintf(p, sizeof(p), "VM/%s/active/%s.%s", uuid, kind, id);
	if (active) {
		int fd = openat(xo_state_fd(), p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 && errno == ENOENT) {
			char dir[96];
			snprintf(dir, sizeof(dir), "VM/%s/active", uuid);
			if (xo_mkdir(xo_state_fd(), dir, e) < 0)
				return -1;
			fd = openat(xo_state_fd(), p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		}
		if (fd < 0)
			return xo_err_sys(e, errno, "unable to mark %s %s active", kind, id);
		close(fd);
	} else if (unlinkat(xo_state_fd(), p, 0) < 0 && errno != ENOENT) {
		return xo_err_sys(e, errno, "unable to mark %s %s inactive", kind, id);
	}
	xo_updates_emit2(kind, uuid, id);
	return 0;
}

bool xo_device_active(const char *uuid, const char *kind, const char *id)
{
	char p[160];
	xo_err ignore;

	if (xo_state_open(&ignore) < 0)
		return false;
	snprintf(p, sizeof(p), "VM/%s/active/%s.%s", uuid, kind, id);
	return faccessat(xo_state_fd(), p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---------------------------------------------------------------- non-persistent disks */

char *xo_vbd_params(const char *uuid, const struct xo_vbd *v)
{
	if (v->persistent || !v->backend[0])
		return xstrdup(v->backend);
	char *copy = xstrdup(v->backend);
	char *base = xstrdup(v->backend);
	char *r = xasprintf("%s/.%s.xo-%.8s-%s", dirname(copy), basename(base), uuid, v->name);
	free(copy);
	free(base);
	return r;
}

int xo_vbd_epoch_begin(const char *uuid, const struct xo_vbd *v, xo_err *e)
{
	struct stat st;
	int in = -1, out = -1, r = -1;
	char *scratch, *tmp;

	if (v->persistent || !v->backend[0])
		return 0;
	scratch = xo_vbd_params(uuid, v);
	tmp = xasprintf("%s.tmp", scratch);
	in = open(v->backend, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0) {
		xo_err_sys(e, errno, "unable to open the original of non-persistent vbd %s ('%s')",
			   v->name, v->backend);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		xo_errf(e, XO_E_INVALID, "non-persistent vbd %s needs a regular file, '%s' is not one",
			v->name, v->backend);
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);
	if (out < 0) {
		xo_err_sys(e, errno, "unable to create '%s'", tmp);
		goto out;
	}
	/* a reflink when the filesystem can, else an in-kernel copy that keeps holes cheap */
	if (ioctl(out, FICLONE, in) < 0) {
		off_t left = st.st_size;
		while (left > 0) {
			ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
			if (n <= 0) {
				xo_err_sys(e, n < 0 ? errno : EIO, "unable to copy '%s'", v->backend);
				goto out;
			}
			left -= n;
		}
	}
	if (fsync(out) < 0 || rename(tmp, scratch) < 0) {
		xo_err_sys(e, errno, "unable to reset non-persistent vbd %s", v->name);
		goto out;
	}
	r = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (r < 0)
		unlink(tmp);
	free(tmp);
	free(scratch);
	return r;
}

int xo_vbd_epoch_end(const char *uuid, const struct xo_vbd *v, xo_err *e)
{
	if (v->persistent || !v->backend[0])
		return 0;
	char *scratch = xo_vbd_params(uuid, v);
	int r = 0;
	if (unlink(scratch) < 0 && errno != ENOENT)
		r = xo_err_sys(e, errno, "unable to remove '%s'", scratch);
	free(scratch);
	return r;
}
