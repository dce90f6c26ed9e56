/*
 * updates.h: the event log and its tokens.
 *
 * Every change to a VM, device or task appends one line "<kind> <id>" to
 * updates/log.<seq> (kind: vm, vbd, vif, pci, task; id: a uuid, "uuid/dev"
 * or a task id) under updates/lock, with one write(2) so lines never tear.
 * updates/current is a symlink to the segment being written; when it grows
 * past XO_UPDATES_SEGMENT bytes the writer starts the next one and drops
 * segments older than XO_UPDATES_KEEP. The log is a notification channel,
 * not state: it is not fsynced, and after a crash a client resyncs by stat.
 *
 * A token is "<seq>.<offset>", a position in the log. xo_updates_get()
 * returns the objects changed after a token, each once (the last change
 * wins the order), and the new token; when there is nothing it blocks on
 * inotify (no polling) until something arrives or the timeout passes. A
 * token whose segment was dropped gets class resync: list and stat again.
 */
#ifndef XO_UPDATES_H
#define XO_UPDATES_H

#include <stddef.h>

#include "err.h"

#define XO_UPDATES_SEGMENT (1u << 20)
#define XO_UPDATES_KEEP 4

/* best effort: a failure to record an event is a warning, never an error */
void xo_updates_emit(const char *kind, const char *id);
void xo_updates_emit2(const char *kind, const char *uuid, const char *dev);

struct xo_update {
	char kind[8];
	char id[128];
};

/* the token of the end of the log now */
int xo_updates_token(char *tok, size_t size, xo_err *e);
/*
 * Changes after `token`; timeout_ms < 0 waits for ever, 0 does not wait.
 * Returns the number of updates (0 after a timeout), -1 on error.
 */
int xo_updates_get(const char *token, int timeout_ms, struct xo_update **out, char *newtok,
		   size_t toksize, xo_err *e);

#endif
