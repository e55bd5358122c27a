//! pysftp's `Connection.walktree` (remote) and `pysftp.walktree` (local):
//! depth-first, sorted, with file / directory / unknown callbacks.
//!
//! Attributes come from the directory listing (no stat per entry). A
//! symlink is classified by its target (one stat, links only) as pysftp
//! does, but reported with its own attributes (S_IFLNK) and never descended
//! into, so no link can make a walk loop.
//!
//! The remote walk lists ahead: directories (and the stats of their links)
//! are fetched breadth first, many at once, through the batch engine and
//! the one lister of list.rs, while at most about 64 Ki entries are held,
//! instead of one round trip per READDIR. Callbacks still run in pysftp's
//! order, between fetches, so they may use the connection; a directory a
//! callback changes before the walk reaches it may be seen as it was when
//! listed.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::conn::{Connection, State};
use super::fsops::sorted_entries;
use super::paths::{path_bytes, remote_join};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::batch::{self, Task};
use crate::sftp::list::ListTask;
use crate::sftp::request::{Request, Stat};
use crate::sftp::{show, Attrs, Reply, SftpChannel};

/// Directories listed at once.
const LISTINGS_IN_FLIGHT: usize = 16;
/// Link stats in flight at once.
const STATS_IN_FLIGHT: usize = 64;

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

/// The walk's callbacks: `(kind, path, attrs) -> Visit`. Paths are bytes.
pub type WalkFn<'a> = dyn FnMut(EntryKind, &[u8], &Attrs) -> Visit + 'a;

fn stopped(root: &[u8]) -> Error {
    Error::stopped_by("walktree").context(format!("walktree '{}'", show(root)))
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

/// One entry of a walked directory.
struct Found {
    path: Vec<u8>,
    attrs: Attrs,
    kind: EntryKind,
    descend: bool,
}

/// A directory's entries, ready to visit, or why it could not be listed.
type Listing = Result<Vec<Found>>;

/// Stats one symlink's target, to classify it.
struct LinkStat {
    /// The path as the walk shows it, and as the request names it.
    shown: Vec<u8>,
    path: Vec<u8>,
    kind: EntryKind,
}

impl Task for LinkStat {
    fn start(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        vec![ch.send(&Stat { path: &self.path })]
    }
    fn reply(&mut self, _ch: &mut SftpChannel, _id: u32, reply: Reply<'static>) -> Vec<u32> {
        // A broken link is "unknown", as in pysftp.
        if let Ok(a) = (Stat { path: &self.path }).decode(reply) {
            self.kind = kind_of(&a);
        }
        Vec::new()
    }
    fn abort(&mut self, _err: &Error) {}
}

/// List `dirs` at once, classify their links, and return each listing
/// sorted, by directory. Paths are as the caller gave them (pysftp's
/// walktree('.') yields './a'); requests go out resolved against the
/// working directory.
fn list_many(st: &mut State, dirs: Vec<Vec<u8>>) -> Result<HashMap<Vec<u8>, Listing>> {
    let resolved: HashMap<Vec<u8>, Vec<u8>> =
        dirs.into_iter().map(|d| (st.resolve(&d), d)).collect();
    let mut queue = resolved.keys().cloned().collect::<Vec<_>>().into_iter();
    let mut raw = Vec::new();
    batch::run(
        &mut st.sftp,
        LISTINGS_IN_FLIGHT,
        || queue.next().map(ListTask::new),
        |t| raw.push(t.finish()),
    )?;
    let mut out = HashMap::new();
    let mut links = Vec::new();
    for (path, listed) in raw {
        let dir = resolved[&path].clone();
        let listing = listed
            .and_then(|names| entries_of(&dir, names, &mut links))
            .map_err(|e| refine(st, e, &path));
        out.insert(dir, listing);
    }
    let mut kinds = HashMap::new();
    let links: Vec<(Vec<u8>, Vec<u8>)> = links.into_iter().map(|l| (st.resolve(&l), l)).collect();
    let mut queue = links.into_iter();
    batch::run(
        &mut st.sftp,
        STATS_IN_FLIGHT,
        || {
            queue.next().map(|(path, shown)| LinkStat {
                path,
                shown,
                kind: EntryKind::Unknown,
            })
        },
        |t| {
            kinds.insert(t.shown, t.kind);
        },
    )?;
    for e in out.values_mut().flatten().flatten() {
        if let Some(k) = kinds.get(&e.path) {
            e.kind = *k;
        }
    }
    Ok(out)
}

fn refine(st: &mut State, e: Error, dir: &[u8]) -> Error {
    st.refine_not_a_directory(e, dir)
}

/// The sorted entries of `dir`; the paths of its links go to `links`.
fn entries_of(
    dir: &[u8],
    names: Vec<crate::sftp::NameEntry>,
    links: &mut Vec<Vec<u8>>,
) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for e in sorted_entries(names) {
        if e.filename.is_empty() || e.filename.contains(&b'/') {
            return Err(Error::new(
                ErrorKind::UnsafePath,
                format!(
                    "walktree: '{}' lists the name '{}', which is not a file name",
                    show(dir),
                    show(&e.filename)
                ),
            ));
        }
        let path = remote_join(dir, &e.filename); // pysftp: posixpath.join
        let (kind, descend) = if e.attrs.is_symlink() {
            links.push(path.clone());
            (EntryKind::Unknown, false)
        } else {
            (kind_of(&e.attrs), e.attrs.is_dir())
        };
        out.push(Found {
            path,
            attrs: e.attrs,
            kind,
            descend,
        });
    }
    Ok(out)
}

