//! Single-file transfers: get, put, getfo, putfo. Data moves through the
//! pipelined engine; destinations are replaced atomically by default.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::conn::{Connection, State};
use super::local::{unix_secs, LocalTarget};
use super::options::{TransferOpts, PART_SUFFIX};
use super::paths::{local_name_for, remote_basename, remote_dirname, remote_join};
use super::split::{self, Chunks, RangeSink, RangeSource, Report};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::{download, download_range, open_flags, upload, Attrs, Sink, Source};

/// A byte-count progress callback: (done, total) -> keep going?
pub type ProgressFn<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// Adapt an optional user progress callback to the engine's form.
fn progress_adapter<'a>(
    user: Option<ProgressFn<'a>>,
    total: u64,
) -> impl FnMut(u64) -> Result<()> + 'a {
    let mut user = user;
    move |done| match user.as_mut() {
        Some(cb) => {
            if cb(done, total) {
                Ok(())
            } else {
                Err(Error::stopped_by("progress"))
            }
        }
        None => Ok(()),
    }
}

pub struct FileSink<'a> {
    pub file: &'a mut File,
    pub path: &'a Path,
}

impl Sink for FileSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.file
            .write_all(data)
            .map_err(|e| Error::local_io("write", self.path, &e))
    }
}

pub struct FileSource<'a> {
    pub file: &'a mut File,
    pub path: &'a Path,
}

impl Source for FileSource<'_> {
    /// Fill the whole buffer unless the file ends, so WRITE requests are full.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.file.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::local_io("read", self.path, &e)),
            }
        }
        Ok(n)
    }
}

/// A `getfo` destination: the caller's write callback.
pub struct FnSink<'a>(pub &'a mut dyn FnMut(&[u8]) -> Result<()>);

impl Sink for FnSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        (self.0)(data)
    }
}

/// A `putfo` origin: the caller's read callback.
pub struct FnSource<'a>(pub &'a mut dyn FnMut(&mut [u8]) -> Result<usize>);

impl Source for FnSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        (self.0)(buf)
    }
}

/// The remote side of an upload: temporary name, final name, handle.
struct RemoteTarget {
    dest: String,
    write_to: String,
    handle: Vec<u8>,
    start: u64,
}

fn remote_part_name(dest: &str) -> String {
    let name = remote_basename(dest);
    remote_join(remote_dirname(dest), &format!(".{name}.{PART_SUFFIX}"))
}

impl State {
    fn open_remote_target(&mut self, dest: &str, opts: &TransferOpts) -> Result<RemoteTarget> {
        let write_to = if opts.atomic {
            remote_part_name(dest)
        } else {
            dest.to_string()
        };
        let mut start = 0;
        let mut flags = open_flags::WRITE | open_flags::CREAT;
        if opts.resume && opts.atomic {
            if let Ok(a) = self.sftp.stat(&write_to) {
                start = a.size.unwrap_or(0);
            }
        }
        if start == 0 {
            flags |= open_flags::TRUNC;
        }
        let handle = self.sftp.open_file(&write_to, flags, &Attrs::default())?;
        if opts.atomic {
            // Never widen access: a replaced file keeps its permission bits.
            if let Ok(old) = self.sftp.stat(dest) {
                if let Some(perm) = old.permissions.filter(|_| old.is_file()) {
                    let keep = Attrs {
                        permissions: Some(perm & 0o7777),
                        ..Attrs::default()
                    };
                    self.sftp.fsetstat(&handle, &write_to, &keep)?;
                }
            }
        }
        Ok(RemoteTarget {
            dest: dest.to_string(),
            write_to,
            handle,
            start,
        })
    }

    /// Move an uploaded temporary file over the destination: atomically with
    /// posix-rename@openssh.com, else remove-then-rename (not atomic).
    fn commit_remote(&mut self, t: &RemoteTarget) -> Result<()> {
        if t.write_to == t.dest {
            return Ok(());
        }
        if self.sftp.has_extension("posix-rename@openssh.com") {
            return self.sftp.posix_rename(&t.write_to, &t.dest);
        }
        if self.sftp.lstat(&t.dest).is_ok() {
            self.sftp.remove(&t.dest)?;
        }
        self.sftp.rename(&t.write_to, &t.dest)
    }

