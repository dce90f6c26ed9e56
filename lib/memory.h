/*
 * memory.h: the host memory reservation ledger (what squeezed does for xenopsd).
 *
 * A start reserves the memory its domain will get before the domain is
 * created, and gives the reservation up once the hypervisor has allocated
 * that memory to the domain (after the build), or when the start fails.
 * Reservations are files host/reservations/<vm-uuid> holding KiB; the
 * check-and-reserve runs under flock(host/memory.lock), so two concurrent
 * starts can never both see the same free memory:
 *
 *     available = hypervisor free memory - sum of the reservations
 *
 * The sum lists host/reservations/, which holds one file per start in
 * flight (not per VM), so the cost does not grow with the number of VMs.
 * A reservation left by a start that crashed is dropped by check-state of
 * its VM (nothing else can hold it: check-state holds the VM lock).
 *
 * A running VM whose balloon target grows (xo-vm-set-memory) reserves what
 * its guest may still take, its new target less what it has, the same way
 * and under the same lock. The hypervisor gives that memory only as the
 * guest's balloon driver asks for it, so the reservation ("KIB balloon
 * TARGET" in its file) shrinks as the guest grows: each sum asks the
 * backend what the VM has now, counts what is left of the target, and drops
 * the reservation once the guest has it all or its domain is gone. A
 * smaller target replaces it; the domain's destruction drops it.
 */
#ifndef XO_MEMORY_H
#define XO_MEMORY_H

#include <stdint.h>

#include "backend.h"

/* class not_enough_memory (with the numbers) when it does not fit */
int xo_memory_reserve(struct xo_backend *b, const char *vm_uuid, uint64_t kib, xo_err *e);
void xo_memory_release(const char *vm_uuid);
/* the balloon reservation of a running VM asked to have target_kib, with actual_kib now
 * (none needed when it has it already: an older one goes) */
int xo_memory_reserve_balloon(struct xo_backend *b, const char *vm_uuid, uint64_t target_kib,
			      uint64_t actual_kib, xo_err *e);

#endif
