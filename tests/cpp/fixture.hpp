// Helpers of the C++ tests: the test sshd from PSFTP_TEST_* (written by
// tests/fixture/sshd.sh), connections, scratch directories and files. The
// server is local, so tests check remote files on disk under the test
// user's home.
#ifndef PSFTP_CPP_TEST_FIXTURE_HPP
#define PSFTP_CPP_TEST_FIXTURE_HPP

#include <psftp.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace fixture {

namespace fs = std::filesystem;

/// A PSFTP_TEST_* variable; a missing one fails the test (no server is a
/// failure, never a skip).
inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        throw std::runtime_error(std::string(name) + " is not set: start tests/fixture/sshd.sh");
    return v;
}
inline int port() { return std::stoi(env("PSFTP_TEST_PORT")); }
inline std::string user() { return env("PSFTP_TEST_USER"); }
inline std::string home() { return env("PSFTP_TEST_HOME"); }
/// A file the fixture made: keys, known_hosts variants.
inline std::string file(const std::string& name) { return env("PSFTP_TEST_DIR") + "/" + name; }
/// "[127.0.0.1]:PORT", the known_hosts name of the server.
inline std::string host_name() { return "[127.0.0.1]:" + std::to_string(port()); }

/// Login with the password; `opts` must outlive the connect call only.
inline psftp::ConnectArgs password_login(const psftp::CnOpts& opts) {
    psftp::ConnectArgs args;
    args.username = user();
    args.password = env("PSFTP_TEST_PASSWORD");
    args.port = port();
    args.cnopts = &opts;
    return args;
}

/// A connection trusting the fixture's known_hosts.
inline psftp::Connection connect() {
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    return psftp::Connection("127.0.0.1", password_login(opts));
}

inline void chown_to_test_user(const fs::path& path) {
    const struct passwd* pw = ::getpwnam(user().c_str());
    if (pw == nullptr || ::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("cannot chown " + path.string() + " to " + user());
}

inline std::string unique_name(const std::string& tag) {
    static std::atomic<int> counter{0};
    return "cpptest-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

/// A fresh directory, removed with its contents at the end of the scope.
class ScratchDir {
public:
    ScratchDir(const fs::path& parent, const std::string& tag, bool remote)
        : path_(parent / unique_name(tag)) {
        fs::create_directories(path_);
        if (remote)
            chown_to_test_user(path_);
    }
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const fs::path& path() const { return path_; }
    /// The path of `name` inside, as a string (remote APIs take strings).
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }

private:
    fs::path path_;
};

/// A directory under the test user's home (what the server sees).
inline ScratchDir remote_dir(const std::string& tag) { return ScratchDir(home(), tag, true); }
/// A directory under /tmp for local files.
inline ScratchDir local_dir(const std::string& tag) {
    return ScratchDir(fs::temp_directory_path(), tag, false);
}

inline std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path.string());
    std::string data(fs::file_size(path), '\0'); // in one read: fast in unoptimized builds
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    if (in.gcount() != static_cast<std::streamsize>(data.size()))
        throw std::runtime_error("short read of " + path.string());
    return data;
}
inline void write_file(const fs::path& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
}
/// A remote file created on disk, owned by the test user.
inline void put_remote_file(const fs::path& path, const std::string& data) {
    write_file(path, data);
    chown_to_test_user(path);
}
/// Deterministic, non-repeating-looking bytes.
inline std::string pattern(std::size_t size, unsigned seed) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; i++)
        s[i] = static_cast<char>((i * 7 + i / 251 + seed * 13) & 0xff);
    return s;
}

inline struct stat stat_of(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        throw std::runtime_error("cannot stat " + path.string());
    return st;
}
inline void set_times(const fs::path& path, std::int64_t atime, std::int64_t mtime) {
    struct timespec times[2] = {{static_cast<time_t>(atime), 0}, {static_cast<time_t>(mtime), 0}};
    if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0)
        throw std::runtime_error("cannot set times of " + path.string());
}

/// Options of a call (GetOptions, TreePutOptions, ...) with only `transfer` set.
template <class Options>
Options with_transfer(const psftp::TransferOpts& transfer) {
    Options options;
    options.transfer = &transfer;
    return options;
}

} // namespace fixture

/// Asserts that `stmt` throws `type` whose message contains `part`.
#define EXPECT_THROW_MSG(stmt, type, part)                                                 \
    do {                                                                                   \
        try {                                                                              \
            stmt;                                                                          \
            ADD_FAILURE() << #stmt " did not throw " #type;                                \
        } catch (const type& e_) {                                                         \
            EXPECT_NE(std::string(e_.what()).find(part), std::string::npos)                \
                << "message: " << e_.what();                                               \
        }                                                                                  \
    } while (0)

#endif
