#!/usr/bin/env bats
# VM start on the simulator: the result in xenstore and in stat, the order
# of the micro-ops, the plan, the micro-ops by hand.
load helpers

setup() { xo_setup; }
teardown() { xo_teardown; }

@test "xo-vm-start leaves the VM paused with every device plugged" {
	ref_vm web1
	run xo-vm-start web1
	assert_success
	run xo-vm-stat --json web1
	assert_success
	stat=$output
	[ "$(json_get power_state <<<"$stat")" = Paused ]
	domid=$(json_get domid <<<"$stat")
	[ "$domid" -gt 0 ]
	[ "$(json_get memory_target <<<"$stat")" = $((64 << 20)) ]
	[ "$(json_get vcpu_target <<<"$stat")" = 1 ]
	[ "$(json_get consoles.0.protocol <<<"$stat")" = vt100 ]
	run json_get start_time <<<"$stat"
	[ "${output%.*}" -gt 1700000000 ]
	for d in xvda xvdb; do
		run xo-vbd-stat --json web1 "$d"
		[ "$(json_get active <<<"$output")" = True ]
		[ "$(json_get plugged <<<"$output")" = True ]
	done
	run xo-vif-stat --json web1 0
	[ "$(json_get active <<<"$output")" = True ]
	[ "$(json_get plugged <<<"$output")" = True ]
	# exactly one domain carries the VM's uuid
	uuid=$(xo-vm-show --json web1 | json_get uuid)
	run xs list "/vm/$uuid/domains"
	assert_output "$domid"
	# the start completed: no action request is left
	run xs read "/local/domain/$domid/action-request"
	assert_failure
}

@test "the xenstore layout of a started VM: domain, backends, frontends, permissions" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	uuid=$(xo-vm-show --json web1 | json_get uuid)
	[ "$(xs read /local/domain/$d/vm)" = "/vm/$uuid" ]
	[ "$(xs read /local/domain/$d/name)" = web1 ]
	[ "$(xs read /local/domain/$d/memory/static-max)" = 65536 ]
	xs read /local/domain/$d/store/port >/dev/null
	xs read /local/domain/$d/console/ring-ref >/dev/null
	be=/local/domain/0/backend/vbd/$d/51712
	[ "$(xs read $be/params)" = "$BATS_TEST_TMPDIR/web1-root.img" ]
	[ "$(xs read $be/mode)" = w ]
	[ "$(xs read $be/type)" = phy ]
	[ "$(xs read $be/dev)" = xvda ]
	[ "$(xs read $be/frontend-id)" = "$d" ]
	[ "$(xs read $be/hotplug-status)" = connected ]
	[ "$(xs read /local/domain/0/backend/vbd/$d/51728/mode)" = r ]
	[ "$(xs read /local/domain/$d/device/vbd/51712/backend)" = "$be" ]
	[ "$(xs read /local/domain/$d/device/vbd/51712/virtual-device)" = 51712 ]
	# frontend owned by the guest with read for dom0; backend owned by dom0 with read for the guest
	perms=$(XENSTORED_PATH="$XO_STATE_DIR/sim/xenstored.sock" xenstore-ls -p /local/domain/$d/device/vbd | sed -n 1p)
	[[ "$perms" == *"(n$d,r0)"* ]]
	perms=$(XENSTORED_PATH="$XO_STATE_DIR/sim/xenstored.sock" xenstore-ls -p /local/domain/0/backend/vbd/$d | sed -n 1p)
	[[ "$perms" == *"(n0,r$d)"* ]]
	vb=/local/domain/0/backend/vif/$d/0
	[ "$(xs read $vb/bridge)" = xenbr0 ]
	[ "$(xs read $vb/hotplug-status)" = connected ]
	[ "$(xs read $vb/mac)" = "$(xo-vif-list --json web1 | json_get 0.mac)" ]
	# the vif device is on the bridge
	run ip -o link show "vif$d.0"
	assert_output --partial "master xenbr0"
}

