//! One connection, many concurrent calls (issue 18), through the C ABI:
//! calls from several threads run on one connection at the same time with
//! byte-exact results, a call's callback may call back into its
//! connection, and one call stopping leaves the others running.

mod common;

use common::*;
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// A connection handle shared between threads (psftp_conn is
/// thread-safe).
#[derive(Clone, Copy)]
struct Shared(*mut psftp_conn);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// A borrowed `Conn` that does not close the connection when dropped.
    fn with<R>(self, f: impl FnOnce(&Conn) -> R) -> R {
        let conn = Conn(self.0);
        let r = f(&conn);
        std::mem::forget(conn);
        r
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Eight threads mix get, put, stat and listdir on one connection; every
/// byte and every answer is checked.
#[test]
fn eight_threads_mix_gets_puts_stats_and_listdirs_on_one_connection() {
    let conn = connect();
    let shared = Shared(conn.0);
    let remote = remote_scratch("mux-mixed");
    let sizes = [0usize, 1, 32 * 1024 + 7, 700_000, 3 * 1024 * 1024 + 5];
    let mut files = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let p = remote.join(format!("src{i}"));
        let data = pattern(*size, i as u8);
        put_remote_file(&p, &data);
        files.push((p, data));
    }
    let listed_before = file_names(&remote);
    let local = local_scratch("mux-mixed");
    let outdir = remote.join("out");
    std::fs::create_dir(&outdir).unwrap();
    chown_to_test_user(&outdir);
    std::thread::scope(|s| {
        for t in 0..8usize {
            let (files, local, remote, outdir, listed_before) =
                (&files, &local, &remote, &outdir, &listed_before);
            s.spawn(move || {
                shared.with(|conn| {
                    for round in 0..4usize {
                        let (src, data) = &files[(t + round) % files.len()];
                        // get
                        let dst = local.join(format!("t{t}-r{round}"));
                        get(conn, src.to_str().unwrap(), &dst).unwrap();
                        assert_eq!(&std::fs::read(&dst).unwrap(), data, "get {src:?}");
                        // put
                        let up = local.join(format!("up-t{t}-r{round}"));
                        let mine = pattern(200_000 + t * 1000 + round, (t * 4 + round) as u8);
                        std::fs::write(&up, &mine).unwrap();
                        let target = outdir.join(format!("t{t}-r{round}"));
                        let a = put(conn, &up, target.to_str().unwrap()).unwrap();
                        assert_eq!(a.size, mine.len() as u64);
                        assert_eq!(std::fs::read(&target).unwrap(), mine, "put {target:?}");
                        // stat
                        let a = stat(conn, src.to_str().unwrap()).unwrap();
                        assert_eq!(a.size, data.len() as u64, "stat {src:?}");
                        // listdir of a directory no thread writes to
                        let mut names = listdir(conn, remote.to_str().unwrap()).unwrap();
                        names.sort();
                        let mut want = listed_before.clone();
                        want.push("out".to_string());
                        want.sort();
                        assert_eq!(names, want);
                    }
                })
            });
        }
    });
    assert_eq!(file_names(&outdir).len(), 32);
    // The connection is fine afterwards.
    assert_eq!(
        stat(&conn, files[4].0.to_str().unwrap()).unwrap().size,
        files[4].1.len() as u64
    );
}

/// Pauses a get in its progress callback until told to go on.
struct Pause {
    started: mpsc::Sender<()>,
    go_on: mpsc::Receiver<()>,
    paused: bool,
}

unsafe extern "C" fn pause_once(_done: u64, _total: u64, ud: *mut c_void) -> i32 {
    let p = &mut *(ud as *mut Pause);
    if !p.paused {
        p.paused = true;
        let _ = p.started.send(());
        // Bounded, so a broken build fails instead of hanging.
        let _ = p.go_on.recv_timeout(Duration::from_secs(120));
    }
    0
}

