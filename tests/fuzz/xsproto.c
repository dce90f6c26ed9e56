/*
 * fuzz/xsproto: libFuzzer harness for xo-simd's xenstored (lib/sim/
 * xsproto.c and the store, watches and transactions behind it).
 *
 * The simulator runs in this process, on a private directory under /tmp:
 * its loop, store, xenstored, hypervisor and dom0, with one guest domain
 * (1) created over hv.sock and introduced. Each input is what one client
 * sends on one connection: its first byte chooses the socket (even: dom0's
 * xenstored.sock, odd: guest 1's domain/1.sock), the rest is written as is,
 * then the client hangs up, reading whatever comes back, and the harness
 * turns the loop until the daemon has closed the connection. Then the tree
 * is put back as it was (what the input created is removed), so inputs do
 * not depend on each other. udev is off (/libxl/disable_udev) so that no
 * hotplug script is forked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim/sim.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static int connect_to(const char *rel)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, rel);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "fuzz/xsproto: connect '%s': %s\n", sa.sun_path, strerror(errno));
		abort();
	}
	return fd;
}

/* one hv.sock request, answered while the loop turns here */
static void hv_request(const char *req)
{
	char buf[4096];
	size_t len = 0;
	int fd = connect_to("hv.sock");

	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) || write(fd, "\n", 1) != 1)
		abort();
	while (!memchr(buf, '\n', len)) {
		sim_loop_step(100);
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == 0)
			abort();
		if (n > 0)
			len += (size_t)n;
	}
	buf[len] = '\0';
	if (strncmp(buf, "ok", 2) != 0) {
		fprintf(stderr, "fuzz/xsproto: %s: %s", req, buf);
		abort();
	}
	close(fd);
}

static const struct {
	const char *path, *value, *perms;       /* perms: "n0", "b1"... one */
} base[] = {
	{ "/tool", "", "n0" },
	{ "/tool/xenstored", "", "n0" },
	{ "/local", "", "n0" },
	{ "/local/domain", "", "n0" },
	{ "/local/domain/0", "", "n0" },
	{ "/local/domain/0/name", "Domain-0", "n0" },
	{ "/local/domain/0/domid", "0", "n0" },
	{ "/local/domain/1", "", "n1" },
	{ "/local/domain/1/name", "guest", "n1" },
	{ "/libxl", "", "n0" },
	{ "/libxl/disable_udev", "1", "n0" },
};

static bool in_base(const char *path)
{
	if (strcmp(path, "/") == 0)
		return true;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		if (strcmp(base[i].path, path) == 0)
			return true;
	return false;
}

/* remove what is not in the base tree below path */
static void prune(const char *path)
{
	struct xo_buf kids = XO_BUF_INIT;
	char child[4096];

	if (sim_st_dir(&sim_dom0, NULL, path, &kids, NULL) != 0)
		return;
	for (size_t off = 0; off < kids.len; off += strlen(kids.s + off) + 1) {
		snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", kids.s + off);
		if (in_base(child))
			prune(child);
		else
			sim_st_rm(&sim_dom0, NULL, child);
	}
	xo_buf_free(&kids);
}

static void restore(void)
{
	struct sim_perm p0 = { 0, SIM_PERM_NONE };

	prune("/");
	sim_st_set_perms(&sim_dom0, NULL, "/", &p0, 1);
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		struct sim_perm p = { (uint32_t)atoi(base[i].perms + 1), SIM_PERM_NONE };
		sim_st_write(&sim_dom0, NULL, base[i].path, base[i].value, (unsigned)strlen(base[i].value));
		sim_st_set_perms(&sim_dom0, NULL, base[i].path, &p, 1);
	}
	if (!sim_xs_introduced(1) && sim_xs_introduce(1) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sim_perm p0 = { 0, SIM_PERM_NONE };
	xo_err e;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/xo-fuzz-xs.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	sim_cfg.dir = dir;
	sim_cfg.memory_kib = 1 << 20;
	sim_cfg.cpus = 1;
	sim_cfg.script_dir = (char *)"/nonexistent";
	sim_cfg.root = false;
	sim_cfg.output_max = 64u << 20;
	if (sim_loop_init(&e) < 0)
		goto fail;
	sim_store_init();
	if (sim_xs_mkdir_perms("/tool/xenstored", &p0, 1) || sim_xs_init(&e) < 0 ||
	    sim_hv_init(&e) < 0 || sim_dom0_init(&e) < 0)
		goto fail;
	hv_request("create uuid=00000000-0000-0000-0000-000000000001 max_vcpus=1 max_memory_kib=65536");
	hv_request("build domid=1 type=pv max_kib=65536 target_kib=65536 vcpus=1");
	restore();
	return 0;
fail:
	fprintf(stderr, "fuzz/xsproto: unable to start the simulator: %s\n", e.msg);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[65536];
	size_t off = 0;
	bool closed = false, shut = false;
	int fd;

	if (size == 0)
		return 0;
	fd = connect_to(data[0] & 1 ? "domain/1.sock" : "xenstored.sock");
	data++;
	size--;
	for (unsigned turns = 0; !closed; turns++) {
		if (turns == 100000) {
			fprintf(stderr, "fuzz/xsproto: the connection is still open after %u turns\n", turns);
			abort();
		}
		if (off < size) {
			ssize_t n = write(fd, data + off, size - off);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				off = size;             /* the daemon closed it */
		}
		if (off == size && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		sim_loop_step(0);
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n > 0)
				continue;
			if (n == 0 || errno != EAGAIN)
				closed = true;
			break;
		}
	}
	close(fd);
	/* the daemon's side goes in the turn after */
	sim_loop_step(0);
	restore();
	return 0;
}
