//! A scripted hostile SFTP server (paramiko, tests/hostile/sftp_server.py)
//! sends names with '..', '/', NUL and control characters, duplicates,
//! symlink loops and sizes that lie. Nothing may be written outside the
//! destination, nothing may hang, and every case has a clear code.

mod common;

use common::*;
use psftp::capi::file::*;
use psftp::capi::helpers::*;
use psftp::capi::tree::*;
use std::ffi::{c_int, c_void, CStr};
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
    // Copy-all recreates the links as they are, without following them;
    // copy (safe links) leaves out these absolute ones.
    let o = opts(PSFTP_ON_ERROR_STOP, PSFTP_SYMLINKS_COPY_ALL);
    let copied = local_scratch("hostcopy");
    get_r(&conn, "/loop", &copied, o).0.unwrap();
    assert_eq!(
        std::fs::read_link(copied.join("loop/self")).unwrap(),
        Path::new("/loop")
    );
    psftp_transfer_opts_free(o);
    let o = opts(PSFTP_ON_ERROR_STOP, PSFTP_SYMLINKS_COPY);
    let safe = local_scratch("hostsafe");
    get_r(&conn, "/loop", &safe, o).0.unwrap();
    assert_eq!(files_under(&safe.join("loop")), ["data.txt"]);
    assert!(std::fs::symlink_metadata(safe.join("loop/self")).is_err());
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

// ---- Integrity against scripted misbehaviour (issue 13) ----------------

/// The bytes of the hostile server's /short files (its generator,
/// mirrored).
fn short_data() -> Vec<u8> {
    (0..3 * 1024 * 1024 + 123)
        .map(|i: usize| ((i * 13 + i / 251) & 0xff) as u8)
        .collect()
}

/// A fresh directory in the writable area: its path on the server and on
/// disk.
fn hostile_dir(tag: &str) -> (String, std::path::PathBuf) {
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{tag}-{}-{n}", std::process::id());
    hostile_server();
    let disk = hostile_root().join(&name);
    std::fs::create_dir_all(&disk).unwrap();
    (format!("/w/{name}"), disk)
}

/// Everything in `dir` whose name marks psftp's temporary files.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".psftp."))
        .collect();
    v.sort();
    v
}

fn put_r(conn: &Conn, local: &Path, remote: &str) -> Result<(), Fail> {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            c(local.to_str().unwrap()).as_ptr(),
            c(remote).as_ptr(),
            true,
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut f,
        )
    };
    unsafe { psftp_failure_list_free(f) };
    check(rc)
}

#[test]
fn early_end_of_file_fails_the_get_and_keeps_the_old_file() {
    let conn = connect_hostile();
    let ldir = local_scratch("trunc");
    let local = ldir.join("half.bin");
    std::fs::write(&local, b"the good old copy").unwrap();
    // fstat promises 1,000,000 bytes; the server ends the file at 500,000.
    let msg = assert_fail(
        get(&conn, "/trunc/half.bin", &local),
        PSFTP_E_SFTP,
        &["'/trunc/half.bin'", "500000 of the 1000000"],
    );
    assert!(msg.contains("shrank"), "{msg}");
    assert_eq!(std::fs::read(&local).unwrap(), b"the good old copy");
    assert!(!ldir.join(".half.bin.psftp.part").exists());
    // The same promise holds for a file streamed by a tree operation (and
    // for one listed small enough to be batched): each is a failure.
    let o = opts(PSFTP_ON_ERROR_CONTINUE, PSFTP_SYMLINKS_SKIP);
    let dest = ldir.join("tree");
    let (r, failures) = get_r(&conn, "/trunc", &dest, o);
    psftp_transfer_opts_free(o);
    assert_fail(r, PSFTP_E_SFTP, &["2 entries failed"]);
    let mut failed: Vec<&str> = failures.iter().map(|f| f.0.as_str()).collect();
    failed.sort();
    assert_eq!(failed, ["big.bin", "half.bin"], "{failures:?}");
    assert!(
        failures.iter().all(|f| f.2.contains("promised")),
        "{failures:?}"
    );
    assert_eq!(files_under(&dest), ["trunc/ok.bin"], "no truncated copy");
    // getfo cannot take back what it delivered, but it says so.
    let mut sink = Vec::<u8>::new();
    let rc = unsafe {
        psftp_getfo(
            conn.0,
            c("/trunc/half.bin").as_ptr(),
            Some(collect),
            None,
            &mut sink as *mut Vec<u8> as *mut c_void,
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_SFTP, &["500000 of the 1000000"]);
}

unsafe extern "C" fn collect(data: *const u8, len: usize, ud: *mut c_void) -> c_int {
    (*(ud as *mut Vec<u8>)).extend_from_slice(std::slice::from_raw_parts(data, len));
    0
}

fn open_file(conn: &Conn, path: &str) -> *mut psftp_file {
    let mut f = std::ptr::null_mut();
    check(unsafe { psftp_open(conn.0, c(path).as_ptr(), c("r").as_ptr(), -1, &mut f) }).unwrap();
    f
}

fn read_all(f: *mut psftp_file, step: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut buf = vec![0u8; step];
        let mut got = 0;
        check(unsafe { psftp_file_read(f, buf.as_mut_ptr() as *mut c_void, step, &mut got) })
            .unwrap();
        if got == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..got]);
    }
}

