/*
 * libvirt.c: the libvirt backend's micro-ops, queries and events, and the
 * module's one exported symbol (see libvirt.h and backend.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "devstate.h"
#include "extra.h"
#include "kvm.h"
#include "libvirt.h"
#include "memory.h"
#include "ops.h"
#include "res.h"
#include "state.h"
#include "updates.h"
#include "wait.h"

int lv_err(xo_err *e, enum xo_ecls cls, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	const char *why = virGetLastErrorMessage();

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	xo_errf(e, cls, "%s: %s", what, why && *why ? why : "libvirt gave no reason");
	virResetLastError();
	return -1;
}

/* libvirt prints every error on stderr unless told otherwise: xo reports them itself */
static void quiet(void *arg, virErrorPtr err)
{
	(void)arg;
	(void)err;
}

static const char *uri_of(void)
{
	const char *u = getenv("XO_LIBVIRT_URI");
	return u && *u ? u : "qemu:///system";
}

static int lv_open(struct xo_backend *b, xo_err *e)
{
	struct lv *lv;
	const char *type;

	/* this module has its own copy of libxo: in a forked worker, the descriptors its state
	 * directory code kept from the parent are gone (queue.c closed them) */
	xo_state_forget();
	xo_prog = program_invocation_short_name;
	virSetErrorFunc(NULL, quiet);
	if (virInitialize() < 0)
		return lv_err(e, XO_E_NO_HYPERVISOR, "unable to initialise libvirt");
	if (lv_loop_init(e) < 0)
		return -1;
	lv = xcalloc(1, sizeof(*lv));
	xo_strlcpy(lv->uri, uri_of(), sizeof(lv->uri));
	lv->conn = virConnectOpen(lv->uri);
	if (!lv->conn) {
		lv_err(e, XO_E_NO_HYPERVISOR, "unable to connect to libvirt at '%s' (XO_LIBVIRT_URI; is libvirtd running?)",
		       lv->uri);
		free(lv);
		return -1;
	}
	type = virConnectGetType(lv->conn);
	lv->xen = type && (strcmp(type, "Xen") == 0 || strcmp(type, "xenlight") == 0);
	if (!lv->xen && !(type && strcmp(type, "QEMU") == 0)) {
		xo_errf(e, XO_E_NO_HYPERVISOR, "libvirt at '%s' is a %s host: xo drives its qemu and Xen (libxl) drivers only",
			lv->uri, type ? type : "unknown");
		virConnectClose(lv->conn);
		free(lv);
		return -1;
	}
	b->priv = lv;
	return 0;
}

static void lv_close(struct xo_backend *b)
{
	struct lv *lv = LV(b);

	if (!lv)
		return;
	virConnectClose(lv->conn);
	free(lv);
	b->priv = NULL;
}

/* ---------------------------------------------------------------- finding a VM's domain */

enum { LV_NONE = 0, LV_OURS = 1, LV_FOREIGN = 2 };

/* the VM's domain: LV_OURS (*dom set), LV_NONE, LV_FOREIGN (a domain with the VM's uuid
 * that xo did not define: left alone), or -1 */
static int lookup(struct lv *lv, const char *uuid, virDomainPtr *dom, xo_err *e)
{
	virDomainPtr d = virDomainLookupByUUIDString(lv->conn, uuid);
	char *md;

	if (!d) {
		virErrorPtr err = virGetLastError();
		if (err && err->code == VIR_ERR_NO_DOMAIN) {
			virResetLastError();
			return LV_NONE;
		}
		return lv_err(e, XO_E_SYSTEM, "unable to look up the libvirt domain of vm %s", uuid);
	}
	md = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, LV_NS, 0);
	virResetLastError();
	if (!md) {
		virDomainFree(d);
		return LV_FOREIGN;
	}
	free(md);
	*dom = d;
	return LV_OURS;
}

/* the domain's state: active, and the libvirt state and reason */
static int dom_state(virDomainPtr d, int *state, int *reason, xo_err *e)
{
	if (virDomainGetState(d, state, reason, 0) < 0)
		return lv_err(e, XO_E_SYSTEM, "unable to read the state of libvirt domain %s",
			      virDomainGetName(d));
	return 0;
}

static bool running_state(int state)
{
	return state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED || state == VIR_DOMAIN_PAUSED ||
	       state == VIR_DOMAIN_SHUTDOWN || state == VIR_DOMAIN_PMSUSPENDED;
}

/* the VM's running domain, or bad_power_state */
static int need_active(struct xo_ctx *c, virDomainPtr *dom, xo_err *e)
{
	int state, reason, r = lookup(LV(c->b), c->vm.uuid, dom, e);

	if (r < 0)
		return -1;
	if (r != LV_OURS)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no libvirt domain)", c->vm.name);
	if (dom_state(*dom, &state, &reason, e) < 0 || !running_state(state)) {
		virDomainFree(*dom);
		return e->cls ? -1 : xo_errf(e, XO_E_POWER_STATE, "vm %s does not run", c->vm.name);
	}
	return 0;
}

static char *live_xml(virDomainPtr d, xo_err *e)
{
	char *x = virDomainGetXMLDesc(d, 0);
	if (!x)
		lv_err(e, XO_E_SYSTEM, "unable to read libvirt domain %s", virDomainGetName(d));
	return x;
}

/* ---------------------------------------------------------------- live state */