@test "read/write disks are plugged before read-only ones, vifs by position" {
	add_vm web1
	for n in a b c d; do disk_image "$BATS_TEST_TMPDIR/$n.img"; done
	xo-vbd-add web1 --name xvda --path "$BATS_TEST_TMPDIR/a.img" --mode ro
	xo-vbd-add web1 --name xvdb --path "$BATS_TEST_TMPDIR/b.img"
	xo-vbd-add web1 --name xvdc --path "$BATS_TEST_TMPDIR/c.img" --mode ro
	xo-vbd-add web1 --name xvdd --path "$BATS_TEST_TMPDIR/d.img"
	bridge xenbr0
	xo-vif-add web1 --position 3
	xo-vif-add web1 --position 1
	xo-vif-add web1 --position 2
	run xo-vm-start --plan web1
	assert_success
	plugs=$(grep -E '^xo-(vbd|vif)-plug' <<<"$output" | awk '{print $3}' | tr '\n' ' ')
	[ "$plugs" = "xvdb xvdd xvda xvdc 1 2 3 " ]
	xo-vm-start web1
	# the order the hotplug scripts really ran in
	uuid=$(xo-vm-show --json web1 | json_get uuid)
	order=$(grep -oE '(block add backend/vbd/[0-9]+/[0-9]+|vif online backend/vif/[0-9]+/[0-9]+)' \
		"$XO_STATE_DIR/VM/$uuid/hotplug.log" | awk -F/ '{print $NF}' | tr '\n' ' ')
	[ "$order" = "51728 51760 51712 51744 1 2 3 " ]
}

