//! Every request psftp sends, as a typed value: how it is encoded, and how
//! its reply is decoded, with the mapping of SFTP status codes to errors.
//! The blocking calls (`SftpChannel::call`) and the batch tasks
//! (`SftpChannel::send`, then `Request::decode` of the reply) share these,
//! so each request is built, and each reply read, in exactly one place.

use std::borrow::Cow;

use super::codec::{fxp, status, Attrs, Decoder, Encoder, NameEntry, Reply};
use super::show::show;
use crate::error::{Error, ErrorKind, Result};

/// One SFTP request and the meaning of its reply.
pub trait Request {
    /// What a successful reply decodes to (it may borrow the reply).
    type Output<'r>;
    /// The packet type.
    const KIND: u8;
    /// The operation's name in messages ("open", "stat", ...).
    const OP: &'static str;
    /// The fields after the request id.
    fn encode(&self, e: &mut Encoder<'_>);
    /// What the request is about, quoted for messages: `'path'` or
    /// `'from' to 'to'`.
    fn subject(&self) -> String;
    /// The reply's meaning: the output, or the error the status maps to.
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<Self::Output<'r>>;
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

/// The error for a non-OK status of `op` on `subject`, keeping the
/// server's text.
pub fn status_error(code: u32, message: &str, op: &str, subject: &str) -> Error {
    let text = if message.is_empty() {
        default_status_text(code)
    } else {
        message
    };
    Error::new(status_kind(code), format!("{op} {subject}: {text}")).with_sftp_status(code)
}

/// A path quoted for messages.
pub fn quoted(path: &[u8]) -> String {
    format!("'{}'", show(path))
}

fn two_paths(from: &[u8], to: &[u8]) -> String {
    format!("'{}' to '{}'", show(from), show(to))
}

fn wrong_type<R: Request + ?Sized>(req: &R) -> Error {
    Error::new(
        ErrorKind::Sftp,
        format!(
            "{} {}: the server sent a reply of the wrong type",
            R::OP,
            req.subject()
        ),
    )
}

fn failed<R: Request + ?Sized>(req: &R, code: u32, message: &str) -> Error {
    status_error(code, message, R::OP, &req.subject())
}

/// An OK status.
fn expect_ok<R: Request + ?Sized>(req: &R, reply: Reply<'_>) -> Result<()> {
    match reply {
        Reply::Status {
            code: status::OK, ..
        } => Ok(()),
        Reply::Status { code, message } => Err(failed(req, code, &message)),
        _ => Err(wrong_type(req)),
    }
}

fn expect_handle<R: Request + ?Sized>(req: &R, reply: Reply<'_>) -> Result<Vec<u8>> {
    match reply {
        Reply::Handle(h) => Ok(h.into_owned()),
        Reply::Status { code, message } => Err(failed(req, code, &message)),
        _ => Err(wrong_type(req)),
    }
}

fn expect_attrs<R: Request + ?Sized>(req: &R, reply: Reply<'_>) -> Result<Attrs> {
    match reply {
        Reply::Attrs(a) => Ok(a),
        Reply::Status { code, message } => Err(failed(req, code, &message)),
        _ => Err(wrong_type(req)),
    }
}

/// The single name of a REALPATH or READLINK reply.
fn expect_one_name<R: Request + ?Sized>(req: &R, reply: Reply<'_>) -> Result<Vec<u8>> {
    match reply {
        Reply::Name(mut names) if names.len() == 1 => Ok(names.remove(0).filename),
        Reply::Status { code, message } => Err(failed(req, code, &message)),
        _ => Err(wrong_type(req)),
    }
}

fn expect_extended<'r, R: Request + ?Sized>(req: &R, reply: Reply<'r>) -> Result<Cow<'r, [u8]>> {
    match reply {
        Reply::Extended(b) => Ok(b),
        Reply::Status { code, message } => Err(failed(req, code, &message)),
        _ => Err(wrong_type(req)),
    }
}

