#!/usr/bin/env bats
# The libvirt backend (backend-libvirt.so) against qemu:///system, with a real guest:
# make check-libvirt. See libvirt-helpers.bash.

load libvirt-helpers

setup_file() { lv_setup_file; }
teardown_file() { lv_teardown_file; }
setup() { lv_setup; }
teardown() { lv_teardown; }

@test "libvirt: the plan has no build and no device model step: libvirt makes both at create" {
	lv_vm web1
	run xo-vm-start --plan web1
	assert_success
	assert_line --index 1 "xo-domain-create web1"
	assert_line --index 2 "# VM_build: the libvirt backend builds the domain in VM_create"
	refute_output --partial xo-domain-build
	refute_output --partial xo-qemu-start
	assert_line "xo-vbd-plug web1 xvda"
	assert_line "xo-vif-plug web1 0"
}

@test "libvirt: a start leaves the domain paused with its disk and nic; the guest sees both" {
	lv_vm web1
	uuid=$(uuid_of web1)
	run xo-vm-start web1
	assert_success
	[ "$(vm_field web1 power_state)" = Paused ]
	# libvirt's own view: the domain is xo's (its name, uuid and metadata)
	run virsh_ list --all
	assert_output --regexp "xo-web1 +paused"
	run virsh_ domuuid xo-web1
	assert_output "$uuid"
	run virsh_ domblklist xo-web1
	assert_output --regexp "vda +$LV_DIR/web1.img"
	run xo-vbd-stat web1 xvda
	assert_output --partial "active plugged"
	# the tap libvirt made is on the bridge, and recorded (res.h)
	run ip link show master xobr0
	assert_output --partial "xo${uuid:0:8}.0"
	[ -e "$XO_STATE_DIR/VM/$uuid/res/netdev.vif.0" ]
	run xo-vm-unpause web1
	assert_success
	mac=$(xo-vif-list --json web1 | json_get 0.mac)
	wait_console web1 120 "XO-GUEST-READY disk=32768 nic=$mac"
	[ "$(vm_field web1 power_state)" = Running ]
	run xo-vm-console --log web1
	assert_output --partial "XO-GUEST-READY"
}

@test "libvirt: a clean shutdown asks the guest and leaves nothing" {
	lv_vm web1
	xo-vm-start web1
	xo-vm-unpause web1
	wait_console web1 120 XO-GUEST-READY
	run xo-vm-shutdown web1
	assert_success
	wait_console web1 5 XO-GUEST-POWEROFF
	assert_lv_clean web1
}

@test "libvirt: a reboot makes a new domain and the guest boots again" {
	lv_vm web1
	xo-vm-start web1
	xo-vm-unpause web1
	wait_console web1 120 XO-GUEST-READY
	before=$(domid_of web1)
	run xo-vm-reboot web1
	assert_success
	[ "$(vm_field web1 power_state)" = Running ]
	[ "$(domid_of web1)" != "$before" ]
	# the console log keeps every boot: the new domain's guest boots again
	wait_console web1 120 XO-GUEST-READY 2
	run xo-vm-destroy web1
	assert_success
	assert_lv_clean web1
}

@test "libvirt: a start killed at any step is repaired by check-state" {
	for step in VM_create:crash-after "VBD_plug:crash" "VBD_plug:crash-after" "VIF_plug:crash" \
		    "VIF_plug:crash-after" "VM_set_domain_action_request:crash"; do
		name=k$RANDOM
		lv_vm "$name"
		run env XO_FAULT="$step" xo-vm-start "$name"
		assert_failure
		# the dead start left a domain (or its records) behind: check-state shuts it down
		run xo-vm-check-state "$name"
		assert_success
		assert_lv_clean "$name"
		run xo-vm-start "$name"
		assert_success
		[ "$(vm_field "$name" power_state)" = Paused ]
		xo-vm-destroy "$name"
		assert_lv_clean "$name"
	done
}

@test "libvirt: a start still marked by its action request is one check-state shuts down" {
	lv_vm web1
	# the start by hand, all but its last micro-op (the one that clears the marker)
	run bash -c 'xo-vm-start --plan web1 | head -n -1 | sh -e'
	assert_success
	run xo-vm-stat --json web1
	assert_output --partial '"action_request": "poweroff"'
	run virsh_ list
	assert_output --partial xo-web1
	# what the last micro-op does: the start is complete, the VM is healthy
	run xo-vm-set-action-request web1 none
	assert_success
	run xo-vm-check-state web1
	assert_success
	[ "$(vm_field web1 power_state)" = Paused ]
	# marked again (as a teardown does first): check-state finishes the job
	xo-vm-set-action-request web1 poweroff
	run xo-vm-check-state web1
	assert_success
	assert_lv_clean web1
}

@test "libvirt: hot plug and unplug of a disk on a running guest" {
	lv_vm web1
	xo-vm-start web1
	xo-vm-unpause web1
	wait_console web1 120 XO-GUEST-READY
	truncate -s 8M "$LV_DIR/data.img"
	xo-vbd-add web1 --path "$LV_DIR/data.img" --name xvdb --mode ro >/dev/null
	run xo-vbd-plug web1 xvdb
	assert_success
	run virsh_ domblklist xo-web1
	assert_output --regexp "vdb +$LV_DIR/data.img"
	run xo-vbd-plug web1 xvdb
	assert_failure
	assert_output --partial "plugged already"
	# the guest (Linux, acpiphp) lets go of it
	run xo-vbd-unplug web1 xvdb
	assert_success
	run virsh_ domblklist xo-web1
	refute_output --partial vdb
	run xo-vbd-stat web1 xvdb
	refute_output --partial " plugged"
}

