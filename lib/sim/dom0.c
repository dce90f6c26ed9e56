/*
 * dom0.c: dom0's kernel (blkback, netback, pciback, the xenbus handshake)
 * and udev.
 *
 * One internal watch on /local/domain/0/backend. An event under
 * backend/<kind>/<fe>/<devid> finds (or makes) the device record and
 * schedules its reconcile task; so does an event under the device's
 * frontend directory (a watch is set on it at probe). The reconcile task
 * reads the xenstore state of both ends and takes the next steps, as the
 * Linux drivers would react to the same state:
 *
 *   probe       (the backend directory appeared, with frontend and
 *               frontend-id, as a toolstack writes it in one transaction)
 *               blkback/netback/pciback write their feature keys and go to
 *               InitWait (2); netback creates the network device
 *               vif<fe>.<devid> (a persistent tap device, when root). With
 *               the domain's hotplug-fail switch on, the kernel fails the
 *               device instead, as xenbus_dev_fatal() does: the error node
 *               /local/domain/0/error/backend/<kind>/<fe>/<devid>/error and
 *               state Closing (5).
 *   connect     when the guest runs, the frontend is Initialising..
 *               Initialised and the backend is ready (a vbd has
 *               physical-device, a vif hotplug-status=connected, as netback
 *               waits for), the frontend publishes its rings (3), the
 *               backend connects (4), the frontend connects (4).
 *   unplug      the toolstack writes online=0 and state=5 on the backend: a
 *               running guest closes its frontend (6), the backend closes
 *               (6) and, being offline, is unregistered. A paused or halted
 *               guest does not answer. With refuse-unplug on, the guest
 *               writes /local/domain/<fe>/error/device/<kind>/<devid>/error
 *               and stays (Linux's blkfront: "Device in use").
 *   gone        the frontend directory removed (after it existed) or Closed:
 *               the backend goes to Closed and, if offline, is unregistered.
 *               The backend directory removed: unregistered.
 *
 * Unregistering removes netback's hotplug-status and network device. udev:
 * unless /libxl/disable_udev exists when the event happens, the kernel's
 * uevents run the hotplug script, one at a time per device: "add" on probe,
 * for a vif also "online" once its device exists; "offline" (vif) and
 * "remove" on unregister. The script is the backend's `script` key if that
 * is an absolute path, else $XO_SCRIPT_DIR/block or $XO_SCRIPT_DIR/vif,
 * with udev's environment (ACTION, XENBUS_PATH, XENBUS_TYPE,
 * XENBUS_BASE_PATH, UDEV_CALL=1, script, vif) plus XENSTORED_PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"

#define BACKEND "/local/domain/0/backend"

enum { XB_UNKNOWN, XB_INITIALISING, XB_INITWAIT, XB_INITIALISED, XB_CONNECTED, XB_CLOSING,
       XB_CLOSED };

enum phase { P_NEW, P_PROBED, P_FAILED, P_GONE };

struct dev {
	struct dev *hnext;
	struct dev *fnext, *fprev;
	struct sim_task task;
	char *bpath;                    /* /local/domain/0/backend/<kind>/<fe>/<devid> */
	char *xbpath;                   /* backend/<kind>/<fe>/<devid> */
	char *fpath;                    /* the frontend, from the backend's "frontend" key */
	char *script;                   /* for udev */
	struct sim_watch *fwatch;
	char kind[16], devid[32], ifname[IFNAMSIZ];
	uint32_t fe;
	enum phase phase;
	bool fe_seen, netdev;
};

struct ujob {
	struct ujob *next;
	char **argv, **envp;
};

struct uqueue {
	struct uqueue *next;
	char *key;
	struct ujob *jobs, *last;
	pid_t running;
};

static struct dev *devtab[4096];
static struct dev *fe_head[SIM_DOMID_MAX];
static struct sim_watch *backend_watch;
static struct uqueue *uqueues;
extern char **environ;

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static bool is_block(const char *kind)
{
	return !strcmp(kind, "vbd") || !strcmp(kind, "vbd3") || !strcmp(kind, "qdisk");
}

static bool is_vif(const char *kind)
{
	return strcmp(kind, "vif") == 0;
}

static bool handled(const char *kind)
{
	return is_block(kind) || is_vif(kind) || strcmp(kind, "pci") == 0;
}

/* ---- xenstore helpers ----------------------------------------------------------------------- */

