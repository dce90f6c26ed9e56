# tests/conformance/helpers.bash: the lifecycle cases, once for every backend.
#
# The cases (tests/conformance/*.bats) run on the backend XO_CONF_BACKEND names
# (default sim): `make check` runs them on the simulator, `make check-kvm` on
# kvm with real guests, the lab on xen, libxl and libvirt. What differs between
# backends is in one small adapter, tests/conformance/backend-<name>.bash,
# which defines:
#
#   be_setup               the environment of one test (XO_BACKEND and the
#                          like); `skip "why"` when the backend cannot run here
#   be_teardown            what a test may have left (VMs are destroyed first)
#   be_vm NAME [VCPUS]     add a VM of that backend that boots a guest, with
#                          VBD xvda (rw, $CONF_RW), VBD xvdb (ro, $CONF_RO) and
#                          VIF 0 (MAC $CONF_MAC on bridge xenbr0)
#   be_disk NAME PATH      add a VBD named NAME on PATH to the VM ...
#   be_guest_wait VM MARKER [COUNT]
#                          wait (bounded) until the VM's guest has printed
#                          MARKER (a regexp) COUNT times (default 1) on its
#                          console, over all its boots; fail when it does not
#   be_guest_do VM ACTION  the guest does it itself: poweroff, reboot, panic,
#                          or "scan TAG" (prints its devices again between
#                          XO-GUEST-SCAN-TAG-BEGIN and -END)
#   be_can FEATURE         0 if the backend can, else print why not and
#                          return 1 (the case is skipped with that reason):
#                          guest_devices (the guest reports what it sees); cdrom (cdrom VBDs
#                          and their media); guest_reboot (a guest's own reboot
#                          is seen as one and gets a new instance)
#   be_assert_clean VM     nothing of the VM's instance is left on the host
#
# The guest's markers (tests/kvm/guest has them all): XO-GUEST-UP,
# XO-GUEST-DISK <dev> ro=0|1 size=N first16=<hex>, XO-GUEST-CD <dev>
# first16=<hex>|none, XO-GUEST-NIC <dev> mac=<mac>, XO-GUEST-READY cpus=N,
# XO-GUEST-POWEROFF, XO-GUEST-REBOOT, XO-GUEST-PANIC. A backend whose guests
# print only some (the simulator's print UP and READY) says so in be_can.
load ../helpers

: "${XO_CONF_BACKEND:=sim}"
# shellcheck source=/dev/null
. "${BASH_SOURCE[0]%/*}/backend-$XO_CONF_BACKEND.bash"

CONF_MAC=00:16:3e:5a:00:01
CONF_RW_HEAD=XO-CONF-DISK-RW:
CONF_RO_HEAD=XO-CONF-DISK-RO:
CONF_CD_HEAD=XO-CONF-CDROM-1:
# the bound of a clean shutdown in the cases (xo-vm-shutdown --timeout): a guest that has
# printed READY powers off in seconds, one that never does fails its case in a minute, not
# in xo's default 20 minutes
CONF_SHUTDOWN_TIMEOUT=60

# the hex of 16 bytes of text, as the guest prints them
hex16() {
	printf '%s' "$1" | od -An -tx1 -N16 | tr -d ' \n'
}

conf_setup() {
	xo_setup
	unset XO_REBOOT_DELAY
	export XO_REBOOT_DELAY=0
	CONF_RW=$BATS_TEST_TMPDIR/rw.img
	CONF_RO=$BATS_TEST_TMPDIR/ro.img
	printf '%s' "$CONF_RW_HEAD" >"$CONF_RW"
	truncate -s 8M "$CONF_RW"
	printf '%s' "$CONF_RO_HEAD" >"$CONF_RO"
	truncate -s 8M "$CONF_RO"
	bridge xenbr0
	be_setup
}

conf_teardown() {
	local vm
	for vm in $(xo-vm-list --json 2>/dev/null |
		python3 -c 'import json,sys; [print(v["uuid"]) for v in json.load(sys.stdin)]' 2>/dev/null); do
		timeout 60 xo-vm-destroy "$vm" >/dev/null 2>&1 || true
	done
	pkill -F "$BATS_TEST_TMPDIR/watchd.pid" 2>/dev/null || true
	be_teardown
	xo_teardown
}

# the guest's console, as xo-vm-console --log shows it
conf_console() {
	xo-vm-console --log "$1" 2>/dev/null || true
}

