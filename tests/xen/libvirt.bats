#!/usr/bin/env bats
# XO_BACKEND=libvirt on real Xen (the lab), through libvirt's libxl driver
# (XO_LIBVIRT_URI=xen:///system): a PV and a PVH guest with a disk and a NIC reach
# their ready markers; `virsh list` shows them; a clean shutdown, a reboot, and a
# start killed half-way repaired by check-state. The dom0 has no systemd: setup_file
# starts libvirtd (and virtlogd) and teardown_file stops them.
# bats file_tags=needs:xen

load helpers

BRIDGE=xobr0
DISK_TEXT=XO-PIPELINE-DISK

# lab_cpu_model: libvirt's libxl driver names the host cpu from Xen's hw_caps with a
# model of libvirt's cpu map, and every model there (486 onwards) has VME, which QEMU's
# TCG does not emulate: on the lab's emulated cpu the driver finds none and does not
# start ("x86Decode: Cannot find suitable CPU model for given data"). A Xen host's real
# cpu has VME; the lab's dom0 (a throw-away snapshot) gets one model more, with the
# features the emulated cpu has. Nothing is added where VME is there.
lab_cpu_model() {
	local map=/usr/share/libvirt/cpu_map word0
	word0=$(xl info | awk -F'[ :]+' '$1 == "hw_caps" { print $2 }')
	[ -n "$word0" ] && [ $((0x$word0 & 2)) -eq 0 ] || return 0
	grep -q x86_xo-lab.xml "$map/index.xml" && return 0
	cat >"$map/x86_xo-lab.xml" <<-'MODEL'
	<cpus>
	  <model name='xo-lab-tcg'>
	    <decode host='on' guest='off'/>
	    <feature name='fpu'/>
	    <feature name='pse'/>
	    <feature name='tsc'/>
	    <feature name='pae'/>
	    <feature name='cx8'/>
	    <feature name='apic'/>
	    <feature name='cmov'/>
	    <feature name='mmx'/>
	    <feature name='fxsr'/>
	    <feature name='sse'/>
	    <feature name='sse2'/>
	  </model>
	</cpus>
	MODEL
	sed -i "s|<include filename='x86_486.xml'/>|&\n    <include filename='x86_xo-lab.xml'/>|" "$map/index.xml"
}

setup_file() {
	lab_cpu_model
	if ! virsh -c xen:///system version >/dev/null 2>&1; then
		# the lab's /var/log and /run start empty
		mkdir -p /var/log/libvirt/libxl /var/lib/libvirt/libxl /run/libvirt
		# the lab's image unpacks libvirt without its maintainer scripts: libvirtd's
		# qemu driver (loaded beside libxl's, and fatal to the daemon if it fails)
		# wants the user those create
		getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
		getent passwd libvirt-qemu >/dev/null ||
			useradd --system --gid libvirt-qemu --home-dir /var/lib/libvirt \
				--shell /usr/sbin/nologin libvirt-qemu
		# (the daemons must not hold bats' fd 3: bats would wait for them at the end)
		if ! pgrep -x virtlogd >/dev/null; then
			virtlogd -d 3>&-
			echo 1 > "$BATS_FILE_TMPDIR/virtlogd"
		fi
		# without journald libvirtd's errors would go nowhere: to its log, to say why
		rm -f /var/log/libvirt/libvirtd.log
		LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" libvirtd -d 3>&-
		echo 1 > "$BATS_FILE_TMPDIR/started"
		for _ in $(seq 300); do
			virsh -c xen:///system version >/dev/null 2>&1 && break
			# a driver that cannot start ends libvirtd: no need to wait for it
			grep -q "Driver state initialization failed" /var/log/libvirt/libvirtd.log 2>/dev/null && break
			sleep 0.2
		done
	fi
	virsh -c xen:///system version >/dev/null || {
		tail -5 /var/log/libvirt/libvirtd.log >&2
		return 1
	}
}

teardown_file() {
	if [ -e "$BATS_FILE_TMPDIR/started" ] && [ -e /run/libvirtd.pid ]; then
		kill "$(cat /run/libvirtd.pid)" 2>/dev/null || true
	fi
	if [ -e "$BATS_FILE_TMPDIR/virtlogd" ]; then
		pkill -x virtlogd || true
	fi
}

setup() {
	xen_setup
	export XO_BACKEND=libvirt XO_LIBVIRT_URI=xen:///system XO_REBOOT_DELAY=0
}

