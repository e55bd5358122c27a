//! SFTP version 3 wire format (draft-ietf-secsh-filexfer-02 plus the
//! OpenSSH extensions): encoding of requests and strict decoding of replies.
//! Pure functions over byte slices, so a hostile server can only ever make
//! decoding fail, never read out of bounds; fuzzed in fuzz/.

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Result};

/// Packet types.
pub mod fxp {
    pub(crate) const INIT: u8 = 1;
    pub(crate) const VERSION: u8 = 2;
    pub(crate) const OPEN: u8 = 3;
    pub(crate) const CLOSE: u8 = 4;
    pub(crate) const READ: u8 = 5;
    pub(crate) const WRITE: u8 = 6;
    pub(crate) const LSTAT: u8 = 7;
    pub(crate) const FSTAT: u8 = 8;
    pub(crate) const SETSTAT: u8 = 9;
    pub(crate) const FSETSTAT: u8 = 10;
    pub(crate) const OPENDIR: u8 = 11;
    pub(crate) const READDIR: u8 = 12;
    pub(crate) const REMOVE: u8 = 13;
    pub(crate) const MKDIR: u8 = 14;
    pub(crate) const RMDIR: u8 = 15;
    pub(crate) const REALPATH: u8 = 16;
    pub(crate) const STAT: u8 = 17;
    pub(crate) const RENAME: u8 = 18;
    pub(crate) const READLINK: u8 = 19;
    pub(crate) const SYMLINK: u8 = 20;
    pub(crate) const STATUS: u8 = 101;
    pub(crate) const HANDLE: u8 = 102;
    pub(crate) const DATA: u8 = 103;
    pub(crate) const NAME: u8 = 104;
    pub(crate) const ATTRS: u8 = 105;
    pub(crate) const EXTENDED: u8 = 200;
    pub(crate) const EXTENDED_REPLY: u8 = 201;
}

/// Status codes of SSH_FXP_STATUS.
pub mod status {
    pub(crate) const OK: u32 = 0;
    pub(crate) const EOF: u32 = 1;
    pub(crate) const NO_SUCH_FILE: u32 = 2;
    pub(crate) const PERMISSION_DENIED: u32 = 3;
    pub(crate) const FAILURE: u32 = 4;
    pub(crate) const BAD_MESSAGE: u32 = 5;
    pub(crate) const NO_CONNECTION: u32 = 6;
    pub(crate) const CONNECTION_LOST: u32 = 7;
    pub(crate) const OP_UNSUPPORTED: u32 = 8;
}

/// Flags of SSH_FXP_OPEN.
pub mod open_flags {
    pub(crate) const READ: u32 = 0x01;
    pub(crate) const WRITE: u32 = 0x02;
    pub(crate) const APPEND: u32 = 0x04;
    pub(crate) const CREAT: u32 = 0x08;
    pub(crate) const TRUNC: u32 = 0x10;
    pub(crate) const EXCL: u32 = 0x20;
}

mod attr_flags {
    pub(crate) const SIZE: u32 = 0x01;
    pub(crate) const UIDGID: u32 = 0x02;
    pub(crate) const PERMISSIONS: u32 = 0x04;
    pub(crate) const ACMODTIME: u32 = 0x08;
    pub(crate) const EXTENDED: u32 = 0x8000_0000;
}

/// The largest packet we accept from a server. OpenSSH never sends more
/// than 256 KiB; the bound keeps a lying length field from costing memory.
pub(crate) const MAX_PACKET: usize = 4 * 1024 * 1024;

/// File attributes as SFTP v3 carries them: each group may be absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    pub size: Option<u64>,
    pub uid_gid: Option<(u32, u32)>,
    pub permissions: Option<u32>,
    pub atime_mtime: Option<(u32, u32)>,
}

/// POSIX file-type bits of `permissions`.
pub(crate) const S_IFMT: u32 = 0o170000;
pub(crate) const S_IFDIR: u32 = 0o040000;
pub(crate) const S_IFREG: u32 = 0o100000;
pub(crate) const S_IFLNK: u32 = 0o120000;

impl Attrs {
    fn file_type(&self) -> Option<u32> {
        self.permissions.map(|p| p & S_IFMT)
    }
    pub fn is_dir(&self) -> bool {
        self.file_type() == Some(S_IFDIR)
    }
    pub fn is_file(&self) -> bool {
        self.file_type() == Some(S_IFREG)
    }
    pub fn is_symlink(&self) -> bool {
        self.file_type() == Some(S_IFLNK)
    }
    pub fn mtime(&self) -> Option<u32> {
        self.atime_mtime.map(|(_, m)| m)
    }
}

