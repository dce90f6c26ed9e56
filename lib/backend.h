/*
 * backend.h: the backend seam, at the micro-op level.
 *
 * xenopsd links each daemon with one backend that implements the micro-ops
 * (VM.create, VM.build, VBD.plug, VIF.plug, PCI.plug, VM.pause, ...). xo
 * chooses one at run time (XO_BACKEND) and reaches it only through
 * struct xo_backend_ops below: the micro-ops, and the few queries that
 * stat, check-state and the watcher need (a VM's live state, its devices'
 * state, an event source to wait on).
 *
 *   xen, sim   the Xen family (lib/xf*.c): one implementation that writes
 *              xenopsd's xenstore layout, over hypervisor calls that differ
 *              (lib/hv-xen*.c: libxenctrl, libxenguest, qemu; lib/hv-sim.c:
 *              xo-simd, started on demand). See xf.h.
 *   kvm        qemu driven directly over QMP (lib/kvm*.c).
 *   libxl      libxenlight, a loadable module (libexec/xo/backend-libxl.so).
 *   libvirt    libvirt's C API, a loadable module (backend-libvirt.so).
 *
 * What a backend does NOT implement, because every backend shares it: the
 * stored configuration, plans, the queue, tasks, updates, cancellation,
 * hooks, the VBD and VIF active flags and VBD epochs (files in the state
 * directory), the memory ledger (given host_info), the runtime record
 * (VM/<uuid>/extra: the backend's id for the running VM, times, the build
 * record; a backend keeps what only it understands in its "backend" object)
 * and the host resource ledger (res.h): a backend records every host
 * resource before it creates it (a loop device, a tap, an nft table, a
 * process, a pci binding), and check-state releases what a dead start left.
 *
 * What a new backend implements, in struct xo_backend_ops:
 *
 *   open, close                  connect to the host (once per process)
 *   check                        refuse, before anything starts, what it
 *                                cannot honour in a VM's configuration
 *   vm_live, vbd_live, vif_live, pci_live
 *                                the live state of a VM and its devices
 *   vm_create, vm_build          VM_create, VM_build (build may be NULL:
 *                                then create makes a built, paused VM and
 *                                the plan has no build step)
 *   vbd_plug, vbd_unplug, vbd_media
 *   vif_plug, vif_unplug, vif_apply
 *   pci_plug, pci_unplug
 *   dm_start, dm_stop, needs_dm  the device model (NULL: no such step)
 *   set_action_request           the crash-safety marker (below)
 *   vm_pause, vm_unpause, vm_shutdown, vm_destroy
 *   vm_set_memory, vm_set_vcpus, vm_set_affinity
 *                                changes at run time (optional: NULL means
 *                                the backend cannot, class unimplemented):
 *                                the balloon target, the vcpus the guest is
 *                                asked to have online, the host cpus its
 *                                vcpus may run on. The Xen family writes
 *                                memory/target and maxmem, cpu/N/availability
 *                                and calls xc_vcpu_setaffinity; kvm would
 *                                use QMP's balloon, device_add of a cpu and
 *                                the affinity of qemu's vcpu threads; libvirt
 *                                virDomainSetMemoryFlags, virDomainSetVcpusFlags
 *                                and virDomainPinVcpuFlags
 *   events_open, events_fd, events_next, events_close
 *                                the watcher's event source
 *   console_tty, console_log     consoles
 *   host_info                    free memory and cpus, for the ledger
 *
 * Calling sequence: xo_backend_open() once per process (cached), then the
 * xo_be_* wrappers, never b->ops directly: they check that the backend has
 * the operation (class unimplemented otherwise) and its arguments. Every
 * call returns 0 or -1 with e set.
 *
 * The crash-safety marker: vm_create sets the VM's action request to
 * "poweroff" in the same step that makes the VM exist (the Xen family in
 * xenstore, kvm in its runtime record); only the last micro-op of a start
 * clears it. A VM whose live state still shows it is a start that never
 * finished: check-state shuts it down.
 *
 * Micro-ops must be safe to run again after a crash: plugging what is
 * plugged is refused (class already_exists), unplugging what is gone and
 * destroying what does not exist succeed.
 */
