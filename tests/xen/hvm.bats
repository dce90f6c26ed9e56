#!/usr/bin/env bats
# HVM guests on real Xen (the lab) with emulated devices, as libxl gives them to
# qemu-xen: each VBD of index 0-3 is also an IDE disk or CD drive of qemu's, each VIF
# also an e1000 with the VIF's MAC on a tap (vif<domid>.<devid>-emu) bridged beside
# the PV one, and the boot order picks the drive. The guest is a boot sector
# (tests/xen/hvm-boot.S, built by make check-xen) that prints on the serial port the
# drive the BIOS booted it from (DL: 80 the first disk, e0 a CD) and whether it finds
# an e1000 on PCI; qemu logs the serial port to the VM's serial.log, and the serial
# port is the console stat names and xo-vm-console attaches to.
# bats file_tags=needs:xen

load helpers

BRIDGE=xobr0

setup() {
	xen_setup
	# qemu makes the emulated NICs' taps through /dev/net/tun: a dom0 with systemd has the
	# node from boot (kmod-static-nodes) and the kernel loads tun on its first open; the
	# lab's dom0 has no systemd
	[ -e /dev/net/tun ] || modprobe tun
	[ -s "$XO_SRC/build/xen/hvm-boot.img" ] && [ -s "$XO_SRC/build/xen/hvm-boot.iso" ] ||
		fail "no HVM boot images: make check-xen builds them (build/xen/hvm-boot.*)"
}
teardown() { xen_teardown; }

# serial_wait NAME MARKER: MARKER on the VM's serial port within 180 s
serial_wait() {
	local log i
	log="$XO_STATE_DIR/VM/$(xo-vm-show "$1" | awk '$1 == "uuid" { print $2 }')/serial.log"
	for i in $(seq 900); do
		grep -q "$2" "$log" 2>/dev/null && return 0
		sleep 0.2
	done
	fail "no $2 on the serial port of $1 in 180 s: $(tail -c 300 "$log" 2>&1)"
}

serial_text() {
	tr -d '\r' <"$XO_STATE_DIR/VM/$(xo-vm-show "$1" | awk '$1 == "uuid" { print $2 }')/serial.log"
}

# cd_medium DOMID DRIVE: the file in qemu's drive DRIVE (ide1-cd0...), "none" without a
# disc, from QMP's query-block on the device model's socket
cd_medium() {
	python3 - "$(xenstore-read "/local/domain/0/device-model/$1/qmp-path")" "$2" <<-'PY'
	import json, socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	f = s.makefile("rw")
	def call(cmd):
	    f.write(json.dumps({"execute": cmd}) + "\n")
	    f.flush()
	    while True:
	        m = json.loads(f.readline())
	        if "return" in m or "error" in m:
	            return m
	json.loads(f.readline())  # the greeting
	call("qmp_capabilities")
	for b in call("query-block")["return"]:
	    if b["device"] == sys.argv[2]:
	        print(b["inserted"]["file"] if "inserted" in b else "none")
	PY
}

# qemu_args: the command line of domain DOMID's device model
qemu_args() {
	tr '\0' ' ' <"/proc/$(xenstore-read "/local/domain/$DOMID/qemu-pid")/cmdline"
}

# start_hvm_paused: start $START_NAME, paused; sets DOMID and QEMU_ARGS
start_hvm_paused() {
	run xo-vm-start "$START_NAME"
	assert_success
	DOMID=$(vm_field "$START_NAME" domid)
	QEMU_ARGS=$(qemu_args)
}

# start_hvm: boot_hvm's START for $START_NAME: start_hvm_paused, then unpause
start_hvm() {
	start_hvm_paused
	run xo-vm-unpause "$START_NAME"
	assert_success
}

