/*
 * watch.h: the watcher (xo-watchd), the one long-running process of a host.
 *
 * It queues VM_check_state (coalesced, destroy-on-finish tasks) for the VM
 * concerned whenever something happens that the VM may need to act on:
 *
 *   - on start, for every VM (a toolstack restart: a VM caught mid-start is
 *     shut down, a healthy one left alone);
 *   - @releaseDomain: a managed domain shut down (the guest powered off,
 *     rebooted, crashed) or went away;
 *   - @introduceDomain: new domains get per-domain watches: control,
 *     memory/target, data, console, action-request, qemu-pid-signal, and the
 *     backends of their vbds and vifs; an event on one of those queues a
 *     check-state, unless the domain is still being started (action-request
 *     present and the domain running): that start is in charge.
 *
 * It never polls: it sleeps in xs_read_watch's fd. One per state directory
 * (flock on watchd.lock).
 */
#ifndef XO_WATCH_H
#define XO_WATCH_H

#include "err.h"

/* runs until killed; returns only on error */
int xo_watchd_run(xo_err *e);

#endif
