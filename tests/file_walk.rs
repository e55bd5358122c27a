//! pysftp open() files, walktree (remote and local), module helpers and
//! the local cd, through the C ABI.

mod common;

use common::*;
use psftp::capi::file::*;
use psftp::capi::helpers::*;
use std::ffi::{c_char, c_void, CStr};

fn open(conn: &Conn, path: &str, mode: &str, bufsize: i64) -> Result<*mut psftp_file, Fail> {
    let mut f = std::ptr::null_mut();
    check(unsafe { psftp_open(conn.0, c(path).as_ptr(), c(mode).as_ptr(), bufsize, &mut f) })
        .map(|_| f)
}

fn read(f: *mut psftp_file, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    check(unsafe { psftp_file_read(f, buf.as_mut_ptr() as *mut c_void, n, &mut got) }).unwrap();
    buf.truncate(got);
    buf
}

fn write(f: *mut psftp_file, data: &[u8]) {
    check(unsafe { psftp_file_write(f, data.as_ptr() as *const c_void, data.len()) }).unwrap();
}

fn readline(f: *mut psftp_file) -> Vec<u8> {
    let mut buf = vec![0u8; 100];
    let mut got = 0;
    check(unsafe { psftp_file_readline(f, buf.as_mut_ptr() as *mut c_void, buf.len(), &mut got) })
        .unwrap();
    buf.truncate(got);
    buf
}

#[test]
fn files_read_write_seek_tell_with_every_buffering() {
    let conn = connect();
    let dir = remote_scratch("file");
    for bufsize in [-1, 0, 1, 4096] {
        let p = dir.join(format!("f{bufsize}"));
        let f = open(&conn, p.to_str().unwrap(), "w+", bufsize).unwrap();
        write(f, b"line one\n");
        write(f, b"line two\nrest");
        let big = pattern(3 * 1024 * 1024, bufsize as u8);
        write(f, &big);
        let mut pos = 0;
        check(unsafe { psftp_file_tell(f, &mut pos) }).unwrap();
        assert_eq!(pos as usize, 22 + big.len());
        check(unsafe { psftp_file_seek(f, 0, PSFTP_SEEK_SET, &mut pos) }).unwrap();
        assert_eq!(readline(f), b"line one\n");
        assert_eq!(readline(f), b"line two\n");
        assert_eq!(read(f, 4), b"rest");
        assert_eq!(read(f, big.len() + 10), big, "bufsize {bufsize}");
        assert_eq!(read(f, 10), b"", "EOF");
        assert_eq!(readline(f), b"");
        check(unsafe { psftp_file_seek(f, -4, PSFTP_SEEK_END, &mut pos) }).unwrap();
        assert_eq!(pos as usize, 22 + big.len() - 4);
        let mut a = psftp_attrs::default();
        check(unsafe { psftp_file_stat(f, &mut a) }).unwrap();
        assert_eq!(a.size as usize, 22 + big.len());
        check(psftp_file_truncate(f, 5)).unwrap();
        check(psftp_file_flush(f)).unwrap();
        check(psftp_file_fsync(f)).unwrap();
        check(psftp_file_close(f)).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"line ");
        check(psftp_file_close(f)).unwrap(); // closing twice is harmless
        let mut n = 0;
        assert_fail(
            check(unsafe { psftp_file_tell(f, &mut n) }),
            PSFTP_E_INVALID_ARG,
            &["not a live psftp_file"],
        );
    }
}

