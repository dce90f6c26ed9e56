/* xo-domain-pause: pause a VM's domain (micro-op VM_pause) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VM_PAUSE);
}
