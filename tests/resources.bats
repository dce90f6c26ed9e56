#!/usr/bin/env bats
# Every host resource a start creates (a loop device, an interface, an nft
# table, a process) is recorded before it exists (lib/res.h), so whatever
# moment a kill -9 lands, check-state (or the next start) finds and releases
# it, and the next start succeeds. Also: stopping a VM always works, with
# the state directory full or its files unreadable.
load helpers
load fails
bats_require_minimum_version 1.5.0

setup() {
	xo_setup
	bridge xenbr0
}
teardown() {
	xo_teardown
	umount "$BATS_TEST_TMPDIR/fs" 2>/dev/null || true
}

# a VM with two disks and two nics, one of them locked (an nft table)
vm2x2() {
	local name=$1
	add_vm "$name" >/dev/null
	disk_image "$BATS_TEST_TMPDIR/$name-a.img"
	disk_image "$BATS_TEST_TMPDIR/$name-b.img"
	xo-vbd-add "$name" --path "$BATS_TEST_TMPDIR/$name-a.img" --name xvda >/dev/null
	xo-vbd-add "$name" --path "$BATS_TEST_TMPDIR/$name-b.img" --name xvdb >/dev/null
	xo-vif-add "$name" --bridge xenbr0 >/dev/null
	xo-vif-add "$name" --bridge xenbr0 --locking-mode locked --allow 10.0.0.9 >/dev/null
}

# the processes of this test's state directory: the xo programs and their workers
xo_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$$" ] && continue
		tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "XO_STATE_DIR=$XO_STATE_DIR" || continue
		case $(cat 2>/dev/null "$p/comm") in
		xo-worker | xo-lockwatch | xo-vm-* | xo-vbd-* | xo-vif-*) echo "${p#/proc/}" ;;
		esac
	done
}

# run a command in the background, kill -9 it and every worker of the state directory
# after a random 0-50 ms
kill_during() {
	"$@" >/dev/null 2>&1 3>&- &
	sleep "0.0$((RANDOM % 50))"
	kill -9 $! $(xo_pids) 2>/dev/null || true
	wait $! 2>/dev/null || true
}

# after a kill: check-state repairs; the VM is halted with nothing left, or intact
repaired() {
	xo-vm-check-state "$1" >/dev/null 2>&1 || xo-vm-check-state "$1" >/dev/null ||
		fail "check-state after the kill failed"
	if [ "$(vm_field "$1" power_state)" = Halted ]; then
		assert_clean_halted "$1"
	else
		assert_intact "$1"
	fi
}

# the kills of each loop: a few here, XO_STRESS_N in make stress
N=${XO_STRESS_N:-8}

kill_loop() {
	local name=$1 n=$2 op=$3 i
	for i in $(seq "$n"); do
		case $op in
		start) kill_during xo-vm-start "$name" ;;
		hotplug)
			[ "$(vm_field "$name" power_state)" != Halted ] || xo-vm-start "$name" >/dev/null
			case $((i % 4)) in
			0) kill_during xo-vbd-unplug "$name" xvdb ;;
			1) kill_during xo-vbd-plug "$name" xvdb ;;
			2) kill_during xo-vif-unplug "$name" 1 ;;
			3) kill_during xo-vif-plug "$name" 1 ;;
			esac ;;
		shutdown)
			[ "$(vm_field "$name" power_state)" != Halted ] || xo-vm-start "$name" >/dev/null
			kill_during xo-vm-shutdown --force "$name" ;;
		reboot)
			[ "$(vm_field "$name" power_state)" != Halted ] || xo-vm-start "$name" >/dev/null
			kill_during xo-vm-reboot --force "$name" ;;
		esac
		repaired "$name"
	done
	echo "# $op: $n kills, every one repaired" >&3
	xo-vm-destroy "$name" >/dev/null
	assert_clean_halted "$name"
	# the next start succeeds
	xo-vm-start "$name" >/dev/null || fail "the start after the kills failed"
	xo-vm-destroy "$name" >/dev/null
	assert_clean_halted "$name"
}

