//! psftp_connect_opts and psftp_connect_with: psftp_connect's settings as
//! an options object, which grows by new setters without an ABI break.

use std::ffi::{c_char, c_int};
use std::sync::Mutex;

use super::cnopts::{cnopts_snapshot, psftp_cnopts};
use super::conn::{connect_to, port_arg, psftp_conn};
use super::{arg_opt_str, arg_out, arg_str, guard, guard_void, Registry};
use crate::core::connect::KeyData;
use crate::core::secret::Secret;
use crate::core::{CnOpts, ConnectSpec};
use crate::error::{Error, Result};

/// What psftp_connect_with() connects with: host, port, user,
/// credentials, CnOpts and default path, each set by its own
/// psftp_connect_opts_set_*() function (all but the host are optional).
/// Create with psftp_connect_opts_new(), release with
/// psftp_connect_opts_free(). Later versions add settings as new setters
/// whose defaults keep the behaviour of this one. psftp_connect_with()
/// copies what it needs: the options may be changed, reused for more
/// connections or freed afterwards. Not meant to be changed from two
/// threads at once.
pub struct psftp_connect_opts {
    _private: [u8; 0],
}

pub(crate) static CONNECT_OPTS: Registry<Mutex<ConnectSpec>> =
    Registry::new("psftp_connect_opts", 5);

fn with_spec(
    opts: *mut psftp_connect_opts,
    f: impl FnOnce(&mut ConnectSpec) -> Result<()>,
) -> c_int {
    guard(|| {
        let h = CONNECT_OPTS.get(opts, "opts")?;
        let mut spec = h.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut spec)
    })
}

/// New connect options for `host` (a name or an IP address): port 22, the
/// user from $LOGNAME, $USER or the password database, no password or
/// key (the usual ~/.ssh keys and ssh-agent are tried, as by
/// psftp_connect), default CnOpts.
///
/// # Safety
/// `host` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_connect_opts_new(
    host: *const c_char,
    out: *mut *mut psftp_connect_opts,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `host` is NUL-terminated; `out` is
    // writable.
    unsafe {
        guard(|| {
            let out = arg_out(out, "out")?;
            let spec = ConnectSpec {
                host: arg_str(host, "host")?.to_string(),
                port: 22,
                username: None,
                password: None,
                private_key: None,
                private_key_pass: None,
                private_key_data: None,
                cnopts: CnOpts::default(),
                default_path: None,
            };
            *out = CONNECT_OPTS.insert(Mutex::new(spec));
            Ok(())
        })
    }
}

/// Release connect options (their passwords and keys are overwritten).
/// NULL and a second free are ignored.
#[no_mangle]
pub extern "C" fn psftp_connect_opts_free(opts: *mut psftp_connect_opts) {
    guard_void(|| {
        CONNECT_OPTS.remove(opts);
    })
}

/// The TCP port: 1 to 65535, or 0 for 22.
#[no_mangle]
pub extern "C" fn psftp_connect_opts_set_port(opts: *mut psftp_connect_opts, port: c_int) -> c_int {
    with_spec(opts, |s| {
        s.port = port_arg(port)?;
        Ok(())
    })
}

/// The user to log in as; NULL goes back to $LOGNAME, $USER or the
/// password database.
///
/// # Safety
/// `username` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_connect_opts_set_username(
    opts: *mut psftp_connect_opts,
    username: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `username` is NULL or NUL-terminated.
    unsafe {
        with_spec(opts, |s| {
            s.username = arg_opt_str(username, "username")?.map(String::from);
            Ok(())
        })
    }
}

/// The password, tried first when given (as pysftp does; servers that only
/// offer keyboard-interactive get it as the answer). NULL removes it.
///
/// # Safety
/// `password` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_connect_opts_set_password(
    opts: *mut psftp_connect_opts,
    password: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `password` is NULL or NUL-terminated.
    unsafe {
        with_spec(opts, |s| {
            s.password = arg_opt_str(password, "password")?.map(Secret::new);
            Ok(())
        })
    }
}

