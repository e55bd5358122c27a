//! The per-file state machines of the tree operations, run many at a time
//! on one connection by the batch engine. They only sequence requests:
//! every request and reply is a typed request of sftp/request.rs, the
//! local side of a get is `local::LocalTarget` and the remote side of a put
//! `remote::RemoteCommit`, exactly as for get and put.
//!
//! A small get is OPEN, then all its READs (plus one past the end, to see
//! EOF) and the CLOSE at once: two round trips, overlapped with the other
//! files'. A file that is not what its listing said (shorter, longer, a
//! short read) is streamed instead, where FSTAT's size is the promise. A
//! small put is [STAT of the destination for sync or to keep its mode] +
//! OPEN, then WRITEs and the commit's FSETSTAT, FSTAT and CLOSE at once,
//! then the rename into place. On a server not known to run requests in
//! order (Quirks::in_order) the commit waits for the WRITEs' replies, and
//! a get's CLOSE for its READs'.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use super::plan::{Entry, Kind};
use super::{remote_path, Failure, Settings, TreeReport};
use crate::core::conn::State;
use crate::core::local::{self, LocalTarget};
use crate::core::remote::{self, Finish, RemoteCommit};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::batch::{self, Task};
use crate::sftp::request::{Close, Mkdir, Open, Read, Remove, Request, Stat, Write};
use crate::sftp::{open_flags, show, Attrs, Reply, SftpChannel};

/// Files up to this size go through the batch engine; larger ones stream
/// one at a time with the full pipeline.
pub(crate) const SMALL_FILE: u64 = 1024 * 1024;
/// Small-file tasks in flight per connection.
pub(crate) const TASKS_IN_FLIGHT: usize = 32;

/// How a task ended.
#[derive(Debug)]
pub enum Outcome {
    Copied(u64),
    Skipped(u64),
    Failed(Error),
    /// The file was not what the listing said (it grew, shrank, or a read
    /// came back short), or the destination is a device: stream it instead.
    Retry,
}

/// One READ of a small get: where, how much, and whether it is the probe
/// past the listed end.
#[derive(Debug, Clone, Copy)]
struct ReadReq {
    offset: u64,
    len: u32,
    probe: bool,
}

/// Download of one small file.
pub struct GetTask<'a> {
    pub remote: Vec<u8>,
    pub local: PathBuf,
    pub attrs: Attrs,
    pub rel: Vec<u8>,
    s: &'a Settings,
    target: Option<LocalTarget>,
    handle: Option<Vec<u8>>,
    reads: HashMap<u32, ReadReq>,
    close: Option<u32>,
    error: Option<Error>,
    retry: bool,
}

impl<'a> GetTask<'a> {
    pub fn new(
        remote: Vec<u8>,
        local: PathBuf,
        attrs: Attrs,
        rel: Vec<u8>,
        s: &'a Settings,
    ) -> Self {
        GetTask {
            remote,
            local,
            attrs,
            rel,
            s,
            target: None,
            handle: None,
            reads: HashMap::new(),
            close: None,
            error: None,
            retry: false,
        }
    }

    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    /// Every READ (the listed size, then one past it) and the CLOSE.
    fn read_all(&mut self, ch: &mut SftpChannel, handle: &[u8]) -> Vec<u32> {
        let size = self.attrs.size.unwrap_or(0);
        let chunk = ch.max_read as u64;
        let mut ids = Vec::new();
        let mut off = 0;
        loop {
            let probe = off >= size;
            let len = if probe {
                chunk
            } else {
                (size - off).min(chunk)
            } as u32;
            let read = Read {
                handle,
                path: &self.remote,
                offset: off,
                len,
            };
            let id = ch.send(&read);
            self.reads.insert(
                id,
                ReadReq {
                    offset: off,
                    len,
                    probe,
                },
            );
            ids.push(id);
            if probe {
                break;
            }
            off += len as u64;
        }
        // A server not known to run requests in order might close the
        // handle under READs still running: the CLOSE waits for them there.
        if ch.quirks().in_order {
            ids.push(self.close(ch, handle));
        }
        ids
    }

    fn close(&mut self, ch: &mut SftpChannel, handle: &[u8]) -> u32 {
        let close = ch.send(&Close {
            handle,
            path: &self.remote,
        });
        self.close = Some(close);
        close
    }

