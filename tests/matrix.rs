//! The server matrix (issue 13): one scenario through psftp's C ABI against
//! OpenSSH and five other SFTP servers started by tests/servers/matrix.sh on
//! loopback: asyncssh, paramiko, Go pkg/sftp's NewServer and
//! NewRequestServer, ProFTPD's mod_sftp.
//!
//! Every case runs against every server (one module per server, generated
//! by `matrix!`, so cargo names the failing pair: `asyncssh::symlink_...`).
//! Bytes are checked through psftp and on the served directory itself,
//! which this process reads on the local file system. A server that
//! legitimately lacks a feature (no statvfs, no posix-rename, no chown for
//! an unprivileged user) is described in `quirks()`, and the case asserts
//! the exact code psftp returns there: nothing is skipped, and a missing
//! server fails.
//!
//! The servers come from $PSFTP_MATRIX_DIR (written by `matrix.sh start
//! DIR`, as tests/run-all.sh does); without it this process runs
//! `matrix.sh run` itself and the servers die with it. This target is not
//! part of a plain `cargo test` (Cargo.toml: test = false): run it with
//! `cargo test --test matrix`.

mod common;

use common::*;

use psftp::capi::file::*;
use psftp::capi::tree::*;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_void, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Every server of the matrix, as matrix.sh names them.
const SERVERS: [&str; 7] = [
    "openssh",
    "asyncssh",
    "paramiko",
    "pkgsftp-server",
    "pkgsftp-request",
    "proftpd",
    "proftpd-nosetstat",
];

/// How a server answers posix-rename@openssh.com.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PosixRename {
    /// Advertised, and replaces an existing destination atomically.
    Replaces,
    /// Not advertised.
    NotOffered,
    /// Advertised, but handled as a plain rename that refuses to replace
    /// (pkg/sftp request servers whose handler lacks PosixRename).
    RefusesToReplace,
}

/// What a server's realpath (pysftp's normalize) makes of a missing path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum RealpathOfMissing {
    /// A missing last component is resolved; a missing directory on the
    /// way is NOT_FOUND (OpenSSH, which calls realpath(3) on the parent).
    LastComponent,
    /// Any path is resolved lexically, whatever is missing (asyncssh,
    /// paramiko, pkg/sftp).
    Any,
    /// Whatever is missing is NOT_FOUND (ProFTPD).
    Refused,
}

/// What each server legitimately does differently.
#[derive(Debug, Clone, Copy)]
struct Quirks {
    /// statvfs@openssh.com answered with figures.
    statvfs: bool,
    posix_rename: PosixRename,
    /// The server runs as root: chown to another user works. Otherwise the
    /// server (the user's own process) gets EPERM.
    chown_any: bool,
    /// File names are bytes. paramiko's server decodes and encodes every
    /// name as UTF-8, so a Latin-1 name cannot even be listed there.
    byte_names: bool,
    /// Attributes carry the real atime. pkg/sftp sends the mtime as atime
    /// (Go's os.FileInfo has no atime).
    reports_atime: bool,
    /// LSTAT of a link whose target exists describes the target (ProFTPD;
    /// a dangling link is reported as a link).
    lstat_follows_links: bool,
    /// A relative link target is taken from the server's working directory,
    /// not the link's (pkg/sftp NewServer stores it made absolute).
    link_targets_from_cwd: bool,
    /// SETSTAT and FSETSTAT are refused with SSH_FX_PERMISSION_DENIED, as
    /// on many managed SFTP services (chmod, chown, utime, truncate).
    setstat_refused: bool,
    realpath_of_missing: RealpathOfMissing,
}

fn quirks(server: &str) -> Quirks {
    use PosixRename::*;
    use RealpathOfMissing::*;
    let standard = Quirks {
        statvfs: true,
        posix_rename: Replaces,
        chown_any: false,
        byte_names: true,
        reports_atime: true,
        lstat_follows_links: false,
        link_targets_from_cwd: false,
        setstat_refused: false,
        realpath_of_missing: Any,
    };
    match server {
        "openssh" => Quirks {
            realpath_of_missing: LastComponent,
            ..standard
        },
        "asyncssh" => Quirks {
            chown_any: true,
            ..standard
        },
        "paramiko" => Quirks {
            statvfs: false,
            posix_rename: NotOffered,
            chown_any: true,
            byte_names: false,
            ..standard
        },
        "pkgsftp-server" => Quirks {
            chown_any: true,
            reports_atime: false,
            link_targets_from_cwd: true,
            ..standard
        },
        // The handler has no StatVFS: pkg/sftp advertises statvfs and
        // answers SSH_FX_OP_UNSUPPORTED.
        "pkgsftp-request" => Quirks {
            statvfs: false,
            posix_rename: RefusesToReplace,
            chown_any: true,
            reports_atime: false,
            ..standard
        },
        "proftpd" => Quirks {
            lstat_follows_links: true,
            realpath_of_missing: Refused,
            ..standard
        },
        "proftpd-nosetstat" => Quirks {
            lstat_follows_links: true,
            setstat_refused: true,
            realpath_of_missing: Refused,
            ..standard
        },
        other => panic!("no quirks for server {other}"),
    }
}

/// The file type bits LSTAT of a link to a regular file gives.
fn lstat_kind_of_link(s: &Srv) -> u32 {
    if s.quirks.lstat_follows_links {
        libc::S_IFREG
    } else {
        libc::S_IFLNK
    }
}

/// One running server of the matrix, from its env file.
struct Srv {
    name: String,
    version: String,
    port: u16,
    user: String,
    password: String,
    key: String,
    known_hosts: String,
    /// The served directory on the local file system.
    root: PathBuf,
    /// The same directory as the server names it.
    remote_root: String,
    quirks: Quirks,
}

fn parse_env(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (a missing server is a failure: see tests/servers/matrix.sh)",
            path.display()
        )
    });
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (k.to_string(), v.to_string())
        })
        .collect()
}

impl Srv {
    fn load(dir: &Path, name: &str) -> Srv {
        let env = parse_env(&dir.join(format!("{name}.env")));
        let var = |k: &str| {
            env.get(k)
                .unwrap_or_else(|| panic!("{name}.env lacks {k}"))
                .clone()
        };
        Srv {
            name: name.to_string(),
            version: var("PSFTP_TEST_SERVER_VERSION"),
            port: var("PSFTP_TEST_PORT").parse().unwrap(),
            user: var("PSFTP_TEST_USER"),
            password: var("PSFTP_TEST_PASSWORD"),
            key: var("PSFTP_TEST_KEY"),
            known_hosts: var("PSFTP_TEST_KNOWN_HOSTS"),
            root: PathBuf::from(var("PSFTP_TEST_ROOT")),
            remote_root: var("PSFTP_TEST_REMOTE_ROOT"),
            quirks: quirks(name),
        }
    }

