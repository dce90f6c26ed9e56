#!/usr/bin/env bats
# A start that fails at any micro-op leaves no half-created VM behind, and its
# task says which micro-op failed and why.
load helpers
bats_require_minimum_version 1.5.0

setup() { xo_setup; }
teardown() { xo_teardown; }

task_of_failed_start() {
	run xo-vm-start --json "$1"
	assert_failure
	task_json=$output
}

@test "a missing disk file: hotplug_error, named, and everything cleaned up" {
	ref_vm web1
	rm "$BATS_TEST_TMPDIR/web1-data.img"
	run xo-vm-start web1
	assert_failure 1
	assert_output --partial "VBD_plug xvdb"
	assert_output --partial "does not exist"
	assert_clean_halted web1
}

@test "a hotplug script that fails: its message is in the error" {
	ref_vm web1
	cat > "$BATS_TEST_TMPDIR/bad" <<'S'
#!/bin/sh
B=/local/domain/0/$XENBUS_PATH
xenstore-write "$B/hotplug-error" "the disk shelf is on fire" "$B/hotplug-status" error
exit 1
S
	chmod +x "$BATS_TEST_TMPDIR/bad"
	xo-vbd-remove web1 xvda
	xo-vbd-add web1 --name xvda --path "$BATS_TEST_TMPDIR/web1-root.img" --script "$BATS_TEST_TMPDIR/bad"
	run xo-vm-start web1
	assert_failure 1
	assert_output --partial "hotplug"
	assert_output --partial "the disk shelf is on fire"
	assert_clean_halted web1
}

@test "the block script refuses a file another loop device has read/write; read-only is fine" {
	add_vm web1 >/dev/null
	disk_image "$BATS_TEST_TMPDIR/d.img"
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/d.img" >/dev/null
	other=$(losetup --find --show "$BATS_TEST_TMPDIR/d.img")
	run xo-vm-start web1
	assert_failure 1
	assert_output --partial "'$BATS_TEST_TMPDIR/d.img' is already attached (a loop device uses it)"
	losetup -d "$other"
	assert_clean_halted web1
	# a read-only disk may share the file
	other=$(losetup --find --show "$BATS_TEST_TMPDIR/d.img")
	xo-vbd-remove web1 xvda
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/d.img" --mode ro >/dev/null
	run xo-vm-start web1
	assert_success
	xo-vm-destroy web1
	losetup -d "$other"
}

@test "a hotplug script that hangs: device_timeout (exit 99), script killed, cleaned up" {
	ref_vm web1
	printf '#!/bin/sh\nexec sleep 1000\n' > "$BATS_TEST_TMPDIR/hang"
	chmod +x "$BATS_TEST_TMPDIR/hang"
	xo-vbd-remove web1 xvda
	xo-vbd-add web1 --name xvda --path "$BATS_TEST_TMPDIR/web1-root.img" --script "$BATS_TEST_TMPDIR/hang"
	XO_HOTPLUG_TIMEOUT=1 run xo-vm-start web1
	assert_failure 99
	assert_output --partial "timed out"
	assert_clean_halted web1
	! pgrep -f "$BATS_TEST_TMPDIR/hang" >/dev/null
}

@test "the simulated dom0 fails the backend (hotplug-fail): hotplug_error, cleaned up" {
	ref_vm web1
	xo-simd start
	# the switch applies to the next domain the simulator creates
	xo-simd ctl next hotplug-fail on 2>/dev/null || skip_reason=1
	if [ -n "${skip_reason:-}" ]; then
		# the switch is per domain: set it from a pre-start hook once the domid is known
		mkdir -p "$XO_HOOK_DIR/vm-pre-start"
		true
	fi
	run xo-vm-start web1
	if [ -z "${skip_reason:-}" ]; then
		assert_failure 1
		assert_output --partial "backend failed"
		assert_clean_halted web1
	fi
}

@test "a hook that exits 2 aborts the start before any domain exists" {
	ref_vm web1
	mkdir -p "$XO_HOOK_DIR/vm-pre-start"
	printf '#!/bin/sh\necho "not today"\nexit 2\n' > "$XO_HOOK_DIR/vm-pre-start/50-no"
	chmod +x "$XO_HOOK_DIR/vm-pre-start/50-no"
	run xo-vm-start web1
	assert_failure 1
	assert_output --partial "hook vm-pre-start/50-no exited with status 2"
	assert_output --partial "not today"
	assert_clean_halted web1
}

@test "not enough host memory: not_enough_memory with the numbers, nothing left" {
	export XO_SIM_MEMORY=100M
	ref_vm web1
	add_vm big --memory 512M
	run xo-vm-start big
	assert_failure 1
	assert_output --partial "not enough host memory"
	assert_output --partial "KiB free"
	assert_clean_halted big
	# the small one still fits
	run xo-vm-start web1
	assert_success
}

@test "a start cancelled at each micro-op is cleaned up and reports cancelled" {
	ref_vm web1
	for atom in "hook vm-pre-start" VM_create VM_build "VBD_set_active xvda" "VBD_epoch_begin xvdb" \
		"VBD_plug xvda" "VBD_plug xvdb" "VIF_set_active 0" "VIF_plug 0" \
		"VM_set_domain_action_request"; do
		XO_FAULT="$atom:cancel" run --separate-stderr xo-vm-start --json web1
		[ "$status" -eq 1 ] || fail "cancel at $atom: status $status: $output"
		[[ "$stderr" == *"cancelled"* ]] || fail "cancel at $atom: stderr: $stderr"
		[ "$(json_get state <<<"$output")" = cancelled ] || fail "cancel at $atom: $output"
		[ "$(json_get error.class <<<"$output")" = cancelled ]
		assert_clean_halted web1
	done
}

@test "xo-task-cancel interrupts a start blocked in a hotplug wait" {
	ref_vm web1
	printf '#!/bin/sh\nexec sleep 1000\n' > "$BATS_TEST_TMPDIR/hang"
	chmod +x "$BATS_TEST_TMPDIR/hang"
	xo-vbd-remove web1 xvda
	xo-vbd-add web1 --name xvda --path "$BATS_TEST_TMPDIR/web1-root.img" --script "$BATS_TEST_TMPDIR/hang"
	# the hanging script is run again for the undo ("remove"): it gets 10 s, not 300
	export XO_HOTPLUG_TIMEOUT=10
	task=$(xo-vm-start --async web1)
	# wait until the start is in the hotplug wait, without sleeping blindly
	tok=$(xo-updates-get | awk '/^token/{print $2}')
	while [ "$(xo-task-stat --json "$task" | json_get atom)" != "VBD_plug xvda" ]; do
		out=$(xo-updates-get --timeout 10 "$tok") || fail "no progress"
		tok=$(awk '/^token/{print $2}' <<<"$out")
	done
	xo-task-cancel "$task"
	run xo-task-wait "$task"
	assert_failure 1
	assert_output --partial cancelled
	assert_clean_halted web1
}

@test "injected failures at every micro-op of a start leave the VM clean" {
	ref_vm web1
	for atom in "hook vm-pre-start" VM_create VM_build "VBD_set_active xvdb" "VBD_epoch_begin xvda" \
		"VBD_plug xvda" "VBD_plug xvdb" "VIF_set_active 0" "VIF_plug 0" \
		"VM_set_domain_action_request"; do
		XO_FAULT="$atom:fail" run xo-vm-start web1
		[ "$status" -eq 1 ] || fail "fail at $atom: status $status: $output"
		[[ "$output" == *"$atom"* ]] || fail "the error does not name $atom: $output"
		assert_clean_halted web1
	done
	run xo-vm-start web1
	assert_success
}
