/*
 * daemon.c: xo-simd start, stop and status; the daemon's life.
 *
 * $XO_STATE_DIR/sim/lock is the simulator's existence: the daemon holds an
 * exclusive flock on it for its whole life (the kernel drops it when the
 * process dies, however it dies), and writes its pid into it for people.
 * start refuses when the lock is held; status tries a shared lock; stop
 * asks the daemon to quit over hv.sock and then waits for the lock, so it
 * returns once the daemon is gone. Domains must not outlive it unseen (a
 * VM's loop devices and taps are real): stop refuses while any domain but
 * dom0 exists and names them; stop --force first runs xo-vm-destroy for
 * each domain that is a VM of this state directory (its devices released
 * through xo's own path) and destroys the others directly. Concurrent starts (two xo commands
 * autostarting the simulator at once) are serialised by start.lock: the
 * second waits until the first daemon is ready, then finds it running.
 *
 * start daemonizes: fork, setsid, fork; the daemon's stdin and stdout are
 * /dev/null, stderr is sim/simd.log, every other descriptor is closed (a
 * test's fd 3 included). simd.log rotates at 1 MiB: it becomes simd.log.1,
 * the one before is gone. The guests' consoles (console/<vm-uuid>.log,
 * one per VM) rotate at SIM_CONSOLE_MAX the same way. The daemon opens its
 * sockets, then writes "ready" on a pipe to the waiting start command, which exits 0 only then: when
 * start returns, the sockets accept connections.
 *
 * On SIGTERM, SIGINT, SIGHUP or a quit request (whatever the starter
 * ignored: the dispositions are reset) the daemon kills device models and
 * running hotplug scripts, removes the network devices it created and its
 * sockets, reaps its children and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hvproto.h"
#include "sim.h"
#include "spawn.h"
#include "state.h"

#ifndef XO_LIBEXECDIR
#define XO_LIBEXECDIR "/usr/local/libexec/xo"
#endif

#define DEFAULT_MEMORY (16ULL << 30)
#define DEFAULT_OUTPUT_MAX (64u << 20)
#define LOG_MAX (1u << 20)

struct sim_config sim_cfg;

/* simd.log past sim_cfg.log_max: it becomes simd.log.1 (replacing the
 * previous one) and a new simd.log takes standard error */
