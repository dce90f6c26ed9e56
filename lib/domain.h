/*
 * domain.h: a VM's domain: the extra record, creation with its xenstore
 * layout, the build, finding it again, and destroying it with everything it
 * left in xenstore.
 *
 * VM/<uuid>/extra (JSON) exists while the VM has, or may have, a domain:
 * written with domid -1 before the create hypercall (so a crash right after
 * it can still find the domain, by handle), then with the domid, then with
 * the build record (what the build used, kept for reboot: max memory and
 * vcpus are fixed at create). xo_domain_destroy() removes it.
 *
 * The domain's xenstore directories are created in one transaction that
 * also writes /local/domain/<d>/vm and action-request=poweroff, so a domain
 * is either unknown to xenstore, being started (action-request present) or
 * alive (action-request absent): check-state tells them apart.
 */
#ifndef XO_DOMAIN_H
#define XO_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"

struct xo_extra {
	int domid;                  /* -1: being created, domid not known yet */
	double create_time;         /* wall clock: when the domain was created */
	bool built;
	enum xo_vm_type type;
	char *kernel, *ramdisk, *cmdline;
	uint64_t static_max_kib, target_kib;
	unsigned vcpus, max_vcpus;
	struct xo_build_result br;
	int dm_pid;                 /* device model, 0 if none */
	bool rebooting;             /* a reboot is in flight: keep the record */
};

void xo_extra_free(struct xo_extra *x);
/* -1 with does_not_exist when there is none */
int xo_extra_load(const char *uuid, struct xo_extra *x, xo_err *e);
int xo_extra_save(const char *uuid, const struct xo_extra *x, xo_err *e);
void xo_extra_remove(const char *uuid);

/* 1: the VM has a domain (*domid, *info filled), 0: it has none, -1: error */
int xo_vm_find_domain(struct xo_backend *b, const char *uuid, uint32_t *domid,
		      struct xo_dominfo *info, xo_err *e);

/* overhead added to the domain's memory for page tables, grant tables and the like */
#define XO_MEMORY_OVERHEAD_KIB 1024
uint64_t xo_vm_reserve_kib(const struct xo_vm *vm);

/* the micro-ops */
int xo_domain_create(struct xo_backend *b, const struct xo_vm *vm, uint32_t *domid, xo_err *e);
int xo_domain_build(struct xo_backend *b, const struct xo_vm *vm, xo_err *e);
/* write or remove (request NULL) /local/domain/<d>/action-request */
int xo_domain_set_action_request(struct xo_backend *b, const struct xo_vm *vm, const char *request,
				 xo_err *e);
/* destroy the domain (if any), remove its xenstore trees and reservation; keep_extra keeps
 * the build record for a reboot */
int xo_domain_destroy(struct xo_backend *b, const struct xo_vm *vm, bool keep_extra, xo_err *e);

/* /local/domain/<d> */
void xo_domain_path(uint32_t domid, char *buf, size_t size);

#endif
