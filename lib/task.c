/*
 * task.c: task records and cancellation (see task.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "state.h"
#include "task.h"
#include "updates.h"

static const char *const state_names[] = { "pending", "completed", "failed", "cancelled" };

const char *xo_task_state_name(enum xo_task_state s)
{
	return state_names[s];
}

bool xo_task_valid_id(const char *id)
{
	if (strlen(id) != XO_TASK_ID_LEN)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int tasks_dir(xo_err *e)
{
	return xo_state_subdir("tasks", e);
}

struct json_object *xo_task_to_json(const struct xo_task *t)
{
	struct json_object *o = json_object_new_object();

	xo_json_add_str(o, "id", t->id);
	xo_json_add_str(o, "op", t->op);
	xo_json_add_str(o, "vm", t->vm);
	xo_json_add_str(o, "vm_name", t->vm_name);
	xo_json_add_str(o, "arg", t->arg);
	xo_json_add_str(o, "state", xo_task_state_name(t->state));
	xo_json_add_double(o, "progress", t->progress);
	xo_json_add_str(o, "atom", t->atom);
	xo_json_add_double(o, "created", t->created);
	xo_json_add_double(o, "started", t->started);
	xo_json_add_double(o, "finished", t->finished);
	xo_json_add_int(o, "worker_pid", t->worker_pid);
	xo_json_add_bool(o, "destroy_on_finish", t->destroy_on_finish);
	struct json_object *tm = json_object_new_array();
	for (size_t i = 0; i < t->n_timings; i++) {
		struct json_object *a = json_object_new_object();
		xo_json_add_str(a, "atom", t->timings[i].atom);
		char ms[32];
		snprintf(ms, sizeof(ms), "%.3f", t->timings[i].ms);   /* microseconds are enough */
		json_object_object_add(a, "ms", json_object_new_double_s(t->timings[i].ms, ms));
		json_object_array_add(tm, a);
	}
	json_object_object_add(o, "timings", tm);
	if (t->timings_dropped)
		xo_json_add_int(o, "timings_dropped", t->timings_dropped);
	if (t->state == XO_TASK_FAILED || t->state == XO_TASK_CANCELLED) {
		struct json_object *err = json_object_new_object();
		xo_json_add_str(err, "class", xo_ecls_name(t->err_cls));
		xo_json_add_str(err, "message", t->err_msg);
		xo_json_add_str(err, "atom", t->err_atom);
		json_object_object_add(o, "error", err);
	} else {
		json_object_object_add(o, "error", NULL);
	}
	return o;
}

static void get_str(struct json_object *o, const char *k, char *buf, size_t size)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string))
		xo_strlcpy(buf, json_object_get_string(v), size);
	else if (size)
		buf[0] = '\0';
}

static double get_double(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_double(v) : 0;
}

static int from_json(struct json_object *o, struct xo_task *t, xo_err *e)
{
	char s[64];
	struct json_object *err, *v;

	memset(t, 0, sizeof(*t));
	get_str(o, "id", t->id, sizeof(t->id));
	get_str(o, "op", t->op, sizeof(t->op));
	get_str(o, "vm", t->vm, sizeof(t->vm));
	get_str(o, "vm_name", t->vm_name, sizeof(t->vm_name));
	get_str(o, "arg", t->arg, sizeof(t->arg));
	get_str(o, "atom", t->atom, sizeof(t->atom));
	get_str(o, "state", s, sizeof(s));
	int i;
	for (i = 0; i < 4; i++)
		if (strcmp(s, state_names[i]) == 0)
			break;
	if (i == 4 || !xo_task_valid_id(t->id))
		return xo_errf(e, XO_E_INTERNAL, "corrupt task record %s", t->id);
	t->state = (enum xo_task_state)i;
	t->progress = get_double(o, "progress");
	t->created = get_double(o, "created");
	t->started = get_double(o, "started");
	t->finished = get_double(o, "finished");
	if (json_object_object_get_ex(o, "worker_pid", &v))
		t->worker_pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "destroy_on_finish", &v))
		t->destroy_on_finish = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "timings", &v) && json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t k = 0; k < n && t->n_timings < XO_TASK_TIMINGS_MAX; k++) {
			struct json_object *a = json_object_array_get_idx(v, k);
			struct xo_task_timing *tt = &t->timings[t->n_timings++];
			get_str(a, "atom", tt->atom, sizeof(tt->atom));
			tt->ms = get_double(a, "ms");
		}
	}
	if (json_object_object_get_ex(o, "timings_dropped", &v))
		t->timings_dropped = (unsigned)json_object_get_int(v);
	if (json_object_object_get_ex(o, "error", &err) && json_object_is_type(err, json_type_object)) {
		get_str(err, "class", s, sizeof(s));
		t->err_cls = xo_ecls_from_name(s);
		get_str(err, "message", t->err_msg, sizeof(t->err_msg));
		get_str(err, "atom", t->err_atom, sizeof(t->err_atom));
	}
	return 0;
}

void xo_task_add_timing(struct xo_task *t, const char *atom, double ms)
{
	if (t->n_timings == XO_TASK_TIMINGS_MAX) {
		t->timings_dropped++;
		return;
	}
	xo_strlcpy(t->timings[t->n_timings].atom, atom, sizeof(t->timings[0].atom));
	t->timings[t->n_timings++].ms = ms;
}

