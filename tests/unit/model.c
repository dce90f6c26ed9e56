/*
 * tests/unit/model.c: the object model's parsers and validators (lib/util.c,
 * lib/model.c, lib/json.c, lib/config.c): sizes, names, MAC and PCI
 * addresses, Xen device numbers, strict JSON, and the JSON round trip of
 * each object (to_json -> from_json -> to_json gives the same text).
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "model.h"
#include "util.h"

#include "tap.h"

static void test_sizes(void)
{
	static const struct {
		const char *s;
		unsigned long long v;
	} good[] = {
		{ "0", 0 }, { "1", 1 }, { "4096", 4096 }, { "1K", 1024 }, { "1k", 1024 },
		{ "512M", 512ull << 20 }, { "512m", 512ull << 20 }, { "2G", 2ull << 30 },
		{ "3T", 3ull << 40 }, { "64KiB", 64ull << 10 }, { "1GB", 1ull << 30 },
		{ "1Gb", 1ull << 30 }, { "7B", 7 }, { "16777215T", 16777215ull << 40 },
		{ "18446744073709551615", 18446744073709551615ull },
	};
	static const char *const bad[] = { "", "M", "-1", "+1", " 1", "1 ", "1 M", "12Q", "1Mi",
		"1MiBs", "1.5G", "0x10", "16777216T", "18446744073709551616", "1e9", "1KK" };
	uint64_t v;

	for (size_t i = 0; i < XO_ARRAY_SIZE(good); i++) {
		v = 12345;
		int r = xo_parse_size(good[i].s, &v);
		ok(r == 0 && v == good[i].v, "size '%s' is %llu (got r=%d v=%llu)", good[i].s, good[i].v,
		   r, (unsigned long long)v);
	}
	for (size_t i = 0; i < XO_ARRAY_SIZE(bad); i++)
		ok(xo_parse_size(bad[i], &v) < 0, "size '%s' is refused", bad[i]);

	char buf[32];
	xo_fmt_size(512ull << 20, buf, sizeof(buf));
	is_str(buf, "512M", "512 MiB prints as 512M");
	xo_fmt_size(2ull << 30, buf, sizeof(buf));
	is_str(buf, "2G", "2 GiB prints as 2G");
	xo_fmt_size(1536, buf, sizeof(buf));
	is_str(buf, "1536", "1536 bytes print as bytes");
	xo_fmt_size(0, buf, sizeof(buf));
	is_str(buf, "0", "0 prints as 0");
}

static void test_names(void)
{
	static const char *const good[] = { "web1", "a", "a.b", "a_b-c+d@e:f", "Web-01.example",
		"1234567890123456789012345678901234567890123456789012345678901234" };
	static const struct {
		const char *name, *why;
	} bad[] = {
		{ "", "empty" }, { "a/b", "contains '/'" }, { "/", "contains '/'" },
		{ "..", "must not start with '.'" }, { ".hidden", "must not start with '.'" },
		{ "-x", "must not start with '-'" }, { "a..b", "contains '..'" },
		{ "a b", "contains a space" }, { "a\tb", "control character 0x09" },
		{ "a\nb", "control character 0x0a" }, { "a\x7f", "control character 0x7f" },
		{ "a*b", "character '*' not allowed" }, { "caf\xc3\xa9", "not allowed" },
		{ "12345678901234567890123456789012345678901234567890123456789012345",
		  "longer than 64 bytes" },
	};
	xo_err e;

	for (size_t i = 0; i < XO_ARRAY_SIZE(good); i++)
		ok(xo_name_check(good[i], "vm name", &e) == 0, "name '%s' is valid", good[i]);
	for (size_t i = 0; i < XO_ARRAY_SIZE(bad); i++) {
		xo_err_clear(&e);
		int r = xo_name_check(bad[i].name, "vm name", &e);
		ok(r < 0 && e.cls == XO_E_INVALID && strstr(e.msg, bad[i].why) &&
			   strstr(e.msg, "vm name"),
		   "bad name %zu is refused: %s", i, bad[i].why);
	}
}

static void test_mac(void)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "00:16:3e:12:34:56", "00:16:3e:12:34:56" },
		{ "00:16:3E:AA:bb:Cc", "00:16:3e:aa:bb:cc" },
		{ "02:00:00:00:00:01", "02:00:00:00:00:01" },
		{ "fe:ff:ff:ff:ff:ff", "fe:ff:ff:ff:ff:ff" },
	};
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "01:00:5e:00:00:01", "multicast" }, { "ff:ff:ff:ff:ff:ff", "multicast" },
		{ "00:00:00:00:00:00", "all zero" }, { "00:16:3e:12:34", "expected" },
		{ "00:16:3e:12:34:56:78", "expected" }, { "00-16-3e-12-34-56", "expected" },
		{ "0:16:3e:12:34:567", "expected" }, { "00:16:3e:12:34:5g", "expected" },
		{ " 0:16:3e:12:34:56", "expected" }, { "00:16:3e:12:34:+5", "expected" },
		{ "", "expected" },
	};
	char out[18];
	xo_err e;

	for (size_t i = 0; i < XO_ARRAY_SIZE(good); i++) {
		memset(out, 0, sizeof(out));
		int r = xo_mac_parse(good[i].in, out, &e);
		ok(r == 0, "mac '%s' is valid", good[i].in);
		is_str(out, good[i].out, "mac '%s' is normalised", good[i].in);
	}
	for (size_t i = 0; i < XO_ARRAY_SIZE(bad); i++) {
		xo_err_clear(&e);
		ok(xo_mac_parse(bad[i].in, out, &e) < 0 && strstr(e.msg, bad[i].why),
		   "mac '%s' is refused: %s", bad[i].in, bad[i].why);
	}
	int all = 1, distinct = 1;
	char prev[18] = "";
	for (int i = 0; i < 1000; i++) {
		char m[18], n[18];
		xo_mac_random(m);
		unsigned first = (unsigned)strtoul(m, NULL, 16);
		if (xo_mac_parse(m, n, &e) < 0 || strcmp(m, n) != 0 || (first & 3) != 2)
			all = 0;
		if (strcmp(m, prev) == 0)
			distinct = 0;
		memcpy(prev, m, sizeof(prev));
	}
	ok(all, "random macs are valid, lowercase, locally administered and unicast");
	ok(distinct, "random macs differ");
}

static void test_pci(void)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "0000:03:00.0", "0000:03:00.0" }, { "03:00.0", "0000:03:00.0" },
		{ "ABCD:EF:1F.7", "abcd:ef:1f.7" }, { "0001:ff:1f.7", "0001:ff:1f.7" },
	};
	static const char *const bad[] = { "0000:03:20.0", "0000:03:00.8", "0000:3:00.0", "0000:03:0.0",
		"0000:03:00", "03:00", "0000:03:00.0 ", " 0000:03:00.0", "+000:03:00.0", "0x00:03:00.0",
		"00000:03:00.0", "0000:003:00.0", "0000:03:00.00", "0000.03.00.0", "junk", "",
		"0000:03:00.0.0", "3:0.0" };
	char out[13];
	xo_err e;

	for (size_t i = 0; i < XO_ARRAY_SIZE(good); i++) {
		memset(out, 0, sizeof(out));
		ok(xo_pci_address_parse(good[i].in, out, &e) == 0, "pci address '%s' is valid", good[i].in);
		is_str(out, good[i].out, "pci address '%s' is normalised", good[i].in);
	}
	for (size_t i = 0; i < XO_ARRAY_SIZE(bad); i++)
		ok(xo_pci_address_parse(bad[i], out, &e) < 0 && strstr(e.msg, "expected dddd:bb:dd.f"),
		   "pci address '%s' is refused", bad[i]);
}

static void test_devid(void)
{
	static const struct {
		const char *name;
		long devid;
		int index;
	} v[] = {
		{ "xvda", 51712, 0 }, { "xvdb", 51728, 1 }, { "xvdp", 51952, 15 },
		{ "xvdq", (1L << 28) | (16 << 8), 16 }, { "xvdz", (1L << 28) | (25 << 8), 25 },
		{ "xvdaa", (1L << 28) | (26 << 8), 26 }, { "xvdzz", (1L << 28) | (701 << 8), 701 },
		{ "hda", 768, 0 }, { "hdb", 832, 1 }, { "hdc", 5632, 2 }, { "hdd", 5696, 3 },
		{ "sda", 2048, 0 }, { "sdp", 2288, 15 }, { "fda", 51968, 0 }, { "fdb", 51984, 1 },
		{ "hde", -1, -1 }, { "sdq", -1, -1 }, { "fdc", -1, -1 }, { "xvd", -1, -1 },
		{ "xvdA", -1, -1 }, { "xvdaaa", -1, -1 }, { "vda", -1, -1 }, { "xvda1", -1, -1 },
		{ "", -1, -1 },
	};

	for (size_t i = 0; i < XO_ARRAY_SIZE(v); i++) {
		is_int(xo_vbd_devid(v[i].name), v[i].devid, "device number of '%s'", v[i].name);
		is_int(xo_vbd_disk_index(v[i].name), v[i].index, "disk index of '%s'", v[i].name);
	}
}

static void test_uuid(void)
{
	char u[XO_UUID_LEN + 1], w[XO_UUID_LEN + 1];

	xo_uuid_generate(u);
	xo_uuid_generate(w);
	ok(xo_uuid_valid(u) && strlen(u) == 36 && u[14] == '4' && strchr("89ab", u[19]),
	   "a new uuid is a lowercase version 4 uuid: %s", u);
	ok(strcmp(u, w) != 0, "two new uuids differ");
	ok(!xo_uuid_valid("6C1F7C54-3A4E-4A55-9B1F-6D5AB7B8D0C2"), "an uppercase uuid is not canonical");
	ok(!xo_uuid_valid("6c1f7c54-3a4e-4a55-9b1f-6d5ab7b8d0c"), "a short uuid is refused");
	ok(!xo_uuid_valid("6c1f7c543a4e4a559b1f6d5ab7b8d0c2"), "a uuid without dashes is refused");
	ok(!xo_uuid_valid("web1"), "a name is not a uuid");
}

/* parse text as JSON or fail the test; NULL with e filled on error */
static struct json_object *parse(const char *text, xo_err *e)
{
	xo_err_clear(e);
	return xo_json_parse(text, strlen(text), "test", e);
}

