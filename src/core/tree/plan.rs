//! What a tree operation will copy: the source tree walked once, names
//! checked, filters and the symlink policy applied. The remote walk lists
//! many directories at once through the batch engine and the one lister
//! (sftp/list.rs); the local walk uses the one local lister (walk.rs).

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};

use super::Failure;
use crate::core::conn::State;
use crate::core::local::check_remote_name;
use crate::core::options::{SymlinkPolicy, TransferOpts};
use crate::core::paths::{bytes_path, path_bytes, remote_join};
use crate::core::walk::{local_attrs, local_listing};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::batch;
use crate::sftp::list::ListTask;
use crate::sftp::{show, Attrs, NameEntry};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A symlink to recreate, with its target text.
    Link(Vec<u8>),
}

/// One thing to create at the destination.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path components below the root (bytes: names need not be UTF-8).
    pub rel: Vec<Vec<u8>>,
    pub kind: Kind,
    /// The source's attributes (the target's, for a followed link).
    pub attrs: Attrs,
    /// Full source path (remote path, or local path's bytes).
    pub source: Vec<u8>,
}

impl Entry {
    pub fn rel_path(&self) -> Vec<u8> {
        self.rel.join(&b'/')
    }
}

/// Where a walk sends what it finds, as it finds it: the walk holds no
/// list of the tree, so a tree operation's memory does not grow with it.
pub trait Sink {
    /// One thing to create at the destination. A directory comes before
    /// anything in it.
    fn entry(&mut self, e: Entry);
    fn failure(&mut self, f: Failure);
    /// A link left out by the safe-links rule, for the log.
    fn unsafe_link(&mut self, source: Vec<u8>);
    /// The subdirectories of one local directory, before anything in them
    /// (a put makes them on the server, all at once).
    fn subdirs(&mut self, _dirs: &[Entry]) {}
    /// The operation stopped: walk no further.
    fn stopped(&self) -> bool {
        false
    }
}

/// A directory still to list: its source path, components, and real
/// (symlink-free) path, which link-loop detection compares against.
struct PendingDir {
    source: Vec<u8>,
    rel: Vec<Vec<u8>>,
    real: Vec<u8>,
}

/// A symlink met while listing, and the real path of its directory.
struct FoundLink {
    entry: Entry,
    dir_real: Vec<u8>,
}

/// Whether `path` is `root` or lies below it (both '/'-separated).
fn within(path: &[u8], root: &[u8]) -> bool {
    let root = trim_end_slash(root);
    path == root
        || (path.starts_with(root) && path.get(root.len()) == Some(&b'/'))
        || root.is_empty()
}

fn trim_end_slash(p: &[u8]) -> &[u8] {
    p.strip_suffix(b"/").unwrap_or(p)
}

/// A link to `target` (a real path) inside directory `dir` loops if the
/// target is that directory or one of its ancestors.
fn loops(dir: &[u8], target: &[u8]) -> bool {
    within(dir, target)
}

/// rsync's --safe-links rule: a link at `rel` (its components below the
/// tree's root) is safe if its target is relative and never climbs above
/// the root.
pub fn link_stays_inside(rel: &[Vec<u8>], target: &[u8]) -> bool {
    if target.is_empty() || target.starts_with(b"/") {
        return false;
    }
    let mut depth = rel.len().saturating_sub(1);
    for part in target.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if depth == 0 => return false,
            b".." => depth -= 1,
            _ => depth += 1,
        }
    }
    true
}

/// How one listed entry is treated.
enum Found {
    Skip,
    Walk,
    Copy(Kind),
    ResolveLink,
}

