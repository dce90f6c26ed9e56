/*
 * hv-xen-pci.c: pci pass-through on xen, through sysfs (see hv-xen.c).
 *
 *   pci_assign      the device is bound to xen-pciback through sysfs (its
 *                   driver is remembered where libxl keeps it,
 *                   /libxl/pci/<bdf>/driver_path), its I/O ports, memory
 *                   and interrupt are granted to the domain, and
 *                   xc_assign_device() gives it to the domain (relaxed RDM
 *                   policy, as xenopsd). Hot-plug into a running HVM guest
 *                   is then QMP device_add (lib/qmp.h), the caller's step.
 *   pci_deassign    the reverse, back to the original driver.
 *
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "hv-xen.h"
#include "res.h"
#include "util.h"

#define PCIBACK "/sys/bus/pci/drivers/pciback"

/* ------------------------------------------------------------------------ pci */

struct bdf {
	unsigned seg, bus, dev, fn;
	char text[16];                          /* dddd:bb:dd.f, as sysfs names it */
};

static int parse_bdf(const char *s, struct bdf *d, xo_err *e)
{
	unsigned seg = 0, bus, dev, fn;
	int used = 0;

	if (sscanf(s, "%x:%x:%x.%x%n", &seg, &bus, &dev, &fn, &used) == 4 && s[used] == '\0') {
		/* dddd:bb:dd.f */
	} else if (used = 0, sscanf(s, "%x:%x.%x%n", &bus, &dev, &fn, &used) == 3 && s[used] == '\0') {
		seg = 0;
	} else {
		return xo_errf(e, XO_E_INVALID, "invalid PCI address '%s': expected dddd:bb:dd.f", s);
	}
	if (seg > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return xo_errf(e, XO_E_INVALID, "invalid PCI address '%s': out of range", s);
	d->seg = seg;
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	snprintf(d->text, sizeof(d->text), "%04x:%02x:%02x.%x", seg, bus, dev, fn);
	return 0;
}

static uint32_t sbdf(const struct bdf *d)
{
	return (d->seg << 16) | (d->bus << 8) | (d->dev << 3) | d->fn;
}

static int sysfs_write(const char *path, const char *value, xo_err *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return xo_err_sys(e, errno, "cannot open '%s'", path);
	if (xo_write_all(fd, value, strlen(value)) < 0) {
		int err = errno;
		close(fd);
		return xo_err_sys(e, err, "cannot write '%s' to '%s'", value, path);
	}
	close(fd);
	return 0;
}

/* the name of the driver bound to the device, "" for none */
static void pci_driver(const struct bdf *d, char *out, size_t size)
{
	char link[128], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", d->text);
	n = readlink(link, target, sizeof(target) - 1);
	out[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	const char *slash = strrchr(target, '/');
	xo_strlcpy(out, slash ? slash + 1 : target, size);
}

static int pci_check(const struct bdf *d, xo_err *e)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", d->text);
	if (stat(path, &st) < 0)
		return xo_errf(e, XO_E_INVALID, "there is no PCI device %s on this host", d->text);
	if (stat(PCIBACK, &st) < 0)
		return xo_errf(e, XO_E_SYSTEM,
			       "xen-pciback is not loaded ('%s' is missing): modprobe xen-pciback",
			       PCIBACK);
	return 0;
}

static char *pci_xs_key(const struct bdf *d)
{
	return xasprintf("/libxl/pci/%04x-%02x-%02x-%x/driver_path", d->seg, d->bus, d->dev, d->fn);
}

/* grant or revoke the device's I/O ports, memory and interrupt */
static int pci_permissions(struct xen_priv *p, uint32_t domid, const struct bdf *d, bool allow,
			   xo_err *e)
{
	char path[128];
	FILE *f;
	unsigned long long start, end, flags;
	unsigned irq = 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", d->text);
	f = fopen(path, "re");
	if (!f)
		return xo_err_sys(e, errno, "cannot open '%s'", path);
	for (int i = 0; i < 7 && fscanf(f, "%llx %llx %llx", &start, &end, &flags) == 3; i++) {
		if (!start)
			continue;
		unsigned long long size = end - start + 1;
		clear_last(p);
		if (flags & 0x100) {            /* IORESOURCE_IO */
			if (xc_domain_ioport_permission(p->xch, domid, (uint32_t)start, (uint32_t)size,
							allow) < 0 && allow) {
				fclose(f);
				return hvx_fail(p, e, errno, "granting I/O ports %#llx+%#llx to domain %u",
					       start, size, domid);
			}
		} else if (flags & 0x200) {     /* IORESOURCE_MEM */
			unsigned long first = (unsigned long)(start >> XC_PAGE_SHIFT);
			unsigned long nr = (unsigned long)((size + XC_PAGE_SIZE - 1) >> XC_PAGE_SHIFT);
			if (xc_domain_iomem_permission(p->xch, domid, first, nr, allow) < 0 && allow) {
				fclose(f);
				return hvx_fail(p, e, errno, "granting memory %#llx+%#llx to domain %u",
					       start, size, domid);
			}
		}
	}
	fclose(f);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/irq", d->text);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%u", &irq) != 1)
			irq = 0;
		fclose(f);
	}
	if (irq > 0) {
		int pirq = (int)irq;
		clear_last(p);
		if (allow && (xc_physdev_map_pirq(p->xch, domid, (int)irq, &pirq) < 0 ||
			      xc_domain_irq_permission(p->xch, domid, (uint32_t)pirq, 1) < 0))
			return hvx_fail(p, e, errno, "granting interrupt %u to domain %u", irq, domid);
		if (!allow)
			xc_domain_irq_permission(p->xch, domid, irq, 0);
	}
	return 0;
}