#ifndef XO_BACKEND_H
#define XO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"

struct xo_ctx;
struct xo_devices;
struct xo_backend;

/* why a VM's guest stopped (Xen's SHUTDOWN_* codes, which the other backends map to) */
enum xo_shutdown_reason { XO_SHUTDOWN_POWEROFF = 0, XO_SHUTDOWN_REBOOT = 1,
			  XO_SHUTDOWN_SUSPEND = 2, XO_SHUTDOWN_CRASH = 3,
			  XO_SHUTDOWN_WATCHDOG = 4, XO_SHUTDOWN_SOFT_RESET = 5 };

/* a VM's live state (vm_live) */
struct xo_vm_live {
	bool exists;                 /* the VM has a running instance (domain, qemu...) */
	int domid;                   /* the backend's id of it; -1 when none */
	bool paused;
	bool shutdown;               /* the guest stopped; the instance is not destroyed yet */
	enum xo_shutdown_reason reason;
	bool dying;                  /* being destroyed */
	bool dm_died;                /* its device model died under it (a crash) */
	char action_request[16];     /* "", "poweroff", "reboot": see the marker above */
	uint64_t memory_actual, memory_target;   /* bytes */
	unsigned vcpus;              /* the vcpus the guest is asked to have online */
	unsigned vcpus_online;       /* the vcpus the hypervisor counts as up (0: unknown) */
	char affinity[128];          /* host cpus vcpu 0 may run on ("0-3"; "" any or unknown) */
	uint64_t cpu_time_ns;
	double start_time;           /* wall clock */
	char console_tty[128];       /* a pty to attach to ("" if none yet) */
	bool console;                /* a console exists */
	int vnc_port;                /* -1: none */
	char vnc_path[108];          /* a vnc server on a unix socket ("" none) */
	char accel[16];              /* how it runs, when the backend chooses ("kvm", "tcg") */
};

/* a device's live state (vbd_live, vif_live, pci_live) */
struct xo_dev_live {
	bool plugged;                /* xo plugged it into the running instance */
	bool healthy;                /* plugged and its backend works (hotplug done) */
	char backend_state[8], frontend_state[8];  /* xenbus states, or "" */
	char hotplug_status[32];
	char params[1024];           /* vbd: what the backend serves; vif: the bridge */
	char physical_device[64];    /* vbd: major:minor, or "" */
	char device[32];             /* vif: the host's interface name */
};

struct xo_hostinfo {
	uint64_t total_kib, free_kib;
	unsigned nr_cpus;
};

/* what vif_apply changes on a plugged vif */
enum { XO_VIF_APPLY_CARRIER = 1, XO_VIF_APPLY_LOCKING = 2 };

/* the watcher's event source */
struct xo_events;
typedef void (*xo_event_fn)(const char *vm_uuid, const char *why, void *arg);

struct xo_backend_ops {
	const char *name;
	/* seconds check-state waits before restarting a VM that ran briefly (the default of
	 * XO_REBOOT_DELAY) */
	unsigned reboot_delay_s;
	int (*open)(struct xo_backend *b, xo_err *e);
	void (*close)(struct xo_backend *b);
	/* what this backend cannot honour in a configuration: refused at start (NULL: all) */
	int (*check)(struct xo_backend *b, const struct xo_vm *vm, const struct xo_devices *d,
		     xo_err *e);

	/* queries: 0 and *out filled (a VM without an instance: exists=false), or -1 */
	int (*vm_live)(struct xo_backend *b, const struct xo_vm *vm, struct xo_vm_live *out,
		       xo_err *e);
	int (*vbd_live)(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
			const struct xo_vbd *v, struct xo_dev_live *out, xo_err *e);
	int (*vif_live)(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
			const struct xo_vif *v, struct xo_dev_live *out, xo_err *e);
	int (*pci_live)(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
			const struct xo_pci *p, struct xo_dev_live *out, xo_err *e);

