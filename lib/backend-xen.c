/*
 * backend-xen.c: the real hypervisor, through Debian's Xen 4.17 libraries
 * (libxenctrl, libxenguest, libxenstore) and Debian's qemu for Xen.
 *
 * Opening: without /dev/xen/privcmd there is no Xen (class no_hypervisor,
 * exit 111, naming XO_BACKEND=sim); else xc_interface_open() with our own
 * xentoollog logger, which keeps the last error libxc reported so that it
 * ends up in the xo_err (XO_XEN_DEBUG=1 also copies every libxc message to
 * stderr), and xs_open() for xenstore.
 *
 * The call order follows what libxl does for `xl create` (libxl_create.c,
 * libxl_dom.c, libxl_x86.c of Xen 4.17), split at the same place xenopsd
 * splits VM_create from VM_build:
 *
 *   domain_create   xc_domain_create(handle = uuid; flags: hvm for HVM and
 *                   PVH, hap when asked, iommu when asked; emulation flags:
 *                   HVM everything but vPCI (4.17 takes no other set), PVH the local
 *                   APIC, PV none; max vcpus, event channels, grant and
 *                   maptrack frames; grant table v2 if the host has it)
 *                   xc_domain_max_vcpus        (still needed in 4.17)
 *                   xc_domain_setmaxmem        (+ 1 MiB, as libxl: the frames
 *                                               the builder adds beyond RAM)
 *                   PV: xc_domain_set_memmap_limit
 *                   xc_domain_set_tsc_info     (default mode)
 *                   HVM/PVH: timer mode (HVM also HPET and vpt_align), and
 *                   the paging pool, xc_set_paging_mempool_size (4.17's
 *                   replacement for xc_shadow_control SET_ALLOCATION): 1 MiB
 *                   per vcpu + 8 KiB per MiB of RAM, libxl's figure
 *                   xc_cpuid_apply_policy      (the default policy)
 *                   Any failure destroys the half-made domain.
 *   domain_build    two unbound event channels in the new domain whose
 *                   remote end is dom0 (store, console), then libxenguest:
 *                   xc_dom_allocate, kernel (PV, PVH) or hvmloader (HVM,
 *                   with SeaBIOS as its firmware module) and ramdisk,
 *                   xc_dom_boot_xen_init, xc_dom_parse_image, xc_dom_mem_init,
 *                   xc_dom_boot_mem_init, for HVM containers the e820
 *                   (xc_domain_set_memory_map) and for PVH the ACPI tables
 *                   (lib/acpi.h: without them Linux sees one CPU and its
 *                   poweroff never completes), xc_dom_build_image,
 *                   xc_dom_boot_image, xc_dom_gnttab_init; HVM also fills the
 *                   hvm_info table. Returns the ports and the frames of the
 *                   store and console rings (machine frames for PV, guest
 *                   frames for HVM containers): what xs_introduce_domain()
 *                   and xenconsoled need. The xenstore layout, the
 *                   introduction and the console keys are the caller's: they
 *                   are the same for both backends.
 *   pause, unpause, shutdown (xc_domain_shutdown with the reason), destroy,
 *   domain_info/list (xc_domain_getinfolist, checked: 4.17 has no
 *   getinfo_single), set_maxmem (+ the same 1 MiB), host_info (xc_physinfo).
 *   dm_start        qemu (qemu-system-xen's /usr/libexec/xen-qemu-system-i386,
 *                   or $XO_QEMU) with QMP on a unix socket, started in its
 *                   own session with its output in a log file; xo waits,
 *                   with a xenstore watch and a pidfd (never polling), until
 *                   qemu writes device-model/<domid>/state = running, then
 *                   records /local/domain/<domid>/qemu-pid (and libxl's
 *                   image/device-model-pid, so `xl destroy` finds it too).
 *   dm_stop         QMP quit, then SIGTERM, then SIGKILL, each waited for on
 *                   the pidfd with a timeout; the xenstore keys go.
 *   pci_assign      the device is bound to xen-pciback through sysfs (its
 *                   driver is remembered where libxl keeps it,
 *                   /libxl/pci/<bdf>/driver_path), its I/O ports, memory
 *                   and interrupt are granted to the domain, and
 *                   xc_assign_device() gives it to the domain (relaxed RDM
 *                   policy, as xenopsd). Hot-plug into a running HVM guest
 *                   is then QMP device_add (lib/qmp.h), the caller's step.
 *   pci_deassign    the reverse, back to the original driver.
 *
 * Memory sizes are KiB; Xen pages are 4 KiB.
 */
#define XC_WANT_COMPAT_MAP_FOREIGN_API 1
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

#include <xenctrl.h>
#include <xenguest.h>
#include <xenstore.h>
#include <xentoollog.h>
#include <xen/hvm/e820.h>
#include <xen/hvm/hvm_info_table.h>
#include <xen/hvm/params.h>

#include "acpi.h"
#include "backend.h"
#include "json.h"
#include "qmp.h"
#include "util.h"

#define PRIVCMD "/dev/xen/privcmd"
#define MAXMEM_SLACK_KIB 1024                /* libxl's LIBXL_MAXMEM_CONSTANT */
#define HVM_VIDEO_KIB (8 * 1024)             /* the emulated VGA's memory, out of the VM's RAM */
#define VGA_HOLE_PAGES 0x20                  /* 0xa0000-0xbffff, libxl's LIBXL_VGA_HOLE_SIZE */
#define LAPIC_BASE 0xfee00000ull
#define ACPI_INFO_BASE 0xfc000000ull         /* where libacpi puts the ACPI info page */
#define DEFAULT_HVMLOADER "/usr/lib/xen-4.17/boot/hvmloader"
#define DEFAULT_SEABIOS "/usr/share/seabios/bios-256k.bin"
#define DEFAULT_QEMU "/usr/libexec/xen-qemu-system-i386"
#define XO_XEN_CONSOLE_LOG_DIR "/var/log/xen/console"   /* xenconsoled's default --log-dir */
#define RUN_DIR "/run/xen"
#define DM_START_TIMEOUT_MS 60000            /* libxl's LIBXL_DEVICE_MODEL_START_TIMEOUT */
#define DM_STOP_STEP_MS 5000
#define PCIBACK "/sys/bus/pci/drivers/pciback"

/* ------------------------------------------------------------------------ logger */

struct xo_xtl {
	xentoollog_logger vtable;               /* first: libxc calls through it */
	char last[768];                         /* the last error-level message */
	xentoollog_logger *debug;               /* XO_XEN_DEBUG: everything to stderr */
};

__attribute__((format(printf, 5, 0)))
static void xtl_vmessage(xentoollog_logger *l, xentoollog_level level, int errnoval,
			 const char *context, const char *format, va_list al)
{
	struct xo_xtl *x = (struct xo_xtl *)l;

	if (x->debug) {
		va_list copy;
		va_copy(copy, al);
		xtl_logv(x->debug, level, errnoval, context, format, copy);
		va_end(copy);
	}
	if (level < XTL_ERROR)
		return;
	int n = vsnprintf(x->last, sizeof(x->last), format, al);
	if (n >= 0 && (size_t)n < sizeof(x->last) && errnoval > 0)
		snprintf(x->last + n, sizeof(x->last) - (size_t)n, ": %s", strerror(errnoval));
}

