//! pysftp's CnOpts: connection options beyond authentication.

use std::path::PathBuf;
use std::time::Duration;

use super::hostkeys::{self, KnownHosts, ServerKey, StoredKey};
use super::log::LogTarget;
use super::paths::expand_user;
use crate::error::{Error, ErrorKind, Result};

/// What the application's host-key callback decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyDecision {
    Reject,
    /// Trust the key for this connection only.
    Accept,
    /// Trust it and append it to the primary known_hosts file (for an
    /// unknown host; a changed key is never written over).
    AcceptAndSave,
}

/// Why the host-key callback is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyStatus {
    Unknown,
    Changed,
}

/// The question put to a host-key callback.
#[derive(Debug, Clone)]
pub struct HostKeyQuery<'a> {
    pub host: &'a str,
    pub port: u16,
    pub key: &'a ServerKey,
    pub status: HostKeyStatus,
}

/// The application's host-key callback.
pub type HostKeyCallback =
    std::sync::Arc<dyn Fn(&HostKeyQuery<'_>) -> HostKeyDecision + Send + Sync>;

/// What to do with a host that is not in known_hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownHostPolicy {
    /// Refuse it (the default, as pysftp 0.2.9 does).
    #[default]
    Reject,
    /// Trust on first use: append its key to the primary known_hosts file.
    AcceptNew,
}

/// Which ssh_config files a connect reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SshConfigFiles {
    /// None (the default, as pysftp).
    #[default]
    Off,
    /// ~/.ssh/config then /etc/ssh/ssh_config, as `ssh` reads them.
    Default,
    /// This file only, as `ssh -F FILE`.
    File(PathBuf),
}

/// The options the caller set: they win over ssh_config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetByCaller {
    pub hostkeys: bool,
    pub unknown_host: bool,
    pub compression: bool,
    pub ciphers: bool,
    pub connect_timeout: bool,
    pub keepalive: bool,
    pub keepalive_count_max: bool,
}

/// The global known_hosts files OpenSSH reads (read-only, missing is fine).
pub const GLOBAL_KNOWN_HOSTS: [&str; 2] = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"];

#[derive(Clone)]
pub struct CnOpts {
    /// known_hosts files to check against; None turns checking off (pysftp
    /// `cnopts.hostkeys = None`).
    pub hostkeys: Option<Vec<PathBuf>>,
    pub unknown_host: UnknownHostPolicy,
    pub log: LogTarget,
    pub compression: bool,
    /// Cipher preference, best first; None keeps libssh2's order.
    pub ciphers: Option<Vec<String>>,
    /// TCP connect plus SSH handshake and authentication.
    pub connect_timeout: Option<Duration>,
    /// Every later blocking read or write (pysftp's `timeout`).
    pub timeout: Option<Duration>,
    /// A call whose bytes stop moving for this long ends with Timeout
    /// (None = off). On by default, unlike `timeout`.
    pub stall_timeout: Option<Duration>,
    /// Send an SSH keepalive after this much idle time.
    pub keepalive: Option<Duration>,
    /// Asked when the host is unknown or its key changed.
    pub hostkey_callback: Option<HostKeyCallback>,
    /// Accept exactly this key and nothing else: how the extra connections
    /// of a tree operation trust the key the first one checked.
    pub pinned_host_key: Option<ServerKey>,
    /// The same for each jump host, in order.
    pub pinned_hop_keys: Option<Vec<ServerKey>>,
    /// Read-only known_hosts files consulted after `hostkeys`.
    pub global_hostkeys: Vec<PathBuf>,
    /// With `keepalive`: a server that leaves data unacknowledged for
    /// keepalive x this many intervals is given up (TCP_USER_TIMEOUT).
    pub keepalive_count_max: u32,
    pub ssh_config: SshConfigFiles,
    /// The caller's route (psftp_cnopts_set_proxy_jump / _proxy_command):
    /// wins over ssh_config's.
    pub proxy: Option<super::ssh_config::Proxy>,
    pub set_by_caller: SetByCaller,
    /// The largest READ or WRITE request to send (None: what the server
    /// accepts). 32 KiB makes psftp ask what a draft-only client asks.
    pub max_request_size: Option<u32>,
}

