//! Establishing an authenticated SSH session: the route to the server
//! (TCP, ProxyCommand, the caller's socket, jump hosts), algorithm
//! preferences, handshake and host-key verification at each endpoint, then
//! authentication (auth.rs).

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssh2::{MethodType, Session};

use super::auth::{self, Credentials, KbdIntCallback, KeyChoice, KeyData};
use super::cnopts::{CnOpts, HostKeyDecision, HostKeyQuery, HostKeyStatus, UnknownHostPolicy};
use super::hostkeys::{self, lookup_name, Check, KnownHosts, ServerKey};
use super::log::Logger;
use super::paths::expand_user;
use super::plan::{self, Endpoint, FirstLeg, Plan};
use super::route::{self, Chain, Cutter, Link, Stream};
use super::secret::{refuse_key_material, Redactor, Secret};
use crate::error::{Error, ErrorKind, Result};
use crate::log_to;

/// Everything pysftp's `Connection(...)` takes, and what only
/// psftp_connect_opts adds (a key from memory, the caller's socket, the
/// keyboard-interactive callback).
#[derive(Clone)]
pub struct ConnectSpec {
    /// A host name, address, or ssh_config Host alias.
    pub host: String,
    /// 0: ssh_config's Port, else 22.
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// A key file path, or "agent" / "agent:<comment or SHA256 fingerprint>"
    /// for keys held by ssh-agent (pysftp's AgentKey).
    pub private_key: Option<String>,
    pub private_key_pass: Option<Secret>,
    /// A private key given by its contents (PEM or OpenSSH format) instead
    /// of `private_key`, with its own passphrase.
    pub private_key_data: Option<KeyData>,
    pub cnopts: CnOpts,
    pub default_path: Option<String>,
    /// A connected socket of the caller's (a duplicate; see route.rs).
    pub socket: Option<Arc<OwnedFd>>,
    /// Answers keyboard-interactive prompts (2FA), for the server and the
    /// jump hosts.
    pub kbdint_callback: Option<KbdIntCallback>,
}

impl std::fmt::Debug for ConnectSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSpec")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("private_key", &self.private_key)
            .field("private_key_pass", &self.private_key_pass)
            .field("private_key_data", &self.private_key_data)
            .field("cnopts", &self.cnopts)
            .field("default_path", &self.default_path)
            .field("socket", &self.socket.as_ref().map(|s| s.as_raw_fd()))
            .field("kbdint_callback", &self.kbdint_callback.is_some())
            .finish()
    }
}

impl ConnectSpec {
    /// pysftp's arguments; nothing that only the connect options set.
    pub fn new(host: &str) -> ConnectSpec {
        ConnectSpec {
            host: host.to_string(),
            port: 0,
            username: None,
            password: None,
            private_key: None,
            private_key_pass: None,
            private_key_data: None,
            cnopts: CnOpts::default(),
            default_path: None,
            socket: None,
            kbdint_callback: None,
        }
    }

    /// Key material in a slot that messages repeat is a caller's mistake
    /// (a key's contents given as its path): refuse it without showing it.
    pub fn check(&self) -> Result<()> {
        refuse_key_material("host", &self.host, "a host name")?;
        for (param, value, what) in [
            ("username", &self.username, "a user name"),
            ("private_key", &self.private_key, "a key file's path"),
            ("default_path", &self.default_path, "a path"),
        ] {
            if let Some(v) = value {
                refuse_key_material(param, v, what)?;
            }
        }
        if let Some(super::ssh_config::Proxy::Command(cmd)) = &self.cnopts.proxy {
            refuse_key_material("command", cmd, "a command")?;
        }
        Ok(())
    }

    /// This connection's secrets, to keep out of its messages and log.
    pub fn redactor(&self) -> Redactor {
        let data = self.private_key_data.iter().flat_map(KeyData::secrets);
        Redactor::new(
            self.password
                .iter()
                .chain(&self.private_key_pass)
                .chain(data),
        )
    }
}

/// A connected, authenticated session.
pub struct Established {
    pub session: Session,
    pub username: String,
    pub server_key: ServerKey,
    /// "host:port" of the server (after ssh_config).
    pub peer: String,
    /// The jump hosts' keys, in order (for the extra connections).
    pub hop_keys: Vec<ServerKey>,
    /// The route: cut it to interrupt, close it after the goodbye.
    pub link: Link,
    /// The keyboard-interactive callback was asked on the way in.
    pub kbdint_asked: bool,
    /// The server's keepalive interval and count (after ssh_config).
    pub keepalive: Option<(Duration, u32)>,
    /// Still watching the connect timeout: the SFTP channel's opening
    /// is part of connecting.
    pub watchdog: Watchdog,
    /// The caller's cap on READ and WRITE requests (CnOpts).
    pub max_request_size: Option<u32>,
}

