//! Walks a tree and spreads its files over N connections (this one plus up
//! to N-1 opened with the same credentials) at the same time. Three kinds
//! of thread:
//! - the walker (one thread) lists the source and feeds files into a
//!   bounded queue (QUEUE_BOUND), waiting when it is full, so memory stays
//!   flat however large the tree;
//! - the workers take large files first and stream them with the full
//!   pipeline, and batch the small ones, many in flight per connection;
//! - the calling thread only coordinates: it counts progress, calls the
//!   progress callback (on the caller's thread, as the API promises) and
//!   stops the walker and the workers (the `stop` flag) on cancellation,
//!   on a fatal walk error or, with the stop policy, on the first failure.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::tasks::{GetTask, Outcome, PutTask, SMALL_FILE, TASKS_IN_FLIGHT};
use super::{Failure, Job, Settings, TreeProgress, TreeProgressFn, TreeReport};
use crate::core::conn::{call_token, with_cancel_token, Connection, State};
use crate::core::local::{part_path, unix_secs};
use crate::core::options::ErrorPolicy;
use crate::core::retry::{retryable, HighWater};
use crate::core::siblings::Siblings;
use crate::core::transfer::FileOpts;
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::{batch, CancelToken};

/// How often the progress callback runs while bytes move.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What the walker and the workers tell the coordinator.
enum Event {
    /// The walker queued a file of this size (or found it already there).
    Planned(u64),
    Bytes(u64),
    Started(Vec<u8>),
    Finished(Vec<u8>, Outcome, u64),
    /// An entry the walker could not take (a listing, a name, a directory).
    Failed(Failure),
    /// The walk itself failed: the operation ends.
    Fatal(Error),
    /// A worker could not open its connection.
    NoConnection(Error),
}

/// Files waiting for a worker, at most this many: the walk waits for room,
/// so memory stays flat however large the tree. A tree that fits is walked
/// whole before the first file starts, as planned trees always were (large
/// files first, totals known from the first progress call).
const QUEUE_BOUND: usize = 4096;

/// How long a wait on the queue goes before looking at the stop flag again.
const QUEUE_POLL: Duration = Duration::from_millis(20);

#[derive(Default)]
struct Pending {
    /// Large files (and files with a part file), largest first: streamed.
    large: VecDeque<Job>,
    /// The others, in walk order: batched.
    small: VecDeque<Job>,
    /// Files queued so far.
    pushed: usize,
    /// The walk is over: nothing more will come.
    walked: bool,
    /// The workers have started (the queue was full once, or the walk is
    /// over): from then on they take files as they come.
    started: bool,
    /// Workers still taking files.
    consumers: usize,
}

impl Pending {
    fn len(&self) -> usize {
        self.large.len() + self.small.len()
    }
}

/// What a worker gets from the queue.
enum Take {
    Job(Job),
    /// Nothing yet, more may come.
    Wait,
    /// Nothing more (walked and drained, or stopped).
    Done,
}

/// The bounded queue between the walker (one thread) and the workers.
struct Queue {
    pending: Mutex<Pending>,
    changed: Condvar,
    /// The caller's cancel token: tokens are per thread, so the queue
    /// carries it to the waits of the walker and the workers.
    token: Option<CancelToken>,
}

impl Queue {
    fn new(consumers: usize, token: Option<CancelToken>) -> Queue {
        Queue {
            pending: Mutex::new(Pending {
                consumers,
                ..Pending::default()
            }),
            changed: Condvar::new(),
            token,
        }
    }

