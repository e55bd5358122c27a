//! Establishing an authenticated SSH session: TCP connect with a timeout,
//! algorithm preferences, handshake, host-key verification and the pysftp
//! order of authentication (password, else private key, else default keys).

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ssh2::{MethodType, Session};

use super::cnopts::{CnOpts, HostKeyDecision, HostKeyQuery, HostKeyStatus, UnknownHostPolicy};
use super::hostkeys::{self, lookup_name, Check, KnownHosts, ServerKey};
use super::log::Logger;
use super::paths::{default_username, expand_user, home_dir};
use super::secret::{refuse_key_material, Redactor, Secret};
use crate::error::{Error, ErrorKind, Result};
use crate::log_to;

/// Everything pysftp's `Connection(...)` takes.
#[derive(Clone, Debug)]
pub struct ConnectSpec {
    pub host: String,
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
}

/// A private key in memory and the passphrase that decrypts it.
#[derive(Clone, Debug)]
pub struct KeyData {
    pub key: Secret,
    pub passphrase: Option<Secret>,
}

impl ConnectSpec {
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
        Ok(())
    }

    /// This connection's secrets, to keep out of its messages and log.
    pub fn redactor(&self) -> Redactor {
        let data = self.private_key_data.iter();
        Redactor::new(
            self.password
                .iter()
                .chain(&self.private_key_pass)
                .chain(data.clone().map(|d| &d.key))
                .chain(data.filter_map(|d| d.passphrase.as_ref())),
        )
    }
}

/// A connected, authenticated session.
pub struct Established {
    pub session: Session,
    pub username: String,
    pub server_key: ServerKey,
    /// The session's socket (a duplicate): shutting it down makes every
    /// libssh2 call on the session fail at once instead of waiting.
    pub socket: TcpStream,
}

/// Prefix for `private_key` values that select ssh-agent keys.
pub(crate) const AGENT_PREFIX: &str = "agent";

/// Called with the TCP socket as soon as it is connected, before the SSH
/// handshake (so a coordinator can cut a connection that is still
/// handshaking).
pub type OnSocket<'a> = &'a dyn Fn(&TcpStream);

pub fn establish(
    spec: &ConnectSpec,
    log: Option<&Logger>,
    on_socket: Option<OnSocket<'_>>,
) -> Result<Established> {
    let peer = format!("{}:{}", spec.host, spec.port);
    let username = match &spec.username {
        Some(u) => u.clone(),
        None => default_username().ok_or_else(|| {
            Error::invalid_arg("username", "not given, and $LOGNAME and $USER are unset")
        })?,
    };
    let tcp = tcp_connect(&spec.host, spec.port, spec.cnopts.connect_timeout)?;
    log_to!(log, "connected to {peer} over TCP");
    if let Some(f) = on_socket {
        f(&tcp);
    }
    let socket = tcp
        .try_clone()
        .map_err(|e| Error::new(ErrorKind::Connect, format!("connect to {peer}: {e}")))?;
    let mut session = Session::new()
        .map_err(|e| Error::new(ErrorKind::Ssh, format!("libssh2 session for {peer}: {e}")))?;
    session.set_tcp_stream(tcp);
    session.set_timeout(millis(spec.cnopts.connect_timeout));
    apply_preferences(&session, &spec.cnopts)?;
    let known = load_known_hosts(&session, spec, log)?;
    if let Some(kh) = &known {
        let supported = session
            .supported_algs(MethodType::HostKey)
            .unwrap_or_default();
        let pref = kh.algorithm_preference(&lookup_name(&spec.host, spec.port), &supported);
        session
            .method_pref(MethodType::HostKey, &pref)
            .map_err(|e| Error::new(ErrorKind::Ssh, format!("host key preference: {e}")))?;
    }
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
    match (&spec.cnopts.pinned_host_key, known) {
        (Some(pinned), _) => verify_pinned(pinned, spec, &server_key)?,
        (None, Some(kh)) => verify_host_key(&session, &kh, spec, &server_key, log)?,
        (None, None) => log_to!(
            log,
            "host key checking is off; accepted {} {}",
            server_key.key_type,
            server_key.fingerprint
        ),
    }
    authenticate(&session, &username, spec, &peer, log)?;
    log_to!(log, "authenticated as {username} on {peer}");
    session.set_timeout(millis(spec.cnopts.timeout));
    if let Some(k) = spec.cnopts.keepalive {
        session.set_keepalive(false, k.as_secs().max(1) as u32);
    }
    Ok(Established {
        session,
        username,
        server_key,
        socket,
    })
}

