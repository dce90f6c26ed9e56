/*
 * util.c: see util.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void oom(void)
{
	fprintf(stderr, "%s: fatal: out of memory\n", xo_prog);
	exit(XO_EXIT_SYSTEM);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return p;
}

size_t xo_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

void xo_file_last_line(const char *path, char *out, size_t size)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t end;
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > (off_t)sizeof(buf) - 1)
		lseek(fd, end - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	char *last = strrchr(buf, '\n');
	xo_strlcpy(out, last ? last + 1 : buf, size);
}

bool xo_str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool xo_str_endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static void buf_grow(struct xo_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void xo_buf_add(struct xo_buf *b, const void *data, size_t n)
{
	buf_grow(b, n);
	memcpy(b->s + b->len, data, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void xo_buf_puts(struct xo_buf *b, const char *s)
{
	xo_buf_add(b, s, strlen(s));
}

void xo_buf_printf(struct xo_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void xo_buf_reset(struct xo_buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

void xo_buf_free(struct xo_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

char *xo_buf_detach(struct xo_buf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

int xo_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int xo_parse_uint(const char *s, unsigned max, unsigned *out)
{
	uint64_t v;

	if (xo_parse_u64(s, &v) < 0 || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int xo_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t i = 0;
	unsigned shift = 0;
	uint64_t v;

	if (!s)
		return -1;
	while (s[i] >= '0' && s[i] <= '9' && i < sizeof(num) - 1) {
		num[i] = s[i];
		i++;
	}
	num[i] = '\0';
	if (i == 0 || xo_parse_u64(num, &v) < 0)
		return -1;
	const char *u = s + i;
	if (*u) {
		switch (toupper((unsigned char)*u)) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		case 'B': shift = 0; break;
		default: return -1;
		}
		u++;
		if (shift && (strcmp(u, "iB") == 0 || strcmp(u, "B") == 0 || strcmp(u, "b") == 0))
			u += strlen(u);
		if (*u)
			return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

void xo_fmt_size(uint64_t bytes, char *out, size_t size)
{
	static const char units[] = "KMGT";
	int u = -1;
	uint64_t v = bytes;

	while (v && v % 1024 == 0 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0 || bytes == 0)
		snprintf(out, size, "%llu", (unsigned long long)bytes);
	else
		snprintf(out, size, "%llu%c", (unsigned long long)v, units[u]);
}

int xo_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

int xo_name_check(const char *name, const char *what, xo_err *e)
{
	size_t n = strlen(name);

	if (n == 0)
		return xo_errf(e, XO_E_INVALID, "invalid %s: empty", what);
	if (n > XO_NAME_MAX)
		return xo_errf(e, XO_E_INVALID, "invalid %s: longer than %d bytes", what, XO_NAME_MAX);
	if (name[0] == '.' || name[0] == '-')
		return xo_errf(e, XO_E_INVALID, "invalid %s '%s': must not start with '%c'",
			       what, name, name[0]);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (isalnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '@' || c == ':')
			continue;
		if (c == '/')
			return xo_errf(e, XO_E_INVALID, "invalid %s '%s': contains '/'", what, name);
		if (c == ' ')
			return xo_errf(e, XO_E_INVALID, "invalid %s '%s': contains a space", what, name);
		if (c < 0x20 || c == 0x7f)
			return xo_errf(e, XO_E_INVALID, "invalid %s: contains control character 0x%02x",
				       what, c);
		return xo_errf(e, XO_E_INVALID, "invalid %s '%s': character '%c' not allowed",
			       what, name, c);
	}
	if (strstr(name, ".."))
		return xo_errf(e, XO_E_INVALID, "invalid %s '%s': contains '..'", what, name);
	return 0;
}

uint64_t xo_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t xo_now_ms(void)
{
	return xo_now_ns() / 1000000ull;
}

double xo_wallclock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned fork_gen;

static void fork_child(void)
{
	fork_gen++;
}

__attribute__((constructor)) static void fork_gen_init(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

unsigned xo_fork_gen(void)
{
	return fork_gen;
}

void xo_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: fatal: getrandom: %s\n", xo_prog, strerror(errno));
			exit(XO_EXIT_SYSTEM);
		}
		p += r;
		n -= (size_t)r;
	}
}

void xo_uuid_format(const uint8_t u[16], char out[XO_UUID_LEN + 1])
{
	snprintf(out, XO_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

void xo_uuid_generate(char out[XO_UUID_LEN + 1])
{
	uint8_t u[16];

	xo_random_bytes(u, sizeof(u));
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	xo_uuid_format(u, out);
}

int xo_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int xo_uuid_parse(const char *s, uint8_t out[16])
{
	int k = 0;

	if (!s || strlen(s) != XO_UUID_LEN)
		return -1;
	for (int i = 0; i < XO_UUID_LEN;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			i++;
			continue;
		}
		int hi = xo_hexval(s[i]), lo = xo_hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[k++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

bool xo_uuid_valid(const char *s)
{
	uint8_t u[16];

	if (xo_uuid_parse(s, u) < 0)
		return false;
	for (const char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			return false;     /* canonical lowercase only: one spelling per VM */
	return true;
}

