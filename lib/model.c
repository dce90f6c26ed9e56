/*
 * model.c: VM, VBD, VIF and PCI configuration, validation and JSON (see model.h).
 *
 * _from_json reads into a struct already _init'ed with defaults, so an
 * absent optional field keeps its default, then runs _check. _to_json writes
 * every field, so the stored form is explicit and reads back identically.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "model.h"

/* ---------------------------------------------------------------- maps */

/* maps are kept sorted by key: lookups are binary searches, a map read from JSON is
 * sorted once (n log n), and the stored form lists keys in one order */
static size_t kvs_find(const struct xo_kvs *m, const char *k, bool *found)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->v[mid].k, k);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

void xo_kvs_set(struct xo_kvs *m, const char *k, const char *v)
{
	bool found;
	size_t i = kvs_find(m, k, &found);

	if (found) {
		free(m->v[i].v);
		m->v[i].v = xstrdup(v);
		return;
	}
	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i].k = xstrdup(k);
	m->v[i].v = xstrdup(v);
	m->n++;
}

const char *xo_kvs_get(const struct xo_kvs *m, const char *k)
{
	bool found;
	size_t i = kvs_find(m, k, &found);
	return found ? m->v[i].v : NULL;
}

void xo_kvs_free(struct xo_kvs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].k);
		free(m->v[i].v);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct xo_kv *)a)->k, ((const struct xo_kv *)b)->k);
}

/* a key usable as a relative xenstore path: [A-Za-z0-9_/@.-], no empty or dot components */
static int key_check(const char *k, const char *what, xo_err *e)
{
	size_t n = strlen(k);

	if (n == 0 || n > 256)
		return xo_errf(e, XO_E_INVALID, "invalid %s key '%s': must be 1 to 256 bytes", what, k);
	if (k[0] == '/' || k[n - 1] == '/' || strstr(k, "//"))
		return xo_errf(e, XO_E_INVALID, "invalid %s key '%s': empty path component", what, k);
	for (const char *p = k; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!isalnum(c) && !strchr("_/@.-", c))
			return xo_errf(e, XO_E_INVALID, "invalid %s key '%s': character 0x%02x not allowed",
				       what, k, c);
	}
	for (const char *p = k; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (p[0] == '.' && (p[1] == '/' || p[1] == '\0' || (p[1] == '.' && (p[2] == '/' || p[2] == '\0'))))
			return xo_errf(e, XO_E_INVALID, "invalid %s key '%s': contains '.' or '..'", what, k);
	}
	return 0;
}

static int value_check(const char *v, const char *k, const char *what, xo_err *e)
{
	if (strlen(v) > 4096)
		return xo_errf(e, XO_E_INVALID, "invalid %s value for '%s': longer than 4096 bytes",
			       what, k);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return xo_errf(e, XO_E_INVALID,
				       "invalid %s value for '%s': contains a control character", what, k);
	return 0;
}

int xo_kvs_set_arg(struct xo_kvs *m, const char *arg, const char *what, xo_err *e)
{
	const char *eq = strchr(arg, '=');
	if (!eq)
		return xo_errf(e, XO_E_INVALID, "invalid %s '%s': expected KEY=VALUE", what, arg);
	char *k = xstrndup(arg, (size_t)(eq - arg));
	int r = key_check(k, what, e);
	if (r == 0)
		r = value_check(eq + 1, k, what, e);
	if (r == 0 && m->n >= XO_KVS_MAX && !xo_kvs_get(m, k))
		r = xo_errf(e, XO_E_INVALID, "invalid %s '%s': more than %d keys", what, k, XO_KVS_MAX);
	if (r == 0)
		xo_kvs_set(m, k, eq + 1);
	free(k);
	return r;
}

static int kvs_from_json(struct json_object *o, const char *key, const char *where,
			 struct xo_kvs *m, xo_err *e)
{
	struct json_object *obj;
	char what[128];
	int r = xo_json_get_object(o, key, where, &obj, e);
	if (r <= 0)
		return r;
	snprintf(what, sizeof(what), "%s %s", where, key);
	xo_kvs_free(m);
	size_t n = (size_t)json_object_object_length(obj);
	if (n > XO_KVS_MAX)
		return xo_errf(e, XO_E_INVALID, "invalid %s: %zu keys, at most %d", what, n, XO_KVS_MAX);
	m->v = xcalloc(n ? n : 1, sizeof(*m->v));
	json_object_object_foreach(obj, k, v) {
		if (!json_object_is_type(v, json_type_string))
			return xo_errf(e, XO_E_INVALID, "invalid %s: value of '%s' must be a string",
				       what, k);
		if (key_check(k, what, e) < 0 || value_check(json_object_get_string(v), k, what, e) < 0)
			return -1;
		m->v[m->n].k = xstrdup(k);
		m->v[m->n].v = xstrdup(json_object_get_string(v));
		m->n++;
	}
	/* json objects have unique keys (xo_json_parse refuses duplicates) */
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), kv_cmp);
	return 1;
}

