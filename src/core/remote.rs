//! The remote side of every upload, in one place: the part file next to the
//! destination, the kept mode, the resume record, and the commit — times
//! and modes, fsync, close, the size check, the rename into place with its
//! fallbacks — with the cleanup of every failure. Single puts, split puts
//! and the tree operations' small and large files all go through it.
//!
//! The commit is a batch task (`RemoteCommit`), so a tree operation runs
//! many at once on one connection and a single put runs one
//! (`batch::run_one`); either way the same requests go out in the same
//! order. Its rules:
//!
//! - The new content is checked (size, type, and mtime when set) on the
//!   part file, before it replaces anything.
//! - The replaced file's permission bits are kept when the server lets us
//!   (FSETSTAT, else SETSTAT); a server that refuses both (managed SFTP
//!   services) still gets the file, with its default mode, and a log line.
//!   Times and modes the caller asked for are required.
//! - posix-rename@openssh.com replaces the destination atomically. Where it
//!   is missing, or refuses to replace an existing file (pkg/sftp request
//!   servers announce it anyway), the old file is first moved aside to a
//!   unique hidden name, the new one renamed into place, then the old one
//!   removed; if the new one cannot be put in place, the old one is moved
//!   back. The old file is never removed before the new one is in place.
//! - Any failure removes the part file (a failed transfer with resume
//!   keeps it for the next attempt), so no empty or partial part file is
//!   left behind.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::options::PART_SUFFIX;
use super::paths::remote_hidden_sibling;
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::batch::Task;
use crate::sftp::request::*;
use crate::sftp::{show, Attrs, Reply, SftpChannel};

/// The part file of an upload to `dest`.
pub fn part_name(dest: &[u8]) -> Vec<u8> {
    remote_hidden_sibling(dest, PART_SUFFIX)
}

/// The resume record of an upload to `dest`.
pub fn record_name(dest: &[u8]) -> Vec<u8> {
    remote_hidden_sibling(dest, super::resume::RECORD_SUFFIX)
}

/// A unique hidden name next to `dest` for the old file while the new one
/// takes its place.
fn aside_name(dest: &[u8]) -> Vec<u8> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tag = format!(
        "psftp.old.{:x}{:x}{:x}",
        std::process::id(),
        nanos,
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    remote_hidden_sibling(dest, &tag)
}

/// What the commit sets and checks besides placing the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Finish {
    /// (atime, mtime) to set: required.
    pub times: Option<(u32, u32)>,
    /// Permission bits the caller asked for: required.
    pub mode: Option<u32>,
    /// The replaced file's permission bits: kept if the server lets us.
    pub kept_mode: Option<u32>,
    /// fsync@openssh.com before closing (when offered).
    pub fsync: bool,
    /// The size the new file must have (`confirm`).
    pub confirm: Option<u64>,
}

impl Finish {
    fn required(&self) -> Attrs {
        Attrs {
            atime_mtime: self.times,
            permissions: self.mode,
            ..Attrs::default()
        }
    }

    fn all(&self) -> Attrs {
        Attrs {
            permissions: self.mode.or(self.kept_mode),
            ..self.required()
        }
    }
}

/// Whether the data went out whole (the owner tells the commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    Pending,
    Whole,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// FSETSTAT, fsync, FSTAT, CLOSE: sent together.
    Finishing,
    /// Finished, waiting for the owner's word on the data.
    Waiting,
    /// SETSTAT on the closed part file, after a refused FSETSTAT.
    Retrying,
    /// Closed and checked, held before placing until the owner's verdict
    /// (a verified put).
    Held,
    Placing,
    CleaningUp,
    Done,
}

/// What one request of the commit was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    FSetStat,
    Fsync,
    Fstat,
    Close,
    SetRequired,
    SetKept,
    StatPart,
    PosixRename,
    Rename,
    ProbeDest,
    /// A plain rename after posix-rename failed with nothing in the way.
    RetryRename,
    MoveAside,
    IntoPlace,
    DropAside,
    Restore,
    DropRecord,
    Cleanup,
}

