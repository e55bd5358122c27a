//! pysftp's Connection: an authenticated SSH session with one SFTP channel,
//! a client-side working directory, and a lock that makes one connection
//! safe to share between threads.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use parking_lot::ReentrantMutex;
use ssh2::MethodType;

use super::connect::{establish, millis, ConnectSpec, Established};
use super::hostkeys::ServerKey;
use super::liveness::Liveness;
use super::log::Logger;
use super::route::{Cutter, Link};
use super::secret::Redactor;
use crate::error::{Error, ErrorKind, Result};
use crate::log_to;
use crate::sftp::SftpChannel;

/// Mutable per-connection state, reached only through `Connection::with`.
pub struct State {
    pub sftp: SftpChannel,
    /// pysftp/paramiko keep the working directory on the client: None until
    /// the first chdir.
    pub cwd: Option<Vec<u8>>,
    /// Lazily opened libssh2 SFTP session for `sftp_client`.
    pub raw_sftp: RawSftp,
    /// Last `timeout` set (pysftp attribute).
    pub timeout: Option<Duration>,
    /// Working directories saved by `cd_push`.
    pub cd_stack: Vec<Option<Vec<u8>>>,
    closed: bool,
}

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

type SharedState = Arc<ReentrantMutex<RefCell<State>>>;

pub struct Connection {
    spec: ConnectSpec,
    info: ConnInfo,
    log: Option<Arc<Logger>>,
    state: SharedState,
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
    /// How many `lock` calls are not yet matched by `unlock`; only the
    /// thread holding the state lock changes it.
    explicit_locks: AtomicUsize,
    /// Set when a call on this connection panicked: the panic may have left
    /// requests in flight or state half-changed, so no later call may use
    /// the session. Holds the panic's message.
    poisoned: Arc<OnceLock<String>>,
}