static void test_json(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "empty input" }, { "   \n", "empty input" }, { "{\"a\": 1", "truncated" },
		{ "{\"a\": 1} x", "at byte 9" }, { "{\"a\": 1,}", "at byte" },
		{ "{'a': 1}", "at byte 1: single quotes" },
		{ "{\"a\": 'x'}", "at byte 6: single quotes" },
		{ "{\"a\": 1 /* c */}", "at byte" }, { "{\"a\": }", "at byte" },
	};
	struct json_object *o;
	xo_err e;

	for (size_t i = 0; i < XO_ARRAY_SIZE(bad); i++) {
		o = parse(bad[i].text, &e);
		ok(!o && e.cls == XO_E_INVALID && strstr(e.msg, bad[i].why) &&
			   strstr(e.msg, "malformed json in test"),
		   "json %zu is refused: %s (%s)", i, bad[i].why, e.msg);
		json_object_put(o);
	}
	o = xo_json_parse("{\"a\": 1}\0x", 10, "test", &e);
	ok(!o && strstr(e.msg, "NUL byte"), "a NUL byte in the input is refused");
	o = parse("{\"it's\": \"a \\\" quote's\"}", &e);
	ok(o != NULL, "single quotes inside strings are fine");
	json_object_put(o);
	o = parse(" {\"a\": [1, true, \"x\"]}\n\n", &e);
	ok(o != NULL, "white space around the value is fine");
	json_object_put(o);
}

