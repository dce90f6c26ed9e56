/*
 * backend.c: choosing the backend, loading a module, and the checked
 * wrappers every call goes through (see backend.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "ops.h"
#include "util.h"
#include "xs.h"

const char xo_backend_names[] = "xen, sim, kvm, libxl or libvirt";

static struct xo_backend *cached;

const char *xo_backend_name(void)
{
	const char *s = getenv("XO_BACKEND");
	return s && *s ? s : "xen";
}

/* libxl and libvirt pull in large libraries that the other backends (and every start on
 * them) should not pay for: they are modules, loaded when chosen */
static int load_module(const char *name, const struct xo_backend_ops **ops, xo_err *e)
{
	const char *dir = getenv("XO_MODULE_DIR");
	char *path, *here = NULL;
	void *h;

	if (dir && *dir) {
		path = xasprintf("%s/backend-%s.so", dir, name);
	} else {
		/* beside the programs in the build tree (build/bin -> build/lib/xo), else installed */
		here = xasprintf("%s/../lib/xo/backend-%s.so", xo_self_dir(), name);
		path = access(here, R_OK) == 0 ? xstrdup(here) : xasprintf("%s/backend-%s.so", XO_MODULEDIR, name);
	}
	free(here);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		xo_errf(e, XO_E_NO_HYPERVISOR, "the %s backend is not available: %s", name, dlerror());
		free(path);
		return -1;
	}
	const struct xo_backend_module *m = dlsym(h, XO_BACKEND_MODULE_SYMBOL);
	if (!m || m->abi != XO_BACKEND_ABI || !m->ops) {
		xo_errf(e, XO_E_NO_HYPERVISOR, "'%s' is not an xo backend of this version", path);
		free(path);
		dlclose(h);
		return -1;
	}
	free(path);
	*ops = m->ops;
	return 0;
}

int xo_backend_lookup(const struct xo_backend_ops **ops, xo_err *e)
{
	static const struct xo_backend_ops *found;
	const char *name = xo_backend_name();

	if (found && strcmp(found->name, name) == 0) {
		*ops = found;
		return 0;
	}
	if (strcmp(name, "xen") == 0)
		*ops = &xo_backend_xen;
	else if (strcmp(name, "sim") == 0)
		*ops = &xo_backend_sim;
	else if (strcmp(name, "kvm") == 0)
		*ops = &xo_backend_kvm;
	else if (strcmp(name, "libxl") == 0 || strcmp(name, "libvirt") == 0) {
		if (load_module(name, ops, e) < 0)
			return -1;
	} else
		return xo_errf(e, XO_E_USAGE, "unknown backend '%s' in XO_BACKEND: expected %s", name,
			       xo_backend_names);
	found = *ops;
	return 0;
}

int xo_backend_open(struct xo_backend **out, xo_err *e)
{
	const struct xo_backend_ops *ops = NULL;
	struct xo_backend *b;

	if (cached) {
		*out = cached;
		return 0;
	}
	if (xo_backend_lookup(&ops, e) < 0)
		return -1;
	b = xcalloc(1, sizeof(*b));
	b->ops = ops;
	if (ops->open(b, e) < 0) {
		free(b);
		return -1;
	}
	cached = b;
	*out = b;
	return 0;
}

void xo_backend_close(void)
{
	if (!cached)
		return;
	if (cached->ops->close)
		cached->ops->close(cached);
	free(cached);
	cached = NULL;
}

void xo_backend_forget(void)
{
	cached = NULL;
	xo_xs_forget();
}

/* ---------------------------------------------------------------- the checked wrappers */

static int need(const void *fn, const struct xo_backend *b, const char *what, xo_err *e)
{
	if (fn)
		return 0;
	return xo_errf(e, XO_E_UNIMPLEMENTED, "the %s backend cannot %s", b->ops->name, what);
}

#define NEED(b, op, what) do { if (need((const void *)(b)->ops->op, (b), (what), e) < 0) return -1; } while (0)

