/*
 * updates.c: how long an update takes to reach a reader blocked in
 * xo_updates_get (inotify), over N events: p50 and p99 (make bench).
 *
 * A child blocks in xo_updates_get; the parent records the time and emits
 * one event; the child reports the time it woke with the event through a
 * pipe. Both use CLOCK_MONOTONIC, shared by the two processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "updates.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	double *lat = calloc((size_t)n, sizeof(double));
	xo_err e;

	xo_prog = "bench-updates";
	for (int i = 0; i < n; i++) {
		char tok[64];
		int go[2], back[2];
		if (xo_updates_token(tok, sizeof(tok), &e) < 0 || pipe(go) < 0 || pipe(back) < 0) {
			fprintf(stderr, "bench-updates: %s\n", e.msg);
			return 1;
		}
		pid_t pid = fork();
		if (pid == 0) {
			struct xo_update *u;
			char nt[64];
			char c = 1;
			if (write(go[1], &c, 1) != 1)
				_exit(1);
			int r = xo_updates_get(tok, 5000, &u, nt, sizeof(nt), &e);
			double t = bench_now_ms();
			if (r <= 0 || write(back[1], &t, sizeof(t)) != sizeof(t))
				_exit(1);
			_exit(0);
		}
		char c;
		if (read(go[0], &c, 1) != 1)
			return 1;
		usleep(2000);   /* let the reader reach its wait: this is the blocked case */
		double t0 = bench_now_ms();
		xo_updates_emit("vm", "00000000-0000-4000-8000-000000000000");
		double t1;
		if (read(back[0], &t1, sizeof(t1)) != sizeof(t1))
			return 1;
		waitpid(pid, NULL, 0);
		lat[i] = t1 - t0;
		close(go[0]);
		close(go[1]);
		close(back[0]);
		close(back[1]);
	}
	printf("update delivery to a blocked reader: n=%d p50=%.3f ms p99=%.3f ms\n", n,
	       bench_pct(lat, (size_t)n, 50), bench_pct(lat, (size_t)n, 99));
	return 0;
}