static struct json_object *kvs_to_json(const struct xo_kvs *m)
{
	struct json_object *o = json_object_new_object();
	for (size_t i = 0; i < m->n; i++)
		xo_json_add_str(o, m->v[i].k, m->v[i].v);
	return o;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

/* a path given to xo: absolute, no control characters */
static int path_check(const char *p, const char *what, xo_err *e)
{
	if (p[0] != '/')
		return xo_errf(e, XO_E_INVALID, "invalid %s '%s': must be an absolute path", what, p);
	if (strlen(p) > 1024)
		return xo_errf(e, XO_E_INVALID, "invalid %s: longer than 1024 bytes", what);
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return xo_errf(e, XO_E_INVALID, "invalid %s: contains a control character", what);
	return 0;
}

/* ---------------------------------------------------------------- names */

static const char *const vm_types[] = { "pv", "pvh", "hvm" };
static const char *const actions[] = { "shutdown", "start", "pause", "coredump" };
static const char *const lock_modes[] = { "unlocked", "locked", "disabled" };
static const char *const vbd_types[] = { "disk", "cdrom", "floppy" };
static const char *const qos_scheds[] = { "none", "idle", "best-effort", "real-time" };

static int lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *xo_vm_type_name(enum xo_vm_type t) { return vm_types[t]; }
const char *xo_action_name(enum xo_action a) { return actions[a]; }
const char *xo_lock_mode_name(enum xo_lock_mode m) { return lock_modes[m]; }
const char *xo_vbd_type_name(enum xo_vbd_type t) { return vbd_types[t]; }

int xo_vm_type_parse(const char *s, enum xo_vm_type *out, xo_err *e)
{
	int i = lookup(vm_types, XO_ARRAY_SIZE(vm_types), s);
	if (i < 0)
		return xo_errf(e, XO_E_INVALID, "invalid vm type '%s': expected pv, pvh or hvm", s);
	*out = (enum xo_vm_type)i;
	return 0;
}

int xo_action_parse(const char *s, enum xo_action *out)
{
	int i = lookup(actions, XO_ARRAY_SIZE(actions), s);
	if (i < 0)
		return -1;
	*out = (enum xo_action)i;
	return 0;
}

int xo_lock_mode_parse(const char *s, enum xo_lock_mode *out, xo_err *e)
{
	int i = lookup(lock_modes, XO_ARRAY_SIZE(lock_modes), s);
	if (i < 0)
		return xo_errf(e, XO_E_INVALID,
			       "invalid locking mode '%s': expected unlocked, locked or disabled", s);
	*out = (enum xo_lock_mode)i;
	return 0;
}

int xo_vbd_mode_parse(const char *s, enum xo_vbd_mode *out, xo_err *e)
{
	if (strcmp(s, "rw") == 0)
		*out = XO_VBD_RW;
	else if (strcmp(s, "ro") == 0)
		*out = XO_VBD_RO;
	else
		return xo_errf(e, XO_E_INVALID, "invalid vbd mode '%s': expected rw or ro", s);
	return 0;
}

int xo_vbd_type_parse(const char *s, enum xo_vbd_type *out, xo_err *e)
{
	int i = lookup(vbd_types, XO_ARRAY_SIZE(vbd_types), s);
	if (i < 0)
		return xo_errf(e, XO_E_INVALID, "invalid vbd type '%s': expected disk, cdrom or floppy",
			       s);
	*out = (enum xo_vbd_type)i;
	return 0;
}

/* ---------------------------------------------------------------- VM */

void xo_vm_init(struct xo_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->type = XO_VM_PV;
	vm->vcpus = 1;
	vm->on_shutdown = XO_ACT_SHUTDOWN;
	vm->on_reboot = XO_ACT_START;
	vm->on_crash = XO_ACT_SHUTDOWN;
}

void xo_vm_free(struct xo_vm *vm)
{
	free(vm->name);
	free(vm->kernel);
	free(vm->ramdisk);
	free(vm->cmdline);
	free(vm->bootloader);
	free(vm->bootloader_args);
	free(vm->boot_order);
	free(vm->affinity);
	xo_kvs_free(&vm->platform);
	xo_kvs_free(&vm->xsdata);
	memset(vm, 0, sizeof(*vm));
}

static int file_check(const char *path, const char *what, xo_err *e)
{
	if (path_check(path, what, e) < 0)
		return -1;
	if (access(path, R_OK) < 0)
		return xo_errf(e, XO_E_INVALID, "%s '%s' is missing or unreadable", what, path);
	return 0;
}

int xo_vm_check_files(const struct xo_vm *vm, xo_err *e)
{
	if (vm->kernel && file_check(vm->kernel, "kernel", e) < 0)
		return -1;
	if (vm->ramdisk && file_check(vm->ramdisk, "ramdisk", e) < 0)
		return -1;
	return 0;
}

static int memory_check(uint64_t v, const char *field, xo_err *e)
{
	if (v < XO_MEMORY_MIN)
		return xo_errf(e, XO_E_INVALID, "invalid memory %s %llu: less than 1 MiB", field,
			       (unsigned long long)v);
	if (v > XO_MEMORY_MAX)
		return xo_errf(e, XO_E_INVALID, "invalid memory %s %llu: more than 16 TiB", field,
			       (unsigned long long)v);
	if (v % 4096)
		return xo_errf(e, XO_E_INVALID, "invalid memory %s %llu: not a multiple of 4 KiB",
			       field, (unsigned long long)v);
	return 0;
}

int xo_vm_check(struct xo_vm *vm, xo_err *e)
{
	if (!vm->name)
		return xo_errf(e, XO_E_INVALID, "invalid vm: a name is required");
	if (xo_name_check(vm->name, "vm name", e) < 0)
		return -1;
	if (vm->uuid[0] && !xo_uuid_valid(vm->uuid))
		return xo_errf(e, XO_E_INVALID, "invalid vm uuid '%s'", vm->uuid);
	if (!vm->memory_static_max)
		return xo_errf(e, XO_E_INVALID, "invalid vm %s: memory is required", vm->name);
	if (!vm->memory_dynamic_max)
		vm->memory_dynamic_max = vm->memory_static_max;
	if (!vm->memory_dynamic_min)
		vm->memory_dynamic_min = vm->memory_dynamic_max;
	if (memory_check(vm->memory_static_max, "static_max", e) < 0 ||
	    memory_check(vm->memory_dynamic_max, "dynamic_max", e) < 0 ||
	    memory_check(vm->memory_dynamic_min, "dynamic_min", e) < 0)
		return -1;
	if (vm->memory_dynamic_min > vm->memory_dynamic_max)
		return xo_errf(e, XO_E_INVALID,
			       "invalid memory: dynamic_min %llu is larger than dynamic_max %llu",
			       (unsigned long long)vm->memory_dynamic_min,
			       (unsigned long long)vm->memory_dynamic_max);
	if (vm->memory_dynamic_max > vm->memory_static_max)
		return xo_errf(e, XO_E_INVALID,
			       "invalid memory: dynamic_max %llu is larger than static_max %llu",
			       (unsigned long long)vm->memory_dynamic_max,
			       (unsigned long long)vm->memory_static_max);
	if (vm->memory_target) {
		if (memory_check(vm->memory_target, "target", e) < 0)
			return -1;
		if (vm->memory_target < vm->memory_dynamic_min ||
		    vm->memory_target > vm->memory_dynamic_max)
			return xo_errf(e, XO_E_INVALID,
				       "invalid memory: target %llu is outside the dynamic range %llu to %llu",
				       (unsigned long long)vm->memory_target,
				       (unsigned long long)vm->memory_dynamic_min,
				       (unsigned long long)vm->memory_dynamic_max);
	}
	if (vm->affinity) {
		uint8_t map[XO_CPUMAP_BYTES];
		char norm[256];
		if (xo_cpulist_parse(vm->affinity, map, "affinity", e) < 0)
			return -1;
		xo_cpulist_format(map, XO_CPUS_MAX, norm, sizeof(norm));
		if (strlen(norm) + 1 >= sizeof(norm))
			return xo_errf(e, XO_E_INVALID, "invalid affinity '%s': too many ranges",
				       vm->affinity);
		char every[16];
		snprintf(every, sizeof(every), "0-%d", XO_CPUS_MAX - 1);
		/* every cpu is no restriction at all */
		if (strcmp(norm, every) == 0) {
			free(vm->affinity);
			vm->affinity = NULL;
		} else {
			set_str(&vm->affinity, norm);
		}
	}
	if (!vm->vcpu_max)
		vm->vcpu_max = vm->vcpus;
	if (vm->vcpus == 0)
		return xo_errf(e, XO_E_INVALID, "invalid vcpus 0: a vm needs at least one");
	if (vm->vcpu_max > XO_VCPUS_MAX)
		return xo_errf(e, XO_E_INVALID, "invalid vcpu_max %u: at most %d", vm->vcpu_max,
			       XO_VCPUS_MAX);
	if (vm->vcpus > vm->vcpu_max)
		return xo_errf(e, XO_E_INVALID, "invalid vcpus %u: more than vcpu_max %u", vm->vcpus,
			       vm->vcpu_max);
	switch (vm->type) {
	case XO_VM_PV:
	case XO_VM_PVH:
		if (vm->boot_order)
			return xo_errf(e, XO_E_INVALID, "invalid boot: 'order' is for hvm vms only");
		if (vm->bootloader && vm->kernel)
			return xo_errf(e, XO_E_INVALID, "invalid boot: give a kernel or a bootloader, not both");
		if (!vm->bootloader && !vm->kernel)
			return xo_errf(e, XO_E_INVALID, "invalid vm %s: a %s vm needs a kernel", vm->name,
				       xo_vm_type_name(vm->type));
		if (vm->kernel && path_check(vm->kernel, "kernel", e) < 0)
			return -1;
		if (vm->ramdisk && path_check(vm->ramdisk, "ramdisk", e) < 0)
			return -1;
		/* "pygrub" (Debian's, from xen-utils) or a bootloader's absolute path */
		if (vm->bootloader && strcmp(vm->bootloader, "pygrub") != 0 &&
		    path_check(vm->bootloader, "bootloader", e) < 0)
			return -1;
		if (vm->bootloader_args && strlen(vm->bootloader_args) > 1024)
			return xo_errf(e, XO_E_INVALID, "invalid bootloader_args: longer than 1024 bytes");
		for (const char *ch = vm->bootloader_args; ch && *ch; ch++)
			if ((unsigned char)*ch < 0x20 || *ch == 0x7f)
				return xo_errf(e, XO_E_INVALID, "invalid bootloader_args: contains a control character");
		if (vm->framebuffer && vm->type == XO_VM_PVH)
			return xo_errf(e, XO_E_INVALID, "invalid vm: framebuffer is for pv vms only");
		break;
	case XO_VM_HVM:
		if (vm->kernel || vm->ramdisk || vm->bootloader)
			return xo_errf(e, XO_E_INVALID, "invalid boot: an hvm vm boots from its disks (give 'order')");
		if (vm->framebuffer)
			return xo_errf(e, XO_E_INVALID, "invalid vm: framebuffer is for pv vms only");
		if (vm->boot_order) {
			if (!*vm->boot_order || strspn(vm->boot_order, "acdn") != strlen(vm->boot_order) ||
			    strlen(vm->boot_order) > 4)
				return xo_errf(e, XO_E_INVALID,
					       "invalid boot order '%s': letters from a, c, d, n", vm->boot_order);
		}
		break;
	}
	for (size_t i = 0; i < vm->xsdata.n; i++) {
		const char *k = vm->xsdata.v[i].k;
		if (!xo_str_startswith(k, "vm-data/") && !xo_str_startswith(k, "FIST/"))
			return xo_errf(e, XO_E_INVALID, "invalid xsdata key '%s': must start with 'vm-data/' or 'FIST/'", k);
	}
	if (vm->cmdline && value_check(vm->cmdline, "cmdline", "boot", e) < 0)
		return -1;
	return 0;
}

static const char *const vm_keys[] = { "uuid", "name", "type", "memory", "vcpus", "vcpu_max",
	"affinity", "boot", "framebuffer", "platform", "xsdata", "on_shutdown", "on_reboot",
	"on_crash", "vbds", "vifs", "pcis", NULL };
static const char *const memory_keys[] = { "static_max", "dynamic_min", "dynamic_max", "target",
	NULL };
static const char *const boot_keys[] = { "kernel", "ramdisk", "cmdline", "bootloader",
	"bootloader_args", "order", NULL };

static int action_from_json(struct json_object *o, const char *key, enum xo_action *out, xo_err *e)
{
	const char *s;
	int r = xo_json_get_string(o, key, "vm", &s, e);
	if (r <= 0)
		return r;
	if (xo_action_parse(s, out) < 0)
		return xo_errf(e, XO_E_INVALID,
			       "invalid vm: field '%s' must be shutdown, start, pause or coredump", key);
	return 1;
}

static int opt_str(struct json_object *o, const char *key, const char *where, char **dst, xo_err *e)
{
	const char *s;
	int r = xo_json_get_string(o, key, where, &s, e);
	if (r > 0)
		set_str(dst, s);
	return r;
}

int xo_vm_from_json(struct json_object *o, struct xo_vm *vm, xo_err *e)
{
	struct json_object *mem, *boot;
	const char *s;
	int r;

	if (xo_json_check_keys(o, vm_keys, "vm", e) < 0)
		return -1;
	if ((r = xo_json_get_string(o, "uuid", "vm", &s, e)) < 0)
		return -1;
	if (r > 0) {
		if (!xo_uuid_valid(s))
			return xo_errf(e, XO_E_INVALID, "invalid vm: field 'uuid' is not a lowercase uuid");
		xo_strlcpy(vm->uuid, s, sizeof(vm->uuid));
	}
	if (opt_str(o, "name", "vm", &vm->name, e) < 0)
		return -1;
	if ((r = xo_json_get_string(o, "type", "vm", &s, e)) < 0)
		return -1;
	if (r > 0 && xo_vm_type_parse(s, &vm->type, e) < 0)
		return -1;
	if ((r = xo_json_get_object(o, "memory", "vm", &mem, e)) < 0)
		return -1;
	if (r > 0) {
		if (xo_json_check_keys(mem, memory_keys, "vm memory", e) < 0 ||
		    xo_json_get_u64(mem, "static_max", "vm memory", XO_MEMORY_MAX, &vm->memory_static_max, e) < 0 ||
		    xo_json_get_u64(mem, "dynamic_min", "vm memory", XO_MEMORY_MAX, &vm->memory_dynamic_min, e) < 0 ||
		    xo_json_get_u64(mem, "dynamic_max", "vm memory", XO_MEMORY_MAX, &vm->memory_dynamic_max, e) < 0 ||
		    xo_json_get_u64(mem, "target", "vm memory", XO_MEMORY_MAX, &vm->memory_target, e) < 0)
			return -1;
	}
	if (xo_json_get_uint(o, "vcpus", "vm", 1u << 20, &vm->vcpus, e) < 0 ||
	    xo_json_get_uint(o, "vcpu_max", "vm", 1u << 20, &vm->vcpu_max, e) < 0 ||
	    opt_str(o, "affinity", "vm", &vm->affinity, e) < 0)
		return -1;
	if ((r = xo_json_get_object(o, "boot", "vm", &boot, e)) < 0)
		return -1;
	if (r > 0) {
		if (xo_json_check_keys(boot, boot_keys, "vm boot", e) < 0 ||
		    opt_str(boot, "kernel", "vm boot", &vm->kernel, e) < 0 ||
		    opt_str(boot, "ramdisk", "vm boot", &vm->ramdisk, e) < 0 ||
		    opt_str(boot, "cmdline", "vm boot", &vm->cmdline, e) < 0 ||
		    opt_str(boot, "bootloader", "vm boot", &vm->bootloader, e) < 0 ||
		    opt_str(boot, "bootloader_args", "vm boot", &vm->bootloader_args, e) < 0 ||
		    opt_str(boot, "order", "vm boot", &vm->boot_order, e) < 0)
			return -1;
	}
	if (xo_json_get_bool(o, "framebuffer", "vm", &vm->framebuffer, e) < 0 ||
	    kvs_from_json(o, "platform", "vm", &vm->platform, e) < 0 ||
	    kvs_from_json(o, "xsdata", "vm", &vm->xsdata, e) < 0 ||
	    action_from_json(o, "on_shutdown", &vm->on_shutdown, e) < 0 ||
	    action_from_json(o, "on_reboot", &vm->on_reboot, e) < 0 ||
	    action_from_json(o, "on_crash", &vm->on_crash, e) < 0)
		return -1;
	return xo_vm_check(vm, e);
}

struct json_object *xo_vm_to_json(const struct xo_vm *vm)
{
	struct json_object *o = json_object_new_object();
	struct json_object *mem = json_object_new_object();
	struct json_object *boot = json_object_new_object();

