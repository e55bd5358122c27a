//! One large file over several connections. On a slow link an SFTP
//! channel moves at most the receiver's window per round trip however deep
//! psftp pipelines; N connections each moving chunks of the file multiply
//! that. The two directions differ: an upload is bound by the server's
//! window (OpenSSH: 2 MiB, so ~100 MB/s at 20 ms), a download by psftp's
//! own (32 MiB) and its in-flight budget (up to 24 MiB, ~800 MB/s at
//! 20 ms). Where one connection is enough it is faster (no setup, less CPU
//! contention: 1 GiB get at 20 ms in 2.04 s on one connection against
//! 2.46-2.64 s on four, issue 20), so each direction is split only from
//! the round trip at which its one connection falls short.
//!
//! Connections take 32 MiB chunks from a shared counter, so a slow or
//! missing extra connection only means the others do more.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::conn::{call_token, with_cancel_token, Connection};
use super::options::TransferOpts;
use super::siblings::Siblings;
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::{CancelToken, Sink, Source};

/// Files smaller than this are never split.
const MIN_SPLIT_SIZE: u64 = 64 * 1024 * 1024;
/// The unit connections take work in.
const CHUNK: u64 = 32 * 1024 * 1024;
/// Uploads: from this round trip the server's window (2 MiB at OpenSSH:
/// ~400 MB/s at 5 ms) bounds one connection.
const SLOW_RTT_PUT: Duration = Duration::from_millis(5);
/// Downloads: from this round trip the in-flight budget of one connection
/// (24 MiB at most) carries less than ~800 MB/s.
const SLOW_RTT_GET: Duration = Duration::from_millis(30);
/// Uploads: the server's window when it gives none (OpenSSH's).
const DEFAULT_SEND_WINDOW: u32 = 2 * 1024 * 1024;
/// Uploads: the rate the connections together should be able to carry
/// (about psftp's loopback put), and at most what they may keep in
/// flight together (channel.rs: 48 MiB for one file).
const PUT_RATE: f64 = 700e6;
const PUT_IN_FLIGHT: f64 = 48.0 * 1024.0 * 1024.0;
/// Uploads: connections at most unless the caller chose a number (512 MiB
/// at 100 ms: 11.8 s on 4, 10.3 s on 8, 7.7 s on 16, issue 20).
const MAX_AUTO_PUT_PARTS: usize = 16;
/// How often progress is reported while only extra connections work.
const WAIT_TICK: Duration = Duration::from_millis(100);

/// Progress of the whole file: bytes done so far -> keep going?
pub type Report<'a> = &'a mut dyn FnMut(u64) -> Result<()>;

/// Which way a file moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Get,
    Put,
}

/// How many connections should carry a file of `size` bytes moving in
/// `direction`. An upload's `send_window` is the server's window per
/// connection (None or 0: OpenSSH's 2 MiB).
pub fn parts(
    size: u64,
    rtt: Option<Duration>,
    send_window: Option<u32>,
    opts: &TransferOpts,
    direction: Direction,
) -> usize {
    let slow_from = match direction {
        Direction::Get => SLOW_RTT_GET,
        Direction::Put => SLOW_RTT_PUT,
    };
    let slow = rtt.filter(|r| *r >= slow_from);
    let Some(rtt) = slow else {
        return 1;
    };
    if opts.parallelism <= 1 || opts.resume || size < MIN_SPLIT_SIZE {
        return 1;
    }
    let chunks = size.div_ceil(CHUNK) as usize;
    if direction == Direction::Get || opts.parallelism_chosen {
        return opts.parallelism.min(chunks);
    }
    // One connection sends a window per round trip: enough of them for
    // the rate, as far as the memory bound lets them fill their windows.
    let window = send_window
        .filter(|w| *w > 0)
        .unwrap_or(DEFAULT_SEND_WINDOW);
    let needed = (PUT_RATE * rtt.as_secs_f64()).min(PUT_IN_FLIGHT) / window as f64;
    (needed.ceil() as usize)
        .clamp(opts.parallelism, MAX_AUTO_PUT_PARTS)
        .min(chunks)
}

/// The chunks of one file and what its connections share.
pub struct Chunks {
    size: u64,
    /// Connections taking chunks (at most; some may fail to connect).
    pub parts: usize,
    next: AtomicU64,
    done: AtomicU64,
    stop: AtomicBool,
    first_error: Mutex<Option<Error>>,
}

impl Chunks {
    fn new(size: u64, parts: usize) -> Chunks {
        Chunks {
            size,
            parts,
            next: AtomicU64::new(0),
            done: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            first_error: Mutex::new(None),
        }
    }

