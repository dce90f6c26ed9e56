/*
 * checkstate.c: what does a VM need now, and doing it (see ops.h).
 *
 * From the VM's live state (backend.h): no instance, a guest that stopped
 * (poweroff, reboot, crash...), an instance still carrying the action
 * request (a start that never finished), a device model that died under
 * its guest. Each maps to the VM's on_shutdown / on_reboot / on_crash
 * action, with xenopsd's two rules: a VM that ran briefly restarts only
 * after a delay (the backend's reboot_delay_s, XO_REBOOT_DELAY), and a VM
 * that crashes soon after its start stays down (XO_CRASH_LOOP_SECONDS). A
 * healthy VM keeps running; its devices whose plug never finished or whose
 * backend went away are unplugged, and active flags of devices that are not
 * plugged are cleared.
 */
#include <stdlib.h>
#include <string.h>

#include "devstate.h"
#include "extra.h"
#include "ops.h"
#include "state.h"

static double env_seconds(const char *name, double dflt)
{
	const char *v = getenv(name);
	double d;
	return v && xo_parse_seconds(v, &d) == 0 ? d : dflt;
}

static double run_time(const struct xo_ctx *ctx)
{
	struct xo_extra x;
	xo_err ignore;
	double t = 1e9;

	if (xo_extra_load(ctx->vm.uuid, &x, &ignore) == 0) {
		if (x.create_time > 0)
			t = xo_wallclock() - x.create_time;
		xo_extra_free(&x);
	}
	return t;
}

static int teardown(struct xo_ctx *ctx, xo_err *e)
{
	struct xo_plan p = { 0 };
	int r;

	xo_plan_vm_teardown(ctx->b, &ctx->vm, &ctx->d, true, false, &p);
	r = xo_plan_run(ctx, &p, 0, 1, e);
	xo_plan_free(&p);
	return r;
}

/* an on_* action: shutdown, start (a hard reboot), pause, coredump (leave it as it is) */
static int apply_action(struct xo_ctx *ctx, enum xo_action act, xo_err *e)
{
	switch (act) {
	case XO_ACT_START: {
		double delay = env_seconds("XO_REBOOT_DELAY", ctx->b->ops->reboot_delay_s);
		if (delay > 0 && run_time(ctx) < env_seconds("XO_MIN_RUN_TIME", 120)) {
			struct xo_plan p = { 0 };
			struct xo_atom a = xo_atom_new(XO_A_VM_DELAY);
			a.timeout_ms = (int)(delay * 1000);
			xo_plan_add(&p, &a);
			int r = xo_plan_run(ctx, &p, 0, 0.1, e);
			xo_plan_free(&p);
			if (r < 0)
				return -1;
		}
		return xo_op_run_plan(ctx, "VM_reboot", "hard", 0.1, 1, e);
	}
	case XO_ACT_PAUSE: {
		/* keep the instance, paused, for inspection (a shut-down one cannot run again) */
		struct xo_vm_live l;
		if (xo_ctx_live(ctx, &l, e) < 0)
			return -1;
		if (!l.exists)
			return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted", ctx->vm.name);
		return l.paused ? 0 : xo_be_vm_pause(ctx, e);
	}
	case XO_ACT_COREDUMP:
		return 0;
	case XO_ACT_SHUTDOWN:
	default:
		return teardown(ctx, e);
	}
}

/* the devices of a healthy VM: a plugged device whose backend went away, or whose plug
 * never finished, is unplugged; an active device that is not plugged (a hot-plug that
 * died half-way) is made inactive again */
