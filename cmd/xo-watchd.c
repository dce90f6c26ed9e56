/* xo-watchd: watch the host's domains and queue check-state for the VMs that need it */
#include "cli.h"
#include "watch.h"

static const struct xo_opt opts[] = { { 0, NULL, NULL, NULL } };

int main(int argc, char **argv)
{
	struct xo_cli cli;
	xo_err e;

	xo_cli_init(&cli, argc, argv, "", opts);
	while (xo_cli_next(&cli) != -1)
		;
	xo_cli_operands(&cli, 0, 0);
	xo_watchd_run(&e);
	return xo_cli_fail(&e);
}