static char *bkey(const struct dev *d, const char *key)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", d->bpath, key);
	return sim_xs_read(&sim_dom0, path);
}

static int bkey_int(const struct dev *d, const char *key, int def)
{
	char *s = bkey(d, key);
	int v = def;

	if (s && *s)
		v = atoi(s);
	free(s);
	return v;
}

static int bwrite(const struct dev *d, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bwrite(const struct dev *d, const char *key, const char *fmt, ...)
{
	char path[512], val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", d->bpath, key);
	return sim_xs_write(&sim_dom0, path, val);
}

static int fe_state(const struct dev *d)
{
	char path[512], *s;
	int v = XB_UNKNOWN;

	if (!d->fpath)
		return XB_UNKNOWN;
	snprintf(path, sizeof(path), "%s/state", d->fpath);
	s = sim_xs_read(&sim_dom0, path);
	if (s && *s)
		v = atoi(s);
	free(s);
	return v;
}

/* the guest writes its frontend, with its own rights */
static int fwrite_key(const struct dev *d, const char *key, const char *val)
{
	struct sim_who w = sim_guest_who(d->fe);
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", d->fpath, key);
	return sim_xs_write(&w, path, val);
}

/* ---- udev --------------------------------------------------------------------------------- */

static void ujob_free(struct ujob *j)
{
	for (char **p = j->argv; *p; p++)
		free(*p);
	for (char **p = j->envp; *p; p++)
		free(*p);
	free(j->argv);
	free(j->envp);
	free(j);
}

static void uqueue_next(struct uqueue *q);

static void ujob_done(void *arg, pid_t pid, int status)
{
	struct uqueue *q = arg;

	if (WIFEXITED(status))
		sim_log("udev: %s (pid %d) exited with status %d", q->key, (int)pid, WEXITSTATUS(status));
	else
		sim_log("udev: %s (pid %d) killed by signal %d", q->key, (int)pid, WTERMSIG(status));
	q->running = 0;
	uqueue_next(q);
}

static void uqueue_next(struct uqueue *q)
{
	struct ujob *j;
	pid_t pid;

	while (!q->running && (j = q->jobs)) {
		q->jobs = j->next;
		if (!q->jobs)
			q->last = NULL;
		sim_log("udev: %s: running %s %s", q->key, j->argv[0], j->argv[1]);
		pid = sim_fork(-1);
		if (pid == 0) {
			setsid();
			dup2(2, 1);
			execve(j->argv[0], j->argv, j->envp);
			fprintf(stderr, "xo-simd: udev: unable to run '%s': %s\n", j->argv[0],
				strerror(errno));
			_exit(127);
		}
		if (pid < 0)
			sim_log("udev: unable to fork: %s", strerror(errno));
		else {
			q->running = pid;
			sim_child_watch(pid, ujob_done, q);
		}
		ujob_free(j);
	}
	if (!q->running && !q->jobs) {
		struct uqueue **pp = &uqueues;
		while (*pp != q)
			pp = &(*pp)->next;
		*pp = q->next;
		free(q->key);
		free(q);
	}
}

static void env_add(char ***envp, size_t *n, char *s)
{
	*envp = xrealloc(*envp, (*n + 2) * sizeof(char *));
	(*envp)[(*n)++] = s;
	(*envp)[*n] = NULL;
}

static bool env_ours(const char *s)
{
	static const char *const ours[] = { "ACTION=", "XENBUS_PATH=", "XENBUS_TYPE=",
		"XENBUS_BASE_PATH=", "UDEV_CALL=", "script=", "vif=", "XENSTORED_PATH=", "SUBSYSTEM=",
		"DEVPATH=", NULL };
	for (const char *const *p = ours; *p; p++)
		if (xo_str_startswith(s, *p))
			return true;
	return false;
}

static void udev_event(struct dev *d, const char *action)
{
	struct ujob *j;
	struct uqueue *q;
	char **envp = NULL;
	size_t n = 0;
	char *sock;

	if (!is_block(d->kind) && !is_vif(d->kind))
		return;
	if (sim_xs_exists("/libxl/disable_udev"))
		return;
	j = xcalloc(1, sizeof(*j));
	j->argv = xcalloc(4, sizeof(char *));
	j->argv[0] = xstrdup(d->script);
	j->argv[1] = xstrdup(action);
	if (is_vif(d->kind))
		j->argv[2] = xstrdup("type_if=vif");
	for (char **e = environ; e && *e; e++)
		if (!env_ours(*e))
			env_add(&envp, &n, xstrdup(*e));
	sock = sim_path("xenstored.sock");
	env_add(&envp, &n, xasprintf("ACTION=%s", action));
	env_add(&envp, &n, xasprintf("XENBUS_PATH=%s", d->xbpath));
	env_add(&envp, &n, xasprintf("XENBUS_TYPE=%s", d->kind));
	env_add(&envp, &n, xstrdup("XENBUS_BASE_PATH=backend"));
	env_add(&envp, &n, xstrdup("UDEV_CALL=1"));
	env_add(&envp, &n, xstrdup("SUBSYSTEM=xen-backend"));
	env_add(&envp, &n, xasprintf("DEVPATH=/devices/%s-%u-%s", d->kind, d->fe, d->devid));
	env_add(&envp, &n, xasprintf("script=%s", d->script));
	if (is_vif(d->kind))
		env_add(&envp, &n, xasprintf("vif=%s", d->ifname));
	env_add(&envp, &n, xasprintf("XENSTORED_PATH=%s", sock));
	free(sock);
	j->envp = envp;
	for (q = uqueues; q && strcmp(q->key, d->xbpath); q = q->next)
		;
	if (!q) {
		q = xcalloc(1, sizeof(*q));
		q->key = xstrdup(d->xbpath);
		q->next = uqueues;
		uqueues = q;
	}
	if (q->last)
		q->last->next = j;
	else
		q->jobs = j;
	q->last = j;
	uqueue_next(q);
}

/* ---- network devices ------------------------------------------------------------------------ */

static int tap_persist(const char *name, bool persist)
{
	struct ifreq r;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	memset(&r, 0, sizeof(r));
	xo_strlcpy(r.ifr_name, name, sizeof(r.ifr_name));
	r.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &r) < 0 || ioctl(fd, TUNSETPERSIST, persist ? 1 : 0) < 0)
		err = errno;
	close(fd);
	if (!err && persist) {
		/* netback's devices carry fe:ff:ff:ff:ff:ff */
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s >= 0) {
			memset(&r, 0, sizeof(r));
			xo_strlcpy(r.ifr_name, name, sizeof(r.ifr_name));
			r.ifr_hwaddr.sa_family = ARPHRD_ETHER;
			memcpy(r.ifr_hwaddr.sa_data, "\xfe\xff\xff\xff\xff\xff", 6);
			ioctl(s, SIOCSIFHWADDR, &r);
			close(s);
		}
	}
	return err;
}

