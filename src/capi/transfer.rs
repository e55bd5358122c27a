//! get, put, getfo, putfo and the transfer options.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Mutex;

use super::conn::{psftp_conn, with_conn};
use super::types::{caller_size, psftp_attrs, write_sized_opt};
use super::{
    arg_bytes, arg_opt_bytes, arg_opt_path, arg_out, arg_path, arg_str, guard, guard_void,
    Registry, StopValue,
};
use crate::core::TransferOpts;
use crate::error::{Error, ErrorKind, Result};

/// Progress of one file: bytes done so far and the total (0 when unknown).
/// Return 0 to continue; any other value stops the transfer, which then
/// returns PSFTP_E_USER with your value in psftp_last_callback_value().
/// Called on the calling thread, during the call only.
pub type psftp_progress_cb = Option<
    unsafe extern "C" fn(bytes_done: u64, bytes_total: u64, user_data: *mut c_void) -> c_int,
>;

/// psftp_getfo() destination: consume `len` bytes at `data`. Return 0 to
/// continue; any other value stops with PSFTP_E_USER (the value in
/// psftp_last_callback_value()).
pub type psftp_write_cb =
    Option<unsafe extern "C" fn(data: *const u8, len: usize, user_data: *mut c_void) -> c_int>;

/// psftp_putfo() origin: fill up to `len` bytes at `buf` and return how
/// many; 0 at the end of the data; a negative value stops with
/// PSFTP_E_USER (the value in psftp_last_callback_value()).
pub type psftp_read_cb =
    Option<unsafe extern "C" fn(buf: *mut u8, len: usize, user_data: *mut c_void) -> i64>;

/// Options of a transfer call (get, put, putfo and the tree operations).
/// NULL wherever a call takes options means the defaults. A call copies
/// them, so they can be reused and changed between calls.
pub struct psftp_transfer_opts {
    _private: [u8; 0],
}

pub(crate) static XOPTS: Registry<Mutex<TransferOpts>> = Registry::new("psftp_transfer_opts", 3);

/// A copy of the options behind a handle; NULL means the defaults.
pub(crate) fn xopts_snapshot(opts: *const psftp_transfer_opts) -> Result<TransferOpts> {
    if opts.is_null() {
        return Ok(TransferOpts::default());
    }
    let h = XOPTS.get(opts, "opts")?;
    let o = h.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(o)
}

fn with_xopts(
    opts: *mut psftp_transfer_opts,
    f: impl FnOnce(&mut TransferOpts) -> Result<()>,
) -> c_int {
    guard(|| {
        let h = XOPTS.get(opts, "opts")?;
        let mut o = h.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut o)
    })
}

/// Progress of a tree operation (valid during the callback only). The
/// walk and the transfers run at once, so the totals grow while the walk
/// finds files (they never go back). Files that sync mode skips count as
/// done, their bytes too: when every file succeeded, done equals total.
#[repr(C)]
pub struct psftp_tree_progress {
    /// The bytes psftp filled (sizeof(psftp_tree_progress) of its version).
    pub struct_size: usize,
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// The file most recently started or finished (relative to the root).
    pub current_path: *const c_char,
}

/// Progress of a tree operation (the `callback` of psftp_get_r() and the
/// like): called on the calling thread when a file finishes and at least
/// every 100 ms while bytes move, during the call only. Return 0 to go on;
/// any other value stops every connection of the operation promptly, and
/// the call returns PSFTP_E_USER with your value in
/// psftp_last_callback_value(). It must not call into the connection
/// running the operation: such a call fails at once with
/// PSFTP_E_INVALID_ARG (also while other threads run operations on it);
/// other connections are fine.
pub type psftp_tree_progress_cb = Option<
    unsafe extern "C" fn(progress: *const psftp_tree_progress, user_data: *mut c_void) -> c_int,
>;

/// New options with the defaults: atomic replacement on, resume off,
/// fsync off; for tree operations 4 connections, no sync, no filters,
/// symlinks skipped, modes not copied, stop at the first error.
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_transfer_opts_new(out: *mut *mut psftp_transfer_opts) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        guard(|| {
            let out = arg_out(out, "out")?;
            *out = XOPTS.insert(Mutex::new(TransferOpts::default()));
            Ok(())
        })
    }
}

/// Release options. NULL and a second free are ignored.
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_free(opts: *mut psftp_transfer_opts) {
    guard_void(|| {
        XOPTS.remove(opts);
    })
}