/// Requests whose only field is a path.
macro_rules! path_request {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $op:literal, $out:ty, $expect:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'a> {
            pub path: &'a [u8],
        }

        impl Request for $name<'_> {
            type Output<'r> = $out;
            const KIND: u8 = $kind;
            const OP: &'static str = $op;
            fn encode(&self, e: &mut Encoder<'_>) {
                e.string(self.path);
            }
            fn subject(&self) -> String {
                quoted(self.path)
            }
            fn decode<'r>(&self, reply: Reply<'r>) -> Result<$out> {
                $expect(self, reply)
            }
        }
    };
}

path_request!(
    /// SSH_FXP_STAT: attributes, following symlinks.
    Stat, fxp::STAT, "stat", Attrs, expect_attrs
);
path_request!(
    /// SSH_FXP_LSTAT: attributes of a link itself.
    Lstat, fxp::LSTAT, "lstat", Attrs, expect_attrs
);
path_request!(
    /// SSH_FXP_OPENDIR: a directory handle.
    OpenDir, fxp::OPENDIR, "opendir", Vec<u8>, expect_handle
);
path_request!(
    /// SSH_FXP_REMOVE of a file.
    Remove, fxp::REMOVE, "remove", (), expect_ok
);
path_request!(
    /// SSH_FXP_RMDIR.
    Rmdir, fxp::RMDIR, "rmdir", (), expect_ok
);
path_request!(
    /// SSH_FXP_REALPATH: the server's canonical form.
    RealPath, fxp::REALPATH, "normalize", Vec<u8>, expect_one_name
);
path_request!(
    /// SSH_FXP_READLINK: a link's target text.
    ReadLink, fxp::READLINK, "readlink", Vec<u8>, expect_one_name
);

/// Requests on an open handle; `path` only names it in messages.
macro_rules! handle_request {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $op:literal, $out:ty, $expect:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'a> {
            pub handle: &'a [u8],
            pub path: &'a [u8],
        }

        impl Request for $name<'_> {
            type Output<'r> = $out;
            const KIND: u8 = $kind;
            const OP: &'static str = $op;
            fn encode(&self, e: &mut Encoder<'_>) {
                e.string(self.handle);
            }
            fn subject(&self) -> String {
                quoted(self.path)
            }
            fn decode<'r>(&self, reply: Reply<'r>) -> Result<$out> {
                $expect(self, reply)
            }
        }
    };
}

handle_request!(
    /// SSH_FXP_FSTAT.
    Fstat, fxp::FSTAT, "fstat", Attrs, expect_attrs
);
handle_request!(
    /// SSH_FXP_CLOSE of a file or directory handle.
    Close, fxp::CLOSE, "close", (), expect_ok
);

/// SSH_FXP_OPEN.
#[derive(Debug, Clone, Copy)]
pub struct Open<'a> {
    pub path: &'a [u8],
    pub flags: u32,
    /// Attributes for a created file (its permissions, say).
    pub attrs: Attrs,
}

impl Request for Open<'_> {
    type Output<'r> = Vec<u8>;
    const KIND: u8 = fxp::OPEN;
    const OP: &'static str = "open";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(self.path).u32(self.flags).attrs(&self.attrs);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<Vec<u8>> {
        expect_handle(self, reply)
    }
}

/// SSH_FXP_READ: `Some(data)`, or None at the end of the file.
#[derive(Debug, Clone, Copy)]
pub struct Read<'a> {
    pub handle: &'a [u8],
    pub path: &'a [u8],
    pub offset: u64,
    pub len: u32,
}

impl Request for Read<'_> {
    type Output<'r> = Option<Cow<'r, [u8]>>;
    const KIND: u8 = fxp::READ;
    const OP: &'static str = "read";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(self.handle).u64(self.offset).u32(self.len);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<Option<Cow<'r, [u8]>>> {
        let bad = |what: &str| {
            Error::new(
                ErrorKind::Sftp,
                format!("read {}: the server {what}", self.subject()),
            )
        };
        match reply {
            Reply::Data(d) if d.len() > self.len as usize => {
                Err(bad("sent more data than was asked for"))
            }
            Reply::Data(d) if d.is_empty() => Err(bad("sent an empty data reply")),
            Reply::Data(d) => Ok(Some(d)),
            Reply::Status {
                code: status::EOF, ..
            } => Ok(None),
            Reply::Status { code, message } => Err(failed(self, code, &message)),
            _ => Err(wrong_type(self)),
        }
    }
}

