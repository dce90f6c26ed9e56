#!/usr/bin/env bats
# Nothing untrusted reaches root: each test hands xo a hostile value (an extra
# key xo writes itself, a script or hook others can change, a state directory
# others own, a symlinked log, a guest's escape sequence, a JSON document with
# a NUL, duplicate keys or a million keys) and checks that it is refused with
# one clear line and no change, or made harmless.
load helpers
load fails

setup() {
	xo_setup
	DISK="$BATS_TEST_TMPDIR/disk.img"
	disk_image "$DISK"
}

teardown() {
	[ -z "${FOREIGN_LOOP:-}" ] || losetup -d "$FOREIGN_LOOP" 2>/dev/null || true
	xo_teardown
	[ -z "${OUTSIDE:-}" ] || rm -rf "$OUTSIDE"
}

vm_json() {   # vm_json NAME [EXTRA-FIELDS]
	printf '{"name": "%s", "memory": {"static_max": 67108864}, "boot": {"kernel": "%s"}%s}\n' \
		"$1" "$KERNEL" "${2:+, $2}"
}

add_json() {
	printf '%s' "$1" | xo-vm-add
}

# a script that notes its run in ran.log and reports success: script PATH
script() {
	mkdir -p "$(dirname "$1")"
	printf '#!/bin/sh\necho "%s $*" >> "%s/ran.log"\nxenstore-write "/local/domain/0/$XENBUS_PATH/hotplug-status" connected\n' \
		"${1##*/}" "$BATS_TEST_TMPDIR" > "$1"
	chmod 755 "$1"
}

# ------------------------------------------------------------------- extra keys

@test "extra backend keys xo or its scripts act on are refused, node and physical-device-path too" {
	add_vm web1 >/dev/null
	for k in node physical-device-path physical-device params mode frontend state online \
		hotplug-status hotplug-error type dev bootable backend-kind unknown; do
		fails_cleanly 1 "invalid vbd extra_backend_keys: '$k' is not an extra backend key xo allows" \
			xo-vbd-add web1 --path "$DISK" --backend-key "$k=/dev/loop7"
		fails_cleanly 1 "'$k' is not an extra backend key xo allows" \
			add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "extra_backend_keys": {"'"$k"'": "1"}}]')"
	done
	fails_cleanly 1 "'script' is not an extra backend key: give the device's own hotplug script as its script \(--script\)" \
		xo-vbd-add web1 --path "$DISK" --backend-key script=relscript
	# a namespace is not a key
	fails_cleanly 1 "'sm-data' is not an extra backend key" xo-vbd-add web1 --path "$DISK" --backend-key sm-data=1
	# what the allow-list has
	run xo-vbd-add web1 --path "$DISK" --backend-key discard-enable=0 --backend-key feature-persistent=0 \
		--backend-key max-ring-page-order=2 --backend-key sm-data/vdi=x --private-key vdi-uuid=u \
		--private-key other-config/a=b
	assert_success
	run xo-vbd-list --json web1
	assert_output --partial '"discard-enable": "0"'
	assert_output --partial '"other-config/a": "b"'
}

@test "extra private keys cannot replace a VIF's locking mode or allowed addresses" {
	add_vm web1 >/dev/null
	for k in locking-mode ipv4-allowed ipv6-allowed applied bridge mac mtu backend-kind backend-id; do
		fails_cleanly 1 "invalid vif extra_private_keys: '$k' is not an extra private key xo allows" \
			xo-vif-add web1 --locking-mode locked --allow 10.0.0.1 --private-key "$k=}; accept"
		fails_cleanly 1 "'$k' is not an extra private key" \
			add_json "$(vm_json x '"vifs": [{"extra_private_keys": {"'"$k"'": "x"}}]')"
	done
	for k in name persistent backend-kind; do
		fails_cleanly 1 "invalid vbd extra_private_keys: '$k' is not an extra private key" \
			xo-vbd-add web1 --path "$DISK" --private-key "$k=1"
	done
	run xo-vif-add web1 --private-key vif-uuid=u --private-key ethtool-tso=off
	assert_success
}

# ------------------------------------------------------------------- loop devices

