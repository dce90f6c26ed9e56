/*
 * watch.c: xo-watchd (see watch.h).
 *
 * The backend gives the events (backend.h: events_open, a descriptor to
 * sleep on, events_next naming the VMs that may need a check-state); this
 * file turns each into a coalesced check-state task of that VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "queue.h"
#include "state.h"
#include "watch.h"

static void queue_check(const char *uuid, const char *why, void *arg)
{
	(void)arg;
	struct xo_vm vm;
	struct xo_task t;
	xo_err e;

	if (xo_vm_load(uuid, &vm, &e) < 0)
		return;    /* not ours (any more) */
	if (xo_submit(uuid, vm.name, "VM_check_state", "", XO_SUBMIT_COALESCE | XO_SUBMIT_DESTROY_ON_FINISH,
		      &t, &e) < 0)
		fprintf(stderr, "xo-watchd: warning: check-state of vm %s (%s): %s\n", vm.name, why, e.msg);
	xo_vm_free(&vm);
}

int xo_watchd_run(xo_err *e)
{
	struct xo_backend *b;
	struct xo_events *ev;
	char (*uuids)[XO_UUID_LEN + 1];
	size_t n;
	int sfd, lock;

	if ((sfd = xo_state_open(e)) < 0)
		return -1;
	lock = openat(sfd, "watchd.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0)
		return xo_err_sys(e, errno, "unable to open '%s/watchd.lock'", xo_state_dir());
	if (flock(lock, LOCK_EX | LOCK_NB) < 0)
		return xo_errf(e, XO_E_BUSY, "xo-watchd already runs for '%s'", xo_state_dir());
	if (xo_backend_open(&b, e) < 0 || xo_be_events_open(b, &ev, e) < 0)
		return -1;
	/* a (re)start of the toolstack: every VM is checked once */
	if (xo_vm_list_uuids(&uuids, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		queue_check(uuids[i], "start", NULL);
	free(uuids);
	fprintf(stderr, "xo-watchd: watching %s (%zu vms)\n", xo_state_dir(), n);
	for (;;) {
		if (xo_be_events_next(b, ev, queue_check, NULL, e) < 0)
			break;
		struct pollfd p = { .fd = xo_be_events_fd(b, ev), .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR) {
			xo_err_sys(e, errno, "poll");
			break;
		}
	}
	xo_be_events_close(b, ev);
	return -1;
}
