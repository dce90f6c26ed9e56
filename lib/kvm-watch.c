/*
 * kvm-watch.c: the kvm backend's events for the watcher (backend.h).
 *
 * Every running qemu writes its events, one JSON line each, into
 * kvm/<uuid>.ev.out (kvm.h). One inotify watch on the directory kvm/ wakes
 * the watcher for all of them: a new file is a new qemu, a modified one has
 * new events, read from where the last read stopped. A SHUTDOWN (the guest
 * powered off or rebooted: qemu keeps it, stopped, for check-state),
 * GUEST_PANICKED, RESET or DEVICE_DELETED names the VM. The exit of a qemu
 * (killed, crashed) is seen through a pidfd on it. Nothing here talks to a
 * qemu, so nothing here can block a micro-op. The first call looks at every
 * file in kvm/ (a whole-host scan, once).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "kvm.h"
#include "state.h"

#define SUFFIX ".ev.out"

struct vmw {
	bool used;
	char uuid[XO_UUID_LEN + 1];
	ino_t ino;          /* of the event file being read */
	off_t off;          /* what was read of it */
	int pid, pidfd;
};

struct xo_events {
	int ep, ino;
	bool rescan;
	struct vmw *v;
	size_t n;
	xo_event_fn fn;
	void *arg;
};

static struct vmw *find(struct xo_events *ev, const char *uuid, bool make)
{
	struct vmw *free_slot = NULL;

	for (size_t i = 0; i < ev->n; i++) {
		if (ev->v[i].used && strcmp(ev->v[i].uuid, uuid) == 0)
			return &ev->v[i];
		if (!ev->v[i].used && !free_slot)
			free_slot = &ev->v[i];
	}
	if (!make)
		return NULL;
	if (!free_slot) {
		ev->v = xrealloc(ev->v, (ev->n + 1) * sizeof(*ev->v));
		free_slot = &ev->v[ev->n++];
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->pidfd = -1;
	xo_strlcpy(free_slot->uuid, uuid, sizeof(free_slot->uuid));
	return free_slot;
}

static void forget(struct vmw *w)
{
	if (w->pidfd >= 0)
		close(w->pidfd);   /* closing takes it out of the epoll set */
	memset(w, 0, sizeof(*w));
	w->pidfd = -1;
}

/* a pidfd on the VM's qemu, once it runs */
static void track_pid(struct xo_events *ev, struct vmw *w)
{
	int pid = kvm_qemu_pid(w->uuid);

	if (!pid || pid == w->pid)
		return;
	if (w->pidfd >= 0)
		close(w->pidfd);
	w->pid = pid;
	w->pidfd = pidfd_open(pid, 0);
	if (w->pidfd >= 0) {
		struct epoll_event ee = { .events = EPOLLIN, .data.u64 = (uint64_t)(w - ev->v) + 1 };
		epoll_ctl(ev->ep, EPOLL_CTL_ADD, w->pidfd, &ee);
	}
}

static bool interesting(const char *name)
{
	static const char *const names[] = { "SHUTDOWN", "GUEST_PANICKED", "RESET", "DEVICE_DELETED",
		NULL };
	for (const char *const *n = names; *n; n++)
		if (strcmp(name, *n) == 0)
			return true;
	return false;
}

/* the new lines of the VM's event file */
static void read_events(struct xo_events *ev, struct vmw *w)
{
	char path[PATH_MAX], buf[8192];
	struct stat st;
	bool fire = false;
	const char *why = "";
	char whybuf[64];

	kvm_path(w->uuid, SUFFIX, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	if (st.st_ino != w->ino || st.st_size < w->off) {
		/* a new qemu's file */
		w->ino = st.st_ino;
		w->off = 0;
	}
	track_pid(ev, w);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, w->off);
		if (n <= 0)
			break;
		buf[n] = '\0';
		char *end = strrchr(buf, '\n');
		if (!end) {
			if (n == (ssize_t)sizeof(buf) - 1)
				w->off += n;   /* a line longer than we care for */
			break;
		}
		end[1] = '\0';
		w->off += end + 1 - buf;
		for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
			struct json_object *o, *e;
			xo_err ignore;
			*nl = '\0';
			if (!strstr(line, "\"event\""))
				continue;
			if (!(o = xo_json_parse(line, strlen(line), "qemu event", &ignore)))
				continue;
			if (json_object_object_get_ex(o, "event", &e) && interesting(json_object_get_string(e))) {
				snprintf(whybuf, sizeof(whybuf), "qemu event %s", json_object_get_string(e));
				why = whybuf;
				fire = true;
			}
			json_object_put(o);
		}
	}
	close(fd);
	if (fire)
		ev->fn(w->uuid, why, ev->arg);
}

