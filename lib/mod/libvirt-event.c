/*
 * libvirt-event.c: the event loop this module gives libvirt (libvirt.h).
 *
 * libvirt's client calls back into an event loop for the connection's
 * socket (domain events, keepalive) and for its timers. Its default loop
 * (virEventRegisterDefaultImpl) hides its descriptors and wants a thread
 * to run it; xo's watcher needs one descriptor to sleep on, and xo forks
 * workers, which a thread in libvirt's locks would make unsafe. So this
 * loop is libvirt's event API (virEventRegisterImpl) over epoll: handles
 * are epoll entries, timers one timerfd armed for the nearest one, and
 * lv_loop_run() dispatches what is ready in the caller's thread, never
 * blocking. A removed handle or timer is freed (its ff) on the next run,
 * never inside the remove, as libvirt requires.
 *
 * After a fork the child's loop starts empty with a new epoll descriptor
 * (an epoll set is shared with the parent across fork): the parent's
 * connection, and so its handles, are not the child's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "libvirt.h"

struct handle {
	int id, fd, events;
	virEventHandleCallback cb;
	void *opaque;
	virFreeCallback ff;
	bool deleted;
};

struct timer {
	int id, interval;            /* ms; -1 disabled */
	uint64_t due;                /* monotonic ms */
	virEventTimeoutCallback cb;
	void *opaque;
	virFreeCallback ff;
	bool deleted;
};

static struct {
	unsigned gen;                /* the fork generation this loop belongs to */
	bool ready;
	int ep, tfd;
	struct handle *h;
	size_t nh;
	struct timer *t;
	size_t nt;
	int next_id;
} loop = { .ep = -1, .tfd = -1 };

static uint32_t to_epoll(int ev)
{
	return ((ev & VIR_EVENT_HANDLE_READABLE) ? EPOLLIN : 0u) |
	       ((ev & VIR_EVENT_HANDLE_WRITABLE) ? EPOLLOUT : 0u);
}

static int from_epoll(uint32_t ev)
{
	return ((ev & EPOLLIN) ? VIR_EVENT_HANDLE_READABLE : 0) |
	       ((ev & EPOLLOUT) ? VIR_EVENT_HANDLE_WRITABLE : 0) |
	       ((ev & EPOLLERR) ? VIR_EVENT_HANDLE_ERROR : 0) |
	       ((ev & EPOLLHUP) ? VIR_EVENT_HANDLE_HANGUP : 0);
}

static struct handle *find_handle(int id)
{
	for (size_t i = 0; i < loop.nh; i++)
		if (loop.h[i].id == id && !loop.h[i].deleted)
			return &loop.h[i];
	return NULL;
}

static struct timer *find_timer(int id)
{
	for (size_t i = 0; i < loop.nt; i++)
		if (loop.t[i].id == id && !loop.t[i].deleted)
			return &loop.t[i];
	return NULL;
}

