/* xo-vif-set-carrier: set a VIF's link carrier on or off */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VIF_SET_CARRIER);
}
