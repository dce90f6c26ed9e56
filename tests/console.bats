#!/usr/bin/env bats
# xo-vm-console on the simulator: --log prints what the simulated guest wrote
# (its console file, the real one the simulator keeps); attaching fails with
# one clear line, since the simulator serves no ptys. (On real Xen, where
# xenconsoled serves both, tests/xen/pipeline.bats tests the console.)
load helpers

setup() { xo_setup; }
teardown() { xo_teardown; }

@test "xo-vm-console --log prints what the simulated guest wrote, also once it is halted" {
	add_vm web1 --cmdline "console=hvc0 xo.console-test"
	xo-vm-start web1
	# paused: the guest has not run, so it wrote nothing yet
	run xo-vm-console --log web1
	assert_failure 1
	assert_output --regexp "^xo-vm-console: fatal: unable to read the console log of vm web1: vm web1 has no console log: '.*/sim/console/[0-9a-f-]{36}\.log' does not exist \(its guest has not written anything yet\)$"
	xo-vm-unpause web1
	d=$(xo-vm-stat web1 | tr ' ' '\n' | sed -n 's/^domid=//p')
	run xo-vm-console --log web1
	assert_success
	assert_line --index 0 --partial "Linux version 6.1.0-xo-sim"
	assert_line --index 1 --partial "Command line: console=hvc0 xo.console-test"
	# byte for byte the simulated guest's console
	assert_equal "$output" "$(cat "$XO_STATE_DIR/sim/console/$(uuid_of web1).log")"
	run xo-vm-console --log "$(xo-vm-list | awk '$2 == "web1" { print $1 }')"
	assert_success
	assert_line --index 0 --partial "Linux version"
	xo-vm-shutdown web1
	# kept with the VM, as xenconsoled's guest-<name>.log
	run xo-vm-console --log web1
	assert_success
	assert_line --partial "reboot: Power down"
}

@test "xo-vm-console cannot attach on the simulator, and says where the output is" {
	add_vm web1
	xo-vm-start web1
	xo-vm-unpause web1
	run xo-vm-console web1 </dev/null
	assert_failure 1
	assert_output "xo-vm-console: fatal: unable to attach to the console of vm web1: the sim backend has no console to attach to (its guests only write a log: xo-vm-console --log web1)"
}

@test "xo-vm-console refuses bad input with one line and changes nothing" {
	add_vm web1
	before=$(state_snapshot)
	run xo-vm-console
	assert_failure 100
	run xo-vm-console web1 web2
	assert_failure 100
	run xo-vm-console --bogus web1
	assert_failure 100
	run xo-vm-console nosuchvm
	assert_failure 1
	assert_output --partial "nosuchvm"
	assert_equal "${#lines[@]}" 1
	run xo-vm-console --log nosuchvm
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_equal "$(state_snapshot)" "$before"
}
