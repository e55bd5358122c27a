//! psftp_open and psftp_file_*: pysftp `open()` and its file object.

use std::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, Mutex};

use super::conn::{conn_handle, psftp_conn, with_conn, ConnHandle};
use super::types::{bytes_out, psftp_attrs, write_sized};
use super::{arg_bytes, arg_out, arg_str, catch, guard, Registry};
use crate::core::file::RemoteFile;
use crate::error::{Error, Result};

/// `whence` of psftp_file_seek(): from the start.
pub const PSFTP_SEEK_SET: c_int = 0;
/// `whence` of psftp_file_seek(): from the current position.
pub const PSFTP_SEEK_CUR: c_int = 1;
/// `whence` of psftp_file_seek(): from the end of the file.
pub const PSFTP_SEEK_END: c_int = 2;

/// An open remote file (pysftp `open()`, paramiko SFTPFile). Binary only.
/// Close with psftp_file_close(). It uses its connection: closing the
/// connection first makes later calls fail with PSFTP_E_CONNECTION_LOST.
pub struct psftp_file {
    _private: [u8; 0],
}

pub(crate) struct FileHandle {
    conn: Arc<ConnHandle>,
    file: Mutex<RemoteFile>,
}

pub(crate) static FILES: Registry<FileHandle> = Registry::new("psftp_file", 4);

/// Look the file up, run `f`, and record failures thread-locally and on
/// the file's connection.
fn with_file(
    file: *const psftp_file,
    f: impl FnOnce(&mut RemoteFile, &crate::core::Connection) -> Result<()>,
) -> c_int {
    guard(|| {
        let h = FILES.get(file, "file")?;
        let r = h.conn.run(|| {
            catch(|| {
                let mut rf = h.file.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut rf, &h.conn.conn)
            })
        });
        if let Err(e) = &r {
            h.conn.record(e);
        }
        r
    })
}

/// pysftp `open(remote_file, mode='r', bufsize=-1)`. `mode` is a Python mode
/// ("r", "w", "a", "x", each optionally with "+", "b" allowed; always
/// binary). `bufsize` -1 buffers 1 MiB, 0 is unbuffered, 1 line-buffers
/// writes, a larger value is the buffer size. "a" writes always go to the
/// end; "x" fails with PSFTP_E_EXISTS if the file exists.
///
/// # Safety
/// Strings are NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_open(
    conn: *mut psftp_conn,
    remote_file: *const c_char,
    mode: *const c_char,
    bufsize: i64,
    out: *mut *mut psftp_file,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: Strings are NUL-terminated; `out` is
    // writable.
    unsafe {
        with_conn(conn, |c| {
            let path = arg_bytes(remote_file, "remote_file")?;
            let mode = arg_str(mode, "mode")?;
            let out = arg_out(out, "out")?;
            let rf = RemoteFile::open(c, path, mode, bufsize)?;
            *out = FILES.insert(FileHandle {
                conn: conn_handle(conn)?,
                file: Mutex::new(rf),
            });
            Ok(())
        })
    }
}

/// Read up to `size` bytes into `buf`; `*read_out` is the count, less than
/// `size` only at the end of the file (0 there).
///
/// # Safety
/// `buf` has room for `size` bytes; `read_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_file_read(
    file: *mut psftp_file,
    buf: *mut c_void,
    size: usize,
    read_out: *mut usize,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `buf` has room for `size` bytes;
    // `read_out` is writable.
    unsafe {
        with_file(file, |f, c| {
            let out = arg_out(read_out, "read_out")?;
            let buf = out_buffer(buf, size)?;
            *out = f.read(c, buf)?;
            Ok(())
        })
    }
}

/// Read a line: up to and including the next '\n', or `size` bytes, or to
/// the end of the file. `*read_out` is the byte count (0 at the end). The
/// line is not NUL-terminated (it may contain NUL bytes).
///
/// # Safety
/// `buf` has room for `size` bytes; `read_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_file_readline(
    file: *mut psftp_file,
    buf: *mut c_void,
    size: usize,
    read_out: *mut usize,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `buf` has room for `size` bytes;
    // `read_out` is writable.
    unsafe {
        with_file(file, |f, c| {
            let out = arg_out(read_out, "read_out")?;
            let buf = out_buffer(buf, size)?;
            *out = f.readline(c, buf)?;
            Ok(())
        })
    }
}

/// Read up to `max` bytes (0: everything up to the end of the file) into a
/// buffer psftp allocates as the data arrives, so read-to-end needs no
/// guess of the size. `*data_out`/`*len_out` receive it (fewer than `max`
/// bytes only at the end of the file; 0 there). Free with
/// psftp_bytes_free().
///
/// # Safety
/// `data_out` and `len_out` are writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_file_read_alloc(
    file: *mut psftp_file,
    max: usize,
    data_out: *mut *mut u8,
    len_out: *mut usize,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `data_out` and `len_out` are writable.
    unsafe {
        with_file(file, |f, c| {
            let (data_out, len_out) =
                (arg_out(data_out, "data_out")?, arg_out(len_out, "len_out")?);
            let data = f.read_to_vec(c, (max > 0).then_some(max))?;
            bytes_out(data, data_out, len_out);
            Ok(())
        })
    }
}

