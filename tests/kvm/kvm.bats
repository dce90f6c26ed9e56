#!/usr/bin/env bats
# What only the kvm backend has: the accelerator, what it refuses, qemu's
# isolation, a qemu killed under its guest, firmware boot, carrier and port
# locking on its taps. Run by make check-kvm, with the conformance suite.
load ../conformance/helpers

setup() {
	XO_CONF_BACKEND=kvm
	. "$BATS_TEST_DIRNAME/../conformance/backend-kvm.bash"
	conf_setup
}
teardown() { conf_teardown; }

qemu_cmdline() {
	local pid
	pid=$(domid_of "$1")
	tr '\0' ' ' <"/proc/$pid/cmdline"
}

@test "XO_KVM_ACCEL forces tcg or kvm; stat and qemu's log say which" {
	be_vm c1
	XO_KVM_ACCEL=tcg xo-vm-start c1
	[ "$(vm_field c1 accel)" = tcg ]
	qemu_cmdline c1 | grep -q "accel=tcg"
	xo-vm-destroy c1
	[ -e /dev/kvm ] || skip "no /dev/kvm"
	# started only, never unpaused: a KVM that makes no progress cannot hang this
	XO_KVM_ACCEL=kvm xo-vm-start c1
	[ "$(vm_field c1 accel)" = kvm ]
	grep -q "with accel kvm" "$XO_STATE_DIR/VM/$(uuid_of c1)/qemu.log"
	xo-vm-destroy c1
	XO_KVM_ACCEL=xen run xo-vm-start c1
	assert_failure
	assert_output --partial "XO_KVM_ACCEL is 'xen': expected kvm, tcg or auto"
	assert_halted_clean c1
}

@test "the probe decides once per boot, bounded, and its verdict is kept" {
	export XO_KVM_RUN_DIR=$BATS_TEST_TMPDIR/run
	be_vm c1
	# a probe that cannot succeed in time: tcg, within the budget
	XO_KVM_PROBE_MS=1 xo-vm-start c1
	[ "$(vm_field c1 accel)" = tcg ]
	read -r id accel why <"$XO_KVM_RUN_DIR/accel"
	[ "$id" = "$(cat /proc/sys/kernel/random/boot_id)" ]
	[ "$accel" = tcg ]
	[ -n "$why" ]
	xo-vm-destroy c1
	# kept: the next start does not probe again (a verdict written by hand stands)
	echo "$id kvm" >"$XO_KVM_RUN_DIR/accel"
	xo-vm-start c1
	[ "$(vm_field c1 accel)" = kvm ]
	xo-vm-destroy c1
	# another boot's verdict is not used
	echo "00000000-0000-0000-0000-000000000000 kvm" >"$XO_KVM_RUN_DIR/accel"
	XO_KVM_PROBE_MS=1 xo-vm-start c1
	[ "$(vm_field c1 accel)" = tcg ]
}

@test "what kvm cannot honour is refused at start: one line, nothing started" {
	be_vm c1
	uuid=$(uuid_of c1)
	check() {
		before=$(state_snapshot)
		run xo-vm-start c1
		assert_failure
		assert_output --partial "$1"
		[ "${#lines[@]}" -eq 1 ]
		[ "$(vm_field c1 power_state)" = Halted ]
		! pgrep -f -- "-uuid $uuid" >/dev/null
		[ ! -e "$XO_STATE_DIR/VM/$uuid/extra" ]
	}
	xo-vif-remove c1 0
	xo-vif-add c1 --bridge xenbr0 --rate 1000 >/dev/null
	check "vif 0: rate limits are netback's"
	xo-vif-remove c1 0
	xo-vbd-add c1 --name fda --type floppy --path "$CONF_RO" --mode ro >/dev/null
	check "vbd fda: kvm vms have no floppy drives"
	xo-vbd-remove c1 fda
	xo-vm-add --name c2 --type hvm --memory 128M --platform firmware=coreboot >/dev/null
	run xo-vm-start c2
	assert_failure
	assert_output --partial "platform firmware is 'coreboot': expected bios or uefi"
	xo-vm-add --name c3 --type pv --memory 128M --bootloader /usr/bin/pygrub >/dev/null
	run xo-vm-start c3
	assert_failure
	assert_output --partial "boots its kernel directly, and it has none"
	if [ -z "$(ls /sys/kernel/iommu_groups 2>/dev/null)" ]; then
		xo-pci-add c1 --address 0000:00:01.0 >/dev/null
		check "pci pass-through needs an IOMMU"
	fi
}