static void xtl_destroy(xentoollog_logger *l)
{
	struct xo_xtl *x = (struct xo_xtl *)l;
	if (x->debug)
		xtl_logger_destroy(x->debug);
	x->debug = NULL;
}

/* ------------------------------------------------------------------------ state */

struct xen_priv {
	xc_interface *xch;
	struct xo_xtl log;
	uint32_t physcap;                       /* XEN_SYSCTL_PHYSCAP_* */
};

static struct xen_priv *P(struct xo_backend *b)
{
	return b->priv;
}

static void clear_last(struct xen_priv *p)
{
	p->log.last[0] = '\0';
}

static enum xo_ecls errno_class(int err)
{
	switch (err) {
	case ESRCH:
		return XO_E_NOT_FOUND;
	case ENOMEM:
		return XO_E_NO_MEMORY;
	default:
		return XO_E_SYSTEM;
	}
}

/* "<what>: <libxc's last message, or strerror(err)>" */
__attribute__((format(printf, 4, 5)))
static int xc_fail(struct xen_priv *p, xo_err *e, int err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err == ESRCH)
		return xo_errf(e, XO_E_NOT_FOUND, "%s: no such domain", what);
	if (p->log.last[0])
		return xo_errf(e, errno_class(err), "%s: %s", what, p->log.last);
	return xo_errf(e, errno_class(err), "%s: %s", what, err ? strerror(err) : "failed");
}

/* ------------------------------------------------------------------------ domains */

static int host_physinfo(struct xen_priv *p, xc_physinfo_t *pi, xo_err *e)
{
	memset(pi, 0, sizeof(*pi));
	clear_last(p);
	if (xc_physinfo(p->xch, pi) < 0)
		return xc_fail(p, e, errno, "xc_physinfo");
	return 0;
}

static void destroy_quietly(struct xen_priv *p, uint32_t domid)
{
	int saved = errno;
	xc_domain_destroy(p->xch, domid);
	errno = saved;
}

static int x_domain_create(struct xo_backend *b, const struct xo_domain_create_args *a,
			   uint32_t *domid_out, xo_err *e)
{
	struct xen_priv *p = P(b);
	struct xen_domctl_createdomain cfg;
	bool hvm = a->type != XO_VM_PV;
	uint32_t domid = 0;

	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.handle, a->uuid, sizeof(cfg.handle));
	if (hvm) {
		if (!(p->physcap & XEN_SYSCTL_PHYSCAP_hvm))
			return xo_errf(e, XO_E_INVALID,
				       "this host cannot run %s guests (no hardware virtualisation)",
				       xo_vm_type_name(a->type));
		cfg.flags |= XEN_DOMCTL_CDF_hvm;
		if (a->hap) {
			if (!(p->physcap & XEN_SYSCTL_PHYSCAP_hap))
				return xo_errf(e, XO_E_INVALID,
					       "this host has no hardware assisted paging (hap)");
			cfg.flags |= XEN_DOMCTL_CDF_hap;
		} else if (!(p->physcap & XEN_SYSCTL_PHYSCAP_shadow)) {
			return xo_errf(e, XO_E_INVALID,
				       "this Xen has no shadow paging: a %s guest needs hap",
				       xo_vm_type_name(a->type));
		}
	}
	if (a->iommu) {
		if (!(p->physcap & XEN_SYSCTL_PHYSCAP_directio))
			return xo_errf(e, XO_E_INVALID,
				       "this host has no IOMMU: pci pass-through is not possible");
		cfg.flags |= XEN_DOMCTL_CDF_iommu;
	}
	cfg.max_vcpus = a->max_vcpus;
	cfg.max_evtchn_port = UINT32_MAX;       /* as xenopsd: Xen's own limit */
	cfg.max_grant_frames = (int32_t)(a->max_grant_frames ? a->max_grant_frames : 64);
	cfg.max_maptrack_frames = (int32_t)(a->max_maptrack_frames ? a->max_maptrack_frames : 1024);
	cfg.grant_opts = XEN_DOMCTL_GRANT_version(
		(p->physcap & XEN_SYSCTL_PHYSCAP_gnttab_v2) ? 2 : 1);
	switch (a->type) {
	case XO_VM_HVM:
		cfg.arch.emulation_flags =
			XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI;
		break;
	case XO_VM_PVH:
		cfg.arch.emulation_flags = XEN_X86_EMU_LAPIC;
		break;
	case XO_VM_PV:
		cfg.arch.emulation_flags = 0;
		break;
	}

	clear_last(p);
	if (xc_domain_create(p->xch, &domid, &cfg) < 0)
		return xc_fail(p, e, errno, "xc_domain_create");

	clear_last(p);
	if (xc_domain_max_vcpus(p->xch, domid, a->max_vcpus) < 0) {
		xc_fail(p, e, errno, "xc_domain_max_vcpus %u of domain %u", a->max_vcpus, domid);
		goto fail;
	}
	if (xc_domain_setmaxmem(p->xch, domid, a->max_memory_kib + MAXMEM_SLACK_KIB) < 0) {
		xc_fail(p, e, errno, "xc_domain_setmaxmem of domain %u", domid);
		goto fail;
	}
	if (a->type == XO_VM_PV &&
	    xc_domain_set_memmap_limit(p->xch, domid, (unsigned long)a->max_memory_kib) < 0) {
		xc_fail(p, e, errno, "xc_domain_set_memmap_limit of domain %u", domid);
		goto fail;
	}
	if (xc_domain_set_tsc_info(p->xch, domid, 0 /* default */, 0, 0, 0) < 0) {
		xc_fail(p, e, errno, "xc_domain_set_tsc_info of domain %u", domid);
		goto fail;
	}
	if (hvm) {
		/* 1 MiB per vcpu, a page per MiB for the p2m and one to shadow: libxl's figure */
		uint64_t pool_kib = 4 * (256 * (uint64_t)a->max_vcpus + 2 * (a->max_memory_kib / 1024));
		if (a->type == XO_VM_HVM &&
		    (xc_hvm_param_set(p->xch, domid, HVM_PARAM_HPET_ENABLED, 1) < 0 ||
		     xc_hvm_param_set(p->xch, domid, HVM_PARAM_VPT_ALIGN, 1) < 0)) {
			xc_fail(p, e, errno, "setting the HVM timers of domain %u", domid);
			goto fail;
		}
		if (xc_hvm_param_set(p->xch, domid, HVM_PARAM_TIMER_MODE,
				     HVMPTM_no_delay_for_missed_ticks) < 0) {
			xc_fail(p, e, errno, "setting the timer mode of domain %u", domid);
			goto fail;
		}
		if (xc_set_paging_mempool_size(p->xch, domid, pool_kib * 1024) < 0) {
			xc_fail(p, e, errno, "xc_set_paging_mempool_size %" PRIu64 " KiB of domain %u",
				pool_kib, domid);
			goto fail;
		}
	}
	if (xc_cpuid_apply_policy(p->xch, domid, false, NULL, 0, true /* pae */, false /* itsc */,
				  false /* nested virt */, NULL, NULL) < 0) {
		xc_fail(p, e, errno, "xc_cpuid_apply_policy of domain %u", domid);
		goto fail;
	}
	*domid_out = domid;
	return 0;
