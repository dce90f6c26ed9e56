/*
 * loop.c: the simulator's event loop.
 *
 * One epoll instance. Each registration (struct sim_fd) carries its
 * callback; a registration deleted while a batch of events is being
 * dispatched is only marked dead and freed after the batch, so a stale
 * event is never delivered to freed memory. Signals (SIGCHLD, SIGTERM,
 * SIGINT, SIGHUP) are blocked and read from a signalfd: SIGCHLD reaps every
 * exited child and calls the callback registered for its pid; the others
 * end the loop.
 *
 * Listening sockets out of descriptors: when accept() fails with EMFILE or
 * ENFILE the listener is starved (sim_loop_starved): it stays registered
 * but with no events, so the loop does not spin on a connection it cannot
 * take, and it says so once. Starved listeners are watched again after a
 * turn that deleted a registration (a descriptor was probably closed) and,
 * for what the loop cannot see (another process freeing the system's
 * files), after a second on a timerfd made at start; a listener that still
 * cannot accept is starved again, silently. Once it has taken every
 * pending connection it says so (sim_loop_accepted).
 *
 * Deferred tasks: a struct sim_task embedded in its owner, queued at most
 * once (FIFO). After every event callback the loop runs the queue until it
 * is empty, then flushes the xenstore connections' output, so a watch
 * event written by a task leaves in the same turn.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"

struct sim_fd {
	int fd;
	uint32_t events;
	sim_fd_cb cb;
	void *arg;
	bool dead;
	bool starved;                   /* said so; until an accept works */
	bool paused;                    /* on the starved list, no events */
	struct sim_fd *next_dead;
	struct sim_fd *next_starved;
};

struct child {
	pid_t pid;
	sim_child_cb cb;
	void *arg;
	struct child *next;
};

static int epfd = -1, sigfd = -1, timerfd = -1;
static struct sim_fd *sig_reg, *timer_reg;
static struct sim_fd *dead_list, *starved_list;
static bool freed, timer_armed;
static struct sim_task queue = { &queue, &queue, NULL, false };
static struct child *children;
static bool quit;
static sigset_t blocked, saved_mask;

struct sim_fd *sim_loop_add(int fd, uint32_t events, sim_fd_cb cb, void *arg)
{
	struct sim_fd *h = xcalloc(1, sizeof(*h));
	struct epoll_event ev = { .events = events, .data.ptr = h };

	h->fd = fd;
	h->events = events;
	h->cb = cb;
	h->arg = arg;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		sim_log("epoll add of fd %d failed: %s", fd, strerror(errno));
		free(h);
		return NULL;
	}
	return h;
}

void sim_loop_mod(struct sim_fd *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (!h || h->dead || h->events == events)
		return;
	h->events = events;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
		sim_log("epoll mod of fd %d failed: %s", h->fd, strerror(errno));
}

void sim_loop_del(struct sim_fd *h)
{
	if (!h || h->dead)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, h->fd, NULL);
	if (h->paused) {
		struct sim_fd **pp = &starved_list;
		while (*pp != h)
			pp = &(*pp)->next_starved;
		*pp = h->next_starved;
		h->paused = false;
	}
	h->dead = true;
	h->next_dead = dead_list;
	dead_list = h;
	freed = true;
}

void sim_loop_starved(struct sim_fd *h, const char *what, int err)
{
	struct epoll_event ev = { .events = 0, .data.ptr = h };

	if (!h || h->dead || h->paused)
		return;
	if (!h->starved)
		sim_log("accept on '%s' failed: %s: not accepting connections until a descriptor "
			"is freed", what, strerror(err));
	h->starved = true;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
		sim_log("epoll mod of fd %d failed: %s", h->fd, strerror(errno));
	h->paused = true;
	h->next_starved = starved_list;
	starved_list = h;
	if (!timer_armed) {
		struct itimerspec its = { .it_value = { 1, 0 } };
		if (timerfd_settime(timerfd, 0, &its, NULL) == 0)
			timer_armed = true;
	}
}

void sim_loop_accepted(struct sim_fd *h, const char *what)
{
	if (h && h->starved) {
		h->starved = false;
		sim_log("accepting connections on '%s' again", what);
	}
}