    fn on_read(&mut self, req: ReadReq, reply: Reply<'static>) {
        let handle = self.handle.clone().unwrap_or_default();
        let read = Read {
            handle: &handle,
            path: &self.remote,
            offset: req.offset,
            len: req.len,
        };
        let data = match read.decode(reply) {
            Ok(d) => d,
            Err(e) => return self.fail(e),
        };
        match (data, req.probe) {
            // The end where the listing said: as it should be.
            (None, true) => {}
            // Data past the listed end, the end before it, or a short
            // read: not what the listing said; the stream path decides.
            (Some(_), true) | (None, false) => self.retry = true,
            (Some(d), false) if d.len() < req.len as usize => self.retry = true,
            (Some(d), false) => {
                if let Some(t) = &self.target {
                    if let Err(e) = t.file.write_all_at(&d, req.offset) {
                        let path = t.write_to.clone();
                        self.fail(Error::local_io("write", &path, &e));
                    }
                }
            }
        }
    }

    /// Commit or discard the local file once every reply is in.
    pub fn finish(mut self) -> (Outcome, Self) {
        let target = self.target.take();
        if let Some(e) = self.error.take() {
            if let Some(t) = target {
                t.abandon(false);
            }
            return (Outcome::Failed(e), self);
        }
        if self.retry {
            if let Some(t) = target {
                t.abandon(false);
            }
            return (Outcome::Retry, self);
        }
        let Some(t) = target else {
            return (Outcome::Retry, self);
        };
        let size = self.attrs.size.unwrap_or(0);
        let finish = local::Finish {
            times: self.attrs.atime_mtime.filter(|_| self.s.keeps_mtime()),
            mode: self
                .attrs
                .permissions
                .filter(|_| self.s.opts.preserve_mode)
                .map(|m| m & 0o777),
            fsync: self.s.opts.fsync,
        };
        match t.commit(finish) {
            Ok(()) => (Outcome::Copied(size), self),
            Err(e) => (Outcome::Failed(e), self),
        }
    }
}

impl Task for GetTask<'_> {
    fn start(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        let opts = crate::core::options::TransferOpts {
            resume: false,
            ..self.s.opts.clone()
        };
        // Reads land out of order, which a device or FIFO cannot take (and
        // opening a FIFO only to close it would end its reader's input).
        if local::is_special(&self.local) {
            self.retry = true;
            return Vec::new();
        }
        match LocalTarget::open(&self.local, &opts, 0, None) {
            Ok(t) => self.target = Some(t),
            Err(e) => {
                self.fail(e);
                return Vec::new();
            }
        }
        vec![ch.send(&self.open())]
    }

    fn reply(&mut self, ch: &mut SftpChannel, id: u32, reply: Reply<'static>) -> Vec<u32> {
        if self.handle.is_none() && self.close.is_none() {
            return match self.open().decode(reply) {
                Ok(h) => {
                    let ids = self.read_all(ch, &h);
                    self.handle = Some(h);
                    ids
                }
                Err(e) => {
                    self.fail(e);
                    Vec::new()
                }
            };
        }
        if let Some(req) = self.reads.remove(&id) {
            self.on_read(req, reply);
            if self.reads.is_empty() && self.close.is_none() {
                let handle = self.handle.clone().unwrap_or_default();
                return vec![self.close(ch, &handle)];
            }
        } else if self.close == Some(id) {
            let handle = self.handle.clone().unwrap_or_default();
            if let Err(e) = (Close {
                handle: &handle,
                path: &self.remote,
            })
            .decode(reply)
            {
                self.fail(e);
            }
        }
        Vec::new()
    }

    fn abort(&mut self, err: &Error) {
        self.fail(err.clone());
    }
}

impl GetTask<'_> {
    fn open(&self) -> Open<'_> {
        Open {
            path: &self.remote,
            flags: open_flags::READ,
            attrs: Attrs::default(),
        }
    }
}

/// Which stage of a put the replies in flight belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PutPhase {
    /// Sync mode: the destination's STAT decides.
    Checking,
    /// [STAT of the old file] + OPEN.
    Opening,
    /// WRITEs, with the commit in flight behind them.
    Writing,
}

/// What one request of a put (outside its commit) was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    StatDest,
    Open,
    Write { offset: u64, len: usize },
}