fail:
	destroy_quietly(p, domid);
	return -1;
}

/*
 * The builder's steps common to every type, once the image is loaded and the
 * layout set. `finalise`, when given, runs after the guest's memory exists
 * and before the image is built: the place for the e820 and ACPI tables.
 */
typedef int (*finalise_fn)(struct xen_priv *p, struct xc_dom_image *dom, uint32_t domid,
			   void *ctx, xo_err *e);

static int dom_boot(struct xen_priv *p, struct xc_dom_image *dom, uint32_t domid,
		    uint64_t mem_mib, finalise_fn finalise, void *ctx, xo_err *e)
{
	if (xc_dom_boot_xen_init(dom, p->xch, domid) != 0)
		return xc_fail(p, e, errno, "xc_dom_boot_xen_init of domain %u", domid);
	if (xc_dom_parse_image(dom) != 0)
		return xc_fail(p, e, errno, "xc_dom_parse_image");
	if (xc_dom_mem_init(dom, (unsigned)mem_mib) != 0)
		return xc_fail(p, e, errno, "xc_dom_mem_init %" PRIu64 " MiB", mem_mib);
	if (xc_dom_boot_mem_init(dom) != 0)
		return xc_fail(p, e, errno, "xc_dom_boot_mem_init %" PRIu64 " MiB of domain %u",
			       mem_mib, domid);
	if (finalise && finalise(p, dom, domid, ctx, e) < 0)
		return -1;
	if (xc_dom_build_image(dom) != 0)
		return xc_fail(p, e, errno, "xc_dom_build_image");
	if (xc_dom_boot_image(dom) != 0)
		return xc_fail(p, e, errno, "xc_dom_boot_image of domain %u", domid);
	if (xc_dom_gnttab_init(dom) != 0)
		return xc_fail(p, e, errno, "xc_dom_gnttab_init of domain %u", domid);
	return 0;
}

static void dom_ports(struct xc_dom_image *dom, const struct xo_domain_build_args *a,
		      const struct xo_build_result *out)
{
	dom->console_evtchn = out->console_port;
	dom->console_domid = a->console_domid;
	dom->xenstore_evtchn = out->store_port;
	dom->xenstore_domid = a->store_domid;
	dom->max_vcpus = a->max_vcpus;
	dom->claim_enabled = 0;
}

static int build_pv(struct xen_priv *p, uint32_t domid, const struct xo_domain_build_args *a,
		    struct xo_build_result *out, xo_err *e)
{
	struct xc_dom_image *dom;
	int r = -1;

	clear_last(p);
	dom = xc_dom_allocate(p->xch, a->cmdline ? a->cmdline : "", NULL);
	if (!dom)
		return xc_fail(p, e, errno, "xc_dom_allocate");
	dom->container_type = XC_DOM_PV_CONTAINER;
	if (xc_dom_kernel_file(dom, a->kernel) != 0) {
		xc_fail(p, e, errno, "loading kernel '%s'", a->kernel);
		goto out;
	}
	if (a->ramdisk && *a->ramdisk && xc_dom_module_file(dom, a->ramdisk, NULL) != 0) {
		xc_fail(p, e, errno, "loading ramdisk '%s'", a->ramdisk);
		goto out;
	}
	dom->flags = 0;
	dom_ports(dom, a, out);
	if (dom_boot(p, dom, domid, a->memory_target_kib / 1024, NULL, NULL, e) < 0)
		goto out;
	out->console_mfn = xc_dom_p2m(dom, dom->console_pfn);
	out->store_mfn = xc_dom_p2m(dom, dom->xenstore_pfn);
	r = 0;
out:
	xc_dom_release(dom);
	return r;
}

static int read_whole(const char *path, const char *what, void **data, size_t *len, xo_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;

	if (fd < 0)
		return xo_err_sys(e, errno, "cannot open %s '%s'", what, path);
	if (xo_read_all(fd, &buf, len) < 0) {
		int err = errno;
		close(fd);
		return xo_err_sys(e, err, "cannot read %s '%s'", what, path);
	}
	close(fd);
	if (*len == 0 || *len > UINT32_MAX) {
		free(buf);
		return xo_errf(e, XO_E_INVALID, "%s '%s' is empty or too large", what, path);
	}
	*data = buf;
	return 0;
}

struct hvm_layout {
	bool dm;                                /* hvm: hvmloader and qemu */
	uint64_t lowmem_end, highmem_end;
	unsigned vcpus, max_vcpus;
	struct xo_acpi_pvh acpi;                /* pvh */
	struct e820entry e820[8];
};

static void e820_add(struct hvm_layout *l, unsigned *n, uint64_t addr, uint64_t size, uint32_t type)
{
	l->e820[*n].addr = addr;
	l->e820[*n].size = size;
	l->e820[(*n)++].type = type;
}

/*
 * An HVM container's e820 (hvmloader makes the map below 1 MiB itself), and
 * for PVH the ACPI tables: libxl's finalise_hw_description.
 */
static int hvm_finalise(struct xen_priv *p, struct xc_dom_image *dom, uint32_t domid, void *ctx,
			xo_err *e)
{
	struct hvm_layout *l = ctx;
	unsigned n = 0;

	e820_add(l, &n, l->dm ? 0x100000 : 0, l->lowmem_end - (l->dm ? 0x100000 : 0), E820_RAM);
	if (!l->dm) {
		/* a kernel that cannot take its RSDP above 1 MiB finds it the legacy way */
		bool low = strcmp(xc_dom_guest_os(dom), "linux") == 0 &&
			   !xc_dom_feature_get(dom, XENFEAT_linux_rsdp_unrestricted);
		if (xo_acpi_pvh_build(l->max_vcpus, l->vcpus, low, &l->acpi, e) < 0)
			return -1;
		dom->acpi_modules[0].data = l->acpi.rsdp;
		dom->acpi_modules[0].length = XO_ACPI_RSDP_SIZE;
		dom->acpi_modules[0].guest_addr_out = l->acpi.rsdp_addr;
		dom->acpi_modules[1].data = l->acpi.tables;
		dom->acpi_modules[1].length = (uint32_t)l->acpi.tables_len;
		dom->acpi_modules[1].guest_addr_out = l->acpi.tables_addr;
		e820_add(l, &n, l->acpi.tables_addr, l->acpi.tables_len, E820_ACPI);
		e820_add(l, &n, l->acpi.rsdp_addr & ~(uint64_t)(XC_PAGE_SIZE - 1),
			 XC_PAGE_SIZE, E820_ACPI);
		e820_add(l, &n,
			 (uint64_t)(X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES) << XC_PAGE_SHIFT,
			 (uint64_t)X86_HVM_NR_SPECIAL_PAGES << XC_PAGE_SHIFT, E820_RESERVED);
	}
	if (l->highmem_end)
		e820_add(l, &n, 1ull << 32, l->highmem_end - (1ull << 32), E820_RAM);
	if (xc_domain_set_memory_map(p->xch, domid, l->e820, n) != 0)
		return xc_fail(p, e, errno, "xc_domain_set_memory_map of domain %u", domid);
	dom->e820 = l->e820;
	dom->e820_entries = n;
	return 0;
}

