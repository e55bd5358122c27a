//! pysftp `open()`: a remote file with Python file semantics (binary only),
//! buffered, with large reads and writes pipelined.

use std::sync::Weak;

use super::conn::{Connection, State};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::{download_range, open_flags, show, upload, Attrs, SftpLink, Sink, Source};

/// Buffer size for `bufsize` -1 (the default).
const DEFAULT_BUFSIZE: usize = 1024 * 1024;

/// `read_to_vec` asks for this much first, doubling up to the maximum.
const READ_CHUNK_START: usize = 256 * 1024;
const READ_CHUNK_MAX: usize = 64 * 1024 * 1024;

/// How a Python mode string opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenMode {
    pub flags: u32,
    pub readable: bool,
    pub writable: bool,
    pub append: bool,
}

/// Parse "r", "w", "a", "x" with optional "+" and "b" (pysftp files are
/// always binary; "t" is refused).
pub fn parse_mode(mode: &str) -> Result<OpenMode> {
    let bad = || {
        Error::invalid_arg(
            "mode",
            format!("'{mode}' is not one of r, w, a, x, r+, w+, a+, x+ (b allowed)"),
        )
    };
    let core: String = mode.chars().filter(|&c| c != 'b').collect();
    if mode.matches('b').count() > 1 {
        return Err(bad());
    }
    use open_flags::*;
    let (flags, readable, writable, append) = match core.as_str() {
        "r" => (READ, true, false, false),
        "r+" => (READ | WRITE, true, true, false),
        "w" => (WRITE | CREAT | TRUNC, false, true, false),
        "w+" => (READ | WRITE | CREAT | TRUNC, true, true, false),
        "a" => (WRITE | CREAT | APPEND, false, true, true),
        "a+" => (READ | WRITE | CREAT | APPEND, true, true, true),
        "x" => (WRITE | CREAT | EXCL, false, true, false),
        "x+" => (READ | WRITE | CREAT | EXCL, true, true, false),
        _ => return Err(bad()),
    };
    Ok(OpenMode {
        flags,
        readable,
        writable,
        append,
    })
}

/// Whence values of `seek`, as in C and Python.
pub(crate) const SEEK_SET: i32 = 0;
pub(crate) const SEEK_CUR: i32 = 1;
pub(crate) const SEEK_END: i32 = 2;

pub struct RemoteFile {
    handle: Vec<u8>,
    /// The SFTP link the handle belongs to (a reconnect makes a new one).
    link: Weak<SftpLink>,
    path: Vec<u8>,
    mode: OpenMode,
    pos: u64,
    /// 0: unbuffered; 1: line buffered writes; else the buffer size.
    bufsize: usize,
    /// Bytes read ahead, starting at file offset `rbuf_start`.
    rbuf: Vec<u8>,
    rbuf_start: u64,
    /// Bytes written but not sent, to land at `wbuf_start`.
    wbuf: Vec<u8>,
    wbuf_start: u64,
    /// The file's size as last seen (fstat, end of file met, own writes):
    /// read-ahead stops there.
    known_size: Option<u64>,
    closed: bool,
}

struct VecSink<'a>(&'a mut Vec<u8>);

impl Sink for VecSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }
}

struct SliceSource<'a>(&'a [u8]);

impl Source for SliceSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

impl RemoteFile {
    /// pysftp `open(remote_file, mode='r', bufsize=-1)`.
    pub fn open(conn: &Connection, path: &[u8], mode: &str, bufsize: i64) -> Result<RemoteFile> {
        let mode = parse_mode(mode)?;
        let bufsize = match bufsize {
            b if b < 0 => DEFAULT_BUFSIZE,
            b => usize::try_from(b).map_err(|_| Error::invalid_arg("bufsize", "too large"))?,
        };
        let (handle, link, path, pos) = conn.with(|st| {
            let p = st.resolve(path);
            let h = st
                .sftp
                .open_file(&p, mode.flags, &Attrs::default())
                .map_err(|e| {
                    if mode.flags & open_flags::EXCL != 0 && e.kind() == ErrorKind::Sftp {
                        Error::new(
                            ErrorKind::Exists,
                            format!("{} (mode 'x': it already exists)", e.message()),
                        )
                    } else {
                        e
                    }
                })?;
            let pos = if mode.append {
                st.sftp.fstat(&h, &p)?.size.unwrap_or(0)
            } else {
                0
            };
            Ok((h, st.sftp.link_ref(), p, pos))
        })?;
        Ok(RemoteFile {
            handle,
            link,
            path,
            mode,
            pos,
            bufsize,
            rbuf: Vec::new(),
            rbuf_start: 0,
            wbuf: Vec::new(),
            wbuf_start: 0,
            known_size: None,
            closed: false,
        })
    }