    /// The next `[start, end)` to move, or None when all are taken or the
    /// transfer is stopping.
    pub fn next(&self) -> Option<(u64, u64)> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let start = self.next.fetch_add(CHUNK, Ordering::Relaxed);
        (start < self.size).then(|| (start, (start + CHUNK).min(self.size)))
    }

    /// Bytes moved by all connections.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Take chunks until none are left and move each with `one(start, end,
    /// progress)`, which returns the bytes it moved. `report` hears the
    /// bytes moved by all connections; `what` names the transfer in errors.
    pub fn take_each(
        &self,
        report: Report<'_>,
        what: &str,
        mut one: impl FnMut(u64, u64, Report<'_>) -> Result<u64>,
    ) -> Result<()> {
        while let Some((start, end)) = self.next() {
            let mut count = self.counter();
            let mut on_progress = |n| count(n).and_then(|_| report(self.done()));
            let moved = one(start, end, &mut on_progress)?;
            check_chunk(moved, (start, end), what)?;
        }
        Ok(())
    }

    /// A progress function for one chunk (the engine reports bytes since
    /// the chunk's start); fails once the transfer is stopping.
    fn counter(&self) -> impl FnMut(u64) -> Result<()> + '_ {
        let mut last = 0;
        move |n| {
            self.done.fetch_add(n - last, Ordering::Relaxed);
            last = n;
            if self.stop.load(Ordering::Relaxed) {
                return Err(Error::stopped_by("progress"));
            }
            Ok(())
        }
    }

    /// Record a failure (the first one is what the caller sees) and stop
    /// the other connections.
    fn fail(&self, e: Error) {
        let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e);
        self.stop.store(true, Ordering::Relaxed);
    }

    fn take_error(&self) -> Option<Error> {
        self.first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Move a file of `size` bytes with this connection (`main`, on the calling
/// thread, which also reports progress) and `parts - 1` new connections to
/// the same server (`helper`). Both take chunks until none are left. A
/// helper that cannot connect is left out; any other failure stops all.
pub fn run(
    conn: &Connection,
    size: u64,
    parts: usize,
    helper: impl Fn(&Connection, &Chunks) -> Result<()> + Sync,
    main: impl FnOnce(&Chunks, Report<'_>) -> Result<()>,
    report: Report<'_>,
) -> Result<()> {
    let chunks = Chunks::new(size, parts);
    let siblings = Siblings::default();
    // The caller's cancel token stops the helpers too.
    let token = call_token();
    let reported = std::cell::Cell::new(0);
    let mut report = |done| {
        reported.set(done);
        report(done)
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..parts)
            .map(|_| {
                let (chunks, siblings, helper) = (&chunks, &siblings, &helper);
                let token = token.clone();
                scope.spawn(move || {
                    let r = with_cancel_token(token, || {
                        // Without this connection the others do its share.
                        let Ok(c) = siblings.connect(conn) else {
                            return Ok(());
                        };
                        helper(&c, chunks)
                    });
                    if let Err(e) = r {
                        chunks.fail(e);
                    }
                })
            })
            .collect();
        if let Err(e) = main(&chunks, &mut report) {
            chunks.fail(e);
        }
        while helpers.iter().any(|h| !h.is_finished()) {
            if chunks.stop.load(Ordering::Relaxed) {
                siblings.cut_all();
                break;
            }
            if conn.is_interrupted() {
                chunks.fail(Error::new(
                    ErrorKind::Cancelled,
                    "the transfer was interrupted (psftp_interrupt)",
                ));
            } else if token.as_ref().is_some_and(CancelToken::is_cancelled) {
                chunks.fail(Error::new(
                    ErrorKind::Cancelled,
                    "the transfer was cancelled (its cancel token was set)",
                ));
            } else if chunks.done() != reported.get() {
                if let Err(e) = report(chunks.done()) {
                    chunks.fail(e);
                }
            }
            std::thread::sleep(WAIT_TICK);
        }
    });
    if let Some(e) = chunks.take_error() {
        return Err(e);
    }
    if reported.get() != size {
        // The last bytes came from another connection.
        report(size)?;
    }
    Ok(())
}

/// Upload source for one chunk of a local file.
pub struct RangeSource<'a> {
    pub file: &'a File,
    pub path: &'a Path,
    pub pos: u64,
    pub end: u64,
}

impl Source for RangeSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        let mut n = 0;
        while n < want {
            match self.file.read_at(&mut buf[n..want], self.pos + n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::local_io("read", self.path, &e)),
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Download sink for one chunk of a local file.
pub struct RangeSink<'a> {
    pub file: &'a File,
    pub path: &'a Path,
    pub pos: u64,
}

