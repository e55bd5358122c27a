//! Failure modes: a frozen link, a cut link and resume, keepalives, the
//! host-key callback, trust on first use under contention, and load.

mod common;

use common::relay::Relay;
use common::*;

use psftp::capi::tree::*;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long past the configured timeout a call may take to give up: a
/// guard against hangs, not a performance assertion.
const HANG_GUARD: Duration = Duration::from_secs(15);

fn via_relay(relay: &Relay, opts: &Opts) -> Conn {
    let s = server();
    let mut login = Login::password(s);
    login.port = relay.port;
    // The relay's port is not the server's known_hosts name.
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    login.connect(opts).expect("connect through the relay")
}

fn with_timeout(secs: f64) -> Opts {
    let o = Opts::new(None);
    check(psftp_cnopts_set_timeout(o.0, secs)).unwrap();
    o
}

fn get_interrupted(
    conn: &Conn,
    remote: &Path,
    local: &Path,
    action: &dyn Fn(),
    opts: *const psftp_transfer_opts,
) -> Result<(), Fail> {
    let mut f = OnFirst::new(action);
    let remote = remote.to_str().unwrap();
    get_full(conn, remote, local, f.progress(), false, opts)
}

fn put_interrupted(
    conn: &Conn,
    local: &Path,
    remote: &Path,
    action: &dyn Fn(),
    opts: *const psftp_transfer_opts,
) -> Result<(), Fail> {
    let mut f = OnFirst::new(action);
    let remote = remote.to_str().unwrap();
    put_full(conn, local, remote, f.progress(), true, false, opts).map(|_| ())
}

#[test]
fn a_frozen_link_times_out_every_operation_and_keeps_old_data() {
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("freeze");
    put_remote_file(&rdir.join("big"), &pattern(16 * 1024 * 1024, 1));
    put_remote_file(&rdir.join("old"), b"old remote");
    let ldir = local_scratch("freeze");
    std::fs::write(ldir.join("big"), b"old local").unwrap();
    std::fs::write(ldir.join("up"), pattern(16 * 1024 * 1024, 2)).unwrap();
    let freeze = || relay.freeze();

    // get
    let conn = via_relay(&relay, &with_timeout(2.0));
    let t = Instant::now();
    assert_fail(
        get_interrupted(
            &conn,
            &rdir.join("big"),
            &ldir.join("big"),
            &freeze,
            std::ptr::null(),
        ),
        PSFTP_E_TIMEOUT,
        &["timed out"],
    );
    assert!(
        t.elapsed() < Duration::from_secs(2) + HANG_GUARD,
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(std::fs::read(ldir.join("big")).unwrap(), b"old local");
    assert_fail(
        listdir(&conn, rdir.to_str().unwrap()),
        PSFTP_E_CONNECTION_LOST,
        &["unusable after an earlier error"],
    );
    drop(conn);
    relay.thaw();

    // put
    let conn = via_relay(&relay, &with_timeout(2.0));
    assert_fail(
        put_interrupted(
            &conn,
            &ldir.join("up"),
            &rdir.join("old"),
            &freeze,
            std::ptr::null(),
        ),
        PSFTP_E_TIMEOUT,
        &[],
    );
    assert_eq!(std::fs::read(rdir.join("old")).unwrap(), b"old remote");
    drop(conn);
    relay.thaw();

    // a plain request
    let conn = via_relay(&relay, &with_timeout(1.5));
    relay.freeze();
    let t = Instant::now();
    assert_fail(listdir(&conn, rdir.to_str().unwrap()), PSFTP_E_TIMEOUT, &[]);
    assert!(t.elapsed() < Duration::from_millis(1500) + HANG_GUARD);
    drop(conn);
    relay.thaw();

    // a tree operation on three connections
    let conn = via_relay(&relay, &with_timeout(2.0));
    let mut xo = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut xo) }).unwrap();
    check(psftp_transfer_opts_set_parallelism(xo, 3)).unwrap();
    let mut f = OnFirst::new(&freeze);
    let t = Instant::now();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(rdir.to_str().unwrap()).as_ptr(),
            c(ldir.join("tree").to_str().unwrap()).as_ptr(),
            false,
            Some(on_first_tree),
            &mut f as *mut _ as *mut c_void,
            xo,
            std::ptr::null_mut(),
        )
    };
    let code = check(rc).unwrap_err().code;
    assert!(
        code == PSFTP_E_TIMEOUT || code == PSFTP_E_CONNECTION_LOST,
        "{}",
        last_error()
    );
    assert!(
        t.elapsed() < Duration::from_secs(2) + HANG_GUARD,
        "took {:?}",
        t.elapsed()
    );
    psftp_transfer_opts_free(xo);
    relay.thaw();
}

