/*
 * kvm-dev.c: the kvm backend's devices (see kvm.h).
 *
 *   vbd   a disk is a virtio-blk-pci device "vbd-<name>" on a block node
 *         "xo-<name>" (raw or qcow2, by the image's magic) over a file or
 *         block device that xo opens and hands to qemu (add-fd: qemu opens
 *         nothing by name, so it can run as its own user). A cdrom is a
 *         scsi-cd on a virtio-scsi controller ("scsi0", added with the
 *         first one): removable media, so eject and insert change the disc
 *         and keep the drive.
 *   vif   a tap "tap<qemu pid>.<position>" (recorded first), on the bridge
 *         through the same code as the Xen family's builtin hotplug, with
 *         the vif script's nft rules for locking; its descriptor goes to qemu
 *         (getfd, netdev_add) and a virtio-net-pci "vif-<position>" with the
 *         VIF's MAC. The tap lives as long as qemu holds it.
 *   pci   vfio-pci "pci-<position>": the device is taken from its driver
 *         (recorded) and given to vfio-pci; refused without an IOMMU.
 *
 * Unplugging a PCI device needs the guest (ACPI hot-unplug: device_del, then
 * DEVICE_DELETED). A forced unplug from a guest that does not run (paused,
 * or stopped) during a teardown (action request set) leaves the device to the
 * destroy that follows; anything else that cannot complete is refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devstate.h"
#include "hotplug-builtin.h"
#include "json.h"
#include "kvm.h"
#include "res.h"
#include "spawn.h"
#include "state.h"
#include "updates.h"

#define UNPLUG_TIMEOUT_MS 30000
#define FORCE_UNPLUG_TIMEOUT_MS 10000

static struct json_object *obj(void)
{
	return json_object_new_object();
}

/* one command whose arguments are consumed */
static int cmd(struct xo_qmp *q, const char *name, struct json_object *args, xo_err *e)
{
	int r = xo_qmp_execute(q, name, args, NULL, KVM_QMP_TIMEOUT_MS, e);
	if (args)
		json_object_put(args);
	return r;
}

static void cmd_quiet(struct xo_qmp *q, const char *name, struct json_object *args)
{
	xo_err ignore;
	cmd(q, name, args, &ignore);
}

static int need_qemu(const struct xo_vm *vm, struct xo_qmp **q, struct json_object **names,
		     xo_err *e)
{
	*names = NULL;
	if (kvm_connect(vm, q, e) < 0)
		return -1;
	if (kvm_peripherals(*q, names, e) < 0) {
		xo_qmp_close(*q);
		return -1;
	}
	return 0;
}

/* may a device that the guest must release be unplugged now? 1 yes (it runs), 0 leave it
 * to the destroy that follows (forced, during a teardown), -1 refused */
static int unplug_mode(const struct xo_ctx *c, struct xo_qmp *q, bool force, const char *what,
		       xo_err *e)
{
	char st[32], req[16];

	if (kvm_status(q, st, sizeof(st), e) < 0)
		return -1;
	if (strcmp(st, "running") == 0)
		return 1;
	kvm_extra_get(c->vm.uuid, "action_request", req, sizeof(req));
	if (force && req[0])
		return 0;
	return xo_errf(e, XO_E_POWER_STATE, "%s of vm %s cannot be unplugged while its guest is %s: "
		       "the guest must release it (unpause the vm, or shut it down)", what, c->vm.name, st);
}

/* ---------------------------------------------------------------- vbd */

static bool is_cd(const struct xo_vbd *v)
{
	return v->type == XO_VBD_CDROM;
}

static int64_t fdset_id(const struct xo_vbd *v)
{
	return 1 + (xo_vbd_devid(v->name) & 0x7fffffff);
}

