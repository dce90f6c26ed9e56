/*
 * optable.c: every micro-op, defined once (see ops.h).
 *
 * An entry holds a micro-op's name, its program, its operands and options,
 * and the function that runs it. Names (tasks, XO_FAULT), commands (--plan),
 * the programs' usage lines and option parsing (opmain.c) are derived from
 * the entry; tests/docs.bats checks cmd/commands.txt against the table.
 * Adding a micro-op: its kind in ops.h, an entry and a function here, its
 * program (cmd/, a one-line main), man page and completions.
 *
 * The functions are the only code that changes a VM. What every backend
 * shares (hooks, active flags, epochs, media and vif configuration) is done
 * here; the rest goes to the backend, through backend.h's checked wrappers.
 * Each is safe to run again after a crash.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devstate.h"
#include "extra.h"
#include "hooks.h"
#include "memory.h"
#include "ops.h"
#include "res.h"
#include "state.h"
#include "updates.h"

struct xo_atom xo_atom_new(enum xo_atom_kind k)
{
	struct xo_atom a;
	memset(&a, 0, sizeof(a));
	a.kind = k;
	a.pos = -1;
	return a;
}

/* ---------------------------------------------------------------- finding devices */

static struct xo_vbd *find_vbd(struct xo_ctx *ctx, const char *name, xo_err *e)
{
	for (size_t i = 0; i < ctx->d.n_vbd; i++)
		if (strcmp(ctx->d.vbd[i].name, name) == 0)
			return &ctx->d.vbd[i];
	xo_errf(e, XO_E_NOT_FOUND, "vbd %s of vm %s does not exist", name, ctx->vm.name);
	return NULL;
}

static struct xo_vif *find_vif(struct xo_ctx *ctx, int pos, xo_err *e)
{
	for (size_t i = 0; i < ctx->d.n_vif; i++)
		if (ctx->d.vif[i].position == pos)
			return &ctx->d.vif[i];
	xo_errf(e, XO_E_NOT_FOUND, "vif %d of vm %s does not exist", pos, ctx->vm.name);
	return NULL;
}

static struct xo_pci *find_pci(struct xo_ctx *ctx, int pos, xo_err *e)
{
	for (size_t i = 0; i < ctx->d.n_pci; i++)
		if (ctx->d.pci[i].position == pos)
			return &ctx->d.pci[i];
	xo_errf(e, XO_E_NOT_FOUND, "pci device %d of vm %s does not exist", pos, ctx->vm.name);
	return NULL;
}

static void pos_id(int pos, char id[16])
{
	snprintf(id, 16, "%d", pos);
}

/* ---------------------------------------------------------------- the micro-ops */

static int run_hook(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	struct xo_vm_live l;
	int domid = xo_ctx_live(ctx, &l, e) == 0 && l.exists ? l.domid : -1;
	return xo_hooks_run(a->arg, ctx->vm.uuid, a->arg2, domid, &ctx->cancel, e);
}

static int run_vm_create(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	(void)a;
	return xo_be_vm_create(ctx, e);
}

static int run_vm_build(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	(void)a;
	return xo_be_vm_build(ctx, e);
}

static int run_vbd_set_active(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	const struct xo_vbd *v = find_vbd(ctx, a->dev, e);
	return v ? xo_device_set_active(ctx->vm.uuid, "vbd", v->name, a->flag, e) : -1;
}

static int run_vbd_epoch_begin(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	const struct xo_vbd *v = find_vbd(ctx, a->dev, e);
	return v ? xo_vbd_epoch_begin(ctx->vm.uuid, v, e) : -1;
}

static int run_vbd_epoch_end(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	const struct xo_vbd *v = find_vbd(ctx, a->dev, e);
	return v ? xo_vbd_epoch_end(ctx->vm.uuid, v, e) : -1;
}

