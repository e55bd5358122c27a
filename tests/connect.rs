//! Connection, authentication, host keys and CnOpts, through the C ABI,
//! against the real sshd.

mod common;

use common::*;
use std::ffi::CStr;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// OpenSSH's own SHA256 fingerprint of a public key file.
fn fingerprint_of_pub(path: &str) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f", path])
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "ssh-keygen -lf {path}");
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().nth(1).unwrap().to_string()
}

fn server_key(conn: &Conn) -> (String, String, String) {
    let mut k = std::ptr::null_mut();
    check(unsafe { psftp_remote_server_key(conn.0, &mut k) }).unwrap();
    let key = unsafe { &*k };
    let s = |p| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
    let out = (s(key.key_type), s(key.base64), s(key.fingerprint));
    unsafe { psftp_hostkey_free(k) };
    out
}

#[test]
fn password_login_verifies_the_host_key_and_reports_it() {
    let s = server();
    let conn = Login::password(s).connect(&Opts::trusting(s)).unwrap();
    let (kt, b64, fp) = server_key(&conn);
    assert_eq!(
        kt, "ssh-ed25519",
        "the known Ed25519 key is negotiated first"
    );
    let pubfile = s.file("ssh_host_ed25519_key.pub");
    assert_eq!(fp, fingerprint_of_pub(&pubfile));
    assert!(std::fs::read_to_string(&pubfile).unwrap().contains(&b64));
    let pwd = string_out(|o| unsafe { psftp_pwd(conn.0, o) })
        .unwrap()
        .unwrap();
    assert_eq!(pwd, s.home.display().to_string());
}

#[test]
fn every_supported_key_format_authenticates() {
    let s = server();
    let pass = s.passphrase();
    let cases = [
        ("id_ed25519", None),
        ("id_ecdsa_pem", None),
        ("id_rsa_pem", None),
        ("id_ed25519_enc", Some(pass)),
        ("id_rsa_enc_pem", Some(pass)),
    ];
    for (name, passphrase) in cases {
        let key = s.file(name);
        let mut login = Login::key(s, &key);
        login.passphrase = passphrase;
        let conn = login
            .connect(&Opts::trusting(s))
            .unwrap_or_else(|f| panic!("{name}: {f:?}"));
        assert!(
            listdir(&conn, ".").is_ok(),
            "{name} gives a working session"
        );
    }
}

#[test]
fn encrypted_key_without_or_with_wrong_passphrase_is_an_auth_error() {
    let s = server();
    let key = s.file("id_ed25519_enc");
    assert_fail(
        Login::key(s, &key).connect(&Opts::trusting(s)),
        PSFTP_E_AUTH,
        &["id_ed25519_enc", "encrypted", s.user()],
    );
    let mut login = Login::key(s, &key);
    login.passphrase = Some("not the passphrase");
    assert_fail(
        login.connect(&Opts::trusting(s)),
        PSFTP_E_AUTH,
        &["id_ed25519_enc", "wrong passphrase"],
    );
}

/// A key file that exists is named in messages; a value that names no
/// file is not repeated (it may be a password given as private_key).
#[test]
fn missing_or_unauthorized_key_is_refused_with_the_path() {
    let s = server();
    let missing = s.file("no_such_key");
    let msg = assert_fail(
        Login::key(s, &missing).connect(&Opts::trusting(s)),
        PSFTP_E_LOCAL_IO,
        &["private_key", "No such file", "not shown"],
    );
    assert!(!msg.contains("no_such_key"), "{msg}");
    let other = s.file("id_unauthorized");
    assert_fail(
        Login::key(s, &other).connect(&Opts::trusting(s)),
        PSFTP_E_AUTH,
        &["refused", "id_unauthorized"],
    );
}

#[test]
fn wrong_password_names_user_and_host() {
    let s = server();
    let mut login = Login::password(s);
    login.password = Some("wrong");
    let port = s.port.to_string();
    assert_fail(
        login.connect(&Opts::trusting(s)),
        PSFTP_E_AUTH,
        &[s.user(), "127.0.0.1", &port, "wrong password"],
    );
}

