//! Integrity against the real OpenSSH server: resume only from a part file
//! of the same source, names that are not UTF-8, and local destinations
//! that are devices or FIFOs (issue 13).

mod common;

use common::*;
use psftp::capi::helpers::*;
use psftp::capi::tree::*;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// A C string of any bytes.
fn cb(b: &[u8]) -> CString {
    CString::new(b).unwrap()
}

fn bytes_of(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

fn join(dir: &Path, name: &[u8]) -> PathBuf {
    dir.join(std::ffi::OsStr::from_bytes(name))
}

/// The first progress report of a transfer that starts from the beginning
/// comes with its first request (OpenSSH: 255 KiB).
const ONE_REQUEST: u64 = 255 * 1024;

fn resume_opts() -> *mut psftp_transfer_opts {
    let mut o = std::ptr::null_mut();
    check(unsafe { psftp_transfer_opts_new(&mut o) }).unwrap();
    check(psftp_transfer_opts_set_resume(o, true)).unwrap();
    o
}

/// Stops the transfer at its first progress report, recording where the
/// first report of a later transfer started.
struct StopFirst {
    stop: bool,
    first: Option<u64>,
}

/// What a stop by stop_first says (psftp_last_callback_value() is 1).
const STOPPED: &[&str] = &["stopped by the progress callback (it returned 1)"];

unsafe extern "C" fn stop_first(done: u64, _t: u64, ud: *mut c_void) -> c_int {
    let s = &mut *(ud as *mut StopFirst);
    s.first.get_or_insert(done);
    s.stop as c_int
}

fn set_mtime(path: &Path, mtime: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime as u64);
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
}

#[test]
fn a_get_resumes_only_a_part_file_of_the_same_source() {
    let conn = connect();
    let rdir = remote_scratch("resumeget");
    let ldir = local_scratch("resumeget");
    let remote = rdir.join("f");
    let local = ldir.join("f");
    let part = ldir.join(".f.psftp.part");
    let v1 = pattern(3 * 1024 * 1024, 1);
    put_remote_file(&remote, &v1);
    let xo = resume_opts();

    // A stale part file with no record of its source is not resumed.
    std::fs::write(&part, pattern(1024 * 1024, 99)).unwrap();
    let mut s = StopFirst {
        stop: false,
        first: None,
    };
    let r = remote.to_str().unwrap();
    get_full(&conn, r, &local, progress_to(stop_first, &mut s), false, xo).unwrap();
    assert!(
        std::fs::read(&local).unwrap() == v1,
        "the stale part was not used"
    );
    assert!(
        s.first.unwrap() <= ONE_REQUEST,
        "started over: {:?}",
        s.first
    );
    assert!(!part.exists());

    // An interrupted get leaves its part file and the record of v1 ...
    std::fs::remove_file(&local).unwrap();
    let mut s = StopFirst {
        stop: true,
        first: None,
    };
    let stopped = get_full(&conn, r, &local, progress_to(stop_first, &mut s), false, xo);
    assert_fail(stopped, PSFTP_E_USER, STOPPED);
    let have = std::fs::metadata(&part).unwrap().len();
    assert!(have > 0 && have < v1.len() as u64, "{have}");
    // ... which a new version of the file (same size, same mtime, other
    // bytes) does not match: the overlap comparison starts over.
    let mtime = mtime(&remote);
    let v2 = pattern(3 * 1024 * 1024, 2);
    put_remote_file(&remote, &v2);
    set_mtime(&remote, mtime);
    let mut s = StopFirst {
        stop: false,
        first: None,
    };
    get_full(&conn, r, &local, progress_to(stop_first, &mut s), false, xo).unwrap();
    assert!(
        std::fs::read(&local).unwrap() == v2,
        "v2 whole, no v1 prefix"
    );
    assert!(
        s.first.unwrap() <= ONE_REQUEST,
        "started over: {:?}",
        s.first
    );

    // The same source, interrupted and resumed, continues where it was.
    std::fs::remove_file(&local).unwrap();
    let mut s = StopFirst {
        stop: true,
        first: None,
    };
    let stopped = get_full(&conn, r, &local, progress_to(stop_first, &mut s), false, xo);
    assert_fail(stopped, PSFTP_E_USER, STOPPED);
    let have = std::fs::metadata(&part).unwrap().len();
    let mut s = StopFirst {
        stop: false,
        first: None,
    };
    get_full(&conn, r, &local, progress_to(stop_first, &mut s), false, xo).unwrap();
    assert!(
        s.first.unwrap() > have,
        "resumed after {have}: {:?}",
        s.first
    );
    assert!(std::fs::read(&local).unwrap() == v2);
    assert!(!part.exists() && !ldir.join(".f.psftp.resume").exists());
    psftp_transfer_opts_free(xo);
}

