# tests/helpers.bash: loaded by every bats file (load helpers).
#
# Each test gets its own state directory under $BATS_TEST_TMPDIR, the
# simulator backend, its own hook directory, and the project's hotplug
# scripts. Anything a test starts in the background must close fd 3 (bats
# waits for it otherwise); xo-simd does so itself. teardown stops the
# simulator of the test's state directory.
bats_load_library bats-support
bats_load_library bats-assert

: "${XO_SRC:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"

# the system's python3 for the JSON checks: a version manager's shim on PATH
# (pyenv) costs a quarter of a second per call
if [ -x /usr/bin/python3 ]; then
	python3() { /usr/bin/python3 "$@"; }
fi
export PATH="$XO_SRC/build/bin:$PATH"

xo_setup() {
	export XO_STATE_DIR="$BATS_TEST_TMPDIR/state"
	export XO_BACKEND=sim
	export XO_HOOK_DIR="$BATS_TEST_TMPDIR/hooks"
	export XO_SCRIPT_DIR="$XO_SRC/share/udev"
	unset XO_FAULT XO_WORKERS XO_HOTPLUG
	mkdir -p "$XO_HOOK_DIR"
	KERNEL="$BATS_TEST_TMPDIR/vmlinuz"
	printf 'kernel' > "$KERNEL"
}

xo_teardown() {
	local vm dev
	if [ -S "$XO_STATE_DIR/sim/hv.sock" ] && command -v xo-simd >/dev/null; then
		# a test may end with VMs running: release their loop devices and taps
		for vm in $(xo-vm-list --json 2>/dev/null |
			python3 -c 'import json,sys; [print(v["uuid"]) for v in json.load(sys.stdin)]' 2>/dev/null); do
			timeout 30 xo-vm-destroy "$vm" >/dev/null 2>&1 || true
		done
		xo-simd stop --force >/dev/null 2>&1 || true
	fi
	# and whatever a failed test left attached to its files
	for dev in $(losetup -a 2>/dev/null | grep -F "($BATS_TEST_TMPDIR/" | cut -d: -f1); do
		losetup -d "$dev" 2>/dev/null || true
	done
}

# a pv VM with the test kernel: add_vm NAME [more xo-vm-add flags]
add_vm() {
	local name=$1
	shift
	xo-vm-add --name "$name" --type pv --memory 64M --kernel "$KERNEL" "$@"
}

# a sparse disk image: disk_image PATH [SIZE]
disk_image() {
	truncate -s "${2:-16M}" "$1"
}

# the state directory's files, with contents, for "nothing changed" checks
state_snapshot() {
	(cd "$XO_STATE_DIR" && find VM name -type f -o -type l 2>/dev/null | sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f $(md5sum < "$f")"; fi
	done)
}

# run a xenstore-utils command against the test's simulator
xs() {
	local cmd=$1
	shift
	XENSTORED_PATH="$XO_STATE_DIR/sim/xenstored.sock" "xenstore-$cmd" "$@"
}

# a bridge for vifs, inside the test run's own network namespace
bridge() {
	# (tests running at once may add it first)
	ip link show "${1:-xenbr0}" >/dev/null 2>&1 || ip link add "${1:-xenbr0}" type bridge 2>/dev/null ||
		ip link show "${1:-xenbr0}" >/dev/null
	ip link set "${1:-xenbr0}" up
}

# the reference VM: a pv VM with one rw disk, one ro disk and one nic
ref_vm() {
	local name=$1
	add_vm "$name" >/dev/null
	disk_image "$BATS_TEST_TMPDIR/$name-root.img"
	disk_image "$BATS_TEST_TMPDIR/$name-data.img"
	xo-vbd-add "$name" --path "$BATS_TEST_TMPDIR/$name-data.img" --mode ro --name xvdb >/dev/null
	xo-vbd-add "$name" --path "$BATS_TEST_TMPDIR/$name-root.img" --name xvda >/dev/null
	bridge xenbr0
	xo-vif-add "$name" --bridge xenbr0 >/dev/null
}

# a field of xo-vm-stat --json: vm_field VM FIELD
vm_field() {
	xo-vm-stat --json "$1" | python3 -c "import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print('' if v is None else v)" "$2"
}

# a field of a JSON document on stdin: json_get FIELD
json_get() {
	python3 -c "import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split('.'):
    v=v[int(k)] if isinstance(v,list) else v[k]
print('' if v is None else (json.dumps(v) if isinstance(v,(dict,list)) else v))" "$1"
}

# the domid of a VM ("" when halted)
domid_of() {
	vm_field "$1" domid
}

# no loop device is left on a file
no_loops_on() {
	[ -z "$(losetup -j "$1")" ]
}

# the uuid of a VM
uuid_of() {
	xo-vm-show --json "$1" | json_get uuid
}

