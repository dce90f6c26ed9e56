# tests/libvirt/libvirt-helpers.bash: the libvirt backend against this machine's
# qemu:///system, with a real guest (make-guest). tests/libvirt/check-libvirt (make
# check-libvirt) makes the guest and runs libvirtd in the run's own network namespace
# (CI starts no service; the bridges a test makes must be libvirtd's too). The guest
# runs as the backend decides (the kvm probe's verdict: TCG where KVM makes no progress,
# as nested KVM on some hosts) unless XO_LIBVIRT_ACCEL says otherwise.
load ../helpers

: "${XO_GUEST_DIR:=/var/tmp/xo-guest-libvirt}"
LV_URI=qemu:///system

lv_setup_file() {
	[ "$(id -u)" = 0 ] || { echo "the libvirt suite runs as root" >&2; return 1; }
	# tests/libvirt/check-libvirt (make check-libvirt) made the guest and started libvirtd
	# in this run's network namespace
	[ -s "$XO_GUEST_DIR/vmlinuz" ] && [ -s "$XO_GUEST_DIR/initrd" ] ||
		{ echo "the test guest is missing: run make check-libvirt" >&2; return 1; }
	virsh -c "$LV_URI" version >/dev/null 2>&1 ||
		{ echo "libvirt does not answer at $LV_URI: run make check-libvirt" >&2; return 1; }
}

lv_teardown_file() {
	:
}

lv_setup() {
	xo_setup
	export XO_BACKEND=libvirt XO_LIBVIRT_URI=$LV_URI
	export XO_REBOOT_DELAY=0
	# libvirt's qemu (libvirt-qemu) reads the disks: a directory it can traverse
	LV_DIR=$(mktemp -d /var/tmp/xo-lv.XXXXXX)
	chmod 755 "$LV_DIR" "$XO_STATE_DIR" 2>/dev/null || true
	bridge xobr0
}

lv_teardown() {
	local vm
	for vm in $(xo-vm-list --json 2>/dev/null |
		python3 -c 'import json,sys; [print(v["uuid"]) for v in json.load(sys.stdin)]' 2>/dev/null); do
		timeout 60 xo-vm-destroy "$vm" >/dev/null 2>&1 || true
		virsh -c "$LV_URI" destroy "$vm" >/dev/null 2>&1 || true
		virsh -c "$LV_URI" undefine "$vm" >/dev/null 2>&1 || true
	done
	[ -n "${watchd:-}" ] && kill "$watchd" 2>/dev/null
	rm -rf "$LV_DIR"
	xo_teardown
}

# a VM of the test guest with a disk and a nic: lv_vm NAME [first word of its disk]
lv_vm() {
	local name=$1
	truncate -s 16M "$LV_DIR/$name.img"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | dd of="$LV_DIR/$name.img" conv=notrunc status=none
	xo-vm-add --name "$name" --type pv --memory 256M --kernel "$XO_GUEST_DIR/vmlinuz" \
		--ramdisk "$XO_GUEST_DIR/initrd" --cmdline "console=ttyS0" >/dev/null
	xo-vbd-add "$name" --path "$LV_DIR/$name.img" >/dev/null
	xo-vif-add "$name" --bridge xobr0 >/dev/null
}

virsh_() {
	virsh -c "$LV_URI" "$@"
}

# the guest's console log
console_of() {
	cat "$XO_STATE_DIR/VM/$(uuid_of "$1")/console.log" 2>/dev/null
}

# wait (up to $2 seconds, default 120: the guest boots under emulation) until the guest
# of VM $1 has written $3 on its console (the count $4 times, default 1)
wait_console() {
	local n=${4:-1}
	for _ in $(seq $((${2:-120} * 10))); do
		[ "$(console_of "$1" | grep -c -- "$3")" -ge "$n" ] && return 0
		sleep 0.1
	done
	echo "guest of $1 never wrote '$3' ($n times); its console:" >&2
	console_of "$1" | tail -20 >&2
	return 1
}

# wait until xo-vm-stat shows the power state $2 (up to $3 seconds)
wait_power() {
	for _ in $(seq $((${3:-120} * 10))); do
		[ "$(vm_field "$1" power_state)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "vm $1 is $(vm_field "$1" power_state), not $2" >&2
	return 1
}

# nothing of the VM is left: halted, no runtime record, no libvirt domain, no tap
assert_lv_clean() {
	local name=$1 uuid
	uuid=$(uuid_of "$name")
	[ "$(vm_field "$name" power_state)" = Halted ] || fail "vm $name is not halted"
	[ ! -e "$XO_STATE_DIR/VM/$uuid/extra" ] || fail "vm $name still has a runtime record"
	! virsh_ dominfo "$uuid" >/dev/null 2>&1 || fail "libvirt still knows vm $name: $(virsh_ list --all)"
	[ -z "$(ls "$XO_STATE_DIR/VM/$uuid/res" 2>/dev/null)" ] || fail "vm $name still holds resources: $(ls "$XO_STATE_DIR/VM/$uuid/res")"
	! ip link show "xo${uuid:0:8}.0" >/dev/null 2>&1 || fail "the tap of vm $name is left"
}