    /// The round stopped (`stop`), or the caller cancelled its call: no
    /// file goes in or out any more. The coordinator sets `stop` on a
    /// cancel too, but only at its next look (up to PROGRESS_EVERY later).
    fn halted(&self, stop: &AtomicBool) -> bool {
        stop.load(Ordering::Relaxed) || self.token.as_ref().is_some_and(CancelToken::is_cancelled)
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, p: MutexGuard<'a, Pending>) -> MutexGuard<'a, Pending> {
        match self.changed.wait_timeout(p, QUEUE_POLL) {
            Ok((p, _)) => p,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    /// Workers start once the queue is full or the walk is over, and then
    /// keep going: were it asked of the queue's length each time, every
    /// take after the first would wait for the walk to fill the queue again
    /// (on a 20 ms link a 20,000-file get_r took 10.0 s instead of 8.8).
    fn primed(p: &mut Pending) -> bool {
        p.started |= p.walked || p.len() >= QUEUE_BOUND;
        p.started
    }

    /// Queue a file, waiting for room; gives it back when stopped or when
    /// no worker is left to take it.
    fn push(&self, job: Job, large: bool, stop: &AtomicBool) -> std::result::Result<(), Job> {
        let mut p = self.lock();
        loop {
            if self.halted(stop) || p.consumers == 0 {
                return Err(job);
            }
            if p.len() < QUEUE_BOUND {
                break;
            }
            p = self.wait(p);
        }
        if large {
            let at = p.large.partition_point(|j| j.size() >= job.size());
            p.large.insert(at, job);
        } else {
            p.small.push_back(job);
        }
        p.pushed += 1;
        self.changed.notify_all();
        Ok(())
    }

    /// The walk is over.
    fn walked(&self) {
        self.lock().walked = true;
        self.changed.notify_all();
    }

    /// A worker stops taking files.
    fn leave(&self) {
        let mut p = self.lock();
        p.consumers = p.consumers.saturating_sub(1);
        self.changed.notify_all();
    }

    /// The next file, large ones first; with `block`, waits for one.
    fn take(&self, block: bool, stop: &AtomicBool) -> Take {
        let mut p = self.lock();
        loop {
            if self.halted(stop) {
                return Take::Done;
            }
            if Self::primed(&mut p) {
                if let Some(job) = p.large.pop_front().or_else(|| p.small.pop_front()) {
                    self.changed.notify_all();
                    return Take::Job(job);
                }
                if p.walked {
                    return Take::Done;
                }
            }
            if !block {
                return Take::Wait;
            }
            p = self.wait(p);
        }
    }

    /// Whether worker `i` (0-based) has anything to do: as many connections
    /// as files, up to the parallelism, as when the whole tree was planned
    /// first. Waits until that is known.
    fn needs_worker(&self, i: usize, stop: &AtomicBool) -> bool {
        let mut p = self.lock();
        loop {
            if self.halted(stop) {
                return false;
            }
            if Self::primed(&mut p) && p.pushed > i {
                return true;
            }
            if p.walked {
                return false;
            }
            p = self.wait(p);
        }
    }

    fn remaining(&self) -> Vec<Job> {
        let mut p = self.lock();
        let mut v: Vec<Job> = p.large.drain(..).collect();
        v.extend(p.small.drain(..));
        v
    }
}

/// What the walk hands its finds to: files go to the workers through the
/// bounded queue; the rest is told to the coordinator.
pub struct Feeder<'a> {
    queue: &'a Queue,
    tx: Sender<Event>,
    stop: &'a AtomicBool,
    s: &'a Settings,
    /// Files a retried round leaves out: completed, or failed for good.
    skip: &'a HashSet<Vec<u8>>,
}

impl Feeder<'_> {
    /// A file to transfer.
    pub fn job(&self, job: Job) {
        if self.skip.contains(job.rel()) {
            return;
        }
        send(&self.tx, Event::Planned(job.size()));
        let large = job.size() > SMALL_FILE || has_part(&job, self.s);
        if let Err(job) = self.queue.push(job, large, self.stop) {
            if !self.stopped() {
                let e = Error::new(
                    ErrorKind::ConnectionLost,
                    "not transferred: no connection was left to carry it",
                );
                let rel = job.rel().to_vec();
                send(&self.tx, Event::Finished(rel, Outcome::Failed(e), 0));
            }
        }
    }

    /// A file that is already there (sync mode).
    pub fn skipped(&self, rel: Vec<u8>, size: u64) {
        if self.skip.contains(&rel) {
            return;
        }
        send(&self.tx, Event::Planned(size));
        send(&self.tx, Event::Finished(rel, Outcome::Skipped(size), 0));
    }

    /// An entry that failed; with the stop policy nothing more starts.
    pub fn failure(&self, f: Failure) {
        if self.s.opts.on_error == ErrorPolicy::Stop {
            self.stop.store(true, Ordering::Relaxed);
        }
        send(&self.tx, Event::Failed(f));
    }

    /// The operation stopped (cancelled, interrupted, stop policy, fatal).
    pub fn stopped(&self) -> bool {
        self.queue.halted(self.stop)
    }
}

/// The walk of a tree operation: sends every file to the feeder. Run once
/// per round (a retried round walks again, leaving out what is done).
pub type Walk<'w> = dyn FnMut(&Feeder<'_>) -> Result<()> + Send + 'w;

