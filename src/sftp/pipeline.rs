//! Pipelined bulk transfer of one open remote file. Many READ or WRITE
//! requests of up to 255 KiB are kept in flight, so throughput is bounded by
//! bandwidth and CPU rather than by round trips. Both directions are
//! memory-bounded: at most `SftpChannel::in_flight_bytes` (2 to 64 MiB,
//! from the measured round trip) are outstanding, shared fairly with the
//! other pipelines running on the same connection.

use std::collections::{BTreeMap, HashMap};

use super::channel::SftpChannel;
use super::request::{quoted, Read, Request, Write};
use crate::error::{Error, ErrorKind, Result};

/// Queued requests are sent once this much is buffered.
const FLUSH_BYTES: usize = 1024 * 1024;

/// Most requests one pipeline keeps in flight.
const MAX_REQUESTS: usize = 1024;

/// Whether a pipeline with `own` requests of about `chunk` bytes in flight
/// may send another: within its fair share of the connection's in-flight
/// budget, which stays below the channel's receive window so the server
/// never waits for an adjust (the share shrinks while other calls on the
/// connection run pipelines too).
fn may_send(ch: &SftpChannel, own: usize, chunk: u32) -> bool {
    own < MAX_REQUESTS && ch.may_send_bulk(own * chunk as usize, chunk as usize)
}

/// Receives downloaded bytes in file order.
pub trait Sink {
    fn write(&mut self, data: &[u8]) -> Result<()>;
}

/// Supplies bytes to upload: fills `buf`, returns how many (0 = end).
pub trait Source {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize>;
}

/// Called with the byte count done so far; an error (the caller's stop,
/// `Error::stopped_by`) stops the transfer.
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
    path: &'a [u8],
    chunk: u32,
    /// Offset of the next new request.
    next_req: u64,
    /// Offset the sink expects next.
    delivered: u64,
    /// Size from fstat; requests stop there, plus one probe for growth.
    size_hint: Option<u64>,
    /// The size the file promised (fstat): ending before it is an error.
    promised: Option<u64>,
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
        let id = ch.send_weighted(&self.read(offset, len), len as usize);
        self.in_flight.insert(id, ReadReq { offset, len });
    }

    fn read(&self, offset: u64, len: u32) -> Read<'_> {
        Read {
            handle: self.handle,
            path: self.path,
            offset,
            len,
        }
    }

    fn issue_new(&mut self, ch: &mut SftpChannel) {
        // The server may have cut the read size down meanwhile.
        self.chunk = self.chunk.min(ch.max_read);
        while may_send(ch, self.in_flight.len(), self.chunk) && self.want_more() {
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
fn with_path(e: Error, op: &str, path: &[u8]) -> Error {
    match e.kind() {
        ErrorKind::ConnectionLost | ErrorKind::Timeout | ErrorKind::Ssh => {
            e.context(format!("{op} {}", quoted(path)))
        }
        _ => e,
    }
}

fn bad_reply(path: &[u8], what: &str) -> Error {
    Error::new(
        ErrorKind::Sftp,
        format!("read {}: the server {what}", quoted(path)),
    )
}

/// Read the open file `handle` from `start` to its end into `sink`.
/// Returns the bytes delivered. On error the pipeline is drained so the
/// channel stays usable; the caller closes the handle.
///
/// `size_hint` is the size the server reported for the open file (its
/// fstat): a promise. The data ending before it is an error (the file
/// shrank while it was read, or the server cut it short), never a shorter
/// copy. A file that grows is read on to its new end.
pub fn download(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &[u8],
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
    path: &[u8],
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
    path: &[u8],
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
        promised: size_hint,
        limit,
        in_flight: HashMap::new(),
        early: BTreeMap::new(),
        eof_at: None,
    };
    bulk(ch, "read", path, |ch| {
        run_download(ch, &mut d, sink, progress)
    })?;
    Ok(d.delivered - start)
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
        match d.read(req.offset, req.len).decode(reply)? {
            Some(data) => {
                let got = data.len() as u64;
                let end = req.offset + got;
                // Copy out before the next request reuses the channel.
                let n = d.deliver(sink, req.offset, &data)?;
                if got < req.len as u64 {
                    // Short read: ask again for the rest. Short although
                    // the file goes on: the server caps reads at that.
                    if d.size_hint.is_some_and(|s| end < s) {
                        ch.reads_capped_at(got as u32);
                    }
                    d.issue(ch, end, req.len - got as u32);
                }
                if d.size_hint.is_some_and(|s| end > s) {
                    d.size_hint = None; // the file grew: read on to EOF
                }
                if n > 0 {
                    done += n;
                    progress(done)?;
                }
            }
            None => {
                d.eof_at = Some(d.eof_at.map_or(req.offset, |e| e.min(req.offset)));
            }
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
    if let Some(promised) = d.promised.filter(|&p| d.delivered < p) {
        return Err(Error::new(
            ErrorKind::Sftp,
            format!(
                "read {}: the data ended at byte {} of the {promised} the file's size promised \
                 (it shrank while being read, or the server cut it short)",
                quoted(d.path),
                d.delivered
            ),
        ));
    }
    Ok(())
}

/// Hands out the next `[start, end)` of a file to move, None when there is
/// no more (a split transfer's shared chunks).
pub type NextRange<'a> = &'a mut dyn FnMut() -> Option<(u64, u64)>;

/// Receives downloaded bytes at their place in the file.
pub trait SinkAt {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()>;
}

/// Supplies bytes to upload from their place in the file: fills `buf`,
/// returns how many (fewer than asked only at the file's end).
pub trait SourceAt {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize>;
}

/// The ranges `next` hands out, walked request by request.
struct Ranges<'a> {
    next: NextRange<'a>,
    /// The rest of the range being requested: `[offset, end)`.
    current: Option<(u64, u64)>,
}

impl Ranges<'_> {
    /// Up to `max` bytes to ask for next, or None when every range is out.
    fn take(&mut self, max: u64) -> Option<(u64, u64)> {
        let (offset, end) = match self.current.filter(|(o, e)| o < e) {
            Some(r) => r,
            None => {
                self.current = (self.next)();
                self.current?
            }
        };
        let len = (end - offset).min(max);
        self.current = Some((offset + len, end));
        Some((offset, len))
    }
}

