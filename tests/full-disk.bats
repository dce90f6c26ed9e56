#!/usr/bin/env bats
# A full state directory (its file system out of space): every write fails
# with one clear line naming the full directory, exit 111, and what was
# stored before is intact; once there is room again, everything works.
load helpers
load fails

setup() {
	xo_setup
	FS="$BATS_TEST_TMPDIR/fs"
	mkdir "$FS"
	mount -t tmpfs -o size=256k tmpfs "$FS"
	export XO_STATE_DIR="$FS/state"
}

teardown() {
	xo_teardown
	umount "$FS" 2>/dev/null || true
}

fill() {
	dd if=/dev/zero of="$FS/filler" bs=4k 2>/dev/null || true
}

@test "a full state directory: adds and a start fail cleanly, then work once there is room" {
	ref_vm web1
	xo-simd start >/dev/null
	fill
	fails_cleanly 111 "unable to add vm web2: .*is full.*No space left on device" \
		add_vm web2
	fails_cleanly 111 "unable to add vbd to vm web1: .*is full" \
		xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/web1-root.img" --name xvdc
	fails_cleanly 111 "unable to VM_start vm web1: .*is full" xo-vm-start web1
	[ "$(vm_field web1 power_state)" = Halted ]
	[ -z "$(ls "$XO_STATE_DIR/tasks")" ]
	rm "$FS/filler"
	run xo-vm-start web1
	assert_success
	[ "$(vm_field web1 power_state)" = Paused ]
}
