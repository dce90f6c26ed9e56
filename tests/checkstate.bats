#!/usr/bin/env bats
# Check-state: each way a domain can end up (guest poweroff, reboot, suspend,
# crash, watchdog; an unfinished start; no domain) mapped through the VM's
# on_shutdown, on_reboot and on_crash actions.
load helpers

setup() { xo_setup; }
teardown() { xo_teardown; }

# a running VM with the three actions set: vm_with NAME ON_SHUTDOWN ON_REBOOT ON_CRASH
vm_with() {
	add_vm "$1" --on-shutdown "$2" --on-reboot "$3" --on-crash "$4" >/dev/null
	disk_image "$BATS_TEST_TMPDIR/$1.img"
	xo-vbd-add "$1" --path "$BATS_TEST_TMPDIR/$1.img" >/dev/null
	xo-vm-start "$1"
	xo-vm-unpause "$1"
}

# make the guest end: guest_does VM poweroff|reboot|suspend|crash|watchdog
guest_does() {
	local d
	d=$(domid_of "$1")
	[ -n "$d" ] || fail "vm $1 has no domain: $(xo-vm-stat "$1" 2>&1); $(xo-task-list 2>&1 | tail -3)"
	case $2 in
	poweroff) xo-simd ctl "$d" halt ;;
	suspend) xs write "/local/domain/$d/control/shutdown" suspend ;;
	*) xo-simd ctl "$d" "$2" ;;
	esac
	# the domain is down before check-state looks (the simulator acts at once; wait anyway)
	for _ in $(seq 100); do
		[ -n "$(vm_field "$1" shutdown_reason)" ] && return 0
		xo-updates-get --timeout 0.1 "$(xo-updates-get | awk '{print $2}')" >/dev/null || true
	done
	fail "the guest of $1 did not $2"
}

# what check-state made of it: Halted, Running with a new domain, or the old domain kept
outcome() {   # outcome VM OLD_DOMID
	local st d
	st=$(vm_field "$1" power_state)
	d=$(domid_of "$1")
	if [ "$st" = Halted ]; then echo halted
	elif [ "$d" != "$2" ]; then echo restarted-$st
	else echo kept-$st
	fi
}

@test "the check-state table: each shutdown code to each action" {
	export XO_CRASH_LOOP_SECONDS=0
	i=0
	while read -r code action expect; do
		i=$((i + 1))
		case $code in
		poweroff) vm_with "v$i" "$action" start shutdown ;;
		reboot | watchdog) vm_with "v$i" shutdown "$action" shutdown ;;
		crash) vm_with "v$i" shutdown start "$action" ;;
		suspend) vm_with "v$i" shutdown start shutdown ;;
		esac
		d=$(domid_of "v$i")
		guest_does "v$i" "$code"
		xo-vm-check-state "v$i" >/dev/null
		got=$(outcome "v$i" "$d")
		[ "$got" = "$expect" ] || fail "$code with $action: expected $expect, got $got"
		if [ "$expect" = halted ]; then assert_clean_halted "v$i"; fi
		xo-vm-destroy "v$i" >/dev/null
	done <<'T'
poweroff shutdown halted
poweroff start restarted-Running
poweroff pause kept-Paused
poweroff coredump kept-Running
reboot shutdown halted
reboot start restarted-Running
reboot pause kept-Paused
watchdog start restarted-Running
watchdog shutdown halted
crash shutdown halted
crash start restarted-Running
crash pause kept-Paused
crash coredump kept-Running
suspend - halted
T
}

@test "the crash-loop rule: a VM that crashes soon after its start is not restarted" {
	vm_with web1 shutdown start start
	guest_does web1 crash
	xo-vm-check-state web1
	assert_clean_halted web1
}

@test "a domain that crashes while paused is handled" {
	ref_vm web1
	xo-vm-start web1
	xo-simd ctl "$(domid_of web1)" crash
	xo-vm-check-state web1
	assert_clean_halted web1
}

@test "check-state leaves a healthy VM alone and cleans a halted one's leftovers" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	xo-vm-check-state web1
	[ "$(domid_of web1)" = "$d" ]
	[ "$(vm_field web1 power_state)" = Paused ]
	# an unfinished start (action-request still there) is shut down, not restarted
	xs write "/local/domain/$d/action-request" poweroff
	xo-vm-check-state web1
	assert_clean_halted web1
}

@test "xo-vm-check-state --all checks every VM" {
	ref_vm a
	ref_vm b
	xo-vm-start a
	xo-vm-start b
	xs write "/local/domain/$(domid_of a)/action-request" poweroff
	run xo-vm-check-state --all
	assert_success
	assert_line --partial " a completed"
	assert_line --partial " b completed"
	assert_clean_halted a
	[ "$(vm_field b power_state)" = Paused ]
}
