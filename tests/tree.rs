//! get_d, get_r, put_d, put_r through the C ABI against the real sshd:
//! byte-for-byte trees, mtimes, modes, sync, filters, symlink and error
//! policies, cancellation, parallel = sequential.

mod common;

use common::*;

use psftp::capi::tree::*;
use std::collections::BTreeMap;
use std::ffi::{c_void, CStr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Transfer options through the C API, freed on drop, plus the progress
/// callback the tree calls take.
struct XOpts(
    *mut psftp_transfer_opts,
    psftp_tree_progress_cb,
    *mut c_void,
);

impl XOpts {
    fn new() -> XOpts {
        let mut p = std::ptr::null_mut();
        check(unsafe { psftp_transfer_opts_new(&mut p) }).unwrap();
        XOpts(p, None, std::ptr::null_mut())
    }
    fn progress<T>(mut self, cb: psftp_tree_progress_cb, data: &mut T) -> XOpts {
        self.1 = cb;
        self.2 = data as *mut T as *mut c_void;
        self
    }
    fn parallel(self, n: i32) -> XOpts {
        check(psftp_transfer_opts_set_parallelism(self.0, n)).unwrap();
        self
    }
}

impl Drop for XOpts {
    fn drop(&mut self) {
        psftp_transfer_opts_free(self.0)
    }
}

type Failures = Vec<(String, i32, String)>;

fn take_failures(list: *mut psftp_failure_list) -> Failures {
    assert!(!list.is_null(), "the failure list is always written");
    let l = unsafe { &*list };
    let v = (0..l.count)
        .map(|i| {
            let f = unsafe { &**l.items.add(i) };
            assert_eq!(f.struct_size, std::mem::size_of::<psftp_failure>());
            let s = |p| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
            (s(f.path), f.code, s(f.message))
        })
        .collect();
    unsafe { psftp_failure_list_free(list) };
    v
}

fn get_r(
    conn: &Conn,
    remote: &Path,
    local: &Path,
    mtime: bool,
    opts: &XOpts,
) -> (Result<(), Fail>, Failures) {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(remote.to_str().unwrap()).as_ptr(),
            c(local.to_str().unwrap()).as_ptr(),
            mtime,
            opts.1,
            opts.2,
            opts.0,
            &mut f,
        )
    };
    (check(rc), take_failures(f))
}

fn put_r(
    conn: &Conn,
    local: &Path,
    remote: &Path,
    mtime: bool,
    opts: &XOpts,
) -> (Result<(), Fail>, Failures) {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            c(local.to_str().unwrap()).as_ptr(),
            c(remote.to_str().unwrap()).as_ptr(),
            true,
            mtime,
            opts.1,
            opts.2,
            opts.0,
            &mut f,
        )
    };
    (check(rc), take_failures(f))
}

/// Everything under `root`: relative path -> (kind, size and FNV-1a hash
/// of the bytes or link target).
fn snapshot(root: &Path) -> BTreeMap<String, (char, Digest)> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (char, Digest)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                out.insert(
                    rel,
                    (
                        'l',
                        digest(std::fs::read_link(&p).unwrap().to_str().unwrap().as_bytes()),
                    ),
                );
            } else if m.is_dir() {
                out.insert(rel, ('d', digest(b"")));
                walk(root, &p, out);
            } else {
                out.insert(rel, ('f', digest(&std::fs::read(&p).unwrap())));
            }
        }
    }
    walk(root, root, &mut out);
    out
}

/// Size and FNV-1a hash: compact in assertion messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digest(usize, u64);

fn digest(data: &[u8]) -> Digest {
    let h = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
    });
    Digest(data.len(), h)
}

/// A tree with nesting, an empty directory, unicode names, an empty file
/// and files of several MiB.
fn make_tree(root: &Path, owned_by_test_user: bool) {
    let files: &[(&str, usize)] = &[
        ("top.txt", 100),
        ("empty.bin", 0),
        ("big.bin", 3 * 1024 * 1024 + 11),
        ("a/one.txt", 4096),
        ("a/b/two.txt", 10),
        ("a/b/c/deep.bin", 1024 * 1024 + 1),
        ("ünïcödé/ファイル.txt", 33),
        ("many/f00", 1),
    ];
    std::fs::create_dir_all(root.join("empty_dir")).unwrap();
    for (i, (name, len)) in files.iter().enumerate() {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, pattern(*len, i as u8)).unwrap();
    }
    for i in 1..40 {
        std::fs::write(root.join(format!("many/f{i:02}")), pattern(4096, i)).unwrap();
    }
    if owned_by_test_user {
        chown_tree(root);
    }
}