/// One entry of an SSH_FXP_NAME reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    pub filename: Vec<u8>,
    pub longname: Vec<u8>,
    pub attrs: Attrs,
}

/// A decoded reply. Borrowed parts point into the receive buffer until
/// `into_owned` copies them.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    Status { code: u32, message: String },
    Handle(Cow<'a, [u8]>),
    Data(Cow<'a, [u8]>),
    Name(Vec<NameEntry>),
    Attrs(Attrs),
    Extended(Cow<'a, [u8]>),
}

impl Reply<'_> {
    /// A copy that no longer borrows the channel's buffer.
    pub fn into_owned(self) -> Reply<'static> {
        let own = |c: Cow<'_, [u8]>| Cow::Owned(c.into_owned());
        match self {
            Reply::Status { code, message } => Reply::Status { code, message },
            Reply::Handle(h) => Reply::Handle(own(h)),
            Reply::Data(d) => Reply::Data(own(d)),
            Reply::Name(n) => Reply::Name(n),
            Reply::Attrs(a) => Reply::Attrs(a),
            Reply::Extended(b) => Reply::Extended(own(b)),
        }
    }
}

fn malformed(what: &str) -> Error {
    Error::new(
        ErrorKind::Sftp,
        format!("malformed SFTP reply from server: {what}"),
    )
}

