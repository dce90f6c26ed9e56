/*
 * device.c: VBD, VIF and PCI devices in xenstore (see device.h).
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

#include "device.h"
#include "domain.h"
#include "hotplug-builtin.h"
#include "hotplug.h"
#include "updates.h"
#include "xs.h"

void xo_devpaths(struct xo_devpaths *p, const char *uuid, uint32_t fe, const char *kind, long devid)
{
	snprintf(p->fe, sizeof(p->fe), "/local/domain/%u/device/%s/%ld", fe, kind, devid);
	snprintf(p->fe_copy, sizeof(p->fe_copy), "/xo/domain/%u/device/%s/%ld", fe, kind, devid);
	snprintf(p->be, sizeof(p->be), "/local/domain/0/backend/%s/%u/%ld", kind, fe, devid);
	snprintf(p->priv, sizeof(p->priv), "/xo/vm/%s/private/%s/%ld", uuid, kind, devid);
	snprintf(p->be_err, sizeof(p->be_err), "/local/domain/0/error/backend/%s/%u/%ld/error", kind,
		 fe, devid);
	snprintf(p->fe_err, sizeof(p->fe_err), "/local/domain/%u/error/device/%s/%ld/error", fe, kind,
		 devid);
}

static int need_domain(struct xo_backend *b, const struct xo_vm *vm, uint32_t *d, xo_err *e)
{
	int r = xo_vm_find_domain(b, vm->uuid, d, NULL, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no domain)", vm->name);
	return 0;
}

/* ---------------------------------------------------------------- active flags */

int xo_device_set_active(struct xo_backend *b, const char *uuid, const char *kind,
			 const char *id, bool active, xo_err *e)
{
	char p[160];
	int r;

	snprintf(p, sizeof(p), "/xo/vm/%s/active/%s/%s", uuid, kind, id);
	r = active ? xo_xs_write(b->xs, XBT_NULL, p, "1", e) : xo_xs_rm(b->xs, XBT_NULL, p, e);
	if (r == 0)
		xo_updates_emit2(kind, uuid, id);
	return r;
}

bool xo_device_active(struct xo_backend *b, const char *uuid, const char *kind, const char *id)
{
	char p[160];
	snprintf(p, sizeof(p), "/xo/vm/%s/active/%s/%s", uuid, kind, id);
	return xo_xs_exists(b->xs, XBT_NULL, p);
}

/* ---------------------------------------------------------------- non-persistent disks */

char *xo_vbd_params(const char *uuid, const struct xo_vbd *v)
{
	if (v->persistent || !v->backend[0])
		return xstrdup(v->backend);
	char *copy = xstrdup(v->backend);
	char *base = xstrdup(v->backend);
	char *r = xasprintf("%s/.%s.xo-%.8s-%s", dirname(copy), basename(base), uuid, v->name);
	free(copy);
	free(base);
	return r;
}

int xo_vbd_epoch_begin(const char *uuid, const struct xo_vbd *v, xo_err *e)
{
	struct stat st;
	int in = -1, out = -1, r = -1;
	char *scratch, *tmp;

	if (v->persistent || !v->backend[0])
		return 0;
	scratch = xo_vbd_params(uuid, v);
	tmp = xasprintf("%s.tmp", scratch);
	in = open(v->backend, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0) {
		xo_err_sys(e, errno, "unable to open the original of non-persistent vbd %s ('%s')",
			   v->name, v->backend);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		xo_errf(e, XO_E_INVALID, "non-persistent vbd %s needs a regular file, '%s' is not one",
			v->name, v->backend);
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);
	if (out < 0) {
		xo_err_sys(e, errno, "unable to create '%s'", tmp);
		goto out;
	}
	/* a reflink when the filesystem can, else an in-kernel copy that keeps holes cheap */
	if (ioctl(out, FICLONE, in) < 0) {
		off_t left = st.st_size;
		while (left > 0) {
			ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
			if (n <= 0) {
				xo_err_sys(e, n < 0 ? errno : EIO, "unable to copy '%s'", v->backend);
				goto out;
			}
			left -= n;
		}
	}
	if (fsync(out) < 0 || rename(tmp, scratch) < 0) {
		xo_err_sys(e, errno, "unable to reset non-persistent vbd %s", v->name);
		goto out;
	}
	r = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (r < 0)
		unlink(tmp);
	free(tmp);
	free(scratch);
	return r;
}

