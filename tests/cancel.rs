//! Per-call cancel tokens reach the work a call hands to other threads and
//! connections (issue 18): a tree operation's workers and a split file's
//! helper connections stop with the call, which returns
//! PSFTP_E_CANCELLED, leaves no part file and leaves the connection
//! usable. Also: psftp_lock then a tree operation on the same thread is
//! refused instead of hanging (review finding 8).

mod common;

use common::relay::Relay;
use common::*;

use psftp::capi::cancel::*;
use psftp::capi::tree::*;
use std::ffi::{c_int, c_void};
use std::path::{Path, PathBuf};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

/// A cancel token, freed on drop.
struct Token(*mut psftp_cancel_token);

impl Token {
    fn new() -> Token {
        let mut t = std::ptr::null_mut();
        check(unsafe { psftp_cancel_token_new(&mut t) }).unwrap();
        Token(t)
    }
    /// A handle on `conn` whose calls this token stops.
    fn view(&self, conn: &Conn) -> Conn {
        let mut v = std::ptr::null_mut();
        check(unsafe { psftp_conn_with_cancel(conn.0, self.0, &mut v) }).unwrap();
        Conn(v)
    }
}

impl Token {
    /// Cancel this token from another thread after `delay`; join the
    /// handle before the token goes.
    fn cancel_after(&self, delay: Duration) -> std::thread::JoinHandle<()> {
        let t = self.0 as usize;
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            check(psftp_cancel_token_cancel(t as *mut psftp_cancel_token)).unwrap();
        })
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        psftp_cancel_token_free(self.0);
    }
}

/// Transfer options with `n` connections, freed on drop.
struct XOpts(*mut psftp_transfer_opts);

impl XOpts {
    fn parallel(n: c_int) -> XOpts {
        let mut p = std::ptr::null_mut();
        check(unsafe { psftp_transfer_opts_new(&mut p) }).unwrap();
        check(psftp_transfer_opts_set_parallelism(p, n)).unwrap();
        XOpts(p)
    }
}

impl Drop for XOpts {
    fn drop(&mut self) {
        psftp_transfer_opts_free(self.0)
    }
}

/// Cancels the token from the first progress call that has seen bytes
/// move (the callback may cancel its own call's token), and counts the
/// calls after that.
struct CancelOnBytes {
    token: *mut psftp_cancel_token,
    cancelled: bool,
}

unsafe extern "C" fn tree_cancel(p: *const psftp_tree_progress, ud: *mut c_void) -> c_int {
    let c = &mut *(ud as *mut CancelOnBytes);
    if !c.cancelled && (*p).bytes_done > 0 {
        c.cancelled = true;
        check(psftp_cancel_token_cancel(c.token)).unwrap();
    }
    0
}

unsafe extern "C" fn file_cancel_at_40_mib(done: u64, _total: u64, ud: *mut c_void) -> c_int {
    let c = &mut *(ud as *mut CancelOnBytes);
    if !c.cancelled && done >= 40 * MIB as u64 {
        c.cancelled = true;
        check(psftp_cancel_token_cancel(c.token)).unwrap();
    }
    0
}

/// Every file under `root`, relative, sorted.
fn files_under(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut v = Vec::new();
    walk(root, root, &mut v);
    v.sort();
    v
}

fn part_files(root: &Path) -> Vec<String> {
    files_under(root)
        .into_iter()
        .filter(|f| f.contains(".psftp."))
        .collect()
}

/// A tree of eight 16 MiB files and twenty small ones: more than a
/// loopback link moves between two looks at the token.
fn make_tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for i in 0..8u8 {
        files.push((
            root.join(format!("big{i}")),
            pattern(16 * MIB + i as usize, i),
        ));
    }
    for i in 0..20u8 {
        files.push((
            root.join(format!("small/s{i}")),
            pattern(3000 + i as usize, 100 + i),
        ));
    }
    std::fs::create_dir_all(root.join("small")).unwrap();
    for (p, data) in &files {
        std::fs::write(p, data).unwrap();
    }
    chown_to_test_user(root);
    files
}

