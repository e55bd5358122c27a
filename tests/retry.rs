//! Retries and tree resume (issue 17): a relay cuts the link during a get,
//! a put and a get_r; with retries the result is byte-exact and the retry
//! count is exact, without them the call fails cleanly and the old content
//! stays. An interrupted get_r / put_r rerun with resume continues its part
//! files instead of starting over.

mod common;

use common::relay::Relay;
use common::*;

use psftp::capi::file::*;
use psftp::capi::tree::*;
use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::path::Path;

fn via_relay(relay: &Relay) -> Conn {
    let s = server();
    let opts = Opts::new(None);
    let mut login = Login::password(s);
    login.port = relay.port;
    // The relay's port is not the server's known_hosts name.
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    login.connect(&opts).expect("connect through the relay")
}

/// Transfer options, freed on drop.
struct XOpts(*mut psftp_transfer_opts);

impl XOpts {
    fn new() -> XOpts {
        let mut p = std::ptr::null_mut();
        check(unsafe { psftp_transfer_opts_new(&mut p) }).unwrap();
        XOpts(p)
    }
    fn retries(self, n: i32) -> XOpts {
        check(psftp_transfer_opts_set_retries(self.0, n, 0.05)).unwrap();
        self
    }
    fn resume(self) -> XOpts {
        check(psftp_transfer_opts_set_resume(self.0, true)).unwrap();
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

/// Cuts the relay when progress passes each threshold, at most once per
/// connection made (so every cut hits a fresh attempt), and records
/// whether progress ever went back.
struct Cutter<'a> {
    relay: &'a Relay,
    at: Vec<u64>,
    cuts: usize,
    conns_at_cut: u64,
    last: u64,
    went_back: bool,
}

impl<'a> Cutter<'a> {
    fn new(relay: &'a Relay, at: Vec<u64>) -> Cutter<'a> {
        Cutter {
            relay,
            at,
            cuts: 0,
            conns_at_cut: 0,
            last: 0,
            went_back: false,
        }
    }

    fn see(&mut self, done: u64) {
        self.went_back |= done < self.last;
        self.last = done;
        let due = self.at.get(self.cuts).is_some_and(|&t| done >= t);
        if due && self.relay.connections() > self.conns_at_cut {
            self.conns_at_cut = self.relay.connections();
            self.cuts += 1;
            self.relay.cut();
        }
    }
}

unsafe extern "C" fn cut_on_bytes(done: u64, _total: u64, ud: *mut c_void) -> c_int {
    (*(ud as *mut Cutter<'_>)).see(done);
    0
}

unsafe extern "C" fn cut_on_files(p: *const psftp_tree_progress, ud: *mut c_void) -> c_int {
    (*(ud as *mut Cutter<'_>)).see((*p).files_done);
    0
}

fn retries() -> c_int {
    psftp_last_retries()
}

#[test]
fn a_get_cut_three_times_retries_and_is_byte_exact() {
    const MIB: usize = 1024 * 1024;
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("retry-get");
    let data = pattern(256 * MIB, 17);
    put_remote_file(&rdir.join("big"), &data);
    let remote = rdir.join("big");
    let remote = remote.to_str().unwrap();
    let ldir = local_scratch("retry-get");
    let dest = ldir.join("big");
    std::fs::write(&dest, b"old content").unwrap();
    let quarters = vec![64 * MIB as u64, 128 * MIB as u64, 192 * MIB as u64];

    // Without retries: a clean failure, the old content kept, no debris.
    let conn = via_relay(&relay);
    let mut cut = Cutter::new(&relay, quarters.clone());
    let r = get_full(
        &conn,
        remote,
        &dest,
        progress_to(cut_on_bytes, &mut cut),
        false,
        std::ptr::null(),
    );
    assert_fail(r, PSFTP_E_CONNECTION_LOST, &[]);
    assert_eq!(retries(), 0);
    assert_eq!(std::fs::read(&dest).unwrap(), b"old content");
    assert!(!ldir.join(".big.psftp.part").exists());
    drop(conn);

    // With retries: three cuts, three retries, the exact bytes.
    let conn = via_relay(&relay);
    let before = relay.connections();
    // One connection (no split even if the busy machine's loopback looks
    // slow): a split transfer's retry is tested below.
    let xo = XOpts::new().retries(5).parallel(1);
    let mut cut = Cutter::new(&relay, quarters);
    get_full(
        &conn,
        remote,
        &dest,
        progress_to(cut_on_bytes, &mut cut),
        false,
        xo.0,
    )
    .unwrap();
    assert_eq!(cut.cuts, 3);
    assert_eq!(retries(), 3);
    assert_eq!(relay.connections() - before, 3, "one reconnect per cut");
    assert!(!cut.went_back, "progress never goes back");
    assert_eq!(cut.last, data.len() as u64);
    assert!(std::fs::read(&dest).unwrap() == data, "byte-exact");
    assert!(!ldir.join(".big.psftp.part").exists());
    assert!(!ldir.join(".big.psftp.resume").exists());
    // Resumed, not restarted: well under two copies went down the link.
    assert!(relay.bytes_down() < 2 * data.len() as u64 + 64 * MIB as u64);
    // The caller's handle works again, in the same working directory.
    assert_eq!(stat(&conn, remote).unwrap().size, data.len() as u64);
    drop(conn);
    std::fs::remove_file(&dest).unwrap();
}

#[test]
fn a_split_get_cut_twice_retries_and_starts_the_file_over() {
    const MIB: usize = 1024 * 1024;
    // 20 ms each way: slow enough to split a download (from a 30 ms round
    // trip), over 4 connections since the parallelism is chosen (by
    // default the extra ones join only if the first is slow).
    let relay = Relay::with_delay(server().port, std::time::Duration::from_millis(20));
    let rdir = remote_scratch("retry-split");
    let data = pattern(96 * MIB, 9);
    put_remote_file(&rdir.join("big"), &data);
    let remote = rdir.join("big");
    let ldir = local_scratch("retry-split");
    let dest = ldir.join("big");
    let conn = via_relay(&relay);
    let xo = XOpts::new().retries(3).parallel(4);
    let before = relay.connections();
    let mut cut = Cutter::new(&relay, vec![32 * MIB as u64, 64 * MIB as u64]);
    get_full(
        &conn,
        remote.to_str().unwrap(),
        &dest,
        progress_to(cut_on_bytes, &mut cut),
        false,
        xo.0,
    )
    .unwrap();
    assert_eq!((cut.cuts, retries()), (2, 2));
    assert!(
        relay.connections() - before >= 2 + 3,
        "reconnects, and extra connections: the file was split"
    );
    assert!(!cut.went_back);
    assert!(std::fs::read(&dest).unwrap() == data, "byte-exact");
    assert_eq!(walk(&ldir).count(), 1, "no part file or record left");
}

#[test]
fn a_put_cut_twice_retries_and_is_byte_exact() {
    const MIB: usize = 1024 * 1024;
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("retry-put");
    let ldir = local_scratch("retry-put");
    let data = pattern(48 * MIB, 5);
    std::fs::write(ldir.join("up"), &data).unwrap();
    let remote = rdir.join("up");
    put_remote_file(&remote, b"old remote content");
    let at = vec![12 * MIB as u64, 30 * MIB as u64];

    let conn = via_relay(&relay);
    let mut cut = Cutter::new(&relay, at.clone());
    let r = put_full(
        &conn,
        &ldir.join("up"),
        remote.to_str().unwrap(),
        progress_to(cut_on_bytes, &mut cut),
        true,
        false,
        std::ptr::null(),
    );
    assert_fail(r, PSFTP_E_CONNECTION_LOST, &[]);
    assert_eq!(std::fs::read(&remote).unwrap(), b"old remote content");
    drop(conn);

    let conn = via_relay(&relay);
    let xo = XOpts::new().retries(3);
    let mut cut = Cutter::new(&relay, at);
    let up_before = relay.bytes_up();
    let attrs = put_full(
        &conn,
        &ldir.join("up"),
        remote.to_str().unwrap(),
        progress_to(cut_on_bytes, &mut cut),
        true,
        false,
        xo.0,
    )
    .unwrap();
    assert_eq!(attrs.size, data.len() as u64);
    assert_eq!((cut.cuts, retries()), (2, 2));
    assert!(!cut.went_back);
    assert!(std::fs::read(&remote).unwrap() == data, "byte-exact");
    assert!(!rdir.join(".up.psftp.part").exists());
    assert!(!rdir.join(".up.psftp.resume").exists());
    assert!(
        relay.bytes_up() - up_before < data.len() as u64 + 40 * MIB as u64,
        "resumed, not restarted"
    );
}

#[test]
fn a_file_opened_before_a_reconnect_never_writes_into_another_file() {
    const MIB: usize = 1024 * 1024;
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("retry-file");
    let data = pattern(8 * MIB, 4);
    put_remote_file(&rdir.join("big"), &data);
    let (first, second) = (rdir.join("first"), rdir.join("second"));
    let conn = via_relay(&relay);
    let open = |path: &Path| {
        let mut f = std::ptr::null_mut();
        let (p, mode) = (c(path.to_str().unwrap()), c("w"));
        check(unsafe { psftp_open(conn.0, p.as_ptr(), mode.as_ptr(), 0, &mut f) }).unwrap();
        f
    };
    let write = |f, data: &[u8]| {
        check(unsafe { psftp_file_write(f, data.as_ptr() as *const c_void, data.len()) })
    };
    let f1 = open(&first);
    // A get cut once reconnects the connection in place.
    let ldir = local_scratch("retry-file");
    let xo = XOpts::new().retries(2).parallel(1);
    let mut cut = Cutter::new(&relay, vec![2 * MIB as u64]);
    let big = rdir.join("big");
    let progress = progress_to(cut_on_bytes, &mut cut);
    get_full(
        &conn,
        big.to_str().unwrap(),
        &ldir.join("big"),
        progress,
        false,
        xo.0,
    )
    .unwrap();
    assert_eq!(retries(), 1);
    // The new session's first handle has the value f1's had (OpenSSH
    // reuses handle numbers): f1's bytes must not land in it.
    let f2 = open(&second);
    assert_fail(
        write(f1, b"stray"),
        PSFTP_E_CONNECTION_LOST,
        &["first", "reconnected", "open it again"],
    );
    write(f2, b"mine").unwrap();
    check(psftp_file_close(f2)).unwrap();
    let _ = psftp_file_close(f1);
    assert_eq!(std::fs::read(&second).unwrap(), b"mine");
    assert_eq!(
        std::fs::read(&first).unwrap(),
        b"",
        "f1 was opened, never written"
    );
}

fn get_r(
    conn: &Conn,
    remote: &Path,
    local: &Path,
    cb: psftp_tree_progress_cb,
    ud: *mut c_void,
    opts: &XOpts,
) -> Result<(), Fail> {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(remote.to_str().unwrap()).as_ptr(),
            c(local.to_str().unwrap()).as_ptr(),
            false,
            cb,
            ud,
            opts.0,
            &mut f,
        )
    };
    unsafe { psftp_failure_list_free(f) };
    check(rc)
}

fn put_r(
    conn: &Conn,
    local: &Path,
    remote: &Path,
    cb: psftp_tree_progress_cb,
    ud: *mut c_void,
    opts: &XOpts,
) -> Result<(), Fail> {
    let mut f = std::ptr::null_mut();
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            c(local.to_str().unwrap()).as_ptr(),
            c(remote.to_str().unwrap()).as_ptr(),
            true,
            false,
            cb,
            ud,
            opts.0,
            &mut f,
        )
    };
    unsafe { psftp_failure_list_free(f) };
    check(rc)
}

/// 500 files in 10 directories: small ones (batched) and a few of 2 MiB
/// (streamed).
fn make_500(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for i in 0..500usize {
        let name = format!("d{}/f{i:03}", i % 10);
        let len = if i % 100 == 7 { 2 << 20 } else { 1000 + i * 37 };
        let data = pattern(len, i as u8);
        let p = root.join(&name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &data).unwrap();
        files.push((name, data));
    }
    files
}

#[test]
fn a_get_r_of_500_files_cut_three_times_retries_and_is_byte_exact() {
    let relay = Relay::start(server().port);
    let rroot = remote_scratch("retry-tree");
    let files = make_500(&rroot.join("t"));
    let ldir = local_scratch("retry-tree");
    let dest = landing(&ldir, &rroot.join("t"));
    std::fs::create_dir_all(dest.join("d3")).unwrap();
    std::fs::write(dest.join("d3/f003"), b"old").unwrap();
    let at = vec![100, 200, 300];

    // Without retries: a clean failure; every file is old or whole.
    let conn = via_relay(&relay);
    let xo = XOpts::new();
    let mut cut = Cutter::new(&relay, at.clone());
    let ud = &mut cut as *mut Cutter<'_> as *mut c_void;
    let r = get_r(&conn, &rroot.join("t"), &ldir, Some(cut_on_files), ud, &xo);
    assert_fail(r, PSFTP_E_CONNECTION_LOST, &[]);
    assert_eq!(retries(), 0);
    let mut whole = 0;
    for (name, data) in &files {
        match std::fs::read(dest.join(name)) {
            Ok(got) if &got == data => whole += 1,
            Ok(got) => assert_eq!(got, b"old", "{name} is old or whole"),
            Err(_) => {}
        }
    }
    assert!(whole < files.len(), "the cut stopped it: {whole}");
    let parts = walk(&dest).filter(|p| p.contains(".psftp.")).count();
    assert_eq!(parts, 0, "no part files left without resume or retries");
    drop(conn);

    // With retries: three cuts, three retries, every byte.
    let conn = via_relay(&relay);
    let xo = XOpts::new().retries(5);
    let mut cut = Cutter::new(&relay, at);
    let ud = &mut cut as *mut Cutter<'_> as *mut c_void;
    get_r(&conn, &rroot.join("t"), &ldir, Some(cut_on_files), ud, &xo).unwrap();
    assert_eq!(cut.cuts, 3);
    assert_eq!(retries(), 3);
    assert!(!cut.went_back, "files_done never goes back");
    assert_eq!(cut.last, 500);
    for (name, data) in &files {
        assert!(
            &std::fs::read(dest.join(name)).unwrap() == data,
            "{name} is byte-exact"
        );
    }
    assert_eq!(walk(&dest).filter(|p| p.contains(".psftp.")).count(), 0);
    assert_eq!(walk(&dest).count(), 500);
}

/// More files than the walk's queue holds (4,096), so the walk and the
/// transfer run at once: the first cut comes while the walk is still going,
/// the second after it. Each retried round walks again and leaves out what
/// is done.
#[test]
fn a_get_r_larger_than_the_walk_queue_cut_twice_retries_and_is_byte_exact() {
    let relay = Relay::start(server().port);
    let rroot = remote_scratch("retry-big-tree");
    let mut files = Vec::new();
    for i in 0..6000usize {
        let name = format!("d{:02}/f{i:04}", i / 100);
        let data = pattern(20 + i % 50, i as u8);
        let p = rroot.join("t").join(&name);
        if i % 100 == 0 {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        std::fs::write(&p, &data).unwrap();
        files.push((name, data));
    }
    let ldir = local_scratch("retry-big-tree");
    let dest = landing(&ldir, &rroot.join("t"));
    let conn = via_relay(&relay);
    let xo = XOpts::new().retries(5);
    let mut cut = Cutter::new(&relay, vec![500, 5000]);
    let ud = &mut cut as *mut Cutter<'_> as *mut c_void;
    get_r(&conn, &rroot.join("t"), &ldir, Some(cut_on_files), ud, &xo).unwrap();
    assert_eq!(cut.cuts, 2);
    assert_eq!(retries(), 2);
    assert!(!cut.went_back, "files_done never goes back");
    assert_eq!(cut.last, 6000);
    for (name, data) in &files {
        assert!(
            &std::fs::read(dest.join(name)).unwrap() == data,
            "{name} is byte-exact"
        );
    }
    assert_eq!(walk(&dest).filter(|p| p.contains(".psftp.")).count(), 0);
    assert_eq!(walk(&dest).count(), 6000);
}

/// Where get_r puts an absolute remote directory (pysftp's reparent).
fn landing(ldir: &Path, remote: &Path) -> std::path::PathBuf {
    ldir.join(".").join(remote.strip_prefix("/").unwrap())
}

/// Every file under `root`, as paths relative to it.
fn walk(root: &Path) -> impl Iterator<Item = String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        // Tolerant: part_bytes runs while a transfer renames and removes.
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push(e.path());
            } else {
                let p = e.path();
                out.push(p.strip_prefix(root).unwrap().to_str().unwrap().to_string());
            }
        }
    }
    out.into_iter()
}

