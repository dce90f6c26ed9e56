/*
 * sim.h: xo-simd, a simulated Xen host in one single-threaded process.
 *
 * There is no hypervisor on the development and CI machines, so xo-simd
 * plays every part of a Xen host that xo talks to, through the same
 * interfaces as on real Xen:
 *
 *   store.c    the xenstore tree: nodes in a hash table keyed by path (each
 *              with its children, permissions and a generation number),
 *              per-domain ownership accounting, transactions as private
 *              overlays validated by generation at commit (EAGAIN)
 *   watch.c    watches indexed by path: a change of P looks up P and each of
 *              its ancestors, never a list of all watches
 *   xsproto.c  the xenstored wire protocol (xs_wire.h) on unix sockets:
 *              xenstored.sock is dom0, domain/<N>.sock is guest N
 *   hv.c       the hypervisor: domains, host memory, pause/unpause/shutdown/
 *              destroy, device models, PCI assignment; and hv.sock, the
 *              control protocol backend-sim and "xo-simd ctl" speak
 *   dom0.c     dom0's kernel: blkback, netback (a real tap device when
 *              root), pciback, the xenbus handshake with the frontends, and
 *              udev (hotplug scripts) when /libxl/disable_udev is absent
 *   guest.c    the guests: boot on unpause, console lines, control/shutdown,
 *              the fault switches and one-shot actions
 *   loop.c     the epoll loop, deferred tasks, signals and child processes
 *   daemon.c   start (daemonize, lock, readiness), stop, status
 *   ctl.c      "xo-simd ctl", a client of hv.sock (lib/hvproto.h)
 *
 * Everything runs on one thread. Handlers never block: sockets are
 * non-blocking, scripts and device models are child processes reaped
 * through a signalfd. A change in the store fires watches at once: events
 * for clients go to their output buffers, internal watches (dom0, guests)
 * only schedule a deferred task, which the loop runs after the current
 * event, so no handler re-enters the store while it changes.
 *
 * Internal functions return 0 or an errno value (the store speaks xenstore,
 * whose errors are errno names), or 0/-1 with an xo_err where they face
 * the user (start, ctl, hv requests).
 */
#ifndef XO_SIM_H
#define XO_SIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "util.h"

#define SIM_DOMID_MAX 32752            /* DOMID_FIRST_RESERVED: guests are 1..32751 */

/* ---- configuration and logging (daemon.c) -------------------------------- */

struct sim_config {
	char *dir;                      /* $XO_STATE_DIR/sim */
	uint64_t memory_kib;            /* the guest memory pool */
	unsigned cpus;
	char *script_dir;               /* $XO_SCRIPT_DIR, or the installed scripts */
	bool root;                      /* may create network devices */
	size_t output_max;              /* all xenstore connections' output buffers */
	uint64_t log_max;               /* simd.log rotates past it (0: never) */
};
extern struct sim_config sim_cfg;

void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "<sim dir>/<rel>", malloc'd */
char *sim_path(const char *rel);

/* ---- loop.c ---------------------------------------------------------------- */

typedef void (*sim_fd_cb)(void *arg, uint32_t events);
struct sim_fd;
struct sim_fd *sim_loop_add(int fd, uint32_t events, sim_fd_cb cb, void *arg);
void sim_loop_mod(struct sim_fd *h, uint32_t events);
/* forget the registration (the fd stays open; the caller closes it) */
void sim_loop_del(struct sim_fd *h);
/* a listener's accept() failed with EMFILE or ENFILE (err): stop watching it
 * until a descriptor is freed (logged once, what names it); accepted: it
 * took every pending connection (EAGAIN; logged if it had been starved) */
void sim_loop_starved(struct sim_fd *h, const char *what, int err);
void sim_loop_accepted(struct sim_fd *h, const char *what);

/* a deferred task, embedded in its owner; scheduling twice runs it once */
struct sim_task {
	struct sim_task *prev, *next;
	void (*run)(struct sim_task *t);
	bool queued;
};
void sim_task_init(struct sim_task *t, void (*run)(struct sim_task *t));
void sim_task_schedule(struct sim_task *t);
void sim_task_cancel(struct sim_task *t);

/* child processes: cb runs when pid exits (status as from waitpid) */
typedef void (*sim_child_cb)(void *arg, pid_t pid, int status);
void sim_child_watch(pid_t pid, sim_child_cb cb, void *arg);
void sim_child_forget(const void *arg);
/* fork with signals restored in the child; the child keeps fds 0-2 and,
 * if keep >= 0, keep as fd 3 (without close-on-exec); it closes every other */
pid_t sim_fork(int keep);

int sim_loop_init(xo_err *e);
/* run until sim_loop_quit(); returns 0 */
int sim_loop_run(void);
/* one turn: wait at most timeout_ms (-1: forever) for events and handle
 * them; returns how many there were, -1 if epoll failed (a test harness
 * drives the simulator with it) */
