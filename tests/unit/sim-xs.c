/*
 * sim-xs: a xenstore client for tests/sim-*.bats (libxenstore and raw
 * protocol), talking to $XENSTORED_PATH. Run without arguments (as the
 * unit test runner does) it only says it is a helper.
 *
 *   sim-xs tx-conflict PATH      read+write PATH in a transaction while
 *                                another connection writes it: prints the
 *                                commit's result, then the value
 *   sim-xs tx-repeatable PATH    reads in a transaction are repeatable while
 *                                another connection writes PATH, adds a child
 *                                to it and creates PATH/new (Xen's
 *                                test-xenstore "ta err"); prints each read,
 *                                then the commit's result and the value
 *   sim-xs tx-readonly PATH      a transaction that only read PATH commits
 *                                with EAGAIN if PATH changed meanwhile, and
 *                                with OK if another node changed
 *   sim-xs tx-isolation PATH     a write inside a transaction is invisible
 *                                outside until commit
 *   sim-xs tx-abandon PATH       write PATH in a transaction, then hang up
 *   sim-xs tx-busy PATH          commit the same node from two transactions
 *   sim-xs watches N PATH        set N watches below PATH; prints how many
 *                                were accepted and the first error
 *   sim-xs txs N                 start N transactions, same
 *   sim-xs fill PATH N           write N nodes below PATH, same
 *   sim-xs watch-events PATH TOKEN N   set a watch, print N events
 *   sim-xs introduce|release|is-introduced|domain-path DOMID
 *   sim-xs rm-in-tx PATH         remove PATH in a transaction and commit
 *   sim-xs hold N                open N connections at once, then make 1000
 *                                requests on the first; prints "held N
 *                                answered M" and keeps the connections until
 *                                its standard input ends
 *   sim-xs lazy PATH TOKEN       watch PATH (raw protocol) and read nothing
 *                                more: prints "watching", waits for the end
 *                                of its standard input, then reads what came
 *                                and prints "dropped" (the daemon closed the
 *                                connection) or "alive"
 *   sim-xs flood PATH N          write PATH N times; prints "wrote N"
 *   sim-xs log N SIZE TAG        N "xenstore-control print TAG-<i>-xxx..."
 *                                of SIZE bytes (the daemon logs each); prints
 *                                "logged N"
 *   sim-xs raw CASE              one bad message; prints the reply
 *                                ("error ENAME", "ok ...", "closed")
 *   sim-xs dir-count PATH        xs_directory (DIRECTORY_PART beyond 4 KiB)
 *   sim-xs xo-tx PATH MODE       libxo's xo_xs_transaction: mkdir PATH/d (owner 0,
 *                                domain 5 reads), PATH/d/a=1, rm PATH/gone, PATH/d/b=2;
 *                                MODE bad adds a write to an invalid path, MODE read
 *                                reads first. Prints "ok batched=N" or "error MSG"
 *   sim-xs xo-direct PATH        libxo's requests outside a transaction: mkdir PATH/d
 *                                (owner 0, domain 5 reads), write PATH/d/a=1 and
 *                                PATH/d/e="", read both and PATH/none, ls PATH/d,
 *                                rm PATH/d/a and PATH/none, write an invalid path;
 *                                one line each, then "direct=N"
 *   sim-xs xo-ls PATH            libxo's xo_xs_ls: "N entries, last NAME"
 *   sim-xs read|rm|mkdir|ls|getperms PATH, write PATH VALUE,
 *          setperms PATH PERM...   one operation: "ok ..." or "error ENAME"
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>
#include <xenstore.h>

#include "xs.h"

static const char *ename(int err)
{
	static char buf[32];

	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	snprintf(buf, sizeof(buf), "errno-%d", err);
	return buf;
}

static struct xs_handle *xopen(void)
{
	struct xs_handle *h = xs_open(0);

	if (!h) {
		fprintf(stderr, "sim-xs: unable to open xenstore: %s\n", strerror(errno));
		exit(111);
	}
	return h;
}

static void show_read(struct xs_handle *h, xs_transaction_t t, const char *label, const char *path)
{
	unsigned len;
	char *v = xs_read(h, t, path, &len);

	if (v)
		printf("%s: %s\n", label, v);
	else
		printf("%s: %s\n", label, ename(errno));
	free(v);
}

/* ---- raw protocol ---------------------------------------------------------------------------- */

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *p = getenv("XENSTORED_PATH");
	int fd;

	if (!p || strlen(p) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sim-xs: XENSTORED_PATH unset or too long\n");
		exit(100);
	}
	memcpy(sa.sun_path, p, strlen(p) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "sim-xs: connect '%s': %s\n", p, strerror(errno));
		exit(111);
	}
	return fd;
}

