/*
 * sim-backend: drive lib/hv-sim.c (and the xenstore layout a toolstack
 * writes) from tests/sim-*.bats. Run without arguments (as the unit test
 * runner does) it only says it is a helper.
 *
 *   sim-backend create [--hvm] [MAX_KIB]      prints the domid
 *   sim-backend build DOMID TARGET_KIB KERNEL prints ports and frames
 *   sim-backend vm [--hvm] KIB KERNEL         create, the domain's xenstore
 *                                             directories, build, introduce
 *   sim-backend pause|unpause|destroy DOMID
 *   sim-backend shutdown DOMID REASON
 *   sim-backend info DOMID | list | host
 *   sim-backend dm-start|dm-stop DOMID
 *   sim-backend pci-assign|pci-deassign DOMID BDF
 *   sim-backend vbd DOMID DEVID PARAMS [SCRIPT]   frontend + backend, one
 *   sim-backend vif DOMID DEVID [SCRIPT]          transaction, xenopsd's
 *   sim-backend pcidev DOMID BDF                  permissions
 *   sim-backend unplug DOMID KIND DEVID       online=0, state=5 (clean unplug)
 *   sim-backend wait PATH VALUE [SECONDS]     until PATH reads VALUE (a watch,
 *                                             no polling); exit 99 on timeout
 *   sim-backend wait-gone PATH [SECONDS]      until PATH does not exist
 *
 * Errors: "sim-backend: fatal: ... " and the class's exit code.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstore.h>

#include "xf.h"
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

static struct xf B;

static void die(const xo_err *e)
{
	fprintf(stderr, "sim-backend: fatal: %s (%s)\n", e->msg, xo_ecls_name(e->cls));
	exit(xo_ecls_exit(e->cls));
}

static uint32_t num(const char *s)
{
	uint64_t v;

	if (xo_parse_u64(s, &v) < 0 || v > UINT32_MAX) {
		fprintf(stderr, "sim-backend: fatal: invalid number '%s'\n", s);
		exit(100);
	}
	return (uint32_t)v;
}

static void mkdir_perms(xs_transaction_t t, const char *path, unsigned owner, unsigned other_read)
{
	struct xs_permissions p[2] = { { owner, XS_PERM_NONE }, { other_read, XS_PERM_READ } };

	if (!xs_mkdir(B.xs, t, path) ||
	    !xs_set_permissions(B.xs, t, path, p, other_read == owner ? 1 : 2)) {
		fprintf(stderr, "sim-backend: fatal: mkdir '%s': %s\n", path, strerror(errno));
		exit(111);
	}
}

static void wr(xs_transaction_t t, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void wr(xs_transaction_t t, const char *path, const char *fmt, ...)
{
	char val[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (!xs_write(B.xs, t, path, val, (unsigned)strlen(val))) {
		fprintf(stderr, "sim-backend: fatal: write '%s': %s\n", path, strerror(errno));
		exit(111);
	}
}

static void commit(xs_transaction_t t)
{
	if (!xs_transaction_end(B.xs, t, false)) {
		fprintf(stderr, "sim-backend: fatal: commit: %s\n", strerror(errno));
		exit(errno == EAGAIN ? 1 : 111);
	}
}

static void print_info(const struct xf_dominfo *d)
{
	char uuid[XO_UUID_LEN + 1];

	xo_uuid_format(d->handle, uuid);
	printf("domid=%u uuid=%s paused=%d running=%d shutdown=%d reason=%u memory_kib=%llu "
	       "max_memory_kib=%llu vcpus=%u hvm=%d\n", d->domid, uuid, d->paused, d->running,
	       d->shutdown, d->shutdown_reason, (unsigned long long)d->memory_kib,
	       (unsigned long long)d->max_memory_kib, d->online_vcpus, d->hvm);
}

static uint32_t create(bool hvm, uint64_t max_kib)
{
	struct xf_create_args a = { .type = hvm ? XO_VM_HVM : XO_VM_PV, .max_vcpus = 2,
					   .max_memory_kib = max_kib };
	uint32_t domid;
	xo_err e;
	char uuid[XO_UUID_LEN + 1];

	xo_uuid_generate(uuid);
	xo_uuid_parse(uuid, a.uuid);
	if (B.hv->domain_create(&B, &a, &domid, &e) < 0)
		die(&e);
	return domid;
}

static void build(uint32_t domid, uint64_t kib, const char *kernel, bool hvm,
		  struct xf_build_result *r)
{
	struct xf_build_args a = { .type = hvm ? XO_VM_HVM : XO_VM_PV, .kernel = kernel,
					  .cmdline = "console=hvc0 root=/dev/xvda",
					  .memory_max_kib = kib, .memory_target_kib = kib, .vcpus = 1,
					  .max_vcpus = 2 };
	xo_err e;

	if (B.hv->domain_build(&B, domid, &a, r, &e) < 0)
		die(&e);
}

/* the domain's directories, as xenopsd's VM_create writes them */
static void layout(uint32_t d)
{
	static const char *const rw[] = { "device", "device/vbd", "device/vif", "device/pci",
		"control", "data", "error", "drivers", "feature", "attr" };
	char path[256];
	xs_transaction_t t;

	do {
		t = xs_transaction_start(B.xs);
		snprintf(path, sizeof(path), "/local/domain/%u", d);
		xs_rm(B.xs, t, path);
		mkdir_perms(t, path, 0, d);
		snprintf(path, sizeof(path), "/local/domain/%u/name", d);
		wr(t, path, "vm-%u", d);
		snprintf(path, sizeof(path), "/local/domain/%u/domid", d);
		wr(t, path, "%u", d);
		for (size_t i = 0; i < sizeof(rw) / sizeof(rw[0]); i++) {
			snprintf(path, sizeof(path), "/local/domain/%u/%s", d, rw[i]);
			mkdir_perms(t, path, d, d);
		}
	} while (!xs_transaction_end(B.xs, t, false) && errno == EAGAIN);
}

