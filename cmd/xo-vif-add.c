/* xo-vif-add: add a virtual network interface to a VM */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "state.h"

enum { O_POSITION = 256, O_MAC, O_BRIDGE, O_MTU, O_RATE, O_CARRIER, O_LOCKING, O_ALLOW,
	O_PRIVATE_KEY, O_SCRIPT };

static const struct xo_opt opts[] = {
	{ O_POSITION, "position", "N", "device position (default: next free)" },
	{ O_MAC, "mac", "MAC", "mac address (default: random, locally administered)" },
	{ O_BRIDGE, "bridge", "BRIDGE", "the bridge to attach to (default xenbr0)" },
	{ O_MTU, "mtu", "N", "mtu (default 1500)" },
	{ O_RATE, "rate", "KBPS[/US]", "rate limit in KiB/s, with a timeslice in microseconds" },
	{ O_CARRIER, "carrier", "yes|no", "link carrier at start (default yes)" },
	{ O_LOCKING, "locking-mode", "MODE", "unlocked, locked or disabled (default unlocked)" },
	{ O_ALLOW, "allow", "ADDR", "an allowed ipv4 or ipv6 address when locked (repeatable)" },
	{ O_PRIVATE_KEY, "private-key", "KEY=VALUE", "an extra private key (repeatable)" },
	{ O_SCRIPT, "script", "PATH", "hotplug script (default: xo's vif script)" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_vif v;
	char uuid[XO_UUID_LEN + 1];
	unsigned u;
	xo_err e;
	int c;

	xo_vif_init(&v);
	xo_cli_init(&cli, argc, argv, "VM [--position N] [--mac MAC] [--bridge BRIDGE] [options]", opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		switch (c) {
		case O_POSITION:
			if (xo_parse_uint(cli.arg, XO_VIF_POSITION_MAX, &u) < 0)
				xo_cli_usage_error(&cli, "invalid position '%s': expected 0 to %d", cli.arg,
						   XO_VIF_POSITION_MAX);
			v.position = (int)u;
			break;
		case O_MAC:
			if (xo_mac_parse(cli.arg, v.mac, &e) < 0)
				return xo_cli_fail(&e);
			break;
		case O_BRIDGE: free(v.bridge); v.bridge = xstrdup(cli.arg); break;
		case O_MTU:
			if (xo_parse_uint(cli.arg, 1u << 20, &v.mtu) < 0)
				xo_cli_usage_error(&cli, "invalid mtu '%s'", cli.arg);
			break;
		case O_RATE: {
			char *s = xstrdup(cli.arg), *slash = strchr(s, '/');
			if (slash) {
				*slash = '\0';
				if (xo_parse_uint(slash + 1, 10000000, &v.rate_timeslice_us) < 0)
					xo_cli_usage_error(&cli, "invalid rate timeslice '%s'", slash + 1);
			}
			if (xo_parse_u64(s, &v.rate_kbytes_per_s) < 0 || v.rate_kbytes_per_s > UINT32_MAX)
				xo_cli_usage_error(&cli, "invalid rate '%s'", s);
			free(s);
			break;
		}
		case O_CARRIER:
			if (xo_parse_bool(cli.arg, "carrier", &v.carrier, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			break;
		case O_LOCKING:
			if (xo_lock_mode_parse(cli.arg, &v.locking_mode, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			break;
		case O_ALLOW:
			if (xo_vif_add_allowed(&v, cli.arg, &e) < 0)
				return xo_cli_fail(&e);
			break;
		case O_PRIVATE_KEY:
			if (xo_kvs_set_arg(&v.extra_private_keys, cli.arg, "private-key", &e) < 0)
				return xo_cli_fail(&e);
			break;
		case O_SCRIPT: free(v.script); v.script = xstrdup(cli.arg); break;
		}
	}
	xo_cli_operands(&cli, 1, 1);
	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_vif_add(uuid, &v, &e) < 0) {
		xo_err_wrap(&e, "unable to add vif to vm %s", cli.argv[0]);
		return xo_cli_fail(&e);
	}
	printf("%d\n", v.position);
	xo_vif_free(&v);
	return 0;
}
