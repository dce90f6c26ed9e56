/* xo-vbd-epoch-end: end a VBD's epoch: drop a non-persistent disk's scratch copy (micro-op) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VBD_EPOCH_END);
}
