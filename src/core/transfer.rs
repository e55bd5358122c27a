//! Single-file transfers: get, put, getfo, putfo. Data moves through the
//! pipelined engine; destinations are replaced atomically by default. The
//! local side of a get is `local::LocalTarget`, the remote side of a put
//! `remote::RemoteCommit`; the tree operations' large files use `get_file`
//! and `put_file` below, so every file takes the same path.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::conn::{Connection, State};
use super::fsops::probe;
use super::local::{self, unix_secs, LocalTarget};
use super::options::{TransferOpts, Verify};
use super::paths::{bytes_path, local_name_for, path_bytes};
use super::remote::{self, Finish, RemoteCommit};
use super::resume::{self, SourceId};
use super::split::{self, Chunks, FileAt, HelperPlan, Report};
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::request::Remove;
use crate::sftp::{
    batch, download, download_range, download_ranges, open_flags, show, upload, upload_ranges,
    Attrs, Sink, Source,
};

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

/// A local file read from `at` (a resumed upload), the seek done on the
/// first read.
struct ResumedFile<'a> {
    file: &'a mut File,
    path: &'a Path,
    at: Option<u64>,
}

impl Source for ResumedFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if let Some(at) = self.at.take().filter(|&a| a > 0) {
            self.file
                .seek(SeekFrom::Start(at))
                .map_err(|e| Error::local_io("seek", self.path, &e))?;
        }
        FileSource {
            file: self.file,
            path: self.path,
        }
        .read(buf)
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

struct VecSink<'a>(&'a mut Vec<u8>);

impl Sink for VecSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }
}

/// The remote side of an upload, open: where the data goes.
pub struct RemoteTarget {
    pub dest: Vec<u8>,
    pub part: Vec<u8>,
    pub handle: Vec<u8>,
    /// Bytes already in the part file (resume).
    pub start: u64,
    kept_mode: Option<u32>,
    record: Option<Vec<u8>>,
    /// Verify the part file against this local file before placing it.
    verify: Option<(std::path::PathBuf, Verify)>,
}

/// What a get or put does besides moving the bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileOpts {
    pub times: bool,
    pub mode: bool,
    pub confirm: bool,
}

/// A local source of a put, for resume checks.
struct LocalSource<'a> {
    file: &'a File,
    id: SourceId,
}

/// The identity of a local file for resume records.
fn local_id(path: &Path, meta: &std::fs::Metadata) -> SourceId {
    let origin = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    SourceId {
        origin: path_bytes(&origin).to_vec(),
        size: meta.len(),
        mtime: Some(unix_secs(meta.modified())),
    }
}

impl State {
    /// Open the upload target for `dest`: the part file (continued when
    /// `source` proves it is the same source's, see resume.rs) and the
    /// mode of the file it will replace.
    fn open_remote_target(
        &mut self,
        dest: &[u8],
        opts: &TransferOpts,
        source: Option<&LocalSource<'_>>,
    ) -> Result<RemoteTarget> {
        let part = if opts.atomic {
            remote::part_name(dest)
        } else {
            dest.to_vec()
        };
        // Never widen access: a replaced file keeps its permission bits.
        let kept_mode = if opts.atomic {
            let old = probe(self.sftp.stat(dest))?.filter(Attrs::is_file);
            old.and_then(|a| a.permissions).map(|m| m & 0o7777)
        } else {
            None
        };
        let record = (opts.atomic && opts.resume).then(|| remote::record_name(dest));
        let start = match (&record, source) {
            (Some(r), Some(src)) => self.remote_resume_point(&part, r, src)?,
            _ => 0,
        };
        let mut flags = open_flags::WRITE | open_flags::CREAT;
        if start == 0 {
            flags |= open_flags::TRUNC;
        }
        let handle = match self.sftp.open_file(&part, flags, &Attrs::default()) {
            Ok(h) => h,
            Err(e) => {
                if self.sftp.is_cancelled() && part != dest && start == 0 {
                    // Cancelled while the OPEN that creates the part file
                    // was on its way: remove the file as a cancelled
                    // write's cleanup does (its handle ends with the
                    // session).
                    let _ = self.sftp.send_unanswered(&Remove { path: &part });
                }
                return Err(e);
            }
        };
        let t = RemoteTarget {
            dest: dest.to_vec(),
            part,
            handle,
            start,
            kept_mode,
            record,
            verify: None,
        };
        if let (Some(r), Some(src), 0) = (&t.record, source, start) {
            // The part file is empty now; the record of what fills it next.
            let written = self.write_small(r, &src.id.to_record());
            if let Err(e) = written {
                let commit = RemoteCommit::new(t.part, t.dest, t.handle, Finish::default());
                let _ = batch::run_one(&mut self.sftp, commit.with_data(false));
                return Err(e);
            }
        }
        Ok(t)
    }