int xo_vbd_epoch_end(const char *uuid, const struct xo_vbd *v, xo_err *e)
{
	if (v->persistent || !v->backend[0])
		return 0;
	char *scratch = xo_vbd_params(uuid, v);
	int r = 0;
	if (unlink(scratch) < 0 && errno != ENOENT)
		r = xo_err_sys(e, errno, "unable to remove '%s'", scratch);
	free(scratch);
	return r;
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
	const struct xo_devpaths *p;
	struct kv fe[8], be[20], priv[12];
	int nfe, nbe, npriv;
	const struct xo_kvs *extra_be, *extra_priv;
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
	const struct xo_devpaths *p = a->p;
	struct xo_xs_perms fe = xo_xs_perm_owner_reader(a->domid, 0);
	struct xo_xs_perms be = xo_xs_perm_owner_reader(0, a->domid);
	struct xo_xs_perms z = xo_xs_perm_dom0();
	struct kv copy[2];
	int ncopy = 0;

	if (xo_xs_rm(xs, t, p->fe, e) < 0 || xo_xs_rm(xs, t, p->fe_copy, e) < 0 ||
	    xo_xs_rm(xs, t, p->be, e) < 0 || xo_xs_rm(xs, t, p->priv, e) < 0 ||
	    xo_xs_rm(xs, t, p->be_err, e) < 0 || xo_xs_rm(xs, t, p->fe_err, e) < 0)
		return -1;
	if (write_dir(xs, t, p->fe, &fe, a->fe, a->nfe, e) < 0)
		return -1;
	kv_set(copy, &ncopy, "backend", "%s", p->be);
	kv_set(copy, &ncopy, "frontend", "%s", p->fe);
	if (write_dir(xs, t, p->fe_copy, &z, copy, ncopy, e) < 0)
		return -1;
	if (write_dir(xs, t, p->be, &be, a->be, a->nbe, e) < 0)
		return -1;
	if (a->extra_be && write_kvs(xs, t, p->be, a->extra_be, e) < 0)
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
	return xo_xs_transaction(xs, add_device, a, e);
}

/* what a plug waits for */
struct hp_wait {
	const struct xo_devpaths *p;
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

static int hp_wait(struct xo_backend *b, struct hp_wait *w, const char *what,
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
	return xo_xs_wait(b->xs, &xw, e);
}

/* run the hotplug script (XO_HOTPLUG=xo) and wait for its verdict */
static int hotplug(struct xo_backend *b, const struct xo_vm *vm, uint32_t d, const char *kind,
		   long devid, const struct xo_devpaths *p, const char *script, const char *action,
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
		if (hp_wait(b, &w, initwait, c, e) < 0)
			return -1;
		w.want_initwait = false;
	}
	if (!xo_hotplug_by_xo() || xo_hotplug_builtin(b->xs, vm->uuid, script, kind, d, devid, action))
		return hp_wait(b, &w, what, c, e);
	if (xo_hotplug_spawn(vm->uuid, script, kind, d, devid, action, &child, e) < 0)
		return -1;
	w.child = &child;
	r = hp_wait(b, &w, what, c, e);
	if (r < 0) {
		xo_child_kill(&child);
		char k[256];
		/* a script killed half-way leaves no verdict: make the failure visible */
		snprintf(k, sizeof(k), "%s/hotplug-status", p->be);
		if (!xo_xs_exists(b->xs, XBT_NULL, k)) {
			xo_err ignore;
			snprintf(k, sizeof(k), "%s/hotplug-error", p->be);
			xo_xs_write(b->xs, XBT_NULL, k, e->msg, &ignore);
		}
	} else {
		xo_child_wait_ms(&child, xo_hotplug_timeout_ms());
	}
	xo_child_close(&child);
	return r;
}

/* the generic half of an unplug: frontend gone, remove script, backend gone */
/* did the add script run (a verdict in the backend)? Asked before the unplug starts:
 * netback removes hotplug-status itself once the frontend is gone, and the remove
 * action must run all the same */
static bool hotplug_ran(struct xo_backend *b, const struct xo_devpaths *p)
{
	char k[256];
	snprintf(k, sizeof(k), "%s/hotplug-status", p->be);
	if (xo_xs_exists(b->xs, XBT_NULL, k))
		return true;
	snprintf(k, sizeof(k), "%s/hotplug-error", p->be);
	return xo_xs_exists(b->xs, XBT_NULL, k);
}