/// A private key file (`~` expanded), "agent" or "agent:NAME", as
/// psftp_connect()'s `private_key`, and the passphrase of an encrypted key
/// file (NULL if none). A connection uses one private key: this replaces
/// a key given by psftp_connect_opts_set_private_key_data(). NULL `path`
/// removes the key.
///
/// # Safety
/// `path` and `passphrase` are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_connect_opts_set_private_key(
    opts: *mut psftp_connect_opts,
    path: *const c_char,
    passphrase: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `path` and `passphrase` are NULL or
    // NUL-terminated.
    unsafe {
        with_spec(opts, |s| {
            s.private_key = arg_opt_str(path, "path")?.map(String::from);
            s.private_key_pass = arg_opt_str(passphrase, "passphrase")?.map(Secret::new);
            s.private_key_data = None;
            Ok(())
        })
    }
}

/// A private key given by its contents: `len` bytes at `data` in OpenSSH
/// ("-----BEGIN OPENSSH PRIVATE KEY-----") or PEM format, Ed25519, ECDSA
/// or RSA, with `passphrase` (NULL if it is not encrypted). psftp copies
/// both (and overwrites its copies when done with them), and never shows
/// them in a message or log. This replaces a key given by
/// psftp_connect_opts_set_private_key(). NULL `data` removes the key.
///
/// # Safety
/// `data` is NULL or points to `len` readable bytes; `passphrase` is NULL
/// or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_connect_opts_set_private_key_data(
    opts: *mut psftp_connect_opts,
    data: *const u8,
    len: usize,
    passphrase: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `data` is NULL or points to `len` readable
    // bytes; `passphrase` is NULL or NUL-terminated.
    unsafe {
        with_spec(opts, |s| {
            let key = if data.is_null() {
                None
            } else {
                let bytes = std::slice::from_raw_parts(data, len);
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    Error::invalid_arg(
                        "data",
                        "is not a PEM or OpenSSH private key (not text; the value is not shown)",
                    )
                })?;
                if text.trim().is_empty() {
                    return Err(Error::invalid_arg("data", "is empty"));
                }
                Some(KeyData {
                    key: Secret::new(text),
                    passphrase: arg_opt_str(passphrase, "passphrase")?.map(Secret::new),
                })
            };
            s.private_key_data = key;
            s.private_key = None;
            s.private_key_pass = None;
            Ok(())
        })
    }
}

/// The CnOpts to connect with (copied now: later changes to `cnopts` do
/// not reach these options); NULL goes back to the defaults.
#[no_mangle]
pub extern "C" fn psftp_connect_opts_set_cnopts(
    opts: *mut psftp_connect_opts,
    cnopts: *const psftp_cnopts,
) -> c_int {
    with_spec(opts, |s| {
        s.cnopts = cnopts_snapshot(cnopts)?;
        Ok(())
    })
}

/// The remote directory to chdir to after connecting; NULL for none.
///
/// # Safety
/// `path` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_connect_opts_set_default_path(
    opts: *mut psftp_connect_opts,
    path: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `path` is NULL or NUL-terminated.
    unsafe {
        with_spec(opts, |s| {
            s.default_path = arg_opt_str(path, "path")?.map(String::from);
            Ok(())
        })
    }
}

/// Connect as `opts` says. On success `*conn_out` receives the connection;
/// on failure it is left untouched and, when `error_out` is not NULL,
/// `*error_out` receives a copy of the message (free with
/// psftp_string_free()), as psftp_connect() does.
///
/// # Safety
/// `conn_out` is writable; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_connect_with(
    opts: *const psftp_connect_opts,
    conn_out: *mut *mut psftp_conn,
    error_out: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `conn_out` is writable; `error_out` is
    // NULL or writable.
    unsafe {
        connect_to(conn_out, error_out, || {
            let h = CONNECT_OPTS.get(opts, "opts")?;
            let spec = h.lock().unwrap_or_else(|p| p.into_inner()).clone();
            Ok(spec)
        })
    }
}
