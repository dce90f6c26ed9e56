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

#include "memory.h"
#include "state.h"

static int host_dir(xo_err *e)
{
	int fd = xo_state_subdir("host", e);
	if (fd >= 0 && xo_mkdir(fd, "reservations", e) < 0)
		return -1;
	return fd;
}

static uint64_t read_kib(int dfd, const char *name)
{
	char *text;
	size_t len;
	uint64_t v = 0;
	xo_err ignore;

	if (xo_read_file(dfd, name, &text, &len, &ignore) < 0)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	if (xo_parse_u64(text, &v) < 0)
		v = 0;
	free(text);
	return v;
}

static uint64_t sum_reservations(int rfd)
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
	while ((de = readdir(d)))
		if (xo_uuid_valid(de->d_name))
			sum += read_kib(rfd, de->d_name);
	closedir(d);
	return sum;
}

int xo_memory_reserve(struct xo_backend *b, const char *vm_uuid, uint64_t kib, xo_err *e)
{
	struct xo_hostinfo hi;
	int hfd, lock = -1, rfd = -1, r = -1;
	char buf[32];

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
	uint64_t reserved = sum_reservations(rfd) - read_kib(rfd, vm_uuid);
	uint64_t avail = hi.free_kib > reserved ? hi.free_kib - reserved : 0;
	if (kib > avail) {
		xo_errf(e, XO_E_NO_MEMORY,
			"not enough host memory: need %llu KiB, %llu KiB free of %llu KiB (%llu KiB reserved by other starts)",
			(unsigned long long)kib, (unsigned long long)avail,
			(unsigned long long)hi.total_kib, (unsigned long long)reserved);
		goto out;
	}
	int n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)kib);
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
