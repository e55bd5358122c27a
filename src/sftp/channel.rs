//! One SFTP subsystem channel over a libssh2 session, shared by every call
//! of a connection: request framing, request ids, bounds-checked reply
//! reading, and the routing of each reply to the call that sent the
//! request (docs/concurrency.md). Requests may be pipelined: queue several,
//! then collect the replies by id.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::codec::{self, decode_reply, decode_version, fxp, Encoder, Reply};
use super::request::{ext, LimitsOf, LinkOrder, Request};
use crate::core::liveness::{Limit, Liveness, RecvHook, WaitFailure};

mod exec;
use crate::error::{Error, ErrorKind, Result};
pub use exec::ExecOutput;

/// libssh2.h's code for a failed MAC check, which libssh2-sys does not export.
const LIBSSH2_ERROR_MAC_FAILURE: std::ffi::c_int = -52;

/// Receive window of the SFTP channel. It must exceed the bytes a pipeline
/// keeps in flight (64 MiB at most, `in_flight_budget`) so the server never
/// waits for a window adjust: libssh2 tops it up once a quarter is used.
pub(crate) const CHANNEL_WINDOW: u32 = 128 * 1024 * 1024;
/// libssh2 refuses packets above 40000 bytes, so keep the standard size.
const CHANNEL_PACKET: u32 = 32 * 1024;
/// Read and write size of a server that neither announces
/// limits@openssh.com nor is one psftp knows: the draft guarantees 32 KiB.
pub(crate) const DRAFT_IO_SIZE: u32 = 32 * 1024;
/// Upper bound on one read or write request. OpenSSH's sftp-server accepts
/// 256 KiB messages and announces 255 KiB of data.
pub(crate) const MAX_IO_SIZE: u32 = 255 * 1024;
/// The smallest cap a caller may put on requests (CnOpts::max_request_size).
pub(crate) const MIN_IO_CAP: u32 = 1024;

/// What psftp knows of a server implementation, by the SSH version banner
/// it sends (each fact from the implementation's sources).
struct KnownServer {
    banner_prefix: &'static str,
    /// Why it takes 255 KiB reads and writes without limits@openssh.com.
    io_size: &'static str,
    /// It runs one request at a time, in the order received, so a request
    /// may go out right behind those it depends on (see Quirks::in_order).
    in_order: bool,
}

const KNOWN_SERVERS: [KnownServer; 6] = [
    // sftp-server reads messages of up to 256 KiB and handles them one by
    // one as they come (process() in sftp-server.c).
    KnownServer {
        banner_prefix: "SSH-2.0-OpenSSH_",
        io_size: "OpenSSH's sftp-server takes 256 KiB messages",
        in_order: true,
    },
    // Dropbear runs OpenSSH's sftp-server.
    KnownServer {
        banner_prefix: "SSH-2.0-dropbear",
        io_size: "Dropbear runs OpenSSH's sftp-server",
        in_order: true,
    },
    // SFTPServer.start_subsystem reads a packet, handles it, then reads
    // the next; it takes any packet below 16 MiB.
    KnownServer {
        banner_prefix: "SSH-2.0-paramiko_",
        io_size: "paramiko's server takes packets up to 16 MiB",
        in_order: true,
    },
    // 4 MiB reads and writes (announced by newer versions); its
    // recv_packets awaits each request before it reads the next.
    KnownServer {
        banner_prefix: "SSH-2.0-AsyncSSH_",
        io_size: "asyncssh's server takes 4 MiB requests",
        in_order: true,
    },
    // pkg/sftp (rclone, SFTPGo): 256 KiB messages; reads are cut to 32 KiB
    // unless configured otherwise, which reads adapt to. Its packet
    // manager runs READs and WRITEs on 8 workers beside one worker for
    // everything else; only a CLOSE waits for the requests before it. So a
    // FSTAT, FSETSTAT or RENAME may run before earlier WRITEs have landed.
    KnownServer {
        banner_prefix: "SSH-2.0-Go",
        io_size: "pkg/sftp takes 256 KiB messages",
        in_order: false,
    },
    // ProFTPD mod_sftp: 512 KiB messages; sftp_fxp_handle_packet handles
    // each request to its end in the session's process.
    KnownServer {
        banner_prefix: "SSH-2.0-mod_sftp",
        io_size: "ProFTPD's mod_sftp takes 512 KiB messages",
        in_order: true,
    },
];

fn known_server(banner: &str) -> Option<&'static KnownServer> {
    KNOWN_SERVERS
        .iter()
        .find(|k| banner.starts_with(k.banner_prefix))
}

/// The read and write size of a server without limits@openssh.com, by its
/// implementation, and why. Unknown servers get the draft's 32 KiB. Reads
/// also adapt to servers that answer with less (see pipeline.rs).
fn io_size_by_banner(banner: &str) -> (u32, &'static str) {
    known_server(banner).map_or((DRAFT_IO_SIZE, "unknown server: the draft's 32 KiB"), |k| {
        (MAX_IO_SIZE, k.io_size)
    })
}

/// Whether the server is one known to run requests strictly in order.
fn in_order_by_banner(banner: &str) -> bool {
    known_server(banner).is_some_and(|k| k.in_order)
}

/// What psftp has learned about how this server departs from the draft.
#[derive(Debug, Clone, Copy)]
pub struct Quirks {
    /// The order the server reads SSH_FXP_SYMLINK's paths in, and whether
    /// a link made on this channel confirmed it.
    pub symlink_order: LinkOrder,
    pub symlink_order_confirmed: bool,
    /// False once posix-rename@openssh.com refused to replace an existing
    /// file (pkg/sftp request servers announce it without supporting it).
    pub posix_rename_replaces: bool,
    /// The server runs requests one at a time in the order it received
    /// them (OpenSSH, Dropbear, paramiko, asyncssh, ProFTPD: known by
    /// banner), so a request may be queued right behind those it depends
    /// on. Any other server may run data requests (READ, WRITE) alongside
    /// the others, as pkg/sftp does: there a request that depends on READs
    /// or WRITEs (the FSETSTAT, fsync, FSTAT and CLOSE of that handle) goes
    /// out only once their replies are in, and a MKDIR only once its
    /// parent's is answered.
    pub in_order: bool,
}

/// Who a request id's reply goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The port (one call) that sent it.
    Port(u64),
    /// Its call gave up on it: the reply is read and dropped.
    Abandoned,
}

/// One outstanding request: who gets the reply, and how many bytes of the
/// shared in-flight budget it holds until then.
#[derive(Clone, Copy)]
struct Route {
    owner: Owner,
    weight: usize,
}

/// The routing table of a link: which call each outstanding request id
/// belongs to, the replies read for calls that were not reading, and
/// whether some call is reading right now.
#[derive(Default)]
struct Table {
    routes: HashMap<u32, Route>,
    /// Replies read for a port by another port, in arrival order (a port
    /// without a mailbox is gone: its replies are dropped).
    mail: HashMap<u64, VecDeque<Vec<u8>>>,
    /// A port is reading the channel (the leader); the others wait.
    reading: bool,
    /// Ports waiting for the reader's turn (the idle keepalive gives it up
    /// to them after the packet it is reading).
    waiting: usize,
    /// The port whose reply the leader is reading now (its route already
    /// taken out of `routes`), and whether that port gave up on it
    /// meanwhile: then the reply is dropped, not left in its mailbox for
    /// the port's next request to mistake for its own.
    transit: Option<(u64, bool)>,
    /// Set once the byte stream can no longer be trusted (I/O failure,
    /// timeout mid-packet, malformed reply): every later call fails fast.
    broken: Option<Error>,
}

