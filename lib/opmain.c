/*
 * opmain.c: operation and micro-op program bodies (see opmain.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hooks.h"
#include "json.h"
#include "opmain.h"
#include "queue.h"
#include "state.h"

void xo_progress_print(const struct xo_task *t, void *arg)
{
	bool *shown = arg;
	int width = 20, done = (int)(t->progress * width + 0.5);
	char bar[32];

	for (int i = 0; i < width; i++)
		bar[i] = i < done ? '#' : ' ';
	bar[width] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%% %-40.40s", t->vm_name, bar, (int)(t->progress * 100 + 0.5),
		t->state == XO_TASK_PENDING ? (t->atom[0] ? t->atom : "queued") : xo_task_state_name(t->state));
	*shown = true;
}

static int report(const struct xo_task *t, const char *what, bool json)
{
	if (json)
		xo_print_json(xo_task_to_json(t));
	if (t->state == XO_TASK_COMPLETED)
		return 0;
	xo_err e;
	e.cls = t->err_cls;
	snprintf(e.msg, sizeof(e.msg), "unable to %s: %s%s%s", what, t->err_atom[0] ? t->err_atom : "",
		 t->err_atom[0] ? ": " : "", t->err_msg);
	return xo_err_report(&e);
}

int xo_op_print_plan(const char *ref, const char *op, const char *arg, bool json)
{
	struct xo_vm vm;
	struct xo_devices d;
	struct xo_plan p;
	char uuid[XO_UUID_LEN + 1], cmd[1400], name[1200];
	xo_err e;

	if (xo_vm_resolve(ref, uuid, &e) < 0 || xo_vm_load(uuid, &vm, &e) < 0 ||
	    xo_devices_load(uuid, &d, &e) < 0 || xo_op_plan(&vm, &d, op, arg, &p, &e) < 0) {
		xo_err_wrap(&e, "unable to plan %s of vm %s", op, ref);
		return xo_cli_fail(&e);
	}
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < p.n; i++) {
		xo_atom_command(&vm, &p.a[i], cmd, sizeof(cmd));
		xo_atom_name(&p.a[i], name, sizeof(name));
		if (json) {
			struct json_object *o = json_object_new_object();
			xo_json_add_str(o, "atom", name);
			xo_json_add_str(o, "command", cmd);
			json_object_array_add(a, o);
		} else {
			puts(cmd);
		}
	}
	if (json)
		xo_print_json(a);
	else
		json_object_put(a);
	xo_plan_free(&p);
	xo_devices_free(&d);
	xo_vm_free(&vm);
	return 0;
}

int xo_op_main(const char *ref, const char *op, const char *arg, const struct xo_op_opts *o)
{
	char uuid[XO_UUID_LEN + 1], what[160];
	struct xo_vm vm;
	struct xo_task t;
	xo_err e;
	bool shown = false;

	if (xo_vm_resolve(ref, uuid, &e) < 0 || xo_vm_load(uuid, &vm, &e) < 0)
		return xo_cli_fail(&e);
	snprintf(what, sizeof(what), "%s vm %s", op, vm.name);
	if (xo_submit(uuid, vm.name, op, arg, strcmp(op, "VM_check_state") == 0 ? XO_SUBMIT_COALESCE : 0, &t, &e) < 0) {
		xo_err_wrap(&e, "unable to %s", what);
		xo_vm_free(&vm);
		return xo_cli_fail(&e);
	}
	xo_vm_free(&vm);
	if (o->async) {
		printf("%s\n", t.id);
		return 0;
	}
	/* the progress bar: on a terminal, or always / never by XO_PROGRESS */
	const char *pe = getenv("XO_PROGRESS");
	bool tty = !o->json && (pe && strcmp(pe, "always") == 0 ? true :
				pe && strcmp(pe, "never") == 0 ? false : isatty(2));
	if (xo_task_wait(t.id, o->timeout_ms, tty ? xo_progress_print : NULL, &shown, &t, &e) < 0) {
		if (shown)
			fputc('\n', stderr);
		xo_err_wrap(&e, "unable to %s", what);
		return xo_cli_fail(&e);
	}
	if (shown)
		fputc('\n', stderr);
	int code = report(&t, what, o->json);
	xo_err ignore;
	xo_task_destroy(t.id, &ignore);
	return code;
}