/// Stops a tree operation once its part files under `dir` hold this many
/// bytes: a transfer is then surely midway, whichever files the walk
/// handed out first (a stop at a share of the bytes could fall between
/// two files).
struct StopAt {
    dir: std::path::PathBuf,
    bytes: u64,
}

unsafe extern "C" fn stop_at_bytes(_: *const psftp_tree_progress, ud: *mut c_void) -> c_int {
    let s = &*(ud as *const StopAt);
    c_int::from(part_bytes(&s.dir) >= s.bytes)
}

/// Files of 24, 40 and 56 MiB and a few small ones: part files of 8 MiB
/// and more are seen while two connections move them.
fn make_resumable(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for i in 0..8usize {
        let len = if i < 3 { (24 + 16 * i) << 20 } else { 5000 };
        let name = format!("f{i}");
        let data = pattern(len, 40 + i as u8);
        std::fs::create_dir_all(root).unwrap();
        std::fs::write(root.join(&name), &data).unwrap();
        files.push((name, data));
    }
    files
}

#[test]
fn an_interrupted_get_r_rerun_with_resume_continues_its_part_files() {
    let relay = Relay::with_delay(server().port, std::time::Duration::from_millis(2));
    let rroot = remote_scratch("tree-resume");
    let files = make_resumable(&rroot.join("t"));
    let total: u64 = files.iter().map(|f| f.1.len() as u64).sum();
    let ldir = local_scratch("tree-resume");
    let conn = via_relay(&relay);
    let xo = XOpts::new().resume().parallel(2);
    let dest = landing(&ldir, &rroot.join("t"));
    let mut stop = StopAt {
        dir: dest.clone(),
        bytes: 8 << 20,
    };
    let ud = &mut stop as *mut StopAt as *mut c_void;
    let r = get_r(&conn, &rroot.join("t"), &ldir, Some(stop_at_bytes), ud, &xo);
    assert_fail(r, PSFTP_E_USER, &[]);
    let parts: Vec<String> = walk(&dest).filter(|p| p.ends_with(".psftp.part")).collect();
    let kept = part_bytes(&dest);
    assert!(
        kept >= 8 << 20,
        "part files kept for resume: {parts:?}, {kept} bytes"
    );

    let down = relay.bytes_down();
    get_r(
        &conn,
        &rroot.join("t"),
        &ldir,
        None,
        std::ptr::null_mut(),
        &xo,
    )
    .unwrap();
    let second = relay.bytes_down() - down;
    for (name, data) in &files {
        assert!(&std::fs::read(dest.join(name)).unwrap() == data);
    }
    assert_eq!(walk(&dest).count(), files.len(), "no debris");
    // Files completed before the stop are copied again (no sync mode):
    // only the part files' bytes are saved.
    assert!(
        second < total - kept / 2,
        "the rerun continued the {kept} bytes of part files: {second} of {total} bytes moved"
    );
}

