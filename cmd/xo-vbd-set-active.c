/* xo-vbd-set-active: mark a VBD active or inactive (micro-op) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VBD_SET_ACTIVE);
}
