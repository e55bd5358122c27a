//! Spreads file jobs over N connections (this one plus N-1 opened with the
//! same credentials). Workers take large files first and stream them with
//! the full pipeline, then batch the small ones. The calling thread only
//! coordinates: it counts progress, calls the progress callback (on the
//! caller's thread, as the API promises) and stops the workers on
//! cancellation or, with the stop policy, on the first failure.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Mutex;
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

/// What workers tell the coordinator.
enum Event {
    Bytes(u64),
    Started(Vec<u8>),
    Finished(Vec<u8>, Outcome, u64),
    /// A worker could not open its connection.
    NoConnection(Error),
}

/// The work still to do, shared by the workers.
struct Queue {
    large: Mutex<VecDeque<Job>>,
    small: Mutex<VecDeque<Job>>,
}

impl Queue {
    /// Large files, and files with a part file to continue, stream; the
    /// others are batched.
    fn new(mut jobs: Vec<Job>, s: &Settings) -> Queue {
        jobs.sort_by_key(|j| std::cmp::Reverse(j.size()));
        let (large, small): (Vec<Job>, Vec<Job>) = jobs
            .into_iter()
            .partition(|j| j.size() > SMALL_FILE || has_part(j, s));
        Queue {
            large: Mutex::new(large.into()),
            small: Mutex::new(small.into()),
        }
    }

    fn pop(q: &Mutex<VecDeque<Job>>) -> Option<Job> {
        q.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }

    fn remaining(&self) -> Vec<Job> {
        let mut v: Vec<Job> = self
            .large
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        v.extend(
            self.small
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .drain(..),
        );
        v
    }
}

/// Run `jobs` and record the outcome in `report`. With retries, a round
/// that failed only for the link's sake (CONNECTION_LOST, TIMEOUT) is
/// followed by another of the files not completed yet, after the back-off
/// and a reconnect (retry.rs); progress never goes back.
pub fn run(
    conn: &Connection,
    jobs: Vec<Job>,
    s: &Settings,
    progress: Option<&mut TreeProgressFn<'_>>,
    report: &mut TreeReport,
) {
    if let Err(e) = conn.refuse_held_here("a tree operation") {
        report.fatal = Some(e);
        return;
    }
    let mut totals = TreeProgress {
        files_total: jobs.len() as u64 + report.files_skipped,
        files_done: report.files_skipped,
        bytes_total: jobs.iter().map(Job::size).sum(),
        ..TreeProgress::default()
    };
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
    let mut round = jobs;
    loop {
        let before = report.failures.len();
        let completed = run_round(conn, round.clone(), s, &mut monotonic, report, &mut totals);
        let Some(next) = retry_round(conn, s, report, before, round, &completed) else {
            return;
        };
        report.retries += 1;
        let what = "tree transfer";
        if let Err(e) = conn.recover(&s.opts, report.retries, what, &next.1) {
            report.failures.push(Failure::new(b"(connection)", e));
            return;
        }
        round = next.0;
        // Every file of the new round reports its bytes from its start.
        totals.files_done = totals.files_total - round.len() as u64;
        totals.bytes_done = totals.bytes_total - round.iter().map(Job::size).sum::<u64>();
    }
}

/// After a round: the jobs to run again and why, if the round failed only
/// for the link's sake and retries are left. The retried failures leave
/// the report (they are attempted again).
fn retry_round(
    conn: &Connection,
    s: &Settings,
    report: &mut TreeReport,
    before: usize,
    round: Vec<Job>,
    completed: &HashSet<Vec<u8>>,
) -> Option<(Vec<Job>, Error)> {
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
    let again: Vec<Job> = round
        .into_iter()
        .filter(|j| !completed.contains(j.rel()) && !failed.contains(j.rel()))
        .collect();
    (!again.is_empty()).then_some((again, first))
}

