/*
 * console.h: a VM's PV console (xo-vm-console).
 *
 * On Xen, xenconsoled serves each guest's console ring: it gives the guest a
 * pty, whose name it writes to /local/domain/<d>/console/tty, and (when it
 * runs with --log=guest) appends everything the guest writes to
 * <log-dir>/guest-<name>.log. The backend says where that log is
 * (b->ops->console_log) and whether there is a pty at all (console_pty: the
 * simulator's guests only write a log).
 *
 * xo_console_attach() connects two descriptors to that pty: bytes from in go
 * to the guest, the guest's output goes to out. It returns when in delivers
 * the escape byte (^], 0x1d; the bytes before it are sent) or when the
 * console goes away (xenconsoled closes the pty when the domain is
 * destroyed); *how says which. End of input stops the sending only: the
 * output is copied until the escape or the end. When in is a terminal it is
 * put in raw mode and restored before returning.
 *
 * xo_console_log() copies the guest's console output so far to out.
 */
#ifndef XO_CONSOLE_H
#define XO_CONSOLE_H

#include "backend.h"
#include "model.h"

#define XO_CONSOLE_ESCAPE 0x1d          /* ^] */
#define XO_CONSOLE_TTY_WAIT_MS 10000    /* how long xenconsoled has to write console/tty */

enum xo_console_end { XO_CONSOLE_ESCAPED, XO_CONSOLE_CLOSED };

/* the pty of the vm's console (malloc'd), waiting for xenconsoled to set it up */
int xo_console_tty(struct xo_backend *b, const struct xo_vm *vm, char **tty, xo_err *e);
int xo_console_attach(const char *tty, int in, int out, enum xo_console_end *how, xo_err *e);
int xo_console_log(struct xo_backend *b, const struct xo_vm *vm, int out, xo_err *e);

#endif
