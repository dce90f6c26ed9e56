/*
 * xs.h: xenstore helpers over libxenstore.
 *
 * The handle is the backend's (b->xs): dom0's view of the store, whether
 * the real xenstored or xo-simd's. Paths are absolute. Reads return NULL
 * for an absent key (errno ENOENT) and a malloc'd, NUL-terminated string
 * otherwise. Writers take a transaction (XBT_NULL for none).
 *
 * xo_xs_transaction() runs a function inside a transaction and retries it
 * when the commit fails with EAGAIN (another writer touched what it read),
 * as every xenstore client must; the function must be safe to rerun.
 *
 * A transaction function that only writes (write, mkdir, set-perms, rm) is
 * first run to record its requests, which then go to the daemon's socket over
 * a connection of xo's own, all of them before any reply is read: one round
 * trip for the batch, where libxenstore waits for each reply. A function that
 * reads, or a host whose xenstored has no socket, gets a libxenstore
 * transaction as before. xo_xs_batched counts the batched commits (tests).
 * A single read, write, mkdir, set-perms, rm or directory outside a
 * transaction takes the same connection too (one writev, one read; libxenstore
 * takes six system calls); xo_xs_direct counts them. Watches stay on the
 * libxenstore handle: the connection of xo's own never receives events.
 * xo_xs_wait() watches a few paths and re-evaluates a condition after each
 * event until it holds, fails, the timeout passes (class given by the
 * caller, typically device_timeout) or the task is cancelled (class
 * cancelled). It never polls: it sleeps in poll(2) on the watch fd (and an
 * optional extra fd, e.g. a pidfd of a hotplug script).
 */
#ifndef XO_XS_H
#define XO_XS_H

#include <stdbool.h>
#include <xenstore.h>

#include "err.h"

/* permissions: owner domain, what others may do ('n' none, 'r' read, 'w', 'b' both) and
 * up to XO_XS_ACL_MAX extra (domain, perm) entries */
#define XO_XS_ACL_MAX 4
struct xo_xs_perms {
	unsigned owner;
	char other;
	int n_acl;
	unsigned acl_dom[XO_XS_ACL_MAX];
	char acl_perm[XO_XS_ACL_MAX];
};
/* owner 0, nobody else: dom0-only data */
struct xo_xs_perms xo_xs_perm_dom0(void);
/* owner 0, domain d may read (xenopsd's roperm_for_guest) */
struct xo_xs_perms xo_xs_perm_ro(unsigned d);
/* owner d (xenopsd's rwperm_for_guest) */
struct xo_xs_perms xo_xs_perm_rw(unsigned d);
/* owner `owner`, `reader` may read (device frontends and backends) */
struct xo_xs_perms xo_xs_perm_owner_reader(unsigned owner, unsigned reader);

char *xo_xs_read(struct xs_handle *xs, xs_transaction_t t, const char *path);
/* read into a buffer; returns false (and buf="") when absent */
bool xo_xs_read_buf(struct xs_handle *xs, xs_transaction_t t, const char *path, char *buf,
		    size_t size);
bool xo_xs_exists(struct xs_handle *xs, xs_transaction_t t, const char *path);
int xo_xs_write(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *value,
		xo_err *e);
int xo_xs_printf(struct xs_handle *xs, xs_transaction_t t, const char *path, xo_err *e,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* mkdir and set its permissions */
int xo_xs_mkdir(struct xs_handle *xs, xs_transaction_t t, const char *path,
		const struct xo_xs_perms *p, xo_err *e);
int xo_xs_set_perms(struct xs_handle *xs, xs_transaction_t t, const char *path,
		    const struct xo_xs_perms *p, xo_err *e);
/* rm, absent is success */
int xo_xs_rm(struct xs_handle *xs, xs_transaction_t t, const char *path, xo_err *e);
/* the children of a directory (NULL-free vector, *n entries; free() the result) */
char **xo_xs_ls(struct xs_handle *xs, xs_transaction_t t, const char *path, unsigned *n);

extern unsigned long xo_xs_batched, xo_xs_direct;
/* drop (without closing) the connection of xo's own: for a child that closed it */
void xo_xs_forget(void);
int xo_xs_transaction(struct xs_handle *xs,
		      int (*fn)(struct xs_handle *xs, xs_transaction_t t, void *arg, xo_err *e),
		      void *arg, xo_err *e);

struct xo_cancel;

/* condition: 1 holds, 0 not yet, -1 failed (e set) */
typedef int (*xo_xs_cond)(struct xs_handle *xs, void *arg, xo_err *e);

struct xo_xs_wait {
	const char *paths[8];          /* watched; NULL-terminated if fewer */
	xo_xs_cond cond;
	void *arg;
	int timeout_ms;                /* < 0: for ever */
	enum xo_ecls timeout_cls;      /* default device_timeout */
	const char *what;              /* "hotplug-status of vbd xvda", for the timeout message */
	const struct xo_cancel *cancel;
	int extra_fd;                  /* also wake when readable (< 0: none) */
};
int xo_xs_wait(struct xs_handle *xs, const struct xo_xs_wait *w, xo_err *e);

#endif
