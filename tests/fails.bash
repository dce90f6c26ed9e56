# tests/fails.bash: checking failures (load fails, after load helpers).
#
# state_tree prints the state directory's VMs and names for "nothing
# changed" checks: files with a checksum, symlinks with their target, and
# directories, so that a stray hidden VM/.new.* or VM/.trash.* shows.
# name/.lock, the lock file the name index creates on first use, is left out.
#
# fails_cleanly CODE REGEX CMD... runs CMD and checks that it exits CODE with
# nothing on stdout and one line "PROG: fatal: ..." on stderr that matches
# REGEX and holds no control character, and that state_tree is unchanged.
bats_require_minimum_version 1.5.0

state_tree() {
	[ -d "$XO_STATE_DIR" ] || return 0
	(cd "$XO_STATE_DIR" && find VM name -mindepth 1 2>/dev/null | sort | while read -r f; do
		if [ "$f" = name/.lock ]; then continue
		elif [ -L "$f" ]; then echo "$f -> $(readlink "$f")"
		elif [ -d "$f" ]; then echo "$f/"
		else echo "$f $(md5sum < "$f")"; fi
	done)
}

# shellcheck disable=SC2154 # status, output, stderr, stderr_lines: set by bats' run
fails_cleanly() {
	local code=$1 pattern=$2 before after
	shift 2
	before=$(state_tree)
	run --separate-stderr "$@"
	after=$(state_tree)
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
