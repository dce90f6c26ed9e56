/*
 * cancel.c: cancel requests (see cancel.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cancel.h"
#include "state.h"

static int tasks_dir(xo_err *e)
{
	return xo_state_subdir("tasks", e);
}

static void request_name(const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s.cancel", id);
}

int xo_cancel_request(const char *task_id, xo_err *e)
{
	char name[64];
	int dfd = tasks_dir(e);

	if (dfd < 0)
		return -1;
	request_name(task_id, name, sizeof(name));
	return xo_atomic_write(dfd, name, "", 0, 0, e);
}

bool xo_cancel_requested(const struct xo_cancel *c)
{
	char name[64];
	xo_err ignore;
	int dfd;

	if (!c || !c->task[0] || (dfd = tasks_dir(&ignore)) < 0)
		return false;
	request_name(c->task, name, sizeof(name));
	return faccessat(dfd, name, F_OK, 0) == 0;
}

int xo_cancel_fd(const struct xo_cancel *c)
{
	xo_err ignore;

	if (!c || !c->task[0])
		return -1;
	/* a request appears by rename (atomic write) */
	return xo_state_inotify("tasks", IN_MOVED_TO | IN_CREATE, &ignore);
}

void xo_cancel_drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

void xo_cancel_forget(const char *task_id)
{
	char name[64];
	xo_err ignore;
	int dfd = tasks_dir(&ignore);

	if (dfd < 0)
		return;
	request_name(task_id, name, sizeof(name));
	unlinkat(dfd, name, 0);
}
