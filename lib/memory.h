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
 */
#ifndef XO_MEMORY_H
#define XO_MEMORY_H

#include <stdint.h>

#include "backend.h"

/* class not_enough_memory (with the numbers) when it does not fit */
int xo_memory_reserve(struct xo_backend *b, const char *vm_uuid, uint64_t kib, xo_err *e);
void xo_memory_release(const char *vm_uuid);

#endif
