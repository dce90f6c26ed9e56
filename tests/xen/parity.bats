#!/usr/bin/env bats
# Parity with Xen's own toolstack on real Xen: what the dom0 tools read of an
# xo VM (xl block-list, xl network-list, xl uptime, xl list -l) agrees with xo's own stat,
# and what the guest may write in xenstore is what xl lets it write: the
# permissions of xo's domain beside those of `xl create -p` of the same guest
# (a PV guest with a read/write and a read-only disk and two NICs), node for
# node under control/ and device/.
# bats file_tags=needs:xen

load helpers

setup() { xen_setup; }
teardown() {
	xl destroy "$GUEST-xl" >/dev/null 2>&1 || true
	xen_teardown
}

BRIDGE=xobr0

# add_pv NAME: a PV VM with xvda (rw), xvdb (ro) and two NICs
add_pv() {
	local name=$1
	ensure_bridge "$BRIDGE"
	disk_image "$BATS_TEST_TMPDIR/$name-a.img" XO-PARITY-DISK-A
	disk_image "$BATS_TEST_TMPDIR/$name-b.img" XO-PARITY-DISK-B
	run xo-vm-add --name "$name" --type pv --memory 128M --vcpus 1 \
		--kernel "$GUEST_KERNEL" --ramdisk "$GUEST_INITRD" --cmdline "$GUEST_CMDLINE"
	assert_success
	run xo-vbd-add "$name" --path "$BATS_TEST_TMPDIR/$name-a.img" --name xvda
	assert_success
	run xo-vbd-add "$name" --path "$BATS_TEST_TMPDIR/$name-b.img" --name xvdb --mode ro
	assert_success
	run xo-vif-add "$name" --bridge "$BRIDGE" --mac 00:16:3e:5c:00:01
	assert_success
	run xo-vif-add "$name" --bridge "$BRIDGE" --mac 00:16:3e:5c:00:02
	assert_success
}

# perms_of DOMID: "PATH PERMS" of every node under the domain's control/ and device/,
# the domain's own id written D (xenstore-ls -f -p: PATH = "VALUE"  . . .  (PERMS))
perms_of() {
	local d=$1
	xenstore-ls -f -p "/local/domain/$d" |
		sed -nE "s#^/local/domain/$d/((control|device)(/[^ ]*)?) = .*\(([^()]*)\)\$#\1 \4#p" |
		awk -v d="$d" '{ n = split($2, e, ","); p = ""
			for (i = 1; i <= n; i++) { id = substr(e[i], 2); if (id == d) id = "D"
				p = p (i > 1 ? "," : "") substr(e[i], 1, 1) id }
			print $1, p }' | LC_ALL=C sort
}

