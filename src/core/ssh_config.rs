//! ssh_config(5), the part psftp honours: what `ssh HOST` would use for
//! the host name, port, user, keys, proxies, known_hosts files, host-key
//! policy, timeouts, keepalives, ciphers and compression.
//!
//! As in OpenSSH the files are evaluated for one host at a time: lines are
//! read in order, `Host` and `Match` lines switch the following lines on or
//! off, `Include` reads other files in place, and the first value obtained
//! for a keyword wins (IdentityFile accumulates). Unknown keywords are
//! ignored; a malformed line is an error naming its file and line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// Every Match criterion OpenSSH knows that takes an argument.
const MATCH_CRITERIA: &[&str] = &[
    "host",
    "originalhost",
    "user",
    "localuser",
    "sessiontype",
    "exec",
    "localnetwork",
    "tagged",
    "version",
    "command",
];

/// OpenSSH's limit on nested Include.
const MAX_INCLUDE_DEPTH: usize = 16;
/// Files read for one evaluation. Loops are caught by the include stack;
/// this bounds files that include the next one twice, which would be
/// read 2^16 times before the depth limit stops them.
const MAX_FILES_READ: usize = 10_000;
/// A config file larger than this is refused (they are a few KiB).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// What `StrictHostKeyChecking` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrictHostKeyChecking {
    /// Refuse unknown hosts (also `ask`: psftp cannot ask).
    Yes,
    /// Add unknown hosts' keys, refuse changed ones.
    AcceptNew,
    /// Accept any key (`no`, `off`).
    No,
}

/// One `ProxyJump` hop: `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// How the host is reached. As in OpenSSH, whichever of a real
/// `ProxyJump` and a real `ProxyCommand` comes first wins; `ProxyJump none`
/// leaves a later ProxyCommand free, `ProxyCommand none` blocks a later
/// ProxyJump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proxy {
    /// `ProxyJump none` or `ProxyCommand none`: connect directly.
    None,
    /// Jump hosts in order.
    Jump(Vec<Hop>),
    /// A command whose stdin and stdout carry the connection; `%` tokens
    /// are expanded once host, port and user are final.
    Command(String),
}

/// Everything a config gives one host. `None` (or empty) means the config
/// says nothing and psftp's own default applies. Values the caller gave
/// explicitly are put in before the files are read (`resolve`'s
/// `presets`), so they win, as ssh's command-line options do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// The name the caller asked for (the `Host` patterns match it).
    pub alias: String,
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<PathBuf>,
    pub identities_only: Option<bool>,
    /// A socket path, or `None` inside for "none" (no agent).
    pub identity_agent: Option<Option<PathBuf>>,
    /// ProxyJump or ProxyCommand (expanded), whichever came first.
    pub proxy: Option<Proxy>,
    pub user_known_hosts_files: Option<Vec<PathBuf>>,
    pub global_known_hosts_files: Option<Vec<PathBuf>>,
    pub strict_host_key_checking: Option<StrictHostKeyChecking>,
    pub connect_timeout: Option<Duration>,
    pub server_alive_interval: Option<Duration>,
    pub server_alive_count_max: Option<u32>,
    /// The cipher list as written: a plain list, or one starting with
    /// `+`, `-` or `^` to change the default list (see `ciphers_from`).
    pub ciphers: Option<String>,
    pub compression: Option<bool>,
    /// Lines that could not be honoured (a `Match exec`, say), for the
    /// effective-settings report and the log.
    pub notes: Vec<String>,
}

/// Where a line came from, for error messages.
#[derive(Debug, Clone)]
struct Origin<'a> {
    file: &'a Path,
    line: usize,
}

impl Origin<'_> {
    fn error(&self, why: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "ssh_config '{}' line {}: {why}",
                self.file.display(),
                self.line
            ),
        )
    }
}

/// The local facts tokens and `Match` need.
#[derive(Debug, Clone)]
pub struct Local {
    pub user: String,
    pub home: PathBuf,
    pub hostname: String,
    pub uid: u32,
}

impl Local {
    /// The facts of the calling process.
    pub fn current() -> Local {
        Local {
            user: super::paths::default_username().unwrap_or_default(),
            home: super::paths::home_dir().unwrap_or_else(|| PathBuf::from("/")),
            hostname: local_hostname(),
            // SAFETY: getuid has no preconditions and cannot fail.
            uid: unsafe { libc::getuid() },
        }
    }
}

