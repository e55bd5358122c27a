// Connection, CnOpts and the session attributes, against the test sshd.
#include "fixture.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <type_traits>

using namespace fixture;

static_assert(!std::is_copy_constructible_v<psftp::Connection>);
static_assert(!std::is_copy_assignable_v<psftp::Connection>);
static_assert(std::is_nothrow_move_constructible_v<psftp::Connection>);
static_assert(std::is_nothrow_move_assignable_v<psftp::Connection>);
static_assert(!std::is_copy_constructible_v<psftp::CnOpts>);
static_assert(std::is_nothrow_move_constructible_v<psftp::CnOpts>);
static_assert(!std::is_copy_constructible_v<psftp::TransferOpts>);
static_assert(std::is_nothrow_move_constructible_v<psftp::TransferOpts>);
static_assert(!std::is_copy_constructible_v<psftp::File>);
static_assert(std::is_nothrow_move_constructible_v<psftp::File>);
static_assert(!std::is_copy_constructible_v<psftp::CdGuard>);
static_assert(std::is_nothrow_move_constructible_v<psftp::CdGuard>);
static_assert(!std::is_convertible_v<std::string, psftp::Connection>);

TEST(Connection, PasswordLoginChecksAndReportsTheHostKey) {
    psftp::Connection sftp = connect();
    psftp::HostKey key = sftp.remote_server_key();
    EXPECT_EQ(key.key_type, "ssh-ed25519");
    EXPECT_EQ(key.fingerprint.rfind("SHA256:", 0), 0u) << key.fingerprint;
    EXPECT_NE(read_file(file("ssh_host_ed25519_key.pub")).find(key.base64), std::string::npos);
    EXPECT_EQ(sftp.pwd(), home());
}

TEST(Connection, KeyFilesAndEncryptedKeysAuthenticate) {
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    psftp::ConnectArgs args;
    args.username = user();
    args.port = port();
    args.cnopts = &opts;
    args.private_key = file("id_ed25519");
    EXPECT_EQ(psftp::Connection("127.0.0.1", args).pwd(), home());
    args.private_key = file("id_ed25519_enc");
    args.private_key_pass = env("PSFTP_TEST_PASSPHRASE");
    EXPECT_EQ(psftp::Connection("127.0.0.1", args).pwd(), home());
    args.private_key_pass = "not the passphrase";
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", args), psftp::AuthError, "wrong passphrase");
}

TEST(Connection, KeysFromMemoryAuthenticate) {
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    psftp::ConnectArgs args;
    args.username = user();
    args.port = port();
    args.cnopts = &opts;
    args.private_key_data = read_file(file("id_ecdsa_pem"));
    EXPECT_EQ(psftp::Connection("127.0.0.1", args).pwd(), home());
    args.private_key_data = read_file(file("id_rsa_enc_pem"));
    args.private_key_pass = env("PSFTP_TEST_PASSPHRASE");
    EXPECT_EQ(psftp::Connection("127.0.0.1", args).pwd(), home());
    args.private_key_pass = "not the passphrase";
    try {
        psftp::Connection("127.0.0.1", args);
        ADD_FAILURE() << "a wrong passphrase connected";
    } catch (const psftp::AuthError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("private_key_data"), std::string::npos) << what;
        EXPECT_EQ(what.find("not the passphrase"), std::string::npos) << what;
        EXPECT_EQ(what.find(args.private_key_data->substr(40, 30)), std::string::npos) << what;
    }
    args.private_key = file("id_ed25519");
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", args), psftp::InvalidArgument,
                     "private_key_data");
}

TEST(Connection, DefaultPathSetsTheWorkingDirectory) {
    auto dir = remote_dir("defpath");
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    psftp::ConnectArgs args = password_login(opts);
    args.default_path = dir.path().string();
    EXPECT_EQ(psftp::Connection("127.0.0.1", args).getcwd(), dir.path().string());
    args.default_path = "/no/such/dir";
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", args), psftp::NotFound, "/no/such/dir");
}

