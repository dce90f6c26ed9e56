/* xo-vif-list: list a VM's virtual network interfaces */
#include "show.h"

int main(int argc, char **argv)
{
	return xo_device_list_main(argc, argv, "vif");
}