/* ran: whether the add script ran, asked before anything of the unplug happened */
static void teardown(struct xo_backend *b, const struct xo_vm *vm, uint32_t d, const char *kind,
		     long devid, const struct xo_devpaths *p, const char *script, bool ran)
{
	char k[256];
	xo_err ignore;

	snprintf(k, sizeof(k), "%s/online", p->be);
	if (xo_xs_exists(b->xs, XBT_NULL, p->be))
		xo_xs_write(b->xs, XBT_NULL, k, "0", &ignore);
	xo_xs_rm(b->xs, XBT_NULL, p->fe, NULL);
	xo_xs_rm(b->xs, XBT_NULL, p->fe_copy, NULL);
	if (ran && xo_hotplug_by_xo() && script && *script) {
		struct xo_child child;
		const char *action = strcmp(kind, "vif") == 0 ? "offline" : "remove";
		if (!xo_hotplug_builtin(b->xs, vm->uuid, script, kind, d, devid, action) &&
		    xo_hotplug_spawn(vm->uuid, script, kind, d, devid, action, &child, &ignore) == 0) {
			/* a remove script that hangs is killed: the teardown goes on */
			xo_child_wait_ms(&child, xo_hotplug_timeout_ms());
			xo_child_close(&child);
		}
	}
	xo_xs_rm(b->xs, XBT_NULL, p->be, NULL);
	xo_xs_rm(b->xs, XBT_NULL, p->be_err, NULL);
	xo_xs_rm(b->xs, XBT_NULL, p->fe_err, NULL);
	xo_xs_rm(b->xs, XBT_NULL, p->priv, NULL);
}

/* what a domain's destruction must not leave behind: every vbd and vif backend of
 * domain d still in xenstore is torn down, its remove script run (xenopsd's
 * Domain.destroy: hard_shutdown and Hotplug.release of every device) */
void xo_device_release_all(struct xo_backend *b, const struct xo_vm *vm, uint32_t d)
{
	static const char *const kinds[] = { "vbd", "vif", NULL };

	for (const char *const *k = kinds; *k; k++) {
		char dir[96];
		unsigned int n = 0;
		snprintf(dir, sizeof(dir), "/local/domain/0/backend/%s/%u", *k, d);
		char **ids = xo_xs_ls(b->xs, XBT_NULL, dir, &n);
		for (unsigned int i = 0; ids && i < n; i++) {
			struct xo_devpaths p = { 0 };
			char key[200];
			long devid = strtol(ids[i], NULL, 10);
			xo_devpaths(&p, vm->uuid, d, *k, devid);
			snprintf(key, sizeof(key), "%s/script", p.be);
			char *script = xo_xs_read(b->xs, XBT_NULL, key);
			if (!script)
				script = xasprintf("%s/%s", xo_script_dir(),
						   strcmp(*k, "vbd") == 0 ? "block" : "vif");
			teardown(b, vm, d, *k, devid, &p, script, hotplug_ran(b, &p));
			free(script);
		}
		free(ids);
	}
}

/* the clean half: ask the frontend to close and wait; the guest may refuse */
struct close_wait {
	const struct xo_devpaths *p;
};

static int close_cond(struct xs_handle *xs, void *arg, xo_err *e)
{
	struct close_wait *w = arg;
	char k[256], v[1024];

	if (xo_xs_read_buf(xs, XBT_NULL, w->p->fe_err, v, sizeof(v)))
		return xo_errf(e, XO_E_DETACH_REJECTED, "the guest refused: %s", v);
	snprintf(k, sizeof(k), "%s/state", w->p->fe);
	if (!xo_xs_read_buf(xs, XBT_NULL, k, v, sizeof(v)))
		return 1;
	return atoi(v) == XO_XB_CLOSED ? 1 : 0;
}