/// What the ports of a link learn and share (sizes, quirks, notes).
struct Learned {
    max_read: u32,
    max_write: u32,
    /// The shortest round trip of a single request seen so far: how deep
    /// the pipelines must be to keep the link full.
    min_rtt: Option<std::time::Duration>,
    /// The window the server gave the channel: what one connection can
    /// send per round trip (OpenSSH: 2 MiB). 0 when it said nothing.
    send_window: u32,
    quirks: Quirks,
    /// Things worth a line in the connection's log (sizes chosen, quirks
    /// met), collected until the connection takes them.
    notes: Vec<String>,
}

/// One SFTP subsystem channel shared by every call of a connection: the
/// multiplexer. Each call works through its own `SftpChannel` (a port):
/// it queues requests in its own buffer, sends them under the short write
/// lock, and gets the replies to its own request ids. Whoever needs a
/// reply and finds no one reading becomes the reader (the leader): it
/// reads one packet, keeps it if it is its own, else puts it in the
/// owning port's mailbox and wakes the waiting ports; then it gives up the
/// reading, so that a port whose reply came in goes on at once. libssh2
/// is not thread-safe per session: the ssh2 crate serializes every call
/// on the session, and psftp holds it per packet, never per call.
pub struct SftpLink {
    session: ssh2::Session,
    channel: Mutex<ssh2::Channel>,
    reader: Mutex<ssh2::Stream>,
    writer: Mutex<ssh2::Stream>,
    table: Mutex<Table>,
    wake: Condvar,
    next_id: AtomicU32,
    next_port: AtomicU64,
    /// Bytes of the in-flight budget held by outstanding bulk requests of
    /// every port (READ lengths, WRITE data): the channel's receive window
    /// must never fill, or a blocked write could wait for the server
    /// while the server waits for us to read.
    reserved: AtomicUsize,
    /// Ports running a bulk pipeline now: they share the budget.
    bulk: AtomicUsize,
    /// How fast the bulk replies come in: sizes the budget.
    rate: Mutex<Rate>,
    extensions: codec::Extensions,
    /// "host:port", for messages.
    peer: String,
    /// The server's SSH version banner.
    banner: String,
    learned: Mutex<Learned>,
    /// Waits out would-block reads and writes itself (stall timeout,
    /// keepalives while waiting); None: libssh2 blocks.
    live: Option<(Arc<Liveness>, RecvHook)>,
    /// How many of the link's reads and writes are under way in
    /// non-blocking mode (the session is blocking again when none is).
    nonblocking: Mutex<usize>,
    /// Held while an exec channel opens: libssh2 keeps the state of a
    /// channel being opened in the session, one at a time.
    opening: Mutex<()>,
}

/// The session in non-blocking mode while any of the link's reads or
/// writes needs it (a waiting link polls its socket itself; everything
/// else expects blocking calls). Counted: ports read and write at once.
struct NonBlocking<'a>(Option<&'a SftpLink>);

impl<'a> NonBlocking<'a> {
    fn new(link: &'a SftpLink) -> NonBlocking<'a> {
        if link.live.is_none() {
            return NonBlocking(None);
        }
        let mut n = link.nonblocking.lock();
        if *n == 0 {
            link.session.set_blocking(false);
        }
        *n += 1;
        NonBlocking(Some(link))
    }
}

impl Drop for NonBlocking<'_> {
    fn drop(&mut self) {
        if let Some(link) = self.0 {
            let mut n = link.nonblocking.lock();
            *n -= 1;
            if *n == 0 {
                link.session.set_blocking(true);
            }
        }
    }
}

/// What the reader's turn brought in.
enum Got {
    /// A reply to the reading port, of this length (in its buffer).
    Mine(usize),
    /// A reply for another port (now in its mailbox) or an abandoned one.
    Routed,
    /// Nothing had arrived (only when polling).
    Nothing,
}

/// One call's view of the link: the API every request and pipeline uses.
/// Requests queued here go out on `flush` (or when waiting for a reply);
/// `recv` returns the next reply to one of this port's requests. Dropping
/// a port abandons its outstanding requests: their replies are drained
/// and dropped as they arrive, and the link goes on.
pub struct SftpChannel {
    link: Arc<SftpLink>,
    port: u64,
    wbuf: Vec<u8>,
    /// Ids queued in `wbuf` and the budget each holds, registered with the
    /// routing table when they are sent.
    unsent: Vec<(u32, usize)>,
    /// Requests sent whose reply this port has not yet taken.
    outstanding: usize,
    /// The last reply's body.
    rbuf: Vec<u8>,
    /// Largest data length of one READ request.
    pub max_read: u32,
    /// Largest data length of one WRITE request.
    pub max_write: u32,
    /// How many connections split one transfer with this one (1 = none):
    /// they share the in-flight budget, which bounds memory.
    in_flight_share: usize,
    /// This port runs a bulk pipeline (counted in the link's `bulk`).
    is_bulk: bool,
    cancel: Option<CallCancel>,
}

/// A per-call cancellation flag: set from any thread, the call it was
/// given to stops at its next reply (or at once if it is waiting for one)
/// with Cancelled, abandoning its outstanding requests. The connection and
/// the other calls go on.
#[derive(Clone, Default, Debug)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The cancel token of one call from the application, shared by the ports
/// of its steps: once the token has stopped one of them, the call is
/// ending, and what it does from then on is its cleanup (closing its
/// handles, removing a part file), which the token no longer stops.
#[derive(Clone, Debug)]
pub struct CallCancel {
    token: CancelToken,
    fired: Arc<AtomicBool>,
}

impl CallCancel {
    pub fn new(token: CancelToken) -> CallCancel {
        CallCancel {
            token,
            fired: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether to stop the call now: its token is set and has not stopped
    /// it before.
    pub fn fire(&self) -> bool {
        self.token.is_cancelled() && !self.fired.swap(true, Ordering::SeqCst)
    }

    fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The application's token behind this call.
    pub fn token(&self) -> &CancelToken {
        &self.token
    }

    fn pending(&self) -> bool {
        !self.fired.load(Ordering::SeqCst)
    }
}

/// For reads that never give up before a whole packet has come.
fn never() -> bool {
    false
}

/// How often a port waiting for a reply someone else reads looks at its
/// cancel token.
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// The request id of a reply body (None if it is too short to have one).
fn reply_id(body: &[u8]) -> Option<u32> {
    body.get(1..5)
        .map(|b| u32::from_be_bytes(b.try_into().unwrap()))
}

/// The reader's turn: when it ends (also by unwinding), the next waiting
/// port may read.
struct Reading<'a>(&'a SftpLink);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.table.lock().reading = false;
        self.0.wake.notify_all();
    }
}

