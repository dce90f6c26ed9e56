#!/usr/bin/env bats
# The simulated xenstored through Debian's xenstore-utils and libxenstore:
# the tree, watches, transactions, permissions, domain introduction.
load helpers
load sim-helpers

setup() {
	sim_setup
	xo-simd start
}
teardown() { sim_teardown; }

@test "xenstore-write, -read, -ls, -list, -exists and -rm work unchanged" {
	run xenstore-write /a/b/c 1 /a/b/d "two words" /a/e ""
	assert_success
	run xenstore-read /a/b/c /a/b/d
	assert_output $'1\ntwo words'
	run xenstore-ls /a
	assert_output $'b = ""\n c = "1"\n d = "two words"\ne = ""'
	run xenstore-list /a/b
	assert_output $'c\nd'
	run xenstore-exists /a/b/d
	assert_success
	run xenstore-rm /a/b
	assert_success
	run xenstore-exists /a/b/c
	assert_failure
	run xenstore-read /a/e
	assert_success
	assert_output ""
	# dom0's relative paths are below /local/domain/0
	xenstore-write rel 5
	run xenstore-read /local/domain/0/rel
	assert_output 5
	# removing what is not there is fine when its parent exists, not otherwise
	run "$XS" rm /a/none
	assert_output ok
	run "$XS" rm /none/none
	assert_output "error ENOENT"
	run "$XS" rm /
	assert_output "error EINVAL"
}

@test "xenstore-chmod and xenstore-ls -p show and set permissions" {
	xenstore-write /p/q v
	run xenstore-ls -p /p
	assert_output --partial '(n0)'
	xenstore-chmod /p/q b5 r7
	run "$XS" getperms /p/q
	assert_output "ok b5 r7"
	# the parent keeps its own
	run "$XS" getperms /p
	assert_output "ok n0"
	run "$XS" raw bad-perms
	assert_output "error EINVAL"
}

@test "a watch fires once when set, then for the node and its children" {
	xenstore-write /w/x 0
	watch_start /w tok 3
	watch_next
	[ "$EVENT" = "/w tok" ]
	xenstore-write /w/x/deep/er 1
	watch_next
	[ "$EVENT" = "/w/x/deep/er tok" ]
	xenstore-write /w 2
	watch_next
	[ "$EVENT" = "/w tok" ]
	# writes elsewhere do not fire it
	run xenstore-write /wx 3
}

@test "removing a parent fires the watches set on its children" {
	xenstore-write /r/a/b 1
	watch_start /r/a/b t 2
	watch_next
	[ "$EVENT" = "/r/a/b t" ]
	xenstore-rm /r
	watch_next
	[ "$EVENT" = "/r/a/b t" ]
	run xenstore-exists /r/a/b
	assert_failure
}

@test "watches on special nodes and unwatch" {
	run "$XS" raw reset-watches
	assert_output $'ok OK\nok OK\nerror ENOENT'
	run "$XS" raw duplicate-watch
	assert_output $'ok OK\nerror EEXIST'
	run "$XS" raw write-special
	assert_output "error EINVAL"
}

@test "a transaction that read a node another client changed fails with EAGAIN" {
	run "$XS" tx-conflict /t/n
	assert_success
	assert_output $'in-tx: 0\ncommit: EAGAIN\nvalue: other'
	run "$XS" tx-busy /t/m
	assert_output $'first: ok\nsecond: EAGAIN\nvalue: one'
}

@test "reads in a transaction are repeatable while others write (test-xenstore's ta err)" {
	run "$XS" tx-repeatable /rr
	assert_output "first: a
absent: ENOENT
ls: 1
again: a
still-absent: ENOENT
ls: 1
outside: b
own-write: c
commit: EAGAIN
value: b"
}

@test "a read-only transaction fails only when a node it read changed" {
	run "$XS" tx-readonly /ro
	assert_output "read: a
unrelated change: ok
read: a
read node changed: EAGAIN
read: b
aborted: ok"
}

@test "a transaction's writes are invisible outside until it commits" {
	run "$XS" tx-isolation /iso
	assert_success
	assert_output $'outside: ENOENT\ninside: in-tx\ncommit: ok\nafter: in-tx\nchild: c'
	xenstore-write /gone/a 1 /gone/b/c 2
	run "$XS" rm-in-tx /gone
	assert_output $'rm: ok\ninside: ENOENT\ncommit: ok\nafter: ENOENT'
}

