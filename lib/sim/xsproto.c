/*
 * xsproto.c: the xenstored wire protocol on unix sockets.
 *
 * $XO_STATE_DIR/sim/xenstored.sock is dom0's xenstored socket: its
 * connections are privileged (libxenstore with XENSTORED_PATH, Debian's
 * xenstore-* tools). domain/<N>.sock exists while domain N is introduced:
 * a connection there is guest N, unprivileged, its relative paths resolved
 * against /local/domain/<N>, its permissions and quotas enforced. Releasing
 * or destroying the domain closes its connections and removes the socket.
 *
 * Messages are struct xsd_sockmsg (xs_wire.h) followed by at most
 * XENSTORE_PAYLOAD_MAX bytes. Requests are handled in order and answered
 * with the same type, req_id and tx_id, or XS_ERROR and the errno name.
 * Watch events (XS_WATCH_EVENT, "path\0token\0") are queued on the
 * connection's output as they happen, so they precede the reply of the
 * request that caused them, as with the C xenstored.
 *
 * Bad input, as the C xenstored answers it: an unknown type is ENOSYS; a
 * malformed payload (missing NUL, wrong number of strings), an invalid path
 * (characters outside [A-Za-z0-9/_@-], "//", a trailing "/", longer than
 * XENSTORE_ABS_PATH_MAX, or longer than XENSTORE_REL_PATH_MAX below
 * /local/domain/<N>/ for a guest) is EINVAL; a reply that would exceed the
 * payload limit is E2BIG (libxenstore then falls back to DIRECTORY_PART);
 * too many watches is E2BIG, too many transactions ENOSPC; a message whose
 * header announces more than XENSTORE_PAYLOAD_MAX bytes cannot be skipped
 * safely, so the connection gets an E2BIG error and is closed, as the C
 * daemon drops such a client. Nothing a client sends stops the service for
 * the others.
 *
 * Output waits in each connection's buffer until the client reads it. The
 * buffers of all connections together may hold at most --output-max bytes
 * (sim_cfg.output_max, 64 MiB by default; counted as allocated): past it,
 * the connection with the most unread output among those whose socket is
 * full (the client does not read) is dropped, then the next, until the
 * total is below the limit again; when no socket is full, the one with the
 * most waiting output goes. A buffer emptied is freed when it had grown
 * past 64 KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

#include "sim.h"

#define IN_MAX (2 * (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX))
#define OUT_KEEP (64u << 10)
#define DOMID_SELF 0x7FF0u

struct conntx {
	struct conntx *next;
	uint32_t id;
	struct sim_tx *tx;
};

struct listener {
	int fd;
	struct sim_fd *reg;
	uint32_t domid;
	char *path;
};

struct sim_conn {
	int fd;
	struct sim_fd *reg;
	struct sim_who who;
	struct sim_conn *next, *prev;           /* all connections */
	struct sim_conn *dnext, *dprev;         /* the connections of one domain */
	struct sim_conn *dirty_next;
	bool dirty, closing, epollout;
	pid_t pid;                              /* the client, for the log */
	struct sim_task close_task;
	struct xo_buf out;
	size_t outoff;
	struct sim_watch_list watches;
	struct conntx *txs;
	unsigned ntx;
	uint32_t next_txid;
	size_t inlen;
	char in[IN_MAX];
};

struct xsdom {
	uint32_t domid;
	bool introduced, shutdown_seen;
	int32_t target;
	struct listener *lis;
	struct sim_conn *conns;
};

static struct listener *dom0_lis;
static struct sim_conn *conns, *dirty;
static size_t out_total;                        /* the output buffers' sizes, added up */
static struct xsdom *doms[SIM_DOMID_MAX];
static struct sim_permset *special_intro, *special_release;

static void conn_free(struct sim_conn *c);

const struct sim_who *sim_conn_who(const struct sim_conn *c)
{
	return &c->who;
}

const struct sim_permset *sim_xs_special_perms(const char *name)
{
	if (strcmp(name, "@introduceDomain") == 0)
		return special_intro;
	if (strcmp(name, "@releaseDomain") == 0)
		return special_release;
	return NULL;
}

