/*
 * kvm.c: the kvm backend: what it refuses, the queries (live state, devices,
 * consoles, the host), and the struct xo_backend_ops that binds them to the
 * micro-ops of kvm-qemu.c and kvm-dev.c and the events of kvm-watch.c (see
 * kvm.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devstate.h"
#include "extra.h"
#include "kvm.h"
#include "state.h"

static int kvm_open(struct xo_backend *b, xo_err *e)
{
	(void)e;
	b->priv = NULL;
	return 0;
}

static void kvm_close(struct xo_backend *b)
{
	(void)b;
}

/* ---------------------------------------------------------------- what kvm refuses */

static int refuse(const struct xo_vm *vm, xo_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(const struct xo_vm *vm, xo_err *e, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return xo_errf(e, XO_E_INVALID, "the kvm backend cannot start vm %s: %s", vm->name, why);
}

static int kvm_check(struct xo_backend *b, const struct xo_vm *vm, const struct xo_devices *d,
		     xo_err *e)
{
	const char *fw = xo_kvs_get(&vm->platform, "firmware");

	(void)b;
	if (vm->type != XO_VM_HVM && (!vm->kernel || !*vm->kernel))
		return refuse(vm, e, "a %s vm boots its kernel directly, and it has none (a bootloader "
			      "is Xen's)", xo_vm_type_name(vm->type));
	if (vm->type == XO_VM_HVM && vm->kernel && *vm->kernel)
		return refuse(vm, e, "an hvm vm boots from its firmware, not a kernel");
	if (vm->framebuffer)
		return refuse(vm, e, "it has no framebuffer (its console is a serial port)");
	if (vm->xsdata.n)
		return refuse(vm, e, "xsdata is written to xenstore, which kvm has not");
	if (vm->memory_dynamic_max != vm->memory_static_max)
		return refuse(vm, e, "a kvm guest has fixed memory, and memory.dynamic_max (%llu) is "
			      "not memory.static_max (%llu)",
			      (unsigned long long)vm->memory_dynamic_max,
			      (unsigned long long)vm->memory_static_max);
	if (fw && strcmp(fw, "bios") != 0 && strcmp(fw, "uefi") != 0)
		return refuse(vm, e, "platform firmware is '%s': expected bios or uefi", fw);
	if (fw && vm->type != XO_VM_HVM)
		return refuse(vm, e, "platform firmware is for hvm vms");
	if (fw && strcmp(fw, "uefi") == 0 && !kvm_ovmf_code())
		return refuse(vm, e, "uefi needs OVMF (package ovmf, or XO_KVM_OVMF)");
	if (vm->boot_order && strchr(vm->boot_order, 'a'))
		return refuse(vm, e, "it has no floppy drive to boot from (boot order '%s')",
			      vm->boot_order);
	for (size_t i = 0; d && i < d->n_vbd; i++) {
		const struct xo_vbd *v = &d->vbd[i];
		if (v->type == XO_VBD_FLOPPY)
			return refuse(vm, e, "vbd %s: kvm vms have no floppy drives", v->name);
		if (v->qos != XO_QOS_NONE)
			return refuse(vm, e, "vbd %s: qos scheduling is blkback's", v->name);
		if (v->extra_backend_keys.n || v->extra_private_keys.n)
			return refuse(vm, e, "vbd %s: extra backend and private keys are xenstore's",
				      v->name);
	}
	for (size_t i = 0; d && i < d->n_vif; i++) {
		const struct xo_vif *v = &d->vif[i];
		if (v->rate_kbytes_per_s)
			return refuse(vm, e, "vif %d: rate limits are netback's", v->position);
		if (v->script)
			return refuse(vm, e, "vif %d: a hotplug script is Xen's (kvm attaches its taps "
				      "itself)", v->position);
		if (v->extra_private_keys.n)
			return refuse(vm, e, "vif %d: extra private keys are xenstore's", v->position);
	}
	if (d && d->n_pci && !kvm_have_iommu())
		return refuse(vm, e, "pci pass-through needs an IOMMU, and this host has none "
			      "(/sys/kernel/iommu_groups is empty)");
	return 0;
}

/* ---------------------------------------------------------------- live state */

static uint64_t cpu_time_ns(int pid)
{
	char p[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	int fd;

	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	/* after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (ut + st) * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static enum xo_shutdown_reason reason_of(const char *r)
{
	if (strcmp(r, "guest-reset") == 0)
		return XO_SHUTDOWN_REBOOT;
	if (strcmp(r, "guest-panic") == 0)
		return XO_SHUTDOWN_CRASH;
	return XO_SHUTDOWN_POWEROFF;
}

static int kvm_vm_live(struct xo_backend *b, const struct xo_vm *vm, struct xo_vm_live *s, xo_err *e)
{
	struct xo_extra ex;
	struct json_object *v;
	struct xo_qmp *q;
	char st[32], reason[32];
	xo_err ignore;

	(void)b;
	memset(s, 0, sizeof(*s));
	s->domid = -1;
	s->vnc_port = -1;
	if (xo_extra_load(vm->uuid, &ex, &ignore) < 0)
		return 0;
	int pid = kvm_qemu_pid(vm->uuid);
	if (ex.backend && json_object_object_get_ex(ex.backend, "action_request", &v))
		xo_strlcpy(s->action_request, json_object_get_string(v), sizeof(s->action_request));
	if (ex.backend && json_object_object_get_ex(ex.backend, "accel", &v))
		xo_strlcpy(s->accel, json_object_get_string(v), sizeof(s->accel));
	if (ex.backend && json_object_object_get_ex(ex.backend, "console", &v))
		xo_strlcpy(s->console_tty, json_object_get_string(v), sizeof(s->console_tty));
	s->start_time = ex.create_time;
	bool creating = ex.domid < 0;
	xo_extra_free(&ex);
	if (!pid)
		return 0;    /* no qemu: whatever is left of one is check-state's */
	s->exists = true;
	s->domid = pid;
	s->console = s->console_tty[0] != '\0';
	s->memory_actual = s->memory_target = vm->memory_dynamic_max;
	s->vcpus = vm->vcpus;
	s->cpu_time_ns = cpu_time_ns(pid);
	if (creating) {
		/* qemu is being started (or its start died): not asked yet */
		s->paused = true;
		return 0;
	}
	int r = kvm_connect(vm, &q, e);
	if (r == 0) {
		r = kvm_status(q, st, sizeof(st), e);
		xo_qmp_close(q);
	}
	if (r < 0) {
		if (!kvm_qemu_pid(vm->uuid)) {
			/* it went while we asked */
			memset(s, 0, sizeof(*s));
			s->domid = -1;
			s->vnc_port = -1;
			return 0;
		}
		return xo_errf(e, e->cls, "the qemu of vm %s (pid %d) does not answer: %s", vm->name, pid,
			       e->msg);
	}
	if (strcmp(st, "running") == 0) {
		/* a running guest */
	} else if (strcmp(st, "shutdown") == 0) {
		s->shutdown = true;
		kvm_last_shutdown(vm->uuid, reason, sizeof(reason));
		s->reason = reason_of(reason);
	} else if (strcmp(st, "guest-panicked") == 0 || strcmp(st, "internal-error") == 0) {
		s->shutdown = true;
		s->reason = XO_SHUTDOWN_CRASH;
	} else {
		s->paused = true;   /* prelaunch, paused, io-error, ... */
	}
	return 0;
}

static int kvm_vbd_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
			const struct xo_vbd *v, struct xo_dev_live *s, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names = NULL;
	char id[40];

	(void)b;
	memset(s, 0, sizeof(*s));
	if (!l->exists || l->domid <= 0 || !kvm_qemu_pid(vm->uuid))
		return 0;
	if (kvm_connect(vm, &q, e) < 0)
		return -1;
	int r = kvm_peripherals(q, &names, e);
	xo_qmp_close(q);
	if (r < 0)
		return -1;
	snprintf(id, sizeof(id), "vbd-%s", v->name);
	s->plugged = s->healthy = kvm_has_peripheral(names, id);
	json_object_put(names);
	if (s->plugged) {
		char *p = xo_vbd_params(vm->uuid, v);
		xo_strlcpy(s->params, p, sizeof(s->params));
		free(p);
		xo_strlcpy(s->hotplug_status, "connected", sizeof(s->hotplug_status));
	}
	return 0;
}

static int kvm_vif_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
			const struct xo_vif *v, struct xo_dev_live *s, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names = NULL;
	char id[32], p[128], link[PATH_MAX];

	(void)b;
	memset(s, 0, sizeof(*s));
	if (!l->exists || l->domid <= 0 || !kvm_qemu_pid(vm->uuid))
		return 0;
	if (kvm_connect(vm, &q, e) < 0)
		return -1;
	int r = kvm_peripherals(q, &names, e);
	xo_qmp_close(q);
	if (r < 0)
		return -1;
	snprintf(id, sizeof(id), "vif-%d", v->position);
	s->plugged = s->healthy = kvm_has_peripheral(names, id);
	json_object_put(names);
	if (!s->plugged)
		return 0;
	xo_strlcpy(s->hotplug_status, "connected", sizeof(s->hotplug_status));
	kvm_tap_name(l->domid, v->position, s->device, sizeof(s->device));
	snprintf(p, sizeof(p), "/sys/class/net/%s/master", s->device);
	ssize_t n = readlink(p, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		const char *br = strrchr(link, '/');
		xo_strlcpy(s->params, br ? br + 1 : link, sizeof(s->params));
	}
	return 0;
}

