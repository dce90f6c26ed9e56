/*
 * hv-sim.c: the sim backend's hypervisor calls, which go to xo-simd (see xf.h).
 *
 * Opening: connect to $XO_STATE_DIR/sim/hv.sock; if nothing accepts, run
 * "xo-simd start" (the sibling of the running program, else from PATH),
 * which returns once the simulator's sockets accept connections, and
 * connect again. Then XENSTORED_PATH is set to the simulator's
 * xenstored.sock and libxenstore opened with xs_open(), so x->xs and every
 * child process (hotplug scripts, xenstore-* tools) talk to the simulated
 * xenstored.
 *
 * Each operation is one request line on hv.sock and one reply (the
 * protocol: lib/hvproto.h, shared with the simulator); an "error CLASS
 * MESSAGE" reply becomes an xo_err of that class, so a full host is
 * not_enough_memory and an unknown domid does_not_exist, as with Xen.
 */
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>

#include "hvproto.h"
#include "state.h"
#include "util.h"
#include "xf.h"

/* run "xo-simd start"; it exits 0 once the simulator runs, 1 if another one
 * does already (a concurrent autostart) */
static int start_simd(xo_err *e)
{
	char *self = xasprintf("%s/xo-simd", xo_self_dir());
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		free(self);
		return xo_err_sys(e, errno, "unable to fork");
	}
	if (pid == 0) {
		if (access(self, X_OK) == 0)
			execl(self, "xo-simd", "start", (char *)NULL);
		execlp("xo-simd", "xo-simd", "start", (char *)NULL);
		fprintf(stderr, "%s: fatal: unable to run xo-simd: %s\n", xo_prog, strerror(errno));
		_exit(127);
	}
	free(self);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return xo_err_sys(e, errno, "unable to wait for xo-simd start");
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1))
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return xo_errf(e, XO_E_NO_HYPERVISOR, "xo-simd is not installed next to %s nor on PATH",
			       xo_prog);
	return xo_errf(e, XO_E_NO_HYPERVISOR, "xo-simd start failed (status %d): see "
		       "'$XO_STATE_DIR/sim/simd.log'", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* one request, one reply (extra record lines appended after newlines) */
static int call(struct xf *x, const char *req, struct xo_buf *reply, xo_err *e)
{
	return xo_hv_call(x->hv_priv, req, reply, e);
}

static int simple(struct xf *x, xo_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int simple(struct xf *x, xo_err *e, const char *fmt, ...)
{
	struct xo_buf reply = XO_BUF_INIT;
	char req[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	r = call(x, req, &reply, e);
	xo_buf_free(&reply);
	return r;
}

/* ---- the operations ----------------------------------------------------------------------- */

static void sim_close(struct xf *x)
{
	struct xo_hv_conn *p = x->hv_priv;

	if (p) {
		xo_hv_close(p);
		free(p);
		x->hv_priv = NULL;
	}
}

static int sim_domain_create(struct xf *x, const struct xf_create_args *a,
			     uint32_t *domid, xo_err *e)
{
	struct xo_buf reply = XO_BUF_INIT;
	char uuid[XO_UUID_LEN + 1], req[512];
	uint64_t id;
	int r;

	xo_uuid_format(a->uuid, uuid);
	snprintf(req, sizeof(req), "create uuid=%s hvm=%d hap=%d iommu=%d max_vcpus=%u "
		 "max_memory_kib=%llu max_grant_frames=%u max_maptrack_frames=%u",
		 uuid, a->type != XO_VM_PV, a->hap, a->iommu, a->max_vcpus,
		 (unsigned long long)(a->target_kib ? a->target_kib : a->max_memory_kib),
		 a->max_grant_frames ? a->max_grant_frames : 64,
		 a->max_maptrack_frames ? a->max_maptrack_frames : 1024);
	r = call(x, req, &reply, e);
	if (r == 0 && (r = xo_hv_field_u64(reply.s, "domid", &id, e)) == 0)
		*domid = (uint32_t)id;
	xo_buf_free(&reply);
	return r;
}

static int sim_domain_build(struct xf *x, uint32_t domid,
			    const struct xf_build_args *a, struct xf_build_result *out,
			    xo_err *e)
{
	struct xo_buf req = XO_BUF_INIT, reply = XO_BUF_INIT;
	uint64_t v[4];
	int r;

	/* as xenguest, read the kernel and ramdisk */
	if (a->type != XO_VM_HVM) {
		if (!a->kernel || access(a->kernel, R_OK) < 0)
			return xo_errf(e, XO_E_INVALID, "unable to read kernel '%s': %s",
				       a->kernel ? a->kernel : "", strerror(a->kernel ? errno : EINVAL));
		if (a->ramdisk && access(a->ramdisk, R_OK) < 0)
			return xo_errf(e, XO_E_INVALID, "unable to read ramdisk '%s': %s", a->ramdisk,
				       strerror(errno));
	}
	xo_buf_printf(&req, "build domid=%u type=%s max_kib=%llu target_kib=%llu vcpus=%u "
		      "max_vcpus=%u", domid, xo_vm_type_name(a->type),
		      (unsigned long long)a->memory_max_kib, (unsigned long long)a->memory_target_kib,
		      a->vcpus, a->max_vcpus ? a->max_vcpus : a->vcpus);
	if (a->cmdline && *a->cmdline) {
		xo_buf_puts(&req, " cmdline=");
		xo_hv_enc(&req, a->cmdline);
	}
	r = call(x, req.s, &reply, e);
	if (r == 0 && (xo_hv_field_u64(reply.s, "store_port", &v[0], e) < 0 ||
		       xo_hv_field_u64(reply.s, "console_port", &v[1], e) < 0 ||
		       xo_hv_field_u64(reply.s, "store_mfn", &v[2], e) < 0 ||
		       xo_hv_field_u64(reply.s, "console_mfn", &v[3], e) < 0))
		r = -1;
	if (r == 0) {
		out->store_port = (uint32_t)v[0];
		out->console_port = (uint32_t)v[1];
		out->store_mfn = v[2];
		out->console_mfn = v[3];
	}
	xo_buf_free(&req);
	xo_buf_free(&reply);
	return r;
}

static int sim_domain_pause(struct xf *x, uint32_t domid, xo_err *e)
{
	return simple(x, e, "pause domid=%u", domid);
}

static int sim_domain_unpause(struct xf *x, uint32_t domid, xo_err *e)
{
	return simple(x, e, "unpause domid=%u", domid);
}

static int sim_domain_shutdown(struct xf *x, uint32_t domid, unsigned reason, xo_err *e)
{
	return simple(x, e, "shutdown domid=%u reason=%u", domid, reason);
}

static int sim_domain_destroy(struct xf *x, uint32_t domid, xo_err *e)
{
	return simple(x, e, "destroy domid=%u", domid);
}

static int parse_info(const char *rec, struct xf_dominfo *d, xo_err *e)
{
	uint64_t v[13];
	static const char *const keys[] = { "domid", "hvm", "built", "paused", "running", "shutdown",
		"dying", "reason", "memory_kib", "max_memory_kib", "vcpus", "max_vcpus", "cpu_ns" };
	char uuid[64];

	for (size_t i = 0; i < XO_ARRAY_SIZE(keys); i++)
		if (xo_hv_field_u64(rec, keys[i], &v[i], e) < 0)
			return -1;
	memset(d, 0, sizeof(*d));
	if (!xo_hv_field(rec, "uuid", uuid, sizeof(uuid)) || xo_uuid_parse(uuid, d->handle) < 0)
		return xo_errf(e, XO_E_INTERNAL, "the simulator's reply lacks a uuid");
	d->domid = (uint32_t)v[0];
	d->hvm = v[1];
	d->paused = v[3];
	d->running = v[4];
	d->blocked = false;
	d->shutdown = v[5];
	d->dying = v[6];
	d->shutdown_reason = (unsigned)v[7];
	d->memory_kib = v[8];
	d->max_memory_kib = v[9];
	d->online_vcpus = (unsigned)v[10];
	d->max_vcpu_id = v[11] ? (unsigned)v[11] - 1 : 0;
	d->cpu_time_ns = v[12];
	return 0;
}

static int sim_domain_info(struct xf *x, uint32_t domid, struct xf_dominfo *out,
			   xo_err *e)
{
	struct xo_buf reply = XO_BUF_INIT;
	char req[64];
	int r;

	snprintf(req, sizeof(req), "info domid=%u", domid);
	r = call(x, req, &reply, e);
	if (r == 0)
		r = parse_info(reply.s + 3, out, e);
	xo_buf_free(&reply);
	return r;
}

static int sim_domain_list(struct xf *x, struct xf_dominfo **out, size_t *n, xo_err *e)
{
	struct xo_buf reply = XO_BUF_INIT;
	struct xf_dominfo *list = NULL;
	size_t k = 0;
	int r;

	r = call(x, "list", &reply, e);
	for (const char *line = r ? NULL : strchr(reply.s, '\n'); line; line = strchr(line, '\n')) {
		line++;
		list = xrealloc(list, (k + 1) * sizeof(*list));
		if ((r = parse_info(line, &list[k], e)) < 0)
			break;
		k++;
	}
	xo_buf_free(&reply);
	if (r < 0) {
		free(list);
		return -1;
	}
	*out = list;
	*n = k;
	return 0;
}

static int sim_host_info(struct xf *x, struct xo_hostinfo *out, xo_err *e)
{
	struct xo_buf reply = XO_BUF_INIT;
	uint64_t cpus;
	int r = call(x, "host", &reply, e);

	if (r == 0 && (xo_hv_field_u64(reply.s, "total_kib", &out->total_kib, e) < 0 ||
		       xo_hv_field_u64(reply.s, "free_kib", &out->free_kib, e) < 0 ||
		       xo_hv_field_u64(reply.s, "cpus", &cpus, e) < 0))
		r = -1;
	if (r == 0)
		out->nr_cpus = (unsigned)cpus;
	xo_buf_free(&reply);
	return r;
}

/* the simulated guest follows memory/target itself (sim/guest.c): the hypervisor only
 * enforces the new maximum */
static int sim_domain_set_memory(struct xf *x, uint32_t domid, enum xo_vm_type type,
				 uint64_t target_kib, xo_err *e)
{
	(void)type;
	return simple(x, e, "maxmem domid=%u kib=%llu", domid, (unsigned long long)target_kib);
}

static int sim_vcpu_set_affinity(struct xf *x, uint32_t domid, unsigned vcpu, const uint8_t *map,
				 xo_err *e)
{
	char list[1024];

	xo_cpulist_format(map, XO_CPUS_MAX, list, sizeof(list));
	if (!list[0])
		return xo_errf(e, XO_E_INVALID, "an empty cpu map for vcpu %u of domain %u", vcpu, domid);
	return simple(x, e, "affinity domid=%u vcpu=%u cpus=%s", domid, vcpu, list);
}

static int sim_vcpu_info(struct xf *x, uint32_t domid, unsigned vcpu, struct xf_vcpuinfo *out,
			 xo_err *e)
{
	struct xo_buf reply = XO_BUF_INIT;
	char req[96], cpus[1024];
	uint64_t online, cpu, ns;
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(req, sizeof(req), "vcpu domid=%u vcpu=%u", domid, vcpu);
	r = call(x, req, &reply, e);
	if (r == 0 && (xo_hv_field_u64(reply.s, "online", &online, e) < 0 ||
		       xo_hv_field_u64(reply.s, "cpu", &cpu, e) < 0 ||
		       xo_hv_field_u64(reply.s, "cpu_ns", &ns, e) < 0))
		r = -1;
	if (r == 0 && (!xo_hv_field(reply.s, "affinity", cpus, sizeof(cpus)) ||
		       xo_cpulist_parse(cpus, out->affinity, "affinity", e) < 0))
		r = xo_errf(e, XO_E_INTERNAL, "the simulator's vcpu reply lacks an affinity");
	if (r == 0) {
		out->online = online;
		out->running = online;
		out->cpu = online ? (int)cpu : -1;
		out->cpu_time_ns = ns;
	}
	xo_buf_free(&reply);
	return r;
}

static int sim_dm_start(struct xf *x, uint32_t domid, const struct xf_dm_args *a, int *pid,
			xo_err *e)
{
	struct xo_buf req = XO_BUF_INIT, reply = XO_BUF_INIT;
	uint64_t p;
	int r;

	xo_buf_printf(&req, "dm-start domid=%u type=%s", domid, xo_vm_type_name(a->type));
	if (a->name) {
		xo_buf_puts(&req, " name=");
		xo_hv_enc(&req, a->name);
	}
	if (a->uuid) {
		xo_buf_puts(&req, " uuid=");
		xo_hv_enc(&req, a->uuid);
	}
	r = call(x, req.s, &reply, e);
	if (r == 0 && (r = xo_hv_field_u64(reply.s, "pid", &p, e)) == 0)
		*pid = (int)p;
	xo_buf_free(&req);
	xo_buf_free(&reply);
	return r;
}

static int sim_dm_stop(struct xf *x, const char *uuid, uint32_t domid, xo_err *e)
{
	(void)uuid;
	return simple(x, e, "dm-stop domid=%u", domid);
}

static int bdf_ok(const char *bdf, xo_err *e)
{
	for (const char *s = bdf; *s; s++)
		if (!strchr("0123456789abcdefABCDEF:.", *s))
			return xo_errf(e, XO_E_INVALID, "invalid pci address '%s'", bdf);
	return 0;
}

static int sim_pci_assign(struct xf *x, const char *uuid, uint32_t domid, const char *bdf,
			  xo_err *e)
{
	(void)uuid;
	if (bdf_ok(bdf, e) < 0)
		return -1;
	return simple(x, e, "pci-assign domid=%u bdf=%s", domid, bdf);
}

static int sim_pci_deassign(struct xf *x, const char *uuid, uint32_t domid, const char *bdf,
			    xo_err *e)
{
	(void)uuid;
	if (bdf_ok(bdf, e) < 0)
		return -1;
	return simple(x, e, "pci-deassign domid=%u bdf=%s", domid, bdf);
}

/* a simulated guest writes its console to $XO_STATE_DIR/sim/console/<vm-uuid>.log
 * (sim/guest.c), kept across its domains; there is no console daemon and no pty */
static int sim_console_log(struct xf *x, const struct xo_vm *vm, char **path, xo_err *e)
{
	(void)x;
	(void)e;
	*path = xasprintf("%s/sim/console/%s.log", xo_state_dir(), vm->uuid);
	return 0;
}

/* the simulated host's libxl userdata directory (xf-userdata.c) */
static char *sim_libxl_dir(void)
{
	char *dir = xasprintf("%s/sim", xo_state_dir());

	mkdir(dir, 0755);
	free(dir);
	dir = xasprintf("%s/sim/libxl", xo_state_dir());
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		free(dir);
		return NULL;
	}
	return dir;
}

static int sim_open(struct xf *x, xo_err *e);

const struct xf_hv_ops xf_hv_sim = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.domain_create = sim_domain_create,
	.domain_build = sim_domain_build,
	.domain_pause = sim_domain_pause,
	.domain_unpause = sim_domain_unpause,
	.domain_shutdown = sim_domain_shutdown,
	.domain_destroy = sim_domain_destroy,
	.domain_info = sim_domain_info,
	.domain_list = sim_domain_list,
	.host_info = sim_host_info,
	.domain_set_memory = sim_domain_set_memory,
	.vcpu_set_affinity = sim_vcpu_set_affinity,
	.vcpu_info = sim_vcpu_info,
	.dm_start = sim_dm_start,
	.dm_stop = sim_dm_stop,
	.pci_assign = sim_pci_assign,
	.pci_deassign = sim_pci_deassign,
	.console_log = sim_console_log,
	.console_pty = false,
	.libxl_dir = sim_libxl_dir,
};

static int sim_open(struct xf *x, xo_err *e)
{
	char real[PATH_MAX], *dir = NULL, *sock = NULL;
	struct sockaddr_un sa;
	struct xo_hv_conn *p = xcalloc(1, sizeof(*p));

	if (xo_state_open(e) < 0)
		return -1;
	if (!realpath(xo_state_dir(), real))
		return xo_err_sys(e, errno, "unable to resolve state directory '%s'", xo_state_dir());
	dir = xasprintf("%s/sim", real);
	if (strlen(dir) + strlen("/domain/32751.sock") >= sizeof(sa.sun_path)) {
		xo_errf(e, XO_E_INVALID, "state directory '%s' is too deep for the simulator's unix "
			"sockets (at most %zu bytes)", real,
			sizeof(sa.sun_path) - 1 - strlen("/sim/domain/32751.sock"));
		goto fail;
	}
	if (xo_hv_connect(dir, p) < 0) {
		if (start_simd(e) < 0)
			goto fail;
		if (xo_hv_connect(dir, p) < 0) {
			xo_err_sys(e, errno, "unable to connect to the simulator at '%s/hv.sock'", dir);
			goto fail;
		}
	}
	sock = xasprintf("%s/xenstored.sock", dir);
	if (setenv("XENSTORED_PATH", sock, 1) < 0) {
		xo_err_sys(e, errno, "unable to set XENSTORED_PATH");
		goto fail;
	}
	x->xs = xs_open(0);
	if (!x->xs) {
		xo_err_sys(e, errno, "unable to open the simulator's xenstore at '%s'", sock);
		goto fail;
	}
	x->hv_priv = p;
	free(dir);
	free(sock);
	return 0;
fail:
	xo_hv_close(p);
	free(p);
	free(dir);
	free(sock);
	return -1;
}