static int run_vbd_plug(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	const struct xo_vbd *v = find_vbd(ctx, a->dev, e);
	if (!v)
		return -1;
	if (!xo_device_active(ctx->vm.uuid, "vbd", v->name))
		return xo_errf(e, XO_E_POWER_STATE, "vbd %s is not active (xo-vbd-set-active first)",
			       v->name);
	return xo_be_vbd_plug(ctx, v, e);
}

static int run_vbd_unplug(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	const struct xo_vbd *v = find_vbd(ctx, a->dev, e);
	return v ? xo_be_vbd_unplug(ctx, v, a->flag, e) : -1;
}

static int run_vif_set_active(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	char id[16];
	const struct xo_vif *v = find_vif(ctx, a->pos, e);
	if (!v)
		return -1;
	pos_id(v->position, id);
	return xo_device_set_active(ctx->vm.uuid, "vif", id, a->flag, e);
}

static int run_vif_plug(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	char id[16];
	const struct xo_vif *v = find_vif(ctx, a->pos, e);
	if (!v)
		return -1;
	pos_id(v->position, id);
	if (!xo_device_active(ctx->vm.uuid, "vif", id))
		return xo_errf(e, XO_E_POWER_STATE, "vif %d is not active (xo-vif-set-active first)",
			       v->position);
	return xo_be_vif_plug(ctx, v, e);
}

static int run_vif_unplug(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	const struct xo_vif *v = find_vif(ctx, a->pos, e);
	return v ? xo_be_vif_unplug(ctx, v, a->flag, e) : -1;
}

static int run_dm_start(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	(void)a;
	return xo_be_dm_start(ctx, e);
}

static int run_dm_stop(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	(void)a;
	return xo_be_dm_stop(ctx, e);
}

/* a plugged pci device is marked active too, so that its configuration can tell it is in
 * use without asking a host */
static int run_pci_plug(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	char id[16];
	const struct xo_pci *p = find_pci(ctx, a->pos, e);
	if (!p)
		return -1;
	pos_id(p->position, id);
	if (xo_device_set_active(ctx->vm.uuid, "pci", id, true, e) < 0)
		return -1;
	if (xo_be_pci_plug(ctx, p, e) < 0) {
		xo_err ignore;
		xo_device_set_active(ctx->vm.uuid, "pci", id, false, &ignore);
		return -1;
	}
	return 0;
}

static int run_pci_unplug(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	char id[16];
	const struct xo_pci *p = find_pci(ctx, a->pos, e);
	if (!p || xo_be_pci_unplug(ctx, p, e) < 0)
		return -1;
	pos_id(p->position, id);
	return xo_device_set_active(ctx->vm.uuid, "pci", id, false, e);
}

static int run_set_action_request(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	return xo_be_set_action_request(ctx, strcmp(a->arg, "none") == 0 ? NULL : a->arg, e);
}

static int run_vm_pause(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	(void)a;
	return xo_be_vm_pause(ctx, e);
}

static int run_vm_unpause(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	(void)a;
	return xo_be_vm_unpause(ctx, e);
}

static int run_vm_shutdown_domain(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	return xo_be_vm_shutdown(ctx, a->arg, a->timeout_ms, e);
}

/* after the backend's destroy, what its instance held on the host and nobody released
 * (a start or a stop killed half-way: res.h) goes too */
static int run_vm_destroy(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	if (xo_be_vm_destroy(ctx, a->flag, e) < 0)
		return -1;
	return xo_res_release_all(ctx->vm.uuid, e);
}

static int run_vm_delay(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	struct timespec ts = { a->timeout_ms / 1000, (long)(a->timeout_ms % 1000) * 1000000L };

	(void)ctx;
	(void)e;
	while (nanosleep(&ts, &ts) < 0)
		;
	return 0;
}

/* media changes: the drive stays, the disc comes and goes; the stored configuration
 * changes first, then the running VM follows (the backend's vbd_media) */
