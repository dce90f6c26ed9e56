/*
 * ctl.c: the hv.sock client of "xo-simd ctl" and "xo-simd stop".
 *
 * One request line out, one reply in (lib/hvproto.h): the first line,
 * plus count= more lines when it says so. The commands:
 *
 *   xo-simd ctl list                     one line per domain:
 *                                        DOMID STATE MEMORY VCPUS UUID
 *   xo-simd ctl DOMID show               the domain, its switches, devices
 *   xo-simd ctl DOMID SWITCH [on|off]    ignore-shutdown, refuse-unplug,
 *                                        hotplug-fail (no value: on)
 *   xo-simd ctl DOMID ACTION             reboot, halt, crash, watchdog
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvproto.h"
#include "sim.h"

/* a record's value for people: "?" when it lacks */
static const char *field(const char *rec, const char *key, char *out, size_t size)
{
	if (!xo_hv_field(rec, key, out, size))
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
	struct xo_hv_conn c;
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
	if (xo_hv_connect(dir, &c) < 0) {
		xo_errf(e, XO_E_NOT_FOUND, "the simulator does not run in '%s' (xo-simd start)", dir);
		free(dir);
		goto out;
	}
	free(dir);
	r = xo_hv_call(&c, req.s, &reply, e);
	xo_hv_close(&c);
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