/// While one thread's get is in the middle of its transfer (held in its
/// progress callback with requests in flight), other threads' stats,
/// listdirs, gets and puts on the same connection complete (with one lock
/// per call they waited for the whole get).
#[test]
fn calls_from_other_threads_run_while_a_get_is_mid_transfer() {
    let conn = connect();
    let shared = Shared(conn.0);
    let remote = remote_scratch("mux-mid");
    let big = pattern(24 * 1024 * 1024 + 3, 7);
    let big_path = remote.join("big");
    put_remote_file(&big_path, &big);
    let small = pattern(100_000, 8);
    let small_path = remote.join("small");
    put_remote_file(&small_path, &small);
    let backs = remote.join("back");
    std::fs::create_dir(&backs).unwrap();
    chown_to_test_user(&backs);
    let local = local_scratch("mux-mid");
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let big_local = local.join("big");
    std::thread::scope(|s| {
        let getter = s.spawn(|| {
            let mut p = Pause {
                started: started_tx,
                go_on: go_rx,
                paused: false,
            };
            shared.with(|conn| {
                get_full(
                    conn,
                    big_path.to_str().unwrap(),
                    &big_local,
                    progress_to(pause_once, &mut p),
                    false,
                    std::ptr::null(),
                )
            })
        });
        started_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        // The get is paused with its pipeline in flight. Other calls run
        // on another thread, bounded so that a wait for the get fails.
        let (done_tx, done_rx) = mpsc::channel();
        let (small_path, local, remote, backs) = (&small_path, &local, &remote, &backs);
        let small = &small;
        s.spawn(move || {
            shared.with(|conn| {
                for i in 0..5 {
                    let a = stat(conn, small_path.to_str().unwrap()).unwrap();
                    assert_eq!(a.size, small.len() as u64);
                    let mut names = listdir(conn, remote.to_str().unwrap()).unwrap();
                    names.sort();
                    assert_eq!(names, ["back", "big", "small"]);
                    let dst = local.join(format!("small{i}"));
                    get(conn, small_path.to_str().unwrap(), &dst).unwrap();
                    assert_eq!(&std::fs::read(&dst).unwrap(), small);
                    let back = backs.join(format!("{i}"));
                    put(conn, &dst, back.to_str().unwrap()).unwrap();
                    assert_eq!(&std::fs::read(&back).unwrap(), small);
                }
            });
            done_tx.send(()).unwrap();
        });
        let finished = done_rx.recv_timeout(Duration::from_secs(60));
        go_tx.send(()).unwrap();
        assert!(
            finished.is_ok(),
            "calls on other threads waited for the paused get"
        );
        getter.join().unwrap().unwrap();
    });
    assert_eq!(std::fs::read(&big_local).unwrap(), big);
}

/// What a progress callback did on its own connection.
struct Reentry {
    conn: *mut psftp_conn,
    probe: PathBuf,
    dir: PathBuf,
    stats: Vec<Result<u64, i32>>,
    listed: Vec<Result<usize, i32>>,
    lock_code: Option<i32>,
}

unsafe extern "C" fn reenter(_done: u64, _total: u64, ud: *mut c_void) -> i32 {
    let r = &mut *(ud as *mut Reentry);
    let conn = Conn(r.conn);
    r.stats.push(
        stat(&conn, r.probe.to_str().unwrap())
            .map(|a| a.size)
            .map_err(|f| f.code),
    );
    if r.listed.len() < 3 {
        r.listed.push(
            listdir(&conn, r.dir.to_str().unwrap())
                .map(|v| v.len())
                .map_err(|f| f.code),
        );
    }
    if r.lock_code.is_none() {
        // Locking would wait for the call running this callback: refused.
        r.lock_code = Some(psftp_lock(r.conn));
    }
    std::mem::forget(conn);
    0
}

