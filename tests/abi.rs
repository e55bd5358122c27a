//! Rules of the C ABI itself, through the C ABI against the real sshd:
//! what a callback's stop value becomes, and the other conventions the
//! header documents.

mod common;

use common::*;
use psftp::capi::file::*;
use psftp::capi::helpers::*;
use psftp::capi::tree::*;
use std::ffi::{c_char, c_int, c_void};
use std::path::Path;
use std::sync::Mutex;

fn cs(p: &Path) -> std::ffi::CString {
    c(p.to_str().unwrap())
}

/// A failed call that a callback stopped: PSFTP_E_USER, the callback's
/// value thread-locally and on the connection, and a message naming the
/// callback and the value.
#[track_caller]
fn assert_stopped_with(conn: Option<&Conn>, rc: c_int, value: i64, callback: &str) {
    let msg = assert_fail(
        check(rc),
        PSFTP_E_USER,
        &[callback, &format!("it returned {value}")],
    );
    assert_eq!(psftp_last_callback_value(), value, "{msg}");
    if let Some(conn) = conn {
        assert_eq!(psftp_conn_last_callback_value(conn.0), value);
        assert_eq!(psftp_conn_last_error_code(conn.0), PSFTP_E_USER);
    }
}

unsafe extern "C" fn progress_returns(_d: u64, _t: u64, ud: *mut c_void) -> c_int {
    *(ud as *const c_int)
}

unsafe extern "C" fn write_returns(_p: *const u8, _n: usize, ud: *mut c_void) -> c_int {
    *(ud as *const c_int)
}

unsafe extern "C" fn read_returns(_p: *mut u8, _n: usize, ud: *mut c_void) -> i64 {
    *(ud as *const c_int) as i64
}

unsafe extern "C" fn tree_returns(_p: *const psftp_tree_progress, ud: *mut c_void) -> c_int {
    *(ud as *const c_int)
}

unsafe extern "C" fn walk_returns(
    _p: *const c_char,
    _a: *const psftp_attrs,
    ud: *mut c_void,
) -> c_int {
    *(ud as *const c_int)
}

unsafe extern "C" fn cd_body_returns(_c: *mut psftp_conn, ud: *mut c_void) -> c_int {
    *(ud as *const c_int)
}

unsafe extern "C" fn local_cd_body_returns(ud: *mut c_void) -> c_int {
    *(ud as *const c_int)
}

fn ud(v: &mut c_int) -> *mut c_void {
    v as *mut c_int as *mut c_void
}

