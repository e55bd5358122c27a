//! Authentication at one endpoint (the server, or a jump host).
//!
//! The server keeps pysftp's order: a password when given, else the private
//! key given, else the default keys (~/.ssh/id_*) and ssh-agent. ssh_config
//! adds its IdentityFile list (used instead of the default keys, as ssh
//! does), IdentitiesOnly and IdentityAgent. When the application installed
//! a keyboard-interactive callback, a server that asks for more (a second
//! factor, or keyboard-interactive alone) gets its prompts answered by it.
//!
//! Secrets (passwords, passphrases, answers, key bytes) never reach a
//! message or the log, and psftp's own copies are zeroed when dropped.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ssh2::Session;

use super::hostkeys;
use super::log::Logger;
use super::paths::home_dir;
use super::secret::{Redactor, Secret};
use crate::error::{Error, ErrorKind, Result};
use crate::log_to;

/// A private key held in memory (OpenSSH or PEM text) and the passphrase
/// that decrypts it: psftp_connect_opts_set_private_key_data().
///
/// This is the one place psftp handles keys from memory, for the server
/// and for jump hosts alike.
#[derive(Clone, Debug)]
pub struct KeyData {
    key: Secret,
    /// NUL-terminated, for libssh2.
    passphrase: Option<Secret>,
}

/// Larger than any private key file (an 16384-bit RSA key is ~13 KiB).
const MAX_KEY_BYTES: usize = 64 * 1024;

impl KeyData {
    /// Check `key` enough to name a mistake now (never showing it); libssh2
    /// parses it when it is used.
    pub fn new(key: &[u8], passphrase: Option<&str>) -> Result<KeyData> {
        let not_key = |why: &str| {
            Error::invalid_arg(
                "data",
                format!("is not a PEM or OpenSSH private key ({why}; the value is not shown)"),
            )
        };
        if key.len() > MAX_KEY_BYTES {
            return Err(Error::invalid_arg(
                "data",
                format!("is {} bytes, more than a private key can be", key.len()),
            ));
        }
        let text = std::str::from_utf8(key).map_err(|_| not_key("not text"))?;
        if text.trim().is_empty() {
            return Err(Error::invalid_arg("data", "is empty"));
        }
        if !text.contains("-----BEGIN") {
            return Err(not_key("no -----BEGIN line"));
        }
        let passphrase = match passphrase {
            None => None,
            Some(p) if p.contains('\0') => {
                return Err(Error::invalid_arg("passphrase", "contains a NUL byte"))
            }
            Some(p) => {
                // Sized first, so that no unzeroed copy is left behind.
                let mut s = String::with_capacity(p.len() + 1);
                s.push_str(p);
                s.push('\0');
                Some(Secret::new(s))
            }
        };
        Ok(KeyData {
            key: Secret::new(text),
            passphrase,
        })
    }

    /// The key and its passphrase, to keep out of messages.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        std::iter::once(&self.key).chain(self.passphrase.as_ref())
    }
}

/// One prompt of a keyboard-interactive round.
#[derive(Debug, Clone, Copy)]
pub struct KbdPrompt<'a> {
    pub text: &'a str,
    /// Whether the answer may be shown as it is typed (false for secrets).
    pub echo: bool,
}

/// A keyboard-interactive round put to the application.
#[derive(Debug, Clone, Copy)]
pub struct KbdRequest<'a> {
    /// The endpoint asking: the server, or a jump host.
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub name: &'a str,
    pub instruction: &'a str,
    pub prompts: &'a [KbdPrompt<'a>],
}

/// The answers of one round; prompts left unanswered get the password
/// given to the connect, if any, else an empty answer.
#[derive(Debug, Default)]
pub struct KbdAnswers {
    answers: Vec<Option<Secret>>,
}

impl KbdAnswers {
    fn new(n: usize) -> KbdAnswers {
        KbdAnswers {
            answers: vec![None; n],
        }
    }