static void netdev_destroy(struct dev *d)
{
	int err;

	if (!d->netdev)
		return;
	d->netdev = false;
	if ((err = tap_persist(d->ifname, false)))
		sim_log("netback: unable to remove %s: %s", d->ifname, strerror(err));
	else
		sim_log("netback: %s removed", d->ifname);
}

/* ---- the device record -------------------------------------------------------------------- */

static void reconcile_task(struct sim_task *t);
static void on_frontend(void *arg, const char *path);

static struct dev **dev_slot(const char *bpath)
{
	struct dev **pp = &devtab[hash_str(bpath) % XO_ARRAY_SIZE(devtab)];

	while (*pp && strcmp((*pp)->bpath, bpath))
		pp = &(*pp)->hnext;
	return pp;
}

static struct dev *dev_get(const char *kind, uint32_t fe, const char *devid)
{
	char bpath[256];
	struct dev **pp, *d;

	snprintf(bpath, sizeof(bpath), BACKEND "/%s/%u/%s", kind, fe, devid);
	pp = dev_slot(bpath);
	d = *pp;
	if (d)
		return d;
	d = xcalloc(1, sizeof(*d));
	d->bpath = xstrdup(bpath);
	d->xbpath = xstrdup(bpath + strlen("/local/domain/0/"));
	xo_strlcpy(d->kind, kind, sizeof(d->kind));
	xo_strlcpy(d->devid, devid, sizeof(d->devid));
	snprintf(d->ifname, sizeof(d->ifname), "vif%u.%s", fe, devid);
	d->fe = fe;
	sim_task_init(&d->task, reconcile_task);
	*pp = d;
	d->fnext = fe_head[fe];
	if (d->fnext)
		d->fnext->fprev = d;
	fe_head[fe] = d;
	return d;
}

