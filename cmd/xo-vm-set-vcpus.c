/* xo-vm-set-vcpus: change how many virtual CPUs a VM has online, running or halted */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_change_main(argc, argv, XO_A_VM_SET_VCPUS);
}
