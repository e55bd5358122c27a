// The second translation unit of the double-include test (test_header_a).
#include <psftp.hpp>

std::vector<std::string> header_b_path_advance(const std::string& path) {
    return psftp::path_advance(path);
}

void header_b_throw_not_found() { psftp::throw_error(PSFTP_E_NOT_FOUND, "from b"); }
