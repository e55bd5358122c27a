//! How a session reaches its server: TCP, a ProxyCommand, a socket the
//! caller connected, or a chain of jump hosts (ProxyJump); and the means to
//! cut or end that route.
//!
//! libssh2 runs a session over a socket descriptor (it calls send/recv on
//! it). A jump host's `direct-tcpip` channel is not a descriptor, so each
//! hop gets a UNIX socketpair: the next session runs over one end, and a
//! pump thread moves bytes between the other end and the channel, with the
//! hop's session in non-blocking mode and poll() on both descriptors. A
//! pump per hop keeps every session an ordinary blocking libssh2 session
//! (psftp's SFTP pipeline, timeouts and interrupt work unchanged), and a
//! socketpair is also exactly what a ProxyCommand child gets as its stdin
//! and stdout, with no pump at all. (libssh2's send/recv callbacks could
//! feed a session from a channel without threads, but a blocking read on
//! the outer session would then run inside the inner one's callback, and
//! shutdown(2) could no longer interrupt a blocked call.)
//!
//! Every descriptor of a route is registered with its `Cutter`:
//! psftp_interrupt shuts them all down, so each session and pump of the
//! chain fails at once. A graceful close ends the server's stream; each
//! pump then sends EOF and closes its channel, says goodbye to its hop and
//! shuts that hop's stream, which ends the pump before it, down to the TCP
//! connection or the ProxyCommand (which is then reaped, killed if it
//! lingers).

use std::io::{Read, Write};

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ssh2::{BlockDirections, Channel, Session};

use super::log::Logger;
use crate::error::{Error, ErrorKind, Result};
use crate::log_to;

/// The stream one SSH session runs over (libssh2 owns it once given).
#[derive(Debug)]
pub struct Stream(OwnedFd);

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

fn shutdown(fd: BorrowedFd<'_>) {
    // SAFETY: shutdown(2) touches no memory, and `fd` is open for as long
    // as it is borrowed. Errors (not a socket, not connected) are of no
    // interest.
    unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_RDWR) };
}

/// Send `session` a keepalive only when it can go out whole; Err when it
/// went out in part after all (the session can then send nothing more).
///
/// libssh2_keepalive_send ignores EAGAIN and returns 0, but a keepalive
/// sent in part stays the pending packet under the address of a buffer on
/// its stack: every later send of the session then fails with EAGAIN
/// ("Address is different"), for ever, and a caller that waits for the
/// socket to be writable spins. So only when no send of the session is
/// waiting and the socket has room (a packet this small then goes whole).
pub fn keepalive_if_room(session: &Session) -> std::result::Result<(), String> {
    keepalive_sent_if_room(session).map(|_| ())
}

/// libssh2's keepalive interval on the server's session, in seconds (its
/// shortest: it makes 1 into 2). psftp times the keepalives itself
/// (liveness.rs); libssh2 only refuses one within this of the last.
pub(crate) const LIBSSH2_KEEPALIVE_INTERVAL: u32 = 2;

/// keepalive_if_room, saying whether one went out: libssh2 sends none
/// before its own interval has passed since the last.
pub fn keepalive_sent_if_room(session: &Session) -> std::result::Result<bool, String> {
    let outbound = |s: &Session| {
        matches!(
            s.block_directions(),
            BlockDirections::Outbound | BlockDirections::Both
        )
    };
    if outbound(session) {
        return Ok(false);
    }
    let mut fds = [libc::pollfd {
        fd: session.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    }];
    // SAFETY: poll writes only the revents of the one entry of `fds`; it
    // does not wait (timeout 0).
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
    if rc != 1 || fds[0].revents & libc::POLLOUT == 0 {
        return Ok(false);
    }
    // A socket error shows in the next call that uses the session. The
    // seconds to the next keepalive are libssh2's whole interval only
    // right after one went out (keepalive.c).
    let sent = session
        .keepalive_send()
        .is_ok_and(|next| next >= LIBSSH2_KEEPALIVE_INTERVAL);
    if outbound(session) {
        return Err("a keepalive was sent only in part: libssh2 can send nothing more".into());
    }
    Ok(sent)
}