/*
 * Make the device assignable: bound to xen-pciback. Its driver before that
 * is remembered in /libxl/pci/<bdf>/driver_path ("" for none), where libxl
 * keeps it too, so that deassigning gives it back.
 */
static int pci_to_pciback(struct xf *x, const char *uuid, const struct bdf *d, xo_err *e)
{
	char driver[64], *key, *was;
	bool ok;

	pci_driver(d, driver, sizeof(driver));
	if (strcmp(driver, "pciback") == 0)
		return 0;
	key = pci_xs_key(d);
	was = driver[0] ? xasprintf("/sys/bus/pci/drivers/%s", driver) : xstrdup("");
	ok = xs_write(x->xs, XBT_NULL, key, was, (unsigned)strlen(was));
	free(key);
	free(was);
	if (!ok)
		return xo_err_sys(e, errno, "cannot record the driver of %s", d->text);
	/* and in the VM's ledger, before the device leaves its driver: a repair gives it back */
	char id[XO_RES_ID_MAX + 1];
	snprintf(id, sizeof(id), "pci.%s", d->text);
	if (xo_res_pci(uuid, id, d->text, driver, e) < 0)
		return -1;
	if (driver[0]) {
		char path[160];
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", d->text);
		if (sysfs_write(path, d->text, e) < 0)
			return -1;
	}
	xo_err ignored;   /* new_slot refuses a device pciback already knows */
	sysfs_write(PCIBACK "/new_slot", d->text, &ignored);
	if (sysfs_write(PCIBACK "/bind", d->text, e) < 0) {
		xo_err_wrap(e, "cannot bind %s to xen-pciback", d->text);
		return -1;
	}
	return 0;
}

/* the reverse: from pciback back to the driver it had (or none) */
static int pci_from_pciback(struct xf *x, const struct bdf *d, xo_err *e)
{
	char driver[64], *key = pci_xs_key(d), *was;
	unsigned len;
	int r = 0;
	xo_err ignored;

	was = xs_read(x->xs, XBT_NULL, key, &len);
	pci_driver(d, driver, sizeof(driver));
	if (was && strcmp(driver, "pciback") == 0) {
		if (sysfs_write(PCIBACK "/unbind", d->text, e) < 0) {
			r = -1;
			goto out;
		}
		sysfs_write(PCIBACK "/remove_slot", d->text, &ignored);
		if (was[0]) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/bind", was);
			if (sysfs_write(path, d->text, e) < 0) {
				xo_err_wrap(e, "cannot give %s back to its driver", d->text);
				r = -1;
				goto out;
			}
		}
	}
	if (was) {
		*strrchr(key, '/') = '\0';     /* the device's whole /libxl/pci/<bdf> */
		xs_rm(x->xs, XBT_NULL, key);
	}
out:
	free(was);
	free(key);
	return r;
}

int hvx_pci_assign(struct xf *x, const char *uuid, uint32_t domid, const char *addr, xo_err *e)
{
	struct xen_priv *p = P(x);
	struct bdf d;

	if (parse_bdf(addr, &d, e) < 0 || pci_check(&d, e) < 0)
		return -1;
	if (pci_to_pciback(x, uuid, &d, e) < 0 || pci_permissions(p, domid, &d, true, e) < 0)
		return -1;
	clear_last(p);
	if (xc_assign_device(p->xch, domid, sbdf(&d), XEN_DOMCTL_DEV_RDM_RELAXED) < 0) {
		int err = errno;
		xo_err ignored;
		pci_permissions(p, domid, &d, false, &ignored);
		hvx_fail(p, e, err, "xc_assign_device %s to domain %u", d.text, domid);
		if (err == EOPNOTSUPP || err == EINVAL) {
			size_t n = strlen(e->msg);
			snprintf(e->msg + n, sizeof(e->msg) - n,
				 " (no IOMMU, or a domain not created for pass-through)");
		}
		return -1;                      /* the device stays assignable, with pciback */
	}
	return 0;
}

int hvx_pci_deassign(struct xf *x, const char *uuid, uint32_t domid, const char *addr, xo_err *e)
{
	struct xen_priv *p = P(x);
	struct bdf d;
	xo_err ignored;

	if (parse_bdf(addr, &d, e) < 0 || pci_check(&d, e) < 0)
		return -1;
	clear_last(p);
	/* ENODEV: not assigned to it; EOPNOTSUPP: no IOMMU, nothing can be; ESRCH: no domain */
	if (xc_deassign_device(p->xch, domid, sbdf(&d)) < 0 && errno != ESRCH &&
	    errno != ENODEV && errno != EOPNOTSUPP)
		return hvx_fail(p, e, errno, "xc_deassign_device %s from domain %u", d.text, domid);
	pci_permissions(p, domid, &d, false, &ignored);
	if (pci_from_pciback(x, &d, e) < 0)
		return -1;
	char id[XO_RES_ID_MAX + 1];
	snprintf(id, sizeof(id), "pci.%s", d.text);
	xo_res_forget(uuid, id);
	return 0;
}

