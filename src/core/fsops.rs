//! pysftp's remote file-system members: listing, stat, directories, links,
//! modes, ownership, renames. Each resolves its path against the client-side
//! working directory and names it in errors.

use super::conn::{Connection, State};
use super::paths::{remote_dirname, remote_join};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::list::is_entry;
use crate::sftp::{show, Attrs, NameEntry, StatVfs};

/// One entry of `listdir_attr`: the name's bytes exactly as the server
/// sent them (UTF-8 or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub filename: Vec<u8>,
    pub longname: Vec<u8>,
    pub attrs: Attrs,
}

impl DirEntry {
    pub fn from_name(n: NameEntry) -> DirEntry {
        DirEntry {
            filename: n.filename,
            longname: n.longname,
            attrs: n.attrs,
        }
    }
}

/// Directory entries without "." and "..", sorted by name (pysftp sorts).
pub fn sorted_entries(entries: Vec<NameEntry>) -> Vec<DirEntry> {
    let mut v: Vec<DirEntry> = entries
        .into_iter()
        .filter(|e| is_entry(&e.filename))
        .map(DirEntry::from_name)
        .collect();
    v.sort_by(|a, b| a.filename.cmp(&b.filename));
    v
}

/// Whether an error only means "no such thing" for exists/isdir/isfile:
/// pysftp answers False for those; a lost connection is still an error.
fn is_absence(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::NotFound
            | ErrorKind::PermissionDenied
            | ErrorKind::NotADirectory
            | ErrorKind::Sftp
    )
}