/* watch the starved listeners again: each tries accept() once more */
static void resume_starved(void)
{
	while (starved_list) {
		struct sim_fd *h = starved_list;
		struct epoll_event ev = { .events = h->events, .data.ptr = h };
		starved_list = h->next_starved;
		h->paused = false;
		if (epoll_ctl(epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
			sim_log("epoll mod of fd %d failed: %s", h->fd, strerror(errno));
	}
}

static void on_timer(void *arg, uint32_t events)
{
	uint64_t n;

	(void)arg;
	(void)events;
	if (read(timerfd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing to read after all */
	}
	timer_armed = false;
	resume_starved();
}

void sim_task_init(struct sim_task *t, void (*run)(struct sim_task *t))
{
	t->prev = t->next = NULL;
	t->run = run;
	t->queued = false;
}

void sim_task_schedule(struct sim_task *t)
{
	if (t->queued)
		return;
	t->queued = true;
	t->next = &queue;
	t->prev = queue.prev;
	queue.prev->next = t;
	queue.prev = t;
}

void sim_task_cancel(struct sim_task *t)
{
	if (!t->queued)
		return;
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->prev = t->next = NULL;
	t->queued = false;
}

static void run_tasks(void)
{
	unsigned long n = 0;

	while (queue.next != &queue) {
		struct sim_task *t = queue.next;
		sim_task_cancel(t);
		t->run(t);
		if (++n == 10000000)
			sim_log("warning: ten million deferred tasks in one turn: a task loop?");
	}
}

void sim_child_watch(pid_t pid, sim_child_cb cb, void *arg)
{
	struct child *c = xcalloc(1, sizeof(*c));

	c->pid = pid;
	c->cb = cb;
	c->arg = arg;
	c->next = children;
	children = c;
}

void sim_child_forget(const void *arg)
{
	for (struct child *c = children; c; c = c->next)
		if (c->arg == arg)
			c->cb = NULL;
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child **pp = &children, *c;
		while ((c = *pp) && c->pid != pid)
			pp = &c->next;
		if (!c)
			continue;
		*pp = c->next;
		if (c->cb)
			c->cb(c->arg, pid, status);
		free(c);
	}
}

static void on_signal(void *arg, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)arg;
	(void)events;
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap();
		else {
			sim_log("signal %u: shutting down", si.ssi_signo);
			quit = true;
		}
	}
}

pid_t sim_fork(int keep)
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
		if (keep >= 0 && keep != 3)
			dup2(keep, 3);
		else if (keep == 3)
			fcntl(3, F_SETFD, 0);
		close_range(keep >= 0 ? 4 : 3, ~0U, 0);
	}
	return pid;
}

int sim_loop_init(xo_err *e)
{
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGCHLD);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGHUP);
	/* whatever the starter ignored or caught: these stop the daemon, and its
	 * children start from the defaults */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	if (sigprocmask(SIG_BLOCK, &blocked, &saved_mask) < 0)
		return xo_err_sys(e, errno, "unable to block signals");
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return xo_err_sys(e, errno, "unable to create an epoll instance");
	sigfd = signalfd(-1, &blocked, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0)
		return xo_err_sys(e, errno, "unable to create a signalfd");
	sig_reg = sim_loop_add(sigfd, EPOLLIN, on_signal, NULL);
	if (!sig_reg)
		return xo_err_sys(e, errno, "unable to watch signals");
	timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (timerfd < 0)
		return xo_err_sys(e, errno, "unable to create a timerfd");
	timer_reg = sim_loop_add(timerfd, EPOLLIN, on_timer, NULL);
	if (!timer_reg)
		return xo_err_sys(e, errno, "unable to watch a timerfd");
	return 0;
}

void sim_loop_fini(void)
{
	sim_loop_del(sig_reg);
	sim_loop_del(timer_reg);
	sig_reg = timer_reg = NULL;
	while (dead_list) {
		struct sim_fd *h = dead_list;
		dead_list = h->next_dead;
		free(h);
	}
	close(sigfd);
	close(timerfd);
	close(epfd);
	sigfd = timerfd = epfd = -1;
}

void sim_loop_quit(void)
{
	quit = true;
}

int sim_loop_step(int timeout_ms)
{
	struct epoll_event evs[64];
	int n;

	run_tasks();
	sim_xs_flush_all();
	n = epoll_wait(epfd, evs, XO_ARRAY_SIZE(evs), timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		sim_log("epoll_wait failed: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct sim_fd *h = evs[i].data.ptr;
		if (h->dead)
			continue;
		h->cb(h->arg, evs[i].events);
		run_tasks();
		sim_xs_flush_all();
	}
	while (dead_list) {
		struct sim_fd *h = dead_list;
		dead_list = h->next_dead;
		free(h);
	}
	if (freed && starved_list)
		resume_starved();
	freed = false;
	return n;
}

int sim_loop_run(void)
{
	while (!quit)
		if (sim_loop_step(-1) < 0)
			return -1;
	run_tasks();
	sim_xs_flush_all();
	return 0;
}