/// What the rounds have completed so far.
#[derive(Default)]
struct Tally {
    /// The files copied or skipped, kept only when a retry may need them.
    completed: HashSet<Vec<u8>>,
    files: u64,
    bytes: u64,
}

/// Walk and transfer at once (`walk` feeds the workers through a bounded
/// queue) and record the outcome in `report`. With retries, a round that
/// failed only for the link's sake (CONNECTION_LOST, TIMEOUT) is followed
/// by another that walks again and leaves out the files already completed,
/// after the back-off and a reconnect (retry.rs); progress never goes back.
pub fn run(
    conn: &Connection,
    walk: &mut Walk<'_>,
    s: &Settings,
    progress: Option<&mut TreeProgressFn<'_>>,
    report: &mut TreeReport,
) {
    // Before the walker starts: it would wait for psftp_unlock.
    if let Err(e) = conn.refuse_held_here("a tree operation") {
        report.fatal = Some(e);
        return;
    }
    let mut totals = TreeProgress::default();
    let (mut files, mut bytes) = (HighWater::default(), HighWater::default());
    let mut user = progress;
    let mut monotonic = |p: &TreeProgress| {
        let seen = TreeProgress {
            files_done: files.see(p.files_done),
            bytes_done: bytes.see(p.bytes_done),
            ..p.clone()
        };
        user.as_mut().map_or(true, |cb| cb(&seen))
    };
    let mut tally = Tally::default();
    let mut skip = HashSet::new();
    loop {
        let before = report.failures.len();
        totals.files_done = tally.files;
        totals.bytes_done = tally.bytes;
        let round = Round {
            walk: &mut *walk,
            skip: &skip,
            s,
        };
        run_round(conn, round, &mut monotonic, report, &mut totals, &mut tally);
        let Some((failed, why)) = retry_round(conn, s, report, before) else {
            return;
        };
        report.retries += 1;
        let what = "tree transfer";
        if let Err(e) = conn.recover(&s.opts, report.retries, what, &why) {
            report.failures.push(Failure::new(b"(connection)", e));
            return;
        }
        skip = tally.completed.iter().cloned().chain(failed).collect();
    }
}

/// After a round: the files that failed for good and why to go on, if the
/// round failed only for the link's sake and retries are left. The retried
/// failures leave the report (they are attempted again).
fn retry_round(
    conn: &Connection,
    s: &Settings,
    report: &mut TreeReport,
    before: usize,
) -> Option<(HashSet<Vec<u8>>, Error)> {
    let new = &report.failures[before..];
    let first = new.iter().find(|f| retryable(&f.error))?.error.clone();
    let stop = s.opts.on_error == ErrorPolicy::Stop;
    if report.retries >= s.opts.retries
        || report.fatal.is_some()
        || conn.is_interrupted()
        || (stop && !new.iter().all(|f| retryable(&f.error)))
    {
        return None;
    }
    // Entries that failed for another reason stay failed (continue policy).
    let failed: HashSet<Vec<u8>> = new
        .iter()
        .filter(|f| !retryable(&f.error))
        .map(|f| f.path.clone())
        .collect();
    let kept: Vec<Failure> = report.failures.drain(before..).collect();
    report
        .failures
        .extend(kept.into_iter().filter(|f| !retryable(&f.error)));
    Some((failed, first))
}

