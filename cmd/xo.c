/*
 * xo: the front door. "xo vm add ARGS" runs xo-vm-add ARGS; "xo help" lists the commands.
 * "xo --list-commands" (not in the help: for completions and scripts) prints every
 * program of the registry but xo itself, one name per line.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "registry.h"
#include "util.h"

static void list_commands(void)
{
	const char *group = NULL;

	printf("usage: xo COMMAND [ARGS...]   (\"xo vm start web1\" runs \"xo-vm-start web1\")\n");
	for (const struct xo_command *c = xo_commands; c->name; c++) {
		if (strcmp(c->name, "xo") == 0)
			continue;
		if (!group || strcmp(group, c->group) != 0) {
			group = c->group;
			printf("\n%s commands:\n", group);
		}
		printf("  %-22s %s\n", c->name + 3, c->summary);
	}
	printf("\n\"xo help COMMAND\" shows a command's help; see xo(7) for the concepts.\n");
}

/* exec NAME with ARGS (and --help when help is set): the sibling program first, then PATH */
__attribute__((noreturn)) static void run(const char *name, int argc, char **args, bool help)
{
	char path[PATH_MAX];
	char **av = xcalloc((size_t)argc + 3, sizeof(char *));
	int n = 0;

	av[n++] = (char *)name;
	for (int i = 0; i < argc; i++)
		av[n++] = args[i];
	if (help)
		av[n++] = "--help";
	av[n] = NULL;
	snprintf(path, sizeof(path), "%s/%s", xo_self_dir(), name);
	if (access(path, X_OK) == 0)
		execv(path, av);
	execvp(name, av);
	fprintf(stderr, "xo: fatal: unable to run %s: %s\n", name, strerror(errno));
	exit(errno == ENOENT ? XO_EXIT_USAGE : XO_EXIT_SYSTEM);
}

int main(int argc, char **argv)
{
	char name[256];
	bool help = false;

	xo_prog = "xo";
	if (argc == 2 && strcmp(argv[1], "--list-commands") == 0) {
		for (const struct xo_command *c = xo_commands; c->name; c++)
			if (strcmp(c->name, "xo") != 0)
				puts(c->name);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		list_commands();
		return argc < 2 ? XO_EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc == 2) {
			list_commands();
			return 0;
		}
		/* "xo help vm add" = "xo vm add --help" */
		help = true;
		argv++;
		argc--;
	}
	/* the longest run of words that names a command: "vm" "add" -> xo-vm-add */
	int best = 0;
	char best_name[256] = "";
	size_t len = xo_strlcpy(name, "xo", sizeof(name));
	for (int i = 1; i < argc && i <= 4; i++) {
		if (argv[i][0] == '-' && i > 1)
			break;
		size_t n = strlen(argv[i]);
		if (len + 1 + n >= sizeof(name))
			break;
		name[len++] = '-';
		memcpy(name + len, argv[i], n + 1);
		len += n;
		if (xo_command_find(name)) {
			best = i;
			xo_strlcpy(best_name, name, sizeof(best_name));
		}
	}
	if (!best) {
		fprintf(stderr, "xo: fatal: usage: unknown command '%s' (\"xo help\" lists them)\n", argv[1]);
		return XO_EXIT_USAGE;
	}
	run(best_name, argc - best - 1, argv + best + 1, help);
}
