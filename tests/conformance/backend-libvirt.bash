# tests/conformance/backend-libvirt.bash: the conformance adapter of libvirt (see
# helpers.bash), against this machine's qemu:///system with the guest of tests/kvm/guest.
# make check-libvirt (tests/libvirt/check-libvirt) builds the guest and runs libvirtd in
# the run's own network namespace first. The guest runs as the backend decides (the kvm
# probe's verdict: TCG where KVM makes no progress) unless XO_LIBVIRT_ACCEL says otherwise.
be_setup() {
	export XO_BACKEND=libvirt XO_LIBVIRT_URI=qemu:///system
	virsh -c "$XO_LIBVIRT_URI" version >/dev/null 2>&1 ||
		skip "libvirt does not answer at $XO_LIBVIRT_URI (make check-libvirt starts it)"
	KVM_GUEST=$("$XO_SRC/tests/kvm/guest" path)
	[ -s "$KVM_GUEST/vmlinuz" ] && [ -s "$KVM_GUEST/initrd.gz" ] ||
		skip "the test guest is not built (make check-libvirt builds it)"
	# libvirt's qemu runs as libvirt-qemu: the disks' directories (bats' own temporary
	# ones) must let it through
	local d=$BATS_TEST_TMPDIR
	while [ "$d" != / ] && [ "$d" != . ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
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

be_guest_wait() {
	console_wait "$@"
}

be_guest_do() {
	console_do "$@"
}

be_can() {
	case $1 in
	cdrom) echo "it plugs disks only (a cdrom or floppy is refused at start)"; return 1 ;;
	guest_reboot) echo "libvirt's qemu driver reports a guest's reboot as a poweroff, so the reboot is libvirt's own restart of the same instance"; return 1 ;;
	esac
	return 0
}

be_assert_clean() {
	local uuid i
	uuid=$(uuid_of "$1")
	! virsh -c "$XO_LIBVIRT_URI" dominfo "$uuid" >/dev/null 2>&1 || fail "libvirt still knows vm $1"
	! ip link show "xo${uuid:0:8}.0" >/dev/null 2>&1 || fail "the tap of vm $1 is left"
	for i in /sys/class/net/*/ifalias; do
		! grep -qF "xo:$uuid" "$i" 2>/dev/null || fail "an interface of vm $1 is left: $i"
	done
}
