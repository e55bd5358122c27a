//! get, put, getfo and putfo through the C ABI against the real sshd:
//! bytes, mtimes, progress, cancellation, atomic replacement, errors.

mod common;

use common::*;
use std::ffi::c_void;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

struct Progress {
    calls: Vec<(u64, u64)>,
    stop_after: Option<usize>,
}

unsafe extern "C" fn record_progress(done: u64, total: u64, ud: *mut c_void) -> i32 {
    let p = &mut *(ud as *mut Progress);
    p.calls.push((done, total));
    match p.stop_after {
        Some(n) if p.calls.len() >= n => 1,
        _ => 0,
    }
}

fn get_with(
    conn: &Conn,
    remote: &str,
    local: &Path,
    progress: &mut Progress,
    preserve_mtime: bool,
) -> Result<(), Fail> {
    let progress = progress_to(record_progress, progress);
    get_full(
        conn,
        remote,
        local,
        progress,
        preserve_mtime,
        std::ptr::null(),
    )
}

fn put_with(
    conn: &Conn,
    local: &Path,
    remote: &str,
    progress: &mut Progress,
    confirm: bool,
    preserve_mtime: bool,
) -> Result<psftp_attrs, Fail> {
    let progress = progress_to(record_progress, progress);
    put_full(
        conn,
        local,
        remote,
        progress,
        confirm,
        preserve_mtime,
        std::ptr::null(),
    )
}

fn no_progress() -> Progress {
    Progress {
        calls: Vec::new(),
        stop_after: None,
    }
}

#[test]
fn get_copies_bytes_and_reports_progress_to_the_total() {
    let conn = connect();
    let rdir = remote_scratch("get");
    let data = pattern(5 * 1024 * 1024 + 123, 1);
    put_remote_file(&rdir.join("big.bin"), &data);
    let local = local_scratch("get").join("big.bin");
    let mut p = no_progress();
    get_with(
        &conn,
        rdir.join("big.bin").to_str().unwrap(),
        &local,
        &mut p,
        false,
    )
    .unwrap();
    assert_eq!(std::fs::read(&local).unwrap(), data);
    let last = *p.calls.last().unwrap();
    assert_eq!(last, (data.len() as u64, data.len() as u64));
    assert!(
        p.calls.windows(2).all(|w| w[0].0 < w[1].0),
        "progress only grows"
    );
    assert!(
        p.calls.len() > 3,
        "several progress calls for 5 MiB: {}",
        p.calls.len()
    );
}

#[test]
fn get_and_put_handle_empty_files() {
    let conn = connect();
    let rdir = remote_scratch("empty");
    put_remote_file(&rdir.join("zero"), b"");
    let ldir = local_scratch("empty");
    get(
        &conn,
        rdir.join("zero").to_str().unwrap(),
        &ldir.join("zero"),
    )
    .unwrap();
    assert_eq!(std::fs::read(ldir.join("zero")).unwrap(), b"");
    let a = put(
        &conn,
        &ldir.join("zero"),
        rdir.join("zero2").to_str().unwrap(),
    )
    .unwrap();
    assert_eq!((a.flags & PSFTP_ATTR_SIZE, a.size), (PSFTP_ATTR_SIZE, 0));
    assert_eq!(std::fs::read(rdir.join("zero2")).unwrap(), b"");
}

#[test]
fn get_preserve_mtime_copies_remote_times() {
    let conn = connect();
    let rdir = remote_scratch("mtime");
    let remote = rdir.join("f.txt");
    put_remote_file(&remote, b"hello");
    let when = std::fs::FileTimes::new()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000))
        .set_accessed(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_500));
    std::fs::File::options()
        .write(true)
        .open(&remote)
        .unwrap()
        .set_times(when)
        .unwrap();
    let ldir = local_scratch("mtime");
    get_with(
        &conn,
        remote.to_str().unwrap(),
        &ldir.join("kept"),
        &mut no_progress(),
        true,
    )
    .unwrap();
    let meta = std::fs::metadata(ldir.join("kept")).unwrap();
    assert_eq!((meta.mtime(), meta.atime()), (1_000_000_000, 1_000_000_500));
    get_with(
        &conn,
        remote.to_str().unwrap(),
        &ldir.join("fresh"),
        &mut no_progress(),
        false,
    )
    .unwrap();
    assert!(
        mtime(&ldir.join("fresh")) > 1_600_000_000,
        "without preserve_mtime the time is now"
    );
}