enum { O_ASYNC = 300, O_FORCE_OP, O_TIMEOUT_OP, O_PLAN_OP };

int xo_lifecycle_main(int argc, char **argv, const char *op)
{
	static const struct xo_opt clean_opts[] = {
		{ O_FORCE_OP, "force", NULL, "do not ask the guest: destroy the domain at once" },
		{ O_TIMEOUT_OP, "timeout", "SECONDS", "how long the guest has to shut down (default 1200)" },
		{ O_ASYNC, "async", NULL, "print the task id and return at once" },
		{ O_PLAN_OP, "plan", NULL, "print the micro-ops as xo commands instead" },
		{ 'j', "json", NULL, "print the finished task (or the plan) as JSON" },
		{ 0, NULL, NULL, NULL },
	};
	static const struct xo_opt plain_opts[] = {
		{ O_ASYNC, "async", NULL, "print the task id and return at once" },
		{ O_PLAN_OP, "plan", NULL, "print the micro-ops as xo commands instead" },
		{ 'j', "json", NULL, "print the finished task (or the plan) as JSON" },
		{ 0, NULL, NULL, NULL },
	};
	bool clean_op = strcmp(op, "VM_shutdown") == 0 || strcmp(op, "VM_reboot") == 0;
	struct xo_cli cli;
	struct xo_op_opts o = { .timeout_ms = -1 };
	bool force = false;
	double timeout = 1200;
	char arg[32];
	int c;

	xo_cli_init(&cli, argc, argv,
		    clean_op ? "[--force | --timeout SECONDS] [--async | --plan] [--json] VM"
			     : "[--async | --plan] [--json] VM",
		    clean_op ? clean_opts : plain_opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		switch (c) {
		case O_ASYNC: o.async = true; break;
		case 'j': o.json = true; break;
		case O_FORCE_OP: force = true; break;
		case O_PLAN_OP: o.plan = true; break;
		case O_TIMEOUT_OP:
			if (xo_parse_seconds(cli.arg, &timeout) < 0 || timeout <= 0)
				xo_cli_usage_error(&cli, "invalid timeout '%s'", cli.arg);
			break;
		}
	}
	xo_cli_operands(&cli, 1, 1);
	if (force)
		snprintf(arg, sizeof(arg), "hard");
	else
		snprintf(arg, sizeof(arg), "clean %d", (int)(timeout * 1000));
	if (o.plan)
		return xo_op_print_plan(cli.argv[0], op, clean_op ? arg : "", o.json);
	return xo_op_main(cli.argv[0], op, clean_op ? arg : "", &o);
}

/* ---------------------------------------------------------------- micro-ops by hand */

enum operands { OPS_VM, OPS_VM_DEV, OPS_VM_DEV_FLAG, OPS_VM_POS, OPS_VM_POS_FLAG, OPS_VM_ARG,
		OPS_VM_HOOK, OPS_VM_DEV_ARG, OPS_VM_POS_ARG };

static enum operands operands_of(enum xo_atom_kind k)
{
	switch (k) {
	case XO_A_HOOK: return OPS_VM_HOOK;
	case XO_A_VBD_SET_ACTIVE: return OPS_VM_DEV_FLAG;
	case XO_A_VBD_EPOCH_BEGIN: case XO_A_VBD_EPOCH_END: case XO_A_VBD_PLUG:
	case XO_A_VBD_UNPLUG: case XO_A_VBD_EJECT: return OPS_VM_DEV;
	case XO_A_VBD_INSERT: return OPS_VM_DEV_ARG;
	case XO_A_VIF_SET_ACTIVE: case XO_A_VIF_SET_CARRIER: return OPS_VM_POS_FLAG;
	case XO_A_VIF_SET_LOCKING: return OPS_VM_POS_ARG;
	case XO_A_VIF_PLUG: case XO_A_VIF_UNPLUG: case XO_A_PCI_PLUG: case XO_A_PCI_UNPLUG:
		return OPS_VM_POS;
	case XO_A_SET_ACTION_REQUEST: case XO_A_VM_SHUTDOWN_DOMAIN: return OPS_VM_ARG;
	default: return OPS_VM;
	}
}

