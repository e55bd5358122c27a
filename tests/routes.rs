//! Connecting wherever `ssh` connects (issue 16), through the C ABI against
//! real sshd servers: ssh_config (aliases, Include, errors with line
//! numbers, the -G report), jump hosts across network namespaces the
//! client cannot reach, ProxyCommand, a socket the caller connected,
//! keyboard-interactive with a second factor (PAM: password, then an HOTP
//! code), keys from memory and @revoked host keys.

mod common;

use common::*;
use psftp::capi::connect_opts::*;
use psftp::capi::kbdint::*;
use psftp::capi::tree::{psftp_failure_list_free, psftp_put_r};
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A config file with a safe mode whatever the umask: psftp, like ssh,
/// refuses an Included file that group or others can write.
fn write(path: &Path, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}

fn set_config(opts: &Opts, file: &str) {
    check(unsafe { psftp_cnopts_set_ssh_config(opts.0, true, c(file).as_ptr()) }).unwrap();
}

/// psftp_connect with only a host (everything else from the options and
/// ssh_config).
fn connect_to(host: &str, opts: &Opts) -> Result<Conn, Fail> {
    Login {
        host,
        port: 0,
        user: None,
        password: None,
        key: None,
        passphrase: None,
        default_path: None,
    }
    .connect(opts)
}

fn pwd(conn: &Conn) -> String {
    string_out(|o| unsafe { psftp_pwd(conn.0, o) })
        .unwrap()
        .unwrap()
}

fn execute(conn: &Conn, command: &str) -> String {
    let mut lines = std::ptr::null_mut();
    let mut status = -1;
    check(unsafe { psftp_execute(conn.0, c(command).as_ptr(), &mut lines, &mut status) }).unwrap();
    assert_eq!(status, 0, "{command}");
    take_strarray(lines).concat()
}

fn report(opts: &Opts, host: &str) -> Result<String, Fail> {
    string_out(|o| unsafe { psftp_cnopts_ssh_config_report(opts.0, c(host).as_ptr(), o) })
        .map(|s| s.unwrap())
}

#[test]
fn an_alias_in_a_config_file_gives_host_port_user_and_key() {
    let s = server();
    let dir = local_scratch("alias");
    let cfg = write(
        &dir.join("config"),
        &format!(
            "# psftp test\nHost myalias\n  HostName 127.0.0.1\n  Port {}\n  User {}\n\
             \x20 IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n\
             Host *\n  User nobody-at-all\n  Port 1\n",
            s.port,
            s.user(),
            s.file("id_ed25519"),
            s.known_hosts()
        ),
    );
    // Known hosts come from the config here: no file given to CnOpts.
    let opts = Opts::new(None);
    set_config(&opts, &cfg);
    let conn = connect_to("myalias", &opts).unwrap();
    assert_eq!(pwd(&conn), s.home.display().to_string());
    // The call's own arguments win over the file: an explicit port that
    // nothing listens on is used, and named in the error.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let login = Login {
        host: "myalias",
        port: dead_port,
        user: None,
        password: None,
        key: None,
        passphrase: None,
        default_path: None,
    };
    assert_fail(
        login.connect(&opts),
        PSFTP_E_CONNECT,
        &[&format!("127.0.0.1:{dead_port}")],
    );
    // Off by default: the alias is then just an unknown name.
    let plain = Opts::new(Some(&s.known_hosts()));
    assert_fail(connect_to("myalias", &plain), PSFTP_E_CONNECT, &["myalias"]);
}

#[test]
fn include_brings_in_host_blocks_from_other_files() {
    let s = server();
    let dir = local_scratch("include");
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    write(
        &dir.join("conf.d/10-test.conf"),
        &format!(
            "Host included\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n",
            s.port,
            s.user(),
            s.file("id_ecdsa_pem")
        ),
    );
    write(&dir.join("conf.d/ignored.txt"), "Host included\n  Port 1\n");
    let cfg = write(
        &dir.join("config"),
        &format!(
            "Include {}/conf.d/*.conf\nHost *\n  Port 1\n",
            dir.display()
        ),
    );
    let opts = Opts::trusting(s);
    set_config(&opts, &cfg);
    let conn = connect_to("included", &opts).unwrap();
    assert!(listdir(&conn, ".").is_ok());
    let r = report(&opts, "included").unwrap();
    assert!(r.contains(&format!("port {}\n", s.port)), "{r}");
    assert!(
        r.contains(&format!("identityfile {}\n", s.file("id_ecdsa_pem"))),
        "{r}"
    );
}

