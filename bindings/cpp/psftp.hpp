// psftp.hpp: header-only C++17 binding of psftp, the pysftp 0.2.9 API as a
// C library (psftp.h).
//
// It only translates idioms; every behaviour lives in the C library.
//  - Handles (Connection, CnOpts, File, TransferOpts) are move-only RAII
//    objects over the C handles: std::unique_ptr with the C free function.
//  - A failing call throws psftp::Error, a std::system_error whose code()
//    is in psftp::error_category() (equal to std::errc values where they
//    mean the same) and whose what() is psftp's message. Each result code
//    has its own subclass (NotFound, AuthError, HostKeyUnknown, ...); the
//    host-key refusals share HostKeyError. A failed tree operation (get_r,
//    put_r, ...) also lists every entry that failed in Error::failures().
//    File-system calls also have std::error_code& overloads, as
//    std::filesystem has.
//  - Attrs speaks std::filesystem (file_type, perms) and std::chrono.
//  - Transfer calls take named options (GetOptions, PutOptions, ...):
//    aggregates, so C++20 callers may write {.preserve_mtime = true}.
//  - psftp::ifstream / ofstream / fstream / remote_streambuf: iostreams
//    over remote files.
//  - Remote paths are std::string (POSIX paths on the server), local paths
//    std::filesystem::path; lists come back as std::vector.
//  - Callbacks are std::function. An exception thrown in one is stored, the
//    C call is told to stop, and the exception is rethrown once the C call
//    has returned: it never unwinds through C frames.
//  - cd() and local_cd() return a guard that restores the directory.
//  - Connection::interrupt() aborts a call running on another thread.
//
//   psftp::CnOpts opts("~/.ssh/known_hosts");
//   psftp::ConnectArgs args;
//   args.username = "me";
//   args.password = "secret";
//   args.cnopts = &opts;
//   psftp::Connection sftp("example.com", args);
//   {
//       auto in_public = sftp.cd("public");   // with sftp.cd('public'):
//       sftp.put("/my/local/filename");
//   }
//   for (const auto& name : sftp.listdir()) std::cout << name << '\n';
#ifndef PSFTP_HPP
#define PSFTP_HPP

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "psftp.hpp needs C++17 or newer (-std=c++17); C code includes psftp.h"
#endif

#include <psftp.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <ios>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>
#if __cplusplus >= 202002L && __has_include(<stop_token>)
#include <stop_token>
#endif

namespace psftp {

// ---------------------------------------------------------------- errors

/// The C result codes (PSFTP_E_*), for switching on Error::errc(). The tests
/// check that every code the library defines has its enumerator and
/// exception type.
enum class Errc : int {
    invalid_arg = PSFTP_E_INVALID_ARG,
    connect = PSFTP_E_CONNECT,
    hostkey_unknown = PSFTP_E_HOSTKEY_UNKNOWN,
    hostkey_mismatch = PSFTP_E_HOSTKEY_MISMATCH,
    auth = PSFTP_E_AUTH,
    not_found = PSFTP_E_NOT_FOUND,
    permission = PSFTP_E_PERMISSION,
    exists = PSFTP_E_EXISTS,
    not_a_directory = PSFTP_E_NOT_A_DIRECTORY,
    local_io = PSFTP_E_LOCAL_IO,
    sftp = PSFTP_E_SFTP,
    ssh = PSFTP_E_SSH,
    timeout = PSFTP_E_TIMEOUT,
    cancelled = PSFTP_E_CANCELLED,
    connection_lost = PSFTP_E_CONNECTION_LOST,
    unsafe_path = PSFTP_E_UNSAFE_PATH,
    panic = PSFTP_E_PANIC,
    unsupported = PSFTP_E_UNSUPPORTED,
    dir_not_empty = PSFTP_E_DIR_NOT_EMPTY,
    /// A callback stopped the call: a keyboard_interactive callback that
    /// returned std::nullopt (CallbackStopped). The other callbacks stop by
    /// throwing, and that exception comes out instead.
    user = PSFTP_E_USER,
    /// A verified transfer's copy differs from its source
    /// (TransferOpts::set_verify); the destination keeps its old content.
    integrity = PSFTP_E_INTEGRITY,
};

} // namespace psftp

/// psftp::Errc converts to std::error_code: `e.code() == psftp::Errc::not_found`.
namespace std {
template <>
struct is_error_code_enum<psftp::Errc> : true_type {};
} // namespace std

namespace psftp {

namespace detail {

/// The std::error_category of psftp's result codes; see error_category().
class ErrorCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "psftp"; }

    std::string message(int code) const override {
        switch (static_cast<Errc>(code)) {
        case Errc::invalid_arg: return "invalid argument";
        case Errc::connect: return "cannot connect to the server";
        case Errc::hostkey_unknown: return "host key not in known_hosts";
        case Errc::hostkey_mismatch: return "host key differs from known_hosts";
        case Errc::auth: return "authentication failed";
        case Errc::not_found: return "no such remote file or directory";
        case Errc::permission: return "permission denied by the server";
        case Errc::exists: return "file exists";
        case Errc::not_a_directory: return "not a directory";
        case Errc::local_io: return "local file-system error";
        case Errc::sftp: return "SFTP failure";
        case Errc::ssh: return "SSH protocol failure";
        case Errc::timeout: return "timed out";
        case Errc::cancelled: return "cancelled";
        case Errc::connection_lost: return "connection lost";
        case Errc::unsafe_path: return "remote name leads outside the destination";
        case Errc::panic: return "internal error in psftp (panic)";
        case Errc::unsupported: return "not supported by the server";
        case Errc::dir_not_empty: return "directory not empty";
        case Errc::user: return "stopped by a callback";
        case Errc::integrity: return "the verified copy differs from its source";
        }
        return code == PSFTP_OK ? "success" : "unknown psftp error " + std::to_string(code);
    }

    /// The portable condition where one holds, so that
    /// `ec == std::errc::no_such_file_or_directory` works as for
    /// std::filesystem. Codes without a POSIX counterpart (auth, host
    /// keys, SSH, ...) stay conditions of this category; a local failure
    /// (local_io) has its errno in Error::os_error().
    std::error_condition default_error_condition(int code) const noexcept override {
        switch (static_cast<Errc>(code)) {
        case Errc::invalid_arg: return std::errc::invalid_argument;
        case Errc::not_found: return std::errc::no_such_file_or_directory;
        case Errc::permission: return std::errc::permission_denied;
        case Errc::exists: return std::errc::file_exists;
        case Errc::not_a_directory: return std::errc::not_a_directory;
        case Errc::timeout: return std::errc::timed_out;
        case Errc::cancelled: return std::errc::operation_canceled;
        case Errc::connection_lost: return std::errc::connection_aborted;
        case Errc::unsupported: return std::errc::operation_not_supported;
        case Errc::dir_not_empty: return std::errc::directory_not_empty;
        default: return std::error_condition(code, *this);
        }
    }
};

} // namespace detail

/// The category of psftp's result codes: name "psftp", a message for each,
/// and std::errc equivalents where they hold (not_found is
/// no_such_file_or_directory, permission is permission_denied, exists
/// file_exists, not_a_directory, dir_not_empty directory_not_empty,
/// timeout timed_out, cancelled operation_canceled, connection_lost
/// connection_aborted, unsupported operation_not_supported, invalid_arg
/// invalid_argument). One object for the whole program.
inline const std::error_category& error_category() noexcept {
    static const detail::ErrorCategory category;
    return category;
}

/// Found by ADL: `std::error_code ec = psftp::Errc::not_found;`.
inline std::error_code make_error_code(Errc code) noexcept {
    return {static_cast<int>(code), error_category()};
}

/// One entry a tree operation (get_d, get_r, put_d, put_r) could not copy.
struct TreeFailure {
    /// The entry's source path relative to the root ("a/one.txt").
    std::string path;
    /// Its result code (PSFTP_E_*).
    int code;
    /// psftp's message for it.
    std::string message;
    Errc errc() const noexcept { return static_cast<Errc>(code); }
    std::error_code error_code() const noexcept { return {code, error_category()}; }
};

/// A failed psftp call: a std::system_error whose code() is the C result
/// code in psftp's error_category() (so `e.code() == psftp::Errc::not_found`
/// and `e.code() == std::errc::no_such_file_or_directory` both hold), and
/// whose what() is psftp's message, naming the path, host or parameter.
class Error : public std::system_error {
public:
    Error(int code, const std::string& message, std::vector<TreeFailure> failures = {},
          int os_errno = 0)
        : std::system_error(code, error_category(), message),
          message_(std::make_shared<const std::string>(message)), os_errno_(os_errno),
          failures_(failures.empty() ? nullptr
                                     : std::make_shared<const std::vector<TreeFailure>>(
                                           std::move(failures))) {}
    /// psftp's message alone (std::system_error would append the
    /// category's message, which psftp's already says).
    const char* what() const noexcept override { return message_->c_str(); }
    Errc errc() const noexcept { return static_cast<Errc>(code().value()); }
    /// The code's name, "PSFTP_E_NOT_FOUND".
    const char* name() const noexcept { return psftp_strerror(code().value()); }
    /// The code's short name, "ENOTFOUND" (as the Node binding's error.code).
    const char* short_name() const noexcept { return psftp_error_name(code().value()); }
    /// The OS error behind a local failure (local_io: ENOENT, ENOSPC, ...)
    /// or a refused TCP connect, in std::generic_category(); empty (false)
    /// when there was none.
    std::error_code os_error() const noexcept {
        return os_errno_ ? std::error_code(os_errno_, std::generic_category()) : std::error_code();
    }
    /// For a failed tree operation: every entry that failed (all of them
    /// with OnError::Continue, else the first). The exception's own code is
    /// the first one's, or that of a failure of the whole operation (a bad
    /// root, Cancelled, ...). Empty for other calls.
    const std::vector<TreeFailure>& failures() const noexcept {
        static const std::vector<TreeFailure> none;
        return failures_ ? *failures_ : none;
    }

private:
    // Shared so that copying the exception never throws.
    std::shared_ptr<const std::string> message_;
    int os_errno_;
    std::shared_ptr<const std::vector<TreeFailure>> failures_;
};

/// Base of HostKeyUnknown and HostKeyMismatch, to catch both at once.
class HostKeyError : public Error {
public:
    using Error::Error;
};

/// The exception type of one result code.
template <Errc C, class Base = Error>
class CodeError : public Base {
public:
    explicit CodeError(const std::string& message, std::vector<TreeFailure> failures = {},
                       int os_errno = 0)
        : Base(static_cast<int>(C), message, std::move(failures), os_errno) {}
};

using InvalidArgument = CodeError<Errc::invalid_arg>;
using ConnectError = CodeError<Errc::connect>;
using HostKeyUnknown = CodeError<Errc::hostkey_unknown, HostKeyError>;
using HostKeyMismatch = CodeError<Errc::hostkey_mismatch, HostKeyError>;
using AuthError = CodeError<Errc::auth>;
using NotFound = CodeError<Errc::not_found>;
using PermissionDenied = CodeError<Errc::permission>;
using AlreadyExists = CodeError<Errc::exists>;
using NotADirectory = CodeError<Errc::not_a_directory>;
using LocalIoError = CodeError<Errc::local_io>;
using SftpError = CodeError<Errc::sftp>;
using SshError = CodeError<Errc::ssh>;
using Timeout = CodeError<Errc::timeout>;
using Cancelled = CodeError<Errc::cancelled>;
using ConnectionLost = CodeError<Errc::connection_lost>;
using UnsafePath = CodeError<Errc::unsafe_path>;
using Panic = CodeError<Errc::panic>;
using Unsupported = CodeError<Errc::unsupported>;
using DirectoryNotEmpty = CodeError<Errc::dir_not_empty>;
using CallbackStopped = CodeError<Errc::user>;
using IntegrityError = CodeError<Errc::integrity>;

