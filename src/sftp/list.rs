//! The one directory lister: OPENDIR, READDIR until end of directory,
//! CLOSE, as a batch task, so that many directories are listed at once
//! (tree operations, walktree) and a single one blocking (listdir).
//!
//! A server is input too: a listing is bounded in entries and bytes, and a
//! server that keeps sending names it already sent (never reaching the end
//! of the directory) is stopped at once, with an error naming the
//! directory.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::batch::Task;
use super::channel::SftpChannel;
use super::codec::{NameEntry, Reply};
use super::request::{quoted, Close, OpenDir, ReadDir, Request};
use crate::error::{Error, ErrorKind, Result};

/// Most entries one listing may have (ext4 allows more, but a directory of
/// four million names is already unusual).
const MAX_ENTRIES: usize = 4 << 20;
/// Most bytes of names and long names one listing may hold.
const MAX_BYTES: usize = 512 << 20;
/// READDIR replies in a row that bring no new name before the server is
/// taken to be repeating itself.
const MAX_STALLS: u32 = 2;

/// Bounds of one listing.
#[derive(Debug, Clone, Copy)]
pub struct ListLimits {
    pub entries: usize,
    pub bytes: usize,
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits {
            entries: MAX_ENTRIES,
            bytes: MAX_BYTES,
        }
    }
}

/// Where a listing stands; one request is in flight at a time.
enum Stage {
    Opening,
    Reading(Vec<u8>),
    Closing(Vec<u8>),
}

/// Lists one remote directory.
pub struct ListTask {
    path: Vec<u8>,
    limits: ListLimits,
    stage: Stage,
    names: Vec<NameEntry>,
    bytes: usize,
    /// Hashes of the names seen (8 bytes each, not the names again).
    seen: HashSet<u64>,
    stalls: u32,
    /// Stop at the first batch with an entry besides '.' and '..'.
    first_entry_only: bool,
    error: Option<Error>,
}

/// A directory entry proper: not '.' or '..'.
pub fn is_entry(name: &[u8]) -> bool {
    name != b"." && name != b".."
}

