#!/usr/bin/env bats
# The configuration commands, their success paths and every failure path of
# issue 2's "bad input" list. Each failure is checked with fails_cleanly
# (helpers.bash): the exit status (100 usage, 1 bad value / duplicate /
# unknown object, 111 system error), one "PROG: fatal: ..." line naming the
# problem, and no change in the state directory.
load helpers
load fails

setup() {
	xo_setup
	DISK="$BATS_TEST_TMPDIR/disk.img"
	disk_image "$DISK"
}

teardown() {
	xo_teardown
	if [ -n "${PERM_DIR:-}" ]; then
		rm -rf "$PERM_DIR"
	fi
}

# a VM as JSON: vm_json NAME [EXTRA-FIELDS]
vm_json() {
	printf '{"name": "%s", "memory": {"static_max": 67108864}, "boot": {"kernel": "%s"}%s}\n' \
		"$1" "$KERNEL" "${2:+, $2}"
}

# JSON on standard input: add_json TEXT
add_json() {
	printf '%s' "$1" | xo-vm-add
}

# ------------------------------------------------------------------- VMs: success

@test "xo-vm-add reads JSON from standard input, from -f FILE and from -f -" {
	run add_json "$(vm_json a)"
	assert_success
	assert_output --regexp '^[0-9a-f-]{36}$'
	vm_json b > "$BATS_TEST_TMPDIR/b.json"
	run xo-vm-add -f "$BATS_TEST_TMPDIR/b.json"
	assert_success
	run xo-vm-add -f - < <(vm_json c)
	assert_success
	run xo-vm-list
	assert_line --regexp ' a pv 64M 1 Halted -$'
	assert_line --regexp ' b pv 64M 1 Halted -$'
	assert_line --regexp ' c pv 64M 1 Halted -$'
	[ "${#lines[@]}" -eq 3 ]
}

@test "xo-vm-add flags set every field as documented" {
	printf 'initrd' > "$BATS_TEST_TMPDIR/initrd"
	run add_vm web1 --memory 1G --memory-min 512M --memory-max 768M --vcpus 2 --vcpu-max 4 \
		--ramdisk "$BATS_TEST_TMPDIR/initrd" --cmdline "root=/dev/xvda1 ro" --platform acpi=1 \
		--xsdata vm-data/role=web --on-shutdown pause --on-reboot shutdown --on-crash coredump \
		--uuid 6c1f7c54-3a4e-4a55-9b1f-6d5ab7b8d0c2
	assert_success
	assert_output 6c1f7c54-3a4e-4a55-9b1f-6d5ab7b8d0c2
	run xo-vm-show web1 --json
	assert_success
	json=$output
	[[ $json == *'"static_max": 1073741824'* ]]
	[[ $json == *'"dynamic_min": 536870912'* ]]
	[[ $json == *'"dynamic_max": 805306368'* ]]
	[[ $json == *'"vcpu_max": 4'* ]]
	[[ $json == *'"ramdisk": "'"$BATS_TEST_TMPDIR"'/initrd"'* ]]
	[[ $json == *'"acpi": "1"'* ]]
	[[ $json == *'"vm-data/role": "web"'* ]]
	[[ $json == *'"on_shutdown": "pause"'* ]]
	[[ $json == *'"on_reboot": "shutdown"'* ]]
	[[ $json == *'"on_crash": "coredump"'* ]]
}

@test "sizes are accepted as 512M, 2G, 65536K, 1GiB and plain bytes, stored as bytes" {
	add_vm a --memory 512M >/dev/null
	add_vm b --memory 2G >/dev/null
	add_vm c --memory 65536K >/dev/null
	add_vm d --memory 1GiB >/dev/null
	add_vm e --memory 16777216 >/dev/null
	for v in a:536870912 b:2147483648 c:67108864 d:1073741824 e:16777216; do
		run xo-vm-show "${v%%:*}" --json
		assert_output --partial "\"static_max\": ${v#*:},"
	done
}

@test "a VM is named by name or by uuid everywhere" {
	uuid=$(add_vm web1)
	for ref in web1 "$uuid"; do
		run xo-vm-show "$ref"
		assert_success
		assert_line "uuid $uuid"
		run xo-vbd-add "$ref" --path "$DISK"
		assert_success
		vbd=$output
		run xo-vbd-list "$ref"
		assert_line --regexp "^$vbd disk rw "
		run xo-vbd-remove "$ref" "$vbd"
		assert_success
		run xo-vif-add "$ref"
		assert_success
		pos=$output
		run xo-vif-list "$ref"
		assert_line --regexp "^$pos "
		run xo-vif-remove "$ref" "$pos"
		assert_success
		run xo-pci-add "$ref" --address 0000:03:00.0
		assert_success
		pos=$output
		run xo-pci-list "$ref"
		assert_line "$pos 0000:03:00.0"
		run xo-pci-remove "$ref" "$pos"
		assert_success
	done
	run xo-vm-remove "$uuid"
	assert_success
	add_vm web2 >/dev/null
	run xo-vm-remove web2
	assert_success
	run xo-vm-list
	assert_output ""
	[ -z "$(ls -A "$XO_STATE_DIR/VM")" ]
	[ -z "$(ls "$XO_STATE_DIR/name")" ]
}

