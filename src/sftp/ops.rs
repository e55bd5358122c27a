//! Single-request SFTP operations with their error mapping. Each takes the
//! already resolved remote path and names it in any error.

use super::channel::SftpChannel;
use super::codec::{fxp, open_flags, status, Attrs, Encoder, NameEntry, Reply};
use crate::error::{Error, ErrorKind, Result};

/// An open remote file or directory handle.
pub type Handle = Vec<u8>;

/// Free-space figures of statvfs@openssh.com.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatVfs {
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

/// The error kind of an SFTP status code (v3 codes plus the later drafts'
/// codes that some servers send anyway).
fn status_kind(code: u32) -> ErrorKind {
    match code {
        status::NO_SUCH_FILE | 10 => ErrorKind::NotFound,
        status::PERMISSION_DENIED | 12 => ErrorKind::PermissionDenied,
        11 => ErrorKind::Exists,
        19 => ErrorKind::NotADirectory,
        status::OP_UNSUPPORTED => ErrorKind::Unsupported,
        status::NO_CONNECTION | status::CONNECTION_LOST => ErrorKind::ConnectionLost,
        _ => ErrorKind::Sftp,
    }
}

fn default_status_text(code: u32) -> &'static str {
    match code {
        status::EOF => "end of file",
        status::NO_SUCH_FILE => "no such file",
        status::PERMISSION_DENIED => "permission denied",
        status::FAILURE => "failure",
        status::BAD_MESSAGE => "bad message",
        status::OP_UNSUPPORTED => "operation unsupported",
        _ => "error",
    }
}

/// The error for a non-OK status of `op` on `path`, keeping the server's text.
pub fn status_error(code: u32, message: &str, op: &str, path: &str) -> Error {
    let text = if message.is_empty() {
        default_status_text(code)
    } else {
        message
    };
    Error::new(status_kind(code), format!("{op} '{path}': {text}"))
}

fn unexpected(op: &str, path: &str) -> Error {
    Error::new(
        ErrorKind::Sftp,
        format!("{op} '{path}': the server sent a reply of the wrong type"),
    )
}

/// Ok for an OK status, the mapped error for any other reply.
pub fn expect_ok(reply: Reply<'_>, op: &str, path: &str) -> Result<()> {
    match reply {
        Reply::Status {
            code: status::OK, ..
        } => Ok(()),
        Reply::Status { code, message } => Err(status_error(code, &message, op, path)),
        _ => Err(unexpected(op, path)),
    }
}

fn expect_handle(reply: Reply<'_>, op: &str, path: &str) -> Result<Handle> {
    match reply {
        Reply::Handle(h) => Ok(h.into_owned()),
        Reply::Status { code, message } => Err(status_error(code, &message, op, path)),
        _ => Err(unexpected(op, path)),
    }
}

fn expect_attrs(reply: Reply<'_>, op: &str, path: &str) -> Result<Attrs> {
    match reply {
        Reply::Attrs(a) => Ok(a),
        Reply::Status { code, message } => Err(status_error(code, &message, op, path)),
        _ => Err(unexpected(op, path)),
    }
}

/// The single name of a REALPATH or READLINK reply.
fn expect_one_name(reply: Reply<'_>, op: &str, path: &str) -> Result<String> {
    match reply {
        Reply::Name(mut names) if names.len() == 1 => {
            let name = names.remove(0).filename;
            String::from_utf8(name).map_err(|_| {
                Error::new(
                    ErrorKind::Sftp,
                    format!("{op} '{path}': the server's answer is not valid UTF-8"),
                )
            })
        }
        Reply::Status { code, message } => Err(status_error(code, &message, op, path)),
        _ => Err(unexpected(op, path)),
    }
}

fn expect_extended(reply: Reply<'_>, op: &str, path: &str) -> Result<Vec<u8>> {
    match reply {
        Reply::Extended(b) => Ok(b.into_owned()),
        Reply::Status { code, message } => Err(status_error(code, &message, op, path)),
        _ => Err(unexpected(op, path)),
    }
}

/// A request whose only field is the path.
fn path_req(path: &str) -> impl FnOnce(&mut Encoder) + '_ {
    move |e| {
        e.string(path.as_bytes());
    }
}

fn unsupported(ext: &str, op: &str, path: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("{op} '{path}': the server does not offer {ext}"),
    )
}

impl SftpChannel {
    pub fn stat(&mut self, path: &str) -> Result<Attrs> {
        let r = self.call(fxp::STAT, path_req(path))?;
        expect_attrs(r, "stat", path)
    }

    pub fn lstat(&mut self, path: &str) -> Result<Attrs> {
        let r = self.call(fxp::LSTAT, path_req(path))?;
        expect_attrs(r, "lstat", path)
    }

    pub fn fstat(&mut self, handle: &[u8], path: &str) -> Result<Attrs> {
        let r = self.call(fxp::FSTAT, |e| {
            e.string(handle);
        })?;
        expect_attrs(r, "fstat", path)
    }

    pub fn setstat(&mut self, path: &str, attrs: &Attrs) -> Result<()> {
        let r = self.call(fxp::SETSTAT, |e| {
            e.string(path.as_bytes()).attrs(attrs);
        })?;
        expect_ok(r, "setstat", path)
    }

    pub fn fsetstat(&mut self, handle: &[u8], path: &str, attrs: &Attrs) -> Result<()> {
        let r = self.call(fxp::FSETSTAT, |e| {
            e.string(handle).attrs(attrs);
        })?;
        expect_ok(r, "fsetstat", path)
    }

