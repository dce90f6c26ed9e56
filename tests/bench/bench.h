/*
 * bench.h: small helpers shared by the benchmark programs (header-only):
 * timing and percentiles.
 */
#ifndef XO_BENCH_H
#define XO_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* percentile p (0..100) of n samples (sorts them) */
static inline double bench_pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp);
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* seconds all cpus spent idle since boot (/proc/stat), to read a run's cpu use */
static inline double bench_idle_s(void)
{
	unsigned long long v[5] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5)
		v[3] = v[4] = 0;
	fclose(f);
	return (double)(v[3] + v[4]) / (double)sysconf(_SC_CLK_TCK);
}

#endif
