//! pysftp's tree operations get_d, get_r, put_d and put_r, made fast and
//! safe: the source is walked once (listing attributes, no stat per entry),
//! files are spread over several connections, and on each connection many
//! small files are in flight at once. Names from the server are checked
//! before they touch a local path.

mod plan;
mod run;
mod tasks;

use std::path::{Path, PathBuf};

use super::conn::Connection;
use super::helpers::reparent;
use super::options::TransferOpts;
use super::paths::{bytes_path, path_bytes, remote_join};
use crate::error::{Error, Result};
use crate::sftp::show;
use plan::{Entry, Kind};

/// One entry that failed, with why. The path is bytes (a remote path, or a
/// local path's bytes), exactly as it is, UTF-8 or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub path: Vec<u8>,
    pub error: Error,
}

impl Failure {
    pub fn new(path: &[u8], error: Error) -> Failure {
        Failure {
            path: path.to_vec(),
            error,
        }
    }
}

/// Where a tree operation stands, for its progress callback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Relative to the root, as bytes.
    pub current_path: Vec<u8>,
}

/// The progress callback: false stops the operation (ErrorKind::User).
pub type TreeProgressFn<'a> = dyn FnMut(&TreeProgress) -> bool + 'a;

/// What a tree operation did.
#[derive(Debug, Default)]
pub struct TreeReport {
    pub files_copied: u64,
    pub files_skipped: u64,
    pub bytes: u64,
    /// Every entry that failed (with ErrorPolicy::Continue, all of them;
    /// with Stop, the first).
    pub failures: Vec<Failure>,
    /// A failure of the whole operation (bad root, cancelled, ...).
    pub fatal: Option<Error>,
    /// How many times the operation reconnected and went on.
    pub retries: u32,
}

impl TreeReport {
    /// The operation's result: the fatal error, or a summary of the failed
    /// entries with the first one's kind.
    pub fn result(&self, op: &str, root: &[u8]) -> Result<()> {
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        let Some(first) = self.failures.first() else {
            return Ok(());
        };
        let n = self.failures.len();
        let (root, path) = (show(root), show(&first.path));
        let msg = if n == 1 {
            format!("{op} '{root}': '{path}' failed: {}", first.error.message())
        } else {
            format!(
                "{op} '{root}': {n} entries failed; the first, '{path}': {}",
                first.error.message()
            )
        };
        Err(Error::new(first.error.kind(), msg))
    }
}

/// One file to move.
#[derive(Debug, Clone)]
pub enum Job {
    Get {
        remote: Vec<u8>,
        local: PathBuf,
        attrs: crate::sftp::Attrs,
        rel: Vec<u8>,
    },
    Put {
        local: PathBuf,
        remote: Vec<u8>,
        attrs: crate::sftp::Attrs,
        rel: Vec<u8>,
    },
}

impl Job {
    pub fn size(&self) -> u64 {
        match self {
            Job::Get { attrs, .. } | Job::Put { attrs, .. } => attrs.size.unwrap_or(0),
        }
    }
    pub fn rel(&self) -> &[u8] {
        match self {
            Job::Get { rel, .. } | Job::Put { rel, .. } => rel,
        }
    }
}

/// Per-call settings the workers need besides the options.
#[derive(Debug, Clone)]
pub struct Settings {
    pub opts: TransferOpts,
    /// How resume records name the remote side's files.
    pub origin: Vec<u8>,
    pub preserve_mtime: bool,
    pub confirm: bool,
}

impl Settings {
    /// Sync compares mtimes, so it implies keeping them.
    fn keeps_mtime(&self) -> bool {
        self.preserve_mtime || self.opts.sync
    }
}

