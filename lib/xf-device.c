/*
 * xf-device.c: the Xen family's VBD, VIF and PCI devices in xenstore.
 *
 * For a device of kind K (vbd, vif, pci) with number N of domain D:
 *
 *   /local/domain/D/device/K/N             frontend: owned by D, dom0 may read
 *   /local/domain/0/backend/K/D/N          backend: owned by dom0, D may read
 *   /xo/domain/D/device/K/N                dom0-only copy: "xo plugged this"
 *   /xo/vm/<uuid>/private/K/N              dom0-only private keys (vif locking rules)
 *   /libxl/D/device/K/N                    dom0-only: libxl's copy (frontend, backend and
 *                                          the backend's keys), what xl block-list and
 *                                          network-list read
 *
 * The frontend directory is the guest's, as libxl__device_generic_add makes it, but for
 * the keys libxl writes read-only (a vif's mtu).
 *
 * A plug writes all of them in one transaction, then (XO_HOTPLUG=xo) runs
 * the hotplug script and waits for hotplug-status or an error: backend
 * hotplug-error, the backend's xenbus error node, the script failing, the
 * hotplug timeout or a cancel. A failed plug removes what it wrote. Unplug
 * is the classic protocol: clean = online=0, state Closing, wait for the
 * frontend to close (or for the guest's error node: it refused), then
 * remove; force = online=0, remove the frontend, run the remove script,
 * remove the rest. A frontend whose domain has shut down or is gone cannot
 * answer: its clean unplug is a forced one. VBD numbers are Linux device
 * numbers (xvda = 51712), VIF numbers their positions; PCI devices share
 * one bus device 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devstate.h"
#include "res.h"
#include "hotplug-builtin.h"
#include "hotplug.h"
#include "updates.h"
#include "xf.h"

void xf_devpaths(struct xf_devpaths *p, const char *uuid, uint32_t fe, const char *kind, long devid)
{
	snprintf(p->fe, sizeof(p->fe), "/local/domain/%u/device/%s/%ld", fe, kind, devid);
	snprintf(p->fe_copy, sizeof(p->fe_copy), "/xo/domain/%u/device/%s/%ld", fe, kind, devid);
	snprintf(p->be, sizeof(p->be), "/local/domain/0/backend/%s/%u/%ld", kind, fe, devid);
	snprintf(p->priv, sizeof(p->priv), "/xo/vm/%s/private/%s/%ld", uuid, kind, devid);
	snprintf(p->be_err, sizeof(p->be_err), "/local/domain/0/error/backend/%s/%u/%ld/error", kind,
		 fe, devid);
	snprintf(p->fe_err, sizeof(p->fe_err), "/local/domain/%u/error/device/%s/%ld/error", fe, kind,
		 devid);
	snprintf(p->lx, sizeof(p->lx), "/libxl/%u/device/%s/%ld", fe, kind, devid);
}

/* ---------------------------------------------------------------- host resources */

/* the ledger's ids (res.h) for what a device's plug may create on the host: a loop device
 * on a vbd's file, the vif's interface and its nft table */
static void res_id(char *buf, size_t size, const char *what, const char *kind, long devid)
{
	snprintf(buf, size, "%s.%s.%ld", what, kind, devid);
}

/* after the backend went: whatever its scripts did not release, and the records */
static void release_resources(const char *uuid, const char *kind, long devid)
{
	char id[XO_RES_ID_MAX + 1];
	xo_err e;

	if (strcmp(kind, "vbd") == 0) {
		res_id(id, sizeof(id), "loop", kind, devid);
		if (xo_res_release(uuid, id, &e) < 0)
			xo_warn("%s", e.msg);
		return;
	}
	res_id(id, sizeof(id), "nft", kind, devid);
	if (xo_res_release(uuid, id, &e) < 0)
		xo_warn("%s", e.msg);
	res_id(id, sizeof(id), "netdev", kind, devid);
	if (xo_res_release(uuid, id, &e) < 0)
		xo_warn("%s", e.msg);
}

static void vif_name(char *buf, size_t size, uint32_t d, const struct xo_vif *v)
{
	snprintf(buf, size, "vif%u.%d", d, v->position);
}

static int record_vif(const char *uuid, uint32_t d, const struct xo_vif *v, xo_err *e)
{
	char id[XO_RES_ID_MAX + 1], ifname[32], table[48];

	vif_name(ifname, sizeof(ifname), d, v);
	res_id(id, sizeof(id), "netdev", "vif", v->position);
	if (xo_res_netdev(uuid, id, ifname, e) < 0)
		return -1;
	if (v->locking_mode == XO_LOCK_UNLOCKED)
		return 0;
	snprintf(table, sizeof(table), "xo-%s", ifname);
	res_id(id, sizeof(id), "nft", "vif", v->position);
	return xo_res_nft(uuid, id, "netdev", table, e);
}

/* the interface says whose it is (its alias), so that a repair after a restart of the
 * host's domids never takes another VM's */
static void vif_mark(const char *uuid, uint32_t d, const struct xo_vif *v)
{
	char ifname[32], path[96], tag[64];
	int fd;

	vif_name(ifname, sizeof(ifname), d, v);
	snprintf(path, sizeof(path), "/sys/class/net/%s/ifalias", ifname);
	snprintf(tag, sizeof(tag), "xo:%s", uuid);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		if (xo_write_all(fd, tag, strlen(tag)) < 0)
			xo_warn("unable to mark interface %s as vm %s's: %s", ifname, uuid, strerror(errno));
		close(fd);
	}
}

/* ---------------------------------------------------------------- common plug machinery */

struct kv {
	const char *k;
	char v[1100];
};

static int write_dir(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const struct xo_xs_perms *perms, const struct kv *kvs, int n, xo_err *e)
{
	char p[512];

	if (xo_xs_mkdir(xs, t, dir, perms, e) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, kvs[i].k);
		if (xo_xs_write(xs, t, p, kvs[i].v, e) < 0)
			return -1;
	}
	return 0;
}

