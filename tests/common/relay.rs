//! A TCP relay on 127.0.0.1 in front of the test sshd that can freeze the
//! link (stop forwarding, keep the sockets open) or cut it, and counts the
//! bytes the client sends and the connections made. It can also delay
//! every byte, to make loopback look like a long-distance link, and flip a
//! bit on the way to the client, as a faulty link or an attacker would.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Flags {
    frozen: AtomicBool,
    corrupt_next_down: AtomicBool,
    up_bytes: AtomicU64,
    down_bytes: AtomicU64,
    accepted: AtomicU64,
    conns: Mutex<Vec<TcpStream>>,
    /// Added to each direction: round trip = 2 x delay.
    delay: Duration,
    /// Bytes per second each connection may move towards its client
    /// (0: no limit), as a TCP window the kernel did not grow would allow.
    down_rate: u64,
}

pub struct Relay {
    pub port: u16,
    flags: Arc<Flags>,
}

impl Relay {
    pub fn start(target: u16) -> Relay {
        Relay::with_delay(target, Duration::ZERO)
    }

    /// A relay that holds each byte for `delay` in each direction.
    pub fn with_delay(target: u16, delay: Duration) -> Relay {
        Relay::with_delay_and_rate(target, delay, 0)
    }

    /// As `with_delay`, and each connection moves at most `down_rate`
    /// bytes per second towards its client.
    pub fn with_delay_and_rate(target: u16, delay: Duration, down_rate: u64) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let flags = Arc::new(Flags {
            delay,
            down_rate,
            ..Flags::default()
        });
        let f = flags.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                f.accepted.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                f.conns
                    .lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    f.clone(),
                    true,
                );
                pump(server, client, f.clone(), false);
            }
        });
        Relay { port, flags }
    }

    /// Stop forwarding in both directions; connections stay open.
    pub fn freeze(&self) {
        self.flags.frozen.store(true, Ordering::SeqCst);
    }

    /// Flip one bit in the next bytes sent from the server to a client.
    pub fn corrupt_next_down(&self) {
        self.flags.corrupt_next_down.store(true, Ordering::SeqCst);
    }

    pub fn thaw(&self) {
        self.flags.frozen.store(false, Ordering::SeqCst);
    }

    /// Close every connection made so far, as a dying server would.
    pub fn cut(&self) {
        for s in self.flags.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.flags.accepted.load(Ordering::SeqCst)
    }

    /// Bytes forwarded from clients to the server so far.
    pub fn bytes_up(&self) -> u64 {
        self.flags.up_bytes.load(Ordering::SeqCst)
    }

    /// Bytes forwarded from the server to clients so far.
    pub fn bytes_down(&self) -> u64 {
        self.flags.down_bytes.load(Ordering::SeqCst)
    }
}

fn pump(from: TcpStream, to: TcpStream, flags: Arc<Flags>, upstream: bool) {
    if flags.delay.is_zero() {
        std::thread::spawn(move || {
            forward(
                from,
                &mut |data| (&to).write_all(data).is_ok(),
                &flags,
                upstream,
            );
            let _ = to.shutdown(Shutdown::Write);
        });
        return;
    }
    // A delay line: the reader stamps each read, the writer sends it once
    // `delay` has passed, so bandwidth is not limited, only latency.
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    let delay = flags.delay;
    let rate = if upstream { 0 } else { flags.down_rate };
    std::thread::spawn(move || {
        forward(
            from,
            &mut |data| tx.send((Instant::now(), data.to_vec())).is_ok(),
            &flags,
            upstream,
        )
    });
    std::thread::spawn(move || {
        // When the link is free again, at `rate`.
        let mut free_at = Instant::now();
        for (at, data) in rx {
            let due = (at + delay).max(free_at);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if (&to).write_all(&data).is_err() {
                break;
            }
            if rate > 0 {
                free_at = due + Duration::from_secs_f64(data.len() as f64 / rate as f64);
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Read from `from` until it ends, handing each read to `send`.
fn forward(
    mut from: TcpStream,
    send: &mut dyn FnMut(&[u8]) -> bool,
    flags: &Flags,
    upstream: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while flags.frozen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if upstream {
            flags.up_bytes.fetch_add(n as u64, Ordering::SeqCst);
        } else {
            flags.down_bytes.fetch_add(n as u64, Ordering::SeqCst);
            if flags.corrupt_next_down.swap(false, Ordering::SeqCst) {
                buf[n / 2] ^= 0x10;
            }
        }
        if !send(&buf[..n]) {
            break;
        }
    }
}
