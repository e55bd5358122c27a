//! Remote paths are bytes: POSIX names need not be UTF-8, and psftp passes
//! them through untouched. Messages show them with `show`, which keeps
//! every byte recognisable instead of substituting U+FFFD.

use std::fmt::{self, Write};

/// Path bytes for a message: valid UTF-8 as it is, every other byte and
/// every control character as `\xNN` (so `caf\xe9` names exactly one file,
/// and a name cannot move a terminal's cursor).
#[derive(Clone, Copy)]
pub struct Show<'a>(pub &'a [u8]);

/// See `Show`.
pub fn show(bytes: &[u8]) -> Show<'_> {
    Show(bytes)
}

impl fmt::Display for Show<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() {
                    let mut b = [0; 4];
                    for byte in c.encode_utf8(&mut b).bytes() {
                        write!(f, "\\x{byte:02x}")?;
                    }
                } else {
                    f.write_char(c)?;
                }
            }
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Show<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{self}'")
    }
}

#[cfg(test)]
mod tests {
    use super::show;

    #[test]
    fn non_utf8_bytes_and_controls_are_escaped_not_replaced() {
        assert_eq!(show(b"caf\xe9").to_string(), "caf\\xe9");
        assert_eq!(show("café/ü".as_bytes()).to_string(), "café/ü");
        assert_eq!(show(b"a\x1b[2Jb\0").to_string(), "a\\x1b[2Jb\\x00");
        assert_eq!(show("\u{85}".as_bytes()).to_string(), "\\xc2\\x85");
        assert_eq!(show(b"\xff\xfe").to_string(), "\\xff\\xfe");
    }
}
