//! get_d, get_r, put_d, put_r.

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::Path;

use super::conn::{psftp_conn, with_conn};
use super::transfer::{
    psftp_transfer_opts, psftp_tree_progress, psftp_tree_progress_cb, xopts_snapshot,
};
use super::types::{pointer_array, take_pointer_array};
use super::{arg_bytes, arg_path, c_bytes, c_message, guard_void, StopValue};
use crate::core::{Connection, Failure, TreeProgress, TreeReport};
use crate::error::Result;

/// One entry a tree operation could not copy.
#[repr(C)]
pub struct psftp_failure {
    /// The bytes psftp filled (sizeof(psftp_failure) of its version).
    pub struct_size: usize,
    /// The source path of the entry.
    pub path: *mut c_char,
    /// Its PSFTP_E_* code.
    pub code: c_int,
    pub message: *mut c_char,
}

/// The entries a tree operation could not copy; free with
/// psftp_failure_list_free(). `items` holds `count` pointers (so entries
/// can grow, see struct_size).
#[repr(C)]
pub struct psftp_failure_list {
    pub items: *mut *mut psftp_failure,
    pub count: usize,
}

fn failure_list(failures: &[Failure]) -> *mut psftp_failure_list {
    let items: Vec<*mut psftp_failure> = failures
        .iter()
        .map(|f| {
            Box::into_raw(Box::new(psftp_failure {
                struct_size: std::mem::size_of::<psftp_failure>(),
                path: c_bytes(&f.path).into_raw(),
                code: f.error.kind().code(),
                message: c_message(f.error.message()).into_raw(),
            }))
        })
        .collect();
    let count = items.len();
    let items = pointer_array(items);
    Box::into_raw(Box::new(psftp_failure_list { items, count }))
}

/// Free a failure list. NULL is ignored; not twice.
///
/// # Safety
/// `list` is NULL or a list psftp returned and has not been freed.
#[no_mangle]
pub unsafe extern "C" fn psftp_failure_list_free(list: *mut psftp_failure_list) {
    // SAFETY: the caller keeps this function's contract: `list` is NULL or a list psftp returned
    // and has not been freed.
    unsafe {
        guard_void(|| {
            if list.is_null() {
                return;
            }
            let b = Box::from_raw(list);
            for f in take_pointer_array(b.items, b.count) {
                drop(CString::from_raw(f.path));
                drop(CString::from_raw(f.message));
            }
        })
    }
}

/// Which tree operation, with its pysftp arguments.
enum TreeOp<'a> {
    Get {
        remote: &'a [u8],
        local: &'a Path,
        recurse: bool,
        preserve_mtime: bool,
    },
    Put {
        local: &'a Path,
        remote: &'a [u8],
        recurse: bool,
        confirm: bool,
        preserve_mtime: bool,
    },
}

/// A C tree progress callback and its user_data.
#[derive(Clone, Copy)]
struct TreeProgressCb {
    cb: psftp_tree_progress_cb,
    user_data: *mut c_void,
}

/// Call the C progress callback with a C view of `p`; a stop is recorded
/// in `stop`.
fn call_progress(
    cb: TreeProgressCb,
    stop: &StopValue,
) -> Option<impl FnMut(&TreeProgress) -> bool + '_> {
    let f = cb.cb?;
    Some(move |p: &TreeProgress| {
        let path = c_bytes(&p.current_path);
        let view = psftp_tree_progress {
            struct_size: std::mem::size_of::<psftp_tree_progress>(),
            files_done: p.files_done,
            files_total: p.files_total,
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
            current_path: path.as_ptr(),
        };
        // SAFETY: the tree operation's caller gave `f` with this
        // user_data, a valid pair by its contract; `view` and the path it
        // points to live until it returns.
        let v = unsafe { f(&view, cb.user_data) };
        !stop.stops(v.into(), v != 0)
    })
}

