/* xo-vm-list: list the VMs with their power state */
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "cli.h"
#include "config.h"
#include "json.h"
#include "show.h"

static const struct xo_opt opts[] = {
	{ 'j', "json", NULL, "print a JSON array of the VMs' configurations and states" },
	{ 0, NULL, NULL, NULL },
};

/* the live state of a VM that may have an instance: the backend is opened only when one
 * does (a host of halted VMs lists without one, and the simulator is not started) */
static const char *state_of(const struct xo_vm *vm, int *domid)
{
	static struct xo_backend *b;
	static bool failed;
	struct xo_vm_live l;
	xo_err e;

	*domid = -1;
	if (!xo_vm_has_domain(vm->uuid))
		return "Halted";
	if (!b && !failed && xo_backend_open(&b, &e) < 0) {
		failed = true;
		xo_warn("power states unknown: %s", e.msg);
	}
	if (failed)
		return "unknown";
	if (xo_be_vm_live(b, vm, &l, &e) < 0) {
		xo_warn("vm %s: %s", vm->name, e.msg);
		return "unknown";
	}
	if (!l.exists)
		return "Halted";
	*domid = l.domid;
	return l.paused ? "Paused" : "Running";
}

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
		int domid;
		if (xo_vm_load(uuids[i], &vm, &e) < 0) {
			if (e.cls != XO_E_NOT_FOUND)   /* removed meanwhile: not an error */
				xo_warn("%s", e.msg);
			continue;
		}
		const char *st = state_of(&vm, &domid);
		if (json) {
			struct json_object *o = xo_vm_to_json(&vm);
			xo_json_add_str(o, "power_state", st);
			if (domid >= 0)
				xo_json_add_int(o, "domid", domid);
			else
				json_object_object_add(o, "domid", NULL);
			json_object_array_add(arr, o);
		} else {
			xo_show_vm_line(stdout, &vm, st, domid);
		}
		xo_vm_free(&vm);
	}
	if (json)
		xo_print_json(arr);
	free(uuids);
	return 0;
}
