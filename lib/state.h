/*
 * state.h: the state directory, xo's database.
 *
 * $XO_STATE_DIR (default /run/nonpersistent/xo) is opened once per process
 * by xo_state_open(); everything else is relative to that descriptor
 * (openat, renameat), so a process never mixes two state directories.
 * It must be an absolute path; a missing one is created (mode 0755) only
 * when its parent exists; it is refused when it is owned by another user
 * than root or the caller, writable by group or others, or below a
 * directory that is (a sticky one, such as /tmp, excepted): root writes
 * there and runs what it finds there.
 *
 *   VM/<uuid>/config          VM JSON              VM/<uuid>/vbd.<name>  VBD JSON
 *   VM/<uuid>/vif.<position>  VIF JSON             VM/<uuid>/pci.<position> PCI JSON
 *   VM/<uuid>/lock            flock: held by whoever changes the VM (worker, micro-op)
 *   VM/<uuid>/queue/          pending operations, ",<hex-ms>.<pid>.<op>"
 *   name/<name>               symlink to ../VM/<uuid>: unique names in O(1)
 *   tasks/<id>                task records         updates/  the event log
 *   pool/slot.<k>             worker pool slots    sim/      the simulator
 *   staging/<kind>.<uuid>.<writer>  a VM directory being built or removed
 *
 * Writes are atomic: xo_atomic_write() writes a hidden temporary sibling,
 * fsyncs it and renames it over the target (or links it, for a create that
 * must not replace anything), so a reader sees the old file or the new one,
 * never a torn one. The temporary is ".tmp.<writer>.<random>", the writer
 * being "<pid>.<start time>" (xo_writer_id() in util.h): a writer killed
 * half-way leaves one that no reader reads and that xo_tmp_clean() removes
 * once its writer is provably dead. Nothing on a per-VM path lists VM/.
 *
 * staging/ holds what is not in view yet or not any more: a VM directory
 * being built (new.*) or being removed (trash.*), named after its writer,
 * which holds an exclusive flock on it. It holds only the work of live
 * writers and the leftovers of dead ones, never one entry per VM, so the
 * next writer lists it (xo_staging_clean) at bounded cost and removes what
 * a dead writer left.
 *
 * The VM directory itself is flock()ed: shared by configuration edits of
 * that VM (device add/remove), exclusive by VM removal, so a device is never
 * added to a VM that is being removed.
 */
#ifndef XO_STATE_H
#define XO_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "err.h"
#include "util.h"

#define XO_DEFAULT_STATE_DIR "/run/nonpersistent/xo"

/* open $XO_STATE_DIR (once; later calls return the same descriptor) */
int xo_state_open(xo_err *e);
int xo_state_fd(void);
const char *xo_state_dir(void);
/* "<state dir>/<rel>", malloc'd */
char *xo_state_path(const char *rel);

enum {
	XO_WRITE_EXCL = 1,      /* fail with already_exists if the target exists */
	XO_WRITE_DIRSYNC = 2,   /* fsync the directory too (creates that must survive power loss) */
	XO_WRITE_NOSYNC = 4,    /* no fsync (scratch data only) */
};
int xo_atomic_write(int dirfd, const char *name, const void *data, size_t len, unsigned flags,
		    xo_err *e);
/* read a whole file; -1 with class does_not_exist when it is absent */
int xo_read_file(int dirfd, const char *name, char **out, size_t *len, xo_err *e);
/* unlink, ENOENT is success */
int xo_unlink(int dirfd, const char *name, xo_err *e);
/* remove a tree below dirfd/name (best effort, no symlink following) */
int xo_rmtree(int dirfd, const char *name);
/* mkdir, EEXIST is success */
int xo_mkdir(int dirfd, const char *name, xo_err *e);
int xo_fsync_dir(int dirfd);
/* remove the ".tmp.<writer>.*" files of dead writers in a directory */
void xo_tmp_clean(int dirfd);

/* make staging/<kind>.<uuid>.<writer> (name gets that path, relative to the state
 * directory) and return a descriptor of it holding its exclusive flock; errors say
 * "unable to create <what> in '<state dir>'" */
int xo_staging_create(const char *kind, const char *uuid, const char *what, char *name,
		      size_t size, xo_err *e);
/* remove the staging entries of dead writers (dead by their name, and unlocked);
 * before(fd, kind, uuid), if given, sees each one first */
void xo_staging_clean(void (*before)(int fd, const char *kind, const char *uuid));

/* a subdirectory of the state directory (created if missing), opened once and cached */
int xo_state_subdir(const char *name, xo_err *e);
/* forget every cached descriptor: for a child that closed them (a detached worker) */
void xo_state_forget(void);
/* changes at every xo_state_forget: a cache of descriptors compares it */
unsigned xo_state_gen(void);

/*
 * One inotify descriptor per process, with a watch on a state subdirectory
 * (added once, kept). Closing an inotify descriptor waits for an RCU grace
 * period (milliseconds), so waits share this one and never close it. The
 * events of every watched directory arrive on it: a waiter drains them and
 * re-checks its own condition.
 */
int xo_state_inotify(const char *subdir, uint32_t mask, xo_err *e);

/* the number of fsync calls this process made (for benchmarks) */
extern unsigned long xo_fsync_count;

/*
 * VMs by reference: a uuid or a name. xo_vm_resolve() does O(1) work (a
 * readlink or a stat). Returns -1 with does_not_exist for an unknown VM.
 */
int xo_vm_resolve(const char *ref, char uuid[XO_UUID_LEN + 1], xo_err *e);
/* open VM/<uuid> (O_DIRECTORY); -1 with does_not_exist */
int xo_vm_dir_open(const char *uuid, xo_err *e);
/* flock the VM directory (shared or exclusive); fd from xo_vm_dir_open */
int xo_vm_dir_lock(int vmfd, bool exclusive, xo_err *e);
/* is the VM directory vmfd still VM/<uuid>, with its config? false once removal
 * took it out of view */
bool xo_vm_dir_alive(int vmfd, const char *uuid);

/* the per-VM operation lock (VM/<uuid>/lock): returns an fd holding it.
 * wait=false fails with class busy at once if another process holds it; a
 * waiting call returns -1 on a signal when xo_lock_interrupted is set. */
extern volatile sig_atomic_t xo_lock_interrupted;
int xo_vm_lock(const char *uuid, bool wait, xo_err *e);

#endif
