/*
 * atomics.c: one function per micro-op, the only code that changes a VM
 * (see ops.h). Each is safe to run again after a crash: plugging what is
 * plugged is refused, unplugging what is gone and destroying what does not
 * exist succeed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "domain.h"
#include "hooks.h"
#include "ops.h"
#include "state.h"
#include "updates.h"
#include "xs.h"

int xo_ctx_open(struct xo_ctx *ctx, const char *uuid, xo_err *e)
{
	memset(ctx, 0, sizeof(*ctx));
	if (xo_vm_load(uuid, &ctx->vm, e) < 0)
		return -1;
	if (xo_devices_load(uuid, &ctx->d, e) < 0) {
		xo_vm_free(&ctx->vm);
		return -1;
	}
	if (xo_backend_open(&ctx->b, e) < 0) {
		xo_devices_free(&ctx->d);
		xo_vm_free(&ctx->vm);
		return -1;
	}
	return 0;
}

void xo_ctx_close(struct xo_ctx *ctx)
{
	xo_devices_free(&ctx->d);
	xo_vm_free(&ctx->vm);
}

static const struct xo_vbd *find_vbd(const struct xo_ctx *ctx, const char *name, xo_err *e)
{
	for (size_t i = 0; i < ctx->d.n_vbd; i++)
		if (strcmp(ctx->d.vbd[i].name, name) == 0)
			return &ctx->d.vbd[i];
	xo_errf(e, XO_E_NOT_FOUND, "vbd %s of vm %s does not exist", name, ctx->vm.name);
	return NULL;
}

static const struct xo_vif *find_vif(const struct xo_ctx *ctx, int pos, xo_err *e)
{
	for (size_t i = 0; i < ctx->d.n_vif; i++)
		if (ctx->d.vif[i].position == pos)
			return &ctx->d.vif[i];
	xo_errf(e, XO_E_NOT_FOUND, "vif %d of vm %s does not exist", pos, ctx->vm.name);
	return NULL;
}

static const struct xo_pci *find_pci(const struct xo_ctx *ctx, int pos, xo_err *e)
{
	for (size_t i = 0; i < ctx->d.n_pci; i++)
		if (ctx->d.pci[i].position == pos)
			return &ctx->d.pci[i];
	xo_errf(e, XO_E_NOT_FOUND, "pci device %d of vm %s does not exist", pos, ctx->vm.name);
	return NULL;
}

static int domid_of(struct xo_ctx *ctx, uint32_t *d, xo_err *e)
{
	int r = xo_vm_find_domain(ctx->b, ctx->vm.uuid, d, NULL, e);
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no domain)", ctx->vm.name);
	return r < 0 ? -1 : 0;
}

static int dm_start(struct xo_ctx *ctx, xo_err *e)
{
	struct xo_dm_args a;
	struct xo_extra x;
	uint32_t d;
	int pid = 0;
	char qmp[128], log[4096];

	if (domid_of(ctx, &d, e) < 0)
		return -1;
	if (!ctx->b->ops->dm_start)
		return xo_errf(e, XO_E_INTERNAL, "the %s backend has no device model", ctx->b->ops->name);
	memset(&a, 0, sizeof(a));
	a.type = ctx->vm.type;
	a.name = ctx->vm.name;
	a.uuid = ctx->vm.uuid;
	a.memory_kib = ctx->vm.memory_dynamic_max / 1024;
	a.vcpus = ctx->vm.vcpus;
	a.max_vcpus = ctx->vm.vcpu_max;
	a.boot_order = ctx->vm.boot_order ? ctx->vm.boot_order : "cd";
	a.framebuffer = ctx->vm.framebuffer;
	snprintf(qmp, sizeof(qmp), "%s/VM/%s/qmp", xo_state_dir(), ctx->vm.uuid);
	snprintf(log, sizeof(log), "%s/VM/%s/qemu.log", xo_state_dir(), ctx->vm.uuid);
	a.qmp_path = qmp;
	a.log_path = log;
	if (ctx->b->ops->dm_start(ctx->b, d, &a, &pid, e) < 0)
		return -1;
	if (xo_extra_load(ctx->vm.uuid, &x, e) < 0)
		return -1;
	x.dm_pid = pid;
	int r = xo_extra_save(ctx->vm.uuid, &x, e);
	xo_extra_free(&x);
	return r;
}

static int dm_stop(struct xo_ctx *ctx, xo_err *e)
{
	struct xo_extra x;
	uint32_t d;
	int r;

	if (xo_vm_find_domain(ctx->b, ctx->vm.uuid, &d, NULL, e) <= 0)
		return 0;
	if (xo_extra_load(ctx->vm.uuid, &x, e) < 0)
		return e->cls == XO_E_NOT_FOUND ? 0 : -1;
	if (!x.dm_pid) {
		xo_extra_free(&x);
		return 0;
	}
	r = ctx->b->ops->dm_stop ? ctx->b->ops->dm_stop(ctx->b, d, e) : 0;
	if (r == 0) {
		x.dm_pid = 0;
		r = xo_extra_save(ctx->vm.uuid, &x, e);
	}
	xo_extra_free(&x);
	return r;
}

static int pause_unpause(struct xo_ctx *ctx, bool pause, xo_err *e)
{
	struct xo_dominfo di;
	uint32_t d;
	int r = xo_vm_find_domain(ctx->b, ctx->vm.uuid, &d, &di, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no domain)", ctx->vm.name);
	if (pause ? di.paused : !di.paused)
		return 0;
	r = pause ? xo_dom_pause(ctx->b, d, e) : xo_dom_unpause(ctx->b, d, e);
	if (r == 0)
		xo_updates_emit("vm", ctx->vm.uuid);
	return r;
}

/* xenopsd's VM_shutdown_domain: ask the guest through control/shutdown, wait for it to
 * acknowledge (the key is cleared), then for the domain to shut down */
