/*
 * tests/xen/xen-backend.c: drive the xen backend (lib/backend-xen.c) by hand,
 * for the real-Xen suite (the tests/xen bats files, run in the lab's dom0).
 *
 *   xen-backend host
 *   xen-backend start --name N --type pv|pvh|hvm [--kernel K] [--ramdisk R] [--cmdline C]
 *                     [--memory MiB] [--vcpus N] [--paused] [--times] [--iommu]
 *   xen-backend info DOMID | list
 *   xen-backend pause|unpause DOMID
 *   xen-backend shutdown DOMID REASON      hard: xc_domain_shutdown (0 poweroff .. 4 watchdog)
 *   xen-backend request DOMID poweroff|reboot [--timeout S]
 *                                           clean: control/shutdown, then wait for the
 *                                           guest to shut down (prints the reason)
 *   xen-backend destroy DOMID              device model, domain, xenstore
 *   xen-backend dm-start DOMID --type hvm|pv --name N --memory MiB [--vcpus N]
 *   xen-backend dm-stop DOMID
 *   xen-backend pci-assign|pci-deassign DOMID BDF
 *   xen-backend double-fault DOMID         inject #DF into vcpu 0 of a PVH or HVM domain:
 *                                           one that has not run yet (started --paused)
 *                                           has no IDT, so it triple-faults at once
 *
 * `start` does what the start pipeline will do for a guest without devices:
 * create, build, the xenstore layout of a domain as libxl writes it (the
 * console keys that make xenconsoled log the guest's console, the store
 * ring, memory and vcpu keys), xs_introduce_domain, unpause. Waiting is
 * done on xenstore watches (@releaseDomain), never by polling.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>
/* xc_hvm_inject_trap: libxenctrl's wrapper of the XEN_DMOP_inject_event device-model op */
#define XC_WANT_COMPAT_DEVICEMODEL_API
#include <xenctrl.h>
#include <xen/hvm/dm_op.h>

#include "xf.h"
#include "cli.h"
#include "state.h"
#include "util.h"

/* the VM the processes and bindings this helper makes are recorded for (res.h): a
 * directory of its own in the state directory */
static const char *owner(void)
{
	static const char uuid[] = "0e0e0e0e-0000-4000-8000-00000000a11e";
	static bool made;
	xo_err ignore;

	if (!made && xo_state_open(&ignore) >= 0) {
		xo_mkdir(xo_state_fd(), "VM", &ignore);
		xo_mkdir(xo_state_fd(), "VM/0e0e0e0e-0000-4000-8000-00000000a11e", &ignore);
		made = true;
	}
	return uuid;
}

static const struct xo_opt opts[] = {
	{ 'n', "name", "NAME", "the domain's name" },
	{ 't', "type", "TYPE", "pv, pvh or hvm" },
	{ 'k', "kernel", "FILE", "the kernel" },
	{ 'r', "ramdisk", "FILE", "the initial ramdisk" },
	{ 'c', "cmdline", "TEXT", "the kernel command line" },
	{ 'm', "memory", "MIB", "memory in MiB (default 128)" },
	{ 'v', "vcpus", "N", "vcpus (default 1)" },
	{ 'p', "paused", NULL, "leave the domain paused" },
	{ 'T', "times", NULL, "print the time of each step to stderr" },
	{ 'i', "iommu", NULL, "create the domain for pci pass-through" },
	{ 256, "timeout", "SECONDS", "how long request waits (default 120)" },
	{ 0, NULL, NULL, NULL },
};

static struct xf *be;
static xo_err err;

/*
 * The Xen family's hypervisor calls for the backend XO_BACKEND names (xen by
 * default, or sim), through the checked xf_dom_* wrappers, as the programs
 * use them. The suite runs it with XO_BACKEND=xen; under XO_BACKEND=sim it
 * drives the simulator.
 */
static int open_backend(void)
{
	struct xo_backend *b;

	if (strcmp(xo_backend_name(), "xen") != 0 && strcmp(xo_backend_name(), "sim") != 0)
		return xo_errf(&err, XO_E_USAGE, "xen-backend drives the xen and sim backends only");
	if (xo_backend_open(&b, &err) < 0)
		return -1;
	be = XF(b);
	return 0;
}

static void die_on(int r)
{
	if (r < 0)
		exit(xo_err_report(&err));
}

static uint32_t domid_arg(const char *s)
{
	unsigned d;
	if (xo_parse_uint(s, 0x7fef, &d) < 0) {
		fprintf(stderr, "%s: fatal: invalid domid '%s'\n", xo_prog, s);
		exit(XO_EXIT_USAGE);
	}
	return d;
}