#[test]
fn unknown_host_is_refused_with_type_and_fingerprint() {
    let s = server();
    let empty = local_scratch("kh").join("known_hosts");
    std::fs::write(&empty, "").unwrap();
    let fp = fingerprint_of_pub(&s.file("ssh_host_ed25519_key.pub"));
    let name = format!("[127.0.0.1]:{}", s.port);
    let msg = assert_fail(
        Login::password(s).connect(&Opts::new(Some(empty.to_str().unwrap()))),
        PSFTP_E_HOSTKEY_UNKNOWN,
        &[&name, "ssh-ed25519", &fp],
    );
    assert!(
        msg.contains(empty.to_str().unwrap()),
        "names the known_hosts file: {msg}"
    );
    // A missing file gives the same refusal.
    let missing = local_scratch("kh").join("absent");
    assert_fail(
        Login::password(s).connect(&Opts::new(Some(missing.to_str().unwrap()))),
        PSFTP_E_HOSTKEY_UNKNOWN,
        &[&name],
    );
}

#[test]
fn changed_host_key_is_a_mismatch_every_time() {
    let s = server();
    let opts = Opts::new(Some(&s.file("known_hosts_changed")));
    for _ in 0..3 {
        assert_fail(
            Login::password(s).connect(&opts),
            PSFTP_E_HOSTKEY_MISMATCH,
            &["MISMATCH", "ssh-ed25519"],
        );
    }
}

#[test]
fn hashed_known_hosts_entries_match() {
    let s = server();
    let text = std::fs::read_to_string(s.file("known_hosts_hashed")).unwrap();
    assert!(text.starts_with("|1|"), "the fixture hashed the names");
    Login::password(s)
        .connect(&Opts::new(Some(&s.file("known_hosts_hashed"))))
        .unwrap();
}

#[test]
fn a_host_known_only_by_its_ecdsa_key_negotiates_ecdsa() {
    let s = server();
    let conn = Login::password(s)
        .connect(&Opts::new(Some(&s.file("known_hosts_ecdsa_only"))))
        .unwrap();
    assert_eq!(server_key(&conn).0, "ecdsa-sha2-nistp256");
}

#[test]
fn a_port_22_entry_does_not_vouch_for_another_port() {
    let s = server();
    assert_fail(
        Login::password(s).connect(&Opts::new(Some(&s.file("known_hosts_port22_only")))),
        PSFTP_E_HOSTKEY_UNKNOWN,
        &["[127.0.0.1]:"],
    );
}

#[test]
fn hostkeys_none_turns_checking_off() {
    let s = server();
    let empty = local_scratch("kh").join("known_hosts");
    std::fs::write(&empty, "").unwrap();
    let opts = Opts::new(Some(empty.to_str().unwrap()));
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    Login::password(s).connect(&opts).unwrap();
    // load() on disabled checking is refused.
    let kh = c(&s.known_hosts());
    assert_fail(
        check(unsafe { psftp_cnopts_load(opts.0, kh.as_ptr()) }),
        PSFTP_E_INVALID_ARG,
        &["hostkeys is None"],
    );
}

#[test]
fn load_merges_another_known_hosts_file() {
    let s = server();
    let empty = local_scratch("kh").join("known_hosts");
    std::fs::write(&empty, "# nothing here\n").unwrap();
    let opts = Opts::new(Some(empty.to_str().unwrap()));
    let kh = c(&s.file("known_hosts_hashed"));
    check(unsafe { psftp_cnopts_load(opts.0, kh.as_ptr()) }).unwrap();
    Login::password(s).connect(&opts).unwrap();
    let missing = c("/nonexistent/known_hosts");
    assert_fail(
        check(unsafe { psftp_cnopts_load(opts.0, missing.as_ptr()) }),
        PSFTP_E_LOCAL_IO,
        &["/nonexistent/known_hosts"],
    );
}