# the VM is halted and nothing of a domain is left: no xenstore trees, no
# backends, no loop devices on its disks, no memory reservation, no record
assert_clean_halted() {
	local name=$1 uuid d
	uuid=$(uuid_of "$name")
	[ "$(vm_field "$name" power_state)" = Halted ] || fail "vm $name is not halted"
	[ ! -e "$XO_STATE_DIR/VM/$uuid/extra" ] || fail "vm $name still has a domain record"
	[ ! -e "$XO_STATE_DIR/host/reservations/$uuid" ] || fail "vm $name still holds a memory reservation"
	run xs ls "/vm/$uuid/domains"
	# shellcheck disable=SC2154 # status and output are set by bats' run
	[ "$status" -ne 0 ] || [ -z "$output" ] || fail "vm $name still lists domains: $output"
	for d in $(xs list /local/domain 2>/dev/null); do
		[ "$d" = 0 ] && continue
		[ "$(xs read /local/domain/$d/vm 2>/dev/null)" != "/vm/$uuid" ] ||
			fail "domain $d of vm $name is still in xenstore"
	done
	# backends of this VM's domains, or of domains that are gone: other VMs may run
	local k fe owner
	for k in vbd vif pci; do
		for fe in $(xs list /local/domain/0/backend/$k 2>/dev/null); do
			owner=$(xs read /local/domain/$fe/vm 2>/dev/null) || owner=
			[ -n "$owner" ] && [ "$owner" != "/vm/$uuid" ] && continue
			fail "backends left: $k/$fe: $(xs ls /local/domain/0/backend/$k/$fe)"
		done
	done
	# libxl's record of the domain for xl list -l (and its temporary and xl's lock)
	local ud
	for ud in "$XO_STATE_DIR"/sim/libxl/userdata-*".$uuid".*; do
		[ -e "$ud" ] && fail "libxl's userdata is left: $ud"
	done
	local img
	while read -r img; do
		[ -n "$img" ] && [ -e "$img" ] || continue
		no_loops_on "$img" || fail "a loop device is left on $img"
	done < <(xo-vbd-list --json "$name" |
		python3 -c 'import json,sys; [print(v["backend"]) for v in json.load(sys.stdin)]')
	# the queue is empty and no worker journal is left
	[ -z "$(ls "$XO_STATE_DIR/VM/$uuid/queue")" ] || fail "queue of vm $name not empty"
	assert_no_host_resources "$uuid"
}

# nothing a VM's instance held on the host is left (lib/res.h): no resource record, no
# interface marked as the VM's, no nft table of a vif, no process started for it
assert_no_host_resources() {
	local uuid=$1 f p
	[ -z "$(ls -A "$XO_STATE_DIR/VM/$uuid/res" 2>/dev/null)" ] ||
		fail "resource records left: $(ls -A "$XO_STATE_DIR/VM/$uuid/res")"
	for f in /sys/class/net/*/ifalias; do
		[ "$(cat "$f" 2>/dev/null)" != "xo:$uuid" ] || fail "an interface of the vm is left: $f"
	done
	if command -v nft >/dev/null; then
		! nft list tables 2>/dev/null | grep -q 'xo-vif' || fail "nft tables left: $(nft list tables)"
	fi
	for p in /proc/[0-9]*; do
		[ -r "$p/environ" ] || continue
		# a hotplug script xo started for this state directory
		if tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "XO_STATE_DIR=$XO_STATE_DIR" &&
			tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$XO_SCRIPT_DIR/"; then
			fail "a process of the vm is left: $(tr '\0' ' ' <"$p/cmdline")"
		fi
	done
}

# the VM is intact and running (or paused): a domain that finished starting, every
# active device plugged with its hotplug done, every plugged device active
assert_intact() {
	local name=$1 d st
	st=$(vm_field "$name" power_state)
	[ "$st" = Running ] || [ "$st" = Paused ] || fail "vm $name is $st"
	d=$(domid_of "$name")
	run xs read "/local/domain/$d/action-request"
	[ "$status" -ne 0 ] || fail "vm $name still has action-request $output"
	xo-vbd-stat --json "$name" | python3 -c '
import json, sys
for v in json.load(sys.stdin):
    assert v["active"] == v["plugged"], v
    if v["plugged"]:
        assert v["hotplug_status"] == "connected", v' || fail "vbds of $name inconsistent: $(xo-vbd-stat "$name")"
	xo-vif-stat --json "$name" | python3 -c '
import json, sys
for v in json.load(sys.stdin):
    assert v["active"] == v["plugged"], v
    if v["plugged"]:
        assert v["hotplug_status"] == "connected", v' || fail "vifs of $name inconsistent: $(xo-vif-stat "$name")"
}

# the micro-op names of an operation: atoms_of xo-vm-start web1
atoms_of() {
	"$@" --plan --json | python3 -c 'import json,sys; [print(a["atom"]) for a in json.load(sys.stdin)]'
}
