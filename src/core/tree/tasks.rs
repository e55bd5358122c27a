//! The per-file state machines of the tree operations, run many at a time
//! on one connection by the batch engine.
//!
//! A small get is OPEN, then all its READs (plus one past the end, to see
//! EOF) and the CLOSE at once: two round trips, overlapped with the other
//! files'. A small put is [STAT of the destination for sync or to keep its
//! mode] + OPEN, then WRITEs, FSETSTAT and CLOSE at once, then the rename
//! into place and the confirming STAT.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use super::plan::{Entry, Kind};
use super::{remote_path, Failure, Settings, TreeReport};
use crate::core::conn::State;
use crate::core::local::LocalTarget;
use crate::core::options::PART_SUFFIX;
use crate::core::paths::{remote_basename, remote_dirname, remote_join};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::batch::{self, Task};
use crate::sftp::{fxp, open_flags, status, status_error, Attrs, Reply, SftpChannel};

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
    /// The file was not what the listing said (it grew, or a read came back
    /// short): stream it instead.
    Retry,
}

fn bad_reply(op: &str, path: &str) -> Error {
    Error::new(
        ErrorKind::Sftp,
        format!("{op} '{path}': the server sent an unexpected reply"),
    )
}

fn queue_handle_op(ch: &mut SftpChannel, kind: u8, handle: &[u8]) -> u32 {
    ch.queue(kind, |e| {
        e.string(handle);
    })
}

/// Download of one small file.
pub struct GetTask<'a> {
    pub remote: String,
    pub local: PathBuf,
    pub attrs: Attrs,
    pub rel: String,
    s: &'a Settings,
    target: Option<LocalTarget>,
    /// READ requests in flight: id -> (offset, length, is the EOF probe).
    reads: HashMap<u32, (u64, u32, bool)>,
    opened: bool,
    end: u64,
    eof_at: Option<u64>,
    error: Option<Error>,
    retry: bool,
}

impl<'a> GetTask<'a> {
    pub fn new(remote: String, local: PathBuf, attrs: Attrs, rel: String, s: &'a Settings) -> Self {
        GetTask {
            remote,
            local,
            attrs,
            rel,
            s,
            target: None,
            reads: HashMap::new(),
            opened: false,
            end: 0,
            eof_at: None,
            error: None,
            retry: false,
        }
    }

    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    fn on_handle(&mut self, ch: &mut SftpChannel, handle: &[u8]) -> Vec<u32> {
        let size = self.attrs.size.unwrap_or(0);
        let chunk = ch.max_read as u64;
        let mut ids = Vec::new();
        let mut off = 0;
        while off < size {
            let len = (size - off).min(chunk) as u32;
            ids.push(self.queue_read(ch, handle, off, len, false));
            off += len as u64;
        }
        ids.push(self.queue_read(ch, handle, size, chunk as u32, true));
        ids.push(queue_handle_op(ch, fxp::CLOSE, handle));
        ids
    }

    fn queue_read(
        &mut self,
        ch: &mut SftpChannel,
        handle: &[u8],
        off: u64,
        len: u32,
        probe: bool,
    ) -> u32 {
        let id = ch.queue(fxp::READ, |e| {
            e.string(handle).u64(off).u32(len);
        });
        self.reads.insert(id, (off, len, probe));
        id
    }

    fn on_data(&mut self, (off, len, probe): (u64, u32, bool), data: &[u8]) {
        if data.len() > len as usize
            || (probe && !data.is_empty())
            || (!probe && data.len() < len as usize)
        {
            // Longer than asked is hostile; a growing file or a short read
            // needs the streaming path.
            if data.len() > len as usize {
                return self.fail(bad_reply("read", &self.remote));
            }
            self.retry = true;
            return;
        }
        if let Some(t) = &self.target {
            if let Err(e) = t.file.write_all_at(data, off) {
                let path = t.write_to.clone();
                return self.fail(Error::local_io("write", &path, &e));
            }
        }
        self.end = self.end.max(off + data.len() as u64);
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
            return (Outcome::Failed(bad_reply("read", &self.remote)), self);
        };
        let len = self.eof_at.map_or(self.end, |e| e.min(self.end));
        let committed = t
            .file
            .set_len(len)
            .map_err(|e| Error::local_io("truncate", &t.write_to, &e))
            .and_then(|_| {
                let times = self.attrs.atime_mtime.filter(|_| self.s.keeps_mtime());
                let mode = self
                    .attrs
                    .permissions
                    .filter(|_| self.s.opts.preserve_mode)
                    .map(|m| m & 0o777);
                t.commit(times, mode, self.s.opts.fsync)
            });
        match committed {
            Ok(()) => (Outcome::Copied(len), self),
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
        match LocalTarget::open(&self.local, &opts, self.attrs.size) {
            Ok(t) => self.target = Some(t),
            Err(e) => {
                self.fail(e);
                return Vec::new();
            }
        }
        let path = self.remote.clone();
        vec![ch.queue(fxp::OPEN, |e| {
            e.string(path.as_bytes())
                .u32(open_flags::READ)
                .attrs(&Attrs::default());
        })]
    }