/// Shuts every socket of a route down, from any thread.
#[derive(Debug, Default)]
pub struct Cutter {
    fds: Mutex<Vec<OwnedFd>>,
    cut: AtomicBool,
}

impl Cutter {
    /// Keep a duplicate of `fd` to cut later (at once if already cut).
    pub fn add(&self, fd: BorrowedFd<'_>) -> Result<()> {
        let dup = fd
            .try_clone_to_owned()
            .map_err(|e| Error::new(ErrorKind::Connect, format!("duplicate a socket: {e}")))?;
        let mut fds = self.fds.lock().unwrap_or_else(|p| p.into_inner());
        // Checked under the lock `cut` takes: a socket added after a cut
        // is cut too.
        if self.cut.load(Ordering::SeqCst) {
            shutdown(dup.as_fd());
        }
        fds.push(dup);
        Ok(())
    }

    pub fn cut(&self) {
        let fds = self.fds.lock().unwrap_or_else(|p| p.into_inner());
        self.cut.store(true, Ordering::SeqCst);
        for fd in fds.iter() {
            shutdown(fd.as_fd());
        }
    }

    /// Shut down and let go of the sockets held so far (a route that
    /// failed, before a reconnect registers the new one's); a cut stays.
    pub fn drop_sockets(&self) {
        let mut fds = self.fds.lock().unwrap_or_else(|p| p.into_inner());
        for fd in fds.drain(..) {
            shutdown(fd.as_fd());
        }
    }
}

/// What keeps a route alive besides its sockets: pump threads and a
/// ProxyCommand child.
#[derive(Default)]
pub struct Chain {
    pumps: Vec<PumpThread>,
    child: Option<ProxyChild>,
}

/// A pump thread and a duplicate of the stream it feeds (the next
/// session's).
struct PumpThread {
    thread: JoinHandle<()>,
    above: OwnedFd,
}

impl Chain {
    /// End each pump's stream above and wait for it (each gives its hop at
    /// most `TEARDOWN`), innermost first, then reap the ProxyCommand.
    /// Ending the stream here, not only in Link::close, bounds the wait
    /// on every path: a route dropped because its session failed (no SFTP
    /// channel, no Link) would otherwise leave its pumps in poll forever.
    pub fn close(&mut self) {
        while let Some(p) = self.pumps.pop() {
            shutdown(p.above.as_fd());
            let _ = p.thread.join();
        }
        if let Some(c) = self.child.take() {
            c.reap();
        }
    }

    /// Why a ProxyCommand failed, when it did: its exit status and the
    /// end of what it wrote on stderr.
    pub fn proxy_diagnosis(&mut self) -> Option<String> {
        self.child.as_mut().map(ProxyChild::diagnosis)
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        self.close();
    }
}

/// A connected route: the server session's stream and what feeds it.
pub struct Link {
    pub cutter: Arc<Cutter>,
    /// A duplicate of the server session's stream.
    server: OwnedFd,
    chain: Chain,
}

impl Link {
    pub fn new(cutter: Arc<Cutter>, server: BorrowedFd<'_>, chain: Chain) -> Result<Link> {
        let server = server
            .try_clone_to_owned()
            .map_err(|e| Error::new(ErrorKind::Connect, format!("duplicate a socket: {e}")))?;
        Ok(Link {
            cutter,
            server,
            chain,
        })
    }

    /// After the server session said goodbye: end its stream, so the hops
    /// close in order, and wait for them.
    pub fn close(&mut self) {
        shutdown(self.server.as_fd());
        self.chain.close();
    }
}

