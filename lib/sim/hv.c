/*
 * hv.c: the simulated hypervisor and its control socket, hv.sock.
 *
 * Domains live in a table indexed by domid. Domain 0 exists from the
 * start (Domain-0, running, its memory outside the guest pool). A new
 * domain gets the next free domid after the last one given (1, 2, 3...,
 * wrapping below DOMID_FIRST_RESERVED), so a domid is never given while in
 * use and not soon reused. Host memory is a pool of --memory KiB: build
 * takes the domain's initial target from it, destroy gives it back.
 *
 * States as Xen has them: created (not built, paused), paused, running,
 * shut down with a reason (SHUTDOWN_* codes), and gone. A shutdown, by the
 * toolstack or by the guest, tells xenstored, which fires @releaseDomain
 * once for an introduced domain (VIRQ_DOM_EXC in the real one); destroy
 * kills the device model, releases PCI devices and memory, then xenstored
 * drops the domain's connections, removes the nodes it owned and fires
 * @releaseDomain (when it was introduced).
 *
 * hv.sock speaks the protocol of lib/hvproto.h: a request line, a reply.
 *
 * Verbs (domid=N names the domain; sizes are KiB):
 *
 *   hello                                   -> ok version=1 pid=P
 *   create uuid=U hvm=0|1 hap=0|1 iommu=0|1 max_vcpus=N max_memory_kib=K
 *          [max_grant_frames=N max_maptrack_frames=N]      -> ok domid=N
 *   build domid=N type=pv|pvh|hvm max_kib=K target_kib=K vcpus=N
 *          max_vcpus=N [cmdline=S]
 *          -> ok store_port=P console_port=P store_mfn=F console_mfn=F
 *   pause|unpause|destroy domid=N           -> ok
 *   shutdown domid=N reason=R               -> ok
 *   info domid=N                            -> ok <domain record>
 *   list                                    -> ok count=N, a record per line
 *   maxmem domid=N kib=K                    -> ok
 *   host                                    -> ok total_kib=K free_kib=K cpus=N
 *   dm-start domid=N type=T [name=S uuid=U] -> ok pid=P, once the device
 *                                           model process reports ready and
 *                                           device-model/N/state = running
 *   dm-stop domid=N                         -> ok
 *   pci-assign|pci-deassign domid=N bdf=DDDD:BB:DD.F        -> ok
 *   switch domid=N name=ignore-shutdown|refuse-unplug|hotplug-fail
 *          value=on|off|query               -> ok name=on|off
 *   action domid=N name=reboot|halt|crash|watchdog          -> ok
 *   show domid=N                            -> ok count=N, "key value" lines
 *   quit                                    -> ok, then the daemon exits
 *
 * A domain record: domid uuid hvm built paused running shutdown dying
 * reason memory_kib max_memory_kib vcpus max_vcpus cpu_ns (all key=value,
 * booleans 0|1).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "hvproto.h"
#include "sim.h"

#define DOM0_MEMORY_KIB (1024 * 1024)

struct pcidev {
	struct pcidev *next;
	char bdf[16];
	uint32_t domid;
};

struct hvconn {
	int fd;
	struct sim_fd *reg;
	struct hvconn *next, *prev;
	struct xo_buf in, out;
	size_t outoff;
	bool epollout, waiting, quit;
};

/* a device model on its way up: the request is answered when it is ready */
struct dmwait {
	struct sim_dom *d;
	struct hvconn *conn;
	int fd;
	struct sim_fd *reg;
	pid_t pid;
};

static struct sim_dom *doms[SIM_DOMID_MAX];
static uint32_t last_domid;
static uint64_t used_kib;
static uint64_t next_frame = 0x100000;
static struct pcidev *pcidevs;
static int lis_fd = -1;
static struct sim_fd *lis_reg;
static struct hvconn *hvconns;
static struct dmwait *dmwaits[SIM_DOMID_MAX];

static void hv_process(struct hvconn *c);
static bool hvconn_flush(struct hvconn *c);

static int arg_u64(const struct xo_hv_req *a, const char *key, bool need, uint64_t def, uint64_t *out,
		   xo_err *e)
{
	const char *s = xo_hv_arg(a, key);

	if (!s) {
		if (need)
			return xo_errf(e, XO_E_INVALID, "missing argument '%s'", key);
		*out = def;
		return 0;
	}
	if (xo_parse_u64(s, out) < 0)
		return xo_errf(e, XO_E_INVALID, "invalid %s '%s': expected a number", key, s);
	return 0;
}

