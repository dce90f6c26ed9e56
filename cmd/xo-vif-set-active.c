/* xo-vif-set-active: mark a VIF active or inactive (micro-op) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VIF_SET_ACTIVE);
}