/* hand the image to qemu and make block node "xo-<name>" on it */
static int node_add(struct xo_qmp *q, const char *uuid, const struct xo_vbd *v, bool ro, xo_err *e)
{
	char node[40], fnode[48], fdset[40];
	char *path = xo_vbd_params(uuid, v);
	unsigned char magic[4] = { 0 };
	struct stat st;
	int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0) {
		xo_err_sys(e, errno, "unable to open '%s' for vbd %s", path, v->name);
		free(path);
		return -1;
	}
	bool blk = fstat(fd, &st) == 0 && S_ISBLK(st.st_mode);
	bool qcow2 = pread(fd, magic, 4, 0) == 4 && memcmp(magic, "QFI\xfb", 4) == 0;
	struct json_object *a = obj();
	json_object_object_add(a, "fdset-id", json_object_new_int64(fdset_id(v)));
	xo_json_add_str(a, "opaque", path);
	free(path);
	int r = xo_qmp_execute_fd(q, "add-fd", a, fd, NULL, KVM_QMP_TIMEOUT_MS, e);
	json_object_put(a);
	close(fd);
	if (r < 0)
		return -1;
	snprintf(node, sizeof(node), "xo-%s", v->name);
	snprintf(fnode, sizeof(fnode), "xo-%s-f", v->name);
	snprintf(fdset, sizeof(fdset), "/dev/fdset/%lld", (long long)fdset_id(v));
	struct json_object *file = obj();
	xo_json_add_str(file, "driver", blk ? "host_device" : "file");
	xo_json_add_str(file, "node-name", fnode);
	xo_json_add_str(file, "filename", fdset);
	xo_json_add_bool(file, "read-only", ro);
	a = obj();
	xo_json_add_str(a, "driver", qcow2 ? "qcow2" : "raw");
	xo_json_add_str(a, "node-name", node);
	xo_json_add_bool(a, "read-only", ro);
	json_object_object_add(a, "file", file);
	if (cmd(q, "blockdev-add", a, e) < 0) {
		a = obj();
		json_object_object_add(a, "fdset-id", json_object_new_int64(fdset_id(v)));
		cmd_quiet(q, "remove-fd", a);
		return -1;
	}
	return 0;
}

static void node_del(struct xo_qmp *q, const struct xo_vbd *v)
{
	char node[40];
	struct json_object *a = obj();

	snprintf(node, sizeof(node), "xo-%s", v->name);
	xo_json_add_str(a, "node-name", node);
	cmd_quiet(q, "blockdev-del", a);
	a = obj();
	json_object_object_add(a, "fdset-id", json_object_new_int64(fdset_id(v)));
	cmd_quiet(q, "remove-fd", a);
}

int kvm_vbd_plug(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names, *a;
	char id[40], node[40];
	bool media = v->backend[0] != '\0';
	int r = -1;

	if (need_qemu(&c->vm, &q, &names, e) < 0)
		return -1;
	snprintf(id, sizeof(id), "vbd-%s", v->name);
	snprintf(node, sizeof(node), "xo-%s", v->name);
	if (kvm_has_peripheral(names, id)) {
		xo_errf(e, XO_E_EXISTS, "vbd %s of vm %s is already plugged", v->name, c->vm.name);
		goto out;
	}
	if (!media && !is_cd(v)) {
		xo_errf(e, XO_E_INVALID, "vbd %s of vm %s has no disk", v->name, c->vm.name);
		goto out;
	}
	if (is_cd(v) && !kvm_has_peripheral(names, "scsi0")) {
		a = obj();
		xo_json_add_str(a, "driver", "virtio-scsi-pci");
		xo_json_add_str(a, "id", "scsi0");
		if (cmd(q, "device_add", a, e) < 0)
			goto out;
	}
	/* leftovers of a plug killed half-way */
	node_del(q, v);
	if (media && node_add(q, c->vm.uuid, v, is_cd(v) || v->mode == XO_VBD_RO, e) < 0)
		goto out;
	a = obj();
	xo_json_add_str(a, "driver", is_cd(v) ? "scsi-cd" : "virtio-blk-pci");
	xo_json_add_str(a, "id", id);
	if (is_cd(v))
		xo_json_add_str(a, "bus", "scsi0.0");
	if (media)
		xo_json_add_str(a, "drive", node);
	if (cmd(q, "device_add", a, e) < 0) {
		node_del(q, v);
		goto out;
	}
	r = 0;
	xo_updates_emit2("vbd", c->vm.uuid, v->name);
out:
	json_object_put(names);
	xo_qmp_close(q);
	return r;
}