int xo_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int xo_read_all(int fd, char **out, size_t *len)
{
	struct xo_buf b = XO_BUF_INIT;
	char chunk[8192];

	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			xo_buf_free(&b);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		xo_buf_add(&b, chunk, (size_t)r);
	}
	if (len)
		*len = b.len;
	*out = xo_buf_detach(&b);
	return 0;
}

int xo_read_all_max(int fd, size_t max, char **out, size_t *len)
{
	struct xo_buf b = XO_BUF_INIT;
	char chunk[8192];

	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			xo_buf_free(&b);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		if (b.len + (size_t)r > max) {
			xo_buf_free(&b);
			errno = EFBIG;
			return -1;
		}
		xo_buf_add(&b, chunk, (size_t)r);
	}
	if (len)
		*len = b.len;
	*out = xo_buf_detach(&b);
	return 0;
}

/* ---------------------------------------------------------------- escaping */

/* the length of the valid UTF-8 sequence at s (1-4), 0 if invalid; *cp the code point */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	uint32_t c;
	size_t n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		c = s[0] & 0x1f;
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		c = s[0] & 0x0f;
		n = 3;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		c = s[0] & 0x07;
		n = 4;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* a code point a terminal may act on, or that breaks or reorders a line */
static bool cp_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

bool xo_str_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t c;
		size_t n = utf8_seq(p, &c);
		if (n == 0 || cp_control(c) || c == '\\')
			return false;
		p += n;
	}
	return true;
}

char *xo_str_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct xo_buf b = XO_BUF_INIT;

	if (xo_str_clean(s))
		return xstrdup(s);
	while (*p) {
		uint32_t c;
		size_t n = utf8_seq(p, &c);
		if (n == 0) {
			xo_buf_printf(&b, "\\x%02x", *p);
			p++;
			continue;
		}
		if (c == '\\')
			xo_buf_puts(&b, "\\\\");
		else if (c == '\n')
			xo_buf_puts(&b, "\\n");
		else if (c == '\t')
			xo_buf_puts(&b, "\\t");
		else if (c == '\r')
			xo_buf_puts(&b, "\\r");
		else if (cp_control(c))
			for (size_t i = 0; i < n; i++)
				xo_buf_printf(&b, "\\x%02x", p[i]);
		else
			xo_buf_add(&b, p, n);
		p += n;
	}
	return xo_buf_detach(&b);
}

/* ---------------------------------------------------------------- writers */

unsigned long long xo_proc_start_time(unsigned long pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%lu/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, the last ')' ends it */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* a zombie is gone too: a detached child's reaper may be an init that never reaps */
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
		return 0;
	/* fields 3 to 21, then the start time */
	for (int field = 3; field <= 22 && p; field++) {
		while (*p == ' ')
			p++;
		if (field == 22) {
			start = strtoull(p, NULL, 10);
			break;
		}
		p = strchr(p, ' ');
	}
	return start;
}

