//! Plain C structs returned to callers, their conversions and their free
//! functions.

use std::ffi::{c_char, CString};

use super::{guard_void, new_c_string};
use crate::core::{DirEntry, SecurityOptions, ServerKey};
use crate::error::Result;
use crate::sftp::{Attrs, StatVfs};

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
/// since the epoch.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct psftp_attrs {
    pub flags: u32,
    pub size: u64,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub atime: i64,
    pub mtime: i64,
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
    pub(crate) unsafe fn release(&mut self) {
        if self.strings.is_null() {
            return;
        }
        let all = Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            self.strings,
            self.count + 1,
        ));
        for p in all.iter().take(self.count) {
            if !p.is_null() {
                drop(CString::from_raw(*p));
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
    guard_void(|| {
        if !list.is_null() {
            let mut b = Box::from_raw(list);
            b.release();
        }
    })
}

/// One entry of psftp_listdir_attr(): name (the bytes the server sent,
/// which need not be UTF-8), the server's `ls -l` style line (may be
/// empty), and attributes.
#[repr(C)]
#[derive(Debug)]
pub struct psftp_dirent {
    pub filename: *mut c_char,
    pub longname: *mut c_char,
    pub attrs: psftp_attrs,
}

/// Entries sorted by filename; free with psftp_dirent_list_free().
#[repr(C)]
#[derive(Debug)]
pub struct psftp_dirent_list {
    pub entries: *mut psftp_dirent,
    pub count: usize,
}

impl psftp_dirent_list {
    pub(crate) fn from_entries(items: &[DirEntry]) -> Result<*mut psftp_dirent_list> {
        let mut out: Vec<psftp_dirent> = Vec::with_capacity(items.len());
        let mut fill = || -> Result<()> {
            for e in items {
                let filename = new_c_string(&e.filename, "a file name from the server")?;
                let longname = new_c_string(&e.longname, "a longname from the server")
                    .inspect_err(|_| drop(unsafe { CString::from_raw(filename) }))?;
                out.push(psftp_dirent {
                    filename,
                    longname,
                    attrs: psftp_attrs::from(&e.attrs),
                });
            }
            Ok(())
        };
        let filled = fill();
        let count = out.len();
        let list = psftp_dirent_list {
            entries: Box::into_raw(out.into_boxed_slice()) as *mut psftp_dirent,
            count,
        };
        let list = Box::into_raw(Box::new(list));
        if let Err(e) = filled {
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
    guard_void(|| {
        if list.is_null() {
            return;
        }
        let b = Box::from_raw(list);
        let entries = Box::from_raw(std::ptr::slice_from_raw_parts_mut(b.entries, b.count));
        for e in entries.iter() {
            drop(CString::from_raw(e.filename));
            drop(CString::from_raw(e.longname));
        }
    })
}

/// A host key: type ("ssh-ed25519"), base64 blob as in known_hosts, and
/// the OpenSSH SHA256 fingerprint ("SHA256:..."). Free with
/// psftp_hostkey_free().
#[repr(C)]
#[derive(Debug)]
pub struct psftp_hostkey {
    pub key_type: *mut c_char,
    pub base64: *mut c_char,
    pub fingerprint: *mut c_char,
}

impl psftp_hostkey {
    pub(crate) fn boxed(k: &ServerKey) -> Result<*mut psftp_hostkey> {
        let hk = psftp_hostkey {
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

/// pysftp's security_options: what this libssh2 build can negotiate, best
/// first. Free with psftp_security_info_free().
#[repr(C)]
#[derive(Debug)]
pub struct psftp_security_info {
    pub ciphers: psftp_strarray,
    pub digests: psftp_strarray,
    pub key_types: psftp_strarray,
    pub kex: psftp_strarray,
    pub compression: psftp_strarray,
}

impl psftp_security_info {
    pub(crate) fn boxed(o: &SecurityOptions) -> Result<*mut psftp_security_info> {
        let v = psftp_security_info {
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

/// File-system figures from statvfs@openssh.com (as statvfs(3)).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct psftp_statvfs_info {
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

impl From<&StatVfs> for psftp_statvfs_info {
    fn from(s: &StatVfs) -> Self {
        psftp_statvfs_info {
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
    guard_void(|| {
        if !data.is_null() {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)));
        }
    })
}