#[test]
fn file_modes_follow_python() {
    let conn = connect();
    let dir = remote_scratch("modes");
    let p = dir.join("f");
    let ps = p.to_str().unwrap();
    assert_fail(open(&conn, ps, "r", -1), PSFTP_E_NOT_FOUND, &["/f"]);
    let f = open(&conn, ps, "wb", -1).unwrap();
    write(f, b"hello");
    let mut n = 0;
    let mut b = [0u8; 4];
    assert_fail(
        check(unsafe { psftp_file_read(f, b.as_mut_ptr() as *mut c_void, 4, &mut n) }),
        PSFTP_E_INVALID_ARG,
        &["not opened for reading"],
    );
    check(psftp_file_close(f)).unwrap();
    let f = open(&conn, ps, "a", -1).unwrap();
    check(unsafe { psftp_file_seek(f, 0, PSFTP_SEEK_SET, std::ptr::null_mut()) }).unwrap();
    write(f, b" world"); // append mode: lands at the end anyway
    check(psftp_file_close(f)).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"hello world");
    let f = open(&conn, ps, "r+", -1).unwrap();
    write(f, b"J");
    check(unsafe { psftp_file_seek(f, 0, PSFTP_SEEK_SET, std::ptr::null_mut()) }).unwrap();
    assert_eq!(read(f, 100), b"Jello world");
    assert_fail(
        check(unsafe { psftp_file_seek(f, -1, PSFTP_SEEK_SET, std::ptr::null_mut()) }),
        PSFTP_E_INVALID_ARG,
        &["offset"],
    );
    assert_fail(
        check(unsafe { psftp_file_seek(f, 0, 7, std::ptr::null_mut()) }),
        PSFTP_E_INVALID_ARG,
        &["whence"],
    );
    check(psftp_file_close(f)).unwrap();
    let f = open(&conn, ps, "a+", -1).unwrap();
    write(f, b"!");
    check(unsafe { psftp_file_seek(f, 0, PSFTP_SEEK_SET, std::ptr::null_mut()) }).unwrap();
    assert_eq!(read(f, 100), b"Jello world!");
    check(psftp_file_close(f)).unwrap();
    assert_fail(open(&conn, ps, "x", -1), PSFTP_E_EXISTS, &["/f"]);
    let fresh = dir.join("new");
    let f = open(&conn, fresh.to_str().unwrap(), "x", -1).unwrap();
    check(psftp_file_close(f)).unwrap();
    assert!(fresh.exists());
    for bad in ["rt", "z", "rw"] {
        assert_fail(
            open(&conn, ps, bad, -1),
            PSFTP_E_INVALID_ARG,
            &["mode", bad],
        );
    }
    let f = open(&conn, ps, "w", -1).unwrap();
    check(psftp_file_close(f)).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"", "w truncates");
}

#[test]
fn a_file_outliving_its_connection_fails_cleanly() {
    let conn = connect();
    let dir = remote_scratch("orphan");
    let f = open(&conn, dir.join("f").to_str().unwrap(), "w", 0).unwrap();
    drop(conn);
    let data = b"x";
    let rc = unsafe { psftp_file_write(f, data.as_ptr() as *const c_void, 1) };
    assert_fail(check(rc), PSFTP_E_CONNECTION_LOST, &["closed"]);
    check(psftp_file_close(f)).unwrap_or_else(|e| assert_eq!(e.code, PSFTP_E_CONNECTION_LOST));
}

#[derive(Default)]
struct Seen {
    events: Vec<String>,
    stop_at: Option<String>,
}

unsafe fn record(
    tag: &str,
    path: *const c_char,
    attrs: *const psftp_attrs,
    ud: *mut c_void,
) -> i32 {
    let seen = &mut *(ud as *mut Seen);
    let p = CStr::from_ptr(path).to_str().unwrap().to_string();
    let a = &*attrs;
    let link = if a.mode & 0o170000 == 0o120000 {
        "@"
    } else {
        ""
    };
    seen.events.push(format!("{tag} {p}{link}"));
    if seen.stop_at.as_deref() == Some(p.as_str()) {
        return 42;
    }
    if tag == "d" && p.ends_with("skipme") {
        return PSFTP_WALK_SKIP;
    }
    0
}
unsafe extern "C" fn on_file(p: *const c_char, a: *const psftp_attrs, ud: *mut c_void) -> i32 {
    record("f", p, a, ud)
}
unsafe extern "C" fn on_dir(p: *const c_char, a: *const psftp_attrs, ud: *mut c_void) -> i32 {
    record("d", p, a, ud)
}
unsafe extern "C" fn on_unknown(p: *const c_char, a: *const psftp_attrs, ud: *mut c_void) -> i32 {
    record("u", p, a, ud)
}