/// TCP to `host`:`port`, its addresses raced (eyeballs.rs), resolution
/// included, by `deadline`; `limit` is the whole connect's, for messages.
pub fn tcp(
    host: &str,
    port: u16,
    deadline: Option<std::time::Instant>,
    limit: Option<Duration>,
) -> Result<Stream> {
    use super::eyeballs::{self, Failure};
    let peer = format!("{host}:{port}");
    match eyeballs::connect(host, port, deadline) {
        Ok((fd, _addr)) => Ok(Stream(fd)),
        Err(Failure::Resolve(e)) => Err(Error::new(
            ErrorKind::Connect,
            format!("cannot resolve host '{host}': {e}"),
        )),
        Err(Failure::NoAddresses) => Err(Error::new(
            ErrorKind::Connect,
            format!("host '{host}' has no addresses"),
        )),
        Err(Failure::TimedOut { resolving }) => {
            let secs = limit.map_or(0.0, |t| t.as_secs_f64());
            let what = if resolving { "resolving" } else { "connect to" };
            Err(Error::new(
                ErrorKind::Timeout,
                format!("{what} {peer} timed out after {secs:.1} s (the connect timeout)"),
            ))
        }
        Err(Failure::Refused(e)) => Err(Error::new(
            ErrorKind::Connect,
            format!("connect to {peer}: {e}"),
        )
        .with_os_errno(e.raw_os_error())),
    }
}

/// With keepalives every `every`: give up on a peer that leaves data
/// unacknowledged for `count` intervals (TCP_USER_TIMEOUT), which is what
/// ServerAliveCountMax is for (a dead host or link; a hung sshd process on
/// a live host is not detected this way). Only for TCP streams.
pub fn set_user_timeout(stream: &Stream, every: Duration, count: u32) {
    let ms = every
        .saturating_mul(count.max(1))
        .as_millis()
        .min(u32::MAX as u128) as libc::c_uint;
    // SAFETY: setsockopt reads a c_uint from `ms`, which lives across the
    // call and whose size is given; `stream` keeps its descriptor open. A
    // descriptor that is not TCP just fails.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            &ms as *const libc::c_uint as *const libc::c_void,
            std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
        )
    };
}

