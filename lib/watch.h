/*
 * watch.h: the watcher (xo-watchd), the one long-running process of a host.
 *
 * It queues VM_check_state (coalesced, destroy-on-finish tasks) for the VM
 * concerned whenever something happens that the VM may need to act on:
 *
 *   - on start, for every VM (a toolstack restart: a VM caught mid-start is
 *     shut down, a healthy one left alone);
 *   - whenever the backend's events name a VM (backend.h): on the Xen family
 *     a domain that shut down (the guest powered off, rebooted, crashed) or
 *     went away, an event under one of its watched xenstore paths (unless it
 *     is still being started: that start is in charge), its device model's
 *     exit (xf-watch.c); on kvm qemu's events.
 *
 * It never polls: it sleeps on the backend's event descriptor. One per state
 * directory (flock on watchd.lock).
 */
#ifndef XO_WATCH_H
#define XO_WATCH_H

#include "err.h"

/* runs until killed; returns only on error */
int xo_watchd_run(xo_err *e);

#endif
