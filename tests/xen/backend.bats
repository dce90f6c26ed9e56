#!/usr/bin/env bats
# The xen backend (lib/backend-xen.c) on real Xen, through tests/xen/xen-backend.c:
# domains made, run, shut down and destroyed the way the start pipeline will.
# bats file_tags=needs:xen

load helpers

setup() { xen_setup; }
teardown() { xen_teardown; }

@test "host info agrees with xl info" {
	run xen-backend host
	assert_success
	total=$(echo "$output" | tr ' ' '\n' | awk -F= '$1 == "total_kib" { print $2 }')
	free=$(echo "$output" | tr ' ' '\n' | awk -F= '$1 == "free_kib" { print $2 }')
	cpus=$(echo "$output" | tr ' ' '\n' | awk -F= '$1 == "nr_cpus" { print $2 }')
	assert_equal "$((total / 1024))" "$(xl info | awk -F': ' '/^total_memory/ { print $2 }')"
	assert_equal "$cpus" "$(xl info | awk -F': ' '/^nr_cpus/ { print $2 }')"
	[ "$free" -gt 0 ] && [ "$free" -lt "$total" ]
}

@test "without the hypervisor device the backend names XO_BACKEND=sim" {
	# a mount namespace where /dev/xen is empty
	run unshare --mount sh -c 'mount -t tmpfs none /dev/xen && exec xen-backend host'
	assert_failure 111
	assert_output "xen-backend: fatal: no Xen hypervisor found (/dev/xen/privcmd): set XO_BACKEND=sim to use the simulator"
}

# guest_lifecycle TYPE VCPUS: start, console, clean poweroff, destroy
guest_lifecycle() {
	local type=$1 vcpus=$2 name="$GUEST-$1" d uuid
	# (boot_guest's START and STOP, with this function's locals)
	lifecycle_start() { DOMID=$(start_guest "$name" "$type" --vcpus "$vcpus"); }
	lifecycle_stop() { xen-backend destroy "$DOMID"; }
	boot_guest "$name" "$type" lifecycle_start lifecycle_stop
	d=$DOMID
	uuid=$(dom_field "$d" uuid)
	run xl list "$name"
	assert_success
	assert_line --regexp "^$name +$d +128 "
	run console_text "$name" "$CONSOLE_FROM"
	assert_line --partial XO-GUEST-UP
	assert_line XO-GUEST-XVDA-NONE
	assert_line XO-GUEST-ETH0-NONE
	assert_line --regexp "^XO-GUEST-READY cpus=$vcpus "
	assert_equal "$(dom_field "$d" paused)" 0
	assert_equal "$(dom_field "$d" shutdown)" 0
	assert_equal "$(dom_field "$d" hvm)" "$([ "$type" = pv ] && echo 0 || echo 1)"
	assert_equal "$(xenstore-read "/local/domain/$d/name")" "$name"
	# clean shutdown: control/shutdown, the guest's kernel powers it off
	run xen-backend request "$d" poweroff --timeout 120
	assert_success
	assert_output poweroff
	run console_text "$name" "$CONSOLE_FROM"
	assert_line XO-GUEST-POWEROFF
	assert_equal "$(dom_field "$d" shutdown)" 1
	assert_equal "$(dom_field "$d" reason)" 0
	run xen-backend destroy "$d"
	assert_success
	assert_no_domain "$d" "$name"
	assert_xenstore_clean "$d" "$uuid"
}

@test "a PV guest boots, logs its console, powers off when asked, and is destroyed cleanly" {
	guest_lifecycle pv 2
}

@test "a PVH guest boots with its ACPI tables (2 cpus), powers off when asked, and is destroyed cleanly" {
	guest_lifecycle pvh 2
}

@test "a guest started paused runs only once unpaused; a hard shutdown records its reason" {
	local name="$GUEST-p" d
	d=$(start_guest "$name" pv --paused)
	assert_equal "$(dom_field "$d" paused)" 1
	run xl list "$name"
	assert_line --regexp "^$name +$d .* --p--- "
	run xen-backend unpause "$d"
	assert_success
	assert_equal "$(dom_field "$d" paused)" 0
	wait_console "$name" XO-GUEST-READY 120 0 "$d"
	run xen-backend pause "$d"
	assert_success
	assert_equal "$(dom_field "$d" paused)" 1
	# reason 3: crash, without asking the guest
	run xen-backend shutdown "$d" 3
	assert_success
	assert_equal "$(dom_field "$d" shutdown)" 1
	assert_equal "$(dom_field "$d" reason)" 3
	run xen-backend destroy "$d"
	assert_success
	assert_no_domain "$d" "$name"
	assert_xenstore_clean "$d"
}

@test "a build that fails leaves no domain behind and says why" {
	local before
	before=$(xl list | wc -l)
	run xen-backend start --name "$GUEST" --type pv --kernel /nonexistent/vmlinux
	assert_failure
	assert_output --partial "/nonexistent/vmlinux"
	assert_equal "$(xl list | wc -l)" "$before"
	run xen-backend start --name "$GUEST" --type pv --kernel /etc/hostname
	assert_failure
	assert_output --partial "xc_dom_parse_image"
	assert_equal "$(xl list | wc -l)" "$before"
}

