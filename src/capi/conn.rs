//! psftp_connect, psftp_close and the connection's accessors.

use std::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, Mutex};

use super::cnopts::{cnopts_snapshot, psftp_cnopts, seconds};
use super::types::{bytes_out, psftp_hostkey, psftp_security_info, psftp_strarray};
use super::{
    arg_bytes, arg_opt_str, arg_out, arg_str, c_message, catch, guard, guard_void, new_c_string,
    Registry,
};
use crate::core::conn::with_cancel_token;
use crate::core::secret::Secret;
use crate::core::{ConnectSpec, Connection};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::CancelToken;

/// An open connection (pysftp Connection). Thread-safe: calls from several
/// threads run on it at the same time, each with its own requests in
/// flight on the one SFTP channel (docs/concurrency.md). Release with
/// psftp_close().
pub struct psftp_conn {
    _private: [u8; 0],
}

/// The C side of a connection: the core connection plus its last error, kept
/// here so a caller on another thread can still read it.
pub(crate) struct ConnHandle {
    pub conn: Arc<Connection>,
    last_error: Mutex<Option<Error>>,
    /// For a handle from psftp_conn_with_cancel: the token that stops its
    /// calls. Such a handle only views the connection: closing it leaves
    /// the connection open.
    pub(crate) cancel: Option<CancelToken>,
}

pub(crate) static CONNS: Registry<ConnHandle> = Registry::new("psftp_conn", 1);

impl ConnHandle {
    pub(crate) fn new(conn: Arc<Connection>, cancel: Option<CancelToken>) -> ConnHandle {
        ConnHandle {
            conn,
            last_error: Mutex::new(None),
            cancel,
        }
    }

    /// Run `f` with this handle's cancel token (if any) on the calls it
    /// makes.
    pub(crate) fn run<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        with_cancel_token(self.cancel.clone(), f)
    }

    /// Keep a failure of a call on this connection; a panic also poisons
    /// the connection, since it may have stopped the call mid-request.
    pub(crate) fn record(&self, e: &Error) {
        if e.kind() == ErrorKind::Panic {
            self.conn.poison(e.message());
        }
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
    }
}

/// The boundary of every export that works on a connection: looks the
/// handle up, runs `f`, and records a failure both thread-locally and on
/// the connection (a panic poisons the connection).
pub(crate) fn with_conn(
    conn: *const psftp_conn,
    f: impl FnOnce(&Connection) -> Result<()>,
) -> c_int {
    guard(|| {
        let h = CONNS.get(conn, "conn")?;
        let r = h.run(|| catch(|| f(&h.conn)));
        if let Err(e) = &r {
            h.record(e);
        }
        r
    })
}

/// A test hook, deliberately not declared in psftp.h: it makes psftp panic
/// inside a call. With a connection, a getfo of `remotepath` panics at its
/// first chunk of data, leaving read requests in flight (what a bug would
/// do); the connection is then poisoned. With a NULL connection it panics
/// outside any connection. Returns PSFTP_E_PANIC, with the panic's message
/// in psftp_last_error(). The bindings' tests declare it themselves.
///
/// cbindgen:ignore
///
/// # Safety
/// `remotepath` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_debug_panic(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NULL or NUL-terminated.
    unsafe {
        // resume_unwind unwinds like a panic without running the panic hook, so
        // these deliberate panics print nothing on stderr.
        let panic = || -> ! { std::panic::resume_unwind(Box::new("psftp_debug_panic was called")) };
        if conn.is_null() {
            return guard(|| panic());
        }
        with_conn(conn, |c| {
            let path = arg_bytes(remotepath, "remotepath")?;
            c.getfo(path, &mut |_| panic(), None).map(|_| ())
        })
    }
}

/// Port 0 means ssh_config's Port, else 22; anything outside 1..65535 is
/// invalid.
pub(crate) fn port_arg(port: c_int) -> Result<u16> {
    match port {
        0..=65535 => Ok(port as u16),
        _ => Err(Error::invalid_arg(
            "port",
            format!("{port} is not a TCP port (1-65535, or 0 for 22)"),
        )),
    }
}

