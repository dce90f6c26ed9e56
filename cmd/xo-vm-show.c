/* xo-vm-show: show a VM's stored configuration */
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "show.h"
#include "state.h"

static const struct xo_opt opts[] = {
	{ 'j', "json", NULL, "print the stored JSON with the devices (xo-vm-add -f reads it back)" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_vm vm;
	struct xo_devices d;
	char uuid[XO_UUID_LEN + 1];
	bool json = false;
	xo_err e;
	int c;

	xo_cli_init(&cli, argc, argv, "VM [--json]", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		if (c == 'j')
			json = true;
	xo_cli_operands(&cli, 1, 1);
	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_vm_load(uuid, &vm, &e) < 0 ||
	    xo_devices_load(uuid, &d, &e) < 0) {
		xo_err_wrap(&e, "unable to show vm %s", cli.argv[0]);
		return xo_cli_fail(&e);
	}
	if (json)
		xo_print_json(xo_vm_full_to_json(&vm, &d));
	else
		xo_show_vm_long(stdout, &vm, &d);
	xo_devices_free(&d);
	xo_vm_free(&vm);
	return 0;
}