    fn reply(&mut self, ch: &mut SftpChannel, id: u32, reply: Reply<'static>) -> Vec<u32> {
        if !self.opened {
            self.opened = true;
            return match reply {
                Reply::Handle(h) => self.on_handle(ch, &h),
                Reply::Status { code, message } => {
                    self.fail(status_error(code, &message, "open", &self.remote));
                    Vec::new()
                }
                _ => {
                    self.fail(bad_reply("open", &self.remote));
                    Vec::new()
                }
            };
        }
        let read = self.reads.remove(&id);
        match (read, reply) {
            (Some(r), Reply::Data(d)) => self.on_data(r, &d),
            (
                Some((off, _, _)),
                Reply::Status {
                    code: status::EOF, ..
                },
            ) => {
                self.eof_at = Some(self.eof_at.map_or(off, |e| e.min(off)));
            }
            (Some(_), Reply::Status { code, message }) => {
                self.fail(status_error(code, &message, "read", &self.remote))
            }
            (
                None,
                Reply::Status {
                    code: status::OK, ..
                },
            ) => {}
            (None, Reply::Status { code, message }) => {
                self.fail(status_error(code, &message, "close", &self.remote))
            }
            _ => self.fail(bad_reply("read", &self.remote)),
        }
        Vec::new()
    }

    fn abort(&mut self, err: &Error) {
        self.fail(err.clone());
    }
}

/// Which stage of a put the replies in flight belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PutPhase {
    /// Sync mode: the destination's STAT decides.
    Checking,
    /// [STAT of the old file] + OPEN.
    Opening,
    /// WRITEs, FSETSTAT, [fsync], CLOSE.
    Writing,
    /// Rename into place, [STAT to confirm].
    Committing,
    /// REMOVE of the temporary file after a failure.
    Cleaning,
}

/// What one request of a put was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    StatDest,
    Open,
    Write,
    SetStat,
    Fsync,
    Close,
    RemoveOld,
    Rename,
    Confirm,
    Cleanup,
}

impl Role {
    fn op(self) -> &'static str {
        match self {
            Role::StatDest | Role::Confirm => "stat",
            Role::Open => "open",
            Role::Write => "write",
            Role::SetStat => "fsetstat",
            Role::Fsync => "fsync",
            Role::Close => "close",
            Role::RemoveOld | Role::Cleanup => "remove",
            Role::Rename => "rename",
        }
    }
}

/// Upload of one small file.
pub struct PutTask<'a> {
    pub local: PathBuf,
    pub remote: String,
    pub attrs: Attrs,
    pub rel: String,
    s: &'a Settings,
    data: Vec<u8>,
    temp: String,
    phase: PutPhase,
    roles: HashMap<u32, Role>,
    old_attrs: Option<Attrs>,
    handle: Option<Vec<u8>>,
    skipped: bool,
    error: Option<Error>,
}

impl<'a> PutTask<'a> {
    pub fn new(local: PathBuf, remote: String, attrs: Attrs, rel: String, s: &'a Settings) -> Self {
        let temp = if s.opts.atomic {
            remote_join(
                remote_dirname(&remote),
                &format!(".{}.{PART_SUFFIX}", remote_basename(&remote)),
            )
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
            temp,
            phase: PutPhase::Opening,
            roles: HashMap::new(),
            old_attrs: None,
            handle: None,
            skipped: false,
            error: None,
        }
    }

    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    fn track(&mut self, id: u32, role: Role) -> u32 {
        self.roles.insert(id, role);
        id
    }

    fn queue_path(&mut self, ch: &mut SftpChannel, kind: u8, path: &str, role: Role) -> u32 {
        let id = ch.queue(kind, |e| {
            e.string(path.as_bytes());
        });
        self.track(id, role)
    }

