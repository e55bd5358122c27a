//! A loopback TCP relay that delays each direction by a fixed time while
//! streaming at full speed: a stand-in for a WAN link (the kernel here has
//! no netem). Standard library only; built with `rustc -O` by bench/run.sh.
//!
//!   relay serve LISTEN_PORT TARGET_PORT DELAY_MS MAX_SECONDS
//!       listen on 127.0.0.1:LISTEN_PORT (0 picks one; the port is printed
//!       on the first line of stdout), forward every connection to
//!       127.0.0.1:TARGET_PORT, holding each chunk DELAY_MS in each
//!       direction (round trip = 2 x DELAY_MS). Exits after MAX_SECONDS.
//!   relay selftest DELAY_MS BYTES
//!       measure the relay alone: round trip of 1 byte (median of 20) and
//!       throughput of BYTES each way through it; prints one JSON line.
//!
//! Each direction: a reader thread stamps each chunk (up to 256 KiB) with
//! its due time and queues it (at most 64 MiB of them); a writer thread
//! sleeps until the chunk is due and writes it. The queue bound stands in
//! for a TCP window: a sender that fills it waits, as on a real link. It
//! counts bytes, not chunks: a bound of 64 chunks held only 64 small
//! reads (an SSH peer writing 32 KiB at a time: 2 MiB in flight, 100 MB/s
//! at a 20 ms round trip); 64 MiB carries 1.3 GB/s at 100 ms.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const CHUNK: usize = 256 * 1024;
/// Bytes queued per direction at most (the "window").
const QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// Bytes in a direction's queue, and a wake-up when they drop.
type Queued = Arc<(Mutex<usize>, Condvar)>;

fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = channel::<(Instant, Vec<u8>)>();
    let queued: Queued = Arc::new((Mutex::new(0), Condvar::new()));
    let reader_from = from.try_clone().expect("clone");
    let q = queued.clone();
    let writer = thread::spawn(move || write_side(rx, &mut to, &reader_from, &q));
    let mut buf = vec![0u8; CHUNK];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let (lock, cv) = &*queued;
                let mut bytes = lock.lock().unwrap();
                while *bytes >= QUEUE_BYTES {
                    bytes = cv.wait(bytes).unwrap();
                }
                *bytes += n;
                drop(bytes);
                if tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    // End of stream: the writer forwards the EOF once the queue drains.
    let _ = tx.send((Instant::now() + delay, Vec::new()));
    drop(tx);
    let _ = writer.join();
}

fn write_side(
    rx: Receiver<(Instant, Vec<u8>)>,
    to: &mut TcpStream,
    from: &TcpStream,
    queued: &Queued,
) {
    for (due, data) in rx {
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        if data.is_empty() {
            let _ = to.shutdown(Shutdown::Write);
            return;
        }
        if to.write_all(&data).is_err() {
            // The far side is gone: stop reading from the near side too.
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            *queued.0.lock().unwrap() = 0;
            queued.1.notify_all();
            return;
        }
        *queued.0.lock().unwrap() -= data.len();
        queued.1.notify_all();
    }
}

fn relay_conn(client: TcpStream, target_port: u16, delay: Duration) {
    let server = match TcpStream::connect(("127.0.0.1", target_port)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("relay: connect to target: {e}");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = thread::spawn(move || pipe(client, server, delay));
    pipe(s2, c2, delay);
    let _ = up.join();
}

fn serve(listener: TcpListener, target_port: u16, delay: Duration) {
    for conn in listener.incoming() {
        match conn {
            Ok(c) => {
                thread::spawn(move || relay_conn(c, target_port, delay));
            }
            Err(e) => eprintln!("relay: accept: {e}"),
        }
    }
}

fn bind(port: u16) -> TcpListener {
    TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| {
        eprintln!("relay: bind 127.0.0.1:{port}: {e}");
        std::process::exit(1)
    })
}