@test "a name in uuid form is refused: it could name another VM" {
	uuid=$(add_vm web1)
	fails_cleanly 1 "invalid vm name '$uuid': a uuid is not a name" add_vm "$uuid"
	fails_cleanly 1 "invalid vm name '11111111-2222-4333-8444-555555555555': a uuid is not a name" \
		add_json "$(vm_json 11111111-2222-4333-8444-555555555555)"
	# in any case: xo-vm-remove of the other VM's uuid must never reach a VM named so
	fails_cleanly 1 "a uuid is not a name" add_vm "$(tr a-f A-F <<< "$uuid")"
	run xo-vm-show "$uuid"
	assert_success
	assert_line "name web1"
}

@test "xo-vm-show --json | xo-vm-add into a fresh state directory gives the same VM" {
	add_vm web1 --vcpus 2 --cmdline "console=hvc0" --platform hap=true --xsdata vm-data/a=b >/dev/null
	xo-vbd-add web1 --path "$DISK" --backend-key discard-enable=0 --qos best-effort:2 >/dev/null
	xo-vbd-add web1 --type cdrom >/dev/null
	xo-vif-add web1 --bridge br9 --mtu 9000 --rate 1000/20000 --locking-mode locked \
		--allow 192.0.2.1 --allow 2001:db8::1 >/dev/null
	xo-pci-add web1 --address 0000:03:00.1 --permissive yes >/dev/null
	xo-vm-show web1 --json > "$BATS_TEST_TMPDIR/web1.json"
	XO_STATE_DIR="$BATS_TEST_TMPDIR/fresh" run xo-vm-add < "$BATS_TEST_TMPDIR/web1.json"
	assert_success
	XO_STATE_DIR="$BATS_TEST_TMPDIR/fresh" run xo-vm-show web1 --json
	assert_success
	diff -u "$BATS_TEST_TMPDIR/web1.json" <(printf '%s\n' "$output")
	# the device files are identical too
	uuid=$(xo-vm-list | cut -d' ' -f1)
	diff -r "$XO_STATE_DIR/VM/$uuid" "$BATS_TEST_TMPDIR/fresh/VM/$uuid" -x lock -x queue
}

@test "VBD names are chosen automatically: xvda, xvdb... for pv, hda... for hvm" {
	add_vm pv1 >/dev/null
	run xo-vbd-add pv1 --path "$DISK"
	assert_output xvda
	run xo-vbd-add pv1 --path "$DISK"
	assert_output xvdb
	xo-vbd-add pv1 --path "$DISK" --name xvdf >/dev/null
	run xo-vbd-add pv1 --path "$DISK"
	assert_output xvdg
	xo-vm-add --name hvm1 --type hvm --memory 64M >/dev/null
	for want in hda hdb hdc hdd xvde; do
		run xo-vbd-add hvm1 --path "$DISK"
		assert_output "$want"
	done
	# and in the whole-VM JSON, after the highest name given
	run add_json "$(vm_json pv2 '"vbds": [{"backend": "'"$DISK"'"}, {"backend": "'"$DISK"'", "name": "xvdc"}, {"backend": "'"$DISK"'"}]')"
	assert_success
	run xo-vbd-list pv2
	assert_output "xvdc disk rw $DISK
xvdd disk rw $DISK
xvde disk rw $DISK"
}

