/*
 * xf-watch.c: the Xen family's events for the watcher (backend.h).
 *
 * Domains are tracked in an array indexed by domid (domids are below
 * DOMID_FIRST_RESERVED, 0x7FF0), so an event costs O(1) to attribute; the
 * domain list is re-read only on @introduceDomain and @releaseDomain, which
 * is how xenstored tells a toolstack that the set of domains changed. Each
 * managed domain gets watches on control, memory/target, data, console,
 * action-request, qemu-pid-signal and the backends of its vbds and vifs; an
 * event on one of those asks for a check-state, unless the domain is still
 * being started (action-request present and the domain running: that start
 * is in charge). The exit of a device model xo started is seen through a
 * pidfd. All of it is behind one epoll descriptor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extra.h"
#include "state.h"
#include "xf.h"

#define MAX_DOMID 0x7ff0

struct dom {
	char uuid[XO_UUID_LEN + 1];
	bool shutdown;
	int skip;          /* initial watch fires still to come */
	int dm_pid;        /* the device model xo started (the VM's record), 0: none */
	int dm_fd;         /* a pidfd on it while it runs, else -1 */
};

struct xo_events {
	struct xf *x;
	int ep;
	struct dom *doms[MAX_DOMID];
	bool seen[MAX_DOMID];
	bool rescan;       /* the first call: look at every domain */
};

static const char *const dom_paths[] = { "/local/domain/%u/control", "/local/domain/%u/memory/target",
	"/local/domain/%u/data", "/local/domain/%u/console", "/local/domain/%u/action-request",
	"/local/domain/%u/qemu-pid-signal", "/local/domain/0/backend/vbd/%u",
	"/local/domain/0/backend/vif/%u", "/local/domain/0/device-model/%u", NULL };

/* epoll data: 0 for xenstore, else the domid of a device model's pidfd */
static void dm_track(struct xo_events *ev, uint32_t d, struct dom *x)
{
	struct xo_extra ex;
	xo_err ignore;
	int pid = 0;

	if (xo_extra_load(x->uuid, &ex, &ignore) == 0) {
		pid = (int)xo_extra_backend_int(&ex, "dm_pid");
		xo_extra_free(&ex);
	}
	if (pid == x->dm_pid)
		return;
	if (x->dm_fd >= 0)
		close(x->dm_fd);   /* closing removes it from the epoll set */
	x->dm_fd = pid > 0 ? pidfd_open((pid_t)pid, 0) : -1;
	x->dm_pid = pid;
	if (x->dm_fd >= 0) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = d };
		epoll_ctl(ev->ep, EPOLL_CTL_ADD, x->dm_fd, &e);
	}
}

static void dom_free(struct dom *x)
{
	if (x->dm_fd >= 0)
		close(x->dm_fd);
	free(x);
}

static void dom_watch(struct xf *x, uint32_t d, bool on)
{
	char path[128], token[32];

	snprintf(token, sizeof(token), "d:%u", d);
	for (const char *const *p = dom_paths; *p; p++) {
		snprintf(path, sizeof(path), *p, d);
		if (on)
			xs_watch(x->xs, path, token);
		else
			xs_unwatch(x->xs, path, token);
	}
}

/* the VM of a domain, if xo manages it */
static bool managed(struct xf *x, uint32_t d, char uuid[XO_UUID_LEN + 1])
{
	char path[64], v[128];
	struct stat st;

	snprintf(path, sizeof(path), "/local/domain/%u/vm", d);
	if (!xo_xs_read_buf(x->xs, XBT_NULL, path, v, sizeof(v)) || !xo_str_startswith(v, "/vm/"))
		return false;
	if (!xo_uuid_valid(v + 4))
		return false;
	snprintf(path, sizeof(path), "VM/%s/config", v + 4);
	if (fstatat(xo_state_fd(), path, &st, 0) < 0)
		return false;
	xo_strlcpy(uuid, v + 4, XO_UUID_LEN + 1);
	return true;
}