/// A probe's answer ("is something there?"): Some if it is, None if the
/// server said it is not (or refused to say). A failure of the call itself
/// (cancelled, timed out, connection lost) is an error, never "absent": a
/// helper that took it for "absent" would go on as if the call were fine
/// (review finding 5).
pub(crate) fn probe<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_absence(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn absent_as_false(r: Result<Attrs>, test: impl Fn(&Attrs) -> bool) -> Result<bool> {
    match r {
        Ok(a) => Ok(test(&a)),
        Err(e) if is_absence(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

impl State {
    pub fn stat_path(&mut self, path: &[u8]) -> Result<Attrs> {
        let p = self.resolve(path);
        self.sftp.stat(&p)
    }

    /// Refine a generic SFTP failure of a create-type operation: OpenSSH
    /// answers "Failure" when the target exists.
    fn refine_exists(&mut self, err: Error, resolved: &[u8]) -> Error {
        if err.kind() != ErrorKind::Sftp {
            return err;
        }
        match probe(self.sftp.lstat(resolved)) {
            Ok(Some(_)) => {
                let message = format!("{} (it already exists)", err.message());
                err.refined(ErrorKind::Exists, message)
            }
            Ok(None) => err,
            Err(stopped) => stopped,
        }
    }

    /// SFTP v3 has no "directory not empty" status: OpenSSH answers a
    /// generic "Failure" to rmdir of a non-empty directory. Tell the caller
    /// when a listing (only on that failure) shows entries.
    fn refine_not_empty(&mut self, err: Error, resolved: &[u8]) -> Error {
        if err.kind() != ErrorKind::Sftp {
            return err;
        }
        match probe(self.sftp.has_entries(resolved)) {
            Ok(Some(true)) => {}
            Ok(_) => return err,
            Err(stopped) => return stopped,
        }
        let message = format!("rmdir '{}': directory not empty", show(resolved));
        err.refined(ErrorKind::DirNotEmpty, message)
    }

    /// OpenSSH reports ENOTDIR as "no such file": tell the caller when the
    /// path exists but is not a directory.
    pub fn refine_not_a_directory(&mut self, err: Error, resolved: &[u8]) -> Error {
        if err.kind() == ErrorKind::NotFound {
            match probe(self.sftp.stat(resolved)) {
                Ok(Some(a)) if !a.is_dir() => {
                    let message = format!("{}: not a directory", err.message());
                    return err.refined(ErrorKind::NotADirectory, message);
                }
                Ok(_) => {}
                Err(stopped) => return stopped,
            }
        }
        err
    }

    pub fn mkdir_path(&mut self, path: &[u8], mode: u32) -> Result<()> {
        let p = self.resolve(path);
        let attrs = Attrs {
            permissions: Some(mode),
            ..Attrs::default()
        };
        self.sftp
            .mkdir(&p, &attrs)
            .map_err(|e| self.refine_exists(e, &p))
    }

    /// Normalize (server-side realpath) of a resolved path.
    pub fn normalize_path(&mut self, path: &[u8]) -> Result<Vec<u8>> {
        let p = self.resolve(path);
        self.sftp.realpath(&p)
    }
}

impl Connection {
    /// pysftp `listdir(remotepath='.')`: sorted names.
    pub fn listdir(&self, path: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .listdir_attr(path)?
            .into_iter()
            .map(|e| e.filename)
            .collect())
    }

    /// pysftp `listdir_attr(remotepath='.')`: sorted entries with attributes.
    pub fn listdir_attr(&self, path: &[u8]) -> Result<Vec<DirEntry>> {
        self.with(|st| {
            let p = st.resolve(path);
            let entries = st
                .sftp
                .read_dir(&p)
                .map_err(|e| st.refine_not_a_directory(e, &p))?;
            Ok(sorted_entries(entries))
        })
    }

    pub fn stat(&self, path: &[u8]) -> Result<Attrs> {
        self.with(|st| st.stat_path(path))
    }

    pub fn lstat(&self, path: &[u8]) -> Result<Attrs> {
        self.with(|st| {
            let p = st.resolve(path);
            st.sftp.lstat(&p)
        })
    }

    /// pysftp `exists`: True if stat succeeds.
    pub fn exists(&self, path: &[u8]) -> Result<bool> {
        absent_as_false(self.stat(path), |_| true)
    }

    /// pysftp `lexists`: True also for a broken symlink.
    pub fn lexists(&self, path: &[u8]) -> Result<bool> {
        absent_as_false(self.lstat(path), |_| true)
    }

    pub fn isdir(&self, path: &[u8]) -> Result<bool> {
        absent_as_false(self.stat(path), Attrs::is_dir)
    }

    pub fn isfile(&self, path: &[u8]) -> Result<bool> {
        absent_as_false(self.stat(path), Attrs::is_file)
    }

    /// pysftp `chdir(remotepath)` (also `cwd`). None resets to the server's
    /// default directory, as paramiko does.
    pub fn chdir(&self, path: Option<&[u8]>) -> Result<()> {
        self.with(|st| {
            let Some(path) = path else {
                st.cwd = None;
                return Ok(());
            };
            let p = st.resolve(path);
            let attrs = st.sftp.stat(&p).map_err(|e| e.context("chdir"))?;
            if !attrs.is_dir() {
                return Err(Error::new(
                    ErrorKind::NotADirectory,
                    format!("chdir '{}': not a directory", show(&p)),
                ));
            }
            st.cwd = Some(st.sftp.realpath(&p)?);
            Ok(())
        })
    }

    /// The first half of pysftp's `with cd(remotepath):`: remember the
    /// working directory, then change to `path` (None only bookmarks).
    /// Nothing is remembered if the change fails. As in pysftp, what is
    /// remembered is `pwd`: before any chdir that is the server's default
    /// directory by name, so after the block `getcwd()` returns it.
    pub fn cd_push(&self, path: Option<&[u8]>) -> Result<()> {
        let saved = self.with(|st| match &st.cwd {
            Some(cwd) => Ok(cwd.clone()),
            None => st.normalize_path(b"."),
        })?;
        if path.is_some() {
            self.chdir(path)?;
        }
        self.with(|st| {
            st.cd_stack.push(Some(saved));
            Ok(())
        })
    }

    /// The second half: return to the directory the matching `cd_push`
    /// remembered. Works on a broken connection too (it is client state).
    pub fn cd_pop(&self) -> Result<()> {
        self.with_state_even_if_broken(|st| {
            let saved = st
                .cd_stack
                .pop()
                .ok_or_else(|| Error::invalid_arg("conn", "cd_pop without a matching cd_push"))?;
            st.cwd = saved;
            Ok(())
        })
    }

    /// pysftp `with cd(remotepath): body`: the old directory is restored
    /// whatever the body returns.
    pub fn cd<R>(&self, path: Option<&[u8]>, body: impl FnOnce() -> R) -> Result<R> {
        self.cd_push(path)?;
        let r = body();
        self.cd_pop()?;
        Ok(r)
    }

    /// pysftp `getcwd()`: None until the first chdir.
    pub fn getcwd(&self) -> Result<Option<Vec<u8>>> {
        self.with(|st| Ok(st.cwd.clone()))
    }

    /// pysftp `pwd`: `normalize('.')`.
    pub fn pwd(&self) -> Result<Vec<u8>> {
        self.with(|st| st.normalize_path(b"."))
    }

    /// pysftp `normalize(remotepath)`: the server's realpath of the path,
    /// as pysftp returns it. Whether a missing path is an error is the
    /// server's choice (OpenSSH resolves a missing last component and
    /// refuses a missing directory on the way with NotFound).
    pub fn normalize(&self, path: &[u8]) -> Result<Vec<u8>> {
        self.with(|st| st.normalize_path(path))
    }

    /// pysftp `readlink(remotelink)`: the target as an absolute, normalized
    /// path. A relative target is taken relative to the link's directory
    /// (pysftp resolves it against the cwd, which is only right for links in
    /// the cwd). A dangling target is returned in absolute form.
    pub fn readlink(&self, path: &[u8]) -> Result<Vec<u8>> {
        self.with(|st| {
            let link = st.resolve(path);
            let target = match st.sftp.readlink(&link) {
                Ok(t) => t,
                // asyncssh's server, serving a chroot, answers READLINK of
                // a link with a relative target "not found" (it resolves
                // the text against its own working directory); its
                // realpath of the link is where the link leads.
                Err(e)
                    if e.kind() == ErrorKind::NotFound
                        && probe(st.sftp.lstat(&link))?.is_some_and(|a| a.is_symlink()) =>
                {
                    return st
                        .sftp
                        .realpath(&link)
                        .map_err(|r| probe::<()>(Err(r)).err().unwrap_or(e));
                }
                Err(e) => return Err(e),
            };
            let absolute = if target.starts_with(b"/") {
                target
            } else {
                let dir = st.sftp.realpath(non_empty(remote_dirname(&link)))?;
                remote_join(&dir, &target)
            };
            match probe(st.sftp.realpath(&absolute))? {
                Some(p) if probe(st.sftp.lstat(&p))?.is_some() => Ok(p),
                _ => Ok(lexical_normalize(&absolute)),
            }
        })
    }

    /// pysftp `mkdir(remotepath, mode=777)`; `mode` in POSIX bits (0o777).
    pub fn mkdir(&self, path: &[u8], mode: u32) -> Result<()> {
        self.with(|st| st.mkdir_path(path, mode))
    }

    /// pysftp `makedirs(remotedir, mode=777)`: create missing levels; an
    /// existing directory is fine, a file in the way is an error.
    pub fn makedirs(&self, path: &[u8], mode: u32) -> Result<()> {
        self.with(|st| makedirs_in(st, path, mode))
    }

    /// pysftp `rmdir(remotepath)`: remove an empty directory.
    pub fn rmdir(&self, path: &[u8]) -> Result<()> {
        self.with(|st| {
            let p = st.resolve(path);
            st.sftp.rmdir(&p).map_err(|e| st.refine_not_empty(e, &p))
        })
    }

    /// pysftp `remove` / `unlink`: files only.
    pub fn remove(&self, path: &[u8]) -> Result<()> {
        self.with(|st| {
            let p = st.resolve(path);
            st.sftp.remove(&p)
        })
    }

    /// pysftp `rename(remote_src, remote_dest)`: fails with Exists if
    /// anything is at the destination (SFTP v3 semantics). Some servers'
    /// RENAME replaces it anyway (pkg/sftp's NewServer), so the destination
    /// is looked at first: two requests, so a file another client creates
    /// there in between may still be replaced on such a server.
    pub fn rename(&self, src: &[u8], dst: &[u8]) -> Result<()> {
        self.with(|st| {
            let (s, d) = (st.resolve(src), st.resolve(dst));
            if probe(st.sftp.lstat(&d))?.is_some() {
                return Err(Error::new(
                    ErrorKind::Exists,
                    format!(
                        "rename '{}' to '{}': the destination already exists; nothing was renamed",
                        show(&s),
                        show(&d)
                    ),
                ));
            }
            st.sftp.rename(&s, &d).map_err(|e| st.refine_exists(e, &d))
        })
    }

    /// Rename that atomically replaces the destination
    /// (posix-rename@openssh.com). Without the extension: Unsupported.
    pub fn posix_rename(&self, src: &[u8], dst: &[u8]) -> Result<()> {
        self.with(|st| {
            let (s, d) = (st.resolve(src), st.resolve(dst));
            st.sftp.posix_rename(&s, &d)
        })
    }

    /// hardlink@openssh.com: `dst` becomes another name of `src`.
    pub fn hardlink(&self, src: &[u8], dst: &[u8]) -> Result<()> {
        self.with(|st| {
            let (s, d) = (st.resolve(src), st.resolve(dst));
            st.sftp
                .hardlink(&s, &d)
                .map_err(|e| st.refine_exists(e, &d))
        })
    }

    /// pysftp `symlink(remote_src, remote_dest)`: create `dest` pointing to
    /// `src`; an error if anything exists at `dest`.
    pub fn symlink(&self, src: &[u8], dest: &[u8]) -> Result<()> {
        self.with(|st| {
            let d = st.resolve(dest);
            st.sftp
                .symlink(src, &d)
                .map_err(|e| st.refine_exists(e, &d))
        })
    }

    /// pysftp `chmod(remotepath, mode=777)`; `mode` in POSIX bits.
    pub fn chmod(&self, path: &[u8], mode: u32) -> Result<()> {
        self.setstat(
            path,
            Attrs {
                permissions: Some(mode),
                ..Attrs::default()
            },
        )
    }

    /// pysftp `chown(remotepath, uid=None, gid=None)`: a missing id keeps
    /// the current one (one stat first, as pysftp does).
    pub fn chown(&self, path: &[u8], uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        self.with(|st| {
            let p = st.resolve(path);
            let (uid, gid) = match (uid, gid) {
                (Some(u), Some(g)) => (u, g),
                (None, None) => return Ok(()),
                _ => {
                    let (cu, cg) = st.sftp.stat(&p)?.uid_gid.ok_or_else(|| {
                        Error::new(
                            ErrorKind::Sftp,
                            format!(
                                "chown '{}': the server did not report the current owner",
                                show(&p)
                            ),
                        )
                    })?;
                    (uid.unwrap_or(cu), gid.unwrap_or(cg))
                }
            };
            st.sftp.setstat(
                &p,
                &Attrs {
                    uid_gid: Some((uid, gid)),
                    ..Attrs::default()
                },
            )
        })
    }

    /// Set access and modification times (paramiko `utime`).
    pub fn utime(&self, path: &[u8], atime: u32, mtime: u32) -> Result<()> {
        self.setstat(
            path,
            Attrs {
                atime_mtime: Some((atime, mtime)),
                ..Attrs::default()
            },
        )
    }

    /// pysftp `truncate(remotepath, size)`: returns the new size, confirmed
    /// by a stat.
    pub fn truncate(&self, path: &[u8], size: u64) -> Result<u64> {
        self.with(|st| {
            let p = st.resolve(path);
            st.sftp.setstat(
                &p,
                &Attrs {
                    size: Some(size),
                    ..Attrs::default()
                },
            )?;
            st.sftp.stat(&p)?.size.ok_or_else(|| {
                Error::new(
                    ErrorKind::Sftp,
                    format!(
                        "truncate '{}': the server did not report the new size",
                        show(&p)
                    ),
                )
            })
        })
    }

    fn setstat(&self, path: &[u8], attrs: Attrs) -> Result<()> {
        self.with(|st| {
            let p = st.resolve(path);
            st.sftp.setstat(&p, &attrs)
        })
    }

    /// statvfs@openssh.com: file-system figures of the volume holding `path`.
    pub fn statvfs(&self, path: &[u8]) -> Result<StatVfs> {
        self.with(|st| {
            let p = st.resolve(path);
            st.sftp.statvfs(&p)
        })
    }

    /// Whether the server offers an SFTP extension (e.g. "fsync@openssh.com").
    pub fn has_extension(&self, name: &str) -> Result<bool> {
        self.with(|st| Ok(st.sftp.has_extension(name)))
    }
}

fn non_empty(dir: &[u8]) -> &[u8] {
    if dir.is_empty() {
        b"."
    } else {
        dir
    }
}

/// pysftp's makedirs, on the already locked state: isdir, else isfile
/// (error), else create the parent first, then this level.
pub fn makedirs_in(st: &mut State, path: &[u8], mode: u32) -> Result<()> {
    let p = st.resolve(path);
    match st.sftp.stat(&p) {
        Ok(a) if a.is_dir() => return Ok(()),
        Ok(_) => return Err(in_the_way(&p)),
        // Not there. A generic failure may mean the same: pkg/sftp and
        // ProFTPD answer a path through a file with it ("not a
        // directory"); the parent's level finds the file in the way.
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Sftp) => {}
        Err(e) => return Err(e.context("makedirs")),
    }
    let end = p.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    let trimmed = &p[..end];
    let parent = remote_dirname(trimmed);
    if !parent.is_empty() && parent != b"/" && parent != trimmed {
        makedirs_in(st, parent, mode)?;
    }
    let attrs = Attrs {
        permissions: Some(mode),
        ..Attrs::default()
    };
    let Err(e) = st.sftp.mkdir(trimmed, &attrs) else {
        return Ok(());
    };
    // What is there now: a directory another client made meanwhile is
    // fine; anything else is in the way (servers answer EEXIST with a
    // generic failure).
    match probe(st.sftp.stat(trimmed))? {
        Some(a) if a.is_dir() => Ok(()),
        _ if probe(st.sftp.lstat(trimmed))?.is_some() => Err(in_the_way(trimmed)),
        _ => Err(e),
    }
}

fn in_the_way(path: &[u8]) -> Error {
    Error::new(
        ErrorKind::Exists,
        format!(
            "makedirs '{}': a file with the same name as the remotedir already exists",
            show(path)
        ),
    )
}

/// Collapse ".", ".." and repeated slashes of an absolute POSIX path.
pub fn lexical_normalize(path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = b"/".to_vec();
    out.extend_from_slice(&parts.join(&b'/'));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_normalize_collapses_dots() {
        assert_eq!(lexical_normalize(b"/a/./b/../c//d"), b"/a/c/d");
        assert_eq!(lexical_normalize(b"/.."), b"/");
    }
}
