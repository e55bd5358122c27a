//! Knowing whether the server is still there: the stall timeout (a call
//! whose bytes stop moving ends with Timeout) and dead-peer detection
//! (keepalives that ask for a reply, as ssh's ServerAliveInterval and
//! ServerAliveCountMax: a server that sends nothing for interval x count
//! is given up, ConnectionLost).
//!
//! libssh2 consumes the replies to keepalives inside its transport, so
//! psftp watches the socket instead: a receive hook stamps the time of
//! every byte that arrives. A server that still ACKs TCP but whose SSH
//! side hangs sends no bytes, and is caught; a slow one that answers is
//! not.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ssh2::{BlockDirections, Session};

use crate::error::{Error, ErrorKind};

/// Shared by a connection's calls, its keepalive thread and the receive
/// hook of its session.
pub struct Liveness {
    epoch: Instant,
    /// When a byte last came from the server (ms since `epoch`).
    last_rx: AtomicU64,
    /// When psftp last sent a keepalive (ms since `epoch`, 0 = never).
    last_keepalive: AtomicU64,
    /// The longest a call waits without a byte moving (ms, 0 = no limit):
    /// the stall timeout, or pysftp's `timeout` when that is shorter.
    stall_ms: AtomicU64,
    /// pysftp's `timeout` is that limit (not the stall timeout).
    limit_is_timeout: std::sync::atomic::AtomicBool,
    /// pysftp's `timeout` alone (ms, 0 = none): the limit of waits that
    /// the stall timeout does not bound (`Limit::TimeoutOnly`).
    timeout_ms: AtomicU64,
    /// Keepalive interval and how many may go unanswered.
    keepalive: Option<(Duration, u32)>,
    /// Why the server was given up, once it was.
    dead: OnceLock<String>,
    peer: String,
}

/// Which limit bounds a wait for the server.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Limit {
    /// The stall timeout (or pysftp's `timeout` when shorter).
    Stall,
    /// Only pysftp's `timeout` (a remote command, which may rightly stay
    /// silent for minutes): documented in docs/failure-behaviour.md.
    TimeoutOnly,
}

/// The longest one wait polls the socket before libssh2 is asked again.
const POLL_CAP: Duration = Duration::from_millis(20);

/// Why a wait ended without the socket becoming ready.
pub enum WaitFailure {
    /// The limit, and the option that set it.
    Stalled(Duration, &'static str),
    Dead(String),
    Keepalive(String),
}

impl WaitFailure {
    /// The error of a call that was `doing` something with `peer`.
    pub fn into_error(self, doing: &str, peer: &str) -> Error {
        match self {
            WaitFailure::Stalled(t, option) => Error::new(
                ErrorKind::Timeout,
                format!(
                    "timed out {doing} {peer}: nothing moved for {} ({option})",
                    seconds(t)
                ),
            ),
            WaitFailure::Dead(why) | WaitFailure::Keepalive(why) => {
                Error::new(ErrorKind::ConnectionLost, why)
            }
        }
    }
}

/// "1.5 s", "60 s".
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

impl Liveness {
    /// `stall`: the stall timeout; `timeout`: pysftp's.
    pub fn new(
        peer: &str,
        stall: Option<Duration>,
        timeout: Option<Duration>,
        keepalive: Option<Duration>,
        count_max: u32,
    ) -> Arc<Liveness> {
        let live = Liveness {
            epoch: Instant::now(),
            last_rx: AtomicU64::new(0),
            last_keepalive: AtomicU64::new(0),
            stall_ms: AtomicU64::new(0),
            limit_is_timeout: Default::default(),
            timeout_ms: AtomicU64::new(0),
            keepalive: keepalive.map(|k| (k, count_max.max(1))),
            dead: OnceLock::new(),
            peer: peer.to_string(),
        };
        live.set_limits(stall, timeout);
        Arc::new(live)
    }

