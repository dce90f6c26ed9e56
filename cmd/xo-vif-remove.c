/* xo-vif-remove: remove a virtual network interface from a VM */
#include "cli.h"
#include "config.h"
#include "state.h"

static const struct xo_opt opts[] = { { 0, NULL, NULL, NULL } };

int main(int argc, char **argv)
{
	struct xo_cli cli;
	char uuid[XO_UUID_LEN + 1];
	int pos;
	xo_err e;

	xo_cli_init(&cli, argc, argv, "VM POSITION", opts);
	while (xo_cli_next(&cli) != -1)
		;
	xo_cli_operands(&cli, 2, 2);
	if (xo_vif_position_parse(cli.argv[1], &pos, &e) < 0 ||
	    xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_vif_remove(uuid, pos, &e) < 0) {
		xo_err_wrap(&e, "unable to remove vif %s of vm %s", cli.argv[1], cli.argv[0]);
		return xo_cli_fail(&e);
	}
	return 0;
}
