/*
 * libvirt-xml.c: libvirt's domain and device XML from xo's configuration,
 * and what the driver cannot honour (see libvirt.h).
 *
 * Every string that comes from a configuration (names, paths, the kernel's
 * command line, bridges, MACs, PCI addresses) goes through lv_esc(): the
 * five XML specials become entities, and a character XML 1.0 cannot carry
 * at all (a control character other than tab, newline and return) is
 * refused, naming the field, rather than passed on.
 *
 * Guest device names: Xen (libxl driver) takes xo's own (xvda on bus xen,
 * hda on ide); qemu has no xen bus, so a disk goes on virtio and is named
 * vdX from the same disk index (xvdb and sdb are vdb), which is what a
 * guest kernel calls it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt.h"

int lv_esc(struct xo_buf *b, const char *s, const char *what, xo_err *e)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': xo_buf_puts(b, "&amp;"); break;
		case '<': xo_buf_puts(b, "&lt;"); break;
		case '>': xo_buf_puts(b, "&gt;"); break;
		case '\'': xo_buf_puts(b, "&apos;"); break;
		case '"': xo_buf_puts(b, "&quot;"); break;
		default:
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				return xo_errf(e, XO_E_INVALID, "%s holds a control character (0x%02x) that "
					       "libvirt's XML cannot carry", what, *p);
			xo_buf_add(b, p, 1);
		}
	}
	return 0;
}

/* <tag>escaped</tag> */
static int text_el(struct xo_buf *b, const char *tag, const char *s, const char *what, xo_err *e)
{
	xo_buf_printf(b, "<%s>", tag);
	if (lv_esc(b, s, what, e) < 0)
		return -1;
	xo_buf_printf(b, "</%s>", tag);
	return 0;
}

