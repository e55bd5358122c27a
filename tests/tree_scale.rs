//! Trees larger than the walk's queue (issue 20): get_r and put_r walk and
//! transfer at once, so memory stays flat however many files there are;
//! every byte arrives, progress totals grow as the walk goes, and a sync
//! rerun skips what is there. One test in its own binary: the peak RSS it
//! checks is the whole process's.

mod common;

use common::*;

use psftp::capi::tree::*;
use std::ffi::c_void;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Files in the big tree: well above the walk's queue (4,096 files).
const FILES: usize = 20_000;

/// `n` small files, 100 per directory; returns (relative name, bytes).
fn make_tree(root: &Path, n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let name = format!("d{:03}/f{:03}", i / 100, i % 100);
            let data = pattern(16 + i % 48, i as u8);
            let p = root.join(&name);
            if i % 100 == 0 {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            }
            std::fs::write(&p, &data).unwrap();
            (name, data)
        })
        .collect()
}

fn assert_tree(root: &Path, files: &[(String, Vec<u8>)]) {
    for (name, data) in files {
        let got = std::fs::read(root.join(name)).unwrap_or_default();
        assert!(&got == data, "{name} is byte-exact");
    }
}

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Start the peak RSS (VmHWM) over from the RSS now: the process's start
/// (loading this binary) peaks above what a tree operation adds.
fn reset_peak_rss() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    status_kib("VmRSS:")
}

/// Every progress call: (files_done, files_total).
type Calls = Vec<(u64, u64)>;

unsafe extern "C" fn record(p: *const psftp_tree_progress, ud: *mut c_void) -> i32 {
    let calls = &mut *(ud as *mut Calls);
    calls.push(((*p).files_done, (*p).files_total));
    0
}

struct TOpts(*mut psftp_transfer_opts);

impl TOpts {
    fn new() -> TOpts {
        let mut p = std::ptr::null_mut();
        check(unsafe { psftp_transfer_opts_new(&mut p) }).unwrap();
        TOpts(p)
    }
}

impl Drop for TOpts {
    fn drop(&mut self) {
        psftp_transfer_opts_free(self.0)
    }
}

fn get_r(conn: &Conn, remote: &Path, local: &Path, opts: &TOpts, calls: &mut Calls) {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(remote.to_str().unwrap()).as_ptr(),
            c(local.to_str().unwrap()).as_ptr(),
            true,
            Some(record),
            calls as *mut Calls as *mut c_void,
            opts.0,
            &mut f,
        )
    };
    unsafe { psftp_failure_list_free(f) };
    check(rc).unwrap();
}

fn put_r(conn: &Conn, local: &Path, remote: &Path, calls: &mut Calls) {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            c(local.to_str().unwrap()).as_ptr(),
            c(remote.to_str().unwrap()).as_ptr(),
            true,
            false,
            Some(record),
            calls as *mut Calls as *mut c_void,
            std::ptr::null(),
            &mut f,
        )
    };
    unsafe { psftp_failure_list_free(f) };
    check(rc).unwrap();
}

/// The walk runs ahead of the transfer by at most its queue: the first
/// progress call sees less than the whole tree, the last the whole tree,
/// and files_done never goes back or passes the total.
fn assert_streamed(calls: &Calls, n: u64) {
    let (first, last) = (calls.first().unwrap(), calls.last().unwrap());
    assert!(
        first.1 < n,
        "the transfer started before the walk ended: {first:?}"
    );
    assert_eq!(*last, (n, n));
    for w in calls.windows(2) {
        assert!(w[1].0 >= w[0].0 && w[1].1 >= w[0].1, "{w:?}");
    }
    assert!(calls.iter().all(|(done, total)| done <= total));
}

#[test]
fn trees_larger_than_the_walk_queue_stream_with_flat_memory() {
    let conn = connect();
    let remote = remote_scratch("scale");
    let files = make_tree(&remote.join("t"), FILES);
    // A warm-up the size of one queue: every connection of the pool and its
    // buffers exist before the peak is taken.
    let warm = remote_scratch("scale-warm");
    make_tree(&warm.join("t"), 4000);
    let opts = TOpts::new();
    get_r(
        &conn,
        &warm.join("t"),
        &local_scratch("scale-warm"),
        &opts,
        &mut Vec::new(),
    );
    let before = reset_peak_rss();

    let local = local_scratch("scale");
    let mut calls = Calls::new();
    get_r(&conn, &remote.join("t"), &local, &opts, &mut calls);
    let landed = local
        .join(".")
        .join(remote.join("t").strip_prefix("/").unwrap());
    assert_tree(&landed, &files);
    assert_streamed(&calls, FILES as u64);

    let up = remote_scratch("scale-up");
    let mut calls = Calls::new();
    put_r(&conn, &landed, &up, &mut calls);
    assert_tree(&up, &files);
    assert_streamed(&calls, FILES as u64);
    let grew = status_kib("VmHWM:").saturating_sub(before);

    // A sync rerun finds every file there (same size and mtime): none is
    // written again.
    let sample = landed.join("d150/f042");
    let ino = std::fs::metadata(&sample).unwrap().ino();
    let sync = TOpts::new();
    check(psftp_transfer_opts_set_sync(sync.0, true)).unwrap();
    let mut calls = Calls::new();
    get_r(&conn, &remote.join("t"), &local, &sync, &mut calls);
    assert_eq!(std::fs::metadata(&sample).unwrap().ino(), ino, "skipped");
    assert_eq!(*calls.last().unwrap(), (FILES as u64, FILES as u64));

    // Planning the whole tree first took about 1 KiB per file (20 MiB
    // here); the bounded walk takes none per file.
    assert!(
        grew < 8 * 1024,
        "peak RSS grew {grew} KiB over {FILES} files"
    );
}