/// A get's and a put's progress callbacks call stat and listdir on their
/// own connection: the calls run (they were refused before); psftp_lock
/// from a callback is refused with a clear code instead of deadlocking.
#[test]
fn a_progress_callback_may_call_its_own_connection() {
    let conn = connect();
    let remote = remote_scratch("mux-reenter");
    let data = pattern(5 * 1024 * 1024 + 11, 3);
    let src = remote.join("src");
    put_remote_file(&src, &data);
    let probe = remote.join("probe");
    put_remote_file(&probe, b"12345");
    let local = local_scratch("mux-reenter");
    let mut r = Reentry {
        conn: conn.0,
        probe: probe.clone(),
        dir: remote.clone(),
        stats: Vec::new(),
        listed: Vec::new(),
        lock_code: None,
    };
    let dst = local.join("dst");
    get_full(
        &conn,
        src.to_str().unwrap(),
        &dst,
        progress_to(reenter, &mut r),
        false,
        std::ptr::null(),
    )
    .unwrap();
    assert_eq!(std::fs::read(&dst).unwrap(), data);
    assert!(r.stats.len() > 3, "{} progress calls", r.stats.len());
    assert!(r.stats.iter().all(|s| *s == Ok(5)), "{:?}", r.stats);
    assert!(r.listed.iter().all(|l| *l == Ok(2)), "{:?}", r.listed);
    assert_eq!(r.lock_code, Some(PSFTP_E_INVALID_ARG));
    // And from a put's callback.
    r.stats.clear();
    let up = remote.join("up");
    put_full(
        &conn,
        &dst,
        up.to_str().unwrap(),
        progress_to(reenter, &mut r),
        true,
        false,
        std::ptr::null(),
    )
    .unwrap();
    assert_eq!(std::fs::read(&up).unwrap(), data);
    assert!(
        r.stats.len() > 3 && r.stats.iter().all(|s| *s == Ok(5)),
        "{:?}",
        r.stats
    );
    // Nothing was left locked: another thread's call runs.
    let shared = Shared(conn.0);
    let p = probe.clone();
    let size =
        std::thread::spawn(move || shared.with(|c| stat(c, p.to_str().unwrap()).unwrap().size))
            .join()
            .unwrap();
    assert_eq!(size, 5);
}

unsafe extern "C" fn stop_at_once(_done: u64, _total: u64, _ud: *mut c_void) -> i32 {
    1
}

/// A get stopped by its callback ends with PSFTP_E_USER while a get on
/// another thread runs to its end byte-exact, and the connection stays
/// usable.
#[test]
fn a_callback_stopping_one_call_leaves_the_others_running() {
    let conn = connect();
    let shared = Shared(conn.0);
    let remote = remote_scratch("mux-stop");
    let data = pattern(16 * 1024 * 1024 + 1, 9);
    let src = remote.join("src");
    put_remote_file(&src, &data);
    let local = local_scratch("mux-stop");
    std::thread::scope(|s| {
        let keeps = s.spawn(|| {
            shared.with(|c| {
                let dst = local.join("kept");
                get(c, src.to_str().unwrap(), &dst).unwrap();
                std::fs::read(&dst).unwrap()
            })
        });
        for i in 0..4 {
            let stopped = shared.with(|c| {
                get_full(
                    c,
                    src.to_str().unwrap(),
                    &local.join(format!("stopped{i}")),
                    (Some(stop_at_once), std::ptr::null_mut()),
                    false,
                    std::ptr::null(),
                )
            });
            assert_fail(stopped, PSFTP_E_USER, &[]);
        }
        assert!(keeps.join().unwrap() == data);
    });
    assert_eq!(
        stat(&conn, src.to_str().unwrap()).unwrap().size,
        data.len() as u64
    );
}

/// A cancel token and a connection handle tied to it.
struct Token(*mut psftp::capi::cancel::psftp_cancel_token);

impl Token {
    fn new() -> Token {
        let mut t = std::ptr::null_mut();
        check(unsafe { psftp::capi::cancel::psftp_cancel_token_new(&mut t) }).unwrap();
        Token(t)
    }
    fn view(&self, conn: &Conn) -> Conn {
        let mut v = std::ptr::null_mut();
        check(unsafe { psftp::capi::cancel::psftp_conn_with_cancel(conn.0, self.0, &mut v) })
            .unwrap();
        Conn(v)
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        psftp::capi::cancel::psftp_cancel_token_free(self.0);
    }
}

#[derive(Clone, Copy)]
struct SendToken(*mut psftp::capi::cancel::psftp_cancel_token);
unsafe impl Send for SendToken {}

/// Cancels a token from another thread at the first progress call, and
/// waits until it is cancelled.
struct CancelFromElsewhere {
    token: SendToken,
    calls: usize,
}

