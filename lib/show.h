/*
 * show.h: the human form of configuration objects, one record per line.
 *
 *   vm:   <uuid> <name> <type> <memory> <vcpus>
 *   vbd:  <name> <type> <mode> <backend or "-">
 *   vif:  <position> <mac> <bridge> <mtu> <locking mode>
 *   pci:  <position> <address>
 *
 * Fields are separated by one space and never contain spaces (paths with
 * spaces are printed quoted), so `cut -d' '` and `while read` work.
 */
#ifndef XO_SHOW_H
#define XO_SHOW_H

#include <stdio.h>

#include "config.h"

/* "UUID NAME TYPE MEMORY VCPUS STATE DOMID" (domid -1: "-") */
void xo_show_vm_line(FILE *f, const struct xo_vm *vm, const char *power_state, int domid);
void xo_show_vm_long(FILE *f, const struct xo_vm *vm, const struct xo_devices *d);
void xo_show_vbd_line(FILE *f, const struct xo_vbd *v);
void xo_show_vif_line(FILE *f, const struct xo_vif *v);
void xo_show_pci_line(FILE *f, const struct xo_pci *p);
/* the main of xo-vbd-list, xo-vif-list and xo-pci-list: kind is "vbd", "vif" or "pci" */
int xo_device_list_main(int argc, char **argv, const char *kind);
/* a value for a one-line record: "-" when empty, quoted when it has spaces */
void xo_show_field(FILE *f, const char *s);

#endif