fn chown_tree(root: &Path) {
    chown_to_test_user(root);
    for e in std::fs::read_dir(root).unwrap() {
        let p = e.unwrap().path();
        chown_to_test_user(&p);
        if p.is_dir() && !p.is_symlink() {
            chown_tree(&p);
        }
    }
}

#[test]
fn get_r_copies_the_tree_byte_for_byte_where_pysftp_puts_it() {
    let conn = connect();
    let remote = remote_scratch("getr");
    make_tree(&remote.join("public"), true);
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    std::fs::File::options()
        .write(true)
        .open(remote.join("public/a/one.txt"))
        .unwrap()
        .set_modified(when)
        .unwrap();
    let local = local_scratch("getr");
    check(unsafe { psftp_chdir(conn.0, c(remote.to_str().unwrap()).as_ptr()) }).unwrap();
    // pysftp: get_r('public', 'local-backup') lands in local-backup/public.
    let (r, failures) = get_r(
        &conn,
        Path::new("public"),
        &local.join("backup"),
        true,
        &XOpts::new(),
    );
    r.unwrap();
    assert!(failures.is_empty());
    assert_eq!(
        snapshot(&local.join("backup/public")),
        snapshot(&remote.join("public"))
    );
    assert_eq!(mtime(&local.join("backup/public/a/one.txt")), 1_500_000_000);
    assert!(local.join("backup/public/empty_dir").is_dir());
    // An absolute remotedir is reparented: backup/./abs/path.
    let abs = local.join("abs");
    let (r, _) = get_r(&conn, &remote.join("public/a"), &abs, false, &XOpts::new());
    r.unwrap();
    let landed = abs
        .join(".")
        .join(remote.join("public/a").strip_prefix("/").unwrap());
    assert_eq!(snapshot(&landed), snapshot(&remote.join("public/a")));
    // get_r('.', 'new/dir') creates new/dir, as pysftp's makedirs does.
    check(unsafe { psftp_chdir(conn.0, c(remote.join("public").to_str().unwrap()).as_ptr()) })
        .unwrap();
    let (r, _) = get_r(
        &conn,
        Path::new("."),
        &local.join("new/dir"),
        false,
        &XOpts::new(),
    );
    r.unwrap();
    assert_eq!(
        snapshot(&local.join("new/dir")),
        snapshot(&remote.join("public"))
    );
}

#[test]
fn put_r_copies_the_contents_and_accepts_existing_directories() {
    let conn = connect();
    let local = local_scratch("putr");
    make_tree(&local, false);
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_400_000_000);
    std::fs::File::options()
        .write(true)
        .open(local.join("a/b/two.txt"))
        .unwrap()
        .set_modified(when)
        .unwrap();
    let remote = remote_scratch("putr").join("static");
    for _ in 0..2 {
        let (r, failures) = put_r(&conn, &local, &remote, true, &XOpts::new());
        r.unwrap();
        assert!(failures.is_empty(), "{failures:?}");
    }
    assert_eq!(snapshot(&remote), snapshot(&local));
    assert_eq!(mtime(&remote.join("a/b/two.txt")), 1_400_000_000);
    let no_parts = snapshot(&remote).keys().all(|k| !k.contains(".psftp.part"));
    assert!(no_parts, "no temporary files left");
}