fn classify(a: &Attrs, rel: &[u8], opts: &TransferOpts) -> Found {
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

/// A link to copy as a link, if the policy lets it: `CopyAll` copies any
/// target verbatim, `Copy` only those that stay inside the tree.
fn copied_link(sink: &mut dyn Sink, link: Entry, target: Vec<u8>, opts: &TransferOpts) {
    if opts.symlinks == SymlinkPolicy::Copy && !link_stays_inside(&link.rel, &target) {
        sink.unsafe_link(link.source);
        return;
    }
    sink.entry(Entry {
        kind: Kind::Link(target),
        ..link
    });
}

/// Check the remote root (already resolved) before a walk: it must be a
/// directory (said plainly, not as a listing error). Returns its real path.
pub fn remote_root(st: &mut State, root: &[u8]) -> Result<Vec<u8>> {
    let root_attrs = st.sftp.stat(root)?;
    if !root_attrs.is_dir() {
        return Err(Error::new(
            ErrorKind::NotADirectory,
            format!("'{}' is not a directory", show(root)),
        ));
    }
    st.sftp.realpath(root)
}

/// Walk the remote tree at `root` (checked by `remote_root`, whose real
/// path is `root_real`) into `sink`.
pub fn remote(
    st: &mut State,
    root: &[u8],
    root_real: &[u8],
    recurse: bool,
    opts: &TransferOpts,
    sink: &mut dyn Sink,
) -> Result<()> {
    let root_real = root_real.to_vec();
    let mut pending = VecDeque::from([PendingDir {
        source: root.to_vec(),
        rel: Vec::new(),
        real: root_real.clone(),
    }]);
    while !pending.is_empty() && !sink.stopped() {
        let links = list_round(st, &mut pending, recurse, opts, sink)?;
        for link in links {
            resolve_link(st, link, &root_real, opts, sink, &mut pending, recurse);
        }
    }
    Ok(())
}

/// List every pending directory (and the directories found meanwhile);
/// return the symlinks met, for the caller to resolve.
fn list_round(
    st: &mut State,
    pending: &mut VecDeque<PendingDir>,
    recurse: bool,
    opts: &TransferOpts,
    sink: &mut dyn Sink,
) -> Result<Vec<FoundLink>> {
    let queue = RefCell::new(std::mem::take(pending));
    let dirs = RefCell::new(Vec::new());
    let links = RefCell::new(Vec::new());
    let sink = RefCell::new(sink);
    batch::run(
        &mut st.sftp,
        16,
        || {
            if sink.borrow().stopped() {
                return None;
            }
            let dir = queue.borrow_mut().pop_front()?;
            let task = ListTask::new(dir.source.clone());
            dirs.borrow_mut().push(dir);
            Some(task)
        },
        |task| {
            let (path, listed) = task.finish();
            let dir = {
                let mut d = dirs.borrow_mut();
                let i = d.iter().position(|d| d.source == path).expect("listed dir");
                d.swap_remove(i)
            };
            let names = match listed {
                Ok(n) => n,
                Err(e) => {
                    sink.borrow_mut().failure(Failure::new(&dir.source, e));
                    return;
                }
            };
            let found = take_listing(&dir, names, recurse, opts, *sink.borrow_mut());
            for f in found {
                match f {
                    Listed::Dir(d) => queue.borrow_mut().push_back(d),
                    Listed::Link(l) => links.borrow_mut().push(l),
                }
            }
        },
    )?;
    Ok(links.into_inner())
}

/// What a listing adds besides plain entries.
enum Listed {
    Dir(PendingDir),
    Link(FoundLink),
}

/// Check and classify the names of one listed directory.
fn take_listing(
    dir: &PendingDir,
    names: Vec<NameEntry>,
    recurse: bool,
    opts: &TransferOpts,
    sink: &mut dyn Sink,
) -> Vec<Listed> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for n in names {
        if n.filename == b"." || n.filename == b".." {
            continue;
        }
        let name = match check_remote_name(&n.filename, &dir.source) {
            Ok(s) if seen.insert(s.to_vec()) => s.to_vec(),
            Ok(s) => {
                let e = Error::new(
                    ErrorKind::UnsafePath,
                    format!("'{}' lists '{}' twice", show(&dir.source), show(s)),
                );
                sink.failure(Failure::new(&remote_join(&dir.source, s), e));
                continue;
            }
            Err(e) => {
                sink.failure(Failure::new(&dir.source, e));
                continue;
            }
        };
        let mut rel = dir.rel.clone();
        rel.push(name.clone());
        let entry = Entry {
            source: remote_join(&dir.source, &name),
            rel,
            kind: Kind::File,
            attrs: n.attrs,
        };
        match classify(&n.attrs, &entry.rel_path(), opts) {
            Found::Skip => {}
            Found::Copy(kind) => sink.entry(Entry { kind, ..entry }),
            Found::ResolveLink => out.push(Listed::Link(FoundLink {
                entry,
                dir_real: dir.real.clone(),
            })),
            // get_d copies files only.
            Found::Walk if !recurse => {}
            Found::Walk => {
                out.push(Listed::Dir(PendingDir {
                    source: entry.source.clone(),
                    rel: entry.rel.clone(),
                    real: remote_join(&dir.real, &name),
                }));
                sink.entry(Entry {
                    kind: Kind::Dir,
                    ..entry
                });
            }
        }
    }
    out
}

