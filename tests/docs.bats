#!/usr/bin/env bats
# Every program of the registry (cmd/commands.txt) is built, has --help, a
# man page that lints clean, and an entry in both completion files; the
# completion functions complete real VM names; xo-config(5) documents every
# JSON field lib/model.c accepts and xo(7) every error class of lib/err.c.
load helpers
bats_require_minimum_version 1.5.0

setup() { xo_setup; }
teardown() { xo_teardown; }

programs() {
	grep -v -e '^#' -e '^[[:space:]]*$' "$XO_SRC/cmd/commands.txt" | awk '{ print $1 }'
}

# mandoc -Tlint, quiet about references to xo's own pages (the system's
# manual database does not have them) and about the database itself
man_lint() {
	mandoc -Tlint "$1" 2>&1 | grep -v -e 'outdated mandoc.db' \
		-e 'STYLE: referenced manual not found: Xr xo' || true
}

@test "the registry lists every program in cmd/ and nothing else" {
	diff <(programs | sort) <(cd "$XO_SRC/cmd" && ls *.c | sed 's/\.c$//' | sort)
	diff <(programs | grep -vx xo) <(xo --list-commands)
}

@test "every program is built and its --help exits 0 with a usage line" {
	for p in $(programs); do
		[ -x "$XO_SRC/build/bin/$p" ] || fail "build/bin/$p is missing"
		run --separate-stderr "$XO_SRC/build/bin/$p" --help
		[ "$status" -eq 0 ] || fail "$p --help exited $status"
		[[ ${lines[0]} =~ ^usage:\ $p( |$) ]] || fail "$p --help: no usage line: ${lines[0]}"
		run --separate-stderr "$XO_SRC/build/bin/$p" -h
		[ "$status" -eq 0 ] || fail "$p -h exited $status"
	done
}

@test "every program has a man page that passes mandoc -Tlint and groff -ww" {
	for p in $(programs); do
		page="$XO_SRC/man/$p.1"
		[ -f "$page" ] || fail "man/$p.1 is missing"
		out=$(man_lint "$page")
		[ -z "$out" ] || fail "$out"
		out=$(groff -mandoc -ww -z "$page" 2>&1)
		[ -z "$out" ] || fail "$p.1: $out"
		for s in NAME SYNOPSIS DESCRIPTION ENVIRONMENT "EXIT STATUS" EXAMPLES "SEE ALSO"; do
			grep -qx "\.Sh $s" "$page" || fail "$p.1 has no $s section"
		done
		grep -qx "\.Nm $p" "$page" || fail "$p.1 does not name $p"
		! grep -n XXX "$page" || fail "$p.1 still has XXX from man/mkpage"
	done
	for page in "$XO_SRC/man/xo.7" "$XO_SRC/man/xo-config.5"; do
		out=$(man_lint "$page")
		[ -z "$out" ] || fail "$out"
		out=$(groff -mandoc -ww -z "$page" 2>&1)
		[ -z "$out" ] || fail "$page: $out"
	done
}

@test "every man page documents each long option its program's --help shows" {
	for p in $(programs); do
		for opt in $("$XO_SRC/build/bin/$p" --help | sed -n -E 's/^ +(-[A-Za-z0-9], )?--([A-Za-z0-9-]+).*/\2/p'); do
			grep -q -e "^\.It Fl $( [ "$opt" = help ] && echo 'h , Fl -help' || echo "-$opt")" \
				-e "^\.It Fl [a-z] , Fl -$opt" -e "^\.It Fl -$opt" "$XO_SRC/man/$p.1" ||
				fail "man/$p.1 does not document --$opt"
		done
	done
}

@test "every program is in both completion files" {
	# bash: the _xo_programs list, registered with complete -F
	run bash -c 'source "$1"; printf "%s\n" "${_xo_programs[@]}"' bash "$XO_SRC/completions/xo.bash"
	assert_success
	diff <(programs | sort) <(printf '%s\n' "${lines[@]}" | sort)
	run bash -c 'source "$1"; complete -p' bash "$XO_SRC/completions/xo.bash"
	for p in $(programs); do
		assert_line "complete -F _xo $p"
	done
	# zsh: the #compdef line
	diff <(programs | sort) <(head -n1 "$XO_SRC/completions/_xo" | tr ' ' '\n' | tail -n +2 | sort)
	run zsh -f -c 'fpath=($1 $fpath); autoload -U compinit; compinit -u -d "$2"
		for p in ${(f)"$(<$3)"}; do print -r -- "$p=$_comps[$p]"; done' zsh \
		"$XO_SRC/completions" "$BATS_TEST_TMPDIR/zcompdump" <(programs)
	assert_success
	for p in $(programs); do
		assert_line "$p=_xo"
	done
}

# bash completion: words... (the last one is being completed) -> COMPREPLY, one per line
bash_complete() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _xo
		printf "%s\n" "${COMPREPLY[@]}"' bash "$XO_SRC/completions/xo.bash" "$@"
}

zsh_complete() {
	zsh -f -c 'source "$1"; shift; words=("$@"); CURRENT=$#; _xo_candidates
		print -r -- "$REPLY"; print -rl -- $reply' zsh "$XO_SRC/completions/_xo" "$@"
}

