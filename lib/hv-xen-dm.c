/*
 * hv-xen-dm.c: the xen device model, Debian's qemu for Xen (see hv-xen.c).
 *
 *   dm_start        qemu (qemu-system-xen's /usr/libexec/xen-qemu-system-i386,
 *                   or $XO_QEMU) with QMP on a unix socket, started in its
 *                   own session with its output in a log file; xo waits,
 *                   with a xenstore watch and a pidfd (never polling), until
 *                   qemu writes device-model/<domid>/state = running, then
 *                   records /local/domain/<domid>/qemu-pid (and libxl's
 *                   image/device-model-pid, so `xl destroy` finds it too).
 *   dm_stop         QMP quit, then SIGTERM, then SIGKILL, each waited for on
 *                   the pidfd with a timeout; the xenstore keys go.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "hv-xen.h"
#include "res.h"
#include "spawn.h"
#include "qmp.h"
#include "hotplug-builtin.h"
#include "json.h"
#include "util.h"

#define HVM_VIDEO_KIB (8 * 1024)             /* the emulated VGA's memory, out of the VM's RAM */
#define DEFAULT_QEMU "/usr/libexec/xen-qemu-system-i386"
#define RUN_DIR "/run/xen"
#define DM_START_TIMEOUT_MS 60000            /* libxl's LIBXL_DEVICE_MODEL_START_TIMEOUT */
#define DM_STOP_STEP_MS 5000

/* ------------------------------------------------------------------------ xenstore */

