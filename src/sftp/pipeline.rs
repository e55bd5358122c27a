//! Pipelined bulk transfer of one open remote file. Many READ or WRITE
//! requests of up to 255 KiB are kept in flight, so throughput is bounded by
//! bandwidth and CPU rather than by round trips. Both directions are
//! memory-bounded: at most `SftpChannel::in_flight_bytes` (4 to 24 MiB,
//! from the measured round trip) are outstanding.

use std::collections::{BTreeMap, HashMap};

use super::channel::SftpChannel;
use super::codec::{fxp, status, Reply};
use super::ops::status_error;
use crate::error::{Error, ErrorKind, Result};

/// Queued requests are sent once this much is buffered.
const FLUSH_BYTES: usize = 1024 * 1024;

/// Requests of `chunk` bytes to keep in flight (the channel's depth, which
/// stays below its receive window so the server never waits for an
/// adjust).
fn max_requests(ch: &SftpChannel, chunk: u32) -> usize {
    (ch.in_flight_bytes() / chunk.max(1) as usize).clamp(4, 1024)
}

/// Receives downloaded bytes in file order.
pub trait Sink {
    fn write(&mut self, data: &[u8]) -> Result<()>;
}

/// Supplies bytes to upload: fills `buf`, returns how many (0 = end).
pub trait Source {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize>;
}

/// Called with the byte count done so far; an error (Cancelled) stops the
/// transfer.
pub type Progress<'a> = &'a mut dyn FnMut(u64) -> Result<()>;

/// One outstanding READ: where it starts and how much it asked for.
#[derive(Clone, Copy)]
struct ReadReq {
    offset: u64,
    len: u32,
}

/// Download state: what is requested, what arrived out of order, where the
/// file ends.
struct Download<'a> {
    handle: &'a [u8],
    path: &'a str,
    chunk: u32,
    /// Offset of the next new request.
    next_req: u64,
    /// Offset the sink expects next.
    delivered: u64,
    /// Size from fstat; requests stop there, plus one probe for growth.
    size_hint: Option<u64>,
    /// Hard end of a range read: nothing at or past it is requested.
    limit: Option<u64>,
    in_flight: HashMap<u32, ReadReq>,
    /// Replies that arrived before the data preceding them.
    early: BTreeMap<u64, Vec<u8>>,
    /// Lowest offset the server answered with EOF.
    eof_at: Option<u64>,
}

impl Download<'_> {
    fn want_more(&self) -> bool {
        if self.limit.is_some_and(|l| self.next_req >= l) {
            return false;
        }
        match (self.eof_at, self.size_hint) {
            (Some(_), _) => false,
            // One request at or past the known size detects EOF (or growth)
            // within the same round trip as the last data request.
            (None, Some(size)) => self.next_req <= size,
            (None, None) => true,
        }
    }

    fn issue(&mut self, ch: &mut SftpChannel, offset: u64, len: u32) {
        let handle = self.handle;
        let id = ch.queue(fxp::READ, |e| {
            e.string(handle).u64(offset).u32(len);
        });
        self.in_flight.insert(id, ReadReq { offset, len });
    }

    fn issue_new(&mut self, ch: &mut SftpChannel) {
        let max = max_requests(ch, self.chunk);
        while self.in_flight.len() < max && self.want_more() {
            let offset = self.next_req;
            let end = match (self.size_hint, self.limit) {
                (Some(size), _) if offset < size => Some(size),
                (_, limit) => limit,
            };
            let len = end.map_or(self.chunk as u64, |e| (e - offset).min(self.chunk as u64)) as u32;
            self.issue(ch, offset, len);
            self.next_req += len as u64;
        }
    }

    fn deliver(&mut self, sink: &mut dyn Sink, offset: u64, data: &[u8]) -> Result<u64> {
        if offset != self.delivered {
            self.early.insert(offset, data.to_vec());
            return Ok(0);
        }
        sink.write(data)?;
        let mut done = data.len() as u64;
        self.delivered += data.len() as u64;
        while let Some(chunk) = self.early.remove(&self.delivered) {
            sink.write(&chunk)?;
            self.delivered += chunk.len() as u64;
            done += chunk.len() as u64;
        }
        Ok(done)
    }
}

/// Name the file in failures of the link itself (lost, timed out,
/// corrupted), whose messages name only the host.
fn with_path(e: Error, op: &str, path: &str) -> Error {
    match e.kind() {
        ErrorKind::ConnectionLost | ErrorKind::Timeout | ErrorKind::Ssh => {
            e.context(format!("{op} '{path}'"))
        }
        _ => e,
    }
}

fn bad_reply(path: &str, what: &str) -> Error {
    Error::new(ErrorKind::Sftp, format!("read '{path}': the server {what}"))
}

/// Read the open file `handle` from `start` to its end into `sink`.
/// Returns the bytes delivered. On error the pipeline is drained so the
/// channel stays usable; the caller closes the handle.
pub fn download(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &str,
    start: u64,
    size_hint: Option<u64>,
    sink: &mut dyn Sink,
    progress: Progress<'_>,
) -> Result<u64> {
    run(ch, handle, path, start, size_hint, None, sink, progress)
}

