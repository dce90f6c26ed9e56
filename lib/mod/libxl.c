/*
 * libxl.c: the libxl backend (backend-libxl.so): Xen through libxenlight,
 * so that a VM xo starts is a domain `xl` fully knows (xl list, console,
 * block-list, network-list, save), with libxl's own hotplug and device
 * model handling.
 *
 * The split, and where libxl does not allow one:
 *
 *   VM_create    libxl_domain_create_new() with a configuration that has no
 *                devices: libxl creates AND builds the domain (kernel,
 *                memory, store and console) in that one call and leaves it
 *                paused, so there is no VM_build step; for an HVM guest it
 *                also starts the device model (qemu-xen), so there is no
 *                VM_create_device_model step either.
 *   VBD_plug     libxl_device_disk_add(), one disk (phy, with the block
 *                hotplug script, which takes a file through a loop device)
 *   VIF_plug     libxl_device_nic_add(), one nic (vif-bridge, or its script)
 *   PCI_plug     libxl_device_pci_assignable_add() + libxl_device_pci_add()
 *   unplugs      libxl_device_*_remove() (clean) or _destroy() (force)
 *   pause etc.   libxl_domain_pause/unpause/shutdown/reboot/destroy()
 *
 * libxl runs the hotplug scripts itself (as xl does). xo records what they
 * may create (the loop device on a file, the vif) before each plug (res.h),
 * so a repair after a kill finds it.
 *
 * The crash-safety marker is in the runtime record's backend object
 * ("action_request"), written before libxl_domain_create_new(); the
 * domain is found by its handle (the VM's uuid) when the record has no
 * domid yet. The on_* actions given to libxl are "preserve": a guest that
 * stops stays a shut-down domain with its reason, which check-state reads
 * and maps through the VM's on_shutdown, on_reboot and on_crash (libxl
 * applies none of them itself: xl's daemon would, and xo plays that part).
 *
 * The watcher's events are xenstore's (@introduceDomain, @releaseDomain):
 * on each, the domains are listed again and every VM whose domain changed
 * (appeared, stopped, went away) is named.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenstore.h>

#include "devstate.h"
#include "extra.h"
#include "memory.h"
#include "ops.h"
#include "res.h"
#include "state.h"
#include "updates.h"
#include "xs.h"

/* libxl's messages: the last error kept for xo's one line, all of them on stderr with
 * XO_XEN_DEBUG */
struct xl_logger {
	xentoollog_logger vtable;
	char first[512], last[512];  /* the error that started it, and the last one */
	bool debug;
};

struct xl {
	libxl_ctx *ctx;
	struct xl_logger log;
	struct xs_handle *xs;
};

static inline struct xl *XL(struct xo_backend *b)
{
	return b->priv;
}

static void log_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
			 const char *context, const char *format, va_list al)
{
	struct xl_logger *l = (struct xl_logger *)lg;
	char msg[512];

	vsnprintf(msg, sizeof(msg), format, al);
	if (l->debug)
		fprintf(stderr, "libxl: %s%s%s%s%s\n", context ? context : "", context ? ": " : "", msg,
			errnoval >= 0 ? ": " : "", errnoval >= 0 ? strerror(errnoval) : "");
	if (level >= XTL_ERROR) {
		snprintf(l->last, sizeof(l->last), "%s%s%s", msg, errnoval >= 0 ? ": " : "",
			 errnoval >= 0 ? strerror(errnoval) : "");
		if (!l->first[0])
			xo_strlcpy(l->first, l->last, sizeof(l->first));
	}
}

static void log_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
			 int percent, unsigned long done, unsigned long total)
{
	(void)lg;
	(void)context;
	(void)doing_what;
	(void)percent;
	(void)done;
	(void)total;
}

static void log_destroy(xentoollog_logger *lg)
{
	(void)lg;
}

/* a failed libxl call as an xo error, with libxl's last message */
static int xl_fail(struct xl *x, xo_err *e, enum xo_ecls cls, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int xl_fail(struct xl *x, xo_err *e, enum xo_ecls cls, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!x->log.last[0])
		xo_errf(e, cls, "%s: libxl gave no reason", what);
	else if (strcmp(x->log.first, x->log.last) == 0)
		xo_errf(e, cls, "%s: %s", what, x->log.last);
	else
		xo_errf(e, cls, "%s: %s (then: %s)", what, x->log.first, x->log.last);
	x->log.first[0] = x->log.last[0] = '\0';
	return -1;
}

static int xl_open(struct xo_backend *b, xo_err *e)
{
	struct xl *x = xcalloc(1, sizeof(*x));
	const char *dbg = getenv("XO_XEN_DEBUG");

	/* this module's own copy of libxo: see libvirt.c */
	xo_state_forget();
	xo_prog = program_invocation_short_name;
	x->log.vtable.vmessage = log_vmessage;
	x->log.vtable.progress = log_progress;
	x->log.vtable.destroy = log_destroy;
	x->log.debug = dbg && *dbg;
	if (libxl_ctx_alloc(&x->ctx, LIBXL_VERSION, 0, &x->log.vtable) != 0) {
		xo_errf(e, XO_E_NO_HYPERVISOR, "unable to open libxl: %s (is this a Xen dom0? the xen, "
			"sim, kvm and libvirt backends need none)", x->log.last[0] ? x->log.last : "no hypervisor");
		free(x);
		return -1;
	}
	x->xs = xs_open(0);
	if (!x->xs) {
		xo_err_sys(e, errno, "unable to open xenstore");
		libxl_ctx_free(x->ctx);
		free(x);
		return -1;
	}
	b->priv = x;
	return 0;
}