	xo_json_add_str(o, "uuid", vm->uuid);
	xo_json_add_str(o, "name", vm->name);
	xo_json_add_str(o, "type", xo_vm_type_name(vm->type));
	xo_json_add_int(mem, "static_max", (int64_t)vm->memory_static_max);
	xo_json_add_int(mem, "dynamic_min", (int64_t)vm->memory_dynamic_min);
	xo_json_add_int(mem, "dynamic_max", (int64_t)vm->memory_dynamic_max);
	if (vm->memory_target)
		xo_json_add_int(mem, "target", (int64_t)vm->memory_target);
	json_object_object_add(o, "memory", mem);
	xo_json_add_int(o, "vcpus", vm->vcpus);
	xo_json_add_int(o, "vcpu_max", vm->vcpu_max);
	if (vm->affinity)
		xo_json_add_str(o, "affinity", vm->affinity);
	if (vm->kernel)
		xo_json_add_str(boot, "kernel", vm->kernel);
	if (vm->ramdisk)
		xo_json_add_str(boot, "ramdisk", vm->ramdisk);
	if (vm->cmdline)
		xo_json_add_str(boot, "cmdline", vm->cmdline);
	if (vm->bootloader)
		xo_json_add_str(boot, "bootloader", vm->bootloader);
	if (vm->bootloader_args)
		xo_json_add_str(boot, "bootloader_args", vm->bootloader_args);
	if (vm->boot_order)
		xo_json_add_str(boot, "order", vm->boot_order);
	json_object_object_add(o, "boot", boot);
	xo_json_add_bool(o, "framebuffer", vm->framebuffer);
	json_object_object_add(o, "platform", kvs_to_json(&vm->platform));
	json_object_object_add(o, "xsdata", kvs_to_json(&vm->xsdata));
	xo_json_add_str(o, "on_shutdown", xo_action_name(vm->on_shutdown));
	xo_json_add_str(o, "on_reboot", xo_action_name(vm->on_reboot));
	xo_json_add_str(o, "on_crash", xo_action_name(vm->on_crash));
	return o;
}

uint64_t xo_vm_memory_target(const struct xo_vm *vm)
{
	return vm->memory_target ? vm->memory_target : vm->memory_dynamic_max;
}

/* ---------------------------------------------------------------- cpu lists */

static int cpu_number(const char **p, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	v = strtoul(*p, &end, 10);
	if (errno || v >= XO_CPUS_MAX || end - *p > 4)
		return -1;
	*out = (unsigned)v;
	*p = end;
	return 0;
}

int xo_cpulist_parse(const char *s, uint8_t map[XO_CPUMAP_BYTES], const char *what, xo_err *e)
{
	const char *p = s;

	memset(map, 0, XO_CPUMAP_BYTES);
	if (strcmp(s, "all") == 0) {
		memset(map, 0xff, XO_CPUMAP_BYTES);
		return 0;
	}
	for (;;) {
		unsigned lo, hi;
		if (cpu_number(&p, &lo) < 0)
			goto bad;
		hi = lo;
		if (*p == '-') {
			p++;
			if (cpu_number(&p, &hi) < 0 || hi < lo)
				goto bad;
		}
		for (unsigned c = lo; c <= hi; c++)
			map[c / 8] |= (uint8_t)(1u << (c % 8));
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			goto bad;
	}
bad:
	return xo_errf(e, XO_E_INVALID, "invalid %s '%s': expected cpus such as 0-3,6 (each below %d) or all",
		       what, s, XO_CPUS_MAX);
}

void xo_cpulist_format(const uint8_t *map, size_t nbits, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t c = 0; c < nbits;) {
		if (!(map[c / 8] & (1u << (c % 8)))) {
			c++;
			continue;
		}
		size_t hi = c;
		while (hi + 1 < nbits && (map[(hi + 1) / 8] & (1u << ((hi + 1) % 8))))
			hi++;
		int w = hi == c ? snprintf(buf + n, n < size ? size - n : 0, "%s%zu", n ? "," : "", c)
				: snprintf(buf + n, n < size ? size - n : 0, "%s%zu-%zu", n ? "," : "", c, hi);
		if (w < 0 || n + (size_t)w >= size) {
			/* truncated: the caller sees a full buffer */
			if (size)
				buf[size - 1] = '\0';
			return;
		}
		n += (size_t)w;
		c = hi + 1;
	}
}