/// Throws the exception type of `code` with `message` (and the failed
/// entries of a tree operation).
/// `os_errno` is the errno behind it (Error::os_error()), 0 for none.
[[noreturn]] inline void throw_error(int code, const std::string& message,
                                     std::vector<TreeFailure> failures = {}, int os_errno = 0) {
    switch (static_cast<Errc>(code)) {
    case Errc::invalid_arg: throw InvalidArgument(message, std::move(failures), os_errno);
    case Errc::connect: throw ConnectError(message, std::move(failures), os_errno);
    case Errc::hostkey_unknown: throw HostKeyUnknown(message, std::move(failures), os_errno);
    case Errc::hostkey_mismatch: throw HostKeyMismatch(message, std::move(failures), os_errno);
    case Errc::auth: throw AuthError(message, std::move(failures), os_errno);
    case Errc::not_found: throw NotFound(message, std::move(failures), os_errno);
    case Errc::permission: throw PermissionDenied(message, std::move(failures), os_errno);
    case Errc::exists: throw AlreadyExists(message, std::move(failures), os_errno);
    case Errc::not_a_directory: throw NotADirectory(message, std::move(failures), os_errno);
    case Errc::local_io: throw LocalIoError(message, std::move(failures), os_errno);
    case Errc::sftp: throw SftpError(message, std::move(failures), os_errno);
    case Errc::ssh: throw SshError(message, std::move(failures), os_errno);
    case Errc::timeout: throw Timeout(message, std::move(failures), os_errno);
    case Errc::cancelled: throw Cancelled(message, std::move(failures), os_errno);
    case Errc::connection_lost: throw ConnectionLost(message, std::move(failures), os_errno);
    case Errc::unsafe_path: throw UnsafePath(message, std::move(failures), os_errno);
    case Errc::panic: throw Panic(message, std::move(failures), os_errno);
    case Errc::unsupported: throw Unsupported(message, std::move(failures), os_errno);
    case Errc::dir_not_empty: throw DirectoryNotEmpty(message, std::move(failures), os_errno);
    case Errc::user: throw CallbackStopped(message, std::move(failures), os_errno);
    case Errc::integrity: throw IntegrityError(message, std::move(failures), os_errno);
    }
    throw Error(code, message, std::move(failures), os_errno);
}

/// Throws for a C result code other than PSFTP_OK. Call it right after the
/// C call, on the same thread: the message is the thread's last error.
inline void check(int rc) {
    if (rc != PSFTP_OK)
        throw_error(rc, psftp_last_error(), {}, psftp_last_error_errno());
}

// ----------------------------------------------------------------- types

/// File attributes as the server reported them (stat, lstat,
/// listdir_attr, walktree, put's confirmation, File::stat), in the
/// std::filesystem vocabulary: type() and permissions() as a file_status,
/// times as std::chrono::system_clock time points. The server may leave a
/// field out (has_size(), has_ids(), has_permissions(), has_times() tell):
/// such a field reads as 0, the epoch, file_type::unknown or
/// perms::unknown. raw() is the C struct as psftp filled it.
class Attrs {
public:
    using clock = std::chrono::system_clock;

    /// No field set (flags 0).
    Attrs() noexcept : raw_() { raw_.struct_size = sizeof raw_; }
    explicit Attrs(const psftp_attrs& raw) noexcept : raw_(raw) {}

    /// The C struct: flags (PSFTP_ATTR_*), size, uid, gid, mode (st_mode
    /// bits), atime and mtime in seconds since the Unix epoch.
    const psftp_attrs& raw() const noexcept { return raw_; }
    std::uint32_t flags() const noexcept { return raw_.flags; }
    bool has_size() const noexcept { return (raw_.flags & PSFTP_ATTR_SIZE) != 0; }
    bool has_ids() const noexcept { return (raw_.flags & PSFTP_ATTR_UIDGID) != 0; }
    bool has_permissions() const noexcept { return (raw_.flags & PSFTP_ATTR_PERMISSIONS) != 0; }
    bool has_times() const noexcept { return (raw_.flags & PSFTP_ATTR_ACMODTIME) != 0; }

    std::uint64_t size() const noexcept { return has_size() ? raw_.size : 0; }
    std::uint32_t uid() const noexcept { return has_ids() ? raw_.uid : 0; }
    std::uint32_t gid() const noexcept { return has_ids() ? raw_.gid : 0; }
    /// The whole st_mode: type and permission bits (pysftp's st_mode).
    std::uint32_t mode() const noexcept { return has_permissions() ? raw_.mode : 0; }

    std::filesystem::file_type type() const noexcept {
        using std::filesystem::file_type;
        if (!has_permissions())
            return file_type::unknown;
        switch (raw_.mode & type_mask) {
        case 0040000: return file_type::directory;
        case 0100000: return file_type::regular;
        case 0120000: return file_type::symlink;
        case 0060000: return file_type::block;
        case 0020000: return file_type::character;
        case 0010000: return file_type::fifo;
        case 0140000: return file_type::socket;
        default: return file_type::unknown;
        }
    }
    /// The permission bits, setuid, setgid and sticky included (07777).
    std::filesystem::perms permissions() const noexcept {
        return has_permissions() ? static_cast<std::filesystem::perms>(raw_.mode & 07777)
                                 : std::filesystem::perms::unknown;
    }
    std::filesystem::file_status status() const noexcept {
        return std::filesystem::file_status(type(), permissions());
    }
    bool is_dir() const noexcept { return type() == std::filesystem::file_type::directory; }
    bool is_regular() const noexcept { return type() == std::filesystem::file_type::regular; }
    /// Only lstat() and listdir_attr() report links; stat() follows them.
    bool is_symlink() const noexcept { return type() == std::filesystem::file_type::symlink; }

    /// Second precision, as SFTP v3 carries them.
    clock::time_point mtime() const noexcept { return time_point(raw_.mtime); }
    clock::time_point atime() const noexcept { return time_point(raw_.atime); }

private:
    static constexpr std::uint32_t type_mask = 0170000;
    clock::time_point time_point(std::int64_t seconds) const noexcept {
        return clock::from_time_t(has_times() ? static_cast<std::time_t>(seconds) : 0);
    }

    psftp_attrs raw_;
};
/// statvfs@openssh.com figures.
using StatVfs = psftp_statvfs_info;

/// One listdir_attr() entry.
struct DirEntry {
    std::string filename;
    std::string longname;
    Attrs attrs;
};

/// A host key: type, base64 blob as in known_hosts, SHA256 fingerprint.
struct HostKey {
    std::string key_type;
    std::string base64;
    std::string fingerprint;
};

/// pysftp security_options: what this build can negotiate, best first.
struct SecurityOptions {
    std::vector<std::string> ciphers;
    std::vector<std::string> digests;
    std::vector<std::string> key_types;
    std::vector<std::string> kex;
    std::vector<std::string> compression;
};

/// execute(): stdout's lines then stderr's, with their newlines.
struct ExecResult {
    std::vector<std::string> lines;
    int exit_status;
};

/// sftp_client(): libssh2's LIBSSH2_SESSION and LIBSSH2_SFTP.
struct SftpClient {
    void* session;
    void* sftp;
};

