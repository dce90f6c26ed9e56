# tests/libvirt/libvirt-helpers.bash: the libvirt backend against this machine's
# qemu:///system (make check-libvirt), with a real guest (make-guest).
#
# setup_file (lv_setup_file) makes sure libvirt runs: a libvirtd (and its virtlogd)
# already answering in this network namespace is used, else one is started here and
# stopped by lv_teardown_file (CI starts no service, and tests/run-tests gives the run
# its own network namespace: the bridges a test makes must be libvirtd's too). The
# guest runs under qemu's TCG unless XO_LIBVIRT_ACCEL says otherwise: nested kvm is
# not something every machine has.
load ../helpers

: "${XO_GUEST_DIR:=/var/tmp/xo-guest-libvirt}"
LV_URI=qemu:///system

lv_setup_file() {
	[ "$(id -u)" = 0 ] || { echo "the libvirt suite runs as root" >&2; return 1; }
	command -v libvirtd >/dev/null || { echo "libvirtd is missing: make deps" >&2; return 1; }
	"$XO_SRC/tests/libvirt/make-guest" "$XO_GUEST_DIR" >&2
	# libvirt's qemu runs as libvirt-qemu: when /dev/kvm's group is not one of its own (a
	# container whose kvm group has another number), libvirt sees kvm as present yet
	# unusable and probes qemu again at every start (tens of seconds)
	if [ -e /dev/kvm ] && ! runuser -u libvirt-qemu -- test -r /dev/kvm -a -w /dev/kvm 2>/dev/null; then
		usermod -aG "$(stat -c %G /dev/kvm)" libvirt-qemu
		lv_restart=1
	fi
	local pid
	pid=$(cat /run/libvirtd.pid 2>/dev/null) || pid=
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		if [ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] || [ -n "${lv_restart:-}" ]; then
			# a libvirtd of another network namespace cannot see this run's bridges
			echo "libvirtd (pid $pid) runs in another network namespace: stop it first" >&2
			return 1
		fi
	else
		# tests/run-tests mounted a sysfs of this network namespace, without the cgroup
		# hierarchies: this run's libvirtd (and only it: the mount is this run's) puts
		# its guests in no cgroup
		if [ -z "$(ls /sys/fs/cgroup 2>/dev/null)" ]; then
			cp /etc/libvirt/qemu.conf "$BATS_FILE_TMPDIR/qemu.conf"
			echo 'cgroup_controllers = [ ]' >> "$BATS_FILE_TMPDIR/qemu.conf"
			mount --bind "$BATS_FILE_TMPDIR/qemu.conf" /etc/libvirt/qemu.conf
		fi
		pgrep -x virtlogd >/dev/null || virtlogd -d
		libvirtd -d
		echo 1 > "$BATS_FILE_TMPDIR/started"
		for _ in $(seq 100); do
			virsh -c "$LV_URI" version >/dev/null 2>&1 && break
			sleep 0.1
		done
	fi
	virsh -c "$LV_URI" version >/dev/null || { echo "libvirt does not answer at $LV_URI" >&2; return 1; }
}

lv_teardown_file() {
	if [ -e "$BATS_FILE_TMPDIR/started" ]; then
		kill "$(cat /run/libvirtd.pid)" 2>/dev/null || true
	fi
}

lv_setup() {
	xo_setup
	export XO_BACKEND=libvirt XO_LIBVIRT_URI=$LV_URI
	export XO_LIBVIRT_ACCEL=${XO_LIBVIRT_ACCEL:-qemu}
	export XO_REBOOT_DELAY=0
	# libvirt's qemu (libvirt-qemu) reads the disks: a directory it can traverse
	LV_DIR=$(mktemp -d /var/tmp/xo-lv.XXXXXX)
	chmod 755 "$LV_DIR" "$XO_STATE_DIR" 2>/dev/null || true
	bridge xobr0
}

lv_teardown() {
	local vm
	for vm in $(xo-vm-list --json 2>/dev/null |
		python3 -c 'import json,sys; [print(v["uuid"]) for v in json.load(sys.stdin)]' 2>/dev/null); do
		timeout 60 xo-vm-destroy "$vm" >/dev/null 2>&1 || true
		virsh -c "$LV_URI" destroy "$vm" >/dev/null 2>&1 || true
		virsh -c "$LV_URI" undefine "$vm" >/dev/null 2>&1 || true
	done
	[ -n "${watchd:-}" ] && kill "$watchd" 2>/dev/null
	rm -rf "$LV_DIR"
	xo_teardown
}

# a VM of the test guest with a disk and a nic: lv_vm NAME [first word of its disk]
lv_vm() {
	local name=$1
	truncate -s 16M "$LV_DIR/$name.img"
	[ -z "${2:-}" ] || printf '%s\n' "$2" | dd of="$LV_DIR/$name.img" conv=notrunc status=none
	xo-vm-add --name "$name" --type pv --memory 256M --kernel "$XO_GUEST_DIR/vmlinuz" \
		--ramdisk "$XO_GUEST_DIR/initrd" --cmdline "console=ttyS0" >/dev/null
	xo-vbd-add "$name" --path "$LV_DIR/$name.img" >/dev/null
	xo-vif-add "$name" --bridge xobr0 >/dev/null
}

virsh_() {
	virsh -c "$LV_URI" "$@"
}

# the guest's console log
console_of() {
	cat "$XO_STATE_DIR/VM/$(uuid_of "$1")/console.log" 2>/dev/null
}

# wait (up to $2 seconds, default 120: the guest boots under emulation) until the guest
# of VM $1 has written $3 on its console (the count $4 times, default 1)
wait_console() {
	local n=${4:-1}
	for _ in $(seq $((${2:-120} * 10))); do
		[ "$(console_of "$1" | grep -c -- "$3")" -ge "$n" ] && return 0
		sleep 0.1
	done
	echo "guest of $1 never wrote '$3' ($n times); its console:" >&2
	console_of "$1" | tail -20 >&2
	return 1
}

# wait until xo-vm-stat shows the power state $2 (up to $3 seconds)
wait_power() {
	for _ in $(seq $((${3:-120} * 10))); do
		[ "$(vm_field "$1" power_state)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "vm $1 is $(vm_field "$1" power_state), not $2" >&2
	return 1
}

# nothing of the VM is left: halted, no runtime record, no libvirt domain, no tap
assert_lv_clean() {
	local name=$1 uuid
	uuid=$(uuid_of "$name")
	[ "$(vm_field "$name" power_state)" = Halted ] || fail "vm $name is not halted"
	[ ! -e "$XO_STATE_DIR/VM/$uuid/extra" ] || fail "vm $name still has a runtime record"
	! virsh_ dominfo "$uuid" >/dev/null 2>&1 || fail "libvirt still knows vm $name: $(virsh_ list --all)"
	[ -z "$(ls "$XO_STATE_DIR/VM/$uuid/res" 2>/dev/null)" ] || fail "vm $name still holds resources: $(ls "$XO_STATE_DIR/VM/$uuid/res")"
	! ip link show "xo${uuid:0:8}.0" >/dev/null 2>&1 || fail "the tap of vm $name is left"
}
