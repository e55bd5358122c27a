//! One large file over several connections. On a slow link an SFTP
//! channel moves at most the receiver's window per round trip however deep
//! psftp pipelines; N connections each moving chunks of the file multiply
//! that. The two directions differ: an upload is bound by the server's
//! window (OpenSSH: 2 MiB, so ~100 MB/s at 20 ms), known when the channel
//! opens, so its connections start at once. A download is bound by
//! psftp's own window (128 MiB) and in-flight budget (up to 64 MiB, ~670
//! MB/s at 100 ms), and where one connection is enough it is faster (no
//! setup, less CPU contention: 512 MiB at 100 ms in 1.3 s of transfer on
//! one connection, 2.75 s on four). So a download is split only from
//! 30 ms, and its extra connections join only once the first one has
//! shown it is slow (`HelperPlan`).
//!
//! Connections take 8 MiB chunks from a shared counter, each running one
//! pipeline across the chunks it takes, so a slow or missing extra
//! connection only means the others do more.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::conn::{call_token, with_cancel_token, Connection};
use super::options::TransferOpts;
use super::siblings::Siblings;
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::{CancelToken, NextRange, SinkAt, SourceAt};

/// Files smaller than this are never split.
const MIN_SPLIT_SIZE: u64 = 64 * 1024 * 1024;
/// At most one connection per this many bytes: less does not repay a
/// connection's setup.
const PART_BYTES: u64 = 32 * 1024 * 1024;
/// The unit connections take work in. Each connection's pipeline runs on
/// from one chunk to the next, so small chunks cost nothing and even out
/// the connections' finishing times (512 MiB put at 20 ms on 7
/// connections: 2.13-2.23 s with 32 MiB chunks, each drained before the
/// next; 2.01-2.12 s now).
const CHUNK: u64 = 8 * 1024 * 1024;
/// Uploads: from this round trip the server's window (2 MiB at OpenSSH:
/// ~400 MB/s at 5 ms) bounds one connection.
const SLOW_RTT_PUT: Duration = Duration::from_millis(5);
/// Downloads: below this round trip one connection is never split (see
/// the module's comment).
const SLOW_RTT_GET: Duration = Duration::from_millis(30);
/// Uploads: the server's window when it gives none (OpenSSH's).
const DEFAULT_SEND_WINDOW: u32 = 2 * 1024 * 1024;
/// Uploads: the rate the connections together should be able to carry
/// (about psftp's loopback put), and at most what they may keep in
/// flight together (48 MiB: 24 of OpenSSH's windows).
const PUT_RATE: f64 = 700e6;
const PUT_IN_FLIGHT: f64 = 48.0 * 1024.0 * 1024.0;
/// Uploads: connections at most unless the caller chose a number (512 MiB
/// at 100 ms: 11.8 s on 4, 10.3 s on 8, 7.7 s on 16, issue 20).
const MAX_AUTO_PUT_PARTS: usize = 16;
/// How often progress is reported while only extra connections work, and
/// how often a waiting extra connection looks whether it is needed.
const WAIT_TICK: Duration = Duration::from_millis(10);
/// Downloads: round trips a new connection takes before its first byte
/// (TCP, key exchange, login, SFTP start: 11 measured at 100 ms).
const SETUP_RTTS: u32 = 12;
/// Downloads: how long the first connection moves bytes alone before the
/// others decide whether they are needed.
const PROBE_RTTS: u32 = 5;
const MIN_PROBE: Duration = Duration::from_millis(200);
/// Downloads: below this one connection is held back by something of its
/// own that more connections multiply (a TCP window the kernel did not
/// grow: Linux's default 6 MiB cap allows ~60 MB/s at 100 ms). Above it,
/// extra connections cost more than they bring: 1 GiB at 100 ms took
/// 3.9 s on one connection moving ~370 MB/s, 6.4 s when three joined it.
const SLOW_GET_RATE: f64 = 100e6;

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
    let chunks = size.div_ceil(PART_BYTES) as usize;
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

/// When extra connections are worth their setup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HelperPlan {
    /// At once: uploads, where the server's window bounds each connection.
    Now,
    /// Downloads, where one connection's own window and budget may carry
    /// the file alone (512 MiB at 100 ms: 1.7 s on one connection, 3.0 s
    /// when four shared it): after a probe, only if one connection would
    /// take longer for the rest than twice a new connection's setup.
    IfSlow { rtt: Duration },
}

impl HelperPlan {
    /// Whether another connection should join a transfer of `size` bytes
    /// that has moved `done` in `elapsed`; None until that is known.
    fn wanted(self, size: u64, done: u64, elapsed: Duration) -> Option<bool> {
        let HelperPlan::IfSlow { rtt } = self else {
            return Some(true);
        };
        if elapsed < (rtt * PROBE_RTTS).max(MIN_PROBE) {
            return None;
        }
        let rate = done as f64 / elapsed.as_secs_f64();
        let rest = size.saturating_sub(done) as f64;
        let setup = (rtt * SETUP_RTTS).as_secs_f64();
        Some(rate < SLOW_GET_RATE && (rate == 0.0 || rest / rate > 2.0 * setup))
    }
}

