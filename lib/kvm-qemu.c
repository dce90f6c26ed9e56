/*
 * kvm-qemu.c: the kvm backend's qemu: launching it, talking to it, the
 * accelerator, and the micro-ops about the VM itself (see kvm.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/pidfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "extra.h"
#include "json.h"
#include "kvm.h"
#include "memory.h"
#include "res.h"
#include "state.h"
#include "updates.h"
#include "wait.h"

#define QEMU_START_TIMEOUT_MS 30000
#define QEMU_QUIT_GRACE_MS 5000

/* ---------------------------------------------------------------- paths, records */

void kvm_path(const char *uuid, const char *suffix, char *buf, size_t size)
{
	snprintf(buf, size, "%s/kvm/%s%s", xo_state_dir(), uuid, suffix);
}

void kvm_vm_path(const char *uuid, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/VM/%s/%s", xo_state_dir(), uuid, name);
}

const char *kvm_qemu_binary(void)
{
	const char *q = getenv("XO_QEMU_KVM");
	return q && *q ? q : "qemu-system-x86_64";
}

int kvm_qemu_pid(const char *uuid)
{
	return (int)xo_res_pid(uuid, "proc.qemu");
}

int kvm_extra_get(const char *uuid, const char *key, char *buf, size_t size)
{
	struct xo_extra x;
	struct json_object *v;
	xo_err ignore;

	buf[0] = '\0';
	if (xo_extra_load(uuid, &x, &ignore) < 0)
		return -1;
	if (x.backend && json_object_object_get_ex(x.backend, key, &v) &&
	    json_object_is_type(v, json_type_string))
		xo_strlcpy(buf, json_object_get_string(v), size);
	xo_extra_free(&x);
	return 0;
}

int kvm_extra_set(const char *uuid, const char *key, const char *value, xo_err *e)
{
	struct xo_extra x;

	if (xo_extra_load(uuid, &x, e) < 0)
		return -1;
	xo_json_add_str(xo_extra_backend(&x), key, value);
	int r = xo_extra_save(uuid, &x, e);
	xo_extra_free(&x);
	return r;
}

/* ---------------------------------------------------------------- QMP */

int kvm_connect(const struct xo_vm *vm, struct xo_qmp **q, xo_err *e)
{
	char path[PATH_MAX];

	if (!kvm_qemu_pid(vm->uuid))
		return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted (it has no qemu)", vm->name);
	kvm_path(vm->uuid, ".qmp", path, sizeof(path));
	return xo_qmp_connect(path, KVM_QMP_TIMEOUT_MS, q, e);
}

int kvm_command(const struct xo_vm *vm, const char *cmd, struct json_object *args,
		struct json_object **ret, xo_err *e)
{
	struct xo_qmp *q;

	if (kvm_connect(vm, &q, e) < 0)
		return -1;
	int r = xo_qmp_execute(q, cmd, args, ret, KVM_QMP_TIMEOUT_MS, e);
	xo_qmp_close(q);
	return r;
}

int kvm_status(struct xo_qmp *q, char *buf, size_t size, xo_err *e)
{
	struct json_object *ret = NULL, *v;

	if (xo_qmp_execute(q, "query-status", NULL, &ret, KVM_QMP_TIMEOUT_MS, e) < 0)
		return -1;
	buf[0] = '\0';
	if (ret && json_object_object_get_ex(ret, "status", &v))
		xo_strlcpy(buf, json_object_get_string(v), size);
	json_object_put(ret);
	return 0;
}

void kvm_last_shutdown(const char *uuid, char *reason, size_t size)
{
	char path[PATH_MAX], line[4096];
	FILE *f;

	reason[0] = '\0';
	kvm_path(uuid, ".ev.out", path, sizeof(path));
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		struct json_object *o, *ev, *data, *r;
		xo_err ignore;
		if (!strstr(line, "\"SHUTDOWN\"") && !strstr(line, "\"GUEST_PANICKED\""))
			continue;
		if (!(o = xo_json_parse(line, strlen(line), "qemu event", &ignore)))
			continue;
		if (json_object_object_get_ex(o, "event", &ev)) {
			if (strcmp(json_object_get_string(ev), "GUEST_PANICKED") == 0)
				xo_strlcpy(reason, "guest-panic", size);
			else if (json_object_object_get_ex(o, "data", &data) &&
				 json_object_object_get_ex(data, "reason", &r))
				xo_strlcpy(reason, json_object_get_string(r), size);
		}
		json_object_put(o);
	}
	fclose(f);
}

int kvm_peripherals(struct xo_qmp *q, struct json_object **names, xo_err *e)
{
	struct json_object *args = json_object_new_object(), *ret = NULL;

	xo_json_add_str(args, "path", "/machine/peripheral");
	int r = xo_qmp_execute(q, "qom-list", args, &ret, KVM_QMP_TIMEOUT_MS, e);
	json_object_put(args);
	*names = r == 0 ? ret : NULL;
	return r;
}