static void log_rotate(void)
{
	char *log = sim_path("simd.log"), *old = sim_path("simd.log.1");
	struct stat st;

	if (fstat(2, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= sim_cfg.log_max &&
	    rename(log, old) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
	}
	free(log);
	free(old);
}

void sim_log(const char *fmt, ...)
{
	char line[2048], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	if (sim_cfg.log_max)
		log_rotate();

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ld xo-simd[%d]: ", ts, now.tv_nsec / 1000000,
		     (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0) {
		/* nowhere else to say it */
	}
}

char *sim_path(const char *rel)
{
	return xasprintf("%s/%s", sim_cfg.dir, rel);
}

char *sim_dir_for_state(const char *state_dir, xo_err *e)
{
	char real[PATH_MAX], *dir;
	struct sockaddr_un sa;
	size_t longest;

	if (!realpath(state_dir, real)) {
		xo_err_sys(e, errno, "unable to resolve state directory '%s'", state_dir);
		return NULL;
	}
	dir = xasprintf("%s/sim", real);
	longest = strlen(dir) + strlen("/domain/32751.sock");
	if (longest >= sizeof(sa.sun_path)) {
		xo_errf(e, XO_E_INVALID,
			"state directory '%s' is too deep for the simulator's unix sockets: "
			"'%s/domain/32751.sock' needs %zu bytes, the limit is %zu",
			real, dir, longest + 1, sizeof(sa.sun_path));
		free(dir);
		return NULL;
	}
	return dir;
}

/* the simulator's directory; without create, a missing state directory
 * means the simulator does not run (stop, status and ctl create nothing) */
static char *sim_dir(bool create, xo_err *e)
{
	const char *state = getenv("XO_STATE_DIR");
	struct stat st;

	if (create) {
		if (xo_state_open(e) < 0)
			return NULL;
		return sim_dir_for_state(xo_state_dir(), e);
	}
	if (!state || !*state)
		state = XO_DEFAULT_STATE_DIR;
	if (stat(state, &st) < 0 && errno == ENOENT) {
		xo_errf(e, XO_E_NOT_FOUND, "the simulator does not run in '%s/sim'", state);
		return NULL;
	}
	return sim_dir_for_state(state, e);
}

char *sim_dir_existing(xo_err *e)
{
	return sim_dir(false, e);
}

static pid_t lock_pid(int fd)
{
	char buf[32] = { 0 };
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v;

	if (n <= 0)
		return 0;
	v = strtol(buf, NULL, 10);
	return v > 0 && v < INT_MAX ? (pid_t)v : 0;
}

/* ---- the daemon ---------------------------------------------------------------------------- */

static void ready_msg(int fd, const char *msg)
{
	if (fd >= 0 && xo_write_all(fd, msg, strlen(msg)) < 0) {
		/* the starter is gone; nothing to tell */
	}
}

static int daemon_init(xo_err *e)
{
	struct sim_perm p0 = { 0, SIM_PERM_NONE };
	struct rlimit rl;
	char *console;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* the VMs' consoles (one each, kept across daemons, as xenconsoled's logs) */
	console = sim_path("console");
	if (mkdir(console, 0755) < 0 && errno != EEXIST) {
		xo_err_sys(e, errno, "unable to create '%s'", console);
		free(console);
		return -1;
	}
	free(console);
	if (sim_loop_init(e) < 0)
		return -1;
	sim_store_init();
	/* what the C xenstored and xencommons create */
	if (sim_xs_mkdir_perms("/tool/xenstored", &p0, 1) ||
	    sim_xs_mkdir_perms("/local/domain/0", &p0, 1) ||
	    sim_xs_write(&sim_dom0, "/local/domain/0/name", "Domain-0") ||
	    sim_xs_write(&sim_dom0, "/local/domain/0/domid", "0"))
		return xo_errf(e, XO_E_INTERNAL, "unable to create the initial xenstore tree");
	if (sim_xs_init(e) < 0 || sim_hv_init(e) < 0 || sim_dom0_init(e) < 0)
		return -1;
	return 0;
}

static int daemon_run(int lockfd, int readyfd)
{
	char pid[32];
	xo_err e = { 0 };
	int n;

	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(lockfd, 0) < 0 || pwrite(lockfd, pid, (size_t)n, 0) != n)
		sim_log("warning: unable to write the pid into the lock file: %s", strerror(errno));
	if (daemon_init(&e) < 0) {
		char msg[1100];
		sim_log("unable to start: %s", e.msg);
		snprintf(msg, sizeof(msg), "error %s\n", e.msg);
		ready_msg(readyfd, msg);
		return XO_EXIT_SYSTEM;
	}
	sim_log("started: host memory %llu KiB, %u cpus, state '%s'",
		(unsigned long long)sim_cfg.memory_kib, sim_cfg.cpus, sim_cfg.dir);
	ready_msg(readyfd, "ready\n");
	if (readyfd > 2)
		close(readyfd);
	sim_loop_run();
	sim_dom0_fini();
	sim_hv_fini();
	sim_xs_fini();
	while (waitpid(-1, NULL, 0) > 0)
		;
	sim_loop_fini();
	sim_log("stopped");
	return 0;
}

/* ---- start ---------------------------------------------------------------------------------- */

static int open_lock(const char *dir, const char *name, bool create, xo_err *e)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);

	if (fd < 0 && (create || errno != ENOENT))
		xo_err_sys(e, errno, "unable to open '%s'", path);
	else if (fd < 0)
		xo_errf(e, XO_E_NOT_FOUND, "the simulator does not run in '%s'", dir);
	free(path);
	return fd;
}