/// Holds a connect to its connect timeout as a whole (resolution, TCP,
/// every hop's handshake and authentication, the SFTP channel): when it
/// passes, the route's sockets are cut, so whatever call is blocked
/// returns, and `explain` turns that failure into Timeout.
pub struct Watchdog {
    shared: Arc<(std::sync::Mutex<WatchState>, std::sync::Condvar)>,
    limit: Option<Duration>,
    deadline: Option<Instant>,
}

#[derive(Default)]
struct WatchState {
    done: bool,
    fired: bool,
}

impl Watchdog {
    pub fn start(limit: Option<Duration>, cutter: Arc<Cutter>) -> Watchdog {
        let deadline = limit.map(|l| Instant::now() + l);
        let shared = Arc::new((
            std::sync::Mutex::new(WatchState::default()),
            std::sync::Condvar::new(),
        ));
        if let Some(deadline) = deadline {
            let shared = shared.clone();
            let _ = std::thread::Builder::new()
                .name("psftp-connect-deadline".into())
                .spawn(move || {
                    let (lock, cv) = &*shared;
                    let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
                    while !st.done {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            st.fired = true;
                            cutter.cut();
                            return;
                        }
                        st = cv
                            .wait_timeout(st, left)
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                });
        }
        Watchdog {
            shared,
            limit,
            deadline,
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// What is left of the connect timeout (None: no limit).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Connected: stop watching.
    pub fn finish(&self) {
        let (lock, cv) = &*self.shared;
        lock.lock().unwrap_or_else(|p| p.into_inner()).done = true;
        cv.notify_all();
    }

    /// A failure of a connect the deadline cut is a Timeout that says so.
    pub fn explain(&self, e: Error, peer: &str) -> Error {
        let fired = self
            .shared
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fired;
        if !fired || e.kind() == ErrorKind::Timeout {
            return e;
        }
        let secs = self.limit.map_or(0.0, |t| t.as_secs_f64());
        Error::new(
            ErrorKind::Timeout,
            format!(
                "connecting to {peer} took longer than the connect timeout ({secs:.1} s): {}",
                e.message()
            ),
        )
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Prefix for `private_key` values that select ssh-agent keys.
pub(crate) const AGENT_PREFIX: &str = "agent";

/// Connect as `spec` says. Every socket of the route is registered with
/// `cutter` as soon as it exists, so a coordinator can cut a connection
/// that is still handshaking.
/// `redactor` learns the secrets met on the way (keyboard-interactive
/// answers).
pub fn establish(
    spec: &ConnectSpec,
    log: Option<&Arc<Logger>>,
    redactor: &Redactor,
    cutter: Arc<Cutter>,
) -> Result<Established> {
    let plan = plan::plan(spec)?;
    for n in &plan.notes {
        log_to!(log, "ssh_config: {n}");
    }
    let mut chain = Chain::default();
    let watchdog = Watchdog::start(plan.target.opts.connect_timeout, cutter.clone());
    let ends = Ends {
        spec,
        redactor,
        kbdint_asked: Default::default(),
        deadline: watchdog.deadline(),
    };
    let r = establish_route(&ends, &plan, log, &cutter, &mut chain)
        .map_err(|e| watchdog.explain(e, &plan.target.peer()));
    match r {
        Ok((est, stream_fd)) => {
            let link = Link::new(cutter, stream_fd.as_fd(), chain);
            drop(stream_fd);
            let (session, server_key, hop_keys) = est;
            Ok(Established {
                session,
                username: plan.target.user.clone(),
                server_key,
                peer: plan.target.peer(),
                hop_keys,
                link: link?,
                kbdint_asked: ends.kbdint_asked.get(),
                keepalive: plan
                    .target
                    .opts
                    .keepalive
                    .map(|k| (k, plan.target.opts.keepalive_count_max)),
                watchdog,
                max_request_size: plan.target.opts.max_request_size,
            })
        }
        Err(e) => {
            cutter.cut();
            chain.close();
            Err(e)
        }
    }
}

type Reached = (Session, ServerKey, Vec<ServerKey>);

/// What every endpoint of a route authenticates with: the caller's
/// settings, and where secrets met on the way are recorded.
struct Ends<'a> {
    spec: &'a ConnectSpec,
    redactor: &'a Redactor,
    kbdint_asked: std::cell::Cell<bool>,
    /// When the connect timeout ends the whole connect.
    deadline: Option<Instant>,
}

/// The first leg, each jump host, then the server.
fn establish_route(
    ends: &Ends<'_>,
    plan: &Plan,
    log: Option<&Arc<Logger>>,
    cutter: &Cutter,
    chain: &mut Chain,
) -> Result<(Reached, std::os::fd::OwnedFd)> {
    let first = plan.hops.first().unwrap_or(&plan.target);
    let mut stream = first_stream(plan, first, chain, log, ends.deadline)?;
    cutter.add(stream.as_fd())?;
    let pins = ends
        .spec
        .cnopts
        .pinned_hop_keys
        .as_deref()
        .unwrap_or_default();
    let mut hop_keys = Vec::new();
    for (i, hop) in plan.hops.iter().enumerate() {
        let next = plan.hops.get(i + 1).unwrap_or(&plan.target);
        let fd = stream.as_raw_fd();
        // The error keeps its errno, status and callback value.
        let name_hop = |e: Error| e.context(format!("jump host {} {}", i + 1, hop.label()));
        let (session, key) =
            session_over(stream, hop, Role::Hop(pins.get(i)), ends, log.map(|l| &**l))
                .map_err(|e| name_hop(with_diagnosis(e, i == 0, chain)))?;
        log_to!(
            log,
            "jump host {} {}: authenticated; opening a channel to {}",
            i + 1,
            hop.label(),
            next.peer()
        );
        hop_keys.push(key);
        let jump_host = route::JumpHost {
            session,
            fd,
            label: format!("{} {}", i + 1, hop.label()),
            keepalive: hop.opts.keepalive,
        };
        stream = route::jump(
            jump_host,
            &next.host,
            next.port,
            chain,
            cutter,
            log.cloned(),
        )
        .map_err(name_hop)?;
    }
    let server_fd = stream
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Error::new(ErrorKind::Connect, format!("duplicate a socket: {e}")))?;
    let (session, key) = session_over(stream, &plan.target, Role::Target, ends, log.map(|l| &**l))
        .map_err(|e| with_diagnosis(e, plan.hops.is_empty(), chain))?;
    Ok(((session, key, hop_keys), server_fd))
}

/// A failure right behind a ProxyCommand says what the command said.
fn with_diagnosis(e: Error, behind_first_leg: bool, chain: &mut Chain) -> Error {
    if !behind_first_leg
        || !matches!(
            e.kind(),
            ErrorKind::Ssh | ErrorKind::Timeout | ErrorKind::ConnectionLost
        )
    {
        return e;
    }
    match chain.proxy_diagnosis() {
        Some(d) => {
            let message = format!("{}; {d}", e.message());
            e.with_message(message)
        }
        None => e,
    }
}

fn first_stream(
    plan: &Plan,
    first: &Endpoint,
    chain: &mut Chain,
    log: Option<&Arc<Logger>>,
    deadline: Option<Instant>,
) -> Result<Stream> {
    match &plan.first {
        FirstLeg::Direct => {
            let limit = plan.target.opts.connect_timeout;
            let s = route::tcp(&first.host, first.port, deadline, limit)?;
            log_to!(log, "connected to {} over TCP", first.peer());
            if let Some(k) = first.opts.keepalive {
                route::set_user_timeout(&s, k, first.opts.keepalive_count_max);
            }
            Ok(s)
        }
        FirstLeg::Command(cmd) => {
            log_to!(log, "starting ProxyCommand '{cmd}' for {}", first.peer());
            route::proxy_command(cmd, chain, log.cloned())
        }
        FirstLeg::Socket(fd) => {
            log_to!(
                log,
                "using the application's socket (descriptor {}) for {}",
                fd.as_raw_fd(),
                first.peer()
            );
            route::caller_socket(fd)
        }
    }
}

/// Which endpoint a session is for.
#[derive(Clone, Copy)]
enum Role<'a> {
    Target,
    /// A jump host, with the key an earlier connection verified for it.
    Hop(Option<&'a ServerKey>),
}

/// Handshake, host key and authentication with `ep` over `stream`.
fn session_over(
    stream: Stream,
    ep: &Endpoint,
    role: Role<'_>,
    ends: &Ends<'_>,
    log: Option<&Logger>,
) -> Result<(Session, ServerKey)> {
    let spec = ends.spec;
    let peer = ep.peer();
    let opts = &ep.opts;
    let mut session = Session::new()
        .map_err(|e| Error::new(ErrorKind::Ssh, format!("libssh2 session for {peer}: {e}")))?;
    session.set_tcp_stream(stream);
    // The watchdog ends the connect as a whole; this bounds each call too.
    let left = ends
        .deadline
        .map(|d| d.saturating_duration_since(Instant::now()));
    session.set_timeout(millis(left));
    apply_preferences(&session, opts)?;
    let known = load_known_hosts(&session, opts, log)?;
    let supported = session
        .supported_algs(MethodType::HostKey)
        .unwrap_or_default();
    // libssh2 takes host certificates but does not check them (CA, validity,
    // principals): never offer those algorithms.
    let plain: Vec<&str> = supported
        .into_iter()
        .filter(|a| !a.contains("-cert-v01@openssh.com"))
        .collect();
    let pref = match &known {
        Some(kh) => kh.algorithm_preference(&lookup_name(&ep.host, ep.port), &plain),
        None => plain.join(","),
    };
    session
        .method_pref(MethodType::HostKey, &pref)
        .map_err(|e| Error::new(ErrorKind::Ssh, format!("host key preference: {e}")))?;
    session
        .handshake()
        .map_err(|e| handshake_error(&peer, &e))?;
    log_to!(
        log,
        "SSH handshake with {peer} done: kex {}, cipher {}, mac {}",
        session.methods(MethodType::Kex).unwrap_or("?"),
        session.methods(MethodType::CryptCs).unwrap_or("?"),
        session.methods(MethodType::MacCs).unwrap_or("?")
    );
    let server_key = server_key(&session, &peer)?;
    let pinned = match role {
        Role::Target => opts.pinned_host_key.as_ref(),
        Role::Hop(p) => p,
    };
    match (pinned, known) {
        (Some(pinned), _) => verify_pinned(pinned, ep, &server_key)?,
        (None, Some(kh)) => verify_host_key(&session, &kh, ep, &server_key, log)?,
        (None, None) => log_to!(
            log,
            "host key checking is off; accepted {} {} for {peer}",
            server_key.key_type,
            server_key.fingerprint
        ),
    }
    let key_path;
    let key = match (&spec.private_key, &spec.private_key_data) {
        (Some(k), _) => match agent_selector(k) {
            Some(sel) => Some(KeyChoice::Agent(sel)),
            None => {
                key_path = expand_user(k);
                Some(KeyChoice::File(&key_path))
            }
        },
        (None, Some(m)) => Some(KeyChoice::Memory(m)),
        (None, None) => None,
    };
    let target = matches!(role, Role::Target);
    let creds = Credentials {
        user: &ep.user,
        host: &ep.host,
        port: ep.port,
        password: spec
            .password
            .as_ref()
            .map(Secret::expose)
            .filter(|_| target),
        key,
        passphrase: spec.private_key_pass.as_ref().map(Secret::expose),
        explicit_is_final: target,
        identity_files: &ep.identity_files,
        identities_only: ep.identities_only,
        agent: ep.agent.clone(),
        kbdint: spec.kbdint_callback.as_ref(),
        kbdint_asked: &ends.kbdint_asked,
        redactor: ends.redactor,
    };
    auth::authenticate(&session, &creds, log)?;
    log_to!(log, "authenticated as {} on {peer}", ep.user);
    session.set_timeout(millis(opts.timeout));
    match (opts.keepalive, role) {
        // The server's keepalives ask for a reply, and psftp times them
        // (liveness.rs); libssh2's own interval only has to be shorter.
        (Some(_), Role::Target) => session.set_keepalive(true, route::LIBSSH2_KEEPALIVE_INTERVAL),
        // A jump host's pump sends them by libssh2's interval and reads
        // no replies, which libssh2 would keep.
        (Some(k), Role::Hop(_)) => session.set_keepalive(false, k.as_secs().max(1) as u32),
        (None, _) => {}
    }
    Ok((session, server_key))
}

/// Some("") for "agent", Some(sel) for "agent:sel", None for a file path.
fn agent_selector(key: &str) -> Option<&str> {
    if key == AGENT_PREFIX {
        return Some("");
    }
    key.strip_prefix("agent:")
}

/// libssh2 timeouts are in milliseconds; 0 means none.
pub fn millis(t: Option<Duration>) -> u32 {
    t.map_or(0, |d| d.as_millis().clamp(1, u32::MAX as u128) as u32)
}

/// Ciphers psftp prefers when the caller names none, fastest first on
/// machines with AES instructions (with the vendored libssh2, a 1 GiB get
/// on loopback moves ~1000 MB/s with AES-GCM and ~670 with
/// ChaCha20-Poly1305). Whatever else libssh2 supports follows, so any
/// server still finds a match.
pub(crate) const FAST_CIPHERS: [&str; 5] = [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
    "chacha20-poly1305@openssh.com",
];

fn default_cipher_preference(session: &Session) -> String {
    let supported = session
        .supported_algs(MethodType::CryptCs)
        .unwrap_or_default();
    let fast = FAST_CIPHERS
        .iter()
        .filter(|c| supported.contains(c))
        .copied();
    let rest = supported
        .iter()
        .filter(|c| !FAST_CIPHERS.contains(c))
        .copied();
    fast.chain(rest).collect::<Vec<_>>().join(",")
}

fn apply_preferences(session: &Session, cnopts: &CnOpts) -> Result<()> {
    let pref_err = |e: ssh2::Error| Error::invalid_arg("ciphers", e);
    let list = match &cnopts.ciphers {
        Some(ciphers) => ciphers.join(","),
        None => default_cipher_preference(session),
    };
    session
        .method_pref(MethodType::CryptCs, &list)
        .map_err(pref_err)?;
    session
        .method_pref(MethodType::CryptSc, &list)
        .map_err(pref_err)?;
    if cnopts.compression {
        session.set_compress(true);
        let comp = "zlib@openssh.com,zlib,none";
        let _ = session.method_pref(MethodType::CompCs, comp);
        let _ = session.method_pref(MethodType::CompSc, comp);
    }
    Ok(())
}

fn handshake_error(peer: &str, e: &ssh2::Error) -> Error {
    let kind = match e.code() {
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_TIMEOUT) => ErrorKind::Timeout,
        _ => ErrorKind::Ssh,
    };
    Error::new(
        kind,
        format!("SSH handshake with {peer} failed: {}", e.message()),
    )
}

fn load_known_hosts(
    session: &Session,
    opts: &CnOpts,
    log: Option<&Logger>,
) -> Result<Option<KnownHosts>> {
    if opts.hostkeys.is_none() {
        return Ok(None);
    }
    let mut kh = KnownHosts::new(session)?;
    for problem in opts.load_known_hosts(&mut kh) {
        log_to!(log, "known_hosts: {problem}");
    }
    for skipped in &kh.skipped {
        log_to!(log, "known_hosts: skipped unsupported line {skipped}");
    }
    Ok(Some(kh))
}

fn server_key(session: &Session, peer: &str) -> Result<ServerKey> {
    let (key, kind) = session
        .host_key()
        .ok_or_else(|| Error::new(ErrorKind::Ssh, format!("{peer} sent no host key")))?;
    let key_type = hostkeys::key_type_of(kind).map_or("unknown", |k| k.name);
    Ok(ServerKey {
        key_type: key_type.to_string(),
        base64: hostkeys::base64(key),
        fingerprint: hostkeys::sha256_fingerprint(key),
    })
}

/// The extra connections of a tree operation accept only the key the first
/// connection verified.
fn verify_pinned(pinned: &ServerKey, ep: &Endpoint, key: &ServerKey) -> Result<()> {
    if key.base64 == pinned.base64 {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::HostKeyMismatch,
        format!(
            "HOST KEY MISMATCH for {}: a second connection was offered {} {}, not the key of the first",
            lookup_name(&ep.host, ep.port),
            key.key_type,
            key.fingerprint
        ),
    ))
}

