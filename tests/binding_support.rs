//! The C API pieces that make bindings thin (issue 15): errno and SFTP
//! status codes on failures, byte buffers from files and commands without
//! guessing sizes, the user name, pysftp's normalize, cd and empty host.

mod common;

use common::*;
use psftp::capi::file::*;
use std::ffi::{c_int, CStr};

fn path(p: &std::path::Path) -> std::ffi::CString {
    c(p.to_str().unwrap())
}

/// Take a byte buffer psftp returned.
fn take_bytes(data: *mut u8, len: usize) -> Vec<u8> {
    assert!(!data.is_null(), "buffers are never NULL, even empty ones");
    let v = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    unsafe { psftp_bytes_free(data, len) };
    v
}

#[test]
fn local_failures_carry_their_errno() {
    let conn = connect();
    let local = local_scratch("errno");
    let missing = local.join("missing.bin");
    let rc = unsafe {
        psftp_put(
            conn.0,
            path(&missing).as_ptr(),
            c("x").as_ptr(),
            None,
            std::ptr::null_mut(),
            true,
            false,
            std::ptr::null(),
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_LOCAL_IO, &["missing.bin"]);
    assert_eq!(psftp_last_error_errno(), libc::ENOENT);
    assert_eq!(psftp_last_error_sftp_status(), -1, "not an SFTP status");
    assert_eq!(psftp_conn_last_error_errno(conn.0), libc::ENOENT);
    assert_eq!(psftp_conn_last_error_sftp_status(conn.0), -1);

    let rc = unsafe {
        psftp_put(
            conn.0,
            path(&local).as_ptr(),
            c("x").as_ptr(),
            None,
            std::ptr::null_mut(),
            true,
            false,
            std::ptr::null(),
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_LOCAL_IO, &["is a directory"]);
    assert_eq!(psftp_last_error_errno(), libc::EISDIR);
}

#[test]
fn sftp_failures_carry_the_server_status() {
    let conn = connect();
    let dir = remote_scratch("status");
    assert_fail(
        stat(&conn, dir.join("nope").to_str().unwrap()),
        PSFTP_E_NOT_FOUND,
        &["nope"],
    );
    assert_eq!(psftp_last_error_sftp_status(), 2, "SSH_FX_NO_SUCH_FILE");
    assert_eq!(psftp_last_error_errno(), 0);
    assert_eq!(psftp_conn_last_error_sftp_status(conn.0), 2);
    // rmdir of a non-empty directory: OpenSSH answers SSH_FX_FAILURE.
    std::fs::create_dir(dir.join("full")).unwrap();
    put_remote_file(&dir.join("full/f"), b"x");
    let rc = unsafe { psftp_rmdir(conn.0, path(&dir.join("full")).as_ptr()) };
    assert!(check(rc).is_err());
    assert_eq!(psftp_last_error_sftp_status(), 4, "SSH_FX_FAILURE");
    // A refused TCP connect carries ECONNREFUSED.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = server();
    let mut out = std::ptr::null_mut();
    let rc = unsafe {
        psftp_connect(
            c("127.0.0.1").as_ptr(),
            c(s.user()).as_ptr(),
            std::ptr::null(),
            c(s.password()).as_ptr(),
            port as c_int,
            std::ptr::null(),
            Opts::trusting(s).0,
            std::ptr::null(),
            &mut out,
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_CONNECT, &["connect to 127.0.0.1"]);
    assert_eq!(psftp_last_error_errno(), libc::ECONNREFUSED);
}

#[test]
fn file_read_alloc_and_readline_alloc_need_no_size() {
    let conn = connect();
    let dir = remote_scratch("alloc");
    let mut body = b"first\nsecond line\n\0nul\nlast".to_vec();
    body.extend(pattern(3_000_000, 7));
    put_remote_file(&dir.join("f"), &body);
    for bufsize in [-1i64, 0, 100] {
        let mut f = std::ptr::null_mut();
        check(unsafe {
            psftp_open(
                conn.0,
                path(&dir.join("f")).as_ptr(),
                c("rb").as_ptr(),
                bufsize,
                &mut f,
            )
        })
        .unwrap();
        let line = |max: usize| {
            let (mut d, mut n) = (std::ptr::null_mut(), 0usize);
            check(unsafe { psftp_file_readline_alloc(f, max, &mut d, &mut n) }).unwrap();
            take_bytes(d, n)
        };
        let read = |max: usize| {
            let (mut d, mut n) = (std::ptr::null_mut(), 0usize);
            check(unsafe { psftp_file_read_alloc(f, max, &mut d, &mut n) }).unwrap();
            take_bytes(d, n)
        };
        assert_eq!(line(0), b"first\n", "bufsize {bufsize}");
        assert_eq!(line(3), b"sec", "a limit cuts the line");
        assert_eq!(line(0), b"ond line\n");
        assert_eq!(line(0), b"\0nul\n", "NUL bytes are data");
        assert_eq!(read(2), b"la");
        assert_eq!(read(0), &body[b"first\nsecond line\n\0nul\nla".len()..]);
        assert_eq!(read(0), b"", "at the end: empty");
        assert_eq!(line(0), b"", "at the end: empty");
        check(psftp_file_close(f)).unwrap();
    }
    // A huge limit on a small file allocates only what the file holds.
    put_remote_file(&dir.join("small"), b"tiny");
    let mut f = std::ptr::null_mut();
    check(unsafe {
        psftp_open(
            conn.0,
            path(&dir.join("small")).as_ptr(),
            c("r").as_ptr(),
            -1,
            &mut f,
        )
    })
    .unwrap();
    let (mut d, mut n) = (std::ptr::null_mut(), 0usize);
    check(unsafe { psftp_file_read_alloc(f, usize::MAX / 2, &mut d, &mut n) }).unwrap();
    assert_eq!(take_bytes(d, n), b"tiny");
    check(psftp_file_close(f)).unwrap();
    let (mut d, mut n) = (std::ptr::null_mut(), 0usize);
    assert_fail(
        check(unsafe { psftp_file_read_alloc(f, 0, &mut d, &mut n) }),
        PSFTP_E_INVALID_ARG,
        &["file"],
    );
}

#[test]
fn execute_bytes_keeps_nuls_and_offers_pysftps_choice() {
    let conn = connect();
    let run = |cmd: &str, flags: c_int| {
        let (mut o, mut on, mut e, mut en, mut st) = (
            std::ptr::null_mut(),
            0usize,
            std::ptr::null_mut(),
            0usize,
            -7,
        );
        check(unsafe {
            psftp_execute_bytes(
                conn.0,
                c(cmd).as_ptr(),
                flags,
                &mut o,
                &mut on,
                &mut e,
                &mut en,
                &mut st,
            )
        })
        .unwrap();
        (take_bytes(o, on), take_bytes(e, en), st)
    };
    let (out, err, st) = run("printf 'a\\000b\\n\\377'; printf oops >&2; exit 3", 0);
    assert_eq!(out, b"a\0b\n\xff");
    assert_eq!(err, b"oops");
    assert_eq!(st, 3);
    let (out, err, _) = run("printf oops >&2", PSFTP_EXECUTE_STDERR_IF_NO_STDOUT);
    assert_eq!(out, b"oops", "pysftp: stderr when stdout is empty");
    assert_eq!(err, b"oops");
    let (out, _, _) = run("echo hi; echo no >&2", PSFTP_EXECUTE_STDERR_IF_NO_STDOUT);
    assert_eq!(out, b"hi\n", "pysftp: stdout when there is any");
    let (mut o, mut on) = (std::ptr::null_mut(), 0usize);
    assert_fail(
        check(unsafe {
            psftp_execute_bytes(
                conn.0,
                c("true").as_ptr(),
                8,
                &mut o,
                &mut on,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        }),
        PSFTP_E_INVALID_ARG,
        &["flags"],
    );
}

#[test]
fn username_normalize_cd_and_empty_host_as_in_pysftp() {
    let s = server();
    let conn = connect();
    let name = string_out(|o| unsafe { psftp_username(conn.0, o) }).unwrap();
    assert_eq!(name.as_deref(), Some(s.user()));

    let getcwd = || string_out(|o| unsafe { psftp_getcwd(conn.0, o) }).unwrap();
    assert_eq!(getcwd(), None);
    let dir = remote_scratch("cdback");
    check(unsafe { psftp_cd_push(conn.0, path(&dir).as_ptr()) }).unwrap();
    check(psftp_cd_pop(conn.0)).unwrap();
    assert_eq!(
        getcwd().as_deref(),
        s.home.to_str(),
        "pysftp restores cwd(pwd): the home directory by name, not None"
    );

    let rel = format!("{}/..", dir.file_name().unwrap().to_str().unwrap());
    let norm = string_out(|o| unsafe { psftp_normalize(conn.0, c(&rel).as_ptr(), o) });
    assert_eq!(
        norm.unwrap().as_deref(),
        s.home.to_str(),
        "the server's realpath"
    );

    let mut out = std::ptr::null_mut();
    let rc = unsafe {
        psftp_connect(
            c("").as_ptr(),
            c(s.user()).as_ptr(),
            std::ptr::null(),
            c(s.password()).as_ptr(),
            22,
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
            &mut out,
            std::ptr::null_mut(),
        )
    };
    let msg = assert_fail(check(rc), PSFTP_E_CONNECT, &["host is empty"]);
    assert!(!msg.contains(s.password()));
    let strerr = unsafe { CStr::from_ptr(psftp_strerror(rc)) };
    assert_eq!(strerr.to_str().unwrap(), "PSFTP_E_CONNECT");
}
