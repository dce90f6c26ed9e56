#!/usr/bin/env bats
# xo-simd start, stop, status: the daemon's life, and autostart by the sim backend.
load helpers
load sim-helpers

setup() { sim_setup; }
teardown() { sim_teardown; }

@test "xo-simd start runs the daemon; status says so; its sockets accept at once" {
	run xo-simd status
	assert_failure 1
	assert_output stopped
	run xo-simd start
	assert_success
	run xo-simd status
	assert_success
	assert_output --regexp '^running [0-9]+$'
	[ -S "$XO_STATE_DIR/sim/xenstored.sock" ]
	[ -S "$XO_STATE_DIR/sim/hv.sock" ]
	run xenstore-read /local/domain/0/name
	assert_success
	assert_output Domain-0
	run xenstore-read /local/domain/0/domid
	assert_output 0
	run xo-simd ctl list
	assert_success
	assert_output --regexp '^0 running 1G 4 00000000-0000-0000-0000-000000000000$'
}

@test "a second xo-simd start on the same state directory is refused" {
	xo-simd start
	pid=$(xo-simd status | cut -d' ' -f2)
	run xo-simd start
	assert_failure 1
	assert_output "xo-simd: fatal: unable to start the simulator: the simulator already runs in '$(realpath "$XO_STATE_DIR")/sim' (pid $pid)"
	# the first one still serves
	run xo-simd status
	assert_output "running $pid"
	run xenstore-read /local/domain/0/name
	assert_output Domain-0
}

@test "xo-simd stop ends the daemon and its children and removes the sockets" {
	xo-simd start
	pid=$(xo-simd status | cut -d' ' -f2)
	d=$(new_domain)
	"$SB" dm-start "$d" > "$BATS_TEST_TMPDIR/dmpid"
	dm=$(cat "$BATS_TEST_TMPDIR/dmpid")
	[ -e "/proc/$dm" ]
	run xo-simd stop --force
	assert_success
	gone "$pid"
	gone "$dm"
	[ ! -e "$XO_STATE_DIR/sim/xenstored.sock" ]
	[ ! -e "$XO_STATE_DIR/sim/hv.sock" ]
	[ ! -e "$XO_STATE_DIR/sim/domain/$d.sock" ]
	run xo-simd status
	assert_failure 1
	assert_output stopped
	run grep -c 'xo-simd\[[0-9]*\]: stopped$' "$XO_STATE_DIR/sim/simd.log"
	assert_output 1
}

@test "xo-simd stop and ctl say clearly when nothing runs, and create nothing" {
	export XO_STATE_DIR="$BATS_TEST_TMPDIR/none"
	run xo-simd stop
	assert_failure 1
	assert_output "xo-simd: fatal: unable to stop the simulator: the simulator does not run in '$XO_STATE_DIR/sim'"
	run xo-simd ctl list
	assert_failure 1
	assert_output --partial "the simulator does not run in"
	[ ! -e "$XO_STATE_DIR" ]
}

@test "the sim backend starts xo-simd when it does not run" {
	run xo-simd status
	assert_failure 1
	run "$SB" host
	assert_success
	assert_output "total_kib=16777216 free_kib=16777216 cpus=4"
	run xo-simd status
	assert_success
}

@test "xo-simd start --memory and --cpus set the host; XO_SIM_MEMORY too" {
	xo-simd start --memory 512M --cpus 2
	run "$SB" host
	assert_output "total_kib=524288 free_kib=524288 cpus=2"
	xo-simd stop
	XO_SIM_MEMORY=2G run "$SB" host
	assert_output "total_kib=2097152 free_kib=2097152 cpus=4"
}

@test "xo-simd rejects bad options and operands with a usage error" {
	run xo-simd start --memory lots
	assert_failure 100
	assert_output --partial "invalid memory 'lots'"
	run xo-simd start --cpus 0
	assert_failure 100
	run xo-simd stop --memory 1G
	assert_failure 100
	assert_output --partial "go with start only"
	run xo-simd start --output-max 1K
	assert_failure 100
	assert_output --partial "invalid output-max '1K'"
	run xo-simd frobnicate
	assert_failure 100
	assert_output --partial "unknown command 'frobnicate'"
	run xo-simd
	assert_failure 100
	run xo-simd status extra
	assert_failure 100
	XO_SIM_MEMORY=much run xo-simd start
	assert_failure 100
	assert_output --partial "invalid XO_SIM_MEMORY 'much'"
	run xo-simd status
	assert_failure 1
}