type TreeFn = unsafe extern "C" fn(
    *mut psftp_conn,
    *const std::ffi::c_char,
    *const std::ffi::c_char,
    bool,
    psftp_tree_progress_cb,
    *mut c_void,
    *const psftp_transfer_opts,
    *mut *mut psftp_failure_list,
) -> c_int;

/// get_r, get_d (same shape) through the C ABI.
fn tree_get(
    f: TreeFn,
    conn: &Conn,
    from: &Path,
    to: &Path,
    cb: psftp_tree_progress_cb,
    ud: *mut c_void,
    opts: &XOpts,
) -> Result<(), Fail> {
    let mut failures = std::ptr::null_mut();
    let (a, b) = (c(from.to_str().unwrap()), c(to.to_str().unwrap()));
    let rc = unsafe {
        f(
            conn.0,
            a.as_ptr(),
            b.as_ptr(),
            false,
            cb,
            ud,
            opts.0,
            &mut failures,
        )
    };
    let r = check(rc);
    unsafe { psftp_failure_list_free(failures) };
    r
}

fn tree_put(
    recurse: bool,
    conn: &Conn,
    from: &Path,
    to: &Path,
    cb: psftp_tree_progress_cb,
    ud: *mut c_void,
    opts: &XOpts,
) -> Result<(), Fail> {
    let mut failures = std::ptr::null_mut();
    let (a, b) = (c(from.to_str().unwrap()), c(to.to_str().unwrap()));
    let f = if recurse { psftp_put_r } else { psftp_put_d };
    let rc = unsafe {
        f(
            conn.0,
            a.as_ptr(),
            b.as_ptr(),
            true,
            false,
            cb,
            ud,
            opts.0,
            &mut failures,
        )
    };
    let r = check(rc);
    unsafe { psftp_failure_list_free(failures) };
    r
}

/// The connection answers, and the token's handle works again once the
/// token is reset: a get through it is byte-exact.
fn assert_usable_after(conn: &Conn, token: &Token, view: &Conn, remote: &Path, data: &[u8]) {
    assert_eq!(
        stat(conn, remote.to_str().unwrap()).unwrap().size,
        data.len() as u64
    );
    check(psftp_cancel_token_reset(token.0)).unwrap();
    let again = local_scratch("cancel-again").join("f");
    get(view, remote.to_str().unwrap(), &again).unwrap();
    assert!(
        std::fs::read(&again).unwrap() == data,
        "the get after a cancel is byte-exact"
    );
    std::fs::remove_dir_all(again.parent().unwrap()).unwrap();
}

/// A token cancelled mid get_r stops its four workers (this connection
/// and three extra ones): PSFTP_E_CANCELLED, files not all copied, no
/// part file; the connection goes on.
#[test]
fn a_cancel_token_stops_get_r_and_its_extra_connections() {
    for (name, f) in [("get_r", psftp_get_r as TreeFn), ("get_d", psftp_get_d)] {
        let conn = connect();
        let remote = remote_scratch(&format!("cancel-{name}"));
        let files = make_tree(&remote);
        let local = local_scratch(&format!("cancel-{name}"));
        let token = Token::new();
        let view = token.view(&conn);
        let mut c = CancelOnBytes {
            token: token.0,
            cancelled: false,
        };
        let opts = XOpts::parallel(4);
        let r = tree_get(
            f,
            &view,
            &remote,
            &local,
            Some(tree_cancel),
            &mut c as *mut _ as *mut c_void,
            &opts,
        );
        assert!(c.cancelled);
        assert_fail(r, PSFTP_E_CANCELLED, &["cancel"]);
        let got = files_under(&local);
        assert!(
            part_files(&local).is_empty(),
            "{name} left part files: {got:?}"
        );
        let big = got
            .iter()
            .filter(|f| {
                Path::new(f)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("big")
            })
            .count();
        assert!(big < 8, "{name}: the cancel stopped nothing: {got:?}");
        assert_usable_after(&conn, &token, &view, &files[0].0, &files[0].1);
        std::fs::remove_dir_all(&local).unwrap();
    }
}