TEST(CnOpts, CompressionAndCiphersAreNegotiated) {
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    opts.set_compression(true).set_ciphers("aes128-ctr");
    psftp::Connection sftp("127.0.0.1", password_login(opts));
    EXPECT_EQ(sftp.active_ciphers(), std::make_pair(std::string("aes128-ctr"), std::string("aes128-ctr")));
    auto [local, remote] = sftp.active_compression();
    EXPECT_EQ(local.rfind("zlib", 0), 0u) << local;
    EXPECT_EQ(remote.rfind("zlib", 0), 0u) << remote;
    opts.set_compression(false).set_ciphers(std::nullopt);
    psftp::Connection plain("127.0.0.1", password_login(opts));
    EXPECT_EQ(plain.active_compression(), std::make_pair(std::string("none"), std::string("none")));
    EXPECT_THROW_MSG(opts.set_ciphers("aes128-ctr,rot13"), psftp::InvalidArgument, "rot13");
}

TEST(CnOpts, TimeoutsAndKeepaliveAreValidatedAndApplied) {
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    opts.set_connect_timeout(5).set_timeout(7.5).set_keepalive(30);
    psftp::Connection sftp("127.0.0.1", password_login(opts));
    EXPECT_EQ(sftp.timeout(), 7.5);
    sftp.set_timeout(2.5);
    EXPECT_EQ(sftp.timeout(), 2.5);
    EXPECT_THROW_MSG(sftp.set_timeout(-1), psftp::InvalidArgument, "seconds");
    EXPECT_THROW_MSG(opts.set_connect_timeout(-3), psftp::InvalidArgument, "seconds");
    EXPECT_EQ(sftp.listdir(home()).empty(), false);
}

TEST(CnOpts, LogGoesToTheNamedFile) {
    auto dir = local_dir("log");
    const auto log = dir.path() / "ssh.log";
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    opts.set_log(true, log);
    psftp::Connection logged("127.0.0.1", password_login(opts));
    EXPECT_EQ(logged.logfile(), log.string());
    EXPECT_NE(read_file(log).find("authenticated as " + user()), std::string::npos);
    opts.set_log(false);
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(opts)).logfile(), std::nullopt);
}

TEST(CnOpts, HostkeysNoneTurnsCheckingOffAndLoadMerges) {
    auto dir = local_dir("kh");
    const auto empty = dir.path() / "known_hosts";
    write_file(empty, "# nothing here\n");
    psftp::CnOpts opts(empty);
    EXPECT_THROW(psftp::Connection("127.0.0.1", password_login(opts)), psftp::HostKeyUnknown);
    opts.load(file("known_hosts_hashed"));
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(opts)).pwd(), home());
    EXPECT_THROW_MSG(opts.load("/nonexistent/known_hosts"), psftp::LocalIoError,
                     "/nonexistent/known_hosts");

    psftp::CnOpts unchecked(empty);
    unchecked.set_hostkeys(std::nullopt);
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(unchecked)).pwd(), home());
    EXPECT_THROW_MSG(unchecked.load(file("known_hosts")), psftp::InvalidArgument,
                     "hostkeys is None");
    unchecked.set_hostkeys(file("known_hosts"));
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(unchecked)).pwd(), home());
}

TEST(CnOpts, GetHostkeyFindsTheServerKey) {
    psftp::CnOpts opts(file("known_hosts_hashed"));
    psftp::HostKey known = opts.get_hostkey(host_name());
    EXPECT_EQ(known.key_type, "ssh-ed25519");
    EXPECT_EQ(known.fingerprint, connect().remote_server_key().fingerprint);
    EXPECT_THROW_MSG(opts.get_hostkey("unknown.example"), psftp::HostKeyUnknown,
                     "unknown.example");
}