/* ---------------------------------------------------------------- VBD */

void xo_vbd_init(struct xo_vbd *v)
{
	memset(v, 0, sizeof(*v));
	v->mode = XO_VBD_RW;
	v->type = XO_VBD_DISK;
	v->unpluggable = true;
	v->persistent = true;
	v->qos = XO_QOS_NONE;
	v->qos_class = 4;
}

void xo_vbd_free(struct xo_vbd *v)
{
	free(v->name);
	free(v->backend);
	free(v->script);
	xo_kvs_free(&v->extra_backend_keys);
	xo_kvs_free(&v->extra_private_keys);
	memset(v, 0, sizeof(*v));
}

/* prefix and the letters after it: "xvdab" -> disk index 27 */
static int letters_index(const char *s)
{
	size_t n = strlen(s);
	int idx = 0;

	if (n == 0 || n > 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 'a' || s[i] > 'z')
			return -1;
		idx = idx * 26 + (s[i] - 'a' + (i + 1 < n ? 1 : 0));
	}
	return idx;
}

int xo_vbd_disk_index(const char *name)
{
	int d;

	if (xo_str_startswith(name, "xvd")) {
		d = letters_index(name + 3);
		return d >= 0 && d < (1 << 20) ? d : -1;
	}
	if (xo_str_startswith(name, "hd")) {
		d = letters_index(name + 2);
		return d >= 0 && d < 4 ? d : -1;
	}
	if (xo_str_startswith(name, "sd")) {
		d = letters_index(name + 2);
		return d >= 0 && d < 16 ? d : -1;
	}
	if (xo_str_startswith(name, "fd")) {
		d = letters_index(name + 2);
		return d >= 0 && d < 2 ? d : -1;
	}
	return -1;
}