int sim_start(const struct sim_start_opts *o, xo_err *e)
{
	uint64_t mem = o->memory_bytes;
	const char *env;
	int startfd = -1, lockfd = -1, pfd[2] = { -1, -1 }, r = -1;
	pid_t pid;
	char *log = NULL;

	if (!mem && (env = getenv("XO_SIM_MEMORY")) && *env) {
		if (xo_parse_size(env, &mem) < 0)
			return xo_errf(e, XO_E_USAGE, "invalid XO_SIM_MEMORY '%s': expected a size such "
				       "as 512M or 2G", env);
	}
	if (!mem)
		mem = DEFAULT_MEMORY;
	if (mem < (1 << 20))
		return xo_errf(e, XO_E_USAGE, "host memory of %llu bytes is too small (at least 1M)",
			       (unsigned long long)mem);
	sim_cfg.memory_kib = mem / 1024;
	sim_cfg.cpus = o->cpus ? o->cpus : 4;
	sim_cfg.output_max = o->output_max ? (size_t)o->output_max : DEFAULT_OUTPUT_MAX;
	env = getenv("XO_SCRIPT_DIR");
	sim_cfg.script_dir = xstrdup(env && *env ? env : XO_LIBEXECDIR);
	sim_cfg.root = geteuid() == 0;
	if (!(sim_cfg.dir = sim_dir(true, e)))
		return -1;
	if (mkdir(sim_cfg.dir, 0755) < 0 && errno != EEXIST)
		return xo_err_sys(e, errno, "unable to create '%s'", sim_cfg.dir);

	if ((startfd = open_lock(sim_cfg.dir, "start.lock", true, e)) < 0)
		return -1;
	while (flock(startfd, LOCK_EX) < 0)
		if (errno != EINTR) {
			xo_err_sys(e, errno, "unable to lock '%s/start.lock'", sim_cfg.dir);
			goto out;
		}
	if ((lockfd = open_lock(sim_cfg.dir, "lock", true, e)) < 0)
		goto out;
	if (flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			xo_errf(e, XO_E_EXISTS, "the simulator already runs in '%s' (pid %d)", sim_cfg.dir,
				(int)lock_pid(lockfd));
		else
			xo_err_sys(e, errno, "unable to lock '%s/lock'", sim_cfg.dir);
		goto out;
	}
	if (o->foreground) {
		close(startfd);
		startfd = -1;
		r = daemon_run(lockfd, -1) == 0 ? 0 : xo_errf(e, XO_E_SYSTEM, "the simulator failed");
		goto out;
	}
	log = sim_path("simd.log");
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		xo_err_sys(e, errno, "unable to create a pipe");
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		xo_err_sys(e, errno, "unable to fork");
		goto out;
	}
	if (pid == 0) {
		int nul, logfd;
		setsid();
		if (fork() != 0)
			_exit(0);
		/* the daemon: descriptors 0-2, the lock at 3, the pipe at 4, nothing else */
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (nul < 0 || logfd < 0)
			_exit(XO_EXIT_SYSTEM);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(logfd, 2);
		/* out of the way of 3 and 4 first (not at a fixed number: the
		 * limit of open files may be low) */
		int lk = fcntl(lockfd, F_DUPFD, 5), rd = fcntl(pfd[1], F_DUPFD, 5);
		if (lk < 0 || rd < 0 || dup2(lk, 3) < 0 || dup2(rd, 4) < 0)
			_exit(XO_EXIT_SYSTEM);
		close_range(5, ~0U, 0);
		sim_cfg.log_max = LOG_MAX;
		fcntl(3, F_SETFD, FD_CLOEXEC);
		fcntl(4, F_SETFD, FD_CLOEXEC);
		if (chdir("/") < 0)
			_exit(XO_EXIT_SYSTEM);
		umask(022);
		_exit(daemon_run(3, 4));
	}
	close(pfd[1]);
	pfd[1] = -1;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	{
		char buf[1200];
		size_t len = 0;
		ssize_t n;
		while (len < sizeof(buf) - 1 &&
		       ((n = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) > 0 ||
			(n < 0 && errno == EINTR)))
			if (n > 0)
				len += (size_t)n;
		buf[len] = '\0';
		if (strncmp(buf, "ready\n", 6) == 0)
			r = 0;
		else if (strncmp(buf, "error ", 6) == 0) {
			buf[strcspn(buf, "\n")] = '\0';
			xo_errf(e, XO_E_SYSTEM, "%s", buf + 6);
		} else
			xo_errf(e, XO_E_SYSTEM, "the simulator died while starting: see '%s'", log);
	}
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (lockfd >= 0)
		close(lockfd);
	if (startfd >= 0)
		close(startfd);
	free(log);
	return r;
}

