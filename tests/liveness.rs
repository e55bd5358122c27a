//! Issue 17: the stall timeout (on by default) and dead-peer detection by
//! keepalives that ask for a reply, against the real sshd behind a relay
//! that goes silent (stops forwarding, keeps TCP up: the kernel still ACKs,
//! as for a hung sshd or a middlebox that dropped the flow's state).

mod common;

use common::relay::Relay;
use common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn relayed<'a>(relay: &Relay) -> Login<'a> {
    Login {
        port: relay.port,
        ..Login::password(server())
    }
}

/// Default options, with host-key checking off (the relays' ports are not
/// in known_hosts).
fn unchecked() -> Opts {
    let o = Opts::new(None);
    check(unsafe { psftp_cnopts_set_hostkeys(o.0, std::ptr::null()) }).unwrap();
    o
}

fn opts_with(stall: f64, keepalive: i32, count: i32) -> Opts {
    let o = unchecked();
    check(psftp_cnopts_set_stall_timeout(o.0, stall)).unwrap();
    check(psftp_cnopts_set_keepalive(o.0, keepalive)).unwrap();
    if count > 0 {
        check(psftp_cnopts_set_keepalive_count_max(o.0, count)).unwrap();
    }
    o
}

#[test]
fn a_relay_that_goes_silent_ends_a_get_after_the_default_stall_timeout() {
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("stall-default");
    put_remote_file(&rdir.join("big"), &pattern(64 * 1024 * 1024, 3));
    let ldir = local_scratch("stall-default");
    std::fs::write(ldir.join("big"), b"old").unwrap();
    // Default options: nothing about timeouts set.
    let conn = relayed(&relay).connect(&unchecked()).unwrap();
    let freeze = || relay.freeze();
    let mut k = OnFirst::new(&freeze);
    let t = Instant::now();
    let remote = rdir.join("big");
    assert_fail(
        get_full(
            &conn,
            remote.to_str().unwrap(),
            &ldir.join("big"),
            k.progress(),
            false,
            std::ptr::null(),
        ),
        PSFTP_E_TIMEOUT,
        &["nothing moved for 60 s", "the stall timeout"],
    );
    let took = t.elapsed();
    eprintln!("default stall timeout ended the get after {took:?}");
    assert!(took >= Duration::from_secs(59), "took {took:?}");
    assert_eq!(std::fs::read(ldir.join("big")).unwrap(), b"old");
    relay.thaw();
}

#[test]
fn a_short_stall_timeout_ends_a_silent_call_but_not_a_slow_moving_transfer() {
    let rdir = remote_scratch("stall-short");
    let data = pattern(1024 * 1024, 5);
    put_remote_file(&rdir.join("f"), &data);
    let ldir = local_scratch("stall-short");
    let opts = opts_with(1.0, 0, 0);

    // 1 MiB at ~256 KiB/s: four seconds in all, never a second without a
    // byte. The stall timeout is not a limit on the call.
    let slow = Throttle::start(server().port, 16 * 1024, Duration::from_millis(60));
    let conn = Login {
        port: slow.port,
        ..Login::password(server())
    }
    .connect(&opts)
    .unwrap();
    let t = Instant::now();
    get(&conn, rdir.join("f").to_str().unwrap(), &ldir.join("f")).unwrap();
    let took = t.elapsed();
    eprintln!("1 MiB through the throttle took {took:?} with a 1 s stall timeout");
    assert!(
        took > Duration::from_secs(2),
        "the throttle throttled: {took:?}"
    );
    assert_eq!(std::fs::read(ldir.join("f")).unwrap(), data);
    drop(conn);

    // Silence: one second, then Timeout, and the connection is done.
    let relay = Relay::start(server().port);
    let conn = relayed(&relay).connect(&opts).unwrap();
    relay.freeze();
    let t = Instant::now();
    assert_fail(
        listdir(&conn, rdir.to_str().unwrap()),
        PSFTP_E_TIMEOUT,
        &["nothing moved for 1 s"],
    );
    eprintln!(
        "a 1 s stall timeout ended a silent listdir after {:?}",
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_fail(listdir(&conn, "."), PSFTP_E_CONNECTION_LOST, &["unusable"]);
    relay.thaw();

    // pysftp's timeout, shorter than the stall timeout, wins and says so.
    let conn = relayed(&relay).connect(&unchecked()).unwrap();
    check(psftp_set_timeout(conn.0, 1.5)).unwrap();
    relay.freeze();
    assert_fail(
        listdir(&conn, "."),
        PSFTP_E_TIMEOUT,
        &["nothing moved for 1.5 s (the timeout, psftp_set_timeout)"],
    );
    relay.thaw();

    // 0 turns it off: a silent call still waits after twice the limit.
    let opts = opts_with(0.0, 0, 0);
    let conn = relayed(&relay).connect(&opts).unwrap();
    relay.freeze();
    let raw = conn.0 as usize;
    let waker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        psftp_interrupt(raw as *mut psftp_conn);
    });
    assert_fail(listdir(&conn, "."), PSFTP_E_CANCELLED, &["interrupted"]);
    waker.join().unwrap();
    relay.thaw();
}