/// Listings fetched ahead of the walk: breadth first, many at once, while
/// the entries held stay under a bound.
#[derive(Default)]
struct Ahead {
    listings: HashMap<Vec<u8>, Listing>,
    held: usize,
}

/// Entries held ahead of the walk, at most (plus one round of listings).
const AHEAD_ENTRIES: usize = 64 * 1024;
/// Directories listed in one round.
const AHEAD_DIRS: usize = 256;

impl Ahead {
    /// The listing of `dir`, fetching it (and what lies below it, within
    /// the bound) if it is not here yet.
    fn take(&mut self, conn: &Connection, dir: &[u8], recurse: bool) -> Listing {
        if !self.listings.contains_key(dir) {
            self.fetch(conn, vec![dir.to_vec()], recurse)?;
        }
        let listing = self.listings.remove(dir).expect("just listed");
        self.held -= listing.as_ref().map_or(0, Vec::len);
        listing
    }

    fn fetch(&mut self, conn: &Connection, dirs: Vec<Vec<u8>>, recurse: bool) -> Result<()> {
        let mut round = dirs;
        while !round.is_empty() {
            let later = round.split_off(round.len().min(AHEAD_DIRS));
            let listed = conn.with(|st| list_many(st, round))?;
            let mut next = later;
            for (dir, listing) in listed {
                if let Ok(entries) = &listing {
                    self.held += entries.len();
                    let subdirs = entries.iter().filter(|e| e.descend && recurse);
                    next.extend(subdirs.map(|e| e.path.clone()));
                }
                self.listings.insert(dir, listing);
            }
            if self.held >= AHEAD_ENTRIES {
                break;
            }
            round = next;
        }
        Ok(())
    }

    /// A skipped directory: what was fetched below it goes.
    fn drop_below(&mut self, dir: &[u8]) {
        let mut prefix = dir.to_vec();
        prefix.push(b'/');
        let mut held = self.held;
        self.listings.retain(|k, l| {
            let keep = !k.starts_with(&prefix);
            if !keep {
                held -= l.as_ref().map_or(0, Vec::len);
            }
            keep
        });
        self.held = held;
    }
}

impl Connection {
    /// pysftp `walktree(remotepath, fcallback, dcallback, ucallback,
    /// recurse=True)`. The connection is free while callbacks run, so they
    /// may use it.
    pub fn walktree(&self, remotepath: &[u8], recurse: bool, visit: &mut WalkFn<'_>) -> Result<()> {
        let mut ahead = Ahead::default();
        let entries = ahead.take(self, remotepath, recurse)?;
        self.walk_dir(remotepath, entries, recurse, visit, &mut ahead)
    }

    fn walk_dir(
        &self,
        root: &[u8],
        entries: Vec<Found>,
        recurse: bool,
        visit: &mut WalkFn<'_>,
        ahead: &mut Ahead,
    ) -> Result<()> {
        for e in entries {
            match visit(e.kind, &e.path, &e.attrs) {
                Visit::Stop => return Err(stopped(root)),
                Visit::SkipSubtree => {
                    ahead.drop_below(&e.path);
                    ahead.listings.remove(&e.path);
                    continue;
                }
                Visit::Continue => {}
            }
            if e.descend && recurse {
                let listing = ahead.take(self, &e.path, recurse)?;
                self.walk_dir(root, listing, recurse, visit, ahead)?;
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

/// The one local lister: the entries of `dir` sorted by name, each with
/// its own (lstat) metadata. Used by the local walk and by put_d/put_r.
pub fn local_listing(dir: &Path) -> Result<Vec<(PathBuf, std::fs::Metadata)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::local_io("list", dir, &e))?
        .map(|e| {
            e.map(|e| e.path())
                .map_err(|err| Error::local_io("list", dir, &err))
        })
        .collect::<Result<_>>()?;
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let meta =
                std::fs::symlink_metadata(&p).map_err(|e| Error::local_io("lstat", &p, &e))?;
            Ok((p, meta))
        })
        .collect()
}

/// pysftp `walktree(localpath, fcallback, dcallback, ucallback,
/// recurse=True)` over the local file system, with the same rules as the
/// remote walk (sorted entries, links classified but not descended).
pub fn local_walktree(localpath: &Path, recurse: bool, visit: &mut WalkFn<'_>) -> Result<()> {
    walk_local_dir(path_bytes(localpath), localpath, recurse, visit)
}

fn walk_local_dir(root: &[u8], dir: &Path, recurse: bool, visit: &mut WalkFn<'_>) -> Result<()> {
    let listing = local_listing(dir).map_err(|e| e.context("walktree"))?;
    for (path, meta) in listing {
        let attrs = local_attrs(&meta);
        let (kind, descend) = if meta.file_type().is_symlink() {
            let target = std::fs::metadata(&path)
                .map(|m| kind_of(&local_attrs(&m)))
                .unwrap_or(EntryKind::Unknown);
            (target, false)
        } else {
            (kind_of(&attrs), meta.is_dir())
        };
        match visit(kind, path_bytes(&path), &attrs) {
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
