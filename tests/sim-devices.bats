#!/usr/bin/env bats
# dom0's kernel and udev in the simulator: blkback, netback, pciback, the
# xenbus handshake with the guest's frontends, and hotplug scripts.
load helpers
load sim-helpers

setup() {
	sim_setup
	make_hotplug_script
	xo-simd start
	d=$(new_domain)
	be=/local/domain/0/backend
	fe=/local/domain/$d/device
}
teardown() { sim_teardown; }

@test "udev runs the backend's hotplug script with udev's environment; the vbd connects on unpause" {
	disk_image "$BATS_TEST_TMPDIR/disk.img" 16M
	"$SB" vbd "$d" 51712 "$BATS_TEST_TMPDIR/disk.img" "$HOTPLUG"
	wait_key $be/vbd/$d/51712/hotplug-status connected
	run xenstore-read $be/vbd/$d/51712/state $be/vbd/$d/51712/feature-max-indirect-segments
	assert_output $'2\n256'
	run cat "$BATS_TEST_TMPDIR/hotplug.log"
	assert_output "vbd add ACTION=add XENBUS_PATH=backend/vbd/$d/51712 XENBUS_BASE_PATH=backend UDEV_CALL=1 script=$HOTPLUG vif= XENSTORED_PATH=$(realpath "$XO_STATE_DIR")/sim/xenstored.sock"
	# paused: the frontend waits
	run xenstore-read $fe/vbd/51712/state
	assert_output 1
	"$SB" unpause "$d"
	wait_key $fe/vbd/51712/state 4
	run xenstore-read $be/vbd/$d/51712/state $be/vbd/$d/51712/sectors $fe/vbd/51712/ring-ref
	assert_line --index 0 4
	assert_line --index 1 32768
	assert_line --index 2 --regexp '^[0-9]+$'
}

