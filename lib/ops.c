/*
 * ops.c: plans (lists of micro-ops), their names and commands, running
 * them, and the cleanup after a failure (see ops.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "domain.h"
#include "xs.h"
#include "ops.h"
#include "state.h"
#include "updates.h"

void xo_plan_free(struct xo_plan *p)
{
	free(p->a);
	p->a = NULL;
	p->n = 0;
}

void xo_plan_add(struct xo_plan *p, const struct xo_atom *a)
{
	p->a = xrealloc(p->a, (p->n + 1) * sizeof(*p->a));
	p->a[p->n++] = *a;
}

static struct xo_atom atom(enum xo_atom_kind k)
{
	struct xo_atom a;
	memset(&a, 0, sizeof(a));
	a.kind = k;
	a.pos = -1;
	return a;
}

static void add_dev(struct xo_plan *p, enum xo_atom_kind k, const char *dev, bool flag)
{
	struct xo_atom a = atom(k);
	xo_strlcpy(a.dev, dev, sizeof(a.dev));
	a.flag = flag;
	xo_plan_add(p, &a);
}

static void add_pos(struct xo_plan *p, enum xo_atom_kind k, int pos, bool flag)
{
	struct xo_atom a = atom(k);
	a.pos = pos;
	a.flag = flag;
	xo_plan_add(p, &a);
}

static void add_arg(struct xo_plan *p, enum xo_atom_kind k, const char *arg, const char *arg2)
{
	struct xo_atom a = atom(k);
	xo_strlcpy(a.arg, arg ? arg : "", sizeof(a.arg));
	xo_strlcpy(a.arg2, arg2 ? arg2 : "", sizeof(a.arg2));
	xo_plan_add(p, &a);
}

static const char *const kind_names[XO_A__COUNT] = {
	[XO_A_HOOK] = "hook",
	[XO_A_VM_CREATE] = "VM_create",
	[XO_A_VM_BUILD] = "VM_build",
	[XO_A_VBD_SET_ACTIVE] = "VBD_set_active",
	[XO_A_VBD_EPOCH_BEGIN] = "VBD_epoch_begin",
	[XO_A_VBD_EPOCH_END] = "VBD_epoch_end",
	[XO_A_VBD_PLUG] = "VBD_plug",
	[XO_A_VBD_UNPLUG] = "VBD_unplug",
	[XO_A_VIF_SET_ACTIVE] = "VIF_set_active",
	[XO_A_VIF_PLUG] = "VIF_plug",
	[XO_A_VIF_UNPLUG] = "VIF_unplug",
	[XO_A_DM_START] = "VM_create_device_model",
	[XO_A_DM_STOP] = "VM_destroy_device_model",
	[XO_A_PCI_PLUG] = "PCI_plug",
	[XO_A_PCI_UNPLUG] = "PCI_unplug",
	[XO_A_SET_ACTION_REQUEST] = "VM_set_domain_action_request",
	[XO_A_VM_PAUSE] = "VM_pause",
	[XO_A_VM_UNPAUSE] = "VM_unpause",
	[XO_A_VM_SHUTDOWN_DOMAIN] = "VM_shutdown_domain",
	[XO_A_VM_DESTROY] = "VM_destroy",
	[XO_A_VM_DELAY] = "VM_delay",
	[XO_A_VBD_EJECT] = "VBD_eject",
	[XO_A_VBD_INSERT] = "VBD_insert",
	[XO_A_VIF_SET_CARRIER] = "VIF_set_carrier",
	[XO_A_VIF_SET_LOCKING] = "VIF_set_locking_mode",
};

void xo_atom_name(const struct xo_atom *a, char *buf, size_t size)
{
	const char *k = kind_names[a->kind];

	switch (a->kind) {
	case XO_A_HOOK:
		snprintf(buf, size, "hook %s", a->arg);
		break;
	case XO_A_VBD_SET_ACTIVE:
		snprintf(buf, size, "%s %s %s", k, a->dev, a->flag ? "on" : "off");
		break;
	case XO_A_VBD_EPOCH_BEGIN:
	case XO_A_VBD_EPOCH_END:
	case XO_A_VBD_PLUG:
	case XO_A_VBD_EJECT:
		snprintf(buf, size, "%s %s", k, a->dev);
		break;
	case XO_A_VBD_INSERT:
		snprintf(buf, size, "%s %s %s", k, a->dev, a->arg);
		break;
	case XO_A_VIF_SET_CARRIER:
		snprintf(buf, size, "%s %d %s", k, a->pos, a->flag ? "on" : "off");
		break;
	case XO_A_VIF_SET_LOCKING:
		snprintf(buf, size, "%s %d %s", k, a->pos, a->arg);
		break;
	case XO_A_VBD_UNPLUG:
		snprintf(buf, size, "%s %s%s", k, a->dev, a->flag ? " force" : "");
		break;
	case XO_A_VIF_SET_ACTIVE:
		snprintf(buf, size, "%s %d %s", k, a->pos, a->flag ? "on" : "off");
		break;
	case XO_A_VIF_PLUG:
	case XO_A_PCI_PLUG:
	case XO_A_PCI_UNPLUG:
		snprintf(buf, size, "%s %d", k, a->pos);
		break;
	case XO_A_VIF_UNPLUG:
		snprintf(buf, size, "%s %d%s", k, a->pos, a->flag ? " force" : "");
		break;
	case XO_A_SET_ACTION_REQUEST:
	case XO_A_VM_SHUTDOWN_DOMAIN:
		snprintf(buf, size, "%s %s", k, a->arg);
		break;
	case XO_A_VM_DELAY:
		snprintf(buf, size, "%s %dms", k, a->timeout_ms);
		break;
	default:
		snprintf(buf, size, "%s", k);
		break;
	}
}

void xo_atom_command(const struct xo_vm *vm, const struct xo_atom *a, char *buf, size_t size)
{
	const char *n = vm->name;

	switch (a->kind) {
	case XO_A_HOOK:
		snprintf(buf, size, "xo-hook-run %s %s --reason %s", n, a->arg, a->arg2);
		break;
	case XO_A_VM_CREATE: snprintf(buf, size, "xo-domain-create %s", n); break;
	case XO_A_VM_BUILD: snprintf(buf, size, "xo-domain-build %s", n); break;
	case XO_A_VBD_SET_ACTIVE:
		snprintf(buf, size, "xo-vbd-set-active %s %s %s", n, a->dev, a->flag ? "on" : "off");
		break;
	case XO_A_VBD_EPOCH_BEGIN: snprintf(buf, size, "xo-vbd-epoch-begin %s %s", n, a->dev); break;
	case XO_A_VBD_EPOCH_END: snprintf(buf, size, "xo-vbd-epoch-end %s %s", n, a->dev); break;
	case XO_A_VBD_PLUG: snprintf(buf, size, "xo-vbd-plug %s %s", n, a->dev); break;
	case XO_A_VBD_UNPLUG:
		snprintf(buf, size, "xo-vbd-unplug %s %s%s", n, a->dev, a->flag ? " --force" : "");
		break;
	case XO_A_VIF_SET_ACTIVE:
		snprintf(buf, size, "xo-vif-set-active %s %d %s", n, a->pos, a->flag ? "on" : "off");
		break;
	case XO_A_VIF_PLUG: snprintf(buf, size, "xo-vif-plug %s %d", n, a->pos); break;
	case XO_A_VIF_UNPLUG:
		snprintf(buf, size, "xo-vif-unplug %s %d%s", n, a->pos, a->flag ? " --force" : "");
		break;
	case XO_A_DM_START: snprintf(buf, size, "xo-qemu-start %s", n); break;
	case XO_A_DM_STOP: snprintf(buf, size, "xo-qemu-stop %s", n); break;
	case XO_A_PCI_PLUG: snprintf(buf, size, "xo-pci-plug %s %d", n, a->pos); break;
	case XO_A_PCI_UNPLUG: snprintf(buf, size, "xo-pci-unplug %s %d", n, a->pos); break;
	case XO_A_SET_ACTION_REQUEST:
		snprintf(buf, size, "xo-vm-set-action-request %s %s", n, a->arg);
		break;
	case XO_A_VM_PAUSE: snprintf(buf, size, "xo-domain-pause %s", n); break;
	case XO_A_VM_UNPAUSE: snprintf(buf, size, "xo-domain-unpause %s", n); break;
	case XO_A_VM_SHUTDOWN_DOMAIN:
		snprintf(buf, size, "xo-domain-shutdown %s %s --timeout %g", n, a->arg,
			 a->timeout_ms / 1000.0);
		break;
	case XO_A_VM_DESTROY:
		snprintf(buf, size, "xo-domain-destroy %s%s", n, a->flag ? " --keep-build" : "");
		break;
	case XO_A_VM_DELAY: snprintf(buf, size, "sleep %g", a->timeout_ms / 1000.0); break;
	case XO_A_VBD_EJECT: snprintf(buf, size, "xo-vbd-eject %s %s", n, a->dev); break;
	case XO_A_VBD_INSERT: snprintf(buf, size, "xo-vbd-insert %s %s %s", n, a->dev, a->arg); break;
	case XO_A_VIF_SET_CARRIER:
		snprintf(buf, size, "xo-vif-set-carrier %s %d %s", n, a->pos, a->flag ? "on" : "off");
		break;
	case XO_A_VIF_SET_LOCKING:
		snprintf(buf, size, "xo-vif-set-locking %s %d %s", n, a->pos, a->arg);
		for (const char *p = a->arg2; *p;) {
			size_t l = strcspn(p, ","), u = strlen(buf);
			snprintf(buf + u, size - u, " --allow %.*s", (int)l, p);
			p += l + (p[l] == ',');
		}
		break;
	default: snprintf(buf, size, "true"); break;
	}
}

static bool needs_device_model(const struct xo_vm *vm)
{
	return vm->type == XO_VM_HVM || (vm->type == XO_VM_PV && vm->framebuffer);
}

void xo_plan_vm_start(const struct xo_vm *vm, const struct xo_devices *d, struct xo_plan *p)
{
	static const enum xo_vbd_mode order[] = { XO_VBD_RW, XO_VBD_RO };

	memset(p, 0, sizeof(*p));
	add_arg(p, XO_A_HOOK, "vm-pre-start", "none");
	xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_VM_CREATE, .pos = -1 });
	xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_VM_BUILD, .pos = -1 });
	/* read/write disks first: storage cannot upgrade a read-only attach */
	for (int m = 0; m < 2; m++)
		for (size_t i = 0; i < d->n_vbd; i++)
			if (d->vbd[i].mode == order[m])
				add_dev(p, XO_A_VBD_SET_ACTIVE, d->vbd[i].name, true);
	for (int m = 0; m < 2; m++)
		for (size_t i = 0; i < d->n_vbd; i++)
			if (d->vbd[i].mode == order[m] && d->vbd[i].backend[0])
				add_dev(p, XO_A_VBD_EPOCH_BEGIN, d->vbd[i].name, false);
	for (int m = 0; m < 2; m++)
		for (size_t i = 0; i < d->n_vbd; i++)
			if (d->vbd[i].mode == order[m])
				add_dev(p, XO_A_VBD_PLUG, d->vbd[i].name, false);
	/* devices come sorted by position (config.h) */
	for (size_t i = 0; i < d->n_vif; i++)
		add_pos(p, XO_A_VIF_SET_ACTIVE, d->vif[i].position, true);
	for (size_t i = 0; i < d->n_vif; i++)
		add_pos(p, XO_A_VIF_PLUG, d->vif[i].position, false);
	if (needs_device_model(vm))
		xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_DM_START, .pos = -1 });
	for (size_t i = 0; i < d->n_pci; i++)
		add_pos(p, XO_A_PCI_PLUG, d->pci[i].position, false);
	add_arg(p, XO_A_SET_ACTION_REQUEST, "none", NULL);
}