int xo_task_save(const struct xo_task *t, bool sync, xo_err *e)
{
	int dfd = tasks_dir(e);
	if (dfd < 0)
		return -1;
	struct json_object *o = xo_task_to_json(t);
	char *s = xo_json_dump(o, false);
	size_t n = strlen(s);
	s = xrealloc(s, n + 2);
	s[n] = '\n';
	int r = xo_atomic_write(dfd, t->id, s, n + 1, sync ? 0 : XO_WRITE_NOSYNC, e);
	free(s);
	json_object_put(o);
	if (r == 0)
		xo_updates_emit("task", t->id);
	return r;
}

void xo_task_init(struct xo_task *t, const char *op, const char *vm, const char *vm_name,
		  const char *arg)
{
	uint8_t rnd[XO_TASK_ID_LEN / 2];

	memset(t, 0, sizeof(*t));
	xo_random_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(t->id + 2 * i, 3, "%02x", rnd[i]);
	xo_strlcpy(t->op, op, sizeof(t->op));
	xo_strlcpy(t->vm, vm ? vm : "", sizeof(t->vm));
	xo_strlcpy(t->vm_name, vm_name ? vm_name : "", sizeof(t->vm_name));
	xo_strlcpy(t->arg, arg ? arg : "", sizeof(t->arg));
	t->state = XO_TASK_PENDING;
	t->created = xo_wallclock();
}

int xo_task_create(struct xo_task *t, const char *op, const char *vm, const char *vm_name,
		   const char *arg, xo_err *e)
{
	xo_task_init(t, op, vm, vm_name, arg);
	return xo_task_save(t, true, e);
}

int xo_task_load(const char *id, struct xo_task *t, xo_err *e)
{
	char *text;
	size_t len;
	int dfd, r;

	if (!xo_task_valid_id(id))
		return xo_errf(e, XO_E_NOT_FOUND, "task '%s' does not exist", id);
	if ((dfd = tasks_dir(e)) < 0)
		return -1;
	if (xo_read_file(dfd, id, &text, &len, e) < 0) {
		if (e->cls == XO_E_NOT_FOUND)
			xo_errf(e, XO_E_NOT_FOUND, "task %s does not exist", id);
		return -1;
	}
	struct json_object *o = xo_json_parse(text, len, "task record", e);
	free(text);
	if (!o)
		return -1;
	r = from_json(o, t, e);
	json_object_put(o);
	return r;
}

static int cmp_task(const void *a, const void *b)
{
	const struct xo_task *x = a, *y = b;
	return x->created < y->created ? -1 : x->created > y->created;
}

int xo_task_list(struct xo_task **out, size_t *n, xo_err *e)
{
	int dfd, fd;
	DIR *d;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if ((dfd = tasks_dir(e)) < 0)
		return -1;
	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return xo_err_sys(e, errno, "unable to list tasks");
	}
	while ((de = readdir(d))) {
		struct xo_task t;
		xo_err ignore;
		if (!xo_task_valid_id(de->d_name) || xo_task_load(de->d_name, &t, &ignore) < 0)
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = t;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_task);
	return 0;
}

int xo_task_destroy(const char *id, xo_err *e)
{
	struct xo_task t;
	int dfd;

	if (xo_task_load(id, &t, e) < 0)
		return -1;
	if (t.state == XO_TASK_PENDING)
		return xo_errf(e, XO_E_POWER_STATE, "task %s is pending: cancel it or wait for it first", id);
	if ((dfd = tasks_dir(e)) < 0)
		return -1;
	xo_cancel_forget(id);
	if (unlinkat(dfd, id, 0) < 0 && errno != ENOENT)
		return xo_err_sys(e, errno, "unable to remove task %s", id);
	xo_updates_emit("task", id);
	return 0;
}

int xo_task_cancel(const char *id, xo_err *e)
{
	struct xo_task t;

	if (xo_task_load(id, &t, e) < 0)
		return -1;
	if (t.state != XO_TASK_PENDING)
		return xo_errf(e, XO_E_POWER_STATE, "task %s is already %s", id, xo_task_state_name(t.state));
	return xo_cancel_request(id, e);
}

int xo_task_finish(struct xo_task *t, enum xo_task_state s, const xo_err *err, xo_err *e)
{
	t->state = s;
	t->finished = xo_wallclock();
	if (s == XO_TASK_COMPLETED)
		t->progress = 1.0;
	if (err) {
		t->err_cls = err->cls;
		xo_strlcpy(t->err_msg, err->msg, sizeof(t->err_msg));
	}
	if (xo_task_save(t, !t->destroy_on_finish, e) < 0)
		return -1;
	if (t->destroy_on_finish)
		return xo_task_destroy(t->id, e);
	return 0;
}

void xo_task_describe(const struct xo_task *t, char *buf, size_t size)
{
	if (t->state == XO_TASK_PENDING)
		snprintf(buf, size, "pending %d%% %s", (int)(t->progress * 100 + 0.5),
			 t->atom[0] ? t->atom : "queued");
	else if (t->state == XO_TASK_COMPLETED)
		snprintf(buf, size, "completed");
	else
		snprintf(buf, size, "%s %s%s%s: %s", xo_task_state_name(t->state), xo_ecls_name(t->err_cls),
			 t->err_atom[0] ? " at " : "", t->err_atom, t->err_msg);
}
