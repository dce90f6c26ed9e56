/*
 * device.h: the xenstore layout of devices, and plugging and unplugging them.
 *
 * For a device of kind K (vbd, vif, pci) with number N of domain D:
 *
 *   /local/domain/D/device/K/N             frontend: owned by D, dom0 may read
 *   /local/domain/0/backend/K/D/N          backend: owned by dom0, D may read
 *   /xo/domain/D/device/K/N                dom0-only copy: "xo plugged this"
 *   /xo/vm/<uuid>/private/K/N              dom0-only private keys (vif locking rules)
 *   /xo/vm/<uuid>/active/K/<name>          the active flag (kept across reboots)
 *
 * A plug writes all of them in one transaction, then (XO_HOTPLUG=xo) runs
 * the hotplug script and waits for hotplug-status or an error: backend
 * hotplug-error, the backend's xenbus error node, the script failing, the
 * hotplug timeout or a cancel. A failed plug removes what it wrote. Unplug
 * is the classic protocol: clean = online=0, state Closing, wait for the
 * frontend to close (or for the guest's error node: it refused), then
 * remove; force = online=0, remove the frontend, run the remove script,
 * remove the rest. VBD numbers are Linux device numbers (xvda = 51712),
 * VIF numbers their positions; PCI devices share one bus device 0.
 */
#ifndef XO_DEVICE_H
#define XO_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"
#include "task.h"

struct xo_devpaths {
	char fe[128], fe_copy[128], be[128], priv[160], be_err[160], fe_err[160];
};
void xo_devpaths(struct xo_devpaths *p, const char *uuid, uint32_t fe, const char *kind, long devid);

int xo_device_set_active(struct xo_backend *b, const char *uuid, const char *kind,
			 const char *id, bool active, xo_err *e);
bool xo_device_active(struct xo_backend *b, const char *uuid, const char *kind, const char *id);
/* tear down every vbd and vif backend of domain d, running the remove scripts */
void xo_device_release_all(struct xo_backend *b, const struct xo_vm *vm, uint32_t d);

/* the vbd's backend path as plugged: the scratch copy of a non-persistent disk */
char *xo_vbd_params(const char *uuid, const struct xo_vbd *v);
int xo_vbd_epoch_begin(const char *uuid, const struct xo_vbd *v, xo_err *e);
int xo_vbd_epoch_end(const char *uuid, const struct xo_vbd *v, xo_err *e);

int xo_vbd_plug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vbd *v,
		const struct xo_cancel *c, xo_err *e);
int xo_vbd_unplug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vbd *v, bool force,
		  const struct xo_cancel *c, xo_err *e);
bool xo_vbd_plugged(struct xo_backend *b, uint32_t domid, const struct xo_vbd *v);

int xo_vif_plug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vif *v,
		const struct xo_cancel *c, xo_err *e);
int xo_vif_unplug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vif *v, bool force,
		  const struct xo_cancel *c, xo_err *e);
bool xo_vif_plugged(struct xo_backend *b, uint32_t domid, const struct xo_vif *v);
/* write the frontend's carrier (the disconnect key) of a plugged vif */
int xo_vif_apply_carrier(struct xo_backend *b, uint32_t domid, const struct xo_vif *v, xo_err *e);
/* rewrite a plugged vif's locking rules and have the hotplug script apply them again */
int xo_vif_apply_locking(struct xo_backend *b, const struct xo_vm *vm, uint32_t domid,
			 const struct xo_vif *v, xo_err *e);

int xo_pci_plug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_pci *p, xo_err *e);
int xo_pci_unplug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_pci *p, xo_err *e);
bool xo_pci_plugged(struct xo_backend *b, uint32_t domid, const struct xo_pci *p);

/* xenbus states */
enum { XO_XB_UNKNOWN, XO_XB_INITIALISING, XO_XB_INITWAIT, XO_XB_INITIALISED, XO_XB_CONNECTED,
       XO_XB_CLOSING, XO_XB_CLOSED };

#endif