/* the facts xo recorded at start; returns the domain id recorded then, -1 when none */
static int record_facts(const char *uuid, struct xo_vm_live *s)
{
	struct xo_extra ex;
	xo_err ignore;
	struct json_object *v;
	int domid;

	if (xo_extra_load(uuid, &ex, &ignore) < 0)
		return -1;
	s->start_time = ex.create_time;
	domid = ex.domid > 0 ? ex.domid : -1;
	if (ex.backend && json_object_object_get_ex(ex.backend, "action_request", &v))
		xo_strlcpy(s->action_request, json_object_get_string(v), sizeof(s->action_request));
	if (ex.backend && json_object_object_get_ex(ex.backend, "accel", &v))
		xo_strlcpy(s->accel, json_object_get_string(v), sizeof(s->accel));
	xo_extra_free(&ex);
	return domid;
}

static int lv_vm_live(struct xo_backend *b, const struct xo_vm *vm, struct xo_vm_live *s, xo_err *e)
{
	struct lv *lv = LV(b);
	virDomainPtr d = NULL;
	virDomainInfo info;
	int state, reason, r;
	char *xml = NULL;

	memset(s, 0, sizeof(*s));
	s->domid = -1;
	s->vnc_port = -1;
	r = lookup(lv, vm->uuid, &d, e);
	if (r < 0)
		return -1;
	if (r != LV_OURS)
		return 0;
	if (dom_state(d, &state, &reason, e) < 0)
		goto fail;
	if (state == VIR_DOMAIN_SHUTOFF) {
		/* the guest stopped itself (poweroff) or crashed: as a shut-down Xen domain; any
		 * other reason (destroyed, never started, failed) leaves nothing that runs */
		if (reason == VIR_DOMAIN_SHUTOFF_SHUTDOWN || reason == VIR_DOMAIN_SHUTOFF_CRASHED) {
			s->exists = true;
			s->shutdown = true;
			s->reason = reason == VIR_DOMAIN_SHUTOFF_CRASHED ? XO_SHUTDOWN_CRASH : XO_SHUTDOWN_POWEROFF;
			/* libvirt numbers a shut-off domain -1; the id it ran with is kept, as a
			 * shut-down Xen domain keeps its own until it is destroyed */
			s->domid = record_facts(vm->uuid, s);
		}
		virDomainFree(d);
		return 0;
	}
	s->exists = true;
	if (state == VIR_DOMAIN_CRASHED) {
		s->shutdown = true;
		s->reason = XO_SHUTDOWN_CRASH;
	}
	s->paused = state == VIR_DOMAIN_PAUSED;
	s->domid = (int)virDomainGetID(d);
	if (virDomainGetInfo(d, &info) < 0) {
		lv_err(e, XO_E_SYSTEM, "unable to read libvirt domain %s", virDomainGetName(d));
		goto fail;
	}
	s->memory_actual = (uint64_t)info.memory * 1024;
	s->memory_target = (uint64_t)info.memory * 1024;
	s->cpu_time_ns = info.cpuTime;
	int n = virDomainGetVcpusFlags(d, VIR_DOMAIN_AFFECT_LIVE);
	s->vcpus = n > 0 ? (unsigned)n : info.nrVirtCpu;
	virResetLastError();
	if (!(xml = live_xml(d, e)))
		goto fail;
	size_t len;
	const char *p = lv_xml_find(xml, "console", "type='pty'", &len);
	if (p) {
		s->console = true;
		if (!lv_xml_attr(p, len, "tty", s->console_tty, sizeof(s->console_tty)))
			lv_xml_attr(p, len, "path", s->console_tty, sizeof(s->console_tty));
	}
	char port[16];
	if ((p = lv_xml_find(xml, "graphics", "type='vnc'", &len)) &&
	    lv_xml_attr(p, len, "port", port, sizeof(port)))
		s->vnc_port = atoi(port);
	(void)record_facts(vm->uuid, s);
	free(xml);
	virDomainFree(d);
	return 0;
fail:
	free(xml);
	virDomainFree(d);
	return -1;
}

/* a device of the live domain: the element of `tag` that holds `needle` */
static bool dev_find(struct lv *lv, const struct xo_vm *vm, const struct xo_vm_live *l, const char *tag,
		     const char *needle, char *xml_out_attr, const char *attr, size_t size)
{
	virDomainPtr d = NULL;
	xo_err ignore;
	bool found = false;
	char *xml;

	if (!l->exists || l->shutdown || lookup(lv, vm->uuid, &d, &ignore) != LV_OURS)
		return false;
	if ((xml = live_xml(d, &ignore))) {
		size_t len;
		const char *p = lv_xml_find(xml, tag, needle, &len);
		found = p != NULL;
		if (p && attr)
			lv_xml_attr(p, len, attr, xml_out_attr, size);
		free(xml);
	}
	virDomainFree(d);
	return found;
}

static int lv_vbd_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		       const struct xo_vbd *v, struct xo_dev_live *s, xo_err *e)
{
	struct lv *lv = LV(b);
	char dev[16], needle[64];
	const char *bus;

	memset(s, 0, sizeof(*s));
	if (lv_vbd_target(lv, v, dev, sizeof(dev), &bus, e) < 0)
		return -1;
	snprintf(needle, sizeof(needle), "<target dev='%s'", dev);
	s->plugged = dev_find(lv, vm, l, "disk", needle, NULL, NULL, 0);
	if (s->plugged) {
		char *path = xo_vbd_params(vm->uuid, v);
		xo_strlcpy(s->params, path, sizeof(s->params));
		free(path);
		xo_strlcpy(s->device, dev, sizeof(s->device));
	}
	s->healthy = s->plugged;
	return 0;
}

