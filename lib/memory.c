/*
 * memory.c: the reservation ledger (see memory.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "config.h"
#include "memory.h"
#include "state.h"

static int host_dir(xo_err *e)
{
	int fd = xo_state_subdir("host", e);
	if (fd >= 0 && xo_mkdir(fd, "reservations", e) < 0)
		return -1;
	return fd;
}

/* a reservation: "KIB" (a start) or "KIB balloon TARGET" (a growing balloon) */
static uint64_t read_kib(int dfd, const char *name, uint64_t *balloon_target)
{
	char *text, *sp;
	size_t len;
	uint64_t v = 0, t = 0;
	xo_err ignore;

	if (balloon_target)
		*balloon_target = 0;
	if (xo_read_file(dfd, name, &text, &len, &ignore) < 0)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	if ((sp = strchr(text, ' '))) {
		*sp++ = '\0';
		if (strncmp(sp, "balloon ", 8) != 0 || xo_parse_u64(sp + 8, &t) < 0)
			t = 0;
	}
	if (xo_parse_u64(text, &v) < 0)
		v = 0;
	if (balloon_target)
		*balloon_target = t;
	free(text);
	return v;
}

/* what is left of a balloon reservation: the guest's target less what it has (at most
 * what was reserved); 0, and the file gone, once it has it all or its domain is gone */
static uint64_t balloon_left(struct xo_backend *b, int rfd, const char *uuid, uint64_t kib,
			     uint64_t target)
{
	struct xo_vm vm;
	struct xo_vm_live l;
	xo_err ignore;

	xo_vm_init(&vm);
	xo_vm_placeholder(uuid, &vm);
	int r = xo_be_vm_live(b, &vm, &l, &ignore);
	xo_vm_free(&vm);
	if (r < 0)
		return kib;             /* unknown: keep counting it */
	if (!l.exists || l.shutdown || l.memory_actual / 1024 >= target) {
		unlinkat(rfd, uuid, 0);
		return 0;
	}
	uint64_t left = target - l.memory_actual / 1024;
	return left < kib ? left : kib;
}

static uint64_t sum_reservations(struct xo_backend *b, int rfd)
{
	int fd = openat(rfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	uint64_t sum = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		uint64_t target, kib;
		if (!xo_uuid_valid(de->d_name))
			continue;
		kib = read_kib(rfd, de->d_name, &target);
		sum += target ? balloon_left(b, rfd, de->d_name, kib, target) : kib;
	}
	closedir(d);
	return sum;
}

static int reserve(struct xo_backend *b, const char *vm_uuid, uint64_t kib, uint64_t balloon_target,
		   xo_err *e)
{
	struct xo_hostinfo hi;
	int hfd, lock = -1, rfd = -1, r = -1;
	char buf[64];

	if ((hfd = host_dir(e)) < 0)
		return -1;
	lock = openat(hfd, "memory.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		xo_err_sys(e, errno, "unable to lock the memory ledger");
		goto out;
	}
	rfd = openat(hfd, "reservations", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		xo_err_sys(e, errno, "unable to open the memory ledger");
		goto out;
	}
	if (xo_be_host_info(b, &hi, e) < 0)
		goto out;
	/* our own earlier reservation (a retry) does not count against us */
	uint64_t reserved = sum_reservations(b, rfd) - read_kib(rfd, vm_uuid, NULL);
	uint64_t avail = hi.free_kib > reserved ? hi.free_kib - reserved : 0;
	if (kib > avail) {
		xo_errf(e, XO_E_NO_MEMORY,
			"not enough host memory: need %llu KiB, %llu KiB free of %llu KiB (%llu KiB reserved by other starts)",
			(unsigned long long)kib, (unsigned long long)avail,
			(unsigned long long)hi.total_kib, (unsigned long long)reserved);
		goto out;
	}
	int n = balloon_target
		? snprintf(buf, sizeof(buf), "%llu balloon %llu\n", (unsigned long long)kib,
			   (unsigned long long)balloon_target)
		: snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)kib);
	if (xo_atomic_write(rfd, vm_uuid, buf, (size_t)n, 0, e) < 0)
		goto out;
	r = 0;
out:
	if (rfd >= 0)
		close(rfd);
	if (lock >= 0)
		close(lock);
	return r;
}

int xo_memory_reserve(struct xo_backend *b, const char *vm_uuid, uint64_t kib, xo_err *e)
{
	return reserve(b, vm_uuid, kib, 0, e);
}

int xo_memory_reserve_balloon(struct xo_backend *b, const char *vm_uuid, uint64_t target_kib,
			      uint64_t actual_kib, xo_err *e)
{
	if (target_kib <= actual_kib) {
		xo_memory_release(vm_uuid);
		return 0;
	}
	return reserve(b, vm_uuid, target_kib - actual_kib, target_kib, e);
}

void xo_memory_release(const char *vm_uuid)
{
	xo_err ignore;
	char name[64];
	int hfd = host_dir(&ignore);

	if (hfd < 0)
		return;
	snprintf(name, sizeof(name), "reservations/%s", vm_uuid);
	unlinkat(hfd, name, 0);
}
