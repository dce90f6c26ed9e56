/*
 * backend.h: the hypervisor interface and its two implementations.
 *
 * Everything xo does to a host goes through a struct xo_backend: the
 * hypervisor calls (ops below) and a libxenstore handle (b->xs). Both
 * backends write the same xenstore layout through libxenstore; they differ
 * only in the hypervisor calls and in who plays dom0's kernel, udev and the
 * guests:
 *
 *   xen   libxenctrl + libxenguest (+ qemu for the device model), the real
 *         xenstored (xs_open), the real dom0. Selected by XO_BACKEND=xen,
 *         the default. Without /dev/xen/privcmd, xo_backend_open() fails
 *         with class no_hypervisor (exit 111) and names XO_BACKEND=sim.
 *   sim   xo-simd (lib/sim/): a xenstored speaking the wire protocol on
 *         $XO_STATE_DIR/sim/xenstored.sock (XENSTORED_PATH is set before
 *         xs_open), a simulated hypervisor reached over
 *         $XO_STATE_DIR/sim/hv.sock, simulated dom0 backends, udev and
 *         guests. xo_backend_open() starts xo-simd when it is not running.
 *
 * Calling sequence: xo_backend_open() once per process (it is cached; a
 * second call returns the same handle), then the xo_dom_* wrappers, which
 * check arguments and call b->ops. Every call returns 0 or -1 with e set;
 * a domain that does not exist is class does_not_exist. Memory sizes are
 * KiB, as Xen counts them.
 *
 * Shutdown reasons are Xen's SHUTDOWN_* codes: 0 poweroff, 1 reboot,
 * 2 suspend, 3 crash, 4 watchdog, 5 soft_reset.
 */
#ifndef XO_BACKEND_H
#define XO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"

struct xs_handle;

enum { XO_SHUTDOWN_POWEROFF = 0, XO_SHUTDOWN_REBOOT = 1, XO_SHUTDOWN_SUSPEND = 2,
       XO_SHUTDOWN_CRASH = 3, XO_SHUTDOWN_WATCHDOG = 4, XO_SHUTDOWN_SOFT_RESET = 5 };

struct xo_domain_create_args {
	uint8_t uuid[16];            /* the domain handle */
	enum xo_vm_type type;
	bool hap;                    /* hvm/pvh: hardware assisted paging */
	bool iommu;                  /* pci pass-through will be used */
	unsigned max_vcpus;
	unsigned max_grant_frames;   /* default 64 */
	unsigned max_maptrack_frames;/* default 1024 */
	uint64_t max_memory_kib;     /* static max (+ overhead), set as the domain's maxmem */
};

struct xo_domain_build_args {
	enum xo_vm_type type;
	const char *kernel, *ramdisk, *cmdline;   /* pv, pvh; NULL for hvm */
	const char *firmware;                     /* hvm: hvmloader path, NULL = default */
	uint64_t memory_max_kib;                  /* static max */
	uint64_t memory_target_kib;               /* what the guest starts with */
	unsigned vcpus, max_vcpus;
	uint32_t console_domid, store_domid;      /* 0: dom0 serves both */
};

struct xo_build_result {
	uint32_t store_port, console_port;        /* event channels bound to dom0 */
	uint64_t store_mfn, console_mfn;          /* guest frames of the rings */
};

struct xo_dominfo {
	uint32_t domid;
	uint8_t handle[16];
	bool paused, running, blocked, shutdown, dying, hvm;
	unsigned shutdown_reason;                 /* when shutdown */
	uint64_t memory_kib;                      /* current allocation */
	uint64_t max_memory_kib;
	unsigned online_vcpus, max_vcpu_id;
	uint64_t cpu_time_ns;
};

struct xo_hostinfo {
	uint64_t total_kib, free_kib;
	unsigned nr_cpus;
};

/* the device model (qemu): hvm guests, and pv guests with a framebuffer */
struct xo_dm_args {
	enum xo_vm_type type;
	const char *name;            /* the vm name (qemu -name) */
	const char *uuid;            /* the vm uuid, text */
	uint64_t memory_kib;
	unsigned vcpus, max_vcpus;
	const char *boot_order;      /* hvm */
	bool framebuffer;            /* pv */
	const char *qmp_path;        /* unix socket for QMP */
	const char *log_path;        /* qemu's stderr */
};