impl SftpLink {
    /// Open the "sftp" subsystem on an authenticated session and negotiate
    /// protocol version 3. With `live`, waits for the server are bounded
    /// by its stall limit and send its keepalives. `max_request` caps READ
    /// and WRITE requests below what the server accepts.
    pub fn open(
        session: &ssh2::Session,
        peer: &str,
        live: Option<Arc<Liveness>>,
        max_request: Option<u32>,
    ) -> Result<Arc<SftpLink>> {
        let ssh_fail = |what: &str, e: ssh2::Error| {
            Error::new(ErrorKind::Ssh, format!("{what} on {peer}: {e}"))
        };
        let mut channel = session
            .channel_open("session", CHANNEL_WINDOW, CHANNEL_PACKET, None)
            .map_err(|e| ssh_fail("opening a channel", e))?;
        channel
            .subsystem("sftp")
            .map_err(|e| ssh_fail("starting the sftp subsystem", e))?;
        let banner = session.banner().unwrap_or("").to_string();
        let send_window = channel.write_window().window_size_initial;
        let mut quirks = Quirks {
            symlink_order: LinkOrder::TargetFirst,
            symlink_order_confirmed: false,
            posix_rename_replaces: true,
            in_order: in_order_by_banner(&banner),
        };
        // asyncssh's server reads SYMLINK in the draft's order unless the
        // client says it is OpenSSH (libssh2 does not); the first link made
        // confirms or corrects this guess either way.
        if banner.starts_with("SSH-2.0-AsyncSSH_") {
            quirks.symlink_order = LinkOrder::LinkFirst;
        }
        let mut link = SftpLink {
            session: session.clone(),
            reader: Mutex::new(channel.stream(0)),
            writer: Mutex::new(channel.stream(0)),
            channel: Mutex::new(channel),
            table: Mutex::new(Table::default()),
            wake: Condvar::new(),
            next_id: AtomicU32::new(1),
            next_port: AtomicU64::new(1),
            reserved: AtomicUsize::new(0),
            bulk: AtomicUsize::new(0),
            rate: Mutex::new(Rate::default()),
            extensions: Vec::new(),
            peer: peer.to_string(),
            banner,
            learned: Mutex::new(Learned {
                max_read: DRAFT_IO_SIZE,
                max_write: DRAFT_IO_SIZE,
                min_rtt: None,
                send_window,
                quirks,
                notes: Vec::new(),
            }),
            live: live.map(|l| {
                let hook = l.hook(session);
                (l, hook)
            }),
            nonblocking: Mutex::new(0),
            opening: Mutex::new(()),
        };
        if !quirks.in_order {
            let note = format!(
                "requests that depend on reads or writes wait for their replies: the server \
                 ('{}') is not one known to run requests in order",
                link.banner
            );
            link.note(note);
        }
        link.extensions = link.version_exchange()?;
        let link = Arc::new(link);
        link.apply_limits(max_request)?;
        Ok(link)
    }

