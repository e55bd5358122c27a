//! pysftp's module helpers and the walks: st_mode_to_int, path_advance,
//! path_retreat, reparent, walktree (remote and local) and the local cd.

use std::ffi::{c_char, c_int, c_void, CString};

use super::conn::{psftp_conn, with_conn};
use super::types::{psftp_attrs, psftp_strarray};
use super::{arg_bytes, arg_opt_path, arg_out, arg_path, guard, new_c_string, StopValue};
use crate::core::helpers;
use crate::core::walk::{self, EntryKind, Visit, WalkFn};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::{show, Attrs};

/// Return this from a walk's directory callback to skip that directory's
/// contents. 0 continues; any other value stops the walk, which returns
/// PSFTP_E_USER with your value in psftp_last_callback_value(). From a
/// file or unknown callback PSFTP_WALK_SKIP means continue.
pub const PSFTP_WALK_SKIP: c_int = 1;

/// A walktree callback: the entry's path (the root joined with the names
/// below it) and its attributes. Both are valid during the call only.
pub type psftp_walk_cb = Option<
    unsafe extern "C" fn(
        path: *const c_char,
        attrs: *const psftp_attrs,
        user_data: *mut c_void,
    ) -> c_int,
>;

/// Body of psftp_local_cd(): its return value is handed back.
pub type psftp_local_cd_cb = Option<unsafe extern "C" fn(user_data: *mut c_void) -> c_int>;

/// pysftp `st_mode_to_int(mode)`: the permission bits as the decimal number
/// that reads like their octal form (33188 gives 644).
#[no_mangle]
pub extern "C" fn psftp_st_mode_to_int(mode: u32) -> u32 {
    helpers::st_mode_to_int(mode)
}

/// A list of strings for the caller.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn list_out(out: *mut *mut psftp_strarray, items: Result<Vec<Vec<u8>>>) -> Result<()> {
    // SAFETY: the caller keeps this function's contract: `out` is NULL or writable.
    unsafe {
        let out = arg_out(out, "out")?;
        *out = Box::into_raw(Box::new(psftp_strarray::from_strings(&items?, "path")?));
        Ok(())
    }
}

/// pysftp `path_advance(thepath)`: './pub/example/example01' gives '.',
/// './pub', './pub/example', './pub/example/example01'. Free with
/// psftp_strarray_free().
///
/// # Safety
/// `thepath` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_path_advance(
    thepath: *const c_char,
    out: *mut *mut psftp_strarray,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `thepath` is NUL-terminated; `out` is
    // writable.
    unsafe { guard(|| list_out(out, helpers::path_advance(arg_bytes(thepath, "thepath")?))) }
}

/// pysftp `path_retreat(thepath)`: the same paths, longest first.
///
/// # Safety
/// `thepath` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_path_retreat(
    thepath: *const c_char,
    out: *mut *mut psftp_strarray,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `thepath` is NUL-terminated; `out` is
    // writable.
    unsafe { guard(|| list_out(out, helpers::path_retreat(arg_bytes(thepath, "thepath")?))) }
}

/// pysftp `reparent(newparent, oldpath)`: ('backup', '/home/test/pub')
/// gives 'backup/./home/test/pub'; a Windows-rooted '\\x' becomes '.\\x'
/// under the new parent, as pysftp 0.2.9 does. Free with
/// psftp_string_free().
///
/// # Safety
/// Both strings are NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_reparent(
    newparent: *const c_char,
    oldpath: *const c_char,
    out: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Both strings are NUL-terminated; `out` is
    // writable.
    unsafe {
        guard(|| {
            let p = arg_bytes(newparent, "newparent")?;
            let o = arg_bytes(oldpath, "oldpath")?;
            let out = arg_out(out, "out")?;
            *out = new_c_string(&helpers::reparent(p, o)?, "path")?;
            Ok(())
        })
    }
}

/// Call the C callback for `kind`, turning its result into a Visit; a stop
/// is recorded in `stop`.
fn dispatch(
    cbs: [psftp_walk_cb; 3],
    user_data: *mut c_void,
    stop: &StopValue,
) -> impl FnMut(EntryKind, &[u8], &Attrs) -> Visit + '_ {
    move |kind, path, attrs| {
        let cb = match kind {
            EntryKind::File => cbs[0],
            EntryKind::Dir => cbs[1],
            EntryKind::Unknown => cbs[2],
        };
        let Some(f) = cb else {
            return Visit::Continue;
        };
        let Ok(cpath) = CString::new(path) else {
            stop.fail(Error::new(
                ErrorKind::Sftp,
                format!("walktree: the name '{}' contains a NUL byte", show(path)),
            ));
            return Visit::Stop;
        };
        let a = psftp_attrs::from(attrs);
        // SAFETY: the walk's caller gave `f` with this user_data (a valid
        // pair, by the walk functions' contract); path and attributes live
        // until it returns.
        match unsafe { f(cpath.as_ptr(), &a, user_data) } {
            0 => Visit::Continue,
            PSFTP_WALK_SKIP if kind == EntryKind::Dir => Visit::SkipSubtree,
            PSFTP_WALK_SKIP => Visit::Continue,
            v => {
                stop.stops(v.into(), true);
                Visit::Stop
            }
        }
    }
}