/// A token cancelled mid put_r / put_d: PSFTP_E_CANCELLED, not every file
/// on the server, no part file there; the connection goes on.
#[test]
fn a_cancel_token_stops_put_r_and_its_extra_connections() {
    for recurse in [true, false] {
        let conn = connect();
        let local = local_scratch(&format!("cancel-put-{recurse}"));
        let files = make_tree(&local);
        let remote = remote_scratch(&format!("cancel-put-{recurse}"));
        let token = Token::new();
        let view = token.view(&conn);
        let mut c = CancelOnBytes {
            token: token.0,
            cancelled: false,
        };
        let opts = XOpts::parallel(4);
        let r = tree_put(
            recurse,
            &view,
            &local,
            &remote,
            Some(tree_cancel),
            &mut c as *mut _ as *mut c_void,
            &opts,
        );
        assert!(c.cancelled);
        assert_fail(r, PSFTP_E_CANCELLED, &["cancel"]);
        // A cancelled upload sends its CLOSE and REMOVE without waiting
        // for them (the link may be frozen); on the extra connections the
        // server runs them as those connections close.
        wait_for(|| part_files(&remote).is_empty(), "the part files' removal");
        let there = files_under(&remote);
        let big = there.iter().filter(|f| f.starts_with("big")).count();
        assert!(big < 8, "the cancel stopped nothing: {there:?}");
        let (src, data) = &files[0];
        let dst = remote.join("again");
        put(&conn, src, dst.to_str().unwrap()).unwrap();
        assert!(std::fs::read(&dst).unwrap() == *data);
        drop(view);
        std::fs::remove_dir_all(&local).unwrap();
    }
}

/// Files in the streaming test's tree: more than the walk's queue (4,096
/// files), so the transfer starts while the walk is still going.
const STREAMED: u64 = 10_000;

/// Cancels the token at the first progress call that has seen a file
/// done (the workers start only once the walk's queue is full), keeping
/// the total the walk had found by then.
struct CancelOnFirstFile {
    token: *mut psftp_cancel_token,
    total_at_cancel: Option<u64>,
}

unsafe extern "C" fn cancel_on_first_file(p: *const psftp_tree_progress, ud: *mut c_void) -> c_int {
    let c = &mut *(ud as *mut CancelOnFirstFile);
    if c.total_at_cancel.is_none() && (*p).files_done > 0 {
        c.total_at_cancel = Some((*p).files_total);
        check(psftp_cancel_token_cancel(c.token)).unwrap();
    }
    0
}