#[test]
fn put_returns_remote_attributes_and_preserves_mtime() {
    let conn = connect();
    let rdir = remote_scratch("put");
    let ldir = local_scratch("put");
    let local = ldir.join("up.bin");
    let data = pattern(3 * 1024 * 1024 + 7, 2);
    std::fs::write(&local, &data).unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_234_567_890);
    std::fs::File::options()
        .write(true)
        .open(&local)
        .unwrap()
        .set_modified(t)
        .unwrap();
    let remote = rdir.join("up.bin");
    let mut p = no_progress();
    let a = put_with(&conn, &local, remote.to_str().unwrap(), &mut p, true, true).unwrap();
    assert_eq!(std::fs::read(&remote).unwrap(), data);
    assert_eq!(a.size, data.len() as u64);
    assert_eq!(
        a.mtime, 1_234_567_890,
        "returned attributes show the preserved mtime"
    );
    assert_eq!(mtime(&remote), 1_234_567_890);
    assert_eq!(a.mode & 0o170000, 0o100000, "a regular file");
    assert_eq!(
        *p.calls.last().unwrap(),
        (data.len() as u64, data.len() as u64)
    );
    // confirm=false: no stat, attributes all absent (paramiko's SFTPAttributes()).
    let a = put_with(
        &conn,
        &local,
        remote.to_str().unwrap(),
        &mut no_progress(),
        false,
        false,
    )
    .unwrap();
    assert_eq!(a.flags, 0);
}

#[test]
fn put_without_remotepath_uses_the_local_name_in_the_remote_cwd() {
    let conn = connect();
    let rdir = remote_scratch("cwdput");
    let local = local_scratch("cwdput").join("named.txt");
    std::fs::write(&local, b"named").unwrap();
    check(unsafe { psftp_chdir(conn.0, c(rdir.to_str().unwrap()).as_ptr()) }).unwrap();
    let l = c(local.to_str().unwrap());
    check(unsafe {
        psftp_put(
            conn.0,
            l.as_ptr(),
            std::ptr::null(),
            None,
            std::ptr::null_mut(),
            true,
            false,
            std::ptr::null(),
            std::ptr::null_mut(),
        )
    })
    .unwrap();
    assert_eq!(std::fs::read(rdir.join("named.txt")).unwrap(), b"named");
}

#[test]
fn cancelling_a_get_keeps_the_old_local_file() {
    let conn = connect();
    let rdir = remote_scratch("cancel");
    put_remote_file(&rdir.join("big"), &pattern(8 * 1024 * 1024, 3));
    let ldir = local_scratch("cancel");
    let local = ldir.join("big");
    std::fs::write(&local, b"the good old content").unwrap();
    let mut p = Progress {
        calls: Vec::new(),
        stop_after: Some(2),
    };
    let msg = assert_fail(
        get_with(
            &conn,
            rdir.join("big").to_str().unwrap(),
            &local,
            &mut p,
            false,
        ),
        PSFTP_E_USER,
        &["progress"],
    );
    assert!(msg.contains("stopped"), "{msg}");
    assert_eq!(p.calls.len(), 2, "no callback after the stop");
    assert_eq!(std::fs::read(&local).unwrap(), b"the good old content");
    assert_eq!(
        std::fs::read_dir(&ldir).unwrap().count(),
        1,
        "no temporary file left behind"
    );
    // The connection is still in step after the abandoned pipeline.
    assert_eq!(listdir(&conn, rdir.to_str().unwrap()).unwrap(), ["big"]);
    get(&conn, rdir.join("big").to_str().unwrap(), &local).unwrap();
    assert_eq!(std::fs::read(&local).unwrap().len(), 8 * 1024 * 1024);
}