/// SSH_FXP_WRITE of `data` (bulk uploads build their WRITEs in place with
/// `SftpChannel::queue_write`, and decode the reply with this type).
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    pub handle: &'a [u8],
    pub path: &'a [u8],
    pub offset: u64,
    pub data: &'a [u8],
}

impl Request for Write<'_> {
    type Output<'r> = ();
    const KIND: u8 = fxp::WRITE;
    const OP: &'static str = "write";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(self.handle).u64(self.offset).string(self.data);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<()> {
        expect_ok(self, reply)
    }
}

/// SSH_FXP_SETSTAT.
#[derive(Debug, Clone, Copy)]
pub struct SetStat<'a> {
    pub path: &'a [u8],
    pub attrs: Attrs,
}

impl Request for SetStat<'_> {
    type Output<'r> = ();
    const KIND: u8 = fxp::SETSTAT;
    const OP: &'static str = "setstat";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(self.path).attrs(&self.attrs);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<()> {
        expect_ok(self, reply)
    }
}

/// SSH_FXP_FSETSTAT.
#[derive(Debug, Clone, Copy)]
pub struct FSetStat<'a> {
    pub handle: &'a [u8],
    pub path: &'a [u8],
    pub attrs: Attrs,
}

impl Request for FSetStat<'_> {
    type Output<'r> = ();
    const KIND: u8 = fxp::FSETSTAT;
    const OP: &'static str = "fsetstat";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(self.handle).attrs(&self.attrs);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<()> {
        expect_ok(self, reply)
    }
}

/// SSH_FXP_READDIR: the next names, or None at the end of the directory.
#[derive(Debug, Clone, Copy)]
pub struct ReadDir<'a> {
    pub handle: &'a [u8],
    pub path: &'a [u8],
}

impl Request for ReadDir<'_> {
    type Output<'r> = Option<Vec<NameEntry>>;
    const KIND: u8 = fxp::READDIR;
    const OP: &'static str = "readdir";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(self.handle);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<Option<Vec<NameEntry>>> {
        match reply {
            Reply::Name(names) => Ok(Some(names)),
            Reply::Status {
                code: status::EOF, ..
            } => Ok(None),
            Reply::Status { code, message } => Err(failed(self, code, &message)),
            _ => Err(wrong_type(self)),
        }
    }
}

/// SSH_FXP_MKDIR.
#[derive(Debug, Clone, Copy)]
pub struct Mkdir<'a> {
    pub path: &'a [u8],
    pub attrs: Attrs,
}

impl Request for Mkdir<'_> {
    type Output<'r> = ();
    const KIND: u8 = fxp::MKDIR;
    const OP: &'static str = "mkdir";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(self.path).attrs(&self.attrs);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<()> {
        expect_ok(self, reply)
    }
}

/// SSH_FXP_RENAME (SFTP v3: fails when `to` exists).
#[derive(Debug, Clone, Copy)]
pub struct Rename<'a> {
    pub from: &'a [u8],
    pub to: &'a [u8],
}

impl Request for Rename<'_> {
    type Output<'r> = ();
    const KIND: u8 = fxp::RENAME;
    const OP: &'static str = "rename";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(self.from).string(self.to);
    }
    fn subject(&self) -> String {
        two_paths(self.from, self.to)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<()> {
        expect_ok(self, reply)
    }
}

/// The order a server reads the two paths of SSH_FXP_SYMLINK in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOrder {
    /// Target first, then the link: what OpenSSH's server (and paramiko's,
    /// pkg/sftp's, ProFTPD's) reads, against the draft.
    TargetFirst,
    /// The link first, then its target: the draft's order, which
    /// asyncssh's server follows for clients that do not say they are
    /// OpenSSH.
    LinkFirst,
}