@test "bash completion completes VM names, uuids, devices, commands and options" {
	uuid=$(add_vm web1)
	add_vm db1 >/dev/null
	disk_image "$BATS_TEST_TMPDIR/d.img"
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/d.img" >/dev/null
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/d.img" --name xvdq >/dev/null
	xo-vif-add web1 --position 3 >/dev/null
	run bash_complete xo-vm-show w
	assert_output web1
	run bash_complete xo-vbd-add ""
	assert_line web1
	assert_line db1
	assert_line "$uuid"
	run bash_complete xo-vm-remove "${uuid:0:8}"
	assert_output "$uuid"
	run bash_complete xo-vbd-remove web1 ""
	assert_output "xvda
xvdq"
	run bash_complete xo-vbd-remove "$uuid" xvdq ""
	assert_output ""
	run bash_complete xo-vif-remove web1 ""
	assert_output 3
	run bash_complete xo-vm-add ""
	assert_output ""
	run bash_complete xo-vm-show web1 --j
	assert_output --json
	run bash_complete xo-vbd-add web1 --unpluggable ""
	assert_output "yes
no"
	run bash_complete xo-vbd-add --path "$BATS_TEST_TMPDIR/d.i"
	assert_output "$BATS_TEST_TMPDIR/d.img"
	run bash_complete xo-vbd-add --path "$BATS_TEST_TMPDIR/d.img" w
	assert_output web1
	run bash_complete xo ""
	assert_line vm
	assert_line vbd
	assert_line help
	run bash_complete xo vm ""
	assert_line add
	assert_line show
	run bash_complete xo vm show ""
	assert_line web1
	run bash_complete xo vbd remove web1 x
	assert_output "xvda
xvdq"
	run bash_complete xo help vm sho
	assert_output show
	run bash_complete xo help vm s
	assert_line show
	assert_line start
	assert_line stat
	refute_line add
	# another state directory, another answer
	XO_STATE_DIR="$BATS_TEST_TMPDIR/other" run bash_complete xo-vm-show ""
	assert_output ""
}

@test "zsh completion completes VM names, devices, commands and options" {
	uuid=$(add_vm web1)
	disk_image "$BATS_TEST_TMPDIR/d.img"
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/d.img" >/dev/null
	xo-pci-add web1 --address 0000:03:00.0 --position 2 >/dev/null
	run zsh_complete xo-vm-show ""
	assert_output "words
web1
$uuid"
	run zsh_complete xo-vbd-remove web1 ""
	assert_output "words
xvda"
	run zsh_complete xo-pci-remove "$uuid" ""
	assert_output "words
2"
	run zsh_complete xo vm show ""
	assert_line web1
	run zsh_complete xo ""
	assert_line vm
	assert_line pci
	run zsh_complete xo-vm-add --f
	assert_line --file
	run zsh_complete xo-vm-add --kernel ""
	assert_output files
	run zsh_complete xo-vbd-add web1 --persistent ""
	assert_output "words
yes
no"
}

@test "zsh completes a VM name in a real interactive shell (compinit, zpty)" {
	add_vm web1 >/dev/null
	cat > "$BATS_TEST_TMPDIR/tty.zsh" <<'ZSH'
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='> '; fpath=($1 \$fpath); autoload -U compinit; compinit -u -d $2; print RE''ADY"
zpty -r z out '*READY*' || exit 2
zpty -w -n z $'xo-vm-show we\t'
zpty -r z out '*xo-vm-show web1*' || exit 3
zpty -d z
ZSH
	# the shell reads until the completed line shows; without a completion it
	# would wait for ever, hence the timeout
	run timeout 20 zsh -f "$BATS_TEST_TMPDIR/tty.zsh" "$XO_SRC/completions" "$BATS_TEST_TMPDIR/zcompdump" 3>&-
	assert_success
}

@test "xo-config(5) documents every JSON field lib/model.c accepts" {
	# the *_keys[] tables: from "static const char *const x_keys[] = {" to "NULL };"
	fields=$(awk '/^static const char \*const [a-z_]+_keys\[\] = \{/ { on = 1 }
		on { print } /NULL \};/ { on = 0 }' "$XO_SRC/lib/model.c" |
		grep -o '"[a-z_0-9]*"' | tr -d '"' | sort -u)
	[ "$(wc -w <<< "$fields")" -gt 30 ]
	for f in $fields; do
		grep -q -E "^\.It Cm ([a-z_0-9]+ , )*$f( ,| No|$)" "$XO_SRC/man/xo-config.5" ||
			fail "xo-config.5 does not document the field '$f'"
	done
}

@test "xo(7) lists every error class with its exit code" {
	while read -r name code; do
		grep -qx "\.It $name Ta $code" "$XO_SRC/man/xo.7" || fail "xo.7: class $name exit $code"
	done < <(sed -n -E 's/.*\[XO_E_[A-Z_]+\] = \{ "([a-z_]+)", XO_EXIT_([A-Z]+) \}.*/\1 \2/p' "$XO_SRC/lib/err.c" |
		grep -v '^none ' | sed -e 's/ OK$/ 0/' -e 's/ FAIL$/ 1/' -e 's/ TIMEOUT$/ 99/' \
			-e 's/ USAGE$/ 100/' -e 's/ SYSTEM$/ 111/')
}

@test "the README's command table lists every program of the registry" {
	for p in $(programs); do
		grep -q "^| \`$p\` | " "$XO_SRC/README.md" || fail "README.md: no row for $p"
	done
}