/// Ask the application's callback, if any, about an unknown or changed key.
fn ask_callback(ep: &Endpoint, key: &ServerKey, status: HostKeyStatus) -> Option<HostKeyDecision> {
    let cb = ep.opts.hostkey_callback.as_ref()?;
    Some(cb(&HostKeyQuery {
        host: &ep.host,
        port: ep.port,
        key,
        status,
    }))
}

fn verify_host_key(
    session: &Session,
    kh: &KnownHosts,
    ep: &Endpoint,
    key: &ServerKey,
    log: Option<&Logger>,
) -> Result<()> {
    let name = lookup_name(&ep.host, ep.port);
    let (raw_key, kind) = session.host_key().expect("checked by server_key");
    let files = ep.opts.all_hostkeys_description();
    let offered = format!("{} {}", key.key_type, key.fingerprint);
    let Some(kt) = hostkeys::key_type_of(kind) else {
        return Err(Error::new(
            ErrorKind::HostKeyUnknown,
            format!("host key for {name} has an unsupported type; cannot check it against {files}"),
        ));
    };
    if let Some(at) = kh.revoked(&name, raw_key) {
        return Err(Error::new(
            ErrorKind::HostKeyMismatch,
            format!(
                "HOST KEY REVOKED for {name}: the server offered {offered}, which {at} marks @revoked; refusing it"
            ),
        ));
    }
    match kh.check(&name, raw_key, kt) {
        Check::Match => {
            log_to!(log, "host key for {name} matches known_hosts: {offered}");
            Ok(())
        }
        Check::Mismatch if ask_callback(ep, key, HostKeyStatus::Changed).is_some_and(|d| d != HostKeyDecision::Reject) => {
            log_to!(log, "host key for {name} changed to {offered}; the host-key callback accepted it");
            Ok(())
        }
        Check::NotFound if ep.opts.hostkey_callback.is_some() => {
            match ask_callback(ep, key, HostKeyStatus::Unknown) {
                Some(HostKeyDecision::AcceptAndSave) => {
                    accept_new(&ep.opts, &name, kt, raw_key, log)?;
                    log_to!(log, "host-key callback: added {name} {offered}");
                    Ok(())
                }
                Some(HostKeyDecision::Accept) => {
                    log_to!(log, "host-key callback: accepted {name} {offered} for this connection");
                    Ok(())
                }
                _ => Err(Error::new(
                    ErrorKind::HostKeyUnknown,
                    format!("host key for {name} is unknown ({offered}) and the host-key callback rejected it"),
                )),
            }
        }
        Check::Mismatch => Err(Error::new(
            ErrorKind::HostKeyMismatch,
            format!(
                "HOST KEY MISMATCH for {name}: the server offered {offered}, but {files} \
                 holds a different {} key for it; someone may be intercepting the \
                 connection, or the host key was changed",
                key.key_type
            ),
        )),
        Check::NotFound if ep.opts.unknown_host == UnknownHostPolicy::AcceptNew => {
            accept_new(&ep.opts, &name, kt, raw_key, log)?;
            log_to!(log, "accept-new: added {name} {offered}");
            Ok(())
        }
        Check::NotFound => Err(Error::new(
            ErrorKind::HostKeyUnknown,
            format!("host key for {name} is unknown: the server offered {offered}, which is not in {files}"),
        )),
    }
}