/* to_json, then from_json, then to_json again gives the same text */
#define ROUND_TRIP(type, obj, what) do { \
	struct json_object *j1_ = xo_##type##_to_json(obj); \
	char *s1_ = xo_json_dump(j1_, true); \
	struct xo_##type back_; \
	xo_err e_; \
	xo_##type##_init(&back_); \
	int r_ = xo_##type##_from_json(j1_, &back_, &e_); \
	ok(r_ == 0, "%s: the stored form reads back (%s)", what, r_ == 0 ? "ok" : e_.msg); \
	struct json_object *j2_ = xo_##type##_to_json(&back_); \
	char *s2_ = xo_json_dump(j2_, true); \
	is_str(s2_, s1_, "%s: and writes the same JSON", what); \
	free(s1_); free(s2_); \
	json_object_put(j1_); json_object_put(j2_); \
	FREE_##type(&back_); \
} while (0)
#define FREE_vm xo_vm_free
#define FREE_vbd xo_vbd_free
#define FREE_vif xo_vif_free
#define FREE_pci(p) ((void)(p))

static void test_round_trip(void)
{
	struct xo_vm vm;
	struct xo_vbd vbd;
	struct xo_vif vif;
	struct xo_pci pci;
	xo_err e;

	xo_vm_init(&vm);
	vm.name = xstrdup("web1");
	vm.memory_static_max = 1ull << 30;
	vm.kernel = xstrdup("/boot/vmlinuz");
	xo_uuid_generate(vm.uuid);     /* a stored vm always has one */
	ok(xo_vm_check(&vm, &e) == 0, "a minimal vm is valid");
	is_int(vm.memory_dynamic_max, 1ull << 30, "dynamic_max defaults to static_max");
	is_int(vm.memory_dynamic_min, 1ull << 30, "dynamic_min defaults to dynamic_max");
	is_int(vm.vcpu_max, 1, "vcpu_max defaults to vcpus");
	ROUND_TRIP(vm, &vm, "minimal vm");
	vm.memory_dynamic_min = 256ull << 20;
	vm.memory_dynamic_max = 512ull << 20;
	vm.vcpus = 2;
	vm.vcpu_max = 8;
	vm.ramdisk = xstrdup("/boot/initrd.img");
	vm.cmdline = xstrdup("root=/dev/xvda1 ro console=hvc0\t\"quoted\"");
	vm.framebuffer = true;
	xo_kvs_set(&vm.platform, "acpi", "1");
	xo_kvs_set(&vm.platform, "device-model/x", "y z");
	xo_kvs_set(&vm.xsdata, "vm-data/role", "web");
	vm.on_shutdown = XO_ACT_PAUSE;
	vm.on_reboot = XO_ACT_SHUTDOWN;
	vm.on_crash = XO_ACT_COREDUMP;
	ok(xo_vm_check(&vm, &e) == 0, "a full pv vm is valid");
	ROUND_TRIP(vm, &vm, "full pv vm");
	xo_vm_free(&vm);

	xo_vm_init(&vm);
	vm.name = xstrdup("win1");
	vm.type = XO_VM_HVM;
	vm.memory_static_max = 4ull << 30;
	vm.boot_order = xstrdup("dcn");
	xo_uuid_generate(vm.uuid);
	ok(xo_vm_check(&vm, &e) == 0, "an hvm vm is valid");
	ROUND_TRIP(vm, &vm, "hvm vm");
	xo_vm_free(&vm);

	xo_vm_init(&vm);
	vm.name = xstrdup("pvgrub");
	vm.memory_static_max = 64ull << 20;
	vm.bootloader = xstrdup("/usr/lib/xen-4.17/bin/pygrub");
	vm.bootloader_args = xstrdup("--entry=1");
	xo_uuid_generate(vm.uuid);
	ok(xo_vm_check(&vm, &e) == 0, "a pv vm with a bootloader is valid");
	ROUND_TRIP(vm, &vm, "pv vm with bootloader");
	xo_vm_free(&vm);

	xo_vbd_init(&vbd);
	vbd.backend = xstrdup("/srv/a.img");
	ok(xo_vbd_check(&vbd, &e) == 0 && vbd.mode == XO_VBD_RW && vbd.unpluggable && vbd.persistent,
	   "a vbd defaults to a read/write, unpluggable, persistent disk");
	vbd.name = xstrdup("xvdq");
	ROUND_TRIP(vbd, &vbd, "plain vbd");
	vbd.mode = XO_VBD_RO;
	vbd.unpluggable = false;
	vbd.persistent = false;
	vbd.qos = XO_QOS_REALTIME;
	vbd.qos_class = 1;
	xo_kvs_set(&vbd.extra_backend_keys, "discard-enable", "1");
	xo_kvs_set(&vbd.extra_private_keys, "other-config/x", "y");
	xo_kvs_set(&vbd.extra_backend_keys, "sm-data/x", "y");
	vbd.script = xstrdup("/etc/xen/scripts/block-iscsi");
	ROUND_TRIP(vbd, &vbd, "full vbd");
	xo_vbd_free(&vbd);
	xo_vbd_init(&vbd);
	vbd.type = XO_VBD_CDROM;
	vbd.mode = XO_VBD_RO;
	vbd.name = xstrdup("hdc");
	ok(xo_vbd_check(&vbd, &e) == 0 && vbd.backend && !*vbd.backend,
	   "an empty cdrom drive is valid");
	ROUND_TRIP(vbd, &vbd, "empty cdrom");
	xo_vbd_free(&vbd);

	xo_vif_init(&vif);
	xo_mac_random(vif.mac);
	vif.position = 0;
	ok(xo_vif_check(&vif, &e) == 0, "a vif with defaults is valid");
	is_str(vif.bridge, "xenbr0", "the bridge defaults to xenbr0");
	ROUND_TRIP(vif, &vif, "plain vif");
	vif.position = 1023;
	vif.mtu = 9000;
	vif.rate_kbytes_per_s = 125000;
	vif.rate_timeslice_us = 20000;
	vif.carrier = false;
	vif.locking_mode = XO_LOCK_LOCKED;
	ok(xo_vif_add_allowed(&vif, "192.0.2.1", &e) == 0 &&
		   xo_vif_add_allowed(&vif, "198.51.100.0/24", &e) == 0 &&
		   xo_vif_add_allowed(&vif, "2001:db8::1/128", &e) == 0,
	   "allowed addresses are accepted");
	ok(xo_vif_add_allowed(&vif, "192.0.2.1/33", &e) < 0, "an ipv4 prefix over 32 is refused");
	ok(xo_vif_add_allowed(&vif, "2001:db8::g", &e) < 0, "a bad ipv6 address is refused");
	xo_kvs_set(&vif.extra_private_keys, "vif-uuid", "b");
	xo_kvs_set(&vif.extra_private_keys, "ethtool-tso", "off");
	vif.script = xstrdup("/etc/xen/scripts/vif-bridge");
	ok(xo_vif_check(&vif, &e) == 0, "a full vif is valid");
	ROUND_TRIP(vif, &vif, "full vif");
	xo_vif_free(&vif);

	xo_pci_init(&pci);
	ok(xo_pci_check(&pci, &e) < 0 && strstr(e.msg, "address is required"), "a pci device needs an address");
	memcpy(pci.address, "03:00.1", 8);
	pci.position = 255;
	pci.msitranslate = pci.permissive = true;
	ok(xo_pci_check(&pci, &e) == 0, "a pci device is valid");
	is_str(pci.address, "0000:03:00.1", "the address is normalised");
	ROUND_TRIP(pci, &pci, "pci device");
}