#[test]
fn get_d_and_put_d_copy_only_the_files_directly_inside() {
    let conn = connect();
    let remote = remote_scratch("getd");
    make_tree(&remote, true);
    let local = local_scratch("getd").join("images");
    let mut f = std::ptr::null_mut();
    check(unsafe {
        psftp_get_d(
            conn.0,
            c(remote.to_str().unwrap()).as_ptr(),
            c(local.to_str().unwrap()).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut f,
        )
    })
    .unwrap();
    assert!(take_failures(f).is_empty());
    let got: Vec<String> = snapshot(&local).into_keys().collect();
    assert_eq!(got, ["big.bin", "empty.bin", "top.txt"]);
    assert_eq!(
        std::fs::read(local.join("big.bin")).unwrap(),
        std::fs::read(remote.join("big.bin")).unwrap()
    );
    let dest = remote_scratch("putd");
    check(unsafe {
        psftp_put_d(
            conn.0,
            c(local.to_str().unwrap()).as_ptr(),
            c(dest.to_str().unwrap()).as_ptr(),
            true,
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null_mut(),
        )
    })
    .unwrap();
    assert_eq!(snapshot(&dest), snapshot(&local));
}

#[test]
fn parallel_runs_match_sequential_ones() {
    let conn = connect();
    let local = local_scratch("par");
    make_tree(&local, false);
    let remote = remote_scratch("par");
    for n in [1, 2, 8] {
        let dest = remote.join(format!("p{n}"));
        let (r, _) = put_r(&conn, &local, &dest, false, &XOpts::new().parallel(n));
        r.unwrap();
        assert_eq!(
            snapshot(&dest),
            snapshot(&local),
            "put_r with {n} connections"
        );
        let back = local_scratch("parback");
        let (r, _) = get_r(&conn, &dest, &back, false, &XOpts::new().parallel(n));
        r.unwrap();
        let landed = back.join(".").join(dest.strip_prefix("/").unwrap());
        assert_eq!(
            snapshot(&landed),
            snapshot(&local),
            "get_r with {n} connections"
        );
    }
}