static void fire_special(const char *name)
{
	sim_watch_fire(name, true, sim_xs_special_perms(name), NULL);
}

/* ---- output -------------------------------------------------------------------------------- */

static void mark_dirty(struct sim_conn *c)
{
	if (c->dirty || c->closing)
		return;
	c->dirty = true;
	c->dirty_next = dirty;
	dirty = c;
}

static void conn_close_later(struct sim_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	sim_task_schedule(&c->close_task);
}

static void out_free(struct sim_conn *c)
{
	out_total -= c->out.cap;
	xo_buf_free(&c->out);
	c->outoff = 0;
}

/* over the limit: drop the laziest connections until under it */
static void out_limit(void)
{
	while (out_total > sim_cfg.output_max) {
		struct sim_conn *worst = NULL;
		for (struct sim_conn *i = conns; i; i = i->next) {
			if (i->closing || i->out.len == i->outoff)
				continue;
			if (!worst || (i->epollout && !worst->epollout) ||
			    (i->epollout == worst->epollout &&
			     i->out.len - i->outoff > worst->out.len - worst->outoff))
				worst = i;
		}
		if (!worst)
			return;
		sim_log("connection of domain %u (pid %d) does not read its output: dropping it with "
			"%zu bytes unread (all connections hold %zu bytes, the limit is %zu)",
			worst->who.domid, (int)worst->pid, worst->out.len - worst->outoff, out_total,
			sim_cfg.output_max);
		out_free(worst);
		conn_close_later(worst);
	}
}

static void queue_msg(struct sim_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		      const void *data, size_t len)
{
	struct xsd_sockmsg h = { type, req_id, tx_id, (uint32_t)len };
	size_t cap = c->out.cap;

	if (c->closing)
		return;
	xo_buf_add(&c->out, &h, sizeof(h));
	if (len)
		xo_buf_add(&c->out, data, len);
	out_total += c->out.cap - cap;
	mark_dirty(c);
	if (c->out.cap > cap)
		out_limit();
}

void sim_xs_send_event(struct sim_conn *c, const char *path, const char *token)
{
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
	char buf[2 * XENSTORE_PAYLOAD_MAX];

	if (pl + tl > XENSTORE_PAYLOAD_MAX)
		return;
	memcpy(buf, path, pl);
	memcpy(buf + pl, token, tl);
	queue_msg(c, XS_WATCH_EVENT, 0, 0, buf, pl + tl);
}

static void conn_flush(struct sim_conn *c)
{
	while (c->outoff < c->out.len) {
		ssize_t n = send(c->fd, c->out.s + c->outoff, c->out.len - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!c->epollout) {
					c->epollout = true;
					sim_loop_mod(c->reg, EPOLLIN | EPOLLOUT);
				}
				/* what was sent is room for what comes */
				if (c->outoff > c->out.len / 2) {
					memmove(c->out.s, c->out.s + c->outoff, c->out.len - c->outoff);
					c->out.len -= c->outoff;
					c->outoff = 0;
				}
				return;
			}
			conn_close_later(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	xo_buf_reset(&c->out);
	c->outoff = 0;
	if (c->out.cap > OUT_KEEP)
		out_free(c);
	if (c->epollout) {
		c->epollout = false;
		sim_loop_mod(c->reg, EPOLLIN);
	}
}

void sim_xs_flush_all(void)
{
	while (dirty) {
		struct sim_conn *c = dirty;
		dirty = c->dirty_next;
		c->dirty = false;
		if (!c->closing)
			conn_flush(c);
	}
}

static void reply(struct sim_conn *c, const struct xsd_sockmsg *h, const void *data, size_t len)
{
	static const char e2big[] = "E2BIG";

	if (len > XENSTORE_PAYLOAD_MAX) {
		queue_msg(c, XS_ERROR, h->req_id, h->tx_id, e2big, sizeof(e2big));
		return;
	}
	queue_msg(c, h->type, h->req_id, h->tx_id, data, len);
}

static void reply_str(struct sim_conn *c, const struct xsd_sockmsg *h, const char *s)
{
	reply(c, h, s, strlen(s) + 1);
}

static void reply_error(struct sim_conn *c, const struct xsd_sockmsg *h, int err)
{
	const char *name = "EINVAL";

	for (size_t i = 0; i < XO_ARRAY_SIZE(xsd_errors); i++)
		if (xsd_errors[i].errnum == err) {
			name = xsd_errors[i].errstring;
			break;
		}
	queue_msg(c, XS_ERROR, h->req_id, h->tx_id, name, strlen(name) + 1);
}

/* ---- payload parsing ---------------------------------------------------------------------- */

/* the payload is exactly one NUL-terminated string */
static const char *onearg(const char *p, uint32_t len)
{
	if (len == 0 || memchr(p, '\0', len) != p + len - 1)
		return NULL;
	return p;
}

/* split into NUL-terminated strings; returns how many (all must be terminated) */
static unsigned strings(const char *p, uint32_t len, const char **v, unsigned max, bool *ok)
{
	unsigned n = 0;
	uint32_t off = 0;

	*ok = true;
	while (off < len) {
		const char *nul = memchr(p + off, '\0', len - off);
		if (!nul) {
			*ok = false;
			break;
		}
		if (n < max)
			v[n] = p + off;
		n++;
		off = (uint32_t)(nul - p) + 1;
	}
	return n;
}

static bool valid_chars(const char *s)
{
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '/' || ch == '_' || ch == '@'))
			return false;
	}
	return true;
}