@test "a transaction's watch events come at commit, in order" {
	watch_start /tw tok 3
	watch_next
	xenstore-write /tw/a 1 /tw/b 2
	watch_next
	[ "$EVENT" = "/tw/a tok" ]
	watch_next
	[ "$EVENT" = "/tw/b tok" ]
}

@test "a client that hangs up inside a transaction leaves nothing behind" {
	run "$XS" tx-abandon /ab/x
	assert_output $'write: ok\nabandoned'
	run xenstore-exists /ab/x
	assert_failure
	run xenstore-write /ab/y 1
	assert_success
}

@test "a guest sees and writes only what its permissions allow" {
	d=$(new_domain)
	other=$(new_domain)
	xenstore-write /local/domain/$d/secret s
	xenstore-chmod /local/domain/$d/secret n0
	run as_guest "$d" xenstore-read name
	assert_success
	assert_output "vm-$d"
	run as_guest "$d" "$XS" read /local/domain/$d/name
	assert_output "ok vm-$d"
	# its own directory is read-only to it, its subdirectories are its own
	run as_guest "$d" "$XS" write /local/domain/$d/name evil
	assert_output "error EACCES"
	run as_guest "$d" "$XS" write /local/domain/$d/data/k v
	assert_output ok
	run as_guest "$d" "$XS" getperms /local/domain/$d/data/k
	assert_output "ok n$d"
	# what it may not read: EACCES, and no hint whether it exists
	run as_guest "$d" "$XS" read /local/domain/$d/secret
	assert_output "error EACCES"
	run as_guest "$d" "$XS" read /local/domain/$other/name
	assert_output "error EACCES"
	run as_guest "$d" "$XS" read /local/domain/$other/nonexistent
	assert_output "error EACCES"
	run as_guest "$d" "$XS" read /local/domain/$d/data/nonexistent
	assert_output "error ENOENT"
	run as_guest "$d" "$XS" ls /local/domain/0
	assert_output "error EACCES"
	run as_guest "$d" "$XS" write /tool/x 1
	assert_output "error EACCES"
	# it may give read access to others, not give its nodes away
	run as_guest "$d" "$XS" setperms /local/domain/$d/data/k n$d r0
	assert_output ok
	run as_guest "$d" "$XS" setperms /local/domain/$d/data/k n0
	assert_output "error EPERM"
	run as_guest "$d" "$XS" setperms /local/domain/$d/name n$d
	assert_output "error EACCES"
	# dom0-only requests
	run as_guest "$d" "$XS" introduce 9
	assert_output EACCES
	run as_guest "$d" "$XS" release "$other"
	assert_output EACCES
}

@test "a guest reads its backend but never writes it; it writes its frontend" {
	d=$(new_domain)
	xenstore-write /libxl/disable_udev 1
	"$SB" vbd "$d" 51712 /dev/null
	be=/local/domain/0/backend/vbd/$d/51712
	run as_guest "$d" "$XS" read $be/params
	assert_output "ok /dev/null"
	run as_guest "$d" "$XS" write $be/state 4
	assert_output "error EACCES"
	run as_guest "$d" "$XS" write $be/new 1
	assert_output "error EACCES"
	run as_guest "$d" "$XS" write /local/domain/$d/device/vbd/51712/ring-ref 8
	assert_output ok
	run as_guest "$d" "$XS" rm $be
	assert_output "error EACCES"
}

@test "a guest's relative watch reports relative paths; it gets no events it may not read" {
	d=$(new_domain)
	XENSTORED_PATH="$XO_STATE_DIR/sim/domain/$d.sock" watch_start data tok 2
	watch_next
	[ "$EVENT" = "data tok" ]
	xenstore-write /local/domain/$d/data/x 1
	watch_next
	[ "$EVENT" = "data/x tok" ]
	exec 4<&-
	XENSTORED_PATH="$XO_STATE_DIR/sim/domain/$d.sock" watch_start / all 2
	watch_next
	[ "$EVENT" = "/ all" ]
	xenstore-write /hidden/x 1
	xenstore-write /local/domain/$d/data/y 2
	watch_next
	[ "$EVENT" = "/local/domain/$d/data/y all" ]
}