#[test]
fn a_server_that_stops_answering_keepalives_is_connection_lost_within_interval_x_count() {
    let relay = Relay::start(server().port);
    // The stall timeout off: only the keepalives can tell.
    let opts = opts_with(0.0, 1, 3);

    // A live server answers them: idle for well past interval x count,
    // the connection is fine.
    let conn = relayed(&relay).connect(&opts).unwrap();
    std::thread::sleep(Duration::from_secs(6));
    listdir(&conn, ".").unwrap();

    // Silent while idle: the next call says so at once.
    relay.freeze();
    std::thread::sleep(Duration::from_secs(5));
    let t = Instant::now();
    assert_fail(
        listdir(&conn, "."),
        PSFTP_E_CONNECTION_LOST,
        &["answered no keepalive", "keepalive every 1 s, count max 3"],
    );
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    drop(conn);
    relay.thaw();

    // Silent during a call: the blocked call ends.
    let conn = relayed(&relay).connect(&opts).unwrap();
    relay.freeze();
    let t = Instant::now();
    assert_fail(
        listdir(&conn, "."),
        PSFTP_E_CONNECTION_LOST,
        &["answered no keepalive"],
    );
    let took = t.elapsed();
    eprintln!("dead peer detected after {took:?} (interval 1 s, count 3)");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    relay.thaw();
}

#[test]
fn keepalive_count_max_is_checked() {
    let o = Opts::trusting(server());
    assert_fail(
        check(psftp_cnopts_set_keepalive_count_max(o.0, 0)),
        PSFTP_E_INVALID_ARG,
        &["count"],
    );
    assert_fail(
        check(psftp_cnopts_set_stall_timeout(o.0, -1.0)),
        PSFTP_E_INVALID_ARG,
        &["seconds"],
    );
}

/// A relay that passes the server's bytes to the client `chunk` at a time,
/// one chunk per `every`: a slow link that never stops.
struct Throttle {
    port: u16,
}

impl Throttle {
    fn start(target: u16, chunk: usize, every: Duration) -> Throttle {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || copy(c2, s2, usize::MAX, Duration::ZERO));
                std::thread::spawn(move || copy(server, client, chunk, every));
            }
        });
        Throttle { port }
    }
}

