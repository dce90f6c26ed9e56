/* xo-vif-set-locking: set a VIF's locking mode and allowed addresses */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VIF_SET_LOCKING);
}
