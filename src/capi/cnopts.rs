//! psftp_cnopts_*: pysftp's CnOpts.

use std::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, Mutex};

use parking_lot::ReentrantMutex;
use std::time::Duration;

use super::types::psftp_hostkey;
use super::{arg_opt_str, arg_out, arg_str, c_message, guard, guard_void, new_c_string, Registry};
use crate::core::cnopts::{HostKeyDecision, HostKeyQuery, HostKeyStatus, SshConfigFiles};
use crate::core::hostkeys::{base64_decode, sha256_fingerprint};
use crate::core::{CnOpts, LogTarget, ServerKey, UnknownHostPolicy};
use crate::error::{Error, Result};

/// Connection options (pysftp CnOpts). Create with psftp_cnopts_new(),
/// release with psftp_cnopts_free(). A psftp_connect() call copies what it
/// needs, so the options may be changed or freed afterwards. Not meant to be
/// modified from two threads at once.
pub struct psftp_cnopts {
    _private: [u8; 0],
}

pub(crate) static CNOPTS: Registry<Mutex<CnOpts>> = Registry::new("psftp_cnopts", 2);

/// A copy of the options behind a handle (NULL means defaults).
pub(crate) fn cnopts_snapshot(opts: *const psftp_cnopts) -> Result<CnOpts> {
    if opts.is_null() {
        return Ok(CnOpts::default());
    }
    cnopts_required(opts)
}

/// A copy of the options behind a handle that must be given (NULL is
/// INVALID_ARG).
fn cnopts_required(opts: *const psftp_cnopts) -> Result<CnOpts> {
    let h = CNOPTS.get(opts, "cnopts")?;
    let o = h.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(o)
}

fn with_opts(opts: *mut psftp_cnopts, f: impl FnOnce(&mut CnOpts) -> Result<()>) -> c_int {
    guard(|| {
        let h = CNOPTS.get(opts, "cnopts")?;
        let mut o = h.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut o)
    })
}

/// Seconds as a Duration; 0 means none. Negative, NaN or infinite values
/// are invalid.
pub(crate) fn seconds(value: f64, param: &str) -> Result<Option<Duration>> {
    if !value.is_finite() || value < 0.0 {
        return Err(Error::invalid_arg(
            param,
            format!("{value} is not a number of seconds >= 0"),
        ));
    }
    Ok((value > 0.0).then(|| Duration::from_secs_f64(value)))
}

/// pysftp `CnOpts(knownhosts=None)`. `knownhosts` NULL means
/// ~/.ssh/known_hosts; `~` is expanded. Host-key checking is on. A missing
/// file is not an error here: connecting then fails with
/// PSFTP_E_HOSTKEY_UNKNOWN naming the file. Defaults: no log, no
/// compression, libssh2's cipher order, 30 s connect deadline, 60 s stall
/// timeout, no pysftp `timeout`, no keepalives.
///
/// # Safety
/// `knownhosts` is NULL or a NUL-terminated string; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_new(
    knownhosts: *const c_char,
    out: *mut *mut psftp_cnopts,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `knownhosts` is NULL or a NUL-terminated
    // string; `out` is writable.
    unsafe {
        guard(|| {
            let out = arg_out(out, "out")?;
            let kh = arg_opt_str(knownhosts, "knownhosts")?;
            *out = CNOPTS.insert(Mutex::new(CnOpts::new(kh)));
            Ok(())
        })
    }
}

/// Release options. NULL is ignored; a second free is ignored too.
///
/// # Safety
/// `opts` is NULL or a handle from psftp_cnopts_new().
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_free(opts: *mut psftp_cnopts) {
    guard_void(|| {
        CNOPTS.remove(opts);
    })
}

