/*
 * domain.c: create, build, find and destroy a VM's domain (see domain.h).
 *
 * The xenstore layout follows xenopsd's Domain.make and build_post (see
 * xo.7): /local/domain/<d> read-only for the guest with the guest-owned
 * subdirectories device, control, data, ...; /vm/<uuid> with the domain
 * list; dom0-only toolstack data under /xo/domain/<d>; the platform and
 * xsdata keys; action-request=poweroff until the start completes. After
 * the build: memory, store and console keys, then XS_INTRODUCE.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "domain.h"
#include "json.h"
#include "memory.h"
#include "state.h"
#include "updates.h"
#include "xs.h"

void xo_domain_path(uint32_t domid, char *buf, size_t size)
{
	snprintf(buf, size, "/local/domain/%u", domid);
}

/* ---------------------------------------------------------------- the extra record */

void xo_extra_free(struct xo_extra *x)
{
	free(x->kernel);
	free(x->ramdisk);
	free(x->cmdline);
	memset(x, 0, sizeof(*x));
}

static struct json_object *extra_to_json(const struct xo_extra *x)
{
	struct json_object *o = json_object_new_object();

	xo_json_add_int(o, "domid", x->domid);
	xo_json_add_double(o, "create_time", x->create_time);
	xo_json_add_bool(o, "built", x->built);
	xo_json_add_bool(o, "rebooting", x->rebooting);
	xo_json_add_int(o, "dm_pid", x->dm_pid);
	if (x->built) {
		struct json_object *b = json_object_new_object();
		xo_json_add_str(b, "type", xo_vm_type_name(x->type));
		if (x->kernel)
			xo_json_add_str(b, "kernel", x->kernel);
		if (x->ramdisk)
			xo_json_add_str(b, "ramdisk", x->ramdisk);
		if (x->cmdline)
			xo_json_add_str(b, "cmdline", x->cmdline);
		xo_json_add_int(b, "static_max_kib", (int64_t)x->static_max_kib);
		xo_json_add_int(b, "target_kib", (int64_t)x->target_kib);
		xo_json_add_int(b, "vcpus", x->vcpus);
		xo_json_add_int(b, "max_vcpus", x->max_vcpus);
		xo_json_add_int(b, "store_port", x->br.store_port);
		xo_json_add_int(b, "console_port", x->br.console_port);
		xo_json_add_int(b, "store_mfn", (int64_t)x->br.store_mfn);
		xo_json_add_int(b, "console_mfn", (int64_t)x->br.console_mfn);
		json_object_object_add(o, "build", b);
	}
	return o;
}

static int64_t jint(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string))
		return xstrdup(json_object_get_string(v));
	return NULL;
}

int xo_extra_load(const char *uuid, struct xo_extra *x, xo_err *e)
{
	char path[80], *text;
	size_t len;
	struct json_object *o, *b, *v;

	memset(x, 0, sizeof(*x));
	if (xo_state_open(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "VM/%s/extra", uuid);
	if (xo_read_file(xo_state_fd(), path, &text, &len, e) < 0)
		return -1;
	o = xo_json_parse(text, len, "domain record", e);
	free(text);
	if (!o)
		return -1;
	x->domid = (int)jint(o, "domid");
	if (json_object_object_get_ex(o, "create_time", &v))
		x->create_time = json_object_get_double(v);
	if (json_object_object_get_ex(o, "built", &v))
		x->built = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "rebooting", &v))
		x->rebooting = json_object_get_boolean(v);
	x->dm_pid = (int)jint(o, "dm_pid");
	if (json_object_object_get_ex(o, "build", &b)) {
		char *t = jstr(b, "type");
		xo_err ignore;
		if (t)
			xo_vm_type_parse(t, &x->type, &ignore);
		free(t);
		x->kernel = jstr(b, "kernel");
		x->ramdisk = jstr(b, "ramdisk");
		x->cmdline = jstr(b, "cmdline");
		x->static_max_kib = (uint64_t)jint(b, "static_max_kib");
		x->target_kib = (uint64_t)jint(b, "target_kib");
		x->vcpus = (unsigned)jint(b, "vcpus");
		x->max_vcpus = (unsigned)jint(b, "max_vcpus");
		x->br.store_port = (uint32_t)jint(b, "store_port");
		x->br.console_port = (uint32_t)jint(b, "console_port");
		x->br.store_mfn = (uint64_t)jint(b, "store_mfn");
		x->br.console_mfn = (uint64_t)jint(b, "console_mfn");
	}
	json_object_put(o);
	return 0;
}

