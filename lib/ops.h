/*
 * ops.h: micro-ops ("atomics"), operations as lists of them, and running
 * them.
 *
 * A micro-op is one step that changes a VM: every one is defined once, in
 * the table of lib/optable.c (struct xo_atom_def: its name, its program,
 * its operands and options, and the function that runs it); names, --plan
 * commands, the programs' usage and option parsing all come from there,
 * and cmd/commands.txt is checked against it. Only those functions change
 * the world, and they reach a host only through the backend (backend.h).
 *
 * An operation (VM_start, ...) is computed from the stored configuration as
 * a plain list of micro-ops with no branching (plans.c); plans may differ by
 * backend (a backend without a device model has no such step). The changes
 * at run time (VM_set_memory_dynamic_range, VM_set_vcpus,
 * VM_set_vcpu_affinity) are operations of one micro-op each, as xenopsd
 * queues its atomics: queued on the VM like a pause, their program is the
 * operation's. VM_start, after xenopsd:
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
 * itself (check-state, checkstate.c) so that no half-created VM is left.
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
	XO_A_VM_SET_MEMORY,        /* arg: "TARGET MIN MAX", sizes or "-" (unchanged) */
	XO_A_VM_SET_VCPUS,         /* arg: the number of vcpus */
	XO_A_VM_SET_AFFINITY,      /* arg: a cpu list, or "all" */
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

/* the context of a running operation: what a micro-op works on */
struct xo_ctx {
	struct xo_backend *b;
	struct xo_vm vm;
	struct xo_devices d;
	bool devices_broken;       /* the device configuration could not be read: only
				    * what releases the VM runs, from what the host shows */
	struct xo_cancel cancel;
	struct xo_task *task;      /* NULL when run by hand */
	bool quiet;                /* no warnings on stderr */
};

/* ------------------------------------------------------------------ the table (optable.c) */

/* what follows the VM on a micro-op's command line */
enum xo_operands {
	XO_OPND_VM,                /* VM */
	XO_OPND_VBD,               /* VM NAME */
	XO_OPND_VBD_FLAG,          /* VM NAME on|off */
	XO_OPND_VBD_ARG,           /* VM NAME PATH */
	XO_OPND_POS,               /* VM POSITION */
	XO_OPND_POS_FLAG,          /* VM POSITION on|off */
	XO_OPND_POS_ARG,           /* VM POSITION WORD */
	XO_OPND_ARG,               /* VM WORD */
	XO_OPND_HOOK,              /* VM HOOK */
	XO_OPND_DELAY,             /* (no program: "sleep SECONDS") */
	XO_OPND_MEMORY,            /* VM [TARGET] [--min SIZE] [--max SIZE]: arg "TARGET MIN MAX" */
};

/* the options a micro-op's program takes besides -n and --json */
enum {
	XO_AOPT_FORCE = 1,         /* --force: a.flag */
	XO_AOPT_TIMEOUT = 2,       /* --timeout SECONDS: a.timeout_ms */
	XO_AOPT_KEEP = 4,          /* --keep-build: a.flag */
	XO_AOPT_ALLOW = 8,         /* --allow ADDR...: a.arg2, comma separated */
	XO_AOPT_REASON = 16,       /* --reason REASON: a.arg2 */
};

struct xo_atom_def {
	enum xo_atom_kind kind;
	const char *name;          /* "VBD_plug": xenopsd's name */
	const char *program;       /* "xo-vbd-plug" */
	enum xo_operands operands;
	unsigned options;          /* XO_AOPT_* */
	const char *words;         /* XO_OPND_ARG, _POS_ARG: the words allowed ("none|poweroff") */
	const char *device_kind;   /* "vbd", "vif", "pci": what the operand names */
	int (*run)(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e);
	/* by hand, the micro-op is the device operation: it runs after `before` and before
	 * `after` (VBD_set_active on before a plug, off after an unplug); XO_A__COUNT: none */
	enum xo_atom_kind before, after;
};