static bool truthy(const char *v)
{
	return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/* ---------------------------------------------------------------- what is refused */

/* the platform keys this backend understands: the rest would be silently lost */
static const char *const platform_keys[] = { "acpi", "apic", "pae", "hap", "acpi_s3", "acpi_s4",
	NULL };

static int refuse(xo_err *e, const struct lv *lv, const char *what)
{
	return xo_errf(e, XO_E_INVALID, "the libvirt backend (%s) cannot honour %s", lv->uri, what);
}

int lv_check(const struct lv *lv, const struct xo_vm *vm, const struct xo_devices *d, xo_err *e)
{
	char what[512];

	for (size_t i = 0; i < vm->platform.n; i++) {
		bool known = false;
		for (const char *const *k = platform_keys; *k; k++)
			known |= strcmp(*k, vm->platform.v[i].k) == 0;
		if (!known) {
			snprintf(what, sizeof(what), "platform key '%s' of vm %s (it knows %s)",
				 vm->platform.v[i].k, vm->name, "acpi, apic, pae, hap, acpi_s3, acpi_s4");
			return refuse(e, lv, what);
		}
	}
	if (vm->xsdata.n) {
		snprintf(what, sizeof(what), "the xsdata of vm %s (xenstore keys)", vm->name);
		return refuse(e, lv, what);
	}
	if (vm->type != XO_VM_HVM && vm->bootloader && !vm->kernel) {
		snprintf(what, sizeof(what), "the bootloader of vm %s: give a kernel", vm->name);
		return refuse(e, lv, what);
	}
	if (vm->on_reboot != XO_ACT_START && vm->on_reboot != XO_ACT_SHUTDOWN) {
		snprintf(what, sizeof(what), "on_reboot %s of vm %s (a guest's reboot is libvirt's: "
			 "start or shutdown)", xo_action_name(vm->on_reboot), vm->name);
		return refuse(e, lv, what);
	}
	/* libvirt reports a reboot that stops the domain as a poweroff: with on_reboot
	 * shutdown, on_shutdown must agree */
	if (vm->on_reboot == XO_ACT_SHUTDOWN && vm->on_shutdown != XO_ACT_SHUTDOWN) {
		snprintf(what, sizeof(what), "on_reboot shutdown with on_shutdown %s of vm %s (libvirt "
			 "reports such a reboot as a poweroff)", xo_action_name(vm->on_shutdown),
			 vm->name);
		return refuse(e, lv, what);
	}
	for (size_t i = 0; i < d->n_vbd; i++) {
		const struct xo_vbd *v = &d->vbd[i];
		char dev[16];
		const char *bus;
		if (lv_vbd_target(lv, v, dev, sizeof(dev), &bus, e) < 0)
			return -1;
		if (v->type != XO_VBD_DISK) {
			snprintf(what, sizeof(what), "vbd %s of vm %s: a %s cannot be hot-plugged through "
				 "libvirt (only disks)", v->name, vm->name, xo_vbd_type_name(v->type));
			return refuse(e, lv, what);
		}
		if (v->extra_backend_keys.n || v->extra_private_keys.n) {
			snprintf(what, sizeof(what), "the extra xenstore keys of vbd %s of vm %s", v->name,
				 vm->name);
			return refuse(e, lv, what);
		}
		if (v->qos != XO_QOS_NONE) {
			snprintf(what, sizeof(what), "the qos of vbd %s of vm %s", v->name, vm->name);
			return refuse(e, lv, what);
		}
	}
	for (size_t i = 0; i < d->n_vif; i++) {
		const struct xo_vif *v = &d->vif[i];
		if (v->locking_mode != XO_LOCK_UNLOCKED) {
			snprintf(what, sizeof(what), "locking mode %s of vif %d of vm %s",
				 xo_lock_mode_name(v->locking_mode), v->position, vm->name);
			return refuse(e, lv, what);
		}
		if (v->extra_private_keys.n) {
			snprintf(what, sizeof(what), "the extra xenstore keys of vif %d of vm %s",
				 v->position, vm->name);
			return refuse(e, lv, what);
		}
		if (v->script && !lv->xen) {
			snprintf(what, sizeof(what), "the script of vif %d of vm %s (qemu runs none)",
				 v->position, vm->name);
			return refuse(e, lv, what);
		}
	}
	for (size_t i = 0; i < d->n_pci; i++)
		if (d->pci[i].msitranslate || d->pci[i].power_mgmt || (d->pci[i].permissive && !lv->xen)) {
			snprintf(what, sizeof(what), "the options of pci device %d of vm %s",
				 d->pci[i].position, vm->name);
			return refuse(e, lv, what);
		}
	return 0;
}

/* ---------------------------------------------------------------- the domain */

static const char *action(enum xo_action a)
{
	return a == XO_ACT_START ? "restart" : "destroy";
}

int lv_domain_xml(const struct lv *lv, const struct xo_vm *vm, const char *accel,
		  const char *console_log, struct xo_buf *b, xo_err *e)
{
	const char *v;
	char name[300];

	snprintf(name, sizeof(name), "xo-%s", vm->name);
	xo_buf_printf(b, "<domain type='%s'>", accel);
	if (text_el(b, "name", name, "the vm name", e) < 0)
		return -1;
	xo_buf_printf(b, "<uuid>%s</uuid>", vm->uuid);
	xo_buf_puts(b, "<title>");
	if (lv_esc(b, vm->name, "the vm name", e) < 0)
		return -1;
	xo_buf_puts(b, " (xo)</title>");
	/* how xo knows its own domains: an element in xo's namespace */
	xo_buf_printf(b, "<metadata><" LV_NS_PREFIX ":vm xmlns:" LV_NS_PREFIX "='" LV_NS "' uuid='%s'>",
		      vm->uuid);
	if (lv_esc(b, vm->name, "the vm name", e) < 0)
		return -1;
	xo_buf_puts(b, "</" LV_NS_PREFIX ":vm></metadata>");
	xo_buf_printf(b, "<memory unit='KiB'>%llu</memory><currentMemory unit='KiB'>%llu</currentMemory>",
		      (unsigned long long)(vm->memory_static_max / 1024),
		      (unsigned long long)(vm->memory_dynamic_max / 1024));
	xo_buf_printf(b, "<vcpu placement='static' current='%u'>%u</vcpu>", vm->vcpus, vm->vcpu_max);
	xo_buf_puts(b, "<os>");
	if (lv->xen)
		xo_buf_puts(b, vm->type == XO_VM_PV ? "<type>xen</type>" :
			       vm->type == XO_VM_PVH ? "<type>xenpvh</type>" : "<type>hvm</type>");
	else
		xo_buf_puts(b, "<type arch='x86_64' machine='pc'>hvm</type>");
	if (vm->type != XO_VM_HVM) {
		if (vm->kernel && text_el(b, "kernel", vm->kernel, "the kernel path", e) < 0)
			return -1;
		if (vm->ramdisk && text_el(b, "initrd", vm->ramdisk, "the ramdisk path", e) < 0)
			return -1;
		if (vm->cmdline && text_el(b, "cmdline", vm->cmdline, "the kernel command line", e) < 0)
			return -1;
	} else {
		const char *order = vm->boot_order ? vm->boot_order : "cd";
		for (const char *o = order; *o; o++)
			xo_buf_printf(b, "<boot dev='%s'/>", *o == 'c' ? "hd" : *o == 'd' ? "cdrom" :
				      *o == 'n' ? "network" : "fd");
	}
	xo_buf_puts(b, "</os><features>");
	if (!(v = xo_kvs_get(&vm->platform, "acpi")) || truthy(v))
		xo_buf_puts(b, "<acpi/>");
	if (!(v = xo_kvs_get(&vm->platform, "apic")) || truthy(v))
		xo_buf_puts(b, "<apic/>");
	if ((v = xo_kvs_get(&vm->platform, "pae")) ? truthy(v) : vm->type == XO_VM_HVM)
		xo_buf_puts(b, "<pae/>");
	if (lv->xen && vm->type != XO_VM_PV && (v = xo_kvs_get(&vm->platform, "hap")))
		xo_buf_printf(b, "<hap state='%s'/>", truthy(v) ? "on" : "off");
	xo_buf_puts(b, "</features>");
	/* qemu's default model under kvm lacks what the host has (and guests expect) */
	if (strcmp(accel, "kvm") == 0)
		xo_buf_puts(b, "<cpu mode='host-passthrough' check='none'/>");
	if (vm->type == XO_VM_HVM) {
		const char *s3 = xo_kvs_get(&vm->platform, "acpi_s3"), *s4 = xo_kvs_get(&vm->platform, "acpi_s4");
		xo_buf_printf(b, "<pm><suspend-to-mem enabled='%s'/><suspend-to-disk enabled='%s'/></pm>",
			      s3 && truthy(s3) ? "yes" : "no", s4 && truthy(s4) ? "yes" : "no");
	}
	/* poweroff and crash stop the domain and xo applies on_shutdown and on_crash; a
	 * reboot is libvirt's (see libvirt.h) */
	xo_buf_printf(b, "<on_poweroff>destroy</on_poweroff><on_reboot>%s</on_reboot>"
		      "<on_crash>destroy</on_crash>", action(vm->on_reboot));
	xo_buf_puts(b, "<devices>");
	if (lv->xen) {
		xo_buf_puts(b, vm->type == XO_VM_HVM ? "<serial type='pty'><target port='0'/></serial>"
						     "<console type='pty'><target type='serial' port='0'/></console>"
						   : "<console type='pty'><target type='xen' port='0'/></console>");
	} else {
		xo_buf_puts(b, "<serial type='pty'>");
		if (console_log) {
			xo_buf_puts(b, "<log file='");
			if (lv_esc(b, console_log, "the console log path", e) < 0)
				return -1;
			xo_buf_puts(b, "' append='on'/>");
		}
		xo_buf_puts(b, "<target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>");
		/* a guest's panic reaches qemu, and so libvirt's on_crash */
		xo_buf_puts(b, "<panic model='isa'><address type='isa' iobase='0x505'/></panic>");
	}
	if (vm->type == XO_VM_HVM || vm->framebuffer)
		xo_buf_puts(b, "<graphics type='vnc' autoport='yes' listen='127.0.0.1'/>");
	xo_buf_puts(b, "</devices></domain>");
	return 0;
}

/* ---------------------------------------------------------------- devices */

int lv_vbd_target(const struct lv *lv, const struct xo_vbd *v, char *dev, size_t size,
		  const char **bus, xo_err *e)
{
	int idx = xo_vbd_disk_index(v->name);
	char letters[8];

	if (idx < 0)
		return xo_errf(e, XO_E_INVALID, "vbd name '%s' is not a disk device name", v->name);
	if (lv->xen) {
		xo_strlcpy(dev, v->name, size);
		*bus = xo_str_startswith(v->name, "xvd") ? "xen" : xo_str_startswith(v->name, "hd") ? "ide" :
		       xo_str_startswith(v->name, "sd") ? "scsi" : "fdc";
		return 0;
	}
	/* a, ..., z, aa, ... as Linux names disks */
	int n = 0, k = idx;
	char rev[8];
	do {
		rev[n++] = (char)('a' + k % 26);
		k = k / 26 - 1;
	} while (k >= 0 && n < 7);
	for (int i = 0; i < n; i++)
		letters[i] = rev[n - 1 - i];
	letters[n] = '\0';
	snprintf(dev, size, "vd%s", letters);
	*bus = "virtio";
	return 0;
}

int lv_disk_xml(const struct lv *lv, const struct xo_vbd *v, const char *path, struct xo_buf *b,
		xo_err *e)
{
	char dev[16];
	const char *bus;
	bool block = xo_str_startswith(path, "/dev/");

	if (lv_vbd_target(lv, v, dev, sizeof(dev), &bus, e) < 0)
		return -1;
	xo_buf_printf(b, "<disk type='%s' device='disk'>", block ? "block" : "file");
	if (!lv->xen)
		xo_buf_puts(b, "<driver name='qemu' type='raw' cache='none' io='native'/>");
	else
		xo_buf_puts(b, "<driver name='phy'/>");
	xo_buf_printf(b, "<source %s='", block ? "dev" : "file");
	if (lv_esc(b, path, "the vbd's path", e) < 0)
		return -1;
	xo_buf_printf(b, "'/><target dev='%s' bus='%s'/>", dev, bus);
	if (v->mode == XO_VBD_RO)
		xo_buf_puts(b, "<readonly/>");
	xo_buf_puts(b, "</disk>");
	return 0;
}

void lv_vif_ifname(const struct lv *lv, const char *uuid, int domid, int position, char *buf,
		   size_t size)
{
	char hex[9];
	size_t n = 0;

	if (lv->xen) {
		snprintf(buf, size, "vif%d.%d", domid, position);
		return;
	}
	for (const char *p = uuid; *p && n < 8; p++)
		if (*p != '-')
			hex[n++] = *p;
	hex[n] = '\0';
	snprintf(buf, size, "xo%s.%d", hex, position);
}

int lv_nic_xml(const struct lv *lv, const char *uuid, const struct xo_vif *v, bool carrier,
	       struct xo_buf *b, xo_err *e)
{
	xo_buf_puts(b, "<interface type='bridge'><mac address='");
	if (lv_esc(b, v->mac, "the vif's mac", e) < 0)
		return -1;
	xo_buf_puts(b, "'/><source bridge='");
	if (lv_esc(b, v->bridge ? v->bridge : "", "the vif's bridge", e) < 0)
		return -1;
	xo_buf_puts(b, "'/>");
	if (!lv->xen) {
		char ifname[32];
		lv_vif_ifname(lv, uuid, -1, v->position, ifname, sizeof(ifname));
		xo_buf_printf(b, "<target dev='%s'/>", ifname);
	}
	if (lv->xen) {
		if (v->script) {
			xo_buf_puts(b, "<script path='");
			if (lv_esc(b, v->script, "the vif's script", e) < 0)
				return -1;
			xo_buf_puts(b, "'/>");
		}
	} else {
		xo_buf_puts(b, "<model type='virtio'/>");
	}
	if (v->mtu)
		xo_buf_printf(b, "<mtu size='%u'/>", v->mtu);
	if (v->rate_kbytes_per_s)
		xo_buf_printf(b, "<bandwidth><inbound average='%llu'/><outbound average='%llu'/></bandwidth>",
			      (unsigned long long)v->rate_kbytes_per_s,
			      (unsigned long long)v->rate_kbytes_per_s);
	xo_buf_printf(b, "<link state='%s'/></interface>", carrier ? "up" : "down");
	return 0;
}

int lv_hostdev_xml(const struct xo_pci *p, struct xo_buf *b, xo_err *e)
{
	unsigned dom, bus, slot, fn;

	if (sscanf(p->address, "%4x:%2x:%2x.%1x", &dom, &bus, &slot, &fn) != 4)
		return xo_errf(e, XO_E_INVALID, "invalid pci address '%s'", p->address);
	xo_buf_printf(b, "<hostdev mode='subsystem' type='pci' managed='yes'%s><source>"
		      "<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source>"
		      "</hostdev>", p->permissive ? " permissive='yes'" : "", dom, bus, slot, fn);
	return 0;
}

/* ---------------------------------------------------------------- reading libvirt's XML */

const char *lv_xml_find(const char *xml, const char *tag, const char *needle, size_t *len)
{
	char open[64], close[64];
	size_t tl;

	snprintf(open, sizeof(open), "<%s", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	tl = strlen(open);
	for (const char *p = strstr(xml, open); p; p = strstr(p + 1, open)) {
		if (p[tl] != ' ' && p[tl] != '>' && p[tl] != '/')
			continue;
		const char *gt = strchr(p, '>');
		if (!gt)
			return NULL;
		const char *end = gt[-1] == '/' ? gt + 1 : strstr(gt, close);
		if (!end)
			return NULL;
		if (gt[-1] != '/')
			end += strlen(close);
		size_t n = (size_t)(end - p);
		if (!needle || memmem(p, n, needle, strlen(needle))) {
			*len = n;
			return p;
		}
	}
	return NULL;
}

bool lv_xml_attr(const char *p, size_t len, const char *attr, char *buf, size_t size)
{
	char key[64];
	size_t kl = (size_t)snprintf(key, sizeof(key), " %s='", attr);
	const char *a = memmem(p, len, key, kl);

	if (!a)
		return false;
	a += kl;
	const char *q = memchr(a, '\'', len - (size_t)(a - p));
	if (!q)
		return false;
	size_t n = (size_t)(q - a);
	if (n >= size)
		n = size - 1;
	memcpy(buf, a, n);
	buf[n] = '\0';
	return true;
}
