//! Extra connections opened for one operation (tree transfers, split
//! files). Their sockets are kept so that an interrupt of the caller's
//! connection reaches them too.

use std::net::{Shutdown, TcpStream};
use std::sync::Mutex;

use super::conn::Connection;
use crate::error::Result;

#[derive(Default)]
pub struct Siblings {
    sockets: Mutex<Vec<TcpStream>>,
}

impl Siblings {
    /// A new connection to `conn`'s server, cut at once if `conn` is (or
    /// already was) interrupted.
    pub fn connect(&self, conn: &Connection) -> Result<Connection> {
        let register = |sock: &TcpStream| {
            let mut sockets = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
            // Registered under the lock `cut_all` takes: a connection
            // arriving after an interrupt is cut at once instead of waiting
            // out its timeout.
            if conn.is_interrupted() {
                let _ = sock.shutdown(Shutdown::Both);
            }
            sockets.extend(sock.try_clone().ok());
        };
        conn.connect_sibling(&register)
    }

    /// Shut down every sibling: blocked calls on them return at once.
    pub fn cut_all(&self) {
        for s in self
            .sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
