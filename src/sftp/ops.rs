//! The blocking form of each request: send it, wait for its reply, decode
//! it (request.rs). Paths are the already resolved remote paths, as bytes.

use super::batch;
use super::channel::SftpChannel;
use super::codec::{open_flags, Attrs, NameEntry};
use super::list::{is_entry, ListTask};
use super::request::*;
use super::show::show;
use crate::error::{Error, ErrorKind, Result};

/// An open remote file or directory handle.
pub type Handle = Vec<u8>;

fn unsupported(ext: &str, op: &str, subject: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("{op} {subject}: the server does not offer {ext}"),
    )
}

impl SftpChannel {
    fn require(&self, ext: &str, op: &str, subject: impl FnOnce() -> String) -> Result<()> {
        if self.has_extension(ext) {
            Ok(())
        } else {
            Err(unsupported(ext, op, &subject()))
        }
    }

    pub fn stat(&mut self, path: &[u8]) -> Result<Attrs> {
        self.call(&Stat { path })
    }

    pub fn lstat(&mut self, path: &[u8]) -> Result<Attrs> {
        self.call(&Lstat { path })
    }

    pub fn fstat(&mut self, handle: &[u8], path: &[u8]) -> Result<Attrs> {
        self.call(&Fstat { handle, path })
    }

    pub fn setstat(&mut self, path: &[u8], attrs: &Attrs) -> Result<()> {
        self.call(&SetStat {
            path,
            attrs: *attrs,
        })
    }

    pub fn fsetstat(&mut self, handle: &[u8], path: &[u8], attrs: &Attrs) -> Result<()> {
        self.call(&FSetStat {
            handle,
            path,
            attrs: *attrs,
        })
    }

    pub fn open_file(&mut self, path: &[u8], flags: u32, attrs: &Attrs) -> Result<Handle> {
        self.call(&Open {
            path,
            flags,
            attrs: *attrs,
        })
    }

    /// Open for reading (a convenience over `open_file`).
    pub fn open_read(&mut self, path: &[u8]) -> Result<Handle> {
        self.open_file(path, open_flags::READ, &Attrs::default())
    }

    /// Close a handle. A cancelled call only sends the CLOSE: it returns
    /// at once, even on a link that stopped answering.
    pub fn close_handle(&mut self, handle: &[u8], path: &[u8]) -> Result<()> {
        if self.is_cancelled() {
            return self.send_unanswered(&Close { handle, path });
        }
        self.call(&Close { handle, path })
    }

    /// All entries of a directory, '.' and '..' included, in server order
    /// (bounded, see list.rs).
    pub fn read_dir(&mut self, path: &[u8]) -> Result<Vec<NameEntry>> {
        batch::run_one(self, ListTask::new(path.to_vec()))?.into_result()
    }

    /// Whether a directory has an entry besides '.' and '..' (reads only
    /// until the first).
    pub fn has_entries(&mut self, path: &[u8]) -> Result<bool> {
        let names =
            batch::run_one(self, ListTask::until_first_entry(path.to_vec()))?.into_result()?;
        Ok(names.iter().any(|n| is_entry(&n.filename)))
    }

    pub fn realpath(&mut self, path: &[u8]) -> Result<Vec<u8>> {
        self.call(&RealPath { path })
    }

    pub fn readlink(&mut self, path: &[u8]) -> Result<Vec<u8>> {
        self.call(&ReadLink { path })
    }

    pub fn mkdir(&mut self, path: &[u8], attrs: &Attrs) -> Result<()> {
        self.call(&Mkdir {
            path,
            attrs: *attrs,
        })
    }

    pub fn rmdir(&mut self, path: &[u8]) -> Result<()> {
        self.call(&Rmdir { path })
    }

    pub fn remove(&mut self, path: &[u8]) -> Result<()> {
        self.call(&Remove { path })
    }

    pub fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<()> {
        self.call(&Rename { from, to })
    }

    /// Rename that replaces `to` (posix-rename@openssh.com).
    pub fn posix_rename(&mut self, from: &[u8], to: &[u8]) -> Result<()> {
        let req = PosixRename { from, to };
        self.require(ext::POSIX_RENAME, "posix_rename", || req.subject())?;
        self.call(&req)
    }

    pub fn hardlink(&mut self, from: &[u8], to: &[u8]) -> Result<()> {
        let req = Hardlink { from, to };
        self.require(ext::HARDLINK, "hardlink", || req.subject())?;
        self.call(&req)
    }

    pub fn fsync(&mut self, handle: &[u8], path: &[u8]) -> Result<()> {
        self.require(ext::FSYNC, "fsync", || quoted(path))?;
        self.call(&Fsync { handle, path })
    }

