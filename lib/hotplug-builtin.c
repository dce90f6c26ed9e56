/*
 * hotplug-builtin.c: share/udev/block and share/udev/vif in C (see
 * hotplug-builtin.h). Keep the two in step: same keys, same order (the
 * verdict last), same messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hotplug-builtin.h"
#include "hotplug.h"
#include "res.h"
#include "util.h"
#include "xs.h"

/* one action on one backend */
struct hb {
	struct xs_handle *xs;
	const char *me, *action;
	char tag[96];      /* the name a loop device gets: the VM's and the device's (res.h) */
	char be[96];       /* /local/domain/0/backend/<kind>/<fe>/<devid> */
	char xbpath[64];   /* backend/<kind>/<fe>/<devid>, as the scripts log it */
	int logfd;
};

static void hb_log(struct hb *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hb_log(struct hb *h, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (h->logfd < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(h->logfd, "%s %s %s: %s\n", h->me, h->action, h->xbpath, msg);
}

/* keys written in one transaction, in order */
struct hb_keys {
	const char *k[6], *v[6];
	int n;
	const char *be;
};

/* a key of the backend be, or an absolute path */
static void key_path(const char *be, const char *key, char *path, size_t size)
{
	if (key[0] == '/')
		xo_strlcpy(path, key, size);
	else
		snprintf(path, size, "%s/%s", be, key);
}

static int write_keys(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	struct hb_keys *w = arg;
	char path[200];

	for (int i = 0; i < w->n; i++) {
		key_path(w->be, w->k[i], path, sizeof(path));
		if (xo_xs_write(xs, t, path, w->v[i], e) < 0)
			return -1;
	}
	return 0;
}

static void put(struct hb_keys *w, const char *k, const char *v)
{
	w->k[w->n] = k;
	w->v[w->n++] = v;
}

static void commit(struct hb *h, struct hb_keys *w)
{
	xo_err e;
	w->be = h->be;
	if (xo_xs_transaction(h->xs, write_keys, w, &e) < 0)
		hb_log(h, "error: %s", e.msg);
}

/* the script's fail(): say why in the backend, which is what xo waits for */
static void hb_fail(struct hb *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hb_fail(struct hb *h, const char *fmt, ...)
{
	char msg[1024];
	struct hb_keys w = { .n = 0 };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hb_log(h, "error: %s", msg);
	put(&w, "hotplug-error", msg);
	put(&w, "hotplug-status", "error");
	commit(h, &w);
}

static void hb_read(struct hb *h, const char *key, char *buf, size_t size)
{
	char path[200];
	key_path(h->be, key, path, sizeof(path));
	xo_xs_read_buf(h->xs, XBT_NULL, path, buf, size);
}

static void hb_rm(struct hb *h, const char *key)
{
	char path[200];
	xo_err ignore;
	key_path(h->be, key, path, sizeof(path));
	xo_xs_rm(h->xs, XBT_NULL, path, &ignore);
}

/* ------------------------------------------------------------------ block */

/* is the file behind a bound loop device (what `losetup -j` finds)? Only bound loop
 * devices have a size, and only devices with a size are in /proc/partitions: one read
 * instead of a look at every /sys/block/loop* */
static bool file_on_loop(const struct stat *f)
{
	FILE *parts = fopen("/proc/partitions", "re");
	char line[256], name[64];
	bool found = false;

	if (!parts)
		return false;
	while (!found && fgets(line, sizeof(line), parts)) {
		char p[128], back[PATH_MAX];
		struct stat st;
		if (sscanf(line, "%*u %*u %*u %63s", name) != 1 || strncmp(name, "loop", 4) != 0)
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, back, sizeof(back) - 1);
		close(fd);
		if (n <= 0)
			continue;
		back[n] = 0;
		back[strcspn(back, "\n")] = 0;
		if (stat(back, &st) == 0 && st.st_dev == f->st_dev && st.st_ino == f->st_ino)
			found = true;
	}
	fclose(parts);
	return found;
}

/* attach file to a free loop device (losetup [-r] --find --show) */
static int loop_attach(const char *file, const char *tag, bool ro, char *node, size_t nsize,
		       dev_t *rdev, char *why, size_t wsize)
{
	int ffd = open(file, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	int ctl = -1, r = -1;

	if (ffd < 0) {
		snprintf(why, wsize, "%s", strerror(errno));
		return -1;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		snprintf(why, wsize, "/dev/loop-control: %s", strerror(errno));
		goto out;
	}
	/* a concurrent attach may take the free device first: then take the next one */
	for (int tries = 0; tries < 64; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			snprintf(why, wsize, "no free loop device: %s", strerror(errno));
			goto out;
		}
		snprintf(node, nsize, "/dev/loop%d", n);
		int lfd = open(node, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (lfd < 0) {
			snprintf(why, wsize, "%s: %s", node, strerror(errno));
			goto out;
		}
		struct loop_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (unsigned)ffd;
		cfg.info.lo_flags = ro ? LO_FLAGS_READ_ONLY : 0;
		/* the tag, where losetup puts the file's name (the file is in sysfs anyway): so
		 * that a repair finds the device as this VM's, whatever moment a kill came */
		xo_strlcpy((char *)cfg.info.lo_file_name, tag, sizeof(cfg.info.lo_file_name));
		int ok = ioctl(lfd, LOOP_CONFIGURE, &cfg);
		int err = errno;
		struct stat st;
		if (ok == 0 && fstat(lfd, &st) == 0) {
			*rdev = st.st_rdev;
			close(lfd);
			r = 0;
			goto out;
		}
		close(lfd);
		if (ok == 0 || err != EBUSY) {
			snprintf(why, wsize, "%s: %s", node, strerror(ok == 0 ? errno : err));
			goto out;
		}
	}
	snprintf(why, wsize, "every free loop device was taken by someone else");
out:
	if (ctl >= 0)
		close(ctl);
	close(ffd);
	return r;
}

static void block_add(struct hb *h)
{
	char params[1024], mode[16], node[32] = "", dev[1024], mm[32], why[256];
	struct hb_keys w = { .n = 0 };
	struct stat st;
	dev_t rdev;

	hb_read(h, "params", params, sizeof(params));
	hb_read(h, "mode", mode, sizeof(mode));
	if (!params[0]) {
		/* an empty cd drive: nothing to attach */
		put(&w, "hotplug-status", "connected");
		commit(h, &w);
		return;
	}
	bool ro = !strchr(mode, 'w');
	if (stat(params, &st) < 0) {
		if (errno == ENOENT)
			hb_fail(h, "'%s' does not exist", params);
		else
			hb_fail(h, "cannot stat '%s': %s", params, strerror(errno));
		return;
	}
	if (S_ISBLK(st.st_mode)) {
		xo_strlcpy(dev, params, sizeof(dev));
		rdev = st.st_rdev;
	} else if (!S_ISREG(st.st_mode)) {
		hb_fail(h, "'%s' is neither a file nor a block device", params);
		return;
	} else if (!ro && file_on_loop(&st)) {
		hb_fail(h, "'%s' is already attached (a loop device uses it): refusing a second "
			   "read/write attach", params);
		return;
	} else if (loop_attach(params, h->tag, ro, node, sizeof(node), &rdev, why, sizeof(why)) < 0) {
		hb_fail(h, "unable to set up a loop device for '%s': %s", params, why);
		return;
	} else {
		xo_strlcpy(dev, node, sizeof(dev));
	}
	snprintf(mm, sizeof(mm), "%x:%x", major(rdev), minor(rdev));
	if (node[0])
		put(&w, "node", node);
	put(&w, "physical-device", mm);
	put(&w, "physical-device-path", dev);
	put(&w, "hotplug-status", "connected");
	commit(h, &w);
	hb_log(h, "attached %s as %s (%s)", params, dev, mm);
}

/* is loop device node backed by the file params (the same inode)? Only then is it the
 * one block_add made for this vbd: a node key that names another one is not ours */
static bool loop_backs(const char *node, const char *params)
{
	struct loop_info64 info;
	struct stat st;
	bool ours = false;
	int fd;

	if (!params[0] || stat(params, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	if ((fd = open(node, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	if (ioctl(fd, LOOP_GET_STATUS64, &info) == 0)
		ours = info.lo_inode == st.st_ino && info.lo_device == st.st_dev;
	close(fd);
	return ours;
}

static void block_remove(struct hb *h)
{
	char node[64], params[1024];

	hb_read(h, "node", node, sizeof(node));
	hb_read(h, "params", params, sizeof(params));
	if (xo_str_startswith(node, "/dev/loop")) {
		int fd = -1;
		if (!loop_backs(node, params)) {
			hb_log(h, "warning: %s is not backed by '%s': not detaching it", node, params);
			node[0] = '\0';
		} else if ((fd = open(node, O_RDONLY | O_CLOEXEC)) < 0 || ioctl(fd, LOOP_CLR_FD, 0) < 0)
			hb_log(h, "warning: losetup -d %s failed: %s", node, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	hb_rm(h, "hotplug-status");
	hb_rm(h, "node");
	hb_rm(h, "physical-device");
	hb_rm(h, "physical-device-path");
	hb_log(h, "detached %s", node[0] ? node : "nothing");
}

/* -------------------------------------------------------------------- vif */

/* a socket for the interface ioctls (any family will do) */
static int ifreq_socket(void)
{
	return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

int xo_bridge_port(const char *vif, const char *bridge, unsigned mtu)
{
	struct ifreq ifr;
	int s = ifreq_socket(), r = -1;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	xo_strlcpy(ifr.ifr_name, vif, IFNAMSIZ);
	ifr.ifr_mtu = (int)mtu;
	if (mtu && ioctl(s, SIOCSIFMTU, &ifr) < 0)
		goto out;
	memset(&ifr, 0, sizeof(ifr));
	xo_strlcpy(ifr.ifr_name, bridge, IFNAMSIZ);
	ifr.ifr_ifindex = (int)if_nametoindex(vif);
	if (!ifr.ifr_ifindex || (ioctl(s, SIOCBRADDIF, &ifr) < 0 && errno != EBUSY))
		goto out;
	memset(&ifr, 0, sizeof(ifr));
	xo_strlcpy(ifr.ifr_name, vif, IFNAMSIZ);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto out;
	ifr.ifr_flags |= IFF_UP;
	r = ioctl(s, SIOCSIFFLAGS, &ifr);
out:;
	int err = errno;
	close(s);
	errno = err;
	return r;
}

/* rules are nft's: a vif whose mode is, or was, other than unlocked runs the script */
static bool needs_rules(const char *mode, const char *applied)
{
	return (mode[0] && strcmp(mode, "unlocked") != 0) ||
	       (applied[0] && strcmp(applied, "unlocked") != 0);
}

static bool vif_online(struct hb *h, const char *uuid, uint32_t fe, long devid)
{
	char bridge[IFNAMSIZ + 8], mtu[16], vmpath[128], priv[160], k[200];
	char mode[32], applied[32], vif[IFNAMSIZ + 8], p[128];
	struct stat st;

	hb_read(h, "bridge", bridge, sizeof(bridge));
	hb_read(h, "mtu", mtu, sizeof(mtu));
	snprintf(k, sizeof(k), "/local/domain/%u/vm", fe);
	hb_read(h, k, vmpath, sizeof(vmpath));
	/* the dom0-only path of the vm the domain belongs to, as the script finds it */
	const char *vm = strrchr(vmpath, '/');
	snprintf(priv, sizeof(priv), "/xo/vm/%s/private/vif/%ld", vm ? vm + 1 : uuid, devid);
	snprintf(k, sizeof(k), "%s/locking-mode", priv);
	hb_read(h, k, mode, sizeof(mode));
	snprintf(k, sizeof(k), "%s/applied", priv);
	hb_read(h, k, applied, sizeof(applied));
	if (needs_rules(mode, applied))
		return false;
	snprintf(vif, sizeof(vif), "vif%u.%ld", fe, devid);
	snprintf(p, sizeof(p), "/sys/class/net/%s", vif);
	if (stat(p, &st) < 0) {
		hb_fail(h, "network device %s does not exist", vif);
		return true;
	}
	snprintf(p, sizeof(p), "/sys/class/net/%s/bridge", bridge);
	if (!bridge[0] || strchr(bridge, '/') || stat(p, &st) < 0) {
		hb_fail(h, "bridge '%s' does not exist", bridge);
		return true;
	}
	if (xo_bridge_port(vif, bridge, (unsigned)strtoul(mtu, NULL, 10)) < 0) {
		hb_fail(h, "unable to attach %s to bridge %s: %s", vif, bridge, strerror(errno));
		return true;
	}
	struct hb_keys w = { .n = 0 };
	snprintf(k, sizeof(k), "%s/applied", priv);
	put(&w, k, "unlocked");
	put(&w, "hotplug-status", "connected");
	commit(h, &w);
	hb_log(h, "%s on %s, mtu %s, locking unlocked", vif, bridge, mtu);
	return true;
}

static bool vif_offline(struct hb *h, const char *uuid, uint32_t fe, long devid)
{
	char k[200], applied[32], vif[IFNAMSIZ + 8], link[PATH_MAX];

	snprintf(k, sizeof(k), "/xo/vm/%s/private/vif/%ld/applied", uuid, devid);
	hb_read(h, k, applied, sizeof(applied));
	if (needs_rules("", applied))
		return false;
	snprintf(vif, sizeof(vif), "vif%u.%ld", fe, devid);
	/* ip link set dev VIF nomaster: the bridge it is a port of, if any */
	snprintf(k, sizeof(k), "/sys/class/net/%s/master", vif);
	ssize_t n = readlink(k, link, sizeof(link) - 1);
	if (n > 0) {
		struct ifreq ifr;
		link[n] = 0;
		const char *br = strrchr(link, '/');
		memset(&ifr, 0, sizeof(ifr));
		xo_strlcpy(ifr.ifr_name, br ? br + 1 : link, IFNAMSIZ);
		ifr.ifr_ifindex = (int)if_nametoindex(vif);
		int s;
		if (ifr.ifr_ifindex && (s = ifreq_socket()) >= 0) {
			ioctl(s, SIOCBRDELIF, &ifr);
			close(s);
		}
	}
	hb_rm(h, "hotplug-status");
	hb_log(h, "%s detached", vif);
	return true;
}

/* ----------------------------------------------------------------------- */

/* is script xo's own one for kind (the one the builtin replaces)? */
static bool own_script(const char *script, const char *name)
{
	const char *dir = xo_script_dir();
	size_t n = strlen(dir);
	return strncmp(script, dir, n) == 0 && script[n] == '/' && strcmp(script + n + 1, name) == 0;
}

bool xo_hotplug_builtin(struct xs_handle *xs, const char *uuid, const char *script, const char *kind,
			uint32_t fe, long devid, const char *action)
{
	bool vbd = strcmp(kind, "vbd") == 0;
	struct hb h = { .xs = xs, .action = action, .logfd = -1 };
	bool done = true;

	if (!xo_hotplug_builtin_on() || !script || !own_script(script, vbd ? "block" : "vif"))
		return false;
	h.me = vbd ? "block" : "vif";
	snprintf(h.xbpath, sizeof(h.xbpath), "backend/%s/%u/%ld", kind, fe, devid);
	snprintf(h.be, sizeof(h.be), "/local/domain/0/%s", h.xbpath);
	h.logfd = xo_hotplug_log_open(uuid);
	char name[48];
	snprintf(name, sizeof(name), "loop.vbd.%ld", devid);
	xo_res_tag(uuid, name, h.tag, sizeof(h.tag));
	if (vbd && strcmp(action, "add") == 0)
		block_add(&h);
	else if (vbd && strcmp(action, "remove") == 0)
		block_remove(&h);
	else if (!vbd && (strcmp(action, "online") == 0 || strcmp(action, "add") == 0))
		done = vif_online(&h, uuid, fe, devid);
	else if (!vbd && (strcmp(action, "offline") == 0 || strcmp(action, "remove") == 0))
		done = vif_offline(&h, uuid, fe, devid);
	else
		done = false;
	if (h.logfd >= 0)
		close(h.logfd);
	return done;
}
