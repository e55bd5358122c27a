//! Verified transfers (issue 17): a file altered on the server during the
//! transfer fails with PSFTP_E_INTEGRITY and the destination keeps its old
//! content; the exec-hash path (sha256sum on OpenSSH) and the read-back
//! path both check, and differ in what crosses the link.

mod common;

use common::relay::Relay;
use common::*;

use psftp::capi::tree::*;
use std::ffi::{c_int, c_void};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MIB: usize = 1024 * 1024;

struct XOpts(*mut psftp_transfer_opts);

impl XOpts {
    fn verify(mode: c_int) -> XOpts {
        let mut p = std::ptr::null_mut();
        check(unsafe { psftp_transfer_opts_new(&mut p) }).unwrap();
        check(psftp_transfer_opts_set_verify(p, mode)).unwrap();
        XOpts(p)
    }
}

impl Drop for XOpts {
    fn drop(&mut self) {
        psftp_transfer_opts_free(self.0)
    }
}

/// Flips a byte of `path` (on the server's disk) when the progress reaches
/// the total: after the data moved, before the verification.
struct AlterAtEnd {
    path: PathBuf,
    done: bool,
}

unsafe extern "C" fn alter_at_end(done: u64, total: u64, ud: *mut c_void) -> c_int {
    let a = &mut *(ud as *mut AlterAtEnd);
    if done == total && !a.done {
        a.done = true;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&a.path)
            .unwrap();
        f.write_all_at(b"X", 100).unwrap();
    }
    0
}

fn get_with(
    conn: &Conn,
    remote: &Path,
    local: &Path,
    alter: Option<&mut AlterAtEnd>,
    x: &XOpts,
) -> Result<(), Fail> {
    let progress = match alter {
        Some(a) => progress_to(alter_at_end, a),
        None => NO_PROGRESS,
    };
    get_full(conn, remote.to_str().unwrap(), local, progress, false, x.0)
}

#[test]
fn a_get_of_a_file_altered_on_the_server_fails_and_keeps_the_old_content() {
    let conn = connect();
    let rdir = remote_scratch("verify-get");
    let ldir = local_scratch("verify-get");
    let data = pattern(8 * MIB, 1);
    let (remote, dest) = (rdir.join("f"), ldir.join("f"));
    for mode in [PSFTP_VERIFY_ON, PSFTP_VERIFY_ALLOW_EXEC] {
        put_remote_file(&remote, &data);
        std::fs::write(&dest, b"old content").unwrap();
        let mut alter = AlterAtEnd {
            path: remote.clone(),
            done: false,
        };
        let r = get_with(
            &conn,
            &remote,
            &dest,
            Some(&mut alter),
            &XOpts::verify(mode),
        );
        assert!(alter.done);
        assert_fail(r, PSFTP_E_INTEGRITY, &["verification failed", "/f"]);
        assert_eq!(std::fs::read(&dest).unwrap(), b"old content", "mode {mode}");
        assert!(!ldir.join(".f.psftp.part").exists(), "the bad copy is gone");
    }
    // Unverified, the same change goes unnoticed: the check is what caught it.
    put_remote_file(&remote, &data);
    let mut alter = AlterAtEnd {
        path: remote.clone(),
        done: false,
    };
    get_with(
        &conn,
        &remote,
        &dest,
        Some(&mut alter),
        &XOpts::verify(PSFTP_VERIFY_OFF),
    )
    .unwrap();
    assert!(std::fs::read(&dest).unwrap() == data);
}

#[test]
fn a_put_whose_part_file_is_altered_on_the_server_fails_and_keeps_the_old_file() {
    let conn = connect();
    let rdir = remote_scratch("verify-put");
    let ldir = local_scratch("verify-put");
    let data = pattern(8 * MIB, 2);
    std::fs::write(ldir.join("up"), &data).unwrap();
    let remote = rdir.join("up");
    for mode in [PSFTP_VERIFY_ON, PSFTP_VERIFY_ALLOW_EXEC] {
        put_remote_file(&remote, b"old remote content");
        let mut alter = AlterAtEnd {
            path: rdir.join(".up.psftp.part"),
            done: false,
        };
        let x = XOpts::verify(mode);
        let r = put_full(
            &conn,
            &ldir.join("up"),
            remote.to_str().unwrap(),
            progress_to(alter_at_end, &mut alter),
            true,
            false,
            x.0,
        );
        assert!(alter.done);
        assert_fail(
            r,
            PSFTP_E_INTEGRITY,
            &["verification failed", ".up.psftp.part"],
        );
        assert_eq!(
            std::fs::read(&remote).unwrap(),
            b"old remote content",
            "mode {mode}"
        );
        assert!(
            !rdir.join(".up.psftp.part").exists(),
            "the bad copy is gone"
        );
    }
}

fn via_relay(relay: &Relay) -> Conn {
    let s = server();
    let opts = Opts::new(None);
    let mut login = Login::password(s);
    login.port = relay.port;
    check(unsafe { psftp_cnopts_set_hostkeys(opts.0, std::ptr::null()) }).unwrap();
    login.connect(&opts).expect("connect through the relay")
}