/// Apply the symlink policy to one remote link.
fn resolve_link(
    st: &mut State,
    found: FoundLink,
    root_real: &[u8],
    opts: &TransferOpts,
    sink: &mut dyn Sink,
    pending: &mut VecDeque<PendingDir>,
    recurse: bool,
) {
    let link = found.entry;
    if opts.symlinks != SymlinkPolicy::Follow {
        match st.sftp.readlink(&link.source) {
            Ok(target) => copied_link(sink, link, target, opts),
            Err(e) => sink.failure(Failure::new(&link.source, e)),
        }
        return;
    }
    // Follow: only what lies inside the tree, never into a loop.
    let Ok(real) = st.sftp.realpath(&link.source) else {
        return; // dangling: nothing to follow
    };
    if !within(&real, root_real) {
        return;
    }
    match st.sftp.stat(&link.source) {
        Ok(a) if a.is_file() => sink.entry(Entry {
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
            sink.entry(Entry {
                kind: Kind::Dir,
                attrs: a,
                ..link
            });
        }
        _ => {}
    }
}

/// Check the local root before a walk: it must be a directory. Returns
/// its real (symlink-free) path.
pub fn local_root(root: &Path) -> Result<PathBuf> {
    let meta = std::fs::metadata(root).map_err(|e| Error::local_io("read", root, &e))?;
    if !meta.is_dir() {
        return Err(Error::new(
            ErrorKind::LocalIo,
            format!("local '{}' is not a directory", root.display()),
        ));
    }
    root.canonicalize()
        .map_err(|e| Error::local_io("resolve", root, &e))
}

/// Walk the local tree at `root` (checked by `local_root`, whose real path
/// is `root_real`) into `sink`, depth first: the files of a directory,
/// then its subdirectories (announced together, then walked one by one).
pub fn local(
    root: &Path,
    root_real: &Path,
    recurse: bool,
    opts: &TransferOpts,
    sink: &mut dyn Sink,
) -> Result<()> {
    let mut walker = LocalWalker {
        opts,
        recurse,
        root_real: root_real.to_path_buf(),
        sink,
    };
    walker.dir(root, root_real, &[])
}

struct LocalWalker<'a> {
    opts: &'a TransferOpts,
    recurse: bool,
    root_real: PathBuf,
    sink: &'a mut dyn Sink,
}

/// A local directory to walk into: its path, real path and entry.
type Subdir = (PathBuf, PathBuf, Entry);