static int lv_vif_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		       const struct xo_vif *v, struct xo_dev_live *s, xo_err *e)
{
	char needle[64];

	(void)e;
	memset(s, 0, sizeof(*s));
	snprintf(needle, sizeof(needle), "<mac address='%s'/>", v->mac);
	s->plugged = dev_find(LV(b), vm, l, "interface", needle, NULL, NULL, 0);
	if (s->plugged) {
		xo_strlcpy(s->params, v->bridge ? v->bridge : "", sizeof(s->params));
		lv_vif_ifname(LV(b), vm->uuid, l->domid, v->position, s->device, sizeof(s->device));
	}
	s->healthy = s->plugged;
	return 0;
}

static void pci_needle(const struct xo_pci *p, char *buf, size_t size)
{
	unsigned dom = 0, bus = 0, slot = 0, fn = 0;

	sscanf(p->address, "%4x:%2x:%2x.%1x", &dom, &bus, &slot, &fn);
	snprintf(buf, size, "<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>", dom,
		 bus, slot, fn);
}

static int lv_pci_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		       const struct xo_pci *p, struct xo_dev_live *s, xo_err *e)
{
	char needle[128];

	(void)e;
	memset(s, 0, sizeof(*s));
	xo_strlcpy(s->params, p->address, sizeof(s->params));
	pci_needle(p, needle, sizeof(needle));
	s->plugged = dev_find(LV(b), vm, l, "hostdev", needle, NULL, NULL, 0);
	s->healthy = s->plugged;
	return 0;
}

/* ---------------------------------------------------------------- create */

/*
 * The domain's type: "xen" with libvirt's libxl driver. With its qemu driver,
 * XO_LIBVIRT_ACCEL (kvm or qemu) when set, else the kvm backend's verdict on this host's
 * KVM (XO_KVM_ACCEL, or its probe, kept per boot): a /dev/kvm that opens but whose guests
 * make no progress (nested KVM on some hosts) gives "qemu", TCG. *forced says the choice
 * was the administrator's, so that a start never falls back from it.
 */
static int accel_wanted(const struct lv *lv, const char **out, bool *forced, xo_err *e)
{
	const char *a = getenv("XO_LIBVIRT_ACCEL");
	char v[8];

	*forced = true;
	if (lv->xen) {
		*out = "xen";
		return 0;
	}
	if (a && *a) {
		if (strcmp(a, "kvm") == 0 || strcmp(a, "qemu") == 0) {
			*out = a;
			return 0;
		}
		return xo_errf(e, XO_E_INVALID, "XO_LIBVIRT_ACCEL is '%s': expected kvm or qemu", a);
	}
	*forced = false;
	if (kvm_accel(v, sizeof(v), e) < 0)
		return -1;
	*out = strcmp(v, "kvm") == 0 ? "kvm" : "qemu";
	return 0;
}

/* define the domain and start it paused; 0, or -1 with nothing left defined */
static int define_start(struct lv *lv, const struct xo_vm *vm, const char *accel, virDomainPtr *out,
			xo_err *e)
{
	struct xo_buf x = XO_BUF_INIT;
	char *log = NULL;
	virDomainPtr d;

	if (!lv->xen && xo_state_open(e) < 0)
		return -1;
	if (!lv->xen)
		log = xasprintf("%s/VM/%s/console.log", xo_state_dir(), vm->uuid);
	if (lv_domain_xml(lv, vm, accel, log, &x, e) < 0) {
		free(log);
		xo_buf_free(&x);
		return -1;
	}
	free(log);
	d = virDomainDefineXMLFlags(lv->conn, x.s, VIR_DOMAIN_DEFINE_VALIDATE);
	xo_buf_free(&x);
	if (!d)
		return lv_err(e, XO_E_INVALID, "unable to define libvirt domain xo-%s", vm->name);
	if (virDomainCreateWithFlags(d, VIR_DOMAIN_START_PAUSED) < 0) {
		lv_err(e, XO_E_SYSTEM, "unable to start libvirt domain xo-%s", vm->name);
		virDomainUndefine(d);
		virDomainFree(d);
		virResetLastError();
		return -1;
	}
	*out = d;
	return 0;
}

