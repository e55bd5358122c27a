//! Plain C structs returned to callers, their conversions and their free
//! functions.
//!
//! Value structs begin with `struct_size` so that they can grow without an
//! ABI break (the rule is in the header, psftp.h's top comment): psftp
//! writes a struct the caller allocated only as far as the caller's
//! `struct_size` says, and sets `struct_size` in every struct it fills.

use std::ffi::{c_char, CString};
use std::mem::size_of;

use super::{guard_void, new_c_string};
use crate::core::{DirEntry, SecurityOptions, ServerKey};
use crate::error::{Error, Result};
use crate::sftp::{Attrs, StatVfs};

/// A value struct whose first member is `size_t struct_size`.
///
/// # Safety
/// The type is #[repr(C)] and starts with a `usize` struct_size;
/// `FIRST_SIZE` is its size in the first version of the header, which no
/// later version shrinks.
pub(crate) unsafe trait SizedStruct: Copy {
    const FIRST_SIZE: usize;
    fn set_struct_size(&mut self, n: usize);
}

/// Write `value` into a struct the caller allocated, as far as the
/// caller's `struct_size` (which it set to its sizeof) reaches, and set
/// `struct_size` to the bytes written.
///
/// # Safety
/// `out` is NULL or points to a struct of at least its `struct_size`
/// bytes, writable.
pub(crate) unsafe fn write_sized<T: SizedStruct>(out: *mut T, value: T, param: &str) -> Result<()> {
    // SAFETY: the caller keeps this function's contract: `out` is NULL or points to a struct of at
    // least its `struct_size` bytes, writable.
    unsafe {
        let theirs = caller_size(out, param)?;
        let n = theirs.min(size_of::<T>());
        let mut v = value;
        v.set_struct_size(n);
        std::ptr::copy_nonoverlapping(&v as *const T as *const u8, out as *mut u8, n);
        Ok(())
    }
}

/// The `struct_size` the caller set in `out`, if it is one psftp can fill.
///
/// # Safety
/// `out` is NULL or points to a readable struct_size.
pub(crate) unsafe fn caller_size<T: SizedStruct>(out: *const T, param: &str) -> Result<usize> {
    // SAFETY: the caller keeps this function's contract: `out` is NULL or points to a readable
    // struct_size.
    unsafe {
        if out.is_null() {
            return Err(Error::invalid_arg(param, "is NULL"));
        }
        let theirs = std::ptr::read_unaligned(out as *const usize);
        if theirs < T::FIRST_SIZE {
            return Err(Error::invalid_arg(
                param,
                format!(
                    "struct_size is {theirs}: set it to the struct's sizeof ({}) before the call",
                    size_of::<T>()
                ),
            ));
        }
        Ok(theirs)
    }
}

/// write_sized for an optional out-parameter (NULL: nothing to write).
///
/// # Safety
/// As for write_sized.
pub(crate) unsafe fn write_sized_opt<T: SizedStruct>(
    out: *mut T,
    value: T,
    param: &str,
) -> Result<()> {
    // SAFETY: the caller keeps this function's contract: As for write_sized.
    unsafe {
        if out.is_null() {
            return Ok(());
        }
        write_sized(out, value, param)
    }
}

/// `psftp_attrs.flags`: size is valid.
pub const PSFTP_ATTR_SIZE: u32 = 0x1;
/// `psftp_attrs.flags`: uid and gid are valid.
pub const PSFTP_ATTR_UIDGID: u32 = 0x2;
/// `psftp_attrs.flags`: mode is valid.
pub const PSFTP_ATTR_PERMISSIONS: u32 = 0x4;
/// `psftp_attrs.flags`: atime and mtime are valid.
pub const PSFTP_ATTR_ACMODTIME: u32 = 0x8;

/// File attributes (paramiko's SFTPAttributes). A field is meaningful only
/// when its PSFTP_ATTR_* bit is set in `flags`; the server decides which it
/// sends. `mode` holds the file type and permission bits as in st_mode
/// (psftp_st_mode_to_int() gives pysftp's 644 form). Times are seconds
/// since the epoch. Set `struct_size = sizeof(psftp_attrs)` before passing
/// one to psftp to fill.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct psftp_attrs {
    /// sizeof(psftp_attrs) as the caller knows it; then the bytes psftp
    /// filled.
    pub struct_size: usize,
    pub flags: u32,
    pub size: u64,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub atime: i64,
    pub mtime: i64,
}