#[test]
fn get_hostkey_finds_plain_and_hashed_entries() {
    let s = server();
    let name = c(&format!("[127.0.0.1]:{}", s.port));
    for file in ["known_hosts", "known_hosts_hashed"] {
        let opts = Opts::new(Some(&s.file(file)));
        let mut k = std::ptr::null_mut();
        check(unsafe { psftp_cnopts_get_hostkey(opts.0, name.as_ptr(), &mut k) }).unwrap();
        let key = unsafe { &*k };
        let fp = unsafe { CStr::from_ptr(key.fingerprint) }
            .to_str()
            .unwrap()
            .to_string();
        unsafe { psftp_hostkey_free(k) };
        assert_eq!(
            fp,
            fingerprint_of_pub(&s.file("ssh_host_ed25519_key.pub")),
            "{file}"
        );
    }
    let opts = Opts::trusting(s);
    let unknown = c("unknown.example");
    let mut k = std::ptr::null_mut();
    assert_fail(
        check(unsafe { psftp_cnopts_get_hostkey(opts.0, unknown.as_ptr(), &mut k) }),
        PSFTP_E_HOSTKEY_UNKNOWN,
        &["unknown.example"],
    );
    assert!(k.is_null());
}

#[test]
fn accept_new_appends_the_key_once() {
    let s = server();
    let kh = local_scratch("tofu").join("known_hosts");
    let opts = Opts::new(Some(kh.to_str().unwrap()));
    check(psftp_cnopts_set_accept_new(opts.0, true)).unwrap();
    Login::password(s).connect(&opts).unwrap();
    Login::password(s).connect(&opts).unwrap();
    let text = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(text.lines().count(), 1, "one entry, not duplicated: {text}");
    assert!(text.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", s.port)));
    // Now it is known without the policy.
    Login::password(s)
        .connect(&Opts::new(Some(kh.to_str().unwrap())))
        .unwrap();
    // A changed key is still refused under accept-new.
    let changed = Opts::new(Some(&s.file("known_hosts_changed")));
    check(psftp_cnopts_set_accept_new(changed.0, true)).unwrap();
    assert_fail(
        Login::password(s).connect(&changed),
        PSFTP_E_HOSTKEY_MISMATCH,
        &[],
    );
}

#[test]
fn closed_port_is_a_connect_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = server();
    let mut login = Login::password(s);
    login.port = port;
    let p = port.to_string();
    assert_fail(
        login.connect(&Opts::trusting(s)),
        PSFTP_E_CONNECT,
        &["127.0.0.1", &p, "refused"],
    );
}

fn set_connect_timeout(opts: &Opts, secs: f64) {
    check(psftp_cnopts_set_connect_timeout(opts.0, secs)).unwrap();
}

#[test]
fn unanswered_syn_times_out_within_the_connect_timeout() {
    // A listener whose accept queue is full drops further SYNs: the same
    // thing an unroutable host looks like, without leaving loopback.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
        },
        sin_zero: [0; 8],
    };
    unsafe {
        assert_eq!(
            libc::bind(
                sock,
                &addr as *const _ as *const libc::sockaddr,
                std::mem::size_of_val(&addr) as u32
            ),
            0
        );
        assert_eq!(libc::listen(sock, 0), 0);
    }
    // Fill the queue.
    let _fillers: Vec<_> = (0..2)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(
                &format!("127.0.0.1:{port}").parse().unwrap(),
                Duration::from_millis(300),
            )
            .ok()
        })
        .collect();
    let s = server();
    let opts = Opts::trusting(s);
    set_connect_timeout(&opts, 1.0);
    let mut login = Login::password(s);
    login.port = port;
    let t = Instant::now();
    let r = login.connect(&opts);
    let took = t.elapsed();
    unsafe { libc::close(sock) };
    assert_fail(r, PSFTP_E_TIMEOUT, &["timed out", &port.to_string()]);
    assert!(took < Duration::from_secs(10), "returned after {took:?}");
}