@test "xl block-list, network-list, uptime and list -l agree with xo's stat on a running VM" {
	local name="$GUEST-pv" t0 t1 st up h m s line
	add_pv "$name"
	START_NAME=$name
	boot_guest "$name" pv start_running destroy_vm
	# both NICs and disks connected, as the guest saw them
	wait_xs "/local/domain/0/backend/vif/$DOMID/1/state" 4
	wait_xs "/local/domain/0/backend/vbd/$DOMID/51728/state" 4

	# xl block-list: Vdev BE handle state evt-ch ring-ref BE-path, one line per xo VBD
	run xl block-list "$name"
	assert_success
	assert_equal "${#lines[@]}" 3
	for v in xvda:51712 xvdb:51728; do
		line=$(xo-vbd-stat "$name" "${v%%:*}")
		[[ "$line" == *" plugged state=4/4 "* ]] || fail "xo-vbd-stat: $line"
		assert_line --regexp "^${v#*:} +0 +$DOMID +4 +[0-9]+ +[0-9]+ +/local/domain/0/backend/vbd/$DOMID/${v#*:} *$"
	done
	# xl network-list: Idx BE Mac handle state evt-ch tx/rx BE-path, with xo's MACs;
	# a multi-queue netfront writes its channels under queue-N/, so xl shows -1
	run xl network-list "$name"
	assert_success
	assert_equal "${#lines[@]}" 3
	for i in 0 1; do
		line=$(xo-vif-stat "$name" "$i")
		[[ "$line" == *" plugged state=4/4 "* ]] || fail "xo-vif-stat: $line"
		assert_line --regexp "^$i +0 +00:16:3e:5c:00:0$((i + 1)) +$i +4 +-?[0-9]+ +[0-9]+/[0-9]+ +/local/domain/0/backend/vif/$DOMID/$i *$"
	done
	# xl uptime: now less the start time stat shows, whole seconds (libxl's strtoul)
	st=$(vm_field "$name" start)
	t0=$(date +%s)
	run xl uptime "$name"
	t1=$(date +%s)
	assert_success
	assert_line --regexp "^$name +$DOMID +[0-9]+:[0-9]{2}:[0-9]{2}$"
	IFS=: read -r h m s <<<"$(echo "${lines[1]}" | awk '{ print $3 }')"
	up=$((10#$h * 3600 + 10#$m * 60 + 10#$s))
	[ "$up" -ge $((t0 - ${st%.*})) ] && [ "$up" -le $((t1 - ${st%.*})) ] ||
		fail "xl uptime says $up s, xo's start=$st gives $((t0 - ${st%.*}))..$((t1 - ${st%.*})) s"

	# xl list -l: libxl's record xo wrote at build (type, name, uuid, memory, vcpus, boot),
	# with what libxl itself reads of the devices and the memory target
	local uuid ud
	uuid=$(xo-vm-show "$name" | awk '$1 == "uuid" { print $2 }')
	ud=/var/lib/xen/userdata-d.$DOMID.$uuid.libxl-json
	[ -s "$ud" ]
	run xl list -l "$name"
	assert_success
	assert_output --partial "\"domid\": $DOMID"
	assert_output --partial "\"name\": \"$name\""
	assert_output --partial "\"uuid\": \"$uuid\""
	assert_output --partial "\"max_memkb\": 131072"
	assert_output --partial "\"max_vcpus\": 1"
	assert_output --partial "\"kernel\": \"$GUEST_KERNEL\""
	assert_output --partial "\"pdev_path\": \"$BATS_TEST_TMPDIR/$name-a.img\""
	assert_output --partial "\"pdev_path\": \"$BATS_TEST_TMPDIR/$name-b.img\""
	assert_output --partial "\"mac\": \"00:16:3e:5c:00:01\""
	assert_output --partial "\"mac\": \"00:16:3e:5c:00:02\""

	# the read-only disk has no discard, as under xl
	assert_equal "$(xenstore-read "/local/domain/0/backend/vbd/$DOMID/51728/discard-enable")" 0
	run xenstore-read "/local/domain/0/backend/vbd/$DOMID/51728/feature-discard"
	[ "$status" -ne 0 ] || [ "$output" = 0 ]

	# an unplugged disk and NIC leave xl's lists
	run xo-vbd-unplug "$name" xvdb
	assert_success
	run xo-vif-unplug "$name" 1
	assert_success
	run xl block-list "$name"
	assert_equal "${#lines[@]}" 2
	refute_line --partial "/51728"
	run xl network-list "$name"
	assert_equal "${#lines[@]}" 2
	refute_line --partial "/vif/$DOMID/1"
	run xo-vm-destroy "$name"
	assert_success
	run xenstore-exists "/libxl/$DOMID"
	assert_failure
	# libxl's record goes with the domain, and so does the lock xl list -l left
	run ls /var/lib/xen
	refute_output --partial ".$DOMID.$uuid."
}

@test "the guest may write what it may under xl: control/ and device/ node for node" {
	local name="$GUEST-pv" xd d
	add_pv "$name"
	# the same guest through xl, paused (no frontend writes anything), on disks of its own
	disk_image "$BATS_TEST_TMPDIR/xl-a.img" XO-PARITY-XL-A--
	disk_image "$BATS_TEST_TMPDIR/xl-b.img" XO-PARITY-XL-B--
	cat >"$BATS_TEST_TMPDIR/xl.cfg" <<-CFG
	name = "$GUEST-xl"
	type = "pv"
	kernel = "$GUEST_KERNEL"
	ramdisk = "$GUEST_INITRD"
	extra = "$GUEST_CMDLINE"
	memory = 128
	vcpus = 1
	disk = [ "format=raw, vdev=xvda, access=rw, target=$BATS_TEST_TMPDIR/xl-a.img",
	         "format=raw, vdev=xvdb, access=ro, target=$BATS_TEST_TMPDIR/xl-b.img" ]
	vif = [ "mac=00:16:3e:5c:01:01, bridge=$BRIDGE", "mac=00:16:3e:5c:01:02, bridge=$BRIDGE" ]
	CFG
	run xl create -p "$BATS_TEST_TMPDIR/xl.cfg"
	assert_success
	xd=$(xl domid "$GUEST-xl")
	run xo-vm-start "$name"
	assert_success
	d=$(vm_field "$name" domid)
	perms_of "$xd" >"$BATS_TEST_TMPDIR/xl.perms"
	perms_of "$d" >"$BATS_TEST_TMPDIR/xo.perms"
	# the platform features are dom0's: the guest reads them, never writes them
	run grep -E '^control/platform-feature-' "$BATS_TEST_TMPDIR/xo.perms"
	assert_success
	refute_output --regexp ' (nD|.*,[wb]D)'
	assert_line "control/platform-feature-xs_reset_watches n0,rD"
	assert_line "control/platform-feature-multiprocessor-suspend n0,rD"
	# control/, device/ and what is in both: the same permissions as xl gives
	run env LC_ALL=C join -j 1 "$BATS_TEST_TMPDIR/xl.perms" "$BATS_TEST_TMPDIR/xo.perms"
	assert_success
	assert_line "control n0,rD n0,rD"
	assert_line "device n0,rD n0,rD"
	assert_line "control/shutdown nD nD"
	assert_line "device/vif/0/mtu n0,rD n0,rD"
	assert_line "device/vbd/51712/state nD,r0 nD,r0"
	local differ
	differ=$(awk '$2 != $3' <<<"$output")
	[ -z "$differ" ] || fail "permissions that differ from xl's (node xl xo): $differ"
	# every node xl lets the guest write exists for xo's guest, as writable (inside the
	# frontends' own directories, both the guest's, xl writes keys of its own: protocol)
	run awk '($2 ~ /^nD/ || $2 ~ /,[wb]D/) && $1 !~ /^device\/(vbd|vif)\/[0-9]+\// { print $1 }' \
		"$BATS_TEST_TMPDIR/xl.perms"
	[ "${#lines[@]}" -gt 5 ] || fail "xl's guest may write only: ${lines[*]}"
	for n in "${lines[@]}"; do
		grep -q "^$n nD" "$BATS_TEST_TMPDIR/xo.perms" || fail "xl's guest may write $n, xo's may not"
	done
}