    /// Answer prompt `index` (0-based); a later answer replaces an earlier.
    pub fn set(&mut self, index: usize, answer: &str) -> Result<()> {
        let n = self.answers.len();
        let slot = self.answers.get_mut(index).ok_or_else(|| {
            Error::invalid_arg(
                "index",
                format!("{index} is out of range: this round has {n} prompt(s)"),
            )
        })?;
        *slot = Some(Secret::new(answer));
        Ok(())
    }
}

/// The application's keyboard-interactive callback: fills the answers and
/// returns Ok, or Err with its own value to give up (the connect then
/// fails with ErrorKind::User carrying that value).
pub type KbdIntCallback =
    Arc<dyn Fn(&KbdRequest<'_>, &mut KbdAnswers) -> std::result::Result<(), i64> + Send + Sync>;

/// ssh-agent, as ssh_config's IdentityAgent chooses it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AgentChoice {
    /// $SSH_AUTH_SOCK.
    #[default]
    Default,
    Socket(PathBuf),
    /// IdentityAgent none.
    Off,
}

/// The private key the caller named.
#[derive(Debug, Clone, Copy)]
pub enum KeyChoice<'a> {
    File(&'a Path),
    /// Agent keys whose comment or SHA256 fingerprint is this ("" = any).
    Agent(&'a str),
    Memory(&'a KeyData),
}

/// What one endpoint is authenticated with.
pub struct Credentials<'a> {
    pub user: &'a str,
    pub host: &'a str,
    pub port: u16,
    /// Only ever the server's: never sent to a jump host.
    pub password: Option<&'a str>,
    pub key: Option<KeyChoice<'a>>,
    /// Passphrase of `key` (a file) and of IdentityFile keys.
    pub passphrase: Option<&'a str>,
    /// pysftp's rule for the server: a given password or key is the only
    /// way in (plus keyboard-interactive when a callback is installed).
    /// Jump hosts try the caller's key among their other candidates.
    pub explicit_is_final: bool,
    pub identity_files: &'a [PathBuf],
    pub identities_only: bool,
    pub agent: AgentChoice,
    pub kbdint: Option<&'a KbdIntCallback>,
    /// Set once `kbdint` was asked: the connection then needed the
    /// application (a one-time code, say), which its extra connections
    /// cannot ask.
    pub kbdint_asked: &'a std::cell::Cell<bool>,
    /// Learns the callback's answers, to keep them out of every message.
    pub redactor: &'a Redactor,
}

impl Credentials<'_> {
    fn peer(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn failed(&self, why: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorKind::Auth,
            format!(
                "authentication as '{}' on {} failed: {why}",
                self.user,
                self.peer()
            ),
        )
    }
}

pub fn authenticate(session: &Session, c: &Credentials<'_>, log: Option<&Logger>) -> Result<()> {
    let explicit = if let Some(password) = c.password {
        Some(password_auth(session, c, password, log))
    } else if c.explicit_is_final {
        c.key.map(|k| key_auth(session, c, k, log))
    } else {
        None
    };
    match explicit {
        Some(Ok(())) => Ok(()),
        // A second factor, or a server that wants keyboard-interactive.
        Some(Err(e)) => kbdint_after(session, c, log, e),
        None => candidates_auth(session, c, log),
    }
}

/// After `first` failed: keyboard-interactive through the callback when
/// the server still offers it, else `first`.
fn kbdint_after(
    session: &Session,
    c: &Credentials<'_>,
    log: Option<&Logger>,
    first: Error,
) -> Result<()> {
    if session.authenticated() {
        return Ok(());
    }
    if first.kind() != ErrorKind::Auth || c.kbdint.is_none() || !offers(session, c, KBDINT) {
        return Err(first);
    }
    keyboard_interactive(session, c, log)
}

const KBDINT: &str = "keyboard-interactive";