/// pysftp `Connection(host, username=None, private_key=None, password=None,
/// port=22, private_key_pass=None, cnopts=None, default_path=None)`.
///
/// - `host`: name or IP address; with psftp_cnopts_set_ssh_config(), also
///   a Host alias of ssh_config.
/// - `username`: NULL uses ssh_config's User (when on), else $LOGNAME, then
///   $USER, then the password database.
/// - `private_key`: a key file (OpenSSH or PEM; Ed25519, ECDSA or RSA; `~`
///   expanded), or "agent" for any ssh-agent key, or "agent:NAME" for the
///   agent key whose comment or SHA256 fingerprint is NAME (pysftp's
///   AgentKey). Messages name the path only when something exists there
///   (a password given here by mistake is not repeated); a key's contents
///   given here are PSFTP_E_INVALID_ARG.
/// - `password`: tried first when given, as pysftp does. With neither
///   password nor key, ~/.ssh/id_ed25519, id_ecdsa, id_rsa and id_dsa are
///   tried (or ssh_config's IdentityFile keys), then ssh-agent. Keys from
///   memory, a keyboard-interactive callback and a socket of the caller's
///   are set on psftp_connect_opts (psftp_connect_with()).
/// - `port`: 0 means 22 (or ssh_config's Port, when on).
/// - `private_key_pass`: passphrase of an encrypted key.
/// - `cnopts`: NULL for defaults (host keys checked against
///   ~/.ssh/known_hosts).
/// - `default_path`: directory to chdir to after connecting, or NULL.
///
/// On success `*conn_out` receives the connection. On failure it is left
/// untouched, and when `error_out` is not NULL `*error_out` receives a copy
/// of the message (free with psftp_string_free()) for callers that read it
/// on another thread.
///
/// psftp_connect_with() takes the same settings as an options object, and
/// more (a private key from memory, a keyboard-interactive callback, a
/// socket of the caller's).
///
/// # Safety
/// String arguments are NULL or NUL-terminated; `conn_out` is writable;
/// `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_connect(
    host: *const c_char,
    username: *const c_char,
    private_key: *const c_char,
    password: *const c_char,
    port: c_int,
    private_key_pass: *const c_char,
    cnopts: *const psftp_cnopts,
    default_path: *const c_char,
    conn_out: *mut *mut psftp_conn,
    error_out: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: String arguments are NULL or
    // NUL-terminated; `conn_out` is writable; `error_out` is NULL or writable.
    unsafe {
        connect_to(conn_out, error_out, || {
            let host = arg_str(host, "host")?;
            Ok(ConnectSpec {
                port: port_arg(port)?,
                username: arg_opt_str(username, "username")?.map(String::from),
                password: arg_opt_str(password, "password")?.map(Secret::new),
                private_key: arg_opt_str(private_key, "private_key")?.map(String::from),
                private_key_pass: arg_opt_str(private_key_pass, "private_key_pass")?
                    .map(Secret::new),
                cnopts: cnopts_snapshot(cnopts)?,
                default_path: arg_opt_str(default_path, "default_path")?.map(String::from),
                ..ConnectSpec::new(host)
            })
        })
    }
}

/// Connect with the settings `spec` gives; the connection goes to
/// `*conn_out`, a failure's message also to `*error_out` (if not NULL).
///
/// # Safety
/// `conn_out` and `error_out` are NULL or writable.
pub(crate) unsafe fn connect_to(
    conn_out: *mut *mut psftp_conn,
    error_out: *mut *mut c_char,
    spec: impl FnOnce() -> Result<ConnectSpec>,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `conn_out` and `error_out` are NULL or
    // writable.
    unsafe {
        let rc = guard(|| {
            let out = arg_out(conn_out, "conn_out")?;
            let conn = Connection::connect(spec()?)?;
            *out = CONNS.insert(ConnHandle::new(Arc::new(conn), None));
            Ok(())
        });
        if rc != 0 && !error_out.is_null() {
            let msg = std::ffi::CStr::from_ptr(super::psftp_last_error());
            *error_out = c_message(&msg.to_string_lossy()).into_raw();
        }
        rc
    }
}

/// pysftp `close()`: end the session and release the handle. NULL and an
/// already closed handle are ignored. Calls still running on other threads
/// finish first; open psftp_file handles fail afterwards.
///
/// # Safety
/// `conn` is NULL or a handle from psftp_connect().
#[no_mangle]
pub unsafe extern "C" fn psftp_close(conn: *mut psftp_conn) {
    guard_void(|| {
        if let Some(h) = CONNS.remove(conn) {
            // A view (psftp_conn_with_cancel) leaves the connection open.
            if h.cancel.is_none() {
                h.conn.close();
            }
        }
    })
}

/// The code of the last failed call on this connection, from any thread
/// (PSFTP_OK if none failed). PSFTP_E_INVALID_ARG for a NULL or closed
/// handle.
#[no_mangle]
pub extern "C" fn psftp_conn_last_error_code(conn: *const psftp_conn) -> c_int {
    match CONNS.get(conn, "conn") {
        Ok(h) => h
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, |e| e.kind().code()),
        Err(e) => e.kind().code(),
    }
}