    /// Owner of the served directory: what the server's user may change.
    fn owner(&self) -> (u32, u32) {
        let m = std::fs::metadata(&self.root).unwrap();
        (m.uid(), m.gid())
    }

    fn chown(&self, path: &Path) {
        let (uid, gid) = self.owner();
        std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    }

    /// A remote path under the served directory.
    fn remote(&self, rel: &str) -> String {
        format!("{}/{rel}", self.remote_root.trim_end_matches('/'))
    }

    fn login(&self) -> Login<'_> {
        Login {
            host: "127.0.0.1",
            port: self.port,
            user: Some(&self.user),
            password: Some(&self.password),
            key: None,
            passphrase: None,
            default_path: None,
        }
    }

    fn connect(&self) -> Conn {
        self.login()
            .connect(&Opts::new(Some(&self.known_hosts)))
            .unwrap_or_else(|f| panic!("{} ({}): connect: {f:?}", self.name, self.version))
    }
}

/// The servers' directory: $PSFTP_MATRIX_DIR, or servers this process
/// starts (`matrix.sh run`, which stops them when this process exits).
fn matrix_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(d) = std::env::var_os("PSFTP_MATRIX_DIR") {
            return PathBuf::from(d);
        }
        let dir = std::env::temp_dir().join(format!("psftp-matrix-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/matrix.sh");
        let d2 = dir.clone();
        std::thread::spawn(move || {
            let mut cmd = Command::new("bash");
            cmd.arg(script).arg("run").arg(&d2);
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
            // Parked in wait(): PR_SET_PDEATHSIG fires when this process
            // exits, and matrix.sh then stops every server.
            let status = cmd.spawn().expect("run tests/servers/matrix.sh").wait();
            eprintln!("matrix.sh run exited: {status:?}");
        });
        let ready = dir.join("ready");
        let deadline = Instant::now() + Duration::from_secs(600);
        while !ready.exists() {
            assert!(
                Instant::now() < deadline,
                "the matrix servers did not start (see {})",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        dir
    })
}

fn srv(name: &str) -> &'static Srv {
    static ALL: OnceLock<HashMap<&'static str, Srv>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        SERVERS
            .iter()
            .map(|n| (*n, Srv::load(matrix_dir(), n)))
            .collect()
    });
    &all[name]
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory in the served directory, owned as the server's user:
/// its local path and its remote path. Removed on drop.
struct Scratch {
    local: PathBuf,
    remote: String,
}

impl Scratch {
    fn new(s: &Srv, tag: &str) -> Scratch {
        let name = format!(
            "m-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let local = s.root.join(&name);
        let _ = std::fs::remove_dir_all(&local);
        std::fs::create_dir(&local).unwrap();
        std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o755)).unwrap();
        s.chown(&local);
        Scratch {
            local,
            remote: s.remote(&name),
        }
    }

    /// Remote path of `rel` inside the scratch directory.
    fn r(&self, rel: &str) -> String {
        format!("{}/{rel}", self.remote)
    }

    /// Local path of `rel` inside the scratch directory.
    fn l(&self, rel: &str) -> PathBuf {
        self.local.join(rel)
    }

    /// Put a file there as the server's user would own it.
    fn write(&self, s: &Srv, rel: &str, data: &[u8]) -> PathBuf {
        let p = self.l(rel);
        std::fs::write(&p, data).unwrap();
        s.chown(&p);
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.local);
    }
}

/// A local directory for this process's own files, removed on drop.
struct LocalDir(PathBuf);

impl LocalDir {
    fn new(tag: &str) -> LocalDir {
        LocalDir(local_scratch(&format!("matrix-{tag}")))
    }
}

impl Drop for LocalDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Equal bytes; on a mismatch the message gives sizes and the first
/// differing offset, never the data.
#[track_caller]
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: {} bytes, expected {}; first difference at {:?}",
            got.len(),
            want.len(),
            at.or(Some(got.len().min(want.len())))
        );
    }
}

#[track_caller]
fn ok<T>(r: Result<T, Fail>, s: &Srv, what: &str) -> T {
    r.unwrap_or_else(|f| {
        panic!(
            "{} ({}): {what}: {} {}",
            s.name,
            s.version,
            unsafe { CStr::from_ptr(psftp_strerror(f.code)) }
                .to_str()
                .unwrap(),
            f.msg
        )
    })
}

