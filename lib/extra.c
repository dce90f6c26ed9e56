/*
 * extra.c: the runtime record (see extra.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extra.h"
#include "json.h"
#include "state.h"

void xo_extra_free(struct xo_extra *x)
{
	free(x->kernel);
	free(x->ramdisk);
	free(x->cmdline);
	if (x->backend)
		json_object_put(x->backend);
	memset(x, 0, sizeof(*x));
}

static struct json_object *extra_to_json(const struct xo_extra *x)
{
	struct json_object *o = json_object_new_object();

	xo_json_add_int(o, "domid", x->domid);
	xo_json_add_double(o, "create_time", x->create_time);
	xo_json_add_bool(o, "built", x->built);
	xo_json_add_bool(o, "rebooting", x->rebooting);
	if (x->built) {
		struct json_object *b = json_object_new_object();
		xo_json_add_str(b, "type", xo_vm_type_name(x->type));
		if (x->kernel)
			xo_json_add_str(b, "kernel", x->kernel);
		if (x->ramdisk)
			xo_json_add_str(b, "ramdisk", x->ramdisk);
		if (x->cmdline)
			xo_json_add_str(b, "cmdline", x->cmdline);
		xo_json_add_int(b, "static_max_kib", (int64_t)x->static_max_kib);
		xo_json_add_int(b, "target_kib", (int64_t)x->target_kib);
		xo_json_add_int(b, "vcpus", x->vcpus);
		xo_json_add_int(b, "max_vcpus", x->max_vcpus);
		json_object_object_add(o, "build", b);
	}
	if (x->backend)
		json_object_object_add(o, "backend", json_object_get(x->backend));
	return o;
}

static int64_t jint(struct json_object *o, const char *k)
{
	struct json_object *v;
	return o && json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string))
		return xstrdup(json_object_get_string(v));
	return NULL;
}

int xo_extra_load(const char *uuid, struct xo_extra *x, xo_err *e)
{
	char path[80], *text;
	size_t len;
	struct json_object *o, *b, *v;

	memset(x, 0, sizeof(*x));
	if (xo_state_open(e) < 0)
		return -1;
	snprintf(path, sizeof(path), "VM/%s/extra", uuid);
	if (xo_read_file(xo_state_fd(), path, &text, &len, e) < 0)
		return -1;
	o = xo_json_parse(text, len, "runtime record", e);
	free(text);
	if (!o)
		return -1;
	x->domid = (int)jint(o, "domid");
	if (json_object_object_get_ex(o, "create_time", &v))
		x->create_time = json_object_get_double(v);
	if (json_object_object_get_ex(o, "built", &v))
		x->built = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "rebooting", &v))
		x->rebooting = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "build", &b)) {
		char *t = jstr(b, "type");
		xo_err ignore;
		if (t)
			xo_vm_type_parse(t, &x->type, &ignore);
		free(t);
		x->kernel = jstr(b, "kernel");
		x->ramdisk = jstr(b, "ramdisk");
		x->cmdline = jstr(b, "cmdline");
		x->static_max_kib = (uint64_t)jint(b, "static_max_kib");
		x->target_kib = (uint64_t)jint(b, "target_kib");
		x->vcpus = (unsigned)jint(b, "vcpus");
		x->max_vcpus = (unsigned)jint(b, "max_vcpus");
	}
	if (json_object_object_get_ex(o, "backend", &b) && json_object_is_type(b, json_type_object))
		x->backend = json_object_get(b);
	json_object_put(o);
	return 0;
}

int xo_extra_save(const char *uuid, const struct xo_extra *x, xo_err *e)
{
	char path[80];
	struct json_object *o = extra_to_json(x);
	char *s = xo_json_dump(o, false);
	int r;

	json_object_put(o);
	if (xo_state_open(e) < 0) {
		free(s);
		return -1;
	}
	snprintf(path, sizeof(path), "VM/%s/extra", uuid);
	r = xo_atomic_write(xo_state_fd(), path, s, strlen(s), 0, e);
	free(s);
	return r;
}

void xo_extra_remove(const char *uuid)
{
	char path[80];
	xo_err ignore;

	if (xo_state_open(&ignore) < 0)
		return;
	snprintf(path, sizeof(path), "VM/%s/extra", uuid);
	unlinkat(xo_state_fd(), path, 0);
}

struct json_object *xo_extra_backend(struct xo_extra *x)
{
	if (!x->backend)
		x->backend = json_object_new_object();
	return x->backend;
}

int64_t xo_extra_backend_int(const struct xo_extra *x, const char *key)
{
	return jint(x->backend, key);
}

void xo_extra_backend_set_int(struct xo_extra *x, const char *key, int64_t v)
{
	json_object_object_add(xo_extra_backend(x), key, json_object_new_int64(v));
}

void xo_extra_backend_set_str(struct xo_extra *x, const char *key, const char *v)
{
	if (v)
		json_object_object_add(xo_extra_backend(x), key, json_object_new_string(v));
	else if (x->backend)
		json_object_object_del(x->backend, key);
}

void xo_extra_domain_gone(const char *uuid, bool keep_build, const char *drop_key)
{
	struct xo_extra ex;
	xo_err ignore;

	if (!keep_build) {
		xo_extra_remove(uuid);
		return;
	}
	if (xo_extra_load(uuid, &ex, &ignore) < 0)
		return;
	ex.domid = 0;
	ex.rebooting = true;
	if (drop_key)
		xo_extra_backend_set_str(&ex, drop_key, NULL);
	(void)xo_extra_save(uuid, &ex, &ignore);
	xo_extra_free(&ex);
}

uint64_t xo_vm_reserve_kib(const struct xo_vm *vm)
{
	return xo_vm_memory_target(vm) / 1024 + XO_MEMORY_OVERHEAD_KIB;
}
