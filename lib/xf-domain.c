/*
 * xf-domain.c: the Xen family's domains: find, create, build, the action
 * request, pause, shutdown, the device model and the domain's destruction
 * (see xf.h).
 *
 * The xenstore layout follows xenopsd's Domain.make and build_post (see
 * xo.7) with libxl's permissions: /local/domain/<d>, its device and control
 * read-only for the guest, which owns data, error, ... and only the control
 * and device nodes its drivers answer in; /vm/<uuid> with the domain
 * list; dom0-only toolstack data under /xo/domain/<d>; the platform and
 * xsdata keys; action-request=poweroff until the start completes. After
 * the build: memory, store and console keys, then XS_INTRODUCE.
 *
 * The runtime record (extra.h) is written with domid -1 before the create
 * hypercall, so a crash right after it can still find the domain by its
 * handle. Its backend object holds the build's event channels and ring
 * frames and the device model's pid.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extra.h"
#include "memory.h"
#include "state.h"
#include "updates.h"
#include "xf.h"

void xf_domain_path(uint32_t domid, char *buf, size_t size)
{
	snprintf(buf, size, "/local/domain/%u", domid);
}

/* ---------------------------------------------------------------- finding the domain */

static bool handle_is(const struct xf_dominfo *di, const char *uuid)
{
	uint8_t u[16];
	return xo_uuid_parse(uuid, u) == 0 && memcmp(u, di->handle, 16) == 0;
}

int xf_find_domain(struct xf *x, const char *uuid, uint32_t *domid, struct xf_dominfo *info,
		   xo_err *e)
{
	struct xo_extra ex;
	struct xf_dominfo di;
	xo_err ignore;

	if (xo_extra_load(uuid, &ex, &ignore) < 0)
		return ignore.cls == XO_E_NOT_FOUND ? 0 : xo_errf(e, ignore.cls, "%s", ignore.msg);
	int known = ex.domid;
	xo_extra_free(&ex);
	if (known == 0)
		return 0;     /* a build record kept across a reboot, no domain */
	if (known > 0) {
		if (xf_dom_info(x, (uint32_t)known, &di, &ignore) < 0) {
			if (ignore.cls == XO_E_NOT_FOUND)
				return 0;
			*e = ignore;
			return -1;
		}
		if (!handle_is(&di, uuid))
			return 0;     /* the domid was reused by another VM */
		*domid = (uint32_t)known;
		if (info)
			*info = di;
		return 1;
	}
	/* a create was in flight when xo died: look for the domain by its handle (rare path) */
	struct xf_dominfo *all = NULL;
	size_t n = 0;
	if (xf_dom_list(x, &all, &n, e) < 0)
		return -1;
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		if (all[i].domid != 0 && handle_is(&all[i], uuid)) {
			*domid = all[i].domid;
			if (info)
				*info = all[i];
			found = 1;
			break;
		}
	}
	free(all);
	return found;
}

int xf_need_domain(struct xf *x, const struct xo_vm *vm, uint32_t *domid, xo_err *e)
{
	int r = xf_find_domain(x, vm->uuid, domid, NULL, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no domain)", vm->name);
	return 0;
}

/* the hard affinity of every vcpu, as xl's vcpu-pin all; map NULL: every cpu */
int xf_apply_affinity(struct xf *x, uint32_t d, unsigned vcpus, const uint8_t *map, xo_err *e)
{
	uint8_t all[XO_CPUMAP_BYTES];
	struct xo_hostinfo hi;

	if (x->hv->host_info(x, &hi, e) < 0)
		return -1;
	if (!map) {
		memset(all, 0, sizeof(all));
		for (unsigned c = 0; c < hi.nr_cpus && c < XO_CPUS_MAX; c++)
			all[c / 8] |= (uint8_t)(1u << (c % 8));
		map = all;
	} else {
		bool any = false;
		for (unsigned c = 0; c < hi.nr_cpus && c < XO_CPUS_MAX && !any; c++)
			any = map[c / 8] & (1u << (c % 8));
		if (!any) {
			char list[256];
			xo_cpulist_format(map, XO_CPUS_MAX, list, sizeof(list));
			return xo_errf(e, XO_E_INVALID, "the affinity %s names none of the host's cpus "
				       "(it has %u: 0-%u)", list, hi.nr_cpus, hi.nr_cpus - 1);
		}
	}
	for (unsigned v = 0; v < vcpus; v++)
		if (xf_vcpu_set_affinity(x, d, v, map, e) < 0)
			return -1;
	return 0;
}