/// The bytes in part files under `root`.
fn part_bytes(root: &Path) -> u64 {
    walk(root)
        .filter(|p| p.ends_with(".psftp.part"))
        .filter_map(|p| std::fs::metadata(root.join(p)).ok())
        .map(|m| m.len())
        .sum()
}

#[test]
fn an_interrupted_put_r_rerun_with_resume_continues_its_part_files() {
    let relay = Relay::with_delay(server().port, std::time::Duration::from_millis(2));
    let ldir = local_scratch("tree-resume-put");
    let files = make_resumable(&ldir.join("t"));
    let total: u64 = files.iter().map(|f| f.1.len() as u64).sum();
    let rroot = remote_scratch("tree-resume-put");
    let conn = via_relay(&relay);
    let xo = XOpts::new().resume().parallel(2);
    let mut stop = StopAt {
        dir: rroot.clone(),
        bytes: 8 << 20,
    };
    let ud = &mut stop as *mut StopAt as *mut c_void;
    let r = put_r(&conn, &ldir.join("t"), &rroot, Some(stop_at_bytes), ud, &xo);
    assert_fail(r, PSFTP_E_USER, &[]);
    let kept = Cell::new(0);
    wait_for(
        || {
            kept.set(part_bytes(&rroot));
            kept.get() >= 8 << 20
        },
        "part files kept for resume",
    );
    let kept = kept.get();

    let up = relay.bytes_up();
    put_r(
        &conn,
        &ldir.join("t"),
        &rroot,
        None,
        std::ptr::null_mut(),
        &xo,
    )
    .unwrap();
    let second = relay.bytes_up() - up;
    for (name, data) in &files {
        assert!(&std::fs::read(rroot.join(name)).unwrap() == data);
    }
    assert_eq!(walk(&rroot).count(), files.len(), "no debris");
    assert!(
        second < total - kept / 2,
        "the rerun continued the {kept} bytes of part files: {second} of {total} bytes moved"
    );
}

