/* xo-vm-add: add a VM from flags or JSON and print its uuid */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"

enum { O_TYPE = 256, O_MEMORY, O_MEMORY_MIN, O_MEMORY_MAX, O_STATIC_MAX, O_VCPUS, O_VCPU_MAX,
	O_KERNEL, O_RAMDISK, O_CMDLINE, O_BOOTLOADER, O_BOOTLOADER_ARGS, O_BOOT_ORDER,
	O_FRAMEBUFFER, O_PLATFORM, O_XSDATA, O_ON_SHUTDOWN, O_ON_REBOOT, O_ON_CRASH, O_UUID,
	O_NAME, O_MEMORY_TARGET, O_CPUS };

static const struct xo_opt opts[] = {
	{ 'f', "file", "FILE", "read the VM as JSON from FILE ('-': standard input)" },
	{ O_NAME, "name", "NAME", "the VM's name (unique)" },
	{ O_TYPE, "type", "TYPE", "pv, pvh or hvm (default pv)" },
	{ O_MEMORY, "memory", "SIZE", "memory: static and dynamic maximum and minimum (512M, 2G)" },
	{ O_MEMORY_MIN, "memory-min", "SIZE", "dynamic minimum memory" },
	{ O_MEMORY_MAX, "memory-max", "SIZE", "dynamic maximum memory" },
	{ O_STATIC_MAX, "memory-static-max", "SIZE", "static maximum memory" },
	{ O_MEMORY_TARGET, "memory-target", "SIZE", "memory the guest starts with (default: dynamic maximum)" },
	{ O_VCPUS, "vcpus", "N", "virtual CPUs at start (default 1)" },
	{ O_VCPU_MAX, "vcpu-max", "N", "maximum virtual CPUs (default: vcpus)" },
	{ O_CPUS, "cpus", "LIST", "host CPUs the virtual CPUs may run on (0-3,6; default all)" },
	{ O_KERNEL, "kernel", "FILE", "kernel to boot (pv, pvh)" },
	{ O_RAMDISK, "ramdisk", "FILE", "initial ramdisk" },
	{ O_CMDLINE, "cmdline", "STRING", "kernel command line" },
	{ O_BOOTLOADER, "bootloader", "PATH", "bootloader instead of a kernel: pygrub or a path (pv, pvh)" },
	{ O_BOOTLOADER_ARGS, "bootloader-args", "STRING", "arguments for the bootloader" },
	{ O_BOOT_ORDER, "boot-order", "ORDER", "hvm boot order, letters from a c d n (default cd)" },
	{ O_FRAMEBUFFER, "framebuffer", NULL, "give a pv guest a framebuffer (needs a device model)" },
	{ O_PLATFORM, "platform", "KEY=VALUE", "a platform key (repeatable)" },
	{ O_XSDATA, "xsdata", "KEY=VALUE", "a vm-data/ key written to the guest's xenstore (repeatable)" },
	{ O_ON_SHUTDOWN, "on-shutdown", "ACTION", "shutdown, start, pause (default shutdown)" },
	{ O_ON_REBOOT, "on-reboot", "ACTION", "shutdown, start, pause (default start)" },
	{ O_ON_CRASH, "on-crash", "ACTION", "shutdown, start, pause, coredump (default shutdown)" },
	{ O_UUID, "uuid", "UUID", "use this uuid instead of a new one" },
	{ 0, NULL, NULL, NULL },
};

static void size_opt(struct xo_cli *cli, const char *what, uint64_t *out)
{
	if (xo_parse_size(cli->arg, out) < 0)
		xo_cli_usage_error(cli, "invalid %s '%s': expected a size such as 512M or 2G", what,
				   cli->arg);
}

static void action_opt(struct xo_cli *cli, const char *what, enum xo_action *out)
{
	if (xo_action_parse(cli->arg, out) < 0)
		xo_cli_usage_error(cli, "invalid %s '%s': expected shutdown, start, pause or coredump",
				   what, cli->arg);
}