/// Connection::lock(): the connection is held for this thread until the
/// guard goes out of scope (psftp_unlock). Move-only.
class [[nodiscard]] SessionLock {
public:
    explicit SessionLock(psftp_conn* conn) : conn_(conn) { check(psftp_lock(conn_)); }
    SessionLock(SessionLock&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
    SessionLock(const SessionLock&) = delete;
    SessionLock& operator=(const SessionLock&) = delete;
    SessionLock& operator=(SessionLock&&) = delete;
    ~SessionLock() {
        if (conn_)
            static_cast<void>(psftp_unlock(conn_));
    }

private:
    psftp_conn* conn_;
};

/// Progress of one file: bytes done and total (0 if unknown). Throw to stop.
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;
/// getfo() destination: consume a chunk. Throw to stop.
using WriteFn = std::function<void(std::string_view chunk)>;
/// putfo() origin: fill up to `size` bytes, return how many; 0 at the end.
using ReadFn = std::function<std::size_t(char* buf, std::size_t size)>;

/// What a walktree() callback asks for. Skip (from a directory callback)
/// leaves that directory's contents out. To stop the walk, throw.
enum class Walk : int { Continue = 0, Skip = PSFTP_WALK_SKIP };
/// A walktree() callback: the entry's path and attributes.
using WalkFn = std::function<Walk(const std::string& path, const Attrs& attrs)>;

/// Progress of a whole tree operation (get_d, get_r, put_d, put_r).
struct TreeProgress {
    std::uint64_t files_done;
    std::uint64_t files_total;
    std::uint64_t bytes_done;
    std::uint64_t bytes_total;
    /// The file most recently started or finished, relative to the root.
    std::string current_path;
};
/// Called on the calling thread when a file finishes and at least every
/// 100 ms. Throw to stop: every connection of the operation stops, and the
/// exception comes out of the call. It must not use the Connection running
/// the operation (such a call throws InvalidArgument at once, also while
/// another thread runs its own operation on it); other connections are
/// fine.
using TreeProgressFn = std::function<void(const TreeProgress& progress)>;

/// Tree operations: what to do with symbolic links.
enum class Symlinks : int {
    /// Leave them out (the default).
    Skip = PSFTP_SYMLINKS_SKIP,
    /// Copy what they point to when that lies inside the tree (loops are
    /// detected; links leading outside are left out).
    Follow = PSFTP_SYMLINKS_FOLLOW,
    /// Recreate them as links with the same target text, when it stays
    /// inside the tree (rsync --safe-links); others are left out.
    Copy = PSFTP_SYMLINKS_COPY,
    /// Recreate every link verbatim, absolute and escaping targets too.
    CopyAll = PSFTP_SYMLINKS_COPY_ALL,
};
/// Tree operations: what a failed entry does.
enum class OnError : int {
    /// Stop at the first failure (the default).
    Stop = PSFTP_ON_ERROR_STOP,
    /// Copy everything else; the exception then lists every failed entry in
    /// Error::failures().
    Continue = PSFTP_ON_ERROR_CONTINUE,
};

/// Why a host-key callback is asked.
enum class HostKeyStatus : int {
    /// known_hosts has no key for the host.
    Unknown = PSFTP_HOSTKEY_STATUS_UNKNOWN,
    /// known_hosts holds a different key for the host.
    Changed = PSFTP_HOSTKEY_STATUS_CHANGED,
};
/// A host-key callback's decision.
enum class HostKeyAnswer : int {
    /// Refuse: HostKeyUnknown or HostKeyMismatch.
    Reject = PSFTP_HOSTKEY_REJECT,
    /// Trust the key for this connection only.
    Accept = PSFTP_HOSTKEY_ACCEPT,
    /// Trust it and append it to the first known_hosts file (an unknown
    /// host only; a changed key is accepted without saving).
    AcceptAndSave = PSFTP_HOSTKEY_ACCEPT_AND_SAVE,
};
/// Decides about a key known_hosts does not vouch for: `host` and `port`
/// as given to the connect, the key offered, and why. Throw to reject; the
/// exception comes out of the Connection constructor.
using HostKeyFn = std::function<HostKeyAnswer(const std::string& host, int port,
                                              const HostKey& key, HostKeyStatus status)>;

/// One prompt of a keyboard-interactive round: the server's text and
/// whether the answer may be shown as typed (false for secrets).
struct KbdPrompt {
    std::string text;
    bool echo = false;
};

/// One keyboard-interactive round: who asks (the server, or a jump host:
/// each hop authenticates on its own) and what.
struct KbdRequest {
    std::string host;
    int port = 0;
    /// The user name the asking endpoint authenticates.
    std::string user;
    /// The server's name for the exchange and its instruction (often empty).
    std::string name;
    std::string instruction;
    /// In the server's order.
    std::vector<KbdPrompt> prompts;
};

/// Answers a keyboard-interactive round (a one-time code, a PAM
/// conversation): one answer per prompt, in order; prompts past the end of
/// the vector get the password given to the connection (for the server),
/// else an empty answer. std::nullopt gives up (the constructor throws
/// CallbackStopped, PSFTP_E_USER); an exception gives up too and comes out
/// of the Connection constructor. Each Connection calls its own copy, so
/// connects on several threads may call copies of one function at once.
using KbdIntFn = std::function<std::optional<std::vector<std::string>>(const KbdRequest& request)>;

// ---------------------------------------------------------------- detail

namespace detail {

/// unique_ptr deleter calling psftp's own free/close function.
template <auto Free>
struct Deleter {
    template <class T>
    void operator()(T* p) const noexcept {
        static_cast<void>(Free(p));
    }
};
template <class T, auto Free>
using Handle = std::unique_ptr<T, Deleter<Free>>;

/// A std::string as a C string. An embedded NUL would silently cut the
/// string (and name another path), so it is refused.
inline const char* c_str(const std::string& s, const char* param) {
    if (s.find('\0') != std::string::npos)
        throw InvalidArgument(std::string(param) + ": contains a NUL byte");
    return s.c_str();
}
inline const char* c_str(const std::filesystem::path& p, const char* param) {
    return c_str(p.native(), param);
}
template <class S>
const char* c_str(const std::optional<S>& s, const char* param) {
    return s ? c_str(*s, param) : nullptr;
}

/// std::filesystem::perms as psftp's POSIX mode bits (perms::unknown and
/// any other bit above 07777 is refused by psftp, naming the mode).
inline std::uint32_t mode_bits(std::filesystem::perms mode) {
    return static_cast<std::uint32_t>(mode);
}

inline std::string take_string(char* s) {
    Handle<char, psftp_string_free> owned(s);
    return s ? std::string(s) : std::string();
}
inline std::optional<std::string> take_optional_string(char* s) {
    Handle<char, psftp_string_free> owned(s);
    return s ? std::optional<std::string>(s) : std::nullopt;
}
inline std::vector<std::string> copy_strings(const psftp_strarray& list) {
    return std::vector<std::string>(list.strings, list.strings + list.count);
}
inline std::vector<std::string> take_strings(psftp_strarray* list) {
    Handle<psftp_strarray, psftp_strarray_free> owned(list);
    return copy_strings(*list);
}
inline HostKey take_hostkey(psftp_hostkey* key) {
    Handle<psftp_hostkey, psftp_hostkey_free> owned(key);
    return HostKey{key->key_type, key->base64, key->fingerprint};
}

/// Keeps the first exception a callback throws, so that it crosses the C
/// frames as a "stop" return value and is rethrown after the C call.
class CallbackError {
public:
    /// -1 stops every psftp callback: it is non-zero (progress, write),
    /// negative (read) and not PSFTP_WALK_SKIP (walks).
    template <class F>
    auto run(F&& f) noexcept -> decltype(f()) {
        if (error_)
            return -1; // never call back after a failure
        try {
            return f();
        } catch (...) {
            error_ = std::current_exception();
            return -1;
        }
    }
    /// Rethrows a callback's exception, if there was one.
    void rethrow() const {
        if (error_)
            std::rethrow_exception(error_);
    }
    /// After the C call: a callback's exception wins over the result code.
    void check(int rc) const {
        rethrow();
        psftp::check(rc);
    }

private:
    std::exception_ptr error_;
};

/// user_data of transfer calls: the callbacks and their exception.
struct TransferCallbacks {
    CallbackError error;
    const Progress* progress = nullptr;
    const WriteFn* write = nullptr;
    const ReadFn* read = nullptr;
};

inline int progress_trampoline(std::uint64_t done, std::uint64_t total, void* ud) noexcept {
    auto* cb = static_cast<TransferCallbacks*>(ud);
    return cb->error.run([&] {
        (*cb->progress)(done, total);
        return 0;
    });
}
inline int write_trampoline(const std::uint8_t* data, std::size_t len, void* ud) noexcept {
    auto* cb = static_cast<TransferCallbacks*>(ud);
    return cb->error.run([&] {
        (*cb->write)(std::string_view(reinterpret_cast<const char*>(data), len));
        return 0;
    });
}
inline std::int64_t read_trampoline(std::uint8_t* buf, std::size_t len, void* ud) noexcept {
    auto* cb = static_cast<TransferCallbacks*>(ud);
    return cb->error.run([&] {
        return static_cast<std::int64_t>((*cb->read)(reinterpret_cast<char*>(buf), len));
    });
}
inline psftp_progress_cb progress_cb(const Progress& p) {
    return p ? &progress_trampoline : nullptr;
}

/// user_data of walks: the three callbacks and their exception.
struct WalkCallbacks {
    CallbackError error;
    const WalkFn* file;
    const WalkFn* dir;
    const WalkFn* unknown;
};

template <const WalkFn* WalkCallbacks::*Which>
int walk_trampoline(const char* path, const psftp_attrs* attrs, void* ud) noexcept {
    auto* cb = static_cast<WalkCallbacks*>(ud);
    return cb->error.run([&] { return static_cast<int>((*(cb->*Which))(path, Attrs(*attrs))); });
}

/// Runs a C walk function with the three callbacks (each may be empty).
template <class CallWalk>
void walk(const WalkFn& file, const WalkFn& dir, const WalkFn& unknown, CallWalk&& call) {
    WalkCallbacks cb{{}, &file, &dir, &unknown};
    cb.error.check(call(file ? &walk_trampoline<&WalkCallbacks::file> : nullptr,
                        dir ? &walk_trampoline<&WalkCallbacks::dir> : nullptr,
                        unknown ? &walk_trampoline<&WalkCallbacks::unknown> : nullptr, &cb));
}

/// user_data of tree operations: the progress callback and its exception.
struct TreeCallbacks {
    CallbackError error;
    const TreeProgressFn* progress;
};

inline int tree_progress_trampoline(const psftp_tree_progress* p, void* ud) noexcept {
    auto* cb = static_cast<TreeCallbacks*>(ud);
    return cb->error.run([&] {
        (*cb->progress)(TreeProgress{p->files_done, p->files_total, p->bytes_done,
                                     p->bytes_total,
                                     p->current_path ? p->current_path : ""});
        return 0;
    });
}

inline std::vector<TreeFailure> copy_failures(const psftp_failure_list* list) {
    std::vector<TreeFailure> failures;
    if (list == nullptr)
        return failures;
    failures.reserve(list->count);
    for (std::size_t i = 0; i < list->count; i++) {
        const psftp_failure& f = *list->items[i];
        failures.push_back(
            TreeFailure{f.path ? f.path : "", f.code, f.message ? f.message : ""});
    }
    return failures;
}

/// Runs a C tree operation, `call(callback, user_data, &failures)`, and
/// throws its error with the failed entries (a callback's exception wins).
template <class Call>
void tree(const TreeProgressFn& progress, Call&& call) {
    TreeCallbacks cb{{}, &progress};
    psftp_failure_list* list = nullptr;
    const int rc = call(progress ? &tree_progress_trampoline : nullptr, &cb, &list);
    Handle<psftp_failure_list, psftp_failure_list_free> owned(list);
    cb.error.rethrow();
    if (rc != PSFTP_OK) {
        const std::string message = psftp_last_error(); // before any other psftp call
        const int os_errno = psftp_last_error_errno();
        throw_error(rc, message, copy_failures(list), os_errno);
    }
}

/// user_data of a CnOpts host-key callback; owned by psftp, which deletes
/// it through delete_hostkey_context when nothing needs it any more.
struct HostKeyContext {
    HostKeyFn decide;
};

inline void delete_hostkey_context(void* ctx) noexcept {
    delete static_cast<HostKeyContext*>(ctx);
}

/// Where the host-key callback of the Connection constructor running on
/// this thread leaves its exception (the callback runs on the connecting
/// thread, during the connect). One slot per thread, so connects on
/// several threads with the same CnOpts keep their exceptions apart.
inline thread_local CallbackError* connect_errors = nullptr;

/// Points connect_errors at one connect's slot for the scope.
class ConnectScope {
public:
    explicit ConnectScope(CallbackError* errors) noexcept
        : previous_(std::exchange(connect_errors, errors)) {}
    ~ConnectScope() { connect_errors = previous_; }
    ConnectScope(const ConnectScope&) = delete;
    ConnectScope& operator=(const ConnectScope&) = delete;

private:
    CallbackError* previous_;
};

inline int hostkey_trampoline(const char* host, int port, const psftp_hostkey* key, int status,
                              void* ud) noexcept {
    const auto* ctx = static_cast<const HostKeyContext*>(ud);
    if (key == nullptr)
        return PSFTP_HOSTKEY_REJECT;
    // A connect outside the Connection constructor (C's psftp_connect with
    // CnOpts::handle()) has no slot: its callback's exception only rejects.
    CallbackError unclaimed;
    CallbackError& errors = connect_errors ? *connect_errors : unclaimed;
    const int answer = errors.run([&] {
        HostKey offered{key->key_type, key->base64, key->fingerprint};
        return static_cast<int>(
            ctx->decide(host ? host : "", port, offered, static_cast<HostKeyStatus>(status)));
    });
    return answer < 0 ? PSFTP_HOSTKEY_REJECT : answer; // -1: it threw
}

/// user_data of a keyboard-interactive callback; owned by psftp, which
/// deletes it through delete_kbdint_context when nothing needs it.
struct KbdIntContext {
    KbdIntFn answer;
};

inline void delete_kbdint_context(void* ctx) noexcept {
    delete static_cast<KbdIntContext*>(ctx);
}

inline int kbdint_trampoline(const psftp_kbdint_request* req, psftp_kbdint_answers* answers,
                             void* ud) noexcept {
    const auto* ctx = static_cast<const KbdIntContext*>(ud);
    if (req == nullptr)
        return 1;
    // As for the host-key callback: an exception goes to the Connection
    // constructor running on this thread, if any.
    CallbackError unclaimed;
    CallbackError& errors = connect_errors ? *connect_errors : unclaimed;
    return errors.run([&] {
        auto text = [](const char* s) { return std::string(s ? s : ""); };
        KbdRequest request{text(req->host), req->port, text(req->user),
                           text(req->name), text(req->instruction), {}};
        for (size_t i = 0; i < req->num_prompts; i++) {
            const psftp_kbdint_prompt* p = req->prompts[i];
            request.prompts.push_back({text(p->text), p->echo});
        }
        auto replies = ctx->answer(request);
        if (!replies)
            return 1; // gives up: PSFTP_E_USER, CallbackStopped
        int rc = 0;
        for (size_t i = 0; i < replies->size() && i < request.prompts.size() && rc == 0; i++)
            rc = psftp_kbdint_answer(answers, i, (*replies)[i].c_str()) == PSFTP_OK ? 0 : 1;
        // Our copies of the answers are wiped; psftp keeps its own.
        for (auto& r : *replies)
            std::fill(r.begin(), r.end(), '\0');
        return rc;
    });
}

template <class T, class = void>
struct has_struct_size : std::false_type {};
template <class T>
struct has_struct_size<T, std::void_t<decltype(std::declval<T&>().struct_size)>>
    : std::true_type {};

/// An empty T for psftp to fill: a value struct gets its struct_size.
template <class T>
T empty() {
    T value{};
    if constexpr (has_struct_size<T>::value)
        value.struct_size = sizeof(T);
    return value;
}

/// Calls `f(&out)` and throws on failure; returns what it wrote.
template <class T, class F>
T out(F&& f) {
    T value = empty<T>();
    check(f(&value));
    return value;
}

/// Runs `f`, turning a psftp::Error into `ec` (cleared on success) and
/// the result into its empty value: the std::error_code overloads, as
/// std::filesystem has them. Other exceptions (std::bad_alloc) pass.
template <class F>
auto into_error_code(std::error_code& ec, F&& f) -> decltype(f()) {
    ec.clear();
    try {
        return f();
    } catch (const Error& e) {
        ec = e.code();
        if constexpr (!std::is_void_v<decltype(f())>)
            return {};
    }
}

} // namespace detail

// ----------------------------------------------------------- directories

class CdGuard;
/// with pysftp.cd(localpath): chdir(2) for the whole process until the
/// guard goes out of scope; nullopt only bookmarks.
inline CdGuard local_cd(const std::optional<std::filesystem::path>& localpath = std::nullopt);

/// Restores the working directory (remote for Connection::cd(), the
/// process's for local_cd()) when it goes out of scope. Move-only. It
/// outliving its connection is harmless (the restore is then skipped).
class [[nodiscard]] CdGuard {
public:
    CdGuard(CdGuard&& other) noexcept
        : restore_(std::exchange(other.restore_, nullptr)), conn_(other.conn_) {}
    CdGuard(const CdGuard&) = delete;
    CdGuard& operator=(const CdGuard&) = delete;
    CdGuard& operator=(CdGuard&&) = delete; // guards restore in stack order
    ~CdGuard() {
        if (restore_)
            restore_(conn_);
    }

private:
    using Restore = void (*)(psftp_conn*) noexcept;
    CdGuard(Restore restore, psftp_conn* conn) : restore_(restore), conn_(conn) {}
    friend class Connection;
    friend CdGuard local_cd(const std::optional<std::filesystem::path>& localpath);

