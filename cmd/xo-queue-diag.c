/* xo-queue-diag: show the VM queues, workers, pool slots and pending tasks */
#include "cli.h"
#include "queue.h"

static const struct xo_opt opts[] = {
	{ 'j', "json", NULL, "print JSON" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	bool json = false;
	xo_err e;
	int c;

	xo_cli_init(&cli, argc, argv, "[--json]", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		json |= c == 'j';
	xo_cli_operands(&cli, 0, 0);
	if (xo_queue_diag(json, &e) < 0)
		return xo_cli_fail(&e);
	return 0;
}