#[test]
fn a_bit_flipped_on_the_way_fails_the_get_and_keeps_old_data() {
    // Each cipher's integrity check (GCM, Poly1305, the HMAC after CTR) must
    // stop the transfer rather than let altered bytes reach the file.
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("bitflip");
    put_remote_file(&rdir.join("big"), &pattern(32 * 1024 * 1024, 4));
    let ldir = local_scratch("bitflip");
    let flip = || relay.corrupt_next_down();
    for cipher in [
        "aes128-gcm@openssh.com",
        "chacha20-poly1305@openssh.com",
        "aes128-ctr",
    ] {
        let local = ldir.join(cipher);
        std::fs::write(&local, b"old local").unwrap();
        let opts = with_timeout(10.0);
        check(unsafe { psftp_cnopts_set_ciphers(opts.0, c(cipher).as_ptr()) }).unwrap();
        let conn = via_relay(&relay, &opts);
        let t = Instant::now();
        let err = get_interrupted(&conn, &rdir.join("big"), &local, &flip, std::ptr::null())
            .expect_err(cipher);
        assert_eq!(err.code, PSFTP_E_SSH, "{cipher}: {}", err.msg);
        for part in ["read '", "big'", "integrity check", "127.0.0.1"] {
            assert!(err.msg.contains(part), "{cipher}: {}", err.msg);
        }
        assert!(t.elapsed() < Duration::from_secs(10) + HANG_GUARD);
        assert_eq!(std::fs::read(&local).unwrap(), b"old local", "{cipher}");
    }
}

fn resume_opts() -> *mut psftp_transfer_opts {
    let mut o = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut o) }).unwrap();
    check(psftp_transfer_opts_set_resume(o, true)).unwrap();
    o
}

struct FirstDone(Option<u64>);

unsafe extern "C" fn record_first(done: u64, _t: u64, ud: *mut c_void) -> c_int {
    let f = &mut *(ud as *mut FirstDone);
    f.0.get_or_insert(done);
    0
}

#[test]
fn a_cut_transfer_resumes_from_its_part_file() {
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("resume");
    let data = pattern(24 * 1024 * 1024, 3);
    put_remote_file(&rdir.join("big"), &data);
    let ldir = local_scratch("resume");
    let xo = resume_opts();
    let cut = || {
        std::thread::sleep(Duration::from_millis(50));
        relay.cut();
    };

    let conn = via_relay(&relay, &Opts::new(None));
    assert_fail(
        get_interrupted(&conn, &rdir.join("big"), &ldir.join("big"), &cut, xo),
        PSFTP_E_CONNECTION_LOST,
        &[],
    );
    drop(conn);
    let part = ldir.join(".big.psftp.part");
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    assert!(
        have > 0 && have < data.len() as u64,
        "a partial file was kept: {have}"
    );
    assert!(
        !ldir.join("big").exists(),
        "nothing in place of the destination"
    );
    let conn = via_relay(&relay, &Opts::new(None));
    let mut first = FirstDone(None);
    let remote = rdir.join("big");
    let progress = progress_to(record_first, &mut first);
    get_full(
        &conn,
        remote.to_str().unwrap(),
        &ldir.join("big"),
        progress,
        false,
        xo,
    )
    .unwrap();
    assert!(
        first.0.unwrap() > have,
        "resumed after the {have} bytes already there"
    );
    assert_eq!(std::fs::read(ldir.join("big")).unwrap(), data);
    assert!(!part.exists());

    // put
    std::fs::write(ldir.join("up"), &data).unwrap();
    let conn = via_relay(&relay, &Opts::new(None));
    assert_fail(
        put_interrupted(&conn, &ldir.join("up"), &rdir.join("up"), &cut, xo),
        PSFTP_E_CONNECTION_LOST,
        &[],
    );
    drop(conn);
    let rpart = rdir.join(".up.psftp.part");
    wait_for(|| rpart.exists(), "the server to record the partial upload");
    let have = std::fs::metadata(&rpart).unwrap().len();
    assert!(have < data.len() as u64);
    let conn = via_relay(&relay, &Opts::new(None));
    let mut first = FirstDone(None);
    let remote = rdir.join("up");
    let progress = progress_to(record_first, &mut first);
    put_full(
        &conn,
        &ldir.join("up"),
        remote.to_str().unwrap(),
        progress,
        true,
        false,
        xo,
    )
    .unwrap();
    assert!(first.0.unwrap() > have);
    assert_eq!(std::fs::read(rdir.join("up")).unwrap(), data);
    assert!(!rpart.exists());
    psftp_transfer_opts_free(xo);
}

