//! What a bulk transfer costs the client beyond the bytes themselves,
//! counted (never timed): memory is not allocated and returned per SSH
//! packet (vendor/libssh2-sys/psftp-recv-pool.patch).

mod common;

use common::*;

/// Minor page faults of the calling thread so far.
fn thread_minor_faults() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes only the struct it is given.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) }, 0);
    ru.ru_minflt
}

struct OneConnection(*mut psftp_transfer_opts);

impl OneConnection {
    fn new() -> OneConnection {
        let mut p = std::ptr::null_mut();
        check(unsafe { psftp_transfer_opts_new(&mut p) }).unwrap();
        // The whole transfer on this thread: a split would run helpers on
        // threads of their own, whose faults RUSAGE_THREAD does not see.
        check(psftp_transfer_opts_set_parallelism(p, 1)).unwrap();
        OneConnection(p)
    }
}

impl Drop for OneConnection {
    fn drop(&mut self) {
        psftp_transfer_opts_free(self.0)
    }
}

#[test]
fn a_bulk_get_allocates_no_memory_per_packet() {
    // libssh2 allocated every incoming packet's buffer (~32 KiB) and freed
    // it once read: glibc grew and trimmed its heap over and over, and each
    // regrowth touched fresh pages. Those page faults are counted here: a
    // second 256 MiB get on one connection took 1,205-9,567 on this thread
    // before. The buffers are now reused (a pool per session, filled by
    // the first get), and it takes 64-65 (its reply buffer).
    let rdir = remote_scratch("cpu-faults");
    let ldir = local_scratch("cpu-faults");
    let data = pattern(256 * 1024 * 1024, 7);
    put_remote_file(&rdir.join("big"), &data);
    let conn = connect();
    let opts = OneConnection::new();
    let local = ldir.join("big");
    let remote = rdir.join("big");
    // A first get of the same file: the buffers every transfer needs once
    // (the pool) are in place before counting.
    get_full(
        &conn,
        remote.to_str().unwrap(),
        &ldir.join("first"),
        NO_PROGRESS,
        false,
        opts.0,
    )
    .unwrap();
    let before = thread_minor_faults();
    get_full(
        &conn,
        remote.to_str().unwrap(),
        &local,
        NO_PROGRESS,
        false,
        opts.0,
    )
    .unwrap();
    let faults = thread_minor_faults() - before;
    assert!(
        std::fs::read(&local).unwrap() == data,
        "the download differs from the file"
    );
    assert!(
        faults < 600,
        "a 256 MiB get took {faults} page faults on its thread: memory is allocated and \
         returned per packet again"
    );
}
