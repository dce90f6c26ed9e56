/* xo-pci-add: pass a host PCI device through to a VM */
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "state.h"

enum { O_ADDRESS = 256, O_POSITION, O_MSI, O_PM, O_PERMISSIVE };

static const struct xo_opt opts[] = {
	{ O_ADDRESS, "address", "dddd:bb:dd.f", "the host PCI address" },
	{ O_POSITION, "position", "N", "position: the guest slot order (default: next free)" },
	{ O_MSI, "msitranslate", "yes|no", "translate MSI to INTx in the guest (default no)" },
	{ O_PM, "power-mgmt", "yes|no", "let the guest power-manage the device (default no)" },
	{ O_PERMISSIVE, "permissive", "yes|no", "allow writes to all config space (default no)" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_pci p;
	char uuid[XO_UUID_LEN + 1];
	unsigned u;
	xo_err e;
	int c;

	xo_pci_init(&p);
	xo_cli_init(&cli, argc, argv, "VM --address dddd:bb:dd.f [--position N] [options]", opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		switch (c) {
		case O_ADDRESS:
			if (xo_pci_address_parse(cli.arg, p.address, &e) < 0)
				return xo_cli_fail(&e);
			break;
		case O_POSITION:
			if (xo_parse_uint(cli.arg, XO_PCI_POSITION_MAX, &u) < 0)
				xo_cli_usage_error(&cli, "invalid position '%s': expected 0 to %d", cli.arg,
						   XO_PCI_POSITION_MAX);
			p.position = (int)u;
			break;
		case O_MSI:
			if (xo_parse_bool(cli.arg, "msitranslate", &p.msitranslate, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			break;
		case O_PM:
			if (xo_parse_bool(cli.arg, "power-mgmt", &p.power_mgmt, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			break;
		case O_PERMISSIVE:
			if (xo_parse_bool(cli.arg, "permissive", &p.permissive, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			break;
		}
	}
	xo_cli_operands(&cli, 1, 1);
	if (!p.address[0])
		xo_cli_usage_error(&cli, "--address is required");
	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_pci_add(uuid, &p, &e) < 0) {
		xo_err_wrap(&e, "unable to add pci device %s to vm %s", p.address, cli.argv[0]);
		return xo_cli_fail(&e);
	}
	printf("%d\n", p.position);
	return 0;
}
