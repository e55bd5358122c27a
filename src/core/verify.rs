//! Verified transfers (TransferOpts::verify): once a file's bytes have
//! moved, and before it is put in place, the copy's digest is compared
//! with the source's. The remote digest comes from the server's
//! `check-file-handle` extension when offered, else from `sha256sum` (or
//! `md5sum`) run on the server when the caller allows commands
//! (Verify::AllowExec) and that works, else from reading the file back.
//! A mismatch is ErrorKind::Integrity and the destination keeps its old
//! content: a get verifies its local part file before the rename, a put
//! the remote part file before the rename (RemoteCommit holds there).

use std::io::Read;
use std::path::Path;

use super::conn::State;
use super::liveness::Limit;
use super::options::Verify;
use crate::error::{Error, ErrorKind, Result};
use crate::sftp::request::{ext, CheckFile};
use crate::sftp::{download, show, Sink};

/// A digest algorithm, and the command that computes it on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Sha256,
    Sha1,
    Md5,
}

/// The algorithms asked of check-file, best first.
const CHECK_FILE_ALGS: &str = "sha256,sha1,md5";

impl Algo {
    fn command(self) -> &'static str {
        match self {
            Algo::Sha256 => "sha256sum",
            Algo::Sha1 => "sha1sum",
            Algo::Md5 => "md5sum",
        }
    }

    fn len(self) -> usize {
        match self {
            Algo::Sha256 => 32,
            Algo::Sha1 => 20,
            Algo::Md5 => 16,
        }
    }

    fn named(name: &[u8]) -> Option<Algo> {
        match name {
            b"sha256" => Some(Algo::Sha256),
            b"sha1" => Some(Algo::Sha1),
            b"md5" => Some(Algo::Md5),
            _ => None,
        }
    }
}

/// A running OpenSSL digest (the OpenSSL libssh2 already links).
struct Hasher(*mut openssl_sys::EVP_MD_CTX);

impl Hasher {
    fn new(algo: Algo) -> Hasher {
        // SAFETY: a fresh context, initialised with a built-in digest;
        // failures leave a context that Drop frees and `finish` reports.
        unsafe {
            let ctx = openssl_sys::EVP_MD_CTX_new();
            let md = match algo {
                Algo::Sha256 => openssl_sys::EVP_sha256(),
                Algo::Sha1 => openssl_sys::EVP_sha1(),
                Algo::Md5 => openssl_sys::EVP_md5(),
            };
            if !ctx.is_null() {
                openssl_sys::EVP_DigestInit_ex(ctx, md, std::ptr::null_mut());
            }
            Hasher(ctx)
        }
    }

    fn update(&mut self, data: &[u8]) {
        if self.0.is_null() {
            return;
        }
        // SAFETY: a live context and a valid slice.
        unsafe { openssl_sys::EVP_DigestUpdate(self.0, data.as_ptr().cast(), data.len()) };
    }

    fn finish(self) -> Result<Vec<u8>> {
        let mut out = vec![0u8; 64];
        let mut len = 0u32;
        // SAFETY: a live context (checked) and room for any digest.
        let ok = !self.0.is_null()
            && unsafe { openssl_sys::EVP_DigestFinal_ex(self.0, out.as_mut_ptr(), &mut len) } == 1;
        if !ok {
            return Err(Error::new(
                ErrorKind::Ssh,
                "OpenSSL could not compute a digest",
            ));
        }
        out.truncate(len as usize);
        Ok(out)
    }
}

impl Drop for Hasher {
    fn drop(&mut self) {
        // SAFETY: freed once; NULL is accepted.
        unsafe { openssl_sys::EVP_MD_CTX_free(self.0) };
    }
}

impl Sink for Hasher {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.update(data);
        Ok(())
    }
}