/// Run a tree operation and hand its failures out.
///
/// # Safety
/// `failures_out` is NULL or writable.
unsafe fn run_tree(
    c: &Connection,
    op: TreeOp<'_>,
    progress: TreeProgressCb,
    opts: *const psftp_transfer_opts,
    failures_out: *mut *mut psftp_failure_list,
) -> Result<()> {
    let opts = xopts_snapshot(opts)?;
    let stop = StopValue::default();
    let mut progress = call_progress(progress, &stop);
    let p = progress
        .as_mut()
        .map(|f| f as &mut dyn FnMut(&TreeProgress) -> bool);
    let (report, name, root): (TreeReport, &str, Vec<u8>) = match op {
        TreeOp::Get {
            remote,
            local,
            recurse: true,
            preserve_mtime,
        } => (
            c.get_r(remote, local, preserve_mtime, &opts, p),
            "get_r",
            remote.to_vec(),
        ),
        TreeOp::Get {
            remote,
            local,
            recurse: false,
            preserve_mtime,
        } => (
            c.get_d(remote, local, preserve_mtime, &opts, p),
            "get_d",
            remote.to_vec(),
        ),
        TreeOp::Put {
            local,
            remote,
            recurse: true,
            confirm,
            preserve_mtime,
        } => (
            c.put_r(local, remote, confirm, preserve_mtime, &opts, p),
            "put_r",
            crate::core::paths::path_bytes(local).to_vec(),
        ),
        TreeOp::Put {
            local,
            remote,
            recurse: false,
            confirm,
            preserve_mtime,
        } => (
            c.put_d(local, remote, confirm, preserve_mtime, &opts, p),
            "put_d",
            crate::core::paths::path_bytes(local).to_vec(),
        ),
    };
    if !failures_out.is_null() {
        // SAFETY: not NULL (checked), and writable by this function's
        // contract.
        unsafe { *failures_out = failure_list(&report.failures) };
    }
    stop.attach(report.result(name, &root))
}

/// NULL in the failure list out-parameter, if there is one.
///
/// # Safety
/// `failures_out` is NULL or writable.
unsafe fn clear(failures_out: *mut *mut psftp_failure_list) {
    // SAFETY: the caller keeps this function's contract: `failures_out` is NULL or writable.
    unsafe {
        if !failures_out.is_null() {
            *failures_out = std::ptr::null_mut();
        }
    }
}

/// pysftp `get_d(remotedir, localdir, preserve_mtime=False)`: copy the
/// regular files directly inside `remotedir` into `localdir` (created if
/// missing). `callback` (may be NULL) gets the progress of the whole
/// operation with `user_data`; `opts` (may be NULL) adds parallelism,
/// sync, filters, symlink, mode and error policies.
///
/// `*failures_out` (may be NULL) receives the entries that failed, on
/// success (an empty list) and on failure alike — the one out-parameter
/// written on failure; it is NULL only when the arguments were invalid.
/// With PSFTP_ON_ERROR_CONTINUE the call returns the first failure's code
/// and a message counting them all.
///
/// # Safety
/// Strings are NUL-terminated; `failures_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_get_d(
    conn: *mut psftp_conn,
    remotedir: *const c_char,
    localdir: *const c_char,
    preserve_mtime: bool,
    callback: psftp_tree_progress_cb,
    user_data: *mut c_void,
    opts: *const psftp_transfer_opts,
    failures_out: *mut *mut psftp_failure_list,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Strings are NUL-terminated; `failures_out`
    // is NULL or writable.
    unsafe {
        let progress = TreeProgressCb {
            cb: callback,
            user_data,
        };
        get_tree(
            conn,
            remotedir,
            localdir,
            false,
            preserve_mtime,
            progress,
            opts,
            failures_out,
        )
    }
}

/// pysftp `get_r(remotedir, localdir, preserve_mtime=False)`: copy the
/// whole tree. As in pysftp it lands at `reparent(localdir, remotedir)`:
/// remotedir "public" goes to localdir/public, "/srv/pub" to
/// localdir/./srv/pub. Local directories are created. Names from the server
/// are checked: one with '/', NUL or a control character, "." or "..", or a
/// duplicate, is refused with PSFTP_E_UNSAFE_PATH and nothing is written
/// outside `localdir`; an existing symlink inside the destination tree is
/// never written through. See psftp_get_d() for `callback`, `opts` and
/// `failures_out`.
///
/// # Safety
/// Strings are NUL-terminated; `failures_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_get_r(
    conn: *mut psftp_conn,
    remotedir: *const c_char,
    localdir: *const c_char,
    preserve_mtime: bool,
    callback: psftp_tree_progress_cb,
    user_data: *mut c_void,
    opts: *const psftp_transfer_opts,
    failures_out: *mut *mut psftp_failure_list,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Strings are NUL-terminated; `failures_out`
    // is NULL or writable.
    unsafe {
        let progress = TreeProgressCb {
            cb: callback,
            user_data,
        };
        get_tree(
            conn,
            remotedir,
            localdir,
            true,
            preserve_mtime,
            progress,
            opts,
            failures_out,
        )
    }
}

