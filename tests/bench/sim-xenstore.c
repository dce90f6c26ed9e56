/*
 * sim-xenstore: benchmarks of the simulated xenstored (xo-simd), through
 * libxenstore as xo uses it. Prints one line per figure with its target:
 *
 *   read and write round trips (p50, p99) with 10 domains
 *   watch event delivery: from the start of a write on one connection to
 *   the event read on another (libxenstore's reader thread included)
 *   the memory (RSS) of xo-simd with 10,000 domains of 30 keys each
 *   read and write round trips again with 10,000 domains: the per-request
 *   cost must not grow with the number of domains
 *
 * It runs its own simulator in a temporary state directory and stops it at
 * the end. BENCH_SIM_DOMAINS sets the number of domains (default 10000),
 * BENCH_SIM_N the number of timed requests (default 20000).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>

#include "xf.h"
#include "util.h"

static struct xf B;
static struct xs_handle *h;
static char statedir[256];

static void fail(const char *what)
{
	fprintf(stderr, "sim-xenstore: %s: %s\n", what, strerror(errno));
	exit(111);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct stats {
	double p50, p99;
};

static struct stats summarize(uint64_t *ns, size_t n)
{
	struct stats s;

	qsort(ns, n, sizeof(*ns), cmp_u64);
	s.p50 = ns[n / 2] / 1000.0;
	s.p99 = ns[n * 99 / 100] / 1000.0;
	return s;
}

static void populate(uint32_t from, uint32_t to)
{
	static const char *const dirs[] = { "device", "device/vbd", "device/vif", "control", "data",
		"memory", "store", "console" };
	char path[256], val[64];
	xo_err e;

	for (uint32_t i = from; i <= to; i++) {
		struct xf_create_args a = { .type = XO_VM_PV, .max_vcpus = 1,
						   .max_memory_kib = 65536 };
		uint32_t d;
		xs_transaction_t t;
		struct xs_permissions ro[2] = { { 0, XS_PERM_NONE }, { 0, XS_PERM_READ } };

		xo_random_bytes(a.uuid, 16);
		if (B.hv->domain_create(&B, &a, &d, &e) < 0) {
			fprintf(stderr, "sim-xenstore: create: %s\n", e.msg);
			exit(111);
		}
		ro[1].id = d;
		do {
			struct xs_permissions rw = { d, XS_PERM_NONE };
			t = xs_transaction_start(h);
			snprintf(path, sizeof(path), "/local/domain/%u", d);
			xs_mkdir(h, t, path);
			xs_set_permissions(h, t, path, ro, 2);
			for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
				snprintf(path, sizeof(path), "/local/domain/%u/%s", d, dirs[k]);
				xs_mkdir(h, t, path);
				xs_set_permissions(h, t, path, &rw, 1);
			}
			/* 30 keys, as a started VM has them */
			static const char *const keys[] = { "name", "domid", "vm", "memory/static-max",
				"memory/target", "memory/dynamic-min", "memory/dynamic-max", "store/port",
				"store/ring-ref", "console/port", "console/ring-ref", "console/limit",
				"control/platform-feature-multiprocessor-suspend",
				"control/platform-feature-xs_reset_watches", "device/vbd/51712/backend",
				"device/vbd/51712/backend-id", "device/vbd/51712/state",
				"device/vbd/51712/virtual-device", "device/vbd/51712/device-type",
				"device/vif/0/backend", "device/vif/0/backend-id", "device/vif/0/state",
				"device/vif/0/handle", "device/vif/0/mac", "data/k1", "data/k2", "data/k3",
				"data/k4", "data/k5", "data/k6" };
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				snprintf(path, sizeof(path), "/local/domain/%u/%s", d, keys[k]);
				snprintf(val, sizeof(val), "value-%u-%zu", d, k);
				xs_write(h, t, path, val, (unsigned)strlen(val));
			}
		} while (!xs_transaction_end(h, t, false) && errno == EAGAIN);
		if (!xs_introduce_domain(h, d, 0x1000 + d, 1))
			fail("introduce");
	}
}

static struct stats bench_rw(bool write, size_t n, uint32_t domains)
{
	uint64_t *ns = xmalloc(n * sizeof(*ns));
	char path[128];
	unsigned len;

	for (size_t i = 0; i < n; i++) {
		uint32_t d = 1 + (uint32_t)(i * 7919 % domains);
		snprintf(path, sizeof(path), "/local/domain/%u/data/k%zu", d, 1 + i % 6);
		uint64_t t0 = xo_now_ns();
		if (write) {
			if (!xs_write(h, XBT_NULL, path, "bench", 5))
				fail("write");
		} else {
			char *v = xs_read(h, XBT_NULL, path, &len);
			if (!v)
				fail("read");
			free(v);
		}
		ns[i] = xo_now_ns() - t0;
	}
	struct stats s = summarize(ns, n);
	free(ns);
	return s;
}

