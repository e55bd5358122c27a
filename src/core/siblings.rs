//! Extra connections opened for one operation (tree transfers, split
//! files). Their routes are kept so that an interrupt of the caller's
//! connection reaches them too.

use std::sync::{Arc, Mutex};

use super::conn::Connection;
use super::route::Cutter;
use crate::error::Result;

#[derive(Default)]
pub struct Siblings {
    cutters: Mutex<Vec<Arc<Cutter>>>,
}

impl Siblings {
    /// A new connection to `conn`'s server by the same route, cut at once
    /// if `conn` is (or already was) interrupted.
    pub fn connect(&self, conn: &Connection) -> Result<Connection> {
        let cutter = Arc::new(Cutter::default());
        {
            let mut all = self.cutters.lock().unwrap_or_else(|p| p.into_inner());
            // Registered under the lock `cut_all` takes: a connection
            // arriving after an interrupt is cut at once instead of waiting
            // out its timeout.
            if conn.is_interrupted() {
                cutter.cut();
            }
            all.push(cutter.clone());
        }
        conn.connect_sibling(cutter)
    }

    /// Shut down every sibling: blocked calls on them return at once.
    pub fn cut_all(&self) {
        for c in self
            .cutters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            c.cut();
        }
    }
}
