/*
 * floor.c: the round trip of a request over a unix stream socket between two
 * processes, with nothing behind it (make bench prints it beside the fork+exec
 * floor): both on cpu 0, then on cpus 0 and 1. The simulator's xenstore round
 * trip is that, plus xo-simd's work; where the two land is the scheduler's
 * choice, and on a virtual machine the wakeup of a process on another cpu can
 * take most of it.
 *
 * Usage: bench-floor [N]   (N round trips each, default 20000)
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* the p50 of N round trips, the server on cpu SERVER and the client on cpu CLIENT; -1 */
static double round_trip(int n, int client, int server, double *p99)
{
	int sv[2];
	char buf[64];
	static const char req[] = "read /local/domain/1/name";

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {   /* the echo server */
		pin(server);
		close(sv[0]);
		for (;;) {
			ssize_t r = read(sv[1], buf, sizeof(buf));
			if (r <= 0 || write(sv[1], buf, (size_t)r) != r)
				_exit(0);
		}
	}
	pin(client);
	close(sv[1]);
	double *v = calloc((size_t)n, sizeof(*v)), p50 = -1;
	for (int i = 0; v && i < n; i++) {
		double t0 = bench_now_ms();
		if (write(sv[0], req, sizeof(req)) != (ssize_t)sizeof(req) || read(sv[0], buf, sizeof(buf)) <= 0)
			break;
		v[i] = (bench_now_ms() - t0) * 1000.0;
		if (i == n - 1) {
			p50 = bench_pct(v, (size_t)n, 50);
			*p99 = bench_pct(v, (size_t)n, 99);
		}
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	free(v);
	return p50;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	double same, same99 = 0, other = -1, other99 = 0;

	if (n <= 0 || (same = round_trip(n, 0, 0, &same99)) < 0)
		return 111;
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1 && (other = round_trip(n, 0, 1, &other99)) < 0)
		return 111;
	printf("floor: unix socket round trip between two processes, one cpu: p50 %.1f us, p99 %.1f us",
	       same, same99);
	if (other >= 0)
		printf("; two cpus: p50 %.1f us, p99 %.1f us", other, other99);
	printf("\n");
	return 0;
}
