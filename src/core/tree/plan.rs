//! What a tree operation will copy: the source tree walked once, names
//! checked, filters and the symlink policy applied. The remote walk lists
//! many directories at once through the batch engine.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};

use super::Failure;
use crate::core::conn::State;
use crate::core::local::check_remote_name;
use crate::core::options::{SymlinkPolicy, TransferOpts};
use crate::core::paths::remote_join;
use crate::core::walk::local_attrs;
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::batch::{self, Task};
use crate::sftp::{fxp, status, status_error, Attrs, NameEntry, Reply, SftpChannel};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A symlink to recreate, with its target text.
    Link(String),
}

/// One thing to create at the destination.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path components below the root.
    pub rel: Vec<String>,
    pub kind: Kind,
    /// The source's attributes (the target's, for a followed link).
    pub attrs: Attrs,
    /// Full source path (remote path, or local path as a string).
    pub source: String,
}

impl Entry {
    pub fn rel_path(&self) -> String {
        self.rel.join("/")
    }
}

#[derive(Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
    pub failures: Vec<Failure>,
}

/// A directory still to list: its source path, components, and real
/// (symlink-free) path, which link-loop detection compares against.
struct PendingDir {
    source: String,
    rel: Vec<String>,
    real: String,
}

/// A symlink met while listing, and the real path of its directory.
struct FoundLink {
    entry: Entry,
    dir_real: String,
}

/// A link to `target` (a real path) inside directory `dir` loops if the
/// target is that directory or one of its ancestors.
fn loops(dir: &str, target: &str) -> bool {
    dir == target || dir.starts_with(&format!("{}/", target.trim_end_matches('/')))
}

/// Lists one remote directory: OPENDIR, READDIR until EOF, CLOSE.
struct ListTask {
    dir: PendingDir,
    handle: Option<Vec<u8>>,
    names: Vec<NameEntry>,
    error: Option<Error>,
}

impl ListTask {
    fn readdir(&self, ch: &mut SftpChannel) -> u32 {
        let h = self.handle.clone().unwrap_or_default();
        ch.queue(fxp::READDIR, |e| {
            e.string(&h);
        })
    }

    fn close(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        match self.handle.take() {
            Some(h) => vec![ch.queue(fxp::CLOSE, |e| {
                e.string(&h);
            })],
            None => Vec::new(),
        }
    }
}

impl Task for ListTask {
    fn start(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        let path = self.dir.source.clone();
        vec![ch.queue(fxp::OPENDIR, |e| {
            e.string(path.as_bytes());
        })]
    }

    fn reply(&mut self, ch: &mut SftpChannel, _id: u32, reply: Reply<'static>) -> Vec<u32> {
        let fail = |code, msg: &str, op| status_error(code, msg, op, &self.dir.source);
        match reply {
            Reply::Handle(h) if self.handle.is_none() && self.error.is_none() => {
                self.handle = Some(h.into_owned());
                vec![self.readdir(ch)]
            }
            Reply::Name(names) if self.handle.is_some() => {
                self.names.extend(names);
                vec![self.readdir(ch)]
            }
            Reply::Status {
                code: status::EOF, ..
            } if self.handle.is_some() => self.close(ch),
            Reply::Status {
                code: status::OK, ..
            } => Vec::new(), // the CLOSE
            Reply::Status { code, message } => {
                let op = if self.handle.is_some() {
                    "readdir"
                } else {
                    "opendir"
                };
                self.error.get_or_insert(fail(code, &message, op));
                self.close(ch)
            }
            _ => {
                self.error.get_or_insert(Error::new(
                    ErrorKind::Sftp,
                    format!(
                        "listing '{}': the server sent a reply of the wrong type",
                        self.dir.source
                    ),
                ));
                self.close(ch)
            }
        }
    }

    fn abort(&mut self, err: &Error) {
        self.error.get_or_insert(err.clone());
    }
}

/// How one listed entry is treated.
enum Found {
    Skip,
    Walk,
    Copy(Kind),
    ResolveLink,
}

fn classify(a: &Attrs, rel: &str, opts: &TransferOpts) -> Found {
    if a.is_dir() {
        return if opts.filters.walks_dir(rel) {
            Found::Walk
        } else {
            Found::Skip
        };
    }
    if !opts.filters.copies_file(rel) {
        return Found::Skip;
    }
    if a.is_file() {
        Found::Copy(Kind::File)
    } else if a.is_symlink() && opts.symlinks != SymlinkPolicy::Skip {
        Found::ResolveLink
    } else {
        Found::Skip
    }
}

