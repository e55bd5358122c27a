//! pysftp's Connection: an authenticated SSH session with one SFTP channel,
//! a client-side working directory, and a multiplexer that lets calls from
//! several threads run on it at the same time (docs/concurrency.md).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::ThreadId;
use std::time::Duration;

use ssh2::MethodType;

use super::connect::{establish, millis, ConnectSpec, Established};
use super::hostkeys::ServerKey;
use super::liveness::{Limit, Liveness};
use super::log::Logger;
use super::route::{Cutter, Link};
use super::secret::Redactor;
use crate::error::{Error, ErrorKind, Result};
use crate::log_to;
pub use crate::sftp::ExecOutput;
use crate::sftp::{CallCancel, CancelToken, SftpChannel, SftpLink};

/// One call's view of the connection, made by `Connection::with`: its own
/// port on the shared SFTP channel, and a copy of the client-side state
/// taken when the call began (what it changes is stored back when it
/// ends).
pub struct State {
    pub sftp: SftpChannel,
    /// pysftp/paramiko keep the working directory on the client: None until
    /// the first chdir.
    pub cwd: Option<Vec<u8>>,
    /// Last `timeout` set (pysftp attribute).
    pub timeout: Option<Duration>,
    /// Working directories saved by `cd_push`.
    pub cd_stack: Vec<Option<Vec<u8>>>,
}

/// The client-side state of a connection, shared by its calls (each holds
/// the lock only to copy it in and out), and who may call now.
struct Client {
    cwd: Option<Vec<u8>>,
    timeout: Option<Duration>,
    cd_stack: Vec<Option<Vec<u8>>>,
    /// Lazily opened libssh2 SFTP session for `sftp_client`.
    raw_sftp: RawSftp,
    closed: bool,
    /// Calls running now.
    active: usize,
    /// The thread holding the connection by `lock`, and how many times.
    holder: Option<(ThreadId, usize)>,
}

type SharedClient = Arc<(parking_lot::Mutex<Client>, parking_lot::Condvar)>;

/// The SFTP channel every call shares; a reconnect (transfer retries)
/// puts a new one in place of a broken one.
type LinkSlot = Arc<parking_lot::RwLock<Arc<SftpLink>>>;

/// The escape-hatch libssh2 SFTP pointer; only used under the session lock.
pub struct RawSftp(pub *mut libssh2_sys::LIBSSH2_SFTP);
// SAFETY: the pointer is only used (by psftp: init and shutdown) while
// holding the session's lock, so moving it to another thread is fine.
unsafe impl Send for RawSftp {}

impl State {
    /// paramiko's `_adjust_cwd`: relative paths are joined to the cwd.
    pub fn resolve(&self, path: &[u8]) -> Vec<u8> {
        match &self.cwd {
            Some(cwd) if !path.starts_with(b"/") => {
                let mut p = cwd.clone();
                if cwd != b"/" {
                    p.push(b'/');
                }
                p.extend_from_slice(path);
                p
            }
            _ => path.to_vec(),
        }
    }

    pub fn session(&self) -> &ssh2::Session {
        self.sftp.session()
    }
}

/// Facts fixed at connect time.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: String,
    /// The user name authenticated as (issue 15's username getter reads it).
    #[allow(dead_code)]
    pub username: String,
    pub server_key: ServerKey,
}

pub struct Connection {
    spec: ConnectSpec,
    info: ConnInfo,
    log: Option<Arc<Logger>>,
    /// The SFTP channel every call shares.
    sftp: LinkSlot,
    client: SharedClient,
    keepalive: Option<KeepAlive>,
    /// Every socket of the route, reachable without the state lock, for
    /// `interrupt` from another thread.
    cutter: Arc<Cutter>,
    /// The route (jump-host pumps, a ProxyCommand), ended by `close`.
    link: Mutex<Option<Link>>,
    /// The jump hosts' keys, which extra connections must see again.
    hop_keys: Vec<ServerKey>,
    /// The keyboard-interactive callback was asked while connecting.
    kbdint_asked: bool,
    /// The connection's secrets, kept out of the errors of its extra
    /// connections (the log has its own reference).
    redactor: Redactor,
    interrupted: AtomicBool,
    /// Retries of the last get, put or tree operation to finish.
    last_retries: AtomicU32,
    /// Held by the one reconnect under way.
    reconnecting: parking_lot::Mutex<()>,
    /// Set when a call on this connection panicked: the panic may have left
    /// requests in flight or state half-changed, so no later call may use
    /// the session. Holds the panic's message.
    poisoned: Arc<OnceLock<String>>,
}

