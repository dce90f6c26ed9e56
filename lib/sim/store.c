/*
 * store.c: the xenstore tree, permissions and transactions.
 *
 * Nodes live in one hash table keyed by their full path, so a lookup costs
 * the same with ten domains as with ten thousand. Each node also links to
 * its parent and its children (a doubly linked sibling list, in creation
 * order, as the C xenstored lists them) and to the other nodes of the same
 * owner (so a dying domain's nodes are found without a scan, and the node
 * quota is a counter). Permission lists are interned: the few distinct
 * lists ("n0", "n0 r5", "b5 r0"...) are shared by all nodes using them.
 *
 * Every change takes the next value of a global generation counter: the
 * changed node gets it, and so does a parent whose list of children
 * changed. That is all conflict detection needs.
 *
 * A transaction is a private overlay: a hash of the paths it touched. The
 * first time a transaction looks at a node (to read it, to check an
 * ancestor's permissions, to change it) its entry takes a copy of the node
 * as it is then (data, permissions, names of children; or absent) and the
 * node's generation (0: absent), as the C xenstored 4.17 does in
 * access_node(): from then on the transaction sees only its copy, so a
 * read in a transaction is repeatable whatever other clients write, and
 * its changes go to the copy. Commit checks every remembered generation
 * against the live tree (any difference, a node read or written that
 * someone else changed, created or removed meanwhile: EAGAIN, nothing
 * applied), then applies deletions, then creations and updates parents
 * first, then fires the watches the operations queued, in order.
 *
 * The operations are written once against a small "view" interface (vget,
 * vcreate, vset_data, vset_perms, vremove, vkids) that either acts on the
 * live tree and fires watches at once, or on a transaction's overlay.
 *
 * Errors follow the C xenstored: ENOENT for a missing node unless the
 * nearest existing ancestor denies the access (then EACCES, so a guest
 * learns nothing about nodes it may not see); EACCES for a denied access;
 * EPERM when a guest tries to give a node away; ENOSPC for quotas; EINVAL
 * for removing "/".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define PATH_BUF 4096

struct node {
	struct node *hnext;
	struct node *parent, *child, *lastchild, *prev, *next;
	struct node *oprev, *onext;
	struct sim_permset *perms;
	char *data;
	uint64_t gen;
	uint32_t datalen, childlen, hash, owner;
	char path[];
};

const struct sim_who sim_dom0 = { 0, true, -1 };

static struct node **tab;
static size_t tabsize, nnodes;
static uint64_t generation;
static struct node *owned_head[SIM_DOMID_MAX];
static unsigned owned_n[SIM_DOMID_MAX];

static struct sim_permset **ptab;
static size_t ptabsize = 256;

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* ---- permission sets --------------------------------------------------------------------- */

static uint32_t hash_perms(const struct sim_perm *p, unsigned n)
{
	uint32_t h = 2166136261u;

	for (unsigned i = 0; i < n; i++)
		h = ((h ^ p[i].id) * 16777619u ^ p[i].perms) * 16777619u;
	return h;
}

struct sim_permset *sim_permset_get(const struct sim_perm *p, unsigned n)
{
	uint32_t h = hash_perms(p, n);
	struct sim_permset **pp = &ptab[h & (ptabsize - 1)], *ps;

	for (ps = *pp; ps; ps = ps->hnext)
		if (ps->hash == h && ps->n == n && memcmp(ps->p, p, n * sizeof(*p)) == 0) {
			ps->refs++;
			return ps;
		}
	ps = xmalloc(sizeof(*ps) + n * sizeof(*p));
	ps->refs = 1;
	ps->hash = h;
	ps->n = n;
	memcpy(ps->p, p, n * sizeof(*p));
	ps->hnext = *pp;
	*pp = ps;
	return ps;
}

static struct sim_permset *permset_ref(struct sim_permset *ps)
{
	if (ps)
		ps->refs++;
	return ps;
}

