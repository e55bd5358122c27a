//! A TCP relay on 127.0.0.1 in front of the test sshd that can freeze the
//! link (stop forwarding, keep the sockets open) or cut it, and counts the
//! bytes the client sends.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Flags {
    frozen: AtomicBool,
    up_bytes: AtomicU64,
    conns: Mutex<Vec<TcpStream>>,
}

pub struct Relay {
    pub port: u16,
    flags: Arc<Flags>,
}

impl Relay {
    pub fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let flags = Arc::new(Flags::default());
        let f = flags.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
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

    pub fn thaw(&self) {
        self.flags.frozen.store(false, Ordering::SeqCst);
    }

    /// Close every connection made so far, as a dying server would.
    pub fn cut(&self) {
        for s in self.flags.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Bytes forwarded from clients to the server so far.
    pub fn bytes_up(&self) -> u64 {
        self.flags.up_bytes.load(Ordering::SeqCst)
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, flags: Arc<Flags>, upstream: bool) {
    std::thread::spawn(move || {
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
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
