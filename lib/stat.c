/*
 * stat.c: runtime state of VMs and devices (see stat.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devstate.h"
#include "json.h"
#include "stat.h"

const char *xo_shutdown_reason_name(int reason)
{
	static const char *const names[] = { "poweroff", "reboot", "suspend", "crash", "watchdog",
		"soft_reset" };
	return reason >= 0 && reason < 6 ? names[reason] : "unknown";
}

int xo_vm_stat(struct xo_backend *b, const struct xo_vm *vm, struct xo_vm_state *s, xo_err *e)
{
	struct xo_vm_live l;

	memset(s, 0, sizeof(*s));
	s->power_state = "Halted";
	s->domid = -1;
	s->vnc_port = -1;
	if (xo_be_vm_live(b, vm, &l, e) < 0)
		return -1;
	if (!l.exists)
		return 0;
	s->domid = l.domid;
	s->power_state = l.paused ? "Paused" : "Running";
	s->shutdown = l.shutdown;
	s->shutdown_reason = l.shutdown ? (int)l.reason : -1;
	s->memory_actual = l.memory_actual;
	s->memory_target = l.memory_target;
	s->vcpu_target = l.vcpus;
	s->vcpu_actual = l.vcpus_online;
	xo_strlcpy(s->affinity, l.affinity, sizeof(s->affinity));
	s->console = l.console;
	xo_strlcpy(s->console_tty, l.console_tty, sizeof(s->console_tty));
	s->vnc_port = l.vnc_port;
	xo_strlcpy(s->vnc_path, l.vnc_path, sizeof(s->vnc_path));
	xo_strlcpy(s->action_request, l.action_request, sizeof(s->action_request));
	xo_strlcpy(s->accel, l.accel, sizeof(s->accel));
	s->start_time = l.start_time;
	return 0;
}

/*
 * Values read from xenstore reach people and scripts escaped (xo_str_escape): a guest
 * writes its own frontend state, and dom0's keys come from scripts; neither may put
 * escape sequences on a terminal or forge a line, in the human form or in JSON.
 */
static void add_escaped(struct json_object *o, const char *key, const char *v)
{
	char *esc = xo_str_escape(v);
	xo_json_add_str(o, key, esc);
	free(esc);
}

/* in a line of "key=value" fields, a space too would forge a field */
static void put_escaped(FILE *f, const char *v)
{
	char *esc = xo_str_escape(v);
	for (const char *c = esc; *c; c++)
		if (*c == ' ')
			fputs("\\x20", f);
		else
			fputc(*c, f);
	free(esc);
}

struct json_object *xo_vm_state_to_json(const struct xo_vm_state *s)
{
	struct json_object *o = json_object_new_object();
	struct json_object *consoles = json_object_new_array();

	xo_json_add_str(o, "power_state", s->power_state);
	if (s->domid >= 0)
		xo_json_add_int(o, "domid", s->domid);
	else
		json_object_object_add(o, "domid", NULL);
	if (s->console) {
		struct json_object *c = json_object_new_object();
		xo_json_add_str(c, "protocol", "vt100");
		add_escaped(c, "path", s->console_tty);
		xo_json_add_int(c, "port", -1);
		json_object_array_add(consoles, c);
	}
	if (s->vnc_port >= 0 || s->vnc_path[0]) {
		struct json_object *c = json_object_new_object();
		xo_json_add_str(c, "protocol", "rfb");
		xo_json_add_str(c, "path", s->vnc_path);
		xo_json_add_int(c, "port", s->vnc_port);
		json_object_array_add(consoles, c);
	}
	json_object_object_add(o, "consoles", consoles);
	xo_json_add_int(o, "memory_target", (int64_t)s->memory_target);
	xo_json_add_int(o, "memory_actual", (int64_t)s->memory_actual);
	xo_json_add_int(o, "vcpu_target", s->vcpu_target);
	if (s->vcpu_actual)
		xo_json_add_int(o, "vcpu_actual", s->vcpu_actual);
	else
		json_object_object_add(o, "vcpu_actual", NULL);
	if (s->affinity[0])
		xo_json_add_str(o, "affinity", s->affinity);
	else
		json_object_object_add(o, "affinity", NULL);
	xo_json_add_double(o, "start_time", s->start_time);
	if (s->shutdown)
		xo_json_add_str(o, "shutdown_reason", xo_shutdown_reason_name(s->shutdown_reason));
	else
		json_object_object_add(o, "shutdown_reason", NULL);
	if (s->action_request[0])
		add_escaped(o, "action_request", s->action_request);
	else
		json_object_object_add(o, "action_request", NULL);
	if (s->accel[0])
		xo_json_add_str(o, "accel", s->accel);
	return o;
}

