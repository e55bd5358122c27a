//! Test harness: a real OpenSSH sshd on 127.0.0.1 (tests/fixture/sshd.sh)
//! and thin helpers that call psftp through its C ABI.
//!
//! The server comes from $PSFTP_TEST_ENV (an env file written by
//! `sshd.sh start`, as the test command does) or is started here once per
//! test binary and dies with it. A missing sshd fails the tests.

#![allow(dead_code)]

pub mod relay;

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use psftp::capi::cnopts::*;
pub use psftp::capi::conn::*;
pub use psftp::capi::fsops::*;
pub use psftp::capi::transfer::*;
pub use psftp::capi::types::*;
pub use psftp::capi::*;

/// One running test server and the files the fixture made for it.
pub struct Server {
    pub env: HashMap<String, String>,
    pub port: u16,
    pub dir: PathBuf,
    pub home: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Server {
    pub fn var(&self, k: &str) -> &str {
        self.env
            .get(k)
            .unwrap_or_else(|| panic!("fixture env lacks {k}"))
    }
    pub fn user(&self) -> &str {
        self.var("PSFTP_TEST_USER")
    }
    pub fn password(&self) -> &str {
        self.var("PSFTP_TEST_PASSWORD")
    }
    pub fn passphrase(&self) -> &str {
        self.var("PSFTP_TEST_PASSPHRASE")
    }
    pub fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
    pub fn known_hosts(&self) -> String {
        self.file("known_hosts")
    }

    pub fn from_env_file(path: &Path) -> Server {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let env: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Server {
            port: env["PSFTP_TEST_PORT"].parse().unwrap(),
            dir: PathBuf::from(&env["PSFTP_TEST_DIR"]),
            home: PathBuf::from(&env["PSFTP_TEST_HOME"]),
            env,
            child: Mutex::new(None),
        }
    }

    /// Start a private server in `dir` (kept alive by a parked thread, so
    /// PR_SET_PDEATHSIG only fires when the test process exits).
    pub fn spawn(dir: &Path) -> Server {
        Server::spawn_with(dir, &[])
    }

    /// A private server with fixture knobs (PSFTP_SSHD_* in tests/fixture/sshd.sh).
    pub fn spawn_with(dir: &Path, knobs: &[(&str, &str)]) -> Server {
        let _ = std::fs::remove_file(dir.join("env"));
        let (tx, rx) = std::sync::mpsc::channel();
        let dir2 = dir.to_path_buf();
        let knobs: Vec<(String, String)> = knobs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        std::thread::spawn(move || {
            let child = spawn_script("sshd.sh", &dir2, None, &knobs);
            tx.send(child).unwrap();
            loop {
                std::thread::park();
            }
        });
        let child = rx.recv().unwrap();
        let env_file = dir.join("env");
        wait_for(|| env_file.exists(), "the fixture to write its env file");
        let server = Server::from_env_file(&env_file);
        server.wait_listening();
        *server.child.lock().unwrap() = Some(child);
        server
    }

    pub fn wait_listening(&self) {
        let addr = format!("127.0.0.1:{}", self.port);
        wait_for(
            || std::net::TcpStream::connect(&addr).is_ok(),
            "sshd to listen (see sshd.log in the fixture directory)",
        );
    }

    /// Kill this server's sshd (only for servers this process spawned).
    /// Kill this server's sshd and every per-connection sshd and
    /// sftp-server under it, as a crash would (only for servers this process
    /// spawned).
    pub fn kill(&self) {
        let mut c = self.child.lock().unwrap();
        if let Some(child) = c.as_mut() {
            kill_tree(child.id());
            let _ = child.wait();
        }
        *c = None;
    }

    /// Start this server again on the same port with the same keys.
    pub fn restart(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        let (dir, port) = (self.dir.clone(), self.port);
        std::thread::spawn(move || {
            tx.send(spawn_script("sshd.sh", &dir, Some(port), &[]))
                .unwrap();
            loop {
                std::thread::park();
            }
        });
        *self.child.lock().unwrap() = Some(rx.recv().unwrap());
        self.wait_listening();
    }
}

/// SIGKILL `pid` and all its descendants (found through /proc).
fn kill_tree(pid: u32) {
    let mut parents: HashMap<u32, Vec<u32>> = HashMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if let Some(ppid) = rest
            .split_whitespace()
            .nth(1)
            .and_then(|x| x.parse::<u32>().ok())
        {
            parents.entry(ppid).or_default().push(p);
        }
    }
    let mut stack = vec![pid];
    let mut all = Vec::new();
    while let Some(p) = stack.pop() {
        all.push(p);
        stack.extend(parents.get(&p).cloned().unwrap_or_default());
    }
    for p in all {
        unsafe { libc::kill(p as i32, libc::SIGKILL) };
    }
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// `tests/fixture/SCRIPT run DIR [PORT]`, stopped by SIGTERM when this
/// process exits.
pub fn spawn_script(
    script: &str,
    dir: &Path,
    port: Option<u16>,
    knobs: &[(String, String)],
) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixture")
        .join(script);
    let mut cmd = Command::new("bash");
    cmd.arg(script).arg("run").arg(dir);
    cmd.envs(knobs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Some(p) = port {
        cmd.arg(p.to_string());
    }
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    cmd.spawn()
        .expect("cannot run tests/fixture/sshd.sh (bash missing?)")
}

pub fn wait_for(cond: impl FnMut() -> bool, what: &str) {
    wait_for_within(cond, what, Duration::from_secs(30))
}

pub fn wait_for_within(mut cond: impl FnMut() -> bool, what: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The shared test server of this test process.
pub fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| match std::env::var_os("PSFTP_TEST_ENV") {
        Some(p) => Server::from_env_file(Path::new(&p)),
        None => {
            let dir = std::env::temp_dir().join(format!("psftp-rust-tests-{}", std::process::id()));
            Server::spawn(&dir)
        }
    })
}

