# tests/conformance/backend-kvm.bash: the conformance adapter of kvm (see
# helpers.bash): real qemu, the guest of tests/kvm/guest (a Debian kernel and
# a busybox initrd that print the markers), TCG or KVM as the host allows
# (XO_KVM_ACCEL forces one). make check-kvm builds the guest first.
be_setup() {
	export XO_BACKEND=kvm
	command -v "${XO_QEMU_KVM:-qemu-system-x86_64}" >/dev/null || skip "qemu-system-x86_64 is not installed"
	KVM_GUEST=$("$XO_SRC/tests/kvm/guest" path)
	[ -s "$KVM_GUEST/vmlinux" ] && [ -s "$KVM_GUEST/initrd.gz" ] && [ -s "$KVM_GUEST/cmdline" ] ||
		skip "the kvm test guest is not built (make check-kvm builds it)"
}

be_teardown() {
	:
}

be_vm() {
	local name=$1 vcpus=${2:-1}
	xo-vm-add --name "$name" --type pv --memory 128M --vcpus "$vcpus" --kernel "$KVM_GUEST/vmlinux" \
		--ramdisk "$KVM_GUEST/initrd.gz" --cmdline "$(cat "$KVM_GUEST/cmdline")" >/dev/null
	xo-vbd-add "$name" --name xvda --path "$CONF_RW" >/dev/null
	xo-vbd-add "$name" --name xvdb --path "$CONF_RO" --mode ro >/dev/null
	xo-vif-add "$name" --bridge xenbr0 --mac "$CONF_MAC" >/dev/null
}

be_guest_wait() {
	console_wait "$@"
}

be_guest_do() {
	console_do "$@"
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