static int write_kvs(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const struct xo_kvs *m, xo_err *e)
{
	char p[512];

	for (size_t i = 0; i < m->n; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, m->v[i].k);
		if (xo_xs_write(xs, t, p, m->v[i].v, e) < 0)
			return -1;
	}
	return 0;
}

struct add {
	uint32_t domid;
	const struct xf_devpaths *p;
	struct kv fe[10], be[20], priv[12];
	int nfe, nbe, npriv;
	const struct xo_kvs *extra_be, *extra_priv;
	const char *fe_ro;           /* a frontend key the guest may only read, or NULL */
};

static void kv_set(struct kv *kvs, int *n, const char *k, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void kv_set(struct kv *kvs, int *n, const char *k, const char *fmt, ...)
{
	va_list ap;
	kvs[*n].k = k;
	va_start(ap, fmt);
	vsnprintf(kvs[*n].v, sizeof(kvs[*n].v), fmt, ap);
	va_end(ap);
	(*n)++;
}

static int add_device(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	struct add *a = arg;
	const struct xf_devpaths *p = a->p;
	struct xo_xs_perms fe = xo_xs_perm_owner_reader(a->domid, 0);
	struct xo_xs_perms be = xo_xs_perm_owner_reader(0, a->domid);
	struct xo_xs_perms z = xo_xs_perm_dom0();
	struct kv copy[2];
	int ncopy = 0;

	if (xo_xs_rm(xs, t, p->fe, e) < 0 || xo_xs_rm(xs, t, p->fe_copy, e) < 0 ||
	    xo_xs_rm(xs, t, p->be, e) < 0 || xo_xs_rm(xs, t, p->priv, e) < 0 ||
	    xo_xs_rm(xs, t, p->be_err, e) < 0 || xo_xs_rm(xs, t, p->fe_err, e) < 0 ||
	    xo_xs_rm(xs, t, p->lx, e) < 0)
		return -1;
	if (write_dir(xs, t, p->fe, &fe, a->fe, a->nfe, e) < 0)
		return -1;
	if (a->fe_ro) {
		char k[256];
		snprintf(k, sizeof(k), "%s/%s", p->fe, a->fe_ro);
		if (xo_xs_set_perms(xs, t, k, &be, e) < 0)
			return -1;
	}
	kv_set(copy, &ncopy, "backend", "%s", p->be);
	kv_set(copy, &ncopy, "frontend", "%s", p->fe);
	if (write_dir(xs, t, p->fe_copy, &z, copy, ncopy, e) < 0)
		return -1;
	if (write_dir(xs, t, p->be, &be, a->be, a->nbe, e) < 0)
		return -1;
	if (a->extra_be && write_kvs(xs, t, p->be, a->extra_be, e) < 0)
		return -1;
	/* libxl's copy: the same keys as the backend's, and where both ends are */
	if (write_dir(xs, t, p->lx, &z, copy, ncopy, e) < 0 ||
	    write_dir(xs, t, p->lx, NULL, a->be, a->nbe, e) < 0)
		return -1;
	if (a->extra_be && write_kvs(xs, t, p->lx, a->extra_be, e) < 0)
		return -1;
	if (write_dir(xs, t, p->priv, &z, a->priv, a->npriv, e) < 0)
		return -1;
	if (a->extra_priv && write_kvs(xs, t, p->priv, a->extra_priv, e) < 0)
		return -1;
	return 0;
}

/* write the device's directories in one transaction. What other domains' plugs share
 * stays out of it, or every concurrent plug would conflict with every other one and
 * retry: /libxl/disable_udev is written only when it changes, and the backend's
 * per-domain parent (backend/<kind>/<domid>, a new child of the kind's directory) is
 * made first */
static int add_device_tx(struct xs_handle *xs, struct add *a, xo_err *e)
{
	char v[8], parent[128];
	bool set = xo_xs_read_buf(xs, XBT_NULL, "/libxl/disable_udev", v, sizeof(v));

	if (xo_hotplug_by_xo() && !(set && strcmp(v, "1") == 0)) {
		if (xo_xs_write(xs, XBT_NULL, "/libxl/disable_udev", "1", e) < 0)
			return -1;
	} else if (!xo_hotplug_by_xo() && set) {
		if (xo_xs_rm(xs, XBT_NULL, "/libxl/disable_udev", e) < 0)
			return -1;
	}
	xo_strlcpy(parent, a->p->be, sizeof(parent));
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	if (xo_xs_mkdir(xs, XBT_NULL, parent, NULL, e) < 0)   /* a no-op when it exists */
		return -1;
	xo_strlcpy(parent, a->p->lx, sizeof(parent));
	if ((slash = strrchr(parent, '/')))
		*slash = 0;
	if (xo_xs_mkdir(xs, XBT_NULL, parent, NULL, e) < 0)
		return -1;
	return xo_xs_transaction(xs, add_device, a, e);
}

/* what a plug waits for */
struct hp_wait {
	const struct xf_devpaths *p;
	struct xo_child *child;      /* the script xo runs, or NULL */
	bool want_initwait;          /* vif: netback created the device (state >= 2) */
	const char *script;
};

static int hp_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct hp_wait *w = arg;
	char k[256], v[1024];

	snprintf(k, sizeof(k), "%s/hotplug-error", w->p->be);
	if (xo_xs_read_buf(xs, XBT_NULL, k, v, sizeof(v)))
		return xo_errf(e, XO_E_HOTPLUG, "hotplug script failed: %s", v);
	if (xo_xs_read_buf(xs, XBT_NULL, w->p->be_err, v, sizeof(v)))
		return xo_errf(e, XO_E_HOTPLUG, "backend failed: %s", v);
	if (w->want_initwait) {
		snprintf(k, sizeof(k), "%s/state", w->p->be);
		xo_xs_read_buf(xs, XBT_NULL, k, v, sizeof(v));
		return atoi(v) >= XO_XB_INITWAIT ? 1 : 0;
	}
	snprintf(k, sizeof(k), "%s/hotplug-status", w->p->be);
	if (xo_xs_read_buf(xs, XBT_NULL, k, v, sizeof(v))) {
		if (strcmp(v, "connected") == 0)
			return 1;
		/* a script writes why before the status: it may have come since the first look */
		char why[1024];
		snprintf(k, sizeof(k), "%s/hotplug-error", w->p->be);
		if (xo_xs_read_buf(xs, XBT_NULL, k, why, sizeof(why)))
			return xo_errf(e, XO_E_HOTPLUG, "hotplug script failed: %s", why);
		return xo_errf(e, XO_E_HOTPLUG, "hotplug script failed: hotplug-status is '%s'", v);
	}
	if (w->child && xo_child_poll(w->child)) {
		char how[64];
		if (WIFEXITED(w->child->status) && WEXITSTATUS(w->child->status) == 0)
			return 0;    /* it may have handed over to something else: keep waiting */
		xo_child_describe(w->child, how, sizeof(how));
		return xo_errf(e, XO_E_HOTPLUG, "hotplug script '%s' %s without reporting why",
			       w->script, how);
	}
	return 0;
}

