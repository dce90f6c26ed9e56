/*
 * watch.c: xo-watchd (see watch.h).
 *
 * Domains are tracked in an array indexed by domid (domids are below
 * DOMID_FIRST_RESERVED, 0x7FF0), so an event costs O(1) to attribute; the
 * domain list is re-read only on @introduceDomain and @releaseDomain, which
 * is how xenstored tells a toolstack that the set of domains changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "domain.h"
#include "queue.h"
#include "state.h"
#include "watch.h"
#include "xs.h"

#define MAX_DOMID 0x7ff0

struct dom {
	char uuid[XO_UUID_LEN + 1];
	bool shutdown;
	int skip;          /* initial watch fires still to come */
	int dm_pid;        /* the device model xo started (the VM's record), 0: none */
	int dm_fd;         /* a pidfd on it while it runs, else -1 */
};

static struct dom *doms[MAX_DOMID];

static const char *const dom_paths[] = { "/local/domain/%u/control", "/local/domain/%u/memory/target",
	"/local/domain/%u/data", "/local/domain/%u/console", "/local/domain/%u/action-request",
	"/local/domain/%u/qemu-pid-signal", "/local/domain/0/backend/vbd/%u",
	"/local/domain/0/backend/vif/%u", "/local/domain/0/device-model/%u", NULL };

static void queue_check(const char *uuid, const char *why)
{
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

/* follow the VM's device model: a pidfd on the pid its record names (the record is saved
 * once the model runs, so any later event of the domain brings it) */
static void dm_track(struct dom *x)
{
	struct xo_extra ex;
	xo_err ignore;
	int pid = 0;

	if (xo_extra_load(x->uuid, &ex, &ignore) == 0) {
		pid = ex.dm_pid;
		xo_extra_free(&ex);
	}
	if (pid == x->dm_pid)
		return;
	if (x->dm_fd >= 0)
		close(x->dm_fd);
	x->dm_fd = pid > 0 ? pidfd_open((pid_t)pid, 0) : -1;
	x->dm_pid = pid;
}

static void dom_free(struct dom *x)
{
	if (x->dm_fd >= 0)
		close(x->dm_fd);
	free(x);
}

static void dom_watch(struct xo_backend *b, uint32_t d, bool on)
{
	char path[128], token[32];

	snprintf(token, sizeof(token), "d:%u", d);
	for (const char *const *p = dom_paths; *p; p++) {
		snprintf(path, sizeof(path), *p, d);
		if (on)
			xs_watch(b->xs, path, token);
		else
			xs_unwatch(b->xs, path, token);
	}
}

/* the VM of a domain, if xo manages it */
static bool managed(struct xo_backend *b, uint32_t d, char uuid[XO_UUID_LEN + 1])
{
	char path[64], v[128];
	struct stat st;

	snprintf(path, sizeof(path), "/local/domain/%u/vm", d);
	if (!xo_xs_read_buf(b->xs, XBT_NULL, path, v, sizeof(v)) || !xo_str_startswith(v, "/vm/"))
		return false;
	if (!xo_uuid_valid(v + 4))
		return false;
	snprintf(path, sizeof(path), "VM/%s/config", v + 4);
	if (fstatat(xo_state_fd(), path, &st, 0) < 0)
		return false;
	xo_strlcpy(uuid, v + 4, XO_UUID_LEN + 1);
	return true;
}

static void rescan(struct xo_backend *b)
{
	static bool seen[MAX_DOMID];
	struct xo_dominfo *all = NULL;
	size_t n = 0;
	xo_err e;

	if (xo_dom_list(b, &all, &n, &e) < 0) {
		fprintf(stderr, "xo-watchd: warning: %s\n", e.msg);
		return;
	}
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < n; i++) {
		uint32_t d = all[i].domid;
		if (d == 0 || d >= MAX_DOMID)
			continue;
		seen[d] = true;
		struct dom *x = doms[d];
		if (!x) {
			char uuid[XO_UUID_LEN + 1];
			if (!managed(b, d, uuid))
				continue;
			x = xcalloc(1, sizeof(*x));
			xo_strlcpy(x->uuid, uuid, sizeof(x->uuid));
			x->skip = (int)(XO_ARRAY_SIZE(dom_paths) - 1);
			x->dm_fd = -1;
			doms[d] = x;
			dom_watch(b, d, true);
		}
		dm_track(x);
		bool down = all[i].shutdown || all[i].dying;
		if (down && !x->shutdown)
			queue_check(x->uuid, "domain shut down");
		x->shutdown = down;
	}
	for (uint32_t d = 1; d < MAX_DOMID; d++) {
		if (doms[d] && !seen[d]) {
			dom_watch(b, d, false);
			queue_check(doms[d]->uuid, "domain gone");
			dom_free(doms[d]);
			doms[d] = NULL;
		}
	}
	free(all);
}