/// One round's walk and what it leaves out.
struct Round<'r, 'w> {
    walk: &'r mut Walk<'w>,
    skip: &'r HashSet<Vec<u8>>,
    s: &'r Settings,
}

/// One round: the walk on a thread of its own, feeding workers on this
/// connection and up to parallelism-1 new ones (opened only when there
/// are files for them), while this thread coordinates.
fn run_round(
    conn: &Connection,
    round: Round<'_, '_>,
    progress: &mut TreeProgressFn<'_>,
    report: &mut TreeReport,
    totals: &mut TreeProgress,
    tally: &mut Tally,
) {
    let s = round.s;
    let workers = s.opts.parallelism.max(1);
    // The caller's cancel token stops the walker and the workers too, on
    // every connection.
    let token = call_token();
    let queue = Queue::new(workers, token.clone());
    let stop = AtomicBool::new(false);
    let siblings = Siblings::default();
    let (tx, rx) = channel();
    let mut coordinator = Coordinator {
        progress: Some(progress),
        totals,
        round_files: (tally.files, 0),
        round_bytes: (tally.bytes, 0),
        tally,
        keep_completed: s.opts.retries > 0,
        report,
        stop: &stop,
        policy: s.opts.on_error,
        last_call: Instant::now(),
        cancelled: false,
        conn,
        siblings: &siblings,
        interrupt_passed: false,
        token: token.clone(),
    };
    let _mark = conn.mark_coordinator();
    std::thread::scope(|scope| {
        let feeder = Feeder {
            queue: &queue,
            tx: tx.clone(),
            stop: &stop,
            s,
            skip: round.skip,
        };
        let (walk, walked, token) = (round.walk, &queue, token.clone());
        scope.spawn(move || {
            // Under the caller's token (with its own one-shot flag), as the
            // walk's listings are the call's requests.
            match with_cancel_token(token, || walk(&feeder)) {
                Ok(()) => {}
                // The link failed under the walk: a retry walks again.
                Err(e) if retryable(&e) => feeder.failure(Failure::new(b"(listing)", e)),
                Err(e) => send(&feeder.tx, Event::Fatal(e)),
            }
            walked.walked();
        });
        for i in 0..workers {
            let (tx, queue, stop, siblings) = (tx.clone(), &queue, &stop, &siblings);
            scope.spawn(move || {
                worker(conn, i, workers, queue, stop, siblings, &tx, s);
                queue.leave();
            });
        }
        drop(tx);
        coordinator.collect(rx);
    });
    let cancelled = coordinator.cancelled;
    for job in queue.remaining() {
        if !cancelled && report.fatal.is_none() && stop.load(Ordering::Relaxed) {
            break; // stop policy: the first failure is already recorded
        }
        if !cancelled && report.fatal.is_none() {
            let e = Error::new(
                ErrorKind::ConnectionLost,
                "not transferred: no connection was left to carry it",
            );
            report.failures.push(Failure::new(job.rel(), e));
        }
    }
}

/// Worker `i` of `workers`: on this connection (the first) or a new one,
/// opened once the walk has found a file for it.
#[allow(clippy::too_many_arguments)]
fn worker(
    conn: &Connection,
    i: usize,
    workers: usize,
    queue: &Queue,
    stop: &AtomicBool,
    siblings: &Siblings,
    tx: &Sender<Event>,
    s: &Settings,
) {
    let sibling;
    let c = if i == 0 {
        conn
    } else {
        if !queue.needs_worker(i, stop) {
            return;
        }
        match siblings.connect(conn) {
            Ok(c) => {
                sibling = c;
                &sibling
            }
            Err(e) => return send(tx, Event::NoConnection(e)),
        }
    };
    // Under the caller's token, each worker with its own one-shot flag:
    // a cancel stops every worker's requests, not only the first one's.
    let r = with_cancel_token(queue.token.clone(), || {
        c.with(|st| {
            st.with_share(workers, |st| work(st, queue, stop, tx, s));
            Ok(())
        })
    });
    if i > 0 && queue.halted(stop) {
        settle(c);
    }
    if let Err(e) = r {
        send(tx, Event::NoConnection(e));
    }
}