/// Atomic replacement (default true): write to ".NAME.psftp.part" next to
/// the destination and rename it into place on success, so a failed
/// transfer never leaves a truncated file where a good one was. Remote
/// renames use posix-rename@openssh.com when offered (atomic), else remove
/// then rename (not atomic). An existing remote file's permission bits are
/// kept. False writes in place.
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_atomic(
    opts: *mut psftp_transfer_opts,
    atomic: bool,
) -> c_int {
    with_xopts(opts, |o| {
        o.atomic = atomic;
        Ok(())
    })
}

/// Resume (default false): continue from the ".NAME.psftp.part" file an
/// earlier atomic transfer left behind (its size must not exceed the
/// source's), like OpenSSH's reget/reput; a failed transfer keeps its part
/// file for the next try.
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_resume(
    opts: *mut psftp_transfer_opts,
    resume: bool,
) -> c_int {
    with_xopts(opts, |o| {
        o.resume = resume;
        Ok(())
    })
}

/// fsync (default false): flush the data to stable storage before the
/// rename, locally with fsync(2), remotely with fsync@openssh.com when the
/// server offers it.
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_fsync(
    opts: *mut psftp_transfer_opts,
    fsync: bool,
) -> c_int {
    with_xopts(opts, |o| {
        o.fsync = fsync;
        Ok(())
    })
}

/// Retries (default 0 = none) of get, put and the tree operations after
/// the link failed (PSFTP_E_CONNECTION_LOST or PSFTP_E_TIMEOUT, also a
/// failed reconnect): wait `delay_seconds` (default 1; doubled for each
/// further retry, at most 60 s), reconnect this connection in place (same
/// route and credentials, only the host key it verified) and go on: a
/// file continues from its part file when that provably holds the same
/// source's bytes (so retries keep part files, as resume does; a file
/// split over several connections starts over), a tree operation skips
/// the files it completed. Progress never goes back. The handle works
/// again after a successful retry (its working directory is kept);
/// psftp_last_retries() says how many happened. Nothing is retried after psftp_interrupt(), over the
/// application's socket, or after keyboard-interactive authentication
/// (no second login is possible there); `retries` is 0 to 1000.
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_retries(
    opts: *mut psftp_transfer_opts,
    retries: c_int,
    delay_seconds: f64,
) -> c_int {
    with_xopts(opts, |o| {
        let max = crate::core::options::MAX_RETRIES as c_int;
        if !(0..=max).contains(&retries) {
            return Err(Error::invalid_arg(
                "retries",
                format!("{retries} is not between 0 and {max}"),
            ));
        }
        let delay = super::cnopts::seconds(delay_seconds, "delay_seconds")?;
        o.retries = retries as u32;
        o.retry_delay = delay.unwrap_or_default();
        Ok(())
    })
}

/// How many times the last psftp_get(), psftp_put() or tree operation
/// (get_d, get_r, put_d, put_r) on this thread reconnected and went on
/// (see psftp_transfer_opts_set_retries()); 0 when it needed none. Set by
/// every such call, failed or not.
#[no_mangle]
pub extern "C" fn psftp_last_retries() -> c_int {
    crate::core::retry::last_retries() as c_int
}

/// psftp_last_retries() of the last get, put or tree operation on this
/// connection to finish, from any thread (for callers whose calls may
/// continue on another thread); 0 for a NULL or closed handle. With
/// several transfers running on the connection at once, the one that
/// finished last wins: psftp_last_retries() on the calling thread right
/// after the call is the per-call count.
#[no_mangle]
pub extern "C" fn psftp_conn_last_retries(conn: *const psftp_conn) -> c_int {
    super::conn::CONNS
        .get(conn, "conn")
        .map_or(0, |h| h.conn.last_retries() as c_int)
}

/// Wrap a C progress callback for the core; a stop is recorded in `stop`.
pub(crate) fn progress_closure(
    cb: psftp_progress_cb,
    user_data: *mut c_void,
    stop: &StopValue,
) -> Option<impl FnMut(u64, u64) -> bool + '_> {
    cb.map(|f| {
        move |done: u64, total: u64| {
            // SAFETY: the transfer's caller gave `f` with this user_data,
            // a valid pair by the transfer functions' contract; called on
            // its thread, during its call.
            let v = unsafe { f(done, total, user_data) };
            !stop.stops(v.into(), v != 0)
        }
    })
}