static int lv_vm_create(struct xo_ctx *c, xo_err *e)
{
	struct lv *lv = LV(c->b);
	const struct xo_vm *vm = &c->vm;
	virDomainPtr d = NULL;
	struct xo_extra ex;
	int state, reason, r;
	const char *accel = NULL;
	bool forced = false;

	if (lv_check(lv, vm, &c->d, e) < 0 || xo_vm_check_files(vm, e) < 0 ||
	    accel_wanted(lv, &accel, &forced, e) < 0)
		return -1;
	r = lookup(lv, vm->uuid, &d, e);
	if (r < 0)
		return -1;
	if (r == LV_FOREIGN)
		return xo_errf(e, XO_E_EXISTS, "libvirt at '%s' has a domain with the uuid of vm %s that xo "
			       "did not define: xo leaves it alone", lv->uri, vm->name);
	if (r == LV_OURS) {
		if (dom_state(d, &state, &reason, e) < 0) {
			virDomainFree(d);
			return -1;
		}
		if (state != VIR_DOMAIN_SHUTOFF) {
			virDomainFree(d);
			return xo_errf(e, XO_E_POWER_STATE, "vm %s already has a domain", vm->name);
		}
		/* the definition a dead start or a stopped guest left */
		virDomainUndefine(d);
		virDomainFree(d);
		virResetLastError();
	}
	if (xo_memory_reserve(c->b, vm->uuid, xo_vm_reserve_kib(vm), e) < 0)
		return -1;
	memset(&ex, 0, sizeof(ex));
	ex.domid = -1;
	ex.create_time = xo_wallclock();
	/* the domain is built by its creation: the build record is written with it */
	ex.built = true;
	ex.type = vm->type;
	ex.kernel = vm->kernel ? xstrdup(vm->kernel) : NULL;
	ex.ramdisk = vm->ramdisk ? xstrdup(vm->ramdisk) : NULL;
	ex.cmdline = xstrdup(vm->cmdline ? vm->cmdline : "");
	ex.static_max_kib = vm->memory_static_max / 1024;
	ex.target_kib = vm->memory_dynamic_max / 1024;
	ex.vcpus = vm->vcpus;
	ex.max_vcpus = vm->vcpu_max;
	/* the crash-safety marker exists before the domain does */
	xo_extra_backend_set_str(&ex, "action_request", "poweroff");
	xo_extra_backend_set_str(&ex, "uri", lv->uri);
	if (xo_extra_save(vm->uuid, &ex, e) < 0)
		goto fail;
	if (define_start(lv, vm, accel, &d, e) < 0) {
		/* KVM that works for xo but not for libvirt's qemu (its user cannot open
		 * /dev/kvm): qemu's TCG, unless the administrator chose */
		if (forced || !strstr(e->msg, "KVM"))
			goto fail;
		accel = "qemu";
		if (define_start(lv, vm, accel, &d, e) < 0)
			goto fail;
	}
	ex.domid = (int)virDomainGetID(d);
	xo_extra_backend_set_str(&ex, "accel", strcmp(accel, "qemu") == 0 ? "tcg" : accel);
	virDomainFree(d);
	if (xo_extra_save(vm->uuid, &ex, e) < 0)
		goto fail_kept;
	/* libvirt's host now holds the memory: the reservation has done its job */
	xo_memory_release(vm->uuid);
	xo_extra_free(&ex);
	xo_updates_emit("vm", vm->uuid);
	return 0;
fail:
	xo_memory_release(vm->uuid);
	xo_extra_remove(vm->uuid);
fail_kept:     /* the domain exists: the caller's cleanup destroys it */
	xo_extra_free(&ex);
	return -1;
}

/* ---------------------------------------------------------------- devices */

/* attach or detach one device on the live domain */
static int device_op(struct xo_ctx *c, bool attach, const char *xml, const char *what, xo_err *e)
{
	virDomainPtr d;
	int r;

	if (need_active(c, &d, e) < 0)
		return -1;
	r = attach ? virDomainAttachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_LIVE)
		   : virDomainDetachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_LIVE);
	if (r < 0)
		lv_err(e, attach ? XO_E_HOTPLUG : XO_E_DETACH_REJECTED, "libvirt refused to %s %s",
		       attach ? "attach" : "detach", what);
	virDomainFree(d);
	return r < 0 ? -1 : 0;
}

struct gone_wait {
	struct xo_ctx *c;
	const char *tag, *needle;
};

static int gone_cond(void *arg, xo_err *e)
{
	struct gone_wait *w = arg;
	struct xo_vm_live l = { .exists = true };
	(void)e;
	return dev_find(LV(w->c->b), &w->c->vm, &l, w->tag, w->needle, NULL, NULL, 0) ? 0 : 1;
}

static void loop_drain(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	lv_loop_run();
}

static void nothing(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	(void)conn;
	(void)dom;
	(void)alias;
	(void)opaque;
}

/* unplug: ask, then wait for the guest to let go (libvirt's DEVICE_REMOVED event); with
 * force on a domain that does not run (a teardown pauses it first) nothing can answer:
 * the domain's destroy that follows releases the device */
static int unplug(struct xo_ctx *c, bool force, const char *tag, const char *needle, const char *xml,
		  const char *what, xo_err *e)
{
	struct lv *lv = LV(c->b);
	struct xo_vm_live l;
	virDomainPtr d = NULL;
	int cb = -1, state = 0, reason, r = -1;

	if (lv_vm_live(c->b, &c->vm, &l, e) < 0)
		return -1;
	if (!l.exists || l.shutdown || !dev_find(lv, &c->vm, &l, tag, needle, NULL, NULL, 0))
		return 0;
	if (lookup(lv, c->vm.uuid, &d, e) != LV_OURS)
		return e->cls ? -1 : 0;
	if (dom_state(d, &state, &reason, e) < 0)
		goto out;
	if (force && state != VIR_DOMAIN_RUNNING && state != VIR_DOMAIN_BLOCKED) {
		r = 0;
		goto out;
	}
	cb = virConnectDomainEventRegisterAny(lv->conn, d, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
					      VIR_DOMAIN_EVENT_CALLBACK(nothing), NULL, NULL);
	virResetLastError();
	if (virDomainDetachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		r = lv_err(e, XO_E_DETACH_REJECTED, "libvirt refused to detach %s", what);
		goto out;
	}
	struct gone_wait gw = { c, tag, needle };
	struct xo_wait w = XO_WAIT_INIT;
	w.cond = gone_cond;
	w.arg = &gw;
	w.fds[0] = lv_loop_fd();
	w.drain = loop_drain;
	w.timeout_ms = force ? 5000 : 30000;
	w.timeout_cls = XO_E_DEVICE_TIMEOUT;
	w.what = what;
	w.cancel = &c->cancel;
	r = xo_wait(&w, e);
	if (r < 0 && force && e->cls == XO_E_DEVICE_TIMEOUT)
		r = 0;     /* asked without waiting for the guest: it goes with the domain */
out:
	if (cb >= 0)
		virConnectDomainEventDeregisterAny(lv->conn, cb);
	virDomainFree(d);
	return r;
}