int xo_extra_save(const char *uuid, const struct xo_extra *x, xo_err *e)
{
	char path[80];
	struct json_object *o = extra_to_json(x);
	char *s = xo_json_dump(o, false);
	int r;

	json_object_put(o);
	if (xo_state_open(e) < 0) {
		free(s);
		return -1;
	}
	snprintf(path, sizeof(path), "VM/%s/extra", uuid);
	r = xo_atomic_write(xo_state_fd(), path, s, strlen(s), 0, e);
	free(s);
	return r;
}

void xo_extra_remove(const char *uuid)
{
	char path[80];
	xo_err ignore;

	if (xo_state_open(&ignore) < 0)
		return;
	snprintf(path, sizeof(path), "VM/%s/extra", uuid);
	unlinkat(xo_state_fd(), path, 0);
}

/* ---------------------------------------------------------------- finding the domain */

static bool handle_is(const struct xo_dominfo *di, const char *uuid)
{
	uint8_t u[16];
	return xo_uuid_parse(uuid, u) == 0 && memcmp(u, di->handle, 16) == 0;
}

int xo_vm_find_domain(struct xo_backend *b, const char *uuid, uint32_t *domid,
		      struct xo_dominfo *info, xo_err *e)
{
	struct xo_extra x;
	struct xo_dominfo di;
	xo_err ignore;