/// The connection pointer for another thread (the C ABI allows calls from
/// several threads on one connection).
#[derive(Clone, Copy)]
struct Shared(*mut psftp_conn);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// A borrowed `Conn` that does not close the connection when dropped.
    fn with<R>(self, f: impl FnOnce(&Conn) -> R) -> R {
        let conn = Conn(self.0);
        let r = f(&conn);
        std::mem::forget(conn);
        r
    }
}

/// Two gets on one connection, progress shared: the relay is cut once,
/// when both have moved 4 MiB (each waits there for the other), so both
/// fail on the same link.
struct CutOnceWhenBoth<'a> {
    relay: &'a Relay,
    done: [std::sync::atomic::AtomicU64; 2],
    cut: std::sync::atomic::AtomicBool,
}

struct Side<'a, 'b>(&'b CutOnceWhenBoth<'a>, usize);

unsafe extern "C" fn cut_when_both(done: u64, _total: u64, ud: *mut c_void) -> c_int {
    use std::sync::atomic::Ordering::SeqCst;
    let Side(shared, me) = &*(ud as *const Side<'_, '_>);
    shared.done[*me].store(done, SeqCst);
    let both = shared.done.iter().all(|d| d.load(SeqCst) >= 4 << 20);
    if both && !shared.cut.swap(true, SeqCst) {
        shared.relay.cut();
    }
    // Past 4 MiB, wait for the other get to get there too (and the cut):
    // so neither can finish before the cut, however the threads run.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while done >= 4 << 20 && !shared.cut.load(SeqCst) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    0
}