    /// INIT and VERSION, before any port exists.
    fn version_exchange(&self) -> Result<codec::Extensions> {
        let mut wbuf = Vec::new();
        let mut init = Encoder::new(&mut wbuf, fxp::INIT, None);
        init.u32(3);
        init.finish();
        self.write_all(&wbuf)?;
        let mut len = [0u8; 4];
        self.read_or_fail(&mut self.reader.lock(), &mut len, never)?;
        let len = self.check_len(u32::from_be_bytes(len) as usize)?;
        let mut body = vec![0u8; len];
        self.read_or_fail(&mut self.reader.lock(), &mut body, never)?;
        let (version, extensions) = decode_version(&body)?;
        if version < 3 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{} speaks SFTP version {version}; psftp needs version 3",
                    self.peer
                ),
            ));
        }
        Ok(extensions)
    }

    /// A new port for one call.
    pub fn port(self: &Arc<Self>) -> SftpChannel {
        let port = self.next_port.fetch_add(1, Ordering::Relaxed);
        self.table.lock().mail.insert(port, VecDeque::new());
        let (max_read, max_write) = {
            let l = self.learned.lock();
            (l.max_read, l.max_write)
        };
        SftpChannel {
            link: self.clone(),
            port,
            wbuf: Vec::new(),
            unsent: Vec::new(),
            outstanding: 0,
            rbuf: Vec::new(),
            max_read,
            max_write,
            in_flight_share: 1,
            is_bulk: false,
            cancel: None,
        }
    }

    /// Whether the server announced `name` (for example
    /// "posix-rename@openssh.com").
    pub fn has_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|(n, _)| n == name)
    }

    pub fn extension_names(&self) -> Vec<String> {
        self.extensions.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The server's SSH version banner ("SSH-2.0-OpenSSH_9.2p1 ...").
    pub fn banner(&self) -> &str {
        &self.banner
    }

    /// Choose the read and write sizes: what limits@openssh.com announces,
    /// else what the server's implementation is known to accept; at most
    /// the caller's `cap`.
    fn apply_limits(self: &Arc<Self>, cap: Option<u32>) -> Result<()> {
        // Zero means "no limit"; anything is capped at what we send anyway.
        let pick = |v: u64| {
            if v == 0 {
                MAX_IO_SIZE
            } else {
                v.min(MAX_IO_SIZE as u64) as u32
            }
        };
        let limits = if self.has_extension(ext::LIMITS) {
            match self.port().call(&LimitsOf) {
                Ok(l) => Some(l),
                // A refused or garbled answer: use what the server is.
                Err(_) if self.check_usable().is_ok() => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let (max_read, max_write, why) = if let Some(limits) = limits {
            (
                pick(limits.max_read),
                pick(limits.max_write),
                "announced by limits@openssh.com".to_string(),
            )
        } else {
            let (size, why) = io_size_by_banner(&self.banner);
            (size, size, format!("{why} ('{}')", self.banner))
        };
        let (max_read, max_write, why) = match cap {
            Some(cap) if cap < max_read.max(max_write) => (
                max_read.min(cap),
                max_write.min(cap),
                format!("max_request_size {cap} (the server's limit: {why})"),
            ),
            _ => (max_read, max_write, why),
        };
        {
            let mut l = self.learned.lock();
            l.max_read = max_read;
            l.max_write = max_write;
        }
        self.note(format!(
            "SFTP requests of up to {max_read} bytes read, {max_write} bytes written: {why}"
        ));
        Ok(())
    }

    /// Keep `line` for the connection's log.
    pub fn note(&self, line: impl Into<String>) {
        let mut l = self.learned.lock();
        // Bounded: a connection without a log never takes them.
        if l.notes.len() < 64 {
            l.notes.push(line.into());
        }
    }

    /// The notes since the last call.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut self.learned.lock().notes)
    }

    /// Run `f`, which uses the session outside this channel with
    /// blocking libssh2 calls (sftp_client's libssh2_sftp_init), alone on
    /// the session:
    /// every read and write of the link runs under the write lock, held
    /// here, and the session is blocking meanwhile (non-blocking again
    /// after, if a port's read is under way). The link's calls wait.
    pub fn blocking<R>(&self, f: impl FnOnce(&ssh2::Session) -> R) -> R {
        let _w = self.writer.lock();
        let n = self.nonblocking.lock();
        if *n > 0 {
            self.session.set_blocking(true);
        }
        let r = f(&self.session);
        if *n > 0 {
            self.session.set_blocking(false);
        }
        r
    }

    /// What watches this link's server, if anything.
    pub fn liveness(&self) -> Option<&Arc<Liveness>> {
        self.live.as_ref().map(|(l, _)| l)
    }

    /// Fail fast if an earlier error broke the stream, or the server was
    /// given up while the connection was idle.
    pub fn check_usable(&self) -> Result<()> {
        match &self.table.lock().broken {
            None => match self.liveness().and_then(|l| l.dead()) {
                Some(why) => Err(Error::new(ErrorKind::ConnectionLost, why.to_string())),
                None => Ok(()),
            },
            Some(e) => Err(self.unusable(e)),
        }
    }

    /// The error of a call that was waiting for another port's reading
    /// when the link broke: a stall is its stall too (Timeout); anything
    /// else left the link unusable.
    fn broke_while_waiting(&self, e: &Error) -> Error {
        match e.kind() {
            ErrorKind::Timeout => Error::new(ErrorKind::Timeout, e.message().to_string()),
            _ => self.unusable(e),
        }
    }

    fn unusable(&self, e: &Error) -> Error {
        Error::new(
            ErrorKind::ConnectionLost,
            format!(
                "connection to {} is unusable after an earlier error: {e}",
                self.peer
            ),
        )
    }

    /// Mark the stream broken (the first error is kept) and wake every
    /// waiting port; hand `err` back.
    fn fail(&self, err: Error) -> Error {
        let mut t = self.table.lock();
        let e = mark_broken(&mut t.broken, err);
        self.wake.notify_all();
        e
    }

    /// Map an I/O failure of the channel to Timeout or ConnectionLost and
    /// mark the channel broken.
    fn io_failure(&self, doing: &str, e: std::io::Error) -> Error {
        let session_code = match ssh2::Error::last_session_error(&self.session).map(|x| x.code()) {
            Some(ssh2::ErrorCode::Session(code)) => code,
            _ => 0,
        };
        let timed_out = e.kind() == std::io::ErrorKind::TimedOut
            || session_code == libssh2_sys::LIBSSH2_ERROR_TIMEOUT;
        let tampered = [
            libssh2_sys::LIBSSH2_ERROR_DECRYPT,
            libssh2_sys::LIBSSH2_ERROR_INVALID_MAC,
            LIBSSH2_ERROR_MAC_FAILURE,
        ]
        .contains(&session_code);
        let err = if tampered {
            Error::new(
                ErrorKind::Ssh,
                format!(
                    "data from {} failed its integrity check (corrupted or altered in transit); \
                     the connection is closed",
                    self.peer
                ),
            )
        } else if timed_out {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "timed out {doing} {}: no data within the timeout",
                    self.peer
                ),
            )
        } else {
            Error::new(
                ErrorKind::ConnectionLost,
                format!("connection lost {doing} {}: {e}", self.peer),
            )
        };
        self.fail(err)
    }

    fn write_all(&self, data: &[u8]) -> Result<()> {
        let mut w = self.writer.lock();
        let res = self.send_all(&mut w, data);
        // Hand the session to a waiting writer or reader (a stat behind a
        // transfer's pipeline) rather than barging back in.
        parking_lot::MutexGuard::unlock_fair(w);
        res
    }

    /// Write all of `data` while holding the writer: libssh2 keeps a packet
    /// sent in part and must finish it before anything else is sent, so
    /// no read (which may send a window adjust) runs in between.
    fn send_all(&self, w: &mut ssh2::Stream, data: &[u8]) -> Result<()> {
        let _nb = NonBlocking::new(self);
        let mut sent = 0;
        let mut since = Instant::now();
        while sent < data.len() {
            match w.write(&data[sent..]) {
                Ok(0) => {
                    let e = std::io::Error::from(std::io::ErrorKind::WriteZero);
                    return Err(self.io_failure("sending to", e));
                }
                Ok(n) => {
                    sent += n;
                    since = Instant::now();
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && self.live.is_some() => {
                    // The writer is held: a keepalive may go out only if
                    // no packet is half sent (keepalive_sent_if_room).
                    self.wait("sending to", since, true)?
                }
                Err(e) => return Err(self.io_failure("sending to", e)),
            }
        }
        Ok(())
    }

    /// Wait for the socket after a would-block, within the stall limit,
    /// sending keepalives meanwhile (only with the writer held by the
    /// caller, `writer_held`, or free to take: never into a half-sent
    /// packet of another port). A failure breaks the link and wakes every
    /// waiting port.
    fn wait(&self, doing: &str, since: Instant, writer_held: bool) -> Result<()> {
        self.wait_for(since, writer_held, Limit::Stall)
            .map_err(|f| self.fail(f.into_error(doing, &self.peer)))
    }

    /// `wait` without its verdict on the link: the caller decides.
    fn wait_for(
        &self,
        since: Instant,
        writer_held: bool,
        limit: Limit,
    ) -> std::result::Result<(), WaitFailure> {
        let Some((live, _)) = &self.live else {
            return Ok(());
        };
        let keep_alive = || {
            if writer_held {
                return live.keep_alive(&self.session);
            }
            match self.writer.try_lock() {
                Some(_w) => live.keep_alive(&self.session),
                // A writer is at work: it waits (and keeps alive) itself.
                None => live.check_dead(),
            }
        };
        live.wait_with(&self.session, since, limit, keep_alive)
    }

    /// Read all of `buf` from the reader stream (held by the caller).
    /// Each read holds the writer too (see send_all), and keeps it while
    /// libssh2 has a packet of its own half sent (a window adjust).
    /// Returns Ok(false), having read nothing, if nothing at all had
    /// arrived when `give_up()` said so (it is asked each time the socket
    /// is quiet: at least every POLL_CAP).
    fn read_exact_live(
        &self,
        stream: &mut ssh2::Stream,
        buf: &mut [u8],
        give_up: impl Fn() -> bool,
    ) -> Result<bool> {
        let _nb = NonBlocking::new(self);
        let mut got = 0;
        let mut since = Instant::now();
        let mut w = None;
        while got < buf.len() {
            if w.is_none() {
                w = Some(self.writer.lock());
            }
            match stream.read(&mut buf[got..]) {
                Ok(0) => {
                    let err = Error::new(
                        ErrorKind::ConnectionLost,
                        format!(
                            "connection to {} lost: the server closed the SFTP channel",
                            self.peer
                        ),
                    );
                    return Err(self.fail(err));
                }
                Ok(n) => {
                    got += n;
                    since = Instant::now();
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && self.live.is_some() => {
                    let sending = matches!(
                        self.session.block_directions(),
                        ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
                    );
                    if !sending {
                        if got == 0 && give_up() {
                            return Ok(false);
                        }
                        w = None;
                    }
                    self.wait("reading from", since, w.is_some())?
                }
                Err(e) => return Err(self.io_failure("reading from", e)),
            }
        }
        Ok(true)
    }

    fn read_or_fail(
        &self,
        stream: &mut ssh2::Stream,
        buf: &mut [u8],
        give_up: impl Fn() -> bool,
    ) -> Result<bool> {
        self.read_exact_live(stream, buf, give_up)
    }

    fn check_len(&self, len: usize) -> Result<usize> {
        if (5..=codec::MAX_PACKET).contains(&len) {
            return Ok(len);
        }
        let err = Error::new(
            ErrorKind::Sftp,
            format!(
                "malformed SFTP reply from {}: packet length {len}",
                self.peer
            ),
        );
        Err(self.fail(err))
    }

    /// As the leader: read one packet. Mine(length) if it answers `me`
    /// (the body is then in `mine`), Routed if it went to another port or
    /// was dropped; Nothing if no packet had begun to arrive when
    /// `give_up()` said so (see read_exact_live).
    fn read_one(&self, me: u64, mine: &mut Vec<u8>, give_up: impl Fn() -> bool) -> Result<Got> {
        let mut stream = self.reader.lock();
        let mut head = [0u8; 9];
        if !self.read_or_fail(&mut stream, &mut head, give_up)? {
            return Ok(Got::Nothing);
        }
        let len = self.check_len(u32::from_be_bytes(head[..4].try_into().unwrap()) as usize)?;
        let id = u32::from_be_bytes(head[5..9].try_into().unwrap());
        let route = {
            let mut t = self.table.lock();
            let route = t.routes.remove(&id);
            t.transit = match &route {
                Some(Route {
                    owner: Owner::Port(p),
                    ..
                }) if *p != me => Some((*p, false)),
                _ => None,
            };
            route
        };
        let Some(route) = route else {
            let err = Error::new(
                ErrorKind::Sftp,
                format!(
                    "malformed SFTP reply from {}: a reply to request {id}, which was never sent",
                    self.peer
                ),
            );
            return Err(self.fail(err));
        };
        self.reserved.fetch_sub(route.weight, Ordering::Relaxed);
        if route.weight > 0 {
            let rtt = self.learned().min_rtt;
            self.rate
                .lock()
                .delivered(route.weight, rtt, Instant::now());
        }
        let mut other = Vec::new();
        let body = if route.owner == Owner::Port(me) {
            mine
        } else {
            &mut other
        };
        body.resize(len, 0);
        body[..5].copy_from_slice(&head[4..]);
        self.read_or_fail(&mut stream, &mut body[5..], never)?;
        parking_lot::MutexGuard::unlock_fair(stream);
        match route.owner {
            Owner::Port(p) if p == me => Ok(Got::Mine(len)),
            Owner::Port(p) => {
                let mut t = self.table.lock();
                let given_up = t.transit.take().is_some_and(|(_, gave_up)| gave_up);
                if let (false, Some(q)) = (given_up, t.mail.get_mut(&p)) {
                    q.push_back(other);
                }
                Ok(Got::Routed)
            }
            Owner::Abandoned => Ok(Got::Routed),
        }
    }

    /// While no port is reading: take in what the server sent (replies to
    /// keepalives, which the receive hook stamps, and replies for ports
    /// that are not reading yet) without waiting, give a silent server
    /// up, and send a keepalive when one is due. A port that is reading
    /// does all this itself while it waits.
    pub fn keep_alive_idle(&self) -> Result<()> {
        self.check_usable()?;
        let Some((live, _)) = &self.live else {
            return Ok(());
        };
        {
            let mut t = self.table.lock();
            if t.reading {
                return Ok(());
            }
            t.reading = true;
        }
        let _reading = Reading(self);
        // Ports start at 1: nothing is "mine" here. Only what has arrived,
        // and only until a port wants the reader's turn: a transfer's
        // pipeline reads its own replies (one packet's wait at most).
        let mut none = Vec::new();
        while let Got::Mine(_) | Got::Routed = self.read_one(0, &mut none, || true)? {
            if self.table.lock().waiting > 0 {
                return Ok(());
            }
        }
        let Some(_w) = self.writer.try_lock() else {
            return Ok(());
        };
        let _nb = NonBlocking::new(self);
        live.keep_alive(&self.session)
            .map_err(|f| self.fail(f.into_error("waiting for", &self.peer)))
    }

    fn learned(&self) -> parking_lot::MutexGuard<'_, Learned> {
        self.learned.lock()
    }

    /// The SSH session this channel runs on.
    pub fn session(&self) -> &ssh2::Session {
        &self.session
    }

    /// Close the channel politely (best effort); false if the server did
    /// not answer (within the session's timeout).
    pub fn shutdown(&self) -> bool {
        let answered = {
            let mut ch = self.channel.lock();
            ch.send_eof().is_ok() && ch.close().is_ok()
        };
        let closed = Error::new(ErrorKind::ConnectionLost, "connection closed".to_string());
        let _ = self.fail(closed);
        answered
    }
}

