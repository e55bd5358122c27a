//! pysftp's module-level helpers, with pysftp 0.2.9's exact results.

use crate::error::{Error, Result};

/// pysftp `st_mode_to_int(33188)` is 644: the permission bits written as
/// the decimal number that reads like their octal form.
pub fn st_mode_to_int(mode: u32) -> u32 {
    let bits = mode & 0o777;
    (bits >> 6) * 100 + ((bits >> 3) & 7) * 10 + (bits & 7)
}

/// Python's posixpath.join for two parts (what pysftp uses).
pub fn posix_join(a: &[u8], b: &[u8]) -> Vec<u8> {
    if b.starts_with(b"/") {
        b.to_vec()
    } else {
        super::paths::remote_join(a, b)
    }
}

fn non_empty<'a>(param: &str, path: &'a [u8]) -> Result<&'a [u8]> {
    if path.is_empty() {
        return Err(Error::invalid_arg(param, "is empty"));
    }
    Ok(path)
}

/// pysftp `path_advance('./pub/example/example01')`:
/// ['.', './pub', './pub/example', './pub/example/example01'].
pub fn path_advance(path: &[u8]) -> Result<Vec<Vec<u8>>> {
    let path = non_empty("thepath", path)?;
    let mut parts: Vec<Vec<u8>> = path.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
    if path.starts_with(b"/") {
        // pysftp re-attaches the root to the first non-empty part.
        let i = if parts[0].is_empty() { 1 } else { 0 };
        if i < parts.len() {
            parts[i].insert(0, b'/');
        }
    }
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for part in &parts {
        cur = posix_join(&cur, part);
        if !cur.is_empty() {
            out.push(cur.clone());
        }
    }
    Ok(out)
}

/// pysftp `path_retreat`: the same paths from the longest to the shortest.
pub fn path_retreat(path: &[u8]) -> Result<Vec<Vec<u8>>> {
    let path = non_empty("thepath", path)?;
    let rooted = path.starts_with(b"/");
    let mut parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let mut out = Vec::new();
    while !parts.is_empty() {
        let joined = parts.iter().fold(Vec::new(), |acc, p| posix_join(&acc, p));
        if !joined.is_empty() {
            let mut p = if rooted { b"/".to_vec() } else { Vec::new() };
            p.extend_from_slice(&joined);
            out.push(p);
        }
        parts.pop();
    }
    Ok(out)
}

/// pysftp `reparent('backup', '/home/test/pub')` is
/// 'backup/./home/test/pub': a rooted old path (POSIX '/' or Windows '\')
/// becomes a child of the new parent instead of replacing it.
pub fn reparent(newparent: &[u8], oldpath: &[u8]) -> Result<Vec<u8>> {
    let oldpath = non_empty("oldpath", oldpath)?;
    let mut old = Vec::with_capacity(oldpath.len() + 1);
    if oldpath.starts_with(b"/") || oldpath.starts_with(b"\\") {
        old.push(b'.');
    }
    old.extend_from_slice(oldpath);
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

    fn strs(v: Vec<Vec<u8>>) -> Vec<String> {
        v.into_iter()
            .map(|p| String::from_utf8(p).unwrap())
            .collect()
    }

    #[test]
    fn path_advance_matches_pysftp() {
        assert_eq!(
            strs(path_advance(b"./pub/example/example01").unwrap()),
            ["./pub/example/example01", "./pub/example", "./pub", "."]
                .iter()
                .rev()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(strs(path_advance(b"/a/b").unwrap()), ["/a", "/a/b"]);
        assert_eq!(strs(path_advance(b"a").unwrap()), ["a"]);
        assert_eq!(strs(path_advance(b"a//b").unwrap()), ["a", "a/", "a/b"]);
        assert!(path_advance(b"").is_err());
        assert_eq!(path_advance(b"x/caf\xe9").unwrap()[1], b"x/caf\xe9");
    }

    #[test]
    fn path_retreat_matches_pysftp() {
        assert_eq!(
            strs(path_retreat(b"./pub/example/example01").unwrap()),
            ["./pub/example/example01", "./pub/example", "./pub", "."]
        );
        assert_eq!(strs(path_retreat(b"/a/b").unwrap()), ["/a/b", "/a"]);
    }

    #[test]
    fn reparent_matches_pysftp() {
        let r = |a: &str, b: &str| {
            String::from_utf8(reparent(a.as_bytes(), b.as_bytes()).unwrap()).unwrap()
        };
        assert_eq!(r("backup", "/home/test/pub"), "backup/./home/test/pub");
        assert_eq!(r("backup", "home/test"), "backup/home/test");
        assert_eq!(r("backup/", "/x"), "backup/./x");
        assert_eq!(r("backup", "\\home\\test"), "backup/.\\home\\test");
        assert_eq!(r("backup", "C:\\x"), "backup/C:\\x");
        assert_eq!(r("", "/x"), "./x");
    }
}