struct shutdown_wait {
	struct xo_backend *b;
	uint32_t domid;
	char key[96];
	unsigned reason;
};

static int ack_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct shutdown_wait *w = arg;
	char v[32];
	struct xo_dominfo di;

	(void)e;
	if (xo_dom_info(w->b, w->domid, &di, e) < 0 || di.shutdown || di.dying)
		return 1;     /* gone or down already counts as an answer */
	if (!xo_xs_read_buf(xs, XBT_NULL, w->key, v, sizeof(v)) || !v[0])
		return 1;
	return 0;
}

static int down_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct shutdown_wait *w = arg;
	struct xo_dominfo di;
	xo_err ignore;

	(void)xs;
	(void)e;
	if (xo_dom_info(w->b, w->domid, &di, &ignore) < 0)
		return 1;
	return di.shutdown || di.dying ? 1 : 0;
}

static int request_shutdown(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	struct shutdown_wait *w = arg;
	char dom[64];
	snprintf(dom, sizeof(dom), "/local/domain/%u", w->domid);
	if (!xo_xs_exists(xs, t, dom))
		return xo_errf(e, XO_E_POWER_STATE, "domain %u has no xenstore directory", w->domid);
	if (xo_xs_rm(xs, t, w->key, e) < 0)
		return -1;
	const char *req = w->reason == XO_SHUTDOWN_REBOOT ? "reboot" :
			  w->reason == XO_SHUTDOWN_SUSPEND ? "suspend" : "poweroff";
	return xo_xs_write(xs, t, w->key, req, e);
}

