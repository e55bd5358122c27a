//! The local side of transfers: destination files written atomically, and
//! the checks that keep names from a server inside the target directory.

use std::fs::{File, FileTimes, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::options::{TransferOpts, PART_SUFFIX};
use super::paths::{bytes_path, hidden_sibling};
use super::resume::{self, SourceId, MAX_RECORD, RECORD_SUFFIX};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::show;

pub fn system_time(secs: u32) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs as u64)
}

pub fn unix_secs(t: std::io::Result<std::time::SystemTime>) -> u32 {
    t.ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs().min(u32::MAX as u64) as u32)
}

/// How a downloaded file is finished.
#[derive(Debug, Clone, Copy, Default)]
pub struct Finish {
    pub times: Option<(u32, u32)>,
    pub mode: Option<u32>,
    pub fsync: bool,
}

/// Where a get writes, and where it finally lands: the one home of the
/// local side of every download (get, split get, tree operations).
///
/// A regular (or absent) destination is written as a part file next to
/// it, renamed into place once complete. A character or block device, a
/// FIFO or a socket is written in place, as OpenSSH's sftp does: renaming
/// over it would replace the device node with a regular file.
pub struct LocalTarget {
    pub dest: PathBuf,
    pub write_to: PathBuf,
    pub file: File,
    /// Bytes already present (resume).
    pub start: u64,
    /// Written in place (not a regular file): no rename, no truncation,
    /// no times or mode, no resume.
    pub in_place: bool,
    /// The resume record next to the part file, removed on commit.
    record: Option<PathBuf>,
}

/// Whether an existing `dest` is a special file written in place.
pub fn is_special(dest: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(dest).is_ok_and(|m| {
        let t = m.file_type();
        t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket()
    })
}

/// The part file of a get into `dest`.
pub fn part_path(dest: &Path) -> PathBuf {
    hidden_sibling(dest, PART_SUFFIX)
}

/// The resume record of a get into `dest`.
pub fn record_path(dest: &Path) -> PathBuf {
    hidden_sibling(dest, RECORD_SUFFIX)
}

/// A part file left for `dest` that `source` may continue: its length if
/// its record names `source` (the overlap is still to be compared), else 0.
pub fn resume_candidate(dest: &Path, source: &SourceId) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(part_path(dest)) else {
        return 0;
    };
    if !meta.is_file() {
        return 0;
    }
    let record = std::fs::read(record_path(dest))
        .ok()
        .filter(|r| r.len() <= MAX_RECORD);
    resume::candidate(meta.len(), record.as_deref(), source)
}

/// The bytes of a local file in `[from, to)` (for the resume overlap).
pub fn read_range(path: &Path, (from, to): (u64, u64)) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let file = File::open(path).ok()?;
    let mut buf = vec![0; (to - from) as usize];
    file.read_exact_at(&mut buf, from).ok()?;
    Some(buf)
}

impl LocalTarget {
    /// Open the target of a get into `dest`. With `opts.resume`, `start`
    /// is where the part file continues (0 starts over) and `source` is
    /// recorded next to it.
    pub fn open(
        dest: &Path,
        opts: &TransferOpts,
        start: u64,
        source: Option<&SourceId>,
    ) -> Result<LocalTarget> {
        if is_special(dest) {
            let file = OpenOptions::new()
                .write(true)
                .open(dest)
                .map_err(|e| Error::local_io("open", dest, &e))?;
            return Ok(LocalTarget {
                dest: dest.to_path_buf(),
                write_to: dest.to_path_buf(),
                file,
                start: 0,
                in_place: true,
                record: None,
            });
        }
        let write_to = if opts.atomic {
            part_path(dest)
        } else {
            dest.to_path_buf()
        };
        let resumable = opts.atomic && opts.resume;
        let start = if resumable { start } else { 0 };
        let mut oo = OpenOptions::new();
        // Never write through a symlink someone placed at the temporary name.
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut oo, libc::O_NOFOLLOW);
        oo.write(true).create(true).truncate(start == 0);
        let mut file = oo
            .open(&write_to)
            .map_err(|e| Error::local_io("create", &write_to, &e))?;
        if start > 0 {
            file.set_len(start)
                .and_then(|_| file.seek(SeekFrom::Start(start)).map(|_| ()))
                .map_err(|e| Error::local_io("resume", &write_to, &e))?;
        }
        let record = opts.atomic.then(|| record_path(dest));
        if let (Some(path), 0) = (&record, start) {
            // The part file is empty now: a stale record must not vouch for
            // what comes next, so it goes, and the new source's is written.
            let written = match source.filter(|_| resumable) {
                Some(id) => std::fs::write(path, id.to_record()),
                None => std::fs::remove_file(path).or_else(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Ok(()),
                    _ => Err(e),
                }),
            };
            written.map_err(|e| Error::local_io("write", path, &e))?;
        }
        Ok(LocalTarget {
            dest: dest.to_path_buf(),
            write_to,
            file,
            start,
            in_place: false,
            record,
        })
    }

    /// Fix times and mode, fsync, and rename into place. If any of it
    /// fails, the temporary file is removed: the data is complete, so a
    /// resume could add nothing to it.
    pub fn commit(self, finish: Finish) -> Result<()> {
        if self.in_place {
            return Ok(());
        }
        let result = self.finish(finish);
        if result.is_err() && self.write_to != self.dest {
            let _ = std::fs::remove_file(&self.write_to);
        }
        if let Some(record) = &self.record {
            let _ = std::fs::remove_file(record);
        }
        result
    }

    fn finish(&self, finish: Finish) -> Result<()> {
        if let Some(m) = finish.mode {
            use std::os::unix::fs::PermissionsExt;
            self.file
                .set_permissions(std::fs::Permissions::from_mode(m))
                .map_err(|e| Error::local_io("chmod", &self.write_to, &e))?;
        }
        if let Some((atime, mtime)) = finish.times {
            let ft = FileTimes::new()
                .set_accessed(system_time(atime))
                .set_modified(system_time(mtime));
            self.file
                .set_times(ft)
                .map_err(|e| Error::local_io("set times of", &self.write_to, &e))?;
        }
        if finish.fsync {
            self.file
                .sync_all()
                .map_err(|e| Error::local_io("fsync", &self.write_to, &e))?;
        }
        if self.write_to != self.dest {
            std::fs::rename(&self.write_to, &self.dest)
                .map_err(|e| Error::local_io("rename into place", &self.dest, &e))?;
        }
        Ok(())
    }

    /// Failure: drop the temporary file unless a later resume may use it.
    pub fn abandon(self, keep_for_resume: bool) {
        if self.in_place || self.write_to == self.dest || keep_for_resume {
            return;
        }
        let _ = std::fs::remove_file(&self.write_to);
        if let Some(record) = &self.record {
            let _ = std::fs::remove_file(record);
        }
    }
}

