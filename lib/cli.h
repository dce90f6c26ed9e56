/*
 * cli.h: option parsing and help for the thin mains.
 *
 * A program declares its usage line and an option table, then loops:
 *
 *     static const struct xo_opt opts[] = {
 *             { 'f', "file", "FILE", "read the VM as JSON from FILE" },
 *             { 'j', "json", NULL, "print JSON" },
 *             { 0 }
 *     };
 *     struct xo_cli cli;
 *     xo_cli_init(&cli, argc, argv, "[-f FILE] [--json]", opts);
 *     while ((c = xo_cli_next(&cli)) != -1)
 *             switch (c) { case 'f': file = cli.arg; break; ... }
 *     xo_cli_operands(&cli, 1, 1);      // exactly one operand: cli.argv[0]
 *
 * -h/--help prints the usage, the summary from the registry, the options and
 * the exit codes, and exits 0. An unknown option, a missing argument or a
 * wrong operand count prints "prog: fatal: usage: ..." and exits 100.
 * Options without a short letter use keys >= 256.
 */
#ifndef XO_CLI_H
#define XO_CLI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct xo_opt {
	int key;                 /* short letter, or >= 256 for long-only options */
	const char *name;        /* long name */
	const char *arg;         /* argument placeholder, NULL for a flag */
	const char *help;
};

struct xo_cli {
	const char *usage;
	const struct xo_opt *opts;
	int argc;
	char **argv;             /* after option parsing: the operands */
	const char *arg;         /* the current option's argument */
	int raw_argc;
	char **raw_argv;
};

void xo_cli_init(struct xo_cli *c, int argc, char **argv, const char *usage,
		 const struct xo_opt *opts);
/* next option key; -1 at the end (then c->argc/argv hold the operands) */
int xo_cli_next(struct xo_cli *c);
/* check the operand count (max -1 = unlimited) */
void xo_cli_operands(struct xo_cli *c, int min, int max);
__attribute__((noreturn, format(printf, 2, 3)))
void xo_cli_usage_error(const struct xo_cli *c, const char *fmt, ...);
/* the current option's argument as seconds (xo_parse_seconds), in milliseconds; a usage
 * error "invalid timeout" otherwise */
int xo_cli_timeout_ms(const struct xo_cli *c);
/* exit status of a failed call: report e and return its exit code */
int xo_cli_fail(const xo_err *e);

#endif

/* read JSON input: FILE, or standard input for NULL or "-"; `what` names it */
int xo_cli_read_input(const char *file, char **text, size_t *len, const char **what, xo_err *e);
/* yes/no, true/false, on/off, 1/0 */
int xo_parse_bool(const char *s, const char *what, bool *out, xo_err *e);
/* print a JSON value to stdout (pretty) followed by a newline; takes the reference */
void xo_print_json(struct json_object *o);
