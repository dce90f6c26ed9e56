/*
 * xf.c: the Xen family's backends, xen and sim: the queries (live state,
 * consoles), and the struct xo_backend_ops that binds them and the
 * micro-ops of xf-domain.c and xf-device.c (see xf.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devstate.h"
#include "extra.h"
#include "hotplug.h"
#include "state.h"
#include "updates.h"
#include "xf.h"

static int xf_open(struct xo_backend *b, const struct xf_hv_ops *hv, xo_err *e)
{
	if (xo_hotplug_check(e) < 0)
		return -1;
	struct xf *x = xcalloc(1, sizeof(*x));

	x->hv = hv;
	if (hv->open(x, e) < 0) {
		free(x);
		return -1;
	}
	b->priv = x;
	return 0;
}

static int xen_open(struct xo_backend *b, xo_err *e)
{
	return xf_open(b, &xf_hv_xen, e);
}

static int sim_open(struct xo_backend *b, xo_err *e)
{
	return xf_open(b, &xf_hv_sim, e);
}

static void xf_close(struct xo_backend *b)
{
	struct xf *x = XF(b);

	if (!x)
		return;
	if (x->hv->close)
		x->hv->close(x);
	if (x->xs)
		xs_close(x->xs);
	free(x);
	b->priv = NULL;
}

/* ---------------------------------------------------------------- live state */

static int xf_vm_live(struct xo_backend *b, const struct xo_vm *vm, struct xo_vm_live *s, xo_err *e)
{
	struct xf *x = XF(b);
	struct xf_dominfo di;
	struct xo_extra ex;
	uint32_t d;
	char p[128], v[64];
	xo_err ignore;
	int r;

	memset(s, 0, sizeof(*s));
	s->domid = -1;
	s->vnc_port = -1;
	r = xf_find_domain(x, vm->uuid, &d, &di, e);
	if (r <= 0)
		return r;
	s->exists = true;
	s->domid = (int)d;
	s->paused = di.paused;
	s->shutdown = di.shutdown;
	s->reason = di.shutdown ? (enum xo_shutdown_reason)di.shutdown_reason : XO_SHUTDOWN_POWEROFF;
	s->dying = di.dying;
	s->memory_actual = di.memory_kib * 1024;
	s->cpu_time_ns = di.cpu_time_ns;
	snprintf(p, sizeof(p), "/local/domain/%u/memory/target", d);
	if (xo_xs_read_buf(x->xs, XBT_NULL, p, v, sizeof(v)))
		s->memory_target = strtoull(v, NULL, 10) * 1024;
	for (unsigned i = 0; i < vm->vcpu_max; i++) {
		snprintf(p, sizeof(p), "/local/domain/%u/cpu/%u/availability", d, i);
		if (xo_xs_read_buf(x->xs, XBT_NULL, p, v, sizeof(v)) && strcmp(v, "online") == 0)
			s->vcpus++;
	}
	s->vcpus_online = di.online_vcpus;
	if (x->hv->vcpu_info && !di.shutdown && !di.dying) {
		struct xf_vcpuinfo vi;
		if (xf_vcpu_info(x, d, 0, &vi, &ignore) == 0) {
			char all[XO_CPUMAP_BYTES];
			struct xo_hostinfo hi;
			xo_cpulist_format(vi.affinity, XO_CPUS_MAX, s->affinity, sizeof(s->affinity));
			/* every cpu of the host is no pinning at all */
			memset(all, 0, sizeof(all));
			if (x->hv->host_info(x, &hi, &ignore) == 0) {
				for (unsigned c = 0; c < hi.nr_cpus && c < XO_CPUS_MAX; c++)
					all[c / 8] |= (char)(1u << (c % 8));
				if (memcmp(all, vi.affinity, sizeof(all)) == 0)
					s->affinity[0] = '\0';
			}
		}
	}
	if (vm->type == XO_VM_HVM && x->hv->console_pty) {
		/* an hvm guest's console is its serial port: qemu's pty (xo-qemu-start) */
		snprintf(p, sizeof(p), "/local/domain/%u/serial/0/tty", d);
		s->console = xo_xs_read_buf(x->xs, XBT_NULL, p, s->console_tty, sizeof(s->console_tty));
	} else {
		snprintf(p, sizeof(p), "/local/domain/%u/console/ring-ref", d);
		s->console = xo_xs_exists(x->xs, XBT_NULL, p);
		snprintf(p, sizeof(p), "/local/domain/%u/console/tty", d);
		xo_xs_read_buf(x->xs, XBT_NULL, p, s->console_tty, sizeof(s->console_tty));
	}
	snprintf(p, sizeof(p), "/local/domain/%u/console/vnc-port", d);
	if (xo_xs_read_buf(x->xs, XBT_NULL, p, v, sizeof(v)))
		s->vnc_port = atoi(v);
	if (x->hv->vnc_path && !x->hv->vnc_path(d, s->vnc_path, sizeof(s->vnc_path)))
		s->vnc_path[0] = '\0';
	snprintf(p, sizeof(p), "/local/domain/%u/action-request", d);
	xo_xs_read_buf(x->xs, XBT_NULL, p, s->action_request, sizeof(s->action_request));
	/* a domain without xo's layout is a create that never finished */
	snprintf(p, sizeof(p), "/local/domain/%u/vm", d);
	if (!s->action_request[0] && !xo_xs_exists(x->xs, XBT_NULL, p))
		xo_strlcpy(s->action_request, "poweroff", sizeof(s->action_request));
	if (xo_extra_load(vm->uuid, &ex, &ignore) == 0) {
		s->start_time = ex.create_time;
		int pid = (int)xo_extra_backend_int(&ex, "dm_pid");
		s->dm_died = pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
		xo_extra_free(&ex);
	}
	return 0;
}