/// libssh2 timeouts are in milliseconds; 0 means none.
pub fn millis(t: Option<Duration>) -> u32 {
    t.map_or(0, |d| d.as_millis().clamp(1, u32::MAX as u128) as u32)
}

fn tcp_connect(host: &str, port: u16, timeout: Option<Duration>) -> Result<TcpStream> {
    let peer = format!("{host}:{port}");
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            Error::new(
                ErrorKind::Connect,
                format!("cannot resolve host '{host}': {e}"),
            )
        })?
        .collect();
    let mut last = None;
    for addr in &addrs {
        let attempt = match timeout {
            Some(t) => TcpStream::connect_timeout(addr, t),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    let e = last.ok_or_else(|| {
        Error::new(
            ErrorKind::Connect,
            format!("host '{host}' has no addresses"),
        )
    })?;
    if matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) {
        let secs = timeout.map_or(0.0, |t| t.as_secs_f64());
        return Err(Error::new(
            ErrorKind::Timeout,
            format!("connect to {peer} timed out after {secs:.1} s"),
        ));
    }
    Err(
        Error::new(ErrorKind::Connect, format!("connect to {peer}: {e}"))
            .with_os_errno(e.raw_os_error()),
    )
}

/// Ciphers psftp prefers when the caller names none, fastest first on
/// machines with AES instructions (with the vendored libssh2, a 1 GiB get
/// on loopback moves ~1000 MB/s with AES-GCM and ~670 with
/// ChaCha20-Poly1305). Whatever else libssh2 supports follows, so any
/// server still finds a match.
const FAST_CIPHERS: [&str; 5] = [
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
    spec: &ConnectSpec,
    log: Option<&Logger>,
) -> Result<Option<KnownHosts>> {
    if spec.cnopts.hostkeys.is_none() {
        return Ok(None);
    }
    let mut kh = KnownHosts::new(session)?;
    for problem in spec.cnopts.load_known_hosts(&mut kh) {
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
fn verify_pinned(pinned: &ServerKey, spec: &ConnectSpec, key: &ServerKey) -> Result<()> {
    if key.base64 == pinned.base64 {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::HostKeyMismatch,
        format!(
            "HOST KEY MISMATCH for {}: a second connection was offered {} {}, not the key of the first",
            lookup_name(&spec.host, spec.port),
            key.key_type,
            key.fingerprint
        ),
    ))
}

/// Ask the application's callback, if any, about an unknown or changed key.
fn ask_callback(
    spec: &ConnectSpec,
    key: &ServerKey,
    status: HostKeyStatus,
) -> Option<HostKeyDecision> {
    let cb = spec.cnopts.hostkey_callback.as_ref()?;
    Some(cb(&HostKeyQuery {
        host: &spec.host,
        port: spec.port,
        key,
        status,
    }))
}

fn verify_host_key(
    session: &Session,
    kh: &KnownHosts,
    spec: &ConnectSpec,
    key: &ServerKey,
    log: Option<&Logger>,
) -> Result<()> {
    let name = lookup_name(&spec.host, spec.port);
    let (raw_key, kind) = session.host_key().expect("checked by server_key");
    let files = spec.cnopts.hostkeys_description();
    let offered = format!("{} {}", key.key_type, key.fingerprint);
    let Some(kt) = hostkeys::key_type_of(kind) else {
        return Err(Error::new(
            ErrorKind::HostKeyUnknown,
            format!("host key for {name} has an unsupported type; cannot check it against {files}"),
        ));
    };
    match kh.check(&name, raw_key, kt) {
        Check::Match => {
            log_to!(log, "host key for {name} matches known_hosts: {offered}");
            Ok(())
        }
        Check::Mismatch if ask_callback(spec, key, HostKeyStatus::Changed).is_some_and(|d| d != HostKeyDecision::Reject) => {
            log_to!(log, "host key for {name} changed to {offered}; the host-key callback accepted it");
            Ok(())
        }
        Check::NotFound if spec.cnopts.hostkey_callback.is_some() => {
            match ask_callback(spec, key, HostKeyStatus::Unknown) {
                Some(HostKeyDecision::AcceptAndSave) => {
                    accept_new(spec, &name, kt, raw_key, log)?;
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
        Check::NotFound if spec.cnopts.unknown_host == UnknownHostPolicy::AcceptNew => {
            accept_new(spec, &name, kt, raw_key, log)?;
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
    spec: &ConnectSpec,
    name: &str,
    kt: hostkeys::KeyType,
    key: &[u8],
    log: Option<&Logger>,
) -> Result<()> {
    let Some(path) = spec
        .cnopts
        .hostkeys
        .as_ref()
        .and_then(|v| v.first())
        .cloned()
    else {
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

fn auth_failed(user: &str, peer: &str, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Auth,
        format!("authentication as '{user}' on {peer} failed: {why}"),
    )
}

fn authenticate(
    session: &Session,
    user: &str,
    spec: &ConnectSpec,
    peer: &str,
    log: Option<&Logger>,
) -> Result<()> {
    if let Some(password) = &spec.password {
        return password_auth(session, user, password.expose(), peer);
    }
    if let Some(key) = &spec.private_key {
        if let Some(selector) = agent_selector(key) {
            return agent_auth(session, user, selector, peer, log);
        }
        let path = expand_user(key);
        let passphrase = spec.private_key_pass.as_ref().map(Secret::expose);
        return key_file_auth(session, user, &path, passphrase, peer);
    }
    if let Some(data) = &spec.private_key_data {
        return key_data_auth(session, user, data, peer);
    }
    default_auth(session, user, peer, log)
}

/// Public-key authentication with a key held in memory (libssh2 derives
/// the public key from it). Messages never include the key.
fn key_data_auth(session: &Session, user: &str, data: &KeyData, peer: &str) -> Result<()> {
    let passphrase = data.passphrase.as_ref().map(Secret::expose);
    let r = session.userauth_pubkey_memory(user, None, data.key.expose(), passphrase);
    r.map_err(|e| match e.code() {
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_FILE) if passphrase.is_some() => {
            auth_failed(
                user,
                peer,
                format!(
                    "cannot use private_key_data: wrong passphrase or unsupported format ({})",
                    e.message()
                ),
            )
        }
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_FILE) => auth_failed(
            user,
            peer,
            format!(
                "cannot use private_key_data: it is encrypted (give its passphrase) or not a \
                 PEM or OpenSSH private key ({})",
                e.message()
            ),
        ),
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_TIMEOUT) => Error::new(
            ErrorKind::Timeout,
            format!("authentication on {peer} timed out"),
        ),
        _ => auth_failed(
            user,
            peer,
            format!(
                "the server refused the key given as private_key_data ({})",
                e.message()
            ),
        ),
    })
}

/// Some("") for "agent", Some(sel) for "agent:sel", None for a file path.
fn agent_selector(key: &str) -> Option<&str> {
    if key == AGENT_PREFIX {
        return Some("");
    }
    key.strip_prefix("agent:")
}

/// Password authentication; servers that only offer keyboard-interactive
/// (PAM setups) get the password as the answer to their prompt, as paramiko
/// does.
fn password_auth(session: &Session, user: &str, password: &str, peer: &str) -> Result<()> {
    let methods = session.auth_methods(user).unwrap_or("password").to_string();
    if session.authenticated() {
        return Ok(());
    }
    let result = if methods.split(',').any(|m| m == "password") {
        session.userauth_password(user, password)
    } else if methods.split(',').any(|m| m == "keyboard-interactive") {
        let mut prompt = PasswordPrompt(password);
        session.userauth_keyboard_interactive(user, &mut prompt)
    } else {
        return Err(auth_failed(
            user,
            peer,
            format!("the server does not accept passwords (it allows: {methods})"),
        ));
    };
    result.map_err(|e| match e.code() {
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_TIMEOUT) => Error::new(
            ErrorKind::Timeout,
            format!("authentication on {peer} timed out"),
        ),
        _ => auth_failed(user, peer, "wrong password or user"),
    })
}

struct PasswordPrompt<'a>(&'a str);

impl ssh2::KeyboardInteractivePrompt for PasswordPrompt<'_> {
    fn prompt<'b>(
        &mut self,
        _user: &str,
        _instructions: &str,
        prompts: &[ssh2::Prompt<'b>],
    ) -> Vec<String> {
        prompts.iter().map(|_| self.0.to_string()).collect()
    }
}

fn key_file_auth(
    session: &Session,
    user: &str,
    path: &Path,
    passphrase: Option<&str>,
    peer: &str,
) -> Result<()> {
    std::fs::File::open(path).map_err(|e| unreadable_key(path, &e))?;
    session
        .userauth_pubkey_file(user, None, path, passphrase)
        .map_err(|e| key_auth_error(user, peer, path, passphrase.is_some(), &e))
}

/// A private_key that cannot be read. Its path is named only when
/// something exists there: a value naming nothing may be a password or a
/// key given in the wrong argument, and is not repeated.
fn unreadable_key(path: &Path, e: &std::io::Error) -> Error {
    if std::fs::symlink_metadata(path).is_ok() {
        return Error::local_io("read private_key", path, e);
    }
    Error::new(
        ErrorKind::LocalIo,
        format!(
            "read private_key: no key file at the path given ({e}); the value is not shown, \
             in case it is a password or key given in the wrong argument"
        ),
    )
}

fn key_auth_error(user: &str, peer: &str, path: &Path, had_pass: bool, e: &ssh2::Error) -> Error {
    let key = path.display();
    match e.code() {
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_FILE) if had_pass => auth_failed(
            user,
            peer,
            format!("cannot use private key '{key}': wrong passphrase or unsupported format ({})", e.message()),
        ),
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_FILE) => auth_failed(
            user,
            peer,
            format!(
                "cannot use private key '{key}': it is encrypted (pass private_key_pass) or in an unsupported format ({})",
                e.message()
            ),
        ),
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_TIMEOUT) => {
            Error::new(ErrorKind::Timeout, format!("authentication on {peer} timed out"))
        }
        _ => auth_failed(user, peer, format!("the server refused private key '{key}' ({})", e.message())),
    }
}

