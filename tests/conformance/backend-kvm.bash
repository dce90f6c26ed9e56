# tests/conformance/backend-kvm.bash: the conformance adapter of kvm (see
# helpers.bash): real qemu, the guest of tests/kvm/guest (a Debian kernel and
# a busybox initrd that print the markers), TCG or KVM as the host allows
# (XO_KVM_ACCEL forces one). make check-kvm builds the guest first.
be_setup() {
	export XO_BACKEND=kvm
	command -v "${XO_QEMU_KVM:-qemu-system-x86_64}" >/dev/null || skip "qemu-system-x86_64 is not installed"
	KVM_GUEST=$("$XO_SRC/tests/kvm/guest" path)
	[ -s "$KVM_GUEST/vmlinuz" ] && [ -s "$KVM_GUEST/initrd.gz" ] ||
		skip "the kvm test guest is not built (make check-kvm builds it)"
}

be_teardown() {
	:
}

be_vm() {
	local name=$1 vcpus=${2:-1}
	xo-vm-add --name "$name" --type pv --memory 128M --vcpus "$vcpus" --kernel "$KVM_GUEST/vmlinuz" \
		--ramdisk "$KVM_GUEST/initrd.gz" --cmdline "console=ttyS0 quiet loglevel=1" >/dev/null
	xo-vbd-add "$name" --name xvda --path "$CONF_RW" >/dev/null
	xo-vbd-add "$name" --name xvdb --path "$CONF_RO" --mode ro >/dev/null
	xo-vif-add "$name" --bridge xenbr0 --mac "$CONF_MAC" >/dev/null
}

# the console log keeps every boot of the VM (qemu appends)
be_guest_wait() {
	local vm=$1 marker=$2 count=${3:-1} i
	for i in $(seq 900); do
		[ "$(conf_console "$vm" | grep -c -- "$marker")" -ge "$count" ] && return 0
		sleep 0.2
	done
	fail "vm $vm: no $marker x$count on its console in 180 s: $(conf_console "$vm" | tail -5)"
}

# a command on the guest's serial line, through xo-vm-console (qemu reads a pty
# once it sees it open: within a second)
be_guest_do() {
	local vm=$1
	shift
	{ printf '%s\n' "$*"; sleep 0.3; } | timeout 1 xo-vm-console "$vm" >/dev/null 2>&1 || true
}

be_can() {
	return 0
}

be_assert_clean() {
	local uuid i
	uuid=$(uuid_of "$1")
	! pgrep -f -- "-uuid $uuid" >/dev/null || fail "a qemu of vm $1 still runs"
	[ -z "$(ls "$XO_STATE_DIR/kvm/" 2>/dev/null | grep -F "$uuid")" ] || fail "qemu files of vm $1 are left"
	for i in /sys/class/net/*/ifalias; do
		! grep -qF "xo:$uuid" "$i" 2>/dev/null || fail "an interface of vm $1 is left: $i"
	done
}
