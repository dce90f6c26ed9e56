/*
 * fuzz/config: libFuzzer harness for the VM configuration parser, the JSON
 * that xo-vm-add reads (xo_vm_parse_full: lib/json.c's strict tokener,
 * then lib/model.c and lib/config.c).
 *
 * Each input is parsed from a copy of exactly its size, not NUL-terminated
 * (qmp.c passes one line of a larger buffer): a read past len is a finding
 * (this harness found one, in xo_json_parse's look for empty input). What parses and passes xo-vm-add's checks, complete as
 * xo-vm-add would store it, is written back as JSON (xo_vm_full_to_json)
 * and parsed again: that second parse must succeed and give the same JSON,
 * or the harness aborts (a finding, as a crash or a sanitizer report is).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump(const struct xo_vm *vm, const struct xo_devices *d)
{
	struct json_object *o = xo_vm_full_to_json(vm, d);
	char *s = xo_json_dump(o, false);

	json_object_put(o);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xo_devices d = { 0 }, d2 = { 0 };
	struct xo_vm vm, vm2;
	char *a = NULL, *b = NULL;
	xo_err e;

	char *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	xo_vm_init(&vm);
	xo_vm_init(&vm2);
	if (xo_vm_parse_full(text, size, "input", &vm, &d, &e) < 0)
		goto out;
	/* what xo-vm-add would store: checked, with a uuid, devices named and
	 * positioned (xo_vm_add chooses what is missing; here it is skipped) */
	if (xo_vm_check(&vm, &e) < 0)
		goto out;
	for (size_t i = 0; i < d.n_vbd; i++)
		if (xo_vbd_check(&d.vbd[i], &e) < 0 || !d.vbd[i].name)
			goto out;
	for (size_t i = 0; i < d.n_vif; i++)
		if (xo_vif_check(&d.vif[i], &e) < 0 || d.vif[i].position < 0 || !d.vif[i].mac[0])
			goto out;
	for (size_t i = 0; i < d.n_pci; i++)
		if (xo_pci_check(&d.pci[i], &e) < 0 || d.pci[i].position < 0)
			goto out;
	if (!vm.uuid[0])
		xo_strlcpy(vm.uuid, "6c1f7c54-3a4e-4a55-9b1f-6d5ab7b8d0c2", sizeof(vm.uuid));
	a = dump(&vm, &d);
	if (xo_vm_parse_full(a, strlen(a), "its own output", &vm2, &d2, &e) < 0) {
		fprintf(stderr, "fuzz/config: the parser rejects what it wrote: %s\n%s\n", e.msg, a);
		abort();
	}
	b = dump(&vm2, &d2);
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "fuzz/config: a round trip changed the VM:\n%s\n%s\n", a, b);
		abort();
	}
out:
	free(text);
	free(a);
	free(b);
	xo_vm_free(&vm);
	xo_vm_free(&vm2);
	xo_devices_free(&d);
	xo_devices_free(&d2);
	return 0;
}