void xo_vm_state_print(FILE *f, const struct xo_vm *vm, const struct xo_vm_state *s)
{
	char mem[32], actual[32];

	fprintf(f, "%s %s %s", vm->uuid, vm->name, s->power_state);
	if (s->domid < 0) {
		fputc('\n', f);
		return;
	}
	xo_fmt_size(s->memory_target, mem, sizeof(mem));
	xo_fmt_size(s->memory_actual, actual, sizeof(actual));
	fprintf(f, " domid=%d memory=%s memory-actual=%s vcpus=%u", s->domid, mem, actual,
		s->vcpu_target);
	if (s->vcpu_actual)
		fprintf(f, " vcpus-online=%u", s->vcpu_actual);
	if (s->affinity[0])
		fprintf(f, " affinity=%s", s->affinity);
	fputs(" console=", f);
	put_escaped(f, s->console ? (s->console_tty[0] ? s->console_tty : "pv") : "-");
	if (s->vnc_path[0]) {
		fputs(" vnc=", f);
		put_escaped(f, s->vnc_path);
	} else if (s->vnc_port >= 0) {
		fprintf(f, " vnc=%d", s->vnc_port);
	}
	fprintf(f, " start=%.3f", s->start_time);
	if (s->shutdown)
		fprintf(f, " shutdown=%s", xo_shutdown_reason_name(s->shutdown_reason));
	if (s->action_request[0]) {
		fputs(" action-request=", f);
		put_escaped(f, s->action_request);
	}
	if (s->accel[0])
		fprintf(f, " accel=%s", s->accel);
	fputc('\n', f);
}

static void from_live(struct xo_dev_state *s, const struct xo_dev_live *d)
{
	s->plugged = d->plugged;
	xo_strlcpy(s->backend_state, d->backend_state, sizeof(s->backend_state));
	xo_strlcpy(s->frontend_state, d->frontend_state, sizeof(s->frontend_state));
	xo_strlcpy(s->hotplug_status, d->hotplug_status, sizeof(s->hotplug_status));
	xo_strlcpy(s->params, d->params, sizeof(s->params));
	xo_strlcpy(s->physical_device, d->physical_device, sizeof(s->physical_device));
	xo_strlcpy(s->device, d->device, sizeof(s->device));
}

int xo_vbd_stat(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vbd *v,
		struct xo_dev_state *s, xo_err *e)
{
	struct xo_vm_live l;
	struct xo_dev_live d;

	memset(s, 0, sizeof(*s));
	s->active = xo_device_active(vm->uuid, "vbd", v->name);
	if (xo_be_vm_live(b, vm, &l, e) < 0 || xo_be_vbd_live(b, vm, &l, v, &d, e) < 0)
		return -1;
	from_live(s, &d);
	return 0;
}

int xo_vif_stat(struct xo_backend *b, const struct xo_vm *vm, const struct xo_vif *v,
		struct xo_dev_state *s, xo_err *e)
{
	struct xo_vm_live l;
	struct xo_dev_live d;
	char id[16];

	memset(s, 0, sizeof(*s));
	snprintf(id, sizeof(id), "%d", v->position);
	s->active = xo_device_active(vm->uuid, "vif", id);
	if (xo_be_vm_live(b, vm, &l, e) < 0 || xo_be_vif_live(b, vm, &l, v, &d, e) < 0)
		return -1;
	from_live(s, &d);
	return 0;
}

int xo_pci_stat(struct xo_backend *b, const struct xo_vm *vm, const struct xo_pci *pci,
		struct xo_dev_state *s, xo_err *e)
{
	struct xo_vm_live l;
	struct xo_dev_live d;

	memset(s, 0, sizeof(*s));
	if (xo_be_vm_live(b, vm, &l, e) < 0 || xo_be_pci_live(b, vm, &l, pci, &d, e) < 0)
		return -1;
	from_live(s, &d);
	s->active = s->plugged;
	xo_strlcpy(s->params, pci->address, sizeof(s->params));
	return 0;
}

struct json_object *xo_dev_state_to_json(const struct xo_dev_state *s, const char *kind)
{
	struct json_object *o = json_object_new_object();

	xo_json_add_bool(o, "active", s->active);
	xo_json_add_bool(o, "plugged", s->plugged);
	if (strcmp(kind, "pci") == 0) {
		xo_json_add_str(o, "address", s->params);
		return o;
	}
	add_escaped(o, "backend_state", s->backend_state);
	add_escaped(o, "frontend_state", s->frontend_state);
	add_escaped(o, "hotplug_status", s->hotplug_status);
	if (strcmp(kind, "vbd") == 0) {
		add_escaped(o, "params", s->params);
		add_escaped(o, "physical_device", s->physical_device);
	} else {
		add_escaped(o, "bridge", s->params);
		add_escaped(o, "device", s->device);
	}
	return o;
}

void xo_dev_state_print(FILE *f, const char *id, const struct xo_dev_state *s, const char *kind)
{
	fprintf(f, "%s %s %s", id, s->active ? "active" : "inactive", s->plugged ? "plugged" : "unplugged");
	if (strcmp(kind, "pci") != 0 && s->plugged) {
		fputs(" state=", f);
		put_escaped(f, s->backend_state[0] ? s->backend_state : "-");
		fputc('/', f);
		put_escaped(f, s->frontend_state[0] ? s->frontend_state : "-");
		fputs(" hotplug=", f);
		put_escaped(f, s->hotplug_status[0] ? s->hotplug_status : "-");
		fprintf(f, " %s=", strcmp(kind, "vbd") == 0 ? "params" : "bridge");
		put_escaped(f, s->params[0] ? s->params : "-");
		if (s->device[0]) {
			fputs(" device=", f);
			put_escaped(f, s->device);
		}
	}
	fputc('\n', f);
}