impl Default for psftp_attrs {
    /// Empty attributes, ready to be filled: struct_size is set.
    fn default() -> Self {
        psftp_attrs {
            struct_size: size_of::<psftp_attrs>(),
            flags: 0,
            size: 0,
            uid: 0,
            gid: 0,
            mode: 0,
            atime: 0,
            mtime: 0,
        }
    }
}

// SAFETY: repr(C), struct_size first; this is the first version.
unsafe impl SizedStruct for psftp_attrs {
    const FIRST_SIZE: usize = size_of::<psftp_attrs>();
    fn set_struct_size(&mut self, n: usize) {
        self.struct_size = n;
    }
}

impl From<&Attrs> for psftp_attrs {
    fn from(a: &Attrs) -> Self {
        let mut c = psftp_attrs::default();
        if let Some(s) = a.size {
            c.flags |= PSFTP_ATTR_SIZE;
            c.size = s;
        }
        if let Some((u, g)) = a.uid_gid {
            c.flags |= PSFTP_ATTR_UIDGID;
            c.uid = u;
            c.gid = g;
        }
        if let Some(p) = a.permissions {
            c.flags |= PSFTP_ATTR_PERMISSIONS;
            c.mode = p;
        }
        if let Some((at, mt)) = a.atime_mtime {
            c.flags |= PSFTP_ATTR_ACMODTIME;
            c.atime = at as i64;
            c.mtime = mt as i64;
        }
        c
    }
}

/// A list of strings owned by psftp; free with psftp_strarray_free().
/// `strings` has `count` entries followed by a NULL. File names are the
/// bytes the server sent, which need not be UTF-8.
#[repr(C)]
#[derive(Debug)]
pub struct psftp_strarray {
    pub strings: *mut *mut c_char,
    pub count: usize,
}

impl psftp_strarray {
    pub(crate) fn from_strings<S: AsRef<[u8]>>(items: &[S], what: &str) -> Result<psftp_strarray> {
        let mut ptrs: Vec<*mut c_char> = Vec::with_capacity(items.len() + 1);
        for s in items {
            match new_c_string(s.as_ref(), what) {
                Ok(p) => ptrs.push(p),
                Err(e) => {
                    // SAFETY: each came from new_c_string (CString::into_raw)
                    // just above and is freed once, here.
                    ptrs.into_iter()
                        .for_each(|p| drop(unsafe { CString::from_raw(p) }));
                    return Err(e);
                }
            }
        }
        let count = ptrs.len();
        ptrs.push(std::ptr::null_mut());
        let strings = Box::into_raw(ptrs.into_boxed_slice()) as *mut *mut c_char;
        Ok(psftp_strarray { strings, count })
    }

    /// Free the strings (not the struct itself).
    ///
    /// # Safety
    /// `self` was made by from_strings and not released since (the caller
    /// has not changed its pointers).
    pub(crate) unsafe fn release(&mut self) {
        if self.strings.is_null() {
            return;
        }
        // SAFETY: from_strings boxed a slice of count + 1 pointers; by this
        // function's contract it is still there and ours.
        let all = unsafe {
            Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                self.strings,
                self.count + 1,
            ))
        };
        for p in all.iter().take(self.count) {
            if !p.is_null() {
                // SAFETY: each string came from new_c_string and is freed
                // once, here.
                drop(unsafe { CString::from_raw(*p) });
            }
        }
        self.strings = std::ptr::null_mut();
        self.count = 0;
    }
}

/// Free a list returned by psftp. NULL is ignored; not twice.
///
/// # Safety
/// `list` is NULL or a list psftp returned and has not been freed.
#[no_mangle]
pub unsafe extern "C" fn psftp_strarray_free(list: *mut psftp_strarray) {
    // SAFETY: the caller keeps this function's contract: `list` is NULL or a list psftp returned
    // and has not been freed.
    unsafe {
        guard_void(|| {
            if !list.is_null() {
                let mut b = Box::from_raw(list);
                b.release();
            }
        })
    }
}

/// One entry of psftp_listdir_attr(): name (the bytes the server sent,
/// which need not be UTF-8), the server's `ls -l` style line (may be
/// empty), and attributes.
#[repr(C)]
#[derive(Debug)]
pub struct psftp_dirent {
    /// The bytes psftp filled (sizeof(psftp_dirent) of its version).
    pub struct_size: usize,
    pub filename: *mut c_char,
    pub longname: *mut c_char,
    pub attrs: psftp_attrs,
}

/// Entries sorted by filename; free with psftp_dirent_list_free().
/// `entries` holds `count` pointers (so entries can grow, see struct_size).
#[repr(C)]
#[derive(Debug)]
pub struct psftp_dirent_list {
    pub entries: *mut *mut psftp_dirent,
    pub count: usize,
}