static int hp_wait(struct xf *x, struct hp_wait *w, const char *what,
		   const struct xo_cancel *c, xo_err *e)
{
	char status[256], herr[256];
	struct xo_xs_wait xw = { .cond = hp_cond, .arg = w, .timeout_ms = xo_hotplug_timeout_ms(),
				 .timeout_cls = XO_E_DEVICE_TIMEOUT, .what = what, .cancel = c,
				 .extra_fd = w->child ? w->child->pidfd : -1 };
	int n = 0;

	snprintf(status, sizeof(status), "%s/%s", w->p->be, w->want_initwait ? "state" : "hotplug-status");
	snprintf(herr, sizeof(herr), "%s/hotplug-error", w->p->be);
	xw.paths[n++] = status;
	xw.paths[n++] = herr;
	xw.paths[n++] = w->p->be_err;
	return xo_xs_wait(x->xs, &xw, e);
}

/* run the hotplug script (XO_HOTPLUG=xo) and wait for its verdict */
static int hotplug(struct xf *x, const char *uuid, uint32_t d, const char *kind,
		   long devid, const struct xf_devpaths *p, const char *script, const char *action,
		   const char *what, const struct xo_cancel *c, xo_err *e)
{
	struct xo_child child;
	struct hp_wait w = { .p = p, .child = NULL, .script = script };
	int r;

	if (strcmp(kind, "vif") == 0) {
		/* netback must have created the vif device before the script can bridge it */
		w.want_initwait = true;
		char initwait[160];
		snprintf(initwait, sizeof(initwait), "the backend of %s", what);
		if (hp_wait(x, &w, initwait, c, e) < 0)
			return -1;
		w.want_initwait = false;
	}
	if (!xo_hotplug_by_xo() || xo_hotplug_builtin(x->xs, uuid, script, kind, d, devid, action))
		return hp_wait(x, &w, what, c, e);
	if (xo_hotplug_spawn(uuid, script, kind, d, devid, action, &child, e) < 0)
		return -1;
	w.child = &child;
	r = hp_wait(x, &w, what, c, e);
	if (r < 0) {
		xo_child_kill(&child);
		char k[256];
		/* a script killed half-way leaves no verdict: make the failure visible */
		snprintf(k, sizeof(k), "%s/hotplug-status", p->be);
		if (!xo_xs_exists(x->xs, XBT_NULL, k)) {
			xo_err ignore;
			snprintf(k, sizeof(k), "%s/hotplug-error", p->be);
			xo_xs_write(x->xs, XBT_NULL, k, e->msg, &ignore);
		}
	} else {
		xo_child_wait_ms(&child, xo_hotplug_timeout_ms());
	}
	xo_hotplug_done(uuid, kind, devid, &child);
	return r;
}

/* the generic half of an unplug: frontend gone, remove script, backend gone */
/* did the add script run (a verdict in the backend)? Asked before the unplug starts:
 * netback removes hotplug-status itself once the frontend is gone, and the remove
 * action must run all the same */
static bool hotplug_ran(struct xf *x, const struct xf_devpaths *p)
{
	char k[256];
	snprintf(k, sizeof(k), "%s/hotplug-status", p->be);
	if (xo_xs_exists(x->xs, XBT_NULL, k))
		return true;
	snprintf(k, sizeof(k), "%s/hotplug-error", p->be);
	return xo_xs_exists(x->xs, XBT_NULL, k);
}

/* ran: whether the add script ran, asked before anything of the unplug happened */
static void teardown(struct xf *x, const char *uuid, uint32_t d, const char *kind,
		     long devid, const struct xf_devpaths *p, const char *script, bool ran)
{
	char k[256];
	xo_err ignore;

	snprintf(k, sizeof(k), "%s/online", p->be);
	if (xo_xs_exists(x->xs, XBT_NULL, p->be))
		xo_xs_write(x->xs, XBT_NULL, k, "0", &ignore);
	xo_xs_rm(x->xs, XBT_NULL, p->fe, NULL);
	xo_xs_rm(x->xs, XBT_NULL, p->fe_copy, NULL);
	if (ran && xo_hotplug_by_xo() && script && *script) {
		struct xo_child child;
		const char *action = strcmp(kind, "vif") == 0 ? "offline" : "remove";
		if (!xo_hotplug_builtin(x->xs, uuid, script, kind, d, devid, action) &&
		    xo_hotplug_spawn(uuid, script, kind, d, devid, action, &child, &ignore) == 0) {
			/* a remove script that hangs is killed: the teardown goes on */
			xo_child_wait_ms(&child, xo_hotplug_timeout_ms());
			xo_hotplug_done(uuid, kind, devid, &child);
		}
	}
	xo_xs_rm(x->xs, XBT_NULL, p->be, NULL);
	xo_xs_rm(x->xs, XBT_NULL, p->be_err, NULL);
	xo_xs_rm(x->xs, XBT_NULL, p->fe_err, NULL);
	xo_xs_rm(x->xs, XBT_NULL, p->priv, NULL);
	xo_xs_rm(x->xs, XBT_NULL, p->lx, NULL);
	release_resources(uuid, kind, devid);
}