/// pysftp `get(remotepath, localpath=None, callback=None,
/// preserve_mtime=False)`. `localpath` NULL means the remote file's name in
/// the current local directory. `callback` (may be NULL) sees
/// (bytes_done, bytes_total, user_data). With `preserve_mtime` the local
/// file gets the remote atime and mtime. `opts` may be NULL.
///
/// # Safety
/// Strings are NULL (where allowed) or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_get(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    localpath: *const c_char,
    callback: psftp_progress_cb,
    user_data: *mut c_void,
    preserve_mtime: bool,
    opts: *const psftp_transfer_opts,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Strings are NULL (where allowed) or
    // NUL-terminated.
    unsafe {
        with_conn(conn, |c| {
            let remote = arg_bytes(remotepath, "remotepath")?;
            let local = arg_opt_path(localpath, "localpath")?;
            let opts = xopts_snapshot(opts)?;
            let stop = StopValue::default();
            let mut progress = progress_closure(callback, user_data, &stop);
            let p = progress
                .as_mut()
                .map(|f| f as &mut dyn FnMut(u64, u64) -> bool);
            stop.attach(c.get(remote, local, p, preserve_mtime, &opts))
        })
    }
}

/// pysftp `put(localpath, remotepath=None, callback=None, confirm=True,
/// preserve_mtime=False)`. `remotepath` NULL means the local file's name in
/// the remote working directory. With `confirm` the remote size is checked
/// afterwards. `*attrs_out` (may be NULL; set its struct_size first)
/// receives the remote attributes from that check (flags 0 without
/// `confirm`, as in pysftp). `opts` may be NULL.
///
/// # Safety
/// Strings are NULL (where allowed) or NUL-terminated; `attrs_out` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_put(
    conn: *mut psftp_conn,
    localpath: *const c_char,
    remotepath: *const c_char,
    callback: psftp_progress_cb,
    user_data: *mut c_void,
    confirm: bool,
    preserve_mtime: bool,
    opts: *const psftp_transfer_opts,
    attrs_out: *mut psftp_attrs,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Strings are NULL (where allowed) or
    // NUL-terminated; `attrs_out` is NULL or writable.
    unsafe {
        with_conn(conn, |c| {
            let local = arg_path(localpath, "localpath")?;
            let remote = arg_opt_bytes(remotepath, "remotepath")?;
            if !attrs_out.is_null() {
                caller_size(attrs_out, "attrs_out")?; // before the transfer, not after
            }
            let opts = xopts_snapshot(opts)?;
            let stop = StopValue::default();
            let mut progress = progress_closure(callback, user_data, &stop);
            let p = progress
                .as_mut()
                .map(|f| f as &mut dyn FnMut(u64, u64) -> bool);
            let attrs = stop.attach(c.put(local, remote, p, confirm, preserve_mtime, &opts))?;
            write_sized_opt(attrs_out, psftp_attrs::from(&attrs), "attrs_out")
        })
    }
}

/// pysftp `getfo(remotepath, flo, callback=None)`: stream a remote file to
/// `write`. `user_data` goes to both callbacks; `callback` may be NULL.
/// `*bytes_out` (may be NULL) receives the bytes written.
///
/// # Safety
/// `remotepath` is NUL-terminated; `bytes_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_getfo(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    write: psftp_write_cb,
    callback: psftp_progress_cb,
    user_data: *mut c_void,
    bytes_out: *mut u64,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated;
    // `bytes_out` is NULL or writable.
    unsafe {
        with_conn(conn, |c| {
            let remote = arg_bytes(remotepath, "remotepath")?;
            let write = write.ok_or_else(|| Error::invalid_arg("write", "is NULL"))?;
            let stop = StopValue::default();
            let mut sink = |data: &[u8]| -> Result<()> {
                let v = write(data.as_ptr(), data.len(), user_data);
                match stop.stops(v.into(), v != 0) {
                    false => Ok(()),
                    true => Err(Error::stopped_by("write")),
                }
            };
            let mut progress = progress_closure(callback, user_data, &stop);
            let p = progress
                .as_mut()
                .map(|f| f as &mut dyn FnMut(u64, u64) -> bool);
            let n = stop.attach(c.getfo(remote, &mut sink, p))?;
            if !bytes_out.is_null() {
                *bytes_out = n;
            }
            Ok(())
        })
    }
}