/* xo_vm_from_json of a text; 0 or -1 with e */
static int vm_text(const char *text, struct xo_vm *vm, xo_err *e)
{
	struct json_object *o = parse(text, e);
	int r;

	xo_vm_init(vm);
	if (!o)
		return -1;
	r = xo_vm_from_json(o, vm, e);
	json_object_put(o);
	return r;
}

static void test_vm_checks(void)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "{\"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}}", "a name is required" },
		{ "{\"name\": \"x\", \"boot\": {\"kernel\": \"/k\"}}", "memory is required" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 1048575}, \"boot\": {\"kernel\": \"/k\"}}", "less than 1 MiB" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 17592186044420}, \"boot\": {\"kernel\": \"/k\"}}", "too large" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 1052672, \"dynamic_max\": 1050000}, \"boot\": {\"kernel\": \"/k\"}}", "multiple of 4 KiB" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864, \"dynamic_max\": 134217728}, \"boot\": {\"kernel\": \"/k\"}}", "larger than static_max" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864, \"dynamic_min\": 134217728}, \"boot\": {\"kernel\": \"/k\"}}", "larger than dynamic_max" },
		{ "{\"name\": \"x\", \"vcpus\": 0, \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}}", "at least one" },
		{ "{\"name\": \"x\", \"vcpus\": 129, \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}}", "at most 128" },
		{ "{\"name\": \"x\", \"vcpus\": 3, \"vcpu_max\": 2, \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}}", "more than vcpu_max" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}}", "needs a kernel" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"k\"}}", "absolute path" },
		{ "{\"name\": \"x\", \"type\": \"hvm\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"order\": \"x\"}}", "invalid boot order" },
		{ "{\"name\": \"x\", \"type\": \"hvm\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"order\": \"cdnac\"}}", "invalid boot order" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\", \"cmdline\": \"a\\nb\"}}", "control character" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"xsdata\": {\"a\": \"b\"}}", "must start with 'vm-data/'" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"platform\": {\"a//b\": \"c\"}}", "empty path component" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"platform\": {\"a/../b\": \"c\"}}", "'.' or '..'" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"uuid\": \"x\"}", "not a lowercase uuid" },
		{ "{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"colour\": 1}", "unknown field 'colour'" },
	};
	struct xo_vm vm;
	xo_err e;

	for (size_t i = 0; i < XO_ARRAY_SIZE(bad); i++) {
		xo_err_clear(&e);
		int r = vm_text(bad[i].json, &vm, &e);
		ok(r < 0 && e.cls == XO_E_INVALID && strstr(e.msg, bad[i].why), "bad vm %zu: %s (%s)", i,
		   bad[i].why, e.msg);
		xo_vm_free(&vm);
	}
	ok(vm_text("{\"name\": \"x\", \"memory\": {\"static_max\": 67108864, \"dynamic_min\": 0}, "
		   "\"boot\": {\"kernel\": \"/k\"}}", &vm, &e) == 0 &&
		   vm.memory_dynamic_min == 67108864,
	   "a dynamic_min of 0 means the default");
	xo_vm_free(&vm);
	ok(vm_text("{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}}",
		   &vm, &e) == 0 && xo_vm_check_files(&vm, &e) < 0 && strstr(e.msg, "missing or unreadable"),
	   "a missing kernel file is found by xo_vm_check_files");
	xo_vm_free(&vm);
}

