/*
 * updates.c: the event log (see updates.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "updates.h"
#include "util.h"

static int updates_dir(xo_err *e)
{
	return xo_state_subdir("updates", e);
}

/* the sequence number of the current segment; 0 if none yet */
static unsigned long current_seq(int dfd)
{
	char target[64];
	ssize_t n = readlinkat(dfd, "current", target, sizeof(target) - 1);
	unsigned long seq;

	if (n <= 0)
		return 0;
	target[n] = '\0';
	if (sscanf(target, "log.%lu", &seq) != 1)
		return 0;
	return seq;
}

/* point current at log.<seq> (created empty) and drop old segments; under the lock */
static int start_segment(int dfd, unsigned long seq)
{
	char name[64], tmp[64];
	int fd;

	snprintf(name, sizeof(name), "log.%lu", seq);
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(tmp, sizeof(tmp), ".current.%d", (int)getpid());
	unlinkat(dfd, tmp, 0);
	if (symlinkat(name, dfd, tmp) < 0 || renameat(dfd, tmp, dfd, "current") < 0) {
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	if (seq > XO_UPDATES_KEEP) {
		snprintf(name, sizeof(name), "log.%lu", seq - XO_UPDATES_KEEP);
		unlinkat(dfd, name, 0);
	}
	return 0;
}

/* This process's descriptors of the lock and of the segment it appends to, kept
 * between emits: an emit is then a lock, an fstat, a write and an unlock. A segment
 * is full (at least XO_UPDATES_SEGMENT bytes) exactly when current has moved past
 * it, since the writer that fills it starts the next one under the lock; a kept
 * segment found full is therefore replaced by current. A forked child or a worker
 * that closed every descriptor opens its own. */
static struct {
	int lock, seg;
	unsigned fork_gen, state_gen;
} em = { -1, -1, 0, 0 };

static void emit_reset(int dfd)
{
	bool ours = em.state_gen == xo_state_gen();   /* else they were closed already */
	if (ours && em.lock >= 0)
		close(em.lock);
	if (ours && em.seg >= 0)
		close(em.seg);
	em.lock = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	em.seg = -1;
	em.fork_gen = xo_fork_gen();
	em.state_gen = xo_state_gen();
}

void xo_updates_emit(const char *kind, const char *id)
{
	xo_err e;
	char line[256];
	int dfd;
	struct stat st;
	int n = snprintf(line, sizeof(line), "%s %s\n", kind, id);

	if (n <= 0 || (size_t)n >= sizeof(line) || strchr(id, '\n') || strchr(id, ' '))
		return;
	if ((dfd = updates_dir(&e)) < 0)
		return;
	if (em.lock < 0 || em.fork_gen != xo_fork_gen() || em.state_gen != xo_state_gen())
		emit_reset(dfd);
	if (em.lock < 0 || flock(em.lock, LOCK_EX) < 0)
		return;
	if (em.seg >= 0 && (fstat(em.seg, &st) < 0 || (size_t)st.st_size >= XO_UPDATES_SEGMENT)) {
		close(em.seg);
		em.seg = -1;
	}
	if (em.seg < 0) {
		em.seg = openat(dfd, "current", O_WRONLY | O_APPEND | O_CLOEXEC);
		if (em.seg < 0 && errno == ENOENT && start_segment(dfd, 1) == 0)
			em.seg = openat(dfd, "current", O_WRONLY | O_APPEND | O_CLOEXEC);
		if (em.seg < 0 || fstat(em.seg, &st) < 0)
			goto out;
	}
	if (xo_write_all(em.seg, line, (size_t)n) < 0)
		goto out;
	if ((size_t)st.st_size + (size_t)n >= XO_UPDATES_SEGMENT)
		start_segment(dfd, current_seq(dfd) + 1);
out:
	flock(em.lock, LOCK_UN);
}

void xo_updates_emit2(const char *kind, const char *uuid, const char *dev)
{
	char id[128];
	snprintf(id, sizeof(id), "%s/%s", uuid, dev);
	xo_updates_emit(kind, id);
}

static int end_token(int dfd, unsigned long *seq, unsigned long *off)
{
	char name[64];
	struct stat st;

	*seq = current_seq(dfd);
	*off = 0;
	if (*seq == 0) {
		*seq = 1;
		return 0;
	}
	snprintf(name, sizeof(name), "log.%lu", *seq);
	if (fstatat(dfd, name, &st, 0) == 0)
		*off = (unsigned long)st.st_size;
	return 0;
}

int xo_updates_token(char *tok, size_t size, xo_err *e)
{
	unsigned long seq, off;
	int dfd = updates_dir(e);

	if (dfd < 0)
		return -1;
	end_token(dfd, &seq, &off);
	snprintf(tok, size, "%lu.%lu", seq, off);
	return 0;
}

static void add_update(struct xo_update **out, size_t *n, const char *kind, const char *id)
{
	/* coalesce: an object changed twice is reported once, at its last change */
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*out)[i].kind, kind) == 0 && strcmp((*out)[i].id, id) == 0) {
			struct xo_update u = (*out)[i];
			memmove(&(*out)[i], &(*out)[i + 1], (*n - i - 1) * sizeof(u));
			(*out)[*n - 1] = u;
			return;
		}
	}
	*out = xrealloc(*out, (*n + 1) * sizeof(**out));
	xo_strlcpy((*out)[*n].kind, kind, sizeof((*out)[*n].kind));
	xo_strlcpy((*out)[*n].id, id, sizeof((*out)[*n].id));
	(*n)++;
}