static int begin_close(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	const struct xo_devpaths *p = arg;
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

static int clean_close(struct xo_backend *b, const struct xo_devpaths *p, const char *what,
		       const struct xo_cancel *c, xo_err *e)
{
	struct close_wait w = { p };
	char festate[160], state_before[16] = "";
	char k[256];
	struct xo_xs_wait xw = { .cond = close_cond, .arg = &w, .timeout_ms = xo_hotplug_timeout_ms(),
				 .timeout_cls = XO_E_DEVICE_TIMEOUT, .what = what, .cancel = c,
				 .extra_fd = -1 };

	snprintf(k, sizeof(k), "%s/state", p->be);
	xo_xs_read_buf(b->xs, XBT_NULL, k, state_before, sizeof(state_before));
	if (xo_xs_transaction(b->xs, begin_close, (void *)p, e) < 0)
		return -1;
	snprintf(festate, sizeof(festate), "%s/state", p->fe);
	xw.paths[0] = festate;
	xw.paths[1] = p->fe_err;
	if (xo_xs_wait(b->xs, &xw, e) == 0)
		return 0;
	if (e->cls == XO_E_DETACH_REJECTED) {
		/* the device stays in use: put the backend back as it was */
		xo_err ignore;
		snprintf(k, sizeof(k), "%s/online", p->be);
		xo_xs_write(b->xs, XBT_NULL, k, "1", &ignore);
		snprintf(k, sizeof(k), "%s/state", p->be);
		if (state_before[0])
			xo_xs_write(b->xs, XBT_NULL, k, state_before, &ignore);
		xo_xs_rm(b->xs, XBT_NULL, p->fe_err, NULL);
	}
	return -1;
}

/* ---------------------------------------------------------------- VBD */

static char *vbd_script(const struct xo_vbd *v)
{
	return v->script ? xstrdup(v->script) : xasprintf("%s/block", xo_script_dir());
}

bool xo_vbd_plugged(struct xo_backend *b, uint32_t domid, const struct xo_vbd *v)
{
	char p[128];
	snprintf(p, sizeof(p), "/xo/domain/%u/device/vbd/%ld", domid, xo_vbd_devid(v->name));
	return xo_xs_exists(b->xs, XBT_NULL, p);
}

int xo_vbd_plug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vbd *v,
		const struct xo_cancel *c, xo_err *e)
{
	struct xo_devpaths p = { 0 };
	struct add a;
	uint32_t d;
	long devid = xo_vbd_devid(v->name);
	char *params = NULL, *script = NULL, what[96];
	const char *dtype = xo_vbd_type_name(v->type);
	int r = -1;

	if (need_domain(b, vm, &d, e) < 0)
		return -1;
	xo_devpaths(&p, vm->uuid, d, "vbd", devid);
	if (xo_xs_exists(b->xs, XBT_NULL, p.fe_copy))
		return xo_errf(e, XO_E_EXISTS, "vbd %s is already plugged", v->name);
	if (!v->backend[0] && vm->type != XO_VM_HVM)
		return 0;   /* an empty drive: pv guests have no use for it (as xenopsd) */
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
	kv_set(a.priv, &a.npriv, "name", "%s", v->name);
	kv_set(a.priv, &a.npriv, "backend-kind", "vbd");
	kv_set(a.priv, &a.npriv, "backend-id", "0");
	kv_set(a.priv, &a.npriv, "persistent", "%d", v->persistent ? 1 : 0);
	a.extra_be = &v->extra_backend_keys;
	a.extra_priv = &v->extra_private_keys;
	if (add_device_tx(b->xs, &a, e) < 0)
		goto out;
	snprintf(what, sizeof(what), "the hotplug script of vbd %s", v->name);
	if (hotplug(b, vm, d, "vbd", devid, &p, script, "add", what, c, e) < 0) {
		teardown(b, vm, d, "vbd", devid, &p, script, hotplug_ran(b, &p));
		goto out;
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
static int unplug(struct xo_backend *b, const struct xo_vm *vm, const char *kind, long devid,
		  const char *name, const char *fallback, bool force, const struct xo_cancel *c,
		  xo_err *e)
{
	struct xo_devpaths p = { 0 };
	uint32_t d;
	char what[96];
	int r = xo_vm_find_domain(b, vm->uuid, &d, NULL, e);

	if (r <= 0)
		return r;    /* no domain: its destruction took the devices with it */
	xo_devpaths(&p, vm->uuid, d, kind, devid);
	if (!xo_xs_exists(b->xs, XBT_NULL, p.fe_copy) && !xo_xs_exists(b->xs, XBT_NULL, p.be))
		return 0;
	bool ran = hotplug_ran(b, &p);
	if (!force) {
		snprintf(what, sizeof(what), "the guest to release %s %s", kind, name);
		if (clean_close(b, &p, what, c, e) < 0)
			return -1;
	}
	snprintf(what, sizeof(what), "%s/script", p.be);
	char *script = xo_xs_read(b->xs, XBT_NULL, what);
	teardown(b, vm, d, kind, devid, &p, script ? script : fallback, ran);
	free(script);
	return 1;
}

int xo_vbd_unplug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vbd *v, bool force,
		  const struct xo_cancel *c, xo_err *e)
{
	char *fallback = vbd_script(v);
	int r = unplug(b, vm, "vbd", xo_vbd_devid(v->name), v->name, fallback, force, c, e);

	free(fallback);
	if (r <= 0)
		return r;
	xo_updates_emit2("vbd", vm->uuid, v->name);
	return 0;
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

bool xo_vif_plugged(struct xo_backend *b, uint32_t domid, const struct xo_vif *v)
{
	char p[128];
	snprintf(p, sizeof(p), "/xo/domain/%u/device/vif/%d", domid, v->position);
	return xo_xs_exists(b->xs, XBT_NULL, p);
}

static bool vif_carrier(const struct xo_vif *v)
{
	return v->carrier && v->locking_mode != XO_LOCK_DISABLED;
}

int xo_vif_plug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vif *v,
		const struct xo_cancel *c, xo_err *e)
{
	struct xo_devpaths p = { 0 };
	struct add a;
	uint32_t d;
	char *script = NULL, *v4, *v6, what[96];
	int r = -1;

	if (need_domain(b, vm, &d, e) < 0)
		return -1;
	xo_devpaths(&p, vm->uuid, d, "vif", v->position);
	if (xo_xs_exists(b->xs, XBT_NULL, p.fe_copy))
		return xo_errf(e, XO_E_EXISTS, "vif %d is already plugged", v->position);
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
	if (add_device_tx(b->xs, &a, e) < 0)
		goto out;
	snprintf(what, sizeof(what), "the hotplug script of vif %d", v->position);
	if (hotplug(b, vm, d, "vif", v->position, &p, script, "online", what, c, e) < 0) {
		teardown(b, vm, d, "vif", v->position, &p, script, hotplug_ran(b, &p));
		goto out;
	}
	char id[16];
	snprintf(id, sizeof(id), "%d", v->position);
	xo_updates_emit2("vif", vm->uuid, id);
	r = 0;
out:
	free(script);
	return r;
}

int xo_vif_unplug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vif *v, bool force,
		  const struct xo_cancel *c, xo_err *e)
{
	char id[16], *fallback = vif_script(v);
	int r;

	snprintf(id, sizeof(id), "%d", v->position);
	r = unplug(b, vm, "vif", v->position, id, fallback, force, c, e);
	free(fallback);
	if (r <= 0)
		return r;
	xo_updates_emit2("vif", vm->uuid, id);
	return 0;
}