int kvm_vbd_unplug(struct xo_ctx *c, const struct xo_vbd *v, bool force, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names, *a;
	char id[40], what[64];
	int r = -1;

	if (!kvm_qemu_pid(c->vm.uuid))
		return 0;
	if (need_qemu(&c->vm, &q, &names, e) < 0)
		return kvm_qemu_pid(c->vm.uuid) ? -1 : 0;
	snprintf(id, sizeof(id), "vbd-%s", v->name);
	snprintf(what, sizeof(what), "vbd %s", v->name);
	if (kvm_has_peripheral(names, id)) {
		/* a scsi disc leaves at once; a pci disk needs its guest */
		int m = is_cd(v) ? 1 : unplug_mode(c, q, force, what, e);
		if (m < 0)
			goto out;
		if (m == 0) {
			r = 0;
			goto out;
		}
		a = obj();
		xo_json_add_str(a, "id", id);
		if (cmd(q, "device_del", a, e) < 0 ||
		    kvm_wait_device_gone(c, q, id, force ? FORCE_UNPLUG_TIMEOUT_MS : UNPLUG_TIMEOUT_MS, e) < 0)
			goto out;
	}
	node_del(q, v);
	r = 0;
	xo_updates_emit2("vbd", c->vm.uuid, v->name);
out:
	json_object_put(names);
	xo_qmp_close(q);
	return r;
}

int kvm_vbd_media(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names, *a;
	char id[40], node[40];
	int r = -1;

	if (need_qemu(&c->vm, &q, &names, e) < 0)
		return -1;
	snprintf(id, sizeof(id), "vbd-%s", v->name);
	snprintf(node, sizeof(node), "xo-%s", v->name);
	if (!kvm_has_peripheral(names, id)) {
		/* not plugged: the new media is used when it is */
		r = 0;
		goto out;
	}
	a = obj();
	xo_json_add_str(a, "id", id);
	xo_json_add_bool(a, "force", true);
	if (cmd(q, "blockdev-open-tray", a, e) < 0)
		goto out;
	a = obj();
	xo_json_add_str(a, "id", id);
	if (cmd(q, "blockdev-remove-medium", a, e) < 0)
		goto out;
	node_del(q, v);
	if (v->backend[0]) {
		if (node_add(q, c->vm.uuid, v, true, e) < 0)
			goto out;
		a = obj();
		xo_json_add_str(a, "id", id);
		xo_json_add_str(a, "node-name", node);
		if (cmd(q, "blockdev-insert-medium", a, e) < 0) {
			node_del(q, v);
			goto out;
		}
	}
	a = obj();
	xo_json_add_str(a, "id", id);
	if (cmd(q, "blockdev-close-tray", a, e) < 0)
		goto out;
	r = 0;
	xo_updates_emit2("vbd", c->vm.uuid, v->name);
out:
	json_object_put(names);
	xo_qmp_close(q);
	return r;
}

/* ---------------------------------------------------------------- vif */

void kvm_tap_name(int pid, int pos, char *buf, size_t size)
{
	snprintf(buf, size, "tap%d.%d", pid, pos);
}

static int put_file(const char *path, const char *value, xo_err *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return xo_err_sys(e, errno, "unable to open '%s'", path);
	int r = xo_write_all(fd, value, strlen(value)) < 0 ? xo_err_sys(e, errno, "unable to write '%s'", path)
							  : 0;
	close(fd);
	return r;
}