#[test]
fn a_malformed_config_line_is_reported_with_file_and_line() {
    let s = server();
    let dir = local_scratch("malformed");
    let cfg = write(
        &dir.join("config"),
        "Host x\n  HostName 127.0.0.1\n\n  Port twenty-two\n",
    );
    let opts = Opts::trusting(s);
    set_config(&opts, &cfg);
    let want = format!("ssh_config '{cfg}' line 4: bad port 'twenty-two'");
    assert_fail(connect_to("x", &opts), PSFTP_E_INVALID_ARG, &[&want]);
    assert_fail(report(&opts, "anything"), PSFTP_E_INVALID_ARG, &[&want]);
    // A named file that does not exist is refused when set.
    let missing = dir.join("nope").display().to_string();
    assert_fail(
        check(unsafe { psftp_cnopts_set_ssh_config(opts.0, true, c(&missing).as_ptr()) }),
        PSFTP_E_LOCAL_IO,
        &[&missing],
    );
}

#[test]
fn the_report_shows_the_effective_settings_and_explicit_options_win() {
    let dir = local_scratch("report");
    let cfg = write(
        &dir.join("config"),
        "Host web\n  HostName 192.0.2.10\n  User deploy\n  Port 2222\n  Compression yes\n\
         \x20 ConnectTimeout 7\n  ServerAliveInterval 15\n  ServerAliveCountMax 2\n\
         \x20 ProxyJump jump@bastion.example:2200\n  StrictHostKeyChecking accept-new\n\
         \x20 Match exec \"true\"\n  Port 1\n",
    );
    let opts = Opts::new(Some("/tmp/psftp-report-kh"));
    set_config(&opts, &cfg);
    check(psftp_cnopts_set_compression(opts.0, false)).unwrap();
    let r = report(&opts, "web").unwrap();
    for want in [
        "host web\n",
        "hostname 192.0.2.10\n",
        "user deploy\n",
        "port 2222\n",
        "proxyjump jump@bastion.example:2200\n",
        "userknownhostsfile /tmp/psftp-report-kh\n",
        "stricthostkeychecking accept-new\n",
        "connecttimeout 7\n",
        "serveraliveinterval 15\n",
        "serveralivecountmax 2\n",
        "compression no\n",
        &format!("# ssh_config {cfg}\n"),
        "# jump host 1: jump@bastion.example:2200\n",
        "Match exec is not supported",
    ] {
        assert!(r.contains(want), "{want:?} missing in:\n{r}");
    }
    // An explicit proxy replaces the config's; "none" connects directly.
    check(unsafe { psftp_cnopts_set_proxy_jump(opts.0, c("none").as_ptr()) }).unwrap();
    assert!(!report(&opts, "web").unwrap().contains("proxyjump"));
    // Malformed jump lists name the hop.
    assert_fail(
        check(unsafe { psftp_cnopts_set_proxy_jump(opts.0, c("a@b:22,@c").as_ptr()) }),
        PSFTP_E_INVALID_ARG,
        &["hop 2 '@c'", "empty user"],
    );
}

/// The jump network of tests/fixture/jumpnet.sh, once per test process.
struct JumpNet(HashMap<String, String>);

impl JumpNet {
    fn var(&self, k: &str) -> &str {
        self.0
            .get(k)
            .unwrap_or_else(|| panic!("jumpnet env lacks {k}"))
    }
    fn dir(&self, which: &str) -> PathBuf {
        PathBuf::from(self.var(&format!("JUMP_{which}_DIR")))
    }
    /// Successful logins of `which`'s account so far, from its sshd log.
    fn logins(&self, which: &str) -> usize {
        let log = std::fs::read_to_string(self.dir(which).join("sshd.log")).unwrap_or_default();
        let user = self.var(&format!("JUMP_{which}_USER"));
        log.matches(&format!("Accepted publickey for {user} "))
            .count()
    }
    fn config(&self, dir: &Path) -> String {
        let mut text = String::new();
        for (alias, which) in [("b1", "BASTION1"), ("b2", "BASTION2"), ("target", "TARGET")] {
            text += &format!(
                "Host {alias}\n  HostName {}\n  Port {}\n  User {}\n  IdentityFile {}/id_ed25519\n",
                self.var(&format!("JUMP_{which}_HOST")),
                self.var(&format!("JUMP_{which}_PORT")),
                self.var(&format!("JUMP_{which}_USER")),
                self.dir(which).display()
            );
        }
        text += &format!(
            "Host target\n  ProxyJump b1,b2\nHost *\n  UserKnownHostsFile {}\n  IdentitiesOnly yes\n",
            self.var("JUMP_KNOWN_HOSTS")
        );
        write(&dir.join("config"), &text)
    }
}

