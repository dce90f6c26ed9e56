#!/usr/bin/env bats
# XO_HOTPLUG=builtin: the worker does what xo's own block and vif scripts do,
# without running them, and leaves the same result; a user's own script, and a
# vif with locking rules, still run their script.
load helpers

setup() {
	xo_setup
	# xo's scripts, in a directory of their own that notes every run in ran.log:
	# the builtin takes the place of the scripts of $XO_SCRIPT_DIR
	export XO_SCRIPT_DIR="$BATS_TEST_TMPDIR/scripts"
	mkdir -p "$XO_SCRIPT_DIR"
	for s in block vif; do
		{
			echo '#!/bin/sh'
			echo "echo \"$s \$*\" >> '$BATS_TEST_TMPDIR/ran.log'"
			echo "exec '$XO_SRC/share/udev/$s' \"\$@\""
		} > "$XO_SCRIPT_DIR/$s"
		chmod +x "$XO_SCRIPT_DIR/$s"
	done
}
teardown() { xo_teardown; }

one_disk_vm() {   # one_disk_vm NAME [xo-vbd-add flags]
	local name=$1
	shift
	add_vm "$name" >/dev/null
	disk_image "$BATS_TEST_TMPDIR/$name.img"
	xo-vbd-add "$name" --path "$BATS_TEST_TMPDIR/$name.img" "$@" >/dev/null
	bridge xenbr0
	xo-vif-add "$name" --bridge xenbr0 --mtu 1400 >/dev/null
}

# what the scripts leave in xenstore and the network, for one started VM
result() {   # result NAME
	local d uuid be vif
	d=$(domid_of "$1")
	uuid=$(uuid_of "$1")
	be=/local/domain/0/backend/vbd/$d/51712
	vif=/local/domain/0/backend/vif/$d/0
	echo "vbd $(xs read "$be/hotplug-status") $(xs read "$be/physical-device-path" | sed 's/[0-9]*$/N/')"
	[ "$(xs read "$be/physical-device")" = "$(stat -L -c '%t:%T' "$(xs read "$be/node")")" ] &&
		echo "physical-device is the node's"
	echo "vif $(xs read "$vif/hotplug-status") applied=$(xs read "/xo/vm/$uuid/private/vif/0/applied")"
	ip -o link show "vif$d.0" | grep -o 'mtu [0-9]*\|master [a-z0-9]*\|UP' | sort | tr '\n' ' '
	echo
}

@test "builtin: the same start and shutdown as the scripts, without running them" {
	one_disk_vm web1
	export XO_HOTPLUG=xo
	run xo-vm-start web1
	assert_success
	scripts=$(result web1)
	[ -s "$BATS_TEST_TMPDIR/ran.log" ]
	xo-vm-shutdown --force web1
	assert_clean_halted web1
	rm "$BATS_TEST_TMPDIR/ran.log"

	export XO_HOTPLUG=builtin
	run xo-vm-start web1
	assert_success
	run result web1
	assert_output "$scripts"
	assert_output --partial "vbd connected /dev/loopN"
	assert_output --partial "UP master xenbr0 mtu 1400"
	[ ! -e "$BATS_TEST_TMPDIR/ran.log" ] || fail "a script ran: $(cat "$BATS_TEST_TMPDIR/ran.log")"
	d=$(domid_of web1)
	loop=$(xs read "/local/domain/0/backend/vbd/$d/51712/node")
	[ "$(losetup -j "$BATS_TEST_TMPDIR/web1.img" | cut -d: -f1)" = "$loop" ]
	# the log says what was done, as the scripts' do
	log="$XO_STATE_DIR/VM/$(uuid_of web1)/hotplug.log"
	run grep "backend/vbd/$d/51712: attached $BATS_TEST_TMPDIR/web1.img as $loop" "$log"
	assert_success
	run grep "backend/vif/$d/0: vif$d.0 on xenbr0, mtu 1400" "$log"
	assert_success
	run xo-vbd-stat web1
	assert_output --partial "xvda active plugged"

	run xo-vm-shutdown --force web1
	assert_success
	assert_clean_halted web1   # (no loop device left on the VM's disks included)
	[ ! -e "$BATS_TEST_TMPDIR/ran.log" ]
	run grep "backend/vbd/$d/51712: detached $loop" "$log"
	assert_success
}