/// A get_r of a tree larger than the walk's queue, cancelled while the
/// walk is still going (it had found fewer than all the files): the walker
/// and the four workers stop, PSFTP_E_CANCELLED, far from every file
/// copied, no part file, and the connection goes on.
#[test]
fn a_cancel_token_stops_a_streaming_get_r_while_it_walks() {
    let conn = connect();
    let remote = remote_scratch("cancel-streamed");
    for i in 0..STREAMED {
        let p = remote.join(format!("d{:03}/f{:03}", i / 100, i % 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        std::fs::write(&p, pattern(100 + (i % 50) as usize, i as u8)).unwrap();
    }
    let (one, one_data) = (remote.join("d000/f007"), pattern(107, 7));
    let local = local_scratch("cancel-streamed");
    let token = Token::new();
    let view = token.view(&conn);
    let mut c = CancelOnFirstFile {
        token: token.0,
        total_at_cancel: None,
    };
    let opts = XOpts::parallel(4);
    let r = tree_get(
        psftp_get_r,
        &view,
        &remote,
        &local,
        Some(cancel_on_first_file),
        &mut c as *mut _ as *mut c_void,
        &opts,
    );
    let found = c
        .total_at_cancel
        .expect("a file was done before the cancel");
    assert!(
        found < STREAMED,
        "the walk was still going at the cancel: it had found {found} of {STREAMED} files"
    );
    assert_fail(r, PSFTP_E_CANCELLED, &["cancel"]);
    let got = files_under(&local);
    assert!(
        part_files(&local).is_empty(),
        "part files left: {:?}",
        part_files(&local)
    );
    assert!(
        (got.len() as u64) < found,
        "the cancel stopped the workers: {} files copied, {found} found",
        got.len()
    );
    assert_usable_after(&conn, &token, &view, &one, &one_data);
    std::fs::remove_dir_all(&local).unwrap();
}

fn via(relay: &Relay) -> Conn {
    let mut login = Login::password(server());
    login.port = relay.port;
    let opts = Opts::new(None);
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    check(psftp_cnopts_set_timeout(opts.0, 60.0)).unwrap();
    login.connect(&opts).expect("connect through the relay")
}

/// Over a 40 ms round trip a 96 MiB get and put are split over three
/// connections; the token cancelled at 40 MiB stops all three:
/// PSFTP_E_CANCELLED, old destination kept, no part file, and the
/// connection goes on.
#[test]
fn a_cancel_token_stops_a_split_get_and_put() {
    let relay = Relay::with_delay(server().port, Duration::from_millis(20));
    let conn = via(&relay);
    let remote = remote_scratch("cancel-split");
    let local = local_scratch("cancel-split");
    let data = pattern(96 * MIB, 7);
    let (rsrc, lsrc) = (remote.join("src"), local.join("src"));
    put_remote_file(&rsrc, &data);
    std::fs::write(&lsrc, &data).unwrap();
    let (rdst, ldst) = (remote.join("dst"), local.join("dst"));
    put_remote_file(&rdst, b"old remote");
    std::fs::write(&ldst, b"old local").unwrap();
    let opts = XOpts::parallel(3);
    let token = Token::new();
    let view = token.view(&conn);

    let mut c = CancelOnBytes {
        token: token.0,
        cancelled: false,
    };
    let r = get_full(
        &view,
        rsrc.to_str().unwrap(),
        &ldst,
        progress_to(file_cancel_at_40_mib, &mut c),
        false,
        opts.0,
    );
    assert!(c.cancelled);
    assert_fail(r, PSFTP_E_CANCELLED, &["cancel"]);
    assert_eq!(std::fs::read(&ldst).unwrap(), b"old local");
    assert_eq!(files_under(&local), ["dst", "src"]);

    check(psftp_cancel_token_reset(token.0)).unwrap();
    let mut c = CancelOnBytes {
        token: token.0,
        cancelled: false,
    };
    let r = put_full(
        &view,
        &lsrc,
        rdst.to_str().unwrap(),
        progress_to(file_cancel_at_40_mib, &mut c),
        false,
        false,
        opts.0,
    );
    assert!(c.cancelled);
    assert_fail(r, PSFTP_E_CANCELLED, &["cancel"]);
    stat(&conn, rdst.to_str().unwrap()).unwrap();
    assert_eq!(std::fs::read(&rdst).unwrap(), b"old remote");
    assert_eq!(files_under(&remote), ["dst", "src"]);

    // The connection goes on: a split get through it is byte-exact.
    let full = local.join("full");
    get_full(
        &conn,
        rsrc.to_str().unwrap(),
        &full,
        NO_PROGRESS,
        false,
        opts.0,
    )
    .unwrap();
    assert!(std::fs::read(&full).unwrap() == data);
    std::fs::remove_dir_all(&local).unwrap();
}

/// A cancel may land while the OPEN that creates a put's part file is on
/// its way (CI saw it in a Go tree test): the call returns CANCELLED and,
/// once a later call is back, no part file is left and the old file is
/// whole. Over a 400 ms round trip the put's STAT of the destination
/// takes the first round trip and the OPEN the second, so cancels at
/// 450-750 ms land on the OPEN; 1.5 s lands on the commit or after it.
#[test]
fn a_put_cancelled_at_any_step_leaves_no_part_file() {
    let relay = Relay::with_delay(server().port, Duration::from_millis(200));
    let conn = via(&relay);
    let remote = remote_scratch("cancel-open");
    let local = local_scratch("cancel-open");
    let data = pattern(64 * 1024, 3);
    std::fs::write(local.join("src"), &data).unwrap();
    let dst = remote.join("dst");
    for delay_ms in [450u64, 550, 650, 750, 1500] {
        put_remote_file(&dst, b"old remote");
        let token = Token::new();
        let view = token.view(&conn);
        let canceller = token.cancel_after(Duration::from_millis(delay_ms));
        let r = put_full(
            &view,
            &local.join("src"),
            dst.to_str().unwrap(),
            NO_PROGRESS,
            true,
            false,
            std::ptr::null(),
        );
        canceller.join().unwrap();
        stat(&conn, dst.to_str().unwrap()).unwrap(); // a later call
        assert_eq!(
            part_files(&remote),
            Vec::<String>::new(),
            "cancel at {delay_ms} ms"
        );
        match r {
            Ok(_) => assert!(std::fs::read(&dst).unwrap() == data, "at {delay_ms} ms"),
            Err(_) => {
                assert_fail(r, PSFTP_E_CANCELLED, &["cancel"]);
                assert_eq!(
                    std::fs::read(&dst).unwrap(),
                    b"old remote",
                    "at {delay_ms} ms"
                );
            }
        }
    }
}

/// The same for a put_r of small files, batched 32 at a time per
/// connection: cancels landing while their OPENs, WRITEs or renames are on
/// the way leave no part file once a later call is back.
#[test]
fn a_put_r_of_small_files_cancelled_at_any_step_leaves_no_part_file() {
    let relay = Relay::with_delay(server().port, Duration::from_millis(200));
    let conn = via(&relay);
    let local = local_scratch("cancel-small");
    for i in 0..40 {
        std::fs::write(local.join(format!("f{i:02}")), pattern(1000 + i, 5)).unwrap();
    }
    let one = XOpts::parallel(1);
    for delay_ms in [300u64, 500, 700, 900, 1100] {
        let remote = remote_scratch(&format!("cancel-small-{delay_ms}"));
        let token = Token::new();
        let view = token.view(&conn);
        let canceller = token.cancel_after(Duration::from_millis(delay_ms));
        let r = tree_put(
            true,
            &view,
            &local,
            &remote,
            None,
            std::ptr::null_mut(),
            &one,
        );
        canceller.join().unwrap();
        stat(&conn, remote.to_str().unwrap()).unwrap(); // a later call
        assert_eq!(
            part_files(&remote),
            Vec::<String>::new(),
            "cancel at {delay_ms} ms ({r:?})"
        );
    }
}

/// psftp_lock then a tree operation on the same thread: the workers would
/// wait for the unlock, so the call is refused with INVALID_ARG naming
/// psftp_lock (it used to hang); after psftp_unlock it runs.
#[test]
fn a_tree_operation_under_psftp_lock_on_its_thread_is_refused_not_hung() {
    let conn = connect();
    let remote = remote_scratch("cancel-lock");
    put_remote_file(&remote.join("f"), b"locked");
    let local = local_scratch("cancel-lock");
    let shared = SendConn(conn.0);
    let (tx, rx) = std::sync::mpsc::channel();
    let (r2, l2) = (remote.clone(), local.clone());
    std::thread::spawn(move || {
        let shared = shared;
        let conn = Conn(shared.0);
        check(psftp_lock(conn.0)).unwrap();
        let opts = XOpts::parallel(2);
        let cb = None;
        let refused = tree_get(
            psftp_get_r,
            &conn,
            &r2,
            &l2,
            cb,
            std::ptr::null_mut(),
            &opts,
        )
        .map_err(|f| (f.code, f.msg));
        check(psftp_unlock(conn.0)).unwrap();
        let after = tree_get(
            psftp_get_r,
            &conn,
            &r2,
            &l2,
            cb,
            std::ptr::null_mut(),
            &opts,
        )
        .map_err(|f| f.code);
        std::mem::forget(conn);
        tx.send((refused, after)).unwrap();
    });
    // A watchdog, not a timing assert: a hang fails instead of blocking
    // the suite.
    let (refused, after) = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("get_r under psftp_lock returned");
    let (code, message) = refused.unwrap_err();
    assert_eq!(code, PSFTP_E_INVALID_ARG, "{message}");
    assert!(message.contains("psftp_lock"), "{message}");
    assert_eq!(after, Ok(()));
    // pysftp's place for it: localdir + the remote path.
    let at = local.join(remote.strip_prefix("/").unwrap()).join("f");
    assert_eq!(std::fs::read(at).unwrap(), b"locked");
    std::fs::remove_dir_all(&local).unwrap();
}

#[derive(Clone, Copy)]
struct SendConn(*mut psftp_conn);
unsafe impl Send for SendConn {}
