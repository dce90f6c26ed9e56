/*
 * cli.c: option parsing, --help and usage errors (see cli.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "registry.h"
#include "util.h"

static struct option *longopts;
static char shortopts[128];

void xo_cli_init(struct xo_cli *c, int argc, char **argv, const char *usage,
		 const struct xo_opt *opts)
{
	size_t n = 0, k = 0;
	const char *slash = strrchr(argv[0], '/');

	xo_prog = slash ? slash + 1 : argv[0];
	memset(c, 0, sizeof(*c));
	c->usage = usage;
	c->opts = opts;
	c->raw_argc = argc;
	c->raw_argv = argv;
	while (opts && opts[n].name)
		n++;
	longopts = xcalloc(n + 2, sizeof(*longopts));
	shortopts[k++] = ':';     /* options may follow operands: "xo-vbd-add web1 --path F" */
	for (size_t i = 0; i < n; i++) {
		longopts[i].name = opts[i].name;
		longopts[i].has_arg = opts[i].arg ? required_argument : no_argument;
		longopts[i].val = opts[i].key;
		if (opts[i].key > 0 && opts[i].key < 256 && k + 3 < sizeof(shortopts)) {
			shortopts[k++] = (char)opts[i].key;
			if (opts[i].arg)
				shortopts[k++] = ':';
		}
	}
	longopts[n].name = "help";
	longopts[n].val = 'h';
	shortopts[k++] = 'h';
	shortopts[k] = '\0';
	opterr = 0;
	optind = 1;
}

static void print_help(const struct xo_cli *c)
{
	const struct xo_command *cmd = xo_command_find(xo_prog);

	printf("usage: %s %s\n", xo_prog, c->usage);
	if (cmd)
		printf("%s\n", cmd->summary);
	printf("\noptions:\n");
	for (const struct xo_opt *o = c->opts; o && o->name; o++) {
		char left[64];
		if (o->key > 0 && o->key < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		printf("  %-28s %s\n", left, o->help);
	}
	printf("  %-28s %s\n", "-h, --help", "show this help");
	printf("\nexit status: 0 ok, 1 failed or no, 99 timeout, 100 usage, 111 system error\n");
	printf("see %s(1)\n", xo_prog);
}

void xo_cli_usage_error(const struct xo_cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: fatal: usage: ", xo_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (usage: %s %s)\n", xo_prog, c->usage);
	exit(XO_EXIT_USAGE);
}

int xo_cli_timeout_ms(const struct xo_cli *c)
{
	double s;

	if (xo_parse_seconds(c->arg, &s) < 0)
		xo_cli_usage_error(c, "invalid timeout '%s'", c->arg);
	return (int)(s * 1000);
}

int xo_cli_next(struct xo_cli *c)
{
	int idx = 0;
	int r = getopt_long(c->raw_argc, c->raw_argv, shortopts, longopts, &idx);

	if (r == -1) {
		c->argc = c->raw_argc - optind;
		c->argv = c->raw_argv + optind;
		return -1;
	}
	if (r == 'h') {
		print_help(c);
		exit(XO_EXIT_OK);
	}
	if (r == '?') {
		if (optopt && optopt < 256)
			xo_cli_usage_error(c, "unknown option '-%c'", optopt);
		xo_cli_usage_error(c, "unknown option '%s'", c->raw_argv[optind - 1]);
	}
	if (r == ':') {
		const char *name = c->raw_argv[optind - 1];
		xo_cli_usage_error(c, "option '%s' needs an argument", name);
	}
	c->arg = optarg;
	return r;
}

void xo_cli_operands(struct xo_cli *c, int min, int max)
{
	if (c->argc < min)
		xo_cli_usage_error(c, min == 1 ? "missing operand" : "missing operands");
	if (max >= 0 && c->argc > max)
		xo_cli_usage_error(c, "unexpected operand '%s'", c->argv[max]);
}

int xo_cli_fail(const xo_err *e)
{
	return xo_err_report(e);
}

int xo_cli_read_input(const char *file, char **text, size_t *len, const char **what, xo_err *e)
{
	int fd;

	if (!file || strcmp(file, "-") == 0) {
		*what = "standard input";
		if (xo_read_all_max(0, XO_JSON_MAX, text, len) < 0)
			return errno == EFBIG ? xo_errf(e, XO_E_INVALID, "unable to read standard input: "
							"over %d bytes, the most xo reads", XO_JSON_MAX)
					      : xo_err_sys(e, errno, "unable to read standard input");
		return 0;
	}
	*what = file;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xo_errf(e, XO_E_INVALID, "unable to open '%s': %s", file, strerror(errno));
	if (xo_read_all_max(fd, XO_JSON_MAX, text, len) < 0) {
		int err = errno;
		close(fd);
		if (err == EFBIG)
			return xo_errf(e, XO_E_INVALID, "unable to read '%s': over %d bytes, the most xo reads",
				       file, XO_JSON_MAX);
		return xo_errf(e, XO_E_INVALID, "unable to read '%s': %s", file, strerror(err));
	}
	close(fd);
	return 0;
}

int xo_parse_bool(const char *s, const char *what, bool *out, xo_err *e)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };

	for (const char *const *p = yes; *p; p++)
		if (strcmp(s, *p) == 0)
			return *out = true, 0;
	for (const char *const *p = no; *p; p++)
		if (strcmp(s, *p) == 0)
			return *out = false, 0;
	return xo_errf(e, XO_E_INVALID, "invalid %s '%s': expected yes or no", what, s);
}

void xo_print_json(struct json_object *o)
{
	char *s = xo_json_dump(o, true);
	puts(s);
	free(s);
	json_object_put(o);
}