/// SSH_FXP_SYMLINK: create `link` pointing at `target`, in `order`.
#[derive(Debug, Clone, Copy)]
pub struct Symlink<'a> {
    pub target: &'a [u8],
    pub link: &'a [u8],
    pub order: LinkOrder,
}

impl Request for Symlink<'_> {
    type Output<'r> = ();
    const KIND: u8 = fxp::SYMLINK;
    const OP: &'static str = "symlink";
    fn encode(&self, e: &mut Encoder<'_>) {
        match self.order {
            LinkOrder::TargetFirst => e.string(self.target).string(self.link),
            LinkOrder::LinkFirst => e.string(self.link).string(self.target),
        };
    }
    fn subject(&self) -> String {
        quoted(self.link)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<()> {
        expect_ok(self, reply)
    }
}

/// Extension requests (SSH_FXP_EXTENDED), by name.
pub mod ext {
    pub const POSIX_RENAME: &str = "posix-rename@openssh.com";
    pub const HARDLINK: &str = "hardlink@openssh.com";
    pub const FSYNC: &str = "fsync@openssh.com";
    pub const STATVFS: &str = "statvfs@openssh.com";
    pub const LIMITS: &str = "limits@openssh.com";
    /// Server-side digests of an open file
    /// (draft-ietf-secsh-filexfer-extensions-00).
    pub const CHECK_FILE_HANDLE: &str = "check-file-handle";
    /// The same under its earlier name (paramiko's servers).
    pub const CHECK_FILE: &str = "check-file";
}

/// check-file-handle (or `check-file`, `name`): the server's digests of
/// each `block`-byte block of the open file (0: the whole file as one),
/// with the first algorithm of `algs` it supports.
#[derive(Debug, Clone, Copy)]
pub struct CheckFile<'a> {
    pub name: &'static str,
    pub handle: &'a [u8],
    pub path: &'a [u8],
    pub algs: &'a str,
    pub block: u32,
}

impl Request for CheckFile<'_> {
    /// The algorithm's name and the digests, one after another.
    type Output<'r> = (Vec<u8>, Vec<u8>);
    const KIND: u8 = fxp::EXTENDED;
    const OP: &'static str = "check-file";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(self.name.as_bytes())
            .string(self.handle)
            .string(self.algs.as_bytes())
            .u64(0)
            .u64(0)
            .u32(self.block);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<(Vec<u8>, Vec<u8>)> {
        let body = expect_extended(self, reply)?;
        let mut d = Decoder::new(&body);
        let _ = d.string()?; // "check-file"
        let alg = d.string()?.to_vec();
        let n = d.remaining();
        let mut rest = Vec::with_capacity(n);
        for _ in 0..n {
            rest.push(d.u8()?);
        }
        Ok((alg, rest))
    }
}

/// Extension requests with two paths and an OK reply.
macro_rules! two_path_extension {
    ($(#[$doc:meta])* $name:ident, $ext:expr, $op:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'a> {
            pub from: &'a [u8],
            pub to: &'a [u8],
        }

        impl Request for $name<'_> {
            type Output<'r> = ();
            const KIND: u8 = fxp::EXTENDED;
            const OP: &'static str = $op;
            fn encode(&self, e: &mut Encoder<'_>) {
                e.string($ext.as_bytes()).string(self.from).string(self.to);
            }
            fn subject(&self) -> String {
                two_paths(self.from, self.to)
            }
            fn decode<'r>(&self, reply: Reply<'r>) -> Result<()> {
                expect_ok(self, reply)
            }
        }
    };
}

two_path_extension!(
    /// posix-rename@openssh.com: rename that replaces `to` (atomically on
    /// OpenSSH).
    PosixRename, ext::POSIX_RENAME, "posix_rename"
);
two_path_extension!(
    /// hardlink@openssh.com: `to` becomes another name of `from`.
    Hardlink, ext::HARDLINK, "hardlink"
);

