/*
 * backend.c: choosing the backend, and the checked wrappers (see backend.h).
 */
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "backend.h"
#include "xs.h"
#include "util.h"

static struct xo_backend *cached;

const char *xo_backend_name(void)
{
	const char *s = getenv("XO_BACKEND");
	return s && *s ? s : "xen";
}

int xo_backend_open(struct xo_backend **out, xo_err *e)
{
	const char *name = xo_backend_name();
	struct xo_backend *b;
	int r;

	if (cached) {
		*out = cached;
		return 0;
	}
	b = xcalloc(1, sizeof(*b));
	if (strcmp(name, "xen") == 0)
		r = xo_backend_xen_open(b, e);
	else if (strcmp(name, "sim") == 0)
		r = xo_backend_sim_open(b, e);
	else
		r = xo_errf(e, XO_E_USAGE, "unknown backend '%s' in XO_BACKEND: expected xen or sim", name);
	if (r < 0) {
		free(b);
		return -1;
	}
	cached = b;
	*out = b;
	return 0;
}

void xo_backend_close(void)
{
	if (!cached)
		return;
	if (cached->ops && cached->ops->close)
		cached->ops->close(cached);
	if (cached->xs)
		xs_close(cached->xs);
	free(cached);
	cached = NULL;
}

void xo_backend_forget(void)
{
	cached = NULL;
	xo_xs_forget();
}

static int need(const void *fn, const struct xo_backend *b, const char *what, xo_err *e)
{
	if (fn)
		return 0;
	return xo_errf(e, XO_E_INTERNAL, "the %s backend cannot %s", b->ops->name, what);
}

int xo_dom_create(struct xo_backend *b, const struct xo_domain_create_args *a, uint32_t *domid,
		  xo_err *e)
{
	if (a->max_vcpus == 0 || a->max_vcpus > XO_VCPUS_MAX)
		return xo_errf(e, XO_E_INVALID, "invalid max vcpus %u", a->max_vcpus);
	if (need(b->ops->domain_create, b, "create domains", e) < 0)
		return -1;
	return b->ops->domain_create(b, a, domid, e);
}

int xo_dom_build(struct xo_backend *b, uint32_t domid, const struct xo_domain_build_args *a,
		 struct xo_build_result *out, xo_err *e)
{
	if (a->memory_target_kib > a->memory_max_kib)
		return xo_errf(e, XO_E_INVALID, "memory target %llu KiB above the maximum %llu KiB",
			       (unsigned long long)a->memory_target_kib,
			       (unsigned long long)a->memory_max_kib);
	if (a->type != XO_VM_HVM && !a->kernel)
		return xo_errf(e, XO_E_INVALID, "a %s domain needs a kernel", xo_vm_type_name(a->type));
	if (need(b->ops->domain_build, b, "build domains", e) < 0)
		return -1;
	return b->ops->domain_build(b, domid, a, out, e);
}

int xo_dom_pause(struct xo_backend *b, uint32_t domid, xo_err *e)
{
	return b->ops->domain_pause(b, domid, e);
}

int xo_dom_unpause(struct xo_backend *b, uint32_t domid, xo_err *e)
{
	return b->ops->domain_unpause(b, domid, e);
}

int xo_dom_shutdown(struct xo_backend *b, uint32_t domid, unsigned reason, xo_err *e)
{
	if (reason > XO_SHUTDOWN_SOFT_RESET)
		return xo_errf(e, XO_E_INVALID, "invalid shutdown reason %u", reason);
	return b->ops->domain_shutdown(b, domid, reason, e);
}

int xo_dom_destroy(struct xo_backend *b, uint32_t domid, xo_err *e)
{
	if (domid == 0)
		return xo_errf(e, XO_E_INVALID, "refusing to destroy domain 0");
	return b->ops->domain_destroy(b, domid, e);
}

int xo_dom_info(struct xo_backend *b, uint32_t domid, struct xo_dominfo *out, xo_err *e)
{
	return b->ops->domain_info(b, domid, out, e);
}

int xo_dom_list(struct xo_backend *b, struct xo_dominfo **out, size_t *n, xo_err *e)
{
	return b->ops->domain_list(b, out, n, e);
}

int xo_host_info(struct xo_backend *b, struct xo_hostinfo *out, xo_err *e)
{
	return b->ops->host_info(b, out, e);
}
