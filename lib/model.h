/*
 * model.h: the configuration objects (VM, VBD, VIF, PCI), their validation
 * and their JSON form (documented in xo-config(5)).
 *
 * Each object has _init (defaults), _from_json (strict: unknown fields are
 * rejected by name, types checked, then _check), _to_json (the stored form,
 * which _from_json accepts back unchanged) and _free. Sizes are bytes.
 * Strings are malloc'd and owned by the struct. Validation errors have class
 * invalid_argument and name the offending field.
 */
#ifndef XO_MODEL_H
#define XO_MODEL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "util.h"

/* string to string maps (platform keys, xsdata, extra keys), sorted by key, at most
 * XO_KVS_MAX keys each */
#define XO_KVS_MAX 1024
struct xo_kv {
	char *k, *v;
};
struct xo_kvs {
	size_t n;
	struct xo_kv *v;
};
void xo_kvs_set(struct xo_kvs *m, const char *k, const char *v);
const char *xo_kvs_get(const struct xo_kvs *m, const char *k);
void xo_kvs_free(struct xo_kvs *m);
/* "K=V" from the command line */
int xo_kvs_set_arg(struct xo_kvs *m, const char *arg, const char *what, xo_err *e);

enum xo_vm_type { XO_VM_PV, XO_VM_PVH, XO_VM_HVM };
/* what to do when the guest powers off, reboots or crashes (xenopsd's actions) */
enum xo_action { XO_ACT_SHUTDOWN, XO_ACT_START, XO_ACT_PAUSE, XO_ACT_COREDUMP };

#define XO_MEMORY_MIN (1ull << 20)          /* 1 MiB */
#define XO_MEMORY_MAX (16ull << 40)         /* 16 TiB: Xen's limit */
#define XO_VCPUS_MAX 128                    /* HVM_MAX_VCPUS */

struct xo_vm {
	char uuid[XO_UUID_LEN + 1];
	char *name;
	enum xo_vm_type type;
	uint64_t memory_static_max, memory_dynamic_min, memory_dynamic_max;
	unsigned vcpus, vcpu_max;
	/* boot: direct (kernel/ramdisk/cmdline) or a bootloader (pv); hvm: boot order */
	char *kernel, *ramdisk, *cmdline, *bootloader, *bootloader_args, *boot_order;
	bool framebuffer;            /* pv only: a framebuffer needs a device model */
	struct xo_kvs platform, xsdata;
	enum xo_action on_shutdown, on_reboot, on_crash;
};

enum xo_vbd_mode { XO_VBD_RW, XO_VBD_RO };
enum xo_vbd_type { XO_VBD_DISK, XO_VBD_CDROM, XO_VBD_FLOPPY };
enum xo_qos_sched { XO_QOS_NONE, XO_QOS_IDLE, XO_QOS_BEST_EFFORT, XO_QOS_REALTIME };

struct xo_vbd {
	char *name;                  /* xvda, hdc, sda, fda */
	enum xo_vbd_mode mode;
	enum xo_vbd_type type;
	char *backend;               /* file or block device; "" = empty cd drive */
	bool unpluggable, persistent;
	struct xo_kvs extra_backend_keys, extra_private_keys;   /* allow-lists: xo-config(5) */
	char *script;                /* hotplug script; NULL = xo's block script */
	enum xo_qos_sched qos;
	unsigned qos_class;          /* ionice priority 0-7 */
};

enum xo_lock_mode { XO_LOCK_UNLOCKED, XO_LOCK_LOCKED, XO_LOCK_DISABLED };
#define XO_VIF_POSITION_MAX 1023

struct xo_vif {
	int position;                /* -1 = choose */
	char mac[18];                /* "" = choose */
	char *bridge;
	unsigned mtu;
	uint64_t rate_kbytes_per_s;  /* 0 = unlimited */
	unsigned rate_timeslice_us;
	bool carrier;
	enum xo_lock_mode locking_mode;
	size_t n_ipv4, n_ipv6;
	char **ipv4_allowed, **ipv6_allowed;
	struct xo_kvs extra_private_keys;
	char *script;                /* hotplug script; NULL = xo's vif script */
};