fn jumpnet() -> &'static JumpNet {
    static NET: OnceLock<JumpNet> = OnceLock::new();
    NET.get_or_init(|| {
        // A directory of its own per attempt: a second attempt must not
        // share (and remove) the first one's, whose script cleans it up.
        static ATTEMPT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "psftp-jumpnet-{}-{}",
            std::process::id(),
            ATTEMPT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d2 = dir.clone();
        let ended = Arc::new(AtomicBool::new(false));
        let ended2 = ended.clone();
        std::thread::spawn(move || {
            let mut child = spawn_script("jumpnet.sh", &d2, None, &[]);
            let _ = child.wait();
            ended2.store(true, Ordering::SeqCst);
        });
        let env = dir.join("env");
        // Three fixtures with their keys and accounts: slow on a loaded
        // machine. A script that ended without its env failed (it said why
        // on stderr, and took down what it had made).
        wait_for_within(
            || env.exists() || ended.load(Ordering::SeqCst),
            "tests/fixture/jumpnet.sh to write its env",
            Duration::from_secs(180),
        );
        assert!(
            env.exists(),
            "tests/fixture/jumpnet.sh failed (see its stderr above)"
        );
        let text = std::fs::read_to_string(&env).unwrap();
        JumpNet(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    })
}

#[test]
fn two_jump_hosts_reach_a_server_the_client_cannot_reach() {
    let net = jumpnet();
    let target = net.var("JUMP_TARGET_HOST");
    // No direct route: the namespace in between does not forward.
    let addr: std::net::SocketAddr = format!("{target}:22").parse().unwrap();
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "{target} must not be reachable directly"
    );
    let dir = local_scratch("jump");
    let cfg = net.config(&dir);
    let opts = Opts::new(None);
    set_config(&opts, &cfg);
    let (b1, b2, t) = (
        net.logins("BASTION1"),
        net.logins("BASTION2"),
        net.logins("TARGET"),
    );
    let conn = connect_to("target", &opts).unwrap();
    assert_eq!(
        (
            net.logins("BASTION1"),
            net.logins("BASTION2"),
            net.logins("TARGET")
        ),
        (b1 + 1, b2 + 1, t + 1)
    );
    // The target sees the connection come from bastion2's side of the
    // second link, and bastion2 from bastion1's side of the first.
    let seen = execute(&conn, "echo $SSH_CONNECTION");
    let prefix = net.var("JUMP_NET");
    assert!(seen.starts_with(&format!("{prefix}.5 ")), "{seen}");
    assert!(seen.contains(&format!(" {target} 22")), "{seen}");
    let log = std::fs::read_to_string(net.dir("BASTION2").join("sshd.log")).unwrap();
    assert!(
        log.contains(&format!("Connection from {prefix}.1 ")),
        "{log}"
    );
    // Data crosses both tunnels intact, both ways.
    let local = local_scratch("jump-data");
    let data = pattern(3 * 1024 * 1024 + 17, 16);
    std::fs::write(local.join("up"), &data).unwrap();
    put(&conn, &local.join("up"), "jump-up").unwrap();
    get(&conn, "jump-up", &local.join("down")).unwrap();
    assert!(std::fs::read(local.join("down")).unwrap() == data);
    assert_eq!(pwd(&conn), net.var("JUMP_TARGET_HOME"));
    drop(conn);
}

#[test]
fn an_explicit_jump_list_and_the_callers_key_open_every_hop() {
    let net = jumpnet();
    let opts = Opts::new(Some(net.var("JUMP_KNOWN_HOSTS")));
    let hops = format!(
        "{}@127.0.0.1:{},{}@{}",
        net.var("JUMP_BASTION1_USER"),
        net.var("JUMP_BASTION1_PORT"),
        net.var("JUMP_BASTION2_USER"),
        net.var("JUMP_BASTION2_HOST")
    );
    check(unsafe { psftp_cnopts_set_proxy_jump(opts.0, c(&hops).as_ptr()) }).unwrap();
    let key = net.dir("TARGET").join("id_ed25519").display().to_string();
    let login = Login {
        host: net.var("JUMP_TARGET_HOST"),
        port: 22,
        user: Some(net.var("JUMP_TARGET_USER")),
        password: None,
        key: Some(&key),
        passphrase: None,
        default_path: None,
    };
    let conn = login.connect(&opts).unwrap();
    assert_eq!(pwd(&conn), net.var("JUMP_TARGET_HOME"));
    // The same key from memory opens every hop too.
    let no_file = Login { key: None, ..login };
    let key_bytes = std::fs::read(&key).unwrap();
    let before = net.logins("BASTION1");
    let from_memory = COpts::from_login(&no_file, &opts)
        .key_data(&key_bytes, None)
        .connect()
        .unwrap();
    assert_eq!(pwd(&from_memory), net.var("JUMP_TARGET_HOME"));
    assert_eq!(net.logins("BASTION1"), before + 1);
    drop(from_memory);
    // A tree operation's extra connections take the same route: each one
    // logs in at every hop (three workers: the connection and two more).
    let local = local_scratch("jump-tree");
    for i in 0..8 {
        std::fs::write(local.join(format!("f{i}")), pattern(100_000 + i, i as u8)).unwrap();
    }
    let before = (
        net.logins("BASTION1"),
        net.logins("BASTION2"),
        net.logins("TARGET"),
    );
    assert_eq!(put_r_bounded(&conn, &local, "jump-tree", 3), (PSFTP_OK, 0));
    let after = (
        net.logins("BASTION1"),
        net.logins("BASTION2"),
        net.logins("TARGET"),
    );
    assert_eq!(after, (before.0 + 2, before.1 + 2, before.2 + 2));
    assert_eq!(listdir(&conn, "jump-tree").unwrap().len(), 8);
    // A hop that refuses names itself.
    let bad = format!(
        "{}@127.0.0.1:{},nobody-here@{}",
        net.var("JUMP_BASTION1_USER"),
        net.var("JUMP_BASTION1_PORT"),
        net.var("JUMP_BASTION2_HOST")
    );
    check(unsafe { psftp_cnopts_set_proxy_jump(opts.0, c(&bad).as_ptr()) }).unwrap();
    assert_fail(
        login.connect(&opts),
        PSFTP_E_AUTH,
        &["jump host 2", "nobody-here@", net.var("JUMP_BASTION2_HOST")],
    );
}