    /// Run `f` as one call on the link the file was opened on: after a
    /// reconnect (transfer retries) its handle means nothing on the new
    /// link, or another file opened there since.
    fn on_link<R>(&self, conn: &Connection, f: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        conn.with(|st| {
            if !st.sftp.is_on(&self.link) {
                return Err(Error::new(
                    ErrorKind::ConnectionLost,
                    format!(
                        "'{}' was opened before the connection reconnected: open it again",
                        show(&self.path)
                    ),
                ));
            }
            f(st)
        })
    }

    fn check_open(&self) -> Result<()> {
        if self.closed {
            return Err(Error::invalid_arg(
                "file",
                format!("'{}' is closed", show(&self.path)),
            ));
        }
        Ok(())
    }

    fn not_allowed(&self, what: &str) -> Error {
        Error::invalid_arg(
            "file",
            format!("'{}' was not opened for {what}", show(&self.path)),
        )
    }

    /// Send buffered writes.
    pub fn flush(&mut self, conn: &Connection) -> Result<()> {
        self.check_open()?;
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.wbuf);
        let start = self.wbuf_start;
        self.write_at(conn, start, &data)
    }

    fn write_at(&mut self, conn: &Connection, offset: u64, data: &[u8]) -> Result<()> {
        let end = offset + data.len() as u64;
        self.known_size = self.known_size.map(|s| s.max(end));
        self.on_link(conn, |st| {
            upload(
                &mut st.sftp,
                &self.handle,
                &self.path,
                offset,
                &mut SliceSource(data),
                &mut |_| Ok(()),
            )?;
            Ok(())
        })
    }

    /// Up to `len` bytes from `offset`; fewer means the file ends there.
    fn read_at(&mut self, conn: &Connection, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(len.min(64 * 1024 * 1024));
        self.on_link(conn, |st| {
            download_range(
                &mut st.sftp,
                &self.handle,
                &self.path,
                offset,
                len as u64,
                &mut VecSink(&mut out),
                &mut |_| Ok(()),
            )
        })?;
        let end = offset + out.len() as u64;
        if out.len() < len {
            self.known_size = Some(end);
        } else if self.known_size.is_some_and(|s| end > s) {
            self.known_size = Some(end); // it grew
        }
        Ok(out)
    }

    /// How much to read ahead from the position when `want` bytes are
    /// asked for: the buffer's size, but not past the end of the file as
    /// far as it is known (there the server would only answer "end of
    /// file"); at or past that end, just `want`, which also sees growth.
    fn read_ahead(&mut self, conn: &Connection, want: usize) -> Result<usize> {
        let size = match self.known_size {
            Some(s) => s,
            None => {
                let s = self.remote_size(conn)?;
                self.known_size = Some(s);
                s
            }
        };
        let left = size.saturating_sub(self.pos);
        Ok((left.min(self.bufsize as u64) as usize).max(want))
    }

    /// Read up to `buf.len()` bytes; fewer only at the end of the file.
    pub fn read(&mut self, conn: &Connection, buf: &mut [u8]) -> Result<usize> {
        self.check_open()?;
        if !self.mode.readable {
            return Err(self.not_allowed("reading"));
        }
        self.flush(conn)?;
        let mut done = self.copy_buffered(buf);
        if done == buf.len() {
            return Ok(done);
        }
        let want = buf.len() - done;
        if self.bufsize <= 1 || want >= self.bufsize {
            let data = self.read_at(conn, self.pos, want)?;
            buf[done..done + data.len()].copy_from_slice(&data);
            self.pos += data.len() as u64;
            return Ok(done + data.len());
        }
        let ahead = self.read_ahead(conn, want)?;
        self.rbuf = self.read_at(conn, self.pos, ahead)?;
        self.rbuf_start = self.pos;
        done += self.copy_buffered(&mut buf[done..]);
        Ok(done)
    }

    /// Serve from the read-ahead buffer; returns the bytes copied.
    fn copy_buffered(&mut self, buf: &mut [u8]) -> usize {
        let end = self.rbuf_start + self.rbuf.len() as u64;
        if self.pos < self.rbuf_start || self.pos >= end {
            return 0;
        }
        let from = (self.pos - self.rbuf_start) as usize;
        let n = buf.len().min(self.rbuf.len() - from);
        buf[..n].copy_from_slice(&self.rbuf[from..from + n]);
        self.pos += n as u64;
        n
    }

    /// Read up to `max` bytes (None: to the end of the file) into a vector
    /// that grows as data arrives: no size has to be guessed, and a large
    /// `max` on a small file allocates only what the file holds.
    pub fn read_to_vec(&mut self, conn: &Connection, max: Option<usize>) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut chunk = READ_CHUNK_START;
        loop {
            let room = max.map_or(usize::MAX, |m| m - out.len());
            let want = room.min(chunk);
            if want == 0 {
                return Ok(out);
            }
            let start = out.len();
            out.resize(start + want, 0);
            let got = self.read(conn, &mut out[start..])?;
            out.truncate(start + got);
            if got < want {
                return Ok(out);
            }
            chunk = (chunk * 2).min(READ_CHUNK_MAX);
        }
    }

    /// Read a line (through b'\n'), at most `max` bytes, or to the end of
    /// the file (empty there), scanning the read-ahead buffer instead of
    /// reading byte by byte.
    pub fn readline_to_vec(&mut self, conn: &Connection, max: Option<usize>) -> Result<Vec<u8>> {
        self.check_open()?;
        if !self.mode.readable {
            return Err(self.not_allowed("reading"));
        }
        let limit = max.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        while out.len() < limit {
            let end = self.rbuf_start + self.rbuf.len() as u64;
            if self.wbuf.is_empty() && self.pos >= self.rbuf_start && self.pos < end {
                let from = (self.pos - self.rbuf_start) as usize;
                let avail = &self.rbuf[from..];
                let room = (limit - out.len()).min(avail.len());
                let take = avail[..room]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(room, |i| i + 1);
                out.extend_from_slice(&avail[..take]);
                self.pos += take as u64;
                if out.last() == Some(&b'\n') {
                    break;
                }
                continue;
            }
            // Refills the read-ahead buffer (one byte only when unbuffered).
            let mut byte = [0u8; 1];
            if self.read(conn, &mut byte)? == 0 {
                break;
            }
            out.push(byte[0]);
            if byte[0] == b'\n' {
                break;
            }
        }
        Ok(out)
    }

    /// Read up to and including the next b'\n', or until `buf` is full, or
    /// the end of the file (0 bytes there).
    pub fn readline(&mut self, conn: &Connection, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            let got = self.read(conn, &mut buf[n..n + 1])?;
            if got == 0 {
                break;
            }
            n += 1;
            if buf[n - 1] == b'\n' {
                break;
            }
        }
        Ok(n)
    }

    /// Write all of `data` at the current position (at the end in append
    /// mode).
    pub fn write(&mut self, conn: &Connection, data: &[u8]) -> Result<()> {
        self.check_open()?;
        if !self.mode.writable {
            return Err(self.not_allowed("writing"));
        }
        self.rbuf.clear();
        if self.mode.append && self.wbuf.is_empty() {
            self.pos = self.remote_size(conn)?;
        }
        if !self.wbuf.is_empty() && self.wbuf_start + self.wbuf.len() as u64 != self.pos {
            self.flush(conn)?;
        }
        if self.bufsize == 0 || data.len() >= self.bufsize.max(2) {
            self.flush(conn)?;
            self.write_at(conn, self.pos, data)?;
        } else {
            if self.wbuf.is_empty() {
                self.wbuf_start = self.pos;
            }
            self.wbuf.extend_from_slice(data);
            let line_done = self.bufsize == 1 && data.contains(&b'\n');
            if line_done || self.wbuf.len() >= self.bufsize {
                self.pos += data.len() as u64;
                return self.flush(conn);
            }
        }
        self.pos += data.len() as u64;
        Ok(())
    }

    fn remote_size(&mut self, conn: &Connection) -> Result<u64> {
        let size = self
            .on_link(conn, |st| st.sftp.fstat(&self.handle, &self.path))?
            .size
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Sftp,
                    format!("fstat '{}': no size reported", show(&self.path)),
                )
            })?;
        self.known_size = Some(size);
        Ok(size)
    }

    /// Move the position; returns the new one.
    pub fn seek(&mut self, conn: &Connection, offset: i64, whence: i32) -> Result<u64> {
        self.check_open()?;
        self.flush(conn)?;
        let base = match whence {
            SEEK_SET => 0,
            SEEK_CUR => self.pos as i64,
            SEEK_END => self.remote_size(conn)? as i64,
            w => {
                return Err(Error::invalid_arg(
                    "whence",
                    format!("{w} is not SEEK_SET, SEEK_CUR or SEEK_END"),
                ))
            }
        };
        let new = base
            .checked_add(offset)
            .filter(|p| *p >= 0)
            .ok_or_else(|| {
                Error::invalid_arg(
                    "offset",
                    format!("seeking to {base} + {offset} is before the start"),
                )
            })?;
        self.pos = new as u64;
        Ok(self.pos)
    }

    pub fn tell(&self) -> u64 {
        self.pos
    }

    pub fn stat(&mut self, conn: &Connection) -> Result<Attrs> {
        self.check_open()?;
        self.flush(conn)?;
        let a = self.on_link(conn, |st| st.sftp.fstat(&self.handle, &self.path))?;
        if a.size.is_some() {
            self.known_size = a.size;
        }
        Ok(a)
    }

    /// Cut or extend the file to `size` (paramiko SFTPFile.truncate).
    pub fn truncate(&mut self, conn: &Connection, size: u64) -> Result<()> {
        self.check_open()?;
        self.flush(conn)?;
        self.rbuf.clear();
        let a = Attrs {
            size: Some(size),
            ..Attrs::default()
        };
        self.on_link(conn, |st| st.sftp.fsetstat(&self.handle, &self.path, &a))?;
        self.known_size = Some(size);
        Ok(())
    }

    /// Flush, then fsync@openssh.com (Unsupported without it).
    pub fn fsync(&mut self, conn: &Connection) -> Result<()> {
        self.flush(conn)?;
        self.on_link(conn, |st| st.sftp.fsync(&self.handle, &self.path))
    }

    /// Flush and close; the file is closed even when the flush fails.
    pub fn close(&mut self, conn: &Connection) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        let flushed = self.flush(conn);
        self.closed = true;
        let closed = self.on_link(conn, |st| st.sftp.close_handle(&self.handle, &self.path));
        flushed.and(closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_modes_map_to_sftp_flags() {
        use open_flags::*;
        assert_eq!(parse_mode("r").unwrap().flags, READ);
        assert_eq!(parse_mode("rb").unwrap().flags, READ);
        assert_eq!(
            parse_mode("w+").unwrap().flags,
            READ | WRITE | CREAT | TRUNC
        );
        assert_eq!(parse_mode("ab").unwrap().flags, WRITE | CREAT | APPEND);
        assert!(parse_mode("a+").unwrap().append);
        assert_eq!(parse_mode("x").unwrap().flags, WRITE | CREAT | EXCL);
        for bad in ["", "rw", "rt", "q", "r++", "bb", "wbb"] {
            assert!(parse_mode(bad).is_err(), "{bad}");
        }
    }
}