void xo_plan_vm_teardown(const struct xo_vm *vm, const struct xo_devices *d, bool full,
			 bool keep_extra, struct xo_plan *p)
{
	struct xo_atom a;

	(void)vm;
	/* from here on the domain is going: a crash anywhere below makes check-state finish
	 * the job (poweroff), or the reboot (reboot) */
	a = atom(XO_A_SET_ACTION_REQUEST);
	xo_strlcpy(a.arg, keep_extra ? "reboot" : "poweroff", sizeof(a.arg));
	a.best_effort = true;
	xo_plan_add(p, &a);
	a = atom(XO_A_VM_PAUSE);
	a.best_effort = true;
	xo_plan_add(p, &a);
	a = atom(XO_A_DM_STOP);
	a.best_effort = true;
	xo_plan_add(p, &a);
	for (size_t i = 0; i < d->n_vbd; i++)
		add_dev(p, XO_A_VBD_UNPLUG, d->vbd[i].name, true);
	for (size_t i = 0; i < d->n_vif; i++)
		add_pos(p, XO_A_VIF_UNPLUG, d->vif[i].position, true);
	for (size_t i = 0; i < d->n_pci; i++)
		add_pos(p, XO_A_PCI_UNPLUG, d->pci[i].position, false);
	a = atom(XO_A_VM_DESTROY);
	a.flag = keep_extra;
	xo_plan_add(p, &a);
	if (!full)
		return;
	for (size_t i = 0; i < d->n_vbd; i++)
		if (d->vbd[i].backend[0])
			add_dev(p, XO_A_VBD_EPOCH_END, d->vbd[i].name, false);
	for (size_t i = 0; i < d->n_vbd; i++)
		add_dev(p, XO_A_VBD_SET_ACTIVE, d->vbd[i].name, false);
	for (size_t i = 0; i < d->n_vif; i++)
		add_pos(p, XO_A_VIF_SET_ACTIVE, d->vif[i].position, false);
}