static void xl_close(struct xo_backend *b)
{
	struct xl *x = XL(b);

	if (!x)
		return;
	libxl_ctx_free(x->ctx);
	xs_close(x->xs);
	free(x);
	b->priv = NULL;
}

/* ---------------------------------------------------------------- finding the domain */

static bool handle_is(const libxl_dominfo *di, const char *uuid)
{
	libxl_uuid u;
	return libxl_uuid_from_string(&u, uuid) == 0 && libxl_uuid_compare(&u, &di->uuid) == 0;
}

/* 1: the VM's domain (*domid, *info), 0: none, -1 */
static int find_domain(struct xl *x, const char *uuid, uint32_t *domid, libxl_dominfo *info, xo_err *e)
{
	struct xo_extra ex;
	libxl_dominfo di;
	xo_err ignore;
	int known, found = 0;

	if (xo_extra_load(uuid, &ex, &ignore) < 0)
		return ignore.cls == XO_E_NOT_FOUND ? 0 : xo_errf(e, ignore.cls, "%s", ignore.msg);
	known = ex.domid;
	xo_extra_free(&ex);
	if (known == 0)
		return 0;
	if (known > 0) {
		libxl_dominfo_init(&di);
		if (libxl_domain_info(x->ctx, &di, (uint32_t)known) == 0 && handle_is(&di, uuid)) {
			*domid = (uint32_t)known;
			if (info)
				*info = di;
			else
				libxl_dominfo_dispose(&di);
			return 1;
		}
		libxl_dominfo_dispose(&di);
		x->log.first[0] = x->log.last[0] = '\0';
		return 0;
	}
	/* a create was in flight when xo died: by handle */
	int n = 0;
	libxl_dominfo *all = libxl_list_domain(x->ctx, &n);
	if (!all)
		return xl_fail(x, e, XO_E_SYSTEM, "unable to list the domains");
	for (int i = 0; i < n && !found; i++) {
		if (all[i].domid != 0 && handle_is(&all[i], uuid)) {
			*domid = all[i].domid;
			if (info) {
				libxl_dominfo_init(info);
				libxl_dominfo_copy(x->ctx, info, &all[i]);
			}
			found = 1;
		}
	}
	libxl_dominfo_list_free(all, n);
	return found;
}

static int need_domain(struct xo_ctx *c, uint32_t *domid, xo_err *e)
{
	int r = find_domain(XL(c->b), c->vm.uuid, domid, NULL, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no domain)", c->vm.name);
	return 0;
}

/* ---------------------------------------------------------------- what libxl cannot honour */

static int xl_check(struct xo_backend *b, const struct xo_vm *vm, const struct xo_devices *d, xo_err *e)
{
	(void)b;
	if (vm->type == XO_VM_PV && vm->framebuffer)
		return xo_errf(e, XO_E_INVALID, "the libxl backend cannot honour the framebuffer of vm %s",
			       vm->name);
	for (size_t i = 0; i < d->n_vbd; i++) {
		const struct xo_vbd *v = &d->vbd[i];
		if (v->type != XO_VBD_DISK)
			return xo_errf(e, XO_E_INVALID, "the libxl backend cannot honour vbd %s of vm %s: "
				       "a %s (it plugs disks only)", v->name, vm->name, xo_vbd_type_name(v->type));
		if (v->extra_backend_keys.n || v->extra_private_keys.n || v->qos != XO_QOS_NONE)
			return xo_errf(e, XO_E_INVALID, "the libxl backend cannot honour the extra keys or "
				       "qos of vbd %s of vm %s", v->name, vm->name);
	}
	for (size_t i = 0; i < d->n_vif; i++) {
		const struct xo_vif *v = &d->vif[i];
		if (v->locking_mode != XO_LOCK_UNLOCKED || v->extra_private_keys.n || !v->carrier)
			return xo_errf(e, XO_E_INVALID, "the libxl backend cannot honour the locking, carrier "
				       "or extra keys of vif %d of vm %s", v->position, vm->name);
	}
	return 0;
}

/* ---------------------------------------------------------------- live state */

static void record_facts(const char *uuid, struct xo_vm_live *s)
{
	struct xo_extra ex;
	xo_err ignore;
	struct json_object *v;

	if (xo_extra_load(uuid, &ex, &ignore) < 0)
		return;
	s->start_time = ex.create_time;
	if (ex.backend && json_object_object_get_ex(ex.backend, "action_request", &v))
		xo_strlcpy(s->action_request, json_object_get_string(v), sizeof(s->action_request));
	xo_extra_free(&ex);
}

