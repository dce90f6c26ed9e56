/*
 * task.h: task records (tasks/<id>) and cancellation.
 *
 * An operation queued on a VM is a task: created pending by the submitter,
 * then updated by the worker after every micro-op (progress, the micro-op
 * in flight) and finished as completed, failed (with an error class and
 * message and the micro-op that failed) or cancelled. Records persist
 * until xo_task_destroy(), or until they finish when created with
 * destroy_on_finish (the watcher's check-state tasks: nobody waits for
 * them). Ids are 12 lowercase hex digits.
 *
 * Cancellation: xo_task_cancel() checks that the task is pending and makes
 * the request (cancel.h); the request goes with the task's record.
 *
 * Progress records are written atomically but not fsynced (a crash makes
 * the task failed anyway); creation and the final state are fsynced.
 */
#ifndef XO_TASK_H
#define XO_TASK_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "cancel.h"
#include "err.h"
#include "util.h"

enum xo_task_state { XO_TASK_PENDING, XO_TASK_COMPLETED, XO_TASK_FAILED, XO_TASK_CANCELLED };

#define XO_TASK_TIMINGS_MAX 48

/* one micro-op the worker ran and its wall time (xo-task-stat --json: "timings") */
struct xo_task_timing {
	char atom[64];
	double ms;
};

struct xo_task {
	char id[XO_TASK_ID_LEN + 1];
	char op[32];                  /* VM_start, VM_shutdown, VBD_hotplug... */
	char vm[XO_UUID_LEN + 1];
	char vm_name[XO_NAME_MAX + 1];
	char arg[64];                 /* the device of a device operation, op options */
	enum xo_task_state state;
	double progress;              /* 0..1 */
	char atom[96];                /* the micro-op in flight, or the last one */
	double created, started, finished;   /* wall clock seconds */
	int worker_pid;
	enum xo_ecls err_cls;
	char err_msg[1024];
	char err_atom[96];            /* the micro-op that failed */
	bool destroy_on_finish;       /* nobody waits: the record goes when it finishes */
	/* the micro-ops run so far, in order, with their times; beyond XO_TASK_TIMINGS_MAX
	 * only counted (timings_dropped) */
	size_t n_timings;
	unsigned timings_dropped;
	struct xo_task_timing timings[XO_TASK_TIMINGS_MAX];
};

const char *xo_task_state_name(enum xo_task_state s);
bool xo_task_valid_id(const char *id);
/* a new pending task in memory only (a stop on a full state directory runs without a
 * record) */
void xo_task_init(struct xo_task *t, const char *op, const char *vm, const char *vm_name,
		  const char *arg);
/* a new pending task, written (fsynced) */
int xo_task_create(struct xo_task *t, const char *op, const char *vm, const char *vm_name,
		   const char *arg, xo_err *e);
int xo_task_save(const struct xo_task *t, bool sync, xo_err *e);
int xo_task_load(const char *id, struct xo_task *t, xo_err *e);
/* every task, oldest first */
int xo_task_list(struct xo_task **out, size_t *n, xo_err *e);
/* remove a finished task (a pending one is refused: cancel it first) */
int xo_task_destroy(const char *id, xo_err *e);
int xo_task_cancel(const char *id, xo_err *e);
/* finish: state, error (NULL for success); fsynced; emits an update */
int xo_task_finish(struct xo_task *t, enum xo_task_state s, const xo_err *err, xo_err *e);
struct json_object *xo_task_to_json(const struct xo_task *t);
/* record that micro-op `atom` took `ms` (saved with the task's next save) */
void xo_task_add_timing(struct xo_task *t, const char *atom, double ms);
/* "failed: <class>: <message>" etc, for one-line output */
void xo_task_describe(const struct xo_task *t, char *buf, size_t size);

#endif
