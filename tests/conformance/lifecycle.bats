#!/usr/bin/env bats
# The lifecycle, on any backend (XO_CONF_BACKEND; see helpers.bash): start,
# stat, console, what the guest sees, shutdown, reboot, destroy, pause, hot
# plug and unplug, eject and insert, the watcher, check-state.
load helpers

setup() { conf_setup; }
teardown() { conf_teardown; }

@test "start: paused with its devices plugged, then running; the guest sees them" {
	be_vm c1 2
	run xo-vm-start c1
	assert_success
	[ "$(vm_field c1 power_state)" = Paused ]
	[ -n "$(domid_of c1)" ]
	xo-vbd-stat --json c1 | python3 -c '
import json, sys
v = {d["name"]: d for d in json.load(sys.stdin)}
assert v["xvda"]["plugged"] and v["xvdb"]["plugged"], v'
	[ "$(xo-vif-stat --json c1 | json_get 0.plugged)" = True ]
	xo-vm-unpause c1
	[ "$(vm_field c1 power_state)" = Running ]
	be_guest_wait c1 XO-GUEST-READY
	be_can guest_devices >/dev/null || return 0
	run conf_console c1
	assert_output --partial "ro=0 size=16384 first16=$(hex16 "$CONF_RW_HEAD")"
	assert_output --partial "ro=1 size=16384 first16=$(hex16 "$CONF_RO_HEAD")"
	assert_output --partial "XO-GUEST-NIC eth0 mac=$CONF_MAC"
	assert_output --partial "XO-GUEST-READY cpus=2"
}

@test "start --plan | sh -e: the same start, step by step" {
	be_vm c1
	xo-vm-start --plan c1 >"$BATS_TEST_TMPDIR/plan"
	run sh -e "$BATS_TEST_TMPDIR/plan"
	assert_success
	[ "$(vm_field c1 power_state)" = Paused ]
	xo-domain-unpause c1
	be_guest_wait c1 XO-GUEST-READY
}

@test "stat --json and the console: the log and an attached console" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	run xo-vm-stat --json c1
	assert_success
	echo "$output" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["power_state"] == "Running", s
assert s["domid"] is not None, s'
	be_guest_wait c1 XO-GUEST-UP
	[ -n "$(conf_console c1)" ]
	# a command typed on the attached console reaches the guest
	if be_can guest_devices >/dev/null; then
		be_guest_do c1 scan s1
		be_guest_wait c1 XO-GUEST-SCAN-s1-END
		scan_lines c1 s1 | grep -q "mac=$CONF_MAC"
	fi
}

@test "clean shutdown: the guest powers off, nothing is left" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	run xo-vm-shutdown --timeout "$CONF_SHUTDOWN_TIMEOUT" c1
	assert_success
	be_guest_wait c1 XO-GUEST-POWEROFF
	assert_halted_clean c1
	# and the next start works
	xo-vm-start c1
	[ "$(vm_field c1 power_state)" = Paused ]
}

@test "forced shutdown and destroy: nothing is left, paused or running" {
	be_vm c1
	xo-vm-start c1
	run xo-vm-shutdown --force c1
	assert_success
	assert_halted_clean c1
	xo-vm-start c1
	xo-vm-unpause c1
	run xo-vm-destroy c1
	assert_success
	assert_halted_clean c1
}

@test "reboot: a new instance, and the guest boots again" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	d1=$(domid_of c1)
	run xo-vm-reboot --force c1
	assert_success
	[ "$(vm_field c1 power_state)" = Running ]
	[ "$(domid_of c1)" != "$d1" ]
	be_guest_wait c1 XO-GUEST-READY 2
}

@test "pause and unpause" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	xo-vm-pause c1
	[ "$(vm_field c1 power_state)" = Paused ]
	xo-vm-unpause c1
	[ "$(vm_field c1 power_state)" = Running ]
	be_guest_wait c1 XO-GUEST-READY
}

