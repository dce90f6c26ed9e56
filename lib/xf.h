/*
 * xf.h: the Xen family of backends (xen, sim), inside.
 *
 * One implementation of the micro-ops (backend.h) writes xenopsd's xenstore
 * layout (xo.7): xf-domain.c creates, builds, finds and destroys domains,
 * xf-device.c plugs and unplugs VBDs, VIFs and PCI devices through their
 * xenstore directories and hotplug scripts, xf.c answers the queries (live
 * state, consoles, the watcher's events) and binds it all into the
 * struct xo_backend_ops of `xen` and of `sim`. Below it, the hypervisor
 * calls are the only part that differs (struct xf_hv_ops):
 *
 *   xen   hv-xen.c (libxenctrl, libxenguest: domains), hv-xen-dm.c (qemu,
 *         the device model), hv-xen-pci.c (pass-through through sysfs);
 *         the real xenstored, the real dom0.
 *   sim   hv-sim.c: xo-simd, over its hv.sock, with its own xenstored.
 *
 * Dependencies point one way: xf.c -> xf-device.c -> xf-domain.c -> the
 * hypervisor calls; nothing below calls up.
 */
#ifndef XO_XF_H
#define XO_XF_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "config.h"
#include "ops.h"
#include "xs.h"

struct xf;

struct xf_create_args {
	uint8_t uuid[16];            /* the domain handle */
	enum xo_vm_type type;
	bool hap;                    /* hvm/pvh: hardware assisted paging */
	bool iommu;                  /* pci pass-through will be used */
	unsigned max_vcpus;
	unsigned max_grant_frames;   /* default 64 */
	unsigned max_maptrack_frames;/* default 1024 */
	uint64_t max_memory_kib;     /* static max (+ overhead): the guest's memory map */
	uint64_t target_kib;         /* the balloon target (+ overhead): the domain's maxmem,
				      * as libxl sets it; 0: max_memory_kib */
};

struct xf_build_args {
	enum xo_vm_type type;
	const char *kernel, *ramdisk, *cmdline;   /* pv, pvh; NULL for hvm */
	const char *firmware;                     /* hvm: hvmloader path, NULL = default */
	uint64_t memory_max_kib;                  /* static max */
	uint64_t memory_target_kib;               /* what the guest starts with */
	unsigned vcpus, max_vcpus;
	uint32_t console_domid, store_domid;      /* 0: dom0 serves both */
};

/* what the build made: kept in the runtime record's backend object */
struct xf_build_result {
	uint32_t store_port, console_port;        /* event channels bound to dom0 */
	uint64_t store_mfn, console_mfn;          /* guest frames of the rings */
};

struct xf_dominfo {
	uint32_t domid;
	uint8_t handle[16];
	bool paused, running, blocked, shutdown, dying, hvm;
	unsigned shutdown_reason;                 /* Xen's SHUTDOWN_*, when shutdown */
	uint64_t memory_kib;                      /* current allocation */
	uint64_t max_memory_kib;
	unsigned online_vcpus, max_vcpu_id;
	uint64_t cpu_time_ns;
};

/* a vcpu of a domain (vcpu_info) */
struct xf_vcpuinfo {
	bool online, blocked, running;
	int cpu;                                  /* the host cpu it runs on, -1 when down */
	uint64_t cpu_time_ns;
	uint8_t affinity[XO_CPUMAP_BYTES];        /* hard affinity, bit i = host cpu i */
};

/* the device model (qemu): hvm guests, and pv guests with a framebuffer */
/* an hvm guest's emulated disk or cd drive (ide index 0-3: hda..hdd, xvda..xvdd) and
 * nic (a tap qemu makes, named as Xen's tools name it, that xo then bridges) */
struct xf_dm_disk {
	const char *path;            /* "" for an empty cd drive */
	int index;
	bool cdrom, readonly;
};
struct xf_dm_nic {
	int devid;
	const char *mac, *bridge;
	unsigned mtu;
};