/// psftp_last_error_errno() for the last failed call on this connection,
/// from any thread: 0 when it had no errno (or none failed, or `conn` is
/// NULL or closed).
#[no_mangle]
pub extern "C" fn psftp_conn_last_error_errno(conn: *const psftp_conn) -> c_int {
    last_error_field(conn, 0, |e| super::errno_of(e) as i64) as c_int
}

/// psftp_last_error_sftp_status() for the last failed call on this
/// connection, from any thread: -1 when it had no SFTP status (or none
/// failed, or `conn` is NULL or closed).
#[no_mangle]
pub extern "C" fn psftp_conn_last_error_sftp_status(conn: *const psftp_conn) -> i64 {
    last_error_field(conn, -1, super::sftp_status_of)
}

/// psftp_last_callback_value() of the last failed call on this connection,
/// from any thread: what your callback returned to stop it with
/// PSFTP_E_USER, else 0 (also for a NULL or closed handle).
#[no_mangle]
pub extern "C" fn psftp_conn_last_callback_value(conn: *const psftp_conn) -> i64 {
    last_error_field(conn, 0, |e| e.callback_value().unwrap_or(0))
}

fn last_error_field(conn: *const psftp_conn, none: i64, f: impl Fn(&Error) -> i64) -> i64 {
    match CONNS.get(conn, "conn") {
        Ok(h) => h
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(none, f),
        Err(_) => none,
    }
}

/// A copy of the message of the last failed call on this connection, from
/// any thread; "" if none failed. Free with psftp_string_free(). NULL only
/// for a NULL or closed handle.
#[no_mangle]
pub extern "C" fn psftp_conn_last_error(conn: *const psftp_conn) -> *mut c_char {
    match CONNS.get(conn, "conn") {
        Ok(h) => {
            let e = h.last_error.lock().unwrap_or_else(|p| p.into_inner());
            c_message(e.as_ref().map_or("", |e| e.message())).into_raw()
        }
        Err(_) => std::ptr::null_mut(),
    }
}

/// pysftp `remote_server_key`: the server's host key. Free with
/// psftp_hostkey_free().
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_remote_server_key(
    conn: *mut psftp_conn,
    out: *mut *mut psftp_hostkey,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        with_conn(conn, |c| {
            let out = arg_out(out, "out")?;
            *out = psftp_hostkey::boxed(&c.remote_server_key())?;
            Ok(())
        })
    }
}

/// Two strings for the caller.
///
/// # Safety
/// `local_out` and `remote_out` are NULL or writable.
unsafe fn two_strings(
    local_out: *mut *mut c_char,
    remote_out: *mut *mut c_char,
    pair: Result<(String, String)>,
) -> Result<()> {
    // SAFETY: the caller keeps this function's contract: `local_out` and `remote_out` are NULL or
    // writable.
    unsafe {
        let local_out = arg_out(local_out, "local_out")?;
        let remote_out = arg_out(remote_out, "remote_out")?;
        let (l, r) = pair?;
        let l = new_c_string(&l, "algorithm")?;
        *remote_out = new_c_string(&r, "algorithm").inspect_err(|_| super::psftp_string_free(l))?;
        *local_out = l;
        Ok(())
    }
}

/// pysftp `active_ciphers`: the ciphers in use, client-to-server (local)
/// and server-to-client (remote). Free both with psftp_string_free().
///
/// # Safety
/// Both out-parameters are writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_active_ciphers(
    conn: *mut psftp_conn,
    local_out: *mut *mut c_char,
    remote_out: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Both out-parameters are writable.
    unsafe {
        with_conn(conn, |c| {
            two_strings(local_out, remote_out, c.active_ciphers())
        })
    }
}

/// pysftp `active_compression`: "none", "zlib" or "zlib@openssh.com" for
/// each direction. Free both with psftp_string_free().
///
/// # Safety
/// Both out-parameters are writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_active_compression(
    conn: *mut psftp_conn,
    local_out: *mut *mut c_char,
    remote_out: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Both out-parameters are writable.
    unsafe {
        with_conn(conn, |c| {
            two_strings(local_out, remote_out, c.active_compression())
        })
    }
}

/// pysftp `security_options`: the ciphers, digests (MACs), key types, kex
/// and compression methods this build supports. Free with
/// psftp_security_info_free().
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_security_options(
    conn: *mut psftp_conn,
    out: *mut *mut psftp_security_info,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        with_conn(conn, |c| {
            let out = arg_out(out, "out")?;
            *out = psftp_security_info::boxed(&c.security_options()?)?;
            Ok(())
        })
    }
}