/* a tap of that name, with xo's alias on it; its descriptor (-1 and e set on failure) */
static int tap_create(const char *uuid, const struct xo_vif *v, const char *name, xo_err *e)
{
	struct ifreq ifr;
	char p[128], alias[96];
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return xo_err_sys(e, errno, "unable to open /dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	xo_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;
		close(fd);
		return xo_err_sys(e, err, "unable to make tap %s for vif %d", name, v->position);
	}
	snprintf(p, sizeof(p), "/sys/class/net/%s/ifalias", name);
	snprintf(alias, sizeof(alias), "xo:%s:vif.%d", uuid, v->position);
	if (put_file(p, alias, e) < 0) {
		close(fd);
		return -1;
	}
	/* as Xen's vifs: the guest's side has the VIF's MAC, the host's one the bridge never
	 * takes for its own */
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	xo_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memset(ifr.ifr_hwaddr.sa_data, 0xff, 6);
	ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
	if (s < 0 || ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
		int err = errno;
		if (s >= 0)
			close(s);
		close(fd);
		return xo_err_sys(e, err, "unable to set the MAC of tap %s", name);
	}
	close(s);
	return fd;
}

/* the vif script's rules for a locking mode (share/udev/vif): none for unlocked */
static int locking_apply(const char *uuid, const struct xo_vif *v, const char *tap, xo_err *e)
{
	char table[32], id[32], path[PATH_MAX];
	struct xo_buf b = { 0 };
	struct xo_child ch;

	snprintf(table, sizeof(table), "xo-%s", tap);
	snprintf(id, sizeof(id), "nft.vif.%d", v->position);
	/* the mode in place goes first (a change of mode) */
	if (xo_res_release(uuid, id, e) < 0)
		return -1;
	if (v->locking_mode == XO_LOCK_UNLOCKED)
		return 0;
	if (access("/usr/sbin/nft", X_OK) < 0 && access("/sbin/nft", X_OK) < 0)
		return xo_errf(e, XO_E_HOTPLUG, "locking mode %s needs nft (package nftables)",
			       xo_lock_mode_name(v->locking_mode));
	xo_buf_printf(&b, "table netdev %s {\n  chain ingress {\n", table);
	xo_buf_printf(&b, "    type filter hook ingress device \"%s\" priority 0; policy drop;\n", tap);
	if (v->locking_mode == XO_LOCK_LOCKED) {
		for (size_t i = 0; i < v->n_ipv4; i++) {
			xo_buf_printf(&b, "    ether saddr %s ip saddr %s accept\n", v->mac, v->ipv4_allowed[i]);
			xo_buf_printf(&b, "    ether saddr %s arp saddr ip %s accept\n", v->mac,
				      v->ipv4_allowed[i]);
		}
		for (size_t i = 0; i < v->n_ipv6; i++)
			xo_buf_printf(&b, "    ether saddr %s ip6 saddr %s accept\n", v->mac, v->ipv6_allowed[i]);
		xo_buf_printf(&b, "    ether saddr %s ip6 saddr fe80::/10 accept\n", v->mac);
		xo_buf_printf(&b, "    ether saddr %s ip saddr 0.0.0.0 udp dport 67 accept\n", v->mac);
	}
	xo_buf_printf(&b, "  }\n}\n");
	kvm_vm_path(uuid, id, path, sizeof(path));
	int r = xo_atomic_write(AT_FDCWD, path, b.s, b.len, XO_WRITE_NOSYNC, e);
	xo_buf_free(&b);
	if (r < 0 || xo_res_nft(uuid, id, "netdev", table, e) < 0)
		return -1;
	char *argv[] = { "nft", "-f", path, NULL };
	if (xo_spawn(&ch, argv, NULL, XO_SPAWN_CAPTURE, true, e) < 0)
		return -1;
	xo_child_wait(&ch);
	char *out = xo_child_output(&ch);
	if (!WIFEXITED(ch.status) || WEXITSTATUS(ch.status) != 0)
		r = xo_errf(e, XO_E_HOTPLUG, "unable to apply locking mode %s to %s: %s",
			    xo_lock_mode_name(v->locking_mode), tap, out);
	free(out);
	xo_child_close(&ch);
	unlink(path);
	return r;
}