#[test]
fn preserve_mode_copies_permission_bits_both_ways() {
    let conn = connect();
    let local = local_scratch("mode");
    std::fs::create_dir(local.join("d")).unwrap();
    std::fs::write(local.join("d/script"), b"#!/bin/sh\n").unwrap();
    std::fs::write(local.join("secret"), b"s").unwrap();
    std::fs::set_permissions(
        local.join("d/script"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    std::fs::set_permissions(local.join("secret"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(local.join("d"), std::fs::Permissions::from_mode(0o711)).unwrap();
    let opts = XOpts::new();
    check(psftp_transfer_opts_set_preserve_mode(opts.0, true)).unwrap();
    let remote = remote_scratch("mode");
    put_r(&conn, &local, &remote, false, &opts).0.unwrap();
    assert_eq!(mode(&remote.join("d/script")) & 0o777, 0o750);
    assert_eq!(mode(&remote.join("secret")) & 0o777, 0o600);
    assert_eq!(mode(&remote.join("d")) & 0o777, 0o711);
    let back = local_scratch("modeback");
    get_r(&conn, &remote, &back, false, &opts).0.unwrap();
    let landed = back.join(".").join(remote.strip_prefix("/").unwrap());
    assert_eq!(mode(&landed.join("d/script")) & 0o777, 0o750);
    assert_eq!(mode(&landed.join("secret")) & 0o777, 0o600);
    assert_eq!(mode(&landed.join("d")) & 0o777, 0o711);
    // Without the option, modes follow the umask (pysftp's behaviour).
    let plain = local_scratch("modeplain");
    get_r(&conn, &remote, &plain, false, &XOpts::new())
        .0
        .unwrap();
    let landed = plain.join(".").join(remote.strip_prefix("/").unwrap());
    assert_eq!(mode(&landed.join("secret")) & 0o777, 0o644);
}

#[test]
fn sync_mode_skips_unchanged_files_and_copies_changed_ones() {
    let conn = connect();
    let remote = remote_scratch("sync");
    make_tree(&remote, true);
    let local = local_scratch("sync");
    let opts = XOpts::new();
    check(psftp_transfer_opts_set_sync(opts.0, true)).unwrap();
    get_r(&conn, &remote, &local, false, &opts).0.unwrap();
    let landed = local.join(".").join(remote.strip_prefix("/").unwrap());
    assert_eq!(snapshot(&landed), snapshot(&remote));
    let inode = |p: &Path| std::fs::metadata(p).unwrap().ino();
    let before: Vec<u64> = ["top.txt", "many/f05", "big.bin"]
        .iter()
        .map(|f| inode(&landed.join(f)))
        .collect();
    // Change one file remotely (new content and mtime).
    std::fs::write(remote.join("many/f05"), b"changed").unwrap();
    let mut calls: TreeCalls = Vec::new();
    let opts = opts.progress(Some(record_tree), &mut calls);
    get_r(&conn, &remote, &local, false, &opts).0.unwrap();
    assert_eq!(std::fs::read(landed.join("many/f05")).unwrap(), b"changed");
    assert_eq!(
        inode(&landed.join("top.txt")),
        before[0],
        "unchanged: skipped"
    );
    assert_eq!(
        inode(&landed.join("big.bin")),
        before[2],
        "unchanged: skipped"
    );
    assert_ne!(
        inode(&landed.join("many/f05")),
        before[1],
        "changed: copied"
    );
    let last = calls.last().unwrap();
    assert_eq!(last.0, last.1, "all files accounted for: {last:?}");
    // Upload direction: a second put_r with sync sends nothing new.
    let dest = remote_scratch("syncput");
    let popts = XOpts::new();
    check(psftp_transfer_opts_set_sync(popts.0, true)).unwrap();
    put_r(&conn, &landed, &dest, false, &popts).0.unwrap();
    let ino_before = inode(&dest.join("a/one.txt"));
    put_r(&conn, &landed, &dest, false, &popts).0.unwrap();
    assert_eq!(
        inode(&dest.join("a/one.txt")),
        ino_before,
        "remote file not replaced"
    );
    assert_eq!(snapshot(&dest), snapshot(&landed));
}

/// (files_done, files_total, bytes_done, bytes_total, path)
type TreeCalls = Vec<(u64, u64, u64, u64, String)>;

unsafe extern "C" fn record_tree(p: *const psftp_tree_progress, ud: *mut c_void) -> i32 {
    let calls = &mut *(ud as *mut TreeCalls);
    let p = &*p;
    let path = CStr::from_ptr(p.current_path).to_str().unwrap().to_string();
    calls.push((
        p.files_done,
        p.files_total,
        p.bytes_done,
        p.bytes_total,
        path,
    ));
    0
}

#[test]
fn include_and_exclude_filters() {
    let conn = connect();
    let remote = remote_scratch("filter");
    make_tree(&remote, true);
    let local = local_scratch("filter");
    let opts = XOpts::new();
    for inc in ["*.txt", "many/f0?"] {
        check(unsafe { psftp_transfer_opts_add_include(opts.0, c(inc).as_ptr()) }).unwrap();
    }
    check(unsafe { psftp_transfer_opts_add_exclude(opts.0, c("a/b").as_ptr()) }).unwrap();
    get_r(&conn, &remote, &local, false, &opts).0.unwrap();
    let landed = local.join(".").join(remote.strip_prefix("/").unwrap());
    let files: Vec<String> = snapshot(&landed)
        .into_iter()
        .filter(|(_, (k, _))| *k == 'f')
        .map(|(p, _)| p)
        .collect();
    let mut want = vec!["a/one.txt", "top.txt", "ünïcödé/ファイル.txt"];
    want.extend([
        "many/f00", "many/f01", "many/f02", "many/f03", "many/f04", "many/f05", "many/f06",
        "many/f07", "many/f08", "many/f09",
    ]);
    want.sort();
    assert_eq!(files, want);
    assert!(
        !landed.join("a/b").exists(),
        "excluded directory not created"
    );
    assert_fail(
        check(unsafe { psftp_transfer_opts_add_include(opts.0, c("[").as_ptr()) }),
        PSFTP_E_INVALID_ARG,
        &["pattern", "'['"],
    );
}

struct Cancel {
    calls: usize,
    at: usize,
}

unsafe extern "C" fn cancel_at(_p: *const psftp_tree_progress, ud: *mut c_void) -> i32 {
    let c = &mut *(ud as *mut Cancel);
    c.calls += 1;
    (c.calls >= c.at) as i32
}

#[test]
fn cancelling_midway_stops_and_leaves_no_partial_files() {
    let conn = connect();
    let local = local_scratch("cancel");
    make_tree(&local, false);
    for i in 0..6 {
        std::fs::write(
            local.join(format!("large{i}.bin")),
            pattern(6 * 1024 * 1024, i),
        )
        .unwrap();
    }
    let remote = remote_scratch("cancel");
    let opts = XOpts::new().parallel(2);
    let mut c = Cancel { calls: 0, at: 3 };
    let opts = opts.progress(Some(cancel_at), &mut c);
    let (r, _) = put_r(&conn, &local, &remote, false, &opts);
    assert_fail(r, PSFTP_E_USER, &["progress"]);
    let snap = snapshot(&remote);
    assert!(
        snap.keys().all(|k| !k.contains(".psftp.part")),
        "no partial uploads: {:?}",
        snap.keys()
    );
    for (k, (kind, d)) in &snap {
        if *kind == 'f' {
            assert_eq!(
                *d,
                digest(&std::fs::read(local.join(k)).unwrap()),
                "{k} is complete"
            );
        }
    }
    assert!(
        snap.values().filter(|(k, _)| *k == 'f').count() < 48,
        "stopped before the end"
    );
    // Download direction.
    let full = remote_scratch("cancelget");
    put_r(&conn, &local, &full, false, &XOpts::new()).0.unwrap();
    let back = local_scratch("cancelback");
    let opts = XOpts::new().parallel(2);
    let mut c = Cancel { calls: 0, at: 2 };
    let opts = opts.progress(Some(cancel_at), &mut c);
    assert_fail(
        get_r(&conn, &full, &back, false, &opts).0,
        PSFTP_E_USER,
        &[],
    );
    let snap = snapshot(&back);
    assert!(
        snap.keys().all(|k| !k.contains(".psftp.part")),
        "no partial downloads"
    );
    // The connection still works afterwards.
    assert!(listdir(&conn, full.to_str().unwrap()).is_ok());
}

#[test]
fn error_policy_stop_or_continue_and_report_every_path() {
    let conn = connect();
    let remote = remote_scratch("errs");
    make_tree(&remote, true);
    // Two files the test user cannot read.
    for f in ["a/one.txt", "many/f07"] {
        std::os::unix::fs::chown(remote.join(f), Some(0), Some(0)).unwrap();
        std::fs::set_permissions(remote.join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let local = local_scratch("errs");
    let stop = XOpts::new().parallel(1);
    let (r, failures) = get_r(&conn, &remote, &local, false, &stop);
    assert_fail(r, PSFTP_E_PERMISSION, &["Permission denied"]);
    assert_eq!(failures.len(), 1, "{failures:?}");
    let cont = XOpts::new();
    check(psftp_transfer_opts_set_on_error(
        cont.0,
        PSFTP_ON_ERROR_CONTINUE,
    ))
    .unwrap();
    let (r, failures) = get_r(&conn, &remote, &local, false, &cont);
    let msg = assert_fail(r, PSFTP_E_PERMISSION, &["2 entries failed"]);
    let mut paths: Vec<&str> = failures.iter().map(|f| f.0.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["a/one.txt", "many/f07"], "{msg}");
    assert!(failures
        .iter()
        .all(|f| f.1 == PSFTP_E_PERMISSION && f.2.contains("Permission denied")));
    let landed = local.join(".").join(remote.strip_prefix("/").unwrap());
    assert_eq!(
        std::fs::read(landed.join("many/f08")).unwrap(),
        std::fs::read(remote.join("many/f08")).unwrap(),
        "the rest was copied"
    );
    assert!(!landed.join("a/one.txt").exists());
}

struct DeleteLater {
    victim: PathBuf,
}

unsafe extern "C" fn delete_on_first_call(_p: *const psftp_tree_progress, ud: *mut c_void) -> i32 {
    let d = &mut *(ud as *mut DeleteLater);
    let _ = std::fs::remove_file(&d.victim);
    0
}

#[test]
fn an_unreadable_local_file_is_reported_and_the_others_go_on() {
    let conn = connect();
    let local = local_scratch("unreadable");
    make_tree(&local, false);
    // Large files go first; the small victim vanishes before its turn.
    let mut d = DeleteLater {
        victim: local.join("many/f33"),
    };
    let opts = XOpts::new().parallel(1);
    check(psftp_transfer_opts_set_on_error(
        opts.0,
        PSFTP_ON_ERROR_CONTINUE,
    ))
    .unwrap();
    let opts = opts.progress(Some(delete_on_first_call), &mut d);
    let remote = remote_scratch("unreadable");
    let (r, failures) = put_r(&conn, &local, &remote, false, &opts);
    assert_fail(r, PSFTP_E_LOCAL_IO, &["f33"]);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, "many/f33");
    assert_eq!(
        snapshot(&remote),
        snapshot(&local),
        "everything else arrived"
    );
}

fn make_links(root: &Path) {
    std::fs::create_dir_all(root.join("d/sub")).unwrap();
    std::fs::write(root.join("d/sub/file"), b"inside").unwrap();
    std::fs::write(root.join("f"), b"f").unwrap();
    std::os::unix::fs::symlink("f", root.join("to_file")).unwrap();
    std::os::unix::fs::symlink("d", root.join("to_dir")).unwrap();
    std::os::unix::fs::symlink("..", root.join("d/up_loop")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("outside")).unwrap();
    std::os::unix::fs::symlink("../../escape", root.join("d/escape")).unwrap();
    std::os::unix::fs::symlink("nowhere", root.join("dangling")).unwrap();
}

fn links_opts(policy: i32) -> XOpts {
    let o = XOpts::new();
    check(psftp_transfer_opts_set_symlinks(o.0, policy)).unwrap();
    o
}

#[test]
fn symlink_policies_skip_follow_copy_never_loop() {
    let conn = connect();
    let remote = remote_scratch("links");
    make_links(&remote);
    chown_tree(&remote);
    let keys = |p: &Path| {
        snapshot(p)
            .into_iter()
            .map(|(k, (t, _))| format!("{t} {k}"))
            .collect::<Vec<_>>()
    };
    let fetch = |policy: i32| {
        let local = local_scratch("links");
        get_r(&conn, &remote, &local, false, &links_opts(policy))
            .0
            .unwrap();
        local.join(".").join(remote.strip_prefix("/").unwrap())
    };
    assert_eq!(
        keys(&fetch(PSFTP_SYMLINKS_SKIP)),
        ["d d", "d d/sub", "f d/sub/file", "f f"]
    );
    let followed = fetch(PSFTP_SYMLINKS_FOLLOW);
    assert_eq!(
        keys(&followed),
        [
            "d d",
            "d d/sub",
            "f d/sub/file",
            "f f",
            "d to_dir",
            "d to_dir/sub",
            "f to_dir/sub/file",
            "f to_file"
        ]
    );
    // Copy recreates the links that stay inside the tree (safe links, the
    // default); COPY_ALL also the absolute and escaping ones, verbatim.
    let copied = fetch(PSFTP_SYMLINKS_COPY);
    assert_eq!(
        std::fs::read_link(copied.join("d/up_loop")).unwrap(),
        Path::new("..")
    );
    assert_eq!(
        std::fs::read_link(copied.join("dangling")).unwrap(),
        Path::new("nowhere")
    );
    for unsafe_link in ["outside", "d/escape"] {
        assert!(
            std::fs::symlink_metadata(copied.join(unsafe_link)).is_err(),
            "{unsafe_link} points outside the tree: not recreated"
        );
    }
    assert_eq!(keys(&copied).len(), 8);
    let all = fetch(PSFTP_SYMLINKS_COPY_ALL);
    assert_eq!(
        std::fs::read_link(all.join("outside")).unwrap(),
        Path::new("/etc")
    );
    assert_eq!(
        std::fs::read_link(all.join("d/escape")).unwrap(),
        Path::new("../../escape")
    );
    assert_eq!(keys(&all).len(), 10);
    // Uploads follow the same rules.
    let local = local_scratch("linksup");
    make_links(&local);
    let dest = remote_scratch("linksup");
    put_r(
        &conn,
        &local,
        &dest,
        false,
        &links_opts(PSFTP_SYMLINKS_FOLLOW),
    )
    .0
    .unwrap();
    assert_eq!(keys(&dest), keys(&followed));
    let dest2 = remote_scratch("linksup2");
    put_r(
        &conn,
        &local,
        &dest2,
        false,
        &links_opts(PSFTP_SYMLINKS_COPY),
    )
    .0
    .unwrap();
    assert_eq!(
        std::fs::read_link(dest2.join("to_dir")).unwrap(),
        Path::new("d")
    );
    assert!(std::fs::symlink_metadata(dest2.join("outside")).is_err());
    assert!(std::fs::symlink_metadata(dest2.join("d/escape")).is_err());
    let dest3 = remote_scratch("linksup3");
    put_r(
        &conn,
        &local,
        &dest3,
        false,
        &links_opts(PSFTP_SYMLINKS_COPY_ALL),
    )
    .0
    .unwrap();
    assert_eq!(
        std::fs::read_link(dest3.join("outside")).unwrap(),
        Path::new("/etc")
    );
    assert_fail(
        check(psftp_transfer_opts_set_symlinks(XOpts::new().0, 7)),
        PSFTP_E_INVALID_ARG,
        &["policy"],
    );
}

#[test]
fn a_symlinked_directory_inside_the_destination_is_never_written_through() {
    let conn = connect();
    let remote = remote_scratch("trap");
    make_tree(&remote, true);
    let local = local_scratch("trap");
    let landed = local.join(".").join(remote.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&landed).unwrap();
    let outside = local_scratch("outside");
    std::os::unix::fs::symlink(&outside, landed.join("a")).unwrap();
    let opts = XOpts::new();
    check(psftp_transfer_opts_set_on_error(
        opts.0,
        PSFTP_ON_ERROR_CONTINUE,
    ))
    .unwrap();
    let (r, failures) = get_r(&conn, &remote, &local, false, &opts);
    assert_fail(r, PSFTP_E_UNSAFE_PATH, &["symlink"]);
    assert!(failures.iter().all(|f| f.1 == PSFTP_E_UNSAFE_PATH));
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written through the link"
    );
    assert_eq!(
        std::fs::read(landed.join("top.txt")).unwrap(),
        std::fs::read(remote.join("top.txt")).unwrap()
    );
}

#[test]
fn bad_roots_and_arguments() {
    let conn = connect();
    let local = local_scratch("badroot");
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c("/no/such/dir").as_ptr(),
            c(local.to_str().unwrap()).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut f,
        )
    };
    assert_fail(check(rc), PSFTP_E_NOT_FOUND, &["/no/such/dir"]);
    assert!(take_failures(f).is_empty());
    let file = remote_scratch("badroot").join("file");
    put_remote_file(&file, b"x");
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(file.to_str().unwrap()).as_ptr(),
            c(local.to_str().unwrap()).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut f,
        )
    };
    assert_fail(check(rc), PSFTP_E_NOT_A_DIRECTORY, &["not a directory"]);
    take_failures(f);
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            c("/no/such/local").as_ptr(),
            c("/tmp").as_ptr(),
            true,
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut f,
        )
    };
    assert_fail(check(rc), PSFTP_E_LOCAL_IO, &["/no/such/local"]);
    take_failures(f);
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            std::ptr::null(),
            c("/tmp").as_ptr(),
            true,
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut f,
        )
    };
    assert_fail(check(rc), PSFTP_E_INVALID_ARG, &["localpath"]);
    assert!(f.is_null(), "no list for invalid arguments");
    for n in [0, -1, 65] {
        assert_fail(
            check(psftp_transfer_opts_set_parallelism(XOpts::new().0, n)),
            PSFTP_E_INVALID_ARG,
            &["connections"],
        );
    }
}

