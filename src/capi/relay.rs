//! Relays: callbacks psftp implements itself, for bindings whose own
//! functions can run only on one thread that must never be waited for
//! (Node's event loop: at process exit it joins the worker threads, so a
//! worker waiting for it to run a callback hangs the process). The relay
//! callbacks never wait for the caller: progress goes to counters the
//! binding reads when it likes, data goes through a descriptor (a pipe)
//! the binding reads or writes with its own event loop, and a stop flag
//! the binding sets makes every relay callback stop the call promptly.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::transfer::psftp_tree_progress;
use super::types::{write_sized, SizedStruct};
use super::{arg_out, guard, guard_void, new_c_string, Registry};
use crate::error::Result;
use std::mem::size_of;

/// What the relay callbacks of one call report to a binding, and the way
/// the binding stops them. Create with psftp_relay_new(), pass as the
/// `user_data` of psftp_relay_progress_cb, psftp_relay_tree_progress_cb,
/// psftp_relay_write_cb or psftp_relay_read_cb; any thread may read and
/// stop it while the call runs.
pub struct psftp_relay {
    _private: [u8; 0],
}

/// The figures a relay has seen (psftp_relay_get_state()).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct psftp_relay_state {
    /// The bytes psftp filled (sizeof(psftp_relay_state) of its version).
    pub struct_size: usize,
    /// How many progress callbacks ran: a change means new figures.
    pub updates: u64,
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Whether psftp_relay_stop() was called.
    pub stopped: bool,
}

// SAFETY: a repr(C) struct that begins with `size_t struct_size`.
unsafe impl SizedStruct for psftp_relay_state {
    const FIRST_SIZE: usize = size_of::<psftp_relay_state>();
    fn set_struct_size(&mut self, n: usize) {
        self.struct_size = n;
    }
}

struct Relay {
    fd: c_int,
    stop: AtomicBool,
    updates: AtomicU64,
    files_done: AtomicU64,
    files_total: AtomicU64,
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    current_path: Mutex<Vec<u8>>,
}

static RELAYS: Registry<Relay> = Registry::new("psftp_relay", 7);

// What a relay callback returns to stop its call (PSFTP_E_USER, value -1).
const STOP: c_int = -1;
// How long a blocked data callback waits before it looks at the stop flag again.
const POLL_MS: c_int = 50;

fn relay_of(user_data: *mut c_void) -> Option<Arc<Relay>> {
    RELAYS
        .get(user_data as *const psftp_relay, "user_data")
        .ok()
}

/// A relay for one call. `fd` is the descriptor psftp_relay_write_cb
/// writes to and psftp_relay_read_cb reads from (usually one end of a
/// pipe), or -1 when only progress is relayed. psftp makes it non-blocking
/// and never closes it: close it after the call returns.
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_relay_new(fd: c_int, out: *mut *mut psftp_relay) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        guard(|| {
            let out = arg_out(out, "out")?;
            if fd >= 0 {
                set_nonblocking(fd)?;
            }
            *out = RELAYS.insert(Relay {
                fd,
                stop: AtomicBool::new(false),
                updates: AtomicU64::new(0),
                files_done: AtomicU64::new(0),
                files_total: AtomicU64::new(0),
                bytes_done: AtomicU64::new(0),
                bytes_total: AtomicU64::new(0),
                current_path: Mutex::new(Vec::new()),
            });
            Ok(())
        })
    }
}

fn set_nonblocking(fd: c_int) -> Result<()> {
    // SAFETY: fcntl on a descriptor number has no memory effects; a bad
    // descriptor gives EBADF.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0
    };
    if ok {
        Ok(())
    } else {
        Err(crate::error::Error::invalid_arg(
            "fd",
            format!(
                "is not an open descriptor ({})",
                std::io::Error::last_os_error()
            ),
        ))
    }
}

/// Release a relay. NULL and a second free are ignored.
#[no_mangle]
pub extern "C" fn psftp_relay_free(relay: *mut psftp_relay) {
    guard_void(|| {
        RELAYS.remove(relay);
    })
}

/// Make every relay callback of `relay` stop its call (PSFTP_E_USER),
/// including one waiting on its descriptor (within 50 ms). Any thread.
#[no_mangle]
pub extern "C" fn psftp_relay_stop(relay: *mut psftp_relay) -> c_int {
    guard(|| {
        RELAYS
            .get(relay, "relay")?
            .stop
            .store(true, Ordering::SeqCst);
        Ok(())
    })
}