	if (xo_extra_load(uuid, &x, &ignore) < 0)
		return ignore.cls == XO_E_NOT_FOUND ? 0 : xo_errf(e, ignore.cls, "%s", ignore.msg);
	int known = x.domid;
	xo_extra_free(&x);
	if (known == 0)
		return 0;     /* a build record kept across a reboot, no domain */
	if (known > 0) {
		if (xo_dom_info(b, (uint32_t)known, &di, &ignore) < 0) {
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
	struct xo_dominfo *all = NULL;
	size_t n = 0;
	if (xo_dom_list(b, &all, &n, e) < 0)
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

uint64_t xo_vm_reserve_kib(const struct xo_vm *vm)
{
	return vm->memory_dynamic_max / 1024 + XO_MEMORY_OVERHEAD_KIB;
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
	static const char *const guest_rw[] = { "device", "device/vbd", "device/vif", "feature",
		"error", "drivers", "control", "attr", "data", "messages", "vm-data", NULL };
	char unique[XO_UUID_LEN + 1];

	xo_domain_path(d, dom, sizeof(dom));
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
	snprintf(p, sizeof(p), "%s/cpu", dom);
	if (xo_xs_mkdir(xs, t, p, &ro, e) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/memory", dom);
	if (xo_xs_mkdir(xs, t, p, &ro, e) < 0)
		return -1;
	for (const char *const *g = guest_rw; *g; g++) {
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
	if (xo_xs_printf(xs, t, p, e, "%llu", (unsigned long long)(vm->memory_dynamic_max / 1024)) < 0)
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

	xo_domain_path(d, dom, sizeof(dom));
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

int xo_domain_create(struct xo_backend *b, const struct xo_vm *vm, uint32_t *domid, xo_err *e)
{
	struct xo_domain_create_args a;
	struct xo_extra x;
	uint32_t d;
	int r;

	r = xo_vm_find_domain(b, vm->uuid, &d, NULL, e);
	if (r < 0)
		return -1;
	if (r > 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s already has a domain (domid %u)", vm->name, d);
	if (xo_memory_reserve(b, vm->uuid, xo_vm_reserve_kib(vm), e) < 0)
		return -1;
	memset(&x, 0, sizeof(x));
	x.domid = -1;
	x.create_time = xo_wallclock();
	if (xo_extra_save(vm->uuid, &x, e) < 0)
		goto fail;
	memset(&a, 0, sizeof(a));
	xo_uuid_parse(vm->uuid, a.uuid);
	a.type = vm->type;
	a.hap = vm->type != XO_VM_PV && platform_bool(vm, "hap", true);
	a.max_vcpus = vm->vcpu_max;
	a.max_grant_frames = platform_uint(vm, "max_grant_frames", 64);
	a.max_maptrack_frames = platform_uint(vm, "max_maptrack_frames", 1024);
	a.max_memory_kib = vm->memory_static_max / 1024 + XO_MEMORY_OVERHEAD_KIB;
	if (xo_dom_create(b, &a, &d, e) < 0)
		goto fail;
	x.domid = (int)d;
	if (xo_extra_save(vm->uuid, &x, e) < 0) {
		xo_err ignore;
		xo_dom_destroy(b, d, &ignore);
		goto fail;
	}
	struct layout l = { vm, d };
	if (create_roots(b->xs, vm, d, e) < 0 || xo_xs_transaction(b->xs, create_layout, &l, e) < 0)
		return -1;   /* the domain exists: the caller's cleanup destroys it */
	*domid = d;
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
	const struct xo_build_result *br;
	uint64_t target_kib;
};

static int build_post(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	const struct post *p = arg;
	char dom[64], k[160];
	static const char *const console_keys[] = { "limit", "type", "output", NULL };
	static const char *const console_vals[] = { "1048576", "xenconsoled", "pty", NULL };

	xo_domain_path(p->domid, dom, sizeof(dom));
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
	snprintf(k, sizeof(k), "/libxl/%u/type", p->domid);
	return xo_xs_write(xs, t, k, p->vm->type == XO_VM_HVM ? "hvm" : p->vm->type == XO_VM_PVH ? "pvh" : "pv", e);
}

int xo_domain_build(struct xo_backend *b, const struct xo_vm *vm, xo_err *e)
{
	struct xo_extra x;
	struct xo_domain_build_args a;
	struct xo_build_result br;
	uint32_t d;
	int r = -1;

	if (xo_extra_load(vm->uuid, &x, e) < 0) {
		if (e->cls == XO_E_NOT_FOUND)
			xo_errf(e, XO_E_POWER_STATE, "vm %s has no domain: create it first", vm->name);
		return -1;
	}
	if (x.domid <= 0) {
		xo_errf(e, XO_E_POWER_STATE, "vm %s has no domain: create it first", vm->name);
		goto out;
	}
	d = (uint32_t)x.domid;
	if (x.built) {
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
	a.memory_target_kib = vm->memory_dynamic_max / 1024;
	a.vcpus = vm->vcpus;
	a.max_vcpus = vm->vcpu_max;
	if (vm->type != XO_VM_HVM && vm->bootloader && !vm->kernel) {
		xo_errf(e, XO_E_INVALID, "vm %s boots with bootloader '%s': bootloaders are not supported yet; give a kernel",
			vm->name, vm->bootloader);
		goto out;
	}
	if (xo_dom_build(b, d, &a, &br, e) < 0)
		goto out;
	struct post p = { d, vm, &br, a.memory_target_kib };
	if (xo_xs_transaction(b->xs, build_post, &p, e) < 0)
		goto out;
	if (!xs_introduce_domain(b->xs, d, (unsigned long)br.store_mfn, br.store_port)) {
		xo_err_sys(e, errno, "xenstore introduce of domain %u", d);
		goto out;
	}
	x.built = true;
	x.type = vm->type;
	x.kernel = vm->kernel ? xstrdup(vm->kernel) : NULL;
	x.ramdisk = vm->ramdisk ? xstrdup(vm->ramdisk) : NULL;
	x.cmdline = xstrdup(a.cmdline);
	x.static_max_kib = a.memory_max_kib;
	x.target_kib = a.memory_target_kib;
	x.vcpus = a.vcpus;
	x.max_vcpus = a.max_vcpus;
	x.br = br;
	if (xo_extra_save(vm->uuid, &x, e) < 0)
		goto out;
	/* the hypervisor now accounts for the memory: the reservation has done its job */
	xo_memory_release(vm->uuid);
	xo_updates_emit("vm", vm->uuid);
	r = 0;
out:
	xo_extra_free(&x);
	return r;
}

int xo_domain_set_action_request(struct xo_backend *b, const struct xo_vm *vm, const char *request,
				 xo_err *e)
{
	uint32_t d;
	char p[96];
	int r = xo_vm_find_domain(b, vm->uuid, &d, NULL, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s has no domain", vm->name);
	snprintf(p, sizeof(p), "/local/domain/%u/action-request", d);
	if (request)
		r = xo_xs_write(b->xs, XBT_NULL, p, request, e);
	else
		r = xo_xs_rm(b->xs, XBT_NULL, p, e);
	if (r == 0)
		xo_updates_emit("vm", vm->uuid);
	return r;
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

int xo_domain_destroy(struct xo_backend *b, const struct xo_vm *vm, bool keep_extra, xo_err *e)
{
	static const char *const kinds[] = { "vbd", "vbd3", "qdisk", "vif", "pci", "console", "vfb",
		"vkbd", NULL };
	uint32_t d;
	int r = xo_vm_find_domain(b, vm->uuid, &d, NULL, e);

	if (r < 0)
		return -1;
	if (r == 0) {
		/* the domain is gone already (it died, or someone destroyed it): its
		 * backends may still be in xenstore, holding loop devices and taps; its
		 * domid is ours to clean only if no other domain took it since */
		struct xo_extra x;
		xo_err ignore;
		if (xo_extra_load(vm->uuid, &x, &ignore) == 0) {
			char p[64];
			snprintf(p, sizeof(p), "/local/domain/%d", x.domid);
			if (x.domid > 0 && !xo_xs_exists(b->xs, XBT_NULL, p)) {
				d = (uint32_t)x.domid;
				r = 1;
			}
			xo_extra_free(&x);
		}
	}
	if (r > 0) {
		struct xo_extra x;
		xo_err ignore;
		if (xo_extra_load(vm->uuid, &x, &ignore) == 0) {
			if (x.dm_pid && b->ops->dm_stop)
				b->ops->dm_stop(b, d, &ignore);
			xo_extra_free(&x);
		}
		xo_device_release_all(b, vm, d);
		if (xo_dom_destroy(b, d, e) < 0 && e->cls != XO_E_NOT_FOUND)
			return -1;
		rm_quiet(b->xs, "/local/domain/%u", d);
		rm_quiet(b->xs, "/xo/domain/%u", d);
		rm_quiet(b->xs, "/libxl/%u", d);
		rm_quiet(b->xs, "/vm/%s/domains/%u", vm->uuid, d);
		rm_quiet(b->xs, "/local/domain/0/device-model/%u", d);
		for (const char *const *k = kinds; *k; k++) {
			rm_quiet(b->xs, "/local/domain/0/backend/%s/%u", *k, d);
			rm_quiet(b->xs, "/local/domain/0/error/backend/%s/%u", *k, d);
		}
	}
	xo_memory_release(vm->uuid);
	if (keep_extra) {
		struct xo_extra x;
		xo_err ignore;
		if (xo_extra_load(vm->uuid, &x, &ignore) == 0) {
			x.domid = 0;
			x.dm_pid = 0;
			x.rebooting = true;
			xo_extra_save(vm->uuid, &x, &ignore);
			xo_extra_free(&x);
		}
	} else {
		xo_extra_remove(vm->uuid);
		rm_quiet(b->xs, "/vm/%s", vm->uuid);
		rm_quiet(b->xs, "/xo/vm/%s", vm->uuid);
	}
	xo_updates_emit("vm", vm->uuid);
	return 0;
}
