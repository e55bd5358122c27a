//! A server that dies mid-transfer, and psftp_interrupt on a stalled link.
//! These tests count this process's file descriptors, so they run one at a
//! time in their own test binary.

mod common;

use common::relay::Relay;
use common::*;
use psftp::capi::tree::*;
use std::ffi::{c_int, c_void};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn login(s: &Server) -> Result<Conn, Fail> {
    Login::password(s).connect(&Opts::trusting(s))
}

#[test]
fn a_server_killed_mid_transfer_is_connection_lost_and_leaks_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = std::env::temp_dir().join(format!("psftp-dead-{}", std::process::id()));
    let s = Server::spawn(&dir);
    // In this server's home: it has an account of its own.
    let rdir = s.scratch("dead");
    let data = pattern(32 * 1024 * 1024, 9);
    s.put_file(&rdir.join("big"), &data);
    // The upload target lives apart, so the get_r below sees only the
    // tree it is meant to copy.
    let updir = s.scratch("deadput");
    s.put_file(&updir.join("keep"), b"old remote");
    for i in 0..40 {
        s.put_file(&rdir.join(format!("t{i}")), &pattern(100_000, i));
    }
    let ldir = local_scratch("dead");
    std::fs::write(ldir.join("big"), b"old local").unwrap();
    std::fs::write(ldir.join("up"), &data).unwrap();
    let kill = || s.kill();
    let baseline = open_fds();

    // get
    let conn = login(&s).unwrap();
    let mut k = OnFirst::new(&kill);
    let remote = rdir.join("big");
    let local = ldir.join("big");
    assert_fail(
        get_full(
            &conn,
            remote.to_str().unwrap(),
            &local,
            k.progress(),
            false,
            std::ptr::null(),
        ),
        PSFTP_E_CONNECTION_LOST,
        &["lost"],
    );
    assert_eq!(std::fs::read(ldir.join("big")).unwrap(), b"old local");
    drop(conn);
    assert_eq!(open_fds(), baseline, "no descriptor leaked");
    s.restart();

    // put
    let conn = login(&s).expect("a new connect works after the restart");
    let mut k = OnFirst::new(&kill);
    let remote = updir.join("keep");
    let progress = k.progress();
    assert_fail(
        put_full(
            &conn,
            &ldir.join("up"),
            remote.to_str().unwrap(),
            progress,
            true,
            false,
            std::ptr::null(),
        ),
        PSFTP_E_CONNECTION_LOST,
        &[],
    );
    assert_eq!(std::fs::read(updir.join("keep")).unwrap(), b"old remote");
    drop(conn);
    assert_eq!(open_fds(), baseline);
    s.restart();

    // get_r on three connections
    let conn = login(&s).unwrap();
    let mut xo = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut xo) }).unwrap();
    check(psftp_transfer_opts_set_parallelism(xo, 3)).unwrap();
    check(psftp_transfer_opts_set_on_error(
        xo,
        PSFTP_ON_ERROR_CONTINUE,
    ))
    .unwrap();
    let mut k = OnFirst::new(&kill);
    let dest = ldir.join("tree");
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(rdir.to_str().unwrap()).as_ptr(),
            c(dest.to_str().unwrap()).as_ptr(),
            false,
            Some(on_first_tree),
            &mut k as *mut _ as *mut c_void,
            xo,
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_CONNECTION_LOST, &[]);
    psftp_transfer_opts_free(xo);
    let landed = dest.join(".").join(rdir.strip_prefix("/").unwrap());
    for e in std::fs::read_dir(&landed).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            !name.contains(".psftp.part"),
            "no partial file left: {name}"
        );
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(rdir.join(&name)).unwrap(),
            "{name} is whole"
        );
    }
    drop(conn);
    assert_eq!(open_fds(), baseline);
    s.restart();
    let conn = login(&s).unwrap();
    let names = listdir(&conn, rdir.to_str().unwrap()).unwrap();
    assert_eq!(names.len(), 41, "nothing was added: {names:?}");
    // The killed upload could not remove its temporary file (if it got to
    // create one); a resumed put would continue it, a plain one truncates it.
    let up = listdir(&conn, updir.to_str().unwrap()).unwrap();
    assert!(
        up.iter().all(|n| n == "keep" || n == ".keep.psftp.part"),
        "{up:?}"
    );
    s.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

