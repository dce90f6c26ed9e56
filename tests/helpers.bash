# tests/helpers.bash: loaded by every bats file (load helpers).
#
# Each test gets its own state directory under $BATS_TEST_TMPDIR, the
# simulator backend, its own hook directory, and the project's hotplug
# scripts. Anything a test starts in the background must close fd 3 (bats
# waits for it otherwise); xo-simd does so itself. teardown stops the
# simulator of the test's state directory.
bats_load_library bats-support
bats_load_library bats-assert
bats_require_minimum_version 1.5.0

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

# the state directory's VMs and names, with contents, for "nothing changed"
# checks: files with a checksum, symlinks with their target, directories
# (so a stray hidden VM/.new.* shows). name/.lock, the lock file the name
# index creates on first use, is left out.
state_snapshot() {
	[ -d "$XO_STATE_DIR" ] || return 0
	(cd "$XO_STATE_DIR" && find VM name -mindepth 1 2>/dev/null | sort | while read -r f; do
		if [ "$f" = name/.lock ]; then continue
		elif [ -L "$f" ]; then echo "$f -> $(readlink "$f")"
		elif [ -d "$f" ]; then echo "$f/"
		else echo "$f $(md5sum < "$f")"; fi
	done)
}

# fails_cleanly CODE REGEX CMD...: CMD exits CODE with nothing on stdout and
# one line "PROG: fatal: ..." on stderr that matches REGEX, and the state
# directory is exactly as before
# shellcheck disable=SC2154 # status, output, stderr, stderr_lines: set by bats' run
fails_cleanly() {
	local code=$1 pattern=$2 before after
	shift 2
	before=$(state_snapshot)
	run --separate-stderr "$@"
	after=$(state_snapshot)
	if [ "$status" -ne "$code" ]; then
		fail "exit status $status, expected $code (stderr: $stderr)"
	fi
	[ -z "$output" ] || fail "unexpected output on stdout: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr is not one line: $stderr"
	[[ $stderr =~ ^xo(-[a-z]+)*:\ fatal:\  ]] || fail "not an xo error message: $stderr"
	[[ $stderr =~ $pattern ]] || fail "stderr does not match '$pattern': $stderr"
	if LC_ALL=C grep -q '[[:cntrl:]]' <<< "$stderr"; then
		fail "control characters in the message: $(cat -v <<< "$stderr")"
	fi
	[ "$before" = "$after" ] || fail "the state directory changed:
$(diff <(echo "$before") <(echo "$after"))"
}