int xo_be_check(struct xo_backend *b, const struct xo_vm *vm, const struct xo_devices *d,
		xo_err *e)
{
	return b->ops->check ? b->ops->check(b, vm, d, e) : 0;
}

int xo_be_vm_live(struct xo_backend *b, const struct xo_vm *vm, struct xo_vm_live *out, xo_err *e)
{
	NEED(b, vm_live, "tell a vm's state");
	return b->ops->vm_live(b, vm, out, e);
}

int xo_be_vbd_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		   const struct xo_vbd *v, struct xo_dev_live *out, xo_err *e)
{
	NEED(b, vbd_live, "tell a vbd's state");
	return b->ops->vbd_live(b, vm, l, v, out, e);
}

int xo_be_vif_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		   const struct xo_vif *v, struct xo_dev_live *out, xo_err *e)
{
	NEED(b, vif_live, "tell a vif's state");
	return b->ops->vif_live(b, vm, l, v, out, e);
}

int xo_be_pci_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		   const struct xo_pci *p, struct xo_dev_live *out, xo_err *e)
{
	NEED(b, pci_live, "tell a pci device's state");
	return b->ops->pci_live(b, vm, l, p, out, e);
}

int xo_be_vm_create(struct xo_ctx *c, xo_err *e)
{
	if (c->vm.vcpu_max == 0 || c->vm.vcpu_max > XO_VCPUS_MAX)
		return xo_errf(e, XO_E_INVALID, "invalid max vcpus %u", c->vm.vcpu_max);
	NEED(c->b, vm_create, "create vms");
	if (xo_be_check(c->b, &c->vm, &c->d, e) < 0)
		return -1;
	return c->b->ops->vm_create(c, e);
}

int xo_be_vm_build(struct xo_ctx *c, xo_err *e)
{
	/* a backend whose create also builds has no build step: nothing to do */
	return c->b->ops->vm_build ? c->b->ops->vm_build(c, e) : 0;
}

int xo_be_vbd_plug(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e)
{
	NEED(c->b, vbd_plug, "plug vbds");
	return c->b->ops->vbd_plug(c, v, e);
}

int xo_be_vbd_unplug(struct xo_ctx *c, const struct xo_vbd *v, bool force, xo_err *e)
{
	NEED(c->b, vbd_unplug, "unplug vbds");
	return c->b->ops->vbd_unplug(c, v, force, e);
}

int xo_be_vbd_media(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e)
{
	if (v->type != XO_VBD_CDROM && v->type != XO_VBD_FLOPPY)
		return xo_errf(e, XO_E_INVALID, "vbd %s is a %s: only cdrom and floppy media can change",
			       v->name, xo_vbd_type_name(v->type));
	NEED(c->b, vbd_media, "change media");
	return c->b->ops->vbd_media(c, v, e);
}

int xo_be_vif_plug(struct xo_ctx *c, const struct xo_vif *v, xo_err *e)
{
	NEED(c->b, vif_plug, "plug vifs");
	return c->b->ops->vif_plug(c, v, e);
}

int xo_be_vif_unplug(struct xo_ctx *c, const struct xo_vif *v, bool force, xo_err *e)
{
	NEED(c->b, vif_unplug, "unplug vifs");
	return c->b->ops->vif_unplug(c, v, force, e);
}

int xo_be_vif_apply(struct xo_ctx *c, const struct xo_vif *v, unsigned what, xo_err *e)
{
	if (!what || (what & ~(unsigned)(XO_VIF_APPLY_CARRIER | XO_VIF_APPLY_LOCKING)))
		return xo_errf(e, XO_E_INTERNAL, "invalid vif change %#x", what);
	NEED(c->b, vif_apply, "change a plugged vif");
	return c->b->ops->vif_apply(c, v, what, e);
}

int xo_be_pci_plug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e)
{
	NEED(c->b, pci_plug, "pass pci devices through");
	return c->b->ops->pci_plug(c, p, e);
}

