#!/usr/bin/env bats
# Hook scripts: order, arguments, environment, exit codes 0, 1 and 2.
load helpers

setup() { xo_setup; }
teardown() { xo_teardown; }

hook() {   # hook HOOK NAME EXIT [extra shell]
	mkdir -p "$XO_HOOK_DIR/$1"
	cat > "$XO_HOOK_DIR/$1/$2" <<S
#!/bin/sh
echo "$2 \$*" >> "$BATS_TEST_TMPDIR/hooks.log"
env | sort > "$BATS_TEST_TMPDIR/env.$2"
${4:-}
exit $3
S
	chmod +x "$XO_HOOK_DIR/$1/$2"
}

@test "pre-start hooks run in name order with -vmuuid and -reason, in a clean environment" {
	ref_vm web1
	uuid=$(uuid_of web1)
	hook vm-pre-start 20-b 0
	hook vm-pre-start 10-a 0
	hook vm-pre-start .hidden 2
	printf 'not executable' > "$XO_HOOK_DIR/vm-pre-start/30-plain"
	xo-vm-start web1
	run cat "$BATS_TEST_TMPDIR/hooks.log"
	assert_line --index 0 "10-a -vmuuid $uuid -reason none"
	assert_line --index 1 "20-b -vmuuid $uuid -reason none"
	[ "${#lines[@]}" -eq 2 ]
	run cat "$BATS_TEST_TMPDIR/env.10-a"
	assert_line "PATH=/sbin:/usr/sbin:/bin:/usr/bin"
	refute_line --partial "XO_STATE_DIR"
}

@test "a hook exiting 1 is logged and the start goes on" {
	ref_vm web1
	hook vm-pre-start 10-warn 1 'echo "just saying"'
	hook vm-pre-start 20-ok 0
	run xo-vm-start web1
	assert_success
	[ "$(vm_field web1 power_state)" = Paused ]
	grep -q "20-ok" "$BATS_TEST_TMPDIR/hooks.log"
	grep -q "just saying" "$XO_STATE_DIR/VM/$(uuid_of web1)/log"
}

@test "a hook exiting 2 aborts, names the script, shows its output, runs no later hook" {
	ref_vm web1
	hook vm-pre-start 10-no 2 'echo "quota exceeded"'
	hook vm-pre-start 20-never 0
	run xo-vm-start web1
	assert_failure 1
	assert_output --partial "hook vm-pre-start/10-no exited with status 2 (reason none): quota exceeded"
	! grep -q 20-never "$BATS_TEST_TMPDIR/hooks.log"
	assert_clean_halted web1
}

@test "shutdown runs pre-shutdown and post-destroy hooks with the reason and domid" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	uuid=$(uuid_of web1)
	hook vm-pre-shutdown 10-pre 0
	hook vm-post-destroy 10-post 0
	xo-vm-shutdown --force web1
	run cat "$BATS_TEST_TMPDIR/hooks.log"
	assert_line --index 0 "10-pre -vmuuid $uuid -reason hard-shutdown -vmdomid $d"
	assert_line --index 1 "10-post -vmuuid $uuid -reason hard-shutdown"
}

@test "xo-hook-run runs a hook by hand and reports a failure" {
	ref_vm web1
	hook vm-pre-start 10-a 0
	run xo-hook-run web1 vm-pre-start --reason none
	assert_success
	grep -q "10-a -vmuuid" "$BATS_TEST_TMPDIR/hooks.log"
	hook vm-pre-start 20-bad 3 'echo broken'
	run xo-hook-run web1 vm-pre-start
	assert_failure 1
	assert_output --partial "20-bad exited with status 3"
	run xo-hook-run web1 no-such-hook
	assert_failure 100
}

@test "a reboot runs pre-shutdown, post-destroy, pre-reboot and pre-start hooks in that order" {
	ref_vm web1
	xo-vm-start web1
	xo-vm-unpause web1
	d=$(domid_of web1)
	uuid=$(uuid_of web1)
	hook vm-pre-shutdown 10-pre-shutdown 0
	hook vm-post-destroy 10-post-destroy 0
	hook vm-pre-reboot 10-pre-reboot 0
	hook vm-pre-start 10-pre-start 0
	run xo-vm-reboot --force web1
	assert_success
	run cat "$BATS_TEST_TMPDIR/hooks.log"
	assert_line --index 0 "10-pre-shutdown -vmuuid $uuid -reason hard-reboot -vmdomid $d"
	assert_line --index 1 "10-post-destroy -vmuuid $uuid -reason hard-reboot"
	assert_line --index 2 "10-pre-reboot -vmuuid $uuid -reason none"
	assert_line --index 3 "10-pre-start -vmuuid $uuid -reason none"
	[ "${#lines[@]}" -eq 4 ]
	[ "$(vm_field web1 power_state)" = Running ]
}

@test "a pre-reboot hook that fails leaves the VM halted and clean, its task failed" {
	ref_vm web1
	xo-vm-start web1
	xo-vm-unpause web1
	hook vm-pre-reboot 10-no 2 'echo not today'
	run xo-vm-reboot --force web1
	assert_failure 1
	assert_output --partial "10-no"
	assert_output --partial "not today"
	assert_clean_halted web1
}