static int arg_bool(const struct xo_hv_req *a, const char *key, bool *out, xo_err *e)
{
	uint64_t v;

	*out = false;
	if (arg_u64(a, key, false, 0, &v, e) < 0)
		return -1;
	if (v > 1)
		return xo_errf(e, XO_E_INVALID, "invalid %s: expected 0 or 1", key);
	*out = v;
	return 0;
}

/* ---- domains ------------------------------------------------------------------------------ */

struct sim_dom *sim_hv_dom(uint32_t domid)
{
	return domid < SIM_DOMID_MAX ? doms[domid] : NULL;
}

bool sim_dom_running(const struct sim_dom *d)
{
	return d && d->built && !d->paused && !d->shutdown;
}

const char *sim_shutdown_reason_name(unsigned reason)
{
	static const char *const names[] = { "poweroff", "reboot", "suspend", "crash", "watchdog",
					     "soft_reset" };
	return reason < XO_ARRAY_SIZE(names) ? names[reason] : "unknown";
}

static uint64_t cpu_ns(const struct sim_dom *d)
{
	return d->cpu_ns + (d->running_since_ns ? xo_now_ns() - d->running_since_ns : 0);
}

static void stop_clock(struct sim_dom *d)
{
	if (d->running_since_ns) {
		d->cpu_ns += xo_now_ns() - d->running_since_ns;
		d->running_since_ns = 0;
	}
}

static int dom_get(const struct xo_hv_req *a, struct sim_dom **out, xo_err *e)
{
	uint64_t id;

	if (arg_u64(a, "domid", true, 0, &id, e) < 0)
		return -1;
	if (id >= SIM_DOMID_MAX || !doms[id])
		return xo_errf(e, XO_E_NOT_FOUND, "domain %llu does not exist", (unsigned long long)id);
	*out = doms[id];
	return 0;
}

static int not_dom0(const struct sim_dom *d, const char *what, xo_err *e)
{
	if (d->domid == 0)
		return xo_errf(e, XO_E_INVALID, "refusing to %s domain 0", what);
	return 0;
}

static void record(const struct sim_dom *d, struct xo_buf *out)
{
	char uuid[XO_UUID_LEN + 1];

	xo_uuid_format(d->uuid, uuid);
	xo_buf_printf(out, "domid=%u uuid=%s hvm=%d built=%d paused=%d running=%d shutdown=%d "
		      "dying=0 reason=%u memory_kib=%llu max_memory_kib=%llu vcpus=%u max_vcpus=%u "
		      "cpu_ns=%llu",
		      d->domid, uuid, d->hvm, d->built, d->paused, sim_dom_running(d), d->shutdown,
		      d->shutdown ? d->shutdown_reason : 0, (unsigned long long)d->mem_kib,
		      (unsigned long long)d->max_kib, d->vcpus, d->max_vcpus,
		      (unsigned long long)cpu_ns(d));
}

static int op_create(const struct xo_hv_req *a, struct xo_buf *out, xo_err *e)
{
	uint64_t vcpus, maxkib, grant, maptrack;
	const char *u = xo_hv_arg(a, "uuid");
	struct sim_dom *d;
	uint8_t uuid[16];
	bool hvm = false, hap = false, iommu = false;
	uint32_t id;

	if (!u || xo_uuid_parse(u, uuid) < 0)
		return xo_errf(e, XO_E_INVALID, "invalid or missing uuid");
	if (arg_bool(a, "hvm", &hvm, e) < 0 || arg_bool(a, "hap", &hap, e) < 0 ||
	    arg_bool(a, "iommu", &iommu, e) < 0 ||
	    arg_u64(a, "max_vcpus", true, 0, &vcpus, e) < 0 ||
	    arg_u64(a, "max_memory_kib", true, 0, &maxkib, e) < 0 ||
	    arg_u64(a, "max_grant_frames", false, 64, &grant, e) < 0 ||
	    arg_u64(a, "max_maptrack_frames", false, 1024, &maptrack, e) < 0)
		return -1;
	if (vcpus == 0 || vcpus > 128)
		return xo_errf(e, XO_E_INVALID, "invalid max vcpus %llu: expected 1 to 128",
			       (unsigned long long)vcpus);
	if (maxkib == 0)
		return xo_errf(e, XO_E_INVALID, "invalid max memory 0");
	id = last_domid;
	for (unsigned tries = 0;; tries++) {
		if (tries == SIM_DOMID_MAX)
			return xo_errf(e, XO_E_NO_MEMORY, "no free domid: %u domains exist",
				       SIM_DOMID_MAX - 1);
		id = id + 1 >= SIM_DOMID_MAX ? 1 : id + 1;
		if (!doms[id])
			break;
	}
	d = xcalloc(1, sizeof(*d));
	d->domid = id;
	memcpy(d->uuid, uuid, 16);
	d->hvm = hvm;
	d->hap = hap;
	d->iommu = iommu;
	d->paused = true;
	d->max_vcpus = (unsigned)vcpus;
	d->max_kib = maxkib;
	doms[id] = d;
	last_domid = id;
	xo_buf_printf(out, "ok domid=%u", id);
	return 0;
}