	/* the micro-ops; ctx (ops.h) holds the VM, its devices, the cancel and the task */
	int (*vm_create)(struct xo_ctx *c, xo_err *e);
	int (*vm_build)(struct xo_ctx *c, xo_err *e);
	int (*vbd_plug)(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e);
	int (*vbd_unplug)(struct xo_ctx *c, const struct xo_vbd *v, bool force, xo_err *e);
	/* the media of a plugged cdrom or floppy changed: v->backend is the new one ("" ejected) */
	int (*vbd_media)(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e);
	int (*vif_plug)(struct xo_ctx *c, const struct xo_vif *v, xo_err *e);
	int (*vif_unplug)(struct xo_ctx *c, const struct xo_vif *v, bool force, xo_err *e);
	/* apply a plugged vif's new carrier or locking (what: XO_VIF_APPLY_*) */
	int (*vif_apply)(struct xo_ctx *c, const struct xo_vif *v, unsigned what, xo_err *e);
	int (*pci_plug)(struct xo_ctx *c, const struct xo_pci *p, xo_err *e);
	int (*pci_unplug)(struct xo_ctx *c, const struct xo_pci *p, xo_err *e);
	bool (*needs_dm)(const struct xo_vm *vm);
	int (*dm_start)(struct xo_ctx *c, xo_err *e);
	int (*dm_stop)(struct xo_ctx *c, xo_err *e);
	/* request: "poweroff", "reboot", or NULL to clear it (the start is complete) */
	int (*set_action_request)(struct xo_ctx *c, const char *request, xo_err *e);
	int (*vm_pause)(struct xo_ctx *c, xo_err *e);
	int (*vm_unpause)(struct xo_ctx *c, xo_err *e);
	/* ask the guest (poweroff, reboot, halt, suspend) and wait, at most timeout_ms, for it
	 * to acknowledge (class failed_to_acknowledge_shutdown_request) and to stop (class
	 * failed_to_shutdown); a VM without an instance or already stopped: done */
	int (*vm_shutdown)(struct xo_ctx *c, const char *request, int timeout_ms, xo_err *e);
	/* destroy the instance and release everything it holds; keep_build keeps the build
	 * record for a reboot. Works from what the host shows when the configuration of the
	 * devices is unreadable (c->devices_broken) */
	int (*vm_destroy)(struct xo_ctx *c, bool keep_build, xo_err *e);
	/* run-time changes of a VM with a running (or paused) instance, before the stored
	 * configuration changes; the caller checked the values against c->vm: the balloon
	 * target and dynamic range (bytes), the vcpus online, the host cpus every vcpu may
	 * run on (map: XO_CPUS_MAX bits; NULL: any) */
	int (*vm_set_memory)(struct xo_ctx *c, uint64_t target, uint64_t dynamic_min,
			     uint64_t dynamic_max, xo_err *e);
	int (*vm_set_vcpus)(struct xo_ctx *c, unsigned n, xo_err *e);
	int (*vm_set_affinity)(struct xo_ctx *c, const uint8_t *map, xo_err *e);

	int (*events_open)(struct xo_backend *b, struct xo_events **ev, xo_err *e);
	/* readable when events_next has something to say */
	int (*events_fd)(struct xo_events *ev);
	/* call fn for each VM that may need a check-state since the last call */
	int (*events_next)(struct xo_events *ev, xo_event_fn fn, void *arg, xo_err *e);
	void (*events_close)(struct xo_events *ev);

	/* the console's pty (malloc'd), waiting up to timeout_ms for it to appear */
	int (*console_tty)(struct xo_backend *b, const struct xo_vm *vm, int timeout_ms,
			   char **tty, xo_err *e);
	/* where the guest's console output is kept (malloc'd path) */
	int (*console_log)(struct xo_backend *b, const struct xo_vm *vm, char **path, xo_err *e);
	int (*host_info)(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e);
};

struct xo_backend {
	const struct xo_backend_ops *ops;
	void *priv;                  /* the backend's own */
};