    /// Where the remote part file `part` may continue: its length when its
    /// record names `src` and its last bytes match the source's (else 0).
    fn remote_resume_point(
        &mut self,
        part: &[u8],
        record: &[u8],
        src: &LocalSource<'_>,
    ) -> Result<u64> {
        let have = match probe(self.sftp.stat(part))? {
            Some(a) if a.is_file() => a.size.unwrap_or(0),
            _ => return Ok(0),
        };
        if have == 0 {
            return Ok(0);
        }
        let text = probe(self.read_small(record, resume::MAX_RECORD as u64))?;
        let start = resume::candidate(have, text.as_deref(), &src.id);
        if start == 0 {
            return Ok(0);
        }
        let (from, to) = resume::overlap_range(start);
        let theirs = probe(self.read_range(part, from, to - from))?;
        let mut ours = vec![0; (to - from) as usize];
        let read = std::os::unix::fs::FileExt::read_exact_at(src.file, &mut ours, from);
        Ok(match (theirs, read) {
            (Some(t), Ok(())) if t == ours => start,
            _ => 0,
        })
    }

    /// Up to `len` bytes of the remote file `path` from `from`.
    fn read_range(&mut self, path: &[u8], from: u64, len: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.with_read_handle(path, |st, handle, _| {
            download_range(
                &mut st.sftp,
                handle,
                path,
                from,
                len,
                &mut VecSink(&mut out),
                &mut |_| Ok(()),
            )
        })?;
        Ok(out)
    }

    fn read_small(&mut self, path: &[u8], max: u64) -> Result<Vec<u8>> {
        self.read_range(path, 0, max)
    }