/// pysftp `putfo(flo, remotepath, file_size=0, callback=None,
/// confirm=True)`: upload what `read` supplies. `file_size` is only the
/// progress total (0 if unknown). `user_data` goes to both callbacks.
/// `*attrs_out` (may be NULL) as for psftp_put(). `opts` may be NULL
/// (resume does not apply).
///
/// # Safety
/// `remotepath` is NUL-terminated; `attrs_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_putfo(
    conn: *mut psftp_conn,
    read: psftp_read_cb,
    remotepath: *const c_char,
    file_size: u64,
    callback: psftp_progress_cb,
    user_data: *mut c_void,
    confirm: bool,
    opts: *const psftp_transfer_opts,
    attrs_out: *mut psftp_attrs,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated;
    // `attrs_out` is NULL or writable.
    unsafe {
        with_conn(conn, |c| {
            let read = read.ok_or_else(|| Error::invalid_arg("read", "is NULL"))?;
            let remote = arg_bytes(remotepath, "remotepath")?;
            if !attrs_out.is_null() {
                caller_size(attrs_out, "attrs_out")?; // before the transfer, not after
            }
            let opts = xopts_snapshot(opts)?;
            let stop = StopValue::default();
            let mut source = |buf: &mut [u8]| -> Result<usize> {
                let n = read(buf.as_mut_ptr(), buf.len(), user_data);
                if stop.stops(n, n < 0) {
                    return Err(Error::stopped_by("read"));
                }
                match usize::try_from(n) {
                    Ok(n) if n <= buf.len() => Ok(n),
                    _ => Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "read callback returned {n}, more than the {} bytes asked for",
                            buf.len()
                        ),
                    )),
                }
            };
            let mut progress = progress_closure(callback, user_data, &stop);
            let p = progress
                .as_mut()
                .map(|f| f as &mut dyn FnMut(u64, u64) -> bool);
            let attrs = stop.attach(c.putfo(&mut source, remote, file_size, p, confirm, &opts))?;
            write_sized_opt(attrs_out, psftp_attrs::from(&attrs), "attrs_out")
        })
    }
}

/// How many connections work at once (1 to 64, default 4): for tree
/// operations, for put of a file of 64 MiB or more when the link's round
/// trip is 5 ms or more (one connection moves at most the server's window
/// per round trip; unless this is set, put picks the number from the
/// round trip and that window, up to 16), and for get of such a file from
/// 30 ms (a download's window is psftp's own, so one connection is
/// usually fastest: unless this is set, the extra connections join only
/// if the first moves under 100 MB/s after five round trips and the rest
/// would take it more than twice their setup). The extra
/// connections use the same host, credentials and options, and trust only
/// the host key this connection verified. Set 1 to never open extra
/// connections.
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_parallelism(
    opts: *mut psftp_transfer_opts,
    connections: c_int,
) -> c_int {
    with_xopts(opts, |o| {
        let max = crate::core::options::MAX_PARALLELISM as c_int;
        if !(1..=max).contains(&connections) {
            return Err(Error::invalid_arg(
                "connections",
                format!("{connections} is not between 1 and {max}"),
            ));
        }
        o.parallelism = connections as usize;
        o.parallelism_chosen = true;
        Ok(())
    })
}

/// Tree operations: skip files whose destination already has the same
/// size and mtime (sync mode). It keeps mtimes on what it copies, as
/// preserve_mtime does, so the next run can compare them.
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_sync(
    opts: *mut psftp_transfer_opts,
    sync: bool,
) -> c_int {
    with_xopts(opts, |o| {
        o.sync = sync;
        Ok(())
    })
}

/// Tree operations: copy only files matching one of the include patterns.
/// Patterns are globs relative to the root: one without a slash ("*.c")
/// matches a name at any depth; one with a slash ("docs/{a,b}.txt")
/// matches the whole relative path, where "**" spans directory levels.
/// Invalid patterns are PSFTP_E_INVALID_ARG.
///
/// # Safety
/// `pattern` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_transfer_opts_add_include(
    opts: *mut psftp_transfer_opts,
    pattern: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `pattern` is NUL-terminated.
    unsafe {
        with_xopts(opts, |o| {
            o.filters.add_include(arg_str(pattern, "pattern")?)
        })
    }
}

/// Tree operations: leave out files and directories matching the pattern
/// (same syntax as includes; an excluded directory is not descended into).
///
/// # Safety
/// `pattern` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_transfer_opts_add_exclude(
    opts: *mut psftp_transfer_opts,
    pattern: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `pattern` is NUL-terminated.
    unsafe {
        with_xopts(opts, |o| {
            o.filters.add_exclude(arg_str(pattern, "pattern")?)
        })
    }
}