#[test]
fn progress_reports_files_and_bytes_to_the_totals() {
    let conn = connect();
    let local = local_scratch("prog");
    make_tree(&local, false);
    let total: u64 = snapshot(&local)
        .values()
        .filter(|(k, _)| *k == 'f')
        .map(|(_, d)| d.0 as u64)
        .sum();
    let opts = XOpts::new();
    let mut calls: TreeCalls = Vec::new();
    let opts = opts.progress(Some(record_tree), &mut calls);
    put_r(&conn, &local, &remote_scratch("prog"), false, &opts)
        .0
        .unwrap();
    let last = calls.last().unwrap();
    assert_eq!((last.0, last.1), (47, 47), "{last:?}");
    assert_eq!((last.2, last.3), (total, total));
    assert!(
        calls
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].2 <= w[1].2),
        "monotonic"
    );
    assert!(calls.iter().any(|c| c.4 == "big.bin"));
}

struct Reenter {
    conn: *mut psftp_conn,
    codes: Vec<i32>,
}

unsafe extern "C" fn reenter(_p: *const psftp_tree_progress, ud: *mut c_void) -> i32 {
    let r = &mut *(ud as *mut Reenter);
    let mut out = std::ptr::null_mut();
    r.codes.push(psftp_pwd(r.conn, &mut out));
    psftp_string_free(out);
    0
}