impl std::fmt::Debug for CnOpts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CnOpts")
            .field("hostkeys", &self.hostkeys)
            .field("unknown_host", &self.unknown_host)
            .field("log", &self.log)
            .field("compression", &self.compression)
            .field("ciphers", &self.ciphers)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("stall_timeout", &self.stall_timeout)
            .field("keepalive", &self.keepalive)
            .field("hostkey_callback", &self.hostkey_callback.is_some())
            .field("pinned_host_key", &self.pinned_host_key)
            .field("pinned_hop_keys", &self.pinned_hop_keys)
            .field("global_hostkeys", &self.global_hostkeys)
            .field("keepalive_count_max", &self.keepalive_count_max)
            .field("ssh_config", &self.ssh_config)
            .field("proxy", &self.proxy)
            .field("set_by_caller", &self.set_by_caller)
            .field("max_request_size", &self.max_request_size)
            .finish()
    }
}

/// pysftp has no connect timeout; a library that can hang forever on a
/// black-holed address is not what C callers expect, so default to 30 s.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The stall timeout's default. A healthy server answers an SFTP request or
/// moves data within seconds; the slowest legitimate silence psftp knows
/// of is a server-side fsync or close of a large file on slow storage,
/// which takes tens of seconds. 60 s sits above that and still ends a
/// black-holed transfer in a minute: between the GUI clients (WinSCP 15 s,
/// FileZilla 20 s, Cyberduck 30 s) and rclone's 5 min IO idle timeout.
pub(crate) const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for CnOpts {
    fn default() -> Self {
        CnOpts::new(None)
    }
}

impl CnOpts {
    /// `knownhosts` defaults to ~/.ssh/known_hosts; `~` is expanded. A
    /// missing file is not an error here (pysftp only warns): the connect
    /// then reports the host as unknown and names the file.
    pub fn new(knownhosts: Option<&str>) -> CnOpts {
        let primary = match knownhosts {
            Some(p) => Some(expand_user(p)),
            None => hostkeys::default_known_hosts(),
        };
        CnOpts {
            hostkeys: Some(primary.into_iter().collect()),
            pinned_hop_keys: None,
            global_hostkeys: GLOBAL_KNOWN_HOSTS.iter().map(PathBuf::from).collect(),
            keepalive_count_max: 3,
            ssh_config: SshConfigFiles::Off,
            proxy: None,
            set_by_caller: SetByCaller {
                hostkeys: knownhosts.is_some(),
                ..SetByCaller::default()
            },
            unknown_host: UnknownHostPolicy::Reject,
            log: LogTarget::Off,
            compression: false,
            ciphers: None,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            timeout: None,
            stall_timeout: Some(DEFAULT_STALL_TIMEOUT),
            keepalive: None,
            hostkey_callback: None,
            pinned_host_key: None,
            max_request_size: None,
        }
    }

    /// Cap READ and WRITE requests at `bytes` (0: no cap).
    pub fn set_max_request_size(&mut self, bytes: u32) -> Result<()> {
        use crate::sftp::{MAX_IO_SIZE, MIN_IO_CAP};
        self.max_request_size = match bytes {
            0 => None,
            MIN_IO_CAP..=MAX_IO_SIZE => Some(bytes),
            _ => {
                return Err(Error::invalid_arg(
                    "max_request_size",
                    format!(
                        "{bytes} bytes is out of range: {MIN_IO_CAP} to {MAX_IO_SIZE}, \
                         or 0 for the server's limit"
                    ),
                ))
            }
        };
        Ok(())
    }

    /// pysftp `cnopts.hostkeys.load(path)`: merge another known_hosts file.
    /// The file must exist and be readable now.
    pub fn load(&mut self, path: &str) -> Result<()> {
        let Some(files) = self.hostkeys.as_mut() else {
            return Err(Error::invalid_arg(
                "cnopts",
                "hostkeys is None (checking is off); set a known_hosts file first",
            ));
        };
        let p = expand_user(path);
        std::fs::File::open(&p).map_err(|e| Error::local_io("load known_hosts", &p, &e))?;
        files.push(p);
        Ok(())
    }

    /// pysftp `cnopts.hostkeys = None` (None) or a fresh known_hosts file.
    pub fn set_hostkeys(&mut self, knownhosts: Option<&str>) {
        self.hostkeys = knownhosts.map(|p| vec![expand_user(p)]);
        self.set_by_caller.hostkeys = true;
    }

