/*
 * spawn.h: running helper programs (hotplug scripts, hooks, device models,
 * qemu). The one place xo forks a program.
 *
 * xo_spawn() forks and execs argv[0] with the current environment plus
 * `env` ("NAME=value" strings, NULL-terminated; may be NULL), stdin from
 * /dev/null, and stdout+stderr either captured into an anonymous memory
 * file (XO_SPAWN_CAPTURE: read it with xo_child_output()) or appended to a
 * log file (log_fd), or /dev/null. The child gets its own process group and
 * dies with its parent (PR_SET_PDEATHSIG). A pidfd lets callers wait for
 * the child in poll(2).
 *
 * xo_spawn_ex() adds what the host resource ledger (res.h) needs:
 * XO_SPAWN_DETACH starts a daemon instead (its own session, no death
 * signal, double-forked so it is never our zombie: wait on the pidfd), and
 * a record descriptor, into which the child writes "pid pgid starttime"
 * before it execs, and which it keeps open across the exec as descriptor 3
 * (holding its flock) for itself and everything it starts.
 */
#ifndef XO_SPAWN_H
#define XO_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

struct xo_child {
	pid_t pid;
	int pidfd;
	int outfd;          /* captured output (memfd), -1 if not captured */
	bool reaped;
	bool detached;      /* not our child: only the pidfd tells its end */
	int status;         /* wait status once reaped */
};

enum { XO_SPAWN_CLEAN_ENV = 1, XO_SPAWN_DETACH = 2 };

#define XO_SPAWN_CAPTURE (-2)
#define XO_SPAWN_NULL (-1)

/* out: XO_SPAWN_CAPTURE, XO_SPAWN_NULL or a file descriptor to append stdout+stderr to;
 * clean_env: start from a minimal environment (PATH only) instead of ours */
int xo_spawn(struct xo_child *c, char *const argv[], char *const env[], int out, bool clean_env,
	     xo_err *e);
/* flags: XO_SPAWN_*; record_fd: -1, or the record the child fills and keeps (above) */
int xo_spawn_ex(struct xo_child *c, char *const argv[], char *const env[], int out,
		unsigned flags, int record_fd, xo_err *e);

/* true once the child exited (status filled); never blocks */
bool xo_child_poll(struct xo_child *c);
/* block until the child exits */
int xo_child_wait(struct xo_child *c);
/* block until the child exits, at most ms milliseconds: then kill it (its process group)
 * and return -1 with errno ETIMEDOUT */
int xo_child_wait_ms(struct xo_child *c, int ms);
/* kill its whole process group and reap it */
void xo_child_kill(struct xo_child *c);
/* the captured output (malloc'd, NUL-terminated, trailing newlines trimmed) */
char *xo_child_output(struct xo_child *c);
void xo_child_close(struct xo_child *c);
/* "exited with status N" / "was killed by signal N" */
void xo_child_describe(const struct xo_child *c, char *buf, size_t size);

/* the number of processes this process spawned (for benchmarks) */
extern unsigned long xo_spawn_count;

#endif