static int lv_vbd_plug(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e)
{
	struct lv *lv = LV(c->b);
	struct xo_buf x = XO_BUF_INIT;
	struct xo_vm_live l;
	struct xo_dev_live s;
	char what[128], *path;
	int r = -1;

	snprintf(what, sizeof(what), "vbd %s of vm %s", v->name, c->vm.name);
	if (!v->backend[0])
		return xo_errf(e, XO_E_INVALID, "%s is empty: the libvirt backend plugs disks only", what);
	if (lv_vm_live(c->b, &c->vm, &l, e) < 0 || lv_vbd_live(c->b, &c->vm, &l, v, &s, e) < 0)
		return -1;
	if (s.plugged)
		return xo_errf(e, XO_E_EXISTS, "%s is plugged already", what);
	path = xo_vbd_params(c->vm.uuid, v);
	if (lv_disk_xml(lv, v, path, &x, e) == 0 && device_op(c, true, x.s, what, e) == 0) {
		xo_updates_emit2("vbd", c->vm.uuid, v->name);
		r = 0;
	}
	free(path);
	xo_buf_free(&x);
	return r;
}

static int lv_vbd_unplug(struct xo_ctx *c, const struct xo_vbd *v, bool force, xo_err *e)
{
	struct lv *lv = LV(c->b);
	struct xo_buf x = XO_BUF_INIT;
	char what[128], dev[16], needle[64], *path;
	const char *bus;
	int r = -1;

	snprintf(what, sizeof(what), "vbd %s of vm %s", v->name, c->vm.name);
	if (lv_vbd_target(lv, v, dev, sizeof(dev), &bus, e) < 0)
		return -1;
	snprintf(needle, sizeof(needle), "<target dev='%s'", dev);
	path = xo_vbd_params(c->vm.uuid, v);
	if (lv_disk_xml(lv, v, path, &x, e) == 0 && unplug(c, force, "disk", needle, x.s, what, e) == 0) {
		xo_updates_emit2("vbd", c->vm.uuid, v->name);
		r = 0;
	}
	free(path);
	xo_buf_free(&x);
	return r;
}

static void pos_id(char *buf, size_t size, const char *kind, int pos)
{
	snprintf(buf, size, "%s.vif.%d", kind, pos);
}

static int lv_vif_plug(struct xo_ctx *c, const struct xo_vif *v, xo_err *e)
{
	struct lv *lv = LV(c->b);
	struct xo_buf x = XO_BUF_INIT;
	struct xo_vm_live l;
	struct xo_dev_live s;
	char what[128], id[XO_RES_ID_MAX + 1], ifname[32], pos[16];
	int r = -1;

	snprintf(what, sizeof(what), "vif %d of vm %s", v->position, c->vm.name);
	if (lv_vm_live(c->b, &c->vm, &l, e) < 0 || lv_vif_live(c->b, &c->vm, &l, v, &s, e) < 0)
		return -1;
	if (s.plugged)
		return xo_errf(e, XO_E_EXISTS, "%s is plugged already", what);
	if (lv_nic_xml(lv, c->vm.uuid, v, v->carrier, &x, e) < 0)
		goto out;
	/* libvirt makes the tap: recorded first, so a repair finds it whatever happens */
	lv_vif_ifname(lv, c->vm.uuid, l.domid, v->position, ifname, sizeof(ifname));
	pos_id(id, sizeof(id), "netdev", v->position);
	if (xo_res_netdev(c->vm.uuid, id, ifname, e) < 0 || device_op(c, true, x.s, what, e) < 0)
		goto out;
	snprintf(pos, sizeof(pos), "%d", v->position);
	xo_updates_emit2("vif", c->vm.uuid, pos);
	r = 0;
out:
	xo_buf_free(&x);
	return r;
}

static int lv_vif_unplug(struct xo_ctx *c, const struct xo_vif *v, bool force, xo_err *e)
{
	struct lv *lv = LV(c->b);
	struct xo_buf x = XO_BUF_INIT;
	char what[128], needle[64], id[XO_RES_ID_MAX + 1], pos[16];
	int r = -1;

	snprintf(what, sizeof(what), "vif %d of vm %s", v->position, c->vm.name);
	snprintf(needle, sizeof(needle), "<mac address='%s'/>", v->mac);
	if (lv_nic_xml(lv, c->vm.uuid, v, v->carrier, &x, e) < 0 ||
	    unplug(c, force, "interface", needle, x.s, what, e) < 0)
		goto out;
	pos_id(id, sizeof(id), "netdev", v->position);
	xo_err ignore;
	/* libvirt deleted the tap with the device, unless the detach is still pending */
	struct xo_vm_live l;
	if (lv_vm_live(c->b, &c->vm, &l, &ignore) == 0 &&
	    !dev_find(lv, &c->vm, &l, "interface", needle, NULL, NULL, 0) &&
	    xo_res_release(c->vm.uuid, id, &ignore) < 0)
		xo_warn("%s", ignore.msg);
	snprintf(pos, sizeof(pos), "%d", v->position);
	xo_updates_emit2("vif", c->vm.uuid, pos);
	r = 0;
out:
	xo_buf_free(&x);
	return r;
}

