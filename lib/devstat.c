/*
 * devstat.c: device stat programs (see devstat.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "devstat.h"
#include "json.h"
#include "stat.h"
#include "state.h"

int xo_devstat_main(int argc, char **argv, const char *kind)
{
	static const struct xo_opt opts[] = {
		{ 'j', "json", NULL, "print JSON (an object for one device, an array for all)" },
		{ 0, NULL, NULL, NULL },
	};
	struct xo_cli cli;
	struct xo_vm vm;
	struct xo_devices d;
	struct xo_backend *b;
	char uuid[XO_UUID_LEN + 1], id[XO_NAME_MAX + 1];
	bool json = false, vbd = strcmp(kind, "vbd") == 0, vif = strcmp(kind, "vif") == 0;
	const char *want = NULL;
	size_t n;
	int found = 0, c;
	xo_err e;

	xo_cli_init(&cli, argc, argv, vbd ? "[--json] VM [NAME]" : "[--json] VM [POSITION]", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		json |= c == 'j';
	xo_cli_operands(&cli, 1, 2);
	want = cli.argc > 1 ? cli.argv[1] : NULL;
	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_vm_load(uuid, &vm, &e) < 0 ||
	    xo_devices_load(uuid, &d, &e) < 0 || xo_backend_open(&b, &e) < 0) {
		xo_err_wrap(&e, "unable to stat the %ss of vm %s", kind, cli.argv[0]);
		return xo_cli_fail(&e);
	}
	n = vbd ? d.n_vbd : vif ? d.n_vif : d.n_pci;
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct xo_dev_state s;
		int r;
		if (vbd) {
			xo_strlcpy(id, d.vbd[i].name, sizeof(id));
		} else {
			snprintf(id, sizeof(id), "%d", vif ? d.vif[i].position : d.pci[i].position);
		}
		if (want && strcmp(want, id) != 0)
			continue;
		found++;
		r = vbd ? xo_vbd_stat(b, &vm, &d.vbd[i], &s, &e)
		    : vif ? xo_vif_stat(b, &vm, &d.vif[i], &s, &e)
			  : xo_pci_stat(b, &vm, &d.pci[i], &s, &e);
		if (r < 0) {
			json_object_put(arr);
			xo_err_wrap(&e, "unable to stat %s %s of vm %s", kind, id, vm.name);
			return xo_cli_fail(&e);
		}
		struct json_object *o = xo_dev_state_to_json(&s, kind);
		if (vbd)
			xo_json_add_str(o, "name", id);
		else
			json_object_object_add(o, "position", json_object_new_int(atoi(id)));
		json_object_array_add(arr, o);
		if (!json)
			xo_dev_state_print(stdout, id, &s, kind);
	}
	if (want && !found) {
		json_object_put(arr);
		xo_errf(&e, XO_E_NOT_FOUND, "%s %s of vm %s does not exist", kind, want, vm.name);
		return xo_cli_fail(&e);
	}
	if (json) {
		if (want) {
			struct json_object *one = json_object_get(json_object_array_get_idx(arr, 0));
			json_object_put(arr);
			xo_print_json(one);
		} else {
			xo_print_json(arr);
		}
	} else {
		json_object_put(arr);
	}
	xo_devices_free(&d);
	xo_vm_free(&vm);
	return 0;
}