#[test]
fn short_reads_of_any_length_give_the_exact_bytes() {
    let conn = connect_hostile();
    let data = short_data();
    let ldir = local_scratch("short");
    get(&conn, "/short/data.bin", &ldir.join("data.bin")).unwrap();
    assert!(std::fs::read(ldir.join("data.bin")).unwrap() == data);
    let (r, failures) = get_r(&conn, "/short", &ldir.join("tree"), std::ptr::null());
    r.unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(std::fs::read(ldir.join("tree/short/data.bin")).unwrap() == data);
    assert!(std::fs::read(ldir.join("tree/short/small.bin")).unwrap() == data[..100_000]);
    let f = open_file(&conn, "/short/data.bin");
    assert!(read_all(f, 70_000) == data, "open/read");
    check(psftp_file_close(f)).unwrap();
}

#[test]
fn request_sizes_follow_what_the_server_accepts_and_are_logged() {
    let ldir = local_scratch("sizes");
    let log = ldir.join("psftp.log");
    let conn = connect_hostile_as("test", Some(&log));
    // paramiko announces no limits@openssh.com, but takes packets up to
    // 16 MiB: reads (and writes) of 255 KiB, not the draft's 32 KiB.
    let name = format!("sizes-{}", std::process::id());
    get(&conn, &format!("/reads/{name}"), &ldir.join("r")).unwrap();
    let asked = read_log(&conn, &name);
    assert_eq!(asked.first(), Some(&(0, 261_120)), "{asked:?}");
    // A server that cuts reads short (pkg/sftp: 32 KiB) gets reads of the
    // size it answers with; the bytes are exact either way.
    get(&conn, "/capped/data.bin", &ldir.join("capped")).unwrap();
    assert!(std::fs::read(ldir.join("capped")).unwrap() == short_data()[..2_000_000]);
    // Uploads use the same size (a 1 MB file in four requests).
    let (wdir, wdisk) = hostile_dir("sizes");
    std::fs::write(ldir.join("up"), pattern(1_000_000, 4)).unwrap();
    put(&conn, &ldir.join("up"), &format!("{wdir}/up")).unwrap();
    assert_eq!(
        std::fs::read(wdisk.join("up")).unwrap(),
        pattern(1_000_000, 4)
    );
    drop(conn);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("up to 261120 bytes read, 261120 bytes written: paramiko"),
        "{text}"
    );
    assert!(
        text.contains("the server shortens reads: reading 32768 bytes per request"),
        "{text}"
    );
}

#[test]
fn max_request_size_caps_every_read_and_write_request() {
    const CAP: u64 = 32 * 1024;
    let ldir = local_scratch("cap");
    let log = ldir.join("psftp.log");
    let conn = connect_hostile_tuned("test", Some(&log), |o| {
        check(psftp_cnopts_set_max_request_size(o.0, CAP as u32)).unwrap();
    });
    // paramiko's server takes 255 KiB (see the test above): the cap wins.
    let name = format!("cap-{}", std::process::id());
    get(&conn, &format!("/reads/{name}"), &ldir.join("r")).unwrap();
    let asked = read_log(&conn, &name);
    assert!(asked.len() >= 10, "{asked:?}");
    assert!(asked.iter().all(|&(_, n)| n <= CAP), "{asked:?}");
    // Reads through a file object too.
    let f = open_file(&conn, &format!("/reads/{name}-file"));
    assert_eq!(read_all(f, 200_000).len(), 300_000);
    check(psftp_file_close(f)).unwrap();
    let asked = read_log(&conn, &format!("{name}-file"));
    assert!(asked.iter().all(|&(_, n)| n <= CAP), "{asked:?}");
    // Writes: a 1 MB put arrives in requests of at most 32 KiB, byte-exact.
    let (wdir, wdisk) = hostile_dir("cap");
    std::fs::write(ldir.join("up"), pattern(1_000_000, 5)).unwrap();
    put(&conn, &ldir.join("up"), &format!("{wdir}/up")).unwrap();
    assert!(std::fs::read(wdisk.join("up")).unwrap() == pattern(1_000_000, 5));
    let written = write_log(&conn, wdir.trim_start_matches("/w/"));
    assert_eq!(written.iter().map(|&(_, n)| n).sum::<u64>(), 1_000_000);
    assert!(written.iter().all(|&(_, n)| n <= CAP), "{written:?}");
    drop(conn);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("up to 32768 bytes read, 32768 bytes written: max_request_size 32768"),
        "{text}"
    );
}