/// Every kind of callback that can stop a call passes its own value back
/// (libgit2's GIT_EUSER): the call returns PSFTP_E_USER and
/// psftp_last_callback_value() is what the callback returned. The bodies
/// of psftp_cd and psftp_local_cd hand their value back as the result.
#[test]
fn every_callback_kind_passes_its_stop_value_back() {
    let conn = connect();
    let rdir = remote_scratch("cbvalue");
    let ldir = local_scratch("cbvalue");
    let rfile = rdir.join("data");
    put_remote_file(&rfile, &pattern(300_000, 1));
    std::fs::create_dir(rdir.join("sub")).unwrap();
    chown_to_test_user(&rdir.join("sub"));
    std::os::unix::fs::symlink("/nowhere", rdir.join("broken")).unwrap();
    std::fs::write(ldir.join("up"), pattern(300_000, 2)).unwrap();
    let (r, l) = (cs(&rfile), cs(&ldir.join("down")));

    let mut v: c_int = 7;
    let rc = unsafe {
        psftp_get(
            conn.0,
            r.as_ptr(),
            l.as_ptr(),
            Some(progress_returns),
            ud(&mut v),
            false,
            std::ptr::null(),
        )
    };
    assert_stopped_with(Some(&conn), rc, 7, "progress callback");

    let mut v: c_int = -3;
    let up = cs(&ldir.join("up"));
    let dest = cs(&rdir.join("up"));
    let mut a = psftp_attrs::default();
    let rc = unsafe {
        psftp_put(
            conn.0,
            up.as_ptr(),
            dest.as_ptr(),
            Some(progress_returns),
            ud(&mut v),
            true,
            false,
            std::ptr::null(),
            &mut a,
        )
    };
    assert_stopped_with(Some(&conn), rc, -3, "progress callback");

    let mut v: c_int = 9;
    let mut n = 0u64;
    let rc = unsafe {
        psftp_getfo(
            conn.0,
            r.as_ptr(),
            Some(write_returns),
            None,
            ud(&mut v),
            &mut n,
        )
    };
    assert_stopped_with(Some(&conn), rc, 9, "write callback");

    let mut v: c_int = -5;
    let rc = unsafe {
        psftp_putfo(
            conn.0,
            Some(read_returns),
            dest.as_ptr(),
            0,
            None,
            ud(&mut v),
            true,
            std::ptr::null(),
            &mut a,
        )
    };
    assert_stopped_with(Some(&conn), rc, -5, "read callback");

    let mut v: c_int = 11;
    let mut failures = std::ptr::null_mut();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            cs(&rdir).as_ptr(),
            cs(&ldir.join("tree")).as_ptr(),
            false,
            Some(tree_returns),
            ud(&mut v),
            std::ptr::null(),
            &mut failures,
        )
    };
    unsafe { psftp_failure_list_free(failures) };
    assert_stopped_with(Some(&conn), rc, 11, "progress callback");

    // Walks: each of the three callbacks, remote and local.
    let root = cs(&rdir);
    for (which, value) in [(0, 21), (1, 22), (2, 23)] {
        let mut v: c_int = value;
        let mut cbs: [psftp_walk_cb; 3] = [None, None, None];
        cbs[which] = Some(walk_returns);
        let rc = unsafe {
            psftp_walktree(
                conn.0,
                root.as_ptr(),
                cbs[0],
                cbs[1],
                cbs[2],
                true,
                ud(&mut v),
            )
        };
        assert_stopped_with(Some(&conn), rc, value.into(), "walktree");
    }
    let mut v: c_int = -31;
    let rc = unsafe {
        psftp_local_walktree(
            cs(&ldir).as_ptr(),
            Some(walk_returns),
            None,
            None,
            true,
            ud(&mut v),
        )
    };
    assert_stopped_with(None, rc, -31, "walktree");
    // PSFTP_WALK_SKIP from a file callback means continue, not stop.
    let mut v: c_int = PSFTP_WALK_SKIP;
    check(unsafe {
        psftp_walktree(
            conn.0,
            root.as_ptr(),
            Some(walk_returns),
            None,
            None,
            true,
            ud(&mut v),
        )
    })
    .unwrap();

    // Bodies return their own value as the call's result.
    let mut v: c_int = 41;
    let rc = unsafe { psftp_cd(conn.0, root.as_ptr(), Some(cd_body_returns), ud(&mut v)) };
    assert_eq!(rc, 41);
    let mut v: c_int = -51;
    let rc = unsafe { psftp_local_cd(cs(&ldir).as_ptr(), Some(local_cd_body_returns), ud(&mut v)) };
    assert_eq!(rc, -51);

    // Any other failure resets the value.
    assert_fail(listdir(&conn, "/no/such/dir"), PSFTP_E_NOT_FOUND, &[]);
    assert_eq!(psftp_last_callback_value(), 0);
    assert_eq!(psftp_conn_last_callback_value(conn.0), 0);
    // The connection is fine after every stop.
    assert_eq!(
        listdir(&conn, rdir.to_str().unwrap()).unwrap(),
        ["broken", "data", "sub"]
    );
}

/// A panic inside a connection call (psftp_debug_panic, a test hook not in
/// psftp.h, panics in the middle of a getfo with reads in flight) poisons
/// the connection: every later call on it, and on its open files, fails
/// with PSFTP_E_CONNECTION_LOST saying why, instead of reading the replies
/// of the abandoned requests. Other connections are unaffected.
#[test]
fn a_panic_poisons_its_connection_and_only_it() {
    let conn = connect();
    let other = connect();
    let rdir = remote_scratch("panic");
    put_remote_file(&rdir.join("big"), &pattern(4 << 20, 3));
    let rpath = c(rdir.join("big").to_str().unwrap());
    let mut file = std::ptr::null_mut();
    check(unsafe { psftp_open(conn.0, rpath.as_ptr(), c("r").as_ptr(), -1, &mut file) }).unwrap();

    let rc = unsafe { psftp::capi::conn::psftp_debug_panic(conn.0, rpath.as_ptr()) };
    assert_fail(
        check(rc),
        PSFTP_E_PANIC,
        &["panic", "psftp_debug_panic was called"],
    );

    let lost = ["unusable", "panicked", "psftp_debug_panic was called"];
    let pwd = string_out(|o| unsafe { psftp_pwd(conn.0, o) });
    assert_fail(pwd, PSFTP_E_CONNECTION_LOST, &lost);
    assert_eq!(psftp_conn_last_error_code(conn.0), PSFTP_E_CONNECTION_LOST);
    assert_fail(
        listdir(&conn, rdir.to_str().unwrap()),
        PSFTP_E_CONNECTION_LOST,
        &lost,
    );
    assert_fail(
        stat(&conn, rdir.to_str().unwrap()),
        PSFTP_E_CONNECTION_LOST,
        &lost,
    );
    let local = local_scratch("panic").join("big");
    assert_fail(
        get(&conn, rdir.join("big").to_str().unwrap(), &local),
        PSFTP_E_CONNECTION_LOST,
        &lost,
    );
    assert_fail(check(psftp_cd_pop(conn.0)), PSFTP_E_CONNECTION_LOST, &lost);
    let mut buf = [0u8; 16];
    let mut n = 0usize;
    let read = check(unsafe { psftp_file_read(file, buf.as_mut_ptr().cast(), buf.len(), &mut n) });
    assert_fail(read, PSFTP_E_CONNECTION_LOST, &lost);
    // Closing the file and the connection still works, and promptly.
    let _ = psftp_file_close(file);
    drop(conn);

    assert_eq!(listdir(&other, rdir.to_str().unwrap()).unwrap(), ["big"]);
    // Without a connection the hook panics at the boundary only.
    let rc =
        unsafe { psftp::capi::conn::psftp_debug_panic(std::ptr::null_mut(), std::ptr::null()) };
    assert_fail(check(rc), PSFTP_E_PANIC, &["psftp_debug_panic was called"]);
    assert!(listdir(&other, rdir.to_str().unwrap()).is_ok());
}