    pub fn open_file(&mut self, path: &str, flags: u32, attrs: &Attrs) -> Result<Handle> {
        let r = self.call(fxp::OPEN, |e| {
            e.string(path.as_bytes()).u32(flags).attrs(attrs);
        })?;
        expect_handle(r, "open", path)
    }

    /// Open for reading (a convenience over `open_file`).
    pub fn open_read(&mut self, path: &str) -> Result<Handle> {
        self.open_file(path, open_flags::READ, &Attrs::default())
    }

    pub fn close_handle(&mut self, handle: &[u8], path: &str) -> Result<()> {
        let r = self.call(fxp::CLOSE, |e| {
            e.string(handle);
        })?;
        expect_ok(r, "close", path)
    }

    /// All entries of a directory, '.' and '..' included, in server order.
    pub fn read_dir(&mut self, path: &str) -> Result<Vec<NameEntry>> {
        let r = self.call(fxp::OPENDIR, path_req(path))?;
        let handle = expect_handle(r, "opendir", path)?;
        let mut entries = Vec::new();
        let result = loop {
            let r = self.call(fxp::READDIR, |e| {
                e.string(&handle);
            });
            match r {
                Ok(Reply::Name(names)) => entries.extend(names),
                Ok(Reply::Status {
                    code: status::EOF, ..
                }) => break Ok(()),
                Ok(other) => break expect_ok(other, "readdir", path),
                Err(e) => break Err(e),
            }
        };
        let closed = self.close_handle(&handle, path);
        result.and(closed)?;
        Ok(entries)
    }

    pub fn realpath(&mut self, path: &str) -> Result<String> {
        let r = self.call(fxp::REALPATH, path_req(path))?;
        expect_one_name(r, "normalize", path)
    }

    pub fn readlink(&mut self, path: &str) -> Result<String> {
        let r = self.call(fxp::READLINK, path_req(path))?;
        expect_one_name(r, "readlink", path)
    }

    pub fn mkdir(&mut self, path: &str, attrs: &Attrs) -> Result<()> {
        let r = self.call(fxp::MKDIR, |e| {
            e.string(path.as_bytes()).attrs(attrs);
        })?;
        expect_ok(r, "mkdir", path)
    }

    pub fn rmdir(&mut self, path: &str) -> Result<()> {
        let r = self.call(fxp::RMDIR, path_req(path))?;
        expect_ok(r, "rmdir", path)
    }

    pub fn remove(&mut self, path: &str) -> Result<()> {
        let r = self.call(fxp::REMOVE, path_req(path))?;
        expect_ok(r, "remove", path)
    }

    pub fn rename(&mut self, src: &str, dst: &str) -> Result<()> {
        let r = self.call(fxp::RENAME, |e| {
            e.string(src.as_bytes()).string(dst.as_bytes());
        })?;
        expect_ok(r, "rename", &format!("{src}' to '{dst}"))
    }

    /// Atomic rename that replaces `dst` (posix-rename@openssh.com).
    pub fn posix_rename(&mut self, src: &str, dst: &str) -> Result<()> {
        let what = format!("{src}' to '{dst}");
        if !self.has_extension("posix-rename@openssh.com") {
            return Err(unsupported(
                "posix-rename@openssh.com",
                "posix_rename",
                &what,
            ));
        }
        let r = self.call_extended("posix-rename@openssh.com", |e| {
            e.string(src.as_bytes()).string(dst.as_bytes());
        })?;
        expect_ok(r, "posix_rename", &what)
    }

    pub fn hardlink(&mut self, src: &str, dst: &str) -> Result<()> {
        let what = format!("{src}' to '{dst}");
        if !self.has_extension("hardlink@openssh.com") {
            return Err(unsupported("hardlink@openssh.com", "hardlink", &what));
        }
        let r = self.call_extended("hardlink@openssh.com", |e| {
            e.string(src.as_bytes()).string(dst.as_bytes());
        })?;
        expect_ok(r, "hardlink", &what)
    }

    /// Create `link` pointing at `target`. OpenSSH's server takes the two
    /// paths in the reverse of the draft's order; so do paramiko and the
    /// OpenSSH client, and so do we.
    pub fn symlink(&mut self, target: &str, link: &str) -> Result<()> {
        let r = self.call(fxp::SYMLINK, |e| {
            e.string(target.as_bytes()).string(link.as_bytes());
        })?;
        expect_ok(r, "symlink", link)
    }

    pub fn fsync(&mut self, handle: &[u8], path: &str) -> Result<()> {
        if !self.has_extension("fsync@openssh.com") {
            return Err(unsupported("fsync@openssh.com", "fsync", path));
        }
        let r = self.call_extended("fsync@openssh.com", |e| {
            e.string(handle);
        })?;
        expect_ok(r, "fsync", path)
    }

    pub fn statvfs(&mut self, path: &str) -> Result<StatVfs> {
        if !self.has_extension("statvfs@openssh.com") {
            return Err(unsupported("statvfs@openssh.com", "statvfs", path));
        }
        let r = self.call_extended("statvfs@openssh.com", |e| {
            e.string(path.as_bytes());
        })?;
        let body = expect_extended(r, "statvfs", path)?;
        let mut d = super::codec::Decoder::new(&body);
        Ok(StatVfs {
            bsize: d.u64()?,
            frsize: d.u64()?,
            blocks: d.u64()?,
            bfree: d.u64()?,
            bavail: d.u64()?,
            files: d.u64()?,
            ffree: d.u64()?,
            favail: d.u64()?,
            fsid: d.u64()?,
            flag: d.u64()?,
            namemax: d.u64()?,
        })
    }
}
