/* xo-vm-set-affinity: pin a VM's virtual CPUs to host CPUs, running or halted */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_change_main(argc, argv, XO_A_VM_SET_AFFINITY);
}
