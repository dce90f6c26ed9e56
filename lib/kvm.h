/*
 * kvm.h: the kvm backend, inside: qemu driven directly over QMP.
 *
 * A VM's instance is one qemu process (qemu-system-x86_64, or $XO_QEMU_KVM),
 * started stopped (-S) by VM_create with no devices but a serial console; the
 * micro-ops then add the devices through QMP, and VM_unpause is "cont". The
 * domid of a kvm VM is its qemu's pid. Files, for VM <uuid>:
 *
 *   kvm/<uuid>.qmp      the micro-ops' QMP socket: connect, command, close
 *   kvm/<uuid>.ev.in    a fifo: the events monitor's input, where VM_create
 *                       writes qmp_capabilities once
 *   kvm/<uuid>.ev.out   the events monitor's output: qemu's own record of
 *                       every event (SHUTDOWN with its reason, RESET, STOP,
 *                       GUEST_PANICKED...), one JSON line each. It is the
 *                       watcher's event stream (an inotify on kvm/ wakes it,
 *                       it never blocks a micro-op's socket) and it tells
 *                       vm_live why a guest stopped, with or without a watcher
 *   VM/<uuid>/qemu.log  qemu's standard error, appended
 *   VM/<uuid>/console.log  the serial console's output, appended
 *
 * qemu runs with -no-shutdown -action reboot=shutdown,panic=pause: a guest
 * that powers off or reboots stays, stopped, in status "shutdown" (the reason
 * is in the event record), a panicked one in "guest-panicked"; check-state
 * decides with the VM's on_* actions. Its process is recorded before it
 * exists (res.h: proc.qemu); taps are handed to qemu by descriptor and
 * recorded (netdev.vif.<position>), so they go with qemu.
 *
 * The runtime record's backend object: action_request (the crash-safety
 * marker: "poweroff" from before qemu is launched until the start's last
 * micro-op), accel ("kvm" or "tcg"), console (the pty).
 *
 * Files: kvm.c (the ops table, queries, consoles, host), kvm-qemu.c
 * (launching qemu, QMP, the accelerator, power), kvm-dev.c (devices),
 * kvm-watch.c (the watcher's events).
 */
#ifndef XO_KVM_H
#define XO_KVM_H

#include <json-c/json.h>
#include <stdbool.h>

#include "backend.h"
#include "config.h"
#include "ops.h"
#include "qmp.h"

#define KVM_QMP_TIMEOUT_MS 10000

/* kvm/<uuid><suffix> under the state directory */
void kvm_path(const char *uuid, const char *suffix, char *buf, size_t size);
/* VM/<uuid>/<name> under the state directory */
void kvm_vm_path(const char *uuid, const char *name, char *buf, size_t size);

/* the pid of the VM's qemu while it runs, else 0 */
int kvm_qemu_pid(const char *uuid);
/* connect to the VM's qemu; class bad_power_state when it has none */
int kvm_connect(const struct xo_vm *vm, struct xo_qmp **q, xo_err *e);
/* one command on a fresh connection; *ret may be NULL */
int kvm_command(const struct xo_vm *vm, const char *cmd, struct json_object *args,
		struct json_object **ret, xo_err *e);
/* qemu's run state ("running", "paused", "prelaunch", "shutdown", "guest-panicked"...) */
int kvm_status(struct xo_qmp *q, char *buf, size_t size, xo_err *e);
/* the reason of the last SHUTDOWN in the VM's event record ("" when none) */
void kvm_last_shutdown(const char *uuid, char *reason, size_t size);
/* the ids of the devices added to the running qemu (qom-list /machine/peripheral) */
int kvm_peripherals(struct xo_qmp *q, struct json_object **names, xo_err *e);
bool kvm_has_peripheral(struct json_object *names, const char *id);

/* the runtime record's backend strings */
int kvm_extra_get(const char *uuid, const char *key, char *buf, size_t size);
int kvm_extra_set(const char *uuid, const char *key, const char *value, xo_err *e);

/* the accelerator qemu will use: "kvm" or "tcg" (XO_KVM_ACCEL, or the probe's verdict) */
int kvm_accel(char *buf, size_t size, xo_err *e);
/* OVMF's code image (XO_KVM_OVMF, or Debian's ovmf), NULL when missing */
const char *kvm_ovmf_code(void);
/* the qemu binary */
const char *kvm_qemu_binary(void);

/* kvm-qemu.c: the micro-ops about the VM itself */
int kvm_vm_create(struct xo_ctx *c, xo_err *e);
int kvm_set_action_request(struct xo_ctx *c, const char *request, xo_err *e);
int kvm_vm_pause(struct xo_ctx *c, xo_err *e);
int kvm_vm_unpause(struct xo_ctx *c, xo_err *e);
int kvm_vm_shutdown(struct xo_ctx *c, const char *request, int timeout_ms, xo_err *e);
int kvm_vm_destroy(struct xo_ctx *c, bool keep_build, xo_err *e);
/* wait until device `id` is gone from qemu (its DEVICE_DELETED), at most timeout_ms */
int kvm_wait_device_gone(const struct xo_ctx *c, struct xo_qmp *q, const char *id,
			 int timeout_ms, xo_err *e);

/* kvm-dev.c */
int kvm_vbd_plug(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e);
int kvm_vbd_unplug(struct xo_ctx *c, const struct xo_vbd *v, bool force, xo_err *e);
int kvm_vbd_media(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e);
int kvm_vif_plug(struct xo_ctx *c, const struct xo_vif *v, xo_err *e);
int kvm_vif_unplug(struct xo_ctx *c, const struct xo_vif *v, bool force, xo_err *e);
int kvm_vif_apply(struct xo_ctx *c, const struct xo_vif *v, unsigned what, xo_err *e);
int kvm_pci_plug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e);
int kvm_pci_unplug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e);
/* the host's tap of vif `pos` of the qemu with that pid */
void kvm_tap_name(int pid, int pos, char *buf, size_t size);
/* does the host have an IOMMU (pass-through needs one)? */
bool kvm_have_iommu(void);

/* kvm-watch.c */
int kvm_events_open(struct xo_backend *b, struct xo_events **ev, xo_err *e);
int kvm_events_fd(struct xo_events *ev);
int kvm_events_next(struct xo_events *ev, xo_event_fn fn, void *arg, xo_err *e);
void kvm_events_close(struct xo_events *ev);

#endif