int sim_loop_step(int timeout_ms);
void sim_loop_quit(void);
void sim_loop_fini(void);

/* ---- store.c: the tree ----------------------------------------------------- */

enum { SIM_PERM_NONE = 0, SIM_PERM_READ = 1, SIM_PERM_WRITE = 2, SIM_PERM_BOTH = 3,
       SIM_PERM_OWNER = 4 };

struct sim_perm {
	uint32_t id;
	uint32_t perms;                 /* SIM_PERM_READ | SIM_PERM_WRITE */
};

/* an interned, immutable permission list: p[0] is the owner and the default */
struct sim_permset {
	struct sim_permset *hnext;
	uint32_t refs, hash, n;
	struct sim_perm p[];
};

/* who asks: dom0's socket and the simulated kernel are privileged */
struct sim_who {
	uint32_t domid;
	bool priv;
	int32_t target;                 /* XS_SET_TARGET, or -1 */
};
extern const struct sim_who sim_dom0;

/* quotas for unprivileged domains, as the C xenstored's defaults */
#define SIM_QUOTA_NODES 1000
#define SIM_QUOTA_WATCHES 128
#define SIM_QUOTA_TRANSACTIONS 10
#define SIM_QUOTA_TX_NODES 1024
#define SIM_QUOTA_PERMS 5
#define SIM_QUOTA_NODE_SIZE 2048
/* a dom0 connection is trusted but may not exhaust the daemon */
#define SIM_DOM0_WATCHES 65536
#define SIM_DOM0_TRANSACTIONS 1024

struct sim_tx;

void sim_store_init(void);
unsigned sim_perm_for(const struct sim_who *w, const struct sim_permset *ps);
struct sim_permset *sim_permset_get(const struct sim_perm *p, unsigned n);
void sim_permset_put(struct sim_permset *ps);
/* "r0\0b5\0" for a permission list */
void sim_permset_format(const struct sim_permset *ps, struct xo_buf *out);
/* parse n NUL-terminated strings "r0" "w5"...; EINVAL on a bad one */
int sim_perms_parse(const char *s, size_t len, struct sim_perm **out, unsigned *n);

/*
 * The operations. Paths are canonical and absolute (xsproto.c checks them).
 * tx may be NULL. read returns a pointer into the store, valid until the
 * next change.
 */
int sim_st_read(const struct sim_who *w, struct sim_tx *tx, const char *path,
		const char **data, unsigned *len);
int sim_st_write(const struct sim_who *w, struct sim_tx *tx, const char *path,
		 const void *data, unsigned len);
int sim_st_mkdir(const struct sim_who *w, struct sim_tx *tx, const char *path);
int sim_st_rm(const struct sim_who *w, struct sim_tx *tx, const char *path);
/* children names, each followed by a NUL; *gen for DIRECTORY_PART */
int sim_st_dir(const struct sim_who *w, struct sim_tx *tx, const char *path,
	       struct xo_buf *out, uint64_t *gen);
int sim_st_get_perms(const struct sim_who *w, struct sim_tx *tx, const char *path,
		     struct xo_buf *out);
int sim_st_set_perms(const struct sim_who *w, struct sim_tx *tx, const char *path,
		     const struct sim_perm *p, unsigned n);

struct sim_tx *sim_tx_begin(const struct sim_who *w);
/* commit (EAGAIN on a conflict) or abort; the transaction is freed either way */
int sim_tx_end(struct sim_tx *tx, bool commit);

/* nodes owned by a domain: count (quota) and removal when it dies */
unsigned sim_st_owned(uint32_t domid);
void sim_st_remove_owned(uint32_t domid);

/* the permissions of a node (NULL if absent); for watch permission checks */
const struct sim_permset *sim_st_perms(const char *path);

/* conveniences for the simulated kernel and guests (errno result) */
int sim_xs_write(const struct sim_who *w, const char *path, const char *value);
/* malloc'd value, NULL if absent or not readable */
char *sim_xs_read(const struct sim_who *w, const char *path);
bool sim_xs_exists(const char *path);
int sim_xs_rm(const struct sim_who *w, const char *path);
int sim_xs_mkdir_perms(const char *path, const struct sim_perm *p, unsigned n);

/* ---- watch.c --------------------------------------------------------------- */

struct sim_conn;
struct sim_watch;
typedef void (*sim_watch_cb)(void *arg, const char *path);

/* a connection's watches */
struct sim_watch_list {
	struct sim_watch *head;
	unsigned count;
};

struct sim_watch *sim_watch_add_conn(struct sim_conn *c, struct sim_watch_list *l,
				     const char *path, const char *token, unsigned prefix_len);