struct xo_backend;

struct xo_backend_ops {
	const char *name;
	void (*close)(struct xo_backend *b);
	int (*domain_create)(struct xo_backend *b, const struct xo_domain_create_args *a,
			     uint32_t *domid, xo_err *e);
	int (*domain_build)(struct xo_backend *b, uint32_t domid,
			    const struct xo_domain_build_args *a, struct xo_build_result *out,
			    xo_err *e);
	int (*domain_pause)(struct xo_backend *b, uint32_t domid, xo_err *e);
	int (*domain_unpause)(struct xo_backend *b, uint32_t domid, xo_err *e);
	int (*domain_shutdown)(struct xo_backend *b, uint32_t domid, unsigned reason, xo_err *e);
	int (*domain_destroy)(struct xo_backend *b, uint32_t domid, xo_err *e);
	int (*domain_info)(struct xo_backend *b, uint32_t domid, struct xo_dominfo *out,
			   xo_err *e);
	/* every domain (dom0 included); *out malloc'd */
	int (*domain_list)(struct xo_backend *b, struct xo_dominfo **out, size_t *n, xo_err *e);
	int (*domain_set_maxmem)(struct xo_backend *b, uint32_t domid, uint64_t kib, xo_err *e);
	int (*host_info)(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e);
	/* start the device model and wait until it is ready; returns its pid */
	int (*dm_start)(struct xo_backend *b, uint32_t domid, const struct xo_dm_args *a,
			int *pid, xo_err *e);
	int (*dm_stop)(struct xo_backend *b, uint32_t domid, xo_err *e);
	/* pci pass-through: make the device assignable and assign it / undo */
	int (*pci_assign)(struct xo_backend *b, uint32_t domid, const char *bdf, xo_err *e);
	int (*pci_deassign)(struct xo_backend *b, uint32_t domid, const char *bdf, xo_err *e);
	/* consoles: where the guest's console output is kept (*path malloc'd; domid -1 when
	 * the vm has no domain), and whether a console daemon serves each guest a pty
	 * (/local/domain/<d>/console/tty) one can attach to */
	int (*console_log)(struct xo_backend *b, const char *vm_name, int domid, char **path,
			   xo_err *e);
	bool console_pty;
};

struct xo_backend {
	const struct xo_backend_ops *ops;
	struct xs_handle *xs;        /* libxenstore, dom0's view */
	void *priv;
};

/* the backend named by XO_BACKEND (xen by default); cached per process */
int xo_backend_open(struct xo_backend **b, xo_err *e);
void xo_backend_close(void);
/* drop the cached backend without closing it: for a forked child (its threads are gone) */
void xo_backend_forget(void);
const char *xo_backend_name(void);

/* the implementations (lib/backend-xen.c, lib/backend-sim.c) */
int xo_backend_xen_open(struct xo_backend *b, xo_err *e);
int xo_backend_sim_open(struct xo_backend *b, xo_err *e);

/* wrappers: argument checks, then b->ops */
int xo_dom_create(struct xo_backend *b, const struct xo_domain_create_args *a, uint32_t *domid,
		  xo_err *e);
int xo_dom_build(struct xo_backend *b, uint32_t domid, const struct xo_domain_build_args *a,
		 struct xo_build_result *out, xo_err *e);
int xo_dom_pause(struct xo_backend *b, uint32_t domid, xo_err *e);
int xo_dom_unpause(struct xo_backend *b, uint32_t domid, xo_err *e);
int xo_dom_shutdown(struct xo_backend *b, uint32_t domid, unsigned reason, xo_err *e);
int xo_dom_destroy(struct xo_backend *b, uint32_t domid, xo_err *e);
int xo_dom_info(struct xo_backend *b, uint32_t domid, struct xo_dominfo *out, xo_err *e);
int xo_dom_list(struct xo_backend *b, struct xo_dominfo **out, size_t *n, xo_err *e);
int xo_host_info(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e);

#endif