/* the canonical absolute path of a request, or an errno */
static int canonicalize(const struct sim_conn *c, const char *in, bool allow_special, char *out,
			size_t size, bool *relative)
{
	size_t len;
	unsigned domid;
	int off = 0;

	if (!in || !valid_chars(in) || (in[0] == '@' && !allow_special))
		return EINVAL;
	if (in[0] == '@') {
		if (strlen(in) >= size)
			return EINVAL;
		xo_strlcpy(out, in, size);
		if (relative)
			*relative = false;
		return 0;
	}
	if (in[0] != '/')
		len = (size_t)snprintf(out, size, "/local/domain/%u/%s", c->who.domid, in);
	else
		len = xo_strlcpy(out, in, size);
	if (relative)
		*relative = in[0] != '/';
	if (len >= size || len > XENSTORE_ABS_PATH_MAX)
		return EINVAL;
	if ((len > 1 && out[len - 1] == '/') || strstr(out, "//"))
		return EINVAL;
	if (sscanf(out, "/local/domain/%5u/%n", &domid, &off) != 1)
		off = 0;
	if (!c->who.priv && len - (size_t)off > XENSTORE_REL_PATH_MAX)
		return EINVAL;
	return 0;
}

static struct conntx *tx_find(struct sim_conn *c, uint32_t id)
{
	for (struct conntx *t = c->txs; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static void tx_drop(struct sim_conn *c, struct conntx *t, bool commit, int *result)
{
	struct conntx **pp = &c->txs;

	while (*pp != t)
		pp = &(*pp)->next;
	*pp = t->next;
	c->ntx--;
	int r = sim_tx_end(t->tx, commit);
	if (result)
		*result = r;
	free(t);
}

static void drop_all_tx(struct sim_conn *c)
{
	while (c->txs)
		tx_drop(c, c->txs, false, NULL);
}

/* ---- domains ------------------------------------------------------------------------------ */

static struct xsdom *xsdom_get(uint32_t domid)
{
	if (domid >= SIM_DOMID_MAX)
		return NULL;
	if (!doms[domid]) {
		doms[domid] = xcalloc(1, sizeof(struct xsdom));
		doms[domid]->domid = domid;
		doms[domid]->target = -1;
	}
	return doms[domid];
}

bool sim_xs_introduced(uint32_t domid)
{
	return domid < SIM_DOMID_MAX && doms[domid] && doms[domid]->introduced;
}

static void on_accept(void *arg, uint32_t events);

static struct listener *listen_at(const char *path, uint32_t domid, int *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct listener *l;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*err = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		*err = errno;
		close(fd);
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	l->domid = domid;
	l->path = xstrdup(path);
	l->reg = sim_loop_add(fd, EPOLLIN, on_accept, l);
	if (!l->reg) {
		*err = errno;
		close(fd);
		unlink(path);
		free(l->path);
		free(l);
		return NULL;
	}
	return l;
}

static void listener_close(struct listener *l)
{
	if (!l)
		return;
	unlink(l->path);
	sim_loop_del(l->reg);
	close(l->fd);
	free(l->path);
	free(l);
}

int sim_xs_introduce(uint32_t domid)
{
	struct sim_dom *d = sim_hv_dom(domid);
	struct xsdom *x;
	char *path;
	int err = 0;

	if (domid == 0)
		return 0;
	if (!d || domid >= SIM_DOMID_MAX)
		return EINVAL;
	x = xsdom_get(domid);
	if (x->introduced)
		return 0;
	path = xasprintf("%s/domain/%u.sock", sim_cfg.dir, domid);
	x->lis = listen_at(path, domid, &err);
	free(path);
	if (!x->lis) {
		sim_log("introduce of domain %u: unable to listen on its socket: %s", domid, strerror(err));
		return err == EMFILE || err == ENFILE ? ENOSPC : EIO;
	}
	x->introduced = true;
	x->shutdown_seen = false;
	sim_log("domain %u introduced", domid);
	fire_special("@introduceDomain");
	return 0;
}

void sim_xs_domain_shutdown(uint32_t domid)
{
	struct xsdom *x = domid < SIM_DOMID_MAX ? doms[domid] : NULL;

	if (!x || !x->introduced || x->shutdown_seen)
		return;
	x->shutdown_seen = true;
	fire_special("@releaseDomain");
}

/* the domain's xenstore side goes away: connections, socket, owned nodes */
static void domain_release(uint32_t domid)
{
	struct xsdom *x = domid < SIM_DOMID_MAX ? doms[domid] : NULL;
	bool was = x && x->introduced;

	if (x) {
		for (struct sim_conn *c = x->conns; c; c = c->dnext)
			sim_watch_del_all(&c->watches);
		while (x->conns)
			conn_free(x->conns);
		listener_close(x->lis);
		x->lis = NULL;
		x->introduced = false;
	}
	sim_st_remove_owned(domid);
	if (was) {
		sim_log("domain %u released", domid);
		fire_special("@releaseDomain");
	}
	if (x) {
		doms[domid] = NULL;
		free(x);
	}
}

void sim_xs_domain_destroyed(uint32_t domid)
{
	domain_release(domid);
}

/* ---- requests ----------------------------------------------------------------------------- */

static void do_control(struct sim_conn *c, const struct xsd_sockmsg *h, const char *p)
{
	const char *v[2];
	bool ok;
	unsigned n = strings(p, h->len, v, 2, &ok);

	if (!ok || n < 1)
		return reply_error(c, h, EINVAL);
	if (strcmp(v[0], "print") == 0 && n == 2) {
		sim_log("xenstore-control print: %s", v[1]);
		return reply_str(c, h, "OK");
	}
	if (strcmp(v[0], "check") == 0)
		return reply_str(c, h, "OK");
	if (strcmp(v[0], "help") == 0)
		return reply_str(c, h, "Supported commands:\ncheck\nhelp\nprint <string>\n");
	reply_error(c, h, EINVAL);
}

static void do_watch(struct sim_conn *c, const struct xsd_sockmsg *h, const char *p, bool add)
{
	char path[XENSTORE_ABS_PATH_MAX + 64];
	const char *v[2];
	bool ok, rel;
	struct sim_watch *w;
	int r;

	if (strings(p, h->len, v, 2, &ok) != 2 || !ok)
		return reply_error(c, h, EINVAL);
	if ((r = canonicalize(c, v[0], true, path, sizeof(path), &rel)))
		return reply_error(c, h, r);
	w = sim_watch_find(c, path, v[1]);
	if (!add) {
		if (!w)
			return reply_error(c, h, ENOENT);
		sim_watch_del(w);
		return reply_str(c, h, "OK");
	}
	if (w)
		return reply_error(c, h, EEXIST);
	if (c->watches.count >= (c->who.priv ? SIM_DOM0_WATCHES : SIM_QUOTA_WATCHES))
		return reply_error(c, h, E2BIG);
	w = sim_watch_add_conn(c, &c->watches, path, v[1],
			       rel ? (unsigned)snprintf(NULL, 0, "/local/domain/%u/", c->who.domid) : 0);
	reply_str(c, h, "OK");
	sim_watch_fire_initial(w);
}

static int parse_domid(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!s || xo_parse_u64(s, &v) < 0 || v > UINT16_MAX)
		return EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static void do_introduce(struct sim_conn *c, const struct xsd_sockmsg *h, const char *p)
{
	const char *v[3];
	bool ok;
	uint32_t domid;
	uint64_t mfn, port;
	int r;

	if (strings(p, h->len, v, 3, &ok) < 3 || !ok)
		return reply_error(c, h, EINVAL);
	if (parse_domid(v[0], &domid) || xo_parse_u64(v[1], &mfn) < 0 ||
	    xo_parse_u64(v[2], &port) < 0 || port == 0 || port > UINT32_MAX)
		return reply_error(c, h, EINVAL);
	if ((r = sim_xs_introduce(domid)))
		return reply_error(c, h, r);
	reply_str(c, h, "OK");
}

static void do_domain_op(struct sim_conn *c, const struct xsd_sockmsg *h, const char *p)
{
	const char *arg = onearg(p, h->len);
	uint32_t domid;
	char buf[64];

	if (!arg || parse_domid(arg, &domid))
		return reply_error(c, h, EINVAL);
	switch (h->type) {
	case XS_GET_DOMAIN_PATH:
		snprintf(buf, sizeof(buf), "/local/domain/%u", domid);
		return reply_str(c, h, buf);
	case XS_IS_DOMAIN_INTRODUCED:
		return reply(c, h, domid == DOMID_SELF || domid == 0 || sim_xs_introduced(domid) ? "T" : "F",
			     2);
	case XS_RELEASE:
		if (domid == 0)
			return reply_error(c, h, EINVAL);
		if (!sim_xs_introduced(domid))
			return reply_error(c, h, ENOENT);
		domain_release(domid);
		return reply_str(c, h, "OK");
	case XS_RESUME:
		if (domid == 0)
			return reply_error(c, h, EINVAL);
		if (!sim_xs_introduced(domid))
			return reply_error(c, h, ENOENT);
		doms[domid]->shutdown_seen = false;
		return reply_str(c, h, "OK");
	}
}

static void do_set_target(struct sim_conn *c, const struct xsd_sockmsg *h, const char *p)
{
	const char *v[2];
	bool ok;
	uint32_t domid, target;

	if (strings(p, h->len, v, 2, &ok) < 2 || !ok || parse_domid(v[0], &domid) ||
	    parse_domid(v[1], &target))
		return reply_error(c, h, EINVAL);
	if (!sim_xs_introduced(domid) || !sim_xs_introduced(target))
		return reply_error(c, h, ENOENT);
	doms[domid]->target = (int32_t)target;
	for (struct sim_conn *i = doms[domid]->conns; i; i = i->dnext)
		i->who.target = (int32_t)target;
	reply_str(c, h, "OK");
}

static void do_perms(struct sim_conn *c, const struct xsd_sockmsg *h, const char *p,
		     struct sim_tx *tx)
{
	char path[XENSTORE_ABS_PATH_MAX + 64];
	struct xo_buf out = XO_BUF_INIT;
	struct sim_perm *perms = NULL;
	unsigned n = 0;
	int r;

	if (h->type == XS_GET_PERMS) {
		if ((r = canonicalize(c, onearg(p, h->len), true, path, sizeof(path), NULL)))
			return reply_error(c, h, r);
		if (path[0] == '@') {
			const struct sim_permset *ps = sim_xs_special_perms(path);
			if (!ps)
				return reply_error(c, h, ENOENT);
			if (!(sim_perm_for(&c->who, ps) & SIM_PERM_READ))
				return reply_error(c, h, EACCES);
			sim_permset_format(ps, &out);
		} else if ((r = sim_st_get_perms(&c->who, tx, path, &out))) {
			return reply_error(c, h, r);
		}
		reply(c, h, out.s, out.len);
		xo_buf_free(&out);
		return;
	}
	/* SET_PERMS: path, then permission strings */
	const char *nul = memchr(p, '\0', h->len);
	if (!nul)
		return reply_error(c, h, EINVAL);
	size_t off = (size_t)(nul - p) + 1;
	if (off >= h->len)
		return reply_error(c, h, EINVAL);
	if (!c->who.priv) {
		unsigned count = 0;
		for (size_t i = off; i < h->len; i++)
			count += p[i] == '\0';
		if (count > SIM_QUOTA_PERMS)
			return reply_error(c, h, ENOSPC);
	}
	if ((r = sim_perms_parse(p + off, h->len - off, &perms, &n)))
		return reply_error(c, h, r);
	r = canonicalize(c, p, true, path, sizeof(path), NULL);
	if (!r && path[0] == '@') {
		struct sim_permset **slot = strcmp(path, "@introduceDomain") == 0 ? &special_intro :
					    strcmp(path, "@releaseDomain") == 0 ? &special_release : NULL;
		if (!slot)
			r = ENOENT;
		else if (!(sim_perm_for(&c->who, *slot) & SIM_PERM_OWNER))
			r = EACCES;
		else if (!c->who.priv && perms[0].id != (*slot)->p[0].id)
			r = EPERM;
		else {
			sim_permset_put(*slot);
			*slot = sim_permset_get(perms, n);
		}
	} else if (!r) {
		r = sim_st_set_perms(&c->who, tx, path, perms, n);
	}
	free(perms);
	if (r)
		return reply_error(c, h, r);
	reply_str(c, h, "OK");
}

static void do_directory_part(struct sim_conn *c, const struct xsd_sockmsg *h, const char *p,
			      struct sim_tx *tx)
{
	char path[XENSTORE_ABS_PATH_MAX + 64], gen[32];
	struct xo_buf kids = XO_BUF_INIT, out = XO_BUF_INIT;
	const char *v[2];
	bool ok;
	uint64_t g, off;
	int r;

	if (strings(p, h->len, v, 2, &ok) != 2 || !ok || xo_parse_u64(v[1], &off) < 0)
		return reply_error(c, h, EINVAL);
	if ((r = canonicalize(c, v[0], false, path, sizeof(path), NULL)))
		return reply_error(c, h, r);
	if ((r = sim_st_dir(&c->who, tx, path, &kids, &g)))
		return reply_error(c, h, r);
	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)g);
	xo_buf_add(&out, gen, strlen(gen) + 1);
	if (off >= kids.len) {
		xo_buf_add(&out, "", 1);
	} else {
		size_t max = XENSTORE_PAYLOAD_MAX - out.len - 1, len = 0;
		const char *child = kids.s + off;
		while (off + len < kids.len && len + strlen(child) + 1 <= max) {
			len += strlen(child) + 1;
			child = kids.s + off + len;
		}
		if (len == 0) {
			xo_buf_free(&kids);
			xo_buf_free(&out);
			return reply_error(c, h, E2BIG);
		}
		xo_buf_add(&out, kids.s + off, len);
		if (off + len == kids.len)
			xo_buf_add(&out, "", 1);
	}
	reply(c, h, out.s, out.len);
	xo_buf_free(&kids);
	xo_buf_free(&out);
}

