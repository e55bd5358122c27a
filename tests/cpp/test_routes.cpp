// ssh_config, proxies, a caller's socket, keys from memory and the
// keyboard-interactive callback through the C++ binding.
#include "fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <map>
#include <sstream>

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
        EXPECT_EQ(e.code().value(), PSFTP_E_INVALID_ARG);
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
    args.keyboard_interactive = [calls](const psftp::KbdRequest&) {
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

/// A second fixture (tests/fixture/sshd.sh with PSFTP_SSHD_KBD=1) that
/// wants keyboard-interactive through PAM: the password, then an HOTP code.
class KbdServer {
public:
    KbdServer() : dir_(fixture::fs::temp_directory_path() / fixture::unique_name("kbd")) {
        fixture::fs::create_directories(dir_);
        fixture::fs::permissions(dir_, fixture::fs::perms::owner_all | fixture::fs::perms::group_read |
                                           fixture::fs::perms::group_exec | fixture::fs::perms::others_read |
                                           fixture::fs::perms::others_exec);
        try {
            const std::string out = run("PSFTP_SSHD_KBD=1 bash '" PSFTP_FIXTURE_SCRIPT "' start " + sshd());
            std::istringstream lines(out);
            for (std::string line; std::getline(lines, line);)
                if (auto eq = line.find('='); eq != std::string::npos)
                    env_[line.substr(0, eq)] = line.substr(eq + 1);
            if (env_.count("PSFTP_TEST_OATH_SECRET") == 0)
                throw std::runtime_error("the keyboard-interactive fixture did not start: " + out);
        } catch (...) {
            stop(); // removes whatever the fixture set up (its account)
            throw;
        }
    }
    ~KbdServer() { stop(); }
    KbdServer(const KbdServer&) = delete;
    KbdServer& operator=(const KbdServer&) = delete;

    const std::string& operator[](const std::string& name) { return env_.at(name); }
    /// The RFC 4226 code number `counter` of the fixture's secret.
    std::string hotp(int counter) {
        return run("python3 -c 'import hmac,hashlib,struct,sys; "
                   "m=hmac.new(bytes.fromhex(sys.argv[1]),struct.pack(\">Q\",int(sys.argv[2])),hashlib.sha1).digest(); "
                   "o=m[19]&15; print(\"%06d\"%((struct.unpack(\">I\",m[o:o+4])[0]&0x7fffffff)%1000000),end=\"\")' " +
                   env_.at("PSFTP_TEST_OATH_SECRET") + " " + std::to_string(counter));
    }

private:
    std::string sshd() const { return (dir_ / "s").string(); }
    void stop() noexcept {
        try {
            run("bash '" PSFTP_FIXTURE_SCRIPT "' stop " + sshd());
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
        }
        std::error_code ignored;
        fixture::fs::remove_all(dir_, ignored);
    }
    static std::string run(const std::string& command) {
        std::string out;
        FILE* p = ::popen(command.c_str(), "r");
        if (p == nullptr)
            throw std::runtime_error("cannot run " + command);
        char buf[4096];
        for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
            out.append(buf, n);
        if (::pclose(p) != 0)
            throw std::runtime_error("failed: " + command);
        return out;
    }

    fixture::fs::path dir_;
    std::map<std::string, std::string> env_;
};

TEST(Routes, KeyboardInteractiveNamesWhoAsksAnswersTheCodeAndGivesUpWithNullopt) {
    KbdServer kbd;
    psftp::CnOpts opts(kbd["PSFTP_TEST_KNOWN_HOSTS"]);
    psftp::ConnectArgs args;
    args.username = kbd["PSFTP_TEST_USER"];
    args.password = kbd["PSFTP_TEST_PASSWORD"];
    args.port = std::stoi(kbd["PSFTP_TEST_PORT"]);
    args.cnopts = &opts;

    // std::nullopt gives up at the first round: CallbackStopped, no code used.
    std::vector<psftp::KbdRequest> seen;
    args.keyboard_interactive = [&seen](const psftp::KbdRequest& r) {
        seen.push_back(r);
        return std::optional<std::vector<std::string>>{};
    };
    EXPECT_THROW(psftp::Connection("127.0.0.1", args), psftp::CallbackStopped);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].host, "127.0.0.1");
    EXPECT_EQ(seen[0].port, args.port);
    EXPECT_EQ(seen[0].user, *args.username);
    ASSERT_EQ(seen[0].prompts.size(), 1u);
    EXPECT_EQ(seen[0].prompts[0].text, "Password: ");
    EXPECT_FALSE(seen[0].prompts[0].echo);

    // The code for the second round; an empty answer list leaves
    // "Password:" to the password.
    seen.clear();
    const std::string code = kbd.hotp(0);
    const std::string password = *args.password;
    args.keyboard_interactive = [&seen, code, password](const psftp::KbdRequest& r) {
        seen.push_back(r);
        std::vector<std::string> answers; // by index: a round may mix both
        bool asks_code = false;
        for (const auto& p : r.prompts) {
            const bool is_code = p.text.rfind("One-time password", 0) == 0;
            asks_code = asks_code || is_code;
            answers.push_back(is_code ? code : password);
        }
        if (!asks_code)
            answers.clear();
        return std::optional<std::vector<std::string>>{answers};
    };
    psftp::Connection conn("127.0.0.1", args);
    EXPECT_EQ(conn.pwd(), kbd["PSFTP_TEST_HOME"]);
    ASSERT_GE(seen.size(), 2u); // PAM may end with a round of no prompts
    EXPECT_EQ(seen[1].prompts.at(0).text,
              "One-time password (OATH) for `" + kbd["PSFTP_TEST_USER"] + "': ");
    for (const auto& r : seen)
        EXPECT_EQ(r.user + "@" + r.host + ":" + std::to_string(r.port),
                  *args.username + "@127.0.0.1:" + std::to_string(args.port));
}

} // namespace