/* what a domain's destruction must not leave behind: every vbd and vif backend of
 * domain d still in xenstore is torn down, its remove script run (xenopsd's
 * Domain.destroy: hard_shutdown and Hotplug.release of every device) */
void xf_device_release_all(struct xf *x, const char *uuid, uint32_t d)
{
	static const char *const kinds[] = { "vbd", "vif", NULL };

	for (const char *const *k = kinds; *k; k++) {
		char dir[96];
		unsigned int n = 0;
		snprintf(dir, sizeof(dir), "/local/domain/0/backend/%s/%u", *k, d);
		char **ids = xo_xs_ls(x->xs, XBT_NULL, dir, &n);
		for (unsigned int i = 0; ids && i < n; i++) {
			struct xf_devpaths p = { 0 };
			char key[200];
			long devid = strtol(ids[i], NULL, 10);
			xf_devpaths(&p, uuid, d, *k, devid);
			snprintf(key, sizeof(key), "%s/script", p.be);
			char *script = xo_xs_read(x->xs, XBT_NULL, key);
			if (!script)
				script = xasprintf("%s/%s", xo_script_dir(),
						   strcmp(*k, "vbd") == 0 ? "block" : "vif");
			teardown(x, uuid, d, *k, devid, &p, script, hotplug_ran(x, &p));
			free(script);
		}
		free(ids);
	}
}

/* a frontend that can no longer answer: its domain has shut down, is dying or is gone */
static bool frontend_dead(struct xf *x, uint32_t domid)
{
	struct xf_dominfo di;
	xo_err ignore;

	if (xf_dom_info(x, domid, &di, &ignore) < 0)
		return ignore.cls == XO_E_NOT_FOUND;
	return di.shutdown || di.dying;
}

/* the clean half: ask the frontend to close and wait; the guest may refuse. A domain that
 * shuts down meanwhile ends the wait: its frontend will never answer */
struct close_wait {
	struct xf *x;
	uint32_t domid;
	const struct xf_devpaths *p;
};

static int close_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct close_wait *w = arg;
	char k[256], v[1024];

	if (frontend_dead(w->x, w->domid))
		return 1;
	if (xo_xs_read_buf(xs, XBT_NULL, w->p->fe_err, v, sizeof(v)))
		return xo_errf(e, XO_E_DETACH_REJECTED, "the guest refused: %s", v);
	snprintf(k, sizeof(k), "%s/state", w->p->fe);
	if (!xo_xs_read_buf(xs, XBT_NULL, k, v, sizeof(v)))
		return 1;
	return atoi(v) == XO_XB_CLOSED ? 1 : 0;
}

