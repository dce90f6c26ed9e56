/*
 * json.c: see json.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* json-c's strict mode still takes single-quoted object keys: find a quote outside a string */
static size_t single_quote_at(const char *text, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_string = false;
		} else if (text[i] == '"') {
			in_string = true;
		} else if (text[i] == '\'') {
			return i;
		}
	}
	return len;
}

struct json_object *xo_json_parse(const char *text, size_t len, const char *what, xo_err *e)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error jerr;
	size_t off;

	if (len == 0 || strspn(text, " \t\r\n") == len) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s: empty input", what);
		return NULL;
	}
	if (len > INT32_MAX || memchr(text, '\0', len)) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s: NUL byte in input", what);
		return NULL;
	}
	if ((off = single_quote_at(text, len)) < len) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s at byte %zu: single quotes are not json",
			what, off);
		return NULL;
	}
	tok = json_tokener_new_ex(64);
	if (!tok) {
		xo_errf(e, XO_E_SYSTEM, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s: truncated input at byte %zu",
			what, len);
		json_object_put(o);
		o = NULL;
	} else if (jerr != json_tokener_success) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s at byte %zu: %s", what, off,
			json_tokener_error_desc(jerr));
		json_object_put(o);
		o = NULL;
	} else {
		size_t rest = off;
		while (rest < len && isspace((unsigned char)text[rest]))
			rest++;
		if (rest < len) {
			xo_errf(e, XO_E_INVALID,
				"malformed json in %s at byte %zu: trailing data after the value",
				what, rest);
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	return o;
}

char *xo_json_dump(struct json_object *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
	return xstrdup(json_object_to_json_string_ext(o, flags));
}

int xo_json_expect_object(struct json_object *o, const char *where, xo_err *e)
{
	if (!json_object_is_type(o, json_type_object))
		return xo_errf(e, XO_E_INVALID, "invalid %s: expected a json object", where);
	return 0;
}

int xo_json_check_keys(struct json_object *o, const char *const *allowed, const char *where,
		       xo_err *e)
{
	if (xo_json_expect_object(o, where, e) < 0)
		return -1;
	json_object_object_foreach(o, key, val) {
		(void)val;
		const char *const *a;
		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (!*a)
			return xo_errf(e, XO_E_INVALID, "invalid %s: unknown field '%s'", where, key);
	}
	return 0;
}

static int get(struct json_object *o, const char *key, enum json_type type, const char *tname,
	       const char *where, struct json_object **out, xo_err *e)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, type))
		return xo_errf(e, XO_E_INVALID, "invalid %s: field '%s' must be %s", where, key,
			       tname);
	*out = v;
	return 1;
}

int xo_json_get_string(struct json_object *o, const char *key, const char *where,
		       const char **out, xo_err *e)
{
	struct json_object *v = NULL;
	int r = get(o, key, json_type_string, "a string", where, &v, e);
	if (r > 0)
		*out = json_object_get_string(v);
	return r;
}

int xo_json_get_bool(struct json_object *o, const char *key, const char *where, bool *out,
		     xo_err *e)
{
	struct json_object *v = NULL;
	int r = get(o, key, json_type_boolean, "true or false", where, &v, e);
	if (r > 0)
		*out = json_object_get_boolean(v);
	return r;
}

int xo_json_get_u64(struct json_object *o, const char *key, const char *where, uint64_t max,
		    uint64_t *out, xo_err *e)
{
	struct json_object *v = NULL;
	int r = get(o, key, json_type_int, "an integer", where, &v, e);
	if (r <= 0)
		return r;
	int64_t s = json_object_get_int64(v);
	if (s < 0)
		return xo_errf(e, XO_E_INVALID, "invalid %s: field '%s' must not be negative", where,
			       key);
	if ((uint64_t)s > max)
		return xo_errf(e, XO_E_INVALID, "invalid %s: field '%s' is too large (at most %llu)",
			       where, key, (unsigned long long)max);
	*out = (uint64_t)s;
	return 1;
}

int xo_json_get_uint(struct json_object *o, const char *key, const char *where, unsigned max,
		     unsigned *out, xo_err *e)
{
	uint64_t v = 0;
	int r = xo_json_get_u64(o, key, where, max, &v, e);
	if (r > 0)
		*out = (unsigned)v;
	return r;
}

int xo_json_get_object(struct json_object *o, const char *key, const char *where,
		       struct json_object **out, xo_err *e)
{
	return get(o, key, json_type_object, "an object", where, out, e);
}

int xo_json_get_array(struct json_object *o, const char *key, const char *where,
		      struct json_object **out, xo_err *e)
{
	return get(o, key, json_type_array, "an array", where, out, e);
}

void xo_json_add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

void xo_json_add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

void xo_json_add_bool(struct json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

void xo_json_add_double(struct json_object *o, const char *key, double v)
{
	json_object_object_add(o, key, json_object_new_double(v));
}
