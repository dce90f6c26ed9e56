/*
 * cancel.h: cancelling a task, in one place.
 *
 * A cancel is a request, not a signal: xo_cancel_request() creates
 * tasks/<id>.cancel (atomically, so it appears by rename). The operation
 * running the task checks xo_cancel_requested() before every micro-op, and
 * every wait (wait.h) also sleeps on xo_cancel_fd(): the process's inotify
 * descriptor on tasks/, which becomes readable whenever any request appears;
 * the waiter drains it and looks for its own request again. So a cancel
 * interrupts a wait at once, and needs nothing but the state directory: no
 * host, no backend. The request file goes with its task (xo_cancel_forget).
 */
#ifndef XO_CANCEL_H
#define XO_CANCEL_H

#include <stdbool.h>

#include "err.h"

#define XO_TASK_ID_LEN 12

struct xo_cancel {
	char task[XO_TASK_ID_LEN + 1];   /* "" = not cancellable */
};

int xo_cancel_request(const char *task_id, xo_err *e);
bool xo_cancel_requested(const struct xo_cancel *c);
/* the descriptor to poll while waiting (-1 when c is not cancellable or inotify fails) */
int xo_cancel_fd(const struct xo_cancel *c);
/* read away what made the descriptor readable (never blocks) */
void xo_cancel_drain(int fd);
/* remove a task's request, if any */
void xo_cancel_forget(const char *task_id);

#endif