/// pysftp `cnopts.hostkeys.load(path)`: merge another known_hosts file
/// (`~` expanded). PSFTP_E_LOCAL_IO if it cannot be read;
/// PSFTP_E_INVALID_ARG if checking was turned off with
/// psftp_cnopts_set_hostkeys(opts, NULL).
///
/// # Safety
/// `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_load(opts: *mut psftp_cnopts, path: *const c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `path` is a NUL-terminated string.
    unsafe { with_opts(opts, |o| o.load(arg_str(path, "path")?)) }
}

/// pysftp `cnopts.hostkeys = ...`: NULL turns host-key checking off (pysftp
/// `hostkeys = None`; NOT ADVISED); a path makes that file the only
/// known_hosts file.
///
/// # Safety
/// `knownhosts` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_set_hostkeys(
    opts: *mut psftp_cnopts,
    knownhosts: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `knownhosts` is NULL or a NUL-terminated
    // string.
    unsafe {
        with_opts(opts, |o| {
            o.set_hostkeys(arg_opt_str(knownhosts, "knownhosts")?);
            Ok(())
        })
    }
}

/// Trust on first use: with `accept_new`, an unknown host's key is appended
/// to the first known_hosts file (atomically, never twice) and the connect
/// goes on. A changed key is still refused. Default: off.
#[no_mangle]
pub extern "C" fn psftp_cnopts_set_accept_new(opts: *mut psftp_cnopts, accept_new: bool) -> c_int {
    with_opts(opts, |o| {
        o.unknown_host = if accept_new {
            UnknownHostPolicy::AcceptNew
        } else {
            UnknownHostPolicy::Reject
        };
        o.set_by_caller.unknown_host = true;
        Ok(())
    })
}

/// pysftp `cnopts.log`: `log` false turns logging off; true logs to `path`,
/// or to a new temporary file when `path` is NULL (see psftp_logfile()).
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_set_log(
    opts: *mut psftp_cnopts,
    log: bool,
    path: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `path` is NULL or a NUL-terminated string.
    unsafe {
        with_opts(opts, |o| {
            let path = arg_opt_str(path, "path")?;
            o.log = match (log, path) {
                (false, _) => LogTarget::Off,
                (true, None) => LogTarget::TempFile,
                (true, Some(p)) => LogTarget::File(crate::core::paths::expand_user(p)),
            };
            Ok(())
        })
    }
}

/// pysftp `cnopts.compression`: offer zlib compression. Default false.
#[no_mangle]
pub extern "C" fn psftp_cnopts_set_compression(
    opts: *mut psftp_cnopts,
    compression: bool,
) -> c_int {
    with_opts(opts, |o| {
        o.compression = compression;
        o.set_by_caller.compression = true;
        Ok(())
    })
}

/// pysftp `cnopts.ciphers`: comma-separated preference list such as
/// "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com"; NULL restores
/// the default. An unknown name is PSFTP_E_INVALID_ARG naming it.
///
/// # Safety
/// `ciphers` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_set_ciphers(
    opts: *mut psftp_cnopts,
    ciphers: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `ciphers` is NULL or a NUL-terminated
    // string.
    unsafe { with_opts(opts, |o| o.set_ciphers(arg_opt_str(ciphers, "ciphers")?)) }
}

/// Limit for TCP connect, SSH handshake and authentication, in seconds;
/// 0 waits forever. Default 30.
#[no_mangle]
pub extern "C" fn psftp_cnopts_set_connect_timeout(
    opts: *mut psftp_cnopts,
    seconds_: f64,
) -> c_int {
    with_opts(opts, |o| {
        o.connect_timeout = seconds(seconds_, "seconds")?;
        o.set_by_caller.connect_timeout = true;
        Ok(())
    })
}

/// Initial pysftp `timeout`: the longest any later blocking read or write
/// may wait, in seconds; 0 (default) waits forever. A timed-out call returns
/// PSFTP_E_TIMEOUT and the connection is unusable afterwards.
#[no_mangle]
pub extern "C" fn psftp_cnopts_set_timeout(opts: *mut psftp_cnopts, seconds_: f64) -> c_int {
    with_opts(opts, |o| {
        o.timeout = seconds(seconds_, "seconds")?;
        Ok(())
    })
}