static int shutdown_domain(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	struct shutdown_wait w = { .b = ctx->b };
	struct xo_dominfo di;
	uint32_t d;
	int r = xo_vm_find_domain(ctx->b, ctx->vm.uuid, &d, &di, e);

	if (r < 0)
		return -1;
	if (r == 0 || di.shutdown)
		return 0;
	w.domid = d;
	if (strcmp(a->arg, "reboot") == 0)
		w.reason = XO_SHUTDOWN_REBOOT;
	else if (strcmp(a->arg, "suspend") == 0)
		w.reason = XO_SHUTDOWN_SUSPEND;
	else if (strcmp(a->arg, "poweroff") == 0 || strcmp(a->arg, "halt") == 0)
		w.reason = XO_SHUTDOWN_POWEROFF;
	else
		return xo_errf(e, XO_E_INVALID, "invalid shutdown request '%s'", a->arg);
	snprintf(w.key, sizeof(w.key), "/local/domain/%u/control/shutdown", d);
	if (xo_xs_transaction(ctx->b->xs, request_shutdown, &w, e) < 0)
		return -1;
	/* the guest must acknowledge within min(60 s, timeout) (xenopsd's rule) */
	int total = a->timeout_ms > 0 ? a->timeout_ms : 60000;
	int ack_ms = total < 60000 ? total : 60000;
	uint64_t t0 = xo_now_ms();
	struct xo_xs_wait aw = { .paths = { w.key, "@releaseDomain" }, .cond = ack_cond, .arg = &w,
				 .timeout_ms = ack_ms, .timeout_cls = XO_E_SHUTDOWN_ACK,
				 .what = "the guest to acknowledge the shutdown request",
				 .cancel = &ctx->cancel, .extra_fd = -1 };
	if (xo_xs_wait(ctx->b->xs, &aw, e) < 0) {
		if (e->cls == XO_E_SHUTDOWN_ACK)
			xo_errf(e, XO_E_SHUTDOWN_ACK,
				"vm %s did not acknowledge the %s request within %d ms", ctx->vm.name,
				a->arg, ack_ms);
		return -1;
	}
	int left = total - (int)(xo_now_ms() - t0);
	struct xo_xs_wait dw = { .paths = { "@releaseDomain" }, .cond = down_cond, .arg = &w,
				 .timeout_ms = left > 0 ? left : 0, .timeout_cls = XO_E_SHUTDOWN_TIMEOUT,
				 .what = "the domain to shut down", .cancel = &ctx->cancel,
				 .extra_fd = -1 };
	if (xo_xs_wait(ctx->b->xs, &dw, e) < 0) {
		if (e->cls == XO_E_SHUTDOWN_TIMEOUT)
			xo_errf(e, XO_E_SHUTDOWN_TIMEOUT, "vm %s did not shut down within %d ms",
				ctx->vm.name, total);
		return -1;
	}
	xo_updates_emit("vm", ctx->vm.uuid);
	return 0;
}

static int delay(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0)
		;
	return 0;
}

/* media changes: the drive stays, the disc comes and goes; a pv guest sees a drive only
 * with a disc in it (as xenopsd), so the device is unplugged on eject and plugged on insert */
static int vbd_media(struct xo_ctx *ctx, struct xo_vbd *v, const char *path, xo_err *e)
{
	uint32_t d;
	bool has = xo_vm_find_domain(ctx->b, ctx->vm.uuid, &d, NULL, e) > 0;

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
	if (!path && has && xo_vbd_plugged(ctx->b, d, v) &&
	    xo_vbd_unplug(ctx->b, &ctx->vm, v, true, &ctx->cancel, e) < 0)
		return -1;
	char *old = v->backend;
	v->backend = xstrdup(path ? path : "");
	if (xo_vbd_check(v, e) < 0 || xo_vbd_save(ctx->vm.uuid, v, e) < 0) {
		free(v->backend);
		v->backend = old;
		return -1;
	}
	free(old);
	if (path && has && xo_device_active(ctx->b, ctx->vm.uuid, "vbd", v->name) &&
	    !xo_vbd_plugged(ctx->b, d, v))
		return xo_vbd_plug(ctx->b, &ctx->vm, v, &ctx->cancel, e);
	return 0;
}

static int vif_change(struct xo_ctx *ctx, struct xo_vif *v, const struct xo_atom *a, xo_err *e)
{
	struct xo_vif n;
	uint32_t d;
	int r;

	/* work on a copy: the stored config changes only if the new one is valid */
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
	r = xo_vm_find_domain(ctx->b, ctx->vm.uuid, &d, NULL, e);
	if (r > 0 && xo_vif_plugged(ctx->b, d, &n))
		r = a->kind == XO_A_VIF_SET_CARRIER ? xo_vif_apply_carrier(ctx->b, d, &n, e)
						    : xo_vif_apply_locking(ctx->b, &ctx->vm, d, &n, e);
	xo_vif_free(v);
	*v = n;
	return r < 0 ? -1 : 0;
fail:
	xo_vif_free(&n);
	return -1;
}