static void process(struct sim_conn *c, const struct xsd_sockmsg *h, const char *p)
{
	char path[XENSTORE_ABS_PATH_MAX + 64];
	struct sim_tx *tx = NULL;
	struct conntx *t = NULL;
	int r;
	bool priv_only = h->type == XS_CONTROL || h->type == XS_INTRODUCE || h->type == XS_RELEASE ||
			 h->type == XS_IS_DOMAIN_INTRODUCED || h->type == XS_RESUME ||
			 h->type == XS_SET_TARGET;

	if (h->type >= XS_TYPE_COUNT || h->type == XS_WATCH_EVENT || h->type == XS_ERROR ||
	    h->type == XS_SET_TARGET + 1)
		return reply_error(c, h, ENOSYS);
	if (priv_only && !c->who.priv)
		return reply_error(c, h, EACCES);
	if (h->type != XS_WATCH && h->type != XS_UNWATCH && h->tx_id) {
		t = tx_find(c, h->tx_id);
		if (!t)
			return reply_error(c, h, ENOENT);
		tx = t->tx;
	}

	switch (h->type) {
	case XS_CONTROL:
		return do_control(c, h, p);
	case XS_WATCH:
	case XS_UNWATCH:
		return do_watch(c, h, p, h->type == XS_WATCH);
	case XS_TRANSACTION_START: {
		char id[16];
		if (t)
			return reply_error(c, h, EBUSY);
		if (c->ntx >= (c->who.priv ? SIM_DOM0_TRANSACTIONS : SIM_QUOTA_TRANSACTIONS))
			return reply_error(c, h, ENOSPC);
		t = xcalloc(1, sizeof(*t));
		do
			t->id = ++c->next_txid;
		while (t->id == 0 || tx_find(c, t->id));
		t->tx = sim_tx_begin(&c->who);
		t->next = c->txs;
		c->txs = t;
		c->ntx++;
		snprintf(id, sizeof(id), "%u", t->id);
		return reply_str(c, h, id);
	}
	case XS_TRANSACTION_END: {
		const char *arg = onearg(p, h->len);
		if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
			return reply_error(c, h, EINVAL);
		if (!t)
			return reply_error(c, h, ENOENT);
		tx_drop(c, t, arg[0] == 'T', &r);
		if (r)
			return reply_error(c, h, r);
		return reply_str(c, h, "OK");
	}
	case XS_INTRODUCE:
		return do_introduce(c, h, p);
	case XS_RELEASE:
	case XS_GET_DOMAIN_PATH:
	case XS_IS_DOMAIN_INTRODUCED:
	case XS_RESUME:
		return do_domain_op(c, h, p);
	case XS_SET_TARGET:
		return do_set_target(c, h, p);
	case XS_RESET_WATCHES:
		sim_watch_del_all(&c->watches);
		drop_all_tx(c);
		return reply_str(c, h, "OK");
	case XS_GET_PERMS:
	case XS_SET_PERMS:
		return do_perms(c, h, p, tx);
	case XS_DIRECTORY_PART:
		return do_directory_part(c, h, p, tx);
	case XS_WRITE: {
		const char *nul = memchr(p, '\0', h->len);
		if (!nul)
			return reply_error(c, h, EINVAL);
		if ((r = canonicalize(c, p, false, path, sizeof(path), NULL)))
			return reply_error(c, h, r);
		size_t off = (size_t)(nul - p) + 1;
		r = sim_st_write(&c->who, tx, path, p + off, (unsigned)(h->len - off));
		return r ? reply_error(c, h, r) : reply_str(c, h, "OK");
	}
	}

	/* the one-path requests */
	if ((r = canonicalize(c, onearg(p, h->len), false, path, sizeof(path), NULL)))
		return reply_error(c, h, r);
	switch (h->type) {
	case XS_READ: {
		const char *data;
		unsigned len;
		if ((r = sim_st_read(&c->who, tx, path, &data, &len)))
			return reply_error(c, h, r);
		return reply(c, h, data, len);
	}
	case XS_DIRECTORY: {
		struct xo_buf out = XO_BUF_INIT;
		if ((r = sim_st_dir(&c->who, tx, path, &out, NULL)))
			return reply_error(c, h, r);
		reply(c, h, out.s, out.len);
		xo_buf_free(&out);
		return;
	}
	case XS_MKDIR:
		r = sim_st_mkdir(&c->who, tx, path);
		return r ? reply_error(c, h, r) : reply_str(c, h, "OK");
	case XS_RM:
		r = sim_st_rm(&c->who, tx, path);
		return r ? reply_error(c, h, r) : reply_str(c, h, "OK");
	}
	reply_error(c, h, ENOSYS);
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_free(struct sim_conn *c)
{
	struct xsdom *x = c->who.priv ? NULL : (c->who.domid < SIM_DOMID_MAX ? doms[c->who.domid] : NULL);

	sim_task_cancel(&c->close_task);
	sim_watch_del_all(&c->watches);
	drop_all_tx(c);
	if (c->dirty) {
		struct sim_conn **pp = &dirty;
		while (*pp != c)
			pp = &(*pp)->dirty_next;
		*pp = c->dirty_next;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (x) {
		if (c->dprev)
			c->dprev->dnext = c->dnext;
		else
			x->conns = c->dnext;
		if (c->dnext)
			c->dnext->dprev = c->dprev;
	}
	sim_loop_del(c->reg);
	close(c->fd);
	out_free(c);
	free(c);
}

static void close_task_run(struct sim_task *t)
{
	struct sim_conn *c = (struct sim_conn *)((char *)t - offsetof(struct sim_conn, close_task));
	conn_free(c);
}

static void on_conn(void *arg, uint32_t events)
{
	struct sim_conn *c = arg;

	if (c->closing)
		return;
	if (events & EPOLLOUT)
		conn_flush(c);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->inlen, IN_MAX - c->inlen, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close_later(c);
			return;
		}
		c->inlen += (size_t)n;
		size_t off = 0;
		while (!c->closing && c->inlen - off >= sizeof(struct xsd_sockmsg)) {
			struct xsd_sockmsg h;
			memcpy(&h, c->in + off, sizeof(h));
			if (h.len > XENSTORE_PAYLOAD_MAX) {
				sim_log("domain %u sent a %u-byte payload (limit %u): closing the connection",
					c->who.domid, h.len, XENSTORE_PAYLOAD_MAX);
				reply_error(c, &h, E2BIG);
				conn_flush(c);
				conn_close_later(c);
				return;
			}
			if (c->inlen - off < sizeof(h) + h.len)
				break;
			process(c, &h, c->in + off + sizeof(h));
			off += sizeof(h) + h.len;
		}
		if (off) {
			memmove(c->in, c->in + off, c->inlen - off);
			c->inlen -= off;
		}
		if (c->closing)
			return;
	}
}