static void dev_free(struct dev *d)
{
	struct dev **pp = dev_slot(d->bpath);

	*pp = d->hnext;
	if (d->fprev)
		d->fprev->fnext = d->fnext;
	else
		fe_head[d->fe] = d->fnext;
	if (d->fnext)
		d->fnext->fprev = d->fprev;
	sim_task_cancel(&d->task);
	sim_watch_del(d->fwatch);
	free(d->bpath);
	free(d->xbpath);
	free(d->fpath);
	free(d->script);
	free(d);
}

static void unregister(struct dev *d, const char *why)
{
	if (d->phase != P_PROBED)
		return;
	sim_log("%s: unregistered (%s)", d->xbpath, why);
	d->phase = P_GONE;
	if (is_vif(d->kind)) {
		char path[512];
		udev_event(d, "offline");
		snprintf(path, sizeof(path), "%s/hotplug-status", d->bpath);
		if (sim_xs_exists(path))
			sim_xs_rm(&sim_dom0, path);
		netdev_destroy(d);
	}
	udev_event(d, "remove");
}

static void fail_device(struct dev *d, const char *msg)
{
	char path[512];

	snprintf(path, sizeof(path), "/local/domain/0/error/%s/error", d->xbpath);
	sim_xs_write(&sim_dom0, path, msg);
	bwrite(d, "state", "%d", XB_CLOSING);
	d->phase = P_FAILED;
	sim_log("%s: failed: %s", d->xbpath, msg);
}

static void probe(struct dev *d)
{
	struct sim_dom *g = sim_hv_dom(d->fe);
	char *fpath = bkey(d, "frontend"), *feid = bkey(d, "frontend-id"), *script;

	if (!fpath || !feid || !*fpath) {
		sim_log("%s: probe failed: no frontend details (a toolstack writes frontend and "
			"frontend-id with the directory, in one transaction)", d->xbpath);
		d->phase = P_FAILED;
		free(fpath);
		free(feid);
		return;
	}
	free(feid);
	d->fpath = fpath;
	d->fwatch = sim_watch_add(d->fpath, on_frontend, d);
	script = bkey(d, "script");
	if (script && script[0] == '/')
		d->script = script;
	else {
		free(script);
		d->script = xasprintf("%s/%s", sim_cfg.script_dir, is_vif(d->kind) ? "vif" : "block");
	}

	if (g && g->hotplug_fail) {
		fail_device(d, is_vif(d->kind) ? "5 xo-simd: netback: creating the interface failed "
						   "(hotplug-fail switch)"
						 : "5 xo-simd: blkback: creating the backend device "
						   "failed (hotplug-fail switch)");
		return;
	}
	if (is_block(d->kind)) {
		bwrite(d, "feature-max-indirect-segments", "256");
		bwrite(d, "multi-queue-max-queues", "%u", sim_cfg.cpus);
		bwrite(d, "max-ring-page-order", "4");
	} else if (is_vif(d->kind)) {
		if (sim_cfg.root) {
			int err = tap_persist(d->ifname, true);
			if (err) {
				char msg[256];
				snprintf(msg, sizeof(msg), "%d creating interface %s: %s", err, d->ifname,
					 strerror(err));
				fail_device(d, msg);
				return;
			}
			d->netdev = true;
			sim_log("netback: %s created", d->ifname);
		}
		bwrite(d, "feature-sg", "1");
		bwrite(d, "feature-gso-tcpv4", "1");
		bwrite(d, "feature-gso-tcpv6", "1");
		bwrite(d, "feature-ipv6-csum-offload", "1");
		bwrite(d, "feature-rx-copy", "1");
		bwrite(d, "feature-rx-flip", "0");
		bwrite(d, "feature-multicast-control", "1");
		bwrite(d, "feature-dynamic-multicast-control", "1");
		bwrite(d, "feature-split-event-channels", "1");
		bwrite(d, "multi-queue-max-queues", "%u", sim_cfg.cpus);
		bwrite(d, "feature-ctrl-ring", "1");
	}
	d->phase = P_PROBED;
	bwrite(d, "state", "%d", XB_INITWAIT);
	sim_log("%s: probed, InitWait", d->xbpath);
	udev_event(d, "add");
	if (is_vif(d->kind))
		udev_event(d, "online");
}

static bool ready(struct dev *d)
{
	if (is_block(d->kind)) {
		char *pd = bkey(d, "physical-device");
		bool r = pd != NULL;
		free(pd);
		return r;
	}
	if (is_vif(d->kind)) {
		char *hs = bkey(d, "hotplug-status");
		bool r = hs && strcmp(hs, "connected") == 0;
		free(hs);
		return r;
	}
	return true;
}