/// A bounds-checked reader over one packet.
pub struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(data: &'a [u8]) -> Decoder<'a> {
        Decoder { data, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(malformed("truncated packet"));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub fn string(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    pub fn attrs(&mut self) -> Result<Attrs> {
        let flags = self.u32()?;
        let mut a = Attrs::default();
        if flags & attr_flags::SIZE != 0 {
            a.size = Some(self.u64()?);
        }
        if flags & attr_flags::UIDGID != 0 {
            a.uid_gid = Some((self.u32()?, self.u32()?));
        }
        if flags & attr_flags::PERMISSIONS != 0 {
            a.permissions = Some(self.u32()?);
        }
        if flags & attr_flags::ACMODTIME != 0 {
            a.atime_mtime = Some((self.u32()?, self.u32()?));
        }
        if flags & attr_flags::EXTENDED != 0 {
            let count = self.u32()?;
            for _ in 0..count {
                self.string()?;
                self.string()?;
            }
        }
        Ok(a)
    }
}

/// Decode one reply packet body (type byte, request id, payload).
pub fn decode_reply(packet: &[u8]) -> Result<(u32, Reply<'_>)> {
    let mut d = Decoder::new(packet);
    let kind = d.u8()?;
    let id = d.u32()?;
    let reply = match kind {
        fxp::STATUS => {
            let code = d.u32()?;
            // The message and language tag are optional in some old servers.
            let message = if d.remaining() >= 4 {
                String::from_utf8_lossy(d.string()?).into_owned()
            } else {
                String::new()
            };
            Reply::Status { code, message }
        }
        fxp::HANDLE => Reply::Handle(Cow::Borrowed(d.string()?)),
        fxp::DATA => Reply::Data(Cow::Borrowed(d.string()?)),
        fxp::NAME => {
            let count = d.u32()? as usize;
            // Each entry needs at least 12 bytes: refuse counts the packet
            // cannot hold before allocating for them.
            if count > d.remaining() / 12 {
                return Err(malformed("name count larger than the packet"));
            }
            let mut entries = Vec::with_capacity(count);
            for _ in 0..count {
                let filename = d.string()?.to_vec();
                let longname = d.string()?.to_vec();
                let attrs = d.attrs()?;
                entries.push(NameEntry {
                    filename,
                    longname,
                    attrs,
                });
            }
            Reply::Name(entries)
        }
        fxp::ATTRS => Reply::Attrs(d.attrs()?),
        fxp::EXTENDED_REPLY => Reply::Extended(Cow::Borrowed(&packet[5..])),
        other => return Err(malformed(&format!("unexpected packet type {other}"))),
    };
    Ok((id, reply))
}

/// Decode the server's SSH_FXP_VERSION: the version and its extensions.
/// Extension names and data announced in SSH_FXP_VERSION.
pub type Extensions = Vec<(String, Vec<u8>)>;

pub fn decode_version(packet: &[u8]) -> Result<(u32, Extensions)> {
    let mut d = Decoder::new(packet);
    if d.u8()? != fxp::VERSION {
        return Err(malformed("expected SSH_FXP_VERSION"));
    }
    let version = d.u32()?;
    let mut extensions = Vec::new();
    while d.remaining() > 0 {
        let name = String::from_utf8_lossy(d.string()?).into_owned();
        let data = d.string()?.to_vec();
        extensions.push((name, data));
    }
    Ok((version, extensions))
}

/// Builds one request packet at the end of a send buffer.
pub struct Encoder<'a> {
    buf: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Encoder<'a> {
    /// Start a packet of `kind` with request `id` (no id for INIT).
    pub fn new(buf: &'a mut Vec<u8>, kind: u8, id: Option<u32>) -> Encoder<'a> {
        let start = buf.len();
        buf.extend_from_slice(&[0, 0, 0, 0, kind]);
        let mut e = Encoder { buf, start };
        if let Some(id) = id {
            e.u32(id);
        }
        e
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn string(&mut self, s: &[u8]) -> &mut Self {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s);
        self
    }

    pub fn attrs(&mut self, a: &Attrs) -> &mut Self {
        let mut flags = 0;
        if a.size.is_some() {
            flags |= attr_flags::SIZE;
        }
        if a.uid_gid.is_some() {
            flags |= attr_flags::UIDGID;
        }
        if a.permissions.is_some() {
            flags |= attr_flags::PERMISSIONS;
        }
        if a.atime_mtime.is_some() {
            flags |= attr_flags::ACMODTIME;
        }
        self.u32(flags);
        if let Some(s) = a.size {
            self.u64(s);
        }
        if let Some((u, g)) = a.uid_gid {
            self.u32(u).u32(g);
        }
        if let Some(p) = a.permissions {
            self.u32(p);
        }
        if let Some((at, mt)) = a.atime_mtime {
            self.u32(at).u32(mt);
        }
        self
    }

    /// The buffer itself, to append bulk data (a WRITE's payload) in place.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        self.buf
    }

    /// Patch the length field; the packet is complete.
    pub fn finish(self) {
        let len = (self.buf.len() - self.start - 4) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(packet: &[u8]) -> &[u8] {
        &packet[4..]
    }

    #[test]
    fn attrs_round_trip_through_encoder_and_decoder() {
        let a = Attrs {
            size: Some(1 << 40),
            uid_gid: Some((1000, 100)),
            permissions: Some(0o100644),
            atime_mtime: Some((1, 2)),
        };
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf, fxp::ATTRS, Some(7));
        e.attrs(&a);
        e.finish();
        assert_eq!(
            u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize,
            buf.len() - 4
        );
        let (id, reply) = decode_reply(body(&buf)).unwrap();
        assert_eq!(id, 7);
        assert_eq!(reply, Reply::Attrs(a));
    }

    #[test]
    fn status_without_message_is_accepted() {
        let packet = [fxp::STATUS, 0, 0, 0, 9, 0, 0, 0, 1];
        let (id, reply) = decode_reply(&packet).unwrap();
        assert_eq!(id, 9);
        assert_eq!(
            reply,
            Reply::Status {
                code: status::EOF,
                message: String::new()
            }
        );
    }

    #[test]
    fn lying_lengths_and_counts_are_refused() {
        // A DATA reply claiming 4 GiB of payload in a 9-byte packet.
        let packet = [fxp::DATA, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
        let err = decode_reply(&packet).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Sftp);
        assert!(err.message().contains("truncated"), "{err}");
        // A NAME reply claiming a billion entries.
        let packet = [fxp::NAME, 0, 0, 0, 1, 0x40, 0, 0, 0, 0, 0];
        let err = decode_reply(&packet).unwrap_err();
        assert!(err.message().contains("name count"), "{err}");
    }

    #[test]
    fn extended_attributes_are_skipped() {
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf, fxp::ATTRS, Some(1));
        e.u32(attr_flags::SIZE | attr_flags::EXTENDED)
            .u64(5)
            .u32(1)
            .string(b"k")
            .string(b"v");
        e.finish();
        let (_, reply) = decode_reply(body(&buf)).unwrap();
        assert_eq!(
            reply,
            Reply::Attrs(Attrs {
                size: Some(5),
                ..Attrs::default()
            })
        );
    }

    #[test]
    fn version_lists_extensions() {
        let mut buf = Vec::new();
        let mut e = Encoder::new(&mut buf, fxp::VERSION, None);
        e.u32(3).string(b"posix-rename@openssh.com").string(b"1");
        e.finish();
        let (v, ext) = decode_version(body(&buf)).unwrap();
        assert_eq!(v, 3);
        assert_eq!(
            ext,
            vec![("posix-rename@openssh.com".to_string(), b"1".to_vec())]
        );
    }
}
