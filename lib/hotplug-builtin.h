/*
 * hotplug-builtin.h: xo's own hotplug scripts done in the worker.
 *
 * XO_HOTPLUG=builtin is XO_HOTPLUG=xo without the shell: when a backend's
 * script is xo's own `block` or `vif` (from $XO_SCRIPT_DIR), the worker does
 * what that script does itself, with the same result in xenstore and in
 * hotplug.log: a loop device through /dev/loop-control and LOOP_CONFIGURE
 * instead of losetup, the bridge port, mtu and link through ioctls instead of
 * ip, the keys in one transaction instead of xenstore-write. A start then
 * runs no process at all. Anything else still runs its script: a script of
 * the user's own (the backend's `script` key), and a vif with port-locking
 * rules (locking-mode locked or disabled, now or before), which need nft.
 *
 * xo_hotplug_builtin() returns true when it handled the action: its verdict
 * (hotplug-status=connected, or hotplug-error and hotplug-status=error) is
 * in the backend, exactly as the script would have left it. False: run the
 * script.
 */
#ifndef XO_HOTPLUG_BUILTIN_H
#define XO_HOTPLUG_BUILTIN_H

#include <stdbool.h>
#include <stdint.h>
#include <xenstore.h>

bool xo_hotplug_builtin(struct xs_handle *xs, const char *uuid, const char *script, const char *kind,
			uint32_t fe, long devid, const char *action);

/* ip link set dev VIF mtu MTU master BRIDGE up (mtu 0: unchanged); -1 with errno (the kvm
 * backend's taps use it too) */
int xo_bridge_port(const char *vif, const char *bridge, unsigned mtu);

#endif