/// Before an extra connection closes after the round stopped early (a
/// cancel, a stop asked by the progress callback, a failure under the stop
/// policy): one round trip, so that the server has run the cleanup the
/// stopped calls sent without waiting (CLOSE, REMOVE of part files) before
/// the connection ends (a server ending the session may drop requests
/// still queued behind the abandoned WRITEs). Not under the token: this is
/// the cleanup's end. On a frozen link it waits like any call (timeouts,
/// psftp_interrupt, which cuts the extra connections at once).
fn settle(c: &Connection) {
    let _ = c.with(|st| st.sftp.realpath(b"."));
}

fn send(tx: &Sender<Event>, e: Event) {
    let _ = tx.send(e);
}

struct Coordinator<'a, 'p> {
    progress: Option<&'a mut TreeProgressFn<'p>>,
    totals: &'a mut TreeProgress,
    /// Files and bytes done before this round, and planned in it: the
    /// totals grow as the walk goes (never below an earlier round's).
    round_files: (u64, u64),
    round_bytes: (u64, u64),
    tally: &'a mut Tally,
    keep_completed: bool,
    report: &'a mut TreeReport,
    stop: &'a AtomicBool,
    policy: ErrorPolicy,
    last_call: Instant,
    cancelled: bool,
    conn: &'a Connection,
    siblings: &'a Siblings,
    interrupt_passed: bool,
    /// The caller's cancel token, if the call has one.
    token: Option<CancelToken>,
}