impl Connection {
    /// pysftp `get_d(remotedir, localdir, preserve_mtime=False)`: the
    /// regular files directly in `remotedir`, into `localdir` (created if
    /// missing).
    pub fn get_d(
        &self,
        remotedir: &[u8],
        localdir: &Path,
        preserve_mtime: bool,
        opts: &TransferOpts,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        let s = settings(opts, preserve_mtime, true);
        self.get_tree(remotedir, localdir.to_path_buf(), false, s, progress)
    }

    /// pysftp `get_r(remotedir, localdir, preserve_mtime=False)`: the whole
    /// tree, recreated under `localdir` at pysftp's place for it:
    /// `reparent(localdir, remotedir)` ('public' lands in localdir/public).
    pub fn get_r(
        &self,
        remotedir: &[u8],
        localdir: &Path,
        preserve_mtime: bool,
        opts: &TransferOpts,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        let s = settings(opts, preserve_mtime, true);
        let base = match reparent(path_bytes(localdir), remotedir) {
            Ok(b) => bytes_path(&b).to_path_buf(),
            Err(_) => return fatal(Error::invalid_arg("remotedir", "is empty")),
        };
        self.get_tree(remotedir, base, true, s, progress)
    }

    /// pysftp `put_d(localpath, remotepath, confirm=True,
    /// preserve_mtime=False)`: the regular files directly in `localpath`,
    /// into `remotepath`.
    pub fn put_d(
        &self,
        localpath: &Path,
        remotepath: &[u8],
        confirm: bool,
        preserve_mtime: bool,
        opts: &TransferOpts,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        self.put_tree(
            localpath,
            remotepath,
            false,
            settings(opts, preserve_mtime, confirm),
            progress,
        )
    }

    /// pysftp `put_r(localpath, remotepath, confirm=True,
    /// preserve_mtime=False)`: the contents of `localpath`, recursively, into
    /// `remotepath`; directories are created, existing ones are fine.
    pub fn put_r(
        &self,
        localpath: &Path,
        remotepath: &[u8],
        confirm: bool,
        preserve_mtime: bool,
        opts: &TransferOpts,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        self.put_tree(
            localpath,
            remotepath,
            true,
            settings(opts, preserve_mtime, confirm),
            progress,
        )
    }

    fn get_tree(
        &self,
        remotedir: &[u8],
        base: PathBuf,
        recurse: bool,
        s: Settings,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        let s = Settings {
            origin: self.origin(),
            ..s
        };
        let report = self.get_tree_once(remotedir, base, recurse, s, progress);
        self.note_retries(report.retries);
        report
    }

