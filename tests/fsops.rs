//! pysftp's remote file-system members through the C ABI.

mod common;

use common::*;
use std::ffi::{c_void, CStr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

fn path(p: &std::path::Path) -> std::ffi::CString {
    c(p.to_str().unwrap())
}

#[test]
fn listdir_is_sorted_without_dot_entries() {
    let conn = connect();
    let dir = remote_scratch("ls");
    for name in ["readme.txt", "pub", "Zeta", "readme.sym", "ünï"] {
        put_remote_file(&dir.join(name), name.as_bytes());
    }
    let names = listdir(&conn, dir.to_str().unwrap()).unwrap();
    assert_eq!(names, ["Zeta", "pub", "readme.sym", "readme.txt", "ünï"]);
    assert_fail(
        listdir(&conn, "/no/such/dir"),
        PSFTP_E_NOT_FOUND,
        &["/no/such/dir"],
    );
    let f = dir.join("readme.txt");
    assert_fail(
        listdir(&conn, f.to_str().unwrap()),
        PSFTP_E_NOT_A_DIRECTORY,
        &["readme.txt", "not a directory"],
    );
}

#[test]
fn listdir_attr_gives_sorted_entries_with_attributes() {
    let conn = connect();
    let dir = remote_scratch("lsattr");
    put_remote_file(&dir.join("b.txt"), &[7u8; 8192]);
    std::fs::create_dir(dir.join("a_dir")).unwrap();
    chown_to_test_user(&dir.join("a_dir"));
    std::os::unix::fs::symlink("b.txt", dir.join("c.sym")).unwrap();
    let mut out = std::ptr::null_mut();
    check(unsafe { psftp_listdir_attr(conn.0, path(&dir).as_ptr(), &mut out) }).unwrap();
    let list = unsafe { &*out };
    let entries: Vec<_> = (0..list.count)
        .map(|i| unsafe { &**list.entries.add(i) })
        .collect();
    let name = |e: &psftp_dirent| {
        unsafe { CStr::from_ptr(e.filename) }
            .to_str()
            .unwrap()
            .to_string()
    };
    let long = |e: &psftp_dirent| {
        unsafe { CStr::from_ptr(e.longname) }
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        entries.iter().map(|e| name(e)).collect::<Vec<_>>(),
        ["a_dir", "b.txt", "c.sym"]
    );
    let b = entries[1];
    assert_eq!(b.attrs.size, 8192);
    assert_eq!(
        psftp::capi::helpers::psftp_st_mode_to_int(b.attrs.mode),
        644
    );
    assert_eq!(b.attrs.mtime, mtime(&dir.join("b.txt")));
    assert_eq!(
        b.attrs.uid,
        std::fs::metadata(dir.join("b.txt")).unwrap().uid()
    );
    assert!(
        long(b).contains("b.txt") && long(b).starts_with("-rw-r--r--"),
        "{}",
        long(b)
    );
    assert_eq!(entries[0].attrs.mode & 0o170000, 0o040000);
    assert_eq!(
        entries[2].attrs.mode & 0o170000,
        0o120000,
        "readdir reports the link itself"
    );
    unsafe { psftp_dirent_list_free(out) };
}

#[test]
fn stat_and_lstat_follow_or_report_links() {
    let conn = connect();
    let dir = remote_scratch("stat");
    put_remote_file(&dir.join("f"), b"12345");
    std::os::unix::fs::symlink("f", dir.join("l")).unwrap();
    let a = stat(&conn, dir.join("l").to_str().unwrap()).unwrap();
    assert_eq!((a.size, a.mode & 0o170000), (5, 0o100000));
    assert_eq!(
        a.flags,
        PSFTP_ATTR_SIZE | PSFTP_ATTR_UIDGID | PSFTP_ATTR_PERMISSIONS | PSFTP_ATTR_ACMODTIME
    );
    let mut l = psftp_attrs::default();
    check(unsafe { psftp_lstat(conn.0, path(&dir.join("l")).as_ptr(), &mut l) }).unwrap();
    assert_eq!(l.mode & 0o170000, 0o120000);
    assert_fail(
        stat(&conn, dir.join("nope").to_str().unwrap()),
        PSFTP_E_NOT_FOUND,
        &["nope"],
    );
}

#[test]
fn exists_isdir_isfile_answer_false_instead_of_failing() {
    let conn = connect();
    let dir = remote_scratch("exists");
    put_remote_file(&dir.join("f"), b"x");
    std::os::unix::fs::symlink("missing-target", dir.join("broken")).unwrap();
    let q =
        |f: unsafe extern "C" fn(*mut psftp_conn, *const std::ffi::c_char, *mut bool) -> i32,
         p: &std::path::Path| {
            bool_out(|o| unsafe { f(conn.0, path(p).as_ptr(), o) }).unwrap()
        };
    assert!(q(psftp_exists, &dir.join("f")));
    assert!(q(psftp_exists, &dir));
    assert!(!q(psftp_exists, &dir.join("nope")));
    assert!(
        !q(psftp_exists, &dir.join("broken")),
        "exists follows the link"
    );
    assert!(
        q(psftp_lexists, &dir.join("broken")),
        "lexists sees the broken link"
    );
    assert!(
        q(psftp_isdir, &dir)
            && !q(psftp_isdir, &dir.join("f"))
            && !q(psftp_isdir, &dir.join("nope"))
    );
    assert!(
        q(psftp_isfile, &dir.join("f"))
            && !q(psftp_isfile, &dir)
            && !q(psftp_isfile, &dir.join("nope"))
    );
}

#[test]
fn pwd_getcwd_chdir_and_cwd_behave_as_in_pysftp() {
    let s = server();
    let conn = connect();
    let dir = remote_scratch("cd");
    std::fs::create_dir(dir.join("sub")).unwrap();
    chown_to_test_user(&dir.join("sub"));
    put_remote_file(&dir.join("file"), b"x");
    let getcwd = || string_out(|o| unsafe { psftp_getcwd(conn.0, o) }).unwrap();
    let pwd = || {
        string_out(|o| unsafe { psftp_pwd(conn.0, o) })
            .unwrap()
            .unwrap()
    };
    assert_eq!(getcwd(), None, "None until chdir");
    assert_eq!(pwd(), s.home.to_str().unwrap());
    check(unsafe { psftp_chdir(conn.0, path(&dir).as_ptr()) }).unwrap();
    assert_eq!(getcwd().as_deref(), dir.to_str());
    check(unsafe { psftp_cwd(conn.0, c("sub").as_ptr()) }).unwrap();
    assert_eq!(pwd(), dir.join("sub").to_str().unwrap());
    check(unsafe { psftp_chdir(conn.0, c("..").as_ptr()) }).unwrap();
    assert_eq!(getcwd().as_deref(), dir.to_str(), "normalized");
    assert_eq!(
        listdir(&conn, ".").unwrap(),
        ["file", "sub"],
        "relative paths use the cwd"
    );
    assert_fail(
        check(unsafe { psftp_chdir(conn.0, c("file").as_ptr()) }),
        PSFTP_E_NOT_A_DIRECTORY,
        &["file"],
    );
    assert_fail(
        check(unsafe { psftp_chdir(conn.0, c("nope").as_ptr()) }),
        PSFTP_E_NOT_FOUND,
        &["nope"],
    );
    assert_eq!(
        getcwd().as_deref(),
        dir.to_str(),
        "a failed chdir changes nothing"
    );
    check(unsafe { psftp_chdir(conn.0, std::ptr::null()) }).unwrap();
    assert_eq!(getcwd(), None);
}

unsafe extern "C" fn body_lists_and_fails(conn: *mut psftp_conn, ud: *mut c_void) -> i32 {
    let seen = &mut *(ud as *mut Vec<String>);
    let mut out = std::ptr::null_mut();
    if psftp_pwd(conn, &mut out) != 0 {
        return 99;
    }
    seen.push(CStr::from_ptr(out).to_str().unwrap().to_string());
    psftp_string_free(out);
    check(psftp_chdir(conn, c("/").as_ptr())).unwrap();
    let mut a = psftp_attrs::default();
    psftp_stat(conn, c("no-such-file").as_ptr(), &mut a) // fails: the body fails
}

#[test]
fn cd_restores_the_directory_even_when_the_body_fails() {
    let conn = connect();
    let dir = remote_scratch("scoped");
    let start = string_out(|o| unsafe { psftp_pwd(conn.0, o) })
        .unwrap()
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let rc = unsafe {
        psftp_cd(
            conn.0,
            path(&dir).as_ptr(),
            Some(body_lists_and_fails),
            &mut seen as *mut _ as *mut c_void,
        )
    };
    assert_eq!(rc, PSFTP_E_NOT_FOUND, "the body's failure is handed back");
    assert_eq!(seen, [dir.to_str().unwrap()]);
    assert_eq!(
        string_out(|o| unsafe { psftp_pwd(conn.0, o) })
            .unwrap()
            .unwrap(),
        start
    );
    // Bookmark form (NULL): just restores.
    let rc = unsafe {
        psftp_cd(
            conn.0,
            std::ptr::null(),
            Some(body_lists_and_fails),
            &mut seen as *mut _ as *mut c_void,
        )
    };
    assert_eq!(rc, PSFTP_E_NOT_FOUND);
    assert_eq!(
        string_out(|o| unsafe { psftp_pwd(conn.0, o) })
            .unwrap()
            .unwrap(),
        start
    );
    // A bad directory: the body never runs.
    let rc = unsafe {
        psftp_cd(
            conn.0,
            c("/no/such").as_ptr(),
            Some(body_lists_and_fails),
            &mut seen as *mut _ as *mut c_void,
        )
    };
    assert_eq!(rc, PSFTP_E_NOT_FOUND);
    assert_eq!(seen.len(), 2);
    // Push/pop form.
    check(unsafe { psftp_cd_push(conn.0, path(&dir).as_ptr()) }).unwrap();
    check(unsafe { psftp_chdir(conn.0, c("/tmp").as_ptr()) }).unwrap();
    check(psftp_cd_pop(conn.0)).unwrap();
    assert_eq!(
        string_out(|o| unsafe { psftp_pwd(conn.0, o) })
            .unwrap()
            .unwrap(),
        start
    );
    assert_fail(
        check(psftp_cd_pop(conn.0)),
        PSFTP_E_INVALID_ARG,
        &["cd_pop without a matching cd_push"],
    );
    assert_fail(
        check(unsafe { psftp_cd(conn.0, std::ptr::null(), None, std::ptr::null_mut()) }),
        PSFTP_E_INVALID_ARG,
        &["body"],
    );
}

/// Modes are POSIX bits, as for chmod(2): 0o644 gives rw-r--r-- on the
/// server's file (pysftp's 644 form would have given 0o1204).
#[test]
fn mkdir_chmod_take_posix_mode_bits() {
    let conn = connect();
    let dir = remote_scratch("mode");
    let d = dir.join("d");
    check(unsafe { psftp_mkdir(conn.0, path(&d).as_ptr(), 0o700) }).unwrap();
    assert_eq!(mode(&d) & 0o7777, 0o700);
    assert_fail(
        check(unsafe { psftp_mkdir(conn.0, path(&d).as_ptr(), 0o755) }),
        PSFTP_E_EXISTS,
        &["exists"],
    );
    put_remote_file(&dir.join("f"), b"x");
    check(unsafe { psftp_chmod(conn.0, path(&dir.join("f")).as_ptr(), 0o640) }).unwrap();
    assert_eq!(mode(&dir.join("f")) & 0o7777, 0o640);
    check(unsafe { psftp_chmod(conn.0, path(&dir.join("f")).as_ptr(), 0o644) }).unwrap();
    assert_eq!(mode(&dir.join("f")) & 0o7777, 0o644);
    assert_eq!(
        stat(&conn, dir.join("f").to_str().unwrap()).unwrap().mode,
        0o100644
    );
    check(unsafe { psftp_chmod(conn.0, path(&dir.join("f")).as_ptr(), 0o4755) }).unwrap();
    assert_eq!(mode(&dir.join("f")) & 0o7777, 0o4755);
    // A whole st_mode (file type bits) or more than 07777 is refused.
    for (bad, shown) in [
        (0o100644, "0100644"),
        (0o10000, "010000"),
        (u32::MAX, "037777777777"),
    ] {
        assert_fail(
            check(unsafe { psftp_chmod(conn.0, path(&dir.join("f")).as_ptr(), bad) }),
            PSFTP_E_INVALID_ARG,
            &["mode", shown, "07777"],
        );
    }
    assert_eq!(
        mode(&dir.join("f")) & 0o7777,
        0o4755,
        "unchanged by the refusals"
    );
    assert_fail(
        check(unsafe { psftp_chmod(conn.0, c("/no/such").as_ptr(), 0o644) }),
        PSFTP_E_NOT_FOUND,
        &["/no/such"],
    );
    // The test user cannot create directories in /root.
    assert_fail(
        check(unsafe { psftp_mkdir(conn.0, c("/root/x").as_ptr(), 0o755) }),
        PSFTP_E_PERMISSION,
        &["/root/x"],
    );
}

#[test]
fn makedirs_creates_levels_and_refuses_a_file_in_the_way() {
    let conn = connect();
    let dir = remote_scratch("makedirs");
    let deep = dir.join("pub/show/off");
    check(unsafe { psftp_makedirs(conn.0, path(&deep).as_ptr(), 0o750) }).unwrap();
    assert!(deep.is_dir());
    assert_eq!(mode(&deep) & 0o777, 0o750);
    assert_eq!(
        mode(&dir.join("pub")) & 0o777,
        0o750,
        "every level gets the mode"
    );
    check(unsafe { psftp_makedirs(conn.0, path(&deep).as_ptr(), 0o750) }).unwrap();
    put_remote_file(&dir.join("file"), b"x");
    assert_fail(
        check(unsafe { psftp_makedirs(conn.0, path(&dir.join("file/sub")).as_ptr(), 0o777) }),
        PSFTP_E_EXISTS,
        &["file"],
    );
    assert_fail(
        check(unsafe { psftp_makedirs(conn.0, path(&dir.join("file")).as_ptr(), 0o777) }),
        PSFTP_E_EXISTS,
        &["already exists"],
    );
    // Relative to the cwd.
    check(unsafe { psftp_chdir(conn.0, path(&dir).as_ptr()) }).unwrap();
    check(unsafe { psftp_makedirs(conn.0, c("rel/a/b").as_ptr(), 0o777) }).unwrap();
    assert!(dir.join("rel/a/b").is_dir());
}

#[test]
fn remove_unlink_rmdir_rename() {
    let conn = connect();
    let dir = remote_scratch("rm");
    for f in ["a", "b", "c"] {
        put_remote_file(&dir.join(f), f.as_bytes());
    }
    check(unsafe { psftp_remove(conn.0, path(&dir.join("a")).as_ptr()) }).unwrap();
    check(unsafe { psftp_unlink(conn.0, path(&dir.join("b")).as_ptr()) }).unwrap();
    assert_fail(
        check(unsafe { psftp_remove(conn.0, path(&dir.join("a")).as_ptr()) }),
        PSFTP_E_NOT_FOUND,
        &["/a"],
    );
    std::fs::create_dir(dir.join("d")).unwrap();
    chown_to_test_user(&dir.join("d"));
    check(unsafe {
        psftp_rename(
            conn.0,
            path(&dir.join("c")).as_ptr(),
            path(&dir.join("d/c2")).as_ptr(),
        )
    })
    .unwrap();
    assert_eq!(std::fs::read(dir.join("d/c2")).unwrap(), b"c");
    // OpenSSH says only "Failure"; psftp tells a non-empty directory apart.
    assert_fail(
        check(unsafe { psftp_rmdir(conn.0, path(&dir.join("d")).as_ptr()) }),
        PSFTP_E_DIR_NOT_EMPTY,
        &["/d", "directory not empty"],
    );
    assert!(dir.join("d/c2").exists());
    put_remote_file(&dir.join("e"), b"e");
    assert_fail(
        check(unsafe {
            psftp_rename(
                conn.0,
                path(&dir.join("e")).as_ptr(),
                path(&dir.join("d/c2")).as_ptr(),
            )
        }),
        PSFTP_E_EXISTS,
        &["c2"],
    );
    check(unsafe {
        psftp_posix_rename(
            conn.0,
            path(&dir.join("e")).as_ptr(),
            path(&dir.join("d/c2")).as_ptr(),
        )
    })
    .unwrap();
    assert_eq!(
        std::fs::read(dir.join("d/c2")).unwrap(),
        b"e",
        "posix-rename replaced it"
    );
    check(unsafe { psftp_remove(conn.0, path(&dir.join("d/c2")).as_ptr()) }).unwrap();
    check(unsafe { psftp_rmdir(conn.0, path(&dir.join("d")).as_ptr()) }).unwrap();
    assert!(!dir.join("d").exists());
}

/// rmdir's "directory not empty" comes from a listing after OpenSSH's
/// generic failure: a hidden entry counts, and failures that are not about
/// contents keep their own code.
#[test]
fn rmdir_tells_a_non_empty_directory_from_other_failures() {
    let conn = connect();
    let dir = remote_scratch("rmdir");
    let rmdir = |p: &std::path::Path| check(unsafe { psftp_rmdir(conn.0, path(p).as_ptr()) });
    std::fs::create_dir(dir.join("hidden")).unwrap();
    chown_to_test_user(&dir.join("hidden"));
    put_remote_file(&dir.join("hidden/.dotfile"), b"x");
    assert_fail(
        rmdir(&dir.join("hidden")),
        PSFTP_E_DIR_NOT_EMPTY,
        &["hidden", "not empty"],
    );
    std::fs::create_dir(dir.join("hidden/sub")).unwrap();
    std::fs::remove_file(dir.join("hidden/.dotfile")).unwrap();
    assert_fail(
        rmdir(&dir.join("hidden")),
        PSFTP_E_DIR_NOT_EMPTY,
        &["hidden"],
    );
    put_remote_file(&dir.join("plain"), b"p");
    let not_a_dir = rmdir(&dir.join("plain")).expect_err("rmdir of a file fails");
    assert_ne!(not_a_dir.code, PSFTP_E_DIR_NOT_EMPTY, "{not_a_dir:?}");
    assert_fail(rmdir(&dir.join("absent")), PSFTP_E_NOT_FOUND, &["absent"]);
    std::fs::create_dir(dir.join("empty")).unwrap();
    chown_to_test_user(&dir.join("empty"));
    rmdir(&dir.join("empty")).unwrap();
    assert!(!dir.join("empty").exists());
}

#[test]
fn symlink_readlink_normalize() {
    let conn = connect();
    let dir = remote_scratch("links");
    std::fs::create_dir(dir.join("pub")).unwrap();
    chown_to_test_user(&dir.join("pub"));
    put_remote_file(&dir.join("readme.txt"), b"r");
    check(unsafe { psftp_chdir(conn.0, path(&dir).as_ptr()) }).unwrap();
    check(unsafe { psftp_symlink(conn.0, c("readme.txt").as_ptr(), c("readme.sym").as_ptr()) })
        .unwrap();
    assert_eq!(
        std::fs::read_link(dir.join("readme.sym")).unwrap().to_str(),
        Some("readme.txt")
    );
    assert_fail(
        check(unsafe { psftp_symlink(conn.0, c("x").as_ptr(), c("readme.sym").as_ptr()) }),
        PSFTP_E_EXISTS,
        &["readme.sym"],
    );
    let rl = |p: &str| string_out(|o| unsafe { psftp_readlink(conn.0, c(p).as_ptr(), o) });
    assert_eq!(
        rl("readme.sym").unwrap().as_deref(),
        dir.join("readme.txt").to_str()
    );
    // A relative target is resolved from the link's own directory.
    std::os::unix::fs::symlink("../readme.txt", dir.join("pub/up.sym")).unwrap();
    assert_eq!(
        rl("pub/up.sym").unwrap().as_deref(),
        dir.join("readme.txt").to_str()
    );
    std::os::unix::fs::symlink("gone/away", dir.join("dangling")).unwrap();
    assert_eq!(
        rl("dangling").unwrap().unwrap(),
        format!("{}/gone/away", dir.display())
    );
    assert_fail(rl("readme.txt"), PSFTP_E_SFTP, &["readme.txt"]);
    let norm = |p: &str| string_out(|o| unsafe { psftp_normalize(conn.0, c(p).as_ptr(), o) });
    assert_eq!(
        norm("pub/../readme.txt").unwrap().as_deref(),
        dir.join("readme.txt").to_str()
    );
    assert_eq!(norm(".").unwrap().as_deref(), dir.to_str());
    // The server's realpath, as pysftp returns it: OpenSSH resolves a
    // missing last component, and refuses a missing directory on the way.
    assert_eq!(
        norm("no-such-thing").unwrap().as_deref(),
        dir.join("no-such-thing").to_str()
    );
    assert_fail(norm("no-dir/x"), PSFTP_E_NOT_FOUND, &["no-dir/x"]);
}

#[test]
fn hardlink_statvfs_utime_truncate_chown() {
    let conn = connect();
    let dir = remote_scratch("ext");
    put_remote_file(&dir.join("f"), &[1u8; 10_000]);
    check(unsafe {
        psftp_hardlink(
            conn.0,
            path(&dir.join("f")).as_ptr(),
            path(&dir.join("h")).as_ptr(),
        )
    })
    .unwrap();
    assert_eq!(
        std::fs::metadata(dir.join("f")).unwrap().ino(),
        std::fs::metadata(dir.join("h")).unwrap().ino()
    );
    let mut v = psftp_statvfs_info::default();
    check(unsafe { psftp_statvfs(conn.0, path(&dir).as_ptr(), &mut v) }).unwrap();
    let mut local: libc::statvfs = unsafe { std::mem::zeroed() };
    unsafe { libc::statvfs(path(&dir).as_ptr(), &mut local) };
    assert_eq!(
        (v.bsize, v.blocks, v.namemax),
        (local.f_bsize, local.f_blocks, local.f_namemax)
    );
    check(unsafe {
        psftp_utime(
            conn.0,
            path(&dir.join("f")).as_ptr(),
            1_111_111_111,
            1_222_222_222,
        )
    })
    .unwrap();
    let m = std::fs::metadata(dir.join("f")).unwrap();
    assert_eq!((m.atime(), m.mtime()), (1_111_111_111, 1_222_222_222));
    assert_fail(
        check(unsafe { psftp_utime(conn.0, path(&dir.join("f")).as_ptr(), -5, 0) }),
        PSFTP_E_INVALID_ARG,
        &["atime"],
    );
    let mut n = 0u64;
    check(unsafe { psftp_truncate(conn.0, path(&dir.join("f")).as_ptr(), 4096, &mut n) }).unwrap();
    assert_eq!(
        (n, std::fs::metadata(dir.join("f")).unwrap().len()),
        (4096, 4096)
    );
    assert_fail(
        check(unsafe { psftp_truncate(conn.0, c("/no/such").as_ptr(), 1, &mut n) }),
        PSFTP_E_NOT_FOUND,
        &[],
    );
    // chown to one's own ids succeeds; -1 keeps an id; other ids are refused
    // for an unprivileged user.
    let uid = m.uid() as i64;
    let gid = m.gid() as i64;
    check(unsafe { psftp_chown(conn.0, path(&dir.join("f")).as_ptr(), uid, -1) }).unwrap();
    check(unsafe { psftp_chown(conn.0, path(&dir.join("f")).as_ptr(), -1, gid) }).unwrap();
    assert_fail(
        check(unsafe { psftp_chown(conn.0, path(&dir.join("f")).as_ptr(), 0, -1) }),
        PSFTP_E_PERMISSION,
        &["/f"],
    );
    assert_fail(
        check(unsafe { psftp_chown(conn.0, path(&dir.join("f")).as_ptr(), -2, -1) }),
        PSFTP_E_INVALID_ARG,
        &["uid"],
    );
    let has =
        |n: &str| bool_out(|o| unsafe { psftp_has_extension(conn.0, c(n).as_ptr(), o) }).unwrap();
    assert!(has("posix-rename@openssh.com") && !has("no-such@example.com"));
}

#[test]
fn permission_bits_of_new_files_follow_the_server_umask() {
    let conn = connect();
    let dir = remote_scratch("umask");
    let local = local_scratch("umask").join("f");
    std::fs::write(&local, b"x").unwrap();
    std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o600)).unwrap();
    put(&conn, &local, dir.join("f").to_str().unwrap()).unwrap();
    assert_eq!(
        mode(&dir.join("f")) & 0o777,
        0o644,
        "like pysftp: local mode not copied"
    );
}