static void domain_event(struct xo_backend *b, uint32_t d)
{
	struct dom *x = d < MAX_DOMID ? doms[d] : NULL;
	char path[64], req[16];
	struct xo_dominfo di;
	xo_err e;

	if (!x)
		return;
	dm_track(x);
	if (x->skip > 0) {
		x->skip--;
		return;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/action-request", d);
	bool starting = xo_xs_read_buf(b->xs, XBT_NULL, path, req, sizeof(req)) &&
			strcmp(req, "poweroff") == 0;
	if (starting && xo_dom_info(b, d, &di, &e) == 0 && !di.shutdown && !di.dying)
		return;    /* a start is in progress: it finishes or cleans up after itself */
	queue_check(x->uuid, "domain event");
}

int xo_watchd_run(xo_err *e)
{
	struct xo_backend *b;
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
	if (xo_backend_open(&b, e) < 0)
		return -1;
	if (!xs_watch(b->xs, "@introduceDomain", "dom") || !xs_watch(b->xs, "@releaseDomain", "dom"))
		return xo_err_sys(e, errno, "xenstore watch");
	/* a (re)start of the toolstack: every VM is checked once */
	if (xo_vm_list_uuids(&uuids, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		queue_check(uuids[i], "start");
	free(uuids);
	fprintf(stderr, "xo-watchd: watching %s (%zu vms)\n", xo_state_dir(), n);
	/* xenstore's events, and the exit of any device model xo started */
	static struct pollfd pfd[MAX_DOMID + 1];
	static uint32_t pfd_dom[MAX_DOMID + 1];
	for (;;) {
		nfds_t np = 1;
		pfd[0] = (struct pollfd){ .fd = xs_fileno(b->xs), .events = POLLIN };
		for (uint32_t d = 1; d < MAX_DOMID; d++) {
			if (doms[d] && doms[d]->dm_fd >= 0) {
				pfd[np] = (struct pollfd){ .fd = doms[d]->dm_fd, .events = POLLIN };
				pfd_dom[np++] = d;
			}
		}
		if (poll(pfd, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return xo_err_sys(e, errno, "poll");
		}
		for (nfds_t i = 1; i < np; i++) {
			struct dom *x = doms[pfd_dom[i]];
			if (!pfd[i].revents || !x || x->dm_fd != pfd[i].fd)
				continue;
			/* the device model exited: check-state decides (xo-qemu-stop clears the
			 * record first, so this is a death, unless a stop is racing us) */
			close(x->dm_fd);
			x->dm_fd = -1;
			queue_check(x->uuid, "device model exited");
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char **ev;
		while ((ev = xs_check_watch(b->xs)) != NULL) {
			const char *token = ev[XS_WATCH_TOKEN];
			if (strcmp(token, "dom") == 0)
				rescan(b);
			else if (strncmp(token, "d:", 2) == 0)
				domain_event(b, (uint32_t)strtoul(token + 2, NULL, 10));
			free(ev);
		}
		if (errno != EAGAIN)
			return xo_err_sys(e, errno ? errno : EIO, "xenstore connection lost");
	}
}