static void device(const char *kind, uint32_t d, const char *devid, const char *params,
		   const char *script)
{
	char fe[256], be[256], p[320], dv[32];
	xs_transaction_t t;

	xo_strlcpy(dv, devid, sizeof(dv));
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%s", d, kind, devid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u/%s", kind, d, devid);
	t = xs_transaction_start(B.xs);
	mkdir_perms(t, fe, d, 0);
	mkdir_perms(t, be, 0, d);
#define FE(k, ...) (snprintf(p, sizeof(p), "%s/%s", fe, k), wr(t, p, __VA_ARGS__))
#define BE(k, ...) (snprintf(p, sizeof(p), "%s/%s", be, k), wr(t, p, __VA_ARGS__))
	FE("backend", "%s", be);
	FE("backend-id", "0");
	FE("state", "1");
	BE("frontend", "%s", fe);
	BE("frontend-id", "%u", d);
	BE("online", "1");
	BE("state", "1");
	if (!strcmp(kind, "vbd")) {
		FE("virtual-device", "%s", dv);
		FE("device-type", "disk");
		BE("removable", "1");
		BE("dev", "xvda");
		BE("type", "phy");
		BE("mode", "w");
		BE("params", "%s", params ? params : "");
		BE("device-type", "disk");
	} else if (!strcmp(kind, "vif")) {
		FE("handle", "%s", dv);
		FE("mac", "00:16:3e:00:00:%02x", atoi(devid) & 0xff);
		BE("handle", "%s", dv);
		BE("mac", "00:16:3e:00:00:%02x", atoi(devid) & 0xff);
		BE("bridge", "xenbr0");
	} else {
		BE("dev-0", "%s", params ? params : "");
		BE("num_devs", "1");
	}
	if (script)
		BE("script", "%s", script);
	commit(t);
}

/* wait until path reads value (or, value NULL, is gone): a watch, no polling */
static int wait_for(const char *path, const char *value, int seconds)
{
	int fd = xs_fileno(B.xs);
	uint64_t end = xo_now_ms() + (uint64_t)seconds * 1000;
	char *v = NULL;
	unsigned len;

	if (!xs_watch(B.xs, path, "wait")) {
		fprintf(stderr, "sim-backend: fatal: watch '%s': %s\n", path, strerror(errno));
		return 111;
	}
	for (;;) {
		free(v);
		v = xs_read(B.xs, XBT_NULL, path, &len);
		if (value ? (v && strcmp(v, value) == 0) : !v) {
			free(v);
			return 0;
		}
		uint64_t now = xo_now_ms();
		if (now >= end)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, (int)(end - now)) > 0) {
			char **ev;
			while ((ev = xs_check_watch(B.xs)))
				free(ev);
		}
	}
	fprintf(stderr, "sim-backend: timeout: '%s' is '%s', waited for %s\n", path, v ? v : "(absent)",
		value ? value : "(absent)");
	free(v);
	return 99;
}