@test "libvirt: every string reaches libvirt escaped" {
	lv_vm web1
	xo-vm-remove web1 >/dev/null
	xo-vm-add --name web1 --type pv --memory 256M --kernel "$XO_GUEST_DIR/vmlinuz" \
		--ramdisk "$XO_GUEST_DIR/initrd" --cmdline "console=ttyS0 x=<a&b'\"></cmdline><y>" >/dev/null
	run xo-vm-start web1
	assert_success
	run python3 -c 'import sys, xml.dom.minidom as m
d = m.parseString(sys.stdin.read())
print(d.getElementsByTagName("cmdline")[0].firstChild.data)' < <(virsh_ dumpxml xo-web1)
	assert_output "console=ttyS0 x=<a&b'\"></cmdline><y>"
	# and what libvirt made of it reached qemu unchanged
	pid=$(cat /run/libvirt/qemu/xo-web1.pid)
	run grep -Fx -- "console=ttyS0 x=<a&b'\"></cmdline><y>" <(tr '\0' '\n' < "/proc/$pid/cmdline")
	assert_success
}

@test "libvirt: the domain's type is the kvm probe's verdict unless XO_LIBVIRT_ACCEL chooses" {
	unset XO_LIBVIRT_ACCEL
	export XO_KVM_RUN_DIR=$BATS_TEST_TMPDIR/run
	mkdir -p "$XO_KVM_RUN_DIR"
	id=$(cat /proc/sys/kernel/random/boot_id)
	lv_vm web1
	domtype() { virsh_ dumpxml xo-web1 | sed -n "1s/^<domain type='\([a-z]*\)'.*/\1/p"; }
	# a KVM that makes no progress (the probe's tcg): qemu's TCG
	echo "$id tcg a probe guest made no progress in 3000 ms under KVM" >"$XO_KVM_RUN_DIR/accel"
	run xo-vm-start web1
	assert_success
	[ "$(domtype)" = qemu ]
	[ "$(vm_field web1 accel)" = tcg ]
	xo-vm-destroy web1
	# the administrator's choice stands against the verdict
	echo "$id kvm" >"$XO_KVM_RUN_DIR/accel"
	XO_LIBVIRT_ACCEL=qemu run xo-vm-start web1
	assert_success
	[ "$(domtype)" = qemu ]
	xo-vm-destroy web1
	# a working KVM: kvm (started only, never unpaused: a KVM that makes no progress
	# cannot hang this); without /dev/kvm libvirt refuses it and the start falls back
	run xo-vm-start web1
	assert_success
	if [ -e /dev/kvm ]; then
		[ "$(domtype)" = kvm ]
		[ "$(vm_field web1 accel)" = kvm ]
	else
		[ "$(domtype)" = qemu ]
	fi
	xo-vm-destroy web1
	XO_LIBVIRT_ACCEL=tcg run xo-vm-start web1
	assert_failure
	assert_output --partial "XO_LIBVIRT_ACCEL is 'tcg': expected kvm or qemu"
	assert_lv_clean web1
}

@test "libvirt: what libvirt cannot honour is refused at start, and nothing is left" {
	lv_vm web1
	xo-vif-set-locking web1 0 locked --allow 10.0.0.1 >/dev/null 2>&1 ||
		{ xo-vif-remove web1 0 >/dev/null; xo-vif-add web1 --bridge xobr0 --locking locked --allow 10.0.0.1 >/dev/null; }
	run xo-vm-start web1
	assert_failure
	assert_output --partial "cannot honour locking mode locked of vif 0"
	assert_lv_clean web1
}

@test "libvirt: a domain xo did not define is left alone, even with a VM's uuid" {
	lv_vm web1
	uuid=$(uuid_of web1)
	cat > "$LV_DIR/foreign.xml" <<XML
<domain type='qemu'><name>foreign-$uuid</name><uuid>$uuid</uuid><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>
XML
	virsh_ define "$LV_DIR/foreign.xml" >/dev/null
	run xo-vm-start web1
	assert_failure
	assert_output --partial "that xo did not define"
	run xo-vm-destroy web1
	assert_success
	run xo-vm-check-state web1
	assert_success
	run virsh_ domname "$uuid"
	assert_output "foreign-$uuid"
	virsh_ undefine "foreign-$uuid" >/dev/null
}

@test "libvirt: the watcher repairs a guest that crashed, and leaves a guest's reboot to libvirt" {
	lv_vm crash1 crash
	lv_vm boot1 reboot
	xo-watchd 3>&- 2>"$BATS_TEST_TMPDIR/watchd.log" &
	watchd=$!
	xo-vm-start crash1
	xo-vm-start boot1
	xo-vm-unpause crash1
	xo-vm-unpause boot1
	# a panic: libvirt stops the domain as crashed, the watcher applies on_crash (shutdown)
	wait_console crash1 120 XO-GUEST-CRASH
	wait_power crash1 Halted 60
	assert_lv_clean crash1
	# a reboot: libvirt's on_reboot restart, the same domain, the guest boots again
	wait_console boot1 120 XO-GUEST-REBOOT 2
	[ "$(vm_field boot1 power_state)" = Running ]
}
