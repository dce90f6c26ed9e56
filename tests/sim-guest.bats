#!/usr/bin/env bats
# Simulated guests: boot on unpause, obey control/shutdown, the fault
# switches and one-shot actions of xo-simd ctl.
load helpers
load sim-helpers

setup() {
	sim_setup
	xo-simd start
	d=$(new_domain)
	ctl=/local/domain/$d/control
}
teardown() { sim_teardown; }

reason_of() {
	"$SB" info "$1" | grep -o 'shutdown=[01] reason=[0-9]*'
}

@test "on unpause the guest boots: console lines, shutdown features, connected frontends" {
	xenstore-write /libxl/disable_udev 1
	"$SB" vbd "$d" 51712 /dev/null
	xenstore-write /local/domain/0/backend/vbd/$d/51712/physical-device 7:0
	"$SB" vif "$d" 0
	xenstore-write /local/domain/0/backend/vif/$d/0/hotplug-status connected
	[ ! -e "$(console_of "$d")" ]
	"$SB" unpause "$d"
	wait_key /local/domain/$d/device/vbd/51712/state 4
	wait_key /local/domain/$d/device/vif/0/state 4
	run xenstore-read $ctl/feature-poweroff $ctl/feature-reboot $ctl/feature-suspend
	assert_output $'1\n1\n1'
	run cat "$(console_of "$d")"
	assert_line --index 0 --partial "Linux version"
	assert_line --index 1 --partial "Command line: console=hvc0 root=/dev/xvda"
	run xo-simd ctl "$d" show
	assert_line "state running"
	assert_line "device vbd/51712 probed backend-state 4 frontend-state 4"
}

@test "the guest obeys control/shutdown: it acknowledges, closes its frontends, shuts down" {
	xenstore-write /libxl/disable_udev 1
	"$SB" vbd "$d" 51712 /dev/null
	xenstore-write /local/domain/0/backend/vbd/$d/51712/physical-device 7:0
	"$SB" unpause "$d"
	wait_key /local/domain/$d/device/vbd/51712/state 4
	xenstore-write $ctl/shutdown poweroff
	wait_key $ctl/shutdown ""
	run reason_of "$d"
	assert_output "shutdown=1 reason=0"
	run xenstore-read /local/domain/$d/device/vbd/51712/state /local/domain/0/backend/vbd/$d/51712/state
	assert_output $'6\n6'
	run tail -1 "$(console_of "$d")"
	assert_output --partial "reboot: Power down"
}

@test "reboot, halt and suspend requests give reasons 1, 0 and 2" {
	for req in reboot:1 halt:0 suspend:2; do
		x=$(new_domain)
		"$SB" unpause "$x"
		xenstore-write /local/domain/$x/control/shutdown "${req%:*}"
		wait_key /local/domain/$x/control/shutdown ""
		run reason_of "$x"
		assert_output "shutdown=1 reason=${req#*:}"
	done
}

@test "a request made while paused is obeyed once the guest runs" {
	xenstore-write $ctl/shutdown reboot
	run reason_of "$d"
	assert_output "shutdown=0 reason=0"
	run xenstore-read $ctl/shutdown
	assert_output reboot
	"$SB" unpause "$d"
	wait_key $ctl/shutdown ""
	run reason_of "$d"
	assert_output "shutdown=1 reason=1"
}

@test "an unknown request is acknowledged and ignored" {
	"$SB" unpause "$d"
	xenstore-write $ctl/shutdown dance
	wait_key $ctl/shutdown ""
	run reason_of "$d"
	assert_output "shutdown=0 reason=0"
	grep -q "Ignoring shutdown request: dance" "$(console_of "$d")"
}

@test "ignore-shutdown: requests stay unanswered until it is switched off" {
	xo-simd ctl "$d" ignore-shutdown
	"$SB" unpause "$d"
	xenstore-write $ctl/shutdown poweroff
	run xenstore-read $ctl/shutdown
	assert_output poweroff
	run reason_of "$d"
	assert_output "shutdown=0 reason=0"
	run xo-simd ctl "$d" show
	assert_line "ignore-shutdown on"
	xo-simd ctl "$d" ignore-shutdown off
	wait_key $ctl/shutdown ""
	run reason_of "$d"
	assert_output "shutdown=1 reason=0"
}

@test "ctl reboot and halt: the running guest shuts itself down" {
	"$SB" unpause "$d"
	xo-simd ctl "$d" reboot
	run reason_of "$d"
	assert_output "shutdown=1 reason=1"
	x=$(new_domain)
	run xo-simd ctl "$x" halt
	assert_failure 1
	assert_output --partial "is not running: a guest that does not run cannot halt itself"
	"$SB" unpause "$x"
	xo-simd ctl "$x" halt
	run reason_of "$x"
	assert_output "shutdown=1 reason=0"
	run xo-simd ctl "$x" halt
	assert_failure 1
	assert_output --partial "has already shut down (poweroff)"
}

@test "ctl crash works on a paused domain; watchdog gives reason 4" {
	watch_start @releaseDomain r 2
	watch_next
	xo-simd ctl "$d" crash
	run reason_of "$d"
	assert_output "shutdown=1 reason=3"
	watch_next
	[ "$EVENT" = "@releaseDomain r" ]
	x=$(new_domain)
	"$SB" unpause "$x"
	xo-simd ctl "$x" watchdog
	run reason_of "$x"
	assert_output "shutdown=1 reason=4"
	run xo-simd ctl list
	assert_line --regexp "^$d shutdown:crash 64M 1 "
	assert_line --regexp "^$x shutdown:watchdog 64M 1 "
}

@test "ctl list and show describe the domains" {
	x=$("$SB" create 131072)
	"$SB" unpause "$d"
	run xo-simd ctl list
	assert_success
	assert_line --index 0 --regexp '^0 running 1G 4 0{8}-'
	assert_line --index 1 --regexp "^$d running 64M 1 [0-9a-f-]{36}$"
	assert_line --index 2 --regexp "^$x created 0 0 [0-9a-f-]{36}$"
	run xo-simd ctl "$d" show
	assert_line "domid $d"
	assert_line "type pv"
	assert_line "memory 65536 KiB (maximum 65536 KiB)"
	assert_line "introduced yes"
	assert_line "hotplug-fail off"
}

@test "a VM's console is kept across its domains, and rotates past 256 KiB" {
	local c
	c=$(console_of "$d")
	"$SB" unpause "$d"
	[ -s "$c" ]
	"$SB" destroy "$d"
	# xenconsoled keeps guest-<name>.log: so does the simulator, per VM
	[ -s "$c" ]
	# a full one is rotated by the next line written: one old file kept
	head -c 262144 /dev/zero | tr '\0' 'x' >"$c"
	x=$(new_domain)
	cx=$(console_of "$x")
	cp "$c" "$cx"
	"$SB" unpause "$x"
	[ "$(stat -c %s "$cx.1")" -eq 262144 ]
	run head -1 "$cx"
	assert_output --partial "Linux version"
	[ "$(stat -c %s "$cx")" -lt 262144 ]
}