static const char *usage_of(enum xo_atom_kind k)
{
	switch (k) {
	case XO_A_HOOK: return "[-n] VM HOOK [--reason REASON]";
	case XO_A_VBD_SET_ACTIVE: return "[-n] VM NAME on|off";
	case XO_A_VBD_UNPLUG: return "[-n] [--force] VM NAME";
	case XO_A_VIF_SET_ACTIVE: return "[-n] VM POSITION on|off";
	case XO_A_VIF_UNPLUG: return "[-n] [--force] VM POSITION";
	case XO_A_SET_ACTION_REQUEST: return "[-n] VM none|poweroff|reboot";
	case XO_A_VM_SHUTDOWN_DOMAIN: return "[-n] VM poweroff|reboot|halt|suspend [--timeout SECONDS]";
	case XO_A_VM_DESTROY: return "[-n] [--keep-build] VM";
	case XO_A_VBD_INSERT: return "[-n] VM NAME PATH";
	case XO_A_VIF_SET_CARRIER: return "[-n] VM POSITION on|off";
	case XO_A_VIF_SET_LOCKING: return "[-n] VM POSITION unlocked|locked|disabled [--allow ADDR]...";
	default:
		switch (operands_of(k)) {
		case OPS_VM_DEV: return "[-n] VM NAME";
		case OPS_VM_POS: return "[-n] VM POSITION";
		default: return "[-n] VM";
		}
	}
}

enum { O_REASON = 256, O_FORCE, O_TIMEOUT, O_KEEP, O_ALLOW };