#[test]
fn keepalives_flow_on_an_idle_connection_only_when_asked_for() {
    let (quiet, pinging) = (Relay::start(server().port), Relay::start(server().port));
    let a = via_relay(&quiet, &Opts::new(None));
    let opts = Opts::new(None);
    check(psftp_cnopts_set_keepalive(opts.0, 1)).unwrap();
    let b = via_relay(&pinging, &opts);
    let (qa, pb) = (quiet.bytes_up(), pinging.bytes_up());
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(quiet.bytes_up(), qa, "no traffic without keepalive");
    assert!(pinging.bytes_up() > pb, "keepalives were sent");
    assert!(listdir(&b, ".").is_ok() && listdir(&a, ".").is_ok());
    assert_fail(
        check(psftp_cnopts_set_keepalive(opts.0, -1)),
        PSFTP_E_INVALID_ARG,
        &["seconds"],
    );
}

#[derive(Default)]
struct Asked {
    calls: Vec<(String, i32, i32, String)>,
    answer: i32,
}

unsafe extern "C" fn decide(
    host: *const c_char,
    port: c_int,
    key: *const psftp_hostkey,
    status: c_int,
    ud: *mut c_void,
) -> c_int {
    let a = &mut *(ud as *mut Asked);
    let fp = CStr::from_ptr((*key).fingerprint)
        .to_str()
        .unwrap()
        .to_string();
    a.calls.push((
        CStr::from_ptr(host).to_str().unwrap().to_string(),
        port,
        status,
        fp,
    ));
    a.answer
}

#[test]
fn the_host_key_callback_decides_about_unknown_and_changed_keys() {
    let s = server();
    let kh = local_scratch("hkcb").join("known_hosts");
    std::fs::write(&kh, "").unwrap();
    let opts = Opts::new(Some(kh.to_str().unwrap()));
    let mut asked = Asked::default();
    check(psftp_cnopts_set_hostkey_callback(
        opts.0,
        Some(decide),
        &mut asked as *mut _ as *mut c_void,
        None,
    ))
    .unwrap();
    asked.answer = PSFTP_HOSTKEY_REJECT;
    assert_fail(
        Login::password(s).connect(&opts),
        PSFTP_E_HOSTKEY_UNKNOWN,
        &["callback rejected"],
    );
    let (host, port, status, fp) = asked.calls[0].clone();
    assert_eq!(
        (host.as_str(), port, status),
        ("127.0.0.1", s.port as i32, PSFTP_HOSTKEY_STATUS_UNKNOWN)
    );
    assert!(fp.starts_with("SHA256:"));
    asked.answer = PSFTP_HOSTKEY_ACCEPT;
    Login::password(s).connect(&opts).unwrap();
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        "",
        "accepted once, not saved"
    );
    asked.answer = PSFTP_HOSTKEY_ACCEPT_AND_SAVE;
    Login::password(s).connect(&opts).unwrap();
    assert_eq!(std::fs::read_to_string(&kh).unwrap().lines().count(), 1);
    let before = asked.calls.len();
    Login::password(s).connect(&opts).unwrap();
    assert_eq!(
        asked.calls.len(),
        before,
        "a known key never reaches the callback"
    );

    let changed = Opts::new(Some(&s.file("known_hosts_changed")));
    let mut asked = Asked {
        answer: PSFTP_HOSTKEY_ACCEPT,
        ..Default::default()
    };
    check(psftp_cnopts_set_hostkey_callback(
        changed.0,
        Some(decide),
        &mut asked as *mut _ as *mut c_void,
        None,
    ))
    .unwrap();
    let conn = Login::password(s).connect(&changed).unwrap();
    assert_eq!(asked.calls[0].2, PSFTP_HOSTKEY_STATUS_CHANGED);
    // The extra connections of a tree operation trust the same key without
    // asking again (they run on worker threads).
    let remote = remote_scratch("hkcbtree");
    for i in 0..12 {
        put_remote_file(&remote.join(format!("f{i}")), b"x");
    }
    let mut xo = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut xo) }).unwrap();
    check(psftp_transfer_opts_set_parallelism(xo, 4)).unwrap();
    let dest = local_scratch("hkcbtree");
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(remote.to_str().unwrap()).as_ptr(),
            c(dest.to_str().unwrap()).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            xo,
            std::ptr::null_mut(),
        )
    };
    check(rc).unwrap();
    assert_eq!(asked.calls.len(), 1, "asked once, by the first connection");
    psftp_transfer_opts_free(xo);
    asked.answer = PSFTP_HOSTKEY_REJECT;
    assert_fail(
        Login::password(s).connect(&changed),
        PSFTP_E_HOSTKEY_MISMATCH,
        &["MISMATCH"],
    );
}

