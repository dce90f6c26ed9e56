/*
 * qmp.h: a small client for QEMU's machine protocol (QMP), to drive the
 * device model of a Xen guest (qemu-system-i386 -xen-domid N) over the unix
 * socket given to it with "-chardev socket,...,server=on -mon mode=control".
 *
 * Calling sequence:
 *
 *     struct xo_qmp *q;
 *     if (xo_qmp_connect(path, 5000, &q, &e) < 0)     // greeting + qmp_capabilities
 *             return -1;
 *     args = json_object_new_object(); ...             // or NULL
 *     r = xo_qmp_execute(q, "device_add", args, &ret, 5000, &e);
 *     json_object_put(args);                           // execute only borrows args
 *     ...use ret, then json_object_put(ret)...
 *     xo_qmp_close(q);
 *
 * QMP is line-oriented JSON: qemu sends a greeting {"QMP": ...}, then one
 * reply per command ({"return": ...} or {"error": {"class", "desc"}}), with
 * asynchronous events ({"event": ...}) in between, which are kept for
 * xo_qmp_take_event(). Every
 * command carries an "id" and its reply is matched by it. A command that
 * qemu answers with an error fails with class system_error and qemu's
 * "desc" as the message (class does_not_exist for CommandNotFound and
 * DeviceNotFound); a timeout (milliseconds, measured from the call) fails
 * with class timeout (exit 99). Only "quit" may see the connection close
 * instead of a reply: that counts as success.
 */
#ifndef XO_QMP_H
#define XO_QMP_H

#include <json-c/json.h>

#include "err.h"

struct xo_qmp;

int xo_qmp_connect(const char *path, int timeout_ms, struct xo_qmp **out, xo_err *e);
/* args: NULL or an object (borrowed); *ret (may be NULL): the "return" value, owned by
 * the caller */
int xo_qmp_execute(struct xo_qmp *q, const char *command, struct json_object *args,
		   struct json_object **ret, int timeout_ms, xo_err *e);
/* the same, passing a descriptor along (SCM_RIGHTS): getfd, add-fd */
int xo_qmp_execute_fd(struct xo_qmp *q, const char *command, struct json_object *args, int fd,
		      struct json_object **ret, int timeout_ms, xo_err *e);
/* events: those that arrived during a command are kept (the last 256); xo_qmp_read_events
 * reads what the socket has without waiting (poll xo_qmp_fd first), xo_qmp_take_event hands
 * the oldest kept one over (the caller puts it), NULL when none */
int xo_qmp_fd(const struct xo_qmp *q);
int xo_qmp_read_events(struct xo_qmp *q, xo_err *e);
struct json_object *xo_qmp_take_event(struct xo_qmp *q);
void xo_qmp_close(struct xo_qmp *q);

#endif
