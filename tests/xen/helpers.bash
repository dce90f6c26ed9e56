# tests/xen/helpers.bash: loaded by every real-Xen bats file (load helpers).
#
# These tests run as root in a Xen dom0: the lab's (make check-xen boots it and
# runs tests/lab/dom0-check there), never on the development host. Each test
# gets its own XO_STATE_DIR and a guest name of its own ($GUEST); teardown
# destroys any domain whose name starts with it. The test guest (see
# tests/lab/lab) prints markers on its console, which xenconsoled logs to
# /var/log/xen/console/guest-NAME.log; wait_console follows that log (tail -F,
# inotify) until a marker shows up.
bats_load_library bats-support
bats_load_library bats-assert

: "${XO_SRC:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
export PATH="$XO_SRC/build/bin:$XO_SRC/build/xen:$PATH"
GUEST_KERNEL=${XO_LAB_GUEST_KERNEL:-/xo-lab/vmlinux}
GUEST_INITRD=${XO_LAB_GUEST_INITRD:-/xo-lab/guest-initrd.gz}
CONSOLE_DIR=/var/log/xen/console

xen_setup() {
	[ -e /dev/xen/privcmd ] ||
		fail "not in a Xen dom0 (no /dev/xen/privcmd): these tests run through make check-xen"
	export XO_BACKEND=xen
	export XO_STATE_DIR="$BATS_TEST_TMPDIR/state"
	GUEST="xo-t${BATS_SUITE_TEST_NUMBER}"
}

xen_teardown() {
	local d
	for d in $(xl list 2>/dev/null | awk -v p="$GUEST" 'NR > 1 && ($1 == p || index($1, p "-") == 1) { print $2 }'); do
		xen-backend destroy "$d" || xl destroy "$d" || true
	done
}

# start_guest NAME TYPE [more xen-backend start flags]: prints the domid
start_guest() {
	local name=$1 type=$2
	shift 2
	xen-backend start --name "$name" --type "$type" --kernel "$GUEST_KERNEL" \
		--ramdisk "$GUEST_INITRD" --cmdline "console=hvc0 loglevel=4" "$@"
}

console_log() {
	echo "$CONSOLE_DIR/guest-$1.log"
}

# console_text NAME: the guest's console so far, without the terminal's carriage returns
console_text() {
	tr -d '\r' <"$(console_log "$1")"
}

# wait_console NAME TEXT [SECONDS]: until the guest's console shows TEXT
wait_console() {
	local log found=1 line pid
	log=$(console_log "$1")
	coproc TAIL { exec timeout "${3:-120}" tail -n +1 -F "$log" 2>/dev/null 3>&-; }
	pid=$TAIL_PID
	while IFS= read -r line <&"${TAIL[0]}"; do
		case $line in *"$2"*) found=0; break ;; esac
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	[ $found -eq 0 ] || echo "# no '$2' on the console of $1: $(tail -n 5 "$log" 2>/dev/null)" >&3
	return $found
}

# dom_field DOMID FIELD: one field of `xen-backend info`
dom_field() {
	xen-backend info "$1" | tr ' ' '\n' | awk -F= -v f="$2" '$1 == f { print $2 }'
}

# assert_xenstore_clean DOMID [UUID]: nothing of the domain is left in xenstore
assert_xenstore_clean() {
	local d=$1 uuid=${2:-} p
	for p in "/local/domain/$d" "/libxl/$d" "/local/domain/0/device-model/$d" \
		"/local/domain/0/backend/vbd/$d" "/local/domain/0/backend/vif/$d" \
		"/local/domain/0/backend/console/$d" ${uuid:+"/vm/$uuid"}; do
		if xenstore-exists "$p" 2>/dev/null; then
			fail "xenstore still has $p: $(xenstore-ls -f "$p" 2>&1 | head -n 5)"
		fi
	done
}

# assert_no_domain DOMID NAME: neither xl nor the backend knows it
assert_no_domain() {
	run xl list "$2"
	assert_failure
	run xen-backend info "$1"
	assert_failure 1
	assert_output --partial "does not exist"
}

# disk_image PATH TEXT: a 16 MiB image whose first bytes are TEXT (16 characters)
disk_image() {
	truncate -s 16M "$1"
	printf '%s' "$2" | dd of="$1" conv=notrunc status=none
}

# ensure_bridge NAME: the bridge guests' VIFs join (the lab has no network of its own)
ensure_bridge() {
	ip link show "$1" >/dev/null 2>&1 || ip link add "$1" type bridge
	ip link set "$1" up
}