int main(int argc, char **argv)
{
	struct xo_cli cli;
	struct xo_vm vm;
	struct xo_devices devs = { 0 };
	const char *file = NULL;
	bool flags = false;
	uint64_t memory = 0;
	xo_err e;
	int c;

	xo_vm_init(&vm);
	xo_cli_init(&cli, argc, argv, "[-f FILE | --name NAME --memory SIZE [options]]", opts);
	while ((c = xo_cli_next(&cli)) != -1) {
		flags |= c != 'f';
		switch (c) {
		case 'f': file = cli.arg; break;
		case O_NAME: free(vm.name); vm.name = xstrdup(cli.arg); break;
		case O_TYPE:
			if (xo_vm_type_parse(cli.arg, &vm.type, &e) < 0)
				xo_cli_usage_error(&cli, "%s", e.msg);
			break;
		case O_MEMORY: size_opt(&cli, "memory", &memory); break;
		case O_MEMORY_MIN: size_opt(&cli, "memory-min", &vm.memory_dynamic_min); break;
		case O_MEMORY_MAX: size_opt(&cli, "memory-max", &vm.memory_dynamic_max); break;
		case O_STATIC_MAX: size_opt(&cli, "memory-static-max", &vm.memory_static_max); break;
		case O_MEMORY_TARGET: size_opt(&cli, "memory-target", &vm.memory_target); break;
		case O_CPUS: free(vm.affinity); vm.affinity = xstrdup(cli.arg); break;
		case O_VCPUS:
			if (xo_parse_uint(cli.arg, 1u << 20, &vm.vcpus) < 0)
				xo_cli_usage_error(&cli, "invalid vcpus '%s'", cli.arg);
			break;
		case O_VCPU_MAX:
			if (xo_parse_uint(cli.arg, 1u << 20, &vm.vcpu_max) < 0)
				xo_cli_usage_error(&cli, "invalid vcpu-max '%s'", cli.arg);
			break;
		case O_KERNEL: free(vm.kernel); vm.kernel = xstrdup(cli.arg); break;
		case O_RAMDISK: free(vm.ramdisk); vm.ramdisk = xstrdup(cli.arg); break;
		case O_CMDLINE: free(vm.cmdline); vm.cmdline = xstrdup(cli.arg); break;
		case O_BOOTLOADER: free(vm.bootloader); vm.bootloader = xstrdup(cli.arg); break;
		case O_BOOTLOADER_ARGS: free(vm.bootloader_args); vm.bootloader_args = xstrdup(cli.arg); break;
		case O_BOOT_ORDER: free(vm.boot_order); vm.boot_order = xstrdup(cli.arg); break;
		case O_FRAMEBUFFER: vm.framebuffer = true; break;
		case O_PLATFORM:
			if (xo_kvs_set_arg(&vm.platform, cli.arg, "platform", &e) < 0)
				return xo_cli_fail(&e);
			break;
		case O_XSDATA:
			if (xo_kvs_set_arg(&vm.xsdata, cli.arg, "xsdata", &e) < 0)
				return xo_cli_fail(&e);
			break;
		case O_ON_SHUTDOWN: action_opt(&cli, "on-shutdown", &vm.on_shutdown); break;
		case O_ON_REBOOT: action_opt(&cli, "on-reboot", &vm.on_reboot); break;
		case O_ON_CRASH: action_opt(&cli, "on-crash", &vm.on_crash); break;
		case O_UUID:
			if (!xo_uuid_valid(cli.arg))
				xo_cli_usage_error(&cli, "invalid uuid '%s'", cli.arg);
			xo_strlcpy(vm.uuid, cli.arg, sizeof(vm.uuid));
			break;
		}
	}
	xo_cli_operands(&cli, 0, 0);
	if (file && flags)
		xo_cli_usage_error(&cli, "give the VM as flags or as JSON, not both");
	if (!flags) {
		char *text;
		size_t len;
		const char *what;
		if (!file && isatty(0))
			xo_cli_usage_error(&cli, "no VM given: use flags, -f FILE or JSON on standard input");
		xo_vm_free(&vm);
		xo_vm_init(&vm);
		if (xo_cli_read_input(file, &text, &len, &what, &e) < 0 ||
		    xo_vm_parse_full(text, len, what, &vm, &devs, &e) < 0)
			return xo_cli_fail(&e);
		free(text);
	} else {
		if (!vm.name)
			xo_cli_usage_error(&cli, "--name is required");
		if (!memory && !vm.memory_static_max)
			xo_cli_usage_error(&cli, "--memory is required");
		if (memory) {
			if (!vm.memory_static_max)
				vm.memory_static_max = memory;
			if (!vm.memory_dynamic_max)
				vm.memory_dynamic_max = memory;
			/* a lower target opens the range down to it (xl's memory= below maxmem=) */
			if (!vm.memory_dynamic_min)
				vm.memory_dynamic_min = vm.memory_target && vm.memory_target < memory
							? vm.memory_target : memory;
		}
	}
	if (xo_vm_add(&vm, &devs, &e) < 0) {
		xo_err_wrap(&e, "unable to add vm %s", vm.name ? vm.name : "");
		return xo_cli_fail(&e);
	}
	printf("%s\n", vm.uuid);
	xo_devices_free(&devs);
	xo_vm_free(&vm);
	return 0;
}
