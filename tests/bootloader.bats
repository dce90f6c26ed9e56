#!/usr/bin/env bats
# A PV or PVH VM's bootloader (xf-boot.c) on the simulator, with a stand-in for
# pygrub (XO_PYGRUB) that takes pygrub's options: it reads the disk (the first
# 16 bytes: "BOOTABLE" or not), copies a kernel and an initrd into the output
# directory and writes its choice there, NUL-separated. The lab's pygrub.bats
# runs Debian's pygrub on a real disk image.
load helpers

setup() {
	xo_setup
	fake="$BATS_TEST_TMPDIR/pygrub"
	cat >"$fake" <<-'SH'
	#!/bin/bash
	# the stand-in: pygrub's options, then the disk
	printf '%s\n' "$@" >"$FAKE_ARGS"
	for a in "$@"; do
		case $a in
		--output=*) out=${a#--output=} ;;
		--output-directory=*) dir=${a#--output-directory=} ;;
		esac
		disk=$a
	done
	# pygrub opens its output without creating it
	[ -f "$out" ] || { echo "FileNotFoundError: $out" >&2; exit 1; }
	case $(head -c 8 "$disk") in
	BOOTABLE) ;;
	*) echo "Unable to find partition containing kernel" >&2; exit 1 ;;
	esac
	k=$(mktemp "$dir/boot_kernel.XXXXXX")
	r=$(mktemp "$dir/boot_ramdisk.XXXXXX")
	cp "$FAKE_KERNEL" "$k"
	echo initrd >"$r"
	[ -n "${FAKE_EVIL:-}" ] && k=$FAKE_EVIL
	printf 'kernel %s\0ramdisk %s\0args root=/dev/xvda1 from-grub-cfg\0' "$k" "$r" >"$out"
	SH
	chmod +x "$fake"
	export XO_PYGRUB=$fake FAKE_ARGS="$BATS_TEST_TMPDIR/args" FAKE_KERNEL=$KERNEL
}
teardown() { xo_teardown; }

# boot_vm NAME TYPE TEXT: a VM booted by pygrub from a disk whose first bytes are TEXT
boot_vm() {
	xo-vm-add --name "$1" --type "$2" --memory 64M --bootloader pygrub \
		--bootloader-args "--entry=0 -q" --cmdline "console=hvc0" >/dev/null
	disk_image "$BATS_TEST_TMPDIR/$1.img"
	printf '%s' "$3" | dd of="$BATS_TEST_TMPDIR/$1.img" conv=notrunc status=none
	xo-vbd-add "$1" --path "$BATS_TEST_TMPDIR/$1.img" --name xvda >/dev/null
}

@test "pygrub picks the kernel, initrd and command line from the first disk; its files go" {
	for t in pv pvh; do
		boot_vm "web-$t" "$t" BOOTABLE
		run xo-vm-start "web-$t"
		assert_success
		uuid=$(uuid_of "web-$t")
		# pygrub's options, the bootloader-args split, then the disk
		run cat "$FAKE_ARGS"
		assert_line --index 0 --quiet
		assert_line --index 1 "--output=$XO_STATE_DIR/VM/$uuid/bootloader/result"
		assert_line --index 2 --output-format=simple0
		assert_line --index 3 "--output-directory=$XO_STATE_DIR/VM/$uuid/bootloader"
		assert_line --index 4 --entry=0
		assert_line --index 5 -q
		assert_line --index 6 "$BATS_TEST_TMPDIR/web-$t.img"
		# the entry's arguments, then the VM's own
		[ "$(json_get build.cmdline <"$XO_STATE_DIR/VM/$uuid/extra")" = "root=/dev/xvda1 from-grub-cfg console=hvc0" ]
		[ ! -e "$XO_STATE_DIR/VM/$uuid/bootloader" ]
		[ ! -e "$XO_STATE_DIR/VM/$uuid/res/proc.bootloader" ]
		xo-vm-destroy "web-$t"
		assert_clean_halted "web-$t"
	done
}

@test "a disk pygrub finds nothing on fails the start with pygrub's line, and leaves nothing" {
	boot_vm web1 pv "NOT A BOOT DISK."
	run xo-vm-start web1
	assert_failure 1
	assert_output --regexp "bootloader .*/pygrub found nothing to boot on $BATS_TEST_TMPDIR/web1.img \(it exited with status 1: Unable to find partition containing kernel\)"
	assert_clean_halted web1
	[ ! -e "$XO_STATE_DIR/VM/$(uuid_of web1)/bootloader" ]
}

@test "what pygrub returns is checked: a kernel outside its directory is refused" {
	boot_vm web1 pv BOOTABLE
	FAKE_EVIL=/etc/passwd run xo-vm-start web1
	assert_failure 1
	assert_output --partial "the bootloader's kernel '/etc/passwd' is not a file it made in"
	assert_clean_halted web1
}

@test "a bootloader VM without a disk, or without pygrub, fails clearly" {
	xo-vm-add --name web1 --memory 64M --bootloader pygrub >/dev/null
	run xo-vm-start web1
	assert_failure
	assert_output --partial "vm web1 boots with bootloader pygrub and has no disk for it to read"
	assert_clean_halted web1
	boot_vm web2 pv BOOTABLE
	XO_PYGRUB=/nonexistent/pygrub run xo-vm-start web2
	assert_failure
	assert_output --partial "bootloader '/nonexistent/pygrub' cannot run"
	assert_clean_halted web2
}
