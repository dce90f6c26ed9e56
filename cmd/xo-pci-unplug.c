/* xo-pci-unplug: unplug a PCI device from a VM's domain (micro-op) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_PCI_UNPLUG);
}