impl SftpChannel {
    /// Stop this call when its token is cancelled.
    pub fn set_cancel(&mut self, cancel: Option<CallCancel>) {
        self.cancel = cancel;
    }

    /// Whether the server announced `name` (for example
    /// "posix-rename@openssh.com").
    pub fn has_extension(&self, name: &str) -> bool {
        self.link.has_extension(name)
    }

    pub fn quirks(&self) -> Quirks {
        self.link.learned().quirks
    }

    /// Change what the link knows of the server's quirks.
    pub fn update_quirks(&mut self, f: impl FnOnce(&mut Quirks)) {
        f(&mut self.link.learned().quirks)
    }

    /// Keep `line` for the connection's log.
    pub fn note(&mut self, line: impl Into<String>) {
        self.link.note(line)
    }

    /// A READ came back with `got` bytes although more of the file was
    /// there: the server caps reads. Later reads ask for that much (never
    /// below the draft's 32 KiB), so each is answered in full.
    pub(crate) fn reads_capped_at(&mut self, got: u32) {
        let size = got.max(DRAFT_IO_SIZE);
        if size < self.max_read {
            self.max_read = size;
            let mut l = self.link.learned();
            if size < l.max_read {
                l.max_read = size;
                drop(l);
                let line = format!("the server shortens reads: reading {size} bytes per request");
                self.note(line);
            }
        }
    }

    /// Fail fast if an earlier error broke the stream.
    pub fn check_usable(&self) -> Result<()> {
        self.link.check_usable()
    }

    /// The link this port is on, for handles that outlive one call.
    pub fn link_ref(&self) -> Weak<SftpLink> {
        Arc::downgrade(&self.link)
    }

    /// Whether this port is on `link` (a handle from another link names
    /// nothing here, or another file: servers reuse handle values).
    pub fn is_on(&self, link: &Weak<SftpLink>) -> bool {
        std::ptr::eq(Arc::as_ptr(&self.link), link.as_ptr())
    }

    /// What watches the link's server, if anything.
    pub fn liveness(&self) -> Option<&Arc<Liveness>> {
        self.link.liveness()
    }

    /// SftpLink::blocking.
    pub fn blocking<R>(&self, f: impl FnOnce(&ssh2::Session) -> R) -> R {
        self.link.blocking(f)
    }

