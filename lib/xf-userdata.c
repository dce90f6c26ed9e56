/*
 * xf-userdata.c: libxl's record of an xo domain, so that `xl list -l` knows it.
 *
 * libxl keeps each domain's configuration as JSON in its userdata directory
 * (/var/lib/xen/userdata-d.<domid>.<uuid>.libxl-json) and `xl list -l` reads it
 * back through libxl_retrieve_domain_configuration, which fills in from xenstore
 * what changes at run time: the name, the memory target, the online vcpus, and the
 * devices (libxl's /libxl/<domid>/device/<kind> entries, written by xf-device.c). xo
 * writes the part only it knows: the domain's type, name, uuid, memory, vcpus, boot
 * and actions. Nothing untrusted is in it beyond the VM's own configuration, and
 * json-c escapes every string.
 *
 * The file is a host resource of the start: it is written once the domain is built
 * (its domid is in the runtime record by then) and xf_userdata_remove, called by every
 * teardown of the domain (destroy, check-state), removes it, its temporary and the lock
 * file `xl list -l` leaves, as libxl's own destroy removes a domain's userdata: by
 * name, with no scan of the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "state.h"
#include "util.h"
#include "xf.h"

/* libxl's names of the actions (libxl_action_on_shutdown) for xo's */
static const char *libxl_action(enum xo_action a)
{
	switch (a) {
	case XO_ACT_SHUTDOWN: return "destroy";
	case XO_ACT_START: return "restart";
	case XO_ACT_PAUSE: return "preserve";
	case XO_ACT_COREDUMP: return "coredump_destroy";
	}
	return "destroy";
}

static const char *libxl_type(enum xo_vm_type t)
{
	return t == XO_VM_HVM ? "hvm" : t == XO_VM_PVH ? "pvh" : "pv";
}

/* libxl's disks and nics: every device of the configuration. libxl's retrieve keeps
 * those xenstore has (matching disks by vdev, nics by devid) and drops the others, so
 * the list may hold devices that are not plugged, never miss one that is */
static void add_devices(struct json_object *o, const struct xo_devices *dv)
{
	struct json_object *disks = json_object_new_array(), *nics = json_object_new_array();

	for (size_t i = 0; dv && i < dv->n_vbd; i++) {
		const struct xo_vbd *v = &dv->vbd[i];
		struct json_object *d = json_object_new_object();
		xo_json_add_str(d, "pdev_path", v->backend);
		xo_json_add_str(d, "vdev", v->name);
		xo_json_add_str(d, "backend", "phy");
		xo_json_add_str(d, "format", "raw");
		xo_json_add_int(d, "removable", 1);
		xo_json_add_int(d, "readwrite", v->mode == XO_VBD_RW);
		xo_json_add_int(d, "is_cdrom", v->type == XO_VBD_CDROM);
		json_object_array_add(disks, d);
	}
	for (size_t i = 0; dv && i < dv->n_vif; i++) {
		const struct xo_vif *v = &dv->vif[i];
		struct json_object *n;
		if (v->position < 0)
			continue;
		n = json_object_new_object();
		xo_json_add_int(n, "devid", v->position);
		if (v->mac[0])
			xo_json_add_str(n, "mac", v->mac);
		if (v->bridge)
			xo_json_add_str(n, "bridge", v->bridge);
		if (v->mtu)
			xo_json_add_int(n, "mtu", v->mtu);
		json_object_array_add(nics, n);
	}
	json_object_object_add(o, "disks", disks);
	json_object_object_add(o, "nics", nics);
}