unsafe extern "C" fn cancel_from_elsewhere(_done: u64, _total: u64, ud: *mut c_void) -> i32 {
    let c = &mut *(ud as *mut CancelFromElsewhere);
    c.calls += 1;
    if c.calls == 1 {
        let t = c.token;
        std::thread::spawn(move || {
            let t = t;
            psftp::capi::cancel::psftp_cancel_token_cancel(t.0)
        })
        .join()
        .unwrap();
    }
    0
}

/// Cancelling a token stops the get made through its handle with
/// PSFTP_E_CANCELLED and no local file; a get on the same connection from
/// another thread runs to its end byte-exact; the connection goes on, and
/// the token's handle works again once the token is reset.
#[test]
fn a_cancel_token_stops_one_call_and_leaves_the_connection_and_others_running() {
    let conn = connect();
    let shared = Shared(conn.0);
    let remote = remote_scratch("mux-token");
    let data = pattern(24 * 1024 * 1024 + 5, 4);
    let src = remote.join("src");
    put_remote_file(&src, &data);
    let local = local_scratch("mux-token");
    let token = Token::new();
    let view = token.view(&conn);
    let mut c = CancelFromElsewhere {
        token: SendToken(token.0),
        calls: 0,
    };
    let cancelled_dst = local.join("cancelled");
    std::thread::scope(|s| {
        let other = s.spawn(|| {
            shared.with(|conn| {
                let dst = local.join("other");
                get(conn, src.to_str().unwrap(), &dst).unwrap();
                std::fs::read(&dst).unwrap()
            })
        });
        let r = get_full(
            &view,
            src.to_str().unwrap(),
            &cancelled_dst,
            progress_to(cancel_from_elsewhere, &mut c),
            false,
            std::ptr::null(),
        );
        assert_fail(r, PSFTP_E_CANCELLED, &["cancel"]);
        assert!(other.join().unwrap() == data);
    });
    assert!(!cancelled_dst.exists());
    assert_eq!(file_names(&local), ["other"]);
    // The handle's later calls are refused until the token is reset; the
    // connection's own calls run.
    assert_fail(stat(&view, src.to_str().unwrap()), PSFTP_E_CANCELLED, &[]);
    assert_eq!(
        stat(&conn, src.to_str().unwrap()).unwrap().size,
        data.len() as u64
    );
    check(psftp::capi::cancel::psftp_cancel_token_reset(token.0)).unwrap();
    assert_eq!(
        stat(&view, src.to_str().unwrap()).unwrap().size,
        data.len() as u64
    );
    // Closing the view leaves the connection open.
    drop(view);
    assert_eq!(listdir(&conn, remote.to_str().unwrap()).unwrap(), ["src"]);
}

/// A put cancelled by its token leaves the old remote file as it was and
/// no part file beside it.
#[test]
fn a_cancelled_put_leaves_the_destination_as_it_was() {
    let conn = connect();
    let remote = remote_scratch("mux-token-put");
    let dst = remote.join("dst");
    put_remote_file(&dst, b"old content");
    let local = local_scratch("mux-token-put");
    let src = local.join("src");
    std::fs::write(&src, pattern(20 * 1024 * 1024, 5)).unwrap();
    let token = Token::new();
    let view = token.view(&conn);
    let mut c = CancelFromElsewhere {
        token: SendToken(token.0),
        calls: 0,
    };
    let r = put_full(
        &view,
        &src,
        dst.to_str().unwrap(),
        progress_to(cancel_from_elsewhere, &mut c),
        true,
        false,
        std::ptr::null(),
    );
    assert_fail(r, PSFTP_E_CANCELLED, &[]);
    // A cancelled call sends its cleanup (CLOSE, REMOVE of the part file)
    // without waiting for the replies; the server runs it before this
    // later request of the connection.
    assert_eq!(stat(&conn, dst.to_str().unwrap()).unwrap().size, 11);
    assert_eq!(std::fs::read(&dst).unwrap(), b"old content");
    assert_eq!(file_names(&remote), ["dst"]);
}