fn copy(mut from: TcpStream, mut to: TcpStream, chunk: usize, every: Duration) {
    let mut buf = vec![0u8; chunk.min(64 * 1024)];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        std::thread::sleep(every);
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[test]
fn the_connect_timeout_bounds_the_whole_connect_not_each_step() {
    // The hostile server's "slowauth" takes 1.5 s to list the methods and
    // 1.5 s to accept the password: every step is within 2.5 s, the
    // login is not.
    let connect = |limit: f64| {
        let opts = unchecked();
        check(psftp_cnopts_set_connect_timeout(opts.0, limit)).unwrap();
        let login = Login {
            port: hostile_server(),
            user: Some("slowauth"),
            password: Some("any"),
            ..Login::password(server())
        };
        let t = Instant::now();
        let r = login.connect(&opts);
        (r, t.elapsed())
    };
    let (r, took) = connect(2.5);
    assert_fail(r, PSFTP_E_TIMEOUT, &["connect timeout (2.5 s)"]);
    eprintln!("a 2.5 s connect deadline ended a slow login after {took:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let (r, took) = connect(10.0);
    let conn = r.unwrap();
    eprintln!("the same login took {took:?} with a 10 s deadline");
    listdir(&conn, "/").unwrap();
}

#[test]
fn ssh_configs_server_alive_options_detect_a_dead_peer() {
    let relay = Relay::start(server().port);
    let dir = local_scratch("alive-config");
    let config = dir.join("config");
    std::fs::write(
        &config,
        "Host *\n  ServerAliveInterval 1\n  ServerAliveCountMax 2\n",
    )
    .unwrap();
    let opts = opts_with(0.0, 0, 0);
    // opts_with set keepalive 0 as the caller's; start again without it.
    let opts = {
        drop(opts);
        let o = unchecked();
        check(psftp_cnopts_set_stall_timeout(o.0, 0.0)).unwrap();
        o
    };
    let path = c(config.to_str().unwrap());
    check(unsafe { psftp_cnopts_set_ssh_config(opts.0, true, path.as_ptr()) }).unwrap();
    let conn = relayed(&relay).connect(&opts).unwrap();
    // Idle and alive past interval x count.
    std::thread::sleep(Duration::from_secs(4));
    listdir(&conn, ".").unwrap();
    relay.freeze();
    std::thread::sleep(Duration::from_secs(4));
    assert_fail(
        listdir(&conn, "."),
        PSFTP_E_CONNECTION_LOST,
        &["answered no keepalive", "keepalive every 1 s, count max 2"],
    );
    relay.thaw();
}

/// A connection handle shared between threads (psftp_conn is
/// thread-safe); the test keeps the owning `Conn` alive meanwhile.
#[derive(Clone, Copy)]
struct Shared(*mut psftp_conn);
unsafe impl Send for Shared {}

/// Start `calls` listdirs at once on one connection behind a relay that
/// then goes silent: one of them reads the link, the others wait for its
/// reading (issue 18's multiplexer). Every call must end, with one of
/// `codes`, well within `limit`; returns the codes and messages.
fn silent_link_ends_every_waiting_call(opts: &Opts, limit: Duration) -> Vec<(i32, String)> {
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("stall-many");
    let conn = relayed(&relay).connect(opts).unwrap();
    listdir(&conn, rdir.to_str().unwrap()).unwrap();
    relay.freeze();
    let shared = Shared(conn.0);
    let (done, results) = std::sync::mpsc::channel();
    let t = Instant::now();
    for _ in 0..4 {
        let done = done.clone();
        let dir = rdir.to_str().unwrap().to_string();
        std::thread::spawn(move || {
            let shared = shared;
            let borrowed = Conn(shared.0);
            let r = listdir(&borrowed, &dir);
            std::mem::forget(borrowed);
            let _ = done.send(r.map(|_| ()).map_err(|f| (f.code, f.msg)));
        });
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        let r = results
            .recv_timeout(limit)
            .unwrap_or_else(|_| panic!("a call still waits {limit:?} after the link went silent"));
        got.push(r.expect_err("a call on a silent link succeeded"));
    }
    eprintln!(
        "4 calls on a silent link all ended after {:?}: {got:?}",
        t.elapsed()
    );
    relay.thaw();
    got
}

#[test]
fn a_silent_link_ends_the_calls_waiting_for_another_calls_read_too() {
    // The stall timeout: the reading call ends with Timeout and so does
    // every call waiting for its reading (the stall is theirs too).
    let got = silent_link_ends_every_waiting_call(&opts_with(1.0, 0, 0), Duration::from_secs(15));
    for (code, msg) in &got {
        assert!(
            *code == PSFTP_E_TIMEOUT
                || (*code == PSFTP_E_CONNECTION_LOST && msg.contains("unusable")),
            "code {code}: {msg}"
        );
    }
    let timeouts = got.iter().filter(|(c, _)| *c == PSFTP_E_TIMEOUT).count();
    assert!(timeouts >= 2, "the waiting calls end with Timeout: {got:?}");
    for (code, msg) in &got {
        if *code == PSFTP_E_TIMEOUT {
            assert!(msg.contains("nothing moved for 1 s"), "{msg}");
        }
    }

    // Keepalives unanswered (stall timeout off): ConnectionLost for all.
    let got = silent_link_ends_every_waiting_call(&opts_with(0.0, 1, 3), Duration::from_secs(15));
    for (code, msg) in &got {
        assert_eq!(*code, PSFTP_E_CONNECTION_LOST, "{msg}");
        assert!(msg.contains("answered no keepalive"), "{msg}");
    }
}