/// The chunks of one file and what its connections share.
pub struct Chunks {
    size: u64,
    /// Connections taking chunks (at most; some may fail to connect).
    pub parts: usize,
    /// Extra connections join only if this says so (see `HelperPlan`).
    plan: HelperPlan,
    next: AtomicU64,
    done: AtomicU64,
    stop: AtomicBool,
    first_error: Mutex<Option<Error>>,
}

impl Chunks {
    fn new(size: u64, parts: usize, plan: HelperPlan) -> Chunks {
        Chunks {
            size,
            parts,
            plan,
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

    /// Move chunks with `pipeline`, one pipeline on this connection that
    /// takes them from `next` until none are left and reports the bytes it
    /// moved so far. `report` hears the bytes moved by all connections.
    pub fn move_all(
        &self,
        report: Report<'_>,
        pipeline: impl FnOnce(NextRange<'_>, Report<'_>) -> Result<u64>,
    ) -> Result<()> {
        let mut count = self.counter();
        let mut on_progress = |n| count(n).and_then(|_| report(self.done()));
        pipeline(&mut || self.next(), &mut on_progress)?;
        Ok(())
    }

    /// Whether every chunk is handed out (or the transfer is stopping).
    fn all_taken(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.next.load(Ordering::Relaxed) >= self.size
    }

    /// A progress function for one connection's pipeline (which reports
    /// the bytes it moved so far); fails once the transfer is stopping.
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

    /// Wait until another connection is needed (true) or no longer can be
    /// (false: every chunk is taken, or the transfer is stopping).
    fn wait_until_needed(&self, started: Instant) -> bool {
        loop {
            if self.all_taken() {
                return false;
            }
            if self.plan.wanted(self.size, self.done(), started.elapsed()) == Some(true) {
                return true;
            }
            std::thread::sleep(WAIT_TICK);
        }
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
    plan: HelperPlan,
    helper: impl Fn(&Connection, &Chunks) -> Result<()> + Sync,
    main: impl FnOnce(&Chunks, Report<'_>) -> Result<()>,
    report: Report<'_>,
) -> Result<()> {
    let chunks = Chunks::new(size, parts, plan);
    let started = Instant::now();
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
                    if !chunks.wait_until_needed(started) {
                        return;
                    }
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

/// The local file of a split transfer, read or written at the chunks'
/// offsets.
pub struct FileAt<'a> {
    pub file: &'a File,
    pub path: &'a Path,
}

impl SourceAt for FileAt<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.file.read_at(&mut buf[n..], offset + n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::local_io("read", self.path, &e)),
            }
        }
        Ok(n)
    }
}

impl SinkAt for FileAt<'_> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        self.file
            .write_all_at(data, offset)
            .map_err(|e| Error::local_io("write", self.path, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_file_once() {
        for size in [1u64 << 30, 100 << 20, CHUNK, CHUNK + 1, 5] {
            let c = Chunks::new(size, 1, HelperPlan::Now);
            let all: Vec<_> = std::iter::from_fn(|| c.next()).collect();
            assert_eq!(all.first().unwrap().0, 0);
            assert_eq!(all.last().unwrap().1, size);
            assert!(all.windows(2).all(|w| w[0].1 == w[1].0), "{all:?}");
            assert_eq!(c.next(), None);
        }
    }

    #[test]
    fn a_failure_stops_handing_out_chunks() {
        let c = Chunks::new(1 << 30, 2, HelperPlan::Now);
        assert!(c.next().is_some());
        c.fail(Error::stopped_by("first"));
        c.fail(Error::stopped_by("second"));
        assert_eq!(c.next(), None);
        assert!(c.counter()(1).is_err());
        assert!(c.take_error().unwrap().message().contains("first"));
    }

    #[test]
    fn download_helpers_join_only_when_one_connection_would_take_long() {
        let ms = Duration::from_millis;
        let plan = HelperPlan::IfSlow { rtt: ms(100) };
        let mib = |n: u64| n << 20;
        // Nothing is known before the probe (5 round trips, 200 ms at least).
        assert_eq!(plan.wanted(mib(512), mib(100), ms(499)), None);
        assert_eq!(
            HelperPlan::IfSlow { rtt: ms(30) }.wanted(mib(512), 0, ms(199)),
            None
        );
        // 512 MiB at 100 ms, 160 MiB in the first 0.5 s: the rest takes
        // 1.1 s alone, under twice a new connection's 1.2 s setup.
        assert_eq!(plan.wanted(mib(512), mib(160), ms(500)), Some(false));
        // A link that gives one connection 60 MB/s: 8 s for the rest.
        assert_eq!(plan.wanted(mib(512), mib(30), ms(500)), Some(true));
        // But not for a file whose rest it moves in 2 s...
        assert_eq!(plan.wanted(mib(150), mib(30), ms(500)), Some(false));
        // ...nor where one connection is fast, however large the file.
        assert_eq!(plan.wanted(mib(4096), mib(160), ms(500)), Some(false));
        // Nothing moved yet: the connection is not carrying it.
        assert_eq!(plan.wanted(mib(512), 0, ms(500)), Some(true));
        assert_eq!(HelperPlan::Now.wanted(mib(512), 0, ms(0)), Some(true));
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
