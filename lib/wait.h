/*
 * wait.h: waiting for a condition, never polling.
 *
 * xo_wait() evaluates cond, and until it holds (1) or fails (-1) sleeps in
 * poll(2) on the given descriptors (a xenstore watch, a pidfd, a QMP
 * socket...), then on any of them being readable runs drain (to consume
 * what woke it) and evaluates cond again. It ends with the timeout's class
 * after timeout_ms (< 0: never), and with class cancelled as soon as the
 * task of `cancel` is cancelled (cancel.h: its descriptor is polled too).
 */
#ifndef XO_WAIT_H
#define XO_WAIT_H

#include "cancel.h"
#include "err.h"

#define XO_WAIT_FDS 6

/* 1 holds, 0 not yet, -1 failed (e set) */
typedef int (*xo_wait_cond)(void *arg, xo_err *e);

struct xo_wait {
	xo_wait_cond cond;
	void *arg;
	int fds[XO_WAIT_FDS];          /* -1 for unused slots */
	void (*drain)(void *arg, int fd);   /* after fds[i] was readable (may be NULL) */
	int timeout_ms;                /* < 0: for ever */
	enum xo_ecls timeout_cls;      /* default timeout */
	const char *what;              /* "hotplug-status of vbd xvda", for the messages */
	const struct xo_cancel *cancel;
};

/* a struct xo_wait with every descriptor slot unused */
#define XO_WAIT_INIT { .fds = { -1, -1, -1, -1, -1, -1 }, .timeout_ms = -1 }

int xo_wait(const struct xo_wait *w, xo_err *e);

#endif