/// Walk the remote tree at `root` (already resolved).
pub fn remote(st: &mut State, root: &str, recurse: bool, opts: &TransferOpts) -> Result<Plan> {
    // The root must be a directory: report that plainly, not as a listing error.
    let root_attrs = st.sftp.stat(root)?;
    if !root_attrs.is_dir() {
        return Err(Error::new(
            ErrorKind::NotADirectory,
            format!("'{root}' is not a directory"),
        ));
    }
    let root_real = st.sftp.realpath(root)?;
    let mut plan = Plan::default();
    let mut pending = VecDeque::from([PendingDir {
        source: root.to_string(),
        rel: Vec::new(),
        real: root_real.clone(),
    }]);
    while !pending.is_empty() {
        let links = list_round(st, &mut pending, recurse, opts, &mut plan)?;
        for link in links {
            resolve_link(st, link, &root_real, opts, &mut plan, &mut pending, recurse);
        }
    }
    Ok(plan)
}

/// List every pending directory (and the directories found meanwhile);
/// return the symlinks met, for the caller to resolve.
fn list_round(
    st: &mut State,
    pending: &mut VecDeque<PendingDir>,
    recurse: bool,
    opts: &TransferOpts,
    plan: &mut Plan,
) -> Result<Vec<FoundLink>> {
    let queue = RefCell::new(std::mem::take(pending));
    let links = RefCell::new(Vec::new());
    let plan = RefCell::new(plan);
    batch::run(
        &mut st.sftp,
        16,
        || {
            queue.borrow_mut().pop_front().map(|dir| ListTask {
                dir,
                handle: None,
                names: Vec::new(),
                error: None,
            })
        },
        |task| {
            let mut plan = plan.borrow_mut();
            if let Some(e) = task.error {
                plan.failures.push(Failure::new(&task.dir.source, e));
                return;
            }
            let mut seen = HashSet::new();
            for n in task.names {
                if n.filename == b"." || n.filename == b".." {
                    continue;
                }
                let name = match check_remote_name(&n.filename, &task.dir.source) {
                    Ok(s) if seen.insert(s.to_string()) => s.to_string(),
                    Ok(s) => {
                        let e = Error::new(
                            ErrorKind::UnsafePath,
                            format!("'{}' lists '{s}' twice", task.dir.source),
                        );
                        plan.failures
                            .push(Failure::new(&remote_join(&task.dir.source, s), e));
                        continue;
                    }
                    Err(e) => {
                        plan.failures.push(Failure::new(&task.dir.source, e));
                        continue;
                    }
                };
                let mut rel = task.dir.rel.clone();
                rel.push(name.clone());
                let entry = Entry {
                    source: remote_join(&task.dir.source, &name),
                    rel,
                    kind: Kind::File,
                    attrs: n.attrs,
                };
                match classify(&n.attrs, &entry.rel_path(), opts) {
                    Found::Skip => {}
                    Found::Copy(kind) => plan.entries.push(Entry { kind, ..entry }),
                    Found::ResolveLink => links.borrow_mut().push(FoundLink {
                        entry,
                        dir_real: task.dir.real.clone(),
                    }),
                    // get_d copies files only.
                    Found::Walk if !recurse => {}
                    Found::Walk => {
                        queue.borrow_mut().push_back(PendingDir {
                            source: entry.source.clone(),
                            rel: entry.rel.clone(),
                            real: remote_join(&task.dir.real, &name),
                        });
                        plan.entries.push(Entry {
                            kind: Kind::Dir,
                            ..entry
                        });
                    }
                }
            }
        },
    )?;
    Ok(links.into_inner())
}

/// Apply the symlink policy to one remote link.
fn resolve_link(
    st: &mut State,
    found: FoundLink,
    root_real: &str,
    opts: &TransferOpts,
    plan: &mut Plan,
    pending: &mut VecDeque<PendingDir>,
    recurse: bool,
) {
    let link = found.entry;
    if opts.symlinks == SymlinkPolicy::Copy {
        match st.sftp.readlink(&link.source) {
            Ok(target) => plan.entries.push(Entry {
                kind: Kind::Link(target),
                ..link
            }),
            Err(e) => plan.failures.push(Failure::new(&link.source, e)),
        }
        return;
    }
    // Follow: only what lies inside the tree, never into a loop.
    let Ok(real) = st.sftp.realpath(&link.source) else {
        return; // dangling: nothing to follow
    };
    if !inside(&real, root_real) {
        return;
    }
    match st.sftp.stat(&link.source) {
        Ok(a) if a.is_file() => plan.entries.push(Entry {
            kind: Kind::File,
            attrs: a,
            ..link
        }),
        Ok(a) if recurse && a.is_dir() && !loops(&found.dir_real, &real) => {
            pending.push_back(PendingDir {
                source: link.source.clone(),
                rel: link.rel.clone(),
                real,
            });
            plan.entries.push(Entry {
                kind: Kind::Dir,
                attrs: a,
                ..link
            });
        }
        _ => {}
    }
}

