/*
 * xf-hv.c: the Xen family's hypervisor calls, checked (see xf.h).
 */
#include "xf.h"

static int need(const void *fn, const struct xf *x, const char *what, xo_err *e)
{
	if (fn)
		return 0;
	return xo_errf(e, XO_E_UNIMPLEMENTED, "the %s hypervisor cannot %s", x->hv->name, what);
}

int xf_dom_create(struct xf *x, const struct xf_create_args *a, uint32_t *domid, xo_err *e)
{
	if (a->max_vcpus == 0 || a->max_vcpus > XO_VCPUS_MAX)
		return xo_errf(e, XO_E_INVALID, "invalid max vcpus %u", a->max_vcpus);
	if (need(x->hv->domain_create, x, "create domains", e) < 0)
		return -1;
	return x->hv->domain_create(x, a, domid, e);
}

int xf_dom_build(struct xf *x, uint32_t domid, const struct xf_build_args *a,
		 struct xf_build_result *out, xo_err *e)
{
	if (a->memory_target_kib > a->memory_max_kib)
		return xo_errf(e, XO_E_INVALID, "memory target %llu KiB above the maximum %llu KiB",
			       (unsigned long long)a->memory_target_kib,
			       (unsigned long long)a->memory_max_kib);
	if (a->type != XO_VM_HVM && !a->kernel)
		return xo_errf(e, XO_E_INVALID, "a %s domain needs a kernel", xo_vm_type_name(a->type));
	if (need(x->hv->domain_build, x, "build domains", e) < 0)
		return -1;
	return x->hv->domain_build(x, domid, a, out, e);
}

int xf_dom_pause(struct xf *x, uint32_t domid, xo_err *e)
{
	return x->hv->domain_pause(x, domid, e);
}

int xf_dom_unpause(struct xf *x, uint32_t domid, xo_err *e)
{
	return x->hv->domain_unpause(x, domid, e);
}

int xf_dom_shutdown(struct xf *x, uint32_t domid, unsigned reason, xo_err *e)
{
	if (reason > XO_SHUTDOWN_SOFT_RESET)
		return xo_errf(e, XO_E_INVALID, "invalid shutdown reason %u", reason);
	return x->hv->domain_shutdown(x, domid, reason, e);
}

int xf_dom_destroy(struct xf *x, uint32_t domid, xo_err *e)
{
	if (domid == 0)
		return xo_errf(e, XO_E_INVALID, "refusing to destroy domain 0");
	return x->hv->domain_destroy(x, domid, e);
}

int xf_dom_info(struct xf *x, uint32_t domid, struct xf_dominfo *out, xo_err *e)
{
	return x->hv->domain_info(x, domid, out, e);
}

int xf_dom_list(struct xf *x, struct xf_dominfo **out, size_t *n, xo_err *e)
{
	return x->hv->domain_list(x, out, n, e);
}

int xf_dom_set_memory(struct xf *x, uint32_t domid, enum xo_vm_type type, uint64_t target_kib,
		      xo_err *e)
{
	if (domid == 0)
		return xo_errf(e, XO_E_INVALID, "refusing to change the memory of domain 0");
	if (target_kib < 1024)
		return xo_errf(e, XO_E_INVALID, "memory target %llu KiB is below 1 MiB",
			       (unsigned long long)target_kib);
	if (need(x->hv->domain_set_memory, x, "change a domain's memory", e) < 0)
		return -1;
	return x->hv->domain_set_memory(x, domid, type, target_kib, e);
}

int xf_vcpu_set_affinity(struct xf *x, uint32_t domid, unsigned vcpu, const uint8_t *map,
			 xo_err *e)
{
	if (need(x->hv->vcpu_set_affinity, x, "pin vcpus", e) < 0)
		return -1;
	return x->hv->vcpu_set_affinity(x, domid, vcpu, map, e);
}

int xf_vcpu_info(struct xf *x, uint32_t domid, unsigned vcpu, struct xf_vcpuinfo *out, xo_err *e)
{
	if (need(x->hv->vcpu_info, x, "tell a vcpu's state", e) < 0)
		return -1;
	return x->hv->vcpu_info(x, domid, vcpu, out, e);
}
