/*
 * guest.c: the simulated guests.
 *
 * A guest boots the first time its domain is unpaused: it prints a few
 * boot lines to $XO_STATE_DIR/sim/console/<vm-uuid>.log (one per VM, as
 * xenconsoled keeps guest-<name>.log: every boot of the VM appends to it;
 * past SIM_CONSOLE_MAX bytes it becomes <vm-uuid>.log.1, replacing the one
 * before, so a console never grows without bound), advertises the
 * shutdown features Linux writes (control/feature-poweroff, -reboot,
 * -suspend) and watches its control/shutdown key, as Linux's
 * drivers/xen/manage.c does. Every unpause (and every switch change) lets
 * its frontends connect (dom0.c) and looks at control/shutdown again, since
 * a paused guest cannot act on a request until it runs.
 *
 * A request ("poweroff", "halt", "reboot", "suspend") is acknowledged by
 * writing "" to the key, then the guest shuts down with the reason (0, 0,
 * 1, 2); for a poweroff, halt or reboot it first closes its connected
 * frontends, as Linux's xenbus_dev_shutdown() does. Unknown requests are
 * acknowledged and ignored. With ignore-shutdown on, requests are neither
 * acknowledged nor obeyed (a guest without PV drivers).
 *
 * One-shot actions (xo-simd ctl DOMID ACTION): reboot and halt are
 * guest-initiated clean shutdowns (reason 1, 0) and need a running guest;
 * crash (3) and watchdog (4) work on a paused domain too (a crash on the
 * way to a pause, a watchdog the hypervisor fires).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "sim.h"

struct sim_guest {
	struct sim_dom *d;
	struct sim_watch *watch;
	struct sim_task task;
	uint64_t boot_ns;
	bool booted;
};

struct sim_who sim_guest_who(uint32_t domid)
{
	struct sim_who w = { domid, false, -1 };
	return w;
}

static void console(struct sim_guest *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void console(struct sim_guest *g, const char *fmt, ...)
{
	char rel[64], line[1024];
	uint64_t t = g->boot_ns ? xo_now_ns() - g->boot_ns : 0;
	va_list ap;
	int fd, n;
	char *path;

	char uuid[XO_UUID_LEN + 1];
	struct stat st;
	xo_uuid_format(g->d->uuid, uuid);
	snprintf(rel, sizeof(rel), "console/%s.log", uuid);
	path = sim_path(rel);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size >= SIM_CONSOLE_MAX) {
		/* the daemon is the only writer: rotate, and write to a new one */
		char *old = xasprintf("%s.1", path);
		close(fd);
		if (rename(path, old) < 0)
			sim_log("unable to rotate '%s': %s", path, strerror(errno));
		free(old);
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	}
	free(path);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "[%5llu.%06llu] ", (unsigned long long)(t / 1000000000),
		     (unsigned long long)(t / 1000 % 1000000));
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (xo_write_all(fd, line, (size_t)n) < 0)
		sim_log("console of domain %u: %s", g->d->domid, strerror(errno));
	close(fd);
}

static void clean_shutdown(struct sim_guest *g, unsigned reason)
{
	static const char *const last[] = { "reboot: Power down", "reboot: Restarting system",
					    "PM: suspend entry (xen)" };

	if (reason != XO_SHUTDOWN_SUSPEND)
		sim_dom0_guest_closing(g->d->domid);
	console(g, "%s", last[reason < 3 ? reason : 0]);
	sim_hv_guest_shutdown(g->d, reason);
}

static void check_request(struct sim_task *t)
{
	struct sim_guest *g = (struct sim_guest *)((char *)t - offsetof(struct sim_guest, task));
	struct sim_who w = sim_guest_who(g->d->domid);
	char path[64], *req;
	int reason;

	if (!sim_dom_running(g->d) || g->d->ignore_shutdown)
		return;
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", g->d->domid);
	req = sim_xs_read(&w, path);
	if (!req || !*req) {
		free(req);
		return;
	}
	if (!strcmp(req, "poweroff") || !strcmp(req, "halt"))
		reason = XO_SHUTDOWN_POWEROFF;
	else if (!strcmp(req, "reboot"))
		reason = XO_SHUTDOWN_REBOOT;
	else if (!strcmp(req, "suspend"))
		reason = XO_SHUTDOWN_SUSPEND;
	else
		reason = -1;
	if (sim_xs_write(&w, path, "") == 0) {
		if (reason < 0)
			console(g, "Ignoring shutdown request: %s", req);
		else {
			console(g, "xen:manage: shutdown request '%s' acknowledged", req);
			clean_shutdown(g, (unsigned)reason);
		}
	}
	free(req);
}