@test "builtin: a read-only disk gets a read-only loop device; hot unplug and plug" {
	one_disk_vm web1 --mode ro
	export XO_HOTPLUG=builtin
	xo-vm-start web1
	xo-vm-unpause web1
	d=$(domid_of web1)
	loop=$(xs read "/local/domain/0/backend/vbd/$d/51712/node")
	[ "$(cat "/sys/block/${loop#/dev/}/ro")" = 1 ]
	xo-vbd-unplug web1 xvda
	no_loops_on "$BATS_TEST_TMPDIR/web1.img"
	xo-vbd-plug web1 xvda
	[ -n "$(losetup -j "$BATS_TEST_TMPDIR/web1.img")" ]
	xo-vm-destroy web1
	assert_clean_halted web1   # (no loop device left on the VM's disks included)
}

@test "builtin: the scripts' failures, with the scripts' messages, cleaned up" {
	export XO_HOTPLUG=builtin
	# a disk file that is gone
	one_disk_vm web1
	rm "$BATS_TEST_TMPDIR/web1.img"
	run xo-vm-start web1
	assert_failure
	assert_output --partial "hotplug script failed: '$BATS_TEST_TMPDIR/web1.img' does not exist"
	assert_clean_halted web1

	# a file some loop device already has read/write
	one_disk_vm web2
	other=$(losetup --find --show "$BATS_TEST_TMPDIR/web2.img")
	run xo-vm-start web2
	assert_failure
	assert_output --partial "is already attached (a loop device uses it)"
	losetup -d "$other"
	assert_clean_halted web2

	# a bridge that is not there
	add_vm web3 >/dev/null
	xo-vif-add web3 --bridge nosuchbr >/dev/null
	run xo-vm-start web3
	assert_failure
	assert_output --partial "bridge 'nosuchbr' does not exist"
	assert_clean_halted web3
	[ ! -e "$BATS_TEST_TMPDIR/ran.log" ]
}

@test "builtin: a user's own script and a locked vif still run their scripts" {
	export XO_HOTPLUG=builtin
	one_disk_vm web1
	mine="$BATS_TEST_TMPDIR/my-block"
	printf '#!/bin/sh\necho "mine $*" >> "%s/ran.log"\nxenstore-write "/local/domain/0/$XENBUS_PATH/hotplug-status" connected\n' \
		"$BATS_TEST_TMPDIR" > "$mine"
	chmod +x "$mine"
	add_vm web2 >/dev/null
	disk_image "$BATS_TEST_TMPDIR/web2.img"
	xo-vbd-add web2 --path "$BATS_TEST_TMPDIR/web2.img" --script "$mine" >/dev/null
	xo-vm-start web2
	run cat "$BATS_TEST_TMPDIR/ran.log"
	assert_output "mine add"

	xo-vif-set-locking web1 0 locked --allow 10.0.0.5
	xo-vm-start web1
	d=$(domid_of web1)
	run cat "$BATS_TEST_TMPDIR/ran.log"
	assert_output "mine add
vif online type_if=vif"
	run nft list table netdev "xo-vif$d.0"
	assert_success
	assert_output --partial "10.0.0.5"
	# its rules go with it: the script's offline
	xo-vm-shutdown --force web1
	assert_clean_halted web1
	[ "$(tail -1 "$BATS_TEST_TMPDIR/ran.log")" = "vif offline type_if=vif" ]
	run nft list table netdev "xo-vif$d.0"
	assert_failure
}
