/* xo-domain-build: build a VM's domain: kernel, memory, store and console (micro-op VM_build) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VM_BUILD);
}