/// pysftp `timeout` (getter): seconds a blocking read or write may wait;
/// 0 means no limit.
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_timeout(conn: *mut psftp_conn, out: *mut f64) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        with_conn(conn, |c| {
            let out = arg_out(out, "out")?;
            *out = c.timeout()?.map_or(0.0, |d| d.as_secs_f64());
            Ok(())
        })
    }
}

/// pysftp `timeout` (setter); 0 means no limit. After a timeout of an SFTP
/// call the connection is unusable (PSFTP_E_CONNECTION_LOST): reconnect. A
/// psftp_execute() that times out leaves it usable (the command's silence
/// is not the link's).
#[no_mangle]
pub extern "C" fn psftp_set_timeout(conn: *mut psftp_conn, seconds_: f64) -> c_int {
    with_conn(conn, |c| c.set_timeout(seconds(seconds_, "seconds")?))
}

/// pysftp `logfile`: the path of the log (CnOpts log), or NULL in `*out`
/// when not logging. Free with psftp_string_free().
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_logfile(conn: *mut psftp_conn, out: *mut *mut c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        with_conn(conn, |c| {
            let out = arg_out(out, "out")?;
            *out = match c.logfile() {
                Some(p) => new_c_string(&p, "log path")?,
                None => std::ptr::null_mut(),
            };
            Ok(())
        })
    }
}

/// pysftp `execute(command)`: run `command` on the server (not in the SFTP
/// working directory). `*lines_out` receives stdout's lines then stderr's,
/// each with its trailing newline, as pysftp returns them; `*exit_status_out`
/// (may be NULL) the exit status. Free the lines with psftp_strarray_free().
/// Other calls on the connection go on while the command runs. Bounded by
/// pysftp's timeout (psftp_set_timeout(): PSFTP_E_TIMEOUT) and dead-peer
/// detection (keepalives), not by the stall timeout: a command may stay
/// silent for minutes.
///
/// # Safety
/// `command` is NUL-terminated; `lines_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_execute(
    conn: *mut psftp_conn,
    command: *const c_char,
    lines_out: *mut *mut psftp_strarray,
    exit_status_out: *mut c_int,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `command` is NUL-terminated; `lines_out`
    // is writable.
    unsafe {
        with_conn(conn, |c| {
            let command = arg_str(command, "command")?;
            let lines_out = arg_out(lines_out, "lines_out")?;
            let (lines, status) = c.execute(command)?;
            *lines_out = Box::into_raw(Box::new(psftp_strarray::from_strings(
                &lines,
                "command output",
            )?));
            if !exit_status_out.is_null() {
                *exit_status_out = status;
            }
            Ok(())
        })
    }
}

/// `psftp_execute_bytes()` flag: when the command wrote nothing on stdout,
/// `*stdout_out` receives what it wrote on stderr (pysftp's `execute`).
pub const PSFTP_EXECUTE_STDERR_IF_NO_STDOUT: c_int = 1;

/// pysftp `execute(command)` with the output as bytes (it may hold NUL
/// bytes or non-UTF-8 text). `*stdout_out`/`*stdout_len_out` receive what
/// the command wrote on stdout, `*stderr_out`/`*stderr_len_out` (both may
/// be NULL to skip) what it wrote on stderr, `*exit_status_out` (may be
/// NULL) its exit status. `flags` is 0 or PSFTP_EXECUTE_STDERR_IF_NO_STDOUT
/// (pysftp's choice of output). Free each buffer with psftp_bytes_free().
///
/// # Safety
/// `command` is NUL-terminated; `stdout_out` and `stdout_len_out` are
/// writable; the others are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_execute_bytes(
    conn: *mut psftp_conn,
    command: *const c_char,
    flags: c_int,
    stdout_out: *mut *mut u8,
    stdout_len_out: *mut usize,
    stderr_out: *mut *mut u8,
    stderr_len_out: *mut usize,
    exit_status_out: *mut c_int,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `command` is NUL-terminated; `stdout_out`
    // and `stdout_len_out` are writable; the others are NULL or writable.
    unsafe {
        with_conn(conn, |c| {
            let command = arg_str(command, "command")?;
            if flags & !PSFTP_EXECUTE_STDERR_IF_NO_STDOUT != 0 {
                return Err(Error::invalid_arg(
                    "flags",
                    format!("{flags} has bits other than PSFTP_EXECUTE_STDERR_IF_NO_STDOUT"),
                ));
            }
            let stdout_out = arg_out(stdout_out, "stdout_out")?;
            let stdout_len_out = arg_out(stdout_len_out, "stdout_len_out")?;
            if stderr_out.is_null() != stderr_len_out.is_null() {
                return Err(Error::invalid_arg(
                    "stderr_out",
                    "and stderr_len_out must both be NULL or both be set",
                ));
            }
            let out = c.execute_bytes(command)?;
            let first = if flags & PSFTP_EXECUTE_STDERR_IF_NO_STDOUT != 0 {
                out.pysftp_output()
            } else {
                &out.stdout
            };
            bytes_out(first.to_vec(), stdout_out, stdout_len_out);
            if !stderr_out.is_null() {
                bytes_out(out.stderr, &mut *stderr_out, &mut *stderr_len_out);
            }
            if !exit_status_out.is_null() {
                *exit_status_out = out.exit_status;
            }
            Ok(())
        })
    }
}