/// A NUL-terminated copy of `s` that lives as long as the returned value.
pub fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// Turn an owned C string from psftp into a String and free it.
pub fn take_string(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
    unsafe { psftp_string_free(p) };
    Some(s)
}

pub fn take_strarray(p: *mut psftp_strarray) -> Vec<String> {
    assert!(!p.is_null());
    let list = unsafe { &*p };
    let v = (0..list.count)
        .map(|i| {
            unsafe { CStr::from_ptr(*list.strings.add(i)) }
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        unsafe { (*list.strings.add(list.count)).is_null() },
        "strarray is NULL-terminated"
    );
    unsafe { psftp_strarray_free(p) };
    v
}

pub fn last_error() -> String {
    unsafe { CStr::from_ptr(psftp_last_error()) }
        .to_str()
        .unwrap()
        .to_string()
}

/// A failed call: its code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub code: c_int,
    pub msg: String,
}

pub fn check(rc: c_int) -> Result<(), Fail> {
    if rc == PSFTP_OK {
        Ok(())
    } else {
        assert_eq!(
            psftp_last_error_code(),
            rc,
            "last_error_code agrees with the result"
        );
        Err(Fail {
            code: rc,
            msg: last_error(),
        })
    }
}

/// Assert `r` failed with `code` and a message containing every `parts`.
#[track_caller]
pub fn assert_fail<T: std::fmt::Debug>(r: Result<T, Fail>, code: c_int, parts: &[&str]) -> String {
    let f = r.expect_err("expected the call to fail");
    assert_eq!(
        f.code,
        code,
        "code {} ({}), message: {}",
        f.code,
        unsafe { CStr::from_ptr(psftp_strerror(f.code)) }
            .to_str()
            .unwrap(),
        f.msg
    );
    for p in parts {
        assert!(f.msg.contains(p), "message {:?} lacks {:?}", f.msg, p);
    }
    f.msg
}

/// Connection options through the C ABI.
pub struct Opts(pub *mut psftp_cnopts);