/// fsync@openssh.com on an open handle.
#[derive(Debug, Clone, Copy)]
pub struct Fsync<'a> {
    pub handle: &'a [u8],
    pub path: &'a [u8],
}

impl Request for Fsync<'_> {
    type Output<'r> = ();
    const KIND: u8 = fxp::EXTENDED;
    const OP: &'static str = "fsync";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(ext::FSYNC.as_bytes()).string(self.handle);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<()> {
        expect_ok(self, reply)
    }
}

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

/// statvfs@openssh.com of the volume holding `path`.
#[derive(Debug, Clone, Copy)]
pub struct StatVfsOf<'a> {
    pub path: &'a [u8],
}

impl Request for StatVfsOf<'_> {
    type Output<'r> = StatVfs;
    const KIND: u8 = fxp::EXTENDED;
    const OP: &'static str = "statvfs";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(ext::STATVFS.as_bytes()).string(self.path);
    }
    fn subject(&self) -> String {
        quoted(self.path)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<StatVfs> {
        let body = expect_extended(self, reply)?;
        let mut d = Decoder::new(&body);
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

/// What limits@openssh.com announces (0 = no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_packet: u64,
    pub max_read: u64,
    pub max_write: u64,
}

/// limits@openssh.com.
#[derive(Debug, Clone, Copy)]
pub struct LimitsOf;

impl Request for LimitsOf {
    type Output<'r> = Limits;
    const KIND: u8 = fxp::EXTENDED;
    const OP: &'static str = "limits";
    fn encode(&self, e: &mut Encoder<'_>) {
        e.string(ext::LIMITS.as_bytes());
    }
    fn subject(&self) -> String {
        format!("'{}'", ext::LIMITS)
    }
    fn decode<'r>(&self, reply: Reply<'r>) -> Result<Limits> {
        let body = expect_extended(self, reply)?;
        let mut d = Decoder::new(&body);
        Ok(Limits {
            max_packet: d.u64()?,
            max_read: d.u64()?,
            max_write: d.u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded<R: Request>(r: &R) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf, R::KIND, Some(7));
        r.encode(&mut e);
        e.finish();
        buf
    }

    #[test]
    fn symlink_order_decides_which_path_comes_first() {
        let mk = |order| Symlink {
            target: b"t",
            link: b"l",
            order,
        };
        let tf = encoded(&mk(LinkOrder::TargetFirst));
        let lf = encoded(&mk(LinkOrder::LinkFirst));
        assert_eq!(&tf[9..], b"\0\0\0\x01t\0\0\0\x01l");
        assert_eq!(&lf[9..], b"\0\0\0\x01l\0\0\0\x01t");
    }

    #[test]
    fn replies_map_to_outputs_and_errors_naming_the_path() {
        let stat = Stat {
            path: b"/d/caf\xe9",
        };
        let e = stat
            .decode(Reply::Status {
                code: status::NO_SUCH_FILE,
                message: String::new(),
            })
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.message(), "stat '/d/caf\\xe9': no such file");
        let e = stat.decode(Reply::Handle(Cow::Borrowed(b"h"))).unwrap_err();
        assert!(e.message().contains("wrong type"), "{e}");
        let read = Read {
            handle: b"h",
            path: b"f",
            offset: 0,
            len: 4,
        };
        assert_eq!(
            read.decode(Reply::Status {
                code: status::EOF,
                message: String::new()
            })
            .unwrap(),
            None
        );
        let e = read
            .decode(Reply::Data(Cow::Borrowed(b"12345")))
            .unwrap_err();
        assert!(e.message().contains("more data than was asked"), "{e}");
        let rename = Rename {
            from: b"a",
            to: b"b",
        };
        let e = rename
            .decode(Reply::Status {
                code: status::FAILURE,
                message: "exists".into(),
            })
            .unwrap_err();
        assert_eq!(e.message(), "rename 'a' to 'b': exists");
    }
}