/// A name from a server, checked before it becomes part of a local path:
/// not empty, not "." or "..", no '/', no NUL, no control characters. Any
/// other bytes are a valid Linux name, UTF-8 or not.
pub fn check_remote_name<'a>(name: &'a [u8], dir: &[u8]) -> Result<&'a [u8]> {
    let unsafe_name = |why: &str| {
        Error::new(
            ErrorKind::UnsafePath,
            format!(
                "refusing the name '{}' listed in '{}': {why}",
                show(name),
                show(dir)
            ),
        )
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(unsafe_name("it is empty, '.' or '..'"));
    }
    if name.contains(&b'/') {
        return Err(unsafe_name("it contains '/'"));
    }
    let control = name
        .utf8_chunks()
        .any(|c| c.valid().chars().any(char::is_control) || c.invalid().iter().any(|b| *b < 0x20));
    if control {
        return Err(unsafe_name("it contains a NUL or control character"));
    }
    Ok(name)
}

/// Create `base/rel...` one level at a time. Every level below `base` must
/// be a real directory: an existing symlink there is refused, so nothing is
/// ever written outside `base` through a link.
pub fn ensure_local_dir(base: &Path, rel: &[Vec<u8>], mode: Option<u32>) -> Result<PathBuf> {
    let mut path = base.to_path_buf();
    for part in rel {
        path.push(bytes_path(part));
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => continue,
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::new(
                    ErrorKind::UnsafePath,
                    format!(
                        "local '{}' is a symlink; refusing to write through it",
                        path.display()
                    ),
                ))
            }
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::LocalIo,
                    format!("local '{}' exists and is not a directory", path.display()),
                ))
            }
            Err(_) => {}
        }
        match std::fs::create_dir(&path) {
            Ok(()) => {}
            // Another worker made it meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => {}
            Err(e) => return Err(Error::local_io("mkdir", &path, &e)),
        }
        if let Some(m) = mode {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m))
                .map_err(|e| Error::local_io("chmod", &path, &e))?;
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        for bad in [
            &b""[..],
            b".",
            b"..",
            b"a/b",
            b"/etc",
            b"a\0b",
            b"x\ny",
            b"\x1b[2J",
            "\u{85}".as_bytes(),
        ] {
            let e = check_remote_name(bad, b"/srv").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsafePath, "{bad:?}");
            assert!(e.message().contains("/srv"), "{e}");
        }
        for good in [
            &b"a"[..],
            b"..a",
            b"a..",
            "é".as_bytes(),
            b"with space",
            b"-rf",
            b"caf\xe9",
            b"\xff\xfe",
        ] {
            assert_eq!(check_remote_name(good, b"/srv").unwrap(), good);
        }
    }

    #[test]
    fn ensure_local_dir_refuses_symlinked_levels() {
        let base = std::env::temp_dir().join(format!("psftp-ensure-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let made = ensure_local_dir(&base, &[b"a".to_vec(), b"b".to_vec()], None).unwrap();
        assert!(made.is_dir());
        std::os::unix::fs::symlink("/tmp", base.join("link")).unwrap();
        let e = ensure_local_dir(&base, &[b"link".to_vec(), b"x".to_vec()], None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsafePath);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
