/*
 * res.c: the host resource ledger (see res.h).
 *
 * A record is a small JSON object {"kind": ..., fields}; a proc record is
 * the exception: its file is the lock its process holds, and holds the
 * line "pid pgid starttime" that the child wrote before its exec.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/loop.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "res.h"
#include "state.h"

#define RELEASE_WAIT_MS 10000     /* how long the last holders of a killed group may take */

void xo_res_tag(const char *uuid, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "xo:%s:%s", uuid, name);
}

static bool id_ok(const char *id, xo_err *e)
{
	size_t n = strlen(id);
	bool ok = n > 0 && n <= XO_RES_ID_MAX && id[0] != '.';

	for (const char *p = id; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		     strchr("._-", *p);
	if (!ok)
		xo_errf(e, XO_E_INTERNAL, "invalid resource id '%s'", id);
	return ok;
}

/* VM/<uuid>/res, made when missing; -1 if the VM has no directory */
static int res_dir(const char *uuid, bool create, xo_err *e)
{
	char p[80];
	int fd;

	if (xo_state_open(e) < 0)
		return -1;
	snprintf(p, sizeof(p), "VM/%s/res", uuid);
	fd = openat(xo_state_fd(), p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if (xo_mkdir(xo_state_fd(), p, e) < 0)
			return -1;
		fd = openat(xo_state_fd(), p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return xo_errf(e, XO_E_NOT_FOUND, "vm %s has no resource records", uuid);
		return xo_err_sys(e, errno, "unable to open the resource records of vm %s", uuid);
	}
	return fd;
}

static int write_record(const char *uuid, const char *id, struct json_object *o, xo_err *e)
{
	char *s = xo_json_dump(o, false);
	int dfd, r = -1;

	json_object_put(o);
	if (id_ok(id, e) && (dfd = res_dir(uuid, true, e)) >= 0) {
		r = xo_atomic_write(dfd, id, s, strlen(s), XO_WRITE_NOSYNC, e);
		close(dfd);
	}
	free(s);
	return r;
}

static struct json_object *record(const char *kind)
{
	struct json_object *o = json_object_new_object();
	xo_json_add_str(o, "kind", kind);
	return o;
}

/* ---------------------------------------------------------------- loop devices */

struct loopdev {
	int n;                       /* /dev/loop<n> */
	dev_t dev;
	ino_t ino;
	char name[LO_NAME_SIZE];     /* lo_file_name: xo's tag, or what losetup put there */
};

/* every bound loop device whose backing file is the one at `path` (by device and inode);
 * only bound loop devices have a size, and those are in /proc/partitions */
static size_t loops_on(const struct stat *f, struct loopdev *out, size_t max)
{
	FILE *parts = fopen("/proc/partitions", "re");
	char line[256], name[64];
	size_t k = 0;

	if (!parts)
		return 0;
	while (k < max && fgets(line, sizeof(line), parts)) {
		int n;
		if (sscanf(line, "%*u %*u %*u %63s", name) != 1 || sscanf(name, "loop%d", &n) != 1)
			continue;
		char node[32];
		snprintf(node, sizeof(node), "/dev/loop%d", n);
		int fd = open(node, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct loop_info64 li;
		if (ioctl(fd, LOOP_GET_STATUS64, &li) == 0 && li.lo_device == f->st_dev &&
		    li.lo_inode == f->st_ino) {
			out[k].n = n;
			out[k].dev = (dev_t)li.lo_device;
			out[k].ino = (ino_t)li.lo_inode;
			memcpy(out[k].name, li.lo_file_name, LO_NAME_SIZE);
			out[k].name[LO_NAME_SIZE - 1] = '\0';
			k++;
		}
		close(fd);
	}
	fclose(parts);
	return k;
}

int xo_res_loop(const char *uuid, const char *id, const char *file, xo_err *e)
{
	struct loopdev before[64];
	struct stat st;
	char tag[128];

	if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;    /* a block device, or nothing yet: no loop device to come */
	size_t n = loops_on(&st, before, XO_ARRAY_SIZE(before));
	struct json_object *o = record("loop"), *was = json_object_new_array();
	xo_res_tag(uuid, id, tag, sizeof(tag));
	xo_json_add_str(o, "file", file);
	xo_json_add_int(o, "dev", (int64_t)st.st_dev);
	xo_json_add_int(o, "ino", (int64_t)st.st_ino);
	xo_json_add_str(o, "tag", tag);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(was, json_object_new_int(before[i].n));
	json_object_object_add(o, "before", was);
	return write_record(uuid, id, o, e);
}

int xo_res_loop_node(const char *uuid, const char *id, const char *node, xo_err *e)
{
	char *text;
	size_t len;
	int dfd, n;
	struct json_object *o;

	if (sscanf(node, "/dev/loop%d", &n) != 1 || n < 0)
		return 0;    /* not a loop device: nothing to keep */
	if (!id_ok(id, e) || (dfd = res_dir(uuid, false, e)) < 0)
		return -1;
	int r = xo_read_file(dfd, id, &text, &len, e);
	close(dfd);
	if (r < 0)
		return -1;
	o = xo_json_parse(text, len, "resource record", e);
	free(text);
	if (!o)
		return -1;
	json_object_object_add(o, "node", json_object_new_int(n));
	return write_record(uuid, id, o, e);
}

static bool in_array(struct json_object *a, int v)
{
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (json_object_get_int(json_object_array_get_idx(a, i)) == v)
			return true;
	return false;
}

static int release_loop(struct json_object *o, xo_err *e)
{
	struct json_object *v, *before = NULL;
	struct stat st;
	struct loopdev found[64];
	const char *file = "", *tag = "";
	int r = 0;

	if (json_object_object_get_ex(o, "file", &v))
		file = json_object_get_string(v);
	if (json_object_object_get_ex(o, "tag", &v))
		tag = json_object_get_string(v);
	json_object_object_get_ex(o, "before", &before);
	memset(&st, 0, sizeof(st));
	if (json_object_object_get_ex(o, "dev", &v))
		st.st_dev = (dev_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "ino", &v))
		st.st_ino = (ino_t)json_object_get_int64(v);
	int node = json_object_object_get_ex(o, "node", &v) ? json_object_get_int(v) : -1;
	size_t n = loops_on(&st, found, XO_ARRAY_SIZE(found));
	for (size_t i = 0; i < n; i++) {
		/* ours: tagged by xo, or the node the script reported; untagged without a node
		 * known (a script killed half-way): ours if it came after the record */
		bool ours = strcmp(found[i].name, tag) == 0 || found[i].n == node;
		bool xo_tagged = strncmp(found[i].name, "xo:", 3) == 0;
		if (!ours && (xo_tagged || node >= 0 || in_array(before, found[i].n)))
			continue;
		char dev[32];
		snprintf(dev, sizeof(dev), "/dev/loop%d", found[i].n);
		int fd = open(dev, O_RDONLY | O_CLOEXEC);
		/* LOOP_CLR_FD on a device still open elsewhere detaches it at its last close */
		if (fd < 0 || (ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO))
			r = xo_err_sys(e, errno, "unable to detach %s from '%s'", dev, file);
		if (fd >= 0)
			close(fd);
	}
	return r;
}

/* ---------------------------------------------------------------- network devices */

int xo_res_netdev(const char *uuid, const char *id, const char *ifname, xo_err *e)
{
	struct json_object *o = record("netdev");

	if (strlen(ifname) >= IFNAMSIZ) {
		json_object_put(o);
		return xo_errf(e, XO_E_INVALID, "interface name '%s' is too long", ifname);
	}
	xo_json_add_str(o, "ifname", ifname);
	return write_record(uuid, id, o, e);
}

/* the interface's alias ("" for none), false when there is no such interface */
static bool netdev_alias(const char *ifname, char *alias, size_t size)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "/sys/class/net/%s/ifalias", ifname);
	alias[0] = '\0';
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return errno != ENOENT;
	ssize_t n = read(fd, alias, size - 1);
	close(fd);
	alias[n > 0 ? n : 0] = '\0';
	alias[strcspn(alias, "\n")] = '\0';
	return true;
}