/* ---------------------------------------------------------------- faults */

static bool faults_off;     /* the cleanup after a failure never injects faults */

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

static int need_domain(struct xo_ctx *ctx, struct xo_dominfo *di, xo_err *e)
{
	uint32_t d;
	int r = xo_vm_find_domain(ctx->b, ctx->vm.uuid, &d, di, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted", ctx->vm.name);
	return (int)d;
}

/* "clean <ms>" or "hard" */
static bool parse_mode(const char *arg, int *timeout_ms)
{
	*timeout_ms = 0;
	if (arg && strncmp(arg, "clean", 5) == 0) {
		*timeout_ms = atoi(arg + 5);
		if (*timeout_ms <= 0)
			*timeout_ms = 1200 * 1000;
		return true;
	}
	return false;
}

static void add_hook(struct xo_plan *p, const char *hook, const char *reason)
{
	struct xo_atom a = atom(XO_A_HOOK);
	xo_strlcpy(a.arg, hook, sizeof(a.arg));
	xo_strlcpy(a.arg2, reason, sizeof(a.arg2));
	xo_plan_add(p, &a);
}

static void add_shutdown_domain(struct xo_plan *p, const char *req, int timeout_ms)
{
	struct xo_atom a = atom(XO_A_VM_SHUTDOWN_DOMAIN);
	xo_strlcpy(a.arg, req, sizeof(a.arg));
	a.timeout_ms = timeout_ms;
	xo_plan_add(p, &a);
}

/* xenopsd's VM_poweroff: pre-shutdown hook, (clean request), tear down, post-destroy hook */
static void plan_shutdown(const struct xo_vm *vm, const struct xo_devices *d, const char *arg,
			  struct xo_plan *p)
{
	int timeout;
	bool clean = parse_mode(arg, &timeout);
	const char *reason = clean ? "clean-shutdown" : "hard-shutdown";

	add_hook(p, "vm-pre-shutdown", reason);
	if (clean)
		add_shutdown_domain(p, "poweroff", timeout);
	xo_plan_vm_teardown(vm, d, true, false, p);
	add_hook(p, "vm-post-destroy", reason);
}

/* xenopsd's VM_reboot: (clean request), hooks, tear down keeping the build record, start
 * again, unpause */
static void plan_reboot(const struct xo_vm *vm, const struct xo_devices *d, const char *arg,
			struct xo_plan *p)
{
	struct xo_plan s = { 0 };
	int timeout;
	bool clean = parse_mode(arg, &timeout);
	const char *reason = clean ? "clean-reboot" : "hard-reboot";

	if (clean)
		add_shutdown_domain(p, "reboot", timeout);
	add_hook(p, "vm-pre-shutdown", reason);
	xo_plan_vm_teardown(vm, d, false, true, p);
	for (size_t i = 0; i < d->n_vbd; i++)
		if (d->vbd[i].backend[0])
			add_dev(p, XO_A_VBD_EPOCH_END, d->vbd[i].name, false);
	add_hook(p, "vm-post-destroy", reason);
	add_hook(p, "vm-pre-reboot", "none");
	xo_plan_vm_start(vm, d, &s);
	for (size_t i = 0; i < s.n; i++)
		xo_plan_add(p, &s.a[i]);
	xo_plan_free(&s);
	xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_VM_UNPAUSE, .pos = -1 });
}

