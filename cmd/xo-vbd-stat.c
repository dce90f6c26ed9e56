/* xo-vbd-stat: show the runtime state of a VM's vbds */
#include "devstat.h"

int main(int argc, char **argv)
{
	return xo_devstat_main(argc, argv, "vbd");
}
