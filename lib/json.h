/*
 * json.h: strict JSON in and out over json-c.
 *
 * Parsing is strict (json-c's STRICT tokener flag: no comments, no single
 * quotes, no trailing commas) and rejects anything after the value but
 * whitespace, a document over XO_JSON_MAX bytes, "\u0000" in a string (C
 * strings end there) and duplicate keys in an object (json-c would keep the
 * last one silently); errors name the byte offset. The getters check the type of
 * one field of an object and say which field is wrong; xo_json_check_keys()
 * rejects unknown fields by name. Ownership follows json-c: getters lend,
 * never take, references; the caller of xo_json_parse() owns the result and
 * releases it with json_object_put().
 */
#ifndef XO_JSON_H
#define XO_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* the largest document xo reads (documented in xo-config(5)) */
#define XO_JSON_MAX (1 << 20)

/* `what` names the input in errors ("vm.json", "standard input") */
struct json_object *xo_json_parse(const char *text, size_t len, const char *what, xo_err *e);
/* a malloc'd string; pretty adds newlines and two-space indent */
char *xo_json_dump(struct json_object *o, bool pretty);

/* NULL-terminated list of allowed keys; `where` names the object ("vm", "vbd xvda") */
int xo_json_check_keys(struct json_object *o, const char *const *allowed, const char *where,
		       xo_err *e);
int xo_json_expect_object(struct json_object *o, const char *where, xo_err *e);

/*
 * Each getter returns 1 when the key is present and well-typed (value
 * stored), 0 when absent (value untouched), -1 on a type or range error.
 */
int xo_json_get_string(struct json_object *o, const char *key, const char *where,
		       const char **out, xo_err *e);
int xo_json_get_bool(struct json_object *o, const char *key, const char *where, bool *out,
		     xo_err *e);
int xo_json_get_u64(struct json_object *o, const char *key, const char *where, uint64_t max,
		    uint64_t *out, xo_err *e);
int xo_json_get_uint(struct json_object *o, const char *key, const char *where, unsigned max,
		     unsigned *out, xo_err *e);
int xo_json_get_object(struct json_object *o, const char *key, const char *where,
		       struct json_object **out, xo_err *e);
int xo_json_get_array(struct json_object *o, const char *key, const char *where,
		      struct json_object **out, xo_err *e);

/* small builders */
void xo_json_add_str(struct json_object *o, const char *key, const char *v);
void xo_json_add_int(struct json_object *o, const char *key, int64_t v);
void xo_json_add_bool(struct json_object *o, const char *key, bool v);
void xo_json_add_double(struct json_object *o, const char *key, double v);

#endif
