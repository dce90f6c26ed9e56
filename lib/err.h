/*
 * err.h: the error type, the message grammar and the exit codes.
 *
 * Library functions never print and never exit. A function that can fail
 * takes an `xo_err *` as its last argument and returns -1 (or NULL) after
 * filling it with xo_errf() or xo_err_sys(); it returns 0 on success and
 * leaves the error untouched. Callers add context from the outside in with
 * xo_err_wrap():
 *
 *     if (xo_vbd_plug(vm, vbd, &e) < 0)
 *             xo_err_wrap(&e, "unable to plug vbd %s of vm %s", vbd->name, vm->name);
 *
 * and only main() turns an error into output and an exit status:
 *
 *     xo-vbd-plug: fatal: unable to plug vbd xvda of vm web1: hotplug script failed: ...
 *
 * Messages are lowercase, without a full stop, paths quoted. Every error
 * carries a class (the xenopsd error names, lowercase) that maps to the exit
 * code and is stored in task records so that scripts can branch on it.
 */
#ifndef XO_ERR_H
#define XO_ERR_H

#include <stdarg.h>
#include <stdbool.h>

/* exit codes are interface: every man page lists them */
enum {
	XO_EXIT_OK = 0,
	XO_EXIT_FAIL = 1,      /* the operation failed, or the answer is no */
	XO_EXIT_TIMEOUT = 99,
	XO_EXIT_USAGE = 100,
	XO_EXIT_SYSTEM = 111,  /* the system failed us: I/O, memory, no hypervisor */
};

enum xo_ecls {
	XO_E_NONE = 0,
	XO_E_USAGE,              /* 100 */
	XO_E_INVALID,            /* invalid_argument: bad value, malformed JSON */
	XO_E_NOT_FOUND,          /* does_not_exist */
	XO_E_EXISTS,             /* already_exists */
	XO_E_POWER_STATE,        /* bad_power_state */
	XO_E_BUSY,               /* busy: lock held and -n given */
	XO_E_IN_USE,             /* device_is_connected / vm in use */
	XO_E_HOTPLUG,            /* hotplug_error */
	XO_E_DEVICE_TIMEOUT,     /* device_timeout (99) */
	XO_E_DETACH_REJECTED,    /* device_detach_rejected */
	XO_E_HOOK,               /* hook_failed */
	XO_E_CANCELLED,          /* cancelled */
	XO_E_NO_MEMORY,          /* not_enough_memory */
	XO_E_SHUTDOWN_ACK,       /* failed_to_acknowledge_shutdown_request (99) */
	XO_E_SHUTDOWN_TIMEOUT,   /* failed_to_shutdown (99) */
	XO_E_TIMEOUT,            /* timeout (99) */
	XO_E_NOT_BUILT,          /* domain_not_built */
	XO_E_RESYNC,             /* updates token too old */
	XO_E_WORKER_DIED,        /* worker_died: the worker died mid-task */
	XO_E_FAULT,              /* fault_injected (XO_FAULT) */
	XO_E_NO_HYPERVISOR,      /* no_hypervisor (111) */
	XO_E_UNIMPLEMENTED,      /* unimplemented: the backend cannot do it (1) */
	XO_E_INTERNAL,           /* internal_error (111) */
	XO_E_SYSTEM,             /* system_error (111) */
	XO_E__COUNT
};

typedef struct xo_err {
	enum xo_ecls cls;
	int sys_errno;           /* the errno of a system error (xo_err_sys), else 0 */
	char msg[1024];
} xo_err;

/* the program name used in messages; set by xo_cli_init() */
extern const char *xo_prog;

/* fill e (class, printf message); return -1 */
int xo_errf(xo_err *e, enum xo_ecls cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* a system error: message ": strerror(errnum)" appended, class system (111) */
int xo_err_sys(xo_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* prefix context: "<fmt>: <previous message>" */
void xo_err_wrap(xo_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xo_err_clear(xo_err *e);
/* the state directory's file system is full (ENOSPC, EDQUOT) */
bool xo_err_no_space(const xo_err *e);

const char *xo_ecls_name(enum xo_ecls cls);
/* the class named s, or XO_E_INTERNAL for an unknown name */
enum xo_ecls xo_ecls_from_name(const char *s);
int xo_ecls_exit(enum xo_ecls cls);

/* print "prog: fatal: msg" to stderr; return the exit code for e */
int xo_err_report(const xo_err *e);
void xo_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
