//! Remote file-system members of pysftp's Connection.

use std::ffi::{c_char, c_int, c_void};

use super::conn::{psftp_conn, with_conn};
use super::types::{
    psftp_attrs, psftp_dirent_list, psftp_statvfs_info, psftp_strarray, write_sized,
};
use super::{arg_bytes, arg_opt_bytes, arg_out, new_c_string};
use crate::core::Connection;
use crate::error::{Error, Result};

/// Body of psftp_cd(): runs with the connection in the new directory.
/// Its return value is handed back by psftp_cd().
pub type psftp_cd_cb =
    Option<unsafe extern "C" fn(conn: *mut psftp_conn, user_data: *mut c_void) -> c_int>;

/// Run `f` on the connection with the remote path argument.
///
/// # Safety
/// `path` is NULL or NUL-terminated.
unsafe fn path_op(
    conn: *mut psftp_conn,
    path: *const c_char,
    f: impl FnOnce(&Connection, &[u8]) -> Result<()>,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `path` is NULL or NUL-terminated.
    unsafe { with_conn(conn, |c| f(c, arg_bytes(path, "remotepath")?)) }
}

/// Run `f` on the connection with two remote path arguments.
///
/// # Safety
/// `src` and `dst` are NULL or NUL-terminated.
unsafe fn two_path_op(
    conn: *mut psftp_conn,
    src: *const c_char,
    dst: *const c_char,
    f: impl FnOnce(&Connection, &[u8], &[u8]) -> Result<()>,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `src` and `dst` are NULL or
    // NUL-terminated.
    unsafe {
        with_conn(conn, |c| {
            f(
                c,
                arg_bytes(src, "remote_src")?,
                arg_bytes(dst, "remote_dest")?,
            )
        })
    }
}

/// A string result for the caller.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn string_out(out: *mut *mut c_char, value: Result<Vec<u8>>) -> Result<()> {
    // SAFETY: the caller keeps this function's contract: `out` is NULL or writable.
    unsafe {
        let out = arg_out(out, "out")?;
        *out = new_c_string(&value?, "path")?;
        Ok(())
    }
}

/// A yes/no question about one remote path.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `out` is NULL or writable.
unsafe fn bool_op(
    conn: *mut psftp_conn,
    path: *const c_char,
    out: *mut bool,
    f: fn(&Connection, &[u8]) -> Result<bool>,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `path` is NULL or NUL-terminated; `out` is
    // NULL or writable.
    unsafe {
        path_op(conn, path, |c, p| {
            let out = arg_out(out, "out")?;
            *out = f(c, p)?;
            Ok(())
        })
    }
}

/// pysftp `listdir(remotepath='.')`: entry names sorted, without "." and
/// "..". Free with psftp_strarray_free().
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_listdir(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut *mut psftp_strarray,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable.
    unsafe {
        path_op(conn, remotepath, |c, p| {
            let out = arg_out(out, "out")?;
            let names = c.listdir(p)?;
            *out = Box::into_raw(Box::new(psftp_strarray::from_strings(
                &names,
                "a file name from the server",
            )?));
            Ok(())
        })
    }
}

/// pysftp `listdir_attr(remotepath='.')`: entries with attributes, sorted
/// by filename. Free with psftp_dirent_list_free().
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_listdir_attr(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut *mut psftp_dirent_list,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable.
    unsafe {
        path_op(conn, remotepath, |c, p| {
            let out = arg_out(out, "out")?;
            *out = psftp_dirent_list::from_entries(&c.listdir_attr(p)?)?;
            Ok(())
        })
    }
}

/// pysftp `stat(remotepath)`, following symlinks. Set `out->struct_size`
/// to sizeof(psftp_attrs) first.
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable for its struct_size.
#[no_mangle]
pub unsafe extern "C" fn psftp_stat(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut psftp_attrs,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable for its struct_size.
    unsafe {
        path_op(conn, remotepath, |c, p| {
            write_sized(out, psftp_attrs::from(&c.stat(p)?), "out")
        })
    }
}

/// pysftp `lstat(remotepath)`: like psftp_stat() but about the link itself.
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable for its struct_size.
#[no_mangle]
pub unsafe extern "C" fn psftp_lstat(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut psftp_attrs,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable for its struct_size.
    unsafe {
        path_op(conn, remotepath, |c, p| {
            write_sized(out, psftp_attrs::from(&c.lstat(p)?), "out")
        })
    }
}

