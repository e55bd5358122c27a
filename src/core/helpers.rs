//! pysftp's module-level helpers, with pysftp 0.2.9's exact results.

use crate::error::{Error, Result};

/// pysftp `st_mode_to_int(33188)` is 644: the permission bits written as
/// the decimal number that reads like their octal form.
pub fn st_mode_to_int(mode: u32) -> u32 {
    let bits = mode & 0o777;
    (bits >> 6) * 100 + ((bits >> 3) & 7) * 10 + (bits & 7)
}

/// Python's posixpath.join for two parts (what pysftp uses).
pub fn posix_join(a: &str, b: &str) -> String {
    if b.starts_with('/') {
        b.to_string()
    } else if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

fn non_empty<'a>(param: &str, path: &'a str) -> Result<&'a str> {
    if path.is_empty() {
        return Err(Error::invalid_arg(param, "is empty"));
    }
    Ok(path)
}

/// pysftp `path_advance('./pub/example/example01')`:
/// ['.', './pub', './pub/example', './pub/example/example01'].
pub fn path_advance(path: &str) -> Result<Vec<String>> {
    let path = non_empty("thepath", path)?;
    let mut parts: Vec<String> = path.split('/').map(String::from).collect();
    if path.starts_with('/') {
        // pysftp re-attaches the root to the first non-empty part.
        let i = if parts[0].is_empty() { 1 } else { 0 };
        if i < parts.len() {
            parts[i] = format!("/{}", parts[i]);
        }
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    for part in &parts {
        cur = posix_join(&cur, part);
        if !cur.is_empty() {
            out.push(cur.clone());
        }
    }
    Ok(out)
}

/// pysftp `path_retreat`: the same paths from the longest to the shortest.
pub fn path_retreat(path: &str) -> Result<Vec<String>> {
    let path = non_empty("thepath", path)?;
    let pre = if path.starts_with('/') { "/" } else { "" };
    let mut parts: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    while !parts.is_empty() {
        let joined = parts
            .iter()
            .fold(String::new(), |acc, p| posix_join(&acc, p));
        if !joined.is_empty() {
            out.push(format!("{pre}{joined}"));
        }
        parts.pop();
    }
    Ok(out)
}

/// pysftp `reparent('backup', '/home/test/pub')` is
/// 'backup/./home/test/pub': a rooted old path (POSIX '/' or Windows '\')
/// becomes a child of the new parent instead of replacing it.
pub fn reparent(newparent: &str, oldpath: &str) -> Result<String> {
    let oldpath = non_empty("oldpath", oldpath)?;
    let old = if oldpath.starts_with('/') || oldpath.starts_with('\\') {
        format!(".{oldpath}")
    } else {
        oldpath.to_string()
    };
    Ok(posix_join(newparent, &old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn st_mode_to_int_matches_pysftp() {
        assert_eq!(st_mode_to_int(33188), 644);
        assert_eq!(st_mode_to_int(0o40755), 755);
        assert_eq!(st_mode_to_int(0o104755), 755);
        assert_eq!(st_mode_to_int(0o7), 7);
    }

    #[test]
    fn path_advance_matches_pysftp() {
        assert_eq!(
            path_advance("./pub/example/example01").unwrap(),
            ["./pub/example/example01", "./pub/example", "./pub", "."]
                .iter()
                .rev()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(path_advance("/a/b").unwrap(), ["/a", "/a/b"]);
        assert_eq!(path_advance("a").unwrap(), ["a"]);
        assert_eq!(path_advance("a//b").unwrap(), ["a", "a/", "a/b"]);
        assert!(path_advance("").is_err());
    }

    #[test]
    fn path_retreat_matches_pysftp() {
        assert_eq!(
            path_retreat("./pub/example/example01").unwrap(),
            ["./pub/example/example01", "./pub/example", "./pub", "."]
        );
        assert_eq!(path_retreat("/a/b").unwrap(), ["/a/b", "/a"]);
    }

    #[test]
    fn reparent_matches_pysftp() {
        assert_eq!(
            reparent("backup", "/home/test/pub").unwrap(),
            "backup/./home/test/pub"
        );
        assert_eq!(reparent("backup", "home/test").unwrap(), "backup/home/test");
        assert_eq!(reparent("backup/", "/x").unwrap(), "backup/./x");
        assert_eq!(
            reparent("backup", "\\home\\test").unwrap(),
            "backup/.\\home\\test"
        );
        assert_eq!(reparent("backup", "C:\\x").unwrap(), "backup/C:\\x");
        assert_eq!(reparent("", "/x").unwrap(), "./x");
    }
}