static void raw_send(int fd, uint32_t type, uint32_t tx, const void *data, uint32_t len,
		     uint32_t claimed)
{
	struct xsd_sockmsg h = { type, 42, tx, claimed };

	if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    (len && write(fd, data, len) != (ssize_t)len)) {
		perror("sim-xs: write");
		exit(111);
	}
}

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			return -1;
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* print the reply to a request; skip watch events */
static void raw_reply(int fd)
{
	struct xsd_sockmsg h;
	char body[8192];

	for (;;) {
		if (read_full(fd, &h, sizeof(h)) < 0) {
			printf("closed\n");
			return;
		}
		if (h.len > sizeof(body) - 1 || read_full(fd, body, h.len) < 0) {
			printf("closed\n");
			return;
		}
		body[h.len] = '\0';
		if (h.type == XS_WATCH_EVENT)
			continue;
		for (uint32_t i = 0; i + 1 < h.len; i++)
			if (body[i] == '\0')
				body[i] = ' ';
		if (h.type == XS_ERROR)
			printf("error %s\n", body);
		else
			printf("ok %s\n", body);
		return;
	}
}

/* the connection is closed by the daemon (EOF) */
static void raw_expect_closed(int fd)
{
	char c;
	struct pollfd p = { fd, POLLIN, 0 };

	if (poll(&p, 1, 5000) <= 0) {
		printf("still open\n");
		return;
	}
	printf(read(fd, &c, 1) == 0 ? "then closed\n" : "then more data\n");
}

