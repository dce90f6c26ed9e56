#!/usr/bin/env bats
# Crash safety, proved: xo is killed (SIGKILL, XO_FAULT) at every micro-op
# boundary of a start, a shutdown, a reboot and a device hot-plug; the next
# xo process repairs the VM, which is then either halted with nothing left
# or intact and running; no configuration file is lost or torn; the dead
# worker's task is reported failed.
load helpers
bats_require_minimum_version 1.5.0

setup() { xo_setup; }
teardown() { xo_teardown; }

config_of() {
	local uuid
	uuid=$(uuid_of "$1")
	cat "$XO_STATE_DIR/VM/$uuid/config" "$XO_STATE_DIR/VM/$uuid"/vbd.* "$XO_STATE_DIR/VM/$uuid"/vif.* | md5sum
}

# after a crash: halted and clean, or intact; sets REPAIRED to which (a variable, not
# output: in a command substitution a failed check would not stop the function). The
# dead worker's waiter reports the task failed at once while a new worker repairs the
# VM: the next xo command on the VM (here check-state) queues behind that repair
repaired() {
	xo-vm-check-state "$1" >/dev/null || fail "check-state after the crash failed"
	if [ "$(vm_field "$1" power_state)" = Halted ]; then
		assert_clean_halted "$1"
		REPAIRED=halted
	else
		assert_intact "$1"
		REPAIRED=intact
	fi
}

@test "a crash at every micro-op boundary of a start" {
	ref_vm web1
	conf=$(config_of web1)
	mapfile -t atoms < <(atoms_of xo-vm-start web1)
	[ "${#atoms[@]}" -ge 10 ]
	n=0
	for atom in "${atoms[@]}"; do
		for mode in crash crash-after; do
			XO_FAULT="$atom:$mode" run --separate-stderr xo-vm-start --json web1
			[ "$status" -ne 0 ] || fail "$atom:$mode: the start did not fail"
			[ "$(json_get error.class <<<"$output")" = worker_died ] || fail "$atom:$mode: $output"
			repaired web1
			[ "$(config_of web1)" = "$conf" ] || fail "$atom:$mode: configuration changed"
			if [ "$REPAIRED" = intact ]; then
				# only after the last micro-op is the start complete
				[ "$atom:$mode" = "${atoms[-1]}:crash-after" ] || fail "$atom:$mode left the vm running"
				xo-vm-destroy web1
			fi
			n=$((n + 1))
		done
	done
	[ "$n" -eq $((2 * ${#atoms[@]})) ]
}

running() {
	local st
	st=$(vm_field "$1" power_state)
	case $st in
	Halted) xo-vm-start "$1" && xo-vm-unpause "$1" ;;
	Paused) xo-vm-unpause "$1" ;;
	esac
	st=$(vm_field "$1" power_state)
	[ "$st" = Running ] || fail "vm $1 is $st, not Running"
}

# kill each operation at every micro-op boundary of its plan, from a running VM
# (paused first for an unpause); after each, the VM is repaired and its
# configuration unchanged: crash_matrix OP...
crash_matrix() {
	local op atom mode conf
	ref_vm web1
	conf=$(config_of web1)
	for op in "$@"; do
		running web1
		mapfile -t atoms < <(atoms_of $op web1)
		[ "${#atoms[@]}" -ge 1 ] || fail "$op has no micro-ops"
		for atom in "${atoms[@]}"; do
			for mode in crash crash-after; do
				running web1
				[ "$op" != xo-vm-unpause ] || xo-vm-pause web1
				XO_FAULT="$atom:$mode" run --separate-stderr $op --json web1
				[ "$status" -ne 0 ] || fail "$op $atom:$mode: did not fail"
				[ "$(json_get error.class <<<"$output")" = worker_died ] || fail "$op $atom:$mode: $output"
				repaired web1
				[ "$(config_of web1)" = "$conf" ] || fail "$op $atom:$mode: configuration changed"
			done
		done
	done
}

@test "a crash at every micro-op boundary of a shutdown and of a reboot" {
	crash_matrix "xo-vm-shutdown --force" "xo-vm-shutdown" "xo-vm-reboot --force" "xo-vm-reboot"
}

@test "a crash at every micro-op boundary of a destroy, a pause and an unpause" {
	crash_matrix xo-vm-destroy xo-vm-pause xo-vm-unpause
}

@test "a crash at every micro-op boundary of a device hot-plug and hot-unplug" {
	ref_vm web1
	running web1
	for op in "xo-vbd-unplug web1 xvdb" "xo-vbd-plug web1 xvdb" "xo-vif-unplug web1 0" "xo-vif-plug web1 0"; do
		set -- $op
		kind=${1#xo-}
		for atom in "$(tr a-z A-Z <<<"${kind%%-*}")_${kind#*-}" "$(tr a-z A-Z <<<"${kind%%-*}")_set_active"; do
			for mode in crash crash-after; do
				XO_FAULT="$atom:$mode" run $op
				# the program killed itself before or after the micro-op
				[ "$status" -ne 0 ] || fail "$op $atom:$mode: it did not die"
				# the next xo process repairs: here a check-state
				xo-vm-check-state web1
				assert_intact web1
				run xo-task-list --json
				python3 -c 'import json,sys; t=json.load(sys.stdin); assert all(x["state"] != "pending" for x in t), t' <<<"$output"
			done
		done
		# back to the starting point for the next op
		$op >/dev/null 2>&1 || true
	done
}