/* HVM and PVH: an HVM container; HVM with hvmloader and a device model */
static int build_hvm(struct xen_priv *p, uint32_t domid, const struct xo_domain_build_args *a,
		     struct xo_build_result *out, xo_err *e)
{
	bool dm = a->type == XO_VM_HVM;
	uint64_t video_kib = dm ? HVM_VIDEO_KIB : 0;
	uint64_t mem_bytes, lowmem_end, highmem_end = 0, mmio_start;
	struct hvm_layout lay;
	struct xc_dom_image *dom;
	void *bios = NULL;
	size_t bios_len = 0;
	int r = -1;

	if (a->memory_max_kib < video_kib + 16 * 1024 || a->memory_target_kib < video_kib + 16 * 1024)
		return xo_errf(e, XO_E_INVALID,
			       "an %s guest needs at least %" PRIu64 " MiB of memory",
			       xo_vm_type_name(a->type), (video_kib + 16 * 1024) / 1024);
	memset(&lay, 0, sizeof(lay));
	if (dm && read_whole(getenv("XO_SEABIOS") ? getenv("XO_SEABIOS") : DEFAULT_SEABIOS,
			     "firmware", &bios, &bios_len, e) < 0)
		return -1;

	clear_last(p);
	dom = xc_dom_allocate(p->xch, dm ? NULL : (a->cmdline ? a->cmdline : ""), NULL);
	if (!dom) {
		free(bios);
		return xc_fail(p, e, errno, "xc_dom_allocate");
	}
	dom->container_type = XC_DOM_HVM_CONTAINER;
	mem_bytes = (a->memory_max_kib - video_kib) << 10;
	dom->target_pages = (a->memory_target_kib - video_kib) >> 2;
	if (dm) {
		const char *loader = a->firmware ? a->firmware : DEFAULT_HVMLOADER;
		if (xc_dom_kernel_file(dom, loader) != 0) {
			xc_fail(p, e, errno, "loading hvmloader '%s'", loader);
			goto out;
		}
		dom->system_firmware_module.data = bios;
		dom->system_firmware_module.length = (uint32_t)bios_len;
		dom->mmio_size = HVM_BELOW_4G_MMIO_LENGTH;
	} else {
		xen_paddr_t start = (xen_paddr_t)(X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES)
				    << XC_PAGE_SHIFT;
		if (xc_dom_kernel_file(dom, a->kernel) != 0) {
			xc_fail(p, e, errno, "loading kernel '%s'", a->kernel);
			goto out;
		}
		if (a->ramdisk && *a->ramdisk && xc_dom_module_file(dom, a->ramdisk, NULL) != 0) {
			xc_fail(p, e, errno, "loading ramdisk '%s'", a->ramdisk);
			goto out;
		}
		/* no device model: the hole only has to hold the LAPIC, ACPI and special pages */
		if (start > LAPIC_BASE)
			start = LAPIC_BASE;
		if (start > ACPI_INFO_BASE)
			start = ACPI_INFO_BASE;
		dom->mmio_size = (1ull << 32) - start;
	}
	lowmem_end = mem_bytes;
	mmio_start = (1ull << 32) - dom->mmio_size;
	if (lowmem_end > mmio_start) {
		highmem_end = (1ull << 32) + (lowmem_end - mmio_start);
		lowmem_end = mmio_start;
	}
	dom->lowmem_end = lowmem_end;
	dom->highmem_end = highmem_end;
	dom->mmio_start = mmio_start;
	dom->vga_hole_size = dm ? VGA_HOLE_PAGES : 0;
	dom->device_model = dm;
	dom_ports(dom, a, out);

	lay.dm = dm;
	lay.lowmem_end = lowmem_end;
	lay.highmem_end = highmem_end;
	lay.vcpus = a->vcpus;
	lay.max_vcpus = a->max_vcpus;
	if (dom_boot(p, dom, domid, mem_bytes >> 20, hvm_finalise, &lay, e) < 0)
		goto out;

	if (dm) {
		uint8_t *page = xc_map_foreign_range(p->xch, domid, XC_PAGE_SIZE,
						     PROT_READ | PROT_WRITE, HVM_INFO_PFN);
		if (!page) {
			xc_fail(p, e, errno, "mapping the hvm_info page of domain %u", domid);
			goto out;
		}
		struct hvm_info_table *info = (struct hvm_info_table *)(page + HVM_INFO_OFFSET);
		uint8_t sum = 0;
		info->apic_mode = 1;
		info->nr_vcpus = a->max_vcpus;
		memset(info->vcpu_online, 0, sizeof(info->vcpu_online));
		for (unsigned i = 0; i < a->vcpus && i < HVM_MAX_VCPUS; i++)
			info->vcpu_online[i / 8] |= (uint8_t)(1u << (i % 8));
		for (uint32_t i = 0; i < info->length; i++)
			sum = (uint8_t)(sum + ((uint8_t *)info)[i]);
		info->checksum = (uint8_t)(info->checksum - sum);
		munmap(page, XC_PAGE_SIZE);
	}
	out->console_mfn = dom->console_pfn;
	out->store_mfn = dom->xenstore_pfn;
	r = 0;
out:
	xc_dom_release(dom);
	xo_acpi_pvh_free(&lay.acpi);
	free(bios);
	return r;
}

static int x_domain_build(struct xo_backend *b, uint32_t domid,
			  const struct xo_domain_build_args *a, struct xo_build_result *out,
			  xo_err *e)
{
	struct xen_priv *p = P(b);
	int port;

	memset(out, 0, sizeof(*out));
	if (a->vcpus == 0 || a->vcpus > a->max_vcpus)
		return xo_errf(e, XO_E_INVALID, "invalid vcpus %u (max %u)", a->vcpus, a->max_vcpus);
	if (a->memory_target_kib < 1024)
		return xo_errf(e, XO_E_INVALID, "memory target %" PRIu64 " KiB is below 1 MiB",
			       a->memory_target_kib);
	clear_last(p);
	if ((port = xc_evtchn_alloc_unbound(p->xch, domid, a->store_domid)) < 0)
		return xc_fail(p, e, errno, "allocating the xenstore event channel of domain %u",
			       domid);
	out->store_port = (uint32_t)port;
	if ((port = xc_evtchn_alloc_unbound(p->xch, domid, a->console_domid)) < 0)
		return xc_fail(p, e, errno, "allocating the console event channel of domain %u",
			       domid);
	out->console_port = (uint32_t)port;
	if (a->type == XO_VM_PV)
		return build_pv(p, domid, a, out, e);
	return build_hvm(p, domid, a, out, e);
}

static int x_domain_pause(struct xo_backend *b, uint32_t domid, xo_err *e)
{
	struct xen_priv *p = P(b);
	clear_last(p);
	if (xc_domain_pause(p->xch, domid) < 0)
		return xc_fail(p, e, errno, "xc_domain_pause of domain %u", domid);
	return 0;
}