long xo_vbd_devid(const char *name)
{
	int d = xo_vbd_disk_index(name);

	if (d < 0)
		return -1;
	if (xo_str_startswith(name, "xvd"))
		return d < 16 ? (202L << 8) | (d << 4) : (1L << 28) | ((long)d << 8);
	if (xo_str_startswith(name, "hd"))
		return d < 2 ? (3L << 8) | (d << 6) : (22L << 8) | ((d - 2) << 6);
	if (xo_str_startswith(name, "sd"))
		return (8L << 8) | (d << 4);
	return (203L << 8) | (d << 4);
}

/*
 * Extra keys: an allow-list, so that no extra key replaces one xo writes (node,
 * physical-device-path, params, mode, locking-mode, ipv4-allowed, ...) or one a
 * script acts on. "ns/" entries allow a whole namespace that nothing in xo, blkback
 * or netback reads. Documented in xo-config(5).
 */
static const char *const vbd_backend_allowed[] = {
	"discard-enable",          /* blkback: 0 turns discard off */
	"feature-persistent",      /* blkback: 0 turns persistent grants off */
	"max-ring-page-order",     /* blkback */
	"direct-io-safe",          /* qdisk (libxl) */
	"specification",           /* libxl's disk specification version */
	"polling-duration",        /* tapdisk (xapi) */
	"polling-idle-threshold",  /* tapdisk (xapi) */
	"sm-data/",                /* xenopsd's storage extras */
	NULL };
static const char *const vbd_private_allowed[] = { "vbd-uuid", "vdi-uuid", "sr-uuid",
	"other-config/", NULL };
static const char *const vif_private_allowed[] = { "vif-uuid", "network-uuid", "promiscuous",
	"ethtool-rx", "ethtool-tx", "ethtool-sg", "ethtool-tso", "ethtool-ufo", "ethtool-gso",
	"other-config/", NULL };

static bool key_allowed(const char *k, const char *const *allowed)
{
	for (const char *const *a = allowed; *a; a++) {
		size_t n = strlen(*a);
		if ((*a)[n - 1] == '/' ? strncmp(k, *a, n) == 0 && k[n] : strcmp(k, *a) == 0)
			return true;
	}
	return false;
}

static int extra_keys_check(const struct xo_kvs *m, const char *const *allowed, const char *what,
			    const char *kind, xo_err *e)
{
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->v[i].k;
		if (key_allowed(k, allowed))
			continue;
		if (strcmp(k, "script") == 0)
			return xo_errf(e, XO_E_INVALID, "invalid %s: 'script' is not %s: give the "
				       "device's own hotplug script as its script (--script)", what, kind);
		return xo_errf(e, XO_E_INVALID, "invalid %s: '%s' is not %s xo allows (see xo-config(5))",
			       what, k, kind);
	}
	return 0;
}

