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
	if [ -S "$XO_STATE_DIR/sim/hv.sock" ] && command -v xo-simd >/dev/null; then
		xo-simd stop >/dev/null 2>&1 || true
	fi
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