/// pysftp `exists(remotepath)`. `*out` is false for a missing or
/// inaccessible path; only real failures (a lost connection) return an
/// error code.
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_exists(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut bool,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable.
    unsafe { bool_op(conn, remotepath, out, Connection::exists) }
}

/// pysftp `lexists(remotepath)`: like psftp_exists(), true for a broken
/// symlink.
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_lexists(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut bool,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable.
    unsafe { bool_op(conn, remotepath, out, Connection::lexists) }
}

/// pysftp `isdir(remotepath)` (follows symlinks).
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_isdir(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut bool,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable.
    unsafe { bool_op(conn, remotepath, out, Connection::isdir) }
}

/// pysftp `isfile(remotepath)`: a regular file (follows symlinks).
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_isfile(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut bool,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable.
    unsafe { bool_op(conn, remotepath, out, Connection::isfile) }
}

/// pysftp `chdir(remotepath)`: later relative paths are taken from there.
/// PSFTP_E_NOT_FOUND if it does not exist, PSFTP_E_NOT_A_DIRECTORY for a
/// file. NULL resets to the server's default directory.
///
/// # Safety
/// `remotepath` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_chdir(conn: *mut psftp_conn, remotepath: *const c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NULL or NUL-terminated.
    unsafe { with_conn(conn, |c| c.chdir(arg_opt_bytes(remotepath, "remotepath")?)) }
}

/// pysftp `cwd(remotepath)`: a synonym of psftp_chdir().
///
/// # Safety
/// `remotepath` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_cwd(conn: *mut psftp_conn, remotepath: *const c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NULL or NUL-terminated.
    unsafe { psftp_chdir(conn, remotepath) }
}

/// pysftp `with cd(remotepath):` as a scoped call: remembers the working
/// directory (as psftp_cd_push() does), changes to `remotepath` (NULL only
/// bookmarks), runs
/// `body(conn, user_data)`, and restores the directory whatever the body
/// returns. Returns the body's non-zero value, so a body can hand back a
/// psftp result code; PSFTP_OK when it returns 0. If the change of
/// directory fails, the body does not run.
///
/// # Safety
/// `remotepath` is NULL or NUL-terminated; `body` is a valid function.
#[no_mangle]
pub unsafe extern "C" fn psftp_cd(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    body: psftp_cd_cb,
    user_data: *mut c_void,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NULL or NUL-terminated;
    // `body` is a valid function.
    unsafe {
        let mut body_rc = 0;
        let rc = with_conn(conn, |c| {
            let body = body.ok_or_else(|| Error::invalid_arg("body", "is NULL"))?;
            let path = arg_opt_bytes(remotepath, "remotepath")?;
            body_rc = c.cd(path, || body(conn, user_data))?;
            Ok(())
        });
        if rc != 0 {
            rc
        } else {
            body_rc
        }
    }
}

/// pysftp `cd(remotepath)` as a push/pop pair: remember the working
/// directory and change to `remotepath` (NULL only bookmarks). Pair every
/// successful push with psftp_cd_pop(). Nothing is pushed if the change
/// fails. What is remembered is pysftp's `pwd`: before any chdir, the
/// server's default directory by its absolute name, so psftp_getcwd()
/// returns that name after the pop, as pysftp's getcwd() does.
///
/// # Safety
/// `remotepath` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_cd_push(conn: *mut psftp_conn, remotepath: *const c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NULL or NUL-terminated.
    unsafe {
        with_conn(conn, |c| {
            c.cd_push(arg_opt_bytes(remotepath, "remotepath")?)
        })
    }
}

/// Return to the directory the matching psftp_cd_push() remembered. It
/// always succeeds after a successful push, even if the connection broke
/// meanwhile.
#[no_mangle]
pub extern "C" fn psftp_cd_pop(conn: *mut psftp_conn) -> c_int {
    with_conn(conn, |c| c.cd_pop())
}

/// pysftp `getcwd()`: `*out` is NULL until the first chdir, as in pysftp.
/// Free with psftp_string_free().
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_getcwd(conn: *mut psftp_conn, out: *mut *mut c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        with_conn(conn, |c| {
            let out = arg_out(out, "out")?;
            *out = match c.getcwd()? {
                Some(p) => new_c_string(&p, "path")?,
                None => std::ptr::null_mut(),
            };
            Ok(())
        })
    }
}

/// pysftp `pwd`: the current directory as the server names it. Free with
/// psftp_string_free().
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_pwd(conn: *mut psftp_conn, out: *mut *mut c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe { with_conn(conn, |c| string_out(out, c.pwd())) }
}