/// A duplicate of the caller's connected socket. psftp owns (and closes)
/// only its duplicate; the caller keeps theirs.
pub fn caller_socket(fd: &OwnedFd) -> Result<Stream> {
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes (a c_int's) into
    // `kind`, and `len` back; `fd` is open (an OwnedFd).
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            &mut kind as *mut libc::c_int as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 || kind != libc::SOCK_STREAM {
        return Err(Error::invalid_arg(
            "socket",
            format!(
                "descriptor {} is not a stream socket ({})",
                fd.as_raw_fd(),
                if rc != 0 {
                    std::io::Error::last_os_error().to_string()
                } else {
                    format!("SO_TYPE {kind}")
                }
            ),
        ));
    }
    let dup = fd
        .try_clone()
        .map_err(|e| Error::invalid_arg("socket", format!("cannot duplicate it: {e}")))?;
    Ok(Stream(dup))
}

/// A ProxyCommand child: its process group, and what it said on stderr.
struct ProxyChild {
    command: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

/// Bytes of a ProxyCommand's stderr kept for error messages.
const STDERR_TAIL: usize = 2048;

impl ProxyChild {
    /// The child's exit status once it has exited, without reaping it: an
    /// unreaped child keeps its pid, which is also its process group's id,
    /// so signals to the group can never reach a stranger that reused it.
    fn exit_status(&self) -> Option<ExitStatus> {
        // SAFETY: siginfo_t is plain data, for which all zeroes is a valid
        // value (and si_pid 0 is how WNOHANG says "not yet").
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes one siginfo_t into `info`, which is ours and
        // writable; WNOWAIT leaves the child unreaped for Child::wait.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                self.child.id(),
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: for a successful waitid of a child (SIGCHLD information)
        // si_pid and si_status are the fields the kernel filled.
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if rc != 0 || pid == 0 {
            return None;
        }
        // The wait(2) status word ExitStatus expects.
        Some(ExitStatus::from_raw(match info.si_code {
            libc::CLD_EXITED => (status & 0xff) << 8,
            libc::CLD_DUMPED => (status & 0x7f) | 0x80,
            _ => status & 0x7f,
        }))
    }

    fn wait_exit(&self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            let status = self.exit_status();
            if status.is_some() || Instant::now() >= deadline {
                return status;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Let the stderr reader reach the end of what the command wrote; a
    /// straggler that keeps stderr open is not waited for beyond `within`.
    fn wait_reader(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.reader.as_ref().is_some_and(|r| !r.is_finished()) {
            if Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }

    fn diagnosis(&mut self) -> String {
        // A command that failed usually exits at once: give it a moment.
        let status = self.wait_exit(Duration::from_millis(300));
        if status.is_some() {
            self.wait_reader(Duration::from_millis(300));
        }
        let said = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let said = said.trim();
        let status = match status {
            Some(s) => format!("exited ({s})"),
            None => "is still running".to_string(),
        };
        if said.is_empty() {
            format!("ProxyCommand '{}' {status}", self.command)
        } else {
            format!("ProxyCommand '{}' {status}: {said}", self.command)
        }
    }

    /// Wait a little for the child to leave by itself (its stdin is
    /// closed), then SIGTERM its process group, then SIGKILL; then end
    /// what is left of the group (a pipeline's stragglers) and reap.
    fn reap(mut self) {
        let pgid = self.child.id() as libc::pid_t;
        for signal in [None, Some(libc::SIGTERM), Some(libc::SIGKILL)] {
            if let Some(sig) = signal {
                // SAFETY: kill(2) touches no memory. The group is the one
                // the child leads (setpgid in proxy_command), and the child
                // is not reaped yet, so its id names no other group.
                unsafe { libc::kill(-pgid, sig) };
            }
            if self.wait_exit(Duration::from_millis(500)).is_some() {
                break;
            }
        }
        // SAFETY: as above: the leader is still unreaped.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
        self.wait_reader(Duration::from_millis(500));
    }
}

/// Start `command` (tokens already expanded) with one end of a socketpair
/// as its stdin and stdout, in its own process group; stderr is logged
/// and its tail kept for errors.
pub fn proxy_command(command: &str, chain: &mut Chain, log: Option<Arc<Logger>>) -> Result<Stream> {
    let fail = |e: std::io::Error| {
        Error::new(ErrorKind::Connect, format!("ProxyCommand '{command}': {e}"))
    };
    let (ours, theirs) = UnixStream::pair().map_err(fail)?;
    let theirs_out = theirs.try_clone().map_err(fail)?;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("exec {command}"))
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::from(OwnedFd::from(theirs_out)))
        .stderr(Stdio::piped());
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: setpgid is one, and nothing
    // allocates. It puts the command (and any pipeline it starts) in a
    // group of its own, so close can end it all.
    unsafe {
        cmd.pre_exec(|| {
            libc::setpgid(0, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(fail)?;
    let stderr = Arc::new(Mutex::new(String::new()));
    let reader = child.stderr.take().and_then(|mut err| {
        let (tail, label) = (stderr.clone(), command.to_string());
        std::thread::Builder::new()
            .name("psftp-proxycmd".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]);
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        log_to!(log, "ProxyCommand '{label}' stderr: {line}");
                    }
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    t.push_str(&text);
                    if t.len() > STDERR_TAIL {
                        let mut cut = t.len() - STDERR_TAIL;
                        while !t.is_char_boundary(cut) {
                            cut += 1;
                        }
                        t.drain(..cut);
                    }
                }
            })
            .ok()
    });
    chain.child = Some(ProxyChild {
        command: command.to_string(),
        child,
        stderr,
        reader,
    });
    Ok(Stream(OwnedFd::from(ours)))
}

/// An authenticated session with a jump host.
pub struct JumpHost {
    pub session: Session,
    /// The descriptor the session runs over.
    pub fd: RawFd,
    /// How messages name it.
    pub label: String,
    pub keepalive: Option<Duration>,
}

/// Open a `direct-tcpip` channel from the jump host to `host`:`port`
/// (resolved by the jump host) and return the stream the next session runs
/// over; a pump thread carries the bytes.
pub fn jump(
    hop: JumpHost,
    host: &str,
    port: u16,
    chain: &mut Chain,
    cutter: &Cutter,
    log: Option<Arc<Logger>>,
) -> Result<Stream> {
    let JumpHost {
        session,
        fd: session_fd,
        label,
        keepalive,
    } = hop;
    let channel = session
        .channel_direct_tcpip(host, port, None)
        .map_err(|e| {
            let kind = match e.code() {
                ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_TIMEOUT) => ErrorKind::Timeout,
                _ => ErrorKind::Connect,
            };
            Error::new(
                kind,
                format!(
                    "jump host {label} could not open a channel to {host}:{port}: {}",
                    e.message()
                ),
            )
        })?;
    let fail = |e: std::io::Error| {
        Error::new(
            ErrorKind::Connect,
            format!("jump host {label}: socketpair: {e}"),
        )
    };
    let (ours, theirs) = UnixStream::pair().map_err(fail)?;
    ours.set_nonblocking(true).map_err(fail)?;
    cutter.add(ours.as_fd())?;
    cutter.add(theirs.as_fd())?;
    let above = theirs.as_fd().try_clone_to_owned().map_err(fail)?;
    session.set_blocking(false);
    let mut pump = Pump {
        session,
        session_fd,
        channel,
        local: ours,
        up: Buf::default(),
        down: Buf::default(),
        pending: None,
        local_eof: false,
        remote_eof: false,
        keepalive,
        label: label.clone(),
        log,
    };
    let handle = std::thread::Builder::new()
        .name("psftp-jump".into())
        .spawn(move || pump.run())
        .map_err(fail)?;
    chain.pumps.push(PumpThread {
        thread: handle,
        above,
    });
    Ok(Stream(OwnedFd::from(theirs)))
}

/// Bytes read but not yet written.
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    at: usize,
}