teardown() {
	local vm
	for vm in $(xo-vm-list 2>/dev/null | awk '{ print $1 }'); do
		xo-vm-destroy "$vm" >/dev/null 2>&1 || true
	done
	for f in "$BATS_TEST_TMPDIR"/*.img; do
		[ -e "$f" ] && losetup -j "$f" | cut -d: -f1 | xargs -r -n1 losetup -d 2>/dev/null
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -d /out ]; then
		mkdir -p "/out/failed/$BATS_SUITE_TEST_NUMBER"
		cp /var/log/xen/xen-hotplug.log /var/log/libvirt/libvirtd.log /var/log/libvirt/libxl/*.log \
			"/out/failed/$BATS_SUITE_TEST_NUMBER/" 2>/dev/null || true
	fi
	xen_teardown
}

# add_guest NAME TYPE: a VM with a disk (a loop device: libxl's phy backend) and a NIC
add_guest() {
	local name=$1 type=$2 img="$BATS_TEST_TMPDIR/$1.img" loop
	ensure_bridge "$BRIDGE"
	disk_image "$img" "$DISK_TEXT"
	loop=$(losetup -f --show "$img")
	run xo-vm-add --name "$name" --type "$type" --memory 128M --vcpus 1 \
		--kernel "$GUEST_KERNEL" --ramdisk "$GUEST_INITRD" \
		--cmdline "$GUEST_CMDLINE xo.expect=$DISK_TEXT"
	assert_success
	run xo-vbd-add "$name" --path "$loop"
	assert_success
	run xo-vif-add "$name" --bridge "$BRIDGE" --mac 00:16:3e:5a:00:03
	assert_success
}

# start_and_check NAME: start (libvirt), virsh's and xl's view, unpause, the guest's own
# view; sets DOMID and CONSOLE_FROM (boot_guest: a triple fault before the guest's first
# marker is retried once, after xo-vm-destroy)
start_and_check() {
	local name=$1
	START_NAME=$name
	boot_guest "xo-$name" "$(xo-vm-show "$name" | awk '$1 == "type" { print $2 }')" \
		start_unpaused destroy_started
	run console_text "xo-$name" "$CONSOLE_FROM"
	assert_line --regexp "^XO-GUEST-XVDA-OK size=32768 first16=[0-9a-f]{32} match=yes$"
	assert_line "XO-GUEST-ETH0-OK mac=00:16:3e:5a:00:03"
}

# start_unpaused: boot_guest's START: xo-vm-start of $START_NAME, paused in virsh's list and
# known to xl, then xo-vm-unpause; sets DOMID
start_unpaused() {
	local name=$START_NAME
	run xo-vm-start "$name"
	assert_success
	assert_equal "$(vm_field "$name" power)" Paused
	DOMID=$(vm_field "$name" domid)
	run virsh -c xen:///system list
	assert_output --regexp "xo-$name +paused"
	# the domain is Xen's too
	run xl list "xo-$name"
	assert_success
	assert_line --regexp "^xo-$name +$DOMID +"
	run xo-vm-unpause "$name"
	assert_success
}

# destroy_started: boot_guest's STOP: the faulted guest's domain goes
destroy_started() {
	run xo-vm-destroy "$START_NAME"
	assert_success
	assert_gone "$START_NAME"
}

assert_gone() {
	assert_equal "$(vm_field "$1" power)" Halted
	run virsh -c xen:///system list --all --name
	refute_output --partial "xo-$1"
	assert_only_dom0
}

lifecycle() {
	local name="$GUEST-$1"
	add_guest "$name" "$1"
	start_and_check "$name"
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	run console_text "xo-$name" "$CONSOLE_FROM"
	assert_line XO-GUEST-POWEROFF
	assert_gone "$name"
}

@test "libvirt (xen): a PV guest with a disk and a NIC boots, virsh lists it, a clean shutdown ends it" {
	lifecycle pv
}

@test "libvirt (xen): a PVH guest with a disk and a NIC boots, virsh lists it, a clean shutdown ends it" {
	lifecycle pvh
}

@test "libvirt (xen): xo-vm-reboot makes a new domain that boots again" {
	local name="$GUEST-r"
	add_guest "$name" pv
	start_and_check "$name"
	# the new domain's boot: the console log goes on from here (the first boot's
	# XO-GUEST-READY is before it)
	local from
	from=$(console_size "xo-$name")
	run xo-vm-reboot --timeout 120 "$name"
	assert_success
	assert_equal "$(vm_field "$name" power)" Running
	wait_console "xo-$name" XO-GUEST-READY 180 "$from"
	run xo-vm-destroy "$name"
	assert_success
	assert_gone "$name"
}

@test "libvirt (xen): a start killed half-way is repaired by check-state" {
	local name="$GUEST-k" step
	add_guest "$name" pv
	for step in VM_create:crash-after "VBD_plug xvda:crash-after" "VIF_plug 0:crash-after"; do
		XO_FAULT=$step run xo-vm-start "$name"
		assert_failure
		run xo-vm-check-state "$name"
		assert_success
		assert_gone "$name"
	done
}

@test "libvirt (xen): a disk and a NIC plugged into a running guest connect, and unplug cleanly" {
	local name="$GUEST-hot" hot="$BATS_TEST_TMPDIR/hot.img" loop
	add_guest "$name" pv
	start_and_check "$name"
	disk_image "$hot" XO-LIBVIRT-HOTPL
	loop=$(losetup -f --show "$hot")
	hot_plug "$name" "$loop" 00:16:3e:5a:00:04
	# libvirt's view
	run virsh -c xen:///system domblklist "xo-$name"
	assert_line --regexp "^ *xvdb +$loop\$"
	run virsh -c xen:///system domiflist "xo-$name"
	assert_output --partial 00:16:3e:5a:00:04
	hot_unplug "$name"
	run virsh -c xen:///system domblklist "xo-$name"
	refute_output --partial xvdb
	run virsh -c xen:///system domiflist "xo-$name"
	refute_output --partial 00:16:3e:5a:00:04
	run xenstore-exists "/local/domain/0/backend/vbd/$DOMID/51728"
	assert_failure
	# the guest runs on with its first disk and NIC, and powers off cleanly
	run xo-vm-shutdown --timeout 120 "$name"
	assert_success
	assert_gone "$name"
}
