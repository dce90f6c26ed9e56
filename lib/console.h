/*
 * console.h: a VM's console (xo-vm-console).
 *
 * The backend says which pty a VM's console is (console_tty: on Xen the one
 * xenconsoled gives the guest, on kvm qemu's serial pty; the simulator's
 * guests have none) and where the guest's output is kept (console_log).
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
#define XO_CONSOLE_TTY_WAIT_MS 10000    /* how long a console may take to appear */

enum xo_console_end { XO_CONSOLE_ESCAPED, XO_CONSOLE_CLOSED };

int xo_console_attach(const char *tty, int in, int out, enum xo_console_end *how, xo_err *e);
int xo_console_log(struct xo_backend *b, const struct xo_vm *vm, int out, xo_err *e);

#endif