/* the JSON text libxl_domain_config_from_json reads (malloc'd) */
char *xf_userdata_json(const struct xo_vm *vm, const struct xo_devices *dv)
{
	struct json_object *o = json_object_new_object(), *ci = json_object_new_object(),
			   *bi = json_object_new_object(), *ty = json_object_new_object();
	char key[16];
	char *s;

	xo_json_add_str(ci, "type", libxl_type(vm->type));
	xo_json_add_str(ci, "name", vm->name);
	xo_json_add_str(ci, "uuid", vm->uuid);
	json_object_object_add(o, "c_info", ci);
	xo_json_add_int(bi, "max_vcpus", vm->vcpu_max);
	xo_json_add_int(bi, "max_memkb", (int64_t)(vm->memory_static_max / 1024));
	xo_json_add_int(bi, "target_memkb", (int64_t)(xo_vm_memory_target(vm) / 1024));
	if (vm->kernel)
		xo_json_add_str(bi, "kernel", vm->kernel);
	if (vm->ramdisk)
		xo_json_add_str(bi, "ramdisk", vm->ramdisk);
	if (vm->cmdline)
		xo_json_add_str(bi, "cmdline", vm->cmdline);
	if (vm->type == XO_VM_PV && vm->bootloader)
		xo_json_add_str(ty, "bootloader", vm->bootloader);
	snprintf(key, sizeof(key), "type.%s", libxl_type(vm->type));
	json_object_object_add(bi, key, ty);
	json_object_object_add(o, "b_info", bi);
	add_devices(o, dv);
	xo_json_add_str(o, "on_poweroff", libxl_action(vm->on_shutdown));
	xo_json_add_str(o, "on_reboot", libxl_action(vm->on_reboot));
	xo_json_add_str(o, "on_crash", libxl_action(vm->on_crash));
	s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/* the three files of a domain: libxl's record, the temporary it is written through (the
 * VM's lock serialises writers, so the name is fixed: a kill mid-write leaves a file the
 * teardown knows), and the lock file `xl list -l` leaves */
static void names(uint32_t d, const char *uuid, char json[96], char tmp[96], char lock[96])
{
	snprintf(json, 96, "userdata-d.%u.%s.libxl-json", d, uuid);
	snprintf(tmp, 96, "userdata-d.%u.%s.libxl-json.xo-tmp", d, uuid);
	snprintf(lock, 96, "userdata-l.%u.%s.domain-userdata-lock", d, uuid);
}

/* the record as it is: the same text is not written again (a start's plugs find the
 * build's record complete) */
static bool same(int dfd, const char *name, const char *json)
{
	size_t n = strlen(json);
	char *buf = malloc(n + 1);
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool eq = false;

	if (fd >= 0 && buf) {
		ssize_t got = read(fd, buf, n + 1);
		eq = got == (ssize_t)n && memcmp(buf, json, n) == 0;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return eq;
}

int xf_userdata_write(struct xf *x, const struct xo_vm *vm, const struct xo_devices *dv,
		      uint32_t d, xo_err *e)
{
	char *dir = x->hv->libxl_dir ? x->hv->libxl_dir() : NULL, *json = NULL;
	char name[96], tmp[96], lock[96];
	int dfd, fd = -1, r = -1;

	if (!dir)
		return 0;
	names(d, vm->uuid, name, tmp, lock);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		xo_err_sys(e, errno, "open %s", dir);
		goto out;
	}
	json = xf_userdata_json(vm, dv);
	if (same(dfd, name, json)) {
		r = 0;
		goto out;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	/* no fsync: a domain does not outlive the host, so neither need its record; the
	 * rename is what makes a reader see all of it or none */
	if (fd < 0 || xo_write_all(fd, json, strlen(json)) < 0 ||
	    renameat(dfd, tmp, dfd, name) < 0) {
		xo_err_sys(e, errno, "write %s/%s", dir, name);
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(json);
	free(dir);
	return r;
}

void xf_userdata_remove(struct xf *x, const char *uuid, uint32_t d)
{
	char *dir = x->hv->libxl_dir ? x->hv->libxl_dir() : NULL;
	char name[96], tmp[96], lock[96];
	int dfd;

	if (!dir)
		return;
	names(d, uuid, name, tmp, lock);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		unlinkat(dfd, name, 0);
		unlinkat(dfd, tmp, 0);
		unlinkat(dfd, lock, 0);
		close(dfd);
	}
	free(dir);
}