    /// Upload `source` to the resolved path `dest`.
    #[allow(clippy::too_many_arguments)]
    pub fn upload_to(
        &mut self,
        dest: &str,
        source: &mut dyn Source,
        total: u64,
        progress: Option<ProgressFn<'_>>,
        confirm: bool,
        times: Option<(u32, u32)>,
        opts: &TransferOpts,
    ) -> Result<Attrs> {
        self.upload_with(dest, confirm, times, opts, |st, t| {
            let start = t.start;
            let mut progress = progress_adapter(progress, total);
            let mut on_progress = |n: u64| progress(start + n);
            upload(
                &mut st.sftp,
                &t.handle,
                &t.write_to,
                start,
                source,
                &mut on_progress,
            )
        })
    }

    /// Open the upload target for `dest`, fill it with `write` (which
    /// returns the bytes it wrote), then finish it, put it in place and
    /// confirm its size. A failed upload leaves no temporary file behind.
    fn upload_with(
        &mut self,
        dest: &str,
        confirm: bool,
        times: Option<(u32, u32)>,
        opts: &TransferOpts,
        write: impl FnOnce(&mut State, &RemoteTarget) -> Result<u64>,
    ) -> Result<Attrs> {
        let t = self.open_remote_target(dest, opts)?;
        let result = write(self, &t).and_then(|n| self.finish_remote(&t, times, opts).map(|_| n));
        let closed = self.sftp.close_handle(&t.handle, &t.write_to);
        let sent = match result.and_then(|n| closed.map(|_| n)) {
            Ok(n) => n,
            Err(e) => {
                if t.write_to != t.dest && !opts.resume && self.sftp.check_usable().is_ok() {
                    let _ = self.sftp.remove(&t.write_to);
                }
                return Err(e);
            }
        };
        if let Err(e) = self.commit_remote(&t) {
            // The upload is whole but could not be put in place: do not
            // leave it behind.
            if t.write_to != t.dest {
                let _ = self.sftp.remove(&t.write_to);
            }
            return Err(e);
        }
        if !confirm {
            return Ok(Attrs::default());
        }
        let attrs = self.sftp.stat(dest)?;
        let size = t.start + sent;
        if attrs.size != Some(size) {
            return Err(Error::new(
                ErrorKind::Sftp,
                format!(
                    "put '{dest}': size mismatch in put! remote {} != local {size}",
                    attrs.size.map_or("unknown".into(), |s| s.to_string())
                ),
            ));
        }
        Ok(attrs)
    }

    /// Set the times and flush to disk, on the still open target.
    fn finish_remote(
        &mut self,
        t: &RemoteTarget,
        times: Option<(u32, u32)>,
        opts: &TransferOpts,
    ) -> Result<()> {
        if let Some(times) = times {
            let a = Attrs {
                atime_mtime: Some(times),
                ..Attrs::default()
            };
            self.sftp.fsetstat(&t.handle, &t.write_to, &a)?;
        }
        if opts.fsync && self.sftp.has_extension("fsync@openssh.com") {
            self.sftp.fsync(&t.handle, &t.write_to)?;
        }
        Ok(())
    }

