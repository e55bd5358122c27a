//! Local and remote path helpers: `~` expansion, the default user name, and
//! POSIX path joining for remote paths.

use std::ffi::CStr;
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

/// Join a remote directory and a name with '/'.
pub fn remote_join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The last component of a remote path ("a/b/" gives "b").
pub fn remote_basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// The directory part of a remote path ("" when there is none).
pub fn remote_dirname(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => "/",
        Some(i) => &trimmed[..i],
        None => "",
    }
}

/// The local file name for a remote path: its basename, which must be a
/// plain name (never "..", never empty).
pub fn local_name_for(remote: &str) -> Option<&str> {
    let name = remote_basename(remote);
    (!name.is_empty() && name != "." && name != "..").then_some(name)
}

/// A sibling path in the same directory: `dir/.name.suffix`.
pub fn hidden_sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_join_and_split() {
        assert_eq!(remote_join("/", "a"), "/a");
        assert_eq!(remote_join("/x", "a"), "/x/a");
        assert_eq!(remote_join(".", "a"), "a");
        assert_eq!(remote_basename("/x/y/"), "y");
        assert_eq!(remote_basename("y"), "y");
        assert_eq!(remote_dirname("/x/y"), "/x");
        assert_eq!(remote_dirname("/y"), "/");
        assert_eq!(remote_dirname("y"), "");
        assert_eq!(local_name_for("/a/.."), None);
        assert_eq!(local_name_for("/a/b.txt"), Some("b.txt"));
    }

    #[test]
    fn hidden_sibling_stays_in_the_directory() {
        assert_eq!(
            hidden_sibling(Path::new("/d/f.txt"), "psftp.part"),
            PathBuf::from("/d/.f.txt.psftp.part")
        );
    }
}