/* RTM_DELLINK by name: taps, vifs, veths alike */
static int netdev_delete(const char *ifname, xo_err *e)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[64];
	} req;
	struct rtattr *rta;
	size_t len = strlen(ifname) + 1;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), r = 0;

	if (fd < 0)
		return xo_err_sys(e, errno, "netlink");
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = RTM_DELLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.ifi.ifi_family = AF_UNSPEC;
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(sizeof(req.nh) + sizeof(req.ifi)));
	rta->rta_type = IFLA_IFNAME;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), ifname, len);
	req.nh.nlmsg_len = (unsigned)(NLMSG_ALIGN(sizeof(req.nh) + sizeof(req.ifi)) + RTA_ALIGN(rta->rta_len));
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		r = xo_err_sys(e, errno, "unable to delete interface %s", ifname);
	} else {
		char buf[512];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (n >= (ssize_t)sizeof(*h) && h->nlmsg_type == NLMSG_ERROR) {
			int err = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
			/* netback's vifs go with their backend, not by netlink */
			if (err && err != ENODEV && err != EOPNOTSUPP)
				r = xo_err_sys(e, err, "unable to delete interface %s", ifname);
		}
	}
	close(fd);
	return r;
}

static int release_netdev(const char *uuid, struct json_object *o, xo_err *e)
{
	struct json_object *v;
	char alias[256], mine[64];

	if (!json_object_object_get_ex(o, "ifname", &v))
		return 0;
	const char *ifname = json_object_get_string(v);
	if (!netdev_alias(ifname, alias, sizeof(alias)))
		return 0;    /* gone already */
	snprintf(mine, sizeof(mine), "xo:%s", uuid);
	/* another VM's interface of that name (a domid used again) is not ours */
	if (alias[0] && strncmp(alias, mine, strlen(mine)) != 0)
		return 0;
	return netdev_delete(ifname, e);
}