/// The largest READ or WRITE request psftp sends, in bytes: 0 (default)
/// sends what the server accepts (limits@openssh.com, else what its
/// implementation is known to take, else the draft's 32 KiB); 32768 asks
/// what a client that knows only the draft asks, for a server that
/// misbehaves with larger requests. Between 1024 and 261120 (psftp's
/// largest request); a server's own smaller limit still wins.
#[no_mangle]
pub extern "C" fn psftp_cnopts_set_max_request_size(opts: *mut psftp_cnopts, bytes: u32) -> c_int {
    with_opts(opts, |o| o.set_max_request_size(bytes))
}

/// The stall timeout: a call whose bytes stop moving for this many seconds
/// returns PSFTP_E_TIMEOUT (the connection is unusable afterwards); a slow
/// transfer that keeps moving never does. 0 turns it off. Default 60.
/// Independent of psftp_cnopts_set_timeout (pysftp's `timeout`, off by
/// default): when both are set, the shorter applies.
#[no_mangle]
pub extern "C" fn psftp_cnopts_set_stall_timeout(opts: *mut psftp_cnopts, seconds_: f64) -> c_int {
    with_opts(opts, |o| {
        o.stall_timeout = seconds(seconds_, "seconds")?;
        Ok(())
    })
}

/// Dead-peer detection, as ssh's ServerAliveInterval: when the server has
/// sent nothing for this many seconds, send it a keepalive that asks for a
/// reply, and another every interval while it stays silent (0 = never, the
/// default). A server silent for interval x the count max
/// (psftp_cnopts_set_keepalive_count_max, default 3) is given up: the
/// blocked call, or the next one, fails with PSFTP_E_CONNECTION_LOST.
#[no_mangle]
pub extern "C" fn psftp_cnopts_set_keepalive(opts: *mut psftp_cnopts, seconds_: c_int) -> c_int {
    with_opts(opts, |o| {
        if seconds_ < 0 {
            return Err(Error::invalid_arg("seconds", "is negative"));
        }
        o.keepalive = (seconds_ > 0).then(|| Duration::from_secs(seconds_ as u64));
        o.set_by_caller.keepalive = true;
        Ok(())
    })
}

/// ssh's ServerAliveCountMax: with psftp_cnopts_set_keepalive, a server
/// that sends nothing for keepalive x `count` seconds is given up (at
/// least one keepalive goes unanswered first). 1 or more; default 3.
#[no_mangle]
pub extern "C" fn psftp_cnopts_set_keepalive_count_max(
    opts: *mut psftp_cnopts,
    count: c_int,
) -> c_int {
    with_opts(opts, |o| {
        if count < 1 {
            return Err(Error::invalid_arg("count", "must be 1 or more"));
        }
        o.keepalive_count_max = count as u32;
        o.set_by_caller.keepalive_count_max = true;
        Ok(())
    })
}

/// pysftp `CnOpts.get_hostkey(host)`: the first key known_hosts holds for
/// `host` (write "[host]:port" for a port other than 22).
/// PSFTP_E_HOSTKEY_UNKNOWN when there is none. Free the result with
/// psftp_hostkey_free().
///
/// # Safety
/// `host` is a NUL-terminated string; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_get_hostkey(
    opts: *const psftp_cnopts,
    host: *const c_char,
    out: *mut *mut psftp_hostkey,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `host` is a NUL-terminated string; `out`
    // is writable.
    unsafe {
        guard(|| {
            let o = cnopts_required(opts)?;
            let host = arg_str(host, "host")?;
            let out = arg_out(out, "out")?;
            let k = o.get_hostkey(host)?;
            let blob = base64_decode(&k.base64).unwrap_or_default();
            *out = psftp_hostkey::boxed(&ServerKey {
                key_type: k.key_type.to_string(),
                fingerprint: sha256_fingerprint(&blob),
                base64: k.base64,
            })?;
            Ok(())
        })
    }
}

