/* xo-hook-run: run a VM's hook scripts (micro-op) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_HOOK);
}