static int lv_vif_apply(struct xo_ctx *c, const struct xo_vif *v, unsigned what, xo_err *e)
{
	struct lv *lv = LV(c->b);
	struct xo_buf x = XO_BUF_INIT;
	virDomainPtr d;
	char pos[16];
	int r = -1;

	if (what & XO_VIF_APPLY_LOCKING)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "the libvirt backend cannot lock a vif's addresses");
	if (lv_nic_xml(lv, c->vm.uuid, v, v->carrier, &x, e) < 0 || need_active(c, &d, e) < 0)
		goto out;
	if (virDomainUpdateDeviceFlags(d, x.s, VIR_DOMAIN_AFFECT_LIVE) < 0)
		lv_err(e, XO_E_HOTPLUG, "libvirt refused to set the carrier of vif %d of vm %s", v->position,
		       c->vm.name);
	else
		r = 0;
	virDomainFree(d);
	snprintf(pos, sizeof(pos), "%d", v->position);
	if (r == 0)
		xo_updates_emit2("vif", c->vm.uuid, pos);
out:
	xo_buf_free(&x);
	return r;
}

static int lv_pci_plug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e)
{
	struct xo_buf x = XO_BUF_INIT;
	struct xo_vm_live l;
	struct xo_dev_live s;
	char what[128];
	int r = -1;

	snprintf(what, sizeof(what), "pci device %s of vm %s", p->address, c->vm.name);
	if (lv_vm_live(c->b, &c->vm, &l, e) < 0 || lv_pci_live(c->b, &c->vm, &l, p, &s, e) < 0)
		return -1;
	if (s.plugged)
		return xo_errf(e, XO_E_EXISTS, "%s is plugged already", what);
	/* managed='yes': libvirt takes the device from its driver and gives it back */
	if (lv_hostdev_xml(p, &x, e) == 0 && device_op(c, true, x.s, what, e) == 0) {
		char pos[16];
		snprintf(pos, sizeof(pos), "%d", p->position);
		xo_updates_emit2("pci", c->vm.uuid, pos);
		r = 0;
	}
	xo_buf_free(&x);
	return r;
}

static int lv_pci_unplug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e)
{
	struct xo_buf x = XO_BUF_INIT;
	char what[128], needle[128];
	int r = -1;

	snprintf(what, sizeof(what), "pci device %s of vm %s", p->address, c->vm.name);
	pci_needle(p, needle, sizeof(needle));
	if (lv_hostdev_xml(p, &x, e) == 0 && unplug(c, false, "hostdev", needle, x.s, what, e) == 0) {
		char pos[16];
		snprintf(pos, sizeof(pos), "%d", p->position);
		xo_updates_emit2("pci", c->vm.uuid, pos);
		r = 0;
	}
	xo_buf_free(&x);
	return r;
}

/* ---------------------------------------------------------------- the action request */

static int lv_set_action_request(struct xo_ctx *c, const char *request, xo_err *e)
{
	struct xo_extra ex;
	int r;

	if (xo_extra_load(c->vm.uuid, &ex, e) < 0) {
		if (e->cls == XO_E_NOT_FOUND)
			xo_errf(e, XO_E_POWER_STATE, "vm %s has no domain", c->vm.name);
		return -1;
	}
	if (ex.domid == 0) {
		xo_extra_free(&ex);
		return xo_errf(e, XO_E_POWER_STATE, "vm %s has no domain", c->vm.name);
	}
	xo_extra_backend_set_str(&ex, "action_request", request);
	r = xo_extra_save(c->vm.uuid, &ex, e);
	xo_extra_free(&ex);
	if (r == 0)
		xo_updates_emit("vm", c->vm.uuid);
	return r;
}

/* ---------------------------------------------------------------- pause, shutdown, destroy */

static int pause_unpause(struct xo_ctx *c, bool pause, xo_err *e)
{
	virDomainPtr d;
	int state, reason, r = 0;

	if (need_active(c, &d, e) < 0)
		return -1;
	if (dom_state(d, &state, &reason, e) < 0) {
		r = -1;
	} else if (pause ? state != VIR_DOMAIN_PAUSED : state == VIR_DOMAIN_PAUSED) {
		if ((pause ? virDomainSuspend(d) : virDomainResume(d)) < 0)
			r = lv_err(e, XO_E_SYSTEM, "unable to %s libvirt domain %s", pause ? "pause" : "unpause",
				   virDomainGetName(d));
	}
	virDomainFree(d);
	if (r == 0)
		xo_updates_emit("vm", c->vm.uuid);
	return r;
}

static int lv_vm_pause(struct xo_ctx *c, xo_err *e)
{
	return pause_unpause(c, true, e);
}

static int lv_vm_unpause(struct xo_ctx *c, xo_err *e)
{
	return pause_unpause(c, false, e);
}

struct down_wait {
	virDomainPtr d;
};

static int down_cond(void *arg, xo_err *e)
{
	struct down_wait *w = arg;
	int state, reason;

	(void)e;
	if (virDomainGetState(w->d, &state, &reason, 0) < 0) {
		virResetLastError();
		return 1;       /* gone */
	}
	return state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED ? 1 : 0;
}