@test "hot plug and unplug of a disk and a nic" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	printf 'XO-CONF-HOTPLUG:' >"$BATS_TEST_TMPDIR/hot.img"
	truncate -s 4M "$BATS_TEST_TMPDIR/hot.img"
	xo-vbd-add c1 --name xvdc --path "$BATS_TEST_TMPDIR/hot.img" >/dev/null
	xo-vif-add c1 --bridge xenbr0 --mac 00:16:3e:5a:00:02 >/dev/null
	run xo-vbd-plug c1 xvdc
	assert_success
	run xo-vif-plug c1 1
	assert_success
	[ "$(xo-vbd-stat --json c1 xvdc | json_get plugged)" = True ]
	if be_can guest_devices >/dev/null; then
		scan_until c1 p1 "first16=$(hex16 XO-CONF-HOTPLUG:)" "mac=00:16:3e:5a:00:02"
	fi
	run xo-vbd-unplug c1 xvdc
	assert_success
	run xo-vif-unplug c1 1
	assert_success
	[ "$(xo-vbd-stat --json c1 xvdc | json_get plugged)" = False ]
	[ "$(xo-vif-stat --json c1 1 | json_get plugged)" = False ]
	be_can guest_devices >/dev/null || return 0
	be_guest_do c1 scan p2
	be_guest_wait c1 XO-GUEST-SCAN-p2-END
	run scan_lines c1 p2
	refute_output --partial "first16=$(hex16 XO-CONF-HOTPLUG:)"
	refute_output --partial "mac=00:16:3e:5a:00:02"
}

@test "cdrom: eject and insert change the disc, the drive stays" {
	need cdrom
	be_vm c1
	printf '%s' "$CONF_CD_HEAD" >"$BATS_TEST_TMPDIR/cd.iso"
	truncate -s 2M "$BATS_TEST_TMPDIR/cd.iso"
	xo-vbd-add c1 --name hdc --type cdrom --mode ro --path "$BATS_TEST_TMPDIR/cd.iso" >/dev/null
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	if be_can guest_devices >/dev/null; then
		conf_console c1 | grep -q "XO-GUEST-CD sr0 first16=$(hex16 "$CONF_CD_HEAD")"
	fi
	run xo-vbd-eject c1 hdc
	assert_success
	[ -z "$(xo-vbd-show --json c1 hdc 2>/dev/null | json_get backend 2>/dev/null)" ] || true
	if be_can guest_devices >/dev/null; then
		be_guest_do c1 scan e1
		be_guest_wait c1 XO-GUEST-SCAN-e1-END
		scan_lines c1 e1 | grep -q "XO-GUEST-CD sr0 first16=none"
	fi
	run xo-vbd-insert c1 hdc "$BATS_TEST_TMPDIR/cd.iso"
	assert_success
	be_can guest_devices >/dev/null || return 0
	be_guest_do c1 scan e2
	be_guest_wait c1 XO-GUEST-SCAN-e2-END
	scan_lines c1 e2 | grep -q "XO-GUEST-CD sr0 first16=$(hex16 "$CONF_CD_HEAD")"
}

@test "check-state without a watcher: a guest that powered off is halted" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	be_guest_do c1 poweroff
	eventually sh -c 'xo-vm-stat c1 | grep -q shutdown=poweroff'
	run xo-vm-check-state c1
	assert_success
	assert_halted_clean c1
}

@test "check-state without a watcher: a guest that rebooted gets a new instance" {
	need guest_reboot
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	d1=$(domid_of c1)
	be_guest_do c1 reboot
	eventually sh -c 'xo-vm-stat c1 | grep -q shutdown=reboot'
	run xo-vm-check-state c1
	assert_success
	[ "$(domid_of c1)" != "$d1" ]
	[ "$(vm_field c1 power_state)" = Running ]
	be_guest_wait c1 XO-GUEST-READY 2
}

@test "the watcher: a guest that reboots itself gets a new instance" {
	need guest_reboot
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	d1=$(domid_of c1)
	start_watchd
	be_guest_do c1 reboot
	eventually sh -c "d=\$(xo-vm-stat --json c1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"domid\"])'); [ \"\$d\" != None ] && [ \"\$d\" != $d1 ]"
	be_guest_wait c1 XO-GUEST-READY 2
}

@test "the watcher: a guest that panics is handled by on_crash (shutdown)" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	start_watchd
	be_guest_do c1 panic
	eventually sh -c '[ "$(xo-vm-stat --json c1 | python3 -c "import json,sys; print(json.load(sys.stdin)[\"power_state\"])")" = Halted ]'
	assert_halted_clean c1
}

@test "the watcher: a guest that powers off is halted" {
	be_vm c1
	xo-vm-start c1
	xo-vm-unpause c1
	be_guest_wait c1 XO-GUEST-READY
	start_watchd
	be_guest_do c1 poweroff
	eventually sh -c '[ "$(xo-vm-stat --json c1 | python3 -c "import json,sys; print(json.load(sys.stdin)[\"power_state\"])")" = Halted ]'
	assert_halted_clean c1
}
