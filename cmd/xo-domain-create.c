/* xo-domain-create: create a VM's domain with its xenstore directories (micro-op VM_create) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VM_CREATE);
}
