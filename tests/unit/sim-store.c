/*
 * sim-store: unit tests of the simulator's xenstore tree (lib/sim/store.c)
 * and watch index (lib/sim/watch.c), in process, TAP output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

static int n, failed;

#define CHECK(cond, ...)                                                                          \
	do {                                                                                      \
		n++;                                                                              \
		if (cond) {                                                                       \
			printf("ok %d - ", n);                                                    \
		} else {                                                                          \
			printf("not ok %d - ", n);                                                \
			failed++;                                                                 \
		}                                                                                 \
		printf(__VA_ARGS__);                                                              \
		printf("\n");                                                                     \
	} while (0)

static const struct sim_who guest5 = { 5, false, -1 };
static const struct sim_who guest6 = { 6, false, -1 };

static char *rd(const struct sim_who *w, struct sim_tx *tx, const char *path, int *err)
{
	const char *d;
	unsigned len;

	*err = sim_st_read(w, tx, path, &d, &len);
	return *err ? NULL : xstrndup(d, len);
}

static bool is(const struct sim_who *w, struct sim_tx *tx, const char *path, const char *want)
{
	int err;
	char *v = rd(w, tx, path, &err);
	bool ok = want ? v && strcmp(v, want) == 0 : !v;
	free(v);
	return ok;
}

static int wr(const struct sim_who *w, struct sim_tx *tx, const char *path, const char *v)
{
	return sim_st_write(w, tx, path, v, (unsigned)strlen(v));
}

static char fired[8192];

static void on_fire(void *arg, const char *path)
{
	(void)arg;
	snprintf(fired + strlen(fired), sizeof(fired) - strlen(fired), "%s%s", *fired ? " " : "", path);
}

static void domain_dir(uint32_t d)
{
	char path[64];
	struct sim_perm ro[2] = { { 0, SIM_PERM_NONE }, { d, SIM_PERM_READ } };
	struct sim_perm rw[1] = { { d, SIM_PERM_NONE } };

	snprintf(path, sizeof(path), "/local/domain/%u", d);
	sim_xs_mkdir_perms(path, ro, 2);
	snprintf(path, sizeof(path), "/local/domain/%u/data", d);
	sim_xs_mkdir_perms(path, rw, 1);
}

int main(void)
{
	struct xo_buf b = XO_BUF_INIT;
	struct sim_tx *tx, *tx2;
	struct sim_watch *w;
	int err;

	printf("1..34\n");
	sim_store_init();
	domain_dir(5);
	domain_dir(6);

	/* the tree */
	CHECK(wr(&sim_dom0, NULL, "/a/b/c", "v") == 0 && is(&sim_dom0, NULL, "/a/b/c", "v"),
	      "a write creates the missing parents");
	CHECK(is(&sim_dom0, NULL, "/a/b", ""), "a created parent is empty");
	wr(&sim_dom0, NULL, "/a/b/d", "w");
	sim_st_dir(&sim_dom0, NULL, "/a/b", &b, NULL);
	CHECK(b.len == 4 && memcmp(b.s, "c\0d\0", 4) == 0, "children are listed in creation order");
	xo_buf_reset(&b);
	CHECK(sim_st_rm(&sim_dom0, NULL, "/a") == 0 && !sim_xs_exists("/a/b/c"),
	      "rm removes the subtree");
	CHECK(sim_st_rm(&sim_dom0, NULL, "/a") == 0, "rm of a missing node with a parent is fine");
	CHECK(sim_st_rm(&sim_dom0, NULL, "/x/y") == ENOENT, "rm of a missing node without parent: ENOENT");
	CHECK(sim_st_rm(&sim_dom0, NULL, "/") == EINVAL, "rm / is EINVAL");
	CHECK(sim_st_mkdir(&sim_dom0, NULL, "/local") == 0, "mkdir of an existing node is fine");

	/* permissions */
	CHECK(is(&guest5, NULL, "/local/domain/5", ""), "a guest reads its domain directory (acl)");
	CHECK(wr(&guest5, NULL, "/local/domain/5/name", "x") == EACCES,
	      "a guest may not write a dom0-owned node");
	CHECK(wr(&guest5, NULL, "/local/domain/5/data/k", "1") == 0, "a guest writes its own directory");
	sim_st_get_perms(&guest5, NULL, "/local/domain/5/data/k", &b);
	CHECK(strcmp(b.s, "n5") == 0, "a guest owns what it creates (%s)", b.s);
	xo_buf_reset(&b);
	rd(&guest6, NULL, "/local/domain/5/data/k", &err);
	CHECK(err == EACCES, "another guest may not read it");
	rd(&guest6, NULL, "/local/domain/5/data/none", &err);
	CHECK(err == EACCES, "nor learn that a node is missing there");
	rd(&guest5, NULL, "/local/domain/5/data/none", &err);
	CHECK(err == ENOENT, "the owner gets ENOENT for a missing node");
	{
		struct sim_perm p[2] = { { 5, SIM_PERM_NONE }, { 6, SIM_PERM_READ } };
		struct sim_perm q[1] = { { 6, SIM_PERM_NONE } };
		CHECK(sim_st_set_perms(&guest5, NULL, "/local/domain/5/data/k", p, 2) == 0 &&
		      is(&guest6, NULL, "/local/domain/5/data/k", "1"), "an acl entry grants read");
		CHECK(sim_st_set_perms(&guest5, NULL, "/local/domain/5/data/k", q, 1) == EPERM,
		      "a guest may not give a node away");
	}
	CHECK(sim_st_owned(5) == 2, "ownership is counted (%u)", sim_st_owned(5));

	/* transactions */
	wr(&sim_dom0, NULL, "/t/x", "0");
	tx = sim_tx_begin(&sim_dom0);
	CHECK(is(&sim_dom0, tx, "/t/x", "0"), "a transaction reads the live tree");
	wr(&sim_dom0, tx, "/t/x", "1");
	wr(&sim_dom0, tx, "/t/new/deep", "n");
	CHECK(is(&sim_dom0, NULL, "/t/x", "0") && !sim_xs_exists("/t/new"),
	      "its writes are invisible outside");
	CHECK(is(&sim_dom0, tx, "/t/new/deep", "n"), "and visible inside");
	CHECK(sim_tx_end(tx, true) == 0 && is(&sim_dom0, NULL, "/t/x", "1") &&
	      is(&sim_dom0, NULL, "/t/new/deep", "n"), "commit applies them");
	tx = sim_tx_begin(&sim_dom0);
	tx2 = sim_tx_begin(&sim_dom0);
	is(&sim_dom0, tx, "/t/x", "1");
	wr(&sim_dom0, tx2, "/t/x", "2");
	wr(&sim_dom0, tx, "/t/y", "y");
	CHECK(sim_tx_end(tx2, true) == 0, "the first commit wins");
	CHECK(sim_tx_end(tx, true) == EAGAIN && !sim_xs_exists("/t/y"),
	      "a transaction that read a changed node gets EAGAIN and applies nothing");
	tx = sim_tx_begin(&sim_dom0);
	sim_st_rm(&sim_dom0, tx, "/t");
	wr(&sim_dom0, tx, "/t/again", "a");
	CHECK(sim_tx_end(tx, true) == 0 && !sim_xs_exists("/t/x") && is(&sim_dom0, NULL, "/t/again", "a"),
	      "remove and recreate in one transaction");
	tx = sim_tx_begin(&sim_dom0);
	wr(&sim_dom0, tx, "/aborted", "a");
	CHECK(sim_tx_end(tx, false) == 0 && !sim_xs_exists("/aborted"), "abort applies nothing");

	/* watches */
	w = sim_watch_add("/w", on_fire, NULL);
	wr(&sim_dom0, NULL, "/w/a/b", "1");
	CHECK(strcmp(fired, "/w/a/b") == 0, "a change below a watched node fires it (%s)", fired);
	*fired = '\0';
	wr(&sim_dom0, NULL, "/wx", "1");
	CHECK(*fired == '\0', "a sibling with the same prefix does not");
	sim_watch_del(w);
	w = sim_watch_add("/w/a/b", on_fire, NULL);
	sim_st_rm(&sim_dom0, NULL, "/w");
	CHECK(strcmp(fired, "/w/a/b") == 0, "removing a parent fires a watch on a child (%s)", fired);
	*fired = '\0';
	sim_watch_del(w);
	w = sim_watch_add("/q", on_fire, NULL);
	tx = sim_tx_begin(&sim_dom0);
	wr(&sim_dom0, tx, "/q/1", "1");
	CHECK(*fired == '\0', "a transaction fires nothing before commit");
	sim_tx_end(tx, true);
	CHECK(strcmp(fired, "/q/1") == 0, "and fires at commit (%s)", fired);
	sim_watch_del(w);
	CHECK(sim_watch_count() == 0, "watches are freed");

	/* a dying domain's nodes */
	sim_st_remove_owned(5);
	CHECK(!sim_xs_exists("/local/domain/5/data") && sim_xs_exists("/local/domain/5"),
	      "removing a domain's nodes keeps dom0's");
	CHECK(sim_st_owned(5) == 0, "and its count is 0");
	xo_buf_free(&b);
	return failed ? 1 : 0;
}
