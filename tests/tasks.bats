#!/usr/bin/env bats
# Tasks, the event feed and the queue.
load helpers

setup() { xo_setup; }
teardown() { xo_teardown; }

@test "xo-updates-get blocks until a change and reports each object once" {
	ref_vm web1
	uuid=$(uuid_of web1)
	tok=$(xo-updates-get | awk '{print $2}')
	xo-updates-get --timeout 30 "$tok" > "$BATS_TEST_TMPDIR/out" 3>&- &
	reader=$!
	# the reader is blocked: nothing changed yet
	sleep 0.2
	kill -0 "$reader"
	xo-vif-add web1 --bridge xenbr0 >/dev/null
	wait "$reader"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line "vif $uuid/1"
	assert_line --regexp '^token [0-9]+\.[0-9]+$'
}

@test "xo-updates-get coalesces repeated changes and times out with 99 when nothing happens" {
	ref_vm web1
	uuid=$(uuid_of web1)
	tok=$(xo-updates-get | awk '{print $2}')
	xo-vm-start web1
	run xo-updates-get --json "$tok"
	assert_success
	n=$(json_get updates <<<"$output" | python3 -c 'import json,sys; u=json.load(sys.stdin); print(sum(1 for x in u if x["kind"]=="vm"))')
	[ "$n" -eq 1 ]
	tok=$(json_get token <<<"$output")
	run xo-updates-get --timeout 0.2 "$tok"
	assert_failure 99
	assert_output "token $tok"
}

@test "a too old or malformed token is a clear error" {
	run xo-updates-get 1.x
	assert_failure 1
	assert_output --partial "invalid token"
}

@test "xo-task-list, -stat, -destroy; a pending task cannot be destroyed" {
	ref_vm web1
	task=$(xo-vm-start --async web1)
	xo-task-wait "$task"
	run xo-task-list
	assert_output --partial "$task VM_start web1 completed"
	run xo-task-stat --json "$task"
	[ "$(json_get progress <<<"$output")" = 1.0 ]
	xo-task-destroy "$task"
	run xo-task-list
	refute_output --partial "$task"
	run xo-task-destroy nosuchtask01
	assert_failure 1
}

@test "one worker per VM: 50 concurrent starts of 10 VMs, each VM started exactly once" {
	for i in $(seq 10); do add_vm vm$i >/dev/null; done
	tasks=()
	for round in 1 2 3 4 5; do
		for i in $(seq 10); do
			tasks+=("$(xo-vm-start --async vm$i)")
		done
	done
	for t in "${tasks[@]}"; do xo-task-wait "$t" >/dev/null || true; done
	xo-task-list --json > "$BATS_TEST_TMPDIR/tasks.json"
	python3 - "$BATS_TEST_TMPDIR/tasks.json" <<'PY'
import json, sys, collections
tasks = json.load(open(sys.argv[1]))
by_vm = collections.defaultdict(list)
for t in tasks:
    by_vm[t["vm"]].append(t)
assert len(by_vm) == 10, len(by_vm)
for vm, ts in by_vm.items():
    states = collections.Counter(t["state"] for t in ts)
    assert states["completed"] == 1, (vm, states)
    assert states["failed"] == 4, (vm, states)
    for t in ts:
        if t["state"] == "failed":
            assert t["error"]["class"] == "bad_power_state", t
    # no two tasks of one VM ever ran at the same time
    spans = sorted((t["started"], t["finished"]) for t in ts)
    for (s1, f1), (s2, f2) in zip(spans, spans[1:]):
        assert f1 <= s2, (vm, spans)
PY
	for i in $(seq 10); do [ "$(vm_field vm$i power_state)" = Paused ]; done
}

# wait_file PATH: until it exists (20 s at most)
wait_file() {
	local _
	for _ in $(seq 400); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	fail "no $1 after 20 s"
}

# the pool slot a worker first tries: slot_acquire's hash of the VM's uuid, modulo N
first_slot() {   # first_slot UUID N
	local h=0 i c
	for ((i = 0; i < ${#1}; i++)); do
		printf -v c '%d' "'${1:i:1}"
		h=$(((h * 31 + c) & 0x7fffffff))
	done
	echo $((h % $2))
}

@test "a start waiting for the pool takes whichever slot is released first" {
	export XO_WORKERS=2
	# a VM whose uuid has a file block.UUID waits in its pre-start hook until go.UUID is there
	mkdir -p "$XO_HOOK_DIR/vm-pre-start"
	cat >"$XO_HOOK_DIR/vm-pre-start/10-block" <<S
#!/bin/sh
[ -e "$BATS_TEST_TMPDIR/block.\$2" ] || exit 0
touch "$BATS_TEST_TMPDIR/running.\$2"
# (30 s at most, and not past the test's end: a failed test leaves nothing running)
for _ in \$(seq 600); do
	[ -e "$BATS_TEST_TMPDIR/go.\$2" ] || [ ! -d "$BATS_TEST_TMPDIR" ] && exit 0
	sleep 0.05
done
S
	chmod +x "$XO_HOOK_DIR/vm-pre-start/10-block"
	local a b c t ta i
	add_vm long >/dev/null
	add_vm short >/dev/null
	a=$(uuid_of long) b=$(uuid_of short)
	touch "$BATS_TEST_TMPDIR/block.$a" "$BATS_TEST_TMPDIR/block.$b"
	# long takes its first slot (both are free), short the other one
	ta=$(xo-vm-start --async long)
	wait_file "$BATS_TEST_TMPDIR/running.$a"
	xo-vm-start --async short >/dev/null
	wait_file "$BATS_TEST_TMPDIR/running.$b"
	# a third VM whose first slot is long's: it must not wait for long
	for i in $(seq 40); do
		add_vm "third$i" >/dev/null
		c=$(uuid_of "third$i")
		[ "$(first_slot "$c" 2)" != "$(first_slot "$a" 2)" ] || break
		xo-vm-remove "third$i" >/dev/null
		c=
	done
	[ -n "$c" ]
	t=$(xo-vm-start --async "$c")
	# both slots busy: it waits
	run xo-task-wait --timeout 1 "$t"
	assert_failure 99
	# short's slot is released: the third VM starts there while long still holds its own
	touch "$BATS_TEST_TMPDIR/go.$b"
	run xo-task-wait --timeout 20 "$t"
	assert_success
	[ "$(vm_field "$c" power_state)" = Paused ]
	[ "$(vm_field long power_state)" = Halted ]
	touch "$BATS_TEST_TMPDIR/go.$a"
	run xo-task-wait --timeout 20 "$ta"
	assert_success
	[ "$(vm_field long power_state)" = Paused ]
}

@test "xo-queue-diag shows queues, workers and the pool" {
	ref_vm web1
	run xo-queue-diag
	assert_success
	assert_line --regexp '^pool [0-9]+/4 busy$'
	XO_WORKERS=2 run xo-queue-diag --json
	[ "$(json_get pool_size <<<"$output")" = 2 ]
}