/// `status` of a host-key callback: the host is not in known_hosts.
pub const PSFTP_HOSTKEY_STATUS_UNKNOWN: c_int = 1;
/// `status` of a host-key callback: known_hosts holds a different key.
pub const PSFTP_HOSTKEY_STATUS_CHANGED: c_int = 2;
/// Host-key callback answer: refuse the connection (its usual error code).
pub const PSFTP_HOSTKEY_REJECT: c_int = 0;
/// Host-key callback answer: trust the key for this connection only.
pub const PSFTP_HOSTKEY_ACCEPT: c_int = 1;
/// Host-key callback answer: trust the key and append it to the first
/// known_hosts file (for an unknown host; a changed key is only accepted).
pub const PSFTP_HOSTKEY_ACCEPT_AND_SAVE: c_int = 2;

/// Decides about a host key that known_hosts does not vouch for: `host`
/// and `port` as given to psftp_connect(), the key offered, and why
/// (PSFTP_HOSTKEY_STATUS_*). Return a PSFTP_HOSTKEY_* answer; any other
/// value rejects. Called during a psftp_connect() with these options, on
/// its thread. Options shared by connects on several threads call it from
/// each of them, but never two at once: `user_data` must be usable from
/// any thread, one call at a time.
pub type psftp_hostkey_cb = Option<
    unsafe extern "C" fn(
        host: *const c_char,
        port: c_int,
        key: *const psftp_hostkey,
        status: c_int,
        user_data: *mut c_void,
    ) -> c_int,
>;

/// Frees what a stored callback's `user_data` holds; psftp calls it once,
/// when no copy of the options needs `user_data` any more.
pub type psftp_finalizer = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The `user_data` of a stored callback and its finalizer (wasmtime's
/// ForeignData). Every copy of the options shares one, and the finalizer
/// runs when the last copy is dropped: on the thread that frees the
/// options or closes the last connection made with them.
pub(crate) struct ForeignData {
    data: *mut c_void,
    finalizer: psftp_finalizer,
}

// SAFETY: the header requires a stored callback's user_data (and its
// finalizer) to be usable from any thread; psftp never touches the
// pointer itself, it only hands it back.
unsafe impl Send for ForeignData {}
// SAFETY: as for Send; shared references only read the pointer.
unsafe impl Sync for ForeignData {}

impl ForeignData {
    pub(crate) fn new(data: *mut c_void, finalizer: psftp_finalizer) -> ForeignData {
        ForeignData { data, finalizer }
    }

    pub(crate) fn get(&self) -> *mut c_void {
        self.data
    }
}

impl Drop for ForeignData {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer.take() {
            // SAFETY: the caller gave a valid finalizer for this user_data
            // and psftp calls it exactly once (take() above), after the
            // last use of the data.
            unsafe { f(self.data) };
        }
    }
}

/// The C callback and its user_data, callable from the core.
struct HostKeyCb {
    f: unsafe extern "C" fn(
        *const c_char,
        c_int,
        *const psftp_hostkey,
        c_int,
        *mut c_void,
    ) -> c_int,
    user_data: ForeignData,
    /// Connects on several threads with the same options call the
    /// callback one at a time (re-entrant: a callback may connect).
    one_at_a_time: ReentrantMutex<()>,
}