bool kvm_has_peripheral(struct json_object *names, const char *id)
{
	for (size_t i = 0; names && i < json_object_array_length(names); i++) {
		struct json_object *n, *o = json_object_array_get_idx(names, i);
		if (json_object_object_get_ex(o, "name", &n) && strcmp(json_object_get_string(n), id) == 0)
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- the accelerator */

/*
 * What "KVM works" means: /dev/kvm opens, and a probe guest run under it reaches its
 * marker on the serial port within XO_KVM_PROBE_MS (default 3000 ms, qemu's start
 * included). The probe is a multiboot image (below, 275 bytes) that enters long mode with
 * 2 MiB pages, writes to 32 MiB of memory a page at a time and copies 8 MiB, then prints
 * XO-ACCEL-OK: a healthy KVM runs it in about 0.1 s, TCG in under a second. A KVM whose
 * guests fault their memory in slowly enough to stall a Linux boot (nested KVM on some
 * hosts) fails it, and TCG is used. The verdict is kept for the host's boot in
 * $XO_KVM_RUN_DIR/accel (default /run/xo), with the boot id; XO_KVM_ACCEL=kvm|tcg forces.
 *
 * The probe's source (GNU as, assembled with as --32 and ld -m elf_i386
 * -Ttext=0x100000 --oformat binary):
 *
 *   .code32: multiboot header with the a.out kludge (load at 1 MiB, entry below);
 *   entry: cli; out 'P' to 0x3f8; zero 12 KiB at 2 MiB; PML4[0] -> PDPT, PDPT[0] -> PD,
 *   PD[0..511] = 2 MiB pages identity-mapping 1 GiB; CR4.PAE; CR3; EFER.LME; CR0.PG;
 *   lgdt (a 64-bit code segment); ljmp to .code64:
 *   movq $1 to every 4 KiB of [4 MiB, 36 MiB); rep movsb 8 MiB from 4 MiB to 20 MiB;
 *   print "XO-ACCEL-OK\n" to 0x3f8; hlt loop.
 */
static const unsigned char probe_image[] = {
	0x02, 0xb0, 0xad, 0x1b, 0x00, 0x00, 0x01, 0x00, 0xfe, 0x4f, 0x51, 0xe4,
	0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x13, 0x01, 0x10, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x10, 0x00, 0xfa, 0x66, 0xba, 0xf8,
	0x03, 0xb0, 0x50, 0xee, 0xbf, 0x00, 0x00, 0x20, 0x00, 0x31, 0xc0, 0xb9,
	0x00, 0x0c, 0x00, 0x00, 0xf3, 0xab, 0xc7, 0x05, 0x00, 0x00, 0x20, 0x00,
	0x03, 0x10, 0x20, 0x00, 0xc7, 0x05, 0x00, 0x10, 0x20, 0x00, 0x03, 0x20,
	0x20, 0x00, 0xbf, 0x00, 0x20, 0x20, 0x00, 0xb8, 0x83, 0x00, 0x00, 0x00,
	0xb9, 0x00, 0x02, 0x00, 0x00, 0x89, 0x07, 0x05, 0x00, 0x00, 0x20, 0x00,
	0x83, 0xc7, 0x08, 0xe2, 0xf4, 0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f,
	0x22, 0xe0, 0xb8, 0x00, 0x00, 0x20, 0x00, 0x0f, 0x22, 0xd8, 0xb9, 0x80,
	0x00, 0x00, 0xc0, 0x0f, 0x32, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x0f, 0x30,
	0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0x0f,
	0x01, 0x15, 0x00, 0x01, 0x10, 0x00, 0xea, 0x9d, 0x00, 0x10, 0x00, 0x08,
	0x00, 0x48, 0xc7, 0xc7, 0x00, 0x00, 0x40, 0x00, 0x48, 0xc7, 0xc3, 0x00,
	0x00, 0x40, 0x02, 0x48, 0xc7, 0x07, 0x01, 0x00, 0x00, 0x00, 0x48, 0x81,
	0xc7, 0x00, 0x10, 0x00, 0x00, 0x48, 0x39, 0xdf, 0x72, 0xed, 0x48, 0xc7,
	0xc6, 0x00, 0x00, 0x40, 0x00, 0x48, 0xc7, 0xc7, 0x00, 0x00, 0x40, 0x01,
	0x48, 0xc7, 0xc1, 0x00, 0x00, 0x80, 0x00, 0xf3, 0xa4, 0x66, 0xba, 0xf8,
	0x03, 0x48, 0x8d, 0x35, 0x26, 0x00, 0x00, 0x00, 0xac, 0x84, 0xc0, 0x74,
	0x03, 0xee, 0xeb, 0xf8, 0xf4, 0xeb, 0xfd, 0x8d, 0x74, 0x26, 0x00, 0x90,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00,
	0x00, 0x9a, 0xaf, 0x00, 0x0f, 0x00, 0xf0, 0x00, 0x10, 0x00, 0x58, 0x4f,
	0x2d, 0x41, 0x43, 0x43, 0x45, 0x4c, 0x2d, 0x4f, 0x4b, 0x0a, 0x00
};

static const char *run_dir(void)
{
	const char *d = getenv("XO_KVM_RUN_DIR");
	return d && *d ? d : "/run/xo";
}

static void boot_id(char *buf, size_t size)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

struct probe_wait {
	int fd;
	struct xo_buf out;
	bool eof;
};

static int probe_cond(void *arg, xo_err *e)
{
	struct probe_wait *w = arg;
	(void)e;
	if (w->out.s && strstr(w->out.s, "XO-ACCEL-OK"))
		return 1;
	return w->eof ? 1 : 0;
}

static void probe_drain(void *arg, int fd)
{
	struct probe_wait *w = arg;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0 && w->out.len < 65536)
		xo_buf_add(&w->out, buf, (size_t)n);
	else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
		w->eof = true;
}

/* run the probe under KVM: true when it printed its marker in time */
static bool probe_kvm(const char *dir, char *why, size_t size)
{
	char image[PATH_MAX], ms[16];
	struct xo_child c;
	struct probe_wait w = { .fd = -1 };
	int pfd[2];
	xo_err e;
	unsigned budget = 3000;
	const char *b = getenv("XO_KVM_PROBE_MS");

	if (b && xo_parse_uint(b, 600000, &budget) < 0)
		budget = 3000;
	int kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kfd < 0) {
		snprintf(why, size, "/dev/kvm: %s", strerror(errno));
		return false;
	}
	close(kfd);
	snprintf(image, sizeof(image), "%s/kvm-probe.img", dir);
	if (xo_atomic_write(AT_FDCWD, image, probe_image, sizeof(probe_image), XO_WRITE_NOSYNC, &e) < 0) {
		snprintf(why, size, "%s", e.msg);
		return false;
	}
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(why, size, "pipe: %s", strerror(errno));
		return false;
	}
	char *argv[] = { (char *)kvm_qemu_binary(), "-accel", "kvm", "-machine", "pc", "-m", "64",
			 "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
			 "-kernel", image, NULL };
	if (xo_spawn(&c, argv, NULL, pfd[1], false, &e) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		snprintf(why, size, "%s", e.msg);
		return false;
	}
	close(pfd[1]);
	w.fd = pfd[0];
	struct xo_wait wt = XO_WAIT_INIT;
	wt.cond = probe_cond;
	wt.arg = &w;
	wt.drain = probe_drain;
	wt.fds[0] = pfd[0];
	wt.timeout_ms = (int)budget;
	wt.what = "the KVM probe";
	int r = xo_wait(&wt, &e);
	bool ok = r == 0 && w.out.s && strstr(w.out.s, "XO-ACCEL-OK");
	xo_child_kill(&c);
	xo_child_close(&c);
	close(pfd[0]);
	snprintf(ms, sizeof(ms), "%u", budget);
	if (!ok) {
		char *nl;
		const char *out = w.out.s ? w.out.s : "";
		/* qemu's own complaint, if it said one */
		while ((nl = strstr(out, "qemu-system")) && strchr(nl, '\n') && strstr(nl, "warning"))
			out = strchr(nl, '\n') + 1;
		if (r < 0)
			snprintf(why, size, "a probe guest made no progress in %s ms under KVM", ms);
		else
			snprintf(why, size, "qemu -accel kvm failed: %.*s", (int)strcspn(out, "\n"), out);
	}
	xo_buf_free(&w.out);
	unlink(image);
	return ok;
}

