/* xo-vbd-plug: plug a VBD into a VM's domain (micro-op; by hand also marks it active) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VBD_PLUG);
}