static int kvm_pci_live(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vm_live *l,
			const struct xo_pci *p, struct xo_dev_live *s, xo_err *e)
{
	struct xo_qmp *q;
	struct json_object *names = NULL;
	char id[32];

	(void)b;
	memset(s, 0, sizeof(*s));
	xo_strlcpy(s->params, p->address, sizeof(s->params));
	if (!l->exists || l->domid <= 0 || !kvm_qemu_pid(vm->uuid))
		return 0;
	if (kvm_connect(vm, &q, e) < 0)
		return -1;
	int r = kvm_peripherals(q, &names, e);
	xo_qmp_close(q);
	if (r < 0)
		return -1;
	snprintf(id, sizeof(id), "pci-%d", p->position);
	s->plugged = s->healthy = kvm_has_peripheral(names, id);
	json_object_put(names);
	return 0;
}

/* ---------------------------------------------------------------- consoles, host */

static int kvm_console_tty(struct xo_backend *b, const struct xo_vm *vm, int timeout_ms, char **tty,
			   xo_err *e)
{
	char pty[PATH_MAX];

	(void)b;
	(void)timeout_ms;   /* the socket is known once VM_create returns */
	if (!kvm_qemu_pid(vm->uuid))
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no console)", vm->name);
	if (kvm_extra_get(vm->uuid, "console", pty, sizeof(pty)) < 0 || !pty[0])
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is being started: its console is not there yet",
			       vm->name);
	*tty = xstrdup(pty);
	return 0;
}