fn agent_auth(
    session: &Session,
    user: &str,
    selector: &str,
    peer: &str,
    log: Option<&Logger>,
) -> Result<()> {
    let agent_err = |why: String| auth_failed(user, peer, format!("ssh-agent: {why}"));
    let mut agent = session.agent().map_err(|e| agent_err(e.to_string()))?;
    agent.connect().map_err(|e| {
        agent_err(format!(
            "cannot connect (is SSH_AUTH_SOCK set?): {}",
            e.message()
        ))
    })?;
    agent
        .list_identities()
        .map_err(|e| agent_err(e.message().to_string()))?;
    let identities = agent
        .identities()
        .map_err(|e| agent_err(e.message().to_string()))?;
    let chosen: Vec<_> = identities
        .iter()
        .filter(|id| {
            selector.is_empty()
                || id.comment() == selector
                || hostkeys::sha256_fingerprint(id.blob()) == selector
        })
        .collect();
    if chosen.is_empty() {
        let _ = agent.disconnect();
        return Err(agent_err(if selector.is_empty() {
            "the agent holds no keys".to_string()
        } else {
            format!("no agent key matches '{selector}'")
        }));
    }
    for id in chosen {
        if agent.userauth(user, id).is_ok() {
            log_to!(log, "authenticated with agent key {}", id.comment());
            let _ = agent.disconnect();
            return Ok(());
        }
    }
    let _ = agent.disconnect();
    Err(agent_err(
        "the server accepted none of the agent's keys".to_string(),
    ))
}

/// No password and no key: try the usual key files, then the agent.
fn default_auth(session: &Session, user: &str, peer: &str, log: Option<&Logger>) -> Result<()> {
    let candidates: Vec<PathBuf> = home_dir()
        .map(|h| {
            ["id_ed25519", "id_ecdsa", "id_rsa", "id_dsa"]
                .iter()
                .map(|n| h.join(".ssh").join(n))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    for key in &candidates {
        if session.userauth_pubkey_file(user, None, key, None).is_ok() {
            log_to!(log, "authenticated with default key {}", key.display());
            return Ok(());
        }
    }
    if std::env::var_os("SSH_AUTH_SOCK").is_some()
        && agent_auth(session, user, "", peer, log).is_ok()
    {
        return Ok(());
    }
    Err(auth_failed(
        user,
        peer,
        if candidates.is_empty() {
            "no password or private key given, no ~/.ssh/id_* key found and no usable ssh-agent"
                .to_string()
        } else {
            "no password or private key given, and the server refused the default keys".to_string()
        },
    ))
}
