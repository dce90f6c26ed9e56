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

# With the PREFIX the tree was built with (the default): another PREFIX would
# rebuild the programs in build/ (they bake in where the scripts are), under
# the feet of the tests that run in parallel.
@test "make install DESTDIR=... installs programs, man pages, completions, scripts, rules, hooks and the unit" {
	dest="$BATS_TEST_TMPDIR/dest"
	p=/usr/local
	run make -s -C "$XO_SRC" install DESTDIR="$dest"
	assert_success
	while read -r prog _; do
		[ -x "$dest$p/bin/$prog" ] || fail "bin/$prog is missing"
		[ -f "$dest$p/share/man/man1/$prog.1" ] || fail "man1/$prog.1 is missing"
		if [ "$prog" != xo ]; then
			[ "$(readlink "$dest$p/share/bash-completion/completions/$prog")" = xo ] ||
				fail "no bash completion link for $prog"
		fi
	done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$XO_SRC/cmd/commands.txt")
	[ -f "$dest$p/share/man/man5/xo-config.5" ]
	[ -f "$dest$p/share/man/man7/xo.7" ]
	# the completion files themselves, not links to themselves
	[ -f "$dest$p/share/bash-completion/completions/xo" ]
	[ ! -L "$dest$p/share/bash-completion/completions/xo" ]
	cmp "$XO_SRC/completions/xo.bash" "$dest$p/share/bash-completion/completions/xo"
	cmp "$XO_SRC/completions/_xo" "$dest$p/share/zsh/vendor-completions/_xo"
	# the hotplug scripts, in the directory the programs look in
	lx="$p/libexec/xo"
	grep -q -a "$lx" "$dest$p/bin/xo-vbd-plug" || fail "xo-vbd-plug does not look in $lx"
	[ "$(stat -c %a "$dest$lx/block")" = 755 ]
	[ "$(stat -c %a "$dest$lx/vif")" = 755 ]
	[ "$(stat -c %a "$dest$lx/xo-hotplug-common.sh")" = 644 ]
	cmp "$XO_SRC/share/udev/block" "$dest$lx/block"
	# the udev rules name the installed scripts, and nothing is left to substitute
	rules="$dest$p/lib/udev/rules.d/xo-backend.rules"
	[ "$(stat -c %a "$rules")" = 644 ]
	! grep -n @ "$rules" || fail "unsubstituted @...@ in the rules"
	run grep -o 'RUN+="[^ "]*' "$rules"
	assert_success
	[ "${#lines[@]}" -ge 3 ]
	for l in "${lines[@]}"; do
		script=${l#RUN+=\"}
		[ "${script%/*}" = "$lx" ] || fail "a rule runs $script, not a script in $lx"
		[ -x "$dest$script" ] || fail "a rule runs $script, which is not installed"
	done
	# the example hooks, still executable
	[ -x "$dest$p/share/xo/hooks/vm-pre-start/10-log" ]
	[ -f "$dest$p/share/xo/hooks/README" ]
	# the systemd unit runs the installed watcher
	unit="$dest$p/lib/systemd/system/xo-watchd.service"
	run grep '^ExecStart=' "$unit"
	assert_output "ExecStart=$p/bin/xo-watchd"
	# the installed programs run and find their installed siblings
	run env PATH=/usr/bin:/bin "$dest$p/bin/xo-vm-start" --help
	assert_success
	assert_line --index 0 --regexp '^usage: xo-vm-start '
	run env PATH=/usr/bin:/bin "$dest$p/bin/xo" help
	assert_success
	assert_line --regexp '^  vm-add +add a VM'
	assert_line --regexp '^  vm-start +start a VM'
	run env PATH=/usr/bin:/bin "$dest$p/bin/xo" vm add --name web1 --memory 64M --kernel "$KERNEL"
	assert_success
	run env PATH=/usr/bin:/bin "$dest$p/bin/xo" vm list
	assert_output --regexp ' web1 pv 64M 1 Halted -$'
	# the man pages render
	run man -l "$dest$p/share/man/man1/xo-vm-start.1"
	assert_success
	assert_output --partial "xo-vm-start"
	# and uninstall takes it all away again
	run make -s -C "$XO_SRC" uninstall DESTDIR="$dest"
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
	# as root the VM's life on the simulator: start (Paused), unpause, shutdown,
	# a guest reboot handled by the watcher, a crash mid-start repaired
	if [ "$(id -u)" = 0 ]; then
		assert_line '$ xo vm start web1'
		assert_line --regexp '^[0-9a-f-]{36} web1 Paused domid=1 memory=512M vcpus=2 console=pv start=[0-9.]+$'
		assert_line --regexp '^xvda active plugged .*hotplug=connected'
		assert_line --regexp '^0 active plugged .*bridge=xenbr0 device=vif1\.0$'
		assert_line --regexp '^[0-9a-f-]{36} web1 Running domid=1 '
		assert_line --regexp '^[0-9a-f-]{36} web1 Running domid=3 '
		assert_line 'the start died: exit 137'
		assert_line --regexp '^[0-9a-f-]{36} web1 Paused domid=4 .*action-request=poweroff$'
		[ "$(grep -c -E '^[0-9a-f-]{36} web1 Halted$' <<<"$output")" -eq 2 ]
	fi
	assert_line '# done'
	# no loop device is left on the demo's files
	[ -z "$(losetup -a | grep -F "$TMPDIR/")" ]
	# its temporary state directory is gone, and it never touched ours
	[ -z "$(ls -A "$TMPDIR")" ]
	[ ! -e "$XO_STATE_DIR" ]
}