/// The commit of one upload (see the module's rules).
pub struct RemoteCommit {
    part: Vec<u8>,
    dest: Vec<u8>,
    handle: Vec<u8>,
    finish: Finish,
    /// Resume: a failed transfer keeps the part file (and its record).
    keep_partial: bool,
    /// The resume record to remove once the file is in place.
    record: Option<Vec<u8>>,
    written: Written,
    stage: Stage,
    roles: HashMap<u32, Role>,
    fsetstat_refused: bool,
    /// What the FSTAT saw, checked once FSETSTAT's fate is known.
    fstat: Option<Attrs>,
    /// The first rename's failure, reported if no fallback works.
    rename_error: Option<Error>,
    posix_rename_failed: bool,
    aside: Vec<u8>,
    attrs: Option<Attrs>,
    error: Option<Error>,
    /// Stop before placing (Stage::Held) until `release`.
    hold: bool,
}

impl RemoteCommit {
    /// The commit of the open part file `handle`, to land at `dest`.
    pub fn new(part: Vec<u8>, dest: Vec<u8>, handle: Vec<u8>, finish: Finish) -> RemoteCommit {
        RemoteCommit {
            part,
            dest,
            handle,
            finish,
            keep_partial: false,
            record: None,
            written: Written::Pending,
            stage: Stage::Finishing,
            roles: HashMap::new(),
            fsetstat_refused: false,
            fstat: None,
            rename_error: None,
            posix_rename_failed: false,
            aside: Vec::new(),
            attrs: None,
            error: None,
            hold: false,
        }
    }

    /// Stop once the part file is closed and checked, before it replaces
    /// anything: the owner verifies it, then `release`s and runs it again.
    pub fn hold_before_placing(mut self) -> RemoteCommit {
        self.hold = true;
        self
    }

    /// Whether the commit waits for the owner's verdict.
    pub fn is_held(&self) -> bool {
        self.stage == Stage::Held
    }

    /// The owner's verdict on the held part file: placed when it is Ok,
    /// removed (the error reported) otherwise, once run again.
    pub fn release(&mut self, verdict: Result<()>) {
        if let Err(e) = verdict {
            self.fail(e);
        }
    }

    /// Resume: keep the part file if the data fails, and remove `record`
    /// once the file is in place.
    pub fn resumable(mut self, record: Vec<u8>) -> RemoteCommit {
        self.keep_partial = true;
        self.record = Some(record);
        self
    }

    /// The data is known before the commit starts (blocking uploads).
    pub fn with_data(mut self, whole: bool) -> RemoteCommit {
        self.written = if whole {
            Written::Whole
        } else {
            Written::Failed
        };
        self
    }

