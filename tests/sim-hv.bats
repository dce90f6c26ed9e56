#!/usr/bin/env bats
# The simulated hypervisor through lib/backend-sim.c: domains, memory,
# device models, PCI devices.
load helpers
load sim-helpers

setup() { sim_setup; }
teardown() { sim_teardown; }

@test "create gives domids from 1 upward, never one in use; list includes dom0" {
	run "$SB" create
	assert_output 1
	run "$SB" create
	assert_output 2
	"$SB" destroy 1
	run "$SB" create
	assert_output 3
	run "$SB" list
	assert_line --index 0 --regexp '^domid=0 uuid=00000000-0000-0000-0000-000000000000 paused=0 running=1 '
	assert_line --index 1 --regexp '^domid=2 '
	assert_line --index 2 --regexp '^domid=3 '
	[ "${#lines[@]}" -eq 3 ]
}

@test "a new domain is paused, unbuilt and keeps its uuid and limits" {
	d=$("$SB" create 131072)
	run "$SB" info "$d"
	assert_output --regexp "^domid=$d uuid=[0-9a-f-]{36} paused=1 running=0 shutdown=0 reason=0 memory_kib=0 max_memory_kib=131072 vcpus=0 hvm=0$"
	run "$SB" unpause "$d"
	assert_failure 1
	assert_output --partial "domain $d is not built (domain_not_built)"
}

@test "build takes memory from the host and returns the store and console rings" {
	XO_SIM_MEMORY=1G xo-simd start
	d=$("$SB" create 262144)
	run "$SB" build "$d" 262144 "$KERNEL"
	assert_success
	assert_output --regexp '^store_port=1 console_port=2 store_mfn=[0-9]+ console_mfn=[0-9]+$'
	run "$SB" host
	assert_output "total_kib=1048576 free_kib=786432 cpus=4"
	run "$SB" build "$d" 262144 "$KERNEL"
	assert_failure 1
	assert_output --partial "domain $d is already built"
	"$SB" destroy "$d"
	run "$SB" host
	assert_output "total_kib=1048576 free_kib=1048576 cpus=4"
}

@test "build fails with not_enough_memory and the numbers when the host is full" {
	export XO_SIM_MEMORY=512M
	a=$("$SB" create 409600)
	b=$("$SB" create 409600)
	"$SB" build "$a" 409600 "$KERNEL"
	run "$SB" build "$b" 409600 "$KERNEL"
	assert_failure 1
	assert_output "sim-backend: fatal: not enough free host memory: domain $b needs 409600 KiB, the host has 114688 KiB free of 524288 KiB (not_enough_memory)"
	run "$SB" info "$b"
	assert_output --partial "memory_kib=0 "
}

@test "build checks the kernel, the memory limits and the type" {
	d=$("$SB" create 65536)
	run "$SB" build "$d" 65536 /nonexistent/vmlinuz
	assert_failure 1
	assert_output --partial "unable to read kernel '/nonexistent/vmlinuz'"
	run "$SB" build "$d" 131072 "$KERNEL"
	assert_failure 1
	assert_output --partial "above the domain's maximum"
	run "$SB" build --hvm "$d" 65536 "$KERNEL"
	assert_failure 1
	assert_output --partial "was created as a pv domain"
	h=$("$SB" create --hvm 65536)
	run "$SB" build --hvm "$h" 65536 "$KERNEL"
	assert_success
	assert_output --partial "store_mfn=1044476 "
	run "$SB" info "$h"
	assert_output --partial "hvm=1"
}

@test "pause, unpause, shutdown and destroy; an unknown domid does not exist" {
	d=$(new_domain)
	"$SB" unpause "$d"
	run "$SB" info "$d"
	assert_output --partial "paused=0 running=1 shutdown=0"
	"$SB" pause "$d"
	run "$SB" info "$d"
	assert_output --partial "paused=1 running=0 shutdown=0"
	"$SB" shutdown "$d" 3
	run "$SB" info "$d"
	assert_output --partial "running=0 shutdown=1 reason=3"
	run "$SB" unpause "$d"
	assert_failure 1
	assert_output --partial "has shut down (crash) (bad_power_state)"
	run "$SB" shutdown "$d" 9
	assert_failure 1
	"$SB" destroy "$d"
	for op in info pause unpause destroy; do
		run "$SB" $op "$d"
		assert_failure 1
		assert_output "sim-backend: fatal: domain $d does not exist (does_not_exist)"
	done
	run "$SB" destroy 0
	assert_failure 1
	run "$SB" pause 0
	assert_output --partial "refusing to pause domain 0"
}

@test "the device model is a process that writes its state as qemu does" {
	d=$(new_domain)
	pid=$("$SB" dm-start "$d")
	[ -e "/proc/$pid" ]
	run cat "/proc/$pid/comm"
	assert_output "qemu-dm-$d"
	run xenstore-read /local/domain/0/device-model/$d/state
	assert_output running
	run "$SB" dm-start "$d"
	assert_failure 1
	assert_output --partial "already runs (pid $pid)"
	"$SB" dm-stop "$d"
	run "$SB" dm-stop "$d"
	assert_failure 1
	assert_output --partial "has no device model"
	pid2=$("$SB" dm-start "$d")
	"$SB" destroy "$d"
	# the daemon reaps what it killed; stop waits for that
	xo-simd stop
	gone "$pid"
	gone "$pid2"
}

@test "pci devices: any well-formed address, but one domain at a time" {
	a=$(new_domain)
	b=$(new_domain)
	"$SB" pci-assign "$a" 0000:03:00.0
	"$SB" pci-assign "$a" 0000:03:00.0
	run "$SB" pci-assign "$b" 03:00.0
	assert_failure 1
	assert_output "sim-backend: fatal: pci device 0000:03:00.0 is assigned to domain $a (in_use)"
	run "$SB" pci-assign "$b" 0000:03:20.0
	assert_failure 1
	assert_output --partial "invalid pci address"
	run "$SB" pci-assign "$b" zz
	assert_failure 1
	run "$SB" pci-deassign "$b" 0000:03:00.0
	assert_failure 1
	assert_output --partial "is not assigned to domain $b"
	run xo-simd ctl "$a" show
	assert_line "pci 0000:03:00.0"
	"$SB" destroy "$a"
	"$SB" pci-assign "$b" 0000:03:00.0
	"$SB" pci-deassign "$b" 0000:03:00.0
}

@test "host info counts the cpus and the memory in use" {
	xo-simd start --memory 2G --cpus 8
	run "$SB" host
	assert_output "total_kib=2097152 free_kib=2097152 cpus=8"
	new_domain 131072
	run "$SB" host
	assert_output "total_kib=2097152 free_kib=1966080 cpus=8"
}
