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

int xo_spawn(struct xo_child *c, char *const argv[], char *const env[], int out, bool clean_env,
	     xo_err *e)
{
	int outfd = -1;
	pid_t parent = getpid();

	memset(c, 0, sizeof(*c));
	c->pidfd = -1;
	c->outfd = -1;
	if (out == XO_SPAWN_CAPTURE) {
		outfd = memfd_create("xo-output", MFD_CLOEXEC);
		if (outfd < 0)
			return xo_err_sys(e, errno, "memfd_create");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		if (outfd >= 0)
			close(outfd);
		return xo_err_sys(e, err, "unable to run '%s'", argv[0]);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setpgid(0, 0);
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
		if (clean_env) {
			clearenv();
			setenv("PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 1);
		}
		for (char *const *v = env; v && *v; v++)
			putenv(*v);
		/* close everything else: a lock fd inherited by a script would outlive its holder */
		close_range(3, ~0u, 0);
		execvp(argv[0], argv);
		fprintf(stderr, "unable to run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	xo_spawn_count++;
	c->pid = pid;
	c->pidfd = open_pidfd(pid);
	c->outfd = outfd;
	return 0;
}

bool xo_child_poll(struct xo_child *c)
{
	if (c->reaped)
		return true;
	pid_t r = waitpid(c->pid, &c->status, WNOHANG);
	if (r == c->pid) {
		c->reaped = true;
		return true;
	}
	return false;
}

int xo_child_wait(struct xo_child *c)
{
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