struct xf_dm_args {
	enum xo_vm_type type;
	const char *name;            /* the vm name (qemu -name) */
	const char *uuid;            /* the vm uuid, text */
	uint64_t memory_kib;
	unsigned vcpus, max_vcpus;
	const char *boot_order;      /* hvm */
	bool framebuffer;            /* pv */
	const char *qmp_path;        /* unix socket for QMP */
	const char *log_path;        /* qemu's stderr */
	const char *serial_log;      /* hvm: the serial port's output, also logged here */
	const struct xf_dm_disk *disks;
	size_t ndisks;
	const struct xf_dm_nic *nics;
	size_t nnics;
};

/* the tap of an hvm guest's emulated nic: vif<domid>.<devid>-emu, as libxl names it */
void xf_emu_tap_name(uint32_t domid, int devid, char *buf, size_t size);

/* the hypervisor calls: every call returns 0 or -1 with e set; a domain that does not
 * exist is class does_not_exist; memory sizes are KiB */
struct xf_hv_ops {
	const char *name;
	/* connect, and open x->xs (the xenstore every child process sees too) */
	int (*open)(struct xf *x, xo_err *e);
	void (*close)(struct xf *x);
	int (*domain_create)(struct xf *x, const struct xf_create_args *a, uint32_t *domid,
			     xo_err *e);
	int (*domain_build)(struct xf *x, uint32_t domid, const struct xf_build_args *a,
			    struct xf_build_result *out, xo_err *e);
	int (*domain_pause)(struct xf *x, uint32_t domid, xo_err *e);
	int (*domain_unpause)(struct xf *x, uint32_t domid, xo_err *e);
	int (*domain_shutdown)(struct xf *x, uint32_t domid, unsigned reason, xo_err *e);
	int (*domain_destroy)(struct xf *x, uint32_t domid, xo_err *e);
	int (*domain_info)(struct xf *x, uint32_t domid, struct xf_dominfo *out, xo_err *e);
	/* every domain (dom0 included); *out malloc'd */
	int (*domain_list)(struct xf *x, struct xf_dominfo **out, size_t *n, xo_err *e);
	int (*host_info)(struct xf *x, struct xo_hostinfo *out, xo_err *e);
	/* run-time changes: the domain's maxmem for a balloon target (+ overhead, KiB; and
	 * an hvm container's populate-on-demand target), a vcpu's hard affinity (a map of
	 * XO_CPUS_MAX bits), a vcpu's state; NULL: this hypervisor cannot */
	int (*domain_set_memory)(struct xf *x, uint32_t domid, enum xo_vm_type type,
				 uint64_t target_kib, xo_err *e);
	int (*vcpu_set_affinity)(struct xf *x, uint32_t domid, unsigned vcpu, const uint8_t *map,
				 xo_err *e);
	int (*vcpu_info)(struct xf *x, uint32_t domid, unsigned vcpu, struct xf_vcpuinfo *out,
			 xo_err *e);
	/* start the device model, recording its process (res.h) first, and wait until it is
	 * ready; NULL: this host has none */
	int (*dm_start)(struct xf *x, uint32_t domid, const struct xf_dm_args *a, int *pid,
			xo_err *e);
	int (*dm_stop)(struct xf *x, const char *uuid, uint32_t domid, xo_err *e);
	/* an hvm guest's emulated cd drive of ide index 0-3: its disc ejected (path NULL or "")
	 * or changed; NULL: this host's device model has none */
	int (*dm_media)(struct xf *x, uint32_t domid, int index, const char *path, xo_err *e);
	/* the device model's vnc server, a unix socket: true and its path if it is there */
	bool (*vnc_path)(uint32_t domid, char *buf, size_t size);
	/* pci pass-through: make the device assignable (its driver recorded, res.h) and
	 * assign it / undo */
	int (*pci_assign)(struct xf *x, const char *uuid, uint32_t domid, const char *bdf, xo_err *e);
	int (*pci_deassign)(struct xf *x, const char *uuid, uint32_t domid, const char *bdf,
			    xo_err *e);
	/* where the guest's console output is kept (*path malloc'd) */
	int (*console_log)(struct xf *x, const struct xo_vm *vm, char **path, xo_err *e);
	/* a console daemon serves each guest a pty (/local/domain/<d>/console/tty) */
	bool console_pty;
	/* libxl's userdata directory, where a domain's record for `xl list -l` goes
	 * (xf-userdata.c; malloc'd); NULL: none on this host */
	char *(*libxl_dir)(void);
};