static void test_whole_vm(void)
{
	const char *text = "{\"name\": \"x\", \"type\": \"hvm\", \"memory\": {\"static_max\": 67108864},"
			   " \"vbds\": [{\"backend\": \"/a\"}, {\"type\": \"cdrom\"}],"
			   " \"vifs\": [{\"mac\": \"00:16:3E:00:00:01\"}], \"pcis\": [{\"address\": \"03:00.0\"}]}";
	struct xo_vm vm;
	struct xo_devices d = { 0 };
	xo_err e;

	xo_vm_init(&vm);
	int r = xo_vm_parse_full(text, strlen(text), "test", &vm, &d, &e);
	ok(r == 0 && d.n_vbd == 2 && d.n_vif == 1 && d.n_pci == 1, "the whole-vm form has its devices");
	ok(d.n_vbd == 2 && d.vbd[1].mode == XO_VBD_RO, "a cdrom in it is read-only");
	ok(d.n_vif == 1 && strcmp(d.vif[0].mac, "00:16:3e:00:00:01") == 0, "its mac is normalised");
	ok(d.n_pci == 1 && strcmp(d.pci[0].address, "0000:03:00.0") == 0, "its pci address is normalised");
	struct json_object *o = xo_vm_full_to_json(&vm, &d);
	char *s = xo_json_dump(o, false);
	ok(strstr(s, "\"vbds\":[") && strstr(s, "\"vifs\":[") && strstr(s, "\"pcis\":["),
	   "the whole-vm form is written with its arrays");
	free(s);
	json_object_put(o);
	xo_devices_free(&d);
	xo_vm_free(&vm);

	static const char *const bad[] = {
		"{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"vbds\": [7]}",
		"{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"vifs\": [{\"mtu\": 67}]}",
		"{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"vifs\": [{\"position\": 1024}]}",
		"{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"pcis\": [{\"address\": \"03:00.0\", \"position\": 256}]}",
		"{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"vbds\": [{\"backend\": \"/a\", \"qos\": {\"scheduler\": \"none\"}}]}",
		"{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"vbds\": [{\"backend\": \"/a\", \"qos\": {\"scheduler\": \"idle\", \"class\": 8}}]}",
		"{\"name\": \"x\", \"memory\": {\"static_max\": 67108864}, \"boot\": {\"kernel\": \"/k\"}, \"vifs\": [{\"ipv4_allowed\": [\"2001:db8::1\"], \"locking_mode\": \"locked\"}]}",
	};
	for (size_t i = 0; i < XO_ARRAY_SIZE(bad); i++) {
		memset(&d, 0, sizeof(d));
		xo_vm_init(&vm);
		xo_err_clear(&e);
		ok(xo_vm_parse_full(bad[i], strlen(bad[i]), "test", &vm, &d, &e) < 0 && e.cls == XO_E_INVALID,
		   "bad device %zu is refused (%s)", i, e.msg);
		xo_devices_free(&d);
		xo_vm_free(&vm);
	}
}

int main(void)
{
	test_sizes();
	test_names();
	test_mac();
	test_pci();
	test_devid();
	test_uuid();
	test_json();
	test_round_trip();
	test_vm_checks();
	test_whole_vm();
	return tap_done();
}
