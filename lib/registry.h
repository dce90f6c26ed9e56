/*
 * registry.h: the command registry.
 *
 * cmd/commands.txt lists every program: name, group, whether it changes
 * state, and a one-line summary. The build turns it into the table below
 * (lib/registry-gen.awk); `xo help` prints it, the cli uses the summary in
 * --help, and tests check that every entry has a program, a man page and
 * completions.
 */
#ifndef XO_REGISTRY_H
#define XO_REGISTRY_H

#include <stdbool.h>

struct xo_command {
	const char *name;      /* "xo-vm-add" */
	const char *group;     /* config, lifecycle, micro-op, task, device, sim, main */
	bool writes;           /* changes state */
	const char *summary;
};

extern const struct xo_command xo_commands[];
const struct xo_command *xo_command_find(const char *name);

#endif