/// Calls share the connection (issue 18): a tree operation's progress
/// callback may use it while the operation's workers do.
#[test]
fn a_tree_progress_callback_may_use_its_own_connection() {
    let conn = connect();
    let remote = remote_scratch("reenter");
    make_tree(&remote, true);
    let local = local_scratch("reenter");
    let mut r = Reenter {
        conn: conn.0,
        codes: Vec::new(),
    };
    let opts = XOpts::new().parallel(1).progress(Some(reenter), &mut r);
    get_r(&conn, &remote, &local, false, &opts).0.unwrap();
    assert!(!r.codes.is_empty());
    assert!(r.codes.iter().all(|c| *c == PSFTP_OK), "{:?}", r.codes);
    // After the operation the connection is free again.
    assert!(string_out(|o| unsafe { psftp_pwd(conn.0, o) }).is_ok());
}

/// A tree progress callback that calls psftp_pwd on its connection and
/// records the result code and how long the call took.
struct TimedReenter {
    conn: *mut psftp_conn,
    calls: Vec<(i32, std::time::Duration)>,
}

unsafe extern "C" fn reenter_timed(_p: *const psftp_tree_progress, ud: *mut c_void) -> i32 {
    let r = &mut *(ud as *mut TimedReenter);
    let mut out = std::ptr::null_mut();
    let start = std::time::Instant::now();
    let rc = psftp_pwd(r.conn, &mut out);
    r.calls.push((rc, start.elapsed()));
    psftp_string_free(out);
    0
}