#[test]
fn a_put_resumes_only_a_part_file_of_the_same_source() {
    let conn = connect();
    let rdir = remote_scratch("resumeput");
    let ldir = local_scratch("resumeput");
    let local = ldir.join("f");
    let remote = rdir.join("f");
    let rpart = rdir.join(".f.psftp.part");
    let r = remote.to_str().unwrap();
    // Larger than the writes a cancelled put still has in flight.
    let v1 = pattern(12 * 1024 * 1024, 5);
    std::fs::write(&local, &v1).unwrap();
    let xo = resume_opts();

    // A stale remote part file without a record is not resumed.
    put_remote_file(&rpart, &pattern(1024 * 1024, 98));
    let mut s = StopFirst {
        stop: false,
        first: None,
    };
    put_full(
        &conn,
        &local,
        r,
        progress_to(stop_first, &mut s),
        true,
        false,
        xo,
    )
    .unwrap();
    assert!(std::fs::read(&remote).unwrap() == v1);
    assert!(
        s.first.unwrap() <= ONE_REQUEST,
        "started over: {:?}",
        s.first
    );
    assert!(!rpart.exists() && !rdir.join(".f.psftp.resume").exists());

    // Interrupted: the part file and its record stay ...
    let mut s = StopFirst {
        stop: true,
        first: None,
    };
    let stopped = put_full(
        &conn,
        &local,
        r,
        progress_to(stop_first, &mut s),
        true,
        false,
        xo,
    );
    assert_fail(stopped, PSFTP_E_USER, STOPPED);
    wait_for(|| rpart.exists(), "the partial upload");
    assert!(rdir.join(".f.psftp.resume").exists());
    // ... and a changed local file (same size and mtime) starts over.
    let mtime = mtime(&local);
    let v2 = pattern(12 * 1024 * 1024, 6);
    std::fs::write(&local, &v2).unwrap();
    set_mtime(&local, mtime);
    let mut s = StopFirst {
        stop: false,
        first: None,
    };
    put_full(
        &conn,
        &local,
        r,
        progress_to(stop_first, &mut s),
        true,
        false,
        xo,
    )
    .unwrap();
    assert!(std::fs::read(&remote).unwrap() == v2);
    assert!(
        s.first.unwrap() <= ONE_REQUEST,
        "started over: {:?}",
        s.first
    );

    // The same file, interrupted and resumed, continues.
    let mut s = StopFirst {
        stop: true,
        first: None,
    };
    let stopped = put_full(
        &conn,
        &local,
        r,
        progress_to(stop_first, &mut s),
        true,
        false,
        xo,
    );
    assert_fail(stopped, PSFTP_E_USER, STOPPED);
    let have = std::fs::metadata(&rpart).unwrap().len();
    let mut s = StopFirst {
        stop: false,
        first: None,
    };
    put_full(
        &conn,
        &local,
        r,
        progress_to(stop_first, &mut s),
        true,
        false,
        xo,
    )
    .unwrap();
    assert!(
        s.first.unwrap() > have,
        "resumed after {have}: {:?}",
        s.first
    );
    assert!(std::fs::read(&remote).unwrap() == v2);
    assert!(!rpart.exists() && !rdir.join(".f.psftp.resume").exists());
    psftp_transfer_opts_free(xo);
}

fn take_bytes(p: *mut c_char) -> Vec<u8> {
    assert!(!p.is_null());
    let b = unsafe { CStr::from_ptr(p) }.to_bytes().to_vec();
    unsafe { psftp_string_free(p) };
    b
}