impl Opts {
    pub fn new(known_hosts: Option<&str>) -> Opts {
        let mut p = std::ptr::null_mut();
        let kh = known_hosts.map(c);
        check(unsafe {
            psftp_cnopts_new(kh.as_ref().map_or(std::ptr::null(), |k| k.as_ptr()), &mut p)
        })
        .unwrap();
        Opts(p)
    }
    /// Options that trust the test server's known_hosts file.
    pub fn trusting(s: &Server) -> Opts {
        Opts::new(Some(&s.known_hosts()))
    }
}

impl Drop for Opts {
    fn drop(&mut self) {
        unsafe { psftp_cnopts_free(self.0) }
    }
}

/// A connection through the C ABI, closed on drop.
#[derive(Debug)]
pub struct Conn(pub *mut psftp_conn);

impl Drop for Conn {
    fn drop(&mut self) {
        unsafe { psftp_close(self.0) }
    }
}

/// Everything pysftp's Connection() takes, for tests.
pub struct Login<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
    pub key: Option<&'a str>,
    pub passphrase: Option<&'a str>,
    pub default_path: Option<&'a str>,
}

impl<'a> Login<'a> {
    pub fn password(s: &'a Server) -> Login<'a> {
        Login {
            host: "127.0.0.1",
            port: s.port,
            user: Some(s.user()),
            password: Some(s.password()),
            key: None,
            passphrase: None,
            default_path: None,
        }
    }
    pub fn key(s: &'a Server, key: &'a str) -> Login<'a> {
        Login {
            password: None,
            key: Some(key),
            ..Login::password(s)
        }
    }

    /// Connect; on failure also check that `error_out` got the message.
    pub fn connect(&self, opts: &Opts) -> Result<Conn, Fail> {
        let cs = |v: Option<&str>| v.map(c);
        let (host, user, pw, key, pass, dp) = (
            c(self.host),
            cs(self.user),
            cs(self.password),
            cs(self.key),
            cs(self.passphrase),
            cs(self.default_path),
        );
        let p = |v: &Option<CString>| v.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        let mut conn = std::ptr::null_mut();
        let mut err = std::ptr::null_mut();
        let rc = unsafe {
            psftp_connect(
                host.as_ptr(),
                p(&user),
                p(&key),
                p(&pw),
                self.port as c_int,
                p(&pass),
                opts.0,
                p(&dp),
                &mut conn,
                &mut err,
            )
        };
        let r = check(rc);
        if let Err(f) = &r {
            assert!(conn.is_null(), "conn_out untouched on failure");
            assert_eq!(
                take_string(err).as_deref(),
                Some(f.msg.as_str()),
                "error_out carries the message"
            );
        }
        r.map(|_| Conn(conn))
    }
}

/// psftp_connect_opts through the C ABI, freed on drop.
pub struct COpts(pub *mut psftp::capi::connect_opts::psftp_connect_opts);

impl COpts {
    pub fn new(host: &str) -> COpts {
        let mut p = std::ptr::null_mut();
        check(unsafe {
            psftp::capi::connect_opts::psftp_connect_opts_new(c(host).as_ptr(), &mut p)
        })
        .unwrap();
        COpts(p)
    }

    /// What `login` and `opts` would give psftp_connect().
    pub fn from_login(login: &Login<'_>, opts: &Opts) -> COpts {
        use psftp::capi::connect_opts::*;
        let o = COpts::new(login.host);
        let cs = |v: Option<&str>| v.map(c);
        let p = |v: &Option<CString>| v.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        let (user, pw, key, pass, dp) = (
            cs(login.user),
            cs(login.password),
            cs(login.key),
            cs(login.passphrase),
            cs(login.default_path),
        );
        check(psftp_connect_opts_set_port(o.0, login.port as c_int)).unwrap();
        check(psftp_connect_opts_set_cnopts(o.0, opts.0)).unwrap();
        // SAFETY: every string is NULL or a live CString.
        unsafe {
            check(psftp_connect_opts_set_username(o.0, p(&user))).unwrap();
            check(psftp_connect_opts_set_password(o.0, p(&pw))).unwrap();
            if key.is_some() {
                check(psftp_connect_opts_set_private_key(o.0, p(&key), p(&pass))).unwrap();
            }
            check(psftp_connect_opts_set_default_path(o.0, p(&dp))).unwrap();
        }
        o
    }