# start web1 with one disk, name someone else's loop device in its backend's node key,
# shut it down: the other loop device must stay
foreign_node() {
	add_vm web1 >/dev/null
	xo-vbd-add web1 --path "$DISK" >/dev/null
	disk_image "$BATS_TEST_TMPDIR/other.img"
	FOREIGN_LOOP=$(losetup --find --show "$BATS_TEST_TMPDIR/other.img")
	xo-vm-start web1
	d=$(domid_of web1)
	be=/local/domain/0/backend/vbd/$d/51712
	ours=$(xs read "$be/node")
	[ "$ours" != "$FOREIGN_LOOP" ]
	xs write "$be/node" "$FOREIGN_LOOP"
	run xo-vm-shutdown --force web1
	assert_success
	[ "$(losetup -n -O BACK-FILE "$FOREIGN_LOOP")" = "$BATS_TEST_TMPDIR/other.img" ] ||
		fail "the other loop device was detached"
	grep -q "warning: $FOREIGN_LOOP is not backed by '$DISK': not detaching it" \
		"$XO_STATE_DIR/VM/$(uuid_of web1)/hotplug.log"
	# its own loop device was not named, but the resource ledger (res.h) knows it: released
	no_loops_on "$DISK" || fail "the vm's own loop device is left: $(losetup -j "$DISK")"
	losetup -d "$FOREIGN_LOOP"
}

@test "remove detaches a loop device only if the vbd's file backs it (xo's block script)" {
	export XO_HOTPLUG=xo
	foreign_node
}

@test "remove detaches a loop device only if the vbd's file backs it (builtin)" {
	export XO_HOTPLUG=builtin
	foreign_node
}

# ------------------------------------------------------------------- device scripts

@test "a device's own script must be an absolute path to an executable file when added" {
	add_vm web1 >/dev/null
	mkdir -p "$BATS_TEST_TMPDIR/dir"
	printf '#!/bin/sh\n' > "$BATS_TEST_TMPDIR/plain"
	chmod 644 "$BATS_TEST_TMPDIR/plain"
	for kind in vbd vif; do
		if [ $kind = vbd ]; then cmd=(xo-vbd-add web1 --path "$DISK"); else cmd=(xo-vif-add web1); fi
		fails_cleanly 1 "invalid $kind script 'relscript': must be an absolute path" "${cmd[@]}" --script relscript
		fails_cleanly 1 "$kind script '$BATS_TEST_TMPDIR/none' is missing" "${cmd[@]}" --script "$BATS_TEST_TMPDIR/none"
		fails_cleanly 1 "$kind script '$BATS_TEST_TMPDIR/dir' is not a regular file" \
			"${cmd[@]}" --script "$BATS_TEST_TMPDIR/dir"
		fails_cleanly 1 "$kind script '$BATS_TEST_TMPDIR/plain' is not executable" \
			"${cmd[@]}" --script "$BATS_TEST_TMPDIR/plain"
	done
	fails_cleanly 1 "invalid vbd script 'rel': must be an absolute path" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'", "script": "rel"}]')"
	fails_cleanly 1 "vif script '$BATS_TEST_TMPDIR/plain' is not executable" \
		add_json "$(vm_json x '"vifs": [{"script": "'"$BATS_TEST_TMPDIR/plain"'"}]')"
}

# start web1 and expect the script refused: refused WHY
refused() {
	run xo-vm-start web1
	assert_failure 1
	assert_output --partial "refusing to run the vbd script: $1"
	[ ! -e "$BATS_TEST_TMPDIR/ran.log" ] || fail "the script ran: $(cat "$BATS_TEST_TMPDIR/ran.log")"
	assert_clean_halted web1
}

@test "a device's own script runs only while only root can change it (StrictModes)" {
	s="$BATS_TEST_TMPDIR/scripts/mine"
	script "$s"
	add_vm web1 >/dev/null
	xo-vbd-add web1 --path "$DISK" --script "$s" >/dev/null
	chmod o+w "$s"
	refused "'$s' is writable by others"
	chmod o-w,g+w "$s"
	refused "'$s' is writable by its group"
	chmod g-w "$s"
	chown nobody "$s"
	refused "'$s' is owned by uid $(id -u nobody), not by root"
	chown root "$s"
	chmod o+w "$BATS_TEST_TMPDIR/scripts"
	refused "'$BATS_TEST_TMPDIR/scripts' is writable by others"
	chmod o-w "$BATS_TEST_TMPDIR/scripts"
	# a link to it from a directory others may write: the entry could be swapped
	mkdir -m 777 "$BATS_TEST_TMPDIR/open"
	ln -s "$s" "$BATS_TEST_TMPDIR/open/link"
	xo-vbd-remove web1 xvda
	xo-vbd-add web1 --path "$DISK" --script "$BATS_TEST_TMPDIR/open/link" >/dev/null
	refused "'$BATS_TEST_TMPDIR/open' is writable by others"
	# and when all is well, it runs
	xo-vbd-remove web1 xvda
	xo-vbd-add web1 --path "$DISK" --script "$s" >/dev/null
	run xo-vm-start web1
	assert_success
	run cat "$BATS_TEST_TMPDIR/ran.log"
	assert_output "mine add"
}

