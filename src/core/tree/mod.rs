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
use crate::error::{Error, ErrorKind, Result};
use plan::{Entry, Kind, Plan};

/// One entry that failed, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub path: String,
    pub error: Error,
}

impl Failure {
    pub fn new(path: &str, error: Error) -> Failure {
        Failure {
            path: path.to_string(),
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
    pub current_path: String,
}

/// The progress callback: false stops the operation (Cancelled).
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
}

impl TreeReport {
    /// The operation's result: the fatal error, or a summary of the failed
    /// entries with the first one's kind.
    pub fn result(&self, op: &str, root: &str) -> Result<()> {
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        let Some(first) = self.failures.first() else {
            return Ok(());
        };
        let n = self.failures.len();
        let msg = if n == 1 {
            format!(
                "{op} '{root}': '{}' failed: {}",
                first.path,
                first.error.message()
            )
        } else {
            format!(
                "{op} '{root}': {n} entries failed; the first, '{}': {}",
                first.path,
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
        remote: String,
        local: PathBuf,
        attrs: crate::sftp::Attrs,
        rel: String,
    },
    Put {
        local: PathBuf,
        remote: String,
        attrs: crate::sftp::Attrs,
        rel: String,
    },
}

impl Job {
    pub fn size(&self) -> u64 {
        match self {
            Job::Get { attrs, .. } | Job::Put { attrs, .. } => attrs.size.unwrap_or(0),
        }
    }
    pub fn rel(&self) -> &str {
        match self {
            Job::Get { rel, .. } | Job::Put { rel, .. } => rel,
        }
    }
}

/// Per-call settings the workers need besides the options.
#[derive(Debug, Clone)]
pub struct Settings {
    pub opts: TransferOpts,
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
        remotedir: &str,
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
        remotedir: &str,
        localdir: &Path,
        preserve_mtime: bool,
        opts: &TransferOpts,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        let s = settings(opts, preserve_mtime, true);
        let base = match localdir.to_str().map(|l| reparent(l, remotedir)) {
            Some(Ok(b)) => PathBuf::from(b),
            _ => {
                return fatal(Error::invalid_arg(
                    "localdir",
                    "is not valid UTF-8 or remotedir is empty",
                ))
            }
        };
        self.get_tree(remotedir, base, true, s, progress)
    }

    /// pysftp `put_d(localpath, remotepath, confirm=True,
    /// preserve_mtime=False)`: the regular files directly in `localpath`,
    /// into `remotepath`.
    pub fn put_d(
        &self,
        localpath: &Path,
        remotepath: &str,
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
        remotepath: &str,
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
        remotedir: &str,
        base: PathBuf,
        recurse: bool,
        s: Settings,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        let planned = self.with(|st| {
            let root = st.resolve(remotedir);
            plan::remote(st, &root, recurse, &s.opts)
        });
        let plan = match planned {
            Ok(p) => p,
            Err(e) => return fatal(e.context(format!("get '{remotedir}'"))),
        };
        let mut report = TreeReport {
            failures: plan.failures.clone(),
            ..TreeReport::default()
        };
        if stop_early(&s, &mut report) {
            return report;
        }
        let (jobs, links, dirs) = match local_layout(&base, &plan, &s, &mut report) {
            Ok(x) => x,
            Err(e) => return fatal(e),
        };
        run::run(self, jobs, &s, progress, &mut report);
        if report.fatal.is_none()
            && (report.failures.is_empty()
                || s.opts.on_error == crate::core::options::ErrorPolicy::Continue)
        {
            finish_local(&base, &links, &dirs, &s, &mut report);
        }
        report
    }

    fn put_tree(
        &self,
        localpath: &Path,
        remotepath: &str,
        recurse: bool,
        s: Settings,
        progress: Option<&mut TreeProgressFn<'_>>,
    ) -> TreeReport {
        let plan = match plan::local(localpath, recurse, &s.opts) {
            Ok(p) => p,
            Err(e) => return fatal(e.context(format!("put '{}'", localpath.display()))),
        };
        let mut report = TreeReport {
            failures: plan.failures.clone(),
            ..TreeReport::default()
        };
        if stop_early(&s, &mut report) {
            return report;
        }
        let base = match self.with(|st| {
            let base = st.resolve(remotepath);
            super::fsops::makedirs_in(st, &base, 0o777)?;
            Ok(base)
        }) {
            Ok(b) => b,
            Err(e) => return fatal(e.context(format!("put_r into '{remotepath}'"))),
        };
        let dirs: Vec<&Entry> = plan
            .entries
            .iter()
            .filter(|e| e.kind == Kind::Dir)
            .collect();
        if let Err(e) = self.with(|st| tasks::make_remote_dirs(st, &base, &dirs, &mut report)) {
            report.fatal = Some(e);
            return report;
        }
        if stop_early(&s, &mut report) {
            return report;
        }
        let jobs = plan
            .entries
            .iter()
            .filter(|e| e.kind == Kind::File)
            .map(|e| Job::Put {
                local: PathBuf::from(&e.source),
                remote: remote_path(&base, &e.rel),
                attrs: e.attrs,
                rel: e.rel_path(),
            })
            .collect();
        run::run(self, jobs, &s, progress, &mut report);
        if report.fatal.is_none() {
            let _ = self.with(|st| {
                tasks::finish_remote(st, &base, &plan.entries, &s, &mut report);
                Ok(())
            });
        }
        report
    }
}

fn settings(opts: &TransferOpts, preserve_mtime: bool, confirm: bool) -> Settings {
    Settings {
        opts: opts.clone(),
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

/// With the stop policy, a failure found while planning ends the operation
/// (and only the first is reported, as for failures while copying).
fn stop_early(s: &Settings, report: &mut TreeReport) -> bool {
    let stop =
        s.opts.on_error == crate::core::options::ErrorPolicy::Stop && !report.failures.is_empty();
    if stop {
        report.failures.truncate(1);
    }
    stop
}

pub fn remote_path(base: &str, rel: &[String]) -> String {
    rel.iter().fold(base.to_string(), |p, part| {
        crate::core::paths::remote_join(&p, part)
    })
}

fn local_path(base: &Path, rel: &[String]) -> PathBuf {
    rel.iter().fold(base.to_path_buf(), |p, part| p.join(part))
}

type LocalLayout = (Vec<Job>, Vec<(PathBuf, String)>, Vec<(PathBuf, u32)>);

/// Create the local directories, and list the file jobs (sync-skipped files
/// counted as done), the links to make and the directory modes to set.
fn local_layout(
    base: &Path,
    plan: &Plan,
    s: &Settings,
    report: &mut TreeReport,
) -> Result<LocalLayout> {
    // Without "." components: create_dir_all("new/.") fails, as its
    // parent is taken to be "" (get_r('.', 'new') lands in new/.).
    let normal: PathBuf = base.components().collect();
    std::fs::create_dir_all(&normal).map_err(|e| Error::local_io("create", base, &e))?;
    let mut jobs = Vec::new();
    let mut links = Vec::new();
    let mut dir_modes = Vec::new();
    for e in &plan.entries {
        let parent = &e.rel[..e.rel.len() - 1];
        let made = match &e.kind {
            Kind::Dir => crate::core::local::ensure_local_dir(base, &e.rel, None).map(|p| {
                if let (true, Some(m)) = (s.opts.preserve_mode, e.attrs.permissions) {
                    dir_modes.push((p, m & 0o777));
                }
            }),
            _ => crate::core::local::ensure_local_dir(base, parent, None).map(|_| ()),
        };
        if let Err(err) = made {
            report.failures.push(Failure::new(&e.source, err));
            continue;
        }
        let local = local_path(base, &e.rel);
        match &e.kind {
            Kind::Dir => {}
            Kind::Link(target) => links.push((local, target.clone())),
            Kind::File if s.opts.sync && local_matches(&local, &e.attrs) => {
                report.files_skipped += 1;
            }
            Kind::File => jobs.push(Job::Get {
                remote: e.source.clone(),
                local,
                attrs: e.attrs,
                rel: e.rel_path(),
            }),
        }
    }
    Ok((jobs, links, dir_modes))
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
fn finish_local(
    base: &Path,
    links: &[(PathBuf, String)],
    dirs: &[(PathBuf, u32)],
    _s: &Settings,
    report: &mut TreeReport,
) {
    for (path, target) in links {
        let _ = std::fs::remove_file(path);
        if let Err(e) = std::os::unix::fs::symlink(target, path) {
            report.failures.push(Failure::new(
                &path.display().to_string(),
                Error::local_io("symlink", path, &e),
            ));
        }
    }
    for (path, mode) in dirs.iter().rev() {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)) {
            report.failures.push(Failure::new(
                &path.display().to_string(),
                Error::local_io("chmod", path, &e),
            ));
        }
    }
    let _ = (base, ErrorKind::LocalIo);
}
