/*
 * hvproto.h: the hv.sock protocol of xo-simd, for both of its sides.
 *
 * xo-simd's hypervisor (lib/sim/hv.c) listens on $XO_STATE_DIR/sim/hv.sock;
 * the sim backend (lib/backend-sim.c) and "xo-simd ctl" and "stop"
 * (lib/sim/ctl.c, daemon.c) are its clients. A client sends one request per
 * line and reads one reply per request. A request is a verb and key=value
 * arguments separated by single spaces; values are percent-encoded (%XX for
 * any byte outside [A-Za-z0-9._/:@,+-]), so a value never holds a space or a
 * newline. A reply is
 *
 *     ok[ key=value...]                     success
 *     ok count=N                            success, N record lines follow
 *     error CLASS MESSAGE                   failure: CLASS is an xo error
 *                                           class name (err.h), MESSAGE the
 *                                           rest of the line, plain text
 *
 * Unknown keys in a reply are to be ignored by clients, so the protocol can
 * grow; the verbs are listed at the top of lib/sim/hv.c.
 *
 * The client side: xo_hv_connect() to a simulator's directory, then
 * xo_hv_call() per request: it sends the line and reads the reply, the
 * first line and the count= more, joined by newlines, into reply; an
 * "error CLASS MESSAGE" reply becomes an xo_err of that class (-1). Build
 * requests with xo_buf_printf() and xo_hv_enc() for values; read a reply's
 * values with xo_hv_field() and xo_hv_field_u64() (the first line of the
 * record given). xo_hv_close() closes.
 *
 * The server side: xo_hv_parse() splits a request line in place into its
 * verb and decoded arguments (a malformed line is an invalid_argument
 * error); xo_hv_arg() looks one up.
 */
#ifndef XO_HVPROTO_H
#define XO_HVPROTO_H

#include <stdint.h>
#include <stddef.h>

#include "err.h"
#include "util.h"

#define XO_HV_ARGS_MAX 32

struct xo_hv_conn {
	int fd;
	size_t len;
	char buf[65536];
};

/* connect to <sim_dir>/hv.sock; -1 with errno (ENAMETOOLONG for a path
 * too long for a unix socket) */
int xo_hv_connect(const char *sim_dir, struct xo_hv_conn *c);
void xo_hv_close(struct xo_hv_conn *c);
int xo_hv_call(struct xo_hv_conn *c, const char *req, struct xo_buf *reply, xo_err *e);

/* append s percent-encoded */
void xo_hv_enc(struct xo_buf *b, const char *s);
/* decode in place; -1 on a malformed %XX */
int xo_hv_dec(char *s);

/* the value of key in the first line of rec, copied to out; NULL when it is
 * absent or does not fit */
const char *xo_hv_field(const char *rec, const char *key, char *out, size_t size);
/* the same as a number; an internal_error names the key when it lacks */
int xo_hv_field_u64(const char *rec, const char *key, uint64_t *out, xo_err *e);

struct xo_hv_req {
	char *verb;
	char *key[XO_HV_ARGS_MAX], *val[XO_HV_ARGS_MAX];
	unsigned n;
};

/* split line (NUL-terminated, no newline) in place */
int xo_hv_parse(char *line, struct xo_hv_req *r, xo_err *e);
const char *xo_hv_arg(const struct xo_hv_req *r, const char *key);

#endif
