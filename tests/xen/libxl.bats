#!/usr/bin/env bats
# XO_BACKEND=libxl on real Xen (the lab): a PV and a PVH guest with a disk and a NIC,
# started by xo through libxenlight, reach their ready markers; `xl list` shows them
# (libxl knows the domains: they are xl's too), and so does `xl console`; a clean
# shutdown, a reboot, a start killed half-way repaired by check-state, and `xl save`
# and `xl restore` of a VM xo started.
# bats file_tags=needs:xen

load helpers

BRIDGE=xobr0
DISK_TEXT=XO-PIPELINE-DISK     # 16 characters: the guest compares its xvda with xo.expect

setup() {
	xen_setup
	export XO_BACKEND=libxl XO_REBOOT_DELAY=0
}
teardown() {
	# libxl's hotplug scripts log there: a failed test keeps it
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -d /out ]; then
		mkdir -p "/out/failed/$BATS_SUITE_TEST_NUMBER"
		cp /var/log/xen/xen-hotplug.log /var/log/xen/xl-*.log "/out/failed/$BATS_SUITE_TEST_NUMBER/" 2>/dev/null || true
	fi
	xen_teardown
}

# add_guest NAME TYPE: a VM with a 16 MiB disk and a NIC
add_guest() {
	local name=$1 type=$2 img="$BATS_TEST_TMPDIR/$1.img"
	ensure_bridge "$BRIDGE"
	disk_image "$img" "$DISK_TEXT"
	run xo-vm-add --name "$name" --type "$type" --memory 128M --vcpus 1 \
		--kernel "$GUEST_KERNEL" --ramdisk "$GUEST_INITRD" \
		--cmdline "$GUEST_CMDLINE xo.expect=$DISK_TEXT"
	assert_success
	run xo-vbd-add "$name" --path "$img"
	assert_success
	run xo-vif-add "$name" --bridge "$BRIDGE" --mac 00:16:3e:5a:00:02
	assert_success
}

# start_and_check NAME: start (libxl), xl's view, unpause, the guest's own view; sets DOMID
# and CONSOLE_FROM (boot_guest: a triple fault before the guest's first marker is retried
# once, after xo-vm-destroy)
start_and_check() {
	local name=$1
	START_NAME=$name
	boot_guest "$name" "$(xo-vm-show "$name" | awk '$1 == "type" { print $2 }')" \
		start_unpaused destroy_started
	run console_text "$name" "$CONSOLE_FROM"
	assert_line --regexp "^XO-GUEST-XVDA-OK size=32768 first16=[0-9a-f]{32} match=yes$"
	assert_line "XO-GUEST-ETH0-OK mac=00:16:3e:5a:00:02"
}

# start_unpaused: boot_guest's START: xo-vm-start of $START_NAME, xl's view of the paused
# domain and its devices (libxl's own records), then xo-vm-unpause; sets DOMID
start_unpaused() {
	local name=$START_NAME
	run xo-vm-start "$name"
	assert_success
	assert_equal "$(vm_field "$name" power)" Paused
	DOMID=$(vm_field "$name" domid)
	run xl list "$name"
	assert_success
	assert_line --regexp "^$name +$DOMID +[0-9]+ +1 +--p--- "
	run xl block-list "$name"
	assert_line --regexp "^51712 +0 +$DOMID +"
	run xl network-list "$name"
	assert_line --regexp "^0 +0 +00:16:3e:5a:00:02 "
	run ip -o link show "vif$DOMID.0"
	assert_output --partial "master $BRIDGE"
	# the first FAULT_STARTS (0) starts get a #DF queued: with no IDT yet, a triple fault
	STARTS+=("$DOMID")
	[ "${#STARTS[@]}" -gt "${FAULT_STARTS:-0}" ] || xen-backend double-fault "$DOMID"
	run xo-vm-unpause "$name"
	assert_success
}

# destroy_started: boot_guest's STOP: the faulted guest's domain and devices go
destroy_started() {
	run xo-vm-destroy "$START_NAME"
	assert_success
	assert_gone "$START_NAME"
}

assert_gone() {
	assert_equal "$(vm_field "$1" power)" Halted
	assert_only_dom0
	run losetup -j "$BATS_TEST_TMPDIR/$1.img"
	assert_output ""
}

lifecycle() {
	local name="$GUEST-$1"
	add_guest "$name" "$1"
	run xo-vm-start --plan "$name"
	assert_line "# VM_build: the libxl backend builds the domain in VM_create"
	refute_output --partial xo-domain-build
	start_and_check "$name"
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	run console_text "$name" "$CONSOLE_FROM"
	assert_line XO-GUEST-POWEROFF
	assert_gone "$name"
}

@test "libxl: a PV guest with a disk and a NIC boots, xl knows it, a clean shutdown ends it" {
	lifecycle pv
}

@test "libxl: a PVH guest with a disk and a NIC boots, xl knows it, a clean shutdown ends it" {
	lifecycle pvh
}

@test "libxl: a PVH boot that triple-faults before its first marker is destroyed and retried once" {
	local name="$GUEST-tf" first
	add_guest "$name" pvh
	# this retry is made on purpose: its own log, not check-xen's count
	export XO_LAB_RETRY_LOG="$BATS_TEST_TMPDIR/retries"
	STARTS=() FAULT_STARTS=1
	start_and_check "$name" 3>"$BATS_TEST_TMPDIR/said"
	first=${STARTS[0]}
	assert_equal "${#STARTS[@]}" 2
	assert_equal "$DOMID" "${STARTS[1]}"
	run cat "$BATS_TEST_TMPDIR/said"
	assert_output "# triple fault in d$first (PVH, before XO-GUEST-UP): retried once"
	run cat "$XO_LAB_RETRY_LOG"
	assert_output "d$first pvh $name $BATS_TEST_NAME"
	run xl dmesg
	assert_line --partial "d${first}v0 Triple fault"
	# the faulted domain went with xo-vm-destroy; the second is up, and goes the same way
	run xen-backend info "$first"
	assert_failure 1
	run xo-vm-destroy "$name"
	assert_success
	assert_gone "$name"
}