/// The latest figures of `relay`'s progress callbacks. Any thread.
///
/// # Safety
/// `out` points to a psftp_relay_state with struct_size set.
#[no_mangle]
pub unsafe extern "C" fn psftp_relay_get_state(
    relay: *const psftp_relay,
    out: *mut psftp_relay_state,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` points to a
    // psftp_relay_state with struct_size set.
    unsafe {
        guard(|| {
            let r = RELAYS.get(relay, "relay")?;
            let state = psftp_relay_state {
                struct_size: 0,
                updates: r.updates.load(Ordering::SeqCst),
                files_done: r.files_done.load(Ordering::SeqCst),
                files_total: r.files_total.load(Ordering::SeqCst),
                bytes_done: r.bytes_done.load(Ordering::SeqCst),
                bytes_total: r.bytes_total.load(Ordering::SeqCst),
                stopped: r.stop.load(Ordering::SeqCst),
            };
            write_sized(out, state, "out")
        })
    }
}

/// The current_path of the last tree progress `relay` saw (free with
/// psftp_string_free); NULL before any.
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_relay_current_path(
    relay: *const psftp_relay,
    out: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        guard(|| {
            let out = arg_out(out, "out")?;
            let r = RELAYS.get(relay, "relay")?;
            let path = r.current_path.lock().unwrap_or_else(|p| p.into_inner());
            *out = if r.files_total.load(Ordering::SeqCst) == 0 && path.is_empty() {
                std::ptr::null_mut()
            } else {
                new_c_string(&*path, "current path")?
            };
            Ok(())
        })
    }
}

/// A psftp_progress_cb: records the figures in the relay given as
/// `user_data`; stops the call once the relay is stopped.
#[no_mangle]
pub extern "C" fn psftp_relay_progress_cb(
    bytes_done: u64,
    bytes_total: u64,
    user_data: *mut c_void,
) -> c_int {
    let Some(r) = relay_of(user_data) else {
        return STOP;
    };
    r.bytes_done.store(bytes_done, Ordering::SeqCst);
    r.bytes_total.store(bytes_total, Ordering::SeqCst);
    r.updates.fetch_add(1, Ordering::SeqCst);
    if r.stop.load(Ordering::SeqCst) {
        STOP
    } else {
        0
    }
}

/// A psftp_tree_progress_cb: records the figures and the current path in
/// the relay given as `user_data`; stops the call once it is stopped.
///
/// # Safety
/// `progress` is a psftp_tree_progress psftp passed to the callback.
#[no_mangle]
pub unsafe extern "C" fn psftp_relay_tree_progress_cb(
    progress: *const psftp_tree_progress,
    user_data: *mut c_void,
) -> c_int {
    let Some(r) = relay_of(user_data) else {
        return STOP;
    };
    // SAFETY: psftp passes a valid progress struct for the callback's duration.
    let Some(p) = (unsafe { progress.as_ref() }) else {
        return STOP;
    };
    if !p.current_path.is_null() {
        // SAFETY: current_path is a NUL-terminated string valid during the callback.
        let bytes = unsafe { CStr::from_ptr(p.current_path) }.to_bytes();
        let mut path = r.current_path.lock().unwrap_or_else(|e| e.into_inner());
        path.clear();
        path.extend_from_slice(bytes);
    }
    r.files_done.store(p.files_done, Ordering::SeqCst);
    r.files_total.store(p.files_total, Ordering::SeqCst);
    r.bytes_done.store(p.bytes_done, Ordering::SeqCst);
    r.bytes_total.store(p.bytes_total, Ordering::SeqCst);
    r.updates.fetch_add(1, Ordering::SeqCst);
    if r.stop.load(Ordering::SeqCst) {
        STOP
    } else {
        0
    }
}

/// Wait until `fd` is ready for `events` or the relay is stopped (false).
fn wait_ready(r: &Relay, events: libc::c_short) -> bool {
    loop {
        if r.stop.load(Ordering::SeqCst) {
            return false;
        }
        let mut pfd = libc::pollfd {
            fd: r.fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, POLL_MS) };
        if n > 0 {
            return true;
        }
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}

fn would_block_or_interrupted(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
    )
}

/// A psftp_write_cb: writes the data to the relay's descriptor, waiting
/// while it is full (a bounded queue: a pipe). Stops the call when the
/// relay is stopped or the descriptor fails (its reader closed it).
///
/// # Safety
/// `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn psftp_relay_write_cb(
    data: *const u8,
    len: usize,
    user_data: *mut c_void,
) -> c_int {
    let Some(r) = relay_of(user_data) else {
        return STOP;
    };
    if r.fd < 0 || (data.is_null() && len > 0) {
        return STOP;
    }
    let mut done = 0;
    while done < len {
        if !wait_ready(&r, libc::POLLOUT) {
            return STOP;
        }
        // SAFETY: data[done..len] is readable by this function's contract.
        let n = unsafe { libc::write(r.fd, data.add(done).cast(), len - done) };
        if n >= 0 {
            done += n as usize;
        } else if !would_block_or_interrupted(&std::io::Error::last_os_error()) {
            return STOP;
        }
    }
    if r.stop.load(Ordering::SeqCst) {
        STOP
    } else {
        0
    }
}

/// A psftp_read_cb: reads up to `len` bytes from the relay's descriptor,
/// waiting while it is empty; 0 when its writer closed it (the end of the
/// data). Returns -1 (stop) when the relay is stopped or the read fails.
///
/// # Safety
/// `buf` points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn psftp_relay_read_cb(
    buf: *mut u8,
    len: usize,
    user_data: *mut c_void,
) -> i64 {
    let Some(r) = relay_of(user_data) else {
        return STOP.into();
    };
    if r.fd < 0 || buf.is_null() {
        return STOP.into();
    }
    loop {
        if !wait_ready(&r, libc::POLLIN) {
            return STOP.into();
        }
        // SAFETY: buf[..len] is writable by this function's contract.
        let n = unsafe { libc::read(r.fd, buf.cast(), len) };
        if n >= 0 {
            return n as i64;
        }
        if !would_block_or_interrupted(&std::io::Error::last_os_error()) {
            return STOP.into();
        }
    }
}
