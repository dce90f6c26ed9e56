/*
 * xs.c: xenstore helpers (see xs.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

#include "wait.h"
#include "util.h"
#include "xs.h"

struct xo_xs_perms xo_xs_perm_dom0(void)
{
	struct xo_xs_perms p = { .owner = 0, .other = 'n', .n_acl = 0 };
	return p;
}

struct xo_xs_perms xo_xs_perm_ro(unsigned d)
{
	return xo_xs_perm_owner_reader(0, d);
}

struct xo_xs_perms xo_xs_perm_rw(unsigned d)
{
	struct xo_xs_perms p = { .owner = d, .other = 'n', .n_acl = 0 };
	return p;
}

struct xo_xs_perms xo_xs_perm_owner_reader(unsigned owner, unsigned reader)
{
	struct xo_xs_perms p = { .owner = owner, .other = 'n', .n_acl = 1 };
	p.acl_dom[0] = reader;
	p.acl_perm[0] = 'r';
	return p;
}

static unsigned perm_bits(char c)
{
	switch (c) {
	case 'r': return XS_PERM_READ;
	case 'w': return XS_PERM_WRITE;
	case 'b': return XS_PERM_READ | XS_PERM_WRITE;
	default: return XS_PERM_NONE;
	}
}

/* ---------------------------------------------------------------- pipelined transactions */

/* A transaction's writes, recorded instead of sent (see xo_xs_transaction) */
struct xs_op {
	uint32_t type;
	char *msg;          /* payload */
	unsigned len;
	bool enoent_ok;     /* rm: absent is success */
};

static struct {
	bool on;            /* recording: t == XO_XS_RECORD_T */
	bool read;          /* the function read something: it needs a real transaction */
	struct xs_op *ops;
	size_t n, cap;
} rec;

#define XO_XS_RECORD_T ((xs_transaction_t)0xfffffffeu)

static bool recording(xs_transaction_t t)
{
	return rec.on && t == XO_XS_RECORD_T;
}

static void rec_add(uint32_t type, const char *path, const void *data, unsigned dlen, bool enoent_ok)
{
	size_t pl = strlen(path) + 1;
	if (rec.n == rec.cap) {
		rec.cap = rec.cap ? 2 * rec.cap : 64;
		rec.ops = xrealloc(rec.ops, rec.cap * sizeof(*rec.ops));
	}
	struct xs_op *o = &rec.ops[rec.n++];
	o->type = type;
	o->len = (unsigned)(pl + dlen);
	o->msg = xmalloc(o->len ? o->len : 1);
	memcpy(o->msg, path, pl);
	if (dlen)
		memcpy(o->msg + pl, data, dlen);
	o->enoent_ok = enoent_ok;
}

static void rec_reset(void)
{
	for (size_t i = 0; i < rec.n; i++)
		free(rec.ops[i].msg);
	rec.n = 0;
	rec.on = rec.read = false;
}

/* a read inside a recorded transaction: give up recording, the function runs again for real */
static bool rec_read(xs_transaction_t t)
{
	if (!recording(t))
		return false;
	rec.read = true;
	errno = ENOENT;
	return true;
}

/* The batch goes to xenstored over a connection of our own, all of it before any reply
 * is read (libxenstore waits for each reply before it sends the next request). Only a
 * daemon's socket will do; without one (xenstored in a stub domain, /dev/xen/xenbus)
 * the transaction runs through libxenstore. The connection is per process: a child
 * never uses its parent's. */
unsigned long xo_xs_batched;
static int raw_fd = -1;
static unsigned raw_gen, raw_refused_gen;
static uint64_t raw_refused_until;

/* replies are read a socketful at a time: a batch's replies come together */
static struct {
	char buf[8192];
	size_t len, off;
} rin;

void xo_xs_forget(void)
{
	raw_fd = -1;
	rin.len = rin.off = 0;
}

static void raw_drop(void)
{
	if (raw_fd >= 0)
		close(raw_fd);
	xo_xs_forget();
}