    /// SftpLink::exec.
    pub fn exec(&self, command: &str, limit: usize, bound: Limit) -> Result<ExecOutput> {
        self.link.exec(command, limit, bound)
    }

    fn take_id(&mut self) -> u32 {
        self.link.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Queue a request; it is sent by the next `flush` or `recv`. Returns
    /// its id; decode the reply to it with `req.decode`.
    pub fn send<R: Request>(&mut self, req: &R) -> u32 {
        self.send_weighted(req, 0)
    }

    /// `send` for a bulk request holding `weight` bytes of the in-flight
    /// budget until its reply is read (a READ's length).
    pub fn send_weighted<R: Request>(&mut self, req: &R, weight: usize) -> u32 {
        let id = self.take_id();
        let mut e = Encoder::new(&mut self.wbuf, R::KIND, Some(id));
        req.encode(&mut e);
        e.finish();
        self.queued(id, weight);
        id
    }

    fn queued(&mut self, id: u32, weight: usize) {
        self.unsent.push((id, weight));
        self.link.reserved.fetch_add(weight, Ordering::Relaxed);
    }

    /// Queue a WRITE of up to `max` bytes that `fill` puts straight into the
    /// send buffer (no intermediate copy). Returns the request id and the
    /// byte count, or None when `fill` had nothing left.
    pub fn queue_write(
        &mut self,
        handle: &[u8],
        offset: u64,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize>,
    ) -> Result<Option<(u32, usize)>> {
        let start = self.wbuf.len();
        // An id taken and not used is harmless: ids only need be unique.
        let id = self.take_id();
        let mut e = Encoder::new(
            &mut self.wbuf,
            <super::request::Write<'_> as Request>::KIND,
            Some(id),
        );
        e.string(handle).u64(offset);
        let buf = e.buffer();
        let len_at = buf.len();
        buf.resize(len_at + 4 + max, 0);
        let n = match fill(&mut buf[len_at + 4..]) {
            Ok(n) if n > 0 => n.min(max),
            other => {
                self.wbuf.truncate(start);
                return other.map(|_| None);
            }
        };
        buf.truncate(len_at + 4 + n);
        buf[len_at..len_at + 4].copy_from_slice(&(n as u32).to_be_bytes());
        e.finish();
        self.queued(id, n);
        Ok(Some((id, n)))
    }

    /// Bytes queued but not yet sent.
    pub fn queued_bytes(&self) -> usize {
        self.wbuf.len()
    }

    /// Send what is queued. The ids are routed to this port before the
    /// requests leave, so a reply can never beat its route.
    pub fn flush(&mut self) -> Result<()> {
        self.check_usable()?;
        if self.wbuf.is_empty() {
            return Ok(());
        }
        {
            let mut t = self.link.table.lock();
            for (id, weight) in self.unsent.drain(..) {
                let owner = Owner::Port(self.port);
                t.routes.insert(id, Route { owner, weight });
                self.outstanding += 1;
            }
        }
        let res = self.link.write_all(&self.wbuf);
        self.wbuf.clear();
        res
    }

    /// Wait for the next reply to one of this port's requests; returns the
    /// length of its body, now in `rbuf`.
    fn next_packet(&mut self) -> Result<usize> {
        if self.outstanding == 0 {
            return Err(Error::new(
                ErrorKind::Sftp,
                "internal error: waiting for a reply with no request in flight".to_string(),
            ));
        }
        let link = self.link.clone();
        let mut t = link.table.lock();
        loop {
            if let Some(packet) = t.mail.get_mut(&self.port).and_then(VecDeque::pop_front) {
                self.outstanding -= 1;
                self.rbuf = packet;
                return Ok(self.rbuf.len());
            }
            if let Some(e) = &t.broken {
                return Err(link.broke_while_waiting(e));
            }
            // (The link is not broken: checked just above.)
            if self.cancel.as_ref().is_some_and(CallCancel::fire) {
                drop(t);
                // Its replies are dropped as they come: the port's cleanup
                // requests start clean.
                self.abandon();
                return Err(self.cancelled());
            }
            if !t.reading {
                t.reading = true;
                drop(t);
                let got = {
                    let _reading = Reading(&link);
                    // A cancelled call gives the reader's turn up between
                    // packets, so a cancel stops it even on a frozen link.
                    let cancel = self.cancel.as_ref();
                    link.read_one(self.port, &mut self.rbuf, || {
                        cancel.is_some_and(|c| c.is_cancelled() && c.pending())
                    })
                };
                t = link.table.lock();
                match got {
                    Ok(Got::Mine(len)) => {
                        self.outstanding -= 1;
                        return Ok(len);
                    }
                    Ok(Got::Routed | Got::Nothing) => continue,
                    Err(e) => return Err(e),
                }
            }
            t.waiting += 1;
            if self.cancel.as_ref().is_some_and(CallCancel::pending) {
                link.wake.wait_for(&mut t, CANCEL_POLL);
            } else {
                link.wake.wait(&mut t);
            }
            t.waiting -= 1;
        }
    }

    fn cancelled(&self) -> Error {
        Error::new(
            ErrorKind::Cancelled,
            format!(
                "call on {} cancelled (its cancel token was set)",
                self.link.peer
            ),
        )
    }

    /// Whether this call's cancel token is set.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CallCancel::is_cancelled)
    }

    /// Whether to stop the call now: its token is set and has not stopped
    /// it before. A broken link fails the call with its own error instead.
    fn cancel_now(&mut self) -> bool {
        self.cancel.as_ref().is_some_and(CallCancel::fire) && self.check_usable().is_ok()
    }

    /// Receive the next reply to this port's requests, whichever it
    /// answers.
    pub fn recv(&mut self) -> Result<(u32, Reply<'_>)> {
        self.flush()?;
        let len = self.next_packet()?;
        let link = &self.link;
        decode_reply(&self.rbuf[..len]).map_err(|e| link.fail(e))
    }

