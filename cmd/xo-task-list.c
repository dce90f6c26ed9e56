/* xo-task-list: list the tasks */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "task.h"

static const struct xo_opt opts[] = {
	{ 'j', "json", NULL, "print a JSON array of task records" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_task *t;
	size_t n;
	bool json = false;
	char desc[1200];
	xo_err e;
	int c;

	xo_cli_init(&cli, argc, argv, "[--json]", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		json |= c == 'j';
	xo_cli_operands(&cli, 0, 0);
	if (xo_task_list(&t, &n, &e) < 0)
		return xo_cli_fail(&e);
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		if (json) {
			json_object_array_add(a, xo_task_to_json(&t[i]));
			continue;
		}
		xo_task_describe(&t[i], desc, sizeof(desc));
		printf("%s %s %s %s\n", t[i].id, t[i].op, t[i].vm_name[0] ? t[i].vm_name : "-", desc);
	}
	if (json)
		xo_print_json(a);
	else
		json_object_put(a);
	free(t);
	return 0;
}
