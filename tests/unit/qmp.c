/*
 * tests/unit/qmp.c: the QMP client (lib/qmp.c) against a scripted fake qemu.
 *
 * A child process listens on a unix socket and plays qemu's side: greeting,
 * qmp_capabilities, an event slipped in before a reply, an error reply, a
 * reply split across writes, a silent command (timeout) and quit closing
 * the connection. Prints TAP.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "qmp.h"
#include "util.h"

static int n_test, n_fail;

static void ok(int cond, const char *what)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%sok %d - qmp: %s\n", cond ? "" : "not ", n_test, what);
}

static void say(int fd, const char *s)
{
	if (xo_write_all(fd, s, strlen(s)) < 0)
		_exit(3);
}

/* read one line from the client; returns the command name and its id */
static int get_command(int fd, char *cmd, size_t cmdsz, char *id, size_t idsz, char *argsbuf,
		       size_t argsz)
{
	char line[4096];
	size_t n = 0;
	struct json_object *o, *v;
	xo_err e;

	while (n + 1 < sizeof(line)) {
		ssize_t r = read(fd, line + n, 1);
		if (r <= 0)
			return -1;
		if (line[n++] == '\n')
			break;
	}
	o = xo_json_parse(line, n, "command", &e);
	if (!o)
		return -1;
	snprintf(cmd, cmdsz, "%s",
		 json_object_object_get_ex(o, "execute", &v) ? json_object_get_string(v) : "");
	snprintf(id, idsz, "%s", json_object_object_get_ex(o, "id", &v) ? json_object_get_string(v) : "");
	snprintf(argsbuf, argsz, "%s",
		 json_object_object_get_ex(o, "arguments", &v)
			 ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
			 : "");
	json_object_put(o);
	return 0;
}

static void fake_qemu(int lfd)
{
	char cmd[64], id[64], args[1024], out[2048];
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(2);
	say(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, \"capabilities\": []}}\r\n");
	while (get_command(fd, cmd, sizeof(cmd), id, sizeof(id), args, sizeof(args)) == 0) {
		if (strcmp(cmd, "qmp_capabilities") == 0) {
			snprintf(out, sizeof(out), "{\"return\": {}, \"id\": \"%s\"}\r\n", id);
			say(fd, out);
		} else if (strcmp(cmd, "query-status") == 0) {
			say(fd, "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1}}\r\n");
			say(fd, "{\"return\": {\"status\": \"stale\"}, \"id\": \"not-yours\"}\r\n");
			snprintf(out, sizeof(out),
				 "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": \"%s\"}",
				 id);
			say(fd, out);    /* the end of the line comes in a second write */
			say(fd, "\r\n");
		} else if (strcmp(cmd, "echo-args") == 0) {
			snprintf(out, sizeof(out), "{\"return\": %s, \"id\": \"%s\"}\r\n", args, id);
			say(fd, out);
		} else if (strcmp(cmd, "device_add") == 0) {
			snprintf(out, sizeof(out),
				 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such bus\"}, "
				 "\"id\": \"%s\"}\r\n",
				 id);
			say(fd, out);
		} else if (strcmp(cmd, "silent") == 0) {
			/* never answer */
		} else if (strcmp(cmd, "quit") == 0) {
			close(fd);
			_exit(0);
		} else {
			snprintf(out, sizeof(out),
				 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command %s has "
				 "not been found\"}, \"id\": \"%s\"}\r\n",
				 cmd, id);
			say(fd, out);
		}
	}
	_exit(0);
}

int main(void)
{
	char dir[] = "/tmp/xo-qmp-test.XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct xo_qmp *q = NULL;
	struct json_object *ret = NULL, *args, *v;
	xo_err e;
	pid_t pid;
	int lfd, st;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/qmp", dir);

	ok(xo_qmp_connect(sa.sun_path, 1000, &q, &e) < 0 && e.cls == XO_E_SYSTEM &&
		   strstr(e.msg, "cannot connect to QMP socket"),
	   "connecting to a missing socket fails clearly");

	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
		perror("listen");
		return 1;
	}
	pid = fork();
	if (pid == 0)
		fake_qemu(lfd);
	close(lfd);

	ok(xo_qmp_connect(sa.sun_path, 5000, &q, &e) == 0, "greeting and qmp_capabilities");
	if (!q) {
		printf("# %s\n", e.msg);
		return 1;
	}

	ok(xo_qmp_execute(q, "query-status", NULL, &ret, 5000, &e) == 0 && ret &&
		   json_object_object_get_ex(ret, "status", &v) &&
		   strcmp(json_object_get_string(v), "running") == 0,
	   "skips an event and a reply with another id, joins a split line");
	json_object_put(ret);

	args = json_object_new_object();
	xo_json_add_str(args, "driver", "xen-pci-passthrough");
	xo_json_add_str(args, "hostaddr", "0000:00:02.0");
	ok(xo_qmp_execute(q, "echo-args", args, &ret, 5000, &e) == 0 && ret &&
		   json_object_object_get_ex(ret, "hostaddr", &v) &&
		   strcmp(json_object_get_string(v), "0000:00:02.0") == 0,
	   "sends the arguments");
	json_object_put(ret);

	ok(xo_qmp_execute(q, "device_add", args, NULL, 5000, &e) < 0 && e.cls == XO_E_SYSTEM &&
		   strcmp(e.msg, "qemu refused QMP command device_add: no such bus") == 0,
	   "an error reply becomes the error message");
	json_object_put(args);

	ok(xo_qmp_execute(q, "nonsense", NULL, NULL, 5000, &e) < 0 && e.cls == XO_E_NOT_FOUND,
	   "CommandNotFound is class does_not_exist");

	args = json_object_new_array();
	ok(xo_qmp_execute(q, "echo-args", args, NULL, 5000, &e) < 0 && e.cls == XO_E_INVALID,
	   "arguments that are not an object are refused");
	json_object_put(args);

	ok(xo_qmp_execute(q, "silent", NULL, NULL, 200, &e) < 0 && e.cls == XO_E_TIMEOUT &&
		   xo_ecls_exit(e.cls) == XO_EXIT_TIMEOUT,
	   "no reply in time is a timeout");

	ok(xo_qmp_execute(q, "quit", NULL, NULL, 5000, &e) == 0,
	   "quit: the connection closing is the answer");
	xo_qmp_close(q);

	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the fake qemu saw a well-formed session");

	unlink(sa.sun_path);
	rmdir(dir);
	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}
