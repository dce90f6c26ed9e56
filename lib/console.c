/*
 * console.c: a VM's PV console (see console.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "domain.h"
#include "xs.h"

struct tty_wait {
	uint32_t domid;
	char dom[64], key[96];
	char tty[256];
};

static int tty_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct tty_wait *w = arg;

	if (!xo_xs_exists(xs, XBT_NULL, w->dom))
		return xo_errf(e, XO_E_POWER_STATE, "domain %u went away", w->domid);
	xo_xs_read_buf(xs, XBT_NULL, w->key, w->tty, sizeof(w->tty));
	return w->tty[0] ? 1 : 0;
}

int xo_console_tty(struct xo_backend *b, const struct xo_vm *vm, char **tty, xo_err *e)
{
	struct tty_wait w;
	char what[160];
	uint32_t d;
	int r;

	if (!b->ops->console_pty)
		return xo_errf(e, XO_E_INVALID,
			       "the %s backend has no console to attach to (its guests only write a log: "
			       "xo-vm-console --log %s)", b->ops->name, vm->name);
	r = xo_vm_find_domain(b, vm->uuid, &d, NULL, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no console)", vm->name);
	memset(&w, 0, sizeof(w));
	w.domid = d;
	snprintf(w.dom, sizeof(w.dom), "/local/domain/%u", d);
	snprintf(w.key, sizeof(w.key), "/local/domain/%u/console/tty", d);
	snprintf(what, sizeof(what), "xenconsoled to give domain %u a console (%s): is xenconsoled running?",
		 d, w.key);
	/* xenconsoled writes the key once it has mapped the ring, right after the introduction */
	struct xo_xs_wait xw = { .paths = { w.key, "@releaseDomain" }, .cond = tty_cond, .arg = &w,
				 .timeout_ms = XO_CONSOLE_TTY_WAIT_MS, .timeout_cls = XO_E_TIMEOUT,
				 .what = what, .extra_fd = -1 };
	if (xo_xs_wait(b->xs, &xw, e) < 0)
		return -1;
	*tty = xstrdup(w.tty);
	return 0;
}

int xo_console_attach(const char *tty, int in, int out, enum xo_console_end *how, xo_err *e)
{
	struct termios saved, t;
	bool raw = false, in_open = true;
	char buf[4096];
	int fd, r = -1;

	fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return xo_err_sys(e, errno, "unable to open the console '%s'", tty);
	/* the guest's bytes as they are: no echo, no line editing on our side of the pty */
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	if (isatty(in) && tcgetattr(in, &saved) == 0) {
		t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(in, TCSANOW, &t) == 0;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = in_open ? in : -1, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			xo_err_sys(e, errno, "poll");
			break;
		}
		if (p[0].revents & POLLIN) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n > 0) {
				if (xo_write_all(out, buf, (size_t)n) < 0) {
					xo_err_sys(e, errno, "unable to write the console's output");
					break;
				}
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			/* 0 or EIO: xenconsoled closed its end (the domain is gone) */
			*how = XO_CONSOLE_CLOSED;
			r = 0;
			break;
		}
		if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			*how = XO_CONSOLE_CLOSED;
			r = 0;
			break;
		}
		if (p[1].revents) {
			ssize_t n = read(in, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				in_open = false;      /* no more input: keep showing the output */
				continue;
			}
			char *esc = memchr(buf, XO_CONSOLE_ESCAPE, (size_t)n);
			size_t len = esc ? (size_t)(esc - buf) : (size_t)n;
			if (xo_write_all(fd, buf, len) < 0) {     /* len 0 (^] first) writes nothing */
				xo_err_sys(e, errno, "unable to write to the console '%s'", tty);
				break;
			}
			if (esc) {
				*how = XO_CONSOLE_ESCAPED;
				r = 0;
				break;
			}
		}
	}
	if (raw)
		tcsetattr(in, TCSADRAIN, &saved);
	close(fd);
	return r;
}

int xo_console_log(struct xo_backend *b, const struct xo_vm *vm, int out, xo_err *e)
{
	char *path = NULL, buf[65536];
	uint32_t d;
	int fd, r;

	if (!b->ops->console_log)
		return xo_errf(e, XO_E_INTERNAL, "the %s backend keeps no console logs", b->ops->name);
	r = xo_vm_find_domain(b, vm->uuid, &d, NULL, e);
	if (r < 0)
		return -1;
	if (b->ops->console_log(b, vm->name, r > 0 ? (int)d : -1, &path, e) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT)
			xo_errf(e, XO_E_NOT_FOUND,
				"vm %s has no console log: '%s' does not exist (%s)", vm->name, path,
				b->ops->console_pty ? "xenconsoled writes it only with --log=guest"
						    : "its guest has not written anything yet");
		else
			xo_err_sys(e, err, "unable to open the console log '%s'", path);
		free(path);
		return -1;
	}
	r = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = xo_err_sys(e, errno, "unable to read the console log '%s'", path);
			break;
		}
		if (n == 0)
			break;
		if (xo_write_all(out, buf, (size_t)n) < 0) {
			r = xo_err_sys(e, errno, "unable to write the console log");
			break;
		}
	}
	close(fd);
	free(path);
	return r;
}
