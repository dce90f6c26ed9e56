/*
 * tap.h: a minimal TAP producer for the C unit tests (the .c files of tests/unit).
 *
 *     ok(cond, "name %d", i);      one test point: "ok N - name" or "not ok N - name"
 *     is_str(got, want, "name");   string equality, showing both on failure
 *     is_int(got, want, "name");   integer equality, showing both on failure
 *     return tap_done();           prints the plan "1..N" and returns 0 only if all passed
 *
 * The plan comes last (TAP allows it), so tests need not be counted by hand.
 * Diagnostics are "# ..." lines on standard output, where TAP wants them.
 */
#ifndef XO_TAP_H
#define XO_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3)))
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	return cond;
}

#define is_str(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	if (!ok(g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_, __VA_ARGS__)) \
		printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

#define is_int(got, want, ...) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (!ok(g_ == w_, __VA_ARGS__)) \
		printf("#   got %lld, want %lld\n", g_, w_); \
} while (0)

static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
