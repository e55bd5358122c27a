//! The C ABI. Functions here only convert arguments, guard against panics
//! and record errors; behaviour lives in `crate::core`.
//!
//! Handles given to C are opaque ids, never addresses: every call looks the
//! id up in its type's registry, so a closed, freed or wrong-type handle is
//! reported as an invalid argument instead of being dereferenced.

#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, ErrorKind, Result};

pub mod cancel;
pub mod cnopts;
pub mod conn;
pub mod connect_opts;
pub mod file;
pub mod fsops;
pub mod helpers;
pub mod kbdint;
pub mod relay;
pub mod transfer;
pub mod tree;
pub mod types;

// PSFTP_OK and the PSFTP_E_* result codes, generated from the one table in
// src/error_codes.rs (build.rs writes their #defines into psftp.h).
pub use crate::error::codes::*;

/// Major version of this header.
pub const PSFTP_VERSION_MAJOR: c_int = 0;
/// Minor version of this header.
pub const PSFTP_VERSION_MINOR: c_int = 1;
/// Patch version of this header.
pub const PSFTP_VERSION_PATCH: c_int = 0;
/// MAJOR * 10000 + MINOR * 100 + PATCH.
pub const PSFTP_VERSION_NUMBER: c_int = 100;

struct LastError {
    code: c_int,
    message: CString,
    callback_value: i64,
    os_errno: c_int,
    sftp_status: i64,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError {
        code: PSFTP_OK,
        message: CString::default(),
        callback_value: 0,
        os_errno: 0,
        sftp_status: -1,
    });
}

/// The errno a caller sees for `err`: 0 when it has none.
pub(crate) fn errno_of(err: &Error) -> c_int {
    err.os_errno().unwrap_or(0)
}

/// The SFTP status a caller sees for `err`: -1 when it has none.
pub(crate) fn sftp_status_of(err: &Error) -> i64 {
    err.sftp_status().map_or(-1, i64::from)
}

/// A message as a C string; interior NULs (from a server's text) become '?'.
pub(crate) fn c_message(s: &str) -> CString {
    CString::new(s.replace('\0', "?")).expect("NULs replaced")
}

fn set_last_error(err: &Error) {
    LAST_ERROR.with(|l| {
        *l.borrow_mut() = LastError {
            code: err.kind().code(),
            message: c_message(err.message()),
            callback_value: err.callback_value().unwrap_or(0),
            os_errno: errno_of(err),
            sftp_status: sftp_status_of(err),
        }
    });
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    Error::new(
        ErrorKind::Panic,
        format!("internal error (panic) in psftp: {what}"),
    )
}

/// Run `f`, turning a panic into a Panic error.
pub(crate) fn catch<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_error(p)))
}

/// The boundary of every export returning a result code: no panic crosses
/// it, and a failure is recorded for `psftp_last_error`.
pub(crate) fn guard(f: impl FnOnce() -> Result<()>) -> c_int {
    match catch(f) {
        Ok(()) => PSFTP_OK,
        Err(e) => {
            set_last_error(&e);
            e.kind().code()
        }
    }
}

