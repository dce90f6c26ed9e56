#!/usr/bin/env bats
# Changes at run time on real Xen (the lab), as the running guest and Xen see them:
# xo-vm-set-memory moves the balloon target and the guest's balloon driver gives
# memory back and takes it again (the domain's pages: xo-vm-stat's memory-actual,
# xl list); xo-vm-set-vcpus takes a vcpu away and gives it back, which the guest's
# kernel does itself (Xen's online vcpus: xo-vm-stat's vcpus-online, xl list);
# xo-vm-set-affinity pins the vcpus (xl vcpu-list). tests/runtime.bats has the
# same on the simulator, with the refusals.
# bats file_tags=needs:xen

load helpers

setup() { xen_setup; }
teardown() { xen_teardown; }

# kib SIZE: xo's size (1024, 96M, 131068K) in KiB
kib() {
	case $1 in
	*K) echo "${1%K}" ;;
	*M) echo $((${1%M} * 1024)) ;;
	*G) echo $((${1%G} * 1024 * 1024)) ;;
	*) echo $(($1 / 1024)) ;;
	esac
}

# until_field NAME FIELD TEST: waits (60 s at most) until FIELD of xo-vm-stat NAME passes
# TEST, a shell condition on $v; the guest acts on a change in its own time
until_field() {
	local name=$1 field=$2 test=$3 v i
	for i in $(seq 300); do
		v=$(vm_field "$name" "$field")
		eval "$test" && return 0
		sleep 0.2
	done
	fail "$name: $field is $v after 60 s, not [$test]"
}

# xl_list_col NAME COLUMN: a column of xl list (3 Mem, 4 VCPUs)
xl_list_col() {
	xl list "$1" | awk -v c="$2" 'NR == 2 { print $c }'
}

@test "a running PV guest follows its memory target down and up, gives a vcpu back, is pinned" {
	local name="$GUEST-rt" d
	run xo-vm-add --name "$name" --type pv --memory 256M --memory-min 96M --memory-target 160M --vcpus 2 \
		--kernel "$GUEST_KERNEL" --ramdisk "$GUEST_INITRD" --cmdline "$GUEST_CMDLINE"
	assert_success
	START_NAME=$name
	boot_guest "$name" pv start_running destroy_vm
	run console_text "$name" "$CONSOLE_FROM"
	assert_line --regexp '^XO-GUEST-READY cpus=2 '
	d=$DOMID
	assert_equal "$(vm_field "$name" memory)" 160M
	assert_equal "$(vm_field "$name" vcpus-online)" 2

	# the balloon: down to 128M, the guest gives 32 MiB back to Xen ...
	run xo-vm-set-memory "$name" 128M
	assert_success
	assert_equal "$(vm_field "$name" memory)" 128M
	assert_equal "$(xenstore-read "/local/domain/$d/memory/target")" 131072
	until_field "$name" memory-actual '[ "$(kib "$v")" -le $((128 * 1024 + 1024)) ]'
	[ "$(xl_list_col "$name" 3)" -le 129 ]
	# ... and up to 224M, it takes 96 MiB from Xen
	run xo-vm-set-memory "$name" 224M
	assert_success
	until_field "$name" memory-actual '[ "$(kib "$v")" -ge $((224 * 1024 - 1024)) ]'
	[ "$(xl_list_col "$name" 3)" -ge 223 ]

	# vcpus: the guest's kernel takes vcpu 1 down when asked, and up again
	run xo-vm-set-vcpus "$name" 1
	assert_success
	assert_equal "$(xenstore-read "/local/domain/$d/cpu/1/availability")" offline
	until_field "$name" vcpus-online '[ "$v" = 1 ]'
	assert_equal "$(xl_list_col "$name" 4)" 1
	# given back, the vcpu is the guest's to bring up: Linux makes it present, and its
	# userspace (udev) onlines it, as after `xl vcpu-set`; this guest has no udev, so
	# Xen's count of online vcpus stays 1 while xo's target says 2
	run xo-vm-set-vcpus "$name" 2
	assert_success
	assert_equal "$(xenstore-read "/local/domain/$d/cpu/1/availability")" online
	assert_equal "$(vm_field "$name" vcpus)" 2
	assert_equal "$(vm_field "$name" vcpus-online)" 1

	# pinning: both vcpus on host cpu 1, then anywhere again
	run xo-vm-set-affinity "$name" 1
	assert_success
	assert_equal "$(vm_field "$name" affinity)" 1
	run xl vcpu-list "$name"
	assert_equal "$(echo "$output" | awk 'NR > 1 { print $7 }' | sort -u)" 1
	run xo-vm-set-affinity "$name" all
	assert_success
	run xl vcpu-list "$name"
	assert_equal "$(echo "$output" | awk 'NR > 1 { print $7 }' | sort -u)" all

	# and the guest, changed three ways, still powers off cleanly
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	run console_text "$name" "$CONSOLE_FROM"
	assert_line XO-GUEST-POWEROFF
	assert_equal "$(vm_field "$name" power)" Halted
	assert_only_dom0
}