#[test]
fn silent_server_times_out_in_the_handshake() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let (sock, _) = l.accept().unwrap();
        std::thread::sleep(Duration::from_secs(4));
        drop(sock);
    });
    let s = server();
    let opts = Opts::trusting(s);
    set_connect_timeout(&opts, 1.0);
    let mut login = Login::password(s);
    login.port = port;
    let t = Instant::now();
    assert_fail(
        login.connect(&opts),
        PSFTP_E_TIMEOUT,
        &["handshake", &port.to_string()],
    );
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "took {:?}",
        t.elapsed()
    );
    holder.join().unwrap();
}

#[test]
fn not_an_ssh_server_is_an_ssh_error() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        use std::io::Write;
        let (mut sock, _) = l.accept().unwrap();
        let _ = sock.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    let s = server();
    let mut login = Login::password(s);
    login.port = port;
    assert_fail(
        login.connect(&Opts::trusting(s)),
        PSFTP_E_SSH,
        &["handshake", &port.to_string()],
    );
    t.join().unwrap();
}

#[test]
fn ciphers_preference_is_used_and_unknown_names_are_refused() {
    let s = server();
    let opts = Opts::trusting(s);
    let list = c("aes128-ctr");
    check(unsafe { psftp_cnopts_set_ciphers(opts.0, list.as_ptr()) }).unwrap();
    let conn = Login::password(s).connect(&opts).unwrap();
    let (mut l, mut r) = (std::ptr::null_mut(), std::ptr::null_mut());
    check(unsafe { psftp_active_ciphers(conn.0, &mut l, &mut r) }).unwrap();
    assert_eq!(take_string(l).unwrap(), "aes128-ctr");
    assert_eq!(take_string(r).unwrap(), "aes128-ctr");
    let bad = c("aes128-ctr,rot13");
    assert_fail(
        check(unsafe { psftp_cnopts_set_ciphers(opts.0, bad.as_ptr()) }),
        PSFTP_E_INVALID_ARG,
        &["ciphers", "rot13"],
    );
}

#[test]
fn compression_is_negotiated_when_asked_for() {
    let s = server();
    let pair = |conn: &Conn| {
        let (mut l, mut r) = (std::ptr::null_mut(), std::ptr::null_mut());
        check(unsafe { psftp_active_compression(conn.0, &mut l, &mut r) }).unwrap();
        (take_string(l).unwrap(), take_string(r).unwrap())
    };
    let plain = Login::password(s).connect(&Opts::trusting(s)).unwrap();
    assert_eq!(pair(&plain), ("none".to_string(), "none".to_string()));
    let opts = Opts::trusting(s);
    check(psftp_cnopts_set_compression(opts.0, true)).unwrap();
    let zipped = Login::password(s).connect(&opts).unwrap();
    let (l, r) = pair(&zipped);
    assert!(l.starts_with("zlib") && r.starts_with("zlib"), "{l} {r}");
    assert!(listdir(&zipped, ".").is_ok());
}