#define XO_PCI_POSITION_MAX 255
struct xo_pci {
	int position;                /* -1 = choose */
	char address[13];            /* dddd:bb:dd.f */
	bool msitranslate, power_mgmt, permissive;
};

const char *xo_vm_type_name(enum xo_vm_type t);
const char *xo_action_name(enum xo_action a);
int xo_action_parse(const char *s, enum xo_action *out);
const char *xo_lock_mode_name(enum xo_lock_mode m);

void xo_vm_init(struct xo_vm *vm);
void xo_vm_free(struct xo_vm *vm);
/* structure and values; fills derived defaults (dynamic memory, vcpu_max) */
int xo_vm_check(struct xo_vm *vm, xo_err *e);
/* the kernel and ramdisk exist and are readable (checked on add and at build) */
int xo_vm_check_files(const struct xo_vm *vm, xo_err *e);
int xo_vm_from_json(struct json_object *o, struct xo_vm *vm, xo_err *e);
struct json_object *xo_vm_to_json(const struct xo_vm *vm);
int xo_vm_type_parse(const char *s, enum xo_vm_type *out, xo_err *e);

void xo_vbd_init(struct xo_vbd *v);
void xo_vbd_free(struct xo_vbd *v);
int xo_vbd_check(struct xo_vbd *v, xo_err *e);
int xo_vbd_from_json(struct json_object *o, struct xo_vbd *v, xo_err *e);
struct json_object *xo_vbd_to_json(const struct xo_vbd *v);
int xo_vbd_mode_parse(const char *s, enum xo_vbd_mode *out, xo_err *e);
int xo_vbd_type_parse(const char *s, enum xo_vbd_type *out, xo_err *e);
const char *xo_vbd_type_name(enum xo_vbd_type t);
/*
 * Linux device names to Xen device numbers (the frontend directory name):
 * xvdX -> 202<<8 | disk<<4 (disks >= 16 use the extended 1<<28 form),
 * hda-hdd -> IDE majors 3 and 22, sdX -> 8<<8 | disk<<4, fdX -> 203<<8.
 * Returns -1 for a name that is not a disk device name.
 */
long xo_vbd_devid(const char *name);
/* the disk index of a name (xvdb -> 1, hdc -> 2); -1 if invalid */
int xo_vbd_disk_index(const char *name);

void xo_vif_init(struct xo_vif *v);
void xo_vif_free(struct xo_vif *v);
int xo_vif_check(struct xo_vif *v, xo_err *e);
int xo_vif_from_json(struct json_object *o, struct xo_vif *v, xo_err *e);
struct json_object *xo_vif_to_json(const struct xo_vif *v);
/* parse and normalise "xx:xx:xx:xx:xx:xx" (lowercase); unicast only */
int xo_mac_parse(const char *s, char out[18], xo_err *e);
void xo_mac_random(char out[18]);
int xo_lock_mode_parse(const char *s, enum xo_lock_mode *out, xo_err *e);
int xo_vif_add_allowed(struct xo_vif *v, const char *addr, xo_err *e);

/* a device's own hotplug script, when it is added: an absolute path to an executable
 * regular file (whether root may run it is checked when it runs: xo_path_trusted) */
int xo_script_check_file(const char *path, const char *what, xo_err *e);

void xo_pci_init(struct xo_pci *p);
int xo_pci_check(struct xo_pci *p, xo_err *e);
int xo_pci_from_json(struct json_object *o, struct xo_pci *p, xo_err *e);
struct json_object *xo_pci_to_json(const struct xo_pci *p);
/* parse and normalise "dddd:bb:dd.f" (also "bb:dd.f" with domain 0000) */
int xo_pci_address_parse(const char *s, char out[13], xo_err *e);

#endif