/* the backend named by XO_BACKEND (xen by default); cached per process */
int xo_backend_open(struct xo_backend **b, xo_err *e);
/* the operations of the backend XO_BACKEND names, without opening it (plans need no host) */
int xo_backend_lookup(const struct xo_backend_ops **ops, xo_err *e);
/* drop the cached backend without closing it: for a forked child (its threads are gone) */
void xo_backend_forget(void);
/* close the cached backend (its close runs), if one is open */
void xo_backend_close(void);
const char *xo_backend_name(void);
/* the names XO_BACKEND takes, for messages: "xen, sim, kvm, libxl or libvirt" */
extern const char xo_backend_names[];

/* the built-in implementations */
extern const struct xo_backend_ops xo_backend_xen, xo_backend_sim, xo_backend_kvm;

/* the checked wrappers */
int xo_be_check(struct xo_backend *b, const struct xo_vm *vm, const struct xo_devices *d,
		xo_err *e);
int xo_be_vm_live(struct xo_backend *b, const struct xo_vm *vm, struct xo_vm_live *out,
		  xo_err *e);
int xo_be_vbd_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		   const struct xo_vbd *v, struct xo_dev_live *out, xo_err *e);
int xo_be_vif_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		   const struct xo_vif *v, struct xo_dev_live *out, xo_err *e);
int xo_be_pci_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
		   const struct xo_pci *p, struct xo_dev_live *out, xo_err *e);
int xo_be_vm_create(struct xo_ctx *c, xo_err *e);
int xo_be_vm_build(struct xo_ctx *c, xo_err *e);
int xo_be_vbd_plug(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e);
int xo_be_vbd_unplug(struct xo_ctx *c, const struct xo_vbd *v, bool force, xo_err *e);
int xo_be_vbd_media(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e);
int xo_be_vif_plug(struct xo_ctx *c, const struct xo_vif *v, xo_err *e);
int xo_be_vif_unplug(struct xo_ctx *c, const struct xo_vif *v, bool force, xo_err *e);
int xo_be_vif_apply(struct xo_ctx *c, const struct xo_vif *v, unsigned what, xo_err *e);
int xo_be_pci_plug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e);
int xo_be_pci_unplug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e);
bool xo_be_needs_dm(const struct xo_backend *b, const struct xo_vm *vm);
bool xo_be_has_build(const struct xo_backend *b);
int xo_be_dm_start(struct xo_ctx *c, xo_err *e);
int xo_be_dm_stop(struct xo_ctx *c, xo_err *e);
int xo_be_set_action_request(struct xo_ctx *c, const char *request, xo_err *e);
int xo_be_vm_pause(struct xo_ctx *c, xo_err *e);
int xo_be_vm_unpause(struct xo_ctx *c, xo_err *e);
int xo_be_vm_shutdown(struct xo_ctx *c, const char *request, int timeout_ms, xo_err *e);
int xo_be_vm_destroy(struct xo_ctx *c, bool keep_build, xo_err *e);
int xo_be_vm_set_memory(struct xo_ctx *c, uint64_t target, uint64_t dynamic_min,
			uint64_t dynamic_max, xo_err *e);
int xo_be_vm_set_vcpus(struct xo_ctx *c, unsigned n, xo_err *e);
int xo_be_vm_set_affinity(struct xo_ctx *c, const uint8_t *map, xo_err *e);
int xo_be_events_open(struct xo_backend *b, struct xo_events **ev, xo_err *e);
int xo_be_events_fd(struct xo_backend *b, struct xo_events *ev);
int xo_be_events_next(struct xo_backend *b, struct xo_events *ev, xo_event_fn fn, void *arg,
		      xo_err *e);
void xo_be_events_close(struct xo_backend *b, struct xo_events *ev);
int xo_be_console_tty(struct xo_backend *b, const struct xo_vm *vm, int timeout_ms, char **tty,
		      xo_err *e);
int xo_be_console_log(struct xo_backend *b, const struct xo_vm *vm, char **path, xo_err *e);
int xo_be_host_info(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e);

/* loadable backends: libexec/xo/backend-<name>.so exports this symbol */
#define XO_BACKEND_MODULE_SYMBOL "xo_backend_module"
#define XO_BACKEND_ABI 1
struct xo_backend_module {
	unsigned abi;                /* XO_BACKEND_ABI */
	const struct xo_backend_ops *ops;
};

#endif