/// One round: run `jobs` on this connection and new extra ones; returns
/// the relative paths of the files completed (copied or skipped).
fn run_round(
    conn: &Connection,
    jobs: Vec<Job>,
    s: &Settings,
    progress: &mut TreeProgressFn<'_>,
    report: &mut TreeReport,
    totals: &mut TreeProgress,
) -> HashSet<Vec<u8>> {
    let workers = s.opts.parallelism.clamp(1, jobs.len().max(1));
    let queue = Queue::new(jobs, s);
    let stop = AtomicBool::new(false);
    let siblings = Siblings::default();
    // The caller's cancel token stops the workers too, on every connection.
    let token = call_token();
    let (tx, rx) = channel();
    let mut coordinator = Coordinator {
        progress: Some(progress),
        totals,
        completed: HashSet::new(),
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
        for i in 0..workers {
            let (tx, queue, stop, siblings) = (tx.clone(), &queue, &stop, &siblings);
            let token = token.clone();
            scope.spawn(move || {
                let sibling;
                let c = if i == 0 {
                    conn
                } else {
                    match siblings.connect(conn) {
                        Ok(c) => {
                            sibling = c;
                            &sibling
                        }
                        Err(e) => return send(&tx, Event::NoConnection(e)),
                    }
                };
                let r = with_cancel_token(token.clone(), || {
                    c.with(|st| {
                        st.with_share(workers, |st| work(st, queue, stop, &tx, s));
                        Ok(())
                    })
                });
                if i > 0 && token.as_ref().is_some_and(CancelToken::is_cancelled) {
                    settle(c);
                }
                if let Err(e) = r {
                    send(&tx, Event::NoConnection(e));
                }
            });
        }
        drop(tx);
        coordinator.collect(rx);
    });
    let cancelled = coordinator.cancelled;
    let completed = std::mem::take(&mut coordinator.completed);
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
    completed
}

/// Before an extra connection closes after a cancel: one round trip, so
/// that the server has run the cleanup the cancelled calls sent without
/// waiting (CLOSE, REMOVE of part files) before the connection ends (a
/// server ending the session may drop requests still queued behind the
/// abandoned WRITEs). Not under the token: this is the cleanup's end. On
/// a frozen link it waits like any call (timeouts, psftp_interrupt).
fn settle(c: &Connection) {
    let _ = c.with(|st| st.sftp.realpath(b"."));
}

fn send(tx: &Sender<Event>, e: Event) {
    let _ = tx.send(e);
}

struct Coordinator<'a, 'p> {
    progress: Option<&'a mut TreeProgressFn<'p>>,
    totals: &'a mut TreeProgress,
    /// The files copied or skipped (a retry skips them).
    completed: HashSet<Vec<u8>>,
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
        self.tick(true);
        if let Some(e) = no_connection {
            // Only fatal if nothing got through at all.
            if self.report.files_copied == 0 && self.totals.files_total > self.totals.files_done {
                self.report.failures.push(Failure::new(b"(connection)", e));
            }
        }
    }

    fn finished(&mut self, path: Vec<u8>, outcome: Outcome, streamed: u64) {
        self.totals.files_done += 1;
        self.totals.current_path = path.clone();
        match outcome {
            Outcome::Copied(n) => {
                self.completed.insert(path.clone());
                self.report.files_copied += 1;
                self.report.bytes += n;
                self.totals.bytes_done += n.saturating_sub(streamed);
            }
            Outcome::Skipped(n) => {
                self.completed.insert(path.clone());
                self.report.files_skipped += 1;
                self.totals.bytes_done += n;
            }
            Outcome::Failed(e) => {
                // With the stop policy only the first failure is reported,
                // though others may have been in flight with it.
                let stopped = self.policy == ErrorPolicy::Stop && !self.report.failures.is_empty();
                if (e.kind() != ErrorKind::Cancelled || !self.cancelled) && !stopped {
                    self.report.failures.push(Failure::new(&path, e));
                }
                if self.policy == ErrorPolicy::Stop {
                    self.stop.store(true, Ordering::Relaxed);
                }
            }
            Outcome::Retry => {}
        }
        self.tick(true);
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

/// One worker: large files one at a time, then the small ones batched.
fn work(st: &mut State, queue: &Queue, stop: &AtomicBool, tx: &Sender<Event>, s: &Settings) {
    while !stop.load(Ordering::Relaxed) && !st.sftp.is_cancelled() {
        let Some(job) = Queue::pop(&queue.large) else {
            break;
        };
        stream(st, job, stop, tx, s);
    }
    let mut retries = Vec::new();
    let result = batch::run(
        &mut st.sftp,
        TASKS_IN_FLIGHT,
        || {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let job = Queue::pop(&queue.small)?;
            send(tx, Event::Started(job.rel().to_vec()));
            Some(small_task(job, s))
        },
        |task| {
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
