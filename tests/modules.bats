#!/usr/bin/env bats
# The loadable backends (backend-libvirt.so, backend-libxl.so): the programs never link
# libvirt or libxenlight, a module exports only its entry point, and a missing or
# broken module is one clear line.

load helpers

setup() { xo_setup; }
teardown() { xo_teardown; }

@test "modules: the programs link neither libvirt nor libxenlight" {
	for p in "$XO_SRC"/build/bin/xo-*; do
		run ldd "$p"
		refute_output --partial libvirt
		refute_output --partial libxenlight
	done
}

@test "modules: each module exports only xo_backend_module" {
	found=0
	for m in "$XO_SRC"/build/lib/xo/backend-*.so; do
		[ -e "$m" ] || continue
		found=1
		run nm -D --defined-only "$m"
		assert_success
		assert_output --regexp '^[0-9a-f]+ [DR] xo_backend_module$'
		[ "${#lines[@]}" -eq 1 ]
	done
	[ "$found" = 1 ] || skip "no module was built (libvirt-dev and libxen-dev missing)"
}

@test "modules: a backend whose module is missing is one clear line, exit 111" {
	add_vm web1 >/dev/null
	mkdir -p "$BATS_TEST_TMPDIR/empty"
	XO_BACKEND=libvirt XO_MODULE_DIR="$BATS_TEST_TMPDIR/empty" run xo-vm-stat web1
	assert_failure 111
	assert_output --partial "the libvirt backend is not available"
	printf 'not an elf' > "$BATS_TEST_TMPDIR/empty/backend-libxl.so"
	XO_BACKEND=libxl XO_MODULE_DIR="$BATS_TEST_TMPDIR/empty" run xo-vm-start web1
	assert_failure 111
	assert_output --partial "the libxl backend is not available"
	[ "${#lines[@]}" -eq 1 ]
}

@test "modules: libvirt at an address that does not answer is one clear line, exit 111" {
	[ -e "$XO_SRC/build/lib/xo/backend-libvirt.so" ] || skip "libvirt-dev is missing"
	add_vm web1 >/dev/null
	XO_BACKEND=libvirt XO_LIBVIRT_URI="qemu+unix:///system?socket=$BATS_TEST_TMPDIR/none" run xo-vm-stat web1
	assert_failure 111
	assert_output --partial "unable to connect to libvirt at"
	[ "${#lines[@]}" -eq 1 ]
}