int xo_script_check_file(const char *path, const char *what, xo_err *e)
{
	struct stat st;

	if (path_check(path, what, e) < 0)
		return -1;
	if (stat(path, &st) < 0)
		return xo_errf(e, XO_E_INVALID, "%s '%s' is missing: %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return xo_errf(e, XO_E_INVALID, "%s '%s' is not a regular file", what, path);
	if (access(path, X_OK) < 0)
		return xo_errf(e, XO_E_INVALID, "%s '%s' is not executable", what, path);
	return 0;
}

int xo_vbd_check(struct xo_vbd *v, xo_err *e)
{
	if (v->name) {
		if (xo_name_check(v->name, "vbd name", e) < 0)
			return -1;
		if (xo_vbd_devid(v->name) < 0)
			return xo_errf(e, XO_E_INVALID,
				       "invalid vbd name '%s': expected xvdX, hdX (a-d), sdX or fdX",
				       v->name);
	}
	if (!v->backend)
		v->backend = xstrdup("");
	if (!*v->backend) {
		if (v->type == XO_VBD_DISK)
			return xo_errf(e, XO_E_INVALID, "invalid vbd: a disk needs a backend path");
	} else if (path_check(v->backend, "vbd backend path", e) < 0) {
		return -1;
	}
	if (v->type == XO_VBD_CDROM && v->mode == XO_VBD_RW)
		return xo_errf(e, XO_E_INVALID, "invalid vbd: a cdrom is read-only (mode ro)");
	if (v->qos_class > 7)
		return xo_errf(e, XO_E_INVALID, "invalid vbd qos class %u: expected 0 to 7", v->qos_class);
	if (extra_keys_check(&v->extra_backend_keys, vbd_backend_allowed, "vbd extra_backend_keys",
			     "an extra backend key", e) < 0 ||
	    extra_keys_check(&v->extra_private_keys, vbd_private_allowed, "vbd extra_private_keys",
			     "an extra private key", e) < 0)
		return -1;
	if (v->script && *v->script && path_check(v->script, "vbd script", e) < 0)
		return -1;
	return 0;
}

static const char *const vbd_keys[] = { "name", "mode", "type", "backend", "unpluggable",
	"persistent", "extra_backend_keys", "extra_private_keys", "qos", "script", NULL };
static const char *const qos_keys[] = { "scheduler", "class", NULL };

int xo_vbd_from_json(struct json_object *o, struct xo_vbd *v, xo_err *e)
{
	struct json_object *qos;
	const char *s;
	int r;

	if (xo_json_check_keys(o, vbd_keys, "vbd", e) < 0 ||
	    opt_str(o, "name", "vbd", &v->name, e) < 0)
		return -1;
	if ((r = xo_json_get_string(o, "type", "vbd", &s, e)) < 0)
		return -1;
	if (r > 0 && xo_vbd_type_parse(s, &v->type, e) < 0)
		return -1;
	if (v->type == XO_VBD_CDROM)
		v->mode = XO_VBD_RO;
	if ((r = xo_json_get_string(o, "mode", "vbd", &s, e)) < 0)
		return -1;
	if (r > 0 && xo_vbd_mode_parse(s, &v->mode, e) < 0)
		return -1;
	if (opt_str(o, "backend", "vbd", &v->backend, e) < 0 ||
	    xo_json_get_bool(o, "unpluggable", "vbd", &v->unpluggable, e) < 0 ||
	    xo_json_get_bool(o, "persistent", "vbd", &v->persistent, e) < 0 ||
	    kvs_from_json(o, "extra_backend_keys", "vbd", &v->extra_backend_keys, e) < 0 ||
	    kvs_from_json(o, "extra_private_keys", "vbd", &v->extra_private_keys, e) < 0 ||
	    opt_str(o, "script", "vbd", &v->script, e) < 0)
		return -1;
	if (v->script && !*v->script) {
		free(v->script);
		v->script = NULL;
	}
	if (json_object_object_get_ex(o, "qos", &qos) && !json_object_is_type(qos, json_type_null)) {
		if (xo_json_check_keys(qos, qos_keys, "vbd qos", e) < 0)
			return -1;
		if ((r = xo_json_get_string(qos, "scheduler", "vbd qos", &s, e)) < 0)
			return -1;
		int i = r > 0 ? lookup(qos_scheds, XO_ARRAY_SIZE(qos_scheds), s) : -1;
		if (i <= 0)
			return xo_errf(e, XO_E_INVALID,
				       "invalid vbd qos: 'scheduler' must be idle, best-effort or real-time");
		v->qos = (enum xo_qos_sched)i;
		if (xo_json_get_uint(qos, "class", "vbd qos", 7, &v->qos_class, e) < 0)
			return -1;
	}
	return xo_vbd_check(v, e);
}

struct json_object *xo_vbd_to_json(const struct xo_vbd *v)
{
	struct json_object *o = json_object_new_object();

	xo_json_add_str(o, "name", v->name);
	xo_json_add_str(o, "mode", v->mode == XO_VBD_RW ? "rw" : "ro");
	xo_json_add_str(o, "type", xo_vbd_type_name(v->type));
	xo_json_add_str(o, "backend", v->backend);
	xo_json_add_bool(o, "unpluggable", v->unpluggable);
	xo_json_add_bool(o, "persistent", v->persistent);
	json_object_object_add(o, "extra_backend_keys", kvs_to_json(&v->extra_backend_keys));
	json_object_object_add(o, "extra_private_keys", kvs_to_json(&v->extra_private_keys));
	xo_json_add_str(o, "script", v->script ? v->script : "");
	if (v->qos != XO_QOS_NONE) {
		struct json_object *q = json_object_new_object();
		xo_json_add_str(q, "scheduler", qos_scheds[v->qos]);
		xo_json_add_int(q, "class", v->qos_class);
		json_object_object_add(o, "qos", q);
	} else {
		json_object_object_add(o, "qos", NULL);
	}
	return o;
}

/* ---------------------------------------------------------------- VIF */

void xo_vif_init(struct xo_vif *v)
{
	memset(v, 0, sizeof(*v));
	v->position = -1;
	v->mtu = 1500;
	v->carrier = true;
	v->rate_timeslice_us = 50000;
	v->locking_mode = XO_LOCK_UNLOCKED;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void xo_vif_free(struct xo_vif *v)
{
	free(v->bridge);
	free(v->script);
	strv_free(v->ipv4_allowed, v->n_ipv4);
	strv_free(v->ipv6_allowed, v->n_ipv6);
	xo_kvs_free(&v->extra_private_keys);
	memset(v, 0, sizeof(*v));
}

int xo_mac_parse(const char *s, char out[18], xo_err *e)
{
	unsigned b[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return xo_errf(e, XO_E_INVALID, "invalid mac address '%s': expected xx:xx:xx:xx:xx:xx", s);
	for (int i = 0; i < 17; i++)
		if ((i % 3 == 2) ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return xo_errf(e, XO_E_INVALID, "invalid mac address '%s': expected xx:xx:xx:xx:xx:xx", s);
	if (b[0] & 1)
		return xo_errf(e, XO_E_INVALID, "invalid mac address '%s': a multicast address", s);
	if (!(b[0] | b[1] | b[2] | b[3] | b[4] | b[5]))
		return xo_errf(e, XO_E_INVALID, "invalid mac address '%s': all zero", s);
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
	return 0;
}

void xo_mac_random(char out[18])
{
	uint8_t b[6];

	xo_random_bytes(b, sizeof(b));
	b[0] = (uint8_t)((b[0] & 0xfc) | 0x02);   /* locally administered, unicast */
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

static int ifname_check(const char *s, xo_err *e)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15)
		return xo_errf(e, XO_E_INVALID, "invalid bridge name '%s': must be 1 to 15 bytes", s);
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return xo_errf(e, XO_E_INVALID, "invalid bridge name '%s'", s);
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return xo_errf(e, XO_E_INVALID, "invalid bridge name '%s'", s);
	return 0;
}

static int addr_check(const char *a, int family, xo_err *e)
{
	char buf[64];
	unsigned char bin[16];
	const char *slash = strchr(a, '/');
	unsigned maxlen = family == AF_INET ? 32 : 128, plen;

	if (strlen(a) >= sizeof(buf))
		goto bad;
	xo_strlcpy(buf, a, sizeof(buf));
	if (slash) {
		buf[slash - a] = '\0';
		if (xo_parse_uint(slash + 1, maxlen, &plen) < 0)
			goto bad;
	}
	if (inet_pton(family, buf, bin) != 1)
		goto bad;
	return 0;
bad:
	return xo_errf(e, XO_E_INVALID, "invalid %s address '%s'", family == AF_INET ? "ipv4" : "ipv6", a);
}

int xo_vif_add_allowed(struct xo_vif *v, const char *addr, xo_err *e)
{
	bool v6 = strchr(addr, ':') != NULL;
	if (addr_check(addr, v6 ? AF_INET6 : AF_INET, e) < 0)
		return -1;
	if (v6) {
		v->ipv6_allowed = xrealloc(v->ipv6_allowed, (v->n_ipv6 + 1) * sizeof(char *));
		v->ipv6_allowed[v->n_ipv6++] = xstrdup(addr);
	} else {
		v->ipv4_allowed = xrealloc(v->ipv4_allowed, (v->n_ipv4 + 1) * sizeof(char *));
		v->ipv4_allowed[v->n_ipv4++] = xstrdup(addr);
	}
	return 0;
}

int xo_vif_check(struct xo_vif *v, xo_err *e)
{
	if (v->position > XO_VIF_POSITION_MAX)
		return xo_errf(e, XO_E_INVALID, "invalid vif position %d: at most %d", v->position,
			       XO_VIF_POSITION_MAX);
	if (v->mac[0]) {
		char norm[18];
		if (xo_mac_parse(v->mac, norm, e) < 0)
			return -1;
		memcpy(v->mac, norm, sizeof(norm));
	}
	if (!v->bridge)
		v->bridge = xstrdup("xenbr0");
	if (ifname_check(v->bridge, e) < 0)
		return -1;
	if (v->mtu < 68 || v->mtu > 65535)
		return xo_errf(e, XO_E_INVALID, "invalid mtu %u: expected 68 to 65535", v->mtu);
	if (v->rate_kbytes_per_s && (v->rate_timeslice_us == 0 || v->rate_timeslice_us > 10000000))
		return xo_errf(e, XO_E_INVALID, "invalid rate timeslice %u us", v->rate_timeslice_us);
	for (size_t i = 0; i < v->n_ipv4; i++)
		if (addr_check(v->ipv4_allowed[i], AF_INET, e) < 0)
			return -1;
	for (size_t i = 0; i < v->n_ipv6; i++)
		if (addr_check(v->ipv6_allowed[i], AF_INET6, e) < 0)
			return -1;
	if (v->script && *v->script && path_check(v->script, "vif script", e) < 0)
		return -1;
	if (extra_keys_check(&v->extra_private_keys, vif_private_allowed, "vif extra_private_keys",
			     "an extra private key", e) < 0)
		return -1;
	if (v->locking_mode != XO_LOCK_LOCKED && (v->n_ipv4 || v->n_ipv6))
		return xo_errf(e, XO_E_INVALID, "invalid vif: allowed addresses need locking mode 'locked'");
	return 0;
}

static const char *const vif_keys[] = { "position", "mac", "bridge", "mtu", "rate", "carrier",
	"locking_mode", "ipv4_allowed", "ipv6_allowed", "extra_private_keys", "script", NULL };
static const char *const rate_keys[] = { "kbytes_per_s", "timeslice_us", NULL };

static int strv_from_json(struct json_object *o, const char *key, int family, struct xo_vif *v,
			  xo_err *e)
{
	struct json_object *a;
	int r = xo_json_get_array(o, key, "vif", &a, e);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *s = json_object_array_get_idx(a, i);
		if (!json_object_is_type(s, json_type_string))
			return xo_errf(e, XO_E_INVALID, "invalid vif: '%s' must hold strings", key);
		const char *addr = json_object_get_string(s);
		if (addr_check(addr, family, e) < 0 || xo_vif_add_allowed(v, addr, e) < 0)
			return -1;
	}
	return 1;
}

int xo_vif_from_json(struct json_object *o, struct xo_vif *v, xo_err *e)
{
	struct json_object *rate;
	unsigned pos;
	const char *s;
	int r;

	if (xo_json_check_keys(o, vif_keys, "vif", e) < 0)
		return -1;
	if ((r = xo_json_get_uint(o, "position", "vif", XO_VIF_POSITION_MAX, &pos, e)) < 0)
		return -1;
	if (r > 0)
		v->position = (int)pos;
	if ((r = xo_json_get_string(o, "mac", "vif", &s, e)) < 0)
		return -1;
	if (r > 0 && xo_mac_parse(s, v->mac, e) < 0)
		return -1;
	if (opt_str(o, "bridge", "vif", &v->bridge, e) < 0 ||
	    xo_json_get_uint(o, "mtu", "vif", 65535, &v->mtu, e) < 0 ||
	    xo_json_get_bool(o, "carrier", "vif", &v->carrier, e) < 0)
		return -1;
	if (json_object_object_get_ex(o, "rate", &rate) && !json_object_is_type(rate, json_type_null)) {
		if (xo_json_check_keys(rate, rate_keys, "vif rate", e) < 0 ||
		    xo_json_get_u64(rate, "kbytes_per_s", "vif rate", UINT32_MAX, &v->rate_kbytes_per_s, e) < 0 ||
		    xo_json_get_uint(rate, "timeslice_us", "vif rate", 10000000, &v->rate_timeslice_us, e) < 0)
			return -1;
	}
	if ((r = xo_json_get_string(o, "locking_mode", "vif", &s, e)) < 0)
		return -1;
	if (r > 0 && xo_lock_mode_parse(s, &v->locking_mode, e) < 0)
		return -1;
	if (strv_from_json(o, "ipv4_allowed", AF_INET, v, e) < 0 ||
	    strv_from_json(o, "ipv6_allowed", AF_INET6, v, e) < 0 ||
	    kvs_from_json(o, "extra_private_keys", "vif", &v->extra_private_keys, e) < 0 ||
	    opt_str(o, "script", "vif", &v->script, e) < 0)
		return -1;
	if (v->script && !*v->script) {
		free(v->script);
		v->script = NULL;
	}
	return xo_vif_check(v, e);
}

static struct json_object *strv_to_json(char **v, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

struct json_object *xo_vif_to_json(const struct xo_vif *v)
{
	struct json_object *o = json_object_new_object();

	xo_json_add_int(o, "position", v->position);
	xo_json_add_str(o, "mac", v->mac);
	xo_json_add_str(o, "bridge", v->bridge);
	xo_json_add_int(o, "mtu", v->mtu);
	if (v->rate_kbytes_per_s) {
		struct json_object *r = json_object_new_object();
		xo_json_add_int(r, "kbytes_per_s", (int64_t)v->rate_kbytes_per_s);
		xo_json_add_int(r, "timeslice_us", v->rate_timeslice_us);
		json_object_object_add(o, "rate", r);
	} else {
		json_object_object_add(o, "rate", NULL);
	}
	xo_json_add_bool(o, "carrier", v->carrier);
	xo_json_add_str(o, "locking_mode", xo_lock_mode_name(v->locking_mode));
	json_object_object_add(o, "ipv4_allowed", strv_to_json(v->ipv4_allowed, v->n_ipv4));
	json_object_object_add(o, "ipv6_allowed", strv_to_json(v->ipv6_allowed, v->n_ipv6));
	json_object_object_add(o, "extra_private_keys", kvs_to_json(&v->extra_private_keys));
	xo_json_add_str(o, "script", v->script ? v->script : "");
	return o;
}

/* ---------------------------------------------------------------- PCI */

void xo_pci_init(struct xo_pci *p)
{
	memset(p, 0, sizeof(*p));
	p->position = -1;
}

int xo_pci_address_parse(const char *s, char out[13], xo_err *e)
{
	unsigned dom = 0, bus, dev, fn;
	char tail;
	int n;
	const char *c;

	for (c = s; *c; c++)
		if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
			goto bad;
	n = sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail);
	if (n != 4) {
		dom = 0;
		n = sscanf(s, "%2x:%2x.%1x%c", &bus, &dev, &fn, &tail);
		if (n != 3)
			goto bad;
	}
	if (dev > 0x1f || fn > 7)
		goto bad;
	snprintf(out, 13, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	/* re-render and compare lengths so "0000:3:0.0" style oddities are rejected */
	if (strlen(s) != 12 && strlen(s) != 7)
		goto bad;
	return 0;
bad:
	return xo_errf(e, XO_E_INVALID, "invalid pci address '%s': expected dddd:bb:dd.f", s);
}

int xo_pci_check(struct xo_pci *p, xo_err *e)
{
	char norm[13];

	if (p->position > XO_PCI_POSITION_MAX)
		return xo_errf(e, XO_E_INVALID, "invalid pci position %d: at most %d", p->position,
			       XO_PCI_POSITION_MAX);
	if (!p->address[0])
		return xo_errf(e, XO_E_INVALID, "invalid pci device: an address is required");
	if (xo_pci_address_parse(p->address, norm, e) < 0)
		return -1;
	memcpy(p->address, norm, sizeof(norm));
	return 0;
}

static const char *const pci_keys[] = { "position", "address", "msitranslate", "power_mgmt",
	"permissive", NULL };

int xo_pci_from_json(struct json_object *o, struct xo_pci *p, xo_err *e)
{
	unsigned pos;
	const char *s;
	int r;

	if (xo_json_check_keys(o, pci_keys, "pci", e) < 0)
		return -1;
	if ((r = xo_json_get_uint(o, "position", "pci", XO_PCI_POSITION_MAX, &pos, e)) < 0)
		return -1;
	if (r > 0)
		p->position = (int)pos;
	if ((r = xo_json_get_string(o, "address", "pci", &s, e)) < 0)
		return -1;
	if (r > 0 && xo_pci_address_parse(s, p->address, e) < 0)
		return -1;
	if (xo_json_get_bool(o, "msitranslate", "pci", &p->msitranslate, e) < 0 ||
	    xo_json_get_bool(o, "power_mgmt", "pci", &p->power_mgmt, e) < 0 ||
	    xo_json_get_bool(o, "permissive", "pci", &p->permissive, e) < 0)
		return -1;
	return xo_pci_check(p, e);
}

struct json_object *xo_pci_to_json(const struct xo_pci *p)
{
	struct json_object *o = json_object_new_object();

	xo_json_add_int(o, "position", p->position);
	xo_json_add_str(o, "address", p->address);
	xo_json_add_bool(o, "msitranslate", p->msitranslate);
	xo_json_add_bool(o, "power_mgmt", p->power_mgmt);
	xo_json_add_bool(o, "permissive", p->permissive);
	return o;
}
