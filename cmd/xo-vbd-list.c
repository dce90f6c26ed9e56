/* xo-vbd-list: list a VM's virtual block devices */
#include "show.h"

int main(int argc, char **argv)
{
	return xo_device_list_main(argc, argv, "vbd");
}