int xo_atom_run(struct xo_ctx *ctx, const struct xo_atom *a, xo_err *e)
{
	const struct xo_vbd *vbd;
	const struct xo_vif *vif;
	const struct xo_pci *pci;
	struct xo_backend *b = ctx->b;
	const struct xo_cancel *c = &ctx->cancel;
	uint32_t d;
	char id[16];

	switch (a->kind) {
	case XO_A_HOOK: {
		int domid = xo_vm_find_domain(b, ctx->vm.uuid, &d, NULL, e) > 0 ? (int)d : -1;
		return xo_hooks_run(b, a->arg, ctx->vm.uuid, a->arg2, domid, c, e);
	}
	case XO_A_VM_CREATE:
		return xo_domain_create(b, &ctx->vm, &d, e);
	case XO_A_VM_BUILD:
		return xo_domain_build(b, &ctx->vm, e);
	case XO_A_VBD_SET_ACTIVE:
		if (!(vbd = find_vbd(ctx, a->dev, e)))
			return -1;
		return xo_device_set_active(b, ctx->vm.uuid, "vbd", vbd->name, a->flag, e);
	case XO_A_VBD_EPOCH_BEGIN:
		if (!(vbd = find_vbd(ctx, a->dev, e)))
			return -1;
		return xo_vbd_epoch_begin(ctx->vm.uuid, vbd, e);
	case XO_A_VBD_EPOCH_END:
		if (!(vbd = find_vbd(ctx, a->dev, e)))
			return -1;
		return xo_vbd_epoch_end(ctx->vm.uuid, vbd, e);
	case XO_A_VBD_PLUG:
		if (!(vbd = find_vbd(ctx, a->dev, e)))
			return -1;
		if (!xo_device_active(b, ctx->vm.uuid, "vbd", vbd->name))
			return xo_errf(e, XO_E_POWER_STATE, "vbd %s is not active (xo-vbd-set-active first)",
				       vbd->name);
		return xo_vbd_plug(b, &ctx->vm, vbd, c, e);
	case XO_A_VBD_UNPLUG:
		if (!(vbd = find_vbd(ctx, a->dev, e)))
			return -1;
		return xo_vbd_unplug(b, &ctx->vm, vbd, a->flag, c, e);
	case XO_A_VIF_SET_ACTIVE:
		if (!(vif = find_vif(ctx, a->pos, e)))
			return -1;
		snprintf(id, sizeof(id), "%d", vif->position);
		return xo_device_set_active(b, ctx->vm.uuid, "vif", id, a->flag, e);
	case XO_A_VIF_PLUG:
		if (!(vif = find_vif(ctx, a->pos, e)))
			return -1;
		snprintf(id, sizeof(id), "%d", vif->position);
		if (!xo_device_active(b, ctx->vm.uuid, "vif", id))
			return xo_errf(e, XO_E_POWER_STATE, "vif %d is not active (xo-vif-set-active first)",
				       vif->position);
		return xo_vif_plug(b, &ctx->vm, vif, c, e);
	case XO_A_VIF_UNPLUG:
		if (!(vif = find_vif(ctx, a->pos, e)))
			return -1;
		return xo_vif_unplug(b, &ctx->vm, vif, a->flag, c, e);
	case XO_A_DM_START:
		return dm_start(ctx, e);
	case XO_A_DM_STOP:
		return dm_stop(ctx, e);
	case XO_A_PCI_PLUG:
		if (!(pci = find_pci(ctx, a->pos, e)))
			return -1;
		return xo_pci_plug(b, &ctx->vm, pci, e);
	case XO_A_PCI_UNPLUG:
		if (!(pci = find_pci(ctx, a->pos, e)))
			return -1;
		return xo_pci_unplug(b, &ctx->vm, pci, e);
	case XO_A_SET_ACTION_REQUEST:
		return xo_domain_set_action_request(b, &ctx->vm,
						    strcmp(a->arg, "none") == 0 ? NULL : a->arg, e);
	case XO_A_VM_PAUSE:
		return pause_unpause(ctx, true, e);
	case XO_A_VM_UNPAUSE:
		return pause_unpause(ctx, false, e);
	case XO_A_VM_DESTROY:
		return xo_domain_destroy(b, &ctx->vm, a->flag, e);
	case XO_A_VM_DELAY:
		return delay(a->timeout_ms);
	case XO_A_VM_SHUTDOWN_DOMAIN:
		return shutdown_domain(ctx, a, e);
	case XO_A_VBD_EJECT:
	case XO_A_VBD_INSERT:
		if (!(vbd = find_vbd(ctx, a->dev, e)))
			return -1;
		return vbd_media(ctx, (struct xo_vbd *)vbd, a->kind == XO_A_VBD_INSERT ? a->arg : NULL, e);
	case XO_A_VIF_SET_CARRIER:
	case XO_A_VIF_SET_LOCKING:
		if (!(vif = find_vif(ctx, a->pos, e)))
			return -1;
		return vif_change(ctx, (struct xo_vif *)vif, a, e);
	default:
		return xo_errf(e, XO_E_INTERNAL, "micro-op %d is not implemented", (int)a->kind);
	}
}
