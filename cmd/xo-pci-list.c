/* xo-pci-list: list a VM's PCI pass-through devices */
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "show.h"
#include "state.h"

static const struct xo_opt opts[] = {
	{ 'j', "json", NULL, "print a JSON array" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_devices d;
	char uuid[XO_UUID_LEN + 1];
	bool json = false;
	xo_err e;
	int c;

	xo_cli_init(&cli, argc, argv, "VM [--json]", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		json |= c == 'j';
	xo_cli_operands(&cli, 1, 1);
	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_devices_load(uuid, &d, &e) < 0) {
		xo_err_wrap(&e, "unable to list pci devices of vm %s", cli.argv[0]);
		return xo_cli_fail(&e);
	}
	struct json_object *a = json ? json_object_new_array() : NULL;
	for (size_t i = 0; i < d.n_pci; i++) {
		if (json)
			json_object_array_add(a, xo_pci_to_json(&d.pci[i]));
		else
			xo_show_pci_line(stdout, &d.pci[i]);
	}
	if (json)
		xo_print_json(a);
	xo_devices_free(&d);
	return 0;
}