void sim_permset_put(struct sim_permset *ps)
{
	if (!ps || --ps->refs)
		return;
	struct sim_permset **pp = &ptab[ps->hash & (ptabsize - 1)];
	while (*pp != ps)
		pp = &(*pp)->hnext;
	*pp = ps->hnext;
	free(ps);
}

/* the same list with another owner */
static struct sim_permset *permset_owned_by(const struct sim_permset *ps, uint32_t owner)
{
	struct sim_perm p[64];
	unsigned n = ps->n < XO_ARRAY_SIZE(p) ? ps->n : XO_ARRAY_SIZE(p);

	memcpy(p, ps->p, n * sizeof(*p));
	p[0].id = owner;
	return sim_permset_get(p, n);
}

unsigned sim_perm_for(const struct sim_who *w, const struct sim_permset *ps)
{
	if (w->priv || ps->p[0].id == w->domid ||
	    (w->target >= 0 && ps->p[0].id == (uint32_t)w->target))
		return SIM_PERM_READ | SIM_PERM_WRITE | SIM_PERM_OWNER;
	for (unsigned i = 1; i < ps->n; i++)
		if (ps->p[i].id == w->domid || (w->target >= 0 && ps->p[i].id == (uint32_t)w->target))
			return ps->p[i].perms & SIM_PERM_BOTH;
	return ps->p[0].perms & SIM_PERM_BOTH;
}

void sim_permset_format(const struct sim_permset *ps, struct xo_buf *out)
{
	static const char letter[] = { 'n', 'r', 'w', 'b' };

	for (unsigned i = 0; i < ps->n; i++) {
		xo_buf_printf(out, "%c%u", letter[ps->p[i].perms & SIM_PERM_BOTH], ps->p[i].id);
		xo_buf_add(out, "", 1);
	}
}

int sim_perms_parse(const char *s, size_t len, struct sim_perm **out, unsigned *n)
{
	struct sim_perm *p = NULL;
	unsigned k = 0;
	size_t off = 0;

	while (off < len) {
		const char *str = s + off;
		size_t l = strnlen(str, len - off);
		uint64_t id;
		unsigned perm;

		if (l == len - off) {           /* not terminated */
			free(p);
			return EINVAL;
		}
		switch (str[0]) {
		case 'n': perm = SIM_PERM_NONE; break;
		case 'r': perm = SIM_PERM_READ; break;
		case 'w': perm = SIM_PERM_WRITE; break;
		case 'b': perm = SIM_PERM_BOTH; break;
		default: free(p); return EINVAL;
		}
		if (xo_parse_u64(str + 1, &id) < 0 || id > UINT32_MAX) {
			free(p);
			return EINVAL;
		}
		p = xrealloc(p, (k + 1) * sizeof(*p));
		p[k].id = (uint32_t)id;
		p[k].perms = perm;
		k++;
		off += l + 1;
	}
	if (k == 0) {
		free(p);
		return EINVAL;
	}
	*out = p;
	*n = k;
	return 0;
}

/* ---- the live tree ------------------------------------------------------------------------ */

static struct node *lookup(const char *path)
{
	uint32_t h = hash_str(path);