/// pysftp `normalize(remotepath)`: the server's realpath of the path (the
/// absolute, canonical form), as pysftp returns it. Whether a path that
/// does not exist is an error is the server's answer (OpenSSH resolves a
/// missing last component, and answers PSFTP_E_NOT_FOUND for a missing
/// directory on the way). Free with psftp_string_free().
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_normalize(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable.
    unsafe { path_op(conn, remotepath, |c, p| string_out(out, c.normalize(p))) }
}

/// pysftp `readlink(remotelink)`: the link's target as an absolute,
/// normalized path (a relative target is resolved from the link's
/// directory). Free with psftp_string_free().
///
/// # Safety
/// `remotelink` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_readlink(
    conn: *mut psftp_conn,
    remotelink: *const c_char,
    out: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotelink` is NUL-terminated; `out` is
    // writable.
    unsafe { path_op(conn, remotelink, |c, p| string_out(out, c.readlink(p))) }
}

/// A mode argument: POSIX permission bits as chmod(2) takes them (0644,
/// 0755, with setuid 04000, setgid 02000 and sticky 01000). pysftp's
/// octal-looking integers (644) belong to the Python API only.
fn mode_arg(mode: u32) -> Result<u32> {
    if mode & !0o7777 != 0 {
        return Err(Error::invalid_arg(
            "mode",
            format!(
                "0{mode:o} is not a permission mode: 07777 at most (permission, setuid, setgid \
                 and sticky bits, written in octal as for chmod(2): 0644)"
            ),
        ));
    }
    Ok(mode)
}

/// pysftp `mkdir(remotepath, mode=777)`, with `mode` in POSIX bits as for
/// mkdir(2): 0755 is rwxr-xr-x (pysftp's default is 0777). The server
/// applies its umask. PSFTP_E_EXISTS if something is there.
///
/// # Safety
/// `remotepath` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_mkdir(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    mode: u32,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated.
    unsafe { path_op(conn, remotepath, |c, p| c.mkdir(p, mode_arg(mode)?)) }
}

/// pysftp `makedirs(remotedir, mode=777)`: create every missing level,
/// each with `mode` (POSIX bits, 0777 in pysftp). Succeeds if the directory
/// exists; PSFTP_E_EXISTS if a file is in the way.
///
/// # Safety
/// `remotedir` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_makedirs(
    conn: *mut psftp_conn,
    remotedir: *const c_char,
    mode: u32,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotedir` is NUL-terminated.
    unsafe { path_op(conn, remotedir, |c, p| c.makedirs(p, mode_arg(mode)?)) }
}

/// pysftp `rmdir(remotepath)`: remove an empty directory.
///
/// # Safety
/// `remotepath` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_rmdir(conn: *mut psftp_conn, remotepath: *const c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated.
    unsafe { path_op(conn, remotepath, |c, p| c.rmdir(p)) }
}

/// pysftp `remove(remotefile)`: delete a file (not a directory).
///
/// # Safety
/// `remotefile` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_remove(conn: *mut psftp_conn, remotefile: *const c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotefile` is NUL-terminated.
    unsafe { path_op(conn, remotefile, |c, p| c.remove(p)) }
}

/// pysftp `unlink(remotefile)`: a synonym of psftp_remove().
///
/// # Safety
/// `remotefile` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_unlink(conn: *mut psftp_conn, remotefile: *const c_char) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotefile` is NUL-terminated.
    unsafe { psftp_remove(conn, remotefile) }
}

/// pysftp `rename(remote_src, remote_dest)`: PSFTP_E_EXISTS if the
/// destination exists (SFTP v3 semantics), on every server: psftp looks at
/// the destination first, since some servers' RENAME replaces it (pkg/sftp's
/// NewServer). The check and the rename are two requests: a file another
/// client creates at the destination in between may still be replaced on
/// such a server. psftp_posix_rename() replaces.
///
/// # Safety
/// Both paths are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_rename(
    conn: *mut psftp_conn,
    remote_src: *const c_char,
    remote_dest: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Both paths are NUL-terminated.
    unsafe { two_path_op(conn, remote_src, remote_dest, |c, s, d| c.rename(s, d)) }
}

