/*
 * ops.h: operations as lists of micro-ops ("atomics"), and running them.
 *
 * An operation (VM_start, ...) is computed from the stored configuration
 * as a plain list of micro-ops with no branching (xo_plan_*); only
 * xo_atom_run() changes the world. VM_start, after xenopsd:
 *
 *   hook vm-pre-start, VM_create, VM_build,
 *   VBD_set_active (read/write VBDs first), VBD_epoch_begin, VBD_plug (all
 *   read/write before all read-only), VIF_set_active + VIF_plug (ascending
 *   position), VM_create_device_model (hvm, or pv with a framebuffer),
 *   PCI_plug (ascending position), VM_set_domain_action_request none.
 *
 * Every micro-op has a name ("VBD_plug xvda", used in tasks, progress and
 * XO_FAULT) and an equivalent xo command ("xo-vbd-plug web1 xvda"), which
 * is how --plan prints an operation: run in order, the commands perform the
 * same operation step by step.
 *
 * xo_op_run() runs an operation's micro-ops in order inside a worker (or
 * in a program run by hand), updating the task after each one, checking
 * for cancellation before each one, and on failure cleaning up after
 * itself so that no half-created VM is left.
 */
#ifndef XO_OPS_H
#define XO_OPS_H

#include <stdbool.h>

#include "backend.h"
#include "config.h"
#include "task.h"

enum xo_atom_kind {
	XO_A_HOOK,                 /* arg: hook, arg2: reason */
	XO_A_VM_CREATE,
	XO_A_VM_BUILD,
	XO_A_VBD_SET_ACTIVE,       /* dev, flag */
	XO_A_VBD_EPOCH_BEGIN,      /* dev */
	XO_A_VBD_EPOCH_END,        /* dev */
	XO_A_VBD_PLUG,             /* dev */
	XO_A_VBD_UNPLUG,           /* dev, flag = force */
	XO_A_VIF_SET_ACTIVE,       /* pos, flag */
	XO_A_VIF_PLUG,             /* pos */
	XO_A_VIF_UNPLUG,           /* pos, flag = force */
	XO_A_DM_START,
	XO_A_DM_STOP,
	XO_A_PCI_PLUG,             /* pos */
	XO_A_PCI_UNPLUG,           /* pos */
	XO_A_SET_ACTION_REQUEST,   /* arg: none, poweroff, reboot */
	XO_A_VM_PAUSE,
	XO_A_VM_UNPAUSE,
	XO_A_VM_SHUTDOWN_DOMAIN,   /* arg: poweroff, reboot, halt, suspend; timeout_ms */
	XO_A_VM_DESTROY,           /* flag = keep the build record (reboot) */
	XO_A_VM_DELAY,             /* timeout_ms */
	XO_A_VBD_EJECT,            /* dev */
	XO_A_VBD_INSERT,           /* dev, arg: path */
	XO_A_VIF_SET_CARRIER,      /* pos, flag */
	XO_A_VIF_SET_LOCKING,      /* pos, arg: mode, arg2: allowed addresses "a,b,c" */
	XO_A__COUNT
};

struct xo_atom {
	enum xo_atom_kind kind;
	char dev[XO_NAME_MAX + 1];
	int pos;
	bool flag;
	bool best_effort;          /* a failure is logged, the operation goes on */
	char arg[1100], arg2[1100];
	int timeout_ms;
};

struct xo_plan {
	struct xo_atom *a;
	size_t n;
};
void xo_plan_free(struct xo_plan *p);
void xo_plan_add(struct xo_plan *p, const struct xo_atom *a);

/* "VBD_plug xvda" */
void xo_atom_name(const struct xo_atom *a, char *buf, size_t size);
/* "xo-vbd-plug web1 xvda" */
void xo_atom_command(const struct xo_vm *vm, const struct xo_atom *a, char *buf, size_t size);

void xo_plan_vm_start(const struct xo_vm *vm, const struct xo_devices *d, struct xo_plan *p);
/* xenopsd's internal VM_shutdown: best-effort pause, device model, devices (force), destroy;
 * full also ends the VBD epochs and clears the active flags (a final shutdown) */
void xo_plan_vm_teardown(const struct xo_vm *vm, const struct xo_devices *d, bool full,
			 bool keep_extra, struct xo_plan *p);

/* the context of a running operation */
struct xo_ctx {
	struct xo_backend *b;
	struct xo_vm vm;
	struct xo_devices d;
	struct xo_cancel cancel;
	struct xo_task *task;      /* NULL when run by hand */
	bool quiet;                /* no warnings on stderr */
};
/* load the VM's config and devices and open the backend */
int xo_ctx_open(struct xo_ctx *ctx, const char *uuid, xo_err *e);
void xo_ctx_close(struct xo_ctx *ctx);

int xo_atom_run(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e);
/* run a plan; progress goes from `from` to `to` of the task */
int xo_plan_run(struct xo_ctx *ctx, const struct xo_plan *p, double from, double to, xo_err *e);

/* the plan of an operation by name: VM_start, VM_shutdown and VM_reboot ("clean <ms>" or
 * "hard" in arg), VM_destroy, VM_pause, VM_unpause */
int xo_op_plan(const struct xo_vm *vm, const struct xo_devices *d, const char *op, const char *arg,
	       struct xo_plan *p, xo_err *e);

/* operations by name: the above, and VM_check_state */
bool xo_op_known(const char *op);
int xo_op_run(struct xo_ctx *ctx, const char *op, const char *arg, xo_err *e);
/* the cleanup after a failed operation: check-state, never interrupted, no faults */
void xo_op_cleanup(struct xo_ctx *ctx);

/*
 * What does the VM need now, and do it: no domain, a shut-down domain, or a
 * domain still carrying action-request (a start that never finished) are
 * shut down cleanly (or handled by the VM's on_* actions); a healthy domain
 * keeps running, and only its devices that lost their backend are unplugged.
 */
int xo_vm_check_state(struct xo_ctx *ctx, xo_err *e);

/*
 * XO_FAULT="<micro-op name>:<action>" for tests: crash (SIGKILL ourselves
 * just before the micro-op), crash-after (just after it), fail (it fails
 * with class fault_injected), cancel (a cancel of the task arrives just
 * before it, through the normal cancel path). A name matches a micro-op
 * name exactly or up to the device ("VBD_plug" matches "VBD_plug xvdb").
 * The submitter's XO_FAULT travels with its queue entry: the worker that
 * runs the task uses it, whatever the environment it was forked with.
 */
enum xo_fault { XO_FAULT_NONE, XO_FAULT_CRASH, XO_FAULT_FAIL, XO_FAULT_CRASH_AFTER,
		XO_FAULT_CANCEL };
enum xo_fault xo_fault_for(const char *atom_name);

#endif