/// a/x, a/b/y, skipme/z, links: to a file, to a dir (a loop), broken, fifo.
fn make_tree(root: &std::path::Path) {
    for d in ["a/b", "skipme", "e"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for f in ["a/x", "a/b/y", "skipme/z", "top"] {
        std::fs::write(root.join(f), f).unwrap();
    }
    std::os::unix::fs::symlink("top", root.join("link_file")).unwrap();
    std::os::unix::fs::symlink(".", root.join("a/loop")).unwrap();
    std::os::unix::fs::symlink("nowhere", root.join("broken")).unwrap();
    let fifo = std::ffi::CString::new(root.join("pipe").to_str().unwrap()).unwrap();
    unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) };
}

fn expected(root: &str) -> Vec<String> {
    [
        "d {r}/a",
        "f {r}/a/b",
        "d {r}/a/b",
        "f {r}/a/b/y",
        "d {r}/a/loop@",
        "f {r}/a/x",
        "u {r}/broken@",
        "d {r}/e",
        "f {r}/link_file@",
        "u {r}/pipe",
        "d {r}/skipme",
        "f {r}/top",
    ]
    .iter()
    .filter(|s| **s != "f {r}/a/b")
    .map(|s| s.replace("{r}", root))
    .collect()
}

#[test]
fn walktree_is_depth_first_sorted_and_safe_with_links() {
    let conn = connect();
    let dir = remote_scratch("walk");
    make_tree(&dir);
    let root = dir.to_str().unwrap();
    let mut seen = Seen::default();
    check(unsafe {
        psftp_walktree(
            conn.0,
            c(root).as_ptr(),
            Some(on_file),
            Some(on_dir),
            Some(on_unknown),
            true,
            &mut seen as *mut _ as *mut c_void,
        )
    })
    .unwrap();
    assert_eq!(seen.events, expected(root));
    // A relative root is walked from the working directory, and the paths
    // start with it as given (pysftp's walktree('.') yields './a').
    let mut rel = Seen::default();
    check(unsafe { psftp_chdir(conn.0, c(root).as_ptr()) }).unwrap();
    check(unsafe {
        psftp_walktree(
            conn.0,
            c(".").as_ptr(),
            Some(on_file),
            Some(on_dir),
            Some(on_unknown),
            true,
            &mut rel as *mut _ as *mut c_void,
        )
    })
    .unwrap();
    check(unsafe { psftp_chdir(conn.0, std::ptr::null()) }).unwrap();
    assert_eq!(rel.events, expected("."));
    // Without recurse only the top level is listed.
    let mut top = Seen::default();
    check(unsafe {
        psftp_walktree(
            conn.0,
            c(root).as_ptr(),
            Some(on_file),
            Some(on_dir),
            None,
            false,
            &mut top as *mut _ as *mut c_void,
        )
    })
    .unwrap();
    assert_eq!(
        top.events.len(),
        5,
        "a, e, link_file, skipme, top: {:?}",
        top.events
    );
    // A non-zero, non-skip value stops the walk.
    let mut stop = Seen {
        stop_at: Some(format!("{root}/a/x")),
        ..Default::default()
    };
    assert_fail(
        check(unsafe {
            psftp_walktree(
                conn.0,
                c(root).as_ptr(),
                Some(on_file),
                Some(on_dir),
                Some(on_unknown),
                true,
                &mut stop as *mut _ as *mut c_void,
            )
        }),
        PSFTP_E_USER,
        &["walktree", root],
    );
    assert_eq!(stop.events.last().unwrap(), &format!("f {root}/a/x"));
    assert_fail(
        check(unsafe {
            psftp_walktree(
                conn.0,
                c("/no/such").as_ptr(),
                None,
                None,
                None,
                true,
                std::ptr::null_mut(),
            )
        }),
        PSFTP_E_NOT_FOUND,
        &["/no/such"],
    );
}

unsafe extern "C" fn stat_inside_callback(
    p: *const c_char,
    _a: *const psftp_attrs,
    ud: *mut c_void,
) -> i32 {
    let conn = ud as *mut psftp_conn;
    let mut a = psftp_attrs::default();
    psftp_stat(conn, p, &mut a)
}

#[test]
fn walktree_callbacks_may_use_the_connection() {
    let conn = connect();
    let dir = remote_scratch("walkuse");
    make_tree(&dir);
    check(unsafe {
        psftp_walktree(
            conn.0,
            c(dir.to_str().unwrap()).as_ptr(),
            Some(stat_inside_callback),
            None,
            None,
            true,
            conn.0 as *mut c_void,
        )
    })
    .unwrap();
}

