/*
 * hv-xen.c: the real hypervisor, through Debian's Xen 4.17 libraries
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
 *                   xc_domain_setmaxmem        (the target + 1 MiB, as libxl:
 *                                               the frames the builder adds
 *                                               beyond RAM)
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
 *   getinfo_single), host_info (xc_physinfo).
 *   domain_set_memory  as libxl's libxl_set_memory_target: maxmem to the new
 *                   target + 1 MiB, and for an HVM container its
 *                   populate-on-demand target (a no-op for a domain built
 *                   without PoD)
 *   vcpu_set_affinity, vcpu_info  xc_vcpu_setaffinity (hard), xc_vcpu_getinfo
 *                   and xc_vcpu_getaffinity
 * Memory sizes are KiB; Xen pages are 4 KiB.
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

#define XC_WANT_COMPAT_MAP_FOREIGN_API 1
#include <xenctrl.h>
#include <xenguest.h>
#include <xenstore.h>
#include <xen/hvm/e820.h>
#include <xen/hvm/hvm_info_table.h>
#include <xen/hvm/params.h>

#include "acpi.h"
#include "hv-xen.h"
#include "json.h"
#include "state.h"
#include "util.h"

#define PRIVCMD "/dev/xen/privcmd"
#define MAXMEM_SLACK_KIB 1024                /* libxl's LIBXL_MAXMEM_CONSTANT */
#define HVM_VIDEO_KIB (8 * 1024)             /* the emulated VGA's memory, out of the VM's RAM */
#define VGA_HOLE_PAGES 0x20                  /* 0xa0000-0xbffff, libxl's LIBXL_VGA_HOLE_SIZE */
#define LAPIC_BASE 0xfee00000ull
#define ACPI_INFO_BASE 0xfc000000ull         /* where libacpi puts the ACPI info page */
#define DEFAULT_HVMLOADER "/usr/lib/xen-4.17/boot/hvmloader"
#define DEFAULT_SEABIOS "/usr/share/seabios/bios-256k.bin"
#define XO_XEN_CONSOLE_LOG_DIR "/var/log/xen/console"   /* xenconsoled's default --log-dir */

/* ------------------------------------------------------------------------ logger */

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

/* ------------------------------------------------------------------------ errors */

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

int hvx_fail(struct xen_priv *p, xo_err *e, int err, const char *fmt, ...)
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
		return hvx_fail(p, e, errno, "xc_physinfo");
	return 0;
}

static void destroy_quietly(struct xen_priv *p, uint32_t domid)
{
	int saved = errno;
	xc_domain_destroy(p->xch, domid);
	errno = saved;
}