@test "a VIF's own script is checked the same way" {
	s="$BATS_TEST_TMPDIR/scripts/myvif"
	script "$s"
	add_vm web1 >/dev/null
	bridge xenbr0
	xo-vif-add web1 --bridge xenbr0 --script "$s" >/dev/null
	chmod o+w "$s"
	run xo-vm-start web1
	assert_failure 1
	assert_output --partial "refusing to run the vif script: '$s' is writable by others"
	[ ! -e "$BATS_TEST_TMPDIR/ran.log" ]
	assert_clean_halted web1
}

# ------------------------------------------------------------------- hooks

hook() {   # hook NAME
	mkdir -p "$XO_HOOK_DIR/vm-pre-start"
	printf '#!/bin/sh\necho "%s $*" >> "%s/hooks.log"\n' "$1" "$BATS_TEST_TMPDIR" \
		> "$XO_HOOK_DIR/vm-pre-start/$1"
	chmod 755 "$XO_HOOK_DIR/vm-pre-start/$1"
}

# the hook is refused, by xo-hook-run and by a start: hook_refused WHY
hook_refused() {
	fails_cleanly 1 "unable to hook vm-pre-start of vm web1: hook vm-pre-start: refusing to run '10-a': $1" \
		xo-hook-run web1 vm-pre-start
	task=$(xo-vm-start --async web1)
	run xo-task-wait "$task"
	assert_failure 1
	assert_output --partial "refusing to run '10-a': $1"
	run xo-task-stat --json "$task"
	assert_output --partial '"class": "hook_failed"'
	[ ! -e "$BATS_TEST_TMPDIR/hooks.log" ] || fail "the hook ran: $(cat "$BATS_TEST_TMPDIR/hooks.log")"
	assert_clean_halted web1
}

@test "a hook others can change is not run: hook_failed, with the reason" {
	ref_vm web1
	hook 10-a
	h="$XO_HOOK_DIR/vm-pre-start/10-a"
	chmod o+w "$h"
	hook_refused "'$h' is writable by others"
	chmod o-w,g+w "$h"
	hook_refused "'$h' is writable by its group"
	chmod g-w "$h"
	chown nobody "$h"
	hook_refused "'$h' is owned by uid $(id -u nobody), not by root"
	chown root "$h"
	chmod o+w "$XO_HOOK_DIR/vm-pre-start"
	hook_refused "'$XO_HOOK_DIR/vm-pre-start' is writable by others"
	chmod o-w "$XO_HOOK_DIR/vm-pre-start"
	chmod g+w "$XO_HOOK_DIR"
	hook_refused "'$XO_HOOK_DIR' is writable by its group"
	chmod g-w "$XO_HOOK_DIR"
	run xo-hook-run web1 vm-pre-start
	assert_success
	[ -s "$BATS_TEST_TMPDIR/hooks.log" ]
}

# ------------------------------------------------------------------- the vif script and nft

# a running VM whose vif at POS is locked to ADDRS: locked_vm POS ADDR...
# (vif<domid>.<pos> and its nft table are the host's, in the test run's network
# namespace: a position no other test uses keeps tests running at once apart)
locked_vm() {
	local a allow=()
	pos=$1
	shift
	add_vm web1 >/dev/null
	bridge xenbr0
	for a in "$@"; do allow+=(--allow "$a"); done
	xo-vif-add web1 --position "$pos" --bridge xenbr0 --locking-mode locked "${allow[@]}" >/dev/null
	xo-vm-start web1
	d=$(domid_of web1)
}

