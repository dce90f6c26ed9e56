#!/usr/bin/env bats
# The watcher: guest-initiated reboot and halt are handled without anyone
# asking; a toolstack restart repairs a VM caught mid-start.
load helpers
load watchd

setup() { watchd_setup; }
teardown() { watchd_teardown; }

halted() { [ "$(vm_field "$1" power_state)" = Halted ]; }
new_domain() { local d; d=$(domid_of "$1"); [ -n "$d" ] && [ "$d" != "$2" ] && [ "$(vm_field "$1" power_state)" = Running ]; }

@test "a guest that reboots itself gets a new domain from the watcher" {
	ref_vm web1
	start_watchd
	xo-vm-start web1
	xo-vm-unpause web1
	d=$(domid_of web1)
	xo-simd ctl "$d" reboot
	wait_for 20 new_domain web1 "$d" || fail "not rebooted: $(xo-vm-stat web1)"
}

@test "a guest that halts itself is shut down cleanly by the watcher" {
	ref_vm web1
	start_watchd
	xo-vm-start web1
	xo-vm-unpause web1
	xo-simd ctl "$(domid_of web1)" halt
	wait_for 20 halted web1 || fail "not halted: $(xo-vm-stat web1)"
	assert_clean_halted web1
}

@test "started after a crash mid-start, the watcher shuts the half-started VM down" {
	ref_vm web1
	XO_FAULT="VIF_plug:crash" run xo-vm-start web1
	assert_failure
	# the client noticed the dead worker and repaired it already; crash a start by hand instead
	xo-domain-create web1
	xo-domain-build web1
	start_watchd
	wait_for 20 halted web1 || fail "not repaired: $(xo-vm-stat web1)"
	assert_clean_halted web1
}

@test "a second watcher on the same state directory is refused" {
	start_watchd
	run xo-watchd
	assert_failure 1
	assert_output --partial "already runs"
}