impl Coordinator<'_, '_> {
    fn collect(&mut self, rx: std::sync::mpsc::Receiver<Event>) {
        let mut no_connection = None;
        loop {
            match rx.recv_timeout(PROGRESS_EVERY) {
                Ok(Event::Planned(size)) => self.planned(size),
                Ok(Event::Failed(f)) => self.failed(f),
                Ok(Event::Fatal(e)) => {
                    self.stop.store(true, Ordering::Relaxed);
                    self.report.fatal.get_or_insert(e);
                }
                Ok(Event::Bytes(n)) => self.totals.bytes_done += n,
                Ok(Event::Started(path)) => self.totals.current_path = path,
                Ok(Event::Finished(path, outcome, streamed)) => {
                    self.finished(path, outcome, streamed)
                }
                Ok(Event::NoConnection(e)) => no_connection = Some(e),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.pass_on_interrupt();
            self.pass_on_cancel();
            self.tick(false);
        }
        // A cancel that ended every thread before this thread's next look.
        self.pass_on_cancel();
        self.tick(true);
        if let Some(e) = no_connection {
            // Only fatal if nothing got through at all.
            if self.report.files_copied == 0 && self.totals.files_total > self.totals.files_done {
                self.report.failures.push(Failure::new(b"(connection)", e));
            }
        }
    }

    fn planned(&mut self, size: u64) {
        self.round_files.1 += 1;
        self.round_bytes.1 += size;
        let t = &mut *self.totals;
        t.files_total = t.files_total.max(self.round_files.0 + self.round_files.1);
        t.bytes_total = t.bytes_total.max(self.round_bytes.0 + self.round_bytes.1);
    }

    fn finished(&mut self, path: Vec<u8>, outcome: Outcome, streamed: u64) {
        self.totals.files_done += 1;
        self.totals.current_path = path.clone();
        match outcome {
            Outcome::Copied(n) => {
                self.report.files_copied += 1;
                self.report.bytes += n;
                self.totals.bytes_done += n.saturating_sub(streamed);
                self.completed(path, n);
            }
            Outcome::Skipped(n) => {
                self.report.files_skipped += 1;
                self.totals.bytes_done += n;
                self.completed(path, n);
            }
            Outcome::Failed(e) => self.fail(path, e),
            Outcome::Retry => {}
        }
        self.tick(true);
    }

    /// A file is done for good; a retried round leaves it out.
    fn completed(&mut self, path: Vec<u8>, bytes: u64) {
        self.tally.files += 1;
        self.tally.bytes += bytes;
        if self.keep_completed {
            self.tally.completed.insert(path);
        }
    }

    /// The walker's failures: a retried round walks again, and finds again
    /// what failed for good the first time.
    fn failed(&mut self, f: Failure) {
        if !self.report.failures.iter().any(|old| old == &f) {
            self.fail(f.path, f.error);
        }
        self.tick(true);
    }

    fn fail(&mut self, path: Vec<u8>, e: Error) {
        // A failure the cancel caused is no failure of its own, even when
        // it arrives before this thread's next look at the token.
        self.pass_on_cancel();
        // With the stop policy only the first failure is reported, though
        // others may have been in flight with it.
        let stopped = self.policy == ErrorPolicy::Stop && !self.report.failures.is_empty();
        if (e.kind() != ErrorKind::Cancelled || !self.cancelled) && !stopped {
            self.report.failures.push(Failure::new(&path, e));
        }
        if self.policy == ErrorPolicy::Stop {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    /// psftp_interrupt on the connection stops the extra connections too.
    fn pass_on_interrupt(&mut self) {
        if !self.conn.is_interrupted() || self.interrupt_passed {
            return;
        }
        // Also after a stop asked by the progress callback: that stop may be
        // stuck on a stalled link, which is what the interrupt is for.
        self.interrupt_passed = true;
        self.cancelled = true;
        self.stop.store(true, Ordering::Relaxed);
        self.siblings.cut_all();
        let e = Error::new(
            ErrorKind::Cancelled,
            "the operation was interrupted (psftp_interrupt)",
        );
        self.report.fatal.get_or_insert(e);
    }

    /// The caller's cancel token was set: stop handing out files. The
    /// workers' own calls see the token too, abandon their requests and
    /// end; the extra connections close as their workers return.
    fn pass_on_cancel(&mut self) {
        if self.cancelled || !self.token.as_ref().is_some_and(CancelToken::is_cancelled) {
            return;
        }
        self.cancelled = true;
        self.stop.store(true, Ordering::Relaxed);
        let e = Error::new(
            ErrorKind::Cancelled,
            "the tree operation was cancelled (its cancel token was set)",
        );
        self.report.fatal.get_or_insert(e);
    }

    /// Call the progress callback (at most every PROGRESS_EVERY unless
    /// `now`); a false return cancels the operation.
    fn tick(&mut self, now: bool) {
        let Some(cb) = self.progress.as_mut() else {
            return;
        };
        if self.cancelled || (!now && self.last_call.elapsed() < PROGRESS_EVERY) {
            return;
        }
        self.last_call = Instant::now();
        if !cb(self.totals) {
            self.cancelled = true;
            self.stop.store(true, Ordering::Relaxed);
            self.report.fatal = Some(Error::stopped_by("progress"));
        }
    }
}

/// One worker: large files one at a time through the streaming pipeline,
/// small ones batched, many in flight, until the walk is over and the
/// queue empty. A large file met while batching ends the batch (once its
/// tasks are done) and streams.
fn work(st: &mut State, queue: &Queue, stop: &AtomicBool, tx: &Sender<Event>, s: &Settings) {
    loop {
        let mut large = None;
        let mut retries = Vec::new();
        let in_flight = std::cell::Cell::new(0usize);
        let result = batch::run(
            &mut st.sftp,
            TASKS_IN_FLIGHT,
            || {
                if large.is_some() {
                    return None;
                }
                // Wait for a file only with nothing in flight: replies come first.
                let job = match queue.take(in_flight.get() == 0, stop) {
                    Take::Job(job) => job,
                    Take::Wait | Take::Done => return None,
                };
                if job.size() > SMALL_FILE || has_part(&job, s) {
                    large = Some(job);
                    return None;
                }
                in_flight.set(in_flight.get() + 1);
                send(tx, Event::Started(job.rel().to_vec()));
                Some(small_task(job, s))
            },
            |task| {
                in_flight.set(in_flight.get() - 1);
                let (outcome, job) = task.finish();
                match outcome {
                    Outcome::Retry => retries.push(job),
                    o => send(tx, Event::Finished(job.rel().to_vec(), o, 0)),
                }
            },
        );
        // Files that were not what their listing said: stream them now (or
        // report them, if the connection failed meanwhile).
        for job in retries {
            match &result {
                Ok(()) => stream(st, job, stop, tx, s),
                Err(e) => send(
                    tx,
                    Event::Finished(job.rel().to_vec(), Outcome::Failed(e.clone()), 0),
                ),
            }
        }
        match (large, &result) {
            (Some(job), Ok(())) => stream(st, job, stop, tx, s),
            (Some(job), Err(e)) => send(
                tx,
                Event::Finished(job.rel().to_vec(), Outcome::Failed(e.clone()), 0),
            ),
            (None, _) => return,
        }
        if result.is_err() {
            return;
        }
    }
}

/// A small-file task of either direction.
enum SmallTask<'a> {
    Get(GetTask<'a>),
    Put(PutTask<'a>),
}

fn small_task(job: Job, s: &Settings) -> SmallTask<'_> {
    match job {
        Job::Get {
            remote,
            local,
            attrs,
            rel,
        } => SmallTask::Get(GetTask::new(remote, local, attrs, rel, s)),
        Job::Put {
            local,
            remote,
            attrs,
            rel,
        } => SmallTask::Put(PutTask::new(local, remote, attrs, rel, s)),
    }
}

impl SmallTask<'_> {
    fn finish(self) -> (Outcome, Job) {
        match self {
            SmallTask::Get(t) => {
                let (o, t) = t.finish();
                let job = Job::Get {
                    remote: t.remote,
                    local: t.local,
                    attrs: t.attrs,
                    rel: t.rel,
                };
                (o, job)
            }
            SmallTask::Put(t) => {
                let (o, t) = t.finish();
                let job = Job::Put {
                    local: t.local,
                    remote: t.remote,
                    attrs: t.attrs,
                    rel: t.rel,
                };
                (o, job)
            }
        }
    }
}

impl batch::Task for SmallTask<'_> {
    fn start(&mut self, ch: &mut crate::sftp::SftpChannel) -> Vec<u32> {
        match self {
            SmallTask::Get(t) => t.start(ch),
            SmallTask::Put(t) => t.start(ch),
        }
    }
    fn reply(
        &mut self,
        ch: &mut crate::sftp::SftpChannel,
        id: u32,
        reply: crate::sftp::Reply<'static>,
    ) -> Vec<u32> {
        match self {
            SmallTask::Get(t) => t.reply(ch, id, reply),
            SmallTask::Put(t) => t.reply(ch, id, reply),
        }
    }
    fn abort(&mut self, err: &Error) {
        match self {
            SmallTask::Get(t) => t.abort(err),
            SmallTask::Put(t) => t.abort(err),
        }
    }
    fn cleanup(&mut self, ch: &mut crate::sftp::SftpChannel) {
        match self {
            SmallTask::Get(t) => t.cleanup(ch),
            SmallTask::Put(t) => t.cleanup(ch),
        }
    }
}

/// One large (or retried) file through the streaming pipeline, reporting
/// bytes as they move and stopping when the operation is stopped.
fn stream(st: &mut State, job: Job, stop: &AtomicBool, tx: &Sender<Event>, s: &Settings) {
    send(tx, Event::Started(job.rel().to_vec()));
    let mut sent = 0u64;
    let mut progress = |done: u64, _total: u64| {
        send(tx, Event::Bytes(done - sent));
        sent = done;
        !stop.load(Ordering::Relaxed)
    };
    let result = match &job {
        Job::Get { remote, local, .. } => stream_get(st, remote, local, s, &mut progress),
        Job::Put {
            local,
            remote,
            attrs,
            ..
        } => stream_put(st, local, remote, attrs, s, &mut progress),
    };
    let outcome = match result {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e),
    };
    send(tx, Event::Finished(job.rel().to_vec(), outcome, sent));
}