fn local_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`,
    // which is ours and writable; a name that does not fit may lack its
    // NUL, which the search below allows for (it never reads past `buf`).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A config file and how relative `Include` paths in it are anchored.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// Relative Include paths live here: ~/.ssh for a user's file,
    /// /etc/ssh for the system's.
    pub include_dir: PathBuf,
    /// Refuse the file unless it is owned by root or the user and not
    /// writable by group or others (OpenSSH's check on ~/.ssh/config;
    /// every Included file is checked whatever this says).
    pub check_perms: bool,
}

impl ConfigFile {
    /// `~/.ssh/config` then `/etc/ssh/ssh_config`, as `ssh` reads them.
    pub fn defaults(local: &Local) -> Vec<ConfigFile> {
        let ssh_dir = local.home.join(".ssh");
        vec![
            ConfigFile {
                path: ssh_dir.join("config"),
                include_dir: ssh_dir,
                check_perms: true,
            },
            ConfigFile {
                path: PathBuf::from("/etc/ssh/ssh_config"),
                include_dir: PathBuf::from("/etc/ssh"),
                check_perms: false,
            },
        ]
    }

    /// A file the caller names (`ssh -F`); relative Includes are anchored
    /// at ~/.ssh. Like OpenSSH's -F, the file itself is not checked for
    /// owner and mode; the files it Includes are.
    pub fn named(path: &Path, local: &Local) -> ConfigFile {
        ConfigFile {
            path: path.to_path_buf(),
            include_dir: local.home.join(".ssh"),
            check_perms: false,
        }
    }
}

/// Evaluate `files` for `alias`, starting from `presets` (the caller's
/// explicit values, which win as the first obtained). Missing default
/// files are fine; a named file that is missing is the caller's to check
/// first.
pub fn resolve(
    alias: &str,
    presets: &HostConfig,
    files: &[ConfigFile],
    local: &Local,
) -> Result<HostConfig> {
    let mut eval = Eval::new(alias, presets, local);
    for f in files {
        if f.path.exists() {
            eval.file(&f.path, &f.include_dir, 0, true, f.check_perms, None)?;
        }
    }
    eval.finish()
}

/// Evaluate config `text` (as if read from `name`) for `alias`: what the
/// fuzz target drives (through `psftp::fuzzing`).
#[cfg(feature = "fuzzing")]
pub fn resolve_text(alias: &str, text: &str, name: &Path, local: &Local) -> Result<HostConfig> {
    let presets = HostConfig::default();
    let mut eval = Eval::new(alias, &presets, local);
    eval.text(text.as_bytes(), name, &local.home.join(".ssh"), 0, true)?;
    eval.finish()
}

struct Eval<'a> {
    cfg: HostConfig,
    /// What the caller fixed: never token-expanded (a literal '%' in a
    /// path the caller gives stays as it is).
    presets: &'a HostConfig,
    local: &'a Local,
    files_read: usize,
    /// (device, inode) of each file being read, outermost first: a file
    /// met again here includes itself.
    reading: Vec<(u64, u64)>,
    /// (keyword, index of the value, "ssh_config 'FILE' line N") of the
    /// values whose tokens are expanded at the end.
    origins: Vec<(String, usize, String)>,
    /// ProxyJump's slot: empty for `none`. OpenSSH keeps ProxyJump and
    /// ProxyCommand apart: `ProxyJump none` leaves a later ProxyCommand
    /// free, while any ProxyCommand (`none` too) blocks a later ProxyJump.
    jump: Option<Vec<Hop>>,
    /// ProxyCommand's slot, raw: `None` inside for `none`.
    command: Option<Option<String>>,
}

/// Whether the lines of a file may apply at all (an Include met in an
/// inactive block is read with every block forced off, as OpenSSH does).
type MayMatch = bool;

impl<'a> Eval<'a> {
    fn new(alias: &str, presets: &'a HostConfig, local: &'a Local) -> Eval<'a> {
        Eval {
            cfg: HostConfig {
                alias: alias.to_string(),
                notes: Vec::new(),
                ..presets.clone()
            },
            presets,
            local,
            files_read: 0,
            reading: Vec::new(),
            origins: Vec::new(),
            jump: match &presets.proxy {
                Some(Proxy::None) => Some(Vec::new()),
                Some(Proxy::Jump(hops)) => Some(hops.clone()),
                _ => None,
            },
            command: match &presets.proxy {
                Some(Proxy::None) => Some(None),
                Some(Proxy::Command(c)) => Some(Some(c.clone())),
                _ => None,
            },
        }
    }

    fn file(
        &mut self,
        path: &Path,
        include_dir: &Path,
        depth: usize,
        may: MayMatch,
        check_perms: bool,
        include: Option<&Origin<'_>>,
    ) -> Result<()> {
        let fail = |why: String| match include {
            Some(at) => at.error(why),
            None => Error::invalid_arg("ssh_config", why),
        };
        self.files_read += 1;
        if self.files_read > MAX_FILES_READ {
            return Err(fail(format!(
                "Include '{}': more than {MAX_FILES_READ} files read; do files include each other many times over?",
                path.display()
            )));
        }
        let owner = check_perms.then_some(self.local.uid);
        let (text, id) = read_config(path, owner)?;
        if self.reading.contains(&id) {
            return Err(fail(format!(
                "Include loop: '{}' is already being read",
                path.display()
            )));
        }
        self.reading.push(id);
        let r = self.text(&text, path, include_dir, depth, may);
        self.reading.pop();
        r
    }

    /// The lines of one file. A line that is not UTF-8 is an error (naming
    /// file and line) only if it holds a keyword, in any block: blank and
    /// comment lines may hold any bytes.
    fn text(
        &mut self,
        text: &[u8],
        path: &Path,
        include_dir: &Path,
        depth: usize,
        may: MayMatch,
    ) -> Result<()> {
        // Lines before the first Host or Match apply to every host.
        let mut active = may;
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let at = Origin {
                file: path,
                line: i + 1,
            };
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let raw = match std::str::from_utf8(raw) {
                Ok(s) => s,
                Err(_) if is_blank_or_comment(raw) => continue,
                Err(_) => return Err(at.error("not valid UTF-8")),
            };
            let Some(line) = split_line(raw).map_err(|e| at.error(e))? else {
                continue;
            };
            let args = &line.args;
            match line.keyword.to_ascii_lowercase().as_str() {
                "host" => active = may && self.host_matches(args, &at)?,
                "match" => active = may && self.match_matches(args, &at)?,
                "include" => {
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(at.error("Include nested too deeply"));
                    }
                    for inc in include_paths(args, include_dir, self.local, &at)? {
                        self.file(&inc, include_dir, depth + 1, active, true, Some(&at))?;
                    }
                }
                _ => self.setting(&line, active, &at)?,
            }
        }
        Ok(())
    }

    /// `Host` patterns compare case-sensitively with the name as given,
    /// as in OpenSSH (readconf.c match_pattern on the unlowered name).
    fn host_matches(&self, patterns: &[String], at: &Origin<'_>) -> Result<bool> {
        if patterns.is_empty() {
            return Err(at.error("Host needs at least one pattern"));
        }
        Ok(pattern_list_matches(
            &self.cfg.alias,
            patterns.iter().cloned(),
        ))
    }

    /// `Match` criteria, OpenSSH's set and forms (`crit arg`, `crit=arg`,
    /// `!crit`); all must hold. `all` must stand alone. Criteria psftp
    /// cannot evaluate (exec, localnetwork, canonical, final, tagged,
    /// version, command) make the block not apply, with a note; `exec`
    /// is never run.
    fn match_matches(&mut self, args: &[String], at: &Origin<'_>) -> Result<bool> {
        if args.is_empty() {
            return Err(at.error("Match needs criteria"));
        }
        let mut all = true;
        let mut it = args.iter();
        let mut first = true;
        while let Some(raw) = it.next() {
            let (negate, word) = match raw.strip_prefix('!') {
                Some(c) => (true, c),
                None => (false, raw.as_str()),
            };
            let (crit, inline) = match word.split_once('=') {
                Some((c, v)) => (c.to_ascii_lowercase(), Some(v)),
                None => (word.to_ascii_lowercase(), None),
            };
            if crit == "all" && inline.is_none() {
                if !first || it.len() > 0 {
                    return Err(at.error(format!(
                        "Match '{raw}' cannot be combined with other criteria"
                    )));
                }
                return Ok(!negate);
            }
            first = false;
            if matches!(crit.as_str(), "canonical" | "final") && inline.is_none() {
                // No argument. psftp makes one pass and never
                // canonicalises the host name, so neither state exists.
                self.note(
                    at,
                    format!("Match {crit} is not supported; the block is ignored"),
                );
                all = false;
                continue;
            }
            if !MATCH_CRITERIA.contains(&crit.as_str()) {
                return Err(at.error(format!("unknown Match criterion '{crit}'")));
            }
            let arg = match inline.or_else(|| it.next().map(String::as_str)) {
                Some(a) if !a.is_empty() || matches!(crit.as_str(), "tagged" | "command") => a,
                _ => return Err(at.error(format!("Match {crit} needs an argument"))),
            };
            let hit = match crit.as_str() {
                "host" => host_list_matches(&self.match_host(), arg),
                "originalhost" => host_list_matches(&self.cfg.alias, arg),
                "user" => {
                    let user = self.cfg.user.as_deref().unwrap_or(&self.local.user);
                    pattern_list_matches(user, arg.split(',').map(String::from))
                }
                "localuser" => {
                    pattern_list_matches(&self.local.user, arg.split(',').map(String::from))
                }
                // psftp's session is the sftp subsystem.
                "sessiontype" => {
                    pattern_list_matches("subsystem", arg.split(',').map(String::from))
                }
                _ => {
                    self.note(
                        at,
                        format!("Match {crit} is not supported; the block is ignored"),
                    );
                    all = false;
                    continue;
                }
            };
            all &= hit != negate;
        }
        Ok(all)
    }

    /// What `Match host` compares: HostName with its `%h` expanded (as
    /// OpenSSH's match_cfg_line does), else the name asked for.
    fn match_host(&self) -> String {
        match &self.cfg.hostname {
            Some(h) if self.presets.hostname.is_none() => {
                expand(h, &[('h', &self.cfg.alias)], "HostName", false).unwrap_or(h.clone())
            }
            Some(h) => h.clone(),
            None => self.cfg.alias.clone(),
        }
    }

    fn note(&mut self, at: &Origin<'_>, what: String) {
        self.cfg
            .notes
            .push(format!("{} line {}: {what}", at.file.display(), at.line));
    }

    /// One keyword line (`key` as written). Its arguments are checked even
    /// in inactive blocks, so a typo is reported whichever host is asked
    /// for.
    fn setting(&mut self, line: &Line, active: bool, at: &Origin<'_>) -> Result<()> {
        let key = line.keyword.to_ascii_lowercase();
        let before = self.filled(&key);
        self.setting_here(line, active, at)?;
        let after = self.filled(&key);
        if after != before {
            // Tokens are expanded at the end: remember where the value
            // came from for their errors.
            let place = format!("ssh_config '{}' line {}", at.file.display(), at.line);
            self.origins.push((key, after - 1, place));
        }
        Ok(())
    }

    /// How many values the slot of `key` (lowercase) holds, for the
    /// keywords whose values take tokens.
    fn filled(&self, key: &str) -> usize {
        let c = &self.cfg;
        match key {
            "identityfile" => c.identity_files.len(),
            "hostname" => c.hostname.is_some().into(),
            "userknownhostsfile" => c.user_known_hosts_files.is_some().into(),
            "globalknownhostsfile" => c.global_known_hosts_files.is_some().into(),
            "identityagent" => c.identity_agent.is_some().into(),
            "proxycommand" => self.command.is_some().into(),
            _ => 0,
        }
    }

    fn setting_here(&mut self, line: &Line, active: bool, at: &Origin<'_>) -> Result<()> {
        let (key, args) = (line.keyword.as_str(), line.args.as_slice());
        let one = || -> Result<&String> {
            match args {
                [a] => Ok(a),
                [] => Err(at.error(format!("{key} needs a value"))),
                _ => Err(at.error(format!("{key} takes one value"))),
            }
        };
        let c = &mut self.cfg;
        match key.to_ascii_lowercase().as_str() {
            "hostname" => set(&mut c.hostname, active, one()?.clone()),
            "user" => set(&mut c.user, active, one()?.clone()),
            "port" => set(&mut c.port, active, parse_port(one()?, at)?),
            "identityfile" => {
                let f = one()?;
                if active {
                    c.identity_files.push(PathBuf::from(f));
                }
            }
            "identitiesonly" => set(&mut c.identities_only, active, yes_no(one()?, at)?),
            "identityagent" => {
                let v = one()?;
                let agent = (!v.eq_ignore_ascii_case("none")).then(|| PathBuf::from(v));
                set(&mut c.identity_agent, active, agent)
            }
            "proxyjump" => {
                let hops = parse_jump(one()?, at)?;
                // A real jump list only if no ProxyCommand came first.
                let free = hops.is_empty() || self.command.is_none();
                set(&mut self.jump, active && free, hops)
            }
            "proxycommand" => {
                // The rest of the line as written, quotes and all: it is
                // a shell command, not a list of arguments.
                let cmd = line.rest.trim();
                if cmd.is_empty() {
                    return Err(at.error("ProxyCommand needs a command"));
                }
                let command = (!cmd.eq_ignore_ascii_case("none")).then(|| cmd.to_string());
                set(&mut self.command, active, command)
            }
            "userknownhostsfile" => set(
                &mut c.user_known_hosts_files,
                active,
                file_list(args, key, at)?,
            ),
            "globalknownhostsfile" => set(
                &mut c.global_known_hosts_files,
                active,
                file_list(args, key, at)?,
            ),
            "stricthostkeychecking" => {
                let v = match one()?.to_ascii_lowercase().as_str() {
                    "yes" | "true" | "ask" => StrictHostKeyChecking::Yes,
                    "accept-new" => StrictHostKeyChecking::AcceptNew,
                    "no" | "false" | "off" => StrictHostKeyChecking::No,
                    other => {
                        return Err(at.error(format!(
                            "StrictHostKeyChecking '{other}' is not yes, accept-new, no, off or ask"
                        )))
                    }
                };
                set(&mut c.strict_host_key_checking, active, v)
            }
            // `none` leaves the value unset, so a later line may still
            // set it (OpenSSH stores -1, its "unset").
            "connecttimeout" => {
                if let Some(t) = time(one()?, key, at)? {
                    set(&mut c.connect_timeout, active, t)
                }
            }
            "serveraliveinterval" => {
                if let Some(t) = time(one()?, key, at)? {
                    set(&mut c.server_alive_interval, active, t)
                }
            }
            "serveralivecountmax" => set(
                &mut c.server_alive_count_max,
                active,
                count(one()?, key, at)?,
            ),
            "ciphers" => set(&mut c.ciphers, active, one()?.clone()),
            "compression" => set(&mut c.compression, active, yes_no(one()?, at)?),
            _ => {} // unknown or not psftp's business
        }
        Ok(())
    }

    /// Tokens and `~` once host, user and port are final. What the caller
    /// preset is taken as it is, except a ProxyCommand, whose tokens are
    /// the point.
    fn finish(mut self) -> Result<HostConfig> {
        let p = self.presets;
        if let (Some(h), None) = (&self.cfg.hostname, &p.hostname) {
            // HostName only knows %h (the name asked for) and %%.
            let host = expand(h, &[('h', &self.cfg.alias)], "HostName", false)
                .map_err(|e| locate(&self.origins, "hostname", 0, e))?;
            self.cfg.hostname = Some(host);
        }
        // A real jump list can only have been set before any
        // ProxyCommand, so it wins; else a real ProxyCommand does (its
        // tokens are expanded below).
        let mut command = None;
        self.cfg.proxy = match (self.jump.take(), self.command.take()) {
            (Some(hops), _) if !hops.is_empty() => Some(Proxy::Jump(hops)),
            (_, Some(Some(cmd))) => {
                command = Some(cmd);
                None
            }
            (None, None) => None,
            _ => Some(Proxy::None),
        };
        let t = Tokens {
            // %j: the jump host the target is reached from (OpenSSH's
            // jump_host, the last of the list), or empty.
            jump: match &self.cfg.proxy {
                Some(Proxy::Jump(hops)) => hops.last().map_or(String::new(), |h| h.host.clone()),
                _ => String::new(),
            },
            alias: self.cfg.alias.clone(),
            host: lower_unless_address(self.cfg.hostname.as_deref().unwrap_or(&self.cfg.alias)),
            user: self.cfg.user.clone().unwrap_or(self.local.user.clone()),
            port: self.cfg.port.unwrap_or(22),
            local: self.local,
        };
        self.cfg.identity_files = self
            .cfg
            .identity_files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                t.path(f, "IdentityFile")
                    .map_err(|e| locate(&self.origins, "identityfile", i, e))
            })
            .collect::<Result<_>>()?;
        for (files, preset, key) in [
            (
                &mut self.cfg.user_known_hosts_files,
                &p.user_known_hosts_files,
                "userknownhostsfile",
            ),
            (
                &mut self.cfg.global_known_hosts_files,
                &p.global_known_hosts_files,
                "globalknownhostsfile",
            ),
        ] {
            if let (Some(list), None) = (files.as_mut(), preset) {
                *list = list
                    .iter()
                    .map(|f| t.path(f, "KnownHostsFile"))
                    .collect::<Result<_>>()
                    .map_err(|e| locate(&self.origins, key, 0, e))?;
            }
        }
        if let (Some(Some(agent)), None) = (&self.cfg.identity_agent, &p.identity_agent) {
            self.cfg.identity_agent = identity_agent(agent, &t)
                .map_err(|e| locate(&self.origins, "identityagent", 0, e))?;
        }
        if let Some(cmd) = command {
            // No ${VAR} here: the shell expands those itself.
            let cmd = t
                .expand(&cmd, "ProxyCommand", false)
                .map_err(|e| locate(&self.origins, "proxycommand", 0, e))?;
            self.cfg.proxy = Some(Proxy::Command(cmd));
        }
        Ok(self.cfg)
    }
}

/// The host name as `%h` gives it: lowercased, as ssh does once the
/// config is read, unless it is an address (OpenSSH's is_addr: a `:`, a
/// `%`, or only digits and dots).
fn lower_unless_address(host: &str) -> String {
    let address =
        host.contains([':', '%']) || host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if address {
        host.to_string()
    } else {
        host.to_ascii_lowercase()
    }
}

/// First value wins: later lines never overwrite.
fn set<T>(slot: &mut Option<T>, active: bool, value: T) {
    if active && slot.is_none() {
        *slot = Some(value);
    }
}

/// `e`, a token error of value `index` of `key`, with the file and line
/// the value came from (a caller's value has none and stays as it is).
fn locate(origins: &[(String, usize, String)], key: &str, index: usize, e: Error) -> Error {
    match origins.iter().find(|(k, i, _)| k == key && *i == index) {
        Some((_, _, place)) => {
            let why = e.message();
            let why = why.strip_prefix("ssh_config: ").unwrap_or(why);
            Error::new(e.kind(), format!("{place}: {why}"))
        }
        None => e,
    }
}

/// IdentityAgent as OpenSSH reads it (ssh.c): `SSH_AUTH_SOCK` is the
/// default (that variable), `$NAME` the socket another variable names (no
/// agent if it is unset), anything else a path with `~`, tokens and
/// `${VAR}`. `None` = the default, `Some(None)` = no agent.
fn identity_agent(agent: &Path, t: &Tokens<'_>) -> Result<Option<Option<PathBuf>>> {
    let raw = agent.to_string_lossy();
    if raw == "SSH_AUTH_SOCK" {
        return Ok(None);
    }
    if let Some(name) = raw.strip_prefix('$').filter(|n| !n.starts_with('{')) {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(Error::invalid_arg(
                "ssh_config",
                format!("IdentityAgent '{raw}': not a valid environment variable name"),
            ));
        }
        return Ok(Some(std::env::var_os(name).map(PathBuf::from)));
    }
    Ok(Some(Some(t.path(agent, "IdentityAgent")?)))
}

/// %C: OpenSSH's connection hash, the SHA-1 (hex) of %l %h %p %r %j run
/// together.
fn connection_hash(parts: &[&str]) -> String {
    let data = parts.concat();
    let mut digest = [0u8; 20];
    // SAFETY: SHA1 reads `data.len()` bytes from `data` and writes its
    // 20-byte digest into `digest`, both ours and live for the call.
    unsafe {
        openssl_sys::SHA1(data.as_ptr(), data.len(), digest.as_mut_ptr());
    }
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The values `%` tokens stand for.
struct Tokens<'a> {
    /// %j: the last jump host's name, or empty.
    jump: String,
    alias: String,
    host: String,
    user: String,
    port: u16,
    local: &'a Local,
}

impl Tokens<'_> {
    /// `%` tokens, and `${VAR}` when `dollar` (paths, not commands).
    fn expand(&self, s: &str, what: &str, dollar: bool) -> Result<String> {
        let port = self.port.to_string();
        let uid = self.local.uid.to_string();
        let home = self.local.home.display().to_string();
        let l = &self.local.hostname;
        let short = l.split('.').next().unwrap_or_default();
        let hash = connection_hash(&[l, &self.host, &port, &self.user, &self.jump]);
        expand(
            s,
            &[
                ('C', &hash),
                ('L', short),
                ('k', &self.host),
                ('j', &self.jump),
                ('d', &home),
                ('u', &self.local.user),
                ('l', &self.local.hostname),
                ('i', &uid),
                ('h', &self.host),
                ('n', &self.alias),
                ('p', &port),
                ('r', &self.user),
            ],
            what,
            dollar,
        )
    }

    /// Tokens, then a leading `~`.
    fn path(&self, p: &Path, what: &str) -> Result<PathBuf> {
        let s = self.expand(&p.to_string_lossy(), what, true)?;
        Ok(tilde(&s, self.local))
    }
}

/// Replace `%x` tokens from `table`; `%%` is a percent sign. With
/// `dollar`, `${VAR}` is the variable's value (an unset one is an error),
/// in the same single pass, as OpenSSH's percent_dollar_expand.
fn expand(s: &str, table: &[(char, &str)], what: &str, dollar: bool) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let fail = |why: String| Error::invalid_arg("ssh_config", format!("{what} '{s}': {why}"));
    while let Some(c) = chars.next() {
        if dollar && c == '$' && chars.as_str().starts_with('{') {
            let rest = &chars.as_str()[1..];
            let Some(end) = rest.find('}') else {
                return Err(fail("'${' without its closing '}'".to_string()));
            };
            let name = &rest[..end];
            if name.is_empty() {
                return Err(fail("an empty ${}".to_string()));
            }
            match std::env::var(name) {
                Ok(v) => out.push_str(&v),
                Err(_) => return Err(fail(format!("environment variable {name} is not set"))),
            }
            chars = rest[end + 1..].chars();
            continue;
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(t) => match table.iter().find(|(k, _)| *k == t) {
                Some((_, v)) => out.push_str(v),
                None => {
                    return Err(Error::invalid_arg(
                        "ssh_config",
                        format!("{what} '{s}': unknown token %{t}"),
                    ))
                }
            },
            None => {
                return Err(Error::invalid_arg(
                    "ssh_config",
                    format!("{what} '{s}': a lone % at the end"),
                ))
            }
        }
    }
    Ok(out)
}

fn tilde(s: &str, local: &Local) -> PathBuf {
    match s.strip_prefix("~/") {
        Some(rest) => local.home.join(rest),
        None if s == "~" => local.home.clone(),
        None => PathBuf::from(s),
    }
}

/// A line of only whitespace, or whose first other byte is '#'.
fn is_blank_or_comment(raw: &[u8]) -> bool {
    !matches!(raw.iter().find(|b| !b.is_ascii_whitespace()), Some(&b) if b != b'#')
}

/// The file's bytes and (device, inode); with `owner`, refused unless owned by root or that
/// uid and not writable by group or others, as OpenSSH refuses "Bad owner
/// or permissions" (checked on the opened file: no race with a rename).
fn read_config(path: &Path, owner: Option<u32>) -> Result<(Vec<u8>, (u64, u64))> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let mut file =
        std::fs::File::open(path).map_err(|e| Error::local_io("read ssh_config", path, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::local_io("read ssh_config", path, &e))?;
    if let Some(uid) = owner {
        if (meta.uid() != 0 && meta.uid() != uid) || meta.mode() & 0o022 != 0 {
            return Err(Error::invalid_arg(
                "ssh_config",
                format!(
                    "bad owner or permissions on '{}' (owner uid {}, mode {:o}): it must belong to you or root and not be writable by group or others",
                    path.display(),
                    meta.uid(),
                    meta.mode() & 0o7777
                ),
            ));
        }
    }
    let len = meta.len();
    if len > MAX_FILE_BYTES {
        return Err(Error::invalid_arg(
            "ssh_config",
            format!(
                "'{}' is {len} bytes, more than a config file can be",
                path.display()
            ),
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::local_io("read ssh_config", path, &e))?;
    Ok((bytes, (meta.dev(), meta.ino())))
}

/// A line's keyword (as written) and arguments; None for blank lines and
/// comments. `Keyword value`, `Keyword=value` and `"quoted values"`.
fn split_line(line: &str) -> std::result::Result<Option<Line>, String> {
    let line = line.trim_matches(|c: char| c.is_ascii_whitespace());
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let key_end = line
        .find(|c: char| c.is_ascii_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = line[..key_end].to_string();
    let mut rest = line[key_end..].trim_start_matches(|c: char| c.is_ascii_whitespace());
    if let Some(r) = rest.strip_prefix('=') {
        rest = r;
    }
    // `Keyword = value`: spaces may stand on both sides of the '='.
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    Ok(Some(Line {
        keyword,
        args: split_args(rest)?,
        rest: rest.to_string(),
    }))
}

/// One keyword line.
struct Line {
    /// As written (keywords are case-insensitive).
    keyword: String,
    args: Vec<String>,
    /// Everything after the keyword and its separator, unsplit.
    rest: String,
}

/// Arguments split as OpenSSH's argv_split does: spaces and tabs
/// separate; double or single quotes group, also in mid-word
/// (`a"b c"d` is `ab cd`); a backslash escapes a quote, a backslash or
/// (outside quotes) a space, and stays as it is before anything else; a
/// `#` starting an argument ends the line.
fn split_args(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|&c| c == ' ' || c == '\t').is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(args),
            Some(_) => {}
        }
        let mut arg = String::new();
        let mut quote = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                ('\\', _) => match chars.peek() {
                    Some(&n)
                        if n == '\'' || n == '"' || n == '\\' || (n == ' ' && quote.is_none()) =>
                    {
                        arg.push(n);
                        chars.next();
                    }
                    _ => arg.push('\\'),
                },
                (' ' | '\t', None) => break,
                ('"' | '\'', None) => quote = Some(c),
                (c, Some(q)) if c == q => quote = None,
                (c, _) => arg.push(c),
            }
        }
        if quote.is_some() {
            return Err("unterminated quote".to_string());
        }
        args.push(arg);
    }
}

