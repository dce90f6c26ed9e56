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
	struct xo_backend pb = { 0 };
	char uuid[XO_UUID_LEN + 1], cmd[1400], name[1200];
	xo_err e;

	if (xo_vm_resolve(ref, uuid, &e) < 0 || xo_vm_load(uuid, &vm, &e) < 0 ||
	    xo_devices_load(uuid, &d, &e) < 0 || xo_backend_lookup(&pb.ops, &e) < 0 ||
	    xo_op_plan(&pb, &vm, &d, op, arg, &p, &e) < 0) {
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
			/* a step the backend cannot split off: the plan says where it went */
			if (p.a[i].kind == XO_A_VM_CREATE && !xo_be_has_build(&pb))
				printf("# VM_build: the %s backend builds the domain in VM_create\n", pb.ops->name);
			if (p.a[i].kind == XO_A_VM_CREATE && !pb.ops->dm_start &&
			    (vm.type == XO_VM_HVM || vm.framebuffer))
				printf("# VM_create_device_model: the %s backend starts the device model in VM_create\n",
				       pb.ops->name);
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

/* the operations that stop a VM, which must work whatever state the state directory is
 * in: full, or with the VM's files unreadable */
static bool stops_vm(const char *op, const char *arg)
{
	return strcmp(op, "VM_destroy") == 0 || strcmp(op, "VM_check_state") == 0 ||
	       (strcmp(op, "VM_shutdown") == 0 && strcmp(arg, "hard") == 0);
}

/* a stop on a full state directory: no queue entry, no task record, no journal, but the
 * operation run here under the VM's lock (a crash in the middle leaves what the next
 * check-state finishes: a teardown marks the VM's action request first) */
static int run_in_place(const char *uuid, const char *name, const char *op, const char *arg,
			const struct xo_op_opts *o, const char *what)
{
	struct xo_task t;
	xo_err e;

	xo_warn("the state directory is full: %s runs here, without a task record", what);
	int lockfd = xo_vm_lock_for_op(uuid, true, op, &e);
	if (lockfd < 0) {
		xo_err_wrap(&e, "unable to %s", what);
		return xo_cli_fail(&e);
	}
	xo_task_init(&t, op, uuid, name, arg);
	xo_run_locked(uuid, &t, op, arg, NULL, true, &e);
	xo_vm_unlock(uuid, lockfd);
	return report(&t, what, o->json);
}

int xo_op_main(const char *ref, const char *op, const char *arg, const struct xo_op_opts *o)
{
	char uuid[XO_UUID_LEN + 1], what[160], name[XO_NAME_MAX + 1];
	struct xo_vm vm;
	struct xo_task t;
	xo_err e;
	bool shown = false;

	if (xo_vm_resolve(ref, uuid, &e) < 0)
		return xo_cli_fail(&e);
	if (xo_vm_load(uuid, &vm, &e) == 0) {
		xo_strlcpy(name, vm.name, sizeof(name));
		xo_vm_free(&vm);
	} else if (stops_vm(op, arg) && e.cls == XO_E_INVALID) {
		/* an unreadable configuration does not keep a VM from stopping */
		xo_warn("vm %s: %s", uuid, e.msg);
		xo_strlcpy(name, uuid, sizeof(name));
	} else {
		return xo_cli_fail(&e);
	}
	snprintf(what, sizeof(what), "%s vm %s", op, name);
	if (xo_submit(uuid, name, op, arg, strcmp(op, "VM_check_state") == 0 ? XO_SUBMIT_COALESCE : 0, &t, &e) < 0) {
		if (xo_err_no_space(&e) && stops_vm(op, arg))
			return run_in_place(uuid, name, op, arg, o, what);
		xo_err_wrap(&e, "unable to %s", what);
		return xo_cli_fail(&e);
	}
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

/* ---------------------------------------------------------------- changes at run time */

enum { O_MIN = 320, O_MAX };

/* a size operand or option, as the micro-op's arg takes it (exact: 256M, 1536K) */
static void size_word(struct xo_cli *cli, const char *what, const char *s, char *out, size_t size)
{
	uint64_t v;

	if (xo_parse_size(s, &v) < 0 || v == 0)
		xo_cli_usage_error(cli, "invalid %s '%s': expected a size such as 512M or 2G", what, s);
	xo_fmt_size(v, out, size);
}

int xo_change_main(int argc, char **argv, enum xo_atom_kind kind)
{
	static const struct xo_opt memory_opts[] = {
		{ O_MIN, "min", "SIZE", "the dynamic minimum memory (the lowest target)" },
		{ O_MAX, "max", "SIZE", "the dynamic maximum memory (the highest target)" },
		{ O_ASYNC, "async", NULL, "print the task id and return at once" },
		{ O_PLAN_OP, "plan", NULL, "print the micro-op as an xo command instead" },
		{ 'j', "json", NULL, "print the finished task (or the plan) as JSON" },
		{ 0, NULL, NULL, NULL },
	};
	static const struct xo_opt plain_opts[] = {
		{ O_ASYNC, "async", NULL, "print the task id and return at once" },
		{ O_PLAN_OP, "plan", NULL, "print the micro-op as an xo command instead" },
		{ 'j', "json", NULL, "print the finished task (or the plan) as JSON" },
		{ 0, NULL, NULL, NULL },
	};
	const struct xo_atom_def *d = xo_atom_def(kind);
	bool memory = kind == XO_A_VM_SET_MEMORY;
	struct xo_cli cli;
	struct xo_op_opts o = { .timeout_ms = -1 };
	char w[3][32] = { "-", "-", "-" }, arg[64];
	int c;

	xo_cli_init(&cli, argc, argv,
		    memory ? "[--min SIZE] [--max SIZE] [--async | --plan] [--json] VM [TARGET]" :
		    kind == XO_A_VM_SET_VCPUS ? "[--async | --plan] [--json] VM N"
					      : "[--async | --plan] [--json] VM CPUS",
		    memory ? memory_opts : plain_opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		switch (c) {
		case O_ASYNC: o.async = true; break;
		case 'j': o.json = true; break;
		case O_PLAN_OP: o.plan = true; break;
		case O_MIN: size_word(&cli, "--min", cli.arg, w[1], sizeof(w[1])); break;
		case O_MAX: size_word(&cli, "--max", cli.arg, w[2], sizeof(w[2])); break;
		}
	}
	if (o.async && o.plan)
		xo_cli_usage_error(&cli, "--async and --plan do not go together");
	if (memory) {
		xo_cli_operands(&cli, 1, 2);
		if (cli.argc == 2)
			size_word(&cli, "target", cli.argv[1], w[0], sizeof(w[0]));
		else if (strcmp(w[1], "-") == 0 && strcmp(w[2], "-") == 0)
			xo_cli_usage_error(&cli, "nothing to change: give a target, --min or --max");
		snprintf(arg, sizeof(arg), "%s %s %s", w[0], w[1], w[2]);
	} else if (kind == XO_A_VM_SET_VCPUS) {
		unsigned n;
		xo_cli_operands(&cli, 2, 2);
		if (xo_parse_uint(cli.argv[1], XO_VCPUS_MAX, &n) < 0 || n == 0)
			xo_cli_usage_error(&cli, "invalid vcpus '%s': expected 1 to %d", cli.argv[1],
					   XO_VCPUS_MAX);
		snprintf(arg, sizeof(arg), "%u", n);
	} else {
		uint8_t map[XO_CPUMAP_BYTES];
		xo_err e;
		xo_cli_operands(&cli, 2, 2);
		if (xo_cpulist_parse(cli.argv[1], map, "cpus", &e) < 0)
			xo_cli_usage_error(&cli, "%s", e.msg);
		if (strcmp(cli.argv[1], "all") == 0)
			snprintf(arg, sizeof(arg), "all");
		else
			xo_cpulist_format(map, XO_CPUS_MAX, arg, sizeof(arg));
		/* a task carries 63 characters: a longer list goes into the configuration
		 * with xo-vm-add -f */
		if (strlen(arg) + 1 >= sizeof(arg))
			xo_cli_usage_error(&cli, "cpu list '%s' too long (at most %zu characters)",
					   cli.argv[1], sizeof(arg) - 2);
	}
	if (o.plan)
		return xo_op_print_plan(cli.argv[0], d->name, arg, o.json);
	return xo_op_main(cli.argv[0], d->name, arg, &o);
}

/* ---------------------------------------------------------------- micro-ops by hand */

enum { O_REASON = 256, O_FORCE, O_TIMEOUT, O_KEEP, O_ALLOW };

/* the options of a micro-op's program: -n, --json and those its table entry names */
static void atom_options(const struct xo_atom_def *d, struct xo_opt *opts)
{
	static const struct {
		unsigned flag;
		struct xo_opt opt;
	} extra[] = {
		{ XO_AOPT_REASON, { O_REASON, "reason", "REASON", "hook reason (default none)" } },
		{ XO_AOPT_FORCE, { O_FORCE, "force", NULL, "unplug without asking the guest" } },
		{ XO_AOPT_TIMEOUT, { O_TIMEOUT, "timeout", "SECONDS",
				     "how long the guest has to shut down (default 60)" } },
		{ XO_AOPT_KEEP, { O_KEEP, "keep-build", NULL, "keep the build record (a reboot follows)" } },
		{ XO_AOPT_ALLOW, { O_ALLOW, "allow", "ADDR", "an address a locked vif may use (repeatable)" } },
	};
	size_t n = 0;

	opts[n++] = (struct xo_opt){ 'n', "no-wait", NULL, "fail at once (exit 1) if the VM is busy" };
	opts[n++] = (struct xo_opt){ 'j', "json", NULL, "print the task record as JSON" };
	for (size_t i = 0; i < XO_ARRAY_SIZE(extra); i++)
		if (d->options & extra[i].flag)
			opts[n++] = extra[i].opt;
	memset(&opts[n], 0, sizeof(opts[n]));
}

/* "a, b or c" from "a|b|c" */
static void words_list(const char *words, char *buf, size_t size)
{
	size_t n = 0, total = 1;

	for (const char *p = words; *p; p++)
		total += *p == '|';
	buf[0] = '\0';
	for (const char *p = words; *p;) {
		size_t l = strcspn(p, "|"), u = strlen(buf);
		n++;
		snprintf(buf + u, size - u, "%s%.*s", n == 1 ? "" : n == total ? " or " : ", ", (int)l, p);
		p += l + (p[l] == '|');
	}
}

static bool word_ok(const char *words, const char *w)
{
	size_t wl = strlen(w);
	for (const char *p = words; *p;) {
		size_t l = strcspn(p, "|");
		if (l == wl && strncmp(p, w, l) == 0)
			return true;
		p += l + (p[l] == '|');
	}
	return false;
}

/* the operands after VM, into a */
static void atom_operands(struct xo_cli *cli, const struct xo_atom_def *d, struct xo_atom *a)
{
	enum xo_operands o = d->operands;
	bool dev = o == XO_OPND_VBD || o == XO_OPND_VBD_FLAG || o == XO_OPND_VBD_ARG;
	bool pos = o == XO_OPND_POS || o == XO_OPND_POS_FLAG || o == XO_OPND_POS_ARG;
	bool flag = o == XO_OPND_VBD_FLAG || o == XO_OPND_POS_FLAG;
	bool word = o == XO_OPND_VBD_ARG || o == XO_OPND_POS_ARG || o == XO_OPND_ARG || o == XO_OPND_HOOK;
	int need = 1 + (dev || pos) + flag + word;
	int k = 1;
	xo_err e;

	xo_cli_operands(cli, need, need);
	if (dev) {
		if (xo_name_check(cli->argv[k], "vbd name", &e) < 0)
			exit(xo_cli_fail(&e));
		xo_strlcpy(a->dev, cli->argv[k++], sizeof(a->dev));
	}
	if (pos) {
		if (xo_vif_position_parse(cli->argv[k], &a->pos, &e) < 0)
			xo_cli_usage_error(cli, "%s", e.msg);
		k++;
	}
	if (flag) {
		if (strcmp(cli->argv[k], "on") != 0 && strcmp(cli->argv[k], "off") != 0)
			xo_cli_usage_error(cli, "expected on or off, not '%s'", cli->argv[k]);
		a->flag = strcmp(cli->argv[k++], "on") == 0;
	}
	if (word) {
		if (d->words && !word_ok(d->words, cli->argv[k])) {
			char list[256];
			words_list(d->words, list, sizeof(list));
			xo_cli_usage_error(cli, "expected %s, not '%s'", list, cli->argv[k]);
		}
		if (o == XO_OPND_HOOK && !xo_hook_name_valid(cli->argv[k]))
			xo_cli_usage_error(cli, "unknown hook '%s'", cli->argv[k]);
		xo_strlcpy(a->arg, cli->argv[k++], sizeof(a->arg));
	}
}

/* the micro-ops that take something away from a VM: they run on a full state directory */
static bool releases(enum xo_atom_kind k)
{
	return k == XO_A_VM_DESTROY || k == XO_A_VBD_UNPLUG || k == XO_A_VIF_UNPLUG ||
	       k == XO_A_PCI_UNPLUG || k == XO_A_DM_STOP || k == XO_A_VM_PAUSE ||
	       k == XO_A_SET_ACTION_REQUEST;
}

/* by hand, a micro-op is the device operation: the table says what runs around it */
static void hand_plan(const struct xo_atom_def *d, const struct xo_atom *a, struct xo_plan *plan)
{
	struct xo_atom around = *a;

	if (d->before != XO_A__COUNT) {
		around.kind = d->before;
		around.flag = true;
		xo_plan_add(plan, &around);
	}
	xo_plan_add(plan, a);
	if (d->after != XO_A__COUNT) {
		around.kind = d->after;
		around.flag = false;
		xo_plan_add(plan, &around);
	}
}

int xo_atom_main(int argc, char **argv, enum xo_atom_kind kind)
{
	const struct xo_atom_def *d = xo_atom_def(kind);
	struct xo_opt opts[8];
	struct xo_cli cli;
	struct xo_atom a = xo_atom_new(kind);
	struct xo_plan plan = { 0 };
	char uuid[XO_UUID_LEN + 1], name[128], what[192], usage[160];
	struct xo_vm vm;
	struct xo_task t;
	bool wait = true, json = false;
	const char *reason = "none";
	xo_err e;
	int c;

	atom_options(d, opts);
	xo_atom_usage(d, usage, sizeof(usage));
	a.timeout_ms = 60 * 1000;
	xo_cli_init(&cli, argc, argv, usage, opts);
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
		case O_TIMEOUT: a.timeout_ms = xo_cli_timeout_ms(&cli); break;
		}
	}
	atom_operands(&cli, d, &a);
	if (d->options & XO_AOPT_REASON)
		xo_strlcpy(a.arg2, reason, sizeof(a.arg2));

	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0)
		return xo_cli_fail(&e);
	if (xo_vm_load(uuid, &vm, &e) < 0) {
		/* an unreadable configuration does not keep a VM from being released */
		if (e.cls != XO_E_INVALID || !releases(kind))
			return xo_cli_fail(&e);
		xo_warn("vm %s: %s", uuid, e.msg);
		xo_vm_placeholder(uuid, &vm);
	}
	xo_atom_name(&a, name, sizeof(name));
	snprintf(what, sizeof(what), "%s of vm %s", name, vm.name);
	hand_plan(d, &a, &plan);
	int lockfd = xo_vm_lock_for_op(uuid, wait, name, &e);
	if (lockfd < 0) {
		xo_err_wrap(&e, "unable to run %s", what);
		xo_vm_free(&vm);
		xo_plan_free(&plan);
		return xo_cli_fail(&e);
	}
	int code = 0;
	bool created = xo_task_create(&t, name, uuid, vm.name, "", &e) == 0;
	bool journal = created && xo_journal_begin(uuid, &t, &e) == 0;
	if (!journal) {
		/* what releases a VM runs on a full state directory too, without a record */
		if (!xo_err_no_space(&e) || !releases(kind)) {
			xo_err ignore;
			if (created)
				xo_task_finish(&t, XO_TASK_FAILED, &e, &ignore);
			code = xo_cli_fail(&e);
			goto out;
		}
		xo_warn("the state directory is full: %s runs without a journal", what);
		if (!created)
			xo_task_init(&t, name, uuid, vm.name, "");
	}
	xo_run_locked(uuid, &t, d->name, "", &plan, true, &e);
	if (journal)
		xo_journal_end(uuid);
	code = report(&t, what, json);
	xo_err ignore;
	xo_task_destroy(t.id, &ignore);
out:
	xo_vm_unlock(uuid, lockfd);
	xo_vm_free(&vm);
	xo_plan_free(&plan);
	return code;
}
