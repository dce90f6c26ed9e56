/*
 * devstat.h: the body of xo-vbd-stat, xo-vif-stat and xo-pci-stat: every
 * device of a kind of a VM, or one of them, one line each or JSON.
 */
#ifndef XO_DEVSTAT_H
#define XO_DEVSTAT_H

/* kind: vbd, vif or pci */
int xo_devstat_main(int argc, char **argv, const char *kind);

#endif
