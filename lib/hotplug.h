/*
 * hotplug.h: running the hotplug scripts of device backends.
 *
 * XO_HOTPLUG=builtin (the default) is xo doing what its own block and vif
 * scripts do, in the worker, without the shell (hotplug-builtin.h); a
 * device's own script, or a vif with locking rules, still runs its script.
 * XO_HOTPLUG=xo makes xo run the script itself right after writing a
 * backend, as xenopsd and libxl do (a dom0 without udev needs it). In both,
 * xo also writes /libxl/disable_udev so that udev-invoked scripts step
 * aside. XO_HOTPLUG=udev leaves the scripts to the udev rules in
 * share/udev/ (xo removes /libxl/disable_udev) and only waits.
 *
 * A script is run with the environment xenopsd and libxl give it:
 * XENBUS_PATH=backend/<kind>/<fe>/<devid>, XENBUS_TYPE, XENBUS_BASE_PATH,
 * script, and for a vif vif=vif<fe>.<devid>; arguments "add" / "remove"
 * for block devices, "online type_if=vif" / "offline type_if=vif" for vifs.
 * Its output goes to VM/<uuid>/hotplug.log, which is rotated: once it
 * holds XO_HOTPLUG_LOG_MAX bytes, the next opener renames it hotplug.log.1
 * (replacing the one before) and starts a new one. The scripts are found in
 * $XO_SCRIPT_DIR (default: the installed libexec directory), unless the
 * device names its own script (the backend's `script` key); xo runs a
 * device's own script only while xo_path_trusted() (util.h) accepts it.
 */
#ifndef XO_HOTPLUG_H
#define XO_HOTPLUG_H

#include <stdbool.h>
#include <stdint.h>

#include "spawn.h"

/* an XO_HOTPLUG other than builtin, xo or udev: class usage */
int xo_hotplug_check(xo_err *e);
/* xo runs the scripts, or does their work (builtin): not udev */
bool xo_hotplug_by_xo(void);
/* XO_HOTPLUG=builtin or unset (see hotplug-builtin.h) */
bool xo_hotplug_builtin_on(void);
#define XO_HOTPLUG_LOG_MAX (64 * 1024)
/* VM/<uuid>/hotplug.log for appending, where scripts and the builtin log; -1 if not */
int xo_hotplug_log_open(const char *uuid);
const char *xo_script_dir(void);
/* $XO_HOTPLUG_TIMEOUT seconds (default 300, as xenopsd) in ms */
int xo_hotplug_timeout_ms(void);
/* the script runs as a recorded process of the VM (res.h: proc.hotplug.<kind>.<devid>);
 * xo_hotplug_done() once it exited: the child closed, the record dropped (anything the
 * script left running is stopped) */
int xo_hotplug_spawn(const char *uuid, const char *script, const char *kind, uint32_t fe,
		     long devid, const char *action, struct xo_child *c, xo_err *e);
void xo_hotplug_done(const char *uuid, const char *kind, long devid, struct xo_child *c);

#endif