@test "xo-simd ctl checks its operands" {
	xo-simd start
	run xo-simd ctl
	assert_failure 100
	run xo-simd ctl abc show
	assert_failure 100
	assert_output --partial "invalid domid 'abc'"
	run xo-simd ctl 1 frob
	assert_failure 100
	assert_output --partial "unknown ctl command 'frob'"
	run xo-simd ctl 1 ignore-shutdown maybe
	assert_failure 100
	run xo-simd ctl 7 show
	assert_failure 1
	assert_output "xo-simd: fatal: unable to run ctl 7 show: domain 7 does not exist"
	run xo-simd ctl 0 crash
	assert_failure 1
	assert_output --partial "refusing to act on domain 0"
}

@test "a state directory too deep for unix sockets is refused clearly" {
	export XO_STATE_DIR="$BATS_TEST_TMPDIR/$(printf 'd%.0s' {1..90})"
	run xo-simd start
	assert_failure 1
	assert_output --partial "is too deep for the simulator's unix sockets"
	run xo-simd status
	assert_failure
}

@test "xo-simd start --foreground serves until SIGTERM, then cleans up" {
	mkfifo "$BATS_TEST_TMPDIR/fg.fifo"
	xo-simd start --foreground 2> "$BATS_TEST_TMPDIR/fg.fifo" 3>&- &
	fg=$!
	exec 4< "$BATS_TEST_TMPDIR/fg.fifo"
	read -r -t 10 line <&4
	[[ "$line" == *"started: host memory 16777216 KiB, 4 cpus"* ]]
	run "$SB" host
	assert_success
	run xo-simd status
	assert_output "running $fg"
	kill -TERM "$fg"
	run cat <&4
	assert_output --partial "signal 15: shutting down"
	assert_output --partial "stopped"
	wait "$fg"
	run xo-simd status
	assert_failure 1
	[ ! -e "$XO_STATE_DIR/sim/hv.sock" ]
}

@test "xo-simd --help lists the commands and options" {
	run xo-simd --help
	assert_success
	assert_line --partial "usage: xo-simd start"
	assert_line --partial "--memory SIZE"
}

@test "out of descriptors, xo-simd pauses accepting, says so once, and accepts again when one is freed" {
	(ulimit -n 32 && xo-simd start)
	pid=$(xo-simd status | cut -d' ' -f2)
	mkfifo "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
	# 60 connections for a daemon that may hold 32 descriptors; then 1000
	# requests on the first, while the others wait in the backlog
	"$XS" hold 60 < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out" 3>&- &
	holder=$!
	exec 5> "$BATS_TEST_TMPDIR/in"
	exec 6< "$BATS_TEST_TMPDIR/out"
	read -r -t 30 line <&6
	assert_equal "$line" "held 60 answered 1000"
	assert_equal "$(ls "/proc/$pid/fd" | wc -l)" 32
	run grep -c "not accepting connections until a descriptor is freed" "$SIMLOG"
	assert_output 1
	[ "$(stat -c %s "$SIMLOG")" -lt 1000 ]
	# the holder hangs up: its connections are freed and the backlog taken
	exec 5>&-
	wait "$holder"
	exec 6<&-
	run xenstore-read /local/domain/0/name
	assert_success
	assert_output Domain-0
	run xo-simd ctl list
	assert_success
	run grep -c "accepting connections on '.*/xenstored.sock' again" "$SIMLOG"
	assert_output 1
	run grep -c "not accepting" "$SIMLOG"
	assert_output 1
}

@test "one limit on unread output for all connections: the largest lazy one is dropped first" {
	xo-simd start --output-max 4M
	start_lazy 2000 100 100
	run "$XS" flood /f/x 4000
	assert_output "wrote 4000"
	stop_lazy
	# the watcher with the long token held the most: it went, the others stay
	assert_equal "$(lazy_state 0)" dropped
	assert_equal "$(lazy_state 1)" alive
	assert_equal "$(lazy_state 2)" alive
	run grep -c "does not read its output: dropping it" "$SIMLOG"
	assert_output 1
	grep -q "connection of domain 0 (pid ${LAZY[0]}) does not read its output" "$SIMLOG"
	# the daemon serves on
	run xenstore-read /f/x
	assert_output x
}