TEST(CnOpts, AcceptNewAppendsTheKeyOnce) {
    auto dir = local_dir("tofu");
    const auto kh = dir.path() / "known_hosts";
    psftp::CnOpts opts(kh);
    opts.set_accept_new(true);
    psftp::Connection("127.0.0.1", password_login(opts));
    psftp::Connection("127.0.0.1", password_login(opts));
    const std::string text = read_file(kh);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_EQ(text.rfind(host_name() + " ssh-ed25519 ", 0), 0u) << text;
}

TEST(Connection, ExecuteReturnsLinesAndExitStatus) {
    psftp::Connection sftp = connect();
    psftp::ExecResult r = sftp.execute("echo one; echo two; echo oops >&2; exit 3");
    EXPECT_EQ(r.lines, (std::vector<std::string>{"one\n", "two\n", "oops\n"}));
    EXPECT_EQ(r.exit_status, 3);
    EXPECT_EQ(sftp.pwd(), home()) << "SFTP still works";
}

TEST(Connection, SecurityOptionsExtensionsAndRawClient) {
    psftp::Connection sftp = connect();
    psftp::SecurityOptions so = sftp.security_options();
    auto has = [](const std::vector<std::string>& v, const std::string& prefix) {
        return std::any_of(v.begin(), v.end(),
                           [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
    };
    EXPECT_TRUE(has(so.ciphers, "aes256-ctr"));
    EXPECT_TRUE(has(so.digests, "hmac-sha2-256"));
    EXPECT_TRUE(has(so.key_types, "ssh-ed25519"));
    EXPECT_TRUE(has(so.kex, "curve25519-sha256"));
    EXPECT_TRUE(has(so.compression, "none"));
    EXPECT_TRUE(sftp.has_extension("posix-rename@openssh.com"));
    EXPECT_FALSE(sftp.has_extension("no-such-extension@example.com"));
    psftp::SftpClient raw = sftp.sftp_client();
    EXPECT_NE(raw.session, nullptr);
    EXPECT_NE(raw.sftp, nullptr);
}

TEST(Connection, ASessionLockHoldsTheConnectionUntilItGoesOutOfScope) {
    psftp::Connection sftp = connect();
    std::atomic<bool> released{false};
    std::thread other;
    bool other_saw_release = false;
    {
        psftp::SessionLock held = sftp.lock();
        EXPECT_EQ(sftp.pwd(), home()); // this thread's own calls work
        other = std::thread([&] {
            sftp.pwd();
            other_saw_release = released.load();
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        released = true;
    }
    other.join();
    EXPECT_TRUE(other_saw_release) << "the other thread's call waited for the guard";
    EXPECT_THROW_MSG(psftp::check(psftp_unlock(sftp.handle())), psftp::InvalidArgument,
                     "not locked");
}

TEST(Connection, MovedFromAndClosedConnectionsThrowInvalidArgument) {
    psftp::Connection a = connect();
    psftp::Connection b = std::move(a);
    EXPECT_EQ(b.pwd(), home());
    EXPECT_EQ(a.handle(), nullptr);
    EXPECT_THROW_MSG(a.pwd(), psftp::InvalidArgument, "conn");
    a = std::move(b);
    EXPECT_EQ(a.pwd(), home());
    a.close();
    a.close();
    EXPECT_THROW_MSG(a.listdir(), psftp::InvalidArgument, "conn");
}

TEST(Connection, KeepsItsLastErrorForOtherThreads) {
    psftp::Connection sftp = connect();
    EXPECT_EQ(sftp.last_error_code(), PSFTP_OK);
    EXPECT_EQ(sftp.last_error(), "");
    std::thread([&] { EXPECT_THROW(sftp.stat("/no/such/file"), psftp::NotFound); }).join();
    EXPECT_EQ(sftp.last_error_code(), PSFTP_E_NOT_FOUND);
    EXPECT_NE(sftp.last_error().find("/no/such/file"), std::string::npos);
}