thread_local! {
    /// The connections whose tree operation this thread coordinates, most
    /// recent last: their progress callbacks run on this thread while
    /// workers use the connection, so a `lock` from such a callback would
    /// wait for its own operation. Per thread, so
    /// that two threads running operations on one connection each keep
    /// their own mark (one slot per connection let one operation erase the
    /// other's). A const-initialized Vec: no lazy registration on first use
    /// beyond the destructor every thread-local with a heap buffer has
    /// (glibc keeps the library loaded until it has run).
    static COORDINATING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// The connections this thread is inside a call of (a callback's calls
    /// run inside its call): `lock` and `close` from there are refused, as
    /// they would wait for the call that runs the callback.
    static IN_CALL: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// The cancel token of the call this thread makes (set by the C ABI
    /// for the duration of one call; every step of the call shares it).
    static CALL_TOKEN: RefCell<Option<CallCancel>> = const { RefCell::new(None) };
}

/// Run `f`, one call from the application, with `token` as its cancel
/// token on this thread (None: not cancellable), restoring the previous
/// one after. A token already cancelled refuses the call.
pub fn with_cancel_token<R>(
    token: Option<CancelToken>,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    if token.as_ref().is_some_and(CancelToken::is_cancelled) {
        return Err(Error::new(
            ErrorKind::Cancelled,
            "call refused: its cancel token is cancelled (psftp_cancel_token_reset makes it usable again)",
        ));
    }
    struct Restore(Option<CallCancel>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            let _ = CALL_TOKEN.try_with(|t| *t.borrow_mut() = prev);
        }
    }
    let call = token.map(CallCancel::new);
    let prev = CALL_TOKEN.with(|t| std::mem::replace(&mut *t.borrow_mut(), call));
    let _restore = Restore(prev);
    f()
}

fn current_token() -> Option<CallCancel> {
    CALL_TOKEN.try_with(|t| t.borrow().clone()).ok().flatten()
}

/// The cancel token of the call this thread makes, for the threads that
/// work for it (tree workers, split helpers): each runs under it with
/// `with_cancel_token`, so the token stops them too.
pub fn call_token() -> Option<CancelToken> {
    current_token().map(|c| c.token().clone())
}

/// A running call: counted in `Client::active` and this thread's IN_CALL
/// until dropped.
struct CallGuard<'a> {
    client: &'a SharedClient,
    id: usize,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        let _ = IN_CALL.try_with(|c| {
            let mut c = c.borrow_mut();
            if let Some(i) = c.iter().rposition(|id| *id == self.id) {
                c.remove(i);
            }
        });
        let (lock, cv) = &**self.client;
        lock.lock().active -= 1;
        cv.notify_all();
    }
}

fn in_call(id: usize) -> bool {
    IN_CALL
        .try_with(|c| c.borrow().contains(&id))
        .unwrap_or(false)
}

/// Marks the calling thread as a tree operation's coordinator until
/// dropped (a checked stack: each mark removes its own entry).
pub struct CoordinatorMark(usize);

impl Drop for CoordinatorMark {
    fn drop(&mut self) {
        let _ = COORDINATING.try_with(|c| {
            let mut c = c.borrow_mut();
            // Marks are scoped, so this is the top entry; rposition keeps
            // the stack right even if it were not.
            if let Some(i) = c.iter().rposition(|id| *id == self.0) {
                c.remove(i);
            }
        });
    }
}

/// A thread that, while the connection is idle, takes in what the server
/// sent, gives a silent server up and sends keepalives (libssh2 only sends
/// them when asked to; a call that is waiting sends its own, liveness.rs).
struct KeepAlive {
    stop: Arc<AtomicBool>,
    thread: std::thread::Thread,
}

impl KeepAlive {
    fn start(
        state: &SharedClient,
        link: &LinkSlot,
        poisoned: &Arc<OnceLock<String>>,
        tick: Duration,
        log: Option<Arc<Logger>>,
    ) -> Option<KeepAlive> {
        let weak: Weak<_> = Arc::downgrade(state);
        let link = Arc::downgrade(link);
        let poisoned = poisoned.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::Builder::new()
            .name("psftp-keepalive".into())
            .spawn(move || {
                // The link whose failure was logged: once per link.
                let mut failed: Option<Weak<SftpLink>> = None;
                loop {
                    std::thread::park_timeout(tick);
                    if stop2.load(Ordering::Relaxed) {
                        return;
                    }
                    let (Some(state), Some(slot)) = (weak.upgrade(), link.upgrade()) else {
                        return;
                    };
                    // The channel of now: a reconnect (a transfer's retry)
                    // puts a new one in the slot, which is then kept alive
                    // in turn, so the thread goes on past a broken link.
                    let link = slot.read().clone();
                    if poisoned.get().is_some() {
                        return;
                    }
                    if let Some(Err(e)) = keep_alive_if_idle(&state, &link) {
                        let seen = failed
                            .as_ref()
                            .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(&link)));
                        if !seen {
                            log_to!(log, "{e}");
                            failed = Some(Arc::downgrade(&link));
                        }
                    }
                }
            })
            .ok()?;
        Some(KeepAlive {
            stop,
            thread: handle.thread().clone(),
        })
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.unpark();
    }
}