/// A connection handle to share between threads (psftp_conn is
/// thread-safe).
#[derive(Clone, Copy)]
struct Shared(*mut psftp_conn);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    fn get(self) -> *mut psftp_conn {
        self.0
    }
}

/// The raw libssh2 pointers of psftp_sftp_client are used between
/// psftp_lock and psftp_unlock: meanwhile the keepalive thread sends
/// nothing (watched through a relay counting the client's bytes) and other
/// threads' calls wait; unlock only works on the locking thread.
#[test]
fn psftp_lock_pauses_keepalives_and_other_threads_for_raw_libssh2_use() {
    let relay = relay::Relay::start(server().port);
    let opts = Opts::new(None);
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    check(psftp_cnopts_set_keepalive(opts.0, 1)).unwrap();
    let mut login = Login::password(server());
    login.port = relay.port;
    let conn = login.connect(&opts).unwrap();
    let (mut session, mut sftp) = (std::ptr::null_mut(), std::ptr::null_mut());
    check(unsafe { psftp_sftp_client(conn.0, &mut session, &mut sftp) }).unwrap();
    assert!(!session.is_null() && !sftp.is_null());

    // Idle and unlocked: keepalives flow (so the test can see them).
    let before = relay.bytes_up();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(relay.bytes_up() > before, "keepalives are sent while idle");

    check(psftp_lock(conn.0)).unwrap();
    let before = relay.bytes_up();
    std::thread::sleep(std::time::Duration::from_millis(3500));
    assert_eq!(relay.bytes_up(), before, "no keepalive while locked");
    // The raw pointers work, and so do this thread's own calls.
    let home = c(server().home.to_str().unwrap());
    let mut attrs: libssh2_sys::LIBSSH2_SFTP_ATTRIBUTES = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libssh2_sys::libssh2_sftp_stat_ex(
            sftp.cast(),
            home.as_ptr(),
            home.as_bytes().len() as u32,
            libssh2_sys::LIBSSH2_SFTP_STAT,
            &mut attrs,
        )
    };
    assert_eq!(rc, 0);
    assert_eq!(attrs.permissions & 0o170000, 0o040000, "a directory");
    assert!(string_out(|o| unsafe { psftp_pwd(conn.0, o) }).is_ok());

    // Another thread waits for the unlock, and cannot unlock for us.
    let shared = Shared(conn.0);
    let unlocked = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let c = shared.get();
            assert_fail(
                check(psftp_unlock(c)),
                PSFTP_E_INVALID_ARG,
                &["not locked by this thread"],
            );
            let r = string_out(|o| unsafe { psftp_pwd(c, o) });
            (r, unlocked.load(std::sync::atomic::Ordering::SeqCst))
        });
        std::thread::sleep(std::time::Duration::from_millis(500));
        unlocked.store(true, std::sync::atomic::Ordering::SeqCst);
        check(psftp_unlock(conn.0)).unwrap();
        let (r, after_unlock) = waiter.join().unwrap();
        assert!(r.is_ok());
        assert!(
            after_unlock,
            "the other thread's call waited for the unlock"
        );
    });
    assert_fail(
        check(psftp_unlock(conn.0)),
        PSFTP_E_INVALID_ARG,
        &["not locked"],
    );
    // Locks nest.
    check(psftp_lock(conn.0)).unwrap();
    check(psftp_lock(conn.0)).unwrap();
    check(psftp_unlock(conn.0)).unwrap();
    check(psftp_unlock(conn.0)).unwrap();
    assert_fail(
        check(psftp_unlock(conn.0)),
        PSFTP_E_INVALID_ARG,
        &["not locked"],
    );
}

