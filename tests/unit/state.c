/*
 * tests/unit/state.c: the state directory's primitives (lib/state.c) in a
 * temporary XO_STATE_DIR: atomic writes (replace, exclusive create, nothing
 * left behind), reads, VM references by uuid and by name.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"
#include "util.h"

#include "tap.h"

/* the entries of a directory, sorted, joined with spaces */
static char *entries(int dirfd)
{
	struct xo_buf b = XO_BUF_INIT;
	char **names = NULL;
	size_t n = 0;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
	DIR *d = fdopendir(fd);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	for (size_t i = 0; i < n; i++) {
		xo_buf_printf(&b, "%s%s", i ? " " : "", names[i]);
		free(names[i]);
	}
	free(names);
	return xo_buf_detach(&b);
}

int main(void)
{
	char tmpl[] = "/tmp/xo-unit-state.XXXXXX";
	char *dir = mkdtemp(tmpl), *s, *text;
	char uuid[XO_UUID_LEN + 1], got[XO_UUID_LEN + 1];
	size_t len;
	xo_err e;
	int sfd;

	if (!dir) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	char *state = xasprintf("%s/state", dir);
	setenv("XO_STATE_DIR", state, 1);

	sfd = xo_state_open(&e);
	ok(sfd >= 0, "xo_state_open creates a missing state directory");
	ok(xo_state_open(&e) == sfd, "and opens it once");
	s = entries(sfd);
	is_str(s, "VM name pool sim staging tasks updates", "with its layout");
	free(s);

	ok(xo_atomic_write(sfd, "f", "one\n", 4, 0, &e) == 0, "an atomic write creates a file");
	ok(xo_read_file(sfd, "f", &text, &len, &e) == 0 && len == 4 && strcmp(text, "one\n") == 0,
	   "and it reads back");
	free(text);
	ok(xo_atomic_write(sfd, "f", "two", 3, 0, &e) == 0, "an atomic write replaces a file");
	ok(xo_read_file(sfd, "f", &text, &len, &e) == 0 && strcmp(text, "two") == 0, "with the new content");
	free(text);
	xo_err_clear(&e);
	ok(xo_atomic_write(sfd, "f", "three", 5, XO_WRITE_EXCL, &e) < 0 && e.cls == XO_E_EXISTS,
	   "an exclusive write of an existing file fails with already_exists");
	ok(xo_read_file(sfd, "f", &text, &len, &e) == 0 && strcmp(text, "two") == 0,
	   "and leaves the old content");
	free(text);
	ok(xo_atomic_write(sfd, "g", "x", 1, XO_WRITE_EXCL | XO_WRITE_DIRSYNC, &e) == 0,
	   "an exclusive write of a new file works");
	s = entries(sfd);
	is_str(s, "VM f g name pool sim staging tasks updates", "no temporary file is left behind");
	free(s);
	struct stat st;
	ok(fstatat(sfd, "f", &st, 0) == 0 && (st.st_mode & 0777) == 0644, "files are 0644");

	xo_err_clear(&e);
	ok(xo_read_file(sfd, "none", &text, &len, &e) < 0 && e.cls == XO_E_NOT_FOUND,
	   "reading a missing file is does_not_exist");
	ok(xo_unlink(sfd, "none", &e) == 0, "unlinking a missing file is fine");
	ok(xo_unlink(sfd, "g", &e) == 0 && faccessat(sfd, "g", F_OK, 0) < 0, "unlink removes a file");

	/* a VM by hand: VM/<uuid>/config and name/<name> */
	xo_uuid_generate(uuid);
	char *vmdir = xasprintf("VM/%s", uuid), *link = xasprintf("../VM/%s", uuid);
	ok(mkdirat(sfd, vmdir, 0755) == 0, "a vm directory");
	int vfd = openat(sfd, vmdir, O_RDONLY | O_DIRECTORY);
	ok(xo_atomic_write(vfd, "config", "{}", 2, 0, &e) == 0 && symlinkat(link, sfd, "name/web1") == 0,
	   "with a config and a name");
	ok(xo_vm_resolve(uuid, got, &e) == 0 && strcmp(got, uuid) == 0, "a vm resolves by uuid");
	ok(xo_vm_resolve("web1", got, &e) == 0 && strcmp(got, uuid) == 0, "and by name");
	xo_err_clear(&e);
	ok(xo_vm_resolve("web2", got, &e) < 0 && e.cls == XO_E_NOT_FOUND, "an unknown name is does_not_exist");
	xo_err_clear(&e);
	ok(xo_vm_resolve("../VM", got, &e) < 0 && e.cls == XO_E_NOT_FOUND, "a path is not a name");
	ok(xo_vm_dir_alive(vfd, uuid), "the vm is alive while its config exists");
	int lk = xo_vm_lock(uuid, false, &e);
	ok(lk >= 0, "the vm lock can be taken");
	pid_t pid = fork();
	if (pid == 0) {
		xo_err ce;
		int r = xo_vm_lock(uuid, false, &ce);
		_exit(r < 0 && ce.cls == XO_E_BUSY ? 0 : 1);
	}
	int wst;
	waitpid(pid, &wst, 0);
	ok(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "another process finds it busy");
	close(lk);
	unlinkat(vfd, "config", 0);
	ok(!xo_vm_dir_alive(vfd, uuid), "and is gone once the config is");
	xo_err_clear(&e);
	ok(xo_vm_resolve("web1", got, &e) < 0 && e.cls == XO_E_NOT_FOUND,
	   "a name whose vm has no config is does_not_exist");
	close(vfd);

	ok(xo_rmtree(AT_FDCWD, dir) == 0 && access(dir, F_OK) < 0, "xo_rmtree removes a tree");
	free(vmdir);
	free(link);
	free(state);
	return tap_done();
}