@test "VIF positions and random locally administered MACs are chosen automatically" {
	add_vm web1 >/dev/null
	for want in 0 1 2; do
		run xo-vif-add web1
		assert_output "$want"
	done
	xo-vif-add web1 --position 7 >/dev/null
	run xo-vif-add web1
	assert_output 8
	run xo-vif-list web1
	[ "${#lines[@]}" -eq 5 ]
	macs=$(xo-vif-list web1 | cut -d' ' -f2)
	for mac in $macs; do
		[[ $mac =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]]
		first=$((16#${mac%%:*}))
		# locally administered (bit 1), unicast (bit 0 clear)
		[ $((first & 3)) -eq 2 ]
	done
	[ "$(printf '%s\n' $macs | sort -u | wc -l)" -eq 5 ]
	run xo-vif-add web1 --mac 00:16:3E:AA:BB:CC
	assert_output 9
	run xo-vif-list web1
	assert_line "9 00:16:3e:aa:bb:cc xenbr0 1500 unlocked"
}

@test "PCI positions are chosen automatically; bb:dd.f means domain 0000" {
	add_vm db1 >/dev/null
	run xo-pci-add db1 --address 0000:03:00.0
	assert_output 0
	run xo-pci-add db1 --address 04:00.1
	assert_output 1
	run xo-pci-list db1
	assert_output "0 0000:03:00.0
1 0000:04:00.1"
}

@test "an hvm VM boots from its disks; a cdrom is read-only; an empty cd drive needs no path" {
	run xo-vm-add --name hvm1 --type hvm --memory 64M --boot-order dc
	assert_success
	run xo-vbd-add hvm1 --type cdrom
	assert_success
	assert_output hda
	run xo-vbd-list hvm1
	assert_output "hda cdrom ro -"
}

@test "xo-vm-remove removes the VM, its devices and its name" {
	uuid=$(add_vm web1)
	xo-vbd-add web1 --path "$DISK" >/dev/null
	xo-vif-add web1 >/dev/null
	run xo-vm-remove web1
	assert_success
	assert_output ""
	[ ! -e "$XO_STATE_DIR/VM/$uuid" ]
	[ ! -L "$XO_STATE_DIR/name/web1" ]
	[ -z "$(ls -A "$XO_STATE_DIR/VM")" ]
	# the name is free again
	run add_vm web1
	assert_success
}

@test "xo-vm-list --json is an array of the VMs" {
	run xo-vm-list --json
	assert_success
	assert_output "[
]"
	add_vm a >/dev/null
	add_vm b >/dev/null
	run xo-vm-list --json
	assert_success
	[ "$(grep -c '"name":' <<< "$output")" -eq 2 ]
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert sorted(v["name"] for v in d) == ["a","b"]' <<< "$output"
}

# ------------------------------------------------------------------- the front door

@test "xo help lists every command of the registry with its summary" {
	run xo help
	assert_success
	while read -r name group rw summary; do
		[ "$name" = xo ] && continue
		assert_line --regexp "^  ${name#xo-} +$(printf '%s' "$summary" | sed 's/[][\\.*^$()+?{}|]/\\&/g')\$"
	done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$XO_SRC/cmd/commands.txt")
}

@test "xo vm add runs xo-vm-add; xo vm-add too" {
	run xo vm add --name web1 --memory 64M --kernel "$KERNEL"
	assert_success
	uuid=$output
	run xo vm-show web1
	assert_line "uuid $uuid"
	run xo vbd add web1 --path "$DISK"
	assert_output xvda
	run xo vm list
	assert_output "$uuid web1 pv 64M 1 Halted -"
}

@test "xo help vm add shows xo-vm-add --help" {
	run xo help vm add
	assert_success
	assert_line --index 0 --partial "usage: xo-vm-add "
	diff <(xo help vm add) <(xo-vm-add --help)
}

@test "an unknown xo command is a usage error" {
	fails_cleanly 100 "unknown command 'frobnicate'" xo frobnicate
	fails_cleanly 100 "unknown command 'vm'" xo vm
	run --separate-stderr xo
	[ "$status" -eq 100 ]
}

# ------------------------------------------------------------------- bad JSON

@test "malformed and truncated JSON is refused with its position" {
	add_vm existing >/dev/null
	fails_cleanly 1 "malformed json in standard input.*truncated" add_json '{"name": "x", "memory": {'
	fails_cleanly 1 "malformed json in standard input at byte" add_json '{"name": }'
	fails_cleanly 1 "malformed json in standard input at byte 14: unexpected character" \
		add_json '{"name": "x"} {}'
	fails_cleanly 1 "malformed json in standard input: empty input" add_json ''
	fails_cleanly 1 "malformed json .* at byte" add_json "{'name': 'x'}"
	fails_cleanly 1 "malformed json .* at byte" add_json '{"name": "x",}'
	fails_cleanly 1 "malformed json .* at byte" add_json '{"name": "x" /* c */}'
	fails_cleanly 1 "expected a json object" add_json '["x"]'
	printf '{"name": "x"' > "$BATS_TEST_TMPDIR/bad.json"
	fails_cleanly 1 "malformed json in $BATS_TEST_TMPDIR/bad.json: truncated" \
		xo-vm-add -f "$BATS_TEST_TMPDIR/bad.json"
	fails_cleanly 1 "unable to open '$BATS_TEST_TMPDIR/none.json'" \
		xo-vm-add -f "$BATS_TEST_TMPDIR/none.json"
}

@test "unknown fields are refused by name, at every level" {
	add_vm existing >/dev/null
	fails_cleanly 1 "invalid vm: unknown field 'colour'" add_json "$(vm_json x '"colour": "red"')"
	fails_cleanly 1 "invalid vm memory: unknown field 'max'" \
		add_json '{"name": "x", "memory": {"static_max": 67108864, "max": 1}}'
	fails_cleanly 1 "invalid vm boot: unknown field 'initrd'" \
		add_json '{"name": "x", "memory": {"static_max": 67108864}, "boot": {"kernel": "'"$KERNEL"'", "initrd": "/x"}}'
	fails_cleanly 1 "invalid vbd: unknown field 'size'" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "size": 1}]')"
	fails_cleanly 1 "invalid vbd qos: unknown field 'prio'" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "qos": {"scheduler": "idle", "prio": 1}}]')"
	fails_cleanly 1 "invalid vif: unknown field 'ip'" add_json "$(vm_json x '"vifs": [{"ip": "1.2.3.4"}]')"
	fails_cleanly 1 "invalid vif rate: unknown field 'burst'" \
		add_json "$(vm_json x '"vifs": [{"rate": {"kbytes_per_s": 10, "burst": 1}}]')"
	fails_cleanly 1 "invalid pci: unknown field 'slot'" \
		add_json "$(vm_json x '"pcis": [{"address": "0000:03:00.0", "slot": 1}]')"
}

