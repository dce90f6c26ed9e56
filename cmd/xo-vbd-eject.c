/* xo-vbd-eject: eject the media of a cdrom or floppy VBD */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VBD_EJECT);
}