/// get_d and get_r.
///
/// # Safety
/// As for psftp_get_r.
#[allow(clippy::too_many_arguments)]
unsafe fn get_tree(
    conn: *mut psftp_conn,
    remotedir: *const c_char,
    localdir: *const c_char,
    recurse: bool,
    preserve_mtime: bool,
    progress: TreeProgressCb,
    opts: *const psftp_transfer_opts,
    failures_out: *mut *mut psftp_failure_list,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: As for psftp_get_r.
    unsafe {
        clear(failures_out);
        with_conn(conn, |c| {
            let remote = arg_bytes(remotedir, "remotedir")?;
            let local = arg_path(localdir, "localdir")?;
            let op = TreeOp::Get {
                remote,
                local,
                recurse,
                preserve_mtime,
            };
            run_tree(c, op, progress, opts, failures_out)
        })
    }
}

/// pysftp `put_d(localpath, remotepath, confirm=True, preserve_mtime=False)`:
/// copy the regular files directly inside `localpath` into `remotepath`.
/// See psftp_get_d() for `callback`, `opts` and `failures_out`.
///
/// # Safety
/// Strings are NUL-terminated; `failures_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_put_d(
    conn: *mut psftp_conn,
    localpath: *const c_char,
    remotepath: *const c_char,
    confirm: bool,
    preserve_mtime: bool,
    callback: psftp_tree_progress_cb,
    user_data: *mut c_void,
    opts: *const psftp_transfer_opts,
    failures_out: *mut *mut psftp_failure_list,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Strings are NUL-terminated; `failures_out`
    // is NULL or writable.
    unsafe {
        let progress = TreeProgressCb {
            cb: callback,
            user_data,
        };
        put_tree(
            conn,
            localpath,
            remotepath,
            false,
            confirm,
            preserve_mtime,
            progress,
            opts,
            failures_out,
        )
    }
}

/// pysftp `put_r(localpath, remotepath, confirm=True, preserve_mtime=False)`:
/// copy the contents of `localpath`, recursively, into `remotepath`.
/// Directories are created, and existing ones are fine. See psftp_get_d()
/// for `callback`, `opts` and `failures_out`.
///
/// # Safety
/// Strings are NUL-terminated; `failures_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_put_r(
    conn: *mut psftp_conn,
    localpath: *const c_char,
    remotepath: *const c_char,
    confirm: bool,
    preserve_mtime: bool,
    callback: psftp_tree_progress_cb,
    user_data: *mut c_void,
    opts: *const psftp_transfer_opts,
    failures_out: *mut *mut psftp_failure_list,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Strings are NUL-terminated; `failures_out`
    // is NULL or writable.
    unsafe {
        let progress = TreeProgressCb {
            cb: callback,
            user_data,
        };
        put_tree(
            conn,
            localpath,
            remotepath,
            true,
            confirm,
            preserve_mtime,
            progress,
            opts,
            failures_out,
        )
    }
}

/// put_d and put_r.
///
/// # Safety
/// As for psftp_put_r.
#[allow(clippy::too_many_arguments)]
unsafe fn put_tree(
    conn: *mut psftp_conn,
    localpath: *const c_char,
    remotepath: *const c_char,
    recurse: bool,
    confirm: bool,
    preserve_mtime: bool,
    progress: TreeProgressCb,
    opts: *const psftp_transfer_opts,
    failures_out: *mut *mut psftp_failure_list,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: As for psftp_put_r.
    unsafe {
        clear(failures_out);
        with_conn(conn, |c| {
            let local = arg_path(localpath, "localpath")?;
            let remote = arg_bytes(remotepath, "remotepath")?;
            let op = TreeOp::Put {
                local,
                remote,
                recurse,
                confirm,
                preserve_mtime,
            };
            run_tree(c, op, progress, opts, failures_out)
        })
    }
}