/// `Match host`/`originalhost`: case-insensitive, both sides lowered (as
/// OpenSSH's match_hostname).
fn host_list_matches(host: &str, list: &str) -> bool {
    pattern_list_matches(
        &host.to_ascii_lowercase(),
        list.split(',').map(|p| p.to_ascii_lowercase()),
    )
}

/// A pattern list matches when some pattern matches and no negated one
/// does.
pub(crate) fn pattern_list_matches(subject: &str, patterns: impl Iterator<Item = String>) -> bool {
    let mut hit = false;
    for p in patterns {
        match p.strip_prefix('!') {
            Some(neg) if wildcard(neg.as_bytes(), subject.as_bytes()) => return false,
            Some(_) => {}
            None => hit |= wildcard(p.as_bytes(), subject.as_bytes()),
        }
    }
    hit
}

/// `*` (any run) and `?` (one character) matching, iterative with one
/// backtrack point, so no pattern costs more than |p| x |s| steps.
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn include_paths(
    args: &[String],
    dir: &Path,
    local: &Local,
    at: &Origin<'_>,
) -> Result<Vec<PathBuf>> {
    if args.is_empty() {
        return Err(at.error("Include needs a file"));
    }
    let mut out = Vec::new();
    for a in args {
        let p = tilde(a, local);
        let p = if p.is_absolute() { p } else { dir.join(p) };
        out.extend(glob(&p, at)?);
    }
    Ok(out)
}

