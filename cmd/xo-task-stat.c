/* xo-task-stat: show a task */
#include <stdio.h>

#include "cli.h"
#include "task.h"

static const struct xo_opt opts[] = {
	{ 'j', "json", NULL, "print the task record as JSON" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_task t;
	bool json = false;
	xo_err e;
	int c;

	xo_cli_init(&cli, argc, argv, "[--json] TASK", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		json |= c == 'j';
	xo_cli_operands(&cli, 1, 1);
	if (xo_task_load(cli.argv[0], &t, &e) < 0)
		return xo_cli_fail(&e);
	if (json) {
		xo_print_json(xo_task_to_json(&t));
	} else {
		char desc[1200];
		xo_task_describe(&t, desc, sizeof(desc));
		printf("%s %s %s %s\n", t.id, t.op, t.vm_name[0] ? t.vm_name : "-", desc);
	}
	return 0;
}