    fn now_ms(&self) -> u64 {
        // Never 0, which stands for "never" in `last_keepalive`.
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// The longest a call waits without a byte moving: the shorter of
    /// the stall timeout and pysftp's `timeout` when both are set.
    pub fn set_limits(&self, stall: Option<Duration>, timeout: Option<Duration>) {
        let is_timeout = match (stall, timeout) {
            (Some(s), Some(t)) => t < s,
            (s, t) => s.is_none() && t.is_some(),
        };
        let limit = if is_timeout { timeout } else { stall };
        let ms = limit.map_or(0, |d| (d.as_millis() as u64).max(1));
        self.limit_is_timeout.store(is_timeout, Ordering::Relaxed);
        self.stall_ms.store(ms, Ordering::Relaxed);
        let t = timeout.map_or(0, |d| (d.as_millis() as u64).max(1));
        self.timeout_ms.store(t, Ordering::Relaxed);
    }

    /// The limit in force for a wait of kind `limit`, and the option that
    /// set it.
    fn stall(&self, limit: Limit) -> Option<(Duration, &'static str)> {
        const TIMEOUT: &str = "the timeout, psftp_set_timeout";
        let (ms, option) = match limit {
            Limit::Stall if self.limit_is_timeout.load(Ordering::Relaxed) => {
                (self.stall_ms.load(Ordering::Relaxed), TIMEOUT)
            }
            Limit::Stall => (
                self.stall_ms.load(Ordering::Relaxed),
                "the stall timeout, psftp_cnopts_set_stall_timeout; 0 turns it off",
            ),
            Limit::TimeoutOnly => (self.timeout_ms.load(Ordering::Relaxed), TIMEOUT),
        };
        (ms > 0).then(|| (Duration::from_millis(ms), option))
    }

    /// Bytes came from the server (the receive hook calls this).
    fn received(&self) {
        self.last_rx.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Why the server was given up, if it was.
    pub fn dead(&self) -> Option<&str> {
        self.dead.get().map(String::as_str)
    }

    /// How often the keepalive thread should look (None: no keepalives).
    pub fn tick(&self) -> Option<Duration> {
        self.keepalive
            .map(|(every, _)| (every / 4).max(Duration::from_millis(50)))
    }

    /// Fail if the server was given up (by another thread's keepalives).
    pub fn check_dead(&self) -> Result<(), WaitFailure> {
        match self.dead() {
            Some(why) => Err(WaitFailure::Dead(why.to_string())),
            None => Ok(()),
        }
    }

    /// Give up on a silent server or send it a keepalive when one is due.
    /// Only when no packet of `session` is half sent (keepalive_if_room).
    pub fn keep_alive(&self, session: &Session) -> Result<(), WaitFailure> {
        if let Some(why) = self.dead() {
            return Err(WaitFailure::Dead(why.to_string()));
        }
        let Some((every, count)) = self.keepalive else {
            return Ok(());
        };
        let now = self.now_ms();
        let last_rx = self.last_rx.load(Ordering::Relaxed);
        let last_ka = self.last_keepalive.load(Ordering::Relaxed);
        let silent = Duration::from_millis(now.saturating_sub(last_rx));
        let every_ms = every.as_millis() as u64;
        // Like ssh: a server silent for interval x count, which had at
        // least one keepalive (and half an interval to answer it) since it
        // last spoke, is gone.
        let asked = last_ka > last_rx && now.saturating_sub(last_ka) >= every_ms / 2;
        if silent >= every * count && asked {
            let why = format!(
                "connection to {} lost: the server sent nothing for {} and answered no \
                 keepalive (keepalive every {}, count max {count})",
                self.peer,
                seconds(silent),
                seconds(every)
            );
            let _ = self.dead.set(why.clone());
            return Err(WaitFailure::Dead(why));
        }
        let due = silent >= every && now.saturating_sub(last_ka) >= every_ms;
        if due {
            let sent = super::route::keepalive_sent_if_room(session).map_err(|e| {
                WaitFailure::Keepalive(format!("connection to {} lost: {e}", self.peer))
            })?;
            // Only one that went out asks the server for an answer (with
            // an interval under libssh2's 2 s, some are skipped).
            if sent {
                self.last_keepalive.store(now, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Wait for `session`'s socket to be ready in the direction libssh2 is
    /// blocked on, sending keepalives meanwhile, until `since` (the last
    /// time a byte moved) is older than the limit of kind `limit`.
    /// `keep_alive` is what to do each time round (Liveness::keep_alive,
    /// or check_dead when another thread may be half way through sending
    /// a packet on the session).
    ///
    /// Returns (Ok) at least every POLL_CAP even if the socket stays
    /// quiet: another thread's libssh2 call on the session (a write, which
    /// drains what arrived first, or an exec channel's read) may have
    /// taken in the packet this wait is for, and only trying again tells.
    pub fn wait_with(
        &self,
        session: &Session,
        since: Instant,
        limit: Limit,
        keep_alive: impl Fn() -> Result<(), WaitFailure>,
    ) -> Result<(), WaitFailure> {
        let began = Instant::now();
        loop {
            keep_alive()?;
            if began.elapsed() >= POLL_CAP {
                return Ok(());
            }
            let mut timeout = Some(self.tick().map_or(POLL_CAP, |t| t.min(POLL_CAP)));
            if let Some((stall, option)) = self.stall(limit) {
                let waited = since.elapsed();
                if waited >= stall {
                    return Err(WaitFailure::Stalled(stall, option));
                }
                let left = stall - waited;
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            let events = match session.block_directions() {
                BlockDirections::Inbound => libc::POLLIN,
                BlockDirections::Outbound => libc::POLLOUT,
                BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
                // libssh2 waits on nothing: try again at once.
                BlockDirections::None => return Ok(()),
            };
            let mut fds = [libc::pollfd {
                fd: session.as_raw_fd(),
                events,
                revents: 0,
            }];
            let ms = timeout.map_or(-1, |t| t.as_millis().clamp(1, i32::MAX as u128) as i32);
            // SAFETY: poll writes only the revents of the one entry of `fds`.
            let rc = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
            if rc != 0 {
                // Ready, an error or a signal: libssh2 says which.
                return Ok(());
            }
        }
    }

    /// Stamp every byte `session` receives from now on. The hook is
    /// removed when the returned guard drops, which must happen while
    /// `session` is alive (the guard keeps a handle to it).
    pub fn hook(self: &Arc<Liveness>, session: &Session) -> RecvHook {
        self.received();
        let raw = Arc::into_raw(self.clone());
        {
            let mut guard = session.raw();
            let s: *mut libssh2_sys::LIBSSH2_SESSION = &mut *guard;
            // SAFETY: `s` is the live session, locked by `guard`. The
            // abstract pointer is otherwise unused after authentication
            // (ssh2 lends it only to keyboard-interactive prompts); it
            // holds one strong count of `self`, given back by RecvHook's
            // drop, which clears the pointer first.
            unsafe {
                *libssh2_sys::libssh2_session_abstract(s) = raw as *mut libc::c_void;
                libssh2_session_callback_set2(s, LIBSSH2_CALLBACK_RECV, recv_hook);
            }
        }
        RecvHook {
            session: session.clone(),
            raw,
        }
    }
}

/// Removes the receive hook (see `Liveness::hook`).
pub struct RecvHook {
    session: Session,
    raw: *const Liveness,
}

// SAFETY: `raw` is an Arc's strong count, only given back in drop.
unsafe impl Send for RecvHook {}
// SAFETY: a shared RecvHook offers nothing (no methods; only its drop,
// which needs ownership, uses `raw`).
unsafe impl Sync for RecvHook {}

impl Drop for RecvHook {
    fn drop(&mut self) {
        {
            let mut guard = self.session.raw();
            let s: *mut libssh2_sys::LIBSSH2_SESSION = &mut *guard;
            // SAFETY: the live session (this guard keeps it), locked. The
            // hook stays installed and, with no abstract pointer, only
            // receives.
            unsafe { *libssh2_sys::libssh2_session_abstract(s) = std::ptr::null_mut() };
        }
        // SAFETY: the count `hook` took with Arc::into_raw, given back once.
        drop(unsafe { Arc::from_raw(self.raw) });
    }
}

const LIBSSH2_CALLBACK_RECV: libc::c_int = 6;

extern "C" {
    /// libssh2.h. Never given NULL: libssh2 would call it.
    fn libssh2_session_callback_set2(
        session: *mut libssh2_sys::LIBSSH2_SESSION,
        cbtype: libc::c_int,
        callback: unsafe extern "C" fn(
            libc::c_int,
            *mut libc::c_void,
            libc::size_t,
            libc::c_int,
            *mut *mut libc::c_void,
        ) -> libc::ssize_t,
    ) -> *const libc::c_void;
}

/// libssh2's receive function (misc.c ssh2_recv) plus the stamp.
unsafe extern "C" fn recv_hook(
    fd: libc::c_int,
    buf: *mut libc::c_void,
    len: libc::size_t,
    flags: libc::c_int,
    abstract_: *mut *mut libc::c_void,
) -> libc::ssize_t {
    // SAFETY: libssh2 passes its receive buffer and length.
    let rc = unsafe { libc::recv(fd, buf, len, flags) };
    if rc < 0 {
        let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return if err == libc::EINTR || err == libc::ENOENT || err == libc::EWOULDBLOCK {
            -(libc::EAGAIN as libc::ssize_t)
        } else {
            -(err as libc::ssize_t)
        };
    }
    if rc > 0 && !abstract_.is_null() {
        // SAFETY: libssh2 passes &session->abstract, which `hook` set to
        // a live Liveness (RecvHook clears it before giving the count back).
        let live = unsafe { *abstract_ } as *const Liveness;
        if !live.is_null() {
            // SAFETY: see above.
            unsafe { (*live).received() };
        }
    }
    rc
}