static int set_link(struct xo_qmp *q, int pos, bool up, xo_err *e)
{
	char id[32];
	struct json_object *a = obj();

	snprintf(id, sizeof(id), "vif-%d", pos);
	xo_json_add_str(a, "name", id);
	xo_json_add_bool(a, "up", up);
	return cmd(q, "set_link", a, e);
}

int kvm_vif_plug(struct xo_ctx *c, const struct xo_vif *v, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names, *a;
	char id[32], net[32], fdname[32], rid[32], tap[IFNAMSIZ + 8], p[160];
	int pid = kvm_qemu_pid(c->vm.uuid), fd = -1, r = -1;
	struct stat st;

	if (need_qemu(&c->vm, &q, &names, e) < 0)
		return -1;
	snprintf(id, sizeof(id), "vif-%d", v->position);
	snprintf(net, sizeof(net), "net-%d", v->position);
	snprintf(fdname, sizeof(fdname), "tap-%d", v->position);
	snprintf(rid, sizeof(rid), "netdev.vif.%d", v->position);
	kvm_tap_name(pid, v->position, tap, sizeof(tap));
	if (kvm_has_peripheral(names, id)) {
		xo_errf(e, XO_E_EXISTS, "vif %d of vm %s is already plugged", v->position, c->vm.name);
		goto out;
	}
	snprintf(p, sizeof(p), "/sys/class/net/%s/bridge", v->bridge);
	if (!v->bridge[0] || strchr(v->bridge, '/') || stat(p, &st) < 0) {
		xo_errf(e, XO_E_HOTPLUG, "vif %d: bridge '%s' does not exist", v->position, v->bridge);
		goto out;
	}
	/* a plug killed half-way left a netdev in qemu (its tap with it) */
	a = obj();
	xo_json_add_str(a, "id", net);
	cmd_quiet(q, "netdev_del", a);
	if (xo_res_netdev(c->vm.uuid, rid, tap, e) < 0 ||
	    (fd = tap_create(c->vm.uuid, v, tap, e)) < 0)
		goto out;
	if (xo_bridge_port(tap, v->bridge, v->mtu) < 0) {
		xo_err_sys(e, errno, "unable to attach %s to bridge %s", tap, v->bridge);
		goto out;
	}
	if (locking_apply(c->vm.uuid, v, tap, e) < 0)
		goto out;
	a = obj();
	xo_json_add_str(a, "fdname", fdname);
	r = xo_qmp_execute_fd(q, "getfd", a, fd, NULL, KVM_QMP_TIMEOUT_MS, e);
	json_object_put(a);
	if (r < 0)
		goto out;
	r = -1;
	a = obj();
	xo_json_add_str(a, "type", "tap");
	xo_json_add_str(a, "id", net);
	xo_json_add_str(a, "fd", fdname);
	if (cmd(q, "netdev_add", a, e) < 0)
		goto out;
	a = obj();
	xo_json_add_str(a, "driver", "virtio-net-pci");
	xo_json_add_str(a, "id", id);
	xo_json_add_str(a, "netdev", net);
	xo_json_add_str(a, "mac", v->mac);
	if (cmd(q, "device_add", a, e) < 0 || (!v->carrier && set_link(q, v->position, false, e) < 0)) {
		a = obj();
		xo_json_add_str(a, "id", net);
		cmd_quiet(q, "netdev_del", a);
		goto out;
	}
	r = 0;
	snprintf(p, sizeof(p), "%d", v->position);
	xo_updates_emit2("vif", c->vm.uuid, p);
out:
	if (fd >= 0)
		close(fd);   /* qemu holds the tap now, or nobody does and it is gone */
	if (r < 0) {
		xo_err ignore;
		char nid[32];
		snprintf(nid, sizeof(nid), "nft.vif.%d", v->position);
		xo_res_release(c->vm.uuid, nid, &ignore);
		xo_res_release(c->vm.uuid, rid, &ignore);
	}
	json_object_put(names);
	xo_qmp_close(q);
	return r;
}

