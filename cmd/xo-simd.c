/* xo-simd: run the simulated Xen host (see lib/sim/sim.h) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli.h"
#include "sim/sim.h"

enum { O_MEMORY = 256, O_CPUS, O_OUTPUT_MAX, O_FOREGROUND, O_FORCE };

static const struct xo_opt opts[] = {
	{ O_MEMORY, "memory", "SIZE", "start: host memory for guests (default 16G, or $XO_SIM_MEMORY)" },
	{ O_CPUS, "cpus", "N", "start: host cpus (default 4)" },
	{ O_OUTPUT_MAX, "output-max", "SIZE", "start: output xenstore clients have not read, "
	  "all together (default 64M)" },
	{ O_FOREGROUND, "foreground", NULL, "start: stay in the foreground, log to standard error" },
	{ O_FORCE, "force", NULL, "stop: destroy the domains that run first (xo-vm-destroy for VMs)" },
	{ 0, NULL, NULL, NULL },
};

/* the simulated device model: a process that lives until killed, or until
 * xo-simd dies (parent-death signal, set before exec) */
static int dm_process(const char *domid)
{
	char name[16];

	snprintf(name, sizeof(name), "qemu-dm-%s", domid);
	prctl(PR_SET_NAME, name);
	if (getppid() == 1)
		return 0;
	/* tell xo-simd we are up (fd 3), as qemu reports readiness */
	if (write(3, "ready\n", 6) == 6)
		close(3);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct sim_start_opts so = { 0 };
	struct xo_cli cli;
	const char *cmd;
	bool start_opts = false, force = false;
	pid_t pid = 0;
	xo_err e;
	int c;

	if (argc == 3 && strcmp(argv[1], "dm-process") == 0)
		return dm_process(argv[2]);
	xo_cli_init(&cli, argc, argv,
		    "start [--memory SIZE] [--cpus N] [--output-max SIZE] [--foreground] | stop [--force] | "
		    "status | ctl ARGS...",
		    opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		start_opts |= c != O_FORCE;
		switch (c) {
		case O_FORCE:
			force = true;
			break;
		case O_MEMORY:
			if (xo_parse_size(cli.arg, &so.memory_bytes) < 0 || so.memory_bytes == 0)
				xo_cli_usage_error(&cli, "invalid memory '%s': expected a size such as 512M "
						   "or 2G", cli.arg);
			break;
		case O_CPUS:
			if (xo_parse_uint(cli.arg, 4096, &so.cpus) < 0 || so.cpus == 0)
				xo_cli_usage_error(&cli, "invalid cpus '%s': expected 1 to 4096", cli.arg);
			break;
		case O_OUTPUT_MAX:
			if (xo_parse_size(cli.arg, &so.output_max) < 0 || so.output_max < 65536 ||
			    so.output_max > (1ULL << 40))
				xo_cli_usage_error(&cli, "invalid output-max '%s': expected a size from 64K "
						   "to 1T", cli.arg);
			break;
		case O_FOREGROUND:
			so.foreground = true;
			break;
		}
	}
	xo_cli_operands(&cli, 1, -1);
	cmd = cli.argv[0];
	if (force && strcmp(cmd, "stop") != 0)
		xo_cli_usage_error(&cli, "--force goes with stop only");
	if (start_opts && strcmp(cmd, "start") != 0)
		xo_cli_usage_error(&cli, "--memory, --cpus, --output-max and --foreground go with start "
				   "only");
	if (strcmp(cmd, "ctl") != 0)
		xo_cli_operands(&cli, 1, 1);

	if (strcmp(cmd, "start") == 0) {
		if (sim_start(&so, &e) < 0) {
			xo_err_wrap(&e, "unable to start the simulator");
			return xo_cli_fail(&e);
		}
		return XO_EXIT_OK;
	}
	if (strcmp(cmd, "stop") == 0) {
		if (sim_stop(force, &e) < 0) {
			xo_err_wrap(&e, "unable to stop the simulator");
			return xo_cli_fail(&e);
		}
		return XO_EXIT_OK;
	}
	if (strcmp(cmd, "status") == 0) {
		if (sim_status(&pid, &e) < 0) {
			if (e.cls != XO_E_NOT_FOUND)
				return xo_cli_fail(&e);
			puts("stopped");
			return XO_EXIT_FAIL;
		}
		printf("running %d\n", (int)pid);
		return XO_EXIT_OK;
	}
	if (strcmp(cmd, "ctl") == 0) {
		if (sim_ctl(cli.argc - 1, cli.argv + 1, &e) < 0) {
			if (e.cls == XO_E_USAGE)
				xo_cli_usage_error(&cli, "%s", e.msg);
			char what[256] = "ctl";
			for (int i = 1; i < cli.argc && strlen(what) + strlen(cli.argv[i]) + 2 < sizeof(what); i++)
				snprintf(what + strlen(what), sizeof(what) - strlen(what), " %s", cli.argv[i]);
			xo_err_wrap(&e, "unable to run %s", what);
			return xo_cli_fail(&e);
		}
		return XO_EXIT_OK;
	}
	xo_cli_usage_error(&cli, "unknown command '%s': expected start, stop, status or ctl", cmd);
}
