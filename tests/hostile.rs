//! A scripted hostile SFTP server (paramiko, tests/hostile/sftp_server.py)
//! sends names with '..', '/', NUL and control characters, duplicates,
//! symlink loops and sizes that lie. Nothing may be written outside the
//! destination, nothing may hang, and every case has a clear code.

mod common;

use common::*;
use psftp::capi::tree::*;
use std::ffi::CStr;
use std::path::Path;

/// (path, code, message) of each failed entry.
type Failures = Vec<(String, i32, String)>;

fn get_r(
    conn: &Conn,
    remote: &str,
    local: &Path,
    opts: *const psftp_transfer_opts,
) -> (Result<(), Fail>, Failures) {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(remote).as_ptr(),
            c(local.to_str().unwrap()).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            opts,
            &mut f,
        )
    };
    let l = unsafe { &*f };
    let failures = (0..l.count)
        .map(|i| {
            let x = unsafe { &**l.items.add(i) };
            let s = |p| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
            (s(x.path), x.code, s(x.message))
        })
        .collect();
    unsafe { psftp_failure_list_free(f) };
    (check(rc), failures)
}

fn opts(on_error: i32, symlinks: i32) -> *mut psftp_transfer_opts {
    let mut o = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut o) }).unwrap();
    check(psftp_transfer_opts_set_on_error(o, on_error)).unwrap();
    check(psftp_transfer_opts_set_symlinks(o, symlinks)).unwrap();
    o
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(
                files_under(&p)
                    .into_iter()
                    .map(|f| format!("{}/{f}", p.file_name().unwrap().to_str().unwrap())),
            );
        } else {
            out.push(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_names_are_refused_and_nothing_escapes_the_destination() {
    let conn = connect_hostile();
    let jail = local_scratch("hostile");
    let dest = jail.join("dest");
    let o = opts(PSFTP_ON_ERROR_CONTINUE, PSFTP_SYMLINKS_SKIP);
    let (r, failures) = get_r(&conn, "/evil", &dest, o);
    assert_fail(r, PSFTP_E_UNSAFE_PATH, &["entries failed"]);
    assert!(
        failures.iter().all(|f| f.1 == PSFTP_E_UNSAFE_PATH),
        "{failures:?}"
    );
    let why: Vec<&str> = failures.iter().map(|f| f.2.as_str()).collect();
    for needle in [
        "'..'",
        "contains '/'",
        "NUL or control",
        "empty, '.' or '..'",
        "twice",
    ] {
        assert!(
            why.iter().any(|w| w.contains(needle)),
            "no refusal mentions {needle}: {why:?}"
        );
    }
    assert_eq!(
        failures.len(),
        7,
        "../escape, a/b, x\\0y, ctl\\e, '', dup, /etc: {why:?}"
    );
    // Only the honest files arrived (a duplicated name counts once), inside
    // the destination.
    assert_eq!(files_under(&jail), ["dest/evil/dup", "dest/evil/ok.txt"]);
    assert_eq!(std::fs::read(dest.join("evil/dup")).unwrap(), b"dup one");
    assert_eq!(
        std::fs::read(dest.join("evil/ok.txt")).unwrap(),
        b"honest\n"
    );
    // The stop policy stops at the first one.
    psftp_transfer_opts_free(o);
    let stop = opts(PSFTP_ON_ERROR_STOP, PSFTP_SYMLINKS_SKIP);
    let (r, failures) = get_r(&conn, "/evil", &jail.join("dest2"), stop);
    assert_fail(r, PSFTP_E_UNSAFE_PATH, &["refusing"]);
    assert_eq!(failures.len(), 1);
    assert!(!jail.join("escape").exists() && !Path::new("/etc/b").exists());
    psftp_transfer_opts_free(stop);
}

#[test]
fn symlink_loops_on_the_server_never_hang() {
    let conn = connect_hostile();
    let dest = local_scratch("hostloop");
    for policy in [PSFTP_SYMLINKS_SKIP, PSFTP_SYMLINKS_FOLLOW] {
        let o = opts(PSFTP_ON_ERROR_STOP, policy);
        let (r, failures) = get_r(&conn, "/loop", &dest, o);
        r.unwrap();
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(
            files_under(&dest.join("loop")),
            ["data.txt"],
            "policy {policy}: a self-link and a link to '/' are not followed"
        );
        psftp_transfer_opts_free(o);
    }
    // Copy recreates the links as they are, without following them.
    let o = opts(PSFTP_ON_ERROR_STOP, PSFTP_SYMLINKS_COPY);
    let copied = local_scratch("hostcopy");
    get_r(&conn, "/loop", &copied, o).0.unwrap();
    assert_eq!(
        std::fs::read_link(copied.join("loop/self")).unwrap(),
        Path::new("/loop")
    );
    psftp_transfer_opts_free(o);
}

#[test]
fn listed_sizes_that_lie_do_not_corrupt_the_copy() {
    let conn = connect_hostile();
    let dest = local_scratch("hostliar");
    let (r, failures) = get_r(&conn, "/liar", &dest, std::ptr::null());
    r.unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    let small = std::fs::read(dest.join("liar/small.bin")).unwrap();
    assert_eq!(
        small.len(),
        3 * 1024 * 1024,
        "listed as 10 bytes, copied whole"
    );
    assert!(small
        .iter()
        .enumerate()
        .all(|(i, b)| *b == ((i * 7) & 0xff) as u8));
    assert_eq!(
        std::fs::read(dest.join("liar/huge.bin")).unwrap(),
        b"five!",
        "listed as 1 TB, 5 bytes copied"
    );
}
