#!/usr/bin/env bats
# Bad clients of the simulated xenstored: each gets the error the C xenstored
# gives, and the daemon keeps serving everyone else.
load helpers
load sim-helpers

setup() {
	sim_setup
	xo-simd start
	xenstore-write /still/here yes
}
teardown() { sim_teardown; }

still_serving() {
	run xenstore-read /still/here
	assert_success
	assert_output yes
	run xo-simd status
	assert_success
}

@test "a header announcing more than XENSTORE_PAYLOAD_MAX: E2BIG, then the client is dropped" {
	run "$XS" raw oversize
	assert_output $'error E2BIG\nthen closed'
	still_serving
	grep -q "sent a 4097-byte payload (limit 4096): closing the connection" "$SIMLOG"
}

@test "libxenstore refuses an oversized value with E2BIG before sending it" {
	run "$XS" write /big "$(head -c 5000 /dev/zero | tr '\0' x)"
	assert_output "error E2BIG"
	still_serving
}

@test "malformed messages are EINVAL, unknown types ENOSYS" {
	for c in nonul twoargs empty bad-tx-end bad-perms introduce-bad; do
		run "$XS" raw $c
		assert_output "error EINVAL"
	done
	run "$XS" raw badtype
	assert_output "error ENOSYS"
	run "$XS" raw watch-event-type
	assert_output "error ENOSYS"
	run "$XS" raw unknown-tx
	assert_output "error ENOENT"
	still_serving
}

@test "invalid characters, //, a trailing / and over-long paths are EINVAL" {
	for c in badchars trailing-slash double-slash longpath; do
		run "$XS" raw $c
		assert_output "error EINVAL"
	done
	run "$XS" read '/a b'
	assert_output "error EINVAL"
	run "$XS" write '/semi;colon' 1
	assert_output "error EINVAL"
	run "$XS" read '@introduceDomain'
	assert_output "error EINVAL"
	# a guest's relative path may not pass XENSTORE_REL_PATH_MAX
	d=$(new_domain)
	run as_guest "$d" "$XS" raw relpath-long
	assert_output "error EINVAL"
	still_serving
}

@test "clients that hang up mid-message or mid-transaction do no harm" {
	run "$XS" raw partial
	assert_output sent
	run "$XS" raw partial-body
	assert_output sent
	run "$XS" tx-abandon /half/done
	run xenstore-exists /half/done
	assert_failure
	still_serving
}

@test "thousands of watches from a guest: E2BIG past its quota of 128" {
	d=$(new_domain)
	run as_guest "$d" "$XS" watches 3000 data
	assert_output $'watch 129: E2BIG\nwatches: 128'
	# dom0 connections are trusted further, but not without limit
	run "$XS" watches 3000 /many
	assert_output "watches: 3000"
	still_serving
}

@test "too many transactions: ENOSPC (10 for a guest)" {
	d=$(new_domain)
	run as_guest "$d" "$XS" txs 50
	assert_output $'transaction 11: ENOSPC\ntransactions: 10'
	run "$XS" txs 1100
	assert_output $'transaction 1025: ENOSPC\ntransactions: 1024'
	still_serving
}

@test "a guest's node quota and node size limits are ENOSPC" {
	d=$(new_domain)
	run as_guest "$d" "$XS" write data/big "$(head -c 3000 /dev/zero | tr '\0' x)"
	assert_output "error ENOSPC"
	# dom0 may write what the protocol carries
	run "$XS" write /local/domain/$d/data/big "$(head -c 3000 /dev/zero | tr '\0' x)"
	assert_output ok
	# it owns 11 nodes already: 10 directories (device, control, data...) and
	# data/big, which dom0 created in its directory
	run as_guest "$d" "$XS" fill data 2000
	assert_output $'node 990: ENOSPC\nnodes: 989'
	# removing some makes room again
	as_guest "$d" xenstore-rm data/n1
	run as_guest "$d" "$XS" write data/again 1
	assert_output ok
	still_serving
}
