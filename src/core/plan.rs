//! What a connect will do, decided before a packet is sent: the caller's
//! arguments and CnOpts merged with ssh_config (when on), for the server
//! and for each jump host, and the route between them. Explicit values
//! win: the call's user and port and the caller's proxy are presets of the
//! evaluation (ssh's command-line options), and each CnOpts setting the
//! caller made keeps its value. The `ssh -G`-like report prints this plan.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;

use super::auth::AgentChoice;
use super::cnopts::{supported_algorithms, CnOpts, SshConfigFiles, UnknownHostPolicy};
use super::connect::{ConnectSpec, FAST_CIPHERS};
use super::ssh_config::{
    self, ciphers_from, ConfigFile, Hop, HostConfig, Local, Proxy, StrictHostKeyChecking,
};
use crate::error::{Error, Result};

/// A jump host's own ProxyJump may name further hosts; this many levels
/// mean a loop (`Host *` with `ProxyJump bastion` applies to bastion too).
const MAX_JUMP_DEPTH: usize = 8;

/// One SSH endpoint: the server, or a jump host.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The name asked for (a Host alias, or an address).
    pub alias: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<PathBuf>,
    pub identities_only: bool,
    pub agent: AgentChoice,
    /// The options in force here: host keys, ciphers, timeouts, keepalive.
    pub opts: CnOpts,
}