#[test]
fn a_max_request_size_out_of_range_is_refused_naming_the_parameter() {
    let opts = Opts::new(None);
    for bad in [1, 1023, 261_121, u32::MAX] {
        let e = check(psftp_cnopts_set_max_request_size(opts.0, bad)).unwrap_err();
        assert_eq!(e.code, PSFTP_E_INVALID_ARG);
        assert!(e.msg.contains("max_request_size"), "{}", e.msg);
        assert!(e.msg.contains(&bad.to_string()), "{}", e.msg);
    }
    for good in [0, 1024, 32_768, 261_120] {
        check(psftp_cnopts_set_max_request_size(opts.0, good)).unwrap();
    }
}

/// The READ requests the hostile server saw for /reads/NAME.
fn read_log(conn: &Conn, name: &str) -> Vec<(u64, u64)> {
    request_log(conn, &format!("/_reads/{name}"))
}

/// The WRITE requests the hostile server saw to files under /w/DIR.
fn write_log(conn: &Conn, dir: &str) -> Vec<(u64, u64)> {
    request_log(conn, &format!("/_writes/{dir}"))
}

/// "offset length" lines of one of the hostile server's request logs.
fn request_log(conn: &Conn, log: &str) -> Vec<(u64, u64)> {
    let mut sink = Vec::<u8>::new();
    let rc = unsafe {
        psftp_getfo(
            conn.0,
            c(log).as_ptr(),
            Some(collect),
            None,
            &mut sink as *mut Vec<u8> as *mut c_void,
            std::ptr::null_mut(),
        )
    };
    check(rc).unwrap();
    String::from_utf8(sink)
        .unwrap()
        .lines()
        .map(|l| {
            let (o, n) = l.split_once(' ').unwrap();
            (o.parse().unwrap(), n.parse().unwrap())
        })
        .collect()
}

#[test]
fn buffered_reads_never_ask_past_the_known_end_of_the_file() {
    const SIZE: u64 = 300_000;
    let conn = connect_hostile();
    let name = format!("tail-{}", std::process::id());
    let f = open_file(&conn, &format!("/reads/{name}"));
    let mut pos = 0;
    check(unsafe { psftp_file_seek(f, -10, PSFTP_SEEK_END, &mut pos) }).unwrap();
    assert_eq!(pos, SIZE - 10);
    let mut buf = [0u8; 4];
    let mut got = 0;
    for _ in 0..3 {
        check(unsafe { psftp_file_read(f, buf.as_mut_ptr() as *mut c_void, 4, &mut got) }).unwrap();
    }
    assert_eq!(got, 2, "the last two bytes");
    check(unsafe { psftp_file_seek(f, 1000, PSFTP_SEEK_SET, &mut pos) }).unwrap();
    let rest = read_all(f, 1);
    assert_eq!(rest.len() as u64, SIZE - 1000);
    check(psftp_file_close(f)).unwrap();
    let asked = read_log(&conn, &name);
    let past: Vec<_> = asked.iter().filter(|(o, _)| *o > SIZE).collect();
    assert!(past.is_empty(), "read-ahead past the end: {past:?}");
    let total: u64 = asked.iter().map(|(_, n)| n).sum();
    assert!(
        total < 2 * SIZE,
        "{total} bytes asked for a {SIZE}-byte file: {asked:?}"
    );
}

#[test]
fn a_listing_that_never_ends_is_stopped_naming_the_directory() {
    let conn = connect_hostile();
    assert_fail(
        listdir(&conn, "/endless"),
        PSFTP_E_SFTP,
        &["'/endless'", "already listed"],
    );
    let (r, failures) = get_r(
        &conn,
        "/endless",
        &local_scratch("endless"),
        std::ptr::null(),
    );
    assert_fail(r, PSFTP_E_SFTP, &["already listed"]);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].0, "/endless");
    let rc = unsafe {
        psftp_walktree(
            conn.0,
            c("/endless").as_ptr(),
            None,
            None,
            None,
            true,
            std::ptr::null_mut(),
        )
    };
    assert_fail(check(rc), PSFTP_E_SFTP, &["'/endless'"]);
    // The connection is still in step.
    assert_eq!(listdir(&conn, "/trunc").unwrap().len(), 3);
}

