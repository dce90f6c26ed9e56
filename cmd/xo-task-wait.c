/* xo-task-wait: wait for a task to finish */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "opmain.h"
#include "queue.h"

enum { O_TIMEOUT = 256 };

static const struct xo_opt opts[] = {
	{ O_TIMEOUT, "timeout", "SECONDS", "give up after SECONDS (exit 99)" },
	{ 'j', "json", NULL, "print the finished task record as JSON" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_task t;
	bool json = false, shown = false;
	int timeout_ms = -1, c;
	xo_err e;

	xo_cli_init(&cli, argc, argv, "[--timeout SECONDS] [--json] TASK", opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		if (c == 'j')
			json = true;
		if (c == O_TIMEOUT)
			timeout_ms = xo_cli_timeout_ms(&cli);
	}
	xo_cli_operands(&cli, 1, 1);
	bool tty = isatty(2) && !json;
	int r = xo_task_wait(cli.argv[0], timeout_ms, tty ? xo_progress_print : NULL, &shown, &t, &e);
	if (shown)
		fputc('\n', stderr);
	if (r < 0)
		return xo_cli_fail(&e);
	if (json) {
		xo_print_json(xo_task_to_json(&t));
	} else {
		char desc[1200];
		xo_task_describe(&t, desc, sizeof(desc));
		printf("%s %s\n", t.id, desc);
	}
	return t.state == XO_TASK_COMPLETED ? 0 : xo_ecls_exit(t.err_cls);
}