#[test]
fn interrupt_cuts_the_whole_chain_at_once() {
    let net = jumpnet();
    let dir = local_scratch("jump-int");
    let opts = Opts::new(None);
    set_config(&opts, &net.config(&dir));
    let conn = connect_to("target", &opts).unwrap();
    let remote = Path::new(net.var("JUMP_TARGET_HOME")).join("big");
    put_remote_file_as(
        &remote,
        &pattern(64 * 1024 * 1024, 3),
        net.var("JUMP_TARGET_HOME"),
    );
    let started = Instant::now();
    let raw = conn.0 as usize;
    let cut = move || psftp_interrupt(raw as *mut psftp_conn);
    let mut first = OnFirst::new(&cut);
    let r = get_full(
        &conn,
        "big",
        &dir.join("big"),
        first.progress(),
        false,
        std::ptr::null(),
    );
    assert_fail(r, PSFTP_E_CANCELLED, &["interrupted"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    // Closing joins the pumps, which the cut already ended.
    let closing = Instant::now();
    drop(conn);
    assert!(closing.elapsed() < Duration::from_secs(3));
}

/// Write a file owned by the owner of `home` (the target's account).
fn put_remote_file_as(path: &Path, data: &[u8], home: &str) {
    use std::os::unix::fs::MetadataExt;
    std::fs::write(path, data).unwrap();
    let m = std::fs::metadata(home).unwrap();
    std::os::unix::fs::lchown(path, Some(m.uid()), Some(m.gid())).unwrap();
}

/// A ProxyCommand relay in Python (no nc on the test machine): stdin/stdout
/// to host:port, and its pid in a file so the test can check it is reaped.
fn relay_command(pidfile: &Path) -> String {
    format!(
        "python3 -c 'import os,socket,sys,threading; open(sys.argv[3],\"w\").write(str(os.getpid())); \
         s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); \
         threading.Thread(target=lambda: [s.sendall(b) for b in iter(lambda: os.read(0,65536), b\"\")] and s.shutdown(1),daemon=True).start(); \
         [os.write(1,b) for b in iter(lambda: s.recv(65536), b\"\")]' %h %p {}",
        pidfile.display()
    )
}

#[test]
fn a_proxy_command_carries_the_connection_and_is_reaped_on_close() {
    let s = server();
    let dir = local_scratch("proxycmd");
    let pidfile = dir.join("pid");
    let opts = Opts::trusting(s);
    let cmd = relay_command(&pidfile);
    check(unsafe { psftp_cnopts_set_proxy_command(opts.0, c(&cmd).as_ptr()) }).unwrap();
    let conn = Login::password(s).connect(&opts).unwrap();
    assert_eq!(pwd(&conn), s.home.display().to_string());
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().parse().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    drop(conn);
    // Gone, not a zombie: reaped.
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "ProxyCommand {pid} still there"
    );
    // From ssh_config too, with its tokens.
    let cfg = write(
        &dir.join("config"),
        &format!(
            "Host viaproxy\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  ProxyCommand {}\n",
            s.port,
            s.user(),
            relay_command(&dir.join("pid2"))
        ),
    );
    set_config(&opts, &cfg);
    check(unsafe { psftp_cnopts_set_proxy_command(opts.0, std::ptr::null()) }).unwrap();
    let mut login = Login::password(s);
    login.host = "viaproxy";
    login.port = 0;
    login.user = None;
    let conn = login.connect(&opts).unwrap();
    assert!(dir.join("pid2").exists());
    drop(conn);
    // A command that fails says why.
    let bad = "sh -c 'echo no route to %h:%p >&2; exit 3'";
    check(unsafe { psftp_cnopts_set_proxy_command(opts.0, c(bad).as_ptr()) }).unwrap();
    assert_fail(
        Login::password(s).connect(&opts),
        PSFTP_E_SSH,
        &[
            "ProxyCommand",
            "exit status: 3",
            &format!("no route to 127.0.0.1:{}", s.port),
        ],
    );
}

fn set_socket(o: &COpts, fd: c_int) -> Result<(), Fail> {
    check(psftp_connect_opts_set_socket(o.0, fd))
}

#[test]
fn a_socket_the_caller_connected_carries_the_connection() {
    let s = server();
    let opts = Opts::trusting(s);
    let o = COpts::from_login(&Login::password(s), &opts);
    let sock = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    set_socket(&o, sock.as_raw_fd()).unwrap();
    // psftp holds its own duplicate: the caller may close theirs.
    drop(sock);
    let conn = o.connect().unwrap();
    assert_eq!(pwd(&conn), s.home.display().to_string());
    // The socket carries this connection only: a tree operation runs on
    // it alone, and its data is intact.
    let local = local_tree(&local_scratch("socket-tree"), 4, 50_000);
    let rdir = remote_scratch("socket-tree");
    assert_eq!(
        put_r_bounded(&conn, &local, rdir.to_str().unwrap(), 3),
        (PSFTP_OK, 0)
    );
    assert_tree(&rdir, 4, 50_000);
    drop(conn);
    // A ProxyCommand cannot also carry it.
    let sock = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    set_socket(&o, sock.as_raw_fd()).unwrap();
    let proxied = Opts::trusting(s);
    check(unsafe { psftp_cnopts_set_proxy_command(proxied.0, c("nc %h %p").as_ptr()) }).unwrap();
    check(psftp_connect_opts_set_cnopts(o.0, proxied.0)).unwrap();
    assert_fail(
        o.connect(),
        PSFTP_E_INVALID_ARG,
        &["socket", "ProxyCommand"],
    );
    // Not a stream socket, not a descriptor, not open.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_fail(
        set_socket(&o, udp.as_raw_fd()),
        PSFTP_E_INVALID_ARG,
        &["not a stream socket"],
    );
    assert_fail(set_socket(&o, -7), PSFTP_E_INVALID_ARG, &["fd", "-7"]);
    // (A number far above any descriptor a test opens.)
    assert_fail(
        set_socket(&o, 999_999),
        PSFTP_E_INVALID_ARG,
        &["fd", "999999", "Bad file descriptor"],
    );
    set_socket(&o, -1).unwrap();
}

