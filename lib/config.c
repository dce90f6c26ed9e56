/*
 * config.c: VMs and devices in the state directory (see config.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devstate.h"
#include "config.h"
#include "json.h"
#include "state.h"
#include "updates.h"

void xo_devices_free(struct xo_devices *d)
{
	for (size_t i = 0; i < d->n_vbd; i++)
		xo_vbd_free(&d->vbd[i]);
	for (size_t i = 0; i < d->n_vif; i++)
		xo_vif_free(&d->vif[i]);
	free(d->vbd);
	free(d->vif);
	free(d->pci);
	memset(d, 0, sizeof(*d));
}

/* ---------------------------------------------------------------- JSON of a whole VM */

static int parse_array(struct json_object *o, const char *key, xo_err *e,
		       int (*each)(struct json_object *, struct xo_devices *, xo_err *),
		       struct xo_devices *d)
{
	struct json_object *a;
	int r = xo_json_get_array(o, key, "vm", &a, e);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (each(json_object_array_get_idx(a, i), d, e) < 0)
			return -1;
	return 1;
}

static int one_vbd(struct json_object *o, struct xo_devices *d, xo_err *e)
{
	d->vbd = xrealloc(d->vbd, (d->n_vbd + 1) * sizeof(*d->vbd));
	xo_vbd_init(&d->vbd[d->n_vbd]);
	d->n_vbd++;
	return xo_vbd_from_json(o, &d->vbd[d->n_vbd - 1], e);
}

static int one_vif(struct json_object *o, struct xo_devices *d, xo_err *e)
{
	d->vif = xrealloc(d->vif, (d->n_vif + 1) * sizeof(*d->vif));
	xo_vif_init(&d->vif[d->n_vif]);
	d->n_vif++;
	return xo_vif_from_json(o, &d->vif[d->n_vif - 1], e);
}

static int one_pci(struct json_object *o, struct xo_devices *d, xo_err *e)
{
	d->pci = xrealloc(d->pci, (d->n_pci + 1) * sizeof(*d->pci));
	xo_pci_init(&d->pci[d->n_pci]);
	d->n_pci++;
	return xo_pci_from_json(o, &d->pci[d->n_pci - 1], e);
}

int xo_vm_parse_full(const char *text, size_t len, const char *what, struct xo_vm *vm,
		     struct xo_devices *d, xo_err *e)
{
	struct json_object *o = xo_json_parse(text, len, what, e);
	int r = -1;

	if (!o)
		return -1;
	if (xo_vm_from_json(o, vm, e) < 0 ||
	    parse_array(o, "vbds", e, one_vbd, d) < 0 ||
	    parse_array(o, "vifs", e, one_vif, d) < 0 ||
	    parse_array(o, "pcis", e, one_pci, d) < 0)
		goto out;
	r = 0;
out:
	json_object_put(o);
	return r;
}

struct json_object *xo_vm_full_to_json(const struct xo_vm *vm, const struct xo_devices *d)
{
	struct json_object *o = xo_vm_to_json(vm);
	struct json_object *a;

	a = json_object_new_array();
	for (size_t i = 0; i < d->n_vbd; i++)
		json_object_array_add(a, xo_vbd_to_json(&d->vbd[i]));
	json_object_object_add(o, "vbds", a);
	a = json_object_new_array();
	for (size_t i = 0; i < d->n_vif; i++)
		json_object_array_add(a, xo_vif_to_json(&d->vif[i]));
	json_object_object_add(o, "vifs", a);
	a = json_object_new_array();
	for (size_t i = 0; i < d->n_pci; i++)
		json_object_array_add(a, xo_pci_to_json(&d->pci[i]));
	json_object_object_add(o, "pcis", a);
	return o;
}

/* ---------------------------------------------------------------- files */

static int write_json(int dirfd, const char *name, struct json_object *o, unsigned flags, xo_err *e)
{
	char *s = xo_json_dump(o, true);
	size_t n = strlen(s);
	s = xrealloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = '\0';
	int r = xo_atomic_write(dirfd, name, s, n + 1, flags, e);
	free(s);
	json_object_put(o);
	return r;
}

static struct json_object *read_json(int dirfd, const char *name, const char *what, xo_err *e)
{
	char *text;
	size_t len;
	struct json_object *o;

	if (xo_read_file(dirfd, name, &text, &len, e) < 0)
		return NULL;
	o = xo_json_parse(text, len, what, e);
	free(text);
	return o;
}

static void vbd_file(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "vbd.%s", name);
}

static void pos_file(char *buf, size_t n, const char *kind, int pos)
{
	snprintf(buf, n, "%s.%d", kind, pos);
}