@test "mistyped fields are refused by name" {
	add_vm existing >/dev/null
	fails_cleanly 1 "field 'name' must be a string" \
		add_json '{"name": 7, "memory": {"static_max": 67108864}, "boot": {"kernel": "'"$KERNEL"'"}}'
	fails_cleanly 1 "field 'vcpus' must be an integer" add_json "$(vm_json x '"vcpus": "2"')"
	fails_cleanly 1 "field 'vcpus' must be an integer" add_json "$(vm_json x '"vcpus": 1.5')"
	fails_cleanly 1 "field 'vcpus' must not be negative" add_json "$(vm_json x '"vcpus": -1')"
	fails_cleanly 1 "field 'static_max' must be an integer" \
		add_json '{"name": "x", "memory": {"static_max": "64M"}, "boot": {"kernel": "'"$KERNEL"'"}}'
	fails_cleanly 1 "field 'memory' must be an object" \
		add_json '{"name": "x", "memory": 67108864, "boot": {"kernel": "'"$KERNEL"'"}}'
	fails_cleanly 1 "field 'framebuffer' must be true or false" add_json "$(vm_json x '"framebuffer": "yes"')"
	fails_cleanly 1 "field 'vbds' must be an array" add_json "$(vm_json x '"vbds": {}')"
	fails_cleanly 1 "field 'unpluggable' must be true or false" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "unpluggable": 1}]')"
	fails_cleanly 1 "field 'position' must be an integer" add_json "$(vm_json x '"vifs": [{"position": "0"}]')"
	fails_cleanly 1 "value of 'acpi' must be a string" add_json "$(vm_json x '"platform": {"acpi": 1}')"
	fails_cleanly 1 "invalid vm type 'xen'" add_json "$(vm_json x '"type": "xen"')"
	fails_cleanly 1 "field 'on_crash' must be shutdown, start, pause or coredump" \
		add_json "$(vm_json x '"on_crash": "explode"')"
	fails_cleanly 1 "field 'uuid' is not a lowercase uuid" add_json "$(vm_json x '"uuid": "NOT-A-UUID"')"
}

# ------------------------------------------------------------------- bad names

@test "VM names with /, .., spaces or control characters are refused" {
	add_vm existing >/dev/null
	fails_cleanly 1 "invalid vm name 'a/b': contains '/'" add_vm a/b
	fails_cleanly 1 "invalid vm name 'a\.\.b': contains '\.\.'" add_vm a..b
	fails_cleanly 1 "invalid vm name '\.\.': must not start with '\.'" add_vm ..
	fails_cleanly 1 "invalid vm name '\.': must not start with '\.'" add_vm .
	fails_cleanly 1 "invalid vm name 'a b': contains a space" add_vm "a b"
	fails_cleanly 1 "invalid vm name: contains control character 0x09" add_vm $'a\tb'
	fails_cleanly 1 "invalid vm name: contains control character 0x0a" add_vm $'a\nb'
	fails_cleanly 1 "invalid vm name: contains control character 0x1b" add_vm $'a\033b'
	fails_cleanly 1 "invalid vm name: empty" add_vm ""
	fails_cleanly 1 "invalid vm name: longer than 64 bytes" add_vm "$(printf 'x%.0s' {1..65})"
	fails_cleanly 1 "invalid vm name '-x': must not start with '-'" xo-vm-add --name=-x --memory 64M --kernel "$KERNEL"
	# the same in JSON
	fails_cleanly 1 "invalid vm name 'a/b': contains '/'" add_json "$(vm_json a/b)"
	fails_cleanly 1 "invalid vm name '\.\./x': must not start" add_json "$(vm_json ../x)"
	fails_cleanly 1 "invalid vm name 'a b': contains a space" add_json "$(vm_json 'a b')"
	fails_cleanly 1 "invalid vm name: contains control character 0x01" add_json "$(vm_json 'a\u0001b')"
	fails_cleanly 1 "invalid vm: a name is required" \
		add_json '{"memory": {"static_max": 67108864}, "boot": {"kernel": "'"$KERNEL"'"}}'
}

@test "VBD names with /, .., spaces or control characters are refused" {
	add_vm web1 >/dev/null
	fails_cleanly 1 "invalid vbd name 'xv/da': contains '/'" xo-vbd-add web1 --path "$DISK" --name xv/da
	fails_cleanly 1 "invalid vbd name '\.\./config': must not start" xo-vbd-add web1 --path "$DISK" --name ../config
	fails_cleanly 1 "invalid vbd name 'xvd\.\.a': contains '\.\.'" xo-vbd-add web1 --path "$DISK" --name xvd..a
	fails_cleanly 1 "invalid vbd name 'xvd a': contains a space" xo-vbd-add web1 --path "$DISK" --name "xvd a"
	fails_cleanly 1 "invalid vbd name: contains control character 0x0a" xo-vbd-add web1 --path "$DISK" --name $'xvd\na'
	fails_cleanly 1 "invalid vbd name 'disk0': expected xvdX" xo-vbd-add web1 --path "$DISK" --name disk0
	fails_cleanly 1 "invalid vbd name 'hde': expected" xo-vbd-add web1 --path "$DISK" --name hde
	fails_cleanly 1 "invalid vbd name 'xvdaaa': expected" xo-vbd-add web1 --path "$DISK" --name xvdaaa
	fails_cleanly 1 "invalid vbd name 'xv/da': contains '/'" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "name": "xv/da"}]')"
	fails_cleanly 1 "invalid vbd name '\.\.': must not start" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "name": ".."}]')"
	fails_cleanly 1 "invalid vbd name 'xvd a': contains a space" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "name": "xvd a"}]')"
	fails_cleanly 1 "invalid vbd name: contains control character 0x7f" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "name": "xvd\u007f"}]')"
	fails_cleanly 1 "invalid vbd name '\.\./\.\./x'" xo-vbd-remove web1 ../../x
}