struct xf {
	const struct xf_hv_ops *hv;
	struct xs_handle *xs;        /* dom0's view of the store */
	void *hv_priv;
};

extern const struct xf_hv_ops xf_hv_xen, xf_hv_sim;

static inline struct xf *XF(struct xo_backend *b)
{
	return b->priv;
}

/* ------------------------------------------------------------------ xf-boot.c */

/* what a pv or pvh guest's bootloader chose: files in VM/<uuid>/bootloader/ */
struct xf_boot {
	char *kernel, *ramdisk, *args;
};
/* run the VM's bootloader on its first disk; xf_boot_clean() once built */
int xf_boot_run(struct xo_ctx *c, struct xf_boot *b, xo_err *e);
void xf_boot_free(struct xf_boot *b);
/* remove VM/<uuid>/bootloader/ (the build's end, the VM's teardown) */
void xf_boot_clean(const char *uuid);

/* ------------------------------------------------------------------ xf-userdata.c */

/* libxl's JSON record of a VM's domain and its devices (malloc'd), written after the
 * build and before each plug (when the configuration has a device more), removed by the
 * domain's teardown */
char *xf_userdata_json(const struct xo_vm *vm, const struct xo_devices *dv);
int xf_userdata_write(struct xf *x, const struct xo_vm *vm, const struct xo_devices *dv,
		      uint32_t d, xo_err *e);
void xf_userdata_remove(struct xf *x, const char *uuid, uint32_t d);

/* ------------------------------------------------------------------ xf-domain.c */

/* 1: the VM has a domain (*domid, *info filled), 0: it has none, -1: error */
int xf_find_domain(struct xf *x, const char *uuid, uint32_t *domid, struct xf_dominfo *info,
		   xo_err *e);
/* the same, failing with bad_power_state when there is none */
int xf_need_domain(struct xf *x, const struct xo_vm *vm, uint32_t *domid, xo_err *e);
int xf_vm_create(struct xo_ctx *c, xo_err *e);
int xf_vm_build(struct xo_ctx *c, xo_err *e);
int xf_set_action_request(struct xo_ctx *c, const char *request, xo_err *e);
int xf_vm_destroy(struct xo_ctx *c, bool keep_build, xo_err *e);
int xf_vm_pause(struct xo_ctx *c, xo_err *e);
int xf_vm_unpause(struct xo_ctx *c, xo_err *e);
int xf_vm_shutdown(struct xo_ctx *c, const char *request, int timeout_ms, xo_err *e);
bool xf_needs_dm(const struct xo_vm *vm);
int xf_dm_start(struct xo_ctx *c, xo_err *e);
int xf_dm_stop(struct xo_ctx *c, xo_err *e);
/* stop domain d's device model if the VM's record names one */
int xf_dm_stop_domain(struct xf *x, const char *uuid, uint32_t d, xo_err *e);
/* /local/domain/<d> */
void xf_domain_path(uint32_t domid, char *buf, size_t size);
/* the destruction in three steps (xf.c puts the devices' release in between):
 * the domid to clean, 1 (a live domain of the VM, or what a dead one left), 0 none */
int xf_destroy_target(struct xf *x, const char *uuid, uint32_t *domid, xo_err *e);
/* destroy domain d and remove its xenstore trees, its backends first */
int xf_domain_teardown(struct xf *x, const char *uuid, uint32_t d, xo_err *e);
/* after the domain: the memory reservation, the runtime record (or the build record
 * kept for a reboot), the VM's own xenstore trees */