    Restore restore_;
    psftp_conn* conn_;
};

// ------------------------------------------------------------ options

/// pysftp CnOpts: known_hosts, logging, compression, ciphers, timeouts.
/// Connecting copies what it needs, so options may change afterwards.
class CnOpts {
public:
    /// pysftp CnOpts(knownhosts=None): nullopt means ~/.ssh/known_hosts.
    explicit CnOpts(const std::optional<std::filesystem::path>& knownhosts = std::nullopt) {
        handle_.reset(detail::out<psftp_cnopts*>([&](psftp_cnopts** o) {
            return psftp_cnopts_new(detail::c_str(knownhosts, "knownhosts"), o);
        }));
    }
    /// cnopts.hostkeys.load(path): merge another known_hosts file.
    CnOpts& load(const std::filesystem::path& path) {
        check(psftp_cnopts_load(handle(), detail::c_str(path, "path")));
        return *this;
    }
    /// cnopts.hostkeys = ...: nullopt turns host-key checking off (NOT
    /// ADVISED); a path makes that file the only known_hosts file.
    CnOpts& set_hostkeys(const std::optional<std::filesystem::path>& knownhosts) {
        check(psftp_cnopts_set_hostkeys(handle(), detail::c_str(knownhosts, "knownhosts")));
        return *this;
    }
    /// Trust on first use: append an unknown host's key to the first
    /// known_hosts file (atomically, never twice) and go on. A changed key
    /// is still refused. Default off.
    CnOpts& set_accept_new(bool accept_new) {
        check(psftp_cnopts_set_accept_new(handle(), accept_new));
        return *this;
    }
    /// cnopts.log: to `path`, or to a temporary file when nullopt.
    CnOpts& set_log(bool log, const std::optional<std::filesystem::path>& path = std::nullopt) {
        check(psftp_cnopts_set_log(handle(), log, detail::c_str(path, "path")));
        return *this;
    }
    CnOpts& set_compression(bool compression) {
        check(psftp_cnopts_set_compression(handle(), compression));
        return *this;
    }
    /// Comma-separated preference list; nullopt restores the default.
    CnOpts& set_ciphers(const std::optional<std::string>& ciphers) {
        check(psftp_cnopts_set_ciphers(handle(), detail::c_str(ciphers, "ciphers")));
        return *this;
    }
    CnOpts& set_connect_timeout(double seconds) {
        check(psftp_cnopts_set_connect_timeout(handle(), seconds));
        return *this;
    }
    CnOpts& set_timeout(double seconds) {
        check(psftp_cnopts_set_timeout(handle(), seconds));
        return *this;
    }
    /// A call whose bytes stop moving this long throws a TIMEOUT error
    /// (default 60 s; 0 turns it off).
    CnOpts& set_stall_timeout(double seconds) {
        check(psftp_cnopts_set_stall_timeout(handle(), seconds));
        return *this;
    }
    /// ssh's ServerAliveInterval: keepalives that ask for a reply after
    /// this many silent seconds (0 = never, the default).
    CnOpts& set_keepalive(int seconds) {
        check(psftp_cnopts_set_keepalive(handle(), seconds));
        return *this;
    }
    /// ssh's ServerAliveCountMax: a server silent for keepalive x count is
    /// given up (CONNECTION_LOST). Default 3.
    CnOpts& set_keepalive_count_max(int count) {
        check(psftp_cnopts_set_keepalive_count_max(handle(), count));
        return *this;
    }
    /// Lets `callback` decide about unknown and changed host keys instead of
    /// refusing them (or of accept-new, for unknown ones); keys known_hosts
    /// vouches for never reach it. It runs during the Connection
    /// constructor, on its thread. An exception thrown in it rejects the key
    /// and comes out of the constructor. The extra connections of a tree
    /// operation trust the key the first one accepted without asking again.
    /// An empty function removes the callback. psftp keeps the callback
    /// (and what it captured) as long as these options or a Connection made
    /// with them lives, and destroys it after the last of them, on that
    /// one's thread. Connects on several threads with the same options call
    /// it one at a time.
    CnOpts& set_hostkey_callback(HostKeyFn callback) {
        if (!callback) {
            check(psftp_cnopts_set_hostkey_callback(handle(), nullptr, nullptr, nullptr));
            return *this;
        }
        // psftp owns the context from here on: its finalizer deletes it,
        // also when this call fails.
        auto* ctx = new detail::HostKeyContext{std::move(callback)};
        check(psftp_cnopts_set_hostkey_callback(handle(), &detail::hostkey_trampoline, ctx,
                                                &detail::delete_hostkey_context));
        return *this;
    }
    /// The first known key of `host` ("[host]:port" for a port other than 22).
    HostKey get_hostkey(const std::string& host) const {
        return detail::take_hostkey(detail::out<psftp_hostkey*>([&](psftp_hostkey** o) {
            return psftp_cnopts_get_hostkey(handle(), detail::c_str(host, "host"), o);
        }));
    }
    /// Read ssh_config as `ssh HOST` does: ~/.ssh/config and
    /// /etc/ssh/ssh_config, or only `path` (ssh -F). The host may then be a
    /// Host alias; what the Connection is given explicitly, and every
    /// option set here, wins over the files. Off by default (as pysftp).
    CnOpts& set_ssh_config(bool use, const std::optional<std::filesystem::path>& path = std::nullopt) {
        check(psftp_cnopts_set_ssh_config(handle(), use, detail::c_str(path, "path")));
        return *this;
    }
    /// What connecting to `host` would use, as `ssh -G host` prints it.
    std::string ssh_config_report(const std::string& host) const {
        return detail::take_string(detail::out<char*>([&](char** o) {
            return psftp_cnopts_ssh_config_report(handle(), detail::c_str(host, "host"), o);
        }));
    }
    /// Jump hosts, as ssh -J: "user@host:port,host2"; "none" ignores
    /// ssh_config's; nullopt removes the setting.
    CnOpts& set_proxy_jump(const std::optional<std::string>& hops) {
        check(psftp_cnopts_set_proxy_jump(handle(), detail::c_str(hops, "hops")));
        return *this;
    }
    /// A command carrying the connection on stdin/stdout (%h %p %r tokens),
    /// as ssh's ProxyCommand; nullopt removes the setting.
    CnOpts& set_proxy_command(const std::optional<std::string>& command) {
        check(psftp_cnopts_set_proxy_command(handle(), detail::c_str(command, "command")));
        return *this;
    }
    psftp_cnopts* handle() const noexcept { return handle_.get(); }

private:
    detail::Handle<psftp_cnopts, psftp_cnopts_free> handle_;
};

/// Options of get, put, putfo and the tree operations: atomic replacement,
/// resume, fsync, parallelism; for get_d, get_r, put_d and put_r also sync,
/// filters, symlink, mode and error policies. A call copies them, so they
/// can be reused and changed between calls.
class TransferOpts {
public:
    /// The defaults: atomic on, resume off, fsync off; 4 connections, no
    /// sync, no filters, symlinks skipped, modes not copied, stop at the
    /// first error.
    TransferOpts() { handle_.reset(detail::out<psftp_transfer_opts*>(psftp_transfer_opts_new)); }
    TransferOpts& set_atomic(bool atomic) {
        check(psftp_transfer_opts_set_atomic(handle(), atomic));
        return *this;
    }
    TransferOpts& set_resume(bool resume) {
        check(psftp_transfer_opts_set_resume(handle(), resume));
        return *this;
    }
    TransferOpts& set_fsync(bool fsync) {
        check(psftp_transfer_opts_set_fsync(handle(), fsync));
        return *this;
    }
    /// Reconnect and go on up to `retries` times (0 to 1000, default 0)
    /// after the link failed, waiting `delay_seconds` first (doubled each
    /// time, at most 60 s); part files are continued, completed files of a
    /// tree skipped. Connection::last_retries() says how many happened.
    TransferOpts& set_retries(int retries, double delay_seconds = 1.0) {
        check(psftp_transfer_opts_set_retries(handle(), retries, delay_seconds));
        return *this;
    }
    /// Check each file against its source before it is put in place
    /// (PSFTP_VERIFY_OFF, _ON: check-file or read back, _ALLOW_EXEC: also sha256sum on the
    /// server when that works); a difference throws IntegrityError and
    /// the destination keeps its old content.
    TransferOpts& set_verify(int mode) {
        check(psftp_transfer_opts_set_verify(handle(), mode));
        return *this;
    }
    /// Connections working at once (1 to 64, default 4) in tree
    /// operations, and for a file of 64 MiB or more: put over a link with a
    /// round trip of 5 ms or more, get from 30 ms; the extra ones use the same host,
    /// credentials and options. 1 never opens extra connections.
    TransferOpts& set_parallelism(int connections) {
        check(psftp_transfer_opts_set_parallelism(handle(), connections));
        return *this;
    }
    /// Tree operations: skip files whose destination has the same size and
    /// mtime; keeps mtimes on what it copies, so the next run can compare.
    TransferOpts& set_sync(bool sync) {
        check(psftp_transfer_opts_set_sync(handle(), sync));
        return *this;
    }
    /// Tree operations: copy only files matching one of the include globs,
    /// relative to the root ("*.c" matches a name at any depth; a pattern
    /// with a slash the whole relative path, "**" spanning levels).
    TransferOpts& add_include(const std::string& pattern) {
        check(psftp_transfer_opts_add_include(handle(), detail::c_str(pattern, "pattern")));
        return *this;
    }
    /// Tree operations: leave out matching files and directories (an
    /// excluded directory is not descended into).
    TransferOpts& add_exclude(const std::string& pattern) {
        check(psftp_transfer_opts_add_exclude(handle(), detail::c_str(pattern, "pattern")));
        return *this;
    }
    TransferOpts& set_symlinks(Symlinks policy) {
        check(psftp_transfer_opts_set_symlinks(handle(), static_cast<int>(policy)));
        return *this;
    }
    /// Tree operations: copy permission bits (a download never gets setuid,
    /// setgid or sticky bits).
    TransferOpts& set_preserve_mode(bool preserve_mode) {
        check(psftp_transfer_opts_set_preserve_mode(handle(), preserve_mode));
        return *this;
    }
    TransferOpts& set_on_error(OnError policy) {
        check(psftp_transfer_opts_set_on_error(handle(), static_cast<int>(policy)));
        return *this;
    }
    psftp_transfer_opts* handle() const noexcept { return handle_.get(); }

private:
    detail::Handle<psftp_transfer_opts, psftp_transfer_opts_free> handle_;
};

namespace detail {
inline const psftp_transfer_opts* handle_of(const TransferOpts* opts) {
    return opts ? opts->handle() : nullptr;
}
} // namespace detail

// ------------------------------------------------ options of one call

// Named options of the transfer calls. They are aggregates: in C++17 set
// the fields you need by name (`psftp::GetOptions o; o.preserve_mtime =
// true;`), in C++20 with designated initializers (`sftp.get(r, l,
// {.preserve_mtime = true})`); unset fields are pysftp's defaults. The
// tunables shared by many calls (atomic, resume, fsync, parallelism, sync,
// filters, policies) stay in a TransferOpts, which `transfer` points to.

/// get().
struct GetOptions {
    /// Progress of the file (bytes done, total). Throw to stop.
    Progress progress{};
    /// Give the local file the remote file's atime and mtime.
    bool preserve_mtime = false;
    /// Not owned, must outlive the call; nullptr: the defaults.
    const TransferOpts* transfer = nullptr;
};

/// put().
struct PutOptions {
    Progress progress{};
    /// Stat the remote file afterwards and return its attributes.
    bool confirm = true;
    /// Give the remote file the local file's atime and mtime.
    bool preserve_mtime = false;
    const TransferOpts* transfer = nullptr;
};

/// putfo().
struct PutfoOptions {
    Progress progress{};
    /// Only the progress callback's total (0: unknown).
    std::uint64_t file_size = 0;
    bool confirm = true;
    const TransferOpts* transfer = nullptr;
};

/// get_d() and get_r().
struct TreeGetOptions {
    /// Progress of the whole operation; see TreeProgressFn.
    TreeProgressFn progress{};
    bool preserve_mtime = false;
    const TransferOpts* transfer = nullptr;
};

/// put_d() and put_r().
struct TreePutOptions {
    TreeProgressFn progress{};
    bool confirm = true;
    bool preserve_mtime = false;
    const TransferOpts* transfer = nullptr;
};

/// walktree() and local_walktree(): the callbacks by name (an empty one is
/// skipped) and whether to descend.
struct WalkOptions {
    /// Each regular file.
    WalkFn file{};
    /// Each directory; Walk::Skip does not descend into it.
    WalkFn dir{};
    /// Each entry that is neither (links, devices, ...).
    WalkFn unknown{};
    /// false: only the entries of the top directory.
    bool recurse = true;
};

// ------------------------------------------------------------------ files

/// An open remote file (pysftp open()). Binary. Closed when destroyed;
/// close() reports the error of the final flush.
class File {
public:
    /// Reads up to `size` bytes into `buf`; fewer only at the end (0 there).
    std::size_t read(void* buf, std::size_t size) {
        return detail::out<std::size_t>(
            [&](std::size_t* n) { return psftp_file_read(handle(), buf, size, n); });
    }
    /// Python read(size): up to `size` bytes; nullopt reads to the end.
    std::string read(std::optional<std::size_t> size = std::nullopt) {
        if (size)
            return read_up_to(*size);
        std::string all;
        for (std::string part = read_up_to(chunk); !part.empty(); part = read_up_to(chunk))
            all += part;
        return all;
    }
    /// Up to and including the next '\n', at most `size` bytes (nullopt: no
    /// limit); "" at the end of the file.
    std::string readline(std::optional<std::size_t> size = std::nullopt) {
        if (size)
            return readline_up_to(*size);
        std::string line;
        for (;;) {
            std::string part = readline_up_to(chunk);
            line += part;
            if (part.size() < chunk || part.back() == '\n')
                return line;
        }
    }
    void write(std::string_view data) {
        check(psftp_file_write(handle(), data.data(), data.size()));
    }
    /// Moves to `offset` from std::ios::beg, cur or end; returns the position.
    std::uint64_t seek(std::int64_t offset, std::ios_base::seekdir dir = std::ios_base::beg) {
        return detail::out<std::uint64_t>(
            [&](std::uint64_t* pos) { return psftp_file_seek(handle(), offset, whence(dir), pos); });
    }
    std::uint64_t tell() {
        return detail::out<std::uint64_t>(
            [&](std::uint64_t* pos) { return psftp_file_tell(handle(), pos); });
    }
    Attrs stat() {
        return Attrs(detail::out<psftp_attrs>(
            [&](psftp_attrs* a) { return psftp_file_stat(handle(), a); }));
    }
    void flush() { check(psftp_file_flush(handle())); }
    void fsync() { check(psftp_file_fsync(handle())); }
    void truncate(std::uint64_t size) { check(psftp_file_truncate(handle(), size)); }
    /// Flushes and closes; closing again does nothing.
    void close() { check(psftp_file_close(handle_.release())); }
    psftp_file* handle() const noexcept { return handle_.get(); }

private:
    friend class Connection;
    explicit File(psftp_file* raw) : handle_(raw) {}
    static constexpr std::size_t chunk = 64 * 1024;