#[track_caller]
fn expect_code<T: std::fmt::Debug>(r: Result<T, Fail>, code: i32, s: &Srv, what: &str) -> String {
    let name = |c| {
        unsafe { CStr::from_ptr(psftp_strerror(c)) }
            .to_str()
            .unwrap()
    };
    match r {
        Ok(v) => panic!(
            "{} ({}): {what}: returned OK ({v:?}), expected {}",
            s.name,
            s.version,
            name(code)
        ),
        Err(f) => {
            assert_eq!(
                f.code,
                code,
                "{} ({}): {what}: {} ({}), expected {}",
                s.name,
                s.version,
                name(f.code),
                f.msg,
                name(code)
            );
            f.msg
        }
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ------------------------------------------------------------ C ABI helpers

fn lstat(conn: &Conn, path: &str) -> Result<psftp_attrs, Fail> {
    let mut a = psftp_attrs::default();
    check(unsafe { psftp_lstat(conn.0, c(path).as_ptr(), &mut a) }).map(|_| a)
}

fn listdir_attr(conn: &Conn, path: &str) -> Result<Vec<(String, psftp_attrs)>, Fail> {
    let mut out = std::ptr::null_mut();
    check(unsafe { psftp_listdir_attr(conn.0, c(path).as_ptr(), &mut out) })?;
    let list = unsafe { &*out };
    let v = (0..list.count)
        .map(|i| {
            let e = unsafe { &**list.entries.add(i) };
            let name = unsafe { CStr::from_ptr(e.filename) }
                .to_string_lossy()
                .into_owned();
            (name, e.attrs)
        })
        .collect();
    unsafe { psftp_dirent_list_free(out) };
    Ok(v)
}

fn path_bool(
    conn: &Conn,
    f: unsafe extern "C" fn(*mut psftp_conn, *const c_char, *mut bool) -> i32,
    path: &str,
) -> Result<bool, Fail> {
    let p = c(path);
    bool_out(|o| unsafe { f(conn.0, p.as_ptr(), o) })
}

fn path_string(
    conn: &Conn,
    f: unsafe extern "C" fn(*mut psftp_conn, *const c_char, *mut *mut c_char) -> i32,
    path: &str,
) -> Result<String, Fail> {
    let p = c(path);
    string_out(|o| unsafe { f(conn.0, p.as_ptr(), o) }).map(|s| s.unwrap_or_default())
}

fn two_paths(
    conn: &Conn,
    f: unsafe extern "C" fn(*mut psftp_conn, *const c_char, *const c_char) -> i32,
    a: &str,
    b: &str,
) -> Result<(), Fail> {
    let (a, b) = (c(a), c(b));
    check(unsafe { f(conn.0, a.as_ptr(), b.as_ptr()) })
}

/// chmod, mkdir or makedirs with `mode` in POSIX bits (0o755).
fn path_mode(
    conn: &Conn,
    f: unsafe extern "C" fn(*mut psftp_conn, *const c_char, u32) -> i32,
    path: &str,
    mode: u32,
) -> Result<(), Fail> {
    check(unsafe { f(conn.0, c(path).as_ptr(), mode) })
}

fn one_path(
    conn: &Conn,
    f: unsafe extern "C" fn(*mut psftp_conn, *const c_char) -> i32,
    path: &str,
) -> Result<(), Fail> {
    check(unsafe { f(conn.0, c(path).as_ptr()) })
}

fn chown(conn: &Conn, path: &str, uid: i64, gid: i64) -> Result<(), Fail> {
    check(unsafe { psftp_chown(conn.0, c(path).as_ptr(), uid, gid) })
}

fn utime(conn: &Conn, path: &str, atime: i64, mtime: i64) -> Result<(), Fail> {
    check(unsafe { psftp_utime(conn.0, c(path).as_ptr(), atime, mtime) })
}

/// psftp_truncate: the size the server reports afterwards.
fn truncate(conn: &Conn, path: &str, size: u64) -> Result<u64, Fail> {
    let mut new_size = u64::MAX;
    check(unsafe { psftp_truncate(conn.0, c(path).as_ptr(), size, &mut new_size) })
        .map(|_| new_size)
}

fn has_extension(conn: &Conn, name: &str) -> bool {
    let n = c(name);
    bool_out(|o| unsafe { psftp_has_extension(conn.0, n.as_ptr(), o) }).unwrap()
}

/// A remote file through psftp_open, closed on drop.
struct RFile(*mut psftp_file);

impl RFile {
    fn open(conn: &Conn, path: &str, mode: &str, bufsize: i64) -> Result<RFile, Fail> {
        let mut f = std::ptr::null_mut();
        check(unsafe { psftp_open(conn.0, c(path).as_ptr(), c(mode).as_ptr(), bufsize, &mut f) })
            .map(|_| RFile(f))
    }
    fn read(&self, n: usize) -> Result<Vec<u8>, Fail> {
        let mut buf = vec![0u8; n];
        let mut got = 0usize;
        check(unsafe { psftp_file_read(self.0, buf.as_mut_ptr() as *mut c_void, n, &mut got) })?;
        buf.truncate(got);
        Ok(buf)
    }
    fn write(&self, data: &[u8]) -> Result<(), Fail> {
        check(unsafe { psftp_file_write(self.0, data.as_ptr() as *const c_void, data.len()) })
    }
    fn seek(&self, off: i64, whence: i32) -> Result<u64, Fail> {
        let mut pos = 0u64;
        check(unsafe { psftp_file_seek(self.0, off, whence, &mut pos) }).map(|_| pos)
    }
    fn tell(&self) -> u64 {
        let mut pos = 0u64;
        check(unsafe { psftp_file_tell(self.0, &mut pos) }).unwrap();
        pos
    }
    fn close(mut self) -> Result<(), Fail> {
        let f = std::mem::replace(&mut self.0, std::ptr::null_mut());
        check(psftp_file_close(f))
    }
}

impl Drop for RFile {
    fn drop(&mut self) {
        if !self.0.is_null() {
            psftp_file_close(self.0);
        }
    }
}

type Failures = Vec<(String, i32, String)>;

fn take_failures(list: *mut psftp_failure_list) -> Failures {
    assert!(!list.is_null(), "the failure list is always written");
    let l = unsafe { &*list };
    let v = (0..l.count)
        .map(|i| {
            let f = unsafe { &**l.items.add(i) };
            let s = |p| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
            (s(f.path), f.code, s(f.message))
        })
        .collect();
    unsafe { psftp_failure_list_free(list) };
    v
}

fn put_r(conn: &Conn, local: &Path, remote: &str) -> Result<(), (Fail, Failures)> {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            c(local.to_str().unwrap()).as_ptr(),
            c(remote).as_ptr(),
            true,
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut f,
        )
    };
    let r = check(rc);
    let failures = take_failures(f);
    r.map_err(|e| (e, failures))
}

fn get_r(conn: &Conn, remote: &str, local: &Path) -> Result<(), (Fail, Failures)> {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(remote).as_ptr(),
            c(local.to_str().unwrap()).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut f,
        )
    };
    let r = check(rc);
    let failures = take_failures(f);
    r.map_err(|e| (e, failures))
}

#[track_caller]
fn tree_ok(r: Result<(), (Fail, Failures)>, s: &Srv, what: &str) {
    if let Err((f, failures)) = r {
        panic!(
            "{} ({}): {what}: {} {}; failed entries (first 5): {:?}",
            s.name,
            s.version,
            unsafe { CStr::from_ptr(psftp_strerror(f.code)) }
                .to_str()
                .unwrap(),
            f.msg,
            &failures[..failures.len().min(5)]
        );
    }
}

/// Every regular file under `top` by relative path (as bytes), with its
/// content; directories as None.
fn snapshot(top: &Path) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    fn walk(top: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(top).unwrap().as_os_str().as_bytes().to_vec();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                out.insert(rel, None);
                walk(top, &p, out);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(top, top, &mut out);
    out
}