impl HostKeyCb {
    fn decide(&self, q: &HostKeyQuery<'_>) -> HostKeyDecision {
        let c = |s: &str| c_message(s);
        let (host, kt, b64, fp) = (
            c(q.host),
            c(&q.key.key_type),
            c(&q.key.base64),
            c(&q.key.fingerprint),
        );
        let key = psftp_hostkey {
            struct_size: std::mem::size_of::<psftp_hostkey>(),
            key_type: kt.as_ptr() as *mut c_char,
            base64: b64.as_ptr() as *mut c_char,
            fingerprint: fp.as_ptr() as *mut c_char,
        };
        let status = match q.status {
            HostKeyStatus::Unknown => PSFTP_HOSTKEY_STATUS_UNKNOWN,
            HostKeyStatus::Changed => PSFTP_HOSTKEY_STATUS_CHANGED,
        };
        let _one = self.one_at_a_time.lock();
        let data = self.user_data.get();
        // SAFETY: `f` and its user_data were given together to
        // psftp_cnopts_set_hostkey_callback, whose contract makes them a
        // valid pair callable from any thread, one call at a time (the lock
        // above); host and key live until it returns.
        match unsafe { (self.f)(host.as_ptr(), q.port as c_int, &key, status, data) } {
            PSFTP_HOSTKEY_ACCEPT => HostKeyDecision::Accept,
            PSFTP_HOSTKEY_ACCEPT_AND_SAVE => HostKeyDecision::AcceptAndSave,
            _ => HostKeyDecision::Reject,
        }
    }
}

/// Let the application decide about unknown and changed host keys (instead
/// of refusing them, or of accept-new for unknown ones). NULL removes the
/// callback. Matching keys never reach it. See psftp_hostkey_cb for the
/// threads it runs on and what `user_data` must allow.
///
/// `finalizer` (may be NULL) releases `user_data`: psftp calls it exactly
/// once, when nothing needs `user_data` any more. The options and every
/// connection made with them hold the callback, so that is when the last
/// of them is freed or closed, or when the callback is replaced; also at
/// once when `callback` is NULL or this call fails. It may run on any
/// thread that frees or closes one of them.
#[no_mangle]
pub extern "C" fn psftp_cnopts_set_hostkey_callback(
    opts: *mut psftp_cnopts,
    callback: psftp_hostkey_cb,
    user_data: *mut c_void,
    finalizer: psftp_finalizer,
) -> c_int {
    // From here on psftp owns user_data: every path drops it exactly once.
    let user_data = ForeignData::new(user_data, finalizer);
    let new = callback.map(|f| {
        let cb = HostKeyCb {
            f,
            user_data,
            one_at_a_time: ReentrantMutex::new(()),
        };
        Arc::new(move |q: &HostKeyQuery<'_>| cb.decide(q)) as crate::core::cnopts::HostKeyCallback
    });
    let mut old = None;
    let rc = with_opts(opts, |o| {
        old = std::mem::replace(&mut o.hostkey_callback, new);
        Ok(())
    });
    // The replaced callback's finalizer may run here, with the options
    // unlocked, so that it may use them.
    drop(old);
    rc
}

/// Read ssh_config for this connection, as `ssh HOST` would: with `use`
/// true and `path` NULL, ~/.ssh/config then /etc/ssh/ssh_config; with a
/// `path`, that file only (as `ssh -F`; it must be readable now, else
/// PSFTP_E_LOCAL_IO); `use` false turns it off (the default, as pysftp).
///
/// The host given to psftp_connect() is then matched against Host and
/// Match blocks, and HostName, User, Port, IdentityFile, IdentitiesOnly,
/// IdentityAgent, ProxyJump, ProxyCommand, UserKnownHostsFile,
/// GlobalKnownHostsFile, StrictHostKeyChecking, ConnectTimeout,
/// ServerAliveInterval, ServerAliveCountMax, Ciphers and Compression apply;
/// other keywords are ignored. The first value obtained wins. What the
/// caller gives explicitly wins over the files: psftp_connect()'s
/// username, port (0 = the file's, else 22), password and key, and every
/// option set on these CnOpts. A malformed file makes psftp_connect() fail
/// with PSFTP_E_INVALID_ARG naming the file and line.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_set_ssh_config(
    opts: *mut psftp_cnopts,
    use_: bool,
    path: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `path` is NULL or
    // a NUL-terminated string.
    unsafe {
        with_opts(opts, |o| {
            let path = arg_opt_str(path, "path")?;
            o.set_ssh_config(match (use_, path) {
                (false, _) => SshConfigFiles::Off,
                (true, None) => SshConfigFiles::Default,
                (true, Some(p)) => SshConfigFiles::File(crate::core::paths::expand_user(p)),
            })
        })
    }
}