@test "xo-vm-start --plan prints xo commands, and piped to sh -e it starts the VM" {
	ref_vm web1
	run xo-vm-start --plan web1
	assert_success
	assert_line --index 0 "xo-hook-run web1 vm-pre-start --reason none"
	assert_line --index 1 "xo-domain-create web1"
	assert_line --index 2 "xo-domain-build web1"
	assert_line "xo-vbd-plug web1 xvda"
	assert_line "xo-vif-plug web1 0"
	assert_line --index $((${#lines[@]} - 1)) "xo-vm-set-action-request web1 none"
	xo-vm-start --plan web1 | sh -e
	[ "$(vm_field web1 power_state)" = Paused ]
	run xo-vbd-stat web1
	assert_line --partial "xvda active plugged"
	assert_line --partial "xvdb active plugged"
}

# the xenstore tree of a domain with what legitimately differs between two starts masked
tree() {
	local d=$1
	XENSTORED_PATH="$XO_STATE_DIR/sim/xenstored.sock" xenstore-ls -f /local/domain/$d \
		/local/domain/0/backend | sed -e "s#/$d/#/D/#g; s#/$d\$#/D#; s#/$d #/D #g" \
		-e 's/^\(.*unique-domain-id\) = .*/\1/' -e 's/^\(.*\/domid\) = .*/\1/' \
		-e 's/^\(.*\/frontend-id\) = .*/\1/' -e 's/^\(.*physical-device.*\|.*\/node\) = .*/\1/' \
		-e 's/^\(.*ring-ref\|.*\/port\) = .*/\1/' | sort
}

@test "the micro-ops run by hand in sequence give the same domain as xo-vm-start" {
	ref_vm web1
	xo-vm-start web1
	d1=$(domid_of web1)
	tree "$d1" > "$BATS_TEST_TMPDIR/one"
	xo-domain-destroy web1 2>/dev/null || xo-vm-destroy web1
	[ "$(vm_field web1 power_state)" = Halted ]
	while read -r cmd; do
		$cmd
	done < <(xo-vm-start --plan web1)
	d2=$(domid_of web1)
	[ "$d2" != "$d1" ]
	tree "$d2" > "$BATS_TEST_TMPDIR/two"
	run diff "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
	assert_success
}

@test "a micro-op by hand waits for the VM lock, or fails at once with -n" {
	ref_vm web1
	uuid=$(xo-vm-show --json web1 | json_get uuid)
	exec {lk}>"$XO_STATE_DIR/VM/$uuid/lock"
	flock "$lk"
	run xo-domain-create -n web1
	assert_failure 1
	assert_output --partial "busy"
	timeout 0.5 xo-domain-create web1 && false
	flock -u "$lk"
	exec {lk}>&-
	run xo-domain-create web1
	assert_success
	[ "$(vm_field web1 power_state)" != Halted ]
}

@test "xo-vm-start --async prints a task id that xo-task-wait waits for" {
	ref_vm web1
	run xo-vm-start --async web1
	assert_success
	task=$output
	[[ "$task" =~ ^[0-9a-f]{12}$ ]]
	run xo-task-wait "$task"
	assert_success
	assert_output "$task completed"
	run xo-task-stat --json "$task"
	[ "$(json_get state <<<"$output")" = completed ]
	[ "$(json_get op <<<"$output")" = VM_start ]
	xo-task-destroy "$task"
	run xo-task-stat "$task"
	assert_failure 1
}

@test "starting a running VM fails with bad_power_state and changes nothing" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	run xo-vm-start web1
	assert_failure 1
	assert_output --partial "not halted"
	[ "$(domid_of web1)" = "$d" ]
	[ "$(vm_field web1 power_state)" = Paused ]
}

@test "xo-vm-unpause runs a started VM" {
	ref_vm web1
	xo-vm-start web1
	xo-vm-unpause web1
	[ "$(vm_field web1 power_state)" = Running ]
}

@test "a non-persistent disk is reset to its original content on every start" {
	add_vm web1
	printf 'ORIGINAL' > "$BATS_TEST_TMPDIR/np.img"
	truncate -s 1M "$BATS_TEST_TMPDIR/np.img"
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/np.img" --persistent no
	xo-vm-start web1
	d=$(domid_of web1)
	dev=$(xs read /local/domain/0/backend/vbd/$d/51712/physical-device-path)
	printf 'CHANGED!' | dd of="$dev" conv=notrunc 2>/dev/null
	sync
	[ "$(head -c 8 "$BATS_TEST_TMPDIR/np.img")" = ORIGINAL ]
	xo-vm-destroy web1
	xo-vm-start web1
	d=$(domid_of web1)
	dev=$(xs read /local/domain/0/backend/vbd/$d/51712/physical-device-path)
	[ "$(head -c 8 "$dev")" = ORIGINAL ]
}

@test "a micro-op program takes only the options that mean something to it" {
	ref_vm web1
	run xo-domain-create --allow 192.0.2.1 web1
	assert_failure 100
	assert_output --partial "unknown option '--allow'"
	run xo-vbd-plug --keep-build web1 xvda
	assert_failure 100
	run xo-domain-destroy --force web1
	assert_failure 100
	[ "$(vm_field web1 power_state)" = Halted ]
}

@test "a read-only disk gets discard-enable=0 and no discard; both carry specification=xen" {
	ref_vm web1
	xo-vm-start web1
	xo-vm-unpause web1
	d=$(domid_of web1)
	be=/local/domain/0/backend/vbd/$d
	[ "$(xs read $be/51728/discard-enable)" = 0 ]
	[ "$(xs read $be/51728/feature-discard)" = 0 ]
	[ "$(xs read $be/51712/discard-enable)" = 1 ]
	[ "$(xs read $be/51712/feature-discard)" = 1 ]
	[ "$(xs read $be/51712/specification)" = xen ]
	[ "$(xs read $be/51728/specification)" = xen ]
}

@test "what the guest may write in xenstore is what xl lets it write" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	guest() { XENSTORED_PATH="$XO_STATE_DIR/sim/domain/$d.sock" "$XO_SRC/build/unit/sim-xs" "$@"; }
	dom=/local/domain/$d
	# control/ and device/ are dom0's, the guest reads them
	for n in control device device/vbd device/vif; do
		run guest getperms $dom/$n
		assert_output "ok n0 r$d"
	done
	run guest write $dom/control/platform-feature-xs_reset_watches 0
	assert_output "error EACCES"
	[ "$(xs read $dom/control/platform-feature-xs_reset_watches)" = 1 ]
	run guest write $dom/control/platform-feature-new 1
	assert_output "error EACCES"
	run guest write $dom/device/vbd/99/state 1
	assert_output "error EACCES"
	run guest write $dom/device/console/0/state 1
	assert_output "error EACCES"
	run guest rm $dom/device/vif
	assert_output "error EACCES"
	# the vif's mtu is read-only to it, the rest of its frontends its own
	run guest write $dom/device/vif/0/mtu 9000
	assert_output "error EACCES"
	run guest read $dom/device/vif/0/mtu
	assert_output "ok 1500"
	run guest write $dom/device/vif/0/feature-sg 1
	assert_output ok
	run guest write $dom/device/vbd/51712/protocol x86_64-abi
	assert_output ok
	[ "$(xs read $dom/device/vbd/51712/trusted)" = 1 ]
	# what its drivers answer in, as xl makes it (a pv guest: no feature-s3/-s4)
	for n in control/shutdown control/sysrq control/feature-poweroff control/feature-reboot \
		control/feature-suspend device/suspend/event-channel data/x; do
		run guest write $dom/$n ""
		assert_output ok
	done
	run guest write $dom/control/feature-s3 1
	assert_output "error EACCES"
	# the guest boots, answers and acknowledges a shutdown in those nodes
	xo-vm-unpause web1
	[ "$(xs read $dom/control/feature-poweroff)" = 1 ]
	run xo-vm-shutdown web1
	assert_success
	[ "$(vm_field web1 power_state)" = Halted ]
}

@test "an hvm domain's guest may answer control/feature-s3 and -s4" {
	xo-vm-add --name web1 --type hvm --memory 64M >/dev/null
	xo-vm-start web1
	d=$(domid_of web1)
	for n in feature-s3 feature-s4; do
		run env XENSTORED_PATH="$XO_STATE_DIR/sim/domain/$d.sock" "$XO_SRC/build/unit/sim-xs" \
			write /local/domain/$d/control/$n 1
		assert_output ok
	done
}

@test "what xl reads: /vm/<uuid>/start_time and libxl's device entries, gone with the devices" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	uuid=$(uuid_of web1)
	st=$(xs read /vm/$uuid/start_time)
	[[ "$st" =~ ^[0-9]+\.[0-9][0-9]$ ]]
	[ "${st%.*}" = "$(vm_field web1 start_time | cut -d. -f1)" ]
	lx=/libxl/$d/device
	run xs ls -p $lx
	[[ "${lines[0]}" == *"(n0)"* ]]
	[ "$(xs read $lx/vbd/51712/backend)" = /local/domain/0/backend/vbd/$d/51712 ]
	[ "$(xs read $lx/vbd/51712/frontend)" = /local/domain/$d/device/vbd/51712 ]
	[ "$(xs read $lx/vbd/51712/params)" = "$BATS_TEST_TMPDIR/web1-root.img" ]
	[ "$(xs read $lx/vbd/51712/dev)" = xvda ]
	[ "$(xs read $lx/vbd/51712/type)" = phy ]
	[ "$(xs read $lx/vbd/51712/mode)" = w ]
	[ "$(xs read $lx/vbd/51712/removable)" = 1 ]
	[ "$(xs read $lx/vbd/51712/device-type)" = disk ]
	[ "$(xs read $lx/vbd/51728/mode)" = r ]
	[ "$(xs read $lx/vif/0/backend)" = /local/domain/0/backend/vif/$d/0 ]
	[ "$(xs read $lx/vif/0/frontend)" = /local/domain/$d/device/vif/0 ]
	[ "$(xs read $lx/vif/0/handle)" = 0 ]
	[ "$(xs read $lx/vif/0/mac)" = "$(xo-vif-list --json web1 | json_get 0.mac)" ]
	[ "$(xs read $lx/vif/0/bridge)" = xenbr0 ]
	[ "$(xs read $lx/vif/0/type)" = vif ]
	[ "$(xs read $lx/vif/0/mtu)" = 1500 ]
	# the guest reads none of it
	run env XENSTORED_PATH="$XO_STATE_DIR/sim/domain/$d.sock" "$XO_SRC/build/unit/sim-xs" \
		read $lx/vbd/51712/params
	assert_output "error EACCES"
	xo-vbd-unplug --force web1 xvdb
	run xs exists $lx/vbd/51728
	assert_failure
	xo-vbd-plug web1 xvdb
	[ "$(xs read $lx/vbd/51728/dev)" = xvdb ]
	xo-vif-unplug --force web1 0
	run xs exists $lx/vif/0
	assert_failure
	xo-vm-destroy web1
	run xs exists /libxl/$d
	assert_failure
	run xs exists /vm/$uuid
	assert_failure
}

