/*
 * ctl.c: the hv.sock client of "xo-simd ctl" and "xo-simd stop".
 *
 * One request line out, one reply in (hv.c documents the protocol): the
 * first line, plus count= more lines when it says so. The commands:
 *
 *   xo-simd ctl list                     one line per domain:
 *                                        DOMID STATE MEMORY VCPUS UUID
 *   xo-simd ctl DOMID show               the domain, its switches, devices
 *   xo-simd ctl DOMID SWITCH [on|off]    ignore-shutdown, refuse-unplug,
 *                                        hotplug-fail (no value: on)
 *   xo-simd ctl DOMID ACTION             reboot, halt, crash, watchdog
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim.h"

int sim_client_open(struct sim_client *c, const char *sim_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hv.sock", sim_dir);

	c->len = 0;
	c->fd = -1;
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(c->fd);
		c->fd = -1;
		errno = err;
		return -1;
	}
	return 0;
}

void sim_client_close(struct sim_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* the next line (without its newline) into out; -1 on EOF or error */
static int read_line(struct sim_client *c, struct xo_buf *out)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t l = (size_t)(nl - c->buf);
			xo_buf_add(out, c->buf, l);
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf)) {
			xo_buf_add(out, c->buf, c->len);
			c->len = 0;
		}
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		c->len += (size_t)n;
	}
}

int sim_client_call(struct sim_client *c, const char *req, struct xo_buf *reply, xo_err *e)
{
	unsigned long count = 0;
	const char *p;

	xo_buf_reset(reply);
	if (xo_write_all(c->fd, req, strlen(req)) < 0 || xo_write_all(c->fd, "\n", 1) < 0)
		return xo_err_sys(e, errno, "unable to talk to the simulator");
	if (read_line(c, reply) < 0)
		return xo_err_sys(e, errno, "unable to read the simulator's reply");
	if (xo_str_startswith(reply->s, "error ")) {
		char *cls = reply->s + 6, *msg = strchr(cls, ' ');
		if (msg)
			*msg++ = '\0';
		return xo_errf(e, xo_ecls_from_name(cls), "%s", msg ? msg : "unknown error");
	}
	if (!xo_str_startswith(reply->s, "ok"))
		return xo_errf(e, XO_E_INTERNAL, "unexpected reply from the simulator: '%s'", reply->s);
	if ((p = strstr(reply->s, " count=")))
		count = strtoul(p + 7, NULL, 10);
	while (count--) {
		xo_buf_add(reply, "\n", 1);
		if (read_line(c, reply) < 0)
			return xo_err_sys(e, errno, "unable to read the simulator's reply");
	}
	return 0;
}

static const char *field(const char *rec, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key);

	for (const char *p = rec; p && *p; p = strchr(p, ' '), p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t l = strcspn(p + kl + 1, " \n");
			snprintf(out, size, "%.*s", (int)l, p + kl + 1);
			return out;
		}
	snprintf(out, size, "?");
	return out;
}

static void print_list(const char *reply)
{
	const char *line = strchr(reply, '\n');

	while (line) {
		char domid[16], uuid[48], mem[32], vcpus[16], sz[32], st[32];
		line++;
		field(line, "domid", domid, sizeof(domid));
		field(line, "uuid", uuid, sizeof(uuid));
		field(line, "memory_kib", mem, sizeof(mem));
		field(line, "vcpus", vcpus, sizeof(vcpus));
		if (strcmp(field(line, "shutdown", st, sizeof(st)), "1") == 0) {
			char reason[16];
			static const char *const names[] = { "poweroff", "reboot", "suspend", "crash",
							     "watchdog", "soft_reset" };
			unsigned r = (unsigned)atoi(field(line, "reason", reason, sizeof(reason)));
			snprintf(st, sizeof(st), "shutdown:%s", r < 6 ? names[r] : reason);
		} else if (strcmp(field(line, "built", st, sizeof(st)), "0") == 0) {
			snprintf(st, sizeof(st), "created");
		} else if (strcmp(field(line, "paused", st, sizeof(st)), "1") == 0) {
			snprintf(st, sizeof(st), "paused");
		} else {
			snprintf(st, sizeof(st), "running");
		}
		xo_fmt_size(strtoull(mem, NULL, 10) * 1024, sz, sizeof(sz));
		printf("%s %s %s %s %s\n", domid, st, sz, vcpus, uuid);
		line = strchr(line, '\n');
	}
}

