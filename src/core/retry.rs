//! Retries of transfers after the link failed. With `TransferOpts::retries`
//! a get, put or tree operation that fails with CONNECTION_LOST or TIMEOUT
//! waits (the back-off), reconnects the caller's connection in place (the
//! same route, the verified host key, the same credentials: see
//! `Connection::reconnect`), and goes on: a file continues from the part
//! file it provably left (resume.rs), a tree operation skips the files it
//! already completed. Progress never goes back.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::conn::Connection;
use super::options::{TransferOpts, MAX_RETRY_DELAY};
use crate::error::{Error, ErrorKind, Result};

thread_local! {
    /// Retries of the last get, put or tree operation on this thread.
    static LAST_RETRIES: Cell<u32> = const { Cell::new(0) };
}

/// How many times the last get, put or tree operation of this thread
/// reconnected.
pub fn last_retries() -> u32 {
    LAST_RETRIES.with(Cell::get)
}

pub(crate) fn set_last_retries(n: u32) {
    LAST_RETRIES.with(|c| c.set(n));
}

/// Failures a reconnect may mend: the link, not the request.
pub fn retryable(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionLost | ErrorKind::Timeout | ErrorKind::Connect
    )
}

/// The wait before retry `nth` (1-based): the delay, doubled each time.
pub fn delay(opts: &TransferOpts, nth: u32) -> Duration {
    let factor = 1u32 << (nth.saturating_sub(1)).min(16);
    opts.retry_delay.saturating_mul(factor).min(MAX_RETRY_DELAY)
}

/// A progress value that never goes back: the highest seen so far.
#[derive(Debug, Default)]
pub struct HighWater(u64);

impl HighWater {
    pub fn see(&mut self, v: u64) -> u64 {
        self.0 = self.0.max(v);
        self.0
    }
}

impl Connection {
    /// Run `attempt` and, while it fails with a retryable error and
    /// retries are left, recover (wait, reconnect) and run it again.
    /// Returns its result and the number of retries.
    pub(crate) fn with_retries<R>(
        &self,
        opts: &TransferOpts,
        what: &str,
        mut attempt: impl FnMut() -> Result<R>,
    ) -> (Result<R>, u32) {
        let mut retries = 0;
        let mut result = attempt();
        loop {
            let e = match result {
                Err(e) if retryable(&e) && retries < opts.retries && !self.gave_up() => e,
                Err(e) if retries > 0 => {
                    let e = e.context(format!("{what} (after {retries} retries)"));
                    return (Err(e), retries);
                }
                r => return (r, retries),
            };
            retries += 1;
            result = self
                .recover(opts, retries, what, &e)
                .and_then(|_| attempt());
        }
    }

    /// Interrupted or closed: no more retries.
    fn gave_up(&self) -> bool {
        self.is_interrupted() || self.is_closed()
    }

    /// Between attempts: wait the back-off (an interrupt ends the wait),
    /// then reconnect if the failure broke the session.
    pub(crate) fn recover(
        &self,
        opts: &TransferOpts,
        nth: u32,
        what: &str,
        e: &Error,
    ) -> Result<()> {
        let wait = delay(opts, nth);
        self.log(&format!(
            "{what}: {}; retry {nth} of {} in {:.1} s",
            e.message(),
            opts.retries,
            wait.as_secs_f64()
        ));
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if self.is_interrupted() {
                return Err(Error::new(
                    ErrorKind::Cancelled,
                    format!("{what}: interrupted while waiting to retry"),
                ));
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        // Only if broken (a stall of the command may leave it usable), and
        // only once for calls that failed together (`reconnect`).
        if self.is_broken() {
            self.reconnect().map_err(|e| match self.is_closed() {
                // Close wins: whatever the reconnect met, it is why.
                true => Error::new(
                    ErrorKind::ConnectionLost,
                    format!("{what}: the connection was closed while reconnecting"),
                ),
                false => e,
            })?;
        }
        Ok(())
    }

    /// Run a get or put with the retries of `opts`, its progress kept
    /// monotonic; the retries are recorded for `last_retries`.
    pub(crate) fn transfer_with_retries<R>(
        &self,
        opts: &TransferOpts,
        what: &str,
        progress: Option<&mut dyn FnMut(u64, u64) -> bool>,
        mut attempt: impl FnMut(Option<&mut dyn FnMut(u64, u64) -> bool>) -> Result<R>,
    ) -> Result<R> {
        let mut high = HighWater::default();
        let mut user = progress;
        let mut mono = |done: u64, total: u64| match user.as_mut() {
            Some(cb) => cb(high.see(done), total),
            None => true,
        };
        let (r, n) = self.with_retries(opts, what, || attempt(Some(&mut mono)));
        self.note_retries(n);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_up_to_the_cap() {
        let o = TransferOpts {
            retry_delay: Duration::from_millis(100),
            ..TransferOpts::default()
        };
        assert_eq!(delay(&o, 1), Duration::from_millis(100));
        assert_eq!(delay(&o, 3), Duration::from_millis(400));
        assert_eq!(delay(&o, 40), MAX_RETRY_DELAY);
        let mut h = HighWater::default();
        assert_eq!([h.see(5), h.see(3), h.see(9)], [5, 5, 9], "never back");
    }
}