#[test]
fn accept_new_from_many_threads_adds_one_line() {
    let kh = local_scratch("tofu8").join("known_hosts");
    let path = kh.to_str().unwrap().to_string();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let opts = Opts::new(Some(&path));
                check(psftp_cnopts_set_accept_new(opts.0, true)).unwrap();
                Login::password(server()).connect(&opts).map(|_| ())
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let text = std::fs::read_to_string(&kh).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn one_connection_shared_by_eight_threads_is_safe() {
    let conn = connect();
    let raw = conn.0 as usize;
    let dir = remote_scratch("shared");
    let ldir = local_scratch("shared");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (dir, ldir) = (dir.clone(), ldir.clone());
            std::thread::spawn(move || {
                let conn = raw as *mut psftp_conn;
                for i in 0..25 {
                    let data = pattern(20_000 + i * 97, (t * 31 + i) as u8);
                    let local = ldir.join(format!("t{t}-{i}"));
                    std::fs::write(&local, &data).unwrap();
                    let remote = dir.join(format!("t{t}-{i}"));
                    let (l, r) = (c(local.to_str().unwrap()), c(remote.to_str().unwrap()));
                    check(unsafe {
                        psftp_put(
                            conn,
                            l.as_ptr(),
                            r.as_ptr(),
                            None,
                            std::ptr::null_mut(),
                            true,
                            false,
                            std::ptr::null(),
                            std::ptr::null_mut(),
                        )
                    })
                    .unwrap();
                    let back = ldir.join(format!("t{t}-{i}.back"));
                    let b = c(back.to_str().unwrap());
                    check(unsafe {
                        psftp_get(
                            conn,
                            r.as_ptr(),
                            b.as_ptr(),
                            None,
                            std::ptr::null_mut(),
                            false,
                            std::ptr::null(),
                        )
                    })
                    .unwrap();
                    assert_eq!(std::fs::read(&back).unwrap(), data);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(listdir(&conn, dir.to_str().unwrap()).unwrap().len(), 200);
}

#[test]
fn sixteen_threads_with_their_own_connections_do_200_mixed_operations_each() {
    let dir = remote_scratch("load");
    let ldir = local_scratch("load");
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let (dir, ldir) = (dir.join(format!("t{t}")), ldir.join(format!("t{t}")));
            std::thread::spawn(move || -> Result<usize, String> {
                std::fs::create_dir_all(&ldir).unwrap();
                let conn = connect();
                check(unsafe { psftp_mkdir(conn.0, c(dir.to_str().unwrap()).as_ptr(), 0o755) })
                    .map_err(|f| f.msg)?;
                let mut ops = 1;
                let mut i = 0;
                while ops < 200 {
                    let data = pattern(1000 + (t * 200 + i) % 70_000, (t + i) as u8);
                    let local = ldir.join(format!("f{i}"));
                    std::fs::write(&local, &data).unwrap();
                    let (a, b) = (dir.join(format!("f{i}")), dir.join(format!("g{i}")));
                    put(&conn, &local, a.to_str().unwrap()).map_err(|f| f.msg)?;
                    let st = stat(&conn, a.to_str().unwrap()).map_err(|f| f.msg)?;
                    assert_eq!(st.size as usize, data.len());
                    let (ca, cb) = (c(a.to_str().unwrap()), c(b.to_str().unwrap()));
                    check(unsafe { psftp_rename(conn.0, ca.as_ptr(), cb.as_ptr()) })
                        .map_err(|f| f.msg)?;
                    let back = ldir.join(format!("b{i}"));
                    get(&conn, b.to_str().unwrap(), &back).map_err(|f| f.msg)?;
                    assert_eq!(std::fs::read(&back).unwrap(), data, "thread {t} file {i}");
                    let names = listdir(&conn, dir.to_str().unwrap()).map_err(|f| f.msg)?;
                    assert!(names.contains(&format!("g{i}")));
                    check(unsafe { psftp_remove(conn.0, cb.as_ptr()) }).map_err(|f| f.msg)?;
                    ops += 6;
                    i += 1;
                }
                Ok(ops)
            })
        })
        .collect();
    let mut total = 0;
    for t in threads {
        total += t.join().unwrap().unwrap();
    }
    assert!(total >= 16 * 200);
}
