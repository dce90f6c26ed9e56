#!/usr/bin/env bats
# The whole toolstack on real Xen: xo-vm-add, xo-vbd-add, xo-vif-add, then
# xo-vm-start (hooks, create, build, blkback through the block script and a
# loop device, netback through the vif script on a bridge), unpause, the
# guest's own view of its disk and NIC, clean shutdown, destroy, and the
# repair of a start killed half-way. The hotplug scripts are run by xo itself
# (XO_HOTPLUG=xo, the default): the lab's dom0 has no udev. One test does
# without them (XO_HOTPLUG=builtin).
# bats file_tags=needs:xen

load helpers

setup() { xen_setup; }
teardown() { xen_teardown; }

BRIDGE=xobr0
DISK_TEXT=XO-PIPELINE-DISK     # 16 characters: the guest compares its xvda with xo.expect

# add_guest NAME TYPE: a VM with a 16 MiB disk (image $BATS_TEST_TMPDIR/NAME.img) and a NIC
add_guest() {
	local name=$1 type=$2 img="$BATS_TEST_TMPDIR/$1.img"
	ensure_bridge "$BRIDGE"
	disk_image "$img" "$DISK_TEXT"
	run xo-vm-add --name "$name" --type "$type" --memory 128M --vcpus 1 \
		--kernel "$GUEST_KERNEL" --ramdisk "$GUEST_INITRD" \
		--cmdline "$GUEST_CMDLINE xo.expect=$DISK_TEXT"
	assert_success
	run xo-vbd-add "$name" --path "$img"
	assert_success
	assert_output xvda
	run xo-vif-add "$name" --bridge "$BRIDGE" --mac 00:16:3e:5a:00:01
	assert_success
	assert_output 0
}

# assert_halted_clean NAME DOMID UUID: the VM is Halted and nothing of its domain is left
assert_halted_clean() {
	assert_equal "$(vm_field "$1" power)" Halted
	assert_only_dom0
	assert_xenstore_clean "$2" "$3"
	assert_no_devices "$2" "$BATS_TEST_TMPDIR/$1.img"
}

# start_and_check NAME: xo-vm-start, unpause, the guest sees its disk and NIC; sets DOMID,
# UUID and CONSOLE_FROM (boot_guest: a triple fault before the guest's first marker is
# retried once, after xo-vm-destroy)
start_and_check() {
	local name=$1
	START_NAME=$name
	boot_guest "$name" "$(xo-vm-show "$name" | awk '$1 == "type" { print $2 }')" \
		start_unpaused destroy_started
	run console_text "$name" "$CONSOLE_FROM"
	assert_line --partial XO-GUEST-UP
	assert_line --regexp "^XO-GUEST-XVDA-OK size=32768 first16=[0-9a-f]{32} match=yes$"
	assert_line "XO-GUEST-ETH0-OK mac=00:16:3e:5a:00:01"
	assert_line --regexp "^XO-GUEST-READY cpus=1 "
	# both ends connected (XenbusStateConnected = 4): the guest read its disk, so blkback
	# is; netfront makes eth0 before it connects
	assert_equal "$(xenstore-read "/local/domain/0/backend/vbd/$DOMID/51712/state")" 4
	wait_xs "/local/domain/0/backend/vif/$DOMID/0/state" 4
}

# start_unpaused: boot_guest's START for start_and_check: xo-vm-start of $START_NAME, the
# domain and its real devices checked while paused, then xo-vm-unpause; sets DOMID and UUID
start_unpaused() {
	local name=$START_NAME
	run xo-vm-start "$name"
	assert_success
	assert_equal "$(vm_field "$name" power)" Paused
	DOMID=$(vm_field "$name" domid)
	UUID=$(xo-vm-list | awk -v n="$name" '$2 == n { print $1 }')
	[ -n "$DOMID" ] && [ "$DOMID" -gt 0 ]
	# xl sees the domain under the VM's name, paused
	run xl list "$name"
	assert_success
	assert_line --regexp "^$name +$DOMID +[0-9]+ +1 +--p--- "
	# the real devices: a loop device behind blkback, netback's vif on the bridge
	run xenstore-read "/local/domain/0/backend/vbd/$DOMID/51712/physical-device-path"
	assert_success
	assert_output --regexp '^/dev/loop[0-9]+$'
	run losetup -j "$BATS_TEST_TMPDIR/$name.img"
	assert_output --partial "$(xenstore-read "/local/domain/0/backend/vbd/$DOMID/51712/physical-device-path")"
	assert_equal "$(xenstore-read "/local/domain/0/backend/vbd/$DOMID/51712/hotplug-status")" connected
	assert_equal "$(xenstore-read "/local/domain/0/backend/vif/$DOMID/0/hotplug-status")" connected
	run ip -o link show "vif$DOMID.0"
	assert_success
	assert_output --partial "master $BRIDGE"
	run xenstore-exists "/local/domain/$DOMID/action-request"
	assert_failure
	run xo-vm-unpause "$name"
	assert_success
	assert_equal "$(vm_field "$name" power)" Running
}