static int x_domain_unpause(struct xo_backend *b, uint32_t domid, xo_err *e)
{
	struct xen_priv *p = P(b);
	clear_last(p);
	if (xc_domain_unpause(p->xch, domid) < 0)
		return xc_fail(p, e, errno, "xc_domain_unpause of domain %u", domid);
	return 0;
}

static int x_domain_shutdown(struct xo_backend *b, uint32_t domid, unsigned reason, xo_err *e)
{
	struct xen_priv *p = P(b);
	clear_last(p);
	if (xc_domain_shutdown(p->xch, domid, (int)reason) < 0)
		return xc_fail(p, e, errno, "xc_domain_shutdown (reason %u) of domain %u", reason,
			       domid);
	return 0;
}

static int x_domain_destroy(struct xo_backend *b, uint32_t domid, xo_err *e)
{
	struct xen_priv *p = P(b);
	clear_last(p);
	if (xc_domain_destroy(p->xch, domid) < 0)
		return xc_fail(p, e, errno, "xc_domain_destroy of domain %u", domid);
	return 0;
}

static void fill_info(const xc_domaininfo_t *i, struct xo_dominfo *o)
{
	memset(o, 0, sizeof(*o));
	o->domid = i->domain;
	memcpy(o->handle, i->handle, sizeof(o->handle));
	o->paused = i->flags & XEN_DOMINF_paused;
	o->running = i->flags & XEN_DOMINF_running;
	o->blocked = i->flags & XEN_DOMINF_blocked;
	o->shutdown = i->flags & XEN_DOMINF_shutdown;
	o->dying = i->flags & XEN_DOMINF_dying;
	o->hvm = i->flags & XEN_DOMINF_hvm_guest;
	o->shutdown_reason = (i->flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
	o->memory_kib = i->tot_pages * (XC_PAGE_SIZE / 1024);
	o->max_memory_kib = i->max_pages * (XC_PAGE_SIZE / 1024);
	o->online_vcpus = i->nr_online_vcpus;
	o->max_vcpu_id = i->max_vcpu_id;
	o->cpu_time_ns = i->cpu_time;
}

static int x_domain_info(struct xo_backend *b, uint32_t domid, struct xo_dominfo *out, xo_err *e)
{
	struct xen_priv *p = P(b);
	xc_domaininfo_t info;

	clear_last(p);
	/* getinfolist answers with the first domain at or after domid: check it is ours */
	int n = xc_domain_getinfolist(p->xch, domid, 1, &info);
	if (n < 0)
		return xc_fail(p, e, errno, "xc_domain_getinfolist");
	if (n == 0 || info.domain != domid)
		return xo_errf(e, XO_E_NOT_FOUND, "domain %u does not exist", domid);
	fill_info(&info, out);
	return 0;
}

static int x_domain_list(struct xo_backend *b, struct xo_dominfo **out, size_t *n_out, xo_err *e)
{
	struct xen_priv *p = P(b);
	xc_domaininfo_t batch[256];
	struct xo_dominfo *list = NULL;
	size_t n = 0;
	uint32_t next = 0;

	for (;;) {
		clear_last(p);
		int got = xc_domain_getinfolist(p->xch, next, XO_ARRAY_SIZE(batch), batch);
		if (got < 0) {
			free(list);
			return xc_fail(p, e, errno, "xc_domain_getinfolist");
		}
		list = xrealloc(list, (n + (size_t)got) * sizeof(*list));
		for (int i = 0; i < got; i++)
			fill_info(&batch[i], &list[n++]);
		if ((size_t)got < XO_ARRAY_SIZE(batch))
			break;
		next = batch[got - 1].domain + 1;
	}
	*out = list;
	*n_out = n;
	return 0;
}

static int x_domain_set_maxmem(struct xo_backend *b, uint32_t domid, uint64_t kib, xo_err *e)
{
	struct xen_priv *p = P(b);
	clear_last(p);
	if (xc_domain_setmaxmem(p->xch, domid, kib + MAXMEM_SLACK_KIB) < 0)
		return xc_fail(p, e, errno, "xc_domain_setmaxmem of domain %u", domid);
	return 0;
}

static int x_host_info(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e)
{
	struct xen_priv *p = P(b);
	xc_physinfo_t pi;

	if (host_physinfo(p, &pi, e) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->total_kib = pi.total_pages * (XC_PAGE_SIZE / 1024);
	out->free_kib = pi.free_pages * (XC_PAGE_SIZE / 1024);
	out->nr_cpus = pi.nr_cpus;
	return 0;
}

/* ------------------------------------------------------------------------ xenstore */

static char *xs_get(struct xo_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *xs_get(struct xo_backend *b, const char *fmt, ...)
{
	char path[256];
	unsigned len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(b->xs, XBT_NULL, path, &len);
}

static int xs_put(struct xo_backend *b, const char *value, xo_err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int xs_put(struct xo_backend *b, const char *value, xo_err *e, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (!xs_write(b->xs, XBT_NULL, path, value, (unsigned)strlen(value)))
		return xo_err_sys(e, errno, "cannot write xenstore '%s'", path);
	return 0;
}

static void xs_del(struct xo_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xs_del(struct xo_backend *b, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	xs_rm(b->xs, XBT_NULL, path);
}

/* ------------------------------------------------------------------------ device model */

static int mkdir_p(const char *dir, xo_err *e)
{
	char tmp[PATH_MAX];

	if (xo_strlcpy(tmp, dir, sizeof(tmp)) >= sizeof(tmp))
		return xo_errf(e, XO_E_INVALID, "path '%s' is too long", dir);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return xo_err_sys(e, errno, "cannot create directory '%s'", tmp);
		*s = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return xo_err_sys(e, errno, "cannot create directory '%s'", tmp);
	return 0;
}

static char *dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

struct argv {
	char **v;
	size_t n;
};

static void arg(struct argv *a, const char *s)
{
	a->v = xrealloc(a->v, (a->n + 2) * sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

__attribute__((format(printf, 2, 3)))
static void argf(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	arg(a, s ? s : "");
	free(s);
}

static void argv_free(struct argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

static void dm_argv(struct argv *v, const char *qemu, uint32_t domid, const struct xo_dm_args *a,
		    const char *qmp, const char *vnc)
{
	arg(v, qemu);
	arg(v, "-xen-domid");
	argf(v, "%u", domid);
	arg(v, "-no-shutdown");
	arg(v, "-chardev");
	argf(v, "socket,id=libxl-cmd,path=%s,server=on,wait=off", qmp);
	arg(v, "-mon");
	arg(v, "chardev=libxl-cmd,mode=control");
	arg(v, "-nodefaults");
	arg(v, "-no-user-config");
	if (a->type != XO_VM_HVM)
		arg(v, "-xen-attach");
	if (a->name) {
		arg(v, "-name");
		arg(v, a->name);
	}
	if (a->type == XO_VM_HVM || a->framebuffer) {
		arg(v, "-vnc");
		argf(v, "unix:%s", vnc);
	} else {
		arg(v, "-vnc");
		arg(v, "none");
	}
	arg(v, "-display");
	arg(v, "none");
	if (a->type == XO_VM_HVM) {
		arg(v, "-serial");
		arg(v, "pty");
		arg(v, "-device");
		argf(v, "VGA,vgamem_mb=%d", HVM_VIDEO_KIB / 1024);
		arg(v, "-boot");
		argf(v, "order=%s", a->boot_order && *a->boot_order ? a->boot_order : "cd");
		if (a->max_vcpus > 1) {
			arg(v, "-smp");
			argf(v, "%u,maxcpus=%u", a->vcpus ? a->vcpus : 1, a->max_vcpus);
		}
		arg(v, "-net");
		arg(v, "none");
		arg(v, "-machine");
		arg(v, "xenfv,suppress-vmdesc=on");
		arg(v, "-m");
		argf(v, "%" PRIu64, (a->memory_kib - HVM_VIDEO_KIB) / 1024);
	} else {
		arg(v, "-nographic");
		arg(v, "-machine");
		arg(v, "xenpv");
		arg(v, "-m");
		argf(v, "%" PRIu64, a->memory_kib / 1024);
	}
}

/*
 * Start argv in its own session, stdin from /dev/null, stdout and stderr to
 * the log, no other descriptor, detached from us by a double fork (the
 * middle child exits at once, so qemu is never our zombie). Returns qemu's
 * pid and a pidfd on it.
 */
static int spawn_detached(char *const argv[], char *const envp[], const char *log, pid_t *pid_out,
			  int *pidfd_out, xo_err *e)
{
	int pfd[2], logfd, st;
	pid_t mid, pid = -1;

	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return xo_err_sys(e, errno, "cannot open the device model log '%s'", log);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		close(logfd);
		return xo_err_sys(e, errno, "pipe");
	}
	mid = fork();
	if (mid < 0) {
		int err = errno;
		close(logfd);
		close(pfd[0]);
		close(pfd[1]);
		return xo_err_sys(e, err, "fork");
	}
	if (mid == 0) {
		pid_t child;
		setsid();
		child = fork();
		if (child == 0) {
			int null = open("/dev/null", O_RDONLY);
			if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
				_exit(127);
			closefrom(3);
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			execve(argv[0], argv, envp);
			dprintf(2, "xo: cannot execute '%s': %s\n", argv[0], strerror(errno));
			_exit(127);
		}
		if (xo_write_all(pfd[1], &child, sizeof(child)) < 0)
			_exit(1);
		_exit(child < 0 ? 1 : 0);
	}
	close(pfd[1]);
	close(logfd);
	ssize_t got = read(pfd[0], &pid, sizeof(pid));
	close(pfd[0]);
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(pid) || pid <= 0)
		return xo_errf(e, XO_E_SYSTEM, "cannot start the device model '%s'", argv[0]);
	*pid_out = pid;
	*pidfd_out = pidfd_open(pid, 0);
	if (*pidfd_out < 0)
		return errno == ESRCH ? xo_errf(e, XO_E_SYSTEM, "the device model exited at once")
				      : xo_err_sys(e, errno, "pidfd_open %d", (int)pid);
	return 0;
}

/* the log's last line, for an error message */
static void log_tail(const char *log, char *out, size_t size)
{
	char buf[4096];
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	off_t end;
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > (off_t)sizeof(buf) - 1)
		lseek(fd, end - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	char *last = strrchr(buf, '\n');
	xo_strlcpy(out, last ? last + 1 : buf, size);
}

/*
 * Wait for /local/domain/0/device-model/<domid>/state = running, or for
 * qemu's exit (pidfd), or the timeout. The watch is on a handle of its own
 * so that no other watch of this process sees (or steals) its events.
 */
static int dm_wait_running(struct xs_handle *xs, uint32_t domid, int pidfd, int timeout_ms,
			   xo_err *e)
{
	char path[128];
	uint64_t deadline = xo_now_ms() + (uint64_t)timeout_ms;

	snprintf(path, sizeof(path), "/local/domain/0/device-model/%u/state", domid);
	for (;;) {
		unsigned len;
		char *state = xs_read(xs, XBT_NULL, path, &len);
		bool running = state && strcmp(state, "running") == 0;
		free(state);
		if (running)
			return 0;
		struct pollfd fds[2] = { { .fd = xs_fileno(xs), .events = POLLIN },
					 { .fd = pidfd, .events = POLLIN } };
		uint64_t now = xo_now_ms();
		if (now >= deadline)
			return xo_errf(e, XO_E_TIMEOUT,
				       "the device model of domain %u was not running after %d s", domid,
				       timeout_ms / 1000);
		int r = poll(fds, pidfd >= 0 ? 2 : 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			return xo_err_sys(e, errno, "poll");
		if (r > 0 && pidfd >= 0 && (fds[1].revents & POLLIN))
			return xo_errf(e, XO_E_SYSTEM, "the device model of domain %u exited", domid);
		if (r > 0 && (fds[0].revents & POLLIN)) {
			char **ev;
			while ((ev = xs_check_watch(xs)))
				free(ev);
		}
	}
}

static void dm_cleanup_keys(struct xo_backend *b, uint32_t domid)
{
	xs_del(b, "/local/domain/0/device-model/%u", domid);
	xs_del(b, "/local/domain/%u/qemu-pid", domid);
	xs_del(b, "/local/domain/%u/image/device-model-pid", domid);
}

/* qemu's serial ptys -> /local/domain/<domid>/serial/<n>/tty, as libxl does */
static void dm_record_serial(struct xo_backend *b, uint32_t domid, const char *qmp)
{
	struct xo_qmp *q;
	struct json_object *list = NULL;
	xo_err e;

	if (xo_qmp_connect(qmp, 5000, &q, &e) < 0)
		return;
	if (xo_qmp_execute(q, "query-chardev", NULL, &list, 5000, &e) == 0 &&
	    json_object_is_type(list, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *c = json_object_array_get_idx(list, i), *l, *f;
			unsigned port;
			if (!json_object_object_get_ex(c, "label", &l) ||
			    !json_object_object_get_ex(c, "filename", &f))
				continue;
			const char *label = json_object_get_string(l), *file = json_object_get_string(f);
			if (!xo_str_startswith(label, "serial") || !xo_str_startswith(file, "pty:") ||
			    xo_parse_uint(label + 6, 64, &port) < 0)
				continue;
			xs_put(b, file + 4, &e, "/local/domain/%u/serial/%u/tty", domid, port);
		}
	}
	json_object_put(list);
	xo_qmp_close(q);
}

static int x_dm_start(struct xo_backend *b, uint32_t domid, const struct xo_dm_args *a, int *pid_out,
		      xo_err *e)
{
	const char *qemu = getenv("XO_QEMU") ? getenv("XO_QEMU") : DEFAULT_QEMU;
	char *qmp = NULL, *log = NULL, *vnc = NULL, *dir = NULL, pidtext[32];
	char *envp[] = { "XEN_QEMU_CONSOLE_LIMIT=1048576", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
			 NULL, NULL };
	char domenv[48];
	struct argv v = { NULL, 0 };
	struct xs_handle *w = NULL;
	char token[32];
	pid_t pid = -1;
	int pidfd = -1, r = -1;

	if (a->type != XO_VM_HVM && !a->framebuffer)
		return xo_errf(e, XO_E_INVALID, "a %s guest without a framebuffer needs no device model",
			       xo_vm_type_name(a->type));
	if (a->type == XO_VM_HVM && a->memory_kib <= HVM_VIDEO_KIB)
		return xo_errf(e, XO_E_INVALID, "an hvm guest needs more than %d MiB of memory",
			       HVM_VIDEO_KIB / 1024);
	if (access(qemu, X_OK) < 0)
		return xo_err_sys(e, errno,
				  "no device model: '%s' is not executable (install qemu-system-xen)",
				  qemu);
	if (mkdir_p(RUN_DIR, e) < 0)
		return -1;
	qmp = a->qmp_path ? xstrdup(a->qmp_path) : xasprintf(RUN_DIR "/qmp-libxl-%u", domid);
	log = a->log_path ? xstrdup(a->log_path)
			  : xasprintf("/var/log/xen/qemu-dm-%s.log", a->name ? a->name : "domain");
	vnc = xasprintf(RUN_DIR "/vnc-%u", domid);
	dir = dirname_of(log);
	if (mkdir_p(dir, e) < 0)
		goto out;
	dm_cleanup_keys(b, domid);
	unlink(qmp);
	unlink(vnc);
	if (a->type == XO_VM_HVM) {
		char *bios = xs_get(b, "/local/domain/%u/hvmloader/bios", domid);
		if (!bios && xs_put(b, "seabios", e, "/local/domain/%u/hvmloader/bios", domid) < 0)
			goto out;
		free(bios);
		if (xs_put(b, "0", e, "/local/domain/%u/hvmloader/allow-memory-relocate", domid) < 0)
			goto out;
		snprintf(domenv, sizeof(domenv), "XEN_DOMAIN_ID=%u", domid);
		envp[2] = domenv;
	}
	char dmdir[64];
	snprintf(dmdir, sizeof(dmdir), "/local/domain/0/device-model/%u", domid);
	if (!xs_mkdir(b->xs, XBT_NULL, dmdir)) {
		xo_err_sys(e, errno, "cannot create xenstore '%s'", dmdir);
		goto out;
	}
	if (xs_put(b, qmp, e, "%s/qmp-path", dmdir) < 0)
		goto out;
	w = xs_open(0);
	snprintf(token, sizeof(token), "xo-dm-%u", domid);
	if (!w || !xs_watch(w, dmdir, token)) {
		xo_err_sys(e, errno, "cannot watch xenstore '%s'", dmdir);
		goto out;
	}
	dm_argv(&v, qemu, domid, a, qmp, vnc);
	if (spawn_detached(v.v, envp, log, &pid, &pidfd, e) < 0)
		goto out;
	const char *t = getenv("XO_DM_TIMEOUT_MS");
	unsigned timeout = DM_START_TIMEOUT_MS;
	if (t && xo_parse_uint(t, 3600000, &timeout) < 0)
		timeout = DM_START_TIMEOUT_MS;
	if (dm_wait_running(w, domid, pidfd, (int)timeout, e) < 0) {
		char tail[256], why[sizeof(e->msg)];
		log_tail(log, tail, sizeof(tail));
		xo_strlcpy(why, e->msg, sizeof(why));
		xo_errf(e, e->cls, "%s (log '%s'%s%s)", why, log, tail[0] ? ": " : "", tail);
		if (pidfd >= 0)
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
		dm_cleanup_keys(b, domid);
		goto out;
	}
	snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
	if (xs_put(b, pidtext, e, "/local/domain/%u/qemu-pid", domid) < 0 ||
	    xs_put(b, pidtext, e, "/local/domain/%u/image/device-model-pid", domid) < 0)
		goto out;
	if (a->type == XO_VM_HVM)
		dm_record_serial(b, domid, qmp);
	*pid_out = (int)pid;
	r = 0;
out:
	if (pidfd >= 0)
		close(pidfd);
	if (w)
		xs_close(w);
	argv_free(&v);
	free(qmp);
	free(log);
	free(vnc);
	free(dir);
	return r;
}

/* is pid a qemu serving domid? (a stale or forged pid must not be killed) */
static bool is_our_qemu(pid_t pid, uint32_t domid)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	int fd;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (xo_read_all(fd, &buf, &len) == 0) {
		char want[32];
		snprintf(want, sizeof(want), "%u", domid);
		for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
			if (strcmp(buf + i, "-xen-domid") == 0 && i + 11 < len &&
			    strcmp(buf + i + 11, want) == 0)
				yes = true;
	}
	free(buf);
	close(fd);
	return yes;
}

static bool wait_exit(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	uint64_t deadline = xo_now_ms() + (uint64_t)ms;

	for (;;) {
		uint64_t now = xo_now_ms();
		if (now >= deadline)
			return false;
		int r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

static int x_dm_stop(struct xo_backend *b, uint32_t domid, xo_err *e)
{
	char *pidtext = xs_get(b, "/local/domain/%u/qemu-pid", domid);
	char *qmp = xs_get(b, "/local/domain/0/device-model/%u/qmp-path", domid);
	unsigned pid = 0;
	int pidfd = -1, r = -1;

	if (!pidtext || xo_parse_uint(pidtext, INT_MAX, &pid) < 0 || pid == 0 ||
	    !is_our_qemu((pid_t)pid, domid)) {
		r = 0;                  /* no device model (any more): nothing to stop */
		goto out;
	}
	pidfd = pidfd_open((pid_t)pid, 0);
	if (pidfd < 0) {
		r = errno == ESRCH ? 0 : xo_err_sys(e, errno, "pidfd_open %u", pid);
		goto out;
	}
	if (qmp) {
		struct xo_qmp *q;
		xo_err ignored;
		if (xo_qmp_connect(qmp, DM_STOP_STEP_MS, &q, &ignored) == 0) {
			xo_qmp_execute(q, "quit", NULL, NULL, DM_STOP_STEP_MS, &ignored);
			xo_qmp_close(q);
		}
	}
	if (!wait_exit(pidfd, DM_STOP_STEP_MS)) {
		pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
		if (!wait_exit(pidfd, DM_STOP_STEP_MS)) {
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
			if (!wait_exit(pidfd, DM_STOP_STEP_MS)) {
				r = xo_errf(e, XO_E_TIMEOUT,
					    "the device model of domain %u (pid %u) does not die", domid,
					    pid);
				goto out;
			}
		}
	}
	r = 0;
out:
	if (r == 0) {
		if (qmp)
			unlink(qmp);
		char *vnc = xasprintf(RUN_DIR "/vnc-%u", domid);
		unlink(vnc);
		free(vnc);
		dm_cleanup_keys(b, domid);
	}
	if (pidfd >= 0)
		close(pidfd);
	free(pidtext);
	free(qmp);
	return r;
}

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
				return xc_fail(p, e, errno, "granting I/O ports %#llx+%#llx to domain %u",
					       start, size, domid);
			}
		} else if (flags & 0x200) {     /* IORESOURCE_MEM */
			unsigned long first = (unsigned long)(start >> XC_PAGE_SHIFT);
			unsigned long nr = (unsigned long)((size + XC_PAGE_SIZE - 1) >> XC_PAGE_SHIFT);
			if (xc_domain_iomem_permission(p->xch, domid, first, nr, allow) < 0 && allow) {
				fclose(f);
				return xc_fail(p, e, errno, "granting memory %#llx+%#llx to domain %u",
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
			return xc_fail(p, e, errno, "granting interrupt %u to domain %u", irq, domid);
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
static int pci_to_pciback(struct xo_backend *b, const struct bdf *d, xo_err *e)
{
	char driver[64], *key, *was;
	bool ok;

	pci_driver(d, driver, sizeof(driver));
	if (strcmp(driver, "pciback") == 0)
		return 0;
	key = pci_xs_key(d);
	was = driver[0] ? xasprintf("/sys/bus/pci/drivers/%s", driver) : xstrdup("");
	ok = xs_write(b->xs, XBT_NULL, key, was, (unsigned)strlen(was));
	free(key);
	free(was);
	if (!ok)
		return xo_err_sys(e, errno, "cannot record the driver of %s", d->text);
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
static int pci_from_pciback(struct xo_backend *b, const struct bdf *d, xo_err *e)
{
	char driver[64], *key = pci_xs_key(d), *was;
	unsigned len;
	int r = 0;
	xo_err ignored;

	was = xs_read(b->xs, XBT_NULL, key, &len);
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
		xs_rm(b->xs, XBT_NULL, key);
	}
out:
	free(was);
	free(key);
	return r;
}

static int x_pci_assign(struct xo_backend *b, uint32_t domid, const char *addr, xo_err *e)
{
	struct xen_priv *p = P(b);
	struct bdf d;

	if (parse_bdf(addr, &d, e) < 0 || pci_check(&d, e) < 0)
		return -1;
	if (pci_to_pciback(b, &d, e) < 0 || pci_permissions(p, domid, &d, true, e) < 0)
		return -1;
	clear_last(p);
	if (xc_assign_device(p->xch, domid, sbdf(&d), XEN_DOMCTL_DEV_RDM_RELAXED) < 0) {
		int err = errno;
		xo_err ignored;
		pci_permissions(p, domid, &d, false, &ignored);
		xc_fail(p, e, err, "xc_assign_device %s to domain %u", d.text, domid);
		if (err == EOPNOTSUPP || err == EINVAL) {
			size_t n = strlen(e->msg);
			snprintf(e->msg + n, sizeof(e->msg) - n,
				 " (no IOMMU, or a domain not created for pass-through)");
		}
		return -1;                      /* the device stays assignable, with pciback */
	}
	return 0;
}

static int x_pci_deassign(struct xo_backend *b, uint32_t domid, const char *addr, xo_err *e)
{
	struct xen_priv *p = P(b);
	struct bdf d;
	xo_err ignored;

	if (parse_bdf(addr, &d, e) < 0 || pci_check(&d, e) < 0)
		return -1;
	clear_last(p);
	/* ENODEV: not assigned to it; EOPNOTSUPP: no IOMMU, nothing can be; ESRCH: no domain */
	if (xc_deassign_device(p->xch, domid, sbdf(&d)) < 0 && errno != ESRCH &&
	    errno != ENODEV && errno != EOPNOTSUPP)
		return xc_fail(p, e, errno, "xc_deassign_device %s from domain %u", d.text, domid);
	pci_permissions(p, domid, &d, false, &ignored);
	return pci_from_pciback(b, &d, e);
}

/* ------------------------------------------------------------------------ open/close */

/*
 * xenconsoled keeps each guest's console output in <log-dir>/guest-<name>.log
 * when it runs with --log=guest (Debian: XENCONSOLED_ARGS in /etc/default/xen);
 * the file is named after the domain's name key, which is the vm's name, so it
 * outlives the domain. XO_CONSOLE_LOG_DIR says where, for a --log-dir other
 * than xenconsoled's default.
 */
static int x_console_log(struct xo_backend *b, const char *vm_name, int domid, char **path,
			 xo_err *e)
{
	const char *dir = getenv("XO_CONSOLE_LOG_DIR");

	(void)b;
	(void)domid;
	(void)e;
	*path = xasprintf("%s/guest-%s.log", dir && *dir ? dir : XO_XEN_CONSOLE_LOG_DIR, vm_name);
	return 0;
}

static void x_close(struct xo_backend *b)
{
	struct xen_priv *p = P(b);
	if (!p)
		return;
	if (p->xch)
		xc_interface_close(p->xch);
	xtl_destroy(&p->log.vtable);
	free(p);
	b->priv = NULL;
}

static const struct xo_backend_ops xen_ops = {
	.name = "xen",
	.close = x_close,
	.domain_create = x_domain_create,
	.domain_build = x_domain_build,
	.domain_pause = x_domain_pause,
	.domain_unpause = x_domain_unpause,
	.domain_shutdown = x_domain_shutdown,
	.domain_destroy = x_domain_destroy,
	.domain_info = x_domain_info,
	.domain_list = x_domain_list,
	.domain_set_maxmem = x_domain_set_maxmem,
	.host_info = x_host_info,
	.dm_start = x_dm_start,
	.dm_stop = x_dm_stop,
	.pci_assign = x_pci_assign,
	.pci_deassign = x_pci_deassign,
	.console_log = x_console_log,
	.console_pty = true,
};

int xo_backend_xen_open(struct xo_backend *b, xo_err *e)
{
	struct xen_priv *p;
	xc_physinfo_t pi;

	if (access(PRIVCMD, F_OK) < 0)
		return xo_errf(e, XO_E_NO_HYPERVISOR,
			       "no Xen hypervisor found (" PRIVCMD
			       "): set XO_BACKEND=sim to use the simulator");
	p = xcalloc(1, sizeof(*p));
	p->log.vtable.vmessage = xtl_vmessage;
	p->log.vtable.destroy = xtl_destroy;
	if (getenv("XO_XEN_DEBUG") && *getenv("XO_XEN_DEBUG"))
		p->log.debug = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_DEBUG, 0);
	p->xch = xc_interface_open(&p->log.vtable, &p->log.vtable, 0);
	if (!p->xch) {
		int err = errno;
		if (p->log.last[0])
			xo_errf(e, XO_E_SYSTEM, "cannot open the hypervisor interface: %s", p->log.last);
		else
			xo_err_sys(e, err, "cannot open the hypervisor interface");
		goto fail;
	}
	if (host_physinfo(p, &pi, e) < 0) {
		xo_err_wrap(e, "cannot talk to the hypervisor");
		goto fail;
	}
	p->physcap = pi.capabilities;
	b->xs = xs_open(0);
	if (!b->xs) {
		xo_err_sys(e, errno, "cannot connect to xenstored");
		goto fail;
	}
	b->ops = &xen_ops;
	b->priv = p;
	return 0;
fail:
	if (p->xch)
		xc_interface_close(p->xch);
	xtl_destroy(&p->log.vtable);
	free(p);
	return -1;
}