/// On a frozen link a cancelled call cannot see its token while it waits
/// in the read of its own reply; psftp_interrupt ends it, and closing the
/// connection afterwards returns.
#[test]
fn a_cancelled_call_on_a_frozen_link_ends_with_the_interrupt() {
    let relay = common::relay::Relay::start(server().port);
    let rdir = remote_scratch("mux-frozen");
    put_remote_file(&rdir.join("f"), &pattern(1 << 20, 1));
    let opts = Opts::new(None); // no timeout: only the interrupt can end it
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    let mut login = Login::password(server());
    login.port = relay.port;
    let conn = login.connect(&opts).unwrap();
    let token = Token::new();
    let view = token.view(&conn);
    let shared = Shared(view.0);
    let local = local_scratch("mux-frozen");
    relay.freeze();
    let (tx, rx) = mpsc::channel();
    let (src, dst) = (rdir.join("f"), local.join("f"));
    let t = std::thread::spawn(move || {
        let r = shared.with(|c| get(c, src.to_str().unwrap(), &dst));
        tx.send(r.map_err(|f| f.code)).unwrap();
    });
    std::thread::sleep(Duration::from_millis(300));
    check(psftp::capi::cancel::psftp_cancel_token_cancel(token.0)).unwrap();
    let early = rx.recv_timeout(Duration::from_millis(700));
    psftp_interrupt(conn.0);
    let r = match early {
        Ok(r) => r,
        Err(_) => rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the interrupt ends the call"),
    };
    t.join().unwrap();
    eprintln!("early: {early:?}, result {r:?}");
    assert_eq!(r, Err(PSFTP_E_CANCELLED));
    drop(view);
    drop(conn); // psftp_close returns
    relay.thaw();
}

/// psftp_execute uses the session outside the SFTP channel with blocking
/// calls while other threads' calls read the channel in non-blocking mode
/// (they wait for the socket themselves, issue 17): it runs alone on the
/// session, and both give the right answers.
#[test]
fn execute_runs_while_another_thread_transfers_on_the_connection() {
    let conn = connect();
    let shared = Shared(conn.0);
    let remote = remote_scratch("mux-exec");
    let data = pattern(48 * 1024 * 1024 + 3, 9);
    let src = remote.join("big");
    put_remote_file(&src, &data);
    let local = local_scratch("mux-exec");
    let (running, started) = mpsc::channel();
    std::thread::scope(|s| {
        let (src, local, data) = (&src, &local, &data);
        s.spawn(move || {
            shared.with(|conn| {
                for round in 0..3 {
                    let _ = running.send(());
                    let dst = local.join(format!("big{round}"));
                    get(conn, src.to_str().unwrap(), &dst).unwrap();
                    assert!(std::fs::read(&dst).unwrap() == *data, "get {round}");
                }
            })
        });
        started.recv().unwrap();
        for i in 0..20 {
            let cmd = std::ffi::CString::new(format!("echo exec{i}")).unwrap();
            let mut lines = std::ptr::null_mut();
            let mut status = -1;
            check(unsafe { psftp_execute(conn.0, cmd.as_ptr(), &mut lines, &mut status) })
                .unwrap_or_else(|f| panic!("execute {i} during a get: {f:?}"));
            assert_eq!(take_strarray(lines), [format!("exec{i}\n")]);
            assert_eq!(status, 0);
        }
    });
}