static int op_build(const struct xo_hv_req *a, struct xo_buf *out, xo_err *e)
{
	uint64_t maxkib, target, vcpus, maxv, pages;
	const char *type = xo_hv_arg(a, "type"), *cmdline = xo_hv_arg(a, "cmdline");
	struct sim_dom *d;
	bool hvm;

	if (dom_get(a, &d, e) < 0 || not_dom0(d, "build", e) < 0)
		return -1;
	if (!type || (strcmp(type, "pv") && strcmp(type, "pvh") && strcmp(type, "hvm")))
		return xo_errf(e, XO_E_INVALID, "invalid or missing type: expected pv, pvh or hvm");
	if (arg_u64(a, "max_kib", true, 0, &maxkib, e) < 0 ||
	    arg_u64(a, "target_kib", true, 0, &target, e) < 0 ||
	    arg_u64(a, "vcpus", true, 0, &vcpus, e) < 0 ||
	    arg_u64(a, "max_vcpus", false, d->max_vcpus, &maxv, e) < 0)
		return -1;
	hvm = strcmp(type, "pv") != 0;
	if (hvm != d->hvm)
		return xo_errf(e, XO_E_INVALID, "domain %u was created as a%s domain, not for %s",
			       d->domid, d->hvm ? "n hvm or pvh" : " pv", type);
	if (d->built)
		return xo_errf(e, XO_E_INVALID, "domain %u is already built", d->domid);
	if (d->shutdown)
		return xo_errf(e, XO_E_POWER_STATE, "domain %u has shut down", d->domid);
	if (target == 0 || target > maxkib)
		return xo_errf(e, XO_E_INVALID, "invalid memory target %llu KiB (maximum %llu KiB)",
			       (unsigned long long)target, (unsigned long long)maxkib);
	if (target > d->max_kib)
		return xo_errf(e, XO_E_INVALID,
			       "memory target %llu KiB above the domain's maximum %llu KiB",
			       (unsigned long long)target, (unsigned long long)d->max_kib);
	if (vcpus == 0 || vcpus > maxv || maxv > d->max_vcpus)
		return xo_errf(e, XO_E_INVALID, "invalid vcpus %llu/%llu: the domain allows %u",
			       (unsigned long long)vcpus, (unsigned long long)maxv, d->max_vcpus);
	if (target > sim_cfg.memory_kib - used_kib)
		return xo_errf(e, XO_E_NO_MEMORY,
			       "not enough free host memory: domain %u needs %llu KiB, the host has "
			       "%llu KiB free of %llu KiB",
			       d->domid, (unsigned long long)target,
			       (unsigned long long)(sim_cfg.memory_kib - used_kib),
			       (unsigned long long)sim_cfg.memory_kib);
	used_kib += target;
	d->mem_kib = target;
	d->vcpus = (unsigned)vcpus;
	d->built = true;
	free(d->cmdline);
	d->cmdline = cmdline ? xstrdup(cmdline) : NULL;
	d->store_port = 1;
	d->console_port = 2;
	pages = target / 4;
	if (hvm) {
		d->store_mfn = 0xfeffc;
		d->console_mfn = 0xfeffd;
	} else {
		d->store_mfn = next_frame + pages - 2;
		d->console_mfn = next_frame + pages - 1;
	}
	next_frame += pages + 1;
	xo_buf_printf(out, "ok store_port=%u console_port=%u store_mfn=%llu console_mfn=%llu",
		      d->store_port, d->console_port, (unsigned long long)d->store_mfn,
		      (unsigned long long)d->console_mfn);
	return 0;
}