/// The user name the connection authenticated as: the `username` given to
/// psftp_connect(), or the one taken from the environment when it was
/// NULL. Free with psftp_string_free().
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_username(conn: *mut psftp_conn, out: *mut *mut c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        with_conn(conn, |c| {
            let out = arg_out(out, "out")?;
            *out = new_c_string(c.username(), "user name")?;
            Ok(())
        })
    }
}

/// pysftp `sftp_client`, the escape hatch: `*session_out` receives the
/// LIBSSH2_SESSION and `*sftp_out` a LIBSSH2_SFTP opened on it at the first
/// call (both may be NULL to skip). They stay valid until psftp_close().
/// The session is in blocking mode with psftp's timeout; do not close or
/// free them. libssh2 sessions are not thread-safe: use the pointers only
/// between psftp_lock() and psftp_unlock() on this connection, so that no
/// psftp call of another thread and no keepalive runs at the same time.
///
/// # Safety
/// Out-parameters are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_sftp_client(
    conn: *mut psftp_conn,
    session_out: *mut *mut c_void,
    sftp_out: *mut *mut c_void,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Out-parameters are NULL or writable.
    unsafe {
        with_conn(conn, |c| {
            let (session, sftp) = c.sftp_client()?;
            if !session_out.is_null() {
                *session_out = session as *mut c_void;
            }
            if !sftp_out.is_null() {
                *sftp_out = sftp as *mut c_void;
            }
            Ok(())
        })
    }
}

/// Take this connection for the calling thread, for direct libssh2 calls
/// on the pointers from psftp_sftp_client(): until the matching
/// psftp_unlock(), psftp calls on it from other threads wait, and its
/// keepalives (psftp_cnopts_set_keepalive) pause. This thread's own psftp
/// calls still work; locks nest. Not from a callback of a call on this
/// connection (PSFTP_E_INVALID_ARG), and not for long: everything else
/// waits.
#[no_mangle]
pub extern "C" fn psftp_lock(conn: *mut psftp_conn) -> c_int {
    with_conn(conn, |c| c.lock())
}

/// Release the lock psftp_lock() took on this thread (PSFTP_E_INVALID_ARG
/// if this thread holds none).
#[no_mangle]
pub extern "C" fn psftp_unlock(conn: *mut psftp_conn) -> c_int {
    with_conn(conn, |c| c.unlock())
}

/// Whether the server announced the SFTP extension `name`
/// ("posix-rename@openssh.com", "fsync@openssh.com", ...).
///
/// # Safety
/// `name` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_has_extension(
    conn: *mut psftp_conn,
    name: *const c_char,
    out: *mut bool,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `name` is NUL-terminated; `out` is
    // writable.
    unsafe {
        with_conn(conn, |c| {
            let name = arg_str(name, "name")?;
            let out = arg_out(out, "out")?;
            *out = c.has_extension(name)?;
            Ok(())
        })
    }
}

/// The live connection behind a handle (for objects that keep using it).
pub(crate) fn conn_handle(conn: *const psftp_conn) -> Result<Arc<ConnHandle>> {
    CONNS.get(conn, "conn")
}

/// Abort what the connection is doing, from any thread: its socket is shut
/// down, so a call blocked on the network (a transfer, a stalled link)
/// returns promptly with PSFTP_E_CANCELLED. The connection cannot be used
/// afterwards: close it and connect again. For bindings that cancel from
/// another thread (a Go context, a JS AbortSignal). NULL and closed handles
/// are ignored.
#[no_mangle]
pub extern "C" fn psftp_interrupt(conn: *mut psftp_conn) {
    guard_void(|| {
        if let Ok(h) = CONNS.get(conn, "conn") {
            h.conn.interrupt();
        }
    })
}
