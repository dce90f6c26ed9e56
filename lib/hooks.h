/*
 * hooks.h: hook scripts, xapi.d-compatible.
 *
 * The executables in $XO_HOOK_DIR/<hook>/ (default /etc/xo/hooks, the
 * /etc/xapi.d layout)
 * are run in name order with "-vmuuid U -reason R" and "-vmdomid D" when
 * the VM has a domain, stdin from /dev/null, PATH=/sbin:/usr/sbin:/bin:/usr/bin
 * and nothing else in the environment, stdout and stderr captured. Hidden
 * files and files that are not executable are skipped. Exit 0: fine;
 * exit 1: its output is logged as a warning and the next one runs; anything
 * else aborts with class hook_failed, naming the script and showing its
 * output. Hooks: vm-pre-start, vm-pre-shutdown, vm-post-destroy,
 * vm-pre-reboot; reasons: none, clean-shutdown, hard-shutdown,
 * clean-reboot, hard-reboot.
 */
#ifndef XO_HOOKS_H
#define XO_HOOKS_H

#include "cancel.h"

const char *xo_hook_dir(void);
/* domid < 0: no -vmdomid; a cancel of c's task stops a running hook */
int xo_hooks_run(const char *hook, const char *vm_uuid, const char *reason,
		 int domid, const struct xo_cancel *c, xo_err *e);
bool xo_hook_name_valid(const char *hook);

#endif