fn offers(session: &Session, c: &Credentials<'_>, method: &str) -> bool {
    session
        .auth_methods(c.user)
        .is_ok_and(|m| m.split(',').any(|x| x == method))
}

/// Password authentication; servers that only offer keyboard-interactive
/// (PAM setups) get the password as the answer to their prompts, as
/// paramiko does, unless the callback answers them.
fn password_auth(
    session: &Session,
    c: &Credentials<'_>,
    password: &str,
    log: Option<&Logger>,
) -> Result<()> {
    let methods = session
        .auth_methods(c.user)
        .unwrap_or("password")
        .to_string();
    if session.authenticated() {
        return Ok(());
    }
    let has = |m: &str| methods.split(',').any(|x| x == m);
    if has("password") {
        return session
            .userauth_password(c.user, password)
            .map_err(|e| auth_error(c, &e, "wrong password or user"));
    }
    if has(KBDINT) {
        return keyboard_interactive(session, c, log);
    }
    Err(c.failed(format!(
        "the server does not accept passwords (it allows: {methods})"
    )))
}

fn auth_error(c: &Credentials<'_>, e: &ssh2::Error, why: &str) -> Error {
    match e.code() {
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_TIMEOUT) => Error::new(
            ErrorKind::Timeout,
            format!("authentication on {} timed out", c.peer()),
        ),
        _ => c.failed(why),
    }
}

fn key_auth(
    session: &Session,
    c: &Credentials<'_>,
    key: KeyChoice<'_>,
    log: Option<&Logger>,
) -> Result<()> {
    match key {
        KeyChoice::File(path) => key_file_auth(session, c, path, c.passphrase),
        KeyChoice::Agent(selector) => agent_auth(session, c, selector, log),
        KeyChoice::Memory(k) => memory_key_auth(session, c, k),
    }
}

fn key_file_auth(
    session: &Session,
    c: &Credentials<'_>,
    path: &Path,
    passphrase: Option<&str>,
) -> Result<()> {
    std::fs::File::open(path).map_err(|e| unreadable_key(path, &e))?;
    session
        .userauth_pubkey_file(c.user, None, path, passphrase)
        .map_err(|e| {
            key_auth_error(
                c,
                &format!("private key '{}'", path.display()),
                passphrase.is_some(),
                "pass private_key_pass",
                &e,
            )
        })
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
    .with_os_errno(e.raw_os_error())
}

/// A key from memory. The bytes go to libssh2 straight from psftp's
/// zeroed-on-drop copy (ssh2's wrapper would copy them into CStrings that
/// nobody zeroes).
fn memory_key_auth(session: &Session, c: &Credentials<'_>, key: &KeyData) -> Result<()> {
    let data = key.key.expose();
    let passphrase = key
        .passphrase
        .as_ref()
        .map_or(std::ptr::null(), |p| p.expose().as_ptr() as *const c_char);
    let rc = {
        let mut raw = session.raw();
        // SAFETY: `raw` is this live session, locked for the call; user
        // and key are valid for the lengths given, and the passphrase is
        // NULL or NUL-terminated (KeyData::new appends the NUL). libssh2
        // copies what it keeps.
        unsafe {
            libssh2_sys::libssh2_userauth_publickey_frommemory(
                &mut *raw,
                c.user.as_ptr() as *const c_char,
                c.user.len(),
                std::ptr::null(),
                0,
                data.as_ptr() as *const c_char,
                data.len(),
                passphrase,
            )
        }
    };
    if rc == 0 {
        return Ok(());
    }
    let e = ssh2::Error::from_session_error(session, rc);
    Err(key_auth_error(
        c,
        "the key given as private_key_data",
        key.passphrase.is_some(),
        "give its passphrase",
        &e,
    ))
}