impl Endpoint {
    /// "host:port", as messages name a peer.
    pub fn peer(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// How errors name a jump host: "user@host:port" and its alias.
    pub fn label(&self) -> String {
        if self.alias == self.host {
            format!("{}@{}", self.user, self.peer())
        } else {
            format!("'{}' ({}@{})", self.alias, self.user, self.peer())
        }
    }
}

/// How the first endpoint of the route is reached.
#[derive(Debug, Clone)]
pub enum FirstLeg {
    Direct,
    /// A ProxyCommand, tokens expanded for the first endpoint.
    Command(String),
    /// The caller's connected socket.
    Socket(Arc<OwnedFd>),
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Endpoint,
    /// Jump hosts in order: the first is reached by `first`, each next one
    /// (and finally the target) through a channel of the one before.
    pub hops: Vec<Endpoint>,
    pub first: FirstLeg,
    /// ssh_config lines psftp could not honour.
    pub notes: Vec<String>,
    pub config_files: Vec<PathBuf>,
}

/// The plan for connecting as `spec` says.
pub fn plan(spec: &ConnectSpec) -> Result<Plan> {
    let local = Local::current();
    let port = (spec.port != 0).then_some(spec.port);
    plan_for(
        &spec.host,
        spec.username.as_deref(),
        port,
        &spec.cnopts,
        spec.socket.as_ref(),
        &local,
    )
}

fn plan_for(
    host: &str,
    user: Option<&str>,
    port: Option<u16>,
    opts: &CnOpts,
    socket: Option<&Arc<OwnedFd>>,
    local: &Local,
) -> Result<Plan> {
    if host.is_empty() {
        return Err(Error::invalid_arg("host", "is empty"));
    }
    // Before any token expansion: the name and user reach a ProxyCommand's
    // shell through %h %n %r (OpenSSH 9.6, CVE-2023-51385).
    ssh_config::check_hostname("host", host)?;
    if let Some(u) = user {
        ssh_config::check_ruser("username", u)?;
    }
    let files = config_files(opts, local);
    let presets = HostConfig {
        user: user.map(String::from),
        port,
        proxy: opts.proxy.clone(),
        ..HostConfig::default()
    };
    let cfg = ssh_config::resolve(host, &presets, &files, local)?;
    let mut notes = cfg.notes.clone();
    let direct = match socket {
        Some(fd) => FirstLeg::Socket(fd.clone()),
        None => FirstLeg::Direct,
    };
    let (first, hops) = route(&cfg, opts, &direct, &files, local, 0, &mut notes)?;
    Ok(Plan {
        target: endpoint(&cfg, opts, local, &mut notes)?,
        hops,
        first,
        notes,
        config_files: files.into_iter().map(|f| f.path).collect(),
    })
}

fn config_files(opts: &CnOpts, local: &Local) -> Vec<ConfigFile> {
    match &opts.ssh_config {
        SshConfigFiles::Off => Vec::new(),
        SshConfigFiles::Default => ConfigFile::defaults(local),
        SshConfigFiles::File(p) => vec![ConfigFile::named(p, local)],
    }
}

/// The first leg and the jump hosts `cfg`'s proxy asks for; `direct` is
/// the first leg without a proxy (TCP, or the caller's socket).
fn route(
    cfg: &HostConfig,
    opts: &CnOpts,
    direct: &FirstLeg,
    files: &[ConfigFile],
    local: &Local,
    depth: usize,
    notes: &mut Vec<String>,
) -> Result<(FirstLeg, Vec<Endpoint>)> {
    let direct = direct.clone();
    match &cfg.proxy {
        None | Some(Proxy::None) => Ok((direct, Vec::new())),
        Some(Proxy::Command(cmd)) => match direct {
            FirstLeg::Socket(_) => Err(Error::invalid_arg(
                "socket",
                format!(
                    "a socket is given, and ProxyCommand '{cmd}' applies to '{}': use one or the other",
                    cfg.alias
                ),
            )),
            _ => Ok((FirstLeg::Command(cmd.clone()), Vec::new())),
        },
        Some(Proxy::Jump(hops)) => {
            if depth >= MAX_JUMP_DEPTH {
                return Err(Error::invalid_arg(
                    "proxy_jump",
                    format!(
                        "jump hosts nest more than {MAX_JUMP_DEPTH} deep at '{}': does a ProxyJump apply to the jump host itself (Host * without !bastion)?",
                        cfg.alias
                    ),
                ));
            }
            let mut first = direct;
            let mut out = Vec::new();
            for (i, hop) in hops.iter().enumerate() {
                let hop_cfg = hop_config(hop, i, files, local)?;
                for n in &hop_cfg.notes {
                    // The same file read again for each hop notes again.
                    if !notes.contains(n) {
                        notes.push(n.clone());
                    }
                }
                if i == 0 {
                    // Only the first hop's own route counts, as with ssh -J.
                    let (leg, earlier) =
                        route(&hop_cfg, opts, &first, files, local, depth + 1, notes)?;
                    first = leg;
                    out.extend(earlier);
                }
                out.push(endpoint(&hop_cfg, opts, local, notes)?);
            }
            Ok((first, out))
        }
    }
}

/// A jump host's settings: its own Host block, with the user and port the
/// hop spec names. Later hops ignore their own ProxyJump/ProxyCommand.
fn hop_config(hop: &Hop, index: usize, files: &[ConfigFile], local: &Local) -> Result<HostConfig> {
    ssh_config::check_hostname("proxy_jump", &hop.host)?;
    if let Some(u) = &hop.user {
        ssh_config::check_ruser("proxy_jump", u)?;
    }
    let presets = HostConfig {
        user: hop.user.clone(),
        port: hop.port,
        proxy: (index > 0).then_some(Proxy::None),
        ..HostConfig::default()
    };
    ssh_config::resolve(&hop.host, &presets, files, local).map_err(|e| {
        Error::new(
            e.kind(),
            format!("jump host {} '{hop}': {}", index + 1, e.message()),
        )
    })
}

/// An endpoint with the options in force there: the caller's where set,
/// else ssh_config's, else psftp's defaults.
fn endpoint(
    cfg: &HostConfig,
    base: &CnOpts,
    local: &Local,
    notes: &mut Vec<String>,
) -> Result<Endpoint> {
    let user = match &cfg.user {
        Some(u) => u.clone(),
        None if !local.user.is_empty() => local.user.clone(),
        None => {
            return Err(Error::invalid_arg(
                "username",
                "not given, and $LOGNAME and $USER are unset",
            ))
        }
    };
    Ok(Endpoint {
        alias: cfg.alias.clone(),
        host: cfg.hostname.clone().unwrap_or(cfg.alias.clone()),
        port: cfg.port.unwrap_or(22),
        user,
        identity_files: cfg.identity_files.clone(),
        identities_only: cfg.identities_only.unwrap_or(false),
        agent: match &cfg.identity_agent {
            None => AgentChoice::Default,
            Some(None) => AgentChoice::Off,
            Some(Some(p)) => AgentChoice::Socket(p.clone()),
        },
        opts: effective_opts(cfg, base, notes)?,
    })
}

fn effective_opts(cfg: &HostConfig, base: &CnOpts, notes: &mut Vec<String>) -> Result<CnOpts> {
    let set = base.set_by_caller;
    let mut o = base.clone();
    if let (Some(files), Some(mine), false) =
        (&cfg.user_known_hosts_files, &mut o.hostkeys, set.hostkeys)
    {
        // The config's files replace the default one; files the caller
        // added with load() stay.
        let added: Vec<PathBuf> = mine.iter().skip(1).cloned().collect();
        *mine = files.iter().cloned().chain(added).collect();
    }
    if let Some(g) = &cfg.global_known_hosts_files {
        o.global_hostkeys = g.clone();
    }
    if let (Some(strict), false) = (cfg.strict_host_key_checking, set.unknown_host) {
        o.unknown_host = match strict {
            StrictHostKeyChecking::Yes => UnknownHostPolicy::Reject,
            StrictHostKeyChecking::AcceptNew | StrictHostKeyChecking::No => {
                UnknownHostPolicy::AcceptNew
            }
        };
        // `no` with nowhere to record keys: accept any, as ssh does.
        if strict == StrictHostKeyChecking::No && o.hostkeys.as_ref().is_some_and(|v| v.is_empty())
        {
            o.hostkeys = None;
        }
    }
    if let (Some(c), false) = (cfg.compression, set.compression) {
        o.compression = c;
    }
    if let (Some(spec), false) = (&cfg.ciphers, set.ciphers) {
        o.ciphers = Some(config_ciphers(spec, notes)?);
    }
    if let (Some(t), false) = (cfg.connect_timeout, set.connect_timeout) {
        o.connect_timeout = (!t.is_zero()).then_some(t);
    }
    if let (Some(k), false) = (cfg.server_alive_interval, set.keepalive) {
        o.keepalive = (!k.is_zero()).then_some(k);
    }
    if let (Some(n), false) = (cfg.server_alive_count_max, set.keepalive_count_max) {
        o.keepalive_count_max = n;
    }
    Ok(o)
}

/// psftp's cipher preference: the fast ones first, then whatever else
/// libssh2 supports.
pub fn default_ciphers() -> Result<Vec<String>> {
    let supported = supported_algorithms(ssh2::MethodType::CryptCs)?;
    let fast = FAST_CIPHERS.iter().filter(|c| supported.contains(c));
    let rest = supported.iter().filter(|c| !FAST_CIPHERS.contains(c));
    Ok(fast.chain(rest).map(|c| c.to_string()).collect())
}

/// A config's Ciphers spec applied to psftp's list; names libssh2 lacks
/// are left out with a note (a config shared with OpenSSH may name more).
fn config_ciphers(spec: &str, notes: &mut Vec<String>) -> Result<Vec<String>> {
    let supported = supported_algorithms(ssh2::MethodType::CryptCs)?;
    let defaults = default_ciphers()?;
    let defaults: Vec<&str> = defaults.iter().map(String::as_str).collect();
    let (usable, missing): (Vec<String>, Vec<String>) = ciphers_from(spec, &defaults)
        .into_iter()
        .partition(|c| supported.contains(&c.as_str()));
    if !missing.is_empty() {
        notes.push(format!(
            "Ciphers: libssh2 lacks {}, left out",
            missing.join(",")
        ));
    }
    if usable.is_empty() {
        return Err(Error::invalid_arg(
            "ssh_config",
            format!(
                "Ciphers '{spec}': libssh2 supports none of them (it has {})",
                supported.join(",")
            ),
        ));
    }
    Ok(usable)
}

/// The effective settings for `host`, one `keyword value` line each, as
/// `ssh -G HOST` prints them, followed by `#` comment lines for the jump
/// hosts and notes.
pub fn report(host: &str, opts: &CnOpts) -> Result<String> {
    let local = Local::current();
    let plan = plan_for(host, None, None, opts, None, &local)?;
    let t = &plan.target;
    let mut out = Vec::new();
    let mut line = |k: &str, v: String| out.push(format!("{k} {v}"));
    line("host", t.alias.clone());
    line("hostname", t.host.clone());
    line("user", t.user.clone());
    line("port", t.port.to_string());
    for f in &t.identity_files {
        line("identityfile", f.display().to_string());
    }
    line("identitiesonly", yes(t.identities_only));
    match &t.agent {
        AgentChoice::Default => {}
        AgentChoice::Off => line("identityagent", "none".into()),
        AgentChoice::Socket(p) => line("identityagent", p.display().to_string()),
    }
    match &plan.first {
        FirstLeg::Command(c) => line("proxycommand", c.clone()),
        FirstLeg::Socket(fd) => line(
            "# socket",
            format!("descriptor {} given by the application", fd.as_raw_fd()),
        ),
        FirstLeg::Direct => {}
    }
    if !plan.hops.is_empty() {
        let hops: Vec<String> = plan
            .hops
            .iter()
            .map(|h| {
                Hop {
                    user: Some(h.user.clone()),
                    host: h.host.clone(),
                    port: Some(h.port),
                }
                .to_string()
            })
            .collect();
        line("proxyjump", hops.join(","));
    }
    let o = &t.opts;
    let list = |v: &[PathBuf]| match v {
        [] => "none".to_string(),
        v => v
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    };
    line(
        "userknownhostsfile",
        list(o.hostkeys.as_deref().unwrap_or_default()),
    );
    line("globalknownhostsfile", list(&o.global_hostkeys));
    let strict = match (&o.hostkeys, o.unknown_host) {
        (None, _) => "false",
        (Some(_), UnknownHostPolicy::AcceptNew) => "accept-new",
        (Some(_), UnknownHostPolicy::Reject) => "true",
    };
    line("stricthostkeychecking", strict.to_string());
    line(
        "connecttimeout",
        o.connect_timeout
            .map_or("none".to_string(), |d| secs(d.as_secs_f64())),
    );
    line(
        "serveraliveinterval",
        o.keepalive
            .map_or("0".to_string(), |d| secs(d.as_secs_f64())),
    );
    line("serveralivecountmax", o.keepalive_count_max.to_string());
    let ciphers = match &o.ciphers {
        Some(c) => c.clone(),
        None => default_ciphers()?,
    };
    line("ciphers", ciphers.join(","));
    line("compression", yes(o.compression));
    let files: Vec<String> = plan
        .config_files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    line(
        "# ssh_config",
        if files.is_empty() {
            "off".to_string()
        } else {
            files.join(" ")
        },
    );
    for (i, h) in plan.hops.iter().enumerate() {
        line(&format!("# jump host {}:", i + 1), h.label());
    }
    for n in &plan.notes {
        line("# note:", n.clone());
    }
    Ok(out.join("\n") + "\n")
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn secs(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(home: &std::path::Path) -> Local {
        Local {
            user: "me".into(),
            home: home.to_path_buf(),
            hostname: "laptop".into(),
            uid: 1000,
        }
    }

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn dir(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("psftp-plan-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join(".ssh")).unwrap();
        Dir(d)
    }

    fn opts_with(path: &std::path::Path) -> CnOpts {
        let mut o = CnOpts::new(None);
        o.ssh_config = SshConfigFiles::File(path.to_path_buf());
        o
    }

    #[test]
    fn hops_get_their_own_blocks_and_the_first_hop_its_own_route() {
        let d = dir("hops");
        let cfg = d.0.join(".ssh/config");
        std::fs::write(
            &cfg,
            "Host target\n  HostName 10.1.1.1\n  ProxyJump b2,carol@b3:2200\n\
             Host b2\n  HostName 10.2.2.2\n  User bob\n  Port 2022\n  ProxyJump b1\n\
             Host b1\n  User alice\n  ProxyCommand nc %h %p\n\
             Host b3\n  User ignored\n  ProxyJump never\n",
        )
        .unwrap();
        let p = plan_for("target", None, None, &opts_with(&cfg), None, &local(&d.0)).unwrap();
        let hops: Vec<String> = p
            .hops
            .iter()
            .map(|h| format!("{}@{}", h.user, h.peer()))
            .collect();
        assert_eq!(hops, ["alice@b1:22", "bob@10.2.2.2:2022", "carol@b3:2200"]);
        assert!(
            matches!(&p.first, FirstLeg::Command(c) if c == "nc b1 22"),
            "{:?}",
            p.first
        );
        assert_eq!(p.target.peer(), "10.1.1.1:22");
        assert_eq!(p.target.user, "me");
    }

    #[test]
    fn explicit_values_win_and_a_jump_loop_is_named() {
        let d = dir("explicit");
        let cfg = d.0.join(".ssh/config");
        std::fs::write(
            &cfg,
            "Host *\n  User fromfile\n  Port 2222\n  Compression yes\n  ConnectTimeout 5\n  ProxyJump bastion\n",
        )
        .unwrap();
        let mut o = opts_with(&cfg);
        o.compression = false;
        o.set_by_caller.compression = true;
        o.proxy = Some(Proxy::None);
        let p = plan_for("h", Some("given"), Some(2200), &o, None, &local(&d.0)).unwrap();
        assert_eq!((p.target.user.as_str(), p.target.port), ("given", 2200));
        assert!(!p.target.opts.compression);
        assert_eq!(
            p.target.opts.connect_timeout,
            Some(std::time::Duration::from_secs(5))
        );
        assert!(p.hops.is_empty());
        // Without the explicit proxy, `Host *` makes bastion jump through itself.
        let e = plan_for("h", None, None, &opts_with(&cfg), None, &local(&d.0)).unwrap_err();
        assert!(e.message().contains("nest more than 8 deep"), "{e}");
    }

    #[test]
    fn an_injected_host_or_user_never_reaches_a_proxy_command() {
        let d = dir("inject");
        let cfg = d.0.join(".ssh/config");
        std::fs::write(&cfg, "Host *\n  ProxyCommand nc %h %p %r\n").unwrap();
        let l = local(&d.0);
        let evil = "x;touch /tmp/pwned;#";
        let e = plan_for(evil, None, None, &opts_with(&cfg), None, &l).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidArgument);
        assert!(
            e.message()
                .starts_with("host: host name 'x;touch /tmp/pwned;#' contains characters"),
            "{e}"
        );
        for bad in ["-oProxyCommand=x", "a b", "a$(id)", "a`id`", "a,b", "a\nb"] {
            assert!(
                plan_for(bad, None, None, &opts_with(&cfg), None, &l).is_err(),
                "{bad:?}"
            );
        }
        let e = plan_for("h", Some("u;id"), None, &opts_with(&cfg), None, &l).unwrap_err();
        assert!(e.message().starts_with("username: user name 'u;id'"), "{e}");
        // The caller's own ProxyCommand, no ssh_config at all.
        let mut o = CnOpts::new(None);
        o.set_proxy_command(Some("nc %h %p")).unwrap();
        let e = plan_for("a|b", None, None, &o, None, &l).unwrap_err();
        assert!(e.message().starts_with("host: "), "{e}");
        // Jump hosts, from the caller and from a file.
        o.proxy = Some(Proxy::Jump(vec![Hop {
            user: Some("-x".into()),
            host: "gw".into(),
            port: None,
        }]));
        let e = plan_for("h", None, None, &o, None, &l).unwrap_err();
        assert!(e.message().starts_with("proxy_jump: user name '-x'"), "{e}");
        assert!(o.set_proxy_jump(Some("gw,a&b")).is_err());
        std::fs::write(&cfg, "Host *\n  ProxyJump gw;id\n").unwrap();
        let e = plan_for("h", None, None, &opts_with(&cfg), None, &l).unwrap_err();
        assert!(e.message().contains("line 2: ProxyJump 'gw;id'"), "{e}");
        // Addresses still work, IPv6 ones too.
        std::fs::write(&cfg, "Host *\n  ProxyCommand nc %h %p\n").unwrap();
        for ok in [
            "::1",
            "[::1]",
            "10.0.0.1",
            "web-1.example.com",
            "fe80::1%eth0",
        ] {
            let p = plan_for(ok, Some("dom\\user"), None, &opts_with(&cfg), None, &l).unwrap();
            assert!(
                matches!(&p.first, FirstLeg::Command(c) if c == &format!("nc {ok} 22")),
                "{ok}: {:?}",
                p.first
            );
        }
    }

    #[test]
    fn the_report_lists_effective_settings_like_ssh_dash_g() {
        let d = dir("report");
        let cfg = d.0.join(".ssh/config");
        std::fs::write(
            &cfg,
            "Host web\n  HostName 10.0.0.5\n  Port 2222\n  ProxyJump b@h:1\n  StrictHostKeyChecking accept-new\n\
             \x20 UserKnownHostsFile ~/kh\n  Ciphers aes256-ctr,no-such-cipher\n",
        )
        .unwrap();
        let o = opts_with(&cfg);
        let p = plan_for("web", None, None, &o, None, &local(&d.0)).unwrap();
        assert_eq!(p.target.opts.ciphers, Some(vec!["aes256-ctr".to_string()]));
        assert_eq!(p.target.opts.hostkeys, Some(vec![d.0.join("kh")]));
        assert_eq!(p.target.opts.unknown_host, UnknownHostPolicy::AcceptNew);
        assert!(p.notes.iter().any(|n| n.contains("no-such-cipher")));
        // report() reads the process's own home; the plan above is its input.
        let r = report("web", &o).unwrap();
        for want in [
            "host web\n",
            "hostname 10.0.0.5\n",
            "port 2222\n",
            "proxyjump b@h:1\n",
            "stricthostkeychecking accept-new\n",
            "serveralivecountmax 3\n",
            "ciphers aes256-ctr\n",
            "connecttimeout 30\n",
        ] {
            assert!(r.contains(want), "{want:?} missing in:\n{r}");
        }
    }
}
