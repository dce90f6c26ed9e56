# tests/sim-helpers.bash: loaded by the tests/sim-*.bats files (after helpers).
#
# SB drives lib/backend-sim.c and writes the xenstore layout of a toolstack
# (tests/unit/sim-backend.c); XS is a libxenstore and raw-protocol client
# (tests/unit/sim-xs.c). Waits go through xenstore watches (sim-backend
# wait), never sleeps.

SB="$XO_SRC/build/unit/sim-backend"
XS="$XO_SRC/build/unit/sim-xs"

sim_setup() {
	xo_setup
	export XENSTORED_PATH="$XO_STATE_DIR/sim/xenstored.sock"
	# shellcheck disable=SC2034 # used by the tests
	SIMLOG="$XO_STATE_DIR/sim/simd.log"
}

sim_teardown() {
	exec 4<&- 2>/dev/null || true
	if [ -n "${WATCHER:-}" ]; then kill "$WATCHER" 2>/dev/null || true; fi
	xo_teardown
}

# run a command as guest domain N: as_guest N CMD...
as_guest() {
	local d=$1
	shift
	XENSTORED_PATH="$XO_STATE_DIR/sim/domain/$d.sock" "$@"
}

# a built, introduced, paused pv domain with its xenstore directories
# a domain's console file: one per VM (the domain's handle), kept across its domains
console_of() {
	echo "$XO_STATE_DIR/sim/console/$("$SB" info "$1" | grep -o 'uuid=[0-9a-f-]*' | cut -d= -f2).log"
}

new_domain() {
	"$SB" vm "${1:-65536}" "$KERNEL"
}

# wait until a key has a value: wait_key PATH VALUE
wait_key() {
	"$SB" wait "$1" "$2" 10
}

# a hotplug script for the udev tests: logs its arguments and environment to
# $BATS_TEST_TMPDIR/hotplug.log and does what a real one does (block: writes
# physical-device and hotplug-status=connected on add; vif: hotplug-status on
# online); on remove it writes /test/removed/<kind>/<domid>/<devid> = 1
make_hotplug_script() {
	HOTPLUG="$BATS_TEST_TMPDIR/hotplug"
	cat > "$HOTPLUG" <<-'EOF'
	#!/bin/sh
	log="${0%/*}/hotplug.log"
	echo "$XENBUS_TYPE $* ACTION=$ACTION XENBUS_PATH=$XENBUS_PATH XENBUS_BASE_PATH=$XENBUS_BASE_PATH UDEV_CALL=$UDEV_CALL script=$script vif=${vif:-} XENSTORED_PATH=$XENSTORED_PATH" >> "$log"
	case "$XENBUS_TYPE:$ACTION" in
	vbd:add)
		xenstore-write "$XENBUS_PATH/physical-device" 7:0 "$XENBUS_PATH/hotplug-status" connected ;;
	vif:online)
		xenstore-write "$XENBUS_PATH/hotplug-status" connected ;;
	*:remove)
		xenstore-write "/test/removed/${XENBUS_PATH#backend/}" 1 ;;
	esac
	EOF
	chmod +x "$HOTPLUG"
}

# start a watcher that prints events on fd 4: watch_start PATH TOKEN COUNT
# (returns once the watch is registered); watch_next reads one event line
watch_start() {
	local fifo="$BATS_TEST_TMPDIR/watch.fifo"
	rm -f "$fifo"
	mkfifo "$fifo"
	"$XS" watch-events "$1" "$2" "$3" > "$fifo" 3>&- &
	WATCHER=$!
	exec 4< "$fifo"
	read -r -t 10 line <&4
	[ "$line" = watching ]
}

watch_next() {
	# shellcheck disable=SC2034 # used by the tests
	read -r -t 10 EVENT <&4
}

# a process is gone (or a zombie waiting for its parent; a zombie reaped between
# the two looks is gone too)
gone() {
	grep -qs '^[0-9]* (.*) Z' "/proc/$1/stat" || [ ! -e "/proc/$1" ]
}

# lazy watchers of /: start_lazy TOKENLEN... starts one "sim-xs lazy" per
# argument (a token of that many characters), each printing to
# $BATS_TEST_TMPDIR/lazy.<i> and reading nothing until fd 5 is closed
start_lazy() {
	local i=0 n
	mkfifo "$BATS_TEST_TMPDIR/lazy.in"
	exec 5<> "$BATS_TEST_TMPDIR/lazy.in"
	LAZY=()
	for n in "$@"; do
		"$XS" lazy / "$(printf "%0${n}d" 0)" < "$BATS_TEST_TMPDIR/lazy.in" \
			> "$BATS_TEST_TMPDIR/lazy.$i" 3>&- 5>&- &
		LAZY+=($!)
		i=$((i + 1))
	done
	# each has its watch (the line after the reply to XS_WATCH)
	for ((i = 0; i < $#; i++)); do
		until grep -q watching "$BATS_TEST_TMPDIR/lazy.$i"; do
			kill -0 "${LAZY[$i]}" || return 1
			sleep 0.01
		done
	done
}

# let the lazy watchers read what came and tell: stop_lazy; then lazy_state I
stop_lazy() {
	exec 5>&-
	wait "${LAZY[@]}"
}

lazy_state() {
	tail -1 "$BATS_TEST_TMPDIR/lazy.$1"
}

# a process's memory in KiB: kib PID VmRSS|VmHWM
kib() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}