/// Upload of one small file.
pub struct PutTask<'a> {
    pub local: PathBuf,
    pub remote: Vec<u8>,
    pub attrs: Attrs,
    pub rel: Vec<u8>,
    s: &'a Settings,
    data: Vec<u8>,
    part: Vec<u8>,
    phase: PutPhase,
    roles: HashMap<u32, Role>,
    old_attrs: Option<Attrs>,
    handle: Option<Vec<u8>>,
    /// Boxed: it is most of a task's size, and most tasks in a tree
    /// operation's queue are gets.
    commit: Option<Box<RemoteCommit>>,
    skipped: bool,
    error: Option<Error>,
}

impl<'a> PutTask<'a> {
    pub fn new(
        local: PathBuf,
        remote: Vec<u8>,
        attrs: Attrs,
        rel: Vec<u8>,
        s: &'a Settings,
    ) -> Self {
        let part = if s.opts.atomic {
            remote::part_name(&remote)
        } else {
            remote.clone()
        };
        PutTask {
            local,
            remote,
            attrs,
            rel,
            s,
            data: Vec::new(),
            part,
            phase: PutPhase::Opening,
            roles: HashMap::new(),
            old_attrs: None,
            handle: None,
            commit: None,
            skipped: false,
            error: None,
        }
    }

    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    fn send<R: Request>(&mut self, ch: &mut SftpChannel, req: &R, role: Role) -> u32 {
        let id = ch.send(req);
        self.roles.insert(id, role);
        id
    }

    fn stat_dest(&mut self, ch: &mut SftpChannel) -> u32 {
        let dest = self.remote.clone();
        self.send(ch, &Stat { path: &dest }, Role::StatDest)
    }

    fn open(&mut self, ch: &mut SftpChannel, with_stat: bool) -> Vec<u32> {
        self.phase = PutPhase::Opening;
        let mut ids = Vec::new();
        if with_stat {
            ids.push(self.stat_dest(ch));
        }
        let part = self.part.clone();
        let open = Open {
            path: &part,
            flags: open_flags::WRITE | open_flags::CREAT | open_flags::TRUNC,
            attrs: Attrs::default(),
        };
        ids.push(self.send(ch, &open, Role::Open));
        ids
    }

    /// What the commit sets and checks: times, and the mode (the local one
    /// with preserve_mode, else the replaced file's, never wider).
    fn finish_spec(&self) -> Finish {
        let old = self.old_attrs.filter(|a| a.is_file() && self.s.opts.atomic);
        Finish {
            times: self.attrs.atime_mtime.filter(|_| self.s.keeps_mtime()),
            mode: self
                .attrs
                .permissions
                .filter(|_| self.s.opts.preserve_mode)
                .map(|m| m & 0o7777),
            kept_mode: old.and_then(|a| a.permissions).map(|m| m & 0o7777),
            fsync: self.s.opts.fsync,
            confirm: self.s.confirm.then_some(self.data.len() as u64),
        }
    }

    /// All WRITEs, and on a server that runs requests in order the
    /// commit's first requests (FSETSTAT, fsync, FSTAT, CLOSE) right behind
    /// them. Any other server may run them before the WRITEs land (pkg/sftp
    /// does: its FSTAT saw an empty file), so there the commit starts when
    /// every WRITE is answered.
    fn write_all(&mut self, ch: &mut SftpChannel, handle: Vec<u8>) -> Vec<u32> {
        self.phase = PutPhase::Writing;
        let mut ids = Vec::new();
        let chunk = ch.max_write as usize;
        let data = std::mem::take(&mut self.data);
        let part = self.part.clone();
        for (i, piece) in data.chunks(chunk).enumerate() {
            let offset = (i * chunk) as u64;
            let write = Write {
                handle: &handle,
                path: &part,
                offset,
                data: piece,
            };
            let len = piece.len();
            ids.push(self.send(ch, &write, Role::Write { offset, len }));
        }
        self.data = data;
        self.handle = Some(handle);
        if ids.is_empty() {
            ids.extend(self.start_commit(ch, Some(true))); // an empty file
        } else if ch.quirks().in_order {
            ids.extend(self.start_commit(ch, None));
        }
        ids
    }

