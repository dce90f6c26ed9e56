/*
 * console.c: a VM's PV console (see console.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"

/* a pty, or a unix socket (the kvm backend's consoles) */
static int console_open(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if (strlen(path) >= sizeof(sa.sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(sa.sun_path, path, strlen(path) + 1);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		return fd;
	}
	return open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

int xo_console_attach(const char *tty, int in, int out, enum xo_console_end *how, xo_err *e)
{
	struct termios saved, t;
	bool raw = false, in_open = true;
	char buf[4096];
	int fd, r = -1;

	fd = console_open(tty);
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
	int fd, r;

	if (xo_be_console_log(b, vm, &path, e) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT)
			xo_errf(e, XO_E_NOT_FOUND, "vm %s has no console log: '%s' does not exist",
				vm->name, path);
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