static int raw_open(void)
{
	const char *path = getenv("XENSTORED_PATH"), *dir = getenv("XENSTORED_RUNDIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (raw_fd >= 0 && raw_gen == xo_fork_gen())
		return raw_fd;
	raw_drop();   /* the parent's, if any: its copy stays open */
	/* no socket a moment ago: libxenstore for a second before trying again */
	if (raw_refused_gen == xo_fork_gen() && xo_now_ms() < raw_refused_until)
		return -1;
	if (path && *path)
		xo_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	else
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket",
			 dir && *dir ? dir : "/var/run/xenstored");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		raw_refused_gen = xo_fork_gen();
		raw_refused_until = xo_now_ms() + 1000;
		return -1;
	}
	raw_fd = fd;
	raw_gen = xo_fork_gen();
	return fd;
}

static int raw_read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n) {
		if (rin.off == rin.len) {
			ssize_t r = read(fd, rin.buf, sizeof(rin.buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
			rin.off = 0;
			rin.len = (size_t)r;
		}
		size_t k = rin.len - rin.off < n ? rin.len - rin.off : n;
		memcpy(p, rin.buf + rin.off, k);
		rin.off += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* the payload of the last reply, NUL-terminated */
static char raw_buf[XENSTORE_PAYLOAD_MAX + 1];

/* one reply: its header in h, its payload in raw_buf */
static int raw_reply(int fd, struct xsd_sockmsg *h)
{
	if (raw_read_all(fd, h, sizeof(*h)) < 0 || h->len > XENSTORE_PAYLOAD_MAX ||
	    raw_read_all(fd, raw_buf, h->len) < 0 || h->type == XS_WATCH_EVENT)
		return -1;
	raw_buf[h->len] = '\0';
	return 0;
}

/* the errno a XS_ERROR reply names */
static int raw_errno(const char *name)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (strcmp(xsd_errors[i].errstring, name) == 0)
			return xsd_errors[i].errnum;
	return EIO;
}

static int raw_send(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* one request (payload: path with its NUL, then dlen bytes of data) and its reply, in h
 * and raw_buf; -1 if the connection failed */
static int raw_request(int fd, uint32_t type, uint32_t tx, const char *path, const void *data,
		       unsigned dlen, struct xsd_sockmsg *h)
{
	size_t pl = strlen(path) + 1;
	struct xsd_sockmsg q = { .type = type, .tx_id = tx, .len = (uint32_t)(pl + dlen) };
	struct iovec iov[3] = { { &q, sizeof(q) }, { (void *)path, pl }, { (void *)data, dlen } };
	return raw_send(fd, iov, dlen ? 3 : 2) < 0 || raw_reply(fd, h) < 0 ? -1 : 0;
}

/* One request outside a transaction over the same connection: a single writev and
 * usually a single read, where libxenstore takes two writes, two reads and two
 * sigactions. 0: the reply is in raw_buf (*rlen bytes); -1: the daemon refused it
 * (errno set); -2: no connection, use libxenstore. */
unsigned long xo_xs_direct;

static int raw_call(uint32_t type, const char *path, const void *data, unsigned dlen,
		    unsigned *rlen)
{
	struct xsd_sockmsg h;
	int fd;

	if (strlen(path) + 1 + dlen > XENSTORE_PAYLOAD_MAX || (fd = raw_open()) < 0)
		return -2;
	if (raw_request(fd, type, 0, path, data, dlen, &h) < 0) {
		raw_drop();
		return -2;
	}
	xo_xs_direct++;
	if (h.type == XS_ERROR) {
		errno = raw_errno(raw_buf);
		return -1;
	}
	if (rlen)
		*rlen = h.len;
	return 0;
}

static const char *op_name(uint32_t type)
{
	switch (type) {
	case XS_WRITE: return "write";
	case XS_MKDIR: return "mkdir";
	case XS_SET_PERMS: return "set-perms";
	case XS_RM: return "rm";
	default: return "request";
	}
}

/* the recorded batch in one transaction: 0 committed, 1 conflict (run it again),
 * -1 failed (e set), -2 no connection (use libxenstore) */
#define RAW_CHUNK 32
static int raw_commit(const struct xs_op *ops, size_t n, xo_err *e)
{
	struct xsd_sockmsg h, q[RAW_CHUNK];
	struct iovec iov[2 * RAW_CHUNK];
	int fd = raw_open(), err = 0;
	size_t bad = 0;

	if (fd < 0)
		return -2;
	if (raw_request(fd, XS_TRANSACTION_START, 0, "", NULL, 0, &h) < 0)
		goto io;
	if (h.type == XS_ERROR) {
		err = raw_errno(raw_buf);
		return err == EAGAIN ? 1 : xo_err_sys(e, err, "xenstore transaction start");
	}
	uint32_t tx = (uint32_t)strtoul(raw_buf, NULL, 10);
	for (size_t i = 0; i < n;) {
		size_t k = 0;
		for (; k < RAW_CHUNK && i + k < n; k++) {
			const struct xs_op *o = &ops[i + k];
			q[k] = (struct xsd_sockmsg){ .type = o->type, .req_id = (uint32_t)(i + k + 1),
						     .tx_id = tx, .len = o->len };
			iov[2 * k] = (struct iovec){ &q[k], sizeof(q[k]) };
			iov[2 * k + 1] = (struct iovec){ o->msg, o->len };
		}
		if (raw_send(fd, iov, (int)(2 * k)) < 0)
			goto io;
		for (size_t j = 0; j < k; j++) {
			if (raw_reply(fd, &h) < 0)
				goto io;
			if (h.type != XS_ERROR || err)
				continue;
			int x = raw_errno(raw_buf);
			if (!(x == ENOENT && ops[i + j].enoent_ok)) {
				err = x;
				bad = i + j;
			}
		}
		i += k;
	}
	if (raw_request(fd, XS_TRANSACTION_END, tx, err ? "F" : "T", NULL, 0, &h) < 0)
		goto io;
	if (err == EAGAIN)
		return 1;
	if (err)
		return xo_err_sys(e, err, "xenstore %s '%s'", op_name(ops[bad].type),
				  ops[bad].msg);
	if (h.type == XS_ERROR) {
		err = raw_errno(raw_buf);
		return err == EAGAIN ? 1 : xo_err_sys(e, err, "xenstore transaction commit");
	}
	return 0;
io:
	raw_drop();
	return -2;
}

char *xo_xs_read(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned len;
	if (rec_read(t))
		return NULL;
	if (t == XBT_NULL) {
		int r = raw_call(XS_READ, path, NULL, 0, &len);
		if (r == 0)
			return xstrdup(raw_buf);
		if (r == -1)
			return NULL;
	}
	return xs_read(xs, t, path, &len);
}

bool xo_xs_read_buf(struct xs_handle *xs, xs_transaction_t t, const char *path, char *buf,
		    size_t size)
{
	char *v = xo_xs_read(xs, t, path);
	if (!v) {
		if (size)
			buf[0] = '\0';
		return false;
	}
	xo_strlcpy(buf, v, size);
	free(v);
	return true;
}

bool xo_xs_exists(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	char *v = xo_xs_read(xs, t, path);
	free(v);
	return v != NULL;
}

static int xs_fail(xo_err *e, const char *op, const char *path)
{
	int err = errno ? errno : EIO;
	if (err == EAGAIN)
		return xo_errf(e, XO_E_SYSTEM, "xenstore %s '%s': transaction conflict", op, path);
	return xo_err_sys(e, err, "xenstore %s '%s'", op, path);
}

int xo_xs_write(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *value,
		xo_err *e)
{
	unsigned len = (unsigned)strlen(value);
	if (recording(t)) {
		rec_add(XS_WRITE, path, value, len, false);
		return 0;
	}
	int r = t == XBT_NULL ? raw_call(XS_WRITE, path, value, len, NULL) : -2;
	if (r == -1 || (r == -2 && !xs_write(xs, t, path, value, len)))
		return xs_fail(e, "write", path);
	return 0;
}

int xo_xs_printf(struct xs_handle *xs, xs_transaction_t t, const char *path, xo_err *e,
		 const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return xo_xs_write(xs, t, path, buf, e);
}

int xo_xs_set_perms(struct xs_handle *xs, xs_transaction_t t, const char *path,
		    const struct xo_xs_perms *p, xo_err *e)
{
	struct xs_permissions perms[1 + XO_XS_ACL_MAX];
	unsigned n = 0;

	if (recording(t) || t == XBT_NULL) {
		/* the wire form: "<perm><domid>\0" for the owner (with everyone's perm), then each */
		char buf[(1 + XO_XS_ACL_MAX) * 16];
		unsigned len = 0;
		len += (unsigned)snprintf(buf, sizeof(buf), "%c%u", p->other, p->owner) + 1;
		for (int i = 0; i < p->n_acl && i < XO_XS_ACL_MAX; i++)
			len += (unsigned)snprintf(buf + len, sizeof(buf) - len, "%c%u", p->acl_perm[i],
						  p->acl_dom[i]) + 1;
		if (recording(t)) {
			rec_add(XS_SET_PERMS, path, buf, len, false);
			return 0;
		}
		int r = raw_call(XS_SET_PERMS, path, buf, len, NULL);
		if (r == 0)
			return 0;
		if (r == -1)
			return xs_fail(e, "set-perms", path);
	}
	perms[n].id = p->owner;
	perms[n].perms = perm_bits(p->other);
	n++;
	for (int i = 0; i < p->n_acl && i < XO_XS_ACL_MAX; i++) {
		perms[n].id = p->acl_dom[i];
		perms[n].perms = perm_bits(p->acl_perm[i]);
		n++;
	}
	if (!xs_set_permissions(xs, t, path, perms, n))
		return xs_fail(e, "set-perms", path);
	return 0;
}

int xo_xs_mkdir(struct xs_handle *xs, xs_transaction_t t, const char *path,
		const struct xo_xs_perms *p, xo_err *e)
{
	if (recording(t)) {
		rec_add(XS_MKDIR, path, NULL, 0, false);
	} else {
		int r = t == XBT_NULL ? raw_call(XS_MKDIR, path, NULL, 0, NULL) : -2;
		if (r == -1 || (r == -2 && !xs_mkdir(xs, t, path)))
			return xs_fail(e, "mkdir", path);
	}
	return p ? xo_xs_set_perms(xs, t, path, p, e) : 0;
}

int xo_xs_rm(struct xs_handle *xs, xs_transaction_t t, const char *path, xo_err *e)
{
	if (recording(t)) {
		rec_add(XS_RM, path, NULL, 0, true);
		return 0;
	}
	int r = t == XBT_NULL ? raw_call(XS_RM, path, NULL, 0, NULL) : -2;
	if ((r == -1 || (r == -2 && !xs_rm(xs, t, path))) && errno != ENOENT)
		return xs_fail(e, "rm", path);
	return 0;
}

char **xo_xs_ls(struct xs_handle *xs, xs_transaction_t t, const char *path, unsigned *n)
{
	if (rec_read(t)) {
		*n = 0;
		return NULL;
	}
	unsigned len;
	int r = t == XBT_NULL ? raw_call(XS_DIRECTORY, path, NULL, 0, &len) : -2;
	if (r == 0) {
		/* libxenstore's shape: the vector, then the names, in one allocation */
		unsigned k = 0;
		for (unsigned i = 0; i < len; i++)
			k += raw_buf[i] == '\0';
		char **v = xmalloc((k + 1) * sizeof(char *) + len + 1);
		char *names = (char *)(v + k + 1);
		memcpy(names, raw_buf, len + 1);
		for (unsigned i = 0, j = 0; j < k; j++) {
			v[j] = names + i;
			i += (unsigned)strlen(names + i) + 1;
		}
		v[k] = NULL;
		*n = k;
		return v;
	}
	if (r == -1 && errno != E2BIG) {   /* E2BIG: libxenstore reads it in parts */
		*n = 0;
		return NULL;
	}
	char **v = xs_directory(xs, t, path, n);
	if (!v)
		*n = 0;
	return v;
}

int xo_xs_transaction(struct xs_handle *xs,
		      int (*fn)(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e),
		      void *arg, xo_err *e)
{
	/* a function that only writes is recorded and sent as one batch: the requests of a
	 * transaction need no replies before the commit. One that reads runs as it is. */
	for (int attempt = 0; attempt < 1000; attempt++) {
		rec_reset();
		rec.on = true;
		int r = fn(xs, XO_XS_RECORD_T, arg, e);
		bool read = rec.read;
		rec.on = false;
		if (read)
			break;
		if (r < 0) {
			rec_reset();
			return -1;
		}
		int c = raw_commit(rec.ops, rec.n, e);
		rec_reset();
		if (c == 0)
			xo_xs_batched++;
		if (c == 0 || c == -1)
			return c;
		if (c == -2)
			break;
	}
	rec_reset();
	for (int attempt = 0; attempt < 1000; attempt++) {
		xs_transaction_t t = xs_transaction_start(xs);
		if (t == XBT_NULL)
			return xo_err_sys(e, errno, "xenstore transaction start");
		if (fn(xs, t, arg, e) < 0) {
			int saved = errno;
			xs_transaction_end(xs, t, true);
			if (saved == EAGAIN)
				continue;   /* a read inside saw the conflict early */
			return -1;
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return xo_err_sys(e, errno, "xenstore transaction commit");
	}
	return xo_errf(e, XO_E_SYSTEM, "xenstore transaction: too many conflicts");
}

static unsigned long wait_counter;

struct xs_wait_arg {
	struct xs_handle *xs;
	const struct xo_xs_wait *w;
};

static int xs_cond(void *arg, xo_err *e)
{
	struct xs_wait_arg *a = arg;
	return a->w->cond(a->xs, a->w->arg, e);
}

static void xs_drain(void *arg, int fd)
{
	struct xs_wait_arg *a = arg;

	/* events of earlier waits on this handle are simply dropped */
	if (fd != xs_fileno(a->xs))
		return;
	for (char **ev; (ev = xs_check_watch(a->xs)) != NULL;)
		free(ev);
}

int xo_xs_wait(struct xs_handle *xs, const struct xo_xs_wait *w, xo_err *e)
{
	char token[64];
	int n = 0, r;

	/* most conditions already hold: no watch round trips then */
	if (!xo_cancel_requested(w->cancel)) {
		int c = w->cond(xs, w->arg, e);
		if (c != 0)
			return c > 0 ? 0 : -1;
	}
	snprintf(token, sizeof(token), "xo-wait-%d-%lu", (int)getpid(), ++wait_counter);
	for (; n < 8 && w->paths[n]; n++) {
		if (!xs_watch(xs, w->paths[n], token)) {
			xo_err_sys(e, errno, "xenstore watch '%s'", w->paths[n]);
			for (int j = 0; j < n; j++)
				xs_unwatch(xs, w->paths[j], token);
			return -1;
		}
	}
	struct xs_wait_arg a = { xs, w };
	struct xo_wait ww = XO_WAIT_INIT;
	ww.cond = xs_cond;
	ww.arg = &a;
	ww.fds[0] = xs_fileno(xs);
	ww.fds[1] = w->extra_fd;
	ww.drain = xs_drain;
	ww.timeout_ms = w->timeout_ms;
	ww.timeout_cls = w->timeout_cls ? w->timeout_cls : XO_E_DEVICE_TIMEOUT;
	ww.what = w->what ? w->what : "xenstore";
	ww.cancel = w->cancel;
	r = xo_wait(&ww, e);
	for (int i = 0; i < n; i++)
		xs_unwatch(xs, w->paths[i], token);
	return r;
}