    /// Start the commit of the part file; `written`: the data's fate if
    /// already known (else the last WRITE's reply tells it).
    fn start_commit(&mut self, ch: &mut SftpChannel, written: Option<bool>) -> Vec<u32> {
        let handle = self.handle.clone().unwrap_or_default();
        let mut commit = RemoteCommit::new(
            self.part.clone(),
            self.remote.clone(),
            handle,
            self.finish_spec(),
        );
        if let Some(whole) = written {
            commit = commit.with_data(whole);
        }
        let ids = commit.start(ch);
        self.commit = Some(Box::new(commit));
        ids
    }

    /// Every WRITE is answered: the commit may go on (or start).
    fn writes_done(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        let whole = self.error.is_none();
        match self.commit.as_mut() {
            Some(c) => c.data_written(ch, whole),
            None => self.start_commit(ch, Some(whole)),
        }
    }

    fn on_reply(&mut self, ch: &mut SftpChannel, role: Role, reply: Reply<'static>) -> Vec<u32> {
        match role {
            Role::StatDest => {
                if let Ok(a) = (Stat { path: &self.remote }).decode(reply) {
                    if self.phase == PutPhase::Checking {
                        self.skipped = a.is_file()
                            && a.size == self.attrs.size
                            && a.mtime().is_some()
                            && a.mtime() == self.attrs.mtime();
                    }
                    self.old_attrs = Some(a);
                }
            }
            Role::Open => {
                let open = Open {
                    path: &self.part,
                    flags: 0,
                    attrs: Attrs::default(),
                };
                match open.decode(reply) {
                    Ok(h) => self.handle = Some(h),
                    Err(e) => self.fail(e),
                }
            }
            Role::Write { offset, len } => {
                let handle = self.handle.clone().unwrap_or_default();
                let write = Write {
                    handle: &handle,
                    path: &self.part,
                    offset,
                    data: &self.data[offset as usize..offset as usize + len],
                };
                if let Err(e) = write.decode(reply) {
                    self.fail(e);
                }
                if self.roles.is_empty() {
                    return self.writes_done(ch);
                }
            }
        }
        Vec::new()
    }

    /// Every reply of the current phase is in: start the next phase.
    fn advance(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        match self.phase {
            _ if self.error.is_some() => Vec::new(),
            PutPhase::Checking if self.skipped => Vec::new(),
            PutPhase::Checking => self.open(ch, false),
            PutPhase::Opening => match self.handle.take() {
                Some(h) => self.write_all(ch, h),
                None => Vec::new(),
            },
            PutPhase::Writing => Vec::new(),
        }
    }

    pub fn finish(mut self) -> (Outcome, Self) {
        let n = self.data.len() as u64;
        let committed = self.commit.take().map(|c| c.outcome());
        let outcome = match (self.error.take(), committed) {
            (Some(e), _) | (None, Some(Err(e))) => Outcome::Failed(e),
            (None, Some(Ok(_))) => Outcome::Copied(n),
            (None, None) if self.skipped => Outcome::Skipped(n),
            (None, None) => Outcome::Failed(Error::new(
                ErrorKind::Sftp,
                format!("put '{}': not completed", show(&self.remote)),
            )),
        };
        (outcome, self)
    }
}

impl Task for PutTask<'_> {
    fn start(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        match std::fs::read(&self.local) {
            Ok(d) => self.data = d,
            Err(e) => {
                let p = self.local.clone();
                self.fail(Error::local_io("read", &p, &e));
                return Vec::new();
            }
        }
        if self.s.opts.sync {
            self.phase = PutPhase::Checking;
            return vec![self.stat_dest(ch)];
        }
        let keep_mode = self.s.opts.atomic && !self.s.opts.preserve_mode;
        self.open(ch, keep_mode)
    }

    fn reply(&mut self, ch: &mut SftpChannel, id: u32, reply: Reply<'static>) -> Vec<u32> {
        if let Some(c) = self.commit.as_mut().filter(|c| c.owns(id)) {
            return c.reply(ch, id, reply);
        }
        let Some(role) = self.roles.remove(&id) else {
            return Vec::new();
        };
        let mut ids = self.on_reply(ch, role, reply);
        if self.roles.is_empty() && ids.is_empty() {
            ids = self.advance(ch);
        }
        ids
    }

    fn abort(&mut self, err: &Error) {
        self.fail(err.clone());
        if let Some(c) = self.commit.as_mut() {
            c.abort(err);
        }
    }

    /// Stopped once its OPEN went out (a cancel mid-batch): CLOSE and
    /// REMOVE the part file. After a rename that already ran, the REMOVE
    /// finds nothing.
    fn cleanup(&mut self, ch: &mut SftpChannel) {
        if self.phase == PutPhase::Checking || self.part == self.remote {
            return;
        }
        if let Some(handle) = self.handle.take() {
            let close = Close {
                handle: &handle,
                path: &self.part,
            };
            let _ = ch.send_unanswered(&close);
        }
        let _ = ch.send_unanswered(&Remove { path: &self.part });
    }
}