    fn open(&mut self, ch: &mut SftpChannel, with_stat: bool) -> Vec<u32> {
        self.phase = PutPhase::Opening;
        let mut ids = Vec::new();
        if with_stat {
            let dest = self.remote.clone();
            ids.push(self.queue_path(ch, fxp::STAT, &dest, Role::StatDest));
        }
        let temp = self.temp.clone();
        let id = ch.queue(fxp::OPEN, |e| {
            e.string(temp.as_bytes())
                .u32(open_flags::WRITE | open_flags::CREAT | open_flags::TRUNC)
                .attrs(&Attrs::default());
        });
        ids.push(self.track(id, Role::Open));
        ids
    }

    /// Attributes to set on the new file: times, and the mode (the local
    /// one with preserve_mode, else the replaced file's, never wider).
    fn final_attrs(&self) -> Attrs {
        let times = self.attrs.atime_mtime.filter(|_| self.s.keeps_mtime());
        let mode = if self.s.opts.preserve_mode {
            self.attrs.permissions.map(|m| m & 0o7777)
        } else {
            let old = self.old_attrs.filter(|a| a.is_file() && self.s.opts.atomic);
            old.and_then(|a| a.permissions).map(|m| m & 0o7777)
        };
        Attrs {
            atime_mtime: times,
            permissions: mode,
            ..Attrs::default()
        }
    }

    fn write_all(&mut self, ch: &mut SftpChannel, handle: &[u8]) -> Vec<u32> {
        self.phase = PutPhase::Writing;
        let mut ids = Vec::new();
        let chunk = ch.max_write as usize;
        let data = std::mem::take(&mut self.data);
        for (i, piece) in data.chunks(chunk).enumerate() {
            let off = (i * chunk) as u64;
            let id = ch.queue(fxp::WRITE, |e| {
                e.string(handle).u64(off).string(piece);
            });
            ids.push(self.track(id, Role::Write));
        }
        self.data = data;
        let attrs = self.final_attrs();
        if attrs != Attrs::default() {
            let id = ch.queue(fxp::FSETSTAT, |e| {
                e.string(handle).attrs(&attrs);
            });
            ids.push(self.track(id, Role::SetStat));
        }
        if self.s.opts.fsync && ch.has_extension("fsync@openssh.com") {
            let id = ch.queue(fxp::EXTENDED, |e| {
                e.string(b"fsync@openssh.com").string(handle);
            });
            ids.push(self.track(id, Role::Fsync));
        }
        let id = queue_handle_op(ch, fxp::CLOSE, handle);
        ids.push(self.track(id, Role::Close));
        ids
    }

    /// Rename into place (posix-rename@openssh.com when offered, else
    /// remove then rename), then the confirming STAT: sent together, the
    /// server handles them in order.
    fn commit(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        self.phase = PutPhase::Committing;
        let mut ids = Vec::new();
        let (temp, dest) = (self.temp.clone(), self.remote.clone());
        if temp != dest {
            if ch.has_extension("posix-rename@openssh.com") {
                let id = ch.queue(fxp::EXTENDED, |e| {
                    e.string(b"posix-rename@openssh.com")
                        .string(temp.as_bytes())
                        .string(dest.as_bytes());
                });
                ids.push(self.track(id, Role::Rename));
            } else {
                ids.push(self.queue_path(ch, fxp::REMOVE, &dest, Role::RemoveOld));
                let id = ch.queue(fxp::RENAME, |e| {
                    e.string(temp.as_bytes()).string(dest.as_bytes());
                });
                ids.push(self.track(id, Role::Rename));
            }
        }
        if self.s.confirm {
            ids.push(self.queue_path(ch, fxp::STAT, &dest, Role::Confirm));
        }
        ids
    }

    /// After a failure: drop the temporary upload (never the destination).
    fn clean_up(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        self.phase = PutPhase::Cleaning;
        if self.handle.is_none() || self.temp == self.remote {
            return Vec::new();
        }
        let temp = self.temp.clone();
        vec![self.queue_path(ch, fxp::REMOVE, &temp, Role::Cleanup)]
    }

    /// Every reply of the current phase is in: start the next phase.
    fn advance(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        if self.error.is_some() {
            return match self.phase {
                PutPhase::Cleaning => Vec::new(),
                _ => self.clean_up(ch),
            };
        }
        match self.phase {
            PutPhase::Checking if self.skipped => Vec::new(),
            PutPhase::Checking => self.open(ch, false),
            PutPhase::Opening => match self.handle.clone() {
                Some(h) => self.write_all(ch, &h),
                None => Vec::new(),
            },
            PutPhase::Writing => self.commit(ch),
            PutPhase::Committing | PutPhase::Cleaning => Vec::new(),
        }
    }