static uint64_t disk_sectors(struct dev *d)
{
	char *p = bkey(d, "node");
	uint64_t n = 0;
	int fd;

	if (!p || !*p) {
		free(p);
		p = bkey(d, "params");
	}
	if (p && *p && (fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) >= 0) {
		off_t size = lseek(fd, 0, SEEK_END);
		if (size > 0)
			n = (uint64_t)size / 512;
		close(fd);
	}
	free(p);
	return n;
}

static void dev_connect(struct dev *d)
{
	char ref[32];

	snprintf(ref, sizeof(ref), "%u", 8 + (unsigned)(hash_str(d->devid) % 1000));
	/* the frontend publishes its rings */
	if (is_block(d->kind)) {
		if (fwrite_key(d, "ring-ref", ref) || fwrite_key(d, "event-channel", "9") ||
		    fwrite_key(d, "protocol", "x86_64-abi") || fwrite_key(d, "feature-persistent", "1"))
			goto denied;
	} else if (is_vif(d->kind)) {
		if (fwrite_key(d, "tx-ring-ref", ref) || fwrite_key(d, "rx-ring-ref", ref) ||
		    fwrite_key(d, "event-channel", "10") || fwrite_key(d, "request-rx-copy", "1") ||
		    fwrite_key(d, "feature-rx-notify", "1") || fwrite_key(d, "feature-sg", "1") ||
		    fwrite_key(d, "feature-gso-tcpv4", "1"))
			goto denied;
	} else {
		if (fwrite_key(d, "pci-op-ref", ref) || fwrite_key(d, "event-channel", "11") ||
		    fwrite_key(d, "magic", "7"))
			goto denied;
	}
	if (fwrite_key(d, "state", "3"))
		goto denied;
	/* the backend connects */
	if (is_block(d->kind)) {
		char *mode = bkey(d, "mode"), *dt = NULL, path[512];
		unsigned info = 0;
		snprintf(path, sizeof(path), "%s/device-type", d->fpath);
		dt = sim_xs_read(&sim_dom0, path);
		if (dt && strcmp(dt, "cdrom") == 0)
			info |= 1;
		if (!mode || !strchr(mode, 'w'))
			info |= 4;
		free(mode);
		free(dt);
		bwrite(d, "sectors", "%llu", (unsigned long long)disk_sectors(d));
		bwrite(d, "info", "%u", info);
		bwrite(d, "sector-size", "512");
		bwrite(d, "physical-sector-size", "512");
		bwrite(d, "feature-flush-cache", "1");
		/* blkback offers discard unless the toolstack wrote discard-enable=0 */
		char *discard = bkey(d, "discard-enable");
		bwrite(d, "feature-discard", "%d", !discard || strcmp(discard, "0") != 0);
		free(discard);
		bwrite(d, "feature-persistent", "1");
	} else if (strcmp(d->kind, "pci") == 0) {
		bwrite(d, "root-0", "0000:00");
		bwrite(d, "root_num", "1");
	}
	bwrite(d, "state", "%d", XB_CONNECTED);
	if (fwrite_key(d, "state", "4"))
		goto denied;
	sim_log("%s: connected", d->xbpath);
	return;
denied:
	sim_log("%s: the guest could not write its frontend '%s' (its permissions?)", d->xbpath,
		d->fpath);
}

static void reconcile(struct dev *d)
{
	struct sim_dom *g;
	int online, bstate, fstate;
	bool running, fe_exists;

	if (!sim_xs_exists(d->bpath)) {
		unregister(d, "backend removed");
		dev_free(d);
		return;
	}
	if (d->phase == P_NEW)
		probe(d);
	if (d->phase != P_PROBED)
		return;
	g = sim_hv_dom(d->fe);
	running = sim_dom_running(g);
	online = bkey_int(d, "online", 0);
	bstate = bkey_int(d, "state", XB_UNKNOWN);
	fe_exists = sim_xs_exists(d->fpath);
	fstate = fe_exists ? fe_state(d) : XB_UNKNOWN;

	if (d->fe_seen && (!fe_exists || fstate == XB_CLOSED)) {
		if (bstate != XB_CLOSED)
			bwrite(d, "state", "%d", XB_CLOSED);
		if (!online)
			unregister(d, fe_exists ? "frontend closed" : "frontend removed");
		return;
	}
	if (!fe_exists)
		return;
	d->fe_seen = true;

	if (bstate == XB_CLOSING && !online) {
		if (!running || fstate < XB_INITIALISING || fstate > XB_CLOSING)
			return;
		if (g->refuse_unplug) {
			if (fstate != XB_CLOSING) {
				struct sim_who w = sim_guest_who(d->fe);
				char path[512];
				snprintf(path, sizeof(path), "/local/domain/%u/error/device/%s/%s/error",
					 d->fe, is_block(d->kind) ? "vbd" : d->kind, d->devid);
				sim_xs_write(&w, path, "16 Device in use; refusing to close");
				fwrite_key(d, "state", "5");
				sim_log("%s: the guest refuses the unplug", d->xbpath);
			}
			return;
		}
		if (fwrite_key(d, "state", "6"))
			return;
		bwrite(d, "state", "%d", XB_CLOSED);
		unregister(d, "unplugged");
		return;
	}
	if (running && online && (bstate == XB_INITWAIT || bstate == XB_INITIALISED) &&
	    fstate >= XB_INITIALISING && fstate <= XB_INITIALISED && ready(d))
		dev_connect(d);
}