@test "introduce fires @introduceDomain; release, shutdown and destroy fire @releaseDomain" {
	watch_start @introduceDomain i 2
	watch_next
	[ "$EVENT" = "@introduceDomain i" ]
	d=$(new_domain)
	watch_next
	[ "$EVENT" = "@introduceDomain i" ]
	[ -S "$XO_STATE_DIR/sim/domain/$d.sock" ]
	run "$XS" is-introduced "$d"
	assert_output yes
	run "$XS" domain-path "$d"
	assert_output "/local/domain/$d"
	exec 4<&-

	watch_start @releaseDomain r 4
	watch_next
	"$SB" shutdown "$d" 0
	watch_next
	[ "$EVENT" = "@releaseDomain r" ]
	# once per shutdown, then once more when it dies
	"$SB" shutdown "$d" 0
	"$SB" destroy "$d"
	watch_next
	[ "$EVENT" = "@releaseDomain r" ]
	run "$XS" is-introduced "$d"
	assert_output no
	[ ! -e "$XO_STATE_DIR/sim/domain/$d.sock" ]

	d2=$(new_domain)
	run "$XS" release "$d2"
	assert_output ok
	watch_next
	[ "$EVENT" = "@releaseDomain r" ]
	run "$XS" release "$d2"
	assert_output ENOENT
	run "$XS" introduce 999
	assert_output EINVAL
	run "$XS" raw release-dom0
	assert_output "error EINVAL"
}

@test "a dead domain's own nodes go, dom0's stay; its connections are closed" {
	d=$(new_domain)
	as_guest "$d" xenstore-write data/mine 1
	XENSTORED_PATH="$XO_STATE_DIR/sim/domain/$d.sock" watch_start data t 2
	watch_next
	"$SB" destroy "$d"
	run xenstore-exists /local/domain/$d/data
	assert_failure
	run xenstore-read /local/domain/$d/name
	assert_output "vm-$d"
	# the guest's watcher saw its connection end
	run wait "$WATCHER"
	assert_failure
	WATCHER=
}

@test "a directory too big for one reply is read through DIRECTORY_PART" {
	for i in $(seq 1 300); do echo "/big/child-with-a-long-name-$i"; echo "$i"; done |
		xargs xenstore-write
	run "$XS" dir-count /big
	assert_output "300 entries, last child-with-a-long-name-300"
	# xo's own connection gets E2BIG for it and hands the listing to libxenstore
	run "$XS" xo-ls /big
	assert_output "300 entries, last child-with-a-long-name-300"
	run xenstore-list /big
	assert_success
	[ "${#lines[@]}" -eq 300 ]
}

@test "xo's requests outside a transaction go over its own connection, with libxenstore's results" {
	run "$XS" xo-direct /s
	assert_success
	assert_output "mkdir ok
write a ok
write e ok
read d/a '1'
read d/e ''
read none ENOENT
ls 2: a e
rm a ok
rm none ok
write bad xenstore write '/s/bad//x': Invalid argument
direct=11"
	run "$XS" getperms /s/d
	assert_output "ok n0 r5"
	run xenstore-exists /s/d/a
	assert_failure
	run xenstore-read /s/d/e
	assert_output ""
}

@test "xo's transactions: a write-only one goes as one batch, all or nothing; one that reads as before" {
	xenstore-write /t/gone x
	run "$XS" xo-tx /t plain
	assert_output "ok batched=1"
	run "$XS" read /t/d/a
	assert_output "ok 1"
	run "$XS" read /t/d/b
	assert_output "ok 2"
	run "$XS" getperms /t/d
	assert_output "ok n0 r5"
	run xenstore-exists /t/gone
	assert_failure
	# a request that fails: the error names it, and nothing of the batch is applied
	run "$XS" xo-tx /u bad
	assert_output "error xenstore write '/u/bad//x': Invalid argument"
	run xenstore-exists /u
	assert_failure
	# a function that reads gets a libxenstore transaction (not batched), same result
	run "$XS" xo-tx /v read
	assert_output "ok batched=0"
	run "$XS" read /v/d/b
	assert_output "ok 2"
	run "$XS" getperms /v/d
	assert_output "ok n0 r5"
}

@test "Xen's own test-xenstore passes against the simulated xenstored" {
	t=${XO_TEST_XENSTORE:-/usr/lib/xen-4.17/bin/test-xenstore}
	[ -x "$t" ] || skip "Xen's test-xenstore is not installed (Debian's xen-utils-4.17)"
	run "$t"
	assert_success
	assert_line --regexp '^ta err +: [0-9]+ ns$'
	refute_output --partial failed
	run "$t" -i 20
	assert_success
	refute_output --partial failed
}
