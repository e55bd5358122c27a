// Error translation: every result code has its exception type, and real
// failures against the test sshd arrive as the right type with psftp's
// message.
#include "fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>
#include <type_traits>
#include <typeinfo>

using namespace fixture;

// A test hook of libpsftp that psftp.h does not declare: panics inside a
// download on `conn` (or outside any connection when it is NULL).
extern "C" int psftp_debug_panic(psftp_conn* conn, const char* remotepath);

namespace {

template <class E>
void expect_mapped(psftp::Errc code, const char* name) {
    try {
        psftp::throw_error(static_cast<int>(code), "the message");
    } catch (const E& e) {
        EXPECT_EQ(e.errc(), code);
        EXPECT_EQ(e.code().value(), static_cast<int>(code));
        EXPECT_STREQ(e.name(), name);
        EXPECT_STREQ(e.what(), "the message");
        return;
    }
}

/// A listening socket on a free loopback port, closed at the end of scope.
class Listener {
public:
    Listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
            ::listen(fd_, 1) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error("cannot listen on 127.0.0.1");
        port_ = ntohs(addr.sin_port);
    }
    ~Listener() { close(); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    int port() const { return port_; }
    int accept() { return ::accept(fd_, nullptr, nullptr); }
    void close() {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
    int port_ = 0;
};

psftp::ConnectArgs to_port(const psftp::CnOpts& opts, int port) {
    psftp::ConnectArgs args = password_login(opts);
    args.port = port;
    return args;
}

} // namespace

TEST(Errors, EveryCodeHasItsExceptionType) {
    using E = psftp::Errc;
    expect_mapped<psftp::InvalidArgument>(E::invalid_arg, "PSFTP_E_INVALID_ARG");
    expect_mapped<psftp::ConnectError>(E::connect, "PSFTP_E_CONNECT");
    expect_mapped<psftp::HostKeyUnknown>(E::hostkey_unknown, "PSFTP_E_HOSTKEY_UNKNOWN");
    expect_mapped<psftp::HostKeyMismatch>(E::hostkey_mismatch, "PSFTP_E_HOSTKEY_MISMATCH");
    expect_mapped<psftp::HostKeyError>(E::hostkey_unknown, "PSFTP_E_HOSTKEY_UNKNOWN");
    expect_mapped<psftp::HostKeyError>(E::hostkey_mismatch, "PSFTP_E_HOSTKEY_MISMATCH");
    expect_mapped<psftp::AuthError>(E::auth, "PSFTP_E_AUTH");
    expect_mapped<psftp::NotFound>(E::not_found, "PSFTP_E_NOT_FOUND");
    expect_mapped<psftp::PermissionDenied>(E::permission, "PSFTP_E_PERMISSION");
    expect_mapped<psftp::AlreadyExists>(E::exists, "PSFTP_E_EXISTS");
    expect_mapped<psftp::NotADirectory>(E::not_a_directory, "PSFTP_E_NOT_A_DIRECTORY");
    expect_mapped<psftp::LocalIoError>(E::local_io, "PSFTP_E_LOCAL_IO");
    expect_mapped<psftp::SftpError>(E::sftp, "PSFTP_E_SFTP");
    expect_mapped<psftp::SshError>(E::ssh, "PSFTP_E_SSH");
    expect_mapped<psftp::Timeout>(E::timeout, "PSFTP_E_TIMEOUT");
    expect_mapped<psftp::Cancelled>(E::cancelled, "PSFTP_E_CANCELLED");
    expect_mapped<psftp::ConnectionLost>(E::connection_lost, "PSFTP_E_CONNECTION_LOST");
    expect_mapped<psftp::UnsafePath>(E::unsafe_path, "PSFTP_E_UNSAFE_PATH");
    expect_mapped<psftp::Panic>(E::panic, "PSFTP_E_PANIC");
    expect_mapped<psftp::Unsupported>(E::unsupported, "PSFTP_E_UNSUPPORTED");
    expect_mapped<psftp::DirectoryNotEmpty>(E::dir_not_empty, "PSFTP_E_DIR_NOT_EMPTY");
    expect_mapped<psftp::CallbackStopped>(E::user, "PSFTP_E_USER");
    expect_mapped<psftp::Error>(static_cast<E>(-999), "PSFTP_E_UNKNOWN");
    EXPECT_NO_THROW(psftp::check(PSFTP_OK));
}

/// Every code of psftp's table (walked down from -1 until psftp_error_name
/// says EUNKNOWN) is thrown as a type of its own, not the catch-all Error:
/// a code added to the library without its C++ type fails here.
TEST(Errors, EveryCodeOfTheLibraryHasItsOwnType) {
    int count = 0;
    for (int code = -1; std::string(psftp_error_name(code)) != "EUNKNOWN"; code--, count++) {
        try {
            psftp::throw_error(code, "m");
        } catch (const psftp::Error& e) {
            EXPECT_NE(typeid(e), typeid(psftp::Error)) << psftp_strerror(code);
            EXPECT_EQ(e.code().value(), code);
            EXPECT_STREQ(e.name(), psftp_strerror(code));
            EXPECT_STREQ(e.short_name(), psftp_error_name(code));
        }
    }
    EXPECT_GE(count, 20);
}

static_assert(std::is_nothrow_copy_constructible_v<psftp::Error>);
static_assert(std::is_nothrow_copy_constructible_v<psftp::PermissionDenied>);

TEST(Errors, TreeFailuresTravelWithTheExceptionOfAnyCode) {
    const std::vector<psftp::TreeFailure> failures = {
        {"a/one.txt", PSFTP_E_PERMISSION, "open 'a/one.txt': Permission denied"},
        {"b", PSFTP_E_LOCAL_IO, "write 'b': No space left on device"}};
    try {
        psftp::throw_error(PSFTP_E_PERMISSION, "2 entries failed", failures);
    } catch (const psftp::PermissionDenied& e) { // the code's own type
        ASSERT_EQ(e.failures().size(), 2u);
        EXPECT_EQ(e.failures()[0].path, "a/one.txt");
        EXPECT_EQ(e.failures()[1].errc(), psftp::Errc::local_io);
        EXPECT_EQ(e.failures()[1].message, "write 'b': No space left on device");
    }
    try {
        psftp::throw_error(-999, "unknown code", failures);
    } catch (const psftp::Error& e) {
        EXPECT_EQ(e.failures().size(), 2u);
    }
    EXPECT_TRUE(psftp::NotFound("no list").failures().empty());
    EXPECT_TRUE(psftp::Error(PSFTP_E_SFTP, "no list").failures().empty());
}

TEST(Errors, WrongPasswordIsAnAuthErrorNamingUserAndHost) {
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    psftp::ConnectArgs args = password_login(opts);
    args.password = "wrong";
    try {
        psftp::Connection("127.0.0.1", args);
        ADD_FAILURE() << "connected with a wrong password";
    } catch (const psftp::Error& e) {
        EXPECT_EQ(e.errc(), psftp::Errc::auth);
        EXPECT_NE(dynamic_cast<const psftp::AuthError*>(&e), nullptr);
        for (const std::string& part : {user(), std::string("127.0.0.1"), std::string("wrong password")})
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

TEST(Errors, UnknownAndChangedHostKeysAreHostKeyErrors) {
    auto dir = local_dir("kh");
    write_file(dir.path() / "known_hosts", "");
    psftp::CnOpts unknown(dir.path() / "known_hosts");
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", password_login(unknown)),
                     psftp::HostKeyUnknown, host_name());
    psftp::CnOpts changed(file("known_hosts_changed"));
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", password_login(changed)),
                     psftp::HostKeyMismatch, "MISMATCH");
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", password_login(changed)), psftp::HostKeyError,
                     "ssh-ed25519");
}