@test "libxl: xo-vm-reboot makes a new domain that boots again" {
	local name="$GUEST-r"
	add_guest "$name" pv
	start_and_check "$name"
	local before=$DOMID
	# the new domain's boot: the console log goes on from here (the first boot's
	# XO-GUEST-READY is before it)
	local from
	from=$(console_size "$name")
	run xo-vm-reboot --timeout 120 "$name"
	assert_success
	assert_equal "$(vm_field "$name" power)" Running
	[ "$(vm_field "$name" domid)" != "$before" ]
	wait_console "$name" XO-GUEST-READY 180 "$from"
	run xo-vm-destroy "$name"
	assert_success
	assert_gone "$name"
}

@test "libxl: a start killed half-way is repaired by check-state" {
	local name="$GUEST-k" step
	add_guest "$name" pv
	for step in VM_create:crash-after "VBD_plug xvda:crash-after" "VIF_plug 0:crash-after"; do
		XO_FAULT=$step run xo-vm-start "$name"
		assert_failure
		run xo-vm-check-state "$name"
		assert_success
		assert_gone "$name"
	done
	start_and_check "$name"
	run xo-vm-destroy "$name"
	assert_success
	assert_gone "$name"
}

@test "libxl: xl console attaches to a VM xo started and shows its output until the domain goes" {
	local name="$GUEST-con" out="$BATS_TEST_TMPDIR/xl-console.out" tty pid i hold rc
	add_guest "$name" pv
	start_and_check "$name"
	tty=$(xenstore-read "/local/domain/$DOMID/console/tty")
	# xenconsole leaves at the end of its input: a fifo kept open gives it none, and no end
	mkfifo "$BATS_TEST_TMPDIR/in"
	exec {hold}<>"$BATS_TEST_TMPDIR/in"
	timeout 120 xl console "$name" <"$BATS_TEST_TMPDIR/in" >"$out" 2>&1 3>&- &
	pid=$!
	# attached: xl (or the xenconsole it runs) holds the guest's pty
	wait_attached "$pid" "$tty" 'xl console'
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	# the console ends by itself when the domain goes (timeout would say 124)
	rc=0
	wait "$pid" || rc=$?
	exec {hold}>&-
	[ "$rc" -ne 124 ] || fail "xl console was still attached 120 s later"
	# what xenconsoled held for the pty since the boot, then the poweroff
	run tr -d '\r' <"$out"
	assert_line --regexp '^XO-GUEST-READY cpus=1 '
	assert_line XO-GUEST-POWEROFF
	run pgrep -f "xenconsole.*$DOMID"
	assert_failure
	assert_gone "$name"
}

@test "libxl: xl save checkpoints and saves a VM xo started; xl restore brings it back" {
	local name="$GUEST-save" ckpt="$BATS_TEST_TMPDIR/ckpt.xl" saved="$BATS_TEST_TMPDIR/saved.xl" from
	add_guest "$name" pv
	start_and_check "$name"
	# a checkpoint (-c): libxl suspends the guest, writes it out and resumes it
	run timeout 300 xl save -c "$name" "$ckpt"
	assert_success
	[ -s "$ckpt" ]
	assert_equal "$(vm_field "$name" power)" Running
	assert_equal "$(vm_field "$name" domid)" "$DOMID"
	# a save: the domain goes, and xo finds its VM halted with nothing left behind
	run timeout 300 xl save "$name" "$saved"
	assert_success
	[ -s "$saved" ]
	run xo-vm-check-state "$name"
	assert_success
	assert_gone "$name"
	# the saved guest is whole: xl restores it (a domain of xl's now) and it still
	# answers a clean shutdown from where it was
	from=$(console_size "$name")
	run timeout 300 xl restore "$saved"
	assert_success
	run xl list "$name"
	assert_success
	run timeout 120 xl shutdown -w "$name"
	assert_success
	wait_console "$name" XO-GUEST-POWEROFF 60 "$from"
	# the saved configuration is xo's, whose actions are "preserve" (xo applies a VM's
	# actions itself): the shut-down domain stays until someone destroys it
	run xl list "$name"
	assert_line --regexp "^$name +[0-9]+ +[0-9]+ +1 +---s-- "
	run xl destroy "$name"
	assert_success
	assert_only_dom0
}

@test "libxl: a disk and a NIC plugged into a running guest connect, and unplug cleanly" {
	local name="$GUEST-hot" hot="$BATS_TEST_TMPDIR/hot.img"
	add_guest "$name" pv
	start_and_check "$name"
	disk_image "$hot" XO-LIBXL-HOTPLUG
	hot_plug "$name" "$hot" 00:16:3e:5a:00:03
	# libxl's view
	run xl block-list "$name"
	assert_line --regexp "^51728 +0 +$DOMID +"
	run xl network-list "$name"
	assert_line --regexp "^1 +0 +00:16:3e:5a:00:03 "
	run ip -o link show "vif$DOMID.1"
	assert_output --partial "master $BRIDGE"
	hot_unplug "$name"
	run xl block-list "$name"
	refute_line --regexp "^51728 "
	run xl network-list "$name"
	refute_line --regexp "^1 +"
	run losetup -j "$hot"
	assert_output ""
	run ip -o link show "vif$DOMID.1"
	assert_failure
	# the guest runs on with its first disk and NIC, and powers off cleanly
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	assert_gone "$name"
}