# destroy_started: boot_guest's STOP for start_and_check: the faulted guest's domain and
# devices go, the VM is Halted and can start again
destroy_started() {
	run xo-vm-destroy "$START_NAME"
	assert_success
	assert_halted_clean "$START_NAME" "$DOMID" "$UUID"
}

# pipeline TYPE: start, run, clean shutdown through control/shutdown
pipeline() {
	local name="$GUEST-$1"
	add_guest "$name" "$1"
	start_and_check "$name"
	# xo-vm-console --log: xenconsoled's log of the guest, the same bytes
	run xo-vm-console --log "$name"
	assert_success
	assert_output --partial XO-GUEST-UP
	assert_output --partial "XO-GUEST-ETH0-OK mac=00:16:3e:5a:00:01"
	assert_equal "$output" "$(cat "$(console_log "$name")")"
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	run console_text "$name" "$CONSOLE_FROM"
	assert_line XO-GUEST-POWEROFF
	assert_halted_clean "$name" "$DOMID" "$UUID"
}

@test "xo-vm-start runs a PV guest that sees its disk and NIC; xo-vm-shutdown powers it off cleanly" {
	pipeline pv
}

@test "xo-vm-start runs a PVH guest that sees its disk and NIC; xo-vm-shutdown powers it off cleanly" {
	pipeline pvh
}

@test "XO_HOTPLUG=builtin: blkback and netback get what the scripts give, without the scripts" {
	# xo's scripts behind wrappers that note every run: the builtin takes their place
	local dir="$BATS_TEST_TMPDIR/scripts" s
	mkdir -p "$dir"
	for s in block vif; do
		printf '#!/bin/sh\necho "%s $*" >> "%s/ran.log"\nexec "%s/%s" "$@"\n' \
			"$s" "$BATS_TEST_TMPDIR" "$XO_SRC/share/udev" "$s" > "$dir/$s"
		chmod +x "$dir/$s"
	done
	export XO_SCRIPT_DIR="$dir" XO_HOTPLUG=builtin
	pipeline pv
	[ ! -e "$BATS_TEST_TMPDIR/ran.log" ] || fail "a script ran: $(cat "$BATS_TEST_TMPDIR/ran.log")"
	run cat "$XO_STATE_DIR/VM/$UUID/hotplug.log"
	assert_line --regexp "^block add backend/vbd/$DOMID/51712: attached .* as /dev/loop[0-9]+ "
	assert_line --regexp "^vif online backend/vif/$DOMID/0: vif$DOMID.0 on $BRIDGE, mtu 1500"
	assert_line --regexp "^block remove backend/vbd/$DOMID/51712: detached /dev/loop[0-9]+$"
}

@test "xo-vm-destroy of a running guest releases its domain, disk and NIC" {
	local name="$GUEST-d"
	add_guest "$name" pv
	start_and_check "$name"
	run xo-vm-destroy "$name"
	assert_success
	run console_text "$name" "$CONSOLE_FROM"
	refute_line XO-GUEST-POWEROFF
	assert_halted_clean "$name" "$DOMID" "$UUID"
	# and it starts again from there
	start_and_check "$name"
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	assert_halted_clean "$name" "$DOMID" "$UUID"
}

# crash_and_repair NAME ATOM MODE REPAIR: xo-vm-start killed at ATOM, then REPAIR
# (check-state: the VM ends Halted with nothing left; start: the next start works)
crash_and_repair() {
	local name=$1 atom=$2 mode=$3 repair=$4 d
	XO_FAULT="$atom:$mode" run xo-vm-start "$name"
	assert_failure
	assert_output --partial "worker"
	# the half-made domain is there, under the VM's name (the create ran)
	d=$(xl list | awk -v n="$name" '$1 == n { print $2 }')
	case $repair in
	check-state)
		run xo-vm-check-state "$name"
		assert_success
		[ -z "$d" ] || assert_halted_clean "$name" "$d" "$(xo-vm-list | awk -v n="$name" '$2 == n { print $1 }')"
		assert_equal "$(vm_field "$name" power)" Halted
		assert_only_dom0
		run losetup -j "$BATS_TEST_TMPDIR/$name.img"
		assert_output ""
		;;
	start)
		start_and_check "$name"
		[ -z "$d" ] || [ "$d" = "$DOMID" ] || assert_xenstore_clean "$d"
		run xo-vm-destroy "$name"
		assert_success
		assert_halted_clean "$name" "$DOMID" "$UUID"
		;;
	esac
}

