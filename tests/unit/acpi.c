/*
 * tests/unit/acpi.c: the PVH ACPI tables (lib/acpi.c) parsed back the way a
 * guest would: RSDP -> XSDT -> FADT, MADT; signatures, lengths, checksums,
 * addresses and the local APICs. Prints TAP.
 */
#include <stdio.h>
#include <string.h>

#include "acpi.h"

static int n_test, n_fail;

static void ok(int cond, const char *what)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%sok %d - acpi: %s\n", cond ? "" : "not ", n_test, what);
}

static uint64_t get(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int sums_to_zero(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s == 0;
}

/* the table at guest address addr, if it lies inside the blob */
static const uint8_t *at(const struct xo_acpi_pvh *a, uint64_t addr, const char *sig)
{
	if (addr < a->tables_addr || addr + 36 > a->tables_addr + a->tables_len)
		return NULL;
	const uint8_t *t = a->tables + (addr - a->tables_addr);
	if (memcmp(t, sig, 4) != 0 || addr + get(t + 4, 4) > a->tables_addr + a->tables_len)
		return NULL;
	return t;
}

int main(void)
{
	struct xo_acpi_pvh a;
	xo_err e;

	ok(xo_acpi_pvh_build(0, 0, false, &a, &e) < 0 && e.cls == XO_E_INVALID,
	   "no vcpus is refused");
	ok(xo_acpi_pvh_build(2, 3, false, &a, &e) < 0, "more online vcpus than possible is refused");

	ok(xo_acpi_pvh_build(4, 2, false, &a, &e) == 0, "tables for 2 of 4 vcpus");
	ok(memcmp(a.rsdp, "RSD PTR ", 8) == 0 && a.rsdp[15] == 2 && sums_to_zero(a.rsdp, 20) &&
		   sums_to_zero(a.rsdp, 36) && get(a.rsdp + 20, 4) == 36,
	   "RSDP: signature, revision 2, both checksums");
	ok(a.tables_addr == XO_ACPI_TABLES_ADDR && a.tables_len % 4096 == 0 &&
		   a.rsdp_addr == XO_ACPI_INFO_ADDR + 4096 + a.tables_len,
	   "tables in the MMIO hole, RSDP on the page after them");

	const uint8_t *xsdt = at(&a, get(a.rsdp + 24, 8), "XSDT");
	ok(xsdt && sums_to_zero(xsdt, get(xsdt + 4, 4)) && get(xsdt + 4, 4) == 36 + 16,
	   "XSDT found from the RSDP, two entries, checksum");
	const uint8_t *fadt = xsdt ? at(&a, get(xsdt + 36, 8), "FACP") : NULL;
	const uint8_t *madt = xsdt ? at(&a, get(xsdt + 44, 8), "APIC") : NULL;
	ok(fadt && fadt[8] == 5 && get(fadt + 4, 4) == 268 && sums_to_zero(fadt, 268),
	   "FADT revision 5, 268 bytes, checksum");
	ok(fadt && at(&a, get(fadt + 140, 8), "DSDT") && at(&a, get(fadt + 40, 4), "DSDT") &&
		   at(&a, get(fadt + 132, 8), "FACS"),
	   "FADT points at the DSDT and the FACS");
	const uint8_t *dsdt = fadt ? at(&a, get(fadt + 140, 8), "DSDT") : NULL;
	ok(dsdt && sums_to_zero(dsdt, get(dsdt + 4, 4)), "DSDT checksum");
	ok(madt && get(madt + 4, 4) == 44 + 4 * 8 && sums_to_zero(madt, get(madt + 4, 4)) &&
		   get(madt + 36, 4) == 0xfee00000,
	   "MADT: four local APICs at 0xfee00000, checksum");
	int apics_ok = madt != NULL;
	for (int i = 0; madt && i < 4; i++) {
		const uint8_t *l = madt + 44 + 8 * i;
		apics_ok &= l[0] == 0 && l[1] == 8 && l[2] == i && l[3] == 2 * i &&
			    get(l + 4, 4) == (i < 2 ? 1u : 0u);
	}
	ok(apics_ok, "APIC ids 2n, the first two enabled");
	xo_acpi_pvh_free(&a);

	ok(xo_acpi_pvh_build(1, 1, true, &a, &e) == 0 && a.rsdp_addr == 0x100000 - 64,
	   "a legacy kernel gets its RSDP below 1 MiB");
	xo_acpi_pvh_free(&a);

	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}
