//! psftp_connect_opts and psftp_connect_with: psftp_connect's settings as
//! an options object, which grows by new setters without an ABI break.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::sync::Mutex;

use super::cnopts::psftp_finalizer;
use super::cnopts::{cnopts_snapshot, psftp_cnopts};
use super::conn::{connect_to, port_arg, psftp_conn};
use super::kbdint::{kbdint_callback, psftp_kbdint_cb};
use super::{arg_opt_str, arg_out, arg_str, guard, guard_void, Registry};
use crate::core::auth::KeyData;
use crate::core::secret::Secret;
use crate::core::ConnectSpec;
use crate::error::{Error, Result};

/// What psftp_connect_with() connects with: host, port, user,
/// credentials, CnOpts and default path, each set by its own
/// psftp_connect_opts_set_*() function (all but the host are optional).
///
/// The split between the two options objects: psftp_cnopts holds how to
/// connect, reusable for any number of connections and hosts (host-key
/// policy, ciphers, timeouts, ssh_config, a ProxyJump or ProxyCommand
/// route); psftp_connect_opts holds what one connection is made with:
/// the host and user, every credential (password, key file, key from
/// memory, the keyboard-interactive callback that answers for the user)
/// and a socket of the caller's, which can carry only one connection.
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

/// New connect options for `host` (a name or an IP address, or a Host
/// alias of ssh_config when the CnOpts read it): port 0 (ssh_config's
/// Port, else 22), the user from ssh_config, else $LOGNAME, $USER or the
/// password database, no password or key (the usual ~/.ssh keys and
/// ssh-agent are tried, as by psftp_connect), default CnOpts.
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
            let spec = ConnectSpec::new(arg_str(host, "host")?);
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

/// The TCP port: 1 to 65535, or 0 for ssh_config's Port, else 22.
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
/// Jump hosts are offered the same key. Data that is not text, is empty,
/// larger than 64 KiB or has no "-----BEGIN" line is PSFTP_E_INVALID_ARG
/// now; a key libssh2 cannot use fails the connect with PSFTP_E_AUTH.
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
                let pass = arg_opt_str(passphrase, "passphrase")?;
                Some(KeyData::new(bytes, pass)?)
            };
            s.private_key_data = key;
            s.private_key = None;
            s.private_key_pass = None;
            Ok(())
        })
    }
}

/// Run the connection over `fd`, a stream socket the application already
/// connected (through a SOCKS or HTTP proxy, say) to the server, or to the
/// first jump host. psftp duplicates `fd` here: the application keeps its
/// own descriptor and may close it at any time; psftp closes its copies
/// when the options are freed and when the connection is closed (which
/// also shuts the socket down, ending the connection for every holder).
/// One socket carries one connection: a second psftp_connect_with() with
/// the same socket fails in the SSH handshake, and extra connections of
/// tree and split operations are not made (they run on the one
/// connection). A ProxyCommand that applies (CnOpts or ssh_config) is
/// PSFTP_E_INVALID_ARG at connect; a ProxyJump route starts on the socket.
/// -1 removes the setting. PSFTP_E_INVALID_ARG if `fd` is not a stream
/// socket.
#[no_mangle]
pub extern "C" fn psftp_connect_opts_set_socket(opts: *mut psftp_connect_opts, fd: c_int) -> c_int {
    with_spec(opts, |s| {
        if fd == -1 {
            s.socket = None;
            return Ok(());
        }
        if fd < 0 {
            return Err(Error::invalid_arg(
                "fd",
                format!("{fd} is not a descriptor"),
            ));
        }
        // SAFETY: fcntl(F_GETFD) only asks whether `fd` is open (EBADF if
        // not); it touches no memory.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(Error::invalid_arg(
                "fd",
                format!("{fd}: {}", std::io::Error::last_os_error()),
            ));
        }
        // SAFETY: `fd` is open (checked above) and the caller's for the
        // duration of this call; it is borrowed only to duplicate it.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let dup = borrowed
            .try_clone_to_owned()
            .map_err(|e| Error::invalid_arg("fd", format!("{fd}: {e}")))?;
        crate::core::route::caller_socket(&dup)?;
        s.socket = Some(Arc::new(dup));
        Ok(())
    })
}

/// Answer keyboard-interactive prompts with `callback` (NULL removes it),
/// for servers that ask for more than a key or password: a one-time code,
/// a PAM conversation. Used for the server and for jump hosts, after the
/// password or key (a second factor) or when nothing else got in. See
/// psftp_kbdint_cb for when it runs and what `user_data` must allow.
///
/// `finalizer` (may be NULL) releases `user_data`: psftp calls it exactly
/// once, when nothing needs `user_data` any more: these options and every
/// connection made with them hold the callback, so that is when the last
/// of them is freed or closed, or when the callback is replaced; also at
/// once when `callback` is NULL or this call fails. It may run on any
/// thread that frees or closes one of them.
#[no_mangle]
pub extern "C" fn psftp_connect_opts_set_kbdint_callback(
    opts: *mut psftp_connect_opts,
    callback: psftp_kbdint_cb,
    user_data: *mut c_void,
    finalizer: psftp_finalizer,
) -> c_int {
    // From here on psftp owns user_data: every path drops it exactly once.
    let new = kbdint_callback(callback, user_data, finalizer);
    let mut old = None;
    let rc = with_spec(opts, |s| {
        old = std::mem::replace(&mut s.kbdint_callback, new);
        Ok(())
    });
    // The replaced callback's finalizer may run here, with the options
    // unlocked, so that it may use them.
    drop(old);
    rc
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