/// Read at most this much from either side at a time.
const PUMP_CHUNK: usize = 64 * 1024;
/// How long a pump may spend on its goodbyes once its stream ended.
const TEARDOWN: Duration = Duration::from_secs(2);

impl Buf {
    fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }
    fn pending(&self) -> &[u8] {
        &self.data[self.at..]
    }
    fn consume(&mut self, n: usize) {
        self.at += n;
        if self.is_empty() {
            self.data.clear();
            self.at = 0;
        }
    }
}

/// A libssh2 call that returned EAGAIN while part of a packet was still
/// unsent: libssh2 must see that same call again before any other, or it
/// would finish the old packet and report it as the new one sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Write,
    Read,
    Eof,
    Close,
    Disconnect,
}

struct Pump {
    session: Session,
    session_fd: RawFd,
    channel: Channel,
    /// Our end of the socketpair the next session runs over.
    local: UnixStream,
    /// Next session -> channel.
    up: Buf,
    /// Channel -> next session.
    down: Buf,
    pending: Option<Op>,
    local_eof: bool,
    remote_eof: bool,
    keepalive: Option<Duration>,
    label: String,
    log: Option<Arc<Logger>>,
}

/// What a libssh2 call on the non-blocking session came to.
enum Step<T> {
    Done(T),
    Again,
    Failed(String),
}

impl Pump {
    fn run(&mut self) {
        let why = self.carry();
        log_to!(self.log, "jump host {}: tunnel ends: {why}", self.label);
        self.goodbye();
    }

    /// Whether another call than `op` must come first (a half-sent packet).
    fn blocked(&self, op: Op) -> bool {
        self.pending.is_some_and(|p| p != op)
    }

    /// The outcome of a libssh2 call `op`, keeping track of a half-sent
    /// packet.
    fn outcome<T>(&mut self, op: Op, r: std::io::Result<T>) -> Step<T> {
        match r {
            Ok(v) => {
                self.pending = None;
                Step::Done(v)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.pending = self.outbound_blocked().then_some(op);
                Step::Again
            }
            Err(e) => Step::Failed(e.to_string()),
        }
    }

