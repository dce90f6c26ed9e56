/*
 * libvirt.h: the libvirt backend (backend-libvirt.so), inside.
 *
 * XO_LIBVIRT_URI names the connection (default qemu:///system; xen:///system
 * is libvirt's libxl driver). A VM is a persistent libvirt domain named
 * "xo-<name>" whose libvirt uuid is the VM's uuid and whose metadata holds
 * an element in xo's namespace (LV_NS): that element is how xo knows a
 * domain is its own; a domain without it is never touched, whatever its
 * name or uuid.
 *
 * The micro-ops: VM_create defines the domain from xo's configuration
 * (libvirt-xml.c, every string escaped) with no devices but its consoles,
 * and starts it paused (VIR_DOMAIN_START_PAUSED): libvirt cannot split
 * create from build, so there is no VM_build, and the device model is
 * libvirt's (qemu for the qemu driver, libxl's for Xen HVM): there is no
 * VM_create_device_model either. Each VBD, VIF and PCI plug then attaches
 * one device to the live domain (virDomainAttachDeviceFlags); unplugs
 * detach it. A definition (not a transient domain) is kept so that after a
 * guest stops its reason stays readable (shut off: shutdown or crashed),
 * as a shut-down Xen domain keeps its code until it is destroyed; VM_destroy
 * destroys and undefines it.
 *
 * Lifecycle actions: the guest's poweroff and crash stop the domain
 * (on_poweroff, on_crash destroy) and xo applies on_shutdown and on_crash
 * through check-state, as on Xen. libvirt's qemu driver reports a guest's
 * reboot as a poweroff when it stops the domain, so a reboot is libvirt's:
 * on_reboot start is libvirt's on_reboot restart (the same instance
 * resets, devices kept), on_reboot shutdown is destroy; the other actions
 * are refused at start.
 *
 * The crash-safety marker (backend.h) is kept in the runtime record's
 * backend object ("action_request"), written before the definition.
 *
 * Events (libvirt-event.c): this module registers its own event loop with
 * libvirt (virEventRegisterImpl) on an epoll descriptor, run in the
 * caller's thread: the watcher sleeps on that descriptor, and no thread of
 * libvirt's or ours exists when a worker forks.
 */
#ifndef XO_MOD_LIBVIRT_H
#define XO_MOD_LIBVIRT_H

#include <libvirt/libvirt.h>
#include <stdbool.h>

#include "backend.h"
#include "config.h"
#include "util.h"

#define LV_NS "https://xo.invalid/libvirt/1"
#define LV_NS_PREFIX "xo"

struct lv {
	virConnectPtr conn;
	bool xen;                    /* libvirt's libxl driver: else qemu */
	char uri[256];
};

static inline struct lv *LV(struct xo_backend *b)
{
	return b->priv;
}

/* ------------------------------------------------------------------ libvirt-xml.c */

/* append s escaped for XML text and attribute values; -1 (e set) when s holds a
 * character XML cannot carry */
int lv_esc(struct xo_buf *b, const char *s, const char *what, xo_err *e);
/* the domain's definition: no devices but the consoles; accel "kvm", "qemu" or "xen" */
int lv_domain_xml(const struct lv *lv, const struct xo_vm *vm, const char *accel,
		  const char *console_log, struct xo_buf *out, xo_err *e);
/* the guest's name of a vbd on this driver ("vda" for qemu's xvda), and its bus */
int lv_vbd_target(const struct lv *lv, const struct xo_vbd *v, char *dev, size_t size,
		  const char **bus, xo_err *e);
int lv_disk_xml(const struct lv *lv, const struct xo_vbd *v, const char *path,
		struct xo_buf *out, xo_err *e);
/* the host's name of a vif: qemu's tap "xo<8 hex of the vm uuid>.<position>" (libvirt
 * makes it with that name), Xen's "vif<domid>.<position>" (libxl names it: a name given
 * to libxl makes its vif script rename the vif, which fails) */
void lv_vif_ifname(const struct lv *lv, const char *uuid, int domid, int position, char *buf,
		   size_t size);
int lv_nic_xml(const struct lv *lv, const char *uuid, const struct xo_vif *v, bool carrier,
	       struct xo_buf *out, xo_err *e);
int lv_hostdev_xml(const struct xo_pci *p, struct xo_buf *out, xo_err *e);
/* what this driver cannot honour in a configuration */
int lv_check(const struct lv *lv, const struct xo_vm *vm, const struct xo_devices *d, xo_err *e);

/* finding things in libvirt's own XML (it formats attributes with single quotes) */
/* the element <tag ...>...</tag> (or <tag .../>) at or after p that contains needle */
const char *lv_xml_find(const char *xml, const char *tag, const char *needle, size_t *len);
/* attr='value' inside [p, p+len): the value into buf */
bool lv_xml_attr(const char *p, size_t len, const char *attr, char *buf, size_t size);

/* ------------------------------------------------------------------ libvirt-event.c */

/* register the loop with libvirt (once per process) and make it this process's (after a
 * fork the child gets its own epoll descriptor) */
int lv_loop_init(xo_err *e);
/* readable when the loop has something to do */
int lv_loop_fd(void);
/* run what is ready, without blocking */
void lv_loop_run(void);

/* ------------------------------------------------------------------ libvirt.c */

/* a libvirt error as an xo error: "what: libvirt's message" */
int lv_err(xo_err *e, enum xo_ecls cls, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