static int xl_vm_live(struct xo_backend *b, const struct xo_vm *vm, struct xo_vm_live *s, xo_err *e)
{
	struct xl *x = XL(b);
	libxl_dominfo di;
	uint32_t d;
	char p[96], v[64];
	int r;

	memset(s, 0, sizeof(*s));
	s->domid = -1;
	s->vnc_port = -1;
	r = find_domain(x, vm->uuid, &d, &di, e);
	if (r <= 0) {
		/* a create in flight or killed before the domain existed: the marker is all */
		return r;
	}
	s->exists = true;
	s->domid = (int)d;
	s->paused = di.paused;
	s->shutdown = di.shutdown;
	s->reason = di.shutdown && di.shutdown_reason >= 0 ? (enum xo_shutdown_reason)di.shutdown_reason
							  : XO_SHUTDOWN_POWEROFF;
	s->dying = di.dying;
	s->memory_actual = di.current_memkb * 1024;
	s->vcpus = di.vcpu_online;
	s->cpu_time_ns = di.cpu_time;
	libxl_dominfo_dispose(&di);
	snprintf(p, sizeof(p), "/local/domain/%u/memory/target", d);
	if (xo_xs_read_buf(x->xs, XBT_NULL, p, v, sizeof(v)))
		s->memory_target = strtoull(v, NULL, 10) * 1024;
	snprintf(p, sizeof(p), "/local/domain/%u/console/ring-ref", d);
	s->console = xo_xs_exists(x->xs, XBT_NULL, p);
	snprintf(p, sizeof(p), "/local/domain/%u/console/tty", d);
	xo_xs_read_buf(x->xs, XBT_NULL, p, s->console_tty, sizeof(s->console_tty));
	snprintf(p, sizeof(p), "/local/domain/%u/console/vnc-port", d);
	if (xo_xs_read_buf(x->xs, XBT_NULL, p, v, sizeof(v)))
		s->vnc_port = atoi(v);
	record_facts(vm->uuid, s);
	return 0;
}

/* a device of domain d: its backend directory in xenstore, as libxl writes it */
static bool be_dir(struct xl *x, uint32_t d, const char *kind, long devid, struct xo_dev_live *s)
{
	char p[160], k[200];

	snprintf(p, sizeof(p), "/local/domain/0/backend/%s/%u/%ld", kind, d, devid);
	if (!xo_xs_exists(x->xs, XBT_NULL, p))
		return false;
	snprintf(k, sizeof(k), "%s/state", p);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->backend_state, sizeof(s->backend_state));
	snprintf(k, sizeof(k), "%s/hotplug-status", p);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->hotplug_status, sizeof(s->hotplug_status));
	snprintf(k, sizeof(k), "/local/domain/%u/device/%s/%ld/state", d, kind, devid);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->frontend_state, sizeof(s->frontend_state));
	snprintf(k, sizeof(k), "%s/%s", p, strcmp(kind, "vif") == 0 ? "bridge" : "params");
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->params, sizeof(s->params));
	snprintf(k, sizeof(k), "%s/physical-device", p);
	xo_xs_read_buf(x->xs, XBT_NULL, k, s->physical_device, sizeof(s->physical_device));
	return true;
}

static int xl_vbd_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		       const struct xo_vbd *v, struct xo_dev_live *s, xo_err *e)
{
	(void)vm;
	(void)e;
	memset(s, 0, sizeof(*s));
	if (!l->exists)
		return 0;
	s->plugged = be_dir(XL(b), (uint32_t)l->domid, "vbd", xo_vbd_devid(v->name), s);
	s->healthy = s->plugged && strcmp(s->hotplug_status, "connected") == 0;
	return 0;
}

static int xl_vif_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		       const struct xo_vif *v, struct xo_dev_live *s, xo_err *e)
{
	(void)vm;
	(void)e;
	memset(s, 0, sizeof(*s));
	if (!l->exists)
		return 0;
	s->plugged = be_dir(XL(b), (uint32_t)l->domid, "vif", v->position, s);
	s->healthy = s->plugged && strcmp(s->hotplug_status, "connected") == 0;
	if (s->plugged)
		snprintf(s->device, sizeof(s->device), "vif%d.%d", l->domid, v->position);
	return 0;
}

static int pci_parse(const struct xo_pci *p, libxl_device_pci *pci, xo_err *e)
{
	unsigned dom, bus, slot, fn;

	if (sscanf(p->address, "%4x:%2x:%2x.%1x", &dom, &bus, &slot, &fn) != 4)
		return xo_errf(e, XO_E_INVALID, "invalid pci address '%s'", p->address);
	libxl_device_pci_init(pci);
	pci->domain = (int)dom;
	pci->bus = (uint8_t)bus;
	pci->dev = (uint8_t)slot;
	pci->func = (uint8_t)fn;
	pci->permissive = p->permissive;
	pci->msitranslate = p->msitranslate;
	pci->power_mgmt = p->power_mgmt;
	return 0;
}

static bool pci_plugged(struct xl *x, uint32_t d, const struct xo_pci *p)
{
	int n = 0;
	bool found = false;
	libxl_device_pci want, *list = libxl_device_pci_list(x->ctx, d, &n);
	xo_err ignore;

	if (!list || pci_parse(p, &want, &ignore) < 0) {
		x->log.first[0] = x->log.last[0] = '\0';
		return false;
	}
	for (int i = 0; i < n; i++)
		found |= list[i].domain == want.domain && list[i].bus == want.bus && list[i].dev == want.dev &&
			 list[i].func == want.func;
	libxl_device_pci_list_free(list, n);
	libxl_device_pci_dispose(&want);
	return found;
}

static int xl_pci_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		       const struct xo_pci *p, struct xo_dev_live *s, xo_err *e)
{
	(void)vm;
	(void)e;
	memset(s, 0, sizeof(*s));
	xo_strlcpy(s->params, p->address, sizeof(s->params));
	if (l->exists)
		s->plugged = s->healthy = pci_plugged(XL(b), (uint32_t)l->domid, p);
	return 0;
}

/* ---------------------------------------------------------------- create */

