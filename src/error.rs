//! The one error type of the core. Each kind maps to one C result code,
//! all from the one table in src/error_codes.rs.

use std::ffi::CStr;
use std::fmt;

/// Generates, from the rows of src/error_codes.rs: `ErrorKind` (one
/// variant per C result code), its code, C name and short name, and the
/// `PSFTP_OK` / `PSFTP_E_*` constants of the C ABI (module `codes`).
macro_rules! psftp_error_table {
    ($($(#[doc = $doc:literal])+ $kind:ident = $code:literal, $cname:ident, $short:literal;)+) => {
        /// What went wrong, at the granularity callers branch on: one C
        /// result code each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($(#[doc = $doc])+ $kind,)+
        }

        impl ErrorKind {
            /// Every kind, in code order (-1, -2, ...).
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind),+];

            /// The C result code (negative) of this kind.
            pub fn code(self) -> i32 {
                match self {
                    $(ErrorKind::$kind => $code,)+
                }
            }

            /// The C name, "PSFTP_E_NOT_FOUND", NUL-terminated.
            pub fn c_name(self) -> &'static CStr {
                let name: &'static str = match self {
                    $(ErrorKind::$kind => concat!(stringify!($cname), "\0"),)+
                };
                CStr::from_bytes_with_nul(name.as_bytes()).expect("one NUL, at the end")
            }

            /// The short name bindings use ("ENOTFOUND": Node's `.code`),
            /// NUL-terminated.
            pub fn short_name(self) -> &'static CStr {
                let name: &'static str = match self {
                    $(ErrorKind::$kind => concat!($short, "\0"),)+
                };
                CStr::from_bytes_with_nul(name.as_bytes()).expect("one NUL, at the end")
            }
        }

        /// The C result codes; include/psftp.h declares the same `#define`s
        /// (build.rs generates them from the same table).
        pub mod codes {
            use std::ffi::c_int;

            /// Success.
            pub const PSFTP_OK: c_int = 0;
            $($(#[doc = $doc])+ pub const $cname: c_int = $code;)+
        }
    };
}

include!("error_codes.rs");

impl ErrorKind {
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
    /// For `User`: what the caller's callback returned to stop the call.
    callback_value: Option<i64>,
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
            callback_value: None,
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

    /// The caller's `by` callback asked to stop the operation.
    pub fn stopped_by(by: &str) -> Error {
        Error::new(ErrorKind::User, format!("stopped by the {by} callback"))
    }

    /// What the caller's callback returned to stop the call (`User` only).
    pub fn callback_value(&self) -> Option<i64> {
        self.callback_value
    }

    /// Record what the callback returned, and say it in the message.
    pub fn with_callback_value(mut self, value: i64) -> Error {
        self.message = format!("{} (it returned {value})", self.message);
        self.callback_value = Some(value);
        self
    }

    /// The same failure seen more precisely (a generic SFTP failure that
    /// proved to be "directory not empty", say): another kind and message,
    /// the same errno and SFTP status.
    pub fn refined(self, kind: ErrorKind, message: String) -> Error {
        Error {
            kind,
            message,
            ..self
        }
    }

    /// The same error with another message (a scrubbed one).
    pub fn with_message(mut self, message: String) -> Error {
        self.message = message;
        self
    }

    /// Prefix the message with more context, keeping the kind.
    pub fn context(mut self, what: impl fmt::Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Bindings walk the codes from -1 down to the first unknown one, so
    /// the table must have no gaps, and every name must be unique.
    #[test]
    fn the_table_is_contiguous_and_its_names_unique() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.code(), -(i as i32) - 1, "{k:?}");
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
        }
        let c_names: HashSet<_> = ErrorKind::ALL.iter().map(|k| k.c_name()).collect();
        let short: HashSet<_> = ErrorKind::ALL.iter().map(|k| k.short_name()).collect();
        assert_eq!(c_names.len(), ErrorKind::ALL.len());
        assert_eq!(short.len(), ErrorKind::ALL.len());
        for k in ErrorKind::ALL {
            assert!(k.c_name().to_str().unwrap().starts_with("PSFTP_E_"));
            assert!(k.short_name().to_str().unwrap().starts_with('E'));
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(
            ErrorKind::from_code(-(ErrorKind::ALL.len() as i32) - 1),
            None
        );
    }
}
