// ssh_config, proxies, a caller's socket, keys from memory and the
// keyboard-interactive callback through the C++ binding.
#include "fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Routes, AnSshConfigAliasConnectsAndIsReported) {
    auto dir = fixture::fs::temp_directory_path() / ("psftp-cpp-cfg-" + std::to_string(getpid()));
    fixture::fs::create_directories(dir);
    {
        std::ofstream(dir / "config") << "Host cppalias\n  HostName 127.0.0.1\n  Port "
                                      << fixture::port() << "\n  User " << fixture::user()
                                      << "\n  IdentityFile " << fixture::file("id_ed25519")
                                      << "\n  UserKnownHostsFile "
                                      << fixture::env("PSFTP_TEST_KNOWN_HOSTS") << "\n";
    }
    psftp::CnOpts opts;
    opts.set_ssh_config(true, dir / "config");
    psftp::ConnectArgs args;
    args.cnopts = &opts;
    args.port = 0;
    psftp::Connection conn("cppalias", args);
    EXPECT_EQ(conn.pwd(), fixture::home());
    const std::string report = opts.ssh_config_report("cppalias");
    EXPECT_NE(report.find("user " + fixture::user() + "\n"), std::string::npos) << report;
    std::ofstream(dir / "config") << "Host x\n  Port nope\n";
    try {
        opts.ssh_config_report("x");
        ADD_FAILURE() << "a malformed config must throw";
    } catch (const psftp::Error& e) {
        EXPECT_EQ(e.code(), PSFTP_E_INVALID_ARG);
        EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
    }
    fixture::fs::remove_all(dir);
}

TEST(Routes, KeyFromMemorySocketAndProxyCommand) {
    psftp::CnOpts opts(fixture::env("PSFTP_TEST_KNOWN_HOSTS"));
    psftp::ConnectArgs args;
    args.username = fixture::user();
    args.port = fixture::port();
    args.cnopts = &opts;
    args.private_key_data = read_all(fixture::file("id_ed25519_enc"));
    args.private_key_pass = fixture::env("PSFTP_TEST_PASSPHRASE");
    EXPECT_EQ(psftp::Connection("127.0.0.1", args).pwd(), fixture::home());

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(fixture::port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    auto viasock = fixture::password_login(opts);
    viasock.socket = fd;
    psftp::Connection over_socket("127.0.0.1", viasock);
    close(fd); // psftp holds its own duplicate
    EXPECT_EQ(over_socket.pwd(), fixture::home());

    psftp::CnOpts viacmd(fixture::env("PSFTP_TEST_KNOWN_HOSTS"));
    viacmd.set_proxy_command(
        "python3 -c 'import os,socket,sys,threading; s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); "
        "threading.Thread(target=lambda: [s.sendall(b) for b in iter(lambda: os.read(0,65536), b\"\")],daemon=True).start(); "
        "[os.write(1,b) for b in iter(lambda: s.recv(65536), b\"\")]' %h %p");
    EXPECT_EQ(psftp::Connection("127.0.0.1", fixture::password_login(viacmd)).pwd(),
              fixture::home());
    EXPECT_THROW(viacmd.set_proxy_jump("a@b,@c"), psftp::InvalidArgument);
    auto bad = fixture::password_login(opts);
    bad.socket = -5;
    EXPECT_THROW(psftp::Connection("127.0.0.1", bad), psftp::InvalidArgument);
}

TEST(Routes, AKeyboardInteractiveCallbackIsKeptAndNotAskedWhenNotNeeded) {
    psftp::CnOpts opts(fixture::env("PSFTP_TEST_KNOWN_HOSTS"));
    auto calls = std::make_shared<int>(0);
    std::weak_ptr<int> watch = calls;
    auto args = fixture::password_login(opts);
    args.keyboard_interactive = [calls](const std::string&, const std::string&,
                                        const std::vector<psftp::KbdPrompt>&) {
        (*calls)++;
        return std::optional<std::vector<std::string>>{};
    };
    {
        psftp::Connection conn("127.0.0.1", args);
        args.keyboard_interactive = nullptr;
        const int* seen = calls.get();
        calls.reset();
        EXPECT_EQ(conn.pwd(), fixture::home());
        EXPECT_EQ(*seen, 0) << "a password server never asks";
        EXPECT_FALSE(watch.expired()) << "the connection keeps its copy";
    }
    EXPECT_TRUE(watch.expired()) << "released with the connection";
}

} // namespace