static char *xs_get(struct xf *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *xs_get(struct xf *x, const char *fmt, ...)
{
	char path[256];
	unsigned len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(x->xs, XBT_NULL, path, &len);
}

static int xs_put(struct xf *x, const char *value, xo_err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int xs_put(struct xf *x, const char *value, xo_err *e, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (!xs_write(x->xs, XBT_NULL, path, value, (unsigned)strlen(value)))
		return xo_err_sys(e, errno, "cannot write xenstore '%s'", path);
	return 0;
}

static void xs_del(struct xf *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xs_del(struct xf *x, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	xs_rm(x->xs, XBT_NULL, path);
}

/* ------------------------------------------------------------------------ device model */

static int mkdir_p(const char *dir, xo_err *e)
{
	char tmp[PATH_MAX];

	if (xo_strlcpy(tmp, dir, sizeof(tmp)) >= sizeof(tmp))
		return xo_errf(e, XO_E_INVALID, "path '%s' is too long", dir);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return xo_err_sys(e, errno, "cannot create directory '%s'", tmp);
		*s = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return xo_err_sys(e, errno, "cannot create directory '%s'", tmp);
	return 0;
}

static char *dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

struct argv {
	char **v;
	size_t n;
};

static void arg(struct argv *a, const char *s)
{
	a->v = xrealloc(a->v, (a->n + 2) * sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

__attribute__((format(printf, 2, 3)))
static void argf(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	arg(a, s ? s : "");
	free(s);
}

static void argv_free(struct argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

void xf_emu_tap_name(uint32_t domid, int devid, char *buf, size_t size)
{
	snprintf(buf, size, "vif%u.%d-emu", domid, devid);
}

/* qemu's option values are comma separated: a comma in a path is doubled */
static char *opt_escape(const char *s)
{
	size_t n = 0;
	char *o, *p;

	for (const char *q = s; *q; q++)
		n += *q == ',' ? 2 : 1;
	o = p = xmalloc(n + 1);
	for (; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return o;
}

/* an hvm guest's emulated devices, as libxl gives them to qemu-xen: each disk of index
 * 0-3 on ide (a cd drive as ide-cd), each vif an e1000 on its own tap with the vif's
 * mac; no nic at all: -net none. The xen platform device of -machine xenfv lets a guest
 * with pv drivers unplug the emulated disks and nics. */
static void emulated(struct argv *v, uint32_t domid, const struct xf_dm_args *a)
{
	char tap[32];

	for (size_t i = 0; i < a->ndisks; i++) {
		const struct xf_dm_disk *d = &a->disks[i];
		char *path = opt_escape(d->path);
		arg(v, "-drive");
		if (d->cdrom && !*d->path)
			argf(v, "if=ide,index=%d,media=cdrom,readonly=on", d->index);
		else if (d->cdrom)
			argf(v, "file=%s,if=ide,index=%d,media=cdrom,format=raw,readonly=on", path,
			     d->index);
		else
			argf(v, "file=%s,if=ide,index=%d,media=disk,format=raw,cache=writeback%s", path,
			     d->index, d->readonly ? ",readonly=on" : "");
		free(path);
	}
	for (size_t i = 0; i < a->nnics; i++) {
		const struct xf_dm_nic *n = &a->nics[i];
		xf_emu_tap_name(domid, n->devid, tap, sizeof(tap));
		arg(v, "-device");
		argf(v, "e1000,id=nic%d,netdev=net%d,mac=%s", n->devid, n->devid, n->mac);
		arg(v, "-netdev");
		argf(v, "type=tap,id=net%d,ifname=%s,script=no,downscript=no", n->devid, tap);
	}
	if (!a->nnics) {
		arg(v, "-net");
		arg(v, "none");
	}
}

static void dm_argv(struct argv *v, const char *qemu, uint32_t domid, const struct xf_dm_args *a,
		    const char *qmp, const char *vnc)
{
	arg(v, qemu);
	arg(v, "-xen-domid");
	argf(v, "%u", domid);
	arg(v, "-no-shutdown");
	arg(v, "-chardev");
	argf(v, "socket,id=libxl-cmd,path=%s,server=on,wait=off", qmp);
	arg(v, "-mon");
	arg(v, "chardev=libxl-cmd,mode=control");
	arg(v, "-nodefaults");
	arg(v, "-no-user-config");
	if (a->type != XO_VM_HVM)
		arg(v, "-xen-attach");
	if (a->name) {
		arg(v, "-name");
		arg(v, a->name);
	}
	if (a->type == XO_VM_HVM || a->framebuffer) {
		arg(v, "-vnc");
		argf(v, "unix:%s", vnc);
	} else {
		arg(v, "-vnc");
		arg(v, "none");
	}
	arg(v, "-display");
	arg(v, "none");
	if (a->type == XO_VM_HVM) {
		/* the serial port on a pty, its output logged whether or not one reads it */
		arg(v, "-chardev");
		if (a->serial_log)
			argf(v, "pty,id=serial0,logfile=%s,logappend=on", a->serial_log);
		else
			arg(v, "pty,id=serial0");
		arg(v, "-serial");
		arg(v, "chardev:serial0");
		arg(v, "-device");
		argf(v, "VGA,vgamem_mb=%d", HVM_VIDEO_KIB / 1024);
		arg(v, "-boot");
		argf(v, "order=%s", a->boot_order && *a->boot_order ? a->boot_order : "cd");
		if (a->max_vcpus > 1) {
			arg(v, "-smp");
			argf(v, "%u,maxcpus=%u", a->vcpus ? a->vcpus : 1, a->max_vcpus);
		}
		emulated(v, domid, a);
		arg(v, "-machine");
		arg(v, "xenfv,suppress-vmdesc=on");
		arg(v, "-m");
		argf(v, "%" PRIu64, (a->memory_kib - HVM_VIDEO_KIB) / 1024);
	} else {
		arg(v, "-nographic");
		arg(v, "-machine");
		arg(v, "xenpv");
		arg(v, "-m");
		argf(v, "%" PRIu64, a->memory_kib / 1024);
	}
}

/*
 * Wait for /local/domain/0/device-model/<domid>/state = running, or for
 * qemu's exit (pidfd), or the timeout. The watch is on a handle of its own
 * so that no other watch of this process sees (or steals) its events.
 */
static int dm_wait_running(struct xs_handle *xs, uint32_t domid, int pidfd, int timeout_ms,
			   xo_err *e)
{
	char path[128];
	uint64_t deadline = xo_now_ms() + (uint64_t)timeout_ms;

	snprintf(path, sizeof(path), "/local/domain/0/device-model/%u/state", domid);
	for (;;) {
		unsigned len;
		char *state = xs_read(xs, XBT_NULL, path, &len);
		bool running = state && strcmp(state, "running") == 0;
		free(state);
		if (running)
			return 0;
		struct pollfd fds[2] = { { .fd = xs_fileno(xs), .events = POLLIN },
					 { .fd = pidfd, .events = POLLIN } };
		uint64_t now = xo_now_ms();
		if (now >= deadline)
			return xo_errf(e, XO_E_TIMEOUT,
				       "the device model of domain %u was not running after %d s", domid,
				       timeout_ms / 1000);
		int r = poll(fds, pidfd >= 0 ? 2 : 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			return xo_err_sys(e, errno, "poll");
		if (r > 0 && pidfd >= 0 && (fds[1].revents & POLLIN))
			return xo_errf(e, XO_E_SYSTEM, "the device model of domain %u exited", domid);
		if (r > 0 && (fds[0].revents & POLLIN)) {
			char **ev;
			while ((ev = xs_check_watch(xs)))
				free(ev);
		}
	}
}

static void dm_cleanup_keys(struct xf *x, uint32_t domid)
{
	xs_del(x, "/local/domain/0/device-model/%u", domid);
	xs_del(x, "/local/domain/%u/qemu-pid", domid);
	xs_del(x, "/local/domain/%u/image/device-model-pid", domid);
}

/* qemu's serial ptys -> /local/domain/<domid>/serial/<n>/tty, as libxl does */
static void dm_record_serial(struct xf *x, uint32_t domid, const char *qmp)
{
	struct xo_qmp *q;
	struct json_object *list = NULL;
	xo_err e;

	if (xo_qmp_connect(qmp, 5000, &q, &e) < 0)
		return;
	if (xo_qmp_execute(q, "query-chardev", NULL, &list, 5000, &e) == 0 &&
	    json_object_is_type(list, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *c = json_object_array_get_idx(list, i), *l, *f;
			unsigned port;
			if (!json_object_object_get_ex(c, "label", &l) ||
			    !json_object_object_get_ex(c, "filename", &f))
				continue;
			const char *label = json_object_get_string(l), *file = json_object_get_string(f);
			if (!xo_str_startswith(label, "serial") || !xo_str_startswith(file, "pty:") ||
			    xo_parse_uint(label + 6, 64, &port) < 0)
				continue;
			xs_put(x, file + 4, &e, "/local/domain/%u/serial/%u/tty", domid, port);
		}
	}
	json_object_put(list);
	xo_qmp_close(q);
}

int hvx_dm_start(struct xf *x, uint32_t domid, const struct xf_dm_args *a, int *pid_out,
		      xo_err *e)
{
	const char *qemu = getenv("XO_QEMU") ? getenv("XO_QEMU") : DEFAULT_QEMU;
	char *qmp = NULL, *log = NULL, *vnc = NULL, *dir = NULL, pidtext[32];
	char *envp[] = { "XEN_QEMU_CONSOLE_LIMIT=1048576", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
			 NULL, NULL };
	char domenv[48];
	struct argv v = { NULL, 0 };
	struct xs_handle *w = NULL;
	char token[32];
	pid_t pid = -1;
	int pidfd = -1, r = -1;

	if (a->type != XO_VM_HVM && !a->framebuffer)
		return xo_errf(e, XO_E_INVALID, "a %s guest without a framebuffer needs no device model",
			       xo_vm_type_name(a->type));
	if (a->type == XO_VM_HVM && a->memory_kib <= HVM_VIDEO_KIB)
		return xo_errf(e, XO_E_INVALID, "an hvm guest needs more than %d MiB of memory",
			       HVM_VIDEO_KIB / 1024);
	if (access(qemu, X_OK) < 0)
		return xo_err_sys(e, errno,
				  "no device model: '%s' is not executable (install qemu-system-xen)",
				  qemu);
	if (mkdir_p(RUN_DIR, e) < 0)
		return -1;
	qmp = a->qmp_path ? xstrdup(a->qmp_path) : xasprintf(RUN_DIR "/qmp-libxl-%u", domid);
	log = a->log_path ? xstrdup(a->log_path)
			  : xasprintf("/var/log/xen/qemu-dm-%s.log", a->name ? a->name : "domain");
	vnc = xasprintf(RUN_DIR "/vnc-%u", domid);
	dir = dirname_of(log);
	if (mkdir_p(dir, e) < 0)
		goto out;
	dm_cleanup_keys(x, domid);
	unlink(qmp);
	unlink(vnc);
	if (a->type == XO_VM_HVM) {
		char *bios = xs_get(x, "/local/domain/%u/hvmloader/bios", domid);
		if (!bios && xs_put(x, "seabios", e, "/local/domain/%u/hvmloader/bios", domid) < 0)
			goto out;
		free(bios);
		if (xs_put(x, "0", e, "/local/domain/%u/hvmloader/allow-memory-relocate", domid) < 0)
			goto out;
		snprintf(domenv, sizeof(domenv), "XEN_DOMAIN_ID=%u", domid);
		envp[2] = domenv;
	}
	char dmdir[64];
	snprintf(dmdir, sizeof(dmdir), "/local/domain/0/device-model/%u", domid);
	if (!xs_mkdir(x->xs, XBT_NULL, dmdir)) {
		xo_err_sys(e, errno, "cannot create xenstore '%s'", dmdir);
		goto out;
	}
	if (xs_put(x, qmp, e, "%s/qmp-path", dmdir) < 0)
		goto out;
	w = xs_open(0);
	snprintf(token, sizeof(token), "xo-dm-%u", domid);
	if (!w || !xs_watch(w, dmdir, token)) {
		xo_err_sys(e, errno, "cannot watch xenstore '%s'", dmdir);
		goto out;
	}
	dm_argv(&v, qemu, domid, a, qmp, vnc);
	/* a daemon of its own session, recorded (res.h) before it exists */
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (logfd < 0) {
		xo_err_sys(e, errno, "cannot open the device model log '%s'", log);
		goto out;
	}
	struct xo_child child;
	int sr = xo_res_spawn(a->uuid, "proc.dm", &child, v.v, envp, logfd,
			      XO_SPAWN_DETACH | XO_SPAWN_CLEAN_ENV, e);
	close(logfd);
	if (sr < 0)
		goto out;
	pid = child.pid;
	pidfd = child.pidfd;
	const char *t = getenv("XO_DM_TIMEOUT_MS");
	unsigned timeout = DM_START_TIMEOUT_MS;
	if (t && xo_parse_uint(t, 3600000, &timeout) < 0)
		timeout = DM_START_TIMEOUT_MS;
	if (dm_wait_running(w, domid, pidfd, (int)timeout, e) < 0) {
		char tail[256], why[sizeof(e->msg)];
		xo_file_last_line(log, tail, sizeof(tail));
		xo_strlcpy(why, e->msg, sizeof(why));
		xo_errf(e, e->cls, "%s (log '%s'%s%s)", why, log, tail[0] ? ": " : "", tail);
		if (pidfd >= 0)
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
		dm_cleanup_keys(x, domid);
		goto out;
	}
	/* the emulated nics' taps, qemu's own (they go with it), join the vifs' bridges */
	for (size_t i = 0; i < a->nnics; i++) {
		char tap[32];
		xf_emu_tap_name(domid, a->nics[i].devid, tap, sizeof(tap));
		if (a->nics[i].bridge && xo_bridge_port(tap, a->nics[i].bridge, a->nics[i].mtu) < 0) {
			xo_err_sys(e, errno, "cannot add %s to bridge %s", tap, a->nics[i].bridge);
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
			dm_cleanup_keys(x, domid);
			goto out;
		}
	}
	snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
	if (xs_put(x, pidtext, e, "/local/domain/%u/qemu-pid", domid) < 0 ||
	    xs_put(x, pidtext, e, "/local/domain/%u/image/device-model-pid", domid) < 0)
		goto out;
	if (a->type == XO_VM_HVM)
		dm_record_serial(x, domid, qmp);
	*pid_out = (int)pid;
	r = 0;
out:
	if (pidfd >= 0)
		close(pidfd);
	if (w)
		xs_close(w);
	argv_free(&v);
	free(qmp);
	free(log);
	free(vnc);
	free(dir);
	return r;
}

/* is pid a qemu serving domid? (a stale or forged pid must not be killed) */
static bool is_our_qemu(pid_t pid, uint32_t domid)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	int fd;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (xo_read_all(fd, &buf, &len) == 0) {
		char want[32];
		snprintf(want, sizeof(want), "%u", domid);
		for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
			if (strcmp(buf + i, "-xen-domid") == 0 && i + 11 < len &&
			    strcmp(buf + i + 11, want) == 0)
				yes = true;
	}
	free(buf);
	close(fd);
	return yes;
}

static bool wait_exit(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	uint64_t deadline = xo_now_ms() + (uint64_t)ms;

	for (;;) {
		uint64_t now = xo_now_ms();
		if (now >= deadline)
			return false;
		int r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

int hvx_dm_stop(struct xf *x, const char *uuid, uint32_t domid, xo_err *e)
{
	char *pidtext = xs_get(x, "/local/domain/%u/qemu-pid", domid);
	char *qmp = xs_get(x, "/local/domain/0/device-model/%u/qmp-path", domid);
	unsigned pid = 0;
	int pidfd = -1, r = -1;

	if (!pidtext || xo_parse_uint(pidtext, INT_MAX, &pid) < 0 || pid == 0 ||
	    !is_our_qemu((pid_t)pid, domid)) {
		r = 0;                  /* no device model (any more): nothing to stop */
		goto out;
	}
	pidfd = pidfd_open((pid_t)pid, 0);
	if (pidfd < 0) {
		r = errno == ESRCH ? 0 : xo_err_sys(e, errno, "pidfd_open %u", pid);
		goto out;
	}
	if (qmp) {
		struct xo_qmp *q;
		xo_err ignored;
		if (xo_qmp_connect(qmp, DM_STOP_STEP_MS, &q, &ignored) == 0) {
			xo_qmp_execute(q, "quit", NULL, NULL, DM_STOP_STEP_MS, &ignored);
			xo_qmp_close(q);
		}
	}
	if (!wait_exit(pidfd, DM_STOP_STEP_MS)) {
		pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
		if (!wait_exit(pidfd, DM_STOP_STEP_MS)) {
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
			if (!wait_exit(pidfd, DM_STOP_STEP_MS)) {
				r = xo_errf(e, XO_E_TIMEOUT,
					    "the device model of domain %u (pid %u) does not die", domid,
					    pid);
				goto out;
			}
		}
	}
	r = 0;
out:
	if (r == 0) {
		if (qmp)
			unlink(qmp);
		char *vnc = xasprintf(RUN_DIR "/vnc-%u", domid);
		unlink(vnc);
		free(vnc);
		dm_cleanup_keys(x, domid);
		xo_err ignore;
		xo_res_stop(uuid, "proc.dm", 0, &ignore);
	}
	if (pidfd >= 0)
		close(pidfd);
	free(pidtext);
	free(qmp);
	return r;
}

/* an hvm guest's emulated cd drive of ide index 0-3 (qemu names it ide<bus>-cd<unit>)
 * ejects its disc, or takes path's, over QMP, as libxl's cd-insert does */
int hvx_dm_media(struct xf *x, uint32_t domid, int index, const char *path, xo_err *e)
{
	char *qmp = xs_get(x, "/local/domain/0/device-model/%u/qmp-path", domid), drive[32];
	struct json_object *args = json_object_new_object();
	struct xo_qmp *q;
	int r = -1;

	if (!qmp) {
		json_object_put(args);
		return xo_errf(e, XO_E_POWER_STATE, "domain %u has no device model", domid);
	}
	snprintf(drive, sizeof(drive), "ide%d-cd%d", index / 2, index % 2);
	xo_json_add_str(args, "device", drive);
	if (xo_qmp_connect(qmp, 5000, &q, e) == 0) {
		if (path && *path) {
			xo_json_add_str(args, "filename", path);
			xo_json_add_str(args, "format", "raw");
			xo_json_add_str(args, "read-only-mode", "read-only");
			r = xo_qmp_execute(q, "blockdev-change-medium", args, NULL, 10000, e);
		} else {
			xo_json_add_bool(args, "force", true);
			r = xo_qmp_execute(q, "eject", args, NULL, 10000, e);
		}
		xo_qmp_close(q);
	}
	json_object_put(args);
	free(qmp);
	return r;
}

/* the vnc server of a domain's qemu (an hvm guest's screen, a pv framebuffer): a unix
 * socket in RUN_DIR, no tcp port (ssh -L or a viewer on the host reaches it) */
bool hvx_vnc_path(uint32_t domid, char *buf, size_t size)
{
	struct stat st;

	snprintf(buf, size, RUN_DIR "/vnc-%u", domid);
	return stat(buf, &st) == 0 && S_ISSOCK(st.st_mode);
}