/// Keep the connection alive unless the application holds it
/// (psftp_lock: it may use the session itself) or it is closed (None
/// then). Calls under way do not stop it: the link only reads when no
/// port is reading, and a reading port keeps the link alive itself.
/// The tick counts as a call (so `lock` and `close` wait for it) but does
/// not hold the client state's lock while it talks to the server.
fn keep_alive_if_idle(state: &SharedClient, link: &SftpLink) -> Option<Result<()>> {
    let (lock, cv) = &**state;
    {
        let mut c = lock.lock();
        if c.closed || c.holder.is_some() {
            return None;
        }
        c.active += 1;
    }
    let r = link.keep_alive_idle();
    lock.lock().active -= 1;
    cv.notify_all();
    Some(r)
}

/// Open the SFTP channel on a new session, within the connect deadline
/// and watched for stalls and a silent server; also the keepalive
/// thread's tick, if keepalives are on.
fn open_watched_channel(
    est: &Established,
    stall: Option<Duration>,
    timeout: Option<Duration>,
) -> Result<(Arc<SftpLink>, Option<Duration>)> {
    let (keepalive, count_max) = est.keepalive.unzip();
    let live = Liveness::new(&est.peer, stall, timeout, keepalive, count_max.unwrap_or(0));
    let tick = live.tick();
    est.session.set_timeout(millis(est.watchdog.remaining()));
    let link = SftpLink::open(&est.session, &est.peer, Some(live), est.max_request_size)
        .map_err(|e| est.watchdog.explain(e, &est.peer))?;
    est.watchdog.finish();
    est.session.set_timeout(millis(timeout));
    Ok((link, tick))
}

impl Connection {
    /// pysftp `Connection(host, username, private_key, password, port,
    /// private_key_pass, cnopts=..., default_path=...)`.
    pub fn connect(spec: ConnectSpec) -> Result<Connection> {
        let redactor = spec.redactor();
        let log = Logger::open(&spec.cnopts.log, redactor.clone())?.map(Arc::new);
        spec.check()
            .inspect_err(|e| log_to!(log, "connect refused: {e}"))?;
        Connection::connect_with_log(spec, log, redactor, Arc::new(Cutter::default()))
    }

    /// Another connection to the same server, by the same route, with the
    /// same credentials and log (the tree and split operations' extra
    /// workers). Its sockets are registered with `cutter` as they appear.
    pub fn connect_sibling(&self, cutter: Arc<Cutter>) -> Result<Connection> {
        if let Some(why) = self.sole_connection() {
            log_to!(
                self.log,
                "{why}; the operation runs on this connection alone"
            );
            return Err(Error::new(ErrorKind::Unsupported, why));
        }
        Connection::connect_with_log(
            self.again_spec(),
            self.log.clone(),
            self.redactor.clone(),
            cutter,
        )
    }

    /// How to connect again to this connection's server (extra
    /// connections, a reconnect): the same route and credentials.
    fn again_spec(&self) -> ConnectSpec {
        let mut spec = ConnectSpec {
            default_path: None,
            ..self.spec.clone()
        };
        // Trust exactly the keys this connection verified: no second round
        // of known_hosts, callbacks or accept-new on a worker thread; and
        // no keyboard-interactive prompts from a worker either (a one-time
        // code cannot be given twice).
        spec.cnopts.pinned_host_key = Some(self.info.server_key.clone());
        spec.cnopts.pinned_hop_keys = Some(self.hop_keys.clone());
        spec.cnopts.hostkey_callback = None;
        spec.kbdint_callback = None;
        // Connecting is part of the operation: its timeout bounds it too.
        if let Some(t) = spec.cnopts.timeout {
            spec.cnopts.connect_timeout = Some(spec.cnopts.connect_timeout.map_or(t, |c| c.min(t)));
        }
        spec
    }

    /// How many times the last get, put or tree operation on this
    /// connection to finish reconnected (from any thread).
    pub fn last_retries(&self) -> u32 {
        self.last_retries.load(Ordering::SeqCst)
    }

