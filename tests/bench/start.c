/*
 * start.c: VM start benchmarks on the simulator (make bench).
 *
 *   start latency  N xo-vm-start-equivalent starts (submit + wait) of the
 *                  reference VM (1 VBD, 1 VIF), each followed by a destroy;
 *                  p50 and p99 of enqueue-to-Paused.
 *   throughput     C VMs of the reference kind started at once (all
 *                  submitted, then all waited for): starts per second.
 *
 * Usage: bench-start latency VM N | throughput PREFIX C
 * The VMs must exist (tests/bench/run makes them); XO_STATE_DIR and
 * XO_BACKEND=sim come from the environment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "config.h"
#include "queue.h"
#include "state.h"

static int start_wait(const char *uuid, const char *name, double *ms)
{
	struct xo_task t;
	xo_err e;
	double t0 = bench_now_ms();

	if (xo_submit(uuid, name, "VM_start", "", 0, &t, &e) < 0 ||
	    xo_task_wait(t.id, -1, NULL, NULL, &t, &e) < 0) {
		fprintf(stderr, "bench-start: %s\n", e.msg);
		return -1;
	}
	*ms = bench_now_ms() - t0;
	if (t.state != XO_TASK_COMPLETED) {
		fprintf(stderr, "bench-start: start of %s failed: %s\n", name, t.err_msg);
		return -1;
	}
	xo_task_destroy(t.id, &e);
	return 0;
}

static int run_op(const char *uuid, const char *name, const char *op)
{
	struct xo_task t;
	xo_err e;
	if (xo_submit(uuid, name, op, "", 0, &t, &e) < 0 || xo_task_wait(t.id, -1, NULL, NULL, &t, &e) < 0)
		return -1;
	xo_task_destroy(t.id, &e);
	return t.state == XO_TASK_COMPLETED ? 0 : -1;
}

static int latency(const char *ref, int n)
{
	char uuid[XO_UUID_LEN + 1];
	double *v = calloc((size_t)n, sizeof(double));
	xo_err e;

	if (xo_vm_resolve(ref, uuid, &e) < 0) {
		fprintf(stderr, "bench-start: %s\n", e.msg);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (start_wait(uuid, ref, &v[i]) < 0 || run_op(uuid, ref, "VM_destroy") < 0)
			return 1;
	}
	double p50 = bench_pct(v, (size_t)n, 50), p99 = bench_pct(v, (size_t)n, 99);
	printf("start %s: n=%d p50=%.2f ms p99=%.2f ms\n", ref, n, p50, p99);
	free(v);
	return 0;
}

static int throughput(const char *prefix, int c)
{
	char (*uuids)[XO_UUID_LEN + 1] = calloc((size_t)c, sizeof(*uuids));
	struct xo_task *t = calloc((size_t)c, sizeof(*t));
	char name[128];
	xo_err e;
	int failed = 0;

	for (int i = 0; i < c; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		if (xo_vm_resolve(name, uuids[i], &e) < 0) {
			fprintf(stderr, "bench-start: %s\n", e.msg);
			return 1;
		}
	}
	double idle0 = bench_idle_s(), t0 = bench_now_ms();
	for (int i = 0; i < c; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		if (xo_submit(uuids[i], name, "VM_start", "", 0, &t[i], &e) < 0) {
			fprintf(stderr, "bench-start: %s\n", e.msg);
			return 1;
		}
	}
	double submitted = bench_now_ms() - t0;
	double *queued = calloc((size_t)c, sizeof(double)), *ran = calloc((size_t)c, sizeof(double));
	double first = 0, last = 0;
	for (int i = 0; i < c; i++) {
		struct xo_task done;
		if (xo_task_wait(t[i].id, -1, NULL, NULL, &done, &e) < 0 || done.state != XO_TASK_COMPLETED)
			failed++;
		queued[i] = (done.started - done.created) * 1000.0;
		if (!first || done.finished < first)
			first = done.finished;
		if (done.finished > last)
			last = done.finished;
		ran[i] = (done.finished - done.started) * 1000.0;
		xo_task_destroy(t[i].id, &e);
	}
	double ms = bench_now_ms() - t0, idle = bench_idle_s() - idle0;
	printf("concurrent starts: %d vms in %.1f ms = %.0f starts/s (%d failed; all submitted in %.1f ms, "
	       "each waited %.1f ms p50 for a worker, then ran %.1f ms p50, first done to last %.1f ms; "
	       "cpus %.0f%% idle)\n", c, ms, c / (ms / 1000.0), failed, submitted,
	       bench_pct(queued, (size_t)c, 50), bench_pct(ran, (size_t)c, 50), (last - first) * 1000.0,
	       100.0 * idle / (ms / 1000.0 * (double)sysconf(_SC_NPROCESSORS_ONLN)));
	free(queued);
	free(ran);
	for (int i = 0; i < c; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		run_op(uuids[i], name, "VM_destroy");
	}
	free(uuids);
	free(t);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	xo_prog = "bench-start";
	if (argc == 4 && strcmp(argv[1], "latency") == 0)
		return latency(argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "throughput") == 0)
		return throughput(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: bench-start latency VM N | throughput PREFIX C\n");
	return 100;
}