static void lifecycle_nothing(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	(void)conn;
	(void)dom;
	(void)event;
	(void)detail;
	(void)opaque;
}

/* a clean shutdown: libvirt asks the guest (Xen's control/shutdown, qemu's ACPI power
 * button) and xo waits for the domain to stop. A reboot is asked as a poweroff too: xo's
 * reboot makes a new domain after it, and libvirt's own on_reboot would keep this one */
static int lv_vm_shutdown(struct xo_ctx *c, const char *request, int timeout_ms, xo_err *e)
{
	struct lv *lv = LV(c->b);
	virDomainPtr d = NULL;
	int state, reason, cb = -1, r;

	if (strcmp(request, "suspend") == 0)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "the libvirt backend cannot suspend a guest");
	r = lookup(lv, c->vm.uuid, &d, e);
	if (r < 0)
		return -1;
	if (r != LV_OURS)
		return 0;
	if (dom_state(d, &state, &reason, e) < 0) {
		virDomainFree(d);
		return -1;
	}
	if (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED) {
		virDomainFree(d);
		return 0;
	}
	cb = virConnectDomainEventRegisterAny(lv->conn, d, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					      VIR_DOMAIN_EVENT_CALLBACK(lifecycle_nothing), NULL, NULL);
	virResetLastError();
	if (virDomainShutdown(d) < 0) {
		r = lv_err(e, XO_E_SHUTDOWN_ACK, "libvirt could not ask vm %s to shut down", c->vm.name);
		goto out;
	}
	struct down_wait dw = { d };
	struct xo_wait w = XO_WAIT_INIT;
	w.cond = down_cond;
	w.arg = &dw;
	w.fds[0] = lv_loop_fd();
	w.drain = loop_drain;
	w.timeout_ms = timeout_ms > 0 ? timeout_ms : 60000;
	w.timeout_cls = XO_E_SHUTDOWN_TIMEOUT;
	w.what = "the domain to shut down";
	w.cancel = &c->cancel;
	r = xo_wait(&w, e);
	if (r < 0 && e->cls == XO_E_SHUTDOWN_TIMEOUT)
		xo_errf(e, XO_E_SHUTDOWN_TIMEOUT, "vm %s did not shut down within %d ms", c->vm.name,
			w.timeout_ms);
	if (r == 0)
		xo_updates_emit("vm", c->vm.uuid);
out:
	if (cb >= 0)
		virConnectDomainEventDeregisterAny(lv->conn, cb);
	virDomainFree(d);
	return r < 0 ? -1 : 0;
}

static int lv_vm_destroy(struct xo_ctx *c, bool keep_build, xo_err *e)
{
	struct lv *lv = LV(c->b);
	virDomainPtr d = NULL;
	int r = lookup(lv, c->vm.uuid, &d, e);

	if (r < 0)
		return -1;
	if (r == LV_OURS) {
		if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0 && virDomainIsActive(d) == 1) {
			lv_err(e, XO_E_SYSTEM, "unable to destroy libvirt domain %s", virDomainGetName(d));
			virDomainFree(d);
			return -1;
		}
		if (virDomainUndefine(d) < 0) {
			virErrorPtr err = virGetLastError();
			if (!err || err->code != VIR_ERR_NO_DOMAIN) {
				lv_err(e, XO_E_SYSTEM, "unable to undefine libvirt domain %s", virDomainGetName(d));
				virDomainFree(d);
				return -1;
			}
			virResetLastError();
		}
		virDomainFree(d);
	}
	xo_memory_release(c->vm.uuid);
	xo_extra_domain_gone(c->vm.uuid, keep_build, "action_request");
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

/* ---------------------------------------------------------------- events */

struct xo_events {
	struct lv *lv;
	int cb[3];
	xo_event_fn fn;          /* set while events_next runs the loop */
	void *arg;
};

static void report(struct xo_events *ev, virDomainPtr dom, const char *why)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (ev->fn && virDomainGetUUIDString(dom, uuid) == 0)
		ev->fn(uuid, why, ev->arg);    /* the watcher ignores uuids that are not xo's */
}

static void on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	(void)conn;
	(void)detail;
	if (event == VIR_DOMAIN_EVENT_STOPPED || event == VIR_DOMAIN_EVENT_SHUTDOWN ||
	    event == VIR_DOMAIN_EVENT_CRASHED || event == VIR_DOMAIN_EVENT_UNDEFINED)
		report(opaque, dom, "lifecycle");
}

static void on_reboot(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
	(void)conn;
	report(opaque, dom, "reboot");
}

static void on_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	(void)conn;
	(void)alias;
	report(opaque, dom, "device-removed");
}

static int lv_events_open(struct xo_backend *b, struct xo_events **out, xo_err *e)
{
	struct xo_events *ev = xcalloc(1, sizeof(*ev));

	ev->lv = LV(b);
	ev->cb[0] = virConnectDomainEventRegisterAny(ev->lv->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						     VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), ev, NULL);
	ev->cb[1] = virConnectDomainEventRegisterAny(ev->lv->conn, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
						     VIR_DOMAIN_EVENT_CALLBACK(on_reboot), ev, NULL);
	ev->cb[2] = virConnectDomainEventRegisterAny(ev->lv->conn, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
						     VIR_DOMAIN_EVENT_CALLBACK(on_removed), ev, NULL);
	if (ev->cb[0] < 0 || ev->cb[1] < 0 || ev->cb[2] < 0) {
		lv_err(e, XO_E_SYSTEM, "unable to watch libvirt's domain events at '%s'", ev->lv->uri);
		for (int i = 0; i < 3; i++)
			if (ev->cb[i] >= 0)
				virConnectDomainEventDeregisterAny(ev->lv->conn, ev->cb[i]);
		free(ev);
		return -1;
	}
	*out = ev;
	return 0;
}

