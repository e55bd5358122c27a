//! known_hosts checking on libssh2's knownhost support. Hashed `|1|`
//! entries and `[host]:port` entries work; lookups use the key type, so a
//! host known only by its ECDSA key is not mistaken for a changed host when
//! it could also offer Ed25519. The key types found for a host also order
//! the host-key algorithms offered in the handshake, as OpenSSH does.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr;

use libssh2_sys as raw;

use crate::error::{Error, ErrorKind, Result};

/// One host-key type with its libssh2 known-host mask and SSH names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyType {
    pub name: &'static str,
    mask: i32,
    /// Host-key algorithms that use this key type, best first.
    algorithms: &'static [&'static str],
}

const KEY_TYPES: [KeyType; 6] = [
    KeyType {
        name: "ssh-ed25519",
        mask: raw::LIBSSH2_KNOWNHOST_KEY_ED25519,
        algorithms: &["ssh-ed25519"],
    },
    KeyType {
        name: "ecdsa-sha2-nistp256",
        mask: raw::LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
        algorithms: &["ecdsa-sha2-nistp256"],
    },
    KeyType {
        name: "ecdsa-sha2-nistp384",
        mask: raw::LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
        algorithms: &["ecdsa-sha2-nistp384"],
    },
    KeyType {
        name: "ecdsa-sha2-nistp521",
        mask: raw::LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
        algorithms: &["ecdsa-sha2-nistp521"],
    },
    KeyType {
        name: "ssh-rsa",
        mask: raw::LIBSSH2_KNOWNHOST_KEY_SSHRSA,
        algorithms: &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
    },
    KeyType {
        name: "ssh-dss",
        mask: raw::LIBSSH2_KNOWNHOST_KEY_SSHDSS,
        algorithms: &["ssh-dss"],
    },
];

/// The key type of a session's host key.
pub fn key_type_of(t: ssh2::HostKeyType) -> Option<KeyType> {
    let mask = match t {
        ssh2::HostKeyType::Ed25519 => raw::LIBSSH2_KNOWNHOST_KEY_ED25519,
        ssh2::HostKeyType::Ecdsa256 => raw::LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
        ssh2::HostKeyType::Ecdsa384 => raw::LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
        ssh2::HostKeyType::Ecdsa521 => raw::LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
        ssh2::HostKeyType::Rsa => raw::LIBSSH2_KNOWNHOST_KEY_SSHRSA,
        ssh2::HostKeyType::Dss => raw::LIBSSH2_KNOWNHOST_KEY_SSHDSS,
        ssh2::HostKeyType::Unknown => return None,
    };
    KEY_TYPES.iter().copied().find(|k| k.mask == mask)
}

/// The name a host has in known_hosts: `host` on port 22, `[host]:port`
/// elsewhere (OpenSSH never falls back from one form to the other).
pub fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The outcome of checking a presented key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Match,
    Mismatch,
    NotFound,
}

/// The server's host key as the session saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKey {
    pub key_type: String,
    pub base64: String,
    pub fingerprint: String,
}

/// A key stored in known_hosts for a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub key_type: &'static str,
    pub base64: String,
}

/// A loaded set of known_hosts files.
pub struct KnownHosts {
    session: ssh2::Session,
    raw: *mut raw::LIBSSH2_KNOWNHOSTS,
    /// Lines libssh2 could not parse (unknown key types, @cert-authority):
    /// "file:line".
    pub skipped: Vec<String>,
    pub entries: usize,
    /// `@revoked` lines: never accept these keys for matching hosts.
    revoked: Vec<Revoked>,
}

/// One `@revoked host-patterns key-type base64` line.
struct Revoked {
    patterns: String,
    key: Vec<u8>,
    at: String,
}

// SAFETY: the libssh2 collection is only touched while holding its
// session's lock (every use below takes session.raw()), so it may move to
// another thread.
unsafe impl Send for KnownHosts {}

impl Drop for KnownHosts {
    fn drop(&mut self) {
        let _guard = self.session.raw();
        // SAFETY: `raw` came from libssh2_knownhost_init on this session
        // and is freed once, here, under the session's lock.
        unsafe { raw::libssh2_knownhost_free(self.raw) }
    }
}

impl KnownHosts {
    /// An empty collection bound to `session` (which owns the allocator).
    pub fn new(session: &ssh2::Session) -> Result<KnownHosts> {
        let raw = {
            let mut guard = session.raw();
            // SAFETY: a live session, locked by `guard` during the call.
            unsafe { raw::libssh2_knownhost_init(&mut *guard) }
        };
        if raw.is_null() {
            return Err(Error::new(ErrorKind::Ssh, "libssh2_knownhost_init failed"));
        }
        Ok(KnownHosts {
            session: session.clone(),
            raw,
            skipped: Vec::new(),
            entries: 0,
            revoked: Vec::new(),
        })
    }