static void check_devices(struct xo_ctx *ctx, const struct xo_vm_live *l)
{
	struct xo_dev_live s;
	char id[16];
	xo_err ignore;

	for (size_t i = 0; i < ctx->d.n_vbd; i++) {
		const struct xo_vbd *v = &ctx->d.vbd[i];
		if (xo_be_vbd_live(ctx->b, &ctx->vm, l, v, &s, &ignore) < 0)
			continue;
		bool plugged = s.plugged;
		if (plugged && !s.healthy) {
			xo_be_vbd_unplug(ctx, v, true, &ignore);
			plugged = false;
		}
		bool empty_pv = !v->backend[0] && ctx->vm.type != XO_VM_HVM;
		if (!plugged && !empty_pv && xo_device_active(ctx->vm.uuid, "vbd", v->name))
			xo_device_set_active(ctx->vm.uuid, "vbd", v->name, false, &ignore);
	}
	for (size_t i = 0; i < ctx->d.n_vif; i++) {
		const struct xo_vif *v = &ctx->d.vif[i];
		if (xo_be_vif_live(ctx->b, &ctx->vm, l, v, &s, &ignore) < 0)
			continue;
		snprintf(id, sizeof(id), "%d", v->position);
		bool plugged = s.plugged;
		if (plugged && !s.healthy) {
			xo_be_vif_unplug(ctx, v, true, &ignore);
			plugged = false;
		}
		if (!plugged && xo_device_active(ctx->vm.uuid, "vif", id))
			xo_device_set_active(ctx->vm.uuid, "vif", id, false, &ignore);
	}
	for (size_t i = 0; i < ctx->d.n_pci; i++) {
		const struct xo_pci *p = &ctx->d.pci[i];
		snprintf(id, sizeof(id), "%d", p->position);
		if (xo_be_pci_live(ctx->b, &ctx->vm, l, p, &s, &ignore) == 0 && !s.plugged &&
		    xo_device_active(ctx->vm.uuid, "pci", id))
			xo_device_set_active(ctx->vm.uuid, "pci", id, false, &ignore);
	}
}

int xo_vm_check_state(struct xo_ctx *ctx, xo_err *e)
{
	struct xo_vm_live l;

	if (xo_ctx_live(ctx, &l, e) < 0)
		return -1;
	if (!l.exists)    /* no instance: whatever is left of one goes */
		return apply_action(ctx, XO_ACT_SHUTDOWN, e);
	if (l.shutdown) {
		switch (l.reason) {
		case XO_SHUTDOWN_POWEROFF:
			return apply_action(ctx, ctx->vm.on_shutdown, e);
		case XO_SHUTDOWN_REBOOT:
		case XO_SHUTDOWN_WATCHDOG:
		case XO_SHUTDOWN_SOFT_RESET:
			return apply_action(ctx, ctx->vm.on_reboot, e);
		case XO_SHUTDOWN_CRASH: {
			enum xo_action act = ctx->vm.on_crash;
			/* the crash-loop rule: a VM that crashes soon after its start stays down */
			if (act == XO_ACT_START && run_time(ctx) < env_seconds("XO_CRASH_LOOP_SECONDS", 120))
				act = XO_ACT_SHUTDOWN;
			return apply_action(ctx, act, e);
		}
		case XO_SHUTDOWN_SUSPEND:
		default:
			return apply_action(ctx, XO_ACT_SHUTDOWN, e);
		}
	}
	if (l.dying)
		return apply_action(ctx, XO_ACT_SHUTDOWN, e);
	/* a start that never finished is shut down, never restarted: it would only fail again */
	if (strcmp(l.action_request, "poweroff") == 0)
		return apply_action(ctx, XO_ACT_SHUTDOWN, e);
	if (strcmp(l.action_request, "reboot") == 0)
		return apply_action(ctx, ctx->vm.on_reboot, e);
	/* a device model that died under a running guest: the VM has crashed (as xenopsd
	 * has it), with the crash-loop rule */
	if (l.dm_died) {
		enum xo_action act = ctx->vm.on_crash;
		if (act == XO_ACT_START && run_time(ctx) < env_seconds("XO_CRASH_LOOP_SECONDS", 120))
			act = XO_ACT_SHUTDOWN;
		return apply_action(ctx, act, e);
	}
	/* a healthy VM keeps running even when its device configuration is unreadable: only
	 * its devices cannot be checked */
	if (ctx->devices_broken)
		return xo_errf(e, XO_E_INVALID, "vm %s runs, but its device configuration is "
			       "unreadable: its devices were not checked", ctx->vm.name);
	check_devices(ctx, &l);
	return 0;
}