/// For void exports (free functions): swallow panics and errors.
pub(crate) fn guard_void(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Remembers why the C side of a call stopped it, so that the call's
/// error says so: the value a C callback returned (PSFTP_E_USER, as
/// libgit2's GIT_EUSER, with the value kept instead of lost), or an error
/// found while calling it. The core only learns "stop".
#[derive(Default)]
pub(crate) struct StopValue(RefCell<Option<Result<i64>>>);

impl StopValue {
    /// Record `value` when it stops the call; returns whether it does.
    pub fn stops(&self, value: i64, stop: bool) -> bool {
        if stop {
            self.0.borrow_mut().get_or_insert(Ok(value));
        }
        stop
    }

    /// The call must stop because of `e` (before a callback could run).
    pub fn fail(&self, e: Error) {
        self.0.borrow_mut().get_or_insert(Err(e));
    }

    /// A stop of the C side, as the core reports it, gets its value or
    /// its own error.
    pub fn attach<T>(&self, r: Result<T>) -> Result<T> {
        r.map_err(|e| match self.0.borrow_mut().take() {
            Some(Ok(v)) if e.kind() == ErrorKind::User => e.with_callback_value(v),
            Some(Err(why)) if e.kind() == ErrorKind::User => why,
            _ => e,
        })
    }
}

/// Live handles of one type, by id.
pub(crate) struct Registry<T> {
    map: Mutex<Option<HashMap<usize, Arc<T>>>>,
    tag: usize,
    next: AtomicUsize,
    type_name: &'static str,
}

impl<T> Registry<T> {
    /// `tag` (1..15) makes ids of different types disjoint, so a handle of
    /// the wrong type is reported rather than mistaken.
    pub const fn new(type_name: &'static str, tag: usize) -> Registry<T> {
        Registry {
            map: Mutex::new(None),
            tag,
            next: AtomicUsize::new(1),
            type_name,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HashMap<usize, Arc<T>>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Store `value`; the id is what C holds as the handle pointer.
    pub fn insert<H>(&self, value: T) -> *mut H {
        let id = (self.next.fetch_add(1, Ordering::Relaxed) << 4) | self.tag;
        self.lock()
            .get_or_insert_with(HashMap::new)
            .insert(id, Arc::new(value));
        id as *mut H
    }

    pub fn get<H>(&self, handle: *const H, param: &str) -> Result<Arc<T>> {
        if handle.is_null() {
            return Err(Error::invalid_arg(param, "is NULL"));
        }
        self.lock()
            .as_ref()
            .and_then(|m| m.get(&(handle as usize)).cloned())
            .ok_or_else(|| {
                Error::invalid_arg(
                    param,
                    format!(
                        "is not a live {} handle (already closed or freed, or never created)",
                        self.type_name
                    ),
                )
            })
    }

    pub fn remove<H>(&self, handle: *const H) -> Option<Arc<T>> {
        self.lock().as_mut()?.remove(&(handle as usize))
    }
}

/// A required input string.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that stays valid and unchanged
/// for `'a`.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, param: &str) -> Result<&'a str> {
    // SAFETY: this function's contract is arg_bytes's.
    std::str::from_utf8(unsafe { arg_bytes(p, param) }?)
        .map_err(|_| Error::invalid_arg(param, "is not valid UTF-8"))
}

/// An optional input string (NULL = not given).
///
/// # Safety
/// As for arg_str.
pub(crate) unsafe fn arg_opt_str<'a>(p: *const c_char, param: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: this function's contract is arg_str's.
    unsafe { arg_str(p, param) }.map(Some)
}

/// A required path: its bytes as given, UTF-8 or not (Linux names are
/// bytes).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that stays valid and unchanged
/// for `'a`.
pub(crate) unsafe fn arg_bytes<'a>(p: *const c_char, param: &str) -> Result<&'a [u8]> {
    if p.is_null() {
        return Err(Error::invalid_arg(param, "is NULL"));
    }
    // SAFETY: not NULL (checked), and NUL-terminated and valid for 'a as
    // this function requires.
    let s = unsafe { CStr::from_ptr(p) };
    Ok(s.to_bytes())
}

/// An optional path (NULL = not given).
///
/// # Safety
/// As for arg_bytes.
pub(crate) unsafe fn arg_opt_bytes<'a>(p: *const c_char, param: &str) -> Result<Option<&'a [u8]>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: this function's contract is arg_bytes's.
    unsafe { arg_bytes(p, param) }.map(Some)
}

/// A required local path, as bytes.
///
/// # Safety
/// As for arg_bytes.
pub(crate) unsafe fn arg_path<'a>(p: *const c_char, param: &str) -> Result<&'a std::path::Path> {
    // SAFETY: this function's contract is arg_bytes's.
    unsafe { arg_bytes(p, param) }.map(crate::core::paths::bytes_path)
}

/// An optional local path.
///
/// # Safety
/// As for arg_bytes.
pub(crate) unsafe fn arg_opt_path<'a>(
    p: *const c_char,
    param: &str,
) -> Result<Option<&'a std::path::Path>> {
    // SAFETY: this function's contract is arg_bytes's.
    unsafe { arg_opt_bytes(p, param) }.map(|o| o.map(crate::core::paths::bytes_path))
}

/// A required out-parameter.
///
/// # Safety
/// `p` is NULL or points to a `T` writable, and not otherwise referenced,
/// for `'a`.
pub(crate) unsafe fn arg_out<'a, T>(p: *mut T, param: &str) -> Result<&'a mut T> {
    // SAFETY: NULL gives None; otherwise valid and unaliased for 'a as
    // this function requires.
    unsafe { p.as_mut() }.ok_or_else(|| Error::invalid_arg(param, "is NULL"))
}

/// A library-allocated C string for the caller (free with
/// psftp_string_free): the bytes as they are (paths need not be UTF-8).
pub(crate) fn new_c_string(s: impl AsRef<[u8]>, what: &str) -> Result<*mut c_char> {
    CString::new(s.as_ref())
        .map(CString::into_raw)
        .map_err(|_| {
            Error::new(
                ErrorKind::Sftp,
                format!("{what} contains a NUL byte and cannot be returned as a C string"),
            )
        })
}