fn listdir_bytes(conn: &Conn, dir: &[u8]) -> Vec<Vec<u8>> {
    let mut out = std::ptr::null_mut();
    check(unsafe { psftp_listdir(conn.0, cb(dir).as_ptr(), &mut out) }).unwrap();
    let list = unsafe { &*out };
    let names = (0..list.count)
        .map(|i| {
            unsafe { CStr::from_ptr(*list.strings.add(i)) }
                .to_bytes()
                .to_vec()
        })
        .collect();
    unsafe { psftp_strarray_free(out) };
    names
}

unsafe extern "C" fn walk_collect(
    path: *const c_char,
    _a: *const psftp_attrs,
    ud: *mut c_void,
) -> c_int {
    (*(ud as *mut Vec<Vec<u8>>)).push(CStr::from_ptr(path).to_bytes().to_vec());
    0
}

#[test]
fn names_that_are_not_utf8_are_listed_read_and_written_byte_for_byte() {
    let conn = connect();
    let rdir = remote_scratch("latin1");
    let ldir = local_scratch("latin1");
    let name: &[u8] = b"caf\xe9.txt";
    put_remote_file(&join(&rdir, name), b"latin-1\n");
    let rd = bytes_of(&rdir).to_vec();
    let rpath = [&rd[..], b"/", name].concat();

    assert_eq!(listdir_bytes(&conn, &rd), vec![name.to_vec()]);
    let mut list = std::ptr::null_mut();
    check(unsafe { psftp_listdir_attr(conn.0, cb(&rd).as_ptr(), &mut list) }).unwrap();
    let e = unsafe { &**(*list).entries };
    assert_eq!(unsafe { CStr::from_ptr(e.filename) }.to_bytes(), name);
    unsafe { psftp_dirent_list_free(list) };
    let mut a = psftp_attrs::default();
    check(unsafe { psftp_stat(conn.0, cb(&rpath).as_ptr(), &mut a) }).unwrap();
    assert_eq!(a.size, 8);

    // get writes the same bytes as the local name.
    let lpath = join(&ldir, name);
    let rc = unsafe {
        psftp_get(
            conn.0,
            cb(&rpath).as_ptr(),
            cb(bytes_of(&lpath)).as_ptr(),
            None,
            std::ptr::null_mut(),
            false,
            std::ptr::null(),
        )
    };
    check(rc).unwrap();
    assert_eq!(std::fs::read(&lpath).unwrap(), b"latin-1\n");
    // put of a local non-UTF-8 name, under its own name.
    let up: &[u8] = b"na\xefve.bin";
    std::fs::write(join(&ldir, up), b"naive").unwrap();
    check(unsafe { psftp_chdir(conn.0, cb(&rd).as_ptr()) }).unwrap();
    let rc = unsafe {
        psftp_put(
            conn.0,
            cb(bytes_of(&join(&ldir, up))).as_ptr(),
            std::ptr::null(),
            None,
            std::ptr::null_mut(),
            true,
            false,
            std::ptr::null(),
            std::ptr::null_mut(),
        )
    };
    check(rc).unwrap();
    assert_eq!(std::fs::read(join(&rdir, up)).unwrap(), b"naive");
    let mut cwd = std::ptr::null_mut();
    check(unsafe { psftp_getcwd(conn.0, &mut cwd) }).unwrap();
    assert_eq!(take_bytes(cwd), rd);
    check(unsafe { psftp_chdir(conn.0, std::ptr::null()) }).unwrap();

    // Links and their targets are bytes too.
    let link = [&rd[..], b"/l\xe9"].concat();
    check(unsafe { psftp_symlink(conn.0, cb(name).as_ptr(), cb(&link).as_ptr()) }).unwrap();
    let mut target = std::ptr::null_mut();
    check(unsafe { psftp_readlink(conn.0, cb(&link).as_ptr(), &mut target) }).unwrap();
    assert_eq!(take_bytes(target), rpath);

    // Tree operations keep every name, both ways.
    let mut failures = std::ptr::null_mut();
    let dest = ldir.join("tree");
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            cb(&rd).as_ptr(),
            cb(bytes_of(&dest)).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut failures,
        )
    };
    unsafe { psftp_failure_list_free(failures) };
    check(rc).unwrap();
    let landed = dest.join(".").join(rdir.strip_prefix("/").unwrap());
    assert_eq!(std::fs::read(join(&landed, name)).unwrap(), b"latin-1\n");
    assert_eq!(std::fs::read(join(&landed, up)).unwrap(), b"naive");
    let rdest = remote_scratch("latin1up");
    let rc = unsafe {
        psftp_put_r(
            conn.0,
            cb(bytes_of(&landed)).as_ptr(),
            cb(bytes_of(&rdest)).as_ptr(),
            true,
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut failures,
        )
    };
    unsafe { psftp_failure_list_free(failures) };
    check(rc).unwrap();
    assert_eq!(std::fs::read(join(&rdest, name)).unwrap(), b"latin-1\n");

    // walktree hands the callbacks the bytes.
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let rc = unsafe {
        psftp_walktree(
            conn.0,
            cb(&rd).as_ptr(),
            Some(walk_collect),
            None,
            Some(walk_collect),
            true,
            &mut seen as *mut _ as *mut c_void,
        )
    };
    check(rc).unwrap();
    assert!(seen.contains(&rpath), "{seen:?}");

    // Messages escape the bytes, so they still say which file.
    let missing = [&rd[..], b"/missing-\xe9"].concat();
    let r = check(unsafe { psftp_stat(conn.0, cb(&missing).as_ptr(), &mut a) });
    assert_fail(r, PSFTP_E_NOT_FOUND, &["missing-\\xe9"]);
}