static int begin_close(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	const struct xf_devpaths *p = arg;
	char k[256], v[16];

	snprintf(k, sizeof(k), "%s/online", p->be);
	if (xo_xs_write(xs, t, k, "0", e) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/state", p->be);
	xo_xs_read_buf(xs, t, k, v, sizeof(v));
	if (atoi(v) != XO_XB_CLOSED)
		return xo_xs_write(xs, t, k, "5", e);
	return 0;
}

static int clean_close(struct xf *x, uint32_t domid, const struct xf_devpaths *p,
		       const char *what, const struct xo_cancel *c, xo_err *e)
{
	struct close_wait w = { x, domid, p };
	char festate[160], state_before[16] = "";
	char k[256];
	struct xo_xs_wait xw = { .cond = close_cond, .arg = &w, .timeout_ms = xo_hotplug_timeout_ms(),
				 .timeout_cls = XO_E_DEVICE_TIMEOUT, .what = what, .cancel = c,
				 .extra_fd = -1 };

	snprintf(k, sizeof(k), "%s/state", p->be);
	xo_xs_read_buf(x->xs, XBT_NULL, k, state_before, sizeof(state_before));
	if (xo_xs_transaction(x->xs, begin_close, (void *)p, e) < 0)
		return -1;
	snprintf(festate, sizeof(festate), "%s/state", p->fe);
	xw.paths[0] = festate;
	xw.paths[1] = p->fe_err;
	xw.paths[2] = "@releaseDomain";
	if (xo_xs_wait(x->xs, &xw, e) == 0)
		return 0;
	if (e->cls == XO_E_DETACH_REJECTED) {
		/* the device stays in use: put the backend back as it was */
		xo_err ignore;
		snprintf(k, sizeof(k), "%s/online", p->be);
		xo_xs_write(x->xs, XBT_NULL, k, "1", &ignore);
		snprintf(k, sizeof(k), "%s/state", p->be);
		if (state_before[0])
			xo_xs_write(x->xs, XBT_NULL, k, state_before, &ignore);
		xo_xs_rm(x->xs, XBT_NULL, p->fe_err, NULL);
	}
	return -1;
}

/* ---------------------------------------------------------------- VBD */

static char *vbd_script(const struct xo_vbd *v)
{
	return v->script ? xstrdup(v->script) : xasprintf("%s/block", xo_script_dir());
}

bool xf_vbd_plugged(struct xf *x, uint32_t domid, const struct xo_vbd *v)
{
	char p[128];
	snprintf(p, sizeof(p), "/xo/domain/%u/device/vbd/%ld", domid, xo_vbd_devid(v->name));
	return xo_xs_exists(x->xs, XBT_NULL, p);
}

int xf_vbd_plug(struct xo_ctx *ctx, const struct xo_vbd *v, xo_err *e)
{
	struct xf *x = XF(ctx->b);
	const struct xo_vm *vm = &ctx->vm;
	const struct xo_cancel *c = &ctx->cancel;
	struct xf_devpaths p = { 0 };
	struct add a;
	uint32_t d;
	long devid = xo_vbd_devid(v->name);
	char *params = NULL, *script = NULL, what[96], rid[XO_RES_ID_MAX + 1], node[160];
	const char *dtype = xo_vbd_type_name(v->type);
	int r = -1;

	if (xf_need_domain(x, vm, &d, e) < 0)
		return -1;
	xf_devpaths(&p, vm->uuid, d, "vbd", devid);
	if (xo_xs_exists(x->xs, XBT_NULL, p.fe_copy))
		return xo_errf(e, XO_E_EXISTS, "vbd %s is already plugged", v->name);
	if (!v->backend[0] && vm->type != XO_VM_HVM)
		return 0;   /* an empty drive: pv guests have no use for it (as xenopsd) */
	/* xl list -l: libxl's record lists the device before xenstore has it */
	if (xf_userdata_write(x, vm, &ctx->d, d, e) < 0)
		return -1;
	params = xo_vbd_params(vm->uuid, v);
	script = vbd_script(v);
	memset(&a, 0, sizeof(a));
	a.domid = d;
	a.p = &p;
	kv_set(a.fe, &a.nfe, "backend", "%s", p.be);
	kv_set(a.fe, &a.nfe, "backend-id", "0");
	kv_set(a.fe, &a.nfe, "state", "1");
	kv_set(a.fe, &a.nfe, "virtual-device", "%ld", devid);
	kv_set(a.fe, &a.nfe, "device-type", "%s", dtype);
	kv_set(a.fe, &a.nfe, "trusted", "1");
	kv_set(a.be, &a.nbe, "frontend", "%s", p.fe);
	kv_set(a.be, &a.nbe, "frontend-id", "%u", d);
	kv_set(a.be, &a.nbe, "online", "1");
	kv_set(a.be, &a.nbe, "removable", "%d", v->unpluggable ? 1 : 0);
	kv_set(a.be, &a.nbe, "bootable", "1");
	kv_set(a.be, &a.nbe, "state", "1");
	kv_set(a.be, &a.nbe, "dev", "%s", v->name);
	kv_set(a.be, &a.nbe, "type", "phy");
	kv_set(a.be, &a.nbe, "mode", "%s", v->mode == XO_VBD_RW ? "w" : "r");
	kv_set(a.be, &a.nbe, "params", "%s", params);
	kv_set(a.be, &a.nbe, "device-type", "%s", dtype);
	kv_set(a.be, &a.nbe, "script", "%s", script);
	/* as libxl: no discard on a read-only disk (blkback offers it unless told); a backend
	 * key of the VBD's own (written after) still decides */
	kv_set(a.be, &a.nbe, "discard-enable", "%d", v->mode == XO_VBD_RW ? 1 : 0);
	kv_set(a.be, &a.nbe, "specification", "xen");
	kv_set(a.priv, &a.npriv, "name", "%s", v->name);
	kv_set(a.priv, &a.npriv, "backend-kind", "vbd");
	kv_set(a.priv, &a.npriv, "backend-id", "0");
	kv_set(a.priv, &a.npriv, "persistent", "%d", v->persistent ? 1 : 0);
	a.extra_be = &v->extra_backend_keys;
	a.extra_priv = &v->extra_private_keys;
	/* a loop device may come: recorded before anything can make it */
	res_id(rid, sizeof(rid), "loop", "vbd", devid);
	if (xo_res_loop(vm->uuid, rid, params, e) < 0 || add_device_tx(x->xs, &a, e) < 0)
		goto out;
	snprintf(what, sizeof(what), "the hotplug script of vbd %s", v->name);
	if (hotplug(x, vm->uuid, d, "vbd", devid, &p, script, "add", what, c, e) < 0) {
		teardown(x, vm->uuid, d, "vbd", devid, &p, script, hotplug_ran(x, &p));
		goto out;
	}
	/* the script's loop device, now that it is known: its release takes that one */
	snprintf(node, sizeof(node), "%s/node", p.be);
	char nodev[64];
	if (xo_xs_read_buf(x->xs, XBT_NULL, node, nodev, sizeof(nodev))) {
		xo_err ignore;
		xo_res_loop_node(vm->uuid, rid, nodev, &ignore);
	}
	xo_updates_emit2("vbd", vm->uuid, v->name);
	r = 0;
out:
	free(params);
	free(script);
	return r;
}

/* the unplug both kinds share: clean (ask the guest, it may refuse) unless force, then
 * tear down with the backend's own script, or fallback; 1 = done, 0 = nothing plugged */
static int unplug(struct xf *x, const struct xo_vm *vm, const char *kind, long devid,
		  const char *name, const char *fallback, bool force, const struct xo_cancel *c,
		  xo_err *e)
{
	struct xf_devpaths p = { 0 };
	struct xf_dominfo di;
	uint32_t d;
	char what[96];
	bool dead;
	int r = xf_find_domain(x, vm->uuid, &d, &di, e);

	if (r < 0)
		return -1;
	if (r == 0) {
		/* no domain: its destruction took the devices with it, unless it went without
		 * one (then what it left of this device is released here) */
		if ((r = xf_destroy_target(x, vm->uuid, &d, e)) <= 0)
			return r;
		dead = true;
	} else {
		dead = di.shutdown || di.dying;
	}
	xf_devpaths(&p, vm->uuid, d, kind, devid);
	if (!xo_xs_exists(x->xs, XBT_NULL, p.fe_copy) && !xo_xs_exists(x->xs, XBT_NULL, p.be))
		return 0;
	bool ran = hotplug_ran(x, &p);
	/* a dead frontend never closes: the forced path at once, not the hotplug timeout */
	if (!force && !dead) {
		snprintf(what, sizeof(what), "the guest to release %s %s", kind, name);
		if (clean_close(x, d, &p, what, c, e) < 0)
			return -1;
	}
	snprintf(what, sizeof(what), "%s/script", p.be);
	char *script = xo_xs_read(x->xs, XBT_NULL, what);
	teardown(x, vm->uuid, d, kind, devid, &p, script ? script : fallback, ran);
	free(script);
	return 1;
}

int xf_vbd_unplug(struct xo_ctx *ctx, const struct xo_vbd *v, bool force, xo_err *e)
{
	struct xf *x = XF(ctx->b);
	const struct xo_vm *vm = &ctx->vm;
	const struct xo_cancel *c = &ctx->cancel;
	char *fallback = vbd_script(v);
	int r = unplug(x, vm, "vbd", xo_vbd_devid(v->name), v->name, fallback, force, c, e);

	free(fallback);
	if (r <= 0)
		return r;
	xo_updates_emit2("vbd", vm->uuid, v->name);
	return 0;
}

/* a pv guest sees a drive only with a disc in it (as xenopsd): the device is unplugged on
 * eject and plugged on insert. An hvm guest's emulated cd drive (ide index 0-3) stays
 * and its device model changes the disc (QMP) */
int xf_vbd_media(struct xo_ctx *ctx, const struct xo_vbd *v, xo_err *e)
{
	struct xf *x = XF(ctx->b);
	uint32_t d;
	int r = xf_find_domain(x, ctx->vm.uuid, &d, NULL, e);
	int idx = xo_vbd_disk_index(v->name);

	if (r <= 0)
		return r;
	if (ctx->vm.type == XO_VM_HVM && v->type == XO_VBD_CDROM && idx >= 0 && idx <= 3 &&
	    x->hv->dm_media && x->hv->dm_media(x, d, idx, v->backend, e) < 0)
		return -1;
	bool plugged = xf_vbd_plugged(x, d, v);
	if (!v->backend[0])
		return plugged ? xf_vbd_unplug(ctx, v, true, e) : 0;
	if (plugged || !xo_device_active(ctx->vm.uuid, "vbd", v->name))
		return 0;
	return xf_vbd_plug(ctx, v, e);
}

/* ---------------------------------------------------------------- VIF */

static char *vif_script(const struct xo_vif *v)
{
	return v->script ? xstrdup(v->script) : xasprintf("%s/vif", xo_script_dir());
}

static char *join(char **v, size_t n)
{
	struct xo_buf b = XO_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			xo_buf_puts(&b, ",");
		xo_buf_puts(&b, v[i]);
	}
	return xo_buf_detach(&b);
}

