//! When a part file may be resumed. A part file is continued only when it
//! provably comes from the same source:
//!
//! 1. A record of the source — where it is (host and path), its size and
//!    mtime — is written next to the part file (`.NAME.psftp.resume`) when
//!    a resumable transfer starts, after the part file was emptied. A part
//!    file without a record, or whose record names another source or
//!    another version of it (size or mtime differ), starts over.
//! 2. The last bytes already in the part file (up to 64 KiB) are compared
//!    with the same range of the source; any difference starts over.
//!
//! The record goes when the file is put in place, and with the part file
//! when a transfer fails without resume.

use std::fmt::Write as _;

/// Bytes at the end of a part file compared with the source.
pub(crate) const OVERLAP: u64 = 64 * 1024;

/// The suffix of resume records: `dir/.name.psftp.resume`.
pub(crate) const RECORD_SUFFIX: &str = "psftp.resume";

/// Longest record accepted when reading one back.
pub(crate) const MAX_RECORD: usize = 64 * 1024;

/// The identity of a transfer's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceId {
    /// Where it is: "sftp://user@host:port/path" or a local absolute path.
    pub origin: Vec<u8>,
    pub size: u64,
    pub mtime: Option<u32>,
}

impl SourceId {
    /// The record's text (the origin in hex, so any bytes survive).
    pub fn to_record(&self) -> Vec<u8> {
        let mut hex = String::with_capacity(self.origin.len() * 2);
        for b in &self.origin {
            let _ = write!(hex, "{b:02x}");
        }
        let mtime = self.mtime.map_or("-".to_string(), |m| m.to_string());
        format!(
            "psftp resume record 1\norigin {hex}\nsize {}\nmtime {mtime}\n",
            self.size
        )
        .into_bytes()
    }

    /// Parse a record; None for anything malformed.
    pub fn from_record(text: &[u8]) -> Option<SourceId> {
        let text = std::str::from_utf8(text).ok()?;
        let mut lines = text.lines();
        if lines.next()? != "psftp resume record 1" {
            return None;
        }
        let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ');
        let hex = field("origin")?;
        let size = field("size")?.parse().ok()?;
        let mtime = match field("mtime")? {
            "-" => None,
            m => Some(m.parse().ok()?),
        };
        if hex.len() % 2 != 0 {
            return None;
        }
        let origin = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        Some(SourceId {
            origin,
            size,
            mtime,
        })
    }
}

/// Where a part file of `have` bytes may continue from, given its record
/// and the source now: `have` if the record matches and the part is not
/// longer than the source (the overlap is still to be compared), else 0.
pub fn candidate(have: u64, record: Option<&[u8]>, source: &SourceId) -> u64 {
    let matches = record
        .and_then(SourceId::from_record)
        .is_some_and(|r| &r == source);
    if matches && have <= source.size {
        have
    } else {
        0
    }
}

/// The range compared before continuing from `have`.
pub fn overlap_range(have: u64) -> (u64, u64) {
    (have - have.min(OVERLAP), have)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> SourceId {
        SourceId {
            origin: b"sftp://u@h:22/d/caf\xe9".to_vec(),
            size: 1000,
            mtime: Some(1_700_000_000),
        }
    }

    #[test]
    fn records_round_trip_and_garbage_is_refused() {
        let r = id().to_record();
        assert_eq!(SourceId::from_record(&r), Some(id()));
        let none = SourceId {
            mtime: None,
            ..id()
        };
        assert_eq!(SourceId::from_record(&none.to_record()), Some(none));
        for bad in [
            &b""[..],
            b"psftp resume record 2\n",
            b"psftp resume record 1\norigin zz\nsize 1\nmtime -\n",
            b"psftp resume record 1\norigin 61\nsize x\nmtime -\n",
            b"\xff\xfe",
        ] {
            assert_eq!(SourceId::from_record(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_a_part_of_the_same_source_is_a_candidate() {
        let r = id().to_record();
        assert_eq!(candidate(500, Some(&r), &id()), 500);
        assert_eq!(candidate(500, None, &id()), 0, "no record");
        let newer = SourceId {
            mtime: Some(1_700_000_001),
            ..id()
        };
        assert_eq!(candidate(500, Some(&r), &newer), 0, "another version");
        let other = SourceId {
            origin: b"/elsewhere".to_vec(),
            ..id()
        };
        assert_eq!(candidate(500, Some(&r), &other), 0, "another file");
        assert_eq!(
            candidate(1001, Some(&r), &id()),
            0,
            "longer than the source"
        );
        assert_eq!(overlap_range(10), (0, 10));
        assert_eq!(overlap_range(OVERLAP + 5), (5, OVERLAP + 5));
    }
}