static void kvs_to_libxl(const struct xo_kvs *m, libxl_key_value_list *out)
{
	char **l = xcalloc(m->n * 2 + 1, sizeof(*l));

	for (size_t i = 0; i < m->n; i++) {
		l[2 * i] = xstrdup(m->v[i].k);
		l[2 * i + 1] = xstrdup(m->v[i].v);
	}
	*out = l;
}

static bool platform_bool(const struct xo_vm *vm, const char *k, bool dflt)
{
	const char *v = xo_kvs_get(&vm->platform, k);
	return v ? strcmp(v, "true") == 0 || strcmp(v, "1") == 0 : dflt;
}

/* the domain's configuration without devices */
static int domain_config(struct xl *x, const struct xo_vm *vm, libxl_domain_config *dc, xo_err *e)
{
	libxl_domain_create_info *ci = &dc->c_info;
	libxl_domain_build_info *bi = &dc->b_info;
	libxl_domain_type type = vm->type == XO_VM_PV ? LIBXL_DOMAIN_TYPE_PV :
				 vm->type == XO_VM_PVH ? LIBXL_DOMAIN_TYPE_PVH : LIBXL_DOMAIN_TYPE_HVM;

	libxl_domain_config_init(dc);
	ci->type = type;
	ci->name = xstrdup(vm->name);
	if (libxl_uuid_from_string(&ci->uuid, vm->uuid) != 0)
		return xo_errf(e, XO_E_INVALID, "invalid uuid '%s'", vm->uuid);
	if (type != LIBXL_DOMAIN_TYPE_PV)
		libxl_defbool_set(&ci->hap, platform_bool(vm, "hap", true));
	kvs_to_libxl(&vm->xsdata, &ci->xsdata);
	kvs_to_libxl(&vm->platform, &ci->platformdata);
	libxl_domain_build_info_init_type(bi, type);
	bi->max_vcpus = (int)vm->vcpu_max;
	if (libxl_cpu_bitmap_alloc(x->ctx, &bi->avail_vcpus, (int)vm->vcpu_max) != 0)
		return xl_fail(x, e, XO_E_SYSTEM, "unable to make the vcpu map");
	for (unsigned i = 0; i < vm->vcpus; i++)
		libxl_bitmap_set(&bi->avail_vcpus, (int)i);
	bi->max_memkb = vm->memory_static_max / 1024;
	bi->target_memkb = vm->memory_dynamic_max / 1024;
	if (type == LIBXL_DOMAIN_TYPE_HVM) {
		bi->u.hvm.boot = xstrdup(vm->boot_order ? vm->boot_order : "cd");
		libxl_defbool_set(&bi->u.hvm.acpi_s3, platform_bool(vm, "acpi_s3", false));
		libxl_defbool_set(&bi->u.hvm.acpi_s4, platform_bool(vm, "acpi_s4", false));
	} else {
		if (vm->kernel)
			bi->kernel = xstrdup(vm->kernel);
		if (vm->ramdisk)
			bi->ramdisk = xstrdup(vm->ramdisk);
		bi->cmdline = xstrdup(vm->cmdline ? vm->cmdline : "");
		if (type == LIBXL_DOMAIN_TYPE_PV && vm->bootloader && !vm->kernel)
			bi->bootloader = xstrdup(vm->bootloader);
	}
	/* a stopped guest stays, with its reason, for check-state (xo applies on_*) */
	dc->on_poweroff = dc->on_reboot = dc->on_watchdog = dc->on_crash = dc->on_soft_reset =
		LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	return 0;
}