static int lv_events_fd(struct xo_events *ev)
{
	(void)ev;
	return lv_loop_fd();
}

static int lv_events_next(struct xo_events *ev, xo_event_fn fn, void *arg, xo_err *e)
{
	ev->fn = fn;
	ev->arg = arg;
	lv_loop_run();
	ev->fn = NULL;
	if (virConnectIsAlive(ev->lv->conn) != 1)
		return xo_errf(e, XO_E_NO_HYPERVISOR, "the connection to libvirt at '%s' was lost",
			       ev->lv->uri);
	return 0;
}

static void lv_events_close(struct xo_events *ev)
{
	for (int i = 0; i < 3; i++)
		virConnectDomainEventDeregisterAny(ev->lv->conn, ev->cb[i]);
	free(ev);
}

/* ---------------------------------------------------------------- consoles, host */

struct tty_wait {
	struct xo_backend *b;
	const struct xo_vm *vm;
	char tty[128];
};

static int tty_cond(void *arg, xo_err *e)
{
	struct tty_wait *w = arg;
	struct xo_vm_live l;

	if (lv_vm_live(w->b, w->vm, &l, e) < 0)
		return -1;
	if (!l.exists || l.shutdown)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no console)", w->vm->name);
	xo_strlcpy(w->tty, l.console_tty, sizeof(w->tty));
	return w->tty[0] ? 1 : 0;
}

static int lv_console_tty(struct xo_backend *b, const struct xo_vm *vm, int timeout_ms, char **tty,
			  xo_err *e)
{
	struct tty_wait tw = { b, vm, "" };
	struct xo_wait w = XO_WAIT_INIT;

	w.cond = tty_cond;
	w.arg = &tw;
	w.fds[0] = lv_loop_fd();
	w.drain = loop_drain;
	w.timeout_ms = timeout_ms;
	w.timeout_cls = XO_E_TIMEOUT;
	w.what = "libvirt to give the domain a console";
	if (xo_wait(&w, e) < 0)
		return -1;
	*tty = xstrdup(tw.tty);
	return 0;
}

static int lv_console_log(struct xo_backend *b, const struct xo_vm *vm, char **path, xo_err *e)
{
	struct stat st;

	if (LV(b)->xen)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "libvirt's libxl driver keeps no console log of xo's "
			       "(xenconsoled's own, if enabled, is in /var/log/xen/console)");
	if (xo_state_open(e) < 0)
		return -1;
	*path = xasprintf("%s/VM/%s/console.log", xo_state_dir(), vm->uuid);
	if (stat(*path, &st) < 0 && errno == ENOENT) {
		xo_errf(e, XO_E_NOT_FOUND, "vm %s has no console log: '%s' does not exist (its guest has "
			"not run yet)", vm->name, *path);
		free(*path);
		*path = NULL;
		return -1;
	}
	return 0;
}

static int lv_host_info(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e)
{
	struct lv *lv = LV(b);
	virNodeInfo ni;
	unsigned long long free_bytes;

	if (virNodeGetInfo(lv->conn, &ni) < 0)
		return lv_err(e, XO_E_SYSTEM, "unable to read libvirt's host at '%s'", lv->uri);
	free_bytes = virNodeGetFreeMemory(lv->conn);
	if (!free_bytes)
		return lv_err(e, XO_E_SYSTEM, "unable to read libvirt's free memory at '%s'", lv->uri);
	out->total_kib = ni.memory;
	out->free_kib = free_bytes / 1024;
	out->nr_cpus = ni.cpus;
	return 0;
}

static int lv_check_ops(struct xo_backend *b, const struct xo_vm *vm, const struct xo_devices *d, xo_err *e)
{
	return lv_check(LV(b), vm, d, e);
}

static const struct xo_backend_ops ops = {
	.name = "libvirt",
	.reboot_delay_s = 15,
	.open = lv_open,
	.close = lv_close,
	.check = lv_check_ops,
	.vm_live = lv_vm_live,
	.vbd_live = lv_vbd_live,
	.vif_live = lv_vif_live,
	.pci_live = lv_pci_live,
	.vm_create = lv_vm_create,
	.vbd_plug = lv_vbd_plug,
	.vbd_unplug = lv_vbd_unplug,
	.vif_plug = lv_vif_plug,
	.vif_unplug = lv_vif_unplug,
	.vif_apply = lv_vif_apply,
	.pci_plug = lv_pci_plug,
	.pci_unplug = lv_pci_unplug,
	.set_action_request = lv_set_action_request,
	.vm_pause = lv_vm_pause,
	.vm_unpause = lv_vm_unpause,
	.vm_shutdown = lv_vm_shutdown,
	.vm_destroy = lv_vm_destroy,
	.events_open = lv_events_open,
	.events_fd = lv_events_fd,
	.events_next = lv_events_next,
	.events_close = lv_events_close,
	.console_tty = lv_console_tty,
	.console_log = lv_console_log,
	.host_info = lv_host_info,
};

__attribute__((visibility("default"))) const struct xo_backend_module xo_backend_module = {
	.abi = XO_BACKEND_ABI,
	.ops = &ops,
};
