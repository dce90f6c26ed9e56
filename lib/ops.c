/*
 * ops.c: running micro-ops and operations, and the cleanup after a
 * failure (see ops.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extra.h"
#include "ops.h"
#include "res.h"
#include "state.h"
#include "updates.h"

/* ---------------------------------------------------------------- the context */

static int ctx_open(struct xo_ctx *ctx, const char *uuid, bool tolerant, xo_err *e)
{
	memset(ctx, 0, sizeof(*ctx));
	if (xo_vm_load(uuid, &ctx->vm, e) < 0) {
		if (!tolerant || e->cls != XO_E_INVALID)
			return -1;
		/* an unreadable configuration: the VM is released from what the host shows */
		xo_warn("vm %s: %s: releasing what the host shows", uuid, e->msg);
		xo_vm_placeholder(uuid, &ctx->vm);
		ctx->devices_broken = true;
	} else if (xo_devices_load(uuid, &ctx->d, e) < 0) {
		if (!tolerant || e->cls == XO_E_SYSTEM) {
			xo_vm_free(&ctx->vm);
			return -1;
		}
		/* stopping a VM must work with a corrupt device file: the backend releases
		 * what the host shows */
		if (!ctx->quiet)
			xo_warn("vm %s: %s: releasing what the host shows", ctx->vm.name, e->msg);
		memset(&ctx->d, 0, sizeof(ctx->d));
		ctx->devices_broken = true;
	}
	if (xo_backend_open(&ctx->b, e) < 0) {
		xo_devices_free(&ctx->d);
		xo_vm_free(&ctx->vm);
		return -1;
	}
	return 0;
}

int xo_ctx_open(struct xo_ctx *ctx, const char *uuid, xo_err *e)
{
	return ctx_open(ctx, uuid, false, e);
}

int xo_ctx_open_tolerant(struct xo_ctx *ctx, const char *uuid, xo_err *e)
{
	return ctx_open(ctx, uuid, true, e);
}

void xo_ctx_close(struct xo_ctx *ctx)
{
	xo_devices_free(&ctx->d);
	xo_vm_free(&ctx->vm);
}

int xo_ctx_live(struct xo_ctx *ctx, struct xo_vm_live *l, xo_err *e)
{
	return xo_be_vm_live(ctx->b, &ctx->vm, l, e);
}

/* ---------------------------------------------------------------- faults */

static bool faults_off;     /* the cleanup after a failure never injects faults */

void xo_faults_suspend(bool off)
{
	faults_off = off;
}

enum xo_fault xo_fault_for(const char *atom_name)
{
	const char *f = faults_off ? NULL : getenv("XO_FAULT");
	char name[128];
	const char *colon;

	if (!f || !*f || !(colon = strrchr(f, ':')))
		return XO_FAULT_NONE;
	size_t n = (size_t)(colon - f);
	if (n >= sizeof(name))
		return XO_FAULT_NONE;
	memcpy(name, f, n);
	name[n] = '\0';
	/* "VBD_plug" matches every VBD_plug, "VBD_plug xvdb" only that one */
	size_t len = strlen(name);
	if (strncmp(atom_name, name, len) != 0 || (atom_name[len] != '\0' && atom_name[len] != ' '))
		return XO_FAULT_NONE;
	if (strcmp(colon + 1, "crash") == 0)
		return XO_FAULT_CRASH;
	if (strcmp(colon + 1, "fail") == 0)
		return XO_FAULT_FAIL;
	if (strcmp(colon + 1, "crash-after") == 0)
		return XO_FAULT_CRASH_AFTER;
	if (strcmp(colon + 1, "cancel") == 0)
		return XO_FAULT_CANCEL;
	return XO_FAULT_NONE;
}

static void die_now(void)
{
	/* a crash, as a kill -9 would do it: no cleanup, no atexit */
	kill(getpid(), SIGKILL);
	_exit(137);
}

/* ---------------------------------------------------------------- running plans */

int xo_plan_run(struct xo_ctx *ctx, const struct xo_plan *p, double from, double to, xo_err *e)
{
	char name[128];

	for (size_t i = 0; i < p->n; i++) {
		const struct xo_atom *a = &p->a[i];
		xo_atom_name(a, name, sizeof(name));
		enum xo_fault f = xo_fault_for(name);
		if (f == XO_FAULT_CANCEL && ctx->cancel.task[0]) {
			xo_err ignore;
			xo_task_cancel(ctx->cancel.task, &ignore);
		}
		if (xo_cancel_requested(&ctx->cancel) && !a->best_effort) {
			xo_errf(e, XO_E_CANCELLED, "cancelled before %s", name);
			goto failed;
		}
		if (ctx->task) {
			xo_strlcpy(ctx->task->atom, name, sizeof(ctx->task->atom));
			ctx->task->progress = from + (to - from) * (double)i / (double)p->n;
			xo_err ignore;
			xo_task_save(ctx->task, false, &ignore);
		}
		if (f == XO_FAULT_CRASH)
			die_now();
		if (f == XO_FAULT_FAIL) {
			xo_errf(e, XO_E_FAULT, "fault injected at %s (XO_FAULT)", name);
			goto failed;
		}
		uint64_t t0 = xo_now_ns();
		int r = xo_atom_run(ctx, a, e);
		if (ctx->task)
			xo_task_add_timing(ctx->task, name, (double)(xo_now_ns() - t0) / 1e6);
		if (r < 0) {
			if (a->best_effort) {
				if (!ctx->quiet)
					xo_warn("%s (ignored): %s", name, e->msg);
				continue;
			}
			goto failed;
		}
		if (f == XO_FAULT_CRASH_AFTER)
			die_now();
	}
	return 0;
failed:
	if (ctx->task)
		xo_strlcpy(ctx->task->err_atom, name, sizeof(ctx->task->err_atom));
	return -1;
}

