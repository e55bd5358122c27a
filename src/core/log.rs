//! The connection log of CnOpts.log: one timestamped line per event.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::secret::Redactor;
use crate::error::{Error, Result};

/// Where CnOpts.log sends the log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LogTarget {
    #[default]
    Off,
    /// A new temporary file, as pysftp does for `log=True`.
    TempFile,
    File(PathBuf),
}

pub struct Logger {
    path: PathBuf,
    file: Mutex<File>,
    /// The connection's secrets: no line ever carries one.
    redactor: Redactor,
}

impl Logger {
    /// Open the log for `target`; None when logging is off. Lines are
    /// scrubbed of the secrets `redactor` knows.
    pub fn open(target: &LogTarget, redactor: Redactor) -> Result<Option<Logger>> {
        let path = match target {
            LogTarget::Off => return Ok(None),
            LogTarget::File(p) => p.clone(),
            LogTarget::TempFile => temp_log_path(),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::local_io("open log file", &path, &e))?;
        Ok(Some(Logger {
            path,
            file: Mutex::new(file),
            redactor,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn log(&self, msg: &str) {
        let msg = self.redactor.scrub(msg);
        let line = format!("{} psftp: {msg}\n", utc_timestamp(SystemTime::now()));
        if let Ok(mut f) = self.file.lock() {
            // A full disk must not fail the transfer being logged.
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Log through an optional logger without formatting when it is off.
macro_rules! log_to {
    ($logger:expr, $($arg:tt)*) => {
        if let Some(l) = $logger.as_ref() {
            l.log(&format!($($arg)*));
        }
    };
}
pub(crate) use log_to;

fn temp_log_path() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("psftp-{}-{n}.log", std::process::id()))
}

/// "YYYY-MM-DD HH:MM:SS.mmmZ" in UTC, without a date crate.
pub fn utc_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02} {:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(utc_timestamp(t), "2023-11-14 22:13:20.123Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01 00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert!(utc_timestamp(leap).starts_with("2000-02-29"));
    }
}