int kvm_vif_unplug(struct xo_ctx *c, const struct xo_vif *v, bool force, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names, *a;
	char id[32], net[32], rid[32], nid[32], what[32], p[16];
	int r = -1;

	if (!kvm_qemu_pid(c->vm.uuid))
		return 0;
	if (need_qemu(&c->vm, &q, &names, e) < 0)
		return kvm_qemu_pid(c->vm.uuid) ? -1 : 0;
	snprintf(id, sizeof(id), "vif-%d", v->position);
	snprintf(net, sizeof(net), "net-%d", v->position);
	snprintf(rid, sizeof(rid), "netdev.vif.%d", v->position);
	snprintf(nid, sizeof(nid), "nft.vif.%d", v->position);
	snprintf(what, sizeof(what), "vif %d", v->position);
	if (kvm_has_peripheral(names, id)) {
		int m = unplug_mode(c, q, force, what, e);
		if (m < 0)
			goto out;
		if (m == 0) {
			r = 0;
			goto out;
		}
		a = obj();
		xo_json_add_str(a, "id", id);
		if (cmd(q, "device_del", a, e) < 0 ||
		    kvm_wait_device_gone(c, q, id, force ? FORCE_UNPLUG_TIMEOUT_MS : UNPLUG_TIMEOUT_MS, e) < 0)
			goto out;
	}
	/* qemu closes the tap: it goes */
	a = obj();
	xo_json_add_str(a, "id", net);
	cmd_quiet(q, "netdev_del", a);
	if (xo_res_release(c->vm.uuid, nid, e) < 0 || xo_res_release(c->vm.uuid, rid, e) < 0)
		goto out;
	r = 0;
	snprintf(p, sizeof(p), "%d", v->position);
	xo_updates_emit2("vif", c->vm.uuid, p);
out:
	json_object_put(names);
	xo_qmp_close(q);
	return r;
}

int kvm_vif_apply(struct xo_ctx *c, const struct xo_vif *v, unsigned what, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names;
	char id[32];
	int r = 0;

	if (!kvm_qemu_pid(c->vm.uuid))
		return 0;    /* not running: the configuration is used at the next plug */
	if (need_qemu(&c->vm, &q, &names, e) < 0)
		return -1;
	snprintf(id, sizeof(id), "vif-%d", v->position);
	if (kvm_has_peripheral(names, id)) {
		char tap[IFNAMSIZ + 8], p[16];
		if (what & XO_VIF_APPLY_CARRIER)
			r = set_link(q, v->position, v->carrier, e);
		kvm_tap_name(kvm_qemu_pid(c->vm.uuid), v->position, tap, sizeof(tap));
		if (r == 0 && (what & XO_VIF_APPLY_LOCKING))
			r = locking_apply(c->vm.uuid, v, tap, e);
		snprintf(p, sizeof(p), "%d", v->position);
		if (r == 0)
			xo_updates_emit2("vif", c->vm.uuid, p);
	}
	json_object_put(names);
	xo_qmp_close(q);
	return r;
}

/* ---------------------------------------------------------------- pci */