void xf_domain_forget(struct xf *x, const char *uuid, bool keep_build);

/* the hard affinity of vcpus 0..vcpus-1 of domain d (xf.c); map NULL: every host cpu */
int xf_apply_affinity(struct xf *x, uint32_t d, unsigned vcpus, const uint8_t *map, xo_err *e);

/* ------------------------------------------------------------------ xf-hv.c */

/* the hypervisor calls, checked */
int xf_dom_create(struct xf *x, const struct xf_create_args *a, uint32_t *domid, xo_err *e);
int xf_dom_build(struct xf *x, uint32_t domid, const struct xf_build_args *a,
		 struct xf_build_result *out, xo_err *e);
int xf_dom_pause(struct xf *x, uint32_t domid, xo_err *e);
int xf_dom_unpause(struct xf *x, uint32_t domid, xo_err *e);
int xf_dom_shutdown(struct xf *x, uint32_t domid, unsigned reason, xo_err *e);
int xf_dom_destroy(struct xf *x, uint32_t domid, xo_err *e);
int xf_dom_info(struct xf *x, uint32_t domid, struct xf_dominfo *out, xo_err *e);
int xf_dom_list(struct xf *x, struct xf_dominfo **out, size_t *n, xo_err *e);
int xf_dom_set_memory(struct xf *x, uint32_t domid, enum xo_vm_type type, uint64_t target_kib,
		      xo_err *e);
int xf_vcpu_set_affinity(struct xf *x, uint32_t domid, unsigned vcpu, const uint8_t *map,
			 xo_err *e);
int xf_vcpu_info(struct xf *x, uint32_t domid, unsigned vcpu, struct xf_vcpuinfo *out, xo_err *e);

/* ------------------------------------------------------------------ xf-device.c */

struct xf_devpaths {
	char fe[128], fe_copy[128], be[128], priv[160], be_err[160], fe_err[160], lx[128];
};
void xf_devpaths(struct xf_devpaths *p, const char *uuid, uint32_t fe, const char *kind, long devid);

int xf_vbd_plug(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e);
int xf_vbd_unplug(struct xo_ctx *c, const struct xo_vbd *v, bool force, xo_err *e);
int xf_vbd_media(struct xo_ctx *c, const struct xo_vbd *v, xo_err *e);
bool xf_vbd_plugged(struct xf *x, uint32_t domid, const struct xo_vbd *v);
int xf_vif_plug(struct xo_ctx *c, const struct xo_vif *v, xo_err *e);
int xf_vif_unplug(struct xo_ctx *c, const struct xo_vif *v, bool force, xo_err *e);
int xf_vif_apply(struct xo_ctx *c, const struct xo_vif *v, unsigned what, xo_err *e);
bool xf_vif_plugged(struct xf *x, uint32_t domid, const struct xo_vif *v);
int xf_pci_plug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e);
int xf_pci_unplug(struct xo_ctx *c, const struct xo_pci *p, xo_err *e);
bool xf_pci_plugged(struct xf *x, uint32_t domid, const struct xo_pci *p);
/* tear down every vbd and vif backend of domain d, running the remove scripts */
void xf_device_release_all(struct xf *x, const char *uuid, uint32_t d);

/* ------------------------------------------------------------------ xf-watch.c */

int xf_events_open(struct xo_backend *b, struct xo_events **ev, xo_err *e);
int xf_events_fd(struct xo_events *ev);
int xf_events_next(struct xo_events *ev, xo_event_fn fn, void *arg, xo_err *e);
void xf_events_close(struct xo_events *ev);

/* xenbus states */
enum { XO_XB_UNKNOWN, XO_XB_INITIALISING, XO_XB_INITWAIT, XO_XB_INITIALISED, XO_XB_CONNECTED,
       XO_XB_CLOSING, XO_XB_CLOSED };

#endif