/// A connect with one slot changed, through the C ABI, logging to `log`:
/// every message it produced (the result's, error_out's, the
/// connection's) and the log.
fn connect_with_slot(slot: &str, value: &str, also_password: bool, log: &Path) -> Vec<String> {
    let s = server();
    let opts = Opts::trusting(s);
    let lp = c(log.to_str().unwrap());
    check(unsafe { psftp_cnopts_set_log(opts.0, true, lp.as_ptr()) }).unwrap();
    if slot.starts_with("private_key_data") {
        return connect_with_key_data(slot, value, also_password, &opts, log);
    }
    let mut login = Login::password(s);
    login.password = also_password.then(|| s.password());
    // (Kept alive for the connect below.)
    let command = c(&format!("false # {value}"));
    match slot {
        "proxy_command" => {
            check(unsafe { psftp_cnopts_set_proxy_command(opts.0, command.as_ptr()) }).unwrap()
        }
        "host" => login.host = value,
        "username" => login.user = Some(value),
        "password" => login.password = Some(value),
        "private_key" => login.key = Some(value),
        "private_key_pass" => login.passphrase = Some(value),
        "default_path" => login.default_path = Some(value),
        other => panic!("no slot {other}"),
    }
    let mut messages = Vec::new();
    match login.connect(&opts) {
        Ok(conn) => {
            // A call that fails, so the connection has a message too.
            let _ = listdir(&conn, "/no/such/dir");
            messages.extend(take_string(psftp_conn_last_error(conn.0)));
        }
        Err(f) => messages.push(f.msg),
    }
    messages.push(last_error());
    messages.push(std::fs::read_to_string(log).unwrap_or_default());
    messages
}

/// connect_with_slot for the key-data slots of psftp_connect_opts: the
/// value as the key's contents, or as the passphrase of the fixture's
/// encrypted key.
fn connect_with_key_data(
    slot: &str,
    value: &str,
    also_password: bool,
    cnopts: &Opts,
    log: &Path,
) -> Vec<String> {
    use psftp::capi::connect_opts::*;
    let s = server();
    let mut o = std::ptr::null_mut();
    check(unsafe { psftp_connect_opts_new(c("127.0.0.1").as_ptr(), &mut o) }).unwrap();
    check(psftp_connect_opts_set_port(o, s.port as c_int)).unwrap();
    check(psftp_connect_opts_set_cnopts(o, cnopts.0)).unwrap();
    // "...+username": the value is also given as the user name.
    let user = if slot.ends_with("+username") {
        value
    } else {
        s.user()
    };
    check(unsafe { psftp_connect_opts_set_username(o, c(user).as_ptr()) }).unwrap();
    if also_password {
        check(unsafe { psftp_connect_opts_set_password(o, c(s.password()).as_ptr()) }).unwrap();
    }
    let enc = std::fs::read_to_string(s.file("id_ed25519_enc")).unwrap();
    let (key, pass) = match slot {
        "private_key_data" => (value.to_string(), None),
        _ => (enc, Some(c(value))),
    };
    let pass_ptr = pass.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
    let mut messages = Vec::new();
    let rc =
        unsafe { psftp_connect_opts_set_private_key_data(o, key.as_ptr(), key.len(), pass_ptr) };
    if rc != PSFTP_OK {
        messages.push(last_error());
    }
    let (mut conn, mut err) = (std::ptr::null_mut(), std::ptr::null_mut());
    let rc = unsafe { psftp_connect_with(o, &mut conn, &mut err) };
    messages.extend(take_string(err));
    messages.push(last_error());
    if rc == PSFTP_OK {
        let conn = Conn(conn);
        let _ = listdir(&conn, "/no/such/dir");
        messages.extend(take_string(psftp_conn_last_error(conn.0)));
    }
    psftp_connect_opts_free(o);
    messages.push(std::fs::read_to_string(log).unwrap_or_default());
    messages
}