int xo_op_plan(const struct xo_vm *vm, const struct xo_devices *d, const char *op, const char *arg,
	       struct xo_plan *p, xo_err *e)
{
	memset(p, 0, sizeof(*p));
	if (strcmp(op, "VM_start") == 0)
		xo_plan_vm_start(vm, d, p);
	else if (strcmp(op, "VM_shutdown") == 0)
		plan_shutdown(vm, d, arg, p);
	else if (strcmp(op, "VM_reboot") == 0)
		plan_reboot(vm, d, arg, p);
	else if (strcmp(op, "VM_destroy") == 0)
		/* as xenopsd's VM.destroy, with the devices released too: no hooks */
		xo_plan_vm_teardown(vm, d, true, false, p);
	else if (strcmp(op, "VM_pause") == 0)
		xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_VM_PAUSE, .pos = -1 });
	else if (strcmp(op, "VM_unpause") == 0)
		xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_VM_UNPAUSE, .pos = -1 });
	else
		return xo_errf(e, XO_E_INTERNAL, "operation '%s' has no plan", op);
	return 0;
}

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
	struct xo_dominfo di;
	uint32_t d;
	int r = xo_vm_find_domain(ctx->b, ctx->vm.uuid, &d, &di, e);

	if (r < 0)
		return -1;
	if (strcmp(op, "VM_start") == 0) {
		if (r > 0)
			return xo_errf(e, XO_E_POWER_STATE, "vm %s is not halted (domid %u)", ctx->vm.name, d);
		return 0;
	}
	if (strcmp(op, "VM_destroy") == 0)
		return 0;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted", ctx->vm.name);
	if ((strcmp(op, "VM_pause") == 0 || strcmp(op, "VM_unpause") == 0) && di.shutdown)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s has shut down (%s)", ctx->vm.name,
			       di.shutdown_reason == XO_SHUTDOWN_CRASH ? "crashed" : "halted");
	return 0;
}