/// The file ended inside a range its size said it had.
fn changed_size(op: &str, path: &[u8], offset: u64) -> Error {
    Error::new(
        ErrorKind::Sftp,
        format!(
            "{op} {}: the file ended at offset {offset}, before the size it had when the \
             transfer started: it changed size during the transfer",
            quoted(path)
        ),
    )
}

/// Read the ranges `next` hands out from the open file `handle` into
/// `sink`, one pipeline across all of them: no round trip is lost between
/// two ranges. Every range must lie inside the file. Returns the bytes
/// read; on error the pipeline is drained, as in `download`.
pub fn download_ranges(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &[u8],
    next: NextRange<'_>,
    sink: &mut dyn SinkAt,
    progress: Progress<'_>,
) -> Result<u64> {
    let mut ranges = Ranges {
        next,
        current: None,
    };
    bulk(ch, "read", path, |ch| {
        run_download_ranges(ch, handle, path, &mut ranges, sink, progress)
    })
}

/// Run a bulk pipeline `body` on `ch`, draining it after a failure so the
/// channel stays usable, and naming the file in link failures.
fn bulk<R>(
    ch: &mut SftpChannel,
    op: &str,
    path: &[u8],
    body: impl FnOnce(&mut SftpChannel) -> Result<R>,
) -> Result<R> {
    ch.begin_bulk();
    let result = body(ch);
    ch.end_bulk();
    if result.is_err() {
        // Best effort: the first error is what the caller needs to see.
        let _ = ch.drain();
    }
    result.map_err(|e| with_path(e, op, path))
}