static void reconcile_task(struct sim_task *t)
{
	reconcile((struct dev *)((char *)t - offsetof(struct dev, task)));
}

static void on_frontend(void *arg, const char *path)
{
	(void)path;
	sim_task_schedule(&((struct dev *)arg)->task);
}

static void on_backend(void *arg, const char *path)
{
	char kind[16], devid[32];
	const char *p = path + strlen(BACKEND);
	unsigned fe;
	int n = 0;

	(void)arg;
	if (*p != '/')
		return;
	if (sscanf(p, "/%15[a-z0-9_-]/%5u/%31[A-Za-z0-9_-]%n", kind, &fe, devid, &n) != 3 ||
	    (p[n] != '\0' && p[n] != '/') || fe == 0 || fe >= SIM_DOMID_MAX || !handled(kind))
		return;
	sim_task_schedule(&dev_get(kind, fe, devid)->task);
}

/* ---- what the others call ------------------------------------------------------------------ */

void sim_dom0_kick(uint32_t fe)
{
	if (fe >= SIM_DOMID_MAX)
		return;
	for (struct dev *d = fe_head[fe]; d; d = d->fnext)
		sim_task_schedule(&d->task);
}

void sim_dom0_guest_closing(uint32_t fe)
{
	if (fe >= SIM_DOMID_MAX)
		return;
	for (struct dev *d = fe_head[fe]; d; d = d->fnext) {
		if (d->phase != P_PROBED || fe_state(d) != XB_CONNECTED)
			continue;
		if (fwrite_key(d, "state", "5"))
			continue;
		bwrite(d, "state", "%d", XB_CLOSING);
		fwrite_key(d, "state", "6");
		bwrite(d, "state", "%d", XB_CLOSED);
		sim_log("%s: closed by the guest", d->xbpath);
		if (!bkey_int(d, "online", 0))
			unregister(d, "frontend closed");
	}
}

void sim_dom0_describe(uint32_t fe, struct xo_buf *out)
{
	static const char *const phases[] = { "new", "probed", "failed", "unregistered" };

	if (fe >= SIM_DOMID_MAX)
		return;
	for (struct dev *d = fe_head[fe]; d; d = d->fnext) {
		xo_buf_printf(out, "device %s/%s %s backend-state %d frontend-state %d", d->kind,
			      d->devid, phases[d->phase], bkey_int(d, "state", 0), fe_state(d));
		if (d->netdev)
			xo_buf_printf(out, " netdev %s", d->ifname);
		xo_buf_puts(out, "\n");
	}
}

int sim_dom0_init(xo_err *e)
{
	(void)e;
	backend_watch = sim_watch_add(BACKEND, on_backend, NULL);
	return 0;
}

void sim_dom0_fini(void)
{
	for (size_t i = 0; i < XO_ARRAY_SIZE(devtab); i++)
		for (struct dev *d = devtab[i]; d; d = d->hnext)
			netdev_destroy(d);
	/* hotplug scripts still running: kill their process groups and reap them */
	for (struct uqueue *q = uqueues; q; q = q->next)
		if (q->running > 0) {
			sim_child_forget(q);
			kill(-q->running, SIGKILL);
			waitpid(q->running, NULL, 0);
			sim_log("udev: %s (pid %d) killed at shutdown", q->key, (int)q->running);
		}
	sim_watch_del(backend_watch);
}