#[test]
fn exec_hashes_read_the_file_on_the_server_and_read_back_sends_it_again() {
    let relay = Relay::start(server().port);
    let conn = via_relay(&relay);
    let rdir = remote_scratch("verify-traffic");
    let ldir = local_scratch("verify-traffic");
    let size = 16 * MIB as u64;
    let data = pattern(size as usize, 3);
    put_remote_file(&rdir.join("f"), &data);
    std::fs::write(ldir.join("up"), &data).unwrap();
    let down = |mode| {
        let before = relay.bytes_down();
        get_with(
            &conn,
            &rdir.join("f"),
            &ldir.join("f"),
            None,
            &XOpts::verify(mode),
        )
        .unwrap();
        assert!(std::fs::read(ldir.join("f")).unwrap() == data);
        relay.bytes_down() - before
    };
    let (exec, back) = (down(PSFTP_VERIFY_ALLOW_EXEC), down(PSFTP_VERIFY_ON));
    assert!(
        exec < size * 5 / 4,
        "sha256sum on the server: {exec} bytes down"
    );
    assert!(back > size * 2, "read back: {back} bytes down");

    let put = |mode| {
        let before = relay.bytes_down();
        let x = XOpts::verify(mode);
        let remote = rdir.join("up");
        put_full(
            &conn,
            &ldir.join("up"),
            remote.to_str().unwrap(),
            NO_PROGRESS,
            true,
            false,
            x.0,
        )
        .unwrap();
        assert!(std::fs::read(&remote).unwrap() == data);
        relay.bytes_down() - before
    };
    let (exec, back) = (put(PSFTP_VERIFY_ALLOW_EXEC), put(PSFTP_VERIFY_ON));
    assert!(
        exec < size / 4,
        "sha256sum on the server: {exec} bytes down"
    );
    assert!(back > size, "read back: {back} bytes down");
}

#[test]
fn verified_tree_operations_copy_every_file() {
    let conn = connect();
    let rdir = remote_scratch("verify-tree");
    let ldir = local_scratch("verify-tree");
    let mut files = Vec::new();
    for i in 0..20usize {
        let data = pattern(1000 * i + (i % 3) * MIB, i as u8);
        put_remote_file(&rdir.join(format!("f{i}")), &data);
        files.push(data);
    }
    let x = XOpts::verify(PSFTP_VERIFY_ALLOW_EXEC);
    let mut failures = std::ptr::null_mut();
    let rc = unsafe {
        psftp_get_d(
            conn.0,
            c(rdir.to_str().unwrap()).as_ptr(),
            c(ldir.to_str().unwrap()).as_ptr(),
            false,
            None,
            std::ptr::null_mut(),
            x.0,
            &mut failures,
        )
    };
    unsafe { psftp_failure_list_free(failures) };
    check(rc).unwrap();
    for (i, data) in files.iter().enumerate() {
        assert!(&std::fs::read(ldir.join(format!("f{i}"))).unwrap() == data);
    }
    let up = remote_scratch("verify-tree-up");
    let rc = unsafe {
        psftp_put_d(
            conn.0,
            c(ldir.to_str().unwrap()).as_ptr(),
            c(up.to_str().unwrap()).as_ptr(),
            true,
            false,
            None,
            std::ptr::null_mut(),
            x.0,
            &mut failures,
        )
    };
    unsafe { psftp_failure_list_free(failures) };
    check(rc).unwrap();
    for (i, data) in files.iter().enumerate() {
        assert!(&std::fs::read(up.join(format!("f{i}"))).unwrap() == data);
    }
}

#[test]
fn a_server_offering_check_file_hashes_the_file_itself() {
    // paramiko's server announces "check-file" (md5, sha1); the writable
    // area /w is a real directory.
    hostile_server();
    let name = format!("verify-check-file-{}", std::process::id());
    let disk = hostile_root().join(&name);
    std::fs::create_dir_all(&disk).unwrap();
    let log = local_scratch("verify-check-file").join("log");
    let conn = connect_hostile_as("checkfile", Some(&log));
    let ldir = local_scratch("verify-check-file");
    // Several 64 KiB blocks and a partial one (paramiko misreads blocks
    // over 64 KiB, so psftp asks for 64 KiB blocks).
    let data = pattern(3 * MIB + 123, 4);
    std::fs::write(disk.join("f"), &data).unwrap();
    let remote = PathBuf::from(format!("/w/{name}/f"));
    let x = XOpts::verify(PSFTP_VERIFY_ON);
    get_with(&conn, &remote, &ldir.join("f"), None, &x).unwrap();
    assert!(std::fs::read(ldir.join("f")).unwrap() == data);
    put_full(
        &conn,
        &ldir.join("f"),
        &format!("/w/{name}/up"),
        NO_PROGRESS,
        true,
        false,
        x.0,
    )
    .unwrap();
    assert!(std::fs::read(disk.join("up")).unwrap() == data);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("verified (the server's check-file)").count(),
        2,
        "get and put checked by the server: {text}"
    );
    // A change on the server during the get is caught by its digest too.
    std::fs::write(ldir.join("f"), b"old").unwrap();
    let mut alter = AlterAtEnd {
        path: disk.join("f"),
        done: false,
    };
    let r = get_with(&conn, &remote, &ldir.join("f"), Some(&mut alter), &x);
    assert_fail(r, PSFTP_E_INTEGRITY, &["check-file"]);
    assert_eq!(std::fs::read(ldir.join("f")).unwrap(), b"old");
}
