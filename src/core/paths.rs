//! Local and remote path helpers: `~` expansion, the default user name, and
//! POSIX path joining for remote paths.

use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The current user's home directory: $HOME, else the password database.
pub fn home_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    passwd_field(|pw| pw.pw_dir).map(PathBuf::from)
}

/// The login name pysftp would use: $LOGNAME, then $USER, then the
/// password database.
pub fn default_username() -> Option<String> {
    ["LOGNAME", "USER"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(|| passwd_field(|pw| pw.pw_name))
}

fn passwd_field(field: impl Fn(&libc::passwd) -> *mut libc::c_char) -> Option<String> {
    // SAFETY: passwd is plain C data (integers and pointers); all-zero is
    // a valid value, overwritten by getpwuid_r.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: every pointer is to a live local; buf.len() is buf's size.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    let p = field(&pw);
    if p.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so the field is a NUL-terminated string
    // inside `buf`, which is still alive.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Expand a leading `~` or `~/` to the home directory, as pysftp does for
/// known_hosts and key paths.
pub fn expand_user(path: &str) -> PathBuf {
    if path == "~" {
        return home_dir().unwrap_or_else(|| PathBuf::from(path));
    }
    if let Some(rest) = path.strip_prefix("~/") {
        if let Some(h) = home_dir() {
            return h.join(rest);
        }
    }
    PathBuf::from(path)
}

/// Join a remote directory and a name with '/': the one join of remote
/// paths (pysftp's posixpath.join for a name that is not absolute; "."
/// stays, so walktree('.') yields './a' as pysftp does).
pub fn remote_join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dir.len() + 1 + name.len());
    out.extend_from_slice(dir);
    if !dir.is_empty() && !dir.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

fn trim_slashes(path: &[u8]) -> &[u8] {
    let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    &path[..end]
}

/// The last component of a remote path ("a/b/" gives "b").
pub fn remote_basename(path: &[u8]) -> &[u8] {
    let trimmed = trim_slashes(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// The directory part of a remote path ("" when there is none).
pub fn remote_dirname(path: &[u8]) -> &[u8] {
    let trimmed = trim_slashes(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(i) => &trimmed[..i],
        None => b"",
    }
}

/// The local file name for a remote path: its basename, which must be a
/// plain name (never "..", never empty).
pub fn local_name_for(remote: &[u8]) -> Option<&[u8]> {
    let name = remote_basename(remote);
    (!name.is_empty() && name != b"." && name != b"..").then_some(name)
}

/// A sibling of a remote path in the same directory: `dir/.name.suffix`.
pub fn remote_hidden_sibling(path: &[u8], suffix: &str) -> Vec<u8> {
    remote_join(
        remote_dirname(path),
        &hidden_name(remote_basename(path), suffix),
    )
}

fn hidden_name(name: &[u8], suffix: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + suffix.len() + 2);
    out.push(b'.');
    out.extend_from_slice(name);
    out.push(b'.');
    out.extend_from_slice(suffix.as_bytes());
    out
}

/// A local sibling path in the same directory: `dir/.name.suffix` (the
/// name's bytes kept exactly, UTF-8 or not).
pub fn hidden_sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path.file_name().map_or(&b""[..], |n| n.as_bytes());
    path.with_file_name(std::ffi::OsStr::from_bytes(&hidden_name(name, suffix)))
}

/// The bytes of a local path (Linux paths are bytes).
pub fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

/// A local path from bytes.
pub fn bytes_path(bytes: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_join_and_split() {
        assert_eq!(remote_join(b"/", b"a"), b"/a");
        assert_eq!(remote_join(b"/x", b"a"), b"/x/a");
        assert_eq!(remote_join(b".", b"a"), b"./a");
        assert_eq!(remote_join(b"", b"a"), b"a");
        assert_eq!(remote_basename(b"/x/y/"), b"y");
        assert_eq!(remote_basename(b"y"), b"y");
        assert_eq!(remote_dirname(b"/x/y"), b"/x");
        assert_eq!(remote_dirname(b"/y"), b"/");
        assert_eq!(remote_dirname(b"y"), b"");
        assert_eq!(local_name_for(b"/a/.."), None);
        assert_eq!(local_name_for(b"/a/b.txt"), Some(&b"b.txt"[..]));
        assert_eq!(
            remote_hidden_sibling(b"/d/caf\xe9", "psftp.part"),
            b"/d/.caf\xe9.psftp.part"
        );
        assert_eq!(remote_hidden_sibling(b"f", "x"), b".f.x");
    }

    #[test]
    fn hidden_sibling_stays_in_the_directory_and_keeps_the_bytes() {
        assert_eq!(
            hidden_sibling(Path::new("/d/f.txt"), "psftp.part"),
            PathBuf::from("/d/.f.txt.psftp.part")
        );
        assert_eq!(
            path_bytes(&hidden_sibling(bytes_path(b"/d/caf\xe9"), "p")),
            b"/d/.caf\xe9.p"
        );
    }
}
