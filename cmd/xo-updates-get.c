/* xo-updates-get: wait for changes after a token and print what changed */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "json.h"
#include "updates.h"
#include "util.h"

enum { O_TIMEOUT = 256 };

static const struct xo_opt opts[] = {
	{ O_TIMEOUT, "timeout", "SECONDS", "wait at most SECONDS (0: do not wait); exit 99 if nothing came" },
	{ 'j', "json", NULL, "print {\"token\": ..., \"updates\": [...]}" },
	{ 0, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_update *u = NULL;
	char tok[64];
	bool json = false;
	int timeout_ms = -1, c, n;
	xo_err e;

	xo_cli_init(&cli, argc, argv, "[--timeout SECONDS] [--json] [TOKEN]", opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		if (c == 'j')
			json = true;
		if (c == O_TIMEOUT)
			timeout_ms = xo_cli_timeout_ms(&cli);
	}
	xo_cli_operands(&cli, 0, 1);
	if (cli.argc == 0) {
		/* no token: where the log ends now, to start from */
		if (xo_updates_token(tok, sizeof(tok), &e) < 0)
			return xo_cli_fail(&e);
		n = 0;
	} else if ((n = xo_updates_get(cli.argv[0], timeout_ms, &u, tok, sizeof(tok), &e)) < 0) {
		return xo_cli_fail(&e);
	}
	if (json) {
		struct json_object *o = json_object_new_object(), *a = json_object_new_array();
		xo_json_add_str(o, "token", tok);
		for (int i = 0; i < n; i++) {
			struct json_object *x = json_object_new_object();
			xo_json_add_str(x, "kind", u[i].kind);
			xo_json_add_str(x, "id", u[i].id);
			json_object_array_add(a, x);
		}
		json_object_object_add(o, "updates", a);
		xo_print_json(o);
	} else {
		for (int i = 0; i < n; i++)
			printf("%s %s\n", u[i].kind, u[i].id);
		printf("token %s\n", tok);
	}
	free(u);
	return n == 0 && cli.argc > 0 ? XO_EXIT_TIMEOUT : 0;
}
