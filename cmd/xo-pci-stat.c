/* xo-pci-stat: show the runtime state of a VM's pcis */
#include "devstat.h"

int main(int argc, char **argv)
{
	return xo_devstat_main(argc, argv, "pci");
}