fn key_auth_error(
    c: &Credentials<'_>,
    key: &str,
    had_pass: bool,
    pass_hint: &str,
    e: &ssh2::Error,
) -> Error {
    match e.code() {
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_FILE) if had_pass => c.failed(format!(
            "cannot use {key}: wrong passphrase or unsupported format ({})",
            e.message()
        )),
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_FILE) => c.failed(format!(
            "cannot use {key}: it is encrypted ({pass_hint}) or in an unsupported format ({})",
            e.message()
        )),
        ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_TIMEOUT) => Error::new(
            ErrorKind::Timeout,
            format!("authentication on {} timed out", c.peer()),
        ),
        _ => c.failed(format!("the server refused {key} ({})", e.message())),
    }
}

fn agent_auth(
    session: &Session,
    c: &Credentials<'_>,
    selector: &str,
    log: Option<&Logger>,
) -> Result<()> {
    let agent_err = |why: String| c.failed(format!("ssh-agent: {why}"));
    let mut agent = session.agent().map_err(|e| agent_err(e.to_string()))?;
    match &c.agent {
        AgentChoice::Off => return Err(agent_err("IdentityAgent is none".to_string())),
        AgentChoice::Socket(p) => agent
            .set_identity_path(p)
            .map_err(|e| agent_err(e.message().to_string()))?,
        AgentChoice::Default => {}
    }
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
        if agent.userauth(c.user, id).is_ok() {
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

/// No password and no final key: IdentityFile keys (or the default
/// ~/.ssh/id_* when there are none), the caller's key on a jump host,
/// ssh-agent unless IdentitiesOnly, then keyboard-interactive.
fn candidates_auth(session: &Session, c: &Credentials<'_>, log: Option<&Logger>) -> Result<()> {
    let files: Vec<PathBuf> = if c.identity_files.is_empty() {
        default_key_files()
    } else {
        c.identity_files.to_vec()
    };
    let mut tried = Vec::new();
    for key in files.iter().filter(|p| p.is_file()) {
        if session
            .userauth_pubkey_file(c.user, None, key, c.passphrase)
            .is_ok()
        {
            log_to!(
                log,
                "authenticated on {} with key {}",
                c.peer(),
                key.display()
            );
            return Ok(());
        }
        tried.push(format!("key {}", key.display()));
    }
    if let Some(k) = c.key {
        if key_auth(session, c, k, log).is_ok() {
            log_to!(log, "authenticated on {} with the caller's key", c.peer());
            return Ok(());
        }
        tried.push("the private key given".to_string());
    }
    let agent_usable = match &c.agent {
        AgentChoice::Off => false,
        AgentChoice::Socket(_) => true,
        AgentChoice::Default => std::env::var_os("SSH_AUTH_SOCK").is_some(),
    };
    if agent_usable && !c.identities_only {
        if agent_auth(session, c, "", log).is_ok() {
            return Ok(());
        }
        tried.push("ssh-agent".to_string());
    }
    if c.kbdint.is_some() && offers(session, c, KBDINT) {
        return keyboard_interactive(session, c, log);
    }
    Err(c.failed(if tried.is_empty() {
        "no password or private key given, no ~/.ssh/id_* key found and no usable ssh-agent"
            .to_string()
    } else if c.identity_files.is_empty() && c.key.is_none() {
        "no password or private key given, and the server refused the default keys".to_string()
    } else {
        format!("the server refused every key tried ({})", tried.join(", "))
    }))
}

fn default_key_files() -> Vec<PathBuf> {
    home_dir()
        .map(|h| {
            ["id_ed25519", "id_ecdsa", "id_rsa", "id_dsa"]
                .iter()
                .map(|n| h.join(".ssh").join(n))
                .collect()
        })
        .unwrap_or_default()
}

/// One keyboard-interactive exchange: each round the server sends goes to
/// the callback (when installed); prompts it leaves unanswered get the
/// password (when given).
fn keyboard_interactive(
    session: &Session,
    c: &Credentials<'_>,
    log: Option<&Logger>,
) -> Result<()> {
    let mut state = KbdState {
        creds: c,
        log,
        stopped: None,
        callback_panicked: false,
    };
    let rc = {
        let mut raw = session.raw();
        let raw: *mut libssh2_sys::LIBSSH2_SESSION = &mut *raw;
        // SAFETY: `raw` is this live session, locked (by `session.raw()`)
        // for the whole block. Its abstract slot is pointed at `state`, which
        // outlives the call, only for this call (as ssh2's own wrapper does)
        // and restored before the lock is released; kbd_response, the only
        // reader, runs inside the call. The user name is valid for its
        // length.
        unsafe {
            let slot = libssh2_sys::libssh2_session_abstract(raw);
            let saved = *slot;
            *slot = &mut state as *mut KbdState<'_, '_> as *mut c_void;
            let rc = libssh2_sys::libssh2_userauth_keyboard_interactive_ex(
                raw,
                c.user.as_ptr() as *const c_char,
                c.user.len() as c_uint,
                Some(kbd_response),
            );
            *slot = saved;
            rc
        }
    };
    if state.callback_panicked {
        return Err(Error::new(
            ErrorKind::Panic,
            "internal error (panic) in the keyboard-interactive callback",
        ));
    }
    if let Some(value) = state.stopped {
        return Err(Error::stopped_by("keyboard-interactive")
            .with_callback_value(value)
            .context(format!("authentication as '{}' on {}", c.user, c.peer())));
    }
    if rc == 0 {
        log_to!(log, "authenticated on {} by keyboard-interactive", c.peer());
        return Ok(());
    }
    let e = ssh2::Error::from_session_error(session, rc);
    Err(auth_error(
        c,
        &e,
        if c.kbdint.is_some() {
            "keyboard-interactive answers were not accepted"
        } else {
            "wrong password or user (keyboard-interactive)"
        },
    ))
}

struct KbdState<'a, 'b> {
    creds: &'a Credentials<'b>,
    log: Option<&'a Logger>,
    /// What the callback returned to give up, once it did.
    stopped: Option<i64>,
    callback_panicked: bool,
}

/// Text the server sent, as UTF-8 (lossy: a server is input too).
///
/// # Safety
/// `p` is NULL or valid for reads of `len` bytes.
unsafe fn server_text(p: *const c_char, len: c_int) -> String {
    if p.is_null() || len <= 0 {
        return String::new();
    }
    // SAFETY: not NULL (checked) and readable for `len` bytes, as this
    // function's contract requires.
    let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) };
    String::from_utf8_lossy(bytes).into_owned()
}