    /// The attributes of the new file (from the confirming stat; all
    /// absent without `confirm`), or why the commit failed.
    pub fn outcome(self) -> Result<Attrs> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.attrs.unwrap_or_default()),
        }
    }

    /// Whether this commit sent request `id`.
    pub fn owns(&self, id: u32) -> bool {
        self.roles.contains_key(&id)
    }

    /// The owner's word on the data; returns the requests this lets go out.
    pub fn data_written(&mut self, ch: &mut SftpChannel, whole: bool) -> Vec<u32> {
        self.written = if whole {
            Written::Whole
        } else {
            Written::Failed
        };
        if self.stage == Stage::Waiting {
            self.after_finishing(ch)
        } else {
            Vec::new()
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

    fn rename(&mut self, ch: &mut SftpChannel, from: &[u8], to: &[u8], role: Role) -> Vec<u32> {
        vec![self.send(ch, &Rename { from, to }, role)]
    }

    /// FSETSTAT, fsync, FSTAT and CLOSE, sent at once (just CLOSE when the
    /// data already failed).
    fn finishing(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        self.stage = Stage::Finishing;
        let (handle, path) = (self.handle.clone(), self.part.clone());
        let (handle, path) = (&handle[..], &path[..]);
        let mut ids = Vec::new();
        if self.written != Written::Failed {
            let attrs = self.finish.all();
            if attrs != Attrs::default() {
                ids.push(self.send(
                    ch,
                    &FSetStat {
                        handle,
                        path,
                        attrs,
                    },
                    Role::FSetStat,
                ));
            }
            if self.finish.fsync && ch.has_extension(ext::FSYNC) {
                ids.push(self.send(ch, &Fsync { handle, path }, Role::Fsync));
            }
            if self.finish.confirm.is_some() {
                ids.push(self.send(ch, &Fstat { handle, path }, Role::Fstat));
            }
        }
        ids.push(self.send(ch, &Close { handle, path }, Role::Close));
        ids
    }

    /// Every reply of the current stage is in: start the next one.
    fn advance(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        match self.stage {
            Stage::Finishing => self.after_finishing(ch),
            Stage::Retrying | Stage::Placing if self.error.is_some() => self.clean_up(ch),
            Stage::Retrying => self.place(ch),
            Stage::Held => Vec::new(),
            Stage::Placing | Stage::CleaningUp | Stage::Waiting | Stage::Done => {
                self.stage = Stage::Done;
                Vec::new()
            }
        }
    }

    fn after_finishing(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        match self.written {
            Written::Pending => {
                self.stage = Stage::Waiting;
                return Vec::new();
            }
            Written::Failed => return self.clean_up(ch),
            Written::Whole => {}
        }
        if self.error.is_some() {
            return self.clean_up(ch);
        }
        if self.fsetstat_refused {
            return self.retry_attrs(ch);
        }
        if let Some(a) = self.fstat.take() {
            self.check(a);
            if self.error.is_some() {
                return self.clean_up(ch);
            }
        }
        self.place(ch)
    }

    /// FSETSTAT was refused: SETSTAT the closed part file instead, the
    /// required attributes first, the kept mode apart (best effort), then
    /// check the file again, since the FSTAT saw it before.
    fn retry_attrs(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        self.stage = Stage::Retrying;
        let path = self.part.clone();
        let mut ids = Vec::new();
        let required = self.finish.required();
        if required != Attrs::default() {
            let req = SetStat {
                path: &path,
                attrs: required,
            };
            ids.push(self.send(ch, &req, Role::SetRequired));
        }
        if let (None, Some(mode)) = (self.finish.mode, self.finish.kept_mode) {
            let req = SetStat {
                path: &path,
                attrs: Attrs {
                    permissions: Some(mode),
                    ..Attrs::default()
                },
            };
            ids.push(self.send(ch, &req, Role::SetKept));
        }
        if self.finish.confirm.is_some() {
            ids.push(self.send(ch, &Stat { path: &path }, Role::StatPart));
        }
        ids
    }

    /// Put the checked part file in place.
    fn place(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        if std::mem::take(&mut self.hold) {
            self.stage = Stage::Held;
            return Vec::new();
        }
        self.stage = Stage::Placing;
        if self.part == self.dest {
            return self.placed(ch);
        }
        let (part, dest) = (self.part.clone(), self.dest.clone());
        if ch.has_extension(ext::POSIX_RENAME) && ch.quirks().posix_rename_replaces {
            let req = PosixRename {
                from: &part,
                to: &dest,
            };
            return vec![self.send(ch, &req, Role::PosixRename)];
        }
        self.rename(ch, &part, &dest, Role::Rename)
    }

    /// The rename into place failed: if something is at the destination,
    /// the server may just refuse to replace it; find out.
    fn probe_dest(&mut self, ch: &mut SftpChannel, e: Error) -> Vec<u32> {
        self.rename_error = Some(e);
        let dest = self.dest.clone();
        vec![self.send(ch, &Lstat { path: &dest }, Role::ProbeDest)]
    }

    /// The new file is in place: drop the resume record.
    fn placed(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        self.stage = Stage::Done;
        match self.record.take() {
            Some(record) => vec![self.send(ch, &Remove { path: &record }, Role::DropRecord)],
            None => Vec::new(),
        }
    }

    /// After a failure: drop the part file (never the destination), unless
    /// a resume may continue it.
    fn clean_up(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        self.stage = Stage::CleaningUp;
        let partial = self.written != Written::Whole;
        if self.part == self.dest || (partial && self.keep_partial) {
            return Vec::new();
        }
        let part = self.part.clone();
        let mut ids = vec![self.send(ch, &Remove { path: &part }, Role::Cleanup)];
        if let Some(record) = self.record.take() {
            ids.push(self.send(ch, &Remove { path: &record }, Role::DropRecord));
        }
        ids
    }

    /// The new file as the server sees it, against what was sent.
    fn check(&mut self, a: Attrs) {
        let expected = self.finish.confirm.unwrap_or(0);
        let refuse = |why: String| {
            Error::new(
                ErrorKind::Sftp,
                format!(
                    "put '{}': {why}; the destination was not replaced",
                    show(&self.dest)
                ),
            )
        };
        if a.size != Some(expected) {
            let remote = a.size.map_or("unknown".into(), |s| s.to_string());
            return self.fail(refuse(format!(
                "size mismatch in put! remote {remote} != local {expected}"
            )));
        }
        if a.permissions.is_some() && !a.is_file() {
            return self.fail(refuse("the uploaded file is not a regular file".into()));
        }
        if let (Some((_, want)), Some(got)) = (self.finish.times, a.mtime()) {
            if want != got {
                return self.fail(refuse(format!("its mtime is {got} where {want} was set")));
            }
        }
        self.attrs = Some(a);
    }

    fn on_reply(&mut self, ch: &mut SftpChannel, role: Role, reply: Reply<'static>) -> Vec<u32> {
        let (handle, part, dest) = (self.handle.clone(), self.part.clone(), self.dest.clone());
        let (handle, part, dest) = (&handle[..], &part[..], &dest[..]);
        let aside = self.aside.clone();
        let done = |r: Result<()>, this: &mut RemoteCommit| {
            if let Err(e) = r {
                this.fail(e);
            }
        };
        match role {
            Role::FSetStat => {
                let req = FSetStat {
                    handle,
                    path: part,
                    attrs: self.finish.all(),
                };
                self.fsetstat_refused = req.decode(reply).is_err();
            }
            Role::Fsync => done((Fsync { handle, path: part }).decode(reply), self),
            Role::Fstat => match (Fstat { handle, path: part }).decode(reply) {
                Ok(a) => self.fstat = Some(a),
                Err(e) => self.fail(e),
            },
            Role::Close => done((Close { handle, path: part }).decode(reply), self),
            Role::SetRequired => {
                let req = SetStat {
                    path: part,
                    attrs: self.finish.required(),
                };
                done(req.decode(reply), self);
            }
            Role::SetKept => {
                let how = if reply_ok(&reply) {
                    "the mode was kept with SETSTAT"
                } else {
                    "the new file has the server's default mode"
                };
                ch.note(format!(
                    "put '{}': the server refused to set the mode of the open file; {how}",
                    show(dest)
                ));
            }
            Role::StatPart => match (Stat { path: part }).decode(reply) {
                Ok(a) => self.check(a),
                Err(e) => self.fail(e),
            },
            Role::PosixRename => {
                let req = PosixRename {
                    from: part,
                    to: dest,
                };
                return match req.decode(reply) {
                    Ok(()) => self.placed(ch),
                    Err(e) => {
                        self.posix_rename_failed = true;
                        self.probe_dest(ch, e)
                    }
                };
            }
            Role::Rename => {
                return match (Rename {
                    from: part,
                    to: dest,
                })
                .decode(reply)
                {
                    Ok(()) => self.placed(ch),
                    Err(e) => self.probe_dest(ch, e),
                };
            }
            Role::ProbeDest => {
                // Only a file (or a link) is moved aside: a directory in the
                // way is an error, never something to move.
                let in_way = (Lstat { path: dest }).decode(reply);
                let in_way_absent = in_way
                    .as_ref()
                    .is_err_and(|e| e.kind() == ErrorKind::NotFound);
                if in_way.is_ok_and(|a| a.is_file() || a.is_symlink()) {
                    self.aside = aside_name(dest);
                    let aside = self.aside.clone();
                    return self.rename(ch, dest, &aside, Role::MoveAside);
                }
                if self.posix_rename_failed && in_way_absent {
                    return self.rename(ch, part, dest, Role::RetryRename);
                }
                self.fail_rename();
            }
            Role::RetryRename => match (Rename {
                from: part,
                to: dest,
            })
            .decode(reply)
            {
                Ok(()) => return self.placed(ch),
                Err(_) => self.fail_rename(),
            },
            Role::MoveAside => {
                if (Rename {
                    from: dest,
                    to: &aside,
                })
                .decode(reply)
                .is_err()
                {
                    self.fail_rename();
                } else {
                    return self.rename(ch, part, dest, Role::IntoPlace);
                }
            }
            Role::IntoPlace => {
                if let Err(e) = (Rename {
                    from: part,
                    to: dest,
                })
                .decode(reply)
                {
                    self.fail(e);
                    return self.rename(ch, &aside, dest, Role::Restore);
                }
                if self.posix_rename_failed {
                    ch.update_quirks(|q| q.posix_rename_replaces = false);
                    ch.note(
                        "posix-rename@openssh.com does not replace existing files on this \
                         server: replacing by moving the old file aside first",
                    );
                }
                let mut ids = vec![self.send(ch, &Remove { path: &aside }, Role::DropAside)];
                ids.extend(self.placed(ch));
                return ids;
            }
            Role::DropAside => {
                if !reply_ok(&reply) {
                    ch.note(format!(
                        "put '{}': the old file could not be removed and remains as '{}'",
                        show(dest),
                        show(&aside)
                    ));
                }
            }
            Role::Restore => {
                if !reply_ok(&reply) {
                    let e = self.error.take().unwrap_or_else(|| self.placing_error());
                    self.fail(e.context(format!(
                        "put '{}': the new file could not be put in place, nor the old one \
                         moved back; the old one is kept as '{}'",
                        show(dest),
                        show(&aside)
                    )));
                }
            }
            Role::DropRecord | Role::Cleanup => {}
        }
        Vec::new()
    }

    /// No way to put the file in place: the first rename's failure.
    fn fail_rename(&mut self) {
        let e = self
            .rename_error
            .take()
            .unwrap_or_else(|| self.placing_error());
        self.fail(e);
    }

    fn placing_error(&self) -> Error {
        Error::new(
            ErrorKind::Sftp,
            format!(
                "put '{}': the new file could not be put in place",
                show(&self.dest)
            ),
        )
    }
}

fn reply_ok(reply: &Reply<'_>) -> bool {
    matches!(reply, Reply::Status { code: 0, .. })
}

impl Task for RemoteCommit {
    fn start(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        match self.stage {
            Stage::Held if self.error.is_some() => self.clean_up(ch),
            Stage::Held => self.place(ch),
            _ => self.finishing(ch),
        }
    }

    fn reply(&mut self, ch: &mut SftpChannel, id: u32, reply: Reply<'static>) -> Vec<u32> {
        let Some(role) = self.roles.remove(&id) else {
            return Vec::new();
        };
        let mut ids = self.on_reply(ch, role, reply);
        if ids.is_empty() && self.roles.is_empty() {
            ids = self.advance(ch);
        }
        ids
    }

    fn abort(&mut self, err: &Error) {
        self.fail(err.clone());
        self.stage = Stage::Done;
    }

    /// Ended by a cancel (or a lost link) before its own cleanup: the part
    /// file goes unless it is kept for a resume. Harmless if the commit had
    /// already placed or removed it.
    fn cleanup(&mut self, ch: &mut SftpChannel) {
        if !self.keep_partial && self.part != self.dest {
            let _ = ch.send_unanswered(&Remove { path: &self.part });
        }
    }
}