@test "an HVM guest boots from its emulated disk (boot order c) and finds its emulated NIC" {
	local name="$GUEST-hd" img="$BATS_TEST_TMPDIR/hd.img"
	cp "$XO_SRC/build/xen/hvm-boot.img" "$img"
	ensure_bridge "$BRIDGE"
	run xo-vm-add --name "$name" --type hvm --memory 64M --vcpus 1 --boot-order c
	assert_success
	run xo-vbd-add "$name" --path "$img" --name hda
	assert_success
	run xo-vif-add "$name" --bridge "$BRIDGE" --mac 00:16:3e:5d:00:01
	assert_success
	START_NAME=$name
	boot_hvm "$name" start_hvm destroy_vm
	[[ "$QEMU_ARGS" == *" -drive file=$img,if=ide,index=0,media=disk,format=raw,cache=writeback "* ]] ||
		fail "qemu has no ide disk: $QEMU_ARGS"
	[[ "$QEMU_ARGS" == *" -device e1000,id=nic0,netdev=net0,mac=00:16:3e:5d:00:01 "* ]] ||
		fail "qemu has no e1000: $QEMU_ARGS"
	[[ "$QEMU_ARGS" == *" -boot order=c "* ]] || fail "boot order: $QEMU_ARGS"
	# the screen: qemu's vnc server on a unix socket, which stat lists
	assert_equal "$(vm_field "$name" vnc)" "/run/xen/vnc-$DOMID"
	[ -S "/run/xen/vnc-$DOMID" ]
	run xo-vm-stat --json "$name"
	assert_line --regexp '^ *"protocol": "rfb",$'
	assert_line --regexp '^ *"path": "/run/xen/vnc-'"$DOMID"'",$'
	# the emulated NIC's tap is on the VIF's bridge, beside the PV one
	run ip -o link show "vif$DOMID.0-emu"
	assert_success
	assert_output --partial "master $BRIDGE"
	serial_wait "$name" XO-HVM-READY
	run serial_text "$name"
	assert_line "XO-HVM-BOOT-OK dl=80"
	assert_line XO-HVM-NIC-OK
	run xo-vm-destroy "$name"
	assert_success
	assert_equal "$(vm_field "$name" power)" Halted
	assert_only_dom0
	run ip -o link show "vif$DOMID.0-emu"
	assert_failure
	run losetup -j "$img"
	assert_output ""
}

@test "an HVM guest boots from its emulated CD drive (boot order d), on its serial console; its disc changes" {
	local name="$GUEST-cd" iso="$BATS_TEST_TMPDIR/cd.iso" empty="$BATS_TEST_TMPDIR/empty.img"
	local out="$BATS_TEST_TMPDIR/console.out" tty pid i
	cp "$XO_SRC/build/xen/hvm-boot.iso" "$iso"
	truncate -s 1M "$empty"
	run xo-vm-add --name "$name" --type hvm --memory 64M --vcpus 1 --boot-order dc
	assert_success
	# a blank disk first: the BIOS would not boot it, and the order says the CD first
	run xo-vbd-add "$name" --path "$empty" --name hda
	assert_success
	run xo-vbd-add "$name" --path "$iso" --name hdc --type cdrom
	assert_success
	# the console is the serial port: stat names its pty, and xo-vm-console attached
	# before the unpause sees the whole boot
	start_attached() {
		[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" || true; }
		start_hvm_paused
		tty=$(xenstore-read "/local/domain/$DOMID/serial/0/tty")
		assert_equal "$(vm_field "$name" console)" "$tty"
		timeout 120 xo-vm-console "$name" </dev/null >"$out" 2>&1 3>&- &
		pid=$!
		wait_attached "$pid" "$tty" xo-vm-console
		run xo-vm-unpause "$name"
		assert_success
	}
	START_NAME=$name pid=
	boot_hvm "$name" start_attached destroy_vm
	[[ "$QEMU_ARGS" == *" -drive file=$iso,if=ide,index=2,media=cdrom,format=raw,readonly=on "* ]] ||
		fail "qemu has no ide cd drive: $QEMU_ARGS"
	[[ "$QEMU_ARGS" == *" -net none "* ]] || fail "qemu has a NIC: $QEMU_ARGS"
	serial_wait "$name" XO-HVM-READY
	run serial_text "$name"
	assert_line "XO-HVM-BOOT-OK dl=e0"
	assert_line XO-HVM-NIC-NONE
	for i in $(seq 50); do
		grep -q XO-HVM-READY "$out" && break
		sleep 0.2
	done
	run tr -d '\r' <"$out"
	assert_line "XO-HVM-BOOT-OK dl=e0"
	assert_line XO-HVM-READY
	kill "$pid" 2>/dev/null || true
	wait "$pid" || true
	run xo-vm-console --log "$name"
	assert_success
	assert_output --partial XO-HVM-READY
	# the disc changes in qemu's drive, which stays: ejected, then another inserted
	assert_equal "$(cd_medium "$DOMID" ide1-cd0)" "$iso"
	run xo-vbd-eject "$name" hdc
	assert_success
	assert_equal "$(cd_medium "$DOMID" ide1-cd0)" none
	cp "$iso" "$BATS_TEST_TMPDIR/cd2.iso"
	run xo-vbd-insert "$name" hdc "$BATS_TEST_TMPDIR/cd2.iso"
	assert_success
	assert_equal "$(cd_medium "$DOMID" ide1-cd0)" "$BATS_TEST_TMPDIR/cd2.iso"
	run xo-vm-destroy "$name"
	assert_success
	assert_only_dom0
}