@test "kill -9 during a start, scripts: nothing is left, the next start succeeds" {
	export XO_HOTPLUG=xo
	vm2x2 web1
	kill_loop web1 "$N" start
}

@test "kill -9 during a start, builtin hotplug (the default): nothing is left, the next start succeeds" {
	vm2x2 web1
	kill_loop web1 "$N" start
}

@test "kill -9 during a shutdown, a reboot and hot plug/unplug, scripts: nothing is left" {
	export XO_HOTPLUG=xo
	vm2x2 web1
	kill_loop web1 "$N" shutdown
	kill_loop web1 "$N" reboot
	kill_loop web1 "$N" hotplug
}

@test "kill -9 during a shutdown, a reboot and hot plug/unplug, builtin (the default): nothing is left" {
	vm2x2 web1
	kill_loop web1 "$N" shutdown
	kill_loop web1 "$N" reboot
	kill_loop web1 "$N" hotplug
}

@test "a block script killed after its losetup: the repair stops what it started and detaches the loop" {
	local scripts="$BATS_TEST_TMPDIR/scripts" img="$BATS_TEST_TMPDIR/web1-a.img" i
	mkdir "$scripts"
	cp "$XO_SRC/share/udev/vif" "$XO_SRC/share/udev/xo-hotplug-common.sh" "$scripts/"
	# a block script that attaches the file, then takes its time before it says so
	cat >"$scripts/block" <<'SCRIPT'
#!/bin/sh
[ "$1" = add ] || exec "$XO_REAL_BLOCK" "$@"
params=$(xenstore-read "/local/domain/0/$XENBUS_PATH/params")
losetup --find --show "$params" >"$XO_MARK"
sleep 60
exec "$XO_REAL_BLOCK" "$@"
SCRIPT
	chmod +x "$scripts/block"
	export XO_HOTPLUG=xo XO_SCRIPT_DIR="$scripts" XO_REAL_BLOCK="$XO_SRC/share/udev/block" XO_MARK="$BATS_TEST_TMPDIR/attached"
	add_vm web1 >/dev/null
	disk_image "$img"
	xo-vbd-add web1 --path "$img" >/dev/null
	xo-vm-start web1 >/dev/null 2>&1 3>&- &
	for i in $(seq 200); do
		[ -s "$XO_MARK" ] && break
		sleep 0.05
	done
	[ -s "$XO_MARK" ] || fail "the block script did not attach the file"
	# the client, its worker and its lock watcher: nothing repairs until check-state
	kill -9 $! $(xo_pids)
	wait $! 2>/dev/null || true
	[ -n "$(losetup -j "$img")" ] || fail "no loop device on the file after the kill"
	pgrep -fx "sleep 60" >/dev/null || fail "the block script's sleep is not running"
	# the script's sleep still runs, holding its record: the repair stops it first
	run xo-vm-check-state web1
	assert_success
	no_loops_on "$img" || fail "the loop device is left: $(losetup -j "$img")"
	assert_clean_halted web1
	! pgrep -fx "sleep 60" >/dev/null || fail "the block script's sleep outlived the repair"
	export XO_SCRIPT_DIR="$XO_SRC/share/udev"
	run xo-vm-start web1
	assert_success
}

@test "xo-simd killed during a start: check-state releases the loop devices and interfaces" {
	local uuid
	vm2x2 web1
	uuid=$(uuid_of web1)
	for i in $(seq "${XO_STRESS_SIMD_N:-3}"); do
		xo-vm-start web1 >/dev/null 2>&1 3>&- &
		sleep "0.0$((RANDOM % 50))"
		kill -9 "$(cat "$XO_STATE_DIR/sim/lock" 2>/dev/null)" 2>/dev/null || true
		kill -9 $! $(xo_pids) 2>/dev/null || true
		wait $! 2>/dev/null || true
		repaired web1
		xo-vm-destroy web1 >/dev/null
		assert_clean_halted web1
	done
	echo "# xo-simd: $i kills, every one repaired" >&3
	run xo-vm-start web1
	assert_success
}

