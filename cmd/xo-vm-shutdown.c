/* xo-vm-shutdown: shut a VM down: ask the guest, then destroy its domain (--force: at once) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_lifecycle_main(argc, argv, "VM_shutdown");
}