    /// Add every line of an OpenSSH known_hosts file. Lines libssh2 cannot
    /// parse are skipped and listed in `skipped`, so one exotic entry does
    /// not make the whole file unusable.
    pub fn load_file(&mut self, path: &Path) -> Result<()> {
        let text =
            std::fs::read(path).map_err(|e| Error::local_io("read known_hosts", path, &e))?;
        for (n, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = trim_ascii(line);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            if line[0] == b'@' {
                self.marker_line(line, &format!("{}:{}", path.display(), n + 1));
                continue;
            }
            let rc = {
                let _guard = self.session.raw();
                // SAFETY: a live collection, under its session's lock;
                // `line` and its length describe one borrowed slice.
                unsafe {
                    raw::libssh2_knownhost_readline(
                        self.raw,
                        line.as_ptr() as *const _,
                        line.len(),
                        raw::LIBSSH2_KNOWNHOST_FILE_OPENSSH,
                    )
                }
            };
            if rc == 0 {
                self.entries += 1;
            } else {
                self.skipped.push(format!("{}:{}", path.display(), n + 1));
            }
        }
        Ok(())
    }

    /// `@revoked` lines are kept for `revoked`; `@cert-authority` lines
    /// are skipped: libssh2 cannot check host certificates.
    fn marker_line(&mut self, line: &[u8], at: &str) {
        let text = String::from_utf8_lossy(line);
        let mut f = text.split_ascii_whitespace();
        let (marker, patterns, _kind, b64) = (f.next(), f.next(), f.next(), f.next());
        match (marker, patterns, b64.and_then(base64_decode)) {
            (Some("@revoked"), Some(p), Some(key)) => self.revoked.push(Revoked {
                patterns: p.to_string(),
                key,
                at: at.to_string(),
            }),
            (Some("@cert-authority"), ..) => self.skipped.push(format!("{at} (@cert-authority)")),
            _ => self.skipped.push(at.to_string()),
        }
    }

    /// Where `key` is marked `@revoked` for `name`, if it is.
    pub fn revoked(&self, name: &str, key: &[u8]) -> Option<String> {
        self.revoked
            .iter()
            .find(|r| r.key == key && host_patterns_match(&r.patterns, name))
            .map(|r| r.at.clone())
    }

    fn check_raw(
        &self,
        name: &CStr,
        key: &[u8],
        mask: i32,
        store: Option<&mut *mut raw::libssh2_knownhost>,
    ) -> i32 {
        let store = store.map_or(ptr::null_mut(), |s| s as *mut _);
        let _guard = self.session.raw();
        // SAFETY: a live collection, under its session's lock; `name` is
        // NUL-terminated (its length -1 says so), `key` one borrowed slice,
        // `store` NULL or a live &mut the entry pointer is written to.
        unsafe {
            raw::libssh2_knownhost_checkp(
                self.raw,
                name.as_ptr(),
                -1,
                key.as_ptr() as *const _,
                key.len(),
                mask,
                store,
            )
        }
    }

    /// The stored key of type `kt` for `name`, found by checking a key that
    /// cannot match: libssh2 then reports the entry as a mismatch.
    fn stored_key(&self, name: &CStr, kt: KeyType) -> Option<StoredKey> {
        let mut store: *mut raw::libssh2_knownhost = ptr::null_mut();
        let mask =
            raw::LIBSSH2_KNOWNHOST_TYPE_PLAIN | raw::LIBSSH2_KNOWNHOST_KEYENC_BASE64 | kt.mask;
        let rc = self.check_raw(name, b"!\0", mask, Some(&mut store));
        if rc != raw::LIBSSH2_KNOWNHOST_CHECK_MISMATCH || store.is_null() {
            return None;
        }
        // SAFETY: libssh2 set `store` (not NULL, checked) to an entry of the
        // collection, alive as long as `self`; its key is NUL-terminated.
        let key = unsafe { CStr::from_ptr((*store).key) };
        Some(StoredKey {
            key_type: kt.name,
            base64: key.to_string_lossy().into_owned(),
        })
    }

    /// Every key stored for `name` (as `lookup_name` forms it), best type first.
    pub fn keys_for(&self, name: &str) -> Vec<StoredKey> {
        let Ok(cname) = CString::new(name) else {
            return Vec::new();
        };
        KEY_TYPES
            .iter()
            .filter_map(|kt| self.stored_key(&cname, *kt))
            .collect()
    }

