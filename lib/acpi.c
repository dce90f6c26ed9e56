/*
 * acpi.c: the ACPI tables of a PVH guest (see acpi.h).
 *
 * Tables are laid out in one buffer that is copied to XO_ACPI_TABLES_ADDR,
 * so a table's guest address is that base plus its offset. Every field is
 * written little-endian byte by byte (no packed structs); every table's
 * bytes sum to zero (the checksum byte at offset 9), the RSDP's first 20
 * bytes and all 36 too. Field offsets are the ACPI 5.0 specification's.
 */
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "util.h"

#define PAGE 4096u
#define HDR 36u                  /* the common table header */
#define FACS_LEN 64u
#define FADT_LEN 268u            /* revision 5 */
#define LAPIC_BASE 0xfee00000u

static void put8(uint8_t *p, size_t off, uint8_t v) { p[off] = v; }

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* a generic address structure: I/O space */
static void put_gas_io(uint8_t *p, size_t off, uint8_t bits, uint64_t addr)
{
	put8(p, off, 1);             /* system I/O */
	put8(p, off + 1, bits);
	put8(p, off + 2, 0);
	put8(p, off + 3, 0);
	put64(p, off + 4, addr);
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t, 4, len);
	put8(t, 8, rev);
	memcpy(t + 10, "Xen\0\0\0", 6);          /* OEM id */
	memcpy(t + 16, "HVM\0\0\0\0\0", 8);      /* OEM table id */
	put32(t, 24, 0);                         /* OEM revision */
	memcpy(t + 28, "XO  ", 4);               /* creator */
	put32(t, 32, 1);                         /* creator revision */
}

static void checksum(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)(0 - sum(t, len));
}

static size_t align(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int xo_acpi_pvh_build(unsigned max_vcpus, unsigned online_vcpus, bool rsdp_low,
		      struct xo_acpi_pvh *out, xo_err *e)
{
	size_t facs = 0, dsdt, fadt, madt, xsdt, end, pages;
	uint32_t madt_len, xsdt_len = HDR + 2 * 8;
	uint64_t base = XO_ACPI_TABLES_ADDR;
	uint8_t *b;

	memset(out, 0, sizeof(*out));
	if (max_vcpus == 0 || max_vcpus > 128 || online_vcpus == 0 || online_vcpus > max_vcpus)
		return xo_errf(e, XO_E_INVALID, "ACPI tables: invalid vcpus %u of %u", online_vcpus,
			       max_vcpus);
	madt_len = HDR + 8 + 8 * max_vcpus;
	dsdt = align(facs + FACS_LEN, 16);
	fadt = align(dsdt + HDR, 16);
	madt = align(fadt + FADT_LEN, 16);
	xsdt = align(madt + madt_len, 16);
	end = xsdt + xsdt_len;
	pages = align(end, PAGE) / PAGE;
	b = xcalloc(pages, PAGE);

	/* FACS: no header checksum; version 1 */
	memcpy(b + facs, "FACS", 4);
	put32(b + facs, 4, FACS_LEN);
	put8(b + facs, 32, 1);

	/* DSDT: no AML (no hvmloader-style CPU hot-plug methods) */
	header(b + dsdt, "DSDT", HDR, 2);
	checksum(b + dsdt, HDR);

	/* FADT: the values libxl gives a PVH guest */
	uint8_t *f = b + fadt;
	header(f, "FACP", FADT_LEN, 5);
	put32(f, 36, (uint32_t)(base + facs));   /* FIRMWARE_CTRL */
	put32(f, 40, (uint32_t)(base + dsdt));   /* DSDT */
	put16(f, 46, 9);                         /* SCI_INT */
	put32(f, 56, 0xb000);                    /* PM1a_EVT_BLK */
	put32(f, 64, 0xb004);                    /* PM1a_CNT_BLK */
	put32(f, 80, 0xafe0);                    /* GPE0_BLK */
	put8(f, 88, 4);                          /* PM1_EVT_LEN */
	put8(f, 89, 2);                          /* PM1_CNT_LEN */
	put8(f, 92, 4);                          /* GPE0_BLK_LEN */
	put16(f, 96, 0x0fff);                    /* P_LVL2_LAT: no C2 */
	put16(f, 98, 0x0fff);                    /* P_LVL3_LAT: no C3 */
	put16(f, 109, 0x0024);                   /* IAPC_BOOT_ARCH: no VGA, no CMOS RTC */
	put32(f, 112, 0x8175);                   /* flags: WBINVD, C1, buttons, RTC, TMR_VAL_EXT, RESET_REG */
	put_gas_io(f, 116, 8, 0xcf9);            /* RESET_REG */
	put8(f, 128, 6);                         /* RESET_VALUE */
	put64(f, 132, base + facs);              /* X_FIRMWARE_CTRL */
	put64(f, 140, base + dsdt);              /* X_DSDT */
	put_gas_io(f, 148, 32, 0xb000);          /* X_PM1a_EVT_BLK */
	put_gas_io(f, 172, 16, 0xb004);          /* X_PM1a_CNT_BLK */
	checksum(f, FADT_LEN);

	/* MADT: local APICs only */
	uint8_t *m = b + madt;
	header(m, "APIC", madt_len, 2);
	put32(m, 36, LAPIC_BASE);
	put32(m, 40, 0);                         /* no 8259 PICs */
	for (unsigned i = 0; i < max_vcpus; i++) {
		uint8_t *l = m + HDR + 8 + 8 * i;
		put8(l, 0, 0);                   /* processor local APIC */
		put8(l, 1, 8);
		put8(l, 2, (uint8_t)i);          /* ACPI processor id */
		put8(l, 3, (uint8_t)(2 * i));    /* APIC id, as Xen numbers them */
		put32(l, 4, i < online_vcpus ? 1 : 0);
	}
	checksum(m, madt_len);

	/* XSDT */
	uint8_t *x = b + xsdt;
	header(x, "XSDT", xsdt_len, 1);
	put64(x, HDR, base + fadt);
	put64(x, HDR + 8, base + madt);
	checksum(x, xsdt_len);

	/* RSDP, revision 2: checksum over 20 bytes, extended checksum over 36 */
	uint8_t *r = out->rsdp;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "Xen\0\0\0", 6);
	put8(r, 15, 2);
	put32(r, 16, 0);                         /* no RSDT */
	put32(r, 20, 36);
	put64(r, 24, base + xsdt);
	r[8] = (uint8_t)(0 - sum(r, 20));
	r[32] = (uint8_t)(0 - sum(r, 36));

	out->tables = b;
	out->tables_len = pages * PAGE;
	out->tables_addr = base;
	out->rsdp_addr = rsdp_low ? 0x100000 - XO_ACPI_RSDP_SIZE
				  : XO_ACPI_INFO_ADDR + (1 + pages) * PAGE;
	return 0;
}

void xo_acpi_pvh_free(struct xo_acpi_pvh *a)
{
	free(a->tables);
	a->tables = NULL;
}