@test "the vif script reads every allowed address whole: 12 long addresses, 12 rules each" {
	v4=() v6=()
	for i in $(seq 10 21); do
		v4+=("192.168.$i.$i/32")
		v6+=("2001:0db8:0000:0000:0000:0000:0000:00$i/128")
	done
	locked_vm 41 "${v4[@]}" "${v6[@]}"
	run nft list table netdev "xo-vif$d.41"
	assert_success
	for i in $(seq 10 21); do
		[ "$(grep -c "ip saddr 192.168.$i.$i accept" <<< "$output")" -eq 1 ] || fail "no rule for 192.168.$i.$i: $output"
		[ "$(grep -c "arp saddr ip 192.168.$i.$i accept" <<< "$output")" -eq 1 ] || fail "no arp rule for 192.168.$i.$i"
		[ "$(grep -c "ip6 saddr 2001:db8::$i accept" <<< "$output")" -eq 1 ] || fail "no rule for 2001:db8::$i: $output"
	done
	[ "$(grep -c accept <<< "$output")" -eq $((12 * 3 + 2)) ]
}

# run xo's vif script online for web1's vif by hand, as udev would: vif_online
vif_online() {
	run env XENBUS_PATH="backend/vif/$d/$pos" vif="vif$d.$pos" \
		XENSTORED_PATH="$XO_STATE_DIR/sim/xenstored.sock" "$XO_SCRIPT_DIR/vif" online type_if=vif
}

@test "the vif script checks every word it reads before nft: a bad one is hotplug-error" {
	locked_vm 42 10.0.0.1
	uuid=$(uuid_of web1)
	priv=/xo/vm/$uuid/private/vif/42
	be=/local/domain/0/backend/vif/$d/42
	rules=$(nft list table netdev "xo-vif$d.42")
	check() {   # check KEY VALUE WHY
		local old
		old=$(xs read "$1")
		xs write "$1" "$2"
		xs rm "$be/hotplug-error" 2>/dev/null || true
		vif_online
		assert_failure 1
		[ "$(xs read "$be/hotplug-error")" = "$3" ] || fail "hotplug-error: $(xs read "$be/hotplug-error")"
		[ "$(xs read "$be/hotplug-status")" = error ]
		[ "$(nft list table netdev "xo-vif$d.42")" = "$rules" ] || fail "the rules changed"
		xs write "$1" "$old"
	}
	check "$priv/ipv4-allowed" '10.0.0.1 accept; }' "invalid ipv4-allowed '10.0.0.1 accept; }'"
	check "$priv/ipv4-allowed" '10.0.0.1,}' "invalid ipv4-allowed '10.0.0.1,}'"
	check "$priv/ipv4-allowed" '10.0.0.256' "invalid ipv4-allowed '10.0.0.256'"
	check "$priv/ipv6-allowed" 'fd00::1 accept' "invalid ipv6-allowed 'fd00::1 accept'"
	check "$priv/ipv6-allowed" '1::2::3' "invalid ipv6-allowed '1::2::3'"
	check "$priv/locking-mode" 'locked;' "invalid locking mode 'locked;'"
	check "$priv/applied" 'x}' "invalid applied locking mode 'x}'"
	check "$be/mac" '00:16:3e:00:00:0g' "invalid mac address '00:16:3e:00:00:0g'"
	check "$be/bridge" 'br0;x' "invalid bridge name 'br0;x'"
	check "$be/mtu" '1500 up' "invalid mtu '1500 up'"
	# a line break cannot shift the values read in one round trip: it arrives escaped
	check "$priv/locking-mode" "$(printf 'locked\n0.0.0.0/0')" "invalid locking mode 'locked\\n0.0.0.0/0'"
	# and the good values still work
	xs write "$be/hotplug-status" connected
	vif_online
	assert_success
}

# ------------------------------------------------------------------- the state directory