/// No password, passphrase or key ever appears in a message or in the
/// log, whichever argument it was given in: a password given as
/// private_key (a path that names nothing is not repeated), a key's
/// contents given as its path, host, user name or default path (refused
/// without being shown), and a secret also given in another slot (removed
/// from messages and log lines).
#[test]
fn no_secret_in_any_message_or_log() {
    let s = server();
    let dir = local_scratch("secrets");
    let key_text = std::fs::read_to_string(s.file("id_ed25519")).unwrap();
    let pem_text = std::fs::read_to_string(s.file("id_rsa_enc_pem")).unwrap();
    let key_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
            .map(String::from)
            .collect()
    };
    let secrets: Vec<(&str, String, Vec<String>)> = vec![
        ("password", s.password().to_string(), vec![]),
        ("passphrase", s.passphrase().to_string(), vec![]),
        ("openssh key", key_text.clone(), key_lines(&key_text)),
        ("pem key", pem_text.clone(), key_lines(&pem_text)),
    ];
    let mut n = 0;
    for (what, secret, lines) in &secrets {
        let is_key = what.ends_with("key");
        let slots: &[&str] = if is_key {
            &[
                "host",
                "username",
                "password",
                "private_key",
                "private_key_pass",
                "default_path",
                "private_key_data",
                "private_key_data_pass",
                "proxy_command",
            ]
        } else {
            &[
                "password",
                "private_key",
                "private_key_pass",
                "private_key_data",
                "private_key_data_pass",
            ]
        };
        for slot in slots {
            for also_password in [false, true] {
                n += 1;
                let log = dir.join(format!("log{n}"));
                let texts = connect_with_slot(slot, secret, also_password, &log);
                if *slot == "proxy_command" && is_key {
                    assert!(
                        texts[0].contains("command: looks like") && texts[0].contains("not shown"),
                        "{what} in {slot}: {}",
                        texts[0]
                    );
                }
                for text in &texts {
                    assert!(
                        !text.contains(secret.as_str()),
                        "the {what} in {slot} shows in: {text}"
                    );
                    for l in lines {
                        assert!(
                            !text.contains(l.as_str()),
                            "a line of the {what} in {slot} shows in: {text}"
                        );
                    }
                }
                let log_text = texts.last().unwrap();
                assert!(
                    log_text.contains("psftp:"),
                    "the log was written ({what} in {slot})"
                );
                if is_key && ["host", "username", "private_key", "default_path"].contains(slot) {
                    assert!(
                        texts[0].contains(slot) && texts[0].contains("not shown"),
                        "{what} in {slot}: {}",
                        texts[0]
                    );
                }
                if !is_key && *slot == "private_key" && !also_password {
                    assert!(
                        texts[0].contains("private_key"),
                        "names the argument: {}",
                        texts[0]
                    );
                }
            }
        }
    }
    // A ProxyCommand holding the connection's password: messages and log
    // quote the command without it.
    let log = dir.join("log-command");
    let texts = connect_with_slot("proxy_command", s.password(), true, &log);
    assert!(texts.iter().all(|t| !t.contains(s.password())), "{texts:?}");
    assert!(
        texts[0].contains("ProxyCommand 'false # <redacted>' exited"),
        "{}",
        texts[0]
    );
    // The user name given with the password itself is removed from messages.
    let log = dir.join("log-user");
    let texts = connect_with_slot("username", s.password(), true, &log);
    assert!(texts.iter().all(|t| !t.contains(s.password())), "{texts:?}");
    assert!(texts[0].contains("<redacted>"), "{}", texts[0]);
    // Likewise the passphrase of a key from memory given as the user name.
    let log = dir.join("log-user-data");
    let texts = connect_with_slot(
        "private_key_data_pass+username",
        s.passphrase(),
        false,
        &log,
    );
    assert!(
        texts.iter().all(|t| !t.contains(s.passphrase())),
        "{texts:?}"
    );
    assert!(texts[0].contains("as '<redacted>'"), "{}", texts[0]);
}

/// The hostile server's keyboard-interactive user: "Code: ", a wrong
/// answer quoted back in a second prompt (tests/hostile/sftp_server.py).
const KBD_CODE: &str = "let-me-in-123";

/// What the keyboard-interactive callback of these tests does and counts.
#[derive(Default)]
struct KbdCounts {
    /// Answered to the first prompt (then KBD_CODE to the second).
    first: String,
    /// Answer `first` to every prompt.
    always_first: bool,
    prompts: Mutex<Vec<String>>,
    calls: std::sync::atomic::AtomicUsize,
    active: std::sync::atomic::AtomicUsize,
    most_at_once: std::sync::atomic::AtomicUsize,
    finalized: std::sync::atomic::AtomicUsize,
}

