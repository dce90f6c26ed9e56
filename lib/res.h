/*
 * res.h: the host resources a VM's instance holds, recorded before they
 * exist, so that whatever moment a kill lands, a repair finds them all.
 *
 * VM/<uuid>/res/<id> is one record per resource, written before the side
 * effect that may create it and removed once the resource is released.
 * <id> is "<kind>.<name>" (loop.vbd.xvda, netdev.vif.0, proc.dm, pci.0000:03:00.0;
 * letters, digits and . _ - :): the
 * caller names it, the ledger keeps one record per id. Records are not
 * fsynced: what they describe ends with the host anyway. Kinds:
 *
 *   proc     a process xo started (a hotplug script, a hook, a device model,
 *            a VM's qemu), through xo_res_spawn(). The child writes its pid,
 *            process group and start time into the record before it execs,
 *            and it and everything it starts keep a shared flock on the
 *            record (an inherited descriptor): a release kills the group and
 *            waits until the last holder is gone, so no script outlives the
 *            repair that follows a dead worker.
 *   loop     a loop device on a file: the file's path, device and inode, the
 *            loop devices it already had when the record was made, and the
 *            tag "xo:<uuid>:<name>" that xo's own attaches give the device
 *            (its lo_file_name). A release detaches the loop devices on that
 *            file that carry the tag, or that are untagged and were not there
 *            before: whoever attached them (xo, xo's block script, Debian's),
 *            a dead start's loop device is found without its node recorded.
 *   netdev   a network interface by name (a tap, a vif): deleted if it exists
 *            and carries no other VM's alias ("xo:<uuid>").
 *   nft      an nft table (family and name): deleted if it exists.
 *   pci      a pci device taken from its driver: the address, the driver it
 *            had; a release gives it back.
 *
 * Calling sequence: xo_res_<kind>() before the side effect; after the normal
 * release (an unplug's remove script, a stop) xo_res_release(), which finds
 * and releases what is left (normally nothing) and drops the record. Check-
 * state and a destroy call xo_res_release_all(): processes first (a script
 * may still be creating something), then the rest. Every function is safe
 * to run again; a release that fails keeps its record for the next try.
 */
#ifndef XO_RES_H
#define XO_RES_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"
#include "spawn.h"

#define XO_RES_ID_MAX 64

/* the tag xo gives what it creates for a VM: "xo:<uuid>:<name>" */
void xo_res_tag(const char *uuid, const char *name, char *buf, size_t size);

int xo_res_loop(const char *uuid, const char *id, const char *file, xo_err *e);
/* the loop device that was attached (a script's "node"): its release takes that one */
int xo_res_loop_node(const char *uuid, const char *id, const char *node, xo_err *e);
int xo_res_netdev(const char *uuid, const char *id, const char *ifname, xo_err *e);
int xo_res_nft(const char *uuid, const char *id, const char *family, const char *table, xo_err *e);
int xo_res_pci(const char *uuid, const char *id, const char *bdf, const char *driver, xo_err *e);

/* xo_spawn() (spawn.h) with a proc record; XO_SPAWN_DETACH in flags: a daemon (its own
 * session, not killed with us, never our zombie: a device model) */
int xo_res_spawn(const char *uuid, const char *id, struct xo_child *c, char *const argv[],
		 char *const env[], int out, unsigned flags, xo_err *e);
/* the pid of a recorded process that still runs, else 0 */
pid_t xo_res_pid(const char *uuid, const char *id);
/* stop a recorded process: SIGTERM, grace_ms, then SIGKILL to its group, and wait for
 * every holder of its record; the record goes */
int xo_res_stop(const char *uuid, const char *id, int grace_ms, xo_err *e);

/* release what the record names, if anything is left, and drop the record */
int xo_res_release(const char *uuid, const char *id, xo_err *e);
/* drop the record only: the owner released the resource itself and checked it */
void xo_res_forget(const char *uuid, const char *id);
/* release every recorded resource of the VM (processes first); -1 if one could not be
 * (its record stays), after trying them all */
int xo_res_release_all(const char *uuid, xo_err *e);
/* does the VM have records? (check-state: something to repair) */
bool xo_res_any(const char *uuid);

#endif
