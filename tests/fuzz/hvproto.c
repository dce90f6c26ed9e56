/*
 * fuzz/hvproto: libFuzzer harness for the hv.sock protocol (lib/hvproto.c):
 * the request parser that xo-simd runs on every line a client sends, the
 * value decoder, and the reply reader of the clients.
 *
 * The input is a line (cut at its first newline, as hv.c cuts them). It is
 * parsed as a request; each argument is looked up again; every decoded
 * value, encoded and decoded once more, must come back the same. The same
 * bytes are read as a reply record, field by field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "domid", "uuid", "count", "store_port", "x", "" };
	size_t len = strnlen((const char *)data, size);
	char *line = malloc(len + 1), *rec = malloc(len + 1), out[64];
	struct xo_hv_req r;
	uint64_t v;
	xo_err e;

	memcpy(line, data, len);
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	memcpy(rec, data, len);
	rec[len] = '\0';
	if (xo_hv_parse(line, &r, &e) == 0) {
		for (unsigned i = 0; i < r.n; i++) {
			struct xo_buf b = XO_BUF_INIT;
			if (xo_hv_arg(&r, r.key[i]) == NULL)
				abort();
			xo_hv_enc(&b, r.val[i]);
			xo_buf_add(&b, "", 0);
			if (xo_hv_dec(b.s) < 0 || strcmp(b.s, r.val[i]) != 0) {
				fprintf(stderr, "fuzz/hvproto: '%s' does not survive encoding\n", r.val[i]);
				abort();
			}
			xo_buf_free(&b);
		}
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		xo_hv_field(rec, keys[i], out, sizeof(out));
		xo_hv_field_u64(rec, keys[i], &v, &e);
	}
	free(line);
	free(rec);
	return 0;
}
