//! The local side of transfers: destination files written atomically, and
//! the checks that keep names from a server inside the target directory.

use std::fs::{File, FileTimes, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::options::{TransferOpts, PART_SUFFIX};
use super::paths::hidden_sibling;
use crate::error::{Error, ErrorKind, Result};

pub fn system_time(secs: u32) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs as u64)
}

pub fn unix_secs(t: std::io::Result<std::time::SystemTime>) -> u32 {
    t.ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs().min(u32::MAX as u64) as u32)
}

/// Where a get writes, and where it finally lands.
pub struct LocalTarget {
    pub dest: PathBuf,
    pub write_to: PathBuf,
    pub file: File,
    /// Bytes already present (resume).
    pub start: u64,
}

impl LocalTarget {
    pub fn open(dest: &Path, opts: &TransferOpts, remote_size: Option<u64>) -> Result<LocalTarget> {
        let write_to = if opts.atomic {
            hidden_sibling(dest, PART_SUFFIX)
        } else {
            dest.to_path_buf()
        };
        let mut oo = OpenOptions::new();
        // Never write through a symlink someone placed at the temporary name.
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut oo, libc::O_NOFOLLOW);
        oo.write(true).create(true);
        let resuming = opts.resume && write_to.exists();
        if !resuming {
            oo.truncate(true);
        }
        let mut file = oo
            .open(&write_to)
            .map_err(|e| Error::local_io("create", &write_to, &e))?;
        let mut start = 0;
        if resuming {
            let have = file.metadata().map(|m| m.len()).unwrap_or(0);
            // A partial file longer than the source cannot be a prefix of it.
            start = match remote_size {
                Some(size) if have <= size => have,
                _ => 0,
            };
            file.set_len(start)
                .and_then(|_| file.seek(SeekFrom::Start(start)).map(|_| ()))
                .map_err(|e| Error::local_io("resume", &write_to, &e))?;
        }
        Ok(LocalTarget {
            dest: dest.to_path_buf(),
            write_to,
            file,
            start,
        })
    }

    /// Fix times and mode, fsync, and rename into place. If any of it
    /// fails, the temporary file is removed: the data is complete, so a
    /// resume could add nothing to it.
    pub fn commit(self, times: Option<(u32, u32)>, mode: Option<u32>, fsync: bool) -> Result<()> {
        let result = self.finish(times, mode, fsync);
        if result.is_err() && self.write_to != self.dest {
            let _ = std::fs::remove_file(&self.write_to);
        }
        result
    }

    fn finish(&self, times: Option<(u32, u32)>, mode: Option<u32>, fsync: bool) -> Result<()> {
        if let Some(m) = mode {
            use std::os::unix::fs::PermissionsExt;
            self.file
                .set_permissions(std::fs::Permissions::from_mode(m))
                .map_err(|e| Error::local_io("chmod", &self.write_to, &e))?;
        }
        if let Some((atime, mtime)) = times {
            let ft = FileTimes::new()
                .set_accessed(system_time(atime))
                .set_modified(system_time(mtime));
            self.file
                .set_times(ft)
                .map_err(|e| Error::local_io("set times of", &self.write_to, &e))?;
        }
        if fsync {
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
        if self.write_to != self.dest && !keep_for_resume {
            let _ = std::fs::remove_file(&self.write_to);
        }
    }
}

/// A name from a server, checked before it becomes part of a local path:
/// not empty, not "." or "..", no '/', no NUL, no control characters, and
/// valid UTF-8.
pub fn check_remote_name<'a>(name: &'a [u8], dir: &str) -> Result<&'a str> {
    let unsafe_name = |why: &str| {
        Error::new(
            ErrorKind::UnsafePath,
            format!(
                "refusing the name {:?} listed in '{dir}': {why}",
                String::from_utf8_lossy(name)
            ),
        )
    };
    let s = std::str::from_utf8(name).map_err(|_| unsafe_name("it is not valid UTF-8"))?;
    if s.is_empty() || s == "." || s == ".." {
        return Err(unsafe_name("it is empty, '.' or '..'"));
    }
    if s.contains('/') {
        return Err(unsafe_name("it contains '/'"));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(unsafe_name("it contains a NUL or control character"));
    }
    Ok(s)
}

/// Create `base/rel...` one level at a time. Every level below `base` must
/// be a real directory: an existing symlink there is refused, so nothing is
/// ever written outside `base` through a link.
pub fn ensure_local_dir(base: &Path, rel: &[String], mode: Option<u32>) -> Result<PathBuf> {
    let mut path = base.to_path_buf();
    for part in rel {
        path.push(part);
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
            b"\xff\xfe",
        ] {
            let e = check_remote_name(bad, "/srv").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsafePath, "{bad:?}");
            assert!(e.message().contains("/srv"), "{e}");
        }
        for good in ["a", "..a", "a..", "é", "with space", "-rf"] {
            assert_eq!(check_remote_name(good.as_bytes(), "/srv").unwrap(), good);
        }
    }

    #[test]
    fn ensure_local_dir_refuses_symlinked_levels() {
        let base = std::env::temp_dir().join(format!("psftp-ensure-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let made = ensure_local_dir(&base, &["a".into(), "b".into()], None).unwrap();
        assert!(made.is_dir());
        std::os::unix::fs::symlink("/tmp", base.join("link")).unwrap();
        let e = ensure_local_dir(&base, &["link".into(), "x".into()], None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsafePath);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