/* the timerfd fires at the nearest due timer (at once for an interval of 0) */
static void arm(void)
{
	uint64_t now = xo_now_ms(), best = UINT64_MAX;
	struct itimerspec its;

	for (size_t i = 0; i < loop.nt; i++)
		if (!loop.t[i].deleted && loop.t[i].interval >= 0 && loop.t[i].due < best)
			best = loop.t[i].due;
	memset(&its, 0, sizeof(its));
	if (best != UINT64_MAX) {
		uint64_t in = best > now ? best - now : 0;
		its.it_value.tv_sec = (time_t)(in / 1000);
		its.it_value.tv_nsec = (long)(in % 1000) * 1000000L;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(loop.tfd, 0, &its, NULL);
}

static int add_handle(int fd, int events, virEventHandleCallback cb, void *opaque, virFreeCallback ff)
{
	struct epoll_event ev = { .events = to_epoll(events) };
	int id = ++loop.next_id;

	ev.data.u64 = (uint64_t)id;
	if (epoll_ctl(loop.ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	loop.h = xrealloc(loop.h, (loop.nh + 1) * sizeof(*loop.h));
	loop.h[loop.nh++] = (struct handle){ id, fd, events, cb, opaque, ff, false };
	return id;
}

static void update_handle(int id, int events)
{
	struct handle *h = find_handle(id);
	if (!h)
		return;
	struct epoll_event ev = { .events = to_epoll(events) };
	ev.data.u64 = (uint64_t)id;
	h->events = events;
	epoll_ctl(loop.ep, EPOLL_CTL_MOD, h->fd, &ev);
}

static int remove_handle(int id)
{
	struct handle *h = find_handle(id);
	if (!h)
		return -1;
	/* now: the caller may close the descriptor as soon as we return */
	epoll_ctl(loop.ep, EPOLL_CTL_DEL, h->fd, NULL);
	h->deleted = true;
	return 0;
}

static int add_timer(int interval, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
	int id = ++loop.next_id;

	loop.t = xrealloc(loop.t, (loop.nt + 1) * sizeof(*loop.t));
	loop.t[loop.nt++] = (struct timer){ id, interval, xo_now_ms() + (uint64_t)(interval > 0 ? interval : 0),
					    cb, opaque, ff, false };
	arm();
	return id;
}

static void update_timer(int id, int interval)
{
	struct timer *t = find_timer(id);
	if (!t)
		return;
	t->interval = interval;
	t->due = xo_now_ms() + (uint64_t)(interval > 0 ? interval : 0);
	arm();
}

static int remove_timer(int id)
{
	struct timer *t = find_timer(id);
	if (!t)
		return -1;
	t->deleted = true;
	arm();
	return 0;
}

static void loop_reset(void)
{
	/* a forked child: the parent's descriptors and callbacks are not ours to free */
	free(loop.h);
	free(loop.t);
	loop.h = NULL;
	loop.t = NULL;
	loop.nh = loop.nt = 0;
	loop.ep = epoll_create1(EPOLL_CLOEXEC);
	loop.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (loop.ep >= 0 && loop.tfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN };
		ev.data.u64 = 0;
		epoll_ctl(loop.ep, EPOLL_CTL_ADD, loop.tfd, &ev);
	}
	loop.gen = xo_fork_gen();
}

int lv_loop_init(xo_err *e)
{
	if (!loop.ready) {
		loop_reset();
		virEventRegisterImpl(add_handle, update_handle, remove_handle, add_timer, update_timer,
				     remove_timer);
		loop.ready = true;
	} else if (loop.gen != xo_fork_gen()) {
		loop_reset();
	}
	if (loop.ep < 0 || loop.tfd < 0)
		return xo_err_sys(e, errno, "unable to make an event loop for libvirt");
	return 0;
}

int lv_loop_fd(void)
{
	return loop.ep;
}

void lv_loop_run(void)
{
	struct epoll_event evs[16];
	int n = epoll_wait(loop.ep, evs, 16, 0);

	for (int i = 0; i < n; i++) {
		int id = (int)evs[i].data.u64;
		if (id == 0) {
			uint64_t ticks;
			while (read(loop.tfd, &ticks, sizeof(ticks)) > 0)
				;
			continue;
		}
		/* find it again every time: a callback may add handles (and move the array) */
		struct handle *h = find_handle(id);
		if (h)
			h->cb(id, h->fd, from_epoll(evs[i].events), h->opaque);
	}
	uint64_t now = xo_now_ms();
	size_t nt = loop.nt;
	for (size_t i = 0; i < nt; i++) {
		struct timer *t = &loop.t[i];
		if (t->deleted || t->interval < 0 || t->due > now)
			continue;
		int id = t->id;
		t->due = now + (uint64_t)t->interval;
		virEventTimeoutCallback cb = t->cb;
		void *opaque = t->opaque;
		cb(id, opaque);
	}
	/* the removed ones, now that no callback of theirs runs: out of the arrays first (a
	 * free callback may call back into the loop) */
	struct { virFreeCallback ff; void *opaque; } *gone = NULL;
	size_t ng = 0, k = 0;
	for (size_t i = 0; i < loop.nh; i++) {
		if (!loop.h[i].deleted) {
			loop.h[k++] = loop.h[i];
		} else if (loop.h[i].ff) {
			gone = xrealloc(gone, (ng + 1) * sizeof(*gone));
			gone[ng].ff = loop.h[i].ff;
			gone[ng++].opaque = loop.h[i].opaque;
		}
	}
	loop.nh = k;
	k = 0;
	for (size_t i = 0; i < loop.nt; i++) {
		if (!loop.t[i].deleted) {
			loop.t[k++] = loop.t[i];
		} else if (loop.t[i].ff) {
			gone = xrealloc(gone, (ng + 1) * sizeof(*gone));
			gone[ng].ff = loop.t[i].ff;
			gone[ng++].opaque = loop.t[i].opaque;
		}
	}
	loop.nt = k;
	for (size_t i = 0; i < ng; i++)
		gone[i].ff(gone[i].opaque);
	free(gone);
	arm();
}