    std::string read_up_to(std::size_t size) {
        std::string buf(size, '\0');
        buf.resize(read(buf.data(), size));
        return buf;
    }
    std::string readline_up_to(std::size_t size) {
        std::string buf(size, '\0');
        buf.resize(detail::out<std::size_t>(
            [&](std::size_t* n) { return psftp_file_readline(handle(), buf.data(), size, n); }));
        return buf;
    }
    static int whence(std::ios_base::seekdir dir) {
        if (dir == std::ios_base::cur)
            return PSFTP_SEEK_CUR;
        return dir == std::ios_base::end ? PSFTP_SEEK_END : PSFTP_SEEK_SET;
    }

    detail::Handle<psftp_file, psftp_file_close> handle_;
};

// ---------------------------------------------------------------- streams

/// A std::streambuf over a remote File, so that the iostream machinery
/// works on it: `std::getline`, `>>`, `<<`, `read`, `write`, `seekg`,
/// `tellg`, istreambuf_iterator. One buffer (64 KiB by default) serves
/// reading or writing at a time, as std::filebuf's does; reads and writes
/// larger than it go straight to the File. Opened for reading and writing
/// ("r+", "w+") it may switch between the two, after a seek or not.
///
/// A psftp failure inside it is kept in error() and thrown on: the stream
/// calling it sets badbit and, with `exceptions(std::ios::badbit)`,
/// rethrows the psftp::Error itself. A failed seek (before the start)
/// returns -1, so seekg/seekp set failbit. The destructor writes what is
/// buffered and closes the file, ignoring errors: call close() to learn
/// that the last bytes arrived.
class remote_streambuf : public std::streambuf {
public:
    static constexpr std::size_t default_buffer_size = 64 * 1024;

    explicit remote_streambuf(File file, std::size_t buffer_size = default_buffer_size)
        : file_(std::move(file)), buffer_(std::max<std::size_t>(buffer_size, 1)) {}
    remote_streambuf(const remote_streambuf&) = delete;
    remote_streambuf& operator=(const remote_streambuf&) = delete;
    ~remote_streambuf() override {
        try {
            flush_put_area();
        } catch (...) { // a destructor cannot report it; close() does
        }
    }

    /// Writes what is buffered and closes the file (its final flush
    /// included); throws psftp::Error. Closing again does nothing.
    void close() {
        if (file_.handle() == nullptr)
            return;
        guard([&] {
            flush_put_area();
            setg(nullptr, nullptr, nullptr);
            file_.close();
            return 0;
        });
    }
    bool is_open() const noexcept { return file_.handle() != nullptr; }
    /// The File beneath (stat(), truncate(), ...); sync first to have it
    /// see what the stream wrote.
    File& file() noexcept { return file_; }
    /// The psftp failure that last stopped this buffer, if any.
    const std::optional<Error>& error() const noexcept { return error_; }

protected:
    int_type underflow() override {
        return guard([&] {
            start_reading();
            const std::size_t n = file_.read(buffer_.data(), buffer_.size());
            if (n == 0)
                return traits_type::eof();
            setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
            return traits_type::to_int_type(*gptr());
        });
    }

    std::streamsize xsgetn(char* out, std::streamsize count) override {
        return guard([&] {
            std::streamsize done = 0;
            while (done < count) {
                if (gptr() == egptr()) {
                    if (static_cast<std::size_t>(count - done) >= buffer_.size()) {
                        start_reading(); // large: straight into the caller's memory
                        const std::size_t n =
                            file_.read(out + done, static_cast<std::size_t>(count - done));
                        if (n == 0)
                            break;
                        done += static_cast<std::streamsize>(n);
                        continue;
                    }
                    if (traits_type::eq_int_type(underflow(), traits_type::eof()))
                        break;
                }
                const std::streamsize n = std::min<std::streamsize>(count - done, egptr() - gptr());
                traits_type::copy(out + done, gptr(), static_cast<std::size_t>(n));
                gbump(static_cast<int>(n));
                done += n;
            }
            return done;
        });
    }

    int_type overflow(int_type ch) override {
        return guard([&] {
            if (pptr() == epptr())
                flush_put_area(); // full (or none yet)
            start_writing();
            if (!traits_type::eq_int_type(ch, traits_type::eof())) {
                *pptr() = traits_type::to_char_type(ch);
                pbump(1);
            }
            return traits_type::not_eof(ch);
        });
    }

    std::streamsize xsputn(const char* data, std::streamsize count) override {
        if (static_cast<std::size_t>(count) < buffer_.size())
            return std::streambuf::xsputn(data, count); // fills the buffer, calls overflow
        return guard([&] {
            start_writing(); // large: straight to the File
            flush_put_area();
            file_.write(std::string_view(data, static_cast<std::size_t>(count)));
            return count;
        });
    }

    /// Writes the buffer and flushes the File to the server.
    int sync() override {
        return guard([&] {
            flush_put_area();
            if (file_.handle() != nullptr)
                file_.flush();
            return 0;
        });
    }

    pos_type seekoff(off_type offset, std::ios_base::seekdir dir,
                     std::ios_base::openmode) override {
        try {
            if (offset == 0 && dir == std::ios_base::cur) // tellg/tellp: nothing moves
                return pos_type(static_cast<off_type>(file_.tell()) + (pptr() - pbase()) -
                                (egptr() - gptr()));
            flush_put_area();
            if (dir == std::ios_base::cur)
                offset -= egptr() - gptr(); // the File is ahead by what is unread
            setg(nullptr, nullptr, nullptr);
            return pos_type(static_cast<off_type>(file_.seek(offset, dir)));
        } catch (const Error& e) {
            error_.emplace(e);
            return pos_type(off_type(-1));
        }
    }
    pos_type seekpos(pos_type pos, std::ios_base::openmode which) override {
        return seekoff(off_type(pos), std::ios_base::beg, which);
    }

private:
    /// Keeps a psftp failure in error_ and throws on (see the class).
    template <class F>
    auto guard(F&& f) -> decltype(f()) {
        try {
            return f();
        } catch (const Error& e) {
            error_.emplace(e);
            throw;
        }
    }
    /// Before reading: what is buffered for writing goes out first.
    void start_reading() { flush_put_area(); }
    /// Before writing: the File is ahead by what is still unread; move it
    /// back to where the reader stands, and start a put area.
    void start_writing() {
        if (gptr() != egptr())
            file_.seek(-(egptr() - gptr()), std::ios_base::cur);
        setg(nullptr, nullptr, nullptr);
        if (pbase() == nullptr)
            setp(buffer_.data(), buffer_.data() + buffer_.size());
    }
    void flush_put_area() {
        if (pbase() == nullptr)
            return;
        const std::string_view pending(pbase(), static_cast<std::size_t>(pptr() - pbase()));
        setp(nullptr, nullptr); // written or not, never twice
        if (!pending.empty())
            file_.write(pending);
    }

    File file_;
    std::vector<char> buffer_;
    std::optional<Error> error_;
};

// ------------------------------------------------------------- connection

/// The arguments of pysftp Connection() after `host`; unset means None.
struct ConnectArgs {
    std::optional<std::string> username{};
    /// A key file, or "agent" / "agent:NAME" for an ssh-agent key.
    std::optional<std::string> private_key{};
    std::optional<std::string> password{};
    /// 0: 22, or ssh_config's Port when CnOpts::set_ssh_config is on.
    int port = 0;
    /// The passphrase of private_key or private_key_data.
    std::optional<std::string> private_key_pass{};
    /// Not owned; nullptr means defaults (~/.ssh/known_hosts, checked).
    const CnOpts* cnopts = nullptr;
    std::optional<std::string> default_path{};
    /// A private key by its contents (OpenSSH or PEM format) instead of
    /// private_key; psftp never shows it in a message. Jump hosts are
    /// offered it too.
    std::optional<std::string> private_key_data{};
    /// A stream socket the application connected (to the server or the
    /// first jump host, through a SOCKS proxy, say); -1 for none. psftp
    /// duplicates it in the constructor: the caller keeps and closes its
    /// own. It carries this one connection (tree operations run on it
    /// alone).
    int socket = -1;
    /// Answers keyboard-interactive prompts (a one-time code, a PAM
    /// conversation) for the server and jump hosts; see KbdIntFn. It runs
    /// during the constructor, on its thread; never for the extra
    /// connections of tree operations. psftp keeps a copy as long as the
    /// Connection lives.
    KbdIntFn keyboard_interactive{};
};

// ------------------------------------------------------- cancelling calls

namespace detail {
/// A std::stop_callback on `stop` that cancels `token`, kept alive by the
/// returned pointer. Defined where <stop_token> exists (C++20).
template <class StopToken>
std::shared_ptr<void> cancel_on_stop(StopToken stop, psftp_cancel_token* token);
#ifdef __cpp_lib_jthread
template <class StopToken>
std::shared_ptr<void> cancel_on_stop(StopToken stop, psftp_cancel_token* token) {
    auto cancel = [token]() noexcept { static_cast<void>(psftp_cancel_token_cancel(token)); };
    return std::make_shared<std::stop_callback<decltype(cancel)>>(std::move(stop), cancel);
}
#endif
} // namespace detail

/// Stops the calls of the Connections that Connection::with_cancel() tied
/// to it, from any thread, and nothing else: a cancelled call throws
/// psftp::Cancelled (code() == std::errc::operation_canceled), having
/// abandoned its outstanding requests, closed its remote handles and left
/// no part file (a destination keeps its old content); the connection and
/// the other calls on it go on. Later calls through the tied Connections
/// throw Cancelled too, until reset(). A call reading a frozen link only
/// sees the token when something arrives: Connection::interrupt() is for
/// that (it ends every call of the connection).
///
/// Movable, not copyable; freed when destroyed (the Connections tied to it
/// keep working: they hold their own reference). With C++20, a token made
/// from a std::stop_token is cancelled when a stop is requested, so a
/// std::jthread's request_stop() cancels the calls of that thread.
class CancelToken {
public:
    CancelToken() { handle_.reset(detail::out<psftp_cancel_token*>(psftp_cancel_token_new)); }
    /// C++20: cancelled when `stop` (a std::stop_token) gets a stop request,
    /// at once if it has one. (A template, so that the class is the same in
    /// C++17 and C++20 translation units of one program.)
    template <class StopToken,
              class = decltype(std::declval<const StopToken&>().stop_requested())>
    explicit CancelToken(StopToken stop) : CancelToken() {
        on_stop_ = detail::cancel_on_stop(std::move(stop), handle());
    }
    CancelToken(CancelToken&&) noexcept = default;
    CancelToken& operator=(CancelToken&& other) noexcept {
        on_stop_.reset(); // no longer cancels the token about to be freed
        on_stop_ = std::move(other.on_stop_);
        handle_ = std::move(other.handle_);
        return *this;
    }
    CancelToken(const CancelToken&) = delete;
    CancelToken& operator=(const CancelToken&) = delete;
    ~CancelToken() = default; // on_stop_ goes before the token it cancels

