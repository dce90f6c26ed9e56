/* xo-task-destroy: forget a finished task */
#include "cli.h"
#include "task.h"

static const struct xo_opt opts[] = { { 0, NULL, NULL, NULL } };

int main(int argc, char **argv)
{
	struct xo_cli cli;
	xo_err e;

	xo_cli_init(&cli, argc, argv, "TASK...", opts);
	while (xo_cli_next(&cli) != -1)
		;
	xo_cli_operands(&cli, 1, -1);
	for (int i = 0; i < cli.argc; i++) {
		if (xo_task_destroy(cli.argv[i], &e) < 0) {
			xo_err_wrap(&e, "unable to destroy task %s", cli.argv[i]);
			return xo_cli_fail(&e);
		}
	}
	return 0;
}