    /// Record a transfer call's retries, here and for the calling thread.
    pub(crate) fn note_retries(&self, n: u32) {
        self.last_retries.store(n, Ordering::SeqCst);
        super::retry::set_last_retries(n);
    }

    /// Whether an earlier failure broke the session (a reconnect may mend it).
    pub fn is_broken(&self) -> bool {
        !self.client.0.lock().closed && self.channel().check_usable().is_err()
    }

    /// After the link failed: a new session to the same server by the same
    /// route, with the keys this connection verified and its credentials,
    /// in place of the broken one (transfer retries). The working
    /// directory, timeout and cd stack carry over, so the caller's handle
    /// works again. Refused after close, interrupt or a panic, while
    /// sftp_client's raw session is in use, and where no second login is
    /// possible (the application's socket, keyboard-interactive).
    ///
    /// One reconnect at a time: calls that fail together on one broken
    /// link all come here, and the first mends it; the others find a
    /// usable link in the slot and use it (Ok(false)). A `close` that
    /// comes meanwhile wins: what the reconnect built is torn down.
    pub fn reconnect(&self) -> Result<bool> {
        if let Some(why) = self.sole_connection() {
            return Err(Error::new(ErrorKind::Unsupported, why));
        }
        self.refuse_poisoned()?;
        let _one = self.reconnecting.lock();
        let timeout = {
            let c = self.client.0.lock();
            self.refuse_closed(&c)?;
            if self.channel().check_usable().is_ok() {
                log_to!(
                    self.log,
                    "connection to {} already reconnected by another call",
                    self.info.peer
                );
                return Ok(false);
            }
            if !c.raw_sftp.0.is_null() {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "no reconnect while the raw libssh2 session of psftp_sftp_client is in use",
                ));
            }
            c.timeout
        };
        // The old route's sockets are dead: shut them, so nothing waits on
        // them, and register the new route's with the same cutter, so an
        // interrupt from now on reaches it. (Only the old route's: no other
        // reconnect runs, `reconnecting` is held.)
        self.cutter.drop_sockets();
        let spec = self.again_spec();
        let est = establish(
            &spec,
            self.log.as_ref(),
            &self.redactor,
            self.cutter.clone(),
        )
        .map_err(|e| self.redactor.scrub_error(e))?;
        let (channel, _) = open_watched_channel(&est, spec.cnopts.stall_timeout, timeout)?;
        // Installed under the client state's lock, which `close` holds
        // while it marks the connection closed and takes the channel: one
        // of the two goes first, and a closed connection gets nothing new.
        let c = self.client.0.lock();
        if let Err(e) = self.refuse_closed(&c) {
            drop(c);
            self.cutter.cut();
            let mut link = est.link;
            link.close();
            drop(channel);
            log_to!(self.log, "reconnect to {} dropped: {}", self.info.peer, e);
            return Err(e);
        }
        // Calls still on the old channel fail as it is broken; new calls
        // take their port on this one.
        drop(std::mem::replace(&mut *self.sftp.write(), channel));
        let old = self
            .link
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(est.link);
        drop(c);
        if let Some(mut old) = old {
            old.close();
        }
        log_to!(self.log, "reconnected to {}", self.info.peer);
        Ok(true)
    }

    /// Closed or interrupted: no reconnect (checked under the state lock).
    fn refuse_closed(&self, c: &Client) -> Result<()> {
        if c.closed || self.is_interrupted() {
            return Err(Error::new(
                ErrorKind::ConnectionLost,
                format!("connection to {} is closed or interrupted", self.info.peer),
            ));
        }
        Ok(())
    }

    /// Why this connection can have no extra connections, if so: tree and
    /// split operations then run on it alone (their workers' failure to
    /// connect is not an error).
    fn sole_connection(&self) -> Option<&'static str> {
        if self.spec.socket.is_some() {
            return Some("no extra connection over the application's socket (it carries this one)");
        }
        // A worker has no callback to ask: it would answer a second
        // factor's prompt with the password, fail, and count as a failed
        // login (lockouts).
        self.kbdint_asked.then_some(
            "no extra connection: this one needed the keyboard-interactive callback \
             (a one-time code cannot be given twice)",
        )
    }

    /// Connect; no secret `redactor` knows (the password, passphrase and
    /// key of `spec`, keyboard-interactive answers) is in the error.
    fn connect_with_log(
        spec: ConnectSpec,
        log: Option<Arc<Logger>>,
        redactor: Redactor,
        cutter: Arc<Cutter>,
    ) -> Result<Connection> {
        Connection::connect_unscrubbed(spec, log, &redactor, cutter)
            .map_err(|e| redactor.scrub_error(e))
    }

    fn connect_unscrubbed(
        spec: ConnectSpec,
        log: Option<Arc<Logger>>,
        redactor: &Redactor,
        cutter: Arc<Cutter>,
    ) -> Result<Connection> {
        if spec.host.is_empty() {
            // pysftp raises ConnectionException for it: a connection error.
            return Err(Error::new(
                ErrorKind::Connect,
                "cannot connect: host is empty",
            ));
        }
        let est = establish(&spec, log.as_ref(), redactor, cutter).inspect_err(|e| {
            log_to!(log, "connect failed: {e}");
        })?;
        let peer = est.peer.clone();
        let (link, tick) =
            open_watched_channel(&est, spec.cnopts.stall_timeout, spec.cnopts.timeout)?;
        log_to!(
            log,
            "SFTP channel open; server '{}', extensions: {}",
            link.banner(),
            link.extension_names().join(", ")
        );
        for note in link.take_notes() {
            log_to!(log, "{note}");
        }
        let client = Arc::new((
            parking_lot::Mutex::new(Client {
                cwd: None,
                timeout: spec.cnopts.timeout,
                cd_stack: Vec::new(),
                raw_sftp: RawSftp(std::ptr::null_mut()),
                closed: false,
                active: 0,
                holder: None,
            }),
            parking_lot::Condvar::new(),
        ));
        let poisoned = Arc::new(OnceLock::new());
        let link: LinkSlot = Arc::new(parking_lot::RwLock::new(link));
        let keepalive =
            tick.and_then(|tick| KeepAlive::start(&client, &link, &poisoned, tick, log.clone()));
        let conn = Connection {
            info: ConnInfo {
                peer,
                username: est.username,
                server_key: est.server_key,
            },
            sftp: link,
            client,
            keepalive,
            cutter: est.link.cutter.clone(),
            link: Mutex::new(Some(est.link)),
            hop_keys: est.hop_keys,
            kbdint_asked: est.kbdint_asked,
            redactor: redactor.clone(),
            interrupted: AtomicBool::new(false),
            last_retries: AtomicU32::new(0),
            reconnecting: parking_lot::Mutex::new(()),
            poisoned,
            log,
            spec,
        };
        if let Some(path) = conn.spec.default_path.clone() {
            conn.chdir(Some(path.as_bytes()))?;
        }
        Ok(conn)
    }

    /// Run `f` as one call on the connection: with its own port on the
    /// shared SFTP channel, so calls from other threads (and from this
    /// call's callbacks) run at the same time. The client-side state (cwd)
    /// is the connection's as the call begins; what the call changes is
    /// stored back as it ends. Waits only while another thread holds the
    /// connection by `lock`.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        self.refuse_poisoned()?;
        let (_call, mut st) = self.enter()?;
        st.sftp
            .check_usable()
            .map_err(|e| self.explain_interrupt(e))?;
        let (cwd, cd_stack, timeout) = (st.cwd.clone(), st.cd_stack.clone(), st.timeout);
        let r = f(&mut st).map_err(|e| self.explain_interrupt(e));
        let cancelled = st.sftp.is_cancelled();
        {
            let mut c = self.client.0.lock();
            if st.cwd != cwd {
                c.cwd = std::mem::take(&mut st.cwd);
            }
            if st.cd_stack != cd_stack {
                c.cd_stack = std::mem::take(&mut st.cd_stack);
            }
            if st.timeout != timeout {
                c.timeout = st.timeout;
            }
        }
        drop(st);
        for note in self.channel().take_notes() {
            self.log(&note);
        }
        if cancelled {
            log_to!(self.log, "a call on {} was cancelled", self.info.peer);
        }
        r
    }

    /// Begin a call: wait while another thread holds the connection by
    /// `lock`, refuse a closed one; the call's state is a copy of the
    /// connection's.
    fn enter(&self) -> Result<(CallGuard<'_>, State)> {
        let me = std::thread::current().id();
        let (lock, cv) = &*self.client;
        let mut c = lock.lock();
        while c.holder.is_some_and(|(t, _)| t != me) && !c.closed {
            cv.wait(&mut c);
        }
        if c.closed {
            return Err(Error::new(
                ErrorKind::ConnectionLost,
                format!("connection to {} is closed", self.info.peer),
            ));
        }
        c.active += 1;
        let guard = CallGuard {
            client: &self.client,
            id: self.id(),
        };
        IN_CALL.with(|v| v.borrow_mut().push(self.id()));
        let mut sftp = self.channel().port();
        sftp.set_cancel(current_token());
        let st = State {
            sftp,
            cwd: c.cwd.clone(),
            timeout: c.timeout,
            cd_stack: c.cd_stack.clone(),
        };
        Ok((guard, st))
    }

    /// Abort whatever this connection is doing, from any thread: the socket
    /// is shut down, a call blocked on the network returns at once with
    /// Cancelled, and the connection is unusable afterwards (close it).
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.cutter.cut();
        log_to!(self.log, "connection to {} interrupted", self.info.peer);
    }

    /// The SFTP channel calls take their ports on now.
    fn channel(&self) -> Arc<SftpLink> {
        self.sftp.read().clone()
    }

    /// This connection's identity for the coordinator marks.
    fn id(&self) -> usize {
        Arc::as_ptr(&self.client) as usize
    }

    /// Mark the calling thread as the coordinator of a tree operation.
    pub fn mark_coordinator(&self) -> CoordinatorMark {
        COORDINATING.with(|c| c.borrow_mut().push(self.id()));
        CoordinatorMark(self.id())
    }

    /// `lock` from a callback (or a tree operation's progress callback)
    /// would wait for the call that runs it: refuse at once.
    fn refuse_in_call(&self, what: &str) -> Result<()> {
        let id = self.id();
        let coordinating = COORDINATING
            .try_with(|c| c.borrow().contains(&id))
            .unwrap_or(false);
        if coordinating || in_call(id) {
            return Err(Error::invalid_arg(
                "conn",
                format!(
                    "is in use by an unfinished call on this thread: a callback cannot {what} \
                     the connection whose call runs it (other calls on it are allowed)"
                ),
            ));
        }
        Ok(())
    }

    /// A call on this connection panicked (`why` is the panic's message):
    /// every later call fails with ConnectionLost saying so, and close()
    /// drops the link without a goodbye.
    pub fn poison(&self, why: &str) {
        if self.poisoned.set(why.to_string()).is_ok() {
            log_to!(
                self.log,
                "connection to {} poisoned by a panic: {why}",
                self.info.peer
            );
        }
    }

    fn refuse_poisoned(&self) -> Result<()> {
        match self.poisoned.get() {
            None => Ok(()),
            Some(why) => Err(Error::new(
                ErrorKind::ConnectionLost,
                format!(
                    "connection to {} is unusable: an earlier call on it panicked inside psftp \
                     ({why}), which may have left it mid-request; close it and connect again",
                    self.info.peer
                ),
            )),
        }
    }

    /// Closed by `close` (a retry then stops: close wins).
    pub fn is_closed(&self) -> bool {
        self.client.0.lock().closed
    }

    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// After `interrupt`, the failures it causes say so.
    fn explain_interrupt(&self, e: Error) -> Error {
        if self.interrupted.load(Ordering::SeqCst) && e.kind() == ErrorKind::ConnectionLost {
            return Error::new(
                ErrorKind::Cancelled,
                format!(
                    "connection to {} was interrupted (psftp_interrupt): {}",
                    self.info.peer,
                    e.message()
                ),
            );
        }
        e
    }

    /// Like `with`, but also on a broken (not closed) connection, for
    /// client-side state such as the cd stack.
    pub fn with_state_even_if_broken<R>(
        &self,
        f: impl FnOnce(&mut State) -> Result<R>,
    ) -> Result<R> {
        self.refuse_poisoned()?;
        let (_call, mut st) = self.enter()?;
        let (cwd, cd_stack) = (st.cwd.clone(), st.cd_stack.clone());
        let r = f(&mut st);
        let mut c = self.client.0.lock();
        if st.cwd != cwd {
            c.cwd = std::mem::take(&mut st.cwd);
        }
        if st.cd_stack != cd_stack {
            c.cd_stack = std::mem::take(&mut st.cd_stack);
        }
        r
    }

    pub fn log(&self, msg: &str) {
        if let Some(l) = &self.log {
            l.log(msg);
        }
    }

    /// pysftp `logfile`: the log's path, or None when not logging.
    pub fn logfile(&self) -> Option<String> {
        self.log.as_ref().map(|l| l.path().display().to_string())
    }

    /// pysftp `remote_server_key`.
    pub fn remote_server_key(&self) -> ServerKey {
        self.info.server_key.clone()
    }

    /// pysftp `active_ciphers`: (local = client to server, remote).
    pub fn active_ciphers(&self) -> Result<(String, String)> {
        self.active_pair(MethodType::CryptCs, MethodType::CryptSc)
    }

    /// pysftp `active_compression`: (local, remote).
    pub fn active_compression(&self) -> Result<(String, String)> {
        self.active_pair(MethodType::CompCs, MethodType::CompSc)
    }

    fn active_pair(&self, local: MethodType, remote: MethodType) -> Result<(String, String)> {
        self.with(|st| {
            let s = st.session();
            let get = |m| s.methods(m).unwrap_or("none").to_string();
            Ok((get(local), get(remote)))
        })
    }

    /// pysftp `security_options`: what libssh2 can negotiate, by kind.
    pub fn security_options(&self) -> Result<SecurityOptions> {
        self.with(|st| {
            let s = st.session();
            let list = |m| -> Result<Vec<String>> {
                Ok(s.supported_algs(m)
                    .map_err(|e| Error::new(ErrorKind::Ssh, e.to_string()))?
                    .into_iter()
                    .map(String::from)
                    .collect())
            };
            Ok(SecurityOptions {
                ciphers: list(MethodType::CryptCs)?,
                digests: list(MethodType::MacCs)?,
                key_types: list(MethodType::HostKey)?,
                kex: list(MethodType::Kex)?,
                compression: list(MethodType::CompCs)?,
            })
        })
    }

    /// pysftp `timeout` getter: seconds for a blocking read or write, None
    /// for no limit.
    pub fn timeout(&self) -> Result<Option<Duration>> {
        self.with(|st| Ok(st.timeout))
    }

    /// pysftp `timeout` setter.
    pub fn set_timeout(&self, t: Option<Duration>) -> Result<()> {
        self.with(|st| {
            st.session().set_timeout(millis(t));
            if let Some(live) = st.sftp.liveness() {
                live.set_limits(self.spec.cnopts.stall_timeout, t);
            }
            st.timeout = t;
            Ok(())
        })
    }

    /// pysftp `execute(command)`: stdout lines, then stderr lines (each with
    /// its newline), and the exit status.
    pub fn execute(&self, command: &str) -> Result<(Vec<String>, i32)> {
        let out = self.execute_bytes(command)?;
        let mut lines = split_lines(&out.stdout);
        lines.extend(split_lines(&out.stderr));
        Ok((lines, out.exit_status))
    }

    /// Run `command` on the server: its stdout and stderr as bytes (they
    /// may hold NULs or non-UTF-8 text) and its exit status. Other calls
    /// on the connection go on meanwhile. Not bounded by the stall timeout
    /// (a command may rightly stay silent for minutes): only by pysftp's
    /// `timeout` and dead-peer detection (keepalives).
    pub fn execute_bytes(&self, command: &str) -> Result<ExecOutput> {
        let out = self.with(|st| st.sftp.exec(command, usize::MAX, Limit::TimeoutOnly))?;
        log_to!(
            self.log,
            "execute '{command}': exit status {}",
            out.exit_status
        );
        Ok(out)
    }

    /// The user name the connection authenticated as (the given one, or
    /// the one taken from the environment).
    pub fn username(&self) -> &str {
        &self.info.username
    }

    /// The server as messages name it ("host:port").
    pub fn peer(&self) -> &str {
        &self.info.peer
    }

    /// pysftp `close()`: end the session; later calls fail with
    /// ConnectionLost.
    pub fn close(&self) {
        if let Some(k) = &self.keepalive {
            k.stop();
        }
        // From a callback: the call running it would never end.
        if in_call(self.id()) {
            return;
        }
        let me = std::thread::current().id();
        let (lock, cv) = &*self.client;
        let mut c = lock.lock();
        // Calls running on other threads end first (as they always did).
        while (c.active > 0 || c.holder.is_some_and(|(t, _)| t != me)) && !c.closed {
            cv.wait(&mut c);
        }
        if c.closed {
            return;
        }
        c.closed = true;
        cv.notify_all();
        let channel = self.channel();
        if channel.check_usable().is_ok() && self.poisoned.get().is_none() {
            // libssh2's channel close waits for the server's answer: on a
            // link that went silent (frozen, not yet found dead) the
            // goodbye would wait forever. It gets GOODBYE_LIMIT, then the
            // connection is cut as a broken one is.
            channel.session().set_timeout(millis(Some(GOODBYE_LIMIT)));
            close_raw_sftp(&mut c, &channel);
            if channel.shutdown() {
                let _ = channel
                    .session()
                    .disconnect(None, "psftp: connection closed", None);
            } else {
                self.cutter.cut();
            }
        } else {
            // A broken link gets no goodbye: libssh2 would wait out the
            // timeout for the server's replies when freeing channels.
            self.cutter.cut();
            close_raw_sftp(&mut c, &channel);
        }
        drop(c);
        // Jump hosts and a ProxyCommand end after the server's goodbye.
        if let Some(mut link) = self.link.lock().unwrap_or_else(|p| p.into_inner()).take() {
            link.close();
        }
        log_to!(self.log, "connection to {} closed", self.info.peer);
    }

    /// Hold the connection for the calling thread until `unlock`: calls
    /// from other threads wait (those running finish first), and the
    /// keepalive thread sends nothing, so the caller may use the raw
    /// libssh2 pointers of `sftp_client`. Re-entrant: this thread's own
    /// calls still work.
    pub fn lock(&self) -> Result<()> {
        self.refuse_poisoned()?;
        self.refuse_in_call("lock")?;
        let me = std::thread::current().id();
        let (lock, cv) = &*self.client;
        let mut c = lock.lock();
        loop {
            match c.holder {
                Some((t, n)) if t == me => {
                    c.holder = Some((t, n + 1));
                    return Ok(());
                }
                None if c.active == 0 => {
                    c.holder = Some((me, 1));
                    return Ok(());
                }
                _ => cv.wait(&mut c),
            }
        }
    }

    /// Refuse `what`, an operation whose work runs on other threads (a
    /// tree operation's workers), while the calling thread holds the
    /// connection by `lock`: those threads would wait for the unlock that
    /// this call keeps from coming.
    pub fn refuse_held_here(&self, what: &str) -> Result<()> {
        let me = std::thread::current().id();
        if self.client.0.lock().holder.is_some_and(|(t, _)| t == me) {
            return Err(Error::invalid_arg(
                "conn",
                format!(
                    "is locked by this thread (psftp_lock): {what} runs on worker threads, which \
                     would wait for psftp_unlock; unlock the connection first"
                ),
            ));
        }
        Ok(())
    }

    /// Release one `lock` of the calling thread.
    pub fn unlock(&self) -> Result<()> {
        let me = std::thread::current().id();
        let (lock, cv) = &*self.client;
        let mut c = lock.lock();
        match c.holder {
            Some((t, n)) if t == me => {
                c.holder = (n > 1).then_some((t, n - 1));
                cv.notify_all();
                Ok(())
            }
            _ => Err(Error::invalid_arg(
                "conn",
                "is not locked by this thread (psftp_lock and psftp_unlock pair up on one thread)",
            )),
        }
    }

    /// pysftp `sftp_client`: the libssh2 session and a libssh2 SFTP session
    /// opened on first use; both live until `close`.
    pub fn sftp_client(
        &self,
    ) -> Result<(
        *mut libssh2_sys::LIBSSH2_SESSION,
        *mut libssh2_sys::LIBSSH2_SFTP,
    )> {
        self.with(|st| {
            // The lock order (docs/concurrency.md): the client state, then
            // the link's writer, then the libssh2 session. Blocking, as
            // the caller's own libssh2 calls will expect.
            let mut c = self.client.0.lock();
            st.sftp.blocking(|session| {
                let mut guard = session.raw();
                let raw_session: *mut libssh2_sys::LIBSSH2_SESSION = &mut *guard;
                if c.raw_sftp.0.is_null() {
                    // SAFETY: raw_session is this connection's live
                    // session, and `guard` holds its lock during the call.
                    let p = unsafe { libssh2_sys::libssh2_sftp_init(raw_session) };
                    if p.is_null() {
                        return Err(Error::new(
                            ErrorKind::Ssh,
                            format!("libssh2_sftp_init on {} failed", self.info.peer),
                        ));
                    }
                    c.raw_sftp = RawSftp(p);
                }
                Ok((raw_session, c.raw_sftp.0))
            })
        })
    }
}