int xo_vif_apply_carrier(struct xo_backend *b, uint32_t domid, const struct xo_vif *v, xo_err *e)
{
	char k[160];
	snprintf(k, sizeof(k), "/local/domain/%u/device/vif/%d/disconnect", domid, v->position);
	return xo_xs_write(b->xs, XBT_NULL, k, vif_carrier(v) ? "0" : "1", e);
}

int xo_vif_apply_locking(struct xo_backend *b, const struct xo_vm *vm, uint32_t domid,
			 const struct xo_vif *v, xo_err *e)
{
	struct xo_devpaths p = { 0 };
	char k[256], *v4, *v6, *script;
	int r = -1;

	xo_devpaths(&p, vm->uuid, domid, "vif", v->position);
	v4 = join(v->ipv4_allowed, v->n_ipv4);
	v6 = join(v->ipv6_allowed, v->n_ipv6);
	snprintf(k, sizeof(k), "%s/locking-mode", p.priv);
	if (xo_xs_write(b->xs, XBT_NULL, k, xo_lock_mode_name(v->locking_mode), e) < 0)
		goto out;
	snprintf(k, sizeof(k), "%s/ipv4-allowed", p.priv);
	if (xo_xs_write(b->xs, XBT_NULL, k, v4, e) < 0)
		goto out;
	snprintf(k, sizeof(k), "%s/ipv6-allowed", p.priv);
	if (xo_xs_write(b->xs, XBT_NULL, k, v6, e) < 0)
		goto out;
	if (xo_vif_apply_carrier(b, domid, v, e) < 0)
		goto out;
	r = 0;
	if (xo_hotplug_by_xo()) {
		struct xo_child child;
		snprintf(k, sizeof(k), "%s/script", p.be);
		script = xo_xs_read(b->xs, XBT_NULL, k);
		if (!script)
			script = vif_script(v);
		r = xo_hotplug_spawn(vm->uuid, script, "vif", domid, v->position, "online", &child, e);
		if (r == 0) {
			xo_child_wait_ms(&child, xo_hotplug_timeout_ms());
			if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != 0) {
				snprintf(k, sizeof(k), "%s/hotplug-error", p.be);
				char msg[512] = "";
				xo_xs_read_buf(b->xs, XBT_NULL, k, msg, sizeof(msg));
				r = xo_errf(e, XO_E_HOTPLUG, "the vif script could not apply the rules: %s",
					    msg[0] ? msg : "it failed");
			}
			xo_child_close(&child);
		}
		free(script);
	}
