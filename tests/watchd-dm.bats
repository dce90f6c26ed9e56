#!/usr/bin/env bats
# A device model that dies under a running guest: the VM has crashed (as
# xenopsd has it). Check-state finds it, and the watcher notices the exit
# (a pidfd, not a poll) and queues that check-state by itself.
load helpers
load watchd

setup() { watchd_setup; }
teardown() { watchd_teardown; }

power() { xo-vm-stat "$1" | awk '{ print $3 }'; }
halted() { [ "$(power "$1")" = Halted ]; }
running_with_new_domain() { [ "$(power "$1")" = Running ] && [ "$(domid "$1")" != "$2" ]; }
domid() { xo-vm-stat "$1" | tr ' ' '\n' | sed -n 's/^domid=//p'; }
dm_pid() {
	sed -n 's/.*"dm_pid": *\([0-9]*\).*/\1/p' "$XO_STATE_DIR/VM/$(xo-vm-list | awk -v n="$1" '$2 == n { print $1 }')/extra"
}

@test "check-state: a dead device model is a crash (on_crash shutdown: the VM is halted)" {
	xo-vm-add --name h1 --type hvm --memory 64M >/dev/null
	xo-vm-start h1
	xo-vm-unpause h1
	pid=$(dm_pid h1)
	[ -n "$pid" ] && [ "$pid" -gt 0 ]
	# alive: check-state leaves it running
	xo-vm-check-state h1
	assert_equal "$(power h1)" Running
	kill -9 "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	run xo-vm-check-state h1
	assert_success
	assert_equal "$(power h1)" Halted
}

@test "the watcher notices a device model's exit and applies on_crash (start: a new domain)" {
	xo-vm-add --name h1 --type hvm --memory 64M --on-crash start >/dev/null
	start_watchd
	xo-vm-start h1
	xo-vm-unpause h1
	d=$(domid h1)
	pid=$(dm_pid h1)
	kill -9 "$pid"
	wait_for 20 running_with_new_domain h1 "$d" || fail "vm h1 is $(power h1) (domid $(domid h1), was $d)"
	[ "$(dm_pid h1)" != "$pid" ]
}