bool xf_vif_plugged(struct xf *x, uint32_t domid, const struct xo_vif *v)
{
	char p[128];
	snprintf(p, sizeof(p), "/xo/domain/%u/device/vif/%d", domid, v->position);
	return xo_xs_exists(x->xs, XBT_NULL, p);
}

static bool vif_carrier(const struct xo_vif *v)
{
	return v->carrier && v->locking_mode != XO_LOCK_DISABLED;
}

int xf_vif_plug(struct xo_ctx *ctx, const struct xo_vif *v, xo_err *e)
{
	struct xf *x = XF(ctx->b);
	const struct xo_vm *vm = &ctx->vm;
	const struct xo_cancel *c = &ctx->cancel;
	struct xf_devpaths p = { 0 };
	struct add a;
	uint32_t d;
	char *script = NULL, *v4, *v6, what[96];
	int r = -1;

	if (xf_need_domain(x, vm, &d, e) < 0)
		return -1;
	xf_devpaths(&p, vm->uuid, d, "vif", v->position);
	if (xo_xs_exists(x->xs, XBT_NULL, p.fe_copy))
		return xo_errf(e, XO_E_EXISTS, "vif %d is already plugged", v->position);
	if (xf_userdata_write(x, vm, &ctx->d, d, e) < 0)
		return -1;
	script = vif_script(v);
	memset(&a, 0, sizeof(a));
	a.domid = d;
	a.p = &p;
	kv_set(a.fe, &a.nfe, "backend", "%s", p.be);
	kv_set(a.fe, &a.nfe, "backend-id", "0");
	kv_set(a.fe, &a.nfe, "state", "1");
	kv_set(a.fe, &a.nfe, "handle", "%d", v->position);
	kv_set(a.fe, &a.nfe, "mac", "%s", v->mac);
	kv_set(a.fe, &a.nfe, "disconnect", "%d", vif_carrier(v) ? 0 : 1);
	kv_set(a.fe, &a.nfe, "mtu", "%u", v->mtu);
	kv_set(a.fe, &a.nfe, "trusted", "1");
	a.fe_ro = "mtu";     /* libxl's ro_front: the guest reads its mtu, never sets it */
	kv_set(a.be, &a.nbe, "frontend", "%s", p.fe);
	kv_set(a.be, &a.nbe, "frontend-id", "%u", d);
	kv_set(a.be, &a.nbe, "online", "1");
	kv_set(a.be, &a.nbe, "state", "1");
	kv_set(a.be, &a.nbe, "script", "%s", script);
	kv_set(a.be, &a.nbe, "mac", "%s", v->mac);
	kv_set(a.be, &a.nbe, "handle", "%d", v->position);
	kv_set(a.be, &a.nbe, "bridge", "%s", v->bridge);
	kv_set(a.be, &a.nbe, "mtu", "%u", v->mtu);
	kv_set(a.be, &a.nbe, "type", "vif");
	if (v->rate_kbytes_per_s) {
		unsigned long long bytes =
			v->rate_kbytes_per_s * 1024ull * v->rate_timeslice_us / 1000000ull;
		kv_set(a.be, &a.nbe, "rate", "%llu,%u", bytes, v->rate_timeslice_us);
	}
	v4 = join(v->ipv4_allowed, v->n_ipv4);
	v6 = join(v->ipv6_allowed, v->n_ipv6);
	kv_set(a.priv, &a.npriv, "backend-kind", "vif");
	kv_set(a.priv, &a.npriv, "backend-id", "0");
	kv_set(a.priv, &a.npriv, "bridge", "%s", v->bridge);
	kv_set(a.priv, &a.npriv, "mac", "%s", v->mac);
	kv_set(a.priv, &a.npriv, "mtu", "%u", v->mtu);
	kv_set(a.priv, &a.npriv, "locking-mode", "%s", xo_lock_mode_name(v->locking_mode));
	kv_set(a.priv, &a.npriv, "ipv4-allowed", "%s", v4);
	kv_set(a.priv, &a.npriv, "ipv6-allowed", "%s", v6);
	free(v4);
	free(v6);
	a.extra_priv = &v->extra_private_keys;
	/* the interface the backend makes, and the port-locking rules its script may add */
	if (record_vif(vm->uuid, d, v, e) < 0 || add_device_tx(x->xs, &a, e) < 0)
		goto out;
	snprintf(what, sizeof(what), "the hotplug script of vif %d", v->position);
	if (hotplug(x, vm->uuid, d, "vif", v->position, &p, script, "online", what, c, e) < 0) {
		teardown(x, vm->uuid, d, "vif", v->position, &p, script, hotplug_ran(x, &p));
		goto out;
	}
	vif_mark(vm->uuid, d, v);
	char id[16];
	snprintf(id, sizeof(id), "%d", v->position);
	xo_updates_emit2("vif", vm->uuid, id);
	r = 0;
out:
	free(script);
	return r;
}