static void on_shutdown_key(void *arg, const char *path)
{
	(void)path;
	sim_task_schedule(&((struct sim_guest *)arg)->task);
}

static void boot(struct sim_guest *g)
{
	struct sim_dom *d = g->d;
	struct sim_who w = sim_guest_who(d->domid);
	char path[96];

	g->booted = true;
	g->boot_ns = xo_now_ns();
	console(g, "Linux version 6.1.0-xo-sim (xo-simd) #1 SMP PREEMPT_DYNAMIC");
	console(g, "Command line: %s", d->cmdline ? d->cmdline : "");
	console(g, "Booting paravirtualized kernel on Xen %s", d->hvm ? "HVM" : "PV");
	console(g, "Memory: %lluK available, %u vcpus", (unsigned long long)d->mem_kib, d->vcpus);
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", d->domid);
	g->watch = sim_watch_add(path, on_shutdown_key, g);
	if (!d->ignore_shutdown) {
		static const char *const features[] = { "feature-poweroff", "feature-reboot",
							"feature-suspend" };
		for (size_t i = 0; i < XO_ARRAY_SIZE(features); i++) {
			snprintf(path, sizeof(path), "/local/domain/%u/control/%s", d->domid, features[i]);
			if (sim_st_write(&w, NULL, path, "1", 1))
				break;          /* no writable control/ directory: as Linux, carry on */
		}
	}
	console(g, "Run /sbin/init as init process");
}

void sim_guest_unpaused(struct sim_dom *d)
{
	struct sim_guest *g = d->guest;

	if (!g) {
		g = d->guest = xcalloc(1, sizeof(*g));
		g->d = d;
		sim_task_init(&g->task, check_request);
	}
	if (!g->booted)
		boot(g);
	sim_dom0_kick(d->domid);
	sim_task_schedule(&g->task);
}

void sim_guest_switched(struct sim_dom *d)
{
	sim_dom0_kick(d->domid);
	if (d->guest)
		sim_task_schedule(&d->guest->task);
}

void sim_guest_destroyed(struct sim_dom *d)
{
	struct sim_guest *g = d->guest;

	if (!g)
		return;
	sim_task_cancel(&g->task);
	sim_watch_del(g->watch);
	free(g);
	d->guest = NULL;
}

int sim_guest_action(struct sim_dom *d, const char *action, xo_err *e)
{
	struct sim_guest *g = d->guest;

	if (strcmp(action, "reboot") && strcmp(action, "halt") && strcmp(action, "crash") &&
	    strcmp(action, "watchdog"))
		return xo_errf(e, XO_E_INVALID, "unknown action '%s': expected reboot, halt, crash or "
			       "watchdog", action);
	if (d->shutdown)
		return xo_errf(e, XO_E_POWER_STATE, "domain %u has already shut down (%s)", d->domid,
			       sim_shutdown_reason_name(d->shutdown_reason));
	if (!strcmp(action, "reboot") || !strcmp(action, "halt")) {
		if (!sim_dom_running(d) || !g)
			return xo_errf(e, XO_E_POWER_STATE, "domain %u is not running: a guest that "
				       "does not run cannot %s itself", d->domid, action);
		clean_shutdown(g, action[0] == 'r' ? XO_SHUTDOWN_REBOOT : XO_SHUTDOWN_POWEROFF);
		return 0;
	}
	if (!d->built)
		return xo_errf(e, XO_E_NOT_BUILT, "domain %u is not built", d->domid);
	if (g) {
		if (action[0] == 'c')
			console(g, "Kernel panic - not syncing: xo-simd: crash requested");
		else
			console(g, "watchdog: watchdog0: watchdog did not stop!");
	}
	sim_hv_guest_shutdown(d, action[0] == 'c' ? XO_SHUTDOWN_CRASH : XO_SHUTDOWN_WATCHDOG);
	return 0;
}
