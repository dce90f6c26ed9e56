/*
 * acpi.h: the ACPI tables of a PVH guest.
 *
 * A PVH guest has no firmware, so the toolstack hands it its ACPI tables
 * (libxl builds them with libacpi). Linux needs them: without a MADT it
 * finds one CPU whatever the domain has, and without them a poweroff never
 * reaches the point where Xen sees every vCPU halted and shuts the domain
 * down. xo builds the same tables libxl does, minus the AML that only
 * hvmloader-style CPU hot-plug uses:
 *
 *   FACS, DSDT (header only), FADT (revision 5, the values libxl gives a PVH
 *   guest), MADT (one local APIC per possible vCPU, APIC id 2*n, enabled for
 *   the online ones, no I/O APIC), XSDT -> FADT, MADT; and the RSDP.
 *
 * The builder loads them as libxenguest "ACPI modules": module 0 is the RSDP
 * (its address becomes hvm_start_info.rsdp_paddr), module 1 the tables. The
 * tables sit in the MMIO hole at XO_ACPI_TABLES_ADDR, the RSDP on the page
 * after them, or, for a kernel that cannot take an RSDP above 1 MiB
 * (rsdp_low), in the last 64 bytes below 1 MiB where a legacy search finds it.
 * Both ranges must be in the guest's e820 as ACPI memory.
 */
#ifndef XO_ACPI_H
#define XO_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define XO_ACPI_INFO_ADDR 0xfc000000ull          /* libacpi's ACPI_INFO_PHYSICAL_ADDRESS */
#define XO_ACPI_TABLES_ADDR (XO_ACPI_INFO_ADDR + 4096)
#define XO_ACPI_RSDP_SIZE 64

struct xo_acpi_pvh {
	uint8_t rsdp[XO_ACPI_RSDP_SIZE];
	uint64_t rsdp_addr;
	uint8_t *tables;         /* malloc'd, tables_len bytes (whole pages) */
	size_t tables_len;
	uint64_t tables_addr;
};

int xo_acpi_pvh_build(unsigned max_vcpus, unsigned online_vcpus, bool rsdp_low,
		      struct xo_acpi_pvh *out, xo_err *e);
void xo_acpi_pvh_free(struct xo_acpi_pvh *a);

#endif