static int op_pause(struct sim_dom *d, bool pause, xo_err *e)
{
	if (not_dom0(d, pause ? "pause" : "unpause", e) < 0)
		return -1;
	if (pause) {
		if (!d->paused) {
			d->paused = true;
			stop_clock(d);
		}
		return 0;
	}
	if (!d->built)
		return xo_errf(e, XO_E_NOT_BUILT, "domain %u is not built", d->domid);
	if (d->shutdown)
		return xo_errf(e, XO_E_POWER_STATE, "domain %u has shut down (%s)", d->domid,
			       sim_shutdown_reason_name(d->shutdown_reason));
	if (!d->paused)
		return 0;
	d->paused = false;
	d->running_since_ns = xo_now_ns();
	sim_guest_unpaused(d);
	return 0;
}

static void do_shutdown(struct sim_dom *d, unsigned reason, const char *who)
{
	if (d->shutdown)
		return;
	stop_clock(d);
	d->shutdown = true;
	d->shutdown_reason = reason;
	sim_log("domain %u shut down by the %s: %s", d->domid, who, sim_shutdown_reason_name(reason));
	sim_xs_domain_shutdown(d->domid);
}

void sim_hv_guest_shutdown(struct sim_dom *d, unsigned reason)
{
	do_shutdown(d, reason, "guest");
}

static void dmwait_end(struct dmwait *w, const char *reply)
{
	if (w->conn) {
		xo_buf_puts(&w->conn->out, reply);
		xo_buf_add(&w->conn->out, "\n", 1);
		w->conn->waiting = false;
		hv_process(w->conn);
		hvconn_flush(w->conn);
	}
	dmwaits[w->d->domid] = NULL;
	sim_loop_del(w->reg);
	close(w->fd);
	free(w);
}

static void dm_kill(struct sim_dom *d)
{
	if (dmwaits[d->domid]) {
		char msg[128];
		snprintf(msg, sizeof(msg), "error internal_error the device model of domain %u was "
			 "stopped while starting", d->domid);
		dmwait_end(dmwaits[d->domid], msg);
	}
	if (d->dm_pid > 0) {
		sim_child_forget(d);
		kill(d->dm_pid, SIGKILL);
		sim_log("device model of domain %u (pid %d) stopped", d->domid, (int)d->dm_pid);
		d->dm_pid = 0;
	}
}

static void domain_destroy(struct sim_dom *d)
{
	dm_kill(d);
	for (struct pcidev **pp = &pcidevs; *pp;) {
		if ((*pp)->domid == d->domid) {
			struct pcidev *p = *pp;
			*pp = p->next;
			free(p);
		} else {
			pp = &(*pp)->next;
		}
	}
	stop_clock(d);
	used_kib -= d->mem_kib;
	sim_guest_destroyed(d);
	doms[d->domid] = NULL;
	sim_log("domain %u destroyed", d->domid);
	sim_xs_domain_destroyed(d->domid);
	free(d->name);
	free(d->cmdline);
	free(d);
}

static void dm_exited(void *arg, pid_t pid, int status)
{
	struct sim_dom *d = arg;

	(void)status;
	sim_log("device model of domain %u (pid %d) exited", d->domid, (int)pid);
	if (d->dm_pid == pid)
		d->dm_pid = 0;
}

static void on_dm_ready(void *arg, uint32_t events)
{
	struct dmwait *w = arg;
	struct sim_dom *d = w->d;
	char buf[16], reply[160];
	ssize_t n;

	(void)events;
	n = read(w->fd, buf, sizeof(buf) - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && strncmp(buf, "ready", 5) == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/local/domain/0/device-model/%u/state", d->domid);
		sim_xs_write(&sim_dom0, path, "running");
		sim_log("device model of domain %u started (pid %d)", d->domid, (int)w->pid);
		snprintf(reply, sizeof(reply), "ok pid=%d", (int)w->pid);
	} else {
		sim_log("device model of domain %u (pid %d) died while starting", d->domid, (int)w->pid);
		snprintf(reply, sizeof(reply), "error internal_error the device model of domain %u "
			 "died while starting: see '%s/simd.log'", d->domid, sim_cfg.dir);
	}
	dmwait_end(w, reply);
}

