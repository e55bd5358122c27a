// The header in C++ (extern "C"), in two translation units.
#include <psftp.h>

int header_cpp_b(void);

int main() {
    psftp_attrs a{};
    return (a.flags == 0 && header_cpp_b() == PSFTP_E_AUTH) ? 0 : 1;
}