    fn on_reply(&mut self, role: Role, reply: Reply<'static>) {
        match (role, reply) {
            (Role::StatDest, Reply::Attrs(a)) => {
                if self.phase == PutPhase::Checking {
                    self.skipped = a.is_file()
                        && a.size == self.attrs.size
                        && a.mtime().is_some()
                        && a.mtime() == self.attrs.mtime();
                }
                self.old_attrs = Some(a);
            }
            (Role::StatDest | Role::RemoveOld | Role::Cleanup, _) => {}
            (Role::Open, Reply::Handle(h)) => self.handle = Some(h.into_owned()),
            (Role::Confirm, Reply::Attrs(a)) if a.size == Some(self.data.len() as u64) => {}
            (Role::Confirm, Reply::Attrs(a)) => self.fail(Error::new(
                ErrorKind::Sftp,
                format!(
                    "put '{}': size mismatch in put! remote {:?} != local {}",
                    self.remote,
                    a.size,
                    self.data.len()
                ),
            )),
            (
                _,
                Reply::Status {
                    code: status::OK, ..
                },
            ) if role != Role::Open && role != Role::Confirm => {}
            (r, Reply::Status { code, message }) => {
                let path = if r == Role::Rename || r == Role::Confirm {
                    self.remote.clone()
                } else {
                    self.temp.clone()
                };
                self.fail(status_error(code, &message, r.op(), &path))
            }
            (r, _) => self.fail(bad_reply(r.op(), &self.remote)),
        }
    }

    pub fn finish(self) -> (Outcome, Self) {
        let n = self.data.len() as u64;
        let outcome = match (&self.error, self.skipped) {
            (Some(e), _) => Outcome::Failed(e.clone()),
            (None, true) => Outcome::Skipped(n),
            (None, false) => Outcome::Copied(n),
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
            let dest = self.remote.clone();
            return vec![self.queue_path(ch, fxp::STAT, &dest, Role::StatDest)];
        }
        let keep_mode = self.s.opts.atomic && !self.s.opts.preserve_mode;
        self.open(ch, keep_mode)
    }

    fn reply(&mut self, ch: &mut SftpChannel, id: u32, reply: Reply<'static>) -> Vec<u32> {
        let Some(role) = self.roles.remove(&id) else {
            return Vec::new();
        };
        self.on_reply(role, reply);
        if self.roles.is_empty() {
            self.advance(ch)
        } else {
            Vec::new()
        }
    }

    fn abort(&mut self, err: &Error) {
        self.fail(err.clone());
    }
}

/// Creates one remote directory; an existing directory is fine.
struct MkdirTask {
    path: String,
    checking: bool,
    error: Option<Error>,
}

impl Task for MkdirTask {
    fn start(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        let p = self.path.clone();
        vec![ch.queue(fxp::MKDIR, |e| {
            e.string(p.as_bytes()).attrs(&Attrs::default());
        })]
    }

    fn reply(&mut self, ch: &mut SftpChannel, _id: u32, reply: Reply<'static>) -> Vec<u32> {
        match (self.checking, reply) {
            (
                false,
                Reply::Status {
                    code: status::OK, ..
                },
            ) => Vec::new(),
            (false, Reply::Status { code, message }) => {
                // Failed: fine if a directory is already there.
                self.checking = true;
                self.error = Some(status_error(code, &message, "mkdir", &self.path));
                let p = self.path.clone();
                vec![ch.queue(fxp::STAT, |e| {
                    e.string(p.as_bytes());
                })]
            }
            (true, Reply::Attrs(a)) if a.is_dir() => {
                self.error = None;
                Vec::new()
            }
            (true, Reply::Attrs(_)) => {
                self.error = Some(Error::new(
                    ErrorKind::Exists,
                    format!("mkdir '{}': a file is in the way", self.path),
                ));
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn abort(&mut self, err: &Error) {
        self.error = Some(err.clone());
    }
}

/// Create the remote directories of a put_r, parents first, pipelined (the
/// server handles requests in order).
pub fn make_remote_dirs(
    st: &mut State,
    base: &str,
    dirs: &[&Entry],
    report: &mut TreeReport,
) -> Result<()> {
    let mut paths: Vec<(usize, String)> = dirs
        .iter()
        .map(|d| (d.rel.len(), remote_path(base, &d.rel)))
        .collect();
    paths.sort();
    let mut it = paths.into_iter();
    batch::run(
        &mut st.sftp,
        64,
        || {
            it.next().map(|(_, path)| MkdirTask {
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
    )
}

/// After the files of a put: recreate links and set directory modes.
pub fn finish_remote(
    st: &mut State,
    base: &str,
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