/* internal watches run cb synchronously: cb may only schedule tasks */
struct sim_watch *sim_watch_add(const char *path, sim_watch_cb cb, void *arg);
void sim_watch_del(struct sim_watch *w);
void sim_watch_del_all(struct sim_watch_list *l);
struct sim_watch *sim_watch_find(const struct sim_conn *c, const char *path, const char *token);
/* a change of path: exact fires watches on path only (removed children),
 * otherwise watches on path and on every ancestor. perms/old: the node's
 * permissions now and before (either may be NULL) */
void sim_watch_fire(const char *path, bool exact, const struct sim_permset *perms,
		    const struct sim_permset *old);
/* the first event of a new watch */
void sim_watch_fire_initial(struct sim_watch *w);
unsigned long sim_watch_count(void);

/* ---- xsproto.c ------------------------------------------------------------- */

int sim_xs_init(xo_err *e);
void sim_xs_fini(void);
const struct sim_who *sim_conn_who(const struct sim_conn *c);
void sim_xs_send_event(struct sim_conn *c, const char *path, const char *token);
void sim_xs_flush_all(void);
/* the special nodes' permissions (@introduceDomain, @releaseDomain) */
const struct sim_permset *sim_xs_special_perms(const char *name);
/* the hypervisor tells xenstored about domains */
bool sim_xs_introduced(uint32_t domid);
void sim_xs_domain_shutdown(uint32_t domid);
void sim_xs_domain_destroyed(uint32_t domid);
int sim_xs_introduce(uint32_t domid);

/* ---- hv.c ------------------------------------------------------------------ */

enum sim_dom_state { SIM_DOM_PAUSED, SIM_DOM_RUNNING, SIM_DOM_SHUTDOWN, SIM_DOM_DYING };

struct sim_guest;

/* a VM's console file past this many bytes is rotated (guest.c) */
#define SIM_CONSOLE_MAX (256 * 1024)

struct sim_dom {
	uint32_t domid;
	uint8_t uuid[16];
	bool hvm, hap, iommu, built;
	bool paused;                    /* by the toolstack */
	bool shutdown;
	unsigned shutdown_reason;
	unsigned max_vcpus, vcpus;
	uint64_t max_kib, mem_kib;
	uint64_t cpu_ns, running_since_ns;
	uint32_t store_port, console_port;
	uint64_t store_mfn, console_mfn;
	char *name;                     /* from the device model args, for show */
	char *cmdline;
	pid_t dm_pid;
	/* switches (xo-simd ctl) */
	bool ignore_shutdown, refuse_unplug, hotplug_fail;
	struct sim_guest *guest;
};

int sim_hv_init(xo_err *e);
void sim_hv_fini(void);
struct sim_dom *sim_hv_dom(uint32_t domid);
bool sim_dom_running(const struct sim_dom *d);
/* the guest shuts itself down (SCHEDOP_shutdown) */
void sim_hv_guest_shutdown(struct sim_dom *d, unsigned reason);
const char *sim_shutdown_reason_name(unsigned reason);

/* ---- dom0.c ---------------------------------------------------------------- */

int sim_dom0_init(xo_err *e);
void sim_dom0_fini(void);
/* the frontend domain started running or a switch changed: look again */
void sim_dom0_kick(uint32_t fe);
/* the guest shuts down cleanly: close its connected frontends (Linux's
 * xenbus_dev_shutdown), synchronously */
void sim_dom0_guest_closing(uint32_t fe);
/* a line per device of domain fe, for "ctl show" */
void sim_dom0_describe(uint32_t fe, struct xo_buf *out);

/* ---- guest.c --------------------------------------------------------------- */

void sim_guest_unpaused(struct sim_dom *d);
void sim_guest_destroyed(struct sim_dom *d);
void sim_guest_switched(struct sim_dom *d);
/* one-shot actions: reboot, halt, crash, watchdog */
int sim_guest_action(struct sim_dom *d, const char *action, xo_err *e);
/* the guest writes under its own domain path with its own rights */
struct sim_who sim_guest_who(uint32_t domid);

/* ---- the commands (daemon.c, ctl.c) ----------------------------------------- */

struct sim_start_opts {
	uint64_t memory_bytes;          /* 0: XO_SIM_MEMORY or 16G */
	unsigned cpus;                  /* 0: 4 */
	uint64_t output_max;            /* 0: 64M */
	bool foreground;
};
int sim_start(const struct sim_start_opts *o, xo_err *e);
/* 0 stopped, -1 with class does_not_exist when it was not running, or
 * in_use when domains run (force: destroy them first) */
int sim_stop(bool force, xo_err *e);
/* 0 running (pid in *pid), -1 not running (does_not_exist) */
int sim_status(pid_t *pid, xo_err *e);
int sim_ctl(int argc, char **argv, xo_err *e);
/* "<state dir>/sim" checked for socket path length; malloc'd */
char *sim_dir_for_state(const char *state_dir, xo_err *e);
/* the same for $XO_STATE_DIR, creating nothing (does_not_exist if absent) */
char *sim_dir_existing(xo_err *e);

#endif