/* fork the device model; the reply waits for it to say "ready" on a pipe */
static int op_dm_start(struct sim_dom *d, const struct xo_hv_req *a, struct hvconn *c, xo_err *e)
{
	const char *name = xo_hv_arg(a, "name");
	struct dmwait *w;
	char domid[16];
	int pfd[2];
	pid_t pid;

	if (not_dom0(d, "start a device model for", e) < 0)
		return -1;
	if (d->dm_pid > 0)
		return xo_errf(e, XO_E_EXISTS, "the device model of domain %u already runs (pid %d)",
			       d->domid, (int)d->dm_pid);
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
		return xo_err_sys(e, errno, "unable to create a pipe");
	snprintf(domid, sizeof(domid), "%u", d->domid);
	pid = sim_fork(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return xo_err_sys(e, errno, "unable to fork a device model");
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/proc/self/exe", "xo-simd", "dm-process", domid, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	d->dm_pid = pid;
	if (name) {
		free(d->name);
		d->name = xstrdup(name);
	}
	sim_child_watch(pid, dm_exited, d);
	w = xcalloc(1, sizeof(*w));
	w->d = d;
	w->conn = c;
	w->fd = pfd[0];
	w->pid = pid;
	w->reg = sim_loop_add(pfd[0], EPOLLIN, on_dm_ready, w);
	dmwaits[d->domid] = w;
	c->waiting = true;
	return 0;
}

/* "0000:03:00.0" from "0000:03:00.0" or "03:00.0" */
static int bdf_norm(const char *s, char out[16], xo_err *e)
{
	unsigned dom = 0, bus, dev, fn;
	int n = 0;

	if (!s)
		return xo_errf(e, XO_E_INVALID, "missing argument 'bdf'");
	if (sscanf(s, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &n) != 4 || s[n] != '\0' ||
	    strlen(s) != 12) {
		n = 0;
		dom = 0;
		if (sscanf(s, "%2x:%2x.%1x%n", &bus, &dev, &fn, &n) != 3 || s[n] != '\0' ||
		    strlen(s) != 7)
			return xo_errf(e, XO_E_INVALID,
				       "invalid pci address '%s': expected DDDD:BB:DD.F", s);
	}
	if (dev > 0x1f || fn > 7)
		return xo_errf(e, XO_E_INVALID, "invalid pci address '%s': device above 1f or function "
			       "above 7", s);
	snprintf(out, 16, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

static int op_pci(struct sim_dom *d, const struct xo_hv_req *a, bool assign, xo_err *e)
{
	char bdf[16];
	struct pcidev **pp, *p;

	if (bdf_norm(xo_hv_arg(a, "bdf"), bdf, e) < 0 || not_dom0(d, "pass a device through to", e) < 0)
		return -1;
	for (pp = &pcidevs; (p = *pp) && strcmp(p->bdf, bdf); pp = &p->next)
		;
	if (assign) {
		if (p && p->domid != d->domid)
			return xo_errf(e, XO_E_IN_USE, "pci device %s is assigned to domain %u", bdf,
				       p->domid);
		if (!p) {
			p = xcalloc(1, sizeof(*p));
			memcpy(p->bdf, bdf, sizeof(p->bdf));
			p->domid = d->domid;
			p->next = pcidevs;
			pcidevs = p;
			sim_log("pci device %s assigned to domain %u", bdf, d->domid);
		}
		return 0;
	}
	if (!p || p->domid != d->domid)
		return xo_errf(e, XO_E_NOT_FOUND, "pci device %s is not assigned to domain %u", bdf,
			       d->domid);
	*pp = p->next;
	free(p);
	sim_log("pci device %s released by domain %u", bdf, d->domid);
	return 0;
}

static int op_switch(struct sim_dom *d, const struct xo_hv_req *a, struct xo_buf *out, xo_err *e)
{
	const char *name = xo_hv_arg(a, "name"), *value = xo_hv_arg(a, "value");
	bool *sw;

	if (!name)
		return xo_errf(e, XO_E_INVALID, "missing switch name");
	if (strcmp(name, "ignore-shutdown") == 0)
		sw = &d->ignore_shutdown;
	else if (strcmp(name, "refuse-unplug") == 0)
		sw = &d->refuse_unplug;
	else if (strcmp(name, "hotplug-fail") == 0)
		sw = &d->hotplug_fail;
	else
		return xo_errf(e, XO_E_INVALID, "unknown switch '%s': expected ignore-shutdown, "
			       "refuse-unplug or hotplug-fail", name);
	if (not_dom0(d, "set switches on", e) < 0)
		return -1;
	if (!value || strcmp(value, "query") == 0) {
		xo_buf_printf(out, "ok %s=%s", name, *sw ? "on" : "off");
		return 0;
	}
	bool v;
	if (xo_parse_bool(value, "switch value", &v, e) < 0)
		return -1;
	if (*sw != v) {
		*sw = v;
		sim_log("domain %u: %s %s", d->domid, name, v ? "on" : "off");
		sim_guest_switched(d);
	}
	xo_buf_printf(out, "ok %s=%s", name, v ? "on" : "off");
	return 0;
}

static void show(const struct sim_dom *d, struct xo_buf *out)
{
	struct xo_buf body = XO_BUF_INIT;
	char uuid[XO_UUID_LEN + 1];
	unsigned lines = 0;
	const char *state;

	xo_uuid_format(d->uuid, uuid);
	state = d->shutdown ? "shutdown" : !d->built ? "created" : d->paused ? "paused" : "running";
	xo_buf_printf(&body, "domid %u\n", d->domid);
	xo_buf_printf(&body, "uuid %s\n", uuid);
	xo_buf_printf(&body, "type %s\n", d->hvm ? "hvm" : "pv");
	if (d->shutdown)
		xo_buf_printf(&body, "state shutdown %s\n", sim_shutdown_reason_name(d->shutdown_reason));
	else
		xo_buf_printf(&body, "state %s\n", state);
	xo_buf_printf(&body, "memory %llu KiB (maximum %llu KiB)\n", (unsigned long long)d->mem_kib,
		      (unsigned long long)d->max_kib);
	xo_buf_printf(&body, "vcpus %u (maximum %u)\n", d->vcpus, d->max_vcpus);
	xo_buf_printf(&body, "introduced %s\n", d->domid == 0 || sim_xs_introduced(d->domid) ? "yes" : "no");
	if (d->domid) {
		xo_buf_printf(&body, "ignore-shutdown %s\n", d->ignore_shutdown ? "on" : "off");
		xo_buf_printf(&body, "refuse-unplug %s\n", d->refuse_unplug ? "on" : "off");
		xo_buf_printf(&body, "hotplug-fail %s\n", d->hotplug_fail ? "on" : "off");
	}
	if (d->dm_pid > 0)
		xo_buf_printf(&body, "device-model pid %d\n", (int)d->dm_pid);
	for (struct pcidev *p = pcidevs; p; p = p->next)
		if (p->domid == d->domid)
			xo_buf_printf(&body, "pci %s\n", p->bdf);
	sim_dom0_describe(d->domid, &body);
	for (size_t i = 0; i < body.len; i++)
		lines += body.s[i] == '\n';
	xo_buf_printf(out, "ok count=%u\n%s", lines, body.s ? body.s : "");
	if (out->len && out->s[out->len - 1] == '\n')
		out->s[--out->len] = '\0';
	xo_buf_free(&body);
}

/* handle one request line; the reply (without the final newline) goes to out */
static void handle(struct hvconn *c, char *line, struct xo_buf *out)
{
	struct xo_hv_req a;
	struct sim_dom *d = NULL;
	const char *verb;
	xo_err e = { 0 };
	int r = 0;

	if (xo_hv_parse(line, &a, &e) < 0)
		goto fail;
	verb = a.verb;

	if (strcmp(verb, "hello") == 0) {
		xo_buf_printf(out, "ok version=1 pid=%d", (int)getpid());
		return;
	}
	if (strcmp(verb, "quit") == 0) {
		xo_buf_puts(out, "ok");
		c->quit = true;
		return;
	}
	if (strcmp(verb, "create") == 0) {
		r = op_create(&a, out, &e);
		goto done;
	}
	if (strcmp(verb, "host") == 0) {
		unsigned n = sim_cfg.cpus;
		xo_buf_printf(out, "ok total_kib=%llu free_kib=%llu cpus=%u",
			      (unsigned long long)sim_cfg.memory_kib,
			      (unsigned long long)(sim_cfg.memory_kib - used_kib), n);
		return;
	}
	if (strcmp(verb, "list") == 0) {
		struct xo_buf body = XO_BUF_INIT;
		unsigned n = 0;
		for (uint32_t i = 0; i < SIM_DOMID_MAX; i++)
			if (doms[i]) {
				xo_buf_puts(&body, "\n");
				record(doms[i], &body);
				n++;
			}
		xo_buf_printf(out, "ok count=%u%s", n, body.s ? body.s : "");
		xo_buf_free(&body);
		return;
	}
	if (strcmp(verb, "build") == 0) {
		r = op_build(&a, out, &e);
		goto done;
	}
	if (dom_get(&a, &d, &e) < 0)
		goto fail;
	if (strcmp(verb, "info") == 0) {
		xo_buf_puts(out, "ok ");
		record(d, out);
	} else if (strcmp(verb, "pause") == 0 || strcmp(verb, "unpause") == 0) {
		r = op_pause(d, verb[0] == 'p', &e);
	} else if (strcmp(verb, "shutdown") == 0) {
		uint64_t reason;
		r = arg_u64(&a, "reason", true, 0, &reason, &e);
		if (!r && reason > XO_SHUTDOWN_SOFT_RESET)
			r = xo_errf(&e, XO_E_INVALID, "invalid shutdown reason %llu",
				    (unsigned long long)reason);
		if (!r)
			r = not_dom0(d, "shut down", &e);
		if (!r)
			do_shutdown(d, (unsigned)reason, "toolstack");
	} else if (strcmp(verb, "destroy") == 0) {
		r = not_dom0(d, "destroy", &e);
		if (!r)
			domain_destroy(d);
	} else if (strcmp(verb, "maxmem") == 0) {
		uint64_t kib;
		r = arg_u64(&a, "kib", true, 0, &kib, &e);
		if (!r && kib == 0)
			r = xo_errf(&e, XO_E_INVALID, "invalid maximum memory 0");
		if (!r)
			d->max_kib = kib;
	} else if (strcmp(verb, "dm-start") == 0) {
		r = op_dm_start(d, &a, c, &e);
		if (r == 0)
			return;         /* the reply comes when the device model is ready */
	} else if (strcmp(verb, "dm-stop") == 0) {
		if (d->dm_pid <= 0)
			r = xo_errf(&e, XO_E_NOT_FOUND, "domain %u has no device model", d->domid);
		else
			dm_kill(d);
	} else if (strcmp(verb, "pci-assign") == 0 || strcmp(verb, "pci-deassign") == 0) {
		r = op_pci(d, &a, strcmp(verb, "pci-assign") == 0, &e);
	} else if (strcmp(verb, "switch") == 0) {
		r = op_switch(d, &a, out, &e);
	} else if (strcmp(verb, "action") == 0) {
		const char *name = xo_hv_arg(&a, "name");
		r = not_dom0(d, "act on", &e);
		if (!r)
			r = sim_guest_action(d, name ? name : "", &e);
	} else if (strcmp(verb, "show") == 0) {
		show(d, out);
	} else {
		r = xo_errf(&e, XO_E_INVALID, "unknown request '%s'", verb);
	}
done:
	if (r == 0) {
		if (out->len == 0)
			xo_buf_puts(out, "ok");
		return;
	}
fail:
	xo_buf_reset(out);
	for (char *p = e.msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
	xo_buf_printf(out, "error %s %s", xo_ecls_name(e.cls), e.msg);
}

/* ---- the socket --------------------------------------------------------------------------- */

static void hvconn_free(struct hvconn *c)
{
	for (uint32_t i = 0; c->waiting && i < SIM_DOMID_MAX; i++)
		if (dmwaits[i] && dmwaits[i]->conn == c)
			dmwaits[i]->conn = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		hvconns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sim_loop_del(c->reg);
	close(c->fd);
	xo_buf_free(&c->in);
	xo_buf_free(&c->out);
	free(c);
}

static bool hvconn_flush(struct hvconn *c)
{
	while (c->outoff < c->out.len) {
		ssize_t n = send(c->fd, c->out.s + c->outoff, c->out.len - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->epollout) {
				c->epollout = true;
				sim_loop_mod(c->reg, EPOLLIN | EPOLLOUT);
			}
			return true;
		}
		if (n < 0)
			return false;
		c->outoff += (size_t)n;
	}
	xo_buf_reset(&c->out);
	c->outoff = 0;
	if (c->epollout) {
		c->epollout = false;
		sim_loop_mod(c->reg, EPOLLIN);
	}
	return true;
}

/* answer the complete lines read so far, unless a reply is pending */
static void hv_process(struct hvconn *c)
{
	size_t off = 0;
	char *nl;

	while (!c->waiting && c->in.len > off && (nl = memchr(c->in.s + off, '\n', c->in.len - off))) {
		struct xo_buf reply = XO_BUF_INIT;
		*nl = '\0';
		handle(c, c->in.s + off, &reply);
		if (!c->waiting || reply.len) {
			xo_buf_add(&c->out, reply.s ? reply.s : "", reply.len);
			xo_buf_add(&c->out, "\n", 1);
		}
		xo_buf_free(&reply);
		off = (size_t)(nl - c->in.s) + 1;
	}
	if (off) {
		memmove(c->in.s, c->in.s + off, c->in.len - off);
		c->in.len -= off;
		c->in.s[c->in.len] = '\0';
	}
}

static void on_hvconn(void *arg, uint32_t events)
{
	struct hvconn *c = arg;
	char buf[8192];

	if ((events & EPOLLOUT) && !hvconn_flush(c)) {
		hvconn_free(c);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			hvconn_free(c);
			return;
		}
		xo_buf_add(&c->in, buf, (size_t)n);
		if (c->in.len > 1u << 20) {
			sim_log("hv.sock: a request line longer than 1 MiB: closing the connection");
			hvconn_free(c);
			return;
		}
	}
	hv_process(c);
	if (!hvconn_flush(c)) {
		hvconn_free(c);
		return;
	}
	if (c->quit) {
		sim_log("quit requested on hv.sock");
		sim_loop_quit();
	}
}

static void on_hv_accept(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	for (;;) {
		int fd = accept4(lis_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				sim_loop_starved(lis_reg, "hv.sock", errno);
			else if (errno == EAGAIN)
				sim_loop_accepted(lis_reg, "hv.sock");
			else
				sim_log("accept on 'hv.sock' failed: %s", strerror(errno));
			return;
		}
		struct hvconn *c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->reg = sim_loop_add(fd, EPOLLIN, on_hvconn, c);
		if (!c->reg) {
			close(fd);
			free(c);
			continue;
		}
		c->next = hvconns;
		if (hvconns)
			hvconns->prev = c;
		hvconns = c;
	}
}

int sim_hv_init(xo_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sim_dom *d0 = xcalloc(1, sizeof(*d0));
	char *path = sim_path("hv.sock");

	d0->built = true;
	d0->max_vcpus = d0->vcpus = sim_cfg.cpus;
	d0->mem_kib = d0->max_kib = DOM0_MEMORY_KIB;
	d0->running_since_ns = xo_now_ns();
	d0->name = xstrdup("Domain-0");
	doms[0] = d0;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		xo_errf(e, XO_E_INVALID, "socket path '%s' is too long (limit %zu bytes)", path,
			sizeof(sa.sun_path) - 1);
		free(path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	lis_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lis_fd < 0) {
		free(path);
		return xo_err_sys(e, errno, "unable to create a socket");
	}
	unlink(path);
	if (bind(lis_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lis_fd, 128) < 0) {
		xo_err_sys(e, errno, "unable to listen on '%s'", path);
		free(path);
		return -1;
	}
	free(path);
	lis_reg = sim_loop_add(lis_fd, EPOLLIN, on_hv_accept, NULL);
	if (!lis_reg)
		return xo_err_sys(e, errno, "unable to watch hv.sock");
	return 0;
}

void sim_hv_fini(void)
{
	char *path = sim_path("hv.sock");

	while (hvconns)
		hvconn_free(hvconns);
	if (lis_reg)
		sim_loop_del(lis_reg);
	if (lis_fd >= 0)
		close(lis_fd);
	unlink(path);
	free(path);
	for (uint32_t i = 1; i < SIM_DOMID_MAX; i++)
		if (doms[i])
			dm_kill(doms[i]);
}