static int vbd_media(struct xo_ctx *ctx, struct xo_vbd *v, const char *path, xo_err *e)
{
	struct xo_vm_live l;

	if (v->type != XO_VBD_CDROM && v->type != XO_VBD_FLOPPY)
		return xo_errf(e, XO_E_INVALID, "vbd %s is a %s: only cdrom and floppy media can change",
			       v->name, xo_vbd_type_name(v->type));
	if (!path && !v->backend[0])
		return xo_errf(e, XO_E_INVALID, "vbd %s has no media to eject", v->name);
	if (path && v->backend[0])
		return xo_errf(e, XO_E_INVALID, "vbd %s already has media ('%s'): eject it first",
			       v->name, v->backend);
	if (path && access(path, R_OK) < 0)
		return xo_errf(e, XO_E_INVALID, "media '%s' is missing or unreadable", path);
	if (xo_ctx_live(ctx, &l, e) < 0)
		return -1;
	char *old = v->backend;
	/* an eject takes the disc from the running VM before the configuration forgets it */
	if (!path && l.exists) {
		v->backend = xstrdup("");
		int r = xo_be_vbd_media(ctx, v, e);
		free(v->backend);
		v->backend = old;
		if (r < 0)
			return -1;
	}
	v->backend = xstrdup(path ? path : "");
	if (xo_vbd_check(v, e) < 0 || xo_vbd_save(ctx->vm.uuid, v, e) < 0) {
		free(v->backend);
		v->backend = old;
		return -1;
	}
	free(old);
	if (path && l.exists)
		return xo_be_vbd_media(ctx, v, e);
	return 0;
}

static int run_vbd_eject(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	struct xo_vbd *v = find_vbd(ctx, a->dev, e);
	return v ? vbd_media(ctx, v, NULL, e) : -1;
}

static int run_vbd_insert(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	struct xo_vbd *v = find_vbd(ctx, a->dev, e);
	return v ? vbd_media(ctx, v, a->arg, e) : -1;
}

/* a vif's carrier or locking: the stored configuration changes only if the new one is
 * valid, then a plugged vif follows */
static int vif_change(struct xo_ctx *ctx, struct xo_vif *v, const struct xo_atom *a, xo_err *e)
{
	struct xo_vif n;

	if (xo_vif_load(ctx->vm.uuid, v->position, &n, e) < 0)
		return -1;
	if (a->kind == XO_A_VIF_SET_CARRIER) {
		n.carrier = a->flag;
	} else {
		if (xo_lock_mode_parse(a->arg, &n.locking_mode, e) < 0)
			goto fail;
		for (size_t i = 0; i < n.n_ipv4; i++)
			free(n.ipv4_allowed[i]);
		for (size_t i = 0; i < n.n_ipv6; i++)
			free(n.ipv6_allowed[i]);
		n.n_ipv4 = n.n_ipv6 = 0;
		char *list = xstrdup(a->arg2), *save = NULL;
		for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (xo_vif_add_allowed(&n, tok, e) < 0) {
				free(list);
				goto fail;
			}
		}
		free(list);
	}
	if (xo_vif_check(&n, e) < 0 || xo_vif_save(ctx->vm.uuid, &n, e) < 0)
		goto fail;
	xo_vif_free(v);
	*v = n;
	return xo_be_vif_apply(ctx, v, a->kind == XO_A_VIF_SET_CARRIER ? XO_VIF_APPLY_CARRIER
									: XO_VIF_APPLY_LOCKING, e);
fail:
	xo_vif_free(&n);
	return -1;
}

static int run_vif_change(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	struct xo_vif *v = find_vif(ctx, a->pos, e);
	return v ? vif_change(ctx, v, a, e) : -1;
}

/* ---------------------------------------------------------------- changes at run time */

/*
 * xenopsd's VM_set_memory_dynamic_range and VM_set_vcpus, xl's mem-set,
 * vcpu-set and vcpu-pin. The new values are checked against the stored
 * configuration, applied to the VM's running instance if it has one (a
 * guest that has shut down has none to change), then stored: the
 * configuration, and the build record a reboot starts from, so that the
 * VM keeps them across a reboot and a later start. A halted VM only
 * stores them. A balloon target that grows reserves the memory its guest
 * may take first (memory.h): not enough free memory fails with nothing
 * changed.
 */

