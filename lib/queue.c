/*
 * queue.c: per-VM queues, the VM lock, workers, the pool and waiting for
 * tasks (see queue.h for the protocol and its invariant).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "queue.h"
#include "state.h"
#include "updates.h"
#include "xs.h"

#define INFLIGHT "inflight"

static int queue_dir(const char *uuid, xo_err *e)
{
	char path[80];
	int fd;

	if (xo_state_open(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "VM/%s/queue", uuid);
	fd = openat(xo_state_fd(), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		char vmdir[64];
		snprintf(vmdir, sizeof(vmdir), "VM/%s", uuid);
		if (faccessat(xo_state_fd(), vmdir, F_OK, 0) < 0)
			return xo_errf(e, XO_E_NOT_FOUND, "vm %s does not exist", uuid);
		if (mkdirat(xo_state_fd(), path, 0755) < 0 && errno != EEXIST)
			return xo_err_sys(e, errno, "unable to create the queue of vm %s", uuid);
		fd = openat(xo_state_fd(), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return xo_err_sys(e, errno, "unable to open the queue of vm %s", uuid);
	return fd;
}

/* the oldest pending entry (name copied), or none; *inflight says whether a journal exists */
static bool queue_peek(int qfd, char *oldest, size_t size, bool *inflight)
{
	int fd = openat(qfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	bool found = false;

	*inflight = false;
	if (oldest && size)
		oldest[0] = '\0';
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, INFLIGHT) == 0) {
			*inflight = true;
			continue;
		}
		if (de->d_name[0] != ',')
			continue;
		if (!found || (oldest && strcmp(de->d_name, oldest) < 0)) {
			if (oldest)
				xo_strlcpy(oldest, de->d_name, size);
			found = true;
		}
	}
	closedir(d);
	return found;
}

static bool has_work(const char *uuid)
{
	xo_err ignore;
	bool inflight;
	int qfd = queue_dir(uuid, &ignore);
	if (qfd < 0)
		return false;
	bool r = queue_peek(qfd, NULL, 0, &inflight) || inflight;
	close(qfd);
	return r;
}

static int try_lock(const char *uuid)
{
	xo_err ignore;
	return xo_vm_lock(uuid, false, &ignore);
}

/* ---------------------------------------------------------------- the pool */

static int pool_size(void)
{
	const char *s = getenv("XO_WORKERS");
	unsigned n;
	if (s && xo_parse_uint(s, 1024, &n) == 0 && n > 0)
		return (int)n;
	return 4;
}

