/* xo-qemu-start: start a VM's device model (micro-op VM_create_device_model) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_DM_START);
}