/// The digest of the local file `path`: of each `block` bytes, one after
/// another, or of the whole file when `block` is 0.
pub fn local_digest(path: &Path, algo: Algo, block: u64) -> Result<Vec<u8>> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::local_io("open", path, &e))?;
    let block = if block == 0 { u64::MAX } else { block };
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let mut h = Hasher::new(algo);
        let mut left = block;
        while left > 0 {
            let want = (buf.len() as u64).min(left) as usize;
            match file.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => {
                    h.update(&buf[..n]);
                    left -= n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::local_io("read", path, &e)),
            }
        }
        // A file of whole blocks ends without an empty block after them
        // (and an empty file has one empty digest when not in blocks).
        if left == block && !(block == u64::MAX && out.is_empty()) {
            return Ok(out);
        }
        out.extend(h.finish()?);
        if left > 0 {
            return Ok(out);
        }
    }
}

/// `path` as one single-quoted shell word.
fn shell_quote(path: &str) -> String {
    format!("'{}'", path.replace('\'', r"'\''"))
}

/// The digest in the first line `sha256sum`/`md5sum` printed, if well formed
/// (a name with a backslash or newline makes the line start with '\').
fn parse_sum(out: &[u8], algo: Algo) -> Option<Vec<u8>> {
    let line = out.strip_prefix(b"\\").unwrap_or(out);
    let hex = line.get(..algo.len() * 2)?;
    if line.get(algo.len() * 2) != Some(&b' ') {
        return None;
    }
    hex.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// How a copy was checked (for the log and the error).
pub struct Checked {
    pub algo: Algo,
    pub digest: Vec<u8>,
    pub how: &'static str,
    /// The digest is of each `block` bytes (0: of the whole file).
    pub block: u64,
}

/// paramiko's `check-file` reads blocks over 64 KiB wrongly (it skips
/// data), so it is asked for 64 KiB blocks, a digest each.
const OLD_CHECK_FILE_BLOCK: u32 = 64 * 1024;
/// The largest list of block digests asked for (replies are at most 4 MiB).
const MAX_DIGESTS: u64 = 2 * 1024 * 1024;

impl State {
    /// The digest of the remote file `path` by `verify`'s means.
    pub(crate) fn remote_digest(&mut self, path: &[u8], verify: Verify) -> Result<Checked> {
        if let Some(c) = self.check_file_digest(path)? {
            return Ok(c);
        }
        if verify == Verify::AllowExec {
            for algo in [Algo::Sha256, Algo::Md5] {
                if let Some(digest) = self.exec_digest(path, algo) {
                    let how = algo.command();
                    return Ok(Checked {
                        algo,
                        digest,
                        how,
                        block: 0,
                    });
                }
            }
        }
        let mut h = Hasher::new(Algo::Sha256);
        self.with_read_handle(path, |st, handle, attrs| {
            download(
                &mut st.sftp,
                handle,
                path,
                0,
                attrs.size,
                &mut h,
                &mut |_| Ok(()),
            )
        })?;
        Ok(Checked {
            algo: Algo::Sha256,
            digest: h.finish()?,
            how: "read back",
            block: 0,
        })
    }

    /// The server's digest of `path` by check-file-handle (or paramiko's
    /// `check-file`), if offered; None (fall back) when the server refuses
    /// or answers with an algorithm psftp does not know. Only a broken
    /// connection is an error.
    fn check_file_digest(&mut self, path: &[u8]) -> Result<Option<Checked>> {
        let (name, block) = if self.sftp.has_extension(ext::CHECK_FILE_HANDLE) {
            (ext::CHECK_FILE_HANDLE, 0)
        } else if self.sftp.has_extension(ext::CHECK_FILE) {
            (ext::CHECK_FILE, OLD_CHECK_FILE_BLOCK)
        } else {
            return Ok(None);
        };
        let answer = self.with_read_handle(path, |st, handle, attrs| {
            let blocks = attrs.size.unwrap_or(0) / OLD_CHECK_FILE_BLOCK as u64 + 1;
            if block != 0 && blocks * 32 > MAX_DIGESTS {
                return Ok(None);
            }
            let req = CheckFile {
                name,
                handle,
                path,
                algs: CHECK_FILE_ALGS,
                block,
            };
            match st.sftp.call(&req) {
                Ok(a) => Ok(Some(a)),
                Err(e) if st.sftp.check_usable().is_err() => Err(e),
                // Refused or not understood: fall back. A cancel (or a
                // timeout) is the call's end, not a refusal.
                Err(e) => crate::core::fsops::probe(Err(e)),
            }
        })?;
        Ok(answer.and_then(|(alg, digest)| {
            let algo = Algo::named(&alg)?;
            Some(Checked {
                algo,
                digest,
                how: "the server's check-file",
                block: block as u64,
            })
        }))
    }

    /// `sha256sum`/`md5sum` of `path` on the server, if the command runs
    /// and answers as expected (else the caller reads the file back).
    fn exec_digest(&mut self, path: &[u8], algo: Algo) -> Option<Vec<u8>> {
        let path = std::str::from_utf8(path).ok()?;
        let command = format!("{} -b -- {}", algo.command(), shell_quote(path));
        // Beside the other calls, as execute, but bounded by the stall
        // timeout (hashing a huge file may take a while, silently: then
        // the file is read back instead). The answer is one short line.
        let out = self
            .sftp
            .exec(&command, 4096, Limit::Stall)
            .inspect_err(|e| self.sftp.note(format!("exec digest: {e}")))
            .ok()?;
        let (status, out) = (out.exit_status, out.stdout);
        (status == 0).then(|| parse_sum(&out, algo)).flatten()
    }

    /// Compare the remote file `remote` with the local file `local`.
    /// `what` names the transfer in the error.
    pub(crate) fn verify_copy(
        &mut self,
        remote: &[u8],
        local: &Path,
        verify: Verify,
        what: &str,
    ) -> Result<&'static str> {
        let theirs = self.remote_digest(remote, verify)?;
        let ours = local_digest(local, theirs.algo, theirs.block)?;
        if ours != theirs.digest {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "{what}: verification failed: the copy differs from its source \
                     ({:?} by {} of '{}'); the destination was not replaced",
                    theirs.algo,
                    theirs.how,
                    show(remote)
                ),
            ));
        }
        Ok(theirs.how)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_values() {
        let mut h = Hasher::new(Algo::Sha256);
        h.update(b"abc");
        let d = h.finish().unwrap();
        assert_eq!(d[..4], [0xba, 0x78, 0x16, 0xbf]);
        let mut h = Hasher::new(Algo::Md5);
        h.update(b"abc");
        assert_eq!(h.finish().unwrap()[..4], [0x90, 0x01, 0x50, 0x98]);
    }

    #[test]
    fn sums_parse_and_paths_are_quoted() {
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let d = parse_sum(format!("{hex} *x\n").as_bytes(), Algo::Sha256).unwrap();
        assert_eq!(d.len(), 32);
        assert!(parse_sum(format!("\\{hex} *a\\nb\n").as_bytes(), Algo::Sha256).is_some());
        assert!(parse_sum(b"sha256sum: x: No such file\n", Algo::Sha256).is_none());
        assert!(parse_sum(&hex.as_bytes()[..60], Algo::Sha256).is_none());
        assert_eq!(shell_quote("a'b $(x)"), r"'a'\''b $(x)'");
    }
}

#[cfg(test)]
mod block_tests {
    use super::*;

    #[test]
    fn block_digests_cover_the_file_in_order() {
        let dir = std::env::temp_dir().join(format!("psftp-blocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let digest = |data: &[u8]| {
            let mut h = Hasher::new(Algo::Md5);
            h.update(data);
            h.finish().unwrap()
        };
        for len in [0usize, 1, 300, 600, 900] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let p = dir.join("f");
            std::fs::write(&p, &data).unwrap();
            let blocks = local_digest(&p, Algo::Md5, 300).unwrap();
            let want: Vec<u8> = data.chunks(300).flat_map(digest).collect();
            assert_eq!(blocks, want, "{len} bytes in blocks");
            assert_eq!(local_digest(&p, Algo::Md5, 0).unwrap(), digest(&data));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
