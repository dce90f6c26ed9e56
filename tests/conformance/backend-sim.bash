# tests/conformance/backend-sim.bash: the conformance adapter of the simulator
# (see helpers.bash). Its guests are xo-simd's: they print Linux's first lines
# (XO-GUEST-UP and XO-GUEST-READY map to them) and have no block or network
# drivers, so what a guest sees of its devices is not checked here. A marker is
# counted in the VM's console log, which the simulator keeps across its domains.
be_setup() {
	export XO_BACKEND=sim
}

be_teardown() {
	:
}

be_vm() {
	local name=$1 vcpus=${2:-1}
	xo-vm-add --name "$name" --type pv --memory 64M --vcpus "$vcpus" --kernel "$KERNEL" >/dev/null
	xo-vbd-add "$name" --name xvda --path "$CONF_RW" >/dev/null
	xo-vbd-add "$name" --name xvdb --path "$CONF_RO" --mode ro >/dev/null
	xo-vif-add "$name" --bridge xenbr0 --mac "$CONF_MAC" >/dev/null
}

be_guest_wait() {
	local vm=$1 marker=$2 count=${3:-1} i pat
	case $marker in
	XO-GUEST-UP*) pat="Linux version" ;;
	XO-GUEST-READY*) pat="Run /sbin/init" ;;
	XO-GUEST-POWEROFF*) pat="reboot: Power down" ;;
	XO-GUEST-REBOOT*) pat="reboot: Restarting" ;;
	XO-GUEST-PANIC*) pat="Kernel panic" ;;
	*) fail "the simulator's guests print no $marker" ;;
	esac
	# every boot of the VM appends to its log
	local log="$XO_STATE_DIR/sim/console/$(uuid_of "$vm").log"
	for i in $(seq 300); do
		[ "$(grep -c -- "$pat" "$log" 2>/dev/null)" -ge "$count" ] && return 0
		sleep 0.1
	done
	fail "vm $vm: no $marker ($pat) x$count on its console"
}

be_guest_do() {
	local d
	d=$(domid_of "$1")
	case $2 in
	poweroff) xo-simd ctl "$d" halt ;;
	reboot) xo-simd ctl "$d" reboot ;;
	panic) xo-simd ctl "$d" crash ;;
	scan) : ;;
	*) fail "unknown guest action $2" ;;
	esac
}

be_can() {
	case $1 in
	guest_devices) echo "its guests have no block or network drivers"; return 1 ;;
	esac
	return 0
}

be_assert_clean() {
	assert_clean_halted "$1"
}