/// Test server for selftest: 'e' echoes bytes one at a time, 'u' + u64
/// reads that many bytes then answers one byte, 'd' + u64 sends them.
fn test_server(listener: TcpListener) {
    for conn in listener.incoming() {
        let mut s = match conn {
            Ok(s) => s,
            Err(_) => continue,
        };
        thread::spawn(move || {
            let _ = s.set_nodelay(true);
            let mut cmd = [0u8; 1];
            if s.read_exact(&mut cmd).is_err() {
                return;
            }
            match cmd[0] {
                b'e' => {
                    let mut b = [0u8; 1];
                    while s.read_exact(&mut b).is_ok() {
                        if s.write_all(&b).is_err() {
                            break;
                        }
                    }
                }
                b'u' | b'd' => {
                    let mut n = [0u8; 8];
                    if s.read_exact(&mut n).is_err() {
                        return;
                    }
                    let mut left = u64::from_le_bytes(n);
                    let mut buf = vec![0x5au8; CHUNK];
                    while left > 0 {
                        let k = left.min(CHUNK as u64) as usize;
                        let r = if cmd[0] == b'u' {
                            s.read(&mut buf[..k])
                        } else {
                            s.write(&buf[..k])
                        };
                        match r {
                            Ok(0) | Err(_) => return,
                            Ok(m) => left -= m as u64,
                        }
                    }
                    if cmd[0] == b'u' {
                        let _ = s.write_all(b"k");
                    } else {
                        let mut ack = [0u8; 1];
                        let _ = s.read_exact(&mut ack);
                    }
                }
                _ => {}
            }
        });
    }
}

fn selftest(delay: Duration, bytes: u64) {
    let target = bind(0);
    let target_port = target.local_addr().unwrap().port();
    thread::spawn(move || test_server(target));
    let relay = bind(0);
    let relay_port = relay.local_addr().unwrap().port();
    thread::spawn(move || serve(relay, target_port, delay));

    let connect = || {
        let s = TcpStream::connect(("127.0.0.1", relay_port)).expect("connect relay");
        s.set_nodelay(true).unwrap();
        s
    };
    // Round trip.
    let mut s = connect();
    s.write_all(b"e").unwrap();
    let mut rtts = Vec::new();
    let mut b = [0u8; 1];
    for _ in 0..20 {
        let t = Instant::now();
        s.write_all(b"x").unwrap();
        s.read_exact(&mut b).unwrap();
        rtts.push(t.elapsed().as_secs_f64());
    }
    rtts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rtt = rtts[rtts.len() / 2];
    drop(s);

    // Upload: time from the first byte to the server's answer, less one RTT.
    let mut s = connect();
    let t = Instant::now();
    s.write_all(b"u").unwrap();
    s.write_all(&bytes.to_le_bytes()).unwrap();
    let buf = vec![0xa5u8; CHUNK];
    let mut left = bytes;
    while left > 0 {
        let k = left.min(CHUNK as u64) as usize;
        s.write_all(&buf[..k]).unwrap();
        left -= k as u64;
    }
    s.read_exact(&mut b).unwrap();
    let up = (t.elapsed().as_secs_f64() - rtt).max(1e-9);
    drop(s);

    // Download.
    let mut s = connect();
    let t = Instant::now();
    s.write_all(b"d").unwrap();
    s.write_all(&bytes.to_le_bytes()).unwrap();
    let mut rbuf = vec![0u8; CHUNK];
    let mut left = bytes;
    while left > 0 {
        let n = s.read(&mut rbuf).unwrap();
        assert!(n > 0, "relay selftest: early EOF");
        left -= n as u64;
    }
    let down = (t.elapsed().as_secs_f64() - rtt).max(1e-9);
    s.write_all(b"k").unwrap();
    println!(
        "{{\"delay_ms\":{},\"rtt_seconds\":{:.6},\"bytes\":{},\"up_mb_s\":{:.1},\"down_mb_s\":{:.1}}}",
        delay.as_millis(),
        rtt,
        bytes,
        bytes as f64 / up / 1e6,
        bytes as f64 / down / 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize| -> u64 {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                eprintln!("usage: relay serve LISTEN_PORT TARGET_PORT DELAY_MS MAX_SECONDS | relay selftest DELAY_MS BYTES");
                std::process::exit(2)
            })
    };
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            let listener = bind(num(2) as u16);
            let target = num(3) as u16;
            let delay = Duration::from_millis(num(4));
            let max = Duration::from_secs(num(5));
            println!("{}", listener.local_addr().unwrap().port());
            std::io::stdout().flush().unwrap();
            thread::spawn(move || serve(listener, target, delay));
            thread::sleep(max);
            eprintln!("relay: lifetime of {} s is over, exiting", max.as_secs());
        }
        Some("selftest") => selftest(Duration::from_millis(num(2)), num(3)),
        _ => {
            num(usize::MAX);
        }
    }
}