@test "without a script key udev runs \$XO_SCRIPT_DIR/block and \$XO_SCRIPT_DIR/vif" {
	xo-simd stop --force
	mkdir "$BATS_TEST_TMPDIR/scripts"
	cp "$HOTPLUG" "$BATS_TEST_TMPDIR/scripts/block"
	cp "$HOTPLUG" "$BATS_TEST_TMPDIR/scripts/vif"
	sed -i "s|\${0%/\\*}/hotplug.log|$BATS_TEST_TMPDIR/hotplug.log|" "$BATS_TEST_TMPDIR"/scripts/*
	XO_SCRIPT_DIR="$BATS_TEST_TMPDIR/scripts" xo-simd start
	d=$(new_domain)
	"$SB" vbd "$d" 51712 /dev/null
	"$SB" vif "$d" 0
	wait_key /local/domain/0/backend/vbd/$d/51712/hotplug-status connected
	wait_key /local/domain/0/backend/vif/$d/0/hotplug-status connected
	run grep -c "script=$BATS_TEST_TMPDIR/scripts/block" "$BATS_TEST_TMPDIR/hotplug.log"
	assert_output 1
	run grep -c "script=$BATS_TEST_TMPDIR/scripts/vif" "$BATS_TEST_TMPDIR/hotplug.log"
	assert_output 2
}

@test "with /libxl/disable_udev the kernel still probes but udev runs nothing" {
	xenstore-write /libxl/disable_udev 1
	"$SB" vbd "$d" 51712 /dev/null "$HOTPLUG"
	wait_key $be/vbd/$d/51712/state 2
	run grep -c "udev:" "$SIMLOG"
	assert_output 0
	[ ! -e "$BATS_TEST_TMPDIR/hotplug.log" ]
	# the toolstack runs the script itself; the device then connects
	xenstore-write $be/vbd/$d/51712/physical-device 7:0
	"$SB" unpause "$d"
	wait_key $fe/vbd/51712/state 4
}

@test "netback creates vif<domid>.<devid>, waits for hotplug-status, connects; unplug removes it" {
	"$SB" vif "$d" 0 "$HOTPLUG"
	wait_key $be/vif/$d/0/hotplug-status connected
	if [ "$(id -u)" = 0 ]; then
		run ip -o link show "vif$d.0"
		assert_success
		assert_output --partial "link/ether fe:ff:ff:ff:ff:ff"
	fi
	run xenstore-read $be/vif/$d/0/state $be/vif/$d/0/feature-rx-copy
	assert_output $'2\n1'
	"$SB" unpause "$d"
	wait_key $fe/vif/0/state 4
	run xenstore-read $be/vif/$d/0/state
	assert_output 4
	# a clean unplug: the running guest closes, the backend follows and goes away
	"$SB" unplug "$d" vif 0
	wait_key $fe/vif/0/state 6
	wait_key $be/vif/$d/0/state 6
	"$SB" wait-gone $be/vif/$d/0/hotplug-status
	if [ "$(id -u)" = 0 ]; then
		run ip link show "vif$d.0"
		assert_failure
	fi
	# udev ran add and online, then offline and remove, in order
	wait_key /test/removed/vif/$d/0 1
	run grep -o '^vif [a-z]* type_if=vif' "$BATS_TEST_TMPDIR/hotplug.log"
	assert_output $'vif add type_if=vif\nvif online type_if=vif\nvif offline type_if=vif\nvif remove type_if=vif'
}

@test "a vif does not connect until its hotplug script says connected" {
	xenstore-write /libxl/disable_udev 1
	"$SB" vif "$d" 1
	wait_key $be/vif/$d/1/state 2
	"$SB" unpause "$d"
	run xenstore-read $fe/vif/1/state
	assert_output 1
	xenstore-write $be/vif/$d/1/hotplug-status connected
	wait_key $fe/vif/1/state 4
}

@test "a clean vbd unplug with a running guest: frontend and backend close, udev removes" {
	"$SB" vbd "$d" 51712 /dev/null "$HOTPLUG"
	"$SB" unpause "$d"
	wait_key $fe/vbd/51712/state 4
	"$SB" unplug "$d" vbd 51712
	wait_key $fe/vbd/51712/state 6
	wait_key $be/vbd/$d/51712/state 6
	grep -q "backend/vbd/$d/51712: unregistered (unplugged)" "$SIMLOG"
	wait_key /test/removed/vbd/$d/51712 1
}

@test "a paused guest does not answer an unplug; removing the frontend ends it" {
	"$SB" vbd "$d" 51712 /dev/null "$HOTPLUG"
	"$SB" unpause "$d"
	wait_key $fe/vbd/51712/state 4
	"$SB" pause "$d"
	"$SB" unplug "$d" vbd 51712
	run xenstore-read $fe/vbd/51712/state $be/vbd/$d/51712/state
	assert_output $'4\n5'
	# the hard path: the toolstack removes the frontend itself
	xenstore-rm $fe/vbd/51712
	wait_key $be/vbd/$d/51712/state 6
	grep -q "backend/vbd/$d/51712: unregistered (frontend removed)" "$SIMLOG"
}

@test "refuse-unplug: the guest writes its error node and keeps the disk" {
	"$SB" vbd "$d" 51712 /dev/null "$HOTPLUG"
	"$SB" unpause "$d"
	wait_key $fe/vbd/51712/state 4
	xo-simd ctl "$d" refuse-unplug
	"$SB" unplug "$d" vbd 51712
	wait_key /local/domain/$d/error/device/vbd/51712/error "16 Device in use; refusing to close"
	run xenstore-read $fe/vbd/51712/state $be/vbd/$d/51712/state
	assert_output $'5\n5'
	run xo-simd ctl "$d" show
	assert_line "refuse-unplug on"
	# once the guest lets go, the unplug completes
	xo-simd ctl "$d" refuse-unplug off
	wait_key $fe/vbd/51712/state 6
	wait_key $be/vbd/$d/51712/state 6
}

@test "hotplug-fail: the kernel fails the device with a xenbus error node" {
	xo-simd ctl "$d" hotplug-fail on
	"$SB" vbd "$d" 51712 /dev/null "$HOTPLUG"
	wait_key $be/vbd/$d/51712/state 5
	run xenstore-read /local/domain/0/error/backend/vbd/$d/51712/error
	assert_output "5 xo-simd: blkback: creating the backend device failed (hotplug-fail switch)"
	run grep -c "udev:" "$SIMLOG"
	assert_output 0
	"$SB" vif "$d" 0 "$HOTPLUG"
	wait_key $be/vif/$d/0/state 5
	run xenstore-read /local/domain/0/error/backend/vif/$d/0/error
	assert_output --partial "netback: creating the interface failed"
	if [ "$(id -u)" = 0 ]; then
		run ip link show "vif$d.0"
		assert_failure
	fi
}

@test "removing a backend directory tears the device down" {
	"$SB" vif "$d" 2 "$HOTPLUG"
	wait_key $be/vif/$d/2/hotplug-status connected
	xenstore-rm $be/vif/$d/2
	if [ "$(id -u)" = 0 ]; then
		run ip link show "vif$d.2"
		assert_failure
	fi
	grep -q "backend/vif/$d/2: unregistered (backend removed)" "$SIMLOG"
	wait_key /test/removed/vif/$d/2 1
	# a new backend in the same place is a new device
	"$SB" vif "$d" 2 "$HOTPLUG"
	run "$SB" wait $be/vif/$d/2/state 2
	assert_success
}

@test "pciback connects a pci frontend when the guest runs" {
	"$SB" pcidev "$d" 0000:03:00.0
	wait_key $be/pci/$d/0/state 2
	"$SB" unpause "$d"
	wait_key $fe/pci/0/state 4
	run xenstore-read $be/pci/$d/0/state $be/pci/$d/0/root-0
	assert_output $'4\n0000:00'
}

@test "a backend written without its frontend details is not probed" {
	xenstore-write $be/vbd/$d/768/params /dev/null
	run xenstore-exists $be/vbd/$d/768/state
	assert_failure
	grep -q "backend/vbd/$d/768: probe failed: no frontend details" "$SIMLOG"
}

@test "a frontend the guest may not write never connects, and the log says why" {
	"$SB" vbd "$d" 51712 /dev/null "$HOTPLUG"
	wait_key $be/vbd/$d/51712/hotplug-status connected
	xenstore-chmod $fe/vbd/51712 n0
	"$SB" unpause "$d"
	xenstore-write /sync 1
	run xenstore-read $fe/vbd/51712/state
	assert_output 1
	grep -q "the guest could not write its frontend" "$SIMLOG"
}