static void dev_common(struct xf *x, const struct xf_devpaths *p, struct xo_dev_live *s)
{
	char k[256];

	snprintf(k, sizeof(k), "%s/state", p->be);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->backend_state, sizeof(s->backend_state));
	snprintf(k, sizeof(k), "%s/state", p->fe);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->frontend_state, sizeof(s->frontend_state));
	snprintf(k, sizeof(k), "%s/hotplug-status", p->be);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->hotplug_status, sizeof(s->hotplug_status));
	s->healthy = s->plugged && xo_xs_exists(x->xs, XBT_NULL, k);
}

static int xf_vbd_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		       const struct xo_vbd *v, struct xo_dev_live *s, xo_err *e)
{
	struct xf *x = XF(b);
	struct xf_devpaths p = { 0 };
	char k[256];

	(void)e;
	memset(s, 0, sizeof(*s));
	if (!l->exists)
		return 0;
	s->plugged = xf_vbd_plugged(x, (uint32_t)l->domid, v);
	xf_devpaths(&p, vm->uuid, (uint32_t)l->domid, "vbd", xo_vbd_devid(v->name));
	dev_common(x, &p, s);
	snprintf(k, sizeof(k), "%s/params", p.be);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->params, sizeof(s->params));
	snprintf(k, sizeof(k), "%s/physical-device", p.be);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->physical_device, sizeof(s->physical_device));
	return 0;
}

static int xf_vif_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		       const struct xo_vif *v, struct xo_dev_live *s, xo_err *e)
{
	struct xf *x = XF(b);
	struct xf_devpaths p = { 0 };
	char k[256];

	(void)e;
	memset(s, 0, sizeof(*s));
	if (!l->exists)
		return 0;
	s->plugged = xf_vif_plugged(x, (uint32_t)l->domid, v);
	xf_devpaths(&p, vm->uuid, (uint32_t)l->domid, "vif", v->position);
	dev_common(x, &p, s);
	snprintf(k, sizeof(k), "%s/bridge", p.be);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->params, sizeof(s->params));
	if (s->plugged)
		snprintf(s->device, sizeof(s->device), "vif%d.%d", l->domid, v->position);
	return 0;
}

static int xf_pci_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		       const struct xo_pci *pci, struct xo_dev_live *s, xo_err *e)
{
	(void)vm;
	(void)e;
	memset(s, 0, sizeof(*s));
	xo_strlcpy(s->params, pci->address, sizeof(s->params));
	if (!l->exists)
		return 0;
	s->plugged = xf_pci_plugged(XF(b), (uint32_t)l->domid, pci);
	s->healthy = s->plugged;
	return 0;
}

/* ---------------------------------------------------------------- destroy */

/* xenopsd's Domain.destroy: the device model, every device still in xenstore (their
 * remove scripts run), the domain and its trees; then the VM's records */
int xf_vm_destroy(struct xo_ctx *c, bool keep_build, xo_err *e)
{
	struct xf *x = XF(c->b);
	uint32_t d;
	xo_err ignore;
	int r = xf_destroy_target(x, c->vm.uuid, &d, e);

	if (r < 0)
		return -1;
	if (r > 0) {
		xf_dm_stop_domain(x, c->vm.uuid, d, &ignore);
		xf_device_release_all(x, c->vm.uuid, d);
		if (xf_domain_teardown(x, c->vm.uuid, d, e) < 0)
			return -1;
	}
	xf_domain_forget(x, c->vm.uuid, keep_build);
	return 0;
}

/* ---------------------------------------------------------------- changes at run time */

/* the domain of a VM whose guest still runs (or is paused): a change to a domain that has
 * shut down has nothing to act on */
