/*
 * xf-boot.c: a PV or PVH guest's bootloader (pygrub), as libxl runs it.
 *
 * A VM with a bootloader and no kernel boots what the bootloader finds on its
 * first disk (the lowest index with a file): the bootloader reads the disk's
 * grub, extlinux or lilo configuration, copies the chosen entry's kernel and
 * initrd into VM/<uuid>/bootloader/ and writes what it chose to
 * VM/<uuid>/bootloader/result, entries separated by NUL ("kernel PATH",
 * "ramdisk PATH", "args TEXT": pygrub's --output-format=simple0). The build
 * loads them, then xf_boot_clean() removes the directory. The bootloader is
 * a recorded process (proc.bootloader) and the directory is removed again by
 * the VM's teardown (a destroy, check-state), so a kill at any moment leaves
 * neither behind.
 *
 * What the bootloader returns comes from the guest's disk, so it is not
 * trusted: the kernel and ramdisk must be files in that directory (no
 * symlinks), the command line at most 1024 bytes of printable text. Its
 * output goes to VM/<uuid>/bootloader.log, whose last line a failure quotes.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "res.h"
#include "state.h"
#include "util.h"
#include "xf.h"

#define BOOT_TIMEOUT_MS 120000
#define CMDLINE_MAX 1024

/* "pygrub": $XO_PYGRUB, else Debian's (xen-utils); any other bootloader is its path */
static char *program(const char *bl)
{
	const char *env = getenv("XO_PYGRUB");
	glob_t g;
	char *p = NULL;

	if (strcmp(bl, "pygrub") != 0)
		return xstrdup(bl);
	if (env && *env)
		return xstrdup(env);
	if (glob("/usr/lib/xen-*/bin/pygrub", 0, NULL, &g) == 0 && g.gl_pathc)
		p = xstrdup(g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return p ? p : xstrdup("/usr/bin/pygrub");
}

static char *boot_dir(const char *uuid)
{
	return xasprintf("%s/VM/%s/bootloader", xo_state_dir(), uuid);
}

void xf_boot_clean(const char *uuid)
{
	char rel[96];
	int fd = xo_state_fd();

	snprintf(rel, sizeof(rel), "VM/%s/bootloader", uuid);
	if (fd >= 0)
		xo_rmtree(fd, rel);
}

void xf_boot_free(struct xf_boot *b)
{
	free(b->kernel);
	free(b->ramdisk);
	free(b->args);
	memset(b, 0, sizeof(*b));
}

/* the disk the bootloader reads: the lowest index with a file */
static const struct xo_vbd *boot_disk(const struct xo_devices *d)
{
	const struct xo_vbd *best = NULL;

	for (size_t i = 0; d && i < d->n_vbd; i++) {
		const struct xo_vbd *v = &d->vbd[i];
		if (v->type != XO_VBD_DISK || !v->backend[0])
			continue;
		if (!best || xo_vbd_disk_index(v->name) < xo_vbd_disk_index(best->name))
			best = v;
	}
	return best;
}

/* a file the bootloader made in dir: a regular file right in it */
static int own_file(const char *dir, const char *path, const char *what, xo_err *e)
{
	size_t n = strlen(dir);
	struct stat st;

	if (strncmp(path, dir, n) != 0 || path[n] != '/' || strchr(path + n + 1, '/') ||
	    lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return xo_errf(e, XO_E_INVALID, "the bootloader's %s '%s' is not a file it made in %s",
			       what, path, dir);
	return 0;
}

static int parse(const char *dir, const char *buf, size_t len, struct xf_boot *b, xo_err *e)
{
	for (size_t i = 0; i < len;) {
		const char *s = buf + i;
		size_t n = strnlen(s, len - i);
		char **to = NULL;
		const char *v = NULL;
		if (strncmp(s, "kernel ", 7) == 0)
			to = &b->kernel, v = s + 7;
		else if (strncmp(s, "ramdisk ", 8) == 0)
			to = &b->ramdisk, v = s + 8;
		else if (strncmp(s, "args ", 5) == 0)
			to = &b->args, v = s + 5;
		if (to) {
			free(*to);
			*to = xstrndup(v, n - (size_t)(v - s));
		}
		i += n + 1;
	}
	if (!b->kernel)
		return xo_errf(e, XO_E_INVALID, "the bootloader chose no kernel");
	if (own_file(dir, b->kernel, "kernel", e) < 0 ||
	    (b->ramdisk && own_file(dir, b->ramdisk, "ramdisk", e) < 0))
		return -1;
	if (b->args) {
		if (strlen(b->args) > CMDLINE_MAX)
			return xo_errf(e, XO_E_INVALID, "the bootloader's command line is longer than %d bytes",
				       CMDLINE_MAX);
		for (const char *c = b->args; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return xo_errf(e, XO_E_INVALID,
					       "the bootloader's command line has a control character");
	}
	return 0;
}

int xf_boot_run(struct xo_ctx *c, struct xf_boot *b, xo_err *e)
{
	const struct xo_vm *vm = &c->vm;
	const struct xo_vbd *disk = boot_disk(c->devices_broken ? NULL : &c->d);
	char *prog = NULL, *dir = NULL, *log = NULL, *result = NULL, *out = NULL, *argsdup = NULL;
	char *odir = NULL;
	char **argv = NULL, *buf = NULL, why[512], tail[256];
	size_t n = 0, len = 0;
	struct xo_child child;
	int logfd = -1, r = -1;

	memset(b, 0, sizeof(*b));
	if (!disk)
		return xo_errf(e, XO_E_INVALID, "vm %s boots with bootloader %s and has no disk for it to read",
			       vm->name, vm->bootloader);
	prog = program(vm->bootloader);
	if (access(prog, X_OK) < 0) {
		xo_err_sys(e, errno, "bootloader '%s' cannot run%s", prog,
			   strcmp(vm->bootloader, "pygrub") == 0 ? " (install xen-utils)" : "");
		goto out;
	}
	dir = boot_dir(vm->uuid);
	xf_boot_clean(vm->uuid);
	if (mkdir(dir, 0700) < 0) {
		xo_err_sys(e, errno, "mkdir %s", dir);
		goto out;
	}
	log = xasprintf("%s/VM/%s/bootloader.log", xo_state_dir(), vm->uuid);
	result = xasprintf("%s/result", dir);
	out = xasprintf("--output=%s", result);
	argv = xcalloc(8 + (vm->bootloader_args ? strlen(vm->bootloader_args) : 0), sizeof(*argv));
	argv[n++] = prog;
	argv[n++] = "--quiet";
	argv[n++] = out;
	argv[n++] = "--output-format=simple0";
	odir = xasprintf("--output-directory=%s", dir);
	argv[n++] = odir;
	if (vm->bootloader_args) {
		argsdup = xstrdup(vm->bootloader_args);
		for (char *sp, *t = strtok_r(argsdup, " \t", &sp); t; t = strtok_r(NULL, " \t", &sp))
			argv[n++] = t;
	}
	argv[n++] = disk->backend;
	argv[n] = NULL;
	/* pygrub opens its --output without O_CREAT: the file must be there (libxl makes it too) */
	int rfd = open(result, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (rfd < 0) {
		xo_err_sys(e, errno, "create %s", result);
		goto out;
	}
	close(rfd);
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (logfd < 0) {
		xo_err_sys(e, errno, "open %s", log);
		goto out;
	}
	if (xo_res_spawn(vm->uuid, "proc.bootloader", &child, argv, NULL, logfd, 0, e) < 0)
		goto out;
	if (xo_child_wait_ms(&child, BOOT_TIMEOUT_MS) < 0) {
		xo_errf(e, XO_E_TIMEOUT, "bootloader %s did not finish in %d s", prog, BOOT_TIMEOUT_MS / 1000);
		xo_child_close(&child);
		goto out_release;
	}
	if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != 0) {
		xo_child_describe(&child, why, sizeof(why));
		xo_file_last_line(log, tail, sizeof(tail));
		xo_errf(e, XO_E_INVALID, "bootloader %s found nothing to boot on %s (it %s%s%s)", prog,
			disk->backend, why, tail[0] ? ": " : "", tail);
		xo_child_close(&child);
		goto out_release;
	}
	xo_child_close(&child);
	int fd = open(result, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || xo_read_all_max(fd, 65536, &buf, &len) < 0) {
		xo_err_sys(e, errno, "bootloader %s wrote no result (%s)", prog, result);
		if (fd >= 0)
			close(fd);
		goto out_release;
	}
	close(fd);
	r = parse(dir, buf, len, b, e);
out_release:
	xo_res_release(vm->uuid, "proc.bootloader", &(xo_err){ 0 });
out:
	if (r < 0) {
		xf_boot_free(b);
		xf_boot_clean(vm->uuid);
	}
	if (logfd >= 0)
		close(logfd);
	free(argsdup);
	free(odir);
	free(argv);
	free(buf);
	free(out);
	free(result);
	free(log);
	free(dir);
	free(prog);
	return r;
}