@test "a full state directory: destroy, a forced shutdown, check-state and unplugs still stop the VM" {
	local FS="$BATS_TEST_TMPDIR/fs"
	mkdir "$FS"
	mount -t tmpfs -o size=512k tmpfs "$FS"
	export XO_STATE_DIR="$FS/state"
	vm2x2 web1
	for how in destroy force check unplug; do
		xo-vm-start web1 >/dev/null
		dd if=/dev/zero of="$FS/filler" bs=4k 2>/dev/null || true
		case $how in
		destroy) run xo-vm-destroy web1 ;;
		force) run xo-vm-shutdown --force web1 ;;
		check)
			# a start that never finished, found with the disk full
			xo-vm-set-action-request web1 poweroff 2>/dev/null ||
				{ rm "$FS/filler"; xo-vm-set-action-request web1 poweroff; dd if=/dev/zero of="$FS/filler" bs=4k 2>/dev/null || true; }
			run xo-vm-check-state web1 ;;
		unplug)
			run xo-vbd-unplug --force web1 xvdb
			assert_success
			no_loops_on "$BATS_TEST_TMPDIR/web1-b.img" || fail "xvdb's loop device is left"
			run xo-domain-destroy web1 ;;
		esac
		assert_success
		assert_output --partial "state directory is full" || true
		rm -f "$FS/filler"
		[ "$(vm_field web1 power_state)" = Halted ] || fail "$how: the vm is not halted"
		xo-vm-destroy web1 >/dev/null
		assert_clean_halted web1
	done
}

@test "a corrupt device file or config: every way of stopping still works; check-state --all reports it" {
	local uuid
	vm2x2 web1
	uuid=$(uuid_of web1)
	cp "$XO_STATE_DIR/VM/$uuid/vbd.xvda" "$BATS_TEST_TMPDIR/vbd.xvda"
	cp "$XO_STATE_DIR/VM/$uuid/config" "$BATS_TEST_TMPDIR/config"
	for how in destroy force domain check; do
		xo-vm-start web1 >/dev/null
		: >"$XO_STATE_DIR/VM/$uuid/vbd.xvda"
		case $how in
		destroy) run xo-vm-destroy web1 ;;
		force) run xo-vm-shutdown --force web1 ;;
		domain) run xo-domain-destroy web1 ;;
		check)
			# a healthy VM with an unreadable device file keeps running: reported
			run xo-vm-check-state --all
			assert_failure
			assert_output --partial "device configuration is unreadable"
			[ "$(vm_field web1 power_state)" = Paused ] || fail "check-state stopped a healthy vm"
			run xo-vm-destroy web1 ;;
		esac
		assert_success
		[ "$(vm_field web1 power_state)" = Halted ] || fail "$how: the vm is not halted"
		no_loops_on "$BATS_TEST_TMPDIR/web1-a.img" || fail "$how: xvda's loop device is left"
		no_loops_on "$BATS_TEST_TMPDIR/web1-b.img" || fail "$how: xvdb's loop device is left"
		cp "$BATS_TEST_TMPDIR/vbd.xvda" "$XO_STATE_DIR/VM/$uuid/vbd.xvda"
		assert_clean_halted web1
	done
	# the config itself unreadable: the uuid still stops it
	xo-vm-start web1 >/dev/null
	echo '{ not json' >"$XO_STATE_DIR/VM/$uuid/config"
	run xo-vm-destroy "$uuid"
	assert_success
	run xo-vm-check-state --all
	assert_failure
	assert_output --partial "$uuid"
	cp "$BATS_TEST_TMPDIR/config" "$XO_STATE_DIR/VM/$uuid/config"
	assert_clean_halted web1
}
