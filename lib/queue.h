/*
 * queue.h: per-VM operation queues, the VM lock, workers and the pool.
 *
 * VM/<uuid>/queue/ holds pending operations as files named
 * ",<hex ms>.<task id>.<op>" (so ls order is FIFO order), created hidden
 * and renamed into view. Whoever holds VM/<uuid>/lock (flock) may change
 * the VM; a worker is a detached process that holds it and drains the
 * queue. The invariant that makes this lossless without polling:
 *
 *     whoever holds the VM lock looks at the queue before releasing it,
 *     and looks again after releasing it, retrying the lock if it is not
 *     empty.
 *
 * A submitter appends its entry and then tries the lock without blocking:
 * if it gets it, it forks a worker that inherits the locked descriptor; if
 * not, the holder will see the entry. A worker runs one entry at a time:
 * it renames it to "inflight" (the journal: an inflight entry found by the
 * next holder means its worker died mid-operation, so that task is marked
 * failed and the VM is cleaned up first), holds one pool slot
 * (pool/slot.<k>, flock, XO_WORKERS of them, default 4) while it runs,
 * and removes it when done. At most one worker per VM; different VMs never
 * wait for each other's locks, only for pool slots.
 *
 * Waiting for a task (xo_task_wait) sleeps on inotify for the task record
 * and, in a thread, on the VM lock itself: when the lock comes free while
 * the task is still pending, the worker died (or none was started), and
 * the waiter starts one, which reports the dead worker's task as failed.
 */
#ifndef XO_QUEUE_H
#define XO_QUEUE_H

#include "ops.h"
#include "task.h"

enum {
	XO_SUBMIT_COALESCE = 1,          /* an identical queued op stands for this one */
	XO_SUBMIT_DESTROY_ON_FINISH = 2, /* nobody will wait: drop the record when done */
};
/* create the task, queue it, make sure a worker serves the VM */
int xo_submit(const char *uuid, const char *vm_name, const char *op, const char *arg,
	      unsigned flags, struct xo_task *t, xo_err *e);
/* a worker for the VM if there is work and nobody holds the lock */
int xo_worker_ensure(const char *uuid, xo_err *e);

/* wait until the task is finished (timeout_ms < 0: for ever; class timeout);
 * progress is called after every change of the record */
int xo_task_wait(const char *id, int timeout_ms,
		 void (*progress)(const struct xo_task *t, void *arg), void *arg,
		 struct xo_task *out, xo_err *e);

/*
 * For micro-ops run by hand: take the VM lock (wait, or fail with class
 * busy), recovering first from a holder that died mid-operation. Returns
 * the lock descriptor. xo_vm_unlock() releases it the way the invariant
 * above says.
 */
int xo_vm_lock_for_op(const char *uuid, bool wait, const char *what, xo_err *e);
void xo_vm_unlock(const char *uuid, int lockfd);
/* the journal of an operation run by hand under the lock: what is in flight, so that a
 * holder that dies mid-operation is noticed by the next one */
int xo_journal_begin(const char *uuid, const struct xo_task *t, xo_err *e);
void xo_journal_end(const char *uuid);

/* run one operation (op, or the plan when not NULL) under the lock, as a worker or a
 * program run by hand does, and finish its task; after a failure, cleanup leaves the VM
 * shut down cleanly (xo_op_cleanup) */
int xo_run_locked(const char *uuid, struct xo_task *t, const char *op, const char *arg,
		  const struct xo_plan *plan, bool cleanup, xo_err *e);

/* one line per VM queue, worker, pool slot and pending task (xo-queue-diag) */
int xo_queue_diag(bool json, xo_err *e);

#endif