/// Trust on first use: append the key to the primary known_hosts file with
/// O_APPEND, one write of the whole line, after re-reading the file under an
/// exclusive lock so that two processes never add the same host twice.
fn accept_new(
    opts: &CnOpts,
    name: &str,
    kt: hostkeys::KeyType,
    key: &[u8],
    log: Option<&Logger>,
) -> Result<()> {
    let Some(path) = opts.hostkeys.as_ref().and_then(|v| v.first()).cloned() else {
        return Err(Error::invalid_arg(
            "cnopts",
            "accept-new needs a known_hosts file",
        ));
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::local_io("create directory for", &path, &e))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&path)
        .map_err(|e| Error::local_io("open known_hosts", &path, &e))?;
    let _lock = FileLock::exclusive(&file, &path)?;
    let session = Session::new().map_err(|e| Error::new(ErrorKind::Ssh, e.to_string()))?;
    let mut fresh = KnownHosts::new(&session)?;
    let _ = fresh.load_file(&path);
    if fresh.check(name, key, kt) == Check::Match {
        log_to!(
            log,
            "accept-new: {name} was added by another process meanwhile"
        );
        return Ok(());
    }
    let line = KnownHosts::line_for(name, kt, key);
    (&file)
        .write_all(line.as_bytes())
        .and_then(|_| file.sync_data())
        .map_err(|e| Error::local_io("append to known_hosts", &path, &e))
}

/// flock(2) held until dropped.
struct FileLock<'a>(&'a std::fs::File);

impl<'a> FileLock<'a> {
    fn exclusive(file: &'a std::fs::File, path: &Path) -> Result<FileLock<'a>> {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor `file` owns and keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(Error::local_io(
                "lock",
                path,
                &std::io::Error::last_os_error(),
            ));
        }
        Ok(FileLock(file))
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor the borrowed File keeps open.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}
