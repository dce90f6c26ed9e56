/*
 * config.h: stored configuration: VMs and their devices in the state
 * directory (layout in state.h, JSON in model.h).
 *
 * xo_vm_add() builds the whole VM directory hidden (VM/.new.*), renames it
 * into place with RENAME_NOREPLACE, then claims the name with symlink(2);
 * a second VM with the same name loses the symlink race and is removed
 * again, so of two concurrent adds exactly one wins. Devices are created
 * with link(2) so a duplicate name or position fails instead of replacing.
 * Device edits hold the VM directory's shared flock, VM removal holds it
 * exclusively: a device is never added to a VM that is being removed.
 *
 * Lists come back sorted: VBDs by name, VIFs and PCIs by position.
 */
#ifndef XO_CONFIG_H
#define XO_CONFIG_H

#include <json-c/json.h>

#include "model.h"

struct xo_devices {
	struct xo_vbd *vbd;
	size_t n_vbd;
	struct xo_vif *vif;
	size_t n_vif;
	struct xo_pci *pci;
	size_t n_pci;
};
void xo_devices_free(struct xo_devices *d);

/* a whole VM in JSON: the VM object with optional "vbds", "vifs", "pcis" arrays */
int xo_vm_parse_full(const char *text, size_t len, const char *what, struct xo_vm *vm,
		     struct xo_devices *d, xo_err *e);
struct json_object *xo_vm_full_to_json(const struct xo_vm *vm, const struct xo_devices *d);

/* add: fills vm->uuid when empty, names/positions devices that have none */
int xo_vm_add(struct xo_vm *vm, struct xo_devices *d, xo_err *e);
int xo_vm_load(const char *uuid, struct xo_vm *vm, xo_err *e);
/* what stands for a VM whose configuration is unreadable (xo_vm_load failed with
 * invalid_argument) on the paths that release it: its uuid, also as its name */
void xo_vm_placeholder(const char *uuid, struct xo_vm *vm);
/* resolve a name or uuid and load */
int xo_vm_load_ref(const char *ref, struct xo_vm *vm, xo_err *e);
int xo_vm_remove(const char *uuid, xo_err *e);
/* every VM's uuid (lists VM/: for whole-host commands only) */
int xo_vm_list_uuids(char (**out)[XO_UUID_LEN + 1], size_t *n, xo_err *e);
/* the VM has a domain record (VM/<uuid>/extra): it is not Halted */
bool xo_vm_has_domain(const char *uuid);

int xo_devices_load(const char *uuid, struct xo_devices *d, xo_err *e);

int xo_vbd_add(const char *uuid, struct xo_vbd *v, xo_err *e);
int xo_vbd_save(const char *uuid, const struct xo_vbd *v, xo_err *e);
int xo_vbd_remove(const char *uuid, const char *name, xo_err *e);

int xo_vif_add(const char *uuid, struct xo_vif *v, xo_err *e);
int xo_vif_load(const char *uuid, int position, struct xo_vif *v, xo_err *e);
int xo_vif_save(const char *uuid, const struct xo_vif *v, xo_err *e);
int xo_vif_remove(const char *uuid, int position, xo_err *e);

int xo_pci_add(const char *uuid, struct xo_pci *p, xo_err *e);
int xo_pci_load(const char *uuid, int position, struct xo_pci *p, xo_err *e);
int xo_pci_remove(const char *uuid, int position, xo_err *e);

/* device references on the command line: "xvda", "0" */
int xo_vif_position_parse(const char *s, int *out, xo_err *e);

#endif