int xf_vif_unplug(struct xo_ctx *ctx, const struct xo_vif *v, bool force, xo_err *e)
{
	struct xf *x = XF(ctx->b);
	const struct xo_vm *vm = &ctx->vm;
	const struct xo_cancel *c = &ctx->cancel;
	char id[16], *fallback = vif_script(v);
	int r;

	snprintf(id, sizeof(id), "%d", v->position);
	r = unplug(x, vm, "vif", v->position, id, fallback, force, c, e);
	free(fallback);
	if (r <= 0)
		return r;
	xo_updates_emit2("vif", vm->uuid, id);
	return 0;
}

static int apply_carrier(struct xf *x, uint32_t domid, const struct xo_vif *v, xo_err *e)
{
	char k[160];
	snprintf(k, sizeof(k), "/local/domain/%u/device/vif/%d/disconnect", domid, v->position);
	return xo_xs_write(x->xs, XBT_NULL, k, vif_carrier(v) ? "0" : "1", e);
}

static int apply_locking(struct xf *x, const struct xo_vm *vm, uint32_t domid,
			 const struct xo_vif *v, xo_err *e)
{
	struct xf_devpaths p = { 0 };
	char k[256], *v4, *v6, *script;
	int r = -1;

	xf_devpaths(&p, vm->uuid, domid, "vif", v->position);
	v4 = join(v->ipv4_allowed, v->n_ipv4);
	v6 = join(v->ipv6_allowed, v->n_ipv6);
	snprintf(k, sizeof(k), "%s/locking-mode", p.priv);
	if (xo_xs_write(x->xs, XBT_NULL, k, xo_lock_mode_name(v->locking_mode), e) < 0)
		goto out;
	snprintf(k, sizeof(k), "%s/ipv4-allowed", p.priv);
	if (xo_xs_write(x->xs, XBT_NULL, k, v4, e) < 0)
		goto out;
	snprintf(k, sizeof(k), "%s/ipv6-allowed", p.priv);
	if (xo_xs_write(x->xs, XBT_NULL, k, v6, e) < 0)
		goto out;
	if (apply_carrier(x, domid, v, e) < 0)
		goto out;
	r = 0;
	if (xo_hotplug_by_xo()) {
		struct xo_child child;
		snprintf(k, sizeof(k), "%s/script", p.be);
		script = xo_xs_read(x->xs, XBT_NULL, k);
		if (!script)
			script = vif_script(v);
		r = record_vif(vm->uuid, domid, v, e);
		if (r == 0)
			r = xo_hotplug_spawn(vm->uuid, script, "vif", domid, v->position, "online", &child, e);
		if (r == 0) {
			xo_child_wait_ms(&child, xo_hotplug_timeout_ms());
			if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != 0) {
				snprintf(k, sizeof(k), "%s/hotplug-error", p.be);
				char msg[512] = "";
				xo_xs_read_buf(x->xs, XBT_NULL, k, msg, sizeof(msg));
				r = xo_errf(e, XO_E_HOTPLUG, "the vif script could not apply the rules: %s",
					    msg[0] ? msg : "it failed");
			}
			xo_hotplug_done(vm->uuid, "vif", v->position, &child);
		}
		free(script);
	}
out:
	free(v4);
	free(v6);
	return r;
}

int xf_vif_apply(struct xo_ctx *ctx, const struct xo_vif *v, unsigned what, xo_err *e)
{
	struct xf *x = XF(ctx->b);
	uint32_t d;
	int r = xf_find_domain(x, ctx->vm.uuid, &d, NULL, e);

	if (r <= 0 || !xf_vif_plugged(x, d, v))
		return r < 0 ? -1 : 0;
	if (what & XO_VIF_APPLY_LOCKING)
		return apply_locking(x, &ctx->vm, d, v, e);
	return apply_carrier(x, d, v, e);
}

/* ---------------------------------------------------------------- PCI */

struct pci_add {
	uint32_t domid;
	const struct xo_vm *vm;
	const struct xo_pci *pci;
	int index;
};