#[test]
fn security_options_list_what_libssh2_supports() {
    let conn = connect();
    let mut o = std::ptr::null_mut();
    check(unsafe { psftp_security_options(conn.0, &mut o) }).unwrap();
    let opts = unsafe { &*o };
    let list = |l: &psftp_strarray| -> Vec<String> {
        (0..l.count)
            .map(|i| {
                unsafe { CStr::from_ptr(*l.strings.add(i)) }
                    .to_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert!(list(&opts.ciphers).contains(&"aes256-ctr".to_string()));
    assert!(list(&opts.digests)
        .iter()
        .any(|d| d.starts_with("hmac-sha2-256")));
    assert!(list(&opts.key_types).contains(&"ssh-ed25519".to_string()));
    assert!(list(&opts.kex)
        .iter()
        .any(|k| k.starts_with("curve25519-sha256")));
    assert!(list(&opts.compression).contains(&"none".to_string()));
    unsafe { psftp_security_info_free(o) };
}

#[test]
fn log_goes_to_the_named_file_or_a_temporary_one() {
    let s = server();
    let path = local_scratch("log").join("ssh.log");
    let opts = Opts::trusting(s);
    let p = c(path.to_str().unwrap());
    check(unsafe { psftp_cnopts_set_log(opts.0, true, p.as_ptr()) }).unwrap();
    let conn = Login::password(s).connect(&opts).unwrap();
    let logfile = string_out(|o| unsafe { psftp_logfile(conn.0, o) })
        .unwrap()
        .unwrap();
    assert_eq!(logfile, path.to_str().unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("authenticated as {}", s.user())),
        "{text}"
    );
    assert!(text.contains("host key for [127.0.0.1]"), "{text}");

    check(unsafe { psftp_cnopts_set_log(opts.0, true, std::ptr::null()) }).unwrap();
    let conn = Login::password(s).connect(&opts).unwrap();
    let temp = string_out(|o| unsafe { psftp_logfile(conn.0, o) })
        .unwrap()
        .unwrap();
    assert!(std::fs::read_to_string(&temp)
        .unwrap()
        .contains("SSH handshake"));
    std::fs::remove_file(temp).unwrap();

    let quiet = connect();
    assert_eq!(
        string_out(|o| unsafe { psftp_logfile(quiet.0, o) }).unwrap(),
        None,
        "no log by default"
    );
}

#[test]
fn timeout_attribute_round_trips() {
    let conn = connect();
    let mut t = -1.0;
    check(unsafe { psftp_timeout(conn.0, &mut t) }).unwrap();
    assert_eq!(t, 0.0, "pysftp's default is None");
    check(psftp_set_timeout(conn.0, 2.5)).unwrap();
    check(unsafe { psftp_timeout(conn.0, &mut t) }).unwrap();
    assert_eq!(t, 2.5);
    assert_fail(
        check(psftp_set_timeout(conn.0, -1.0)),
        PSFTP_E_INVALID_ARG,
        &["seconds"],
    );
    assert_fail(
        check(psftp_set_timeout(conn.0, f64::NAN)),
        PSFTP_E_INVALID_ARG,
        &["seconds"],
    );
    assert!(listdir(&conn, ".").is_ok());
}

#[test]
fn execute_returns_lines_and_exit_status() {
    let conn = connect();
    let cmd = c("echo one; echo two; echo oops >&2; exit 3");
    let mut lines = std::ptr::null_mut();
    let mut status = 0;
    check(unsafe { psftp_execute(conn.0, cmd.as_ptr(), &mut lines, &mut status) }).unwrap();
    assert_eq!(take_strarray(lines), ["one\n", "two\n", "oops\n"]);
    assert_eq!(status, 3);
    // The session is still usable for SFTP afterwards.
    assert!(listdir(&conn, ".").is_ok());
}

#[test]
fn default_path_sets_the_working_directory() {
    let s = server();
    let dir = remote_scratch("defpath");
    let d = dir.to_str().unwrap();
    let mut login = Login::password(s);
    login.default_path = Some(d);
    let conn = login.connect(&Opts::trusting(s)).unwrap();
    assert_eq!(
        string_out(|o| unsafe { psftp_getcwd(conn.0, o) })
            .unwrap()
            .as_deref(),
        Some(d)
    );
    login.default_path = Some("/no/such/dir");
    assert_fail(
        login.connect(&Opts::trusting(s)),
        PSFTP_E_NOT_FOUND,
        &["/no/such/dir"],
    );
}

#[test]
fn null_and_invalid_arguments_are_named() {
    let s = server();
    let opts = Opts::trusting(s);
    let mut conn = std::ptr::null_mut();
    let user = c(s.user());
    let rc = unsafe {
        psftp_connect(
            std::ptr::null(),
            user.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            0,
            std::ptr::null(),
            opts.0,
            std::ptr::null(),
            &mut conn,
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_INVALID_ARG, &["host", "NULL"]);
    let bad_utf8 = b"127.0.0.\xff\0";
    let rc = unsafe {
        psftp_connect(
            bad_utf8.as_ptr() as *const _,
            user.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            0,
            std::ptr::null(),
            opts.0,
            std::ptr::null(),
            &mut conn,
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_INVALID_ARG, &["host", "UTF-8"]);
    let host = c("127.0.0.1");
    let rc = unsafe {
        psftp_connect(
            host.as_ptr(),
            user.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            70000,
            std::ptr::null(),
            opts.0,
            std::ptr::null(),
            &mut conn,
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_INVALID_ARG, &["port", "70000"]);
    let rc = unsafe {
        psftp_connect(
            host.as_ptr(),
            user.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            22,
            std::ptr::null(),
            opts.0,
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_INVALID_ARG, &["conn_out"]);
    assert!(conn.is_null());
    assert_fail(
        check(unsafe { psftp_cnopts_new(std::ptr::null(), std::ptr::null_mut()) }),
        PSFTP_E_INVALID_ARG,
        &["out"],
    );
    assert_fail(
        check(psftp_cnopts_set_compression(std::ptr::null_mut(), true)),
        PSFTP_E_INVALID_ARG,
        &["cnopts", "NULL"],
    );
    assert_fail(
        check(psftp_cnopts_set_connect_timeout(opts.0, -3.0)),
        PSFTP_E_INVALID_ARG,
        &["seconds", "-3"],
    );
}

#[test]
fn closed_and_foreign_handles_are_detected_not_dereferenced() {
    let conn = connect();
    let raw = conn.0;
    unsafe { psftp_close(raw) };
    std::mem::forget(conn);
    let mut out = std::ptr::null_mut();
    let dot = c(".");
    assert_fail(
        check(unsafe { psftp_listdir(raw, dot.as_ptr(), &mut out) }),
        PSFTP_E_INVALID_ARG,
        &["conn", "not a live psftp_conn"],
    );
    unsafe { psftp_close(raw) }; // second close is harmless
    assert_eq!(psftp_conn_last_error_code(raw), PSFTP_E_INVALID_ARG);
    assert!(psftp_conn_last_error(raw).is_null());
    // A cnopts handle passed as a connection.
    let opts = Opts::new(None);
    assert_fail(
        check(unsafe { psftp_listdir(opts.0 as *mut psftp_conn, dot.as_ptr(), &mut out) }),
        PSFTP_E_INVALID_ARG,
        &["not a live psftp_conn"],
    );
    // Garbage pointer values.
    assert_fail(
        check(unsafe { psftp_listdir(0xdead_beef as *mut psftp_conn, dot.as_ptr(), &mut out) }),
        PSFTP_E_INVALID_ARG,
        &["conn"],
    );
    unsafe { psftp_cnopts_free(0x1234 as *mut psftp_cnopts) };
}

#[test]
fn the_connection_keeps_its_last_error_for_other_threads() {
    let conn = connect();
    assert_eq!(psftp_conn_last_error_code(conn.0), PSFTP_OK);
    assert_eq!(take_string(psftp_conn_last_error(conn.0)).unwrap(), "");
    let raw = conn.0 as usize;
    std::thread::spawn(move || {
        let mut a = psftp_attrs::default();
        let p = c("/no/such/file");
        unsafe { psftp_stat(raw as *mut psftp_conn, p.as_ptr(), &mut a) }
    })
    .join()
    .unwrap();
    assert_eq!(psftp_conn_last_error_code(conn.0), PSFTP_E_NOT_FOUND);
    let msg = take_string(psftp_conn_last_error(conn.0)).unwrap();
    assert!(msg.contains("/no/such/file"), "{msg}");
}

#[test]
fn strerror_names_every_code() {
    let name = |c: i32| {
        unsafe { CStr::from_ptr(psftp_strerror(c)) }
            .to_str()
            .unwrap()
    };
    assert_eq!(name(PSFTP_OK), "PSFTP_OK");
    assert_eq!(name(PSFTP_E_HOSTKEY_MISMATCH), "PSFTP_E_HOSTKEY_MISMATCH");
    assert_eq!(name(-999), "PSFTP_E_UNKNOWN");
}