impl Sink for RangeSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.file
            .write_all_at(data, self.pos)
            .map_err(|e| Error::local_io("write", self.path, &e))?;
        self.pos += data.len() as u64;
        Ok(())
    }
}

/// A chunk came out shorter than the file's size said: the file changed
/// while it was being copied.
fn check_chunk(moved: u64, (start, end): (u64, u64), what: &str) -> Result<()> {
    if moved == end - start {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Sftp,
        format!(
            "{what}: got {moved} of {} bytes at offset {start}: the file changed size during the transfer",
            end - start
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_file_once() {
        for size in [1u64 << 30, 100 << 20, CHUNK, CHUNK + 1, 5] {
            let c = Chunks::new(size, 1);
            let all: Vec<_> = std::iter::from_fn(|| c.next()).collect();
            assert_eq!(all.first().unwrap().0, 0);
            assert_eq!(all.last().unwrap().1, size);
            assert!(all.windows(2).all(|w| w[0].1 == w[1].0), "{all:?}");
            assert_eq!(c.next(), None);
        }
    }

    #[test]
    fn a_failure_stops_handing_out_chunks() {
        let c = Chunks::new(1 << 30, 2);
        assert!(c.next().is_some());
        c.fail(Error::stopped_by("first"));
        c.fail(Error::stopped_by("second"));
        assert_eq!(c.next(), None);
        assert!(c.counter()(1).is_err());
        assert!(c.take_error().unwrap().message().contains("first"));
    }

    #[test]
    fn only_large_files_over_slow_links_are_split() {
        let o = TransferOpts::default();
        let slow = Some(Duration::from_millis(20));
        let fast = Some(Duration::from_micros(100));
        let put = |size, rtt, o: &TransferOpts| parts(size, rtt, None, o, Direction::Put);
        assert_eq!(put(1 << 30, slow, &o), 7);
        assert_eq!(put(1 << 30, fast, &o), 1);
        assert_eq!(put(1 << 30, None, &o), 1);
        assert_eq!(put(10 << 20, slow, &o), 1);
        assert_eq!(put(80 << 20, slow, &o), 3);
        let one = TransferOpts {
            parallelism: 1,
            parallelism_chosen: true,
            ..TransferOpts::default()
        };
        assert_eq!(put(1 << 30, slow, &one), 1);
        let resume = TransferOpts {
            resume: true,
            ..TransferOpts::default()
        };
        assert_eq!(put(1 << 30, slow, &resume), 1);
    }

    #[test]
    fn downloads_are_split_only_where_one_connection_falls_short() {
        let o = TransferOpts::default();
        let get = |ms| {
            parts(
                1 << 30,
                Some(Duration::from_millis(ms)),
                None,
                &o,
                Direction::Get,
            )
        };
        // Up to ~30 ms one connection's own window and budget carry it.
        assert_eq!(get(5), 1);
        assert_eq!(get(20), 1);
        assert_eq!(get(30), 4);
        assert_eq!(get(100), 4);
        assert_eq!(parts(1 << 30, None, None, &o, Direction::Get), 1);
        // Uploads need the split from 5 ms (the server's window).
        let put = parts(
            1 << 30,
            Some(Duration::from_millis(5)),
            None,
            &o,
            Direction::Put,
        );
        assert_eq!(put, 4);
    }

    #[test]
    fn uploads_take_as_many_connections_as_the_servers_window_needs() {
        let o = TransferOpts::default();
        let ms = |ms| Some(Duration::from_millis(ms));
        let put = |rtt, window| parts(1 << 30, rtt, window, &o, Direction::Put);
        // OpenSSH's 2 MiB window: 700 MB/s x RTT of windows, never fewer
        // than the default 4, at most 16 (48 MiB in flight: 24 windows).
        assert_eq!(put(ms(5), None), 4);
        assert_eq!(put(ms(20), None), 7);
        assert_eq!(put(ms(40), Some(2 * 1024 * 1024)), 14);
        assert_eq!(put(ms(100), None), 16);
        // A server with a larger window needs fewer.
        assert_eq!(put(ms(20), Some(16 * 1024 * 1024)), 4);
        assert_eq!(put(ms(100), Some(0)), 16);
        // Never more connections than chunks.
        assert_eq!(parts(96 << 20, ms(100), None, &o, Direction::Put), 3);
        // A number the caller chose is the number.
        for n in [2, 4, 32] {
            let chosen = TransferOpts {
                parallelism: n,
                parallelism_chosen: true,
                ..TransferOpts::default()
            };
            assert_eq!(parts(1 << 30, ms(100), None, &chosen, Direction::Put), n);
        }
    }
}