static int pci_add(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	struct pci_add *a = arg;
	char be[96], fe[96], k[160], priv[160];
	struct xo_xs_perms bep = xo_xs_perm_owner_reader(0, a->domid);
	struct xo_xs_perms fep = xo_xs_perm_owner_reader(a->domid, 0);
	struct xo_xs_perms z = xo_xs_perm_dom0();
	unsigned n;
	char **ents;

	snprintf(be, sizeof(be), "/local/domain/0/backend/pci/%u/0", a->domid);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/pci/0", a->domid);
	if (!xo_xs_exists(xs, t, be)) {
		struct kv kvs[8];
		int nk = 0;
		kv_set(kvs, &nk, "frontend", "%s", fe);
		kv_set(kvs, &nk, "frontend-id", "%u", a->domid);
		kv_set(kvs, &nk, "online", "1");
		kv_set(kvs, &nk, "state", "1");
		kv_set(kvs, &nk, "domain", "%s", a->vm->name);
		kv_set(kvs, &nk, "num_devs", "0");
		if (write_dir(xs, t, be, &bep, kvs, nk, e) < 0)
			return -1;
		nk = 0;
		kv_set(kvs, &nk, "backend", "%s", be);
		kv_set(kvs, &nk, "backend-id", "0");
		kv_set(kvs, &nk, "state", "1");
		if (write_dir(xs, t, fe, &fep, kvs, nk, e) < 0)
			return -1;
	}
	/* the next free index: one past the highest dev-N */
	a->index = 0;
	ents = xo_xs_ls(xs, t, be, &n);
	for (unsigned i = 0; i < n; i++) {
		int idx;
		if (sscanf(ents[i], "dev-%d", &idx) == 1 && idx >= a->index)
			a->index = idx + 1;
	}
	free(ents);
	snprintf(k, sizeof(k), "%s/dev-%d", be, a->index);
	if (xo_xs_write(xs, t, k, a->pci->address, e) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/key-%d", be, a->index);
	if (xo_xs_write(xs, t, k, a->pci->address, e) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/opts-%d", be, a->index);
	if (xo_xs_printf(xs, t, k, e, "msitranslate=%d,power_mgmt=%d,permissive=%d",
			 a->pci->msitranslate, a->pci->power_mgmt, a->pci->permissive) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/state-%d", be, a->index);
	if (xo_xs_write(xs, t, k, "1", e) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/num_devs", be);
	if (xo_xs_printf(xs, t, k, e, "%d", a->index + 1) < 0)
		return -1;
	snprintf(priv, sizeof(priv), "/xo/vm/%s/private/pci/%d", a->vm->uuid, a->pci->position);
	if (xo_xs_mkdir(xs, t, priv, &z, e) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/index", priv);
	if (xo_xs_printf(xs, t, k, e, "%d", a->index) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/address", priv);
	return xo_xs_write(xs, t, k, a->pci->address, e);
}

static int pci_index(struct xf *x, uint32_t domid, const struct xo_pci *p)
{
	char be[96], k[160], v[32];
	unsigned n;
	char **ents;
	int found = -1;

	snprintf(be, sizeof(be), "/local/domain/0/backend/pci/%u/0", domid);
	ents = xo_xs_ls(x->xs, XBT_NULL, be, &n);
	for (unsigned i = 0; i < n && found < 0; i++) {
		int idx;
		if (sscanf(ents[i], "dev-%d", &idx) != 1)
			continue;
		snprintf(k, sizeof(k), "%s/%s", be, ents[i]);
		if (xo_xs_read_buf(x->xs, XBT_NULL, k, v, sizeof(v)) && strcmp(v, p->address) == 0)
			found = idx;
	}
	free(ents);
	return found;
}

bool xf_pci_plugged(struct xf *x, uint32_t domid, const struct xo_pci *p)
{
	return pci_index(x, domid, p) >= 0;
}

int xf_pci_plug(struct xo_ctx *ctx, const struct xo_pci *p, xo_err *e)
{
	struct xf *x = XF(ctx->b);
	const struct xo_vm *vm = &ctx->vm;
	uint32_t d;
	char id[16];

	if (xf_need_domain(x, vm, &d, e) < 0)
		return -1;
	if (xf_pci_plugged(x, d, p))
		return xo_errf(e, XO_E_EXISTS, "pci device %s is already plugged", p->address);
	if (!x->hv->pci_assign)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "the %s backend cannot pass pci devices through",
			       x->hv->name);
	if (x->hv->pci_assign(x, vm->uuid, d, p->address, e) < 0)
		return -1;
	struct pci_add a = { d, vm, p, 0 };
	if (xo_xs_transaction(x->xs, pci_add, &a, e) < 0) {
		xo_err ignore;
		if (x->hv->pci_deassign)
			x->hv->pci_deassign(x, vm->uuid, d, p->address, &ignore);
		return -1;
	}
	snprintf(id, sizeof(id), "%d", p->position);
	xo_updates_emit2("pci", vm->uuid, id);
	return 0;
}

int xf_pci_unplug(struct xo_ctx *ctx, const struct xo_pci *p, xo_err *e)
{
	struct xf *x = XF(ctx->b);
	const struct xo_vm *vm = &ctx->vm;
	uint32_t d;
	char be[96], k[160], id[16];
	static const char *const keys[] = { "dev", "key", "opts", "state", "vdevfn", NULL };
	int r = xf_find_domain(x, vm->uuid, &d, NULL, e);

	if (r <= 0)
		return r;
	int idx = pci_index(x, d, p);
	if (idx < 0)
		return 0;
	if (x->hv->pci_deassign && x->hv->pci_deassign(x, vm->uuid, d, p->address, e) < 0)
		return -1;
	snprintf(be, sizeof(be), "/local/domain/0/backend/pci/%u/0", d);
	for (const char *const *key = keys; *key; key++) {
		snprintf(k, sizeof(k), "%s/%s-%d", be, *key, idx);
		xo_xs_rm(x->xs, XBT_NULL, k, NULL);
	}
	snprintf(k, sizeof(k), "/xo/vm/%s/private/pci/%d", vm->uuid, p->position);
	xo_xs_rm(x->xs, XBT_NULL, k, NULL);
	snprintf(id, sizeof(id), "%d", p->position);
	xo_updates_emit2("pci", vm->uuid, id);
	return 0;
}
