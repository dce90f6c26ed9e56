#!/usr/bin/env bats
# The backend keys xo writes satisfy Debian's own hotplug scripts (package
# xen-utils-common): /etc/xen/scripts/block and vif-bridge work as the
# hotplug script of a VBD and a VIF run by xo (XO_HOTPLUG=xo, the default).
# Not under XO_HOTPLUG=udev: Debian's block "remove" reads the backend's
# params, which a toolstack in udev mode may have removed already (the race
# that made libxl run the scripts itself); xo's own block script handles it.
load helpers

DEBIAN_BLOCK=/etc/xen/scripts/block
DEBIAN_VIF=/etc/xen/scripts/vif-bridge

setup() {
	xo_setup
	[ -x "$DEBIAN_BLOCK" ] && [ -x "$DEBIAN_VIF" ] ||
		fail "Debian's hotplug scripts are missing: apt-get install xen-utils-common (make deps)"
}
teardown() { xo_teardown; }

debian_vm() {
	add_vm "$1" >/dev/null
	disk_image "$BATS_TEST_TMPDIR/$1.img"
	xo-vbd-add "$1" --path "$BATS_TEST_TMPDIR/$1.img" --script "$DEBIAN_BLOCK" >/dev/null
	bridge xenbr0
	xo-vif-add "$1" --bridge xenbr0 --script "$DEBIAN_VIF" >/dev/null
}

# start, check what Debian's scripts did, shut down, check they undid it
debian_round_trip() {
	debian_vm web1
	run xo-vm-start web1
	assert_success
	d=$(domid_of web1)
	be=/local/domain/0/backend/vbd/$d/51712
	[ "$(xs read "$be/hotplug-status")" = connected ]
	[ "$(xs read "$be/script")" = "$DEBIAN_BLOCK" ]
	# the script attached a loop device to the file and published its numbers
	loop=$(losetup -j "$BATS_TEST_TMPDIR/web1.img" | cut -d: -f1)
	[ -b "$loop" ]
	[ "$(xs read "$be/physical-device")" = "$(stat -L -c '%t:%T' "$loop")" ]
	# vif-bridge put the backend interface on the VIF's bridge
	[ "$(xs read "/local/domain/0/backend/vif/$d/0/hotplug-status")" = connected ]
	run command bridge link show
	assert_output --partial "vif$d.0"
	assert_output --partial "master xenbr0"
	run xo-vbd-stat web1
	assert_output --partial "xvda active plugged"
	run xo-vm-shutdown --force web1
	assert_success
	assert_clean_halted web1   # (no loop device left on the VM's disks included)
	! ip link show "vif$d.0" 2>/dev/null
}

@test "Debian's block and vif-bridge scripts run by xo" {
	debian_round_trip
}
