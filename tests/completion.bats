#!/usr/bin/env bats
# Argument completion of the lifecycle, micro-op and task programs, in bash
# (completions/xo.bash) and zsh (completions/_xo): devices of the VM, switch
# values of the usage line (on|off, none|poweroff|reboot...), hook names and
# task ids.  tests/docs.bats covers the program lists and the config programs.
load helpers
bats_require_minimum_version 1.5.0

setup() { xo_setup; }
teardown() { xo_teardown; }

# bash completion: words... (the last one is being completed) -> COMPREPLY, one per line
bash_complete() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _xo
		printf "%s\n" "${COMPREPLY[@]}"' bash "$XO_SRC/completions/xo.bash" "$@"
}

# zsh: the candidates, after a first line "words" or "files"
zsh_complete() {
	zsh -f -c 'source "$1"; shift; words=("$@"); CURRENT=$#; _xo_candidates
		print -r -- "$REPLY"; print -rl -- $reply' zsh "$XO_SRC/completions/_xo" "$@"
}

# a VM with two VBDs and a VIF at position 3
vm_with_devices() {
	add_vm web1 >/dev/null
	disk_image "$BATS_TEST_TMPDIR/d.img"
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/d.img" >/dev/null
	xo-vbd-add web1 --type cdrom >/dev/null
	xo-vif-add web1 --position 3 >/dev/null
}

@test "bash completes the devices of a VM for the micro-op and stat programs" {
	vm_with_devices
	run bash_complete xo-vbd-plug web1 ""
	assert_output "xvda
xvdb"
	run bash_complete xo-vbd-stat web1 xvdb ""
	assert_output ""
	run bash_complete xo-vbd-unplug --force web1 x
	assert_output "xvda
xvdb"
	run bash_complete xo-vbd-insert web1 xvdb "$BATS_TEST_TMPDIR/d.i"
	assert_output "$BATS_TEST_TMPDIR/d.img"
	run bash_complete xo-vif-plug -n web1 ""
	assert_output 3
	run bash_complete xo-vif-stat web1 ""
	assert_output 3
	run bash_complete xo-vm-start w
	assert_output web1
	run bash_complete xo-vm-check-state ""
	assert_line web1
	run bash_complete xo-vm-check-state --a
	assert_output "--all
--async"
	run bash_complete xo vbd plug web1 ""
	assert_output "xvda
xvdb"
}

@test "bash completes switch values and hook names" {
	vm_with_devices
	run bash_complete xo-vbd-set-active web1 xvda ""
	assert_output "on
off"
	run bash_complete xo-vif-set-carrier web1 3 o
	assert_output "on
off"
	run bash_complete xo-vif-set-locking web1 3 ""
	assert_output "unlocked
locked
disabled"
	run bash_complete xo-vm-set-action-request web1 ""
	assert_output "none
poweroff
reboot"
	run bash_complete xo-domain-shutdown web1 ""
	assert_output "poweroff
reboot
halt
suspend"
	run bash_complete xo-hook-run web1 vm-pre-s
	assert_output "vm-pre-start
vm-pre-shutdown
vm-pre-suspend"
	run bash_complete xo-hook-run web1 ""
	assert_line vm-post-destroy
	assert_line vm-pre-reboot
	# every hook offered is one xo-hook-run accepts
	for h in "${lines[@]}"; do
		run xo-hook-run -n web1 "$h"
		assert_success
	done
	# a value after the last operand: nothing
	run bash_complete xo-vbd-set-active web1 xvda on ""
	assert_output ""
}

@test "bash and zsh complete task ids from xo-task-list" {
	vm_with_devices
	t1=$(xo-vm-check-state --async web1)
	xo-task-wait "$t1" >/dev/null
	t2=$(xo-vm-check-state --async web1)
	xo-task-wait "$t2" >/dev/null
	run bash_complete xo-task-stat ""
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort)" "$(printf '%s\n' "$t1" "$t2" | sort)"
	run bash_complete xo-task-wait --timeout 5 "${t2:0:4}"
	assert_output "$t2"
	# xo-task-destroy takes any number of tasks
	run bash_complete xo-task-destroy "$t1" ""
	assert_line "$t2"
	run bash_complete xo task cancel ""
	assert_line "$t1"
	run zsh_complete xo-task-stat ""
	assert_line words
	assert_line "$t1"
	assert_line "$t2"
	xo-task-destroy "$t1" "$t2"
	run bash_complete xo-task-stat ""
	assert_output ""
}

@test "zsh completes devices, switch values and hook names" {
	vm_with_devices
	run zsh_complete xo-vbd-plug web1 ""
	assert_output "words
xvda
xvdb"
	run zsh_complete xo-vif-unplug --force web1 ""
	assert_output "words
3"
	run zsh_complete xo-vbd-set-active web1 xvda ""
	assert_output "words
on
off"
	run zsh_complete xo-vm-set-action-request web1 ""
	assert_output "words
none
poweroff
reboot"
	run zsh_complete xo-hook-run web1 ""
	assert_line vm-pre-start
	assert_line vm-post-resume
	run zsh_complete xo-vm-check-state ""
	assert_line web1
	run zsh_complete xo vif set carrier web1 3 ""
	assert_output "words
on
off"
}