impl LocalWalker<'_> {
    /// List `dir`, whose symlink-free path is `real`.
    fn dir(&mut self, dir: &Path, real: &Path, rel: &[Vec<u8>]) -> Result<()> {
        let mut subdirs = Vec::new();
        for (path, meta) in local_listing(dir)? {
            match self.entry(&path, meta, real, rel) {
                Ok(Some(sub)) => subdirs.push(sub),
                Ok(None) => {}
                Err(e) => self.sink.failure(Failure::new(path_bytes(&path), e)),
            }
        }
        if subdirs.is_empty() || self.sink.stopped() {
            return Ok(());
        }
        let entries: Vec<Entry> = subdirs.iter().map(|(_, _, e)| e.clone()).collect();
        self.sink.subdirs(&entries);
        for (path, real, entry) in subdirs {
            if self.sink.stopped() {
                break;
            }
            let rel = entry.rel.clone();
            self.sink.entry(entry);
            if let Err(e) = self.dir(&path, &real, &rel) {
                self.sink.failure(Failure::new(path_bytes(&path), e));
            }
        }
        Ok(())
    }

    /// Send one listed entry to the sink, or return it if it is a
    /// directory to walk into.
    fn entry(
        &mut self,
        path: &Path,
        lmeta: std::fs::Metadata,
        dir_real: &Path,
        rel: &[Vec<u8>],
    ) -> Result<Option<Subdir>> {
        let name = path
            .file_name()
            .map_or(&b""[..], |n| path_bytes(Path::new(n)));
        let mut rel = rel.to_vec();
        rel.push(name.to_vec());
        let entry = Entry {
            rel,
            kind: Kind::File,
            attrs: local_attrs(&lmeta),
            source: path_bytes(path).to_vec(),
        };
        match classify(&entry.attrs, &entry.rel_path(), self.opts) {
            Found::Skip => Ok(None),
            Found::Copy(kind) => {
                self.sink.entry(Entry { kind, ..entry });
                Ok(None)
            }
            Found::Walk => Ok(self.walk_into(path, &dir_real.join(bytes_path(name)), entry)),
            Found::ResolveLink => self.link(path, dir_real, entry),
        }
    }

    fn walk_into(&self, path: &Path, real: &Path, entry: Entry) -> Option<Subdir> {
        // put_d copies files only.
        self.recurse.then(|| {
            let entry = Entry {
                kind: Kind::Dir,
                ..entry
            };
            (path.to_path_buf(), real.to_path_buf(), entry)
        })
    }

    fn link(&mut self, path: &Path, dir_real: &Path, entry: Entry) -> Result<Option<Subdir>> {
        if self.opts.symlinks != SymlinkPolicy::Follow {
            let target =
                std::fs::read_link(path).map_err(|e| Error::local_io("readlink", path, &e))?;
            copied_link(self.sink, entry, path_bytes(&target).to_vec(), self.opts);
            return Ok(None);
        }
        let (Ok(real), Ok(meta)) = (path.canonicalize(), std::fs::metadata(path)) else {
            return Ok(None); // dangling
        };
        if !real.starts_with(&self.root_real) {
            return Ok(None);
        }
        let attrs = local_attrs(&meta);
        if meta.is_file() {
            self.sink.entry(Entry {
                kind: Kind::File,
                attrs,
                ..entry
            });
        } else if meta.is_dir()
            && self.opts.filters.walks_dir(&entry.rel_path())
            && !dir_real.starts_with(&real)
        {
            return Ok(self.walk_into(path, &real, Entry { attrs, ..entry }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn safe_links_stay_inside_the_tree() {
        let top = rel(&["link"]);
        let deep = rel(&["a", "b", "link"]);
        assert!(link_stays_inside(&top, b"file"));
        assert!(link_stays_inside(&top, b"./d/../file"));
        assert!(link_stays_inside(&deep, b"../../x"));
        assert!(link_stays_inside(&deep, b"../c/./d"));
        assert!(!link_stays_inside(&top, b"../outside"));
        assert!(!link_stays_inside(&deep, b"../../../x"));
        assert!(!link_stays_inside(&deep, b"d/../../../../x"));
        assert!(!link_stays_inside(&top, b"/etc/passwd"));
        assert!(!link_stays_inside(&top, b""));
    }

    #[test]
    fn within_compares_whole_components() {
        assert!(within(b"/a/b", b"/a"));
        assert!(within(b"/a", b"/a/"));
        assert!(!within(b"/ab", b"/a"));
        assert!(within(b"/x", b"/"));
    }
}
