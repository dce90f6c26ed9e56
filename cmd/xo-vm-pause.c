/* xo-vm-pause: pause a running VM */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_lifecycle_main(argc, argv, "VM_pause");
}