/// A token cancelled while another call's thread is reading one of the
/// cancelled call's replies (the race the review found: the reply landed
/// in the cancelled port's mailbox and its cleanup took it for its own
/// reply, which broke the link for every call). Over many rounds and
/// cancel times, the other get stays byte-exact and the connection usable.
#[test]
fn cancelling_one_of_two_busy_gets_never_breaks_the_connection() {
    let conn = connect();
    let remote = remote_scratch("mux-cancel-race");
    let data = pattern(16 * 1024 * 1024, 6);
    let src = remote.join("src");
    put_remote_file(&src, &data);
    let local = local_scratch("mux-cancel-race");
    let token = Token::new();
    let view = token.view(&conn);
    for round in 0..30u64 {
        check(psftp::capi::cancel::psftp_cancel_token_reset(token.0)).unwrap();
        let t = SendToken(token.0);
        let shared = Shared(conn.0);
        let cancelled_dst = local.join(format!("cancelled{round}"));
        std::thread::scope(|s| {
            let other = s.spawn(|| {
                shared.with(|conn| {
                    let dst = local.join("other");
                    get(conn, src.to_str().unwrap(), &dst).unwrap();
                    std::fs::read(&dst).unwrap()
                })
            });
            s.spawn(move || {
                let t = t;
                std::thread::sleep(std::time::Duration::from_millis(2 + round * 7 % 40));
                psftp::capi::cancel::psftp_cancel_token_cancel(t.0)
            });
            let r = get(&view, src.to_str().unwrap(), &cancelled_dst);
            if let Err(f) = &r {
                assert_eq!(f.code, PSFTP_E_CANCELLED, "round {round}: {}", f.msg);
            }
            assert!(
                other.join().unwrap() == data,
                "round {round}: the other get"
            );
        });
        let size = stat(&conn, src.to_str().unwrap()).unwrap().size;
        assert_eq!(
            size,
            data.len() as u64,
            "round {round}: the connection goes on"
        );
        let _ = std::fs::remove_file(&cancelled_dst);
    }
}

/// Review finding 2: a remote command that stays silent (`sleep 3`) no
/// longer holds the session: stats from another thread on the same
/// connection keep completing while it runs, and it still answers right.
#[test]
fn stats_keep_completing_during_a_silent_execute() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let conn = connect();
    let shared = Shared(conn.0);
    let finished = AtomicBool::new(false);
    let home = server().var("PSFTP_TEST_HOME").to_string();
    let (during, slowest) = std::thread::scope(|s| {
        let finished = &finished;
        let exec = s.spawn(move || {
            shared.with(|conn| {
                let cmd = std::ffi::CString::new("sleep 3; echo done").unwrap();
                let mut lines = std::ptr::null_mut();
                let mut status = -1;
                let r =
                    check(unsafe { psftp_execute(conn.0, cmd.as_ptr(), &mut lines, &mut status) });
                finished.store(true, Ordering::SeqCst);
                r.unwrap();
                (take_strarray(lines), status)
            })
        });
        // Well into the command (it has certainly begun), then stats.
        std::thread::sleep(Duration::from_secs(1));
        let (mut during, mut slowest) = (0, Duration::ZERO);
        while !finished.load(Ordering::SeqCst) {
            let t = std::time::Instant::now();
            stat(&conn, &home).unwrap();
            slowest = slowest.max(t.elapsed());
            if !finished.load(Ordering::SeqCst) {
                during += 1;
            }
        }
        let (lines, status) = exec.join().unwrap();
        assert_eq!((lines, status), (vec!["done\n".to_string()], 0));
        (during, slowest)
    });
    eprintln!("{during} stats completed during a silent execute, slowest {slowest:?}");
    assert!(during > 0, "no stat completed while the command ran");
    // The connection goes on after it.
    stat(&conn, &home).unwrap();
}

/// execute is bounded by pysftp's timeout (not by the stall timeout): a
/// command silent for longer ends with TIMEOUT naming the timeout, and
/// the connection goes on (the command's stall is not the link's).
#[test]
fn a_silent_execute_ends_at_pysftps_timeout_and_the_connection_goes_on() {
    let conn = connect();
    check(psftp_set_timeout(conn.0, 1.0)).unwrap();
    let cmd = std::ffi::CString::new("sleep 4; echo late").unwrap();
    let mut lines = std::ptr::null_mut();
    let mut status = -1;
    let t = std::time::Instant::now();
    let r = check(unsafe { psftp_execute(conn.0, cmd.as_ptr(), &mut lines, &mut status) });
    eprintln!("execute ended after {:?}", t.elapsed());
    assert_fail(r, PSFTP_E_TIMEOUT, &["sleep 4", "psftp_set_timeout"]);
    let home = server().var("PSFTP_TEST_HOME").to_string();
    stat(&conn, &home).unwrap();
    let cmd = std::ffi::CString::new("echo again").unwrap();
    check(unsafe { psftp_execute(conn.0, cmd.as_ptr(), &mut lines, &mut status) }).unwrap();
    assert_eq!(
        (take_strarray(lines), status),
        (vec!["again\n".to_string()], 0)
    );
}