#[test]
fn a_private_key_from_memory_authenticates_and_stays_secret() {
    let s = server();
    let key = std::fs::read(s.file("id_ed25519_enc")).unwrap();
    let opts = Opts::trusting(s);
    let mut login = Login::password(s);
    login.password = None;
    let o = COpts::from_login(&login, &opts);
    o.set_key_data(&key, Some(s.passphrase())).unwrap();
    let conn = o.connect().unwrap();
    assert!(listdir(&conn, ".").is_ok());
    o.set_key_data(&key, Some("wrong passphrase 123")).unwrap();
    let msg = assert_fail(
        o.connect(),
        PSFTP_E_AUTH,
        &["private_key_data", "wrong passphrase"],
    );
    assert!(
        !msg.contains("wrong passphrase 123") && !msg.contains("BEGIN"),
        "{msg}"
    );
    // A PEM RSA key works as well.
    let rsa = std::fs::read(s.file("id_rsa_pem")).unwrap();
    o.set_key_data(&rsa, None).unwrap();
    assert!(o.connect().is_ok());
    // Not a key at all.
    assert_fail(
        o.set_key_data(b"hello", None),
        PSFTP_E_INVALID_ARG,
        &["data", "-----BEGIN", "not shown"],
    );
}

#[test]
fn a_revoked_host_key_is_refused_and_global_known_hosts_are_read() {
    let s = server();
    let dir = local_scratch("revoked");
    let pubkey = std::fs::read_to_string(s.file("ssh_host_ed25519_key.pub")).unwrap();
    let fields: Vec<&str> = pubkey.split_whitespace().collect();
    let kh = std::fs::read_to_string(s.known_hosts()).unwrap();
    let revoked = write(
        &dir.join("known_hosts"),
        &format!("{kh}@revoked * {} {}\n", fields[0], fields[1]),
    );
    let name = format!("[127.0.0.1]:{}", s.port);
    assert_fail(
        Login::password(s).connect(&Opts::new(Some(&revoked))),
        PSFTP_E_HOSTKEY_MISMATCH,
        &[
            "HOST KEY REVOKED",
            &name,
            "ssh-ed25519",
            &format!("{revoked}:4"),
        ],
    );
    // GlobalKnownHostsFile vouches for the host when the user file is empty.
    let empty = write(&dir.join("empty"), "");
    let cfg = write(
        &dir.join("config"),
        &format!(
            "GlobalKnownHostsFile {}\nUserKnownHostsFile {empty}\n",
            s.known_hosts()
        ),
    );
    let opts = Opts::new(None);
    set_config(&opts, &cfg);
    assert!(Login::password(s).connect(&opts).is_ok());
}