static bool xs_printf(xs_transaction_t t, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool xs_printf(xs_transaction_t t, const char *value, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_write(be->xs, t, path, value, (unsigned)strlen(value));
}

static bool xs_mkdir_perm(xs_transaction_t t, const char *path, uint32_t owner, uint32_t reader)
{
	struct xs_permissions perms[2] = {
		{ .id = owner, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};
	return xs_mkdir(be->xs, t, path) &&
	       xs_set_permissions(be->xs, t, path, perms, owner == reader ? 1 : 2);
}

/* the domain's xenstore layout, libxl's (libxl__domain_make + build_post + console) */
static int write_layout(uint32_t domid, const char *name, const char *uuid, enum xo_vm_type type,
			uint64_t mem_kib, unsigned vcpus, const struct xf_build_result *r)
{
	static const char *const rw_dirs[] = { "device", "control", "data", "drivers", "feature",
					       "attr", "error", "device/suspend/event-channel" };
	char dom[64], vm[96], v[64];

	snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);
	for (;;) {
		xs_transaction_t t = xs_transaction_start(be->xs);
		bool ok = t != XBT_NULL;
		char lib[64];
		snprintf(lib, sizeof(lib), "/libxl/%u", domid);
		xs_rm(be->xs, t, dom);
		xs_rm(be->xs, t, vm);
		xs_rm(be->xs, t, lib);
		ok = ok && xs_mkdir_perm(t, dom, 0, domid) && xs_mkdir_perm(t, vm, 0, domid) &&
		     xs_mkdir_perm(t, lib, 0, 0);
		ok = ok && xs_printf(t, uuid, "%s/uuid", vm) && xs_printf(t, name, "%s/name", vm);
		ok = ok && xs_printf(t, vm, "%s/vm", dom) && xs_printf(t, name, "%s/name", dom);
		snprintf(v, sizeof(v), "%u", domid);
		ok = ok && xs_printf(t, v, "%s/domid", dom);
		for (size_t i = 0; ok && i < XO_ARRAY_SIZE(rw_dirs); i++) {
			char p[128];
			snprintf(p, sizeof(p), "%s/%s", dom, rw_dirs[i]);
			ok = xs_mkdir_perm(t, p, domid, domid);
		}
		ok = ok && xs_printf(t, "1", "%s/control/platform-feature-multiprocessor-suspend", dom) &&
		     xs_printf(t, "1", "%s/control/platform-feature-xs_reset_watches", dom);
		snprintf(v, sizeof(v), "%" PRIu64, mem_kib);
		ok = ok && xs_printf(t, v, "%s/memory/static-max", dom) &&
		     xs_printf(t, v, "%s/memory/target", dom) && xs_printf(t, "0", "%s/memory/videoram", dom);
		for (unsigned i = 0; ok && i < vcpus; i++) {
			char p[128];
			snprintf(p, sizeof(p), "%s/cpu/%u/availability", dom, i);
			ok = xs_write(be->xs, t, p, "online", 6);
		}
		snprintf(v, sizeof(v), "%u", r->store_port);
		ok = ok && xs_printf(t, v, "%s/store/port", dom);
		snprintf(v, sizeof(v), "%" PRIu64, r->store_mfn);
		ok = ok && xs_printf(t, v, "%s/store/ring-ref", dom);
		snprintf(v, sizeof(v), "%u", r->console_port);
		ok = ok && xs_printf(t, v, "%s/console/port", dom);
		snprintf(v, sizeof(v), "%" PRIu64, r->console_mfn);
		ok = ok && xs_printf(t, v, "%s/console/ring-ref", dom) &&
		     xs_printf(t, "0", "%s/console/backend-id", dom) &&
		     xs_printf(t, "1048576", "%s/console/limit", dom) &&
		     xs_printf(t, "xenconsoled", "%s/console/type", dom) &&
		     xs_printf(t, "pty", "%s/console/output", dom) &&
		     xs_printf(t, "", "%s/console/tty", dom) &&
		     xs_printf(t, type == XO_VM_PV ? "pv" : type == XO_VM_PVH ? "pvh" : "hvm", "%s/type",
			       lib);
		if (!ok) {
			int e = errno;
			if (t != XBT_NULL)
				xs_transaction_end(be->xs, t, true);
			return xo_err_sys(&err, e, "writing the xenstore layout of domain %u", domid);
		}
		if (xs_transaction_end(be->xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return xo_err_sys(&err, errno, "committing the xenstore layout of domain %u", domid);
	}
}

/*
 * A guest that dies the way the lab's emulated machine sometimes kills one (see boot_guest in
 * tests/xen/helpers.bash), on purpose: a double fault queued for vcpu 0. A domain that has not
 * run yet has an empty IDT (limit 0): delivering the #DF raises #GP, which cannot be delivered
 * either, and Xen logs "d<N>v0 Triple fault".
 */
static int cmd_double_fault(uint32_t domid)
{
	xc_interface *xch = xc_interface_open(NULL, NULL, 0);
	if (!xch) {
		fprintf(stderr, "%s: fatal: unable to open libxenctrl: %s\n", xo_prog, strerror(errno));
		return XO_EXIT_SYSTEM;
	}
	int r = xc_hvm_inject_trap(xch, domid, 0, 8 /* #DF */, XEN_DMOP_EVENT_hw_exc, 0, 0, 0);
	int e = errno;
	xc_interface_close(xch);
	if (r < 0) {
		fprintf(stderr, "%s: fatal: unable to inject a double fault into domain %u: %s\n", xo_prog,
			domid, strerror(e));
		return e == ESRCH || e == EINVAL ? XO_EXIT_FAIL : XO_EXIT_SYSTEM;
	}
	return 0;
}

static double ms_since(uint64_t t0)
{
	return (double)(xo_now_ns() - t0) / 1e6;
}

static int cmd_start(const char *name, const char *type_s, const char *kernel, const char *ramdisk,
		     const char *cmdline, unsigned mem_mib, unsigned vcpus, bool paused, bool times,
		     bool iommu)
{
	struct xf_create_args ca;
	struct xf_build_args ba;
	struct xf_build_result r;
	enum xo_vm_type type;
	char uuid[XO_UUID_LEN + 1];
	uint32_t domid;
	uint64_t t0, t_all = xo_now_ns();
	double t_create, t_build, t_xs, t_unpause = 0;

	if (!name || !type_s) {
		fprintf(stderr, "%s: fatal: usage: start needs --name and --type\n", xo_prog);
		return XO_EXIT_USAGE;
	}
	if (strcmp(type_s, "pv") == 0)
		type = XO_VM_PV;
	else if (strcmp(type_s, "pvh") == 0)
		type = XO_VM_PVH;
	else if (strcmp(type_s, "hvm") == 0)
		type = XO_VM_HVM;
	else {
		fprintf(stderr, "%s: fatal: start: type must be pv, pvh or hvm\n", xo_prog);
		return XO_EXIT_USAGE;
	}
	if (type != XO_VM_HVM && !kernel) {
		fprintf(stderr, "%s: fatal: usage: a %s guest needs --kernel\n", xo_prog, type_s);
		return XO_EXIT_USAGE;
	}
	memset(&ca, 0, sizeof(ca));
	xo_uuid_generate(uuid);
	xo_uuid_parse(uuid, ca.uuid);
	ca.type = type;
	ca.hap = type != XO_VM_PV;
	ca.iommu = iommu;
	ca.max_vcpus = vcpus;
	ca.max_memory_kib = (uint64_t)mem_mib * 1024;
	t0 = xo_now_ns();
	die_on(xf_dom_create(be, &ca, &domid, &err));
	t_create = ms_since(t0);

	memset(&ba, 0, sizeof(ba));
	ba.type = type;
	ba.kernel = type == XO_VM_HVM ? NULL : kernel;
	ba.ramdisk = ramdisk;
	ba.cmdline = cmdline;
	ba.memory_max_kib = ba.memory_target_kib = (uint64_t)mem_mib * 1024;
	ba.vcpus = ba.max_vcpus = vcpus;
	t0 = xo_now_ns();
	if (xf_dom_build(be, domid, &ba, &r, &err) < 0) {
		xo_err e2;
		xf_dom_destroy(be, domid, &e2);
		return xo_err_report(&err);
	}
	t_build = ms_since(t0);

	t0 = xo_now_ns();
	if (write_layout(domid, name, uuid, type, ba.memory_max_kib, vcpus, &r) < 0 ||
	    (!xs_introduce_domain(be->xs, domid, r.store_mfn, r.store_port) &&
	     xo_err_sys(&err, errno, "xs_introduce_domain %u", domid) < 0)) {
		xo_err e2;
		xf_dom_destroy(be, domid, &e2);
		return xo_err_report(&err);
	}
	t_xs = ms_since(t0);
	if (!paused) {
		t0 = xo_now_ns();
		die_on(xf_dom_unpause(be, domid, &err));
		t_unpause = ms_since(t0);
	}
	if (times)
		fprintf(stderr,
			"times: create_ms=%.1f build_ms=%.1f xenstore_ms=%.1f unpause_ms=%.1f "
			"total_ms=%.1f\n",
			t_create, t_build, t_xs, t_unpause, ms_since(t_all));
	printf("%u\n", domid);
	return 0;
}

static void print_info(const struct xf_dominfo *d)
{
	char uuid[XO_UUID_LEN + 1];
	xo_uuid_format(d->handle, uuid);
	printf("domid=%u uuid=%s paused=%d running=%d blocked=%d shutdown=%d reason=%u dying=%d hvm=%d "
	       "memory_kib=%" PRIu64 " max_memory_kib=%" PRIu64 " vcpus=%u\n",
	       d->domid, uuid, d->paused, d->running, d->blocked, d->shutdown, d->shutdown_reason,
	       d->dying, d->hvm, d->memory_kib, d->max_memory_kib, d->online_vcpus);
}

/*
 * Wait (xenstore watch on @releaseDomain, which xenstored fires when a
 * domain shuts down or dies) until `done` says so or the timeout passes.
 */
static int wait_domain(uint32_t domid, bool (*done)(const struct xf_dominfo *, bool gone),
		       unsigned timeout_s, struct xf_dominfo *last)
{
	struct xs_handle *w = xs_open(0);
	uint64_t deadline = xo_now_ms() + (uint64_t)timeout_s * 1000;

	if (!w || !xs_watch(w, "@releaseDomain", "xo-wait"))
		return xo_err_sys(&err, errno, "watching @releaseDomain");
	for (;;) {
		struct xf_dominfo d;
		bool gone = false;
		xo_err e2;
		if (xf_dom_info(be, domid, &d, &e2) < 0) {
			if (e2.cls != XO_E_NOT_FOUND) {
				err = e2;
				xs_close(w);
				return -1;
			}
			gone = true;
		}
		if (done(&d, gone)) {
			if (last && !gone)
				*last = d;
			xs_close(w);
			return gone ? 1 : 0;
		}
		uint64_t now = xo_now_ms();
		if (now >= deadline) {
			xs_close(w);
			return xo_errf(&err, XO_E_TIMEOUT, "domain %u: timed out after %u s", domid,
				       timeout_s);
		}
		struct pollfd p = { .fd = xs_fileno(w), .events = POLLIN };
		if (poll(&p, 1, (int)(deadline - now)) > 0) {
			char **ev;
			while ((ev = xs_check_watch(w)))
				free(ev);
		}
	}
}

static bool is_shutdown(const struct xf_dominfo *d, bool gone)
{
	return gone || d->shutdown;
}

static bool is_gone(const struct xf_dominfo *d, bool gone)
{
	(void)d;
	return gone;
}

static int cmd_request(uint32_t domid, const char *what, unsigned timeout_s)
{
	struct xf_dominfo d;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	if (!xs_write(be->xs, XBT_NULL, path, what, (unsigned)strlen(what)))
		return xo_err_report((xo_err_sys(&err, errno, "writing '%s'", path), &err));
	r = wait_domain(domid, is_shutdown, timeout_s, &d);
	die_on(r);
	if (r == 1) {
		printf("gone\n");
		return 0;
	}
	static const char *const reasons[] = { "poweroff", "reboot", "suspend", "crash", "watchdog",
					       "soft_reset" };
	printf("%s\n", d.shutdown_reason < XO_ARRAY_SIZE(reasons) ? reasons[d.shutdown_reason]
								   : "unknown");
	return 0;
}

static int cmd_destroy(uint32_t domid)
{
	char path[96], *vm;
	unsigned len;

	/* a domain without a device model: nothing to stop (the simulator says not found) */
	if (be->hv->dm_stop(be, owner(), domid, &err) < 0 && err.cls != XO_E_NOT_FOUND)
		die_on(-1);
	snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
	vm = xs_read(be->xs, XBT_NULL, path, &len);
	die_on(xf_dom_destroy(be, domid, &err));
	die_on(wait_domain(domid, is_gone, 60, NULL));
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	xs_rm(be->xs, XBT_NULL, path);
	snprintf(path, sizeof(path), "/libxl/%u", domid);
	xs_rm(be->xs, XBT_NULL, path);
	if (vm && xo_str_startswith(vm, "/vm/"))
		xs_rm(be->xs, XBT_NULL, vm);
	free(vm);
	return 0;
}

int main(int argc, char **argv)
{
	struct xo_cli cli;
	const char *name = NULL, *type = NULL, *kernel = NULL, *ramdisk = NULL, *cmdline = NULL;
	unsigned mem = 128, vcpus = 1, timeout = 120;
	bool paused = false, times = false, iommu = false;
	int c;

	xo_cli_init(&cli, argc, argv, "COMMAND [ARGS] (see tests/xen/xen-backend.c)", opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		switch (c) {
		case 'n': name = cli.arg; break;
		case 't': type = cli.arg; break;
		case 'k': kernel = cli.arg; break;
		case 'r': ramdisk = cli.arg; break;
		case 'c': cmdline = cli.arg; break;
		case 'p': paused = true; break;
		case 'T': times = true; break;
		case 'i': iommu = true; break;
		case 'm':
			if (xo_parse_uint(cli.arg, 1 << 20, &mem) < 0 || mem == 0)
				xo_cli_usage_error(&cli, "invalid memory '%s'", cli.arg);
			break;
		case 'v':
			if (xo_parse_uint(cli.arg, XO_VCPUS_MAX, &vcpus) < 0 || vcpus == 0)
				xo_cli_usage_error(&cli, "invalid vcpus '%s'", cli.arg);
			break;
		case 256:
			if (xo_parse_uint(cli.arg, 3600, &timeout) < 0)
				xo_cli_usage_error(&cli, "invalid timeout '%s'", cli.arg);
			break;
		}
	}
	xo_cli_operands(&cli, 1, 3);
	const char *cmd = cli.argv[0];
	die_on(open_backend());

	if (strcmp(cmd, "host") == 0) {
		struct xo_hostinfo h;
		die_on(be->hv->host_info(be, &h, &err));
		printf("total_kib=%" PRIu64 " free_kib=%" PRIu64 " nr_cpus=%u\n", h.total_kib,
		       h.free_kib, h.nr_cpus);
		return 0;
	}
	if (strcmp(cmd, "start") == 0)
		return cmd_start(name, type, kernel, ramdisk, cmdline, mem, vcpus, paused, times, iommu);
	if (strcmp(cmd, "list") == 0) {
		struct xf_dominfo *l;
		size_t n;
		die_on(xf_dom_list(be, &l, &n, &err));
		for (size_t i = 0; i < n; i++)
			print_info(&l[i]);
		free(l);
		return 0;
	}
	if (cli.argc < 2)
		xo_cli_usage_error(&cli, "%s needs a domid", cmd);
	uint32_t domid = domid_arg(cli.argv[1]);
	if (strcmp(cmd, "info") == 0) {
		struct xf_dominfo d;
		die_on(xf_dom_info(be, domid, &d, &err));
		print_info(&d);
	} else if (strcmp(cmd, "pause") == 0) {
		die_on(xf_dom_pause(be, domid, &err));
	} else if (strcmp(cmd, "unpause") == 0) {
		die_on(xf_dom_unpause(be, domid, &err));
	} else if (strcmp(cmd, "shutdown") == 0 && cli.argc == 3) {
		unsigned reason;
		if (xo_parse_uint(cli.argv[2], 255, &reason) < 0)
			xo_cli_usage_error(&cli, "invalid reason '%s'", cli.argv[2]);
		die_on(xf_dom_shutdown(be, domid, reason, &err));
	} else if (strcmp(cmd, "request") == 0 && cli.argc == 3) {
		return cmd_request(domid, cli.argv[2], timeout);
	} else if (strcmp(cmd, "destroy") == 0) {
		return cmd_destroy(domid);
	} else if (strcmp(cmd, "dm-start") == 0) {
		struct xf_dm_args a;
		int pid;
		memset(&a, 0, sizeof(a));
		if (!type || !name)
			xo_cli_usage_error(&cli, "dm-start needs --type and --name");
		a.type = strcmp(type, "hvm") == 0 ? XO_VM_HVM : XO_VM_PV;
		a.framebuffer = a.type != XO_VM_HVM;
		a.name = name;
		a.uuid = owner();
		a.memory_kib = (uint64_t)mem * 1024;
		a.vcpus = a.max_vcpus = vcpus;
		die_on(be->hv->dm_start(be, domid, &a, &pid, &err));
		printf("%d\n", pid);
	} else if (strcmp(cmd, "dm-stop") == 0) {
		die_on(be->hv->dm_stop(be, owner(), domid, &err));
	} else if (strcmp(cmd, "pci-assign") == 0 && cli.argc == 3) {
		die_on(be->hv->pci_assign(be, owner(), domid, cli.argv[2], &err));
	} else if (strcmp(cmd, "pci-deassign") == 0 && cli.argc == 3) {
		die_on(be->hv->pci_deassign(be, owner(), domid, cli.argv[2], &err));
	} else if (strcmp(cmd, "double-fault") == 0 && cli.argc == 2) {
		return cmd_double_fault(domid);
	} else {
		xo_cli_usage_error(&cli, "unknown command '%s' or wrong operands", cmd);
	}
	return 0;
}