	for (struct node *n = tab[h & (tabsize - 1)]; n; n = n->hnext)
		if (n->hash == h && strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static void grow(void)
{
	size_t nsize = tabsize * 2;
	struct node **ntab = xcalloc(nsize, sizeof(*ntab));

	for (size_t i = 0; i < tabsize; i++) {
		struct node *n = tab[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			n->hnext = ntab[n->hash & (nsize - 1)];
			ntab[n->hash & (nsize - 1)] = n;
		}
	}
	free(tab);
	tab = ntab;
	tabsize = nsize;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void owner_link(struct node *n)
{
	n->owner = n->perms->p[0].id;
	if (n->owner >= SIM_DOMID_MAX)
		return;
	n->oprev = NULL;
	n->onext = owned_head[n->owner];
	if (n->onext)
		n->onext->oprev = n;
	owned_head[n->owner] = n;
	owned_n[n->owner]++;
}

static void owner_unlink(struct node *n)
{
	if (n->owner >= SIM_DOMID_MAX)
		return;
	if (n->oprev)
		n->oprev->onext = n->onext;
	else
		owned_head[n->owner] = n->onext;
	if (n->onext)
		n->onext->oprev = n->oprev;
	owned_n[n->owner]--;
}

static void set_node_perms(struct node *n, struct sim_permset *ps)
{
	struct sim_permset *old = n->perms;

	n->perms = ps;
	if (!old || old->p[0].id != ps->p[0].id) {
		if (old)
			owner_unlink(n);
		owner_link(n);
	}
	sim_permset_put(old);
}

static struct node *node_new(struct node *parent, const char *path, struct sim_permset *perms,
			     const void *data, unsigned len)
{
	size_t plen = strlen(path);
	struct node *n = xcalloc(1, sizeof(*n) + plen + 1);

	memcpy(n->path, path, plen + 1);
	n->hash = hash_str(path);
	if (len) {
		n->data = xmalloc(len);
		memcpy(n->data, data, len);
		n->datalen = len;
	}
	set_node_perms(n, permset_ref(perms));
	n->gen = ++generation;
	if (++nnodes > tabsize)
		grow();
	n->hnext = tab[n->hash & (tabsize - 1)];
	tab[n->hash & (tabsize - 1)] = n;
	if (parent) {
		n->parent = parent;
		n->prev = parent->lastchild;
		if (parent->lastchild)
			parent->lastchild->next = n;
		else
			parent->child = n;
		parent->lastchild = n;
		parent->childlen += strlen(base_name(path)) + 1;
		parent->gen = ++generation;
	}
	return n;
}

static void node_set_data(struct node *n, const void *data, unsigned len)
{
	if (len != n->datalen) {
		free(n->data);
		n->data = len ? xmalloc(len) : NULL;
	}
	if (len)
		memcpy(n->data, data, len);
	n->datalen = len;
	n->gen = ++generation;
}

/* unlink from the hash and the owner list, free; children first. fire: watches */
static void node_destroy(struct node *n, bool fire, bool root)
{
	while (n->child) {
		struct node *c = n->child;
		n->child = c->next;
		node_destroy(c, fire, false);
	}
	if (fire)
		sim_watch_fire(n->path, !root, n->perms, NULL);
	struct node **pp = &tab[n->hash & (tabsize - 1)];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	nnodes--;
	owner_unlink(n);
	sim_permset_put(n->perms);
	free(n->data);
	free(n);
}

static void node_remove(struct node *n, bool fire)
{
	struct node *p = n->parent;

	if (p) {
		if (n->prev)
			n->prev->next = n->next;
		else
			p->child = n->next;
		if (n->next)
			n->next->prev = n->prev;
		else
			p->lastchild = n->prev;
		p->childlen -= strlen(base_name(n->path)) + 1;
		p->gen = ++generation;
	}
	node_destroy(n, fire, true);
}

void sim_store_init(void)
{
	struct sim_perm p0 = { 0, SIM_PERM_NONE };
	struct sim_permset *ps;

	tabsize = 1024;
	tab = xcalloc(tabsize, sizeof(*tab));
	ptab = xcalloc(ptabsize, sizeof(*ptab));
	ps = sim_permset_get(&p0, 1);
	node_new(NULL, "/", ps, NULL, 0);
	sim_permset_put(ps);
}

unsigned sim_st_owned(uint32_t domid)
{
	return domid < SIM_DOMID_MAX ? owned_n[domid] : 0;
}

const struct sim_permset *sim_st_perms(const char *path)
{
	struct node *n = lookup(path);
	return n ? n->perms : NULL;
}

void sim_st_remove_owned(uint32_t domid)
{
	if (domid == 0 || domid >= SIM_DOMID_MAX)
		return;
	while (owned_head[domid]) {
		struct node *top = owned_head[domid];
		for (struct node *a = top->parent; a; a = a->parent)
			if (a->owner == domid)
				top = a;
		if (!top->parent)
			break;                  /* never remove "/" */
		node_remove(top, true);
	}
}

/* ---- transactions ------------------------------------------------------------------------- */

struct txe {
	struct txe *hnext, *next;
	uint64_t gen_seen;
	struct sim_permset *perms, *oldperms;
	char *data;
	uint32_t datalen, hash;
	struct xo_buf kids;
	uint8_t fire;                   /* 0 none, 1 exact, 2 the node and its ancestors */
	bool modified, exists;
	char path[];
};

struct sim_tx {
	struct sim_who who;
	struct txe **tab;
	size_t tabsize, n;
	struct txe *first, *last;
	unsigned created;
};

struct sim_tx *sim_tx_begin(const struct sim_who *w)
{
	struct sim_tx *tx = xcalloc(1, sizeof(*tx));

	tx->who = *w;
	tx->tabsize = 16;
	tx->tab = xcalloc(tx->tabsize, sizeof(*tx->tab));
	return tx;
}

static void tx_free(struct sim_tx *tx)
{
	struct txe *e = tx->first, *next;

	for (; e; e = next) {
		next = e->next;
		sim_permset_put(e->perms);
		sim_permset_put(e->oldperms);
		free(e->data);
		xo_buf_free(&e->kids);
		free(e);
	}
	free(tx->tab);
	free(tx);
}

static struct txe *txe_lookup(struct sim_tx *tx, const char *path, uint32_t h)
{
	for (struct txe *e = tx->tab[h & (tx->tabsize - 1)]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static void live_kids(const struct node *n, struct xo_buf *out)
{
	for (const struct node *c = n ? n->child : NULL; c; c = c->next)
		xo_buf_add(out, base_name(c->path), strlen(base_name(c->path)) + 1);
}

/* the transaction's entry for path: at first sight a copy of the live node and
 * its generation; NULL: quota */
static struct txe *txe_get(struct sim_tx *tx, const char *path)
{
	uint32_t h = hash_str(path);
	struct txe *e = txe_lookup(tx, path, h);
	struct node *n;
	size_t plen;

	if (e)
		return e;
	if (!tx->who.priv && tx->n >= SIM_QUOTA_TX_NODES)
		return NULL;
	if (tx->n + 1 > tx->tabsize) {
		size_t nsize = tx->tabsize * 2;
		struct txe **ntab = xcalloc(nsize, sizeof(*ntab));
		for (struct txe *i = tx->first; i; i = i->next) {
			i->hnext = ntab[i->hash & (nsize - 1)];
			ntab[i->hash & (nsize - 1)] = i;
		}
		free(tx->tab);
		tx->tab = ntab;
		tx->tabsize = nsize;
	}
	plen = strlen(path);
	e = xcalloc(1, sizeof(*e) + plen + 1);
	memcpy(e->path, path, plen + 1);
	e->hash = h;
	n = lookup(path);
	if (n) {
		e->gen_seen = n->gen;
		e->oldperms = permset_ref(n->perms);
		e->exists = true;
		e->perms = permset_ref(n->perms);
		if (n->datalen) {
			e->data = xmalloc(n->datalen);
			memcpy(e->data, n->data, n->datalen);
		}
		e->datalen = n->datalen;
		live_kids(n, &e->kids);
	}
	e->hnext = tx->tab[h & (tx->tabsize - 1)];
	tx->tab[h & (tx->tabsize - 1)] = e;
	if (tx->last)
		tx->last->next = e;
	else
		tx->first = e;
	tx->last = e;
	tx->n++;
	return e;
}


/* the entry's copy is to be applied at commit */
static void mark_modified(struct txe *e)
{
	e->modified = true;
}

static void kids_remove(struct xo_buf *kids, const char *name)
{
	size_t l = strlen(name) + 1;

	for (size_t off = 0; off < kids->len; off += strlen(kids->s + off) + 1)
		if (strcmp(kids->s + off, name) == 0) {
			memmove(kids->s + off, kids->s + off + l, kids->len - off - l);
			kids->len -= l;
			kids->s[kids->len] = '\0';
			return;
		}
}

static void mark_fire(struct txe *e, bool exact)
{
	uint8_t f = exact ? 1 : 2;
	if (e->fire < f)
		e->fire = f;
}

/* ---- the view: the live tree, or a transaction's overlay ------------------------------------ */

struct view {
	bool exists;
	const char *data;
	uint32_t len;
	const struct sim_permset *perms;
	uint64_t gen;
};

static int vget(struct sim_tx *tx, const char *path, struct view *v)
{
	struct node *n;

	memset(v, 0, sizeof(*v));
	if (tx) {
		struct txe *e = txe_get(tx, path);
		if (!e)
			return ENOSPC;
		v->exists = e->exists;
		v->data = e->data;
		v->len = e->datalen;
		v->perms = e->perms;
		v->gen = e->gen_seen;
		return 0;
	}
	n = lookup(path);
	if (n) {
		v->exists = true;
		v->data = n->data;
		v->len = n->datalen;
		v->perms = n->perms;
		v->gen = n->gen;
	}
	return 0;
}

static void vkids(struct sim_tx *tx, const char *path, struct xo_buf *out)
{
	if (tx) {
		struct txe *e = txe_get(tx, path);
		if (e && e->kids.len)
			xo_buf_add(out, e->kids.s, e->kids.len);
		if (e)
			return;
	}
	live_kids(lookup(path), out);
}

static int vset_data(struct sim_tx *tx, const char *path, const void *data, unsigned len)
{
	if (tx) {
		struct txe *e = txe_get(tx, path);
		if (!e)
			return ENOSPC;
		mark_modified(e);
		free(e->data);
		e->data = len ? xmalloc(len) : NULL;
		if (len)
			memcpy(e->data, data, len);
		e->datalen = len;
		mark_fire(e, false);
		return 0;
	}
	struct node *n = lookup(path);
	node_set_data(n, data, len);
	sim_watch_fire(path, false, n->perms, NULL);
	return 0;
}

/* create path under its (existing) parent; no watch fired */
static int vcreate(struct sim_tx *tx, const char *path, struct sim_permset *perms,
		   const void *data, unsigned len)
{
	char parent[PATH_BUF];
	const char *slash = strrchr(path, '/');
	size_t pl = slash == path ? 1 : (size_t)(slash - path);

	memcpy(parent, path, pl);
	parent[pl] = '\0';
	if (tx) {
		struct txe *pe = txe_get(tx, parent), *e;
		if (!pe)
			return ENOSPC;
		e = txe_get(tx, path);
		if (!e)
			return ENOSPC;
		mark_modified(pe);
		xo_buf_add(&pe->kids, slash + 1, strlen(slash + 1) + 1);
		mark_modified(e);
		e->exists = true;
		sim_permset_put(e->perms);
		e->perms = permset_ref(perms);
		free(e->data);
		e->data = len ? xmalloc(len) : NULL;
		if (len)
			memcpy(e->data, data, len);
		e->datalen = len;
		xo_buf_reset(&e->kids);
		if (!tx->who.priv)
			tx->created++;
		return 0;
	}
	node_new(lookup(parent), path, perms, data, len);
	return 0;
}

static int vset_perms(struct sim_tx *tx, const char *path, struct sim_permset *ps)
{
	if (tx) {
		struct txe *e = txe_get(tx, path);
		if (!e)
			return ENOSPC;
		mark_modified(e);
		sim_permset_put(e->perms);
		e->perms = permset_ref(ps);
		mark_fire(e, false);
		return 0;
	}
	struct node *n = lookup(path);
	struct sim_permset *old = permset_ref(n->perms);
	set_node_perms(n, permset_ref(ps));
	n->gen = ++generation;
	sim_watch_fire(path, false, n->perms, old);
	sim_permset_put(old);
	return 0;
}

static int tx_remove(struct sim_tx *tx, const char *path, bool root)
{
	struct xo_buf kids = XO_BUF_INIT;
	char child[PATH_BUF];
	struct txe *e;
	int r = 0;

	vkids(tx, path, &kids);
	for (size_t off = 0; off < kids.len && !r; off += strlen(kids.s + off) + 1) {
		snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", kids.s + off);
		r = tx_remove(tx, child, false);
	}
	xo_buf_free(&kids);
	if (r)
		return r;
	e = txe_get(tx, path);
	if (!e)
		return ENOSPC;
	mark_modified(e);
	if (!e->oldperms && e->perms)
		e->oldperms = permset_ref(e->perms);
	e->exists = false;
	free(e->data);
	e->data = NULL;
	e->datalen = 0;
	xo_buf_reset(&e->kids);
	mark_fire(e, !root);
	return 0;
}

static int vremove(struct sim_tx *tx, const char *path)
{
	char parent[PATH_BUF];
	const char *slash = strrchr(path, '/');
	size_t pl = slash == path ? 1 : (size_t)(slash - path);
	int r;

	if (!tx) {
		node_remove(lookup(path), true);
		return 0;
	}
	memcpy(parent, path, pl);
	parent[pl] = '\0';
	struct txe *pe = txe_get(tx, parent);
	if (!pe)
		return ENOSPC;
	r = tx_remove(tx, path, true);
	if (r)
		return r;
	mark_modified(pe);
	kids_remove(&pe->kids, slash + 1);
	return 0;
}

static size_t depth(const char *path)
{
	size_t d = 0;
	for (; *path; path++)
		d += *path == '/';
	return d;
}

static int cmp_depth(const void *a, const void *b)
{
	size_t da = depth((*(struct txe *const *)a)->path), db = depth((*(struct txe *const *)b)->path);
	return da < db ? -1 : da > db;
}

int sim_tx_end(struct sim_tx *tx, bool commit)
{
	struct txe **upd = NULL;
	size_t nupd = 0;

	if (!commit) {
		tx_free(tx);
		return 0;
	}
	for (struct txe *e = tx->first; e; e = e->next) {
		struct node *n = lookup(e->path);
		if ((n ? n->gen : 0) != e->gen_seen) {
			tx_free(tx);
			return EAGAIN;
		}
	}
	if (!tx->who.priv && tx->created &&
	    sim_st_owned(tx->who.domid) + tx->created > SIM_QUOTA_NODES) {
		tx_free(tx);
		return ENOSPC;
	}
	for (struct txe *e = tx->first; e; e = e->next) {
		if (!e->modified)
			continue;
		if (!e->exists) {
			struct node *n = lookup(e->path);
			if (n)
				node_remove(n, false);
		} else {
			upd = xrealloc(upd, (nupd + 1) * sizeof(*upd));
			upd[nupd++] = e;
		}
	}
	if (nupd)
		qsort(upd, nupd, sizeof(*upd), cmp_depth);
	for (size_t i = 0; i < nupd; i++) {
		struct txe *e = upd[i];
		struct node *n = lookup(e->path);
		if (n) {
			node_set_data(n, e->data, e->datalen);
			if (n->perms != e->perms)
				set_node_perms(n, permset_ref(e->perms));
		} else {
			char parent[PATH_BUF];
			const char *slash = strrchr(e->path, '/');
			size_t pl = slash == e->path ? 1 : (size_t)(slash - e->path);
			memcpy(parent, e->path, pl);
			parent[pl] = '\0';
			struct node *p = lookup(parent);
			if (p)
				node_new(p, e->path, e->perms, e->data, e->datalen);
			else
				sim_log("transaction commit: no parent for '%s'", e->path);
		}
	}
	free(upd);
	for (struct txe *e = tx->first; e; e = e->next) {
		if (!e->fire)
			continue;
		struct node *n = lookup(e->path);
		sim_watch_fire(e->path, e->fire == 1, n ? n->perms : NULL, e->oldperms);
	}
	tx_free(tx);
	return 0;
}

/* ---- the operations ----------------------------------------------------------------------- */

static size_t parent_len(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash == path ? 1 : (size_t)(slash - path);
}

/* the errno for a missing or denied node: EACCES unless the nearest existing
 * ancestor grants perm (then errnum) */
static int errno_from_parents(const struct sim_who *w, struct sim_tx *tx, const char *path,
			      int errnum, unsigned perm)
{
	char buf[PATH_BUF];
	struct view v;

	xo_strlcpy(buf, path, sizeof(buf));
	while (strcmp(buf, "/") != 0) {
		buf[parent_len(buf)] = '\0';
		if (vget(tx, buf, &v))
			return ENOSPC;
		if (v.exists)
			return (sim_perm_for(w, v.perms) & perm) ? errnum : EACCES;
	}
	return EACCES;
}

static int get_checked(const struct sim_who *w, struct sim_tx *tx, const char *path,
		       unsigned perm, struct view *v)
{
	int r = vget(tx, path, v);

	if (r)
		return r;
	if (!v->exists)
		return errno_from_parents(w, tx, path, ENOENT, perm);
	if ((sim_perm_for(w, v->perms) & perm) != perm)
		return EACCES;
	return 0;
}

int sim_st_read(const struct sim_who *w, struct sim_tx *tx, const char *path,
		const char **data, unsigned *len)
{
	struct view v;
	int r = get_checked(w, tx, path, SIM_PERM_READ, &v);

	if (r)
		return r;
	*data = v.data ? v.data : "";
	*len = v.len;
	return 0;
}

/* create path and its missing ancestors, inheriting permissions */
static int create_path(const struct sim_who *w, struct sim_tx *tx, const char *path,
		       const void *data, unsigned len)
{
	char buf[PATH_BUF];
	size_t ends[256], k = 0;
	struct view v;
	struct sim_permset *ps;
	int r;

	/* find the nearest existing ancestor; remember where each missing level ends */
	xo_strlcpy(buf, path, sizeof(buf));
	for (;;) {
		if (k == XO_ARRAY_SIZE(ends))
			return EINVAL;
		ends[k++] = strlen(buf);
		buf[parent_len(buf)] = '\0';
		if ((r = vget(tx, buf, &v)))
			return r;
		if (v.exists)
			break;
	}
	if (!w->priv) {
		unsigned have = sim_st_owned(w->domid) + (tx ? tx->created : 0);
		if (have + k > SIM_QUOTA_NODES)
			return ENOSPC;
	}
	ps = w->priv ? permset_ref((struct sim_permset *)v.perms)
		     : permset_owned_by(v.perms, w->domid);
	xo_strlcpy(buf, path, sizeof(buf));
	while (k > 0) {
		size_t end = ends[--k];
		char save = buf[end];
		buf[end] = '\0';
		r = vcreate(tx, buf, ps, k == 0 ? data : NULL, k == 0 ? len : 0);
		buf[end] = save;
		if (r)
			break;
	}
	sim_permset_put(ps);
	return r;
}

int sim_st_write(const struct sim_who *w, struct sim_tx *tx, const char *path,
		 const void *data, unsigned len)
{
	struct view v;
	int r;

	if (!w->priv && len > SIM_QUOTA_NODE_SIZE)
		return ENOSPC;
	if ((r = vget(tx, path, &v)))
		return r;
	if (v.exists) {
		if (!(sim_perm_for(w, v.perms) & SIM_PERM_WRITE))
			return EACCES;
		return vset_data(tx, path, data, len);
	}
	r = errno_from_parents(w, tx, path, ENOENT, SIM_PERM_WRITE);
	if (r != ENOENT)
		return r;
	if ((r = create_path(w, tx, path, data, len)))
		return r;
	if (tx)
		mark_fire(txe_get(tx, path), false);
	else
		sim_watch_fire(path, false, lookup(path)->perms, NULL);
	return 0;
}

int sim_st_mkdir(const struct sim_who *w, struct sim_tx *tx, const char *path)
{
	struct view v;
	int r;

	if ((r = vget(tx, path, &v)))
		return r;
	if (v.exists)
		return (sim_perm_for(w, v.perms) & SIM_PERM_WRITE) ? 0 : EACCES;
	r = errno_from_parents(w, tx, path, ENOENT, SIM_PERM_WRITE);
	if (r != ENOENT)
		return r;
	if ((r = create_path(w, tx, path, NULL, 0)))
		return r;
	if (tx)
		mark_fire(txe_get(tx, path), false);
	else
		sim_watch_fire(path, false, lookup(path)->perms, NULL);
	return 0;
}

int sim_st_rm(const struct sim_who *w, struct sim_tx *tx, const char *path)
{
	char parent[PATH_BUF];
	struct view v;
	int r;

	if ((r = vget(tx, path, &v)))
		return r;
	if (v.exists) {
		if (!(sim_perm_for(w, v.perms) & SIM_PERM_WRITE))
			return EACCES;
		if (strcmp(path, "/") == 0)
			return EINVAL;
		return vremove(tx, path);
	}
	r = errno_from_parents(w, tx, path, ENOENT, SIM_PERM_WRITE);
	if (r != ENOENT)
		return r;
	xo_strlcpy(parent, path, sizeof(parent));
	parent[parent_len(parent)] = '\0';
	if ((r = vget(tx, parent, &v)))
		return r;
	return v.exists ? 0 : ENOENT;
}

int sim_st_dir(const struct sim_who *w, struct sim_tx *tx, const char *path,
	       struct xo_buf *out, uint64_t *gen)
{
	struct view v;
	int r = get_checked(w, tx, path, SIM_PERM_READ, &v);

	if (r)
		return r;
	vkids(tx, path, out);
	if (gen)
		*gen = v.gen;
	return 0;
}

int sim_st_get_perms(const struct sim_who *w, struct sim_tx *tx, const char *path,
		     struct xo_buf *out)
{
	struct view v;
	int r = get_checked(w, tx, path, SIM_PERM_READ, &v);

	if (r)
		return r;
	sim_permset_format(v.perms, out);
	return 0;
}

int sim_st_set_perms(const struct sim_who *w, struct sim_tx *tx, const char *path,
		     const struct sim_perm *p, unsigned n)
{
	struct sim_permset *ps;
	struct view v;
	int r;

	if (!w->priv && n > SIM_QUOTA_PERMS)
		return ENOSPC;
	r = get_checked(w, tx, path, SIM_PERM_WRITE | SIM_PERM_OWNER, &v);
	if (r)
		return r;
	if (!w->priv && p[0].id != v.perms->p[0].id)
		return EPERM;
	ps = sim_permset_get(p, n);
	r = vset_perms(tx, path, ps);
	sim_permset_put(ps);
	return r;
}

/* ---- conveniences ------------------------------------------------------------------------- */

int sim_xs_write(const struct sim_who *w, const char *path, const char *value)
{
	int r = sim_st_write(w, NULL, path, value, (unsigned)strlen(value));

	if (r)
		sim_log("write of '%s' as domain %u failed: %s", path, w->domid, strerror(r));
	return r;
}

char *sim_xs_read(const struct sim_who *w, const char *path)
{
	const char *data;
	unsigned len;

	if (sim_st_read(w, NULL, path, &data, &len))
		return NULL;
	return xstrndup(data, len);
}

bool sim_xs_exists(const char *path)
{
	return lookup(path) != NULL;
}

int sim_xs_rm(const struct sim_who *w, const char *path)
{
	return sim_st_rm(w, NULL, path);
}

int sim_xs_mkdir_perms(const char *path, const struct sim_perm *p, unsigned n)
{
	int r = sim_st_mkdir(&sim_dom0, NULL, path);

	return r ? r : sim_st_set_perms(&sim_dom0, NULL, path, p, n);
}
