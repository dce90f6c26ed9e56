/* xo-domain-destroy: destroy a VM's domain and remove its xenstore trees (micro-op VM_destroy) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VM_DESTROY);
}