/* the instance to change: 1 a live one (*l filled), 0 none (or one that has shut down) */
static int running(struct xo_ctx *ctx, struct xo_vm_live *l, xo_err *e)
{
	if (xo_ctx_live(ctx, l, e) < 0)
		return -1;
	return l->exists && !l->shutdown ? 1 : 0;
}

/* the build record follows (a reboot starts from it) */
static void update_record(const char *uuid, uint64_t target_kib, unsigned vcpus)
{
	struct xo_extra x;
	xo_err e;

	if (xo_extra_load(uuid, &x, &e) < 0)
		return;
	if (x.built) {
		if (target_kib)
			x.target_kib = target_kib;
		if (vcpus)
			x.vcpus = vcpus;
		if (xo_extra_save(uuid, &x, &e) < 0)
			xo_warn("vm %s: the build record keeps the old values: %s", uuid, e.msg);
	}
	xo_extra_free(&x);
}

/* "TARGET MIN MAX", each a size or "-" */
static int memory_words(const char *arg, uint64_t v[3], xo_err *e)
{
	char buf[sizeof(((struct xo_atom *)0)->arg)], *save = NULL, *tok;
	int n = 0;

	xo_strlcpy(buf, arg, sizeof(buf));
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (n == 3)
			break;
		v[n] = 0;
		if (strcmp(tok, "-") != 0 && (xo_parse_size(tok, &v[n]) < 0 || v[n] == 0))
			return xo_errf(e, XO_E_INVALID, "invalid memory size '%s'", tok);
		n++;
	}
	if (n != 3 || tok)
		return xo_errf(e, XO_E_INVALID, "invalid memory change '%s': expected TARGET MIN MAX",
			       arg);
	if (!v[0] && !v[1] && !v[2])
		return xo_errf(e, XO_E_INVALID, "nothing to change: give a target, --min or --max");
	return 0;
}

static int run_vm_set_memory(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	struct xo_vm_live l;
	struct xo_vm *vm = &ctx->vm;
	uint64_t v[3], old_target = vm->memory_target, old_min = vm->memory_dynamic_min,
		 old_max = vm->memory_dynamic_max;
	int live;

	if (memory_words(a->arg, v, e) < 0 || (live = running(ctx, &l, e)) < 0)
		return -1;
	if (v[1])
		vm->memory_dynamic_min = v[1];
	if (v[2])
		vm->memory_dynamic_max = v[2];
	uint64_t target = v[0];
	if (!target) {
		/* a new range keeps the target the guest has (or the stored one), as far as it
		 * fits; a halted VM without a target keeps following dynamic_max */
		target = live && l.memory_target ? l.memory_target : old_target;
		if (target && target < vm->memory_dynamic_min)
			target = vm->memory_dynamic_min;
		if (target > vm->memory_dynamic_max)
			target = vm->memory_dynamic_max;
	}
	vm->memory_target = target;
	if (xo_vm_check(vm, e) < 0)
		goto undo;
	target = xo_vm_memory_target(vm);
	if (live) {
		uint64_t old_live = l.memory_target;
		if (xo_memory_reserve_balloon(ctx->b, vm->uuid, target / 1024, l.memory_actual / 1024,
					      e) < 0)
			goto undo;
		if (xo_be_vm_set_memory(ctx, target, vm->memory_dynamic_min, vm->memory_dynamic_max,
					e) < 0) {
			xo_err ignore;
			xo_memory_reserve_balloon(ctx->b, vm->uuid, old_live / 1024,
						  l.memory_actual / 1024, &ignore);
			goto undo;
		}
	}
	if (xo_vm_save(vm, e) < 0)
		goto undo;
	if (live)
		update_record(vm->uuid, target / 1024, 0);
	return 0;
undo:
	vm->memory_target = old_target;
	vm->memory_dynamic_min = old_min;
	vm->memory_dynamic_max = old_max;
	return -1;
}