/// libssh2's response callback: fills `responses` with malloc'd copies
/// (libssh2 frees them with free()).
extern "C" fn kbd_response(
    name: *const c_char,
    name_len: c_int,
    instruction: *const c_char,
    instruction_len: c_int,
    num_prompts: c_int,
    prompts: *const libssh2_sys::LIBSSH2_USERAUTH_KBDINT_PROMPT,
    responses: *mut libssh2_sys::LIBSSH2_USERAUTH_KBDINT_RESPONSE,
    abstract_: *mut *mut c_void,
) {
    let round = KbdRound {
        name,
        name_len,
        instruction,
        instruction_len,
        num_prompts,
        prompts,
        responses,
        abstract_,
    };
    // SAFETY: libssh2 calls this only from inside
    // libssh2_userauth_keyboard_interactive_ex, which keyboard_interactive
    // runs with the session's abstract slot pointing at its live KbdState;
    // the other pointers are libssh2's own, as `respond` requires.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { round.respond() }));
}

/// The arguments of one kbd_response call.
struct KbdRound {
    name: *const c_char,
    name_len: c_int,
    instruction: *const c_char,
    instruction_len: c_int,
    num_prompts: c_int,
    prompts: *const libssh2_sys::LIBSSH2_USERAUTH_KBDINT_PROMPT,
    responses: *mut libssh2_sys::LIBSSH2_USERAUTH_KBDINT_RESPONSE,
    abstract_: *mut *mut c_void,
}

