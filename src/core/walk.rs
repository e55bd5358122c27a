//! pysftp's `Connection.walktree` (remote) and `pysftp.walktree` (local):
//! depth-first, sorted, with file / directory / unknown callbacks.
//!
//! Attributes come from the directory listing (no stat per entry). A
//! symlink is classified by its target (one stat, links only) as pysftp
//! does, but reported with its own attributes (S_IFLNK) and never descended
//! into, so no link can make a walk loop.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::conn::Connection;
use super::helpers::posix_join;
use crate::error::{Error, Result};
use crate::sftp::Attrs;

/// What a walk callback tells the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    Continue,
    /// From the directory callback: do not descend into this directory.
    SkipSubtree,
    Stop,
}

/// Which callback an entry goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Unknown,
}

/// The walk's callbacks: `(kind, path, attrs) -> Visit`.
pub type WalkFn<'a> = dyn FnMut(EntryKind, &str, &Attrs) -> Visit + 'a;

fn stopped(root: &str) -> Error {
    Error::stopped_by("walktree").context(format!("walktree '{root}'"))
}

fn kind_of(a: &Attrs) -> EntryKind {
    if a.is_dir() {
        EntryKind::Dir
    } else if a.is_file() {
        EntryKind::File
    } else {
        EntryKind::Unknown
    }
}

impl Connection {
    /// pysftp `walktree(remotepath, fcallback, dcallback, ucallback,
    /// recurse=True)`. The connection is free while callbacks run, so they
    /// may use it.
    pub fn walktree(&self, remotepath: &str, recurse: bool, visit: &mut WalkFn<'_>) -> Result<()> {
        self.walk_dir(remotepath, remotepath, recurse, visit)
    }

    fn walk_dir(&self, root: &str, dir: &str, recurse: bool, visit: &mut WalkFn<'_>) -> Result<()> {
        let entries = self.listdir_attr(dir)?;
        for e in entries {
            let path = posix_join(dir, &e.filename); // pysftp: posixpath.join
            let (kind, descend) = if e.attrs.is_symlink() {
                // Classify by the target like pysftp's stat; never descend.
                let target = self
                    .stat(&path)
                    .map(|a| kind_of(&a))
                    .unwrap_or(EntryKind::Unknown);
                (target, false)
            } else {
                (kind_of(&e.attrs), e.attrs.is_dir())
            };
            match visit(kind, &path, &e.attrs) {
                Visit::Stop => return Err(stopped(root)),
                Visit::SkipSubtree => continue,
                Visit::Continue => {}
            }
            if descend && recurse {
                self.walk_dir(root, &path, recurse, visit)?;
            }
        }
        Ok(())
    }
}

/// Local attributes in the SFTP form.
pub fn local_attrs(m: &std::fs::Metadata) -> Attrs {
    Attrs {
        size: Some(m.len()),
        uid_gid: Some((m.uid(), m.gid())),
        permissions: Some(m.mode()),
        atime_mtime: Some((
            m.atime().clamp(0, u32::MAX as i64) as u32,
            m.mtime().clamp(0, u32::MAX as i64) as u32,
        )),
    }
}

/// pysftp `walktree(localpath, fcallback, dcallback, ucallback,
/// recurse=True)` over the local file system, with the same rules as the
/// remote walk (sorted entries, links classified but not descended).
pub fn local_walktree(localpath: &Path, recurse: bool, visit: &mut WalkFn<'_>) -> Result<()> {
    let root = localpath.display().to_string();
    walk_local_dir(&root, localpath, recurse, visit)
}

fn walk_local_dir(root: &str, dir: &Path, recurse: bool, visit: &mut WalkFn<'_>) -> Result<()> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::local_io("walktree: list", dir, &e))?
        .map(|e| {
            e.map(|e| e.path())
                .map_err(|err| Error::local_io("walktree: list", dir, &err))
        })
        .collect::<Result<_>>()?;
    names.sort();
    for path in names {
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| Error::local_io("walktree: lstat", &path, &e))?;
        let attrs = local_attrs(&meta);
        let (kind, descend) = if meta.file_type().is_symlink() {
            let target = std::fs::metadata(&path)
                .map(|m| kind_of(&local_attrs(&m)))
                .unwrap_or(EntryKind::Unknown);
            (target, false)
        } else {
            (kind_of(&attrs), meta.is_dir())
        };
        let shown = path.to_str().ok_or_else(|| {
            Error::new(
                crate::error::ErrorKind::LocalIo,
                format!("walktree: '{}' is not valid UTF-8", path.display()),
            )
        })?;
        match visit(kind, shown, &attrs) {
            Visit::Stop => return Err(stopped(root)),
            Visit::SkipSubtree => continue,
            Visit::Continue => {}
        }
        if descend && recurse {
            walk_local_dir(root, &path, recurse, visit)?;
        }
    }
    Ok(())
}

/// The directory stack of the local `cd` (process-wide, like chdir(2)).
static LOCAL_CD: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// pysftp `with cd(localpath):`, first half: remember the process's working
/// directory and change to `path` (None only bookmarks).
pub fn local_cd_push(path: Option<&Path>) -> Result<()> {
    let here =
        std::env::current_dir().map_err(|e| Error::local_io("cd: getcwd", Path::new("."), &e))?;
    if let Some(p) = path {
        std::env::set_current_dir(p).map_err(|e| Error::local_io("cd", p, &e))?;
    }
    LOCAL_CD
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(here);
    Ok(())
}

/// Second half: return to the directory the matching push remembered.
pub fn local_cd_pop() -> Result<()> {
    let back = LOCAL_CD
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop()
        .ok_or_else(|| Error::invalid_arg("cd", "local_cd_pop without a matching local_cd_push"))?;
    std::env::set_current_dir(&back).map_err(|e| Error::local_io("cd back to", &back, &e))
}