# ------------------------------------------------------------------- duplicates

@test "a duplicate VM name or uuid is refused" {
	uuid=$(add_vm web1)
	fails_cleanly 1 "a vm named 'web1' already exists" add_vm web1
	fails_cleanly 1 "a vm named 'web1' already exists" add_json "$(vm_json web1)"
	fails_cleanly 1 "a vm with uuid $uuid already exists" add_vm web2 --uuid "$uuid"
}

@test "a duplicate VBD name is refused" {
	add_vm web1 >/dev/null
	xo-vbd-add web1 --path "$DISK" --name xvdb >/dev/null
	fails_cleanly 1 "vbd xvdb already exists" xo-vbd-add web1 --path "$DISK" --name xvdb
	fails_cleanly 1 "duplicate vbd 'xvda' in vm x" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "name": "xvda"}, {"backend": "'"$DISK"'", "name": "xvda"}]')"
}

@test "a duplicate VIF position is refused" {
	add_vm web1 >/dev/null
	xo-vif-add web1 --position 3 >/dev/null
	fails_cleanly 1 "vif position 3 is already taken" xo-vif-add web1 --position 3
	fails_cleanly 1 "duplicate vif position 1 in vm x" \
		add_json "$(vm_json x '"vifs": [{"position": 1}, {"position": 1}]')"
}

@test "a duplicate PCI position or address is refused" {
	add_vm web1 >/dev/null
	xo-pci-add web1 --address 0000:03:00.0 --position 2 >/dev/null
	fails_cleanly 1 "pci position 2 is already taken" xo-pci-add web1 --address 0000:04:00.0 --position 2
	fails_cleanly 1 "pci device 0000:03:00.0 is already attached at position 2" \
		xo-pci-add web1 --address 03:00.0
	fails_cleanly 1 "duplicate pci position 0 in vm x" \
		add_json "$(vm_json x '"pcis": [{"address": "0000:03:00.0", "position": 0}, {"address": "0000:04:00.0", "position": 0}]')"
	fails_cleanly 1 "duplicate pci device 0000:03:00.0 in vm x" \
		add_json "$(vm_json x '"pcis": [{"address": "0000:03:00.0"}, {"address": "03:00.0"}]')"
}

# ------------------------------------------------------------------- unknown objects

@test "a device for a VM that does not exist is refused" {
	add_vm web1 >/dev/null
	fails_cleanly 1 "unable to add vbd to vm nosuch: vm 'nosuch' does not exist" xo-vbd-add nosuch --path "$DISK"
	fails_cleanly 1 "vm 'nosuch' does not exist" xo-vif-add nosuch
	fails_cleanly 1 "vm 'nosuch' does not exist" xo-pci-add nosuch --address 0000:03:00.0
	fails_cleanly 1 "vm '6c1f7c54-3a4e-4a55-9b1f-6d5ab7b8d0c2' does not exist" \
		xo-vbd-add 6c1f7c54-3a4e-4a55-9b1f-6d5ab7b8d0c2 --path "$DISK"
	fails_cleanly 1 "vm 'nosuch' does not exist" xo-vbd-list nosuch
	fails_cleanly 1 "vm 'nosuch' does not exist" xo-vm-show nosuch
	fails_cleanly 1 "vm 'a/b' does not exist" xo-vm-show a/b
}

@test "removing a VM or a device that does not exist fails" {
	add_vm web1 >/dev/null
	fails_cleanly 1 "unable to remove vm nosuch: vm 'nosuch' does not exist" xo-vm-remove nosuch
	fails_cleanly 1 "vm '\.\./\.\.' does not exist" xo-vm-remove ../..
	fails_cleanly 1 "vbd xvdz does not exist" xo-vbd-remove web1 xvdz
	fails_cleanly 1 "vif 4 does not exist" xo-vif-remove web1 4
	fails_cleanly 1 "pci 0 does not exist" xo-pci-remove web1 0
	fails_cleanly 1 "invalid device position 'x'" xo-vif-remove web1 x
	fails_cleanly 1 "vm 'nosuch' does not exist" xo-vbd-remove nosuch xvda
}

# ------------------------------------------------------------------- bad values