#[test]
fn cancelling_a_put_keeps_the_old_remote_file() {
    let conn = connect();
    let rdir = remote_scratch("cancelput");
    let remote = rdir.join("target");
    put_remote_file(&remote, b"remote original");
    let local = local_scratch("cancelput").join("big");
    std::fs::write(&local, pattern(8 * 1024 * 1024, 4)).unwrap();
    let mut p = Progress {
        calls: Vec::new(),
        stop_after: Some(1),
    };
    assert_fail(
        put_with(&conn, &local, remote.to_str().unwrap(), &mut p, true, false),
        PSFTP_E_USER,
        &[],
    );
    assert_eq!(std::fs::read(&remote).unwrap(), b"remote original");
    assert_eq!(
        listdir(&conn, rdir.to_str().unwrap()).unwrap(),
        ["target"],
        "temporary upload removed"
    );
}

#[test]
fn atomic_put_keeps_the_permissions_of_the_file_it_replaces() {
    let conn = connect();
    let rdir = remote_scratch("perm");
    let remote = rdir.join("secret");
    put_remote_file(&remote, b"old");
    std::fs::set_permissions(&remote, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let local = local_scratch("perm").join("new");
    std::fs::write(&local, b"new secret").unwrap();
    put(&conn, &local, remote.to_str().unwrap()).unwrap();
    assert_eq!(std::fs::read(&remote).unwrap(), b"new secret");
    assert_eq!(mode(&remote) & 0o777, 0o600);
}

#[test]
fn missing_remote_file_is_not_found_and_creates_nothing() {
    let conn = connect();
    let ldir = local_scratch("missing");
    let missing = format!("{}/no-such-file", server().home.display());
    let msg = assert_fail(
        get(&conn, &missing, &ldir.join("x")),
        PSFTP_E_NOT_FOUND,
        &[&missing],
    );
    assert!(msg.contains("No such file"), "server text kept: {msg}");
    assert_eq!(std::fs::read_dir(&ldir).unwrap().count(), 0);
}

#[test]
fn unwritable_local_directory_is_a_local_io_error() {
    let conn = connect();
    let rdir = remote_scratch("ro");
    put_remote_file(&rdir.join("f"), b"data");
    let ro = ReadOnlyDir::new(local_scratch("ro").join("locked"));
    let dest = ro.0.join("f");
    assert_fail(
        get(&conn, rdir.join("f").to_str().unwrap(), &dest),
        PSFTP_E_LOCAL_IO,
        &[ro.0.to_str().unwrap()],
    );
    assert!(!dest.exists());
}

#[test]
fn missing_local_file_and_remote_permission_errors() {
    let conn = connect();
    assert_fail(
        put(&conn, Path::new("/no/such/local"), "/tmp/x"),
        PSFTP_E_LOCAL_IO,
        &["/no/such/local"],
    );
    let local = local_scratch("perm2").join("f");
    std::fs::write(&local, b"x").unwrap();
    // /root is not writable (or even searchable) by the test user.
    assert_fail(
        put(&conn, &local, "/root/psftp-denied"),
        PSFTP_E_PERMISSION,
        &["/root/"],
    );
    let dir = local_scratch("perm2");
    assert_fail(
        put(&conn, &dir, "/tmp/whatever"),
        PSFTP_E_LOCAL_IO,
        &["is a directory"],
    );
}

struct Collected {
    bytes: Vec<u8>,
    stop: bool,
}

unsafe extern "C" fn collect(data: *const u8, len: usize, ud: *mut c_void) -> i32 {
    let c = &mut *(ud as *mut Collected);
    c.bytes
        .extend_from_slice(std::slice::from_raw_parts(data, len));
    c.stop as i32
}

#[test]
fn getfo_streams_into_a_callback_and_counts_bytes() {
    let conn = connect();
    let rdir = remote_scratch("getfo");
    let data = pattern(2 * 1024 * 1024 + 5, 5);
    put_remote_file(&rdir.join("src"), &data);
    let mut sink = Collected {
        bytes: Vec::new(),
        stop: false,
    };
    let mut n = 0u64;
    let r = c(rdir.join("src").to_str().unwrap());
    check(unsafe {
        psftp_getfo(
            conn.0,
            r.as_ptr(),
            Some(collect),
            None,
            &mut sink as *mut _ as *mut c_void,
            &mut n,
        )
    })
    .unwrap();
    assert_eq!(n, data.len() as u64);
    assert_eq!(sink.bytes, data);
    let mut stopper = Collected {
        bytes: Vec::new(),
        stop: true,
    };
    assert_fail(
        check(unsafe {
            psftp_getfo(
                conn.0,
                r.as_ptr(),
                Some(collect),
                None,
                &mut stopper as *mut _ as *mut c_void,
                &mut n,
            )
        }),
        PSFTP_E_USER,
        &["write callback"],
    );
    assert_fail(
        check(unsafe { psftp_getfo(conn.0, r.as_ptr(), None, None, std::ptr::null_mut(), &mut n) }),
        PSFTP_E_INVALID_ARG,
        &["write"],
    );
}

struct Feed {
    data: Vec<u8>,
    pos: usize,
    fail_at: Option<usize>,
}

unsafe extern "C" fn feed(buf: *mut u8, len: usize, ud: *mut c_void) -> i64 {
    let f = &mut *(ud as *mut Feed);
    if f.fail_at.is_some_and(|at| f.pos >= at) {
        return -5;
    }
    let n = len.min(f.data.len() - f.pos).min(10_000); // short reads are fine
    std::ptr::copy_nonoverlapping(f.data.as_ptr().add(f.pos), buf, n);
    f.pos += n;
    n as i64
}

#[test]
fn putfo_uploads_from_a_callback_and_confirms_the_size() {
    let conn = connect();
    let rdir = remote_scratch("putfo");
    let data = pattern(1024 * 1024 + 3, 6);
    let mut f = Feed {
        data: data.clone(),
        pos: 0,
        fail_at: None,
    };
    let r = c(rdir.join("dst").to_str().unwrap());
    let mut a = psftp_attrs::default();
    check(unsafe {
        psftp_putfo(
            conn.0,
            Some(feed),
            r.as_ptr(),
            data.len() as u64,
            None,
            &mut f as *mut _ as *mut c_void,
            true,
            std::ptr::null(),
            &mut a,
        )
    })
    .unwrap();
    assert_eq!(std::fs::read(rdir.join("dst")).unwrap(), data);
    assert_eq!(a.size, data.len() as u64);
    // A failing reader stops the upload and leaves the old file alone.
    let mut bad = Feed {
        data: pattern(500_000, 7),
        pos: 0,
        fail_at: Some(100_000),
    };
    assert_fail(
        check(unsafe {
            psftp_putfo(
                conn.0,
                Some(feed),
                r.as_ptr(),
                0,
                None,
                &mut bad as *mut _ as *mut c_void,
                true,
                std::ptr::null(),
                &mut a,
            )
        }),
        PSFTP_E_USER,
        &["read callback", "-5"],
    );
    assert_eq!(std::fs::read(rdir.join("dst")).unwrap(), data);
}

#[test]
fn in_place_transfers_write_the_destination_directly() {
    let conn = connect();
    let rdir = remote_scratch("inplace");
    let mut opts = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut opts) }).unwrap();
    check(psftp_transfer_opts_set_atomic(opts, false)).unwrap();
    let local = local_scratch("inplace").join("f");
    std::fs::write(&local, b"in place").unwrap();
    let (l, r) = (
        c(local.to_str().unwrap()),
        c(rdir.join("f").to_str().unwrap()),
    );
    check(unsafe {
        psftp_put(
            conn.0,
            l.as_ptr(),
            r.as_ptr(),
            None,
            std::ptr::null_mut(),
            true,
            false,
            opts,
            std::ptr::null_mut(),
        )
    })
    .unwrap();
    let ino = std::fs::metadata(rdir.join("f")).unwrap().ino();
    check(unsafe {
        psftp_put(
            conn.0,
            l.as_ptr(),
            r.as_ptr(),
            None,
            std::ptr::null_mut(),
            true,
            false,
            opts,
            std::ptr::null_mut(),
        )
    })
    .unwrap();
    assert_eq!(
        std::fs::metadata(rdir.join("f")).unwrap().ino(),
        ino,
        "same inode: written in place"
    );
    psftp_transfer_opts_free(opts);
    psftp_transfer_opts_free(opts);
    // Freed options are detected.
    assert_fail(
        check(unsafe {
            psftp_put(
                conn.0,
                l.as_ptr(),
                r.as_ptr(),
                None,
                std::ptr::null_mut(),
                true,
                false,
                opts,
                std::ptr::null_mut(),
            )
        }),
        PSFTP_E_INVALID_ARG,
        &["opts", "psftp_transfer_opts"],
    );
}