bool kvm_have_iommu(void)
{
	DIR *d = opendir("/sys/kernel/iommu_groups");
	struct dirent *de;
	bool any = false;

	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

static int pci_driver(const char *bdf, char *buf, size_t size)
{
	char link[160], target[PATH_MAX];

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", bdf);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	buf[0] = '\0';
	if (n <= 0)
		return 0;
	target[n] = '\0';
	const char *s = strrchr(target, '/');
	xo_strlcpy(buf, s ? s + 1 : target, size);
	return 0;
}

/* give the device to vfio-pci, its driver recorded first */
static int vfio_bind(const char *uuid, const struct xo_pci *p, xo_err *e)
{
	char drv[64], path[PATH_MAX], rid[32], dev[160];
	struct stat st;

	snprintf(dev, sizeof(dev), "/sys/bus/pci/devices/%s", p->address);
	if (stat(dev, &st) < 0)
		return xo_errf(e, XO_E_NOT_FOUND, "pci device %s does not exist on this host", p->address);
	pci_driver(p->address, drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci") == 0)
		return 0;
	if (stat("/sys/bus/pci/drivers/vfio-pci", &st) < 0) {
		char *argv[] = { "modprobe", "vfio-pci", NULL };
		struct xo_child ch;
		if (xo_spawn(&ch, argv, NULL, XO_SPAWN_NULL, true, e) < 0)
			return -1;
		xo_child_wait(&ch);
		xo_child_close(&ch);
		if (stat("/sys/bus/pci/drivers/vfio-pci", &st) < 0)
			return xo_errf(e, XO_E_HOTPLUG, "the vfio-pci driver is not available (modprobe "
				       "vfio-pci failed)");
	}
	snprintf(rid, sizeof(rid), "pci.%d", p->position);
	if (xo_res_pci(uuid, rid, p->address, drv, e) < 0)
		return -1;
	if (drv[0]) {
		snprintf(path, sizeof(path), "%s/driver/unbind", dev);
		if (put_file(path, p->address, e) < 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/driver_override", dev);
	if (put_file(path, "vfio-pci", e) < 0)
		return -1;
	if (put_file("/sys/bus/pci/drivers_probe", p->address, e) < 0)
		return -1;
	pci_driver(p->address, drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci") != 0)
		return xo_errf(e, XO_E_HOTPLUG, "pci device %s did not bind to vfio-pci", p->address);
	return 0;
}

int kvm_pci_plug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names, *a;
	char id[32];
	int r = -1;

	if (!kvm_have_iommu())
		return xo_errf(e, XO_E_INVALID, "pci pass-through needs an IOMMU, and this host has none "
			       "(/sys/kernel/iommu_groups is empty: intel_iommu=on or amd_iommu=on)");
	if (need_qemu(&c->vm, &q, &names, e) < 0)
		return -1;
	snprintf(id, sizeof(id), "pci-%d", p->position);
	if (kvm_has_peripheral(names, id)) {
		xo_errf(e, XO_E_EXISTS, "pci device %d of vm %s is already plugged", p->position, c->vm.name);
		goto out;
	}
	if (vfio_bind(c->vm.uuid, p, e) < 0)
		goto out;
	a = obj();
	xo_json_add_str(a, "driver", "vfio-pci");
	xo_json_add_str(a, "id", id);
	xo_json_add_str(a, "host", p->address);
	if (cmd(q, "device_add", a, e) < 0)
		goto out;
	r = 0;
	xo_updates_emit("vm", c->vm.uuid);
out:
	json_object_put(names);
	xo_qmp_close(q);
	return r;
}

int kvm_pci_unplug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names, *a;
	char id[32], rid[32], what[32];
	int r = -1;

	snprintf(rid, sizeof(rid), "pci.%d", p->position);
	if (!kvm_qemu_pid(c->vm.uuid))
		return xo_res_release(c->vm.uuid, rid, e);
	if (need_qemu(&c->vm, &q, &names, e) < 0)
		return -1;
	snprintf(id, sizeof(id), "pci-%d", p->position);
	snprintf(what, sizeof(what), "pci device %d", p->position);
	if (kvm_has_peripheral(names, id)) {
		/* a teardown's unplug is forced: the device goes with qemu */
		int m = unplug_mode(c, q, true, what, e);
		if (m <= 0) {
			r = m;
			goto out;
		}
		a = obj();
		xo_json_add_str(a, "id", id);
		if (cmd(q, "device_del", a, e) < 0 ||
		    kvm_wait_device_gone(c, q, id, UNPLUG_TIMEOUT_MS, e) < 0)
			goto out;
	}
	r = xo_res_release(c->vm.uuid, rid, e);
	xo_updates_emit("vm", c->vm.uuid);
out:
	json_object_put(names);
	xo_qmp_close(q);
	return r;
}