unsafe extern "C" fn kbd_answer(
    req: *const psftp::capi::kbdint::psftp_kbdint_request,
    answers: *mut psftp::capi::kbdint::psftp_kbdint_answers,
    ud: *mut c_void,
) -> c_int {
    use std::sync::atomic::Ordering::SeqCst;
    let k = &*(ud as *const KbdCounts);
    let calls = k.calls.fetch_add(1, SeqCst);
    let now = k.active.fetch_add(1, SeqCst) + 1;
    k.most_at_once.fetch_max(now, SeqCst);
    let r = &*req;
    for i in 0..r.num_prompts {
        let text = std::ffi::CStr::from_ptr((**r.prompts.add(i)).text);
        k.prompts
            .lock()
            .unwrap()
            .push(text.to_string_lossy().into_owned());
        let answer = if (calls == 0 || k.always_first) && !k.first.is_empty() {
            &k.first
        } else {
            KBD_CODE
        };
        psftp::capi::kbdint::psftp_kbdint_answer(answers, i, c(answer).as_ptr());
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    k.active.fetch_sub(1, SeqCst);
    0
}

unsafe extern "C" fn kbd_finalize(ud: *mut c_void) {
    let k = &*(ud as *const KbdCounts);
    k.finalized
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// Connect options for the hostile server's keyboard-interactive user
/// with the counting callback, logging to `log` if given.
fn kbd_opts(k: &KbdCounts, log: Option<&Path>) -> COpts {
    let opts = Opts::new(None);
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    if let Some(l) = log {
        let l = c(l.to_str().unwrap());
        check(unsafe { psftp_cnopts_set_log(opts.0, true, l.as_ptr()) }).unwrap();
    }
    let mut login = Login::password(server());
    login.port = hostile_server();
    login.user = Some("kbd");
    login.password = None;
    let o = COpts::from_login(&login, &opts);
    check(
        psftp::capi::connect_opts::psftp_connect_opts_set_kbdint_callback(
            o.0,
            Some(kbd_answer),
            k as *const KbdCounts as *mut c_void,
            Some(kbd_finalize),
        ),
    )
    .unwrap();
    o
}

/// A keyboard-interactive answer is a secret too: a server that quotes a
/// wrong answer back in its next prompt does not get it into the log or
/// a message.
#[test]
fn no_keyboard_interactive_answer_in_any_message_or_log() {
    let log = local_scratch("kbd-secret").join("log");
    let k = KbdCounts {
        first: "wrong-answer-4711".to_string(),
        ..KbdCounts::default()
    };
    let o = kbd_opts(&k, Some(&log));
    let conn = o.connect().unwrap();
    // The server did quote it...
    let prompts = k.prompts.lock().unwrap().clone();
    assert_eq!(
        prompts,
        ["Code: ", "code wrong-answer-4711 is wrong; try again: "]
    );
    let _ = listdir(&conn, "/no/such/dir");
    let conn_msg = take_string(psftp_conn_last_error(conn.0)).unwrap_or_default();
    drop(conn);
    // ...and psftp did not repeat it.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("keyboard-interactive on 127.0.0.1:")
            && text.contains("'code <redacted> is wrong; try again: '"),
        "{text}"
    );
    for t in [&text, &conn_msg] {
        assert!(
            !t.contains("wrong-answer-4711") && !t.contains(KBD_CODE),
            "{t}"
        );
    }
    // A failed connect's message and log neither.
    let log2 = local_scratch("kbd-secret").join("log");
    let k2 = KbdCounts {
        first: "another-wrong-0815".to_string(),
        always_first: true,
        ..KbdCounts::default()
    };
    let msg = assert_fail(
        kbd_opts(&k2, Some(&log2)).connect(),
        PSFTP_E_AUTH,
        &["'kbd'", "keyboard-interactive answers were not accepted"],
    );
    let text = std::fs::read_to_string(&log2).unwrap();
    assert!(text.contains("'code <redacted> is wrong"), "{text}");
    for t in [&text, &msg, &last_error()] {
        assert!(!t.contains("another-wrong-0815"), "{t}");
    }
    drop(o);
    assert_eq!(k.finalized.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(k2.finalized.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Connect options shared by connects on several threads call the
/// keyboard-interactive callback from each of them, one at a time.
#[test]
fn concurrent_connects_call_a_shared_kbdint_callback_one_at_a_time() {
    let k = KbdCounts::default();
    let o = kbd_opts(&k, None);
    struct SendOpts(*mut psftp::capi::connect_opts::psftp_connect_opts);
    unsafe impl Sync for SendOpts {}
    impl SendOpts {
        fn get(&self) -> *mut psftp::capi::connect_opts::psftp_connect_opts {
            self.0
        }
    }
    let shared = SendOpts(o.0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let o = COpts(shared.get());
                let conn = o.connect().expect("the callback answers");
                drop(conn);
                std::mem::forget(o); // owned by the test's COpts
            });
        }
    });
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(k.calls.load(SeqCst), 4);
    assert_eq!(k.most_at_once.load(SeqCst), 1, "never two calls at once");
    drop(o);
    assert_eq!(k.finalized.load(SeqCst), 1);
}

/// What the host-key callback and its finalizer of these tests count.
#[derive(Default)]
struct HostKeyCounts {
    calls: std::sync::atomic::AtomicUsize,
    active: std::sync::atomic::AtomicUsize,
    most_at_once: std::sync::atomic::AtomicUsize,
    finalized: std::sync::atomic::AtomicUsize,
}

unsafe extern "C" fn accept_slowly(
    _host: *const c_char,
    _port: c_int,
    _key: *const psftp_hostkey,
    _status: c_int,
    ud: *mut c_void,
) -> c_int {
    use std::sync::atomic::Ordering::SeqCst;
    let c = &*(ud as *const HostKeyCounts);
    c.calls.fetch_add(1, SeqCst);
    let now = c.active.fetch_add(1, SeqCst) + 1;
    c.most_at_once.fetch_max(now, SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(100));
    c.active.fetch_sub(1, SeqCst);
    PSFTP_HOSTKEY_ACCEPT
}