fn inside(path: &str, root: &str) -> bool {
    path == root || path.starts_with(&format!("{}/", root.trim_end_matches('/')))
}

/// Walk the local tree at `root`.
pub fn local(root: &Path, recurse: bool, opts: &TransferOpts) -> Result<Plan> {
    let meta = std::fs::metadata(root).map_err(|e| Error::local_io("read", root, &e))?;
    if !meta.is_dir() {
        return Err(Error::new(
            ErrorKind::LocalIo,
            format!("local '{}' is not a directory", root.display()),
        ));
    }
    let root_real = root
        .canonicalize()
        .map_err(|e| Error::local_io("resolve", root, &e))?;
    let mut walker = LocalWalker {
        opts,
        recurse,
        root_real: root_real.clone(),
        plan: Plan::default(),
    };
    walker.dir(root, &root_real, &[])?;
    Ok(walker.plan)
}

struct LocalWalker<'a> {
    opts: &'a TransferOpts,
    recurse: bool,
    root_real: PathBuf,
    plan: Plan,
}

impl LocalWalker<'_> {
    /// List `dir`, whose symlink-free path is `real`.
    fn dir(&mut self, dir: &Path, real: &Path, rel: &[String]) -> Result<()> {
        let read = std::fs::read_dir(dir).map_err(|e| Error::local_io("list", dir, &e))?;
        let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if let Err(e) = self.entry(&path, real, rel) {
                self.plan
                    .failures
                    .push(Failure::new(&path.display().to_string(), e));
            }
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, dir_real: &Path, rel: &[String]) -> Result<()> {
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            Error::new(
                ErrorKind::LocalIo,
                format!("local '{}': the name is not valid UTF-8", path.display()),
            )
        })?;
        let mut rel = rel.to_vec();
        rel.push(name.to_string());
        let lmeta =
            std::fs::symlink_metadata(path).map_err(|e| Error::local_io("lstat", path, &e))?;
        let entry = Entry {
            rel,
            kind: Kind::File,
            attrs: local_attrs(&lmeta),
            source: path.display().to_string(),
        };
        match classify(&entry.attrs, &entry.rel_path(), self.opts) {
            Found::Skip => Ok(()),
            Found::Copy(kind) => {
                self.plan.entries.push(Entry { kind, ..entry });
                Ok(())
            }
            Found::Walk => self.walk_into(path, &dir_real.join(name), entry),
            Found::ResolveLink => self.link(path, dir_real, entry),
        }
    }

    fn walk_into(&mut self, path: &Path, real: &Path, entry: Entry) -> Result<()> {
        if !self.recurse {
            return Ok(()); // put_d copies files only
        }
        let rel = entry.rel.clone();
        self.plan.entries.push(Entry {
            kind: Kind::Dir,
            ..entry
        });
        self.dir(path, real, &rel)
    }

    fn link(&mut self, path: &Path, dir_real: &Path, entry: Entry) -> Result<()> {
        if self.opts.symlinks == SymlinkPolicy::Copy {
            let target =
                std::fs::read_link(path).map_err(|e| Error::local_io("readlink", path, &e))?;
            let target = target.to_str().ok_or_else(|| {
                Error::new(
                    ErrorKind::LocalIo,
                    format!("link '{}': target is not UTF-8", path.display()),
                )
            })?;
            self.plan.entries.push(Entry {
                kind: Kind::Link(target.to_string()),
                ..entry
            });
            return Ok(());
        }
        let (Ok(real), Ok(meta)) = (path.canonicalize(), std::fs::metadata(path)) else {
            return Ok(()); // dangling
        };
        if !real.starts_with(&self.root_real) {
            return Ok(());
        }
        let attrs = local_attrs(&meta);
        if meta.is_file() {
            self.plan.entries.push(Entry {
                kind: Kind::File,
                attrs,
                ..entry
            });
        } else if meta.is_dir()
            && self.opts.filters.walks_dir(&entry.rel_path())
            && !dir_real.starts_with(&real)
        {
            self.walk_into(path, &real, Entry { attrs, ..entry })?;
        }
        Ok(())
    }
}
