#!/usr/bin/env bats
# The lab's one allowance for its emulated machine (boot_guest and boot_hvm in
# helpers.bash): a guest boot that Xen ends with a triple fault before the guest's first
# marker is retried once, and nothing else is. The triple faults here are made on
# purpose: `xen-backend double-fault` queues a #DF for a domain that has not run yet (no
# IDT), which Xen then reports as "d<N>v0 Triple fault". The retries go to this test's
# own log, not to the count of make check-xen.
# bats file_tags=needs:xen

load helpers

setup() {
	xen_setup
	export XO_LAB_RETRY_LOG="$BATS_TEST_TMPDIR/retries"
	NAME="$GUEST-tf"
	STARTED="$BATS_TEST_TMPDIR/started"     # the domid of every start, a line each
}
teardown() { xen_teardown; }

# start_faulting: boot_guest's START; the first TRIPLE_FAULTS (1) starts triple-fault at once
start_faulting() {
	if [ "$(starts)" -lt "${TRIPLE_FAULTS:-1}" ]; then
		DOMID=$(start_guest "$NAME" pvh --paused)
		echo "$DOMID" >>"$STARTED"
		${BEFORE_FAULT:-true}
		xen-backend double-fault "$DOMID"
		xen-backend unpause "$DOMID"
	else
		DOMID=$(start_guest "$NAME" pvh)
		echo "$DOMID" >>"$STARTED"
	fi
}
stop_domain() { xen-backend destroy "$DOMID"; }

# boot_guest with its TAP comments (fd 3) on stdout, for run
boot_guest_said() { boot_guest "$@" 3>&1; }

# starts: how many; started N: the domid of the Nth
starts() { cat "$STARTED" 2>/dev/null | wc -l; }
started() { sed -n "${1}p" "$STARTED"; }

@test "a PVH guest that triple-faults before its first marker is started again, once, and says so" {
	boot_guest_said "$NAME" pvh start_faulting stop_domain >"$BATS_TEST_TMPDIR/said"
	local first
	first=$(started 1)
	assert_equal "$(starts)" 2
	run cat "$BATS_TEST_TMPDIR/said"
	assert_output "# triple fault in d$first (PVH, before XO-GUEST-UP): retried once"
	run xl dmesg
	assert_line --partial "d${first}v0 Triple fault"
	run cat "$XO_LAB_RETRY_LOG"
	assert_output "d$first pvh $NAME $BATS_TEST_NAME"
	# the faulted domain is gone; the second start is the boot, and it is up
	run xen-backend info "$first"
	assert_failure 1
	assert_equal "$DOMID" "$(started 2)"
	run console_text "$NAME" "$CONSOLE_FROM"
	assert_line --partial XO-GUEST-UP
	assert_line --regexp "^XO-GUEST-READY cpus=1 "
	assert_equal "$(dom_field "$DOMID" shutdown)" 0
}

@test "a second triple fault of the same boot fails it" {
	TRIPLE_FAULTS=2
	run boot_guest_said "$NAME" pvh start_faulting stop_domain
	assert_failure
	assert_line "# triple fault in d$(started 1) (PVH, before XO-GUEST-UP): retried once"
	assert_line "# triple fault in d$(started 2) (PVH, before XO-GUEST-UP) again: not retried twice"
	assert_output --partial "the guest $NAME (d$(started 2)) did not get ready"
	assert_equal "$(starts)" 2
	run grep -c . "$XO_LAB_RETRY_LOG"
	assert_output 1
}

@test "a triple fault after the guest's first marker is not retried" {
	# the marker written into this boot's console log, as if the guest had printed it
	BEFORE_FAULT=plant_marker
	plant_marker() { echo XO-GUEST-UP >>"$(console_log "$NAME")"; }
	run boot_guest_said "$NAME" pvh start_faulting stop_domain
	assert_failure
	refute_output --partial "retried"
	assert_output --partial "# no 'XO-GUEST-READY' on the console of $NAME (domain $(started 1) went down)"
	assert_output --partial "d$(started 1)v0 Triple fault"
	assert_equal "$(starts)" 1
	[ ! -s "$XO_LAB_RETRY_LOG" ]
}

@test "a guest that goes down without a triple fault is not retried" {
	crash_at_once() {
		DOMID=$(start_guest "$NAME" pvh --paused)
		echo "$DOMID" >>"$STARTED"
		xen-backend shutdown "$DOMID" 3     # crash, as Xen records a guest's
	}
	run boot_guest_said "$NAME" pvh crash_at_once stop_domain
	assert_failure
	refute_output --partial "retried"
	assert_output --partial "(domain $(started 1) went down)"
	assert_equal "$(starts)" 1
	[ ! -s "$XO_LAB_RETRY_LOG" ]
}

@test "an HVM guest whose firmware triple-faults is started again, once, and says so" {
	local name="$GUEST-tfh" first
	run xo-vm-add --name "$name" --type hvm --memory 64M --vcpus 1
	assert_success
	# boot_hvm's START: the first start gets the #DF before hvmloader runs
	start_hvm_faulting() {
		run xo-vm-start "$name"
		assert_success
		DOMID=$(vm_field "$name" domid)
		echo "$DOMID" >>"$STARTED"
		[ "$(starts)" -gt 1 ] || xen-backend double-fault "$DOMID"
		run xo-vm-unpause "$name"
		assert_success
	}
	START_NAME=$name
	boot_hvm "$name" start_hvm_faulting destroy_vm 3>"$BATS_TEST_TMPDIR/said"
	first=$(started 1)
	assert_equal "$(starts)" 2
	run cat "$BATS_TEST_TMPDIR/said"
	assert_output "# triple fault in d$first (HVM, before SeaBIOS's boot): retried once"
	run xl dmesg
	assert_line --partial "d${first}v0 Triple fault"
	run cat "$XO_LAB_RETRY_LOG"
	assert_output "d$first hvm $name $BATS_TEST_NAME"
	# the faulted domain is gone; the VM runs in the second, past its firmware
	run xen-backend info "$first"
	assert_failure 1
	assert_equal "$DOMID" "$(started 2)"
	assert_equal "$(vm_field "$name" domid)" "$DOMID"
	assert_equal "$(vm_field "$name" power)" Running
	run xo-vm-destroy "$name"
	assert_success
	assert_only_dom0
}