impl KbdRound {
    /// # Safety
    /// As libssh2 promises its response callback: `name` and `instruction`
    /// are NULL or readable for their lengths; `prompts` and `responses`
    /// hold `num_prompts` entries each, every prompt's text readable for
    /// its length, every response writable; `abstract_` is NULL or the
    /// session's abstract slot, which is NULL or points at a live KbdState
    /// nothing else uses during the call.
    unsafe fn respond(&self) {
        // SAFETY: the pointers are as this function's contract says; every
        // index stays below num_prompts; each response gets a malloc'd,
        // NUL-terminated copy, which libssh2 frees with free().
        unsafe {
            if self.abstract_.is_null() || (*self.abstract_).is_null() || self.num_prompts < 0 {
                return;
            }
            let state = &mut *(*self.abstract_ as *mut KbdState<'_, '_>);
            let n = self.num_prompts as usize;
            if n > 0 && (self.prompts.is_null() || self.responses.is_null()) {
                return;
            }
            let texts: Vec<(String, bool)> = (0..n)
                .map(|i| {
                    let p = &*self.prompts.add(i);
                    (
                        server_text(p.text as *const c_char, p.length as c_int),
                        p.echo != 0,
                    )
                })
                .collect();
            let answers = answer_round(
                state,
                &server_text(self.name, self.name_len),
                &server_text(self.instruction, self.instruction_len),
                &texts,
            );
            for (i, a) in answers.iter().enumerate().take(n) {
                let r = &mut *self.responses.add(i);
                let bytes = a.as_ref().map_or(&[][..], |s| s.expose().as_bytes());
                let p = libc::malloc(bytes.len() + 1) as *mut u8;
                if p.is_null() {
                    continue;
                }
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
                *p.add(bytes.len()) = 0;
                r.text = p as *mut c_char;
                r.length = bytes.len() as c_uint;
            }
        }
    }
}

/// The answers of one round: the callback's, the password for the rest.
/// After the callback gave up (or panicked), every later round of the
/// exchange gets empty answers without asking it again.
fn answer_round(
    state: &mut KbdState<'_, '_>,
    name: &str,
    instruction: &str,
    texts: &[(String, bool)],
) -> Vec<Option<Secret>> {
    let c = state.creds;
    let shown: Vec<String> = texts
        .iter()
        .map(|(t, echo)| format!("'{t}'{}", if *echo { "" } else { " (hidden)" }))
        .collect();
    log_to!(
        state.log,
        "keyboard-interactive on {}: {} prompt(s) {}",
        c.peer(),
        texts.len(),
        shown.join(", ")
    );
    if state.stopped.is_some() || state.callback_panicked {
        return vec![None; texts.len()];
    }
    let mut answers = KbdAnswers::new(texts.len());
    if let Some(cb) = c.kbdint {
        c.kbdint_asked.set(true);
        let prompts: Vec<KbdPrompt<'_>> = texts
            .iter()
            .map(|(t, echo)| KbdPrompt {
                text: t,
                echo: *echo,
            })
            .collect();
        let req = KbdRequest {
            host: c.host,
            port: c.port,
            user: c.user,
            name,
            instruction,
            prompts: &prompts,
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&req, &mut answers))) {
            Ok(Ok(())) => {}
            Ok(Err(value)) => {
                state.stopped = Some(value);
                return vec![None; texts.len()];
            }
            Err(_) => {
                state.callback_panicked = true;
                return vec![None; texts.len()];
            }
        }
    }
    let answers: Vec<Option<Secret>> = answers
        .answers
        .into_iter()
        .map(|a| a.or_else(|| c.password.map(Secret::new)))
        .collect();
    // A server may quote an answer back (a wrong code, say): never let it
    // into a message or log line.
    for a in answers.iter().flatten() {
        c.redactor.add(a);
    }
    answers
}