const char *xo_writer_id(void)
{
	static char id[64];
	static unsigned gen;

	if (!id[0] || gen != xo_fork_gen()) {
		unsigned long pid = (unsigned long)getpid();
		snprintf(id, sizeof(id), "%lu.%llu", pid, xo_proc_start_time(pid));
		gen = xo_fork_gen();
	}
	return id;
}

bool xo_writer_alive(unsigned long pid, unsigned long long start)
{
	unsigned long long now;

	if (pid == 0)
		return false;
	now = xo_proc_start_time(pid);
	if (now == 0) {
		/* no /proc/<pid>: gone; /proc unreadable (not mounted): cannot tell */
		return access("/proc/self/stat", R_OK) < 0;
	}
	return now == start;
}

int xo_writer_parse(const char *s, unsigned long *pid, unsigned long long *start,
		    const char **end)
{
	char *e1, *e2;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	*pid = strtoul(s, &e1, 10);
	if (errno || *e1 != '.' || !isdigit((unsigned char)e1[1]))
		return -1;
	*start = strtoull(e1 + 1, &e2, 10);
	if (errno)
		return -1;
	if (end)
		*end = e2;
	return 0;
}

/* ---------------------------------------------------------------- trusted paths */

static int untrusted(xo_err *e, enum xo_ecls cls, const char *what, const char *path,
		     const char *why)
{
	return xo_errf(e, cls, "refusing to run %s: '%s' %s", what, path, why);
}

/* one file or directory of a trusted path: owner root or us, not writable by group or
 * others (a sticky directory may be) */
static int trusted_one(const char *p, bool dir, const char *what, enum xo_ecls cls, xo_err *e)
{
	struct stat st;

	if (lstat(p, &st) < 0)
		return xo_errf(e, cls, "refusing to run %s: cannot check '%s': %s", what, p,
			       strerror(errno));
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return untrusted(e, cls, what, p, dir ? "is not a directory" : "is not a regular file");
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return xo_errf(e, cls, "refusing to run %s: '%s' is owned by uid %u, not by root",
			       what, p, (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st.st_mode & S_ISVTX)))
		return untrusted(e, cls, what, p,
				 st.st_mode & S_IWOTH ? "is writable by others" : "is writable by its group");
	return 0;
}

/* real (a resolved directory path, modified) and every directory above it */
static int trusted_dirs(char *real, const char *what, enum xo_ecls cls, xo_err *e)
{
	for (;;) {
		if (trusted_one(real[0] ? real : "/", true, what, cls, e) < 0)
			return -1;
		char *s = strrchr(real, '/');
		if (!s || !real[0])
			return 0;
		*s = '\0';
	}
}

int xo_path_trusted(const char *path, const char *what, enum xo_ecls cls, xo_err *e)
{
	char real[PATH_MAX];
	char *dir = NULL;
	int r = -1;

	if (path[0] != '/')
		return untrusted(e, cls, what, path, "is not an absolute path");
	/* the directory the name is in (whoever writes there can swap the entry), then
	 * the file the name leads to and every directory above that */
	dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	if (!realpath(dir[0] ? dir : "/", real)) {
		xo_errf(e, cls, "refusing to run %s: cannot check '%s': %s", what, dir[0] ? dir : "/",
			strerror(errno));
		goto out;
	}
	if (strcmp(real, "/") == 0)
		real[0] = '\0';
	if (trusted_dirs(real, what, cls, e) < 0)
		goto out;
	if (!realpath(path, real)) {
		xo_errf(e, cls, "refusing to run %s: cannot check '%s': %s", what, path, strerror(errno));
		goto out;
	}
	if (trusted_one(real, false, what, cls, e) < 0)
		goto out;
	*strrchr(real, '/') = '\0';
	r = trusted_dirs(real, what, cls, e);
out:
	free(dir);
	return r;
}

const char *xo_self_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n;

	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0) {
		xo_strlcpy(dir, ".", sizeof(dir));
		return dir;
	}
	dir[n] = '\0';
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	return dir;
}