@test "invalid MAC addresses are refused" {
	add_vm web1 >/dev/null
	fails_cleanly 1 "invalid mac address '01:00:5e:00:00:01': a multicast address" xo-vif-add web1 --mac 01:00:5e:00:00:01
	fails_cleanly 1 "invalid mac address '00:00:00:00:00:00': all zero" xo-vif-add web1 --mac 00:00:00:00:00:00
	fails_cleanly 1 "invalid mac address 'zz:16:3e:00:00:01'" xo-vif-add web1 --mac zz:16:3e:00:00:01
	fails_cleanly 1 "invalid mac address '00:16:3e:00:00'" xo-vif-add web1 --mac 00:16:3e:00:00
	fails_cleanly 1 "invalid mac address '00-16-3e-00-00-01'" xo-vif-add web1 --mac 00-16-3e-00-00-01
	fails_cleanly 1 "invalid mac address '0:16:3e:00:00:001'" xo-vif-add web1 --mac 0:16:3e:00:00:001
	fails_cleanly 1 "invalid mac address 'ff:ff:ff:ff:ff:ff': a multicast" \
		add_json "$(vm_json x '"vifs": [{"mac": "ff:ff:ff:ff:ff:ff"}]')"
}

@test "invalid PCI addresses are refused" {
	add_vm web1 >/dev/null
	for bad in 0000:03:20.0 0000:03:00.8 0000:3:0.0 junk 0000:03:00 0000:03:00.0.0 10000:03:00.0 \
		0000:003:00.0 ' 0000:03:00.0' 0x00:03:00.0; do
		fails_cleanly 1 "invalid pci address '$bad': expected dddd:bb:dd.f" xo-pci-add web1 --address "$bad"
	done
	fails_cleanly 1 "invalid pci address '0000:03:1f.9'" \
		add_json "$(vm_json x '"pcis": [{"address": "0000:03:1f.9"}]')"
	fails_cleanly 1 "invalid pci device: an address is required" add_json "$(vm_json x '"pcis": [{}]')"
	fails_cleanly 100 "usage: --address is required" xo-pci-add web1
}

@test "memory min > max and out of range memory are refused" {
	add_vm existing >/dev/null
	fails_cleanly 1 "invalid memory: dynamic_min 134217728 is larger than dynamic_max 67108864" \
		add_vm x --memory 64M --memory-min 128M
	fails_cleanly 1 "invalid memory: dynamic_max 134217728 is larger than static_max 67108864" \
		add_vm x --memory 64M --memory-max 128M
	fails_cleanly 1 "dynamic_min 134217728 is larger than dynamic_max 67108864" \
		add_json '{"name": "x", "memory": {"static_max": 67108864, "dynamic_min": 134217728}, "boot": {"kernel": "'"$KERNEL"'"}}'
	fails_cleanly 1 "invalid memory static_max 4096: less than 1 MiB" add_vm x --memory 4K
	fails_cleanly 1 "not a multiple of 4 KiB" add_vm x --memory 1048577
	fails_cleanly 1 "more than 16 TiB" add_vm x --memory 17T
	fails_cleanly 1 "memory is required" add_json '{"name": "x", "boot": {"kernel": "'"$KERNEL"'"}}'
	fails_cleanly 100 "invalid memory '12Q': expected a size" add_vm x --memory 12Q
	fails_cleanly 100 "invalid memory '-1'" add_vm x --memory=-1
}

@test "zero vcpus, too many vcpus and vcpus > vcpu_max are refused" {
	add_vm existing >/dev/null
	fails_cleanly 1 "invalid vcpus 0: a vm needs at least one" add_vm x --vcpus 0
	fails_cleanly 1 "invalid vcpus 0" add_json "$(vm_json x '"vcpus": 0')"
	fails_cleanly 1 "at most 128" add_vm x --vcpus 129
	fails_cleanly 1 "invalid vcpu_max 200: at most 128" add_json "$(vm_json x '"vcpu_max": 200')"
	fails_cleanly 1 "invalid vcpus 4: more than vcpu_max 2" add_vm x --vcpus 4 --vcpu-max 2
	fails_cleanly 100 "invalid vcpus 'two'" add_vm x --vcpus two
	run add_vm ok --vcpus 128
	assert_success
}

@test "a missing kernel file is refused; boot settings must fit the VM type" {
	add_vm existing >/dev/null
	fails_cleanly 1 "kernel '$BATS_TEST_TMPDIR/none' is missing or unreadable" \
		xo-vm-add --name x --memory 64M --kernel "$BATS_TEST_TMPDIR/none"
	fails_cleanly 1 "ramdisk '$BATS_TEST_TMPDIR/none' is missing or unreadable" \
		add_vm x --ramdisk "$BATS_TEST_TMPDIR/none"
	fails_cleanly 1 "kernel '/nonexistent/vmlinuz' is missing" \
		add_json '{"name": "x", "memory": {"static_max": 67108864}, "boot": {"kernel": "/nonexistent/vmlinuz"}}'
	fails_cleanly 1 "a pv vm needs a kernel" xo-vm-add --name x --memory 64M
	fails_cleanly 1 "a pvh vm needs a kernel" xo-vm-add --name x --type pvh --memory 64M
	fails_cleanly 1 "invalid kernel 'vmlinuz': must be an absolute path" xo-vm-add --name x --memory 64M --kernel vmlinuz
	fails_cleanly 1 "an hvm vm boots from its disks" xo-vm-add --name x --type hvm --memory 64M --kernel "$KERNEL"
	fails_cleanly 1 "invalid boot order 'dz'" xo-vm-add --name x --type hvm --memory 64M --boot-order dz
	fails_cleanly 1 "'order' is for hvm vms only" add_vm x --boot-order c
	fails_cleanly 1 "give a kernel or a bootloader, not both" add_vm x --bootloader /usr/bin/pygrub
	fails_cleanly 1 "framebuffer is for pv vms only" xo-vm-add --name x --type hvm --memory 64M --framebuffer
	fails_cleanly 1 "invalid xsdata key 'other/a'" add_vm x --xsdata other/a=b
	fails_cleanly 1 "invalid platform key '\.\./a'" add_vm x --platform ../a=b
}