/* ---------------------------------------------------------------- nft tables */

int xo_res_nft(const char *uuid, const char *id, const char *family, const char *table, xo_err *e)
{
	struct json_object *o = record("nft");
	xo_json_add_str(o, "family", family);
	xo_json_add_str(o, "table", table);
	return write_record(uuid, id, o, e);
}

static int release_nft(struct json_object *o, xo_err *e)
{
	struct json_object *f, *t;
	struct xo_child c;

	if (!json_object_object_get_ex(o, "family", &f) || !json_object_object_get_ex(o, "table", &t))
		return 0;
	char *argv[] = { "nft", "delete", "table", (char *)json_object_get_string(f),
			 (char *)json_object_get_string(t), NULL };
	if (access("/usr/sbin/nft", X_OK) < 0 && access("/sbin/nft", X_OK) < 0)
		return 0;    /* no nft: nobody made a table */
	if (xo_spawn(&c, argv, NULL, XO_SPAWN_CAPTURE, true, e) < 0)
		return -1;
	xo_child_wait(&c);
	char *out = xo_child_output(&c);
	int r = 0;
	/* a table that is not there is what we want */
	if (!WIFEXITED(c.status) || (WEXITSTATUS(c.status) != 0 && !strstr(out, "No such file")))
		r = xo_errf(e, XO_E_SYSTEM, "unable to delete nft table %s %s: %s",
			    json_object_get_string(f), json_object_get_string(t), out);
	free(out);
	xo_child_close(&c);
	return r;
}

/* ---------------------------------------------------------------- pci devices */

int xo_res_pci(const char *uuid, const char *id, const char *bdf, const char *driver, xo_err *e)
{
	struct json_object *o = record("pci");
	xo_json_add_str(o, "bdf", bdf);
	xo_json_add_str(o, "driver", driver ? driver : "");
	return write_record(uuid, id, o, e);
}

static int sysfs_put(const char *path, const char *value, xo_err *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return xo_err_sys(e, errno, "unable to open '%s'", path);
	int r = xo_write_all(fd, value, strlen(value)) < 0 ? xo_err_sys(e, errno, "unable to write '%s'", path) : 0;
	close(fd);
	return r;
}