#[test]
fn atomic_put_replaces_the_inode() {
    let conn = connect();
    let rdir = remote_scratch("atomic");
    let local = local_scratch("atomic").join("f");
    std::fs::write(&local, b"v1").unwrap();
    let remote = rdir.join("f");
    put(&conn, &local, remote.to_str().unwrap()).unwrap();
    let ino = std::fs::metadata(&remote).unwrap().ino();
    std::fs::write(&local, b"v2").unwrap();
    put(&conn, &local, remote.to_str().unwrap()).unwrap();
    assert_ne!(
        std::fs::metadata(&remote).unwrap().ino(),
        ino,
        "renamed into place"
    );
    assert_eq!(std::fs::read(&remote).unwrap(), b"v2");
}

#[test]
fn a_failed_rename_into_place_leaves_no_part_file() {
    let conn = connect();
    let rdir = remote_scratch("renamefail");
    put_remote_file(&rdir.join("src"), b"data");
    std::fs::create_dir(rdir.join("a_dir")).unwrap();
    chown_to_test_user(&rdir.join("a_dir"));
    let ldir = local_scratch("renamefail");
    std::fs::create_dir(ldir.join("dest")).unwrap();
    // get onto an existing local directory
    assert_fail(
        get(
            &conn,
            rdir.join("src").to_str().unwrap(),
            &ldir.join("dest"),
        ),
        PSFTP_E_LOCAL_IO,
        &["rename into place"],
    );
    assert!(!ldir.join(".dest.psftp.part").exists());
    // put onto an existing remote directory
    std::fs::write(ldir.join("up"), b"up").unwrap();
    assert!(put(
        &conn,
        &ldir.join("up"),
        rdir.join("a_dir").to_str().unwrap()
    )
    .is_err());
    assert!(!rdir.join(".a_dir.psftp.part").exists());
    assert!(rdir.join("a_dir").is_dir());
}