/// Read a line (up to and including the next '\n', or `max` bytes when
/// `max` is not 0, or to the end of the file) into a buffer psftp
/// allocates. `*len_out` is 0 at the end of the file. The line may contain
/// NUL bytes. Free with psftp_bytes_free().
///
/// # Safety
/// `data_out` and `len_out` are writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_file_readline_alloc(
    file: *mut psftp_file,
    max: usize,
    data_out: *mut *mut u8,
    len_out: *mut usize,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `data_out` and `len_out` are writable.
    unsafe {
        with_file(file, |f, c| {
            let (data_out, len_out) =
                (arg_out(data_out, "data_out")?, arg_out(len_out, "len_out")?);
            let data = f.readline_to_vec(c, (max > 0).then_some(max))?;
            bytes_out(data, data_out, len_out);
            Ok(())
        })
    }
}

/// The caller's buffer as a byte slice.
///
/// # Safety
/// `buf` is NULL or points to `size` writable bytes, unaliased for `'a`.
unsafe fn out_buffer<'a>(buf: *mut c_void, size: usize) -> Result<&'a mut [u8]> {
    if size == 0 {
        return Ok(&mut []);
    }
    if buf.is_null() {
        return Err(Error::invalid_arg("buf", "is NULL"));
    }
    // SAFETY: not NULL (checked); `size` writable, unaliased bytes as this
    // function requires.
    Ok(unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, size) })
}

/// Write all `size` bytes of `data` (buffered per `bufsize`).
///
/// # Safety
/// `data` points to `size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn psftp_file_write(
    file: *mut psftp_file,
    data: *const c_void,
    size: usize,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `data` points to `size` readable bytes.
    unsafe {
        with_file(file, |f, c| {
            if size == 0 {
                return Ok(());
            }
            if data.is_null() {
                return Err(Error::invalid_arg("data", "is NULL"));
            }
            f.write(c, std::slice::from_raw_parts(data as *const u8, size))
        })
    }
}

/// Move to `offset` from PSFTP_SEEK_SET, _CUR or _END; `*pos_out` (may be
/// NULL) receives the new position.
///
/// # Safety
/// `pos_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_file_seek(
    file: *mut psftp_file,
    offset: i64,
    whence: c_int,
    pos_out: *mut u64,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `pos_out` is NULL or writable.
    unsafe {
        with_file(file, |f, c| {
            let p = f.seek(c, offset, whence)?;
            if !pos_out.is_null() {
                *pos_out = p;
            }
            Ok(())
        })
    }
}

/// The current position.
///
/// # Safety
/// `pos_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_file_tell(file: *mut psftp_file, pos_out: *mut u64) -> c_int {
    // SAFETY: the caller keeps this function's contract: `pos_out` is writable.
    unsafe {
        with_file(file, |f, _| {
            *arg_out(pos_out, "pos_out")? = f.tell();
            Ok(())
        })
    }
}

/// The open file's attributes (after flushing buffered writes). Set
/// `out->struct_size` to sizeof(psftp_attrs) first.
///
/// # Safety
/// `out` is writable for its struct_size.
#[no_mangle]
pub unsafe extern "C" fn psftp_file_stat(file: *mut psftp_file, out: *mut psftp_attrs) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable for its struct_size.
    unsafe {
        with_file(file, |f, c| {
            write_sized(out, psftp_attrs::from(&f.stat(c)?), "out")
        })
    }
}

/// Send buffered writes to the server.
#[no_mangle]
pub extern "C" fn psftp_file_flush(file: *mut psftp_file) -> c_int {
    with_file(file, |f, c| f.flush(c))
}

/// Flush, then ask the server to write the file to stable storage
/// (fsync@openssh.com); PSFTP_E_UNSUPPORTED if it cannot.
#[no_mangle]
pub extern "C" fn psftp_file_fsync(file: *mut psftp_file) -> c_int {
    with_file(file, |f, c| f.fsync(c))
}

/// Cut or extend the file to `size` bytes.
#[no_mangle]
pub extern "C" fn psftp_file_truncate(file: *mut psftp_file, size: u64) -> c_int {
    with_file(file, |f, c| f.truncate(c, size))
}

/// Flush, close and release the file. The handle is released even when the
/// flush fails (the error is returned). NULL and an already closed handle
/// are ignored (PSFTP_OK).
#[no_mangle]
pub extern "C" fn psftp_file_close(file: *mut psftp_file) -> c_int {
    guard(|| {
        let Some(h) = FILES.remove(file) else {
            return Ok(());
        };
        let r = catch(|| {
            h.file
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .close(&h.conn.conn)
        });
        if let Err(e) = &r {
            h.conn.record(e);
        }
        r
    })
}

impl Drop for FileHandle {
    /// A file dropped without psftp_file_close() (its connection closed
    /// first) still releases its remote handle when it can.
    fn drop(&mut self) {
        let f = self.file.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = f.close(&self.conn.conn);
    }
}