    /// Host-key algorithms to offer: types known for `name` first, then
    /// the rest of what libssh2 supports.
    pub fn algorithm_preference(&self, name: &str, supported: &[&str]) -> String {
        let known: Vec<&str> = self
            .keys_for(name)
            .iter()
            .flat_map(|k| {
                KEY_TYPES
                    .iter()
                    .find(|t| t.name == k.key_type)
                    .map(|t| t.algorithms.to_vec())
                    .unwrap_or_default()
            })
            .filter(|a| supported.contains(a))
            .collect();
        let rest = supported.iter().filter(|a| !known.contains(a)).copied();
        known
            .iter()
            .copied()
            .chain(rest)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Check the presented `key` of type `kt` for `name`.
    pub fn check(&self, name: &str, key: &[u8], kt: KeyType) -> Check {
        let Ok(cname) = CString::new(name) else {
            return Check::NotFound;
        };
        let mask = raw::LIBSSH2_KNOWNHOST_TYPE_PLAIN | raw::LIBSSH2_KNOWNHOST_KEYENC_RAW | kt.mask;
        match self.check_raw(&cname, key, mask, None) {
            raw::LIBSSH2_KNOWNHOST_CHECK_MATCH => Check::Match,
            raw::LIBSSH2_KNOWNHOST_CHECK_MISMATCH => Check::Mismatch,
            _ => Check::NotFound,
        }
    }

    /// Append a plain entry for `name` (used by the accept-new policy).
    pub fn line_for(name: &str, kt: KeyType, key: &[u8]) -> String {
        format!("{name} {} {}\n", kt.name, base64(key))
    }
}

/// Whether a known_hosts host field (comma-separated patterns with `*`,
/// `?` and `!`, or one hashed `|1|salt|hash`) matches `name`.
pub fn host_patterns_match(field: &str, name: &str) -> bool {
    if let Some(hashed) = field.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        return match (base64_decode(salt), base64_decode(hash)) {
            (Some(salt), Some(hash)) => {
                hmac_sha1(&salt, name.as_bytes()).is_some_and(|h| h[..] == hash[..])
            }
            _ => false,
        };
    }
    let name = name.to_ascii_lowercase();
    super::ssh_config::pattern_list_matches(&name, field.split(',').map(|p| p.to_ascii_lowercase()))
}

/// HMAC-SHA1 (hashed known_hosts names) from the OpenSSL libssh2 links.
fn hmac_sha1(key: &[u8], data: &[u8]) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    let mut len: std::ffi::c_uint = 0;
    // SAFETY: the context is a fresh one, checked for NULL and freed once
    // on every path after its last use; key and data are borrowed slices
    // read for their own lengths (a known_hosts salt is far below
    // c_int::MAX); HMAC_Final writes SHA-1's 20 bytes into `out` (20 bytes)
    // and the length into `len`.
    unsafe {
        let ctx = openssl_sys::HMAC_CTX_new();
        if ctx.is_null() {
            return None;
        }
        let ok = openssl_sys::HMAC_Init_ex(
            ctx,
            key.as_ptr() as *const std::ffi::c_void,
            key.len() as std::ffi::c_int,
            openssl_sys::EVP_sha1(),
            ptr::null_mut(),
        ) == 1
            && openssl_sys::HMAC_Update(ctx, data.as_ptr(), data.len()) == 1
            && openssl_sys::HMAC_Final(ctx, out.as_mut_ptr(), &mut len) == 1;
        openssl_sys::HMAC_CTX_free(ctx);
        (ok && len == 20).then_some(out)
    }
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// OpenSSH's fingerprint form: "SHA256:" and unpadded base64 of the digest.
pub fn sha256_fingerprint(key: &[u8]) -> String {
    let mut digest = [0u8; 32];
    // SAFETY: SHA256 reads key.len() bytes of `key` and writes 32 bytes to
    // `digest`, which has room for them.
    unsafe {
        openssl_sys::SHA256(key.as_ptr(), key.len(), digest.as_mut_ptr());
    }
    format!("SHA256:{}", base64(&digest).trim_end_matches('='))
}

/// Decode standard base64 (for keys read back from known_hosts).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    Some(out)
}

/// Default known_hosts path: ~/.ssh/known_hosts.
pub fn default_known_hosts() -> Option<PathBuf> {
    super::paths::home_dir().map(|h| h.join(".ssh").join("known_hosts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in cases {
            assert_eq!(base64(plain.as_bytes()), enc);
            assert_eq!(base64_decode(enc).unwrap(), plain.as_bytes());
        }
        assert_eq!(base64_decode("Zm9v!"), None);
    }

    #[test]
    fn fingerprint_of_empty_input_is_sha256_of_nothing() {
        assert_eq!(
            sha256_fingerprint(b""),
            "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }

    #[test]
    fn revoked_host_fields_match_plain_wildcard_and_hashed_names() {
        assert!(host_patterns_match("*", "[127.0.0.1]:2222"));
        assert!(host_patterns_match(
            "a.example,[127.0.0.1]:*",
            "[127.0.0.1]:2222"
        ));
        assert!(!host_patterns_match("*.example,!b.example", "b.example"));
        // `ssh-keygen -H` of "[127.0.0.1]:2222" with this salt.
        let salt = base64(&[7u8; 20]);
        let hash = base64(&hmac_sha1(&[7u8; 20], b"[127.0.0.1]:2222").unwrap());
        let field = format!("|1|{salt}|{hash}");
        assert!(host_patterns_match(&field, "[127.0.0.1]:2222"));
        assert!(!host_patterns_match(&field, "[127.0.0.1]:2223"));
        // RFC 2202 test case 2.
        let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(
            mac.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn lookup_name_brackets_non_default_ports() {
        assert_eq!(lookup_name("example.org", 22), "example.org");
        assert_eq!(lookup_name("127.0.0.1", 2222), "[127.0.0.1]:2222");
    }
}