static int live_domain(struct xo_ctx *c, uint32_t *d, struct xf_dominfo *di, xo_err *e)
{
	int r = xf_find_domain(XF(c->b), c->vm.uuid, d, di, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no domain)", c->vm.name);
	if (di->shutdown || di->dying)
		return xo_errf(e, XO_E_POWER_STATE, "the domain of vm %s (domid %u) has shut down",
			       c->vm.name, *d);
	return 0;
}

struct memkeys {
	uint32_t domid;
	const char *uuid;
	uint64_t target, dmin, dmax;
};

static int write_memkeys(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	const struct memkeys *m = arg;
	char k[160];

	snprintf(k, sizeof(k), "/local/domain/%u/memory/dynamic-min", m->domid);
	if (xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)(m->dmin / 1024)) < 0)
		return -1;
	snprintf(k, sizeof(k), "/local/domain/%u/memory/dynamic-max", m->domid);
	if (xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)(m->dmax / 1024)) < 0)
		return -1;
	snprintf(k, sizeof(k), "/vm/%s/memory", m->uuid);
	if (xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)(m->target >> 20)) < 0)
		return -1;
	snprintf(k, sizeof(k), "/local/domain/%u/memory/target", m->domid);
	return xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)(m->target / 1024));
}

/* libxl's libxl_set_memory_target: the domain's maxmem (and PoD target) first, so that a
 * guest asked to grow may, then the target its balloon driver follows */
static int xf_vm_set_memory(struct xo_ctx *c, uint64_t target, uint64_t dmin, uint64_t dmax,
			    xo_err *e)
{
	struct xf *x = XF(c->b);
	struct xf_dominfo di;
	uint32_t d;

	if (live_domain(c, &d, &di, e) < 0)
		return -1;
	if (xf_dom_set_memory(x, d, c->vm.type, target / 1024 + XO_MEMORY_OVERHEAD_KIB, e) < 0)
		return -1;
	struct memkeys m = { d, c->vm.uuid, target, dmin, dmax };
	if (xo_xs_transaction(x->xs, write_memkeys, &m, e) < 0)
		return -1;
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

struct cpukeys {
	uint32_t domid;
	unsigned n, max;
};

static int write_cpukeys(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	const struct cpukeys *k = arg;
	char p[128];

	for (unsigned i = 0; i < k->max; i++) {
		snprintf(p, sizeof(p), "/local/domain/%u/cpu/%u/availability", k->domid, i);
		if (xo_xs_write(xs, t, p, i < k->n ? "online" : "offline", e) < 0)
			return -1;
	}
	return 0;
}

/* xl's vcpu-set and xenopsd's set_vcpus for pv and pvh guests: the guest's kernel watches
 * cpu/N/availability. An hvm guest's vcpus come through the device model's ACPI
 * hotplug, which xo does not drive */
static int xf_vm_set_vcpus(struct xo_ctx *c, unsigned n, xo_err *e)
{
	struct xf *x = XF(c->b);
	struct xf_dominfo di;
	uint32_t d;

	if (live_domain(c, &d, &di, e) < 0)
		return -1;
	if (c->vm.type == XO_VM_HVM)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "vm %s is an hvm guest: its vcpus change through "
			       "the device model's ACPI hotplug, which xo does not drive (change the "
			       "configuration while it is halted)", c->vm.name);
	struct cpukeys k = { d, n, c->vm.vcpu_max };
	if (xo_xs_transaction(x->xs, write_cpukeys, &k, e) < 0)
		return -1;
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

static int xf_vm_set_affinity(struct xo_ctx *c, const uint8_t *map, xo_err *e)
{
	struct xf_dominfo di;
	uint32_t d;

	if (live_domain(c, &d, &di, e) < 0)
		return -1;
	if (xf_apply_affinity(XF(c->b), d, c->vm.vcpu_max, map, e) < 0)
		return -1;
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

/* ---------------------------------------------------------------- consoles */

struct tty_wait {
	uint32_t domid;
	char dom[64], key[96];
	char tty[256];
};

static int tty_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct tty_wait *w = arg;

	if (!xo_xs_exists(xs, XBT_NULL, w->dom))
		return xo_errf(e, XO_E_POWER_STATE, "domain %u went away", w->domid);
	xo_xs_read_buf(xs, XBT_NULL, w->key, w->tty, sizeof(w->tty));
	return w->tty[0] ? 1 : 0;
}

static int xf_console_tty(struct xo_backend *b, const struct xo_vm *vm, int timeout_ms, char **tty,
			  xo_err *e)
{
	struct xf *x = XF(b);
	struct tty_wait w;
	char what[160];
	uint32_t d;
	int r;

	if (!x->hv->console_pty)
		return xo_errf(e, XO_E_INVALID,
			       "the %s backend has no console to attach to (its guests only write a log: "
			       "xo-vm-console --log %s)", b->ops->name, vm->name);
	r = xf_find_domain(x, vm->uuid, &d, NULL, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no console)", vm->name);
	memset(&w, 0, sizeof(w));
	w.domid = d;
	snprintf(w.dom, sizeof(w.dom), "/local/domain/%u", d);
	if (vm->type == XO_VM_HVM) {
		/* its serial port, a pty of its device model's */
		snprintf(w.key, sizeof(w.key), "/local/domain/%u/serial/0/tty", d);
		snprintf(what, sizeof(what), "the device model of domain %u to give it a serial console (%s)",
			 d, w.key);
	} else {
		snprintf(w.key, sizeof(w.key), "/local/domain/%u/console/tty", d);
		snprintf(what, sizeof(what),
			 "xenconsoled to give domain %u a console (%s): is xenconsoled running?", d, w.key);
	}
	/* xenconsoled writes the key once it has mapped the ring, right after the introduction */
	struct xo_xs_wait xw = { .paths = { w.key, "@releaseDomain" }, .cond = tty_cond, .arg = &w,
				 .timeout_ms = timeout_ms, .timeout_cls = XO_E_TIMEOUT,
				 .what = what, .extra_fd = -1 };
	if (xo_xs_wait(x->xs, &xw, e) < 0)
		return -1;
	*tty = xstrdup(w.tty);
	return 0;
}

static int xf_console_log(struct xo_backend *b, const struct xo_vm *vm, char **path, xo_err *e)
{
	struct xf *x = XF(b);
	struct stat st;

	if (!x->hv->console_log)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "the %s backend keeps no console logs",
			       b->ops->name);
	if (x->hv->console_log(x, vm, path, e) < 0)
		return -1;
	if (stat(*path, &st) < 0 && errno == ENOENT) {
		xo_errf(e, XO_E_NOT_FOUND, "vm %s has no console log: '%s' does not exist (%s)",
			vm->name, *path,
			x->hv->console_pty ? "xenconsoled writes it only with --log=guest"
					   : "its guest has not written anything yet");
		free(*path);
		*path = NULL;
		return -1;
	}
	return 0;
}