static void on_accept(void *arg, uint32_t events)
{
	struct listener *l = arg;
	struct xsdom *x = l->domid ? doms[l->domid] : NULL;

	(void)events;
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				sim_loop_starved(l->reg, l->path, errno);
			else if (errno == EAGAIN)
				sim_loop_accepted(l->reg, l->path);
			else
				sim_log("accept on '%s' failed: %s", l->path, strerror(errno));
			return;
		}
		struct sim_conn *c = xcalloc(1, sizeof(*c));
		struct ucred cred;
		socklen_t credlen = sizeof(cred);
		c->fd = fd;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0)
			c->pid = cred.pid;
		c->who.domid = l->domid;
		c->who.priv = l->domid == 0;
		c->who.target = x ? x->target : -1;
		sim_task_init(&c->close_task, close_task_run);
		c->reg = sim_loop_add(fd, EPOLLIN, on_conn, c);
		if (!c->reg) {
			close(fd);
			free(c);
			continue;
		}
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		if (x) {
			c->dnext = x->conns;
			if (x->conns)
				x->conns->dprev = c;
			x->conns = c;
		}
	}
}

int sim_xs_init(xo_err *e)
{
	struct sim_perm p0 = { 0, SIM_PERM_NONE };
	char *path, *ddir;
	int err = 0;

	special_intro = sim_permset_get(&p0, 1);
	special_release = sim_permset_get(&p0, 1);
	ddir = sim_path("domain");
	if (mkdir(ddir, 0755) < 0 && errno != EEXIST) {
		free(ddir);
		return xo_err_sys(e, errno, "unable to create '%s/domain'", sim_cfg.dir);
	}
	free(ddir);
	path = sim_path("xenstored.sock");
	dom0_lis = listen_at(path, 0, &err);
	if (!dom0_lis) {
		xo_err_sys(e, err, "unable to listen on '%s'", path);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

void sim_xs_fini(void)
{
	for (uint32_t d = 1; d < SIM_DOMID_MAX; d++)
		if (doms[d]) {
			while (doms[d]->conns)
				conn_free(doms[d]->conns);
			listener_close(doms[d]->lis);
			free(doms[d]);
			doms[d] = NULL;
		}
	while (conns)
		conn_free(conns);
	listener_close(dom0_lis);
	dom0_lis = NULL;
}