    /// Upload the local `file` in chunks from this connection and, in
    /// parallel, from extra ones (see `split`).
    #[allow(clippy::too_many_arguments)]
    fn upload_split(
        &mut self,
        conn: &Connection,
        dest: &str,
        file: &File,
        path: &Path,
        size: u64,
        parts: usize,
        progress: Option<ProgressFn<'_>>,
        confirm: bool,
        times: Option<(u32, u32)>,
        opts: &TransferOpts,
    ) -> Result<Attrs> {
        self.upload_with(dest, confirm, times, opts, |st, t| {
            let helper = |c: &Connection, chunks: &Chunks| {
                c.with(|hs| {
                    let handle =
                        hs.sftp
                            .open_file(&t.write_to, open_flags::WRITE, &Attrs::default())?;
                    let r =
                        hs.put_chunks(&handle, &t.write_to, file, path, chunks, &mut |_| Ok(()));
                    let closed = hs.sftp.close_handle(&handle, &t.write_to);
                    r.and(closed)
                })
            };
            let main = |chunks: &Chunks, report: Report<'_>| {
                st.put_chunks(&t.handle, &t.write_to, file, path, chunks, report)
            };
            let mut report = progress_adapter(progress, size);
            split::run(conn, size, parts, helper, main, &mut report)?;
            Ok(size)
        })
    }

    /// Run `body` with 1/`parts` of the channel's in-flight budget, so that
    /// `parts` connections moving data together (a split transfer, a tree
    /// operation) hold about as much memory as one.
    pub(crate) fn with_share<R>(&mut self, parts: usize, body: impl FnOnce(&mut State) -> R) -> R {
        self.sftp.share_in_flight(parts);
        let r = body(self);
        self.sftp.share_in_flight(1);
        r
    }

    fn put_chunks(
        &mut self,
        handle: &[u8],
        rpath: &str,
        file: &File,
        path: &Path,
        chunks: &Chunks,
        report: Report<'_>,
    ) -> Result<()> {
        let what = format!("put '{}'", path.display());
        self.with_share(chunks.parts, |st| {
            chunks.take_each(report, &what, |start, end, progress| {
                let mut source = RangeSource {
                    file,
                    path,
                    pos: start,
                    end,
                };
                upload(&mut st.sftp, handle, rpath, start, &mut source, progress)
            })
        })
    }

    fn get_chunks(
        &mut self,
        handle: &[u8],
        rpath: &str,
        file: &File,
        path: &Path,
        chunks: &Chunks,
        report: Report<'_>,
    ) -> Result<()> {
        let what = format!("get '{rpath}'");
        self.with_share(chunks.parts, |st| {
            chunks.take_each(report, &what, |start, end, progress| {
                let mut sink = RangeSink {
                    file,
                    path,
                    pos: start,
                };
                download_range(
                    &mut st.sftp,
                    handle,
                    rpath,
                    start,
                    end - start,
                    &mut sink,
                    progress,
                )
            })
        })
    }

    /// Download the open remote file in chunks from this connection and,
    /// in parallel, from extra ones (see `split`).
    #[allow(clippy::too_many_arguments)]
    fn download_split(
        &mut self,
        conn: &Connection,
        handle: &[u8],
        rpath: &str,
        t: &LocalTarget,
        size: u64,
        parts: usize,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<()> {
        let helper = |c: &Connection, chunks: &Chunks| {
            c.with(|hs| {
                hs.with_read_handle(rpath, |hs, h, _| {
                    hs.get_chunks(h, rpath, &t.file, &t.write_to, chunks, &mut |_| Ok(()))
                })
            })
        };
        let main = |chunks: &Chunks, report: Report<'_>| {
            self.get_chunks(handle, rpath, &t.file, &t.write_to, chunks, report)
        };
        let mut report = progress_adapter(progress, size);
        split::run(conn, size, parts, helper, main, &mut report)
    }

    /// Open `rpath` for reading, run `body` with the handle and the file's
    /// attributes, and close the handle whatever happened.
    pub fn with_read_handle<R>(
        &mut self,
        rpath: &str,
        body: impl FnOnce(&mut State, &[u8], &Attrs) -> Result<R>,
    ) -> Result<R> {
        let handle = self.sftp.open_read(rpath)?;
        let result = self
            .sftp
            .fstat(&handle, rpath)
            .and_then(|attrs| body(self, &handle, &attrs));
        let closed = self.sftp.close_handle(&handle, rpath);
        let out = result?;
        closed?;
        Ok(out)
    }

    /// Stream an open remote file from `from` into `sink`.
    pub fn read_handle(
        &mut self,
        handle: &[u8],
        rpath: &str,
        from: u64,
        attrs: &Attrs,
        sink: &mut dyn Sink,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<u64> {
        let mut progress = progress_adapter(progress, attrs.size.unwrap_or(0));
        let mut on_progress = |n: u64| progress(from + n);
        download(
            &mut self.sftp,
            handle,
            rpath,
            from,
            attrs.size,
            sink,
            &mut on_progress,
        )
    }
}