#[test]
fn a_server_refusing_setstat_still_gets_its_files_replaced() {
    let conn = connect_hostile_as("nosetstat", None);
    let (wdir, disk) = hostile_dir("nosetstat");
    let ldir = local_scratch("nosetstat");
    std::fs::write(disk.join("f"), b"old").unwrap();
    std::fs::write(ldir.join("f"), b"new content").unwrap();
    // Keeping the old mode fails; the file is replaced anyway.
    put(&conn, &ldir.join("f"), &format!("{wdir}/f")).unwrap();
    assert_eq!(std::fs::read(disk.join("f")).unwrap(), b"new content");
    assert_eq!(leftovers(&disk), Vec::<String>::new());
    // Times the caller asked for cannot be set: an error, the old file
    // stays, and no part file is left.
    std::fs::write(ldir.join("f"), b"newer").unwrap();
    let r = put_full(
        &conn,
        &ldir.join("f"),
        &format!("{wdir}/f"),
        NO_PROGRESS,
        true,
        true,
        std::ptr::null(),
    );
    assert_fail(r, PSFTP_E_PERMISSION, &["setstat"]);
    assert_eq!(std::fs::read(disk.join("f")).unwrap(), b"new content");
    assert_eq!(leftovers(&disk), Vec::<String>::new());
    // Tree uploads over existing files, too.
    let tree = ldir.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a"), b"tree a").unwrap();
    std::fs::write(tree.join("sub/b"), pattern(2_000_000, 1)).unwrap();
    put_r(&conn, &tree, &wdir).unwrap();
    std::fs::write(tree.join("a"), b"tree a, again").unwrap();
    put_r(&conn, &tree, &wdir).unwrap();
    assert_eq!(std::fs::read(disk.join("a")).unwrap(), b"tree a, again");
    assert_eq!(
        std::fs::read(disk.join("sub/b")).unwrap(),
        pattern(2_000_000, 1)
    );
    assert_eq!(leftovers(&disk), Vec::<String>::new());
    assert_eq!(leftovers(&disk.join("sub")), Vec::<String>::new());
}

#[test]
fn a_rename_that_refuses_to_replace_falls_back_without_losing_the_old_file() {
    for user in ["noclobber", "noposix"] {
        let conn = connect_hostile_as(user, None);
        let (wdir, disk) = hostile_dir(user);
        let ldir = local_scratch(user);
        std::fs::write(disk.join("f"), b"old").unwrap();
        std::fs::write(ldir.join("f"), b"new").unwrap();
        for round in 0..2 {
            // (the second time the server's refusal is already known)
            put(&conn, &ldir.join("f"), &format!("{wdir}/f")).unwrap();
            assert_eq!(
                std::fs::read(disk.join("f")).unwrap(),
                b"new",
                "{user} {round}"
            );
            assert_eq!(leftovers(&disk), Vec::<String>::new(), "{user}");
            std::fs::write(disk.join("f"), b"old").unwrap();
        }
        // Tree uploads over existing files.
        let tree = ldir.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        for i in 0..20 {
            std::fs::write(tree.join(format!("t{i}")), format!("v1 {i}")).unwrap();
        }
        std::fs::write(tree.join("large"), pattern(1_500_000, 2)).unwrap();
        put_r(&conn, &tree, &wdir).unwrap();
        for i in 0..20 {
            std::fs::write(tree.join(format!("t{i}")), format!("v2 {i}")).unwrap();
        }
        std::fs::write(tree.join("large"), pattern(1_500_000, 3)).unwrap();
        put_r(&conn, &tree, &wdir).unwrap();
        assert_eq!(std::fs::read(disk.join("t7")).unwrap(), b"v2 7", "{user}");
        assert_eq!(
            std::fs::read(disk.join("large")).unwrap(),
            pattern(1_500_000, 3)
        );
        assert_eq!(leftovers(&disk), Vec::<String>::new(), "{user}");
        // The new file cannot be put in place after the old one was moved
        // aside: the old one is moved back, and nothing else remains.
        std::fs::write(disk.join("fail-place"), b"precious").unwrap();
        let r = put(&conn, &ldir.join("f"), &format!("{wdir}/fail-place"));
        assert_fail(r, PSFTP_E_SFTP, &["fail-place"]);
        assert_eq!(
            std::fs::read(disk.join("fail-place")).unwrap(),
            b"precious",
            "{user}"
        );
        assert_eq!(leftovers(&disk), Vec::<String>::new(), "{user}");
    }
}