    /// Send one request and wait for its reply. Nothing else of this port
    /// may be in flight.
    pub fn call<R: Request>(&mut self, req: &R) -> Result<R::Output<'_>> {
        self.check_usable()?;
        if self.cancel_now() {
            return Err(self.cancelled());
        }
        let id = self.send(req);
        self.flush()?;
        let sent = std::time::Instant::now();
        let mut len = self.next_packet()?;
        // Replies to this port's earlier requests that a failure left
        // unread (the ids are this port's, so nothing else) are skipped.
        while self.outstanding > 0 && reply_id(&self.rbuf[..len]) != Some(id) {
            len = self.next_packet()?;
        }
        let rtt = sent.elapsed();
        {
            let mut l = self.link.learned();
            l.min_rtt = Some(l.min_rtt.map_or(rtt, |m| m.min(rtt)));
        }
        let link = &self.link;
        match decode_reply(&self.rbuf[..len]) {
            Ok((got, reply)) if got == id => req.decode(reply),
            Ok((got, _)) => {
                let err = Error::new(
                    ErrorKind::Sftp,
                    format!(
                        "malformed SFTP reply from {}: reply to request {got}, expected {id}",
                        link.peer
                    ),
                );
                Err(link.fail(err))
            }
            Err(e) => Err(link.fail(e)),
        }
    }

    /// Send `req` and do not wait for its reply, which is dropped when it
    /// arrives (as for abandoned requests): a cancelled call's cleanup (the
    /// CLOSE of its handles) must not wait on a link that may be frozen.
    /// The server still runs the request, in order after the earlier ones.
    pub fn send_unanswered<R: Request>(&mut self, req: &R) -> Result<()> {
        self.check_usable()?;
        self.send(req);
        self.flush()?;
        self.abandon();
        Ok(())
    }

    /// The shortest round trip seen so far (None before the first call).
    pub fn min_rtt(&self) -> Option<std::time::Duration> {
        self.link.learned().min_rtt
    }

    /// The server's window for this channel (0: not given).
    pub fn send_window(&self) -> u32 {
        self.link.learned().send_window
    }

    /// Bytes a pipeline should keep in flight: the link's bandwidth-delay
    /// product (the rate bulk replies come in at x the round trip) with
    /// room to grow, so the link stays full while the server's queue, which
    /// every other call's request waits behind, stays short. A share of it
    /// when `parts` connections move one file together.
    pub fn in_flight_bytes(&self) -> usize {
        let rate = self.link.rate.lock().bytes_per_sec(Instant::now());
        let pipelines = self.link.bulk.load(Ordering::Relaxed);
        in_flight_budget(self.min_rtt(), rate, self.in_flight_share, pipelines)
    }

    /// Keep 1/`parts` of the in-flight budget (1 restores all of it).
    pub fn share_in_flight(&mut self, parts: usize) {
        self.in_flight_share = parts;
    }

    /// Count this port among the link's bulk pipelines until `end_bulk`
    /// (or drop): they share the in-flight budget fairly.
    pub fn begin_bulk(&mut self) {
        if !self.is_bulk {
            self.is_bulk = true;
            self.link.bulk.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn end_bulk(&mut self) {
        if self.is_bulk {
            self.is_bulk = false;
            self.link.bulk.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Whether a bulk pipeline holding `own` bytes in flight may send one
    /// more request of `len` bytes: within its fair share of the budget
    /// (the budget split between the link's pipelines) and within the
    /// budget overall. A pipeline with nothing in flight always may.
    pub fn may_send_bulk(&self, own: usize, len: usize) -> bool {
        if own == 0 {
            return true;
        }
        let budget = self.in_flight_bytes();
        let pipelines = self.link.bulk.load(Ordering::Relaxed).max(1);
        let share = (budget / pipelines).max(2 * len);
        own + len <= share && self.link.reserved.load(Ordering::Relaxed) + len <= budget
    }

    /// Read and discard the replies to this port's outstanding requests,
    /// so that nothing of an abandoned pipeline lands later (a WRITE after
    /// the file's CLOSE).
    pub fn drain(&mut self) -> Result<()> {
        self.flush()?;
        while self.outstanding > 0 {
            if self.is_cancelled() {
                // Cancelled: leave the replies to whoever reads next.
                self.abandon();
                return Ok(());
            }
            self.next_packet()?;
        }
        Ok(())
    }

    /// Give up on every outstanding request: their replies are dropped as
    /// they arrive.
    fn abandon(&mut self) {
        self.wbuf.clear();
        let mut unsent = std::mem::take(&mut self.unsent);
        let mut t = self.link.table.lock();
        for (_, weight) in unsent.drain(..) {
            self.link.reserved.fetch_sub(weight, Ordering::Relaxed);
        }
        if self.outstanding > 0 {
            let me = Owner::Port(self.port);
            for route in t.routes.values_mut().filter(|r| r.owner == me) {
                route.owner = Owner::Abandoned;
            }
            self.outstanding = 0;
        }
        if let Some(q) = t.mail.get_mut(&self.port) {
            q.clear();
        }
        if let Some((port, gave_up)) = &mut t.transit {
            *gave_up |= *port == self.port;
        }
    }

    /// The SSH session this channel runs on.
    pub fn session(&self) -> &ssh2::Session {
        self.link.session()
    }
}

impl Drop for SftpChannel {
    fn drop(&mut self) {
        self.abandon();
        self.end_bulk();
        self.link.table.lock().mail.remove(&self.port);
    }
}

/// Remember the first error that broke the stream; hand `err` back.
fn mark_broken(broken: &mut Option<Error>, err: Error) -> Error {
    if broken.is_none() {
        *broken = Some(err.clone());
    }
    err
}

/// How fast bulk replies (READ data, WRITE acknowledgements) come in over
/// a link: the best rate of the recent windows, each about a round trip
/// long, decaying when the link slows. Gaps between transfers are not
/// counted as slowness, and an old rate is forgotten.
#[derive(Default)]
struct Rate {
    window_start: Option<Instant>,
    bytes: usize,
    /// Bytes per second, and when it was last measured.
    best: Option<(f64, Instant)>,
}

impl Rate {
    /// A window lasts a round trip (so a burst per round trip is averaged
    /// out), at least 10 ms.
    const MIN_WINDOW: Duration = Duration::from_millis(10);
    /// Each window keeps this much of the best rate before it.
    const DECAY: f64 = 0.9;
    /// A rate older than this says nothing about the link now.
    const STALE: Duration = Duration::from_secs(1);

    fn delivered(&mut self, bytes: usize, rtt: Option<Duration>, now: Instant) {
        let window = rtt.unwrap_or_default().max(Self::MIN_WINDOW);
        let Some(start) = self.window_start else {
            // The first reply only starts the clock: its bytes were asked
            // for before it.
            self.window_start = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(start);
        if elapsed > 4 * window {
            // Idle in between: start over.
            self.window_start = Some(now);
            self.bytes = 0;
            return;
        }
        self.bytes += bytes;
        if elapsed >= window {
            let sample = self.bytes as f64 / elapsed.as_secs_f64();
            let kept = self.rate_at(now).map_or(0.0, |r| r * Self::DECAY);
            self.best = Some((sample.max(kept), now));
            self.window_start = Some(now);
            self.bytes = 0;
        }
    }

    fn rate_at(&self, now: Instant) -> Option<f64> {
        self.best
            .filter(|(_, at)| now.saturating_duration_since(*at) < Self::STALE)
            .map(|(r, _)| r)
    }

    fn bytes_per_sec(&self, now: Instant) -> Option<f64> {
        self.rate_at(now)
    }
}

/// See `SftpChannel::in_flight_bytes`: for a link that moves `rate` bytes
/// per second (None: not measured yet) over a round trip of `min_rtt`, with
/// `pipelines` bulk transfers sharing it.
fn in_flight_budget(
    min_rtt: Option<Duration>,
    rate: Option<f64>,
    share: usize,
    pipelines: usize,
) -> usize {
    // Where the round trip is nothing (loopback), what the stages of a
    // pipeline (server read, encrypt, send, decrypt, write) hold: 2 MiB
    // for one transfer (1 GiB get as fast as with 4 MiB, and a stat behind
    // it waits half as long), 1 MiB more per transfer beside it, since
    // each also spends time opening and closing (8 threads of 4 MiB gets
    // and puts on one connection: 87 MB/s with 2 MiB, 115 MB/s with 4).
    const FLOOR: usize = 2 * 1024 * 1024;
    const FLOOR_SHARED: usize = 4 * 1024 * 1024;
    const PER_PIPELINE: usize = 1024 * 1024;
    // Room to grow over the measured bandwidth-delay product: a link
    // limited by the budget itself doubles it each round trip.
    const GAIN: f64 = 2.0;
    // One connection over a long link: 512 MiB get at 100 ms moved ~610
    // MB/s once 64 MiB were in flight (24 MiB: 195 MB/s for the whole get;
    // 128 MiB: no faster), its peak RSS still 10 MiB, since each reply is
    // written out as it comes.
    const MAX: usize = 64 * 1024 * 1024;
    // All the connections of one split file together (an upload's 16
    // connections at 100 ms: 8 MiB each, over OpenSSH's 2 MiB window).
    const MAX_SHARED: usize = 128 * 1024 * 1024;
    // Before the first measurement: what the link would need at ~700 MB/s.
    const ASSUMED: f64 = 700e6;
    let rtt = min_rtt.map_or(0.0, |d| d.as_secs_f64());
    let share = share.max(1);
    let floor = (pipelines.saturating_sub(1) * PER_PIPELINE + FLOOR).min(FLOOR_SHARED);
    let budget = match rate {
        // The rate is this link's own, already its part of a split file's:
        // the share only bounds memory.
        Some(r) => floor.max((GAIN * r * rtt) as usize).min(MAX_SHARED / share),
        // The whole file's guess, split between its connections.
        None => (FLOOR + (ASSUMED * rtt) as usize).min(MAX_SHARED) / share,
    };
    budget.clamp(FLOOR, MAX)
}

#[cfg(test)]
mod tests {
    use super::{
        in_flight_budget, in_order_by_banner, io_size_by_banner, Rate, DRAFT_IO_SIZE, MAX_IO_SIZE,
    };

    #[test]
    fn only_servers_known_to_run_requests_in_order_get_dependent_requests_pipelined() {
        for banner in [
            "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
            "SSH-2.0-dropbear_2022.83",
            "SSH-2.0-paramiko_3.5.1",
            "SSH-2.0-AsyncSSH_2.24.1",
            "SSH-2.0-mod_sftp",
        ] {
            assert!(in_order_by_banner(banner), "{banner}");
        }
        // pkg/sftp runs READ and WRITE concurrently with the rest; an
        // unknown server may too.
        for banner in [
            "SSH-2.0-Go",
            "SSH-2.0-SFTPGo_2.6.0",
            "SSH-2.0-psftp matrix",
            "",
        ] {
            assert!(!in_order_by_banner(banner), "{banner}");
        }
    }

    #[test]
    fn known_servers_get_large_requests_unknown_ones_the_drafts_32_kib() {
        for banner in [
            "SSH-2.0-OpenSSH_7.4",
            "SSH-2.0-paramiko_3.5.1",
            "SSH-2.0-AsyncSSH_2.10.1",
            "SSH-2.0-Go",
            "SSH-2.0-mod_sftp",
            "SSH-2.0-dropbear_2022.83",
        ] {
            assert_eq!(io_size_by_banner(banner).0, MAX_IO_SIZE, "{banner}");
        }
        for banner in ["SSH-2.0-WeirdFTP", "", "SSH-2.0-OpenSSH"] {
            assert_eq!(io_size_by_banner(banner).0, DRAFT_IO_SIZE, "{banner}");
        }
    }
    use std::time::{Duration, Instant};

    const MIB: usize = 1024 * 1024;

    #[test]
    fn the_in_flight_budget_follows_the_bandwidth_delay_product_and_is_shared() {
        let ms = Duration::from_millis;
        let b = |rtt, rate, share| in_flight_budget(rtt, rate, share, 1);
        // Not measured yet: what a 700 MB/s link would need (the floor on
        // loopback).
        assert_eq!(b(None, None, 1), 2 * MIB);
        assert_eq!(
            b(Some(Duration::from_micros(50)), None, 1),
            2 * MIB + 35_000
        );
        assert_eq!(b(Some(ms(20)), None, 1), 2 * MIB + 14_000_000);
        // Measured: twice the bandwidth-delay product, so a link moving
        // 300 MB/s over 20 ms keeps 12 MB in flight, not 16 MiB, and one
        // on loopback the floor.
        let wan = b(Some(ms(20)), Some(300e6), 1);
        assert_eq!(wan, 12_000_000);
        assert_eq!(b(Some(Duration::from_micros(50)), Some(1e9), 1), 2 * MIB);
        assert_eq!(b(Some(Duration::from_secs(1)), Some(1e9), 1), 64 * MIB);
        // Several transfers on one link: a higher floor, up to 4 MiB.
        let loopback = Some(Duration::from_micros(50));
        assert_eq!(in_flight_budget(loopback, Some(1e9), 1, 2), 3 * MIB);
        assert_eq!(in_flight_budget(loopback, Some(1e9), 1, 8), 4 * MIB);
        assert_eq!(in_flight_budget(Some(ms(20)), Some(300e6), 1, 8), wan);
        // Four connections splitting a file: before a measurement they
        // share the guess, never less than the floor each...
        assert_eq!(b(Some(ms(20)), None, 4), (2 * MIB + 14_000_000) / 4);
        assert_eq!(b(Some(ms(5)), None, 4), 2 * MIB);
        // ...then each follows its own rate (already a part of the file's).
        assert_eq!(b(Some(ms(60)), Some(50e6), 4), 6_000_000);
        assert_eq!(b(Some(ms(20)), Some(300e6), 0), wan);
        // However long the link, the connections of one file hold at most
        // 128 MiB together.
        assert_eq!(b(Some(ms(100)), Some(1e9), 4), 32 * MIB);
        assert_eq!(b(Some(ms(100)), None, 4), (2 * MIB + 70_000_000) / 4);
        assert_eq!(b(Some(ms(100)), Some(1e9), 16), 8 * MIB);
    }

    #[test]
    fn the_rate_is_the_best_recent_window_and_forgets_idle_time_and_old_news() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut r = Rate::default();
        let rtt = Some(ms(20));
        // The first reply starts the clock.
        r.delivered(1_000_000, rtt, t0);
        assert_eq!(r.bytes_per_sec(t0), None);
        r.delivered(1_000_000, rtt, t0 + ms(10));
        r.delivered(1_000_000, rtt, t0 + ms(20));
        assert_eq!(r.bytes_per_sec(t0 + ms(20)), Some(100e6));
        // A slower window keeps most of the best one.
        r.delivered(200_000, rtt, t0 + ms(40));
        assert_eq!(r.bytes_per_sec(t0 + ms(40)), Some(90e6));
        // A faster one takes over at once.
        r.delivered(4_000_000, rtt, t0 + ms(60));
        assert_eq!(r.bytes_per_sec(t0 + ms(60)), Some(200e6));
        // A pause between transfers is no slow window...
        r.delivered(1_000, rtt, t0 + ms(500));
        assert_eq!(r.bytes_per_sec(t0 + ms(500)), Some(200e6));
        // ...but a second later the rate is unknown again.
        assert_eq!(r.bytes_per_sec(t0 + ms(1100)), None);
    }
}