/// The keyboard-interactive server (PAM: password, then HOTP), once per
/// test process, and the next HOTP counter (codes are single-use and must
/// rise, so connects to it take turns).
fn kbd_server() -> &'static (Server, Mutex<u64>) {
    static S: OnceLock<(Server, Mutex<u64>)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("psftp-kbd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        (
            Server::spawn_with(&dir, &[("PSFTP_SSHD_KBD", "1")]),
            Mutex::new(0),
        )
    })
}

/// RFC 4226 HOTP, six digits.
fn hotp(secret_hex: &str, counter: u64) -> String {
    let key: Vec<u8> = (0..secret_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&secret_hex[i..i + 2], 16).unwrap())
        .collect();
    let mut mac = [0u8; 20];
    let mut len = 0u32;
    unsafe {
        let ctx = openssl_sys::HMAC_CTX_new();
        assert_eq!(
            openssl_sys::HMAC_Init_ex(
                ctx,
                key.as_ptr() as *const c_void,
                key.len() as c_int,
                openssl_sys::EVP_sha1(),
                std::ptr::null_mut(),
            ),
            1
        );
        openssl_sys::HMAC_Update(ctx, counter.to_be_bytes().as_ptr(), 8);
        openssl_sys::HMAC_Final(ctx, mac.as_mut_ptr(), &mut len);
        openssl_sys::HMAC_CTX_free(ctx);
    }
    assert_eq!(len, 20);
    let o = (mac[19] & 15) as usize;
    let n = u32::from_be_bytes([mac[o] & 0x7f, mac[o + 1], mac[o + 2], mac[o + 3]]);
    format!("{:06}", n % 1_000_000)
}

/// What the callback saw and answers.
#[derive(Default)]
struct Kbd {
    code: String,
    /// Answer the password prompt too (instead of leaving it to the
    /// password given to psftp_connect).
    password: Option<String>,
    /// Give up with this value.
    stop: c_int,
    rounds: Vec<(String, Vec<(String, bool)>)>,
}

unsafe extern "C" fn kbd_cb(
    req: *const psftp_kbdint_request,
    answers: *mut psftp_kbdint_answers,
    ud: *mut c_void,
) -> c_int {
    let k = &mut *(ud as *mut Kbd);
    let r = &*req;
    assert_eq!(r.struct_size, std::mem::size_of::<psftp_kbdint_request>());
    let s = |p: *const c_char| CStr::from_ptr(p).to_str().unwrap().to_string();
    let prompts: Vec<(String, bool)> = (0..r.num_prompts)
        .map(|i| {
            let p = &**r.prompts.add(i);
            assert_eq!(p.struct_size, std::mem::size_of::<psftp_kbdint_prompt>());
            (s(p.text), p.echo)
        })
        .collect();
    k.rounds.push((s(r.user), prompts.clone()));
    if k.stop != 0 {
        return k.stop;
    }
    for (i, (text, _)) in prompts.iter().enumerate() {
        if text.contains("One-time password") {
            assert_eq!(
                psftp_kbdint_answer(answers, i, c(&k.code).as_ptr()),
                PSFTP_OK
            );
        } else if let Some(p) = &k.password {
            assert_eq!(psftp_kbdint_answer(answers, i, c(p).as_ptr()), PSFTP_OK);
        }
    }
    // Out of range is refused, not followed.
    assert_eq!(
        psftp_kbdint_answer(answers, prompts.len(), c("x").as_ptr()),
        PSFTP_E_INVALID_ARG
    );
    0
}

