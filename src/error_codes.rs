// The one table of psftp's result codes. Everything else is generated from
// it: the Rust `ErrorKind` with its code, C name and short name
// (src/error.rs), the `PSFTP_E_*` constants of the C ABI, psftp_strerror()
// and psftp_error_name() (src/capi/mod.rs), and the `#define`s of
// include/psftp.h (build.rs, which includes this file with its own
// definition of the macro). The bindings take their tables from the
// header's macros or from psftp_error_name(), and their tests check them
// against the library.
//
// Each row: the doc comment the header carries, then
//   RustKind = code, C_NAME, "SHORT_NAME";
// Codes are negative and contiguous from -1; a code is never renumbered or
// reused (callers compiled against an older header keep their meaning).
psftp_error_table! {
    /// A NULL, malformed, out-of-range or closed argument; the message names it.
    InvalidArgument = -1, PSFTP_E_INVALID_ARG, "EINVAL";
    /// TCP connection failed (refused, unreachable, name not resolved).
    Connect = -2, PSFTP_E_CONNECT, "ECONNECT";
    /// The server's host key is not in known_hosts.
    HostKeyUnknown = -3, PSFTP_E_HOSTKEY_UNKNOWN, "EHOSTKEY";
    /// known_hosts holds a different key for the server.
    HostKeyMismatch = -4, PSFTP_E_HOSTKEY_MISMATCH, "EHOSTKEYMISMATCH";
    /// Authentication failed (password, key, passphrase, agent).
    Auth = -5, PSFTP_E_AUTH, "EAUTH";
    /// The remote path does not exist.
    NotFound = -6, PSFTP_E_NOT_FOUND, "ENOTFOUND";
    /// The server refused access to the remote path.
    PermissionDenied = -7, PSFTP_E_PERMISSION, "EPERM";
    /// The destination already exists.
    Exists = -8, PSFTP_E_EXISTS, "EEXIST";
    /// A remote path component is not a directory.
    NotADirectory = -9, PSFTP_E_NOT_A_DIRECTORY, "ENOTDIR";
    /// A local file-system operation failed; the message names the local path.
    LocalIo = -10, PSFTP_E_LOCAL_IO, "ELOCALIO";
    /// Any other SFTP failure, or a malformed reply from the server.
    Sftp = -11, PSFTP_E_SFTP, "ESFTP";
    /// An SSH protocol failure (handshake, channel, algorithm negotiation).
    Ssh = -12, PSFTP_E_SSH, "ESSH";
    /// An operation or connect timed out.
    Timeout = -13, PSFTP_E_TIMEOUT, "ETIMEDOUT";
    /// The call was stopped from outside: psftp_interrupt(), or a
    /// binding's cancellation (a Go context, a JS AbortSignal).
    Cancelled = -14, PSFTP_E_CANCELLED, "ECANCELED";
    /// The connection dropped, or was closed, or broke after an earlier error.
    ConnectionLost = -15, PSFTP_E_CONNECTION_LOST, "ECONNLOST";
    /// A remote name would lead outside the destination directory.
    UnsafePath = -16, PSFTP_E_UNSAFE_PATH, "EUNSAFEPATH";
    /// An internal panic was caught at the API boundary (a psftp bug); the
    /// connection it happened on is unusable afterwards.
    Panic = -17, PSFTP_E_PANIC, "EPANIC";
    /// The server lacks the SFTP extension this call needs.
    Unsupported = -18, PSFTP_E_UNSUPPORTED, "EUNSUPPORTED";
    /// psftp_rmdir() of a directory that still has entries.
    DirNotEmpty = -19, PSFTP_E_DIR_NOT_EMPTY, "ENOTEMPTY";
    /// A callback of yours returned a value that stops the call (non-zero;
    /// negative for psftp_putfo()'s read callback): psftp_last_callback_value()
    /// has that value.
    User = -20, PSFTP_E_USER, "EUSER";
    /// A verified transfer's copy differs from its source (the file changed
    /// during the transfer, or the link or a disk corrupted it); the
    /// destination keeps its old content.
    Integrity = -21, PSFTP_E_INTEGRITY, "EINTEGRITY";
}