@test "a relative, foreign or open state directory is refused (111); a missing one gets one level" {
	add_vm web1 >/dev/null
	cd "$BATS_TEST_TMPDIR"
	XO_STATE_DIR=state fails_cleanly 111 "invalid state directory 'state': not an absolute path" xo-vm-list
	chmod o+w "$XO_STATE_DIR"
	fails_cleanly 111 "unsafe state directory '$XO_STATE_DIR': writable by others" xo-vm-list
	chmod o-w,g+w "$XO_STATE_DIR"
	fails_cleanly 111 "unsafe state directory '$XO_STATE_DIR': writable by its group" xo-vm-add --name x \
		--memory 64M --kernel "$KERNEL"
	chmod g-w "$XO_STATE_DIR"
	chown nobody "$XO_STATE_DIR"
	fails_cleanly 111 "unsafe state directory '$XO_STATE_DIR': owned by uid $(id -u nobody)" xo-vm-remove web1
	chown root "$XO_STATE_DIR"
	# a directory above it that others may write (not sticky): they could swap it
	chmod o+w "$BATS_TEST_TMPDIR"
	fails_cleanly 111 "unsafe state directory '$XO_STATE_DIR': '$BATS_TEST_TMPDIR' above it is writable by others" \
		xo-vm-list
	# through a symlink: what is checked is what is opened
	ln -s "$XO_STATE_DIR" "$BATS_TEST_TMPDIR/link"
	XO_STATE_DIR="$BATS_TEST_TMPDIR/link" fails_cleanly 111 "above it is writable by others" xo-vm-list
	chmod o-w "$BATS_TEST_TMPDIR"
	XO_STATE_DIR="$BATS_TEST_TMPDIR/link" run xo-vm-list
	assert_success
	assert_output --partial " web1 "
	# missing: only the last component, in a parent that exists and is safe
	run env XO_STATE_DIR="$BATS_TEST_TMPDIR/a/b/state" xo-vm-list
	assert_failure 111
	assert_output "xo-vm-list: fatal: unable to create state directory '$BATS_TEST_TMPDIR/a/b/state': its parent '$BATS_TEST_TMPDIR/a/b' does not exist"
	[ ! -e "$BATS_TEST_TMPDIR/a" ]
	mkdir -m 777 "$BATS_TEST_TMPDIR/open"
	run env XO_STATE_DIR="$BATS_TEST_TMPDIR/open/state" xo-vm-list
	assert_failure 111
	assert_output --partial "'$BATS_TEST_TMPDIR/open' above it is writable by others"
	[ ! -e "$BATS_TEST_TMPDIR/open/state" ]
	run env XO_STATE_DIR="$BATS_TEST_TMPDIR/fresh" xo-vm-list
	assert_success
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/fresh")" = 755 ]
}

@test "hotplug.log is never opened through a symlink (both hotplug modes)" {
	for mode in xo builtin; do
		export XO_HOTPLUG=$mode
		ref_vm "web-$mode"
		uuid=$(uuid_of "web-$mode")
		printf 'precious\n' > "$BATS_TEST_TMPDIR/victim"
		ln -s "$BATS_TEST_TMPDIR/victim" "$XO_STATE_DIR/VM/$uuid/hotplug.log"
		run xo-vm-start "web-$mode"
		assert_success
		run xo-vm-shutdown --force "web-$mode"
		assert_success
		[ "$(cat "$BATS_TEST_TMPDIR/victim")" = precious ] || fail "$mode: root wrote through the link"
		[ -L "$XO_STATE_DIR/VM/$uuid/hotplug.log" ]
	done
}

