/* xo-vbd-epoch-begin: begin a VBD's epoch: reset a non-persistent disk (micro-op) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VBD_EPOCH_BEGIN);
}