    /// Write a small remote file whole (replacing it).
    fn write_small(&mut self, path: &[u8], data: &[u8]) -> Result<()> {
        let flags = open_flags::WRITE | open_flags::CREAT | open_flags::TRUNC;
        let handle = self.sftp.open_file(path, flags, &Attrs::default())?;
        let mut rest = data;
        let mut source = FnSource(&mut |buf: &mut [u8]| {
            let n = buf.len().min(rest.len());
            buf[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            Ok(n)
        });
        let written = upload(&mut self.sftp, &handle, path, 0, &mut source, &mut |_| {
            Ok(())
        });
        let closed = self.sftp.close_handle(&handle, path);
        written.and(closed)
    }

    /// Fill the open target with `write` (which returns the bytes it
    /// wrote), then commit it (remote.rs): checked, put in place, or
    /// cleaned up.
    fn upload_with(
        &mut self,
        t: RemoteTarget,
        finish: Finish,
        confirm: bool,
        write: impl FnOnce(&mut State, &RemoteTarget) -> Result<u64>,
    ) -> Result<Attrs> {
        let written = write(self, &t);
        if let Err(e) = &written {
            if self.sftp.is_cancelled() {
                return Err(self.drop_cancelled_target(t, e.clone()));
            }
        }
        let size = t.start + *written.as_ref().unwrap_or(&0);
        let finish = Finish {
            kept_mode: t.kept_mode,
            confirm: confirm.then_some(size),
            ..finish
        };
        let mut commit =
            RemoteCommit::new(t.part.clone(), t.dest, t.handle, finish).with_data(written.is_ok());
        if let Some(record) = t.record {
            commit = commit.resumable(record);
        }
        if t.verify.is_some() {
            commit = commit.hold_before_placing();
        }
        let committed = batch::run_one(&mut self.sftp, commit);
        written?;
        let mut commit = committed?;
        if let (Some((local, verify)), true) = (&t.verify, commit.is_held()) {
            let what = format!("put '{}'", local.display());
            let verdict = self.verify_copy(&t.part, local, *verify, &what);
            if let Ok(how) = &verdict {
                self.sftp.note(format!("{what}: verified ({how})"));
            }
            commit.release(verdict.map(|_| ()));
            commit = batch::run_one(&mut self.sftp, commit)?;
        }
        commit.outcome()
    }

    /// A cancelled upload's cleanup, sent without waiting for the replies
    /// (the link may have stopped answering, which is what the cancel may
    /// be for): CLOSE the part file and REMOVE it, unless a resume record
    /// names its source (then it is provably resumable and stays). The
    /// server runs both in order before any later request of this
    /// connection. Returns the call's error.
    fn drop_cancelled_target(&mut self, t: RemoteTarget, e: Error) -> Error {
        let _ = self.sftp.close_handle(&t.handle, &t.part);
        if t.record.is_none() && t.part != t.dest {
            let _ = self.sftp.send_unanswered(&Remove { path: &t.part });
        }
        e
    }

    /// Upload `source` into the open target.
    fn upload_source(
        &mut self,
        t: RemoteTarget,
        source: &mut dyn Source,
        total: u64,
        progress: Option<ProgressFn<'_>>,
        finish: Finish,
        confirm: bool,
    ) -> Result<Attrs> {
        self.upload_with(t, finish, confirm, |st, t| {
            let start = t.start;
            let mut progress = progress_adapter(progress, total);
            let mut on_progress = |n: u64| progress(start + n);
            upload(
                &mut st.sftp,
                &t.handle,
                &t.part,
                start,
                source,
                &mut on_progress,
            )
        })
    }

    /// Upload the local file `path` to the resolved remote path `dest`
    /// (put, and the tree operations' large files). `split_with` allows
    /// extra connections (see split.rs).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn put_file(
        &mut self,
        path: &Path,
        dest: &[u8],
        progress: Option<ProgressFn<'_>>,
        fo: FileOpts,
        opts: &TransferOpts,
        split_with: Option<&Connection>,
    ) -> Result<Attrs> {
        let mut file = File::open(path).map_err(|e| Error::local_io("open", path, &e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::local_io("stat", path, &e))?;
        if meta.is_dir() {
            return Err(Error::new(
                ErrorKind::LocalIo,
                format!(
                    "put local '{}': is a directory (use put_d or put_r)",
                    path.display()
                ),
            )
            .with_os_errno(Some(libc::EISDIR)));
        }
        let size = meta.len();
        let finish = Finish {
            times: fo
                .times
                .then(|| (unix_secs(meta.accessed()), unix_secs(meta.modified()))),
            mode: fo.mode.then(|| {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode() & 0o7777
            }),
            fsync: opts.fsync,
            ..Finish::default()
        };
        let parts = split_with.map_or(1, |_| {
            let window = Some(self.sftp.send_window());
            split::parts(
                size,
                self.sftp.min_rtt(),
                window,
                opts,
                split::Direction::Put,
            )
        });
        // A split part file has holes where chunks were not yet written:
        // never one to continue.
        let opts = &TransferOpts {
            resume: opts.keeps_parts() && parts == 1,
            ..opts.clone()
        };
        let verify = (opts.verify != Verify::Off).then(|| (path.to_path_buf(), opts.verify));
        if let (Some(conn), true) = (split_with, parts > 1) {
            conn.log(&format!("put '{}': {parts} connections", path.display()));
            let mut t = self.open_remote_target(dest, opts, None)?;
            t.verify = verify;
            return self.upload_split(conn, t, &file, path, size, parts, progress, finish, fo);
        }
        let source = LocalSource {
            file: &file,
            id: local_id(path, &meta),
        };
        let mut t = self.open_remote_target(dest, opts, Some(&source))?;
        t.verify = verify;
        // Inside the upload, so that a failure here also cleans up.
        let mut resumed = ResumedFile {
            file: &mut file,
            path,
            at: Some(t.start),
        };
        self.upload_source(t, &mut resumed, size, progress, finish, fo.confirm)
    }

    /// Upload the local `file` in chunks from this connection and, in
    /// parallel, from extra ones (see `split`).
    #[allow(clippy::too_many_arguments)]
    fn upload_split(
        &mut self,
        conn: &Connection,
        t: RemoteTarget,
        file: &File,
        path: &Path,
        size: u64,
        parts: usize,
        progress: Option<ProgressFn<'_>>,
        finish: Finish,
        fo: FileOpts,
    ) -> Result<Attrs> {
        self.upload_with(t, finish, fo.confirm, |st, t| {
            let helper = |c: &Connection, chunks: &Chunks| {
                c.with(|hs| {
                    let handle =
                        hs.sftp
                            .open_file(&t.part, open_flags::WRITE, &Attrs::default())?;
                    let r = hs.put_chunks(&handle, &t.part, file, path, chunks, &mut |_| Ok(()));
                    let closed = hs.sftp.close_handle(&handle, &t.part);
                    r.and(closed)
                })
            };
            let main = |chunks: &Chunks, report: Report<'_>| {
                st.put_chunks(&t.handle, &t.part, file, path, chunks, report)
            };
            let mut report = progress_adapter(progress, size);
            split::run(
                conn,
                size,
                parts,
                HelperPlan::Now,
                helper,
                main,
                &mut report,
            )?;
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
        rpath: &[u8],
        file: &File,
        path: &Path,
        chunks: &Chunks,
        report: Report<'_>,
    ) -> Result<()> {
        let mut source = FileAt { file, path };
        self.with_share(chunks.parts, |st| {
            chunks.move_all(report, |next, progress| {
                upload_ranges(&mut st.sftp, handle, rpath, next, &mut source, progress)
            })
        })
    }

    /// Download chunks of the open remote file. Each connection keeps its
    /// whole in-flight budget: extra ones join only where one falls short
    /// (`HelperPlan::IfSlow`), and replies go straight to the file.
    fn get_chunks(
        &mut self,
        handle: &[u8],
        rpath: &[u8],
        file: &File,
        path: &Path,
        chunks: &Chunks,
        report: Report<'_>,
    ) -> Result<()> {
        let mut sink = FileAt { file, path };
        chunks.move_all(report, |next, progress| {
            download_ranges(&mut self.sftp, handle, rpath, next, &mut sink, progress)
        })
    }

    /// Download the open remote file in chunks from this connection and,
    /// in parallel, from extra ones (see `split`).
    #[allow(clippy::too_many_arguments)]
    fn download_split(
        &mut self,
        conn: &Connection,
        handle: &[u8],
        rpath: &[u8],
        t: &LocalTarget,
        size: u64,
        (parts, plan): (usize, HelperPlan),
        progress: Option<ProgressFn<'_>>,
    ) -> Result<u64> {
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
        split::run(conn, size, parts, plan, helper, main, &mut report)?;
        Ok(size)
    }

    /// Open `rpath` for reading, run `body` with the handle and the file's
    /// attributes, and close the handle whatever happened.
    pub fn with_read_handle<R>(
        &mut self,
        rpath: &[u8],
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
        rpath: &[u8],
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

    /// Where a local part file for `dest` may continue: its length when
    /// its record names `source` and its last bytes match the remote
    /// file's (else 0).
    fn local_resume_point(
        &mut self,
        dest: &Path,
        handle: &[u8],
        rpath: &[u8],
        source: &SourceId,
    ) -> Result<u64> {
        let have = local::resume_candidate(dest, source);
        if have == 0 {
            return Ok(0);
        }
        let (from, to) = resume::overlap_range(have);
        let Some(ours) = local::read_range(&local::part_path(dest), (from, to)) else {
            return Ok(0);
        };
        let mut theirs = Vec::new();
        let read = download_range(
            &mut self.sftp,
            handle,
            rpath,
            from,
            to - from,
            &mut VecSink(&mut theirs),
            &mut |_| Ok(()),
        );
        Ok(match probe(read)? {
            Some(_) if theirs == ours => have,
            _ => 0,
        })
    }

    /// Download the resolved remote path `rpath` into the local `dest`
    /// (get, and the tree operations' large files): into a part file
    /// renamed into place when complete, or in place into a device or FIFO.
    /// `origin` names the source in resume records.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn get_file(
        &mut self,
        rpath: &[u8],
        dest: &Path,
        origin: &[u8],
        progress: Option<ProgressFn<'_>>,
        fo: FileOpts,
        opts: &TransferOpts,
        split_with: Option<&Connection>,
    ) -> Result<u64> {
        self.with_read_handle(rpath, |st, handle, attrs| {
            let mut origin = origin.to_vec();
            origin.extend_from_slice(rpath);
            let source = SourceId {
                origin,
                size: attrs.size.unwrap_or(0),
                mtime: attrs.mtime(),
            };
            let size = attrs.size.unwrap_or(0);
            let special = local::is_special(dest);
            let parts = match split_with {
                Some(_) if !special => {
                    split::parts(size, st.sftp.min_rtt(), None, opts, split::Direction::Get)
                }
                _ => 1,
            };
            // A split part file has holes where chunks were not yet written:
            // never one to continue.
            let resumable = opts.keeps_parts() && parts == 1 && !special;
            let start = if resumable {
                st.local_resume_point(dest, handle, rpath, &source)?
            } else {
                0
            };
            let file_opts = TransferOpts {
                resume: resumable,
                ..opts.clone()
            };
            let mut t = LocalTarget::open(dest, &file_opts, start, Some(&source))?;
            let moved = match split_with {
                Some(conn) if parts > 1 => {
                    // A number the caller chose is the number.
                    let plan = match opts.parallelism_chosen {
                        true => HelperPlan::Now,
                        false => HelperPlan::IfSlow {
                            rtt: st.sftp.min_rtt().unwrap_or_default(),
                        },
                    };
                    let how = match plan {
                        HelperPlan::Now => "",
                        HelperPlan::IfSlow { .. } => "up to ",
                    };
                    conn.log(&format!("get '{}': {how}{parts} connections", show(rpath)));
                    st.download_split(conn, handle, rpath, &t, size, (parts, plan), progress)
                }
                _ => {
                    let mut sink = FileSink {
                        file: &mut t.file,
                        path: &t.write_to,
                    };
                    st.read_handle(handle, rpath, t.start, attrs, &mut sink, progress)
                }
            };
            let moved = moved.and_then(|n| {
                if opts.verify != Verify::Off && !t.in_place {
                    let what = format!("get '{}'", show(rpath));
                    let how = st.verify_copy(rpath, &t.write_to, opts.verify, &what)?;
                    st.sftp.note(format!("{what}: verified ({how})"));
                }
                Ok(n)
            });
            match moved {
                Err(e) if e.kind() == ErrorKind::Integrity => {
                    t.abandon(false); // its bytes are not the source's
                    Err(e)
                }
                Ok(n) => {
                    let finish = local::Finish {
                        times: attrs.atime_mtime.filter(|_| fo.times),
                        mode: attrs.permissions.filter(|_| fo.mode).map(|m| m & 0o777),
                        fsync: opts.fsync,
                    };
                    t.commit(finish)?;
                    Ok(n)
                }
                Err(e) => {
                    t.abandon(resumable);
                    Err(e)
                }
            }
        })
    }
}

impl Connection {
    /// How resume records name this connection's files.
    pub(crate) fn origin(&self) -> Vec<u8> {
        format!("sftp://{}@{}", self.username(), self.peer()).into_bytes()
    }

    /// pysftp `get(remotepath, localpath=None, callback=None,
    /// preserve_mtime=False)`. Without `localpath` the file lands in the
    /// process's working directory under its remote basename.
    pub fn get(
        &self,
        remote: &[u8],
        local: Option<&Path>,
        progress: Option<ProgressFn<'_>>,
        preserve_mtime: bool,
        opts: &TransferOpts,
    ) -> Result<()> {
        let dest = match local {
            Some(p) => p.to_path_buf(),
            None => bytes_path(local_name_for(remote).ok_or_else(|| {
                Error::invalid_arg(
                    "localpath",
                    format!("not given, and '{}' has no file name", show(remote)),
                )
            })?)
            .to_path_buf(),
        };
        let fo = FileOpts {
            times: preserve_mtime,
            ..FileOpts::default()
        };
        let origin = self.origin();
        let what = format!("get '{}'", show(remote));
        // Resolved once: a retry gets the same file even if the working
        // directory changed meanwhile (another thread's chdir).
        let mut resolved = None;
        self.transfer_with_retries(opts, &what, progress, |progress| {
            self.with(|st| {
                let rpath = resolved.get_or_insert_with(|| st.resolve(remote));
                st.get_file(rpath, &dest, &origin, progress, fo, opts, Some(self))
            })
        })
        .map(|_| {
            self.log(&format!(
                "get '{}' -> '{}'",
                show(remote),
                show(path_bytes(&dest))
            ))
        })
    }

    /// pysftp `put(localpath, remotepath=None, callback=None, confirm=True,
    /// preserve_mtime=False)`: returns the remote attributes (from the
    /// confirming stat; all absent when `confirm` is false, as in paramiko).
    pub fn put(
        &self,
        local: &Path,
        remote: Option<&[u8]>,
        progress: Option<ProgressFn<'_>>,
        confirm: bool,
        preserve_mtime: bool,
        opts: &TransferOpts,
    ) -> Result<Attrs> {
        let remote = match remote {
            Some(r) => r.to_vec(),
            None => local
                .file_name()
                .map(|n| path_bytes(Path::new(n)).to_vec())
                .ok_or_else(|| {
                    Error::invalid_arg("remotepath", "not given, and localpath has no file name")
                })?,
        };
        let fo = FileOpts {
            times: preserve_mtime,
            confirm,
            ..FileOpts::default()
        };
        let what = format!("put '{}'", show(path_bytes(local)));
        // Resolved once, as in get.
        let mut resolved = None;
        self.transfer_with_retries(opts, &what, progress, |progress| {
            self.with(|st| {
                let rpath = resolved.get_or_insert_with(|| st.resolve(&remote));
                st.put_file(local, rpath, progress, fo, opts, Some(self))
            })
        })
        .inspect(|_| {
            self.log(&format!(
                "put '{}' -> '{}'",
                show(path_bytes(local)),
                show(&remote)
            ))
        })
    }

    /// pysftp `getfo(remotepath, flo, callback=None)`: returns the bytes
    /// written to `write`.
    pub fn getfo(
        &self,
        remote: &[u8],
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
        remote: &[u8],
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
            let t = st.open_remote_target(&rpath, &opts, None)?;
            let finish = Finish {
                fsync: opts.fsync,
                ..Finish::default()
            };
            st.upload_source(t, &mut FnSource(read), file_size, progress, finish, confirm)
        })
    }
}