static int run_vm_set_vcpus(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	struct xo_vm_live l;
	unsigned n, old = ctx->vm.vcpus;
	int live;

	if (xo_parse_uint(a->arg, XO_VCPUS_MAX, &n) < 0 || n == 0)
		return xo_errf(e, XO_E_INVALID, "invalid vcpus '%s': expected 1 to %u", a->arg,
			       ctx->vm.vcpu_max);
	if (n > ctx->vm.vcpu_max)
		return xo_errf(e, XO_E_INVALID, "invalid vcpus %u: vm %s has at most %u (vcpu_max)", n,
			       ctx->vm.name, ctx->vm.vcpu_max);
	if ((live = running(ctx, &l, e)) < 0)
		return -1;
	if (live && xo_be_vm_set_vcpus(ctx, n, e) < 0)
		return -1;
	ctx->vm.vcpus = n;
	if (xo_vm_save(&ctx->vm, e) < 0) {
		ctx->vm.vcpus = old;
		return -1;
	}
	if (live)
		update_record(ctx->vm.uuid, 0, n);
	return 0;
}

static int run_vm_set_affinity(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	struct xo_vm_live l;
	uint8_t map[XO_CPUMAP_BYTES];
	char *old = ctx->vm.affinity;
	int live;

	if (xo_cpulist_parse(a->arg, map, "cpus", e) < 0 || (live = running(ctx, &l, e)) < 0)
		return -1;
	bool all = strcmp(a->arg, "all") == 0;
	ctx->vm.affinity = all ? NULL : xstrdup(a->arg);
	if (xo_vm_check(&ctx->vm, e) < 0)
		goto undo;
	/* a list of every cpu is no pinning either */
	all = all || !ctx->vm.affinity;
	if (live && xo_be_vm_set_affinity(ctx, all ? NULL : map, e) < 0)
		goto undo;
	if (xo_vm_save(&ctx->vm, e) < 0)
		goto undo;
	free(old);
	return 0;
undo:
	free(ctx->vm.affinity);
	ctx->vm.affinity = old;
	return -1;
}

/* ---------------------------------------------------------------- the table */

#define NONE XO_A__COUNT