int kvm_accel(char *buf, size_t size, xo_err *e)
{
	const char *force = getenv("XO_KVM_ACCEL");
	char dir[PATH_MAX], path[PATH_MAX + 8], id[64], cached[256], why[512];

	if (force && *force && strcmp(force, "auto") != 0) {
		if (strcmp(force, "kvm") != 0 && strcmp(force, "tcg") != 0)
			return xo_errf(e, XO_E_INVALID, "XO_KVM_ACCEL is '%s': expected kvm, tcg or auto",
				       force);
		xo_strlcpy(buf, force, size);
		return 0;
	}
	xo_strlcpy(dir, run_dir(), sizeof(dir));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return xo_err_sys(e, errno, "unable to make '%s'", dir);
	snprintf(path, sizeof(path), "%s/accel", dir);
	boot_id(id, sizeof(id));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return xo_err_sys(e, errno, "unable to open '%s'", path);
	/* one probe per boot, whoever asks first; the others wait for its verdict */
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	ssize_t n = pread(fd, cached, sizeof(cached) - 1, 0);
	cached[n > 0 ? n : 0] = '\0';
	char *sp = strchr(cached, ' ');
	if (sp && (size_t)(sp - cached) == strlen(id) && strncmp(cached, id, strlen(id)) == 0 &&
	    (strncmp(sp + 1, "kvm", 3) == 0 || strncmp(sp + 1, "tcg", 3) == 0)) {
		snprintf(buf, size, "%.3s", sp + 1);
		close(fd);
		return 0;
	}
	why[0] = '\0';
	bool kvm = probe_kvm(dir, why, sizeof(why));
	snprintf(cached, sizeof(cached), "%s %s%s%s\n", id, kvm ? "kvm" : "tcg", kvm ? "" : " ", why);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, cached, strlen(cached), 0) < 0)
		fprintf(stderr, "xo: warning: unable to keep the accelerator's verdict in '%s': %s\n",
			path, strerror(errno));
	close(fd);
	xo_strlcpy(buf, kvm ? "kvm" : "tcg", size);
	return 0;
}

