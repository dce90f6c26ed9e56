/*
 * stat.h: the runtime state of a VM and its devices, from the backend's
 * live state (xenopsd's VM.stat, VBD.stat, ...).
 *
 * power_state: Halted (no domain), Paused or Running. xenopsd's fourth,
 * Suspended, needs a suspend image, which xo does not make (there is no
 * suspend operation): a guest that suspends itself is handled by check-state
 * (shut down). A domain that has shut down but is not destroyed yet is
 * reported Running or Paused by its paused flag, with its shutdown reason,
 * as xenopsd does.
 */
#ifndef XO_STAT_H
#define XO_STAT_H

#include <json-c/json.h>
#include <stdio.h>

#include "backend.h"
#include "config.h"

struct xo_vm_state {
	const char *power_state;
	int domid;                   /* -1 when halted */
	char console_tty[128];       /* the pv console's pty ("" if none yet) */
	bool console;                /* a console ring exists */
	int vnc_port;                /* -1: none */
	char vnc_path[108];          /* a vnc server on a unix socket ("" none) */
	uint64_t memory_target, memory_actual;   /* bytes */
	unsigned vcpu_target;
	unsigned vcpu_actual;                    /* as the hypervisor counts them; 0: unknown */
	char affinity[128];                      /* host cpus vcpu 0 may run on; "" any */
	double start_time;           /* wall clock; 0 when halted */
	bool shutdown;
	int shutdown_reason;
	char action_request[16];
	char accel[16];              /* how it runs, when the backend chooses (kvm: kvm, tcg) */
};

int xo_vm_stat(struct xo_backend *b, const struct xo_vm *vm, struct xo_vm_state *s, xo_err *e);
struct json_object *xo_vm_state_to_json(const struct xo_vm_state *s);
void xo_vm_state_print(FILE *f, const struct xo_vm *vm, const struct xo_vm_state *s);

struct xo_dev_state {
	bool active, plugged;
	char backend_state[8], frontend_state[8];
	char params[1024];           /* vbd: the backend params; vif: the bridge */
	char hotplug_status[32];
	char physical_device[64];    /* vbd: major:minor written by the hotplug script */
	char device[32];             /* vif: vif<domid>.<pos> */
};

int xo_vbd_stat(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vbd *v,
		struct xo_dev_state *s, xo_err *e);
int xo_vif_stat(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vif *v,
		struct xo_dev_state *s, xo_err *e);
int xo_pci_stat(struct xo_backend *b, const struct xo_vm *vm, const struct xo_pci *p,
		struct xo_dev_state *s, xo_err *e);
struct json_object *xo_dev_state_to_json(const struct xo_dev_state *s, const char *kind);
void xo_dev_state_print(FILE *f, const char *id, const struct xo_dev_state *s, const char *kind);

const char *xo_shutdown_reason_name(int reason);

#endif
