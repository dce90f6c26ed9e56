/* xo-vm-set-memory: change a VM's memory: its balloon target and dynamic range, running or halted */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_change_main(argc, argv, XO_A_VM_SET_MEMORY);
}