/// The files a glob names, sorted; none is fine (as in OpenSSH).
fn glob(pattern: &Path, at: &Origin<'_>) -> Result<Vec<PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(pattern.as_os_str().as_bytes())
        .map_err(|_| at.error("Include path contains a NUL"))?;
    // SAFETY: glob_t is plain data (all zeroes is a valid, empty value);
    // glob() reads the NUL-terminated pattern `c` and fills `g`, whose
    // gl_pathv then holds gl_pathc NUL-terminated strings until globfree(),
    // which frees what glob() allocated, also after a failed or empty
    // match, and is called exactly once. glob(3) reads the environment
    // (no GLOB_TILDE here, so no password database); like every getenv
    // caller it relies on no other thread changing the environment at the
    // same time, which std::env::set_var's contract already forbids.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        let rc = libc::glob(c.as_ptr(), 0, None, &mut g);
        let mut out = Vec::new();
        if rc == 0 {
            for i in 0..g.gl_pathc {
                let s = std::ffi::CStr::from_ptr(*g.gl_pathv.add(i));
                out.push(PathBuf::from(std::ffi::OsStr::from_bytes(s.to_bytes())));
            }
        }
        libc::globfree(&mut g);
        Ok(out)
    }
}

fn parse_port(v: &str, at: &Origin<'_>) -> Result<u16> {
    match v.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(at.error(format!("bad port '{v}' (1-65535)"))),
    }
}

fn yes_no(v: &str, at: &Origin<'_>) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        other => Err(at.error(format!("'{other}' is not yes or no"))),
    }
}

/// OpenSSH's time format (misc.c convtime): `none` (unset, `None`), or
/// numbers each with an optional unit s m h d w (none = seconds), added
/// up: `90`, `1h30m`, `2m10s`. A fraction is allowed on seconds only and,
/// as in convtime, dropped. At most INT_MAX seconds.
fn time(v: &str, key: &str, at: &Origin<'_>) -> Result<Option<Duration>> {
    if v == "none" {
        return Ok(None);
    }
    convtime(v)
        .map(|s| Some(Duration::from_secs(s)))
        .ok_or_else(|| {
            at.error(format!(
                "{key} '{v}' is not a time (seconds, or like 1h30m: units s m h d w)"
            ))
        })
}

fn convtime(v: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut seen_seconds = false;
    let mut rest = v;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(end);
        let mut tail = tail.chars();
        let unit = tail.next();
        rest = tail.as_str();
        let mult: u64 = match unit {
            None | Some('s' | 'S') if !seen_seconds => {
                seen_seconds = true;
                1
            }
            Some('m' | 'M') => 60,
            Some('h' | 'H') => 3600,
            Some('d' | 'D') => 86_400,
            Some('w' | 'W') => 604_800,
            _ => return None,
        };
        let whole = match num.split_once('.') {
            // Fractions of seconds only, digits on both sides of one dot.
            Some((w, f)) if mult == 1 && !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
                w
            }
            Some(_) => return None,
            None => num,
        };
        if num.is_empty() || (whole.is_empty() && !num.starts_with('.')) {
            return None;
        }
        let n: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    (total <= i32::MAX as u64).then_some(total)
}

fn count(v: &str, key: &str, at: &Origin<'_>) -> Result<u32> {
    v.parse::<u32>()
        .map_err(|_| at.error(format!("{key} '{v}' is not a count")))
}