#[track_caller]
fn assert_same_tree(got: &Path, want: &Path, s: &Srv, what: &str) {
    let (g, w) = (snapshot(got), snapshot(want));
    let show = |k: &Vec<u8>| String::from_utf8_lossy(k).into_owned();
    let missing: Vec<String> = w.keys().filter(|k| !g.contains_key(*k)).map(show).collect();
    let extra: Vec<String> = g.keys().filter(|k| !w.contains_key(*k)).map(show).collect();
    let differ: Vec<String> = w
        .iter()
        .filter(|(k, v)| g.get(*k).is_some_and(|gv| gv != *v))
        .map(|(k, _)| show(k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "{} ({}): {what}: {} entries expected; missing {missing:?}, unexpected {extra:?}, \
         different bytes {differ:?}",
        s.name,
        s.version,
        w.len()
    );
}

// ------------------------------------------------------------------- cases

fn login_by_password_and_by_key(s: &Srv) {
    let conn = s.connect();
    let pwd = ok(string_out(|o| unsafe { psftp_pwd(conn.0, o) }), s, "pwd");
    assert!(
        pwd.as_deref().is_some_and(|p| p.starts_with('/')),
        "{}: pwd {pwd:?}",
        s.name
    );
    let opts = Opts::new(Some(&s.known_hosts));
    let mut login = s.login();
    login.password = None;
    login.key = Some(&s.key);
    let by_key = ok(login.connect(&opts), s, "connect with a key");
    assert!(ok(
        path_bool(&by_key, psftp_isdir, &s.remote_root),
        s,
        "isdir of the root"
    ));
    // A wrong password is refused as such.
    let mut bad = s.login();
    bad.password = Some("not-the-password");
    expect_code(bad.connect(&opts), PSFTP_E_AUTH, s, "wrong password");
}

const SIZES: [usize; 4] = [0, 1, 1_000_001, 64 << 20];

fn put_and_get_of_every_size(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "sizes");
    let ld = LocalDir::new("sizes");
    for (i, &n) in SIZES.iter().enumerate() {
        // Up: psftp's bytes as the server wrote them to its disk.
        let data = pattern(n, i as u8 + 1);
        let src = ld.0.join(format!("src{n}"));
        std::fs::write(&src, &data).unwrap();
        let name = format!("up{n}.bin");
        let attrs = ok(put(&conn, &src, &sc.r(&name)), s, &format!("put of {n} B"));
        assert_eq!(
            attrs.size, n as u64,
            "{}: put {n} B: confirmed size",
            s.name
        );
        let on_disk = std::fs::read(sc.l(&name)).unwrap();
        assert_same(
            &on_disk,
            &data,
            &format!("{}: put of {n} B, served file", s.name),
        );
        // Down: the same file back through psftp.
        let back = ld.0.join(format!("back{n}"));
        ok(get(&conn, &sc.r(&name), &back), s, &format!("get of {n} B"));
        assert_same(
            &std::fs::read(&back).unwrap(),
            &data,
            &format!("{}: get of the uploaded {n} B", s.name),
        );
        // Down: a file the server's disk got without psftp.
        let theirs = pattern(n, i as u8 + 101);
        sc.write(s, &format!("theirs{n}.bin"), &theirs);
        let dl = ld.0.join(format!("theirs{n}"));
        ok(
            get(&conn, &sc.r(&format!("theirs{n}.bin")), &dl),
            s,
            &format!("get of a {n} B file made on the server"),
        );
        assert_same(
            &std::fs::read(&dl).unwrap(),
            &theirs,
            &format!("{}: get of {n} B made on the server", s.name),
        );
        let st = ok(stat(&conn, &sc.r(&name)), s, "stat");
        assert_eq!(st.size, n as u64, "{}: stat size of {name}", s.name);
        std::fs::remove_file(&src).unwrap();
        std::fs::remove_file(&back).unwrap();
        std::fs::remove_file(&dl).unwrap();
    }
    // Nothing but the files: no part file left behind on either side.
    let mut want: Vec<String> = SIZES
        .iter()
        .flat_map(|n| [format!("theirs{n}.bin"), format!("up{n}.bin")])
        .collect();
    want.sort();
    assert_eq!(names_in(&sc.local), want, "{}: served directory", s.name);
    assert!(names_in(&ld.0).is_empty(), "{}: local leftovers", s.name);
}

fn overwrite_existing_files(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "over");
    let ld = LocalDir::new("over");
    // put over an existing remote file, shorter then longer; its
    // permission bits are kept (psftp_transfer_opts_set_atomic).
    let old = pattern(300_000, 7);
    let target = sc.write(s, "over.bin", &old);
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    for (k, n) in [(8u8, 123_457usize), (9, 700_001)] {
        let new = pattern(n, k);
        let src = ld.0.join("src.bin");
        std::fs::write(&src, &new).unwrap();
        ok(
            put(&conn, &src, &sc.r("over.bin")),
            s,
            &format!("put of {n} B over an existing file"),
        );
        assert_same(
            &std::fs::read(&target).unwrap(),
            &new,
            &format!("{}: put over an existing file", s.name),
        );
        if !s.quirks.setstat_refused {
            assert_eq!(
                mode(&target) & 0o7777,
                0o640,
                "{}: put over an existing file keeps its mode",
                s.name
            );
        }
        assert_eq!(
            names_in(&sc.local),
            ["over.bin"],
            "{}: served dir after put",
            s.name
        );
    }
    // get over an existing local file, longer then shorter.
    for (k, n) in [(10u8, 50_000usize), (11, 2_000_003)] {
        let theirs = pattern(n, k);
        sc.write(s, "theirs.bin", &theirs);
        let dst = ld.0.join("dst.bin");
        std::fs::write(&dst, pattern(1_000_000, 12)).unwrap();
        ok(
            get(&conn, &sc.r("theirs.bin"), &dst),
            s,
            "get over an existing local file",
        );
        assert_same(
            &std::fs::read(&dst).unwrap(),
            &theirs,
            &format!("{}: get over an existing local file", s.name),
        );
    }
    assert_eq!(
        names_in(&ld.0),
        ["dst.bin", "src.bin"],
        "{}: local dir",
        s.name
    );
}

/// A tree of 300 files (0 to about 20 KB) in 20 directories two levels
/// deep, plus a few at the top.
fn make_tree(top: &Path) -> usize {
    let mut n = 0;
    for a in 0..4 {
        for b in 0..5 {
            let d = top.join(format!("a{a}")).join(format!("b{b}"));
            std::fs::create_dir_all(&d).unwrap();
            for f in 0..14 {
                let size = (n * 997) % 20_011;
                std::fs::write(d.join(format!("f{f:02}.bin")), pattern(size, n as u8)).unwrap();
                n += 1;
            }
        }
    }
    for f in 0..20 {
        std::fs::write(top.join(format!("top{f}.txt")), pattern(f * 31, f as u8)).unwrap();
        n += 1;
    }
    n
}