static int run_op(struct xo_ctx *ctx, const char *op, const char *arg, double from, double to,
		  xo_err *e)
{
	struct xo_plan p;
	int r;

	if (precondition(ctx, op, e) < 0)
		return -1;
	if (strcmp(op, "VM_reboot") == 0)
		apply_build_record(ctx);
	if (xo_op_plan(&ctx->vm, &ctx->d, op, arg, &p, e) < 0)
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
	return run_op(ctx, op, arg, 0, 1, e);
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
	faults_off = true;
	if (xo_vm_check_state(ctx, &e) < 0 && !quiet)
		xo_warn("check-state of vm %s after a failure: %s", ctx->vm.name, e.msg);
	faults_off = false;
	ctx->cancel = saved;
	ctx->task = task;
	ctx->quiet = quiet;
	xo_updates_emit("vm", ctx->vm.uuid);
}

/* ---------------------------------------------------------------- check-state */

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

/* an on_* action: shutdown, start (a hard reboot), pause, coredump (leave it as it is) */
static int apply_action(struct xo_ctx *ctx, enum xo_action act, const char *why, xo_err *e)
{
	switch (act) {
	case XO_ACT_START: {
		/* xenopsd waits before restarting a VM that ran briefly, so a boot loop cannot
		 * spin; the simulator, like xenopsd's, does not */
		double dflt = strcmp(xo_backend_name(), "sim") == 0 ? 0 : 15;
		double delay = env_seconds("XO_REBOOT_DELAY", dflt);
		if (delay > 0 && run_time(ctx) < env_seconds("XO_MIN_RUN_TIME", 120)) {
			struct xo_plan p = { 0 };
			struct xo_atom a = atom(XO_A_VM_DELAY);
			a.timeout_ms = (int)(delay * 1000);
			xo_plan_add(&p, &a);
			int r = xo_plan_run(ctx, &p, 0, 0.1, e);
			xo_plan_free(&p);
			if (r < 0)
				return -1;
		}
		return run_op(ctx, "VM_reboot", "hard", 0.1, 1, e);
	}
	case XO_ACT_PAUSE: {
		/* keep the domain, paused, for inspection (a shut-down one cannot run again) */
		struct xo_dominfo di;
		int d = need_domain(ctx, &di, e);
		if (d < 0)
			return -1;
		if (di.paused)
			return 0;
		return xo_dom_pause(ctx->b, (uint32_t)d, e);
	}
	case XO_ACT_COREDUMP:
		(void)why;
		return 0;
	case XO_ACT_SHUTDOWN:
	default: {
		struct xo_plan p = { 0 };
		int r;
		xo_plan_vm_teardown(&ctx->vm, &ctx->d, true, false, &p);
		r = xo_plan_run(ctx, &p, 0, 1, e);
		xo_plan_free(&p);
		return r;
	}
	}
}

