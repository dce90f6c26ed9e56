/* xo-vbd-insert: insert media into an empty cdrom or floppy VBD */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VBD_INSERT);
}