#[test]
fn local_walktree_matches_the_remote_walk() {
    let dir = local_scratch("lwalk");
    make_tree(&dir);
    let root = dir.to_str().unwrap();
    let mut seen = Seen::default();
    check(unsafe {
        psftp_local_walktree(
            c(root).as_ptr(),
            Some(on_file),
            Some(on_dir),
            Some(on_unknown),
            true,
            &mut seen as *mut _ as *mut c_void,
        )
    })
    .unwrap();
    assert_eq!(seen.events, expected(root));
    assert_fail(
        check(unsafe {
            psftp_local_walktree(
                c("/no/such/dir").as_ptr(),
                None,
                None,
                None,
                true,
                std::ptr::null_mut(),
            )
        }),
        PSFTP_E_LOCAL_IO,
        &["/no/such/dir"],
    );
}

fn strarray(f: impl FnOnce(*mut *mut psftp_strarray) -> i32) -> Vec<String> {
    let mut out = std::ptr::null_mut();
    check(f(&mut out)).unwrap();
    take_strarray(out)
}

#[test]
fn module_helpers_give_pysftp_results() {
    assert_eq!(psftp_st_mode_to_int(33188), 644);
    let p = c("./pub/example/example01");
    assert_eq!(
        strarray(|o| unsafe { psftp_path_advance(p.as_ptr(), o) }),
        [".", "./pub", "./pub/example", "./pub/example/example01"]
    );
    assert_eq!(
        strarray(|o| unsafe { psftp_path_retreat(p.as_ptr(), o) }),
        ["./pub/example/example01", "./pub/example", "./pub", "."]
    );
    let r = string_out(|o| unsafe {
        psftp_reparent(c("backup").as_ptr(), c("/home/test/pub").as_ptr(), o)
    })
    .unwrap();
    assert_eq!(r.as_deref(), Some("backup/./home/test/pub"));
    let w = string_out(|o| unsafe {
        psftp_reparent(c("backup").as_ptr(), c("\\home\\test").as_ptr(), o)
    })
    .unwrap();
    assert_eq!(w.as_deref(), Some("backup/.\\home\\test"));
    let mut out = std::ptr::null_mut();
    assert_fail(
        check(unsafe { psftp_path_advance(c("").as_ptr(), &mut out) }),
        PSFTP_E_INVALID_ARG,
        &["thepath", "empty"],
    );
    assert_fail(
        check(unsafe {
            psftp_reparent(std::ptr::null(), c("x").as_ptr(), &mut std::ptr::null_mut())
        }),
        PSFTP_E_INVALID_ARG,
        &["newparent"],
    );
}

unsafe extern "C" fn cwd_body(ud: *mut c_void) -> i32 {
    *(ud as *mut std::path::PathBuf) = std::env::current_dir().unwrap();
    7
}

#[test]
fn local_cd_restores_the_process_directory() {
    let before = std::env::current_dir().unwrap();
    let dir = local_scratch("lcd").canonicalize().unwrap();
    let mut inside = std::path::PathBuf::new();
    let rc = unsafe {
        psftp_local_cd(
            c(dir.to_str().unwrap()).as_ptr(),
            Some(cwd_body),
            &mut inside as *mut _ as *mut c_void,
        )
    };
    assert_eq!(rc, 7, "the body's value comes back");
    assert_eq!(inside, dir);
    assert_eq!(std::env::current_dir().unwrap(), before);
    check(unsafe { psftp_local_cd_push(c(dir.to_str().unwrap()).as_ptr()) }).unwrap();
    assert_eq!(std::env::current_dir().unwrap(), dir);
    check(psftp_local_cd_pop()).unwrap();
    assert_eq!(std::env::current_dir().unwrap(), before);
    assert_fail(
        check(unsafe { psftp_local_cd_push(c("/no/such/dir").as_ptr()) }),
        PSFTP_E_LOCAL_IO,
        &["/no/such/dir"],
    );
    assert_fail(
        check(psftp_local_cd_pop()),
        PSFTP_E_INVALID_ARG,
        &["without a matching"],
    );
}
