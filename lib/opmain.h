/*
 * opmain.h: the bodies of the two kinds of programs that change a VM, so
 * that their mains stay thin.
 *
 * Operations (xo-vm-start, ...): xo_op_main() queues the operation as a
 * task on the VM's queue and waits for it with a progress bar on a tty
 * (--async prints the task id instead and leaves the task to the caller;
 * a task waited for is destroyed once reported).
 *
 * Micro-ops run by hand (xo-vbd-plug, ...): xo_atom_main() parses the
 * micro-op's operands, takes the VM lock (-n: fail at once if busy), runs
 * the micro-op in-process as a task, and releases the lock.
 */
#ifndef XO_OPMAIN_H
#define XO_OPMAIN_H

#include "ops.h"

struct xo_op_opts {
	bool async, json, plan;
	int timeout_ms;           /* waiting; < 0 for ever */
};

/* print an operation's micro-ops as xo commands, or as JSON [{atom, command}] */
int xo_op_print_plan(const char *ref, const char *op, const char *arg, bool json);

/* queue op on the VM named ref and wait (or not); prints, returns the exit code */
int xo_op_main(const char *ref, const char *op, const char *arg, const struct xo_op_opts *o);

/* the whole main of xo-vm-shutdown, -reboot, -destroy, -pause, -unpause: op is the
 * operation; shutdown and reboot take --force and --timeout (how long the guest has) */
int xo_lifecycle_main(int argc, char **argv, const char *op);

/* the whole main of xo-vm-set-memory, -set-vcpus, -set-affinity: the operation of one
 * micro-op, kind */
int xo_change_main(int argc, char **argv, enum xo_atom_kind kind);

/* the whole main of a micro-op program */
int xo_atom_main(int argc, char **argv, enum xo_atom_kind kind);

/* the progress line on a tty: "\r<vm> [#####     ]  50% VBD_plug xvda" */
void xo_progress_print(const struct xo_task *t, void *arg);

#endif