@test "the memory ledger: a vm larger than the host's free memory is refused" {
	free_kib=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)
	xo-vm-add --name big --type pv --memory $(((free_kib / 1024 + 1024) / 1024 * 1024 + 1024))M \
		--kernel "$KVM_GUEST/vmlinuz" >/dev/null
	run xo-vm-start big
	assert_failure
	assert_output --partial "not_enough_memory"
	assert_halted_clean big
}

@test "isolation: -sandbox on, no default devices, -name, and its own user" {
	be_vm c1
	xo-vm-start c1
	run qemu_cmdline c1
	assert_output --partial "-sandbox on"
	assert_output --partial "-nodefaults"
	assert_output --partial "-name c1 "
	xo-vm-destroy c1
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	# the disks are handed over as descriptors: qemu opens nothing of them itself
	chmod 600 "$CONF_RW" "$CONF_RO"
	XO_KVM_USER=nobody xo-vm-start c1
	pid=$(domid_of c1)
	[ "$(stat -c %U "/proc/$pid")" = nobody ]
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	conf_console c1 | grep -q "first16=$(hex16 "$CONF_RW_HEAD")"
}

@test "a qemu killed under its guest: check-state halts the vm cleanly" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	kill -9 "$(domid_of c1)"
	eventually sh -c '[ "$(xo-vm-stat --json c1 | python3 -c "import json,sys; print(json.load(sys.stdin)[\"power_state\"])")" = Halted ]'
	run xo-vm-check-state c1
	assert_success
	assert_halted_clean c1
	xo-vm-start c1
}

@test "a qemu killed with the watcher running: halted and clean without anyone asking" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	start_watchd
	tap=$(xo-vif-stat --json c1 0 | json_get device)
	[ -e "/sys/class/net/$tap" ]
	kill -9 "$(domid_of c1)"
	eventually sh -c "[ -z \"\$(ls $XO_STATE_DIR/VM/$(uuid_of c1)/active)\" ]"
	assert_halted_clean c1
	[ ! -e "/sys/class/net/$tap" ]
}

@test "firmware boot: SeaBIOS boots the guest from a disk" {
	[ -s "$KVM_GUEST/bios.img" ] || skip "bios.img is not built (syslinux, mtools, dosfstools)"
	cp "$KVM_GUEST/bios.img" "$BATS_TEST_TMPDIR/boot.img"
	xo-vm-add --name f1 --type hvm --memory 128M --boot-order c >/dev/null
	xo-vbd-add f1 --name xvda --path "$BATS_TEST_TMPDIR/boot.img" >/dev/null
	xo-vbd-add f1 --name xvdb --path "$CONF_RO" --mode ro >/dev/null
	xo-vif-add f1 --bridge xenbr0 --mac "$CONF_MAC" >/dev/null
	xo-vm-start f1
	xo-vm-unpause f1
	be_guest_wait f1 XO-GUEST-READY
	run conf_console f1
	assert_output --partial "ro=1 size=16384 first16=$(hex16 "$CONF_RO_HEAD")"
	assert_output --partial "XO-GUEST-NIC eth0 mac=$CONF_MAC"
	run xo-vm-shutdown f1
	assert_success
	assert_halted_clean f1
}

@test "carrier and locking act on the guest's nic and its tap" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	xo-vif-set-carrier c1 0 off
	be_guest_do c1 scan k1
	be_guest_wait c1 XO-GUEST-SCAN-k1-END
	scan_lines c1 k1 | grep -q "mac=$CONF_MAC carrier=0"
	xo-vif-set-carrier c1 0 on
	be_guest_do c1 scan k2
	be_guest_wait c1 XO-GUEST-SCAN-k2-END
	scan_lines c1 k2 | grep -q "mac=$CONF_MAC carrier=1"
	command -v nft >/dev/null || skip "no nft"
	tap=$(xo-vif-stat --json c1 0 | json_get device)
	xo-vif-set-locking c1 0 locked --allow 10.0.0.5
	run nft list table netdev "xo-$tap"
	assert_success
	assert_output --partial "ip saddr 10.0.0.5 accept"
	xo-vif-set-locking c1 0 unlocked
	run nft list table netdev "xo-$tap"
	assert_failure
}
