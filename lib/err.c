/*
 * err.c: error values and their one-line rendering (see err.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

const char *xo_prog = "xo";

static const struct {
	const char *name;
	int exit;
} classes[XO_E__COUNT] = {
	[XO_E_NONE] = { "none", XO_EXIT_OK },
	[XO_E_USAGE] = { "usage", XO_EXIT_USAGE },
	[XO_E_INVALID] = { "invalid_argument", XO_EXIT_FAIL },
	[XO_E_NOT_FOUND] = { "does_not_exist", XO_EXIT_FAIL },
	[XO_E_EXISTS] = { "already_exists", XO_EXIT_FAIL },
	[XO_E_POWER_STATE] = { "bad_power_state", XO_EXIT_FAIL },
	[XO_E_BUSY] = { "busy", XO_EXIT_FAIL },
	[XO_E_IN_USE] = { "in_use", XO_EXIT_FAIL },
	[XO_E_HOTPLUG] = { "hotplug_error", XO_EXIT_FAIL },
	[XO_E_DEVICE_TIMEOUT] = { "device_timeout", XO_EXIT_TIMEOUT },
	[XO_E_DETACH_REJECTED] = { "device_detach_rejected", XO_EXIT_FAIL },
	[XO_E_HOOK] = { "hook_failed", XO_EXIT_FAIL },
	[XO_E_CANCELLED] = { "cancelled", XO_EXIT_FAIL },
	[XO_E_NO_MEMORY] = { "not_enough_memory", XO_EXIT_FAIL },
	[XO_E_SHUTDOWN_ACK] = { "failed_to_acknowledge_shutdown_request", XO_EXIT_TIMEOUT },
	[XO_E_SHUTDOWN_TIMEOUT] = { "failed_to_shutdown", XO_EXIT_TIMEOUT },
	[XO_E_TIMEOUT] = { "timeout", XO_EXIT_TIMEOUT },
	[XO_E_NOT_BUILT] = { "domain_not_built", XO_EXIT_FAIL },
	[XO_E_RESYNC] = { "resync", XO_EXIT_FAIL },
	[XO_E_WORKER_DIED] = { "worker_died", XO_EXIT_FAIL },
	[XO_E_FAULT] = { "fault_injected", XO_EXIT_FAIL },
	[XO_E_NO_HYPERVISOR] = { "no_hypervisor", XO_EXIT_SYSTEM },
	[XO_E_UNIMPLEMENTED] = { "unimplemented", XO_EXIT_FAIL },
	[XO_E_INTERNAL] = { "internal_error", XO_EXIT_SYSTEM },
	[XO_E_SYSTEM] = { "system_error", XO_EXIT_SYSTEM },
};

const char *xo_ecls_name(enum xo_ecls cls)
{
	if (cls < 0 || cls >= XO_E__COUNT)
		return "internal_error";
	return classes[cls].name;
}

enum xo_ecls xo_ecls_from_name(const char *s)
{
	for (int i = 0; i < XO_E__COUNT; i++)
		if (s && strcmp(classes[i].name, s) == 0)
			return (enum xo_ecls)i;
	return XO_E_INTERNAL;
}

int xo_ecls_exit(enum xo_ecls cls)
{
	if (cls < 0 || cls >= XO_E__COUNT)
		return XO_EXIT_SYSTEM;
	return classes[cls].exit;
}

int xo_errf(xo_err *e, enum xo_ecls cls, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->cls = cls;
	e->sys_errno = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int xo_err_sys(xo_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!e)
		return -1;
	e->cls = XO_E_SYSTEM;
	e->sys_errno = errnum;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	return -1;
}

void xo_err_wrap(xo_err *e, const char *fmt, ...)
{
	char prefix[512], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
}

void xo_err_clear(xo_err *e)
{
	e->cls = XO_E_NONE;
	e->sys_errno = 0;
	e->msg[0] = '\0';
}

bool xo_err_no_space(const xo_err *e)
{
	return e->cls == XO_E_SYSTEM && (e->sys_errno == ENOSPC || e->sys_errno == EDQUOT);
}

int xo_err_report(const xo_err *e)
{
	/* one line of printable text, whatever the message holds (it may quote
	 * user input): line breaks and tabs become spaces, other control
	 * characters '?', so a name cannot send escape sequences to a terminal */
	char line[sizeof(e->msg)];
	size_t i;

	for (i = 0; i < sizeof(line) - 1 && e->msg[i]; i++) {
		unsigned char c = (unsigned char)e->msg[i];
		line[i] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	line[i] = '\0';
	fprintf(stderr, "%s: fatal: %s\n", xo_prog, line[0] ? line : xo_ecls_name(e->cls));
	return xo_ecls_exit(e->cls);
}

void xo_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", xo_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