static int xl_vm_create(struct xo_ctx *c, xo_err *e)
{
	struct xl *x = XL(c->b);
	const struct xo_vm *vm = &c->vm;
	libxl_domain_config dc;
	struct xo_extra ex;
	uint32_t d;
	int r;

	if (xl_check(c->b, vm, &c->d, e) < 0 || xo_vm_check_files(vm, e) < 0)
		return -1;
	r = find_domain(x, vm->uuid, &d, NULL, e);
	if (r < 0)
		return -1;
	if (r > 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s already has a domain (domid %u)", vm->name, d);
	if (xo_memory_reserve(c->b, vm->uuid, xo_vm_reserve_kib(vm), e) < 0)
		return -1;
	memset(&ex, 0, sizeof(ex));
	ex.domid = -1;
	ex.create_time = xo_wallclock();
	ex.built = true;           /* libxl builds in the same call */
	ex.type = vm->type;
	ex.kernel = vm->kernel ? xstrdup(vm->kernel) : NULL;
	ex.ramdisk = vm->ramdisk ? xstrdup(vm->ramdisk) : NULL;
	ex.cmdline = xstrdup(vm->cmdline ? vm->cmdline : "");
	ex.static_max_kib = vm->memory_static_max / 1024;
	ex.target_kib = vm->memory_dynamic_max / 1024;
	ex.vcpus = vm->vcpus;
	ex.max_vcpus = vm->vcpu_max;
	xo_extra_backend_set_str(&ex, "action_request", "poweroff");
	if (xo_extra_save(vm->uuid, &ex, e) < 0)
		goto fail;
	if (domain_config(x, vm, &dc, e) < 0) {
		libxl_domain_config_dispose(&dc);
		goto fail;
	}
	r = libxl_domain_create_new(x->ctx, &dc, &d, NULL, NULL);
	libxl_domain_config_dispose(&dc);
	if (r != 0) {
		xl_fail(x, e, XO_E_SYSTEM, "libxl could not create the domain of vm %s", vm->name);
		goto fail;    /* libxl destroys what it made when it fails */
	}
	ex.domid = (int)d;
	if (xo_extra_save(vm->uuid, &ex, e) < 0) {
		xo_extra_free(&ex);
		return -1;    /* the domain exists: the caller's cleanup destroys it */
	}
	xo_memory_release(vm->uuid);
	xo_extra_free(&ex);
	xo_updates_emit("vm", vm->uuid);
	return 0;
fail:
	xo_memory_release(vm->uuid);
	xo_extra_remove(vm->uuid);
	xo_extra_free(&ex);
	return -1;
}

/* ---------------------------------------------------------------- devices */

static void disk_config(const struct xo_vbd *v, const char *path, libxl_device_disk *disk)
{
	libxl_device_disk_init(disk);
	disk->pdev_path = xstrdup(path);
	disk->vdev = xstrdup(v->name);
	disk->format = LIBXL_DISK_FORMAT_RAW;
	/* phy with the block script: a file gets a loop device, a block device is itself */
	disk->backend = LIBXL_DISK_BACKEND_PHY;
	disk->script = xstrdup("block");
	disk->readwrite = v->mode == XO_VBD_RW;
	disk->removable = v->unpluggable;
}

static int xl_vbd_plug(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e)
{
	struct xl *x = XL(c->b);
	libxl_device_disk disk;
	struct xo_vm_live l;
	struct xo_dev_live s;
	char id[XO_RES_ID_MAX + 1], *path;
	uint32_t d;
	int r;

	if (need_domain(c, &d, e) < 0 || xl_vm_live(c->b, &c->vm, &l, e) < 0 ||
	    xl_vbd_live(c->b, &c->vm, &l, v, &s, e) < 0)
		return -1;
	if (s.plugged)
		return xo_errf(e, XO_E_EXISTS, "vbd %s of vm %s is plugged already", v->name, c->vm.name);
	if (!v->backend[0])
		return xo_errf(e, XO_E_INVALID, "vbd %s of vm %s is empty: the libxl backend plugs disks only",
			       v->name, c->vm.name);
	path = xo_vbd_params(c->vm.uuid, v);
	snprintf(id, sizeof(id), "loop.vbd.%ld", xo_vbd_devid(v->name));
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && xo_res_loop(c->vm.uuid, id, path, e) < 0) {
		free(path);
		return -1;
	}
	disk_config(v, path, &disk);
	free(path);
	r = libxl_device_disk_add(x->ctx, d, &disk, NULL);
	libxl_device_disk_dispose(&disk);
	if (r != 0)
		return xl_fail(x, e, XO_E_HOTPLUG, "libxl could not add vbd %s of vm %s", v->name, c->vm.name);
	xo_updates_emit2("vbd", c->vm.uuid, v->name);
	return 0;
}

static int xl_vbd_unplug(struct xo_ctx *c, const struct xo_vbd *v, bool force, xo_err *e)
{
	struct xl *x = XL(c->b);
	libxl_device_disk disk;
	struct xo_vm_live l;
	struct xo_dev_live s;
	char id[XO_RES_ID_MAX + 1];

	if (xl_vm_live(c->b, &c->vm, &l, e) < 0 || xl_vbd_live(c->b, &c->vm, &l, v, &s, e) < 0)
		return -1;
	snprintf(id, sizeof(id), "loop.vbd.%ld", xo_vbd_devid(v->name));
	if (s.plugged) {
		uint32_t d = (uint32_t)l.domid;
		char *path = xo_vbd_params(c->vm.uuid, v);
		disk_config(v, path, &disk);
		free(path);
		int r = force ? libxl_device_disk_destroy(x->ctx, d, &disk, NULL)
			  : libxl_device_disk_remove(x->ctx, d, &disk, NULL);
		libxl_device_disk_dispose(&disk);
		if (r != 0)
			return xl_fail(x, e, XO_E_DETACH_REJECTED, "libxl could not remove vbd %s of vm %s",
				       v->name, c->vm.name);
	}
	/* the block script's remove released the loop device: whatever is left goes */
	if (xo_res_release(c->vm.uuid, id, e) < 0)
		return -1;
	xo_updates_emit2("vbd", c->vm.uuid, v->name);
	return 0;
}

