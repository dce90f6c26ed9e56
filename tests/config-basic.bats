#!/usr/bin/env bats
# The configuration commands: add, show, list, remove of VMs and devices.
load helpers

setup() { xo_setup; }
teardown() { xo_teardown; }

@test "xo-vm-add prints a uuid that xo-vm-show and xo-vm-list know" {
	run add_vm web1 --vcpus 2
	assert_success
	assert_output --regexp '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
	uuid=$output
	run xo-vm-list
	assert_output "$uuid web1 pv 64M 2 Halted -"
	run xo-vm-show "$uuid"
	assert_line "name web1"
	assert_line "vcpus 2"
}

@test "xo-vm-show --json is accepted back by xo-vm-add -f unchanged" {
	add_vm web1 --cmdline "console=hvc0 root=/dev/xvda" --platform hap=true --xsdata vm-data/a=b
	disk_image "$BATS_TEST_TMPDIR/d.img"
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/d.img"
	xo-vif-add web1 --mac 00:16:3e:12:34:56 --bridge br9
	xo-vm-show web1 --json > "$BATS_TEST_TMPDIR/vm.json"
	xo-vm-remove web1
	run xo-vm-add -f "$BATS_TEST_TMPDIR/vm.json"
	assert_success
	run diff <(xo-vm-show web1 --json) "$BATS_TEST_TMPDIR/vm.json"
	assert_success
}