static KBD_FINALIZED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn kbd_finalizer(_ud: *mut c_void) {
    KBD_FINALIZED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

fn set_kbd(o: &COpts, kbd: &mut Kbd) {
    check(psftp_connect_opts_set_kbdint_callback(
        o.0,
        Some(kbd_cb),
        kbd as *mut Kbd as *mut c_void,
        Some(kbd_finalizer),
    ))
    .unwrap();
}

#[test]
fn keyboard_interactive_callback_answers_the_second_factor() {
    use std::sync::atomic::Ordering::SeqCst;
    let (s, counter) = kbd_server();
    let mut n = counter.lock().unwrap();
    let secret = s.var("PSFTP_TEST_OATH_SECRET").to_string();
    let opts = Opts::trusting(s);
    let mut kbd = Kbd {
        code: hotp(&secret, *n),
        ..Kbd::default()
    };
    let o = COpts::from_login(&Login::password(s), &opts);
    set_kbd(&o, &mut kbd);
    // The connection's password answers "Password:", the callback the
    // one-time code.
    let conn = o.connect().unwrap();
    *n += 1;
    assert_eq!(pwd(&conn), s.home.display().to_string());
    // PAM ends with a round of no prompts; the callback sees it too.
    let shown: Vec<Vec<(String, bool)>> = kbd
        .rounds
        .iter()
        .map(|r| r.1.clone())
        .filter(|p| !p.is_empty())
        .collect();
    assert_eq!(
        shown,
        vec![
            vec![("Password: ".to_string(), false)],
            vec![(
                format!("One-time password (OATH) for `{}': ", s.user()),
                false
            )],
        ]
    );
    assert!(kbd.rounds.iter().all(|r| r.0 == s.user()));
    // The callback alone, without a password argument.
    kbd.rounds.clear();
    kbd.code = hotp(&secret, *n);
    kbd.password = Some(s.password().to_string());
    let mut login = Login::password(s);
    login.password = None;
    let alone = COpts::from_login(&login, &opts);
    set_kbd(&alone, &mut kbd);
    assert!(alone.connect().is_ok());
    *n += 1;
    // A used code is refused (single-use), and nothing secret is echoed.
    let msg = assert_fail(alone.connect(), PSFTP_E_AUTH, &["keyboard-interactive"]);
    assert!(
        !msg.contains(&kbd.code) && !msg.contains(s.password()),
        "{msg}"
    );
    // Giving up is PSFTP_E_USER with the callback's value.
    kbd.stop = -4242;
    assert_fail(
        alone.connect(),
        PSFTP_E_USER,
        &[
            "stopped by the keyboard-interactive callback (it returned -4242)",
            s.user(),
        ],
    );
    assert_eq!(psftp_last_callback_value(), -4242);
    // Without a callback the password alone is not enough.
    assert_fail(Login::password(s).connect(&opts), PSFTP_E_AUTH, &[s.user()]);
    // The finalizer runs once per callback stored, when the options and
    // every connection made with them are gone.
    let before = KBD_FINALIZED.load(SeqCst);
    drop(o);
    assert_eq!(
        KBD_FINALIZED.load(SeqCst),
        before,
        "the connection holds it"
    );
    drop(conn);
    assert_eq!(KBD_FINALIZED.load(SeqCst), before + 1);
    drop(alone);
    assert_eq!(KBD_FINALIZED.load(SeqCst), before + 2);
}

/// `n` files f0, f1, .. of `base` + i bytes in `dir`/tree.
fn local_tree(dir: &Path, n: usize, base: usize) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    for i in 0..n {
        std::fs::write(tree.join(format!("f{i}")), pattern(base + i, i as u8)).unwrap();
    }
    tree
}

/// `remote` (seen through the file system) holds local_tree's files intact.
fn assert_tree(remote: &Path, n: usize, base: usize) {
    for i in 0..n {
        let name = format!("f{i}");
        let got = std::fs::read(remote.join(&name)).unwrap();
        assert!(got == pattern(base + i, i as u8), "{name}");
    }
}

/// put_r with `parallelism` from `local` to `remote` on a thread, failing
/// the test (instead of hanging it) if it does not return within 2
/// minutes. The result code and the failures' count.
///
/// (`conn` is used from that thread while this one waits: psftp
/// connections may be used from any thread.)
fn put_r_bounded(conn: &Conn, local: &Path, remote: &str, parallelism: c_int) -> (c_int, usize) {
    let (raw, local, remote) = (conn.0 as usize, c(local.to_str().unwrap()), c(remote));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut xopts = std::ptr::null_mut();
        check(unsafe { psftp_transfer_opts_new(&mut xopts) }).unwrap();
        check(psftp_transfer_opts_set_parallelism(xopts, parallelism)).unwrap();
        let mut failures = std::ptr::null_mut();
        let rc = unsafe {
            psftp_put_r(
                raw as *mut psftp_conn,
                local.as_ptr(),
                remote.as_ptr(),
                true,
                false,
                None,
                std::ptr::null_mut(),
                xopts,
                &mut failures,
            )
        };
        psftp_transfer_opts_free(xopts);
        let n = if failures.is_null() {
            0
        } else {
            unsafe { (*failures).count }
        };
        unsafe { psftp_failure_list_free(failures) };
        let _ = tx.send((rc, n));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("put_r did not return within 2 minutes")
}

/// A server whose SFTP subsystem starts once: the connection gets it, a
/// tree operation's extra connections get a channel that closes at once.
fn sftp_once_server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("psftp-once-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // The shared server's key logs in here too (it is the jump host).
        let jump_key = format!("{}.pub", server().file("id_ed25519"));
        // The static is never dropped: the fixture removes the directory
        // when the server stops, at the end of the test process.
        let knobs = [
            ("PSFTP_SSHD_AUTHORIZE", jump_key.as_str()),
            ("PSFTP_SSHD_RM_DIR", "1"),
        ];
        let s = Server::spawn_with(&dir, &knobs);
        let lock = std::env::temp_dir().join(format!("psftp-once-lock-{}", std::process::id()));
        let script = write(
            &dir.join("sftp-once.sh"),
            &format!(
                "#!/bin/sh\nmkdir {} 2>/dev/null && exec /usr/lib/openssh/sftp-server\nexit 1\n",
                lock.display()
            ),
        );
        // Run by the server's account: readable by it (write() makes 0600).
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let keys = std::fs::read_to_string(s.file("authorized_keys")).unwrap();
        let forced: String = keys
            .lines()
            .map(|l| format!("command=\"sh {script}\" {l}\n"))
            .collect();
        std::fs::write(s.file("authorized_keys"), forced).unwrap();
        s
    })
}