unsafe extern "C" fn count_finalizer(ud: *mut c_void) {
    let c = &*(ud as *const HostKeyCounts);
    c.finalized
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

fn finalized(c: &HostKeyCounts) -> usize {
    c.finalized.load(std::sync::atomic::Ordering::SeqCst)
}

fn set_counting_callback(opts: *mut psftp_cnopts, c: &HostKeyCounts) -> c_int {
    psftp_cnopts_set_hostkey_callback(
        opts,
        Some(accept_slowly),
        c as *const HostKeyCounts as *mut c_void,
        Some(count_finalizer),
    )
}

/// A stored callback's finalizer runs exactly once, when the last holder
/// of the callback is gone: the options, every connection made with them
/// (and the extra connections of a tree operation) - or at once when the
/// callback is replaced, removed, or could not be stored.
#[test]
fn a_host_key_callback_finalizer_runs_once_after_the_last_copy() {
    let s = server();
    let c = HostKeyCounts::default();
    let opts = Opts::trusting(s);
    check(set_counting_callback(opts.0, &c)).unwrap();
    let a = Login::password(s).connect(&opts).unwrap();
    let b = Login::password(s).connect(&opts).unwrap();
    let rdir = remote_scratch("finalizer");
    for i in 0..8 {
        put_remote_file(&rdir.join(format!("f{i}")), &pattern(10_000, i));
    }
    let mut xo = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut xo) }).unwrap();
    check(psftp_transfer_opts_set_parallelism(xo, 4)).unwrap();
    let mut failures = std::ptr::null_mut();
    let local = local_scratch("finalizer");
    check(unsafe {
        psftp_get_r(
            a.0,
            cs(&rdir).as_ptr(),
            cs(&local).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            xo,
            &mut failures,
        )
    })
    .unwrap();
    unsafe { psftp_failure_list_free(failures) };
    psftp_transfer_opts_free(xo);
    drop(opts);
    assert_eq!(finalized(&c), 0, "the connections still hold the callback");
    drop(a);
    assert_eq!(finalized(&c), 0, "one connection still holds it");
    drop(b);
    assert_eq!(finalized(&c), 1, "after the last holder, exactly once");

    // Replaced, removed, NULL callback, bad handle: at once, once each.
    let opts = Opts::trusting(s);
    let (r1, r2, r3, r4) = Default::default();
    let counts: [&HostKeyCounts; 4] = [&r1, &r2, &r3, &r4];
    check(set_counting_callback(opts.0, counts[0])).unwrap();
    check(set_counting_callback(opts.0, counts[1])).unwrap();
    assert_eq!(finalized(counts[0]), 1, "replaced");
    check(psftp_cnopts_set_hostkey_callback(
        opts.0,
        None,
        std::ptr::null_mut(),
        None,
    ))
    .unwrap();
    assert_eq!(finalized(counts[1]), 1, "removed");
    let ud = counts[2] as *const HostKeyCounts as *mut c_void;
    check(psftp_cnopts_set_hostkey_callback(
        opts.0,
        None,
        ud,
        Some(count_finalizer),
    ))
    .unwrap();
    assert_eq!(
        finalized(counts[2]),
        1,
        "a NULL callback's user_data at once"
    );
    let bad = 0x7777_usize as *mut psftp_cnopts;
    assert_fail(
        check(set_counting_callback(bad, counts[3])),
        PSFTP_E_INVALID_ARG,
        &["cnopts"],
    );
    assert_eq!(finalized(counts[3]), 1, "a failed call's user_data at once");
    drop(opts);
    for (i, c) in counts.iter().enumerate() {
        assert_eq!(finalized(c), 1, "finalizer {i} ran once");
    }
}

/// Options shared by connects on several threads call the host-key
/// callback from each of those threads, but one at a time.
#[test]
fn concurrent_connects_call_a_shared_host_key_callback_one_at_a_time() {
    let s = server();
    let empty = local_scratch("kh").join("known_hosts");
    std::fs::write(&empty, b"").unwrap();
    let opts = Opts::new(Some(empty.to_str().unwrap()));
    let c = HostKeyCounts::default();
    check(set_counting_callback(opts.0, &c)).unwrap();
    struct SendOpts(*mut psftp_cnopts);
    unsafe impl Sync for SendOpts {}
    impl SendOpts {
        fn get(&self) -> *mut psftp_cnopts {
            self.0
        }
    }
    let shared = SendOpts(opts.0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let opts = Opts(shared.get());
                let conn = Login::password(s)
                    .connect(&opts)
                    .expect("the callback accepts");
                drop(conn);
                std::mem::forget(opts); // owned by the test's Opts
            });
        }
    });
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(c.calls.load(SeqCst), 4);
    assert_eq!(c.most_at_once.load(SeqCst), 1, "never two calls at once");
    drop(opts);
    assert_eq!(finalized(&c), 1);
}

/// A caller's struct of a later header version: psftp_attrs and more.
#[repr(C)]
#[derive(Clone, Copy)]
struct Grown<T> {
    known: T,
    later: [u8; 32],
}