/// Bytes as a C string; NULs (which no path holds) become '?'.
pub(crate) fn c_bytes(s: &[u8]) -> CString {
    let v: Vec<u8> = s.iter().map(|&b| if b == 0 { b'?' } else { b }).collect();
    CString::new(v).expect("NULs replaced")
}

/// The message of the last failed call on this thread; never NULL. Empty
/// when no call has failed yet. Owned by the library and valid until the
/// next psftp call on this thread. Calls that succeed leave it unchanged.
///
/// Callers that may continue on another thread (Node's async calls) read
/// the copy kept on the connection instead: psftp_conn_last_error().
#[no_mangle]
pub extern "C" fn psftp_last_error() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().message.as_ptr())
}

/// The result code of the last failed call on this thread (PSFTP_OK if
/// none has failed).
#[no_mangle]
pub extern "C" fn psftp_last_error_code() -> c_int {
    LAST_ERROR.with(|l| l.borrow().code)
}

/// When the last failed call on this thread returned PSFTP_E_USER: the
/// value your callback returned to stop it (any non-zero int, or the
/// negative value of psftp_putfo()'s read callback), so a callback can
/// pass its own error code out through psftp. 0 after any other failure.
/// Calls that succeed leave it unchanged.
#[no_mangle]
pub extern "C" fn psftp_last_callback_value() -> i64 {
    LAST_ERROR.with(|l| l.borrow().callback_value)
}

/// The OS error number (errno) behind the last failed call on this thread
/// when it was a local failure (PSFTP_E_LOCAL_IO: ENOENT, EACCES, ENOSPC,
/// EISDIR, ...) or a refused TCP connect (PSFTP_E_CONNECT: ECONNREFUSED,
/// ...); 0 when it had none.
#[no_mangle]
pub extern "C" fn psftp_last_error_errno() -> c_int {
    LAST_ERROR.with(|l| l.borrow().os_errno)
}

/// The SFTP status code (SSH_FX_*: 2 no such file, 3 permission denied,
/// 4 failure, 8 unsupported, ...) the server answered the last failed call
/// on this thread with; -1 when the failure did not come from an SFTP
/// status.
#[no_mangle]
pub extern "C" fn psftp_last_error_sftp_status() -> i64 {
    LAST_ERROR.with(|l| l.borrow().sftp_status)
}

/// A static name for a result code: "PSFTP_E_NOT_FOUND" for
/// PSFTP_E_NOT_FOUND, "PSFTP_OK" for PSFTP_OK, "PSFTP_E_UNKNOWN" for a code
/// psftp does not define. Never NULL.
#[no_mangle]
pub extern "C" fn psftp_strerror(code: c_int) -> *const c_char {
    let s: &'static CStr = match ErrorKind::from_code(code) {
        Some(k) => k.c_name(),
        None if code == PSFTP_OK => c"PSFTP_OK",
        None => c"PSFTP_E_UNKNOWN",
    };
    s.as_ptr()
}

/// The short name the bindings give a result code: "ENOTFOUND" for
/// PSFTP_E_NOT_FOUND (Node's `error.code`), "OK" for PSFTP_OK, "EUNKNOWN"
/// for a code psftp does not define. Static, never NULL. The codes are
/// contiguous from -1, so a binding can build its table by walking down
/// from -1 to the first "EUNKNOWN".
#[no_mangle]
pub extern "C" fn psftp_error_name(code: c_int) -> *const c_char {
    let s: &'static CStr = match ErrorKind::from_code(code) {
        Some(k) => k.short_name(),
        None if code == PSFTP_OK => c"OK",
        None => c"EUNKNOWN",
    };
    s.as_ptr()
}

/// The library version, "MAJOR.MINOR.PATCH"; static, never NULL.
#[no_mangle]
pub extern "C" fn psftp_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("version has no NUL"),
        };
    VERSION.as_ptr()
}

