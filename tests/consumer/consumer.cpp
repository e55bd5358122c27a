// An independent C++ consumer of an installed psftp (psftp.hpp): upload a
// file, download it again and compare the bytes.
//
//   consumer_cpp HOST PORT USER KEY KNOWN_HOSTS LOCAL REMOTE
#include <psftp.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

int main(int argc, char** argv) {
    if (argc != 8) {
        std::cerr << "usage: " << argv[0] << " HOST PORT USER KEY KNOWN_HOSTS LOCAL REMOTE\n";
        return 2;
    }
    const std::string local = argv[6], remote = argv[7], back = local + ".back";
    try {
        psftp::CnOpts opts(argv[5]);
        psftp::ConnectArgs args;
        args.username = argv[3];
        args.private_key = argv[4];
        args.port = std::stoi(argv[2]);
        args.cnopts = &opts;
        psftp::Connection sftp(argv[1], args);
        psftp::Attrs attrs = sftp.put(local, remote);
        sftp.get(remote, back);
        if (slurp(local) != slurp(back)) {
            std::cerr << "consumer_cpp: " << back << " differs from " << local << '\n';
            return 1;
        }
        std::cout << "consumer_cpp (psftp " << psftp::version() << "): put and got "
                  << attrs.size() << " bytes\n";
    } catch (const psftp::Error& e) {
        std::cerr << "consumer_cpp: " << e.name() << ": " << e.what() << '\n';
        return 1;
    }
    return 0;
}