/* the devices of a healthy VM: a plugged device whose backend went away, or whose plug
 * never finished (no hotplug-status), is unplugged; an active device that is not plugged
 * (a hot-plug that died half-way) is made inactive again */
static void check_devices(struct xo_ctx *ctx, uint32_t d)
{
	char k[160], id[16];
	xo_err ignore;

	for (size_t i = 0; i < ctx->d.n_vbd; i++) {
		const struct xo_vbd *v = &ctx->d.vbd[i];
		snprintf(k, sizeof(k), "/local/domain/0/backend/vbd/%u/%ld/hotplug-status", d,
			 xo_vbd_devid(v->name));
		bool plugged = xo_vbd_plugged(ctx->b, d, v);
		if (plugged && !xo_xs_exists(ctx->b->xs, XBT_NULL, k)) {
			xo_vbd_unplug(ctx->b, &ctx->vm, v, true, NULL, &ignore);
			plugged = false;
		}
		bool empty_pv = !v->backend[0] && ctx->vm.type != XO_VM_HVM;
		if (!plugged && !empty_pv && xo_device_active(ctx->b, ctx->vm.uuid, "vbd", v->name))
			xo_device_set_active(ctx->b, ctx->vm.uuid, "vbd", v->name, false, &ignore);
	}
	for (size_t i = 0; i < ctx->d.n_vif; i++) {
		const struct xo_vif *v = &ctx->d.vif[i];
		snprintf(k, sizeof(k), "/local/domain/0/backend/vif/%u/%d/hotplug-status", d, v->position);
		snprintf(id, sizeof(id), "%d", v->position);
		bool plugged = xo_vif_plugged(ctx->b, d, v);
		if (plugged && !xo_xs_exists(ctx->b->xs, XBT_NULL, k)) {
			xo_vif_unplug(ctx->b, &ctx->vm, v, true, NULL, &ignore);
			plugged = false;
		}
		if (!plugged && xo_device_active(ctx->b, ctx->vm.uuid, "vif", id))
			xo_device_set_active(ctx->b, ctx->vm.uuid, "vif", id, false, &ignore);
	}
}