    /// Cancels the calls tied to this token; thread-safe, never blocks.
    void cancel() { check(psftp_cancel_token_cancel(handle())); }
    /// Makes the token usable again (not cancelled).
    void reset() { check(psftp_cancel_token_reset(handle())); }
    bool is_cancelled() const {
        return detail::out<bool>(
            [&](bool* o) { return psftp_cancel_token_is_cancelled(handle(), o); });
    }
    psftp_cancel_token* handle() const noexcept { return handle_.get(); }

private:
    detail::Handle<psftp_cancel_token, psftp_cancel_token_free> handle_;
    /// The std::stop_callback of a token made from a std::stop_token.
    std::shared_ptr<void> on_stop_;
};

/// pysftp Connection. Thread-safe: calls from several threads run at the
/// same time on the one connection (docs/concurrency.md). Closed when
/// destroyed; a closed or moved-from Connection throws InvalidArgument.
class Connection {
public:
    /// Connects; an exception from the CnOpts host-key callback (the key
    /// was rejected) or from args.keyboard_interactive comes out here.
    explicit Connection(const std::string& host, const ConnectArgs& args = {}) {
        detail::Handle<psftp_connect_opts, psftp_connect_opts_free> opts(
            detail::out<psftp_connect_opts*>([&](psftp_connect_opts** o) {
                return psftp_connect_opts_new(detail::c_str(host, "host"), o);
            }));
        psftp_connect_opts* o = opts.get();
        check(psftp_connect_opts_set_port(o, args.port));
        check(psftp_connect_opts_set_username(o, detail::c_str(args.username, "username")));
        check(psftp_connect_opts_set_password(o, detail::c_str(args.password, "password")));
        const char* pass = detail::c_str(args.private_key_pass, "private_key_pass");
        if (args.private_key_data) {
            if (args.private_key)
                throw InvalidArgument("private_key_data: set together with private_key; use one");
            const std::string& key = *args.private_key_data;
            check(psftp_connect_opts_set_private_key_data(
                o, reinterpret_cast<const std::uint8_t*>(key.data()), key.size(), pass));
        } else {
            check(psftp_connect_opts_set_private_key(
                o, detail::c_str(args.private_key, "private_key"), pass));
        }
        check(psftp_connect_opts_set_cnopts(o, args.cnopts ? args.cnopts->handle() : nullptr));
        check(psftp_connect_opts_set_default_path(
            o, detail::c_str(args.default_path, "default_path")));
        if (args.socket != -1)
            check(psftp_connect_opts_set_socket(o, args.socket));
        if (args.keyboard_interactive) {
            // psftp owns the context from here on: its finalizer deletes
            // it, also when this call fails.
            auto* ctx = new detail::KbdIntContext{args.keyboard_interactive};
            check(psftp_connect_opts_set_kbdint_callback(o, &detail::kbdint_trampoline, ctx,
                                                         &detail::delete_kbdint_context));
        }
        detail::CallbackError hostkey_errors;
        psftp_conn* conn = nullptr;
        const int rc = [&] {
            detail::ConnectScope scope(&hostkey_errors);
            return psftp_connect_with(o, &conn, nullptr);
        }();
        handle_.reset(rc == PSFTP_OK ? conn : nullptr);
        hostkey_errors.check(rc);
    }
    void close() noexcept { handle_.reset(); }
    psftp_conn* handle() const noexcept { return handle_.get(); }

    /// This connection, with every call `token` can cancel: a Connection
    /// with all the same methods, sharing the session, the working
    /// directory and the log with this one (psftp_conn_with_cancel). It is
    /// cheap (no network): make one per thread or per call. Closing or
    /// destroying it leaves the connection open; once the connection is
    /// closed, its calls throw ConnectionLost.
    ///
    ///   psftp::CancelToken token;
    ///   std::thread worker([&] { sftp.with_cancel(token).get("big.iso", "big.iso"); });
    ///   token.cancel(); // from any thread: the get throws psftp::Cancelled
    [[nodiscard]] Connection with_cancel(const CancelToken& token) const {
        return Connection(detail::out<psftp_conn*>([&](psftp_conn** o) {
            return psftp_conn_with_cancel(handle(), token.handle(), o);
        }));
    }

    /// Aborts whatever this connection is doing, from any thread: a call
    /// running on another thread (a transfer, a tree operation with all its
    /// connections, a call blocked on a frozen link) returns promptly with
    /// Cancelled, and so does every later call: the connection is unusable
    /// afterwards (close it and connect again). Does nothing on a closed
    /// connection. It may run while another thread is inside a call on this
    /// Connection, but not concurrently with close(), a move or the
    /// destruction of this object.
    void interrupt() noexcept { psftp_interrupt(handle()); }

    // Transfers. Their options are named (GetOptions, PutOptions, ...); a
    // progress callback that throws stops the transfer, and its exception
    // comes out of the call.

