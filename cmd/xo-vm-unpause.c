/* xo-vm-unpause: unpause a VM: run a started or paused VM */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_lifecycle_main(argc, argv, "VM_unpause");
}
