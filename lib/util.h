/*
 * util.h: small helpers every other file uses: bounded strings, a growable
 * buffer, number and size parsing, names, clocks, random bytes and uuids.
 *
 * Allocation failure is not recoverable in a short-lived program: the x*
 * functions print "fatal: out of memory" and exit 111.
 */
#ifndef XO_UTIL_H
#define XO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define XO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* copy at most size-1 bytes and terminate; returns strlen(src) (truncated if >= size) */
size_t xo_strlcpy(char *dst, const char *src, size_t size);
/* a log's last non-empty line (at most its last 4 KiB), for an error message; "" if none */
void xo_file_last_line(const char *path, char *out, size_t size);
bool xo_str_startswith(const char *s, const char *prefix);
bool xo_str_endswith(const char *s, const char *suffix);

/* a growable byte buffer, always NUL-terminated */
struct xo_buf {
	char *s;
	size_t len, cap;
};
#define XO_BUF_INIT { NULL, 0, 0 }
void xo_buf_add(struct xo_buf *b, const void *data, size_t n);
void xo_buf_puts(struct xo_buf *b, const char *s);
void xo_buf_printf(struct xo_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xo_buf_reset(struct xo_buf *b);
void xo_buf_free(struct xo_buf *b);
/* give the string to the caller (never NULL) and reset the buffer */
char *xo_buf_detach(struct xo_buf *b);

/* strict decimal parse of the whole string: no sign, no spaces, no overflow */
int xo_parse_u64(const char *s, uint64_t *out);
int xo_parse_uint(const char *s, unsigned max, unsigned *out);
/* "512M", "2G", "1048576", "64KiB": binary units K M G T (optionally iB/B); bytes */
int xo_parse_size(const char *s, uint64_t *out);
/* human size for output: "512M", "2G", or bytes when not a whole unit */
void xo_fmt_size(uint64_t bytes, char *out, size_t size);
/* seconds with an optional fraction ("2.5"); -1 on error */
int xo_parse_seconds(const char *s, double *out);

/*
 * A name (VM name, device name, hook file): 1..64 bytes of [A-Za-z0-9._+@:-],
 * not starting with '.' or '-', so no '/', no "..", no spaces, no control
 * characters. On failure e says what is wrong with it, naming `what`.
 */
#define XO_NAME_MAX 64
int xo_name_check(const char *name, const char *what, xo_err *e);

/* clocks */
uint64_t xo_now_ns(void);          /* CLOCK_MONOTONIC */
uint64_t xo_now_ms(void);          /* CLOCK_MONOTONIC */
double xo_wallclock(void);         /* CLOCK_REALTIME seconds */

void xo_random_bytes(void *buf, size_t n);
/* changes in the child of every fork(): a per-process cache (an open descriptor, a
 * connection) that finds it changed knows it was inherited and must not be shared */
unsigned xo_fork_gen(void);

/* uuids: lowercase 8-4-4-4-12 text; random version 4 */
#define XO_UUID_LEN 36
void xo_uuid_generate(char out[XO_UUID_LEN + 1]);
bool xo_uuid_valid(const char *s);
int xo_uuid_parse(const char *s, uint8_t out[16]);
/* the value of a hex digit, -1 if c is not one */
int xo_hexval(char c);
void xo_uuid_format(const uint8_t in[16], char out[XO_UUID_LEN + 1]);

/* write all / read all on a file descriptor (EINTR handled); -1 with errno */
int xo_write_all(int fd, const void *buf, size_t n);
/* read a whole fd into a NUL-terminated malloc'd buffer; -1 with errno */
int xo_read_all(int fd, char **out, size_t *len);
/* the same, but -1 with EFBIG (and nothing kept) once more than max bytes came */
int xo_read_all_max(int fd, size_t max, char **out, size_t *len);

/*
 * Output of values xo does not control (what a guest writes in xenstore, a
 * hotplug script's message): xo_str_escape() returns a malloc'd copy that
 * is safe on a terminal and in one line of output. A backslash becomes
 * "\\", a newline, tab or carriage return "\n", "\t", "\r", and every other
 * byte of a control character (C0, DEL, the C1 range U+0080-U+009F, the
 * line and paragraph separators and the bidirectional overrides
 * U+202A-U+202E, U+2066-U+2069) or of invalid UTF-8 becomes "\xNN". Valid
 * printable UTF-8 is kept. xo_str_clean() says whether s would come back
 * unchanged.
 */
char *xo_str_escape(const char *s);
bool xo_str_clean(const char *s);

/*
 * Writers of the state directory are named by "<pid>.<start>", the start
 * being the process's start time in clock ticks since boot (/proc/<pid>/stat),
 * so that a leftover named after a writer can be told dead even after its
 * pid was reused. xo_writer_id() is this process's (renewed in a forked
 * child); xo_writer_alive() is false only when the process is provably gone:
 * no such pid, or a pid with another start time.
 */
/* the start time of a process (field 22 of /proc/<pid>/stat, clock ticks since boot);
 * 0 when there is no such process, or it is a zombie */
unsigned long long xo_proc_start_time(unsigned long pid);
const char *xo_writer_id(void);
bool xo_writer_alive(unsigned long pid, unsigned long long start);
/* parse "<pid>.<start>" at the start of s; the rest goes to *end; -1 if it is not one */
int xo_writer_parse(const char *s, unsigned long *pid, unsigned long long *start,
		    const char **end);

/*
 * StrictModes (ssh's name for it) for what xo runs as root: path must be an
 * absolute path to a regular file owned by root (or by the effective user)
 * and not writable by group or others, and so must every directory from it
 * up to "/", following symlinks (a directory with the sticky bit, such as
 * /tmp, may be writable by others: they cannot rename or remove what root
 * owns in it). On failure e (class `cls`) says which path is wrong and why,
 * naming `what` ("hook vm-pre-start/10-log", "vbd script").
 */
int xo_path_trusted(const char *path, const char *what, enum xo_ecls cls, xo_err *e);

/* the directory holding the running program (for sibling programs) */
const char *xo_self_dir(void);

#endif