@test "invalid device values are refused" {
	add_vm web1 >/dev/null
	fails_cleanly 1 "a disk needs a backend path" xo-vbd-add web1
	fails_cleanly 1 "must be an absolute path" xo-vbd-add web1 --path disk.img
	fails_cleanly 1 "a cdrom is read-only" xo-vbd-add web1 --type cdrom --mode rw
	fails_cleanly 1 "'params' is not an extra backend key xo allows" \
		xo-vbd-add web1 --path "$DISK" --backend-key params=/x
	fails_cleanly 100 "invalid vbd mode 'rx'" xo-vbd-add web1 --path "$DISK" --mode rx
	fails_cleanly 100 "invalid vbd type 'tape'" xo-vbd-add web1 --path "$DISK" --type tape
	fails_cleanly 100 "invalid unpluggable 'maybe'" xo-vbd-add web1 --path "$DISK" --unpluggable maybe
	fails_cleanly 1 "invalid mtu 60" xo-vif-add web1 --mtu 60
	fails_cleanly 1 "invalid bridge name 'br/0'" xo-vif-add web1 --bridge br/0
	fails_cleanly 1 "invalid bridge name 'averyveryverylongbridge'" xo-vif-add web1 --bridge averyveryverylongbridge
	fails_cleanly 1 "allowed addresses need locking mode 'locked'" xo-vif-add web1 --allow 192.0.2.1
	fails_cleanly 1 "invalid ipv4 address '192.0.2.300'" xo-vif-add web1 --locking-mode locked --allow 192.0.2.300
	fails_cleanly 100 "invalid position '1024'" xo-vif-add web1 --position 1024
	fails_cleanly 100 "invalid position '256'" xo-pci-add web1 --address 0000:03:00.0 --position 256
}

# ------------------------------------------------------------------- usage

@test "usage errors exit 100 and change nothing" {
	add_vm web1 >/dev/null
	fails_cleanly 100 "usage: unknown option '--colour'" xo-vm-add --name x --colour red
	fails_cleanly 100 "usage: unknown option '-z'" xo-vm-list -z
	fails_cleanly 100 "usage: option '--name' needs an argument" xo-vm-add --name
	fails_cleanly 100 "usage: missing operand" xo-vm-show
	fails_cleanly 100 "usage: missing operands" xo-vbd-remove web1
	fails_cleanly 100 "usage: unexpected operand 'extra'" xo-vm-remove web1 extra
	fails_cleanly 100 "usage: unexpected operand 'web1'" xo-vm-list web1
	fails_cleanly 100 "usage: give the VM as flags or as JSON, not both" \
		xo-vm-add -f /dev/null --name x
	fails_cleanly 100 "usage: --name is required" xo-vm-add --memory 64M --kernel "$KERNEL"
	fails_cleanly 100 "usage: --memory is required" xo-vm-add --name x --kernel "$KERNEL"
	fails_cleanly 100 "usage: invalid uuid 'abc'" add_vm x --uuid abc
	fails_cleanly 100 "invalid vm type 'xen'" add_vm x --type xen
	fails_cleanly 100 "invalid on-crash 'explode'" add_vm x --on-crash explode
}

@test "every program's --help exits 0 and shows its usage and exit codes" {
	while read -r name _; do
		run --separate-stderr "$name" --help
		[ "$status" -eq 0 ] || fail "$name --help: exit $status"
		[[ ${lines[0]} == "usage: $name"* ]] || fail "$name --help: ${lines[0]}"
		[[ $output == *"exit status: 0 ok"* ]] || [ "$name" = xo ] || fail "$name --help: no exit status"
	done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$XO_SRC/cmd/commands.txt")
}

# ------------------------------------------------------------------- the state directory

# a state directory nobody can reach: under a world-readable temporary
# directory (bats' own are 0700), with copies of the programs and the kernel
perm_setup() {
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	PERM_DIR=$(mktemp -d /tmp/xo-perm.XXXXXX)
	chmod 755 "$PERM_DIR"
	mkdir "$PERM_DIR/bin"
	cp "$XO_SRC"/build/bin/xo-* "$PERM_DIR/bin/"
	chmod -R a+rX "$PERM_DIR/bin"
	printf 'kernel' > "$PERM_DIR/vmlinuz"
	chmod 644 "$PERM_DIR/vmlinuz"
	KERNEL="$PERM_DIR/vmlinuz"
	export XO_STATE_DIR="$PERM_DIR/state"
	PATH="$PERM_DIR/bin:$PATH"
	add_vm web1 >/dev/null
	truncate -s 1M "$PERM_DIR/disk.img"
}