/* ---------------------------------------------------------------- operations */

/* the values the build used, kept across a reboot: a reboot does not pick up config changes
 * to memory, vcpus or the kernel (they are fixed for the domain's lifetime, as in xenopsd) */
static void apply_build_record(struct xo_ctx *ctx)
{
	struct xo_extra x;
	xo_err ignore;

	if (xo_extra_load(ctx->vm.uuid, &x, &ignore) < 0)
		return;
	if (x.built) {
		if (x.kernel) {
			free(ctx->vm.kernel);
			ctx->vm.kernel = xstrdup(x.kernel);
		}
		free(ctx->vm.ramdisk);
		ctx->vm.ramdisk = x.ramdisk ? xstrdup(x.ramdisk) : NULL;
		free(ctx->vm.cmdline);
		ctx->vm.cmdline = x.cmdline ? xstrdup(x.cmdline) : NULL;
		if (x.static_max_kib)
			ctx->vm.memory_static_max = x.static_max_kib * 1024;
		if (x.target_kib)
			ctx->vm.memory_dynamic_max = x.target_kib * 1024;
		if (ctx->vm.memory_dynamic_min > ctx->vm.memory_dynamic_max)
			ctx->vm.memory_dynamic_min = ctx->vm.memory_dynamic_max;
		if (x.vcpus)
			ctx->vm.vcpus = x.vcpus;
		if (x.max_vcpus)
			ctx->vm.vcpu_max = x.max_vcpus;
	}
	xo_extra_free(&x);
}

/* the power-state precondition of an operation, checked when it runs (not when queued: the
 * guest may have changed things since) */
static int precondition(struct xo_ctx *ctx, const char *op, xo_err *e)
{
	struct xo_vm_live l;

	if (xo_ctx_live(ctx, &l, e) < 0)
		return -1;
	if (strcmp(op, "VM_start") == 0) {
		if (l.exists)
			return xo_errf(e, XO_E_POWER_STATE, "vm %s is not halted (domid %d)", ctx->vm.name,
				       l.domid);
		if (ctx->devices_broken)
			return xo_errf(e, XO_E_INVALID, "vm %s: its device configuration is unreadable",
				       ctx->vm.name);
		/* what a dead start or stop left on the host goes before a new start (res.h) */
		if (xo_res_any(ctx->vm.uuid) && xo_res_release_all(ctx->vm.uuid, e) < 0)
			return -1;
		return xo_be_check(ctx->b, &ctx->vm, &ctx->d, e);
	}
	if (strcmp(op, "VM_destroy") == 0)
		return 0;
	if (!l.exists)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted", ctx->vm.name);
	if ((strcmp(op, "VM_pause") == 0 || strcmp(op, "VM_unpause") == 0) && l.shutdown)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s has shut down (%s)", ctx->vm.name,
			       l.reason == XO_SHUTDOWN_CRASH ? "crashed" : "halted");
	return 0;
}

int xo_op_run_plan(struct xo_ctx *ctx, const char *op, const char *arg, double from, double to,
		   xo_err *e)
{
	struct xo_plan p;
	int r;

	if (precondition(ctx, op, e) < 0)
		return -1;
	if (strcmp(op, "VM_reboot") == 0)
		apply_build_record(ctx);
	if (xo_op_plan(ctx->b, &ctx->vm, &ctx->d, op, arg, &p, e) < 0)
		return -1;
	r = xo_plan_run(ctx, &p, from, to, e);
	xo_plan_free(&p);
	return r;
}

static const char *const ops[] = { "VM_start", "VM_shutdown", "VM_reboot", "VM_destroy",
	"VM_pause", "VM_unpause", "VM_check_state", NULL };

bool xo_op_known(const char *op)
{
	for (const char *const *o = ops; *o; o++)
		if (strcmp(*o, op) == 0)
			return true;
	return false;
}

int xo_op_run(struct xo_ctx *ctx, const char *op, const char *arg, xo_err *e)
{
	if (strcmp(op, "VM_check_state") == 0)
		return xo_vm_check_state(ctx, e);
	if (!xo_op_known(op))
		return xo_errf(e, XO_E_INTERNAL, "unknown operation '%s'", op);
	return xo_op_run_plan(ctx, op, arg, 0, 1, e);
}

void xo_op_cleanup(struct xo_ctx *ctx)
{
	xo_err e;
	bool quiet = ctx->quiet;
	struct xo_task *task = ctx->task;
	struct xo_cancel saved = ctx->cancel;

	/* check-state after a failure must run to the end, cancelled or not, with no faults
	 * injected, and must not touch the failed task */
	ctx->task = NULL;
	ctx->quiet = true;
	ctx->cancel.task[0] = '\0';
	xo_faults_suspend(true);
	if (xo_vm_check_state(ctx, &e) < 0 && !quiet)
		xo_warn("check-state of vm %s after a failure: %s", ctx->vm.name, e.msg);
	xo_faults_suspend(false);
	ctx->cancel = saved;
	ctx->task = task;
	ctx->quiet = quiet;
	xo_updates_emit("vm", ctx->vm.uuid);
}

