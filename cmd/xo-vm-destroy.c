/* xo-vm-destroy: destroy a VM's domain at once, releasing its devices */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_lifecycle_main(argc, argv, "VM_destroy");
}
