# tests/watchd.bash: the watcher in tests (load watchd, after load helpers).
#
# watchd_setup / watchd_teardown are the setup and teardown of a file that
# runs the watcher (no crash-loop pause; the watcher stopped first).
# start_watchd starts xo-watchd in the background (the simulator first) and
# returns once it says it is watching; stop_watchd (call it from teardown)
# stops it. wait_for SECONDS CMD... waits on the event feed, not a sleep
# loop, until CMD succeeds, and fails after SECONDS.

watchd_setup() {
	xo_setup
	export XO_CRASH_LOOP_SECONDS=0
}

watchd_teardown() {
	stop_watchd
	xo_teardown
}

start_watchd() {
	xo-simd status >/dev/null 2>&1 || xo-simd start
	xo-watchd 2>"$BATS_TEST_TMPDIR/watchd.log" 3>&- &
	WATCHD=$!
	# it is up when it says so
	for _ in $(seq 100); do
		grep -q watching "$BATS_TEST_TMPDIR/watchd.log" && return 0
		sleep 0.05
	done
	fail "xo-watchd did not start: $(cat "$BATS_TEST_TMPDIR/watchd.log")"
}

stop_watchd() {
	[ -n "${WATCHD:-}" ] && kill "$WATCHD" 2>/dev/null && wait "$WATCHD" 2>/dev/null
	return 0
}

wait_for() {
	local secs=$1 tok out
	shift
	tok=$(xo-updates-get | awk '{print $2}')
	local end=$((SECONDS + secs))
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		out=$(xo-updates-get --timeout 1 "$tok") && tok=$(awk '/^token/{print $2}' <<<"$out")
	done
}