int xo_be_pci_unplug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e)
{
	NEED(c->b, pci_unplug, "unplug pci devices");
	return c->b->ops->pci_unplug(c, p, e);
}

bool xo_be_needs_dm(const struct xo_backend *b, const struct xo_vm *vm)
{
	return b->ops->dm_start && b->ops->needs_dm && b->ops->needs_dm(vm);
}

bool xo_be_has_build(const struct xo_backend *b)
{
	return b->ops->vm_build != NULL;
}

int xo_be_dm_start(struct xo_ctx *c, xo_err *e)
{
	NEED(c->b, dm_start, "start a device model");
	return c->b->ops->dm_start(c, e);
}

int xo_be_dm_stop(struct xo_ctx *c, xo_err *e)
{
	return c->b->ops->dm_stop ? c->b->ops->dm_stop(c, e) : 0;
}

int xo_be_set_action_request(struct xo_ctx *c, const char *request, xo_err *e)
{
	if (request && strcmp(request, "poweroff") != 0 && strcmp(request, "reboot") != 0)
		return xo_errf(e, XO_E_INVALID, "invalid action request '%s'", request);
	NEED(c->b, set_action_request, "mark a vm's action request");
	return c->b->ops->set_action_request(c, request, e);
}

int xo_be_vm_pause(struct xo_ctx *c, xo_err *e)
{
	NEED(c->b, vm_pause, "pause vms");
	return c->b->ops->vm_pause(c, e);
}

int xo_be_vm_unpause(struct xo_ctx *c, xo_err *e)
{
	NEED(c->b, vm_unpause, "unpause vms");
	return c->b->ops->vm_unpause(c, e);
}

int xo_be_vm_shutdown(struct xo_ctx *c, const char *request, int timeout_ms, xo_err *e)
{
	if (strcmp(request, "poweroff") != 0 && strcmp(request, "reboot") != 0 &&
	    strcmp(request, "halt") != 0 && strcmp(request, "suspend") != 0)
		return xo_errf(e, XO_E_INVALID, "invalid shutdown request '%s'", request);
	NEED(c->b, vm_shutdown, "ask a guest to shut down");
	return c->b->ops->vm_shutdown(c, request, timeout_ms, e);
}

int xo_be_vm_destroy(struct xo_ctx *c, bool keep_build, xo_err *e)
{
	NEED(c->b, vm_destroy, "destroy vms");
	return c->b->ops->vm_destroy(c, keep_build, e);
}

int xo_be_events_open(struct xo_backend *b, struct xo_events **ev, xo_err *e)
{
	if (!b->ops->events_open || !b->ops->events_fd || !b->ops->events_next)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "the %s backend has no events to watch",
			       b->ops->name);
	return b->ops->events_open(b, ev, e);
}

int xo_be_events_fd(struct xo_backend *b, struct xo_events *ev)
{
	return b->ops->events_fd(ev);
}

int xo_be_events_next(struct xo_backend *b, struct xo_events *ev, xo_event_fn fn, void *arg,
		      xo_err *e)
{
	return b->ops->events_next(ev, fn, arg, e);
}

void xo_be_events_close(struct xo_backend *b, struct xo_events *ev)
{
	if (b->ops->events_close)
		b->ops->events_close(ev);
}

int xo_be_console_tty(struct xo_backend *b, const struct xo_vm *vm, int timeout_ms, char **tty,
		      xo_err *e)
{
	if (!b->ops->console_tty)
		return xo_errf(e, XO_E_INVALID, "the %s backend has no console to attach to",
			       b->ops->name);
	return b->ops->console_tty(b, vm, timeout_ms, tty, e);
}

int xo_be_console_log(struct xo_backend *b, const struct xo_vm *vm, char **path, xo_err *e)
{
	NEED(b, console_log, "keep console logs");
	return b->ops->console_log(b, vm, path, e);
}

int xo_be_host_info(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e)
{
	NEED(b, host_info, "tell the host's memory");
	return b->ops->host_info(b, out, e);
}
