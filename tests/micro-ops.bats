#!/usr/bin/env bats
# Every program that works on a VM: the failure paths every one of them
# shares (an unknown VM, missing operands, a bad device), and by hand the
# micro-ops the start tests do not run one by one (pause and unpause, the
# clean shutdown request, the device model of a pv guest without a
# framebuffer, epoch end, set-active, the action request, destroy keeping
# the build record).
load helpers
load fails

setup() { xo_setup; }
teardown() { xo_teardown; }

# the programs of the registry whose first operand is a VM, with the operands
# that follow it (a valid-looking device and value)
vm_programs() {
	local p usage rest
	while read -r p _; do
		case $p in '#'* | '') continue ;; esac
		usage=$("$p" --help | sed -n 's/^usage: [^ ]* //p')
		case $usage in
		*VM*) ;;
		*) continue ;;
		esac
		case $p in xo-vm-add | xo-vm-list | xo-vm-console) continue ;; esac
		case $usage in
		*"VM NAME PATH"*) rest="xvda /dev/null" ;;
		*"VM NAME on|off"*) rest="xvda on" ;;
		*"VM POSITION on|off"*) rest="0 on" ;;
		*"VM POSITION unlocked|locked|disabled"*) rest="0 unlocked" ;;
		*"VM none|poweroff|reboot"*) rest=none ;;
		*"VM poweroff|reboot|halt|suspend"*) rest=poweroff ;;
		*"VM HOOK"*) rest=vm-pre-start ;;
		*"VM [TARGET]") rest=256M ;;
		*"VM N") rest=1 ;;
		*"VM CPUS") rest=0 ;;
		*"VM NAME"*) rest=xvda ;;
		*"VM POSITION"*) rest=0 ;;
		*"--path FILE"*) rest="--path /dev/null" ;;
		*"--address"*) rest="--address 0000:03:00.0" ;;
		*) rest= ;;
		esac
		echo "$p${rest:+ $rest}"
	done < "$XO_SRC/cmd/commands.txt"
}

@test "every program on a VM: an unknown VM is one clear line, exit 1, nothing changed" {
	add_vm web1 >/dev/null
	n=0
	while read -r p rest; do
		# shellcheck disable=SC2086 # rest is words
		fails_cleanly 1 "no-such-vm" "$p" no-such-vm $rest
		n=$((n + 1))
	done < <(vm_programs)
	[ "$n" -ge 40 ] || fail "only $n programs found"
}

@test "every program on a VM: no operand is a usage error (100)" {
	while read -r p _; do
		run --separate-stderr "$p"
		[ "$status" -eq 100 ] || fail "$p without operands: exit $status ($stderr)"
		[[ $stderr == *usage* ]] || fail "$p: $stderr"
	done < <(vm_programs)
}

@test "device micro-ops name an unknown device, and a halted VM's plug is refused" {
	ref_vm web1
	fails_cleanly 1 "vbd xvdz of vm web1 does not exist" xo-vbd-plug web1 xvdz
	fails_cleanly 1 "vif 7 of vm web1 does not exist" xo-vif-plug web1 7
	fails_cleanly 1 "pci device 3 of vm web1 does not exist" xo-pci-plug web1 3
	fails_cleanly 1 "invalid vbd name" xo-vbd-plug web1 ../x
	fails_cleanly 100 "expected on or off" xo-vbd-set-active web1 xvda maybe
	run xo-vbd-plug web1 xvda
	assert_failure 1
	assert_output --partial "halted"
}

@test "by hand: pause, unpause, the shutdown request, epoch end, set-active, destroy keeping the build" {
	ref_vm web1
	xo-vm-start web1
	d=$(domid_of web1)
	run xo-domain-unpause web1
	assert_success
	[ "$(vm_field web1 power_state)" = Running ]
	run xo-domain-pause web1
	assert_success
	[ "$(vm_field web1 power_state)" = Paused ]
	xo-domain-unpause web1
	# a pv guest without a framebuffer has no device model: start and stop are no-ops
	run xo-qemu-start web1
	assert_success
	run xo-qemu-stop web1
	assert_success
	# the action request by hand
	xo-vm-set-action-request web1 poweroff
	[ "$(xs read /local/domain/$d/action-request)" = poweroff ]
	xo-vm-set-action-request web1 none
	! xs read /local/domain/$d/action-request 2>/dev/null
	# set-active off marks the device inactive in xenstore (dom0's own path)
	uuid=$(uuid_of web1)
	xo-vbd-set-active web1 xvdb off
	run xo-vbd-stat --json web1 xvdb
	[ "$(json_get active <<<"$output")" = False ]
	xo-vbd-set-active web1 xvdb on
	# the clean shutdown request: the simulated guest powers off
	run xo-domain-shutdown web1 poweroff --timeout 10
	assert_success
	[ "$(vm_field web1 shutdown_reason)" = poweroff ]
	# destroy keeping the build record (what a reboot does), then without
	xo-vbd-unplug --force web1 xvda
	xo-vbd-unplug --force web1 xvdb
	xo-vif-unplug --force web1 0
	run xo-domain-destroy --keep-build web1
	assert_success
	[ -e "$XO_STATE_DIR/VM/$uuid/extra" ]
	[ "$(vm_field web1 power_state)" = Halted ]
	run xo-domain-destroy web1
	assert_success
	[ ! -e "$XO_STATE_DIR/VM/$uuid/extra" ]
	run xo-vbd-epoch-end web1 xvda
	assert_success
	xo-vbd-set-active web1 xvda off
	xo-vbd-set-active web1 xvdb off
	xo-vif-set-active web1 0 off
	assert_clean_halted web1
}
