/*
 * xs.c: xenstore helpers (see xs.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "task.h"
#include "util.h"
#include "xs.h"

struct xo_xs_perms xo_xs_perm_dom0(void)
{
	struct xo_xs_perms p = { .owner = 0, .other = 'n', .n_acl = 0 };
	return p;
}

struct xo_xs_perms xo_xs_perm_ro(unsigned d)
{
	return xo_xs_perm_owner_reader(0, d);
}

struct xo_xs_perms xo_xs_perm_rw(unsigned d)
{
	struct xo_xs_perms p = { .owner = d, .other = 'n', .n_acl = 0 };
	return p;
}

struct xo_xs_perms xo_xs_perm_owner_reader(unsigned owner, unsigned reader)
{
	struct xo_xs_perms p = { .owner = owner, .other = 'n', .n_acl = 1 };
	p.acl_dom[0] = reader;
	p.acl_perm[0] = 'r';
	return p;
}

static unsigned perm_bits(char c)
{
	switch (c) {
	case 'r': return XS_PERM_READ;
	case 'w': return XS_PERM_WRITE;
	case 'b': return XS_PERM_READ | XS_PERM_WRITE;
	default: return XS_PERM_NONE;
	}
}

char *xo_xs_read(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned len;
	return xs_read(xs, t, path, &len);
}

bool xo_xs_read_buf(struct xs_handle *xs, xs_transaction_t t, const char *path, char *buf,
		    size_t size)
{
	char *v = xo_xs_read(xs, t, path);
	if (!v) {
		if (size)
			buf[0] = '\0';
		return false;
	}
	xo_strlcpy(buf, v, size);
	free(v);
	return true;
}

bool xo_xs_exists(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	char *v = xo_xs_read(xs, t, path);
	free(v);
	return v != NULL;
}

static int xs_fail(xo_err *e, const char *op, const char *path)
{
	int err = errno ? errno : EIO;
	if (err == EAGAIN)
		return xo_errf(e, XO_E_SYSTEM, "xenstore %s '%s': transaction conflict", op, path);
	return xo_err_sys(e, err, "xenstore %s '%s'", op, path);
}

int xo_xs_write(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *value,
		xo_err *e)
{
	if (!xs_write(xs, t, path, value, (unsigned)strlen(value)))
		return xs_fail(e, "write", path);
	return 0;
}

int xo_xs_printf(struct xs_handle *xs, xs_transaction_t t, const char *path, xo_err *e,
		 const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return xo_xs_write(xs, t, path, buf, e);
}

int xo_xs_set_perms(struct xs_handle *xs, xs_transaction_t t, const char *path,
		    const struct xo_xs_perms *p, xo_err *e)
{
	struct xs_permissions perms[1 + XO_XS_ACL_MAX];
	unsigned n = 0;

	perms[n].id = p->owner;
	perms[n].perms = perm_bits(p->other);
	n++;
	for (int i = 0; i < p->n_acl && i < XO_XS_ACL_MAX; i++) {
		perms[n].id = p->acl_dom[i];
		perms[n].perms = perm_bits(p->acl_perm[i]);
		n++;
	}
	if (!xs_set_permissions(xs, t, path, perms, n))
		return xs_fail(e, "set-perms", path);
	return 0;
}

int xo_xs_mkdir(struct xs_handle *xs, xs_transaction_t t, const char *path,
		const struct xo_xs_perms *p, xo_err *e)
{
	if (!xs_mkdir(xs, t, path))
		return xs_fail(e, "mkdir", path);
	return p ? xo_xs_set_perms(xs, t, path, p, e) : 0;
}

int xo_xs_rm(struct xs_handle *xs, xs_transaction_t t, const char *path, xo_err *e)
{
	if (!xs_rm(xs, t, path) && errno != ENOENT)
		return xs_fail(e, "rm", path);
	return 0;
}

char **xo_xs_ls(struct xs_handle *xs, xs_transaction_t t, const char *path, unsigned *n)
{
	char **v = xs_directory(xs, t, path, n);
	if (!v)
		*n = 0;
	return v;
}

int xo_xs_transaction(struct xs_handle *xs,
		      int (*fn)(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e),
		      void *arg, xo_err *e)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		xs_transaction_t t = xs_transaction_start(xs);
		if (t == XBT_NULL)
			return xo_err_sys(e, errno, "xenstore transaction start");
		if (fn(xs, t, arg, e) < 0) {
			int saved = errno;
			xs_transaction_end(xs, t, true);
			if (saved == EAGAIN)
				continue;   /* a read inside saw the conflict early */
			return -1;
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return xo_err_sys(e, errno, "xenstore transaction commit");
	}
	return xo_errf(e, XO_E_SYSTEM, "xenstore transaction: too many conflicts");
}

static unsigned long wait_counter;

int xo_xs_wait(struct xs_handle *xs, const struct xo_xs_wait *w, xo_err *e)
{
	char token[64], cancel_path[128] = "";
	const char *paths[10];
	int n = 0, r = -1;
	uint64_t deadline = w->timeout_ms >= 0 ? xo_now_ms() + (uint64_t)w->timeout_ms : 0;

	/* most conditions already hold: no watch round trips then */
	if (!(w->cancel && xo_cancel_requested(w->cancel))) {
		int c = w->cond(xs, w->arg, e);
		if (c != 0)
			return c > 0 ? 0 : -1;
	}
	snprintf(token, sizeof(token), "xo-wait-%d-%lu", (int)getpid(), ++wait_counter);
	for (int i = 0; i < 8 && w->paths[i]; i++)
		paths[n++] = w->paths[i];
	if (w->cancel && xo_cancel_xs_path(w->cancel, cancel_path, sizeof(cancel_path)))
		paths[n++] = cancel_path;
	for (int i = 0; i < n; i++) {
		if (!xs_watch(xs, paths[i], token)) {
			xo_err_sys(e, errno, "xenstore watch '%s'", paths[i]);
			for (int j = 0; j < i; j++)
				xs_unwatch(xs, paths[j], token);
			return -1;
		}
	}
	int fd = xs_fileno(xs);
	for (;;) {
		if (w->cancel && xo_cancel_requested(w->cancel)) {
			xo_errf(e, XO_E_CANCELLED, "cancelled while waiting for %s",
				w->what ? w->what : "xenstore");
			break;
		}
		int c = w->cond(xs, w->arg, e);
		if (c != 0) {
			r = c > 0 ? 0 : -1;
			break;
		}
		int wait = -1;
		if (w->timeout_ms >= 0) {
			uint64_t now = xo_now_ms();
			if (now >= deadline) {
				xo_errf(e, w->timeout_cls ? w->timeout_cls : XO_E_DEVICE_TIMEOUT,
					"timed out after %d ms waiting for %s", w->timeout_ms,
					w->what ? w->what : "xenstore");
				break;
			}
			wait = (int)(deadline - now);
		}
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
					 { .fd = w->extra_fd, .events = POLLIN } };
		int np = w->extra_fd >= 0 ? 2 : 1;
		if (poll(pfd, (nfds_t)np, wait) < 0 && errno != EINTR) {
			xo_err_sys(e, errno, "poll");
			break;
		}
		if (pfd[0].revents) {
			char **ev;
			/* drain: events of earlier waits on this handle are simply dropped */
			while ((ev = xs_check_watch(xs)) != NULL)
				free(ev);
		}
	}
	for (int i = 0; i < n; i++)
		xs_unwatch(xs, paths[i], token);
	return r;
}