int xo_atom_main(int argc, char **argv, enum xo_atom_kind kind)
{
	static const struct xo_opt all[] = {
		{ 'n', "no-wait", NULL, "fail at once (exit 1) if the VM is busy" },
		{ 'j', "json", NULL, "print the task record as JSON" },
		{ O_REASON, "reason", "REASON", "hook reason (default none)" },
		{ O_FORCE, "force", NULL, "unplug without asking the guest" },
		{ O_TIMEOUT, "timeout", "SECONDS", "how long the guest has to shut down (default 60)" },
		{ O_KEEP, "keep-build", NULL, "keep the build record (a reboot follows)" },
		{ O_ALLOW, "allow", "ADDR", "an address a locked vif may use (repeatable)" },
	};
	/* each micro-op takes only the options that mean something to it */
	struct xo_opt opts[sizeof(all) / sizeof(all[0]) + 1];
	size_t no = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		int id = all[i].key;
		if ((id == O_REASON && kind != XO_A_HOOK) ||
		    (id == O_FORCE && kind != XO_A_VBD_UNPLUG && kind != XO_A_VIF_UNPLUG) ||
		    (id == O_TIMEOUT && kind != XO_A_VM_SHUTDOWN_DOMAIN) ||
		    (id == O_KEEP && kind != XO_A_VM_DESTROY) ||
		    (id == O_ALLOW && kind != XO_A_VIF_SET_LOCKING))
			continue;
		opts[no++] = all[i];
	}
	memset(&opts[no], 0, sizeof(opts[no]));
	struct xo_cli cli;
	struct xo_atom a;
	struct xo_plan plan = { 0 };
	char uuid[XO_UUID_LEN + 1], name[128], what[192];
	struct xo_vm vm;
	struct xo_task t;
	bool wait = true, json = false;
	const char *reason = "none";
	int timeout_ms = 60 * 1000;
	xo_err e;
	int c;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	a.pos = -1;
	xo_cli_init(&cli, argc, argv, usage_of(kind), opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		switch (c) {
		case 'n': wait = false; break;
		case 'j': json = true; break;
		case O_REASON: reason = cli.arg; break;
		case O_FORCE: a.flag = true; break;
		case O_KEEP: a.flag = true; break;
		case O_ALLOW: {
			size_t l = strlen(a.arg2);
			if (l + strlen(cli.arg) + 2 > sizeof(a.arg2))
				xo_cli_usage_error(&cli, "too many --allow addresses");
			snprintf(a.arg2 + l, sizeof(a.arg2) - l, "%s%s", l ? "," : "", cli.arg);
			break;
		}
		case O_TIMEOUT: timeout_ms = xo_cli_timeout_ms(&cli); break;
		}
	}
	enum operands ops = operands_of(kind);
	int need = ops == OPS_VM ? 1 :
		   ops == OPS_VM_DEV_FLAG || ops == OPS_VM_POS_FLAG || ops == OPS_VM_DEV_ARG ||
		   ops == OPS_VM_POS_ARG ? 3 : 2;
	xo_cli_operands(&cli, need, need);
	switch (ops) {
	case OPS_VM_DEV:
	case OPS_VM_DEV_FLAG:
	case OPS_VM_DEV_ARG:
		if (ops == OPS_VM_DEV_ARG)
			xo_strlcpy(a.arg, cli.argv[2], sizeof(a.arg));
		if (xo_name_check(cli.argv[1], "vbd name", &e) < 0)
			return xo_cli_fail(&e);
		xo_strlcpy(a.dev, cli.argv[1], sizeof(a.dev));
		break;
	case OPS_VM_POS:
	case OPS_VM_POS_FLAG:
	case OPS_VM_POS_ARG:
		if (ops == OPS_VM_POS_ARG)
			xo_strlcpy(a.arg, cli.argv[2], sizeof(a.arg));
		if (xo_vif_position_parse(cli.argv[1], &a.pos, &e) < 0)
			xo_cli_usage_error(&cli, "%s", e.msg);
		break;
	case OPS_VM_ARG:
		xo_strlcpy(a.arg, cli.argv[1], sizeof(a.arg));
		break;
	case OPS_VM_HOOK:
		xo_strlcpy(a.arg, cli.argv[1], sizeof(a.arg));
		xo_strlcpy(a.arg2, reason, sizeof(a.arg2));
		break;
	case OPS_VM:
		break;
	}
	if (ops == OPS_VM_DEV_FLAG || ops == OPS_VM_POS_FLAG) {
		if (strcmp(cli.argv[2], "on") != 0 && strcmp(cli.argv[2], "off") != 0)
			xo_cli_usage_error(&cli, "expected on or off, not '%s'", cli.argv[2]);
		a.flag = strcmp(cli.argv[2], "on") == 0;
	}
	if (kind == XO_A_SET_ACTION_REQUEST && strcmp(a.arg, "none") && strcmp(a.arg, "poweroff") &&
	    strcmp(a.arg, "reboot"))
		xo_cli_usage_error(&cli, "expected none, poweroff or reboot, not '%s'", a.arg);
	if (kind == XO_A_HOOK && !xo_hook_name_valid(a.arg))
		xo_cli_usage_error(&cli, "unknown hook '%s'", a.arg);
	a.timeout_ms = timeout_ms;

	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_vm_load(uuid, &vm, &e) < 0)
		return xo_cli_fail(&e);
	xo_atom_name(&a, name, sizeof(name));
	snprintf(what, sizeof(what), "%s of vm %s", name, vm.name);
	/* by hand, a plug is the hot-plug operation: active, then plugged (an unplug the reverse) */
	struct xo_atom act = a;
	act.flag = true;
	if (kind == XO_A_VBD_PLUG) {
		act.kind = XO_A_VBD_SET_ACTIVE;
		xo_plan_add(&plan, &act);
	} else if (kind == XO_A_VIF_PLUG) {
		act.kind = XO_A_VIF_SET_ACTIVE;
		xo_plan_add(&plan, &act);
	}
	xo_plan_add(&plan, &a);
	act.flag = false;
	if (kind == XO_A_VBD_UNPLUG) {
		act.kind = XO_A_VBD_SET_ACTIVE;
		xo_plan_add(&plan, &act);
	} else if (kind == XO_A_VIF_UNPLUG) {
		act.kind = XO_A_VIF_SET_ACTIVE;
		xo_plan_add(&plan, &act);
	}
	int lockfd = xo_vm_lock_for_op(uuid, wait, name, &e);
	if (lockfd < 0) {
		xo_err_wrap(&e, "unable to run %s", what);
		xo_vm_free(&vm);
		xo_plan_free(&plan);
		return xo_cli_fail(&e);
	}
	int code = 0;
	if (xo_task_create(&t, name, uuid, vm.name, "", &e) < 0) {
		code = xo_cli_fail(&e);
	} else if (xo_journal_begin(uuid, &t, &e) < 0) {
		xo_task_finish(&t, XO_TASK_FAILED, &e, &e);
		code = xo_cli_fail(&e);
	} else {
		xo_run_locked(uuid, &t, name, "", &plan, true, &e);
		xo_journal_end(uuid);
		code = report(&t, what, json);
		xo_err ignore;
		xo_task_destroy(t.id, &ignore);
	}
	xo_vm_unlock(uuid, lockfd);
	xo_vm_free(&vm);
	xo_plan_free(&plan);
	return code;
}