@test "ten lazy watchers of / flooded with events: the daemon's memory stays bounded" {
	xo-simd start --output-max 4M
	pid=$(xo-simd status | cut -d' ' -f2)
	before=$(kib "$pid" VmRSS)
	start_lazy 1000 1000 1000 1000 1000 1000 1000 1000 1000 1000
	# 40 MB of events: ten connections of 4 MB each without a global limit
	run "$XS" flood /f/x 4000
	assert_output "wrote 4000"
	peak=$(kib "$pid" VmHWM)
	stop_lazy
	# buffers grow by doubling and the limit is checked after each growth:
	# at worst a moment at twice the limit
	echo "rss before $before KiB, peak $peak KiB"
	[ $((peak - before)) -lt $((9 * 1024)) ]
	run grep -c "does not read its output: dropping it" "$SIMLOG"
	[ "$output" -ge 1 ]
	run xenstore-read /f/x
	assert_output x
}

@test "xo-simd stop refuses while domains run, naming them; --force destroys them through xo, then stops" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	other=$(new_domain)
	img="$BATS_TEST_TMPDIR/web1-root.img"
	[ -n "$(losetup -j "$img")" ]
	pid=$(xo-simd status | cut -d' ' -f2)
	run xo-simd stop
	assert_failure 1
	assert_output "xo-simd: fatal: unable to stop the simulator: 2 domains run: $d (vm web1), $other (not a vm of this state directory); destroy them first (xo-vm-destroy), or stop with --force"
	run xo-simd status
	assert_output "running $pid"
	run xo-simd stop --force
	assert_success
	assert_output ""
	gone "$pid"
	run xo-simd status
	assert_failure 1
	# the VM went through xo-vm-destroy: halted, its loop devices and tap released
	no_loops_on "$img"
	no_loops_on "$BATS_TEST_TMPDIR/web1-data.img"
	run ip link show "vif$d.0"
	assert_failure
	# (stat starts a new simulator: the VM has no domain there)
	run xo-vm-stat web1
	assert_output --partial Halted
}

@test "xo-simd stop with only non-VM domains names them; --force on an idle simulator just stops" {
	xo-simd start
	d=$(new_domain)
	run xo-simd stop
	assert_failure 1
	assert_output --partial "1 domain runs: $d (not a vm of this state directory); destroy it first"
	"$SB" destroy "$d"
	run xo-simd stop --force
	assert_success
	run xo-simd start --force
	assert_failure 100
	assert_output --partial "--force goes with stop only"
}

@test "SIGTERM stops the daemon as xo-simd stop does, even when its starter ignored SIGTERM" {
	# a starter that ignores SIGTERM and SIGINT (nohup, a service manager's child)
	bash -c "trap '' TERM INT HUP; xo-simd start"
	pid=$(xo-simd status | cut -d' ' -f2)
	d=$(new_domain)
	dm=$("$SB" dm-start "$d")
	kill -TERM "$pid"
	# the daemon holds its lock until it has cleaned up and exits
	timeout 30 flock -s "$XO_STATE_DIR/sim/lock" true
	gone "$pid"
	gone "$dm"
	[ ! -e "$XO_STATE_DIR/sim/xenstored.sock" ]
	[ ! -e "$XO_STATE_DIR/sim/hv.sock" ]
	[ ! -e "$XO_STATE_DIR/sim/domain/$d.sock" ]
	run xo-simd status
	assert_failure 1
	grep -q 'xo-simd\[[0-9]*\]: signal 15: shutting down$' "$SIMLOG"
	run grep -c 'xo-simd\[[0-9]*\]: stopped$' "$SIMLOG"
	assert_output 1
}

@test "simd.log rotates at 1 MiB, keeping one old file" {
	xo-simd start
	# about 3 MiB of log lines
	run "$XS" log 2000 1500 first
	assert_output "logged 2000"
	run "$XS" log 10 100 last
	assert_output "logged 10"
	[ -e "$SIMLOG.1" ]
	[ ! -e "$SIMLOG.2" ]
	for f in "$SIMLOG" "$SIMLOG.1"; do
		[ "$(stat -c %s "$f")" -le $((1024 * 1024 + 2048)) ]
	done
	# the newest lines are in simd.log, the ones before them in simd.log.1
	grep -q "print: last-9-x" "$SIMLOG"
	grep -q "print: first-1999-x" "$SIMLOG" "$SIMLOG.1"
	run grep -c "print: first-0-x" "$SIMLOG" "$SIMLOG.1"
	assert_output "$SIMLOG:0
$SIMLOG.1:0"
	# and the daemon still logs where people look
	xo-simd stop
	tail -1 "$SIMLOG" | grep -q 'stopped$'
}