/* pool/slot.K, made if missing */
static int slot_open(int pfd, int k)
{
	char name[32];
	snprintf(name, sizeof(name), "slot.%d", k);
	return openat(pfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}

/* the first free slot from START on, or -2 when every one is busy */
static int slot_scan(int pfd, int start, int n)
{
	for (int i = 0; i < n; i++) {
		int fd = slot_open(pfd, (start + i) % n);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		close(fd);
	}
	return -2;
}

static void on_rescan(int sig)
{
	(void)sig;   /* only interrupts the flock below */
}

/* One of the XO_WORKERS slots of pool/ (a flock on slot.K), or -1: run without one. Every
 * slot busy: queue up on the first one tried (flock wakes us when it is released, without a
 * crowd: its waiters are about 1/N of all), and look at all of them again every second, so
 * that a waiter queued behind a long start does not wait while another slot stands free. */
static int slot_acquire(const char *uuid)
{
	int n = pool_size(), start = 0, fd;
	xo_err ignore;
	int pfd = xo_state_subdir("pool", &ignore);

	if (pfd < 0)
		return -1;
	for (const char *p = uuid; *p; p++)
		start = (start * 31 + *p) & 0x7fffffff;
	start %= n;
	if ((fd = slot_scan(pfd, start, n)) != -2)
		return fd;
	if ((fd = slot_open(pfd, start)) < 0)
		return -1;
	/* a repeating timer: a tick that came before the flock does not leave it blocked */
	struct sigaction sa = { .sa_handler = on_rescan }, old_sa;   /* no SA_RESTART */
	struct itimerval tick = { { 1, 0 }, { 1, 0 } }, off = { { 0, 0 }, { 0, 0 } };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old_sa);
	setitimer(ITIMER_REAL, &tick, NULL);
	for (;;) {
		if (flock(fd, LOCK_EX) == 0)
			break;
		int other = errno == EINTR ? slot_scan(pfd, start, n) : -1;
		if (other == -2)
			continue;
		close(fd);
		fd = other;
		break;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	return fd;
}

/* ---------------------------------------------------------------- workers */

static void worker_main(const char *uuid, int lockfd) __attribute__((noreturn));
static int recover(const char *uuid, int qfd);

/* Workers this process forked and has not reaped yet. A worker is forked once
 * (a double fork would copy this process twice per start) and lives in its own
 * session; whoever forked it reaps it on its next fork, and a short-lived
 * submitter's exit hands the rest to init. When the table is full the worker
 * is double-forked instead, so a long-lived submitter never piles up zombies. */
#define XO_UNREAPED 64
static pid_t unreaped[XO_UNREAPED];

static int reap_workers(void)
{
	int free_slot = -1;
	for (int i = 0; i < XO_UNREAPED; i++) {
		if (unreaped[i] > 0) {
			pid_t r = waitpid(unreaped[i], NULL, WNOHANG);
			if (r == unreaped[i] || (r < 0 && errno == ECHILD))
				unreaped[i] = 0;
		}
		if (unreaped[i] == 0 && free_slot < 0)
			free_slot = i;
	}
	return free_slot;
}

static void fork_worker(const char *uuid, int lockfd)
{
	int slot = reap_workers();
	pid_t pid = fork();

	if (pid == 0) {
		setsid();
		if (slot < 0) {
			pid_t p2 = fork();
			if (p2 != 0)
				_exit(p2 < 0 ? 1 : 0);
		}
		worker_main(uuid, lockfd);
	}
	if (pid > 0 && slot >= 0)
		unreaped[slot] = pid;
	else if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* hold the lock: hand it to a new worker if there is work, else release it and look again */
static void drain_or_release(const char *uuid, int lockfd)
{
	for (;;) {
		if (has_work(uuid)) {
			fork_worker(uuid, lockfd);
			close(lockfd);
			return;
		}
		close(lockfd);
		if (!has_work(uuid))
			return;
		if ((lockfd = try_lock(uuid)) < 0)
			return;   /* the new holder will see the work */
	}
}

int xo_worker_ensure(const char *uuid, xo_err *e)
{
	(void)e;
	int fd = try_lock(uuid);
	if (fd >= 0)
		drain_or_release(uuid, fd);
	return 0;
}

static void worker_stdio(const char *uuid, int lockfd, int *newlock)
{
	int fd;

	/* keep only the lock: the submitter's pipes and bats' fd 3 must not stay open */
	fd = fcntl(lockfd, F_DUPFD_CLOEXEC, 1000);
	*newlock = fd >= 0 ? fd : lockfd;
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	xo_err ignore;
	if (xo_state_open(&ignore) >= 0) {
		char log[4096];
		snprintf(log, sizeof(log), "%s/VM/%s/log", xo_state_dir(), uuid);
		int lfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (lfd >= 0)
			dup2(lfd, 2);
	}
	close_range(3, (unsigned)*newlock - 1, 0);
	close_range((unsigned)*newlock + 1, ~0u, 0);
	xo_state_forget();
	xo_backend_forget();
}

/* an entry: {"task", "op", "arg"[, "fault"]}; fault (may be NULL) gets the submitter's XO_FAULT */
static int read_entry_fault(int qfd, const char *name, char *task, char *op, size_t opsize,
			    char *arg, size_t argsize, char *fault, size_t faultsize);

static int read_entry(int qfd, const char *name, char *task, char *op, size_t opsize, char *arg,
		      size_t argsize)
{
	return read_entry_fault(qfd, name, task, op, opsize, arg, argsize, NULL, 0);
}

static int read_entry_fault(int qfd, const char *name, char *task, char *op, size_t opsize,
			    char *arg, size_t argsize, char *fault, size_t faultsize)
{
	char *text;
	size_t len;
	xo_err e;
	struct json_object *o, *v;

	if (xo_read_file(qfd, name, &text, &len, &e) < 0)
		return -1;
	o = xo_json_parse(text, len, "queue entry", &e);
	free(text);
	if (!o)
		return -1;
	task[0] = op[0] = arg[0] = '\0';
	if (json_object_object_get_ex(o, "task", &v))
		xo_strlcpy(task, json_object_get_string(v), XO_TASK_ID_LEN + 1);
	if (json_object_object_get_ex(o, "op", &v))
		xo_strlcpy(op, json_object_get_string(v), opsize);
	if (json_object_object_get_ex(o, "arg", &v))
		xo_strlcpy(arg, json_object_get_string(v), argsize);
	if (fault) {
		fault[0] = '\0';
		if (json_object_object_get_ex(o, "fault", &v))
			xo_strlcpy(fault, json_object_get_string(v), faultsize);
	}
	json_object_put(o);
	return 0;
}

static void worker_main(const char *uuid_in, int lockfd_in)
{
	char uuid[XO_UUID_LEN + 1], entry[256];
	int lockfd;
	xo_err e;

	xo_strlcpy(uuid, uuid_in, sizeof(uuid));
	prctl(PR_SET_NAME, "xo-worker");   /* in ps and top */
	worker_stdio(uuid, lockfd_in, &lockfd);
	for (;;) {
		bool inflight;
		int qfd;
		if ((qfd = queue_dir(uuid, &e)) < 0)
			_exit(1);
		bool found = queue_peek(qfd, entry, sizeof(entry), &inflight);
		if (inflight) {
			recover(uuid, qfd);
			found = queue_peek(qfd, entry, sizeof(entry), &inflight);
		}
		if (!found) {
			close(qfd);
			close(lockfd);
			if (!has_work(uuid) || (lockfd = try_lock(uuid)) < 0)
				_exit(0);
			continue;
		}
		if (renameat(qfd, entry, qfd, INFLIGHT) < 0) {
			close(qfd);
			continue;
		}
		char task_id[XO_TASK_ID_LEN + 1], op[32], arg[64], fault[160];
		struct xo_task t;
		if (read_entry_fault(qfd, INFLIGHT, task_id, op, sizeof(op), arg, sizeof(arg), fault,
				     sizeof(fault)) < 0 ||
		    xo_task_load(task_id, &t, &e) < 0 || t.state != XO_TASK_PENDING) {
			unlinkat(qfd, INFLIGHT, 0);
			close(qfd);
			continue;
		}
		/* an injected fault belongs to the task it was submitted with, not to whichever
		 * process happened to fork this worker (a waiter's XO_FAULT must not hit the
		 * next submitter's task) */
		if (fault[0])
			setenv("XO_FAULT", fault, 1);
		else
			unsetenv("XO_FAULT");
		int slot = slot_acquire(uuid);
		xo_run_locked(uuid, &t, op, arg, NULL, true, &e);
		if (slot >= 0)
			close(slot);
		unlinkat(qfd, INFLIGHT, 0);
		close(qfd);
	}
}

/* ---------------------------------------------------------------- running one operation */

/* the operations that stop a VM work even when its device files are unreadable */
static bool stops_vm(const char *op)
{
	return strcmp(op, "VM_shutdown") == 0 || strcmp(op, "VM_destroy") == 0 ||
	       strcmp(op, "VM_check_state") == 0 || strcmp(op, "VM_destroy_device_model") == 0 ||
	       strcmp(op, "VM_pause") == 0;
}

int xo_run_locked(const char *uuid, struct xo_task *t, const char *op, const char *arg,
		  const struct xo_plan *plan, bool cleanup, xo_err *e)
{
	struct xo_ctx ctx;
	xo_err err;
	int r;

	t->started = xo_wallclock();
	t->worker_pid = (int)getpid();
	xo_task_save(t, false, &err);
	struct xo_cancel c;
	xo_strlcpy(c.task, t->id, sizeof(c.task));
	if (xo_cancel_requested(&c)) {
		xo_errf(e, XO_E_CANCELLED, "cancelled before it started");
		xo_task_finish(t, XO_TASK_CANCELLED, e, &err);
		return -1;
	}
	if ((stops_vm(op) ? xo_ctx_open_tolerant(&ctx, uuid, e) : xo_ctx_open(&ctx, uuid, e)) < 0) {
		xo_task_finish(t, e->cls == XO_E_CANCELLED ? XO_TASK_CANCELLED : XO_TASK_FAILED, e, &err);
		return -1;
	}
	ctx.task = t;
	xo_strlcpy(ctx.cancel.task, t->id, sizeof(ctx.cancel.task));
	if (plan)
		r = xo_plan_run(&ctx, plan, 0, 1, e);
	else
		r = xo_op_run(&ctx, op, arg, e);
	if (r < 0) {
		/* no half-created VM: clean up, then report the original error */
		if (cleanup)
			xo_op_cleanup(&ctx);
		xo_task_finish(t, e->cls == XO_E_CANCELLED ? XO_TASK_CANCELLED : XO_TASK_FAILED, e, &err);
	} else {
		xo_task_finish(t, XO_TASK_COMPLETED, NULL, &err);
	}
	xo_updates_emit("vm", uuid);
	xo_ctx_close(&ctx);
	return r;
}

/* the previous holder died with an entry in flight: fail its task, repair the VM */
static int recover(const char *uuid, int qfd)
{
	char task_id[XO_TASK_ID_LEN + 1], op[32], arg[64];
	struct xo_task t;
	struct xo_ctx ctx;
	xo_err e;

	if (read_entry(qfd, INFLIGHT, task_id, op, sizeof(op), arg, sizeof(arg)) == 0 &&
	    xo_task_load(task_id, &t, &e) == 0 && t.state == XO_TASK_PENDING) {
		xo_errf(&e, XO_E_WORKER_DIED, "the worker (pid %d) died during %s", t.worker_pid,
			t.atom[0] ? t.atom : op);
		xo_strlcpy(t.err_atom, t.atom, sizeof(t.err_atom));
		xo_err ignore;
		xo_task_finish(&t, XO_TASK_FAILED, &e, &ignore);
	}
	if (xo_ctx_open_tolerant(&ctx, uuid, &e) == 0) {
		xo_op_cleanup(&ctx);
		xo_ctx_close(&ctx);
	}
	unlinkat(qfd, INFLIGHT, 0);
	return 0;
}

/* ---------------------------------------------------------------- submitting */

/* a queued (not yet running) entry for op with the same argument: its task id */
static bool find_queued(int qfd, const char *op, const char *arg, char *task_id)
{
	int fd = openat(qfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool found = false;
	size_t oplen = strlen(op);

	while (d && !found && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char id[XO_TASK_ID_LEN + 1], eop[32], earg[64];
		if (de->d_name[0] != ',' || n <= oplen || strcmp(de->d_name + n - oplen, op) != 0)
			continue;
		if (read_entry(qfd, de->d_name, id, eop, sizeof(eop), earg, sizeof(earg)) == 0 &&
		    strcmp(eop, op) == 0 && strcmp(earg, arg ? arg : "") == 0) {
			xo_strlcpy(task_id, id, XO_TASK_ID_LEN + 1);
			found = true;
		}
	}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	return found;
}

int xo_submit(const char *uuid, const char *vm_name, const char *op, const char *arg,
	      unsigned flags, struct xo_task *t, xo_err *e)
{
	char name[96], body[512], existing[XO_TASK_ID_LEN + 1];
	const char *fault = getenv("XO_FAULT");
	int qfd, n;

	if ((qfd = queue_dir(uuid, e)) < 0)
		return -1;
	if ((flags & XO_SUBMIT_COALESCE) && find_queued(qfd, op, arg, existing) &&
	    xo_task_load(existing, t, e) == 0 && t->state == XO_TASK_PENDING) {
		close(qfd);
		return xo_worker_ensure(uuid, e);
	}
	if (xo_task_create(t, op, uuid, vm_name, arg, e) < 0) {
		close(qfd);
		return -1;
	}
	if (flags & XO_SUBMIT_DESTROY_ON_FINISH) {
		t->destroy_on_finish = true;
		if (xo_task_save(t, false, e) < 0) {
			close(qfd);
			return -1;
		}
	}
	snprintf(name, sizeof(name), ",%011llx.%s.%s", (unsigned long long)(xo_wallclock() * 1000),
		 t->id, op);
	struct json_object *o = json_object_new_object();
	xo_json_add_str(o, "task", t->id);
	xo_json_add_str(o, "op", op);
	xo_json_add_str(o, "arg", arg ? arg : "");
	if (fault && *fault && strlen(fault) < 160)
		xo_json_add_str(o, "fault", fault);
	n = snprintf(body, sizeof(body), "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (n >= (int)sizeof(body))
		xo_errf(e, XO_E_INTERNAL, "queue entry of task %s too long", t->id);
	if (n >= (int)sizeof(body) || xo_atomic_write(qfd, name, body, (size_t)n, XO_WRITE_DIRSYNC, e) < 0) {
		xo_err ignore;
		xo_task_finish(t, XO_TASK_FAILED, e, &ignore);
		close(qfd);
		return -1;
	}
	close(qfd);
	return xo_worker_ensure(uuid, e);
}

/* ---------------------------------------------------------------- by hand */

int xo_vm_lock_for_op(const char *uuid, bool wait, const char *what, xo_err *e)
{
	int fd = xo_vm_lock(uuid, wait, e);
	int qfd;

	if (fd < 0) {
		if (e->cls == XO_E_BUSY)
			xo_errf(e, XO_E_BUSY, "vm %s is busy: another xo process holds its lock (%s not run)",
				uuid, what);
		return -1;
	}
	bool inflight;
	if ((qfd = queue_dir(uuid, e)) >= 0) {
		queue_peek(qfd, NULL, 0, &inflight);
		if (inflight)
			recover(uuid, qfd);
		close(qfd);
	}
	return fd;
}

int xo_journal_begin(const char *uuid, const struct xo_task *t, xo_err *e)
{
	char body[256];
	int qfd = queue_dir(uuid, e), n, r;

	if (qfd < 0)
		return -1;
	struct json_object *o = json_object_new_object();
	xo_json_add_str(o, "task", t->id);
	xo_json_add_str(o, "op", t->op);
	xo_json_add_str(o, "arg", "");
	n = snprintf(body, sizeof(body), "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	r = xo_atomic_write(qfd, INFLIGHT, body, (size_t)n, 0, e);
	close(qfd);
	return r;
}

void xo_journal_end(const char *uuid)
{
	xo_err ignore;
	int qfd = queue_dir(uuid, &ignore);
	if (qfd >= 0) {
		unlinkat(qfd, INFLIGHT, 0);
		close(qfd);
	}
}

void xo_vm_unlock(const char *uuid, int lockfd)
{
	if (lockfd >= 0)
		drain_or_release(uuid, lockfd);
}

/* ---------------------------------------------------------------- waiting */

/* a child that blocks on the VM lock: it exits when the lock comes free (after giving
 * any pending work to a new worker). SIGTERM stops it while it waits, but not once it
 * holds the lock: then it finishes the hand-over first, or work could be stranded. */
static void watcher_term(int sig)
{
	(void)sig;
	xo_lock_interrupted = 1;
}

static pid_t lock_watcher(const char *uuid, int *pidfd)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = watcher_term };   /* no SA_RESTART: flock returns */
		sigaction(SIGTERM, &sa, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		prctl(PR_SET_NAME, "xo-lockwatch");
		xo_err ignore;
		int fd = xo_vm_lock(uuid, true, &ignore);
		if (fd >= 0)
			drain_or_release(uuid, fd);
		_exit(0);
	}
	*pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	return pid;
}

/* read every pending inotify event; did one name `name` (or were events lost)? */
static bool events_name(int ifd, const char *name)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool found = false;
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if ((ev->mask & IN_Q_OVERFLOW) || (ev->len && strcmp(ev->name, name) == 0))
				found = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return found;
}

int xo_task_wait(const char *id, int timeout_ms,
		 void (*progress)(const struct xo_task *t, void *arg), void *arg,
		 struct xo_task *out, xo_err *e)
{
	struct xo_task t;
	int ifd = -1, pidfd = -1, r = -1;
	pid_t watcher = -1;
	uint64_t deadline = timeout_ms >= 0 ? xo_now_ms() + (uint64_t)timeout_ms : 0;

	ifd = xo_state_inotify("tasks", IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE, e);
	if (ifd < 0)
		return -1;
	for (bool ours = true;;) {
		/* only a change of this task's record is worth reading it again: with many
		 * tasks running, the others' progress would otherwise wake every waiter into
		 * a read of its own record */
		if (ours && xo_task_load(id, &t, e) < 0)
			goto out;
		if (ours && progress)
			progress(&t, arg);
		if (t.state != XO_TASK_PENDING)
			break;
		if (watcher < 0 && t.vm[0])
			watcher = lock_watcher(t.vm, &pidfd);
		int wait = -1;
		if (timeout_ms >= 0) {
			uint64_t now = xo_now_ms();
			if (now >= deadline) {
				xo_errf(e, XO_E_TIMEOUT, "timed out waiting for task %s (%s)", id,
					t.atom[0] ? t.atom : "queued");
				goto out;
			}
			wait = (int)(deadline - now);
		}
		struct pollfd pfd[2] = { { .fd = ifd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		if (poll(pfd, pidfd >= 0 ? 2 : 1, wait) < 0 && errno != EINTR) {
			xo_err_sys(e, errno, "poll");
			goto out;
		}
		ours = events_name(ifd, id) || wait == 0;
		if (pidfd >= 0 && pfd[1].revents) {
			/* the lock came free: re-read the task, and watch the next holder */
			waitpid(watcher, NULL, 0);
			close(pidfd);
			pidfd = -1;
			watcher = -1;
			ours = true;
		}
	}
	if (out)
		*out = t;
	r = 0;
out:
	if (watcher > 0) {
		kill(watcher, SIGTERM);
		waitpid(watcher, NULL, 0);
	}
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

/* ---------------------------------------------------------------- diagnostics */

int xo_queue_diag(bool json, xo_err *e)
{
	char (*uuids)[XO_UUID_LEN + 1];
	size_t n;
	struct json_object *arr = json ? json_object_new_array() : NULL;

	if (xo_vm_list_uuids(&uuids, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int qfd = queue_dir(uuids[i], e);
		if (qfd < 0)
			continue;
		int fd = openat(qfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;
		int lk = try_lock(uuids[i]);
		bool busy = lk < 0;
		if (lk >= 0)
			close(lk);
		struct json_object *q = json ? json_object_new_array() : NULL;
		int count = 0;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] != ',' && strcmp(de->d_name, INFLIGHT) != 0)
				continue;
			char task_id[XO_TASK_ID_LEN + 1], op[32], arg[64];
			if (read_entry(qfd, de->d_name, task_id, op, sizeof(op), arg, sizeof(arg)) < 0)
				continue;
			const char *state = de->d_name[0] == ',' ? "queued" : "inflight";
			if (json) {
				struct json_object *o = json_object_new_object();
				xo_json_add_str(o, "task", task_id);
				xo_json_add_str(o, "op", op);
				xo_json_add_str(o, "state", state);
				json_object_array_add(q, o);
			} else {
				printf("vm %s %s %s task %s\n", uuids[i], state, op, task_id);
			}
			count++;
		}
		if (d)
			closedir(d);
		else if (fd >= 0)
			close(fd);
		close(qfd);
		if (json) {
			struct json_object *o = json_object_new_object();
			xo_json_add_str(o, "vm", uuids[i]);
			xo_json_add_bool(o, "worker", busy);
			json_object_object_add(o, "queue", q);
			json_object_array_add(arr, o);
		} else if (busy || count) {
			printf("vm %s worker %s\n", uuids[i], busy ? "running" : "none");
		}
	}
	free(uuids);
	/* pool slots in use */
	int pfd = xo_state_subdir("pool", e), busy_slots = 0, size = pool_size();
	for (int k = 0; pfd >= 0 && k < size; k++) {
		int fd = slot_open(pfd, k);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			busy_slots++;
		close(fd);
	}
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "vms", arr);
		xo_json_add_int(o, "pool_size", size);
		xo_json_add_int(o, "pool_busy", busy_slots);
		char *s = xo_json_dump(o, true);
		puts(s);
		free(s);
		json_object_put(o);
	} else {
		printf("pool %d/%d busy\n", busy_slots, size);
	}
	return 0;
}
