/*
 * show.c: human output of configuration (see show.h).
 */
#include <string.h>

#include "cli.h"
#include "json.h"
#include "show.h"
#include "state.h"

void xo_show_field(FILE *f, const char *s)
{
	if (!s || !*s) {
		fputs("-", f);
		return;
	}
	if (!strpbrk(s, " \t\"\\")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void xo_show_vm_line(FILE *f, const struct xo_vm *vm, const char *power_state, int domid)
{
	char mem[32];

	xo_fmt_size(vm->memory_static_max, mem, sizeof(mem));
	fprintf(f, "%s %s %s %s %u %s ", vm->uuid, vm->name, xo_vm_type_name(vm->type), mem,
		vm->vcpus, power_state);
	if (domid >= 0)
		fprintf(f, "%d\n", domid);
	else
		fputs("-\n", f);
}

static void kvs_long(FILE *f, const char *label, const struct xo_kvs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		fprintf(f, "%s %s=", label, m->v[i].k);
		xo_show_field(f, m->v[i].v);
		fputc('\n', f);
	}
}

void xo_show_vm_long(FILE *f, const struct xo_vm *vm, const struct xo_devices *d)
{
	char a[32], b[32], c[32];

	fprintf(f, "uuid %s\nname %s\ntype %s\n", vm->uuid, vm->name, xo_vm_type_name(vm->type));
	xo_fmt_size(vm->memory_static_max, a, sizeof(a));
	xo_fmt_size(vm->memory_dynamic_min, b, sizeof(b));
	xo_fmt_size(vm->memory_dynamic_max, c, sizeof(c));
	fprintf(f, "memory static_max=%s dynamic_min=%s dynamic_max=%s\n", a, b, c);
	fprintf(f, "vcpus %u\nvcpu_max %u\n", vm->vcpus, vm->vcpu_max);
	if (vm->kernel) {
		fputs("kernel ", f);
		xo_show_field(f, vm->kernel);
		fputc('\n', f);
	}
	if (vm->ramdisk) {
		fputs("ramdisk ", f);
		xo_show_field(f, vm->ramdisk);
		fputc('\n', f);
	}
	if (vm->cmdline) {
		fputs("cmdline ", f);
		xo_show_field(f, vm->cmdline);
		fputc('\n', f);
	}
	if (vm->bootloader) {
		fputs("bootloader ", f);
		xo_show_field(f, vm->bootloader);
		fputc('\n', f);
	}
	if (vm->boot_order)
		fprintf(f, "boot_order %s\n", vm->boot_order);
	if (vm->framebuffer)
		fputs("framebuffer yes\n", f);
	kvs_long(f, "platform", &vm->platform);
	kvs_long(f, "xsdata", &vm->xsdata);
	fprintf(f, "on_shutdown %s\non_reboot %s\non_crash %s\n", xo_action_name(vm->on_shutdown),
		xo_action_name(vm->on_reboot), xo_action_name(vm->on_crash));
	for (size_t i = 0; d && i < d->n_vbd; i++) {
		fputs("vbd ", f);
		xo_show_vbd_line(f, &d->vbd[i]);
	}
	for (size_t i = 0; d && i < d->n_vif; i++) {
		fputs("vif ", f);
		xo_show_vif_line(f, &d->vif[i]);
	}
	for (size_t i = 0; d && i < d->n_pci; i++) {
		fputs("pci ", f);
		xo_show_pci_line(f, &d->pci[i]);
	}
}

void xo_show_vbd_line(FILE *f, const struct xo_vbd *v)
{
	fprintf(f, "%s %s %s ", v->name, xo_vbd_type_name(v->type), v->mode == XO_VBD_RW ? "rw" : "ro");
	xo_show_field(f, v->backend);
	fputc('\n', f);
}

void xo_show_vif_line(FILE *f, const struct xo_vif *v)
{
	fprintf(f, "%d %s %s %u %s\n", v->position, v->mac, v->bridge, v->mtu,
		xo_lock_mode_name(v->locking_mode));
}

void xo_show_pci_line(FILE *f, const struct xo_pci *p)
{
	fprintf(f, "%d %s\n", p->position, p->address);
}

int xo_device_list_main(int argc, char **argv, const char *kind)
{
	static const struct xo_opt opts[] = {
		{ 'j', "json", NULL, "print a JSON array" },
		{ 0, NULL, NULL, NULL },
	};
	struct xo_cli cli;
	struct xo_devices d;
	char uuid[XO_UUID_LEN + 1];
	bool json = false;
	xo_err e;
	int c;
	bool vbd = strcmp(kind, "vbd") == 0, vif = strcmp(kind, "vif") == 0;

	xo_cli_init(&cli, argc, argv, "VM [--json]", opts);
	while ((c = xo_cli_next(&cli)) != -1)
		json |= c == 'j';
	xo_cli_operands(&cli, 1, 1);
	if (xo_vm_resolve(cli.argv[0], uuid, &e) < 0 || xo_devices_load(uuid, &d, &e) < 0) {
		xo_err_wrap(&e, "unable to list %s devices of vm %s", kind, cli.argv[0]);
		return xo_cli_fail(&e);
	}
	struct json_object *a = json ? json_object_new_array() : NULL;
	size_t n = vbd ? d.n_vbd : vif ? d.n_vif : d.n_pci;
	for (size_t i = 0; i < n; i++) {
		if (json)
			json_object_array_add(a, vbd ? xo_vbd_to_json(&d.vbd[i])
						     : vif ? xo_vif_to_json(&d.vif[i])
							   : xo_pci_to_json(&d.pci[i]));
		else if (vbd)
			xo_show_vbd_line(stdout, &d.vbd[i]);
		else if (vif)
			xo_show_vif_line(stdout, &d.vif[i]);
		else
			xo_show_pci_line(stdout, &d.pci[i]);
	}
	if (json)
		xo_print_json(a);
	xo_devices_free(&d);
	return 0;
}