#[test]
fn extra_connections_through_a_jump_host_that_get_no_sftp_do_not_hang_the_tree() {
    let (jump, s) = (server(), sftp_once_server());
    let dir = local_scratch("once");
    let known = dir.join("known_hosts");
    let both = std::fs::read_to_string(jump.known_hosts()).unwrap()
        + &std::fs::read_to_string(s.known_hosts()).unwrap();
    let opts = Opts::new(Some(&write(&known, &both)));
    let hop = format!("{}@127.0.0.1:{}", jump.user(), jump.port);
    check(unsafe { psftp_cnopts_set_proxy_jump(opts.0, c(&hop).as_ptr()) }).unwrap();
    let key = jump.file("id_ed25519");
    let conn = Login::key(s, &key).connect(&opts).unwrap();
    let local = local_tree(&dir, 4, 10_000);
    // As over a direct connection: the extra workers fail to start, the
    // connection itself carries every file.
    assert_eq!(put_r_bounded(&conn, &local, "once-tree", 2), (PSFTP_OK, 0));
    assert_tree(&s.home.join("once-tree"), 4, 10_000);
    let _ = std::fs::remove_dir(
        std::env::temp_dir().join(format!("psftp-once-lock-{}", std::process::id())),
    );
}

/// Against a server that needed the keyboard-interactive callback (a
/// one-time code), a tree operation with parallelism runs on the one
/// connection: no extra connection answers the code's prompt with the
/// password and counts as a failed login.
#[test]
fn a_tree_operation_after_a_second_factor_makes_no_extra_logins() {
    let (s, counter) = kbd_server();
    let mut n = counter.lock().unwrap();
    let opts = Opts::trusting(s);
    let dir = local_scratch("kbd-tree");
    let log = dir.join("psftp.log");
    let lp = c(log.to_str().unwrap());
    check(unsafe { psftp_cnopts_set_log(opts.0, true, lp.as_ptr()) }).unwrap();
    let mut kbd = Kbd {
        code: hotp(s.var("PSFTP_TEST_OATH_SECRET"), *n),
        ..Kbd::default()
    };
    let o = COpts::from_login(&Login::password(s), &opts);
    set_kbd(&o, &mut kbd);
    let conn = o.connect().unwrap();
    *n += 1;
    let local = local_tree(&dir, 6, 20_000);
    let sshd_log = || std::fs::read_to_string(s.dir.join("sshd.log")).unwrap();
    let count = |text: &str| {
        (
            text.matches("Connection from ").count(),
            text.matches("Failed ").count(),
        )
    };
    let before = count(&sshd_log());
    assert_eq!(put_r_bounded(&conn, &local, "kbd-tree", 4), (PSFTP_OK, 0));
    assert_tree(&s.home.join("kbd-tree"), 6, 20_000);
    assert_eq!(
        count(&sshd_log()),
        before,
        "no new connection, no failed login"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("needed the keyboard-interactive callback")
            && text.contains("runs on this connection alone"),
        "{text}"
    );
    drop(conn);
}

/// A jump host's pump sends its own keepalives while the route is idle
/// (they go out only when the socket has room: a keepalive sent in part
/// would wedge libssh2). Watched through a relay in front of the jump
/// host, with the connection locked so that its own keepalives (which
/// the pump would carry too) pause.
#[test]
fn the_jump_hosts_pump_sends_keepalives_while_idle() {
    let s = server();
    let relay = relay::Relay::start(s.port);
    let dir = local_scratch("jump-keepalive");
    // The server is its own jump host, reached through the relay.
    let known = std::fs::read_to_string(s.known_hosts()).unwrap();
    let both = known.clone()
        + &known.replace(
            &format!("[127.0.0.1]:{} ", s.port),
            &format!("[127.0.0.1]:{} ", relay.port),
        );
    let opts = Opts::new(Some(&write(&dir.join("known_hosts"), &both)));
    check(psftp_cnopts_set_keepalive(opts.0, 1)).unwrap();
    let hop = format!("{}@127.0.0.1:{}", s.user(), relay.port);
    check(unsafe { psftp_cnopts_set_proxy_jump(opts.0, c(&hop).as_ptr()) }).unwrap();
    let key = s.file("id_ed25519");
    let conn = Login::key(s, &key).connect(&opts).unwrap();
    assert_eq!(relay.connections(), 1);
    check(psftp_lock(conn.0)).unwrap();
    let before = relay.bytes_up();
    std::thread::sleep(Duration::from_millis(3500));
    assert!(relay.bytes_up() > before, "the pump sent keepalives");
    check(psftp_unlock(conn.0)).unwrap();
    assert_eq!(pwd(&conn), s.home.display().to_string());
}