TEST(Errors, ClosedPortIsAConnectError) {
    Listener l;
    const int closed = l.port();
    l.close();
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", to_port(opts, closed)), psftp::ConnectError,
                     "refused");
}

TEST(Errors, SilentServerIsATimeout) {
    Listener l; // accepts in the kernel, never speaks
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    opts.set_connect_timeout(1);
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", to_port(opts, l.port())), psftp::Timeout,
                     "handshake");
}

TEST(Errors, NotAnSshServerIsAnSshError) {
    Listener l;
    std::thread server([&] {
        int fd = l.accept();
        const char reply[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
        EXPECT_GT(::write(fd, reply, sizeof reply - 1), 0);
        ::close(fd);
    });
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", to_port(opts, l.port())), psftp::SshError,
                     "handshake");
    server.join();
}

TEST(Errors, RemoteFailuresHaveTheirTypesAndNameThePath) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("errs");
    put_remote_file(dir / "file", "x");
    std::filesystem::create_directory(dir / "full");
    put_remote_file(dir / "full/inner", "y");
    chown_to_test_user(dir / "full");
    EXPECT_THROW_MSG(sftp.stat(dir / "nope"), psftp::NotFound, "nope");
    EXPECT_THROW_MSG(sftp.chdir(dir / "file"), psftp::NotADirectory, "file");
    EXPECT_THROW_MSG(sftp.mkdir(dir / "full"), psftp::AlreadyExists, "full");
    EXPECT_THROW_MSG(sftp.mkdir("/root/psftp-cpp-denied"), psftp::PermissionDenied, "/root/");
    EXPECT_THROW_MSG(sftp.rmdir(dir / "full"), psftp::DirectoryNotEmpty, "full");
    EXPECT_THROW_MSG(sftp.chmod(dir / "file", static_cast<std::filesystem::perms>(010000)),
                     psftp::InvalidArgument, "mode");
    EXPECT_THROW_MSG(sftp.put("/no/such/local", dir / "x"), psftp::LocalIoError,
                     "/no/such/local");
}

TEST(Errors, EmbeddedNulIsRefusedNotTruncated) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("nul");
    put_remote_file(dir / "victim", "keep me");
    EXPECT_THROW_MSG(sftp.remove(dir / "victim" + std::string("\0/other", 7)),
                     psftp::InvalidArgument, "remotefile: contains a NUL byte");
    EXPECT_EQ(read_file(dir / "victim"), "keep me");
}

TEST(Errors, PanicsAreCaughtAtTheBoundary) {
    EXPECT_THROW(psftp::check(psftp_debug_panic(nullptr, nullptr)), psftp::Panic);
}

TEST(Errors, APanicPoisonsItsConnection) {
    auto dir = remote_dir("panic");
    put_remote_file(dir / "big", std::string(4 << 20, 'p'));
    psftp::Connection sftp = connect();
    const std::string big = dir / "big";
    EXPECT_THROW_MSG(psftp::check(psftp_debug_panic(sftp.handle(), big.c_str())), psftp::Panic,
                     "psftp_debug_panic was called");
    EXPECT_THROW_MSG(sftp.pwd(), psftp::ConnectionLost, "panicked");
    psftp::Connection other = connect();
    EXPECT_EQ(other.listdir(dir.path().string()), std::vector<std::string>{"big"});
}

TEST(Errors, AFileOutlivingItsConnectionIsConnectionLost) {
    auto dir = remote_dir("orphan");
    psftp::Connection sftp = connect();
    psftp::File f = sftp.open(dir / "f", "w", 0);
    sftp.close();
    EXPECT_THROW_MSG(f.write("x"), psftp::ConnectionLost, "closed");
}