/* the VM's device model was started (dm_pid in its record) and its process is gone */
static bool dm_died(struct xo_ctx *ctx)
{
	struct xo_extra x;
	xo_err ignore;
	int pid;

	if (xo_extra_load(ctx->vm.uuid, &x, &ignore) < 0)
		return false;
	pid = x.dm_pid;
	xo_extra_free(&x);
	return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

int xo_vm_check_state(struct xo_ctx *ctx, xo_err *e)
{
	struct xo_dominfo di;
	uint32_t d;
	char p[96], req[32] = "";
	int r = xo_vm_find_domain(ctx->b, ctx->vm.uuid, &d, &di, e);

	if (r < 0)
		return -1;
	if (r == 0)    /* no domain: whatever is left of one goes */
		return apply_action(ctx, XO_ACT_SHUTDOWN, "no domain", e);
	if (di.shutdown) {
		switch (di.shutdown_reason) {
		case XO_SHUTDOWN_POWEROFF:
			return apply_action(ctx, ctx->vm.on_shutdown, "poweroff", e);
		case XO_SHUTDOWN_REBOOT:
		case XO_SHUTDOWN_WATCHDOG:
		case XO_SHUTDOWN_SOFT_RESET:
			return apply_action(ctx, ctx->vm.on_reboot, "reboot", e);
		case XO_SHUTDOWN_CRASH: {
			enum xo_action act = ctx->vm.on_crash;
			/* the crash-loop rule: a VM that crashes soon after its start stays down */
			if (act == XO_ACT_START && run_time(ctx) < env_seconds("XO_CRASH_LOOP_SECONDS", 120))
				act = XO_ACT_SHUTDOWN;
			return apply_action(ctx, act, "crash", e);
		}
		case XO_SHUTDOWN_SUSPEND:
		default:
			return apply_action(ctx, XO_ACT_SHUTDOWN, "suspend", e);
		}
	}
	if (di.dying)
		return apply_action(ctx, XO_ACT_SHUTDOWN, "dying", e);
	snprintf(p, sizeof(p), "/local/domain/%u/vm", d);
	bool known = xo_xs_exists(ctx->b->xs, XBT_NULL, p);
	snprintf(p, sizeof(p), "/local/domain/%u/action-request", d);
	xo_xs_read_buf(ctx->b->xs, XBT_NULL, p, req, sizeof(req));
	/* a start that never finished is shut down, never restarted: it would only fail again */
	if (!known || strcmp(req, "poweroff") == 0)
		return apply_action(ctx, XO_ACT_SHUTDOWN, "unfinished start", e);
	if (strcmp(req, "reboot") == 0)
		return apply_action(ctx, ctx->vm.on_reboot, "reboot requested", e);
	/* a device model that died under a running guest: the VM has crashed (as xenopsd
	 * has it); the crash is then handled as any other (on_crash) */
	if (dm_died(ctx)) {
		if (xo_dom_shutdown(ctx->b, d, XO_SHUTDOWN_CRASH, e) < 0)
			return -1;
		return xo_vm_check_state(ctx, e);
	}
	check_devices(ctx, d);
	return 0;
}
