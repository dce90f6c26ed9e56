/* hvproto.c: the hv.sock protocol of xo-simd (see hvproto.h) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hvproto.h"

int xo_hv_connect(const char *sim_dir, struct xo_hv_conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hv.sock", sim_dir);

	c->len = 0;
	c->fd = -1;
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(c->fd);
		c->fd = -1;
		errno = err;
		return -1;
	}
	return 0;
}

void xo_hv_close(struct xo_hv_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* append the next line (without its newline) to out; -1 on EOF or error */
static int read_line(struct xo_hv_conn *c, struct xo_buf *out)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t l = (size_t)(nl - c->buf);
			xo_buf_add(out, c->buf, l);
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf)) {
			xo_buf_add(out, c->buf, c->len);
			c->len = 0;
		}
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		c->len += (size_t)n;
	}
}

int xo_hv_call(struct xo_hv_conn *c, const char *req, struct xo_buf *reply, xo_err *e)
{
	unsigned long count = 0;
	const char *p;

	xo_buf_reset(reply);
	if (xo_write_all(c->fd, req, strlen(req)) < 0 || xo_write_all(c->fd, "\n", 1) < 0)
		return xo_err_sys(e, errno, "unable to talk to the simulator");
	if (read_line(c, reply) < 0)
		return xo_err_sys(e, errno, "unable to read the simulator's reply");
	xo_buf_add(reply, "", 0);
	if (xo_str_startswith(reply->s, "error ")) {
		char *cls = reply->s + 6, *msg = strchr(cls, ' ');
		if (msg)
			*msg++ = '\0';
		return xo_errf(e, xo_ecls_from_name(cls), "%s", msg ? msg : "unknown error");
	}
	if (!xo_str_startswith(reply->s, "ok"))
		return xo_errf(e, XO_E_INTERNAL, "unexpected reply from the simulator: '%s'", reply->s);
	if ((p = strstr(reply->s, " count=")))
		count = strtoul(p + 7, NULL, 10);
	while (count--) {
		xo_buf_add(reply, "\n", 1);
		if (read_line(c, reply) < 0)
			return xo_err_sys(e, errno, "unable to read the simulator's reply");
	}
	return 0;
}

void xo_hv_enc(struct xo_buf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("._/:@,+-", ch))
			xo_buf_add(b, s, 1);
		else
			xo_buf_printf(b, "%%%02X", ch);
	}
}

int xo_hv_dec(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		int a = xo_hexval(s[1]), b = a < 0 ? -1 : xo_hexval(s[2]);
		if (b < 0)
			return -1;
		*w++ = (char)(a * 16 + b);
		s += 2;
	}
	*w = '\0';
	return 0;
}

const char *xo_hv_field(const char *rec, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key);
	const char *s = rec;

	while (s && *s && *s != '\n') {
		if (strncmp(s, key, kl) == 0 && s[kl] == '=') {
			size_t l = strcspn(s + kl + 1, " \n");
			if (l >= size)
				return NULL;
			memcpy(out, s + kl + 1, l);
			out[l] = '\0';
			return out;
		}
		s += strcspn(s, " \n");
		if (*s != ' ')
			break;
		s++;
	}
	return NULL;
}

int xo_hv_field_u64(const char *rec, const char *key, uint64_t *out, xo_err *e)
{
	char buf[64];

	if (!xo_hv_field(rec, key, buf, sizeof(buf)) || xo_parse_u64(buf, out) < 0)
		return xo_errf(e, XO_E_INTERNAL, "the simulator's reply lacks '%s'", key);
	return 0;
}

int xo_hv_parse(char *line, struct xo_hv_req *r, xo_err *e)
{
	char *save = NULL, *tok;

	r->n = 0;
	r->verb = strtok_r(line, " ", &save);
	if (!r->verb)
		return xo_errf(e, XO_E_INVALID, "empty request");
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq || r->n == XO_HV_ARGS_MAX)
			return xo_errf(e, XO_E_INVALID, "malformed argument '%s': expected key=value", tok);
		*eq = '\0';
		if (xo_hv_dec(eq + 1) < 0)
			return xo_errf(e, XO_E_INVALID, "malformed value of '%s'", tok);
		r->key[r->n] = tok;
		r->val[r->n++] = eq + 1;
	}
	return 0;
}

const char *xo_hv_arg(const struct xo_hv_req *r, const char *key)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->key[i], key) == 0)
			return r->val[i];
	return NULL;
}
