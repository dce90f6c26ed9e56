/*
 * hooks.c: hook scripts (see hooks.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks.h"
#include "res.h"
#include "spawn.h"
#include "util.h"
#include "wait.h"

static const char *const hooks[] = { "vm-pre-start", "vm-pre-shutdown", "vm-post-destroy",
	"vm-pre-reboot", "vm-pre-migrate", "vm-post-migrate", "vm-pre-suspend", "vm-pre-resume",
	"vm-post-resume", NULL };

bool xo_hook_name_valid(const char *hook)
{
	for (const char *const *h = hooks; *h; h++)
		if (strcmp(*h, hook) == 0)
			return true;
	return false;
}

const char *xo_hook_dir(void)
{
	const char *s = getenv("XO_HOOK_DIR");
	return s && *s ? s : XO_SYSCONFDIR "/xo/hooks";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int child_done(void *arg, xo_err *e)
{
	(void)e;
	return xo_child_poll(arg) ? 1 : 0;
}

static int run_one(const char *hook, const char *path, const char *name,
		   const char *vm_uuid, const char *reason, int domid, const struct xo_cancel *c,
		   xo_err *e)
{
	struct xo_child child;
	char domid_s[16];
	char *argv[] = { (char *)path, "-vmuuid", (char *)vm_uuid, "-reason", (char *)reason,
			 domid >= 0 ? "-vmdomid" : NULL, domid_s, NULL };
	int r = 0;

	snprintf(domid_s, sizeof(domid_s), "%d", domid);
	/* recorded (res.h): a worker killed during a hook never leaves it behind the repair */
	if (xo_res_spawn(vm_uuid, "proc.hook", &child, argv, NULL, XO_SPAWN_CAPTURE,
			 XO_SPAWN_CLEAN_ENV, e) < 0)
		return -1;
	if (c && c->task[0]) {
		struct xo_wait w = XO_WAIT_INIT;
		w.cond = child_done;
		w.arg = &child;
		w.fds[0] = child.pidfd;
		w.what = "a hook script";
		w.cancel = c;
		if (xo_wait(&w, e) < 0) {
			xo_err ignore;
			xo_child_kill(&child);
			xo_child_close(&child);
			xo_res_stop(vm_uuid, "proc.hook", 0, &ignore);
			return -1;
		}
	}
	xo_child_wait(&child);
	char *out = xo_child_output(&child);
	int code = WIFEXITED(child.status) ? WEXITSTATUS(child.status) : -1;
	if (code == 1) {
		xo_warn("hook %s/%s exited 1 (continuing): %s", hook, name, out);
	} else if (code != 0) {
		char how[64];
		xo_child_describe(&child, how, sizeof(how));
		r = xo_errf(e, XO_E_HOOK, "hook %s/%s %s (reason %s): %s", hook, name, how, reason,
			    *out ? out : "(no output)");
	}
	free(out);
	xo_child_close(&child);
	xo_err ignore;
	xo_res_stop(vm_uuid, "proc.hook", 0, &ignore);
	return r;
}

int xo_hooks_run(const char *hook, const char *vm_uuid, const char *reason,
		 int domid, const struct xo_cancel *c, xo_err *e)
{
	char *dir = xasprintf("%s/%s", xo_hook_dir(), hook);
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int r = 0;

	if (!xo_hook_name_valid(hook)) {
		free(dir);
		return xo_errf(e, XO_E_INVALID, "unknown hook '%s'", hook);
	}
	if (!d) {
		int err = errno;
		free(dir);
		if (err == ENOENT || err == ENOTDIR)
			return 0;   /* no hooks */
		return xo_err_sys(e, err, "unable to read hook directory");
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(char *));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n && r == 0; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0) {
			char what[256];
			snprintf(what, sizeof(what), "'%s'", names[i]);
			if (c && xo_cancel_requested(c))
				r = xo_errf(e, XO_E_CANCELLED, "cancelled before hook %s/%s", hook, names[i]);
			else if (xo_path_trusted(path, what, XO_E_HOOK, e) < 0)
				r = -1;    /* StrictModes: root runs only what only root can change */
			else
				r = run_one(hook, path, names[i], vm_uuid, reason, domid, c, e);
		}
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return r;
}