fn put_r_and_get_r_round_trip(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "tree");
    let ld = LocalDir::new("tree");
    let src = ld.0.join("src");
    assert_eq!(make_tree(&src), 300);
    ok(
        path_mode(&conn, psftp_mkdir, &sc.r("up"), 0o755),
        s,
        "mkdir up",
    );
    tree_ok(put_r(&conn, &src, &sc.r("up")), s, "put_r of 300 files");
    assert_same_tree(&sc.l("up"), &src, s, "put_r, served tree");
    // get_r lands at reparent(localdir, remotedir): from the scratch
    // directory, "up" lands at localdir/up.
    ok(one_path(&conn, psftp_chdir, &sc.remote), s, "chdir");
    let dl = ld.0.join("dl");
    std::fs::create_dir(&dl).unwrap();
    tree_ok(get_r(&conn, "up", &dl), s, "get_r of 300 files");
    assert_same_tree(&dl.join("up"), &src, s, "get_r, local tree");

    // Again, over the copies: changed files replace the old ones on both
    // sides.
    for (k, rel) in [
        "a0/b0/f00.bin",
        "a1/b2/f07.bin",
        "a3/b4/f13.bin",
        "top3.txt",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(src.join(rel), pattern(4_000 + k * 1_000, 200 + k as u8)).unwrap();
    }
    tree_ok(
        put_r(&conn, &src, &sc.r("up")),
        s,
        "put_r over an existing tree",
    );
    assert_same_tree(&sc.l("up"), &src, s, "put_r over an existing tree");
    tree_ok(
        get_r(&conn, "up", &dl),
        s,
        "get_r over an existing local tree",
    );
    assert_same_tree(&dl.join("up"), &src, s, "get_r over an existing tree");
}

/// Names that are not UTF-8 (Latin-1) go both ways byte for byte; on a
/// server whose names must be UTF-8, non-ASCII UTF-8 names do.
fn names_as_bytes_both_ways(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "names");
    let ld = LocalDir::new("names");
    let (down_name, up_name): (&[u8], &[u8]) = if s.quirks.byte_names {
        (b"caf\xe9.txt", b"na\xefve.bin")
    } else {
        ("café.txt".as_bytes(), "naïve.bin".as_bytes())
    };
    let down = sc.l("down");
    std::fs::create_dir(&down).unwrap();
    s.chown(&down);
    let theirs = pattern(5_000, 21);
    let p = down.join(OsStr::from_bytes(down_name));
    std::fs::write(&p, &theirs).unwrap();
    s.chown(&p);
    ok(one_path(&conn, psftp_chdir, &sc.remote), s, "chdir");
    let dl = ld.0.join("dl");
    std::fs::create_dir(&dl).unwrap();
    tree_ok(
        get_r(&conn, "down", &dl),
        s,
        &format!("get_r of {}", String::from_utf8_lossy(down_name)),
    );
    assert_same_tree(&dl.join("down"), &down, s, "get_r of a byte name");

    let src = ld.0.join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join(OsStr::from_bytes(up_name)), pattern(7_000, 22)).unwrap();
    ok(
        path_mode(&conn, psftp_mkdir, &sc.r("up"), 0o755),
        s,
        "mkdir up",
    );
    tree_ok(
        put_r(&conn, &src, &sc.r("up")),
        s,
        &format!("put_r of {}", String::from_utf8_lossy(up_name)),
    );
    assert_same_tree(&sc.l("up"), &src, s, "put_r of a byte name");
}

fn listing_stat_and_tests(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "list");
    let a = sc.write(s, "a.txt", b"hello");
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o604)).unwrap();
    std::fs::create_dir(sc.l("sub")).unwrap();
    s.chown(&sc.l("sub"));
    std::os::unix::fs::symlink("a.txt", sc.l("ln")).unwrap();
    std::os::unix::fs::symlink("nowhere", sc.l("dangling")).unwrap();
    s.chown(&sc.l("ln"));
    s.chown(&sc.l("dangling"));

    let names = ok(listdir(&conn, &sc.remote), s, "listdir");
    assert_eq!(names, ["a.txt", "dangling", "ln", "sub"], "{}", s.name);
    let attrs = ok(listdir_attr(&conn, &sc.remote), s, "listdir_attr");
    let kinds: Vec<(String, u32, u64)> = attrs
        .iter()
        .map(|(n, a)| (n.clone(), a.mode & libc::S_IFMT, a.size))
        .collect();
    assert_eq!(kinds[0], ("a.txt".into(), libc::S_IFREG, 5), "{}", s.name);
    assert_eq!(kinds[1].1, libc::S_IFLNK, "{}: dangling", s.name);
    assert_eq!(kinds[2].1, libc::S_IFLNK, "{}: ln", s.name);
    assert_eq!(kinds[3].1, libc::S_IFDIR, "{}: sub", s.name);
    assert_eq!(attrs.len(), 4, "{}", s.name);

    let st = ok(stat(&conn, &sc.r("a.txt")), s, "stat");
    assert_eq!(
        (st.size, st.mode & 0o7777, st.mtime),
        (5, 0o604, mtime(&a)),
        "{}: stat a.txt",
        s.name
    );
    let (uid, gid) = s.owner();
    assert_eq!((st.uid, st.gid), (uid, gid), "{}: stat ids", s.name);
    let via_link = ok(stat(&conn, &sc.r("ln")), s, "stat of a link");
    assert_eq!(
        (via_link.mode & libc::S_IFMT, via_link.size),
        (libc::S_IFREG, 5),
        "{}: stat follows the link",
        s.name
    );
    let link = ok(lstat(&conn, &sc.r("ln")), s, "lstat");
    assert_eq!(
        link.mode & libc::S_IFMT,
        lstat_kind_of_link(s),
        "{}: lstat",
        s.name
    );
    let dangling = ok(lstat(&conn, &sc.r("dangling")), s, "lstat");
    assert_eq!(
        dangling.mode & libc::S_IFMT,
        libc::S_IFLNK,
        "{}: lstat of a dangling link",
        s.name
    );
    expect_code(
        stat(&conn, &sc.r("missing")),
        PSFTP_E_NOT_FOUND,
        s,
        "stat of a missing path",
    );

    let t = |f, p: &str| ok(path_bool(&conn, f, &sc.r(p)), s, p);
    assert!(
        t(psftp_exists, "a.txt") && t(psftp_exists, "sub"),
        "{}",
        s.name
    );
    assert!(!t(psftp_exists, "missing"), "{}: exists(missing)", s.name);
    assert!(
        !t(psftp_exists, "dangling") && t(psftp_lexists, "dangling"),
        "{}: a dangling link",
        s.name
    );
    assert!(
        t(psftp_isdir, "sub") && !t(psftp_isdir, "a.txt"),
        "{}",
        s.name
    );
    assert!(
        t(psftp_isfile, "a.txt") && t(psftp_isfile, "ln") && !t(psftp_isfile, "sub"),
        "{}",
        s.name
    );

    let norm = ok(
        path_string(&conn, psftp_normalize, &sc.r("sub/..")),
        s,
        "normalize",
    );
    assert_eq!(norm, sc.remote, "{}: normalize of sub/..", s.name);
    ok(one_path(&conn, psftp_chdir, &sc.r("sub")), s, "chdir");
    let norm = ok(path_string(&conn, psftp_normalize, ".."), s, "normalize");
    assert_eq!(norm, sc.remote, "{}: normalize of .. from sub", s.name);
    // normalize is the server's realpath (as in pysftp): what it makes of
    // a missing path is the server's choice.
    let missing = path_string(&conn, psftp_normalize, &sc.r("missing"));
    let missing_dir = path_string(&conn, psftp_normalize, &sc.r("nodir/missing"));
    let resolved = |r, p: &str| assert_eq!(ok(r, s, p), sc.r(p), "{}: normalize of {p}", s.name);
    let refused = |r, p: &str| {
        expect_code(r, PSFTP_E_NOT_FOUND, s, &format!("normalize of {p}"));
    };
    match s.quirks.realpath_of_missing {
        RealpathOfMissing::Any => {
            resolved(missing, "missing");
            resolved(missing_dir, "nodir/missing");
        }
        RealpathOfMissing::LastComponent => {
            resolved(missing, "missing");
            refused(missing_dir, "nodir/missing");
        }
        RealpathOfMissing::Refused => {
            refused(missing, "missing");
            refused(missing_dir, "nodir/missing");
        }
    }
}