/// Read at most `len` bytes from `start` (fewer at EOF) into `sink`.
pub fn download_range(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &str,
    start: u64,
    len: u64,
    sink: &mut dyn Sink,
    progress: Progress<'_>,
) -> Result<u64> {
    run(
        ch,
        handle,
        path,
        start,
        None,
        Some(start + len),
        sink,
        progress,
    )
}

#[allow(clippy::too_many_arguments)]
fn run(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &str,
    start: u64,
    size_hint: Option<u64>,
    limit: Option<u64>,
    sink: &mut dyn Sink,
    progress: Progress<'_>,
) -> Result<u64> {
    let mut d = Download {
        handle,
        path,
        chunk: ch.max_read,
        next_req: start,
        delivered: start,
        size_hint,
        limit,
        in_flight: HashMap::new(),
        early: BTreeMap::new(),
        eof_at: None,
    };
    let result = run_download(ch, &mut d, sink, progress);
    if result.is_err() {
        // Best effort: the first error is what the caller needs to see.
        let _ = ch.drain(d.in_flight.len());
    }
    result
        .map(|_| d.delivered - start)
        .map_err(|e| with_path(e, "read", path))
}

fn run_download(
    ch: &mut SftpChannel,
    d: &mut Download<'_>,
    sink: &mut dyn Sink,
    progress: Progress<'_>,
) -> Result<()> {
    let mut done = 0u64;
    loop {
        d.issue_new(ch);
        if d.in_flight.is_empty() {
            break;
        }
        let (id, reply) = ch.recv()?;
        let Some(req) = d.in_flight.remove(&id) else {
            return Err(bad_reply(
                d.path,
                &format!("answered request {id}, which was never sent"),
            ));
        };
        match reply {
            Reply::Data(data) if data.len() > req.len as usize => {
                return Err(bad_reply(d.path, "sent more data than was asked for"));
            }
            Reply::Data(data) if data.is_empty() => {
                return Err(bad_reply(d.path, "sent an empty data reply"));
            }
            Reply::Data(data) => {
                let got = data.len() as u64;
                // Copy out before the next request reuses the channel.
                let n = d.deliver(sink, req.offset, &data)?;
                if got < req.len as u64 {
                    // Short read: ask again for the rest.
                    d.issue(ch, req.offset + got, req.len - got as u32);
                }
                if d.size_hint.is_some_and(|s| req.offset + got > s) {
                    d.size_hint = None; // the file grew: read on to EOF
                }
                if n > 0 {
                    done += n;
                    progress(done)?;
                }
            }
            Reply::Status {
                code: status::EOF, ..
            } => {
                d.eof_at = Some(d.eof_at.map_or(req.offset, |e| e.min(req.offset)));
            }
            Reply::Status { code, message } => {
                return Err(status_error(code, &message, "read", d.path))
            }
            _ => return Err(bad_reply(d.path, "sent a reply of the wrong type")),
        }
    }
    let gap = match (d.eof_at, d.limit) {
        (Some(eof), _) => eof != d.delivered,
        (None, Some(limit)) => limit != d.delivered,
        (None, None) => false,
    };
    if !d.early.is_empty() || gap {
        return Err(bad_reply(
            d.path,
            "sent data past the end of file or left a gap",
        ));
    }
    Ok(())
}

/// Write `source` into the open file `handle` from offset `start`.
/// Returns the bytes written.
pub fn upload(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &str,
    start: u64,
    source: &mut dyn Source,
    progress: Progress<'_>,
) -> Result<u64> {
    let mut in_flight: HashMap<u32, u32> = HashMap::new();
    let result = run_upload(ch, handle, path, start, source, progress, &mut in_flight);
    if result.is_err() {
        // Best effort: the first error is what the caller needs to see.
        let _ = ch.drain(in_flight.len());
    }
    result.map_err(|e| with_path(e, "write", path))
}

fn run_upload(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &str,
    start: u64,
    source: &mut dyn Source,
    progress: Progress<'_>,
    in_flight: &mut HashMap<u32, u32>,
) -> Result<u64> {
    let chunk = ch.max_write as usize;
    let max = max_requests(ch, ch.max_write);
    let mut offset = start;
    let mut source_done = false;
    let mut acked = 0u64;
    loop {
        while !source_done && in_flight.len() < max {
            match ch.queue_write(handle, offset, chunk, |buf| source.read(buf))? {
                Some((id, n)) => {
                    in_flight.insert(id, n as u32);
                    offset += n as u64;
                    if ch.queued_bytes() >= FLUSH_BYTES {
                        ch.flush()?;
                    }
                }
                None => source_done = true,
            }
        }
        if in_flight.is_empty() {
            return Ok(offset - start);
        }
        let (id, reply) = ch.recv()?;
        let Some(n) = in_flight.remove(&id) else {
            return Err(Error::new(
                ErrorKind::Sftp,
                format!("write '{path}': the server answered request {id}, which was never sent"),
            ));
        };
        match reply {
            Reply::Status {
                code: status::OK, ..
            } => {
                acked += n as u64;
                progress(acked)?;
            }
            Reply::Status { code, message } => {
                return Err(status_error(code, &message, "write", path))
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::Sftp,
                    format!("write '{path}': the server sent a reply of the wrong type"),
                ))
            }
        }
    }
}