/* ---------------------------------------------------------------- create */

struct layout {
	const struct xo_vm *vm;
	uint32_t domid;
};

static int create_layout(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	const struct layout *l = arg;
	const struct xo_vm *vm = l->vm;
	uint32_t d = l->domid;
	char dom[64], p[512], vmp[96];
	struct xo_xs_perms ro = xo_xs_perm_ro(d), rw = xo_xs_perm_rw(d), z = xo_xs_perm_dom0();
	/* as libxl__domain_make: the guest reads device/ and control/ and writes only the nodes
	 * its drivers answer in (its frontends' own directories come with each plug) */
	static const char *const guest_ro[] = { "cpu", "memory", "device", "device/vbd",
		"device/vif", "control", NULL };
	static const char *const guest_rw[] = { "feature", "error", "drivers", "attr", "data",
		"messages", "vm-data", "device/suspend/event-channel", "control/shutdown",
		"control/feature-poweroff", "control/feature-reboot", "control/feature-suspend",
		"control/sysrq", NULL };
	static const char *const guest_rw_hvm[] = { "control/feature-s3", "control/feature-s4",
		NULL };
	char unique[XO_UUID_LEN + 1];

	xf_domain_path(d, dom, sizeof(dom));
	snprintf(vmp, sizeof(vmp), "/vm/%s", vm->uuid);
	if (xo_xs_mkdir(xs, t, dom, &ro, e) < 0)
		return -1;
	snprintf(p, sizeof(p), "/xo/domain/%u/device", d);
	if (xo_xs_mkdir(xs, t, p, &z, e) < 0)
		return -1;
	/* a no-op mkdir when /vm/<uuid> exists (create_roots made it): the transaction then
	 * only writes, and goes to xenstored as one batch */
	if (xo_xs_mkdir(xs, t, vmp, &ro, e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/uuid", vmp);
	if (xo_xs_write(xs, t, p, vm->uuid, e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/name", vmp);
	if (xo_xs_write(xs, t, p, vm->name, e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/domains/%u", vmp, d);
	if (xo_xs_write(xs, t, p, dom, e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/domains/%u/create-time", vmp, d);
	if (xo_xs_printf(xs, t, p, e, "%llu", (unsigned long long)xo_now_ns()) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/vm", dom);
	if (xo_xs_write(xs, t, p, vmp, e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/name", dom);
	if (xo_xs_write(xs, t, p, vm->name, e) < 0)
		return -1;
	for (const char *const *g = guest_ro; *g; g++) {
		snprintf(p, sizeof(p), "%s/%s", dom, *g);
		if (xo_xs_mkdir(xs, t, p, &ro, e) < 0)
			return -1;
	}
	for (const char *const *g = guest_rw; *g; g++) {
		snprintf(p, sizeof(p), "%s/%s", dom, *g);
		if (xo_xs_mkdir(xs, t, p, &rw, e) < 0)
			return -1;
	}
	for (const char *const *g = guest_rw_hvm; vm->type == XO_VM_HVM && *g; g++) {
		snprintf(p, sizeof(p), "%s/%s", dom, *g);
		if (xo_xs_mkdir(xs, t, p, &rw, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < vm->xsdata.n; i++) {
		snprintf(p, sizeof(p), "%s/%s", dom, vm->xsdata.v[i].k);
		if (xo_xs_write(xs, t, p, vm->xsdata.v[i].v, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < vm->platform.n; i++) {
		snprintf(p, sizeof(p), "%s/platform/%s", dom, vm->platform.v[i].k);
		if (xo_xs_write(xs, t, p, vm->platform.v[i].v, e) < 0)
			return -1;
	}
	snprintf(p, sizeof(p), "%s/platform/acpi_s3", dom);
	if (!xo_kvs_get(&vm->platform, "acpi_s3") && xo_xs_write(xs, t, p, "0", e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/platform/acpi_s4", dom);
	if (!xo_kvs_get(&vm->platform, "acpi_s4") && xo_xs_write(xs, t, p, "0", e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/platform/vcpu/number", dom);
	if (xo_xs_printf(xs, t, p, e, "%u", vm->vcpu_max) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/platform/vcpu/current", dom);
	if (xo_xs_printf(xs, t, p, e, "%u", vm->vcpus) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/control/platform-feature-multiprocessor-suspend", dom);
	if (xo_xs_write(xs, t, p, "1", e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/control/platform-feature-xs_reset_watches", dom);
	if (xo_xs_write(xs, t, p, "1", e) < 0)
		return -1;
	xo_uuid_generate(unique);
	snprintf(p, sizeof(p), "%s/unique-domain-id", dom);
	if (xo_xs_write(xs, t, p, unique, e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/memory/initial-target", dom);
	if (xo_xs_printf(xs, t, p, e, "%llu", (unsigned long long)(xo_vm_memory_target(vm) / 1024)) < 0)
		return -1;
	for (unsigned i = 0; i < vm->vcpu_max; i++) {
		snprintf(p, sizeof(p), "%s/cpu/%u/availability", dom, i);
		if (xo_xs_write(xs, t, p, i < vm->vcpus ? "online" : "offline", e) < 0)
			return -1;
	}
	snprintf(p, sizeof(p), "%s/domain-type", dom);
	if (xo_xs_write(xs, t, p, vm->type == XO_VM_HVM ? "hvm" : vm->type == XO_VM_PVH ? "pvh" : "pv",
			e) < 0)
		return -1;
	/* the crash-safety marker, in the same transaction as the directory itself */
	snprintf(p, sizeof(p), "%s/action-request", dom);
	return xo_xs_write(xs, t, p, "poweroff", e);
}

/* the new children of directories every start shares (/local/domain, /xo/domain,
 * /libxl, /vm) are made before the transaction: in it they would change a parent that
 * every concurrent start's transaction also changes, and C xenstored would make all
 * but one of them retry. The first write makes the domain's directory and its
 * crash-safety marker at once (a start that dies after it leaves a domain that
 * xo-vm-check-state shuts down). A stale directory of an earlier domain with the
 * same domid goes first. */
static int create_roots(struct xs_handle *xs, const struct xo_vm *vm, uint32_t d, xo_err *e)
{
	char dom[64], p[96];

	xf_domain_path(d, dom, sizeof(dom));
	snprintf(p, sizeof(p), "%s/action-request", dom);
	if (xo_xs_rm(xs, XBT_NULL, dom, e) < 0 || xo_xs_write(xs, XBT_NULL, p, "poweroff", e) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), i ? "/libxl/%u" : "/xo/domain/%u", d);
		if (xo_xs_rm(xs, XBT_NULL, p, e) < 0 || xo_xs_mkdir(xs, XBT_NULL, p, NULL, e) < 0)
			return -1;
	}
	/* mkdir of a node that exists changes nothing */
	snprintf(p, sizeof(p), "/vm/%s", vm->uuid);
	return xo_xs_mkdir(xs, XBT_NULL, p, NULL, e);
}

static bool platform_bool(const struct xo_vm *vm, const char *k, bool dflt)
{
	const char *v = xo_kvs_get(&vm->platform, k);
	if (!v)
		return dflt;
	return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

static unsigned platform_uint(const struct xo_vm *vm, const char *k, unsigned dflt)
{
	const char *v = xo_kvs_get(&vm->platform, k);
	unsigned u;
	return v && xo_parse_uint(v, 1u << 24, &u) == 0 ? u : dflt;
}

int xf_vm_create(struct xo_ctx *c, xo_err *e)
{
	struct xf *x = XF(c->b);
	const struct xo_vm *vm = &c->vm;
	struct xf_create_args a;
	struct xo_extra ex;
	uint32_t d;
	int r;

	r = xf_find_domain(x, vm->uuid, &d, NULL, e);
	if (r < 0)
		return -1;
	if (r > 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s already has a domain (domid %u)", vm->name, d);
	if (xo_memory_reserve(c->b, vm->uuid, xo_vm_reserve_kib(vm), e) < 0)
		return -1;
	memset(&ex, 0, sizeof(ex));
	ex.domid = -1;
	ex.create_time = xo_wallclock();
	if (xo_extra_save(vm->uuid, &ex, e) < 0)
		goto fail;
	memset(&a, 0, sizeof(a));
	xo_uuid_parse(vm->uuid, a.uuid);
	a.type = vm->type;
	a.hap = vm->type != XO_VM_PV && platform_bool(vm, "hap", true);
	a.max_vcpus = vm->vcpu_max;
	a.max_grant_frames = platform_uint(vm, "max_grant_frames", 64);
	a.max_maptrack_frames = platform_uint(vm, "max_maptrack_frames", 1024);
	a.max_memory_kib = vm->memory_static_max / 1024 + XO_MEMORY_OVERHEAD_KIB;
	a.target_kib = xo_vm_memory_target(vm) / 1024 + XO_MEMORY_OVERHEAD_KIB;
	if (xf_dom_create(x, &a, &d, e) < 0)
		goto fail;
	ex.domid = (int)d;
	if (xo_extra_save(vm->uuid, &ex, e) < 0) {
		xo_err ignore;
		xf_dom_destroy(x, d, &ignore);
		goto fail;
	}
	/* the vcpus' hard affinity, before anything runs (libxl's build_pre) */
	if (vm->affinity) {
		uint8_t map[XO_CPUMAP_BYTES];
		if (xo_cpulist_parse(vm->affinity, map, "affinity", e) < 0 ||
		    xf_apply_affinity(x, d, vm->vcpu_max, map, e) < 0)
			return -1;   /* the domain exists: the caller's cleanup destroys it */
	}
	struct layout l = { vm, d };
	if (create_roots(x->xs, vm, d, e) < 0 || xo_xs_transaction(x->xs, create_layout, &l, e) < 0)
		return -1;   /* the domain exists: the caller's cleanup destroys it */
	xo_updates_emit("vm", vm->uuid);
	return 0;
fail:
	xo_memory_release(vm->uuid);
	xo_extra_remove(vm->uuid);
	return -1;
}

/* ---------------------------------------------------------------- build */

struct post {
	uint32_t domid;
	const struct xo_vm *vm;
	const struct xf_build_result *br;
	uint64_t target_kib;
	double start_time;
};

static int build_post(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	const struct post *p = arg;
	char dom[64], k[160];
	static const char *const console_keys[] = { "limit", "type", "output", NULL };
	static const char *const console_vals[] = { "1048576", "xenconsoled", "pty", NULL };

	xf_domain_path(p->domid, dom, sizeof(dom));
	snprintf(k, sizeof(k), "%s/memory/static-max", dom);
	if (xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)(p->vm->memory_static_max / 1024)) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/memory/target", dom);
	if (xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)p->target_kib) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/memory/dynamic-min", dom);
	if (xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)(p->vm->memory_dynamic_min / 1024)) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/memory/dynamic-max", dom);
	if (xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)(p->vm->memory_dynamic_max / 1024)) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/domid", dom);
	if (xo_xs_printf(xs, t, k, e, "%u", p->domid) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/store/port", dom);
	if (xo_xs_printf(xs, t, k, e, "%u", p->br->store_port) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/store/ring-ref", dom);
	if (xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)p->br->store_mfn) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/console/port", dom);
	if (xo_xs_printf(xs, t, k, e, "%u", p->br->console_port) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/console/ring-ref", dom);
	if (xo_xs_printf(xs, t, k, e, "%llu", (unsigned long long)p->br->console_mfn) < 0)
		return -1;
	for (int i = 0; console_keys[i]; i++) {
		snprintf(k, sizeof(k), "%s/console/%s", dom, console_keys[i]);
		if (xo_xs_write(xs, t, k, console_vals[i], e) < 0)
			return -1;
	}
	snprintf(k, sizeof(k), "%s/serial/0/limit", dom);
	if (xo_xs_write(xs, t, k, "65536", e) < 0)
		return -1;
	/* xl uptime: libxl_vm_get_start_time reads /vm/<uuid>/start_time (libxl__domain_build
	 * writes seconds.centiseconds); xo's is when the domain was created, as in stat */
	snprintf(k, sizeof(k), "/vm/%s/start_time", p->vm->uuid);
	long long sec = (long long)p->start_time;
	if (xo_xs_printf(xs, t, k, e, "%lld.%02d", sec, (int)((p->start_time - (double)sec) * 100)) < 0)
		return -1;
	snprintf(k, sizeof(k), "/libxl/%u/type", p->domid);
	return xo_xs_write(xs, t, k, p->vm->type == XO_VM_HVM ? "hvm" : p->vm->type == XO_VM_PVH ? "pvh" : "pv", e);
}

int xf_vm_build(struct xo_ctx *c, xo_err *e)
{
	struct xf *x = XF(c->b);
	const struct xo_vm *vm = &c->vm;
	struct xo_extra ex;
	struct xf_build_args a;
	struct xf_build_result br;
	uint32_t d;
	struct xf_boot boot = { 0 };
	char *cmdline = NULL;
	int r = -1;

	if (xo_extra_load(vm->uuid, &ex, e) < 0) {
		if (e->cls == XO_E_NOT_FOUND)
			xo_errf(e, XO_E_POWER_STATE, "vm %s has no domain: create it first", vm->name);
		return -1;
	}
	if (ex.domid <= 0) {
		xo_errf(e, XO_E_POWER_STATE, "vm %s has no domain: create it first", vm->name);
		goto out;
	}
	d = (uint32_t)ex.domid;
	if (ex.built) {
		xo_errf(e, XO_E_POWER_STATE, "the domain of vm %s (domid %u) is already built", vm->name, d);
		goto out;
	}
	if (xo_vm_check_files(vm, e) < 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.type = vm->type;
	a.kernel = vm->kernel;
	a.ramdisk = vm->ramdisk;
	a.cmdline = vm->cmdline ? vm->cmdline : "";
	a.memory_max_kib = vm->memory_static_max / 1024;
	a.memory_target_kib = xo_vm_memory_target(vm) / 1024;
	a.vcpus = vm->vcpus;
	a.max_vcpus = vm->vcpu_max;
	if (vm->type != XO_VM_HVM && vm->bootloader && !vm->kernel) {
		if (xf_boot_run(c, &boot, e) < 0)
			goto out;
		a.kernel = boot.kernel;
		a.ramdisk = boot.ramdisk;
		/* the entry's arguments, then the VM's own (as xl's extra) */
		cmdline = xasprintf("%s%s%s", boot.args ? boot.args : "",
				    boot.args && vm->cmdline ? " " : "", vm->cmdline ? vm->cmdline : "");
		a.cmdline = cmdline;
	}
	int br_r = xf_dom_build(x, d, &a, &br, e);
	if (boot.kernel)
		xf_boot_clean(vm->uuid);
	if (br_r < 0)
		goto out;
	struct post p = { d, vm, &br, a.memory_target_kib, ex.create_time };
	if (xo_xs_transaction(x->xs, build_post, &p, e) < 0)
		goto out;
	if (xf_userdata_write(x, vm, c->devices_broken ? NULL : &c->d, d, e) < 0)
		goto out;
	if (!xs_introduce_domain(x->xs, d, (unsigned long)br.store_mfn, br.store_port)) {
		xo_err_sys(e, errno, "xenstore introduce of domain %u", d);
		goto out;
	}
	ex.built = true;
	ex.type = vm->type;
	ex.kernel = vm->kernel ? xstrdup(vm->kernel) : NULL;
	ex.ramdisk = vm->ramdisk ? xstrdup(vm->ramdisk) : NULL;
	ex.cmdline = xstrdup(a.cmdline);
	ex.static_max_kib = a.memory_max_kib;
	ex.target_kib = a.memory_target_kib;
	ex.vcpus = a.vcpus;
	ex.max_vcpus = a.max_vcpus;
	xo_extra_backend_set_int(&ex, "store_port", br.store_port);
	xo_extra_backend_set_int(&ex, "console_port", br.console_port);
	xo_extra_backend_set_int(&ex, "store_mfn", (int64_t)br.store_mfn);
	xo_extra_backend_set_int(&ex, "console_mfn", (int64_t)br.console_mfn);
	if (xo_extra_save(vm->uuid, &ex, e) < 0)
		goto out;
	/* the hypervisor now accounts for the memory: the reservation has done its job */
	xo_memory_release(vm->uuid);
	xo_updates_emit("vm", vm->uuid);
	r = 0;
out:
	xf_boot_free(&boot);
	free(cmdline);
	xo_extra_free(&ex);
	return r;
}

/* ---------------------------------------------------------------- action request */

int xf_set_action_request(struct xo_ctx *c, const char *request, xo_err *e)
{
	struct xf *x = XF(c->b);
	uint32_t d;
	char p[96];
	int r = xf_find_domain(x, c->vm.uuid, &d, NULL, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s has no domain", c->vm.name);
	snprintf(p, sizeof(p), "/local/domain/%u/action-request", d);
	if (request)
		r = xo_xs_write(x->xs, XBT_NULL, p, request, e);
	else
		r = xo_xs_rm(x->xs, XBT_NULL, p, e);
	if (r == 0)
		xo_updates_emit("vm", c->vm.uuid);
	return r;
}

/* ---------------------------------------------------------------- pause, shutdown */

static int pause_unpause(struct xo_ctx *c, bool pause, xo_err *e)
{
	struct xf *x = XF(c->b);
	struct xf_dominfo di;
	uint32_t d;
	int r = xf_find_domain(x, c->vm.uuid, &d, &di, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no domain)", c->vm.name);
	if (pause ? di.paused : !di.paused)
		return 0;
	r = pause ? xf_dom_pause(x, d, e) : xf_dom_unpause(x, d, e);
	if (r == 0)
		xo_updates_emit("vm", c->vm.uuid);
	return r;
}

int xf_vm_pause(struct xo_ctx *c, xo_err *e)
{
	return pause_unpause(c, true, e);
}

int xf_vm_unpause(struct xo_ctx *c, xo_err *e)
{
	return pause_unpause(c, false, e);
}

/* xenopsd's VM_shutdown_domain: ask the guest through control/shutdown, wait for it to
 * acknowledge (the key is cleared), then for the domain to shut down */
struct shutdown_wait {
	struct xf *x;
	uint32_t domid;
	char key[96];
	unsigned reason;
};

static int ack_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct shutdown_wait *w = arg;
	char v[32];
	struct xf_dominfo di;

	(void)e;
	if (xf_dom_info(w->x, w->domid, &di, e) < 0 || di.shutdown || di.dying)
		return 1;     /* gone or down already counts as an answer */
	if (!xo_xs_read_buf(xs, XBT_NULL, w->key, v, sizeof(v)) || !v[0])
		return 1;
	return 0;
}

static int down_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct shutdown_wait *w = arg;
	struct xf_dominfo di;
	xo_err ignore;

	(void)xs;
	(void)e;
	if (xf_dom_info(w->x, w->domid, &di, &ignore) < 0)
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
	const char *req = w->reason == XO_SHUTDOWN_REBOOT ? "reboot" :
			  w->reason == XO_SHUTDOWN_SUSPEND ? "suspend" : "poweroff";
	struct xo_xs_perms rw = xo_xs_perm_rw(w->domid);
	/* the guest answers in the key: it stays the guest's (control/ itself is dom0's) */
	if (xo_xs_write(xs, t, w->key, req, e) < 0)
		return -1;
	return xo_xs_set_perms(xs, t, w->key, &rw, e);
}

int xf_vm_shutdown(struct xo_ctx *c, const char *request, int timeout_ms, xo_err *e)
{
	struct xf *x = XF(c->b);
	struct shutdown_wait w = { .x = x };
	struct xf_dominfo di;
	uint32_t d;
	int r = xf_find_domain(x, c->vm.uuid, &d, &di, e);

	if (r < 0)
		return -1;
	if (r == 0 || di.shutdown)
		return 0;
	w.domid = d;
	if (strcmp(request, "reboot") == 0)
		w.reason = XO_SHUTDOWN_REBOOT;
	else if (strcmp(request, "suspend") == 0)
		w.reason = XO_SHUTDOWN_SUSPEND;
	else if (strcmp(request, "poweroff") == 0 || strcmp(request, "halt") == 0)
		w.reason = XO_SHUTDOWN_POWEROFF;
	else
		return xo_errf(e, XO_E_INVALID, "invalid shutdown request '%s'", request);
	snprintf(w.key, sizeof(w.key), "/local/domain/%u/control/shutdown", d);
	if (xo_xs_transaction(x->xs, request_shutdown, &w, e) < 0)
		return -1;
	/* the guest must acknowledge within min(60 s, timeout) (xenopsd's rule) */
	int total = timeout_ms > 0 ? timeout_ms : 60000;
	int ack_ms = total < 60000 ? total : 60000;
	uint64_t t0 = xo_now_ms();
	struct xo_xs_wait aw = { .paths = { w.key, "@releaseDomain" }, .cond = ack_cond, .arg = &w,
				 .timeout_ms = ack_ms, .timeout_cls = XO_E_SHUTDOWN_ACK,
				 .what = "the guest to acknowledge the shutdown request",
				 .cancel = &c->cancel, .extra_fd = -1 };
	if (xo_xs_wait(x->xs, &aw, e) < 0) {
		if (e->cls == XO_E_SHUTDOWN_ACK)
			xo_errf(e, XO_E_SHUTDOWN_ACK,
				"vm %s did not acknowledge the %s request within %d ms", c->vm.name,
				request, ack_ms);
		return -1;
	}
	int left = total - (int)(xo_now_ms() - t0);
	struct xo_xs_wait dw = { .paths = { "@releaseDomain" }, .cond = down_cond, .arg = &w,
				 .timeout_ms = left > 0 ? left : 0, .timeout_cls = XO_E_SHUTDOWN_TIMEOUT,
				 .what = "the domain to shut down", .cancel = &c->cancel,
				 .extra_fd = -1 };
	if (xo_xs_wait(x->xs, &dw, e) < 0) {
		if (e->cls == XO_E_SHUTDOWN_TIMEOUT)
			xo_errf(e, XO_E_SHUTDOWN_TIMEOUT, "vm %s did not shut down within %d ms",
				c->vm.name, total);
		return -1;
	}
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

/* ---------------------------------------------------------------- device model */

bool xf_needs_dm(const struct xo_vm *vm)
{
	return vm->type == XO_VM_HVM || (vm->type == XO_VM_PV && vm->framebuffer);
}

int xf_dm_start(struct xo_ctx *c, xo_err *e)
{
	struct xf *x = XF(c->b);
	struct xf_dm_args a;
	struct xo_extra ex;
	uint32_t d;
	int pid = 0;
	char qmp[128], log[4096], serial[4096];

	if (xf_need_domain(x, &c->vm, &d, e) < 0)
		return -1;
	if (!x->hv->dm_start)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "the %s backend has no device model", c->b->ops->name);
	memset(&a, 0, sizeof(a));
	a.type = c->vm.type;
	a.name = c->vm.name;
	a.uuid = c->vm.uuid;
	a.memory_kib = c->vm.memory_dynamic_max / 1024;
	a.vcpus = c->vm.vcpus;
	a.max_vcpus = c->vm.vcpu_max;
	a.boot_order = c->vm.boot_order ? c->vm.boot_order : "cd";
	a.framebuffer = c->vm.framebuffer;
	snprintf(qmp, sizeof(qmp), "%s/VM/%s/qmp", xo_state_dir(), c->vm.uuid);
	snprintf(log, sizeof(log), "%s/VM/%s/qemu.log", xo_state_dir(), c->vm.uuid);
	a.qmp_path = qmp;
	a.log_path = log;
	snprintf(serial, sizeof(serial), "%s/VM/%s/serial.log", xo_state_dir(), c->vm.uuid);
	if (c->vm.type == XO_VM_HVM)
		a.serial_log = serial;
	struct xf_dm_disk disks[4];
	struct xf_dm_nic *nics = NULL;
	if (c->vm.type == XO_VM_HVM && !c->devices_broken) {
		for (size_t i = 0; i < c->d.n_vbd && a.ndisks < 4; i++) {
			const struct xo_vbd *v = &c->d.vbd[i];
			int idx = xo_vbd_disk_index(v->name);
			if (idx < 0 || idx > 3 || v->type == XO_VBD_FLOPPY ||
			    (!v->backend[0] && v->type != XO_VBD_CDROM))
				continue;   /* beyond the ide controller: pv only, as libxl */
			disks[a.ndisks++] = (struct xf_dm_disk){ v->backend, idx,
				v->type == XO_VBD_CDROM, v->mode == XO_VBD_RO };
		}
		nics = xcalloc(c->d.n_vif ? c->d.n_vif : 1, sizeof(*nics));
		for (size_t i = 0; i < c->d.n_vif; i++) {
			const struct xo_vif *v = &c->d.vif[i];
			if (v->position < 0 || !v->mac[0])
				continue;
			nics[a.nnics++] = (struct xf_dm_nic){ v->position, v->mac, v->bridge, v->mtu };
		}
	}
	a.disks = disks;
	a.nics = nics;
	int sr = x->hv->dm_start(x, d, &a, &pid, e);
	free(nics);
	if (sr < 0)
		return -1;
	if (xo_extra_load(c->vm.uuid, &ex, e) < 0)
		return -1;
	xo_extra_backend_set_int(&ex, "dm_pid", pid);
	int r = xo_extra_save(c->vm.uuid, &ex, e);
	xo_extra_free(&ex);
	return r;
}

int xf_dm_stop_domain(struct xf *x, const char *uuid, uint32_t d, xo_err *e)
{
	struct xo_extra ex;
	int r;

	if (xo_extra_load(uuid, &ex, e) < 0)
		return e->cls == XO_E_NOT_FOUND ? 0 : -1;
	if (!xo_extra_backend_int(&ex, "dm_pid")) {
		xo_extra_free(&ex);
		return 0;
	}
	r = x->hv->dm_stop ? x->hv->dm_stop(x, uuid, d, e) : 0;
	if (r == 0) {
		xo_extra_backend_set_int(&ex, "dm_pid", 0);
		r = xo_extra_save(uuid, &ex, e);
	}
	xo_extra_free(&ex);
	return r;
}

int xf_dm_stop(struct xo_ctx *c, xo_err *e)
{
	struct xf *x = XF(c->b);
	uint32_t d;

	if (xf_find_domain(x, c->vm.uuid, &d, NULL, e) <= 0)
		return 0;
	return xf_dm_stop_domain(x, c->vm.uuid, d, e);
}

/* ---------------------------------------------------------------- destroy */

static void rm_quiet(struct xs_handle *xs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rm_quiet(struct xs_handle *xs, const char *fmt, ...)
{
	char p[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	xo_xs_rm(xs, XBT_NULL, p, NULL);
}

int xf_destroy_target(struct xf *x, const char *uuid, uint32_t *domid, xo_err *e)
{
	struct xo_extra ex;
	struct xf_dominfo di;
	char p[64], v[128], mine[64];
	xo_err ignore;
	int r = xf_find_domain(x, uuid, domid, NULL, e);

	if (r != 0)
		return r;
	/* the domain is gone already (it died, or a destroy was cut short): what it left in
	 * xenstore (backends holding loop devices and taps) is ours to clean, unless its
	 * domid now belongs to another VM's domain */
	if (xo_extra_load(uuid, &ex, &ignore) < 0)
		return 0;
	int d = ex.domid;
	xo_extra_free(&ex);
	if (d <= 0)
		return 0;
	if (xf_dom_info(x, (uint32_t)d, &di, &ignore) == 0 && !handle_is(&di, uuid))
		return 0;
	snprintf(p, sizeof(p), "/local/domain/%d/vm", d);
	snprintf(mine, sizeof(mine), "/vm/%s", uuid);
	if (xo_xs_read_buf(x->xs, XBT_NULL, p, v, sizeof(v)) && strcmp(v, mine) != 0)
		return 0;
	*domid = (uint32_t)d;
	return 1;
}

int xf_domain_teardown(struct xf *x, const char *uuid, uint32_t d, xo_err *e)
{
	static const char *const kinds[] = { "vbd", "vbd3", "qdisk", "vif", "pci", "console", "vfb",
		"vkbd", NULL };
	if (xf_dom_destroy(x, d, e) < 0 && e->cls != XO_E_NOT_FOUND)
		return -1;
	/* the backends first: a crash before the domain's own directory goes still finds them */
	for (const char *const *k = kinds; *k; k++) {
		rm_quiet(x->xs, "/local/domain/0/backend/%s/%u", *k, d);
		rm_quiet(x->xs, "/local/domain/0/error/backend/%s/%u", *k, d);
	}
	rm_quiet(x->xs, "/local/domain/0/device-model/%u", d);
	rm_quiet(x->xs, "/xo/domain/%u", d);
	rm_quiet(x->xs, "/libxl/%u", d);
	xf_userdata_remove(x, uuid, d);
	rm_quiet(x->xs, "/vm/%s/domains/%u", uuid, d);
	rm_quiet(x->xs, "/local/domain/%u", d);
	return 0;
}

void xf_domain_forget(struct xf *x, const char *uuid, bool keep_build)
{
	xo_memory_release(uuid);
	/* a build killed between its bootloader and its end */
	xf_boot_clean(uuid);
	/* the device model went with the domain: its pid is dropped (read as 0) */
	xo_extra_domain_gone(uuid, keep_build, "dm_pid");
	if (!keep_build) {
		rm_quiet(x->xs, "/vm/%s", uuid);
		rm_quiet(x->xs, "/xo/vm/%s", uuid);
	}
	xo_updates_emit("vm", uuid);
}
