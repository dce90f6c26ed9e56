#!/usr/bin/env bats
# Changes at run time on the simulator: xo-vm-set-memory (the balloon target,
# the dynamic range, the memory ledger), xo-vm-set-vcpus (cpu/N/availability)
# and xo-vm-set-affinity (the vcpus' hard affinity), on running, paused and
# halted VMs, kept across a reboot. The simulated guest follows memory/target
# and cpu/N/availability as Linux does (lib/sim/guest.c), and the simulator
# answers a request only after its guests have acted on the writes before it,
# so what a test reads after a change is what the guest made of it.
load helpers
load sim-helpers

setup() { sim_setup; }
teardown() { sim_teardown; }

# field VM KEY: one key=value field of xo-vm-stat
field() {
	xo-vm-stat "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

domid() { field "$1" domid; }

running_vm() {
	add_vm "$@" >/dev/null
	xo-vm-start "$1"
	xo-vm-unpause "$1"
}

@test "set-memory moves a running guest's balloon target and its maxmem, and is stored" {
	running_vm web1 --memory 512M --memory-target 256M --vcpus 2
	d=$(domid web1)
	assert_equal "$(field web1 memory)" 256M
	assert_equal "$(field web1 memory-actual)" 256M
	assert_equal "$(xenstore-read /local/domain/$d/memory/target)" 262144
	run xo-vm-set-memory web1 384M
	assert_success
	assert_output ""
	# the guest's balloon driver took it: the domain has it
	assert_equal "$(field web1 memory)" 384M
	assert_equal "$(field web1 memory-actual)" 384M
	run xenstore-read /local/domain/$d/memory/target /local/domain/$d/memory/dynamic-min \
		/local/domain/$d/memory/dynamic-max "/vm/$(xo-vm-show --json web1 | json_get uuid)/memory"
	assert_output $'393216\n262144\n524288\n384'
	run xo-simd ctl "$d" show
	# maxmem is the target and 1 MiB (Xen's own domain adds another: hv-xen.c)
	assert_line "memory 393216 KiB (maximum 394240 KiB)"
	run grep -c "xen:balloon: 393216 KiB, target 393216 KiB" "$(console_of "$d")"
	assert_output 1
	# and down again: the guest gives the memory back to the host
	free_before=$("$SB" host | tr ' ' '\n' | sed -n 's/^free_kib=//p')
	xo-vm-set-memory web1 256M
	assert_equal "$(field web1 memory-actual)" 256M
	free_after=$("$SB" host | tr ' ' '\n' | sed -n 's/^free_kib=//p')
	assert_equal "$((free_after - free_before))" 131072
	run xo-vm-show --json web1
	assert_equal "$(json_get memory <<<"$output")" \
		'{"static_max": 536870912, "dynamic_min": 268435456, "dynamic_max": 536870912, "target": 268435456}'
}

@test "a reboot and the next start keep the memory target and the vcpus set at run time" {
	running_vm web1 --memory 512M --memory-min 128M --vcpus 1 --vcpu-max 3
	xo-vm-set-memory web1 200M
	xo-vm-set-vcpus web1 3
	xo-vm-reboot web1
	assert_equal "$(field web1 memory)" 200M
	assert_equal "$(field web1 memory-actual)" 200M
	assert_equal "$(field web1 vcpus)" 3
	assert_equal "$(field web1 vcpus-online)" 3
	run grep "Memory:" "$(console_of "$(domid web1)")"
	assert_line --partial "Memory: 204800K available, 3 vcpus"
	xo-vm-shutdown web1
	xo-vm-start web1
	assert_equal "$(field web1 memory)" 200M
	assert_equal "$(field web1 vcpus)" 3
}

@test "growing a target reserves the memory first: not enough is refused and changes nothing" {
	XO_SIM_MEMORY=768M xo-simd start
	running_vm web1 --memory 1G --memory-target 256M
	d=$(domid web1)
	before=$(state_snapshot)
	run xo-vm-set-memory web1 1G
	assert_failure 1
	assert_output --regexp "^xo-vm-set-memory: fatal: unable to VM_set_memory_dynamic_range vm web1: VM_set_memory_dynamic_range 1G: not enough host memory: need 786432 KiB, 524288 KiB free of 786432 KiB \\(0 KiB reserved by other starts\\)$"
	assert_equal "$(state_snapshot)" "$before"
	assert_equal "$(xenstore-read /local/domain/$d/memory/target)" 262144
	assert_equal "$(field web1 memory-actual)" 256M
}

@test "the reservation of a growing balloon holds until the guest has the memory" {
	XO_SIM_MEMORY=1G xo-simd start
	running_vm web1 --memory 512M --memory-target 128M
	xo-vm-pause web1
	# a paused guest cannot balloon yet: its 256 MiB stay reserved
	xo-vm-set-memory web1 384M
	assert_equal "$(field web1 memory-actual)" 128M
	assert_equal "$(cat "$XO_STATE_DIR/host/reservations/$(xo-vm-show --json web1 | json_get uuid)")" \
		"262144 balloon 393216"
	add_vm db1 --memory 700M >/dev/null
	run xo-vm-start db1
	assert_failure 1
	assert_output --partial "not enough host memory: need 717824 KiB"
	assert_output --partial "(262144 KiB reserved by other starts)"
	# once it runs, the guest takes the memory and the reservation goes
	xo-vm-unpause web1
	assert_equal "$(field web1 memory-actual)" 384M
	add_vm db2 --memory 400M >/dev/null
	xo-vm-start db2
	[ ! -e "$XO_STATE_DIR/host/reservations/$(xo-vm-show --json web1 | json_get uuid)" ]
	run xo-vm-start db1
	assert_failure 1
	assert_output --partial "need 717824 KiB"
	assert_output --partial "(0 KiB reserved by other starts)"
}

@test "set-memory checks the dynamic range, changes it, and works on a halted VM" {
	add_vm web1 --memory 512M >/dev/null
	before=$(xo-vm-show --json web1)
	run xo-vm-set-memory web1 256M
	assert_failure 1
	assert_output --partial "invalid memory: target 268435456 is outside the dynamic range 536870912 to 536870912"
	run xo-vm-set-memory --max 1G web1
	assert_failure 1
	assert_output --partial "dynamic_max 1073741824 is larger than static_max 536870912"
	run xo-vm-set-memory --min 1026K web1
	assert_failure 1
	assert_output --partial "invalid memory dynamic_min 1050624: not a multiple of 4 KiB"
	assert_equal "$(xo-vm-show --json web1)" "$before"
	run xo-vm-set-memory web1
	assert_failure 100
	assert_output --partial "nothing to change: give a target, --min or --max"
	run xo-vm-set-memory web1 lots
	assert_failure 100
	assert_output --partial "invalid target 'lots'"
	# halted: only the configuration
	xo-vm-set-memory --min 128M web1 192M
	run xo-vm-show web1
	assert_line "memory static_max=512M dynamic_min=128M dynamic_max=512M target=192M"
	assert_equal "$(xo-vm-stat web1 | awk '{ print $3 }')" Halted
	xo-vm-start web1
	assert_equal "$(field web1 memory)" 192M
	# a new range without a target keeps the guest's target where it still fits
	xo-vm-set-memory --max 160M web1
	assert_equal "$(field web1 memory)" 160M
	run xo-vm-show web1
	assert_line "memory static_max=512M dynamic_min=128M dynamic_max=160M target=160M"
}

@test "a running VM refuses a target outside its range with one line, and nothing changes" {
	running_vm web1 --memory 512M --memory-target 256M
	d=$(domid web1)
	before=$(state_snapshot)
	show=$(xo-simd ctl "$d" show)
	for args in "1G" "128M" "--max 1G" "--min 600M" "--min 300M --max 280M" "--max 200M"; do
		# shellcheck disable=SC2086
		run xo-vm-set-memory web1 $args
		assert_failure 1
		assert_equal "${#lines[@]}" 1
		assert_output --regexp '^xo-vm-set-memory: fatal: unable to VM_set_memory_dynamic_range vm web1: .*invalid memory'
		assert_equal "$(state_snapshot)" "$before"
		assert_equal "$(xenstore-read /local/domain/$d/memory/target)" 262144
		assert_equal "$(xenstore-read /local/domain/$d/memory/dynamic-min)" 262144
		assert_equal "$(xo-simd ctl "$d" show)" "$show"
		assert_equal "$(field web1 memory-actual)" 256M
	done
	run xo-vm-set-memory web1 1G
	assert_output --partial "target 1073741824 is outside the dynamic range 268435456 to 536870912"
	run xo-vm-set-memory web1 128M
	assert_output --partial "target 134217728 is outside the dynamic range 268435456 to 536870912"
	run xo-vm-set-memory web1 --max 1G
	assert_output --partial "dynamic_max 1073741824 is larger than static_max 536870912"
}

@test "set-vcpus brings a running guest's vcpus up and down, within vcpu_max" {
	running_vm web1 --vcpus 2 --vcpu-max 4
	d=$(domid web1)
	assert_equal "$(field web1 vcpus-online)" 2
	xo-vm-set-vcpus web1 4
	run xenstore-read /local/domain/$d/cpu/0/availability /local/domain/$d/cpu/3/availability
	assert_output $'online\nonline'
	assert_equal "$(field web1 vcpus)" 4
	assert_equal "$(field web1 vcpus-online)" 4
	xo-vm-set-vcpus web1 1
	assert_equal "$(xenstore-read /local/domain/$d/cpu/1/availability)" offline
	assert_equal "$(field web1 vcpus-online)" 1
	run sed -n 's/.*\] \(CPU [0-9] is now .*\)/\1/p' "$(console_of "$d")"
	assert_output $'CPU 2 is now online\nCPU 3 is now online\nCPU 1 is now offline\nCPU 2 is now offline\nCPU 3 is now offline'
	before=$(state_snapshot)
	run xo-vm-set-vcpus web1 5
	assert_failure 1
	assert_output "xo-vm-set-vcpus: fatal: unable to VM_set_vcpus vm web1: VM_set_vcpus 5: invalid vcpus 5: vm web1 has at most 4 (vcpu_max)"
	run xo-vm-set-vcpus web1 0
	assert_failure 100
	assert_equal "$(state_snapshot)" "$before"
	assert_equal "$(xo-vm-show --json web1 | json_get vcpus)" 1
}

@test "a running hvm guest's vcpus are refused (ACPI hotplug), its halted configuration is not" {
	xo-vm-add --name h1 --type hvm --memory 64M --vcpus 1 --vcpu-max 2 >/dev/null
	xo-vm-start h1
	before=$(state_snapshot)
	run xo-vm-set-vcpus h1 2
	assert_failure 1
	assert_output --partial "vm h1 is an hvm guest: its vcpus change through the device model's ACPI hotplug"
	assert_equal "$(state_snapshot)" "$before"
	xo-vm-shutdown --force h1
	xo-vm-set-vcpus h1 2
	assert_equal "$(xo-vm-show --json h1 | json_get vcpus)" 2
}

@test "affinity: applied at create, changed at run time, lifted with all, stored" {
	running_vm web1 --vcpus 2 --cpus 1-2,3
	d=$(domid web1)
	assert_equal "$(xo-vm-show --json web1 | json_get affinity)" 1-3
	assert_equal "$(field web1 affinity)" 1-3
	run xo-simd ctl "$d" show
	assert_success
	run grep "vcpu 1 may run on cpus 1-3" "$SIMLOG"
	assert_success
	xo-vm-set-affinity web1 0
	assert_equal "$(field web1 affinity)" 0
	assert_equal "$(xo-vm-show --json web1 | json_get affinity)" 0
	xo-vm-set-affinity web1 all
	assert_equal "$(field web1 affinity)" ""
	assert_equal "$(xo-vm-show --json web1 | json_get affinity)" ""
	# the simulated host has 4 cpus: 7 is none of them
	before=$(state_snapshot)
	run xo-vm-set-affinity web1 7
	assert_failure 1
	assert_output --partial "the affinity 7 names none of the host's cpus (it has 4: 0-3)"
	assert_equal "$(state_snapshot)" "$before"
	run xo-vm-set-affinity web1 3-1
	assert_failure 100
	assert_output --partial "invalid cpus '3-1'"
	run xo-vm-add --name bad --memory 64M --kernel "$KERNEL" --cpus 0,,1
	assert_failure 1
	assert_output --partial "invalid affinity '0,,1'"
}

@test "an affinity that names none of the host's cpus fails the start cleanly" {
	add_vm web1 --cpus 9 >/dev/null
	run xo-vm-start web1
	assert_failure 1
	assert_output --partial "VM_create: the affinity 9 names none of the host's cpus"
	assert_equal "$(xo-vm-stat web1 | awk '{ print $3 }')" Halted
	# only domain 0 is left
	run xo-simd ctl list
	assert_output --regexp '^0 running '
	assert_equal "${#lines[@]}" 1
}

@test "the changes are queued operations with a plan, --async and a task" {
	add_vm web1 --memory 256M >/dev/null
	run xo-vm-set-memory --plan web1 128M --min 64M
	assert_output "xo-vm-set-memory web1 128M --min 64M"
	run xo-vm-set-memory --plan --json web1 --max 256M
	assert_output --partial '"atom": "VM_set_memory_dynamic_range --max 256M"'
	run xo-vm-set-vcpus --plan web1 1
	assert_output "xo-vm-set-vcpus web1 1"
	run xo-vm-set-affinity --plan web1 3,1,2
	assert_output "xo-vm-set-affinity web1 1-3"
	task=$(xo-vm-set-vcpus --async web1 1)
	run xo-task-wait "$task"
	assert_success
	run xo-task-stat "$task"
	assert_output --partial "VM_set_vcpus"
	# a guest that has shut down (its domain not destroyed yet) has nothing to change:
	# only the configuration does
	xo-vm-start web1
	xo-vm-unpause web1
	d=$(domid web1)
	xo-simd ctl "$d" halt
	xo-vm-set-memory web1 --min 128M 192M
	assert_equal "$(xo-vm-show --json web1 | json_get memory.target)" 201326592
	assert_equal "$(xenstore-read /local/domain/$d/memory/target)" 262144
}