static int x_domain_create(struct xf *x, const struct xf_create_args *a,
			   uint32_t *domid_out, xo_err *e)
{
	struct xen_priv *p = P(x);
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
		return hvx_fail(p, e, errno, "xc_domain_create");

	clear_last(p);
	if (xc_domain_max_vcpus(p->xch, domid, a->max_vcpus) < 0) {
		hvx_fail(p, e, errno, "xc_domain_max_vcpus %u of domain %u", a->max_vcpus, domid);
		goto fail;
	}
	/* maxmem follows the balloon target, as libxl sets it: a guest cannot take more than
	 * it was given (and the memory ledger counted) */
	if (xc_domain_setmaxmem(p->xch, domid,
				(a->target_kib ? a->target_kib : a->max_memory_kib) + MAXMEM_SLACK_KIB) < 0) {
		hvx_fail(p, e, errno, "xc_domain_setmaxmem of domain %u", domid);
		goto fail;
	}
	if (a->type == XO_VM_PV &&
	    xc_domain_set_memmap_limit(p->xch, domid, (unsigned long)a->max_memory_kib) < 0) {
		hvx_fail(p, e, errno, "xc_domain_set_memmap_limit of domain %u", domid);
		goto fail;
	}
	if (xc_domain_set_tsc_info(p->xch, domid, 0 /* default */, 0, 0, 0) < 0) {
		hvx_fail(p, e, errno, "xc_domain_set_tsc_info of domain %u", domid);
		goto fail;
	}
	if (hvm) {
		/* 1 MiB per vcpu, a page per MiB for the p2m and one to shadow: libxl's figure */
		uint64_t pool_kib = 4 * (256 * (uint64_t)a->max_vcpus + 2 * (a->max_memory_kib / 1024));
		if (a->type == XO_VM_HVM &&
		    (xc_hvm_param_set(p->xch, domid, HVM_PARAM_HPET_ENABLED, 1) < 0 ||
		     xc_hvm_param_set(p->xch, domid, HVM_PARAM_VPT_ALIGN, 1) < 0)) {
			hvx_fail(p, e, errno, "setting the HVM timers of domain %u", domid);
			goto fail;
		}
		if (xc_hvm_param_set(p->xch, domid, HVM_PARAM_TIMER_MODE,
				     HVMPTM_no_delay_for_missed_ticks) < 0) {
			hvx_fail(p, e, errno, "setting the timer mode of domain %u", domid);
			goto fail;
		}
		if (xc_set_paging_mempool_size(p->xch, domid, pool_kib * 1024) < 0) {
			hvx_fail(p, e, errno, "xc_set_paging_mempool_size %" PRIu64 " KiB of domain %u",
				pool_kib, domid);
			goto fail;
		}
	}
	if (xc_cpuid_apply_policy(p->xch, domid, false, NULL, 0, true /* pae */, false /* itsc */,
				  false /* nested virt */, NULL, NULL) < 0) {
		hvx_fail(p, e, errno, "xc_cpuid_apply_policy of domain %u", domid);
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
		return hvx_fail(p, e, errno, "xc_dom_boot_xen_init of domain %u", domid);
	if (xc_dom_parse_image(dom) != 0)
		return hvx_fail(p, e, errno, "xc_dom_parse_image");
	if (xc_dom_mem_init(dom, (unsigned)mem_mib) != 0)
		return hvx_fail(p, e, errno, "xc_dom_mem_init %" PRIu64 " MiB", mem_mib);
	if (xc_dom_boot_mem_init(dom) != 0)
		return hvx_fail(p, e, errno, "xc_dom_boot_mem_init %" PRIu64 " MiB of domain %u",
			       mem_mib, domid);
	if (finalise && finalise(p, dom, domid, ctx, e) < 0)
		return -1;
	if (xc_dom_build_image(dom) != 0)
		return hvx_fail(p, e, errno, "xc_dom_build_image");
	if (xc_dom_boot_image(dom) != 0)
		return hvx_fail(p, e, errno, "xc_dom_boot_image of domain %u", domid);
	if (xc_dom_gnttab_init(dom) != 0)
		return hvx_fail(p, e, errno, "xc_dom_gnttab_init of domain %u", domid);
	return 0;
}

static void dom_ports(struct xc_dom_image *dom, const struct xf_build_args *a,
		      const struct xf_build_result *out)
{
	dom->console_evtchn = out->console_port;
	dom->console_domid = a->console_domid;
	dom->xenstore_evtchn = out->store_port;
	dom->xenstore_domid = a->store_domid;
	dom->max_vcpus = a->max_vcpus;
	dom->claim_enabled = 0;
}

static int build_pv(struct xen_priv *p, uint32_t domid, const struct xf_build_args *a,
		    struct xf_build_result *out, xo_err *e)
{
	struct xc_dom_image *dom;
	int r = -1;

	clear_last(p);
	dom = xc_dom_allocate(p->xch, a->cmdline ? a->cmdline : "", NULL);
	if (!dom)
		return hvx_fail(p, e, errno, "xc_dom_allocate");
	dom->container_type = XC_DOM_PV_CONTAINER;
	if (xc_dom_kernel_file(dom, a->kernel) != 0) {
		hvx_fail(p, e, errno, "loading kernel '%s'", a->kernel);
		goto out;
	}
	if (a->ramdisk && *a->ramdisk && xc_dom_module_file(dom, a->ramdisk, NULL) != 0) {
		hvx_fail(p, e, errno, "loading ramdisk '%s'", a->ramdisk);
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
		return hvx_fail(p, e, errno, "xc_domain_set_memory_map of domain %u", domid);
	dom->e820 = l->e820;
	dom->e820_entries = n;
	return 0;
}

/* HVM and PVH: an HVM container; HVM with hvmloader and a device model */
static int build_hvm(struct xen_priv *p, uint32_t domid, const struct xf_build_args *a,
		     struct xf_build_result *out, xo_err *e)
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
		return hvx_fail(p, e, errno, "xc_dom_allocate");
	}
	dom->container_type = XC_DOM_HVM_CONTAINER;
	mem_bytes = (a->memory_max_kib - video_kib) << 10;
	dom->target_pages = (a->memory_target_kib - video_kib) >> 2;
	if (dm) {
		const char *loader = a->firmware ? a->firmware : DEFAULT_HVMLOADER;
		if (xc_dom_kernel_file(dom, loader) != 0) {
			hvx_fail(p, e, errno, "loading hvmloader '%s'", loader);
			goto out;
		}
		dom->system_firmware_module.data = bios;
		dom->system_firmware_module.length = (uint32_t)bios_len;
		dom->mmio_size = HVM_BELOW_4G_MMIO_LENGTH;
	} else {
		xen_paddr_t start = (xen_paddr_t)(X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES)
				    << XC_PAGE_SHIFT;
		if (xc_dom_kernel_file(dom, a->kernel) != 0) {
			hvx_fail(p, e, errno, "loading kernel '%s'", a->kernel);
			goto out;
		}
		if (a->ramdisk && *a->ramdisk && xc_dom_module_file(dom, a->ramdisk, NULL) != 0) {
			hvx_fail(p, e, errno, "loading ramdisk '%s'", a->ramdisk);
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
			hvx_fail(p, e, errno, "mapping the hvm_info page of domain %u", domid);
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

static int x_domain_build(struct xf *x, uint32_t domid,
			  const struct xf_build_args *a, struct xf_build_result *out,
			  xo_err *e)
{
	struct xen_priv *p = P(x);
	int port;

	memset(out, 0, sizeof(*out));
	if (a->vcpus == 0 || a->vcpus > a->max_vcpus)
		return xo_errf(e, XO_E_INVALID, "invalid vcpus %u (max %u)", a->vcpus, a->max_vcpus);
	if (a->memory_target_kib < 1024)
		return xo_errf(e, XO_E_INVALID, "memory target %" PRIu64 " KiB is below 1 MiB",
			       a->memory_target_kib);
	clear_last(p);
	if ((port = xc_evtchn_alloc_unbound(p->xch, domid, a->store_domid)) < 0)
		return hvx_fail(p, e, errno, "allocating the xenstore event channel of domain %u",
			       domid);
	out->store_port = (uint32_t)port;
	if ((port = xc_evtchn_alloc_unbound(p->xch, domid, a->console_domid)) < 0)
		return hvx_fail(p, e, errno, "allocating the console event channel of domain %u",
			       domid);
	out->console_port = (uint32_t)port;
	if (a->type == XO_VM_PV)
		return build_pv(p, domid, a, out, e);
	return build_hvm(p, domid, a, out, e);
}

static int x_domain_pause(struct xf *x, uint32_t domid, xo_err *e)
{
	struct xen_priv *p = P(x);
	clear_last(p);
	if (xc_domain_pause(p->xch, domid) < 0)
		return hvx_fail(p, e, errno, "xc_domain_pause of domain %u", domid);
	return 0;
}

static int x_domain_unpause(struct xf *x, uint32_t domid, xo_err *e)
{
	struct xen_priv *p = P(x);
	clear_last(p);
	if (xc_domain_unpause(p->xch, domid) < 0)
		return hvx_fail(p, e, errno, "xc_domain_unpause of domain %u", domid);
	return 0;
}

static int x_domain_shutdown(struct xf *x, uint32_t domid, unsigned reason, xo_err *e)
{
	struct xen_priv *p = P(x);
	clear_last(p);
	if (xc_domain_shutdown(p->xch, domid, (int)reason) < 0)
		return hvx_fail(p, e, errno, "xc_domain_shutdown (reason %u) of domain %u", reason,
			       domid);
	return 0;
}

static int x_domain_destroy(struct xf *x, uint32_t domid, xo_err *e)
{
	struct xen_priv *p = P(x);
	clear_last(p);
	if (xc_domain_destroy(p->xch, domid) < 0)
		return hvx_fail(p, e, errno, "xc_domain_destroy of domain %u", domid);
	return 0;
}

static void fill_info(const xc_domaininfo_t *i, struct xf_dominfo *o)
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

static int x_domain_info(struct xf *x, uint32_t domid, struct xf_dominfo *out, xo_err *e)
{
	struct xen_priv *p = P(x);
	xc_domaininfo_t info;

	clear_last(p);
	/* getinfolist answers with the first domain at or after domid: check it is ours */
	int n = xc_domain_getinfolist(p->xch, domid, 1, &info);
	if (n < 0)
		return hvx_fail(p, e, errno, "xc_domain_getinfolist");
	if (n == 0 || info.domain != domid)
		return xo_errf(e, XO_E_NOT_FOUND, "domain %u does not exist", domid);
	fill_info(&info, out);
	return 0;
}

static int x_domain_list(struct xf *x, struct xf_dominfo **out, size_t *n_out, xo_err *e)
{
	struct xen_priv *p = P(x);
	xc_domaininfo_t batch[256];
	struct xf_dominfo *list = NULL;
	size_t n = 0;
	uint32_t next = 0;

	for (;;) {
		clear_last(p);
		int got = xc_domain_getinfolist(p->xch, next, XO_ARRAY_SIZE(batch), batch);
		if (got < 0) {
			free(list);
			return hvx_fail(p, e, errno, "xc_domain_getinfolist");
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

static int x_host_info(struct xf *x, struct xo_hostinfo *out, xo_err *e)
{
	struct xen_priv *p = P(x);
	xc_physinfo_t pi;

	if (host_physinfo(p, &pi, e) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->total_kib = pi.total_pages * (XC_PAGE_SIZE / 1024);
	out->free_kib = pi.free_pages * (XC_PAGE_SIZE / 1024);
	out->nr_cpus = pi.nr_cpus;
	return 0;
}

static int x_domain_set_memory(struct xf *x, uint32_t domid, enum xo_vm_type type,
			       uint64_t target_kib, xo_err *e)
{
	struct xen_priv *p = P(x);

	clear_last(p);
	if (xc_domain_setmaxmem(p->xch, domid, target_kib + MAXMEM_SLACK_KIB) < 0)
		return hvx_fail(p, e, errno, "xc_domain_setmaxmem %" PRIu64 " KiB of domain %u",
				target_kib + MAXMEM_SLACK_KIB, domid);
	if (type != XO_VM_PV) {
		/* the emulated VGA's memory is not the guest's RAM (build_hvm) */
		uint64_t ram = target_kib - (type == XO_VM_HVM && target_kib > HVM_VIDEO_KIB ? HVM_VIDEO_KIB : 0);
		if (xc_domain_set_pod_target(p->xch, domid, ram / 4, NULL, NULL, NULL) < 0)
			return hvx_fail(p, e, errno, "xc_domain_set_pod_target %" PRIu64 " KiB of domain %u",
					ram, domid);
	}
	return 0;
}

static int x_vcpu_set_affinity(struct xf *x, uint32_t domid, unsigned vcpu, const uint8_t *map,
			       xo_err *e)
{
	struct xen_priv *p = P(x);
	xc_cpumap_t hard = xc_cpumap_alloc(p->xch);
	int size = xc_get_cpumap_size(p->xch), r = 0;

	if (!hard || size <= 0) {
		free(hard);
		return hvx_fail(p, e, errno, "allocating a cpu map");
	}
	memcpy(hard, map, (size_t)size < XO_CPUMAP_BYTES ? (size_t)size : XO_CPUMAP_BYTES);
	clear_last(p);
	if (xc_vcpu_setaffinity(p->xch, domid, (int)vcpu, hard, NULL, XEN_VCPUAFFINITY_HARD) < 0)
		r = hvx_fail(p, e, errno, "xc_vcpu_setaffinity of vcpu %u of domain %u", vcpu, domid);
	free(hard);
	return r;
}

static int x_vcpu_info(struct xf *x, uint32_t domid, unsigned vcpu, struct xf_vcpuinfo *out,
		       xo_err *e)
{
	struct xen_priv *p = P(x);
	xc_vcpuinfo_t vi;
	xc_cpumap_t hard = xc_cpumap_alloc(p->xch);
	int size = xc_get_cpumap_size(p->xch), r = -1;

	memset(out, 0, sizeof(*out));
	if (!hard || size <= 0) {
		free(hard);
		return hvx_fail(p, e, errno, "allocating a cpu map");
	}
	clear_last(p);
	if (xc_vcpu_getinfo(p->xch, domid, vcpu, &vi) < 0) {
		hvx_fail(p, e, errno, "xc_vcpu_getinfo of vcpu %u of domain %u", vcpu, domid);
		goto out;
	}
	if (xc_vcpu_getaffinity(p->xch, domid, (int)vcpu, hard, NULL, XEN_VCPUAFFINITY_HARD) < 0) {
		hvx_fail(p, e, errno, "xc_vcpu_getaffinity of vcpu %u of domain %u", vcpu, domid);
		goto out;
	}
	out->online = vi.online;
	out->blocked = vi.blocked;
	out->running = vi.running;
	out->cpu = vi.online ? (int)vi.cpu : -1;
	out->cpu_time_ns = vi.cpu_time;
	memcpy(out->affinity, hard, (size_t)size < XO_CPUMAP_BYTES ? (size_t)size : XO_CPUMAP_BYTES);
	r = 0;
out:
	free(hard);
	return r;
}

/* ------------------------------------------------------------------------ open/close */

/*
 * xenconsoled keeps each guest's console output in <log-dir>/guest-<name>.log
 * when it runs with --log=guest (Debian: XENCONSOLED_ARGS in /etc/default/xen);
 * the file is named after the domain's name key, which is the vm's name, so it
 * outlives the domain. XO_CONSOLE_LOG_DIR says where, for a --log-dir other
 * than xenconsoled's default. An hvm guest's console is its serial port, logged by
 * its qemu in the VM's directory.
 */
static int x_console_log(struct xf *x, const struct xo_vm *vm, char **path, xo_err *e)
{
	const char *dir = getenv("XO_CONSOLE_LOG_DIR");

	(void)x;
	(void)e;
	if (vm->type == XO_VM_HVM) {
		/* the serial port, which qemu logs (xo-qemu-start) */
		*path = xasprintf("%s/VM/%s/serial.log", xo_state_dir(), vm->uuid);
		return 0;
	}
	*path = xasprintf("%s/guest-%s.log", dir && *dir ? dir : XO_XEN_CONSOLE_LOG_DIR, vm->name);
	return 0;
}

static void x_close(struct xf *x)
{
	struct xen_priv *p = P(x);
	if (!p)
		return;
	if (p->xch)
		xc_interface_close(p->xch);
	xtl_destroy(&p->log.vtable);
	free(p);
	x->hv_priv = NULL;
}


static int x_open(struct xf *x, xo_err *e)
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
	x->xs = xs_open(0);
	if (!x->xs) {
		xo_err_sys(e, errno, "cannot connect to xenstored");
		goto fail;
	}
	x->hv_priv = p;
	return 0;
fail:
	if (p->xch)
		xc_interface_close(p->xch);
	xtl_destroy(&p->log.vtable);
	free(p);
	return -1;
}

/* libxl's userdata directory (XEN_LIB_DIR), where xl looks for a domain's record; a host
 * without Xen's tools has none, and no xl to read it */
static char *xen_libxl_dir(void)
{
	struct stat st;

	if (stat("/var/lib/xen", &st) < 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return xstrdup("/var/lib/xen");
}

const struct xf_hv_ops xf_hv_xen = {
	.name = "xen",
	.open = x_open,
	.close = x_close,
	.domain_create = x_domain_create,
	.domain_build = x_domain_build,
	.domain_pause = x_domain_pause,
	.domain_unpause = x_domain_unpause,
	.domain_shutdown = x_domain_shutdown,
	.domain_destroy = x_domain_destroy,
	.domain_info = x_domain_info,
	.domain_list = x_domain_list,
	.host_info = x_host_info,
	.domain_set_memory = x_domain_set_memory,
	.vcpu_set_affinity = x_vcpu_set_affinity,
	.vcpu_info = x_vcpu_info,
	.dm_start = hvx_dm_start,
	.dm_stop = hvx_dm_stop,
	.dm_media = hvx_dm_media,
	.vnc_path = hvx_vnc_path,
	.pci_assign = hvx_pci_assign,
	.pci_deassign = hvx_pci_deassign,
	.console_log = x_console_log,
	.console_pty = true,
	.libxl_dir = xen_libxl_dir,
};
