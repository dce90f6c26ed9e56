/* xo-vbd-unplug: unplug a VBD from a VM's domain (micro-op; by hand also marks it inactive) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VBD_UNPLUG);
}