/* read complete lines from (seq, off) on; advances the position */
static int read_from(int dfd, unsigned long *seq, unsigned long *off, struct xo_update **out,
		     size_t *n, xo_err *e)
{
	char name[64];

	for (;;) {
		/* read current before the segment: if it had already moved on, the
		 * segment was complete when we read it */
		unsigned long cur = current_seq(dfd);
		snprintf(name, sizeof(name), "log.%lu", *seq);
		int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT)
				return xo_err_sys(e, errno, "unable to read the event log");
			if (cur == 0 || *seq > cur)
				return 0;   /* nothing written yet */
			return xo_errf(e, XO_E_RESYNC,
				       "token %lu.%lu is too old: the event log moved on; list and stat again",
				       *seq, *off);
		}
		char *text = NULL;
		size_t len = 0;
		if (lseek(fd, (off_t)*off, SEEK_SET) < 0 || xo_read_all(fd, &text, &len) < 0) {
			close(fd);
			return xo_err_sys(e, errno, "unable to read the event log");
		}
		close(fd);
		size_t used = 0;
		char *p = text;
		for (;;) {
			char *nl = memchr(p, '\n', len - used);
			if (!nl)
				break;
			*nl = '\0';
			char *sp = strchr(p, ' ');
			if (sp) {
				*sp = '\0';
				add_update(out, n, p, sp + 1);
			}
			used += (size_t)(nl - p) + 1;
			p = nl + 1;
		}
		free(text);
		*off += used;
		if (cur > *seq) {
			(*seq)++;
			*off = 0;
			continue;
		}
		return 0;
	}
}

int xo_updates_get(const char *token, int timeout_ms, struct xo_update **out, char *newtok,
		   size_t toksize, xo_err *e)
{
	unsigned long seq, off;
	size_t n = 0;
	int dfd, ifd = -1, r = -1;
	uint64_t deadline = timeout_ms >= 0 ? xo_now_ms() + (uint64_t)timeout_ms : 0;
	char tail;

	*out = NULL;
	if ((dfd = updates_dir(e)) < 0)
		return -1;
	if (sscanf(token, "%lu.%lu%c", &seq, &off, &tail) != 2 || seq == 0)
		return xo_errf(e, XO_E_INVALID, "invalid token '%s': expected SEQ.OFFSET", token);
	for (;;) {
		if (read_from(dfd, &seq, &off, out, &n, e) < 0)
			goto out;
		if (n || timeout_ms == 0)
			break;
		if (ifd < 0) {
			/* watch first, then read again: nothing slips between the two */
			ifd = xo_state_inotify("updates", IN_MODIFY | IN_CREATE | IN_MOVED_TO, e);
			if (ifd < 0)
				goto out;
			continue;
		}
		int wait = -1;
		if (timeout_ms >= 0) {
			uint64_t now = xo_now_ms();
			if (now >= deadline)
				break;
			wait = (int)(deadline - now);
		}
		struct pollfd pfd = { .fd = ifd, .events = POLLIN };
		int pr = poll(&pfd, 1, wait);
		if (pr < 0 && errno != EINTR) {
			xo_err_sys(e, errno, "poll");
			goto out;
		}
		char buf[4096];
		while (read(ifd, buf, sizeof(buf)) > 0)
			;
	}
	snprintf(newtok, toksize, "%lu.%lu", seq, off);
	r = (int)n;
out:
	if (r < 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}