static int xf_host_info(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e)
{
	struct xf *x = XF(b);
	return x->hv->host_info(x, out, e);
}

/* ---------------------------------------------------------------- the two backends */

#define XF_OPS(backend_name, open_fn, delay)                                                   \
	{                                                                               \
		.name = backend_name,                                                   \
		.reboot_delay_s = delay,                                                \
		.open = open_fn,                                                        \
		.close = xf_close,                                                      \
		.vm_live = xf_vm_live,                                                  \
		.vbd_live = xf_vbd_live,                                                \
		.vif_live = xf_vif_live,                                                \
		.pci_live = xf_pci_live,                                                \
		.vm_create = xf_vm_create,                                              \
		.vm_build = xf_vm_build,                                                \
		.vbd_plug = xf_vbd_plug,                                                \
		.vbd_unplug = xf_vbd_unplug,                                            \
		.vbd_media = xf_vbd_media,                                              \
		.vif_plug = xf_vif_plug,                                                \
		.vif_unplug = xf_vif_unplug,                                            \
		.vif_apply = xf_vif_apply,                                              \
		.pci_plug = xf_pci_plug,                                                \
		.pci_unplug = xf_pci_unplug,                                            \
		.needs_dm = xf_needs_dm,                                                \
		.dm_start = xf_dm_start,                                                \
		.dm_stop = xf_dm_stop,                                                  \
		.set_action_request = xf_set_action_request,                            \
		.vm_pause = xf_vm_pause,                                                \
		.vm_unpause = xf_vm_unpause,                                            \
		.vm_shutdown = xf_vm_shutdown,                                          \
		.vm_destroy = xf_vm_destroy,                                            \
		.vm_set_memory = xf_vm_set_memory,                                      \
		.vm_set_vcpus = xf_vm_set_vcpus,                                        \
		.vm_set_affinity = xf_vm_set_affinity,                                  \
		.events_open = xf_events_open,                                          \
		.events_fd = xf_events_fd,                                              \
		.events_next = xf_events_next,                                          \
		.events_close = xf_events_close,                                        \
		.console_tty = xf_console_tty,                                          \
		.console_log = xf_console_log,                                          \
		.host_info = xf_host_info,                                              \
	}

/* xenopsd waits before restarting a VM that ran briefly, so a boot loop cannot spin; the
 * simulator, like xenopsd's, does not */
const struct xo_backend_ops xo_backend_xen = XF_OPS("xen", xen_open, 15);
const struct xo_backend_ops xo_backend_sim = XF_OPS("sim", sim_open, 0);