static int release_pci(struct json_object *o, xo_err *e)
{
	struct json_object *b, *d;
	char link[160], now[PATH_MAX], p[PATH_MAX];

	if (!json_object_object_get_ex(o, "bdf", &b) || !json_object_object_get_ex(o, "driver", &d))
		return 0;
	const char *bdf = json_object_get_string(b), *driver = json_object_get_string(d);
	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", bdf);
	ssize_t n = readlink(link, now, sizeof(now) - 1);
	now[n > 0 ? n : 0] = '\0';
	const char *cur = n > 0 ? strrchr(now, '/') + 1 : "";
	if (strcmp(cur, driver) == 0)
		return 0;
	if (*cur) {
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		if (sysfs_put(p, bdf, e) < 0)
			return -1;
	}
	if (!*driver)
		return 0;
	snprintf(p, sizeof(p), "/sys/bus/pci/drivers/%s/bind", driver);
	return sysfs_put(p, bdf, e);
}

/* ---------------------------------------------------------------- processes */

int xo_res_spawn(const char *uuid, const char *id, struct xo_child *c, char *const argv[],
		 char *const env[], int out, unsigned flags, xo_err *e)
{
	int dfd, fd, r;

	if (!id_ok(id, e) || (dfd = res_dir(uuid, true, e)) < 0)
		return -1;
	/* the record exists (empty) before the process: a kill right after the fork leaves
	 * a record whose lock tells whether anything still runs */
	fd = openat(dfd, id, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	close(dfd);
	if (fd < 0)
		return xo_err_sys(e, errno, "unable to record process %s of vm %s", id, uuid);
	if (flock(fd, LOCK_SH) < 0) {
		int err = errno;
		close(fd);
		return xo_err_sys(e, err, "unable to lock the record of process %s", id);
	}
	r = xo_spawn_ex(c, argv, env, out, flags, fd, e);
	/* the child holds the lock now (and so will its children); ours goes */
	close(fd);
	return r;
}

/* the process line of a proc record: 0 when it is empty (the child died before its exec) */
static pid_t proc_read(int fd, pid_t *pgid, unsigned long long *start)
{
	char buf[96];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int pid = 0, pg = 0;

	*start = 0;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%d %d %llu", &pid, &pg, start) != 3)
		return 0;
	*pgid = pg;
	return pid;
}

pid_t xo_res_pid(const char *uuid, const char *id)
{
	char p[160];
	pid_t pid, pgid = 0;
	unsigned long long start;
	xo_err ignore;

	if (xo_state_open(&ignore) < 0)
		return 0;
	snprintf(p, sizeof(p), "VM/%s/res/%s", uuid, id);
	int fd = openat(xo_state_fd(), p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	pid = proc_read(fd, &pgid, &start);
	close(fd);
	/* a pid of another process now (reused) is not ours */
	if (pid <= 0 || xo_proc_start_time((unsigned long)pid) != start)
		return 0;
	return pid;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* stop the group and wait for every holder of the record's lock; 0 once nobody holds it */
static int stop_proc(int fd, const char *id, int grace_ms, xo_err *e)
{
	pid_t pgid = 0;
	unsigned long long start;

	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;    /* nothing of it runs any more */
	pid_t pid = proc_read(fd, &pgid, &start);
	bool same = pid > 0 && xo_proc_start_time((unsigned long)pid) == start;
	if (same && grace_ms > 0) {
		kill(pid, SIGTERM);
		for (int t = 0; t < grace_ms; t += 10) {
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				return 0;
			sleep_ms(10);
		}
	}
	/* the process group: the script and what it started (a losetup half-way...) */
	for (int t = 0; t < RELEASE_WAIT_MS; t += 10) {
		if (pgid > 0)
			kill(-pgid, SIGKILL);
		if (same)
			kill(pid, SIGKILL);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		sleep_ms(10);
	}
	return xo_errf(e, XO_E_TIMEOUT, "process %s (pid %d, group %d) still holds its record after "
		       "%d ms: something it started left its process group", id, (int)pid, (int)pgid,
		       RELEASE_WAIT_MS);
}

int xo_res_stop(const char *uuid, const char *id, int grace_ms, xo_err *e)
{
	int dfd, fd, r;

	if (!id_ok(id, e))
		return -1;
	if ((dfd = res_dir(uuid, false, e)) < 0)
		return e->cls == XO_E_NOT_FOUND ? 0 : -1;
	fd = openat(dfd, id, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		close(dfd);
		return errno == ENOENT ? 0 : xo_err_sys(e, errno, "unable to open the record of %s", id);
	}
	r = stop_proc(fd, id, grace_ms, e);
	if (r == 0)
		unlinkat(dfd, id, 0);
	close(fd);
	close(dfd);
	return r;
}

/* ---------------------------------------------------------------- releasing */

static int release_one(int dfd, const char *uuid, const char *id, xo_err *e)
{
	char *text;
	size_t len;
	struct json_object *o, *k;
	int r = 0;

	if (strncmp(id, "proc.", 5) == 0) {
		close(dfd);
		return xo_res_stop(uuid, id, 0, e);
	}
	if (xo_read_file(dfd, id, &text, &len, e) < 0) {
		close(dfd);
		return e->cls == XO_E_NOT_FOUND ? 0 : -1;
	}
	o = xo_json_parse(text, len, "resource record", e);
	free(text);
	if (!o) {
		/* a torn record cannot be: they are written by rename; drop what is unreadable */
		unlinkat(dfd, id, 0);
		close(dfd);
		return 0;
	}
	const char *kind = json_object_object_get_ex(o, "kind", &k) ? json_object_get_string(k) : "";
	if (strcmp(kind, "loop") == 0)
		r = release_loop(o, e);
	else if (strcmp(kind, "netdev") == 0)
		r = release_netdev(uuid, o, e);
	else if (strcmp(kind, "nft") == 0)
		r = release_nft(o, e);
	else if (strcmp(kind, "pci") == 0)
		r = release_pci(o, e);
	json_object_put(o);
	if (r == 0)
		unlinkat(dfd, id, 0);
	close(dfd);
	return r;
}

int xo_res_release(const char *uuid, const char *id, xo_err *e)
{
	int dfd;

	if (!id_ok(id, e))
		return -1;
	if ((dfd = res_dir(uuid, false, e)) < 0)
		return e->cls == XO_E_NOT_FOUND ? 0 : -1;
	return release_one(dfd, uuid, id, e);
}

void xo_res_forget(const char *uuid, const char *id)
{
	xo_err ignore;
	int dfd = res_dir(uuid, false, &ignore);

	if (dfd < 0)
		return;
	unlinkat(dfd, id, 0);
	close(dfd);
}

/* the record ids of the VM, processes first */
static char **list(const char *uuid, size_t *n, xo_err *e)
{
	int dfd = res_dir(uuid, false, e);
	DIR *d;
	struct dirent *de;
	char **ids = NULL;
	size_t k = 0, procs = 0;

	*n = 0;
	if (dfd < 0)
		return NULL;
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return NULL;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		ids = xrealloc(ids, (k + 1) * sizeof(*ids));
		ids[k] = xstrdup(de->d_name);
		if (strncmp(de->d_name, "proc.", 5) == 0) {
			char *t = ids[procs];
			ids[procs++] = ids[k];
			ids[k] = t;
		}
		k++;
	}
	closedir(d);
	*n = k;
	return ids;
}

int xo_res_release_all(const char *uuid, xo_err *e)
{
	size_t n;
	int r = 0;
	char **ids = list(uuid, &n, e);

	for (size_t i = 0; i < n; i++) {
		xo_err one;
		if (xo_res_release(uuid, ids[i], &one) < 0) {
			if (r == 0)
				*e = one;
			r = -1;
		}
		free(ids[i]);
	}
	free(ids);
	return r;
}

bool xo_res_any(const char *uuid)
{
	size_t n;
	xo_err ignore;
	char **ids = list(uuid, &n, &ignore);

	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return n > 0;
}