/// A boxed slice of `count` pointers as C sees it.
pub(crate) fn pointer_array<T>(items: Vec<*mut T>) -> *mut *mut T {
    Box::into_raw(items.into_boxed_slice()) as *mut *mut T
}

/// The boxes of a pointer array made by `pointer_array`.
///
/// # Safety
/// `p` and `count` come from pointer_array, not yet taken.
pub(crate) unsafe fn take_pointer_array<T>(p: *mut *mut T, count: usize) -> Vec<Box<T>> {
    // SAFETY: the caller keeps this function's contract: `p` and `count` come from pointer_array,
    // not yet taken.
    unsafe {
        let all = Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, count));
        all.iter().map(|item| Box::from_raw(*item)).collect()
    }
}

impl psftp_dirent_list {
    pub(crate) fn from_entries(items: &[DirEntry]) -> Result<*mut psftp_dirent_list> {
        let mut out: Vec<*mut psftp_dirent> = Vec::with_capacity(items.len());
        let mut fill = || -> Result<()> {
            for e in items {
                let filename = new_c_string(&e.filename, "a file name from the server")?;
                let longname = match new_c_string(&e.longname, "a longname from the server") {
                    Ok(l) => l,
                    Err(err) => {
                        // SAFETY: `filename` came from new_c_string just
                        // above, is not kept, and is freed once, here.
                        drop(unsafe { CString::from_raw(filename) });
                        return Err(err);
                    }
                };
                out.push(Box::into_raw(Box::new(psftp_dirent {
                    struct_size: size_of::<psftp_dirent>(),
                    filename,
                    longname,
                    attrs: psftp_attrs::from(&e.attrs),
                })));
            }
            Ok(())
        };
        let filled = fill();
        let count = out.len();
        let list = psftp_dirent_list {
            entries: pointer_array(out),
            count,
        };
        let list = Box::into_raw(Box::new(list));
        if let Err(e) = filled {
            // SAFETY: `list` was boxed just above and is freed once.
            unsafe { psftp_dirent_list_free(list) };
            return Err(e);
        }
        Ok(list)
    }
}

/// Free a list returned by psftp_listdir_attr(). NULL is ignored; not twice.
///
/// # Safety
/// `list` is NULL or a list psftp returned and has not been freed.
#[no_mangle]
pub unsafe extern "C" fn psftp_dirent_list_free(list: *mut psftp_dirent_list) {
    // SAFETY: the caller keeps this function's contract: `list` is NULL or a list psftp returned
    // and has not been freed.
    unsafe {
        guard_void(|| {
            if list.is_null() {
                return;
            }
            let b = Box::from_raw(list);
            for e in take_pointer_array(b.entries, b.count) {
                drop(CString::from_raw(e.filename));
                drop(CString::from_raw(e.longname));
            }
        })
    }
}

/// A host key: type ("ssh-ed25519"), base64 blob as in known_hosts, and
/// the OpenSSH SHA256 fingerprint ("SHA256:..."). Free with
/// psftp_hostkey_free().
#[repr(C)]
#[derive(Debug)]
pub struct psftp_hostkey {
    /// The bytes psftp filled (sizeof(psftp_hostkey) of its version).
    pub struct_size: usize,
    pub key_type: *mut c_char,
    pub base64: *mut c_char,
    pub fingerprint: *mut c_char,
}

impl psftp_hostkey {
    pub(crate) fn boxed(k: &ServerKey) -> Result<*mut psftp_hostkey> {
        let hk = psftp_hostkey {
            struct_size: size_of::<psftp_hostkey>(),
            key_type: new_c_string(&k.key_type, "key type")?,
            base64: new_c_string(&k.base64, "key")?,
            fingerprint: new_c_string(&k.fingerprint, "fingerprint")?,
        };
        Ok(Box::into_raw(Box::new(hk)))
    }
}

/// Free a host key returned by psftp. NULL is ignored; not twice.
///
/// # Safety
/// `key` is NULL or a key psftp returned and has not been freed.
#[no_mangle]
pub unsafe extern "C" fn psftp_hostkey_free(key: *mut psftp_hostkey) {
    // SAFETY: the caller keeps this function's contract: `key` is NULL or a key psftp returned and
    // has not been freed.
    unsafe {
        guard_void(|| {
            if !key.is_null() {
                let b = Box::from_raw(key);
                for p in [b.key_type, b.base64, b.fingerprint] {
                    if !p.is_null() {
                        drop(CString::from_raw(p));
                    }
                }
            }
        })
    }
}

