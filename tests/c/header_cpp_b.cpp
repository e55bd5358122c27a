#include <psftp.h>

int header_cpp_b(void) { return PSFTP_E_AUTH; }