# skip the case unless the backend can
need() {
	local why
	why=$(be_can "$1") || skip "$XO_CONF_BACKEND: $why"
}

# the VM is halted and nothing of its instance is left
assert_halted_clean() {
	local name=$1 uuid
	uuid=$(uuid_of "$name")
	[ "$(vm_field "$name" power_state)" = Halted ] || fail "vm $name is $(vm_field "$name" power_state)"
	[ ! -e "$XO_STATE_DIR/VM/$uuid/extra" ] || fail "vm $name still has a runtime record"
	[ ! -e "$XO_STATE_DIR/host/reservations/$uuid" ] || fail "vm $name still holds a memory reservation"
	[ -z "$(ls "$XO_STATE_DIR/VM/$uuid/res" 2>/dev/null)" ] ||
		fail "vm $name still has host resources: $(ls "$XO_STATE_DIR/VM/$uuid/res")"
	[ -z "$(ls "$XO_STATE_DIR/VM/$uuid/queue" 2>/dev/null)" ] || fail "queue of vm $name not empty"
	be_assert_clean "$name"
}

# wait (bounded, 180 s) until the VM's console log, which keeps every boot, shows MARKER
# COUNT times: the be_guest_wait of a backend whose guest is tests/kvm/guest
console_wait() {
	local vm=$1 marker=$2 count=${3:-1} i
	for i in $(seq 900); do
		[ "$(conf_console "$vm" | grep -c -- "$marker")" -ge "$count" ] && return 0
		sleep 0.2
	done
	fail "vm $vm: no $marker x$count on its console in 180 s: $(conf_console "$vm" | tail -5)"
}

# a command on the guest's serial line, through xo-vm-console; done when the guest has
# acknowledged it (XO-GUEST-ACK, counted over all its boots), at most 60 s. The console
# stays attached until then: a pty's reader (qemu, under libvirt too) looks for its other
# end only now and then, and a line written by a console that left at once may wait in
# the pty unread. The be_guest_do of a backend whose guest is tests/kvm/guest.
console_do() {
	local vm=$1 n i pid
	shift
	n=$(conf_console "$vm" | grep -cF "XO-GUEST-ACK $*" || true)
	printf '%s\n' "$*" | xo-vm-console "$vm" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 300); do
		[ "$(conf_console "$vm" | grep -cF "XO-GUEST-ACK $*")" -gt "$n" ] && break
		sleep 0.2
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ "$(conf_console "$vm" | grep -cF "XO-GUEST-ACK $*")" -gt "$n" ] ||
		fail "vm $vm: the guest did not acknowledge '$*' in 60 s: $(conf_console "$vm" | tail -3)"
}

# a guest line of the last scan TAG: scan_lines VM TAG
scan_lines() {
	conf_console "$1" | sed -n "/XO-GUEST-SCAN-$2-BEGIN/,/XO-GUEST-SCAN-$2-END/p"
}

# scan until the guest sees every pattern (a grep regexp) in one scan, at most 30 scans a
# second apart: a device plugged in shows in the guest once it has handled the event of
# its bus (ACPI on kvm). scan_until VM TAG PATTERN...; the scans are TAG_1_, TAG_2_...
scan_until() {
	local vm=$1 tag=$2 i p seen
	shift 2
	for i in $(seq 30); do
		be_guest_do "$vm" scan "${tag}_${i}_"
		be_guest_wait "$vm" "XO-GUEST-SCAN-${tag}_${i}_-END"
		seen=1
		for p in "$@"; do
			scan_lines "$vm" "${tag}_${i}_" | grep -q -- "$p" || seen=0
		done
		[ "$seen" = 1 ] && return 0
		sleep 1
	done
	fail "vm $vm: 30 scans in, the guest does not see $*: $(scan_lines "$vm" "${tag}_30_")"
}

# start the watcher for this test's state directory
start_watchd() {
	xo-watchd 3>&- >"$BATS_TEST_TMPDIR/watchd.log" 2>&1 &
	echo $! >"$BATS_TEST_TMPDIR/watchd.pid"
	local i
	for i in $(seq 100); do
		grep -q "watching" "$BATS_TEST_TMPDIR/watchd.log" && return 0
		sleep 0.05
	done
	fail "xo-watchd did not start: $(cat "$BATS_TEST_TMPDIR/watchd.log")"
}

# wait (bounded, 120 s) until a command succeeds: eventually CMD...
eventually() {
	local i
	for i in $(seq 600); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "never true: $*"
}