fn file_list(args: &[String], key: &str, at: &Origin<'_>) -> Result<Vec<PathBuf>> {
    if args.is_empty() {
        return Err(at.error(format!("{key} needs a file")));
    }
    if args.len() == 1 && args[0].eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    Ok(args.iter().map(PathBuf::from).collect())
}

/// `ProxyJump none` or `[user@]host[:port],...` (also `ssh://` URIs).
fn parse_jump(v: &str, at: &Origin<'_>) -> Result<Vec<Hop>> {
    if v.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    v.split(',')
        .map(|hop| parse_hop(hop).map_err(|why| at.error(format!("ProxyJump '{hop}': {why}"))))
        .collect()
}

/// A jump-host list the caller gives ("a@b:22,c", or "none" for an empty
/// list); errors name the hop by position.
pub fn parse_jump_list(v: &str) -> Result<Vec<Hop>> {
    if v.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    v.split(',')
        .enumerate()
        .map(|(i, hop)| {
            parse_hop(hop.trim()).map_err(|why| {
                Error::invalid_arg("proxy_jump", format!("hop {} '{hop}': {why}", i + 1))
            })
        })
        .collect()
}

/// Whether `s` may be used as a host name: OpenSSH's rule (ssh 9.6,
/// CVE-2023-51385) for names that end up in `%h` of a shell command: no
/// leading '-', no shell metacharacters, quotes, commas, whitespace or
/// control characters. IPv6 literals (`::1`, `[::1]`) pass.
pub fn valid_hostname(s: &str) -> bool {
    !s.starts_with('-')
        && !s
            .chars()
            .any(|c| "'`\"$\\;&<>|(){},".contains(c) || c.is_whitespace() || c.is_control())
}

/// Whether `s` may be used as a remote user name (OpenSSH's rule): no
/// leading '-', no control characters or shell metacharacters, no '-'
/// right after whitespace, no '\\' at the end.
pub fn valid_ruser(s: &str) -> bool {
    let b = s.as_bytes();
    !s.starts_with('-')
        && !s
            .chars()
            .any(|c| c.is_control() || "'`\";&<>|(){}".contains(c))
        && !b
            .windows(2)
            .any(|w| w[0].is_ascii_whitespace() && w[1] == b'-')
        && !s.ends_with('\\')
}

/// `valid_hostname` as an error naming `param`; the name is shown
/// escaped (a host name is not a secret).
pub fn check_hostname(param: &str, host: &str) -> Result<()> {
    if valid_hostname(host) {
        return Ok(());
    }
    Err(Error::invalid_arg(
        param,
        format!(
            "host name '{}' contains characters a host name cannot have (a leading '-', whitespace, control characters or any of ' ` \" $ \\ ; & < > | ( ) {{ }} ,)",
            host.escape_debug()
        ),
    ))
}

/// `valid_ruser` as an error naming `param`.
pub fn check_ruser(param: &str, user: &str) -> Result<()> {
    if valid_ruser(user) {
        return Ok(());
    }
    Err(Error::invalid_arg(
        param,
        format!(
            "user name '{}' contains characters a user name cannot have (a leading '-', control characters, '-' after a space, a trailing '\\' or any of ' ` \" ; & < > | ( ) {{ }})",
            user.escape_debug()
        ),
    ))
}

/// Check that `cmd` uses only the tokens a ProxyCommand knows.
pub fn check_tokens(cmd: &str, what: &str) -> Result<()> {
    let t: Vec<(char, &str)> = "CLkjdulihnpr".chars().map(|c| (c, "x")).collect();
    expand(cmd, &t, what, false).map(|_| ())
}

/// One `[user@]host[:port]` (IPv6 in brackets), or `ssh://[user@]host[:port]`.
pub fn parse_hop(hop: &str) -> std::result::Result<Hop, String> {
    let s = hop.strip_prefix("ssh://").unwrap_or(hop);
    let (user, rest) = match s.rsplit_once('@') {
        Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
        Some(_) => return Err("empty user".to_string()),
        None => (None, s),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (h, tail) = inner.split_once(']').ok_or("unclosed '['")?;
        match tail.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if tail.is_empty() => (h, None),
            None => return Err(format!("unexpected '{tail}' after ']'")),
        }
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err("empty host".to_string());
    }
    if !valid_hostname(host) {
        return Err("the host name contains characters a host name cannot have".to_string());
    }
    if user.as_deref().is_some_and(|u| !valid_ruser(u)) {
        return Err("the user name contains characters a user name cannot have".to_string());
    }
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("bad port '{p}'")),
        },
        None => None,
    };
    Ok(Hop {
        user,
        host: host.to_string(),
        port,
    })
}

/// The cipher list `spec` makes of `default` (comma-separated): a plain
/// list replaces it; `+list` appends, `-list` removes (wildcards allowed),
/// `^list` puts in front.
pub fn ciphers_from(spec: &str, default: &[&str]) -> Vec<String> {
    let items = |s: &str| -> Vec<String> {
        s.split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    };
    let base: Vec<String> = default.iter().map(|c| c.to_string()).collect();
    if let Some(add) = spec.strip_prefix('+') {
        let mut v = base;
        v.extend(
            items(add)
                .into_iter()
                .filter(|c| !default.contains(&c.as_str())),
        );
        v
    } else if let Some(remove) = spec.strip_prefix('-') {
        let gone = items(remove);
        base.into_iter()
            .filter(|c| !gone.iter().any(|g| wildcard(g.as_bytes(), c.as_bytes())))
            .collect()
    } else if let Some(front) = spec.strip_prefix('^') {
        let first = items(front);
        let rest = base.into_iter().filter(|c| !first.contains(c));
        first.iter().cloned().chain(rest).collect()
    } else {
        items(spec)
    }
}

