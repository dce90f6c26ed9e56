/*
 * qmp.c: a QMP client (see qmp.h).
 *
 * One connection, one command at a time. Input is kept in a buffer and cut
 * into lines; each complete line is one JSON object. Waiting is poll() on
 * the socket with the time left before the caller's deadline, never a
 * sleep.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "qmp.h"
#include "util.h"

struct xo_qmp {
	int fd;
	char *path;
	struct xo_buf in;         /* bytes received, not yet cut into lines */
	unsigned long next_id;
	struct json_object *events;   /* events received and not taken yet (an array) */
};

static void keep_event(struct xo_qmp *q, struct json_object *m)
{
	if (!q->events)
		q->events = json_object_new_array();
	/* a client that never takes its events does not grow without bound */
	if (json_object_array_length(q->events) >= 256)
		json_object_array_del_idx(q->events, 0, 1);
	json_object_array_add(q->events, m);
}

static int time_left(uint64_t deadline_ms)
{
	uint64_t now = xo_now_ms();
	return now >= deadline_ms ? 0 : (int)(deadline_ms - now);
}

/* the next JSON object from qemu; 0 ok, -1 error, -2 the connection closed */
static int read_message(struct xo_qmp *q, uint64_t deadline_ms, struct json_object **out,
			xo_err *e)
{
	for (;;) {
		char *nl = q->in.s ? memchr(q->in.s, '\n', q->in.len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - q->in.s) + 1;
			struct json_object *o = NULL;
			bool blank = true;
			for (size_t i = 0; i < n; i++)
				if (q->in.s[i] != ' ' && q->in.s[i] != '\r' && q->in.s[i] != '\n' &&
				    q->in.s[i] != '\t')
					blank = false;
			if (!blank)
				o = xo_json_parse(q->in.s, n, "the QMP reply", e);
			memmove(q->in.s, q->in.s + n, q->in.len - n);
			q->in.len -= n;
			q->in.s[q->in.len] = '\0';
			if (blank)
				continue;
			if (!o)
				return -1;
			if (!json_object_is_type(o, json_type_object)) {
				json_object_put(o);
				return xo_errf(e, XO_E_SYSTEM, "QMP socket '%s': a reply is not a JSON object",
					       q->path);
			}
			*out = o;
			return 0;
		}
		/* at the deadline, one last look that does not wait */
		int left = time_left(deadline_ms);
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		int r = poll(&p, 1, left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return xo_err_sys(e, errno, "QMP socket '%s': poll", q->path);
		}
		if (r == 0) {
			if (time_left(deadline_ms) == 0)
				return xo_errf(e, XO_E_TIMEOUT, "QMP socket '%s': no reply from qemu in time",
					       q->path);
			continue;
		}
		char buf[4096];
		ssize_t got = read(q->fd, buf, sizeof(buf));
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				return -2;
			return xo_err_sys(e, errno, "QMP socket '%s': read", q->path);
		}
		if (got == 0)
			return -2;
		xo_buf_add(&q->in, buf, (size_t)got);
	}
}