fn mkdir_makedirs_rmdir_remove(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "dirs");
    ok(path_mode(&conn, psftp_mkdir, &sc.r("m"), 0o755), s, "mkdir");
    let m = std::fs::metadata(sc.l("m")).unwrap();
    assert!(m.is_dir(), "{}: mkdir made a directory", s.name);
    assert_eq!(m.mode() & 0o777, 0o755, "{}: mkdir mode", s.name);
    expect_code(
        path_mode(&conn, psftp_mkdir, &sc.r("m"), 0o755),
        PSFTP_E_EXISTS,
        s,
        "mkdir of an existing directory",
    );
    ok(
        path_mode(&conn, psftp_makedirs, &sc.r("p/q/r"), 0o700),
        s,
        "makedirs",
    );
    assert!(sc.l("p/q/r").is_dir(), "{}: makedirs", s.name);
    ok(
        path_mode(&conn, psftp_makedirs, &sc.r("p/q/r"), 0o700),
        s,
        "makedirs of an existing tree",
    );
    sc.write(s, "file", b"x");
    expect_code(
        path_mode(&conn, psftp_makedirs, &sc.r("file/deeper"), 0o755),
        PSFTP_E_EXISTS,
        s,
        "makedirs through a file",
    );

    ok(one_path(&conn, psftp_rmdir, &sc.r("m")), s, "rmdir");
    assert!(!sc.l("m").exists(), "{}: rmdir", s.name);
    assert!(
        one_path(&conn, psftp_rmdir, &sc.r("p")).is_err(),
        "{}: rmdir of a non-empty directory must fail",
        s.name
    );
    assert!(sc.l("p/q/r").is_dir(), "{}: rmdir of non-empty", s.name);

    ok(one_path(&conn, psftp_remove, &sc.r("file")), s, "remove");
    assert!(!sc.l("file").exists(), "{}: remove", s.name);
    expect_code(
        one_path(&conn, psftp_remove, &sc.r("file")),
        PSFTP_E_NOT_FOUND,
        s,
        "remove of a missing file",
    );
    assert!(
        one_path(&conn, psftp_remove, &sc.r("p")).is_err(),
        "{}: remove of a directory must fail",
        s.name
    );
    assert!(sc.l("p").is_dir(), "{}: remove of a directory", s.name);
}

fn rename_and_posix_rename(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "rename");
    sc.write(s, "a", b"alpha");
    sc.write(s, "b", b"bravo");
    sc.write(s, "c", b"charlie");
    ok(
        two_paths(&conn, psftp_rename, &sc.r("a"), &sc.r("a2")),
        s,
        "rename",
    );
    assert_eq!(std::fs::read(sc.l("a2")).unwrap(), b"alpha", "{}", s.name);
    assert!(!sc.l("a").exists(), "{}: rename source gone", s.name);
    expect_code(
        two_paths(&conn, psftp_rename, &sc.r("b"), &sc.r("c")),
        PSFTP_E_EXISTS,
        s,
        "rename onto an existing file",
    );
    assert_eq!(std::fs::read(sc.l("b")).unwrap(), b"bravo", "{}", s.name);
    assert_eq!(std::fs::read(sc.l("c")).unwrap(), b"charlie", "{}", s.name);

    let offered = has_extension(&conn, "posix-rename@openssh.com");
    let over = two_paths(&conn, psftp_posix_rename, &sc.r("b"), &sc.r("c"));
    match s.quirks.posix_rename {
        PosixRename::Replaces => {
            assert!(offered, "{}: posix-rename advertised", s.name);
            ok(over, s, "posix_rename onto an existing file");
            assert_eq!(std::fs::read(sc.l("c")).unwrap(), b"bravo", "{}", s.name);
            assert!(!sc.l("b").exists(), "{}: posix_rename source", s.name);
        }
        PosixRename::NotOffered => {
            assert!(!offered, "{}: posix-rename not advertised", s.name);
            expect_code(over, PSFTP_E_UNSUPPORTED, s, "posix_rename");
            assert_eq!(std::fs::read(sc.l("b")).unwrap(), b"bravo", "{}", s.name);
            assert_eq!(std::fs::read(sc.l("c")).unwrap(), b"charlie", "{}", s.name);
        }
        PosixRename::RefusesToReplace => {
            // The server cannot replace: psftp must say so, and lose
            // nothing.
            assert!(offered, "{}: posix-rename advertised", s.name);
            let f = over.expect_err("posix_rename onto an existing file cannot succeed here");
            assert!(
                f.msg.contains(&sc.r("c")) || f.msg.contains(&sc.r("b")),
                "{}: the message names the paths: {}",
                s.name,
                f.msg
            );
            assert_eq!(std::fs::read(sc.l("b")).unwrap(), b"bravo", "{}", s.name);
            assert_eq!(std::fs::read(sc.l("c")).unwrap(), b"charlie", "{}", s.name);
            ok(
                two_paths(&conn, psftp_posix_rename, &sc.r("b"), &sc.r("b2")),
                s,
                "posix_rename to a new name",
            );
            assert_eq!(std::fs::read(sc.l("b2")).unwrap(), b"bravo", "{}", s.name);
        }
    }
}