/// How long a close waits for the server to answer its goodbye.
const GOODBYE_LIMIT: Duration = Duration::from_secs(5);

fn close_raw_sftp(c: &mut Client, link: &SftpLink) {
    let p = std::mem::replace(&mut c.raw_sftp, RawSftp(std::ptr::null_mut())).0;
    if !p.is_null() {
        link.blocking(|session| {
            let _guard = session.raw();
            // SAFETY: `p` came from libssh2_sftp_init on this live
            // session, is shut down once (taken out of the state above),
            // under its lock.
            unsafe { libssh2_sys::libssh2_sftp_shutdown(p) };
        });
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.close();
    }
}

/// Lines of command output, each keeping its newline (Python readlines()).
fn split_lines(data: &[u8]) -> Vec<String> {
    data.split_inclusive(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect()
}

impl ExecOutput {
    /// pysftp's `execute` result: stdout, or stderr when stdout is empty.
    pub fn pysftp_output(&self) -> &[u8] {
        if self.stdout.is_empty() {
            &self.stderr
        } else {
            &self.stdout
        }
    }
}

/// pysftp `security_options`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityOptions {
    pub ciphers: Vec<String>,
    pub digests: Vec<String>,
    pub key_types: Vec<String>,
    pub kex: Vec<String>,
    pub compression: Vec<String>,
}
