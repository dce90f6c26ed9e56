#!/usr/bin/env bats
# The host resources of a start on real Xen (lib/res.h): a guest with two
# disks and two NICs, xo-vm-start killed (the client and its worker, kill -9)
# at random moments, then xo-vm-check-state: no domain, loop device, vif,
# backend or resource record is left, and the next start succeeds. Both
# hotplug modes: the builtin (the default) and the scripts (XO_HOTPLUG=xo),
# whose block script is the one that can be killed after its losetup.
# bats file_tags=needs:xen

load helpers

setup() { xen_setup; }
teardown() { xen_teardown; }

BRIDGE=xobr0

# a PV VM with two 16 MiB disks and two NICs
add_2x2() {
	local name=$1 i
	ensure_bridge "$BRIDGE"
	run xo-vm-add --name "$name" --type pv --memory 128M --vcpus 1 \
		--kernel "$GUEST_KERNEL" --ramdisk "$GUEST_INITRD" --cmdline "$GUEST_CMDLINE"
	assert_success
	for i in a b; do
		disk_image "$BATS_TEST_TMPDIR/$name-$i.img" XO-RESOURCES-$i---
		run xo-vbd-add "$name" --path "$BATS_TEST_TMPDIR/$name-$i.img" --name "xvd$i"
		assert_success
	done
	for i in 1 2; do
		run xo-vif-add "$name" --bridge "$BRIDGE" --mac "00:16:3e:5a:01:0$i"
		assert_success
	done
}

# the processes of this test's state directory: the client and its worker
xo_pids() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "XO_STATE_DIR=$XO_STATE_DIR" || continue
		case $(cat 2>/dev/null "$p/comm") in
		xo-worker | xo-lockwatch | xo-vm-start) echo "${p#/proc/}" ;;
		esac
	done
}

# nothing of the VM is left on the host
assert_released() {
	local name=$1 uuid i
	uuid=$(xo-vm-list | awk -v n="$name" '$2 == n { print $1 }')
	assert_equal "$(vm_field "$name" power)" Halted
	assert_only_dom0
	for i in a b; do
		run losetup -j "$BATS_TEST_TMPDIR/$name-$i.img"
		assert_output ""
	done
	run ls -A "$XO_STATE_DIR/VM/$uuid/res"
	assert_output ""
	run sh -c "ip -o link | grep -c ': vif[0-9]'"
	assert_output 0
	for k in vbd vif; do
		run sh -c "xenstore-list /local/domain/0/backend/$k 2>/dev/null | wc -l"
		assert_output 0
	done
	# libxl's record of the domain (xl list -l)
	run sh -c "ls /var/lib/xen | grep -c '^userdata-.*\\.$uuid\\.'"
	assert_output 0
}

kill_start() {
	local name=$1 kills=$2 i
	for i in $(seq "$kills"); do
		xo-vm-start "$name" >/dev/null 2>&1 3>&- &
		# the start takes seconds under emulation: 0.1 to 3 s
		sleep "$((RANDOM % 3)).$((RANDOM % 10))"
		kill -9 $! $(xo_pids) 2>/dev/null || true
		wait $! 2>/dev/null || true
		run xo-vm-check-state "$name"
		assert_success
		if [ "$(vm_field "$name" power)" != Halted ]; then
			# the kill came after the last micro-op: a whole start, to stop
			run xo-vm-destroy "$name"
			assert_success
		fi
		assert_released "$name"
		echo "# kill $i: repaired" >&3
	done
	run xo-vm-start "$name"
	assert_success
	assert_equal "$(vm_field "$name" power)" Paused
	run xo-vm-destroy "$name"
	assert_success
	assert_released "$name"
}

@test "kill -9 of a start with two disks and two NICs, builtin hotplug: repaired, nothing left" {
	add_2x2 "$GUEST-b"
	kill_start "$GUEST-b" 4
}

@test "kill -9 of a start with two disks and two NICs, the scripts: repaired, nothing left" {
	export XO_HOTPLUG=xo
	add_2x2 "$GUEST-s"
	kill_start "$GUEST-s" 4
}