const struct xo_atom_def *xo_atom_def(enum xo_atom_kind k);
/* every definition, for the registry check: *n entries */
const struct xo_atom_def *xo_atom_defs(size_t *n);
/* the usage line of a micro-op's program */
void xo_atom_usage(const struct xo_atom_def *d, char *buf, size_t size);

/* "VBD_plug xvda" */
void xo_atom_name(const struct xo_atom *a, char *buf, size_t size);
/* "xo-vbd-plug web1 xvda" */
void xo_atom_command(const struct xo_vm *vm, const struct xo_atom *a, char *buf, size_t size);
int xo_atom_run(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e);
/* an empty micro-op of kind k (pos -1) */
struct xo_atom xo_atom_new(enum xo_atom_kind k);

/* ------------------------------------------------------------------ plans (plans.c) */

struct xo_plan {
	struct xo_atom *a;
	size_t n;
};
void xo_plan_free(struct xo_plan *p);
void xo_plan_add(struct xo_plan *p, const struct xo_atom *a);

void xo_plan_vm_start(const struct xo_backend *b, const struct xo_vm *vm,
		      const struct xo_devices *d, struct xo_plan *p);
/* xenopsd's internal VM_shutdown: best-effort pause, device model, devices (force), destroy;
 * full also ends the VBD epochs and clears the active flags (a final shutdown) */
void xo_plan_vm_teardown(const struct xo_backend *b, const struct xo_vm *vm,
			 const struct xo_devices *d, bool full, bool keep_extra, struct xo_plan *p);
/* the plan of an operation by name: VM_start, VM_shutdown and VM_reboot ("clean <ms>" or
 * "hard" in arg), VM_destroy, VM_pause, VM_unpause, and the changes at run time (their
 * micro-op's arg in arg) */
int xo_op_plan(const struct xo_backend *b, const struct xo_vm *vm, const struct xo_devices *d,
	       const char *op, const char *arg, struct xo_plan *p, xo_err *e);

/* ------------------------------------------------------------------ running (ops.c) */

/* load the VM's config and devices and open the backend; a VM whose device files are
 * unreadable opens with devices_broken when tolerant (the paths that stop a VM) */
int xo_ctx_open(struct xo_ctx *ctx, const char *uuid, xo_err *e);
int xo_ctx_open_tolerant(struct xo_ctx *ctx, const char *uuid, xo_err *e);
void xo_ctx_close(struct xo_ctx *ctx);
/* the VM's live state (a backend query through the context) */
int xo_ctx_live(struct xo_ctx *ctx, struct xo_vm_live *l, xo_err *e);

/* run a plan; progress goes from `from` to `to` of the task */
int xo_plan_run(struct xo_ctx *ctx, const struct xo_plan *p, double from, double to, xo_err *e);
/* operations by name: the above, and VM_check_state */
bool xo_op_known(const char *op);
/* a change at run time (VM_set_*): it runs on a halted VM too */
bool xo_op_changes_vm(const char *op);
int xo_op_run(struct xo_ctx *ctx, const char *op, const char *arg, xo_err *e);
/* an operation's plan run with its precondition checked (check-state's actions use it) */
int xo_op_run_plan(struct xo_ctx *ctx, const char *op, const char *arg, double from, double to,
		   xo_err *e);
/* the cleanup after a failed operation: check-state, never interrupted, no faults */
void xo_op_cleanup(struct xo_ctx *ctx);

/*
 * What does the VM need now, and do it (checkstate.c): no domain, a shut-down
 * domain, or a domain still carrying action-request (a start that never
 * finished) are shut down cleanly (or handled by the VM's on_* actions); a
 * healthy domain keeps running, and only its devices that lost their backend
 * are unplugged. Host resources a dead start left (res.h) are released.
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
/* the cleanup after a failure never injects faults */
void xo_faults_suspend(bool off);

#endif