/// Value structs carry struct_size: psftp fills a caller's struct only as
/// far as its struct_size says (and says what it filled), refuses one
/// whose size was not set, and sets struct_size in every struct it hands
/// out (callbacks, lists, host keys).
#[test]
fn value_structs_carry_their_size() {
    use std::mem::size_of;
    let conn = connect();
    let rdir = remote_scratch("sizes");
    put_remote_file(&rdir.join("f"), &pattern(1234, 1));
    let f = cs(&rdir.join("f"));

    // Not set: refused, naming the parameter; and for put, before the
    // transfer.
    for bad in [0usize, 8] {
        let mut a = psftp_attrs {
            struct_size: bad,
            ..Default::default()
        };
        assert_fail(
            check(unsafe { psftp_stat(conn.0, f.as_ptr(), &mut a) }),
            PSFTP_E_INVALID_ARG,
            &["out", &format!("struct_size is {bad}")],
        );
        let local = local_scratch("sizes").join("up");
        std::fs::write(&local, b"new").unwrap();
        let dest = rdir.join("not-written");
        let rc = unsafe {
            psftp_put(
                conn.0,
                cs(&local).as_ptr(),
                cs(&dest).as_ptr(),
                None,
                std::ptr::null_mut(),
                true,
                false,
                std::ptr::null(),
                &mut a,
            )
        };
        assert_fail(
            check(rc),
            PSFTP_E_INVALID_ARG,
            &["attrs_out", "struct_size"],
        );
        assert!(!dest.exists(), "nothing transferred for a bad attrs_out");
    }
    // A later, bigger struct: psftp fills what it knows, leaves the rest,
    // and says how much it filled.
    let mut g = Grown {
        known: psftp_attrs::default(),
        later: [0xab; 32],
    };
    g.known.struct_size = size_of::<Grown<psftp_attrs>>();
    check(unsafe { psftp_stat(conn.0, f.as_ptr(), &mut g.known) }).unwrap();
    assert_eq!(g.known.struct_size, size_of::<psftp_attrs>());
    assert_eq!((g.known.size, g.later), (1234, [0xab; 32]));
    let mut v = Grown {
        known: psftp_statvfs_info::default(),
        later: [0xcd; 32],
    };
    v.known.struct_size = size_of::<Grown<psftp_statvfs_info>>();
    check(unsafe { psftp_statvfs(conn.0, cs(&rdir).as_ptr(), &mut v.known) }).unwrap();
    assert_eq!(v.known.struct_size, size_of::<psftp_statvfs_info>());
    assert!(v.known.bsize > 0 && v.later == [0xcd; 32]);

    // Structs psftp hands out.
    let mut key = std::ptr::null_mut();
    check(unsafe { psftp_remote_server_key(conn.0, &mut key) }).unwrap();
    assert_eq!(unsafe { (*key).struct_size }, size_of::<psftp_hostkey>());
    unsafe { psftp_hostkey_free(key) };
    let mut info = std::ptr::null_mut();
    check(unsafe { psftp_security_options(conn.0, &mut info) }).unwrap();
    assert_eq!(
        unsafe { (*info).struct_size },
        size_of::<psftp_security_info>()
    );
    unsafe { psftp_security_info_free(info) };
    let mut list = std::ptr::null_mut();
    check(unsafe { psftp_listdir_attr(conn.0, cs(&rdir).as_ptr(), &mut list) }).unwrap();
    let entry = unsafe { &**(*list).entries };
    assert_eq!(entry.struct_size, size_of::<psftp_dirent>());
    assert_eq!(entry.attrs.struct_size, size_of::<psftp_attrs>());
    unsafe { psftp_dirent_list_free(list) };

    unsafe extern "C" fn walk_size(
        _p: *const c_char,
        a: *const psftp_attrs,
        ud: *mut c_void,
    ) -> c_int {
        *(ud as *mut usize) = (*a).struct_size;
        0
    }
    let mut seen = 0usize;
    check(unsafe {
        psftp_walktree(
            conn.0,
            cs(&rdir).as_ptr(),
            Some(walk_size),
            None,
            None,
            true,
            (&mut seen as *mut usize).cast(),
        )
    })
    .unwrap();
    assert_eq!(seen, size_of::<psftp_attrs>());

    unsafe extern "C" fn tree_size(p: *const psftp_tree_progress, ud: *mut c_void) -> c_int {
        *(ud as *mut usize) = (*p).struct_size;
        0
    }
    let mut seen = 0usize;
    let mut failures = std::ptr::null_mut();
    let local = local_scratch("sizes-tree");
    std::fs::create_dir(local.join("denied")).unwrap();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            cs(&rdir).as_ptr(),
            cs(&local).as_ptr(),
            false,
            Some(tree_size),
            (&mut seen as *mut usize).cast(),
            std::ptr::null(),
            &mut failures,
        )
    };
    check(rc).unwrap();
    assert_eq!(seen, size_of::<psftp_tree_progress>());
    unsafe { psftp_failure_list_free(failures) };
}
