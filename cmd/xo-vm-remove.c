/* xo-vm-remove: remove a halted VM and its devices */
#include "cli.h"
#include "config.h"
#include "state.h"

static const struct xo_opt opts[] = { { 0, NULL, NULL, NULL } };

int main(int argc, char **argv)
{
	struct xo_cli cli;
	char uuid[XO_UUID_LEN + 1];
	xo_err e;

	xo_cli_init(&cli, argc, argv, "VM", opts);
	while (xo_cli_next(&cli) != -1)
		;
	xo_cli_operands(&cli, 1, 1);
	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_vm_remove(uuid, &e) < 0) {
		xo_err_wrap(&e, "unable to remove vm %s", cli.argv[0]);
		return xo_cli_fail(&e);
	}
	return 0;
}