/* the names of files "prefix*" in a VM directory */
static int list_prefixed(int vmfd, const char *prefix, char ***out, size_t *n, xo_err *e)
{
	int fd = openat(vmfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	size_t plen = strlen(prefix);

	*out = NULL;
	*n = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return xo_err_sys(e, errno, "unable to list vm directory");
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, plen) != 0 || !de->d_name[plen])
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof(char *));
		(*out)[(*n)++] = xstrdup(de->d_name + plen);
	}
	closedir(d);
	return 0;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---------------------------------------------------------------- device checks */

static int choose_vbd_name(enum xo_vm_type type, char **names, size_t n, char *out, size_t size)
{
	int next = 0;

	for (size_t i = 0; i < n; i++) {
		int d = xo_vbd_disk_index(names[i]);
		if (d >= next)
			next = d + 1;
	}
	if (type == XO_VM_HVM && next < 4) {
		snprintf(out, size, "hd%c", 'a' + next);
	} else if (next < 26) {
		snprintf(out, size, "xvd%c", 'a' + next);
	} else if (next < 26 * 27) {
		snprintf(out, size, "xvd%c%c", 'a' + next / 26 - 1, 'a' + next % 26);
	} else {
		return -1;
	}
	return 0;
}

static int choose_position(char **names, size_t n)
{
	int next = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned p;
		if (xo_parse_uint(names[i], 1u << 20, &p) == 0 && (int)p >= next)
			next = (int)p + 1;
	}
	return next;
}

/* duplicate names, positions and addresses inside one add (nothing stored yet) */
static int check_devices(const struct xo_vm *vm, struct xo_devices *d, xo_err *e)
{
	for (size_t i = 0; i < d->n_vbd; i++) {
		if (!d->vbd[i].name)
			continue;
		for (size_t j = 0; j < i; j++)
			if (d->vbd[j].name && xo_vbd_devid(d->vbd[j].name) == xo_vbd_devid(d->vbd[i].name))
				return xo_errf(e, XO_E_EXISTS, "duplicate vbd '%s' in vm %s", d->vbd[i].name,
					       vm->name);
	}
	for (size_t i = 0; i < d->n_vif; i++)
		for (size_t j = 0; j < i; j++)
			if (d->vif[i].position >= 0 && d->vif[i].position == d->vif[j].position)
				return xo_errf(e, XO_E_EXISTS, "duplicate vif position %d in vm %s",
					       d->vif[i].position, vm->name);
	for (size_t i = 0; i < d->n_pci; i++)
		for (size_t j = 0; j < i; j++) {
			if (d->pci[i].position >= 0 && d->pci[i].position == d->pci[j].position)
				return xo_errf(e, XO_E_EXISTS, "duplicate pci position %d in vm %s",
					       d->pci[i].position, vm->name);
			if (strcmp(d->pci[i].address, d->pci[j].address) == 0)
				return xo_errf(e, XO_E_EXISTS, "duplicate pci device %s in vm %s",
					       d->pci[i].address, vm->name);
		}
	return 0;
}

/* the devices' own hotplug scripts exist and are executable (xo runs them as root only
 * after xo_path_trusted says so, when they run) */
static int check_device_scripts(struct xo_devices *d, xo_err *e)
{
	for (size_t i = 0; i < d->n_vbd; i++)
		if (d->vbd[i].script && xo_script_check_file(d->vbd[i].script, "vbd script", e) < 0)
			return -1;
	for (size_t i = 0; i < d->n_vif; i++)
		if (d->vif[i].script && xo_script_check_file(d->vif[i].script, "vif script", e) < 0)
			return -1;
	return 0;
}

/* name the unnamed, position the unpositioned, in order */
static void assign_devices(const struct xo_vm *vm, struct xo_devices *d)
{
	char **names = xcalloc(d->n_vbd + 1, sizeof(char *));
	size_t n = 0;
	char buf[16];

	for (size_t i = 0; i < d->n_vbd; i++)
		if (d->vbd[i].name)
			names[n++] = d->vbd[i].name;
	for (size_t i = 0; i < d->n_vbd; i++) {
		if (d->vbd[i].name)
			continue;
		if (choose_vbd_name(vm->type, names, n, buf, sizeof(buf)) == 0) {
			d->vbd[i].name = xstrdup(buf);
			names[n++] = d->vbd[i].name;
		}
	}
	free(names);
	int next = 0;
	for (size_t i = 0; i < d->n_vif; i++)
		if (d->vif[i].position >= next)
			next = d->vif[i].position + 1;
	for (size_t i = 0; i < d->n_vif; i++) {
		if (d->vif[i].position < 0)
			d->vif[i].position = next++;
		if (!d->vif[i].mac[0])
			xo_mac_random(d->vif[i].mac);
	}
	next = 0;
	for (size_t i = 0; i < d->n_pci; i++)
		if (d->pci[i].position >= next)
			next = d->pci[i].position + 1;
	for (size_t i = 0; i < d->n_pci; i++)
		if (d->pci[i].position < 0)
			d->pci[i].position = next++;
}