fn chmod_chown_utime_truncate(s: &Srv) {
    if s.quirks.setstat_refused {
        return setstat_refused(s);
    }
    let conn = s.connect();
    let sc = Scratch::new(s, "attrs");
    let data = pattern(10_000, 31);
    let f = sc.write(s, "f.bin", &data);
    ok(
        path_mode(&conn, psftp_chmod, &sc.r("f.bin"), 0o640),
        s,
        "chmod",
    );
    assert_eq!(mode(&f) & 0o7777, 0o640, "{}: chmod", s.name);
    assert_eq!(
        ok(stat(&conn, &sc.r("f.bin")), s, "stat").mode & 0o7777,
        0o640,
        "{}: stat after chmod",
        s.name
    );

    let (uid, gid) = s.owner();
    ok(
        chown(&conn, &sc.r("f.bin"), uid as i64, gid as i64),
        s,
        "chown to the owner",
    );
    ok(
        chown(&conn, &sc.r("f.bin"), -1, gid as i64),
        s,
        "chown of the group only",
    );
    let other = 4_242_424;
    if s.quirks.chown_any {
        ok(
            chown(&conn, &sc.r("f.bin"), other, other),
            s,
            "chown to another user",
        );
        let m = std::fs::metadata(&f).unwrap();
        assert_eq!(
            (m.uid(), m.gid()),
            (other as u32, other as u32),
            "{}",
            s.name
        );
        s.chown(&f);
    } else {
        expect_code(
            chown(&conn, &sc.r("f.bin"), other, -1),
            PSFTP_E_PERMISSION,
            s,
            "chown to another user",
        );
        assert_eq!(std::fs::metadata(&f).unwrap().uid(), uid, "{}", s.name);
    }

    let (atime, mtime_) = (1_000_000_000i64, 1_234_567_890i64);
    ok(utime(&conn, &sc.r("f.bin"), atime, mtime_), s, "utime");
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!((m.atime(), m.mtime()), (atime, mtime_), "{}: utime", s.name);
    let st = ok(stat(&conn, &sc.r("f.bin")), s, "stat");
    let reported_atime = if s.quirks.reports_atime {
        atime
    } else {
        mtime_
    };
    assert_eq!(
        (st.atime, st.mtime),
        (reported_atime, mtime_),
        "{}: stat times",
        s.name
    );

    assert_eq!(
        ok(truncate(&conn, &sc.r("f.bin"), 3), s, "truncate"),
        3,
        "{}: new size",
        s.name
    );
    assert_same(
        &std::fs::read(&f).unwrap(),
        &data[..3],
        &format!("{}: truncate to 3", s.name),
    );
    assert_eq!(
        ok(truncate(&conn, &sc.r("f.bin"), 4096), s, "truncate up"),
        4096,
        "{}: new size",
        s.name
    );
    let mut want = data[..3].to_vec();
    want.resize(4096, 0);
    assert_same(
        &std::fs::read(&f).unwrap(),
        &want,
        &format!("{}: truncate up to 4096", s.name),
    );
}

/// Where the server refuses SETSTAT, each attribute call says so and
/// changes nothing.
fn setstat_refused(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "attrs");
    let data = pattern(10_000, 31);
    let f = sc.write(s, "f.bin", &data);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = std::fs::metadata(&f).unwrap();
    let p = sc.r("f.bin");
    let (uid, gid) = s.owner();
    expect_code(
        path_mode(&conn, psftp_chmod, &p, 0o600),
        PSFTP_E_PERMISSION,
        s,
        "chmod",
    );
    expect_code(
        chown(&conn, &p, uid as i64, gid as i64),
        PSFTP_E_PERMISSION,
        s,
        "chown",
    );
    expect_code(
        utime(&conn, &p, 1_000_000_000, 1_234_567_890),
        PSFTP_E_PERMISSION,
        s,
        "utime",
    );
    expect_code(truncate(&conn, &p, 3), PSFTP_E_PERMISSION, s, "truncate");
    let after = std::fs::metadata(&f).unwrap();
    assert_eq!(
        (after.mode(), after.mtime(), after.uid()),
        (before.mode(), before.mtime(), before.uid()),
        "{}: nothing changed",
        s.name
    );
    assert_same(
        &std::fs::read(&f).unwrap(),
        &data,
        &format!("{}: content", s.name),
    );
}

fn symlink_and_readlink(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "links");
    sc.write(s, "target.txt", b"pointed at");
    // pysftp symlink(remote_src, remote_dest): the link is remote_dest,
    // its target stored as given (relative here).
    let target = if s.quirks.link_targets_from_cwd {
        let dir = sc.local.file_name().unwrap().to_str().unwrap();
        format!("{dir}/target.txt")
    } else {
        "target.txt".to_string()
    };
    ok(
        two_paths(&conn, psftp_symlink, &target, &sc.r("link")),
        s,
        &format!("symlink({target}, link)"),
    );
    let names = names_in(&sc.local);
    assert_eq!(
        names,
        ["link", "target.txt"],
        "{}: the link is named link",
        s.name
    );
    // A link made the wrong way round would be named like the target, in
    // the server's starting directory (the served root): none is left.
    if !target.contains('/') {
        assert!(
            std::fs::symlink_metadata(s.root.join(&target)).is_err(),
            "{}: a reversed link was left at {target}",
            s.name
        );
    }
    let lm = std::fs::symlink_metadata(sc.l("link")).unwrap();
    assert!(lm.file_type().is_symlink(), "{}: link is a link", s.name);
    assert_eq!(
        std::fs::read(sc.l("link")).unwrap(),
        b"pointed at",
        "{}: the link leads to target.txt",
        s.name
    );
    let got = ok(
        path_string(&conn, psftp_readlink, &sc.r("link")),
        s,
        "readlink",
    );
    assert_eq!(got, sc.r("target.txt"), "{}: readlink", s.name);
    let l = ok(lstat(&conn, &sc.r("link")), s, "lstat of the link");
    assert_eq!(l.mode & libc::S_IFMT, lstat_kind_of_link(s), "{}", s.name);
    expect_code(
        two_paths(&conn, psftp_symlink, "elsewhere", &sc.r("target.txt")),
        PSFTP_E_EXISTS,
        s,
        "symlink onto an existing file",
    );
    assert_eq!(
        std::fs::read(sc.l("target.txt")).unwrap(),
        b"pointed at",
        "{}",
        s.name
    );
}

