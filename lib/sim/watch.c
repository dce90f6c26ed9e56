/*
 * watch.c: watches, indexed by path.
 *
 * Every watched path has a bucket in a hash table; the bucket lists the
 * watches on that exact path (a client's watches and the simulator's
 * internal ones). A change of /a/b/c fires the buckets of /a/b/c, /a/b, /a
 * and /, four lookups whatever the number of watches or domains; a removed
 * child (exact) fires only its own bucket; "@introduceDomain" and
 * "@releaseDomain" are buckets like any other.
 *
 * As in the C xenstored, an unprivileged connection gets an event only if
 * it may read the node (with its permissions now or before the change) or
 * the node's parent. A relative watch reports paths relative to the
 * connection's domain path. Internal watches are called synchronously and
 * must only schedule deferred tasks.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct wbucket {
	struct wbucket *hnext;
	struct sim_watch *head;
	uint32_t hash;
	char path[];
};

struct sim_watch {
	struct sim_watch *bnext, *bprev;
	struct sim_watch *cnext, *cprev;
	struct wbucket *b;
	struct sim_conn *conn;
	struct sim_watch_list *list;
	sim_watch_cb cb;
	void *arg;
	unsigned prefix_len;
	char *token;
};

static struct wbucket **tab;
static size_t tabsize, nbuckets;
static unsigned long nwatches;

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static struct wbucket *bucket_find(const char *path, uint32_t h)
{
	if (!tab)
		return NULL;
	for (struct wbucket *b = tab[h & (tabsize - 1)]; b; b = b->hnext)
		if (b->hash == h && strcmp(b->path, path) == 0)
			return b;
	return NULL;
}

static struct wbucket *bucket_get(const char *path)
{
	uint32_t h = hash_str(path);
	struct wbucket *b = bucket_find(path, h);
	size_t l;

	if (b)
		return b;
	if (!tab) {
		tabsize = 1024;
		tab = xcalloc(tabsize, sizeof(*tab));
	}
	if (nbuckets + 1 > tabsize) {
		size_t nsize = tabsize * 2;
		struct wbucket **ntab = xcalloc(nsize, sizeof(*ntab));
		for (size_t i = 0; i < tabsize; i++) {
			struct wbucket *x = tab[i], *next;
			for (; x; x = next) {
				next = x->hnext;
				x->hnext = ntab[x->hash & (nsize - 1)];
				ntab[x->hash & (nsize - 1)] = x;
			}
		}
		free(tab);
		tab = ntab;
		tabsize = nsize;
	}
	l = strlen(path);
	b = xcalloc(1, sizeof(*b) + l + 1);
	memcpy(b->path, path, l + 1);
	b->hash = h;
	b->hnext = tab[h & (tabsize - 1)];
	tab[h & (tabsize - 1)] = b;
	nbuckets++;
	return b;
}

static void bucket_put(struct wbucket *b)
{
	if (b->head)
		return;
	struct wbucket **pp = &tab[b->hash & (tabsize - 1)];
	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	nbuckets--;
	free(b);
}

static struct sim_watch *watch_new(const char *path)
{
	struct sim_watch *w = xcalloc(1, sizeof(*w));

	w->b = bucket_get(path);
	w->bnext = w->b->head;
	if (w->bnext)
		w->bnext->bprev = w;
	w->b->head = w;
	nwatches++;
	return w;
}

struct sim_watch *sim_watch_add_conn(struct sim_conn *c, struct sim_watch_list *l,
				     const char *path, const char *token, unsigned prefix_len)
{
	struct sim_watch *w = watch_new(path);

	w->conn = c;
	w->list = l;
	w->token = xstrdup(token);
	w->prefix_len = prefix_len;
	w->cnext = l->head;
	if (w->cnext)
		w->cnext->cprev = w;
	l->head = w;
	l->count++;
	return w;
}

struct sim_watch *sim_watch_add(const char *path, sim_watch_cb cb, void *arg)
{
	struct sim_watch *w = watch_new(path);

	w->cb = cb;
	w->arg = arg;
	return w;
}

void sim_watch_del(struct sim_watch *w)
{
	if (!w)
		return;
	if (w->bprev)
		w->bprev->bnext = w->bnext;
	else
		w->b->head = w->bnext;
	if (w->bnext)
		w->bnext->bprev = w->bprev;
	if (w->list) {
		if (w->cprev)
			w->cprev->cnext = w->cnext;
		else
			w->list->head = w->cnext;
		if (w->cnext)
			w->cnext->cprev = w->cprev;
		w->list->count--;
	}
	bucket_put(w->b);
	nwatches--;
	free(w->token);
	free(w);
}

void sim_watch_del_all(struct sim_watch_list *l)
{
	while (l->head)
		sim_watch_del(l->head);
}

struct sim_watch *sim_watch_find(const struct sim_conn *c, const char *path, const char *token)
{
	struct wbucket *b = bucket_find(path, hash_str(path));

	for (struct sim_watch *w = b ? b->head : NULL; w; w = w->bnext)
		if (w->conn == c && strcmp(w->token, token) == 0)
			return w;
	return NULL;
}

unsigned long sim_watch_count(void)
{
	return nwatches;
}

static bool permitted(const struct sim_who *who, const char *path,
		      const struct sim_permset *perms, const struct sim_permset *old)
{
	char parent[4096];
	const struct sim_permset *pp;
	const char *slash;

	if (who->priv)
		return true;
	if (old && (sim_perm_for(who, old) & SIM_PERM_READ))
		return true;
	if (perms && (sim_perm_for(who, perms) & SIM_PERM_READ))
		return true;
	slash = strrchr(path, '/');
	if (path[0] != '/' || !slash)
		return false;
	snprintf(parent, sizeof(parent), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	pp = sim_st_perms(parent);
	return pp && (sim_perm_for(who, pp) & SIM_PERM_READ);
}

static void fire_bucket(const char *bpath, const char *path, const struct sim_permset *perms,
			const struct sim_permset *old)
{
	struct wbucket *b = bucket_find(bpath, hash_str(bpath));

	for (struct sim_watch *w = b ? b->head : NULL; w; w = w->bnext) {
		if (!w->conn) {
			w->cb(w->arg, path);
			continue;
		}
		if (!permitted(sim_conn_who(w->conn), path, perms, old))
			continue;
		sim_xs_send_event(w->conn, path + (strlen(path) >= w->prefix_len ? w->prefix_len : 0),
				  w->token);
	}
}

void sim_watch_fire(const char *path, bool exact, const struct sim_permset *perms,
		    const struct sim_permset *old)
{
	char buf[4096];
	size_t l;

	if (!nwatches)
		return;
	fire_bucket(path, path, perms, old);
	if (exact || path[0] != '/' || strcmp(path, "/") == 0)
		return;
	l = xo_strlcpy(buf, path, sizeof(buf));
	if (l >= sizeof(buf))
		return;
	for (;;) {
		char *slash = strrchr(buf, '/');
		if (slash == buf) {
			fire_bucket("/", path, perms, old);
			return;
		}
		*slash = '\0';
		fire_bucket(buf, path, perms, old);
	}
}

void sim_watch_fire_initial(struct sim_watch *w)
{
	const char *path = w->b->path;

	if (w->conn)
		sim_xs_send_event(w->conn, path + (strlen(path) >= w->prefix_len ? w->prefix_len : 0),
				  w->token);
}
