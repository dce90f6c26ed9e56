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
# the test guest's kernel command line: tests/xen/guest-cmdline without its comments
GUEST_CMDLINE=$(awk '!/^#/ && NF { printf "%s%s", s, $0; s = " " }' "$XO_SRC/tests/xen/guest-cmdline")

xen_setup() {
	[ -e /dev/xen/privcmd ] ||
		fail "not in a Xen dom0 (no /dev/xen/privcmd): these tests run through make check-xen"
	export XO_BACKEND=xen
	export XO_STATE_DIR="$BATS_TEST_TMPDIR/state"
	export XO_SCRIPT_DIR="$XO_SRC/share/udev" XO_HOOK_DIR="$BATS_TEST_TMPDIR/hooks"
	unset XO_FAULT XO_HOTPLUG
	GUEST="xo-t${BATS_SUITE_TEST_NUMBER}"
}

xen_teardown() {
	local d vm f keep
	unset XO_FAULT
	# a failed test leaves its VMs' logs (worker, hotplug scripts, qemu) in the lab's run
	# directory: /out/failed/<test number>/
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -d /out ] && [ -d "$XO_STATE_DIR/VM" ]; then
		keep="/out/failed/$BATS_SUITE_TEST_NUMBER"
		mkdir -p "$keep"
		for f in "$XO_STATE_DIR"/VM/*/*log "$XO_STATE_DIR"/tasks/*; do
			[ -f "$f" ] && cp "$f" "$keep/$(basename "$(dirname "$f")")-$(basename "$f")"
		done
		xenstore-ls -f >"$keep/xenstore.txt" 2>&1
		xl list >"$keep/xl-list.txt" 2>&1
	fi
	# xo's VMs first (their devices, loop devices and taps go with them), then stragglers
	if [ -d "$XO_STATE_DIR/VM" ]; then
		for vm in $(xo-vm-list 2>/dev/null | awk '{ print $1 }'); do
			xo-vm-destroy "$vm" >/dev/null 2>&1 || true
		done
	fi
	for d in $(xl list 2>/dev/null | awk -v p="$GUEST" 'NR > 1 && ($1 == p || index($1, p "-") == 1) { print $2 }'); do
		xen-backend destroy "$d" || xl destroy "$d" || true
	done
	for f in "$BATS_TEST_TMPDIR"/*.img; do
		[ -e "$f" ] || continue
		losetup -j "$f" | cut -d: -f1 | xargs -r -n1 losetup -d 2>/dev/null || true
	done
}

# vm_field VM FIELD: a key=value field of `xo-vm-stat VM` (power is the third word)
vm_field() {
	if [ "$2" = power ]; then
		xo-vm-stat "$1" | awk '{ print $3 }'
	else
		xo-vm-stat "$1" | tr ' ' '\n' | awk -F= -v f="$2" '$1 == f { print $2 }'
	fi
}

# assert_only_dom0: xl lists Domain-0 and nothing else
assert_only_dom0() {
	local list
	list=$(xl list) || fail "xl list failed"
	assert_equal "$(echo "$list" | awk 'NR > 1 { print $1 }' | tr '\n' ' ')" "Domain-0 "
}

# assert_no_devices DOMID IMAGE: no backend, loop device or vif of the domain is left
assert_no_devices() {
	local d=$1 img=$2
	run losetup -j "$img"
	assert_output ""
	run ip -o link show "vif$d.0"
	assert_failure
	for k in vbd vif; do
		run xenstore-exists "/local/domain/0/backend/$k/$d"
		assert_failure
	done
}

# xen-backend drives the xen backend only (or the simulator): under XO_BACKEND=libxl or
# libvirt the domains are on the same hypervisor, and the suite inspects them through it
xen-backend() {
	if [ "${XO_BACKEND:-xen}" = sim ]; then
		command xen-backend "$@"
	else
		XO_BACKEND=xen command xen-backend "$@"
	fi
}

# start_guest NAME TYPE [more xen-backend start flags]: prints the domid
start_guest() {
	local name=$1 type=$2
	shift 2
	xen-backend start --name "$name" --type "$type" --kernel "$GUEST_KERNEL" \
		--ramdisk "$GUEST_INITRD" --cmdline "$GUEST_CMDLINE" "$@"
}

console_log() {
	echo "$CONSOLE_DIR/guest-$1.log"
}

# console_size NAME: the bytes of the guest's console log so far (xenconsoled appends
# every boot of a name to the same log: the current boot starts at this offset)
console_size() {
	stat -c %s "$(console_log "$1")" 2>/dev/null || echo 0
}

# console_text NAME [FROM]: the guest's console from byte FROM (default 0), without the
# terminal's carriage returns
console_text() {
	tail -c +$((${2:-0} + 1)) "$(console_log "$1")" | tr -d '\r'
}

# domain_down DOMID: the domain has shut down (or crashed), or is gone
domain_down() {
	local s
	s=$(xen-backend info "$1" 2>/dev/null | tr ' ' '\n' | awk -F= '$1 == "shutdown" { print $2 }')
	[ "$s" != 0 ]
}

# triple_fault DOMID: Xen's log has a triple fault of one of the domain's vcpus ("d12v0
# Triple fault - invoking HVM shutdown action 1"; domids are not reused within a boot)
triple_fault() {
	xl dmesg 2>/dev/null | grep -qE "\(XEN\) (\[[^]]*\] )?d$1v[0-9]+ Triple fault"
}

# console_wait NAME TEXT [SECONDS] [FROM] [DOMID]: wait_console without a word: 0 when the
# console showed TEXT after byte FROM, 1 on a timeout, 2 when domain DOMID went down first
# (then its guest cannot print TEXT any more: waiting on would only time out). The console
# log is followed with tail -F (inotify); the domain through xenstore's @releaseDomain watch,
# which fires when any domain shuts down.
console_wait() {
	local log found=1 line pid
	log=$(console_log "$1")
	coproc TAIL {
		exec timeout "${3:-120}" bash -c '
			tail -c +$(($2 + 1)) -F "$1" 2>/dev/null &
			[ -z "$3" ] || xenstore-watch @releaseDomain 2>/dev/null | sed -u "s/^/XO-WAIT-RELEASE /" &
			wait' wait_console "$log" "${4:-0}" "${5:-}" 3>&-
	}
	pid=$TAIL_PID
	while IFS= read -r line <&"${TAIL[0]}"; do
		case $line in
		"XO-WAIT-RELEASE "*) if [ -n "${5:-}" ] && domain_down "$5"; then found=2; break; fi ;;
		*"$2"*) found=0; break ;;
		esac
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	return $found
}

# console_diag NAME TEXT [DOMID]: why TEXT did not come, as TAP comments: the console's last
# lines and Xen's triple-fault lines, if any
console_diag() {
	echo "# no '$2' on the console of $1${3:+ (domain $3 went down)}: $(tail -n 5 "$(console_log "$1")" 2>/dev/null)" >&3
	# a guest kernel that dies without a word under the emulated cpu: Xen says why
	fault_diag
}

# fault_diag: Xen's last triple-fault lines, if any, as TAP comments
fault_diag() {
	xl dmesg 2>/dev/null | grep -F "Triple fault" | tail -n 2 | sed 's/^/# xen: /' >&3 || true
}

# wait_console NAME TEXT [SECONDS] [FROM] [DOMID]: until the guest's console shows TEXT after
# byte FROM (with DOMID: or that domain went down); says why not on fd 3
wait_console() {
	local rc=0
	console_wait "$@" || rc=$?
	[ $rc -eq 0 ] || console_diag "$1" "$2" "$([ $rc -eq 2 ] && echo "${5:-}")"
	return $rc
}

# boot_guest NAME TYPE START STOP: one boot of a test guest. START (a function) starts NAME
# running and sets DOMID; then the console is awaited until XO-GUEST-READY. Sets CONSOLE_FROM,
# where this boot's output starts in the console log.
#
# The lab runs Xen under QEMU's software emulation, whose nested SVM now and then kills a
# PVH guest in its earliest boot with a triple fault, as often in domains built by xl as in
# xo's (make soak-xen counts them). Such a boot is retried once: only when Xen's log shows the
# triple fault for that very domain and the guest had not printed its first marker
# (XO-GUEST-UP), so that nothing the toolstack did can hide behind it. The retry is a TAP
# comment and a line in $XO_LAB_RETRY_LOG (check-xen counts them); STOP (a function) removes
# the faulted domain first. A second fault, or any other failure, fails the test.
boot_guest() {
	local name=$1 type=$2 start=$3 stop=$4 try rc
	for try in 1 2; do
		CONSOLE_FROM=$(console_size "$name")
		DOMID=
		"$start"
		[ -n "$DOMID" ] || fail "boot_guest: $start did not set DOMID"
		rc=0
		console_wait "$name" XO-GUEST-READY 120 "$CONSOLE_FROM" "$DOMID" || rc=$?
		[ $rc -ne 0 ] || return 0
		if [ $rc -eq 2 ] && ! console_text "$name" "$CONSOLE_FROM" | grep -q XO-GUEST-UP &&
			fault_retry "$try" "$name" "$type" XO-GUEST-UP; then
			"$stop"
			continue
		fi
		console_diag "$name" XO-GUEST-READY "$([ $rc -eq 2 ] && echo "$DOMID")"
		fail "the guest $name (d$DOMID) did not get ready"
		return 1        # (where errexit is off: under run)
	done
}

# fault_retry TRY NAME TYPE MARKER: boot TRY (1 or 2) of NAME went down, in domain DOMID,
# before its first marker MARKER: 0 when Xen logged a triple fault for that domain and TRY is
# 1 (the boot is to be retried), saying so on fd 3 and in $XO_LAB_RETRY_LOG; else 1, saying so
# when it was the second fault
fault_retry() {
	local try=$1 name=$2 type=$3 marker=$4
	triple_fault "$DOMID" || return 1
	if [ "$try" -eq 1 ]; then
		echo "# triple fault in d$DOMID (${type^^}, before $marker): retried once" >&3
		[ -z "${XO_LAB_RETRY_LOG:-}" ] ||
			echo "d$DOMID $type $name $BATS_TEST_NAME" >>"$XO_LAB_RETRY_LOG"
		return 0
	fi
	echo "# triple fault in d$DOMID (${type^^}, before $marker) again: not retried twice" >&3
	return 1
}

# boot_hvm NAME START STOP: one boot of an HVM guest's firmware. START (a function) starts
# NAME running and sets DOMID; then Xen's console (xl dmesg) is awaited until SeaBIOS boots
# from a drive ("Booting from", within 120 s). The emulated machine's triple faults come in
# hvmloader's and SeaBIOS's port I/O, as in a PVH guest's earliest boot, so boot_guest's rule
# holds with that line for the first marker: a boot that Xen ends with a triple fault before
# it is retried once (STOP removes the faulted domain first), said and counted.
boot_hvm() {
	local name=$1 start=$2 stop=$3 try down _
	for try in 1 2; do
		DOMID=
		"$start"
		[ -n "$DOMID" ] || fail "boot_hvm: $start did not set DOMID"
		for _ in $(seq 240); do
			# down is asked first: a guest that boots and powers off between the two
			# looks (the lab's boot sector halts with interrupts off, which Xen makes
			# a poweroff) has its line in Xen's log by then
			down=
			domain_down "$DOMID" && down=1
			xl dmesg | grep -qF "(d$DOMID) Booting from" && return 0
			[ -z "$down" ] || break
			sleep 0.5
		done
		if domain_down "$DOMID" && fault_retry "$try" "$name" hvm "SeaBIOS's boot"; then
			"$stop"
			continue
		fi
		xl dmesg | grep -F "(d$DOMID)" | tail -n 3 | sed 's/^/# xen: /' >&3 || true
		fault_diag
		fail "the firmware of $name (d$DOMID) did not boot from a drive"
		return 1        # (where errexit is off: under run)
	done
}

# start_running, destroy_vm: boot_guest's START and STOP for $START_NAME, by xo alone
# (xo-vm-start and xo-vm-unpause; xo-vm-destroy); start_running sets DOMID
start_running() {
	run xo-vm-start "$START_NAME"
	assert_success
	DOMID=$(vm_field "$START_NAME" domid)
	run xo-vm-unpause "$START_NAME"
	assert_success
}
destroy_vm() {
	run xo-vm-destroy "$START_NAME"
	assert_success
}

# hot_plug NAME PATH MAC: a disk (VBD xvdb on PATH) and a NIC (VIF 1 with MAC, on $BRIDGE)
# added to running VM NAME (domain DOMID) and plugged; the guest's frontends reach Connected
hot_plug() {
	local fe
	run xo-vbd-add "$1" --name xvdb --path "$2"
	assert_success
	run xo-vif-add "$1" --bridge "$BRIDGE" --mac "$3"
	assert_success
	run xo-vbd-plug "$1" xvdb
	assert_success
	run xo-vif-plug "$1" 1
	assert_success
	for fe in vbd/51728 vif/1; do
		frontend_connected "/local/domain/$DOMID/device/$fe/state"
	done
}

# hot_unplug NAME: hot_plug's disk and NIC unplugged; the disk says so
hot_unplug() {
	run xo-vbd-unplug "$1" xvdb
	assert_success
	run xo-vif-unplug "$1" 1
	assert_success
	run xo-vbd-stat --json "$1" xvdb
	assert_output --regexp '"plugged": *false'
}

# wait_attached PID TTY WHO: PID (or its child) opens TTY within 10 s, else the test fails
wait_attached() {
	local _
	for _ in $(seq 100); do
		attached_to "$1" "$2" && return 0
		sleep 0.1
	done
	fail "$3 did not open $2"
}

# attached_to PID TTY: the process or one of its children (PID is timeout's) has TTY open
attached_to() {
	local p f
	for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		for f in /proc/"$p"/fd/*; do
			[ "$(readlink "$f" 2>/dev/null)" = "$2" ] && return 0
		done
	done
	return 1
}

# wait_dmesg DOMID TEXT SECONDS: until Xen's console (xl dmesg) has TEXT from domain DOMID
# (hvmloader and SeaBIOS write there); the caller asserts what it needs afterwards
wait_dmesg() {
	local _
	for _ in $(seq "$3"); do
		xl dmesg | grep -qF "(d$1) $2" && return 0
		sleep 1
	done
}

# wait_xs PATH VALUE [SECONDS]: until xenstore's PATH reads VALUE (a watch, not a poll)
wait_xs() {
	local line pid v
	[ "$(xenstore-read "$1" 2>/dev/null)" = "$2" ] && return 0
	coproc WATCH { exec timeout "${3:-60}" xenstore-watch "$1" 2>/dev/null 3>&-; }
	pid=$WATCH_PID
	while IFS= read -r line <&"${WATCH[0]}"; do
		v=$(xenstore-read "$1" 2>/dev/null) || true
		[ "$v" = "$2" ] && break
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	v=$(xenstore-read "$1" 2>/dev/null) || true
	[ "$v" = "$2" ] || { echo "# $1 is '$v', not '$2'" >&3; return 1; }
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

# frontend_connected PATH: the guest's frontend state at PATH reaches Connected (4) within 60 s
frontend_connected() {
	local _
	for _ in $(seq 300); do
		[ "$(xenstore-read "$1" 2>/dev/null)" = 4 ] && return 0
		sleep 0.2
	done
	fail "$1 is $(xenstore-read "$1" 2>&1), not 4 (Connected), after 60 s"
}

# ensure_bridge NAME: the bridge guests' VIFs join (the lab has no network of its own)
ensure_bridge() {
	ip link show "$1" >/dev/null 2>&1 || ip link add "$1" type bridge
	ip link set "$1" up
}