/* ---- status, stop ------------------------------------------------------------------------- */

int sim_status(pid_t *pid, xo_err *e)
{
	char *dir = sim_dir(false, e);
	int fd, r;

	if (!dir)
		return -1;
	fd = open_lock(dir, "lock", false, e);
	if (fd < 0) {
		free(dir);
		return -1;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		r = xo_errf(e, XO_E_NOT_FOUND, "the simulator does not run in '%s'", dir);
	} else if (errno == EWOULDBLOCK) {
		*pid = lock_pid(fd);
		r = 0;
	} else {
		r = xo_err_sys(e, errno, "unable to lock '%s/lock'", dir);
	}
	close(fd);
	free(dir);
	return r;
}

static void on_alarm(int sig)
{
	(void)sig;
}

struct simdom {
	unsigned domid;
	char uuid[XO_UUID_LEN + 1];
	char *vm;                       /* the name of the VM of this state directory, or NULL */
};

/* the domains other than dom0, each with its VM if it is one of ours */
static int list_domains(struct xo_hv_conn *c, struct simdom **out, size_t *n, xo_err *e)
{
	struct xo_buf reply = XO_BUF_INIT;
	struct simdom *v = NULL;
	size_t k = 0;
	int r;

	if ((r = xo_hv_call(c, "list", &reply, e)) == 0 && xo_state_open(e) < 0)
		r = -1;
	for (const char *line = r ? NULL : strchr(reply.s, '\n'); line; line = strchr(line, '\n')) {
		char uuid[XO_UUID_LEN + 1];
		struct xo_vm vm;
		uint64_t domid;
		xo_err ignored;
		line++;
		if ((r = xo_hv_field_u64(line, "domid", &domid, e)) < 0)
			break;
		if (!xo_hv_field(line, "uuid", uuid, sizeof(uuid))) {
			r = xo_errf(e, XO_E_INTERNAL, "the simulator's reply lacks 'uuid'");
			break;
		}
		if (domid == 0)
			continue;
		v = xrealloc(v, (k + 1) * sizeof(*v));
		v[k].domid = (unsigned)domid;
		memcpy(v[k].uuid, uuid, sizeof(uuid));
		v[k].vm = NULL;
		xo_vm_init(&vm);
		if (xo_vm_load(v[k].uuid, &vm, &ignored) == 0)
			v[k].vm = xstrdup(vm.name);
		xo_vm_free(&vm);
		k++;
	}
	xo_buf_free(&reply);
	if (r < 0) {
		for (size_t i = 0; i < k; i++)
			free(v[i].vm);
		free(v);
		return -1;
	}
	*out = v;
	*n = k;
	return 0;
}