    /// A private key from memory (psftp_connect_opts_set_private_key_data).
    pub fn key_data(self, key: &[u8], passphrase: Option<&str>) -> COpts {
        self.set_key_data(key, passphrase).unwrap();
        self
    }

    pub fn set_key_data(&self, key: &[u8], passphrase: Option<&str>) -> Result<(), Fail> {
        let p = passphrase.map(c);
        check(unsafe {
            psftp::capi::connect_opts::psftp_connect_opts_set_private_key_data(
                self.0,
                key.as_ptr(),
                key.len(),
                p.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            )
        })
    }

    /// psftp_connect_with(); on failure also check that `error_out` got
    /// the message and `conn_out` was left alone.
    pub fn connect(&self) -> Result<Conn, Fail> {
        let mut conn = std::ptr::null_mut();
        let mut err = std::ptr::null_mut();
        let r = check(unsafe {
            psftp::capi::connect_opts::psftp_connect_with(self.0, &mut conn, &mut err)
        });
        if let Err(f) = &r {
            assert!(conn.is_null(), "conn_out untouched on failure");
            assert_eq!(take_string(err).as_deref(), Some(f.msg.as_str()));
        }
        r.map(|_| Conn(conn))
    }
}

impl Drop for COpts {
    fn drop(&mut self) {
        psftp::capi::connect_opts::psftp_connect_opts_free(self.0)
    }
}

/// A password connection to the shared server that trusts its host keys.
pub fn connect() -> Conn {
    let s = server();
    Login::password(s)
        .connect(&Opts::trusting(s))
        .expect("connect to the test server")
}

static SCRATCH_SEQ: AtomicUsize = AtomicUsize::new(0);

