//! Issue 17: a name whose first address is a black hole and whose second
//! is good connects through the second well within the connect timeout
//! (RFC 8305 Happy Eyeballs), in a network namespace this test makes: the
//! name is given its two addresses by /etc/netns/<ns>/hosts (what
//! `ip netns exec` shows as /etc/hosts; the machine's is never touched),
//! the black hole is a route into a dummy interface inside the namespace,
//! and the good address is a veth link to a forwarder in front of the test
//! sshd. The client is this test again, run with `ip netns exec`.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const NAME: &str = "eyeballs.psftp.test";
const BLACK_HOLE: &str = "192.0.2.7";

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?} failed");
}

/// The namespace and its files, removed on drop.
struct Namespace {
    name: String,
    etc: PathBuf,
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(&self.etc);
        // /etc/netns itself, unless someone else's namespace uses it.
        let _ = std::fs::remove_dir("/etc/netns");
    }
}

/// A 198.19.N.0/30 no route of this machine uses yet.
fn free_net() -> u8 {
    let routes = Command::new("ip")
        .args(["-4", "route", "show"])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&routes.stdout).into_owned();
    let start = (std::process::id() % 200) as u8;
    (0..=255u8)
        .map(|i| start.wrapping_add(i))
        .find(|n| !routes.contains(&format!("198.19.{n}.")))
        .expect("a free 198.19.N.0/30")
}

fn make_namespace() -> (Namespace, String, String) {
    let pid = std::process::id();
    let ns = Namespace {
        name: format!("psftpe-{pid}"),
        etc: PathBuf::from(format!("/etc/netns/psftpe-{pid}")),
    };
    let n = free_net();
    let (host_ip, ns_ip) = (format!("198.19.{n}.1"), format!("198.19.{n}.2"));
    let (outer, inner) = (format!("pe{pid}o"), format!("pe{pid}i"));
    ip(&["netns", "add", &ns.name]);
    ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
    ip(&[
        "link", "add", &outer, "type", "veth", "peer", "name", &inner, "netns", &ns.name,
    ]);
    ip(&["addr", "add", &format!("{host_ip}/30"), "dev", &outer]);
    ip(&["link", "set", &outer, "up"]);
    ip(&[
        "-n",
        &ns.name,
        "addr",
        "add",
        &format!("{ns_ip}/30"),
        "dev",
        &inner,
    ]);
    ip(&["-n", &ns.name, "link", "set", &inner, "up"]);
    // The black hole: SYNs to it go out of a veth link whose other end
    // (in the namespace too, forwarding off) drops them; a static
    // neighbour entry spares the ARP that would fail after seconds.
    ip(&[
        "-n", &ns.name, "link", "add", "hole", "type", "veth", "peer", "name", "holepeer",
    ]);
    ip(&["-n", &ns.name, "link", "set", "hole", "up"]);
    ip(&["-n", &ns.name, "link", "set", "holepeer", "up"]);
    ip(&[
        "-n",
        &ns.name,
        "route",
        "add",
        &format!("{BLACK_HOLE}/32"),
        "dev",
        "hole",
    ]);
    ip(&[
        "-n",
        &ns.name,
        "neigh",
        "add",
        BLACK_HOLE,
        "lladdr",
        "02:00:00:00:00:07",
        "dev",
        "hole",
        "nud",
        "permanent",
    ]);
    std::fs::create_dir_all(&ns.etc).unwrap();
    std::fs::write(
        ns.etc.join("hosts"),
        format!("127.0.0.1 localhost\n{BLACK_HOLE} {NAME}\n{host_ip} {NAME}\n"),
    )
    .unwrap();
    // RFC 6724 would sort by prefix; make the black hole come first, as a
    // stale DNS record would (the default table plus one line).
    std::fs::write(
        ns.etc.join("gai.conf"),
        format!(
            "precedence ::1/128 50\nprecedence ::/0 40\nprecedence 2002::/16 30\n\
             precedence ::/96 20\nprecedence ::ffff:0:0/96 10\n\
             precedence ::ffff:{BLACK_HOLE}/128 100\n"
        ),
    )
    .unwrap();
    (ns, host_ip, ns_ip)
}

/// Forwards connections on `addr` to the test sshd; counts them.
fn forward(addr: &str, target: u16) -> u16 {
    let listener = TcpListener::bind((addr, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || pipe(c2, s2));
            std::thread::spawn(move || pipe(server, client));
        }
    });
    port
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// The client's half, run by the test itself under `ip netns exec`
/// (PSFTP_EYEBALLS_CHILD set): resolve, probe the first address, connect
/// through psftp's C API and say how long it took.
fn child(port: u16) {
    use std::net::ToSocketAddrs;
    let env = |k: &str| std::env::var(k).unwrap();
    let order: Vec<String> = (NAME, port)
        .to_socket_addrs()
        .unwrap()
        .map(|a| a.ip().to_string())
        .collect();
    println!("resolved {}", order.join(" "));
    let first = format!("{}:{port}", order[0]).parse().unwrap();
    match TcpStream::connect_timeout(&first, Duration::from_secs(1)) {
        Ok(_) => println!("the first address answered"),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            println!("the first address is silent")
        }
        Err(e) => println!("the first address failed: {e}"),
    }
    let opts = Opts::new(None);
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    check(psftp_cnopts_set_connect_timeout(opts.0, 10.0)).unwrap();
    let (user, password) = (env("PSFTP_EYEBALLS_USER"), env("PSFTP_EYEBALLS_PASSWORD"));
    let login = Login {
        host: NAME,
        port,
        user: Some(&user),
        password: Some(&password),
        key: None,
        passphrase: None,
        default_path: None,
    };
    let t = Instant::now();
    let conn = login.connect(&opts).unwrap();
    let took = t.elapsed().as_secs_f64();
    let n = listdir(&conn, ".").unwrap().len();
    println!("connected in {took:.3} s; home has {n} entries");
}

#[test]
fn a_black_holed_first_address_hands_over_to_the_second_within_the_deadline() {
    if let Ok(port) = std::env::var("PSFTP_EYEBALLS_CHILD") {
        return child(port.parse().unwrap());
    }
    let s = server();
    let (ns, host_ip, _ns_ip) = make_namespace();
    let port = forward(&host_ip, s.port);
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(&exe)
        .args([
            "--exact",
            "a_black_holed_first_address_hands_over_to_the_second_within_the_deadline",
            "--nocapture",
        ])
        .env("PSFTP_EYEBALLS_CHILD", port.to_string())
        .env("PSFTP_EYEBALLS_USER", s.user())
        .env("PSFTP_EYEBALLS_PASSWORD", s.password())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(out.status.success(), "the client failed: {stdout}{stderr}");
    // The resolver put the black hole first, and it swallows SYNs (no
    // quick refusal to move on from): the race was needed.
    assert!(stdout.contains("the first address is silent"), "{stdout}");
    assert!(
        stdout.contains(&format!("resolved {BLACK_HOLE} {host_ip}")),
        "{stdout}"
    );
    let took: f64 = stdout
        .split("connected in ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|t| t.parse().ok())
        .expect("the connect time");
    // One attempt delay (250 ms) and a login, not the black hole's 10 s
    // connect timeout first.
    assert!(took < 8.0, "connected after {took} s");
    drop(ns);
}