impl std::fmt::Display for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            let d = std::env::temp_dir().join(format!(
                "psftp-sshcfg-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(d.join(".ssh/config.d")).unwrap();
            Dir(d)
        }
        fn write(&self, rel: &str, text: &str) -> PathBuf {
            use std::os::unix::fs::PermissionsExt;
            let p = self.0.join(rel);
            std::fs::write(&p, text).unwrap();
            // Whatever the umask: Included files must not be group-writable.
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            p
        }
        fn local(&self) -> Local {
            Local {
                user: "me".into(),
                home: self.0.clone(),
                hostname: "laptop".into(),
                uid: 1000,
            }
        }
        fn resolve(&self, alias: &str, config: &str) -> Result<HostConfig> {
            self.resolve_with(alias, config, &HostConfig::default())
        }
        fn resolve_with(
            &self,
            alias: &str,
            config: &str,
            presets: &HostConfig,
        ) -> Result<HostConfig> {
            let path = self.write(".ssh/config", config);
            let local = self.local();
            resolve(alias, presets, &[ConfigFile::named(&path, &local)], &local)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn an_alias_gets_host_port_user_and_keys_with_tokens_and_the_first_value_wins() {
        let d = Dir::new("alias");
        let c = d
            .resolve(
                "web",
                "# comment\n\
                 Host web\n\
                 \tHostName=%h.example.com\n\
                 \tUser deploy\n\
                 \tPort 2222\n\
                 \tIdentityFile ~/.ssh/id_%r_%h\n\
                 \tIdentityFile \"%d/keys/%u at %l %p %n %i %%\"\n\
                 Host *\n\
                 \tPort 22\n\
                 \tUser nobody\n\
                 \tIdentityFile ~/.ssh/id_default\n",
            )
            .unwrap();
        assert_eq!(c.hostname.as_deref(), Some("web.example.com"));
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.port, Some(2222));
        let home = d.0.display().to_string();
        assert_eq!(
            c.identity_files,
            vec![
                d.0.join(".ssh/id_deploy_web.example.com"),
                PathBuf::from(format!("{home}/keys/me at laptop 2222 web 1000 %")),
                d.0.join(".ssh/id_default"),
            ]
        );
        // Another host only gets the catch-all block.
        let other = d.resolve(
            "db",
            &std::fs::read_to_string(d.0.join(".ssh/config")).unwrap(),
        );
        let other = other.unwrap();
        assert_eq!(
            (other.port, other.user.as_deref()),
            (Some(22), Some("nobody"))
        );
        assert_eq!(other.hostname, None);
    }

    #[test]
    fn host_patterns_take_wildcards_and_negation_case_sensitively() {
        let d = Dir::new("patterns");
        let cfg = "Host *.prod !bastion.prod\n  User ops\nHost db? \"x y\"\n  Port 5\n";
        assert_eq!(
            d.resolve("web.prod", cfg).unwrap().user.as_deref(),
            Some("ops")
        );
        // As OpenSSH: Host compares the name as typed, case and all.
        assert_eq!(d.resolve("web.PROD", cfg).unwrap().user, None);
        assert_eq!(d.resolve("bastion.prod", cfg).unwrap().user, None);
        assert_eq!(d.resolve("db1", cfg).unwrap().port, Some(5));
        assert_eq!(d.resolve("db12", cfg).unwrap().port, None);
        assert_eq!(d.resolve("x y", cfg).unwrap().port, Some(5));
    }

    #[test]
    fn include_reads_files_in_place_relative_to_dot_ssh_and_only_where_active() {
        let d = Dir::new("include");
        d.write(".ssh/config.d/10-web", "Host web\n  Port 2200\n");
        d.write(".ssh/config.d/20-all", "User everyone\n");
        d.write(".ssh/inner", "User inner\nHost *\n  Compression yes\n");
        let cfg = "Include config.d/*\nHost other\n  Include inner\nHost *\n  User late\n";
        let web = d.resolve("web", cfg).unwrap();
        assert_eq!(web.port, Some(2200));
        // The included file's top lines apply to every host.
        assert_eq!(web.user.as_deref(), Some("everyone"));
        // An Include inside an inactive block contributes nothing, not
        // even through its own Host lines.
        assert_eq!(web.compression, None);
        let other = d
            .resolve(
                "other",
                "Host other\n  Include inner\nHost *\n  User late\n",
            )
            .unwrap();
        assert_eq!(other.user.as_deref(), Some("inner"));
        assert_eq!(other.compression, Some(true));
        // A glob that matches nothing is fine.
        assert!(d.resolve("x", "Include nothing-here-*\n").is_ok());
    }

    #[test]
    fn include_loops_end_with_an_error_naming_the_include_line() {
        let d = Dir::new("loop");
        let e = d.resolve("x", "User u\nInclude config\n").unwrap_err();
        let file = d.0.join(".ssh/config").display().to_string();
        assert_eq!(
            e.message(),
            format!("ssh_config '{file}' line 2: Include loop: '{file}' is already being read")
        );
        // Through a link and another file too: (device, inode) decide.
        std::os::unix::fs::symlink(d.0.join(".ssh/config"), d.0.join(".ssh/link")).unwrap();
        d.write(".ssh/mid", "\n\nInclude link\n");
        let e = d.resolve("x", "Include mid\n").unwrap_err();
        assert!(e.message().contains("mid' line 3: Include loop"), "{e}");
        // The same file included twice one after the other is no loop.
        d.write(".ssh/once", "Port 7\n");
        assert_eq!(
            d.resolve("x", "Include once\nInclude once\n").unwrap().port,
            Some(7)
        );
        // A chain of 17 different files still meets the depth limit.
        for i in 0..17 {
            d.write(&format!(".ssh/c{i}"), &format!("Include c{}\n", i + 1));
        }
        let e = d.resolve("x", "Include c0\n").unwrap_err();
        assert!(e.message().contains("Include nested too deeply"), "{e}");
    }

    #[test]
    fn bytes_that_are_not_utf8_only_matter_on_keyword_lines() {
        let d = Dir::new("utf8");
        let path = d.0.join(".ssh/config");
        let text: &[u8] =
            b"# caf\xe9 latin-1 comment\n  \t# \xff\n\xa0\nHost x\n  Port 5 # \xe9\r\n";
        std::fs::write(&path, text).unwrap();
        let l = d.local();
        let files = [ConfigFile::named(&path, &l)];
        let e = resolve("x", &HostConfig::default(), &files, &l).unwrap_err();
        // Line 3 (a lone 0xa0) is not whitespace in UTF-8 terms: refused.
        assert!(e.message().ends_with("line 3: not valid UTF-8"), "{e}");
        // A keyword line counts in any block, as other malformed lines do.
        std::fs::write(&path, b"Host other\n  User caf\xe9\n").unwrap();
        let e = resolve("x", &HostConfig::default(), &files, &l).unwrap_err();
        assert!(e.message().ends_with("line 2: not valid UTF-8"), "{e}");
        let ok: &[u8] = b"# caf\xe9\n\t# \xff\n\nHost x\n  Port 5\r\n";
        std::fs::write(&path, ok).unwrap();
        assert_eq!(
            resolve("x", &HostConfig::default(), &files, &l)
                .unwrap()
                .port,
            Some(5)
        );
    }

    #[test]
    fn a_malformed_line_names_its_file_and_line() {
        let d = Dir::new("malformed");
        let e = d
            .resolve("x", "Host y\n  Port 22\n\n  Port twenty\n")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let file = d.0.join(".ssh/config").display().to_string();
        assert_eq!(
            e.message(),
            format!("ssh_config '{file}' line 4: bad port 'twenty' (1-65535)")
        );
        for (text, why) in [
            ("Host\n", "line 1: Host needs at least one pattern"),
            ("User a b\n", "line 1: User takes one value"),
            ("IdentityFile \"open\n", "line 1: unterminated quote"),
            (
                "StrictHostKeyChecking maybe\n",
                "line 1: StrictHostKeyChecking 'maybe'",
            ),
            (
                "Compression perhaps\n",
                "line 1: 'perhaps' is not yes or no",
            ),
            (
                "Match nonsense x\n",
                "line 1: unknown Match criterion 'nonsense'",
            ),
            ("ProxyJump a@:22\n", "line 1: ProxyJump 'a@:22': empty host"),
            (
                "ConnectTimeout soon\n",
                "line 1: ConnectTimeout 'soon' is not a time",
            ),
        ] {
            let e = d.resolve("x", text).unwrap_err();
            assert!(e.message().contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn arguments_are_split_like_openssh_argv_split() {
        for (line, want) in [
            ("a b\tc", vec!["a", "b", "c"]),
            ("'a b' \"c d\"", vec!["a b", "c d"]),
            ("pre\"mid dle\"post x'y z'", vec!["premid dlepost", "xy z"]),
            ("a\\ b", vec!["a b"]),
            ("\"a\\ b\"", vec!["a\\ b"]),
            ("\"a\\\"b\" 'c\\'d'", vec!["a\"b", "c'd"]),
            ("a\\\\b a\\xb", vec!["a\\b", "a\\xb"]),
            ("\"it's\" 'say \"hi\"'", vec!["it's", "say \"hi\""]),
            ("a#b # comment", vec!["a#b"]),
            ("\"\"", vec![""]),
        ] {
            assert_eq!(split_args(line).unwrap(), want, "{line:?}");
        }
        assert!(split_args("'open").is_err());
        assert!(split_args("a\"b").is_err());
        let d = Dir::new("argv");
        let c = d.resolve("x", "IdentityFile '~/my key'\n").unwrap();
        assert_eq!(c.identity_files, [d.0.join("my key")]);
    }

    #[test]
    fn unknown_keywords_are_ignored() {
        let d = Dir::new("unknown");
        let c = d
            .resolve("x", "ForwardAgent yes\nFrobnicate 3\nUser u\n")
            .unwrap();
        assert_eq!(c.user.as_deref(), Some("u"));
    }

    #[test]
    fn match_host_user_and_all_apply_and_exec_is_noted_not_run() {
        let d = Dir::new("match");
        let cfg = "Host alias\n  HostName real.example\n\
                   Match host real.example user root\n  Port 1\n\
                   Match host real.example !user root\n  Port 2\n\
                   Match originalhost alias exec \"touch /tmp/psftp-must-not-exist\"\n  User x\n\
                   Match all\n  Compression yes\n";
        let c = d.resolve("alias", cfg).unwrap();
        assert_eq!(c.port, Some(2));
        assert_eq!(c.user, None);
        assert_eq!(c.compression, Some(true));
        assert!(!Path::new("/tmp/psftp-must-not-exist").exists());
        assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
        assert!(
            c.notes[0].contains("line 7: Match exec is not supported"),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn match_criteria_follow_openssh_case_forms_and_arity() {
        let d = Dir::new("matchcase");
        let cfg = "Match user Deploy\n  Port 1\n\
                   Match originalhost WEB.example host=web.EXAMPLE\n  User u\n\
                   Match localuser=ME\n  Compression yes\n\
                   Match !all\n  ConnectTimeout 9\n\
                   Match sessiontype subsystem\n  IdentitiesOnly yes\n\
                   Match sessiontype shell\n  ServerAliveCountMax 9\n\
                   Match canonical\n  ServerAliveInterval 9\n\
                   Match final version OpenSSH* command=\"\" tagged=\"\" exec=true\n  Ciphers x\n";
        let c = d.resolve("web.example", cfg).unwrap();
        assert_eq!(c.port, None, "Match user is case-sensitive");
        assert_eq!(c.user.as_deref(), Some("u"), "Match host is not");
        assert_eq!(c.compression, None, "Match localuser is case-sensitive");
        assert_eq!(c.connect_timeout, None, "Match !all never matches");
        assert_eq!(
            (c.identities_only, c.server_alive_count_max),
            (Some(true), None)
        );
        assert_eq!((c.server_alive_interval, c.ciphers), (None, None));
        let notes = c.notes.join("\n");
        for n in [
            "line 13: Match canonical is not supported",
            "line 15: Match final is not supported",
            "line 15: Match version is not supported",
            "line 15: Match command is not supported",
            "line 15: Match tagged is not supported",
            "line 15: Match exec is not supported",
        ] {
            assert!(notes.contains(n), "{n} not in {notes}");
        }
        for (text, why) in [
            ("Match all host x\n", "Match 'all' cannot be combined"),
            ("Match host x all\n", "Match 'all' cannot be combined"),
            ("Match host\n", "Match host needs an argument"),
            ("Match user=\n", "Match user needs an argument"),
            ("Match frob x\n", "unknown Match criterion 'frob'"),
        ] {
            let e = d.resolve("x", text).unwrap_err();
            assert!(e.message().contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn percent_h_is_the_lowercased_host_name_unless_an_address() {
        let d = Dir::new("lowerh");
        let cfg = "Host Web\n  HostName %h.Example.COM\nHost *\n  ProxyCommand nc %h %n\n";
        let c = d.resolve("Web", cfg).unwrap();
        assert_eq!(c.hostname.as_deref(), Some("Web.Example.COM"));
        assert_eq!(
            c.proxy,
            Some(Proxy::Command("nc web.example.com Web".into()))
        );
        let c = d.resolve("FE80::A%eth0", cfg).unwrap();
        assert_eq!(
            c.proxy,
            Some(Proxy::Command("nc FE80::A%eth0 FE80::A%eth0".into()))
        );
    }

    #[test]
    fn match_host_sees_hostname_with_its_tokens_expanded() {
        let d = Dir::new("matchhost");
        let c = d
            .resolve(
                "web",
                "Host web\n  HostName %h.example.com\nMatch host web.example.com\n  User deploy\n",
            )
            .unwrap();
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.hostname.as_deref(), Some("web.example.com"));
    }

    #[test]
    fn proxies_known_hosts_and_policies() {
        let d = Dir::new("proxy");
        let cfg = "Host in\n  ProxyJump alice@bastion:2022,[::1]:23,ssh://bob@gw\n\
                   \x20 ProxyCommand nc -X 5 %h %p # ignored: ProxyJump came first\n\
                   \x20 User carol\n\
                   \x20 UserKnownHostsFile ~/kh1 /etc/kh2\n\
                   \x20 GlobalKnownHostsFile none\n\
                   \x20 StrictHostKeyChecking accept-new\n\
                   \x20 ConnectTimeout 7\n  ServerAliveInterval 15\n  ServerAliveCountMax 2\n\
                   \x20 Ciphers +aes256-ctr\n  IdentitiesOnly yes\n  IdentityAgent %d/agent.sock\n";
        let c = d.resolve("in", cfg).unwrap();
        assert_eq!(
            c.proxy,
            Some(Proxy::Jump(vec![
                Hop {
                    user: Some("alice".into()),
                    host: "bastion".into(),
                    port: Some(2022)
                },
                Hop {
                    user: None,
                    host: "::1".into(),
                    port: Some(23)
                },
                Hop {
                    user: Some("bob".into()),
                    host: "gw".into(),
                    port: None
                },
            ]))
        );
        assert_eq!(
            c.user_known_hosts_files,
            Some(vec![d.0.join("kh1"), PathBuf::from("/etc/kh2")])
        );
        assert_eq!(c.global_known_hosts_files, Some(vec![]));
        assert_eq!(
            c.strict_host_key_checking,
            Some(StrictHostKeyChecking::AcceptNew)
        );
        assert_eq!(
            (
                c.connect_timeout,
                c.server_alive_interval,
                c.server_alive_count_max
            ),
            (
                Some(Duration::from_secs(7)),
                Some(Duration::from_secs(15)),
                Some(2)
            )
        );
        assert_eq!(c.identities_only, Some(true));
        assert_eq!(c.identity_agent, Some(Some(d.0.join("agent.sock"))));
        let none = d
            .resolve(
                "in",
                "ProxyCommand none\nIdentityAgent none\nHost *\n  ProxyJump x\n",
            )
            .unwrap();
        assert_eq!(
            (none.proxy, none.identity_agent),
            (Some(Proxy::None), Some(None))
        );
        let e = d.resolve("in", "ProxyCommand %z\n").unwrap_err();
        assert!(e.message().contains("unknown token %z"), "{e}");
    }

    #[test]
    fn proxy_jump_none_leaves_a_later_proxy_command_free_but_not_the_reverse() {
        let d = Dir::new("proxyslots");
        let c = d
            .resolve("h", "ProxyJump none\nProxyCommand nc %h %p\n")
            .unwrap();
        assert_eq!(c.proxy, Some(Proxy::Command("nc h 22".into())));
        let c = d.resolve("h", "ProxyCommand none\nProxyJump gw\n").unwrap();
        assert_eq!(c.proxy, Some(Proxy::None));
        let c = d.resolve("h", "ProxyJump none\nProxyJump gw\n").unwrap();
        assert_eq!(c.proxy, Some(Proxy::None));
        let c = d
            .resolve("h", "ProxyCommand nc %h %p\nProxyJump gw\n")
            .unwrap();
        assert_eq!(c.proxy, Some(Proxy::Command("nc h 22".into())));
        let c = d
            .resolve("h", "ProxyJump gw\nProxyCommand nc %h %p\n")
            .unwrap();
        assert!(matches!(c.proxy, Some(Proxy::Jump(_))), "{:?}", c.proxy);
        // The caller's "none" (either setter) stands for both.
        let presets = HostConfig {
            proxy: Some(Proxy::None),
            ..HostConfig::default()
        };
        let c = d
            .resolve_with("h", "ProxyCommand nc %h %p\nProxyJump gw\n", &presets)
            .unwrap();
        assert_eq!(c.proxy, Some(Proxy::None));
    }

    #[test]
    fn paths_take_env_variables_and_the_c_l_k_j_tokens() {
        let d = Dir::new("moretokens");
        let mut l = d.local();
        l.hostname = "laptop.lan".into();
        let path = d.write(
            ".ssh/config",
            "Host t\n  HostName T.example\n  User bob\n  Port 2\n  ProxyJump a@gw1,gw2:22\n\
               IdentityFile ${HOME}/%L/%k/%j/%C\n  UserKnownHostsFile ${PSFTP_SURELY_UNSET_VAR}\n",
        );
        let files = [ConfigFile::named(&path, &l)];
        let e = resolve("t", &HostConfig::default(), &files, &l).unwrap_err();
        assert!(
            e.message()
                .contains("environment variable PSFTP_SURELY_UNSET_VAR is not set"),
            "{e}"
        );
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("${PSFTP_SURELY_UNSET_VAR}", "~/kh");
        d.write(".ssh/config", &text);
        let c = resolve("t", &HostConfig::default(), &files, &l).unwrap();
        let home = std::env::var("HOME").unwrap();
        // sha1("laptop.lant.example2bobgw2"), as OpenSSH's %C.
        let hash = connection_hash(&["laptop.lan", "t.example", "2", "bob", "gw2"]);
        assert_eq!(hash.len(), 40);
        assert_eq!(
            c.identity_files,
            [PathBuf::from(format!("{home}/laptop/t.example/gw2/{hash}"))]
        );
        assert_eq!(
            connection_hash(&["abc"]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        // ProxyCommand leaves ${...} to the shell.
        let c = d.resolve("x", "ProxyCommand echo ${HOME} %n\n").unwrap();
        assert_eq!(c.proxy, Some(Proxy::Command("echo ${HOME} x".into())));
    }

    #[test]
    fn token_errors_found_at_the_end_name_the_line_of_the_value() {
        let d = Dir::new("tokenlines");
        let file = d.0.join(".ssh/config").display().to_string();
        for (text, want) in [
            (
                "IdentityFile ~/a\n\nIdentityFile ~/%z\n",
                "line 3: IdentityFile '~/%z': unknown token %z",
            ),
            (
                "Host x\n  HostName %r\n",
                "line 2: HostName '%r': unknown token %r",
            ),
            (
                "\nProxyCommand nc %h %\n",
                "line 2: ProxyCommand 'nc %h %': a lone %",
            ),
            (
                "UserKnownHostsFile ${PSFTP_SURELY_UNSET_VAR}\n",
                "line 1: KnownHostsFile '${PSFTP_SURELY_UNSET_VAR}': environment variable",
            ),
            (
                "IdentityAgent /%q\n",
                "line 1: IdentityAgent '/%q': unknown token %q",
            ),
        ] {
            let e = d.resolve("x", text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(
                e.message()
                    .starts_with(&format!("ssh_config '{file}' {want}")),
                "{text:?}: {e}"
            );
        }
        // The caller's own command has no line: its error says so.
        let presets = HostConfig {
            proxy: Some(Proxy::Command("nc %q".into())),
            ..HostConfig::default()
        };
        let e = d
            .resolve_with("x", "ProxyCommand nc %z\n", &presets)
            .unwrap_err();
        assert_eq!(
            e.message(),
            "ssh_config: ProxyCommand 'nc %q': unknown token %q"
        );
    }

    #[test]
    fn identity_agent_takes_ssh_auth_sock_and_dollar_names() {
        let d = Dir::new("agentvars");
        let c = d
            .resolve("x", "IdentityAgent SSH_AUTH_SOCK\nIdentityAgent /late\n")
            .unwrap();
        assert_eq!(
            c.identity_agent, None,
            "SSH_AUTH_SOCK: the default, and it came first"
        );
        let c = d.resolve("x", "IdentityAgent $HOME\n").unwrap();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        assert_eq!(c.identity_agent, Some(home));
        let c = d
            .resolve("x", "IdentityAgent $PSFTP_SURELY_UNSET_VAR\n")
            .unwrap();
        assert_eq!(c.identity_agent, Some(None), "unset: no agent, as ssh");
        let e = d.resolve("x", "IdentityAgent $BAD-NAME\n").unwrap_err();
        assert!(
            e.message()
                .contains("not a valid environment variable name"),
            "{e}"
        );
        let c = d.resolve("x", "IdentityAgent ${HOME}/s\n").unwrap();
        assert_eq!(
            c.identity_agent,
            Some(Some(PathBuf::from(format!(
                "{}/s",
                std::env::var("HOME").unwrap()
            ))))
        );
    }

    #[test]
    fn proxy_command_is_the_raw_rest_of_the_line_with_tokens() {
        let d = Dir::new("proxycmd");
        let c = d
            .resolve(
                "in",
                "Host in\n  User carol\n  ProxyCommand = sh -c \"exec nc '%h' %p\"  # as %r %n %%\n",
            )
            .unwrap();
        assert_eq!(
            c.proxy,
            Some(Proxy::Command(
                "sh -c \"exec nc 'in' 22\"  # as carol in %".into()
            ))
        );
    }

    #[test]
    fn presets_win_over_the_files_and_feed_their_tokens() {
        let d = Dir::new("presets");
        let presets = HostConfig {
            user: Some("explicit".into()),
            port: Some(2200),
            proxy: Some(Proxy::Command("connect %h %p %r".into())),
            user_known_hosts_files: Some(vec![PathBuf::from("/tmp/100%kh")]),
            ..HostConfig::default()
        };
        let c = d
            .resolve_with(
                "web",
                "Host web\n  User file\n  Port 22\n  HostName web.example\n\
                 \x20 ProxyJump other\n  UserKnownHostsFile ~/kh\n  IdentityFile ~/id_%r_%p\n\
                 Match user explicit\n  Compression yes\n",
                &presets,
            )
            .unwrap();
        assert_eq!(
            (c.user.as_deref(), c.port, c.hostname.as_deref()),
            (Some("explicit"), Some(2200), Some("web.example"))
        );
        assert_eq!(
            c.proxy,
            Some(Proxy::Command("connect web.example 2200 explicit".into()))
        );
        // A preset path is the caller's, never token-expanded.
        assert_eq!(
            c.user_known_hosts_files,
            Some(vec![PathBuf::from("/tmp/100%kh")])
        );
        assert_eq!(c.identity_files, vec![d.0.join("id_explicit_2200")]);
        assert_eq!(c.compression, Some(true), "Match user sees the preset user");
    }

    #[test]
    fn files_that_include_the_next_twice_are_stopped_by_the_file_budget() {
        // No loop, so the depth limit never fires: 2^14 reads without the budget.
        let d = Dir::new("budget");
        for i in 0..14 {
            d.write(
                &format!(".ssh/f{i}"),
                &format!("Include f{0} f{0}\n", i + 1),
            );
        }
        let e = d.resolve("x", "Include f0\n").unwrap_err();
        assert!(e.message().contains("more than 10000 files read"), "{e}");
        assert!(e.message().contains("' line 1: Include '"), "{e}");
    }

    #[test]
    fn included_and_user_files_with_a_bad_owner_or_mode_are_refused() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = Dir::new("perms");
        let inc = d.write(".ssh/inc", "User inc\n");
        let mut local = d.local();
        // Someone else's uid: the file belongs to the test runner.
        local.uid = std::fs::metadata(&inc).unwrap().uid() + 4242;
        let main = d.write(".ssh/config", "Include inc\n");
        let named = |l: &Local| {
            resolve(
                "x",
                &HostConfig::default(),
                &[ConfigFile::named(&main, l)],
                l,
            )
        };
        let owned_by_runner = std::fs::metadata(&inc).unwrap().uid() != 0;
        if !owned_by_runner {
            // Running as root: give the file to another user.
            std::os::unix::fs::chown(&inc, Some(local.uid - 1), None).unwrap();
        }
        let e = named(&local).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            e.message()
                .contains(&format!("bad owner or permissions on '{}'", inc.display())),
            "{e}"
        );
        // Owned by the user but group-writable: refused too.
        let mut mine = d.local();
        mine.uid = std::fs::metadata(&inc).unwrap().uid();
        assert_eq!(named(&mine).unwrap().user.as_deref(), Some("inc"));
        std::fs::set_permissions(&inc, std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = named(&mine).unwrap_err();
        assert!(e.message().contains("mode 664"), "{e}");
        // The named file itself is not checked (ssh -F); ~/.ssh/config is.
        std::fs::set_permissions(&inc, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(&main, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(named(&mine).is_ok());
        let user_file = ConfigFile::defaults(&mine).remove(0);
        assert_eq!(user_file.path, main);
        let e = resolve("x", &HostConfig::default(), &[user_file], &mine).unwrap_err();
        assert!(
            e.message()
                .contains(&format!("bad owner or permissions on '{}'", main.display())),
            "{e}"
        );
    }

    #[test]
    fn host_and_user_names_follow_openssh_validity_rules() {
        for h in ["web", "::1", "[::1]", "10.0.0.1", "a_b.c", "x%y", "h@st"] {
            assert!(valid_hostname(h), "{h}");
        }
        for h in [
            "-x", "a b", "a\tb", "a\x01", "a'", "a`", "a\"", "a$", "a\\", "a;", "a&", "a<", "a>",
            "a|", "a(", "a)", "a{", "a}", "a,b",
        ] {
            assert!(!valid_hostname(h), "{h:?}");
        }
        for u in ["me", "dom\\user", "a b", "a$b", "a,b"] {
            assert!(valid_ruser(u), "{u}");
        }
        for u in [
            "-u", "a -b", "a\\", "a\x7f", "a'", "a`", "a\"", "a;", "a&", "a<", "a>", "a|", "a(",
            "a)", "a{", "a}",
        ] {
            assert!(!valid_ruser(u), "{u:?}");
        }
        let e = parse_jump_list("ok,bad host").unwrap_err();
        assert!(e.message().contains("hop 2 'bad host'"), "{e}");
        assert!(parse_jump_list("-oops@gw").is_err());
        assert!(parse_jump_list("a@[::1]:22").is_ok());
    }

    #[test]
    fn times_take_openssh_units_and_none() {
        for (v, want) in [
            ("0", Some(0)),
            ("90", Some(90)),
            ("90s", Some(90)),
            ("1h30m", Some(5400)),
            ("2m10", Some(130)),
            ("1w1d1h1m1s", Some(694_861)),
            ("1M", Some(60)),
            ("1.5", Some(1)),
            ("10.9s", Some(10)),
            ("2147483647", Some(2_147_483_647)),
            ("2147483648", None),
            ("1.5m", None),
            ("1.", None),
            ("", None),
            ("s", None),
            ("1x", None),
            ("1s1s", None),
            ("-1", None),
            ("1 m", None),
        ] {
            assert_eq!(convtime(v), want, "{v:?}");
        }
        let d = Dir::new("times");
        let c = d
            .resolve(
                "x",
                "ConnectTimeout none\nConnectTimeout 1m\nServerAliveInterval 1h\n",
            )
            .unwrap();
        assert_eq!(
            (c.connect_timeout, c.server_alive_interval),
            (
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(3600))
            )
        );
        assert_eq!(
            d.resolve("x", "ConnectTimeout none\n")
                .unwrap()
                .connect_timeout,
            None
        );
        for (v, want) in [
            ("true", StrictHostKeyChecking::Yes),
            ("false", StrictHostKeyChecking::No),
            ("off", StrictHostKeyChecking::No),
            ("ASK", StrictHostKeyChecking::Yes),
        ] {
            let c = d
                .resolve("x", &format!("StrictHostKeyChecking {v}\n"))
                .unwrap();
            assert_eq!(c.strict_host_key_checking, Some(want), "{v}");
        }
    }

    #[test]
    fn cipher_lists_replace_append_remove_and_prepend() {
        let def = ["a-gcm", "b-ctr", "c-poly"];
        assert_eq!(ciphers_from("x,y", &def), ["x", "y"]);
        assert_eq!(
            ciphers_from("+b-ctr,z", &def),
            ["a-gcm", "b-ctr", "c-poly", "z"]
        );
        assert_eq!(ciphers_from("-*-ctr", &def), ["a-gcm", "c-poly"]);
        assert_eq!(ciphers_from("^c-poly", &def), ["c-poly", "a-gcm", "b-ctr"]);
    }

    #[test]
    fn wildcards_match_like_openssh() {
        for (p, s, want) in [
            ("*", "", true),
            ("*", "abc", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*.example.com", "www.example.com", true),
            ("*.example.com", "example.com", false),
            ("**a**b", "xaxb", true),
            ("", "", true),
            ("", "a", false),
        ] {
            assert_eq!(wildcard(p.as_bytes(), s.as_bytes()), want, "{p} ~ {s}");
        }
        // Many stars against a long mismatch stays quick (no exponential backtracking).
        let p = "*a".repeat(50) + "b";
        assert!(!wildcard(p.as_bytes(), "a".repeat(5000).as_bytes()));
    }
}