#[test]
fn links_are_made_the_right_way_round_on_a_draft_order_server() {
    let conn = connect_hostile_as("draftlink", None);
    let (wdir, disk) = hostile_dir("draftlink");
    std::fs::create_dir(disk.join("ops")).unwrap();
    let target = format!("b-{}.txt", std::process::id());
    std::fs::write(disk.join(&target), b"b").unwrap();
    check(unsafe { psftp_chdir(conn.0, c(&wdir).as_ptr()) }).unwrap();
    for link in ["ops/link", "ops/link2"] {
        // (the second link uses the order the first one found)
        let rc = unsafe { psftp_symlink(conn.0, c(&target).as_ptr(), c(link).as_ptr()) };
        check(rc).unwrap();
        assert_eq!(
            std::fs::read_link(disk.join(link)).unwrap(),
            Path::new(&target),
            "{link} points at the target"
        );
    }
    // No link was left the wrong way round (named like the target, in the
    // server's starting directory).
    assert!(std::fs::symlink_metadata(hostile_root().join(&target)).is_err());
    assert_eq!(std::fs::read(disk.join(&target)).unwrap(), b"b");
    // The same server as OpenSSH reads it: right the first time.
    let conn = connect_hostile_as("test", None);
    check(unsafe { psftp_chdir(conn.0, c(&wdir).as_ptr()) }).unwrap();
    let rc = unsafe { psftp_symlink(conn.0, c(&target).as_ptr(), c("ops/link3").as_ptr()) };
    check(rc).unwrap();
    assert_eq!(
        std::fs::read_link(disk.join("ops/link3")).unwrap(),
        Path::new(&target)
    );
}

/// A small tree with files of several WRITEs each (a server psftp does not
/// know gets 32 KiB requests), in nested directories, with set mtimes.
fn nested_tree(root: &Path) -> Vec<(String, Vec<u8>, i64)> {
    let mut files = Vec::new();
    for (i, dir) in ["", "a", "a/b", "a/b/c", "a/d"].iter().enumerate() {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        for j in 0..4 {
            let rel = if dir.is_empty() {
                format!("f{j}.bin")
            } else {
                format!("{dir}/f{j}.bin")
            };
            let data: Vec<u8> = (0..(i * 4 + j) * 9_001 + 1)
                .map(|k| ((k * 7 + i * 31 + j) & 0xff) as u8)
                .collect();
            let mtime = 1_500_000_000 + (i * 10 + j) as i64;
            let path = root.join(&rel);
            std::fs::write(&path, &data).unwrap();
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime as u64);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(t)
                .unwrap();
            files.push((rel, data, mtime));
        }
    }
    files
}

#[test]
fn a_server_running_requests_out_of_order_gets_and_gives_whole_files() {
    use std::os::unix::fs::MetadataExt;
    let local = local_scratch("reorder");
    let log = local.join("psftp.log");
    let conn = connect_hostile_reordering(Some(&log));
    let (wdir, disk) = hostile_dir("reorder");
    let src = local.join("src");
    let files = nested_tree(&src);
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            c(src.to_str().unwrap()).as_ptr(),
            c(&wdir).as_ptr(),
            true,
            true,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut f,
        )
    };
    unsafe { psftp_failure_list_free(f) };
    check(rc).unwrap();
    for (rel, data, mtime) in &files {
        let on_disk = std::fs::read(disk.join(rel)).unwrap();
        assert!(on_disk == *data, "put_r: {rel} arrived whole");
        let m = std::fs::metadata(disk.join(rel)).unwrap().mtime();
        assert_eq!(m, *mtime, "put_r: the mtime of {rel}");
    }
    for dir in ["", "a", "a/b", "a/b/c", "a/d"] {
        assert_eq!(leftovers(&disk.join(dir)), Vec::<String>::new(), "{dir}");
    }

    let dest = local.join("dest");
    std::fs::create_dir(&dest).unwrap();
    let (r, failures) = get_r(&conn, &wdir, &dest, std::ptr::null());
    r.unwrap();
    assert_eq!(failures, Vec::new());
    let got = dest.join(wdir.trim_start_matches('/'));
    for (rel, data, _) in &files {
        let copy = std::fs::read(got.join(rel)).unwrap();
        assert!(copy == *data, "get_r: {rel} arrived whole");
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("wait for their replies"),
        "the log says why: {logged}"
    );
}
