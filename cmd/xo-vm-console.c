/* xo-vm-console: attach to a VM's console, or print what its guest has written */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "console.h"

static const struct xo_opt opts[] = {
	{ 'l', "log", NULL, "print what the guest has written to its console so far, and exit" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_vm vm;
	struct xo_backend *b;
	enum xo_console_end how;
	char *tty = NULL;
	bool log = false;
	xo_err e;
	int c;

	xo_cli_init(&cli, argc, argv, "[--log] VM", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		log |= c == 'l';
	xo_cli_operands(&cli, 1, 1);
	if (xo_vm_load_ref(cli.argv[0], &vm, &e) < 0 || xo_backend_open(&b, &e) < 0) {
		xo_err_wrap(&e, "unable to open the console of vm %s", cli.argv[0]);
		return xo_cli_fail(&e);
	}
	if (log) {
		if (xo_console_log(b, &vm, STDOUT_FILENO, &e) < 0) {
			xo_err_wrap(&e, "unable to read the console log of vm %s", cli.argv[0]);
			return xo_cli_fail(&e);
		}
		xo_vm_free(&vm);
		return 0;
	}
	if (xo_be_console_tty(b, &vm, XO_CONSOLE_TTY_WAIT_MS, &tty, &e) < 0) {
		xo_err_wrap(&e, "unable to attach to the console of vm %s", cli.argv[0]);
		return xo_cli_fail(&e);
	}
	bool term = isatty(STDIN_FILENO);
	if (term)
		fprintf(stderr, "%s: vm %s on %s; ^] detaches\n", xo_prog, vm.name, tty);
	if (xo_console_attach(tty, STDIN_FILENO, STDOUT_FILENO, &how, &e) < 0) {
		xo_err_wrap(&e, "unable to attach to the console of vm %s", cli.argv[0]);
		return xo_cli_fail(&e);
	}
	if (term)
		fprintf(stderr, "\r\n%s: %s\n", xo_prog,
			how == XO_CONSOLE_ESCAPED ? "detached" : "the console closed (the domain is gone)");
	free(tty);
	xo_vm_free(&vm);
	return 0;
}