static struct stats bench_watch(size_t n)
{
	struct xs_handle *w = xs_open(0);
	uint64_t *ns = xmalloc(n * sizeof(*ns));
	unsigned num;
	char **ev;

	if (!w || !xs_watch(w, "/bench/watched", "tok"))
		fail("watch");
	ev = xs_read_watch(w, &num);    /* the first event, on registration */
	free(ev);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = xo_now_ns();
		if (!xs_write(h, XBT_NULL, "/bench/watched/x", "1", 1))
			fail("write");
		ev = xs_read_watch(w, &num);
		if (!ev)
			fail("read watch");
		ns[i] = xo_now_ns() - t0;
		free(ev);
	}
	xs_close(w);
	struct stats s = summarize(ns, n);
	free(ns);
	return s;
}

static double rss_mib(void)
{
	char path[300], line[256];
	long pid = 0, kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sim/lock", statedir);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (pid <= 0 || !(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb / 1024.0;
}

static void run(const char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
}

int main(void)
{
	const char *s;
	uint32_t domains = 10000;
	size_t n = 20000;
	char tmpl[] = "/tmp/xo-simbench.XXXXXX", *path;
	struct stats r10, w10, wl, r, w;
	xo_err e;

	xo_prog = "sim-xenstore";
	if ((s = getenv("BENCH_SIM_DOMAINS")) && atoi(s) >= 10)
		domains = (uint32_t)atoi(s);
	if ((s = getenv("BENCH_SIM_N")) && atoi(s) > 100)
		n = (size_t)atoi(s);
	if (!mkdtemp(tmpl))
		fail("mkdtemp");
	snprintf(statedir, sizeof(statedir), "%s/state", tmpl);
	setenv("XO_STATE_DIR", statedir, 1);
	/* xo-simd is in ../bin next to this program, or on PATH */
	path = xasprintf("%s/../bin:%s", xo_self_dir(), getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	free(path);
	if ((B.hv = &xf_hv_sim, B.hv->open(&B, &e)) < 0) {
		fprintf(stderr, "sim-xenstore: %s\n", e.msg);
		return 111;
	}
	h = B.xs;

	populate(1, 10);
	bench_rw(false, 2000, 10);          /* warm up */
	r10 = bench_rw(false, n, 10);
	w10 = bench_rw(true, n, 10);
	wl = bench_watch(n / 4);
	printf("sim xenstore read round trip, 10 domains: p50 %.1f us, p99 %.1f us   (target p50 <= 50 us)\n",
	       r10.p50, r10.p99);
	printf("sim xenstore write round trip, 10 domains: p50 %.1f us, p99 %.1f us   (target p50 <= 50 us)\n",
	       w10.p50, w10.p99);
	printf("sim watch event delivery (write start to event read): p50 %.1f us, p99 %.1f us   "
	       "(target <= 100 us)\n", wl.p50, wl.p99);
	fflush(stdout);

	uint64_t t0 = xo_now_ns();
	populate(11, domains);
	double secs = (xo_now_ns() - t0) / 1e9;
	printf("sim populate %u more domains x 30 keys (create, 1 transaction, introduce): %.1f s, "
	       "%.0f us per domain\n", domains - 10, secs, secs * 1e6 / (domains - 10));
	printf("sim xo-simd memory, %u domains x 30 keys: %.1f MiB RSS   (target < 200 MiB for 10000)\n",
	       domains, rss_mib());
	r = bench_rw(false, n, domains);
	w = bench_rw(true, n, domains);
	printf("sim xenstore read round trip, %u domains: p50 %.1f us, p99 %.1f us, %.2fx of 10 domains   "
	       "(target: no growth)\n", domains, r.p50, r.p99, r.p50 / r10.p50);
	printf("sim xenstore write round trip, %u domains: p50 %.1f us, p99 %.1f us, %.2fx of 10 domains   "
	       "(target: no growth)\n", domains, w.p50, w.p99, w.p50 / w10.p50);

	B.hv->close(&B);
	xs_close(B.xs);
	/* its domains are the benchmark's, no VM's: a plain stop refuses while they run */
	run((const char *const[]){ "xo-simd", "stop", "--force", NULL });
	run((const char *const[]){ "rm", "-rf", tmpl, NULL });
	return 0;
}