static int nic_config(const struct xo_vif *v, uint32_t d, libxl_device_nic *nic, xo_err *e)
{
	libxl_device_nic_init(nic);
	nic->devid = v->position;
	unsigned m[6];
	if (sscanf(v->mac, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return xo_errf(e, XO_E_INVALID, "invalid mac '%s'", v->mac);
	for (int i = 0; i < 6; i++)
		nic->mac[i] = (uint8_t)m[i];
	if (v->bridge)
		nic->bridge = xstrdup(v->bridge);
	if (v->script)
		nic->script = xstrdup(v->script);
	(void)d;      /* libxl names it vif<domid>.<devid>, as the res record says */
	nic->mtu = (int)v->mtu;
	if (v->rate_kbytes_per_s) {
		unsigned us = v->rate_timeslice_us ? v->rate_timeslice_us : 50000;
		nic->rate_interval_usecs = us;
		nic->rate_bytes_per_interval = v->rate_kbytes_per_s * 1024 * us / 1000000;
	}
	return 0;
}

static int xl_vif_plug(struct xo_ctx *c, const struct xo_vif *v, xo_err *e)
{
	struct xl *x = XL(c->b);
	libxl_device_nic nic;
	struct xo_vm_live l;
	struct xo_dev_live s;
	char id[XO_RES_ID_MAX + 1], ifname[32], pos[16];
	uint32_t d;
	int r;

	if (need_domain(c, &d, e) < 0 || xl_vm_live(c->b, &c->vm, &l, e) < 0 ||
	    xl_vif_live(c->b, &c->vm, &l, v, &s, e) < 0)
		return -1;
	if (s.plugged)
		return xo_errf(e, XO_E_EXISTS, "vif %d of vm %s is plugged already", v->position, c->vm.name);
	snprintf(ifname, sizeof(ifname), "vif%u.%d", d, v->position);
	snprintf(id, sizeof(id), "netdev.vif.%d", v->position);
	if (xo_res_netdev(c->vm.uuid, id, ifname, e) < 0)
		return -1;
	if (nic_config(v, d, &nic, e) < 0) {
		libxl_device_nic_dispose(&nic);
		return -1;
	}
	r = libxl_device_nic_add(x->ctx, d, &nic, NULL);
	libxl_device_nic_dispose(&nic);
	if (r != 0)
		return xl_fail(x, e, XO_E_HOTPLUG, "libxl could not add vif %d of vm %s", v->position,
			       c->vm.name);
	snprintf(pos, sizeof(pos), "%d", v->position);
	xo_updates_emit2("vif", c->vm.uuid, pos);
	return 0;
}

static int xl_vif_unplug(struct xo_ctx *c, const struct xo_vif *v, bool force, xo_err *e)
{
	struct xl *x = XL(c->b);
	libxl_device_nic nic;
	struct xo_vm_live l;
	struct xo_dev_live s;
	char id[XO_RES_ID_MAX + 1], pos[16];

	if (xl_vm_live(c->b, &c->vm, &l, e) < 0 || xl_vif_live(c->b, &c->vm, &l, v, &s, e) < 0)
		return -1;
	if (s.plugged) {
		if (nic_config(v, (uint32_t)l.domid, &nic, e) < 0) {
			libxl_device_nic_dispose(&nic);
			return -1;
		}
		int r = force ? libxl_device_nic_destroy(x->ctx, (uint32_t)l.domid, &nic, NULL)
			  : libxl_device_nic_remove(x->ctx, (uint32_t)l.domid, &nic, NULL);
		libxl_device_nic_dispose(&nic);
		if (r != 0)
			return xl_fail(x, e, XO_E_DETACH_REJECTED, "libxl could not remove vif %d of vm %s",
				       v->position, c->vm.name);
	}
	snprintf(id, sizeof(id), "netdev.vif.%d", v->position);
	if (xo_res_release(c->vm.uuid, id, e) < 0)
		return -1;
	snprintf(pos, sizeof(pos), "%d", v->position);
	xo_updates_emit2("vif", c->vm.uuid, pos);
	return 0;
}

static int xl_pci_plug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e)
{
	struct xl *x = XL(c->b);
	libxl_device_pci pci;
	uint32_t d;
	char pos[16];
	int r;

	if (need_domain(c, &d, e) < 0)
		return -1;
	if (pci_plugged(x, d, p))
		return xo_errf(e, XO_E_EXISTS, "pci device %s of vm %s is plugged already", p->address,
			       c->vm.name);
	if (pci_parse(p, &pci, e) < 0)
		return -1;
	/* libxl takes it from its driver (pciback) and remembers the driver to give it back */
	r = libxl_device_pci_assignable_add(x->ctx, &pci, 1);
	if (r == 0)
		r = libxl_device_pci_add(x->ctx, d, &pci, NULL);
	libxl_device_pci_dispose(&pci);
	if (r != 0)
		return xl_fail(x, e, XO_E_HOTPLUG, "libxl could not pass pci device %s through to vm %s",
			       p->address, c->vm.name);
	snprintf(pos, sizeof(pos), "%d", p->position);
	xo_updates_emit2("pci", c->vm.uuid, pos);
	return 0;
}

static int xl_pci_unplug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e)
{
	struct xl *x = XL(c->b);
	libxl_device_pci pci;
	uint32_t d;
	char pos[16];
	int r = find_domain(x, c->vm.uuid, &d, NULL, e);

	if (r < 0)
		return -1;
	if (pci_parse(p, &pci, e) < 0)
		return -1;
	if (r > 0 && pci_plugged(x, d, p) && libxl_device_pci_remove(x->ctx, d, &pci, NULL) != 0) {
		libxl_device_pci_dispose(&pci);
		return xl_fail(x, e, XO_E_DETACH_REJECTED, "libxl could not remove pci device %s of vm %s",
			       p->address, c->vm.name);
	}
	libxl_device_pci_assignable_remove(x->ctx, &pci, 1);
	x->log.first[0] = x->log.last[0] = '\0';
	libxl_device_pci_dispose(&pci);
	snprintf(pos, sizeof(pos), "%d", p->position);
	xo_updates_emit2("pci", c->vm.uuid, pos);
	return 0;
}

/* ---------------------------------------------------------------- action request, lifecycle */

static int xl_set_action_request(struct xo_ctx *c, const char *request, xo_err *e)
{
	struct xo_extra ex;
	int r;

	if (xo_extra_load(c->vm.uuid, &ex, e) < 0 || ex.domid == 0) {
		if (!e->cls || e->cls == XO_E_NOT_FOUND)
			xo_errf(e, XO_E_POWER_STATE, "vm %s has no domain", c->vm.name);
		xo_extra_free(&ex);
		return -1;
	}
	xo_extra_backend_set_str(&ex, "action_request", request);
	r = xo_extra_save(c->vm.uuid, &ex, e);
	xo_extra_free(&ex);
	if (r == 0)
		xo_updates_emit("vm", c->vm.uuid);
	return r;
}