    /// pysftp get(); `localpath` nullopt: the remote name, locally.
    void get(const std::string& remotepath,
             const std::optional<std::filesystem::path>& localpath = std::nullopt,
             const GetOptions& options = {}) {
        detail::TransferCallbacks cb;
        cb.progress = &options.progress;
        cb.error.check(psftp_get(handle(), detail::c_str(remotepath, "remotepath"),
                                 detail::c_str(localpath, "localpath"),
                                 detail::progress_cb(options.progress), &cb,
                                 options.preserve_mtime, detail::handle_of(options.transfer)));
    }
    /// pysftp get(remotepath, localpath, callback).
    void get(const std::string& remotepath, const std::optional<std::filesystem::path>& localpath,
             const Progress& callback) {
        get(remotepath, localpath, GetOptions{callback, false, nullptr});
    }
    /// pysftp put(); returns the remote attributes (none without confirm).
    Attrs put(const std::filesystem::path& localpath,
              const std::optional<std::string>& remotepath = std::nullopt,
              const PutOptions& options = {}) {
        detail::TransferCallbacks cb;
        cb.progress = &options.progress;
        psftp_attrs attrs = detail::empty<psftp_attrs>();
        cb.error.check(psftp_put(handle(), detail::c_str(localpath, "localpath"),
                                 detail::c_str(remotepath, "remotepath"),
                                 detail::progress_cb(options.progress), &cb, options.confirm,
                                 options.preserve_mtime, detail::handle_of(options.transfer),
                                 &attrs));
        return Attrs(attrs);
    }
    /// pysftp put(localpath, remotepath, callback).
    Attrs put(const std::filesystem::path& localpath,
              const std::optional<std::string>& remotepath, const Progress& callback) {
        return put(localpath, remotepath, PutOptions{callback, true, false, nullptr});
    }
    /// get() and put() that report a psftp failure in `ec` (cleared on
    /// success) instead of throwing, as std::filesystem's overloads do; put
    /// then returns empty Attrs. An exception a progress callback throws
    /// still comes out.
    void get(const std::string& remotepath, const std::optional<std::filesystem::path>& localpath,
             std::error_code& ec) {
        get(remotepath, localpath, GetOptions{}, ec);
    }
    void get(const std::string& remotepath, const std::optional<std::filesystem::path>& localpath,
             const GetOptions& options, std::error_code& ec) {
        detail::into_error_code(ec, [&] { get(remotepath, localpath, options); });
    }
    Attrs put(const std::filesystem::path& localpath,
              const std::optional<std::string>& remotepath, std::error_code& ec) {
        return put(localpath, remotepath, PutOptions{}, ec);
    }
    Attrs put(const std::filesystem::path& localpath,
              const std::optional<std::string>& remotepath, const PutOptions& options,
              std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return put(localpath, remotepath, options); });
    }
    /// pysftp getfo(): stream a remote file to `write`; returns the bytes.
    std::uint64_t getfo(const std::string& remotepath, const WriteFn& write,
                        const Progress& callback = nullptr) {
        detail::TransferCallbacks cb;
        cb.progress = &callback;
        cb.write = &write;
        std::uint64_t bytes = 0;
        cb.error.check(psftp_getfo(handle(), detail::c_str(remotepath, "remotepath"),
                                   write ? &detail::write_trampoline : nullptr,
                                   detail::progress_cb(callback), &cb, &bytes));
        return bytes;
    }
    /// pysftp getfo() into a std::ostream.
    std::uint64_t getfo(const std::string& remotepath, std::ostream& out,
                        const Progress& callback = nullptr) {
        auto write = [&out](std::string_view chunk) {
            if (!out.write(chunk.data(), static_cast<std::streamsize>(chunk.size())))
                throw LocalIoError("getfo: writing to the output stream failed");
        };
        return getfo(remotepath, WriteFn(write), callback);
    }
    /// pysftp putfo(): upload what `read` supplies.
    Attrs putfo(const ReadFn& read, const std::string& remotepath,
                const PutfoOptions& options = {}) {
        detail::TransferCallbacks cb;
        cb.progress = &options.progress;
        cb.read = &read;
        psftp_attrs attrs = detail::empty<psftp_attrs>();
        cb.error.check(psftp_putfo(handle(), read ? &detail::read_trampoline : nullptr,
                                   detail::c_str(remotepath, "remotepath"), options.file_size,
                                   detail::progress_cb(options.progress), &cb, options.confirm,
                                   detail::handle_of(options.transfer), &attrs));
        return Attrs(attrs);
    }
    /// pysftp putfo() from a std::istream, to its end.
    Attrs putfo(std::istream& in, const std::string& remotepath,
                const PutfoOptions& options = {}) {
        auto read = [&in](char* buf, std::size_t size) {
            in.read(buf, static_cast<std::streamsize>(size));
            if (in.bad())
                throw LocalIoError("putfo: reading the input stream failed");
            return static_cast<std::size_t>(in.gcount());
        };
        return putfo(ReadFn(read), remotepath, options);
    }

    // Tree operations (pysftp get_d, get_r, put_d, put_r). The options'
    // `progress` gets the progress of the whole operation; their
    // `transfer` adds parallelism, sync, filters, symlink, mode and error
    // policies (nullptr: the defaults). On failure the Error thrown is that
    // of the first failed entry (or of the whole operation: a bad root,
    // Cancelled, ...), and Error::failures() lists every failed entry; with
    // OnError::Continue everything else has been copied. An exception from
    // `progress` stops every connection and comes out instead.

    /// pysftp get_d(): the regular files directly inside `remotedir` into
    /// `localdir` (created if missing).
    void get_d(const std::string& remotedir, const std::filesystem::path& localdir,
               const TreeGetOptions& options = {}) {
        tree_get(psftp_get_d, remotedir, localdir, options);
    }
    /// pysftp get_r(): the whole tree, landing at reparent(localdir,
    /// remotedir): "public" goes to localdir/public, "/srv/pub" to
    /// localdir/./srv/pub.
    void get_r(const std::string& remotedir, const std::filesystem::path& localdir,
               const TreeGetOptions& options = {}) {
        tree_get(psftp_get_r, remotedir, localdir, options);
    }
    /// pysftp put_d(): the regular files directly inside `localpath` into
    /// `remotepath`.
    void put_d(const std::filesystem::path& localpath, const std::string& remotepath,
               const TreePutOptions& options = {}) {
        tree_put(psftp_put_d, localpath, remotepath, options);
    }
    /// pysftp put_r(): the contents of `localpath`, recursively, into
    /// `remotepath`; directories are created, existing ones are fine.
    void put_r(const std::filesystem::path& localpath, const std::string& remotepath,
               const TreePutOptions& options = {}) {
        tree_put(psftp_put_r, localpath, remotepath, options);
    }

    // The positional forms of psftp 0.1 (pysftp's argument order), kept
    // for source compatibility: a bare `true` does not say what it turns on.

    [[deprecated("use get(remotepath, localpath, psftp::GetOptions)")]]
    void get(const std::string& remotepath, const std::optional<std::filesystem::path>& localpath,
             const Progress& callback, bool preserve_mtime, const TransferOpts* opts = nullptr) {
        get(remotepath, localpath, GetOptions{callback, preserve_mtime, opts});
    }
    [[deprecated("use put(localpath, remotepath, psftp::PutOptions)")]]
    Attrs put(const std::filesystem::path& localpath, const std::optional<std::string>& remotepath,
              const Progress& callback, bool confirm, bool preserve_mtime = false,
              const TransferOpts* opts = nullptr) {
        return put(localpath, remotepath, PutOptions{callback, confirm, preserve_mtime, opts});
    }
    [[deprecated("use putfo(read, remotepath, psftp::PutfoOptions)")]]
    Attrs putfo(const ReadFn& read, const std::string& remotepath, std::uint64_t file_size,
                const Progress& callback = nullptr, bool confirm = true,
                const TransferOpts* opts = nullptr) {
        return putfo(read, remotepath, PutfoOptions{callback, file_size, confirm, opts});
    }
    [[deprecated("use putfo(in, remotepath, psftp::PutfoOptions)")]]
    Attrs putfo(std::istream& in, const std::string& remotepath, std::uint64_t file_size,
                const Progress& callback = nullptr, bool confirm = true,
                const TransferOpts* opts = nullptr) {
        return putfo(in, remotepath, PutfoOptions{callback, file_size, confirm, opts});
    }
    [[deprecated("use get_d(remotedir, localdir, psftp::TreeGetOptions)")]]
    void get_d(const std::string& remotedir, const std::filesystem::path& localdir,
               bool preserve_mtime, const TreeProgressFn& callback = nullptr,
               const TransferOpts* opts = nullptr) {
        get_d(remotedir, localdir, TreeGetOptions{callback, preserve_mtime, opts});
    }
    [[deprecated("use get_r(remotedir, localdir, psftp::TreeGetOptions)")]]
    void get_r(const std::string& remotedir, const std::filesystem::path& localdir,
               bool preserve_mtime, const TreeProgressFn& callback = nullptr,
               const TransferOpts* opts = nullptr) {
        get_r(remotedir, localdir, TreeGetOptions{callback, preserve_mtime, opts});
    }
    [[deprecated("use put_d(localpath, remotepath, psftp::TreePutOptions)")]]
    void put_d(const std::filesystem::path& localpath, const std::string& remotepath,
               bool confirm, bool preserve_mtime = false, const TreeProgressFn& callback = nullptr,
               const TransferOpts* opts = nullptr) {
        put_d(localpath, remotepath, TreePutOptions{callback, confirm, preserve_mtime, opts});
    }
    [[deprecated("use put_r(localpath, remotepath, psftp::TreePutOptions)")]]
    void put_r(const std::filesystem::path& localpath, const std::string& remotepath,
               bool confirm, bool preserve_mtime = false, const TreeProgressFn& callback = nullptr,
               const TransferOpts* opts = nullptr) {
        put_r(localpath, remotepath, TreePutOptions{callback, confirm, preserve_mtime, opts});
    }

    // Working directory.

    /// with sftp.cd(remotepath): changes directory (nullopt only bookmarks)
    /// until the returned guard goes out of scope.
    CdGuard cd(const std::optional<std::string>& remotepath = std::nullopt) {
        check(psftp_cd_push(handle(), detail::c_str(remotepath, "remotepath")));
        return CdGuard([](psftp_conn* c) noexcept { psftp_cd_pop(c); }, handle());
    }
    /// nullopt goes back to the server's default directory.
    void chdir(const std::optional<std::string>& remotepath) {
        check(psftp_chdir(handle(), detail::c_str(remotepath, "remotepath")));
    }
    void cwd(const std::optional<std::string>& remotepath) {
        check(psftp_cwd(handle(), detail::c_str(remotepath, "remotepath")));
    }
    /// nullopt until the first chdir, as in pysftp.
    std::optional<std::string> getcwd() {
        return detail::take_optional_string(
            detail::out<char*>([&](char** o) { return psftp_getcwd(handle(), o); }));
    }
    std::string pwd() {
        return detail::take_string(
            detail::out<char*>([&](char** o) { return psftp_pwd(handle(), o); }));
    }

    // Listing and attributes.

    std::vector<std::string> listdir(const std::string& remotepath = ".") {
        return detail::take_strings(detail::out<psftp_strarray*>([&](psftp_strarray** o) {
            return psftp_listdir(handle(), detail::c_str(remotepath, "remotepath"), o);
        }));
    }
    std::vector<DirEntry> listdir_attr(const std::string& remotepath = ".") {
        detail::Handle<psftp_dirent_list, psftp_dirent_list_free> list(
            detail::out<psftp_dirent_list*>([&](psftp_dirent_list** o) {
                return psftp_listdir_attr(handle(), detail::c_str(remotepath, "remotepath"), o);
            }));
        std::vector<DirEntry> entries;
        for (std::size_t i = 0; i < list->count; i++) {
            const psftp_dirent& e = *list->entries[i];
            entries.push_back(DirEntry{e.filename, e.longname, Attrs(e.attrs)});
        }
        return entries;
    }
    Attrs stat(const std::string& remotepath) { return attrs_of(psftp_stat, remotepath); }
    Attrs lstat(const std::string& remotepath) { return attrs_of(psftp_lstat, remotepath); }
    bool exists(const std::string& remotepath) { return test(psftp_exists, remotepath); }
    bool lexists(const std::string& remotepath) { return test(psftp_lexists, remotepath); }
    bool isdir(const std::string& remotepath) { return test(psftp_isdir, remotepath); }
    bool isfile(const std::string& remotepath) { return test(psftp_isfile, remotepath); }
    /// Non-throwing forms, as std::filesystem's: a failure sets `ec` (a
    /// psftp error_code, comparable with std::errc) and returns an empty
    /// value; success clears it. The message is in last_error().
    std::vector<std::string> listdir(const std::string& remotepath, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return listdir(remotepath); });
    }
    std::vector<DirEntry> listdir_attr(const std::string& remotepath, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return listdir_attr(remotepath); });
    }
    Attrs stat(const std::string& remotepath, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return stat(remotepath); });
    }
    Attrs lstat(const std::string& remotepath, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return lstat(remotepath); });
    }
    /// A missing path is false with `ec` clear, as std::filesystem::exists.
    bool exists(const std::string& remotepath, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return exists(remotepath); });
    }
    bool lexists(const std::string& remotepath, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return lexists(remotepath); });
    }
    bool isdir(const std::string& remotepath, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return isdir(remotepath); });
    }
    bool isfile(const std::string& remotepath, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return isfile(remotepath); });
    }
    std::string readlink(const std::string& remotelink) {
        return string_of(psftp_readlink, remotelink, "remotelink");
    }
    std::string normalize(const std::string& remotepath) {
        return string_of(psftp_normalize, remotepath, "remotepath");
    }
    std::string readlink(const std::string& remotelink, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return readlink(remotelink); });
    }
    std::string normalize(const std::string& remotepath, std::error_code& ec) {
        return detail::into_error_code(ec, [&] { return normalize(remotepath); });
    }
    StatVfs statvfs(const std::string& remotepath) {
        return detail::out<StatVfs>([&](StatVfs* o) {
            return psftp_statvfs(handle(), detail::c_str(remotepath, "remotepath"), o);
        });
    }

    // Changing the remote tree. Modes are std::filesystem::perms, the POSIX
    // bits (perms::owner_all | perms::group_read is 0740, perms::set_uid is
    // 04000); pysftp's default mode=777 is perms::all.

    void mkdir(const std::string& remotepath,
               std::filesystem::perms mode = std::filesystem::perms::all) {
        check(psftp_mkdir(handle(), detail::c_str(remotepath, "remotepath"),
                          detail::mode_bits(mode)));
    }
    void makedirs(const std::string& remotedir,
                  std::filesystem::perms mode = std::filesystem::perms::all) {
        check(psftp_makedirs(handle(), detail::c_str(remotedir, "remotedir"),
                             detail::mode_bits(mode)));
    }
    void chmod(const std::string& remotepath,
               std::filesystem::perms mode = std::filesystem::perms::all) {
        check(psftp_chmod(handle(), detail::c_str(remotepath, "remotepath"),
                          detail::mode_bits(mode)));
    }
    /// nullopt keeps that id.
    void chown(const std::string& remotepath, std::optional<std::uint32_t> uid = std::nullopt,
               std::optional<std::uint32_t> gid = std::nullopt) {
        const std::int64_t keep = -1;
        check(psftp_chown(handle(), detail::c_str(remotepath, "remotepath"),
                          uid ? std::int64_t{*uid} : keep, gid ? std::int64_t{*gid} : keep));
    }
    void rmdir(const std::string& remotepath) { path_op(psftp_rmdir, remotepath, "remotepath"); }
    void remove(const std::string& remotefile) { path_op(psftp_remove, remotefile, "remotefile"); }
    void unlink(const std::string& remotefile) { path_op(psftp_unlink, remotefile, "remotefile"); }
    void mkdir(const std::string& remotepath, std::error_code& ec) {
        detail::into_error_code(ec, [&] { mkdir(remotepath); });
    }
    void mkdir(const std::string& remotepath, std::filesystem::perms mode, std::error_code& ec) {
        detail::into_error_code(ec, [&] { mkdir(remotepath, mode); });
    }
    void makedirs(const std::string& remotedir, std::error_code& ec) {
        detail::into_error_code(ec, [&] { makedirs(remotedir); });
    }
    void chmod(const std::string& remotepath, std::filesystem::perms mode, std::error_code& ec) {
        detail::into_error_code(ec, [&] { chmod(remotepath, mode); });
    }
    void rmdir(const std::string& remotepath, std::error_code& ec) {
        detail::into_error_code(ec, [&] { rmdir(remotepath); });
    }
    void remove(const std::string& remotefile, std::error_code& ec) {
        detail::into_error_code(ec, [&] { remove(remotefile); });
    }
    void unlink(const std::string& remotefile, std::error_code& ec) {
        detail::into_error_code(ec, [&] { unlink(remotefile); });
    }
    void rename(const std::string& remote_src, const std::string& remote_dest,
                std::error_code& ec) {
        detail::into_error_code(ec, [&] { rename(remote_src, remote_dest); });
    }
    void posix_rename(const std::string& remote_src, const std::string& remote_dest,
                      std::error_code& ec) {
        detail::into_error_code(ec, [&] { posix_rename(remote_src, remote_dest); });
    }
    /// Fails with AlreadyExists if `remote_dest` exists; posix_rename replaces.
    void rename(const std::string& remote_src, const std::string& remote_dest) {
        pair_op(psftp_rename, remote_src, remote_dest);
    }
    void posix_rename(const std::string& remote_src, const std::string& remote_dest) {
        pair_op(psftp_posix_rename, remote_src, remote_dest);
    }
    void hardlink(const std::string& remote_src, const std::string& remote_dest) {
        pair_op(psftp_hardlink, remote_src, remote_dest);
    }
    /// Creates the link `remote_dest` pointing to `remote_src`.
    void symlink(const std::string& remote_src, const std::string& remote_dest) {
        pair_op(psftp_symlink, remote_src, remote_dest);
    }
    /// Returns the size the server reports afterwards.
    std::uint64_t truncate(const std::string& remotepath, std::uint64_t size) {
        return detail::out<std::uint64_t>([&](std::uint64_t* n) {
            return psftp_truncate(handle(), detail::c_str(remotepath, "remotepath"), size, n);
        });
    }
    void utime(const std::string& remotepath, std::int64_t atime, std::int64_t mtime) {
        check(psftp_utime(handle(), detail::c_str(remotepath, "remotepath"), atime, mtime));
    }
    /// Times as Attrs::atime() and mtime() give them (whole seconds are kept).
    void utime(const std::string& remotepath, Attrs::clock::time_point atime,
               Attrs::clock::time_point mtime) {
        utime(remotepath, Attrs::clock::to_time_t(atime), Attrs::clock::to_time_t(mtime));
    }

    /// pysftp open(remote_file, mode='r', bufsize=-1); always binary.
    File open(const std::string& remote_file, const std::string& mode = "r",
              std::int64_t bufsize = -1) {
        return File(detail::out<psftp_file*>([&](psftp_file** o) {
            return psftp_open(handle(), detail::c_str(remote_file, "remote_file"),
                              detail::c_str(mode, "mode"), bufsize, o);
        }));
    }

    /// pysftp walktree(): depth first, sorted; empty callbacks are skipped.
    /// Callbacks may use this connection.
    void walktree(const std::string& remotepath, const WalkFn& fcallback, const WalkFn& dcallback,
                  const WalkFn& ucallback, bool recurse = true) {
        const char* root = detail::c_str(remotepath, "remotepath");
        detail::walk(fcallback, dcallback, ucallback, [&](auto f, auto d, auto u, void* ud) {
            return psftp_walktree(handle(), root, f, d, u, recurse, ud);
        });
    }
    /// walktree() with named options:
    /// `sftp.walktree(path, {.file = on_file, .recurse = false})` in C++20.
    void walktree(const std::string& remotepath, const WalkOptions& options) {
        walktree(remotepath, options.file, options.dir, options.unknown, options.recurse);
    }

    // The session.

    /// pysftp execute(): output lines and exit status.
    ExecResult execute(const std::string& command) {
        ExecResult result{{}, 0};
        result.lines = detail::take_strings(detail::out<psftp_strarray*>([&](psftp_strarray** o) {
            return psftp_execute(handle(), detail::c_str(command, "command"), o,
                                 &result.exit_status);
        }));
        return result;
    }
    HostKey remote_server_key() {
        return detail::take_hostkey(detail::out<psftp_hostkey*>(
            [&](psftp_hostkey** o) { return psftp_remote_server_key(handle(), o); }));
    }
    /// (local, remote): client-to-server and server-to-client.
    std::pair<std::string, std::string> active_ciphers() {
        return both_ways(psftp_active_ciphers);
    }
    std::pair<std::string, std::string> active_compression() {
        return both_ways(psftp_active_compression);
    }
    SecurityOptions security_options() {
        detail::Handle<psftp_security_info, psftp_security_info_free> info(
            detail::out<psftp_security_info*>(
                [&](psftp_security_info** o) { return psftp_security_options(handle(), o); }));
        return SecurityOptions{
            detail::copy_strings(info->ciphers), detail::copy_strings(info->digests),
            detail::copy_strings(info->key_types), detail::copy_strings(info->kex),
            detail::copy_strings(info->compression)};
    }
    /// Seconds a blocking read or write may wait; 0 means no limit.
    double timeout() {
        return detail::out<double>([&](double* t) { return psftp_timeout(handle(), t); });
    }
    void set_timeout(double seconds) { check(psftp_set_timeout(handle(), seconds)); }
    /// nullopt when not logging.
    std::optional<std::string> logfile() {
        return detail::take_optional_string(
            detail::out<char*>([&](char** o) { return psftp_logfile(handle(), o); }));
    }
    /// libssh2's session and SFTP handles; see psftp_sftp_client(). Use them
    /// only while a SessionLock from lock() is alive.
    SftpClient sftp_client() {
        SftpClient c{nullptr, nullptr};
        check(psftp_sftp_client(handle(), &c.session, &c.sftp));
        return c;
    }
    /// Holds this connection for the calling thread (psftp_lock) until the
    /// returned guard goes out of scope: other threads' calls wait and
    /// keepalives pause, so the sftp_client() pointers may be used. Destroy
    /// the guard on the thread that took it.
    SessionLock lock();
    bool has_extension(const std::string& name) {
        return detail::out<bool>([&](bool* o) {
            return psftp_has_extension(handle(), detail::c_str(name, "name"), o);
        });
    }
    /// The last failure on this connection from any thread ("" if none).
    std::string last_error() const { return detail::take_string(psftp_conn_last_error(handle())); }
    int last_error_code() const noexcept { return psftp_conn_last_error_code(handle()); }
    /// Retries (reconnects) of the last get, put or tree operation on this
    /// connection to finish.
    int last_retries() const noexcept { return psftp_conn_last_retries(handle()); }