/* destroy a VM's domain the way xo does, releasing its loop devices and taps */
static int destroy_vm(const struct simdom *d, xo_err *e)
{
	char *self = xasprintf("%s/xo-vm-destroy", xo_self_dir());
	char *argv[] = { access(self, X_OK) == 0 ? self : (char *)"xo-vm-destroy",
			 (char *)d->uuid, NULL };
	char *env[] = { (char *)"XO_BACKEND=sim", NULL };
	struct xo_child child;
	int r = 0;

	if (xo_spawn(&child, argv, env, XO_SPAWN_CAPTURE, false, e) < 0) {
		free(self);
		return -1;
	}
	xo_child_wait(&child);
	if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != 0) {
		char how[64], *out;
		xo_child_describe(&child, how, sizeof(how));
		out = xo_child_output(&child);
		r = xo_errf(e, XO_E_IN_USE, "unable to destroy the domain %u of vm %s: xo-vm-destroy %s%s%s",
			    d->domid, d->vm, how, out && *out ? ": " : "", out ? out : "");
		free(out);
	}
	xo_child_close(&child);
	free(self);
	return r;
}

/* no domain but dom0 may be left when the simulator stops: refuse, or with
 * force destroy each (xo-vm-destroy for the VMs of this state directory) */
static int stop_domains(struct xo_hv_conn *c, bool force, xo_err *e)
{
	struct xo_buf names = XO_BUF_INIT, reply = XO_BUF_INIT;
	struct simdom *v = NULL;
	size_t n = 0;
	int r = 0;

	if (list_domains(c, &v, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n && !force; i++)
		xo_buf_printf(&names, "%s%u (%s%s)", i ? ", " : "", v[i].domid,
			      v[i].vm ? "vm " : "not a vm of this state directory",
			      v[i].vm ? v[i].vm : "");
	if (n && !force)
		r = xo_errf(e, XO_E_IN_USE, "%zu domain%s run%s: %s; destroy %s first "
			    "(xo-vm-destroy), or stop with --force", n, n == 1 ? "" : "s",
			    n == 1 ? "s" : "", names.s, n == 1 ? "it" : "them");
	for (size_t i = 0; i < n && force && r == 0; i++) {
		char req[64];
		xo_err ignored;
		if (v[i].vm)
			r = destroy_vm(&v[i], e);
		/* what xo-vm-destroy left, and domains that are not VMs */
		snprintf(req, sizeof(req), "destroy domid=%u", v[i].domid);
		if (r == 0)
			xo_hv_call(c, req, &reply, &ignored);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].vm);
	free(v);
	xo_buf_free(&names);
	xo_buf_free(&reply);
	return r;
}

int sim_stop(bool force, xo_err *e)
{
	struct xo_hv_conn c;
	struct xo_buf reply = XO_BUF_INIT;
	struct sigaction sa = { .sa_handler = on_alarm };
	char *dir = sim_dir(false, e);
	int fd, r = -1;
	pid_t pid;

	if (!dir)
		return -1;
	fd = open_lock(dir, "lock", false, e);
	if (fd < 0) {
		free(dir);
		return -1;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		xo_errf(e, XO_E_NOT_FOUND, "the simulator does not run in '%s'", dir);
		goto out;
	}
	pid = lock_pid(fd);
	if (xo_hv_connect(dir, &c) == 0) {
		/* a daemon out of descriptors does not accept: do not wait forever */
		struct timeval tv = { 10, 0 };
		xo_err ignored;
		setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (stop_domains(&c, force, e) < 0) {
			xo_hv_close(&c);
			goto out;
		}
		if (xo_hv_call(&c, "quit", &reply, &ignored) < 0 && pid > 0)
			kill(pid, SIGTERM);
		xo_hv_close(&c);
	} else if (pid > 0) {
		kill(pid, SIGTERM);
	}
	/* wait for the daemon to exit: its lock goes with it */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(30);
	while (flock(fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			xo_err_sys(e, errno, "unable to lock '%s/lock'", dir);
			goto out;
		}
		if (pid > 0) {
			kill(pid, SIGKILL);
			alarm(10);
			pid = 0;
			continue;
		}
		xo_errf(e, XO_E_TIMEOUT, "the simulator in '%s' did not exit", dir);
		goto out;
	}
	alarm(0);
	r = 0;
out:
	xo_buf_free(&reply);
	close(fd);
	free(dir);
	return r;
}
