#!/usr/bin/env bats
# The rest of the lifecycle: shutdown, reboot, destroy, pause, unpause, and
# device hot operations.
load helpers

setup() { xo_setup; }
teardown() { xo_teardown; }

running_vm() {
	ref_vm "$1"
	xo-vm-start "$1"
	xo-vm-unpause "$1"
	[ "$(vm_field "$1" power_state)" = Running ]
}

@test "a clean shutdown: the guest powers off, everything is released" {
	running_vm web1
	run xo-vm-shutdown web1
	assert_success
	assert_clean_halted web1
}

@test "a guest that ignores shutdown: the clean shutdown times out (99), --force works" {
	running_vm web1
	xo-simd ctl "$(domid_of web1)" ignore-shutdown on
	run xo-vm-shutdown --timeout 1 web1
	assert_failure 99
	assert_output --partial "acknowledge"
	[ "$(vm_field web1 power_state)" = Running ]
	run xo-vm-shutdown --force web1
	assert_success
	assert_clean_halted web1
}

@test "shutting down a halted VM is refused with bad_power_state" {
	ref_vm web1
	run xo-vm-shutdown web1
	assert_failure 1
	assert_output --partial "halted"
}

@test "a clean reboot gives a new domain, running, devices plugged again" {
	running_vm web1
	d1=$(domid_of web1)
	run xo-vm-reboot web1
	assert_success
	d2=$(domid_of web1)
	[ "$d2" != "$d1" ]
	[ "$(vm_field web1 power_state)" = Running ]
	run xo-vbd-stat web1 xvda
	assert_output --partial "active plugged"
	run xs read "/local/domain/$d1/name"
	assert_failure
}

@test "a reboot uses the build record: a config change waits for the next start" {
	running_vm web1
	uuid=$(uuid_of web1)
	sed -i 's/"static_max": 67108864/"static_max": 134217728/; s/"dynamic_max": 67108864/"dynamic_max": 134217728/; s/"dynamic_min": 67108864/"dynamic_min": 134217728/' \
		"$XO_STATE_DIR/VM/$uuid/config"
	xo-vm-reboot --force web1
	d=$(domid_of web1)
	[ "$(xs read /local/domain/$d/memory/static-max)" = 65536 ]
	xo-vm-shutdown --force web1
	xo-vm-start web1
	d=$(domid_of web1)
	[ "$(xs read /local/domain/$d/memory/static-max)" = 131072 ]
}

@test "destroy releases everything at once, and is idempotent" {
	running_vm web1
	run xo-vm-destroy web1
	assert_success
	assert_clean_halted web1
	run xo-vm-destroy web1
	assert_success
}

@test "pause and unpause" {
	running_vm web1
	xo-vm-pause web1
	[ "$(vm_field web1 power_state)" = Paused ]
	xo-vm-unpause web1
	[ "$(vm_field web1 power_state)" = Running ]
	xo-vm-destroy web1
	run xo-vm-pause web1
	assert_failure 1
}

@test "removing a running VM, or a device in use, is refused" {
	running_vm web1
	before=$(state_snapshot)
	run xo-vm-remove web1
	assert_failure 1
	assert_output --partial "not halted"
	run xo-vbd-remove web1 xvda
	assert_failure 1
	assert_output --partial "in use"
	[ "$before" = "$(state_snapshot)" ]
	xo-vm-shutdown --force web1
	run xo-vbd-remove web1 xvda
	assert_success
	run xo-vm-remove web1
	assert_success
}

@test "hot unplug and plug of a disk, clean" {
	running_vm web1
	d=$(domid_of web1)
	run xo-vbd-unplug web1 xvdb
	assert_success
	run xo-vbd-stat --json web1 xvdb
	[ "$(json_get plugged <<<"$output")" = False ]
	[ "$(json_get active <<<"$output")" = False ]
	run xs ls /local/domain/0/backend/vbd/$d/51728
	assert_failure
	no_loops_on "$BATS_TEST_TMPDIR/web1-data.img"
	run xo-vbd-plug web1 xvdb
	assert_success
	run xo-vbd-stat --json web1 xvdb
	[ "$(json_get plugged <<<"$output")" = True ]
}

@test "a guest that refuses an unplug: the error names the guest's message; --force works" {
	running_vm web1
	xo-simd ctl "$(domid_of web1)" refuse-unplug on
	run xo-vbd-unplug web1 xvdb
	assert_failure 1
	assert_output --partial "refused"
	run xo-vbd-stat --json web1 xvdb
	[ "$(json_get plugged <<<"$output")" = True ]
	run xo-vbd-unplug --force web1 xvdb
	assert_success
	run xo-vbd-stat --json web1 xvdb
	[ "$(json_get plugged <<<"$output")" = False ]
}

@test "cd media: eject and insert" {
	add_vm web1
	printf 'ISO' > "$BATS_TEST_TMPDIR/a.iso"
	xo-vbd-add web1 --type cdrom --path "$BATS_TEST_TMPDIR/a.iso" --name xvdc
	xo-vm-start web1
	run xo-vbd-eject web1 xvdc
	assert_success
	run xo-vbd-list --json web1
	[ "$(json_get 0.backend <<<"$output")" = "" ]
	run xo-vbd-eject web1 xvdc
	assert_failure 1
	assert_output --partial "no media"
	run xo-vbd-insert web1 xvdc "$BATS_TEST_TMPDIR/missing.iso"
	assert_failure 1
	run xo-vbd-insert web1 xvdc "$BATS_TEST_TMPDIR/a.iso"
	assert_success
	run xo-vbd-stat --json web1 xvdc
	[ "$(json_get plugged <<<"$output")" = True ]
	disk_image "$BATS_TEST_TMPDIR/d.img"
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/d.img" --name xvdd
	run xo-vbd-eject web1 xvdd
	assert_failure 1
	assert_output --partial "only cdrom and floppy"
}

