#!/usr/bin/env bats
# The crash matrix, on any backend (XO_CONF_BACKEND; see helpers.bash): xo is
# killed (XO_FAULT) before and after every micro-op of a start and of a
# shutdown; the next xo process repairs the VM, which is then halted with
# nothing left, or intact; the next start succeeds.
load helpers
bats_require_minimum_version 1.5.0

setup() { conf_setup; }
teardown() { conf_teardown; }

# after a crash: check-state, then halted and clean, or intact (every active device
# plugged, every plugged one active); prints which
repaired() {
	xo-vm-check-state "$1" >/dev/null || fail "check-state after the crash failed"
	if [ "$(vm_field "$1" power_state)" = Halted ]; then
		assert_halted_clean "$1"
		echo halted
	else
		for k in vbd vif; do
			xo-$k-stat --json "$1" | python3 -c '
import json, sys
for v in json.load(sys.stdin):
    assert v["active"] == v["plugged"], v' || fail "${k}s of $1 inconsistent: $(xo-$k-stat "$1")"
		done
		echo intact
	fi
}

@test "a crash before and after every micro-op of a start" {
	be_vm c1
	mapfile -t atoms < <(atoms_of xo-vm-start c1)
	[ "${#atoms[@]}" -ge 8 ]
	for atom in "${atoms[@]}"; do
		for mode in crash crash-after; do
			XO_FAULT="$atom:$mode" run --separate-stderr xo-vm-start --json c1
			[ "$status" -ne 0 ] || fail "$atom:$mode: the start did not fail"
			state=$(repaired c1)
			if [ "$state" = intact ]; then
				[ "$atom:$mode" = "${atoms[-1]}:crash-after" ] || fail "$atom:$mode left the vm running"
				xo-vm-destroy c1
				assert_halted_clean c1
			fi
		done
	done
	# and after all that, a start that works
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
}

@test "a crash before and after every micro-op of a forced shutdown" {
	be_vm c1
	xo-vm-start c1
	mapfile -t atoms < <(atoms_of xo-vm-shutdown --force c1)
	for atom in "${atoms[@]}"; do
		for mode in crash crash-after; do
			[ "$(vm_field c1 power_state)" != Halted ] || xo-vm-start c1
			XO_FAULT="$atom:$mode" run --separate-stderr xo-vm-shutdown --force --json c1
			state=$(repaired c1)
			# killed before its teardown began, the vm runs on, intact: it still stops
			if [ "$state" = intact ]; then
				xo-vm-shutdown --force c1
				assert_halted_clean c1
			fi
		done
	done
	xo-vm-start c1
	[ "$(vm_field c1 power_state)" = Paused ]
}

@test "a micro-op that fails: the start cleans up after itself" {
	be_vm c1
	mapfile -t atoms < <(atoms_of xo-vm-start c1)
	for atom in "${atoms[@]}"; do
		XO_FAULT="$atom:fail" run --separate-stderr xo-vm-start c1
		[ "$status" -ne 0 ] || fail "$atom:fail: the start did not fail"
		assert_halted_clean c1
	done
}