    fn outbound_blocked(&self) -> bool {
        matches!(
            self.session.block_directions(),
            BlockDirections::Outbound | BlockDirections::Both
        )
    }

    fn channel_write(&mut self) -> Step<usize> {
        if self.blocked(Op::Write) {
            return Step::Again;
        }
        let r = self.channel.write(self.up.pending());
        self.outcome(Op::Write, r)
    }

    /// send(2) with MSG_NOSIGNAL: a host application that does not ignore
    /// SIGPIPE must not die because the session above went away.
    fn local_send(&self) -> std::io::Result<usize> {
        let data = self.down.pending();
        // SAFETY: send reads `data.len()` bytes from `data`, borrowed for
        // the call; `self.local` keeps the descriptor open.
        let n = unsafe {
            libc::send(
                self.local.as_raw_fd(),
                data.as_ptr() as *const libc::c_void,
                data.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Move bytes both ways until one side ends or fails.
    fn carry(&mut self) -> String {
        let mut scratch = vec![0u8; PUMP_CHUNK];
        loop {
            let mut progress = false;
            // Channel -> local.
            if self.down.is_empty() && !self.remote_eof && !self.blocked(Op::Read) {
                let r = self.channel.read(&mut scratch);
                match self.outcome(Op::Read, r) {
                    Step::Done(0) => {
                        self.remote_eof = true;
                        progress = true;
                    }
                    Step::Done(n) => {
                        self.down.data.extend_from_slice(&scratch[..n]);
                        progress = true;
                    }
                    Step::Again => {}
                    Step::Failed(e) => return format!("reading the channel failed: {e}"),
                }
            }
            if !self.down.is_empty() {
                match self.local_send() {
                    Ok(n) => {
                        self.down.consume(n);
                        progress = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return format!("the session above went away ({e})"),
                }
            }
            if self.remote_eof && self.down.is_empty() {
                return "the far end closed the channel".to_string();
            }
            // Local -> channel.
            if self.up.is_empty() && !self.local_eof {
                match self.local.read(&mut scratch) {
                    Ok(0) => {
                        self.local_eof = true;
                        progress = true;
                    }
                    Ok(n) => {
                        self.up.data.extend_from_slice(&scratch[..n]);
                        progress = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return format!("the session above went away ({e})"),
                }
            }
            if !self.up.is_empty() {
                match self.channel_write() {
                    Step::Done(n) => {
                        self.up.consume(n);
                        progress = true;
                    }
                    Step::Again => {}
                    Step::Failed(e) => return format!("writing the channel failed: {e}"),
                }
            }
            if self.local_eof && self.up.is_empty() {
                return "the session above closed".to_string();
            }
            if !progress {
                if let Err(why) = self.wait() {
                    return why;
                }
            }
        }
    }

    /// Block until a descriptor is ready (or a keepalive is due).
    fn wait(&mut self) -> std::result::Result<(), String> {
        let mut local_ev = 0;
        if self.up.is_empty() && !self.local_eof {
            local_ev |= libc::POLLIN;
        }
        if !self.down.is_empty() {
            local_ev |= libc::POLLOUT;
        }
        let mut session_ev = 0;
        if (self.down.is_empty() && !self.remote_eof) || !self.up.is_empty() {
            session_ev |= libc::POLLIN;
        }
        if self.pending.is_some() || self.outbound_blocked() {
            session_ev |= libc::POLLOUT;
        }
        let mut fds = [
            libc::pollfd {
                // A hung-up socket with nothing asked of it would wake
                // poll() at once, every time: leave it out.
                fd: if local_ev == 0 {
                    -1
                } else {
                    self.local.as_raw_fd()
                },
                events: local_ev,
                revents: 0,
            },
            libc::pollfd {
                fd: self.session_fd,
                events: session_ev,
                revents: 0,
            },
        ];
        let timeout = self
            .keepalive
            .map_or(-1, |k| k.as_millis().min(i32::MAX as u128) as i32);
        // SAFETY: poll writes only the revents of the 2 entries of `fds`,
        // which it is told the length of. A closed descriptor in it is
        // POLLNVAL, not a memory error.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            return match e.kind() {
                std::io::ErrorKind::Interrupted => Ok(()),
                _ => Err(format!("poll failed: {e}")),
            };
        }
        let broken = libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;
        if fds[1].revents & broken != 0 && fds[1].revents & libc::POLLIN == 0 {
            return Err("the connection to the jump host broke".to_string());
        }
        if rc == 0 && self.pending.is_none() {
            keepalive_if_room(&self.session)?;
        }
        Ok(())
    }

    /// Flush what the session above sent, then EOF, close, disconnect,
    /// within TEARDOWN; then end this hop's own stream so the pump below
    /// (or the ProxyCommand, or the TCP peer) sees the end too.
    fn goodbye(&mut self) {
        let deadline = Instant::now() + TEARDOWN;
        let mut stage = 0;
        let mut scratch = vec![0u8; PUMP_CHUNK];
        while stage < 4 && Instant::now() < deadline {
            // A channel read that was half-way through sending (a window
            // adjust) must be finished before any goodbye can go out; what
            // it reads has nowhere to go any more.
            let step = if self.pending == Some(Op::Read) {
                let r = self.channel.read(&mut scratch);
                match self.outcome(Op::Read, r) {
                    Step::Done(_) => continue,
                    other => other.map(|_| ()),
                }
            } else {
                self.goodbye_step(stage)
            };
            match step {
                Step::Done(()) => stage += 1,
                Step::Failed(_) => break,
                Step::Again => self.wait_briefly(),
            }
        }
        // SAFETY: shutdown(2) touches no memory; the hop session's
        // descriptor stays open until the session (which this pump owns) is
        // dropped, after this.
        unsafe { libc::shutdown(self.session_fd, libc::SHUT_RDWR) };
        let _ = self.local.shutdown(std::net::Shutdown::Both);
        // Freeing the channel and session must not wait on EAGAIN: with
        // the socket shut down every call fails at once.
        self.session.set_blocking(true);
    }

    /// Stage `stage` of the goodbye: flush, EOF, close, disconnect.
    fn goodbye_step(&mut self, stage: u8) -> Step<()> {
        loop {
            let step = match stage {
                0 if !self.up.is_empty() => match self.channel_write() {
                    Step::Done(n) => {
                        self.up.consume(n);
                        continue;
                    }
                    other => other.map(|_| ()),
                },
                0 => Step::Done(()),
                1 if self.blocked(Op::Eof) => Step::Again,
                1 => {
                    let r = self.channel.send_eof().map_err(Into::into);
                    self.outcome(Op::Eof, r)
                }
                2 if self.blocked(Op::Close) => Step::Again,
                2 => {
                    let r = self.channel.close().map_err(Into::into);
                    self.outcome(Op::Close, r)
                }
                _ if self.blocked(Op::Disconnect) => Step::Again,
                _ => {
                    let r = self
                        .session
                        .disconnect(None, "psftp: tunnel closed", None)
                        .map_err(Into::into);
                    self.outcome(Op::Disconnect, r)
                }
            };
            return step;
        }
    }

    /// Wait (at most 50 ms) for the session's socket to become ready in
    /// the direction libssh2 is blocked on; only that direction, or data
    /// waiting unread would wake poll at once, every time.
    fn wait_briefly(&self) {
        let events = match self.session.block_directions() {
            BlockDirections::Inbound => libc::POLLIN,
            BlockDirections::Outbound => libc::POLLOUT,
            BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
            _ => 0,
        };
        let mut fds = [libc::pollfd {
            fd: self.session_fd,
            events,
            revents: 0,
        }];
        // SAFETY: as in `wait`: one entry, ours and writable.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, 50) };
    }
}

impl<T> Step<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Step<U> {
        match self {
            Step::Done(v) => Step::Done(f(v)),
            Step::Again => Step::Again,
            Step::Failed(e) => Step::Failed(e),
        }
    }
}
