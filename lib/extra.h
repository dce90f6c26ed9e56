/*
 * extra.h: a VM's runtime record, VM/<uuid>/extra, shared by every backend.
 *
 * It exists while the VM has, or may have, a running instance: written with
 * domid -1 before the backend creates it (so a crash right after can still
 * find it), then with the backend's id for it, then with the build record
 * (what the build used, kept for a reboot: max memory and vcpus are fixed at
 * create). The backend keeps what only it understands in `backend` (a JSON
 * object it owns: the Xen family's event channels and ring frames, the
 * device model's pid...). The VM's domain destroy removes the record, or
 * keeps the build record with domid 0 for the restart of a reboot.
 */
#ifndef XO_EXTRA_H
#define XO_EXTRA_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"

struct xo_extra {
	int domid;                  /* -1: being created, id not known yet; 0: none (reboot) */
	double create_time;         /* wall clock: when the instance was created */
	bool built;
	enum xo_vm_type type;
	char *kernel, *ramdisk, *cmdline;
	uint64_t static_max_kib, target_kib;
	unsigned vcpus, max_vcpus;
	bool rebooting;             /* a reboot is in flight: keep the record */
	struct json_object *backend;   /* the backend's own; NULL when empty */
};

void xo_extra_free(struct xo_extra *x);
/* -1 with does_not_exist when there is none */
int xo_extra_load(const char *uuid, struct xo_extra *x, xo_err *e);
/* written atomically */
int xo_extra_save(const char *uuid, const struct xo_extra *x, xo_err *e);
void xo_extra_remove(const char *uuid);
/* the backend object, made when missing */
struct json_object *xo_extra_backend(struct xo_extra *x);
int64_t xo_extra_backend_int(const struct xo_extra *x, const char *key);
void xo_extra_backend_set_int(struct xo_extra *x, const char *key, int64_t v);
/* a string of the backend object; NULL removes the key */
void xo_extra_backend_set_str(struct xo_extra *x, const char *key, const char *v);
/* the domain is gone: with keep_build (a reboot) the record stays for the next domain (domid
 * 0, rebooting; drop_key, if any, removed from the backend object), else it is removed */
void xo_extra_domain_gone(const char *uuid, bool keep_build, const char *drop_key);

/* overhead added to the domain's memory for page tables, grant tables and the like */
#define XO_MEMORY_OVERHEAD_KIB 1024
uint64_t xo_vm_reserve_kib(const struct xo_vm *vm);

#endif