@test "xl list -l: libxl's record of the domain, written at build, gone with the domain" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	uuid=$(uuid_of web1)
	f="$XO_STATE_DIR/sim/libxl/userdata-d.$d.$uuid.libxl-json"
	[ -s "$f" ]
	[ "$(json_get c_info <"$f")" = "{\"type\": \"pv\", \"name\": \"web1\", \"uuid\": \"$uuid\"}" ]
	[ "$(json_get b_info.max_memkb <"$f")" = 65536 ]
	[ "$(json_get b_info.target_memkb <"$f")" = 65536 ]
	[ "$(json_get b_info.max_vcpus <"$f")" = 1 ]
	[ "$(json_get b_info.kernel <"$f")" = "$KERNEL" ]
	# (a keyed union: libxl names the member "type.pv")
	[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["b_info"]["type.pv"])' "$f")" = "{}" ]
	[ "$(json_get disks.0.vdev <"$f")" = xvda ]
	[ "$(json_get disks.0.readwrite <"$f")" = 1 ]
	[ "$(json_get disks.0.pdev_path <"$f")" = "$BATS_TEST_TMPDIR/web1-root.img" ]
	[ "$(json_get disks.1.vdev <"$f")" = xvdb ]
	[ "$(json_get disks.1.readwrite <"$f")" = 0 ]
	[ "$(json_get nics.0.mac <"$f")" = "$(xo-vif-list --json web1 | json_get 0.mac)" ]
	[ "$(json_get nics.0.bridge <"$f")" = xenbr0 ]
	[ "$(json_get on_poweroff <"$f")" = destroy ]
	[ "$(json_get on_reboot <"$f")" = restart ]
	[ "$(json_get on_crash <"$f")" = destroy ]
	# a disk added and plugged at run time joins the record before it is plugged
	disk_image "$BATS_TEST_TMPDIR/web1-hot.img"
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/web1-hot.img" --name xvdc >/dev/null
	xo-vbd-plug web1 xvdc
	[ "$(json_get disks.2.vdev <"$f")" = xvdc ]
	# xl list -l leaves its lock beside it: the destroy takes both
	touch "$XO_STATE_DIR/sim/libxl/userdata-l.$d.$uuid.domain-userdata-lock"
	xo-vm-destroy web1
	run ls "$XO_STATE_DIR/sim/libxl"
	assert_output ""
	# a start killed right after its build is repaired (xo-vm-start's own check-state of a
	# dead worker): the record goes with the domain (faults.bats kills at every boundary,
	# assert_clean_halted looks for the record each time)
	XO_FAULT="VM_build:crash-after" run xo-vm-start web1
	assert_failure
	assert_clean_halted web1
	run ls "$XO_STATE_DIR/sim/libxl"
	assert_output ""
}