fn is_char_device(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_char_device())
}

fn is_fifo(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_fifo())
}

/// A FIFO at `path` and a thread reading everything written into it.
fn fifo_reader(path: &Path) -> std::thread::JoinHandle<Vec<u8>> {
    let c = cb(bytes_of(path));
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let p = path.to_path_buf();
    std::thread::spawn(move || std::fs::read(p).unwrap())
}

#[test]
fn a_get_into_a_device_or_fifo_writes_into_it_in_place() {
    let conn = connect();
    let rdir = remote_scratch("devices");
    let ldir = local_scratch("devices");
    let data = pattern(3 * 1024 * 1024, 7);
    put_remote_file(&rdir.join("f"), b"six b\n");
    put_remote_file(&rdir.join("big"), &data);
    let r = |n: &str| rdir.join(n).to_str().unwrap().to_string();

    // A copy of the null device (never the real /dev/null).
    let nulldev = ldir.join("nulldev");
    let node = cb(bytes_of(&nulldev));
    assert_eq!(
        unsafe { libc::mknod(node.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) },
        0
    );
    let xo = resume_opts();
    for opts in [std::ptr::null(), xo as *const _] {
        get_full(&conn, &r("f"), &nulldev, NO_PROGRESS, true, opts).unwrap();
        assert!(is_char_device(&nulldev), "still the device");
    }
    psftp_transfer_opts_free(xo);
    assert!(!ldir.join(".nulldev.psftp.part").exists());

    // A FIFO gets the bytes, in order, and stays a FIFO.
    let fifo = ldir.join("fifo");
    let reader = fifo_reader(&fifo);
    get(&conn, &r("big"), &fifo).unwrap();
    assert!(reader.join().unwrap() == data);
    assert!(is_fifo(&fifo));

    // Tree operations write into a FIFO in the destination tree the same
    // way (a small file, batched elsewhere, and a large one).
    let dest = ldir.join("tree");
    let landed = dest.join(".").join(rdir.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&landed).unwrap();
    let small = fifo_reader(&landed.join("f"));
    let large = fifo_reader(&landed.join("big"));
    let mut failures = std::ptr::null_mut();
    let rc = unsafe {
        psftp_get_r(
            conn.0,
            c(rdir.to_str().unwrap()).as_ptr(),
            c(dest.to_str().unwrap()).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            std::ptr::null(),
            &mut failures,
        )
    };
    unsafe { psftp_failure_list_free(failures) };
    check(rc).unwrap();
    assert_eq!(small.join().unwrap(), b"six b\n");
    assert!(large.join().unwrap() == data);
    assert!(is_fifo(&landed.join("f")) && is_fifo(&landed.join("big")));
}