/// A get whose local part file may be continued (the stream path checks
/// that it provably is the same source's). A small put's remote part file
/// is not looked for: the batch rewrites it whole.
fn has_part(job: &Job, s: &Settings) -> bool {
    // Verified files stream too: the check sits between the data and the
    // rename, which the batched path does not stop at.
    if s.opts.verify != crate::core::options::Verify::Off {
        return true;
    }
    match job {
        Job::Get { local, .. } => {
            s.opts.keeps_parts() && std::fs::symlink_metadata(part_path(local)).is_ok()
        }
        Job::Put { .. } => false,
    }
}

fn stream_get(
    st: &mut State,
    remote: &[u8],
    local: &std::path::Path,
    s: &Settings,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<Outcome> {
    let fo = FileOpts {
        times: s.keeps_mtime(),
        mode: s.opts.preserve_mode,
        confirm: false,
    };
    let n = st.get_file(remote, local, &s.origin, Some(progress), fo, &s.opts, None)?;
    Ok(Outcome::Copied(n))
}

fn stream_put(
    st: &mut State,
    local: &std::path::Path,
    remote: &[u8],
    attrs: &crate::sftp::Attrs,
    s: &Settings,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<Outcome> {
    if s.opts.sync {
        let meta = std::fs::metadata(local).map_err(|e| Error::local_io("stat", local, &e))?;
        let same = |a: crate::sftp::Attrs| {
            a.size == Some(meta.len()) && a.mtime() == Some(unix_secs(meta.modified()))
        };
        if crate::core::fsops::probe(st.sftp.stat(remote))?.is_some_and(same) {
            return Ok(Outcome::Skipped(meta.len()));
        }
    }
    let fo = FileOpts {
        times: s.keeps_mtime(),
        mode: s.opts.preserve_mode,
        confirm: s.confirm,
    };
    st.put_file(local, remote, Some(progress), fo, &s.opts, None)?;
    Ok(Outcome::Copied(attrs.size.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::{AtomicBool, Job, Queue, Take, QUEUE_BOUND};

    fn job(i: usize) -> Job {
        Job::Get {
            remote: format!("/r/f{i}").into_bytes(),
            local: format!("/l/f{i}").into(),
            attrs: crate::sftp::Attrs::default(),
            rel: format!("f{i}").into_bytes(),
        }
    }

    fn taken(t: Take) -> Option<Vec<u8>> {
        match t {
            Take::Job(j) => Some(j.rel().to_vec()),
            Take::Wait | Take::Done => None,
        }
    }

    #[test]
    fn workers_wait_for_a_full_queue_once_then_take_files_as_they_come() {
        let (queue, stop) = (Queue::new(1, None), AtomicBool::new(false));
        for i in 0..QUEUE_BOUND - 1 {
            queue.push(job(i), false, &stop).unwrap();
        }
        assert!(
            taken(queue.take(false, &stop)).is_none(),
            "not full yet: the walk may still find large files to go first"
        );
        queue.push(job(QUEUE_BOUND - 1), false, &stop).unwrap();
        assert_eq!(taken(queue.take(false, &stop)), Some(b"f0".to_vec()));
        // Below the bound again, the walk still going: the next files are
        // taken at once, without waiting for the walk to fill the queue.
        assert_eq!(taken(queue.take(false, &stop)), Some(b"f1".to_vec()));
        assert_eq!(taken(queue.take(false, &stop)), Some(b"f2".to_vec()));
        queue.walked();
        let rest = std::iter::from_fn(|| taken(queue.take(false, &stop))).count();
        assert_eq!(rest, QUEUE_BOUND - 3);
        assert!(matches!(queue.take(true, &stop), Take::Done));
    }
}
