/* xo-vm-list: list the VMs */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "config.h"
#include "show.h"

static const struct xo_opt opts[] = {
	{ 'j', "json", NULL, "print a JSON array of the VMs' configurations" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	char (*uuids)[XO_UUID_LEN + 1];
	size_t n;
	bool json = false;
	struct json_object *arr = NULL;
	xo_err e;
	int c;

	xo_cli_init(&cli, argc, argv, "[--json]", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		if (c == 'j')
			json = true;
	xo_cli_operands(&cli, 0, 0);
	if (xo_vm_list_uuids(&uuids, &n, &e) < 0)
		return xo_cli_fail(&e);
	if (json)
		arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct xo_vm vm;
		if (xo_vm_load(uuids[i], &vm, &e) < 0) {
			if (e.cls != XO_E_NOT_FOUND)   /* removed meanwhile: not an error */
				xo_warn("%s", e.msg);
			continue;
		}
		if (json)
			json_object_array_add(arr, xo_vm_to_json(&vm));
		else
			xo_show_vm_line(stdout, &vm);
		xo_vm_free(&vm);
	}
	if (json)
		xo_print_json(arr);
	free(uuids);
	return 0;
}
