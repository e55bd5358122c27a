//! Passwords, passphrases and private keys: never in a message or a log.
//!
//! Three rules keep them out. A secret's own slot is never echoed (Secret
//! has no Display and its Debug is redacted). A value that looks like key
//! material is refused in the slots that are echoed (host, username, key
//! path, default path) without being shown. And as a net under both, the
//! messages of a connect and every log line have the connection's secrets
//! removed (Redactor), in case one was also given in another slot.

use std::fmt;
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};

/// A password, passphrase or private key. Debug never shows it, and its
/// bytes are overwritten when it is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it (libssh2).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: zero bytes are valid UTF-8, so the String stays valid.
        let bytes = unsafe { self.0.as_mut_vec() };
        for b in bytes.iter_mut() {
            // SAFETY: `b` is a valid, aligned &mut u8; the volatile write
            // keeps the compiler from dropping this dead store.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

/// Whether `value` looks like private key material: PEM or OpenSSH armour
/// ("-----BEGIN OPENSSH PRIVATE KEY-----").
pub fn looks_like_key(value: &str) -> bool {
    value.contains("-----BEGIN") || value.contains("-----END") || value.contains("PRIVATE KEY")
}

/// Refuse key material in a slot whose value messages repeat, without
/// repeating it here either.
pub fn refuse_key_material(param: &str, value: &str, what: &str) -> Result<()> {
    if !looks_like_key(value) {
        return Ok(());
    }
    Err(Error::invalid_arg(
        param,
        format!("looks like the contents of a private key, not {what} (the value is not shown)"),
    ))
}

/// Shorter secrets are not searched for in messages: they would match
/// ordinary text (a port, a short word), and are not secret anyway.
const MIN_SECRET_LEN: usize = 6;

/// Lines of key material at least this long are removed one by one.
const MIN_KEY_LINE_LEN: usize = 16;

/// The secrets of one connection, to remove from its messages and logs.
/// Clones share one list, which grows as the connection learns more
/// secrets (the answers of a keyboard-interactive callback).
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Arc<RwLock<Vec<Secret>>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.read().len())
    }
}

impl Redactor {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        let r = Redactor::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// Keep `secret` (and each line of it, when it is key material) out
    /// of every later message and log line. A secret kept NUL-terminated
    /// for libssh2 is searched for without its NULs.
    pub fn add(&self, secret: &Secret) {
        let text = secret.expose().trim_end_matches('\0');
        let mut needles = self.needles.write().unwrap_or_else(|p| p.into_inner());
        if text.len() >= MIN_SECRET_LEN && !needles.iter().any(|n| n.expose() == text) {
            needles.push(Secret::new(text));
        }
        if looks_like_key(text) {
            needles.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| l.len() >= MIN_KEY_LINE_LEN && !l.starts_with("-----"))
                    .map(Secret::new),
            );
        }
        // Longest first, so that a whole key goes before its lines.
        needles.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Secret>> {
        self.needles.read().unwrap_or_else(|p| p.into_inner())
    }

    /// `text` without any of the secrets.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in self.read().iter() {
            if out.contains(n.expose()) {
                out = out.replace(n.expose(), "<redacted>");
            }
        }
        out
    }

    /// The error with its message scrubbed.
    pub fn scrub_error(&self, e: Error) -> Error {
        let clean = self.scrub(e.message());
        if clean == e.message() {
            return e;
        }
        e.with_message(clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
        QyNTUxOQAAACDx2fakefakefakefakefakefakefakefakefakefakefakeAAAAJhpZ3Ju\n\
        -----END OPENSSH PRIVATE KEY-----\n";

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn key_material_is_recognized() {
        assert!(looks_like_key(KEY));
        assert!(looks_like_key("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(!looks_like_key("/home/me/.ssh/id_ed25519"));
        assert!(!looks_like_key("example.org"));
        let e = refuse_key_material("host", KEY, "a host name").unwrap_err();
        assert!(e.message().starts_with("host: looks like"));
        assert!(!e.message().contains("BEGIN"));
    }

    #[test]
    fn the_redactor_removes_secrets_and_every_key_line() {
        let (pw, key) = (Secret::new("correct horse"), Secret::new(KEY));
        let r = Redactor::new([&pw, &key, &Secret::new("22")]);
        let line = KEY.lines().nth(1).unwrap();
        let text = format!("user 'correct horse' at host:22 sent {line} and\n{KEY}");
        let clean = r.scrub(&text);
        assert!(!clean.contains("correct horse"), "{clean}");
        assert!(!clean.contains(line), "{clean}");
        assert!(!clean.contains("QyNTUxOQ"), "{clean}");
        assert!(
            clean.contains("host:22"),
            "short secrets are not searched for"
        );
    }

    #[test]
    fn secrets_added_later_reach_every_clone() {
        let r = Redactor::new([&Secret::new("correct horse")]);
        let log_copy = r.clone();
        r.add(&Secret::new("493817"));
        let clean = log_copy.scrub("prompt 'code 493817 expired' for correct horse");
        assert_eq!(clean, "prompt 'code <redacted> expired' for <redacted>");
    }

    #[test]
    fn a_nul_terminated_secret_is_found_without_its_nul() {
        let r = Redactor::new([&Secret::new("hunter2-passphrase\0")]);
        let clean = r.scrub("authentication as 'hunter2-passphrase' failed");
        assert_eq!(clean, "authentication as '<redacted>' failed");
    }
}
