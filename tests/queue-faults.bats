#!/usr/bin/env bats
# XO_FAULT belongs to the task it was submitted with. When a worker dies, the
# client waiting for its task forks a new worker to recover, and that worker
# goes on to serve the tasks other clients queued meanwhile: it must not
# inject the waiting client's fault into them.
load helpers

setup() {
	xo_setup
	bridge xenbr0
}
teardown() { xo_teardown; }

@test "a worker forked by a waiting client does not pass the client's XO_FAULT to the next task" {
	local fifo="$BATS_TEST_TMPDIR/release" held="$BATS_TEST_TMPDIR/held" script="$BATS_TEST_TMPDIR/vif"
	local pid id i
	mkfifo "$fifo"
	# the vif script, held once (the first plug) until the test releases it
	cat >"$script" <<SCRIPT
#!/bin/sh
if [ "\$1" = online ] && [ ! -e "$held" ]; then
	: >"$held"
	read x <"$fifo"
fi
exec "$XO_SRC/share/udev/vif" "\$@"
SCRIPT
	chmod +x "$script"
	add_vm web1
	xo-vif-add web1 --bridge xenbr0 --script "$script"
	# A: its worker dies right after the plug; A then forks the worker that recovers
	XO_FAULT="VIF_plug 0:crash-after" xo-vm-start web1 >"$BATS_TEST_TMPDIR/a.out" 2>&1 3>&- &
	pid=$!
	for i in $(seq 200); do
		[ -e "$held" ] && break
		sleep 0.05
	done
	[ -e "$held" ] || fail "the vif script was not run"
	# B: queued behind A while A's worker is held in the plug
	run xo-vm-start --async web1
	assert_success
	id=$output
	echo go >"$fifo"
	# (not through run: a subshell cannot wait for it)
	if wait "$pid"; then fail "the start with XO_FAULT succeeded"; fi
	run cat "$BATS_TEST_TMPDIR/a.out"
	assert_output --partial "died during VIF_plug 0"
	run xo-task-wait "$id"
	assert_success
	assert_equal "$(xo-vm-stat web1 | awk '{ print $3 }')" Paused
}