fn name_hash(name: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

impl ListTask {
    pub fn new(path: Vec<u8>) -> ListTask {
        ListTask::with_limits(path, ListLimits::default())
    }

    pub fn with_limits(path: Vec<u8>, limits: ListLimits) -> ListTask {
        ListTask {
            path,
            limits,
            stage: Stage::Opening,
            names: Vec::new(),
            bytes: 0,
            seen: HashSet::new(),
            stalls: 0,
            first_entry_only: false,
            error: None,
        }
    }

    /// Lists only until a batch brings an entry besides '.' and '..'
    /// (whether a directory is empty, without reading all of it).
    pub fn until_first_entry(path: Vec<u8>) -> ListTask {
        ListTask {
            first_entry_only: true,
            ..ListTask::new(path)
        }
    }

    /// Whether the names read so far hold an entry besides '.' and '..'.
    fn has_entry(&self) -> bool {
        self.names.iter().any(|n| is_entry(&n.filename))
    }

    /// The directory and its entries ('.' and '..' included, in server
    /// order), or why it could not be listed.
    pub fn finish(self) -> (Vec<u8>, Result<Vec<NameEntry>>) {
        let result = match self.error {
            Some(e) => Err(e),
            None => Ok(self.names),
        };
        (self.path, result)
    }

    pub fn into_result(self) -> Result<Vec<NameEntry>> {
        self.finish().1
    }

    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    fn too_much(&self, why: &str) -> Error {
        Error::new(
            ErrorKind::Sftp,
            format!("listing {}: {why}; stopped", quoted(&self.path)),
        )
    }

    /// Take one READDIR batch; Err when the listing must stop.
    fn add(&mut self, batch: Vec<NameEntry>) -> Result<()> {
        let mut new = 0;
        for n in batch {
            if self.seen.insert(name_hash(&n.filename)) {
                new += 1;
            }
            self.bytes += n.filename.len() + n.longname.len();
            self.names.push(n);
        }
        self.stalls = if new == 0 { self.stalls + 1 } else { 0 };
        if self.stalls >= MAX_STALLS {
            return Err(self.too_much(
                "the server keeps sending names it already listed and never ends the directory",
            ));
        }
        if self.names.len() > self.limits.entries {
            let why = format!("more than {} entries", self.limits.entries);
            return Err(self.too_much(&why));
        }
        if self.bytes > self.limits.bytes {
            let why = format!("more than {} bytes of names", self.limits.bytes);
            return Err(self.too_much(&why));
        }
        Ok(())
    }

    fn readdir(&self, ch: &mut SftpChannel, handle: &[u8]) -> Vec<u32> {
        vec![ch.send(&ReadDir {
            handle,
            path: &self.path,
        })]
    }

    fn close(&mut self, ch: &mut SftpChannel, handle: Vec<u8>) -> Vec<u32> {
        let id = ch.send(&Close {
            handle: &handle,
            path: &self.path,
        });
        self.stage = Stage::Closing(handle);
        vec![id]
    }
}

impl Task for ListTask {
    fn start(&mut self, ch: &mut SftpChannel) -> Vec<u32> {
        vec![ch.send(&OpenDir { path: &self.path })]
    }

    fn reply(&mut self, ch: &mut SftpChannel, _id: u32, reply: Reply<'static>) -> Vec<u32> {
        match std::mem::replace(&mut self.stage, Stage::Opening) {
            Stage::Opening => match (OpenDir { path: &self.path }).decode(reply) {
                Ok(handle) => {
                    let ids = self.readdir(ch, &handle);
                    self.stage = Stage::Reading(handle);
                    ids
                }
                Err(e) => {
                    self.fail(e);
                    Vec::new()
                }
            },
            Stage::Reading(handle) => {
                let read = ReadDir {
                    handle: &handle,
                    path: &self.path,
                };
                let more = read.decode(reply).and_then(|batch| match batch {
                    Some(names) => self
                        .add(names)
                        .map(|_| !(self.first_entry_only && self.has_entry())),
                    None => Ok(false),
                });
                match more {
                    Ok(true) => {
                        let ids = self.readdir(ch, &handle);
                        self.stage = Stage::Reading(handle);
                        ids
                    }
                    Ok(false) => self.close(ch, handle),
                    Err(e) => {
                        self.fail(e);
                        self.close(ch, handle)
                    }
                }
            }
            Stage::Closing(handle) => {
                let closed = Close {
                    handle: &handle,
                    path: &self.path,
                };
                if let Err(e) = closed.decode(reply) {
                    self.fail(e);
                }
                Vec::new()
            }
        }
    }

    fn abort(&mut self, err: &Error) {
        self.fail(err.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sftp::codec::Attrs;

    fn names(list: &[&str]) -> Vec<NameEntry> {
        list.iter()
            .map(|n| NameEntry {
                filename: n.as_bytes().to_vec(),
                longname: Vec::new(),
                attrs: Attrs::default(),
            })
            .collect()
    }

    #[test]
    fn a_server_repeating_itself_is_stopped_with_the_directory_named() {
        let mut t = ListTask::new(b"/endless".to_vec());
        t.add(names(&["a", "b"])).unwrap();
        // One repeated batch may be a quirk; a second in a row is a loop.
        t.add(names(&["a", "b"])).unwrap();
        let e = t.add(names(&["b", "a"])).unwrap_err();
        assert!(e.message().contains("'/endless'"), "{e}");
        assert!(e.message().contains("already listed"), "{e}");
        // Empty batches bring nothing new either.
        let mut t = ListTask::new(b"/e".to_vec());
        t.add(Vec::new()).unwrap();
        assert!(t.add(Vec::new()).is_err());
        // New names reset the count; a duplicate among new ones is fine.
        let mut t = ListTask::new(b"/d".to_vec());
        t.add(names(&["a"])).unwrap();
        t.add(names(&["a"])).unwrap();
        t.add(names(&["c", "c", "d"])).unwrap();
        t.add(names(&["a"])).unwrap();
    }

    #[test]
    fn listings_are_bounded_in_entries_and_bytes() {
        let limits = ListLimits {
            entries: 3,
            bytes: 1000,
        };
        let mut t = ListTask::with_limits(b"/big".to_vec(), limits);
        t.add(names(&["a", "b", "c"])).unwrap();
        let e = t.add(names(&["d"])).unwrap_err();
        assert!(e.message().contains("more than 3 entries"), "{e}");
        assert!(e.message().contains("'/big'"), "{e}");
        let limits = ListLimits {
            entries: 100,
            bytes: 10,
        };
        let mut t = ListTask::with_limits(b"/long".to_vec(), limits);
        let e = t.add(names(&["0123456789", "x"])).unwrap_err();
        assert!(e.message().contains("more than 10 bytes"), "{e}");
    }
}