    fn get_tree_once(
        &self,
        remotedir: &[u8],
        base: PathBuf,
        recurse: bool,
        s: Settings,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        let context = |e: Error| e.context(format!("get '{}'", show(remotedir)));
        let checked = self.with(|st| {
            let root = st.resolve(remotedir);
            let real = plan::remote_root(st, &root)?;
            Ok((root, real))
        });
        let (root, root_real) = match checked {
            Ok(r) => r,
            Err(e) => return fatal(context(e)),
        };
        // Without "." components: create_dir_all("new/.") fails, as its
        // parent is taken to be "" (get_r('.', 'new') lands in new/.).
        let normal: PathBuf = base.components().collect();
        if let Err(e) = std::fs::create_dir_all(&normal) {
            return fatal(Error::local_io("create", &base, &e));
        }
        let mut report = TreeReport::default();
        let mut finish = LocalFinish::default();
        let mut walk = |feeder: &run::Feeder<'_>| {
            let mut sink = GetSink {
                conn: self,
                base: &base,
                s: &s,
                feeder,
                finish: LocalFinish::default(),
                parent_ok: None,
            };
            let r =
                self.with(|st| plan::remote(st, &root, &root_real, recurse, &s.opts, &mut sink));
            finish = sink.finish;
            r.map_err(context)
        };
        run::run(self, &mut walk, &s, progress, &mut report);
        if report.fatal.is_none()
            && (report.failures.is_empty()
                || s.opts.on_error == crate::core::options::ErrorPolicy::Continue)
        {
            finish_local(&finish, &mut report);
        }
        report
    }

    fn put_tree(
        &self,
        localpath: &Path,
        remotepath: &[u8],
        recurse: bool,
        s: Settings,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        let report = self.put_tree_once(localpath, remotepath, recurse, s, progress);
        self.note_retries(report.retries);
        report
    }

    fn put_tree_once(
        &self,
        localpath: &Path,
        remotepath: &[u8],
        recurse: bool,
        s: Settings,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        let context = |e: Error| e.context(format!("put '{}'", localpath.display()));
        let root_real = match plan::local_root(localpath) {
            Ok(p) => p,
            Err(e) => return fatal(context(e)),
        };
        let base = match self.with(|st| {
            let base = st.resolve(remotepath);
            super::fsops::makedirs_in(st, &base, 0o777)?;
            Ok(base)
        }) {
            Ok(b) => b,
            Err(e) => return fatal(e.context(format!("put_r into '{}'", show(remotepath)))),
        };
        let mut report = TreeReport::default();
        let mut kept = Vec::new();
        let mut walk = |feeder: &run::Feeder<'_>| {
            let mut sink = PutSink {
                conn: self,
                base: &base,
                feeder,
                kept: Vec::new(),
            };
            let r = plan::local(localpath, &root_real, recurse, &s.opts, &mut sink);
            kept = sink.kept;
            r.map_err(context)
        };
        run::run(self, &mut walk, &s, progress, &mut report);
        if report.fatal.is_none() {
            let _ = self.with(|st| {
                tasks::finish_remote(st, &base, &kept, &s, &mut report);
                Ok(())
            });
        }
        report
    }
}

/// A get's walk: local directories made as they are found, files queued
/// (or skipped, in sync mode), links and directory modes kept for the end.
struct GetSink<'a, 'f> {
    conn: &'a Connection,
    base: &'a Path,
    s: &'a Settings,
    feeder: &'a run::Feeder<'f>,
    finish: LocalFinish,
    /// The last parent directory checked (a directory's files come
    /// together): checked once, not once per file.
    parent_ok: Option<Vec<Vec<u8>>>,
}

impl plan::Sink for GetSink<'_, '_> {
    fn entry(&mut self, e: Entry) {
        let parent = &e.rel[..e.rel.len() - 1];
        let made = match &e.kind {
            Kind::Dir => crate::core::local::ensure_local_dir(self.base, &e.rel, None).map(|p| {
                if let (true, Some(m)) = (self.s.opts.preserve_mode, e.attrs.permissions) {
                    self.finish.dir_modes.push((p, m & 0o777));
                }
            }),
            _ if self.parent_ok.as_deref() == Some(parent) => Ok(()),
            _ => crate::core::local::ensure_local_dir(self.base, parent, None).map(|_| {
                self.parent_ok = Some(parent.to_vec());
            }),
        };
        if let Err(err) = made {
            return self.feeder.failure(Failure::new(&e.source, err));
        }
        let local = local_path(self.base, &e.rel);
        match e.kind {
            Kind::Dir => {}
            Kind::Link(target) => self.finish.links.push((local, target)),
            Kind::File if self.s.opts.sync && local_matches(&local, &e.attrs) => {
                self.feeder.skipped(e.rel_path(), e.attrs.size.unwrap_or(0));
            }
            Kind::File => self.feeder.job(Job::Get {
                rel: e.rel_path(),
                remote: e.source,
                local,
                attrs: e.attrs,
            }),
        }
    }

    fn failure(&mut self, f: Failure) {
        self.feeder.failure(f);
    }

    fn unsafe_link(&mut self, source: Vec<u8>) {
        self.conn.log_unsafe_link(&source);
    }

    fn stopped(&self) -> bool {
        self.feeder.stopped()
    }
}

