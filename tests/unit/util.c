/*
 * tests/unit/util.c: the helpers that keep untrusted input harmless
 * (lib/util.c): escaping for output, writer ids, StrictModes, bounded reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#include "tap.h"

static void esc(const char *in, const char *want, const char *name)
{
	char *got = xo_str_escape(in);
	is_str(got, want, "escape: %s", name);
	ok(xo_str_clean(in) == (strcmp(in, want) == 0), "clean() agrees: %s", name);
	free(got);
}

static void test_escape(void)
{
	esc("4", "4", "a plain value is kept");
	esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7",
	    "printable UTF-8 is kept");
	esc("a\nb\tc\rd", "a\\nb\\tc\\rd", "line feed, tab, carriage return");
	esc("\x1b[31m", "\\x1b[31m", "an escape sequence");
	esc("a\\b", "a\\\\b", "a backslash is doubled, so escapes cannot be forged");
	esc("\x7f\x01", "\\x7f\\x01", "DEL and other C0 controls");
	esc("\xc2\x9b" "2J", "\\xc2\\x9b2J", "C1 controls (CSI)");
	esc("\xe2\x80\xae" "x", "\\xe2\\x80\\xaex", "a bidirectional override");
	esc("\xe2\x80\xa8", "\\xe2\\x80\\xa8", "the line separator");
	esc("\xff\xfe", "\\xff\\xfe", "bytes that are never UTF-8");
	esc("\xc0\xaf", "\\xc0\\xaf", "an overlong form");
	esc("\xed\xa0\x80", "\\xed\\xa0\\x80", "a surrogate");
	esc("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80", "beyond U+10FFFF");
	esc("\xe2\x82", "\\xe2\\x82", "a sequence cut short");
	esc("", "", "the empty string");
}

static void test_writers(void)
{
	unsigned long pid;
	unsigned long long start;
	const char *end, *me = xo_writer_id();

	ok(xo_writer_parse(me, &pid, &start, &end) == 0 && *end == '\0', "this process's id parses: %s", me);
	ok(pid == (unsigned long)getpid() && start > 0, "it is our pid and a start time");
	ok(xo_writer_alive(pid, start), "we are alive");
	ok(!xo_writer_alive(pid, start + 1), "our pid with another start time is a dead writer");
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	ok(!xo_writer_alive((unsigned long)child, start), "a process that exited is dead");
	ok(!xo_writer_alive(0, 0), "pid 0 is no writer");
	ok(xo_writer_parse("12.34.rest", &pid, &start, &end) == 0 && pid == 12 && start == 34 &&
		   strcmp(end, ".rest") == 0, "an id at the start of a name");
	ok(xo_writer_parse("x.1", &pid, &start, &end) < 0 && xo_writer_parse("1.", &pid, &start, &end) < 0 &&
		   xo_writer_parse("1x", &pid, &start, &end) < 0, "malformed ids are refused");
	child = fork();
	if (child == 0) {
		const char *id = xo_writer_id();
		char want[64];
		snprintf(want, sizeof(want), "%d.", (int)getpid());
		_exit(strncmp(id, want, strlen(want)) == 0 ? 0 : 1);
	}
	int st;
	waitpid(child, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child has its own id");
}

static void test_trusted(void)
{
	char tmpl[] = "/tmp/xo-unit-util.XXXXXX";
	char *dir = mkdtemp(tmpl);
	xo_err e;

	chmod(dir, 0755);
	char *sub = xasprintf("%s/sub", dir), *f = xasprintf("%s/sub/script", dir);
	char *link = xasprintf("%s/open/link", dir), *open_dir = xasprintf("%s/open", dir);
	mkdir(sub, 0755);
	int fd = open(f, O_WRONLY | O_CREAT, 0755);
	close(fd);
	chmod(f, 0755);
	ok(xo_path_trusted(f, "x", XO_E_HOOK, &e) == 0, "a root-owned 0755 file in 0755 directories runs");
	chmod(f, 0757);
	ok(xo_path_trusted(f, "x", XO_E_HOOK, &e) < 0 && e.cls == XO_E_HOOK && strstr(e.msg, "writable by others"),
	   "a world-writable file does not: %s", e.msg);
	chmod(f, 0775);
	ok(xo_path_trusted(f, "x", XO_E_HOOK, &e) < 0 && strstr(e.msg, "writable by its group"),
	   "nor a group-writable one");
	chmod(f, 0755);
	chmod(sub, 0777);
	ok(xo_path_trusted(f, "x", XO_E_HOTPLUG, &e) < 0 && e.cls == XO_E_HOTPLUG && strstr(e.msg, sub),
	   "nor one in a world-writable directory: %s", e.msg);
	chmod(sub, 01777);
	ok(xo_path_trusted(f, "x", XO_E_HOOK, &e) == 0, "a sticky directory may be world-writable");
	chmod(sub, 0755);
	mkdir(open_dir, 0777);
	chmod(open_dir, 0777);
	symlink(f, link);
	ok(xo_path_trusted(link, "x", XO_E_HOOK, &e) < 0 && strstr(e.msg, open_dir),
	   "nor a link to it from a world-writable directory: %s", e.msg);
	ok(xo_path_trusted("rel/script", "x", XO_E_HOOK, &e) < 0 && strstr(e.msg, "not an absolute path"),
	   "a relative path is refused");
	ok(xo_path_trusted(sub, "x", XO_E_HOOK, &e) < 0 && strstr(e.msg, "not a regular file"),
	   "a directory is not a script");
	char *none = xasprintf("%s/none", dir);
	ok(xo_path_trusted(none, "x", XO_E_HOOK, &e) < 0 && strstr(e.msg, "cannot check"),
	   "a missing file is refused");
	if (getuid() == 0) {
		chown(f, 65534, 65534);
		ok(xo_path_trusted(f, "x", XO_E_HOOK, &e) < 0 && strstr(e.msg, "owned by uid 65534"),
		   "a file another user owns is refused: %s", e.msg);
	}
	unlink(link);
	rmdir(open_dir);
	unlink(f);
	rmdir(sub);
	rmdir(dir);
	free(sub);
	free(f);
	free(link);
	free(open_dir);
	free(none);
}

static void test_read_max(void)
{
	int p[2];
	char *out = NULL;
	size_t len = 0;

	pipe(p);
	write(p[1], "0123456789", 10);
	close(p[1]);
	ok(xo_read_all_max(p[0], 10, &out, &len) == 0 && len == 10 && strcmp(out, "0123456789") == 0,
	   "a read up to the limit works");
	close(p[0]);
	free(out);
	pipe(p);
	write(p[1], "0123456789x", 11);
	close(p[1]);
	errno = 0;
	ok(xo_read_all_max(p[0], 10, &out, &len) < 0 && errno == EFBIG, "one byte more is EFBIG");
	close(p[0]);
}

int main(void)
{
	test_escape();
	test_writers();
	test_trusted();
	test_read_max();
	return tap_done();
}