    /// Validate and set the cipher preference ("aes128-ctr,aes256-gcm@openssh.com").
    pub fn set_ciphers(&mut self, list: Option<&str>) -> Result<()> {
        let Some(list) = list else {
            self.ciphers = None;
            self.set_by_caller.ciphers = false;
            return Ok(());
        };
        let names: Vec<String> = list
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if names.is_empty() {
            return Err(Error::invalid_arg("ciphers", "the list is empty"));
        }
        let supported = supported_algorithms(ssh2::MethodType::CryptCs)?;
        if let Some(bad) = names.iter().find(|n| !supported.contains(&n.as_str())) {
            return Err(Error::invalid_arg(
                "ciphers",
                format!(
                    "'{bad}' is not supported (supported: {})",
                    supported.join(",")
                ),
            ));
        }
        self.ciphers = Some(names);
        self.set_by_caller.ciphers = true;
        Ok(())
    }

    /// Load every configured known_hosts file into `kh`, then the global
    /// ones that exist; returns the files that could not be read, for
    /// messages.
    pub fn load_known_hosts(&self, kh: &mut KnownHosts) -> Vec<String> {
        let mut unreadable = Vec::new();
        let Some(user) = &self.hostkeys else {
            return unreadable;
        };
        let global = self.global_hostkeys.iter().filter(|p| p.exists());
        for f in user.iter().chain(global) {
            if let Err(e) = kh.load_file(f) {
                unreadable.push(e.message().to_string());
            }
        }
        unreadable
    }

    /// Use ssh_config: `Default` files, a `File`, or `Off`. A named file
    /// must be readable now.
    pub fn set_ssh_config(&mut self, files: SshConfigFiles) -> Result<()> {
        if let SshConfigFiles::File(p) = &files {
            std::fs::File::open(p).map_err(|e| Error::local_io("read ssh_config", p, &e))?;
        }
        self.ssh_config = files;
        Ok(())
    }

    /// psftp_cnopts_set_proxy_jump: "[user@]host[:port],..." or None.
    pub fn set_proxy_jump(&mut self, hops: Option<&str>) -> Result<()> {
        self.proxy = match hops {
            None => None,
            Some(spec) => match super::ssh_config::parse_jump_list(spec)? {
                hops if hops.is_empty() => Some(super::ssh_config::Proxy::None),
                hops => Some(super::ssh_config::Proxy::Jump(hops)),
            },
        };
        Ok(())
    }

    /// psftp_cnopts_set_proxy_command: a shell command with %h %p %r %n
    /// %% tokens, or None.
    pub fn set_proxy_command(&mut self, command: Option<&str>) -> Result<()> {
        self.proxy = match command.map(str::trim) {
            None => None,
            Some("") => return Err(Error::invalid_arg("command", "is empty")),
            Some(c) => {
                super::ssh_config::check_tokens(c, "command")?;
                Some(super::ssh_config::Proxy::Command(c.to_string()))
            }
        };
        Ok(())
    }

    /// The known_hosts files consulted, for messages: the user's, then the
    /// global ones that exist.
    pub fn all_hostkeys_description(&self) -> String {
        let mut d = self.hostkeys_description();
        for g in self.global_hostkeys.iter().filter(|p| p.exists()) {
            d.push_str(&format!(", {}", g.display()));
        }
        d
    }

    /// pysftp `CnOpts.get_hostkey(host)`: the first stored key for `host`
    /// (give "[host]:port" for a non-default port).
    pub fn get_hostkey(&self, host: &str) -> Result<StoredKey> {
        let session = ssh2::Session::new()
            .map_err(|e| Error::new(ErrorKind::Ssh, format!("libssh2 session: {e}")))?;
        let mut kh = KnownHosts::new(&session)?;
        self.load_known_hosts(&mut kh);
        kh.keys_for(host).into_iter().next().ok_or_else(|| {
            Error::new(
                ErrorKind::HostKeyUnknown,
                format!(
                    "no hostkey for host {host} found in {}",
                    self.hostkeys_description()
                ),
            )
        })
    }

    /// "a, b" list of the known_hosts files, for messages.
    pub fn hostkeys_description(&self) -> String {
        match &self.hostkeys {
            None => "(host key checking is off)".to_string(),
            Some(v) if v.is_empty() => "(no known_hosts file)".to_string(),
            Some(v) => v
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// What libssh2 supports for `kind`.
pub fn supported_algorithms(kind: ssh2::MethodType) -> Result<Vec<&'static str>> {
    let session = ssh2::Session::new()
        .map_err(|e| Error::new(ErrorKind::Ssh, format!("libssh2 session: {e}")))?;
    session
        .supported_algs(kind)
        .map_err(|e| Error::new(ErrorKind::Ssh, format!("libssh2 supported algorithms: {e}")))
}
