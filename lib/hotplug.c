/*
 * hotplug.c: hotplug scripts (see hotplug.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotplug.h"
#include "res.h"
#include "state.h"
#include "util.h"

/* builtin unless said otherwise: the fast path is the default */
static const char *mode(void)
{
	const char *s = getenv("XO_HOTPLUG");
	return s && *s ? s : "builtin";
}

int xo_hotplug_check(xo_err *e)
{
	const char *m = mode();
	if (strcmp(m, "builtin") != 0 && strcmp(m, "xo") != 0 && strcmp(m, "udev") != 0)
		return xo_errf(e, XO_E_USAGE, "invalid XO_HOTPLUG '%s': expected builtin, xo or udev",
			       m);
	return 0;
}

bool xo_hotplug_by_xo(void)
{
	return strcmp(mode(), "udev") != 0;
}

bool xo_hotplug_builtin_on(void)
{
	return strcmp(mode(), "builtin") == 0;
}

/* VM/<uuid>/hotplug.log, never through a symlink (root appends to it); one that grew
 * past XO_HOTPLUG_LOG_MAX becomes hotplug.log.1, replacing the one before, under the
 * log's flock so that two openers rotate it once */
int xo_hotplug_log_open(const char *uuid)
{
	char name[96], old[100];
	struct stat st, now;

	snprintf(name, sizeof(name), "VM/%s/hotplug.log", uuid);
	snprintf(old, sizeof(old), "%s.1", name);
	for (int tries = 0; tries < 4; tries++) {
		int fd = openat(xo_state_fd(), name,
				O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (st.st_size < XO_HOTPLUG_LOG_MAX)
			return fd;
		while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
		/* still the file at that name (nobody rotated it meanwhile)? */
		if (fstatat(xo_state_fd(), name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_ino == st.st_ino && now.st_dev == st.st_dev &&
		    renameat(xo_state_fd(), name, xo_state_fd(), old) < 0) {
			flock(fd, LOCK_UN);
			return fd;     /* cannot rotate: a long log beats none */
		}
		close(fd);
	}
	return -1;
}

static bool own_script(const char *script)
{
	const char *dir = xo_script_dir();
	size_t n = strlen(dir);
	return strncmp(script, dir, n) == 0 && script[n] == '/' &&
	       (strcmp(script + n + 1, "block") == 0 || strcmp(script + n + 1, "vif") == 0);
}

const char *xo_script_dir(void)
{
	const char *s = getenv("XO_SCRIPT_DIR");
	return s && *s ? s : XO_LIBEXECDIR;
}

int xo_hotplug_timeout_ms(void)
{
	const char *s = getenv("XO_HOTPLUG_TIMEOUT");
	double v;
	if (s && xo_parse_seconds(s, &v) == 0)
		return (int)(v * 1000);
	return 300 * 1000;
}

int xo_hotplug_spawn(const char *uuid, const char *script, const char *kind, uint32_t fe,
		     long devid, const char *action, struct xo_child *c, xo_err *e)
{
	char xbpath[96], xbtype[48], scriptenv[1100], vifenv[48];
	char *env[8];
	char *argv[4];
	int n = 0, logfd;
	bool vif = strcmp(kind, "vif") == 0;

	/* a device's own script runs as root: StrictModes, each time */
	if (!own_script(script)) {
		char what[64];
		snprintf(what, sizeof(what), "the %s script", vif ? "vif" : "vbd");
		if (xo_path_trusted(script, what, XO_E_HOTPLUG, e) < 0)
			return -1;
	}
	snprintf(xbpath, sizeof(xbpath), "XENBUS_PATH=backend/%s/%u/%ld", kind, fe, devid);
	snprintf(xbtype, sizeof(xbtype), "XENBUS_TYPE=%s", kind);
	snprintf(scriptenv, sizeof(scriptenv), "script=%s", script);
	env[n++] = xbpath;
	env[n++] = xbtype;
	env[n++] = "XENBUS_BASE_PATH=backend";
	env[n++] = scriptenv;
	if (vif) {
		snprintf(vifenv, sizeof(vifenv), "vif=vif%u.%ld", fe, devid);
		env[n++] = vifenv;
	}
	env[n] = NULL;
	argv[0] = (char *)script;
	argv[1] = (char *)action;
	argv[2] = vif ? "type_if=vif" : NULL;
	argv[3] = NULL;
	logfd = xo_hotplug_log_open(uuid);
	char id[XO_RES_ID_MAX + 1];
	snprintf(id, sizeof(id), "proc.hotplug.%s.%ld", kind, devid);
	int r = xo_res_spawn(uuid, id, c, argv, env, logfd >= 0 ? logfd : XO_SPAWN_NULL, 0, e);
	if (logfd >= 0)
		close(logfd);
	if (r < 0)
		xo_err_wrap(e, "hotplug script");
	return r;
}

void xo_hotplug_done(const char *uuid, const char *kind, long devid, struct xo_child *c)
{
	char id[XO_RES_ID_MAX + 1];
	xo_err ignore;

	xo_child_close(c);
	snprintf(id, sizeof(id), "proc.hotplug.%s.%ld", kind, devid);
	/* what the script may have left running goes with it */
	xo_res_stop(uuid, id, 0, &ignore);
}