out:
	free(v4);
	free(v6);
	return r;
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

static int pci_index(struct xo_backend *b, uint32_t domid, const struct xo_pci *p)
{
	char be[96], k[160], v[32];
	unsigned n;
	char **ents;
	int found = -1;

	snprintf(be, sizeof(be), "/local/domain/0/backend/pci/%u/0", domid);
	ents = xo_xs_ls(b->xs, XBT_NULL, be, &n);
	for (unsigned i = 0; i < n && found < 0; i++) {
		int idx;
		if (sscanf(ents[i], "dev-%d", &idx) != 1)
			continue;
		snprintf(k, sizeof(k), "%s/%s", be, ents[i]);
		if (xo_xs_read_buf(b->xs, XBT_NULL, k, v, sizeof(v)) && strcmp(v, p->address) == 0)
			found = idx;
	}
	free(ents);
	return found;
}

bool xo_pci_plugged(struct xo_backend *b, uint32_t domid, const struct xo_pci *p)
{
	return pci_index(b, domid, p) >= 0;
}

int xo_pci_plug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_pci *p, xo_err *e)
{
	uint32_t d;
	char id[16];

	if (need_domain(b, vm, &d, e) < 0)
		return -1;
	if (xo_pci_plugged(b, d, p))
		return xo_errf(e, XO_E_EXISTS, "pci device %s is already plugged", p->address);
	if (!b->ops->pci_assign)
		return xo_errf(e, XO_E_INTERNAL, "the %s backend cannot pass pci devices through",
			       b->ops->name);
	if (b->ops->pci_assign(b, d, p->address, e) < 0)
		return -1;
	struct pci_add a = { d, vm, p, 0 };
	if (xo_xs_transaction(b->xs, pci_add, &a, e) < 0) {
		xo_err ignore;
		if (b->ops->pci_deassign)
			b->ops->pci_deassign(b, d, p->address, &ignore);
		return -1;
	}
	snprintf(id, sizeof(id), "%d", p->position);
	xo_updates_emit2("pci", vm->uuid, id);
	return 0;
}

int xo_pci_unplug(struct xo_backend *b, const struct xo_vm *vm, const struct xo_pci *p, xo_err *e)
{
	uint32_t d;
	char be[96], k[160], id[16];
	static const char *const keys[] = { "dev", "key", "opts", "state", "vdevfn", NULL };
	int r = xo_vm_find_domain(b, vm->uuid, &d, NULL, e);

	if (r <= 0)
		return r;
	int idx = pci_index(b, d, p);
	if (idx < 0)
		return 0;
	if (b->ops->pci_deassign && b->ops->pci_deassign(b, d, p->address, e) < 0)
		return -1;
	snprintf(be, sizeof(be), "/local/domain/0/backend/pci/%u/0", d);
	for (const char *const *key = keys; *key; key++) {
		snprintf(k, sizeof(k), "%s/%s-%d", be, *key, idx);
		xo_xs_rm(b->xs, XBT_NULL, k, NULL);
	}
	snprintf(k, sizeof(k), "/xo/vm/%s/private/pci/%d", vm->uuid, p->position);
	xo_xs_rm(b->xs, XBT_NULL, k, NULL);
	snprintf(id, sizeof(id), "%d", p->position);
	xo_updates_emit2("pci", vm->uuid, id);
	return 0;
}