    pub fn statvfs(&mut self, path: &[u8]) -> Result<StatVfs> {
        self.require(ext::STATVFS, "statvfs", || quoted(path))?;
        self.call(&StatVfsOf { path })
    }

    /// Create `link` pointing at `target`, and make sure that is what the
    /// server made. Servers read the two paths in different orders
    /// (request.rs, LinkOrder): until a link has confirmed this server's
    /// order, each new link is checked. Something at `link` that was not
    /// there before is the link asked for; something at `target` that was
    /// not there before is the link made the wrong way round (named
    /// `target`, pointing at `link`): it is removed and made again in the
    /// other order, which is then remembered for this channel. While the
    /// order is unknown, a `link` that already exists is refused without
    /// asking the server, which might otherwise make the link reversed.
    pub fn symlink(&mut self, target: &[u8], link: &[u8]) -> Result<()> {
        let order = self.quirks().symlink_order;
        if self.quirks().symlink_order_confirmed {
            return self.call(&Symlink {
                target,
                link,
                order,
            });
        }
        if self.is_there(link)? {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("symlink {}: it already exists", quoted(link)),
            ));
        }
        // Whatever is at `target` before is never taken for a reversed
        // link of ours.
        let target_was_there = self.is_there(target)?;
        self.call(&Symlink {
            target,
            link,
            order,
        })?;
        match self.check_link(target, link, !target_was_there)? {
            LinkCheck::AsAsked => {
                self.update_quirks(|q| q.symlink_order_confirmed = true);
                Ok(())
            }
            LinkCheck::Reversed => {
                // Ours, just made: nothing was at `target` before.
                self.remove(target).map_err(|e| {
                    e.context(format!(
                        "symlink '{}': the server made the link the wrong way round, as '{}'",
                        show(link),
                        show(target)
                    ))
                })?;
                let other = match order {
                    LinkOrder::TargetFirst => LinkOrder::LinkFirst,
                    LinkOrder::LinkFirst => LinkOrder::TargetFirst,
                };
                self.call(&Symlink {
                    target,
                    link,
                    order: other,
                })?;
                if self.check_link(target, link, false)? != LinkCheck::AsAsked {
                    return Err(no_link(link));
                }
                self.note(format!(
                    "the server reads SSH_FXP_SYMLINK as {other:?}; using that order"
                ));
                self.update_quirks(|q| {
                    q.symlink_order = other;
                    q.symlink_order_confirmed = true;
                });
                Ok(())
            }
        }
    }

    /// Whether anything (a dangling link too) is at `path`. Only a broken
    /// channel is an error.
    fn is_there(&mut self, path: &[u8]) -> Result<bool> {
        match self.lstat(path) {
            Ok(_) => Ok(true),
            Err(e) if self.check_usable().is_err() => Err(e),
            Err(_) => Ok(false),
        }
    }

    /// Whether a symbolic link is at `path`: READLINK answers (whatever
    /// the text), or LSTAT says so. READLINK comes first because ProFTPD's
    /// LSTAT of a link to an existing file describes the file; LSTAT backs
    /// it up because asyncssh's server, serving a chroot, cannot READLINK a
    /// link with a relative target (it resolves the text against its own
    /// working directory and answers "not found").
    fn link_is_there(&mut self, path: &[u8]) -> Result<bool> {
        if self.readlink(path).is_ok() {
            return Ok(true);
        }
        self.check_usable()?;
        match self.lstat(path) {
            Ok(a) => Ok(a.is_symlink()),
            Err(e) if self.check_usable().is_err() => Err(e),
            Err(_) => Ok(false),
        }
    }

    /// What a SYMLINK that the server accepted made, given that nothing
    /// was at `link` before (`may_be_reversed`: nor at `target`). The link
    /// text is not compared: servers rewrite it (ProFTPD and pkg/sftp's
    /// NewServer read back an absolute path).
    fn check_link(
        &mut self,
        target: &[u8],
        link: &[u8],
        may_be_reversed: bool,
    ) -> Result<LinkCheck> {
        if self.link_is_there(link)? {
            return Ok(LinkCheck::AsAsked);
        }
        if may_be_reversed && target != link && self.link_is_there(target)? {
            return Ok(LinkCheck::Reversed);
        }
        Err(no_link(link))
    }
}

#[derive(Debug, PartialEq, Eq)]
enum LinkCheck {
    AsAsked,
    Reversed,
}

fn no_link(link: &[u8]) -> Error {
    Error::new(
        ErrorKind::Sftp,
        format!(
            "symlink '{}': the server reported success, but no link is there",
            show(link)
        ),
    )
}