impl Server {
    /// A fresh directory in this server's home, owned by its account (each
    /// fixture has an account of its own), and its absolute path as the
    /// server sees it (the server is local).
    pub fn scratch(&self, tag: &str) -> PathBuf {
        let n = SCRATCH_SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = self
            .home
            .join(format!("rt-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        self.chown(&dir);
        dir
    }

    /// Write a file as this server's account would own it.
    pub fn put_file(&self, path: &Path, data: &[u8]) {
        std::fs::write(path, data).unwrap();
        self.chown(path);
    }

    fn chown(&self, path: &Path) {
        let meta = std::fs::metadata(&self.home).unwrap();
        std::os::unix::fs::lchown(path, Some(meta.uid()), Some(meta.gid())).unwrap();
    }
}

/// A fresh directory in the test server's home (Server::scratch).
pub fn remote_scratch(tag: &str) -> PathBuf {
    server().scratch(tag)
}

/// A fresh local directory for the test's own files, inside this test
/// process's local root (removed when the process exits).
pub fn local_scratch(tag: &str) -> PathBuf {
    let n = SCRATCH_SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = process_local_root().join(format!("{tag}-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One local directory per test process; every local file a test makes
/// lives under it, and an atexit handler removes it, so a run leaves
/// nothing in /tmp whether its tests passed or failed (the harness ends
/// through exit() either way).
fn process_local_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    extern "C" fn remove_root() {
        if let Some(root) = ROOT.get() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("psftp-local-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        // SAFETY: registers a plain function with no captured state.
        assert_eq!(unsafe { libc::atexit(remove_root) }, 0);
        root
    })
}

pub fn chown_to_test_user(path: &Path) {
    server().chown(path);
}

/// Write a file as the test user would own it (for remote-side setup).
pub fn put_remote_file(path: &Path, data: &[u8]) {
    server().put_file(path, data);
}

/// Deterministic test data of `len` bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ seed as u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

pub fn mtime(path: &Path) -> i64 {
    std::fs::metadata(path).unwrap().mtime()
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode()
}

/// A local directory nobody can create files in, even root (chattr +i),
/// restored when dropped.
pub struct ReadOnlyDir(pub PathBuf);

impl ReadOnlyDir {
    pub fn new(path: PathBuf) -> ReadOnlyDir {
        std::fs::create_dir_all(&path).unwrap();
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(&path)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        ReadOnlyDir(path)
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

/// `psftp_attrs` of a path through the C ABI.
pub fn stat(conn: &Conn, path: &str) -> Result<psftp_attrs, Fail> {
    let mut a = psftp_attrs::default();
    check(unsafe { psftp_stat(conn.0, c(path).as_ptr(), &mut a) }).map(|_| a)
}

pub fn listdir(conn: &Conn, path: &str) -> Result<Vec<String>, Fail> {
    let mut out = std::ptr::null_mut();
    check(unsafe { psftp_listdir(conn.0, c(path).as_ptr(), &mut out) }).map(|_| take_strarray(out))
}

/// A progress callback and its user data, as psftp_get and psftp_put take
/// them.
pub type ProgressArg = (psftp_progress_cb, *mut c_void);

pub const NO_PROGRESS: ProgressArg = (None, std::ptr::null_mut());

/// `cb` called with `data` as its user data.
pub fn progress_to<T>(
    cb: unsafe extern "C" fn(u64, u64, *mut c_void) -> c_int,
    data: &mut T,
) -> ProgressArg {
    (Some(cb), data as *mut T as *mut c_void)
}

/// psftp_get with every argument.
pub fn get_full(
    conn: &Conn,
    remote: &str,
    local: &Path,
    (cb, user_data): ProgressArg,
    preserve_mtime: bool,
    opts: *const psftp_transfer_opts,
) -> Result<(), Fail> {
    let (r, l) = (c(remote), c(local.to_str().unwrap()));
    check(unsafe {
        psftp_get(
            conn.0,
            r.as_ptr(),
            l.as_ptr(),
            cb,
            user_data,
            preserve_mtime,
            opts,
        )
    })
}

/// psftp_put with every argument, returning the attributes it hands back.
/// They start out as garbage (flags 99), so a test sees that psftp wrote
/// them.
pub fn put_full(
    conn: &Conn,
    local: &Path,
    remote: &str,
    (cb, user_data): ProgressArg,
    confirm: bool,
    preserve_mtime: bool,
    opts: *const psftp_transfer_opts,
) -> Result<psftp_attrs, Fail> {
    let (r, l) = (c(remote), c(local.to_str().unwrap()));
    let mut a = psftp_attrs {
        flags: 99,
        ..Default::default()
    };
    check(unsafe {
        psftp_put(
            conn.0,
            l.as_ptr(),
            r.as_ptr(),
            cb,
            user_data,
            confirm,
            preserve_mtime,
            opts,
            &mut a,
        )
    })
    .map(|_| a)
}

/// Runs `action` from the first progress callback (to freeze, cut or kill
/// the link mid-transfer).
pub struct OnFirst<'a> {
    action: &'a dyn Fn(),
    done: bool,
}

impl<'a> OnFirst<'a> {
    pub fn new(action: &'a dyn Fn()) -> OnFirst<'a> {
        OnFirst {
            action,
            done: false,
        }
    }

    /// The progress argument of psftp_get and psftp_put.
    pub fn progress(&mut self) -> ProgressArg {
        progress_to(on_first, self)
    }
}

/// # Safety
/// `ud` is an `OnFirst`.
pub unsafe extern "C" fn on_first(_d: u64, _t: u64, ud: *mut c_void) -> c_int {
    let f = &mut *(ud as *mut OnFirst<'_>);
    if !f.done {
        f.done = true;
        (f.action)();
    }
    0
}

/// on_first as a tree progress callback.
///
/// # Safety
/// `ud` is an `OnFirst`.
pub unsafe extern "C" fn on_first_tree(_p: *const psftp_tree_progress, ud: *mut c_void) -> c_int {
    on_first(0, 0, ud)
}

pub fn get(conn: &Conn, remote: &str, local: &Path) -> Result<(), Fail> {
    get_full(conn, remote, local, NO_PROGRESS, false, std::ptr::null())
}

pub fn put(conn: &Conn, local: &Path, remote: &str) -> Result<psftp_attrs, Fail> {
    put_full(
        conn,
        local,
        remote,
        NO_PROGRESS,
        true,
        false,
        std::ptr::null(),
    )
}

pub fn string_out(f: impl FnOnce(*mut *mut c_char) -> c_int) -> Result<Option<String>, Fail> {
    let mut out = std::ptr::null_mut();
    check(f(&mut out)).map(|_| take_string(out))
}

pub fn bool_out(f: impl FnOnce(*mut bool) -> c_int) -> Result<bool, Fail> {
    let mut out = false;
    check(f(&mut out)).map(|_| out)
}

/// The scripted hostile SFTP server (tests/hostile/sftp_server.py): its
/// port. It runs until this test process exits.
pub fn hostile_server() -> u16 {
    hostile_ports().0
}

/// The same server's second port: a banner psftp does not know, and
/// requests that arrive together run out of order.
pub fn hostile_reordering_server() -> u16 {
    hostile_ports().1
}

fn hostile_ports() -> (u16, u16) {
    static PORTS: OnceLock<(u16, u16)> = OnceLock::new();
    *PORTS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = root.join("tests/hostile/.venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run tests/setup.sh",
            python.display()
        );
        let port_file = process_local_root().join("hostile.port");
        let _ = std::fs::remove_file(&port_file);
        let (py, script, pf) = (
            python.clone(),
            root.join("tests/hostile/sftp_server.py"),
            port_file.clone(),
        );
        std::thread::spawn(move || {
            let mut cmd = Command::new(py);
            cmd.arg(script).arg(pf).arg(hostile_root());
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
            // Parked forever: PR_SET_PDEATHSIG fires when this thread's
            // process exits, which also reaps the child.
            let mut child = cmd.spawn().expect("start the hostile server");
            let _ = child.wait();
        });
        wait_for(|| port_file.exists(), "the hostile server to listen");
        let ports = std::fs::read_to_string(&port_file).unwrap();
        let mut ports = ports.split_whitespace().map(|p| p.parse().unwrap());
        (ports.next().unwrap(), ports.next().unwrap())
    })
}

/// The real directory behind the hostile server's writable /w.
pub fn hostile_root() -> PathBuf {
    process_local_root().join("hostile.root")
}

/// A connection to the hostile server (its host key is not checked: the
/// tests are about what it sends over SFTP).
pub fn connect_hostile() -> Conn {
    connect_hostile_as("test", None)
}

/// A connection to the hostile server as `user`, whose name picks the
/// quirks of its writable area (see tests/hostile/sftp_server.py), with a
/// log file if given.
pub fn connect_hostile_as(user: &str, log: Option<&Path>) -> Conn {
    connect_hostile_on(hostile_server(), user, log, |_| {})
}

/// `connect_hostile_as` with options of the test's own set by `tune`.
pub fn connect_hostile_tuned(user: &str, log: Option<&Path>, tune: impl FnOnce(&Opts)) -> Conn {
    connect_hostile_on(hostile_server(), user, log, tune)
}

/// A connection to the hostile server's reordering port.
pub fn connect_hostile_reordering(log: Option<&Path>) -> Conn {
    connect_hostile_on(hostile_reordering_server(), "test", log, |_| {})
}

fn connect_hostile_on(port: u16, user: &str, log: Option<&Path>, tune: impl FnOnce(&Opts)) -> Conn {
    let s = server();
    let opts = Opts::new(None);
    tune(&opts);
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    if let Some(l) = log {
        let l = c(l.to_str().unwrap());
        check(unsafe { psftp_cnopts_set_log(opts.0, true, l.as_ptr()) }).unwrap();
    }
    let mut login = Login::password(s);
    login.port = port;
    login.user = Some(user);
    login.password = Some("any");
    login.connect(&opts).expect("connect to the hostile server")
}