static const struct xo_atom_def defs[XO_A__COUNT] = {
	[XO_A_HOOK] = { XO_A_HOOK, "hook", "xo-hook-run", XO_OPND_HOOK, XO_AOPT_REASON, NULL, NULL,
			run_hook, NONE, NONE },
	[XO_A_VM_CREATE] = { XO_A_VM_CREATE, "VM_create", "xo-domain-create", XO_OPND_VM, 0, NULL,
			     NULL, run_vm_create, NONE, NONE },
	[XO_A_VM_BUILD] = { XO_A_VM_BUILD, "VM_build", "xo-domain-build", XO_OPND_VM, 0, NULL, NULL,
			    run_vm_build, NONE, NONE },
	[XO_A_VBD_SET_ACTIVE] = { XO_A_VBD_SET_ACTIVE, "VBD_set_active", "xo-vbd-set-active",
				  XO_OPND_VBD_FLAG, 0, NULL, "vbd", run_vbd_set_active, NONE, NONE },
	[XO_A_VBD_EPOCH_BEGIN] = { XO_A_VBD_EPOCH_BEGIN, "VBD_epoch_begin", "xo-vbd-epoch-begin",
				   XO_OPND_VBD, 0, NULL, "vbd", run_vbd_epoch_begin, NONE, NONE },
	[XO_A_VBD_EPOCH_END] = { XO_A_VBD_EPOCH_END, "VBD_epoch_end", "xo-vbd-epoch-end",
				 XO_OPND_VBD, 0, NULL, "vbd", run_vbd_epoch_end, NONE, NONE },
	[XO_A_VBD_PLUG] = { XO_A_VBD_PLUG, "VBD_plug", "xo-vbd-plug", XO_OPND_VBD, 0, NULL, "vbd",
			    run_vbd_plug, XO_A_VBD_SET_ACTIVE, NONE },
	[XO_A_VBD_UNPLUG] = { XO_A_VBD_UNPLUG, "VBD_unplug", "xo-vbd-unplug", XO_OPND_VBD,
			      XO_AOPT_FORCE, NULL, "vbd", run_vbd_unplug, NONE, XO_A_VBD_SET_ACTIVE },
	[XO_A_VIF_SET_ACTIVE] = { XO_A_VIF_SET_ACTIVE, "VIF_set_active", "xo-vif-set-active",
				  XO_OPND_POS_FLAG, 0, NULL, "vif", run_vif_set_active, NONE, NONE },
	[XO_A_VIF_PLUG] = { XO_A_VIF_PLUG, "VIF_plug", "xo-vif-plug", XO_OPND_POS, 0, NULL, "vif",
			    run_vif_plug, XO_A_VIF_SET_ACTIVE, NONE },
	[XO_A_VIF_UNPLUG] = { XO_A_VIF_UNPLUG, "VIF_unplug", "xo-vif-unplug", XO_OPND_POS,
			      XO_AOPT_FORCE, NULL, "vif", run_vif_unplug, NONE, XO_A_VIF_SET_ACTIVE },
	[XO_A_DM_START] = { XO_A_DM_START, "VM_create_device_model", "xo-qemu-start", XO_OPND_VM, 0,
			    NULL, NULL, run_dm_start, NONE, NONE },
	[XO_A_DM_STOP] = { XO_A_DM_STOP, "VM_destroy_device_model", "xo-qemu-stop", XO_OPND_VM, 0,
			   NULL, NULL, run_dm_stop, NONE, NONE },
	[XO_A_PCI_PLUG] = { XO_A_PCI_PLUG, "PCI_plug", "xo-pci-plug", XO_OPND_POS, 0, NULL, "pci",
			    run_pci_plug, NONE, NONE },
	[XO_A_PCI_UNPLUG] = { XO_A_PCI_UNPLUG, "PCI_unplug", "xo-pci-unplug", XO_OPND_POS, 0, NULL,
			      "pci", run_pci_unplug, NONE, NONE },
	[XO_A_SET_ACTION_REQUEST] = { XO_A_SET_ACTION_REQUEST, "VM_set_domain_action_request",
				      "xo-vm-set-action-request", XO_OPND_ARG, 0,
				      "none|poweroff|reboot", NULL, run_set_action_request, NONE,
				      NONE },
	[XO_A_VM_PAUSE] = { XO_A_VM_PAUSE, "VM_pause", "xo-domain-pause", XO_OPND_VM, 0, NULL, NULL,
			    run_vm_pause, NONE, NONE },
	[XO_A_VM_UNPAUSE] = { XO_A_VM_UNPAUSE, "VM_unpause", "xo-domain-unpause", XO_OPND_VM, 0,
			      NULL, NULL, run_vm_unpause, NONE, NONE },
	[XO_A_VM_SHUTDOWN_DOMAIN] = { XO_A_VM_SHUTDOWN_DOMAIN, "VM_shutdown_domain",
				      "xo-domain-shutdown", XO_OPND_ARG, XO_AOPT_TIMEOUT,
				      "poweroff|reboot|halt|suspend", NULL, run_vm_shutdown_domain,
				      NONE, NONE },
	[XO_A_VM_DESTROY] = { XO_A_VM_DESTROY, "VM_destroy", "xo-domain-destroy", XO_OPND_VM,
			      XO_AOPT_KEEP, NULL, NULL, run_vm_destroy, NONE, NONE },
	[XO_A_VM_DELAY] = { XO_A_VM_DELAY, "VM_delay", "sleep", XO_OPND_DELAY, 0, NULL, NULL,
			    run_vm_delay, NONE, NONE },
	[XO_A_VBD_EJECT] = { XO_A_VBD_EJECT, "VBD_eject", "xo-vbd-eject", XO_OPND_VBD, 0, NULL, "vbd",
			     run_vbd_eject, NONE, NONE },
	[XO_A_VBD_INSERT] = { XO_A_VBD_INSERT, "VBD_insert", "xo-vbd-insert", XO_OPND_VBD_ARG, 0,
			      NULL, "vbd", run_vbd_insert, NONE, NONE },
	[XO_A_VIF_SET_CARRIER] = { XO_A_VIF_SET_CARRIER, "VIF_set_carrier", "xo-vif-set-carrier",
				   XO_OPND_POS_FLAG, 0, NULL, "vif", run_vif_change, NONE, NONE },
	[XO_A_VIF_SET_LOCKING] = { XO_A_VIF_SET_LOCKING, "VIF_set_locking_mode", "xo-vif-set-locking",
				   XO_OPND_POS_ARG, XO_AOPT_ALLOW, "unlocked|locked|disabled", "vif",
				   run_vif_change, NONE, NONE },
	/* operations of one micro-op each: their program queues the operation (opmain.c) */
	[XO_A_VM_SET_MEMORY] = { XO_A_VM_SET_MEMORY, "VM_set_memory_dynamic_range", "xo-vm-set-memory",
				 XO_OPND_MEMORY, 0, NULL, NULL, run_vm_set_memory, NONE, NONE },
	[XO_A_VM_SET_VCPUS] = { XO_A_VM_SET_VCPUS, "VM_set_vcpus", "xo-vm-set-vcpus", XO_OPND_ARG, 0,
				NULL, NULL, run_vm_set_vcpus, NONE, NONE },
	[XO_A_VM_SET_AFFINITY] = { XO_A_VM_SET_AFFINITY, "VM_set_vcpu_affinity", "xo-vm-set-affinity",
				   XO_OPND_ARG, 0, NULL, NULL, run_vm_set_affinity, NONE, NONE },
};

