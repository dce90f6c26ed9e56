/* xo-domain-shutdown: ask a VM's guest to shut down and wait for it (micro-op VM_shutdown_domain) */
#include "opmain.h"

int main(int argc, char **argv)
{
	return xo_atom_main(argc, argv, XO_A_VM_SHUTDOWN_DOMAIN);
}