private:
    /// A handle from psftp_conn_with_cancel (with_cancel()).
    explicit Connection(psftp_conn* view) { handle_.reset(view); }

    using PathFn = int (*)(psftp_conn*, const char*);
    using PairFn = int (*)(psftp_conn*, const char*, const char*);
    using AttrsFn = int (*)(psftp_conn*, const char*, psftp_attrs*);
    using TestFn = int (*)(psftp_conn*, const char*, bool*);
    using StringFn = int (*)(psftp_conn*, const char*, char**);
    using BothWaysFn = int (*)(psftp_conn*, char**, char**);
    using TreeGetFn = int (*)(psftp_conn*, const char*, const char*, bool, psftp_tree_progress_cb,
                              void*, const psftp_transfer_opts*, psftp_failure_list**);
    using TreePutFn = int (*)(psftp_conn*, const char*, const char*, bool, bool,
                              psftp_tree_progress_cb, void*, const psftp_transfer_opts*,
                              psftp_failure_list**);

    void tree_get(TreeGetFn fn, const std::string& remotedir,
                  const std::filesystem::path& localdir, const TreeGetOptions& options) {
        const char* remote = detail::c_str(remotedir, "remotedir");
        const char* local = detail::c_str(localdir, "localdir");
        detail::tree(options.progress,
                     [&](psftp_tree_progress_cb cb, void* ud, psftp_failure_list** f) {
                         return fn(handle(), remote, local, options.preserve_mtime, cb, ud,
                                   detail::handle_of(options.transfer), f);
                     });
    }
    void tree_put(TreePutFn fn, const std::filesystem::path& localpath,
                  const std::string& remotepath, const TreePutOptions& options) {
        const char* local = detail::c_str(localpath, "localpath");
        const char* remote = detail::c_str(remotepath, "remotepath");
        detail::tree(options.progress,
                     [&](psftp_tree_progress_cb cb, void* ud, psftp_failure_list** f) {
                         return fn(handle(), local, remote, options.confirm,
                                   options.preserve_mtime, cb, ud,
                                   detail::handle_of(options.transfer), f);
                     });
    }

    void path_op(PathFn fn, const std::string& path, const char* param) {
        check(fn(handle(), detail::c_str(path, param)));
    }
    void pair_op(PairFn fn, const std::string& src, const std::string& dest) {
        check(fn(handle(), detail::c_str(src, "remote_src"), detail::c_str(dest, "remote_dest")));
    }
    Attrs attrs_of(AttrsFn fn, const std::string& path) {
        return Attrs(detail::out<psftp_attrs>(
            [&](psftp_attrs* a) { return fn(handle(), detail::c_str(path, "remotepath"), a); }));
    }
    bool test(TestFn fn, const std::string& path) {
        return detail::out<bool>(
            [&](bool* b) { return fn(handle(), detail::c_str(path, "remotepath"), b); });
    }
    std::string string_of(StringFn fn, const std::string& path, const char* param) {
        return detail::take_string(detail::out<char*>(
            [&](char** o) { return fn(handle(), detail::c_str(path, param), o); }));
    }
    std::pair<std::string, std::string> both_ways(BothWaysFn fn) {
        char* local = nullptr;
        char* remote = nullptr;
        check(fn(handle(), &local, &remote));
        detail::Handle<char, psftp_string_free> owned_local(local), owned_remote(remote);
        return {local, remote};
    }

    detail::Handle<psftp_conn, psftp_close> handle_;
};

inline SessionLock Connection::lock() { return SessionLock(handle()); }

// ------------------------------------------------------- file streams

namespace detail {
/// std::filebuf's table of open modes as pysftp open() modes: out and
/// out|trunc "w", app (with out) "a", in "r", in|out "r+", in|out|trunc
/// "w+", in|app "a+"; binary changes nothing (always binary).
inline const char* stream_mode(std::ios_base::openmode mode) {
    using std::ios_base;
    const bool in = (mode & ios_base::in) != 0, out = (mode & ios_base::out) != 0;
    const bool app = (mode & ios_base::app) != 0, trunc = (mode & ios_base::trunc) != 0;
    if (trunc && (app || !out))
        throw InvalidArgument("mode: std::ios::trunc needs std::ios::out and no std::ios::app");
    if (app)
        return in ? "a+" : "a";
    if (!in)
        return "w";
    if (!out)
        return "r";
    return trunc ? "w+" : "r+";
}
} // namespace detail

/// The stream over a remote_streambuf that ifstream, ofstream and fstream
/// are: `Always` is or-ed into the caller's mode (std::ifstream's `in`,
/// std::ofstream's `out`), `Default` is the mode when none is given.
template <class Stream, std::ios_base::openmode Always, std::ios_base::openmode Default>
class remote_stream : public Stream {
public:
    remote_stream(Connection& sftp, const std::string& remote_file,
                  std::ios_base::openmode mode = Default,
                  std::size_t buffer_size = remote_streambuf::default_buffer_size)
        : Stream(nullptr),
          buf_(sftp.open(remote_file, detail::stream_mode(mode | Always)), buffer_size) {
        this->init(&buf_);
    }
    remote_streambuf* rdbuf() const noexcept { return &buf_; }
    bool is_open() const noexcept { return buf_.is_open(); }
    /// Writes what is buffered and closes the file; throws psftp::Error
    /// (call it after writing: the destructor cannot report a failure).
    void close() { buf_.close(); }

private:
    mutable remote_streambuf buf_;
};

/// Reads a remote file as std::ifstream reads a local one:
///
///   psftp::ifstream in(sftp, "logs/app.log");
///   for (std::string line; std::getline(in, line);) ...
///
/// Opening throws psftp::Error (NotFound, PermissionDenied, ...) with
/// psftp's message instead of only setting failbit: the reason matters.
/// See remote_streambuf for errors while reading.
class ifstream : public remote_stream<std::istream, std::ios_base::in, std::ios_base::in> {
    using remote_stream::remote_stream;
};

/// Writes a remote file as std::ofstream writes a local one: created or
/// truncated, or appended to with std::ios::app. Opening throws
/// psftp::Error. close() reports whether the last bytes arrived (the
/// destructor cannot): call it.
class ofstream : public remote_stream<std::ostream, std::ios_base::out, std::ios_base::out> {
    using remote_stream::remote_stream;
};

/// Reads and writes a remote file as std::fstream does: in|out ("r+", the
/// file must exist), with trunc ("w+") or app ("a+").
class fstream : public remote_stream<std::iostream, std::ios_base::openmode{},
                                     std::ios_base::in | std::ios_base::out> {
    using remote_stream::remote_stream;
};

// --------------------------------------------------------- module helpers

/// The library's version, "MAJOR.MINOR.PATCH".
inline std::string version() { return psftp_version(); }

/// pysftp st_mode_to_int: 33188 gives 644.
inline std::uint32_t st_mode_to_int(std::uint32_t mode) { return psftp_st_mode_to_int(mode); }

/// pysftp path_advance: ".", "./pub", "./pub/example", ...
inline std::vector<std::string> path_advance(const std::string& thepath) {
    return detail::take_strings(detail::out<psftp_strarray*>([&](psftp_strarray** o) {
        return psftp_path_advance(detail::c_str(thepath, "thepath"), o);
    }));
}

/// pysftp path_retreat: the same paths, longest first.
inline std::vector<std::string> path_retreat(const std::string& thepath) {
    return detail::take_strings(detail::out<psftp_strarray*>([&](psftp_strarray** o) {
        return psftp_path_retreat(detail::c_str(thepath, "thepath"), o);
    }));
}

/// pysftp reparent: ("backup", "/home/test/pub") gives "backup/./home/test/pub".
inline std::string reparent(const std::string& newparent, const std::string& oldpath) {
    return detail::take_string(detail::out<char*>([&](char** o) {
        return psftp_reparent(detail::c_str(newparent, "newparent"),
                              detail::c_str(oldpath, "oldpath"), o);
    }));
}

/// pysftp walktree(localpath, ...): the same walk over a local directory.
inline void local_walktree(const std::filesystem::path& localpath, const WalkFn& fcallback,
                           const WalkFn& dcallback, const WalkFn& ucallback,
                           bool recurse = true) {
    const char* root = detail::c_str(localpath, "localpath");
    detail::walk(fcallback, dcallback, ucallback, [&](auto f, auto d, auto u, void* ud) {
        return psftp_local_walktree(root, f, d, u, recurse, ud);
    });
}
/// local_walktree() with named options (see WalkOptions).
inline void local_walktree(const std::filesystem::path& localpath, const WalkOptions& options) {
    local_walktree(localpath, options.file, options.dir, options.unknown, options.recurse);
}

inline CdGuard local_cd(const std::optional<std::filesystem::path>& localpath) {
    check(psftp_local_cd_push(detail::c_str(localpath, "localpath")));
    return CdGuard([](psftp_conn*) noexcept { psftp_local_cd_pop(); }, nullptr);
}

} // namespace psftp

#endif // PSFTP_HPP
