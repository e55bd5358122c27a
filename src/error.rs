//! The one error type of the core. Each kind maps to one C result code.

use std::fmt;

/// What went wrong, at the granularity callers branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidArgument,
    Connect,
    HostKeyUnknown,
    HostKeyMismatch,
    Auth,
    NotFound,
    PermissionDenied,
    Exists,
    NotADirectory,
    LocalIo,
    Sftp,
    Ssh,
    Timeout,
    Cancelled,
    ConnectionLost,
    UnsafePath,
    Panic,
    Unsupported,
}

impl ErrorKind {
    /// The C result code (negative) of this kind.
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument => -1,
            ErrorKind::Connect => -2,
            ErrorKind::HostKeyUnknown => -3,
            ErrorKind::HostKeyMismatch => -4,
            ErrorKind::Auth => -5,
            ErrorKind::NotFound => -6,
            ErrorKind::PermissionDenied => -7,
            ErrorKind::Exists => -8,
            ErrorKind::NotADirectory => -9,
            ErrorKind::LocalIo => -10,
            ErrorKind::Sftp => -11,
            ErrorKind::Ssh => -12,
            ErrorKind::Timeout => -13,
            ErrorKind::Cancelled => -14,
            ErrorKind::ConnectionLost => -15,
            ErrorKind::UnsafePath => -16,
            ErrorKind::Panic => -17,
            ErrorKind::Unsupported => -18,
        }
    }

    /// Every kind, in code order (for tests and bindings' tables).
    pub const ALL: [ErrorKind; 18] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Connect,
        ErrorKind::HostKeyUnknown,
        ErrorKind::HostKeyMismatch,
        ErrorKind::Auth,
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::Exists,
        ErrorKind::NotADirectory,
        ErrorKind::LocalIo,
        ErrorKind::Sftp,
        ErrorKind::Ssh,
        ErrorKind::Timeout,
        ErrorKind::Cancelled,
        ErrorKind::ConnectionLost,
        ErrorKind::UnsafePath,
        ErrorKind::Panic,
        ErrorKind::Unsupported,
    ];

    /// A stable short name, used by bindings (Node's `.code`, Go's sentinel).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "EINVAL",
            ErrorKind::Connect => "ECONNECT",
            ErrorKind::HostKeyUnknown => "EHOSTKEY",
            ErrorKind::HostKeyMismatch => "EHOSTKEYMISMATCH",
            ErrorKind::Auth => "EAUTH",
            ErrorKind::NotFound => "ENOTFOUND",
            ErrorKind::PermissionDenied => "EPERM",
            ErrorKind::Exists => "EEXIST",
            ErrorKind::NotADirectory => "ENOTDIR",
            ErrorKind::LocalIo => "ELOCALIO",
            ErrorKind::Sftp => "ESFTP",
            ErrorKind::Ssh => "ESSH",
            ErrorKind::Timeout => "ETIMEDOUT",
            ErrorKind::Cancelled => "ECANCELED",
            ErrorKind::ConnectionLost => "ECONNLOST",
            ErrorKind::UnsafePath => "EUNSAFEPATH",
            ErrorKind::Panic => "EPANIC",
            ErrorKind::Unsupported => "EUNSUPPORTED",
        }
    }

    pub fn from_code(code: i32) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.code() == code)
    }
}

/// An error with its kind and a message naming the path, host or parameter.
/// A local failure carries the OS `errno` and an SFTP failure the server's
/// status code, so bindings can map them without parsing the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    os_errno: Option<i32>,
    sftp_status: Option<u32>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            os_errno: None,
            sftp_status: None,
        }
    }

    /// The OS error number behind a local failure (or a failed TCP connect).
    pub fn os_errno(&self) -> Option<i32> {
        self.os_errno
    }

    /// The SFTP status code the server answered with.
    pub fn sftp_status(&self) -> Option<u32> {
        self.sftp_status
    }

    pub fn with_os_errno(mut self, errno: Option<i32>) -> Error {
        self.os_errno = errno;
        self
    }

    pub fn with_sftp_status(mut self, status: u32) -> Error {
        self.sftp_status = Some(status);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn invalid_arg(param: &str, why: impl fmt::Display) -> Error {
        Error::new(ErrorKind::InvalidArgument, format!("{param}: {why}"))
    }

    /// A local file-system error naming `path`. Every local failure is
    /// `LocalIo`, so callers can tell "my disk" from "the server".
    pub fn local_io(what: &str, path: &std::path::Path, err: &std::io::Error) -> Error {
        Error::new(
            ErrorKind::LocalIo,
            format!("{what} local '{}': {err}", path.display()),
        )
        .with_os_errno(err.raw_os_error())
    }

    pub fn cancelled(by: &str) -> Error {
        Error::new(
            ErrorKind::Cancelled,
            format!("cancelled by the {by} callback"),
        )
    }

    /// Prefix the message with more context, keeping the kind.
    pub fn context(mut self, what: impl fmt::Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