# run a command as nobody
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -i PATH="$PERM_DIR/bin:/usr/bin:/bin" XO_STATE_DIR="$XO_STATE_DIR" "$@"
}

# run a command with the state directory mounted read-only
read_only() {
	unshare -m sh -c 'mount --bind -o ro "$XO_STATE_DIR" "$XO_STATE_DIR" && exec "$@"' sh "$@"
}

@test "an unreadable state directory is a system error (111) and changes nothing" {
	[ "$(id -u)" = 0 ] || skip "needs root to drop privileges"
	perm_setup
	chmod 700 "$XO_STATE_DIR"
	# the same commands work as root: the failures below come from the permissions
	run xo-vm-list
	assert_success
	assert_output --regexp ' web1 pv 64M 1 Halted -$'
	fails_cleanly 111 "unable to open state directory '$XO_STATE_DIR': Permission denied" \
		as_nobody xo-vm-list
	fails_cleanly 111 "unable to add vm x: unable to open state directory '$XO_STATE_DIR': Permission denied" \
		as_nobody xo-vm-add --name x --memory 64M --kernel "$KERNEL"
	fails_cleanly 111 "Permission denied" as_nobody xo-vm-show web1
	fails_cleanly 111 "Permission denied" as_nobody xo-vm-remove web1
	fails_cleanly 111 "Permission denied" as_nobody xo-vbd-add web1 --path "$PERM_DIR/disk.img"
}

@test "a read-only state directory is a system error (111) and changes nothing" {
	[ "$(id -u)" = 0 ] || skip "needs root for a read-only bind mount"
	perm_setup
	# reading works on the read-only mount
	run read_only xo-vm-show web1
	assert_success
	assert_line "name web1"
	fails_cleanly 111 "unable to add vm x: unable to create vm directory in '$XO_STATE_DIR': Read-only file system" \
		read_only xo-vm-add --name x --memory 64M --kernel "$KERNEL"
	fails_cleanly 111 "unable to remove vm web1: .*Read-only file system" read_only xo-vm-remove web1
	fails_cleanly 111 "unable to add vbd to vm web1: unable to write 'vbd.xvda' .*Read-only file system" \
		read_only xo-vbd-add web1 --path "$PERM_DIR/disk.img"
	fails_cleanly 111 "Read-only file system" read_only xo-vif-add web1
	# a state directory owned by root, used by nobody: readable, not writable
	run as_nobody xo-vm-list
	assert_success
	assert_output --regexp ' web1 pv 64M 1 Halted -$'
	fails_cleanly 111 "unable to add vm x: unable to create vm directory in '$XO_STATE_DIR': Permission denied" \
		as_nobody xo-vm-add --name x --memory 64M --kernel "$KERNEL"
	fails_cleanly 111 "Permission denied" as_nobody xo-vif-add web1
	fails_cleanly 111 "Permission denied" as_nobody xo-vm-remove web1
	# and root can still write there
	run xo-vif-add web1
	assert_success
}

@test "concurrent adds of the same name: exactly one wins, no stray directories" {
	n=16
	pids=()
	for i in $(seq $n); do
		xo-vm-add --name same --memory 64M --kernel "$KERNEL" \
			> "$BATS_TEST_TMPDIR/out.$i" 2> "$BATS_TEST_TMPDIR/err.$i" 3>&- &
		pids+=($!)
	done
	won=0
	lost=0
	for i in $(seq $n); do
		if wait "${pids[i - 1]}"; then
			won=$((won + 1))
			winner=$(cat "$BATS_TEST_TMPDIR/out.$i")
		else
			rc=$?
			[ "$rc" -eq 1 ] || fail "add $i: exit $rc: $(cat "$BATS_TEST_TMPDIR/err.$i")"
			grep -q "^xo-vm-add: fatal: unable to add vm same: a vm named 'same' already exists$" \
				"$BATS_TEST_TMPDIR/err.$i" || fail "add $i: $(cat "$BATS_TEST_TMPDIR/err.$i")"
			[ ! -s "$BATS_TEST_TMPDIR/out.$i" ]
			lost=$((lost + 1))
		fi
	done
	[ "$won" -eq 1 ]
	[ "$lost" -eq $((n - 1)) ]
	run ls -A "$XO_STATE_DIR/VM"
	assert_output "$winner"
	run ls -A "$XO_STATE_DIR/name"
	assert_output ".lock
same"
	[ "$(readlink "$XO_STATE_DIR/name/same")" = "../VM/$winner" ]
	run xo-vm-list
	assert_output "$winner same pv 64M 1 Halted -"
}

@test "concurrent device adds to one VM get distinct names and positions" {
	add_vm web1 >/dev/null
	pids=()
	for i in 1 2 3 4 5 6; do
		xo-vbd-add web1 --path "$DISK" > "$BATS_TEST_TMPDIR/vbd.$i" 2>&1 3>&- &
		pids+=($!)
		xo-vif-add web1 > "$BATS_TEST_TMPDIR/vif.$i" 2>&1 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	run sort "$BATS_TEST_TMPDIR"/vbd.*
	assert_output "xvda
xvdb
xvdc
xvdd
xvde
xvdf"
	run sort -n "$BATS_TEST_TMPDIR"/vif.*
	assert_output "0
1
2
3
4
5"
}