fn interrupt_after(conn: &Conn, relay: &Relay, delay: Duration) -> std::thread::JoinHandle<()> {
    let raw = conn.0 as usize;
    relay.freeze();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        psftp_interrupt(raw as *mut psftp_conn);
    })
}

#[test]
fn psftp_interrupt_aborts_a_stalled_call_from_another_thread() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("interrupt");
    for i in 0..30 {
        put_remote_file(&rdir.join(format!("f{i}")), &pattern(200_000, i));
    }
    let opts = Opts::new(None); // no timeout: only the interrupt can end it
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    let mut login = Login::password(server());
    login.port = relay.port;
    let ldir = local_scratch("interrupt");

    let conn = login.connect(&opts).unwrap();
    let t = Instant::now();
    let waker = interrupt_after(&conn, &relay, Duration::from_millis(500));
    assert_fail(
        listdir(&conn, rdir.to_str().unwrap()),
        PSFTP_E_CANCELLED,
        &["interrupted"],
    );
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "took {:?}",
        t.elapsed()
    );
    waker.join().unwrap();
    assert_fail(listdir(&conn, "."), PSFTP_E_CANCELLED, &["interrupted"]);
    drop(conn);
    relay.thaw();

    // A tree operation: the extra connections stop too.
    let conn = login.connect(&opts).unwrap();
    let mut xo = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut xo) }).unwrap();
    check(psftp_transfer_opts_set_parallelism(xo, 3)).unwrap();
    let raw = conn.0 as usize;
    let freeze_then_interrupt = || {
        relay.freeze();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            psftp_interrupt(raw as *mut psftp_conn);
        });
    };
    let mut k = OnFirst::new(&freeze_then_interrupt);
    let t = Instant::now();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(rdir.to_str().unwrap()).as_ptr(),
            c(ldir.to_str().unwrap()).as_ptr(),
            false,
            Some(on_first_tree),
            &mut k as *mut _ as *mut c_void,
            xo,
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_CANCELLED, &["interrupt"]);
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "took {:?}",
        t.elapsed()
    );
    psftp_transfer_opts_free(xo);
    relay.thaw();
    psftp_interrupt(std::ptr::null_mut());
}

/// Stops the operation from its progress callback once the link is frozen,
/// then interrupts from another thread, as a Go context or JS AbortSignal
/// does when the gentle stop does not end the call.
struct StopThenInterrupt<'a> {
    relay: &'a Relay,
    conn: usize,
    calls: usize,
}

unsafe extern "C" fn stop_then_interrupt(_p: *const psftp_tree_progress, ud: *mut c_void) -> c_int {
    let s = &mut *(ud as *mut StopThenInterrupt<'_>);
    s.calls += 1;
    if s.calls == 1 {
        s.relay.freeze();
        let raw = s.conn;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            psftp_interrupt(raw as *mut psftp_conn);
        });
    }
    1 // stop
}

#[test]
fn an_interrupt_after_a_stuck_stop_still_ends_a_tree_operation() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let relay = Relay::start(server().port);
    let ldir = local_scratch("stopint");
    for i in 0..4 {
        std::fs::write(ldir.join(format!("f{i}")), pattern(24 * 1024 * 1024, i)).unwrap();
    }
    // A long timeout only turns a regression into a failure (TIMEOUT)
    // instead of a hang; the interrupt must end the call long before.
    let opts = Opts::new(None);
    check(psftp_cnopts_set_timeout(opts.0, 30.0)).unwrap();
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    let mut login = Login::password(server());
    login.port = relay.port;
    let conn = login.connect(&opts).unwrap();
    let mut xo = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut xo) }).unwrap();
    check(psftp_transfer_opts_set_parallelism(xo, 2)).unwrap();
    let mut st = StopThenInterrupt {
        relay: &relay,
        conn: conn.0 as usize,
        calls: 0,
    };
    let dest = remote_scratch("stopint");
    let t = Instant::now();
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            c(ldir.to_str().unwrap()).as_ptr(),
            c(dest.to_str().unwrap()).as_ptr(),
            true,
            false,
            Some(stop_then_interrupt),
            &mut st as *mut _ as *mut c_void,
            xo,
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_USER, &["progress callback"]);
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
    psftp_transfer_opts_free(xo);
    relay.thaw();
}
