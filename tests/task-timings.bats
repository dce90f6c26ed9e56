#!/usr/bin/env bats
# The worker records each micro-op it runs and how long it took in the task
# ("timings"), which make bench-xen reads to say where a start spends its time.
bats_require_minimum_version 1.5.0
load helpers

setup() { xo_setup; }
teardown() { xo_teardown; }

@test "a finished start carries one timing per micro-op of its plan, in order" {
	add_vm web1
	disk_image "$BATS_TEST_TMPDIR/d.img"
	xo-vbd-add web1 --path "$BATS_TEST_TMPDIR/d.img"
	run --separate-stderr xo-vm-start --json web1
	assert_success
	python3 - "$output" <<'PY'
import json, sys
t = json.loads(sys.argv[1])
names = [a["atom"] for a in t["timings"]]
assert names == ["hook vm-pre-start", "VM_create", "VM_build", "VBD_set_active xvda on",
                 "VBD_epoch_begin xvda", "VBD_plug xvda",
                 "VM_set_domain_action_request none"], names
assert all(isinstance(a["ms"], float) and a["ms"] >= 0 for a in t["timings"]), t["timings"]
assert "timings_dropped" not in t
PY
}

@test "a failed start records the micro-ops up to the one that failed" {
	add_vm web1
	XO_FAULT="VM_build:fail" run --separate-stderr xo-vm-start --json web1
	assert_failure
	python3 - "$output" <<'PY'
import json, sys
t = json.loads(sys.argv[1])
assert [a["atom"] for a in t["timings"]] == ["hook vm-pre-start", "VM_create"], t["timings"]
assert t["error"]["atom"] == "VM_build", t["error"]
PY
}
