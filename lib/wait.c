/*
 * wait.c: waiting for a condition (see wait.h).
 */
#include <errno.h>
#include <poll.h>

#include "util.h"
#include "wait.h"

int xo_wait(const struct xo_wait *w, xo_err *e)
{
	struct pollfd pfd[XO_WAIT_FDS + 1];
	int map[XO_WAIT_FDS + 1];
	nfds_t n = 0;
	int cfd = xo_cancel_fd(w->cancel);
	uint64_t deadline = w->timeout_ms >= 0 ? xo_now_ms() + (uint64_t)w->timeout_ms : 0;
	const char *what = w->what ? w->what : "a condition";

	for (int i = 0; i < XO_WAIT_FDS; i++) {
		if (w->fds[i] >= 0) {
			pfd[n] = (struct pollfd){ .fd = w->fds[i], .events = POLLIN };
			map[n++] = i;
		}
	}
	if (cfd >= 0) {
		pfd[n] = (struct pollfd){ .fd = cfd, .events = POLLIN };
		map[n++] = -1;
	}
	for (;;) {
		if (xo_cancel_requested(w->cancel))
			return xo_errf(e, XO_E_CANCELLED, "cancelled while waiting for %s", what);
		int c = w->cond(w->arg, e);
		if (c != 0)
			return c > 0 ? 0 : -1;
		int ms = -1;
		if (w->timeout_ms >= 0) {
			uint64_t now = xo_now_ms();
			if (now >= deadline)
				return xo_errf(e, w->timeout_cls ? w->timeout_cls : XO_E_TIMEOUT,
					       "timed out after %d ms waiting for %s", w->timeout_ms, what);
			ms = (int)(deadline - now);
		}
		if (poll(pfd, n, ms) < 0) {
			if (errno == EINTR)
				continue;
			return xo_err_sys(e, errno, "poll");
		}
		for (nfds_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (map[i] < 0)
				xo_cancel_drain(pfd[i].fd);
			else if (w->drain)
				w->drain(w->arg, pfd[i].fd);
		}
	}
}