int main(int argc, char **argv)
{
	struct xf_build_result br;
	struct xf_dominfo info;
	struct xo_hostinfo host;
	const char *cmd;
	xo_err e;
	bool hvm = false;
	int pid;

	if (argc < 2) {
		printf("1..0\n# sim-backend is a helper of tests/sim-*.bats\n");
		return 0;
	}
	xo_prog = "sim-backend";
	cmd = argv[1];
	argv += 2;
	argc -= 2;
	if (argc > 0 && strcmp(argv[0], "--hvm") == 0) {
		hvm = true;
		argv++;
		argc--;
	}
	if ((B.hv = &xf_hv_sim, B.hv->open(&B, &e)) < 0)
		die(&e);

	if (!strcmp(cmd, "create")) {
		printf("%u\n", create(hvm, argc > 0 ? num(argv[0]) : 262144));
	} else if (!strcmp(cmd, "build") && argc == 3) {
		build(num(argv[0]), num(argv[1]), argv[2], hvm, &br);
		printf("store_port=%u console_port=%u store_mfn=%llu console_mfn=%llu\n", br.store_port,
		       br.console_port, (unsigned long long)br.store_mfn,
		       (unsigned long long)br.console_mfn);
	} else if (!strcmp(cmd, "vm") && argc == 2) {
		uint64_t kib = num(argv[0]);
		uint32_t d = create(hvm, kib);
		layout(d);
		build(d, kib, argv[1], hvm, &br);
		if (!xs_introduce_domain(B.xs, d, br.store_mfn, br.store_port)) {
			fprintf(stderr, "sim-backend: fatal: introduce: %s\n", strerror(errno));
			return 111;
		}
		printf("%u\n", d);
	} else if (!strcmp(cmd, "pause") && argc == 1) {
		if (B.hv->domain_pause(&B, num(argv[0]), &e) < 0)
			die(&e);
	} else if (!strcmp(cmd, "unpause") && argc == 1) {
		if (B.hv->domain_unpause(&B, num(argv[0]), &e) < 0)
			die(&e);
	} else if (!strcmp(cmd, "destroy") && argc == 1) {
		if (B.hv->domain_destroy(&B, num(argv[0]), &e) < 0)
			die(&e);
	} else if (!strcmp(cmd, "shutdown") && argc == 2) {
		if (B.hv->domain_shutdown(&B, num(argv[0]), num(argv[1]), &e) < 0)
			die(&e);
	} else if (!strcmp(cmd, "info") && argc == 1) {
		if (B.hv->domain_info(&B, num(argv[0]), &info, &e) < 0)
			die(&e);
		print_info(&info);
	} else if (!strcmp(cmd, "list")) {
		struct xf_dominfo *l;
		size_t n;
		if (B.hv->domain_list(&B, &l, &n, &e) < 0)
			die(&e);
		for (size_t i = 0; i < n; i++)
			print_info(&l[i]);
		free(l);
	} else if (!strcmp(cmd, "host")) {
		if (B.hv->host_info(&B, &host, &e) < 0)
			die(&e);
		printf("total_kib=%llu free_kib=%llu cpus=%u\n", (unsigned long long)host.total_kib,
		       (unsigned long long)host.free_kib, host.nr_cpus);
	} else if (!strcmp(cmd, "dm-start") && argc == 1) {
		struct xf_dm_args a = { .type = XO_VM_HVM, .name = "test vm", .uuid = owner() };
		if (B.hv->dm_start(&B, num(argv[0]), &a, &pid, &e) < 0)
			die(&e);
		printf("%d\n", pid);
	} else if (!strcmp(cmd, "dm-stop") && argc == 1) {
		if (B.hv->dm_stop(&B, owner(), num(argv[0]), &e) < 0)
			die(&e);
	} else if (!strcmp(cmd, "pci-assign") && argc == 2) {
		if (B.hv->pci_assign(&B, owner(), num(argv[0]), argv[1], &e) < 0)
			die(&e);
	} else if (!strcmp(cmd, "pci-deassign") && argc == 2) {
		if (B.hv->pci_deassign(&B, owner(), num(argv[0]), argv[1], &e) < 0)
			die(&e);
	} else if (!strcmp(cmd, "vbd") && (argc == 3 || argc == 4)) {
		device("vbd", num(argv[0]), argv[1], argv[2], argc == 4 ? argv[3] : NULL);
	} else if (!strcmp(cmd, "vif") && (argc == 2 || argc == 3)) {
		device("vif", num(argv[0]), argv[1], "", argc == 3 ? argv[2] : NULL);
	} else if (!strcmp(cmd, "pcidev") && argc == 2) {
		device("pci", num(argv[0]), "0", argv[1], NULL);
	} else if (!strcmp(cmd, "unplug") && argc == 3) {
		char p[256];
		xs_transaction_t t = xs_transaction_start(B.xs);
		snprintf(p, sizeof(p), "/local/domain/0/backend/%s/%u/%s/online", argv[1], num(argv[0]),
			 argv[2]);
		wr(t, p, "0");
		snprintf(p, sizeof(p), "/local/domain/0/backend/%s/%u/%s/state", argv[1], num(argv[0]),
			 argv[2]);
		wr(t, p, "5");
		commit(t);
	} else if (!strcmp(cmd, "wait") && (argc == 2 || argc == 3)) {
		return wait_for(argv[0], argv[1], argc == 3 ? atoi(argv[2]) : 10);
	} else if (!strcmp(cmd, "wait-gone") && (argc == 1 || argc == 2)) {
		return wait_for(argv[0], NULL, argc == 2 ? atoi(argv[1]) : 10);
	} else {
		fprintf(stderr, "sim-backend: fatal: usage: see tests/unit/sim-backend.c\n");
		return 100;
	}
	B.hv->close(&B);
	xs_close(B.xs);
	return 0;
}
