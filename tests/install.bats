#!/usr/bin/env bats
# make install with PREFIX and DESTDIR, and make deps without root.
load helpers

setup() { xo_setup; }
teardown() {
	xo_teardown
	if [ -n "${PERM_DIR:-}" ]; then
		rm -rf "$PERM_DIR"
	fi
}

@test "make install DESTDIR=... PREFIX=/usr installs programs, man pages and completions" {
	dest="$BATS_TEST_TMPDIR/dest"
	run make -s -C "$XO_SRC" install DESTDIR="$dest" PREFIX=/usr
	assert_success
	while read -r p _; do
		[ -x "$dest/usr/bin/$p" ] || fail "usr/bin/$p is missing"
		[ -f "$dest/usr/share/man/man1/$p.1" ] || fail "man1/$p.1 is missing"
		if [ "$p" != xo ]; then
			[ "$(readlink "$dest/usr/share/bash-completion/completions/$p")" = xo ] ||
				fail "no bash completion link for $p"
		fi
	done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$XO_SRC/cmd/commands.txt")
	[ -f "$dest/usr/share/man/man5/xo-config.5" ]
	[ -f "$dest/usr/share/man/man7/xo.7" ]
	# the completion files themselves, not links to themselves
	[ -f "$dest/usr/share/bash-completion/completions/xo" ]
	[ ! -L "$dest/usr/share/bash-completion/completions/xo" ]
	cmp "$XO_SRC/completions/xo.bash" "$dest/usr/share/bash-completion/completions/xo"
	cmp "$XO_SRC/completions/_xo" "$dest/usr/share/zsh/vendor-completions/_xo"
	# the installed xo runs and finds its installed siblings
	run env PATH=/usr/bin:/bin "$dest/usr/bin/xo" help
	assert_success
	assert_line --regexp '^  vm-add +add a VM'
	run env PATH=/usr/bin:/bin "$dest/usr/bin/xo" vm add --name web1 --memory 64M --kernel "$KERNEL"
	assert_success
	run env PATH=/usr/bin:/bin "$dest/usr/bin/xo" vm list
	assert_output --regexp ' web1 pv 64M 1$'
	# the man pages render
	run man -l "$dest/usr/share/man/man1/xo-vm-add.1"
	assert_success
	assert_output --partial "xo-vm-add"
	# and uninstall takes it all away again
	run make -s -C "$XO_SRC" uninstall DESTDIR="$dest" PREFIX=/usr
	assert_success
	[ -z "$(find "$dest" -type f -o -type l)" ] || fail "left: $(find "$dest" -type f -o -type l)"
}

@test "make deps without root prints the apt-get line for the missing packages" {
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	[ "$(id -u)" = 0 ] || skip "needs root to become nobody"
	PERM_DIR=$(mktemp -d /tmp/xo-deps.XXXXXX)
	chmod 755 "$PERM_DIR"
	cp "$XO_SRC/Makefile" "$PERM_DIR/"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
		make -s -C "$PERM_DIR" deps DEB_PACKAGES="bats xo-no-such-package-1 libjson-c-dev xo-no-such-package-2"
	assert_failure
	assert_line "xo: missing packages; run as root:"
	assert_line "  apt-get install -y xo-no-such-package-1 xo-no-such-package-2"
	# nothing missing: nothing to do, as root or not
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
		make -s -C "$PERM_DIR" deps DEB_PACKAGES="bats libjson-c-dev"
	assert_success
	assert_output "xo: all Debian packages present"
}

@test "tests/demo (make demo) runs its session, shows each command and leaves nothing behind" {
	export TMPDIR="$BATS_TEST_TMPDIR/tmp"
	mkdir "$TMPDIR"
	run "$XO_SRC/tests/demo"
	assert_success
	assert_line --regexp '^\$ xo vm add --name web1 .*--cmdline '"'"'root=/dev/xvda1 ro'"'"'$'
	assert_line --regexp '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
	assert_line '$ xo vbd add web1 --type cdrom'
	assert_line xvdb
	assert_line "xo-vm-add: fatal: unable to add vm web1: a vm named 'web1' already exists"
	assert_line '# done'
	# its temporary state directory is gone, and it never touched ours
	[ -z "$(ls -A "$TMPDIR")" ]
	[ ! -e "$XO_STATE_DIR" ]
}