/* ---------------------------------------------------------------- VMs */

static int write_devices(int fd, struct xo_devices *d, xo_err *e)
{
	char f[64];

	for (size_t i = 0; i < d->n_vbd; i++) {
		vbd_file(f, sizeof(f), d->vbd[i].name);
		if (write_json(fd, f, xo_vbd_to_json(&d->vbd[i]), XO_WRITE_EXCL, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < d->n_vif; i++) {
		pos_file(f, sizeof(f), "vif", d->vif[i].position);
		if (write_json(fd, f, xo_vif_to_json(&d->vif[i]), XO_WRITE_EXCL, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < d->n_pci; i++) {
		pos_file(f, sizeof(f), "pci", d->pci[i].position);
		if (write_json(fd, f, xo_pci_to_json(&d->pci[i]), XO_WRITE_EXCL, e) < 0)
			return -1;
	}
	return 0;
}

/*
 * The name index and crash safety. A VM is in view when VM/<uuid> (with its
 * config) exists and name/<name> links to it. Adding and removing a VM
 * change both under the name index's flock (name/.lock), held only for the
 * few calls that change them, in this order:
 *
 *   add:     build staging/new.<uuid>.<writer>, then, locked: replace a
 *            stale name/<name> (one whose VM has no config), link it,
 *            rename the staging directory to VM/<uuid>
 *   remove:  locked: rename VM/<uuid> to staging/trash.<uuid>.<writer>,
 *            unlink name/<name>; then delete the trash
 *
 * A writer killed anywhere leaves its staging entry and at most a name
 * link to a VM directory that does not exist. Neither is in view: the VM
 * is not listed, the name resolves to nothing and is free for an add,
 * which replaces the link. The next add or remove (of any VM) lists
 * staging/, finds the entries of dead writers (xo_staging_clean), unlinks
 * the name they may have left dangling and deletes them. Since every
 * change of a name link happens under the lock, a writer holding it that
 * finds a link to a missing VM knows its writer is dead. No VM directory
 * is ever in view without its name, so nothing lists VM/ to repair.
 */

struct name_lock {
	int fd;
};

static int name_lock(int sfd, struct name_lock *l, xo_err *e)
{
	l->fd = openat(sfd, "name/.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (l->fd < 0)
		return xo_err_sys(e, errno, "unable to lock the name index");
	while (flock(l->fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int err = errno;
			close(l->fd);
			l->fd = -1;
			return xo_err_sys(e, err, "unable to lock the name index");
		}
	}
	return 0;
}

static void name_unlock(struct name_lock *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static void fsync_subdir(int sfd, const char *name)
{
	int fd = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		xo_fsync_dir(fd);
		close(fd);
	}
}

/* the uuid name/<name> links to: 1, 0 when there is no link, -1 on error */
static int name_target(int sfd, const char *name, char uuid[XO_UUID_LEN + 1], xo_err *e)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "name/%s", name);
	n = readlinkat(sfd, link, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		return xo_err_sys(e, errno, "unable to read the name index entry '%s'", name);
	}
	target[n] = '\0';
	const char *u = strrchr(target, '/');
	u = u ? u + 1 : target;
	if (!xo_str_startswith(target, "../VM/") || !xo_uuid_valid(u)) {
		uuid[0] = '\0';
		return 1;
	}
	xo_strlcpy(uuid, u, XO_UUID_LEN + 1);
	return 1;
}

static bool vm_config_exists(int sfd, const char *uuid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "VM/%s/config", uuid);
	return fstatat(sfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* a dead writer's staging entry: the name link it may have left, to a VM directory
 * that is not in view, goes with it */
static void staging_repair(int fd, const char *kind, const char *uuid)
{
	char cur[XO_UUID_LEN + 1], link[PATH_MAX];
	struct json_object *o = NULL, *name;
	struct name_lock l = { -1 };
	int sfd = xo_state_fd();
	xo_err ignore;

	(void)kind;
	if (!(o = read_json(fd, "config", "config", &ignore)) ||
	    !json_object_object_get_ex(o, "name", &name) ||
	    xo_name_check(json_object_get_string(name), "vm name", NULL) < 0)
		goto out;
	if (name_lock(sfd, &l, &ignore) < 0)
		goto out;
	if (name_target(sfd, json_object_get_string(name), cur, &ignore) == 1 &&
	    strcmp(cur, uuid) == 0 && !vm_config_exists(sfd, uuid)) {
		snprintf(link, sizeof(link), "name/%s", json_object_get_string(name));
		unlinkat(sfd, link, 0);
	}
	name_unlock(&l);
out:
	json_object_put(o);
}

int xo_vm_add(struct xo_vm *vm, struct xo_devices *d, xo_err *e)
{
	char stage[192], final[64], link[PATH_MAX], target[64], cur[XO_UUID_LEN + 1];
	struct name_lock l = { -1 };
	int sfd, fd = -1, r = -1;

	uint8_t u[16];

	if (xo_vm_check(vm, e) < 0)
		return -1;
	/* every command takes a vm by name or by uuid: such a name could be another's uuid
	 * (refused when a vm is added, so that one stored before can still be removed) */
	if (xo_uuid_parse(vm->name, u) == 0)
		return xo_errf(e, XO_E_INVALID, "invalid vm name '%s': a uuid is not a name (vms are "
			       "named by uuid or by name everywhere)", vm->name);
	if (xo_vm_check_files(vm, e) < 0 || check_devices(vm, d, e) < 0 || check_device_scripts(d, e) < 0)
		return -1;
	if ((sfd = xo_state_open(e)) < 0)
		return -1;
	if (!vm->uuid[0])
		xo_uuid_generate(vm->uuid);
	assign_devices(vm, d);
	snprintf(final, sizeof(final), "VM/%s", vm->uuid);
	if (faccessat(sfd, final, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return xo_errf(e, XO_E_EXISTS, "a vm with uuid %s already exists", vm->uuid);
	xo_staging_clean(staging_repair);
	if ((fd = xo_staging_create("new", vm->uuid, "vm directory", stage, sizeof(stage), e)) < 0)
		return -1;
	if (write_json(fd, "config", xo_vm_to_json(vm), 0, e) < 0 || write_devices(fd, d, e) < 0 ||
	    xo_mkdir(fd, "queue", e) < 0)
		goto out;
	int lk = openat(fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (lk < 0) {
		xo_err_sys(e, errno, "unable to create the vm lock");
		goto out;
	}
	close(lk);
	if (xo_fsync_dir(fd) < 0) {
		xo_err_sys(e, errno, "unable to sync the vm directory");
		goto out;
	}
	if (name_lock(sfd, &l, e) < 0)
		goto out;
	switch (name_target(sfd, vm->name, cur, e)) {
	case -1:
		goto out;
	case 1:
		if (cur[0] && vm_config_exists(sfd, cur)) {
			xo_errf(e, XO_E_EXISTS, "a vm named '%s' already exists", vm->name);
			goto out;
		}
		/* left by a writer that died: nobody holding the lock is mid-way */
		snprintf(link, sizeof(link), "name/%s", vm->name);
		if (unlinkat(sfd, link, 0) < 0 && errno != ENOENT) {
			xo_err_sys(e, errno, "unable to claim the name '%s'", vm->name);
			goto out;
		}
		break;
	}
	if (faccessat(sfd, final, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		xo_errf(e, XO_E_EXISTS, "a vm with uuid %s already exists", vm->uuid);
		goto out;
	}
	snprintf(link, sizeof(link), "name/%s", vm->name);
	snprintf(target, sizeof(target), "../VM/%s", vm->uuid);
	if (symlinkat(target, sfd, link) < 0) {
		if (errno == EEXIST)
			xo_errf(e, XO_E_EXISTS, "a vm named '%s' already exists", vm->name);
		else
			xo_err_sys(e, errno, "unable to claim the name '%s'", vm->name);
		goto out;
	}
	/* the name reaches the disk before the directory: a power cut leaves at worst a
	 * link to nothing, never a VM without a name */
	fsync_subdir(sfd, "name");
	if (renameat2(sfd, stage, sfd, final, RENAME_NOREPLACE) < 0) {
		int err = errno;
		unlinkat(sfd, link, 0);
		if (err == EEXIST || err == ENOTEMPTY)
			xo_errf(e, XO_E_EXISTS, "a vm with uuid %s already exists", vm->uuid);
		else
			xo_err_sys(e, err, "unable to create vm %s", vm->uuid);
		goto out;
	}
	name_unlock(&l);
	fsync_subdir(sfd, "VM");
	xo_updates_emit("vm", vm->uuid);
	r = 0;
out:
	name_unlock(&l);
	if (r < 0)
		xo_rmtree(sfd, stage);
	if (fd >= 0)
		close(fd);
	return r;
}

int xo_vm_load(const char *uuid, struct xo_vm *vm, xo_err *e)
{
	char path[64];
	struct json_object *o;
	int r;

	if (xo_state_open(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "VM/%s/config", uuid);
	xo_vm_init(vm);
	o = read_json(xo_state_fd(), path, "vm config", e);
	if (!o) {
		if (e->cls == XO_E_NOT_FOUND)
			xo_errf(e, XO_E_NOT_FOUND, "vm %s does not exist", uuid);
		return -1;
	}
	r = xo_vm_from_json(o, vm, e);
	if (r < 0)
		xo_err_wrap(e, "corrupt config of vm %s", uuid);
	json_object_put(o);
	return r;
}

void xo_vm_placeholder(const char *uuid, struct xo_vm *vm)
{
	xo_vm_free(vm);
	xo_vm_init(vm);
	xo_strlcpy(vm->uuid, uuid, sizeof(vm->uuid));
	vm->name = xstrdup(uuid);
	vm->vcpus = vm->vcpu_max = 1;
	/* nothing to start it again from */
	vm->on_reboot = vm->on_crash = vm->on_shutdown = XO_ACT_SHUTDOWN;
}

int xo_vm_load_ref(const char *ref, struct xo_vm *vm, xo_err *e)
{
	char uuid[XO_UUID_LEN + 1];

	if (xo_vm_resolve(ref, uuid, e) < 0)
		return -1;
	return xo_vm_load(uuid, vm, e);
}

bool xo_vm_has_domain(const char *uuid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "VM/%s/extra", uuid);
	return xo_state_fd() >= 0 && fstatat(xo_state_fd(), path, &st, 0) == 0;
}

int xo_vm_remove(const char *uuid, xo_err *e)
{
	struct xo_vm vm;
	struct name_lock l = { -1 };
	char trash[192], dir[64], link[PATH_MAX], cur[XO_UUID_LEN + 1];
	int sfd, vmfd = -1, lockfd = -1, r = -1;
	bool moved = false;

	if ((sfd = xo_state_open(e)) < 0)
		return -1;
	xo_vm_init(&vm);
	xo_staging_clean(staging_repair);
	if ((vmfd = xo_vm_dir_open(uuid, e)) < 0)
		goto out;
	if ((lockfd = xo_vm_lock(uuid, false, e)) < 0)
		goto out;
	if (xo_vm_dir_lock(vmfd, true, e) < 0)
		goto out;
	if (!xo_vm_dir_alive(vmfd, uuid)) {
		xo_errf(e, XO_E_NOT_FOUND, "vm %s does not exist", uuid);
		goto out;
	}
	if (xo_vm_load(uuid, &vm, e) < 0)
		goto out;
	if (xo_vm_has_domain(uuid)) {
		xo_errf(e, XO_E_POWER_STATE, "vm %s is not halted: shut it down first", vm.name);
		goto out;
	}
	snprintf(dir, sizeof(dir), "VM/%s", uuid);
	snprintf(trash, sizeof(trash), "staging/trash.%s.%s", uuid, xo_writer_id());
	if (name_lock(sfd, &l, e) < 0)
		goto out;
	/* one rename takes the whole VM out of view; the vm directory's exclusive flock,
	 * held until the trash is gone, marks the trash as ours */
	if (renameat(sfd, dir, sfd, trash) < 0) {
		xo_err_sys(e, errno, "unable to remove vm %s", vm.name);
		goto out;
	}
	moved = true;
	/* the directory leaves VM/ on the disk before the name goes: a power cut leaves
	 * at worst a link to nothing, never a VM without a name */
	fsync_subdir(sfd, "VM");
	if (name_target(sfd, vm.name, cur, e) == 1 && strcmp(cur, uuid) == 0) {
		snprintf(link, sizeof(link), "name/%s", vm.name);
		unlinkat(sfd, link, 0);
	}
	name_unlock(&l);
	fsync_subdir(sfd, "name");
	xo_updates_emit("vm", uuid);
	r = 0;
out:
	name_unlock(&l);
	if (moved)
		xo_rmtree(sfd, trash);
	if (vmfd >= 0)
		close(vmfd);
	if (lockfd >= 0)
		close(lockfd);
	xo_vm_free(&vm);
	return r;
}

static int cmp_uuid(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int xo_vm_list_uuids(char (**out)[XO_UUID_LEN + 1], size_t *n, xo_err *e)
{
	int sfd, fd;
	DIR *d;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if ((sfd = xo_state_open(e)) < 0)
		return -1;
	fd = openat(sfd, "VM", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return xo_err_sys(e, errno, "unable to list vms");
	}
	if (!(d = fdopendir(fd))) {
		close(fd);
		return xo_err_sys(e, errno, "unable to list vms");
	}
	while ((de = readdir(d))) {
		if (!xo_uuid_valid(de->d_name))
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		xo_strlcpy((*out)[*n], de->d_name, XO_UUID_LEN + 1);
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_uuid);
	return 0;
}

/* ---------------------------------------------------------------- devices */

static int cmp_vbd(const void *a, const void *b)
{
	const struct xo_vbd *x = a, *y = b;
	long dx = xo_vbd_devid(x->name), dy = xo_vbd_devid(y->name);
	return dx < dy ? -1 : dx > dy;
}

static int cmp_vif(const void *a, const void *b)
{
	return ((const struct xo_vif *)a)->position - ((const struct xo_vif *)b)->position;
}

static int cmp_pci(const void *a, const void *b)
{
	return ((const struct xo_pci *)a)->position - ((const struct xo_pci *)b)->position;
}

int xo_devices_load(const char *uuid, struct xo_devices *d, xo_err *e)
{
	char **names = NULL, f[64];
	size_t n = 0;
	int vmfd, r = -1;

	memset(d, 0, sizeof(*d));
	if ((vmfd = xo_vm_dir_open(uuid, e)) < 0)
		return -1;
	if (list_prefixed(vmfd, "vbd.", &names, &n, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		vbd_file(f, sizeof(f), names[i]);
		struct json_object *o = read_json(vmfd, f, f, e);
		if (!o || one_vbd(o, d, e) < 0) {
			json_object_put(o);
			xo_err_wrap(e, "unable to read vbd %s of vm %s", names[i], uuid);
			goto out;
		}
		json_object_put(o);
	}
	free_names(names, n);
	names = NULL;
	if (list_prefixed(vmfd, "vif.", &names, &n, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "vif.%s", names[i]);
		struct json_object *o = read_json(vmfd, f, f, e);
		if (!o || one_vif(o, d, e) < 0) {
			json_object_put(o);
			xo_err_wrap(e, "unable to read vif %s of vm %s", names[i], uuid);
			goto out;
		}
		json_object_put(o);
	}
	free_names(names, n);
	names = NULL;
	if (list_prefixed(vmfd, "pci.", &names, &n, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "pci.%s", names[i]);
		struct json_object *o = read_json(vmfd, f, f, e);
		if (!o || one_pci(o, d, e) < 0) {
			json_object_put(o);
			xo_err_wrap(e, "unable to read pci %s of vm %s", names[i], uuid);
			goto out;
		}
		json_object_put(o);
	}
	if (d->n_vbd)
		qsort(d->vbd, d->n_vbd, sizeof(*d->vbd), cmp_vbd);
	if (d->n_vif)
		qsort(d->vif, d->n_vif, sizeof(*d->vif), cmp_vif);
	if (d->n_pci)
		qsort(d->pci, d->n_pci, sizeof(*d->pci), cmp_pci);
	r = 0;
out:
	free_names(names, n);
	close(vmfd);
	if (r < 0)
		xo_devices_free(d);
	return r;
}

/* open the VM directory with the shared lock held and the VM still alive */
static int edit_begin(const char *uuid, xo_err *e)
{
	int vmfd = xo_vm_dir_open(uuid, e);
	if (vmfd < 0)
		return -1;
	if (xo_vm_dir_lock(vmfd, false, e) < 0) {
		close(vmfd);
		return -1;
	}
	if (!xo_vm_dir_alive(vmfd, uuid)) {
		close(vmfd);
		return xo_errf(e, XO_E_NOT_FOUND, "vm %s does not exist", uuid);
	}
	/* what a writer of this VM killed half-way left */
	xo_tmp_clean(vmfd);
	return vmfd;
}

static int load_vm_type(const char *uuid, enum xo_vm_type *t, xo_err *e)
{
	struct xo_vm vm;
	if (xo_vm_load(uuid, &vm, e) < 0)
		return -1;
	*t = vm.type;
	xo_vm_free(&vm);
	return 0;
}

int xo_vbd_add(const char *uuid, struct xo_vbd *v, xo_err *e)
{
	char **names = NULL, f[64], buf[16];
	size_t n = 0;
	enum xo_vm_type type;
	int vmfd, r = -1;

	if (xo_vbd_check(v, e) < 0 || (v->script && xo_script_check_file(v->script, "vbd script", e) < 0) ||
	    load_vm_type(uuid, &type, e) < 0)
		return -1;
	if ((vmfd = edit_begin(uuid, e)) < 0)
		return -1;
	for (int attempt = 0; attempt < 64; attempt++) {
		free_names(names, n);
		if (list_prefixed(vmfd, "vbd.", &names, &n, e) < 0)
			goto out;
		bool chosen = false;
		if (!v->name) {
			if (choose_vbd_name(type, names, n, buf, sizeof(buf)) < 0) {
				xo_errf(e, XO_E_INVALID, "no free vbd name left in vm %s", uuid);
				goto out;
			}
			v->name = xstrdup(buf);
			chosen = true;
		}
		for (size_t i = 0; i < n; i++) {
			if (xo_vbd_devid(names[i]) == xo_vbd_devid(v->name) && strcmp(names[i], v->name)) {
				xo_errf(e, XO_E_EXISTS, "vbd %s is the same device as vbd %s", v->name, names[i]);
				goto out;
			}
		}
		vbd_file(f, sizeof(f), v->name);
		if (write_json(vmfd, f, xo_vbd_to_json(v), XO_WRITE_EXCL, e) == 0) {
			r = 0;
			break;
		}
		if (e->cls != XO_E_EXISTS || !chosen) {
			if (e->cls == XO_E_EXISTS)
				xo_errf(e, XO_E_EXISTS, "vbd %s already exists", v->name);
			goto out;
		}
		free(v->name);     /* somebody took the name we chose: choose again */
		v->name = NULL;
	}
	if (r == 0)
		xo_updates_emit2("vbd", uuid, v->name);
out:
	free_names(names, n);
	close(vmfd);
	return r;
}

int xo_vbd_save(const char *uuid, const struct xo_vbd *v, xo_err *e)
{
	char f[128];
	int vmfd = edit_begin(uuid, e), r;

	if (vmfd < 0)
		return -1;
	vbd_file(f, sizeof(f), v->name);
	r = write_json(vmfd, f, xo_vbd_to_json(v), 0, e);
	close(vmfd);
	if (r == 0)
		xo_updates_emit2("vbd", uuid, v->name);
	return r;
}

/* a device is in use while it is active: meant to be plugged, or plugged (a pci device is
 * active exactly while it is plugged); the flags are in the VM's directory, so no host is
 * asked */
static int check_not_in_use(const char *uuid, const char *kind, const char *id, xo_err *e)
{
	if (xo_device_active(uuid, kind, id))
		return xo_errf(e, XO_E_IN_USE, "%s %s is in use (active in the vm's domain): unplug it first",
			       kind, id);
	return 0;
}

static int remove_file(const char *uuid, const char *file, const char *kind, const char *id,
		       xo_err *e)
{
	int vmfd, r = -1;

	if (check_not_in_use(uuid, kind, id, e) < 0)
		return -1;
	if ((vmfd = edit_begin(uuid, e)) < 0)
		return -1;
	if (unlinkat(vmfd, file, 0) < 0) {
		if (errno == ENOENT)
			xo_errf(e, XO_E_NOT_FOUND, "%s %s does not exist", kind, id);
		else
			xo_err_sys(e, errno, "unable to remove %s %s", kind, id);
		goto out;
	}
	xo_fsync_dir(vmfd);
	xo_updates_emit2(kind, uuid, id);
	r = 0;
out:
	close(vmfd);
	return r;
}

int xo_vbd_remove(const char *uuid, const char *name, xo_err *e)
{
	char f[128];

	if (xo_name_check(name, "vbd name", e) < 0)
		return -1;
	vbd_file(f, sizeof(f), name);
	return remove_file(uuid, f, "vbd", name, e);
}

/* add a positioned device (vif, pci) with link(2); choose a position when none is given */
static int add_positioned(const char *uuid, const char *kind, int *position,
			  struct json_object *(*to_json)(const void *), const void *obj,
			  int (*dup_check)(int vmfd, char **names, size_t n, const void *obj, xo_err *e),
			  xo_err *e)
{
	char **names = NULL, f[64], id[16];
	char prefix[16];
	size_t n = 0;
	int vmfd, r = -1;
	bool chosen = *position < 0;

	snprintf(prefix, sizeof(prefix), "%s.", kind);
	if ((vmfd = edit_begin(uuid, e)) < 0)
		return -1;
	for (int attempt = 0; attempt < 64; attempt++) {
		free_names(names, n);
		if (list_prefixed(vmfd, prefix, &names, &n, e) < 0)
			goto out;
		if (dup_check && dup_check(vmfd, names, n, obj, e) < 0)
			goto out;
		if (chosen)
			*position = choose_position(names, n);
		pos_file(f, sizeof(f), kind, *position);
		if (write_json(vmfd, f, to_json(obj), XO_WRITE_EXCL, e) == 0) {
			r = 0;
			break;
		}
		if (e->cls != XO_E_EXISTS || !chosen) {
			if (e->cls == XO_E_EXISTS)
				xo_errf(e, XO_E_EXISTS, "%s position %d is already taken", kind, *position);
			goto out;
		}
	}
	if (r == 0) {
		snprintf(id, sizeof(id), "%d", *position);
		xo_updates_emit2(kind, uuid, id);
	}
out:
	free_names(names, n);
	close(vmfd);
	return r;
}

static struct json_object *vif_json(const void *p) { return xo_vif_to_json(p); }
static struct json_object *pci_json(const void *p) { return xo_pci_to_json(p); }

int xo_vif_add(const char *uuid, struct xo_vif *v, xo_err *e)
{
	if (xo_vif_check(v, e) < 0 || (v->script && xo_script_check_file(v->script, "vif script", e) < 0))
		return -1;
	if (!v->mac[0])
		xo_mac_random(v->mac);
	return add_positioned(uuid, "vif", &v->position, vif_json, v, NULL, e);
}

static int pci_dup(int vmfd, char **names, size_t n, const void *obj, xo_err *e)
{
	const struct xo_pci *p = obj;
	char f[64];

	for (size_t i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "pci.%s", names[i]);
		struct json_object *o = read_json(vmfd, f, f, e);
		if (!o)
			continue;
		struct json_object *a;
		if (json_object_object_get_ex(o, "address", &a) &&
		    strcmp(json_object_get_string(a), p->address) == 0) {
			json_object_put(o);
			return xo_errf(e, XO_E_EXISTS, "pci device %s is already attached at position %s",
				       p->address, names[i]);
		}
		json_object_put(o);
	}
	return 0;
}

int xo_pci_add(const char *uuid, struct xo_pci *p, xo_err *e)
{
	if (xo_pci_check(p, e) < 0)
		return -1;
	return add_positioned(uuid, "pci", &p->position, pci_json, p, pci_dup, e);
}

static int load_positioned(const char *uuid, const char *kind, int position, struct json_object **o,
			   xo_err *e)
{
	char f[64];
	int vmfd;

	if ((vmfd = xo_vm_dir_open(uuid, e)) < 0)
		return -1;
	pos_file(f, sizeof(f), kind, position);
	*o = read_json(vmfd, f, f, e);
	close(vmfd);
	if (!*o) {
		if (e->cls == XO_E_NOT_FOUND)
			xo_errf(e, XO_E_NOT_FOUND, "%s %d does not exist", kind, position);
		return -1;
	}
	return 0;
}

int xo_vif_load(const char *uuid, int position, struct xo_vif *v, xo_err *e)
{
	struct json_object *o;
	int r;

	xo_vif_init(v);
	if (load_positioned(uuid, "vif", position, &o, e) < 0)
		return -1;
	r = xo_vif_from_json(o, v, e);
	json_object_put(o);
	return r;
}

int xo_vif_save(const char *uuid, const struct xo_vif *v, xo_err *e)
{
	char f[64];
	int vmfd = edit_begin(uuid, e), r;

	if (vmfd < 0)
		return -1;
	pos_file(f, sizeof(f), "vif", v->position);
	r = write_json(vmfd, f, xo_vif_to_json(v), 0, e);
	close(vmfd);
	if (r == 0) {
		char id[16];
		snprintf(id, sizeof(id), "%d", v->position);
		xo_updates_emit2("vif", uuid, id);
	}
	return r;
}

int xo_pci_load(const char *uuid, int position, struct xo_pci *p, xo_err *e)
{
	struct json_object *o;
	int r;

	xo_pci_init(p);
	if (load_positioned(uuid, "pci", position, &o, e) < 0)
		return -1;
	r = xo_pci_from_json(o, p, e);
	json_object_put(o);
	return r;
}

int xo_vif_remove(const char *uuid, int position, xo_err *e)
{
	char f[64], id[16];
	pos_file(f, sizeof(f), "vif", position);
	snprintf(id, sizeof(id), "%d", position);
	return remove_file(uuid, f, "vif", id, e);
}

int xo_pci_remove(const char *uuid, int position, xo_err *e)
{
	char f[64], id[16];
	pos_file(f, sizeof(f), "pci", position);
	snprintf(id, sizeof(id), "%d", position);
	return remove_file(uuid, f, "pci", id, e);
}

int xo_vif_position_parse(const char *s, int *out, xo_err *e)
{
	unsigned p;
	if (xo_parse_uint(s, 1u << 20, &p) < 0)
		return xo_errf(e, XO_E_INVALID, "invalid device position '%s': expected a number", s);
	*out = (int)p;
	return 0;
}