/// pysftp `walktree(remotepath, fcallback, dcallback, ucallback,
/// recurse=True)`: depth first, entries sorted by name, calling `fcallback`
/// for regular files, `dcallback` for directories (before their contents)
/// and `ucallback` for anything else. Any callback may be NULL. Paths are
/// POSIX paths starting with `remotepath`. Attributes come from the
/// listing, without a stat per entry. A symlink goes to the callback of
/// its target's type (broken: ucallback) with the link's own attributes
/// (S_IFLNK in mode), and is never descended into, so no walk loops.
/// Callbacks may use the connection. Without `recurse` only `remotepath`
/// itself is listed.
///
/// # Safety
/// `remotepath` is NUL-terminated; callbacks are valid functions or NULL.
#[no_mangle]
pub unsafe extern "C" fn psftp_walktree(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    fcallback: psftp_walk_cb,
    dcallback: psftp_walk_cb,
    ucallback: psftp_walk_cb,
    recurse: bool,
    user_data: *mut c_void,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; callbacks
    // are valid functions or NULL.
    unsafe {
        with_conn(conn, |c| {
            let root = arg_bytes(remotepath, "remotepath")?;
            let stop = StopValue::default();
            let mut visit = dispatch([fcallback, dcallback, ucallback], user_data, &stop);
            stop.attach(c.walktree(root, recurse, &mut visit as &mut WalkFn<'_>))
        })
    }
}

/// pysftp `walktree(localpath, ...)` (the module function): the same walk
/// over a local directory, with the same callbacks and rules.
///
/// # Safety
/// `localpath` is NUL-terminated; callbacks are valid functions or NULL.
#[no_mangle]
pub unsafe extern "C" fn psftp_local_walktree(
    localpath: *const c_char,
    fcallback: psftp_walk_cb,
    dcallback: psftp_walk_cb,
    ucallback: psftp_walk_cb,
    recurse: bool,
    user_data: *mut c_void,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `localpath` is NUL-terminated; callbacks
    // are valid functions or NULL.
    unsafe {
        guard(|| {
            let root = arg_path(localpath, "localpath")?;
            let stop = StopValue::default();
            let mut visit = dispatch([fcallback, dcallback, ucallback], user_data, &stop);
            stop.attach(walk::local_walktree(
                root,
                recurse,
                &mut visit as &mut WalkFn<'_>,
            ))
        })
    }
}

/// pysftp `cd(localpath)` (the module function) as a push: remember the
/// process's working directory and chdir(2) to `localpath` (NULL only
/// bookmarks). Process-wide, like chdir(2): it affects every thread.
///
/// # Safety
/// `localpath` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_local_cd_push(localpath: *const c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `localpath` is NULL or NUL-terminated.
    unsafe { guard(|| walk::local_cd_push(arg_opt_path(localpath, "localpath")?)) }
}

/// Return to the directory the matching psftp_local_cd_push() remembered.
#[no_mangle]
pub extern "C" fn psftp_local_cd_pop() -> c_int {
    guard(walk::local_cd_pop)
}

/// pysftp `with cd(localpath): body` for the local process: the working
/// directory is restored whatever `body` returns; its non-zero value is
/// handed back. Process-wide, like chdir(2).
///
/// # Safety
/// `localpath` is NULL or NUL-terminated; `body` is a valid function.
#[no_mangle]
pub unsafe extern "C" fn psftp_local_cd(
    localpath: *const c_char,
    body: psftp_local_cd_cb,
    user_data: *mut c_void,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `localpath` is NULL or NUL-terminated;
    // `body` is a valid function.
    unsafe {
        let mut body_rc = 0;
        let rc = guard(|| {
            let body = body.ok_or_else(|| Error::invalid_arg("body", "is NULL"))?;
            walk::local_cd_push(arg_opt_path(localpath, "localpath")?)?;
            body_rc = body(user_data);
            walk::local_cd_pop()
        });
        if rc != 0 {
            rc
        } else {
            body_rc
        }
    }
}
