/*
 * hv-xen.h: what the xen hypervisor calls (hv-xen.c, hv-xen-dm.c,
 * hv-xen-pci.c) share inside: the libxc handle with its logger, and the
 * error rendering that puts libxc's last message into an xo_err.
 */
#ifndef XO_HV_XEN_H
#define XO_HV_XEN_H

#define XC_WANT_COMPAT_MAP_FOREIGN_API 1
#include <xenctrl.h>
#include <xentoollog.h>

#include "xf.h"

struct xo_xtl {
	xentoollog_logger vtable;               /* first: libxc calls through it */
	char last[768];                         /* the last error-level message */
	xentoollog_logger *debug;               /* XO_XEN_DEBUG: everything to stderr */
};

struct xen_priv {
	xc_interface *xch;
	struct xo_xtl log;
	uint32_t physcap;                       /* XEN_SYSCTL_PHYSCAP_* */
};

static inline struct xen_priv *P(struct xf *x)
{
	return x->hv_priv;
}

static inline void clear_last(struct xen_priv *p)
{
	p->log.last[0] = '\0';
}

/* "<what>: <libxc's last message, or strerror(err)>", with the class err maps to */
int hvx_fail(struct xen_priv *p, xo_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* hv-xen-dm.c */
int hvx_dm_start(struct xf *x, uint32_t domid, const struct xf_dm_args *a, int *pid, xo_err *e);
int hvx_dm_stop(struct xf *x, const char *uuid, uint32_t domid, xo_err *e);
bool hvx_vnc_path(uint32_t domid, char *buf, size_t size);
int hvx_dm_media(struct xf *x, uint32_t domid, int index, const char *path, xo_err *e);
/* hv-xen-pci.c */
int hvx_pci_assign(struct xf *x, const char *uuid, uint32_t domid, const char *addr, xo_err *e);
int hvx_pci_deassign(struct xf *x, const char *uuid, uint32_t domid, const char *addr, xo_err *e);

#endif
