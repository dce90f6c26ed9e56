/* xo-vm-start: start a VM: queue the start and leave the VM paused with its devices plugged */
#include "cli.h"
#include "opmain.h"
#include "util.h"

enum { O_ASYNC = 256, O_PLAN, O_TIMEOUT };

static const struct xo_opt opts[] = {
	{ O_ASYNC, "async", NULL, "print the task id and return at once" },
	{ O_PLAN, "plan", NULL, "print the micro-ops as xo commands instead (| sh -e runs them)" },
	{ O_TIMEOUT, "timeout", "SECONDS", "give up waiting after SECONDS (the start goes on)" },
	{ 'j', "json", NULL, "print the finished task as JSON" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_op_opts o = { .timeout_ms = -1 };
	int c;

	xo_cli_init(&cli, argc, argv, "[--async | --plan] [--timeout SECONDS] [--json] VM", opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		switch (c) {
		case O_ASYNC: o.async = true; break;
		case O_PLAN: o.plan = true; break;
		case 'j': o.json = true; break;
		case O_TIMEOUT: o.timeout_ms = xo_cli_timeout_ms(&cli); break;
		}
	}
	xo_cli_operands(&cli, 1, 1);
	if (o.plan && o.async)
		xo_cli_usage_error(&cli, "--plan and --async do not go together");
	if (o.plan)
		return xo_op_print_plan(cli.argv[0], "VM_start", "", o.json);
	return xo_op_main(cli.argv[0], "VM_start", "", &o);
}