static int pause_unpause(struct xo_ctx *c, bool pause, xo_err *e)
{
	struct xl *x = XL(c->b);
	libxl_dominfo di;
	uint32_t d;
	int r = find_domain(x, c->vm.uuid, &d, &di, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no domain)", c->vm.name);
	bool paused = di.paused;
	libxl_dominfo_dispose(&di);
	if (pause == paused)
		return 0;
	r = pause ? libxl_domain_pause(x->ctx, d, NULL) : libxl_domain_unpause(x->ctx, d, NULL);
	if (r != 0)
		return xl_fail(x, e, XO_E_SYSTEM, "libxl could not %s vm %s", pause ? "pause" : "unpause",
			       c->vm.name);
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

static int xl_vm_pause(struct xo_ctx *c, xo_err *e)
{
	return pause_unpause(c, true, e);
}

static int xl_vm_unpause(struct xo_ctx *c, xo_err *e)
{
	return pause_unpause(c, false, e);
}

struct down_wait {
	struct xl *x;
	uint32_t domid;
};

static int down_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct down_wait *w = arg;
	libxl_dominfo di;
	int r = 1;

	(void)xs;
	(void)e;
	libxl_dominfo_init(&di);
	if (libxl_domain_info(w->x->ctx, &di, w->domid) == 0)
		r = di.shutdown || di.dying ? 1 : 0;
	w->x->log.first[0] = w->x->log.last[0] = '\0';
	libxl_dominfo_dispose(&di);
	return r;
}

/* libxl writes control/shutdown (a PV guest, or an HVM guest with PV drivers; else the
 * ACPI power button) and xo waits for the domain to shut down */
