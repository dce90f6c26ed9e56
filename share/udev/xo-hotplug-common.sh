# xo-hotplug-common.sh: sourced by xo's hotplug scripts (block, vif).
#
# A script is run by xo right after it writes a backend (XO_HOTPLUG=xo, the
# default), or by udev through xo-backend.rules (UDEV_CALL=1). Both give the
# environment of Xen's hotplug scripts: XENBUS_PATH=backend/<kind>/<fe>/<dev>
# (relative to dom0's home), XENBUS_TYPE, and for vifs vif=<netdev>. When xo
# runs the scripts itself it writes /libxl/disable_udev, and a udev-invoked
# script steps aside.
#
# On failure a script writes hotplug-error (why) and hotplug-status=error in
# the backend, which is what xo waits for, and exits non-zero; the log goes
# to standard error (xo keeps it in VM/<uuid>/hotplug.log).

set -eu
# xo's PATH first (tests may put doubles there), then the system's
PATH="${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH LC_ALL=C
unset LANG

: "${XENBUS_PATH:?XENBUS_PATH is not set: run by xo or udev only}"
B="/local/domain/0/$XENBUS_PATH"
DEVID=${XENBUS_PATH##*/}
FE=${XENBUS_PATH%/*}
FE=${FE##*/}
ME=${0##*/}

log() {
	echo "$ME $ACTION $XENBUS_PATH: $*" >&2
}

_reported=
fail() {
	log "error: $*"
	_reported=1
	xenstore-write "$B/hotplug-error" "$*" "$B/hotplug-status" error || true
	exit 1
}

# set -e stops at the first failing command: say so in the backend too
_on_exit() {
	rc=$?
	if [ "$rc" -ne 0 ] && [ -z "$_reported" ] && [ "$ACTION" != remove ] && [ "$ACTION" != offline ]; then
		xenstore-write "$B/hotplug-error" "$ME $ACTION failed (status $rc)" \
			"$B/hotplug-status" error 2>/dev/null || true
	fi
}
trap _on_exit EXIT

if [ -n "${UDEV_CALL:-}" ] && xenstore-read /libxl/disable_udev >/dev/null 2>&1; then
	exit 0
fi