impl Connection {
    /// pysftp `get(remotepath, localpath=None, callback=None,
    /// preserve_mtime=False)`. Without `localpath` the file lands in the
    /// process's working directory under its remote basename.
    pub fn get(
        &self,
        remote: &str,
        local: Option<&Path>,
        progress: Option<ProgressFn<'_>>,
        preserve_mtime: bool,
        opts: &TransferOpts,
    ) -> Result<()> {
        let dest = match local {
            Some(p) => p.to_path_buf(),
            None => PathBuf::from(local_name_for(remote).ok_or_else(|| {
                Error::invalid_arg(
                    "localpath",
                    format!("not given, and '{remote}' has no file name"),
                )
            })?),
        };
        self.with(|st| {
            let rpath = st.resolve(remote);
            st.with_read_handle(&rpath, |st, handle, attrs| {
                let mut t = LocalTarget::open(&dest, opts, attrs.size)?;
                let size = attrs.size.unwrap_or(0);
                let parts = split::parts(size, st.sftp.min_rtt(), opts);
                let moved = if parts > 1 {
                    self.log(&format!("get '{remote}': {parts} connections"));
                    st.download_split(self, handle, &rpath, &t, size, parts, progress)
                } else {
                    let mut sink = FileSink {
                        file: &mut t.file,
                        path: &t.write_to,
                    };
                    st.read_handle(handle, &rpath, t.start, attrs, &mut sink, progress)
                        .map(|_| ())
                };
                match moved {
                    Ok(()) => t.commit(
                        attrs.atime_mtime.filter(|_| preserve_mtime),
                        None,
                        opts.fsync,
                    ),
                    Err(e) => {
                        t.abandon(opts.resume);
                        Err(e)
                    }
                }
            })
        })
        .inspect(|_| self.log(&format!("get '{remote}' -> '{}'", dest.display())))
    }

    /// pysftp `put(localpath, remotepath=None, callback=None, confirm=True,
    /// preserve_mtime=False)`: returns the remote attributes (from the
    /// confirming stat; all absent when `confirm` is false, as in paramiko).
    pub fn put(
        &self,
        local: &Path,
        remote: Option<&str>,
        progress: Option<ProgressFn<'_>>,
        confirm: bool,
        preserve_mtime: bool,
        opts: &TransferOpts,
    ) -> Result<Attrs> {
        let mut file = File::open(local).map_err(|e| Error::local_io("open", local, &e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::local_io("stat", local, &e))?;
        if meta.is_dir() {
            return Err(Error::new(
                ErrorKind::LocalIo,
                format!(
                    "put local '{}': is a directory (use put_d or put_r)",
                    local.display()
                ),
            ));
        }
        let remote = match remote {
            Some(r) => r.to_string(),
            None => local
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| {
                    Error::invalid_arg("remotepath", "not given, and localpath has no file name")
                })?,
        };
        let times =
            preserve_mtime.then(|| (unix_secs(meta.accessed()), unix_secs(meta.modified())));
        self.with(|st| {
            let rpath = st.resolve(&remote);
            let parts = split::parts(meta.len(), st.sftp.min_rtt(), opts);
            if parts > 1 {
                self.log(&format!("put '{}': {parts} connections", local.display()));
                return st.upload_split(
                    self,
                    &rpath,
                    &file,
                    local,
                    meta.len(),
                    parts,
                    progress,
                    confirm,
                    times,
                    opts,
                );
            }
            let resume_from = if opts.resume && opts.atomic {
                st.sftp
                    .stat(&remote_part_name(&rpath))
                    .ok()
                    .and_then(|a| a.size)
            } else {
                None
            };
            if let Some(offset) = resume_from.filter(|&o| o <= meta.len()) {
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::local_io("seek", local, &e))?;
            }
            let mut source = FileSource {
                file: &mut file,
                path: local,
            };
            st.upload_to(
                &rpath,
                &mut source,
                meta.len(),
                progress,
                confirm,
                times,
                opts,
            )
        })
        .inspect(|_| self.log(&format!("put '{}' -> '{remote}'", local.display())))
    }

    /// pysftp `getfo(remotepath, flo, callback=None)`: returns the bytes
    /// written to `write`.
    pub fn getfo(
        &self,
        remote: &str,
        write: &mut dyn FnMut(&[u8]) -> Result<()>,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<u64> {
        self.with(|st| {
            let rpath = st.resolve(remote);
            st.with_read_handle(&rpath, |st, handle, attrs| {
                st.read_handle(handle, &rpath, 0, attrs, &mut FnSink(write), progress)
            })
        })
    }

    /// pysftp `putfo(flo, remotepath, file_size=0, callback=None,
    /// confirm=True)`: `file_size` is only the progress total.
    pub fn putfo(
        &self,
        read: &mut dyn FnMut(&mut [u8]) -> Result<usize>,
        remote: &str,
        file_size: u64,
        progress: Option<ProgressFn<'_>>,
        confirm: bool,
        opts: &TransferOpts,
    ) -> Result<Attrs> {
        let opts = TransferOpts {
            resume: false,
            ..opts.clone()
        };
        self.with(|st| {
            let rpath = st.resolve(remote);
            st.upload_to(
                &rpath,
                &mut FnSource(read),
                file_size,
                progress,
                confirm,
                None,
                &opts,
            )
        })
    }
}