/* ---------------------------------------------------------------- launching qemu */

struct argv {
	char **v;
	size_t n;
};

static void arg(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	a->v = xrealloc(a->v, (a->n + 2) * sizeof(*a->v));
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void argv_free(struct argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* qemu's -name and chardev paths are comma-separated option strings: a comma is doubled */
static char *opt_escape(const char *s)
{
	struct xo_buf b = { 0 };
	for (; *s; s++) {
		xo_buf_add(&b, s, 1);
		if (*s == ',')
			xo_buf_add(&b, ",", 1);
	}
	return b.s ? xo_buf_detach(&b) : xstrdup("");
}

const char *kvm_ovmf_code(void)
{
	static const char *const paths[] = { "/usr/share/OVMF/OVMF_CODE_4M.fd",
		"/usr/share/OVMF/OVMF_CODE.fd", NULL };
	const char *o = getenv("XO_KVM_OVMF");
	if (o && *o)
		return o;
	for (const char *const *p = paths; *p; p++)
		if (access(*p, R_OK) == 0)
			return *p;
	return NULL;
}

/* the firmware's variables: a copy of OVMF's template kept with the VM (its NVRAM) */
static int ovmf_vars(const struct xo_vm *vm, const char *code, char *out, size_t size, xo_err *e)
{
	char tmpl[PATH_MAX];
	const char *s = strstr(code, "_CODE");

	kvm_vm_path(vm->uuid, "OVMF_VARS.fd", out, size);
	if (access(out, R_OK | W_OK) == 0)
		return 0;
	if (!s)
		return xo_errf(e, XO_E_INVALID, "cannot tell OVMF's variables template from '%s'", code);
	snprintf(tmpl, sizeof(tmpl), "%.*s_VARS%s", (int)(s - code), code, s + 5);
	char *data;
	size_t len;
	if (xo_read_file(AT_FDCWD, tmpl, &data, &len, e) < 0)
		return -1;
	int r = xo_atomic_write(AT_FDCWD, out, data, len, 0, e);
	free(data);
	return r;
}

/* XO_KVM_USER (a name or a uid) as qemu's -runas uid:gid. qemu given a name looks it up at
 * its start, keeps a pointer into getpwnam's static buffer, and calls initgroups (NSS, under
 * its sandbox, from its main thread while its monitor already answers) once the machine is
 * made: given numbers, it does setgid, setgroups to that one group, setuid, and nothing
 * else. The lookup is here, without a sandbox, and an unknown user is refused at start */
static int runas_ids(const char *user, char *out, size_t size, xo_err *e)
{
	struct passwd pw, *r = NULL;
	char buf[4096], *end;
	int err;

	errno = 0;
	unsigned long uid = strtoul(user, &end, 10);
	if (*user >= '0' && *user <= '9' && *end == '\0' && errno == 0 && uid < (uid_t)-1)
		err = getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &r);
	else
		err = getpwnam_r(user, &pw, buf, sizeof(buf), &r);
	if (err)
		return xo_err_sys(e, err, "unable to look up XO_KVM_USER '%s'", user);
	if (!r)
		return xo_errf(e, XO_E_INVALID, "XO_KVM_USER is '%s': no such user", user);
	if (pw.pw_uid == 0)
		return xo_errf(e, XO_E_INVALID, "XO_KVM_USER is '%s': that is root (unset it instead)",
			       user);
	snprintf(out, size, "%lu:%lu", (unsigned long)pw.pw_uid, (unsigned long)pw.pw_gid);
	return 0;
}

static int build_argv(const struct xo_vm *vm, const char *accel, struct argv *a, xo_err *e)
{
	char qmp[PATH_MAX], ev[PATH_MAX], con[PATH_MAX], con_sock[PATH_MAX];
	const char *user = getenv("XO_KVM_USER");
	const char *fw = xo_kvs_get(&vm->platform, "firmware");
	char runas[64], *name, *conlog;

	if (user && *user && runas_ids(user, runas, sizeof(runas), e) < 0)
		return -1;
	name = opt_escape(vm->name);

	kvm_path(vm->uuid, ".qmp", qmp, sizeof(qmp));
	kvm_path(vm->uuid, ".ev", ev, sizeof(ev));
	kvm_vm_path(vm->uuid, "console.log", con, sizeof(con));
	kvm_path(vm->uuid, ".con", con_sock, sizeof(con_sock));
	conlog = opt_escape(con);
	arg(a, "%s", kvm_qemu_binary());
	arg(a, "-name");
	arg(a, "%s", name);
	arg(a, "-uuid");
	arg(a, "%s", vm->uuid);
	arg(a, "-S");
	arg(a, "-no-user-config");
	arg(a, "-nodefaults");
	arg(a, "-display");
	arg(a, "none");
	arg(a, "-machine");
	arg(a, "pc,accel=%s", accel);
	if (strcmp(accel, "kvm") == 0) {
		arg(a, "-cpu");
		arg(a, "host");
	}
	arg(a, "-m");
	arg(a, "%lluK", (unsigned long long)(vm->memory_dynamic_max / 1024));
	/* the memory is the guest's from the start, as on Xen: the reservation is exact */
	arg(a, "-mem-prealloc");
	arg(a, "-smp");
	arg(a, "%u,maxcpus=%u", vm->vcpus, vm->vcpu_max);
	arg(a, "-chardev");
	arg(a, "socket,id=qmp,path=%s,server=on,wait=off", qmp);
	arg(a, "-mon");
	arg(a, "chardev=qmp,mode=control");
	arg(a, "-chardev");
	arg(a, "pipe,id=ev,path=%s", ev);
	arg(a, "-mon");
	arg(a, "chardev=ev,mode=control");
	arg(a, "-chardev");
	/* a socket, not a pty: with nobody attached, qemu drops (and logs) what the guest
	 * writes, where a pty nobody reads can hold the guest's serial line up */
	arg(a, "socket,id=con,path=%s,server=on,wait=off,logfile=%s,logappend=on", con_sock, conlog);
	arg(a, "-serial");
	arg(a, "chardev:con");
	/* the toolstack decides what a guest's poweroff, reboot or panic becomes */
	arg(a, "-no-shutdown");
	arg(a, "-action");
	arg(a, "reboot=shutdown,panic=pause");
	arg(a, "-device");
	arg(a, "pvpanic");
	/* -runas is qemu's own setgid and setuid, after the sandbox is in place: it needs them
	 * (elevateprivileges=deny kills it with SIGSYS); running as that user, it has nothing
	 * to elevate to, and spawn=deny keeps it from exec'ing anything that could */
	arg(a, "-sandbox");
	arg(a, "on,obsolete=deny,elevateprivileges=%s,spawn=deny,resourcecontrol=deny",
	    user && *user ? "allow" : "deny");
	arg(a, "-msg");
	arg(a, "timestamp=on");
	if (user && *user) {
		arg(a, "-runas");
		arg(a, "%s", runas);
	}
	if (vm->type == XO_VM_HVM) {
		arg(a, "-boot");
		arg(a, "order=%s", vm->boot_order && *vm->boot_order ? vm->boot_order : "cd");
		if (fw && strcmp(fw, "uefi") == 0) {
			char vars[PATH_MAX];
			const char *code = kvm_ovmf_code();
			if (!code) {
				free(name);
				free(conlog);
				return xo_errf(e, XO_E_INVALID, "vm %s wants uefi, but OVMF is not installed "
					       "(package ovmf, or XO_KVM_OVMF)", vm->name);
			}
			if (ovmf_vars(vm, code, vars, sizeof(vars), e) < 0) {
				free(name);
				free(conlog);
				return -1;
			}
			char *c = opt_escape(code), *v = opt_escape(vars);
			arg(a, "-drive");
			arg(a, "if=pflash,format=raw,unit=0,readonly=on,file=%s", c);
			arg(a, "-drive");
			arg(a, "if=pflash,format=raw,unit=1,file=%s", v);
			free(c);
			free(v);
		}
	} else {
		arg(a, "-kernel");
		arg(a, "%s", vm->kernel);
		if (vm->ramdisk && *vm->ramdisk) {
			arg(a, "-initrd");
			arg(a, "%s", vm->ramdisk);
		}
		if (vm->cmdline && *vm->cmdline) {
			arg(a, "-append");
			arg(a, "%s", vm->cmdline);
		}
	}
	free(name);
	free(conlog);
	return 0;
}

/* the last line qemu wrote on its standard error, for a message */
static void log_tail(const char *uuid, char *buf, size_t size)
{
	char path[PATH_MAX];

	kvm_vm_path(uuid, "qemu.log", path, sizeof(path));
	xo_file_last_line(path, buf, size);
}

struct start_wait {
	const char *uuid;
	const char *qmp;
	struct xo_child *child;
	struct xo_qmp *q;
};

static int start_cond(void *arg, xo_err *e)
{
	struct start_wait *w = arg;
	struct stat st;
	char tail[512];

	if (xo_child_poll(w->child)) {
		log_tail(w->uuid, tail, sizeof(tail));
		return xo_errf(e, XO_E_SYSTEM, "qemu exited at start: %s", tail[0] ? tail : "(no message)");
	}
	if (stat(w->qmp, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	/* the socket appears at bind(2), its listen(2) follows at once: a refused connection
	 * is that instant, tried again a millisecond later (a bounded wait, not a poll) */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	xo_strlcpy(sa.sun_path, w->qmp, sizeof(sa.sun_path));
	for (int i = 0; i < 2000; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return xo_err_sys(e, errno, "socket");
		int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		int err = errno;
		close(fd);
		if (r == 0 || err != ECONNREFUSED)
			break;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	/* the greeting comes from the monitor's own thread, while qemu's main thread may still
	 * be making the machine and becoming its user (-runas): qemu exiting there closes the
	 * connection a moment before its end shows; its log says why */
	if (xo_qmp_connect(w->qmp, QEMU_START_TIMEOUT_MS, &w->q, e) < 0) {
		struct pollfd pfd = { .fd = w->child->pidfd, .events = POLLIN };
		if (!xo_child_poll(w->child) && pfd.fd >= 0)
			(void)poll(&pfd, 1, 2000);
		if (xo_child_poll(w->child)) {
			log_tail(w->uuid, tail, sizeof(tail));
			return xo_errf(e, XO_E_SYSTEM, "qemu exited at start: %s",
				       tail[0] ? tail : "(no message)");
		}
		return -1;
	}
	return 1;
}

static void start_drain(void *arg, int fd)
{
	char buf[4096];
	(void)arg;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* start the events monitor: it was made in negotiation mode, and its fifo is its input */
static int events_start(const char *uuid, xo_err *e)
{
	char path[PATH_MAX];
	static const char cmd[] = "{\"execute\": \"qmp_capabilities\"}\n";

	kvm_path(uuid, ".ev.in", path, sizeof(path));
	/* qemu holds the fifo open for reading and writing: this open never waits */
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return xo_err_sys(e, errno, "unable to open qemu's event monitor '%s'", path);
	int r = xo_write_all(fd, cmd, sizeof(cmd) - 1) < 0 ?
			xo_err_sys(e, errno, "unable to start qemu's event monitor '%s'", path) : 0;
	close(fd);
	return r;
}

static void remove_files(const char *uuid)
{
	static const char *const sfx[] = { ".qmp", ".con", ".ev.in", ".ev.out", NULL };
	char p[PATH_MAX];

	for (const char *const *s = sfx; *s; s++) {
		kvm_path(uuid, *s, p, sizeof(p));
		unlink(p);
	}
}

int kvm_vm_create(struct xo_ctx *c, xo_err *e)
{
	const struct xo_vm *vm = &c->vm;
	struct xo_extra ex;
	struct argv a = { 0 };
	struct xo_child child;
	char accel[8], path[PATH_MAX], qmp[PATH_MAX], pty[PATH_MAX];
	int logfd = -1, ino = -1, pid;
	xo_err ignore;

	if ((pid = kvm_qemu_pid(vm->uuid)) > 0)
		return xo_errf(e, XO_E_POWER_STATE, "vm %s already has a qemu (pid %d)", vm->name, pid);
	if (kvm_accel(accel, sizeof(accel), e) < 0)
		return -1;
	if (xo_state_open(e) < 0)
		return -1;
	if (mkdirat(xo_state_fd(), "kvm", 0700) < 0 && errno != EEXIST)
		return xo_err_sys(e, errno, "unable to make '%s/kvm'", xo_state_dir());
	if (xo_memory_reserve(c->b, vm->uuid, xo_vm_reserve_kib(vm), e) < 0)
		return -1;
	/* the VM exists, as a start in progress, before its qemu does */
	memset(&ex, 0, sizeof(ex));
	ex.domid = -1;
	ex.create_time = xo_wallclock();
	ex.built = true;
	ex.type = vm->type;
	ex.static_max_kib = vm->memory_static_max / 1024;
	ex.target_kib = vm->memory_dynamic_max / 1024;
	ex.vcpus = vm->vcpus;
	ex.max_vcpus = vm->vcpu_max;
	/* what qemu boots: a reboot boots it again (apply_build_record) */
	ex.kernel = vm->kernel ? xstrdup(vm->kernel) : NULL;
	ex.ramdisk = vm->ramdisk ? xstrdup(vm->ramdisk) : NULL;
	ex.cmdline = vm->cmdline ? xstrdup(vm->cmdline) : NULL;
	xo_json_add_str(xo_extra_backend(&ex), "action_request", "poweroff");
	xo_json_add_str(xo_extra_backend(&ex), "accel", accel);
	if (xo_extra_save(vm->uuid, &ex, e) < 0)
		goto fail;
	remove_files(vm->uuid);
	kvm_path(vm->uuid, ".ev.in", path, sizeof(path));
	if (mkfifo(path, 0600) < 0) {
		xo_err_sys(e, errno, "unable to make '%s'", path);
		goto fail;
	}
	kvm_path(vm->uuid, ".ev.out", path, sizeof(path));
	int evfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (evfd < 0) {
		xo_err_sys(e, errno, "unable to make '%s'", path);
		goto fail;
	}
	close(evfd);
	if (build_argv(vm, accel, &a, e) < 0)
		goto fail;
	kvm_vm_path(vm->uuid, "qemu.log", path, sizeof(path));
	logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		xo_err_sys(e, errno, "unable to open '%s'", path);
		goto fail;
	}
	dprintf(logfd, "xo: starting vm %s with accel %s:", vm->name, accel);
	for (size_t i = 0; i < a.n; i++)
		dprintf(logfd, " %s", a.v[i]);
	dprintf(logfd, "\n");
	/* the socket's appearance wakes the wait below */
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	snprintf(path, sizeof(path), "%s/kvm", xo_state_dir());
	if (ino < 0 || inotify_add_watch(ino, path, IN_CREATE) < 0) {
		xo_err_sys(e, errno, "inotify on '%s'", path);
		goto fail;
	}
	if (xo_res_spawn(vm->uuid, "proc.qemu", &child, a.v, NULL, logfd, XO_SPAWN_DETACH, e) < 0)
		goto fail;
	kvm_path(vm->uuid, ".qmp", qmp, sizeof(qmp));
	struct start_wait sw = { vm->uuid, qmp, &child, NULL };
	struct xo_wait w = XO_WAIT_INIT;
	w.cond = start_cond;
	w.arg = &sw;
	w.drain = start_drain;
	w.fds[0] = ino;
	w.fds[1] = child.pidfd;
	w.timeout_ms = QEMU_START_TIMEOUT_MS;
	w.what = "qemu to start";
	w.cancel = &c->cancel;
	int r = xo_wait(&w, e);
	xo_child_close(&child);
	if (r < 0)
		goto fail_started;
	if (events_start(vm->uuid, e) < 0) {
		xo_qmp_close(sw.q);
		goto fail_started;
	}
	xo_qmp_close(sw.q);
	ex.domid = child.pid;
	kvm_path(vm->uuid, ".con", pty, sizeof(pty));
	xo_json_add_str(xo_extra_backend(&ex), "console", pty);
	if (xo_extra_save(vm->uuid, &ex, e) < 0)
		goto fail_started;
	/* qemu has allocated the memory: it shows in the host's free memory from now on */
	xo_memory_release(vm->uuid);
	close(ino);
	close(logfd);
	argv_free(&a);
	xo_extra_free(&ex);
	xo_updates_emit("vm", vm->uuid);
	return 0;
fail_started:
	/* qemu is recorded and marked: stop it now rather than leave it to check-state */
	xo_res_stop(vm->uuid, "proc.qemu", 0, &ignore);
fail:
	if (ino >= 0)
		close(ino);
	if (logfd >= 0)
		close(logfd);
	argv_free(&a);
	xo_extra_free(&ex);
	remove_files(vm->uuid);
	xo_memory_release(vm->uuid);
	xo_extra_remove(vm->uuid);
	return -1;
}

/* ---------------------------------------------------------------- power */

int kvm_set_action_request(struct xo_ctx *c, const char *request, xo_err *e)
{
	struct xo_extra ex;

	if (xo_extra_load(c->vm.uuid, &ex, e) < 0) {
		if (e->cls != XO_E_NOT_FOUND)
			return -1;
		if (!request)
			return xo_errf(e, XO_E_POWER_STATE, "vm %s is halted", c->vm.name);
		return 0;    /* nothing to mark: no instance */
	}
	int r;
	if (!request && !kvm_qemu_pid(c->vm.uuid))
		r = xo_errf(e, XO_E_POWER_STATE, "vm %s has no qemu: its start cannot complete",
			    c->vm.name);
	else {
		xo_json_add_str(xo_extra_backend(&ex), "action_request", request ? request : "");
		r = xo_extra_save(c->vm.uuid, &ex, e);
	}
	xo_extra_free(&ex);
	if (r == 0)
		xo_updates_emit("vm", c->vm.uuid);
	return r;
}

int kvm_vm_pause(struct xo_ctx *c, xo_err *e)
{
	if (kvm_command(&c->vm, "stop", NULL, NULL, e) < 0)
		return -1;
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

int kvm_vm_unpause(struct xo_ctx *c, xo_err *e)
{
	if (kvm_command(&c->vm, "cont", NULL, NULL, e) < 0)
		return -1;
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
}

off_t kvm_events_mark(const char *uuid)
{
	char path[PATH_MAX];
	struct stat st;

	kvm_path(uuid, ".ev.out", path, sizeof(path));
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* a wait on the VM's event record: new lines after pos, an inotify on the file, and a
 * pidfd on qemu (its end is the end of every wait) */
struct ev_wait {
	const char *uuid;
	const char *path;
	off_t pos;            /* what was read of the record */
	const char *device;   /* DEVICE_DELETED of this id; NULL: the guest's stop */
	int pidfd;
	bool done;
};

static void ev_line(struct ev_wait *w, const char *line, size_t len)
{
	struct json_object *m, *ev, *data, *dev;
	xo_err ignore;

	if (!(m = xo_json_parse(line, len, "qemu event", &ignore)))
		return;
	const char *name = json_object_object_get_ex(m, "event", &ev) ? json_object_get_string(ev) : "";
	if (!w->device && (strcmp(name, "SHUTDOWN") == 0 || strcmp(name, "GUEST_PANICKED") == 0))
		w->done = true;
	if (w->device && strcmp(name, "DEVICE_DELETED") == 0 &&
	    json_object_object_get_ex(m, "data", &data) &&
	    json_object_object_get_ex(data, "device", &dev) &&
	    strcmp(json_object_get_string(dev), w->device) == 0)
		w->done = true;
	json_object_put(m);
}

static int ev_cond(void *arg, xo_err *e)
{
	struct ev_wait *w = arg;
	char buf[8192];
	int fd = open(w->path, O_RDONLY | O_CLOEXEC);

	(void)e;
	if (fd >= 0) {
		ssize_t n;
		while (!w->done && (n = pread(fd, buf, sizeof(buf) - 1, w->pos)) > 0) {
			buf[n] = '\0';
			char *start = buf, *nl;
			/* complete lines only: a line being written is read again whole */
			while (!w->done && (nl = memchr(start, '\n', (size_t)(buf + n - start)))) {
				ev_line(w, start, (size_t)(nl - start + 1));
				start = nl + 1;
			}
			if (start == buf) {
				if (n == (ssize_t)sizeof(buf) - 1)
					w->pos += n;    /* a line longer than the buffer: no event of ours */
				break;
			}
			w->pos += start - buf;
		}
		close(fd);
	}
	if (w->done)
		return 1;
	/* qemu gone: the guest stopped (its devices with it) */
	return kvm_qemu_pid(w->uuid) ? 0 : 1;
}

static void ev_drain(void *arg, int fd)
{
	struct ev_wait *w = arg;

	if (fd != w->pidfd) {
		char buf[4096];
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	}
}

/* wait until the event record shows, after `from` (kvm_events_mark before the command),
 * what w->device says, or qemu is gone */
static int wait_event(const struct xo_ctx *c, off_t from, const char *device, int timeout_ms,
		      enum xo_ecls cls, const char *what, xo_err *e)
{
	char path[PATH_MAX];
	struct ev_wait ew = { c->vm.uuid, path, from, device, -1, false };
	struct xo_wait w = XO_WAIT_INIT;
	int pid = kvm_qemu_pid(c->vm.uuid);

	if (!pid)
		return 0;
	kvm_path(c->vm.uuid, ".ev.out", path, sizeof(path));
	int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino < 0 || inotify_add_watch(ino, path, IN_MODIFY) < 0) {
		int err = errno;
		if (ino >= 0)
			close(ino);
		return xo_err_sys(e, err, "inotify on '%s'", path);
	}
	ew.pidfd = pidfd_open(pid, 0);
	w.cond = ev_cond;
	w.arg = &ew;
	w.drain = ev_drain;
	w.fds[0] = ino;
	w.fds[1] = ew.pidfd;
	w.timeout_ms = timeout_ms;
	w.timeout_cls = cls;
	w.what = what;
	w.cancel = &c->cancel;
	int r = xo_wait(&w, e);
	if (ew.pidfd >= 0)
		close(ew.pidfd);
	close(ino);
	return r;
}

int kvm_wait_device_gone(const struct xo_ctx *c, off_t from, const char *id, int timeout_ms,
			 xo_err *e)
{
	char what[160];

	snprintf(what, sizeof(what), "the guest of vm %s to release device %s", c->vm.name, id);
	return wait_event(c, from, id, timeout_ms, XO_E_DEVICE_TIMEOUT, what, e);
}

int kvm_vm_shutdown(struct xo_ctx *c, const char *request, int timeout_ms, xo_err *e)
{
	struct xo_qmp *q;
	char st[32], what[128];

	if (strcmp(request, "suspend") == 0)
		return xo_errf(e, XO_E_UNIMPLEMENTED, "the kvm backend cannot suspend a guest");
	if (!kvm_qemu_pid(c->vm.uuid))
		return 0;
	if (kvm_connect(&c->vm, &q, e) < 0)
		return kvm_qemu_pid(c->vm.uuid) ? -1 : 0;
	if (kvm_status(q, st, sizeof(st), e) < 0)
		goto fail;
	if (strcmp(st, "shutdown") == 0 || strcmp(st, "guest-panicked") == 0) {
		xo_qmp_close(q);
		return 0;
	}
	/* ACPI's power button: a guest asked to reboot shuts down too, and the reboot's plan
	 * starts a new qemu (the toolstack decides, as on Xen). The wait is on the event
	 * record, not on this connection: qemu serves one QMP client at a time, and a stat
	 * meanwhile must not wait for the guest */
	off_t mark = kvm_events_mark(c->vm.uuid);
	if (xo_qmp_execute(q, "system_powerdown", NULL, NULL, KVM_QMP_TIMEOUT_MS, e) < 0)
		goto fail;
	xo_qmp_close(q);
	snprintf(what, sizeof(what), "vm %s to power off (ACPI)", c->vm.name);
	if (wait_event(c, mark, NULL, timeout_ms, XO_E_SHUTDOWN_TIMEOUT, what, e) < 0) {
		if (e->cls == XO_E_SHUTDOWN_TIMEOUT)
			xo_errf(e, XO_E_SHUTDOWN_TIMEOUT, "vm %s did not shut down within %d ms",
				c->vm.name, timeout_ms);
		return -1;
	}
	xo_updates_emit("vm", c->vm.uuid);
	return 0;
fail:
	xo_qmp_close(q);
	return -1;
}

int kvm_vm_destroy(struct xo_ctx *c, bool keep_build, xo_err *e)
{
	const char *uuid = c->vm.uuid;

	/* SIGTERM: qemu closes its images and exits; then its whole group, whatever holds the
	 * record. Its taps go with its descriptors */
	if (xo_res_stop(uuid, "proc.qemu", QEMU_QUIT_GRACE_MS, e) < 0)
		return -1;
	remove_files(uuid);
	xo_memory_release(uuid);
	xo_extra_domain_gone(uuid, keep_build, "console");
	xo_updates_emit("vm", uuid);
	return 0;
}