/// `policy` of psftp_transfer_opts_set_symlinks(): leave links out (default).
pub const PSFTP_SYMLINKS_SKIP: c_int = 0;
/// Copy what a link points to when that lies inside the tree; loops are
/// detected, links leading outside are left out.
pub const PSFTP_SYMLINKS_FOLLOW: c_int = 1;
/// Recreate links as links, with the same target text (after all files),
/// when the target stays inside the tree: relative, never climbing above
/// the tree's root (rsync --safe-links). Absolute and escaping links are
/// left out and logged.
pub const PSFTP_SYMLINKS_COPY: c_int = 2;
/// Recreate every link verbatim, absolute and escaping targets too.
pub const PSFTP_SYMLINKS_COPY_ALL: c_int = 3;

/// Tree operations: what to do with symbolic links (PSFTP_SYMLINKS_*).
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_symlinks(
    opts: *mut psftp_transfer_opts,
    policy: c_int,
) -> c_int {
    use crate::core::SymlinkPolicy;
    with_xopts(opts, |o| {
        o.symlinks = match policy {
            PSFTP_SYMLINKS_SKIP => SymlinkPolicy::Skip,
            PSFTP_SYMLINKS_FOLLOW => SymlinkPolicy::Follow,
            PSFTP_SYMLINKS_COPY => SymlinkPolicy::Copy,
            PSFTP_SYMLINKS_COPY_ALL => SymlinkPolicy::CopyAll,
            p => {
                return Err(Error::invalid_arg(
                    "policy",
                    format!("{p} is not a PSFTP_SYMLINKS_* value"),
                ))
            }
        };
        Ok(())
    })
}

/// Tree operations: copy permission bits of files and directories (a
/// downloaded file never gets setuid, setgid or sticky bits).
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_preserve_mode(
    opts: *mut psftp_transfer_opts,
    preserve_mode: bool,
) -> c_int {
    with_xopts(opts, |o| {
        o.preserve_mode = preserve_mode;
        Ok(())
    })
}

/// `policy` of psftp_transfer_opts_set_on_error(): stop at the first
/// failure (default).
pub const PSFTP_ON_ERROR_STOP: c_int = 0;
/// Go on after a failure and report every failed path.
pub const PSFTP_ON_ERROR_CONTINUE: c_int = 1;

/// Tree operations: what a failed entry does (PSFTP_ON_ERROR_*).
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_on_error(
    opts: *mut psftp_transfer_opts,
    policy: c_int,
) -> c_int {
    use crate::core::ErrorPolicy;
    with_xopts(opts, |o| {
        o.on_error = match policy {
            PSFTP_ON_ERROR_STOP => ErrorPolicy::Stop,
            PSFTP_ON_ERROR_CONTINUE => ErrorPolicy::Continue,
            p => {
                return Err(Error::invalid_arg(
                    "policy",
                    format!("{p} is not a PSFTP_ON_ERROR_* value"),
                ))
            }
        };
        Ok(())
    })
}

/// `mode` of psftp_transfer_opts_set_verify(): no check beyond sizes
/// (default).
pub const PSFTP_VERIFY_OFF: c_int = 0;
/// Compare digests of each file and its copy: the server's own (the
/// check-file-handle extension, or paramiko's check-file) when it offers
/// one, else SHA-256 of the file read back (it crosses the link twice).
pub const PSFTP_VERIFY_ON: c_int = 1;
/// As PSFTP_VERIFY_ON, but where the server offers no check-file the
/// remote digest comes from `sha256sum` (or `md5sum`) run on the server
/// over an exec channel when that works, so the file is read there instead
/// of sent again. Only where SFTP paths are the shell's paths (no chroot,
/// not an SFTP-only account): a failing command falls back to reading back.
pub const PSFTP_VERIFY_ALLOW_EXEC: c_int = 2;

/// Verified transfers (PSFTP_VERIFY_*): get, put and the tree operations
/// check each file against its source after its bytes moved and before it
/// is put in place. A difference fails the file with PSFTP_E_INTEGRITY,
/// and the destination keeps its old content (a get's local part file, a
/// put's remote part file, is removed).
#[no_mangle]
pub extern "C" fn psftp_transfer_opts_set_verify(
    opts: *mut psftp_transfer_opts,
    mode: c_int,
) -> c_int {
    use crate::core::Verify;
    with_xopts(opts, |o| {
        o.verify = match mode {
            PSFTP_VERIFY_OFF => Verify::Off,
            PSFTP_VERIFY_ON => Verify::On,
            PSFTP_VERIFY_ALLOW_EXEC => Verify::AllowExec,
            m => {
                return Err(Error::invalid_arg(
                    "mode",
                    format!("{m} is not a PSFTP_VERIFY_* value"),
                ))
            }
        };
        Ok(())
    })
}