static void rescan(struct xo_events *ev, xo_event_fn fn, void *arg)
{
	struct xf_dominfo *all = NULL;
	size_t n = 0;
	xo_err e;

	if (xf_dom_list(ev->x, &all, &n, &e) < 0) {
		fprintf(stderr, "xo-watchd: warning: %s\n", e.msg);
		return;
	}
	memset(ev->seen, 0, sizeof(ev->seen));
	for (size_t i = 0; i < n; i++) {
		uint32_t d = all[i].domid;
		if (d == 0 || d >= MAX_DOMID)
			continue;
		ev->seen[d] = true;
		struct dom *x = ev->doms[d];
		if (!x) {
			char uuid[XO_UUID_LEN + 1];
			if (!managed(ev->x, d, uuid))
				continue;
			x = xcalloc(1, sizeof(*x));
			xo_strlcpy(x->uuid, uuid, sizeof(x->uuid));
			x->skip = (int)(XO_ARRAY_SIZE(dom_paths) - 1);
			x->dm_fd = -1;
			ev->doms[d] = x;
			dom_watch(ev->x, d, true);
		}
		dm_track(ev, d, x);
		bool down = all[i].shutdown || all[i].dying;
		if (down && !x->shutdown)
			fn(x->uuid, "domain shut down", arg);
		x->shutdown = down;
	}
	for (uint32_t d = 1; d < MAX_DOMID; d++) {
		if (ev->doms[d] && !ev->seen[d]) {
			dom_watch(ev->x, d, false);
			fn(ev->doms[d]->uuid, "domain gone", arg);
			dom_free(ev->doms[d]);
			ev->doms[d] = NULL;
		}
	}
	free(all);
}

static void domain_event(struct xo_events *ev, uint32_t d, xo_event_fn fn, void *arg)
{
	struct dom *x = d < MAX_DOMID ? ev->doms[d] : NULL;
	char path[64], req[16];
	struct xf_dominfo di;
	xo_err e;

	if (!x)
		return;
	dm_track(ev, d, x);
	if (x->skip > 0) {
		x->skip--;
		return;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/action-request", d);
	bool starting = xo_xs_read_buf(ev->x->xs, XBT_NULL, path, req, sizeof(req)) &&
			strcmp(req, "poweroff") == 0;
	if (starting && xf_dom_info(ev->x, d, &di, &e) == 0 && !di.shutdown && !di.dying)
		return;    /* a start is in progress: it finishes or cleans up after itself */
	fn(x->uuid, "domain event", arg);
}

int xf_events_open(struct xo_backend *b, struct xo_events **out, xo_err *e)
{
	struct xf *x = XF(b);
	struct xo_events *ev;

	if (!xs_watch(x->xs, "@introduceDomain", "dom") || !xs_watch(x->xs, "@releaseDomain", "dom"))
		return xo_err_sys(e, errno, "xenstore watch");
	ev = xcalloc(1, sizeof(*ev));
	ev->x = x;
	ev->rescan = true;
	ev->ep = epoll_create1(EPOLL_CLOEXEC);
	if (ev->ep < 0) {
		free(ev);
		return xo_err_sys(e, errno, "epoll");
	}
	struct epoll_event ee = { .events = EPOLLIN, .data.u32 = 0 };
	if (epoll_ctl(ev->ep, EPOLL_CTL_ADD, xs_fileno(x->xs), &ee) < 0) {
		int err = errno;
		close(ev->ep);
		free(ev);
		return xo_err_sys(e, err, "epoll");
	}
	*out = ev;
	return 0;
}

int xf_events_fd(struct xo_events *ev)
{
	return ev->ep;
}

int xf_events_next(struct xo_events *ev, xo_event_fn fn, void *arg, xo_err *e)
{
	struct epoll_event ready[64];
	bool xs_ready = ev->rescan;
	int n;

	if (ev->rescan) {
		ev->rescan = false;
		rescan(ev, fn, arg);
	}
	while ((n = epoll_wait(ev->ep, ready, (int)XO_ARRAY_SIZE(ready), 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return xo_err_sys(e, errno, "epoll_wait");
	for (int i = 0; i < n; i++) {
		uint32_t d = ready[i].data.u32;
		struct dom *x = d && d < MAX_DOMID ? ev->doms[d] : NULL;
		if (!d) {
			xs_ready = true;
			continue;
		}
		if (!x || x->dm_fd < 0)
			continue;
		/* the device model exited: check-state decides (xo-qemu-stop clears the record
		 * first, so this is a death, unless a stop is racing us) */
		close(x->dm_fd);
		x->dm_fd = -1;
		fn(x->uuid, "device model exited", arg);
	}
	if (!xs_ready)
		return 0;
	char **w;
	errno = 0;
	while ((w = xs_check_watch(ev->x->xs)) != NULL) {
		const char *token = w[XS_WATCH_TOKEN];
		if (strcmp(token, "dom") == 0)
			rescan(ev, fn, arg);
		else if (strncmp(token, "d:", 2) == 0)
			domain_event(ev, (uint32_t)strtoul(token + 2, NULL, 10), fn, arg);
		free(w);
		errno = 0;
	}
	if (errno && errno != EAGAIN)
		return xo_err_sys(e, errno, "xenstore connection lost");
	return 0;
}

void xf_events_close(struct xo_events *ev)
{
	for (uint32_t d = 1; d < MAX_DOMID; d++)
		if (ev->doms[d])
			dom_free(ev->doms[d]);
	close(ev->ep);
	free(ev);
}