const struct xo_atom_def *xo_atom_def(enum xo_atom_kind k)
{
	return k < XO_A__COUNT ? &defs[k] : NULL;
}

const struct xo_atom_def *xo_atom_defs(size_t *n)
{
	*n = XO_A__COUNT;
	return defs;
}

int xo_atom_run(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	const struct xo_atom_def *d = xo_atom_def(a->kind);
	if (!d || !d->run)
		return xo_errf(e, XO_E_INTERNAL, "micro-op %d is not implemented", (int)a->kind);
	return d->run(ctx, a, e);
}

/* ---------------------------------------------------------------- names, commands, usage */

static void add(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* the operand that names the device */
static bool by_name(enum xo_operands o)
{
	return o == XO_OPND_VBD || o == XO_OPND_VBD_FLAG || o == XO_OPND_VBD_ARG;
}

static bool by_pos(enum xo_operands o)
{
	return o == XO_OPND_POS || o == XO_OPND_POS_FLAG || o == XO_OPND_POS_ARG;
}

static bool has_flag(enum xo_operands o)
{
	return o == XO_OPND_VBD_FLAG || o == XO_OPND_POS_FLAG;
}

static bool has_arg(enum xo_operands o)
{
	return o == XO_OPND_VBD_ARG || o == XO_OPND_POS_ARG || o == XO_OPND_ARG;
}

/* what names and commands share after the VM: the device, on|off, the word */
static void operands(const struct xo_atom_def *d, const struct xo_atom *a, char *buf, size_t size)
{
	if (by_name(d->operands))
		add(buf, size, " %s", a->dev);
	if (by_pos(d->operands))
		add(buf, size, " %d", a->pos);
	if (has_flag(d->operands))
		add(buf, size, " %s", a->flag ? "on" : "off");
	if (has_arg(d->operands) || d->operands == XO_OPND_HOOK)
		add(buf, size, " %s", a->arg);
	if (d->operands == XO_OPND_MEMORY) {
		/* "TARGET MIN MAX" as the program takes it: [TARGET] [--min MIN] [--max MAX] */
		char w[3][40] = { "-", "-", "-" };
		if (sscanf(a->arg, "%39s %39s %39s", w[0], w[1], w[2]) < 1)
			return;
		if (strcmp(w[0], "-") != 0)
			add(buf, size, " %s", w[0]);
		if (strcmp(w[1], "-") != 0)
			add(buf, size, " --min %s", w[1]);
		if (strcmp(w[2], "-") != 0)
			add(buf, size, " --max %s", w[2]);
	}
}

void xo_atom_name(const struct xo_atom *a, char *buf, size_t size)
{
	const struct xo_atom_def *d = xo_atom_def(a->kind);

	buf[0] = '\0';
	if (!d) {
		add(buf, size, "micro-op %d", (int)a->kind);
		return;
	}
	add(buf, size, "%s", d->name);
	if (d->operands == XO_OPND_DELAY) {
		add(buf, size, " %dms", a->timeout_ms);
		return;
	}
	operands(d, a, buf, size);
	if ((d->options & XO_AOPT_FORCE) && a->flag)
		add(buf, size, " force");
}

void xo_atom_command(const struct xo_vm *vm, const struct xo_atom *a, char *buf, size_t size)
{
	const struct xo_atom_def *d = xo_atom_def(a->kind);

	buf[0] = '\0';
	if (!d) {
		add(buf, size, "true");
		return;
	}
	if (d->operands == XO_OPND_DELAY) {
		add(buf, size, "sleep %g", a->timeout_ms / 1000.0);
		return;
	}
	add(buf, size, "%s %s", d->program, vm->name);
	operands(d, a, buf, size);
	if ((d->options & XO_AOPT_FORCE) && a->flag)
		add(buf, size, " --force");
	if ((d->options & XO_AOPT_KEEP) && a->flag)
		add(buf, size, " --keep-build");
	if (d->options & XO_AOPT_REASON)
		add(buf, size, " --reason %s", a->arg2);
	if (d->options & XO_AOPT_TIMEOUT)
		add(buf, size, " --timeout %g", a->timeout_ms / 1000.0);
	if (d->options & XO_AOPT_ALLOW) {
		for (const char *p = a->arg2; *p;) {
			size_t l = strcspn(p, ",");
			add(buf, size, " --allow %.*s", (int)l, p);
			p += l + (p[l] == ',');
		}
	}
}

void xo_atom_usage(const struct xo_atom_def *d, char *buf, size_t size)
{
	buf[0] = '\0';
	add(buf, size, "[-n]");
	if (d->options & XO_AOPT_FORCE)
		add(buf, size, " [--force]");
	if (d->options & XO_AOPT_KEEP)
		add(buf, size, " [--keep-build]");
	add(buf, size, " VM");
	if (by_name(d->operands))
		add(buf, size, " NAME");
	if (by_pos(d->operands))
		add(buf, size, " POSITION");
	if (has_flag(d->operands))
		add(buf, size, " on|off");
	if (d->operands == XO_OPND_MEMORY)
		add(buf, size, " [TARGET] [--min SIZE] [--max SIZE]");
	if (d->operands == XO_OPND_VBD_ARG)
		add(buf, size, " PATH");
	else if (has_arg(d->operands))
		add(buf, size, " %s", d->words ? d->words : "WORD");
	if (d->operands == XO_OPND_HOOK)
		add(buf, size, " HOOK");
	if (d->options & XO_AOPT_REASON)
		add(buf, size, " [--reason REASON]");
	if (d->options & XO_AOPT_TIMEOUT)
		add(buf, size, " [--timeout SECONDS]");
	if (d->options & XO_AOPT_ALLOW)
		add(buf, size, " [--allow ADDR]...");
}