@test "hotplug.log is rotated past 64 KiB, one old file kept (both hotplug modes)" {
	for mode in xo builtin; do
		export XO_HOTPLUG=$mode
		ref_vm "web-$mode"
		log="$XO_STATE_DIR/VM/$(uuid_of "web-$mode")/hotplug.log"
		head -c 70000 /dev/zero | tr '\0' o > "$log"
		xo-vm-start "web-$mode"
		[ "$(stat -c %s "$log.1")" -eq 70000 ] || fail "$mode: the old log was not kept"
		[ "$(stat -c %s "$log")" -lt 4096 ] || fail "$mode: the new log is $(stat -c %s "$log") bytes"
		grep -q "attached" "$log"
		# the next rotation replaces the old one: never more than two files
		head -c 66000 /dev/zero | tr '\0' n >> "$log"
		xo-vm-shutdown --force "web-$mode"
		[ "$(stat -c %s "$log.1")" -gt 66000 ] && grep -q nnnn "$log.1" && ! grep -q oooo "$log.1" ||
			fail "$mode: hotplug.log.1 is not the second log"
		grep -q "detached" "$log"
		[ "$(ls "${log%/*}" | grep -c hotplug)" -eq 2 ]
	done
}

# ------------------------------------------------------------------- what a guest writes

@test "a guest's frontend state is printed escaped, in one line and in JSON" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	# xo reads 7 bytes of a state: enough for a line break and an escape sequence
	xs write "/local/domain/$d/device/vbd/51712/state" "$(printf '4\nx\033[2J')"
	# (xenstore-write reads a backslash as an escape: two make one)
	xs write "/local/domain/$d/device/vbd/51728/state" "$(printf '\302\233\377\\\\ 1')"
	xs write "/local/domain/$d/device/vif/0/state" "$(printf '4\342\200\256x')"
	run xo-vbd-stat web1
	assert_success
	[ "${#lines[@]}" -eq 2 ] || fail "a forged line: $output"
	! LC_ALL=C grep -q $'[\001-\037\177\200-\237\377]' <<< "$output" || fail "control bytes: $(cat -v <<< "$output")"
	assert_line --regexp '^xvda active plugged state=[0-9]/4\\nx\\x1b\[2J hotplug=connected '
	assert_line --regexp '^xvdb active plugged state=[0-9]/\\xc2\\x9b\\xff\\\\\\x201 hotplug=connected '
	run xo-vif-stat web1
	assert_line --regexp '^0 active plugged state=[0-9]/4\\xe2\\x80\\xaex hotplug=connected '
	run xo-vbd-stat --json web1
	assert_success
	! LC_ALL=C grep -q $'[\001-\037\177\200-\377]' <<< "$output" || fail "raw bytes in json: $(cat -v <<< "$output")"
	[ "$(json_get 0.frontend_state <<< "$output")" = '4\nx\x1b[2J' ]
	[ "$(json_get 1.frontend_state <<< "$output")" = '\xc2\x9b\xff\\ 1' ]
	run xo-vif-stat --json web1
	[ "$(json_get 0.frontend_state <<< "$output")" = '4\xe2\x80\xaex' ]
}

# ------------------------------------------------------------------- JSON

@test "JSON: \\u0000, duplicate keys, over 1 MiB, over 1024 keys in a map: refused" {
	add_vm existing >/dev/null
	fails_cleanly 1 'malformed json in standard input at byte 13: \\u0000 \(NUL\) in a string' \
		add_json '{"name": "nul\u0000tail", "memory": {"static_max": 67108864}}'
	fails_cleanly 1 'NUL' add_json "$(vm_json x '"platform": {"a\u0000b": "1"}')"
	# an escaped backslash before u0000 is no NUL
	run add_json "$(vm_json y '"platform": {"a": "\\u0000"}')"
	assert_success
	fails_cleanly 1 "at byte 14: duplicate key 'name'" add_json '{"name": "a", "name": "b", "memory": {"static_max": 67108864}}'
	fails_cleanly 1 "duplicate key 'aA'" add_json "$(vm_json x '"platform": {"aA": "1", "a\u0041": "2"}')"
	fails_cleanly 1 "duplicate key 'kernel'" \
		add_json '{"name": "x", "memory": {"static_max": 67108864}, "boot": {"kernel": "/a", "kernel": "/b"}}'
	fails_cleanly 1 "duplicate key 'backend'" \
		add_json "$(vm_json x '"vbds": [{"backend": "'"$DISK"'"}, {"backend": "'"$DISK"'", "backend": "/x"}]')"
	fails_cleanly 1 'duplicate key .\\x1b\[' add_json "$(vm_json x '"xsdata": {"\u001b[": "1", "\u001b[": "2"}')"
	# size: the limit, then one byte more
	python3 -c '
import json, sys
d = {"name": "big", "memory": {"static_max": 67108864}, "boot": {"kernel": sys.argv[1]},
     "platform": {"k%04d" % i: "v" * 900 for i in range(1024)}}
s = json.dumps(d)
open(sys.argv[2], "w").write(s + " " * (1048576 - len(s)))
open(sys.argv[3], "w").write(s + " " * (1048577 - len(s)))
d["platform"] = {"k%04d" % i: "v" for i in range(1025)}
open(sys.argv[4], "w").write(json.dumps(d))
' "$KERNEL" "$BATS_TEST_TMPDIR/max.json" "$BATS_TEST_TMPDIR/over.json" "$BATS_TEST_TMPDIR/keys.json"
	fails_cleanly 1 "unable to read '$BATS_TEST_TMPDIR/over.json': over 1048576 bytes" \
		xo-vm-add -f "$BATS_TEST_TMPDIR/over.json"
	fails_cleanly 1 "unable to read standard input: over 1048576 bytes" xo-vm-add < "$BATS_TEST_TMPDIR/over.json"
	fails_cleanly 1 "invalid vm platform: 1025 keys, at most 1024" xo-vm-add -f "$BATS_TEST_TMPDIR/keys.json"
	run xo-vm-add -f "$BATS_TEST_TMPDIR/max.json"
	assert_success
	run xo-vm-show --json big
	[ "$(json_get platform <<< "$output" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 1024 ]
	# on the command line too
	args=()
	for i in $(seq 1025); do args+=(--platform "k$i=v"); done
	fails_cleanly 1 "more than 1024 keys" add_vm x "${args[@]}"
}
