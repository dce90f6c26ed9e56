/* xo-vm-stat: show a VM's power state, domain, consoles, memory and vcpus */
#include <stdio.h>

#include "cli.h"
#include "stat.h"
#include "state.h"

static const struct xo_opt opts[] = {
	{ 'j', "json", NULL, "print JSON" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_vm vm;
	struct xo_vm_state s;
	struct xo_backend *b;
	bool json = false;
	xo_err e;
	int c;

	xo_cli_init(&cli, argc, argv, "[--json] VM", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		json |= c == 'j';
	xo_cli_operands(&cli, 1, 1);
	if (xo_vm_load_ref(cli.argv[0], &vm, &e) < 0 || xo_backend_open(&b, &e) < 0 ||
	    xo_vm_stat(b, &vm, &s, &e) < 0) {
		xo_err_wrap(&e, "unable to stat vm %s", cli.argv[0]);
		return xo_cli_fail(&e);
	}
	if (json)
		xo_print_json(xo_vm_state_to_json(&s));
	else
		xo_vm_state_print(stdout, &vm, &s);
	xo_vm_free(&vm);
	return 0;
}