#[test]
fn every_cipher_transfers_byte_exact() {
    // The vendored libssh2 batches cipher calls (vendor/libssh2-sys): check
    // every cipher OpenSSH offers, with sizes around block and packet
    // boundaries.
    let s = server();
    let rdir = remote_scratch("ciphers");
    let ldir = local_scratch("ciphers");
    let sizes = [
        0usize,
        1,
        15,
        16,
        17,
        31,
        32,
        33,
        32_768,
        32_769,
        262_144 + 5,
        3 * 1024 * 1024 + 17,
    ];
    for cipher in [
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        "aes128-ctr",
        "aes192-ctr",
        "aes256-ctr",
        "chacha20-poly1305@openssh.com",
    ] {
        let opts = Opts::trusting(s);
        check(unsafe { psftp_cnopts_set_ciphers(opts.0, c(cipher).as_ptr()) }).unwrap();
        let conn = Login::password(s)
            .connect(&opts)
            .unwrap_or_else(|f| panic!("{cipher}: {f:?}"));
        for (i, size) in sizes.iter().enumerate() {
            let data = pattern(*size, i as u8);
            let name = format!("{cipher}-{size}");
            std::fs::write(ldir.join(&name), &data).unwrap();
            put(&conn, &ldir.join(&name), rdir.join(&name).to_str().unwrap()).unwrap();
            assert_eq!(
                std::fs::read(rdir.join(&name)).unwrap(),
                data,
                "{name} uploaded"
            );
            get(
                &conn,
                rdir.join(&name).to_str().unwrap(),
                &ldir.join(format!("{name}.back")),
            )
            .unwrap();
            assert_eq!(
                std::fs::read(ldir.join(format!("{name}.back"))).unwrap(),
                data,
                "{name} downloaded"
            );
        }
    }
}

#[test]
fn the_default_cipher_is_the_fastest_the_server_offers() {
    let conn = connect();
    let (mut l, mut r) = (std::ptr::null_mut(), std::ptr::null_mut());
    check(unsafe { psftp_active_ciphers(conn.0, &mut l, &mut r) }).unwrap();
    assert_eq!(take_string(l).unwrap(), "aes128-gcm@openssh.com");
    assert_eq!(take_string(r).unwrap(), "aes128-gcm@openssh.com");
}
