/* xo-vbd-add: add a virtual block device (disk, cdrom, floppy) to a VM */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "state.h"

enum { O_PATH = 256, O_NAME, O_MODE, O_TYPE, O_UNPLUGGABLE, O_PERSISTENT, O_BACKEND_KEY,
	O_PRIVATE_KEY, O_QOS, O_SCRIPT };

static const struct xo_opt opts[] = {
	{ O_PATH, "path", "FILE", "the backing file or block device (none: an empty cd drive)" },
	{ O_NAME, "name", "NAME", "device name: xvda..., hda-hdd, sda..., fda (default: next free)" },
	{ O_MODE, "mode", "MODE", "rw or ro (default rw; ro for a cdrom)" },
	{ O_TYPE, "type", "TYPE", "disk, cdrom or floppy (default disk)" },
	{ O_UNPLUGGABLE, "unpluggable", "yes|no", "may be unplugged while running (default yes)" },
	{ O_PERSISTENT, "persistent", "yes|no", "no: reset to its original content on every start" },
	{ O_BACKEND_KEY, "backend-key", "KEY=VALUE", "an extra backend key (repeatable)" },
	{ O_PRIVATE_KEY, "private-key", "KEY=VALUE", "an extra private key (repeatable)" },
	{ O_QOS, "qos", "SCHED[:CLASS]", "io priority: idle, best-effort:0-7, real-time:0-7" },
	{ O_SCRIPT, "script", "PATH", "hotplug script (default: xo's block script)" },
	{ 0, NULL, NULL, NULL },
};

static void parse_qos(struct xo_cli *cli, struct xo_vbd *v)
{
	char *s = xstrdup(cli->arg), *colon = strchr(s, ':');

	if (colon) {
		*colon = '\0';
		if (xo_parse_uint(colon + 1, 7, &v->qos_class) < 0)
			xo_cli_usage_error(cli, "invalid qos class '%s': expected 0 to 7", colon + 1);
	}
	if (strcmp(s, "idle") == 0)
		v->qos = XO_QOS_IDLE;
	else if (strcmp(s, "best-effort") == 0)
		v->qos = XO_QOS_BEST_EFFORT;
	else if (strcmp(s, "real-time") == 0)
		v->qos = XO_QOS_REALTIME;
	else
		xo_cli_usage_error(cli, "invalid qos scheduler '%s'", s);
	free(s);
}

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_vbd v;
	char uuid[XO_UUID_LEN + 1];
	bool mode_given = false;
	xo_err e;
	int c;

	xo_vbd_init(&v);
	xo_cli_init(&cli, argc, argv, "VM [--path FILE] [--name NAME] [--mode ro|rw] [--type TYPE] [options]", opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		switch (c) {
		case O_PATH: free(v.backend); v.backend = xstrdup(cli.arg); break;
		case O_NAME: free(v.name); v.name = xstrdup(cli.arg); break;
		case O_MODE:
			if (xo_vbd_mode_parse(cli.arg, &v.mode, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			mode_given = true;
			break;
		case O_TYPE:
			if (xo_vbd_type_parse(cli.arg, &v.type, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			break;
		case O_UNPLUGGABLE:
			if (xo_parse_bool(cli.arg, "unpluggable", &v.unpluggable, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			break;
		case O_PERSISTENT:
			if (xo_parse_bool(cli.arg, "persistent", &v.persistent, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			break;
		case O_BACKEND_KEY:
			if (xo_kvs_set_arg(&v.extra_backend_keys, cli.arg, "backend-key", &e) < 0)
				return xo_cli_fail(&e);
			break;
		case O_PRIVATE_KEY:
			if (xo_kvs_set_arg(&v.extra_private_keys, cli.arg, "private-key", &e) < 0)
				return xo_cli_fail(&e);
			break;
		case O_QOS: parse_qos(&cli, &v); break;
		case O_SCRIPT: free(v.script); v.script = xstrdup(cli.arg); break;
		}
	}
	xo_cli_operands(&cli, 1, 1);
	if (!mode_given && v.type == XO_VBD_CDROM)
		v.mode = XO_VBD_RO;
	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_vbd_add(uuid, &v, &e) < 0) {
		xo_err_wrap(&e, "unable to add vbd to vm %s", cli.argv[0]);
		return xo_cli_fail(&e);
	}
	printf("%s\n", v.name);
	xo_vbd_free(&v);
	return 0;
}