static int xl_vm_shutdown(struct xo_ctx *c, const char *request, int timeout_ms, xo_err *e)
{
	struct xl *x = XL(c->b);
	libxl_dominfo di;
	uint32_t d;
	int r = find_domain(x, c->vm.uuid, &d, &di, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	bool down = di.shutdown || di.dying;
	libxl_dominfo_dispose(&di);
	if (down)
		return 0;
	if (strcmp(request, "suspend") == 0)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "the libxl backend cannot suspend a guest (xl save can)");
	r = strcmp(request, "reboot") == 0 ? libxl_domain_reboot(x->ctx, d, NULL)
					   : libxl_domain_shutdown(x->ctx, d, NULL);
	if (r != 0)
		return xl_fail(x, e, XO_E_SHUTDOWN_ACK, "libxl could not ask vm %s to %s", c->vm.name, request);
	struct down_wait w = { x, d };
	int total = timeout_ms > 0 ? timeout_ms : 60000;
	struct xo_xs_wait dw = { .paths = { "@releaseDomain" }, .cond = down_cond, .arg = &w,
				 .timeout_ms = total, .timeout_cls = XO_E_SHUTDOWN_TIMEOUT,
				 .what = "the domain to shut down", .cancel = &c->cancel, .extra_fd = -1 };
	if (xo_xs_wait(x->xs, &dw, e) < 0) {
		if (e->cls == XO_E_SHUTDOWN_TIMEOUT)
			xo_errf(e, XO_E_SHUTDOWN_TIMEOUT, "vm %s did not shut down within %d ms", c->vm.name,
				total);
		return -1;
	}
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

/* libxl_domain_destroy: its devices (their remove scripts run), its device model, the
 * domain and its xenstore trees */
static int xl_vm_destroy(struct xo_ctx *c, bool keep_build, xo_err *e)
{
	struct xl *x = XL(c->b);
	uint32_t d;
	int r = find_domain(x, c->vm.uuid, &d, NULL, e);

	if (r < 0)
		return -1;
	if (r > 0 && libxl_domain_destroy(x->ctx, d, NULL) != 0) {
		libxl_dominfo di;
		libxl_dominfo_init(&di);
		bool gone = libxl_domain_info(x->ctx, &di, d) != 0;
		libxl_dominfo_dispose(&di);
		if (!gone)
			return xl_fail(x, e, XO_E_SYSTEM, "libxl could not destroy the domain of vm %s",
				       c->vm.name);
		x->log.first[0] = x->log.last[0] = '\0';
	}
	xo_memory_release(c->vm.uuid);
	xo_extra_domain_gone(c->vm.uuid, keep_build, "action_request");
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

/* ---------------------------------------------------------------- events */

#define MAX_DOMID 0x7ff0

struct xo_events {
	struct xl *x;
	struct xs_handle *xs;        /* its own: the watches' descriptor is the watcher's */
	uint8_t *state;              /* per domid: 0 none, 1 running, 2 stopped */
	char (*was)[XO_UUID_LEN + 1];   /* per domid: the handle it had, for one that went away */
	bool first;
};

static int xl_events_open(struct xo_backend *b, struct xo_events **out, xo_err *e)
{
	struct xo_events *ev = xcalloc(1, sizeof(*ev));

	ev->x = XL(b);
	ev->xs = xs_open(0);
	if (!ev->xs || !xs_watch(ev->xs, "@releaseDomain", "r") || !xs_watch(ev->xs, "@introduceDomain", "i")) {
		xo_err_sys(e, errno, "unable to watch xenstore for domains");
		if (ev->xs)
			xs_close(ev->xs);
		free(ev);
		return -1;
	}
	ev->state = xcalloc(MAX_DOMID, 1);
	ev->was = xcalloc(MAX_DOMID, sizeof(*ev->was));
	ev->first = true;
	*out = ev;
	return 0;
}

static int xl_events_fd(struct xo_events *ev)
{
	return xs_fileno(ev->xs);
}

static int xl_events_next(struct xo_events *ev, xo_event_fn fn, void *arg, xo_err *e)
{
	char **w;
	int nd = 0;
	uint8_t *now = xcalloc(MAX_DOMID, 1);
	char (*uuid)[XO_UUID_LEN + 1] = xcalloc(MAX_DOMID, sizeof(*uuid));

	while ((w = xs_check_watch(ev->xs)))
		free(w);
	libxl_dominfo *all = libxl_list_domain(ev->x->ctx, &nd);
	if (!all) {
		free(now);
		free(uuid);
		return xl_fail(ev->x, e, XO_E_SYSTEM, "unable to list the domains");
	}
	for (int i = 0; i < nd; i++) {
		uint32_t d = all[i].domid;
		if (d == 0 || d >= MAX_DOMID)
			continue;
		now[d] = all[i].shutdown || all[i].dying ? 2 : 1;
		xo_uuid_format(libxl_uuid_bytearray(&all[i].uuid), uuid[d]);
	}
	libxl_dominfo_list_free(all, nd);
	/* a domain that stopped or went away: its VM may need check-state (the watcher ignores
	 * uuids that are not xo's); one that vanished is named by the uuid it had */
	for (uint32_t d = 1; d < MAX_DOMID; d++) {
		if (now[d] != ev->state[d] && !ev->first && (now[d] == 2 || now[d] == 0) && ev->state[d])
			fn(now[d] ? uuid[d] : ev->was[d], now[d] ? "shutdown" : "gone", arg);
		ev->state[d] = now[d];
		if (now[d])
			memcpy(ev->was[d], uuid[d], sizeof(ev->was[d]));
	}
	ev->first = false;
	free(now);
	free(uuid);
	return 0;
}

static void xl_events_close(struct xo_events *ev)
{
	xs_close(ev->xs);
	free(ev->state);
	free(ev->was);
	free(ev);
}

/* ---------------------------------------------------------------- consoles, host */

static int xl_console_tty(struct xo_backend *b, const struct xo_vm *vm, int timeout_ms, char **tty,
			  xo_err *e)
{
	struct xl *x = XL(b);
	uint32_t d;
	char *path = NULL;
	int r = find_domain(x, vm->uuid, &d, NULL, e);

	(void)timeout_ms;
	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no console)", vm->name);
	if (libxl_console_get_tty(x->ctx, d, 0, vm->type == XO_VM_HVM ? LIBXL_CONSOLE_TYPE_SERIAL
								 : LIBXL_CONSOLE_TYPE_PV, &path) != 0)
		return xl_fail(x, e, XO_E_NOT_FOUND, "vm %s has no console yet (is xenconsoled running?)",
			       vm->name);
	*tty = xstrdup(path);
	free(path);
	return 0;
}

static int xl_console_log(struct xo_backend *b, const struct xo_vm *vm, char **path, xo_err *e)
{
	struct stat st;

	(void)b;
	*path = xasprintf("/var/log/xen/console/guest-%s.log", vm->name);
	if (stat(*path, &st) < 0) {
		xo_errf(e, XO_E_NOT_FOUND, "vm %s has no console log: '%s' does not exist (xenconsoled "
			"writes it only with --log=guest)", vm->name, *path);
		free(*path);
		*path = NULL;
		return -1;
	}
	return 0;
}

static int xl_host_info(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e)
{
	struct xl *x = XL(b);
	libxl_physinfo pi;

	libxl_physinfo_init(&pi);
	if (libxl_get_physinfo(x->ctx, &pi) != 0) {
		libxl_physinfo_dispose(&pi);
		return xl_fail(x, e, XO_E_SYSTEM, "unable to read the host's memory");
	}
	out->total_kib = pi.total_pages * 4;
	out->free_kib = pi.free_pages * 4;
	out->nr_cpus = pi.nr_cpus;
	libxl_physinfo_dispose(&pi);
	return 0;
}

static const struct xo_backend_ops ops = {
	.name = "libxl",
	.reboot_delay_s = 15,
	.open = xl_open,
	.close = xl_close,
	.check = xl_check,
	.vm_live = xl_vm_live,
	.vbd_live = xl_vbd_live,
	.vif_live = xl_vif_live,
	.pci_live = xl_pci_live,
	.vm_create = xl_vm_create,
	.vbd_plug = xl_vbd_plug,
	.vbd_unplug = xl_vbd_unplug,
	.vif_plug = xl_vif_plug,
	.vif_unplug = xl_vif_unplug,
	.pci_plug = xl_pci_plug,
	.pci_unplug = xl_pci_unplug,
	.set_action_request = xl_set_action_request,
	.vm_pause = xl_vm_pause,
	.vm_unpause = xl_vm_unpause,
	.vm_shutdown = xl_vm_shutdown,
	.vm_destroy = xl_vm_destroy,
	.events_open = xl_events_open,
	.events_fd = xl_events_fd,
	.events_next = xl_events_next,
	.events_close = xl_events_close,
	.console_tty = xl_console_tty,
	.console_log = xl_console_log,
	.host_info = xl_host_info,
};

__attribute__((visibility("default"))) const struct xo_backend_module xo_backend_module = {
	.abi = XO_BACKEND_ABI,
	.ops = &ops,
};