static int raw(const char *which)
{
	int fd = raw_connect();
	char big[5000];

	if (!strcmp(which, "oversize")) {
		/* the header claims more than XENSTORE_PAYLOAD_MAX */
		memset(big, 'a', sizeof(big));
		raw_send(fd, XS_WRITE, 0, big, 0, XENSTORE_PAYLOAD_MAX + 1);
		raw_reply(fd);
		raw_expect_closed(fd);
	} else if (!strcmp(which, "badtype")) {
		raw_send(fd, 999, 0, "/\0", 2, 2);
		raw_reply(fd);
	} else if (!strcmp(which, "watch-event-type")) {
		raw_send(fd, XS_WATCH_EVENT, 0, "/a\0t\0", 5, 5);
		raw_reply(fd);
	} else if (!strcmp(which, "nonul")) {
		raw_send(fd, XS_READ, 0, "/local", 6, 6);
		raw_reply(fd);
	} else if (!strcmp(which, "twoargs")) {
		raw_send(fd, XS_READ, 0, "/local\0/tool\0", 13, 13);
		raw_reply(fd);
	} else if (!strcmp(which, "empty")) {
		raw_send(fd, XS_READ, 0, NULL, 0, 0);
		raw_reply(fd);
	} else if (!strcmp(which, "badchars")) {
		raw_send(fd, XS_WRITE, 0, "/a b\0v", 6, 6);
		raw_reply(fd);
	} else if (!strcmp(which, "trailing-slash")) {
		raw_send(fd, XS_MKDIR, 0, "/abc/\0", 6, 6);
		raw_reply(fd);
	} else if (!strcmp(which, "double-slash")) {
		raw_send(fd, XS_MKDIR, 0, "/a//b\0", 6, 6);
		raw_reply(fd);
	} else if (!strcmp(which, "longpath")) {
		/* longer than XENSTORE_ABS_PATH_MAX */
		size_t n = XENSTORE_ABS_PATH_MAX + 10;
		big[0] = '/';
		for (size_t i = 1; i < n; i++)
			big[i] = i % 100 ? 'x' : '/';
		big[n] = '\0';
		raw_send(fd, XS_WRITE, 0, big, (uint32_t)n + 1, (uint32_t)n + 1);
		raw_reply(fd);
	} else if (!strcmp(which, "relpath-long")) {
		/* a relative path longer than XENSTORE_REL_PATH_MAX (guests) */
		size_t n = XENSTORE_REL_PATH_MAX + 10;
		for (size_t i = 0; i < n; i++)
			big[i] = i % 100 == 99 ? '/' : 'y';
		big[n] = '\0';
		raw_send(fd, XS_WRITE, 0, big, (uint32_t)n + 1, (uint32_t)n + 1);
		raw_reply(fd);
	} else if (!strcmp(which, "unknown-tx")) {
		raw_send(fd, XS_READ, 12345, "/local\0", 7, 7);
		raw_reply(fd);
	} else if (!strcmp(which, "bad-tx-end")) {
		raw_send(fd, XS_TRANSACTION_END, 0, "X\0", 2, 2);
		raw_reply(fd);
	} else if (!strcmp(which, "bad-perms")) {
		raw_send(fd, XS_SET_PERMS, 0, "/local\0q5\0", 10, 10);
		raw_reply(fd);
	} else if (!strcmp(which, "introduce-bad")) {
		raw_send(fd, XS_INTRODUCE, 0, "7\0", 2, 2);
		raw_reply(fd);
	} else if (!strcmp(which, "partial")) {
		/* half a header, then hang up */
		if (write(fd, "\x02\x00\x00", 3) != 3)
			return 111;
		printf("sent\n");
	} else if (!strcmp(which, "partial-body")) {
		raw_send(fd, XS_WRITE, 0, "/partial", 8, 100);
		printf("sent\n");
	} else if (!strcmp(which, "reset-watches")) {
		raw_send(fd, XS_WATCH, 0, "/tool\0tok\0", 10, 10);
		raw_reply(fd);
		raw_send(fd, XS_RESET_WATCHES, 0, "", 0, 0);
		raw_reply(fd);
		raw_send(fd, XS_UNWATCH, 0, "/tool\0tok\0", 10, 10);
		raw_reply(fd);
	} else if (!strcmp(which, "duplicate-watch")) {
		raw_send(fd, XS_WATCH, 0, "/tool\0tok\0", 10, 10);
		raw_reply(fd);
		raw_send(fd, XS_WATCH, 0, "/tool\0tok\0", 10, 10);
		raw_reply(fd);
	} else if (!strcmp(which, "write-special")) {
		raw_send(fd, XS_WRITE, 0, "@releaseDomain\0x", 16, 16);
		raw_reply(fd);
	} else if (!strcmp(which, "release-dom0")) {
		raw_send(fd, XS_RELEASE, 0, "0\0", 2, 2);
		raw_reply(fd);
	} else {
		fprintf(stderr, "sim-xs: unknown raw case '%s'\n", which);
		return 100;
	}
	close(fd);
	return 0;
}

