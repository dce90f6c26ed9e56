/*
 * devstate.h: what every backend shares about devices at run time.
 *
 * The active flag of a VBD or VIF (xenopsd's VBD.set_active) says the
 * device is meant to be plugged: set before a plug, cleared after an
 * unplug, kept across a reboot. It is an empty file
 * VM/<uuid>/active/<kind>.<id> (vbd.xvda, vif.0, pci.0): a fact about the
 * VM that any backend and the configuration store can read without asking
 * a host. Not fsynced: what it describes ends with the host anyway.
 *
 * A non-persistent VBD is served from a scratch copy next to its file
 * (xo_vbd_params): its epoch begins with a fresh copy of the original and
 * ends with the copy's removal.
 */
#ifndef XO_DEVSTATE_H
#define XO_DEVSTATE_H

#include <stdbool.h>

#include "err.h"
#include "model.h"

int xo_device_set_active(const char *uuid, const char *kind, const char *id, bool active,
			 xo_err *e);
bool xo_device_active(const char *uuid, const char *kind, const char *id);

/* the vbd's backend path as plugged: the scratch copy of a non-persistent disk */
char *xo_vbd_params(const char *uuid, const struct xo_vbd *v);
int xo_vbd_epoch_begin(const char *uuid, const struct xo_vbd *v, xo_err *e);
int xo_vbd_epoch_end(const char *uuid, const struct xo_vbd *v, xo_err *e);

#endif