@test "vif carrier and locking mode" {
	running_vm web1
	d=$(domid_of web1)
	xo-vif-set-carrier web1 0 off
	[ "$(xs read /local/domain/$d/device/vif/0/disconnect)" = 1 ]
	[ "$(xo-vif-list --json web1 | json_get 0.carrier)" = False ]
	xo-vif-set-carrier web1 0 on
	[ "$(xs read /local/domain/$d/device/vif/0/disconnect)" = 0 ]
	xo-vif-set-locking web1 0 locked --allow 10.0.0.5 --allow fd00::5
	uuid=$(uuid_of web1)
	[ "$(xs read /xo/vm/$uuid/private/vif/0/locking-mode)" = locked ]
	[ "$(xs read /xo/vm/$uuid/private/vif/0/ipv4-allowed)" = 10.0.0.5 ]
	run nft list table netdev "xo-vif$d.0"
	assert_success
	assert_output --partial "10.0.0.5"
	xo-vif-set-locking web1 0 disabled
	[ "$(xs read /local/domain/$d/device/vif/0/disconnect)" = 1 ]
	xo-vif-set-locking web1 0 unlocked
	run nft list table netdev "xo-vif$d.0"
	assert_failure
	run xo-vif-set-locking web1 0 locked --allow 999.1.1.1
	assert_failure 1
	assert_output --partial "invalid ipv4 address"
}

@test "hot unplug and plug of a vif" {
	running_vm web1
	d=$(domid_of web1)
	xo-vif-unplug web1 0
	run ip link show "vif$d.0"
	assert_failure
	xo-vif-plug web1 0
	run ip -o link show "vif$d.0"
	assert_output --partial "master xenbr0"
}

@test "pci devices: plugged at start in position order, unplugged and plugged by hand, released at shutdown" {
	add_vm web1 >/dev/null
	xo-pci-add web1 --address 0000:04:00.1 --position 1 >/dev/null
	xo-pci-add web1 --address 0000:03:00.0 --position 0 >/dev/null
	run xo-vm-start --plan web1
	assert_success
	[ "$(grep -n 'xo-pci-plug web1' <<<"$output" | cut -d: -f2)" = "$(printf 'xo-pci-plug web1 0\nxo-pci-plug web1 1')" ]
	xo-vm-start web1
	d=$(domid_of web1)
	run xo-pci-stat --json web1
	[ "$(json_get 0.plugged <<<"$output")" = True ]
	[ "$(json_get 1.plugged <<<"$output")" = True ]
	[ "$(json_get 1.position <<<"$output")" = 1 ]
	be=/local/domain/0/backend/pci/$d/0
	[ "$(xs read $be/num_devs)" = 2 ]
	[ "$(xs read $be/dev-0)" = 0000:03:00.0 ]
	[ "$(xs read $be/dev-1)" = 0000:04:00.1 ]
	run xo-pci-unplug web1 1
	assert_success
	run xo-pci-stat web1 1
	assert_output "1 inactive unplugged"
	run xo-pci-stat web1 0
	assert_output "0 active plugged"
	run xo-pci-plug web1 1
	assert_success
	run xo-pci-stat web1 1
	assert_output "1 active plugged"
	run xo-pci-unplug web1 7
	assert_failure 1
	assert_output --partial "does not exist"
	xo-vm-shutdown --force web1
	assert_clean_halted web1
	run xo-pci-stat web1
	assert_line "0 inactive unplugged"
	assert_line "1 inactive unplugged"
}

@test "a locked vif's rules go with it: clean unplug, and a shutdown (netback drops hotplug-status first)" {
	running_vm web1
	d=$(domid_of web1)
	xo-vif-set-locking web1 0 locked --allow 10.0.0.5
	nft list table netdev "xo-vif$d.0" >/dev/null
	# clean unplug: the guest closes, netback unregisters, the offline action still runs
	run xo-vif-unplug web1 0
	assert_success
	run nft list table netdev "xo-vif$d.0"
	assert_failure
	run xo-vif-plug web1 0
	assert_success
	nft list table netdev "xo-vif$d.0" >/dev/null
	run xo-vm-shutdown --force web1
	assert_success
	run nft list table netdev "xo-vif$d.0"
	assert_failure
	assert_clean_halted web1
	log=$XO_STATE_DIR/VM/$(uuid_of web1)/hotplug.log
	[ "$(grep -c "vif offline backend/vif/$d/0: vif$d.0 detached" "$log")" -eq 2 ] ||
		fail "the offline action did not run twice: $(cat "$log")"
}

@test "xo-vm-list shows each VM's power state and domain beside its configuration" {
	ref_vm web1
	add_vm web2 >/dev/null
	run xo-vm-list
	assert_success
	assert_line --regexp "^$(uuid_of web1) web1 pv 64M 1 Halted -$"
	xo-vm-start web1
	run xo-vm-list
	assert_line --regexp "^$(uuid_of web1) web1 pv 64M 1 Paused $(domid_of web1)$"
	assert_line --regexp "^$(uuid_of web2) web2 pv 64M 1 Halted -$"
	xo-vm-unpause web1
	run xo-vm-list --json
	assert_success
	python3 -c '
import json, sys
d = {v["name"]: v for v in json.load(sys.stdin)}
assert d["web1"]["power_state"] == "Running" and d["web1"]["domid"] == int(sys.argv[1]), d
assert d["web2"]["power_state"] == "Halted" and d["web2"]["domid"] is None, d' "$(domid_of web1)" <<<"$output"
	xo-vm-destroy web1
	run xo-vm-list
	assert_line --regexp "^$(uuid_of web1) web1 pv 64M 1 Halted -$"
}