int sim_ctl(int argc, char **argv, xo_err *e)
{
	struct sim_client c;
	struct xo_buf req = XO_BUF_INIT, reply = XO_BUF_INIT;
	char *dir;
	uint64_t domid = 0;
	int r = -1;

	if (argc < 1)
		return xo_errf(e, XO_E_USAGE, "missing operand: list, or a domid");
	if (strcmp(argv[0], "list") == 0) {
		if (argc > 1)
			return xo_errf(e, XO_E_USAGE, "unexpected operand '%s'", argv[1]);
		xo_buf_puts(&req, "list");
	} else {
		if (xo_parse_u64(argv[0], &domid) < 0 || domid >= SIM_DOMID_MAX)
			return xo_errf(e, XO_E_USAGE, "invalid domid '%s'", argv[0]);
		if (argc < 2)
			return xo_errf(e, XO_E_USAGE, "missing operand: show, a switch or an action");
		const char *what = argv[1];
		if (strcmp(what, "show") == 0) {
			if (argc > 2)
				return xo_errf(e, XO_E_USAGE, "unexpected operand '%s'", argv[2]);
			xo_buf_printf(&req, "show domid=%llu", (unsigned long long)domid);
		} else if (!strcmp(what, "ignore-shutdown") || !strcmp(what, "refuse-unplug") ||
			   !strcmp(what, "hotplug-fail")) {
			bool on = true;
			if (argc > 3)
				return xo_errf(e, XO_E_USAGE, "unexpected operand '%s'", argv[3]);
			if (argc == 3 && strcmp(argv[2], "on") && strcmp(argv[2], "off"))
				return xo_errf(e, XO_E_USAGE, "invalid switch value '%s': expected on or off",
					       argv[2]);
			if (argc == 3)
				on = strcmp(argv[2], "on") == 0;
			xo_buf_printf(&req, "switch domid=%llu name=%s value=%s",
				      (unsigned long long)domid, what, on ? "on" : "off");
		} else if (!strcmp(what, "reboot") || !strcmp(what, "halt") || !strcmp(what, "crash") ||
			   !strcmp(what, "watchdog")) {
			if (argc > 2)
				return xo_errf(e, XO_E_USAGE, "unexpected operand '%s'", argv[2]);
			xo_buf_printf(&req, "action domid=%llu name=%s", (unsigned long long)domid, what);
		} else {
			return xo_errf(e, XO_E_USAGE, "unknown ctl command '%s': expected show, "
				       "ignore-shutdown, refuse-unplug, hotplug-fail, reboot, halt, crash "
				       "or watchdog", what);
		}
	}
	if (!(dir = sim_dir_existing(e)))
		goto out;
	if (sim_client_open(&c, dir) < 0) {
		xo_errf(e, XO_E_NOT_FOUND, "the simulator does not run in '%s' (xo-simd start)", dir);
		free(dir);
		goto out;
	}
	free(dir);
	r = sim_client_call(&c, req.s, &reply, e);
	sim_client_close(&c);
	if (r < 0)
		goto out;
	if (strcmp(argv[0], "list") == 0)
		print_list(reply.s);
	else if (strcmp(argv[1], "show") == 0) {
		const char *nl = strchr(reply.s, '\n');
		if (nl)
			puts(nl + 1);
	}
out:
	xo_buf_free(&req);
	xo_buf_free(&reply);
	return r;
}