@test "operations on a domain that does not exist fail with does_not_exist" {
	run xen-backend info 31000
	assert_failure 1
	assert_output "xen-backend: fatal: domain 31000 does not exist"
	run xen-backend unpause 31000
	assert_failure 1
	assert_output --partial "no such domain"
	run xen-backend destroy 31000
	assert_failure 1
}

@test "pci pass-through refuses a device that does not exist, and says so" {
	local name="$GUEST-pci" d
	d=$(start_guest "$name" pv --paused)
	run xen-backend pci-assign "$d" 0000:0f:1f.7
	assert_failure 1
	assert_output "xen-backend: fatal: there is no PCI device 0000:0f:1f.7 on this host"
	run xen-backend pci-assign "$d" 0000:00:zz.0
	assert_failure 1
	assert_output --partial "invalid PCI address"
}

# the lab has no IOMMU: a device becomes assignable (pciback) but Xen refuses it
@test "pci pass-through binds the device to pciback, fails clearly without an IOMMU, and gives it back" {
	local name="$GUEST-pt" d dev=/sys/bus/pci/devices/0000:00:1f.7
	[ -d "$dev" ] || fail "the lab's pci-testdev (0000:00:1f.7) is missing"
	[ -d /sys/bus/pci/drivers/pciback ] || fail "xen-pciback is not loaded in dom0"
	run readlink "$dev/driver"
	assert_failure                  # no driver claims the test device
	run xen-backend start --name "$name" --type pv --kernel "$GUEST_KERNEL" --paused --iommu
	assert_failure 1
	assert_output "xen-backend: fatal: this host has no IOMMU: pci pass-through is not possible"
	d=$(start_guest "$name" pv --paused)
	run xen-backend pci-assign "$d" 0000:00:1f.7
	assert_failure 111
	assert_output --partial "xc_assign_device 0000:00:1f.7 to domain $d"
	assert_output --partial "(no IOMMU, or a domain not created for pass-through)"
	run readlink "$dev/driver"
	assert_output --regexp '/pciback$'
	assert_equal "$(xenstore-read /libxl/pci/0000-00-1f-7/driver_path)" ""
	run xen-backend pci-deassign "$d" 0000:00:1f.7
	assert_success
	run readlink "$dev/driver"
	assert_failure
	run xenstore-exists /libxl/pci/0000-00-1f-7
	assert_failure
}

@test "a device model for a PV framebuffer starts, answers QMP, and stops" {
	local name="$GUEST-fb" d pid qmp
	d=$(start_guest "$name" pv --paused)
	run xen-backend dm-start "$d" --type pv --name "$name"
	assert_success
	pid=$output
	run cat "/proc/$pid/cmdline"
	assert_output --partial "-xen-domid"
	assert_equal "$(xenstore-read "/local/domain/0/device-model/$d/state")" running
	assert_equal "$(xenstore-read "/local/domain/$d/qemu-pid")" "$pid"
	qmp=$(xenstore-read "/local/domain/0/device-model/$d/qmp-path")
	[ -S "$qmp" ]
	run xen-backend dm-stop "$d"
	assert_success
	run kill -0 "$pid"
	assert_failure
	[ ! -e "$qmp" ]
	run xenstore-exists "/local/domain/0/device-model/$d"
	assert_failure
	run xenstore-exists "/local/domain/$d/qemu-pid"
	assert_failure
	run xen-backend destroy "$d"
	assert_success
	assert_xenstore_clean "$d"
}

@test "an HVM guest runs hvmloader and SeaBIOS under qemu, which stops with it" {
	local name="$GUEST-hvm" pid
	# boot_hvm's START and STOP
	start_hvm() {
		run xen-backend start --name "$name" --type hvm --memory 64 --paused
		assert_success
		DOMID=$output
		run xen-backend dm-start "$DOMID" --type hvm --name "$name" --memory 64
		assert_success
		pid=$output
		assert_equal "$(xenstore-read "/local/domain/0/device-model/$DOMID/state")" running
		assert_equal "$(xenstore-read "/local/domain/$DOMID/hvmloader/bios")" seabios
		run xenstore-read "/local/domain/$DOMID/serial/0/tty"
		assert_success
		assert_output --regexp '^/dev/pts/[0-9]+$'
		run xen-backend unpause "$DOMID"
		assert_success
	}
	stop_hvm() {
		run xen-backend destroy "$DOMID"
		assert_success
	}
	boot_hvm "$name" start_hvm stop_hvm
	run xl dmesg
	assert_line --partial "(d$DOMID) HVM Loader"
	assert_line --partial "(d$DOMID) SeaBIOS"
	assert_equal "$(dom_field "$DOMID" hvm)" 1
	run xen-backend destroy "$DOMID"
	assert_success
	run kill -0 "$pid"
	assert_failure
	assert_no_domain "$DOMID" "$name"
	assert_xenstore_clean "$DOMID"
}