fn statvfs(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "vfs");
    let mut v = psftp_statvfs_info::default();
    let r = check(unsafe { psftp_statvfs(conn.0, c(&sc.remote).as_ptr(), &mut v) });
    if s.quirks.statvfs {
        ok(r, s, "statvfs");
        let mut local: libc::statvfs = unsafe { std::mem::zeroed() };
        let p = c(sc.local.to_str().unwrap());
        assert_eq!(unsafe { libc::statvfs(p.as_ptr(), &mut local) }, 0);
        assert_eq!(
            (v.bsize, v.frsize, v.blocks, v.files),
            (local.f_bsize, local.f_frsize, local.f_blocks, local.f_files),
            "{}: statvfs figures",
            s.name
        );
        assert!(v.namemax > 0, "{}: namemax", s.name);
    } else {
        expect_code(r, PSFTP_E_UNSUPPORTED, s, "statvfs");
    }
}

fn open_seek_read_write(s: &Srv) {
    let conn = s.connect();
    let sc = Scratch::new(s, "file");
    let data = pattern(300_000, 41);
    let w = ok(RFile::open(&conn, &sc.r("f.bin"), "w", -1), s, "open w");
    for chunk in data.chunks(7_001) {
        ok(w.write(chunk), s, "write");
    }
    assert_eq!(w.tell(), data.len() as u64, "{}: tell after writes", s.name);
    ok(w.close(), s, "close");
    assert_same(
        &std::fs::read(sc.l("f.bin")).unwrap(),
        &data,
        &format!("{}: written file", s.name),
    );

    let r = ok(RFile::open(&conn, &sc.r("f.bin"), "r", -1), s, "open r");
    assert_same(&ok(r.read(100), s, "read"), &data[..100], "first 100 B");
    assert_eq!(
        ok(r.seek(150_000, PSFTP_SEEK_SET), s, "seek"),
        150_000,
        "{}",
        s.name
    );
    assert_same(
        &ok(r.read(1_000), s, "read"),
        &data[150_000..151_000],
        &format!("{}: read after seek", s.name),
    );
    assert_eq!(ok(r.seek(-10, PSFTP_SEEK_END), s, "seek end"), 299_990);
    assert_same(
        &ok(r.read(100), s, "read"),
        &data[299_990..],
        &format!("{}: read at the end", s.name),
    );
    assert!(
        ok(r.read(100), s, "read at EOF").is_empty(),
        "{}: EOF",
        s.name
    );
    ok(r.close(), s, "close");

    // Unbuffered reads bigger than any server's reply: each one full
    // (psftp_file_read is short only at the end of the file).
    let r = ok(
        RFile::open(&conn, &sc.r("f.bin"), "r", 0),
        s,
        "open r, bufsize 0",
    );
    let mut got = Vec::new();
    loop {
        let chunk = ok(r.read(100_000), s, "unbuffered read");
        let left = data.len() - got.len();
        assert_eq!(
            chunk.len(),
            left.min(100_000),
            "{}: read of 100000 B at {} returned {} B",
            s.name,
            got.len(),
            chunk.len()
        );
        if chunk.is_empty() {
            break;
        }
        got.extend_from_slice(&chunk);
    }
    assert_same(&got, &data, &format!("{}: unbuffered reads", s.name));
    ok(r.close(), s, "close");

    let rw = ok(RFile::open(&conn, &sc.r("f.bin"), "r+", -1), s, "open r+");
    ok(rw.seek(1_000, PSFTP_SEEK_SET), s, "seek");
    ok(rw.write(b"XYZ"), s, "write");
    ok(rw.seek(999, PSFTP_SEEK_SET), s, "seek");
    assert_eq!(
        ok(rw.read(5), s, "read back"),
        [data[999], b'X', b'Y', b'Z', data[1003]],
        "{}: r+",
        s.name
    );
    ok(rw.close(), s, "close");
    let a = ok(RFile::open(&conn, &sc.r("f.bin"), "a", -1), s, "open a");
    ok(a.write(b"tail"), s, "append");
    ok(a.close(), s, "close");
    let mut want = data.clone();
    want[1000..1003].copy_from_slice(b"XYZ");
    want.extend_from_slice(b"tail");
    assert_same(
        &std::fs::read(sc.l("f.bin")).unwrap(),
        &want,
        &format!("{}: after r+ and a", s.name),
    );
    expect_code(
        RFile::open(&conn, &sc.r("f.bin"), "x", -1).map(|_| ()),
        PSFTP_E_EXISTS,
        s,
        "open x of an existing file",
    );
}

/// One module per server, one test per case.
macro_rules! matrix {
    ($($module:ident => $name:literal),* $(,)?) => {$(
        mod $module {
            fn s() -> &'static super::Srv {
                super::srv($name)
            }
            #[test]
            fn login_by_password_and_by_key() {
                super::login_by_password_and_by_key(s())
            }
            #[test]
            fn put_and_get_of_every_size() {
                super::put_and_get_of_every_size(s())
            }
            #[test]
            fn overwrite_existing_files() {
                super::overwrite_existing_files(s())
            }
            #[test]
            fn put_r_and_get_r_round_trip() {
                super::put_r_and_get_r_round_trip(s())
            }
            #[test]
            fn names_as_bytes_both_ways() {
                super::names_as_bytes_both_ways(s())
            }
            #[test]
            fn listing_stat_and_tests() {
                super::listing_stat_and_tests(s())
            }
            #[test]
            fn mkdir_makedirs_rmdir_remove() {
                super::mkdir_makedirs_rmdir_remove(s())
            }
            #[test]
            fn rename_and_posix_rename() {
                super::rename_and_posix_rename(s())
            }
            #[test]
            fn chmod_chown_utime_truncate() {
                super::chmod_chown_utime_truncate(s())
            }
            #[test]
            fn symlink_and_readlink() {
                super::symlink_and_readlink(s())
            }
            #[test]
            fn statvfs() {
                super::statvfs(s())
            }
            #[test]
            fn open_seek_read_write() {
                super::open_seek_read_write(s())
            }
        }
    )*};
}

matrix!(
    openssh => "openssh",
    asyncssh => "asyncssh",
    paramiko => "paramiko",
    pkgsftp_server => "pkgsftp-server",
    pkgsftp_request => "pkgsftp-request",
    proftpd => "proftpd",
    proftpd_nosetstat => "proftpd-nosetstat",
);

/// Every server of the matrix is there and answers (a missing one fails
/// here too, by name).
#[test]
fn every_server_of_the_matrix_is_running() {
    for name in SERVERS {
        let s = srv(name);
        let conn = s.connect();
        assert!(
            ok(path_bool(&conn, psftp_isdir, &s.remote_root), s, "isdir"),
            "{name}: the served directory"
        );
        eprintln!("{name}: {} on 127.0.0.1:{}", s.version, s.port);
    }
}