fn run_download_ranges(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &[u8],
    ranges: &mut Ranges<'_>,
    sink: &mut dyn SinkAt,
    progress: Progress<'_>,
) -> Result<u64> {
    let mut in_flight: HashMap<u32, ReadReq> = HashMap::new();
    let mut done = 0u64;
    let read = |offset, len| Read {
        handle,
        path,
        offset,
        len,
    };
    loop {
        let chunk = ch.max_read;
        while may_send(ch, in_flight.len(), chunk) {
            let Some((offset, len)) = ranges.take(chunk as u64) else {
                break;
            };
            let len = len as u32;
            let id = ch.send_weighted(&read(offset, len), len as usize);
            in_flight.insert(id, ReadReq { offset, len });
        }
        if in_flight.is_empty() {
            return Ok(done);
        }
        let (id, reply) = ch.recv()?;
        let Some(req) = in_flight.remove(&id) else {
            return Err(bad_reply(
                path,
                &format!("answered request {id}, which was never sent"),
            ));
        };
        let Some(data) = read(req.offset, req.len).decode(reply)? else {
            return Err(changed_size("read", path, req.offset));
        };
        let got = data.len() as u32;
        if got > req.len {
            return Err(bad_reply(path, "sent more data than was asked for"));
        }
        sink.write_at(req.offset, &data)?;
        if got < req.len {
            // The server caps reads at that: ask again for the rest.
            ch.reads_capped_at(got);
            let rest = (req.offset + got as u64, req.len - got);
            let id = ch.send_weighted(&read(rest.0, rest.1), rest.1 as usize);
            in_flight.insert(
                id,
                ReadReq {
                    offset: rest.0,
                    len: rest.1,
                },
            );
        }
        done += got as u64;
        progress(done)?;
    }
}

/// Write the ranges `next` hands out from `source` into the open file
/// `handle`, one pipeline across all of them. Every range must lie inside
/// the local file. Returns the bytes written.
pub fn upload_ranges(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &[u8],
    next: NextRange<'_>,
    source: &mut dyn SourceAt,
    progress: Progress<'_>,
) -> Result<u64> {
    let mut ranges = Ranges {
        next,
        current: None,
    };
    bulk(ch, "write", path, |ch| {
        run_upload_ranges(ch, handle, path, &mut ranges, source, progress)
    })
}

fn run_upload_ranges(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &[u8],
    ranges: &mut Ranges<'_>,
    source: &mut dyn SourceAt,
    progress: Progress<'_>,
) -> Result<u64> {
    let mut in_flight: HashMap<u32, u32> = HashMap::new();
    let mut acked = 0u64;
    loop {
        while may_send(ch, in_flight.len(), ch.max_write) {
            let Some((offset, len)) = ranges.take(ch.max_write as u64) else {
                break;
            };
            let len = len as usize;
            let queued = ch.queue_write(handle, offset, len, |buf| {
                let n = source.read_at(offset, buf)?;
                if n < len {
                    return Err(changed_size("write", path, offset + n as u64));
                }
                Ok(n)
            })?;
            let (id, n) = queued.ok_or_else(|| changed_size("write", path, offset))?;
            in_flight.insert(id, n as u32);
            if ch.queued_bytes() >= FLUSH_BYTES {
                ch.flush()?;
            }
        }
        if in_flight.is_empty() {
            return Ok(acked);
        }
        let (id, reply) = ch.recv()?;
        let Some(n) = in_flight.remove(&id) else {
            return Err(Error::new(
                ErrorKind::Sftp,
                format!(
                    "write {}: the server answered request {id}, which was never sent",
                    quoted(path)
                ),
            ));
        };
        write_reply(handle, path).decode(reply)?;
        acked += n as u64;
        progress(acked)?;
    }
}

/// A WRITE only for decoding replies (and naming the file): the data went
/// out through `queue_write`.
fn write_reply<'a>(handle: &'a [u8], path: &'a [u8]) -> Write<'a> {
    Write {
        handle,
        path,
        offset: 0,
        data: &[],
    }
}

/// Write `source` into the open file `handle` from offset `start`.
/// Returns the bytes written.
pub fn upload(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &[u8],
    start: u64,
    source: &mut dyn Source,
    progress: Progress<'_>,
) -> Result<u64> {
    let mut in_flight: HashMap<u32, u32> = HashMap::new();
    bulk(ch, "write", path, |ch| {
        run_upload(ch, handle, path, start, source, progress, &mut in_flight)
    })
}

fn run_upload(
    ch: &mut SftpChannel,
    handle: &[u8],
    path: &[u8],
    start: u64,
    source: &mut dyn Source,
    progress: Progress<'_>,
    in_flight: &mut HashMap<u32, u32>,
) -> Result<u64> {
    let chunk = ch.max_write as usize;
    let mut offset = start;
    let mut source_done = false;
    let mut acked = 0u64;
    let write = write_reply(handle, path);
    loop {
        while !source_done && may_send(ch, in_flight.len(), ch.max_write) {
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
                format!(
                    "write {}: the server answered request {id}, which was never sent",
                    quoted(path)
                ),
            ));
        };
        write.decode(reply)?;
        acked += n as u64;
        progress(acked)?;
    }
}