/// Release a string returned by psftp. NULL is ignored. Must not be called
/// twice for the same string.
///
/// # Safety
/// `s` is NULL or a string psftp returned and has not been freed.
#[no_mangle]
pub unsafe extern "C" fn psftp_string_free(s: *mut c_char) {
    // SAFETY: the caller keeps this function's contract: `s` is NULL or a string psftp returned and
    // has not been freed.
    unsafe {
        guard_void(|| {
            if !s.is_null() {
                drop(CString::from_raw(s));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_cargo_toml() {
        let parts: Vec<c_int> = env!("CARGO_PKG_VERSION")
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(
            parts,
            [
                PSFTP_VERSION_MAJOR,
                PSFTP_VERSION_MINOR,
                PSFTP_VERSION_PATCH
            ]
        );
        assert_eq!(
            PSFTP_VERSION_NUMBER,
            PSFTP_VERSION_MAJOR * 10000 + PSFTP_VERSION_MINOR * 100 + PSFTP_VERSION_PATCH
        );
        // SAFETY: psftp_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(psftp_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn strerror_and_error_name_come_from_the_table() {
        for k in ErrorKind::ALL {
            // SAFETY: both return static NUL-terminated strings.
            let (c_name, short) = unsafe {
                (
                    CStr::from_ptr(psftp_strerror(k.code())),
                    CStr::from_ptr(psftp_error_name(k.code())),
                )
            };
            assert_eq!(c_name, k.c_name());
            assert_eq!(short, k.short_name());
        }
        let name = |f: extern "C" fn(c_int) -> *const c_char, code| {
            // SAFETY: `f` is psftp_strerror or psftp_error_name, which
            // return static NUL-terminated strings.
            unsafe { CStr::from_ptr(f(code)) }.to_str().unwrap()
        };
        assert_eq!(name(psftp_strerror, PSFTP_OK), "PSFTP_OK");
        assert_eq!(name(psftp_error_name, PSFTP_OK), "OK");
        assert_eq!(name(psftp_strerror, PSFTP_E_NOT_FOUND), "PSFTP_E_NOT_FOUND");
        assert_eq!(name(psftp_error_name, PSFTP_E_DIR_NOT_EMPTY), "ENOTEMPTY");
        assert_eq!(name(psftp_strerror, -1000), "PSFTP_E_UNKNOWN");
        assert_eq!(name(psftp_error_name, 7), "EUNKNOWN");
    }

    /// Every code of the table is a parenthesized #define in the committed
    /// header, in table order, with its doc comment.
    #[test]
    fn the_header_defines_every_code_of_the_table() {
        let header =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/psftp.h"))
                .unwrap();
        let mut at = header.find("#define PSFTP_OK 0").expect("PSFTP_OK");
        for k in ErrorKind::ALL {
            let line = format!("#define {} ({})", k.c_name().to_str().unwrap(), k.code());
            let pos = header[at..]
                .find(&line)
                .unwrap_or_else(|| panic!("psftp.h lacks `{line}` after the previous code"));
            at += pos;
        }
    }

    #[test]
    fn panics_become_the_panic_code_with_a_message() {
        // SAFETY: NULL is allowed for both.
        let rc = unsafe { conn::psftp_debug_panic(std::ptr::null_mut(), std::ptr::null()) };
        assert_eq!(rc, PSFTP_E_PANIC);
        assert_eq!(psftp_last_error_code(), PSFTP_E_PANIC);
        // SAFETY: psftp_last_error returns a NUL-terminated string valid
        // until the next psftp call on this thread.
        let msg = unsafe { CStr::from_ptr(psftp_last_error()) };
        assert!(msg
            .to_str()
            .unwrap()
            .contains("psftp_debug_panic was called"));
    }
}

#[cfg(test)]
mod header_tests {
    /// Every macro, type and function include/psftp.h declares carries the
    /// psftp prefix, so nothing clashes with a user's or the system's names
    /// (cbindgen exports every public item of the crate it parses).
    #[test]
    fn the_header_only_declares_prefixed_names() {
        let header =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/psftp.h"))
                .unwrap();
        let mut offenders = Vec::new();
        for line in header.lines() {
            let l = line.trim_start();
            if l.starts_with("//") || l.starts_with('*') || l.starts_with("/*") {
                continue;
            }
            let name = if let Some(rest) = l.strip_prefix("#define ") {
                rest.split_whitespace().next()
            } else if let Some(rest) = l.strip_prefix("typedef struct ") {
                rest.split_whitespace().next()
            } else if l.contains('(')
                && !l.starts_with('#')
                && !l.starts_with("typedef")
                && !l.starts_with(' ')
            {
                l.split('(')
                    .next()
                    .and_then(|d| d.split_whitespace().last())
                    .map(|n| n.trim_start_matches('*'))
            } else {
                None
            };
            if let Some(n) = name {
                let n = n.trim_end_matches(';');
                if !(n.starts_with("psftp_") || n.starts_with("PSFTP_") || n.is_empty()) {
                    offenders.push(line.to_string());
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "unprefixed names in psftp.h: {offenders:#?}"
        );
    }
}
