/* xo-vm-set-action-request: set or clear a domain's action request; none marks it alive (micro-op) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_SET_ACTION_REQUEST);
}