thread_local! {
    /// The connections whose tree operation this thread coordinates, most
    /// recent last: their progress callbacks run on this thread while
    /// workers hold the connection, so a call from such a callback into the
    /// same connection would wait for its own operation. Per thread, so
    /// that two threads running operations on one connection each keep
    /// their own mark (one slot per connection let one operation erase the
    /// other's). A const-initialized Vec: no lazy registration on first use
    /// beyond the destructor every thread-local with a heap buffer has
    /// (glibc keeps the library loaded until it has run).
    static COORDINATING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
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
        state: &SharedState,
        poisoned: &Arc<OnceLock<String>>,
        tick: Duration,
        log: Option<Arc<Logger>>,
    ) -> Option<KeepAlive> {
        let weak: Weak<ReentrantMutex<RefCell<State>>> = Arc::downgrade(state);
        let poisoned = poisoned.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::Builder::new()
            .name("psftp-keepalive".into())
            .spawn(move || loop {
                std::thread::park_timeout(tick);
                if stop2.load(Ordering::Relaxed) {
                    return;
                }
                let Some(state) = weak.upgrade() else {
                    return;
                };
                if poisoned.get().is_some() {
                    return;
                }
                if let Some(Err(e)) = keep_alive_if_idle(&state) {
                    log_to!(log, "{e}");
                    return;
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

/// Keep the connection alive unless a call is using it (None then).
fn keep_alive_if_idle(state: &ReentrantMutex<RefCell<State>>) -> Option<Result<()>> {
    let guard = state.try_lock()?;
    let mut st = guard.try_borrow_mut().ok()?;
    if st.closed {
        return None;
    }
    Some(st.sftp.keep_alive_idle())
}

/// Open the SFTP channel on a new session, within the connect deadline
/// and watched for stalls and a silent server; also the keepalive
/// thread's tick, if keepalives are on.
fn open_watched_channel(
    est: &Established,
    stall: Option<Duration>,
    timeout: Option<Duration>,
) -> Result<(SftpChannel, Option<Duration>)> {
    let (keepalive, count_max) = est.keepalive.unzip();
    let live = Liveness::new(&est.peer, stall, timeout, keepalive, count_max.unwrap_or(0));
    let tick = live.tick();
    est.session.set_timeout(millis(est.watchdog.remaining()));
    let sftp = SftpChannel::open(&est.session, &est.peer, Some(live))
        .map_err(|e| est.watchdog.explain(e, &est.peer))?;
    est.watchdog.finish();
    est.session.set_timeout(millis(timeout));
    Ok((sftp, tick))
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
        self.with_state_even_if_broken(|st| Ok(!st.closed && st.sftp.check_usable().is_err()))
            .unwrap_or(false)
    }

    /// After the link failed: a new session to the same server by the same
    /// route, with the keys this connection verified and its credentials,
    /// in place of the broken one (transfer retries). The working
    /// directory, timeout and cd stack carry over, so the caller's handle
    /// works again. Refused after close, interrupt or a panic, while
    /// sftp_client's raw session is in use, and where no second login is
    /// possible (the application's socket, keyboard-interactive).
    pub fn reconnect(&self) -> Result<()> {
        if let Some(why) = self.sole_connection() {
            return Err(Error::new(ErrorKind::Unsupported, why));
        }
        self.refuse_poisoned()?;
        let guard = self.state.lock();
        let mut st = guard.try_borrow_mut().map_err(|_| {
            Error::invalid_arg("conn", "is in use by an unfinished call on this thread")
        })?;
        if st.closed || self.is_interrupted() {
            return Err(Error::new(
                ErrorKind::ConnectionLost,
                format!("connection to {} is closed or interrupted", self.info.peer),
            ));
        }
        if !st.raw_sftp.0.is_null() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "no reconnect while the raw libssh2 session of psftp_sftp_client is in use",
            ));
        }
        // The old route's sockets are dead: shut them, so nothing waits on
        // them, and register the new route's with the same cutter, so an
        // interrupt from now on reaches it.
        self.cutter.drop_sockets();
        let spec = self.again_spec();
        let est = establish(
            &spec,
            self.log.as_ref(),
            &self.redactor,
            self.cutter.clone(),
        )
        .map_err(|e| self.redactor.scrub_error(e))?;
        let (sftp, _) = open_watched_channel(&est, spec.cnopts.stall_timeout, st.timeout)?;
        drop(std::mem::replace(&mut st.sftp, sftp));
        let old = self
            .link
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(est.link);
        if let Some(mut old) = old {
            old.close();
        }
        log_to!(self.log, "reconnected to {}", self.info.peer);
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
        let (mut sftp, tick) =
            open_watched_channel(&est, spec.cnopts.stall_timeout, spec.cnopts.timeout)?;
        log_to!(
            log,
            "SFTP channel open; server '{}', extensions: {}",
            sftp.banner(),
            sftp.extension_names().join(", ")
        );
        for note in sftp.take_notes() {
            log_to!(log, "{note}");
        }
        let state = Arc::new(ReentrantMutex::new(RefCell::new(State {
            sftp,
            cwd: None,
            raw_sftp: RawSftp(std::ptr::null_mut()),
            timeout: spec.cnopts.timeout,
            cd_stack: Vec::new(),
            closed: false,
        })));
        let poisoned = Arc::new(OnceLock::new());
        let keepalive =
            tick.and_then(|tick| KeepAlive::start(&state, &poisoned, tick, log.clone()));
        let conn = Connection {
            info: ConnInfo {
                peer,
                username: est.username,
                server_key: est.server_key,
            },
            state,
            keepalive,
            cutter: est.link.cutter.clone(),
            link: Mutex::new(Some(est.link)),
            hop_keys: est.hop_keys,
            kbdint_asked: est.kbdint_asked,
            redactor: redactor.clone(),
            interrupted: AtomicBool::new(false),
            last_retries: AtomicU32::new(0),
            explicit_locks: AtomicUsize::new(0),
            poisoned,
            log,
            spec,
        };
        if let Some(path) = conn.spec.default_path.clone() {
            conn.chdir(Some(path.as_bytes()))?;
        }
        Ok(conn)
    }

    /// Run `f` with exclusive use of the connection state. Other threads
    /// wait; a callback re-entering its own connection mid-operation gets an
    /// error instead of corrupting the request pipeline.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        self.refuse_poisoned()?;
        self.refuse_coordinator()?;
        let guard = self.state.lock();
        let mut st = guard.try_borrow_mut().map_err(|_| {
            Error::invalid_arg(
                "conn",
                "is in use by an unfinished call on this thread (a callback cannot use the connection that called it, except walktree's)",
            )
        })?;
        if st.closed {
            return Err(Error::new(
                ErrorKind::ConnectionLost,
                format!("connection to {} is closed", self.info.peer),
            ));
        }
        st.sftp
            .check_usable()
            .map_err(|e| self.explain_interrupt(e))?;
        let r = f(&mut st).map_err(|e| self.explain_interrupt(e));
        for note in st.sftp.take_notes() {
            self.log(&note);
        }
        r
    }

    /// Abort whatever this connection is doing, from any thread: the socket
    /// is shut down, a call blocked on the network returns at once with
    /// Cancelled, and the connection is unusable afterwards (close it).
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.cutter.cut();
        log_to!(self.log, "connection to {} interrupted", self.info.peer);
    }

    /// This connection's identity for the coordinator marks.
    fn id(&self) -> usize {
        Arc::as_ptr(&self.state) as usize
    }

    /// Mark the calling thread as the coordinator of a tree operation.
    pub fn mark_coordinator(&self) -> CoordinatorMark {
        COORDINATING.with(|c| c.borrow_mut().push(self.id()));
        CoordinatorMark(self.id())
    }

    /// A tree operation's progress callback calling into its own connection
    /// would wait for a worker holding it: refuse at once, as for get's
    /// callback.
    fn refuse_coordinator(&self) -> Result<()> {
        let id = self.id();
        let coordinating = COORDINATING
            .try_with(|c| c.borrow().contains(&id))
            .unwrap_or(false);
        if coordinating {
            return Err(Error::invalid_arg(
                "conn",
                "is in use by an unfinished call on this thread (a callback cannot use the connection that called it, except walktree's)",
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
        let guard = self.state.lock();
        let mut st = guard.try_borrow_mut().map_err(|_| {
            Error::invalid_arg("conn", "is in use by an unfinished call on this thread")
        })?;
        f(&mut st)
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
    /// may hold NULs or non-UTF-8 text) and its exit status.
    pub fn execute_bytes(&self, command: &str) -> Result<ExecOutput> {
        self.with(|st| {
            let peer = &self.info.peer;
            let fail = |e: ssh2::Error| {
                Error::new(
                    ErrorKind::Ssh,
                    format!("execute '{command}' on {peer}: {e}"),
                )
            };
            let mut ch = st.session().channel_session().map_err(fail)?;
            ch.exec(command).map_err(fail)?;
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            use std::io::Read;
            let io_fail = |e: std::io::Error| {
                Error::new(
                    ErrorKind::ConnectionLost,
                    format!("execute '{command}' on {peer}: {e}"),
                )
            };
            ch.read_to_end(&mut stdout).map_err(io_fail)?;
            ch.stderr().read_to_end(&mut stderr).map_err(io_fail)?;
            ch.wait_close().map_err(fail)?;
            let exit_status = ch.exit_status().map_err(fail)?;
            log_to!(self.log, "execute '{command}': exit status {exit_status}");
            Ok(ExecOutput {
                stdout,
                stderr,
                exit_status,
            })
        })
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
        let guard = self.state.lock();
        let Ok(mut st) = guard.try_borrow_mut() else {
            return;
        };
        if st.closed {
            return;
        }
        st.closed = true;
        if st.sftp.check_usable().is_ok() && self.poisoned.get().is_none() {
            close_raw_sftp(&mut st);
            st.sftp.shutdown();
            let _ = st
                .session()
                .disconnect(None, "psftp: connection closed", None);
        } else {
            // A broken link gets no goodbye: libssh2 would wait out the
            // timeout for the server's replies when freeing channels.
            self.cutter.cut();
            close_raw_sftp(&mut st);
        }
        drop(st);
        drop(guard);
        // Jump hosts and a ProxyCommand end after the server's goodbye.
        if let Some(mut link) = self.link.lock().unwrap_or_else(|p| p.into_inner()).take() {
            link.close();
        }
        log_to!(self.log, "connection to {} closed", self.info.peer);
    }

    /// Hold the connection for the calling thread until `unlock`: calls
    /// from other threads wait, and the keepalive thread sends nothing, so
    /// the caller may use the raw libssh2 pointers of `sftp_client`.
    /// Re-entrant: this thread's own calls still work.
    pub fn lock(&self) -> Result<()> {
        self.refuse_poisoned()?;
        self.refuse_coordinator()?;
        let guard = self.state.lock();
        if guard.try_borrow_mut().is_err() {
            // A callback of a call that is using the session right now.
            return Err(Error::invalid_arg(
                "conn",
                "is in use by an unfinished call on this thread (a callback cannot lock the connection that called it)",
            ));
        }
        std::mem::forget(guard);
        self.explicit_locks.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Release one `lock` of the calling thread.
    pub fn unlock(&self) -> Result<()> {
        let held_here = self.state.is_owned_by_current_thread()
            && self.explicit_locks.load(Ordering::SeqCst) > 0;
        if !held_here {
            return Err(Error::invalid_arg(
                "conn",
                "is not locked by this thread (psftp_lock and psftp_unlock pair up on one thread)",
            ));
        }
        self.explicit_locks.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: this thread holds the lock (checked above), once for the
        // guard `lock` forgot.
        unsafe { self.state.force_unlock() };
        Ok(())
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
            let session = st.session().clone();
            let mut guard = session.raw();
            let raw_session: *mut libssh2_sys::LIBSSH2_SESSION = &mut *guard;
            if st.raw_sftp.0.is_null() {
                // SAFETY: raw_session is this connection's live session,
                // and `guard` holds its lock during the call.
                let p = unsafe { libssh2_sys::libssh2_sftp_init(raw_session) };
                if p.is_null() {
                    return Err(Error::new(
                        ErrorKind::Ssh,
                        format!("libssh2_sftp_init on {} failed", self.info.peer),
                    ));
                }
                st.raw_sftp = RawSftp(p);
            }
            Ok((raw_session, st.raw_sftp.0))
        })
    }
}

fn close_raw_sftp(st: &mut State) {
    let p = std::mem::replace(&mut st.raw_sftp, RawSftp(std::ptr::null_mut())).0;
    if !p.is_null() {
        let _guard = st.session().raw();
        // SAFETY: `p` came from libssh2_sftp_init on this live session, is
        // shut down once (taken out of the state above), under its lock.
        unsafe { libssh2_sys::libssh2_sftp_shutdown(p) };
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

/// What a remote command wrote, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_status: i32,
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
