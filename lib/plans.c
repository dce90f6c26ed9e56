/*
 * plans.c: operations as lists of micro-ops, computed from the stored
 * configuration and what the backend has (see ops.h). Pure: nothing here
 * looks at a host.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

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

#define atom xo_atom_new

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

void xo_plan_vm_start(const struct xo_backend *b, const struct xo_vm *vm,
		      const struct xo_devices *d, struct xo_plan *p)
{
	static const enum xo_vbd_mode order[] = { XO_VBD_RW, XO_VBD_RO };

	memset(p, 0, sizeof(*p));
	add_arg(p, XO_A_HOOK, "vm-pre-start", "none");
	xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_VM_CREATE, .pos = -1 });
	if (xo_be_has_build(b))
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
	if (xo_be_needs_dm(b, vm))
		xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_DM_START, .pos = -1 });
	for (size_t i = 0; i < d->n_pci; i++)
		add_pos(p, XO_A_PCI_PLUG, d->pci[i].position, false);
	add_arg(p, XO_A_SET_ACTION_REQUEST, "none", NULL);
}

void xo_plan_vm_teardown(const struct xo_backend *b, const struct xo_vm *vm,
			 const struct xo_devices *d, bool full, bool keep_extra, struct xo_plan *p)
{
	struct xo_atom a;

	/* from here on the domain is going: a crash anywhere below makes check-state finish
	 * the job (poweroff), or the reboot (reboot) */
	a = atom(XO_A_SET_ACTION_REQUEST);
	xo_strlcpy(a.arg, keep_extra ? "reboot" : "poweroff", sizeof(a.arg));
	a.best_effort = true;
	xo_plan_add(p, &a);
	a = atom(XO_A_VM_PAUSE);
	a.best_effort = true;
	xo_plan_add(p, &a);
	if (xo_be_needs_dm(b, vm)) {
		a = atom(XO_A_DM_STOP);
		a.best_effort = true;
		xo_plan_add(p, &a);
	}
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
static void plan_shutdown(const struct xo_backend *b, const struct xo_vm *vm,
			  const struct xo_devices *d, const char *arg,
			  struct xo_plan *p)
{
	int timeout;
	bool clean = parse_mode(arg, &timeout);
	const char *reason = clean ? "clean-shutdown" : "hard-shutdown";

	add_hook(p, "vm-pre-shutdown", reason);
	if (clean)
		add_shutdown_domain(p, "poweroff", timeout);
	xo_plan_vm_teardown(b, vm, d, true, false, p);
	add_hook(p, "vm-post-destroy", reason);
}

/* xenopsd's VM_reboot: (clean request), hooks, tear down keeping the build record, start
 * again, unpause */
static void plan_reboot(const struct xo_backend *b, const struct xo_vm *vm,
			const struct xo_devices *d, const char *arg,
			struct xo_plan *p)
{
	struct xo_plan s = { 0 };
	int timeout;
	bool clean = parse_mode(arg, &timeout);
	const char *reason = clean ? "clean-reboot" : "hard-reboot";

	if (clean)
		add_shutdown_domain(p, "reboot", timeout);
	add_hook(p, "vm-pre-shutdown", reason);
	xo_plan_vm_teardown(b, vm, d, false, true, p);
	for (size_t i = 0; i < d->n_vbd; i++)
		if (d->vbd[i].backend[0])
			add_dev(p, XO_A_VBD_EPOCH_END, d->vbd[i].name, false);
	add_hook(p, "vm-post-destroy", reason);
	add_hook(p, "vm-pre-reboot", "none");
	xo_plan_vm_start(b, vm, d, &s);
	for (size_t i = 0; i < s.n; i++)
		xo_plan_add(p, &s.a[i]);
	xo_plan_free(&s);
	xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_VM_UNPAUSE, .pos = -1 });
}

int xo_op_plan(const struct xo_backend *b, const struct xo_vm *vm, const struct xo_devices *d,
	       const char *op, const char *arg, struct xo_plan *p, xo_err *e)
{
	memset(p, 0, sizeof(*p));
	if (strcmp(op, "VM_start") == 0)
		xo_plan_vm_start(b, vm, d, p);
	else if (strcmp(op, "VM_shutdown") == 0)
		plan_shutdown(b, vm, d, arg, p);
	else if (strcmp(op, "VM_reboot") == 0)
		plan_reboot(b, vm, d, arg, p);
	else if (strcmp(op, "VM_destroy") == 0)
		/* as xenopsd's VM.destroy, with the devices released too: no hooks */
		xo_plan_vm_teardown(b, vm, d, true, false, p);
	else if (strcmp(op, "VM_pause") == 0)
		xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_VM_PAUSE, .pos = -1 });
	else if (strcmp(op, "VM_unpause") == 0)
		xo_plan_add(p, &(struct xo_atom){ .kind = XO_A_VM_UNPAUSE, .pos = -1 });
	else if (strcmp(op, "VM_set_memory_dynamic_range") == 0)
		add_arg(p, XO_A_VM_SET_MEMORY, arg, NULL);
	else if (strcmp(op, "VM_set_vcpus") == 0)
		add_arg(p, XO_A_VM_SET_VCPUS, arg, NULL);
	else if (strcmp(op, "VM_set_vcpu_affinity") == 0)
		add_arg(p, XO_A_VM_SET_AFFINITY, arg, NULL);
	else
		return xo_errf(e, XO_E_INTERNAL, "operation '%s' has no plan", op);
	return 0;
}