/// pysftp's security_options: what this libssh2 build can negotiate, best
/// first. Free with psftp_security_info_free().
#[repr(C)]
#[derive(Debug)]
pub struct psftp_security_info {
    /// The bytes psftp filled (sizeof(psftp_security_info) of its version).
    pub struct_size: usize,
    pub ciphers: psftp_strarray,
    pub digests: psftp_strarray,
    pub key_types: psftp_strarray,
    pub kex: psftp_strarray,
    pub compression: psftp_strarray,
}

impl psftp_security_info {
    pub(crate) fn boxed(o: &SecurityOptions) -> Result<*mut psftp_security_info> {
        let v = psftp_security_info {
            struct_size: size_of::<psftp_security_info>(),
            ciphers: psftp_strarray::from_strings(&o.ciphers, "cipher")?,
            digests: psftp_strarray::from_strings(&o.digests, "digest")?,
            key_types: psftp_strarray::from_strings(&o.key_types, "key type")?,
            kex: psftp_strarray::from_strings(&o.kex, "kex")?,
            compression: psftp_strarray::from_strings(&o.compression, "compression")?,
        };
        Ok(Box::into_raw(Box::new(v)))
    }
}

/// Free what psftp_security_options() returned. NULL is ignored; not twice.
///
/// # Safety
/// `opts` is NULL or a value psftp returned and has not been freed.
#[no_mangle]
pub unsafe extern "C" fn psftp_security_info_free(opts: *mut psftp_security_info) {
    // SAFETY: the caller keeps this function's contract: `opts` is NULL or a value psftp returned
    // and has not been freed.
    unsafe {
        guard_void(|| {
            if !opts.is_null() {
                let mut b = Box::from_raw(opts);
                for l in [
                    &mut b.ciphers,
                    &mut b.digests,
                    &mut b.key_types,
                    &mut b.kex,
                    &mut b.compression,
                ] {
                    l.release();
                }
            }
        })
    }
}

/// File-system figures from statvfs@openssh.com (as statvfs(3)). Set
/// `struct_size = sizeof(psftp_statvfs_info)` before passing one to psftp.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct psftp_statvfs_info {
    /// sizeof(psftp_statvfs_info) as the caller knows it; then the bytes
    /// psftp filled.
    pub struct_size: usize,
    pub bsize: u64,
    pub frsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub favail: u64,
    pub fsid: u64,
    pub flag: u64,
    pub namemax: u64,
}

impl Default for psftp_statvfs_info {
    /// Empty figures, ready to be filled: struct_size is set.
    fn default() -> Self {
        psftp_statvfs_info::from(&StatVfs::default())
    }
}

// SAFETY: repr(C), struct_size first; this is the first version.
unsafe impl SizedStruct for psftp_statvfs_info {
    const FIRST_SIZE: usize = size_of::<psftp_statvfs_info>();
    fn set_struct_size(&mut self, n: usize) {
        self.struct_size = n;
    }
}

impl From<&StatVfs> for psftp_statvfs_info {
    fn from(s: &StatVfs) -> Self {
        psftp_statvfs_info {
            struct_size: size_of::<psftp_statvfs_info>(),
            bsize: s.bsize,
            frsize: s.frsize,
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
            favail: s.favail,
            fsid: s.fsid,
            flag: s.flag,
            namemax: s.namemax,
        }
    }
}

/// Hand `data` to C as a library-owned byte buffer: `*data_out` and
/// `*len_out` (free with psftp_bytes_free(); never NULL, even when empty).
pub(crate) fn bytes_out(data: Vec<u8>, data_out: &mut *mut u8, len_out: &mut usize) {
    let boxed = data.into_boxed_slice();
    *len_out = boxed.len();
    *data_out = Box::into_raw(boxed) as *mut u8;
}

/// Release a byte buffer psftp returned with its length (from
/// psftp_file_read_alloc(), psftp_execute_bytes(), ...). NULL is ignored;
/// not twice.
///
/// # Safety
/// `data` is NULL or a buffer psftp returned with exactly `len` bytes and
/// has not been freed.
#[no_mangle]
pub unsafe extern "C" fn psftp_bytes_free(data: *mut u8, len: usize) {
    // SAFETY: the caller keeps this function's contract: `data` is NULL or a buffer psftp returned
    // with exactly `len` bytes and has not been freed.
    unsafe {
        guard_void(|| {
            if !data.is_null() {
                drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)));
            }
        })
    }
}
