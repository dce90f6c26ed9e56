/* xo-pci-plug: plug a PCI device into a VM's domain (micro-op) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_PCI_PLUG);
}