/// A connection handle to share between threads (psftp_conn is
/// thread-safe).
struct SendConn(*mut psftp_conn);
unsafe impl Send for SendConn {}
unsafe impl Sync for SendConn {}

impl SendConn {
    fn get(&self) -> *mut psftp_conn {
        self.0
    }
}

/// While a second thread runs its own get_r on the same connection, the
/// first thread's progress callback uses the connection too, every time
/// (issue 18: calls share the connection instead of waiting for it).
#[test]
fn two_threads_get_r_on_one_connection_and_the_callbacks_use_it_too() {
    let conn = connect();
    let remote = remote_scratch("reenter2");
    make_tree(&remote, true);
    let shared = SendConn(conn.0);
    let (local_a, local_b) = (local_scratch("reenter2a"), local_scratch("reenter2b"));
    let run = |local: &Path, with_callback: bool| {
        let conn = Conn(shared.get());
        let mut r = TimedReenter {
            conn: conn.0,
            calls: Vec::new(),
        };
        let opts = XOpts::new().parallel(4);
        let opts = if with_callback {
            opts.progress(Some(reenter_timed), &mut r)
        } else {
            opts
        };
        let (result, failures) = get_r(&conn, &remote, local, false, &opts);
        std::mem::forget(conn); // the test owns the connection
        (result, failures, r.calls)
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(&local_a, true));
        let b = s.spawn(|| run(&local_b, false));
        (a.join().unwrap(), b.join().unwrap())
    });
    a.0.unwrap();
    b.0.unwrap();
    assert!(a.1.is_empty() && b.1.is_empty());
    let calls = a.2;
    assert!(calls.len() >= 10, "{} progress calls", calls.len());
    let codes: Vec<i32> = calls.iter().map(|c| c.0).collect();
    let slowest = calls.iter().map(|c| c.1).max().unwrap();
    eprintln!(
        "{} re-entering calls, the slowest took {slowest:?}",
        calls.len()
    );
    assert!(
        codes.iter().all(|c| *c == PSFTP_OK),
        "every re-entering call runs: {codes:?}"
    );
    for local in [&local_a, &local_b] {
        assert_eq!(
            snapshot(&local.join(remote.strip_prefix("/").unwrap())),
            snapshot(&remote)
        );
    }
}
