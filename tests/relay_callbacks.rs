//! psftp's relay callbacks (issue 19): a transfer reports progress and
//! moves data through a pipe without ever waiting for the caller's thread,
//! and stops promptly when the relay is stopped, even while the pipe is
//! full and nobody reads it.

mod common;

use common::*;
use psftp::capi::relay::*;
use std::ffi::c_void;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::time::{Duration, Instant};

fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

fn relay(fd: i32) -> *mut psftp_relay {
    let mut out = std::ptr::null_mut();
    check(unsafe { psftp_relay_new(fd, &mut out) }).unwrap();
    out
}

fn state(r: *mut psftp_relay) -> psftp_relay_state {
    let mut s = psftp_relay_state {
        struct_size: size_of::<psftp_relay_state>(),
        updates: 0,
        files_done: 0,
        files_total: 0,
        bytes_done: 0,
        bytes_total: 0,
        stopped: false,
    };
    check(unsafe { psftp_relay_get_state(r, &mut s) }).unwrap();
    s
}

/// A connection handle that may cross to the transfer's thread.
struct Handle(*mut psftp_conn);
unsafe impl Send for Handle {}

#[test]
fn getfo_through_a_pipe_delivers_every_byte_and_the_progress() {
    let conn = connect();
    let dir = remote_scratch("relay-getfo");
    let data = pattern(3 * 1024 * 1024 + 5, 7);
    put_remote_file(&dir.join("src"), &data);
    let (mut reader, writer) = pipe();
    let writer_fd = writer.into_raw_fd();
    let r = relay(writer_fd);
    let remote = c(dir.join("src").to_str().unwrap());
    let h = Handle(conn.0);
    let rr = r as usize;
    let transfer = std::thread::spawn(move || {
        let h = h;
        let mut n = 0u64;
        let rc = unsafe {
            psftp_getfo(
                h.0,
                remote.as_ptr(),
                Some(psftp_relay_write_cb),
                Some(psftp_relay_progress_cb),
                rr as *mut c_void,
                &mut n,
            )
        };
        unsafe { libc::close(writer_fd) };
        (rc, n)
    });
    let mut got = Vec::new();
    reader.read_to_end(&mut got).unwrap();
    let (rc, n) = transfer.join().unwrap();
    assert_eq!(rc, PSFTP_OK, "{}", last_error());
    assert_eq!(n, data.len() as u64);
    assert!(got == data, "the bytes through the pipe are the file's");
    let s = state(r);
    assert!(s.updates >= 1);
    assert_eq!(
        (s.bytes_done, s.bytes_total),
        (data.len() as u64, data.len() as u64)
    );
    assert!(!s.stopped);
    psftp_relay_free(r);
}

#[test]
fn a_stopped_relay_ends_a_getfo_blocked_on_a_full_pipe() {
    let conn = connect();
    let dir = remote_scratch("relay-stop");
    put_remote_file(&dir.join("big"), &pattern(16 * 1024 * 1024, 3));
    let (reader, writer) = pipe(); // nobody reads: the pipe fills up and the writer waits
    let r = relay(writer.into_raw_fd());
    let remote = c(dir.join("big").to_str().unwrap());
    let h = Handle(conn.0);
    let rr = r as usize;
    let transfer = std::thread::spawn(move || {
        let h = h;
        let mut n = 0u64;
        let rc = unsafe {
            psftp_getfo(
                h.0,
                remote.as_ptr(),
                Some(psftp_relay_write_cb),
                None,
                rr as *mut c_void,
                &mut n,
            )
        };
        (rc, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !transfer.is_finished(),
        "the transfer waits on the full pipe"
    );
    let stopped_at = Instant::now();
    check(psftp_relay_stop(r)).unwrap();
    let (rc, ended_at) = transfer.join().unwrap();
    assert_eq!(rc, PSFTP_E_USER);
    assert!(
        ended_at.duration_since(stopped_at) < Duration::from_secs(5),
        "stopped within the poll interval, not after the download"
    );
    assert!(state(r).stopped);
    psftp_relay_free(r);
    drop(reader);
    // The connection is still usable.
    assert_eq!(listdir(&conn, dir.to_str().unwrap()).unwrap(), vec!["big"]);
}

#[test]
fn putfo_reads_its_data_from_the_pipe_until_the_writer_closes_it() {
    let conn = connect();
    let dir = remote_scratch("relay-putfo");
    let data = pattern(2 * 1024 * 1024 + 11, 9);
    let (reader, mut writer) = pipe();
    let r = relay(reader.into_raw_fd());
    let remote = c(dir.join("dst").to_str().unwrap());
    let h = Handle(conn.0);
    let rr = r as usize;
    let transfer = std::thread::spawn(move || {
        let h = h;
        unsafe {
            psftp_putfo(
                h.0,
                Some(psftp_relay_read_cb),
                remote.as_ptr(),
                0,
                Some(psftp_relay_progress_cb),
                rr as *mut c_void,
                true,
                std::ptr::null(),
                std::ptr::null_mut(),
            )
        }
    });
    writer.write_all(&data).unwrap();
    drop(writer); // the end of the data
    assert_eq!(transfer.join().unwrap(), PSFTP_OK, "{}", last_error());
    assert!(std::fs::read(dir.join("dst")).unwrap() == data);
    assert_eq!(state(r).bytes_done, data.len() as u64);
    psftp_relay_free(r);
}

#[test]
fn relay_handles_are_checked() {
    let mut out = std::ptr::null_mut();
    assert_fail(
        check(unsafe { psftp_relay_new(-1, std::ptr::null_mut()) }),
        PSFTP_E_INVALID_ARG,
        &["out"],
    );
    assert_fail(
        check(unsafe { psftp_relay_new(987654, &mut out) }),
        PSFTP_E_INVALID_ARG,
        &["fd"],
    );
    let r = relay(-1);
    psftp_relay_free(r);
    psftp_relay_free(r); // a second free is ignored
    assert_fail(
        check(psftp_relay_stop(r)),
        PSFTP_E_INVALID_ARG,
        &["relay", "not a live"],
    );
    // A callback given a dead relay stops its call instead of touching memory.
    assert_eq!(psftp_relay_progress_cb(1, 2, r as *mut c_void), -1);
}