/// The settings a psftp_connect() to `host` with these options would use,
/// one "keyword value" line each, as `ssh -G host` prints them (host,
/// hostname, user, port, identityfile, proxyjump or proxycommand,
/// userknownhostsfile, globalknownhostsfile, stricthostkeychecking,
/// connecttimeout, serveraliveinterval, serveralivecountmax, ciphers,
/// compression), then "#" lines naming the config files read, each jump
/// host and anything ssh_config asked that psftp cannot do. For debugging
/// a configuration; nothing is sent anywhere. Free with
/// psftp_string_free(). A malformed config file is PSFTP_E_INVALID_ARG
/// naming file and line.
///
/// # Safety
/// `host` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_ssh_config_report(
    opts: *const psftp_cnopts,
    host: *const c_char,
    out: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `host` is
    // NUL-terminated; `out` is writable.
    unsafe {
        guard(|| {
            let o = cnopts_required(opts)?;
            let host = arg_str(host, "host")?;
            let out = arg_out(out, "out")?;
            *out = new_c_string(crate::core::plan::report(host, &o)?, "report")?;
            Ok(())
        })
    }
}

/// Reach the server through jump hosts, as ssh's ProxyJump / -J:
/// "[user@]host[:port],..." (IPv6 addresses in brackets), each reached
/// through a direct-tcpip channel of the one before. Each jump host's
/// key is checked like the server's (same known_hosts files and policy,
/// host-key callback), and each authenticates on its own: its ssh_config
/// block's IdentityFile keys (when ssh_config is on), else ~/.ssh/id_*
/// keys, then the connection's private key (file or memory), ssh-agent,
/// and the keyboard-interactive callback (psftp_connect_opts). The
/// password goes to the server only, never to a jump host. "none" connects
/// directly whatever ssh_config says; NULL removes the setting (ssh_config
/// decides again). Replaces a ProxyCommand set here. A malformed list is
/// PSFTP_E_INVALID_ARG naming the hop; a jump host that fails makes the
/// connect fail with a message naming it.
///
/// # Safety
/// `hops` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_set_proxy_jump(
    opts: *mut psftp_cnopts,
    hops: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `hops` is NULL or
    // a NUL-terminated string.
    unsafe { with_opts(opts, |o| o.set_proxy_jump(arg_opt_str(hops, "hops")?)) }
}

/// Reach the server through a command whose stdin and stdout carry the
/// connection, as ssh's ProxyCommand: run by /bin/sh, with %h (host), %p
/// (port), %r (user), %n (the name given), %% and %d %u %l %i expanded.
/// It runs in its own process group; psftp_close() ends and reaps it
/// (SIGTERM, then SIGKILL if it lingers). Being in a background group, it
/// cannot prompt on the terminal: a read from the terminal stops it
/// (SIGTTIN) and the connect then fails on its timeout, so give it what it
/// needs non-interactively (a key, an agent, BatchMode). What it writes on stderr goes
/// to the log, and its end into the error message when the connection
/// fails. NULL removes the setting. Replaces a jump-host list set here.
/// Messages, the log and psftp_cnopts_ssh_config_report() quote the
/// command, so keep secrets out of it (a connection's own password,
/// passphrase or key is removed from them wherever it appears; key
/// material in the command is PSFTP_E_INVALID_ARG).
///
/// # Safety
/// `command` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn psftp_cnopts_set_proxy_command(
    opts: *mut psftp_cnopts,
    command: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `command` is NULL
    // or a NUL-terminated string.
    unsafe {
        with_opts(opts, |o| {
            o.set_proxy_command(arg_opt_str(command, "command")?)
        })
    }
}