/* write the whole text, the descriptor (if any) riding on its first byte */
static int send_text(struct xo_qmp *q, const char *text, int fd)
{
	size_t len = strlen(text);

	if (fd >= 0) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = (void *)text, .iov_len = 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		ssize_t n;

		memset(cbuf, 0, sizeof(cbuf));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		while ((n = sendmsg(q->fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
			;
		if (n != 1)
			return -1;
		text++;
		len--;
	}
	return xo_write_all(q->fd, text, len);
}

static int send_command(struct xo_qmp *q, const char *command, struct json_object *args,
			const char *id, int pass_fd, xo_err *e)
{
	struct json_object *msg = json_object_new_object();
	char *text;
	int r = 0;

	xo_json_add_str(msg, "execute", command);
	if (args)
		json_object_object_add(msg, "arguments", json_object_get(args));
	xo_json_add_str(msg, "id", id);
	text = xasprintf("%s\r\n", json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
	if (send_text(q, text, pass_fd) < 0)
		r = xo_err_sys(e, errno, "QMP socket '%s': write", q->path);
	free(text);
	json_object_put(msg);
	return r;
}

static int error_reply(struct xo_qmp *q, const char *command, struct json_object *err, xo_err *e)
{
	struct json_object *cls = NULL, *desc = NULL;
	const char *c = "", *d = "unknown error";

	json_object_object_get_ex(err, "class", &cls);
	json_object_object_get_ex(err, "desc", &desc);
	if (cls && json_object_is_type(cls, json_type_string))
		c = json_object_get_string(cls);
	if (desc && json_object_is_type(desc, json_type_string))
		d = json_object_get_string(desc);
	(void)q;
	return xo_errf(e,
		       strcmp(c, "CommandNotFound") == 0 || strcmp(c, "DeviceNotFound") == 0
			       ? XO_E_NOT_FOUND
			       : XO_E_SYSTEM,
		       "qemu refused QMP command %s: %s", command, d);
}

static int execute(struct xo_qmp *q, const char *command, struct json_object *args, int pass_fd,
		   struct json_object **ret, int timeout_ms, xo_err *e)
{
	uint64_t deadline = xo_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	char id[32];
	bool quit = strcmp(command, "quit") == 0;

	if (ret)
		*ret = NULL;
	if (args && !json_object_is_type(args, json_type_object))
		return xo_errf(e, XO_E_INVALID, "QMP command %s: arguments must be a JSON object",
			       command);
	snprintf(id, sizeof(id), "xo-%lu", ++q->next_id);
	if (send_command(q, command, args, id, pass_fd, e) < 0)
		return -1;
	for (;;) {
		struct json_object *m = NULL, *v = NULL, *mid = NULL;
		int r = read_message(q, deadline, &m, e);
		if (r == -2) {
			if (quit)
				return 0;
			return xo_errf(e, XO_E_SYSTEM,
				       "QMP socket '%s': qemu closed the connection during %s", q->path,
				       command);
		}
		if (r < 0)
			return -1;
		if (json_object_object_get_ex(m, "event", NULL)) {
			keep_event(q, m);
			continue;
		}
		/* a reply without our id belongs to nobody else: there is one command in flight */
		if (json_object_object_get_ex(m, "id", &mid) &&
		    (!json_object_is_type(mid, json_type_string) ||
		     strcmp(json_object_get_string(mid), id) != 0)) {
			json_object_put(m);
			continue;
		}
		if (json_object_object_get_ex(m, "error", &v)) {
			error_reply(q, command, v, e);
			json_object_put(m);
			return -1;
		}
		if (json_object_object_get_ex(m, "return", &v)) {
			if (ret)
				*ret = json_object_get(v);
			json_object_put(m);
			return 0;
		}
		json_object_put(m);
	}
}

int xo_qmp_execute(struct xo_qmp *q, const char *command, struct json_object *args,
		   struct json_object **ret, int timeout_ms, xo_err *e)
{
	return execute(q, command, args, -1, ret, timeout_ms, e);
}

int xo_qmp_execute_fd(struct xo_qmp *q, const char *command, struct json_object *args, int fd,
		      struct json_object **ret, int timeout_ms, xo_err *e)
{
	if (fd < 0)
		return xo_errf(e, XO_E_INTERNAL, "QMP command %s: no descriptor to pass", command);
	return execute(q, command, args, fd, ret, timeout_ms, e);
}

int xo_qmp_fd(const struct xo_qmp *q)
{
	return q->fd;
}

int xo_qmp_read_events(struct xo_qmp *q, xo_err *e)
{
	for (;;) {
		struct json_object *m = NULL;
		/* what is buffered first, then what the socket has, without waiting */
		int r = read_message(q, 0, &m, e);
		if (r == -2)
			return xo_errf(e, XO_E_SYSTEM, "QMP socket '%s': qemu closed the connection",
				       q->path);
		if (r < 0)
			return e->cls == XO_E_TIMEOUT ? 0 : -1;
		if (json_object_object_get_ex(m, "event", NULL))
			keep_event(q, m);
		else
			json_object_put(m);
	}
}

struct json_object *xo_qmp_take_event(struct xo_qmp *q)
{
	if (!q->events || json_object_array_length(q->events) == 0)
		return NULL;
	struct json_object *m = json_object_get(json_object_array_get_idx(q->events, 0));
	json_object_array_del_idx(q->events, 0, 1);
	return m;
}

int xo_qmp_connect(const char *path, int timeout_ms, struct xo_qmp **out, xo_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = xo_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	struct xo_qmp *q = NULL;
	struct json_object *greeting = NULL;
	int fd = -1;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return xo_errf(e, XO_E_INVALID, "QMP socket path '%s' is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xo_err_sys(e, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		return xo_err_sys(e, err, "cannot connect to QMP socket '%s'", path);
	}
	q = xcalloc(1, sizeof(*q));
	q->fd = fd;
	q->path = xstrdup(path);
	int r = read_message(q, deadline, &greeting, e);
	if (r == -2)
		xo_errf(e, XO_E_SYSTEM, "QMP socket '%s': qemu closed the connection before its greeting",
			path);
	if (r < 0)
		goto fail;
	if (!json_object_object_get_ex(greeting, "QMP", NULL)) {
		xo_errf(e, XO_E_SYSTEM, "QMP socket '%s': no QMP greeting (is it a QMP socket?)", path);
		goto fail;
	}
	json_object_put(greeting);
	greeting = NULL;
	if (xo_qmp_execute(q, "qmp_capabilities", NULL, NULL, time_left(deadline), e) < 0)
		goto fail;
	*out = q;
	return 0;
fail:
	json_object_put(greeting);
	xo_qmp_close(q);
	return -1;
}

void xo_qmp_close(struct xo_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	xo_buf_free(&q->in);
	if (q->events)
		json_object_put(q->events);
	free(q->path);
	free(q);
}
