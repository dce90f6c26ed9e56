/* xo-qemu-stop: stop a VM's device model (micro-op VM_destroy_device_model) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_DM_STOP);
}