/// Review finding 1: two retrying calls on one connection that fail
/// together reconnect once (the first mends the link, the other uses it),
/// and neither shuts the other's new sockets: both byte-exact.
#[test]
fn two_gets_cut_together_on_one_connection_reconnect_once() {
    const MIB: usize = 1024 * 1024;
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("retry-two");
    let ldir = local_scratch("retry-two");
    let data = [pattern(48 * MIB, 21), pattern(48 * MIB + 7, 22)];
    for (i, d) in data.iter().enumerate() {
        put_remote_file(&rdir.join(format!("f{i}")), d);
    }
    let conn = via_relay(&relay);
    let before = relay.connections();
    let shared = CutOnceWhenBoth {
        relay: &relay,
        done: Default::default(),
        cut: Default::default(),
    };
    let conn_p = Shared(conn.0);
    let retries: Vec<i32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let (rdir, ldir, shared) = (&rdir, &ldir, &shared);
                s.spawn(move || {
                    let xo = XOpts::new().retries(3).parallel(1);
                    conn_p.with(|conn| {
                        let mut side = Side(shared, i);
                        let remote = rdir.join(format!("f{i}"));
                        get_full(
                            conn,
                            remote.to_str().unwrap(),
                            &ldir.join(format!("f{i}")),
                            progress_to(cut_when_both, &mut side),
                            false,
                            xo.0,
                        )
                        .unwrap_or_else(|f| panic!("get {i}: {f:?}"));
                        psftp_last_retries()
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(shared.cut.load(std::sync::atomic::Ordering::SeqCst), "cut");
    for (i, d) in data.iter().enumerate() {
        assert!(
            std::fs::read(ldir.join(format!("f{i}"))).unwrap() == *d,
            "get {i} byte-exact"
        );
    }
    assert_eq!(retries, [1, 1], "each get retried once");
    assert_eq!(relay.connections() - before, 1, "exactly one reconnect");
    assert_eq!(
        stat(&conn, rdir.join("f0").to_str().unwrap()).unwrap().size,
        48 * MIB as u64
    );
}

struct ChdirThenCut<'a> {
    conn: *mut psftp_conn,
    relay: &'a Relay,
    to: std::ffi::CString,
    done: bool,
}

unsafe extern "C" fn chdir_then_cut(done: u64, _total: u64, ud: *mut c_void) -> c_int {
    let s = &mut *(ud as *mut ChdirThenCut<'_>);
    if !s.done && done >= 8 << 20 {
        s.done = true;
        check(psftp_chdir(s.conn, s.to.as_ptr())).unwrap();
        s.relay.cut();
    }
    0
}

/// Review finding 7: a retried get continues the file it began, even when
/// the working directory changed before the retry (a relative path is
/// resolved once). Here the get's own progress callback changes it (the
/// simplest reproducible form of another thread's chdir), to a directory
/// holding another file of the same name.
#[test]
fn a_retried_get_of_a_relative_path_gets_the_same_file_after_a_chdir() {
    const MIB: usize = 1024 * 1024;
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("retry-cwd");
    let data = pattern(32 * MIB, 31);
    let other = pattern(32 * MIB, 32);
    std::fs::create_dir_all(rdir.join("a")).unwrap();
    std::fs::create_dir_all(rdir.join("b")).unwrap();
    chown_to_test_user(&rdir.join("a"));
    chown_to_test_user(&rdir.join("b"));
    put_remote_file(&rdir.join("a/f"), &data);
    put_remote_file(&rdir.join("b/f"), &other);
    let ldir = local_scratch("retry-cwd");
    let conn = via_relay(&relay);
    let a = c(rdir.join("a").to_str().unwrap());
    check(unsafe { psftp_chdir(conn.0, a.as_ptr()) }).unwrap();
    let mut s = ChdirThenCut {
        conn: conn.0,
        relay: &relay,
        to: c(rdir.join("b").to_str().unwrap()),
        done: false,
    };
    let xo = XOpts::new().retries(2).parallel(1);
    get_full(
        &conn,
        "f",
        &ldir.join("f"),
        progress_to(chdir_then_cut, &mut s),
        false,
        xo.0,
    )
    .unwrap();
    assert!(s.done);
    assert_eq!(retries(), 1);
    assert!(
        std::fs::read(ldir.join("f")).unwrap() == data,
        "a/f, byte-exact"
    );
}

/// Cuts the relay once, when progress passes `at`.
struct CutOnce<'a> {
    relay: &'a Relay,
    at: u64,
    done: bool,
}

unsafe extern "C" fn cut_once(done: u64, _total: u64, ud: *mut c_void) -> c_int {
    let s = &mut *(ud as *mut CutOnce<'_>);
    if !s.done && done >= s.at {
        s.done = true;
        s.relay.cut();
    }
    0
}

/// Review finding 4: the idle keepalive thread goes on past the broken
/// link of a retry's reconnect. After a get that reconnected, the idle
/// connection still sends keepalives (the relay sees bytes from the
/// client), and a server that goes silent is given up while idle, at
/// interval x count, not first noticed by the next call.
#[test]
fn after_a_retrys_reconnect_an_idle_connection_keeps_alive_and_detects_a_dead_peer() {
    const MIB: usize = 1024 * 1024;
    let relay = Relay::start(server().port);
    let opts = Opts::new(None);
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    // The stall timeout off: only the keepalives can tell.
    check(psftp_cnopts_set_stall_timeout(opts.0, 0.0)).unwrap();
    check(psftp_cnopts_set_keepalive(opts.0, 1)).unwrap();
    check(psftp_cnopts_set_keepalive_count_max(opts.0, 3)).unwrap();
    let mut login = Login::password(server());
    login.port = relay.port;
    let conn = login.connect(&opts).unwrap();

    let rdir = remote_scratch("retry-keepalive");
    let data = pattern(16 * MIB, 41);
    put_remote_file(&rdir.join("f"), &data);
    let ldir = local_scratch("retry-keepalive");
    let mut cut = CutOnce {
        relay: &relay,
        at: 4 * MIB as u64,
        done: false,
    };
    // A delay of a whole second: the keepalive thread sees the broken
    // link before the reconnect replaces it.
    let xo = XOpts::new().parallel(1);
    check(psftp_transfer_opts_set_retries(xo.0, 2, 1.0)).unwrap();
    let before = relay.connections();
    get_full(
        &conn,
        rdir.join("f").to_str().unwrap(),
        &ldir.join("f"),
        progress_to(cut_once, &mut cut),
        false,
        xo.0,
    )
    .unwrap();
    assert_eq!((retries(), relay.connections() - before), (1, 1));
    assert!(std::fs::read(ldir.join("f")).unwrap() == data);

    // Idle on the new link: keepalives go out.
    let up = relay.bytes_up();
    std::thread::sleep(std::time::Duration::from_millis(3500));
    assert!(relay.bytes_up() > up, "no keepalive after the reconnect");

    // Silent while idle: given up at interval x count (3 s), so after 6 s
    // the next call fails at once with that verdict.
    relay.freeze();
    std::thread::sleep(std::time::Duration::from_secs(6));
    let msg = assert_fail(
        listdir(&conn, "."),
        PSFTP_E_CONNECTION_LOST,
        &["answered no keepalive", "keepalive every 1 s, count max 3"],
    );
    let silent: f64 = msg
        .split("sent nothing for ")
        .nth(1)
        .and_then(|r| r.split(" s").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no silence in {msg}"));
    eprintln!("after the reconnect: dead peer given up after {silent} s of silence (1 s x 3)");
    assert!(
        silent < 5.0,
        "given up by the idle keepalive, not the call: {msg}"
    );
    relay.thaw();
}

unsafe extern "C" fn cut_and_freeze(done: u64, _total: u64, ud: *mut c_void) -> c_int {
    let s = &mut *(ud as *mut CutOnce<'_>);
    if !s.done && done >= s.at {
        s.done = true;
        s.relay.freeze();
        s.relay.cut();
    }
    0
}

/// Review finding 10: a close that comes while a retry is reconnecting
/// wins. The relay is cut and frozen, so the reconnect hangs in its
/// handshake; psftp_close then ends it (its sockets are cut), the get
/// fails at once without trying again, and nothing connects after the
/// close.
#[test]
fn a_close_during_a_retrys_reconnect_wins() {
    const MIB: usize = 1024 * 1024;
    let relay = Relay::start(server().port);
    let rdir = remote_scratch("retry-close");
    put_remote_file(&rdir.join("f"), &pattern(16 * MIB, 51));
    let ldir = local_scratch("retry-close");
    let conn = via_relay(&relay);
    let before = relay.connections();
    let conn_p = Shared(conn.0);
    let (code, retries_seen) = std::thread::scope(|s| {
        let (rdir, ldir, relay) = (&rdir, &ldir, &relay);
        let get = s.spawn(move || {
            let xo = XOpts::new().retries(5).parallel(1);
            conn_p.with(|conn| {
                let mut cut = CutOnce {
                    relay,
                    at: 4 * MIB as u64,
                    done: false,
                };
                let r = get_full(
                    conn,
                    rdir.join("f").to_str().unwrap(),
                    &ldir.join("f"),
                    progress_to(cut_and_freeze, &mut cut),
                    false,
                    xo.0,
                );
                (r.err().map(|f| (f.code, f.msg)), psftp_last_retries())
            })
        });
        // The reconnect's TCP connection is up (its handshake hangs).
        wait_for(
            || relay.connections() > before,
            "the reconnect's connection",
        );
        unsafe { psftp_close(conn.0) };
        get.join().unwrap()
    });
    std::mem::forget(conn); // closed above
    let (code, msg) = code.expect("the get fails");
    assert_eq!(code, PSFTP_E_CONNECTION_LOST, "{msg}");
    assert!(msg.contains("closed while reconnecting"), "{msg}");
    assert_eq!(retries_seen, 1, "no retry after the close");
    relay.thaw();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        relay.connections(),
        before + 1,
        "nothing connected after the close"
    );
    assert!(!ldir.join("f").exists());
}
