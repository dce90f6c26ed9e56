/*
 * spawn.c: child processes (see spawn.h).
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"
#include "util.h"

unsigned long xo_spawn_count;

static int open_pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* in the child, between fork and exec: never returns on failure */
static void child_setup(char *const argv[], char *const env[], int out, int outfd, unsigned flags,
			int record_fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0)
		dup2(null, 0);
	int o = out == XO_SPAWN_CAPTURE ? outfd : out >= 0 ? out : null;
	if (o >= 0) {
		dup2(o, 1);
		dup2(o, 2);
	}
	if (flags & XO_SPAWN_CLEAN_ENV) {
		clearenv();
		setenv("PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 1);
	}
	for (char *const *v = env; v && *v; v++)
		putenv(*v);
	if (record_fd >= 0) {
		char rec[96];
		pid_t self = getpid();
		int n = snprintf(rec, sizeof(rec), "%d %d %llu\n", (int)self, (int)getpgid(0),
				 xo_proc_start_time((unsigned long)self));
		if (pwrite(record_fd, rec, (size_t)n, 0) != n || ftruncate(record_fd, n) < 0 ||
		    dup2(record_fd, 3) < 0)
			_exit(127);
		close_range(4, ~0u, 0);
	} else {
		/* close everything else: a lock fd inherited by a script would outlive its holder */
		close_range(3, ~0u, 0);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "unable to run '%s': %s\n", argv[0], strerror(errno));
	_exit(127);
}

int xo_spawn_ex(struct xo_child *c, char *const argv[], char *const env[], int out,
		unsigned flags, int record_fd, xo_err *e)
{
	int outfd = -1, pfd[2] = { -1, -1 };
	pid_t parent = getpid();
	bool detach = flags & XO_SPAWN_DETACH;

	memset(c, 0, sizeof(*c));
	c->pidfd = -1;
	c->outfd = -1;
	if (out == XO_SPAWN_CAPTURE) {
		outfd = memfd_create("xo-output", MFD_CLOEXEC);
		if (outfd < 0)
			return xo_err_sys(e, errno, "memfd_create");
	}
	if (detach && pipe2(pfd, O_CLOEXEC) < 0) {
		if (outfd >= 0)
			close(outfd);
		return xo_err_sys(e, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		if (outfd >= 0)
			close(outfd);
		if (detach) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return xo_err_sys(e, err, "unable to run '%s'", argv[0]);
	}
	if (pid == 0) {
		if (!detach) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(127);
			setpgid(0, 0);
			child_setup(argv, env, out, outfd, flags, record_fd);
		}
		/* a daemon: its own session, and the middle child exits at once */
		setsid();
		pid_t d = fork();
		if (d == 0)
			child_setup(argv, env, out, outfd, flags, record_fd);
		if (xo_write_all(pfd[1], &d, sizeof(d)) < 0)
			_exit(1);
		_exit(d < 0 ? 1 : 0);
	}
	xo_spawn_count++;
	c->outfd = outfd;
	if (!detach) {
		c->pid = pid;
		c->pidfd = open_pidfd(pid);
		return 0;
	}
	close(pfd[1]);
	pid_t d = -1;
	ssize_t got = read(pfd[0], &d, sizeof(d));
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(d) || d <= 0)
		return xo_errf(e, XO_E_SYSTEM, "unable to run '%s'", argv[0]);
	c->pid = d;
	c->detached = true;
	c->pidfd = open_pidfd(d);
	if (c->pidfd < 0)
		return errno == ESRCH ? xo_errf(e, XO_E_SYSTEM, "'%s' exited at once", argv[0])
				      : xo_err_sys(e, errno, "pidfd_open %d", (int)d);
	return 0;
}

int xo_spawn(struct xo_child *c, char *const argv[], char *const env[], int out, bool clean_env,
	     xo_err *e)
{
	return xo_spawn_ex(c, argv, env, out, clean_env ? XO_SPAWN_CLEAN_ENV : 0, -1, e);
}

bool xo_child_poll(struct xo_child *c)
{
	if (c->reaped)
		return true;
	if (c->detached) {
		struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
		if (c->pidfd >= 0 && poll(&p, 1, 0) == 1) {
			c->reaped = true;   /* its exit status went to init */
			c->status = 0;
		}
		return c->reaped;
	}
	pid_t r = waitpid(c->pid, &c->status, WNOHANG);
	if (r == c->pid) {
		c->reaped = true;
		return true;
	}
	return false;
}

int xo_child_wait(struct xo_child *c)
{
	if (c->detached) {
		struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
		while (!c->reaped && c->pidfd >= 0) {
			if (poll(&p, 1, -1) == 1)
				c->reaped = true;
			else if (errno != EINTR)
				return -1;
		}
		return 0;
	}
	while (!c->reaped) {
		pid_t r = waitpid(c->pid, &c->status, 0);
		if (r == c->pid)
			c->reaped = true;
		else if (r < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

int xo_child_wait_ms(struct xo_child *c, int ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!xo_child_poll(c)) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = ms - ((now.tv_sec - t0.tv_sec) * 1000L +
				  (now.tv_nsec - t0.tv_nsec) / 1000000L);
		if (left <= 0) {
			xo_child_kill(c);
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd pfd = { .fd = c->pidfd, .events = POLLIN };
		if (c->pidfd < 0) {
			/* no pidfd: sleep a little and look again */
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		if (poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left)) < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

void xo_child_kill(struct xo_child *c)
{
	if (c->reaped)
		return;
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL);
	if (c->detached) {
		struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
		while (c->pidfd >= 0 && poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		c->reaped = true;
		return;
	}
	xo_child_wait(c);
}

char *xo_child_output(struct xo_child *c)
{
	char *s = NULL;
	size_t n = 0;

	if (c->outfd < 0 || lseek(c->outfd, 0, SEEK_SET) < 0 || xo_read_all(c->outfd, &s, &n) < 0)
		return xstrdup("");
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

void xo_child_close(struct xo_child *c)
{
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->outfd >= 0)
		close(c->outfd);
	c->pidfd = c->outfd = -1;
}

void xo_child_describe(const struct xo_child *c, char *buf, size_t size)
{
	if (!c->reaped)
		snprintf(buf, size, "is still running");
	else if (WIFEXITED(c->status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		snprintf(buf, size, "was killed by signal %d", WTERMSIG(c->status));
	else
		snprintf(buf, size, "stopped");
}