/* "<uuid>.ev.out": the uuid */
static bool event_file(const char *name, char uuid[XO_UUID_LEN + 1])
{
	size_t n = strlen(name), s = strlen(SUFFIX);
	if (n != XO_UUID_LEN + s || strcmp(name + XO_UUID_LEN, SUFFIX) != 0)
		return false;
	memcpy(uuid, name, XO_UUID_LEN);
	uuid[XO_UUID_LEN] = '\0';
	return xo_uuid_valid(uuid);
}

static void rescan(struct xo_events *ev)
{
	char dir[PATH_MAX], uuid[XO_UUID_LEN + 1];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/kvm", xo_state_dir());
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		if (event_file(de->d_name, uuid))
			read_events(ev, find(ev, uuid, true));
	closedir(d);
}

int kvm_events_open(struct xo_backend *b, struct xo_events **out, xo_err *e)
{
	struct xo_events *ev;
	char dir[PATH_MAX];

	(void)b;
	if (xo_state_open(e) < 0)
		return -1;
	if (mkdirat(xo_state_fd(), "kvm", 0700) < 0 && errno != EEXIST)
		return xo_err_sys(e, errno, "unable to make '%s/kvm'", xo_state_dir());
	snprintf(dir, sizeof(dir), "%s/kvm", xo_state_dir());
	ev = xcalloc(1, sizeof(*ev));
	ev->rescan = true;
	ev->ep = epoll_create1(EPOLL_CLOEXEC);
	ev->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ev->ep < 0 || ev->ino < 0 ||
	    inotify_add_watch(ev->ino, dir, IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_TO) < 0) {
		int err = errno;
		kvm_events_close(ev);
		return xo_err_sys(e, err, "inotify on '%s'", dir);
	}
	struct epoll_event ee = { .events = EPOLLIN, .data.u64 = 0 };
	if (epoll_ctl(ev->ep, EPOLL_CTL_ADD, ev->ino, &ee) < 0) {
		int err = errno;
		kvm_events_close(ev);
		return xo_err_sys(e, err, "epoll");
	}
	*out = ev;
	return 0;
}

int kvm_events_fd(struct xo_events *ev)
{
	return ev->ep;
}

int kvm_events_next(struct xo_events *ev, xo_event_fn fn, void *arg, xo_err *e)
{
	struct epoll_event ready[64];
	char uuid[XO_UUID_LEN + 1];
	int n;

	ev->fn = fn;
	ev->arg = arg;
	if (ev->rescan) {
		ev->rescan = false;
		rescan(ev);
	}
	while ((n = epoll_wait(ev->ep, ready, (int)XO_ARRAY_SIZE(ready), 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return xo_err_sys(e, errno, "epoll_wait");
	for (int i = 0; i < n; i++) {
		uint64_t k = ready[i].data.u64;
		if (k == 0) {
			char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t got;
			while ((got = read(ev->ino, buf, sizeof(buf))) > 0) {
				for (char *p = buf; p < buf + got;) {
					struct inotify_event *ie = (struct inotify_event *)p;
					p += sizeof(*ie) + ie->len;
					if (ie->mask & IN_Q_OVERFLOW) {
						rescan(ev);
						continue;
					}
					if (!ie->len || !event_file(ie->name, uuid))
						continue;
					if (ie->mask & IN_DELETE) {
						/* destroyed: its qemu's exit, if unseen, still tells */
						continue;
					}
					read_events(ev, find(ev, uuid, true));
				}
			}
			continue;
		}
		if (k > ev->n || !ev->v[k - 1].used || ev->v[k - 1].pidfd < 0)
			continue;
		struct vmw *w = &ev->v[k - 1];
		/* the qemu exited: what it wrote last, then check-state decides */
		read_events(ev, w);
		xo_strlcpy(uuid, w->uuid, sizeof(uuid));
		forget(w);
		fn(uuid, "qemu exited", arg);
	}
	return 0;
}

void kvm_events_close(struct xo_events *ev)
{
	for (size_t i = 0; i < ev->n; i++)
		if (ev->v[i].used)
			forget(&ev->v[i]);
	free(ev->v);
	if (ev->ino >= 0)
		close(ev->ino);
	if (ev->ep >= 0)
		close(ev->ep);
	free(ev);
}