/// Rename that atomically replaces an existing destination, with
/// posix-rename@openssh.com. PSFTP_E_UNSUPPORTED if the server lacks it.
///
/// # Safety
/// Both paths are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_posix_rename(
    conn: *mut psftp_conn,
    remote_src: *const c_char,
    remote_dest: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Both paths are NUL-terminated.
    unsafe {
        two_path_op(conn, remote_src, remote_dest, |c, s, d| {
            c.posix_rename(s, d)
        })
    }
}

/// Create `remote_dest` as a hard link to `remote_src`
/// (hardlink@openssh.com). PSFTP_E_UNSUPPORTED if the server lacks it.
///
/// # Safety
/// Both paths are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_hardlink(
    conn: *mut psftp_conn,
    remote_src: *const c_char,
    remote_dest: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Both paths are NUL-terminated.
    unsafe { two_path_op(conn, remote_src, remote_dest, |c, s, d| c.hardlink(s, d)) }
}

/// pysftp `symlink(remote_src, remote_dest)`: create the link `remote_dest`
/// pointing to `remote_src` (stored as given). PSFTP_E_EXISTS if anything
/// exists at `remote_dest`.
///
/// # Safety
/// Both paths are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_symlink(
    conn: *mut psftp_conn,
    remote_src: *const c_char,
    remote_dest: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Both paths are NUL-terminated.
    unsafe { two_path_op(conn, remote_src, remote_dest, |c, s, d| c.symlink(s, d)) }
}

/// pysftp `chmod(remotepath, mode=777)`, with `mode` in POSIX bits as for
/// chmod(2): 0644 is rw-r--r--, 04755 adds setuid. Bits above 07777 are
/// PSFTP_E_INVALID_ARG.
///
/// # Safety
/// `remotepath` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_chmod(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    mode: u32,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated.
    unsafe { path_op(conn, remotepath, |c, p| c.chmod(p, mode_arg(mode)?)) }
}

fn id_arg(v: i64, param: &str) -> Result<Option<u32>> {
    match v {
        -1 => Ok(None),
        0..=0xffff_fffe => Ok(Some(v as u32)),
        _ => Err(Error::invalid_arg(
            param,
            format!("{v} is not a user or group id (or -1 to keep it)"),
        )),
    }
}

/// pysftp `chown(remotepath, uid=None, gid=None)`: -1 keeps that id (psftp
/// stats the file for it, as pysftp does).
///
/// # Safety
/// `remotepath` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_chown(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    uid: i64,
    gid: i64,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated.
    unsafe {
        path_op(conn, remotepath, |c, p| {
            c.chown(p, id_arg(uid, "uid")?, id_arg(gid, "gid")?)
        })
    }
}

/// pysftp `truncate(remotepath, size)`: `*new_size_out` (may be NULL)
/// receives the size the server reports afterwards.
///
/// # Safety
/// `remotepath` is NUL-terminated; `new_size_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_truncate(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    size: u64,
    new_size_out: *mut u64,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated;
    // `new_size_out` is NULL or writable.
    unsafe {
        path_op(conn, remotepath, |c, p| {
            let n = c.truncate(p, size)?;
            if !new_size_out.is_null() {
                *new_size_out = n;
            }
            Ok(())
        })
    }
}

/// Set access and modification times (seconds since the epoch; SFTP v3
/// carries 0 to 4294967295).
///
/// # Safety
/// `remotepath` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn psftp_utime(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    atime: i64,
    mtime: i64,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated.
    unsafe {
        path_op(conn, remotepath, |c, p| {
            let t = |v: i64, name: &str| {
                u32::try_from(v)
                    .map_err(|_| Error::invalid_arg(name, format!("{v} is outside 0..4294967295")))
            };
            c.utime(p, t(atime, "atime")?, t(mtime, "mtime")?)
        })
    }
}

/// Free-space figures of the file system holding `remotepath`
/// (statvfs@openssh.com). PSFTP_E_UNSUPPORTED if the server lacks it. Set
/// `out->struct_size` to sizeof(psftp_statvfs_info) first.
///
/// # Safety
/// `remotepath` is NUL-terminated; `out` is writable for its struct_size.
#[no_mangle]
pub unsafe extern "C" fn psftp_statvfs(
    conn: *mut psftp_conn,
    remotepath: *const c_char,
    out: *mut psftp_statvfs_info,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `remotepath` is NUL-terminated; `out` is
    // writable for its struct_size.
    unsafe {
        path_op(conn, remotepath, |c, p| {
            write_sized(out, psftp_statvfs_info::from(&c.statvfs(p)?), "out")
        })
    }
}