static int kvm_console_log(struct xo_backend *b, const struct xo_vm *vm, char **path, xo_err *e)
{
	char p[PATH_MAX];
	struct stat st;

	(void)b;
	kvm_vm_path(vm->uuid, "console.log", p, sizeof(p));
	if (stat(p, &st) < 0)
		return xo_errf(e, XO_E_NOT_FOUND, "vm %s has no console log: '%s' does not exist (its "
			       "guest has not written anything yet)", vm->name, p);
	*path = xstrdup(p);
	return 0;
}

static int kvm_host_info(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	unsigned long long v;

	(void)b;
	memset(out, 0, sizeof(*out));
	if (!f)
		return xo_err_sys(e, errno, "unable to read /proc/meminfo");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
			out->total_kib = v;
		else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
			out->free_kib = v;
	}
	fclose(f);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	out->nr_cpus = n > 0 ? (unsigned)n : 1;
	return 0;
}

const struct xo_backend_ops xo_backend_kvm = {
	.name = "kvm",
	/* as xenopsd: a VM that ran briefly restarts after a delay */
	.reboot_delay_s = 15,
	.open = kvm_open,
	.close = kvm_close,
	.check = kvm_check,
	.vm_live = kvm_vm_live,
	.vbd_live = kvm_vbd_live,
	.vif_live = kvm_vif_live,
	.pci_live = kvm_pci_live,
	.vm_create = kvm_vm_create,
	.vm_build = NULL,      /* qemu is built when it starts */
	.vbd_plug = kvm_vbd_plug,
	.vbd_unplug = kvm_vbd_unplug,
	.vbd_media = kvm_vbd_media,
	.vif_plug = kvm_vif_plug,
	.vif_unplug = kvm_vif_unplug,
	.vif_apply = kvm_vif_apply,
	.pci_plug = kvm_pci_plug,
	.pci_unplug = kvm_pci_unplug,
	.needs_dm = NULL,      /* qemu is the VM: no separate device model */
	.dm_start = NULL,
	.dm_stop = NULL,
	.set_action_request = kvm_set_action_request,
	.vm_pause = kvm_vm_pause,
	.vm_unpause = kvm_vm_unpause,
	.vm_shutdown = kvm_vm_shutdown,
	.vm_destroy = kvm_vm_destroy,
	.events_open = kvm_events_open,
	.events_fd = kvm_events_fd,
	.events_next = kvm_events_next,
	.events_close = kvm_events_close,
	.console_tty = kvm_console_tty,
	.console_log = kvm_console_log,
	.host_info = kvm_host_info,
};
