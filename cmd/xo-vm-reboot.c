/* xo-vm-reboot: reboot a VM: shut it down and start it again from its build record */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_lifecycle_main(argc, argv, "VM_reboot");
}