/// A put's walk: remote directories made a directory's worth at a time,
/// before anything in them; files queued; directories and links kept for
/// the end (links made, directory modes set).
struct PutSink<'a, 'f> {
    conn: &'a Connection,
    base: &'a [u8],
    feeder: &'a run::Feeder<'f>,
    kept: Vec<Entry>,
}

impl plan::Sink for PutSink<'_, '_> {
    fn entry(&mut self, e: Entry) {
        match e.kind {
            Kind::File => self.feeder.job(Job::Put {
                rel: e.rel_path(),
                local: bytes_path(&e.source).to_path_buf(),
                remote: remote_path(self.base, &e.rel),
                attrs: e.attrs,
            }),
            Kind::Dir | Kind::Link(_) => self.kept.push(e),
        }
    }

    fn subdirs(&mut self, dirs: &[Entry]) {
        let mut report = TreeReport::default();
        let dirs: Vec<&Entry> = dirs.iter().collect();
        let made = self
            .conn
            .with(|st| tasks::make_remote_dirs(st, self.base, &dirs, &mut report));
        for f in report.failures {
            self.feeder.failure(f);
        }
        if let Err(e) = made {
            self.feeder.failure(Failure::new(self.base, e));
        }
    }

    fn failure(&mut self, f: Failure) {
        self.feeder.failure(f);
    }

    fn unsafe_link(&mut self, source: Vec<u8>) {
        self.conn.log_unsafe_link(&source);
    }

    fn stopped(&self) -> bool {
        self.feeder.stopped()
    }
}

impl Connection {
    /// The safe-links rule leaves out links pointing outside the tree, as
    /// rsync --safe-links does: say which in the log.
    fn log_unsafe_link(&self, link: &[u8]) {
        self.log(&format!(
            "skipping the symlink '{}': it points outside the tree (PSFTP_SYMLINKS_COPY_ALL copies it)",
            show(link)
        ));
    }
}

fn settings(opts: &TransferOpts, preserve_mtime: bool, confirm: bool) -> Settings {
    Settings {
        opts: opts.clone(),
        origin: Vec::new(),
        preserve_mtime,
        confirm,
    }
}

fn fatal(e: Error) -> TreeReport {
    TreeReport {
        fatal: Some(e),
        ..TreeReport::default()
    }
}

pub fn remote_path(base: &[u8], rel: &[Vec<u8>]) -> Vec<u8> {
    rel.iter()
        .fold(base.to_vec(), |p, part| remote_join(&p, part))
}

fn local_path(base: &Path, rel: &[Vec<u8>]) -> PathBuf {
    rel.iter()
        .fold(base.to_path_buf(), |p, part| p.join(bytes_path(part)))
}

/// What a get does after the files.
#[derive(Default)]
struct LocalFinish {
    /// Links to make: where, and the target.
    links: Vec<(PathBuf, Vec<u8>)>,
    /// Directory modes to set (preserve_mode).
    dir_modes: Vec<(PathBuf, u32)>,
}

/// Sync mode: the local file already has the remote size and mtime.
fn local_matches(local: &Path, attrs: &crate::sftp::Attrs) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::symlink_metadata(local) else {
        return false;
    };
    m.is_file() && Some(m.len()) == attrs.size && attrs.mtime().map(i64::from) == Some(m.mtime())
}

/// After the files: recreate links (last, so no file is ever written
/// through one) and set directory modes (last, so a read-only directory
/// does not block its own contents).
fn finish_local(finish: &LocalFinish, report: &mut TreeReport) {
    for (path, target) in &finish.links {
        let _ = std::fs::remove_file(path);
        if let Err(e) = std::os::unix::fs::symlink(bytes_path(target), path) {
            report.failures.push(Failure::new(
                path_bytes(path),
                Error::local_io("symlink", path, &e),
            ));
        }
    }
    for (path, mode) in finish.dir_modes.iter().rev() {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)) {
            report.failures.push(Failure::new(
                path_bytes(path),
                Error::local_io("chmod", path, &e),
            ));
        }
    }
}
