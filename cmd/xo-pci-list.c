/* xo-pci-list: list a VM's PCI pass-through devices */
#include "show.h"

int main(int argc, char **argv)
{
	return xo_device_list_main(argc, argv, "pci");
}