@test "a start killed after its disk is plugged is repaired by xo-vm-check-state" {
	local name="$GUEST-c"
	add_guest "$name" pv
	run xo-vm-start --plan "$name"
	assert_line "xo-vbd-plug $name xvda"
	assert_line "xo-vif-plug $name 0"
	crash_and_repair "$name" "VIF_plug 0" crash check-state
}

@test "a start killed in the build, or right after the NIC is plugged, is repaired by the next start" {
	local name="$GUEST-s"
	add_guest "$name" pv
	crash_and_repair "$name" VM_build crash start
	crash_and_repair "$name" "VIF_plug 0" crash-after start
}

@test "xo-vm-console attaches to the guest's pty: ^] detaches, the output flows until the domain goes" {
	local name="$GUEST-con" out="$BATS_TEST_TMPDIR/console.out" tty pid i
	add_guest "$name" pv
	run xo-vm-console "$name" </dev/null
	assert_failure 1
	assert_output "xo-vm-console: fatal: unable to attach to the console of vm $name: vm $name is halted (it has no console)"
	start_and_check "$name"
	tty=$(xenstore-read "/local/domain/$DOMID/console/tty")
	assert_equal "$(xo-vm-stat --json "$name" | sed -n 's/.*"path": "\(.*\)".*/\1/p')" "$tty"
	# ^] ends the session at once; the guest runs on
	run timeout 30 xo-vm-console "$name" < <(printf '\035')
	assert_success
	assert_equal "$(vm_field "$name" power)" Running
	# no input (end of file at once): the output is copied until the console closes
	timeout 120 xo-vm-console "$name" </dev/null >"$out" 2>&1 3>&- &
	pid=$!
	wait_attached "$pid" "$tty" xo-vm-console
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	wait "$pid"     # (not through run: a subshell cannot wait for it)
	run tr -d '\r' <"$out"
	assert_line XO-GUEST-POWEROFF
	refute_output --partial XO-GUEST-READY     # from before it attached
	assert_halted_clean "$name" "$DOMID" "$UUID"
	# the log stays after the domain is gone
	run xo-vm-console --log "$name"
	assert_success
	assert_output --partial XO-GUEST-POWEROFF
}

@test "an HVM guest: xo-vm-start runs xo-qemu-start, hvmloader boots under qemu, xo-vm-destroy stops both" {
	local name="$GUEST-hvm" pid i
	run xo-vm-add --name "$name" --type hvm --memory 64M --vcpus 1
	assert_success
	run xo-vm-start --plan "$name"
	assert_line "xo-qemu-start $name"
	run xo-vm-start "$name"
	assert_success
	assert_equal "$(vm_field "$name" power)" Paused
	DOMID=$(vm_field "$name" domid)
	UUID=$(xo-vm-list | awk -v n="$name" '$2 == n { print $1 }')
	assert_equal "$(xenstore-read "/local/domain/0/device-model/$DOMID/state")" running
	pid=$(xenstore-read "/local/domain/$DOMID/qemu-pid")
	run cat "/proc/$pid/cmdline"
	assert_output --partial "-xen-domid"
	run xo-vm-unpause "$name"
	assert_success
	wait_dmesg "$DOMID" "HVM Loader" 90
	run xl dmesg
	assert_line --partial "(d$DOMID) HVM Loader"
	run xo-vm-destroy "$name"
	assert_success
	run kill -0 "$pid"
	assert_failure
	assert_equal "$(vm_field "$name" power)" Halted
	assert_only_dom0
	assert_xenstore_clean "$DOMID" "$UUID"
}

@test "qemu killed under a running HVM guest: xo-watchd notices, the VM crashed and is halted cleanly" {
	local name="$GUEST-qd" pid i watchd
	run xo-vm-add --name "$name" --type hvm --memory 64M --vcpus 1
	assert_success
	# the firmware first (a triple fault of the emulated machine there is retried once),
	# then the watcher, which finds the running VM
	START_NAME=$name
	boot_hvm "$name" start_running destroy_vm
	xo-watchd 2>"$BATS_TEST_TMPDIR/watchd.log" 3>&- &
	watchd=$!
	for i in $(seq 100); do
		grep -q watching "$BATS_TEST_TMPDIR/watchd.log" && break
		sleep 0.1
	done
	UUID=$(xo-vm-list | awk -v n="$name" '$2 == n { print $1 }')
	pid=$(xenstore-read "/local/domain/$DOMID/qemu-pid")
	kill -9 "$pid"
	for i in $(seq 240); do
		[ "$(vm_field "$name" power)" = Halted ] && break
		sleep 0.5
	done
	kill "$watchd"
	wait "$watchd" || true
	assert_equal "$(vm_field "$name" power)" Halted
	assert_only_dom0
	assert_xenstore_clean "$DOMID" "$UUID"
}