static int hold(int n)
{
	static const char path[] = "/local/domain/0/name";
	int *fds = calloc((size_t)n, sizeof(*fds)), answered = 0;
	char c;

	if (!fds)
		return 111;
	for (int i = 0; i < n; i++)
		fds[i] = raw_connect();
	for (int i = 0; i < 1000; i++) {
		struct xsd_sockmsg h;
		char body[64];
		raw_send(fds[0], XS_READ, 0, path, sizeof(path), sizeof(path));
		if (read_full(fds[0], &h, sizeof(h)) < 0 || h.len > sizeof(body) ||
		    read_full(fds[0], body, h.len) < 0)
			break;
		answered++;
	}
	printf("held %d answered %d\n", n, answered);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

static int lazy(const char *path, const char *token)
{
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
	char *msg = malloc(pl + tl), buf[65536], c;
	int fd = raw_connect();
	ssize_t n;

	if (!msg)
		return 111;
	memcpy(msg, path, pl);
	memcpy(msg + pl, token, tl);
	raw_send(fd, XS_WATCH, 0, msg, (uint32_t)(pl + tl), (uint32_t)(pl + tl));
	free(msg);
	raw_reply(fd);
	printf("watching\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	/* n is 0 (end of file) or -1 */
	printf("%s\n", n == 0 || errno == ECONNRESET ? "dropped" : "alive");
	close(fd);
	return 0;
}

static int log_lines(int n, size_t size, const char *tag)
{
	char msg[4096], body[256];
	int fd = raw_connect(), i;

	if (size < 64 || size > 2000)
		return 100;
	for (i = 0; i < n; i++) {
		struct xsd_sockmsg h;
		int k = snprintf(msg, sizeof(msg), "print%c%s-%d-", '\0', tag, i);
		memset(msg + k, 'x', size);
		msg[k + size] = '\0';
		raw_send(fd, XS_CONTROL, 0, msg, (uint32_t)(k + size + 1), (uint32_t)(k + size + 1));
		if (read_full(fd, &h, sizeof(h)) < 0 || h.len > sizeof(body) ||
		    read_full(fd, body, h.len) < 0 || h.type != XS_CONTROL)
			break;
	}
	printf("logged %d\n", i);
	close(fd);
	return 0;
}

struct xo_tx_case {
	const char *path, *mode;
};

static int xo_tx_fn(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e)
{
	const struct xo_tx_case *c = arg;
	struct xo_xs_perms p = xo_xs_perm_owner_reader(0, 5);
	char k[512];

	if (!strcmp(c->mode, "read") && xo_xs_exists(xs, t, c->path))
		return xo_errf(e, XO_E_EXISTS, "%s exists", c->path);
	snprintf(k, sizeof(k), "%s/d", c->path);
	if (xo_xs_mkdir(xs, t, k, &p, e) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/d/a", c->path);
	if (xo_xs_write(xs, t, k, "1", e) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/gone", c->path);
	if (xo_xs_rm(xs, t, k, e) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/bad//x", c->path);
	if (!strcmp(c->mode, "bad") && xo_xs_write(xs, t, k, "x", e) < 0)
		return -1;
	snprintf(k, sizeof(k), "%s/d/b", c->path);
	return xo_xs_write(xs, t, k, "2", e);
}

int main(int argc, char **argv)
{
	struct xs_handle *h, *h2;
	xs_transaction_t t;
	const char *cmd;

	if (argc < 2) {
		printf("1..0\n# sim-xs is a helper of tests/sim-*.bats\n");
		return 0;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "raw") && argc == 3)
		return raw(argv[2]);
	if (!strcmp(cmd, "hold") && argc == 3)
		return hold(atoi(argv[2]));
	if (!strcmp(cmd, "lazy") && argc == 4)
		return lazy(argv[2], argv[3]);
	if (!strcmp(cmd, "log") && argc == 5)
		return log_lines(atoi(argv[2]), (size_t)atoi(argv[3]), argv[4]);
	if (argc < 3) {
		fprintf(stderr, "sim-xs: usage: see tests/unit/sim-xs.c\n");
		return 100;
	}
	h = xopen();
	if (!strcmp(cmd, "read") || !strcmp(cmd, "rm") || !strcmp(cmd, "mkdir") || !strcmp(cmd, "ls") ||
	    !strcmp(cmd, "getperms") || !strcmp(cmd, "write") || !strcmp(cmd, "setperms")) {
		const char *p = argv[2];
		unsigned n, len;
		bool ok = false;
		char *v = NULL, **d = NULL;
		struct xs_permissions *perms = NULL;
		if (!strcmp(cmd, "read") && (v = xs_read(h, XBT_NULL, p, &len))) {
			printf("ok %s\n", v);
			ok = true;
		} else if (!strcmp(cmd, "rm") && xs_rm(h, XBT_NULL, p)) {
			ok = true;
		} else if (!strcmp(cmd, "mkdir") && xs_mkdir(h, XBT_NULL, p)) {
			ok = true;
		} else if (!strcmp(cmd, "write") && argc == 4 &&
			   xs_write(h, XBT_NULL, p, argv[3], (unsigned)strlen(argv[3]))) {
			ok = true;
		} else if (!strcmp(cmd, "ls") && (d = xs_directory(h, XBT_NULL, p, &n))) {
			printf("ok");
			for (unsigned i = 0; i < n; i++)
				printf(" %s", d[i]);
			printf("\n");
			ok = true;
		} else if (!strcmp(cmd, "getperms") && (perms = xs_get_permissions(h, XBT_NULL, p, &n))) {
			printf("ok");
			for (unsigned i = 0; i < n; i++) {
				char buf[32];
				snprintf(buf, sizeof(buf), "%c%u",
					 perms[i].perms == XS_PERM_NONE ? 'n' :
					 perms[i].perms == XS_PERM_READ ? 'r' :
					 perms[i].perms == XS_PERM_WRITE ? 'w' : 'b', perms[i].id);
				printf(" %s", buf);
			}
			printf("\n");
			ok = true;
		} else if (!strcmp(cmd, "setperms") && argc >= 4) {
			struct xs_permissions sp[16];
			int k = 0;
			for (int i = 3; i < argc && k < 16; i++, k++) {
				char c = argv[i][0];
				sp[k].perms = c == 'r' ? XS_PERM_READ : c == 'w' ? XS_PERM_WRITE :
					      c == 'b' ? XS_PERM_READ | XS_PERM_WRITE : XS_PERM_NONE;
				sp[k].id = (unsigned)atoi(argv[i] + 1);
			}
			ok = xs_set_permissions(h, XBT_NULL, p, sp, (unsigned)k);
		}
		if (!ok)
			printf("error %s\n", ename(errno));
		else if (strcmp(cmd, "read") && strcmp(cmd, "ls") && strcmp(cmd, "getperms"))
			printf("ok\n");
		free(v);
		free(d);
		free(perms);
		xs_close(h);
		return 0;
	}
	if (!strcmp(cmd, "tx-conflict")) {
		const char *p = argv[2];
		h2 = xopen();
		xs_write(h, XBT_NULL, p, "0", 1);
		t = xs_transaction_start(h);
		show_read(h, t, "in-tx", p);
		xs_write(h2, XBT_NULL, p, "other", 5);
		xs_write(h, t, p, "tx", 2);
		printf("commit: %s\n", xs_transaction_end(h, t, false) ? "ok" : ename(errno));
		show_read(h, XBT_NULL, "value", p);
	} else if (!strcmp(cmd, "tx-repeatable")) {
		const char *p = argv[2];
		char kid[512], other[512];
		unsigned n;
		char **d;
		h2 = xopen();
		snprintf(kid, sizeof(kid), "%s/new", p);
		snprintf(other, sizeof(other), "%s/k", p);
		xs_write(h, XBT_NULL, p, "a", 1);
		xs_write(h, XBT_NULL, other, "1", 1);
		t = xs_transaction_start(h);
		show_read(h, t, "first", p);
		show_read(h, t, "absent", kid);
		d = xs_directory(h, t, p, &n);
		printf("ls: %u\n", d ? n : 0);
		free(d);
		xs_write(h2, XBT_NULL, p, "b", 1);
		xs_write(h2, XBT_NULL, kid, "x", 1);
		show_read(h, t, "again", p);
		show_read(h, t, "still-absent", kid);
		d = xs_directory(h, t, p, &n);
		printf("ls: %u\n", d ? n : 0);
		free(d);
		show_read(h2, XBT_NULL, "outside", p);
		xs_write(h, t, p, "c", 1);
		show_read(h, t, "own-write", p);
		printf("commit: %s\n", xs_transaction_end(h, t, false) ? "ok" : ename(errno));
		show_read(h, XBT_NULL, "value", p);
	} else if (!strcmp(cmd, "tx-readonly")) {
		const char *p = argv[2];
		char other[512];
		h2 = xopen();
		snprintf(other, sizeof(other), "%s-other", p);
		xs_write(h, XBT_NULL, p, "a", 1);
		t = xs_transaction_start(h);
		show_read(h, t, "read", p);
		xs_write(h2, XBT_NULL, other, "o", 1);
		printf("unrelated change: %s\n", xs_transaction_end(h, t, false) ? "ok" : ename(errno));
		t = xs_transaction_start(h);
		show_read(h, t, "read", p);
		xs_write(h2, XBT_NULL, p, "b", 1);
		printf("read node changed: %s\n", xs_transaction_end(h, t, false) ? "ok" : ename(errno));
		t = xs_transaction_start(h);
		show_read(h, t, "read", p);
		xs_write(h2, XBT_NULL, p, "c", 1);
		printf("aborted: %s\n", xs_transaction_end(h, t, true) ? "ok" : ename(errno));
	} else if (!strcmp(cmd, "flood") && argc == 4) {
		int n = atoi(argv[3]), i;
		for (i = 0; i < n; i++)
			if (!xs_write(h, XBT_NULL, argv[2], "x", 1))
				break;
		printf("wrote %d\n", i);
	} else if (!strcmp(cmd, "tx-busy")) {
		const char *p = argv[2];
		xs_transaction_t t2;
		h2 = xopen();
		t = xs_transaction_start(h);
		t2 = xs_transaction_start(h2);
		xs_write(h, t, p, "one", 3);
		xs_write(h2, t2, p, "two", 3);
		printf("first: %s\n", xs_transaction_end(h, t, false) ? "ok" : ename(errno));
		printf("second: %s\n", xs_transaction_end(h2, t2, false) ? "ok" : ename(errno));
		show_read(h, XBT_NULL, "value", p);
	} else if (!strcmp(cmd, "tx-isolation")) {
		const char *p = argv[2];
		char sub[512];
		h2 = xopen();
		t = xs_transaction_start(h);
		xs_write(h, t, p, "in-tx", 5);
		snprintf(sub, sizeof(sub), "%s/child", p);
		xs_write(h, t, sub, "c", 1);
		show_read(h2, XBT_NULL, "outside", p);
		show_read(h, t, "inside", p);
		printf("commit: %s\n", xs_transaction_end(h, t, false) ? "ok" : ename(errno));
		show_read(h2, XBT_NULL, "after", p);
		show_read(h2, XBT_NULL, "child", sub);
	} else if (!strcmp(cmd, "tx-abandon")) {
		t = xs_transaction_start(h);
		printf("write: %s\n", xs_write(h, t, argv[2], "lost", 4) ? "ok" : ename(errno));
		xs_close(h);
		printf("abandoned\n");
		return 0;
	} else if (!strcmp(cmd, "xo-tx") && argc == 4) {
		struct xo_tx_case c = { argv[2], argv[3] };
		xo_err e;
		if (xo_xs_transaction(h, xo_tx_fn, &c, &e) < 0)
			printf("error %s\n", e.msg);
		else
			printf("ok batched=%lu\n", xo_xs_batched);
	} else if (!strcmp(cmd, "rm-in-tx")) {
		t = xs_transaction_start(h);
		printf("rm: %s\n", xs_rm(h, t, argv[2]) ? "ok" : ename(errno));
		show_read(h, t, "inside", argv[2]);
		printf("commit: %s\n", xs_transaction_end(h, t, false) ? "ok" : ename(errno));
		show_read(h, XBT_NULL, "after", argv[2]);
	} else if (!strcmp(cmd, "watches") && argc == 4) {
		int n = atoi(argv[2]), i;
		char path[512], tok[32];
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/w%d", argv[3], i);
			snprintf(tok, sizeof(tok), "t%d", i);
			if (!xs_watch(h, path, tok)) {
				printf("watch %d: %s\n", i + 1, ename(errno));
				break;
			}
		}
		printf("watches: %d\n", i);
	} else if (!strcmp(cmd, "fill") && argc == 4) {
		int n = atoi(argv[3]), i;
		char path[512];
		for (i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/n%d", argv[2], i + 1);
			if (!xs_write(h, XBT_NULL, path, "1", 1)) {
				printf("node %d: %s\n", i + 1, ename(errno));
				break;
			}
		}
		printf("nodes: %d\n", i);
	} else if (!strcmp(cmd, "txs")) {
		int n = atoi(argv[2]), i;
		for (i = 0; i < n; i++)
			if (xs_transaction_start(h) == XBT_NULL) {
				printf("transaction %d: %s\n", i + 1, ename(errno));
				break;
			}
		printf("transactions: %d\n", i);
	} else if (!strcmp(cmd, "watch-events") && argc == 5) {
		int n = atoi(argv[4]);
		if (!xs_watch(h, argv[2], argv[3])) {
			printf("watch: %s\n", ename(errno));
			return 1;
		}
		printf("watching\n");
		fflush(stdout);
		while (n-- > 0) {
			unsigned num;
			char **ev = xs_read_watch(h, &num);
			if (!ev)
				return 1;
			printf("%s %s\n", ev[XS_WATCH_PATH], ev[XS_WATCH_TOKEN]);
			fflush(stdout);
			free(ev);
		}
	} else if (!strcmp(cmd, "introduce")) {
		printf("%s\n", xs_introduce_domain(h, (unsigned)atoi(argv[2]), 1234, 1) ? "ok"
											 : ename(errno));
	} else if (!strcmp(cmd, "release")) {
		printf("%s\n", xs_release_domain(h, (unsigned)atoi(argv[2])) ? "ok" : ename(errno));
	} else if (!strcmp(cmd, "is-introduced")) {
		printf("%s\n", xs_is_domain_introduced(h, (unsigned)atoi(argv[2])) ? "yes" : "no");
	} else if (!strcmp(cmd, "domain-path")) {
		char *p = xs_get_domain_path(h, (unsigned)atoi(argv[2]));
		printf("%s\n", p ? p : ename(errno));
		free(p);
	} else if (!strcmp(cmd, "xo-direct") && argc == 3) {
		struct xo_xs_perms p = xo_xs_perm_owner_reader(0, 5);
		char k[512];
		xo_err e;
		unsigned n;
		snprintf(k, sizeof(k), "%s/d", argv[2]);
		printf("mkdir %s\n", xo_xs_mkdir(h, XBT_NULL, k, &p, &e) == 0 ? "ok" : e.msg);
		snprintf(k, sizeof(k), "%s/d/a", argv[2]);
		printf("write a %s\n", xo_xs_write(h, XBT_NULL, k, "1", &e) == 0 ? "ok" : e.msg);
		snprintf(k, sizeof(k), "%s/d/e", argv[2]);
		printf("write e %s\n", xo_xs_write(h, XBT_NULL, k, "", &e) == 0 ? "ok" : e.msg);
		const char *names[] = { "d/a", "d/e", "none" };
		for (int i = 0; i < 3; i++) {
			snprintf(k, sizeof(k), "%s/%s", argv[2], names[i]);
			char *v = xo_xs_read(h, XBT_NULL, k);
			if (v)
				printf("read %s '%s'\n", names[i], v);
			else
				printf("read %s %s\n", names[i], ename(errno));
			free(v);
		}
		snprintf(k, sizeof(k), "%s/d", argv[2]);
		char **d = xo_xs_ls(h, XBT_NULL, k, &n);
		printf("ls %u:", n);
		for (unsigned i = 0; i < n; i++)
			printf(" %s", d[i]);
		printf("\n");
		free(d);
		snprintf(k, sizeof(k), "%s/d/a", argv[2]);
		printf("rm a %s\n", xo_xs_rm(h, XBT_NULL, k, &e) == 0 ? "ok" : e.msg);
		snprintf(k, sizeof(k), "%s/none", argv[2]);
		printf("rm none %s\n", xo_xs_rm(h, XBT_NULL, k, &e) == 0 ? "ok" : e.msg);
		snprintf(k, sizeof(k), "%s/bad//x", argv[2]);
		printf("write bad %s\n", xo_xs_write(h, XBT_NULL, k, "1", &e) == 0 ? "ok" : e.msg);
		printf("direct=%lu\n", xo_xs_direct);
	} else if (!strcmp(cmd, "dir-count") || !strcmp(cmd, "xo-ls")) {
		unsigned num;
		char **d = !strcmp(cmd, "xo-ls") ? xo_xs_ls(h, XBT_NULL, argv[2], &num)
						 : xs_directory(h, XBT_NULL, argv[2], &num);
		if (!d)
			printf("error %s\n", ename(errno));
		else
			printf("%u entries, last %s\n", num, num ? d[num - 1] : "-");
		free(d);
	} else {
		fprintf(stderr, "sim-xs: unknown command '%s'\n", cmd);
		return 100;
	}
	xs_close(h);
	return 0;
}
