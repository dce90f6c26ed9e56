#!/usr/bin/env bats
# pygrub on real Xen (the lab): a PV guest whose kernel is on its own disk. The test
# makes an ext2 disk image with /boot/grub/grub.cfg, the lab's guest kernel and
# initrd; xo-vm-start runs Debian's pygrub on it, boots what grub.cfg names with
# its arguments (the guest compares its disk with an xo.expect only grub.cfg has),
# and removes pygrub's copies; a blank disk fails the start with pygrub's line.
# bats file_tags=needs:xen

load helpers

DISK_TEXT=XO-PYGRUB-DISK-1     # 16 characters, in the ext2 boot block (unused by ext2)

setup() { xen_setup; }
teardown() { xen_teardown; }

# grub_disk PATH: an ext2 image whose grub.cfg boots the lab's guest
grub_disk() {
	local root="$BATS_TEST_TMPDIR/root"
	mkdir -p "$root/boot/grub"
	cp "$GUEST_KERNEL" "$root/boot/vmlinux"
	cp "$GUEST_INITRD" "$root/boot/initrd.gz"
	cat >"$root/boot/grub/grub.cfg" <<-CFG
	set default=0
	set timeout=0
	menuentry 'the lab guest' {
		linux /boot/vmlinux $GUEST_CMDLINE xo.expect=$DISK_TEXT
		initrd /boot/initrd.gz
	}
	CFG
	mke2fs -q -t ext2 -d "$root" "$1" 128M
	printf '%s' "$DISK_TEXT" | dd of="$1" conv=notrunc status=none
	rm -rf "$root"
}

@test "a PV guest boots through pygrub what its disk's grub.cfg names; pygrub's copies go" {
	local name="$GUEST-pg" img="$BATS_TEST_TMPDIR/grub.img" uuid
	grub_disk "$img"
	run xo-vm-add --name "$name" --type pv --memory 128M --vcpus 1 --bootloader pygrub
	assert_success
	run xo-vbd-add "$name" --path "$img" --name xvda
	assert_success
	uuid=$(xo-vm-show "$name" | awk '$1 == "uuid" { print $2 }')
	START_NAME=$name
	boot_guest "$name" pv start_running destroy_vm
	run console_text "$name" "$CONSOLE_FROM"
	assert_line --regexp "^XO-GUEST-XVDA-OK size=262144 first16=[0-9a-f]{32} match=yes$"
	[ ! -e "$XO_STATE_DIR/VM/$uuid/bootloader" ]
	[ ! -e "$XO_STATE_DIR/VM/$uuid/res/proc.bootloader" ]
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	assert_only_dom0
}

@test "pygrub on a disk without a kernel fails the start with its line and leaves nothing" {
	local name="$GUEST-pb" img="$BATS_TEST_TMPDIR/blank.img"
	truncate -s 16M "$img"
	run xo-vm-add --name "$name" --type pv --memory 128M --vcpus 1 --bootloader pygrub
	assert_success
	run xo-vbd-add "$name" --path "$img" --name xvda
	assert_success
	run xo-vm-start "$name"
	assert_failure 1
	assert_output --regexp "bootloader /usr/lib/xen-4.17/bin/pygrub found nothing to boot on $img \(it exited with status [0-9]+"
	assert_equal "$(vm_field "$name" power)" Halted
	assert_only_dom0
	run losetup -j "$img"
	assert_output ""
}