/// Creates one remote directory; an existing directory is fine.
struct MkdirTask {
    path: Vec<u8>,
    checking: bool,
    error: Option<Error>,
}

impl Task for MkdirTask {
    fn start(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        vec![ch.send(&Mkdir {
            path: &self.path,
            attrs: Attrs::default(),
        })]
    }

    fn reply(&mut self, ch: &mut SftpChannel, _id: u32, reply: Reply<'static>) -> Vec<u32> {
        if !self.checking {
            let made = Mkdir {
                path: &self.path,
                attrs: Attrs::default(),
            }
            .decode(reply);
            return match made {
                Ok(()) => Vec::new(),
                Err(e) => {
                    // Failed: fine if a directory is already there.
                    self.checking = true;
                    self.error = Some(e);
                    vec![ch.send(&Stat { path: &self.path })]
                }
            };
        }
        match (Stat { path: &self.path }).decode(reply) {
            Ok(a) if a.is_dir() => self.error = None,
            Ok(_) => {
                self.error = Some(Error::new(
                    ErrorKind::Exists,
                    format!("mkdir '{}': a file is in the way", show(&self.path)),
                ))
            }
            Err(_) => {}
        }
        Vec::new()
    }

    fn abort(&mut self, err: &Error) {
        self.error = Some(err.clone());
    }
}

/// Create the remote directories of a put_r, parents first, pipelined: all
/// at once on a server that runs requests in order, else one level at a
/// time (nothing orders a MKDIR behind its parent's there).
pub fn make_remote_dirs(
    st: &mut State,
    base: &[u8],
    dirs: &[&Entry],
    report: &mut TreeReport,
) -> Result<()> {
    let mut paths: Vec<(usize, Vec<u8>)> = dirs
        .iter()
        .map(|d| (d.rel.len(), remote_path(base, &d.rel)))
        .collect();
    paths.sort();
    let mut levels: Vec<Vec<Vec<u8>>> = Vec::new();
    let in_order = st.sftp.quirks().in_order;
    for (i, (level, path)) in paths.iter().enumerate() {
        if levels.is_empty() || (!in_order && paths[i - 1].0 != *level) {
            levels.push(Vec::new());
        }
        levels.last_mut().expect("a level").push(path.clone());
    }
    for level in levels {
        let mut it = level.into_iter();
        batch::run(
            &mut st.sftp,
            64,
            || {
                it.next().map(|path| MkdirTask {
                    path,
                    checking: false,
                    error: None,
                })
            },
            |t| {
                if let Some(e) = t.error {
                    report.failures.push(Failure::new(&t.path, e));
                }
            },
        )?;
    }
    Ok(())
}

/// After the files of a put: recreate links and set directory modes.
pub fn finish_remote(
    st: &mut State,
    base: &[u8],
    entries: &[Entry],
    s: &Settings,
    report: &mut TreeReport,
) {
    for e in entries {
        let path = remote_path(base, &e.rel);
        let result = match &e.kind {
            Kind::Link(target) => {
                let _ = st.sftp.remove(&path);
                st.sftp.symlink(target, &path)
            }
            Kind::Dir if s.opts.preserve_mode => match e.attrs.permissions {
                Some(m) => st.sftp.setstat(
                    &path,
                    &Attrs {
                        permissions: Some(m & 0o7777),
                        ..Attrs::default()
                    },
                ),
                None => Ok(()),
            },
            _ => Ok(()),
        };
        if let Err(err) = result {
            report.failures.push(Failure::new(&path, err));
        }
    }
}
