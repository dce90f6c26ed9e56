#!/usr/bin/env bats
# The configuration store under kill -9: tests/stress/config-kill at a small
# size (the full size is part of make stress), and the repair of a dead
# writer's leftovers, by hand, against a live writer's, which must stay.
load helpers

setup() { xo_setup; }
teardown() {
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	xo_teardown
}

@test "kill -9 of xo-vm-add, xo-vm-remove, xo-vbd-add and -remove at random moments" {
	run "$XO_SRC/tests/stress/config-kill" --adds 30 --removes 30 --devices 10
	assert_success
	# the kills must have hit the programs mid-way, not only after they finished
	# (each one's window is its median run time, so about half of them do)
	mid=0
	for p in xo-vm-add xo-vm-remove; do
		n=$(sed -n "s/^$p: 30 kills, \([0-9]*\) died mid-way.*/\1/p" <<< "$output")
		[ -n "$n" ] || fail "no count for $p: $output"
		mid=$((mid + n))
	done
	[ "$mid" -ge 6 ] || fail "too few kills mid-way: $output"
}

# the start time of process $1, as xo names writers
start_of() {
	local stat
	stat=$(cat "/proc/$1/stat")
	stat=${stat##*) }
	set -- $stat
	echo "${20}"
}

# a staging entry as a writer that died after claiming NAME for UUID left it:
# dead_add UUID NAME WRITER
dead_add() {
	local dir="$XO_STATE_DIR/staging/new.$1.$3"
	mkdir -p "$dir/queue"
	printf '{"uuid": "%s", "name": "%s", "memory": {"static_max": 67108864}, "boot": {"kernel": "%s"}}\n' \
		"$1" "$2" "$KERNEL" > "$dir/config"
	ln -s "../VM/$1" "$XO_STATE_DIR/name/$2"
}

@test "a dead writer's staging entry and the name it left go at the next add or remove" {
	add_vm other >/dev/null
	# dead: a pid that is gone, and a live pid with another start time (pid reuse)
	sleep 0 &
	gone=$!
	wait $gone
	dead_add 11111111-1111-4111-8111-111111111111 k1 "$gone.$(start_of $$)"
	dead_add 22222222-2222-4222-8222-222222222222 k2 "$$.1"
	# alive: this shell, with its start time
	dead_add 33333333-3333-4333-8333-333333333333 k3 "$$.$(start_of $$)"
	# out of view, all of them
	run xo-vm-list
	assert_output --regexp '^[0-9a-f-]{36} other '
	[ "${#lines[@]}" -eq 1 ]
	run xo-vm-show k1
	assert_failure 1
	assert_output --partial "does not exist"
	# the next writer (here a removal of another VM) cleans up after the dead only
	xo-vm-remove other
	run ls "$XO_STATE_DIR/staging"
	assert_output "new.33333333-3333-4333-8333-333333333333.$$.$(start_of $$)"
	[ ! -L "$XO_STATE_DIR/name/k1" ] && [ ! -L "$XO_STATE_DIR/name/k2" ]
	[ -L "$XO_STATE_DIR/name/k3" ]
	# a live writer's claimed name is taken: nobody else may add it meanwhile... once it
	# is gone, an add of that name replaces the dangling link
	run add_vm k1
	assert_success
	rm -r "$XO_STATE_DIR/staging/new.33333333-3333-4333-8333-333333333333.$$.$(start_of $$)"
	run add_vm k3
	assert_success
	[ "$(readlink "$XO_STATE_DIR/name/k3")" = "../VM/$output" ]
}

@test "a staging entry someone holds flocked stays, whatever its name says" {
	add_vm other >/dev/null
	dir="$XO_STATE_DIR/staging/trash.44444444-4444-4444-8444-444444444444.1.1"
	mkdir "$dir"
	# flock(1) holds the lock (-o: not its child); the child says when, and its pid
	mkfifo "$BATS_TEST_TMPDIR/ready"
	flock -o "$dir" sh -c 'echo $$ > "$0"; exec sleep 600' "$BATS_TEST_TMPDIR/ready" 3>&- &
	HOLDER=$!
	read -r SLEEPER < "$BATS_TEST_TMPDIR/ready"
	xo-vm-remove other
	[ -d "$dir" ] || fail "a held entry was removed"
	kill "$HOLDER" "$SLEEPER"
	wait "$HOLDER" 2>/dev/null || true
	HOLDER=
	add_vm another >/dev/null
	[ ! -e "$dir" ] || fail "the entry stayed after its holder died"
}

@test "a dead writer's temporary files in a VM directory go at the next device change" {
	add_vm web1 >/dev/null
	vm="$XO_STATE_DIR/VM/$(uuid_of web1)"
	sleep 0 &
	gone=$!
	wait $gone
	touch "$vm/.tmp.$gone.$(start_of $$).0000dead" "$vm/.tmp.$$.1.0000dea2" \
		"$vm/.tmp.$$.$(start_of $$).000alive" "$vm/.tmp.0123456789ab"
	xo-vif-add web1 >/dev/null
	run ls -A "$vm"
	refute_output --partial "dead"
	assert_line ".tmp.$$.$(start_of $$).000alive"
	# a name of some other form is not one of ours: left alone
	assert_line ".tmp.0123456789ab"
	assert_line "vif.0"
}
