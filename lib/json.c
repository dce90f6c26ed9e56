/*
 * json.c: see json.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/*
 * What json-c lets through, found in one pass over the text before it parses:
 * single-quoted object keys (its strict mode still takes them), "\u0000" in a
 * string (json-c keeps the NUL in a value, which every C reader then cuts
 * short, and cuts a key at it), and the number of object members (a ':'
 * outside strings), which the parsed tree must match: json-c keeps the last
 * of duplicate keys, so a tree with fewer members had duplicates.
 */
struct prescan {
	size_t single_quote, nul;     /* offsets; len when none */
	size_t members;
};

static void prescan(const char *text, size_t len, struct prescan *p)
{
	bool in_string = false;

	p->single_quote = p->nul = len;
	p->members = 0;
	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (text[i] == '\\') {
				if (i + 5 < len && memcmp(text + i + 1, "u0000", 5) == 0 && p->nul == len)
					p->nul = i;
				i++;
			} else if (text[i] == '"') {
				in_string = false;
			}
		} else if (text[i] == '"') {
			in_string = true;
		} else if (text[i] == ':') {
			p->members++;
		} else if (text[i] == '\'' && p->single_quote == len) {
			p->single_quote = i;
		}
	}
}

static size_t count_members(struct json_object *o)
{
	size_t n = 0;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			n += 1 + count_members(v);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			n += count_members(json_object_array_get_idx(o, i));
	}
	return n;
}

struct jkey {
	char *k;
	size_t off;
};

static int jkey_cmp(const void *a, const void *b)
{
	const struct jkey *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : (x->off > y->off) - (x->off < y->off);
}

/* the end of the string literal starting at text[i] (the opening quote) */
static size_t string_end(const char *text, size_t len, size_t i)
{
	for (i++; i < len && text[i] != '"'; i++)
		if (text[i] == '\\')
			i++;
	return i;
}

/* a duplicate key of a valid document (only called when there is one): its decoded
 * name and the offset of its second occurrence. Each object's keys are sorted when
 * it closes, so the cost is n log n however many there are */
static bool find_duplicate(const char *text, size_t len, char **key, size_t *off)
{
	struct level {
		bool object, want_key;
		struct jkey *keys;
		size_t n;
	} *stack = NULL;
	size_t depth = 0;
	bool found = false;

	for (size_t i = 0; i < len && !found; i++) {
		char c = text[i];
		struct level *top = depth ? &stack[depth - 1] : NULL;
		if (c == '"') {
			size_t end = string_end(text, len, i);
			if (top && top->object && top->want_key) {
				char *lit = xstrndup(text + i, end - i + 1);
				struct json_object *str = json_tokener_parse(lit);
				free(lit);
				top->keys = xrealloc(top->keys, (top->n + 1) * sizeof(*top->keys));
				top->keys[top->n].k = xstrdup(str ? json_object_get_string(str) : "");
				top->keys[top->n].off = i;
				top->n++;
				top->want_key = false;
				json_object_put(str);
			}
			i = end;
		} else if (c == '{' || c == '[') {
			stack = xrealloc(stack, (depth + 1) * sizeof(*stack));
			stack[depth++] = (struct level){ .object = c == '{', .want_key = c == '{' };
		} else if (c == ',' && top && top->object) {
			top->want_key = true;
		} else if ((c == '}' || c == ']') && top) {
			if (top->object && top->n > 1) {
				qsort(top->keys, top->n, sizeof(*top->keys), jkey_cmp);
				for (size_t j = 1; j < top->n && !found; j++)
					if (strcmp(top->keys[j].k, top->keys[j - 1].k) == 0) {
						*key = xstrdup(top->keys[j].k);
						*off = top->keys[j].off;
						found = true;
					}
			}
			for (size_t j = 0; j < top->n; j++)
				free(top->keys[j].k);
			free(top->keys);
			depth--;
		}
	}
	while (depth--) {
		for (size_t j = 0; j < stack[depth].n; j++)
			free(stack[depth].keys[j].k);
		free(stack[depth].keys);
	}
	free(stack);
	return found;
}

struct json_object *xo_json_parse(const char *text, size_t len, const char *what, xo_err *e)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error jerr;
	struct prescan p;
	size_t off;

	if (len > XO_JSON_MAX) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s: %zu bytes, more than the limit of %d",
			what, len, XO_JSON_MAX);
		return NULL;
	}
	size_t ws = 0;
	/* within len: the text need not be NUL-terminated (qmp.c passes one line of a
	 * buffer); found by the config fuzzer */
	while (ws < len && (text[ws] == ' ' || text[ws] == '\t' || text[ws] == '\r' || text[ws] == '\n'))
		ws++;
	if (ws == len) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s: empty input", what);
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s: NUL byte in input", what);
		return NULL;
	}
	prescan(text, len, &p);
	if (p.single_quote < len) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s at byte %zu: single quotes are not json",
			what, p.single_quote);
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
	if (o && p.nul < len) {
		xo_errf(e, XO_E_INVALID, "malformed json in %s at byte %zu: \\u0000 (NUL) in a string",
			what, p.nul);
		json_object_put(o);
		o = NULL;
	}
	if (o && count_members(o) != p.members) {
		char *key = NULL;
		size_t at = 0;
		if (find_duplicate(text, len, &key, &at)) {
			char *esc = xo_str_escape(key);
			xo_errf(e, XO_E_INVALID, "malformed json in %s at byte %zu: duplicate key '%s'",
				what, at, esc);
			free(esc);
		} else {
			xo_errf(e, XO_E_INVALID, "malformed json in %s: duplicate keys", what);
		}
		free(key);
		json_object_put(o);
		o = NULL;
	}
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
