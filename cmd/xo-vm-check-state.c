/* xo-vm-check-state: find what a VM needs (after a crash, a guest's shutdown...) and do it */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "config.h"
#include "opmain.h"
#include "queue.h"
#include "stat.h"

enum { O_ALL = 256, O_ASYNC };

static const struct xo_opt opts[] = {
	{ O_ALL, "all", NULL, "every VM (after a host or toolstack restart)" },
	{ O_ASYNC, "async", NULL, "queue and return: print the task id(s)" },
	{ 'j', "json", NULL, "print the finished task as JSON (one VM)" },
	{ 0, NULL, NULL, NULL },
};

/* queue a check-state for every VM, then wait for all of them; a VM whose configuration
 * cannot be read is reported (and the exit is not 0), and checked all the same: what it
 * left on the host is released, a running one is left running */
static int all(bool async)
{
	char (*uuids)[XO_UUID_LEN + 1];
	size_t n;
	struct xo_task *t;
	int code = 0;
	xo_err e;

	if (xo_vm_list_uuids(&uuids, &n, &e) < 0)
		return xo_cli_fail(&e);
	t = xcalloc(n ? n : 1, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		struct xo_vm vm;
		char name[XO_NAME_MAX + 1];
		if (xo_vm_load(uuids[i], &vm, &e) == 0) {
			xo_strlcpy(name, vm.name, sizeof(name));
			xo_vm_free(&vm);
		} else {
			xo_warn("vm %s: %s", uuids[i], e.msg);
			code = xo_ecls_exit(e.cls);
			if (e.cls != XO_E_INVALID)
				continue;
			xo_strlcpy(name, uuids[i], sizeof(name));
		}
		if (xo_submit(uuids[i], name, "VM_check_state", "", XO_SUBMIT_COALESCE, &t[i], &e) < 0) {
			xo_warn("vm %s: %s", name, e.msg);
			t[i].id[0] = '\0';
			code = xo_ecls_exit(e.cls);
		} else if (async) {
			printf("%s\n", t[i].id);
		}
	}
	for (size_t i = 0; !async && i < n; i++) {
		struct xo_task done;
		if (!t[i].id[0])
			continue;
		if (xo_task_wait(t[i].id, -1, NULL, NULL, &done, &e) < 0) {
			xo_warn("vm %s: %s", uuids[i], e.msg);
			code = xo_ecls_exit(e.cls);
			continue;
		}
		char desc[1200];
		xo_task_describe(&done, desc, sizeof(desc));
		printf("%s %s %s\n", uuids[i], done.vm_name, desc);
		if (done.state != XO_TASK_COMPLETED)
			code = xo_ecls_exit(done.err_cls);
		xo_task_destroy(done.id, &e);
	}
	free(t);
	free(uuids);
	return code;
}

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_op_opts o = { .timeout_ms = -1 };
	bool every = false;
	int c;

	xo_cli_init(&cli, argc, argv, "[--async] [--json] (VM | --all)", opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		switch (c) {
		case O_ALL: every = true; break;
		case O_ASYNC: o.async = true; break;
		case 'j': o.json = true; break;
		}
	}
	if (every) {
		xo_cli_operands(&cli, 0, 0);
		return all(o.async);
	}
	xo_cli_operands(&cli, 1, 1);
	return xo_op_main(cli.argv[0], "VM_check_state", "", &o);
}
